//! The OpenAPI document of the JSON API, generated from the handlers' `#[utoipa::path]`
//! annotations and the types they read and answer with, so a route cannot drift from its
//! documentation. Served at GET /api/openapi.json.

use super::{audit, auth, bank, cards, certs, exam, imports, reviews, roster, users, verify};
use crate::error::FieldErrors;
use actix_web::HttpResponse;
use serde::Serialize;
use std::sync::LazyLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "行政执法人员管理系统 API",
        version = env!("CARGO_PKG_VERSION"),
        description = "名录库、单位、账号、审计、题库与模拟练习。认证：`Authorization: Bearer <令牌>`（由 \
            `POST /api/v1/auth/token` 取得）。错误统一为 `{\"error\": {\"code\", \"message\", \
            \"fields\"}}`；数据库繁忙或不可达时答 503 并带 `Retry-After`。\
            时间均为 UTC，不带时区后缀（如 `2026-03-01T08:30:00.123456`）。",
    ),
    paths(
        super::healthz,
        auth::create_token,
        auth::delete_token,
        auth::me,
        auth::change_password,
        roster::list_units,
        roster::create_unit,
        roster::get_unit,
        roster::update_unit,
        roster::search,
        roster::create_officer,
        roster::get_officer,
        roster::update_officer,
        roster::history,
        roster::get_photo,
        roster::put_photo,
        roster::export,
        roster::template,
        imports::officers,
        users::list,
        users::create,
        users::reset_password,
        users::set_active,
        audit::list,
        audit::verify,
        bank::list,
        bank::create,
        bank::get,
        bank::edit,
        bank::set_status,
        bank::import,
        bank::export,
        bank::feasibility,
        bank::summary,
        bank::practice_paper,
        bank::practice_check,
        exam::login,
        exam::attempt,
        exam::save,
        exam::submit,
        exam::schedule,
        exam::submit_plan,
        exam::get_plan,
        exam::decide_plan,
        exam::extra_time,
        exam::extend_session,
        exam::results,
        exam::tickets,
        exam::report,
        certs::list,
        certs::issue,
        certs::get,
        certs::change_state,
        certs::preview_batch,
        certs::issue_batch,
        certs::to_do,
        certs::replace,
        certs::public_unit,
        cards::print,
        cards::qr,
        verify::get,
        verify::post,
        verify::keys,
        verify::status_list,
        verify::list_keys,
        verify::issue_key,
        verify::revoke_key,
        certs::import,
        certs::clean_up,
        exam::move_candidate,
        exam::analysis,
        exam::distribution,
        exam::my_results,
        exam::regrade,
        reviews::list,
        reviews::open,
        reviews::get,
        reviews::preview,
        reviews::apply,
        reviews::first_review,
        reviews::first_review_sheet,
        reviews::import_first_review,
        reviews::import_training,
        reviews::job,
    ),
    components(schemas(ErrorBody), responses(
        BadRequest,
        Unauthenticated,
        Forbidden,
        NotFound,
        Conflict,
        TooLarge,
        Invalid,
        Locked,
        TooManyRequests,
        Unavailable,
    )),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    tags(
        (name = "system", description = "运行状态"),
        (name = "auth", description = "令牌与当前用户"),
        (name = "units", description = "执法单位"),
        (name = "officers", description = "名录库：执法人员"),
        (name = "imports", description = "名册导入"),
        (name = "users", description = "账号（管理员）"),
        (name = "audit", description = "审计日志"),
        (name = "bank", description = "题库：浏览、录入、修改（版本）、停用、导入导出、组卷可行性"),
        (name = "practice", description = "模拟练习"),
        (name = "exam", description = "资格考试：排考与考场（考生以准考证登录）"),
        (name = "certificates", description = "执法证登记簿：核发、状态变更及其记录"),
        (name = "verify", description = "核验：公众按证号核验、执法机关批量核验（接口密钥）、公钥与状态列表（离线核验）"),
        (name = "reviews", description = "年审：规则、单位初审、司法局审定，以及后台任务进度"),
    )
)]
pub struct ApiDoc;

/// The `bearer` security scheme every authenticated operation names.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("POST /api/v1/auth/token 取得的令牌"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "X-API-Key",
                    "司法局发放给执法机关的核验接口密钥（zfk_ 开头）",
                ),
            )),
        );
    }
}

/// The body of every error answer: `web::error::ApiError` writes exactly this type.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, for programs: `bad_request`, `invalid`, `not_found`, `conflict`,
    /// `unauthenticated`, `bad_credentials`, `forbidden`, `csrf`, `locked`, `too_large`,
    /// `too_many_requests`, `unavailable`, `busy`, `import_blocked` (and `internal`).
    #[schema(example = "invalid")]
    pub code: &'static str,
    /// What went wrong, in Chinese, for people.
    pub message: String,
    /// Field name → what is wrong with it (validation errors and conflicts only).
    #[serde(skip_serializing_if = "FieldErrors::is_empty")]
    pub fields: FieldErrors,
}

/// A 422 of the import: rows that block it (`import_blocked`, with the report saying which rows
/// and why), or options that are wrong (`invalid`, with `fields` and no report).
#[derive(Serialize, ToSchema)]
pub struct ImportRejected {
    pub error: ErrorDetail,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<crate::roster::import::Report>,
}

/// The error answers the operations refer to (`components/responses`): each only describes
/// its status, the body is always an `ErrorBody`.
#[allow(dead_code)]
mod responses {
    use super::ErrorBody;
    use utoipa::ToResponse;

    /// 请求无法解析：JSON 格式或字段类型有误、查询参数有误、请求体无法读取（`bad_request`）
    #[derive(ToResponse)]
    pub struct BadRequest(ErrorBody);

    /// 未登录、令牌无效或已过期（`unauthenticated`）；换取令牌时用户名或密码错误（`bad_credentials`）
    #[derive(ToResponse)]
    #[response(headers(("WWW-Authenticate" = String, description = "Bearer")))]
    pub struct Unauthenticated(ErrorBody);

    /// 无权操作：角色不允许或账号已停用（`forbidden`），或以浏览器会话调用时缺少 X-CSRF-Token（`csrf`）
    #[derive(ToResponse)]
    pub struct Forbidden(ErrorBody);

    /// 记录不存在或不在调用者的管理范围内（`not_found`）
    #[derive(ToResponse)]
    pub struct NotFound(ErrorBody);

    /// 与已有记录冲突，如身份证号、单位代码、用户名重复（`conflict`，`fields` 指出字段）
    #[derive(ToResponse)]
    pub struct Conflict(ErrorBody);

    /// 请求体超过上限（`too_large`）
    #[derive(ToResponse)]
    pub struct TooLarge(ErrorBody);

    /// 输入不符合规则（`invalid`，`fields` 逐字段说明）
    #[derive(ToResponse)]
    pub struct Invalid(ErrorBody);

    /// 连续输错密码，账号已锁定（`locked`）
    #[derive(ToResponse)]
    pub struct Locked(ErrorBody);

    /// 同一地址登录失败过多，稍后再试（`too_many_requests`）
    #[derive(ToResponse)]
    #[response(headers(("Retry-After" = u64, description = "可重试前等待的秒数")))]
    pub struct TooManyRequests(ErrorBody);

    /// 数据库不可达（`unavailable`）或正忙于其他写入（`busy`），稍后重试
    #[derive(ToResponse)]
    #[response(headers(("Retry-After" = u64, description = "可重试前等待的秒数")))]
    pub struct Unavailable(ErrorBody);
}
pub use responses::*;

/// The document as served, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .expect("the OpenAPI document serialises")
});

pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}
