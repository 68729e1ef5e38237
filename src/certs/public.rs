//! The public listing (行政执法公示): who in a unit may enforce, read straight from the register
//! so it changes the moment a certificate changes state. Name and unit, and what the bureau
//! chooses to publish of certificate number, category, region and validity: never the ID
//! number or phone.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::db::schema::{certificates as ct, officers, units};
use crate::error::{Error, Result};

/// What the bureau publishes besides name and unit (`ZHIFA_PUBLIC_FIELDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    pub number: bool,
    pub category: bool,
    pub region: bool,
    pub valid_until: bool,
}

pub fn default_fields() -> Vec<String> {
    ["number", "category", "region"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

impl Fields {
    pub fn parse(names: &[String]) -> std::result::Result<Fields, String> {
        let mut f = Fields {
            number: false,
            category: false,
            region: false,
            valid_until: false,
        };
        for n in names.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            match n {
                "number" | "执法证号" => f.number = true,
                "category" | "执法类别" => f.category = true,
                "region" | "执法区域" => f.region = true,
                "valid_until" | "有效期" => f.valid_until = true,
                other => {
                    return Err(format!(
                        "“{other}”不能公示：可选 number（执法证号）、category（执法类别）、region（执法区域）、valid_until（有效期）"
                    ));
                }
            }
        }
        Ok(f)
    }
}

/// One holder as published: fields the bureau does not publish are absent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Listed {
    pub name: String,
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub valid_until: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitListing {
    pub code: String,
    pub unit: String,
    /// Holders of a valid certificate in the unit and the units under it (all of them, not just
    /// the page shown).
    pub total: i64,
    pub items: Vec<Listed>,
    /// Which of number, category, region, valid_until are published.
    pub published: Vec<&'static str>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct PublicQuery {
    /// Name or certificate number, from the start.
    #[serde(default)]
    pub q: String,
}

/// The most a public page lists at once (a search narrows it).
const PAGE: i64 = 200;

pub fn unit_listing(
    conn: &mut DbConn,
    fields: &Fields,
    code: &str,
    q: &PublicQuery,
) -> Result<UnitListing> {
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
            // a number is searchable only where numbers are published
            query = if fields.number {
                query.filter(officers::name.like(like.clone()).or(ct::number.like(like)))
            } else {
                query.filter(officers::name.like(like))
            };
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
            ct::valid_until,
        ))
        .load::<(
            String,
            String,
            String,
            String,
            String,
            Option<chrono::NaiveDate>,
        )>(conn)?
        .into_iter()
        .map(|(name, unit, number, category, region, until)| Listed {
            name,
            unit,
            number: fields.number.then_some(number),
            category: fields.category.then_some(category),
            region: fields.region.then_some(region),
            valid_until: if fields.valid_until { until } else { None },
        })
        .collect();
    let published = [
        (fields.number, "number"),
        (fields.category, "category"),
        (fields.region, "region"),
        (fields.valid_until, "valid_until"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect();
    Ok(UnitListing {
        code: unit.code,
        unit: unit.name,
        total,
        items,
        published,
    })
}
