//! Demonstration and benchmark data: a bureau-style sheet of many questions, made from the
//! shipped bank (each a variant of a shipped question, so every row passes the same checks).

use super::laws::Laws;
use super::rules::{Content, QuestionStatus, Strictness};
use crate::error::{Error, Result};

/// `n` questions as the import layout writes them, coded DEMO-00001 ….
pub fn questions_xlsx(n: usize) -> Result<Vec<u8>> {
    let laws = Laws::shipped();
    let base: Vec<Content> = super::shipped::incoming()?
        .iter()
        .filter_map(|q| Content::parse(&q.draft, laws, Strictness::Proof).ok())
        .collect();
    if base.is_empty() {
        return Err(Error::Internal(anyhow::anyhow!("随附题库为空")));
    }
    let rows: Vec<(String, QuestionStatus, Content)> = (0..n)
        .map(|i| {
            let mut c = base[i % base.len()].clone();
            c.stem = format!("（第 {} 组）{}", i / base.len() + 1, c.stem);
            (format!("DEMO-{:05}", i + 1), QuestionStatus::Active, c)
        })
        .collect();
    super::sheet::write(&rows, laws).map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))
}
