//! Fair papers, as pure functions (algorithm 1).
//!
//! When a batch is scheduled, each blueprint section × difficulty becomes a *cell*: the active
//! question versions that fit it, shuffled once with the batch's seed and stored. A candidate's
//! paper is then fixed by the cells, their seat in the session and their own seed:
//!
//! - from a cell of `n` questions needing `k`, seat `s` takes the `k` questions starting at
//!   `s·k mod n` (wrapping): every paper has the same number of questions of each section and
//!   difficulty, no question twice, and neighbouring seats share nothing while `n ≥ 2k`; across a
//!   session every question is used as evenly as the bank allows;
//! - questions are shuffled within each section, and options within each question, with the
//!   candidate's seed; option keys (A, B, …) are per paper, so nothing in the page says which
//!   stored option is which.
//!
//! The generator is SplitMix64 and the shuffle Fisher–Yates, both written here, so a paper
//! rebuilt years later for an appeal is the same paper whatever the dependencies do.

use crate::bank::rules::{JUDGE_FALSE, JUDGE_TRUE, OPTION_LETTERS, QuestionKind};

pub const ALGORITHM: i32 = 1;

/// SplitMix64 (Steele, Lea, Flood 2014).
pub struct Mix(u64);

impl Mix {
    pub fn new(seed: u64) -> Mix {
        Mix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

pub fn shuffle<T>(v: &mut [T], rng: &mut Mix) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
}

/// One section × difficulty of a batch: what it needs and what it draws from (batch order).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub section: usize,
    /// 0: any difficulty.
    pub difficulty: i32,
    pub required: usize,
    pub versions: Vec<i64>,
}

/// What the paper needs to know of a question version.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub kind: QuestionKind,
    pub options: usize,
}

/// One question of a paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// 1-based.
    pub position: usize,
    pub version_id: i64,
    pub section: usize,
    /// Stored option index shown under each paper key: `[2, 0, 3, 1]` shows stored C as A.
    pub option_order: Vec<u8>,
}

/// A candidate's paper.
pub fn paper(
    cells: &[Cell],
    meta: &dyn Fn(i64) -> Option<Meta>,
    seat: usize,
    seed: u64,
) -> Vec<Item> {
    let mut rng = Mix::new(seed);
    let mut sections: Vec<usize> = cells.iter().map(|c| c.section).collect();
    sections.sort_unstable();
    sections.dedup();
    let mut out = Vec::new();
    for section in sections {
        let mut picks: Vec<i64> = Vec::new();
        for c in cells.iter().filter(|c| c.section == section) {
            let n = c.versions.len();
            if n == 0 {
                continue;
            }
            let start = ((seat as u128 * c.required as u128) % n as u128) as usize;
            picks.extend((0..c.required.min(n)).map(|t| c.versions[(start + t) % n]));
        }
        shuffle(&mut picks, &mut rng);
        for v in picks {
            let options = match meta(v) {
                Some(Meta {
                    kind: QuestionKind::Judge,
                    ..
                })
                | None => 0,
                Some(m) => m.options,
            };
            let mut order: Vec<u8> = (0..options as u8).collect();
            shuffle(&mut order, &mut rng);
            out.push(Item {
                position: out.len() + 1,
                version_id: v,
                section,
                option_order: order,
            });
        }
    }
    out
}

/// The paper's keys for a question: A, B, … for choices; A (正确) and B (错误) for 判断.
pub fn keys(kind: QuestionKind, options: usize) -> Vec<char> {
    match kind {
        QuestionKind::Judge => vec!['A', 'B'],
        _ => OPTION_LETTERS[..options.min(OPTION_LETTERS.len())].to_vec(),
    }
}

