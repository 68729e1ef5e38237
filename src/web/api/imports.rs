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
    /// Create the units the sheet names that don't exist.
    #[serde(default)]
    create_units: bool,
}

/// The body is the file itself. Returns the validation report; with `apply=true` also writes it
/// (all rows, or with `skip_invalid=true` only the valid ones) and answers 422 when rows block it.
pub async fn officers(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<ImportQuery>,
    body: web::Bytes,
) -> ApiResult {
    p.require_roster_writer()?;
    let scope = p.scope();
    let q = q.into_inner();
    let filename = if q.filename.trim().is_empty() {
        "upload.xlsx".to_string()
    } else {
        q.filename.trim().to_string()
    };
    let options = Options {
        skip_invalid: q.skip_invalid,
        create_units: q.create_units,
    };
    let report = state
        .db(move |c| {
            if q.apply {
                import::apply(c, &p.actor(), &scope, &filename, &body, options)
            } else {
                import::preview(c, &scope, &filename, &body, options)
            }
        })
        .await?;
    if let Some(reason) = &report.blocked {
        return Ok(HttpResponse::UnprocessableEntity().json(serde_json::json!({
            "error": {"code": "import_blocked", "message": reason},
            "report": report,
        })));
    }
    Ok(HttpResponse::Ok().json(report))
}
