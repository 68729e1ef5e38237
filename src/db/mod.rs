//! The connection over both backends, the pool, and the embedded migrations.
//!
//! The backend is chosen from the URL scheme, never by trial: a mistyped PostgreSQL URL is an
//! error, not a silently created SQLite file.

/// Printed by `diesel print-schema` from the PostgreSQL migrations (`.ci/schema-check` keeps it
/// so). One schema serves both backends: SQLite INTEGER columns read as BigInt.
pub mod schema;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::time::Duration;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// A parsed database location.
#[derive(Debug, Clone)]
pub struct DbUrl {
    pub backend: Backend,
    /// What the driver is given: a file path for SQLite, the URL for PostgreSQL.
    pub target: String,
}

impl DbUrl {
    pub fn parse(url: &str) -> anyhow::Result<DbUrl> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl {
                backend: Backend::Postgres,
                target: url.to_string(),
            });
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            return Ok(DbUrl {
                backend: Backend::Sqlite,
                target: path.to_string(),
            });
        }
        if url.contains("://") {
            anyhow::bail!("不支持的数据库地址：{url}（应以 postgres:// 或 sqlite:// 开头）");
        }
        // a bare path is taken for a SQLite file only when that file exists: a mistyped URL
        // ("postgres//host/db") must not quietly become a new, empty database
        if !std::path::Path::new(url).is_file() {
            anyhow::bail!(
                "数据库地址“{url}”无法识别：PostgreSQL 应写作 postgres://用户@主机/库名，SQLite 应写作 sqlite://路径（不带前缀时只接受已存在的 SQLite 文件）"
            );
        }
        Ok(DbUrl {
            backend: Backend::Sqlite,
            target: url.to_string(),
        })
    }
}

pub type Pool = r2d2::Pool<ConnManager>;
pub type PooledConn = r2d2::PooledConnection<ConnManager>;

#[derive(Debug)]
pub struct ConnManager {
    url: DbUrl,
}

impl ConnManager {
    pub fn new(url: DbUrl) -> Self {
        ConnManager { url }
    }
}

/// Opens one connection of the URL's backend, with SQLite's pragmas set.
pub fn connect(url: &DbUrl) -> ConnectionResult<DbConn> {
    match url.backend {
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(&url.target)?;
            // a writer waiting behind a long transaction gives up after 10 s and is answered
            // 503 with Retry-After, like SQLite's busy timeout
            conn.batch_execute("SET lock_timeout = '10s'")
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConn::Postgres(conn))
        }
        Backend::Sqlite => {
            let mut conn = diesel::SqliteConnection::establish(&url.target)?;
            // busy_timeout first: switching to WAL takes a lock that other new connections wait
            // for. FULL: a commit is on disk before the answer goes out, even on power loss.
            conn.batch_execute(
                "PRAGMA busy_timeout = 10000;
                 PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA cache_size = -200000;
                 PRAGMA temp_store = MEMORY;",
            )
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

impl ManageConnection for ConnManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        connect(&self.url).map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        use diesel::r2d2::R2D2Connection;
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.is_broken()
    }
}

/// Creates the SQLite directory if needed, builds the pool and applies pending migrations.
pub fn open(database_url: &str, pool_size: u32) -> anyhow::Result<(Pool, Backend)> {
    let url = DbUrl::parse(database_url)?;
    if url.backend == Backend::Sqlite
        && let Some(dir) = std::path::Path::new(&url.target).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("无法创建数据目录 {}：{e}", dir.display()))?;
    }
    let backend = url.backend;
    let mut first =
        connect(&url).map_err(|e| anyhow::anyhow!("无法连接{}数据库：{e}", backend.name()))?;
    run_migrations(&mut first)?;
    drop(first);
    let pool = r2d2::Pool::builder()
        .max_size(pool_size)
        .min_idle(Some(pool_size.min(2)))
        .connection_timeout(Duration::from_secs(10))
        // a broken connection shows itself on use (and `has_broken`); a ping per checkout
        // would double the round trips of every request
        .test_on_check_out(false)
        .build(ConnManager::new(url))
        .map_err(|e| anyhow::anyhow!("无法建立数据库连接池：{e}"))?;
    Ok((pool, backend))
}

/// Applies the pending migrations of this connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<usize> {
    let applied = match conn {
        DbConn::Postgres(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    applied.map_err(|e| anyhow::anyhow!("数据库迁移失败：{e}"))
}

/// Refreshes the planner's statistics (after a bulk load the old ones mislead it).
pub fn analyze(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => {
            c.batch_execute("ANALYZE officers; ANALYZE units; ANALYZE officer_postings;")
        }
        DbConn::Sqlite(c) => c.batch_execute("PRAGMA optimize;"),
    }
}

/// Rows per multi-row INSERT in bulk writes. SQLite's statement-journal release grows with the
/// statement (measured on a 73,450-row import: 100 rows beat 500 and 2,000). On PostgreSQL
/// 1,000-row statements were slower than 100 (write phase 17–18 s against 14 s).
pub fn batch_rows(_conn: &DbConn) -> usize {
    100
}

pub fn backend_of(conn: &DbConn) -> Backend {
    match conn {
        DbConn::Postgres(_) => Backend::Postgres,
        DbConn::Sqlite(_) => Backend::Sqlite,
    }
}

/// Current UTC time, truncated to microseconds (what PostgreSQL keeps), so a value written and
/// read back compares equal on both backends.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    let t = chrono::Utc::now().naive_utc();
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// The exclusive upper bound of all strings that start with `prefix` (in byte/code-point order,
/// which is what SQLite's BINARY and PostgreSQL's "C" collation use): the prefix with its last
/// character incremented. `None` when no such bound exists.
pub fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bound_increments_last_char() {
        assert_eq!(prefix_upper_bound("张").as_deref(), Some("弡"));
        assert_eq!(prefix_upper_bound("/1/5/").as_deref(), Some("/1/50"));
        assert!("张三" < "弡" && "张三" >= "张");
    }

    #[test]
    fn url_scheme_decides_backend() {
        assert_eq!(
            DbUrl::parse("postgres://u@h/db").unwrap().backend,
            Backend::Postgres
        );
        assert_eq!(
            DbUrl::parse("sqlite://data/z.db").unwrap().target,
            "data/z.db"
        );
        assert!(DbUrl::parse("postgress://u@h/db").is_err());
        // a bare path only when the file is there
        let err = DbUrl::parse("postgres//u@h/db").unwrap_err().to_string();
        assert!(err.contains("无法识别"), "{err}");
        let file = std::env::temp_dir().join(format!("zhifa-url-{}.db", std::process::id()));
        std::fs::write(&file, b"").unwrap();
        assert_eq!(
            DbUrl::parse(file.to_str().unwrap()).unwrap().backend,
            Backend::Sqlite
        );
        std::fs::remove_file(&file).unwrap();
    }
}
