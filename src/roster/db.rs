//! Roster queries. Plain diesel, `QueryResult` out; no rules here.

use super::model::{Officer, OfficerFields, Posting, Unit};
use crate::db::schema::{officer_photos, officer_postings, officers, units};
use crate::db::{DbConn, MultiBackend};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

pub fn unit(conn: &mut DbConn, id: i64) -> QueryResult<Option<Unit>> {
    units::table
        .find(id)
        .select(Unit::as_select())
        .first(conn)
        .optional()
}

pub fn unit_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<Unit>> {
    units::table
        .filter(units::code.eq(code))
        .select(Unit::as_select())
        .first(conn)
        .optional()
}

/// Every unit in tree order (by path).
pub fn all_units(conn: &mut DbConn) -> QueryResult<Vec<Unit>> {
    units::table
        .order(units::path.asc())
        .select(Unit::as_select())
        .load(conn)
}

/// A unit and everything under it, in tree order.
pub fn subtree(conn: &mut DbConn, path: &str) -> QueryResult<Vec<Unit>> {
    let upper = crate::db::prefix_upper_bound(path).unwrap_or_default();
    units::table
        .filter(units::path.ge(path.to_string()))
        .filter(units::path.lt(upper))
        .order(units::path.asc())
        .select(Unit::as_select())
        .load(conn)
}

pub struct NewUnit<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub region_code: &'a str,
    pub parent: Option<&'a Unit>,
    pub at: NaiveDateTime,
}

/// Inserts a unit and sets its path (which needs its id).
pub fn insert_unit(conn: &mut DbConn, u: NewUnit<'_>) -> QueryResult<Unit> {
    let id: i64 = diesel::insert_into(units::table)
        .values((
            units::code.eq(u.code),
            units::name.eq(u.name),
            units::region_code.eq(u.region_code),
            units::parent_id.eq(u.parent.map(|p| p.id)),
            units::path.eq(""),
            units::active.eq(true),
            units::created_at.eq(u.at),
            units::updated_at.eq(u.at),
        ))
        .returning(units::id)
        .get_result(conn)?;
    let path = format!("{}{id}/", u.parent.map(|p| p.path.as_str()).unwrap_or("/"));
    diesel::update(units::table.find(id))
        .set(units::path.eq(&path))
        .execute(conn)?;
    units::table.find(id).select(Unit::as_select()).first(conn)
}

/// Officers who may sit the exam (established staff in a serving status), for demonstrations.
pub fn officer_ids_for_demo(conn: &mut DbConn, n: i64) -> QueryResult<Vec<i64>> {
    use super::rules::{EmploymentType, OfficerStatus};
    let types: Vec<&str> = EmploymentType::ALL
        .iter()
        .filter(|t| t.may_hold_certificate())
        .map(|t| t.label())
        .collect();
    officers::table
        .filter(officers::employment_type.eq_any(types))
        .filter(officers::status.eq(OfficerStatus::Serving.label()))
        .order(officers::id.asc())
        .limit(n)
        .select(officers::id)
        .load(conn)
}

/// (id, name, ID number) of the given officers, in roster order: by unit, then name.
pub fn officers_for_exam(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<Vec<(i64, String, String)>> {
    officers::table
        .inner_join(units::table)
        .filter(officers::id.eq_any(ids))
        .order((units::path.asc(), officers::name.asc(), officers::id.asc()))
        .select((officers::id, officers::name, officers::id_number))
        .load(conn)
}

pub fn officer(conn: &mut DbConn, id: i64) -> QueryResult<Option<Officer>> {
    officers::table
        .find(id)
        .select(Officer::as_select())
        .first(conn)
        .optional()
}

pub fn officer_by_id_number(conn: &mut DbConn, id_number: &str) -> QueryResult<Option<Officer>> {
    officers::table
        .filter(officers::id_number.eq(id_number))
        .select(Officer::as_select())
        .first(conn)
        .optional()
}

/// Officers of a unit in a serving status (or one not classified yet, which may be serving).
pub fn count_serving_in_unit(conn: &mut DbConn, unit_id: i64) -> QueryResult<i64> {
    use super::rules::OfficerStatus;
    let not_serving: Vec<String> = OfficerStatus::ALL
        .iter()
        .filter(|s| !s.is_serving())
        .map(|s| s.label().to_string())
        .collect();
    officers::table
        .filter(officers::unit_id.eq(unit_id))
        .filter(officers::status.ne_all(not_serving))
        .count()
        .get_result(conn)
}

pub fn insert_officer(conn: &mut DbConn, f: &OfficerFields, at: NaiveDateTime) -> QueryResult<i64> {
    diesel::insert_into(officers::table)
        .values((
            f,
            officers::has_photo.eq(false),
            officers::created_at.eq(at),
            officers::updated_at.eq(at),
        ))
        .returning(officers::id)
        .get_result(conn)
}

/// Inserts many officers in one statement per chunk; returns their ids by ID number.
pub fn insert_officers(
    conn: &mut DbConn,
    rows: &[OfficerFields],
    at: NaiveDateTime,
) -> QueryResult<Vec<(String, i64)>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(crate::db::batch_rows(conn)) {
        let values: Vec<_> = chunk
            .iter()
            .map(|f| {
                (
                    f,
                    officers::has_photo.eq(false),
                    officers::created_at.eq(at),
                    officers::updated_at.eq(at),
                )
            })
            .collect();
        let ids: Vec<(String, i64)> = match conn {
            DbConn::Sqlite(c) => diesel::insert_into(officers::table)
                .values(values.clone())
                .returning((officers::id_number, officers::id))
                .get_results(c)?,
            DbConn::Postgres(c) => diesel::insert_into(officers::table)
                .values(values.clone())
                .returning((officers::id_number, officers::id))
                .get_results(c)?,
        };
        out.extend(ids);
    }
    Ok(out)
}

