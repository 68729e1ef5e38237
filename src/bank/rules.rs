//! The question bank's pure rules: the vocabularies, what makes a question well formed (answers,
//! options, difficulty, legal basis), and the content hash that recognises an unchanged question.

use super::laws::{Laws, article_key, law_key};
use crate::roster::rules::{to_half_width, vocabulary};
use serde::Serialize;
use sha2::{Digest, Sha256};

vocabulary!(
    /// 题型.
    QuestionKind, "题型" {
        Single => "单选" ["单选题", "单项选择题", "单项选择", "单选择题", "选择题", "单项"],
        Multiple => "多选" ["多选题", "多项选择题", "多项选择", "不定项选择题", "不定项选择", "不定项", "多项"],
        Judge => "判断" ["判断题", "是非题", "对错题", "判断正误", "正误判断", "是非判断"],
    }
);

vocabulary!(
    /// 科目: the two parts a qualification exam has.
    Part, "科目" {
        Public => "公共法律知识" [
            "公共", "公共法律", "通用法律知识", "通用", "公共科目", "公共知识", "公共法律知识部分",
            "公共法律基础知识", "通用知识",
        ],
        Professional => "专业法律知识" ["专业", "专业法律", "专业知识", "专业科目", "专业法律知识部分"],
    }
);

vocabulary!(
    /// Whether a question may be drawn.
    QuestionStatus, "状态" {
        Active => "在用" ["启用", "正常", "有效", "使用中"],
        Retired => "停用" ["已停用", "作废", "已作废", "退役", "禁用"],
    }
);

/// The category of every 公共法律知识 question.
pub const GENERAL_CATEGORY: &str = "通用";
pub const MAX_OPTIONS: usize = 6;
pub const OPTION_LETTERS: [char; MAX_OPTIONS] = ['A', 'B', 'C', 'D', 'E', 'F'];
const MAX_STEM_CHARS: usize = 2000;
const MAX_OPTION_CHARS: usize = 500;
const MAX_TEXT_CHARS: usize = 4000;
const MAX_CATEGORY_CHARS: usize = 30;
pub const JUDGE_TRUE: &str = "正确";
pub const JUDGE_FALSE: &str = "错误";

/// A question as someone wrote it (a TOML entry, a spreadsheet row, a form): text, unchecked.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct Draft {
    pub part: String,
    pub category: String,
    pub kind: String,
    pub stem: String,
    pub options: Vec<String>,
    pub answer: String,
    pub difficulty: String,
    pub law: String,
    pub article: String,
    pub quote: Vec<String>,
    pub explanation: String,
}

/// A well-formed question's content: what one version holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Content {
    pub part: Part,
    pub category: String,
    pub kind: QuestionKind,
    pub stem: String,
    /// The option texts, A first; empty for 判断.
    pub options: Vec<String>,
    /// Letters in order ("A", "ACD") or 正确 / 错误.
    pub answer: String,
    pub difficulty: i32,
    /// The law's short name (行政处罚法) and the article (第五十一条); empty when not given.
    pub law: String,
    pub article: String,
    /// The article's words that decide the answer, each found in the article's text.
    pub quote: Vec<String>,
    pub explanation: String,
}

/// What is wrong with a draft: field (as the API names it) → why, in Chinese.
pub type Problems = Vec<(&'static str, String)>;

/// How strict the check is: the shipped bank must carry its whole proof; a bureau's own
/// questions may leave out the quote and the explanation (but what they give must hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    Proof,
    Bureau,
}

