//! Planning an import: every row checked against the roster as it is, with what would be
//! inserted, updated or refused, and why. Reads only.

use super::units::{UnitIndex, UnitLookup, shorten};
use super::{
    MAX_LISTED, MissingUnit, Options, Report, RowIssue, Sheet, UnitMatch, UpdatePreview, counts,
};
use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::roster::columns::Field;
use crate::roster::model::{Officer, OfficerFields, OfficerInput};
use crate::roster::rules::{IdNumber, IdNumberError, unit_name_key};
use crate::sheet::{self, Row, column_letter};

type Header = sheet::Header<Field>;
use crate::roster::{Scope, db};
use std::collections::HashMap;

pub(super) enum Action {
    Insert(OfficerFields),
    Update(Box<Officer>, OfficerFields),
}

pub(super) struct Planned {
    pub row: usize,
    pub action: Action,
    /// The unit to create for this row, when `create_units` (name key into `new_units`).
    pub new_unit: Option<String>,
}

pub(super) struct Plan {
    pub report: Report,
    pub rows: Vec<Planned>,
    /// Units to create: name key → display name, in first-seen order.
    pub new_units: Vec<(String, String)>,
    /// Every problem (the report lists the first `MAX_LISTED`).
    pub all_errors: Vec<RowIssue>,
    pub all_warnings: Vec<RowIssue>,
}

/// Fields whose problems refuse the row: without them there is no knowing who the row is, or
/// where they belong. Anything else is flagged and left out.
fn refuses_row(f: Field) -> bool {
    matches!(
        f,
        Field::Name
            | Field::IdNumber
            | Field::Unit
            | Field::UnitCode
            | Field::Sex
            | Field::BirthDate
    )
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
        "grade" => Field::Rank,
        "cert_number" => Field::CertNumber,
        "cert_issuer" => Field::CertIssuer,
        "cert_valid_until" => Field::CertValidity,
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

/// One sheet row seen through the header.
struct RowView<'a> {
    row: &'a Row,
    header: &'a Header,
}

impl RowView<'_> {
    fn cell(&self, f: Field) -> Option<&sheet::Cell> {
        self.header.col(f).and_then(|i| self.row.cells.get(i))
    }
    fn text(&self, f: Field) -> String {
        self.cell(f)
            .map(|c| c.text.trim().to_string())
            .unwrap_or_default()
    }
    fn too_long(&self, f: Field) -> bool {
        self.cell(f).is_some_and(|c| c.too_long)
    }
    fn column(&self, f: Field) -> String {
        match self.header.col(f) {
            Some(i) => format!("{} 列（{}）", column_letter(i), f.label()),
            None => f.label().to_string(),
        }
    }
}

/// The problems of one row, as they are found.
struct Issues<'a> {
    view: &'a RowView<'a>,
    errors: Vec<RowIssue>,
    warnings: Vec<RowIssue>,
}

impl Issues<'_> {
    fn error(&mut self, f: Field, kind: &str, reason: impl Into<String>) {
        self.errors.push(RowIssue {
            row: self.view.row.number,
            column: self.view.column(f),
            kind: kind.to_string(),
            reason: reason.into(),
        });
    }
    fn warn(&mut self, f: Field, kind: &str, reason: impl Into<String>) {
        self.warnings.push(RowIssue {
            row: self.view.row.number,
            column: self.view.column(f),
            kind: kind.to_string(),
            reason: reason.into(),
        });
    }
}

/// What the whole file is planned against.
struct Context<'a> {
    scope: &'a Scope,
    opts: Options,
    may_create_units: bool,
    default_unit: Option<crate::roster::model::Unit>,
    units: UnitIndex,
    existing: HashMap<String, Officer>,
    seen: HashMap<String, usize>,
    missing: Vec<MissingUnit>,
    matches: Vec<UnitMatch>,
    new_units: Vec<(String, String)>,
}

/// Placeholder unit id for units still to be created; resolved when writing.
const NEW_UNIT: i64 = -1;

