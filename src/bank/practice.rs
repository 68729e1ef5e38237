//! Practice (模拟练习): a paper drawn at random from the active bank, each answer checked at once
//! with the explanation and the article's text. Practice is never a result: nothing is stored,
//! and exam papers are not touched.

use super::laws::Laws;
use super::rules::{Part, QuestionKind};
use super::{content_of, db};
use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use serde::Serialize;
use utoipa::ToSchema;

pub const MAX_COUNT: usize = 100;

/// A practice question as the page shows it: no answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PracticeQuestion {
    /// Send back with the answer to have it checked.
    pub version_id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub part: String,
    pub category: String,
    pub stem: String,
    /// Option texts for A, B, …; for 判断 the two choices 正确 and 错误.
    pub options: Vec<String>,
    /// Whether more than one option may be chosen.
    pub multiple: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PracticeResult {
    pub correct: bool,
    /// The right answer (letters, or 正确 / 错误).
    pub answer: String,
    pub explanation: String,
    /// 《中华人民共和国行政处罚法》第五十一条
    pub basis: String,
    pub quote: Vec<String>,
    /// The whole article, when zhifa ships the law's text.
    pub article_text: String,
}

/// Draws `count` questions from the active bank: a part, a category, or (neither) a mix.
pub fn paper(
    conn: &mut DbConn,
    grant: &Grant,
    part: Option<&str>,
    category: Option<&str>,
    count: usize,
) -> Result<Vec<PracticeQuestion>> {
    grant.require(Capability::Practice)?;
    let part = part
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            Part::parse(p)
                .map(Part::label)
                .ok_or_else(|| Error::BadRequest(format!("科目“{p}”无法识别")))
        })
        .transpose()?;
    let category = category.map(str::trim).filter(|c| !c.is_empty());
    let count = count.clamp(1, MAX_COUNT);
    let mut ids = db::active_version_ids(conn, part, category)?;
    if ids.is_empty() {
        return Err(Error::NotFound("所选范围内没有可练习的题目".into()));
    }
    let mut rng = rand::rng();
    ids.shuffle(&mut rng);
    ids.truncate(count);
    let mut rows = db::versions_by_ids(conn, &ids)?;
    // keep the drawn order
    rows.sort_by_key(|r| ids.iter().position(|i| *i == r.id));
    Ok(rows.iter().map(shown).collect())
}

fn shown(v: &db::VersionRow) -> PracticeQuestion {
    let c = content_of(v);
    PracticeQuestion {
        version_id: v.id,
        kind: c.kind.label().into(),
        part: c.part.label().into(),
        category: c.category.clone(),
        stem: c.stem.clone(),
        multiple: c.kind == QuestionKind::Multiple,
        options: match c.kind {
            QuestionKind::Judge => vec!["正确".into(), "错误".into()],
            _ => c.options.clone(),
        },
    }
}

/// One practice question again (a handed-in paper), without its answer.
pub fn question(conn: &mut DbConn, grant: &Grant, version_id: i64) -> Result<PracticeQuestion> {
    grant.require(Capability::Practice)?;
    let (_, v) = db::by_version_id(conn, version_id)?.ok_or_else(|| Error::not_found("题目"))?;
    Ok(shown(&v))
}

/// Checks one practice answer. For 判断 the answer may be given as 正确/错误 or as A/B.
pub fn check(
    conn: &mut DbConn,
    grant: &Grant,
    version_id: i64,
    answer: &str,
) -> Result<PracticeResult> {
    grant.require(Capability::Practice)?;
    if answer.trim().is_empty() {
        return Err(Error::invalid("answer", "请先选择答案"));
    }
    let (_, v) = db::by_version_id(conn, version_id)?.ok_or_else(|| Error::not_found("题目"))?;
    let c = content_of(&v);
    let laws = Laws::shipped();
    Ok(PracticeResult {
        correct: c.is_correct(answer),
        answer: c.answer.clone(),
        explanation: c.explanation.clone(),
        basis: c.basis(laws),
        quote: c.quote.clone(),
        article_text: laws
            .get(&c.law)
            .and_then(|l| l.article(&c.article))
            .map(|t| format!("{} {t}", c.article))
            .unwrap_or_default(),
    })
}
