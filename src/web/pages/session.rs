use super::{Ctx, PageResult, redirect, render};
use crate::auth::{self, SessionKind};
use crate::error::Error;
use crate::web::{AppState, PageForm, PageUser, SESSION_COOKIE, client_ip};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

const LOGIN_CSRF_COOKIE: &str = "zhifa_login";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    username: String,
    error: Option<String>,
}

fn login_page(
    req: &HttpRequest,
    username: String,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> PageResult {
    // the login form's CSRF token: a double-submitted random cookie (there is no session yet)
    let csrf = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 64)
        .unwrap_or_else(auth::rules::new_token);
    let body = LoginPage {
        csrf: csrf.clone(),
        username,
        error,
    }
    .render()
    .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?;
    let secure = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.secure_cookies);
    let cookie = Cookie::build(LOGIN_CSRF_COOKIE, csrf)
        .path("/login")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish();
    Ok(HttpResponse::build(status)
        .cookie(cookie)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

pub async fn login_form(req: HttpRequest) -> PageResult {
    login_page(&req, String::new(), None, actix_web::http::StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> PageResult {
    let form = form.into_inner();
    let cookie_csrf = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if cookie_csrf.is_empty() || cookie_csrf != form.csrf {
        return login_page(
            &req,
            form.username,
            Some(Error::Csrf.to_string()),
            actix_web::http::StatusCode::FORBIDDEN,
        );
    }
    if let Err(e) = state.login_limiter.check(&req) {
        let mut page = login_page(
            &req,
            form.username,
            Some(e.to_string()),
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        )?;
        if let Some(secs) = e.retry_after()
            && let Ok(v) = actix_web::http::header::HeaderValue::from_str(&secs.to_string())
        {
            page.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, v);
        }
        return Ok(page);
    }
    let ip = client_ip(&req);
    let ua = crate::web::user_agent(&req);
    let policy = state.policy;
    let username = form.username.clone();
    let result = state
        .db(move |c| {
            auth::login(
                c,
                &policy,
                &form.username,
                &form.password,
                &ip,
                &ua,
                SessionKind::Browser,
            )
        })
        .await;
    match result {
        Ok(out) => {
            let cookie = Cookie::build(SESSION_COOKIE, out.token)
                .path("/")
                .http_only(true)
                .secure(state.config.secure_cookies)
                .same_site(SameSite::Lax)
                .finish();
            Ok(HttpResponse::SeeOther()
                .cookie(cookie)
                .insert_header(("Location", "/officers"))
                .finish())
        }
        Err(e @ (Error::BadCredentials | Error::Locked(_) | Error::Forbidden(_))) => {
            if matches!(e, Error::BadCredentials) {
                state.login_limiter.failed(&req);
            }
            login_page(
                &req,
                username,
                Some(e.to_string()),
                actix_web::http::StatusCode::UNAUTHORIZED,
            )
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    state: web::Data<AppState>,
    PageForm(p, _): PageForm<std::collections::HashMap<String, String>>,
) -> PageResult {
    state.db(move |c| auth::logout(c, &p)).await?;
    let mut gone = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .secure(state.config.secure_cookies)
        .finish();
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(gone)
        .insert_header(("Location", "/login"))
        .finish())
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: Ctx,
    username: String,
    error: Option<String>,
    done: bool,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    done: bool,
}

pub async fn account(PageUser(p): PageUser, q: web::Query<AccountQuery>) -> PageResult {
    render(&AccountPage {
        ctx: Ctx::new(&p, "account"),
        username: p.username.clone(),
        error: None,
        done: q.done,
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

pub async fn change_password(
    state: web::Data<AppState>,
    PageForm(p, form): PageForm<PasswordForm>,
) -> PageResult {
    if form.new_password != form.confirm_password {
        return render(&AccountPage {
            ctx: Ctx::new(&p, "account"),
            username: p.username.clone(),
            error: Some("两次输入的新密码不一致".into()),
            done: false,
        });
    }
    let p2 = p.clone();
    match state
        .db(move |c| auth::change_password(c, &p2, &form.current_password, &form.new_password))
        .await
    {
        Ok(()) => Ok(redirect("/account?done=true")),
        Err(e @ Error::Invalid { .. }) => render(&AccountPage {
            ctx: Ctx::new(&p, "account"),
            username: p.username.clone(),
            error: Some(e.to_string()),
            done: false,
        }),
        Err(e) => Err(e.into()),
    }
}
