//! Importing a roster sheet: validate every row first, report (row, column, reason), then apply
//! all of it or, by explicit choice, only the valid rows — in one transaction.

use super::model::{Officer, OfficerFields, OfficerInput, Unit};
use super::rules::{self, IdNumber, IdNumberError, unit_name_key};
use super::sheet::{self, Field, Header, Row, column_letter};
use super::{Scope, db};
use crate::audit::{self, Actor, Change};
use crate::db::DbConn;
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, Default, serde::Deserialize, Serialize)]
#[serde(default)]
pub struct Options {
    /// Import the valid rows even when some rows are invalid.
    pub skip_invalid: bool,
    /// Create the units the sheet names that are not in the roster yet.
    pub create_units: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowIssue {
    /// The row number Excel shows.
    pub row: usize,
    /// "C 列（身份证号）"
    pub column: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpdatePreview {
    pub row: usize,
    pub name: String,
    pub id_number: String,
    pub changes: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MissingUnit {
    pub name: String,
    pub rows: Vec<usize>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub filename: String,
    pub header_row: usize,
    /// Recognised columns: (column letter + header, what it maps to).
    pub columns: Vec<(String, &'static str)>,
    pub ignored_columns: Vec<String>,
    pub data_rows: usize,
    pub new_count: usize,
    pub update_count: usize,
    pub unchanged_count: usize,
    pub invalid_rows: usize,
    pub errors: Vec<RowIssue>,
    pub updates: Vec<UpdatePreview>,
    pub missing_units: Vec<MissingUnit>,
    pub created_units: Vec<String>,
    /// True once the rows were written.
    pub applied: bool,
    /// Why nothing was written, when `applied` is false after an attempt.
    pub blocked: Option<String>,
}

/// Keep at most this many issues and update previews in a report.
const MAX_LISTED: usize = 2000;

enum Action {
    Insert(OfficerFields),
    Update(Box<Officer>, OfficerFields),
}

struct Planned {
    row: usize,
    action: Action,
    /// The unit to create for this row, when `create_units` (name key into `new_units`).
    new_unit: Option<String>,
}

struct Plan {
    report: Report,
    rows: Vec<Planned>,
    /// Units to create: name key → display name, in first-seen order.
    new_units: Vec<(String, String)>,
}

fn cell<'a>(row: &'a Row, h: &Header, f: Field) -> Option<&'a sheet::Cell> {
    h.col(f).and_then(|i| row.cells.get(i))
}

fn text(row: &Row, h: &Header, f: Field) -> String {
    cell(row, h, f)
        .map(|c| c.text.trim().to_string())
        .unwrap_or_default()
}

fn col_name(h: &Header, f: Field) -> String {
    match h.col(f) {
        Some(i) => format!("{} 列（{}）", column_letter(i), f.label()),
        None => f.label().to_string(),
    }
}

fn field_of_key(key: &str) -> Field {
    match key {
        "name" => Field::Name,
        "id_number" => Field::IdNumber,
        "sex" => Field::Sex,
        "birth_date" => Field::BirthDate,
        "unit_id" => Field::Unit,
        "post" => Field::Post,
        "category" => Field::Category,
        "region" => Field::Region,
        "employment_type" => Field::EmploymentType,
        "phone" => Field::Phone,
        _ => Field::Status,
    }
}

/// Lines that are not people: notes, signatures and totals under the table.
fn is_footer(row: &Row) -> bool {
    let first = row
        .cells
        .iter()
        .map(|c| c.text.trim())
        .find(|t| !t.is_empty())
        .unwrap_or("");
    [
        "注",
        "说明",
        "备注",
        "填表",
        "制表",
        "填报",
        "合计",
        "总计",
        "审核",
        "负责人",
        "联系人",
    ]
    .iter()
    .any(|p| first.starts_with(p))
}

struct UnitIndex {
    by_key: HashMap<String, Vec<Unit>>,
    by_code: HashMap<String, Unit>,
}

impl UnitIndex {
    fn new(units: Vec<Unit>) -> Self {
        let mut by_key: HashMap<String, Vec<Unit>> = HashMap::new();
        let mut by_code = HashMap::new();
        for u in units {
            by_key
                .entry(unit_name_key(&u.name))
                .or_default()
                .push(u.clone());
            by_code.insert(u.code.clone(), u);
        }
        UnitIndex { by_key, by_code }
    }
}

enum UnitLookup<'a> {
    Found(&'a Unit),
    Missing(String),
    Problem(String),
}

fn lookup_unit<'a>(idx: &'a UnitIndex, scope: &Scope, name: &str, code: &str) -> UnitLookup<'a> {
    let unit = if !code.is_empty() {
        match rules::parse_unit_code(code)
            .ok()
            .and_then(|c| idx.by_code.get(&c))
        {
            Some(u) => u,
            None => return UnitLookup::Problem(format!("单位代码“{code}”不在单位库中")),
        }
    } else {
        if name.is_empty() {
            return UnitLookup::Problem("所在单位不能为空".into());
        }
        match idx.by_key.get(&unit_name_key(name)).map(|v| v.as_slice()) {
            None | Some([]) => return UnitLookup::Missing(rules::clean_text(name)),
            Some([u]) => u,
            Some(many) => {
                let in_scope: Vec<&'a Unit> = many
                    .iter()
                    .filter(|u| scope.covers_unit(u) && u.active)
                    .collect();
                match in_scope[..] {
                    [u] => u,
                    _ => {
                        return UnitLookup::Problem(format!(
                            "有 {} 个单位都叫“{name}”，请在表中增加“单位代码”列加以区分",
                            many.len()
                        ));
                    }
                }
            }
        }
    };
    if !scope.covers_unit(unit) {
        return UnitLookup::Problem(format!("“{}”不在您的管理范围内", unit.name));
    }
    if !unit.active {
        return UnitLookup::Problem(format!("单位“{}”已停用", unit.name));
    }
    UnitLookup::Found(unit)
}

