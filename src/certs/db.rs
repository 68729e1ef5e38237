//! Queries of the certificates register.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    cert_serials as cs, certificate_events as ce, certificates as ct, officers, units,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ct)]
pub struct Row {
    pub id: i64,
    pub number: String,
    pub officer_id: i64,
    pub unit_id: i64,
    pub category: String,
    pub region: String,
    pub issuer: String,
    pub issued_on: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub state: String,
    pub source: String,
    pub card_generation: i32,
    pub batch_id: Option<i64>,
    pub replaces_id: Option<i64>,
    pub replaced_by_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ct)]
pub struct NewRow {
    pub number: String,
    pub officer_id: i64,
    pub unit_id: i64,
    pub category: String,
    pub region: String,
    pub issuer: String,
    pub issued_on: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub state: String,
    pub source: String,
    pub batch_id: Option<i64>,
    pub replaces_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ce)]
pub struct EventRow {
    pub id: i64,
    pub certificate_id: i64,
    pub at: NaiveDateTime,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub reason: String,
    pub basis: String,
    pub actor: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ce)]
pub struct NewEvent<'a> {
    pub certificate_id: i64,
    pub at: NaiveDateTime,
    pub action: &'a str,
    pub from_state: &'a str,
    pub to_state: &'a str,
    pub reason: &'a str,
    pub basis: &'a str,
    pub actor: &'a str,
}

pub fn by_number(conn: &mut DbConn, number: &str) -> QueryResult<Option<Row>> {
    ct::table
        .filter(ct::number.eq(number))
        .select(Row::as_select())
        .first(conn)
        .optional()
}

