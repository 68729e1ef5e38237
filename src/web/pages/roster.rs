use super::{ActiveForm, Ctx, Errors, PageResult, read_multipart, redirect, render, render_form};
use crate::auth::Capability;
use crate::error::{Error, FieldErrors};
use crate::roster::model::{Officer, OfficerInput, Posting, Unit, UnitInput};
use crate::roster::{self, Page, db::Search, rules};
use crate::web::{AppState, PageForm, PageUser};
use actix_web::web;
use askama::Template;
use serde::Deserialize;

/// A unit in a select box, indented by depth.
pub struct UnitOption {
    pub id: i64,
    pub label: String,
    pub active: bool,
}

pub fn unit_options(units: &[Unit]) -> Vec<UnitOption> {
    let min = units.iter().map(|u| u.depth()).min().unwrap_or(0);
    units
        .iter()
        .map(|u| UnitOption {
            id: u.id,
            label: format!("{}{}", "　".repeat(u.depth() - min), u.name),
            active: u.active,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "officers.html")]
struct OfficersPage {
    ctx: Ctx,
    page: Page,
    search: Search,
    units: Vec<UnitOption>,
    statuses: Vec<&'static str>,
    employment_types: Vec<&'static str>,
    query: String,
    prev: Option<String>,
    next: Option<String>,
}

fn query_string(s: &Search, page: i64) -> String {
    let mut parts = vec![];
    let mut add = |k: &str, v: &str| {
        if !v.is_empty() {
            parts.push(format!("{k}={}", urlencoding::encode(v)));
        }
    };
    add("q", &s.q);
    add(
        "unit_id",
        &s.unit_id.map(|u| u.to_string()).unwrap_or_default(),
    );
    add("only_unit", if s.only_unit { "true" } else { "" });
    add("category", &s.category);
    add("status", &s.status);
    add("employment_type", &s.employment_type);
    add("unclassified", if s.unclassified { "true" } else { "" });
    add("sort", &s.sort);
    add("dir", &s.dir);
    if page > 1 {
        add("page", &page.to_string());
    }
    parts.join("&")
}

pub async fn officers(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    q: web::Query<Search>,
) -> PageResult {
    let search = q.into_inner();
    let grant = p.grant();
    let s2 = search.clone();
    let (page, units) = state
        .db(move |c| {
            Ok((
                roster::search(c, &grant, &s2)?,
                roster::units_in_scope(c, &grant)?,
            ))
        })
        .await?;
    let prev = (page.page > 1).then(|| query_string(&search, page.page - 1));
    let next = (page.page < page.pages).then(|| query_string(&search, page.page + 1));
    render(&OfficersPage {
        ctx: Ctx::new(&p, "officers"),
        query: query_string(&search, 1),
        page,
        search,
        units: unit_options(&units),
        statuses: rules::OfficerStatus::labels(),
        employment_types: rules::EmploymentType::labels(),
        prev,
        next,
    })
}

#[derive(Template)]
#[template(path = "officer.html")]
struct OfficerPage {
    ctx: Ctx,
    o: Officer,
    unit: Unit,
    birth: String,
    postings: Vec<(Posting, String)>,
    changes: Vec<roster::HistoryEntry>,
    eligibility: rules::Eligibility,
    /// Who made each change is shown only to those who may read the audit log.
    show_actor: bool,
}

impl OfficerPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        local_time(t)
    }
    fn date(&self, d: &chrono::NaiveDate) -> String {
        rules::chinese_date(*d)
    }
    fn action_label<'a>(&self, a: &'a str) -> &'a str {
        crate::audit::rules::action_label(a)
    }
}

/// UTC in the database, local time on the page.
pub fn local_time(t: &chrono::NaiveDateTime) -> String {
    rules::chinese_datetime(t)
}

pub async fn officer(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
) -> PageResult {
    let grant = p.grant();
    let id = *id;
    let ((o, unit), (postings, changes)) = state
        .db(move |c| {
            Ok((
                roster::officer(c, &grant, id)?,
                roster::history(c, &grant, id)?,
            ))
        })
        .await?;
    render(&OfficerPage {
        ctx: Ctx::new(&p, "officers"),
        birth: rules::chinese_date(o.birth_date),
        eligibility: o.eligibility(),
        show_actor: p.grant().allows(Capability::ReadAudit),
        o,
        unit,
        postings,
        changes,
    })
}

#[derive(Template)]
#[template(path = "officer_form.html")]
struct OfficerForm {
    ctx: Ctx,
    id: Option<i64>,
    input: OfficerInput,
    errors: Errors,
    units: Vec<UnitOption>,
    statuses: Vec<&'static str>,
    employment_types: Vec<&'static str>,
}

impl OfficerForm {
    fn selected_unit(&self, id: &i64) -> bool {
        self.input.unit_id == Some(*id)
    }
    fn known_employment(&self) -> bool {
        rules::EmploymentType::parse(&self.input.employment_type).is_some()
    }
    fn known_status(&self) -> bool {
        rules::OfficerStatus::parse(&self.input.status).is_some()
    }
}

