//! The one domain error type. Domain modules return it; `web::error` maps it to HTTP once.

use std::collections::BTreeMap;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Field name → what is wrong with it (in Chinese, shown to the user).
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input breaks a rule; `fields` says which field and why.
    #[error("{message}")]
    Invalid {
        message: String,
        fields: FieldErrors,
    },
    /// The request itself is malformed (unreadable file, bad query parameter).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// The change collides with existing data (a duplicate ID number, a unit code in use).
    #[error("{message}")]
    Conflict {
        message: String,
        fields: FieldErrors,
    },
    #[error("请先登录")]
    Unauthenticated,
    /// A login with a wrong user name or password (which one is not said).
    #[error("用户名或密码错误")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    /// Credentials other than a password (an exam ticket and access code) don't match.
    #[error("{0}")]
    WrongCredentials(String),
    /// A token that no longer works: expired, or replaced by a newer login elsewhere.
    #[error("{0}")]
    SessionEnded(String),
    /// The thing is closed for this change: the exam's time is up, the paper handed in.
    #[error("{0}")]
    Closed(String),
    #[error("表单已过期或来源不明，请刷新页面后重试")]
    Csrf,
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    TooLarge(String),
    /// Too many attempts; the client may try again after `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error("数据库暂时不可用")]
    Unavailable(#[source] diesel::r2d2::PoolError),
    /// The database is busy with another write (a large import): try again shortly.
    #[error("系统正忙（其他人正在写入大量数据），请稍后重试")]
    Busy(#[source] diesel::result::Error),
    #[error("数据库错误")]
    Database(#[source] diesel::result::Error),
    #[error("内部错误")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        let message = message.into();
        let mut fields = FieldErrors::new();
        fields.insert(field.to_string(), message.clone());
        Error::Invalid { message, fields }
    }

    pub fn invalid_fields(fields: FieldErrors) -> Error {
        let message = match fields.len() {
            0 => "输入有误".to_string(),
            1 => fields.values().next().cloned().unwrap_or_default(),
            n => format!(
                "有 {n} 处错误：{}",
                fields.values().cloned().collect::<Vec<_>>().join("；")
            ),
        };
        Error::Invalid { message, fields }
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Error {
        let message = message.into();
        let mut fields = FieldErrors::new();
        fields.insert(field.to_string(), message.clone());
        Error::Conflict { message, fields }
    }

    pub fn not_found(what: &str) -> Error {
        Error::NotFound(format!("{what}不存在"))
    }

    pub fn too_many(message: impl Into<String>, retry_after: u64) -> Error {
        Error::TooManyRequests {
            message: message.into(),
            retry_after: retry_after.max(1),
        }
    }

    /// Seconds after which a retry may succeed (answered as `Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::TooManyRequests { retry_after, .. } => Some(*retry_after),
            Error::Unavailable(_) | Error::Busy(_) => Some(5),
            _ => None,
        }
    }
}

/// Whether `e` is a unique violation of `table.column` — SQLite names the column
/// ("UNIQUE constraint failed: officers.id_number"), PostgreSQL the constraint
/// ("officers_id_number_key").
pub fn is_unique_violation(e: &diesel::result::Error, table: &str, column: &str) -> bool {
    use diesel::result::{DatabaseErrorKind, Error as D};
    match e {
        D::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            info.constraint_name() == Some(&format!("{table}_{column}_key"))
                || info
                    .message()
                    .split([':', ',', ' '])
                    .any(|part| part == format!("{table}.{column}"))
        }
        _ => false,
    }
}

/// Maps a unique violation of `table.column` to a conflict on `field` (at the call site that
/// knows what the constraint means); any other error converts as usual.
pub fn on_unique(
    table: &'static str,
    column: &'static str,
    field: &'static str,
    message: impl Into<String>,
) -> impl FnOnce(diesel::result::Error) -> Error {
    let message = message.into();
    move |e| {
        if is_unique_violation(&e, table, column) {
            Error::conflict(field, message)
        } else {
            Error::from(e)
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Error {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match &e {
            D::NotFound => Error::NotFound("记录不存在".into()),
            // which field collided is said at the call site (`on_unique`); here only that
            // something did
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Error::Conflict {
                message: "与已有记录重复（可能刚被其他人添加），请刷新后重试".into(),
                fields: FieldErrors::new(),
            },
            D::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Error::Conflict {
                message: "关联的记录不存在或仍被引用".into(),
                fields: FieldErrors::new(),
            },
            D::DatabaseError(kind, info) if is_busy(kind, info.message()) => Error::Busy(e),
            // PostgreSQL refuses text with a NUL character (SQLite stores it): only input can
            // carry one, so it is the request's fault, wherever the text was going
            D::DatabaseError(_, info) if is_unstorable_text(info.message()) => {
                Error::BadRequest("输入含有无法保存的字符（NUL 空字符），请删除后重试".into())
            }
            _ => Error::Database(e),
        }
    }
}

impl From<diesel::r2d2::PoolError> for Error {
    fn from(e: diesel::r2d2::PoolError) -> Error {
        Error::Unavailable(e)
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        Error::Internal(e)
    }
}

/// PostgreSQL's answer to a NUL character in text (SQLSTATE 22021).
fn is_unstorable_text(message: &str) -> bool {
    message.starts_with("invalid byte sequence for encoding")
}

/// SQLite's "database is locked" after the busy timeout, PostgreSQL's lock timeout (55P03) or
/// serialization failure: another writer holds the lock; the request may simply be retried.
fn is_busy(kind: &diesel::result::DatabaseErrorKind, message: &str) -> bool {
    use diesel::result::DatabaseErrorKind as K;
    matches!(kind, K::SerializationFailure)
        || message.contains("database is locked")
        || message.contains("database table is locked")
        || message.contains("lock timeout")
        || message.contains("canceling statement due to lock timeout")
}
