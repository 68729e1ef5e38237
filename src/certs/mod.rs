//! The certificates register (行政执法证): issuance (one by one, or in bulk from an exam batch's
//! results with a preview first), numbers that are unique forever and gap-free per region and
//! year, and the states a certificate moves through, each change kept with reason, legal basis,
//! actor and time, and in the audit trail.
//!
//! The roster's `officers.cert_*` fields stay as the officer's current certificate: the register
//! sets them when it issues one and clears them when that certificate ends.

pub mod dashboard;
pub mod db;
pub mod demo;
pub mod export;
pub mod import;
pub mod public;
pub mod rules;

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::config::Config;
use crate::db::DbConn;
use crate::db::schema::certificates as ct;
use crate::db::schema::{
    exam_attempts as at, exam_batches as eb, exam_candidates as ec, officers, units,
};
use crate::error::{Error, Result};
use crate::jobs::work;
use crate::roster::rules::{Eligibility, certificate_eligibility};
use rules::{Action, CertState, Pattern};

/// The bureau's certificate settings (from the configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    pub pattern: Pattern,
    /// Years a new certificate is valid (5 by default; 3 and 6 are also in use).
    pub valid_years: i32,
    /// Years after a revocation before the person may be issued a new certificate (2 in Jilin).
    pub ban_years: i32,
    /// The issuing authority printed on new certificates.
    pub issuer: String,
    /// What the public listing shows.
    pub public: public::Fields,
}

