//! The certificates register over JSON.

use actix_web::{HttpResponse, web};

use super::{ApiResult, AppState, created};
use crate::certs::{
    self, BatchIssuance, CertDetail, CertPage, ConfirmIssuance, IssueInput, ListQuery, StateChange,
};
use crate::jobs::work;
use crate::web::ApiUser;

#[utoipa::path(
    get,
    path = "/api/v1/certificates",
    tag = "certificates",
    summary = "执法证登记簿：按证号或姓名、状态、单位查询（单位账号只见本单位及下级）",
    params(ListQuery),
    responses(
        (status = 200, description = "成功", body = CertPage),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<ListQuery>,
) -> ApiResult {
    let grant = p.grant();
    let page = state.db(move |c| certs::list(c, &grant, &q)).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(
    post,
    path = "/api/v1/certificates",
    tag = "certificates",
    summary = "核发一张执法证（司法局）：不符合条件的（非在编在岗、已持证、吊销后未满禁止期）说明原因并拒绝",
    request_body = IssueInput,
    responses(
        (status = 201, description = "已核发", body = CertDetail),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn issue(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<IssueInput>,
) -> ApiResult {
    let grant = p.grant();
    let settings = state.certs.clone();
    let d = state
        .db(move |c| certs::issue(c, &grant, &settings, &body))
        .await?;
    Ok(created(&d))
}

#[utoipa::path(
    get,
    path = "/api/v1/certificates/{number}",
    tag = "certificates",
    summary = "一张执法证及其全部变更记录",
    params(("number", description = "执法证号", example = "2207022600001X")),
    responses(
        (status = 200, description = "成功", body = CertDetail),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    number: web::Path<String>,
) -> ApiResult {
    let grant = p.grant();
    let d = state.db(move |c| certs::get(c, &grant, &number)).await?;
    Ok(HttpResponse::Ok().json(d))
}

#[utoipa::path(
    post,
    path = "/api/v1/certificates/{number}/state",
    tag = "certificates",
    summary = "变更执法证状态：suspend 暂扣、lift 解除暂扣、revoke 吊销（不可撤销）、cancel 注销；须写明理由，暂扣和吊销须写明法律依据",
    params(("number", description = "执法证号", example = "2207022600001X")),
    request_body = StateChange,
    responses(
        (status = 200, description = "已变更", body = CertDetail),
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
pub async fn change_state(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    number: web::Path<String>,
    body: web::Json<StateChange>,
) -> ApiResult {
    let grant = p.grant();
    let d = state
        .db(move |c| certs::change_state(c, &grant, &number, &body))
        .await?;
    Ok(HttpResponse::Ok().json(d))
}

#[utoipa::path(
    get,
    path = "/api/v1/exam/batches/{id}/certificates",
    tag = "certificates",
    summary = "按考试成绩批量核发的预览：谁将获发执法证，谁不能及原因（不写入任何数据）",
    params(("id", description = "考试批次 id", example = 1)),
    responses(
        (status = 200, description = "预览", body = BatchIssuance),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn preview_batch(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let grant = p.grant();
    let settings = state.certs.clone();
    let id = *id;
    let r = state
        .db(move |c| certs::preview_batch(c, &grant, &settings, id))
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

#[utoipa::path(
    post,
    path = "/api/v1/exam/batches/{id}/certificates",
    tag = "certificates",
    summary = "确认批量核发：为预览中列出的人员核发执法证（已不符合条件的拒绝并说明；人数多时转为后台任务）",
    params(("id", description = "考试批次 id", example = 1)),
    request_body = ConfirmIssuance,
    responses(
        (status = 201, description = "已核发（issued 为新证号）", body = BatchIssuance),
        (status = 202, description = "人数较多，已转为后台任务继续核发（job 为进度，GET /api/v1/jobs/{id} 查询）", body = BatchIssuance),
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
pub async fn issue_batch(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Json<ConfirmIssuance>,
) -> ApiResult {
    let grant = p.grant();
    let settings = state.certs.clone();
    let id = *id;
    let r = state
        .db(move |c| certs::issue_batch(c, &grant, &settings, id, &body, work::REQUEST_BUDGET))
        .await?;
    if r.job.as_ref().is_some_and(|j| !j.finished()) {
        return Ok(HttpResponse::Accepted().json(r));
    }
    Ok(created(&r))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ToDoList {
    items: Vec<certs::ToDo>,
}

#[utoipa::path(
    get,
    path = "/api/v1/certificates/to-do",
    tag = "certificates",
    summary = "待注销清单：持有效或暂扣执法证、但名录库中已不在执法岗位（调出、退休、辞退……）的人员",
    responses(
        (status = 200, description = "成功", body = ToDoList),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn to_do(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    let grant = p.grant();
    let items = state.db(move |c| certs::to_do(c, &grant)).await?;
    Ok(HttpResponse::Ok().json(ToDoList { items }))
}

#[utoipa::path(
    post,
    path = "/api/v1/certificates/{number}/replacement",
    tag = "certificates",
    summary = "换发或补发：按持证人现有信息核发新证，原证注销，新旧证互相关联；补发须写明遗失声明",
    params(("number", description = "执法证号", example = "2207022600001X")),
    request_body = certs::Replacement,
    responses(
        (status = 201, description = "新证", body = CertDetail),
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
pub async fn replace(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    number: web::Path<String>,
    body: web::Json<certs::Replacement>,
) -> ApiResult {
    let grant = p.grant();
    let settings = state.certs.clone();
    let d = state
        .db(move |c| certs::replace(c, &grant, &settings, &number, &body))
        .await?;
    Ok(created(&d))
}

#[utoipa::path(
    get,
    path = "/api/v1/public/units/{code}/officers",
    tag = "certificates",
    summary = "行政执法人员公示（无需登录）：本单位及下级单位持有效执法证的人员——姓名、单位、证号、类别、区域，不含身份证号和电话；证件状态变更即时生效",
    params(("code", description = "单位代码", example = "SYSFJ"), certs::public::PublicQuery),
    responses(
        (status = 200, description = "成功", body = certs::public::UnitListing),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn public_unit(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    code: web::Path<String>,
    q: web::Query<certs::public::PublicQuery>,
) -> ApiResult {
    let fields = state.certs.public;
    let l = state
        .public_db(&req, move |c| {
            certs::public::unit_listing(c, &fields, &code, &q)
        })
        .await?;
    Ok(HttpResponse::Ok().json(l))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// The file's name (its extension says the format: .xlsx, .xls, .ods, .csv).
    #[serde(default)]
    filename: String,
    /// Write; without it only the report is returned.
    #[serde(default)]
    apply: bool,
    /// Write the correct rows even if others have errors.
    #[serde(default)]
    skip_invalid: bool,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CertImportRejected {
    error: super::ErrorDetail,
    report: certs::import::CertImportReport,
}

#[utoipa::path(
    post,
    path = "/api/v1/imports/certificates",
    operation_id = "import_certificates",
    tag = "certificates",
    summary = "导入已有的执法证（表格）：先校验整份文件并逐行报告；apply=true 时写入",
    description = "请求体为文件本身。读取执法证号（证件编号、证号、证件号码……）、身份证号、姓名、发证机关、证件有效期（2028-06-01、2028.6、2020.02-2026.02 等写法）、发证日期、执法类别、执法区域、证件状态。\
        证号按原样保存；持证人按身份证号在名录库中查找。有错误时不写入任何数据（422 import_blocked，附报告），除非 skip_invalid=true。重复导入同一份文件不会重复登记。",
    params(ImportQuery),
    request_body(
        description = "执法证表格",
        content(
            (super::roster::File = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (super::roster::File = "text/csv"),
            (super::roster::File = "application/octet-stream"),
        ),
    ),
    responses(
        (status = 200, description = "校验报告（apply=true 时已写入）", body = certs::import::CertImportReport),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, description = "有错误而未写入（import_blocked，附报告）", body = CertImportRejected),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn import(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<ImportQuery>,
    body: web::Bytes,
) -> ApiResult {
    let grant = p.grant();
    let q = q.into_inner();
    let filename: String = if q.filename.trim().is_empty() {
        "upload.xlsx".into()
    } else {
        q.filename.trim().chars().take(200).collect()
    };
    let bureau = state.config.bureau_name.clone();
    let (apply, skip) = (q.apply, q.skip_invalid);
    let report = state
        .db(move |c| certs::import::import(c, &grant, &bureau, &filename, &body, skip, !apply))
        .await?;
    if let Some(why) = &report.blocked {
        return Ok(
            HttpResponse::UnprocessableEntity().json(CertImportRejected {
                error: super::ErrorDetail {
                    code: "import_blocked",
                    message: why.clone(),
                    fields: Default::default(),
                },
                report,
            }),
        );
    }
    Ok(HttpResponse::Ok().json(report))
}

#[utoipa::path(
    post,
    path = "/api/v1/certificates/cleanup",
    tag = "certificates",
    summary = "批量清理：把待注销清单（GET /api/v1/certificates/to-do 即预览）中选定的执法证注销（逐批执行，进度可查；每一批要么全部写入要么没有写入）",
    request_body = certs::CleanUp,
    responses(
        (status = 200, description = "已注销", body = certs::CleanedUp),
        (status = 202, description = "数量较多，已转为后台任务继续注销（job 为进度）", body = certs::CleanedUp),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn clean_up(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<certs::CleanUp>,
) -> ApiResult {
    let grant = p.grant();
    let settings = state.certs.clone();
    let r = state
        .db(move |c| certs::clean_up(c, &grant, &settings, &body, work::REQUEST_BUDGET))
        .await?;
    if !r.job.finished() {
        return Ok(HttpResponse::Accepted().json(r));
    }
    Ok(HttpResponse::Ok().json(r))
}
