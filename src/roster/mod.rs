//! The officer roster (名录库): units and officers. These functions are the only doors other
//! modules use; each checks its rules, writes, and records the audit entry in one transaction.

pub mod columns;
pub mod db;
pub mod demo;
pub mod export;
pub mod import;
pub mod model;
pub mod rules;

use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::error::{Error, Result};
use model::{Officer, OfficerFields, OfficerInput, Posting, Unit, UnitInput};
use serde::Serialize;

/// Which part of the roster a caller may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// A unit and every unit under it, by materialised path.
    Subtree(String),
    /// One officer: themselves.
    Officer(i64),
    Nothing,
}

impl Scope {
    pub fn covers_unit(&self, unit: &Unit) -> bool {
        match self {
            Scope::All => true,
            Scope::Subtree(path) => unit.path.starts_with(path.as_str()),
            Scope::Officer(_) | Scope::Nothing => false,
        }
    }

    fn covers_officer(&self, officer: &Officer, unit: &Unit) -> bool {
        match self {
            Scope::Officer(id) => *id == officer.id,
            _ => self.covers_unit(unit),
        }
    }
}

fn range(prefix: &str) -> Option<(String, String)> {
    crate::db::prefix_upper_bound(prefix).map(|hi| (prefix.to_string(), hi))
}

// ------------------------------------------------------------------ units

pub fn unit(conn: &mut DbConn, id: i64) -> Result<Unit> {
    db::unit(conn, id)?.ok_or_else(|| Error::not_found("单位"))
}

/// A unit the caller may see; one they may not answers as a missing one does.
pub fn visible_unit(conn: &mut DbConn, grant: &Grant, id: i64) -> Result<Unit> {
    grant.require(Capability::ReadRoster)?;
    match db::unit(conn, id)? {
        Some(u) if grant.scope().covers_unit(&u) => Ok(u),
        _ => Err(Error::not_found("单位")),
    }
}

/// Units the caller may see, in tree order.
pub fn units_in_scope(conn: &mut DbConn, grant: &Grant) -> Result<Vec<Unit>> {
    grant.require(Capability::ReadRoster)?;
    Ok(match grant.scope() {
        Scope::All => db::all_units(conn)?,
        Scope::Subtree(path) => db::subtree(conn, path)?,
        Scope::Officer(id) => match db::officer(conn, *id)? {
            Some(o) => db::unit(conn, o.unit_id)?.into_iter().collect(),
            None => vec![],
        },
        Scope::Nothing => vec![],
    })
}

fn parent_for(conn: &mut DbConn, parent_id: Option<i64>) -> Result<Option<Unit>> {
    match parent_id {
        None => Ok(None),
        Some(id) => {
            let p =
                db::unit(conn, id)?.ok_or_else(|| Error::invalid("parent_id", "上级单位不存在"))?;
            if !p.active {
                return Err(Error::invalid(
                    "parent_id",
                    format!("上级单位“{}”已停用", p.name),
                ));
            }
            Ok(Some(p))
        }
    }
}

pub fn create_unit(conn: &mut DbConn, grant: &Grant, input: &UnitInput) -> Result<Unit> {
    grant.require(Capability::ManageUnits)?;
    let f = input.validate().map_err(Error::invalid_fields)?;
    audit::transaction(conn, grant.actor(), |conn, rec| {
        if db::unit_by_code(conn, &f.code)?.is_some() {
            return Err(Error::conflict(
                "code",
                format!("单位代码 {} 已被使用", f.code),
            ));
        }
        let parent = parent_for(conn, f.parent_id)?;
        add_unit(
            conn,
            rec,
            &f.code,
            &f.name,
            &f.region_code,
            parent.as_ref(),
            "新建单位",
        )
    })
}

/// Inserts a unit and records it, inside the caller's audited transaction. `why` prefixes the
/// audit summary ("新建单位", "导入时新建单位", …).
pub(crate) fn add_unit(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    code: &str,
    name: &str,
    region_code: &str,
    parent: Option<&Unit>,
    why: &str,
) -> Result<Unit> {
    let unit = db::insert_unit(
        conn,
        db::NewUnit {
            code,
            name,
            region_code,
            parent,
            at: crate::db::now(),
        },
    )
    .map_err(crate::error::on_unique(
        "units",
        "code",
        "code",
        format!("单位代码 {code} 已被使用"),
    ))?;
    rec.record(
        conn,
        Change::new(
            "unit.create",
            "unit",
            unit.id,
            format!("{why}“{}”", unit.name),
        )
        .after(&unit),
    )?;
    Ok(unit)
}