impl Content {
    /// Checks a draft. A cited law zhifa ships is checked against its text: the article must
    /// exist, and each quoted fragment must appear in it character for character.
    pub fn parse(d: &Draft, laws: &Laws, strict: Strictness) -> Result<Content, Problems> {
        let mut p: Problems = Vec::new();
        let part = match Part::parse(&d.part) {
            Some(v) => Some(v),
            None if d.part.trim().is_empty() => {
                p.push(("part", "请填写科目（公共法律知识或专业法律知识）".into()));
                None
            }
            None => {
                p.push((
                    "part",
                    format!(
                        "科目“{}”无法识别，应为公共法律知识或专业法律知识",
                        clip(&d.part)
                    ),
                ));
                None
            }
        };
        let category = squash(&d.category);
        let category = match part {
            Some(Part::Public) if category.is_empty() => GENERAL_CATEGORY.to_string(),
            Some(Part::Professional) if category.is_empty() || category == GENERAL_CATEGORY => {
                p.push((
                    "category",
                    "专业法律知识的题目须填写执法类别（如 市场监管、生态环境、交通运输）".into(),
                ));
                category
            }
            _ => category,
        };
        if category.chars().count() > MAX_CATEGORY_CHARS {
            p.push((
                "category",
                format!("执法类别不能超过 {MAX_CATEGORY_CHARS} 个字"),
            ));
        }
        let kind = match QuestionKind::parse(&d.kind) {
            Some(k) => Some(k),
            None => {
                p.push((
                    "kind",
                    if d.kind.trim().is_empty() {
                        "请填写题型（单选、多选或判断）".into()
                    } else {
                        format!("题型“{}”无法识别，应为单选、多选或判断", clip(&d.kind))
                    },
                ));
                None
            }
        };
        let stem = d.stem.trim().to_string();
        if stem.is_empty() {
            p.push(("stem", "题干不能为空".into()));
        } else if stem.chars().count() > MAX_STEM_CHARS {
            p.push(("stem", format!("题干不能超过 {MAX_STEM_CHARS} 个字")));
        }
        let options = match kind {
            Some(QuestionKind::Judge) => Vec::new(),
            _ => parse_options(&d.options, &mut p),
        };
        let answer = kind
            .map(|k| parse_answer(k, &d.answer, &d.options, options.len(), &mut p))
            .unwrap_or_default();
        let difficulty = match parse_difficulty(&d.difficulty) {
            Ok(v) => v,
            Err(m) => {
                p.push(("difficulty", m));
                0
            }
        };
        let explanation = d.explanation.trim().to_string();
        if explanation.chars().count() > MAX_TEXT_CHARS {
            p.push(("explanation", format!("解析不能超过 {MAX_TEXT_CHARS} 个字")));
        }
        let quote: Vec<String> = d
            .quote
            .iter()
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty())
            .collect();
        let law = law_key(&d.law);
        let article = if d.article.trim().is_empty() {
            String::new()
        } else {
            match article_key(&d.article) {
                Some(a) => a,
                None => {
                    p.push((
                        "article",
                        format!(
                            "条文“{}”无法识别，应写作“第五十一条”或“第51条”",
                            clip(&d.article)
                        ),
                    ));
                    String::new()
                }
            }
        };
        check_basis(&law, &article, &quote, laws, &mut p);
        if strict == Strictness::Proof {
            for (field, value, what) in [
                ("law", law.as_str(), "法律依据"),
                ("article", article.as_str(), "条文"),
                ("explanation", explanation.as_str(), "解析"),
            ] {
                if value.is_empty() && !p.iter().any(|(f, _)| *f == field) {
                    p.push((field, format!("{what}不能为空")));
                }
            }
            if quote.is_empty() {
                p.push(("quote", "须引用决定答案的条文原文（quote）".into()));
            }
        }
        if !p.is_empty() {
            return Err(p);
        }
        Ok(Content {
            part: part.expect("checked"),
            category,
            kind: kind.expect("checked"),
            stem,
            options,
            answer,
            difficulty,
            law,
            article,
            quote,
            explanation,
        })
    }

    /// SHA-256 over the content: equal content, equal hash.
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&json))
    }

    /// The code an imported question without one gets: derived from its content, so importing
    /// the same sheet again finds the same questions.
    pub fn derived_code(&self) -> String {
        format!("Q-{}", &self.hash()[..10].to_uppercase())
    }

    /// Whether `given` (letters or 正确/错误, any spelling) is this question's answer.
    pub fn is_correct(&self, given: &str) -> bool {
        let mut ignored = Vec::new();
        let normalised = match self.kind {
            QuestionKind::Judge => judge_value(given, &[]),
            _ => letters(given, self.options.len(), &mut ignored),
        };
        normalised.as_deref() == Some(self.answer.as_str())
    }

    /// 法律依据 as people read it: 《中华人民共和国行政处罚法》第五十一条.
    pub fn basis(&self, laws: &Laws) -> String {
        if self.law.is_empty() {
            return String::new();
        }
        let title = laws
            .get(&self.law)
            .map(|l| l.title.clone())
            .unwrap_or_else(|| self.law.clone());
        format!("《{title}》{}", self.article)
    }

    /// The draft this content was made from (for editing and export).
    pub fn to_draft(&self) -> Draft {
        Draft {
            part: self.part.label().into(),
            category: self.category.clone(),
            kind: self.kind.label().into(),
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

fn clip(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 20 {
        format!("{}…", s.chars().take(20).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Whitespace inside removed, ends trimmed (categories: "市场 监管" is 市场监管).
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Options as given, with a letter prefix that repeats the column ("A.", "A、", "（A）") dropped;
/// trailing empty options ignored; a gap, a repeat or too many refused.
fn parse_options(raw: &[String], p: &mut Problems) -> Vec<String> {
    let mut opts: Vec<String> = raw
        .iter()
        .enumerate()
        .map(|(i, o)| strip_letter(o.trim(), i))
        .collect();
    while opts.last().is_some_and(|o| o.is_empty()) {
        opts.pop();
    }
    if opts.len() > MAX_OPTIONS {
        p.push(("options", format!("选项最多 {MAX_OPTIONS} 个（A 至 F）")));
        return opts;
    }
    if opts.len() < 2 {
        p.push(("options", "选择题至少要有两个选项".into()));
        return opts;
    }
    if let Some(i) = opts.iter().position(|o| o.is_empty()) {
        p.push((
            "options",
            format!(
                "选项{}为空，但后面还有选项：选项须从 A 起连续填写",
                OPTION_LETTERS[i]
            ),
        ));
    }
    for (i, o) in opts.iter().enumerate() {
        if o.chars().count() > MAX_OPTION_CHARS {
            p.push((
                "options",
                format!("选项{}不能超过 {MAX_OPTION_CHARS} 个字", OPTION_LETTERS[i]),
            ));
        }
        if let Some(j) = opts[..i].iter().position(|x| x == o && !o.is_empty()) {
            p.push((
                "options",
                format!(
                    "选项{}与选项{}内容相同",
                    OPTION_LETTERS[i], OPTION_LETTERS[j]
                ),
            ));
        }
    }
    opts
}

fn strip_letter(o: &str, i: usize) -> String {
    let letter = OPTION_LETTERS.get(i).copied().unwrap_or('?');
    let half = to_half_width(o);
    let mut chars = half.chars();
    let rest = match (chars.next(), chars.next()) {
        (Some('('), Some(c)) if c.to_ascii_uppercase() == letter && chars.next() == Some(')') => {
            Some(chars.as_str())
        }
        (Some(c), Some('.' | '、' | ':' | ' ' | '．')) if c.to_ascii_uppercase() == letter => {
            Some(chars.as_str())
        }
        _ => None,
    };
    match rest {
        // keep the original's characters: drop as many chars as the prefix took
        Some(rest) => {
            let n = half.chars().count() - rest.chars().count();
            o.chars().skip(n).collect::<String>().trim().to_string()
        }
        None => o.to_string(),
    }
}

/// Letters named in an answer ("A", "a,c", "A、C", "ＡＣ", "CA"), sorted and unique, if they
/// are all among the `n` options.
fn letters(raw: &str, n: usize, bad: &mut Vec<char>) -> Option<String> {
    let mut out: Vec<char> = Vec::new();
    for c in to_half_width(raw).chars() {
        if c.is_whitespace() || matches!(c, ',' | '、' | ';' | '，' | '；' | '/' | '|') {
            continue;
        }
        let u = c.to_ascii_uppercase();
        match OPTION_LETTERS[..n.min(MAX_OPTIONS)]
            .iter()
            .position(|l| *l == u)
        {
            Some(_) => {
                if !out.contains(&u) {
                    out.push(u);
                }
            }
            None => bad.push(c),
        }
    }
    out.sort_unstable();
    if out.is_empty() || !bad.is_empty() {
        None
    } else {
        Some(out.into_iter().collect())
    }
}

/// 正确 or 错误 from the ways sheets write it (对/错, √/×, 是/否, T/F, or the option letter when
/// the sheet gave 正确/错误 as options A and B).
fn judge_value(raw: &str, options: &[String]) -> Option<String> {
    let key: String = to_half_width(raw)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    let truthy = [
        "正确", "对", "√", "✓", "✔", "是", "T", "TRUE", "Y", "YES", "V", "R",
    ];
    let falsy = [
        "错误", "错", "×", "✗", "✘", "X", "否", "F", "FALSE", "N", "NO",
    ];
    if truthy.contains(&key.as_str()) {
        return Some(JUDGE_TRUE.into());
    }
    if falsy.contains(&key.as_str()) {
        return Some(JUDGE_FALSE.into());
    }
    // "A"/"B" naming options that say 正确/错误
    let idx = match key.as_str() {
        "A" => 0,
        "B" => 1,
        _ => return None,
    };
    options
        .get(idx)
        .and_then(|o| judge_value(o, &[]))
        .or_else(|| {
            options
                .is_empty()
                .then(|| [JUDGE_TRUE, JUDGE_FALSE][idx].to_string())
        })
}

fn parse_answer(
    kind: QuestionKind,
    raw: &str,
    raw_options: &[String],
    n: usize,
    p: &mut Problems,
) -> String {
    if raw.trim().is_empty() {
        p.push(("answer", "答案不能为空".into()));
        return String::new();
    }
    match kind {
        QuestionKind::Judge => judge_value(raw, raw_options).unwrap_or_else(|| {
            p.push((
                "answer",
                format!(
                    "判断题的答案“{}”无法识别，应为正确或错误（也可写 对/错、√/×）",
                    clip(raw)
                ),
            ));
            String::new()
        }),
        QuestionKind::Single | QuestionKind::Multiple => {
            let mut bad = Vec::new();
            let Some(l) = letters(raw, n, &mut bad) else {
                let last = OPTION_LETTERS
                    .get(n.saturating_sub(1))
                    .copied()
                    .unwrap_or('A');
                p.push((
                    "answer",
                    format!(
                        "答案“{}”不在选项之中：本题有 {n} 个选项，答案应为 A 至 {last} 中的字母",
                        clip(raw)
                    ),
                ));
                return String::new();
            };
            let count = l.chars().count();
            if kind == QuestionKind::Single && count != 1 {
                p.push((
                    "answer",
                    format!("单选题只能有一个答案，这里是“{l}”；多个答案请把题型改为多选"),
                ));
            }
            if kind == QuestionKind::Multiple && count < 2 {
                p.push((
                    "answer",
                    format!(
                        "多选题至少有两个正确答案，这里只有“{l}”；只有一个答案请把题型改为单选"
                    ),
                ));
            }
            l
        }
    }
}

/// 1–5, or the words sheets use (易, 较易, 中等, 较难, 难).
pub fn parse_difficulty(raw: &str) -> Result<i32, String> {
    let key: String = to_half_width(raw)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let v = match key.as_str() {
        "" => return Err("请填写难度（1 至 5）".into()),
        "易" | "容易" | "简单" | "很容易" => 1,
        "较易" | "较容易" | "较简单" | "偏易" => 2,
        "中" | "中等" | "一般" | "适中" | "普通" => 3,
        "较难" | "偏难" | "较困难" => 4,
        "难" | "困难" | "很难" => 5,
        k => match k.trim_end_matches(".0").parse::<i32>() {
            Ok(v) if (1..=5).contains(&v) => v,
            _ => {
                return Err(format!(
                    "难度“{}”无法识别，应为 1 至 5 的整数（或 易、较易、中等、较难、难）",
                    clip(raw)
                ));
            }
        },
    };
    Ok(v)
}

/// A shipped law's article must exist and hold every quoted fragment; a law zhifa doesn't ship
/// can't be checked, and a quote needs a law and an article to be checked against.
fn check_basis(law: &str, article: &str, quote: &[String], laws: &Laws, p: &mut Problems) {
    if law.is_empty() {
        if !article.is_empty() {
            p.push(("law", "写了条文，但没有写是哪部法律".into()));
        }
        if !quote.is_empty() {
            p.push(("law", "引用了原文，但没有写是哪部法律".into()));
        }
        return;
    }
    let Some(text) = laws.get(law) else {
        return;
    };
    if article.is_empty() {
        if !quote.is_empty() {
            p.push(("article", "引用了原文，但没有写是哪一条".into()));
        }
        return;
    }
    let Some(body) = text.article(article) else {
        p.push((
            "article",
            format!(
                "《{}》（{}）中没有{article}（该法共 {} 条）",
                text.title,
                text.version_short(),
                text.article_count()
            ),
        ));
        return;
    };
    for q in quote {
        if !body.contains(q.as_str()) {
            p.push((
                "quote",
                format!(
                    "引用的原文“{}”在《{}》{article}中找不到（须一字不差）",
                    clip(q),
                    text.title
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(kind: &str, options: &[&str], answer: &str) -> Draft {
        Draft {
            part: "公共".into(),
            kind: kind.into(),
            stem: "题干".into(),
            options: options.iter().map(|s| s.to_string()).collect(),
            answer: answer.into(),
            difficulty: "3".into(),
            ..Draft::default()
        }
    }

    fn parse(d: &Draft) -> Result<Content, Problems> {
        Content::parse(d, Laws::shipped(), Strictness::Bureau)
    }

    #[test]
    fn answers_in_the_ways_sheets_write_them() {
        let c = parse(&draft("多选题", &["甲", "乙", "丙", "丁"], "c、a")).unwrap();
        assert_eq!(c.answer, "AC");
        assert_eq!(c.kind, QuestionKind::Multiple);
        assert_eq!(c.category, GENERAL_CATEGORY);
        assert!(c.is_correct("A,C") && c.is_correct("ca") && !c.is_correct("A"));
        let c = parse(&draft("判断题", &[], "√")).unwrap();
        assert_eq!(c.answer, JUDGE_TRUE);
        let c = parse(&draft("判断", &["正确", "错误"], "B")).unwrap();
        assert_eq!(c.answer, JUDGE_FALSE);
        assert!(c.options.is_empty());
        let c = parse(&draft(
            "单选",
            &["A. 三日", "B、五日", "（C）七日", "D十日"],
            "ｂ",
        ))
        .unwrap();
        assert_eq!(c.options, ["三日", "五日", "七日", "D十日"]);
    }

    #[test]
    fn wrong_answers_say_why() {
        let e = parse(&draft("单选", &["甲", "乙", "丙", "丁"], "E")).unwrap_err();
        assert!(e[0].1.contains("A 至 D"), "{e:?}");
        let e = parse(&draft("单选", &["甲", "乙", "丙", "丁"], "AB")).unwrap_err();
        assert!(e[0].1.contains("改为多选"), "{e:?}");
        let e = parse(&draft("多选", &["甲", "乙", "丙", "丁"], "B")).unwrap_err();
        assert!(e[0].1.contains("改为单选"), "{e:?}");
        let e = parse(&draft("单选", &["甲", "", "丙"], "A")).unwrap_err();
        assert!(e[0].1.contains("选项B为空"), "{e:?}");
        let e = parse(&draft("单选", &["甲", "甲"], "A")).unwrap_err();
        assert!(e[0].1.contains("内容相同"), "{e:?}");
        let e = parse(&draft("问答", &[], "A")).unwrap_err();
        assert_eq!(e[0].0, "kind");
    }

    #[test]
    fn difficulty_words() {
        assert_eq!(parse_difficulty("较难"), Ok(4));
        assert_eq!(parse_difficulty("2.0"), Ok(2));
        assert!(parse_difficulty("6").is_err());
    }

    #[test]
    fn the_basis_is_checked_against_the_shipped_text() {
        let mut d = draft("单选", &["五十元", "二百元"], "B");
        d.law = "《中华人民共和国行政处罚法》".into();
        d.article = "第51条".into();
        d.quote = vec!["对公民处以二百元以下".into()];
        let c = parse(&d).unwrap();
        assert_eq!(
            (c.law.as_str(), c.article.as_str()),
            ("行政处罚法", "第五十一条")
        );
        assert_eq!(
            c.basis(Laws::shipped()),
            "《中华人民共和国行政处罚法》第五十一条"
        );
        // the pre-2021 limit is not in the current text
        d.quote = vec!["对公民处以五十元以下".into()];
        let e = parse(&d).unwrap_err();
        assert_eq!(e[0].0, "quote", "{e:?}");
        d.article = "第二百条".into();
        let e = parse(&d).unwrap_err();
        assert!(e[0].1.contains("没有第二百条"), "{e:?}");
    }

    #[test]
    fn the_hash_follows_the_content() {
        let a = parse(&draft("单选", &["甲", "乙"], "A")).unwrap();
        let mut b = a.clone();
        assert_eq!(a.hash(), b.hash());
        b.answer = "B".into();
        assert_ne!(a.hash(), b.hash());
        assert!(a.derived_code().starts_with("Q-") && a.derived_code().len() == 12);
    }
}
