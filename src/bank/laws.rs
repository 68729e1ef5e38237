//! The current texts of the laws the shipped bank cites (`question-bank/laws/`, built into the
//! binary): finding an article, and the names people write for a law or an article.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The law files, built in so a fresh installation needs nothing on disk. A test checks this
/// list against the directory.
pub(super) const LAW_FILES: &[(&str, &str)] = &[
    ("宪法", include_str!("../../question-bank/laws/宪法.md")),
    (
        "行政处罚法",
        include_str!("../../question-bank/laws/行政处罚法.md"),
    ),
    (
        "行政许可法",
        include_str!("../../question-bank/laws/行政许可法.md"),
    ),
    (
        "行政强制法",
        include_str!("../../question-bank/laws/行政强制法.md"),
    ),
    (
        "行政复议法",
        include_str!("../../question-bank/laws/行政复议法.md"),
    ),
    (
        "行政诉讼法",
        include_str!("../../question-bank/laws/行政诉讼法.md"),
    ),
    (
        "国家赔偿法",
        include_str!("../../question-bank/laws/国家赔偿法.md"),
    ),
    (
        "政府信息公开条例",
        include_str!("../../question-bank/laws/政府信息公开条例.md"),
    ),
    (
        "产品质量法",
        include_str!("../../question-bank/laws/产品质量法.md"),
    ),
    (
        "消费者权益保护法",
        include_str!("../../question-bank/laws/消费者权益保护法.md"),
    ),
    (
        "环境保护法",
        include_str!("../../question-bank/laws/环境保护法.md"),
    ),
    ("公路法", include_str!("../../question-bank/laws/公路法.md")),
    (
        "道路运输条例",
        include_str!("../../question-bank/laws/道路运输条例.md"),
    ),
];

/// One law's current text.
#[derive(Debug)]
pub struct LawText {
    /// The short name questions cite it by (行政处罚法).
    pub key: String,
    /// 中华人民共和国行政处罚法
    pub title: String,
    /// The version as the source states it (2021年1月22日…修订).
    pub version: String,
    /// In force since (2021-07-15).
    pub effective: String,
    articles: BTreeMap<String, String>,
    order: Vec<String>,
}

impl LawText {
    /// Parses a law file: the front block, then articles at lines `第X条 `.
    pub fn parse(key: &str, text: &str) -> Option<LawText> {
        let rest = text.strip_prefix("---\n")?;
        let (front, body) = rest.split_once("\n---\n")?;
        let field = |name: &str| {
            front
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
                .map(str::to_string)
        };
        let body = body
            .split_once("<!-- INFO END -->")
            .map_or(body, |(_, b)| b);
        let mut articles = BTreeMap::new();
        let mut order = Vec::new();
        let mut current: Option<(String, String)> = None;
        for line in body.split('\n') {
            if let Some((name, first)) = article_line(line) {
                if let Some((n, t)) = current.take() {
                    articles.insert(n, t);
                }
                order.push(name.to_string());
                current = Some((name.to_string(), first.to_string()));
            } else if line.starts_with('#') {
                if let Some((n, t)) = current.take() {
                    articles.insert(n, t);
                }
            } else if let Some((_, t)) = current.as_mut() {
                t.push('\n');
                t.push_str(line);
            }
        }
        if let Some((n, t)) = current.take() {
            articles.insert(n, t);
        }
        Some(LawText {
            key: key.to_string(),
            title: field("title")?,
            version: field("version")?,
            effective: field("effective")?,
            articles: articles
                .into_iter()
                .map(|(k, v)| (k, v.trim_end().to_string()))
                .collect(),
            order,
        })
    }

    /// The text of an article (第五十一条), its paragraphs separated by blank lines.
    pub fn article(&self, name: &str) -> Option<&str> {
        self.articles.get(name).map(String::as_str)
    }

    pub fn article_count(&self) -> usize {
        self.order.len()
    }

    /// 2021年1月22日修订 — the date and kind of the last change, for showing next to a title.
    pub fn version_short(&self) -> String {
        let date_end = self.version.find('日').map(|i| i + '日'.len_utf8());
        let kind = ["修订", "修正", "通过", "公布"]
            .into_iter()
            .find(|k| self.version.ends_with(k) || self.version.contains(&format!("{k}）")))
            .unwrap_or("");
        match date_end {
            Some(i) => format!("{}{kind}", &self.version[..i]),
            None => self.version.clone(),
        }
    }
}

/// `第五十一条 文字` → ("第五十一条", "文字").
fn article_line(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('第')?;
    let end = rest.find('条')?;
    let digits = &rest[..end];
    if digits.is_empty() || !digits.chars().all(is_cn_digit) {
        return None;
    }
    let name_len = '第'.len_utf8() + end + '条'.len_utf8();
    let after = line[name_len..].strip_prefix(' ')?;
    Some((&line[..name_len], after))
}

fn is_cn_digit(c: char) -> bool {
    "零〇一二三四五六七八九十百千".contains(c)
}

/// Every shipped law, by short name.
pub struct Laws {
    laws: BTreeMap<String, LawText>,
}

