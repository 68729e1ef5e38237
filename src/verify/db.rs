//! Verification's queries.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    api_keys as ak, cert_reviews as cr, certificates as ct, officers as of, units as un,
};

/// What a verifier may learn of a certificate, straight from the register.
#[derive(Debug, Clone, Queryable)]
pub struct Found {
    pub id: i64,
    pub number: String,
    pub state: String,
    pub category: String,
    pub region: String,
    pub issuer: String,
    pub issued_on: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub name: String,
    pub unit_code: String,
    pub unit: String,
    pub officer_id: i64,
}

macro_rules! found_columns {
    () => {
        (
            ct::id,
            ct::number,
            ct::state,
            ct::category,
            ct::region,
            ct::issuer,
            ct::issued_on,
            ct::valid_until,
            of::name,
            un::code,
            un::name,
            ct::officer_id,
        )
    };
}

/// A certificate and its latest decided review (year, result).
pub type FoundReviewed = (Found, Option<(i32, String)>);

/// A certificate by number with its latest decided review. On SQLite one raw statement (the
/// review by a correlated subquery, which diesel's query builder cannot express): the two
/// builder queries showed SQLite re-preparing them on every request, a sixth of a
/// verification's time, while this one is parsed each time (diesel does not cache raw SQL),
/// about a twentieth. On PostgreSQL the two builder queries, which diesel keeps prepared:
/// there the raw statement's parse and plan on every call cost more than the second round
/// trip (3,510/s against 8,383/s). See docs/benchmarks.md.
pub fn by_number_with_review(
    conn: &mut DbConn,
    number: &str,
) -> QueryResult<Option<FoundReviewed>> {
    if matches!(conn, DbConn::Postgres(_)) {
        // PostgreSQL parses and plans a raw statement on every call; these two diesel keeps
        // prepared, plan and all
        let Some(found) = ct::table
            .inner_join(of::table.on(of::id.eq(ct::officer_id)))
            .inner_join(un::table.on(un::id.eq(ct::unit_id)))
            .filter(ct::number.eq(number))
            .select(found_columns!())
            .first::<Found>(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let review = cr::table
            .filter(cr::certificate_id.eq(found.id))
            .filter(cr::result.ne(""))
            .select((cr::year, cr::result))
            .order(cr::year.desc())
            .first(conn)
            .optional()?;
        return Ok(Some((found, review)));
    }
    use diesel::sql_types::{BigInt, Date, Integer, Nullable, Text};
    #[derive(QueryableByName)]
    struct Hit {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        number: String,
        #[diesel(sql_type = Text)]
        state: String,
        #[diesel(sql_type = Text)]
        category: String,
        #[diesel(sql_type = Text)]
        region: String,
        #[diesel(sql_type = Text)]
        issuer: String,
        #[diesel(sql_type = Nullable<Date>)]
        issued_on: Option<NaiveDate>,
        #[diesel(sql_type = Nullable<Date>)]
        valid_until: Option<NaiveDate>,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        unit_code: String,
        #[diesel(sql_type = Text)]
        unit: String,
        #[diesel(sql_type = BigInt)]
        officer_id: i64,
        #[diesel(sql_type = Nullable<Integer>)]
        review_year: Option<i32>,
        #[diesel(sql_type = Nullable<Text>)]
        review_result: Option<String>,
    }
    const SELECT: &str = "SELECT c.id, c.number, c.state, c.category, c.region, c.issuer, \
         c.issued_on, c.valid_until, o.name, u.code AS unit_code, u.name AS unit, c.officer_id, \
         r.year AS review_year, r.result AS review_result \
         FROM certificates c JOIN officers o ON o.id = c.officer_id JOIN units u ON u.id = c.unit_id \
         LEFT JOIN cert_reviews r ON r.certificate_id = c.id AND r.year = \
           (SELECT MAX(r2.year) FROM cert_reviews r2 WHERE r2.certificate_id = c.id AND r2.result <> '') \
         WHERE c.number = ";
    let hit: Option<Hit> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(format!("{SELECT}?"))
            .bind::<Text, _>(number)
            .get_result(c)
            .optional()?,
        DbConn::Postgres(c) => diesel::sql_query(format!("{SELECT}$1"))
            .bind::<Text, _>(number)
            .get_result(c)
            .optional()?,
    };
    Ok(hit.map(|h| {
        let review = h.review_year.zip(h.review_result);
        (
            Found {
                id: h.id,
                number: h.number,
                state: h.state,
                category: h.category,
                region: h.region,
                issuer: h.issuer,
                issued_on: h.issued_on,
                valid_until: h.valid_until,
                name: h.name,
                unit_code: h.unit_code,
                unit: h.unit,
                officer_id: h.officer_id,
            },
            review,
        )
    }))
}

