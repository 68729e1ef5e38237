DROP TRIGGER audit_log_no_truncate ON audit_log;
DROP TABLE audit_checkpoints;
DROP FUNCTION audit_checkpoints_append_only();
