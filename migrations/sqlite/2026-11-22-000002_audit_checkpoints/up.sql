-- Signed checkpoints of the audit chain's head. A checkpoint's signature is made with a key kept
-- outside the database, so rewriting or truncating the chain (and recomputing its hashes) no
-- longer goes unnoticed. Times are UTC. Ids are 64-bit integers on both backends.

CREATE TABLE audit_checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
-- the signer continues from the checkpoint furthest along the chain
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints(seq);

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
