use super::{ApiResult, AppState};
use crate::auth::{self, SessionKind};
use crate::error::Error;
use crate::web::{ApiUser, client_ip};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    username: String,
    password: String,
}

/// A new bearer token and whose it is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Token {
    token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// When the token ends unless used (each use slides it).
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    expires_at: chrono::NaiveDateTime,
    /// Minutes of idleness after which the token ends.
    idle_minutes: i64,
    user: auth::User,
}

/// Exchanges a user name and password for a bearer token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    tag = "auth",
    summary = "用户名和密码换取 Bearer 令牌",
    security(()),
    request_body = Credentials,
    responses(
        (status = 201, description = "令牌", body = Token),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 413, response = super::openapi::TooLarge),
        (status = 423, response = super::openapi::Locked),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Credentials>,
) -> ApiResult {
    state.login_limiter.check(&req)?;
    let ip = client_ip(&req);
    let ua = crate::web::user_agent(&req);
    let policy = state.policy;
    let out = state
        .db(move |c| {
            auth::login(
                c,
                &policy,
                &body.username,
                &body.password,
                &ip,
                &ua,
                SessionKind::Api,
            )
        })
        .await
        .inspect_err(|e| {
            if matches!(e, Error::BadCredentials) {
                state.login_limiter.failed(&req);
            }
        })?;
    Ok(HttpResponse::Created().json(Token {
        token: out.token,
        token_type: "Bearer",
        expires_at: out.expires_at,
        idle_minutes: policy.token_idle.num_minutes(),
        user: out.user,
    }))
}

/// Ends the session of the token used.
#[utoipa::path(
    delete,
    path = "/api/v1/auth/token",
    tag = "auth",
    summary = "注销当前令牌",
    responses(
        (status = 204, description = "已注销"),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn delete_token(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    state.db(move |c| auth::logout(c, &p)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    user: auth::User,
    /// The role in Chinese (司法局管理员 …).
    role_label: &'static str,
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    summary = "当前用户",
    responses(
        (status = 200, description = "成功", body = Me),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn me(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    let id = p.user_id;
    let user = state.db(move |c| auth::user(c, id)).await?;
    Ok(HttpResponse::Ok().json(Me {
        user,
        role_label: p.role.label(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the caller's own password; their other sessions end.
#[utoipa::path(
    post,
    path = "/api/v1/me/password",
    tag = "auth",
    summary = "修改自己的密码",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "已修改"),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn change_password(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<PasswordChange>,
) -> ApiResult {
    state
        .db(move |c| auth::change_password(c, &p, &body.current_password, &body.new_password))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
