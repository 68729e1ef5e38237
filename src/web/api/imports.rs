use super::{ApiResult, AppState};
use crate::roster::import::{self, Options};
use crate::web::ApiUser;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ImportQuery {
    /// The file's name (its extension tells CSV from Excel when the content can't).
    #[serde(default)]
    filename: String,
    /// Write the rows; without it only the report is returned.
    #[serde(default)]
    apply: bool,
    /// Import only the valid rows.
    #[serde(default)]
    skip_invalid: bool,
    /// Create the units the sheet names that don't exist (administrators).
    #[serde(default)]
    create_units: bool,
    /// The unit for rows that name none (and for a sheet without a unit column).
    #[serde(default, deserialize_with = "crate::roster::db::empty_as_none")]
    unit_id: Option<i64>,
    /// `xlsx`: answer with the sheet itself plus a 错误说明 column (nothing is written).
    #[serde(default)]
    format: String,
}

/// The body is the file itself. Returns the validation report; with `apply=true` also writes it
/// (all rows, or with `skip_invalid=true` only the valid ones) and answers 422 when rows block it.
#[utoipa::path(
    post,
    path = "/api/v1/imports/officers",
    operation_id = "import_officers",
    tag = "imports",
    summary = "导入名册：先校验整份文件；apply=true 时写入",
    description = "请求体为文件本身（xlsx、xls 或 csv）。不带 apply 只返回校验报告，不写入；\
        apply=true 时全部写入，有错误行则一行不写并答 422 import_blocked（附报告），\
        加 skip_invalid=true 则只写入正确的行。format=xlsx 返回原表加“错误说明”列。",
    params(
        ("filename" = Option<String>, Query, description = "文件名（内容无法判断时按扩展名区分 CSV 与 Excel）"),
        ("apply" = Option<bool>, Query, description = "写入；否则只校验"),
        ("skip_invalid" = Option<bool>, Query, description = "有错误行时仍导入正确的行"),
        ("create_units" = Option<bool>, Query, description = "新建表中有而名录库中没有的单位（管理员）"),
        ("unit_id" = Option<i64>, Query, description = "未写单位的行所属的单位"),
        ("format" = Option<String>, Query, description = "xlsx：返回带“错误说明”列的原表（不写入）"),
    ),
    request_body(
        description = "名册文件",
        content(
            (super::roster::File = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (super::roster::File = "application/vnd.ms-excel"),
            (super::roster::File = "text/csv"),
            (super::roster::File = "application/octet-stream"),
        ),
    ),
    responses(
        (status = 200, description = "校验报告（apply=true 时已写入）；format=xlsx 时为带错误说明的表", content(
            (import::Report = "application/json"),
            (super::roster::File = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, description = "有错误行，未导入任何数据（`import_blocked`，附校验报告）；或选项有误（`invalid`）", body = super::openapi::ImportRejected),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn officers(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<ImportQuery>,
    body: web::Bytes,
) -> ApiResult {
    let grant = p.grant();
    let q = q.into_inner();
    let filename = if q.filename.trim().is_empty() {
        "upload.xlsx".to_string()
    } else {
        q.filename.trim().chars().take(200).collect()
    };
    let options = Options {
        skip_invalid: q.skip_invalid,
        create_units: q.create_units,
        unit_id: q.unit_id,
    };
    if q.format == "xlsx" {
        let name = format!("{}_错误说明.xlsx", filename.trim_end_matches(".xlsx"));
        let bytes = state
            .db(move |c| import::annotated_sheet(c, &grant, &filename, &body, options))
            .await?;
        return Ok(super::xlsx_response(&name, bytes));
    }
    let report = state
        .db(move |c| {
            if q.apply {
                import::apply(c, &grant, &filename, &body, options)
            } else {
                import::preview(c, &grant, &filename, &body, options)
            }
        })
        .await?;
    if let Some(reason) = &report.blocked {
        return Ok(
            HttpResponse::UnprocessableEntity().json(super::openapi::ImportRejected {
                error: super::ErrorDetail {
                    code: "import_blocked",
                    message: reason.clone(),
                    fields: Default::default(),
                },
                report: Some(report),
            }),
        );
    }
    Ok(HttpResponse::Ok().json(report))
}
