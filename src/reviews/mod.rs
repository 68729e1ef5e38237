//! The annual review (年审) of certificates.
//!
//! A round per reviewed year holds the bureau's rules, fixed when it is opened (the next round
//! starts from the last one's). Units send their first review (初审) per certificate — the
//! 初审统计表 they download pre-filled, filled in and uploaded, or the same over the API; the
//! bureau previews the verdict on every certificate due (every failed check named), overrides
//! where it must with a reason, and confirms. The decisions are applied by a long job in steps;
//! a certificate that failed or missed the review is suspended or cancelled, as the rules say.

pub mod db;
pub mod demo;
pub mod rules;
pub mod sheet;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::jobs::work;
use crate::roster::Scope;
use crate::roster::rules::{Eligibility, certificate_eligibility, chinese_date};
use rules::{Facts, Opinion, Outcome, Rules};

/// Days before the deadline from which undecided certificates are "due soon" (Shandong marks
/// them two months ahead).
const DUE_SOON_MONTHS: u32 = 2;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Round {
    pub year: i32,
    #[schema(value_type = String)]
    pub deadline: NaiveDate,
    pub rules: Rules,
    /// The rules as the bureau reads them.
    pub checks: Vec<String>,
    pub opened_by: String,
    #[schema(value_type = String)]
    pub opened_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    pub applied_at: Option<NaiveDateTime>,
    /// 进行中 | 即将截止 (within two months of the deadline) | 已逾期
    pub status: String,
}

fn round_of(r: db::RoundRow, today: NaiveDate) -> Result<Round> {
    let rules: Rules = serde_json::from_str(&r.rules).map_err(|e| Error::Internal(e.into()))?;
    Ok(Round {
        year: r.year,
        deadline: r.deadline,
        checks: rules.describe(),
        rules,
        opened_by: r.opened_by,
        opened_at: r.opened_at,
        applied_at: r.applied_at,
        status: deadline_status(r.deadline, today).into(),
    })
}

