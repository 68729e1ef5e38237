//! The exams' queries.

use crate::db::DbConn;
use crate::db::schema::{
    exam_answers as ea, exam_attempt_events as ev, exam_attempts as at, exam_batch_cells as cells,
    exam_batches as eb, exam_candidates as ec, exam_sessions as es,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = eb)]
pub struct Batch {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub blueprint: String,
    pub pass_mark: f64,
    pub total_points: f64,
    pub duration_minutes: i32,
    pub show_score: bool,
    pub seed: i64,
    pub paper_algorithm: i32,
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = eb)]
pub struct NewBatch {
    pub code: String,
    pub title: String,
    pub blueprint: String,
    pub pass_mark: f64,
    pub total_points: f64,
    pub duration_minutes: i32,
    pub show_score: bool,
    pub seed: i64,
    pub paper_algorithm: i32,
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = es)]
pub struct Session {
    pub id: i64,
    pub batch_id: i64,
    pub name: String,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    pub starts_at: NaiveDateTime,
    #[schema(value_type = String, example = "2026-03-01T10:30:00")]
    pub ends_at: NaiveDateTime,
    pub capacity: i32,
    pub extension_minutes: i32,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = es)]
pub struct NewSession {
    pub batch_id: i64,
    pub name: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub capacity: i32,
    pub extension_minutes: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ec)]
pub struct Candidate {
    pub id: i64,
    pub batch_id: i64,
    pub session_id: i64,
    pub officer_id: i64,
    pub ticket_no: String,
    pub access_hash: String,
    pub paper_seed: i64,
    pub seat: i32,
    pub extra_minutes: i32,
    pub token_hash: Option<String>,
    pub token_issued_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// The part the candidate is exempt from ('' none).
    pub exempt_part: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ec)]
pub struct NewCandidate {
    pub batch_id: i64,
    pub session_id: i64,
    pub officer_id: i64,
    pub ticket_no: String,
    pub access_hash: String,
    pub paper_seed: i64,
    pub seat: i32,
    pub extra_minutes: i32,
    pub created_at: NaiveDateTime,
    pub exempt_part: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = at)]
pub struct Attempt {
    pub id: i64,
    pub candidate_id: i64,
    pub started_at: NaiveDateTime,
    pub deadline: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub closed_by: Option<String>,
    pub score: Option<f64>,
    pub passed: Option<bool>,
    pub start_audited: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = cells)]
pub struct NewCell {
    pub batch_id: i64,
    pub section: i32,
    pub difficulty: i32,
    pub required: i32,
    pub version_ids: String,
}

pub fn batch(conn: &mut DbConn, id: i64) -> QueryResult<Option<Batch>> {
    eb::table
        .find(id)
        .select(Batch::as_select())
        .first(conn)
        .optional()
}

pub fn batches_with_prefix(conn: &mut DbConn, prefix: &str) -> QueryResult<i64> {
    eb::table
        .filter(eb::code.like(format!("{prefix}%")))
        .count()
        .get_result(conn)
}

pub fn insert_batch(conn: &mut DbConn, b: &NewBatch) -> QueryResult<i64> {
    diesel::insert_into(eb::table)
        .values(b)
        .returning(eb::id)
        .get_result(conn)
}

pub fn insert_session(conn: &mut DbConn, s: &NewSession) -> QueryResult<i64> {
    diesel::insert_into(es::table)
        .values(s)
        .returning(es::id)
        .get_result(conn)
}

pub fn insert_cells(conn: &mut DbConn, rows: &[NewCell]) -> QueryResult<()> {
    for r in rows {
        diesel::insert_into(cells::table).values(r).execute(conn)?;
    }
    Ok(())
}

pub fn insert_candidates(conn: &mut DbConn, rows: &[NewCandidate]) -> QueryResult<()> {
    for chunk in rows.chunks(crate::db::batch_rows(conn)) {
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(ec::table).values(chunk).execute(c)?,
            DbConn::Postgres(c) => diesel::insert_into(ec::table).values(chunk).execute(c)?,
        };
    }
    Ok(())
}

