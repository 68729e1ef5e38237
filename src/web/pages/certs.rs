//! The certificates register's pages: the list, one certificate with its history and the
//! changes the bureau makes, and issuance from an exam batch's results (preview, then confirm).

use actix_web::web;
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime};

use super::{Ctx, Form, PageResult, field, redirect, render, render_form};
use crate::auth::Capability;
use crate::certs::{
    self, BatchIssuance, CertDetail, CertPage, ConfirmIssuance, ListQuery, StateChange,
};
use crate::error::Error;
use crate::web::{AppState, PageForm, PageUser};

#[derive(Template)]
#[template(path = "certs.html")]
struct ListPage {
    ctx: Ctx,
    can_manage: bool,
    page: CertPage,
    q: String,
    state: String,
    states: Vec<&'static str>,
}

impl ListPage {
    fn date(&self, d: &Option<NaiveDate>) -> String {
        d.map(crate::roster::rules::chinese_date)
            .unwrap_or_else(|| "—".into())
    }
}

pub async fn list(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    q: web::Query<ListQuery>,
) -> PageResult {
    let grant = p.grant();
    let q = q.into_inner();
    let (qs, st) = (q.q.clone(), q.state.clone());
    let page = state.db(move |c| certs::list(c, &grant, &q)).await?;
    render(&ListPage {
        can_manage: p.grant().allows(Capability::ManageCerts),
        ctx: Ctx::new(&p, "certs"),
        page,
        q: qs,
        state: st,
        states: certs::rules::CertState::labels(),
    })
}

#[derive(Template)]
#[template(path = "cert.html")]
struct DetailPage {
    ctx: Ctx,
    d: CertDetail,
    can_manage: bool,
    error: String,
}

impl DetailPage {
    fn date(&self, d: &Option<NaiveDate>) -> String {
        d.map(crate::roster::rules::chinese_date)
            .unwrap_or_else(|| "—".into())
    }
    fn datetime(&self, t: &NaiveDateTime) -> String {
        crate::roster::rules::chinese_datetime(t)
    }
}

pub async fn detail(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    number: web::Path<String>,
) -> PageResult {
    let grant = p.grant();
    let d = state.db(move |c| certs::get(c, &grant, &number)).await?;
    render(&DetailPage {
        can_manage: p.grant().allows(Capability::ManageCerts),
        ctx: Ctx::new(&p, "certs"),
        d,
        error: String::new(),
    })
}

/// The certificate's page again, saying why the bureau's change was refused.
async fn detail_refused(
    state: &AppState,
    p: &crate::auth::Principal,
    number: String,
    e: Error,
) -> PageResult {
    let grant = p.grant();
    let d = state.db(move |c| certs::get(c, &grant, &number)).await?;
    render_form(
        &DetailPage {
            can_manage: true,
            ctx: Ctx::new(p, "certs"),
            d,
            error: e.to_string(),
        },
        true,
    )
}

pub async fn change_state(
    state: web::Data<AppState>,
    number: web::Path<String>,
    PageForm(p, f): PageForm<Form>,
) -> PageResult {
    let grant = p.grant();
    let input = StateChange {
        action: field(&f, "action"),
        reason: field(&f, "reason"),
        basis: field(&f, "basis"),
    };
    let n = number.into_inner();
    let n2 = n.clone();
    match state
        .db(move |c| certs::change_state(c, &grant, &n2, &input))
        .await
    {
        Ok(_) => Ok(redirect(&format!(
            "/certificates/{}",
            urlencoding::encode(&n)
        ))),
        Err(e @ (Error::Invalid { .. } | Error::Closed(_))) => {
            detail_refused(&state, &p, n, e).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "cert_batch.html")]
struct BatchPage {
    ctx: Ctx,
    r: BatchIssuance,
    done: bool,
}

impl BatchPage {
    fn score(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x}")).unwrap_or_default()
    }
}