/// Renames a unit or corrects its code or region code (not its place in the tree: see `move_unit`).
pub fn update_unit(conn: &mut DbConn, grant: &Grant, id: i64, input: &UnitInput) -> Result<Unit> {
    patch_unit(
        conn,
        grant,
        id,
        &UnitPatch {
            code: Some(input.code.clone()),
            name: Some(input.name.clone()),
            region_code: Some(input.region_code.clone()),
            ..Default::default()
        },
    )
}

/// Puts a unit (with everything under it) under another parent, or makes it a root.
pub fn move_unit(
    conn: &mut DbConn,
    grant: &Grant,
    id: i64,
    new_parent: Option<i64>,
) -> Result<Unit> {
    patch_unit(
        conn,
        grant,
        id,
        &UnitPatch {
            parent_id: Some(new_parent),
            ..Default::default()
        },
    )
}

pub fn set_unit_active(conn: &mut DbConn, grant: &Grant, id: i64, active: bool) -> Result<Unit> {
    patch_unit(
        conn,
        grant,
        id,
        &UnitPatch {
            active: Some(active),
            ..Default::default()
        },
    )
}

/// Changes to a unit; absent fields stay as they are.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"name": "东城区司法局（更名）"}))]
pub struct UnitPatch {
    pub code: Option<String>,
    pub name: Option<String>,
    pub region_code: Option<String>,
    /// Move under another unit; `Some(None)` makes it a root.
    #[serde(default, deserialize_with = "present")]
    pub parent_id: Option<Option<i64>>,
    pub active: Option<bool>,
}

/// A field that is present (even as `null`) is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<i64>>, D::Error> {
    use serde::Deserialize;
    Ok(Some(Option::deserialize(d)?))
}

/// Renames, re-codes, moves and (de)activates a unit in one transaction: all of it, or nothing.
pub fn patch_unit(conn: &mut DbConn, grant: &Grant, id: i64, patch: &UnitPatch) -> Result<Unit> {
    grant.require(Capability::ManageUnits)?;
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let mut u = unit(conn, id)?;
        if patch.code.is_some() || patch.name.is_some() || patch.region_code.is_some() {
            let input = UnitInput {
                code: patch.code.clone().unwrap_or(u.code.clone()),
                name: patch.name.clone().unwrap_or(u.name.clone()),
                region_code: patch.region_code.clone().unwrap_or(u.region_code.clone()),
                parent_id: u.parent_id,
            };
            let f = input.validate().map_err(Error::invalid_fields)?;
            u = rename_unit(conn, rec, u, &f)?;
        }
        if let Some(parent) = patch.parent_id
            && parent != u.parent_id
        {
            u = relocate_unit(conn, rec, u, parent)?;
        }
        if let Some(active) = patch.active {
            u = activate_unit(conn, rec, u, active)?;
        }
        Ok(u)
    })
}

fn rename_unit(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    before: Unit,
    f: &model::UnitFields,
) -> Result<Unit> {
    use crate::db::schema::units;
    use diesel::prelude::*;
    if f.code == before.code && f.name == before.name && f.region_code == before.region_code {
        return Ok(before);
    }
    let taken = || Error::conflict("code", format!("单位代码 {} 已被使用", f.code));
    if f.code != before.code && db::unit_by_code(conn, &f.code)?.is_some() {
        return Err(taken());
    }
    diesel::update(units::table.find(before.id))
        .set((
            units::code.eq(&f.code),
            units::name.eq(&f.name),
            units::region_code.eq(&f.region_code),
            units::updated_at.eq(crate::db::now()),
        ))
        .execute(conn)
        .map_err(|e| {
            if crate::error::is_unique_violation(&e, "units", "code") {
                taken()
            } else {
                e.into()
            }
        })?;
    let after = unit(conn, before.id)?;
    let summary = if before.name != after.name {
        format!("单位“{}”更名为“{}”", before.name, after.name)
    } else {
        format!("修改单位“{}”", after.name)
    };
    rec.record(
        conn,
        Change::new("unit.update", "unit", before.id, summary)
            .before(&before)
            .after(&after),
    )?;
    Ok(after)
}

