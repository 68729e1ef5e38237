//! Importing the certificates a bureau already has, from its own sheet (XLSX/XLS/ODS/CSV).
//!
//! The whole file is checked first and reported by row (which row, which column, why); with
//! any error nothing is written unless the caller asks to skip the bad rows. Numbers are kept as
//! the province wrote them (free text up to 100 characters, no check character assumed), the
//! holder is found by ID number in the roster, and validity is read in every shape sheets use
//! (2028-06-01, 2028.6, 2020.02-2026.02 …). Importing the same file again adds nothing.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::db;
use super::rules::CertState;
use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::db::schema::officers;
use crate::error::{Error, Result};
use crate::roster::model::{parse_date, parse_validity};
use crate::roster::rules::IdNumber;
use crate::sheet::{self, Header, Layout, Row, SheetError, header_keys};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Number,
    IdNumber,
    Name,
    Issuer,
    Validity,
    IssuedOn,
    Category,
    Region,
    State,
}

impl Col {
    const ALL: [Col; 9] = [
        Col::Number,
        Col::IdNumber,
        Col::Name,
        Col::Issuer,
        Col::Validity,
        Col::IssuedOn,
        Col::Category,
        Col::Region,
        Col::State,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Col::Number => "执法证号",
            Col::IdNumber => "身份证号",
            Col::Name => "姓名",
            Col::Issuer => "发证机关",
            Col::Validity => "证件有效期",
            Col::IssuedOn => "发证日期",
            Col::Category => "执法类别",
            Col::Region => "执法区域",
            Col::State => "证件状态",
        }
    }

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Col::Number => &[
                "执法证号",
                "证件编号",
                "证号",
                "证件号码",
                "执法证编号",
                "执法证件号",
                "执法证件编号",
                "执法证件号码",
                "行政执法证号",
                "行政执法证编号",
                "证件号",
            ],
            Col::IdNumber => &[
                "身份证号",
                "身份证号码",
                "公民身份号码",
                "身份证",
                "身份证件号码",
            ],
            Col::Name => &["姓名", "持证人", "持证人姓名"],
            Col::Issuer => &["发证机关", "发证单位", "核发机关", "发证部门"],
            Col::Validity => &[
                "证件有效期",
                "有效期",
                "有效期至",
                "有效期限",
                "证件有效期限",
                "有效截止日期",
                "到期日期",
                "证件到期日期",
            ],
            Col::IssuedOn => &["发证日期", "发证时间", "核发日期", "领证日期", "发证年月"],
            Col::Category => &["执法类别", "执法门类", "执法种类", "证件类别"],
            Col::Region => &["执法区域", "执法地域", "执法范围"],
            Col::State => &["证件状态", "状态", "持证状态"],
        }
    }

    fn of_header(raw: &str) -> Option<Col> {
        let (whole, stripped) = header_keys(raw);
        Col::ALL
            .iter()
            .copied()
            .find(|c| c.aliases().contains(&whole.as_str()))
            .or_else(|| {
                Col::ALL
                    .iter()
                    .copied()
                    .find(|c| c.aliases().contains(&stripped.as_str()))
            })
    }
}

struct CertSheet;

impl Layout<Col> for CertSheet {
    fn header_in(&self, row: &Row) -> Result<Option<Header<Col>>, SheetError> {
        let mut columns: Vec<(usize, Col)> = Vec::new();
        let mut ignored = Vec::new();
        for (i, c) in row.cells.iter().enumerate() {
            match Col::of_header(&c.text) {
                Some(col) => {
                    if let Some((j, _)) = columns.iter().find(|(_, g)| *g == col) {
                        return Err(SheetError::DuplicateColumn(
                            col.label().to_string(),
                            sheet::column_letter(*j),
                            sheet::column_letter(i),
                        ));
                    }
                    columns.push((i, col));
                }
                None => {
                    let t = c.text.trim();
                    if !t.is_empty() && !matches!(t, "序号" | "序" | "备注") {
                        ignored.push(t.to_string());
                    }
                }
            }
        }
        let has = |c: Col| columns.iter().any(|(_, g)| *g == c);
        Ok((has(Col::Number) && has(Col::IdNumber)).then(|| Header {
            row: row.number,
            columns,
            ignored,
            notes: Vec::new(),
        }))
    }

