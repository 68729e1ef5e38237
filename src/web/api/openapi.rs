use actix_web::HttpResponse;

/// The OpenAPI 3 document of /api/v1 (kept beside the routes; a test checks every path in it
/// is served).
pub const DOCUMENT: &str = include_str!("../../../static/openapi.json");

pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT)
}
