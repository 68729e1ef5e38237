-- Verification: API keys for agencies that check certificates in bulk (stored as a hash, every
-- use counted), and the public rate limiter's counters per client and minute, shared by every
-- replica so the limit holds however many serve. A certificate's status-list index is its id.
CREATE TABLE api_keys (
    id BIGSERIAL PRIMARY KEY,
    -- the agency the key was issued to, and who to call about it
    name TEXT NOT NULL,
    contact TEXT NOT NULL DEFAULT '',
    -- the key's first characters, shown so a key can be recognised; never the key
    prefix TEXT NOT NULL,
    -- SHA-256 of the whole key (random, 256 bits: a fast hash is the right store)
    secret_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_by TEXT NOT NULL DEFAULT '',
    calls BIGINT NOT NULL DEFAULT 0,
    numbers BIGINT NOT NULL DEFAULT 0,
    last_used_at TIMESTAMP
);

CREATE TABLE rate_counts (
    client TEXT NOT NULL,
    -- the minute (seconds since 1970 / 60)
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (client, window_start)
);

-- the status list reads revoked, cancelled and suspended certificates by state alone
CREATE INDEX certificates_state_id ON certificates(state, id);
