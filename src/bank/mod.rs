//! The question bank (题库). A question is a stable code and a status; every edit adds a new
//! immutable version, so a paper drawn from version 3 keeps version 3 whatever happens later.
//! These functions are the only doors other modules use; each checks the caller's grant, and
//! every change is recorded in the audit trail in the same transaction.

pub mod blueprint;
pub mod db;
pub mod demo;
pub mod file;
pub mod laws;
pub mod practice;
pub mod rules;
pub mod sheet;
pub mod shipped;

use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::error::{Error, FieldErrors, Result};
use blueprint::{Blueprint, Feasibility, Pool};
use file::Incoming;
use laws::Laws;
use rules::{Content, Draft, Part, QuestionKind, QuestionStatus, Strictness};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// Where a question first came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Shipped,
    Imported,
    Entered,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Shipped => "随附题库",
            Source::Imported => "导入",
            Source::Entered => "录入",
        }
    }
}

// ------------------------------------------------------------------ views

/// A question's content as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContentView {
    /// 公共法律知识 | 专业法律知识
    pub part: String,
    pub category: String,
    /// 单选 | 多选 | 判断
    #[serde(rename = "type")]
    pub kind: String,
    pub stem: String,
    pub options: Vec<String>,
    /// Letters in order (A, ACD) or 正确 / 错误.
    pub answer: String,
    pub difficulty: i32,
    pub law: String,
    pub article: String,
    /// 《中华人民共和国行政处罚法》第五十一条
    pub basis: String,
    /// The cited law's version (2021年1月22日修订), when zhifa ships its text.
    pub law_version: String,
    pub quote: Vec<String>,
    pub explanation: String,
}

