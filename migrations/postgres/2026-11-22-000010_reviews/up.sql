-- The annual review (年审): a round per reviewed year with the rules in force for it, one row per
-- certificate and year (the unit's first review, then the bureau's decision), the training hours
-- the review checks, and the long jobs (bulk review, issuance, clean-up) that apply a confirmed
-- plan in short transactions and resume after a restart.
CREATE TABLE review_rounds (
    id BIGSERIAL PRIMARY KEY,
    year INTEGER NOT NULL UNIQUE,
    -- the rules as JSON, fixed when the round is opened
    rules TEXT NOT NULL,
    deadline DATE NOT NULL,
    opened_by TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    applied_at TIMESTAMP
);

CREATE TABLE cert_reviews (
    id BIGSERIAL PRIMARY KEY,
    certificate_id BIGINT NOT NULL REFERENCES certificates(id),
    year INTEGER NOT NULL,
    -- the unit's first review (初审), as its 初审统计表 says
    in_post BOOLEAN,
    violation BOOLEAN,
    first_opinion TEXT NOT NULL DEFAULT '',
    first_note TEXT NOT NULL DEFAULT '',
    first_by TEXT NOT NULL DEFAULT '',
    first_at TIMESTAMP,
    -- the bureau's decision: 合格 | 不合格 | 未年审 ('' until decided)
    result TEXT NOT NULL DEFAULT '',
    findings TEXT NOT NULL DEFAULT '',
    override_reason TEXT NOT NULL DEFAULT '',
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TIMESTAMP,
    UNIQUE (certificate_id, year)
);
CREATE INDEX cert_reviews_year ON cert_reviews(year, result, first_opinion);

CREATE TABLE training_hours (
    officer_id BIGINT NOT NULL REFERENCES officers(id),
    year INTEGER NOT NULL,
    hours DOUBLE PRECISION NOT NULL,
    source TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (officer_id, year)
);

CREATE TABLE work_jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    -- 排队 | 进行中 | 完成 | 失败
    state TEXT NOT NULL,
    -- the confirmed plan as JSON: what every step applies, fixed before the first step
    plan TEXT NOT NULL,
    total BIGINT NOT NULL,
    done BIGINT NOT NULL DEFAULT 0,
    -- items the plan listed that a step found no longer applicable (and why, in result)
    skipped BIGINT NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '',
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    actor_ip TEXT NOT NULL,
    holder TEXT NOT NULL DEFAULT '',
    lease_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX work_jobs_state ON work_jobs(state);

-- The dashboard's grouped counts, each answered from an index alone.
CREATE INDEX officers_dashboard ON officers(unit_id, employment_type, status, cert_number);
CREATE INDEX certificates_state_until ON certificates(state, valid_until, unit_id);
CREATE INDEX certificates_state_issued ON certificates(state, issued_on);
