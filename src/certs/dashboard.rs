//! The bureau's dashboard (a liaison's, for its own units): officers and valid certificates per
//! unit, exams under way, the review due and overdue, certificates expiring, and the to-do list —
//! each from a grouped query, so the page stays fast with tens of thousands of certificates.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::db::schema::{
    cert_reviews as cr, certificates as ct, exam_batches as eb, exam_candidates as ec,
    exam_sessions as es, officers, review_rounds as rr, units,
};
use crate::error::{Error, Result};
use crate::roster::Scope;
use crate::roster::rules::{Eligibility, certificate_eligibility};

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct UnitLine {
    pub unit_id: i64,
    pub unit: String,
    pub officers: i64,
    /// Officers who may hold a certificate (在编在岗, not auxiliary).
    pub eligible: i64,
    pub valid: i64,
    pub suspended: i64,
    /// Valid certificates ending within two months.
    pub expiring: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExamNow {
    pub batch_id: i64,
    pub title: String,
    pub session: String,
    pub candidates: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewLine {
    pub year: i32,
    #[schema(value_type = String)]
    pub deadline: NaiveDate,
    /// 进行中 | 即将截止 | 已逾期
    pub status: String,
    /// Valid certificates due in the round and not yet decided.
    pub undecided: i64,
    /// Of those, with the unit's first review.
    pub first_reviewed: i64,
    pub decided: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    pub scope: String,
    pub totals: UnitLine,
    /// 有效, 暂扣, 吊销, 注销, 过期 with their counts.
    pub states: Vec<(String, i64)>,
    pub units: Vec<UnitLine>,
    pub exams: Vec<ExamNow>,
    pub review: Option<ReviewLine>,
    /// Valid certificates ending in each of the next 12 months ("2027年1月", count).
    pub expiring_by_month: Vec<(String, i64)>,
    /// Certificates flagged for cancellation (holder left an enforcement post).
    pub to_do: i64,
}

/// The unit each unit of the scope is counted under: the first level below the scope's root
/// where the units part ways.
fn group_key(path: &str, prefix: &str, depth: usize) -> Option<i64> {
    path.strip_prefix(prefix)?
        .split('/')
        .filter(|s| !s.is_empty())
        .nth(depth)
        .and_then(|s| s.parse().ok())
}

pub fn dashboard(conn: &mut DbConn, grant: &Grant) -> Result<Dashboard> {
    grant.require(Capability::ReadRoster)?;
    let (prefix, scope) = match grant.scope() {
        Scope::All => ("/".to_string(), "全市（区）".to_string()),
        Scope::Subtree(p) => (p.clone(), String::new()),
        _ => {
            return Err(Error::Forbidden(
                "统计概览只对司法局和单位联络员开放".into(),
            ));
        }
    };
    let today = crate::db::now().date();
    let soon = today
        .checked_add_months(chrono::Months::new(2))
        .unwrap_or(today);
    let all_units: Vec<(i64, String, String)> = units::table
        .filter(units::path.like(format!("{prefix}%")))
        .select((units::id, units::name, units::path))
        .load(conn)?;
    let names: HashMap<i64, String> = all_units
        .iter()
        .map(|(id, n, _)| (*id, n.clone()))
        .collect();
    let scope = if scope.is_empty() {
        all_units
            .iter()
            .find(|(_, _, p)| *p == prefix)
            .map(|(_, n, _)| n.clone())
            .unwrap_or_default()
    } else {
        scope
    };
    // the level where units part ways
    let mut depth = 0;
    loop {
        let keys: std::collections::HashSet<Option<i64>> = all_units
            .iter()
            .map(|(_, _, p)| group_key(p, &prefix, depth))
            .collect();
        let deeper = all_units
            .iter()
            .any(|(_, _, p)| group_key(p, &prefix, depth + 1).is_some());
        if keys.len() > 1 || !deeper || depth > 8 {
            break;
        }
        depth += 1;
    }
    // a unit above that level (the scope's own unit) is its own line
    let group_of: HashMap<i64, i64> = all_units
        .iter()
        .map(|(id, _, p)| (*id, group_key(p, &prefix, depth).unwrap_or(*id)))
        .collect();
    let mut lines: HashMap<i64, UnitLine> = HashMap::new();
    fn line<'a>(
        lines: &'a mut HashMap<i64, UnitLine>,
        group_of: &HashMap<i64, i64>,
        names: &HashMap<i64, String>,
        unit_id: i64,
    ) -> Option<&'a mut UnitLine> {
        let g = *group_of.get(&unit_id)?;
        Some(lines.entry(g).or_insert_with(|| UnitLine {
            unit_id: g,
            unit: names.get(&g).cloned().unwrap_or_default(),
            ..Default::default()
        }))
    }
    // the whole region needs no filter; a liaison's units are few enough to name
    let ids: Option<Vec<i64>> = match grant.scope() {
        Scope::All => None,
        _ => Some(all_units.iter().map(|(id, _, _)| *id).collect()),
    };
    let mut q = officers::table
        .group_by((
            officers::unit_id,
            officers::employment_type,
            officers::status,
        ))
        .select((
            officers::unit_id,
            officers::employment_type,
            officers::status,
            diesel::dsl::count(officers::cert_number),
            count_star(),
        ))
        .into_boxed();
    if let Some(ids) = &ids {
        q = q.filter(officers::unit_id.eq_any(ids.clone()));
    }
    let people: Vec<(i64, String, String, i64, i64)> = q.load(conn)?;
    let mut totals = UnitLine {
        unit: scope.clone(),
        ..Default::default()
    };
    // holders of a current certificate (the roster's pointer: valid or suspended) who have
    // left an enforcement post: the to-do list
    let mut to_do = 0;
    for (unit, employment, status, holders, n) in &people {
        let eligibility = certificate_eligibility(employment, status);
        let eligible = matches!(eligibility, Eligibility::Eligible);
        if matches!(eligibility, Eligibility::Ineligible(_)) {
            to_do += holders;
        }
        totals.officers += n;
        if eligible {
            totals.eligible += n;
        }
        if let Some(l) = line(&mut lines, &group_of, &names, *unit) {
            l.officers += n;
            if eligible {
                l.eligible += n;
            }
        }
    }
    let mut q = ct::table
        .group_by((ct::unit_id, ct::state))
        .select((ct::unit_id, ct::state, count_star()))
        .into_boxed();
    if let Some(ids) = &ids {
        q = q.filter(ct::unit_id.eq_any(ids.clone()));
    }
    let held: Vec<(i64, String, i64)> = q.load(conn)?;
    let mut states: HashMap<String, i64> = HashMap::new();
    for (unit, state, n) in &held {
        *states.entry(state.clone()).or_default() += n;
        let Some(l) = line(&mut lines, &group_of, &names, *unit) else {
            continue;
        };
        match state.as_str() {
            "有效" => l.valid += n,
            "暂扣" => l.suspended += n,
            _ => {}
        }
    }
    totals.valid = states.get("有效").copied().unwrap_or(0);
    totals.suspended = states.get("暂扣").copied().unwrap_or(0);
    let mut q = ct::table
        .filter(ct::state.eq("有效"))
        .filter(ct::valid_until.ge(today))
        .filter(
            ct::valid_until.lt(today
                .checked_add_months(chrono::Months::new(12))
                .unwrap_or(today)),
        )
        .select((ct::unit_id, ct::valid_until))
        .into_boxed();
    if let Some(ids) = &ids {
        q = q.filter(ct::unit_id.eq_any(ids.clone()));
    }
    let ending: Vec<(i64, Option<NaiveDate>)> = q.load(conn)?;
    let mut by_month: Vec<(String, i64)> = (0..12)
        .map(|i| {
            let d = today
                .with_day(1)
                .and_then(|d| d.checked_add_months(chrono::Months::new(i)))
                .unwrap_or(today);
            (format!("{}年{}月", d.year(), d.month()), 0)
        })
        .collect();
    for (unit, until) in &ending {
        let Some(d) = until else { continue };
        let i = (d.year() - today.year()) * 12 + d.month() as i32 - today.month() as i32;
        if let Some(slot) = by_month.get_mut(i as usize) {
            slot.1 += 1;
        }
        if *d <= soon {
            totals.expiring += 1;
            if let Some(l) = line(&mut lines, &group_of, &names, *unit) {
                l.expiring += 1;
            }
        }
    }
    let now = crate::db::now();
    let exams: Vec<ExamNow> = es::table
        .inner_join(eb::table)
        .filter(es::starts_at.le(now))
        .filter(es::ends_at.gt(now))
        .select((es::id, eb::id, eb::title, es::name))
        .load::<(i64, i64, String, String)>(conn)?
        .into_iter()
        .map(|(sid, batch_id, title, session)| {
            let candidates = ec::table
                .filter(ec::session_id.eq(sid))
                .count()
                .get_result(conn)
                .unwrap_or(0);
            ExamNow {
                batch_id,
                title,
                session,
                candidates,
            }
        })
        .collect();
    let review = match rr::table
        .filter(rr::applied_at.is_null())
        .order(rr::year.desc())
        .select((rr::year, rr::deadline))
        .first::<(i32, NaiveDate)>(conn)
        .optional()?
    {
        None => None,
        Some((year, deadline)) => {
            let start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today);
            let mut q = ct::table
                .filter(ct::state.eq("有效"))
                .filter(ct::issued_on.lt(start).or(ct::issued_on.is_null()))
                .count()
                .into_boxed();
            if let Some(ids) = &ids {
                q = q.filter(ct::unit_id.eq_any(ids.clone()));
            }
            let due: i64 = q.get_result(conn)?;
            let rows: Vec<(String, String, i64)> = match &ids {
                None => cr::table
                    .filter(cr::year.eq(year))
                    .group_by((cr::result, cr::first_opinion))
                    .select((cr::result, cr::first_opinion, count_star()))
                    .load(conn)?,
                Some(ids) => cr::table
                    .inner_join(ct::table)
                    .filter(ct::unit_id.eq_any(ids.clone()))
                    .filter(cr::year.eq(year))
                    .group_by((cr::result, cr::first_opinion))
                    .select((cr::result, cr::first_opinion, count_star()))
                    .load(conn)?,
            };
            let decided: i64 = rows
                .iter()
                .filter(|(r, _, _)| !r.is_empty())
                .map(|r| r.2)
                .sum();
            let first_reviewed = rows
                .iter()
                .filter(|(r, o, _)| r.is_empty() && !o.is_empty())
                .map(|r| r.2)
                .sum();
            Some(ReviewLine {
                year,
                deadline,
                status: if today > deadline {
                    "已逾期".into()
                } else if soon >= deadline {
                    "即将截止".into()
                } else {
                    "进行中".into()
                },
                undecided: (due - decided).max(0),
                first_reviewed,
                decided,
            })
        }
    };
    let mut units: Vec<UnitLine> = lines.into_values().collect();
    units.sort_by(|a, b| b.officers.cmp(&a.officers).then(a.unit.cmp(&b.unit)));
    let order = ["有效", "暂扣", "吊销", "注销", "过期"];
    Ok(Dashboard {
        scope,
        totals,
        states: order
            .iter()
            .map(|s| (s.to_string(), states.get(*s).copied().unwrap_or(0)))
            .collect(),
        units,
        exams,
        review,
        expiring_by_month: by_month,
        to_do,
    })
}

