//! The bank's TOML format (question-bank/*.toml): reading a file into drafts with their stable
//! ids, and writing questions back in the same format.

use super::rules::{Content, Draft, QuestionStatus};
use serde::{Deserialize, Serialize};

/// One question read from a file, before it is checked.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Where it is, as the report says it: 第12行, or 第3题（CF-003）.
    pub location: String,
    /// The stable id, when the source gives one.
    pub code: Option<String>,
    pub draft: Draft,
    pub status: Option<QuestionStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BankFile {
    law: Option<String>,
    part: Option<String>,
    category: Option<String>,
    #[serde(default)]
    questions: Vec<FileQuestion>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQuestion {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    stem: String,
    #[serde(default)]
    options: Vec<String>,
    answer: String,
    difficulty: Number,
    law: Option<String>,
    part: Option<String>,
    category: Option<String>,
    #[serde(default)]
    article: String,
    quote: Option<OneOrMany>,
    #[serde(default)]
    explanation: String,
    status: Option<String>,
}

/// Reads a bank file. A syntax error or an unknown key is one error for the file (with its
/// line); each question becomes an [`Incoming`] with the file's defaults filled in.
pub fn read(name: &str, text: &str) -> Result<Vec<Incoming>, String> {
    let file: BankFile = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                format!(
                    "第 {} 行：",
                    text[..s.start.min(text.len())].lines().count().max(1)
                )
            })
            .unwrap_or_default();
        format!("{name} 不是有效的题库文件：{at}{}", e.message())
    })?;
    let mut out = Vec::with_capacity(file.questions.len());
    for (i, q) in file.questions.into_iter().enumerate() {
        let status = q.status.as_deref().map(|s| {
            QuestionStatus::parse(s).ok_or_else(|| {
                format!(
                    "{name} 第 {} 题（{}）：状态“{s}”应为在用或停用",
                    i + 1,
                    q.id
                )
            })
        });
        let status = match status {
            Some(Err(e)) => return Err(e),
            Some(Ok(s)) => Some(s),
            None => None,
        };
        out.push(Incoming {
            location: format!("{name} 第 {} 题（{}）", i + 1, q.id),
            code: Some(q.id),
            draft: Draft {
                part: q.part.or(file.part.clone()).unwrap_or_default(),
                category: q.category.or(file.category.clone()).unwrap_or_default(),
                kind: q.kind,
                stem: q.stem,
                options: q.options,
                answer: q.answer,
                difficulty: match q.difficulty {
                    Number::Int(v) => v.to_string(),
                    Number::Text(t) => t,
                },
                law: q.law.or(file.law.clone()).unwrap_or_default(),
                article: q.article,
                quote: match q.quote {
                    None => vec![],
                    Some(OneOrMany::One(s)) => vec![s],
                    Some(OneOrMany::Many(v)) => v,
                },
                explanation: q.explanation,
            },
            status,
        });
    }
    Ok(out)
}

#[derive(Serialize)]
struct OutFile<'a> {
    questions: Vec<OutQuestion<'a>>,
}

#[derive(Serialize)]
struct OutQuestion<'a> {
    id: &'a str,
    status: &'a str,
    part: &'a str,
    category: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    stem: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    options: &'a [String],
    answer: &'a str,
    difficulty: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    law: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    article: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    quote: Option<OneOrMany>,
    #[serde(skip_serializing_if = "str::is_empty")]
    explanation: &'a str,
}

/// Writes questions in the bank format (every field on each question, so the file reads alone).
pub fn write(questions: &[(String, QuestionStatus, Content)]) -> String {
    let out = OutFile {
        questions: questions
            .iter()
            .map(|(code, status, c)| OutQuestion {
                id: code,
                status: status.label(),
                part: c.part.label(),
                category: &c.category,
                kind: c.kind.label(),
                stem: &c.stem,
                options: &c.options,
                answer: &c.answer,
                difficulty: c.difficulty as i64,
                law: &c.law,
                article: &c.article,
                quote: match c.quote.len() {
                    0 => None,
                    1 => Some(OneOrMany::One(c.quote[0].clone())),
                    _ => Some(OneOrMany::Many(c.quote.clone())),
                },
                explanation: &c.explanation,
            })
            .collect(),
    };
    let body = toml::to_string(&out).unwrap_or_default();
    format!(
        "# zhifa 题库导出（{}）。可用“zhifa import questions 文件”或题库页面的导入重新载入。\n\n{body}",
        chrono::Local::now().format("%Y年%-m月%-d日")
    )
}

/// A stable id as files write it: letters, digits, '-' and '_', at most 40.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 40
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
