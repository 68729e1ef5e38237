//! The one place where a domain error becomes an HTTP answer: JSON for the API, a Chinese page
//! for the browser. Every variant has its own status; internal causes are logged, not shown.

use super::api::{ErrorBody, ErrorDetail};
use crate::error::{Error, FieldErrors};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

/// (status, machine code) of each error: the exhaustive map.
fn classify(e: &Error) -> (StatusCode, &'static str) {
    match e {
        Error::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        Error::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
        Error::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
        Error::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
        Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        Error::WrongCredentials(_) => (StatusCode::UNAUTHORIZED, "bad_credentials"),
        Error::SessionEnded(_) => (StatusCode::UNAUTHORIZED, "session_ended"),
        Error::Closed(_) => (StatusCode::CONFLICT, "closed"),
        Error::Csrf => (StatusCode::FORBIDDEN, "csrf"),
        Error::Locked(_) => (StatusCode::LOCKED, "locked"),
        Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        Error::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
        Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        Error::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
        Error::Database(_) | Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

fn log(e: &Error, status: StatusCode) {
    if status.is_server_error() {
        let mut chain = String::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            chain.push_str(&format!(": {s}"));
            source = s.source();
        }
        tracing::error!("{e}{chain}");
    }
}

fn fields_of(e: &Error) -> FieldErrors {
    match e {
        Error::Invalid { fields, .. } | Error::Conflict { fields, .. } => fields.clone(),
        _ => FieldErrors::new(),
    }
}

/// An error answered as JSON.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        classify(&self.0).0
    }
    fn error_response(&self) -> HttpResponse {
        let (status, code) = classify(&self.0);
        log(&self.0, status);
        let mut r = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            r.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Some(secs) = self.0.retry_after() {
            r.insert_header(("Retry-After", secs.to_string()));
        }
        // the type the OpenAPI document describes
        r.json(ErrorBody {
            error: ErrorDetail {
                code,
                message: self.0.to_string(),
                fields: fields_of(&self.0),
            },
        })
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: String,
    fields: Vec<String>,
}

/// An error answered as a page (or, when not signed in, a redirect to the login page).
#[derive(Debug)]
pub struct PageError(pub Error);

impl<E: Into<Error>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        classify(&self.0).0
    }
    fn error_response(&self) -> HttpResponse {
        let (status, _) = classify(&self.0);
        log(&self.0, status);
        if matches!(self.0, Error::Unauthenticated) {
            return HttpResponse::SeeOther()
                .insert_header(("Location", "/login"))
                .finish();
        }
        let title = match status {
            StatusCode::NOT_FOUND => "未找到",
            StatusCode::FORBIDDEN => "无权操作",
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "输入有误",
            StatusCode::CONFLICT => "数据冲突",
            s if s.is_server_error() => "系统错误",
            _ => "无法完成操作",
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message: self.0.to_string(),
            fields: fields_of(&self.0).into_values().collect(),
        };
        let mut r = HttpResponse::build(status);
        if let Some(secs) = self.0.retry_after() {
            r.insert_header(("Retry-After", secs.to_string()));
        }
        r.content_type("text/html; charset=utf-8")
            .body(page.render().unwrap_or_else(|_| self.0.to_string()))
    }
}

/// Errors that actix answers by itself (a body over the limit, an unreadable form, a method
/// not allowed) come as plain text; this rewrites them in the service's own shape: JSON under
/// /api/, a Chinese page elsewhere. Answers that already are JSON or HTML pass untouched.
pub fn uniform_errors<B: actix_web::body::MessageBody + 'static>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::http::header::CONTENT_TYPE;
    use actix_web::middleware::ErrorHandlerResponse;
    let status = res.status();
    let typed = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"));
    let redirect = res
        .headers()
        .contains_key(actix_web::http::header::LOCATION);
    if !(status.is_client_error() || status.is_server_error()) || typed || redirect {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let e = match status {
        StatusCode::PAYLOAD_TOO_LARGE => Error::TooLarge("请求体过大".into()),
        StatusCode::NOT_FOUND => Error::NotFound("没有这个页面或接口".into()),
        StatusCode::METHOD_NOT_ALLOWED => Error::BadRequest("不支持这种请求方法".into()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            Error::BadRequest("请求体的类型（Content-Type）不对".into())
        }
        s if s.is_server_error() => Error::Internal(anyhow::anyhow!("{s}")),
        _ => Error::BadRequest("请求无法处理，请检查请求内容".into()),
    };
    let api = res.request().path().starts_with("/api/");
    let mut answer = if api {
        ApiError(e).error_response()
    } else {
        PageError(e).error_response()
    };
    // keep the status actix chose (405 stays 405), with the body in our shape
    *answer.status_mut() = status;
    for (name, value) in res.headers() {
        if name == actix_web::http::header::ALLOW {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, answer).map_into_right_body(),
    ))
}
