//! Accounts and the audit log.

use super::roster::local_time;
use super::{ActiveForm, Ctx, Errors, PageResult, redirect, render, render_form};
use crate::audit::{self, db::Entry, db::Filter};
use crate::auth::Capability;
use crate::auth::{self, NewUser, Role, User};
use crate::error::{Error, FieldErrors};
use crate::roster::model::Unit;
use crate::web::{AppState, PageForm, PageUser};
use actix_web::web;
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    ctx: Ctx,
    users: Vec<User>,
    units: Vec<Unit>,
    locked_names: std::collections::HashSet<String>,
    roles: Vec<(&'static str, &'static str)>,
    input: NewUser,
    errors: Errors,
    message: Option<String>,
}

impl UsersPage {
    fn role_label(&self, r: &str) -> &'static str {
        Role::parse(r).map(|r| r.label()).unwrap_or("未知")
    }
    fn unit_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.units.iter().find(|u| u.id == id))
            .map(|u| u.name.clone())
            .unwrap_or_default()
    }
    fn locked(&self, u: &User) -> bool {
        self.locked_names.contains(&u.username.to_lowercase())
    }
}

async fn users_page(
    state: &AppState,
    p: &crate::auth::Principal,
    input: NewUser,
    errors: FieldErrors,
    message: Option<String>,
) -> PageResult {
    let grant = p.grant();
    let (users, units, locked_names) = state
        .db(move |c| {
            Ok((
                auth::users(c, &grant)?,
                crate::roster::db::all_units(c)?,
                auth::locked_names(c)?,
            ))
        })
        .await?;
    let has_errors = !errors.is_empty();
    let errors = Errors(errors);
    render_form(
        &UsersPage {
            ctx: Ctx::new(p, "users"),
            users,
            units,
            locked_names,
            roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
            input,
            errors,
            message,
        },
        has_errors,
    )
}

#[derive(Deserialize)]
pub struct UsersQuery {
    message: Option<String>,
}

pub async fn users(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    q: web::Query<UsersQuery>,
) -> PageResult {
    p.require(Capability::ManageUsers)?;
    users_page(
        &state,
        &p,
        NewUser {
            role: "liaison".into(),
            ..Default::default()
        },
        FieldErrors::new(),
        q.into_inner().message,
    )
    .await
}

#[derive(Deserialize)]
pub struct NewUserForm {
    username: String,
    display_name: String,
    password: String,
    role: String,
    #[serde(default)]
    unit_id: String,
    #[serde(default)]
    officer_id_number: String,
}

pub async fn create_user(
    state: web::Data<AppState>,
    PageForm(p, form): PageForm<NewUserForm>,
) -> PageResult {
    p.require(Capability::ManageUsers)?;
    let f = form;
    let id_number = f.officer_id_number.clone();
    let officer_id = if id_number.trim().is_empty() {
        None
    } else {
        let n = crate::roster::rules::IdNumber::parse(&id_number)
            .map(|i| i.to_string())
            .unwrap_or_default();
        state
            .db(move |c| Ok(crate::roster::db::officer_by_id_number(c, &n)?.map(|o| o.id)))
            .await?
    };
    let input = NewUser {
        username: f.username,
        display_name: f.display_name,
        password: f.password,
        role: f.role,
        unit_id: f.unit_id.trim().parse().ok(),
        officer_id,
    };
    if !id_number.trim().is_empty()
        && officer_id.is_none()
        && Role::parse(&input.role) == Some(Role::Officer)
    {
        let mut e = FieldErrors::new();
        e.insert(
            "officer_id".into(),
            format!("名录库中没有身份证号为 {} 的人员", id_number.trim()),
        );
        return users_page(&state, &p, input, e, None).await;
    }
    let i2 = input.clone();
    let grant = p.grant();
    match state.db(move |c| auth::create_user(c, &grant, &i2)).await {
        Ok(u) => Ok(redirect(&format!(
            "/users?message={}",
            urlencoding::encode(&format!("已创建账号 {}", u.username))
        ))),
        Err(Error::Invalid { fields, .. } | Error::Conflict { fields, .. }) => {
            users_page(&state, &p, input, fields, None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    password: String,
}

pub async fn reset_password(
    state: web::Data<AppState>,
    PageForm(p, form): PageForm<ResetForm>,
    id: web::Path<i64>,
) -> PageResult {
    p.require(Capability::ManageUsers)?;
    let id = *id;
    let f = form;
    state
        .db(move |c| auth::reset_password(c, &p.grant(), id, &f.password))
        .await?;
    Ok(redirect(&format!(
        "/users?message={}",
        urlencoding::encode("密码已重置，账号已解锁")
    )))
}

pub async fn set_active(
    state: web::Data<AppState>,
    PageForm(p, form): PageForm<ActiveForm>,
    id: web::Path<i64>,
) -> PageResult {
    p.require(Capability::ManageUsers)?;
    let id = *id;
    let active = form.active;
    state
        .db(move |c| auth::set_active(c, &p.grant(), id, active))
        .await?;
    Ok(redirect("/users"))
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    ctx: Ctx,
    entries: Vec<Entry>,
    filter: Filter,
    next: Option<String>,
}

impl AuditPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        local_time(t)
    }
    fn action_label<'a>(&self, a: &'a str) -> &'a str {
        audit::rules::action_label(a)
    }
}

pub async fn audit(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    q: web::Query<Filter>,
) -> PageResult {
    p.require_audit_reader()?;
    let filter = q.into_inner();
    let f2 = filter.clone();
    let entries = state.db(move |c| Ok(audit::db::list(c, &f2, 100)?)).await?;
    let next = entries
        .last()
        .filter(|e| e.seq > 1 && entries.len() == 100)
        .map(|e| {
            let mut parts = vec![format!("before_seq={}", e.seq - 1)];
            for (k, v) in [
                ("entity_type", &filter.entity_type),
                ("entity_id", &filter.entity_id),
                ("actor", &filter.actor),
                ("action", &filter.action),
            ] {
                if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                    parts.push(format!("{k}={}", urlencoding::encode(v)));
                }
            }
            parts.join("&")
        });
    render(&AuditPage {
        ctx: Ctx::new(&p, "audit"),
        entries,
        filter,
        next,
    })
}

#[derive(Template)]
#[template(path = "audit_verify.html")]
struct VerifyPage {
    ctx: Ctx,
    v: audit::Verification,
}

impl VerifyPage {
    fn signed_when(&self) -> String {
        self.v
            .signed_at
            .as_ref()
            .map(local_time)
            .unwrap_or_default()
    }
}

pub async fn verify(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    p.require_audit_reader()?;
    let v = state.verify_audit().await?;
    render(&VerifyPage {
        ctx: Ctx::new(&p, "audit"),
        v,
    })
}
