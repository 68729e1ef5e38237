//! Blueprints (组卷规则): sections of part × category × type × count × points with a difficulty
//! mix, and whether the active bank can fill one — which section is short and by how many, how
//! many distinct papers it allows, and how much two random papers overlap. Pure: the bank's
//! counts come in as a [`Pool`].

use super::rules::{GENERAL_CATEGORY, Part, QuestionKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

pub const MAX_SECTIONS: usize = 30;
pub const MAX_QUESTIONS: u32 = 500;

/// A blueprint as a user or the exams module writes it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Blueprint {
    pub sections: Vec<SectionSpec>,
    /// Percent of every section's questions at difficulty 1, 2, 3, 4, 5 (five numbers adding up
    /// to 100). Omitted: any difficulty.
    #[serde(default)]
    pub difficulty_mix: Option<Vec<u32>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct SectionSpec {
    /// 公共法律知识 or 专业法律知识.
    pub part: String,
    /// The enforcement category (专业), or 通用; omitted or empty: every category of the part.
    #[serde(default)]
    pub category: Option<String>,
    /// 单选, 多选 or 判断.
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u32,
    /// Points per question.
    pub points: f64,
    /// 多选 only: `none` (default, all or nothing), `half` (少选得一半分: some right options and
    /// no wrong one earn half the points) or `proportional` (each right option chosen earns its
    /// share, any wrong option earns nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_credit: Option<String>,
}

/// A checked section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub part: Part,
    pub category: Option<String>,
    pub kind: QuestionKind,
    pub count: u32,
    pub points: f64,
    /// Questions wanted at each difficulty 1–5; `None`: any.
    pub by_difficulty: Option<[u32; 5]>,
    pub credit: Credit,
}

/// How a multiple-choice answer that is not exactly the key is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Credit {
    #[default]
    AllOrNothing,
    Half,
    Proportional,
}

impl Credit {
    pub fn parse(s: Option<&str>) -> Option<Credit> {
        match s.map(str::trim) {
            None | Some("") | Some("none") => Some(Credit::AllOrNothing),
            Some("half") => Some(Credit::Half),
            Some("proportional") => Some(Credit::Proportional),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Credit::AllOrNothing => "全对得分",
            Credit::Half => "少选得一半分",
            Credit::Proportional => "按选对比例得分",
        }
    }

    /// Points for `given` against `key` (both sorted option letters, `""`: blank).
    pub fn points(self, key: &str, given: &str, points: f64) -> f64 {
        if key.is_empty() || given.is_empty() {
            return 0.0;
        }
        if given == key {
            return points;
        }
        let partial = given.chars().all(|c| key.contains(c));
        match self {
            Credit::AllOrNothing => 0.0,
            _ if !partial => 0.0,
            Credit::Half => points / 2.0,
            Credit::Proportional => {
                // in whole hundredths, so 8.5 × 3/5 is 5.10, not 5.09
                let cents = (points * 100.0).round() as i64;
                let share = cents * given.chars().count() as i64 / key.chars().count() as i64;
                share as f64 / 100.0
            }
        }
    }
}

impl Section {
    pub fn label(&self) -> String {
        format!(
            "{}·{}·{}",
            self.part.label(),
            self.category.as_deref().unwrap_or("全部类别"),
            self.kind.label()
        )
    }

