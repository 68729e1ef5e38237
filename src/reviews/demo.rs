//! Review history for the demo register (`zhifa demo-data --certificates`): past years reviewed
//! and decided (a few failed), and the current year's round open with most units' first review
//! in and the year's training hours imported. Deterministic for a seed.

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;

use super::rules::Rules;
use crate::audit::{self, Actor, Change};
use crate::db::DbConn;
use crate::db::schema::{
    cert_reviews as cr, certificates as ct, officers, review_rounds as rr, training_hours as th,
};
use crate::error::{Error, Result};
use crate::exams::paper::Mix;

#[derive(Debug, Default)]
pub struct Summary {
    /// Decisions of past years.
    pub decided: usize,
    /// First reviews of the current year.
    pub first: usize,
    pub training: usize,
}

pub fn history(conn: &mut DbConn, seed: u64) -> Result<Summary> {
    let today = crate::db::now().date();
    let this_year = today.year();
    let rules = serde_json::to_string(&Rules::default()).map_err(|e| Error::Internal(e.into()))?;
    type Held = (i64, i64, Option<NaiveDate>, Option<NaiveDate>, String);
    let certs: Vec<Held> = ct::table
        .select((
            ct::id,
            ct::officer_id,
            ct::issued_on,
            ct::valid_until,
            ct::state,
        ))
        .order(ct::id.asc())
        .load(conn)?;
    let officer_ids: Vec<i64> = officers::table.select(officers::id).load(conn)?;
    let mut rng = Mix::new(seed ^ 0x9E37_79B9_7F4A_7C15);
    let mut summary = Summary::default();
    audit::transaction(conn, &Actor::system("示例数据"), |conn, rec| {
        let now = crate::db::now();
        for year in this_year - 5..=this_year {
            let exists: i64 = rr::table
                .filter(rr::year.eq(year))
                .count()
                .get_result(conn)?;
            if exists > 0 {
                continue;
            }
            let past = year < this_year;
            let deadline = NaiveDate::from_ymd_opt(year + 1, 3, 31).unwrap_or(today);
            diesel::insert_into(rr::table)
                .values((
                    rr::year.eq(year),
                    rr::rules.eq(&rules),
                    rr::deadline.eq(deadline),
                    rr::opened_by.eq("示例数据"),
                    rr::opened_at.eq(now),
                    rr::applied_at.eq(past.then_some(now)),
                ))
                .execute(conn)?;
            let start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today);
            let end = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(today);
            let mut rows = Vec::new();
            for (id, _, issued, until, state) in &certs {
                let due = issued.is_some_and(|d| d < start) && until.is_some_and(|d| d >= end);
                if !due {
                    continue;
                }
                if past {
                    let failed = state == "暂扣" && year == this_year - 1;
                    rows.push((
                        cr::certificate_id.eq(*id),
                        cr::year.eq(year),
                        cr::in_post.eq(Some(true)),
                        cr::violation.eq(Some(failed)),
                        cr::first_opinion.eq(if failed { "不合格" } else { "合格" }),
                        cr::first_note.eq(if failed {
                            "本年度受到行政处分"
                        } else {
                            ""
                        }),
                        cr::result.eq(if failed { "不合格" } else { "合格" }),
                        cr::findings.eq(if failed {
                            "单位初审：本年度有违纪违法行为"
                        } else {
                            ""
                        }),
                        cr::decided_by.eq("示例数据"),
                        cr::decided_at.eq(Some(deadline.and_hms_opt(10, 0, 0).unwrap_or(now))),
                    ));
                } else if state == "有效" && !rng.next_u64().is_multiple_of(10) {
                    let fail = rng.next_u64().is_multiple_of(50);
                    rows.push((
                        cr::certificate_id.eq(*id),
                        cr::year.eq(year),
                        cr::in_post.eq(Some(true)),
                        cr::violation.eq(Some(fail)),
                        cr::first_opinion.eq(if fail { "不合格" } else { "合格" }),
                        cr::first_note.eq(if fail { "年度考核不称职" } else { "" }),
                        cr::result.eq(""),
                        cr::findings.eq(""),
                        cr::decided_by.eq(""),
                        cr::decided_at.eq(None),
                    ));
                }
            }
            for row in &rows {
                diesel::insert_into(cr::table).values(*row).execute(conn)?;
            }
            if past {
                summary.decided += rows.len();
            } else {
                summary.first += rows.len();
            }
        }
        let have: i64 = th::table
            .filter(th::year.eq(this_year))
            .count()
            .get_result(conn)?;
        let officer_ids = if have > 0 { &[][..] } else { &officer_ids[..] };
        let hours: Vec<_> = officer_ids
            .iter()
            .map(|id| {
                (
                    th::officer_id.eq(*id),
                    th::year.eq(this_year),
                    th::hours.eq((20 + rng.next_u64() % 41) as f64),
                    th::source.eq("示例数据"),
                    th::updated_at.eq(now),
                )
            })
            .collect();
        for row in &hours {
            diesel::insert_into(th::table).values(*row).execute(conn)?;
        }
        summary.training = hours.len();
        rec.record(
            conn,
            Change::new(
                "review.demo",
                "review",
                "demo",
                format!(
                    "示例数据：往年年审 {} 条，{this_year} 年度初审 {} 条，培训学时 {} 人",
                    summary.decided, summary.first, summary.training
                ),
            ),
        )?;
        Ok(())
    })?;
    Ok(summary)
}
