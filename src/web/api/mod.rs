//! The JSON API under /api/v1, documented at /api/openapi.json.

mod audit;
mod auth;
mod bank;
mod cards;
mod certs;
pub(crate) mod exam;
mod imports;
mod openapi;
mod reviews;
mod roster;
mod users;
mod verify;

use super::AppState;
use super::error::ApiError;
use crate::error::Error;
use actix_web::{
    HttpRequest, HttpResponse, error::JsonPayloadError, error::QueryPayloadError, web,
};

pub type ApiResult<T = HttpResponse> = std::result::Result<T, ApiError>;
pub use bank::defaults as bank_defaults;
pub use cards::pdf_response as card_pdf;
pub use openapi::{ErrorBody, ErrorDetail};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.json", web::get().to(openapi::document))
        .service(
            web::scope("/api/v1")
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|_, _| ApiError(Error::not_found("资源")).into()),
                )
                // one resource per path: a method it doesn't serve answers 405 with `Allow`
                .service(
                    web::resource("/auth/token")
                        .post(auth::create_token)
                        .delete(auth::delete_token),
                )
                .service(web::resource("/me").get(auth::me))
                .service(web::resource("/me/password").post(auth::change_password))
                .service(
                    web::resource("/units")
                        .get(roster::list_units)
                        .post(roster::create_unit),
                )
                .service(
                    web::resource("/units/{id}")
                        .get(roster::get_unit)
                        .patch(roster::update_unit),
                )
                .service(
                    web::resource("/officers")
                        .get(roster::search)
                        .post(roster::create_officer),
                )
                .service(
                    web::resource("/officers/{id}")
                        .get(roster::get_officer)
                        .patch(roster::update_officer),
                )
                .service(web::resource("/officers/{id}/history").get(roster::history))
                .service(
                    web::resource("/officers/{id}/photo")
                        .get(roster::get_photo)
                        .put(roster::put_photo),
                )
                .service(web::resource("/exports/officers.xlsx").get(roster::export))
                .service(web::resource("/templates/officers.xlsx").get(roster::template))
                .service(web::resource("/imports/officers").post(imports::officers))
                .service(web::resource("/users").get(users::list).post(users::create))
                .service(web::resource("/users/{id}/password").post(users::reset_password))
                .service(web::resource("/users/{id}/active").post(users::set_active))
                .service(web::resource("/audit").get(audit::list))
                .service(web::resource("/audit/verify").get(audit::verify))
                .service(
                    web::resource("/questions")
                        .get(bank::list)
                        .post(bank::create),
                )
                .service(
                    web::resource("/questions/{code}")
                        .get(bank::get)
                        .put(bank::edit),
                )
                .service(web::resource("/questions/{code}/status").post(bank::set_status))
                .service(web::resource("/imports/questions").post(bank::import))
                .service(web::resource("/exports/questions").get(bank::export))
                .service(web::resource("/bank/feasibility").post(bank::feasibility))
                .service(web::resource("/bank/summary").get(bank::summary))
                .service(web::resource("/practice").get(bank::practice_paper))
                .service(web::resource("/practice/check").post(bank::practice_check))
                .service(web::resource("/exam/login").post(exam::login))
                .service(web::resource("/exam/attempt").post(exam::attempt))
                .service(web::resource("/exam/attempt/answers/{position}").put(exam::save))
                .service(web::resource("/exam/attempt/submit").post(exam::submit))
                .service(web::resource("/exam/batches").post(exam::schedule))
                .service(web::resource("/exam/batches/{id}/results").get(exam::results))
                .service(web::resource("/exam/batches/{id}/regrade").post(exam::regrade))
                .service(web::resource("/exam/batches/{id}/tickets").post(exam::tickets))
                .service(
                    web::resource("/exam/batches/{id}/certificates")
                        .get(certs::preview_batch)
                        .post(certs::issue_batch),
                )
                .service(
                    web::resource("/certificates")
                        .get(certs::list)
                        .post(certs::issue),
                )
                .service(web::resource("/certificates/to-do").get(certs::to_do))
                .service(web::resource("/certificates/cleanup").post(certs::clean_up))
                .service(web::resource("/imports/certificates").post(certs::import))
                .service(
                    web::resource("/reviews")
                        .get(reviews::list)
                        .post(reviews::open),
                )
                .service(web::resource("/reviews/{year}").get(reviews::get))
                .service(web::resource("/reviews/{year}/preview").get(reviews::preview))
                .service(web::resource("/reviews/{year}/apply").post(reviews::apply))
                .service(web::resource("/reviews/{year}/first-review").post(reviews::first_review))
                .service(
                    web::resource("/reviews/{year}/first-review.xlsx")
                        .get(reviews::first_review_sheet),
                )
                .service(web::resource("/imports/first-review").post(reviews::import_first_review))
                .service(web::resource("/imports/training").post(reviews::import_training))
                .service(web::resource("/jobs/{id}").get(reviews::job))
                .service(web::resource("/public/units/{code}/officers").get(certs::public_unit))
                .service(web::resource("/verify").post(verify::post))
                .service(web::resource("/verify/{number}").get(verify::get))
                .service(web::resource("/keys").get(verify::keys))
                .service(web::resource("/status-list").get(verify::status_list))
                .service(
                    web::resource("/api-keys")
                        .get(verify::list_keys)
                        .post(verify::issue_key),
                )
                .service(web::resource("/api-keys/{id}/revoke").post(verify::revoke_key))
                .service(web::resource("/cards").post(cards::print))
                .service(web::resource("/certificates/{number}/qr").get(cards::qr))
                .service(web::resource("/certificates/{number}").get(certs::get))
                .service(web::resource("/certificates/{number}/replacement").post(certs::replace))
                .service(web::resource("/certificates/{number}/state").post(certs::change_state))
                .service(web::resource("/exam/batches/{id}/analysis").get(exam::analysis))
                .service(
                    web::resource("/exam/batches/{id}/distribution.svg").get(exam::distribution),
                )
                .service(web::resource("/exam/candidates/{ticket}/report").get(exam::report))
                .service(
                    web::resource("/exam/candidates/{ticket}/session").post(exam::move_candidate),
                )
                .service(web::resource("/me/exam-results").get(exam::my_results))
                .service(web::resource("/exam/plans").post(exam::submit_plan))
                .service(
                    web::resource("/exam/candidates/{ticket_no}/extra-time").post(exam::extra_time),
                )
                .service(web::resource("/exam/sessions/{id}/extension").post(exam::extend_session))
                .service(web::resource("/exam/plans/{id}").get(exam::get_plan))
                .service(web::resource("/exam/plans/{id}/decision").post(exam::decide_plan))
                .default_service(web::to(|| async {
                    Err::<HttpResponse, _>(ApiError(Error::NotFound("没有这个接口".into())))
                })),
        );
}

/// Whether the service can reach its database.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`
    status: &'static str,
    /// The backend in use (`SQLite` or `PostgreSQL`), when reachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'static str>,
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "system",
    summary = "健康检查：数据库可达时 200",
    security(()),
    responses(
        (status = 200, description = "正常", body = Health),
        (status = 503, description = "数据库不可达", body = Health),
    )
)]
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
        HttpResponse::Ok().json(Health {
            status: "ok",
            database: Some(state.backend.name()),
        })
    } else {
        HttpResponse::ServiceUnavailable().json(Health {
            status: "unavailable",
            database: None,
        })
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
    file_response(
        name,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes,
    )
}

/// A download: the ASCII fallback name keeps the extension, the real name is UTF-8.
pub fn file_response(name: &str, content_type: &str, bytes: Vec<u8>) -> HttpResponse {
    let ext = name.rsplit_once('.').map_or("bin", |(_, e)| e);
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"export.{ext}\"; filename*=UTF-8''{}",
                urlencoding::encode(name)
            ),
        ))
        .body(bytes)
}
