//! Uploaded sheets waiting between the import wizard's steps. They live in the database (any
//! replica serves the next step), a few per user, and not for long.

use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::db::schema::import_jobs;
use crate::error::{Error, Result};
use diesel::prelude::*;

/// Unconfirmed uploads are dropped after this long.
pub const UPLOAD_TTL_MINUTES: i64 = 120;
/// At most this many unconfirmed uploads per user; a new one replaces the oldest.
pub const MAX_PENDING_PER_USER: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStatus {
    Pending,
    Applied,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Pending => "pending",
            ImportStatus::Applied => "applied",
        }
    }
    fn parse(s: &str) -> ImportStatus {
        if s == "applied" {
            ImportStatus::Applied
        } else {
            ImportStatus::Pending
        }
    }
}

pub struct Upload {
    pub filename: String,
    pub data: Vec<u8>,
    pub status: ImportStatus,
}

fn user_id(grant: &Grant) -> Result<i64> {
    grant
        .actor()
        .user_id
        .ok_or_else(|| Error::Forbidden("只有登录的用户可以上传".into()))
}

/// Keeps an uploaded sheet for the next step; returns its id. Expired uploads (anyone's) and
/// this user's uploads beyond the cap are removed first.
pub fn stash(conn: &mut DbConn, grant: &Grant, filename: &str, data: &[u8]) -> Result<i64> {
    grant.require(Capability::WriteRoster)?;
    let user = user_id(grant)?;
    let now = crate::db::now();
    let filename: String = filename.chars().take(200).collect();
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let pending =
            || import_jobs::table.filter(import_jobs::status.eq(ImportStatus::Pending.as_str()));
        diesel::delete(pending().filter(
            import_jobs::created_at.lt(now - chrono::TimeDelta::minutes(UPLOAD_TTL_MINUTES)),
        ))
        .execute(conn)?;
        let mine: Vec<i64> = pending()
            .filter(import_jobs::user_id.eq(user))
            .order(import_jobs::created_at.desc())
            .select(import_jobs::id)
            .load(conn)?;
        let keep = (MAX_PENDING_PER_USER - 1).max(0) as usize;
        if mine.len() > keep {
            diesel::delete(import_jobs::table.filter(import_jobs::id.eq_any(&mine[keep..])))
                .execute(conn)?;
        }
        let id: i64 = diesel::insert_into(import_jobs::table)
            .values((
                import_jobs::user_id.eq(user),
                import_jobs::filename.eq(&filename),
                import_jobs::data.eq(data),
                import_jobs::status.eq(ImportStatus::Pending.as_str()),
                import_jobs::created_at.eq(now),
            ))
            .returning(import_jobs::id)
            .get_result(conn)?;
        rec.record(
            conn,
            Change::new(
                "import.upload",
                "import",
                id,
                format!(
                    "上传导入文件“{filename}”（{} KB）",
                    data.len().div_ceil(1024)
                ),
            )
            .after(&serde_json::json!({
                "filename": filename,
                "bytes": data.len(),
                "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(data)),
            })),
        )?;
        Ok(id)
    })
}

/// The caller's own upload, while it has not expired.
pub fn stashed(conn: &mut DbConn, grant: &Grant, id: i64) -> Result<Upload> {
    grant.require(Capability::WriteRoster)?;
    let user = user_id(grant)?;
    let since = crate::db::now() - chrono::TimeDelta::minutes(UPLOAD_TTL_MINUTES);
    let (filename, data, status, created_at): (String, Vec<u8>, String, chrono::NaiveDateTime) =
        import_jobs::table
            .find(id)
            .filter(import_jobs::user_id.eq(user))
            .select((
                import_jobs::filename,
                import_jobs::data,
                import_jobs::status,
                import_jobs::created_at,
            ))
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::NotFound("导入任务不存在或已过期，请重新上传".into()))?;
    let status = ImportStatus::parse(&status);
    if status == ImportStatus::Pending && created_at < since {
        return Err(Error::NotFound("导入任务已过期，请重新上传".into()));
    }
    Ok(Upload {
        filename,
        data,
        status,
    })
}

/// The caller's own upload that has not been imported yet (an imported one is a conflict).
pub fn pending(conn: &mut DbConn, grant: &Grant, id: i64) -> Result<Upload> {
    let up = stashed(conn, grant, id)?;
    if up.status == ImportStatus::Applied {
        return Err(Error::Conflict {
            message: "这个文件已经导入过了".into(),
            fields: Default::default(),
        });
    }
    Ok(up)
}

/// Marks an upload as imported and lets go of its bytes (the audit log keeps its digest).
pub fn mark_applied(conn: &mut DbConn, id: i64, summary: &str) -> Result<()> {
    diesel::update(import_jobs::table.find(id))
        .set((
            import_jobs::status.eq(ImportStatus::Applied.as_str()),
            import_jobs::data.eq(Vec::<u8>::new()),
            import_jobs::summary.eq(summary),
            import_jobs::finished_at.eq(Some(crate::db::now())),
        ))
        .execute(conn)?;
    Ok(())
}
