DROP INDEX officers_employment_type;
DROP INDEX import_jobs_user_id;
ALTER TABLE officers DROP COLUMN cert_valid_until;
ALTER TABLE officers DROP COLUMN cert_issuer;
ALTER TABLE officers DROP COLUMN grade;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMP;
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
DROP TABLE login_failures;
