//! Qualification exams (行政执法资格考试), first slice: scheduling a batch (blueprint checked
//! against the bank, sessions, candidates with tickets and access codes, fair papers fixed),
//! and the exam room's API — login, start or resume, durable answers, hand-in and grading, the
//! server closing attempts at their deadline.

pub mod access;
pub mod allocate;
pub mod analysis;
pub mod commit;
pub mod db;
pub mod loadtest;
pub mod paper;
pub mod plans;
pub mod report;
pub mod results;
pub mod stats;
pub mod tickets;

use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::bank::blueprint::{self, Blueprint, Credit, Section};
use crate::bank::rules::{Content, OPTION_LETTERS, QuestionKind};
use crate::bank::{self, content_of};
use crate::db::DbConn;
use crate::error::{Error, Result};
use access::ExamKey;
use chrono::{Datelike, Duration, NaiveDateTime};
use diesel::OptionalExtension;
use paper::{Cell, Item, Meta, Mix};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;

// ------------------------------------------------------------------ scheduling

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SessionInput {
    pub name: String,
    /// UTC
    #[schema(value_type = String, example = "2026-12-01T01:00:00")]
    pub starts_at: NaiveDateTime,
    #[schema(value_type = String, example = "2026-12-01T03:00:00")]
    pub ends_at: NaiveDateTime,
    pub capacity: i32,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BatchInput {
    pub title: String,
    pub blueprint: Blueprint,
    /// Default 60 (of the blueprint's total points).
    #[serde(default = "default_pass_mark")]
    pub pass_mark: f64,
    pub duration_minutes: i32,
    /// Show the score when the candidate hands in.
    #[serde(default)]
    pub show_score: bool,
    pub sessions: Vec<SessionInput>,
    /// Approved plans whose approved candidates are enrolled.
    #[serde(default)]
    pub plan_ids: Vec<i64>,
    /// Further officers enrolled directly (re-sits, demonstrations).
    #[serde(default)]
    pub officer_ids: Vec<i64>,
    /// `unit` (default: a unit's candidates sit together, sessions filled in order) or `spread`
    /// (a unit's candidates are dealt round the sessions).
    #[serde(default)]
    pub allocation: Option<String>,
    /// Candidates placed by hand: officer → session number (1-based, as listed).
    #[serde(default)]
    pub assignments: Vec<Assignment>,
    /// Put each candidate's access code in this response (for an outside exam client or a
    /// training run; on the record). Otherwise codes exist only on printed tickets
    /// (`POST /exam/batches/{id}/tickets`).
    #[serde(default)]
    pub return_access_codes: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Assignment {
    pub officer_id: i64,
    /// 1-based, in the order of `sessions`.
    pub session: usize,
}

fn default_pass_mark() -> f64 {
    60.0
}

/// What goes on a candidate's admission ticket; the access code exists only here.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ticket {
    pub ticket_no: String,
    pub officer_id: i64,
    pub name: String,
    pub id_number: String,
    /// Only when `return_access_codes` was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_code: Option<String>,
    pub session: String,
    #[schema(value_type = String)]
    pub starts_at: NaiveDateTime,
    #[schema(value_type = String)]
    pub ends_at: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Scheduled {
    pub batch_id: i64,
    pub code: String,
    pub candidates: usize,
    pub sessions: Vec<db::Session>,
    pub feasibility: blueprint::Feasibility,
    pub tickets: Vec<Ticket>,
}

pub const MAX_CANDIDATES: usize = 200_000;

/// Schedules a batch: the blueprint must be one the active bank can fill (the bank's reason is
/// the refusal); candidates are placed in sessions in roster order (by unit), each with a ticket,
/// a one-time access code and a paper fixed now (see `paper`).
pub fn schedule(
    conn: &mut DbConn,
    grant: &Grant,
    keys: &ExamKey,
    input: &BatchInput,
) -> Result<Scheduled> {
    grant.require(Capability::ManageExams)?;
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 100 {
        return Err(Error::invalid("title", "请填写考试名称（不超过 100 字）"));
    }
    if !(1..=600).contains(&input.duration_minutes) {
        return Err(Error::invalid(
            "duration_minutes",
            "考试时长应为 1 至 600 分钟",
        ));
    }
    if input.sessions.is_empty() || input.sessions.len() > 200 {
        return Err(Error::invalid("sessions", "请设置 1 至 200 个场次"));
    }
    for (i, s) in input.sessions.iter().enumerate() {
        if s.ends_at <= s.starts_at || s.capacity <= 0 || s.name.trim().is_empty() {
            return Err(Error::invalid(
                "sessions",
                format!(
                    "第 {} 个场次：须有名称，结束时间晚于开始时间，容量大于 0",
                    i + 1
                ),
            ));
        }
    }
    let mut officer_ids = input.officer_ids.clone();
    let mut exemptions: HashMap<i64, String> = HashMap::new();
    for (id, exemption) in plans::approved_officers(conn, &input.plan_ids)? {
        officer_ids.push(id);
        if let Some(part) = plans::exempt_part(&exemption) {
            exemptions.insert(id, part.label().to_string());
        }
    }
    officer_ids.sort_unstable();
    officer_ids.dedup();
    if officer_ids.is_empty() || officer_ids.len() > MAX_CANDIDATES {
        return Err(Error::invalid("officer_ids", "请选择考生"));
    }
    let capacity: i64 = input.sessions.iter().map(|s| s.capacity as i64).sum();
    if capacity < officer_ids.len() as i64 {
        return Err(Error::invalid(
            "sessions",
            format!(
                "场次容量合计 {capacity} 人，少于考生 {} 人",
                officer_ids.len()
            ),
        ));
    }
    let sections = blueprint::check(&input.blueprint)
        .map_err(|e| Error::invalid("blueprint", e.join("；")))?;
    let feasibility = bank::feasibility(conn, grant, &input.blueprint)?;
    if !feasibility.feasible {
        return Err(Error::invalid(
            "blueprint",
            format!("题库不足以组卷：{}", feasibility.problems.join("；")),
        ));
    }
    if !(input.pass_mark > 0.0 && input.pass_mark <= feasibility.total_points) {
        return Err(Error::invalid(
            "pass_mark",
            format!("及格分应大于 0、不超过总分 {}", feasibility.total_points),
        ));
    }
    // officers, in roster order by unit
    let mut officers = Vec::with_capacity(officer_ids.len());
    for chunk in officer_ids.chunks(500) {
        officers.extend(crate::roster::db::officers_for_exam(conn, chunk)?);
    }
    if officers.len() != officer_ids.len() {
        return Err(Error::invalid("officer_ids", "有考生不在名录库中"));
    }
    // An exemption must leave something to sit.
    for o in &officers {
        if let Some(part) = exemptions.get(&o.0)
            && sections.iter().all(|s| s.part.label() == part)
        {
            return Err(Error::invalid(
                "plan_ids",
                format!("{} 免考{part}，而本批次只考{part}：无需参加本批次", o.1),
            ));
        }
    }
    let mode = allocate::Mode::parse(input.allocation.as_deref()).ok_or_else(|| {
        Error::invalid(
            "allocation",
            "分配方式应为 unit（同单位同场）或 spread（同单位分散）",
        )
    })?;
    let mut by_hand: HashMap<i64, usize> = HashMap::new();
    for a in &input.assignments {
        if a.session == 0 || a.session > input.sessions.len() {
            return Err(Error::invalid(
                "assignments",
                format!("没有第 {} 个场次", a.session),
            ));
        }
        if officer_ids.binary_search(&a.officer_id).is_err() {
            return Err(Error::invalid(
                "assignments",
                format!("指定场次的人员（id {}）不在本批次考生中", a.officer_id),
            ));
        }
        by_hand.insert(a.officer_id, a.session - 1);
    }
    let capacities: Vec<usize> = input.sessions.iter().map(|s| s.capacity as usize).collect();
    let fixed: Vec<Option<usize>> = officers
        .iter()
        .map(|o| by_hand.get(&o.0).copied())
        .collect();
    let placed = allocate::allocate(&capacities, mode, &fixed)
        .map_err(|e| Error::invalid("assignments", e))?;
    let seed = rand::random::<u64>();
    let cells = draw_cells(conn, &sections, seed)?;
    let now = crate::db::now();
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let prefix = format!("{}", now.year());
        let n = db::batches_with_prefix(conn, &prefix)? + 1;
        let code = format!("{prefix}{n:03}");
        let batch_id = db::insert_batch(
            conn,
            &db::NewBatch {
                code: code.clone(),
                title: title.to_string(),
                blueprint: serde_json::to_string(&input.blueprint).unwrap_or_default(),
                pass_mark: input.pass_mark,
                total_points: feasibility.total_points,
                duration_minutes: input.duration_minutes,
                show_score: input.show_score,
                seed: seed as i64,
                paper_algorithm: paper::ALGORITHM,
                created_at: now,
                created_by: rec.actor().name.clone(),
            },
        )
        .map_err(crate::error::on_unique(
            "exam_batches",
            "code",
            "code",
            "批次编号冲突，请重试",
        ))?;
        db::insert_cells(
            conn,
            &cells
                .iter()
                .map(|c| db::NewCell {
                    batch_id,
                    section: c.section as i32,
                    difficulty: c.difficulty,
                    required: c.required as i32,
                    version_ids: serde_json::to_string(&c.versions).unwrap_or_default(),
                })
                .collect::<Vec<_>>(),
        )?;
        let mut sessions = Vec::new();
        for s in &input.sessions {
            let id = db::insert_session(
                conn,
                &db::NewSession {
                    batch_id,
                    name: s.name.trim().to_string(),
                    starts_at: s.starts_at,
                    ends_at: s.ends_at,
                    capacity: s.capacity,
                    extension_minutes: 0,
                },
            )?;
            sessions.push((id, s));
        }
        let mut rows = Vec::with_capacity(officers.len());
        let mut tickets = Vec::with_capacity(officers.len());
        let mut seats = vec![0i32; sessions.len()];
        let mut rng = rand::rng();
        for (i, (o, si)) in officers.iter().zip(&placed).enumerate() {
            let (session_id, s) = sessions[*si];
            let seat = seats[*si];
            seats[*si] += 1;
            let ticket_no = format!("{code}-{:05}", i + 1);
            let code_plain = access::new_code();
            rows.push(db::NewCandidate {
                batch_id,
                session_id,
                officer_id: o.0,
                ticket_no: ticket_no.clone(),
                access_hash: keys.seal(&ticket_no, &code_plain),
                paper_seed: rand::Rng::random::<i64>(&mut rng),
                seat,
                extra_minutes: 0,
                created_at: now,
                exempt_part: exemptions.get(&o.0).cloned().unwrap_or_default(),
            });
            tickets.push(Ticket {
                ticket_no,
                officer_id: o.0,
                name: o.1.clone(),
                id_number: o.2.clone(),
                access_code: input.return_access_codes.then_some(code_plain),
                session: s.name.trim().to_string(),
                starts_at: s.starts_at,
                ends_at: s.ends_at,
            });
        }
        db::insert_candidates(conn, &rows)?;
        rec.record(
            conn,
            Change::new(
                "exam.schedule",
                "exam_batch",
                &code,
                format!(
                    "排考：{title}（批次 {code}，{} 名考生，{} 个场次）",
                    rows.len(),
                    sessions.len()
                ),
            )
            .after(&serde_json::json!({
                "seed": seed.to_string(), "paper_algorithm": paper::ALGORITHM,
                "pass_mark": input.pass_mark, "duration_minutes": input.duration_minutes,
                "access_codes_returned": input.return_access_codes,
            })),
        )?;
        Ok(Scheduled {
            sessions: db::sessions_of(conn, batch_id)?,
            batch_id,
            code,
            candidates: rows.len(),
            feasibility: feasibility.clone(),
            tickets,
        })
    })
}