pub fn update_officer(
    conn: &mut DbConn,
    id: i64,
    f: &OfficerFields,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(officers::table.find(id))
        .set((f, officers::updated_at.eq(at)))
        .execute(conn)
}

/// Starts postings for many officers at once (new officers from an import).
pub fn open_postings(
    conn: &mut DbConn,
    rows: &[(i64, i64, String)],
    at: NaiveDateTime,
) -> QueryResult<()> {
    for chunk in rows.chunks(crate::db::batch_rows(conn)) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(officer_id, unit_id, post)| {
                (
                    officer_postings::officer_id.eq(*officer_id),
                    officer_postings::unit_id.eq(*unit_id),
                    officer_postings::post.eq(post),
                    officer_postings::started_at.eq(at),
                )
            })
            .collect();
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(officer_postings::table)
                .values(&values)
                .execute(c)?,
            DbConn::Postgres(c) => diesel::insert_into(officer_postings::table)
                .values(&values)
                .execute(c)?,
        };
    }
    Ok(())
}

/// Ends the officer's open posting and starts one at `unit_id`.
pub fn move_posting(
    conn: &mut DbConn,
    officer_id: i64,
    unit_id: i64,
    post: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        officer_postings::table
            .filter(officer_postings::officer_id.eq(officer_id))
            .filter(officer_postings::ended_at.is_null()),
    )
    .set(officer_postings::ended_at.eq(Some(at)))
    .execute(conn)?;
    diesel::insert_into(officer_postings::table)
        .values((
            officer_postings::officer_id.eq(officer_id),
            officer_postings::unit_id.eq(unit_id),
            officer_postings::post.eq(post),
            officer_postings::started_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn postings(conn: &mut DbConn, officer_id: i64) -> QueryResult<Vec<(Posting, String)>> {
    officer_postings::table
        .inner_join(units::table)
        .filter(officer_postings::officer_id.eq(officer_id))
        .order(officer_postings::started_at.desc())
        .then_order_by(officer_postings::id.desc())
        .select((Posting::as_select(), units::name))
        .load(conn)
}

pub fn save_photo(
    conn: &mut DbConn,
    officer_id: i64,
    content_type: &str,
    (width, height): (i32, i32),
    data: &[u8],
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(officer_photos::table.find(officer_id)).execute(conn)?;
    diesel::insert_into(officer_photos::table)
        .values((
            officer_photos::officer_id.eq(officer_id),
            officer_photos::content_type.eq(content_type),
            officer_photos::width.eq(width),
            officer_photos::height.eq(height),
            officer_photos::data.eq(data),
            officer_photos::uploaded_at.eq(at),
        ))
        .execute(conn)?;
    diesel::update(officers::table.find(officer_id))
        .set(officers::has_photo.eq(true))
        .execute(conn)?;
    Ok(())
}

pub fn photo(conn: &mut DbConn, officer_id: i64) -> QueryResult<Option<(String, Vec<u8>)>> {
    officer_photos::table
        .find(officer_id)
        .select((officer_photos::content_type, officer_photos::data))
        .first(conn)
        .optional()
}

/// What the roster list can be narrowed and ordered by.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct Search {
    /// Name prefix, or ID-number prefix when it starts with a digit.
    pub q: String,
    #[serde(deserialize_with = "empty_as_none")]
    pub unit_id: Option<i64>,
    /// Only the unit itself, not its sub-units.
    pub only_unit: bool,
    pub category: String,
    pub status: String,
    pub employment_type: String,
    /// Only people whose 人员性质 is not filled in or not classified yet (待确认).
    pub unclassified: bool,
    /// name | id_number | unit | updated
    pub sort: String,
    /// asc | desc
    pub dir: String,
    #[serde(deserialize_with = "empty_as_none")]
    #[param(minimum = 1, maximum = 100_000)]
    pub page: Option<i64>,
    #[serde(deserialize_with = "empty_as_none")]
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<i64>,
}

/// HTML forms send `unit_id=` for "none chosen": an empty value is no value.
pub fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("“{v}”不是整数"))),
    }
}

/// The resolved filter: path ranges already computed.
pub struct SearchFilter {
    pub name_range: Option<(String, String)>,
    pub id_prefix: Option<(String, String)>,
    pub unit_path: Option<(String, String)>,
    pub scope_path: Option<(String, String)>,
    pub only_unit: Option<i64>,
    pub officer_id: Option<i64>,
    pub category: Option<String>,
    pub status: Option<String>,
    pub employment_type: Option<String>,
    pub unclassified: bool,
}