impl ContentView {
    fn of(c: &Content) -> ContentView {
        let laws = Laws::shipped();
        ContentView {
            part: c.part.label().into(),
            category: c.category.clone(),
            kind: c.kind.label().into(),
            stem: c.stem.clone(),
            options: c.options.clone(),
            answer: c.answer.clone(),
            difficulty: c.difficulty,
            law: c.law.clone(),
            article: c.article.clone(),
            basis: c.basis(laws),
            law_version: laws
                .get(&c.law)
                .map(|l| l.version_short())
                .unwrap_or_default(),
            quote: c.quote.clone(),
            explanation: c.explanation.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionView {
    /// The stable id.
    pub code: String,
    /// 在用 | 停用
    pub status: String,
    /// The current version's number.
    pub version: i32,
    /// The current version's id: what a paper pins.
    pub version_id: i64,
    /// 随附题库 | 导入 | 录入
    pub source: String,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    pub updated_at: chrono::NaiveDateTime,
    #[serde(flatten)]
    pub content: ContentView,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionView {
    pub version: i32,
    pub version_id: i64,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    pub created_at: chrono::NaiveDateTime,
    pub created_by: String,
    /// Why the version was made (导入, the editor's note …).
    pub note: String,
    /// What changed from the version before (field names in Chinese); empty for the first.
    pub changed: Vec<String>,
    #[serde(flatten)]
    pub content: ContentView,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionDetail {
    #[serde(flatten)]
    pub question: QuestionView,
    /// Every version, newest first.
    pub versions: Vec<VersionView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionPage {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub pages: i64,
    pub items: Vec<QuestionView>,
}

/// The stored content of a version (written by `Content`, so it reads back).
pub fn content_of(v: &db::VersionRow) -> Content {
    Content {
        part: Part::parse(&v.part).unwrap_or(Part::Public),
        category: v.category.clone(),
        kind: QuestionKind::parse(&v.kind).unwrap_or(QuestionKind::Single),
        stem: v.stem.clone(),
        options: serde_json::from_str(&v.options).unwrap_or_default(),
        answer: v.answer.clone(),
        difficulty: v.difficulty,
        law: v.law.clone(),
        article: v.article.clone(),
        quote: serde_json::from_str(&v.quote).unwrap_or_default(),
        explanation: v.explanation.clone(),
    }
}

fn view(q: &db::QuestionRow, v: &db::VersionRow) -> QuestionView {
    QuestionView {
        code: q.code.clone(),
        status: q.status.clone(),
        version: q.version,
        version_id: v.id,
        source: q.source.clone(),
        updated_at: q.updated_at,
        content: ContentView::of(&content_of(v)),
    }
}

fn changed_fields(a: &Content, b: &Content) -> Vec<String> {
    let mut out = Vec::new();
    let mut diff = |cond: bool, name: &str| {
        if cond {
            out.push(name.to_string());
        }
    };
    diff(a.part != b.part, "科目");
    diff(a.category != b.category, "类别");
    diff(a.kind != b.kind, "题型");
    diff(a.stem != b.stem, "题干");
    diff(a.options != b.options, "选项");
    diff(a.answer != b.answer, "答案");
    diff(a.difficulty != b.difficulty, "难度");
    diff(a.law != b.law || a.article != b.article, "法律依据");
    diff(a.quote != b.quote, "依据原文");
    diff(a.explanation != b.explanation, "解析");
    out
}

// ------------------------------------------------------------------ reading

/// Filters as the browse page and the API take them (labels or aliases; empty means any).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Query {
    pub law: Option<String>,
    pub part: Option<String>,
    pub category: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub difficulty: Option<i32>,
    pub status: Option<String>,
    pub q: Option<String>,
}

impl Query {
    fn filter(&self) -> Result<db::Filter> {
        fn some(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let vocab = |v: Option<&str>, parse: fn(&str) -> Option<&'static str>, what: &str| {
            v.map(|s| {
                parse(s)
                    .map(str::to_string)
                    .ok_or_else(|| Error::BadRequest(format!("{what}“{s}”无法识别")))
            })
            .transpose()
        };
        if let Some(d) = self.difficulty
            && !(1..=5).contains(&d)
        {
            return Err(Error::BadRequest("难度应为 1 至 5".into()));
        }
        Ok(db::Filter {
            law: some(&self.law).map(laws::law_key),
            part: vocab(
                some(&self.part),
                |s| Part::parse(s).map(Part::label),
                "科目",
            )?,
            category: some(&self.category).map(str::to_string),
            kind: vocab(
                some(&self.kind),
                |s| QuestionKind::parse(s).map(QuestionKind::label),
                "题型",
            )?,
            difficulty: self.difficulty,
            status: vocab(
                some(&self.status),
                |s| QuestionStatus::parse(s).map(QuestionStatus::label),
                "状态",
            )?,
            text: some(&self.q).map(|s| s.chars().take(100).collect()),
        })
    }
}

pub const MAX_PER_PAGE: i64 = 200;

pub fn list(
    conn: &mut DbConn,
    grant: &Grant,
    query: &Query,
    page: i64,
    per_page: i64,
) -> Result<QuestionPage> {
    grant.require(Capability::ReadBank)?;
    let page = page.clamp(1, 100_000);
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    let (rows, total) = db::search(conn, &query.filter()?, (page - 1) * per_page, per_page)?;
    Ok(QuestionPage {
        total,
        page,
        per_page,
        pages: (total + per_page - 1) / per_page,
        items: rows.iter().map(|(q, v)| view(q, v)).collect(),
    })
}

pub fn get(conn: &mut DbConn, grant: &Grant, code: &str) -> Result<QuestionDetail> {
    grant.require(Capability::ReadBank)?;
    let (q, v) = db::by_code(conn, code)?.ok_or_else(|| Error::not_found("试题"))?;
    let versions = db::versions_of(conn, q.id)?;
    let contents: Vec<Content> = versions.iter().map(content_of).collect();
    Ok(QuestionDetail {
        question: view(&q, &v),
        versions: versions
            .iter()
            .enumerate()
            .map(|(i, row)| VersionView {
                version: row.version,
                version_id: row.id,
                created_at: row.created_at,
                created_by: row.created_by.clone(),
                note: row.note.clone(),
                // newest first: the version before is the next one
                changed: contents
                    .get(i + 1)
                    .map(|prev| changed_fields(prev, &contents[i]))
                    .unwrap_or_default(),
                content: ContentView::of(&contents[i]),
            })
            .collect(),
    })
}

/// The values the filters offer: laws and categories present in the bank.
pub fn filter_choices(conn: &mut DbConn, grant: &Grant) -> Result<(Vec<String>, Vec<String>)> {
    grant.require(Capability::ReadBank)?;
    Ok((db::laws(conn)?, db::categories(conn)?))
}

/// Counts by law and type (current versions), for the overview and the import note.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub active: i64,
    pub retired: i64,
    pub rows: Vec<SummaryRow>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryRow {
    pub part: String,
    pub law: String,
    pub single: i64,
    pub multiple: i64,
    pub judge: i64,
    pub total: i64,
}

pub fn summary(conn: &mut DbConn, grant: &Grant) -> Result<Summary> {
    grant.require(Capability::ReadBank)?;
    let mut s = Summary {
        active: 0,
        retired: 0,
        rows: Vec::new(),
    };
    let mut by: std::collections::BTreeMap<(String, String), SummaryRow> = Default::default();
    for (status, part, law, kind, n) in db::counts_by(conn)? {
        if status == QuestionStatus::Retired.label() {
            s.retired += n;
            continue;
        }
        s.active += n;
        let row = by.entry((part.clone(), law.clone())).or_insert(SummaryRow {
            part,
            law: if law.is_empty() {
                "（未注明）".into()
            } else {
                law
            },
            single: 0,
            multiple: 0,
            judge: 0,
            total: 0,
        });
        match QuestionKind::parse(&kind) {
            Some(QuestionKind::Single) => row.single += n,
            Some(QuestionKind::Multiple) => row.multiple += n,
            _ => row.judge += n,
        }
        row.total += n;
    }
    s.rows = by.into_values().collect();
    Ok(s)
}

// ------------------------------------------------------------------ writing one question

fn checked(draft: &Draft) -> Result<Content> {
    Content::parse(draft, Laws::shipped(), Strictness::Bureau).map_err(|p| {
        let mut fields = FieldErrors::new();
        for (f, m) in p {
            fields
                .entry(f.to_string())
                .and_modify(|e: &mut String| {
                    e.push('；');
                    e.push_str(&m)
                })
                .or_insert(m);
        }
        Error::invalid_fields(fields)
    })
}

fn new_version(
    question_id: i64,
    version: i32,
    c: &Content,
    at: chrono::NaiveDateTime,
    by: &str,
    note: &str,
) -> db::NewVersion {
    db::NewVersion {
        question_id,
        version,
        part: c.part.label().into(),
        category: c.category.clone(),
        kind: c.kind.label().into(),
        stem: c.stem.clone(),
        options: serde_json::to_string(&c.options).unwrap_or_else(|_| "[]".into()),
        answer: c.answer.clone(),
        difficulty: c.difficulty,
        law: c.law.clone(),
        article: c.article.clone(),
        quote: serde_json::to_string(&c.quote).unwrap_or_else(|_| "[]".into()),
        explanation: c.explanation.clone(),
        content_hash: c.hash(),
        created_at: at,
        created_by: by.into(),
        note: note.into(),
    }
}

/// Adds one question (录入). Without a code, one is derived from the content.
pub fn create(
    conn: &mut DbConn,
    grant: &Grant,
    code: Option<&str>,
    draft: &Draft,
) -> Result<QuestionView> {
    grant.require(Capability::ManageBank)?;
    let content = checked(draft)?;
    let code = match code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) if file::valid_code(c) => c.to_string(),
        Some(_) => {
            return Err(Error::invalid(
                "code",
                "编号只能由字母、数字、“-”和“_”组成，最长 40 位",
            ));
        }
        None => content.derived_code(),
    };
    audit::transaction(conn, grant.actor(), |conn, rec| {
        if db::by_code(conn, &code)?.is_some() {
            return Err(Error::conflict("code", format!("编号 {code} 已被使用")));
        }
        let at = crate::db::now();
        let ids = db::insert_questions(
            conn,
            &[db::NewQuestion {
                code: code.clone(),
                status: QuestionStatus::Active.label().into(),
                version: 1,
                source: Source::Entered.label().into(),
                created_at: at,
                updated_at: at,
            }],
        )
        .map_err(crate::error::on_unique(
            "questions",
            "code",
            "code",
            "编号已被使用",
        ))?;
        let id = ids[&code];
        db::insert_versions(
            conn,
            &[new_version(id, 1, &content, at, &rec.actor().name, "录入")],
        )?;
        rec.record(
            conn,
            Change::new(
                "question.create",
                "question",
                &code,
                format!("录入试题 {code}"),
            )
            .after(&ContentView::of(&content)),
        )?;
        let (q, v) = db::by_code(conn, &code)?.ok_or_else(|| Error::not_found("试题"))?;
        Ok(view(&q, &v))
    })
}

/// Saves an edit as a new version. `expected_version` is the version the editor started from:
/// if someone saved in between, the edit is refused rather than silently overwriting theirs.
pub fn edit(
    conn: &mut DbConn,
    grant: &Grant,
    code: &str,
    expected_version: i32,
    draft: &Draft,
    note: &str,
) -> Result<QuestionView> {
    grant.require(Capability::ManageBank)?;
    let content = checked(draft)?;
    let note = note.trim();
    if note.chars().count() > 200 {
        return Err(Error::invalid("note", "修改说明不能超过 200 个字"));
    }
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let (q, v) = db::by_code(conn, code)?.ok_or_else(|| Error::not_found("试题"))?;
        if q.version != expected_version {
            return Err(Error::conflict(
                "version",
                format!(
                    "该题已被修改为第 {} 版（你编辑的是第 {expected_version} 版），请刷新后在最新版本上修改",
                    q.version
                ),
            ));
        }
        let before = content_of(&v);
        if before == content {
            return Ok(view(&q, &v));
        }
        let at = crate::db::now();
        let next = q.version + 1;
        let note = if note.is_empty() { "修改" } else { note };
        db::insert_versions(
            conn,
            &[new_version(
                q.id,
                next,
                &content,
                at,
                &rec.actor().name,
                note,
            )],
        )?;
        db::set_version(conn, q.id, next, at)?;
        rec.record(
            conn,
            Change::new(
                "question.update",
                "question",
                code,
                format!(
                    "修改试题 {code}（第 {next} 版：{}）",
                    changed_fields(&before, &content).join("、")
                ),
            )
            .before(&ContentView::of(&before))
            .after(&ContentView::of(&content)),
        )?;
        let (q, v) = db::by_code(conn, code)?.ok_or_else(|| Error::not_found("试题"))?;
        Ok(view(&q, &v))
    })
}

/// Retires a question (it is no longer drawn; papers that hold it keep it) or puts it back.
pub fn set_status(
    conn: &mut DbConn,
    grant: &Grant,
    code: &str,
    status: QuestionStatus,
    reason: &str,
) -> Result<QuestionView> {
    grant.require(Capability::ManageBank)?;
    let reason = reason.trim();
    if status == QuestionStatus::Retired && reason.is_empty() {
        return Err(Error::invalid(
            "reason",
            "请写明停用原因（如：法律修改后已不适用）",
        ));
    }
    if reason.chars().count() > 200 {
        return Err(Error::invalid("reason", "原因不能超过 200 个字"));
    }
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let (q, v) = db::by_code(conn, code)?.ok_or_else(|| Error::not_found("试题"))?;
        if q.status == status.label() {
            return Ok(view(&q, &v));
        }
        db::set_status(conn, q.id, status.label(), crate::db::now())?;
        let (action, verb) = match status {
            QuestionStatus::Retired => ("question.retire", "停用"),
            QuestionStatus::Active => ("question.restore", "恢复使用"),
        };
        let summary = if reason.is_empty() {
            format!("{verb}试题 {code}")
        } else {
            format!("{verb}试题 {code}：{reason}")
        };
        rec.record(conn, Change::new(action, "question", code, summary))?;
        let (q, v) = db::by_code(conn, code)?.ok_or_else(|| Error::not_found("试题"))?;
        Ok(view(&q, &v))
    })
}

