//! The JSON API under /api/v1, documented at /api/openapi.json.

mod audit;
mod auth;
mod imports;
mod openapi;
mod roster;
mod users;

use super::AppState;
use super::error::ApiError;
use crate::error::Error;
use actix_web::{
    HttpRequest, HttpResponse, error::JsonPayloadError, error::QueryPayloadError, web,
};

pub type ApiResult<T = HttpResponse> = std::result::Result<T, ApiError>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.json", web::get().to(openapi::document))
        .service(
            web::scope("/api/v1")
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|_, _| ApiError(Error::not_found("资源")).into()),
                )
                .route("/auth/token", web::post().to(auth::create_token))
                .route("/auth/token", web::delete().to(auth::delete_token))
                .route("/me", web::get().to(auth::me))
                .route("/me/password", web::post().to(auth::change_password))
                .route("/units", web::get().to(roster::list_units))
                .route("/units", web::post().to(roster::create_unit))
                .route("/units/{id}", web::get().to(roster::get_unit))
                .route("/units/{id}", web::patch().to(roster::update_unit))
                .route("/officers", web::get().to(roster::search))
                .route("/officers", web::post().to(roster::create_officer))
                .route("/officers/{id}", web::get().to(roster::get_officer))
                .route("/officers/{id}", web::patch().to(roster::update_officer))
                .route("/officers/{id}/history", web::get().to(roster::history))
                .route("/officers/{id}/photo", web::get().to(roster::get_photo))
                .route("/officers/{id}/photo", web::put().to(roster::put_photo))
                .route("/exports/officers.xlsx", web::get().to(roster::export))
                .route("/templates/officers.xlsx", web::get().to(roster::template))
                .route("/imports/officers", web::post().to(imports::officers))
                .route("/users", web::get().to(users::list))
                .route("/users", web::post().to(users::create))
                .route(
                    "/users/{id}/password",
                    web::post().to(users::reset_password),
                )
                .route("/users/{id}/active", web::post().to(users::set_active))
                .route("/audit", web::get().to(audit::list))
                .route("/audit/verify", web::get().to(audit::verify))
                .default_service(web::to(|| async {
                    Err::<HttpResponse, _>(ApiError(Error::NotFound("没有这个接口".into())))
                })),
        );
}

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    use diesel::RunQueryDsl;
    let ok = state
        .db(|c| {
            diesel::sql_query("SELECT 1")
                .execute(c)
                .map_err(Error::from)
        })
        .await
        .is_ok();
    if ok {
        HttpResponse::Ok()
            .json(serde_json::json!({"status": "ok", "database": state.backend.name()}))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "unavailable"}))
    }
}

pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            Error::TooLarge("请求体过大".into())
        }
        JsonPayloadError::ContentType => {
            Error::BadRequest("请求体应为 JSON（Content-Type: application/json）".into())
        }
        JsonPayloadError::Deserialize(e) => {
            Error::BadRequest(format!("请求体不是有效的 JSON：{e}"))
        }
        other => Error::BadRequest(format!("无法读取请求体：{other}")),
    };
    ApiError(e).into()
}

pub fn query_error(err: QueryPayloadError, req: &HttpRequest) -> actix_web::Error {
    let e = Error::BadRequest(format!("查询参数有误：{err}"));
    if req.path().starts_with("/api/") {
        ApiError(e).into()
    } else {
        crate::web::error::PageError(e).into()
    }
}

/// The created resource, with 201.
fn created<T: serde::Serialize>(v: &T) -> HttpResponse {
    HttpResponse::Created().json(v)
}

pub fn xlsx_response(name: &str, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"export.xlsx\"; filename*=UTF-8''{}",
                urlencoding::encode(name)
            ),
        ))
        .body(bytes)
}