pub(super) fn plan(conn: &mut DbConn, grant: &Grant, sheet: &Sheet, opts: Options) -> Result<Plan> {
    let header = &sheet.header;
    let default_unit = match opts.unit_id {
        Some(id) => Some(
            crate::roster::visible_unit(conn, grant, id)
                .map_err(|_| Error::invalid("unit_id", "所选单位不存在或不在您的管理范围内"))?,
        ),
        None => None,
    };
    let has_unit_column =
        header.col(Field::Unit).is_some() || header.col(Field::UnitCode).is_some();
    if !has_unit_column && default_unit.is_none() {
        return Err(Error::BadRequest(
            "表头中没有“所在单位”（或“单位代码”）列：请在导入时选择这些人员所属的单位，或在表中增加该列"
                .into(),
        ));
    }
    let mut report = Report {
        filename: sheet.filename.clone(),
        header_row: header.row,
        columns: header
            .columns
            .iter()
            .map(|(i, f)| {
                let shown = sheet
                    .rows
                    .iter()
                    .find(|r| r.number == header.row)
                    .and_then(|r| r.cells.get(*i))
                    .map(|c| shorten(&c.text))
                    .unwrap_or_default();
                (format!("{} 列：{shown}", column_letter(*i)), f.label())
            })
            .collect(),
        ignored_columns: header.ignored.iter().map(|c| shorten(c)).collect(),
        file_notes: file_notes(header, default_unit.as_ref().map(|u| u.name.as_str())),
        ..Default::default()
    };
    let mut ctx = Context {
        scope: grant.scope(),
        opts,
        may_create_units: grant.allows(Capability::ManageUnits) && grant.scope() == &Scope::All,
        default_unit,
        units: UnitIndex::new(db::all_units(conn)?),
        existing: db::all_officers(conn)?
            .into_iter()
            .map(|o| (o.id_number.clone(), o))
            .collect(),
        seen: HashMap::new(),
        missing: Vec::new(),
        matches: Vec::new(),
        new_units: Vec::new(),
    };
    let mut planned = Vec::new();
    let mut all_errors = Vec::new();
    let mut all_warnings = Vec::new();
    for row in sheet.rows.iter().filter(|r| r.number > header.row) {
        if row.cells.iter().all(|c| c.text.trim().is_empty()) {
            continue;
        }
        let view = RowView { row, header };
        if view.text(Field::Name).is_empty()
            && view.text(Field::IdNumber).is_empty()
            && is_footer(row)
        {
            continue;
        }
        report.data_rows += 1;
        let mut issues = Issues {
            view: &view,
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let outcome = plan_row(&mut ctx, &view, &mut issues);
        if !issues.warnings.is_empty() && outcome.is_some() {
            report.flagged_rows += 1;
        }
        match outcome {
            None => report.invalid_rows += 1,
            Some(p) => match &p.action {
                Action::Insert(_) => {
                    report.new_count += 1;
                    planned.push(p);
                }
                Action::Update(before, f) => {
                    let changes = f.changed_fields(&OfficerFields::of(before));
                    if changes.is_empty() {
                        report.unchanged_count += 1;
                    } else {
                        report.update_count += 1;
                        if report.updates.len() < MAX_LISTED {
                            report.updates.push(UpdatePreview {
                                row: p.row,
                                name: f.name.clone(),
                                id_number: f.id_number.clone(),
                                changes,
                            });
                        }
                        planned.push(p);
                    }
                }
            },
        }
        all_errors.extend(issues.errors);
        all_warnings.extend(issues.warnings);
    }
    if report.data_rows == 0 {
        return Err(Error::BadRequest(format!(
            "表头（第 {} 行）下面没有任何数据行",
            header.row
        )));
    }
    report.errors_total = all_errors.len();
    report.error_counts = counts(&all_errors);
    report.errors = all_errors.iter().take(MAX_LISTED).cloned().collect();
    report.warnings_total = all_warnings.len();
    report.warning_counts = counts(&all_warnings);
    report.warnings = all_warnings.iter().take(MAX_LISTED).cloned().collect();
    report.missing_units = ctx.missing;
    report.unit_matches = ctx.matches;
    report.created_units = ctx.new_units.iter().map(|(_, d)| d.clone()).collect();
    Ok(Plan {
        report,
        rows: planned,
        new_units: ctx.new_units,
        all_errors,
        all_warnings,
    })
}

/// What to say once about the file's columns.
fn file_notes(header: &Header, default_unit: Option<&str>) -> Vec<String> {
    let mut notes = header.notes.clone();
    let lacks = |f: Field| header.col(f).is_none();
    if let Some(u) = default_unit {
        notes.push(if lacks(Field::Unit) && lacks(Field::UnitCode) {
            format!("表中没有单位列：全部人员导入到“{u}”")
        } else {
            format!("单位一栏为空的行导入到“{u}”")
        });
    }
    if lacks(Field::EmploymentType) {
        notes.push(
            "表中没有“人员性质”列：新增人员的人员性质记为“未填写”，能否申领执法证显示为“待确认”，请在名录库中补充；已在名录库中的人员保留原值"
                .into(),
        );
    }
    if lacks(Field::Status) {
        notes.push("表中没有“在岗状态”列：新增人员记为“在岗”，已在名录库中的人员保留原值".into());
    }
    let others: Vec<&str> = [Field::Post, Field::Category, Field::Region, Field::Phone]
        .into_iter()
        .filter(|f| lacks(*f))
        .map(|f| f.label())
        .collect();
    if !others.is_empty() {
        notes.push(format!(
            "表中没有“{}”列：新增人员这几项为空，已在名录库中的人员保留原值",
            others.join("”“")
        ));
    }
    notes
}

/// Checks one row; None when it is refused (the reasons are in `issues`).
fn plan_row(ctx: &mut Context<'_>, view: &RowView<'_>, issues: &mut Issues<'_>) -> Option<Planned> {
    let id_number = id_number(ctx, view, issues);
    let name = view.text(Field::Name);
    if name.is_empty() {
        issues.error(Field::Name, "姓名有误", "姓名不能为空");
    } else if view.too_long(Field::Name) {
        issues.error(Field::Name, "姓名有误", "姓名过长");
    }
    let (unit_id, new_unit) = unit(ctx, view, issues);

    let current = id_number
        .as_ref()
        .and_then(|id| ctx.existing.get(id.as_str()));
    if let Some(o) = current {
        let visible = ctx
            .units
            .by_id(o.unit_id)
            .is_some_and(|u| ctx.scope.covers_unit(u));
        if !visible {
            // never say who it is, or where: the caller may not see that person
            issues.error(
                Field::IdNumber,
                "不在管理范围内",
                "此身份证号已登记在您管理范围以外的单位，不能由您导入或修改；如需调入请联系司法局管理员",
            );
        }
    }
    let id = id_number.filter(|_| issues.errors.is_empty())?;
    let unit_id = unit_id?;

    // For a person already in the roster, columns the sheet lacks (or leaves blank) keep what
    // is stored: an import never wipes data it was not given.
    let stored = current.map(OfficerInput::from_officer).unwrap_or_default();
    let keep = |f: Field, stored: &str| {
        let v = if view.too_long(f) {
            String::new()
        } else {
            view.text(f)
        };
        if v.is_empty() { stored.to_string() } else { v }
    };
    let mut input = OfficerInput {
        name,
        id_number: id.as_str().to_string(),
        sex: view.text(Field::Sex),
        birth_date: view.text(Field::BirthDate),
        unit_id: Some(unit_id),
        post: keep(Field::Post, &stored.post),
        category: keep(Field::Category, &stored.category),
        region: keep(Field::Region, &stored.region),
        employment_type: keep(Field::EmploymentType, &stored.employment_type),
        phone: keep(Field::Phone, &stored.phone),
        status: keep(Field::Status, &stored.status),
        grade: keep(Field::Rank, &stored.grade),
        cert_number: keep(Field::CertNumber, &stored.cert_number),
        cert_issuer: keep(Field::CertIssuer, &stored.cert_issuer),
        cert_valid_until: keep(Field::CertValidity, &stored.cert_valid_until),
    };
    for f in [
        Field::Post,
        Field::Category,
        Field::Region,
        Field::Phone,
        Field::Rank,
        Field::CertNumber,
        Field::CertIssuer,
    ] {
        if view.too_long(f) {
            issues.warn(
                f,
                "内容过长（该项未导入）",
                format!("{}内容过长，该项未导入", f.label()),
            );
        }
    }
    let fields = loop {
        match input.validate() {
            Ok(f) => break f,
            Err(errs) => {
                let mut soft_only = true;
                for (k, reason) in errs {
                    let f = field_of_key(&k);
                    if refuses_row(f) {
                        soft_only = false;
                        let kind = match f {
                            Field::Sex | Field::BirthDate => "与身份证号不符",
                            Field::Name => "姓名有误",
                            _ => "所在单位有误",
                        };
                        issues.error(f, kind, reason);
                    } else {
                        // a bad optional value is left out (the stored one kept), not a refusal
                        issues.warn(
                            f,
                            &format!("{}有误（该项未导入）", f.label()),
                            format!("{reason}；该项未导入"),
                        );
                        reset(&mut input, &k, &stored);
                    }
                }
                if !soft_only {
                    return None;
                }
            }
        }
    };
    for (k, reason) in fields.flags() {
        let f = field_of_key(k);
        // a column the sheet doesn't have is said once, at the top
        if view.header.col(f).is_none() {
            continue;
        }
        let kind = if reason.starts_with("人员性质未填写") {
            "人员性质未填写"
        } else if f == Field::EmploymentType {
            "人员性质待归类"
        } else {
            "在岗状态待归类"
        };
        issues.warn(f, kind, reason);
    }
    Some(Planned {
        row: view.row.number,
        action: match current {
            None => Action::Insert(fields),
            Some(o) => Action::Update(Box::new(o.clone()), fields),
        },
        new_unit,
    })
}

/// Puts back the stored value of a field whose new value is unusable.
fn reset(input: &mut OfficerInput, key: &str, stored: &OfficerInput) {
    let (slot, old) = match key {
        "post" => (&mut input.post, &stored.post),
        "category" => (&mut input.category, &stored.category),
        "region" => (&mut input.region, &stored.region),
        "employment_type" => (&mut input.employment_type, &stored.employment_type),
        "phone" => (&mut input.phone, &stored.phone),
        "status" => (&mut input.status, &stored.status),
        "grade" => (&mut input.grade, &stored.grade),
        "cert_number" => (&mut input.cert_number, &stored.cert_number),
        "cert_issuer" => (&mut input.cert_issuer, &stored.cert_issuer),
        "cert_valid_until" => (&mut input.cert_valid_until, &stored.cert_valid_until),
        _ => return,
    };
    // a stored value that is itself unusable can't be kept either
    *slot = if *slot == *old {
        String::new()
    } else {
        old.clone()
    };
}

/// The row's ID number, checked; duplicates within the file are refused.
fn id_number(
    ctx: &mut Context<'_>,
    view: &RowView<'_>,
    issues: &mut Issues<'_>,
) -> Option<IdNumber> {
    const KIND: &str = "身份证号有误";
    // ID numbers Excel turned into numbers have lost digits for good.
    let id = match view.cell(Field::IdNumber) {
        Some(c) if c.numeric && c.text.len() >= 15 => {
            let err = if c.text.len() == 15 {
                IdNumberError::OldFifteenDigit
            } else {
                IdNumberError::LostDigits(c.text.clone())
            };
            issues.error(Field::IdNumber, KIND, err.to_string());
            None
        }
        Some(c) if c.too_long => {
            issues.error(Field::IdNumber, KIND, "身份证号一栏内容过长");
            None
        }
        _ => match IdNumber::parse(&view.text(Field::IdNumber)) {
            Ok(id) => Some(id),
            Err(e) => {
                issues.error(Field::IdNumber, KIND, e.to_string());
                None
            }
        },
    }?;
    if let Some(first) = ctx.seen.get(id.as_str()) {
        issues.error(
            Field::IdNumber,
            "身份证号重复",
            format!("与第 {first} 行的身份证号重复"),
        );
        return None;
    }
    ctx.seen.insert(id.as_str().to_string(), view.row.number);
    Some(id)
}

/// The row's unit: (its id or NEW_UNIT, the key of a unit to create).
fn unit(
    ctx: &mut Context<'_>,
    view: &RowView<'_>,
    issues: &mut Issues<'_>,
) -> (Option<i64>, Option<String>) {
    const KIND: &str = "所在单位有误";
    let name = view.text(Field::Unit);
    let code = view.text(Field::UnitCode);
    if view.too_long(Field::Unit) || view.too_long(Field::UnitCode) {
        issues.error(Field::Unit, KIND, "单位名称过长");
        return (None, None);
    }
    if name.is_empty() && code.is_empty() {
        return match &ctx.default_unit {
            Some(u) => (Some(u.id), None),
            None => {
                issues.error(Field::Unit, KIND, "所在单位不能为空");
                (None, None)
            }
        };
    }
    let field = if code.is_empty() {
        Field::Unit
    } else {
        Field::UnitCode
    };
    match ctx.units.lookup(ctx.scope, &name, &code) {
        UnitLookup::Found(u) => (Some(u.id), None),
        UnitLookup::Matched(u) => {
            let written = crate::roster::rules::clean_text(&name);
            match ctx.matches.iter_mut().find(|m| m.written == written) {
                Some(m) => m.rows += 1,
                None => ctx.matches.push(UnitMatch {
                    written,
                    unit: u.name.clone(),
                    rows: 1,
                }),
            }
            (Some(u.id), None)
        }
        UnitLookup::Problem(p) => {
            issues.error(field, KIND, p);
            (None, None)
        }
        UnitLookup::Missing(display) => {
            if ctx.opts.create_units && ctx.may_create_units {
                // a unit made from a sheet follows the same name rules as one made by hand
                match crate::roster::rules::parse_unit_name(&display) {
                    Ok(display) => {
                        let key = unit_name_key(&display);
                        if !ctx.new_units.iter().any(|(k, _)| *k == key) {
                            ctx.new_units.push((key.clone(), display));
                        }
                        (Some(NEW_UNIT), Some(key))
                    }
                    Err(e) => {
                        issues.error(field, KIND, e);
                        (None, None)
                    }
                }
            } else {
                let display = shorten(&display);
                match ctx.missing.iter_mut().find(|m| m.name == display) {
                    Some(m) => m.rows.push(view.row.number),
                    None => ctx.missing.push(MissingUnit {
                        name: display.clone(),
                        rows: vec![view.row.number],
                    }),
                }
                let hint = if ctx.may_create_units {
                    "（可勾选“自动创建表中缺少的单位”，或先在“单位管理”中添加）"
                } else {
                    "（请联系司法局管理员添加该单位）"
                };
                issues.error(field, KIND, format!("单位“{display}”不在单位库中{hint}"));
                (None, None)
            }
        }
    }
}
