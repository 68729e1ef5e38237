use super::{ApiResult, AppState, created};
use crate::error::Error;
use crate::roster::{self, db::Search, model::OfficerInput, model::UnitInput};
use crate::web::ApiUser;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

pub async fn list_units(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    let scope = p.scope();
    let units = state.db(move |c| roster::units_in_scope(c, &scope)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": units })))
}

pub async fn get_unit(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let scope = p.scope();
    let id = *id;
    let unit = state
        .db(move |c| {
            let u = roster::unit(c, id)?;
            if scope.covers_unit(&u) {
                Ok(u)
            } else {
                Err(Error::not_found("单位"))
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(unit))
}

pub async fn create_unit(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<UnitInput>,
) -> ApiResult {
    p.require_admin()?;
    let unit = state
        .db(move |c| roster::create_unit(c, &p.actor(), &body))
        .await?;
    Ok(created(&unit))
}

/// Fields absent from the body are left as they are.
#[derive(Deserialize)]
pub struct UnitPatch {
    code: Option<String>,
    name: Option<String>,
    region_code: Option<String>,
    /// Move under another unit; `null` makes it a root. Absent: stays where it is.
    #[serde(default, with = "double_option")]
    parent_id: Option<Option<i64>>,
    active: Option<bool>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
        Ok(Some(Option::deserialize(d)?))
    }
}

pub async fn update_unit(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Json<UnitPatch>,
) -> ApiResult {
    p.require_admin()?;
    let id = *id;
    let unit = state
        .db(move |c| {
            let actor = p.actor();
            let mut u = roster::unit(c, id)?;
            if body.code.is_some() || body.name.is_some() || body.region_code.is_some() {
                let input = UnitInput {
                    code: body.code.clone().unwrap_or(u.code.clone()),
                    name: body.name.clone().unwrap_or(u.name.clone()),
                    region_code: body.region_code.clone().unwrap_or(u.region_code.clone()),
                    parent_id: u.parent_id,
                };
                u = roster::update_unit(c, &actor, id, &input)?;
            }
            if let Some(parent) = body.parent_id
                && parent != u.parent_id
            {
                u = roster::move_unit(c, &actor, id, parent)?;
            }
            if let Some(active) = body.active {
                u = roster::set_unit_active(c, &actor, id, active)?;
            }
            Ok(u)
        })
        .await?;
    Ok(HttpResponse::Ok().json(unit))
}

pub async fn search(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<Search>,
) -> ApiResult {
    let scope = p.scope();
    let page = state.db(move |c| roster::search(c, &scope, &q)).await?;
    Ok(HttpResponse::Ok().json(page))
}

pub async fn get_officer(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let scope = p.scope();
    let id = *id;
    let (o, u) = state.db(move |c| roster::officer(c, &scope, id)).await?;
    let may = o.may_hold_certificate();
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({"officer": o, "unit": u, "may_hold_certificate": may})))
}

pub async fn create_officer(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<OfficerInput>,
) -> ApiResult {
    p.require_roster_writer()?;
    let scope = p.scope();
    let o = state
        .db(move |c| roster::create_officer(c, &p.actor(), &scope, &body))
        .await?;
    Ok(created(&o))
}

/// Changes the fields present in the body; a new `unit_id` is a transfer.
pub async fn update_officer(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Json<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult {
    p.require_roster_writer()?;
    let scope = p.scope();
    let id = *id;
    let o = state
        .db(move |c| {
            let (current, _) = roster::officer(c, &scope, id)?;
            let mut merged = serde_json::to_value(OfficerInput::from_officer(&current))
                .map_err(|e| Error::Internal(e.into()))?;
            for (k, v) in body.into_inner() {
                if merged.get(&k).is_none() {
                    return Err(Error::invalid(&k, format!("没有“{k}”这个字段")));
                }
                merged[k] = v;
            }
            let input: OfficerInput = serde_json::from_value(merged)
                .map_err(|e| Error::BadRequest(format!("字段类型有误：{e}")))?;
            roster::update_officer(c, &p.actor(), &scope, id, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(o))
}

pub async fn history(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let scope = p.scope();
    let id = *id;
    let (postings, changes) = state.db(move |c| roster::history(c, &scope, id)).await?;
    let postings: Vec<_> = postings
        .into_iter()
        .map(|(p, unit)| serde_json::json!({"unit_id": p.unit_id, "unit": unit, "post": p.post, "started_at": p.started_at, "ended_at": p.ended_at}))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"postings": postings, "changes": changes})))
}

pub async fn get_photo(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let scope = p.scope();
    let id = *id;
    let photo = state.db(move |c| roster::photo(c, &scope, id)).await?;
    Ok(crate::web::photo_response(photo))
}

pub async fn put_photo(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult {
    p.require_roster_writer()?;
    let scope = p.scope();
    let id = *id;
    let max = state.config.max_photo_bytes;
    state
        .db(move |c| roster::set_photo(c, &p.actor(), &scope, id, &body, max))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn export(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<Search>,
) -> ApiResult {
    let scope = p.scope();
    let bytes = state
        .db(move |c| roster::export::officers_xlsx(c, &scope, &q))
        .await?;
    let name = format!(
        "行政执法人员名录_{}.xlsx",
        chrono::Local::now().format("%Y%m%d")
    );
    Ok(super::xlsx_response(&name, bytes))
}

pub async fn template(ApiUser(_p): ApiUser) -> ApiResult {
    Ok(super::xlsx_response(
        "行政执法人员导入模板.xlsx",
        roster::export::template_xlsx()?,
    ))
}
