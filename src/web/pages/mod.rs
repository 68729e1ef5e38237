//! The server-rendered Chinese UI. Every form carries the session's CSRF token.

mod admin;
mod bank;
mod cards;
mod certs;
mod exams;
mod imports;
mod reviews;
mod roster;
mod session;
mod verify;

use super::error::PageError;
use crate::auth::{Principal, Role};
use actix_web::{HttpResponse, web};
use askama::Template;

pub type PageResult = std::result::Result<HttpResponse, PageError>;

/// What the layout needs on every page.
pub struct Ctx {
    pub user: String,
    pub role_label: &'static str,
    pub csrf: String,
    pub nav: &'static str,
    pub is_admin: bool,
    pub can_write: bool,
    pub can_audit: bool,
    pub can_read_bank: bool,
    pub can_practice: bool,
}

impl Ctx {
    pub fn new(p: &Principal, nav: &'static str) -> Ctx {
        Ctx {
            user: p.display_name.clone(),
            role_label: p.role.label(),
            csrf: p.csrf_token.clone(),
            nav,
            is_admin: p.role == Role::Admin,
            can_write: matches!(p.role, Role::Admin | Role::Liaison),
            can_audit: matches!(p.role, Role::Admin | Role::Auditor),
            can_read_bank: p.grant().allows(crate::auth::Capability::ReadBank),
            can_practice: p.grant().allows(crate::auth::Capability::Practice),
        }
    }
}