fn deadline_status(deadline: NaiveDate, today: NaiveDate) -> &'static str {
    if today > deadline {
        "已逾期"
    } else if today
        .checked_add_months(chrono::Months::new(DUE_SOON_MONTHS))
        .is_some_and(|d| d >= deadline)
    {
        "即将截止"
    } else {
        "进行中"
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct OpenRound {
    /// The year reviewed (年度).
    pub year: i32,
    /// Default: 31 March of the next year.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "2027-03-31")]
    pub deadline: Option<NaiveDate>,
    /// Default: the last round's rules (the first round: what provinces commonly check).
    #[serde(default)]
    pub rules: Option<Rules>,
}

/// Opens the review of a year with its rules and deadline (the bureau).
pub fn open(conn: &mut DbConn, grant: &Grant, input: &OpenRound) -> Result<Round> {
    grant.require(Capability::ManageCerts)?;
    let today = crate::db::now().date();
    if !(2000..=today.year() + 1).contains(&input.year) {
        return Err(Error::invalid(
            "year",
            format!("年度应为 2000 至 {} 年", today.year() + 1),
        ));
    }
    let rules = match &input.rules {
        Some(r) => r.clone(),
        None => match db::rounds(conn)?.into_iter().next() {
            Some(last) => serde_json::from_str(&last.rules).unwrap_or_default(),
            None => Rules::default(),
        },
    };
    rules
        .check()
        .map_err(|(f, m)| Error::invalid(&format!("rules.{f}"), m))?;
    let deadline = input
        .deadline
        .or_else(|| NaiveDate::from_ymd_opt(input.year + 1, 3, 31))
        .ok_or_else(|| Error::invalid("deadline", "截止日期无效"))?;
    if deadline.year() < input.year {
        return Err(Error::invalid("deadline", "截止日期不能早于所审年度"));
    }
    let text = serde_json::to_string(&rules).map_err(|e| Error::Internal(e.into()))?;
    audit::transaction(conn, grant.actor(), |conn, rec| {
        if db::round(conn, input.year)?.is_some() {
            return Err(Error::conflict(
                "year",
                format!("{} 年度的年审已经开启", input.year),
            ));
        }
        db::insert_round(conn, input.year, &text, deadline, &rec.actor().name.clone())?;
        rec.record(
            conn,
            Change::new(
                "review.open",
                "review",
                input.year.to_string(),
                format!(
                    "开启 {} 年度执法证年审，截止 {}",
                    input.year,
                    chinese_date(deadline)
                ),
            )
            .after(&serde_json::json!({ "rules": rules, "deadline": deadline })),
        )?;
        Ok(())
    })?;
    round(conn, grant, input.year)
}

/// One round (anyone who sees the roster: units need its rules and deadline).
pub fn round(conn: &mut DbConn, grant: &Grant, year: i32) -> Result<Round> {
    grant.require(Capability::ReadRoster)?;
    let r = db::round(conn, year)?
        .ok_or_else(|| Error::NotFound(format!("{year} 年度的年审尚未开启")))?;
    round_of(r, crate::db::now().date())
}

pub fn rounds(conn: &mut DbConn, grant: &Grant) -> Result<Vec<Round>> {
    grant.require(Capability::ReadRoster)?;
    let today = crate::db::now().date();
    db::rounds(conn)?
        .into_iter()
        .map(|r| round_of(r, today))
        .collect()
}

/// The unit subtree a caller covers (None: all); officers have none.
fn scope_path(grant: &Grant) -> Result<Option<String>> {
    match grant.scope() {
        Scope::All => Ok(None),
        Scope::Subtree(p) => Ok(Some(p.clone())),
        _ => Err(Error::Forbidden("年审由所在单位和司法局办理".into())),
    }
}

/// One certificate due for review, with the verdict its facts give today.
#[derive(Debug, Clone)]
struct Judged {
    due: db::Due,
    first: Option<db::Review>,
    verdict: rules::Verdict,
}

/// Every certificate due in a round, not yet decided, judged; and how many were decided.
fn judge_all(
    conn: &mut DbConn,
    year: i32,
    rules: &Rules,
    path: Option<&str>,
) -> Result<(Vec<Judged>, usize)> {
    let today = crate::db::now().date();
    let certs = db::valid_certificates(conn, path)?;
    let mut reviews = db::reviews_of_year(conn, year)?;
    let hours = db::training(conn, year)?;
    let scores = if rules.exam_after_years > 0 {
        db::best_scores(conn, year)?
    } else {
        HashMap::new()
    };
    let suspended = db::suspended_in(conn, year)?;
    let mut out = Vec::new();
    // decided ones may no longer be valid (the review suspended them): counted from the record
    let mut decided = match path {
        None => reviews.values().filter(|r| !r.result.is_empty()).count(),
        Some(_) => 0,
    };
    for c in certs {
        if !rules::is_due(rules, year, c.issued_on) {
            continue;
        }
        let first = reviews.remove(&c.id);
        if first.as_ref().is_some_and(|r| !r.result.is_empty()) {
            if path.is_some() {
                decided += 1;
            }
            continue;
        }
        let f = Facts {
            issued_on: c.issued_on,
            valid_until: c.valid_until,
            roster_in_post: matches!(
                certificate_eligibility(&c.employment_type, &c.status),
                Eligibility::Eligible
            ),
            unit_in_post: first.as_ref().and_then(|r| r.in_post),
            unit_violation: first.as_ref().and_then(|r| r.violation),
            opinion: first
                .as_ref()
                .and_then(|r| Opinion::parse(&r.first_opinion)),
            note: first
                .as_ref()
                .map(|r| r.first_note.clone())
                .unwrap_or_default(),
            suspended_in_year: suspended.contains(&c.id),
            training_hours: hours.get(&c.officer_id).copied(),
            best_exam_score: scores.get(&c.officer_id).copied(),
        };
        let verdict = rules::judge(rules, year, today, &f);
        out.push(Judged {
            due: c,
            first,
            verdict,
        });
    }
    Ok((out, decided))
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Counts {
    /// Due and not yet decided.
    pub due: usize,
    /// Of those, with the unit's first review.
    pub first_reviewed: usize,
    /// The verdict today.
    pub pass: usize,
    pub fail: usize,
    pub missing: usize,
}

impl Counts {
    fn add(&mut self, j: &Judged) {
        self.due += 1;
        if j.first
            .as_ref()
            .is_some_and(|r| !r.first_opinion.is_empty())
        {
            self.first_reviewed += 1;
        }
        match j.verdict.outcome {
            Outcome::Pass => self.pass += 1,
            Outcome::Fail => self.fail += 1,
            Outcome::Missing => self.missing += 1,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitCounts {
    pub unit_id: i64,
    pub unit: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewItem {
    pub number: String,
    pub name: String,
    pub unit: String,
    #[schema(value_type = Option<String>)]
    pub valid_until: Option<NaiveDate>,
    /// The unit's first-review opinion ('' if none).
    pub opinion: String,
    /// 合格 | 不合格 | 未年审
    pub outcome: Outcome,
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    pub round: Round,
    /// Already decided this year.
    pub decided: usize,
    pub counts: Counts,
    pub by_unit: Vec<UnitCounts>,
    /// This page of the certificates (filtered).
    pub items: Vec<PreviewItem>,
    pub matching: usize,
    pub page: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct PreviewQuery {
    /// 合格 | 不合格 | 未年审
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub unit_id: Option<i64>,
    #[serde(default)]
    pub page: Option<i64>,
}

/// The verdict on every certificate due in the round, nothing written (the bureau).
pub fn preview(conn: &mut DbConn, grant: &Grant, year: i32, q: &PreviewQuery) -> Result<Preview> {
    grant.require(Capability::ManageCerts)?;
    let round = round(conn, grant, year)?;
    summarize(conn, round, q)
}

/// The round a year would have if opened now (the last round's rules, the default deadline):
/// for a dry run before the bureau has opened it.
pub fn draft(conn: &mut DbConn, year: i32) -> Result<Round> {
    let rules = match db::rounds(conn)?.into_iter().next() {
        Some(last) => serde_json::from_str(&last.rules).unwrap_or_default(),
        None => Rules::default(),
    };
    let deadline = NaiveDate::from_ymd_opt(year + 1, 3, 31)
        .ok_or_else(|| Error::invalid("year", "年度无效"))?;
    let now = crate::db::now();
    Ok(Round {
        year,
        deadline,
        checks: rules.describe(),
        rules,
        opened_by: String::new(),
        opened_at: now,
        applied_at: None,
        status: deadline_status(deadline, now.date()).into(),
    })
}

/// The preview of `round` (the caller has checked the grant).
pub fn summarize(conn: &mut DbConn, round: Round, q: &PreviewQuery) -> Result<Preview> {
    let year = round.year;
    let outcome = match q.outcome.trim() {
        "" => None,
        s => Some(Outcome::parse(s).ok_or_else(|| {
            Error::BadRequest(format!("outcome 应为合格、不合格或未年审，而不是“{s}”"))
        })?),
    };
    let page = q.page.unwrap_or(1);
    if !(1..=100_000).contains(&page) {
        return Err(Error::BadRequest(format!(
            "page 应为 1 至 100000，而不是 {page}"
        )));
    }
    let (judged, decided) = judge_all(conn, year, &round.rules, None)?;
    let mut counts = Counts::default();
    let mut by_unit: Vec<UnitCounts> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    for j in &judged {
        counts.add(j);
        let i = *index.entry(j.due.unit_id).or_insert_with(|| {
            by_unit.push(UnitCounts {
                unit_id: j.due.unit_id,
                unit: j.due.unit.clone(),
                counts: Counts::default(),
            });
            by_unit.len() - 1
        });
        by_unit[i].counts.add(j);
    }
    let matching: Vec<&Judged> = judged
        .iter()
        .filter(|j| outcome.is_none_or(|o| j.verdict.outcome == o))
        .filter(|j| q.unit_id.is_none_or(|u| j.due.unit_id == u))
        .collect();
    let items = matching
        .iter()
        .skip(((page - 1) * 50) as usize)
        .take(50)
        .map(|j| PreviewItem {
            number: j.due.number.clone(),
            name: j.due.name.clone(),
            unit: j.due.unit.clone(),
            valid_until: j.due.valid_until,
            opinion: j
                .first
                .as_ref()
                .map(|r| r.first_opinion.clone())
                .unwrap_or_default(),
            outcome: j.verdict.outcome,
            findings: j.verdict.findings.clone(),
        })
        .collect();
    Ok(Preview {
        round,
        decided,
        counts,
        by_unit,
        items,
        matching: matching.len(),
        page,
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Override {
    pub number: String,
    /// 合格 | 不合格
    pub result: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ApplyInput {
    /// Where the bureau decides otherwise than the verdict, with why.
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// The number of certificates the preview showed as due: if it changed since, nothing is
    /// applied (409) and the bureau previews again.
    #[serde(default)]
    pub expected_due: Option<usize>,
}

/// One decision of a confirmed review.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanItem {
    /// certificates.id
    pub c: i64,
    pub o: Outcome,
    /// findings, 、-joined
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub f: String,
    /// the bureau's override reason
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplyPlan {
    pub year: i32,
    pub cancel: bool,
    pub basis: String,
    pub items: Vec<PlanItem>,
}

impl ApplyPlan {
    fn tally(&self) -> (usize, usize, usize) {
        let n = |o| self.items.iter().filter(|i| i.o == o).count();
        (n(Outcome::Pass), n(Outcome::Fail), n(Outcome::Missing))
    }
}

/// The bureau confirms the review of a year: every certificate due and undecided gets its
/// verdict (or the bureau's override), and those that fail or miss it are suspended or
/// cancelled. Runs as a job; drives it for up to `budget` here.
pub fn apply(
    conn: &mut DbConn,
    grant: &Grant,
    s: &crate::certs::Settings,
    year: i32,
    input: &ApplyInput,
    budget: Duration,
) -> Result<work::WorkStatus> {
    grant.require(Capability::ManageCerts)?;
    let round = round(conn, grant, year)?;
    let (judged, _) = judge_all(conn, year, &round.rules, None)?;
    if let Some(expected) = input.expected_due
        && expected != judged.len()
    {
        return Err(Error::Conflict {
            message: format!(
                "待审名单已变化（预览时 {expected} 张，现在 {} 张），请重新预览后再确认",
                judged.len()
            ),
            fields: Default::default(),
        });
    }
    let mut overrides: HashMap<&str, (Outcome, &str)> = HashMap::new();
    for o in &input.overrides {
        let result = match Outcome::parse(&o.result) {
            Some(r @ (Outcome::Pass | Outcome::Fail)) => r,
            _ => {
                return Err(Error::invalid(
                    "overrides",
                    format!(
                        "执法证 {} 的改判结果应为合格或不合格，而不是“{}”",
                        o.number, o.result
                    ),
                ));
            }
        };
        let reason = o.reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(Error::invalid(
                "overrides",
                format!("请写明改判执法证 {} 的理由（200 字以内）", o.number),
            ));
        }
        overrides.insert(o.number.trim(), (result, reason));
    }
    let mut items = Vec::with_capacity(judged.len());
    for j in &judged {
        let (o, r) = match overrides.remove(j.due.number.as_str()) {
            Some((o, r)) => (o, r.to_string()),
            None => (j.verdict.outcome, String::new()),
        };
        items.push(PlanItem {
            c: j.due.id,
            o,
            f: j.verdict.findings.join("、"),
            r,
        });
    }
    if let Some(number) = overrides.keys().next() {
        return Err(Error::invalid(
            "overrides",
            format!("执法证 {number} 不在本年度待审名单中"),
        ));
    }
    let plan = ApplyPlan {
        year,
        cancel: round.rules.on_fail == rules::OnFail::Cancel,
        basis: round.rules.basis.clone(),
        items,
    };
    let (p, f, m) = plan.tally();
    work::run(
        conn,
        s,
        grant.actor(),
        &format!("{year} 年度执法证年审（{} 张）", plan.items.len()),
        &work::Plan::Review(plan),
        budget,
        Change::new(
            "review.apply",
            "review",
            year.to_string(),
            format!(
                "确认 {year} 年度年审：合格 {p} 张，不合格 {f} 张，未年审 {m} 张，改判 {} 张",
                input.overrides.len()
            ),
        ),
    )
}

/// One step of a confirmed review: the decisions recorded (a plain pass of a certificate the
/// unit reviewed in one statement for the whole step), then the failed certificates suspended
/// or cancelled together, with one audit entry for the step.
pub fn apply_step(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    plan: &ApplyPlan,
    range: std::ops::Range<usize>,
) -> Result<Vec<String>> {
    let now = crate::db::now();
    let actor = rec.actor().name.clone();
    let items = &plan.items[range];
    let ids: Vec<i64> = items.iter().map(|i| i.c).collect();
    let existing = db::decisions_of(conn, plan.year, &ids)?;
    let mut skipped = Vec::new();
    let mut plain = Vec::new();
    let mut failed = Vec::new();
    for item in items {
        match existing.get(&item.c) {
            Some(result) if !result.is_empty() => {
                skipped.push(format!("证件 {}：本年度已审定，未重复审定", item.c));
                continue;
            }
            Some(_) if item.o == Outcome::Pass && item.f.is_empty() && item.r.is_empty() => {
                plain.push(item.c);
            }
            _ => {
                db::decide(
                    conn,
                    item.c,
                    plan.year,
                    item.o.label(),
                    &item.f,
                    &item.r,
                    &actor,
                    now,
                )?;
            }
        }
        if item.o != Outcome::Pass {
            let why = match item.o {
                Outcome::Missing => format!("{} 年度未参加年审", plan.year),
                _ if !item.r.is_empty() => {
                    format!("{} 年度年审不合格（改判：{}）", plan.year, item.r)
                }
                _ => format!("{} 年度年审不合格：{}", plan.year, item.f),
            };
            failed.push((item.c, why));
        }
    }
    db::pass_all(conn, plan.year, &plain, &actor, now)?;
    let ended = crate::certs::end_by_review(conn, &failed, plan.cancel, &plan.basis, &actor)?;
    if !ended.is_empty() {
        let what = if plan.cancel { "注销" } else { "暂扣" };
        rec.record(
            conn,
            Change::new(
                if plan.cancel {
                    "cert.cancel"
                } else {
                    "cert.suspend"
                },
                "certificate",
                format!("review-{}", plan.year),
                format!(
                    "{} 年度年审不合格或未年审，{what}执法证 {} 张（依据：{}）",
                    plan.year,
                    ended.len(),
                    plan.basis
                ),
            )
            .after(&serde_json::json!({ "numbers": ended, "basis": plan.basis })),
        )?;
    }
    Ok(skipped)
}

/// The review's last step: the round is marked applied, and the tally is in the audit trail.
pub fn finish(conn: &mut DbConn, rec: &mut audit::Recorder, plan: &ApplyPlan) -> Result<()> {
    db::mark_applied(conn, plan.year)?;
    let (p, f, m) = plan.tally();
    rec.record(
        conn,
        Change::new(
            "review.done",
            "review",
            plan.year.to_string(),
            format!(
                "{} 年度年审完成：合格 {p} 张，不合格 {f} 张，未年审 {m} 张",
                plan.year
            ),
        ),
    )?;
    Ok(())
}

/// One certificate's review record, latest first (for its page, its card and verification).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewRecord {
    pub year: i32,
    /// 合格 | 不合格 | 未年审
    pub result: String,
    pub findings: String,
    pub override_reason: String,
    #[schema(value_type = Option<String>)]
    pub decided_at: Option<NaiveDateTime>,
}

pub fn history(conn: &mut DbConn, certificate_id: i64) -> Result<Vec<ReviewRecord>> {
    Ok(db::history(conn, certificate_id)?
        .into_iter()
        .map(
            |(year, result, findings, override_reason, decided_at)| ReviewRecord {
                year,
                result,
                findings,
                override_reason,
                decided_at,
            },
        )
        .collect())
}

/// A unit's first review of one certificate.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct FirstEntry {
    pub number: String,
    /// 是否在行政执法岗位
    #[serde(default)]
    pub in_post: Option<bool>,
    /// 本年度是否有违纪违法行为
    #[serde(default)]
    pub violation: Option<bool>,
    /// 初审意见: 合格 | 不合格
    pub opinion: String,
    /// 备注
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FirstError {
    /// The sheet's row (or the entry's position, from 1, over the API).
    pub row: usize,
    pub column: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct FirstReport {
    pub rows: usize,
    pub recorded: usize,
    pub errors: Vec<FirstError>,
    pub notes: Vec<String>,
    /// Nothing was written because of errors.
    pub blocked: Option<String>,
    pub written: bool,
}

/// Records a unit's first review (初审) of its certificates for a year: the whole list is
/// checked first, and any error writes nothing. A certificate already decided by the bureau,
/// or outside the caller's units, is an error on its row.
pub fn record_first(
    conn: &mut DbConn,
    grant: &Grant,
    year: i32,
    entries: &[(usize, FirstEntry)],
    write: bool,
) -> Result<FirstReport> {
    grant.require(Capability::WriteRoster)?;
    let path = scope_path(grant)?;
    let round = round(conn, grant, year)?;
    let (judged, _) = judge_all(conn, year, &round.rules, path.as_deref())?;
    let due: HashMap<&str, i64> = judged
        .iter()
        .map(|j| (j.due.number.as_str(), j.due.id))
        .collect();
    let mut report = FirstReport {
        rows: entries.len(),
        ..Default::default()
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut good = Vec::new();
    for (row, e) in entries {
        let mut err = |column: &str, message: String| {
            report.errors.push(FirstError {
                row: *row,
                column: column.into(),
                message,
            })
        };
        let number = e.number.trim();
        let Some(id) = due.get(number) else {
            err(
                "执法证号",
                format!(
                    "执法证 {number} 不在本单位 {year} 年度待年审名单中（号码有误、证件已无效、当年新发，或已由司法局审定）"
                ),
            );
            continue;
        };
        if let Some(first) = seen.insert(number, *row) {
            err("执法证号", format!("与第 {first} 行重复"));
            continue;
        }
        let Some(opinion) = Opinion::parse(&e.opinion) else {
            err(
                "初审意见",
                format!("初审意见应为合格或不合格，而不是“{}”", e.opinion.trim()),
            );
            continue;
        };
        if e.note.chars().count() > 200 {
            err("备注", "备注不超过 200 字".into());
            continue;
        }
        good.push((*id, e, opinion));
    }
    report.recorded = good.len();
    if !report.errors.is_empty() {
        report.blocked = Some(format!(
            "有 {} 处错误，未记录任何初审意见（改正后重新提交）",
            report.errors.len()
        ));
        report.recorded = 0;
        return Ok(report);
    }
    if !write || good.is_empty() {
        return Ok(report);
    }
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let now = crate::db::now();
        let by = rec.actor().name.clone();
        for (id, e, opinion) in &good {
            db::put_first(
                conn,
                *id,
                year,
                e.in_post,
                e.violation,
                opinion.label(),
                e.note.trim(),
                &by,
                now,
            )?;
        }
        rec.record(
            conn,
            Change::new(
                "review.first",
                "review",
                year.to_string(),
                format!("报送 {year} 年度年审初审意见 {} 条", good.len()),
            ),
        )?;
        Ok(())
    })?;
    report.written = true;
    Ok(report)
}

/// A row of the 初审统计表.
#[derive(Debug, Clone)]
pub struct SheetRow {
    pub name: String,
    pub unit: String,
    pub number: String,
    pub valid_until: Option<NaiveDate>,
    pub in_post: Option<bool>,
    pub violation: Option<bool>,
    pub expired: bool,
    pub opinion: String,
    pub note: String,
}

/// The 初审统计表 of a year for the caller's units (or one unit): every certificate due and not
/// yet decided, pre-filled with what is known; `pending` keeps only those without a first review.
pub fn first_review_sheet(
    conn: &mut DbConn,
    grant: &Grant,
    year: i32,
    unit_id: Option<i64>,
    pending: bool,
) -> Result<(String, Vec<u8>)> {
    grant.require(Capability::ReadRoster)?;
    let mut path = scope_path(grant)?;
    let mut unit_name = String::new();
    if let Some(id) = unit_id {
        let u = crate::roster::db::unit(conn, id)?.ok_or_else(|| Error::not_found("单位"))?;
        if path
            .as_ref()
            .is_some_and(|p| !u.path.starts_with(p.as_str()))
        {
            return Err(Error::not_found("单位"));
        }
        path = Some(u.path);
        unit_name = u.name;
    }
    let round = round(conn, grant, year)?;
    let today = crate::db::now().date();
    let (judged, _) = judge_all(conn, year, &round.rules, path.as_deref())?;
    let rows: Vec<SheetRow> = judged
        .into_iter()
        .filter(|j| !pending || j.first.as_ref().is_none_or(|r| r.first_opinion.is_empty()))
        .map(|j| {
            let first = j.first.as_ref();
            SheetRow {
                in_post: first.and_then(|r| r.in_post).or(Some(
                    !j.verdict
                        .findings
                        .iter()
                        .any(|f| f.starts_with("名录库显示已不在")),
                )),
                violation: first.and_then(|r| r.violation),
                expired: j.due.valid_until.is_some_and(|d| d < today),
                opinion: first.map(|r| r.first_opinion.clone()).unwrap_or_default(),
                note: first.map(|r| r.first_note.clone()).unwrap_or_default(),
                name: j.due.name,
                unit: j.due.unit,
                number: j.due.number,
                valid_until: j.due.valid_until,
            }
        })
        .collect();
    let title = format!("{year}年度行政执法证件年审初审统计表");
    let bytes = sheet::first_review_xlsx(&title, &unit_name, &round, &rows)?;
    let file = if unit_name.is_empty() {
        format!("{title}.xlsx")
    } else {
        format!("{title}（{unit_name}）.xlsx")
    };
    Ok((file, bytes))
}

/// Reads an uploaded 初审统计表 and records it (`write`) or only checks it.
pub fn import_first_review(
    conn: &mut DbConn,
    grant: &Grant,
    year: i32,
    filename: &str,
    bytes: &[u8],
    write: bool,
) -> Result<FirstReport> {
    grant.require(Capability::WriteRoster)?;
    let (entries, mut errors, notes) = sheet::read_first_review(filename, bytes)?;
    let mut report = record_first(conn, grant, year, &entries, write && errors.is_empty())?;
    if !errors.is_empty() {
        errors.append(&mut report.errors);
        errors.sort_by_key(|e| e.row);
        report.blocked = Some(format!(
            "有 {} 处错误，未记录任何初审意见（改正后重新上传）",
            errors.len()
        ));
        report.recorded = 0;
        report.written = false;
        report.errors = errors;
    }
    report.rows = report.rows.max(entries.len());
    report.notes = notes;
    Ok(report)
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct TrainingReport {
    pub rows: usize,
    pub recorded: usize,
    pub errors: Vec<FirstError>,
    pub blocked: Option<String>,
    pub written: bool,
}

/// Imports the year's training hours (身份证号, 姓名, 学时) from a sheet: checked whole first.
pub fn import_training(
    conn: &mut DbConn,
    grant: &Grant,
    year: i32,
    filename: &str,
    bytes: &[u8],
    write: bool,
) -> Result<TrainingReport> {
    grant.require(Capability::ManageCerts)?;
    let this_year = crate::db::now().date().year();
    if !(2000..=this_year + 1).contains(&year) {
        return Err(Error::invalid(
            "year",
            format!("年度应为 2000 至 {} 年", this_year + 1),
        ));
    }
    let (rows, mut errors) = sheet::read_training(filename, bytes)?;
    let read_errors = errors.len();
    let ids: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let mut who: HashMap<String, (i64, String)> = HashMap::new();
    for chunk in ids.chunks(5000) {
        use crate::db::schema::officers;
        use diesel::prelude::*;
        for (id, idn, name) in officers::table
            .filter(officers::id_number.eq_any(chunk))
            .select((officers::id, officers::id_number, officers::name))
            .load::<(i64, String, String)>(conn)?
        {
            who.insert(idn, (id, name));
        }
    }
    let mut good = Vec::new();
    for (row, idn, name, hours) in &rows {
        match who.get(idn) {
            None => errors.push(FirstError {
                row: *row,
                column: "身份证号".into(),
                message: "名录库中没有此人".into(),
            }),
            Some((_, n)) if !name.is_empty() && name != n => errors.push(FirstError {
                row: *row,
                column: "姓名".into(),
                message: format!("姓名“{name}”与名录库中此身份证号的“{n}”不符"),
            }),
            Some((id, _)) => good.push((*id, *hours)),
        }
    }
    errors.sort_by_key(|e| e.row);
    let mut report = TrainingReport {
        rows: rows.len() + read_errors,
        recorded: good.len(),
        ..Default::default()
    };
    if !errors.is_empty() {
        report.blocked = Some(format!(
            "有 {} 处错误，未导入任何学时（改正后重新上传）",
            errors.len()
        ));
        report.recorded = 0;
        report.errors = errors;
        return Ok(report);
    }
    if !write || good.is_empty() {
        return Ok(report);
    }
    audit::transaction(conn, grant.actor(), |conn, rec| {
        for (id, hours) in &good {
            db::put_training(conn, *id, year, *hours, filename)?;
        }
        rec.record(
            conn,
            Change::new(
                "review.training",
                "review",
                year.to_string(),
                format!("导入 {year} 年度培训学时 {} 人（{filename}）", good.len()),
            ),
        )?;
        Ok(())
    })?;
    report.written = true;
    Ok(report)
}
