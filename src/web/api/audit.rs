use super::{ApiResult, AppState};
use crate::audit::{self, db::Filter};
use crate::web::ApiUser;
use actix_web::{HttpResponse, web};

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
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_before_seq": next})))
}

pub async fn verify(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    p.require_audit_reader()?;
    let v = state.db(audit::verify).await?;
    Ok(HttpResponse::Ok().json(v))
}