// ------------------------------------------------------------------ import

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportProblem {
    /// 第12行, or 行政处罚法.toml 第3题（CF-003）
    pub location: String,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// Questions read.
    pub total: usize,
    pub created: usize,
    /// Questions whose content changed: each got a new version.
    pub updated: usize,
    pub unchanged: usize,
    /// Questions whose status (在用/停用) the file changed.
    pub status_changed: usize,
    /// Whether the bank was written (false on a preview or when anything was wrong).
    pub applied: bool,
    pub dry_run: bool,
    /// Every problem found (nothing is written while there are any), the first 500.
    pub errors: Vec<ImportProblem>,
    pub error_count: usize,
    /// Remarks that don't stop the import (columns not understood, duplicates skipped).
    pub notes: Vec<String>,
}

const MAX_REPORTED: usize = 500;
/// Questions one import takes.
pub const MAX_IMPORT: usize = 50_000;

struct Planned {
    code: String,
    content: Content,
    status: Option<QuestionStatus>,
}

/// Imports questions: all are checked first, and nothing is written while any is wrong.
/// A question whose code exists gets a new version only if its content changed; one without a
/// code gets a code derived from its content, so the same sheet imported twice adds nothing.
pub fn import(
    conn: &mut DbConn,
    grant: &Grant,
    incoming: Vec<Incoming>,
    source: Source,
    strict: Strictness,
    dry_run: bool,
    mut notes: Vec<String>,
) -> Result<ImportReport> {
    grant.require(Capability::ManageBank)?;
    let mut report = ImportReport {
        total: incoming.len(),
        dry_run,
        ..Default::default()
    };
    if incoming.len() > MAX_IMPORT {
        return Err(Error::TooLarge(format!(
            "一次最多导入 {MAX_IMPORT} 道题，这里有 {} 道，请拆分后分别导入",
            incoming.len()
        )));
    }
    let laws = Laws::shipped();
    let mut planned: Vec<Planned> = Vec::with_capacity(incoming.len());
    let mut seen: HashMap<String, String> = HashMap::new();
    let problem = |report: &mut ImportReport, location: &str, field: &str, message: String| {
        report.error_count += 1;
        if report.errors.len() < MAX_REPORTED {
            report.errors.push(ImportProblem {
                location: location.to_string(),
                field: field.to_string(),
                message,
            });
        }
    };
    for inc in incoming {
        if let Some(code) = &inc.code
            && !file::valid_code(code)
        {
            problem(
                &mut report,
                &inc.location,
                "code",
                format!("编号“{code}”只能由字母、数字、“-”和“_”组成，最长 40 位"),
            );
            continue;
        }
        let content = match Content::parse(&inc.draft, laws, strict) {
            Ok(c) => c,
            Err(ps) => {
                for (f, m) in ps {
                    problem(&mut report, &inc.location, field_label(f), m);
                }
                continue;
            }
        };
        let derived = inc.code.is_none();
        let code = inc.code.clone().unwrap_or_else(|| content.derived_code());
        if let Some(first) = seen.get(&code) {
            if derived {
                notes.push(format!("{}与{first}内容完全相同，只导入一次", inc.location));
            } else {
                problem(
                    &mut report,
                    &inc.location,
                    "编号",
                    format!("编号 {code} 与{first}重复"),
                );
            }
            continue;
        }
        seen.insert(code.clone(), inc.location.clone());
        planned.push(Planned {
            code,
            content,
            status: inc.status,
        });
    }
    report.notes = notes;
    if report.error_count > 0 {
        return Ok(report);
    }
    let codes: Vec<String> = planned.iter().map(|p| p.code.clone()).collect();
    if dry_run {
        let existing = db::existing(conn, &codes)?;
        count(&mut report, &planned, &existing);
        return Ok(report);
    }
    let applied = audit::transaction(conn, grant.actor(), |conn, rec| {
        let existing = db::existing(conn, &codes)?;
        let mut r = report.clone();
        count(&mut r, &planned, &existing);
        let at = crate::db::now();
        let by = rec.actor().name.clone();
        let fresh: Vec<&Planned> = planned
            .iter()
            .filter(|p| !existing.contains_key(&p.code))
            .collect();
        let ids = db::insert_questions(
            conn,
            &fresh
                .iter()
                .map(|p| db::NewQuestion {
                    code: p.code.clone(),
                    status: p.status.unwrap_or(QuestionStatus::Active).label().into(),
                    version: 1,
                    source: source.label().into(),
                    created_at: at,
                    updated_at: at,
                })
                .collect::<Vec<_>>(),
        )?;
        let mut versions = Vec::new();
        for p in &fresh {
            versions.push(new_version(
                ids[&p.code],
                1,
                &p.content,
                at,
                &by,
                source.label(),
            ));
            rec.record(
                conn,
                Change::new(
                    "question.create",
                    "question",
                    &p.code,
                    format!("{}试题 {}", source.label(), p.code),
                )
                .after(&serde_json::json!({ "version": 1, "content_hash": p.content.hash() })),
            )?;
        }
        for p in &planned {
            let Some(e) = existing.get(&p.code) else {
                continue;
            };
            let hash = p.content.hash();
            if hash != e.hash {
                let next = e.version + 1;
                versions.push(new_version(e.id, next, &p.content, at, &by, "导入更新"));
                db::set_version(conn, e.id, next, at)?;
                rec.record(
                    conn,
                    Change::new(
                        "question.update",
                        "question",
                        &p.code,
                        format!("导入更新试题 {}（第 {next} 版）", p.code),
                    )
                    .before(&serde_json::json!({ "version": e.version, "content_hash": e.hash }))
                    .after(&serde_json::json!({ "version": next, "content_hash": hash })),
                )?;
            }
            if let Some(s) = p.status
                && s.label() != e.status
            {
                db::set_status(conn, e.id, s.label(), at)?;
                let action = match s {
                    QuestionStatus::Retired => "question.retire",
                    QuestionStatus::Active => "question.restore",
                };
                rec.record(
                    conn,
                    Change::new(
                        action,
                        "question",
                        &p.code,
                        format!("导入时{}试题 {}", s.label(), p.code),
                    ),
                )?;
            }
        }
        db::insert_versions(conn, &versions)?;
        r.applied = true;
        Ok(r)
    })?;
    Ok(applied)
}

