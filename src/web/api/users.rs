use super::{ApiResult, AppState, created};
use crate::auth::{self, NewUser};
use crate::web::ApiUser;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

/// Every account.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserList {
    items: Vec<auth::User>,
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "list_users",
    tag = "users",
    summary = "账号列表（管理员）",
    responses(
        (status = 200, description = "成功", body = UserList),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn list(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    let grant = p.grant();
    let users = state.db(move |c| auth::users(c, &grant)).await?;
    Ok(HttpResponse::Ok().json(UserList { items: users }))
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "create_user",
    tag = "users",
    summary = "新建账号（管理员）",
    responses(
        (status = 201, description = "已创建", body = auth::User),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<NewUser>,
) -> ApiResult {
    let u = state
        .db(move |c| auth::create_user(c, &p.grant(), &body))
        .await?;
    Ok(created(&u))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Password {
    password: String,
}

/// Sets a new password and lifts any lock; the user's sessions end.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/password",
    tag = "users",
    summary = "重置密码并解除锁定（管理员）",
    responses(
        (status = 204, description = "已重置"),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn reset_password(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Json<Password>,
) -> ApiResult {
    let id = *id;
    state
        .db(move |c| auth::reset_password(c, &p.grant(), id, &body.password))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Active {
    active: bool,
}

/// Enables or disables an account (disabling ends its sessions).
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/active",
    tag = "users",
    summary = "启用或停用账号（管理员）",
    responses(
        (status = 200, description = "成功", body = auth::User),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn set_active(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Json<Active>,
) -> ApiResult {
    let id = *id;
    let u = state
        .db(move |c| auth::set_active(c, &p.grant(), id, body.active))
        .await?;
    Ok(HttpResponse::Ok().json(u))
}
