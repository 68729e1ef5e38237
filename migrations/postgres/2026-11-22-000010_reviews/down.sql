DROP TABLE work_jobs;
DROP TABLE training_hours;
DROP TABLE cert_reviews;
DROP TABLE review_rounds;
