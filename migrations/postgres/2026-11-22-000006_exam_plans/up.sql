-- Exam plans (申报考试计划): a unit proposes candidates; the bureau decides collectively.

CREATE TABLE exam_plans (
    id BIGSERIAL PRIMARY KEY,
    unit_id BIGINT NOT NULL REFERENCES units(id),
    title TEXT NOT NULL,
    -- JSON array of the 专业 categories besides 公共法律知识 (may be empty)
    categories TEXT NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    -- 待审批 | 已批准 | 部分批准 | 已驳回
    status TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    -- the collective decision: meeting minutes number, date, who decided, why
    decision_ref TEXT NOT NULL DEFAULT '',
    decision_date DATE,
    deciders TEXT NOT NULL DEFAULT '',
    decision_note TEXT NOT NULL DEFAULT '',
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TIMESTAMP
);
CREATE INDEX exam_plans_unit_id ON exam_plans(unit_id);

CREATE TABLE exam_plan_candidates (
    plan_id BIGINT NOT NULL REFERENCES exam_plans(id),
    officer_id BIGINT NOT NULL REFERENCES officers(id),
    -- NULL until decided
    approved BOOLEAN,
    -- why the bureau did not approve this candidate
    reason TEXT NOT NULL DEFAULT '',
    -- e.g. 持法律职业资格，免考公共法律知识 (as the province grants)
    exemption TEXT NOT NULL DEFAULT '',
    -- sits again to renew a certificate still valid
    recertify BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (plan_id, officer_id)
);
CREATE INDEX exam_plan_candidates_officer_id ON exam_plan_candidates(officer_id);