impl Settings {
    pub fn from_config(c: &Config) -> anyhow::Result<Settings> {
        Ok(Settings {
            pattern: Pattern::parse(&c.cert_number_pattern)
                .map_err(|e| anyhow::anyhow!("配置项 cert_number_pattern 有误：{e}"))?,
            valid_years: c.cert_valid_years,
            ban_years: c.revocation_ban_years,
            issuer: c.bureau_name.clone(),
            public: public::Fields::parse(&c.public_fields)
                .map_err(|e| anyhow::anyhow!("配置项 public_fields 有误：{e}"))?,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Certificate {
    pub number: String,
    pub officer_id: i64,
    pub name: String,
    pub unit_id: i64,
    pub unit: String,
    pub category: String,
    pub region: String,
    pub issuer: String,
    #[schema(value_type = Option<String>)]
    pub issued_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>)]
    pub valid_until: Option<NaiveDate>,
    /// 有效 | 暂扣 | 吊销 | 注销 | 过期
    pub state: String,
    /// 核发 | 导入 | 迁移
    pub source: String,
    pub card_generation: i32,
    /// The certificate this one replaced, and the one that replaced it.
    pub replaces: Option<String>,
    pub replaced_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    #[schema(value_type = String)]
    pub at: NaiveDateTime,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub reason: String,
    pub basis: String,
    pub actor: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertDetail {
    #[serde(flatten)]
    pub certificate: Certificate,
    pub events: Vec<Event>,
    /// The annual reviews (年审), latest first.
    pub reviews: Vec<crate::reviews::ReviewRecord>,
}

impl Certificate {
    /// A register row with its holder's and unit's names (links filled in by `certificate`).
    fn of(r: db::Row, name: String, unit: String) -> Certificate {
        Certificate {
            number: r.number,
            officer_id: r.officer_id,
            name,
            unit_id: r.unit_id,
            unit,
            category: r.category,
            region: r.region,
            issuer: r.issuer,
            issued_on: r.issued_on,
            valid_until: r.valid_until,
            state: r.state,
            source: r.source,
            card_generation: r.card_generation,
            replaces: None,
            replaced_by: None,
        }
    }
}

fn certificate(conn: &mut DbConn, r: db::Row) -> Result<Certificate> {
    let name: String = officers::table
        .find(r.officer_id)
        .select(officers::name)
        .first(conn)?;
    let unit: String = units::table
        .find(r.unit_id)
        .select(units::name)
        .first(conn)?;
    let number_of = |conn: &mut DbConn, id: Option<i64>| -> Result<Option<String>> {
        Ok(match id {
            Some(id) => Some(db::by_id(conn, id)?.number),
            None => None,
        })
    };
    let (replaces, replaced_by) = (r.replaces_id, r.replaced_by_id);
    let mut c = Certificate::of(r, name, unit);
    c.replaces = number_of(conn, replaces)?;
    c.replaced_by = number_of(conn, replaced_by)?;
    Ok(c)
}

/// One certificate with its history (the bureau; a unit for its own officers; an officer their own).
pub fn get(conn: &mut DbConn, grant: &Grant, number: &str) -> Result<CertDetail> {
    grant.require(Capability::ReadRoster)?;
    let r = db::by_number(conn, number.trim())?.ok_or_else(|| Error::not_found("执法证"))?;
    let officer = crate::roster::db::officer(conn, r.officer_id)?
        .ok_or_else(|| Error::not_found("执法证"))?;
    let unit = crate::roster::db::unit(conn, officer.unit_id)?
        .ok_or_else(|| Error::not_found("执法证"))?;
    let visible = match grant.scope() {
        crate::roster::Scope::Officer(id) => *id == r.officer_id,
        s => s.covers_unit(&unit),
    };
    if !visible {
        return Err(Error::not_found("执法证"));
    }
    let events = db::events(conn, r.id)?
        .into_iter()
        .map(|e| Event {
            at: e.at,
            action: e.action,
            from_state: e.from_state,
            to_state: e.to_state,
            reason: e.reason,
            basis: e.basis,
            actor: e.actor,
        })
        .collect();
    let reviews = crate::reviews::history(conn, r.id)?;
    Ok(CertDetail {
        certificate: certificate(conn, r)?,
        events,
        reviews,
    })
}

/// A page of the register.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Number or name, from the start.
    #[serde(default)]
    pub q: String,
    /// 有效 | 暂扣 | 吊销 | 注销 | 过期
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub unit_id: Option<i64>,
    #[serde(default)]
    pub page: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertPage {
    pub total: i64,
    pub page: i64,
    pub items: Vec<Certificate>,
}

pub fn list(conn: &mut DbConn, grant: &Grant, q: &ListQuery) -> Result<CertPage> {
    grant.require(Capability::ReadRoster)?;
    let state = match q.state.trim() {
        "" => None,
        s => Some(
            CertState::parse(s)
                .ok_or_else(|| {
                    Error::BadRequest(format!(
                        "state 应为有效、暂扣、吊销、注销或过期，而不是“{s}”"
                    ))
                })?
                .label(),
        ),
    };
    let scope_path = match grant.scope() {
        crate::roster::Scope::All => None,
        crate::roster::Scope::Subtree(p) => Some(p.clone()),
        _ => return Err(Error::Forbidden("只能查看本人的执法证".into())),
    };
    let unit_path = match q.unit_id {
        Some(id) => {
            let u = crate::roster::db::unit(conn, id)?.ok_or_else(|| Error::not_found("单位"))?;
            if scope_path
                .as_ref()
                .is_some_and(|p| !u.path.starts_with(p.as_str()))
            {
                return Err(Error::not_found("单位"));
            }
            Some(u.path)
        }
        None => scope_path,
    };
    let page = q.page.unwrap_or(1);
    if !(1..=100_000).contains(&page) {
        return Err(Error::BadRequest(format!(
            "page 应为 1 至 100000，而不是 {page}"
        )));
    }
    let (total, rows) = db::list(
        conn,
        q.q.trim(),
        state,
        unit_path.as_deref(),
        50,
        (page - 1) * 50,
    )?;
    let items = rows
        .into_iter()
        .map(|(r, name, unit)| Certificate::of(r, name, unit))
        .collect();
    Ok(CertPage { total, page, items })
}

/// Why each of these officers may not be issued a new certificate today (absent: may).
fn refusals(
    conn: &mut DbConn,
    s: &Settings,
    officer_ids: &[i64],
    today: NaiveDate,
) -> Result<HashMap<i64, String>> {
    let mut out = HashMap::new();
    for chunk in officer_ids.chunks(5000) {
        let rows: Vec<(i64, String, String, String)> = officers::table
            .filter(officers::id.eq_any(chunk))
            .select((
                officers::id,
                officers::name,
                officers::employment_type,
                officers::status,
            ))
            .load(conn)?;
        for (id, _, employment, status) in &rows {
            if let e @ (Eligibility::Ineligible(_) | Eligibility::Unconfirmed(_)) =
                certificate_eligibility(employment, status)
            {
                out.insert(*id, e.reason().to_string());
            }
        }
        for (id, number) in db::holders(conn, chunk)? {
            out.entry(id)
                .or_insert_with(|| format!("已持有执法证 {number}（有效或暂扣中）"));
        }
        for (id, at) in db::revocations(conn, chunk)? {
            let until = at
                .date()
                .checked_add_months(chrono::Months::new(12 * s.ban_years.max(0) as u32))
                .unwrap_or(at.date());
            if until > today {
                out.entry(id).or_insert_with(|| {
                    format!(
                        "执法证于 {} 被吊销，{} 年内不得重新核发（至 {}）",
                        crate::roster::rules::chinese_date(at.date()),
                        s.ban_years,
                        crate::roster::rules::chinese_date(until)
                    )
                });
            }
        }
    }
    Ok(out)
}

/// The next number for a region and year, taken inside the caller's transaction: a rollback
/// gives it back (gap-free), and a competing replica waits on the row and takes the next one.
fn next_number(conn: &mut DbConn, s: &Settings, region: &str, year: i32) -> Result<String> {
    for _ in 0..20 {
        let serial = match db::last_serial(conn, region, year)? {
            Some(last) => {
                if db::bump_serial(conn, region, year, last)? == 1 {
                    last + 1
                } else {
                    continue;
                }
            }
            None => {
                // a savepoint: losing the race for the first serial must not end the transaction
                match conn.transaction(|c| db::first_serial(c, region, year)) {
                    Ok(_) => 1,
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        return s
            .pattern
            .format(region, year, serial as u64)
            .map_err(|e| Error::Conflict {
                message: e,
                fields: Default::default(),
            });
    }
    Err(Error::Conflict {
        message: "证号分配繁忙，请重试".into(),
        fields: Default::default(),
    })
}

/// What issuing writes for one officer (inside the caller's audit transaction).
fn issue_to(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    s: &Settings,
    officer_id: i64,
    issued_on: NaiveDate,
    batch_id: Option<i64>,
    basis: &str,
) -> Result<String> {
    let (name, unit_id, category, region, region_code): (String, i64, String, String, String) =
        officers::table
            .inner_join(units::table.on(units::id.eq(officers::unit_id)))
            .filter(officers::id.eq(officer_id))
            .select((
                officers::name,
                officers::unit_id,
                officers::category,
                officers::region,
                units::region_code,
            ))
            .first(conn)?;
    let number = next_number(conn, s, &region_code, issued_on.year())?;
    let valid_until = issued_on
        .checked_add_months(chrono::Months::new(12 * s.valid_years as u32))
        .and_then(|d| d.pred_opt());
    let now = crate::db::now();
    let id = db::insert(
        conn,
        &db::NewRow {
            number: number.clone(),
            officer_id,
            unit_id,
            category,
            region,
            issuer: s.issuer.clone(),
            issued_on: Some(issued_on),
            valid_until,
            state: CertState::Valid.label().into(),
            source: "核发".into(),
            batch_id,
            replaces_id: None,
            created_at: now,
            updated_at: now,
        },
    )?;
    let actor = rec.actor().name.clone();
    db::log(
        conn,
        &db::NewEvent {
            certificate_id: id,
            at: now,
            action: "核发",
            from_state: "",
            to_state: CertState::Valid.label(),
            reason: basis,
            basis: "",
            actor: &actor,
        },
    )?;
    db::point_officer_at(conn, officer_id, Some((&number, &s.issuer, valid_until)))?;
    rec.record(
        conn,
        Change::new(
            "cert.issue",
            "certificate",
            &number,
            format!("核发执法证 {number}：{name}（{basis}）"),
        )
        .after(&serde_json::json!({"officer_id": officer_id, "valid_until": valid_until})),
    )?;
    Ok(number)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct IssueInput {
    pub officer_id: i64,
    /// Default today.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "2026-12-01")]
    pub issued_on: Option<NaiveDate>,
    /// Why (e.g. 2026年第一批资格考试合格，经局务会审定).
    pub reason: String,
}

/// Issues one certificate (the bureau), refusing with the reason an officer may not have one.
pub fn issue(
    conn: &mut DbConn,
    grant: &Grant,
    s: &Settings,
    input: &IssueInput,
) -> Result<CertDetail> {
    grant.require(Capability::ManageCerts)?;
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(Error::invalid("reason", "请说明核发依据（200 字以内）"));
    }
    crate::roster::db::officer(conn, input.officer_id)?
        .ok_or_else(|| Error::invalid("officer_id", "名录库中没有此人"))?;
    let today = crate::db::now().date();
    let issued_on = input.issued_on.unwrap_or(today);
    let number = audit::transaction(conn, grant.actor(), |conn, rec| {
        if let Some(why) = refusals(conn, s, &[input.officer_id], today)?.remove(&input.officer_id)
        {
            return Err(Error::invalid("officer_id", why));
        }
        issue_to(conn, rec, s, input.officer_id, issued_on, None, reason)
    })?;
    get(conn, grant, &number)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub officer_id: i64,
    pub name: String,
    pub unit: String,
    pub ticket_no: String,
    pub score: Option<f64>,
    /// Empty when a certificate will be issued.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchIssuance {
    pub batch_id: i64,
    pub batch: String,
    /// Passed and eligible: a certificate each.
    pub will_issue: Vec<Candidate>,
    /// Passed but not eligible, with why.
    pub refused: Vec<Candidate>,
    /// Set once confirmed and done: the numbers issued, in the order of `will_issue`.
    pub issued: Vec<String>,
    /// The job that issues them (once confirmed): a large issuance goes on in the background.
    pub job: Option<work::WorkStatus>,
}

/// Who passed a batch and gets a certificate, and who doesn't and why. Nothing is written.
pub fn preview_batch(
    conn: &mut DbConn,
    grant: &Grant,
    s: &Settings,
    batch_id: i64,
) -> Result<BatchIssuance> {
    grant.require(Capability::ManageCerts)?;
    let title: String = eb::table
        .find(batch_id)
        .select(eb::title)
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("考试批次"))?;
    let passed: Vec<(i64, String, String, String, Option<f64>)> = ec::table
        .inner_join(at::table.on(at::candidate_id.eq(ec::id)))
        .inner_join(officers::table.on(officers::id.eq(ec::officer_id)))
        .inner_join(units::table.on(units::id.eq(officers::unit_id)))
        .filter(ec::batch_id.eq(batch_id))
        .filter(at::passed.eq(true))
        .order((units::path.asc(), officers::name.asc()))
        .select((
            ec::officer_id,
            officers::name,
            units::name,
            ec::ticket_no,
            at::score,
        ))
        .load(conn)?;
    let ids: Vec<i64> = passed.iter().map(|p| p.0).collect();
    let mut why = refusals(conn, s, &ids, crate::db::now().date())?;
    let mut will_issue = Vec::new();
    let mut refused = Vec::new();
    for (officer_id, name, unit, ticket_no, score) in passed {
        let reason = why.remove(&officer_id).unwrap_or_default();
        let c = Candidate {
            officer_id,
            name,
            unit,
            ticket_no,
            score,
            reason,
        };
        if c.reason.is_empty() {
            will_issue.push(c);
        } else {
            refused.push(c);
        }
    }
    Ok(BatchIssuance {
        batch_id,
        batch: title,
        will_issue,
        refused,
        issued: Vec::new(),
        job: None,
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ConfirmIssuance {
    /// The officers the preview listed to receive one (anyone no longer eligible is left out and
    /// reported).
    pub officer_ids: Vec<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "2026-12-01")]
    pub issued_on: Option<NaiveDate>,
}

/// Issues the certificates the bureau confirmed from a preview, all in one transaction.
pub fn issue_batch(
    conn: &mut DbConn,
    grant: &Grant,
    s: &Settings,
    batch_id: i64,
    confirm: &ConfirmIssuance,
    budget: std::time::Duration,
) -> Result<BatchIssuance> {
    let preview = preview_batch(conn, grant, s, batch_id)?;
    let wanted: HashSet<i64> = confirm.officer_ids.iter().copied().collect();
    if wanted.is_empty() {
        return Err(Error::invalid("officer_ids", "请确认要核发执法证的人员"));
    }
    let eligible: HashSet<i64> = preview.will_issue.iter().map(|c| c.officer_id).collect();
    if let Some(stray) = wanted.iter().find(|id| !eligible.contains(id)) {
        let why = preview
            .refused
            .iter()
            .find(|c| c.officer_id == *stray)
            .map(|c| format!("{}：{}", c.name, c.reason))
            .unwrap_or_else(|| format!("人员 {stray} 不是本批次的合格考生"));
        return Err(Error::invalid(
            "officer_ids",
            format!("不能核发：{why}（请重新预览）"),
        ));
    }
    let issued_on = confirm.issued_on.unwrap_or(crate::db::now().date());
    let chosen: Vec<Candidate> = preview
        .will_issue
        .into_iter()
        .filter(|c| wanted.contains(&c.officer_id))
        .collect();
    let plan = IssuePlan {
        batch_id,
        officer_ids: chosen.iter().map(|c| c.officer_id).collect(),
        issued_on,
        basis: format!("{}合格", preview.batch),
    };
    let job = work::run(
        conn,
        s,
        grant.actor(),
        &format!("核发执法证：{}（{} 人）", preview.batch, chosen.len()),
        &work::Plan::Issue(plan),
        budget,
        Change::new(
            "cert.issue_batch",
            "exam_batch",
            batch_id.to_string(),
            format!("确认按{}成绩核发执法证 {} 张", preview.batch, chosen.len()),
        ),
    )?;
    let issued = if job.finished() {
        issued_from(conn, batch_id, &chosen)?
    } else {
        Vec::new()
    };
    Ok(BatchIssuance {
        batch_id,
        batch: preview.batch,
        will_issue: chosen,
        refused: preview.refused,
        issued,
        job: Some(job),
    })
}

/// The numbers a batch's issuance gave these officers, in their order.
fn issued_from(conn: &mut DbConn, batch_id: i64, chosen: &[Candidate]) -> Result<Vec<String>> {
    let ids: Vec<i64> = chosen.iter().map(|c| c.officer_id).collect();
    let mut by_officer: HashMap<i64, String> = HashMap::new();
    for chunk in ids.chunks(5000) {
        by_officer.extend(
            ct::table
                .filter(ct::batch_id.eq(batch_id))
                .filter(ct::officer_id.eq_any(chunk))
                .order(ct::id.asc())
                .select((ct::officer_id, ct::number))
                .load::<(i64, String)>(conn)?,
        );
    }
    Ok(ids.iter().filter_map(|i| by_officer.remove(i)).collect())
}

/// A confirmed issuance from a batch's results, applied by the job runner in steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuePlan {
    pub batch_id: i64,
    pub officer_ids: Vec<i64>,
    pub issued_on: NaiveDate,
    pub basis: String,
}

/// One step of an issuance: a certificate each, except for anyone who has become ineligible
/// since the bureau confirmed (skipped, with why).
pub fn issue_step(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    s: &Settings,
    plan: &IssuePlan,
    range: std::ops::Range<usize>,
) -> Result<Vec<String>> {
    let ids = &plan.officer_ids[range];
    let mut why = refusals(conn, s, ids, crate::db::now().date())?;
    let mut skipped = Vec::new();
    for id in ids {
        if let Some(reason) = why.remove(id) {
            let name: String = officers::table
                .find(id)
                .select(officers::name)
                .first(conn)?;
            skipped.push(format!("{name}：未核发，{reason}"));
            continue;
        }
        issue_to(
            conn,
            rec,
            s,
            *id,
            plan.issued_on,
            Some(plan.batch_id),
            &plan.basis,
        )?;
    }
    Ok(skipped)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct StateChange {
    /// suspend | lift | revoke | cancel
    pub action: String,
    pub reason: String,
    /// Legal basis (法律依据); required to suspend or revoke.
    #[serde(default)]
    pub basis: String,
}

/// Moves a certificate to another state, if the rules allow, with reason and basis on record.
pub fn change_state(
    conn: &mut DbConn,
    grant: &Grant,
    number: &str,
    input: &StateChange,
) -> Result<CertDetail> {
    grant.require(Capability::ManageCerts)?;
    let action = match Action::parse(input.action.trim()) {
        Some(Action::Expire) | None => {
            return Err(Error::invalid(
                "action",
                "action 应为 suspend（暂扣）、lift（解除暂扣）、revoke（吊销）或 cancel（注销）",
            ));
        }
        Some(a) => a,
    };
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::invalid("reason", "请说明理由（500 字以内）"));
    }
    let basis = input.basis.trim();
    if matches!(action, Action::Suspend | Action::Revoke) && basis.is_empty() {
        return Err(Error::invalid(
            "basis",
            format!("{}须写明法律依据", action.label()),
        ));
    }
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let r = db::by_number(conn, number.trim())?.ok_or_else(|| Error::not_found("执法证"))?;
        let from = CertState::parse(&r.state).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!(
                "执法证 {} 的状态“{}”无法识别",
                r.number,
                r.state
            ))
        })?;
        let to = rules::transition(from, action).map_err(Error::Closed)?;
        let actor = rec.actor().name.clone();
        let step = Step {
            action: action.label(),
            to,
            reason,
            basis,
            actor: &actor,
        };
        apply(conn, &r, from, step, crate::db::now())?;
        let what = match action {
            Action::Suspend => "cert.suspend",
            Action::Lift => "cert.lift",
            Action::Revoke => "cert.revoke",
            Action::Cancel => "cert.cancel",
            Action::Expire => "cert.expire",
        };
        rec.record(
            conn,
            Change::new(
                what,
                "certificate",
                &r.number,
                format!("执法证 {} {}：{reason}", r.number, action.label()),
            )
            .before(&serde_json::json!({"state": from.label()}))
            .after(&serde_json::json!({"state": to.label(), "basis": basis})),
        )?;
        Ok(())
    })?;
    get(conn, grant, number)
}

