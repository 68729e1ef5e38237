//! The append-only, hash-chained record of every change.
//!
//! Every audited write runs inside [`transaction`]: its first statement claims the chain's head
//! row (SQLite's write lock, PostgreSQL's row lock), so entries are chained in commit order and a
//! change and its record commit together or not at all.
//!
//! The head is signed now and then with a key kept outside the database ([`checkpoint`]), so a
//! chain rewritten or truncated by someone who can write the database is found by [`verify`].

pub mod db;
pub mod integrity;
pub mod rules;

pub use db::Checkpoint;
pub use integrity::{Verification, checkpoint, latest_checkpoint, verify};

use crate::db::DbConn;
use crate::db::schema::audit_head;
use crate::error::Result;
use diesel::prelude::*;
use serde::Serialize;

/// Who is acting, and from where.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    pub ip: String,
}

impl Actor {
    /// The command line, run by whoever has the server's shell.
    pub fn system(what: &str) -> Actor {
        Actor {
            user_id: None,
            name: format!("系统（{what}）"),
            ip: "本机".into(),
        }
    }
}

/// One change about to be recorded.
#[derive(Debug, Clone)]
pub struct Change {
    pub action: &'static str,
    pub entity_type: &'static str,
    pub entity_id: String,
    pub summary: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Change {
    pub fn new(
        action: &'static str,
        entity_type: &'static str,
        entity_id: impl ToString,
        summary: impl Into<String>,
    ) -> Self {
        Change {
            action,
            entity_type,
            entity_id: entity_id.to_string(),
            summary: summary.into(),
            before: None,
            after: None,
        }
    }
    pub fn before<T: Serialize>(mut self, v: &T) -> Self {
        self.before = serde_json::to_value(v).ok();
        self
    }
    pub fn after<T: Serialize>(mut self, v: &T) -> Self {
        self.after = serde_json::to_value(v).ok();
        self
    }
}

/// Collects a transaction's entries, chaining each to the one before.
pub struct Recorder {
    actor: Actor,
    at: chrono::NaiveDateTime,
    seq: i64,
    hash: String,
    pending: Vec<db::Entry>,
}

impl Recorder {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn record(&mut self, conn: &mut DbConn, change: Change) -> Result<()> {
        let entry = rules::chain(
            self.seq + 1,
            self.at,
            &self.actor,
            change,
            std::mem::take(&mut self.hash),
        );
        self.seq = entry.seq;
        self.hash = entry.hash.clone();
        self.pending.push(entry);
        if self.pending.len() >= crate::db::batch_rows(conn) {
            self.flush(conn)?;
        }
        Ok(())
    }

    fn flush(&mut self, conn: &mut DbConn) -> Result<()> {
        if !self.pending.is_empty() {
            db::insert_entries(conn, &self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }
}

/// Runs `f` in one transaction together with the audit entries it records.
pub fn transaction<T>(
    conn: &mut DbConn,
    actor: &Actor,
    f: impl FnOnce(&mut DbConn, &mut Recorder) -> Result<T>,
) -> Result<T> {
    conn.transaction(|conn| {
        // A write first: on SQLite this takes the write lock before any read (so the busy
        // timeout applies instead of a snapshot conflict); on PostgreSQL it locks the head row.
        diesel::update(audit_head::table.find(1))
            .set(audit_head::seq.eq(audit_head::seq))
            .execute(conn)?;
        let (seq, hash): (i64, String) = audit_head::table
            .find(1)
            .select((audit_head::seq, audit_head::hash))
            .first(conn)?;
        let mut rec = Recorder {
            actor: actor.clone(),
            at: crate::db::now(),
            seq,
            hash,
            pending: Vec::new(),
        };
        let out = f(conn, &mut rec)?;
        rec.flush(conn)?;
        diesel::update(audit_head::table.find(1))
            .set((audit_head::seq.eq(rec.seq), audit_head::hash.eq(&rec.hash)))
            .execute(conn)?;
        Ok(out)
    })
}