pub fn render<T: Template>(t: &T) -> PageResult {
    let body = t
        .render()
        .map_err(|e| crate::error::Error::Internal(anyhow::anyhow!("页面渲染失败：{e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// A form's field errors, as its template shows them: `errors.of("name")`.
#[derive(Default)]
pub struct Errors(pub crate::error::FieldErrors);

impl Errors {
    pub fn of(&self, field: &str) -> String {
        self.0.get(field).cloned().unwrap_or_default()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Renders a form page: 200 when clean, 422 when it carries field errors.
pub fn render_form<T: Template>(t: &T, has_errors: bool) -> PageResult {
    let mut r = render(t)?;
    if has_errors {
        *r.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// The enable/disable buttons' form.
#[derive(serde::Deserialize)]
pub struct ActiveForm {
    pub active: bool,
}

/// A form with fields the page names as it builds them (rows, ticks per person).
pub type Form = std::collections::HashMap<String, String>;

/// A field of such a form, trimmed ('' when absent).
pub fn field(f: &Form, k: &str) -> String {
    f.get(k).map(|s| s.trim().to_string()).unwrap_or_default()
}

pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", to))
        .finish()
}

const CSS: &str = include_str!("../../../static/app.css");
const PRACTICE_JS: &str = include_str!("../../../static/practice.js");
const EXAM_JS: &str = include_str!("../../../static/exam.js");

async fn exam_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .body(EXAM_JS)
}

#[derive(Template)]
#[template(path = "exam.html")]
struct ExamRoom;

/// The exam room: candidates sign in with their ticket, not a staff account.
async fn exam_room() -> PageResult {
    render(&ExamRoom)
}

#[derive(Template)]
#[template(path = "public_unit.html")]
struct PublicUnit {
    l: crate::certs::public::UnitListing,
    q: String,
}

impl PublicUnit {
    fn shows(&self, field: &str) -> bool {
        self.l.published.contains(&field)
    }
    fn date(&self, d: &chrono::NaiveDate) -> String {
        crate::roster::rules::chinese_date(*d)
    }
}

/// The public listing of a unit (行政执法公示): no sign-in.
async fn public_unit(
    state: web::Data<crate::web::AppState>,
    req: actix_web::HttpRequest,
    code: web::Path<String>,
    q: web::Query<crate::certs::public::PublicQuery>,
) -> PageResult {
    let q = q.into_inner();
    let shown = q.q.clone();
    let fields = state.certs.public;
    let l = state
        .public_db(&req, move |c| {
            crate::certs::public::unit_listing(c, &fields, &code, &q)
        })
        .await?;
    render(&PublicUnit { l, q: shown })
}

async fn practice_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(PRACTICE_JS)
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(CSS)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/app.css", web::get().to(css))
        .route("/login", web::get().to(session::login_form))
        .route("/login", web::post().to(session::login))
        .route("/logout", web::post().to(session::logout))
        .route("/account", web::get().to(session::account))
        .route(
            "/account/password",
            web::post().to(session::change_password),
        )
        .route("/officers", web::get().to(roster::officers))
        .route("/officers", web::post().to(roster::create_officer))
        .route("/officers/new", web::get().to(roster::new_officer))
        .route("/officers/export.xlsx", web::get().to(roster::export))
        .route("/officers/template.xlsx", web::get().to(roster::template))
        .route("/officers/{id}", web::get().to(roster::officer))
        .route("/officers/{id}", web::post().to(roster::update_officer))
        .route("/officers/{id}/edit", web::get().to(roster::edit_officer))
        .route("/officers/{id}/photo", web::get().to(roster::photo))
        .route("/officers/{id}/photo", web::post().to(roster::upload_photo))
        .route("/units", web::get().to(roster::units))
        .route("/units", web::post().to(roster::create_unit))
        .route("/units/new", web::get().to(roster::new_unit))
        .route("/units/{id}", web::get().to(roster::edit_unit))
        .route("/units/{id}", web::post().to(roster::update_unit))
        .route("/units/{id}/move", web::post().to(roster::move_unit))
        .route(
            "/units/{id}/active",
            web::post().to(roster::set_unit_active),
        )
        .route("/imports", web::get().to(imports::upload_form))
        .route("/imports", web::post().to(imports::upload))
        .route("/imports/{id}", web::get().to(imports::preview))
        .route("/imports/{id}/apply", web::post().to(imports::apply))
        .route(
            "/imports/{id}/errors.xlsx",
            web::get().to(imports::errors_xlsx),
        )
        .route("/users", web::get().to(admin::users))
        .route("/users", web::post().to(admin::create_user))
        .route(
            "/users/{id}/password",
            web::post().to(admin::reset_password),
        )
        .route("/users/{id}/active", web::post().to(admin::set_active))
        .route("/audit", web::get().to(admin::audit))
        .route("/audit/verify", web::get().to(admin::verify))
        .route("/static/practice.js", web::get().to(practice_js))
        .route("/static/exam.js", web::get().to(exam_js))
        .route("/exam", web::get().to(exam_room))
        .route("/public/units/{code}", web::get().to(public_unit))
        .route("/verify", web::get().to(verify::page))
        .route("/v/{payload}", web::get().to(verify::scanned))
        .route("/api-keys", web::get().to(verify::keys))
        .route("/api-keys", web::post().to(verify::issue_key))
        .route("/api-keys/{id}/revoke", web::post().to(verify::revoke_key))
        .route("/bank", web::get().to(bank::list))
        .route("/bank/questions", web::post().to(bank::create))
        .route("/bank/questions/new", web::get().to(bank::new_form))
        .route("/bank/questions/{code}", web::get().to(bank::detail))
        .route("/bank/questions/{code}", web::post().to(bank::update))
        .route(
            "/bank/questions/{code}/edit",
            web::get().to(bank::edit_form),
        )
        .route(
            "/bank/questions/{code}/status",
            web::post().to(bank::set_status),
        )
        .route("/bank/import", web::get().to(bank::import_form))
        .route("/bank/import", web::post().to(bank::import))
        .route("/bank/export.xlsx", web::get().to(bank::export_xlsx))
        .route("/bank/export.toml", web::get().to(bank::export_toml))
        .route("/bank/template.xlsx", web::get().to(bank::template))
        .route("/bank/blueprint", web::get().to(bank::blueprint))
        .route("/practice", web::get().to(bank::practice_start))
        .route("/practice/paper", web::get().to(bank::practice_paper))
        .route("/practice/paper", web::post().to(bank::practice_submit))
        .configure(exams::routes)
        .configure(certs::routes)
        .configure(cards::routes)
        .configure(reviews::routes);
}

/// Reads a multipart form: text fields as strings, at most one file (name, bytes).
pub struct MultipartForm {
    pub fields: std::collections::HashMap<String, String>,
    pub file: Option<(String, Vec<u8>)>,
}

pub async fn read_multipart(
    mut mp: actix_multipart::Multipart,
    max_bytes: usize,
) -> Result<MultipartForm, PageError> {
    use crate::error::Error;
    use futures_util::StreamExt;
    let mut form = MultipartForm {
        fields: Default::default(),
        file: None,
    };
    let mut total = 0usize;
    while let Some(field) = mp.next().await {
        let mut field = field.map_err(|e| Error::BadRequest(format!("上传的表单无法读取：{e}")))?;
        let name = field.name().unwrap_or("").to_string();
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename().map(str::to_string));
        let mut buf = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| Error::BadRequest(format!("上传中断：{e}")))?;
            total += chunk.len();
            if total > max_bytes {
                return Err(Error::TooLarge(format!(
                    "上传的文件不能超过 {} MB",
                    max_bytes / 1024 / 1024
                ))
                .into());
            }
            buf.extend_from_slice(&chunk);
        }
        match filename {
            Some(f) if !f.is_empty() => form.file = Some((f, buf)),
            _ => {
                form.fields
                    .insert(name, String::from_utf8_lossy(&buf).into_owned());
            }
        }
    }
    Ok(form)
}