/// Ends (过期) at most 500 certificates whose validity has passed, as the job runner calls it.
pub fn expire_due(conn: &mut DbConn, today: NaiveDate) -> Result<usize> {
    let due = db::due_to_expire(conn, today, 500)?;
    let n = due.len();
    if n == 0 {
        return Ok(0);
    }
    audit::transaction(
        conn,
        &crate::audit::Actor::system("证件到期"),
        |conn, rec| {
            let now = crate::db::now();
            for r in &due {
                let from = CertState::parse(&r.state).unwrap_or(CertState::Valid);
                let step = Step {
                    action: Action::Expire.label(),
                    to: CertState::Expired,
                    reason: "超过有效期",
                    basis: "",
                    actor: "系统",
                };
                apply(conn, r, from, step, now)?;
                rec.record(
                    conn,
                    Change::new(
                        "cert.expire",
                        "certificate",
                        &r.number,
                        format!("执法证 {} 已过有效期，自动失效", r.number),
                    ),
                )?;
            }
            Ok(())
        },
    )?;
    Ok(n)
}

/// One change of state.
struct Step<'a> {
    action: &'a str,
    to: CertState,
    reason: &'a str,
    basis: &'a str,
    actor: &'a str,
}

/// Puts one change of state on the record: the certificate's state, its event, and the roster's
/// current certificate ended with it (a suspension does not end it).
fn apply(
    conn: &mut DbConn,
    r: &db::Row,
    from: CertState,
    step: Step,
    now: NaiveDateTime,
) -> Result<()> {
    db::set_state(conn, r.id, step.to.label(), now)?;
    db::log(
        conn,
        &db::NewEvent {
            certificate_id: r.id,
            at: now,
            action: step.action,
            from_state: from.label(),
            to_state: step.to.label(),
            reason: step.reason,
            basis: step.basis,
            actor: step.actor,
        },
    )?;
    if matches!(
        step.to,
        CertState::Revoked | CertState::Cancelled | CertState::Expired
    ) {
        end_current(conn, r)?;
    }
    Ok(())
}