/// The pinned draw for every section × difficulty: the active versions that fit, in an order
/// fixed by the batch seed.
fn draw_cells(conn: &mut DbConn, sections: &[Section], seed: u64) -> Result<Vec<Cell>> {
    let mut out = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let levels: Vec<(i32, u32)> = match s.by_difficulty {
            Some(l) => (1..=5).zip(l).filter(|(_, k)| *k > 0).collect(),
            None => vec![(0, s.count)],
        };
        for (d, k) in levels {
            let mut versions = bank::db::active_versions_for(
                conn,
                s.part.label(),
                s.category.as_deref(),
                s.kind.label(),
                (d > 0).then_some(d),
            )?;
            versions.sort_unstable();
            let mut rng = Mix::new(seed ^ ((i as u64) << 8 | d as u64));
            paper::shuffle(&mut versions, &mut rng);
            out.push(Cell {
                section: i,
                difficulty: d,
                required: k as usize,
                versions,
            });
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------ a batch's papers, cached

/// One question as a batch's papers use it.
#[derive(Debug, Clone)]
pub struct Question {
    pub content: Content,
    pub points: f64,
    pub credit: Credit,
}

/// One question of a graded paper.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemScore {
    pub position: usize,
    pub section: usize,
    pub version_id: i64,
    pub max: f64,
    pub points: f64,
    /// The answer in stored option letters (comparable across papers); `""`: blank.
    pub given: String,
    pub correct: bool,
}

/// What a batch's papers are made of: loaded once per process (it never changes once scheduled).
#[derive(Debug)]
pub struct BatchPapers {
    pub batch: db::Batch,
    pub cells: Vec<Cell>,
    pub questions: HashMap<i64, Question>,
    /// Each blueprint section's part (公共法律知识 / 专业法律知识).
    pub parts: Vec<String>,
}

impl BatchPapers {
    /// A candidate's paper: the full paper of their seat and seed, without the sections of the
    /// part they are exempt from (positions numbered again from 1).
    pub fn paper(&self, c: &db::Candidate) -> Vec<Item> {
        let mut items = self.full_paper(c);
        if !c.exempt_part.is_empty() {
            items.retain(|it| self.parts.get(it.section) != Some(&c.exempt_part));
            for (i, it) in items.iter_mut().enumerate() {
                it.position = i + 1;
            }
        }
        items
    }

    fn full_paper(&self, c: &db::Candidate) -> Vec<Item> {
        paper::paper(
            &self.cells,
            &|v| {
                self.questions.get(&v).map(|q| Meta {
                    kind: q.content.kind,
                    options: q.content.options.len(),
                })
            },
            c.seat.max(0) as usize,
            c.paper_seed as u64,
        )
    }

    /// Each question of a candidate's paper graded against its answers (position → paper keys).
    pub fn score_items(&self, items: &[Item], answers: &HashMap<i32, String>) -> Vec<ItemScore> {
        items
            .iter()
            .filter_map(|it| {
                let q = self.questions.get(&it.version_id)?;
                let key = paper::paper_answer(q.content.kind, &q.content.answer, &it.option_order);
                let given = answers
                    .get(&(it.position as i32))
                    .map(String::as_str)
                    .unwrap_or("");
                let points = q.credit.points(&key, given, q.points);
                Some(ItemScore {
                    position: it.position,
                    section: it.section,
                    version_id: it.version_id,
                    max: q.points,
                    points,
                    given: paper::stored_answer(q.content.kind, given, &it.option_order),
                    correct: !key.is_empty() && given == key,
                })
            })
            .collect()
    }

    /// A candidate's score for a set of answers (position → paper keys). The paper of a candidate
    /// exempt from a part is scaled to the batch's total (折算).
    pub fn grade(&self, c: &db::Candidate, answers: &HashMap<i32, String>) -> f64 {
        let scored = self.score_items(&self.paper(c), answers);
        let score: f64 = scored.iter().map(|s| s.points).sum();
        let max: f64 = scored.iter().map(|s| s.max).sum();
        let total = self.batch.total_points;
        let score = if !c.exempt_part.is_empty() && max > 0.0 && max < total {
            score * total / max
        } else {
            score
        };
        (score * 100.0).round() / 100.0
    }
}

/// One batch's slot in the cache: filled by the first use, which the others wait for.
type Slot = Arc<Mutex<Option<Arc<BatchPapers>>>>;

/// Per-process cache of batches' papers; concurrent first uses wait for one load.
#[derive(Clone, Default)]
pub struct Papers {
    inner: Arc<Mutex<HashMap<i64, Slot>>>,
}

impl std::fmt::Debug for Papers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Papers")
    }
}