fn count(r: &mut ImportReport, planned: &[Planned], existing: &HashMap<String, db::Existing>) {
    for p in planned {
        match existing.get(&p.code) {
            None => r.created += 1,
            Some(e) => {
                if e.hash == p.content.hash() {
                    r.unchanged += 1;
                } else {
                    r.updated += 1;
                }
                if p.status.is_some_and(|s| s.label() != e.status) {
                    r.status_changed += 1;
                }
            }
        }
    }
}

/// Imports an uploaded file: the bank's TOML format (`.toml`) or a spreadsheet (XLSX, XLS, ODS,
/// CSV) in the layout bureaus use. `defaults` fill a sheet's missing 科目 and 类别 columns.
pub fn import_file(
    conn: &mut DbConn,
    grant: &Grant,
    filename: &str,
    bytes: &[u8],
    defaults: &sheet::Defaults,
    dry_run: bool,
) -> Result<ImportReport> {
    grant.require(Capability::ManageBank)?;
    let (incoming, notes) = if filename.to_lowercase().ends_with(".toml") {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Error::BadRequest("TOML 文件须为 UTF-8 编码".into()))?;
        (
            file::read(filename, text).map_err(Error::BadRequest)?,
            Vec::new(),
        )
    } else {
        sheet::read(filename, bytes, defaults).map_err(|e| Error::BadRequest(e.to_string()))?
    };
    if incoming.is_empty() {
        return Err(Error::BadRequest("文件中没有题目".into()));
    }
    import(
        conn,
        grant,
        incoming,
        Source::Imported,
        Strictness::Bureau,
        dry_run,
        notes,
    )
}

