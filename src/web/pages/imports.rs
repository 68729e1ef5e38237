//! The import wizard: upload → preview (counts, errors, changes) → confirm. The uploaded file
//! waits in the database between the steps, so any replica can serve the next one.

use super::roster::{UnitOption, unit_options};
use super::{Ctx, PageResult, read_multipart, redirect, render};
use crate::auth::Capability;
use crate::error::Error;
use crate::roster::import::uploads;
use crate::roster::import::{self, Options, Report};
use crate::web::{AppState, PageForm, PageUser};
use actix_web::web;
use askama::Template;

#[derive(Template)]
#[template(path = "import_upload.html")]
struct UploadPage {
    ctx: Ctx,
    is_admin: bool,
    units: Vec<UnitOption>,
}

pub async fn upload_form(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    p.require(Capability::WriteRoster)?;
    let grant = p.grant();
    let units = state
        .db(move |c| crate::roster::units_in_scope(c, &grant))
        .await?;
    render(&UploadPage {
        ctx: Ctx::new(&p, "imports"),
        is_admin: p.grant().allows(Capability::ManageUnits),
        units: unit_options(&units)
            .into_iter()
            .filter(|u| u.active)
            .collect(),
    })
}

fn options_query(o: &Options) -> String {
    format!(
        "skip_invalid={}&create_units={}&unit_id={}",
        o.skip_invalid,
        o.create_units,
        o.unit_id.map(|u| u.to_string()).unwrap_or_default()
    )
}

pub async fn upload(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    mp: actix_multipart::Multipart,
) -> PageResult {
    let form = read_multipart(mp, state.config.max_upload_bytes).await?;
    p.check_csrf(form.fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    p.require(Capability::WriteRoster)?;
    let (filename, bytes) = form
        .file
        .filter(|(_, b)| !b.is_empty())
        .ok_or_else(|| Error::invalid("file", "请选择要导入的 Excel 或 CSV 文件"))?;
    let opts = Options {
        skip_invalid: form.fields.contains_key("skip_invalid"),
        create_units: form.fields.contains_key("create_units"),
        unit_id: form
            .fields
            .get("unit_id")
            .and_then(|v| v.trim().parse().ok()),
    };
    let grant = p.grant();
    let id = state
        .db(move |c| uploads::stash(c, &grant, &filename, &bytes))
        .await?;
    Ok(redirect(&format!("/imports/{id}?{}", options_query(&opts))))
}

#[derive(Template)]
#[template(path = "import_preview.html")]
struct PreviewPage {
    ctx: Ctx,
    id: i64,
    report: Report,
    opts: Options,
    options_query: String,
    is_admin: bool,
    /// the import was written (result page) or not (preview)
    done: bool,
}

fn preview_page(
    p: &crate::auth::Principal,
    id: i64,
    report: Report,
    opts: Options,
    done: bool,
) -> PreviewPage {
    PreviewPage {
        ctx: Ctx::new(p, "imports"),
        id,
        report,
        options_query: options_query(&opts),
        opts,
        is_admin: p.grant().allows(Capability::ManageUnits),
        done,
    }
}

pub async fn preview(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
    q: web::Query<Options>,
) -> PageResult {
    let id = *id;
    let opts = q.into_inner();
    let grant = p.grant();
    let report = state
        .db(move |c| {
            let up = uploads::pending(c, &grant, id)?;
            import::preview(c, &grant, &up.filename, &up.data, opts)
        })
        .await?;
    render(&preview_page(&p, id, report, opts, false))
}

/// The uploaded sheet with a 错误说明 column: every problem, for sending back to the unit.
pub async fn errors_xlsx(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
    q: web::Query<Options>,
) -> PageResult {
    let id = *id;
    let opts = q.into_inner();
    let grant = p.grant();
    let (name, bytes) = state
        .db(move |c| {
            let up = uploads::stashed(c, &grant, id)?;
            let bytes = import::annotated_sheet(c, &grant, &up.filename, &up.data, opts)?;
            let stem = up
                .filename
                .rsplit_once('.')
                .map(|(s, _)| s.to_string())
                .unwrap_or(up.filename);
            Ok((format!("{stem}_错误说明.xlsx"), bytes))
        })
        .await?;
    Ok(crate::web::api::xlsx_response(&name, bytes))
}

#[derive(serde::Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    skip_invalid: Option<String>,
    #[serde(default)]
    create_units: Option<String>,
    #[serde(default, deserialize_with = "crate::roster::db::empty_as_none")]
    unit_id: Option<i64>,
}

pub async fn apply(
    state: web::Data<AppState>,
    PageForm(p, form): PageForm<ApplyForm>,
    id: web::Path<i64>,
) -> PageResult {
    let id = *id;
    let opts = Options {
        skip_invalid: form.skip_invalid.is_some(),
        create_units: form.create_units.is_some(),
        unit_id: form.unit_id,
    };
    let grant = p.grant();
    let report = state
        .db(move |c| {
            let up = uploads::pending(c, &grant, id)?;
            let report = import::apply(c, &grant, &up.filename, &up.data, opts)?;
            if report.applied {
                uploads::mark_applied(
                    c,
                    id,
                    &format!("新增 {}，更新 {}", report.new_count, report.update_count),
                )?;
            }
            Ok(report)
        })
        .await?;
    let done = report.applied;
    let mut r = render(&preview_page(&p, id, report, opts, done))?;
    if !done {
        *r.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}
