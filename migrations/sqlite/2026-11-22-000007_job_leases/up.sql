-- Background jobs (closing exams at their deadlines, grading, expiring certificates): each job
-- runs on one replica at a time, the one holding its lease.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_started_at TIMESTAMP,
    last_finished_at TIMESTAMP,
    -- what the last run did, or why it failed
    last_result TEXT NOT NULL DEFAULT '',
    last_ok BOOLEAN NOT NULL DEFAULT 1,
    runs BIGINT NOT NULL DEFAULT 0
);
