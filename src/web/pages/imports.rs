//! The import wizard: upload → preview (counts, errors, changes) → confirm. The uploaded file
//! waits in the database between the steps, so any replica can serve the next one.

use super::{Ctx, PageResult, read_multipart, redirect, render};
use crate::db::schema::import_jobs;
use crate::error::Error;
use crate::roster::import::{self, Options, Report};
use crate::web::{AppState, PageUser};
use actix_web::web;
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "import_upload.html")]
struct UploadPage {
    ctx: Ctx,
    is_admin: bool,
}

pub async fn upload_form(PageUser(p): PageUser) -> PageResult {
    p.require_roster_writer()?;
    render(&UploadPage {
        ctx: Ctx::new(&p, "imports"),
        is_admin: p.role == crate::auth::Role::Admin,
    })
}

pub async fn upload(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    mp: actix_multipart::Multipart,
) -> PageResult {
    let form = read_multipart(mp, state.config.max_upload_bytes).await?;
    p.check_csrf(form.fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    p.require_roster_writer()?;
    let (filename, bytes) = form
        .file
        .filter(|(_, b)| !b.is_empty())
        .ok_or_else(|| Error::invalid("file", "请选择要导入的 Excel 或 CSV 文件"))?;
    let opts = Options {
        skip_invalid: form.fields.contains_key("skip_invalid"),
        create_units: form.fields.contains_key("create_units"),
    };
    let user_id = p.user_id;
    let id: i64 = state
        .db(move |c| {
            // old, unconfirmed uploads are not kept
            let day_ago = crate::db::now() - chrono::TimeDelta::days(1);
            diesel::delete(
                import_jobs::table
                    .filter(import_jobs::created_at.lt(day_ago))
                    .filter(import_jobs::status.eq("pending")),
            )
            .execute(c)?;
            Ok(diesel::insert_into(import_jobs::table)
                .values((
                    import_jobs::user_id.eq(user_id),
                    import_jobs::filename.eq(&filename),
                    import_jobs::data.eq(&bytes),
                    import_jobs::status.eq("pending"),
                    import_jobs::created_at.eq(crate::db::now()),
                ))
                .returning(import_jobs::id)
                .get_result(c)?)
        })
        .await?;
    Ok(redirect(&format!(
        "/imports/{id}?skip_invalid={}&create_units={}",
        opts.skip_invalid, opts.create_units
    )))
}

#[derive(Template)]
#[template(path = "import_preview.html")]
struct PreviewPage {
    ctx: Ctx,
    id: i64,
    report: Report,
    opts: Options,
    is_admin: bool,
    /// the import was written (result page) or not (preview)
    done: bool,
    status: String,
}

fn job(
    c: &mut crate::db::DbConn,
    id: i64,
    user_id: i64,
) -> crate::error::Result<(String, Vec<u8>, String)> {
    import_jobs::table
        .find(id)
        .filter(import_jobs::user_id.eq(user_id))
        .select((
            import_jobs::filename,
            import_jobs::data,
            import_jobs::status,
        ))
        .first(c)
        .optional()?
        .ok_or_else(|| Error::NotFound("导入任务不存在或已过期，请重新上传".into()))
}

pub async fn preview(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
    q: web::Query<Options>,
) -> PageResult {
    p.require_roster_writer()?;
    let id = *id;
    let opts = q.into_inner();
    let scope = p.scope();
    let user_id = p.user_id;
    let (report, status) = state
        .db(move |c| {
            let (filename, data, status) = job(c, id, user_id)?;
            Ok((import::preview(c, &scope, &filename, &data, opts)?, status))
        })
        .await?;
    render(&PreviewPage {
        ctx: Ctx::new(&p, "imports"),
        id,
        report,
        opts,
        is_admin: p.role == crate::auth::Role::Admin,
        done: false,
        status,
    })
}

#[derive(Deserialize)]
pub struct ApplyForm {
    csrf: String,
    #[serde(default)]
    skip_invalid: Option<String>,
    #[serde(default)]
    create_units: Option<String>,
}

pub async fn apply(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
    form: web::Form<ApplyForm>,
) -> PageResult {
    p.check_csrf(&form.csrf)?;
    p.require_roster_writer()?;
    let id = *id;
    let opts = Options {
        skip_invalid: form.skip_invalid.is_some(),
        create_units: form.create_units.is_some(),
    };
    let scope = p.scope();
    let actor = p.actor();
    let user_id = p.user_id;
    let report = state
        .db(move |c| {
            let (filename, data, status) = job(c, id, user_id)?;
            if status == "applied" {
                return Err(Error::Conflict {
                    message: "这个文件已经导入过了".into(),
                    fields: Default::default(),
                });
            }
            let report = import::apply(c, &actor, &scope, &filename, &data, opts)?;
            if report.applied {
                diesel::update(import_jobs::table.find(id))
                    .set((
                        import_jobs::status.eq("applied"),
                        import_jobs::summary.eq(format!(
                            "新增 {}，更新 {}",
                            report.new_count, report.update_count
                        )),
                        import_jobs::finished_at.eq(Some(crate::db::now())),
                    ))
                    .execute(c)?;
            }
            Ok(report)
        })
        .await?;
    let done = report.applied;
    let mut r = render(&PreviewPage {
        ctx: Ctx::new(&p, "imports"),
        id,
        report,
        opts,
        is_admin: p.role == crate::auth::Role::Admin,
        done,
        status: if done {
            "applied".into()
        } else {
            "pending".into()
        },
    })?;
    if !done {
        *r.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}
