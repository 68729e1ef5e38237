use super::{ApiResult, AppState, created};
use crate::roster::{self, UnitPatch, db::Search, model::OfficerInput, model::UnitInput};
use crate::web::ApiUser;
use actix_web::{HttpResponse, web};
use serde::Serialize;

/// The units the caller may see, in tree order.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UnitList {
    items: Vec<roster::model::Unit>,
}

/// An officer with their unit and whether they may hold a certificate.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OfficerDetail {
    officer: roster::model::Officer,
    unit: roster::model::Unit,
    /// True only when established staff in a serving status (`eligibility` says why not).
    may_hold_certificate: bool,
    eligibility: roster::rules::Eligibility,
    /// 可申领 / 不可申领 / 待确认
    eligibility_label: &'static str,
}

/// One posting of an officer: where and as what, from when to when.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PostingView {
    unit_id: i64,
    /// The unit's name.
    unit: String,
    post: String,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    started_at: chrono::NaiveDateTime,
    /// Empty for the current posting.
    #[schema(value_type = Option<String>, example = "2026-03-01T08:30:00")]
    ended_at: Option<chrono::NaiveDateTime>,
}

/// An officer's postings and the changes to their record, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OfficerHistory {
    postings: Vec<PostingView>,
    changes: Vec<roster::HistoryEntry>,
}

/// A file in the body of a request or an answer.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct File(#[allow(dead_code)] Vec<u8>);

