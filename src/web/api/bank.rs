//! The question bank over JSON: browse, add, edit (a new version each time), retire, import and
//! export, blueprint feasibility, and practice.

use super::{ApiResult, AppState, created};
use crate::bank::{
    self, Query, blueprint::Blueprint, blueprint::Feasibility, practice, rules::Draft,
    rules::QuestionStatus, sheet::Defaults,
};
use crate::error::Error;
use crate::web::ApiUser;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A question as it is written: the content of a new version.
#[derive(Debug, Deserialize, ToSchema)]
pub struct QuestionInput {
    /// 公共法律知识 | 专业法律知识
    pub part: String,
    /// 通用 for the public part; the enforcement category (市场监管 …) for the professional part.
    #[serde(default)]
    pub category: String,
    /// 单选 | 多选 | 判断
    #[serde(rename = "type")]
    pub kind: String,
    pub stem: String,
    /// Option texts for A, B, … (2 to 6); omitted for 判断.
    #[serde(default)]
    pub options: Vec<String>,
    /// Letters (A, ACD) or 正确 / 错误.
    pub answer: String,
    /// 1 (easiest) to 5.
    pub difficulty: i32,
    /// The law's short or full name (行政处罚法); empty when none.
    #[serde(default)]
    pub law: String,
    /// 第五十一条 or 第51条.
    #[serde(default)]
    pub article: String,
    /// The article's words that decide the answer (checked against the text zhifa ships).
    #[serde(default)]
    pub quote: Vec<String>,
    #[serde(default)]
    pub explanation: String,
}