/// Narrows a boxed query over `officers` (alone or joined with `units`) by the filter. A unit
/// subtree is a sub-select over the small units table, so counts walk one officers index.
macro_rules! narrow {
    ($q:expr, $f:expr, $subtree:ident) => {{
        let f: &SearchFilter = $f;
        let mut q = $q;
        if let Some((lo, hi)) = &f.name_range {
            q = q.filter(officers::name.ge(lo.clone())).filter(officers::name.lt(hi.clone()));
        }
        if let Some((lo, hi)) = &f.id_prefix {
            q = q.filter(officers::id_number.ge(lo.clone())).filter(officers::id_number.lt(hi.clone()));
        }
        for (lo, hi) in [&f.unit_path, &f.scope_path].into_iter().flatten() {
            q = narrow!(@$subtree q, lo, hi);
        }
        if let Some(u) = f.only_unit {
            q = q.filter(officers::unit_id.eq(u));
        }
        if let Some(id) = f.officer_id {
            q = q.filter(officers::id.eq(id));
        }
        if let Some(c) = &f.category {
            q = q.filter(officers::category.eq(c.clone()));
        }
        if let Some(s) = &f.status {
            q = q.filter(officers::status.eq(s.clone()));
        }
        if let Some(e) = &f.employment_type {
            q = q.filter(officers::employment_type.eq(e.clone()));
        }
        if f.unclassified {
            q = q.filter(officers::employment_type.ne_all(super::rules::EmploymentType::labels()));
        }
        q
    }};
    (@subselect $q:ident, $lo:ident, $hi:ident) => {{
        let subtree =
            units::table.select(units::id).filter(units::path.ge($lo.clone())).filter(units::path.lt($hi.clone()));
        $q.filter(officers::unit_id.eq_any(subtree))
    }};
    (@joined $q:ident, $lo:ident, $hi:ident) => {
        $q.filter(units::path.ge($lo.clone())).filter(units::path.lt($hi.clone()))
    };
}

pub fn count(conn: &mut DbConn, f: &SearchFilter) -> QueryResult<i64> {
    narrow!(officers::table.into_boxed::<MultiBackend>(), f, subselect)
        .count()
        .get_result(conn)
}

/// One page of officers with their unit names. `sort`: name | id_number | unit | updated.
pub fn page(
    conn: &mut DbConn,
    f: &SearchFilter,
    sort: &str,
    desc: bool,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<(Officer, String)>> {
    // the page joins units for their names: at most `limit` primary-key lookups
    let q = narrow!(
        officers::table
            .inner_join(units::table)
            .into_boxed::<MultiBackend>(),
        f,
        joined
    );
    let q = match (sort, desc) {
        ("id_number", false) => q.order(officers::id_number.asc()),
        ("id_number", true) => q.order(officers::id_number.desc()),
        // grouped by unit (in the order units were registered), by name within each
        ("unit", false) => q.order((officers::unit_id.asc(), officers::name.asc())),
        ("unit", true) => q.order((officers::unit_id.desc(), officers::name.asc())),
        ("updated", false) => q.order(officers::updated_at.asc()),
        ("updated", true) => q.order(officers::updated_at.desc()),
        (_, false) => q.order(officers::name.asc()),
        (_, true) => q.order(officers::name.desc()),
    };
    q.then_order_by(officers::id.asc())
        .offset(offset)
        .limit(limit)
        .select((Officer::as_select(), units::name))
        .load(conn)
}

/// Every officer: what an import compares its rows against.
pub fn all_officers(conn: &mut DbConn) -> QueryResult<Vec<Officer>> {
    officers::table.select(Officer::as_select()).load(conn)
}

/// Of these officers (id, `updated_at` when read), whether any was changed since.
pub fn any_changed_since(conn: &mut DbConn, seen: &[(i64, NaiveDateTime)]) -> QueryResult<bool> {
    for chunk in seen.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        let now: std::collections::HashMap<i64, NaiveDateTime> = officers::table
            .filter(officers::id.eq_any(&ids))
            .select((officers::id, officers::updated_at))
            .load::<(i64, NaiveDateTime)>(conn)?
            .into_iter()
            .collect();
        if chunk.iter().any(|(id, at)| now.get(id) != Some(at)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether any of these ID numbers is in the roster.
pub fn any_id_number_taken(conn: &mut DbConn, id_numbers: &[&str]) -> QueryResult<bool> {
    for chunk in id_numbers.chunks(500) {
        let found: i64 = officers::table
            .filter(officers::id_number.eq_any(chunk))
            .count()
            .get_result(conn)?;
        if found > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether all these units still exist and are active.
pub fn all_units_active(conn: &mut DbConn, ids: &[i64]) -> QueryResult<bool> {
    for chunk in ids.chunks(500) {
        let active: i64 = units::table
            .filter(units::id.eq_any(chunk))
            .filter(units::active.eq(true))
            .count()
            .get_result(conn)?;
        if active != chunk.len() as i64 {
            return Ok(false);
        }
    }
    Ok(true)
}
