//! Results: per batch (with a summary and per unit), exported as XLSX; and an officer's own.

use super::db;
use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::db::schema::{
    exam_attempts as at, exam_batches as eb, exam_candidates as ec, exam_sessions as es, officers,
    units,
};
use crate::error::{Error, Result};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultRow {
    pub ticket_no: String,
    pub officer_id: i64,
    pub name: String,
    pub id_number: String,
    pub unit: String,
    pub session: String,
    /// 未开始 | 作答中 | 已交卷 | 到时收卷
    pub status: String,
    pub score: Option<f64>,
    pub passed: Option<bool>,
    #[schema(value_type = Option<String>)]
    pub submitted_at: Option<NaiveDateTime>,
    /// A re-sit (补考): enrolled in an earlier batch and did not pass it (failed or absent).
    pub resit: bool,
    /// The part this candidate was exempt from ('' none).
    pub exempt_part: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Tally {
    pub enrolled: usize,
    /// Handed in or closed at the deadline.
    pub sat: usize,
    pub absent: usize,
    pub passed: usize,
    /// passed / sat, in percent.
    pub pass_rate: f64,
    pub mean_score: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitTally {
    pub unit: String,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchResults {
    pub batch_id: i64,
    pub code: String,
    pub title: String,
    pub pass_mark: f64,
    pub total_points: f64,
    pub summary: Tally,
    pub units: Vec<UnitTally>,
    pub rows: Vec<ResultRow>,
}

/// (batch title, code, ticket, session, starts at, started, closed by, score, passed)
type MineRaw = (
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<String>,
    Option<f64>,
    Option<bool>,
);

// A left-joined column that is already nullable is selected as
// `.nullable().assume_not_null().nullable()`: one level of NULL, whether the attempt is missing
// or the column is empty.
type Raw = (
    String,
    i64,
    String,
    String,
    String,
    String,
    Option<NaiveDateTime>,
    Option<String>,
    Option<f64>,
    Option<bool>,
    Option<NaiveDateTime>,
    String,
);

/// Where a candidate stands: 未开始, 作答中, 到时收卷 or 已交卷.
pub(crate) fn status_label(
    started: Option<NaiveDateTime>,
    closed_by: Option<&str>,
) -> &'static str {
    match (started, closed_by) {
        (None, _) => "未开始",
        (Some(_), None) => "作答中",
        (Some(_), Some("到时")) => "到时收卷",
        (Some(_), Some(_)) => "已交卷",
    }
}

fn tally(rows: &[&ResultRow]) -> Tally {
    let sat: Vec<&&ResultRow> = rows.iter().filter(|r| r.score.is_some()).collect();
    let passed = sat.iter().filter(|r| r.passed == Some(true)).count();
    let mean = if sat.is_empty() {
        0.0
    } else {
        sat.iter().filter_map(|r| r.score).sum::<f64>() / sat.len() as f64
    };
    Tally {
        enrolled: rows.len(),
        sat: sat.len(),
        absent: rows.len() - sat.len(),
        passed,
        pass_rate: if sat.is_empty() {
            0.0
        } else {
            (passed as f64 * 1000.0 / sat.len() as f64).round() / 10.0
        },
        mean_score: (mean * 10.0).round() / 10.0,
    }
}

/// A batch's results (the bureau).
pub fn batch(conn: &mut DbConn, grant: &Grant, batch_id: i64) -> Result<BatchResults> {
    grant.require(Capability::ManageExams)?;
    let b = db::batch(conn, batch_id)?.ok_or_else(|| Error::not_found("考试批次"))?;
    let raw: Vec<Raw> = ec::table
        .inner_join(officers::table.on(officers::id.eq(ec::officer_id)))
        .inner_join(units::table.on(units::id.eq(officers::unit_id)))
        .inner_join(es::table.on(es::id.eq(ec::session_id)))
        .left_join(at::table.on(at::candidate_id.eq(ec::id)))
        .filter(ec::batch_id.eq(batch_id))
        .order((units::path.asc(), officers::name.asc()))
        .select((
            ec::ticket_no,
            ec::officer_id,
            officers::name,
            officers::id_number,
            units::name,
            es::name,
            at::started_at.nullable(),
            at::closed_by.nullable().assume_not_null().nullable(),
            at::score.nullable().assume_not_null().nullable(),
            at::passed.nullable().assume_not_null().nullable(),
            at::submitted_at.nullable().assume_not_null().nullable(),
            ec::exempt_part,
        ))
        .load(conn)?;
    // A re-sit: the latest earlier enrolment that was decided (sat, or its session is over)
    // did not end in a pass.
    let ids: Vec<i64> = raw.iter().map(|r| r.1).collect();
    let now = crate::db::now();
    let mut latest: std::collections::HashMap<i64, (i64, bool)> = std::collections::HashMap::new();
    for chunk in ids.chunks(5000) {
        let earlier: Vec<(i64, i64, Option<bool>, NaiveDateTime)> = ec::table
            .inner_join(es::table.on(es::id.eq(ec::session_id)))
            .left_join(at::table.on(at::candidate_id.eq(ec::id)))
            .filter(ec::officer_id.eq_any(chunk))
            .filter(ec::batch_id.lt(batch_id))
            .select((
                ec::officer_id,
                ec::batch_id,
                at::passed.nullable().assume_not_null().nullable(),
                es::ends_at,
            ))
            .load(conn)?;
        for (officer, batch, passed, ends_at) in earlier {
            let decided = passed.is_some() || ends_at < now;
            if !decided {
                continue;
            }
            let e = latest
                .entry(officer)
                .or_insert((batch, passed == Some(true)));
            if batch > e.0 {
                *e = (batch, passed == Some(true));
            }
        }
    }
    let resits: std::collections::HashSet<i64> = latest
        .into_iter()
        .filter(|(_, (_, passed))| !passed)
        .map(|(o, _)| o)
        .collect();
    let rows: Vec<ResultRow> = raw
        .into_iter()
        .map(
            |(
                ticket_no,
                officer_id,
                name,
                id_number,
                unit,
                session,
                started,
                closed_by,
                score,
                passed,
                submitted_at,
                exempt_part,
            )| {
                let status = status_label(started, closed_by.as_deref());
                ResultRow {
                    ticket_no,
                    officer_id,
                    name,
                    id_number,
                    unit,
                    session,
                    status: status.into(),
                    score,
                    passed,
                    submitted_at,
                    resit: resits.contains(&officer_id),
                    exempt_part,
                }
            },
        )
        .collect();
    let mut by_unit: BTreeMap<String, Vec<&ResultRow>> = BTreeMap::new();
    for r in &rows {
        by_unit.entry(r.unit.clone()).or_default().push(r);
    }
    Ok(BatchResults {
        batch_id: b.id,
        code: b.code,
        title: b.title,
        pass_mark: b.pass_mark,
        total_points: b.total_points,
        summary: tally(&rows.iter().collect::<Vec<_>>()),
        units: by_unit
            .into_iter()
            .map(|(unit, rs)| UnitTally {
                unit,
                tally: tally(&rs),
            })
            .collect(),
        rows,
    })
}

/// The results as a sheet: 成绩 (one row per candidate) and 单位汇总.
pub fn xlsx(r: &BatchResults) -> Result<Vec<u8>> {
    let err = |e: rust_xlsxwriter::XlsxError| Error::Internal(anyhow::anyhow!("{e}"));
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    {
        let ws = wb.add_worksheet();
        ws.set_name("成绩").map_err(err)?;
        ws.write_string(
            0,
            0,
            format!(
                "{}（批次 {}）成绩表　及格分 {} / {}",
                r.title, r.code, r.pass_mark, r.total_points
            ),
        )
        .map_err(err)?;
        let headers = [
            "准考证号",
            "姓名",
            "身份证号",
            "所在单位",
            "场次",
            "状态",
            "成绩",
            "是否合格",
            "备注",
        ];
        for (i, h) in headers.iter().enumerate() {
            ws.write_string_with_format(1, i as u16, *h, &bold)
                .map_err(err)?;
        }
        for (n, row) in r.rows.iter().enumerate() {
            let y = n as u32 + 2;
            ws.write_string(y, 0, &row.ticket_no).map_err(err)?;
            ws.write_string(y, 1, &row.name).map_err(err)?;
            ws.write_string(y, 2, &row.id_number).map_err(err)?;
            ws.write_string(y, 3, &row.unit).map_err(err)?;
            ws.write_string(y, 4, &row.session).map_err(err)?;
            ws.write_string(y, 5, &row.status).map_err(err)?;
            if let Some(s) = row.score {
                ws.write_number(y, 6, s).map_err(err)?;
            }
            ws.write_string(
                y,
                7,
                match row.passed {
                    Some(true) => "合格",
                    Some(false) => "不合格",
                    None => "缺考",
                },
            )
            .map_err(err)?;
            let mut notes = Vec::new();
            if row.resit {
                notes.push("补考".to_string());
            }
            if !row.exempt_part.is_empty() {
                notes.push(format!("免考{}（成绩已折算）", row.exempt_part));
            }
            ws.write_string(y, 8, notes.join("；")).map_err(err)?;
        }
        ws.set_freeze_panes(2, 0).map_err(err)?;
        ws.set_column_width(2, 22).map_err(err)?;
        ws.set_column_width(3, 30).map_err(err)?;
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("单位汇总").map_err(err)?;
        let headers = [
            "单位",
            "报名人数",
            "实考人数",
            "缺考人数",
            "合格人数",
            "合格率(%)",
            "平均分",
        ];
        for (i, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, i as u16, *h, &bold)
                .map_err(err)?;
        }
        let all = UnitTally {
            unit: "合计".into(),
            tally: r.summary.clone(),
        };
        for (n, u) in r.units.iter().chain(std::iter::once(&all)).enumerate() {
            let y = n as u32 + 1;
            ws.write_string(y, 0, &u.unit).map_err(err)?;
            let t = &u.tally;
            for (i, v) in [
                t.enrolled as f64,
                t.sat as f64,
                t.absent as f64,
                t.passed as f64,
                t.pass_rate,
                t.mean_score,
            ]
            .iter()
            .enumerate()
            {
                ws.write_number(y, i as u16 + 1, *v).map_err(err)?;
            }
        }
        ws.set_column_width(0, 30).map_err(err)?;
    }
    wb.save_to_buffer().map_err(err)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyResult {
    pub batch: String,
    pub code: String,
    pub ticket_no: String,
    pub session: String,
    #[schema(value_type = String)]
    pub session_starts_at: NaiveDateTime,
    pub status: String,
    /// Shown once the attempt is closed.
    pub score: Option<f64>,
    pub passed: Option<bool>,
}

/// An officer's own exams and results (an officer account sees only itself).
pub fn mine(conn: &mut DbConn, grant: &Grant) -> Result<Vec<MyResult>> {
    let crate::roster::Scope::Officer(officer_id) = grant.scope().clone() else {
        return Err(Error::Forbidden(
            "只有执法人员账号可以查看本人的考试成绩".into(),
        ));
    };
    let rows: Vec<MineRaw> = ec::table
        .inner_join(eb::table.on(eb::id.eq(ec::batch_id)))
        .inner_join(es::table.on(es::id.eq(ec::session_id)))
        .left_join(at::table.on(at::candidate_id.eq(ec::id)))
        .filter(ec::officer_id.eq(officer_id))
        .order(es::starts_at.desc())
        .select((
            eb::title,
            eb::code,
            ec::ticket_no,
            es::name,
            es::starts_at,
            at::started_at.nullable(),
            at::closed_by.nullable().assume_not_null().nullable(),
            at::score.nullable().assume_not_null().nullable(),
            at::passed.nullable().assume_not_null().nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                batch,
                code,
                ticket_no,
                session,
                session_starts_at,
                started,
                closed_by,
                score,
                passed,
            )| MyResult {
                batch,
                code,
                ticket_no,
                session,
                session_starts_at,
                status: status_label(started, closed_by.as_deref()).into(),
                score,
                passed,
            },
        )
        .collect())
}

/// A batch in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchSummary {
    pub id: i64,
    pub code: String,
    pub title: String,
    #[schema(value_type = String)]
    pub first_session: Option<NaiveDateTime>,
    pub candidates: i64,
    pub handed_in: i64,
}

/// Every batch, newest first (the bureau).
pub fn batches(conn: &mut DbConn, grant: &Grant) -> Result<Vec<BatchSummary>> {
    grant.require(Capability::ManageExams)?;
    let rows: Vec<(i64, String, String)> = eb::table
        .order(eb::id.desc())
        .limit(200)
        .select((eb::id, eb::code, eb::title))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, code, title) in rows {
        let first_session = es::table
            .filter(es::batch_id.eq(id))
            .select(diesel::dsl::min(es::starts_at))
            .first::<Option<NaiveDateTime>>(conn)?;
        let candidates = ec::table
            .filter(ec::batch_id.eq(id))
            .count()
            .get_result(conn)?;
        let handed_in = at::table
            .inner_join(ec::table.on(ec::id.eq(at::candidate_id)))
            .filter(ec::batch_id.eq(id))
            .filter(at::submitted_at.is_not_null())
            .count()
            .get_result(conn)?;
        out.push(BatchSummary {
            id,
            code,
            title,
            first_session,
            candidates,
            handed_in,
        });
    }
    Ok(out)
}
