//! The exam pages of units and the bureau: plans (submit, decide), batches (schedule, results,
//! tickets, score reports, statistics). The exam room itself is `/exam`.

use actix_web::{HttpRequest, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime, TimeZone};

use super::{Ctx, Errors, Form, PageResult, field, redirect, render, render_form};
use crate::auth::Capability;
use crate::bank::blueprint::{Blueprint, SectionSpec};
use crate::bank::rules::{Part, QuestionKind};
use crate::error::{Error, FieldErrors};
use crate::exams::analysis::BatchAnalysis;
use crate::exams::plans::{self, PlanCandidateInput, PlanInput, PlanSummary, PlanView, Refused};
use crate::exams::results::{BatchResults, BatchSummary};
use crate::exams::{self, BatchInput, SessionInput, tickets::TicketRequest};
use crate::roster::{self, model::Unit};
use crate::web::{AppState, PageForm, PageUser};

fn local_input(t: &NaiveDateTime) -> String {
    chrono::Utc
        .from_utc_datetime(t)
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// A `datetime-local` value (the bureau's local time) as stored (UTC).
fn from_local(s: &str) -> Option<NaiveDateTime> {
    let t = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M").ok()?;
    chrono::Local
        .from_local_datetime(&t)
        .earliest()
        .map(|l| l.naive_utc())
}

fn datetime(t: &NaiveDateTime) -> String {
    crate::roster::rules::chinese_datetime(t)
}

fn date(d: &NaiveDate) -> String {
    crate::roster::rules::chinese_date(*d)
}

fn num(v: &f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

// ------------------------------------------------------------------ the list

#[derive(Template)]
#[template(path = "exams.html")]
struct Index {
    ctx: Ctx,
    plans: Vec<PlanSummary>,
    batches: Vec<BatchSummary>,
    can_manage: bool,
}

impl Index {
    fn datetime(&self, t: &NaiveDateTime) -> String {
        datetime(t)
    }
}

pub async fn index(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    let grant = p.grant();
    let can_manage = grant.allows(Capability::ManageExams);
    let (plans, batches) = state
        .db(move |c| {
            let plans = plans::list(c, &grant)?;
            let batches = if can_manage {
                exams::results::batches(c, &grant)?
            } else {
                Vec::new()
            };
            Ok((plans, batches))
        })
        .await?;
    render(&Index {
        ctx: Ctx::new(&p, "exams"),
        plans,
        batches,
        can_manage,
    })
}

// ------------------------------------------------------------------ plans

#[derive(Template)]
#[template(path = "exam_plan_form.html")]
struct PlanForm {
    ctx: Ctx,
    units: Vec<Unit>,
    form: Form,
    errors: Errors,
}

impl PlanForm {
    fn v(&self, k: &str) -> String {
        field(&self.form, k)
    }
}

pub async fn new_plan(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    p.require(Capability::WriteRoster)?;
    let grant = p.grant();
    let units = state.db(move |c| roster::units_in_scope(c, &grant)).await?;
    render(&PlanForm {
        ctx: Ctx::new(&p, "exams"),
        units,
        form: Form::new(),
        errors: Errors::default(),
    })
}

/// One line per candidate: an ID number, optionally followed by an exemption after a comma or a
/// tab (持法律职业资格，免考公共法律知识), and 复训 to re-certify.
fn candidate_lines(text: &str) -> Vec<PlanCandidateInput> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut parts = l.splitn(2, [',', '，', '\t', ' ']);
            let id = parts.next().unwrap_or("").trim().to_string();
            let rest = parts.next().unwrap_or("").trim();
            let recertify = rest.contains("复训") || rest.contains("换证");
            PlanCandidateInput {
                officer_id: None,
                id_number: Some(id),
                exemption: rest
                    .replace("复训", "")
                    .replace("换证", "")
                    .trim()
                    .to_string(),
                recertify,
            }
        })
        .collect()
}

