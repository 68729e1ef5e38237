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
    #[error("表单已过期或来源不明，请刷新页面后重试")]
    Csrf,
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("数据库暂时不可用")]
    Unavailable(#[source] diesel::r2d2::PoolError),
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
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Error {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match &e {
            D::NotFound => Error::NotFound("记录不存在".into()),
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // SQLite names the column ("UNIQUE constraint failed: officers.id_number"),
                // PostgreSQL the constraint ("officers_id_number_key"): both contain the column.
                let text = format!(
                    "{} {}",
                    info.message(),
                    info.constraint_name().unwrap_or("")
                );
                let (field, message) = if text.contains("id_number") {
                    ("id_number", "该身份证号已在名录库中")
                } else if text.contains("username") {
                    ("username", "该用户名已被使用")
                } else if text.contains("code") {
                    ("code", "该单位代码已被使用")
                } else {
                    ("", "与已有记录重复")
                };
                Error::conflict(field, message)
            }
            D::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Error::Conflict {
                message: "关联的记录不存在或仍被引用".into(),
                fields: FieldErrors::new(),
            },
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
