//! The exam room's API (pinned: exam-room clients and load tests use it exactly as written) and
//! batch scheduling.

use super::{ApiResult, AppState, created};
use crate::error::Error;
use crate::exams::{
    self, AttemptOut, BatchInput, LoginInput, LoginOut, SaveInput, Scheduled, SubmitOut,
};
use crate::web::{ApiUser, ExamUser};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

#[utoipa::path(
    post,
    path = "/api/v1/exam/login",
    tag = "exam",
    summary = "考生登录：准考证号、身份证号、访问码（场次时间内）",
    description = "返回考场令牌。再次登录（换一台电脑）会使此前设备上的令牌失效。",
    security(()),
    request_body = LoginInput,
    responses(
        (status = 200, description = "成功", body = LoginOut),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, description = "准考证号、身份证号或访问码不正确（bad_credentials）", body = super::ErrorBody),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, description = "本场考试已结束或已交卷（closed）", body = super::ErrorBody),
        (status = 413, response = super::openapi::TooLarge),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginInput>,
) -> ApiResult {
    state.login_limiter.check(&req)?;
    let client = crate::web::exam_client(&req);
    let key = state.exam_key.clone();
    let r = state
        .db(move |c| exams::login(c, &key, &body, &client))
        .await;
    if matches!(r, Err(Error::WrongCredentials(_))) {
        state.login_limiter.failed(&req);
    }
    Ok(HttpResponse::Ok().json(r?))
}