impl Laws {
    pub fn shipped() -> &'static Laws {
        static LAWS: OnceLock<Laws> = OnceLock::new();
        LAWS.get_or_init(|| Laws {
            laws: LAW_FILES
                .iter()
                .filter_map(|(k, t)| LawText::parse(k, t).map(|l| (k.to_string(), l)))
                .collect(),
        })
    }

    pub fn get(&self, key: &str) -> Option<&LawText> {
        self.laws.get(key)
    }

    pub fn all(&self) -> impl Iterator<Item = &LawText> {
        self.laws.values()
    }
}

/// The short name of a law as people write it: 《中华人民共和国行政处罚法》（2021年修订） → 行政处罚法.
pub fn law_key(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(c, '《' | '》' | '<' | '>' | '〈' | '〉' | '“' | '”' | '"')
        })
        .collect();
    // a trailing version note in brackets
    for open in ['（', '('] {
        if let Some(i) = s.find(open)
            && i > 0
        {
            s.truncate(i);
        }
    }
    s.strip_prefix("中华人民共和国").unwrap_or(&s).to_string()
}

/// 第五十一条 from 第五十一条, 第51条, 51, "第五十一条第一款" (the article only).
pub fn article_key(raw: &str) -> Option<String> {
    let s: String = crate::roster::rules::to_half_width(raw)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let s = s.strip_prefix('第').unwrap_or(&s);
    let end = s.find('条').unwrap_or(s.len());
    let num = &s[..end];
    if num.is_empty() {
        return None;
    }
    if num.chars().all(|c| c.is_ascii_digit()) {
        let n: u32 = num.parse().ok()?;
        return (1..10_000)
            .contains(&n)
            .then(|| format!("第{}条", cn_number(n)));
    }
    num.chars().all(is_cn_digit).then(|| format!("第{num}条"))
}

/// 51 → 五十一, 101 → 一百零一, 110 → 一百一十: how Chinese laws number their articles.
pub fn cn_number(n: u32) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    if n < 10 {
        return D[n as usize].to_string();
    }
    if n < 20 {
        return format!(
            "十{}",
            if n.is_multiple_of(10) {
                ""
            } else {
                D[(n % 10) as usize]
            }
        );
    }
    let mut out = String::new();
    let units = [(1000, "千"), (100, "百"), (10, "十")];
    let mut rest = n;
    let mut zero = false;
    for (u, name) in units {
        let d = rest / u;
        rest %= u;
        if d > 0 {
            if zero {
                out.push('零');
                zero = false;
            }
            out.push_str(D[d as usize]);
            out.push_str(name);
        } else if !out.is_empty() {
            zero = true;
        }
    }
    if rest > 0 {
        if zero {
            out.push('零');
        }
        out.push_str(D[rest as usize]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_numbers() {
        assert_eq!(cn_number(1), "一");
        assert_eq!(cn_number(10), "十");
        assert_eq!(cn_number(15), "十五");
        assert_eq!(cn_number(51), "五十一");
        assert_eq!(cn_number(100), "一百");
        assert_eq!(cn_number(101), "一百零一");
        assert_eq!(cn_number(110), "一百一十");
        assert_eq!(cn_number(143), "一百四十三");
        assert_eq!(article_key("第51条").as_deref(), Some("第五十一条"));
        assert_eq!(
            article_key("第五十一条第一款").as_deref(),
            Some("第五十一条")
        );
        assert_eq!(article_key("64").as_deref(), Some("第六十四条"));
        assert_eq!(article_key("第X条"), None);
        assert_eq!(
            law_key("《中华人民共和国行政处罚法》（2021年修订）"),
            "行政处罚法"
        );
        assert_eq!(law_key("政府信息公开条例"), "政府信息公开条例");
    }

    #[test]
    fn every_shipped_law_parses_with_all_its_articles() {
        let laws = Laws::shipped();
        assert_eq!(laws.all().count(), LAW_FILES.len());
        let cf = laws.get("行政处罚法").unwrap();
        assert_eq!(cf.title, "中华人民共和国行政处罚法");
        assert_eq!(cf.effective, "2021-07-15");
        assert_eq!(cf.article_count(), 86);
        assert_eq!(cf.version_short(), "2021年1月22日修订");
        let a = cf.article("第六十四条").unwrap();
        assert!(a.contains("当事人要求听证的，应当在行政机关告知后五日内提出"));
        // an article ends before the next chapter heading
        assert!(!cf.article("第一条").unwrap().contains('#'));
        for law in laws.all() {
            // numbering is continuous: 第一条 … 第N条
            for n in 1..=law.article_count() as u32 {
                let name = format!("第{}条", cn_number(n));
                assert!(law.article(&name).is_some(), "{} lacks {name}", law.key);
            }
        }
    }

    #[test]
    fn the_built_in_list_is_the_directory() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/question-bank/laws");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".md").map(str::to_string))
            .filter(|n| n != "README")
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = LAW_FILES.iter().map(|(k, _)| k.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "question-bank/laws and LAW_FILES differ");
    }
}
