//! The question bank's pages: browse and filter, a question with its history, add and edit
//! (each save a new version), retire, import and export, blueprint analysis, and practice.

use super::roster::local_time;
use super::{Ctx, Errors, PageResult, read_multipart, redirect, render, render_form};
use crate::auth::Capability;
use crate::bank::blueprint::{Blueprint, Feasibility, SectionSpec};
use crate::bank::practice::{self, PracticeQuestion, PracticeResult};
use crate::bank::rules::{Draft, OPTION_LETTERS, Part, QuestionKind, QuestionStatus};
use crate::bank::{self, ImportReport, Query, QuestionDetail, QuestionPage, laws::Laws};
use crate::error::Error;
use crate::web::{AppState, PageForm, PageUser};
use actix_web::web;
use askama::Template;
use serde::Deserialize;
use std::collections::HashMap;

// ------------------------------------------------------------------ browse

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    law: String,
    #[serde(default)]
    part: String,
    #[serde(default)]
    category: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    difficulty: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<i64>,
}

impl ListParams {
    fn query(&self) -> Result<Query, Error> {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(Query {
            law: opt(&self.law),
            part: opt(&self.part),
            category: opt(&self.category),
            kind: opt(&self.kind),
            difficulty: match self.difficulty.trim() {
                "" => None,
                d => Some(
                    d.parse()
                        .map_err(|_| Error::BadRequest("难度应为 1 至 5".into()))?,
                ),
            },
            status: opt(&self.status),
            q: opt(&self.q),
        })
    }

    fn query_string(&self, page: i64) -> String {
        let mut parts = vec![];
        for (k, v) in [
            ("law", &self.law),
            ("part", &self.part),
            ("category", &self.category),
            ("type", &self.kind),
            ("difficulty", &self.difficulty),
            ("status", &self.status),
            ("q", &self.q),
        ] {
            if !v.trim().is_empty() {
                parts.push(format!("{k}={}", urlencoding::encode(v.trim())));
            }
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        parts.join("&")
    }
}

#[derive(Template)]
#[template(path = "bank.html")]
struct ListPage {
    ctx: Ctx,
    can_manage: bool,
    params: ListParams,
    page: QuestionPage,
    laws: Vec<String>,
    categories: Vec<String>,
    summary: bank::Summary,
    query: String,
    prev: Option<String>,
    next: Option<String>,
}

impl ListPage {
    fn brief(&self, s: &str) -> String {
        let n = s.chars().count();
        if n > 60 {
            format!("{}…", s.chars().take(60).collect::<String>())
        } else {
            s.to_string()
        }
    }
}

pub async fn list(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    params: web::Query<ListParams>,
) -> PageResult {
    let params = params.into_inner();
    let query = params.query()?;
    let grant = p.grant();
    let page_no = params.page.unwrap_or(1);
    let (page, (laws, categories), summary) = state
        .db(move |c| {
            Ok((
                bank::list(c, &grant, &query, page_no, 50)?,
                bank::filter_choices(c, &grant)?,
                bank::summary(c, &grant)?,
            ))
        })
        .await?;
    let prev = (page.page > 1).then(|| params.query_string(page.page - 1));
    let next = (page.page < page.pages).then(|| params.query_string(page.page + 1));
    render(&ListPage {
        ctx: Ctx::new(&p, "bank"),
        can_manage: p.grant().allows(Capability::ManageBank),
        query: params.query_string(1),
        params,
        page,
        laws,
        categories,
        summary,
        prev,
        next,
    })
}

// ------------------------------------------------------------------ one question

#[derive(Template)]
#[template(path = "question.html")]
struct DetailPage {
    ctx: Ctx,
    can_manage: bool,
    d: QuestionDetail,
    article_text: String,
    errors: Errors,
}

impl DetailPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        local_time(t)
    }
    fn letter(&self, i: &usize) -> char {
        OPTION_LETTERS.get(*i).copied().unwrap_or('?')
    }
    fn retired(&self) -> bool {
        self.d.question.status == QuestionStatus::Retired.label()
    }
}

fn article_text(law: &str, article: &str) -> String {
    Laws::shipped()
        .get(law)
        .and_then(|l| l.article(article))
        .map(|t| format!("{article} {t}"))
        .unwrap_or_default()
}