#[utoipa::path(
    get,
    path = "/api/v1/units",
    tag = "units",
    summary = "可见范围内的全部单位（树序）",
    responses(
        (status = 200, description = "成功", body = UnitList),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn list_units(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    let grant = p.grant();
    let units = state.db(move |c| roster::units_in_scope(c, &grant)).await?;
    Ok(HttpResponse::Ok().json(UnitList { items: units }))
}

#[utoipa::path(
    get,
    path = "/api/v1/units/{id}",
    params(("id", description = "单位 id", example = 1)),
    tag = "units",
    summary = "单位详情",
    responses(
        (status = 200, description = "成功", body = roster::model::Unit),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn get_unit(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let unit = state
        .db(move |c| roster::visible_unit(c, &grant, id))
        .await?;
    Ok(HttpResponse::Ok().json(unit))
}

#[utoipa::path(
    post,
    path = "/api/v1/units",
    tag = "units",
    summary = "新建单位（管理员）",
    responses(
        (status = 201, description = "已创建", body = roster::model::Unit),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn create_unit(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<UnitInput>,
) -> ApiResult {
    let grant = p.grant();
    let unit = state
        .db(move |c| roster::create_unit(c, &grant, &body))
        .await?;
    Ok(created(&unit))
}

/// Fields absent from the body are left as they are; `parent_id: null` makes a root. All of
/// it happens in one transaction, or none of it.
#[utoipa::path(
    patch,
    path = "/api/v1/units/{id}",
    params(("id", description = "单位 id", example = 1)),
    tag = "units",
    summary = "修改、移动、停用或启用单位（管理员）",
    responses(
        (status = 200, description = "成功", body = roster::model::Unit),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn update_unit(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Json<UnitPatch>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let unit = state
        .db(move |c| roster::patch_unit(c, &grant, id, &body))
        .await?;
    Ok(HttpResponse::Ok().json(unit))
}

#[utoipa::path(
    get,
    path = "/api/v1/officers",
    operation_id = "search_officers",
    tag = "officers",
    summary = "检索名录库（分页）",
    params(Search),
    responses(
        (status = 200, description = "成功", body = roster::Page),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 404, response = super::openapi::NotFound),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn search(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<Search>,
) -> ApiResult {
    let grant = p.grant();
    let page = state.db(move |c| roster::search(c, &grant, &q)).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(
    get,
    path = "/api/v1/officers/{id}",
    params(("id", description = "人员 id", example = 1)),
    tag = "officers",
    summary = "人员详情",
    responses(
        (status = 200, description = "成功", body = OfficerDetail),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn get_officer(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let (o, u) = state.db(move |c| roster::officer(c, &grant, id)).await?;
    let view = roster::OfficerView::new(o, u.name.clone());
    Ok(HttpResponse::Ok().json(OfficerDetail {
        officer: view.officer,
        unit: u,
        may_hold_certificate: view.may_hold_certificate,
        eligibility: view.eligibility,
        eligibility_label: view.eligibility_label,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/officers",
    tag = "officers",
    summary = "新增人员",
    responses(
        (status = 201, description = "已创建", body = roster::model::Officer),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn create_officer(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<OfficerInput>,
) -> ApiResult {
    let grant = p.grant();
    let o = state
        .db(move |c| roster::create_officer(c, &grant, &body))
        .await?;
    Ok(created(&o))
}

/// Changes the fields present in the body (merged onto the record inside the write
/// transaction); a new `unit_id` is a transfer.
#[utoipa::path(
    patch,
    path = "/api/v1/officers/{id}",
    params(("id", description = "人员 id", example = 1)),
    tag = "officers",
    summary = "修改人员；unit_id 变化即为调动，保留任职记录",
    request_body(
        content = OfficerInput,
        description = "只含要修改的字段；未知字段答 422",
    ),
    responses(
        (status = 200, description = "成功", body = roster::model::Officer),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn update_officer(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Json<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let o = state
        .db(move |c| roster::patch_officer(c, &grant, id, body.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(o))
}

#[utoipa::path(
    get,
    path = "/api/v1/officers/{id}/history",
    params(("id", description = "人员 id", example = 1)),
    operation_id = "officer_history",
    tag = "officers",
    summary = "任职记录与修改历史",
    responses(
        (status = 200, description = "成功", body = OfficerHistory),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn history(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let (postings, changes) = state.db(move |c| roster::history(c, &grant, id)).await?;
    let postings: Vec<_> = postings
        .into_iter()
        .map(|(p, unit)| PostingView {
            unit_id: p.unit_id,
            unit,
            post: p.post,
            started_at: p.started_at,
            ended_at: p.ended_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(OfficerHistory { postings, changes }))
}

#[utoipa::path(
    get,
    path = "/api/v1/officers/{id}/photo",
    params(("id", description = "人员 id", example = 1)),
    tag = "officers",
    summary = "照片",
    responses(
        (status = 200, description = "照片文件", content(
            (File = "image/jpeg"),
            (File = "image/png"),
        )),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn get_photo(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let photo = state.db(move |c| roster::photo(c, &grant, id)).await?;
    Ok(crate::web::photo_response(photo))
}

#[utoipa::path(
    put,
    path = "/api/v1/officers/{id}/photo",
    params(("id", description = "人员 id", example = 1)),
    tag = "officers",
    summary = "上传照片（请求体为 JPEG 或 PNG 文件本身，至少 100×120 像素）",
    request_body(
        description = "照片文件；格式按内容识别",
        content(
            (File = "image/jpeg"),
            (File = "image/png"),
            (File = "application/octet-stream"),
        ),
    ),
    responses(
        (status = 204, description = "已保存"),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn put_photo(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let max = state.config.max_photo_bytes;
    state
        .db(move |c| roster::set_photo(c, &grant, id, &body, max))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/api/v1/exports/officers.xlsx",
    operation_id = "export_officers",
    tag = "officers",
    summary = "按检索条件导出 Excel（不分页）",
    params(Search),
    responses(
        (status = 200, description = "Excel 文件", content(
            (File = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn export(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<Search>,
) -> ApiResult {
    let grant = p.grant();
    let bytes = state
        .db(move |c| roster::export::officers_xlsx(c, &grant, &q))
        .await?;
    let name = format!(
        "行政执法人员名录_{}.xlsx",
        chrono::Local::now().format("%Y%m%d")
    );
    Ok(super::xlsx_response(&name, bytes))
}

#[utoipa::path(
    get,
    path = "/api/v1/templates/officers.xlsx",
    operation_id = "import_template",
    tag = "imports",
    summary = "导入模板",
    responses(
        (status = 200, description = "Excel 文件", content(
            (File = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn template(ApiUser(p): ApiUser) -> ApiResult {
    Ok(super::xlsx_response(
        "行政执法人员导入模板.xlsx",
        roster::export::template_xlsx(&p.grant())?,
    ))
}