fn plan(
    conn: &mut DbConn,
    scope: &Scope,
    filename: &str,
    bytes: &[u8],
    opts: Options,
) -> Result<Plan> {
    let (header, rows) =
        sheet::read(filename, bytes).map_err(|e| Error::BadRequest(e.to_string()))?;
    if header.col(Field::Unit).is_none() && header.col(Field::UnitCode).is_none() {
        return Err(Error::BadRequest(
            "表头中没有“所在单位”（或“单位代码”）列，无法确定人员所属单位".into(),
        ));
    }
    let mut report = Report {
        filename: filename.to_string(),
        header_row: header.row,
        columns: header
            .columns
            .iter()
            .map(|(i, f)| {
                let shown = rows
                    .iter()
                    .find(|r| r.number == header.row)
                    .and_then(|r| r.cells.get(*i))
                    .map(|c| c.text.trim().to_string())
                    .unwrap_or_default();
                (format!("{} 列：{shown}", column_letter(*i)), f.label())
            })
            .collect(),
        ignored_columns: header.ignored.clone(),
        ..Default::default()
    };
    let units = UnitIndex::new(db::all_units(conn)?);
    let existing: HashMap<String, Officer> = db::all_officers(conn)?
        .into_iter()
        .map(|o| (o.id_number.clone(), o))
        .collect();
    let units_by_id: HashMap<i64, &Unit> = units.by_code.values().map(|u| (u.id, u)).collect();

    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut missing: Vec<MissingUnit> = Vec::new();
    let mut planned = Vec::new();
    let mut issues: Vec<RowIssue> = Vec::new();
    let mut new_units: Vec<(String, String)> = Vec::new();
    // placeholder id for units still to be created; resolved at apply time
    const NEW_UNIT: i64 = -1;

    for row in rows.iter().filter(|r| r.number > header.row) {
        if row.cells.iter().all(|c| c.text.trim().is_empty()) {
            continue;
        }
        let name = text(row, &header, Field::Name);
        let raw_id = text(row, &header, Field::IdNumber);
        if name.is_empty() && raw_id.is_empty() && is_footer(row) {
            continue;
        }
        report.data_rows += 1;
        let mut row_issues: Vec<RowIssue> = Vec::new();
        let mut issue = |f: Field, reason: String| {
            row_issues.push(RowIssue {
                row: row.number,
                column: col_name(&header, f),
                reason,
            })
        };

        // ID numbers Excel turned into numbers have lost digits for good.
        let id_cell = cell(row, &header, Field::IdNumber);
        let id_number = match id_cell {
            Some(c) if c.numeric && c.text.len() >= 15 => {
                let err = if c.text.len() == 15 {
                    IdNumberError::OldFifteenDigit
                } else {
                    IdNumberError::LostDigits(c.text.clone())
                };
                issue(Field::IdNumber, err.to_string());
                None
            }
            _ => match IdNumber::parse(&raw_id) {
                Ok(id) => Some(id),
                Err(e) => {
                    issue(Field::IdNumber, e.to_string());
                    None
                }
            },
        };
        if let Some(id) = &id_number {
            if let Some(first) = seen.get(id.as_str()) {
                issue(Field::IdNumber, format!("与第 {first} 行的身份证号重复"));
            } else {
                seen.insert(id.as_str().to_string(), row.number);
            }
        }

        let unit_name = text(row, &header, Field::Unit);
        let unit_code = text(row, &header, Field::UnitCode);
        let mut new_unit = None;
        let unit_id = match lookup_unit(&units, scope, &unit_name, &unit_code) {
            UnitLookup::Found(u) => Some(u.id),
            UnitLookup::Problem(p) => {
                issue(
                    if unit_code.is_empty() {
                        Field::Unit
                    } else {
                        Field::UnitCode
                    },
                    p,
                );
                None
            }
            UnitLookup::Missing(display) => {
                let key = unit_name_key(&display);
                if opts.create_units && scope == &Scope::All {
                    if !new_units.iter().any(|(k, _)| *k == key) {
                        new_units.push((key.clone(), display.clone()));
                    }
                    new_unit = Some(key);
                    Some(NEW_UNIT)
                } else {
                    match missing.iter_mut().find(|m| m.name == display) {
                        Some(m) => m.rows.push(row.number),
                        None => missing.push(MissingUnit {
                            name: display.clone(),
                            rows: vec![row.number],
                        }),
                    }
                    let hint = if scope == &Scope::All {
                        "（可勾选“自动创建表中缺少的单位”，或先在“单位管理”中添加）"
                    } else {
                        ""
                    };
                    issue(Field::Unit, format!("单位“{display}”不在单位库中{hint}"));
                    None
                }
            }
        };

        let current = id_number.as_ref().and_then(|id| existing.get(id.as_str()));
        if let Some(o) = current {
            let in_scope = units_by_id
                .get(&o.unit_id)
                .is_some_and(|u| scope.covers_unit(u));
            if !in_scope {
                let where_ = units_by_id
                    .get(&o.unit_id)
                    .map(|u| u.name.as_str())
                    .unwrap_or("其他单位");
                issue(
                    Field::IdNumber,
                    format!("此人已登记在“{where_}”，不在您的管理范围内，不能修改"),
                );
            }
        }

        // For a person already in the roster, columns the sheet lacks (or leaves blank) keep
        // what is stored: an import never wipes data it was not given.
        let keep = |f: Field| {
            let v = text(row, &header, f);
            if v.is_empty() {
                current.map(|o| stored_value(o, f)).unwrap_or_default()
            } else {
                v
            }
        };
        let input = OfficerInput {
            name: name.clone(),
            id_number: id_number
                .as_ref()
                .map(|i| i.as_str().to_string())
                .unwrap_or_else(|| "11010519491231002X".into()),
            // sex and birth date are checked against the ID number, so only when there is one
            sex: if id_number.is_some() {
                text(row, &header, Field::Sex)
            } else {
                String::new()
            },
            birth_date: if id_number.is_some() {
                text(row, &header, Field::BirthDate)
            } else {
                String::new()
            },
            unit_id: Some(unit_id.unwrap_or(NEW_UNIT)),
            post: keep(Field::Post),
            category: keep(Field::Category),
            region: keep(Field::Region),
            employment_type: keep(Field::EmploymentType),
            phone: keep(Field::Phone),
            status: keep(Field::Status),
        };
        let fields = match input.validate() {
            Ok(f) => Some(f),
            Err(errs) => {
                for (k, v) in errs {
                    if k == "id_number" {
                        continue; // already reported above
                    }
                    let f = field_of_key(&k);
                    let reason = if f == Field::EmploymentType && header.col(f).is_none() {
                        "表中没有“人员性质”列（行政编制 / 参照公务员法管理 / 事业编制 / 辅助人员 …），新增人员必须填写".to_string()
                    } else {
                        v
                    };
                    issue(f, reason);
                }
                None
            }
        };
        if !row_issues.is_empty() || id_number.is_none() || unit_id.is_none() {
            report.invalid_rows += 1;
            issues.extend(row_issues);
            continue;
        }
        let fields = fields.expect("valid row");
        match current {
            None => {
                report.new_count += 1;
                planned.push(Planned {
                    row: row.number,
                    action: Action::Insert(fields),
                    new_unit,
                });
            }
            Some(o) => {
                let old = OfficerFields::of(o);
                let changes = fields.changed_fields(&old);
                if changes.is_empty() {
                    report.unchanged_count += 1;
                } else {
                    report.update_count += 1;
                    if report.updates.len() < MAX_LISTED {
                        report.updates.push(UpdatePreview {
                            row: row.number,
                            name: fields.name.clone(),
                            id_number: fields.id_number.clone(),
                            changes,
                        });
                    }
                    planned.push(Planned {
                        row: row.number,
                        action: Action::Update(Box::new(o.clone()), fields),
                        new_unit,
                    });
                }
            }
        }
    }
    if report.data_rows == 0 {
        return Err(Error::BadRequest(format!(
            "表头（第 {} 行）下面没有任何数据行",
            header.row
        )));
    }
    issues.truncate(MAX_LISTED);
    report.errors = issues;
    report.missing_units = missing;
    report.created_units = new_units.iter().map(|(_, d)| d.clone()).collect();
    Ok(Plan {
        report,
        rows: planned,
        new_units,
    })
}