pub fn by_numbers(conn: &mut DbConn, numbers: &[String]) -> QueryResult<Vec<Found>> {
    ct::table
        .inner_join(of::table.on(of::id.eq(ct::officer_id)))
        .inner_join(un::table.on(un::id.eq(ct::unit_id)))
        .filter(ct::number.eq_any(numbers))
        .select(found_columns!())
        .load(conn)
}

pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Found>> {
    ct::table
        .inner_join(of::table.on(of::id.eq(ct::officer_id)))
        .inner_join(un::table.on(un::id.eq(ct::unit_id)))
        .filter(ct::id.eq_any(ids))
        .select(found_columns!())
        .load(conn)
}

/// Every decided review of these certificates: (certificate, year, result), oldest first (a
/// card's back shows them all; verification the last).
pub fn decided_reviews(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, i32, String)>> {
    cr::table
        .filter(cr::certificate_id.eq_any(ids))
        .filter(cr::result.ne(""))
        .select((cr::certificate_id, cr::year, cr::result))
        .order((cr::certificate_id, cr::year))
        .load(conn)
}

/// Ids of the certificates in these states (the status list).
pub fn ids_in_states(conn: &mut DbConn, states: &[&str]) -> QueryResult<Vec<i64>> {
    ct::table
        .filter(ct::state.eq_any(states))
        .select(ct::id)
        .load(conn)
}

pub fn max_id(conn: &mut DbConn) -> QueryResult<Option<i64>> {
    ct::table.select(diesel::dsl::max(ct::id)).first(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ak)]
pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub contact: String,
    pub prefix: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by: String,
    pub calls: i64,
    pub numbers: i64,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = ak)]
pub struct NewKey<'a> {
    pub name: &'a str,
    pub contact: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub created_by: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert_key(conn: &mut DbConn, key: &NewKey) -> QueryResult<i64> {
    diesel::insert_into(ak::table)
        .values(key)
        .returning(ak::id)
        .get_result(conn)
}

pub fn keys(conn: &mut DbConn) -> QueryResult<Vec<KeyRow>> {
    ak::table
        .order(ak::id.desc())
        .select(KeyRow::as_select())
        .load(conn)
}

pub fn key(conn: &mut DbConn, id: i64) -> QueryResult<Option<KeyRow>> {
    ak::table
        .find(id)
        .select(KeyRow::as_select())
        .first(conn)
        .optional()
}

pub fn key_by_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<KeyRow>> {
    ak::table
        .filter(ak::secret_hash.eq(hash))
        .select(KeyRow::as_select())
        .first(conn)
        .optional()
}

pub fn revoke_key(conn: &mut DbConn, id: i64, by: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(ak::table.find(id).filter(ak::revoked_at.is_null()))
        .set((ak::revoked_at.eq(at), ak::revoked_by.eq(by)))
        .execute(conn)
}

/// Counts one call checking `numbers` certificates.
pub fn count_use(
    conn: &mut DbConn,
    id: i64,
    numbers: i64,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(ak::table.find(id))
        .set((
            ak::calls.eq(ak::calls + 1),
            ak::numbers.eq(ak::numbers + numbers),
            ak::last_used_at.eq(at),
        ))
        .execute(conn)
}
