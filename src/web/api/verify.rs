//! Verification over JSON: public lookups, agencies' bulk calls, the keys and the status list,
//! and the bureau's management of agencies' API keys.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiResult, AppState, created};
use crate::error::Error;
use crate::verify::{self, ApiKey, BatchItem, Checked, PublishedKeys, StatusList};
use crate::web::ApiUser;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct VerifyQuery {
    /// The holder's name, if the verifier wants it checked (the answer says whether it matches).
    /// A lookup with a name counts as ten against the client's rate limit: each is a guess.
    name: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/verify/{number}",
    tag = "verify",
    summary = "核验一张执法证（无需登录，按来源地址限流）：状态、姓名（部分隐去）、单位、类别、区域、有效期、最近年审；状态变更即时生效",
    params(("number", description = "执法证号", example = "2207022600001X"), VerifyQuery),
    security(()),
    responses(
        (status = 200, description = "查到", body = Checked),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 422, response = super::openapi::Invalid),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    number: web::Path<String>,
    q: web::Query<VerifyQuery>,
) -> ApiResult {
    let pattern = state.certs.pattern.clone();
    let cost = verify::lookup_cost(q.name.as_deref());
    let checked = state
        .public_read(&req, cost, move |c| {
            verify::lookup(c, &pattern, &number, q.name.as_deref())
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(checked))
}

/// A bulk call: up to 1,000 numbers.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct BatchRequest {
    /// Certificate numbers, at most 1,000.
    pub numbers: Vec<String>,
}

/// The answer to a bulk call, one item per number in the order sent.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BatchAnswer {
    pub results: Vec<BatchItem>,
    /// How many were found.
    pub found: usize,
}

fn presented_key(req: &HttpRequest) -> Option<String> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    };
    header("X-API-Key")
        .or_else(|| {
            header("Authorization")
                .and_then(|v| v.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
        })
        .filter(|k| !k.is_empty())
}

#[utoipa::path(
    post,
    path = "/api/v1/verify",
    tag = "verify",
    summary = "批量核验（执法机关凭司法局发放的核验接口密钥，放在 X-API-Key 头）：一次最多 1000 个证号，逐个返回结果；每次调用都计数",
    request_body = BatchRequest,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "逐个证号的结果", body = BatchAnswer),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<BatchRequest>,
) -> ApiResult {
    let Some(secret) = presented_key(&req) else {
        return Err(Error::WrongCredentials(
            "请在 X-API-Key 请求头中提供司法局发放的核验接口密钥".into(),
        )
        .into());
    };
    let pattern = state.certs.pattern.clone();
    let limiter = state.key_limiter.clone();
    let answer = state
        .db(move |c| {
            let key = verify::authenticate(c, &secret)?;
            limiter.hit(c, &key.id.to_string()).map_err(|wait| {
                Error::too_many(
                    format!("该密钥每分钟最多调用 {} 次，请稍后再试", limiter.limit()),
                    wait,
                )
            })?;
            let results = verify::lookup_many(c, &pattern, &body.numbers)?;
            verify::count_use(c, &key, body.numbers.len())?;
            let found = results.iter().filter(|r| r.certificate.is_some()).count();
            Ok(BatchAnswer { results, found })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(answer))
}

#[utoipa::path(
    get,
    path = "/api/v1/keys",
    tag = "verify",
    summary = "验证执法证二维码与状态列表所用的公钥（含已轮换、仍可验证旧证的公钥）",
    security(()),
    responses(
        (status = 200, description = "公钥列表", body = PublishedKeys),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn keys(state: web::Data<AppState>, req: HttpRequest) -> ApiResult {
    let s = state.clone();
    let keys = state
        .public_read(&req, 1, move |_| {
            Ok(verify::published_keys(
                &s.keyring,
                s.config.signing_algorithm,
                &s.config.bureau_name,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(keys))
}

#[utoipa::path(
    get,
    path = "/api/v1/status-list",
    tag = "verify",
    summary = "签名的吊销与暂扣状态列表（每证一位，gzip 压缩，仿 W3C Bitstring Status List）：离线核验时据此发现已吊销、暂扣的证件",
    security(()),
    responses(
        (status = 200, description = "状态列表", body = StatusList),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn status_list(state: web::Data<AppState>, req: HttpRequest) -> ApiResult {
    let s = state.clone();
    let list = state
        .public_db(&req, move |c| {
            verify::status_list(
                c,
                &s.keyring,
                s.config.signing_algorithm,
                &s.config.bureau_name,
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-cache"))
        .json(list))
}

/// A key to issue.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct NewApiKey {
    /// The agency (使用单位).
    pub name: String,
    /// Who to call about it.
    #[serde(default)]
    pub contact: String,
}

/// A key just issued: `secret` is shown this once and never again.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IssuedApiKey {
    pub key: ApiKey,
    /// The key to give the agency (X-API-Key). Only its hash is kept.
    pub secret: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/api-keys",
    tag = "verify",
    summary = "核验接口密钥（司法局）：发放对象、调用次数、核验证号数、最近使用",
    responses(
        (status = 200, description = "成功", body = Vec<ApiKey>),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn list_keys(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    let grant = p.grant();
    let keys = state.db(move |c| verify::list_keys(c, &grant)).await?;
    Ok(HttpResponse::Ok().json(keys))
}

#[utoipa::path(
    post,
    path = "/api/v1/api-keys",
    tag = "verify",
    summary = "向执法机关发放核验接口密钥（司法局）：密钥只在此时显示一次，系统只保存其摘要",
    request_body = NewApiKey,
    responses(
        (status = 201, description = "已发放", body = IssuedApiKey),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn issue_key(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<NewApiKey>,
) -> ApiResult {
    let grant = p.grant();
    let (key, secret) = state
        .db(move |c| verify::issue_key(c, &grant, &body.name, &body.contact))
        .await?;
    Ok(created(&IssuedApiKey { key, secret }))
}

#[utoipa::path(
    post,
    path = "/api/v1/api-keys/{id}/revoke",
    tag = "verify",
    summary = "作废一个核验接口密钥（司法局）：立即在所有服务实例上失效",
    params(("id", description = "密钥编号")),
    responses(
        (status = 200, description = "已作废", body = ApiKey),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn revoke_key(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let grant = p.grant();
    let id = id.into_inner();
    let key = state.db(move |c| verify::revoke_key(c, &grant, id)).await?;
    Ok(HttpResponse::Ok().json(key))
}
