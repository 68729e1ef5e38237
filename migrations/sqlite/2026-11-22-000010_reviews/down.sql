DROP INDEX certificates_state_issued;
DROP INDEX certificates_state_until;
DROP INDEX officers_dashboard;
DROP TABLE work_jobs;
DROP TABLE training_hours;
DROP TABLE cert_reviews;
DROP TABLE review_rounds;