/// The Chinese name of a draft field, for import reports.
pub fn field_label(f: &str) -> &'static str {
    match f {
        "part" => "科目",
        "category" => "类别",
        "kind" => "题型",
        "stem" => "题干",
        "options" => "选项",
        "answer" => "答案",
        "difficulty" => "难度",
        "law" => "法律依据",
        "article" => "法律依据",
        "quote" => "依据原文",
        "explanation" => "解析",
        "code" => "编号",
        _ => "其他",
    }
}

/// Loads the shipped bank into a new installation (a database that never had a question).
/// Returns None when the bank already holds questions.
pub fn seed_if_new(conn: &mut DbConn) -> Result<Option<ImportReport>> {
    if db::count_questions(conn)? > 0 {
        return Ok(None);
    }
    let grant = Grant::system("首次启动载入随附题库");
    import(
        conn,
        &grant,
        shipped::incoming()?,
        Source::Shipped,
        Strictness::Proof,
        false,
        Vec::new(),
    )
    .map(Some)
}

// ------------------------------------------------------------------ export

pub fn export_rows(
    conn: &mut DbConn,
    grant: &Grant,
    query: &Query,
) -> Result<Vec<(String, QuestionStatus, Content)>> {
    grant.require(Capability::ReadBank)?;
    let rows = db::all_matching(conn, &query.filter()?)?;
    Ok(rows
        .iter()
        .map(|(q, v)| {
            (
                q.code.clone(),
                QuestionStatus::parse(&q.status).unwrap_or(QuestionStatus::Active),
                content_of(v),
            )
        })
        .collect())
}

// ------------------------------------------------------------------ blueprints

/// Whether the active bank can fill a blueprint (the exams module calls this when a batch is
/// scheduled; the blueprint page shows it while one is drafted).
pub fn feasibility(conn: &mut DbConn, grant: &Grant, b: &Blueprint) -> Result<Feasibility> {
    grant.require(Capability::ReadBank)?;
    let sections = blueprint::check(b).map_err(|errs| {
        let mut fields = FieldErrors::new();
        fields.insert("sections".into(), errs.join("；"));
        Error::invalid_fields(fields)
    })?;
    Ok(blueprint::feasibility(&sections, &active_pool(conn)?))
}

pub fn active_pool(conn: &mut DbConn) -> Result<Pool> {
    let mut pool = Pool::default();
    for (part, category, kind, difficulty, n) in db::active_pool(conn)? {
        if let (Some(p), Some(k)) = (Part::parse(&part), QuestionKind::parse(&kind)) {
            pool.add(p, &category, k, difficulty, n as u32);
        }
    }
    Ok(pool)
}