pub async fn batch_preview(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
) -> PageResult {
    let grant = p.grant();
    let settings = state.certs.clone();
    let id = *id;
    let r = state
        .db(move |c| certs::preview_batch(c, &grant, &settings, id))
        .await?;
    render(&BatchPage {
        ctx: Ctx::new(&p, "certs"),
        r,
        done: false,
    })
}

pub async fn batch_issue(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    PageForm(p, f): PageForm<Form>,
) -> PageResult {
    let grant = p.grant();
    let settings = state.certs.clone();
    let id = *id;
    let confirm = ConfirmIssuance {
        officer_ids: f
            .iter()
            .filter(|(k, v)| k.starts_with("officer_") && v.as_str() == "1")
            .filter_map(|(k, _)| k["officer_".len()..].parse().ok())
            .collect(),
        issued_on: None,
    };
    let r = state
        .db(move |c| {
            certs::issue_batch(
                c,
                &grant,
                &settings,
                id,
                &confirm,
                crate::jobs::work::REQUEST_BUDGET,
            )
        })
        .await?;
    if let Some(job) = r.job.as_ref().filter(|j| !j.finished()) {
        return Ok(redirect(&job.url));
    }
    render(&BatchPage {
        ctx: Ctx::new(&p, "certs"),
        r,
        done: true,
    })
}

#[derive(Template)]
#[template(path = "cert_tasks.html")]
struct TasksPage {
    ctx: Ctx,
    to_do: Vec<certs::ToDo>,
    jobs: Vec<crate::jobs::work::WorkStatus>,
    /// The one-by-one issue form's ID number and reason, and what went wrong.
    id_number: String,
    reason: String,
    issue_error: String,
    cleanup_error: String,
    import: Option<certs::import::CertImportReport>,
}

async fn tasks_page(
    state: &AppState,
    p: &crate::auth::Principal,
    fill: impl FnOnce(&mut TasksPage),
) -> PageResult {
    let grant = p.grant();
    let (to_do, jobs) = state
        .db(move |c| {
            Ok((
                certs::to_do(c, &grant)?,
                crate::jobs::work::recent(c, &grant)?,
            ))
        })
        .await?;
    let mut t = TasksPage {
        ctx: Ctx::new(p, "certs"),
        to_do,
        jobs,
        id_number: String::new(),
        reason: String::new(),
        issue_error: String::new(),
        cleanup_error: String::new(),
        import: None,
    };
    fill(&mut t);
    let errors = !t.issue_error.is_empty()
        || !t.cleanup_error.is_empty()
        || t.import.as_ref().is_some_and(|r| r.blocked.is_some());
    render_form(&t, errors)
}

/// The bureau's desk: issue one certificate, import a bureau's existing ones, the to-do list
/// with its clean-up, and the recent long jobs.
pub async fn tasks(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    p.require(Capability::ManageCerts)?;
    tasks_page(&state, &p, |_| {}).await
}