async fn officer_form(
    state: &AppState,
    p: &crate::auth::Principal,
    id: Option<i64>,
    input: OfficerInput,
    errors: FieldErrors,
) -> PageResult {
    let grant = p.grant();
    let units = state.db(move |c| roster::units_in_scope(c, &grant)).await?;
    let has_errors = !errors.is_empty();
    let errors = Errors(errors);
    render_form(
        &OfficerForm {
            ctx: Ctx::new(p, "officers"),
            id,
            input,
            errors,
            units: unit_options(&units)
                .into_iter()
                .filter(|u| u.active)
                .collect(),
            statuses: rules::OfficerStatus::labels(),
            employment_types: rules::EmploymentType::labels(),
        },
        has_errors,
    )
}

pub async fn new_officer(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    p.require(Capability::WriteRoster)?;
    let input = OfficerInput {
        status: "在岗".into(),
        ..Default::default()
    };
    officer_form(&state, &p, None, input, FieldErrors::new()).await
}

pub async fn edit_officer(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
) -> PageResult {
    p.require(Capability::WriteRoster)?;
    let grant = p.grant();
    let id = *id;
    let (o, _) = state.db(move |c| roster::officer(c, &grant, id)).await?;
    officer_form(
        &state,
        &p,
        Some(id),
        OfficerInput::from_officer(&o),
        FieldErrors::new(),
    )
    .await
}

#[derive(Deserialize)]
pub struct OfficerFormData {
    input: OfficerInput,
}