fn relocate_unit(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    before: Unit,
    new_parent: Option<i64>,
) -> Result<Unit> {
    use crate::db::schema::units;
    use diesel::prelude::*;
    let id = before.id;
    let parent = parent_for(conn, new_parent)?;
    if let Some(p) = &parent
        && p.path.starts_with(&before.path)
    {
        return Err(Error::invalid(
            "parent_id",
            "不能把单位移到它自己或它的下级单位之下",
        ));
    }
    let new_path = format!(
        "{}{id}/",
        parent.as_ref().map(|p| p.path.as_str()).unwrap_or("/")
    );
    let now = crate::db::now();
    for u in db::subtree(conn, &before.path)? {
        let path = format!("{new_path}{}", &u.path[before.path.len()..]);
        diesel::update(units::table.find(u.id))
            .set(units::path.eq(path))
            .execute(conn)?;
    }
    diesel::update(units::table.find(id))
        .set((units::parent_id.eq(new_parent), units::updated_at.eq(now)))
        .execute(conn)?;
    let after = unit(conn, id)?;
    let summary = format!(
        "单位“{}”调整到“{}”之下",
        after.name,
        parent
            .as_ref()
            .map(|p| p.name.as_str())
            .unwrap_or("（顶级）")
    );
    rec.record(
        conn,
        Change::new("unit.move", "unit", id, summary)
            .before(&before)
            .after(&after),
    )?;
    Ok(after)
}

fn activate_unit(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    before: Unit,
    active: bool,
) -> Result<Unit> {
    use crate::db::schema::units;
    use diesel::prelude::*;
    let id = before.id;
    if before.active == active {
        return Ok(before);
    }
    if !active {
        let active_children = db::subtree(conn, &before.path)?
            .iter()
            .filter(|u| u.id != id && u.active)
            .count();
        if active_children > 0 {
            return Err(Error::Conflict {
                message: format!(
                    "“{}”下还有 {active_children} 个启用的下级单位，请先停用或调整它们",
                    before.name
                ),
                fields: Default::default(),
            });
        }
        let serving = db::count_serving_in_unit(conn, id)?;
        if serving > 0 {
            return Err(Error::Conflict {
                message: format!(
                    "“{}”还有 {serving} 名在岗人员，请先把他们调到其他单位",
                    before.name
                ),
                fields: Default::default(),
            });
        }
    } else if let Some(pid) = before.parent_id {
        let parent = unit(conn, pid)?;
        if !parent.active {
            return Err(Error::invalid(
                "active",
                format!("上级单位“{}”已停用，请先启用它", parent.name),
            ));
        }
    }
    diesel::update(units::table.find(id))
        .set((
            units::active.eq(active),
            units::updated_at.eq(crate::db::now()),
        ))
        .execute(conn)?;
    let after = unit(conn, id)?;
    let (action, verb) = if active {
        ("unit.activate", "启用")
    } else {
        ("unit.deactivate", "停用")
    };
    rec.record(
        conn,
        Change::new(action, "unit", id, format!("{verb}单位“{}”", after.name))
            .before(&before)
            .after(&after),
    )?;
    Ok(after)
}

// ------------------------------------------------------------------ officers

/// An officer with the name of their unit and what the roster can tell of their eligibility.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OfficerView {
    #[serde(flatten)]
    pub officer: Officer,
    pub unit_name: String,
    /// True only when established staff in a serving status (`eligibility` says why not).
    pub may_hold_certificate: bool,
    pub eligibility: rules::Eligibility,
    /// 可申领 / 不可申领 / 待确认
    pub eligibility_label: &'static str,
}

impl OfficerView {
    pub fn new(officer: Officer, unit_name: String) -> Self {
        let eligibility = officer.eligibility();
        OfficerView {
            may_hold_certificate: eligibility == rules::Eligibility::Eligible,
            eligibility_label: eligibility.label(),
            eligibility,
            officer,
            unit_name,
        }
    }
}

/// One officer the caller may see (a record out of scope answers as a missing one does).
pub fn officer(conn: &mut DbConn, grant: &Grant, id: i64) -> Result<(Officer, Unit)> {
    grant.require(Capability::ReadRoster)?;
    officer_in(conn, grant.scope(), id)
}

