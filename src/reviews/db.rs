//! The annual review's queries.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    cert_reviews as cr, certificate_events as ce, certificates as ct, exam_attempts as at,
    exam_batches as eb, exam_candidates as ec, officers, review_rounds as rr, training_hours as th,
    units,
};

#[derive(Debug, Clone, Queryable)]
pub struct RoundRow {
    pub id: i64,
    pub year: i32,
    pub rules: String,
    pub deadline: NaiveDate,
    pub opened_by: String,
    pub opened_at: NaiveDateTime,
    pub applied_at: Option<NaiveDateTime>,
}

const ROUND: (
    rr::id,
    rr::year,
    rr::rules,
    rr::deadline,
    rr::opened_by,
    rr::opened_at,
    rr::applied_at,
) = (
    rr::id,
    rr::year,
    rr::rules,
    rr::deadline,
    rr::opened_by,
    rr::opened_at,
    rr::applied_at,
);

pub fn round(conn: &mut DbConn, year: i32) -> QueryResult<Option<RoundRow>> {
    rr::table
        .filter(rr::year.eq(year))
        .select(ROUND)
        .first(conn)
        .optional()
}

pub fn rounds(conn: &mut DbConn) -> QueryResult<Vec<RoundRow>> {
    rr::table.order(rr::year.desc()).select(ROUND).load(conn)
}

pub fn insert_round(
    conn: &mut DbConn,
    year: i32,
    rules: &str,
    deadline: NaiveDate,
    by: &str,
) -> QueryResult<usize> {
    diesel::insert_into(rr::table)
        .values((
            rr::year.eq(year),
            rr::rules.eq(rules),
            rr::deadline.eq(deadline),
            rr::opened_by.eq(by),
            rr::opened_at.eq(crate::db::now()),
        ))
        .execute(conn)
}

pub fn mark_applied(conn: &mut DbConn, year: i32) -> QueryResult<usize> {
    diesel::update(rr::table.filter(rr::year.eq(year)))
        .set(rr::applied_at.eq(crate::db::now()))
        .execute(conn)
}

/// A valid certificate with its holder and unit, as the review reads it.
#[derive(Debug, Clone, Queryable)]
pub struct Due {
    pub id: i64,
    pub number: String,
    pub issued_on: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub officer_id: i64,
    pub name: String,
    pub status: String,
    pub employment_type: String,
    pub unit_id: i64,
    pub unit: String,
}

/// Every certificate in state 有效 (within the unit subtree `path`, if given), by unit.
pub fn valid_certificates(conn: &mut DbConn, path: Option<&str>) -> QueryResult<Vec<Due>> {
    let mut q = ct::table
        .inner_join(officers::table)
        .inner_join(units::table)
        .filter(ct::state.eq("有效"))
        .select((
            ct::id,
            ct::number,
            ct::issued_on,
            ct::valid_until,
            ct::officer_id,
            officers::name,
            officers::status,
            officers::employment_type,
            ct::unit_id,
            units::name,
        ))
        .order((units::path.asc(), ct::id.asc()))
        .into_boxed();
    if let Some(p) = path {
        q = q.filter(units::path.like(format!("{p}%")));
    }
    q.load(conn)
}

/// The unit's first review and the bureau's decision of one certificate for a year.
#[derive(Debug, Clone, Queryable)]
pub struct Review {
    pub certificate_id: i64,
    pub in_post: Option<bool>,
    pub violation: Option<bool>,
    pub first_opinion: String,
    pub first_note: String,
    pub result: String,
    pub findings: String,
    pub override_reason: String,
    pub decided_at: Option<NaiveDateTime>,
}

pub fn reviews_of_year(conn: &mut DbConn, year: i32) -> QueryResult<HashMap<i64, Review>> {
    Ok(cr::table
        .filter(cr::year.eq(year))
        .select((
            cr::certificate_id,
            cr::in_post,
            cr::violation,
            cr::first_opinion,
            cr::first_note,
            cr::result,
            cr::findings,
            cr::override_reason,
            cr::decided_at,
        ))
        .load::<Review>(conn)?
        .into_iter()
        .map(|r| (r.certificate_id, r))
        .collect())
}

/// One certificate's review record, every year.
/// (year, result, findings, override reason, decided at)
pub type Decision = (i32, String, String, String, Option<NaiveDateTime>);

pub fn history(conn: &mut DbConn, certificate_id: i64) -> QueryResult<Vec<Decision>> {
    cr::table
        .filter(cr::certificate_id.eq(certificate_id))
        .filter(cr::result.ne(""))
        .order(cr::year.desc())
        .select((
            cr::year,
            cr::result,
            cr::findings,
            cr::override_reason,
            cr::decided_at,
        ))
        .load(conn)
}

pub fn training(conn: &mut DbConn, year: i32) -> QueryResult<HashMap<i64, f64>> {
    Ok(th::table
        .filter(th::year.eq(year))
        .select((th::officer_id, th::hours))
        .load::<(i64, f64)>(conn)?
        .into_iter()
        .collect())
}