    fn overlaps(&self, other: &Section) -> bool {
        self.part == other.part
            && self.kind == other.kind
            && match (&self.category, &other.category) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// Splits `count` by percentages, largest remainder first (ties to the easier level), so every
/// paper has the same number of questions at each level.
pub fn split(count: u32, mix: &[u32; 5]) -> [u32; 5] {
    let total: u32 = mix.iter().sum::<u32>().max(1);
    let mut out = [0u32; 5];
    let mut rest: Vec<(u64, usize)> = Vec::new();
    for (i, pct) in mix.iter().enumerate() {
        let exact = count as u64 * *pct as u64;
        out[i] = (exact / total as u64) as u32;
        rest.push((exact % total as u64, i));
    }
    let mut left = count - out.iter().sum::<u32>();
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (r, i) in rest {
        if left == 0 {
            break;
        }
        if r > 0 || mix[i] > 0 {
            out[i] += 1;
            left -= 1;
        }
    }
    out
}

/// Checks a blueprint: known parts and types, positive counts and points, a mix of five numbers
/// adding up to 100, and sections that don't draw from the same questions.
pub fn check(b: &Blueprint) -> Result<Vec<Section>, Vec<String>> {
    let mut errs = Vec::new();
    if b.sections.is_empty() {
        errs.push("组卷规则至少要有一节".to_string());
    }
    if b.sections.len() > MAX_SECTIONS {
        errs.push(format!("组卷规则最多 {MAX_SECTIONS} 节"));
    }
    let mix = match &b.difficulty_mix {
        None => None,
        Some(m) if m.len() == 5 && m.iter().sum::<u32>() == 100 => {
            Some([m[0], m[1], m[2], m[3], m[4]])
        }
        Some(_) => {
            errs.push("难度比例应为五个百分数（难度 1 至 5），合计 100".to_string());
            None
        }
    };
    let mut out: Vec<Section> = Vec::new();
    for (i, s) in b.sections.iter().enumerate() {
        let n = i + 1;
        let part = Part::parse(&s.part);
        let kind = QuestionKind::parse(&s.kind);
        if part.is_none() {
            errs.push(format!(
                "第 {n} 节：科目“{}”应为公共法律知识或专业法律知识",
                s.part
            ));
        }
        if kind.is_none() {
            errs.push(format!("第 {n} 节：题型“{}”应为单选、多选或判断", s.kind));
        }
        if s.count == 0 || s.count > MAX_QUESTIONS {
            errs.push(format!("第 {n} 节：题量应为 1 至 {MAX_QUESTIONS}"));
        }
        if !(s.points > 0.0 && s.points <= 100.0 && (s.points * 2.0).fract() == 0.0) {
            errs.push(format!(
                "第 {n} 节：每题分值应大于 0、不超过 100，且为 0.5 的整数倍"
            ));
        }
        let category = s
            .category
            .as_deref()
            .map(|c| c.chars().filter(|c| !c.is_whitespace()).collect::<String>())
            .filter(|c| !c.is_empty());
        let credit = Credit::parse(s.partial_credit.as_deref());
        match credit {
            None => errs.push(format!(
                "第 {n} 节：部分得分规则“{}”应为 none、half 或 proportional",
                s.partial_credit.as_deref().unwrap_or_default()
            )),
            Some(c) if c != Credit::AllOrNothing && kind != Some(QuestionKind::Multiple) => {
                errs.push(format!("第 {n} 节：只有多选题可以设置部分得分"))
            }
            _ => {}
        }
        if let (Some(part), Some(kind)) = (part, kind) {
            let category = match (part, category) {
                (Part::Public, None) => Some(GENERAL_CATEGORY.to_string()),
                (_, c) => c,
            };
            let section = Section {
                part,
                category,
                kind,
                count: s.count,
                points: s.points,
                by_difficulty: mix.map(|m| split(s.count, &m)),
                credit: credit.unwrap_or_default(),
            };
            if let Some(j) = out.iter().position(|o| o.overlaps(&section)) {
                errs.push(format!(
                    "第 {n} 节与第 {} 节抽题范围重叠（{}）：同一科目、类别和题型只能设一节",
                    j + 1,
                    section.label()
                ));
            }
            out.push(section);
        }
    }
    let total: u32 = b.sections.iter().map(|s| s.count.min(MAX_QUESTIONS)).sum();
    if total > MAX_QUESTIONS {
        errs.push(format!("整卷题量 {total} 超过上限 {MAX_QUESTIONS}"));
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

/// Active questions by part × category × kind × difficulty.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    cells: HashMap<(Part, String, QuestionKind, i32), u32>,
}

impl Pool {
    pub fn add(&mut self, part: Part, category: &str, kind: QuestionKind, difficulty: i32, n: u32) {
        *self
            .cells
            .entry((part, category.to_string(), kind, difficulty))
            .or_default() += n;
    }

    /// Questions a section may draw at a difficulty (`None`: any).
    pub fn available(&self, s: &Section, difficulty: Option<i32>) -> u32 {
        self.cells
            .iter()
            .filter(|((p, c, k, d), _)| {
                *p == s.part
                    && *k == s.kind
                    && s.category.as_deref().is_none_or(|sc| sc == c)
                    && difficulty.is_none_or(|want| want == *d)
            })
            .map(|(_, n)| *n)
            .sum()
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Feasibility {
    /// Whether the active bank can fill every section.
    pub feasible: bool,
    pub question_count: u32,
    pub total_points: f64,
    pub sections: Vec<SectionReport>,
    /// log10 of the number of distinct papers (0 when infeasible).
    pub distinct_papers_log10: f64,
    /// The same, as people read it: 约 3.2×10^45 种, or the exact number when small.
    pub distinct_papers: String,
    /// Questions two independently drawn papers are expected to share.
    pub expected_shared: f64,
    /// The same as a percentage of the paper's questions.
    pub expected_shared_percent: f64,
    /// What is short, in Chinese (empty when feasible).
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SectionReport {
    pub label: String,
    pub count: u32,
    pub points: f64,
    pub available: u32,
    /// Questions missing to fill this section (0 when it can be filled).
    pub short: u32,
    pub by_difficulty: Vec<LevelReport>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LevelReport {
    pub difficulty: i32,
    pub required: u32,
    pub available: u32,
    pub short: u32,
}

/// log10 of C(n, k).
fn log10_choose(n: u32, k: u32) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    let k = k.min(n - k);
    (0..k)
        .map(|i| ((n - i) as f64).log10() - ((i + 1) as f64).log10())
        .sum()
}

/// Whether the pool can fill the sections, and how varied the papers can be.
pub fn feasibility(sections: &[Section], pool: &Pool) -> Feasibility {
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    let mut log10 = 0.0;
    let mut shared = 0.0;
    for (i, s) in sections.iter().enumerate() {
        // (difficulty or None, required)
        let cells: Vec<(Option<i32>, u32)> = match s.by_difficulty {
            Some(levels) => (1..=5)
                .zip(levels)
                .filter(|(_, k)| *k > 0)
                .map(|(d, k)| (Some(d), k))
                .collect(),
            None => vec![(None, s.count)],
        };
        let mut levels = Vec::new();
        let mut short = 0;
        for (d, k) in cells {
            let n = pool.available(s, d);
            let miss = k.saturating_sub(n);
            short += miss;
            if miss == 0 {
                log10 += log10_choose(n, k);
                shared += (k as f64) * (k as f64) / (n as f64);
            } else if let Some(d) = d {
                problems.push(format!(
                    "第 {} 节（{}）难度 {d} 需要 {k} 题，题库只有 {n} 题，缺 {miss} 题",
                    i + 1,
                    s.label()
                ));
            } else {
                problems.push(format!(
                    "第 {} 节（{}）需要 {k} 题，题库只有 {n} 题，缺 {miss} 题",
                    i + 1,
                    s.label()
                ));
            }
            if let Some(d) = d {
                levels.push(LevelReport {
                    difficulty: d,
                    required: k,
                    available: n,
                    short: miss,
                });
            }
        }
        reports.push(SectionReport {
            label: s.label(),
            count: s.count,
            points: s.points,
            available: pool.available(s, None),
            short,
            by_difficulty: levels,
        });
    }
    let feasible = problems.is_empty();
    let question_count: u32 = sections.iter().map(|s| s.count).sum();
    let total_points = sections.iter().map(|s| s.count as f64 * s.points).sum();
    Feasibility {
        feasible,
        question_count,
        total_points,
        sections: reports,
        distinct_papers_log10: if feasible { log10 } else { 0.0 },
        distinct_papers: if feasible {
            readable_count(log10)
        } else {
            "0 种（题库不足）".into()
        },
        expected_shared: if feasible { shared } else { 0.0 },
        expected_shared_percent: if feasible && question_count > 0 {
            shared * 100.0 / question_count as f64
        } else {
            0.0
        },
        problems,
    }
}

fn readable_count(log10: f64) -> String {
    if log10 < 15.0 {
        format!("{} 种", 10f64.powf(log10).round())
    } else {
        let exp = log10.floor();
        format!("约 {:.1}×10^{} 种", 10f64.powf(log10 - exp), exp as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spec(part: &str, category: Option<&str>, kind: &str, count: u32) -> SectionSpec {
        SectionSpec {
            part: part.into(),
            category: category.map(str::to_string),
            kind: kind.into(),
            count,
            points: 1.0,
            partial_credit: None,
        }
    }

    fn pool(n_per_level: u32) -> Pool {
        let mut p = Pool::default();
        for d in 1..=5 {
            p.add(Part::Public, "通用", QuestionKind::Single, d, n_per_level);
            p.add(
                Part::Professional,
                "市场监管",
                QuestionKind::Single,
                d,
                n_per_level,
            );
        }
        p
    }

    #[test]
    fn a_short_section_is_named_with_its_shortfall() {
        let b = Blueprint {
            sections: vec![
                spec("公共", None, "单选", 40),
                spec("专业", Some("生态环境"), "单选", 10),
            ],
            difficulty_mix: Some(vec![10, 20, 40, 20, 10]),
        };
        let s = check(&b).unwrap();
        assert_eq!(s[0].by_difficulty, Some([4, 8, 16, 8, 4]));
        let f = feasibility(&s, &pool(10));
        assert!(!f.feasible);
        assert_eq!(f.sections[0].short, 6, "{f:?}");
        assert_eq!(f.sections[1].short, 10);
        assert!(
            f.problems[0].contains("难度 3 需要 16 题，题库只有 10 题，缺 6 题"),
            "{:?}",
            f.problems
        );
        assert!(f.problems.iter().any(|p| p.contains("生态环境")));
    }

    #[test]
    fn overlap_and_variety() {
        let b = Blueprint {
            sections: vec![spec("公共", None, "单选", 10)],
            difficulty_mix: None,
        };
        let s = check(&b).unwrap();
        let f = feasibility(&s, &pool(20));
        assert!(f.feasible);
        // 10 of 100: C(100,10) ≈ 1.73e13; two papers share 10·10/100 = 1 question
        assert!((f.distinct_papers_log10 - 13.238).abs() < 0.01, "{f:?}");
        assert!((f.expected_shared - 1.0).abs() < 1e-9);
        assert!((f.expected_shared_percent - 10.0).abs() < 1e-9);
    }

    #[test]
    fn overlapping_sections_and_bad_mixes_are_refused() {
        let b = Blueprint {
            sections: vec![
                spec("公共", None, "单选", 10),
                spec("公共法律知识", Some("通用"), "单选题", 5),
            ],
            difficulty_mix: Some(vec![50, 50]),
        };
        let e = check(&b).unwrap_err();
        assert!(e.iter().any(|m| m.contains("重叠")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("难度比例")), "{e:?}");
    }

    proptest! {
        #[test]
        fn split_keeps_the_count(count in 0u32..500, a in 0u32..=100, b in 0u32..=100, c in 0u32..=100) {
            let rest = 300u32.saturating_sub(a + b + c);
            let mix = [a, b, c, rest.min(100), 0];
            prop_assume!(mix.iter().sum::<u32>() > 0);
            let s = split(count, &mix);
            prop_assert_eq!(s.iter().sum::<u32>(), count);
            let total: u32 = mix.iter().sum();
            for i in 0..5 {
                // each level within one question of its exact share, none where the mix says 0
                let exact = count as f64 * mix[i] as f64 / total as f64;
                prop_assert!((s[i] as f64 - exact).abs() < 1.0 + 1e-9);
                if mix[i] == 0 { prop_assert_eq!(s[i], 0); }
            }
        }
    }

    #[test]
    fn partial_credit_scores_a_subset_of_the_key_without_a_wrong_option() {
        use Credit::*;
        assert_eq!(AllOrNothing.points("ACD", "ACD", 4.0), 4.0);
        assert_eq!(AllOrNothing.points("ACD", "AC", 4.0), 0.0);
        assert_eq!(Half.points("ACD", "AC", 4.0), 2.0);
        assert_eq!(
            Half.points("ACD", "AB", 4.0),
            0.0,
            "a wrong option earns nothing"
        );
        assert_eq!(Half.points("ACD", "", 4.0), 0.0);
        assert_eq!(Proportional.points("ACD", "A", 3.0), 1.0);
        assert_eq!(Proportional.points("ACD", "ABCD", 3.0), 0.0);
        assert_eq!(Proportional.points("AB", "A", 1.0), 0.5);
        assert_eq!(Proportional.points("ABCDE", "ABC", 8.5), 5.1);
        assert_eq!(Proportional.points("ABCDE", "A", 11.5), 2.3);
        let mut s = spec("公共法律知识", None, "单选", 5);
        s.partial_credit = Some("half".into());
        let b = Blueprint {
            sections: vec![s],
            difficulty_mix: None,
        };
        assert!(check(&b).unwrap_err()[0].contains("只有多选题"));
        let mut s = spec("公共法律知识", None, "多选", 5);
        s.partial_credit = Some("most".into());
        let b = Blueprint {
            sections: vec![s],
            difficulty_mix: None,
        };
        assert!(check(&b).unwrap_err()[0].contains("none、half 或 proportional"));
    }
}
