use super::{ApiResult, AppState};
use crate::auth::{self, SessionKind};
use crate::error::Error;
use crate::web::{ApiUser, client_ip};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

/// Exchanges a user name and password for a bearer token.
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
    Ok(HttpResponse::Created().json(serde_json::json!({
        "token": out.token,
        "token_type": "Bearer",
        "expires_at": out.expires_at,
        "idle_minutes": policy.token_idle.num_minutes(),
        "user": out.user,
    })))
}

pub async fn delete_token(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    state.db(move |c| auth::logout(c, p.session_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn me(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    let id = p.user_id;
    let user = state.db(move |c| auth::user(c, id)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"user": user, "role_label": p.role.label()})))
}

#[derive(Deserialize)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

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