/// The rows of these numbers (any order; unknown numbers are absent).
pub fn by_numbers(conn: &mut DbConn, numbers: &[&str]) -> QueryResult<Vec<Row>> {
    let mut rows = Vec::with_capacity(numbers.len());
    for chunk in numbers.chunks(5000) {
        rows.extend(
            ct::table
                .filter(ct::number.eq_any(chunk))
                .select(Row::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// The rows of these certificates (any order).
pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Row>> {
    ct::table
        .filter(ct::id.eq_any(ids))
        .select(Row::as_select())
        .load(conn)
}

/// Moves these certificates from `from` to `to` in one statement (only those still in `from`).
pub fn set_states(
    conn: &mut DbConn,
    ids: &[i64],
    from: &str,
    to: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        ct::table
            .filter(ct::id.eq_any(ids))
            .filter(ct::state.eq(from)),
    )
    .set((ct::state.eq(to), ct::updated_at.eq(now)))
    .execute(conn)
}

/// Clears the roster's current certificate of whoever it is one of these numbers for.
pub fn unpoint_officers(conn: &mut DbConn, numbers: &[String]) -> QueryResult<usize> {
    diesel::update(officers::table.filter(officers::cert_number.eq_any(numbers)))
        .set((
            officers::cert_number.eq(None::<String>),
            officers::cert_issuer.eq(""),
            officers::cert_valid_until.eq(None::<NaiveDate>),
        ))
        .execute(conn)
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Row> {
    ct::table.find(id).select(Row::as_select()).first(conn)
}

pub fn of_officer(conn: &mut DbConn, officer_id: i64) -> QueryResult<Vec<Row>> {
    ct::table
        .filter(ct::officer_id.eq(officer_id))
        .order(ct::id.asc())
        .select(Row::as_select())
        .load(conn)
}

pub fn events(conn: &mut DbConn, certificate_id: i64) -> QueryResult<Vec<EventRow>> {
    ce::table
        .filter(ce::certificate_id.eq(certificate_id))
        .order(ce::id.asc())
        .select(EventRow::as_select())
        .load(conn)
}

/// When each of these officers' certificates was revoked (from the events).
pub fn revocations(
    conn: &mut DbConn,
    officer_ids: &[i64],
) -> QueryResult<Vec<(i64, NaiveDateTime)>> {
    ce::table
        .inner_join(ct::table)
        .filter(ct::officer_id.eq_any(officer_ids))
        .filter(ce::to_state.eq("吊销"))
        .select((ct::officer_id, ce::at))
        .load(conn)
}

/// Officers of these who hold a certificate that is valid or suspended: (officer, number).
pub fn holders(conn: &mut DbConn, officer_ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    ct::table
        .filter(ct::officer_id.eq_any(officer_ids))
        .filter(ct::state.eq_any(["有效", "暂扣"]))
        .select((ct::officer_id, ct::number))
        .load(conn)
}

pub fn insert(conn: &mut DbConn, row: &NewRow) -> QueryResult<i64> {
    diesel::insert_into(ct::table).values(row).execute(conn)?;
    ct::table
        .filter(ct::number.eq(&row.number))
        .select(ct::id)
        .first(conn)
}

pub fn log(conn: &mut DbConn, e: &NewEvent) -> QueryResult<usize> {
    diesel::insert_into(ce::table).values(e).execute(conn)
}

pub fn set_state(
    conn: &mut DbConn,
    id: i64,
    state: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(ct::table.find(id))
        .set((ct::state.eq(state), ct::updated_at.eq(now)))
        .execute(conn)
}

/// The last serial taken for a region and year.
pub fn last_serial(conn: &mut DbConn, region: &str, year: i32) -> QueryResult<Option<i64>> {
    cs::table
        .filter(cs::region.eq(region))
        .filter(cs::year.eq(year))
        .select(cs::last)
        .first(conn)
        .optional()
}

/// Moves the serial from `from` to `from + 1`; 0 rows when another transaction moved it first.
pub fn bump_serial(conn: &mut DbConn, region: &str, year: i32, from: i64) -> QueryResult<usize> {
    diesel::update(
        cs::table
            .filter(cs::region.eq(region))
            .filter(cs::year.eq(year))
            .filter(cs::last.eq(from)),
    )
    .set(cs::last.eq(from + 1))
    .execute(conn)
}

pub fn first_serial(conn: &mut DbConn, region: &str, year: i32) -> QueryResult<usize> {
    diesel::insert_into(cs::table)
        .values((cs::region.eq(region), cs::year.eq(year), cs::last.eq(1i64)))
        .execute(conn)
}

/// The officer's current certificate fields in the roster follow the register.
pub fn point_officer_at(
    conn: &mut DbConn,
    officer_id: i64,
    current: Option<(&str, &str, Option<NaiveDate>)>,
) -> QueryResult<usize> {
    let (number, issuer, until) = match current {
        Some((n, i, u)) => (Some(n.to_string()), i.to_string(), u),
        None => (None, String::new(), None),
    };
    diesel::update(officers::table.find(officer_id))
        .set((
            officers::cert_number.eq(number),
            officers::cert_issuer.eq(issuer),
            officers::cert_valid_until.eq(until),
        ))
        .execute(conn)
}

/// Certificates with the holder's and the unit's names.
pub type Listed = (Row, String, String);

/// A page of the register with holder and unit names.
pub fn list(
    conn: &mut DbConn,
    q: &str,
    state: Option<&str>,
    unit_path: Option<&str>,
    limit: i64,
    offset: i64,
) -> QueryResult<(i64, Vec<Listed>)> {
    let filtered = || {
        let mut query = ct::table
            .inner_join(officers::table)
            .inner_join(units::table)
            .into_boxed();
        if !q.is_empty() {
            let like = format!("{q}%");
            query = query.filter(ct::number.like(like.clone()).or(officers::name.like(like)));
        }
        if let Some(s) = state {
            query = query.filter(ct::state.eq(s.to_string()));
        }
        if let Some(p) = unit_path {
            query = query.filter(units::path.like(format!("{p}%")));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order(ct::id.desc())
        .limit(limit)
        .offset(offset)
        .select((Row::as_select(), officers::name, units::name))
        .load(conn)?;
    Ok((total, rows))
}

/// Valid or suspended certificates whose validity ended before `today`.
pub fn due_to_expire(conn: &mut DbConn, today: NaiveDate, limit: i64) -> QueryResult<Vec<Row>> {
    ct::table
        .filter(ct::state.eq_any(["有效", "暂扣"]))
        .filter(ct::valid_until.lt(today))
        .order(ct::id.asc())
        .limit(limit)
        .select(Row::as_select())
        .load(conn)
}

/// Links a replaced certificate and its replacement both ways.
pub fn link(conn: &mut DbConn, old: i64, new: i64) -> QueryResult<()> {
    diesel::update(ct::table.find(old))
        .set(ct::replaced_by_id.eq(new))
        .execute(conn)?;
    diesel::update(ct::table.find(new))
        .set(ct::replaces_id.eq(old))
        .execute(conn)?;
    Ok(())
}