pub fn cells_of(conn: &mut DbConn, batch_id: i64) -> QueryResult<Vec<(i32, i32, i32, String)>> {
    cells::table
        .filter(cells::batch_id.eq(batch_id))
        .order((cells::section.asc(), cells::difficulty.asc()))
        .select((
            cells::section,
            cells::difficulty,
            cells::required,
            cells::version_ids,
        ))
        .load(conn)
}

pub fn sessions_of(conn: &mut DbConn, batch_id: i64) -> QueryResult<Vec<Session>> {
    es::table
        .filter(es::batch_id.eq(batch_id))
        .order(es::starts_at.asc())
        .select(Session::as_select())
        .load(conn)
}

pub fn session(conn: &mut DbConn, id: i64) -> QueryResult<Session> {
    es::table.find(id).select(Session::as_select()).first(conn)
}

pub fn candidate_by_ticket(conn: &mut DbConn, ticket_no: &str) -> QueryResult<Option<Candidate>> {
    ec::table
        .filter(ec::ticket_no.eq(ticket_no))
        .select(Candidate::as_select())
        .first(conn)
        .optional()
}

pub fn candidate_by_token(conn: &mut DbConn, hash: &str) -> QueryResult<Option<Candidate>> {
    ec::table
        .filter(ec::token_hash.eq(hash))
        .select(Candidate::as_select())
        .first(conn)
        .optional()
}

/// The candidate behind a token hash with their attempt, if started (one query).
pub fn candidate_and_attempt(
    conn: &mut DbConn,
    hash: &str,
) -> QueryResult<Option<(Candidate, Option<Attempt>)>> {
    ec::table
        .left_join(at::table.on(at::candidate_id.eq(ec::id)))
        .filter(ec::token_hash.eq(hash))
        .select((Candidate::as_select(), Option::<Attempt>::as_select()))
        .first(conn)
        .optional()
}

pub fn candidates_of(conn: &mut DbConn, batch_id: i64) -> QueryResult<Vec<Candidate>> {
    ec::table
        .filter(ec::batch_id.eq(batch_id))
        .order(ec::id.asc())
        .select(Candidate::as_select())
        .load(conn)
}

pub fn set_token(
    conn: &mut DbConn,
    candidate_id: i64,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(ec::table.find(candidate_id))
        .set((ec::token_hash.eq(hash), ec::token_issued_at.eq(now)))
        .execute(conn)
}

pub fn attempt_of(conn: &mut DbConn, candidate_id: i64) -> QueryResult<Option<Attempt>> {
    at::table
        .filter(at::candidate_id.eq(candidate_id))
        .select(Attempt::as_select())
        .first(conn)
        .optional()
}

/// Starts an attempt unless one exists (two devices starting at once get the same attempt).
pub fn start_attempt(
    conn: &mut DbConn,
    candidate_id: i64,
    now: NaiveDateTime,
    deadline: NaiveDateTime,
) -> QueryResult<(Attempt, bool)> {
    let inserted = match conn {
        DbConn::Sqlite(c) => diesel::insert_into(at::table)
            .values((
                at::candidate_id.eq(candidate_id),
                at::started_at.eq(now),
                at::deadline.eq(deadline),
            ))
            .on_conflict(at::candidate_id)
            .do_nothing()
            .execute(c)?,
        DbConn::Postgres(c) => diesel::insert_into(at::table)
            .values((
                at::candidate_id.eq(candidate_id),
                at::started_at.eq(now),
                at::deadline.eq(deadline),
            ))
            .on_conflict(at::candidate_id)
            .do_nothing()
            .execute(c)?,
    };
    let a = attempt_of(conn, candidate_id)?.ok_or(diesel::result::Error::NotFound)?;
    Ok((a, inserted == 1))
}

pub fn answers_of(conn: &mut DbConn, attempt_id: i64) -> QueryResult<Vec<(i32, String)>> {
    ea::table
        .filter(ea::attempt_id.eq(attempt_id))
        .select((ea::position, ea::answer))
        .load(conn)
}

