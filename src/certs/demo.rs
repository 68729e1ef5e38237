//! A realistic register for demonstrations and benchmarks (`zhifa demo-data --certificates`):
//! most eligible officers certified over the last six years, a few suspended, revoked or expired,
//! numbered as new certificates are. Deterministic for a seed.

use std::collections::HashMap;

use chrono::Datelike;
use diesel::prelude::*;

use super::rules::CertState;
use super::{Settings, db};
use crate::audit::{self, Actor, Change};
use crate::db::DbConn;
use crate::db::schema::{cert_serials as cs, certificates as ct, officers, units};
use crate::error::Result;
use crate::exams::paper::Mix;
use crate::roster::rules::{Eligibility, certificate_eligibility};

#[derive(Debug, Default)]
pub struct Summary {
    pub issued: usize,
    pub valid: usize,
    pub suspended: usize,
    pub revoked: usize,
    pub expired: usize,
}

pub fn register(conn: &mut DbConn, s: &Settings, seed: u64) -> Result<Summary> {
    let have: std::collections::HashSet<i64> = ct::table
        .select(ct::officer_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    type O = (i64, i64, String, String, String, String, String);
    let all: Vec<O> = officers::table
        .inner_join(units::table.on(units::id.eq(officers::unit_id)))
        .order(officers::id.asc())
        .select((
            officers::id,
            officers::unit_id,
            officers::category,
            officers::region,
            officers::employment_type,
            officers::status,
            units::region_code,
        ))
        .load(conn)?;
    let today = crate::db::now().date();
    let mut rng = Mix::new(seed ^ 0xC3A5_C85C_97CB_3127);
    let mut serials: HashMap<(String, i32), i64> = HashMap::new();
    let mut summary = Summary::default();
    audit::transaction(conn, &Actor::system("示例数据"), |conn, rec| {
        let now = crate::db::now();
        for (id, unit_id, category, region, employment, status, region_code) in &all {
            if have.contains(id)
                || !matches!(
                    certificate_eligibility(employment, status),
                    Eligibility::Eligible
                )
                || rng.next_u64().is_multiple_of(10)
            {
                continue;
            }
            let issued_on = today - chrono::Duration::days((rng.next_u64() % (6 * 365)) as i64);
            let valid_until = issued_on
                .checked_add_months(chrono::Months::new(12 * s.valid_years as u32))
                .and_then(|d| d.pred_opt());
            let year = issued_on.year();
            let key = (region_code.clone(), year);
            let serial = match serials.get(&key) {
                Some(n) => n + 1,
                None => db::last_serial(conn, region_code, year)?.unwrap_or(0) + 1,
            };
            serials.insert(key, serial);
            let Ok(number) = s.pattern.format(region_code, year, serial as u64) else {
                continue;
            };
            let roll = rng.next_u64() % 100;
            let state = if valid_until.is_some_and(|d| d < today) {
                CertState::Expired
            } else if roll < 2 {
                CertState::Suspended
            } else if roll < 3 {
                CertState::Revoked
            } else {
                CertState::Valid
            };
            let cid = db::insert(
                conn,
                &db::NewRow {
                    number: number.clone(),
                    officer_id: *id,
                    unit_id: *unit_id,
                    category: category.clone(),
                    region: region.clone(),
                    issuer: s.issuer.clone(),
                    issued_on: Some(issued_on),
                    valid_until,
                    state: state.label().into(),
                    source: "核发".into(),
                    batch_id: None,
                    replaces_id: None,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            let at = issued_on.and_hms_opt(9, 0, 0).unwrap_or(now);
            db::log(
                conn,
                &db::NewEvent {
                    certificate_id: cid,
                    at,
                    action: "核发",
                    from_state: "",
                    to_state: CertState::Valid.label(),
                    reason: "示例数据",
                    basis: "",
                    actor: "示例数据",
                },
            )?;
            if state != CertState::Valid {
                db::log(
                    conn,
                    &db::NewEvent {
                        certificate_id: cid,
                        at: now,
                        action: match state {
                            CertState::Suspended => "暂扣",
                            CertState::Revoked => "吊销",
                            _ => "到期失效",
                        },
                        from_state: CertState::Valid.label(),
                        to_state: state.label(),
                        reason: "示例数据",
                        basis: "",
                        actor: "示例数据",
                    },
                )?;
            }
            if matches!(state, CertState::Valid | CertState::Suspended) {
                db::point_officer_at(conn, *id, Some((&number, &s.issuer, valid_until)))?;
            }
            summary.issued += 1;
            match state {
                CertState::Valid => summary.valid += 1,
                CertState::Suspended => summary.suspended += 1,
                CertState::Revoked => summary.revoked += 1,
                _ => summary.expired += 1,
            }
        }
        for ((region, year), last) in &serials {
            let moved = diesel::update(
                cs::table
                    .filter(cs::region.eq(region))
                    .filter(cs::year.eq(year)),
            )
            .set(cs::last.eq(last))
            .execute(conn)?;
            if moved == 0 {
                diesel::insert_into(cs::table)
                    .values((cs::region.eq(region), cs::year.eq(year), cs::last.eq(last)))
                    .execute(conn)?;
            }
        }
        rec.record(
            conn,
            Change::new(
                "cert.demo",
                "certificate",
                "demo",
                format!("示例数据：核发执法证 {} 张", summary.issued),
            ),
        )?;
        Ok(())
    })?;
    Ok(summary)
}
