//! The public verification page (typed number, or opened from a card's QR code) and the
//! bureau's page of agencies' API keys.

use actix_web::{HttpRequest, http::StatusCode, web};
use askama::Template;

use super::{Ctx, Form, PageResult, field, redirect, render, render_form};
use crate::error::Error;
use crate::verify::{self, ApiKey, Checked};
use crate::web::{AppState, PageForm, PageUser};

#[derive(Template, Default)]
#[template(path = "verify.html")]
struct VerifyPage {
    number: String,
    name: String,
    checked: Option<Checked>,
    /// Why nothing is shown (not found, not a number, too many requests).
    message: String,
    /// From a QR code: what its signature says (empty for a typed number).
    qr: String,
    /// The QR code's signature is bad.
    forged: bool,
}

impl VerifyPage {
    fn chinese(&self, d: &Option<chrono::NaiveDate>) -> String {
        d.map(crate::roster::rules::chinese_date)
            .unwrap_or_else(|| "—".into())
    }
}

/// The page with a lookup's outcome: the certificate, or what a verifier is told instead
/// (not found, not a number, too many requests) with its status. Other errors stay errors.
fn answer(mut page: VerifyPage, found: Option<Result<Checked, Error>>) -> PageResult {
    let status = match found {
        None => StatusCode::OK,
        Some(Ok(c)) => {
            page.checked = Some(c);
            StatusCode::OK
        }
        Some(Err(e)) => {
            let (message, status) = match e {
                Error::NotFound(m) => (m, StatusCode::NOT_FOUND),
                Error::Invalid { .. } => (e.to_string(), StatusCode::UNPROCESSABLE_ENTITY),
                Error::TooManyRequests { message, .. } => (message, StatusCode::TOO_MANY_REQUESTS),
                other => return Err(other.into()),
            };
            page.message = message;
            status
        }
    };
    let mut r = render(&page)?;
    *r.status_mut() = status;
    r.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

#[derive(serde::Deserialize)]
pub struct Query {
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
}

/// `/verify`: the form, and the answer when a number was typed.
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<Query>,
) -> PageResult {
    let Query { number, name } = q.into_inner();
    let page = VerifyPage {
        number: number.clone(),
        name: name.clone(),
        ..Default::default()
    };
    if number.trim().is_empty() {
        return answer(page, None);
    }
    let pattern = state.certs.pattern.clone();
    let name = (!name.trim().is_empty()).then_some(name);
    let cost = verify::lookup_cost(name.as_deref());
    let found = state
        .public_read(&req, cost, move |c| {
            verify::lookup(c, &pattern, &number, name.as_deref())
        })
        .await;
    answer(page, Some(found))
}

/// `/v/{payload}`: where a card's QR code leads. The signature is checked here, and the
/// certificate is then read from the register as it is now.
pub async fn scanned(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Path<String>,
) -> PageResult {
    // counted first: checking a signature costs more than a lookup
    let keyring = state.keyring.clone();
    let pattern = state.certs.pattern.clone();
    let read = state
        .public_read(&req, 1, move |c| {
            let signed = match verify::rules::decode(&payload) {
                Ok(s) if s.verify(keyring.public_keys()) => s,
                _ => return Ok(None),
            };
            let number = signed.claims.number;
            Ok(Some((
                number.clone(),
                verify::lookup(c, &pattern, &number, None),
            )))
        })
        .await;
    match read {
        Ok(None) => answer(
            VerifyPage {
                forged: true,
                qr: "此二维码的签名无效：它不是本机关签发的执法证二维码，或内容被改动过。请勿采信，并向发证机关核实。".into(),
                ..Default::default()
            },
            None,
        ),
        Ok(Some((number, found))) => answer(
            VerifyPage {
                number,
                qr: "二维码签名有效：由本机关签发。以下为登记簿中的当前状态。".into(),
                ..Default::default()
            },
            Some(found),
        ),
        Err(e) => answer(VerifyPage::default(), Some(Err(e))),
    }
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct KeysPage {
    ctx: Ctx,
    keys: Vec<ApiKey>,
    /// A key just issued: shown this once.
    issued: Option<(String, String)>,
    error: String,
    public_url: String,
}

async fn keys_page(
    state: &AppState,
    p: &crate::auth::Principal,
    issued: Option<(String, String)>,
    error: String,
) -> PageResult {
    let grant = p.grant();
    let keys = state.db(move |c| verify::list_keys(c, &grant)).await?;
    let t = KeysPage {
        ctx: Ctx::new(p, "api-keys"),
        keys,
        issued,
        error,
        public_url: state.config.public_url.clone(),
    };
    render_form(&t, !t.error.is_empty())
}

pub async fn keys(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    keys_page(&state, &p, None, String::new()).await
}

pub async fn issue_key(state: web::Data<AppState>, PageForm(p, f): PageForm<Form>) -> PageResult {
    let grant = p.grant();
    let (name, contact) = (field(&f, "name"), field(&f, "contact"));
    let done = state
        .db(move |c| verify::issue_key(c, &grant, &name, &contact))
        .await;
    match done {
        Ok((key, secret)) => keys_page(&state, &p, Some((key.name, secret)), String::new()).await,
        Err(e @ Error::Invalid { .. }) => keys_page(&state, &p, None, e.to_string()).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_key(
    state: web::Data<AppState>,
    PageForm(p, _f): PageForm<Form>,
    id: web::Path<i64>,
) -> PageResult {
    let grant = p.grant();
    let id = id.into_inner();
    state.db(move |c| verify::revoke_key(c, &grant, id)).await?;
    Ok(redirect("/api-keys"))
}
