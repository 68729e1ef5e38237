//! Audit queries.

use crate::db::DbConn;
use crate::db::schema::audit_log;
use diesel::prelude::*;
use serde::Serialize;

/// One audit record, as written and as read back (the seq is assigned by the chain, not the DB).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct Entry {
    pub seq: i64,
    pub at: chrono::NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub ip: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub summary: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

pub fn insert_entries(conn: &mut DbConn, rows: &[Entry]) -> QueryResult<usize> {
    // Multi-row inserts don't compile on the multi-backend enum: the same statement per backend.
    match conn {
        DbConn::Sqlite(c) => diesel::insert_into(audit_log::table)
            .values(rows)
            .execute(c),
        DbConn::Postgres(c) => diesel::insert_into(audit_log::table)
            .values(rows)
            .execute(c),
    }
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Filter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Show entries up to and including this sequence number (for paging backwards).
    pub before_seq: Option<i64>,
}

pub fn list(conn: &mut DbConn, f: &Filter, limit: i64) -> QueryResult<Vec<Entry>> {
    let mut q = audit_log::table.into_boxed();
    if let Some(t) = f.entity_type.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::entity_type.eq(t.to_string()));
    }
    if let Some(id) = f.entity_id.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::entity_id.eq(id.to_string()));
    }
    if let Some(a) = f.actor.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::actor.eq(a.to_string()));
    }
    if let Some(a) = f.action.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::action.eq(a.to_string()));
    }
    if let Some(s) = f.before_seq {
        q = q.filter(audit_log::seq.le(s));
    }
    q.order(audit_log::seq.desc())
        .limit(limit)
        .select(Entry::as_select())
        .load(conn)
}
