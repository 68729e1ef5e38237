//! The cards' queries: which certificates a print run takes, and what each card needs.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{certificates as ct, officer_photos as ph, units as un};

/// Valid certificates of units under `path` (all when None), and issued from exam batch
/// `batch`'s results if one is given: ids, in unit and number order.
pub fn valid_ids(
    conn: &mut DbConn,
    path: Option<&str>,
    batch: Option<i64>,
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
    if let Some(b) = batch {
        q = q.filter(ct::batch_id.eq(b));
    }
    q.load(conn)
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
