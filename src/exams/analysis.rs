//! A batch's statistics for the bureau: item analysis with flags for questions that look wrong,
//! the score distribution, and the copying screen with its evidence laid out for a reviewer.
//! The figures are `stats`' pure functions; this module feeds them a batch's handed-in papers.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::stats::{self, Flag, Response, ScreenConfig, Sheet};
use super::{Papers, db, paper};
use crate::auth::{Capability, Grant};
use crate::bank::rules::QuestionKind;
use crate::db::DbConn;
use crate::db::schema::{exam_candidates as ec, officers, questions, units};
use crate::error::Result;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnswerCount {
    /// Stored option letters (as in the bank), 正确/错误, or 未作答.
    pub answer: String,
    pub count: usize,
    pub is_key: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemReport {
    /// The question's code in the bank, and the version the papers used.
    pub code: String,
    pub version: i32,
    #[serde(rename = "type")]
    pub kind: String,
    pub stem: String,
    pub key: String,
    /// Papers that had it (handed in).
    pub n: usize,
    /// Proportion right (难度系数 P).
    pub facility: Option<f64>,
    /// Upper 27% minus lower 27% proportion right (区分度 D).
    pub discrimination: Option<f64>,
    /// Corrected item–rest correlation.
    pub point_biserial: Option<f64>,
    pub answers: Vec<AnswerCount>,
    /// In Chinese: 区分度为负, 几乎无人答对, 几乎全部答对, 答案可能有误, 作答人数不足.
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Person {
    pub ticket_no: String,
    pub name: String,
    pub unit: String,
    pub score: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceItem {
    pub code: String,
    pub stem: String,
    /// The wrong answer both gave (stored option letters or 正确/错误).
    pub answer: String,
    /// How likely a candidate of the copier's level gives that answer honestly.
    pub probability: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuspectPair {
    pub session: String,
    /// The candidate whose answers look copied, and the one they match.
    pub copier: Person,
    pub source: Person,
    /// Questions both papers had.
    pub shared: usize,
    /// Same answer, right or wrong.
    pub identical: usize,
    /// Same wrong answer.
    pub identical_wrong: usize,
    /// Same wrong answers expected of an honest candidate of the copier's level.
    pub expected: f64,
    /// ω: (identical_wrong − expected) / sd.
    pub index: f64,
    pub p_value: f64,
    pub evidence: Vec<EvidenceItem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScoreBin {
    pub from: f64,
    pub to: f64,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchAnalysis {
    pub batch_id: i64,
    pub code: String,
    pub title: String,
    /// Handed-in papers analysed.
    pub candidates: usize,
    pub mean_score: f64,
    pub sd_score: f64,
    pub pass_mark: f64,
    pub total_points: f64,
    /// KR-20 reliability (pooled over per-candidate papers).
    pub kr20: Option<f64>,
    pub score_bins: Vec<ScoreBin>,
    /// Flagged questions first, then by facility.
    pub items: Vec<ItemReport>,
    /// How the copying screen works and at what level it flags.
    pub screen_method: String,
    pub screen_alpha: f64,
    pub suspects: Vec<SuspectPair>,
    /// The score distribution as SVG (server-rendered).
    #[serde(skip)]
    pub histogram_svg: String,
}

const BIN: f64 = 5.0;

fn flag_label(f: Flag) -> &'static str {
    match f {
        Flag::NegativeDiscrimination => "区分度为负",
        Flag::AlmostNobodyRight => "几乎无人答对",
        Flag::AlmostEverybodyRight => "几乎全部答对",
        Flag::KeySuspect => "答案可能有误",
        Flag::FewResponses => "作答人数不足",
    }
}

fn answer_label(kind: QuestionKind, stored: &str) -> String {
    match (kind, stored) {
        (_, "") => "未作答".into(),
        (QuestionKind::Judge, "A") => "正确".into(),
        (QuestionKind::Judge, "B") => "错误".into(),
        (_, s) => s.to_string(),
    }
}

fn stem_of(s: &str) -> String {
    let short: String = s.chars().take(60).collect();
    if short.chars().count() < s.chars().count() {
        format!("{short}…")
    } else {
        short
    }
}

pub fn analyse(
    conn: &mut DbConn,
    grant: &Grant,
    papers: &Papers,
    batch_id: i64,
) -> Result<BatchAnalysis> {
    grant.require(Capability::ManageExams)?;
    let p = papers.get(conn, batch_id)?;
    let closed = db::closed_attempts_of_batch(conn, batch_id)?;
    let mut answers: HashMap<i64, HashMap<i32, String>> = HashMap::new();
    for (attempt, position, answer) in db::answers_of_batch(conn, batch_id)? {
        answers.entry(attempt).or_default().insert(position, answer);
    }
    let sessions: Vec<db::Session> = db::sessions_of(conn, batch_id)?;
    let session_index: HashMap<i64, usize> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id, i))
        .collect();

    // Dense question indices and per-question answer ids (stored letters → id).
    let mut question_of: HashMap<i64, usize> = HashMap::new();
    let mut versions: Vec<i64> = Vec::new();
    let mut answer_ids: Vec<HashMap<String, u32>> = Vec::new();
    let mut sheets = Vec::with_capacity(closed.len());
    let empty = HashMap::new();
    for (i, (a, c)) in closed.iter().enumerate() {
        let given = answers.get(&a.id).unwrap_or(&empty);
        let mut responses = Vec::new();
        for s in p.score_items(&p.paper(c), given) {
            let q = *question_of.entry(s.version_id).or_insert_with(|| {
                versions.push(s.version_id);
                answer_ids.push(HashMap::new());
                versions.len() - 1
            });
            let answer = (!s.given.is_empty()).then(|| {
                let ids = &mut answer_ids[q];
                let next = ids.len() as u32;
                *ids.entry(s.given.clone()).or_insert(next)
            });
            responses.push(Response {
                question: q,
                answer,
                correct: s.correct,
            });
        }
        responses.sort_by_key(|r| r.question);
        sheets.push(Sheet {
            candidate: i,
            session: session_index.get(&c.session_id).copied().unwrap_or(0),
            responses,
        });
    }
    let n_questions = versions.len();
    let analysis = stats::item_analysis(&sheets, n_questions);

    // Family-wise: the chance of any honest pair being flagged stays near 5%.
    let mut pairs = 0f64;
    for i in 0..sessions.len() {
        let n = sheets.iter().filter(|s| s.session == i).count() as f64;
        pairs += n * (n - 1.0);
    }
    let cfg = ScreenConfig {
        alpha: (0.05 / pairs.max(1.0)).min(1e-4),
        ..ScreenConfig::default()
    };
    let suspects = stats::screen(&sheets, n_questions, &cfg);

    // Who is who, and what each question is.
    let ids: Vec<i64> = closed.iter().map(|(_, c)| c.id).collect();
    let mut people: HashMap<i64, (String, String)> = HashMap::new();
    for chunk in ids.chunks(5000) {
        for (id, name, unit) in ec::table
            .inner_join(officers::table.inner_join(units::table))
            .filter(ec::id.eq_any(chunk))
            .select((ec::id, officers::name, units::name))
            .load::<(i64, String, String)>(conn)?
        {
            people.insert(id, (name, unit));
        }
    }
    let rows = crate::bank::db::versions_by_ids(conn, &versions)?;
    let qids: Vec<i64> = rows.iter().map(|v| v.question_id).collect();
    let codes: HashMap<i64, String> = questions::table
        .filter(questions::id.eq_any(&qids))
        .select((questions::id, questions::code))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let meta: HashMap<i64, (String, i32)> = rows
        .iter()
        .map(|v| {
            (
                v.id,
                (
                    codes.get(&v.question_id).cloned().unwrap_or_default(),
                    v.version,
                ),
            )
        })
        .collect();

    let person = |i: usize| {
        let (a, c) = &closed[i];
        let (name, unit) = people.get(&c.id).cloned().unwrap_or_default();
        Person {
            ticket_no: c.ticket_no.clone(),
            name,
            unit,
            score: a.score,
        }
    };
    let question_text = |q: usize| {
        let v = versions[q];
        let content = &p.questions[&v].content;
        (meta.get(&v).cloned().unwrap_or_default(), content)
    };
    let decode = |q: usize, id: u32| {
        answer_ids[q]
            .iter()
            .find(|(_, v)| **v == id)
            .map(|(k, _)| k.clone())
            .unwrap_or_default()
    };

    let mut items: Vec<ItemReport> = analysis
        .items
        .iter()
        .filter(|it| it.question < n_questions)
        .map(|it| {
            let ((code, version), content) = question_text(it.question);
            let key = paper::paper_answer(content.kind, &content.answer, &[0, 1, 2, 3, 4, 5, 6, 7]);
            let answers = it
                .answers
                .iter()
                .map(|(a, count)| {
                    let stored = a.map(|id| decode(it.question, id)).unwrap_or_default();
                    AnswerCount {
                        is_key: !stored.is_empty() && stored == key,
                        answer: answer_label(content.kind, &stored),
                        count: *count,
                    }
                })
                .collect();
            ItemReport {
                code,
                version,
                kind: content.kind.label().to_string(),
                stem: stem_of(&content.stem),
                key: answer_label(content.kind, &key),
                n: it.n,
                facility: it.facility,
                discrimination: it.discrimination,
                point_biserial: it.point_biserial,
                answers,
                flags: it
                    .flags
                    .iter()
                    .map(|f| flag_label(*f).to_string())
                    .collect(),
            }
        })
        .collect();
    let serious = |i: &ItemReport| i.flags.iter().any(|f| f != "作答人数不足");
    items.sort_by(|a, b| {
        serious(b).cmp(&serious(a)).then(
            a.facility
                .unwrap_or(1.0)
                .total_cmp(&b.facility.unwrap_or(1.0)),
        )
    });

    let suspects = suspects
        .iter()
        .map(|s| SuspectPair {
            session: sessions
                .get(sheets[s.copier].session)
                .map(|x| x.name.clone())
                .unwrap_or_default(),
            copier: person(s.copier),
            source: person(s.source),
            shared: s.shared,
            identical: s.identical,
            identical_wrong: s.identical_wrong,
            expected: s.expected,
            index: s.index,
            p_value: s.p_value,
            evidence: s
                .evidence
                .iter()
                .map(|e| {
                    let ((code, _), content) = question_text(e.question);
                    EvidenceItem {
                        code,
                        stem: stem_of(&content.stem),
                        answer: answer_label(content.kind, &decode(e.question, e.answer)),
                        probability: e.probability,
                    }
                })
                .collect(),
        })
        .collect();

    let scores: Vec<f64> = closed.iter().filter_map(|(a, _)| a.score).collect();
    let total = p.batch.total_points;
    let mean = if scores.is_empty() {
        0.0
    } else {
        scores.iter().sum::<f64>() / scores.len() as f64
    };
    let sd = if scores.is_empty() {
        0.0
    } else {
        (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / scores.len() as f64).sqrt()
    };
    let mut score_bins = Vec::new();
    let mut from = 0.0;
    while from < total {
        let to = (from + BIN).min(total);
        let last = to >= total;
        let count = scores
            .iter()
            .filter(|s| **s >= from && (**s < to || (last && **s <= to)))
            .count();
        score_bins.push(ScoreBin { from, to, count });
        from = to;
    }
    Ok(BatchAnalysis {
        batch_id,
        code: p.batch.code.clone(),
        title: p.batch.title.clone(),
        candidates: analysis.candidates,
        mean_score: (mean * 100.0).round() / 100.0,
        sd_score: (sd * 100.0).round() / 100.0,
        pass_mark: p.batch.pass_mark,
        total_points: total,
        kr20: analysis.kr20,
        score_bins,
        items,
        screen_method: "ω 指数（Wollack 1997），只计相同的错误答案：比较两名同场考生相同错误答案的实际数与同水平考生独立作答时的期望数；作答概率按总分十分位分层、逐题统计（去除这两名考生本人），p 值为精确的泊松二项分布上尾概率。标记只提示需要人工复核，不能作为作弊的证据".into(),
        screen_alpha: cfg.alpha,
        suspects,
        histogram_svg: stats::histogram_svg(&scores, total, p.batch.pass_mark, BIN),
    })
}

/// The score distribution alone, from the scores on record (no papers rebuilt).
pub fn distribution_svg(conn: &mut DbConn, grant: &Grant, batch_id: i64) -> Result<String> {
    let r = super::results::batch(conn, grant, batch_id)?;
    let scores: Vec<f64> = r.rows.iter().filter_map(|x| x.score).collect();
    Ok(stats::histogram_svg(
        &scores,
        r.total_points,
        r.pass_mark,
        BIN,
    ))
}
