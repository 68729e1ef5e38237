//! The annual review's pages (the rounds, one year's preview and confirmation, the units'
//! 初审统计表 down and up, training hours), the long jobs' progress, and the dashboard.

use actix_web::web;
use askama::Template;

use super::{Ctx, Form, PageResult, field, read_multipart, redirect, render, render_form};
use crate::auth::Capability;
use crate::certs::dashboard::{self, Dashboard};
use crate::error::Error;
use crate::jobs::work::{self, WorkStatus};
use crate::reviews::{self, FirstReport, Preview, PreviewQuery, Round, TrainingReport};
use crate::web::{AppState, PageForm, PageUser};

#[derive(Template)]
#[template(path = "reviews.html")]
struct RoundsPage {
    ctx: Ctx,
    rounds: Vec<Round>,
    can_manage: bool,
    next_year: i32,
    error: String,
}

impl RoundsPage {
    fn chinese(&self, d: &chrono::NaiveDate) -> String {
        crate::roster::rules::chinese_date(*d)
    }
}

impl DashboardPage {
    fn chinese(&self, d: &chrono::NaiveDate) -> String {
        crate::roster::rules::chinese_date(*d)
    }
}

async fn rounds_page(state: &AppState, p: &crate::auth::Principal, error: String) -> PageResult {
    let grant = p.grant();
    let rounds = state.db(move |c| reviews::rounds(c, &grant)).await?;
    let t = RoundsPage {
        ctx: Ctx::new(p, "reviews"),
        can_manage: p.grant().allows(Capability::ManageCerts),
        next_year: rounds
            .first()
            .map(|r| r.year + 1)
            .unwrap_or_else(|| chrono::Datelike::year(&crate::db::now().date())),
        rounds,
        error,
    };
    render_form(&t, !t.error.is_empty())
}

pub async fn list(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    rounds_page(&state, &p, String::new()).await
}

pub async fn open(state: web::Data<AppState>, PageForm(p, f): PageForm<Form>) -> PageResult {
    let year: i32 = match field(&f, "year").parse() {
        Ok(y) => y,
        Err(_) => return rounds_page(&state, &p, "请填写所审年度，如 2026".into()).await,
    };
    let deadline = match field(&f, "deadline").as_str() {
        "" => None,
        d => match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => return rounds_page(&state, &p, format!("截止日期“{d}”无法识别")).await,
        },
    };
    let num = |k: &str, default: f64| field(&f, k).parse::<f64>().unwrap_or(default);
    let rules = reviews::rules::Rules {
        in_post: f.contains_key("in_post"),
        no_violation: f.contains_key("no_violation"),
        not_expired: f.contains_key("not_expired"),
        training_hours: num("training_hours", 0.0),
        exam_after_years: num("exam_after_years", 0.0) as i32,
        exam_pass_score: num("exam_pass_score", 60.0),
        require_first_review: f.contains_key("require_first_review"),
        skip_issued_in_year: f.contains_key("skip_issued_in_year"),
        on_fail: if field(&f, "on_fail") == "注销" {
            reviews::rules::OnFail::Cancel
        } else {
            reviews::rules::OnFail::Suspend
        },
        basis: field(&f, "basis"),
    };
    let grant = p.grant();
    let input = reviews::OpenRound {
        year,
        deadline,
        rules: Some(rules),
    };
    match state.db(move |c| reviews::open(c, &grant, &input)).await {
        Ok(r) => Ok(redirect(&format!("/reviews/{}", r.year))),
        Err(e @ (Error::Invalid { .. } | Error::Conflict { .. })) => {
            rounds_page(&state, &p, e.to_string()).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "review.html")]
struct YearPage {
    ctx: Ctx,
    round: Round,
    preview: Option<Preview>,
    outcome: String,
    first: Option<FirstReport>,
    training: Option<TrainingReport>,
    error: String,
}

impl YearPage {
    fn date(&self, d: &Option<chrono::NaiveDate>) -> String {
        d.map(crate::roster::rules::chinese_date)
            .unwrap_or_else(|| "—".into())
    }
    fn has_next(&self, p: &Preview) -> bool {
        p.matching as i64 > p.page * 50
    }
    fn deadline(&self) -> String {
        crate::roster::rules::chinese_date(self.round.deadline)
    }
}

struct Shown {
    first: Option<FirstReport>,
    training: Option<TrainingReport>,
    error: String,
}

async fn year_page(
    state: &AppState,
    p: &crate::auth::Principal,
    year: i32,
    q: PreviewQuery,
    shown: Shown,
) -> PageResult {
    let grant = p.grant();
    let manage = grant.allows(Capability::ManageCerts);
    let outcome = q.outcome.clone();
    let (round, preview) = state
        .db(move |c| {
            let round = reviews::round(c, &grant, year)?;
            let preview = if manage {
                Some(reviews::preview(c, &grant, year, &q)?)
            } else {
                None
            };
            Ok((round, preview))
        })
        .await?;
    let has_errors = !shown.error.is_empty()
        || shown.first.as_ref().is_some_and(|r| r.blocked.is_some())
        || shown.training.as_ref().is_some_and(|r| r.blocked.is_some());
    render_form(
        &YearPage {
            ctx: Ctx::new(p, "reviews"),
            round,
            preview,
            outcome,
            first: shown.first,
            training: shown.training,
            error: shown.error,
        },
        has_errors,
    )
}