fn officer_in(conn: &mut DbConn, scope: &Scope, id: i64) -> Result<(Officer, Unit)> {
    let o = db::officer(conn, id)?.ok_or_else(|| Error::not_found("人员"))?;
    let u = unit(conn, o.unit_id)?;
    if !scope.covers_officer(&o, &u) {
        // the same answer as a missing record: no probing of who exists
        return Err(Error::not_found("人员"));
    }
    Ok((o, u))
}

/// The unit a caller may put people in. A unit that doesn't exist and one outside the caller's
/// scope get the same answer, so unit ids can't be probed.
fn writable_unit(conn: &mut DbConn, scope: &Scope, unit_id: i64) -> Result<Unit> {
    let u = db::unit(conn, unit_id)?
        .filter(|u| scope.covers_unit(u))
        .ok_or_else(|| Error::invalid("unit_id", "所选单位不存在或不在您的管理范围内"))?;
    if !u.active {
        return Err(Error::invalid("unit_id", format!("单位“{}”已停用", u.name)));
    }
    Ok(u)
}

/// The conflict for an ID number already in the roster. Only someone who may see that person
/// is told who it is; anyone else learns only that the number is taken.
fn id_taken(conn: &mut DbConn, scope: &Scope, existing: &Officer) -> Result<Error> {
    let visible = unit(conn, existing.unit_id).is_ok_and(|u| scope.covers_officer(existing, &u));
    Ok(if visible {
        Error::conflict(
            "id_number",
            format!(
                "身份证号 {} 已在名录库中（{}），请直接修改该人员",
                existing.id_number, existing.name
            ),
        )
    } else {
        Error::conflict(
            "id_number",
            "该身份证号已登记在您管理范围以外的单位，如需调入请联系司法局管理员",
        )
    })
}

/// A unique violation on the ID number that slipped past the check (a writer outside the
/// audited path): said without naming anyone.
fn id_number_unique() -> impl FnOnce(diesel::result::Error) -> Error {
    crate::error::on_unique(
        "officers",
        "id_number",
        "id_number",
        "该身份证号已在名录库中",
    )
}

pub fn create_officer(conn: &mut DbConn, grant: &Grant, input: &OfficerInput) -> Result<Officer> {
    grant.require(Capability::WriteRoster)?;
    let scope = grant.scope();
    let f = input.validate().map_err(Error::invalid_fields)?;
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let unit = writable_unit(conn, scope, f.unit_id)?;
        if let Some(existing) = db::officer_by_id_number(conn, &f.id_number)? {
            return Err(id_taken(conn, scope, &existing)?);
        }
        let now = crate::db::now();
        let id = db::insert_officer(conn, &f, now).map_err(id_number_unique())?;
        db::open_postings(conn, &[(id, unit.id, f.post.clone())], now)?;
        let o = db::officer(conn, id)?.ok_or_else(|| Error::not_found("人员"))?;
        rec.record(
            conn,
            Change::new(
                "officer.create",
                "officer",
                id,
                format!("新增人员“{}”（{}）", o.name, unit.name),
            )
            .after(&f),
        )?;
        Ok(o)
    })
}

/// Replaces an officer's record with `input`. A change of unit is a transfer: the posting
/// history keeps it.
pub fn update_officer(
    conn: &mut DbConn,
    grant: &Grant,
    id: i64,
    input: &OfficerInput,
) -> Result<Officer> {
    let input = input.clone();
    patch_officer_with(conn, grant, id, move |_| Ok(input))
}

/// Changes the fields present in `patch` (JSON names of `OfficerInput`), merged onto the
/// record as it is inside the write transaction, so concurrent edits don't lose each other.
pub fn patch_officer(
    conn: &mut DbConn,
    grant: &Grant,
    id: i64,
    patch: serde_json::Map<String, serde_json::Value>,
) -> Result<Officer> {
    patch_officer_with(conn, grant, id, move |current| {
        let mut merged = serde_json::to_value(OfficerInput::from_officer(current))
            .map_err(|e| Error::Internal(e.into()))?;
        for (k, v) in patch {
            if merged.get(&k).is_none() {
                return Err(Error::invalid(
                    &k,
                    format!("没有“{}”这个字段", k.chars().take(40).collect::<String>()),
                ));
            }
            merged[k] = v;
        }
        serde_json::from_value(merged).map_err(|e| Error::BadRequest(format!("字段类型有误：{e}")))
    })
}

