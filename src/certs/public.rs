//! The public listing (行政执法公示): who in a unit may enforce, read straight from the register
//! so it changes the moment a certificate changes state. Name, unit, certificate number,
//! category and region only: no ID number, no phone.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::db::schema::{certificates as ct, officers, units};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Listed {
    pub name: String,
    pub unit: String,
    pub number: String,
    pub category: String,
    pub region: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitListing {
    pub code: String,
    pub unit: String,
    /// Holders of a valid certificate in the unit and the units under it (all of them, not just
    /// the page shown).
    pub total: i64,
    pub items: Vec<Listed>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct PublicQuery {
    /// Name or certificate number, from the start.
    #[serde(default)]
    pub q: String,
}

/// The most a public page lists at once (a search narrows it).
const PAGE: i64 = 200;

pub fn unit_listing(conn: &mut DbConn, code: &str, q: &PublicQuery) -> Result<UnitListing> {
    let unit = crate::roster::db::unit_by_code(conn, code.trim())?
        .filter(|u| u.active)
        .ok_or_else(|| Error::not_found("单位"))?;
    let q = q.q.trim();
    if q.chars().count() > 30 {
        return Err(Error::BadRequest("查询内容不能超过 30 个字".into()));
    }
    let base = || {
        let mut query = ct::table
            .inner_join(officers::table)
            .inner_join(units::table)
            .filter(ct::state.eq("有效"))
            .filter(units::path.like(format!("{}%", unit.path)))
            .into_boxed();
        if !q.is_empty() {
            let like = format!("{q}%");
            query = query.filter(officers::name.like(like.clone()).or(ct::number.like(like)));
        }
        query
    };
    let total = base().count().get_result(conn)?;
    let items = base()
        .order((units::path.asc(), officers::name.asc()))
        .limit(PAGE)
        .select((
            officers::name,
            units::name,
            ct::number,
            ct::category,
            ct::region,
        ))
        .load::<(String, String, String, String, String)>(conn)?
        .into_iter()
        .map(|(name, unit, number, category, region)| Listed {
            name,
            unit,
            number,
            category,
            region,
        })
        .collect();
    Ok(UnitListing {
        code: unit.code,
        unit: unit.name,
        total,
        items,
    })
}