#[utoipa::path(
    post,
    path = "/api/v1/exam/attempt",
    tag = "exam",
    summary = "开始或继续作答：试卷、已保存的答案、服务器截止时间",
    description = "不含正确答案；选项键（A、B…）每份试卷各不相同。",
    responses(
        (status = 200, description = "成功", body = AttemptOut),
        (status = 401, description = "未登录或已在其他设备登录（session_ended）", body = super::ErrorBody),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, description = "考试已结束或已交卷（closed）", body = super::ErrorBody),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn attempt(state: web::Data<AppState>, ExamUser(token, client): ExamUser) -> ApiResult {
    let papers = state.papers.clone();
    let a = state
        .db(move |conn| {
            let c = exams::candidate(conn, &token)?;
            exams::start(conn, &papers, &c, &client)
        })
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// A saved answer: durable when this is returned.
#[derive(Serialize, ToSchema)]
pub struct Saved {
    pub position: i32,
    /// The answer as stored (keys in order; empty when cleared).
    pub answer: String,
    #[schema(value_type = String)]
    pub saved_at: chrono::NaiveDateTime,
}

#[utoipa::path(
    put,
    path = "/api/v1/exam/attempt/answers/{position}",
    tag = "exam",
    summary = "保存一题的答案：服务器写入（提交）后才返回 200",
    params(("position", description = "题号（从 1 起）", example = 1)),
    request_body = SaveInput,
    responses(
        (status = 200, description = "已保存（已持久化）", body = Saved),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, description = "未登录或已在其他设备登录（session_ended）", body = super::ErrorBody),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, description = "考试时间已到或已交卷，答案未保存（closed）", body = super::ErrorBody),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn save(
    state: web::Data<AppState>,
    ExamUser(token, _): ExamUser,
    position: web::Path<i32>,
    body: web::Json<SaveInput>,
) -> ApiResult {
    let position = position.into_inner();
    let papers = state.papers.clone();
    let seq = body
        .seq
        .unwrap_or_else(|| crate::db::now().and_utc().timestamp_micros());
    let (attempt_id, answer) = state
        .db(move |conn| exams::check_save(conn, &papers, &token, position, &body))
        .await?;
    let saved_at = state
        .answers
        .save(attempt_id, position, answer.clone(), seq)
        .await?;
    Ok(HttpResponse::Ok().json(Saved {
        position,
        answer,
        saved_at,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/exam/attempt/submit",
    tag = "exam",
    summary = "交卷：评分；按批次设置返回得分或仅确认",
    responses(
        (status = 200, description = "已交卷", body = SubmitOut),
        (status = 401, description = "未登录或已在其他设备登录（session_ended）", body = super::ErrorBody),
        (status = 409, description = "考试尚未开始（closed）", body = super::ErrorBody),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn submit(state: web::Data<AppState>, ExamUser(token, client): ExamUser) -> ApiResult {
    // every save acknowledged before the hand-in is committed before it is graded
    state.answers.flush().await?;
    let papers = state.papers.clone();
    let out = state
        .db(move |conn| {
            let c = exams::candidate(conn, &token)?;
            exams::submit(conn, &papers, &c, &client)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(
    post,
    path = "/api/v1/exam/batches",
    tag = "exam",
    summary = "排考：按组卷规则、场次和考生建立考试批次（管理员）",
    description = "组卷规则须为在用题库能组出的（否则 422，说明哪一节缺多少题）。返回每名考生的准考证号和访问码：访问码只在此时给出一次。",
    request_body = BatchInput,
    responses(
        (status = 201, description = "已排考", body = Scheduled),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn schedule(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<BatchInput>,
) -> ApiResult {
    let grant = p.grant();
    let key = state.exam_key.clone();
    let s = state
        .db(move |c| exams::schedule(c, &grant, &key, &body))
        .await?;
    Ok(created(&s))
}

#[utoipa::path(
    post,
    path = "/api/v1/exam/plans",
    tag = "exam",
    summary = "申报考试计划（单位联络员）：逐人检查，不符合条件的说明原因",
    request_body = exams::plans::PlanInput,
    responses(
        (status = 201, description = "已申报（refused 列出未能列入的人员及原因）", body = exams::plans::Submitted),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn submit_plan(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    body: web::Json<exams::plans::PlanInput>,
) -> ApiResult {
    let grant = p.grant();
    let s = state
        .db(move |c| exams::plans::submit(c, &grant, &body))
        .await?;
    Ok(created(&s))
}

#[utoipa::path(
    get,
    path = "/api/v1/exam/plans/{id}",
    tag = "exam",
    summary = "考试计划及审批结果",
    params(("id", description = "计划 id", example = 1)),
    responses(
        (status = 200, description = "成功", body = exams::plans::PlanView),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn get_plan(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let v = state.db(move |c| exams::plans::view(c, &grant, id)).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(
    post,
    path = "/api/v1/exam/plans/{id}/decision",
    tag = "exam",
    summary = "集体审批考试计划（管理员）：批准全部、部分或驳回，记录会议纪要编号、日期和决定人",
    params(("id", description = "计划 id", example = 1)),
    request_body = exams::plans::Decision,
    responses(
        (status = 200, description = "已审批", body = exams::plans::PlanView),
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
pub async fn decide_plan(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Json<exams::plans::Decision>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let v = state
        .db(move |c| exams::plans::decide(c, &grant, id, &body))
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Where deadlines stand after an extension.
#[derive(Serialize, ToSchema)]
pub struct Extended {
    /// The candidate's new deadline (if they had started and not handed in).
    #[schema(value_type = Option<String>)]
    pub deadline: Option<chrono::NaiveDateTime>,
    /// Open attempts whose deadline moved (session extensions).
    pub attempts: usize,
}

#[utoipa::path(
    post,
    path = "/api/v1/exam/candidates/{ticket_no}/extra-time",
    tag = "exam",
    summary = "为个别考生延长考试时间（照顾性安排，记录在案）",
    params(("ticket_no", description = "准考证号", example = "2026001-00001")),
    request_body = exams::ExtraTime,
    responses(
        (status = 200, description = "已延长", body = Extended),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn extra_time(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    ticket: web::Path<String>,
    body: web::Json<exams::ExtraTime>,
) -> ApiResult {
    let grant = p.grant();
    let d = state
        .db(move |c| exams::grant_extra_time(c, &grant, &ticket, &body))
        .await?;
    Ok(HttpResponse::Ok().json(Extended {
        attempts: usize::from(d.is_some()),
        deadline: d,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/exam/candidates/{ticket_no}/session",
    tag = "exam",
    summary = "调整未开考考生的场次（手工分配，记录在案）；试卷随新座位号按同一规则重新确定",
    params(("ticket_no", description = "准考证号", example = "2026001-00001")),
    request_body = exams::Move,
    responses(
        (status = 200, description = "已调整到的场次", body = crate::exams::db::Session),
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
pub async fn move_candidate(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    ticket: web::Path<String>,
    body: web::Json<exams::Move>,
) -> ApiResult {
    let grant = p.grant();
    let s = state
        .db(move |c| exams::move_candidate(c, &grant, &ticket, &body))
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

#[utoipa::path(
    post,
    path = "/api/v1/exam/sessions/{id}/extension",
    tag = "exam",
    summary = "场次整体延时（考场突发情况，记录在案）",
    params(("id", description = "场次 id", example = 1)),
    request_body = exams::ExtraTime,
    responses(
        (status = 200, description = "已延长", body = Extended),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn extend_session(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    body: web::Json<exams::ExtraTime>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let n = state
        .db(move |c| exams::extend_session(c, &grant, id, &body))
        .await?;
    Ok(HttpResponse::Ok().json(Extended {
        deadline: None,
        attempts: n,
    }))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct ResultsQuery {
    /// `xlsx` for the sheet (成绩 and 单位汇总); default JSON.
    #[serde(default)]
    format: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/exam/batches/{id}/results",
    tag = "exam",
    summary = "批次成绩：逐人成绩、合计与各单位汇总（管理员）；format=xlsx 导出",
    params(("id", description = "批次 id", example = 1), ResultsQuery),
    responses(
        (status = 200, description = "成功", content(
            (exams::results::BatchResults = "application/json"),
            (super::roster::File = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn results(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
    q: web::Query<ResultsQuery>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let xlsx = match q.format.as_str() {
        "" | "json" => false,
        "xlsx" => true,
        other => {
            return Err(
                Error::BadRequest(format!("format 应为 json 或 xlsx，而不是“{other}”")).into(),
            );
        }
    };
    let r = state
        .db(move |c| exams::results::batch(c, &grant, id))
        .await?;
    if xlsx {
        let name = format!("{}成绩表.xlsx", r.code);
        return Ok(super::xlsx_response(&name, exams::results::xlsx(&r)?));
    }
    Ok(HttpResponse::Ok().json(r))
}

#[utoipa::path(
    post,
    path = "/api/v1/exam/batches/{id}/tickets",
    tag = "exam",
    summary = "打印准考证（PDF，每人一页；format=zip 时每个单位一个 PDF）。打印即重新签发访问码，所选考生原访问码作废；已开始考试的考生不再打印",
    params(("id", description = "批次 id", example = 1)),
    request_body = exams::tickets::TicketRequest,
    responses(
        (status = 200, description = "准考证文件", content(
            (super::roster::File = "application/pdf"),
            (super::roster::File = "application/zip"),
        )),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 422, response = super::openapi::Invalid),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn tickets(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<exams::tickets::TicketRequest>,
) -> ApiResult {
    Ok(ticket_download(&state, p.grant(), &req, *id, body.into_inner()).await?)
}

#[utoipa::path(
    get,
    path = "/api/v1/exam/candidates/{ticket_no}/report",
    tag = "exam",
    summary = "考生成绩报告单（PDF）：分节得分、总分、是否合格与成绩更正记录。管理员可取任何考生的，执法人员账号只能取本人的",
    params(("ticket_no", description = "准考证号", example = "2026001-00001")),
    responses(
        (status = 200, description = "成绩报告单", content((super::roster::File = "application/pdf"))),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn report(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    ticket: web::Path<String>,
) -> ApiResult {
    Ok(report_download(&state, p.grant(), ticket.into_inner()).await?)
}

#[utoipa::path(
    get,
    path = "/api/v1/exam/batches/{id}/analysis",
    tag = "exam",
    summary = "批次统计（管理员）：逐题难度、区分度、点二列相关与疑题标记，KR-20 信度，分数分布，雷同答卷筛查（ω 指数）及其证据",
    params(("id", description = "批次 id", example = 1)),
    responses(
        (status = 200, description = "成功", body = exams::analysis::BatchAnalysis),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn analysis(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let grant = p.grant();
    let papers = state.papers.clone();
    let id = *id;
    let a = state
        .db(move |c| exams::analysis::analyse(c, &grant, &papers, id))
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

#[utoipa::path(
    get,
    path = "/api/v1/exam/batches/{id}/distribution.svg",
    tag = "exam",
    summary = "批次分数分布图（SVG，管理员）",
    params(("id", description = "批次 id", example = 1)),
    responses(
        (status = 200, description = "SVG 图", content((String = "image/svg+xml"))),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn distribution(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let svg = state
        .db(move |c| exams::analysis::distribution_svg(c, &grant, id))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml; charset=utf-8")
        .body(svg))
}

#[derive(Serialize, ToSchema)]
pub struct MyResults {
    items: Vec<exams::results::MyResult>,
}

#[utoipa::path(
    get,
    path = "/api/v1/me/exam-results",
    tag = "exam",
    summary = "本人的考试与成绩（执法人员账号）",
    responses(
        (status = 200, description = "成功", body = MyResults),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn my_results(state: web::Data<AppState>, ApiUser(p): ApiUser) -> ApiResult {
    let grant = p.grant();
    let items = state.db(move |c| exams::results::mine(c, &grant)).await?;
    Ok(HttpResponse::Ok().json(MyResults { items }))
}

#[utoipa::path(
    post,
    path = "/api/v1/exam/batches/{id}/regrade",
    tag = "exam",
    summary = "重新评分：题目在题库中更正后（题型和选项不变，答案更正），重新评定本批次已交卷的试卷（管理员）",
    params(("id", description = "批次 id", example = 1)),
    responses(
        (status = 200, description = "已重新评分；成绩有变化的逐人列出（审计日志记录前后分数）", body = exams::Regraded),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub async fn regrade(
    state: web::Data<AppState>,
    ApiUser(p): ApiUser,
    id: web::Path<i64>,
) -> ApiResult {
    let grant = p.grant();
    let id = *id;
    let papers = state.papers.clone();
    let r = state
        .db(move |c| exams::regrade(c, &grant, &papers, id))
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Prints tickets as a download (the API and the batch page print the same way): the exam
/// room's address is taken from the request.
pub(crate) async fn ticket_download(
    state: &AppState,
    grant: crate::auth::Grant,
    req: &HttpRequest,
    batch_id: i64,
    body: exams::tickets::TicketRequest,
) -> Result<HttpResponse, Error> {
    let key = state.exam_key.clone();
    let bureau = state.config.bureau_name.clone();
    let url = {
        let info = req.connection_info();
        format!("{}://{}/exam", info.scheme(), info.host())
    };
    let printed = state
        .db(move |c| exams::tickets::print(c, &grant, &key, &bureau, &url, batch_id, &body))
        .await?;
    Ok(super::file_response(
        &printed.filename,
        printed.content_type,
        printed.bytes,
    ))
}

/// A candidate's score report as a download (the API and the pages).
pub(crate) async fn report_download(
    state: &AppState,
    grant: crate::auth::Grant,
    ticket: String,
) -> Result<HttpResponse, Error> {
    let papers = state.papers.clone();
    let bureau = state.config.bureau_name.clone();
    let (name, bytes) = state
        .db(move |c| exams::report::pdf(c, &grant, &papers, &bureau, &ticket))
        .await?;
    Ok(super::file_response(&name, "application/pdf", bytes))
}