fn patch_officer_with(
    conn: &mut DbConn,
    grant: &Grant,
    id: i64,
    input_of: impl FnOnce(&Officer) -> Result<OfficerInput>,
) -> Result<Officer> {
    grant.require(Capability::WriteRoster)?;
    let scope = grant.scope();
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let (before, _) = officer_in(conn, scope, id)?;
        let f = input_of(&before)?
            .validate()
            .map_err(Error::invalid_fields)?;
        apply_update(conn, rec, scope, &before, &f)?;
        db::officer(conn, id)?.ok_or_else(|| Error::not_found("人员"))
    })
}

/// Writes `f` over `before` inside the caller's transaction; returns whether anything changed.
fn apply_update(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    scope: &Scope,
    before: &Officer,
    f: &OfficerFields,
) -> Result<bool> {
    let old = OfficerFields::of(before);
    if old == *f {
        return Ok(false);
    }
    if f.id_number != old.id_number
        && let Some(other) = db::officer_by_id_number(conn, &f.id_number)?
    {
        return Err(id_taken(conn, scope, &other)?);
    }
    let now = crate::db::now();
    if f.unit_id != old.unit_id {
        let to = writable_unit(conn, scope, f.unit_id)?;
        let from = unit(conn, old.unit_id)?;
        db::move_posting(conn, before.id, to.id, &f.post, now)?;
        rec.record(
            conn,
            Change::new(
                "officer.transfer",
                "officer",
                before.id,
                format!("“{}”由“{}”调至“{}”", f.name, from.name, to.name),
            )
            .before(&serde_json::json!({"unit_id": from.id, "unit": from.name}))
            .after(&serde_json::json!({"unit_id": to.id, "unit": to.name})),
        )?;
    }
    db::update_officer(conn, before.id, f, now).map_err(id_number_unique())?;
    let changed = f.changed_fields(&old).join("、");
    rec.record(
        conn,
        Change::new(
            "officer.update",
            "officer",
            before.id,
            format!("修改人员“{}”：{changed}", f.name),
        )
        .before(&old)
        .after(f),
    )?;
    Ok(true)
}

/// Stores a JPEG or PNG photo for the card printer.
pub fn set_photo(
    conn: &mut DbConn,
    grant: &Grant,
    id: i64,
    bytes: &[u8],
    max_bytes: usize,
) -> Result<()> {
    grant.require(Capability::WriteRoster)?;
    if bytes.len() > max_bytes {
        return Err(Error::TooLarge(format!(
            "照片不能超过 {} KB",
            max_bytes / 1024
        )));
    }
    let content_type = match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Jpeg) => "image/jpeg",
        Ok(imagesize::ImageType::Png) => "image/png",
        _ => return Err(Error::invalid("photo", "照片只能是 JPEG 或 PNG 格式")),
    };
    let size = imagesize::blob_size(bytes)
        .map_err(|_| Error::invalid("photo", "照片文件已损坏，无法读取尺寸"))?;
    if size.width < 100 || size.height < 120 {
        return Err(Error::invalid(
            "photo",
            format!(
                "照片太小（{}×{} 像素），至少需要 100×120 像素才能清晰打印",
                size.width, size.height
            ),
        ));
    }
    if size.width > 6000 || size.height > 6000 {
        return Err(Error::invalid("photo", "照片尺寸过大（超过 6000 像素）"));
    }
    // decoded in full now, as printing will: a damaged photo is refused here, not at the card.
    // A JPEG cut short still decodes (the rest grey), so its end is checked too.
    if content_type == "image/jpeg" && !crate::pdf::jpeg_is_complete(bytes) {
        return Err(Error::invalid(
            "photo",
            "照片文件不完整（可能传输中断）：请重新上传完整的照片",
        ));
    }
    image::load_from_memory(bytes).map_err(|e| {
        Error::invalid(
            "photo",
            format!("照片文件已损坏，无法解码（{e}）：请重新拍摄或导出后上传"),
        )
    })?;
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let (o, _) = officer_in(conn, grant.scope(), id)?;
        db::save_photo(
            conn,
            id,
            content_type,
            (size.width as i32, size.height as i32),
            bytes,
            crate::db::now(),
        )?;
        rec.record(
            conn,
            Change::new(
                "officer.photo",
                "officer",
                id,
                format!("上传“{}”的照片（{}×{}）", o.name, size.width, size.height),
            ),
        )?;
        Ok(())
    })
}