pub async fn year(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    year: web::Path<i32>,
    q: web::Query<PreviewQuery>,
) -> PageResult {
    let shown = Shown {
        first: None,
        training: None,
        error: String::new(),
    };
    year_page(&state, &p, *year, q.into_inner(), shown).await
}

pub async fn sheet(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    year: web::Path<i32>,
    q: web::Query<std::collections::HashMap<String, String>>,
) -> PageResult {
    let grant = p.grant();
    let year = *year;
    let pending = q.get("pending").is_some_and(|v| v == "1" || v == "true");
    let unit = q.get("unit_id").and_then(|v| v.parse().ok());
    let (name, bytes) = state
        .db(move |c| reviews::first_review_sheet(c, &grant, year, unit, pending))
        .await?;
    Ok(crate::web::api::xlsx_response(&name, bytes))
}

/// The units' 初审统计表 or the bureau's training hours, uploaded (check, or record).
pub async fn upload(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    path: web::Path<(i32, String)>,
    mp: actix_multipart::Multipart,
) -> PageResult {
    let (year, what) = path.into_inner();
    let form = read_multipart(mp, state.config.max_upload_bytes).await?;
    p.check_csrf(form.fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    let Some((name, bytes)) = form.file else {
        let shown = Shown {
            first: None,
            training: None,
            error: "请选择要上传的文件".into(),
        };
        return year_page(&state, &p, year, PreviewQuery::default(), shown).await;
    };
    let write = form.fields.get("apply").is_some_and(|v| v == "1");
    let grant = p.grant();
    let shown = match what.as_str() {
        "first-review" => {
            let r = state
                .db(move |c| reviews::import_first_review(c, &grant, year, &name, &bytes, write))
                .await?;
            Shown {
                first: Some(r),
                training: None,
                error: String::new(),
            }
        }
        "training" => {
            let r = state
                .db(move |c| reviews::import_training(c, &grant, year, &name, &bytes, write))
                .await?;
            Shown {
                first: None,
                training: Some(r),
                error: String::new(),
            }
        }
        _ => return Err(Error::NotFound("页面不存在".into()).into()),
    };
    year_page(&state, &p, year, PreviewQuery::default(), shown).await
}

/// The bureau confirms the year's review; overrides are lines "证号 合格|不合格 理由".
pub async fn apply(
    state: web::Data<AppState>,
    year: web::Path<i32>,
    PageForm(p, f): PageForm<Form>,
) -> PageResult {
    let year = *year;
    let mut overrides = Vec::new();
    for (i, line) in field(&f, "overrides").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, char::is_whitespace);
        let (Some(number), Some(result), Some(reason)) = (parts.next(), parts.next(), parts.next())
        else {
            let shown = Shown {
                first: None,
                training: None,
                error: format!("改判第 {} 行应写作“证号 合格（或不合格） 理由”", i + 1),
            };
            return year_page(&state, &p, year, PreviewQuery::default(), shown).await;
        };
        overrides.push(reviews::Override {
            number: number.into(),
            result: result.into(),
            reason: reason.trim().into(),
        });
    }
    let input = reviews::ApplyInput {
        overrides,
        expected_due: field(&f, "expected_due").parse().ok(),
    };
    let grant = p.grant();
    let settings = state.certs.clone();
    match state
        .db(move |c| reviews::apply(c, &grant, &settings, year, &input, work::REQUEST_BUDGET))
        .await
    {
        Ok(job) => Ok(redirect(&job.url)),
        Err(e @ (Error::Invalid { .. } | Error::Conflict { .. })) => {
            let shown = Shown {
                first: None,
                training: None,
                error: e.to_string(),
            };
            year_page(&state, &p, year, PreviewQuery::default(), shown).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    ctx: Ctx,
    job: WorkStatus,
}

pub async fn job(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
) -> PageResult {
    let grant = p.grant();
    let id = *id;
    let job = state.db(move |c| work::get(c, &grant, id)).await?;
    render(&JobPage {
        ctx: Ctx::new(&p, "reviews"),
        job,
    })
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: Ctx,
    d: Dashboard,
    states_svg: String,
    coverage_svg: String,
    expiring_svg: String,
    can_manage: bool,
}

/// The home page: the bureau's (or a liaison's) dashboard; others go to the roster.
pub async fn home(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    if !matches!(
        p.role,
        crate::auth::Role::Admin | crate::auth::Role::Liaison
    ) {
        return Ok(redirect("/officers"));
    }
    let grant = p.grant();
    let d = state.db(move |c| dashboard::dashboard(c, &grant)).await?;
    render(&DashboardPage {
        ctx: Ctx::new(&p, "home"),
        states_svg: dashboard::bars_svg(&d.states, "#1f5fa8"),
        coverage_svg: dashboard::coverage_svg(&d.units),
        expiring_svg: dashboard::bars_svg(&d.expiring_by_month, "#c77700"),
        can_manage: p.grant().allows(Capability::ManageCerts),
        d,
    })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/reviews", web::get().to(list))
        .route("/reviews", web::post().to(open))
        .route("/reviews/{year}", web::get().to(year))
        .route("/reviews/{year}/apply", web::post().to(apply))
        .route("/reviews/{year}/first-review.xlsx", web::get().to(sheet))
        .route("/reviews/{year}/{what}", web::post().to(upload))
        .route("/jobs/{id}", web::get().to(job));
}