    fn no_header(&self) -> String {
        "找不到表头：前 30 行中没有同时包含“执法证号”（或证件编号、证号、证件号码）和“身份证号”两列的行".into()
    }

    fn sheet_name(&self) -> &'static str {
        "执法证"
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CertImportReport {
    pub rows: usize,
    /// Written (or, in a check, would be).
    pub imported: usize,
    /// Already in the register for the same holder: nothing to do.
    pub already: usize,
    pub invalid_rows: usize,
    pub errors: Vec<RowError>,
    pub notes: Vec<String>,
    /// Nothing was written because of errors (without `skip_invalid`).
    pub blocked: Option<String>,
    pub written: bool,
}

struct Good {
    row: usize,
    number: String,
    officer_id: i64,
    unit_id: i64,
    category: String,
    region: String,
    issuer: String,
    issued_on: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    state: CertState,
}

/// The start of a period written as one cell ("2020.02-2026.02", "2020年2月至2026年2月").
fn period_start(raw: &str) -> Option<NaiveDate> {
    let s = crate::roster::rules::to_half_width(raw);
    let first = if let Some((a, _)) = s.split_once(['至', '~', '—', '－']) {
        a.to_string()
    } else {
        let parts: Vec<&str> = s.split('-').collect();
        match parts.len() {
            2 => parts[0].to_string(),
            6 => parts[..3].join("-"),
            _ => return None,
        }
    };
    let first = first.trim().trim_end_matches(['起', '日']).trim();
    parse_date(first).or_else(|| {
        let ym = first.replace(['年', '.', '/', '-'], " ").replace('月', "");
        let p: Vec<&str> = ym.split_whitespace().collect();
        match p.as_slice() {
            [y, m] if y.len() == 4 => NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1),
            _ => None,
        }
    })
}