/// The stored value of a column an import may leave blank.
fn stored_value(o: &Officer, f: Field) -> String {
    match f {
        Field::Post => o.post.clone(),
        Field::Category => o.category.clone(),
        Field::Region => o.region.clone(),
        Field::EmploymentType => o.employment_type.clone(),
        Field::Phone => o.phone.clone(),
        Field::Status => o.status.clone(),
        _ => String::new(),
    }
}

/// Validates the sheet and reports what an import would do, changing nothing.
pub fn preview(
    conn: &mut DbConn,
    scope: &Scope,
    filename: &str,
    bytes: &[u8],
    opts: Options,
) -> Result<Report> {
    Ok(plan(conn, scope, filename, bytes, opts)?.report)
}

/// Validates and, unless invalid rows block it, writes the sheet in one transaction.
pub fn apply(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    filename: &str,
    bytes: &[u8],
    opts: Options,
) -> Result<Report> {
    let started = std::time::Instant::now();
    let report = apply_in_transaction(conn, actor, scope, filename, bytes, opts)?;
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

fn apply_in_transaction(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    filename: &str,
    bytes: &[u8],
    opts: Options,
) -> Result<Report> {
    audit::transaction(conn, actor, |conn, rec| {
        // planned inside the transaction: what is checked is what is written
        let Plan {
            mut report,
            rows,
            new_units,
        } = plan(conn, scope, filename, bytes, opts)?;
        if report.invalid_rows > 0 && !opts.skip_invalid {
            report.blocked = Some(format!(
                "有 {} 行数据有误，未导入任何数据。请修改后重新上传，或选择“只导入正确的行”",
                report.invalid_rows
            ));
            return Ok(report);
        }
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
                    super::apply_update(conn, rec, scope, &before, &f)?;
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
                "unchanged": report.unchanged_count, "skipped_rows": report.errors.iter().map(|e| e.row).collect::<Vec<_>>(),
                "created_units": report.created_units,
            })),
        )?;
        Ok(report)
    })
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