impl Papers {
    /// Forgets a batch's papers (after a re-grade: the next use loads the corrected answers).
    pub fn forget(&self, batch_id: i64) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&batch_id);
    }

    pub fn get(&self, conn: &mut DbConn, batch_id: i64) -> Result<Arc<BatchPapers>> {
        let slot = {
            let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(batch_id).or_default().clone()
        };
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = slot.as_ref() {
            return Ok(p.clone());
        }
        let loaded = Arc::new(load_papers(conn, batch_id)?);
        *slot = Some(loaded.clone());
        Ok(loaded)
    }
}

fn load_papers(conn: &mut DbConn, batch_id: i64) -> Result<BatchPapers> {
    let batch = db::batch(conn, batch_id)?.ok_or_else(|| Error::not_found("考试批次"))?;
    let bp: Blueprint = serde_json::from_str(&batch.blueprint).map_err(|e| {
        Error::Internal(anyhow::anyhow!(
            "批次 {} 的组卷规则无法读取：{e}",
            batch.code
        ))
    })?;
    let cells: Vec<Cell> = db::cells_of(conn, batch_id)?
        .into_iter()
        .map(|(section, difficulty, required, ids)| Cell {
            section: section as usize,
            difficulty,
            required: required as usize,
            versions: serde_json::from_str(&ids).unwrap_or_default(),
        })
        .collect();
    let ids: Vec<i64> = cells
        .iter()
        .flat_map(|c| c.versions.iter().copied())
        .collect();
    let section_of: HashMap<i64, usize> = cells
        .iter()
        .flat_map(|c| c.versions.iter().map(move |v| (*v, c.section)))
        .collect();
    let pinned = bank::db::versions_by_ids(conn, &ids)?;
    // A question corrected in the bank after scheduling (a new version with the same type and
    // the same options) is graded by its corrected answer; the paper still shows what it showed.
    let qids: Vec<i64> = pinned.iter().map(|v| v.question_id).collect();
    let current: HashMap<i64, bank::db::VersionRow> = bank::db::current_versions_of(conn, &qids)?
        .into_iter()
        .map(|v| (v.question_id, v))
        .collect();
    let mut questions = HashMap::with_capacity(ids.len());
    for v in pinned {
        let section = section_of.get(&v.id).copied().unwrap_or(0);
        let spec = bp.sections.get(section);
        let points = spec.map(|s| s.points).unwrap_or(0.0);
        let credit = spec
            .and_then(|s| Credit::parse(s.partial_credit.as_deref()))
            .unwrap_or_default();
        let mut content = content_of(&v);
        if let Some(cur) = current.get(&v.question_id)
            && cur.id != v.id
            && cur.kind == v.kind
            && cur.options == v.options
        {
            content.answer = cur.answer.clone();
        }
        questions.insert(
            v.id,
            Question {
                content,
                points,
                credit,
            },
        );
    }
    let parts = bp.sections.iter().map(|s| {
        bank::rules::Part::parse(&s.part)
            .map(|p| p.label().to_string())
            .unwrap_or_else(|| s.part.clone())
    });
    Ok(BatchPapers {
        parts: parts.collect(),
        batch,
        cells,
        questions,
    })
}

