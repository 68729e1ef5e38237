-- Hardening: lock-outs per user name typed (known or not), with an atomic counter; the fields
-- real roster layouts carry (职级, and the certificate columns until the register takes over).

CREATE TABLE login_failures (
    -- the user name as typed, trimmed and lower-cased: unknown names are counted too
    username TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    locked_until TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);

ALTER TABLE users DROP COLUMN failed_logins;
ALTER TABLE users DROP COLUMN locked_until;

ALTER TABLE officers ADD COLUMN grade TEXT NOT NULL DEFAULT '';
ALTER TABLE officers ADD COLUMN cert_issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE officers ADD COLUMN cert_valid_until DATE;

CREATE INDEX import_jobs_user_id ON import_jobs(user_id);
CREATE INDEX officers_employment_type ON officers(employment_type);