/// Checks a candidate's answer against the paper's keys; returns it normalised (keys sorted).
pub fn normalise_answer(
    kind: QuestionKind,
    options: usize,
    keys_given: &[String],
) -> Result<String, String> {
    let valid = keys(kind, options);
    let mut out: Vec<char> = Vec::new();
    for k in keys_given {
        let mut chars = k.trim().chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return Err(format!(
                "选项“{k}”无效，应为 {} 中的一个字母",
                valid.iter().collect::<String>()
            ));
        };
        let c = c.to_ascii_uppercase();
        if !valid.contains(&c) {
            return Err(format!("选项“{k}”不在本题的选项中"));
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out.sort_unstable();
    match kind {
        QuestionKind::Single | QuestionKind::Judge if out.len() > 1 => {
            Err("本题只能选一个选项".into())
        }
        _ => Ok(out.into_iter().collect()),
    }
}

/// The paper's answer key for a question: the stored answer seen through the option order.
pub fn paper_answer(kind: QuestionKind, stored: &str, order: &[u8]) -> String {
    match kind {
        QuestionKind::Judge => {
            if stored == JUDGE_TRUE {
                "A".into()
            } else if stored == JUDGE_FALSE {
                "B".into()
            } else {
                String::new()
            }
        }
        _ => {
            let mut keys: Vec<char> = stored
                .chars()
                .filter_map(|l| OPTION_LETTERS.iter().position(|x| *x == l))
                .filter_map(|idx| order.iter().position(|o| *o as usize == idx))
                .map(|paper_idx| OPTION_LETTERS[paper_idx])
                .collect();
            keys.sort_unstable();
            keys.into_iter().collect()
        }
    }
}

/// A paper answer (paper keys) in stored option letters, so answers of different papers compare:
/// the inverse of `paper_answer`. Judge answers are kept as paper keys (A 正确, B 错误: the
/// same on every paper).
pub fn stored_answer(kind: QuestionKind, given: &str, order: &[u8]) -> String {
    match kind {
        QuestionKind::Judge => given.to_string(),
        _ => {
            let mut letters: Vec<char> = given
                .chars()
                .filter_map(|k| OPTION_LETTERS.iter().position(|x| *x == k))
                .filter_map(|paper_idx| order.get(paper_idx))
                .filter_map(|stored| OPTION_LETTERS.get(*stored as usize).copied())
                .collect();
            letters.sort_unstable();
            letters.into_iter().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn meta_of(v: i64) -> Option<Meta> {
        Some(match v % 3 {
            0 => Meta {
                kind: QuestionKind::Single,
                options: 4,
            },
            1 => Meta {
                kind: QuestionKind::Multiple,
                options: 5,
            },
            _ => Meta {
                kind: QuestionKind::Judge,
                options: 0,
            },
        })
    }

    fn cells(sizes: &[(usize, usize)]) -> Vec<Cell> {
        let mut next = 1i64;
        sizes
            .iter()
            .enumerate()
            .map(|(i, (n, k))| {
                let versions: Vec<i64> = (next..next + *n as i64).collect();
                next += *n as i64;
                Cell {
                    section: i / 2,
                    difficulty: (i % 2) as i32 + 1,
                    required: *k,
                    versions,
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn every_paper_follows_the_blueprint(
            sizes in proptest::collection::vec((1usize..60, 1usize..20), 1..6),
            seat in 0usize..5000,
            seed in any::<u64>(),
        ) {
            let sizes: Vec<(usize, usize)> = sizes.into_iter().map(|(n, k)| (n, k.min(n))).collect();
            let cs = cells(&sizes);
            let p = paper(&cs, &meta_of, seat, seed);
            // the same number from every cell, no question twice, positions 1..=N
            prop_assert_eq!(p.len(), sizes.iter().map(|(_, k)| k).sum::<usize>());
            let ids: HashSet<i64> = p.iter().map(|i| i.version_id).collect();
            prop_assert_eq!(ids.len(), p.len());
            for c in &cs {
                let got = p.iter().filter(|i| c.versions.contains(&i.version_id)).count();
                prop_assert_eq!(got, c.required);
            }
            for (n, i) in p.iter().enumerate() {
                prop_assert_eq!(i.position, n + 1);
                let mut o = i.option_order.clone();
                o.sort_unstable();
                let m = meta_of(i.version_id).unwrap();
                let expect: Vec<u8> = if m.kind == QuestionKind::Judge { vec![] } else { (0..m.options as u8).collect() };
                prop_assert_eq!(o, expect);
            }
            // sections stay in order
            prop_assert!(p.windows(2).all(|w| w[0].section <= w[1].section));
            // reproducible
            prop_assert_eq!(&p, &paper(&cs, &meta_of, seat, seed));
        }

        #[test]
        fn neighbouring_seats_share_nothing_when_the_bank_allows(
            k in 1usize..20, extra in 0usize..40, seat in 0usize..1000, seed in any::<u64>(),
        ) {
            let n = 2 * k + extra;
            let cs = cells(&[(n, k)]);
            let a: HashSet<i64> = paper(&cs, &meta_of, seat, seed).iter().map(|i| i.version_id).collect();
            let b: HashSet<i64> = paper(&cs, &meta_of, seat + 1, seed ^ 1).iter().map(|i| i.version_id).collect();
            prop_assert!(a.is_disjoint(&b) || n < 2 * k);
        }

        #[test]
        fn the_paper_answer_maps_back(order_seed in any::<u64>(), stored in "[A-D]{1,4}") {
            let mut letters: Vec<char> = stored.chars().collect();
            letters.sort_unstable();
            letters.dedup();
            let stored: String = letters.iter().collect();
            let mut order: Vec<u8> = (0..4).collect();
            shuffle(&mut order, &mut Mix::new(order_seed));
            let key = paper_answer(QuestionKind::Multiple, &stored, &order);
            // each paper key shows the stored option it maps to
            let back: String = {
                let mut v: Vec<char> = key.chars().map(|k| {
                    let i = OPTION_LETTERS.iter().position(|x| *x == k).unwrap();
                    OPTION_LETTERS[order[i] as usize]
                }).collect();
                v.sort_unstable();
                v.into_iter().collect()
            };
            prop_assert_eq!(&back, &stored);
            prop_assert_eq!(stored_answer(QuestionKind::Multiple, &key, &order), stored);
        }
    }

    #[test]
    fn a_session_uses_the_bank_evenly() {
        let cs = cells(&[(100, 10)]);
        let mut uses = std::collections::HashMap::new();
        for seat in 0..100 {
            for i in paper(&cs, &meta_of, seat, seat as u64) {
                *uses.entry(i.version_id).or_insert(0) += 1;
            }
        }
        // 100 papers × 10 = 1000 uses of 100 questions: each exactly 10
        assert!(uses.values().all(|u| *u == 10), "{uses:?}");
    }

    #[test]
    fn answers_are_checked_against_the_paper_keys() {
        assert_eq!(
            normalise_answer(QuestionKind::Multiple, 4, &["c".into(), "A".into()]),
            Ok("AC".into())
        );
        assert!(normalise_answer(QuestionKind::Single, 4, &["A".into(), "B".into()]).is_err());
        assert!(normalise_answer(QuestionKind::Single, 4, &["E".into()]).is_err());
        assert_eq!(
            normalise_answer(QuestionKind::Judge, 0, &["b".into()]),
            Ok("B".into())
        );
        assert_eq!(
            normalise_answer(QuestionKind::Multiple, 4, &[]),
            Ok(String::new())
        );
        assert_eq!(paper_answer(QuestionKind::Judge, "错误", &[]), "B");
        assert_eq!(paper_answer(QuestionKind::Single, "C", &[2, 0, 3, 1]), "A");
    }
}