pub async fn submit_plan(state: web::Data<AppState>, PageForm(p, f): PageForm<Form>) -> PageResult {
    let grant = p.grant();
    let mut errors = FieldErrors::new();
    let start = NaiveDate::parse_from_str(&field(&f, "period_start"), "%Y-%m-%d");
    let end = NaiveDate::parse_from_str(&field(&f, "period_end"), "%Y-%m-%d");
    if start.is_err() {
        errors.insert("period_start".into(), "请选择计划考试期间的开始日期".into());
    }
    if end.is_err() {
        errors.insert("period_end".into(), "请选择计划考试期间的结束日期".into());
    }
    let unit_id = field(&f, "unit_id").parse::<i64>().ok();
    if unit_id.is_none() {
        errors.insert("unit_id".into(), "请选择申报单位".into());
    }
    let outcome = match (start, end, unit_id) {
        (Ok(period_start), Ok(period_end), Some(unit_id)) if errors.is_empty() => {
            let input = PlanInput {
                unit_id,
                title: field(&f, "title"),
                categories: field(&f, "categories")
                    .split([',', '，', '、', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                period_start,
                period_end,
                candidates: candidate_lines(&field(&f, "candidates")),
            };
            let g = grant.clone();
            match state.db(move |c| plans::submit(c, &g, &input)).await {
                Ok(s) => return plan_page(&p, s.plan, s.refused, FieldErrors::new()),
                Err(Error::Invalid { fields, .. }) | Err(Error::Conflict { fields, .. }) => {
                    Some(fields)
                }
                Err(e) => return Err(e.into()),
            }
        }
        _ => None,
    };
    if let Some(fields) = outcome {
        errors.extend(fields);
    }
    let units = state.db(move |c| roster::units_in_scope(c, &grant)).await?;
    render_form(
        &PlanForm {
            ctx: Ctx::new(&p, "exams"),
            units,
            form: f,
            errors: Errors(errors),
        },
        true,
    )
}

#[derive(Template)]
#[template(path = "exam_plan.html")]
struct PlanPage {
    ctx: Ctx,
    plan: PlanView,
    refused: Vec<Refused>,
    can_decide: bool,
    errors: Errors,
}

impl PlanPage {
    fn datetime(&self, t: &NaiveDateTime) -> String {
        datetime(t)
    }
    fn date(&self, d: &NaiveDate) -> String {
        date(d)
    }
}

fn plan_page(
    p: &crate::auth::Principal,
    plan: PlanView,
    refused: Vec<Refused>,
    errors: FieldErrors,
) -> PageResult {
    let has_errors = !errors.is_empty();
    render_form(
        &PlanPage {
            ctx: Ctx::new(p, "exams"),
            can_decide: p.grant().allows(Capability::ManageExams) && plan.status == plans::PENDING,
            plan,
            refused,
            errors: Errors(errors),
        },
        has_errors,
    )
}

pub async fn plan(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
) -> PageResult {
    let grant = p.grant();
    let id = *id;
    let plan = state.db(move |c| plans::view(c, &grant, id)).await?;
    plan_page(&p, plan, Vec::new(), FieldErrors::new())
}

pub async fn decide(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    PageForm(p, f): PageForm<Form>,
) -> PageResult {
    let grant = p.grant();
    let id = *id;
    let approve = field(&f, "action") != "reject";
    let chosen: Vec<i64> = f
        .iter()
        .filter(|(k, v)| k.starts_with("approve_") && v.as_str() == "1")
        .filter_map(|(k, _)| k["approve_".len()..].parse().ok())
        .collect();
    let meeting_date = NaiveDate::parse_from_str(&field(&f, "meeting_date"), "%Y-%m-%d");
    let decision = meeting_date.map(|meeting_date| plans::Decision {
        approve,
        approved_officer_ids: approve.then_some(chosen),
        meeting_ref: field(&f, "meeting_ref"),
        meeting_date,
        deciders: field(&f, "deciders")
            .split([',', '，', '、', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        note: field(&f, "note"),
    });
    let result = match decision {
        Ok(d) => {
            let g = grant.clone();
            state.db(move |c| plans::decide(c, &g, id, &d)).await
        }
        Err(_) => Err(Error::invalid("meeting_date", "请填写会议日期")),
    };
    match result {
        Ok(_) => Ok(redirect(&format!("/exams/plans/{id}"))),
        Err(Error::Invalid { fields, .. }) | Err(Error::Conflict { fields, .. }) => {
            let plan = state.db(move |c| plans::view(c, &grant, id)).await?;
            plan_page(&p, plan, Vec::new(), fields)
        }
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------------ batches

const SECTION_ROWS: usize = 4;
const SESSION_ROWS: usize = 3;

#[derive(Template)]
#[template(path = "exam_batch_form.html")]
struct BatchForm {
    ctx: Ctx,
    plans: Vec<PlanSummary>,
    parts: Vec<&'static str>,
    kinds: Vec<&'static str>,
    form: Form,
    problems: Vec<String>,
}

impl BatchForm {
    fn v(&self, k: &str) -> String {
        field(&self.form, k)
    }
    fn vi(&self, k: &str, i: &usize) -> String {
        field(&self.form, &format!("{k}{i}"))
    }
    fn checked(&self, k: &str) -> bool {
        self.form.get(k).is_some_and(|v| v == "1")
    }
    fn rows(&self) -> Vec<usize> {
        (1..=SECTION_ROWS).collect()
    }
    fn session_rows(&self) -> Vec<usize> {
        (1..=SESSION_ROWS).collect()
    }
}

fn batch_defaults() -> Form {
    let now = crate::db::now();
    let start = now + chrono::Duration::days(7);
    let mut f = Form::new();
    for (k, v) in [
        ("pass_mark", "60"),
        ("duration", "90"),
        ("show_score", "1"),
        ("use_mix", "1"),
        ("mix1", "0"),
        ("mix2", "40"),
        ("mix3", "45"),
        ("mix4", "15"),
        ("mix5", "0"),
        ("part1", "公共法律知识"),
        ("type1", "单选"),
        ("count1", "40"),
        ("points1", "1"),
        ("part2", "公共法律知识"),
        ("type2", "多选"),
        ("count2", "20"),
        ("points2", "2"),
        ("part3", "公共法律知识"),
        ("type3", "判断"),
        ("count3", "20"),
        ("points3", "1"),
        ("session_name1", "第一场"),
        ("session_capacity1", "500"),
    ] {
        f.insert(k.into(), v.into());
    }
    f.insert("session_start1".into(), local_input(&start));
    f.insert(
        "session_end1".into(),
        local_input(&(start + chrono::Duration::minutes(120))),
    );
    f
}

fn schedulable(plans: Vec<PlanSummary>) -> Vec<PlanSummary> {
    plans
        .into_iter()
        .filter(|p| p.status == plans::APPROVED || p.status == plans::PARTLY)
        .collect()
}

pub async fn new_batch(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    p.require(Capability::ManageExams)?;
    let grant = p.grant();
    let plans = state.db(move |c| plans::list(c, &grant)).await?;
    render(&BatchForm {
        ctx: Ctx::new(&p, "exams"),
        plans: schedulable(plans),
        parts: Part::labels(),
        kinds: QuestionKind::labels(),
        form: batch_defaults(),
        problems: Vec::new(),
    })
}

/// The batch the form describes, or what is wrong with it.
fn batch_input(f: &Form) -> Result<BatchInput, Vec<String>> {
    let mut problems = Vec::new();
    let mut sections = Vec::new();
    for i in 1..=SECTION_ROWS {
        let get = |k: &str| field(f, &format!("{k}{i}"));
        if get("part").is_empty() && get("type").is_empty() && get("count").is_empty() {
            continue;
        }
        match (get("count").parse::<u32>(), get("points").parse::<f64>()) {
            (Ok(count), Ok(points)) => sections.push(SectionSpec {
                part: get("part"),
                category: Some(get("category")).filter(|c| !c.is_empty()),
                kind: get("type"),
                count,
                points,
                partial_credit: Some(get("credit")).filter(|c| !c.is_empty()),
            }),
            _ => problems.push(format!("组卷规则第 {i} 行：题量和每题分值须为数字")),
        }
    }
    let difficulty_mix = (field(f, "use_mix") == "1").then(|| {
        (1..=5)
            .map(|d| field(f, &format!("mix{d}")).parse().unwrap_or(0))
            .collect()
    });
    let mut sessions = Vec::new();
    for i in 1..=SESSION_ROWS {
        let get = |k: &str| field(f, &format!("session_{k}{i}"));
        if get("name").is_empty() && get("start").is_empty() {
            continue;
        }
        match (
            from_local(&get("start")),
            from_local(&get("end")),
            get("capacity").parse::<i32>(),
        ) {
            (Some(starts_at), Some(ends_at), Ok(capacity)) => sessions.push(SessionInput {
                name: get("name"),
                starts_at,
                ends_at,
                capacity,
            }),
            _ => problems.push(format!("场次第 {i} 行：请填写开始、结束时间和容量（人数）")),
        }
    }
    let plan_ids: Vec<i64> = f
        .iter()
        .filter(|(k, v)| k.starts_with("plan_") && v.as_str() == "1")
        .filter_map(|(k, _)| k["plan_".len()..].parse().ok())
        .collect();
    let pass_mark = field(f, "pass_mark").parse::<f64>();
    let duration = field(f, "duration").parse::<i32>();
    if pass_mark.is_err() {
        problems.push("合格分数线须为数字".into());
    }
    if duration.is_err() {
        problems.push("考试时长须为分钟数".into());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(BatchInput {
        title: field(f, "title"),
        blueprint: Blueprint {
            sections,
            difficulty_mix,
        },
        pass_mark: pass_mark.unwrap_or(60.0),
        duration_minutes: duration.unwrap_or(0),
        show_score: field(f, "show_score") == "1",
        sessions,
        plan_ids,
        officer_ids: Vec::new(),
        allocation: Some(field(f, "allocation")).filter(|s| !s.is_empty()),
        assignments: Vec::new(),
        return_access_codes: false,
    })
}

pub async fn schedule(state: web::Data<AppState>, PageForm(p, f): PageForm<Form>) -> PageResult {
    let grant = p.grant();
    let problems = match batch_input(&f) {
        Ok(input) => {
            let (g, key) = (grant.clone(), state.exam_key.clone());
            match state
                .db(move |c| exams::schedule(c, &g, &key, &input))
                .await
            {
                Ok(s) => {
                    return Ok(redirect(&format!(
                        "/exams/batches/{}?scheduled=1",
                        s.batch_id
                    )));
                }
                Err(Error::Invalid { fields, .. }) | Err(Error::Conflict { fields, .. }) => {
                    fields.into_values().collect()
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(p) => p,
    };
    let plans = state.db(move |c| plans::list(c, &grant)).await?;
    render_form(
        &BatchForm {
            ctx: Ctx::new(&p, "exams"),
            plans: schedulable(plans),
            parts: Part::labels(),
            kinds: QuestionKind::labels(),
            form: f,
            problems,
        },
        true,
    )
}

#[derive(Template)]
#[template(path = "exam_batch.html")]
struct BatchPage {
    ctx: Ctx,
    r: BatchResults,
    units: Vec<Unit>,
    scheduled: bool,
}

impl BatchPage {
    fn num(&self, v: &f64) -> String {
        num(v)
    }
    fn score(&self, v: &Option<f64>) -> String {
        v.as_ref().map(num).unwrap_or_else(|| "—".into())
    }
}

pub async fn batch(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
    q: web::Query<Form>,
) -> PageResult {
    let grant = p.grant();
    let id = *id;
    let (r, units) = state
        .db(move |c| {
            let r = exams::results::batch(c, &grant, id)?;
            Ok((r, roster::units_in_scope(c, &grant)?))
        })
        .await?;
    render(&BatchPage {
        ctx: Ctx::new(&p, "exams"),
        r,
        units,
        scheduled: q.contains_key("scheduled"),
    })
}

pub async fn results_xlsx(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
) -> PageResult {
    let grant = p.grant();
    let id = *id;
    let r = state
        .db(move |c| exams::results::batch(c, &grant, id))
        .await?;
    Ok(crate::web::api::xlsx_response(
        &format!("{}成绩表.xlsx", r.code),
        exams::results::xlsx(&r)?,
    ))
}

pub async fn tickets(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    PageForm(p, f): PageForm<Form>,
) -> PageResult {
    let grant = p.grant();
    let id = *id;
    let body = TicketRequest {
        unit_id: field(&f, "unit_id").parse().ok(),
        ticket_nos: field(&f, "ticket_nos")
            .split([',', '，', '、', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        format: Some(field(&f, "format")).filter(|s| !s.is_empty()),
    };
    Ok(crate::web::api::exam::ticket_download(&state, grant, &req, id, body).await?)
}

pub async fn report(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    ticket: web::Path<String>,
) -> PageResult {
    Ok(crate::web::api::exam::report_download(&state, p.grant(), ticket.into_inner()).await?)
}

pub async fn regrade(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    PageForm(p, _f): PageForm<Form>,
) -> PageResult {
    let grant = p.grant();
    let papers = state.papers.clone();
    let id = *id;
    state
        .db(move |c| exams::regrade(c, &grant, &papers, id))
        .await?;
    Ok(redirect(&format!("/exams/batches/{id}")))
}

#[derive(Template)]
#[template(path = "exam_analysis.html")]
struct AnalysisPage {
    ctx: Ctx,
    a: BatchAnalysis,
}

impl AnalysisPage {
    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{:.0}%", x * 100.0))
            .unwrap_or_else(|| "—".into())
    }
    fn r2(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "—".into())
    }
    fn f2(&self, v: &f64) -> String {
        format!("{v:.2}")
    }
    fn p(&self, v: &f64) -> String {
        format!("{v:.1e}")
    }
}

pub async fn analysis(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
) -> PageResult {
    let grant = p.grant();
    let papers = state.papers.clone();
    let id = *id;
    let a = state
        .db(move |c| exams::analysis::analyse(c, &grant, &papers, id))
        .await?;
    render(&AnalysisPage {
        ctx: Ctx::new(&p, "exams"),
        a,
    })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/exams", web::get().to(index))
        .route("/exams/plans", web::post().to(submit_plan))
        .route("/exams/plans/new", web::get().to(new_plan))
        .route("/exams/plans/{id}", web::get().to(plan))
        .route("/exams/plans/{id}/decision", web::post().to(decide))
        .route("/exams/batches", web::post().to(schedule))
        .route("/exams/batches/new", web::get().to(new_batch))
        .route("/exams/batches/{id}", web::get().to(batch))
        .route(
            "/exams/batches/{id}/results.xlsx",
            web::get().to(results_xlsx),
        )
        .route("/exams/batches/{id}/tickets", web::post().to(tickets))
        .route("/exams/batches/{id}/regrade", web::post().to(regrade))
        .route("/exams/batches/{id}/analysis", web::get().to(analysis))
        .route("/exams/reports/{ticket}", web::get().to(report));
}