/// Clears the roster's current certificate if it is this one.
fn end_current(conn: &mut DbConn, r: &db::Row) -> Result<()> {
    let current: Option<Option<String>> = officers::table
        .find(r.officer_id)
        .select(officers::cert_number)
        .first(conn)
        .optional()?;
    if current.flatten().as_deref() == Some(r.number.as_str()) {
        db::point_officer_at(conn, r.officer_id, None)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ToDo {
    pub number: String,
    pub officer_id: i64,
    pub name: String,
    pub unit: String,
    /// The holder's status in the roster (调出, 退休, 辞退 …).
    pub status: String,
    pub state: String,
}

/// Certificates still valid or suspended whose holder has left an enforcement post (transferred
/// out, retired, dismissed …): the bureau's to-do list, to cancel them. Read from the roster each
/// time, so it is never stale.
pub fn to_do(conn: &mut DbConn, grant: &Grant) -> Result<Vec<ToDo>> {
    grant.require(Capability::ManageCerts)?;
    let rows: Vec<(String, i64, String, String, String, String, String)> = ct::table
        .inner_join(officers::table)
        .inner_join(units::table)
        .filter(ct::state.eq_any(["有效", "暂扣"]))
        .order(units::path.asc())
        .select((
            ct::number,
            officers::id,
            officers::name,
            units::name,
            officers::status,
            officers::employment_type,
            ct::state,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, _, _, status, employment, _)| {
            matches!(
                certificate_eligibility(employment, status),
                Eligibility::Ineligible(_)
            )
        })
        .map(|(number, officer_id, name, unit, status, _, state)| ToDo {
            number,
            officer_id,
            name,
            unit,
            status,
            state,
        })
        .collect())
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Replacement {
    /// 换发 (details changed, damaged, transfer to another unit) or 补发 (after a loss notice).
    pub kind: String,
    pub reason: String,
    /// 补发 only: the loss notice (遗失声明: where and when it was published).
    #[serde(default)]
    pub loss_notice: String,
}

/// Replaces a valid (or suspended: its state carries over) certificate by a new one with the
/// holder's current details; the old one is cancelled, and the two are linked both ways.
pub fn replace(
    conn: &mut DbConn,
    grant: &Grant,
    s: &Settings,
    number: &str,
    input: &Replacement,
) -> Result<CertDetail> {
    grant.require(Capability::ManageCerts)?;
    let kind = match input.kind.trim() {
        "换发" => "换发",
        "补发" => "补发",
        other => {
            return Err(Error::invalid(
                "kind",
                format!("kind 应为换发或补发，而不是“{other}”"),
            ));
        }
    };
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(Error::invalid("reason", "请说明理由（200 字以内）"));
    }
    if kind == "补发" && input.loss_notice.trim().is_empty() {
        return Err(Error::invalid(
            "loss_notice",
            "补发须先登报或在网站发布遗失声明：请写明声明的刊登处和日期",
        ));
    }
    let new_number = audit::transaction(conn, grant.actor(), |conn, rec| {
        let old = db::by_number(conn, number.trim())?.ok_or_else(|| Error::not_found("执法证"))?;
        let from = CertState::parse(&old.state).unwrap_or(CertState::Valid);
        if !matches!(from, CertState::Valid | CertState::Suspended) {
            return Err(Error::Closed(format!(
                "状态为“{}”的执法证不能{kind}",
                from.label()
            )));
        }
        let basis = if kind == "补发" {
            format!("{kind}：{reason}（遗失声明：{}）", input.loss_notice.trim())
        } else {
            format!("{kind}：{reason}")
        };
        let today = crate::db::now().date();
        let new = issue_to(conn, rec, s, old.officer_id, today, None, &basis)?;
        let new_row = db::by_number(conn, &new)?.ok_or_else(|| Error::not_found("执法证"))?;
        let now = crate::db::now();
        // a suspension carries over to the new card
        if from == CertState::Suspended {
            db::set_state(conn, new_row.id, CertState::Suspended.label(), now)?;
        }
        db::link(conn, old.id, new_row.id)?;
        let actor = rec.actor().name.clone();
        let step = Step {
            action: kind,
            to: CertState::Cancelled,
            reason: &format!("{basis}，新证 {new}"),
            basis: "",
            actor: &actor,
        };
        apply(conn, &old, from, step, now)?;
        rec.record(
            conn,
            Change::new(
                "cert.replace",
                "certificate",
                &old.number,
                format!("执法证 {} {kind}为 {new}：{reason}", old.number),
            ),
        )?;
        Ok(new)
    })?;
    get(conn, grant, &new_number)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CleanUp {
    /// Numbers from the to-do list (the preview) to cancel.
    pub numbers: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CleanedUp {
    /// Once done: the numbers cancelled.
    pub cancelled: Vec<String>,
    pub job: work::WorkStatus,
}

/// A confirmed clean-up, applied by the job runner in steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CleanUpPlan {
    /// Number and the holder's roster status when confirmed.
    pub numbers: Vec<(String, String)>,
    pub reason: String,
}

/// Bulk clean-up (清理): cancels certificates from the to-do list (holders who left an
/// enforcement post), as a job. A number not on the list refuses the whole request by name.
pub fn clean_up(
    conn: &mut DbConn,
    grant: &Grant,
    s: &Settings,
    input: &CleanUp,
    budget: std::time::Duration,
) -> Result<CleanedUp> {
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(Error::invalid("reason", "请说明清理理由（200 字以内）"));
    }
    if input.numbers.is_empty() || input.numbers.len() > 100_000 {
        return Err(Error::invalid(
            "numbers",
            "请从待注销清单中选择要注销的执法证",
        ));
    }
    let listed: HashMap<String, ToDo> = to_do(conn, grant)?
        .into_iter()
        .map(|t| (t.number.clone(), t))
        .collect();
    let mut numbers = Vec::with_capacity(input.numbers.len());
    let mut seen = HashSet::new();
    for n in &input.numbers {
        let n = n.trim();
        let Some(t) = listed.get(n) else {
            return Err(Error::invalid(
                "numbers",
                format!(
                    "执法证 {n} 不在待注销清单中（持证人仍在执法岗位，或证件已不是有效、暂扣状态）"
                ),
            ));
        };
        if seen.insert(n.to_string()) {
            numbers.push((n.to_string(), t.status.clone()));
        }
    }
    let count = numbers.len();
    let plan = CleanUpPlan {
        numbers,
        reason: reason.to_string(),
    };
    let job = work::run(
        conn,
        s,
        grant.actor(),
        &format!("清理注销执法证 {count} 张"),
        &work::Plan::CleanUp(plan.clone()),
        budget,
        Change::new(
            "cert.cleanup",
            "certificate",
            "cleanup",
            format!("确认清理注销执法证 {count} 张：{reason}"),
        ),
    )?;
    let cancelled = if job.finished() {
        let wanted: Vec<&str> = plan.numbers.iter().map(|(n, _)| n.as_str()).collect();
        let mut out = Vec::new();
        for chunk in wanted.chunks(5000) {
            out.extend(
                ct::table
                    .filter(ct::number.eq_any(chunk))
                    .filter(ct::state.eq(CertState::Cancelled.label()))
                    .select(ct::number)
                    .load::<String>(conn)?,
            );
        }
        out
    } else {
        Vec::new()
    };
    Ok(CleanedUp { cancelled, job })
}

/// One step of a clean-up: cancels each certificate still valid or suspended.
pub fn clean_up_step(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    plan: &CleanUpPlan,
    range: std::ops::Range<usize>,
) -> Result<Vec<String>> {
    let now = crate::db::now();
    let actor = rec.actor().name.clone();
    let mut skipped = Vec::new();
    let mut done = Vec::new();
    for (n, status) in &plan.numbers[range] {
        let Some(r) = db::by_number(conn, n)? else {
            skipped.push(format!("{n}：已不在登记簿中"));
            continue;
        };
        let from = CertState::parse(&r.state).unwrap_or(CertState::Valid);
        let Ok(to) = rules::transition(from, Action::Cancel) else {
            skipped.push(format!("{n}：现为“{}”，无需注销", from.label()));
            continue;
        };
        let why = format!("清理：{}（持证人{status}）", plan.reason);
        let step = Step {
            action: Action::Cancel.label(),
            to,
            reason: &why,
            basis: "",
            actor: &actor,
        };
        apply(conn, &r, from, step, now)?;
        done.push(r.number);
    }
    if !done.is_empty() {
        rec.record(
            conn,
            Change::new(
                "cert.cancel",
                "certificate",
                "cleanup",
                format!("清理注销执法证 {} 张：{}", done.len(), plan.reason),
            )
            .after(&serde_json::json!({ "numbers": done })),
        )?;
    }
    Ok(skipped)
}

/// The annual review's consequence for the certificates that failed or missed it: suspended or
/// cancelled (as the round's rules say), each with the review's reason and basis in its history
/// — in a few statements for a whole step of a review of tens of thousands. Returns the numbers
/// changed; one no longer valid is left as it is. The caller puts them in the audit trail
/// together.
pub(crate) fn end_by_review(
    conn: &mut DbConn,
    failed: &[(i64, String)],
    cancel: bool,
    basis: &str,
    actor: &str,
) -> Result<Vec<String>> {
    let ids: Vec<i64> = failed.iter().map(|(id, _)| *id).collect();
    let action = if cancel {
        Action::Cancel
    } else {
        Action::Suspend
    };
    let to = rules::transition(CertState::Valid, action).map_err(Error::Closed)?;
    let rows: HashMap<i64, db::Row> = db::by_ids(conn, &ids)?
        .into_iter()
        .filter(|r| r.state == CertState::Valid.label())
        .map(|r| (r.id, r))
        .collect();
    let now = crate::db::now();
    let valid: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|i| rows.contains_key(i))
        .collect();
    db::set_states(conn, &valid, CertState::Valid.label(), to.label(), now)?;
    let mut numbers = Vec::with_capacity(valid.len());
    for (id, reason) in failed {
        let Some(r) = rows.get(id) else { continue };
        db::log(
            conn,
            &db::NewEvent {
                certificate_id: r.id,
                at: now,
                action: action.label(),
                from_state: CertState::Valid.label(),
                to_state: to.label(),
                reason,
                basis,
                actor,
            },
        )?;
        numbers.push(r.number.clone());
    }
    if cancel {
        db::unpoint_officers(conn, &numbers)?;
    }
    Ok(numbers)
}