async fn save_officer(
    state: web::Data<AppState>,
    p: crate::auth::Principal,
    id: Option<i64>,
    form: OfficerFormData,
) -> PageResult {
    let grant = p.grant();
    let input = form.input.clone();
    let result = state
        .db(move |c| match id {
            None => roster::create_officer(c, &grant, &input),
            Some(id) => roster::update_officer(c, &grant, id, &input),
        })
        .await;
    match result {
        Ok(o) => Ok(redirect(&format!("/officers/{}", o.id))),
        Err(Error::Invalid { fields, .. } | Error::Conflict { fields, .. }) => {
            officer_form(&state, &p, id, form.input, fields).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The select box sends "" for "none"; the form carries unit_id as text.
#[derive(Deserialize)]
pub struct RawOfficerForm {
    #[serde(default)]
    unit_id: String,
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

fn parse_officer_form(raw: RawOfficerForm) -> OfficerFormData {
    let get = |k: &str| raw.rest.get(k).cloned().unwrap_or_default();
    OfficerFormData {
        input: OfficerInput {
            name: get("name"),
            id_number: get("id_number"),
            sex: get("sex"),
            birth_date: get("birth_date"),
            unit_id: raw.unit_id.trim().parse().ok(),
            post: get("post"),
            category: get("category"),
            region: get("region"),
            employment_type: get("employment_type"),
            phone: get("phone"),
            status: get("status"),
            grade: get("grade"),
            cert_number: get("cert_number"),
            cert_issuer: get("cert_issuer"),
            cert_valid_until: get("cert_valid_until"),
        },
    }
}

pub async fn create_officer(
    state: web::Data<AppState>,
    PageForm(p, form): PageForm<RawOfficerForm>,
) -> PageResult {
    save_officer(state, p, None, parse_officer_form(form)).await
}

pub async fn update_officer(
    state: web::Data<AppState>,
    PageForm(p, form): PageForm<RawOfficerForm>,
    id: web::Path<i64>,
) -> PageResult {
    save_officer(state, p, Some(*id), parse_officer_form(form)).await
}

pub async fn photo(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
) -> PageResult {
    let grant = p.grant();
    let id = *id;
    let photo = state.db(move |c| roster::photo(c, &grant, id)).await?;
    Ok(crate::web::photo_response(photo))
}

pub async fn upload_photo(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
    mp: actix_multipart::Multipart,
) -> PageResult {
    let form = read_multipart(mp, state.config.max_photo_bytes + 64 * 1024).await?;
    p.check_csrf(form.fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    p.require(Capability::WriteRoster)?;
    let (_, bytes) = form
        .file
        .ok_or_else(|| Error::invalid("photo", "请选择照片文件"))?;
    let grant = p.grant();
    let id = *id;
    let max = state.config.max_photo_bytes;
    state
        .db(move |c| roster::set_photo(c, &grant, id, &bytes, max))
        .await?;
    Ok(redirect(&format!("/officers/{id}")))
}

pub async fn export(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    q: web::Query<Search>,
) -> PageResult {
    let grant = p.grant();
    let bytes = state
        .db(move |c| roster::export::officers_xlsx(c, &grant, &q))
        .await?;
    let name = format!(
        "行政执法人员名录_{}.xlsx",
        chrono::Local::now().format("%Y%m%d")
    );
    Ok(crate::web::api::xlsx_response(&name, bytes))
}

pub async fn template(PageUser(p): PageUser) -> PageResult {
    Ok(crate::web::api::xlsx_response(
        "行政执法人员导入模板.xlsx",
        roster::export::template_xlsx(&p.grant())?,
    ))
}

// ------------------------------------------------------------------ units

#[derive(Template)]
#[template(path = "units.html")]
struct UnitsPage {
    ctx: Ctx,
    units: Vec<(Unit, usize)>,
}

pub async fn units(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    let grant = p.grant();
    let units = state.db(move |c| roster::units_in_scope(c, &grant)).await?;
    let min = units.iter().map(|u| u.depth()).min().unwrap_or(0);
    let units = units.into_iter().map(|u| {
        let d = u.depth() - min;
        (u, d)
    });
    render(&UnitsPage {
        ctx: Ctx::new(&p, "units"),
        units: units.collect(),
    })
}

#[derive(Template)]
#[template(path = "unit_form.html")]
struct UnitForm {
    ctx: Ctx,
    id: Option<i64>,
    active: bool,
    input: UnitInput,
    errors: Errors,
    units: Vec<UnitOption>,
}

impl UnitForm {
    fn is_parent(&self, id: &i64) -> bool {
        self.input.parent_id == Some(*id)
    }
}

async fn unit_form(
    state: &AppState,
    p: &crate::auth::Principal,
    id: Option<i64>,
    active: bool,
    input: UnitInput,
    errors: FieldErrors,
) -> PageResult {
    let units = state.db(|c| Ok(roster::db::all_units(c)?)).await?;
    let has_errors = !errors.is_empty();
    let errors = Errors(errors);
    render_form(
        &UnitForm {
            ctx: Ctx::new(p, "units"),
            id,
            active,
            input,
            errors,
            units: unit_options(&units)
                .into_iter()
                .filter(|u| u.active && Some(u.id) != id)
                .collect(),
        },
        has_errors,
    )
}

pub async fn new_unit(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    p.require(Capability::ManageUnits)?;
    unit_form(
        &state,
        &p,
        None,
        true,
        UnitInput::default(),
        FieldErrors::new(),
    )
    .await
}

pub async fn edit_unit(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    id: web::Path<i64>,
) -> PageResult {
    p.require(Capability::ManageUnits)?;
    let id = *id;
    let u = state.db(move |c| roster::unit(c, id)).await?;
    let input = UnitInput {
        code: u.code,
        name: u.name,
        region_code: u.region_code,
        parent_id: u.parent_id,
    };
    unit_form(&state, &p, Some(id), u.active, input, FieldErrors::new()).await
}

#[derive(Deserialize)]
pub struct UnitFormData {
    code: String,
    name: String,
    region_code: String,
    #[serde(default)]
    parent_id: String,
}

impl UnitFormData {
    fn input(&self) -> UnitInput {
        UnitInput {
            code: self.code.clone(),
            name: self.name.clone(),
            region_code: self.region_code.clone(),
            parent_id: self.parent_id.trim().parse().ok(),
        }
    }
}

pub async fn create_unit(
    state: web::Data<AppState>,
    PageForm(p, form): PageForm<UnitFormData>,
) -> PageResult {
    p.require(Capability::ManageUnits)?;
    let input = form.input();
    let grant = p.grant();
    let i2 = input.clone();
    match state.db(move |c| roster::create_unit(c, &grant, &i2)).await {
        Ok(_) => Ok(redirect("/units")),
        Err(Error::Invalid { fields, .. } | Error::Conflict { fields, .. }) => {
            unit_form(&state, &p, None, true, input, fields).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn update_unit(
    state: web::Data<AppState>,
    PageForm(p, form): PageForm<UnitFormData>,
    id: web::Path<i64>,
) -> PageResult {
    p.require(Capability::ManageUnits)?;
    let id = *id;
    let input = form.input();
    let grant = p.grant();
    let i2 = input.clone();
    match state
        .db(move |c| roster::update_unit(c, &grant, id, &i2))
        .await
    {
        Ok(_) => Ok(redirect("/units")),
        Err(Error::Invalid { fields, .. } | Error::Conflict { fields, .. }) => {
            unit_form(&state, &p, Some(id), true, input, fields).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    parent_id: String,
}

pub async fn move_unit(
    state: web::Data<AppState>,
    PageForm(p, form): PageForm<MoveForm>,
    id: web::Path<i64>,
) -> PageResult {
    p.require(Capability::ManageUnits)?;
    let id = *id;
    let parent = form.parent_id.trim().parse().ok();
    state
        .db(move |c| roster::move_unit(c, &p.grant(), id, parent))
        .await?;
    Ok(redirect("/units"))
}

pub async fn set_unit_active(
    state: web::Data<AppState>,
    PageForm(p, form): PageForm<ActiveForm>,
    id: web::Path<i64>,
) -> PageResult {
    p.require(Capability::ManageUnits)?;
    let id = *id;
    let active = form.active;
    state
        .db(move |c| roster::set_unit_active(c, &p.grant(), id, active))
        .await?;
    Ok(redirect("/units"))
}
