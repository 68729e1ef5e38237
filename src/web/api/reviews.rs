//! The annual review over the API, and the long jobs' progress.

use actix_web::{HttpResponse, web};

use super::{ApiResult, AppState, created};
use crate::jobs::work;
use crate::reviews::{self, ApplyInput, FirstEntry, OpenRound, PreviewQuery};
use crate::web::ApiUser;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RoundList {
    items: Vec<reviews::Round>,
}

#[utoipa::path(
    get,
    path = "/api/v1/reviews",
    tag = "reviews",
    summary = "各年度年审（规则、截止日期、是否已审定）",
    responses(
        (status = 200, description = "成功", body = RoundList),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn list(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    let grant = p.grant();
    let items = state.db(move |c| reviews::rounds(c, &grant)).await?;
    Ok(HttpResponse::Ok().json(RoundList { items }))
}

#[utoipa::path(
    post,
    path = "/api/v1/reviews",
    tag = "reviews",
    summary = "开启某年度年审：规则（缺省沿用上一年度）与截止日期（缺省为次年 3 月 31 日）",
    request_body = OpenRound,
    responses(
        (status = 201, description = "已开启", body = reviews::Round),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn open(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<OpenRound>,
) -> ApiResult {
    let grant = p.grant();
    let r = state.db(move |c| reviews::open(c, &grant, &body)).await?;
    Ok(created(&r))
}

#[utoipa::path(
    get,
    path = "/api/v1/reviews/{year}",
    tag = "reviews",
    summary = "某年度年审的规则与截止日期",
    params(("year", description = "所审年度", example = 2026)),
    responses(
        (status = 200, description = "成功", body = reviews::Round),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    year: web::Path<i32>,
) -> ApiResult {
    let grant = p.grant();
    let year = *year;
    let r = state.db(move |c| reviews::round(c, &grant, year)).await?;
    Ok(HttpResponse::Ok().json(r))
}

#[utoipa::path(
    get,
    path = "/api/v1/reviews/{year}/preview",
    tag = "reviews",
    summary = "年审预览：每张待审执法证按规则得出的结论（不合格的逐条列明原因），各单位汇总；不写入任何数据",
    params(("year", description = "所审年度", example = 2026), PreviewQuery),
    responses(
        (status = 200, description = "成功", body = reviews::Preview),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn preview(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    year: web::Path<i32>,
    q: web::Query<PreviewQuery>,
) -> ApiResult {
    let grant = p.grant();
    let year = *year;
    let r = state
        .db(move |c| reviews::preview(c, &grant, year, &q))
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

#[utoipa::path(
    post,
    path = "/api/v1/reviews/{year}/apply",
    tag = "reviews",
    summary = "确认年审：按预览结论（及改判）逐张记录结果，不合格、未年审的证件按规则暂扣或注销；作为后台任务逐批执行",
    params(("year", description = "所审年度", example = 2026)),
    request_body = ApplyInput,
    responses(
        (status = 200, description = "已完成", body = work::WorkStatus),
        (status = 202, description = "仍在进行（GET /api/v1/jobs/{id} 查询进度）", body = work::WorkStatus),
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
pub async fn apply(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    year: web::Path<i32>,
    body: web::Json<ApplyInput>,
) -> ApiResult {
    let grant = p.grant();
    let settings = state.certs.clone();
    let year = *year;
    let job = state
        .db(move |c| reviews::apply(c, &grant, &settings, year, &body, work::REQUEST_BUDGET))
        .await?;
    Ok(job_response(job))
}

fn job_response(job: work::WorkStatus) -> HttpResponse {
    if job.finished() {
        HttpResponse::Ok().json(job)
    } else {
        HttpResponse::Accepted()
            .insert_header(("Location", format!("/api/v1/jobs/{}", job.id)))
            .json(job)
    }
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct FirstReviewInput {
    pub entries: Vec<FirstEntry>,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct CheckQuery {
    /// Only check; write nothing.
    #[serde(default)]
    check: bool,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct FirstReviewRejected {
    error: super::ErrorDetail,
    /// Absent when the request itself was invalid (`invalid`, with `fields`).
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<reviews::FirstReport>,
}

fn first_response(report: reviews::FirstReport) -> HttpResponse {
    match &report.blocked {
        Some(why) => HttpResponse::UnprocessableEntity().json(FirstReviewRejected {
            error: super::ErrorDetail {
                code: "import_blocked",
                message: why.clone(),
                fields: Default::default(),
            },
            report: Some(report),
        }),
        None => HttpResponse::Ok().json(report),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/reviews/{year}/first-review",
    tag = "reviews",
    summary = "单位报送初审意见（是否在执法岗位、本年度有无违纪违法、初审意见、备注）；整份校验，有错误时不记录任何一条",
    params(("year", description = "所审年度", example = 2026), CheckQuery),
    request_body = FirstReviewInput,
    responses(
        (status = 200, description = "已记录（check=true 时仅校验）", body = reviews::FirstReport),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, description = "有错误而未记录（import_blocked，附逐条报告）", body = FirstReviewRejected),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn first_review(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    year: web::Path<i32>,
    q: web::Query<CheckQuery>,
    body: web::Json<FirstReviewInput>,
) -> ApiResult {
    let grant = p.grant();
    let year = *year;
    let write = !q.check;
    let entries: Vec<(usize, FirstEntry)> = body
        .into_inner()
        .entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| (i + 1, e))
        .collect();
    let report = state
        .db(move |c| reviews::record_first(c, &grant, year, &entries, write))
        .await?;
    Ok(first_response(report))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct SheetQuery {
    /// One unit (and its sub-units); default all the caller's units.
    #[serde(default)]
    unit_id: Option<i64>,
    /// Only the certificates without a first review yet.
    #[serde(default)]
    pending: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/reviews/{year}/first-review.xlsx",
    tag = "reviews",
    summary = "下载初审统计表（序号、姓名、工作单位、执法证号、证件有效期、是否在行政执法岗位、本年度是否有违纪违法行为、证件是否超过有效期限、初审意见、备注），已知情况预先填好",
    params(("year", description = "所审年度", example = 2026), SheetQuery),
    responses(
        (status = 200, description = "XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn first_review_sheet(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    year: web::Path<i32>,
    q: web::Query<SheetQuery>,
) -> ApiResult {
    let grant = p.grant();
    let year = *year;
    let (name, bytes) = state
        .db(move |c| reviews::first_review_sheet(c, &grant, year, q.unit_id, q.pending))
        .await?;
    Ok(super::xlsx_response(&name, bytes))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The year reviewed.
    year: i32,
    /// The file's name (its extension says the format).
    #[serde(default)]
    filename: String,
    /// Write; without it only the report is returned.
    #[serde(default)]
    apply: bool,
}

fn upload_name(q: &UploadQuery) -> String {
    if q.filename.trim().is_empty() {
        "upload.xlsx".into()
    } else {
        q.filename.trim().chars().take(200).collect()
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/imports/first-review",
    tag = "reviews",
    summary = "上传填好的初审统计表：整份校验并逐行报告；apply=true 时记录",
    params(UploadQuery),
    request_body(
        description = "初审统计表",
        content(
            (super::roster::File = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (super::roster::File = "application/octet-stream"),
        ),
    ),
    responses(
        (status = 200, description = "校验报告（apply=true 时已记录）", body = reviews::FirstReport),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, description = "有错误而未记录（import_blocked，附逐行报告）", body = FirstReviewRejected),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn import_first_review(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<UploadQuery>,
    body: web::Bytes,
) -> ApiResult {
    let grant = p.grant();
    let name = upload_name(&q);
    let (year, apply) = (q.year, q.apply);
    let report = state
        .db(move |c| reviews::import_first_review(c, &grant, year, &name, &body, apply))
        .await?;
    Ok(first_response(report))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TrainingRejected {
    error: super::ErrorDetail,
    /// Absent when the request itself was invalid (`invalid`, with `fields`: the year).
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<reviews::TrainingReport>,
}

#[utoipa::path(
    post,
    path = "/api/v1/imports/training",
    tag = "reviews",
    summary = "导入年度培训学时（身份证号、姓名、学时）：整份校验并逐行报告；apply=true 时写入（同一人同一年度以最后导入的为准）",
    params(UploadQuery),
    request_body(
        description = "培训学时表",
        content(
            (super::roster::File = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (super::roster::File = "text/csv"),
            (super::roster::File = "application/octet-stream"),
        ),
    ),
    responses(
        (status = 200, description = "校验报告（apply=true 时已写入）", body = reviews::TrainingReport),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, description = "有错误而未写入（import_blocked，附逐行报告）；年度无效（invalid）", body = TrainingRejected),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn import_training(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<UploadQuery>,
    body: web::Bytes,
) -> ApiResult {
    let grant = p.grant();
    let name = upload_name(&q);
    let (year, apply) = (q.year, q.apply);
    let report = state
        .db(move |c| reviews::import_training(c, &grant, year, &name, &body, apply))
        .await?;
    if let Some(why) = &report.blocked {
        return Ok(HttpResponse::UnprocessableEntity().json(TrainingRejected {
            error: super::ErrorDetail {
                code: "import_blocked",
                message: why.clone(),
                fields: Default::default(),
            },
            report: Some(report),
        }));
    }
    Ok(HttpResponse::Ok().json(report))
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    tag = "reviews",
    summary = "后台任务（批量核发、年审、清理）的进度与结果",
    params(("id", description = "任务 id", example = 1)),
    responses(
        (status = 200, description = "成功", body = work::WorkStatus),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn job(state: web::Data<AppState>, ApiUser(p): ApiUser, id: web::Path<i64>) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let j = state.db(move |c| work::get(c, &grant, id)).await?;
    Ok(HttpResponse::Ok().json(j))
}