/// Checks a sheet and, unless `dry_run` (or errors without `skip_invalid`), writes it.
pub fn import(
    conn: &mut DbConn,
    grant: &Grant,
    issuer_default: &str,
    filename: &str,
    bytes: &[u8],
    skip_invalid: bool,
    dry_run: bool,
) -> Result<CertImportReport> {
    grant.require(Capability::ManageCerts)?;
    let (header, rows) =
        sheet::read(&CertSheet, filename, bytes).map_err(|e| Error::BadRequest(e.to_string()))?;
    // the rows come with the title and header rows; the data starts below the header
    let rows: Vec<Row> = rows.into_iter().filter(|r| r.number > header.row).collect();
    let mut report = CertImportReport {
        rows: rows.len(),
        notes: header.notes.clone(),
        ..Default::default()
    };
    if !header.ignored.is_empty() {
        report
            .notes
            .push(format!("以下列未导入：{}", header.ignored.join("、")));
    }
    let col = |c: Col| header.col(c);
    let cell = |r: &Row, c: Col| -> String {
        col(c)
            .and_then(|i| r.cells.get(i))
            .map(|x| x.text.trim().to_string())
            .unwrap_or_default()
    };
    // The holders, by ID number, in one pass.
    let ids: Vec<String> = rows
        .iter()
        .filter_map(|r| IdNumber::parse(&cell(r, Col::IdNumber)).ok())
        .map(|i| i.to_string())
        .collect();
    let mut holders: HashMap<String, (i64, String, i64, String, String)> = HashMap::new();
    for chunk in ids.chunks(5000) {
        for (id, idn, name, unit, category, region) in officers::table
            .filter(officers::id_number.eq_any(chunk))
            .select((
                officers::id,
                officers::id_number,
                officers::name,
                officers::unit_id,
                officers::category,
                officers::region,
            ))
            .load::<(i64, String, String, i64, String, String)>(conn)?
        {
            holders.insert(idn, (id, name, unit, category, region));
        }
    }
    let numbers: Vec<String> = rows.iter().map(|r| cell(r, Col::Number)).collect();
    let mut registered: HashMap<String, i64> = HashMap::new();
    for chunk in numbers.chunks(5000) {
        registered.extend(
            crate::db::schema::certificates::table
                .filter(crate::db::schema::certificates::number.eq_any(chunk))
                .select((
                    crate::db::schema::certificates::number,
                    crate::db::schema::certificates::officer_id,
                ))
                .load::<(String, i64)>(conn)?,
        );
    }
    let today = crate::db::now().date();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut good: Vec<Good> = Vec::new();
    for r in &rows {
        let mut errs: Vec<(Col, String)> = Vec::new();
        let number = cell(r, Col::Number);
        if number.is_empty() {
            errs.push((Col::Number, "执法证号为空".into()));
        } else if number.chars().count() > 100 {
            errs.push((Col::Number, "执法证号超过 100 个字".into()));
        } else if let Some(first) = seen.get(&number) {
            errs.push((Col::Number, format!("与第 {first} 行的执法证号重复")));
        }
        let idn = cell(r, Col::IdNumber);
        let holder = match IdNumber::parse(&idn) {
            Err(e) => {
                errs.push((Col::IdNumber, format!("身份证号“{idn}”{e}")));
                None
            }
            Ok(i) => match holders.get(&i.to_string()) {
                None => {
                    errs.push((Col::IdNumber, "名录库中没有此人（请先导入人员名册）".into()));
                    None
                }
                Some(h) => {
                    let name = cell(r, Col::Name);
                    if !name.is_empty() && name != h.1 {
                        errs.push((
                            Col::Name,
                            format!("姓名“{name}”与名录库中此身份证号的“{}”不符", h.1),
                        ));
                    }
                    Some(h.clone())
                }
            },
        };
        let raw_valid = cell(r, Col::Validity);
        let valid_until = if raw_valid.is_empty() {
            None
        } else {
            match parse_validity(&raw_valid) {
                Some(d) => Some(d),
                None => {
                    errs.push((Col::Validity, format!("证件有效期“{raw_valid}”无法识别")));
                    None
                }
            }
        };
        let raw_issued = cell(r, Col::IssuedOn);
        let issued_on = if raw_issued.is_empty() {
            period_start(&raw_valid)
        } else {
            match parse_date(&raw_issued)
                .or_else(|| period_start(&format!("{raw_issued}-{raw_issued}")))
            {
                Some(d) => Some(d),
                None => {
                    errs.push((Col::IssuedOn, format!("发证日期“{raw_issued}”无法识别")));
                    None
                }
            }
        };
        let raw_state = cell(r, Col::State);
        let state = if raw_state.is_empty() {
            if valid_until.is_some_and(|d| d < today) {
                CertState::Expired
            } else {
                CertState::Valid
            }
        } else {
            match CertState::parse(&raw_state) {
                Some(s) => s,
                None => {
                    errs.push((
                        Col::State,
                        format!("证件状态“{raw_state}”应为有效、暂扣、吊销、注销或过期"),
                    ));
                    CertState::Valid
                }
            }
        };
        if let Some(h) = &holder
            && let Some(owner) = registered.get(&number)
        {
            if *owner == h.0 {
                report.already += 1;
                seen.insert(number.clone(), r.number);
                continue;
            }
            errs.push((Col::Number, "此执法证号已登记在另一人名下".into()));
        }
        if !number.is_empty() {
            seen.entry(number.clone()).or_insert(r.number);
        }
        if errs.is_empty()
            && let Some((officer_id, _, unit_id, category, region)) = holder
        {
            let issuer = cell(r, Col::Issuer);
            good.push(Good {
                row: r.number,
                number,
                officer_id,
                unit_id,
                category: Some(cell(r, Col::Category))
                    .filter(|c| !c.is_empty())
                    .unwrap_or(category),
                region: Some(cell(r, Col::Region))
                    .filter(|c| !c.is_empty())
                    .unwrap_or(region),
                issuer: if issuer.is_empty() {
                    issuer_default.to_string()
                } else {
                    issuer
                },
                issued_on,
                valid_until,
                state,
            });
        } else {
            report.invalid_rows += 1;
            report
                .errors
                .extend(errs.into_iter().map(|(c, m)| RowError {
                    row: r.number,
                    column: c.label().into(),
                    message: m,
                }));
        }
    }
    if col(Col::Validity).is_none() {
        report
            .notes
            .push("表中没有“证件有效期”列：导入的执法证有效期记为未知".into());
    }
    report.imported = good.len();
    if dry_run {
        return Ok(report);
    }
    if report.invalid_rows > 0 && !skip_invalid {
        report.blocked = Some(format!(
            "有 {} 行数据有误，未导入任何执法证（改正后重新导入，或选择只导入正确的行）",
            report.invalid_rows
        ));
        report.imported = 0;
        return Ok(report);
    }
    if good.is_empty() {
        return Ok(report);
    }
    let count = good.len();
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let now = crate::db::now();
        let actor = rec.actor().name.clone();
        let mut current: HashMap<i64, (String, String, Option<NaiveDate>)> = HashMap::new();
        for g in &good {
            let id = db::insert(
                conn,
                &db::NewRow {
                    number: g.number.clone(),
                    officer_id: g.officer_id,
                    unit_id: g.unit_id,
                    category: g.category.clone(),
                    region: g.region.clone(),
                    issuer: g.issuer.clone(),
                    issued_on: g.issued_on,
                    valid_until: g.valid_until,
                    state: g.state.label().into(),
                    source: "导入".into(),
                    batch_id: None,
                    replaces_id: None,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            db::log(
                conn,
                &db::NewEvent {
                    certificate_id: id,
                    at: now,
                    action: "导入",
                    from_state: "",
                    to_state: g.state.label(),
                    reason: &format!("由 {filename} 第 {} 行导入", g.row),
                    basis: "",
                    actor: &actor,
                },
            )?;
            if matches!(g.state, CertState::Valid | CertState::Suspended) {
                let later = current
                    .get(&g.officer_id)
                    .is_none_or(|c| g.valid_until > c.2);
                if later {
                    current.insert(
                        g.officer_id,
                        (g.number.clone(), g.issuer.clone(), g.valid_until),
                    );
                }
            }
        }
        for (officer, (number, issuer, until)) in &current {
            db::point_officer_at(conn, *officer, Some((number, issuer, *until)))?;
        }
        rec.record(
            conn,
            Change::new(
                "cert.import",
                "certificate",
                filename,
                format!("导入执法证 {count} 张（{filename}）"),
            ),
        )?;
        Ok(())
    })?;
    report.written = true;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_under_their_many_names() {
        let csv = "执法证编号,身份证号码,发证机关,有效期限,证件状态\n吉A0001,110105194912310026,吉林省人民政府,2020.02-2026.02,\n";
        let (h, rows) = sheet::read(&CertSheet, "x.csv", csv.as_bytes()).unwrap();
        let rows: Vec<&Row> = rows.iter().filter(|r| r.number > h.row).collect();
        assert_eq!(h.row, 1);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].number, 2);
        assert_eq!(
            period_start("2020.02-2026.02"),
            NaiveDate::from_ymd_opt(2020, 2, 1)
        );
        assert_eq!(
            period_start("2023年1月1日至2028年12月31日"),
            NaiveDate::from_ymd_opt(2023, 1, 1)
        );
        assert_eq!(period_start("2028.6"), None);
    }
}
