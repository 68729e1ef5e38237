use super::{ApiResult, AppState};
use crate::audit::{self, db::Filter};
use crate::web::ApiUser;
use actix_web::{HttpResponse, web};
use serde::Serialize;

/// Up to 100 entries, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    items: Vec<audit::db::Entry>,
    /// Pass as `before_seq` for the next (older) page; empty on the last page.
    next_before_seq: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "list_audit",
    tag = "audit",
    summary = "审计日志（新在前，每页 100 条）",
    params(Filter),
    responses(
        (status = 200, description = "成功", body = AuditPage),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<Filter>,
) -> ApiResult {
    p.require_audit_reader()?;
    let items = state.db(move |c| Ok(audit::db::list(c, &q, 100)?)).await?;
    let next = items
        .last()
        .map(|e| e.seq - 1)
        .filter(|s| *s > 0 && items.len() == 100);
    Ok(HttpResponse::Ok().json(AuditPage {
        items,
        next_before_seq: next,
    }))
}

/// Checks the chain, its signed checkpoints, the witness file and the append-only triggers.
#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    operation_id = "verify_audit",
    tag = "audit",
    summary = "校验审计链是否完整",
    responses(
        (status = 200, description = "校验结果（intact 为 false 时 problems 列出问题）", body = crate::audit::Verification),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn verify(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    p.require_audit_reader()?;
    let v = state.verify_audit().await?;
    Ok(HttpResponse::Ok().json(v))
}
