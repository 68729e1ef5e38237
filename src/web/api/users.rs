use super::{ApiResult, AppState, created};
use crate::auth::{self, NewUser};
use crate::web::ApiUser;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

pub async fn list(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    p.require_admin()?;
    let users = state.db(auth::users).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": users })))
}

pub async fn create(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<NewUser>,
) -> ApiResult {
    p.require_admin()?;
    let u = state
        .db(move |c| auth::create_user(c, &p.actor(), &body))
        .await?;
    Ok(created(&u))
}

#[derive(Deserialize)]
pub struct Password {
    password: String,
}

pub async fn reset_password(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Json<Password>,
) -> ApiResult {
    p.require_admin()?;
    let id = *id;
    state
        .db(move |c| auth::reset_password(c, &p.actor(), id, &body.password))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub struct Active {
    active: bool,
}

pub async fn set_active(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Json<Active>,
) -> ApiResult {
    p.require_admin()?;
    let id = *id;
    let u = state
        .db(move |c| auth::set_active(c, &p.actor(), id, body.active))
        .await?;
    Ok(HttpResponse::Ok().json(u))
}
