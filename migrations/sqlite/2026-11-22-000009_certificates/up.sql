-- The certificates register (行政执法证): one row per certificate an officer has held, with every
-- change of state kept forever. officers.cert_* stays as the officer's current certificate, kept
-- in step by the register (the roster's import, export and eligibility read it).
CREATE TABLE certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    officer_id INTEGER NOT NULL REFERENCES officers(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    category TEXT NOT NULL,
    region TEXT NOT NULL,
    issuer TEXT NOT NULL,
    -- unknown (NULL) only for numbers migrated or imported without them
    issued_on DATE,
    valid_until DATE,
    state TEXT NOT NULL,
    source TEXT NOT NULL,
    card_generation INTEGER NOT NULL DEFAULT 0,
    batch_id INTEGER REFERENCES exam_batches(id),
    replaces_id INTEGER REFERENCES certificates(id),
    replaced_by_id INTEGER REFERENCES certificates(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX certificates_officer ON certificates(officer_id);
CREATE INDEX certificates_unit_state ON certificates(unit_id, state);
CREATE INDEX certificates_valid_until ON certificates(valid_until);

CREATE TABLE certificate_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    certificate_id INTEGER NOT NULL REFERENCES certificates(id),
    at TIMESTAMP NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL,
    basis TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX certificate_events_certificate ON certificate_events(certificate_id);

CREATE TABLE cert_serials (
    region TEXT NOT NULL,
    year INTEGER NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (region, year)
);

INSERT OR IGNORE INTO certificates (number, officer_id, unit_id, category, region, issuer, issued_on,
                          valid_until, state, source, created_at, updated_at)
SELECT o.cert_number, o.id, o.unit_id, o.category, o.region, o.cert_issuer,
       NULL, o.cert_valid_until,
       CASE WHEN o.cert_valid_until IS NOT NULL AND o.cert_valid_until < date('now') THEN '过期' ELSE '有效' END,
       '迁移', o.updated_at, o.updated_at
FROM officers o
WHERE o.cert_number IS NOT NULL AND o.cert_number <> ''
ORDER BY o.id;

INSERT INTO certificate_events (certificate_id, at, action, from_state, to_state, reason, basis, actor)
SELECT id, created_at, '迁移', '', state, '由名录库原“执法证号”字段迁入', '', '系统'
FROM certificates;
