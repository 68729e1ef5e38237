//! Long jobs: bulk issuance, review runs and clean-ups over tens of thousands of certificates.
//!
//! The bureau confirms a plan (who gets what, fixed when confirmed); the plan is stored with the
//! job, and the job applies it in steps of [`STEP`] items. Each step is one transaction that
//! also moves the job's cursor, conditionally on the cursor being where the step began, so an
//! item is applied exactly once even if two replicas or a restart race for it: a step is either
//! wholly on the record or not at all, and a job killed between steps resumes at its cursor
//! (the runner picks up any unfinished job whose lease has lapsed). The request that confirms
//! drives the job itself for a few seconds, so a small job answers with its result at once; a
//! large one answers 202 with the job, whose progress the page shows.

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Actor, Change};
use crate::certs::Settings;
use crate::db::DbConn;
use crate::db::schema::work_jobs as wj;
use crate::error::{Error, Result};

/// How long a request drives its job before answering 202 with the job (the runner goes on).
pub const REQUEST_BUDGET: Duration = Duration::from_secs(10);
/// Items one step applies in one transaction. Larger steps rewrite fewer pages (SQLite: a review
/// of 73,487 certificates took 26.5 s in steps of 1,000 and 15.9 s in steps of 5,000) but hold
/// the write lock longer (about 1 s on SQLite; other writers wait, they do not fail).
pub const STEP: usize = 5000;
/// How long a job's holder may go without a step before another replica takes it over.
const LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// Skipped items' reasons kept in the job's result.
const MAX_NOTES: usize = 500;

/// What a job applies. The plan is fixed when the bureau confirms; each kind knows how to
/// apply a range of its items inside an audited transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Plan {
    /// The bureau's decisions of an annual review.
    #[serde(rename = "review.apply")]
    Review(crate::reviews::ApplyPlan),
    /// Certificates issued from an exam batch's results.
    #[serde(rename = "cert.issue")]
    Issue(crate::certs::IssuePlan),
    /// Certificates cancelled by a clean-up.
    #[serde(rename = "cert.cleanup")]
    CleanUp(crate::certs::CleanUpPlan),
}

impl Plan {
    fn kind(&self) -> &'static str {
        match self {
            Plan::Review(_) => "review.apply",
            Plan::Issue(_) => "cert.issue",
            Plan::CleanUp(_) => "cert.cleanup",
        }
    }

    fn len(&self) -> usize {
        match self {
            Plan::Review(p) => p.items.len(),
            Plan::Issue(p) => p.officer_ids.len(),
            Plan::CleanUp(p) => p.numbers.len(),
        }
    }

    /// Applies items `range`; returns why any were skipped (the plan is not re-decided: an
    /// item whose facts changed since it was confirmed is skipped with its reason).
    fn step(
        &self,
        conn: &mut DbConn,
        rec: &mut audit::Recorder,
        s: &Settings,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<String>> {
        match self {
            Plan::Review(p) => crate::reviews::apply_step(conn, rec, p, range),
            Plan::Issue(p) => crate::certs::issue_step(conn, rec, s, p, range),
            Plan::CleanUp(p) => crate::certs::clean_up_step(conn, rec, p, range),
        }
    }

    /// Runs once, in the last step's transaction.
    fn finish(&self, conn: &mut DbConn, rec: &mut audit::Recorder) -> Result<()> {
        match self {
            Plan::Review(p) => crate::reviews::finish(conn, rec, p),
            Plan::Issue(_) | Plan::CleanUp(_) => Ok(()),
        }
    }
}

/// A job's state, as the page and the API show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkStatus {
    pub id: i64,
    pub kind: String,
    pub title: String,
    /// 排队 | 进行中 | 完成 | 失败
    pub state: String,
    pub total: i64,
    pub done: i64,
    pub skipped: i64,
    /// Why items were skipped, one per line; the error if it failed.
    pub result: String,
    pub actor: String,
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    pub finished_at: Option<NaiveDateTime>,
    /// Where to follow it.
    pub url: String,
}

impl WorkStatus {
    pub fn finished(&self) -> bool {
        self.state == "完成" || self.state == "失败"
    }

    /// Percent done, for the progress bar.
    pub fn percent(&self) -> i64 {
        if self.total == 0 {
            100
        } else {
            self.done * 100 / self.total
        }
    }
}

