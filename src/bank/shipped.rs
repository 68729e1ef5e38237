//! The shipped bank (`question-bank/*.toml`), built into the binary so a new installation loads
//! it on first start with nothing on disk. Its proof is the test below: every question must be
//! well formed and every quote must stand, character for character, in the cited article of the
//! shipped law text.

use super::file::{self, Incoming};
use crate::error::{Error, Result};

pub(super) const BANK_FILES: &[(&str, &str)] = &[
    ("宪法.toml", include_str!("../../question-bank/宪法.toml")),
    (
        "行政处罚法.toml",
        include_str!("../../question-bank/行政处罚法.toml"),
    ),
    (
        "行政许可法.toml",
        include_str!("../../question-bank/行政许可法.toml"),
    ),
    (
        "行政强制法.toml",
        include_str!("../../question-bank/行政强制法.toml"),
    ),
    (
        "行政复议法.toml",
        include_str!("../../question-bank/行政复议法.toml"),
    ),
    (
        "行政诉讼法.toml",
        include_str!("../../question-bank/行政诉讼法.toml"),
    ),
    (
        "国家赔偿法.toml",
        include_str!("../../question-bank/国家赔偿法.toml"),
    ),
    (
        "政府信息公开条例.toml",
        include_str!("../../question-bank/政府信息公开条例.toml"),
    ),
    (
        "产品质量法.toml",
        include_str!("../../question-bank/产品质量法.toml"),
    ),
    (
        "消费者权益保护法.toml",
        include_str!("../../question-bank/消费者权益保护法.toml"),
    ),
    (
        "环境保护法.toml",
        include_str!("../../question-bank/环境保护法.toml"),
    ),
    (
        "公路法.toml",
        include_str!("../../question-bank/公路法.toml"),
    ),
    (
        "道路运输条例.toml",
        include_str!("../../question-bank/道路运输条例.toml"),
    ),
];

/// Every shipped question, read (not yet checked).
pub fn incoming() -> Result<Vec<Incoming>> {
    let mut out = Vec::new();
    for (name, text) in BANK_FILES {
        out.extend(file::read(name, text).map_err(|e| Error::Internal(anyhow::anyhow!(e)))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::laws::Laws;
    use crate::bank::rules::{Content, Part, QuestionKind, Strictness};
    use std::collections::{BTreeMap, HashMap};

    fn bank_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("question-bank")
    }

    /// The proof: reads every file in question-bank/ from disk (not only the built-in list) and
    /// checks each question strictly against the shipped law texts.
    #[test]
    fn bank_proof() {
        let laws = Laws::shipped();
        let mut failures = Vec::new();
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut stems: HashMap<String, String> = HashMap::new();
        let mut per_law: BTreeMap<(String, String), [usize; 3]> = BTreeMap::new();
        let mut per_part: HashMap<Part, usize> = HashMap::new();
        let mut per_category: BTreeMap<String, usize> = BTreeMap::new();
        let mut entries: Vec<_> = std::fs::read_dir(bank_dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        entries.sort();
        assert!(!entries.is_empty());
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            let questions = match file::read(&name, &text) {
                Ok(q) => q,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            for q in questions {
                let code = q.code.clone().unwrap_or_default();
                if !file::valid_code(&code) {
                    failures.push(format!("{}: 编号“{code}”不合规", q.location));
                }
                if let Some(first) = ids.insert(code.clone(), q.location.clone()) {
                    failures.push(format!("{}: 编号 {code} 与 {first} 重复", q.location));
                }
                match Content::parse(&q.draft, laws, Strictness::Proof) {
                    Ok(c) => {
                        if let Some(first) = stems.insert(c.stem.clone(), q.location.clone()) {
                            failures.push(format!("{}: 题干与 {first} 相同", q.location));
                        }
                        if laws.get(&c.law).is_none() {
                            failures.push(format!("{}: 法律“{}”没有随附文本", q.location, c.law));
                        }
                        for frag in &c.quote {
                            if frag.chars().count() < 6 {
                                failures.push(format!("{}: 引文“{frag}”过短", q.location));
                            }
                        }
                        let k = match c.kind {
                            QuestionKind::Single => 0,
                            QuestionKind::Multiple => 1,
                            QuestionKind::Judge => 2,
                        };
                        per_law
                            .entry((c.part.label().into(), c.law.clone()))
                            .or_default()[k] += 1;
                        *per_part.entry(c.part).or_default() += 1;
                        if c.part == Part::Professional {
                            *per_category.entry(c.category.clone()).or_default() += 1;
                        }
                    }
                    Err(ps) => {
                        for (f, m) in ps {
                            failures.push(format!("{}: [{f}] {m}", q.location));
                        }
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} 处问题：\n{}",
            failures.len(),
            failures.join("\n")
        );
        // the issue's floor: 500 in all, 350 public, three professional categories of 50+
        let total: usize = per_part.values().sum();
        assert!(total >= 500, "only {total} questions");
        assert!(per_part[&Part::Public] >= 350, "{per_part:?}");
        let big: Vec<_> = per_category.iter().filter(|(_, n)| **n >= 50).collect();
        assert!(big.len() >= 3, "{per_category:?}");
        for ((part, law), [s, m, j]) in &per_law {
            eprintln!(
                "{part}\t{law}\t单选 {s}\t多选 {m}\t判断 {j}\t共 {}",
                s + m + j
            );
        }
    }

    #[test]
    fn the_built_in_list_is_the_directory() {
        let mut on_disk: Vec<String> = std::fs::read_dir(bank_dir())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = BANK_FILES.iter().map(|(n, _)| n.to_string()).collect();
        listed.sort();
        assert_eq!(
            listed, on_disk,
            "question-bank/*.toml and BANK_FILES differ"
        );
    }

    #[test]
    fn a_question_written_for_the_old_law_fails_the_proof() {
        // the pre-2021 hearing deadline: three days
        let text = r#"
law = "行政处罚法"
part = "公共法律知识"
category = "通用"
[[questions]]
id = "OLD-001"
type = "单选"
stem = "当事人要求听证的，应当在行政机关告知后（　）内提出。"
options = ["三日", "五日", "七日", "十日"]
answer = "A"
difficulty = 2
article = "第六十四条"
quote = "当事人要求听证的，应当在行政机关告知后三日内提出"
explanation = "旧法规定三日。"
"#;
        let q = &file::read("old.toml", text).unwrap()[0];
        let e = Content::parse(&q.draft, Laws::shipped(), Strictness::Proof).unwrap_err();
        assert_eq!(e[0].0, "quote", "{e:?}");
    }
}
