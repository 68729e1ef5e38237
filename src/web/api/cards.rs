//! Cards over JSON: print sheets as PDF, and a certificate's QR content.

use actix_web::{HttpResponse, web};

use super::{ApiResult, AppState};
use crate::cards::{self, QrContent, Selection};
use crate::web::ApiUser;

#[utoipa::path(
    post,
    path = "/api/v1/cards",
    tag = "certificates",
    summary = "制证（司法局）：按证号或单位（含下级单位的全部有效证件）生成执法证 PDF——A4 裁切版（每页 10 张，带裁切线，背面按长边翻转对齐）或证卡打印机版（每页一张）；先全部检查，有问题的说明是哪张、为什么，不生成",
    request_body = Selection,
    responses(
        (status = 200, description = "PDF", content_type = "application/pdf"),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn print(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<Selection>,
) -> ApiResult {
    let grant = p.grant();
    let s = state.clone();
    let (pdf, n) = state
        .db(move |c| cards::print(c, &grant, &s.press(), &body))
        .await?;
    Ok(pdf_response(pdf, n))
}

/// A PDF of `n` cards as a download.
pub fn pdf_response(pdf: Vec<u8>, n: usize) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header(("X-Card-Count", n.to_string()))
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"cards.pdf\"; filename*=UTF-8''{}",
                urlencoding::encode(&format!("执法证{n}张.pdf"))
            ),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(pdf)
}

#[utoipa::path(
    get,
    path = "/api/v1/certificates/{number}/qr",
    tag = "certificates",
    summary = "一张执法证的二维码内容（核验链接与签名载荷），供自行排版的证卡打印机使用",
    params(("number", description = "执法证号")),
    responses(
        (status = 200, description = "成功", body = QrContent),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn qr(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    number: web::Path<String>,
) -> ApiResult {
    let grant = p.grant();
    let s = state.clone();
    let q = state
        .db(move |c| cards::qr_content(c, &grant, &s.press(), &number))
        .await?;
    Ok(HttpResponse::Ok().json(q))
}
