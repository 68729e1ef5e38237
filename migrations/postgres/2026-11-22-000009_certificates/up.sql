-- The certificates register (行政执法证): one row per certificate an officer has held, with every
-- change of state kept forever. officers.cert_* stays as the officer's current certificate, kept
-- in step by the register (the roster's import, export and eligibility read it).
CREATE TABLE certificates (
    id BIGSERIAL PRIMARY KEY,
    -- as printed; imported legacy numbers are kept as they are (up to 100 characters)
    number TEXT NOT NULL UNIQUE,
    officer_id BIGINT NOT NULL REFERENCES officers(id),
    unit_id BIGINT NOT NULL REFERENCES units(id),
    -- enforcement category and region as printed
    category TEXT NOT NULL,
    region TEXT NOT NULL,
    issuer TEXT NOT NULL,
    -- unknown (NULL) only for numbers migrated or imported without them
    issued_on DATE,
    valid_until DATE,
    -- 有效 | 暂扣 | 吊销 | 注销 | 过期
    state TEXT NOT NULL,
    -- 核发 (issued here) | 导入 (imported) | 迁移 (from the roster's old field)
    source TEXT NOT NULL,
    -- the card generation it was printed as (0: not printed yet)
    card_generation INTEGER NOT NULL DEFAULT 0,
    -- the exam batch it was issued from, if any
    batch_id BIGINT REFERENCES exam_batches(id),
    replaces_id BIGINT REFERENCES certificates(id),
    replaced_by_id BIGINT REFERENCES certificates(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX certificates_officer ON certificates(officer_id);
CREATE INDEX certificates_unit_state ON certificates(unit_id, state);
CREATE INDEX certificates_valid_until ON certificates(valid_until);

CREATE TABLE certificate_events (
    id BIGSERIAL PRIMARY KEY,
    certificate_id BIGINT NOT NULL REFERENCES certificates(id),
    at TIMESTAMP NOT NULL,
    -- 核发 | 暂扣 | 解除暂扣 | 吊销 | 注销 | 到期失效 | 导入 | 迁移
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL,
    -- legal basis (法律依据), e.g. 《某省行政执法证件管理办法》第二十条
    basis TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX certificate_events_certificate ON certificate_events(certificate_id);

-- Gap-free serials per region and year: taken in the issuing transaction, so a rollback gives
-- the serial back and two replicas never take the same one.
CREATE TABLE cert_serials (
    region TEXT NOT NULL,
    year INTEGER NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (region, year)
);

-- The roster's certificate numbers become the register's first entries.
INSERT INTO certificates (number, officer_id, unit_id, category, region, issuer, issued_on,
                          valid_until, state, source, created_at, updated_at)
SELECT DISTINCT ON (o.cert_number)
       o.cert_number, o.id, o.unit_id, o.category, o.region, o.cert_issuer,
       NULL, o.cert_valid_until,
       CASE WHEN o.cert_valid_until IS NOT NULL AND o.cert_valid_until < CURRENT_DATE THEN '过期' ELSE '有效' END,
       '迁移', o.updated_at, o.updated_at
FROM officers o
WHERE o.cert_number IS NOT NULL AND o.cert_number <> ''
ORDER BY o.cert_number, o.id;

INSERT INTO certificate_events (certificate_id, at, action, from_state, to_state, reason, basis, actor)
SELECT id, created_at, '迁移', '', state, '由名录库原“执法证号”字段迁入', '', '系统'
FROM certificates;
