//! Audit queries.

use crate::db::DbConn;
use crate::db::schema::{audit_checkpoints, audit_head, audit_log};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One audit record, as written and as read back (the seq is assigned by the chain, not the DB).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
pub struct Entry {
    pub seq: i64,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
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

#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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

/// The chain's head as recorded: (seq, hash).
pub fn head(conn: &mut DbConn) -> QueryResult<(i64, String)> {
    audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)
}

/// Up to `limit` entries from `from_seq` on, in order.
pub fn entries_from(conn: &mut DbConn, from_seq: i64, limit: i64) -> QueryResult<Vec<Entry>> {
    audit_log::table
        .filter(audit_log::seq.ge(from_seq))
        .order(audit_log::seq.asc())
        .limit(limit)
        .select(Entry::as_select())
        .load(conn)
}

/// (seq, prev_hash, hash) of the entries from `from_seq` on: how they link, without their content.
pub fn links_from(
    conn: &mut DbConn,
    from_seq: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, String, String)>> {
    audit_log::table
        .filter(audit_log::seq.ge(from_seq))
        .order(audit_log::seq.asc())
        .limit(limit)
        .select((audit_log::seq, audit_log::prev_hash, audit_log::hash))
        .load(conn)
}

/// The stored hashes of the entries with these sequence numbers (those that exist).
pub fn hashes_at(conn: &mut DbConn, seqs: &[i64]) -> QueryResult<HashMap<i64, String>> {
    if seqs.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = audit_log::table
        .filter(audit_log::seq.eq_any(seqs))
        .select((audit_log::seq, audit_log::hash))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// A signed head of the chain: the entry `seq` had hash `hash` when `key_id` signed it.
/// Stored in `audit_checkpoints`, and one JSON line each in the witness file.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize, Deserialize,
)]
#[diesel(table_name = audit_checkpoints)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub signed_at: chrono::NaiveDateTime,
    pub key_id: String,
    /// The Ed25519 signature of `rules::checkpoint_message`, hex.
    pub signature: String,
}

pub fn insert_checkpoint(conn: &mut DbConn, c: &Checkpoint) -> QueryResult<usize> {
    diesel::insert_into(audit_checkpoints::table)
        .values(c)
        .execute(conn)
}

/// The checkpoint furthest along the chain (of equals, the last written).
pub fn latest_checkpoint(conn: &mut DbConn) -> QueryResult<Option<Checkpoint>> {
    audit_checkpoints::table
        .order((audit_checkpoints::seq.desc(), audit_checkpoints::id.desc()))
        .select(Checkpoint::as_select())
        .first(conn)
        .optional()
}

/// Up to `limit` checkpoints after the one with id `after_id`, in the order they were written.
pub fn checkpoints_after(
    conn: &mut DbConn,
    after_id: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, Checkpoint)>> {
    audit_checkpoints::table
        .filter(audit_checkpoints::id.gt(after_id))
        .order(audit_checkpoints::id.asc())
        .limit(limit)
        .select((audit_checkpoints::id, Checkpoint::as_select()))
        .load(conn)
}

/// A trigger on one of the audit tables, as the database describes it.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub name: String,
    pub table: String,
    pub enabled: bool,
    /// A normalised description to compare with the one the migrations create: SQLite's
    /// statement; PostgreSQL's table, events, condition, function and function body.
    pub definition: String,
}

#[derive(QueryableByName)]
struct SqliteTrigger {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    tbl_name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    sql: Option<String>,
}

#[derive(QueryableByName)]
struct PgTrigger {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    enabled: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    kind: i32,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    conditional: bool,
    #[diesel(sql_type = diesel::sql_types::Text)]
    function: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    body: String,
}

/// Collapses runs of white space to one space.
pub fn normalise(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The triggers on `audit_log` and `audit_checkpoints`.
pub fn audit_triggers(conn: &mut DbConn) -> QueryResult<Vec<Trigger>> {
    match conn {
        DbConn::Sqlite(c) => Ok(diesel::sql_query(
            "SELECT name, tbl_name, sql FROM sqlite_master \
             WHERE type = 'trigger' AND tbl_name IN ('audit_log', 'audit_checkpoints')",
        )
        .load::<SqliteTrigger>(c)?
        .into_iter()
        .map(|t| Trigger {
            name: t.name,
            table: t.tbl_name,
            enabled: true,
            definition: normalise(t.sql.as_deref().unwrap_or("")),
        })
        .collect()),
        DbConn::Postgres(c) => Ok(diesel::sql_query(
            "SELECT t.tgname::text AS name, c.relname::text AS table_name, \
                    t.tgenabled::text AS enabled, t.tgtype::int4 AS kind, \
                    (t.tgqual IS NOT NULL) AS conditional, p.proname::text AS function, \
                    p.prosrc AS body \
             FROM pg_trigger t \
             JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_proc p ON p.oid = t.tgfoid \
             WHERE NOT t.tgisinternal AND pg_table_is_visible(c.oid) \
               AND c.relname IN ('audit_log', 'audit_checkpoints')",
        )
        .load::<PgTrigger>(c)?
        .into_iter()
        .map(|t| Trigger {
            name: t.name,
            // 'O' fires in ordinary sessions, 'A' always; 'D' is disabled, 'R' only on replicas
            enabled: t.enabled == "O" || t.enabled == "A",
            definition: format!(
                "{} type={}{} {}(): {}",
                t.table_name,
                t.kind,
                if t.conditional { " when" } else { "" },
                t.function,
                normalise(&t.body)
            ),
            table: t.table_name,
        })
        .collect()),
    }
}