type Row = (
    i64,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// The columns a [`WorkStatus`] is made of.
const STATUS: (
    wj::id,
    wj::kind,
    wj::title,
    wj::state,
    wj::total,
    wj::done,
    wj::skipped,
    wj::result,
    wj::actor_name,
    wj::created_at,
    wj::finished_at,
) = (
    wj::id,
    wj::kind,
    wj::title,
    wj::state,
    wj::total,
    wj::done,
    wj::skipped,
    wj::result,
    wj::actor_name,
    wj::created_at,
    wj::finished_at,
);

fn status_of(r: Row) -> WorkStatus {
    WorkStatus {
        id: r.0,
        kind: r.1,
        title: r.2,
        state: r.3,
        total: r.4,
        done: r.5,
        skipped: r.6,
        result: r.7,
        actor: r.8,
        created_at: r.9,
        finished_at: r.10,
        url: format!("/jobs/{}", r.0),
    }
}

fn load(conn: &mut DbConn, id: i64) -> Result<WorkStatus> {
    wj::table
        .find(id)
        .select(STATUS)
        .first::<Row>(conn)
        .optional()?
        .map(status_of)
        .ok_or_else(|| Error::not_found("任务"))
}

/// One job (anyone who may manage certificates).
pub fn get(conn: &mut DbConn, grant: &crate::auth::Grant, id: i64) -> Result<WorkStatus> {
    grant.require(crate::auth::Capability::ManageCerts)?;
    load(conn, id)
}

/// The latest jobs, newest first.
pub fn recent(conn: &mut DbConn, grant: &crate::auth::Grant) -> Result<Vec<WorkStatus>> {
    grant.require(crate::auth::Capability::ManageCerts)?;
    Ok(wj::table
        .order(wj::id.desc())
        .limit(20)
        .select(STATUS)
        .load::<Row>(conn)?
        .into_iter()
        .map(status_of)
        .collect())
}

/// Stores a confirmed plan as a job (inside the caller's audited transaction, so the
/// confirmation and the job are one). Returns its id.
pub fn submit(conn: &mut DbConn, actor: &Actor, title: &str, plan: &Plan) -> Result<i64> {
    let text = serde_json::to_string(plan).map_err(|e| Error::Internal(e.into()))?;
    let now = crate::db::now();
    let id = diesel::insert_into(wj::table)
        .values((
            wj::kind.eq(plan.kind()),
            wj::title.eq(title),
            wj::state.eq("排队"),
            wj::plan.eq(text),
            wj::total.eq(plan.len() as i64),
            wj::actor_id.eq(actor.user_id),
            wj::actor_name.eq(&actor.name),
            wj::actor_ip.eq(&actor.ip),
            wj::created_at.eq(now),
        ))
        .returning(wj::id)
        .get_result(conn)?;
    Ok(id)
}

/// Takes (or renews) job `id` for `holder`; false when another holder's lease is current or
/// the job has finished.
fn take(conn: &mut DbConn, id: i64, holder: &str) -> QueryResult<bool> {
    let now = crate::db::now();
    let n = diesel::update(
        wj::table
            .filter(wj::id.eq(id))
            .filter(wj::state.eq_any(["排队", "进行中"]))
            .filter(
                wj::holder
                    .eq(holder)
                    .or(wj::lease_until.is_null())
                    .or(wj::lease_until.lt(now)),
            ),
    )
    .set((
        wj::holder.eq(holder),
        wj::lease_until.eq(now + LEASE),
        wj::state.eq("进行中"),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Applies job `id` step by step for at most `budget` (at least one step if it can take the
/// job), then lets go of it. Returns the job as it stands.
pub fn drive(
    conn: &mut DbConn,
    s: &Settings,
    id: i64,
    holder: &str,
    budget: Duration,
) -> Result<WorkStatus> {
    drive_with(conn, s, id, holder, budget, STEP)
}

/// [`drive`] with steps of `step` items (tests use small steps to stop a job half-way).
pub fn drive_with(
    conn: &mut DbConn,
    s: &Settings,
    id: i64,
    holder: &str,
    budget: Duration,
    step: usize,
) -> Result<WorkStatus> {
    let started = Instant::now();
    if !take(conn, id, holder)? {
        return load(conn, id);
    }
    let (text, total, actor_id, actor_name, actor_ip): (String, i64, Option<i64>, String, String) =
        wj::table
            .find(id)
            .select((
                wj::plan,
                wj::total,
                wj::actor_id,
                wj::actor_name,
                wj::actor_ip,
            ))
            .first(conn)?;
    let plan: Plan = match serde_json::from_str(&text) {
        Ok(p) => p,
        Err(e) => return fail(conn, id, &format!("任务计划无法读取：{e}")),
    };
    drop(text);
    let actor = Actor {
        user_id: actor_id,
        name: actor_name,
        ip: actor_ip,
    };
    let total = total as usize;
    loop {
        let done: i64 = wj::table.find(id).select(wj::done).first(conn)?;
        let from = done as usize;
        if from >= total && total > 0 {
            break;
        }
        let to = (from + step.max(1)).min(total);
        let outcome = audit::transaction(conn, &actor, |conn, rec| {
            let now = crate::db::now();
            // the cursor moves only from where this step began, and only for the holder
            let claimed = diesel::update(
                wj::table
                    .filter(wj::id.eq(id))
                    .filter(wj::done.eq(done))
                    .filter(wj::holder.eq(holder)),
            )
            .set((wj::done.eq(to as i64), wj::lease_until.eq(now + LEASE)))
            .execute(conn)?;
            if claimed != 1 {
                return Err(Error::Conflict {
                    message: "任务已由其他进程接手".into(),
                    fields: Default::default(),
                });
            }
            let skipped = plan.step(conn, rec, s, from..to)?;
            if !skipped.is_empty() {
                let old: String = wj::table.find(id).select(wj::result).first(conn)?;
                let mut lines: Vec<&str> = old.lines().filter(|l| !l.is_empty()).collect();
                let room = MAX_NOTES.saturating_sub(lines.len());
                lines.extend(skipped.iter().take(room).map(String::as_str));
                diesel::update(wj::table.find(id))
                    .set((
                        wj::skipped.eq(wj::skipped + skipped.len() as i64),
                        wj::result.eq(lines.join("\n")),
                    ))
                    .execute(conn)?;
            }
            if to >= total {
                plan.finish(conn, rec)?;
                diesel::update(wj::table.find(id))
                    .set((
                        wj::state.eq("完成"),
                        wj::finished_at.eq(now),
                        wj::holder.eq(""),
                        wj::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        });
        match outcome {
            Ok(()) => {}
            // another holder took over (this one was too slow): it carries on
            Err(Error::Conflict { .. }) => return load(conn, id),
            // busy: the lease lapses and the runner tries again
            Err(e @ (Error::Busy(_) | Error::Unavailable(_))) => {
                tracing::warn!("任务 {id} 暂停：{e}");
                return load(conn, id);
            }
            Err(e) => return fail(conn, id, &e.to_string()),
        }
        if to >= total || started.elapsed() >= budget {
            break;
        }
    }
    // let go, so the runner (or another replica) carries on at once
    diesel::update(
        wj::table
            .filter(wj::id.eq(id))
            .filter(wj::holder.eq(holder)),
    )
    .set(wj::lease_until.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    load(conn, id)
}

fn fail(conn: &mut DbConn, id: i64, why: &str) -> Result<WorkStatus> {
    tracing::error!("任务 {id} 失败：{why}");
    audit::transaction(conn, &Actor::system("后台任务"), |conn, rec| {
        diesel::update(wj::table.find(id))
            .set((
                wj::state.eq("失败"),
                wj::result.eq(format!("失败：{why}（已完成的步骤保留，其余未执行）")),
                wj::finished_at.eq(crate::db::now()),
                wj::holder.eq(""),
            ))
            .execute(conn)?;
        rec.record(
            conn,
            Change::new(
                "job.fail",
                "job",
                id.to_string(),
                format!("任务失败：{why}"),
            ),
        )?;
        Ok(())
    })?;
    load(conn, id)
}

/// The runner's turn: carries on the oldest unfinished job nobody holds, for up to 30 s.
pub fn run_pending(conn: &mut DbConn, s: &Settings, holder: &str) -> Result<String> {
    let now = crate::db::now();
    let next: Option<i64> = wj::table
        .filter(wj::state.eq_any(["排队", "进行中"]))
        .filter(wj::lease_until.is_null().or(wj::lease_until.lt(now)))
        .order(wj::id.asc())
        .select(wj::id)
        .first(conn)
        .optional()?;
    let Some(id) = next else {
        return Ok("没有待办任务".into());
    };
    let st = drive(conn, s, id, holder, Duration::from_secs(30))?;
    Ok(format!(
        "任务 {id}（{}）：{} / {}，{}",
        st.title, st.done, st.total, st.state
    ))
}

/// Submits a plan and drives it for up to `budget` in this request: small jobs finish here.
pub fn run(
    conn: &mut DbConn,
    s: &Settings,
    actor: &Actor,
    title: &str,
    plan: &Plan,
    budget: Duration,
    audit_what: Change,
) -> Result<WorkStatus> {
    let id = audit::transaction(conn, actor, |conn, rec| {
        let id = submit(conn, actor, title, plan)?;
        rec.record(conn, audit_what.after(&serde_json::json!({"job": id})))?;
        Ok(id)
    })?;
    let holder = format!("request-{}", crate::auth::rules::new_token());
    drive(conn, s, id, &holder, budget)
}