pub async fn issue_one(state: web::Data<AppState>, PageForm(p, f): PageForm<Form>) -> PageResult {
    let idn = field(&f, "id_number");
    let reason = field(&f, "reason");
    let grant = p.grant();
    let settings = state.certs.clone();
    let (i2, r2) = (idn.clone(), reason.clone());
    let outcome = state
        .db(move |c| {
            let parsed = crate::roster::rules::IdNumber::parse(&i2)
                .map_err(|e| Error::invalid("id_number", format!("身份证号“{i2}”{e}")))?;
            let o = crate::roster::db::officer_by_id_number(c, &parsed.to_string())?
                .ok_or_else(|| Error::invalid("id_number", "名录库中没有此身份证号的人员"))?;
            certs::issue(
                c,
                &grant,
                &settings,
                &certs::IssueInput {
                    officer_id: o.id,
                    issued_on: None,
                    reason: r2,
                },
            )
        })
        .await;
    match outcome {
        Ok(d) => Ok(redirect(&format!(
            "/certificates/{}",
            urlencoding::encode(&d.certificate.number)
        ))),
        Err(e @ (Error::Invalid { .. } | Error::Conflict { .. })) => {
            tasks_page(&state, &p, |t| {
                t.id_number = idn;
                t.reason = reason;
                t.issue_error = e.to_string();
            })
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn clean_up(state: web::Data<AppState>, PageForm(p, f): PageForm<Form>) -> PageResult {
    let numbers: Vec<String> = f
        .iter()
        .filter(|(k, v)| k.starts_with("cert_") && v.as_str() == "1")
        .map(|(k, _)| k["cert_".len()..].to_string())
        .collect();
    let input = certs::CleanUp {
        numbers,
        reason: field(&f, "reason"),
    };
    let grant = p.grant();
    let settings = state.certs.clone();
    match state
        .db(move |c| {
            certs::clean_up(
                c,
                &grant,
                &settings,
                &input,
                crate::jobs::work::REQUEST_BUDGET,
            )
        })
        .await
    {
        Ok(r) => Ok(redirect(&r.job.url)),
        Err(e @ Error::Invalid { .. }) => {
            tasks_page(&state, &p, |t| t.cleanup_error = e.to_string()).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A bureau's existing certificates from its sheet: checked first; written when asked.
pub async fn import(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    mp: actix_multipart::Multipart,
) -> PageResult {
    let form = super::read_multipart(mp, state.config.max_upload_bytes).await?;
    p.check_csrf(form.fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    let Some((name, bytes)) = form.file.filter(|(_, b)| !b.is_empty()) else {
        return tasks_page(&state, &p, |t| {
            t.import = Some(certs::import::CertImportReport {
                blocked: Some("请选择要导入的执法证表格".into()),
                ..Default::default()
            })
        })
        .await;
    };
    let apply = form.fields.get("apply").is_some_and(|v| v == "1");
    let skip = form.fields.get("skip_invalid").is_some_and(|v| v == "1");
    let grant = p.grant();
    let bureau = state.config.bureau_name.clone();
    let r = state
        .db(move |c| certs::import::import(c, &grant, &bureau, &name, &bytes, skip, !apply))
        .await?;
    tasks_page(&state, &p, |t| t.import = Some(r)).await
}

pub async fn replace(
    state: web::Data<AppState>,
    number: web::Path<String>,
    PageForm(p, f): PageForm<Form>,
) -> PageResult {
    let input = certs::Replacement {
        kind: field(&f, "kind"),
        reason: field(&f, "reason"),
        loss_notice: field(&f, "loss_notice"),
    };
    let grant = p.grant();
    let settings = state.certs.clone();
    let n = number.into_inner();
    let n2 = n.clone();
    match state
        .db(move |c| certs::replace(c, &grant, &settings, &n2, &input))
        .await
    {
        Ok(d) => Ok(redirect(&format!(
            "/certificates/{}",
            urlencoding::encode(&d.certificate.number)
        ))),
        Err(e @ (Error::Invalid { .. } | Error::Closed(_))) => {
            detail_refused(&state, &p, n, e).await
        }
        Err(e) => Err(e.into()),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/certificates/to-do", web::get().to(tasks))
        .route("/certificates/issue", web::post().to(issue_one))
        .route("/certificates/cleanup", web::post().to(clean_up))
        .route("/certificates/import", web::post().to(import))
        .route(
            "/certificates/{number}/replacement",
            web::post().to(replace),
        )
        .route("/certificates", web::get().to(list))
        .route("/certificates/{number}", web::get().to(detail))
        .route("/certificates/{number}/state", web::post().to(change_state))
        .route(
            "/exams/batches/{id}/certificates",
            web::get().to(batch_preview),
        )
        .route(
            "/exams/batches/{id}/certificates",
            web::post().to(batch_issue),
        );
}