/// Closes an attempt with its grade, unless it is already closed; whether this call closed it.
pub fn close_attempt(
    conn: &mut DbConn,
    attempt_id: i64,
    at_time: NaiveDateTime,
    by: &str,
    score: f64,
    passed: bool,
) -> QueryResult<bool> {
    let n = diesel::update(
        at::table
            .filter(at::id.eq(attempt_id))
            .filter(at::submitted_at.is_null()),
    )
    .set((
        at::submitted_at.eq(at_time),
        at::closed_by.eq(by),
        at::score.eq(score),
        at::passed.eq(passed),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Started attempts whose start is not yet in the audit trail: (attempt, ticket, started at).
pub fn unaudited_starts(
    conn: &mut DbConn,
    limit: i64,
) -> QueryResult<Vec<(i64, String, NaiveDateTime)>> {
    at::table
        .inner_join(ec::table.on(ec::id.eq(at::candidate_id)))
        .filter(at::start_audited.eq(false))
        .order(at::id.asc())
        .select((at::id, ec::ticket_no, at::started_at))
        .limit(limit)
        .load(conn)
}

pub fn mark_starts_audited(conn: &mut DbConn, ids: &[i64]) -> QueryResult<usize> {
    diesel::update(at::table.filter(at::id.eq_any(ids)))
        .set(at::start_audited.eq(true))
        .execute(conn)
}

/// Attempts past their deadline that nobody closed (the server closes them).
pub fn expired_attempts(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    at::table
        .filter(at::submitted_at.is_null())
        .filter(at::deadline.le(now))
        .select((at::id, at::candidate_id))
        .limit(limit)
        .load(conn)
}

pub fn candidate(conn: &mut DbConn, id: i64) -> QueryResult<Candidate> {
    ec::table
        .find(id)
        .select(Candidate::as_select())
        .first(conn)
}

pub fn log_event(
    conn: &mut DbConn,
    candidate_id: i64,
    now: NaiveDateTime,
    kind: &str,
    ip: &str,
    device: &str,
    detail: &str,
) -> QueryResult<usize> {
    diesel::insert_into(ev::table)
        .values((
            ev::candidate_id.eq(candidate_id),
            ev::at.eq(now),
            ev::kind.eq(kind),
            ev::ip.eq(ip),
            ev::device.eq(device.chars().take(200).collect::<String>()),
            ev::detail.eq(detail),
        ))
        .execute(conn)
}

/// Attempts among `ids` still open at `now` (the group commit writes only into those).
pub fn open_attempts(conn: &mut DbConn, ids: &[i64], now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    at::table
        .filter(at::id.eq_any(ids))
        .filter(at::submitted_at.is_null())
        .filter(at::deadline.gt(now))
        .select(at::id)
        .load(conn)
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ea)]
pub struct NewAnswer {
    pub attempt_id: i64,
    pub position: i32,
    pub answer: String,
    pub seq: i64,
    pub saved_at: NaiveDateTime,
}

/// Writes answers in multi-row statements; an answer whose seq is lower than the stored one's
/// leaves the stored one alone (a late, older save never wins).
pub fn upsert_answers(conn: &mut DbConn, rows: &[NewAnswer]) -> QueryResult<()> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Text, Timestamp};
    macro_rules! run {
        ($c:expr, $chunk:expr) => {
            diesel::insert_into(ea::table)
                .values($chunk)
                .on_conflict((ea::attempt_id, ea::position))
                .do_update()
                .set((
                    ea::answer.eq(sql::<Text>(
                        "CASE WHEN excluded.seq >= exam_answers.seq THEN excluded.answer ELSE exam_answers.answer END",
                    )),
                    ea::saved_at.eq(sql::<Timestamp>(
                        "CASE WHEN excluded.seq >= exam_answers.seq THEN excluded.saved_at ELSE exam_answers.saved_at END",
                    )),
                    ea::seq.eq(sql::<BigInt>(
                        "CASE WHEN excluded.seq >= exam_answers.seq THEN excluded.seq ELSE exam_answers.seq END",
                    )),
                ))
                .execute($c)
        };
    }
    match conn {
        // diesel has no multi-row upsert for SQLite; in-process statements cost microseconds
        DbConn::Sqlite(c) => {
            for r in rows {
                run!(c, r)?;
            }
        }
        // one round trip per 100 answers instead of one per answer
        DbConn::Postgres(c) => {
            for chunk in rows.chunks(100) {
                run!(c, chunk)?;
            }
        }
    }
    Ok(())
}

