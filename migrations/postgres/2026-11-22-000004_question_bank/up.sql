-- The question bank (题库): a question is a stable code and a status; its content lives in
-- immutable versions, and papers (the exams issue) point at the exact version they drew.

CREATE TABLE questions (
    id BIGSERIAL PRIMARY KEY,
    -- the stable id: CF-051 for the shipped bank, Q-… (from the content) for imported ones
    code TEXT NOT NULL UNIQUE,
    -- 在用 | 停用
    status TEXT NOT NULL,
    -- the current version's number (question_versions.version)
    version INTEGER NOT NULL,
    -- where the question came from: 随附题库 | 导入 | 录入
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX questions_status ON questions(status);

CREATE TABLE question_versions (
    id BIGSERIAL PRIMARY KEY,
    question_id BIGINT NOT NULL REFERENCES questions(id),
    version INTEGER NOT NULL,
    -- 公共法律知识 | 专业法律知识
    part TEXT NOT NULL,
    -- 通用, or the enforcement category of a 专业 question (市场监管 …)
    category TEXT NOT NULL,
    -- 单选 | 多选 | 判断
    kind TEXT NOT NULL,
    stem TEXT NOT NULL,
    -- JSON array of option texts (A, B, …); empty for 判断
    options TEXT NOT NULL,
    -- letters in order (A, ACD) or 正确 / 错误
    answer TEXT NOT NULL,
    difficulty INTEGER NOT NULL,
    -- the law's short name (行政处罚法) and article (第五十一条); empty when not given
    law TEXT NOT NULL,
    article TEXT NOT NULL,
    -- JSON array of the article's words that decide the answer
    quote TEXT NOT NULL,
    explanation TEXT NOT NULL,
    -- SHA-256 of the content: an unchanged question imported again is recognised
    content_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    note TEXT NOT NULL,
    UNIQUE (question_id, version)
);
CREATE INDEX question_versions_content_hash ON question_versions(content_hash);
