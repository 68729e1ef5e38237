DROP INDEX certificates_state_id;
DROP TABLE rate_counts;
DROP TABLE api_keys;