pub async fn detail(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    code: web::Path<String>,
) -> PageResult {
    let grant = p.grant();
    let d = state.db(move |c| bank::get(c, &grant, &code)).await?;
    render(&DetailPage {
        ctx: Ctx::new(&p, "bank"),
        can_manage: p.grant().allows(Capability::ManageBank),
        article_text: article_text(&d.question.content.law, &d.question.content.article),
        d,
        errors: Errors::default(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct QuestionForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    part: String,
    #[serde(default)]
    category: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    stem: String,
    #[serde(default)]
    opt_a: String,
    #[serde(default)]
    opt_b: String,
    #[serde(default)]
    opt_c: String,
    #[serde(default)]
    opt_d: String,
    #[serde(default)]
    opt_e: String,
    #[serde(default)]
    opt_f: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    difficulty: String,
    #[serde(default)]
    law: String,
    #[serde(default)]
    article: String,
    /// One fragment per line.
    #[serde(default)]
    quote: String,
    #[serde(default)]
    explanation: String,
    #[serde(default)]
    note: String,
}

impl QuestionForm {
    fn draft(&self) -> Draft {
        Draft {
            part: self.part.clone(),
            category: self.category.clone(),
            kind: self.kind.clone(),
            stem: self.stem.clone(),
            options: [
                &self.opt_a,
                &self.opt_b,
                &self.opt_c,
                &self.opt_d,
                &self.opt_e,
                &self.opt_f,
            ]
            .iter()
            .map(|s| s.trim().to_string())
            .collect(),
            answer: self.answer.clone(),
            difficulty: self.difficulty.clone(),
            law: self.law.clone(),
            article: self.article.clone(),
            quote: self
                .quote
                .lines()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            explanation: self.explanation.clone(),
        }
    }

    fn of(code: &str, version: i32, c: &bank::ContentView) -> QuestionForm {
        let opt = |i: usize| c.options.get(i).cloned().unwrap_or_default();
        QuestionForm {
            code: code.into(),
            version,
            part: c.part.clone(),
            category: c.category.clone(),
            kind: c.kind.clone(),
            stem: c.stem.clone(),
            opt_a: opt(0),
            opt_b: opt(1),
            opt_c: opt(2),
            opt_d: opt(3),
            opt_e: opt(4),
            opt_f: opt(5),
            answer: c.answer.clone(),
            difficulty: c.difficulty.to_string(),
            law: c.law.clone(),
            article: c.article.clone(),
            quote: c.quote.join("\n"),
            explanation: c.explanation.clone(),
            note: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "question_form.html")]
struct FormPage {
    ctx: Ctx,
    /// The question being edited; None for a new one.
    editing: Option<String>,
    f: QuestionForm,
    errors: Errors,
    parts: Vec<&'static str>,
    kinds: Vec<&'static str>,
    laws: Vec<(String, String)>,
}

impl FormPage {
    fn new(ctx: Ctx, editing: Option<String>, f: QuestionForm, errors: Errors) -> FormPage {
        FormPage {
            ctx,
            editing,
            f,
            errors,
            parts: Part::labels(),
            kinds: QuestionKind::labels(),
            laws: Laws::shipped()
                .all()
                .map(|l| {
                    (
                        l.key.clone(),
                        format!("{}（{}）", l.title, l.version_short()),
                    )
                })
                .collect(),
        }
    }
}

fn invalid_fields(e: Error) -> Result<Errors, Error> {
    match e {
        Error::Invalid { fields, .. } | Error::Conflict { fields, .. } => Ok(Errors(fields)),
        other => Err(other),
    }
}

pub async fn new_form(PageUser(p): PageUser) -> PageResult {
    p.require(Capability::ManageBank)?;
    let f = QuestionForm {
        part: Part::Public.label().into(),
        category: "通用".into(),
        kind: QuestionKind::Single.label().into(),
        difficulty: "3".into(),
        ..Default::default()
    };
    render(&FormPage::new(
        Ctx::new(&p, "bank"),
        None,
        f,
        Errors::default(),
    ))
}

pub async fn create(
    state: web::Data<AppState>,
    PageForm(p, f): PageForm<QuestionForm>,
) -> PageResult {
    let grant = p.grant();
    let draft = f.draft();
    let code = f.code.clone();
    let saved = state
        .db(move |c| {
            bank::create(
                c,
                &grant,
                Some(code.as_str()).filter(|s| !s.trim().is_empty()),
                &draft,
            )
        })
        .await;
    match saved {
        Ok(q) => Ok(redirect(&format!(
            "/bank/questions/{}",
            urlencoding::encode(&q.code)
        ))),
        Err(e) => {
            let errors = invalid_fields(e)?;
            render_form(&FormPage::new(Ctx::new(&p, "bank"), None, f, errors), true)
        }
    }
}

pub async fn edit_form(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    code: web::Path<String>,
) -> PageResult {
    p.require(Capability::ManageBank)?;
    let grant = p.grant();
    let d = state.db(move |c| bank::get(c, &grant, &code)).await?;
    let f = QuestionForm::of(&d.question.code, d.question.version, &d.question.content);
    render(&FormPage::new(
        Ctx::new(&p, "bank"),
        Some(d.question.code.clone()),
        f,
        Errors::default(),
    ))
}

pub async fn update(
    state: web::Data<AppState>,
    code: web::Path<String>,
    PageForm(p, f): PageForm<QuestionForm>,
) -> PageResult {
    let grant = p.grant();
    let draft = f.draft();
    let (code2, version, note) = (code.clone(), f.version, f.note.clone());
    let saved = state
        .db(move |c| bank::edit(c, &grant, &code2, version, &draft, &note))
        .await;
    match saved {
        Ok(q) => Ok(redirect(&format!(
            "/bank/questions/{}",
            urlencoding::encode(&q.code)
        ))),
        Err(e) => {
            let errors = invalid_fields(e)?;
            render_form(
                &FormPage::new(Ctx::new(&p, "bank"), Some(code.into_inner()), f, errors),
                true,
            )
        }
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    #[serde(default)]
    reason: String,
}

pub async fn set_status(
    state: web::Data<AppState>,
    code: web::Path<String>,
    PageForm(p, f): PageForm<StatusForm>,
) -> PageResult {
    let grant = p.grant();
    let status = QuestionStatus::parse(&f.status)
        .ok_or_else(|| Error::BadRequest("状态应为在用或停用".into()))?;
    let code = code.into_inner();
    let c2 = code.clone();
    let done = state
        .db(move |c| bank::set_status(c, &grant, &c2, status, &f.reason))
        .await;
    match done {
        Ok(q) => Ok(redirect(&format!(
            "/bank/questions/{}",
            urlencoding::encode(&q.code)
        ))),
        Err(e) => {
            let errors = invalid_fields(e)?;
            let grant = p.grant();
            let d = state.db(move |c| bank::get(c, &grant, &code)).await?;
            render_form(
                &DetailPage {
                    ctx: Ctx::new(&p, "bank"),
                    can_manage: true,
                    article_text: article_text(
                        &d.question.content.law,
                        &d.question.content.article,
                    ),
                    d,
                    errors,
                },
                true,
            )
        }
    }
}

// ------------------------------------------------------------------ import and export

#[derive(Template)]
#[template(path = "bank_import.html")]
struct ImportPage {
    ctx: Ctx,
    parts: Vec<&'static str>,
    report: Option<ImportReport>,
    filename: String,
}

pub async fn import_form(PageUser(p): PageUser) -> PageResult {
    p.require(Capability::ManageBank)?;
    render(&ImportPage {
        ctx: Ctx::new(&p, "bank"),
        parts: Part::labels(),
        report: None,
        filename: String::new(),
    })
}

pub async fn import(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    mp: actix_multipart::Multipart,
) -> PageResult {
    let form = read_multipart(mp, state.config.max_upload_bytes).await?;
    p.check_csrf(form.fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    p.require(Capability::ManageBank)?;
    let (filename, bytes) = form.file.filter(|(_, b)| !b.is_empty()).ok_or_else(|| {
        Error::invalid(
            "file",
            "请选择要导入的题库文件（.xlsx、.xls、.csv 或 .toml）",
        )
    })?;
    let field = |k: &str| form.fields.get(k).cloned().unwrap_or_default();
    let defaults = crate::web::api::bank_defaults(&field("part"), &field("category"))?;
    let dry_run = field("mode") != "apply";
    let grant = p.grant();
    let name = filename.clone();
    let report = state
        .db(move |c| bank::import_file(c, &grant, &name, &bytes, &defaults, dry_run))
        .await?;
    let failed = report.error_count > 0;
    render_form(
        &ImportPage {
            ctx: Ctx::new(&p, "bank"),
            parts: Part::labels(),
            report: Some(report),
            filename,
        },
        failed,
    )
}

async fn export_rows(
    state: &AppState,
    p: &crate::auth::Principal,
    params: ListParams,
) -> Result<Vec<(String, QuestionStatus, crate::bank::rules::Content)>, Error> {
    let grant = p.grant();
    let query = params.query()?;
    state
        .db(move |c| bank::export_rows(c, &grant, &query))
        .await
}

pub async fn export_xlsx(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    params: web::Query<ListParams>,
) -> PageResult {
    let rows = export_rows(&state, &p, params.into_inner()).await?;
    let bytes = bank::sheet::write(&rows, Laws::shipped())
        .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?;
    Ok(crate::web::api::xlsx_response("题库.xlsx", bytes))
}

pub async fn template(PageUser(p): PageUser) -> PageResult {
    p.require(Capability::ReadBank)?;
    let bytes = bank::sheet::template(Laws::shipped())
        .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?;
    Ok(crate::web::api::xlsx_response("题库导入模板.xlsx", bytes))
}

pub async fn export_toml(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    params: web::Query<ListParams>,
) -> PageResult {
    let rows = export_rows(&state, &p, params.into_inner()).await?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type("application/toml; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"questions.toml\"; filename*=UTF-8''{}",
                urlencoding::encode("题库.toml")
            ),
        ))
        .body(bank::file::write(&rows)))
}

// ------------------------------------------------------------------ blueprints

pub const BLUEPRINT_ROWS: usize = 8;

pub struct SectionRow {
    pub part: String,
    pub category: String,
    pub kind: String,
    pub count: String,
    pub points: String,
}

#[derive(Template)]
#[template(path = "blueprint.html")]
struct BlueprintPage {
    ctx: Ctx,
    rows: Vec<SectionRow>,
    mix: Vec<String>,
    use_mix: bool,
    parts: Vec<&'static str>,
    kinds: Vec<&'static str>,
    categories: Vec<String>,
    result: Option<Feasibility>,
    problems: Vec<String>,
}

impl BlueprintPage {
    fn fixed(&self, v: &f64) -> String {
        format!("{v:.1}")
    }
}

/// The blueprint as the page's form sends it (rows 1–8, a mix of five percentages); a first
/// visit gets a typical 100-point public-law paper.
pub async fn blueprint(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    q: web::Query<HashMap<String, String>>,
) -> PageResult {
    p.require(Capability::ReadBank)?;
    let q = q.into_inner();
    let get = |k: String| q.get(&k).map(|s| s.trim().to_string()).unwrap_or_default();
    let fresh = q.is_empty();
    let defaults = [
        ("单选", "40", "1"),
        ("多选", "20", "2"),
        ("判断", "20", "1"),
    ];
    let rows: Vec<SectionRow> = (1..=BLUEPRINT_ROWS)
        .map(|i| {
            if fresh {
                let d = defaults.get(i - 1);
                SectionRow {
                    part: if d.is_some() {
                        "公共法律知识".into()
                    } else {
                        String::new()
                    },
                    category: String::new(),
                    kind: d.map(|d| d.0.into()).unwrap_or_default(),
                    count: d.map(|d| d.1.into()).unwrap_or_default(),
                    points: d.map(|d| d.2.into()).unwrap_or_default(),
                }
            } else {
                SectionRow {
                    part: get(format!("part{i}")),
                    category: get(format!("category{i}")),
                    kind: get(format!("type{i}")),
                    count: get(format!("count{i}")),
                    points: get(format!("points{i}")),
                }
            }
        })
        .collect();
    let mix: Vec<String> = (1..=5)
        .map(|d| {
            if fresh {
                ["0", "40", "45", "15", "0"][d - 1].to_string()
            } else {
                get(format!("mix{d}"))
            }
        })
        .collect();
    let use_mix = fresh || q.get("use_mix").is_some_and(|v| v == "1");
    let mut problems = Vec::new();
    let mut sections = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if r.part.is_empty() && r.kind.is_empty() && r.count.is_empty() {
            continue;
        }
        let count = r.count.parse::<u32>();
        let points = r.points.parse::<f64>();
        match (count, points) {
            (Ok(count), Ok(points)) => sections.push(SectionSpec {
                part: r.part.clone(),
                category: Some(r.category.clone()).filter(|c| !c.is_empty()),
                kind: r.kind.clone(),
                count,
                points,
                partial_credit: None,
            }),
            _ => problems.push(format!("第 {} 行：题量和每题分值须为数字", i + 1)),
        }
    }
    let difficulty_mix = if use_mix {
        let nums: Vec<u32> = mix.iter().map(|m| m.parse().unwrap_or(0)).collect();
        Some(nums)
    } else {
        None
    };
    let grant = p.grant();
    let (result, categories) = if problems.is_empty() {
        let b = Blueprint {
            sections,
            difficulty_mix,
        };
        let out = state
            .db(move |c| {
                let f = bank::feasibility(c, &grant, &b);
                Ok((f, bank::filter_choices(c, &grant)?.1))
            })
            .await?;
        match out {
            (Ok(f), cats) => (Some(f), cats),
            (Err(Error::Invalid { fields, .. }), cats) => {
                problems.extend(fields.into_values());
                (None, cats)
            }
            (Err(e), _) => return Err(e.into()),
        }
    } else {
        let cats = state
            .db(move |c| Ok(bank::filter_choices(c, &grant)?.1))
            .await?;
        (None, cats)
    };
    render(&BlueprintPage {
        ctx: Ctx::new(&p, "bank"),
        rows,
        mix,
        use_mix,
        parts: Part::labels(),
        kinds: QuestionKind::labels(),
        categories,
        result,
        problems,
    })
}

// ------------------------------------------------------------------ practice

#[derive(Debug, Default, Deserialize)]
pub struct PracticeParams {
    #[serde(default)]
    part: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    count: Option<usize>,
}

#[derive(Template)]
#[template(path = "practice_start.html")]
struct PracticeStart {
    ctx: Ctx,
    categories: Vec<String>,
}

pub async fn practice_start(state: web::Data<AppState>, PageUser(p): PageUser) -> PageResult {
    p.require(Capability::Practice)?;
    let categories = state
        .db(|c| {
            let mut cats = bank::db::categories(c)?;
            cats.retain(|c| c != crate::bank::rules::GENERAL_CATEGORY);
            Ok(cats)
        })
        .await?;
    render(&PracticeStart {
        ctx: Ctx::new(&p, "practice"),
        categories,
    })
}

pub struct Answered {
    pub q: PracticeQuestion,
    pub given: Vec<String>,
    pub result: Option<PracticeResult>,
}

impl Answered {
    pub fn letter(&self, i: &usize) -> String {
        if self.q.kind == QuestionKind::Judge.label() {
            return self.q.options.get(*i).cloned().unwrap_or_default();
        }
        OPTION_LETTERS
            .get(*i)
            .map(|c| c.to_string())
            .unwrap_or_default()
    }
    pub fn chosen(&self, i: &usize) -> bool {
        self.given.contains(&self.letter(i))
    }
}

#[derive(Template)]
#[template(path = "practice_paper.html")]
struct PracticePaperPage {
    ctx: Ctx,
    items: Vec<Answered>,
    ids: String,
    graded: bool,
    right: usize,
}

impl PracticePaperPage {
    fn letter_of(&self, i: &usize) -> char {
        OPTION_LETTERS.get(*i).copied().unwrap_or('?')
    }
}

pub async fn practice_paper(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    params: web::Query<PracticeParams>,
) -> PageResult {
    let grant = p.grant();
    let params = params.into_inner();
    let items = state
        .db(move |c| {
            let part = match params.part.as_str() {
                "" | "混合" => None,
                other => Some(other.to_string()),
            };
            practice::paper(
                c,
                &grant,
                part.as_deref(),
                Some(params.category.as_str()),
                params.count.unwrap_or(20),
            )
        })
        .await?;
    let ids = items
        .iter()
        .map(|q| q.version_id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    render(&PracticePaperPage {
        ctx: Ctx::new(&p, "practice"),
        items: items
            .into_iter()
            .map(|q| Answered {
                q,
                given: vec![],
                result: None,
            })
            .collect(),
        ids,
        graded: false,
        right: 0,
    })
}

/// The whole paper handed in (the page works without JavaScript): every answer checked.
pub async fn practice_submit(
    state: web::Data<AppState>,
    PageForm(p, fields): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let grant = p.grant();
    let ids: Vec<i64> = fields
        .iter()
        .find(|(k, _)| k == "ids")
        .map(|(_, v)| {
            v.split(',')
                .filter_map(|s| s.trim().parse().ok())
                .take(practice::MAX_COUNT)
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(Error::BadRequest("没有题目".into()).into());
    }
    let mut given: HashMap<i64, Vec<String>> = HashMap::new();
    for (k, v) in &fields {
        if let Some(id) = k.strip_prefix("a_").and_then(|s| s.parse::<i64>().ok()) {
            given.entry(id).or_default().push(v.clone());
        }
    }
    let items = state
        .db(move |c| {
            let mut out = Vec::new();
            for id in ids {
                let q = practice::question(c, &grant, id)?;
                let g = given.remove(&id).unwrap_or_default();
                let result = if g.is_empty() {
                    None
                } else {
                    Some(practice::check(c, &grant, id, &g.concat())?)
                };
                out.push(Answered {
                    q,
                    given: g,
                    result,
                });
            }
            Ok(out)
        })
        .await?;
    let right = items
        .iter()
        .filter(|a| a.result.as_ref().is_some_and(|r| r.correct))
        .count();
    let ids = items
        .iter()
        .map(|a| a.q.version_id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    render(&PracticePaperPage {
        ctx: Ctx::new(&p, "practice"),
        items,
        ids,
        graded: true,
        right,
    })
}