/// A horizontal bar chart as SVG (server-rendered, no script): one bar per (label, value).
pub fn bars_svg(rows: &[(String, i64)], color: &str) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let h = 22 * rows.len() as i64 + 8;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 520 {h}" width="100%" role="img">"#
    );
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = 4 + 22 * i as i64;
        let w = (*v as f64 / max * 300.0).round() as i64;
        s.push_str(&format!(
            r##"<text x="130" y="{}" text-anchor="end" font-size="12" fill="#333">{}</text><rect x="136" y="{y}" width="{w}" height="16" fill="{color}"/><text x="{}" y="{}" font-size="12" fill="#333">{v}</text>"##,
            y + 12,
            xml_escape(label),
            140 + w,
            y + 12
        ));
    }
    s.push_str("</svg>");
    s
}

/// Stacked coverage bars: valid certificates out of eligible officers, per unit.
pub fn coverage_svg(units: &[UnitLine]) -> String {
    let rows: Vec<&UnitLine> = units.iter().take(20).collect();
    let h = 22 * rows.len() as i64 + 8;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 520 {h}" width="100%" role="img">"#
    );
    for (i, u) in rows.iter().enumerate() {
        let y = 4 + 22 * i as i64;
        let pct = if u.eligible > 0 {
            (u.valid as f64 / u.eligible as f64).min(1.0)
        } else {
            0.0
        };
        let w = (pct * 300.0).round() as i64;
        s.push_str(&format!(
            r##"<text x="130" y="{}" text-anchor="end" font-size="12" fill="#333">{}</text><rect x="136" y="{y}" width="300" height="16" fill="#e6e9ef"/><rect x="136" y="{y}" width="{w}" height="16" fill="#1f5fa8"/><text x="442" y="{}" font-size="12" fill="#333">{}/{} · {:.0}%</text>"##,
            y + 12,
            xml_escape(&u.unit.chars().take(10).collect::<String>()),
            y + 12,
            u.valid,
            u.eligible,
            pct * 100.0
        ));
    }
    s.push_str("</svg>");
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
