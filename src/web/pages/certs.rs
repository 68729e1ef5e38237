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
    let g = grant.clone();
    let n2 = n.clone();
    match state
        .db(move |c| certs::change_state(c, &g, &n2, &input))
        .await
    {
        Ok(_) => Ok(redirect(&format!(
            "/certificates/{}",
            urlencoding::encode(&n)
        ))),
        Err(e @ (Error::Invalid { .. } | Error::Closed(_))) => {
            let d = state.db(move |c| certs::get(c, &grant, &n)).await?;
            render_form(
                &DetailPage {
                    can_manage: true,
                    ctx: Ctx::new(&p, "certs"),
                    d,
                    error: e.to_string(),
                },
                true,
            )
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
        .db(move |c| certs::issue_batch(c, &grant, &settings, id, &confirm))
        .await?;
    render(&BatchPage {
        ctx: Ctx::new(&p, "certs"),
        r,
        done: true,
    })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/certificates", web::get().to(list))
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