pub fn photo(conn: &mut DbConn, grant: &Grant, id: i64) -> Result<(String, Vec<u8>)> {
    officer(conn, grant, id)?;
    db::photo(conn, id)?.ok_or_else(|| Error::not_found("照片"))
}

/// One change in an officer's history as the caller may see it: what changed and when. Who
/// did it and from where only for those who may read the audit log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    pub at: chrono::NaiveDateTime,
    pub action: String,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
}

/// Postings with their unit names, and the changes to the officer.
pub type History = (Vec<(Posting, String)>, Vec<HistoryEntry>);

/// One officer's postings (newest first) and the changes to them (newest first).
pub fn history(conn: &mut DbConn, grant: &Grant, id: i64) -> Result<History> {
    officer(conn, grant, id)?;
    let postings = db::postings(conn, id)?;
    let filter = audit::db::Filter {
        entity_type: Some("officer".into()),
        entity_id: Some(id.to_string()),
        ..Default::default()
    };
    let full = grant.allows(Capability::ReadAudit);
    let changes = audit::db::list(conn, &filter, 200)?
        .into_iter()
        .map(|e| HistoryEntry {
            at: e.at,
            action: e.action,
            summary: e.summary,
            actor: full.then_some(e.actor),
            ip: full.then_some(e.ip),
            before: full
                .then(|| e.before_json.and_then(|j| serde_json::from_str(&j).ok()))
                .flatten(),
            after: full
                .then(|| e.after_json.and_then(|j| serde_json::from_str(&j).ok()))
                .flatten(),
        })
        .collect();
    Ok((postings, changes))
}

/// A page of the roster.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub pages: i64,
    pub items: Vec<OfficerView>,
}

/// The largest page number and page size a search accepts.
pub const MAX_PAGE: i64 = 100_000;
pub const MAX_PER_PAGE: i64 = 200;

pub fn resolve_search(
    conn: &mut DbConn,
    grant: &Grant,
    s: &db::Search,
) -> Result<db::SearchFilter> {
    grant.require(Capability::ReadRoster)?;
    let scope = grant.scope();
    let q = rules::clean_text(&rules::to_half_width(&s.q));
    let by_id = q.chars().next().is_some_and(|c| c.is_ascii_digit());
    let mut f = db::SearchFilter {
        name_range: None,
        id_prefix: None,
        unit_path: None,
        scope_path: None,
        only_unit: None,
        officer_id: None,
        category: Some(s.category.trim().to_string()).filter(|c| !c.is_empty()),
        status: Some(s.status.trim().to_string()).filter(|c| !c.is_empty()),
        employment_type: Some(s.employment_type.trim().to_string()).filter(|c| !c.is_empty()),
        unclassified: s.unclassified,
    };
    if by_id {
        f.id_prefix = range(&q.to_ascii_uppercase().replace(' ', ""));
    } else if !q.is_empty() {
        f.name_range = range(&rules::normalize_name(&q).unwrap_or(q));
    }
    if let Some(unit_id) = s.unit_id {
        let u = visible_unit(conn, grant, unit_id)?;
        if s.only_unit {
            f.only_unit = Some(u.id);
        } else {
            f.unit_path = range(&u.path);
        }
    }
    match scope {
        Scope::All => {}
        Scope::Subtree(path) => f.scope_path = range(path),
        Scope::Officer(id) => f.officer_id = Some(*id),
        Scope::Nothing => f.officer_id = Some(-1),
    }
    Ok(f)
}

pub fn search(conn: &mut DbConn, grant: &Grant, s: &db::Search) -> Result<Page> {
    let per_page = s.per_page.unwrap_or(50);
    let page = s.page.unwrap_or(1);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(Error::invalid(
            "per_page",
            format!("每页条数应为 1 至 {MAX_PER_PAGE}"),
        ));
    }
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(Error::invalid("page", format!("页码应为 1 至 {MAX_PAGE}")));
    }
    let f = resolve_search(conn, grant, s)?;
    let total = db::count(conn, &f)?;
    let rows = db::page(
        conn,
        &f,
        &s.sort,
        s.dir == "desc",
        (page - 1) * per_page,
        per_page,
    )?;
    Ok(Page {
        total,
        page,
        per_page,
        pages: (total + per_page - 1) / per_page,
        items: rows
            .into_iter()
            .map(|(o, u)| OfficerView::new(o, u))
            .collect(),
    })
}
