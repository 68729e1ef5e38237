//! The cards' queries: which certificates a print run takes, and what each card needs.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    cert_reviews as cr, certificates as ct, officer_photos as ph, units as un,
};

/// Valid certificates of units under `path` (all when None), in unit and number order: ids.
pub fn valid_ids_under(
    conn: &mut DbConn,
    path: Option<&str>,
    valid: &str,
) -> QueryResult<Vec<i64>> {
    let mut q = ct::table
        .inner_join(un::table.on(un::id.eq(ct::unit_id)))
        .filter(ct::state.eq(valid))
        .select(ct::id)
        .order((un::path, ct::number))
        .into_boxed();
    if let Some(p) = path {
        q = q.filter(un::path.like(format!("{p}%")));
    }
    q.load(conn)
}

/// Valid certificates issued from an exam batch's results, under `path` (all when None): ids.
pub fn valid_ids_of_batch(
    conn: &mut DbConn,
    batch: i64,
    path: Option<&str>,
    valid: &str,
) -> QueryResult<Vec<i64>> {
    let mut q = ct::table
        .inner_join(un::table.on(un::id.eq(ct::unit_id)))
        .filter(ct::batch_id.eq(batch))
        .filter(ct::state.eq(valid))
        .select(ct::id)
        .order((un::path, ct::number))
        .into_boxed();
    if let Some(p) = path {
        q = q.filter(un::path.like(format!("{p}%")));
    }
    q.load(conn)
}

/// Every decided review of these certificates: (certificate, year, result), oldest first.
pub fn reviews(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, i32, String)>> {
    cr::table
        .filter(cr::certificate_id.eq_any(ids))
        .filter(cr::result.ne(""))
        .select((cr::certificate_id, cr::year, cr::result))
        .order((cr::certificate_id, cr::year))
        .load(conn)
}

/// The photos of these officers: (officer, bytes).
pub fn photos(conn: &mut DbConn, officer_ids: &[i64]) -> QueryResult<Vec<(i64, Vec<u8>)>> {
    ph::table
        .filter(ph::officer_id.eq_any(officer_ids))
        .select((ph::officer_id, ph::data))
        .load(conn)
}

/// The unit paths of these certificates: (certificate, path).
pub fn unit_paths(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    ct::table
        .inner_join(un::table.on(un::id.eq(ct::unit_id)))
        .filter(ct::id.eq_any(ids))
        .select((ct::id, un::path))
        .load(conn)
}