// ------------------------------------------------------------------ the exam room

/// Where a request came from, for the attempt's log.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub device: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct LoginInput {
    pub ticket_no: String,
    pub id_number: String,
    pub access_code: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoginOut {
    /// Bearer token for the exam-room API; a newer login elsewhere ends it.
    pub token: String,
    /// The attempt's deadline when it has started; otherwise the latest it could be.
    #[schema(value_type = String)]
    pub deadline: NaiveDateTime,
    pub started: bool,
    pub batch: String,
    pub session: String,
    #[schema(value_type = String)]
    pub session_starts_at: NaiveDateTime,
    #[schema(value_type = String)]
    pub session_ends_at: NaiveDateTime,
    pub duration_minutes: i32,
    /// The candidate's name, masked (张*三).
    pub name: String,
    /// Whether this login ended another device's session.
    pub took_over: bool,
}

fn mask(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 | 1 => name.to_string(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

const BAD_LOGIN: &str = "准考证号、身份证号或访问码不正确";

/// The latest an attempt may run to: the session's end (with any extension) plus the
/// candidate's own extra time.
fn window_end(s: &db::Session, c: &db::Candidate) -> NaiveDateTime {
    s.ends_at + Duration::minutes((s.extension_minutes + c.extra_minutes) as i64)
}

pub fn login(
    conn: &mut DbConn,
    keys: &ExamKey,
    input: &LoginInput,
    client: &Client,
) -> Result<LoginOut> {
    let ticket = input.ticket_no.trim();
    let c = db::candidate_by_ticket(conn, ticket)?;
    let Some(c) = c else {
        return Err(Error::WrongCredentials(BAD_LOGIN.into()));
    };
    let officer = crate::roster::db::officer(conn, c.officer_id)?
        .ok_or_else(|| Error::WrongCredentials(BAD_LOGIN.into()))?;
    let id_ok = crate::roster::rules::IdNumber::parse(&input.id_number)
        .map(|id| id.as_str() == officer.id_number)
        .unwrap_or(false);
    if !id_ok || !keys.check(ticket, &input.access_code, &c.access_hash) {
        return Err(Error::WrongCredentials(BAD_LOGIN.into()));
    }
    let s = db::session(conn, c.session_id)?;
    let batch = db::batch(conn, c.batch_id)?.ok_or_else(|| Error::not_found("考试批次"))?;
    let now = crate::db::now();
    if now < s.starts_at {
        return Err(Error::Forbidden(format!(
            "本场考试尚未开始（{} 开始）",
            crate::roster::rules::chinese_datetime(&s.starts_at)
        )));
    }
    let attempt = db::attempt_of(conn, c.id)?;
    if let Some(a) = &attempt {
        if a.submitted_at.is_some() {
            return Err(Error::Closed("你已交卷，本场考试已结束".into()));
        }
    } else if now >= window_end(&s, &c) {
        return Err(Error::Closed("本场考试已结束".into()));
    }
    let (token, hash) = access::new_token();
    let took_over = c.token_hash.is_some();
    db::set_token(conn, c.id, &hash, now)?;
    db::log_event(
        conn,
        c.id,
        now,
        if took_over { "接管" } else { "登录" },
        &client.ip,
        &client.device,
        if took_over {
            "新的登录取代了此前设备上的登录"
        } else {
            ""
        },
    )?;
    let deadline = match &attempt {
        Some(a) => a.deadline,
        None => (now + Duration::minutes((batch.duration_minutes + c.extra_minutes) as i64))
            .min(window_end(&s, &c)),
    };
    Ok(LoginOut {
        token,
        deadline,
        started: attempt.is_some(),
        batch: batch.title.clone(),
        session: s.name.clone(),
        session_starts_at: s.starts_at,
        session_ends_at: s.ends_at,
        duration_minutes: batch.duration_minutes,
        name: mask(&officer.name),
        took_over,
    })
}

/// A token that no longer works: replaced by a login elsewhere, or never issued.
fn session_ended() -> Error {
    Error::SessionEnded(
        "登录已失效：可能已在其他设备上登录。请重新登录；答案已保存的不会丢失".into(),
    )
}

/// The candidate behind an exam-room token (a token replaced by a newer login no longer works).
pub fn candidate(conn: &mut DbConn, token: &str) -> Result<db::Candidate> {
    db::candidate_by_token(conn, &access::token_hash(token))?.ok_or_else(session_ended)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OptionOut {
    pub key: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionOut {
    pub position: i32,
    pub section: i32,
    /// 单选 | 多选 | 判断
    #[serde(rename = "type")]
    pub kind: String,
    pub stem: String,
    pub options: Vec<OptionOut>,
    pub points: f64,
    /// What this candidate has saved: a key ("B"), a list of keys for 多选 (["A","C"]), or null.
    #[schema(value_type = Option<Object>)]
    pub answer: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptOut {
    pub attempt_id: i64,
    #[schema(value_type = String)]
    pub deadline: NaiveDateTime,
    /// Seconds left by the server's clock (the countdown starts from this).
    pub remaining_seconds: i64,
    pub resumed: bool,
    pub questions: Vec<QuestionOut>,
}

fn answer_json(kind: QuestionKind, stored: &str) -> serde_json::Value {
    match kind {
        QuestionKind::Multiple => serde_json::Value::Array(
            stored
                .chars()
                .map(|c| serde_json::Value::String(c.to_string()))
                .collect(),
        ),
        _ => serde_json::Value::String(stored.to_string()),
    }
}

/// Starts the attempt, or resumes it with everything saved so far.
pub fn start(
    conn: &mut DbConn,
    papers: &Papers,
    c: &db::Candidate,
    client: &Client,
) -> Result<AttemptOut> {
    let now = crate::db::now();
    let s = db::session(conn, c.session_id)?;
    let p = papers.get(conn, c.batch_id)?;
    let attempt = match db::attempt_of(conn, c.id)? {
        Some(a) => (a, false),
        None => {
            if now < s.starts_at {
                return Err(Error::Forbidden("本场考试尚未开始".into()));
            }
            if now >= window_end(&s, c) {
                return Err(Error::Closed("本场考试已结束".into()));
            }
            let deadline = (now
                + Duration::minutes((p.batch.duration_minutes + c.extra_minutes) as i64))
            .min(window_end(&s, c));
            db::start_attempt(conn, c.id, now, deadline)?
        }
    };
    let (a, fresh) = attempt;
    if a.submitted_at.is_some() {
        return Err(Error::Closed("你已交卷，本场考试已结束".into()));
    }
    if a.deadline <= now {
        close_expired(conn, papers, a.id, c.id)?;
        return Err(Error::Closed("考试时间已到，试卷已由系统收回".into()));
    }
    db::log_event(
        conn,
        c.id,
        now,
        if fresh { "开始" } else { "继续" },
        &client.ip,
        &client.device,
        "",
    )?;
    // the start reaches the audit trail within seconds, batched (`record_starts`)
    let saved: HashMap<i32, String> = db::answers_of(conn, a.id)?.into_iter().collect();
    // A move to another session is refused once the attempt exists; read the seat again after
    // creating it, so a move that slipped in before is the paper served.
    let moved;
    let c = if fresh {
        moved = db::candidate(conn, c.id)?;
        &moved
    } else {
        c
    };
    let items = p.paper(c);
    let questions = items
        .iter()
        .filter_map(|it| {
            let q = p.questions.get(&it.version_id)?;
            let kind = q.content.kind;
            let options = match kind {
                QuestionKind::Judge => vec![
                    OptionOut {
                        key: "A".into(),
                        text: "正确".into(),
                    },
                    OptionOut {
                        key: "B".into(),
                        text: "错误".into(),
                    },
                ],
                _ => it
                    .option_order
                    .iter()
                    .enumerate()
                    .map(|(k, stored)| OptionOut {
                        key: OPTION_LETTERS[k].to_string(),
                        text: q
                            .content
                            .options
                            .get(*stored as usize)
                            .cloned()
                            .unwrap_or_default(),
                    })
                    .collect(),
            };
            Some(QuestionOut {
                position: it.position as i32,
                section: it.section as i32 + 1,
                kind: kind.label().into(),
                stem: q.content.stem.clone(),
                options,
                points: q.points,
                answer: saved
                    .get(&(it.position as i32))
                    .filter(|s| !s.is_empty())
                    .map(|s| answer_json(kind, s)),
            })
        })
        .collect();
    Ok(AttemptOut {
        attempt_id: a.id,
        deadline: a.deadline,
        remaining_seconds: (a.deadline - now).num_seconds().max(0),
        resumed: !fresh,
        questions,
    })
}

/// An answer as the exam room sends it: one key, or a list for 多选 (empty clears it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AnswerIn {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SaveInput {
    #[schema(value_type = Object)]
    pub answer: AnswerIn,
    /// The client's sequence number for this attempt (increasing): a save that arrives late
    /// never overwrites a newer one. Omitted: the server's clock.
    #[serde(default)]
    pub seq: Option<i64>,
}

/// Checks a save before it is queued: the attempt is open, the position exists, the answer is
/// made of this question's keys. Returns (attempt id, normalised answer).
pub fn check_save(
    conn: &mut DbConn,
    papers: &Papers,
    token: &str,
    position: i32,
    input: &SaveInput,
) -> Result<(i64, String)> {
    // the hottest path: the candidate and the attempt in one query
    let (c, a) =
        db::candidate_and_attempt(conn, &access::token_hash(token))?.ok_or_else(session_ended)?;
    let c = &c;
    let a = a.ok_or_else(|| Error::Closed("考试尚未开始，请先进入考场".into()))?;
    if a.submitted_at.is_some() {
        return Err(Error::Closed("你已交卷，答案不能再修改".into()));
    }
    if a.deadline <= crate::db::now() {
        return Err(Error::Closed("考试时间已到，这个答案没有保存".into()));
    }
    let p = papers.get(conn, c.batch_id)?;
    let items = p.paper(c);
    let it = items
        .get((position.max(1) - 1) as usize)
        .filter(|_| position >= 1)
        .ok_or_else(|| Error::NotFound(format!("试卷中没有第 {position} 题")))?;
    let q = p
        .questions
        .get(&it.version_id)
        .ok_or_else(|| Error::not_found("题目"))?;
    let given = match &input.answer {
        AnswerIn::One(s) if s.is_empty() => vec![],
        AnswerIn::One(s) => vec![s.clone()],
        AnswerIn::Many(v) => v.clone(),
    };
    let answer = paper::normalise_answer(q.content.kind, q.content.options.len(), &given)
        .map_err(|m| Error::invalid("answer", m))?;
    Ok((a.id, answer))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmitOut {
    pub submitted: bool,
    /// Present when the batch shows the score at hand-in.
    pub score: Option<f64>,
    pub passed: Option<bool>,
    pub message: String,
}

/// Hands the paper in and grades it (the caller has flushed pending saves first).
pub fn submit(
    conn: &mut DbConn,
    papers: &Papers,
    c: &db::Candidate,
    client: &Client,
) -> Result<SubmitOut> {
    let a = db::attempt_of(conn, c.id)?.ok_or_else(|| Error::Closed("考试尚未开始".into()))?;
    let p = papers.get(conn, c.batch_id)?;
    let now = crate::db::now();
    if a.submitted_at.is_none() {
        let late = a.deadline <= now;
        let at_time = if late { a.deadline } else { now };
        let (score, passed) = grade_attempt(conn, &p, c, a.id)?;
        let by = if late { "到时" } else { "交卷" };
        if db::close_attempt(conn, a.id, at_time, by, score, passed)? {
            db::log_event(
                conn,
                c.id,
                now,
                if late { "到时收卷" } else { "交卷" },
                &client.ip,
                &client.device,
                "",
            )?;
            audit::transaction(conn, &crate::audit::Actor::system("考场"), |conn, rec| {
                rec.record(
                    conn,
                    Change::new(
                        "exam.submit",
                        "exam_candidate",
                        &c.ticket_no,
                        format!(
                            "考生 {} {}，得分 {score}",
                            c.ticket_no,
                            if late { "到时收卷" } else { "交卷" }
                        ),
                    ),
                )
            })?;
        }
    }
    let a = db::attempt_of(conn, c.id)?.ok_or_else(|| Error::not_found("作答记录"))?;
    let show = p.batch.show_score;
    Ok(SubmitOut {
        submitted: true,
        score: if show { a.score } else { None },
        passed: if show { a.passed } else { None },
        message: if show {
            format!(
                "已交卷。得分 {}，{}",
                a.score.unwrap_or(0.0),
                if a.passed == Some(true) {
                    "合格"
                } else {
                    "不合格"
                }
            )
        } else {
            "已交卷，成绩将由司法局公布".into()
        },
    })
}

fn grade_attempt(
    conn: &mut DbConn,
    p: &BatchPapers,
    c: &db::Candidate,
    attempt_id: i64,
) -> Result<(f64, bool)> {
    let answers: HashMap<i32, String> = db::answers_of(conn, attempt_id)?.into_iter().collect();
    let score = p.grade(c, &answers);
    Ok((score, score >= p.batch.pass_mark))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegradeChange {
    pub ticket_no: String,
    pub before: Option<f64>,
    pub after: f64,
    pub passed_before: Option<bool>,
    pub passed_after: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Regraded {
    /// Closed attempts graded again.
    pub attempts: usize,
    /// Those whose score changed (each in the audit trail with before and after).
    pub changed: Vec<RegradeChange>,
}

/// Grades a batch's closed attempts again, after questions were corrected in the bank.
pub fn regrade(
    conn: &mut DbConn,
    grant: &Grant,
    papers: &Papers,
    batch_id: i64,
) -> Result<Regraded> {
    grant.require(Capability::ManageExams)?;
    let p = load_papers(conn, batch_id)?;
    let out = audit::transaction(conn, grant.actor(), |conn, rec| {
        let closed = db::closed_attempts_of_batch(conn, batch_id)?;
        let mut all: HashMap<i64, HashMap<i32, String>> = HashMap::new();
        for (attempt, position, answer) in db::answers_of_batch(conn, batch_id)? {
            all.entry(attempt).or_default().insert(position, answer);
        }
        let none = HashMap::new();
        let mut changed = Vec::new();
        for (a, c) in &closed {
            let answers = all.get(&a.id).unwrap_or(&none);
            let score = p.grade(c, answers);
            let passed = score >= p.batch.pass_mark;
            if a.score != Some(score) || a.passed != Some(passed) {
                db::set_grade(conn, a.id, score, passed)?;
                rec.record(
                    conn,
                    Change::new(
                        "exam.regrade",
                        "exam_candidate",
                        &c.ticket_no,
                        format!(
                            "考生 {} 重新评分：{} → {score}",
                            c.ticket_no,
                            a.score
                                .map(|s| s.to_string())
                                .unwrap_or_else(|| "无".into())
                        ),
                    )
                    .before(&serde_json::json!({"score": a.score, "passed": a.passed}))
                    .after(&serde_json::json!({"score": score, "passed": passed})),
                )?;
                changed.push(RegradeChange {
                    ticket_no: c.ticket_no.clone(),
                    before: a.score,
                    after: score,
                    passed_before: a.passed,
                    passed_after: passed,
                });
            }
        }
        Ok(Regraded {
            attempts: closed.len(),
            changed,
        })
    })?;
    papers.forget(batch_id);
    Ok(out)
}

/// Closes one attempt whose time is up (graded with what was saved).
pub fn close_expired(
    conn: &mut DbConn,
    papers: &Papers,
    attempt_id: i64,
    candidate_id: i64,
) -> Result<bool> {
    let c = db::candidate(conn, candidate_id)?;
    let p = papers.get(conn, c.batch_id)?;
    let a = db::attempt_of(conn, candidate_id)?.ok_or_else(|| Error::not_found("作答记录"))?;
    if a.submitted_at.is_some() || a.deadline > crate::db::now() {
        return Ok(false);
    }
    let (score, passed) = grade_attempt(conn, &p, &c, attempt_id)?;
    let closed = db::close_attempt(conn, attempt_id, a.deadline, "到时", score, passed)?;
    if closed {
        db::log_event(conn, c.id, crate::db::now(), "到时收卷", "服务器", "", "")?;
        audit::transaction(conn, &crate::audit::Actor::system("考场"), |conn, rec| {
            rec.record(
                conn,
                Change::new(
                    "exam.close",
                    "exam_candidate",
                    &c.ticket_no,
                    format!("考生 {} 考试时间已到，系统收卷，得分 {score}", c.ticket_no),
                ),
            )
        })?;
    }
    Ok(closed)
}

/// Puts the attempts started since the last run into the audit trail, many in one transaction,
/// so thousands of candidates starting in the same minute don't queue on the chain's lock.
/// Safe on several replicas: a start recorded twice is avoided by marking inside the same
/// transaction (a second replica's batch finds it marked, or waits for the lock and then does).
pub fn record_starts(conn: &mut DbConn) -> Result<usize> {
    let mut total = 0;
    loop {
        let n = audit::transaction(conn, &crate::audit::Actor::system("考场"), |conn, rec| {
            let due = db::unaudited_starts(conn, 1000)?;
            for (_, ticket, started) in &due {
                rec.record(
                    conn,
                    Change::new(
                        "exam.start",
                        "exam_candidate",
                        ticket,
                        format!(
                            "考生 {ticket} 于 {} 开始作答",
                            crate::roster::rules::chinese_datetime(started)
                        ),
                    ),
                )?;
            }
            let ids: Vec<i64> = due.iter().map(|d| d.0).collect();
            db::mark_starts_audited(conn, &ids)?;
            Ok(due.len())
        })?;
        total += n;
        if n < 1000 {
            return Ok(total);
        }
    }
}

/// Closes every attempt past its deadline (the background task runs this; safe on several
/// replicas: an attempt is closed by whichever gets there first). Returns how many it closed.
/// Closes (and grades) at most 500 attempts whose time is up; the job runner calls it every few
/// seconds, so a run stays well inside its lease and the rest follow on the next tick. Answers
/// are refused from the deadline on whether or not the attempt is closed yet.
pub fn close_all_expired(conn: &mut DbConn, papers: &Papers) -> Result<usize> {
    let mut closed = 0;
    for (attempt_id, candidate_id) in db::expired_attempts(conn, crate::db::now(), 500)? {
        if close_expired(conn, papers, attempt_id, candidate_id)? {
            closed += 1;
        }
    }
    Ok(closed)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ExtraTime {
    /// Minutes added (1–120).
    pub minutes: i32,
    /// Why: the accommodation granted, or the incident.
    pub reason: String,
}

fn check_extra(e: &ExtraTime) -> Result<String> {
    if !(1..=120).contains(&e.minutes) {
        return Err(Error::invalid("minutes", "延长时间应为 1 至 120 分钟"));
    }
    let reason = e.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(Error::invalid("reason", "请写明延长原因（不超过 200 字）"));
    }
    Ok(reason.to_string())
}

/// Extra time for one candidate (an accommodation): their window and, if they have started,
/// their deadline move; on the record.
pub fn grant_extra_time(
    conn: &mut DbConn,
    grant: &Grant,
    ticket_no: &str,
    e: &ExtraTime,
) -> Result<Option<NaiveDateTime>> {
    grant.require(Capability::ManageExams)?;
    let reason = check_extra(e)?;
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let c = db::candidate_by_ticket(conn, ticket_no.trim())?
            .ok_or_else(|| Error::not_found("准考证"))?;
        db::set_extra_minutes(conn, c.id, c.extra_minutes + e.minutes)?;
        let mut deadline = None;
        if let Some(a) = db::attempt_of(conn, c.id)?
            && a.submitted_at.is_none()
        {
            let d = a.deadline + Duration::minutes(e.minutes as i64);
            db::set_deadline(conn, a.id, d)?;
            deadline = Some(d);
        }
        db::log_event(
            conn,
            c.id,
            crate::db::now(),
            "延时",
            "",
            "",
            &format!("延长 {} 分钟：{reason}", e.minutes),
        )?;
        rec.record(
            conn,
            Change::new(
                "exam.extra_time",
                "exam_candidate",
                &c.ticket_no,
                format!("考生 {} 延长 {} 分钟：{reason}", c.ticket_no, e.minutes),
            ),
        )?;
        Ok(deadline)
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Move {
    /// The session to move to (of the same batch).
    pub session_id: i64,
    pub reason: String,
}

/// Moves a candidate who has not started to another session of the batch (by hand), at the
/// next free seat there; the paper follows the seat (the same rule, reproducible), on the record.
pub fn move_candidate(
    conn: &mut DbConn,
    grant: &Grant,
    ticket_no: &str,
    m: &Move,
) -> Result<db::Session> {
    grant.require(Capability::ManageExams)?;
    let reason = m.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(Error::invalid(
            "reason",
            "请说明调整场次的原因（200 字以内）",
        ));
    }
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let c = db::candidate_by_ticket(conn, ticket_no.trim())?
            .ok_or_else(|| Error::not_found("准考证"))?;
        if db::attempt_of(conn, c.id)?.is_some() {
            return Err(Error::Closed("该考生已开始考试，不能调整场次".into()));
        }
        let from = db::session(conn, c.session_id)?;
        let to = db::session(conn, m.session_id)
            .optional()?
            .filter(|s| s.batch_id == c.batch_id)
            .ok_or_else(|| Error::invalid("session_id", "本批次没有这个场次"))?;
        if to.id == from.id {
            return Ok(to);
        }
        let (taken, last_seat) = db::seats_of(conn, to.id)?;
        if taken >= i64::from(to.capacity) {
            return Err(Error::invalid(
                "session_id",
                format!("场次“{}”已满（{} 人）", to.name, to.capacity),
            ));
        }
        if db::set_session(conn, c.id, to.id, last_seat.map_or(0, |s| s + 1))? == 0 {
            return Err(Error::Closed("该考生已开始考试，不能调整场次".into()));
        }
        rec.record(
            conn,
            Change::new(
                "exam.move",
                "exam_candidate",
                &c.ticket_no,
                format!(
                    "考生 {} 由“{}”调整到“{}”：{reason}",
                    c.ticket_no, from.name, to.name
                ),
            ),
        )?;
        Ok(to)
    })
}

/// A session-wide extension (an incident in the exam room): the window and every open
/// attempt's deadline move; on the record. Returns how many attempts moved.
pub fn extend_session(
    conn: &mut DbConn,
    grant: &Grant,
    session_id: i64,
    e: &ExtraTime,
) -> Result<usize> {
    grant.require(Capability::ManageExams)?;
    let reason = check_extra(e)?;
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let s = db::session(conn, session_id)
            .optional()?
            .ok_or_else(|| Error::not_found("场次"))?;
        db::set_extension(conn, s.id, s.extension_minutes + e.minutes)?;
        let open = db::open_attempts_of_session(conn, s.id)?;
        for (id, deadline) in &open {
            db::set_deadline(conn, *id, *deadline + Duration::minutes(e.minutes as i64))?;
        }
        rec.record(
            conn,
            Change::new(
                "exam.extend",
                "exam_session",
                s.id,
                format!(
                    "场次“{}”整体延长 {} 分钟（{} 名正在作答的考生）：{reason}",
                    s.name,
                    e.minutes,
                    open.len()
                ),
            ),
        )?;
        Ok(open.len())
    })
}
