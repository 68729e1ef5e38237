//! The background job runner: periodic jobs that must run on exactly one replica at a time.
//!
//! Each job has a lease row in `job_leases`. A replica runs a job only while it holds the lease:
//! it takes a lease that is free or expired (or renews its own) with one conditional UPDATE, so
//! two replicas never both win; if the holder dies, its lease expires and another replica takes
//! over at its next tick. Every run's outcome is kept on the row (last start, finish, result).
//! Exams use it to close attempts at their deadlines and grade them; certificates will use it for
//! expiry and annual reviews.

pub mod work;

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::db::schema::job_leases as jl;
use crate::error::Result;
use crate::web::AppState;

/// One periodic job.
pub struct Job {
    pub name: &'static str,
    /// What it does, for the status page.
    pub label: &'static str,
    pub every: Duration,
    /// Runs on the blocking pool; returns a short account of what it did.
    pub run: fn(&mut DbConn, &AppState) -> Result<String>,
}

/// The jobs of this build.
pub fn all() -> Vec<Job> {
    vec![
        Job {
            name: "exam.close",
            label: "考场：记录开考、到时收卷并评分",
            every: Duration::from_secs(5),
            run: |c, s| {
                let started = crate::exams::record_starts(c)?;
                let closed = crate::exams::close_all_expired(c, &s.papers)?;
                Ok(format!("记录开考 {started} 人，到时收卷 {closed} 份"))
            },
        },
        Job {
            name: "cert.expire",
            label: "执法证：超过有效期的自动失效",
            every: Duration::from_secs(60),
            run: |c, _| {
                let n = crate::certs::expire_due(c, crate::db::now().date())?;
                Ok(format!("到期失效 {n} 张"))
            },
        },
        Job {
            name: "work",
            label: "长任务：批量核发、年审、清理（断点续做）",
            every: Duration::from_secs(2),
            run: |c, s| work::run_pending(c, &s.certs, holder()),
        },
    ]
}

/// How long a lease lasts without renewal: a run longer than this could overlap another
/// replica's, so every job does a bounded amount of work per run (the exam closer at most 500
/// attempts, a few seconds) and leaves the rest to its next tick. Replicas' clocks must agree
/// (NTP) to well within this.
pub const LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(120);

/// Takes (or renews) the lease of `name` for `holder` until `now + LEASE`. True when held.
pub fn try_lease(
    conn: &mut DbConn,
    name: &str,
    holder: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let until = now + LEASE;
    let taken = diesel::update(
        jl::table
            .filter(jl::name.eq(name))
            .filter(jl::holder.eq(holder).or(jl::expires_at.lt(now))),
    )
    .set((jl::holder.eq(holder), jl::expires_at.eq(until)))
    .execute(conn)?;
    if taken == 1 {
        return Ok(true);
    }
    // Held by another replica: don't even try to insert (a primary-key error every tick fills
    // the database's log).
    let exists: i64 = jl::table
        .filter(jl::name.eq(name))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    // No row yet: the first replica to insert it holds it (the others hit the primary key).
    match diesel::insert_into(jl::table)
        .values((
            jl::name.eq(name),
            jl::holder.eq(holder),
            jl::expires_at.eq(until),
        ))
        .execute(conn)
    {
        Ok(n) => Ok(n == 1),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

fn record(
    conn: &mut DbConn,
    name: &str,
    holder: &str,
    started: NaiveDateTime,
    outcome: &Result<String>,
) -> QueryResult<usize> {
    let (ok, text) = match outcome {
        Ok(t) => (true, t.clone()),
        Err(e) => (false, format!("失败：{e}")),
    };
    diesel::update(
        jl::table
            .filter(jl::name.eq(name))
            .filter(jl::holder.eq(holder)),
    )
    .set((
        jl::last_started_at.eq(started),
        jl::last_finished_at.eq(crate::db::now()),
        jl::last_result.eq(text),
        jl::last_ok.eq(ok),
        jl::runs.eq(jl::runs + 1),
    ))
    .execute(conn)
}

/// Runs `job` once if this replica holds (or can take) its lease; `None` when another holds it.
pub fn run_once(
    conn: &mut DbConn,
    state: &AppState,
    job: &Job,
    holder: &str,
) -> Result<Option<String>> {
    let now = crate::db::now();
    if !try_lease(conn, job.name, holder, now)? {
        return Ok(None);
    }
    let outcome = (job.run)(conn, state);
    record(conn, job.name, holder, now, &outcome)?;
    outcome.map(Some)
}

/// This process's name as a lease holder.
pub fn holder() -> &'static str {
    static HOLDER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOLDER.get_or_init(|| {
        format!(
            "{}-{}-{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "zhifa".into()),
            std::process::id(),
            &crate::auth::rules::new_token()[..8]
        )
    })
}

/// Starts every job on the caller's tokio runtime, each on its own interval.
pub fn spawn(state: &AppState) {
    let holder = holder().to_string();
    for job in all() {
        let state = state.clone();
        let holder = holder.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(job.every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let job = std::sync::Arc::new(job);
            loop {
                tick.tick().await;
                let (s, j, h) = (state.clone(), job.clone(), holder.clone());
                if let Err(e) = state.db(move |c| run_once(c, &s, &j, &h)).await {
                    tracing::error!("后台任务 {} 失败：{e}", job.name);
                }
            }
        });
    }
}

/// A job's lease and last run, for the bureau's status page.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable)]
pub struct JobStatus {
    pub name: String,
    pub holder: String,
    #[schema(value_type = String)]
    pub expires_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    pub last_started_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<String>)]
    pub last_finished_at: Option<NaiveDateTime>,
    pub last_result: String,
    pub last_ok: bool,
    pub runs: i64,
}

pub fn status(conn: &mut DbConn) -> QueryResult<Vec<JobStatus>> {
    jl::table
        .order(jl::name.asc())
        .select((
            jl::name,
            jl::holder,
            jl::expires_at,
            jl::last_started_at,
            jl::last_finished_at,
            jl::last_result,
            jl::last_ok,
            jl::runs,
        ))
        .load(conn)
}