pub fn set_extra_minutes(conn: &mut DbConn, candidate_id: i64, minutes: i32) -> QueryResult<usize> {
    diesel::update(ec::table.find(candidate_id))
        .set(ec::extra_minutes.eq(minutes))
        .execute(conn)
}

pub fn set_extension(conn: &mut DbConn, session_id: i64, minutes: i32) -> QueryResult<usize> {
    diesel::update(es::table.find(session_id))
        .set(es::extension_minutes.eq(minutes))
        .execute(conn)
}

/// Open attempts of a session: (attempt id, deadline).
pub fn open_attempts_of_session(
    conn: &mut DbConn,
    session_id: i64,
) -> QueryResult<Vec<(i64, NaiveDateTime)>> {
    at::table
        .inner_join(ec::table.on(ec::id.eq(at::candidate_id)))
        .filter(ec::session_id.eq(session_id))
        .filter(at::submitted_at.is_null())
        .select((at::id, at::deadline))
        .load(conn)
}

pub fn set_deadline(
    conn: &mut DbConn,
    attempt_id: i64,
    deadline: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(at::table.find(attempt_id))
        .set(at::deadline.eq(deadline))
        .execute(conn)
}

/// A batch's closed attempts with their candidates.
pub fn closed_attempts_of_batch(
    conn: &mut DbConn,
    batch_id: i64,
) -> QueryResult<Vec<(Attempt, Candidate)>> {
    at::table
        .inner_join(ec::table.on(ec::id.eq(at::candidate_id)))
        .filter(ec::batch_id.eq(batch_id))
        .filter(at::submitted_at.is_not_null())
        .select((Attempt::as_select(), Candidate::as_select()))
        .load(conn)
}

pub fn set_grade(
    conn: &mut DbConn,
    attempt_id: i64,
    score: f64,
    passed: bool,
) -> QueryResult<usize> {
    diesel::update(at::table.find(attempt_id))
        .set((at::score.eq(score), at::passed.eq(passed)))
        .execute(conn)
}

pub fn batch_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<i64>> {
    eb::table
        .filter(eb::code.eq(code))
        .select(eb::id)
        .first(conn)
        .optional()
}

/// Every saved answer of a batch's handed-in attempts: (attempt, position, answer).
pub fn answers_of_batch(conn: &mut DbConn, batch_id: i64) -> QueryResult<Vec<(i64, i32, String)>> {
    ea::table
        .inner_join(at::table.on(at::id.eq(ea::attempt_id)))
        .inner_join(ec::table.on(ec::id.eq(at::candidate_id)))
        .filter(ec::batch_id.eq(batch_id))
        .filter(at::submitted_at.is_not_null())
        .select((ea::attempt_id, ea::position, ea::answer))
        .load(conn)
}

/// How many candidates a session holds, and its highest seat.
pub fn seats_of(conn: &mut DbConn, session_id: i64) -> QueryResult<(i64, Option<i32>)> {
    ec::table
        .filter(ec::session_id.eq(session_id))
        .select((diesel::dsl::count_star(), diesel::dsl::max(ec::seat)))
        .first(conn)
}

/// Moves a candidate who has not started (0 rows when an attempt exists by now).
pub fn set_session(
    conn: &mut DbConn,
    candidate_id: i64,
    session_id: i64,
    seat: i32,
) -> QueryResult<usize> {
    diesel::update(
        ec::table
            .find(candidate_id)
            .filter(diesel::dsl::not(diesel::dsl::exists(
                at::table.filter(at::candidate_id.eq(candidate_id)),
            ))),
    )
    .set((ec::session_id.eq(session_id), ec::seat.eq(seat)))
    .execute(conn)
}
