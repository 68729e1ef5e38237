//! Importing a roster sheet: read the file (bounded), check every row, report by Excel row and
//! column, then write all of it or, by explicit choice, only the valid rows.
//!
//! Checking happens outside the write lock (a 73,450-row sheet takes seconds to plan); the
//! write is one short transaction that first makes sure the roster hasn't changed since.
//!
//! Only an unusable ID number, a missing name or no unit refuses a row. A column the sheet
//! lacks, an unknown vocabulary value or a bad optional value is flagged and the row goes in.

mod plan;
pub mod units;
pub mod uploads;

use super::columns::{self, Field};
use super::db;
use super::model::{OfficerFields, Unit};
use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::sheet;
use plan::{Action, Plan, Planned};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, Default, serde::Deserialize, Serialize)]
#[serde(default)]
pub struct Options {
    /// Import the valid rows even when some rows are invalid.
    pub skip_invalid: bool,
    /// Create the units the sheet names that are not in the roster yet (administrators).
    pub create_units: bool,
    /// The unit for rows that name none (and for a sheet without a unit column).
    #[serde(deserialize_with = "crate::roster::db::empty_as_none")]
    pub unit_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowIssue {
    /// The row number Excel shows.
    pub row: usize,
    /// "C 列（身份证号）"
    pub column: String,
    /// What kind of problem, for the counts ("身份证号有误", "人员性质待归类" …).
    pub kind: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KindCount {
    pub kind: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UpdatePreview {
    pub row: usize,
    pub name: String,
    pub id_number: String,
    pub changes: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MissingUnit {
    pub name: String,
    pub rows: Vec<usize>,
}

/// A unit name the sheet abbreviated, and the unit it was taken to mean.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitMatch {
    pub written: String,
    pub unit: String,
    pub rows: usize,
}

#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
pub struct Report {
    pub filename: String,
    pub header_row: usize,
    /// Recognised columns: (column letter + header, what it maps to).
    pub columns: Vec<(String, &'static str)>,
    /// Headers the roster doesn't keep, each listed once.
    pub ignored_columns: Vec<String>,
    /// What concerns the file as a whole (a missing column, the unit chosen for every row),
    /// said once here rather than on every row.
    pub file_notes: Vec<String>,
    pub data_rows: usize,
    pub new_count: usize,
    pub update_count: usize,
    pub unchanged_count: usize,
    /// Rows refused (unusable ID number, no name, no unit …).
    pub invalid_rows: usize,
    /// Rows that go in with something flagged (a value to classify, a value left out).
    pub flagged_rows: usize,
    /// The first problems (`errors_total` in all; the full list is the annotated sheet).
    pub errors: Vec<RowIssue>,
    pub errors_total: usize,
    pub error_counts: Vec<KindCount>,
    pub warnings: Vec<RowIssue>,
    pub warnings_total: usize,
    pub warning_counts: Vec<KindCount>,
    pub updates: Vec<UpdatePreview>,
    pub missing_units: Vec<MissingUnit>,
    pub unit_matches: Vec<UnitMatch>,
    pub created_units: Vec<String>,
    /// True once the rows were written.
    pub applied: bool,
    /// Why nothing was written, when `applied` is false after an attempt.
    pub blocked: Option<String>,
}

/// A report lists this many problems of each sort; the rest are counted and in the XLSX.
pub const MAX_LISTED: usize = 200;

fn counts(issues: &[RowIssue]) -> Vec<KindCount> {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for i in issues {
        *by.entry(i.kind.as_str()).or_default() += 1;
    }
    let mut v: Vec<KindCount> = by
        .into_iter()
        .map(|(k, c)| KindCount {
            kind: k.to_string(),
            count: c,
        })
        .collect();
    v.sort_by_key(|k| std::cmp::Reverse(k.count));
    v
}

/// A read sheet: parsed once, planned as often as the roster moves under it.
struct Sheet {
    filename: String,
    header: sheet::Header<Field>,
    rows: Vec<sheet::Row>,
}

fn read(filename: &str, bytes: &[u8]) -> Result<Sheet> {
    let (header, rows) =
        columns::read(filename, bytes).map_err(|e| Error::BadRequest(e.to_string()))?;
    Ok(Sheet {
        filename: filename.to_string(),
        header,
        rows,
    })
}

/// Validates the sheet and reports what an import would do, changing nothing.
pub fn preview(
    conn: &mut DbConn,
    grant: &Grant,
    filename: &str,
    bytes: &[u8],
    opts: Options,
) -> Result<Report> {
    grant.require(Capability::WriteRoster)?;
    let sheet = read(filename, bytes)?;
    Ok(plan::plan(conn, grant, &sheet, opts)?.report)
}

/// The sheet itself with a 错误说明 column: what bureaus send back to units.
pub fn annotated_sheet(
    conn: &mut DbConn,
    grant: &Grant,
    filename: &str,
    bytes: &[u8],
    opts: Options,
) -> Result<Vec<u8>> {
    grant.require(Capability::WriteRoster)?;
    let sheet = read(filename, bytes)?;
    let plan = plan::plan(conn, grant, &sheet, opts)?;
    let mut notes: BTreeMap<usize, String> = BTreeMap::new();
    for (prefix, issues) in [("错误", &plan.all_errors), ("提示", &plan.all_warnings)] {
        for i in issues {
            let n = notes.entry(i.row).or_default();
            if !n.is_empty() {
                n.push('；');
            }
            n.push_str(&format!("【{prefix}】{}：{}", i.column, i.reason));
        }
    }
    columns::annotate(filename, bytes, &notes).map_err(|e| Error::BadRequest(e.to_string()))
}

/// Validates and, unless invalid rows block it, writes the sheet in one transaction.
pub fn apply(
    conn: &mut DbConn,
    grant: &Grant,
    filename: &str,
    bytes: &[u8],
    opts: Options,
) -> Result<Report> {
    grant.require(Capability::WriteRoster)?;
    let started = std::time::Instant::now();
    let sheet = read(filename, bytes)?;
    let mut report = None;
    // planned outside the write lock; written only if the roster is still as planned against
    let read_in = started.elapsed();
    for _ in 0..3 {
        let planning = std::time::Instant::now();
        let plan = plan::plan(conn, grant, &sheet, opts)?;
        if let Some(reason) = blocked(&plan.report, opts) {
            return Ok(stopped(plan.report, reason));
        }
        let writing = std::time::Instant::now();
        let written = write(conn, grant, &sheet, opts, Some(plan))?;
        tracing::info!(
            "import {filename}: read in {read_in:?}, planned in {:?}, written in {:?}{}",
            writing - planning,
            writing.elapsed(),
            if written.is_none() {
                " (roster changed meanwhile: planned again)"
            } else {
                ""
            }
        );
        if let Some(r) = written {
            report = Some(r);
            break;
        }
    }
    // the roster kept moving: plan inside the transaction (holds the lock longer, but settles it)
    let report = match report {
        Some(r) => r,
        None => write(conn, grant, &sheet, opts, None)?.expect("planned inside"),
    };
    if report.applied && report.new_count + report.update_count >= 1000 {
        crate::db::analyze(conn)?;
    }
    tracing::info!(
        "import {filename}: {} rows, {} new, {} updated, {} invalid, applied={} in {:?}",
        report.data_rows,
        report.new_count,
        report.update_count,
        report.invalid_rows,
        report.applied,
        started.elapsed()
    );
    Ok(report)
}

/// Why invalid rows stop a plan, if they do.
fn blocked(report: &Report, opts: Options) -> Option<String> {
    (report.invalid_rows > 0 && !opts.skip_invalid).then(|| {
        format!(
            "有 {} 行数据有误，未导入任何数据。请修改后重新上传，或选择“只导入正确的行”",
            report.invalid_rows
        )
    })
}

/// The report of a plan that stops, with its reason.
fn stopped(mut report: Report, reason: String) -> Report {
    report.blocked = Some(reason);
    report
}

/// Writes a plan in one audited transaction. With `planned`, only if what the plan relied on
/// still holds (None otherwise); without, plans inside the transaction.
fn write(
    conn: &mut DbConn,
    grant: &Grant,
    sheet: &Sheet,
    opts: Options,
    planned: Option<Plan>,
) -> Result<Option<Report>> {
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let plan = match planned {
            Some(plan) => {
                if stale(conn, &plan)? {
                    return Ok(None);
                }
                plan
            }
            None => {
                let plan = plan::plan(conn, grant, sheet, opts)?;
                if let Some(reason) = blocked(&plan.report, opts) {
                    return Ok(Some(stopped(plan.report, reason)));
                }
                plan
            }
        };
        write_plan(conn, rec, grant, &sheet.filename, plan).map(Some)
    })
}

/// Whether the roster moved under a plan made outside the lock in a way that matters to it:
/// someone it updates was changed, someone it inserts was added, a unit it uses was
/// deactivated. Other writes meanwhile (a unit renamed, another person edited) don't matter.
fn stale(conn: &mut DbConn, plan: &Plan) -> Result<bool> {
    let mut seen = Vec::new();
    let mut new_ids = Vec::new();
    let mut unit_ids = std::collections::BTreeSet::new();
    for p in &plan.rows {
        match &p.action {
            Action::Insert(f) => {
                new_ids.push(f.id_number.as_str());
                if p.new_unit.is_none() {
                    unit_ids.insert(f.unit_id);
                }
            }
            Action::Update(before, f) => {
                seen.push((before.id, before.updated_at));
                if p.new_unit.is_none() {
                    unit_ids.insert(f.unit_id);
                }
            }
        }
    }
    let unit_ids: Vec<i64> = unit_ids.into_iter().collect();
    Ok(db::any_changed_since(conn, &seen)?
        || db::any_id_number_taken(conn, &new_ids)?
        || !db::all_units_active(conn, &unit_ids)?)
}

fn write_plan(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    grant: &Grant,
    filename: &str,
    plan: Plan,
) -> Result<Report> {
    let Plan {
        mut report,
        rows,
        new_units,
        ..
    } = plan;
    if rows.is_empty() {
        // nothing new and nothing changed: a successful no-op, not an error
        return Ok(report);
    }
    let now = crate::db::now();
    let created = create_units(conn, rec, &new_units, &rows)?;
    let mut inserts = Vec::new();
    let mut insert_rows = Vec::new();
    for p in rows {
        let unit_id = |f: &OfficerFields| {
            p.new_unit
                .as_ref()
                .and_then(|k| created.get(k).copied())
                .unwrap_or(f.unit_id)
        };
        match p.action {
            Action::Insert(mut f) => {
                f.unit_id = unit_id(&f);
                insert_rows.push(p.row);
                inserts.push(f);
            }
            Action::Update(before, mut f) => {
                f.unit_id = unit_id(&f);
                super::apply_update(conn, rec, grant.scope(), &before, &f)?;
            }
        }
    }
    let ids = db::insert_officers(conn, &inserts, now)?;
    let by_number: HashMap<&str, i64> = ids.iter().map(|(n, id)| (n.as_str(), *id)).collect();
    let mut postings = Vec::with_capacity(inserts.len());
    for (f, row) in inserts.iter().zip(&insert_rows) {
        let id = by_number[f.id_number.as_str()];
        postings.push((id, f.unit_id, f.post.clone()));
        rec.record(
            conn,
            Change::new(
                "officer.create",
                "officer",
                id,
                format!("导入新增人员“{}”（{filename} 第 {row} 行）", f.name),
            )
            .after(f),
        )?;
    }
    db::open_postings(conn, &postings, now)?;
    report.applied = true;
    rec.record(
        conn,
        Change::new(
            "import.apply",
            "import",
            filename,
            format!(
                "导入“{filename}”：新增 {} 人，更新 {} 人，未变 {} 人，跳过有误的 {} 行",
                report.new_count, report.update_count, report.unchanged_count, report.invalid_rows
            ),
        )
        .after(&serde_json::json!({
            "new": report.new_count, "updated": report.update_count,
            "unchanged": report.unchanged_count, "skipped_rows": report.invalid_rows,
            "flagged_rows": report.flagged_rows, "created_units": report.created_units,
        })),
    )?;
    Ok(report)
}

/// Creates the units an import needs, under the bureau's root unit when there is exactly one.
fn create_units(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    new_units: &[(String, String)],
    rows: &[Planned],
) -> Result<HashMap<String, i64>> {
    let mut out = HashMap::new();
    if new_units.is_empty() {
        return Ok(out);
    }
    let all = db::all_units(conn)?;
    let roots: Vec<&Unit> = all
        .iter()
        .filter(|u| u.parent_id.is_none() && u.active)
        .collect();
    let parent = if roots.len() == 1 {
        Some(roots[0].clone())
    } else {
        None
    };
    let mut n = all.len();
    for (key, display) in new_units {
        // a region code for the new unit: its parent's, else the first person's ID number
        let region = parent
            .as_ref()
            .map(|p| p.region_code.clone())
            .unwrap_or_else(|| {
                rows.iter()
                    .find(|p| p.new_unit.as_deref() == Some(key))
                    .map(|p| match &p.action {
                        Action::Insert(f) | Action::Update(_, f) => f.id_number[..6].to_string(),
                    })
                    .unwrap_or_else(|| "110000".into())
            });
        let code = loop {
            n += 1;
            let c = format!("ZF{n:06}");
            if db::unit_by_code(conn, &c)?.is_none() {
                break c;
            }
        };
        let unit = super::add_unit(
            conn,
            rec,
            &code,
            display,
            &region,
            parent.as_ref(),
            "导入时新建单位",
        )?;
        out.insert(key.clone(), unit.id);
    }
    Ok(out)
}