impl QuestionInput {
    fn draft(&self) -> Draft {
        Draft {
            part: self.part.clone(),
            category: self.category.clone(),
            kind: self.kind.clone(),
            stem: self.stem.clone(),
            options: self.options.clone(),
            answer: self.answer.clone(),
            difficulty: self.difficulty.to_string(),
            law: self.law.clone(),
            article: self.article.clone(),
            quote: self.quote.clone(),
            explanation: self.explanation.clone(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewQuestion {
    /// A stable id (letters, digits, - and _); omitted: derived from the content.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(flatten)]
    pub question: QuestionInput,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct QuestionEdit {
    /// The version the edit starts from; a newer one answers 409 instead of being overwritten.
    pub version: i32,
    /// Why (修改说明), kept with the version.
    #[serde(default)]
    pub note: String,
    #[serde(flatten)]
    pub question: QuestionInput,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusChange {
    /// 在用 | 停用
    pub status: String,
    /// Why; required to retire.
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// The law's short name (行政处罚法).
    law: Option<String>,
    /// 公共法律知识 | 专业法律知识
    part: Option<String>,
    category: Option<String>,
    /// 单选 | 多选 | 判断
    #[serde(rename = "type")]
    #[param(rename = "type")]
    kind: Option<String>,
    /// 1–5
    difficulty: Option<i32>,
    /// 在用 | 停用
    status: Option<String>,
    /// Words in the stem, the options or the code.
    q: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

impl ListQuery {
    fn query(&self) -> Query {
        Query {
            law: self.law.clone(),
            part: self.part.clone(),
            category: self.category.clone(),
            kind: self.kind.clone(),
            difficulty: self.difficulty,
            status: self.status.clone(),
            q: self.q.clone(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/questions",
    tag = "bank",
    summary = "浏览、筛选题库（当前版本）",
    params(ListQuery),
    responses(
        (status = 200, description = "成功", body = bank::QuestionPage),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<ListQuery>,
) -> ApiResult {
    let grant = p.grant();
    let page = state
        .db(move |c| {
            bank::list(
                c,
                &grant,
                &q.query(),
                q.page.unwrap_or(1),
                q.per_page.unwrap_or(50),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(
    post,
    path = "/api/v1/questions",
    tag = "bank",
    summary = "录入试题（管理员）",
    request_body = NewQuestion,
    responses(
        (status = 201, description = "已创建（第 1 版）", body = bank::QuestionView),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<NewQuestion>,
) -> ApiResult {
    let grant = p.grant();
    let q = state
        .db(move |c| bank::create(c, &grant, body.code.as_deref(), &body.question.draft()))
        .await?;
    Ok(created(&q))
}

#[utoipa::path(
    get,
    path = "/api/v1/questions/{code}",
    tag = "bank",
    summary = "试题详情及全部历史版本",
    params(("code", description = "试题编号", example = "CF-001")),
    responses(
        (status = 200, description = "成功", body = bank::QuestionDetail),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    code: web::Path<String>,
) -> ApiResult {
    let grant = p.grant();
    let d = state.db(move |c| bank::get(c, &grant, &code)).await?;
    Ok(HttpResponse::Ok().json(d))
}

#[utoipa::path(
    put,
    path = "/api/v1/questions/{code}",
    tag = "bank",
    summary = "修改试题：保存为新版本，旧版本保留（管理员）",
    params(("code", description = "试题编号", example = "CF-001")),
    request_body = QuestionEdit,
    responses(
        (status = 200, description = "已保存（内容未变时不生成新版本）", body = bank::QuestionView),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn edit(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    code: web::Path<String>,
    body: web::Json<QuestionEdit>,
) -> ApiResult {
    let grant = p.grant();
    let q = state
        .db(move |c| {
            bank::edit(
                c,
                &grant,
                &code,
                body.version,
                &body.question.draft(),
                &body.note,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(q))
}

#[utoipa::path(
    post,
    path = "/api/v1/questions/{code}/status",
    tag = "bank",
    summary = "停用或恢复试题（管理员）",
    params(("code", description = "试题编号", example = "CF-001")),
    request_body = StatusChange,
    responses(
        (status = 200, description = "成功", body = bank::QuestionView),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn set_status(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    code: web::Path<String>,
    body: web::Json<StatusChange>,
) -> ApiResult {
    let grant = p.grant();
    let status = QuestionStatus::parse(&body.status)
        .ok_or_else(|| Error::invalid("status", "状态应为在用或停用"))?;
    let q = state
        .db(move |c| bank::set_status(c, &grant, &code, status, &body.reason))
        .await?;
    Ok(HttpResponse::Ok().json(q))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportQuery {
    /// The file's name: `.toml` is the bank format; anything else is read as a spreadsheet.
    #[serde(default)]
    filename: String,
    /// Write; without it only the report is returned.
    #[serde(default)]
    apply: bool,
    /// 科目 for rows of a sheet without that column.
    #[serde(default)]
    part: String,
    /// 类别 for rows of a sheet without that column.
    #[serde(default)]
    category: String,
}

#[derive(Serialize, ToSchema)]
pub struct QuestionImportRejected {
    error: super::ErrorDetail,
    report: bank::ImportReport,
}

#[utoipa::path(
    post,
    path = "/api/v1/imports/questions",
    operation_id = "import_questions",
    tag = "bank",
    summary = "导入题库（TOML 或表格）：先校验整份文件；apply=true 时写入",
    description = "请求体为文件本身。表格按常见模板读取（题型、题干、选项A…F、答案、难度、法律依据、解析及其常见写法）。\
        有任何错误时一题不写，答 422 import_blocked 并附逐行报告。编号已存在且内容未变的题目不重复；内容改动的生成新版本。",
    params(ImportQuery),
    request_body(
        description = "题库文件",
        content(
            (super::roster::File = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (super::roster::File = "application/toml"),
            (super::roster::File = "text/csv"),
            (super::roster::File = "application/octet-stream"),
        ),
    ),
    responses(
        (status = 200, description = "校验报告（apply=true 时已写入）", body = bank::ImportReport),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, description = "有错误，未写入任何题目（import_blocked，附报告）", body = QuestionImportRejected),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn import(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<ImportQuery>,
    body: web::Bytes,
) -> ApiResult {
    let grant = p.grant();
    let q = q.into_inner();
    let filename: String = if q.filename.trim().is_empty() {
        "upload.xlsx".into()
    } else {
        q.filename.trim().chars().take(200).collect()
    };
    let defaults = defaults(&q.part, &q.category)?;
    let report = state
        .db(move |c| bank::import_file(c, &grant, &filename, &body, &defaults, !q.apply))
        .await?;
    if report.error_count > 0 {
        return Ok(
            HttpResponse::UnprocessableEntity().json(QuestionImportRejected {
                error: super::ErrorDetail {
                    code: "import_blocked",
                    message: format!("有 {} 处错误，未导入任何题目", report.error_count),
                    fields: Default::default(),
                },
                report,
            }),
        );
    }
    Ok(HttpResponse::Ok().json(report))
}

pub fn defaults(part: &str, category: &str) -> Result<Defaults, Error> {
    let part = part.trim();
    Ok(Defaults {
        part: if part.is_empty() {
            None
        } else {
            Some(
                bank::rules::Part::parse(part)
                    .ok_or_else(|| Error::invalid("part", "科目应为公共法律知识或专业法律知识"))?,
            )
        },
        category: Some(category.trim().to_string()).filter(|c| !c.is_empty()),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// `xlsx` (default) or `toml`.
    #[serde(default)]
    format: String,
    law: Option<String>,
    part: Option<String>,
    category: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    kind: Option<String>,
    difficulty: Option<i32>,
    status: Option<String>,
    q: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/exports/questions",
    tag = "bank",
    summary = "导出题库（当前版本；可按条件筛选）",
    params(ExportQuery),
    responses(
        (status = 200, description = "XLSX（导入模板的格式）或 TOML（题库格式）", content(
            (super::roster::File = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "application/toml"),
        )),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn export(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<ExportQuery>,
) -> ApiResult {
    let grant = p.grant();
    let q = q.into_inner();
    let toml = match q.format.as_str() {
        "" | "xlsx" => false,
        "toml" => true,
        other => {
            return Err(
                Error::BadRequest(format!("format 应为 xlsx 或 toml，而不是“{other}”")).into(),
            );
        }
    };
    let query = Query {
        law: q.law,
        part: q.part,
        category: q.category,
        kind: q.kind,
        difficulty: q.difficulty,
        status: q.status,
        q: q.q,
    };
    let rows = state
        .db(move |c| bank::export_rows(c, &grant, &query))
        .await?;
    if toml {
        return Ok(HttpResponse::Ok()
            .content_type("application/toml; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!(
                    "attachment; filename=\"questions.toml\"; filename*=UTF-8''{}",
                    urlencoding::encode("题库.toml")
                ),
            ))
            .body(bank::file::write(&rows)));
    }
    let bytes = bank::sheet::write(&rows, bank::laws::Laws::shipped())
        .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?;
    Ok(super::xlsx_response("题库.xlsx", bytes))
}

#[utoipa::path(
    post,
    path = "/api/v1/bank/feasibility",
    tag = "bank",
    summary = "组卷规则可行性：题库能否组出、哪一节缺多少题、可组试卷数与两份试卷的预期重复",
    request_body = Blueprint,
    responses(
        (status = 200, description = "分析结果（feasible=false 时 problems 说明哪一节缺多少题）", body = Feasibility),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn feasibility(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<Blueprint>,
) -> ApiResult {
    let grant = p.grant();
    let f = state
        .db(move |c| bank::feasibility(c, &grant, &body))
        .await?;
    Ok(HttpResponse::Ok().json(f))
}

#[utoipa::path(
    get,
    path = "/api/v1/bank/summary",
    tag = "bank",
    summary = "题库概况：各法律、各题型的在用题量",
    responses(
        (status = 200, description = "成功", body = bank::Summary),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn summary(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    let grant = p.grant();
    let s = state.db(move |c| bank::summary(c, &grant)).await?;
    Ok(HttpResponse::Ok().json(s))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PracticeQuery {
    /// 公共法律知识 | 专业法律知识; omitted: a mix.
    part: Option<String>,
    category: Option<String>,
    /// Questions (1–100, default 20).
    count: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct PracticePaper {
    items: Vec<practice::PracticeQuestion>,
}

#[utoipa::path(
    get,
    path = "/api/v1/practice",
    tag = "practice",
    summary = "模拟练习：从在用题库随机抽题（不含答案）",
    params(PracticeQuery),
    responses(
        (status = 200, description = "成功", body = PracticePaper),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn practice_paper(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    q: web::Query<PracticeQuery>,
) -> ApiResult {
    let grant = p.grant();
    let items = state
        .db(move |c| {
            practice::paper(
                c,
                &grant,
                q.part.as_deref(),
                q.category.as_deref(),
                q.count.unwrap_or(20),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(PracticePaper { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PracticeAnswer {
    pub version_id: i64,
    /// Letters (A, AC) or 正确 / 错误.
    pub answer: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/practice/check",
    tag = "practice",
    summary = "模拟练习：核对一题，返回正确答案、解析与条文原文（不记成绩）",
    request_body = PracticeAnswer,
    responses(
        (status = 200, description = "成功", body = practice::PracticeResult),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn practice_check(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<PracticeAnswer>,
) -> ApiResult {
    let grant = p.grant();
    let r = state
        .db(move |c| practice::check(c, &grant, body.version_id, &body.answer))
        .await?;
    Ok(HttpResponse::Ok().json(r))
}