/// Each officer's best exam score in the year, on a 100-point scale.
pub fn best_scores(conn: &mut DbConn, year: i32) -> QueryResult<HashMap<i64, f64>> {
    let (from, to) = year_bounds(year);
    let rows: Vec<(i64, Option<f64>, f64)> = at::table
        .inner_join(ec::table.on(ec::id.eq(at::candidate_id)))
        .inner_join(eb::table.on(eb::id.eq(ec::batch_id)))
        .filter(at::started_at.ge(from))
        .filter(at::started_at.lt(to))
        .filter(at::score.is_not_null())
        .select((ec::officer_id, at::score, eb::total_points))
        .load(conn)?;
    let mut best: HashMap<i64, f64> = HashMap::new();
    for (officer, score, total) in rows {
        let Some(s) = score else { continue };
        let s = if total > 0.0 { s * 100.0 / total } else { s };
        let e = best.entry(officer).or_insert(s);
        if s > *e {
            *e = s;
        }
    }
    Ok(best)
}

/// Certificates suspended at some time in the year.
pub fn suspended_in(conn: &mut DbConn, year: i32) -> QueryResult<HashSet<i64>> {
    let (from, to) = year_bounds(year);
    Ok(ce::table
        .filter(ce::to_state.eq("暂扣"))
        .filter(ce::at.ge(from))
        .filter(ce::at.lt(to))
        .select(ce::certificate_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect())
}

fn year_bounds(year: i32) -> (NaiveDateTime, NaiveDateTime) {
    let d = |y| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .unwrap_or_default()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
    };
    (d(year), d(year + 1))
}

/// Records the unit's first review of one certificate (a new row, or the row before decision).
#[allow(clippy::too_many_arguments)]
pub fn put_first(
    conn: &mut DbConn,
    certificate_id: i64,
    year: i32,
    in_post: Option<bool>,
    violation: Option<bool>,
    opinion: &str,
    note: &str,
    by: &str,
    at_: NaiveDateTime,
) -> QueryResult<usize> {
    let n = diesel::update(
        cr::table
            .filter(cr::certificate_id.eq(certificate_id))
            .filter(cr::year.eq(year))
            .filter(cr::result.eq("")),
    )
    .set((
        cr::in_post.eq(in_post),
        cr::violation.eq(violation),
        cr::first_opinion.eq(opinion),
        cr::first_note.eq(note),
        cr::first_by.eq(by),
        cr::first_at.eq(at_),
    ))
    .execute(conn)?;
    if n > 0 {
        return Ok(n);
    }
    diesel::insert_into(cr::table)
        .values((
            cr::certificate_id.eq(certificate_id),
            cr::year.eq(year),
            cr::in_post.eq(in_post),
            cr::violation.eq(violation),
            cr::first_opinion.eq(opinion),
            cr::first_note.eq(note),
            cr::first_by.eq(by),
            cr::first_at.eq(at_),
        ))
        .execute(conn)
}

/// The decision (result, '' if undecided) of each of these certificates that has a row.
pub fn decisions_of(
    conn: &mut DbConn,
    year: i32,
    ids: &[i64],
) -> QueryResult<HashMap<i64, String>> {
    Ok(cr::table
        .filter(cr::year.eq(year))
        .filter(cr::certificate_id.eq_any(ids))
        .select((cr::certificate_id, cr::result))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// Records a plain pass for these certificates' undecided rows, in one statement.
pub fn pass_all(
    conn: &mut DbConn,
    year: i32,
    ids: &[i64],
    by: &str,
    at_: NaiveDateTime,
) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::update(
        cr::table
            .filter(cr::year.eq(year))
            .filter(cr::certificate_id.eq_any(ids))
            .filter(cr::result.eq("")),
    )
    .set((
        cr::result.eq("合格"),
        cr::decided_by.eq(by),
        cr::decided_at.eq(at_),
    ))
    .execute(conn)
}

/// Records the bureau's decision; 0 when the certificate was already decided for the year.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    conn: &mut DbConn,
    certificate_id: i64,
    year: i32,
    result: &str,
    findings: &str,
    override_reason: &str,
    by: &str,
    at_: NaiveDateTime,
) -> QueryResult<usize> {
    let n = diesel::update(
        cr::table
            .filter(cr::certificate_id.eq(certificate_id))
            .filter(cr::year.eq(year))
            .filter(cr::result.eq("")),
    )
    .set((
        cr::result.eq(result),
        cr::findings.eq(findings),
        cr::override_reason.eq(override_reason),
        cr::decided_by.eq(by),
        cr::decided_at.eq(at_),
    ))
    .execute(conn)?;
    if n > 0 {
        return Ok(n);
    }
    let exists: i64 = cr::table
        .filter(cr::certificate_id.eq(certificate_id))
        .filter(cr::year.eq(year))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(0);
    }
    diesel::insert_into(cr::table)
        .values((
            cr::certificate_id.eq(certificate_id),
            cr::year.eq(year),
            cr::result.eq(result),
            cr::findings.eq(findings),
            cr::override_reason.eq(override_reason),
            cr::decided_by.eq(by),
            cr::decided_at.eq(at_),
        ))
        .execute(conn)
}

/// Upserts an officer's training hours for a year.
pub fn put_training(
    conn: &mut DbConn,
    officer_id: i64,
    year: i32,
    hours: f64,
    source: &str,
) -> QueryResult<usize> {
    let now = crate::db::now();
    let n = diesel::update(
        th::table
            .filter(th::officer_id.eq(officer_id))
            .filter(th::year.eq(year)),
    )
    .set((
        th::hours.eq(hours),
        th::source.eq(source),
        th::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n > 0 {
        return Ok(n);
    }
    diesel::insert_into(th::table)
        .values((
            th::officer_id.eq(officer_id),
            th::year.eq(year),
            th::hours.eq(hours),
            th::source.eq(source),
            th::updated_at.eq(now),
        ))
        .execute(conn)
}
