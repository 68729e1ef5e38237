-- Exams, first slice: batches with their blueprint, sessions, candidates with their own paper
-- (pinned question versions, per-paper option order), attempts, answers and the attempt log.
-- Answers are the hottest writes: their own table, written in group commits, not audited row by
-- row (the lifecycle events are).

CREATE TABLE exam_batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    -- the blueprint as JSON (bank::blueprint::Blueprint)
    blueprint TEXT NOT NULL,
    pass_mark DOUBLE NOT NULL,
    total_points DOUBLE NOT NULL,
    duration_minutes INTEGER NOT NULL,
    show_score BOOLEAN NOT NULL,
    -- papers are reproducible from this seed and each candidate's own
    seed BIGINT NOT NULL,
    paper_algorithm INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE exam_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id INTEGER NOT NULL REFERENCES exam_batches(id),
    name TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    capacity INTEGER NOT NULL,
    -- a bureau-wide extension for an incident in this session
    extension_minutes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX exam_sessions_batch_id ON exam_sessions(batch_id);

CREATE TABLE exam_candidates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id INTEGER NOT NULL REFERENCES exam_batches(id),
    session_id INTEGER NOT NULL REFERENCES exam_sessions(id),
    officer_id INTEGER NOT NULL REFERENCES officers(id),
    ticket_no TEXT NOT NULL UNIQUE,
    -- HMAC-SHA256 of the one-time access code under the server's exam key
    access_hash TEXT NOT NULL,
    paper_seed BIGINT NOT NULL,
    -- the candidate's place in the session: papers of neighbouring seats share no question when
    -- the bank allows it
    seat INTEGER NOT NULL,
    -- extra time granted to this candidate (accommodation)
    extra_minutes INTEGER NOT NULL DEFAULT 0,
    -- SHA-256 of the current exam-room token: a newer login replaces it (one device at a time)
    token_hash TEXT,
    token_issued_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (batch_id, officer_id)
);
CREATE INDEX exam_candidates_session_id ON exam_candidates(session_id);
CREATE UNIQUE INDEX exam_candidates_token_hash ON exam_candidates(token_hash);

-- What every paper of a batch draws from: per blueprint section and difficulty, the pinned question
-- versions in the batch's order. A candidate's paper is a pure function of these lists, the
-- candidate's seat in the session and their seed (exams::paper, algorithm 1), so 73,450 papers
-- are fixed at scheduling without writing 7 million rows, and any paper can be rebuilt exactly.
CREATE TABLE exam_batch_cells (
    batch_id INTEGER NOT NULL REFERENCES exam_batches(id),
    section INTEGER NOT NULL,
    -- 0 when the blueprint has no difficulty mix
    difficulty INTEGER NOT NULL,
    required INTEGER NOT NULL,
    -- JSON array of question_versions ids
    version_ids TEXT NOT NULL,
    PRIMARY KEY (batch_id, section, difficulty)
);

CREATE TABLE exam_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    candidate_id INTEGER NOT NULL UNIQUE REFERENCES exam_candidates(id),
    started_at TIMESTAMP NOT NULL,
    -- the server's deadline; extensions move it
    deadline TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    -- 交卷 | 到时
    closed_by TEXT,
    score DOUBLE,
    passed BOOLEAN,
    -- the start is put in the audit trail a few seconds later, in batches, so the start spike
    -- doesn't queue on the audit chain's lock
    start_audited BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX exam_attempts_deadline ON exam_attempts(deadline);

CREATE TABLE exam_answers (
    attempt_id INTEGER NOT NULL REFERENCES exam_attempts(id),
    position INTEGER NOT NULL,
    -- the paper's keys, sorted (A, AC), or 正确 / 错误 … as the paper's keys say
    answer TEXT NOT NULL,
    -- the client's sequence number: an older save never overwrites a newer one
    seq BIGINT NOT NULL,
    saved_at TIMESTAMP NOT NULL,
    PRIMARY KEY (attempt_id, position)
);

CREATE TABLE exam_attempt_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    candidate_id INTEGER NOT NULL REFERENCES exam_candidates(id),
    at TIMESTAMP NOT NULL,
    -- 登录 | 开始 | 继续 | 接管 | 交卷 | 到时收卷
    kind TEXT NOT NULL,
    ip TEXT NOT NULL,
    device TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX exam_attempt_events_candidate_id ON exam_attempt_events(candidate_id);
