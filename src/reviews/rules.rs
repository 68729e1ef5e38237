//! The annual review's rules, pure: what a bureau checks, and the verdict on one certificate
//! from the facts the register, the roster, the unit's first review, the training record and
//! the exams hold about it.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a certificate that fails (or misses) the review becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum OnFail {
    /// 暂扣: lifted once the holder makes good (the default).
    #[serde(rename = "暂扣", alias = "suspend")]
    Suspend,
    /// 注销: the certificate ends.
    #[serde(rename = "注销", alias = "cancel")]
    Cancel,
}

impl OnFail {
    pub fn label(self) -> &'static str {
        match self {
            OnFail::Suspend => "暂扣",
            OnFail::Cancel => "注销",
        }
    }
}

/// A bureau's review rules, fixed for a round when it is opened (the next round starts from the
/// last one's). The defaults are what provinces commonly check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Still in an enforcement post (the roster, and the unit's 初审统计表).
    pub in_post: bool,
    /// No violation or discipline in the year (the unit's 初审统计表, and no suspension of the
    /// certificate during the year).
    pub no_violation: bool,
    /// The certificate has not passed its validity.
    pub not_expired: bool,
    /// Training hours in the year at least this many (0: not checked).
    pub training_hours: f64,
    /// Certificates in use this many years or more must have passed an exam in the year (0: not
    /// checked).
    pub exam_after_years: i32,
    /// The score that counts as passing that exam.
    pub exam_pass_score: f64,
    /// The unit must submit its 初审 opinion; a certificate without one has missed the review.
    pub require_first_review: bool,
    /// Certificates issued in the reviewed year are not reviewed that year.
    pub skip_issued_in_year: bool,
    /// What failing or missing the review does to the certificate.
    pub on_fail: OnFail,
    /// The legal basis recorded when a certificate is suspended or cancelled by the review.
    pub basis: String,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            in_post: true,
            no_violation: true,
            not_expired: true,
            training_hours: 0.0,
            exam_after_years: 3,
            exam_pass_score: 60.0,
            require_first_review: true,
            skip_issued_in_year: true,
            on_fail: OnFail::Suspend,
            basis: "本局行政执法证件年审规定".into(),
        }
    }
}

impl Rules {
    /// Refuses rules that make no sense, naming the field.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(0.0..=1000.0).contains(&self.training_hours) || self.training_hours.is_nan() {
            return Err(("training_hours", "培训学时应为 0 至 1000".into()));
        }
        if !(0..=50).contains(&self.exam_after_years) {
            return Err(("exam_after_years", "持证年限应为 0 至 50 年".into()));
        }
        if !(0.0..=100.0).contains(&self.exam_pass_score) || self.exam_pass_score.is_nan() {
            return Err(("exam_pass_score", "考试合格分应为 0 至 100".into()));
        }
        let b = self.basis.trim();
        if b.is_empty() || b.chars().count() > 200 {
            return Err((
                "basis",
                "请写明年审不合格时暂扣或注销的依据（200 字以内）".into(),
            ));
        }
        Ok(())
    }

    /// The checks as a bureau reads them, one line each.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.in_post {
            out.push("仍在行政执法岗位".into());
        }
        if self.no_violation {
            out.push("本年度无违纪违法行为，证件未被暂扣".into());
        }
        if self.not_expired {
            out.push("证件未超过有效期限".into());
        }
        if self.training_hours > 0.0 {
            out.push(format!("本年度培训不少于 {} 学时", self.training_hours));
        }
        if self.exam_after_years > 0 {
            out.push(format!(
                "持证满 {} 年的，本年度考试成绩不低于 {} 分",
                self.exam_after_years, self.exam_pass_score
            ));
        }
        if self.require_first_review {
            out.push("所在单位初审意见为合格".into());
        }
        if self.skip_issued_in_year {
            out.push("当年新发的证件不参加当年年审".into());
        }
        out.push(format!(
            "年审不合格或未参加年审的，证件{}（依据：{}）",
            self.on_fail.label(),
            self.basis
        ));
        out
    }
}

/// The unit's first-review opinion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opinion {
    Pass,
    Fail,
}

impl Opinion {
    pub fn parse(s: &str) -> Option<Opinion> {
        match s.trim() {
            "合格" | "通过" | "同意" | "是" | "√" => Some(Opinion::Pass),
            "不合格" | "不通过" | "不同意" | "否" | "×" => Some(Opinion::Fail),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Opinion::Pass => "合格",
            Opinion::Fail => "不合格",
        }
    }
}

/// What is known about one certificate for the year under review.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub issued_on: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    /// The roster shows the holder in an enforcement post (在编在岗, not auxiliary staff).
    pub roster_in_post: bool,
    /// The unit's 初审统计表: 是否在行政执法岗位, 本年度是否有违纪违法行为, 初审意见, 备注.
    pub unit_in_post: Option<bool>,
    pub unit_violation: Option<bool>,
    pub opinion: Option<Opinion>,
    pub note: String,
    /// The certificate was suspended at some time in the year.
    pub suspended_in_year: bool,
    pub training_hours: Option<f64>,
    /// The best exam score the holder had in the year.
    pub best_exam_score: Option<f64>,
}

/// The review's result for one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Outcome {
    #[serde(rename = "合格")]
    Pass,
    #[serde(rename = "不合格")]
    Fail,
    /// No first review from the unit: missed the review.
    #[serde(rename = "未年审")]
    Missing,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "合格",
            Outcome::Fail => "不合格",
            Outcome::Missing => "未年审",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        match s.trim() {
            "合格" | "pass" => Some(Outcome::Pass),
            "不合格" | "fail" => Some(Outcome::Fail),
            "未年审" | "missing" => Some(Outcome::Missing),
            _ => None,
        }
    }
}

/// The verdict: the outcome and, unless it passed, every check it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub findings: Vec<String>,
}

/// Whether a certificate is reviewed for `year` at all (it was issued before the year, when the
/// rules skip the year's new certificates).
pub fn is_due(rules: &Rules, year: i32, issued_on: Option<NaiveDate>) -> bool {
    match issued_on {
        Some(d) if rules.skip_issued_in_year => d.year() < year,
        Some(d) => d.year() <= year,
        None => true,
    }
}

/// Full years from `from` to `to`.
fn years_between(from: NaiveDate, to: NaiveDate) -> i32 {
    let mut y = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        y -= 1;
    }
    y
}

/// Judges one certificate for `year`, on `today`. Every failed check is listed, so the bureau
/// sees all of them at once.
pub fn judge(rules: &Rules, year: i32, today: NaiveDate, f: &Facts) -> Verdict {
    if rules.require_first_review && f.opinion.is_none() {
        return Verdict {
            outcome: Outcome::Missing,
            findings: vec!["所在单位未报送初审意见".into()],
        };
    }
    let mut findings = Vec::new();
    if rules.in_post {
        if !f.roster_in_post {
            findings.push("名录库显示已不在行政执法岗位".into());
        } else if f.unit_in_post == Some(false) {
            findings.push("单位初审：不在行政执法岗位".into());
        }
    }
    if rules.no_violation {
        if f.unit_violation == Some(true) {
            findings.push("单位初审：本年度有违纪违法行为".into());
        }
        if f.suspended_in_year {
            findings.push("本年度证件曾被暂扣".into());
        }
    }
    if rules.not_expired && f.valid_until.is_some_and(|d| d < today) {
        findings.push("证件已超过有效期限".into());
    }
    if rules.training_hours > 0.0 {
        let h = f.training_hours.unwrap_or(0.0);
        if h < rules.training_hours {
            findings.push(format!(
                "本年度培训 {} 学时，不足 {} 学时",
                trim_num(h),
                trim_num(rules.training_hours)
            ));
        }
    }
    if rules.exam_after_years > 0
        && let Some(issued) = f.issued_on
    {
        let end = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(today);
        if years_between(issued, end) >= rules.exam_after_years {
            match f.best_exam_score {
                Some(s) if s >= rules.exam_pass_score => {}
                Some(s) => findings.push(format!(
                    "持证满 {} 年，本年度考试 {} 分，低于 {} 分",
                    rules.exam_after_years,
                    trim_num(s),
                    trim_num(rules.exam_pass_score)
                )),
                None => findings.push(format!(
                    "持证满 {} 年，本年度未参加考试",
                    rules.exam_after_years
                )),
            }
        }
    }
    if f.opinion == Some(Opinion::Fail) {
        let note = f.note.trim();
        findings.push(if note.is_empty() {
            "单位初审意见为不合格".into()
        } else {
            format!("单位初审意见为不合格（{note}）")
        });
    }
    Verdict {
        outcome: if findings.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail
        },
        findings,
    }
}

/// 40 rather than 40.0; 12.5 stays.
pub fn trim_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn good() -> Facts {
        Facts {
            issued_on: Some(d(2024, 5, 1)),
            valid_until: Some(d(2029, 4, 30)),
            roster_in_post: true,
            unit_in_post: Some(true),
            unit_violation: Some(false),
            opinion: Some(Opinion::Pass),
            note: String::new(),
            suspended_in_year: false,
            training_hours: Some(40.0),
            best_exam_score: None,
        }
    }

    #[test]
    fn a_clean_record_passes_and_every_failed_check_is_named() {
        let r = Rules::default();
        let today = d(2027, 1, 15);
        assert_eq!(judge(&r, 2026, today, &good()).outcome, Outcome::Pass);
        let bad = Facts {
            roster_in_post: false,
            unit_violation: Some(true),
            suspended_in_year: true,
            valid_until: Some(d(2026, 12, 31)),
            opinion: Some(Opinion::Fail),
            note: "长期病休".into(),
            ..good()
        };
        let v = judge(&r, 2026, today, &bad);
        assert_eq!(v.outcome, Outcome::Fail);
        assert_eq!(
            v.findings,
            vec![
                "名录库显示已不在行政执法岗位",
                "单位初审：本年度有违纪违法行为",
                "本年度证件曾被暂扣",
                "证件已超过有效期限",
                "单位初审意见为不合格（长期病休）"
            ]
        );
    }

    #[test]
    fn no_first_review_is_a_missed_review_unless_the_rules_waive_it() {
        let f = Facts {
            opinion: None,
            ..good()
        };
        let today = d(2027, 1, 15);
        assert_eq!(
            judge(&Rules::default(), 2026, today, &f).outcome,
            Outcome::Missing
        );
        let waived = Rules {
            require_first_review: false,
            ..Rules::default()
        };
        assert_eq!(judge(&waived, 2026, today, &f).outcome, Outcome::Pass);
    }

    #[test]
    fn the_exam_is_asked_of_certificates_in_use_three_years_or_more() {
        let r = Rules::default();
        let today = d(2027, 1, 15);
        let old = Facts {
            issued_on: Some(d(2023, 12, 31)),
            ..good()
        };
        // 2023-12-31 .. 2026-12-31 is three full years
        let v = judge(&r, 2026, today, &old);
        assert_eq!(v.findings, vec!["持证满 3 年，本年度未参加考试"]);
        let passed = Facts {
            best_exam_score: Some(60.0),
            ..old.clone()
        };
        assert_eq!(judge(&r, 2026, today, &passed).outcome, Outcome::Pass);
        let failed = Facts {
            best_exam_score: Some(59.5),
            ..old
        };
        assert_eq!(
            judge(&r, 2026, today, &failed).findings,
            vec!["持证满 3 年，本年度考试 59.5 分，低于 60 分"]
        );
        let young = Facts {
            issued_on: Some(d(2024, 1, 1)),
            ..good()
        };
        assert_eq!(judge(&r, 2026, today, &young).outcome, Outcome::Pass);
    }

    #[test]
    fn training_hours_are_checked_only_when_the_bureau_sets_a_minimum() {
        let f = Facts {
            training_hours: Some(12.5),
            ..good()
        };
        let today = d(2027, 1, 15);
        assert_eq!(
            judge(&Rules::default(), 2026, today, &f).outcome,
            Outcome::Pass
        );
        let r = Rules {
            training_hours: 40.0,
            ..Rules::default()
        };
        assert_eq!(
            judge(&r, 2026, today, &f).findings,
            vec!["本年度培训 12.5 学时，不足 40 学时"]
        );
    }

    #[test]
    fn certificates_issued_in_the_year_are_not_due_that_year() {
        let r = Rules::default();
        assert!(!is_due(&r, 2026, Some(d(2026, 3, 1))));
        assert!(is_due(&r, 2026, Some(d(2025, 12, 31))));
        assert!(is_due(&r, 2026, None));
        let all = Rules {
            skip_issued_in_year: false,
            ..r
        };
        assert!(is_due(&all, 2026, Some(d(2026, 3, 1))));
        assert!(!is_due(&all, 2026, Some(d(2027, 1, 1))));
    }

    #[test]
    fn rules_read_from_json_with_chinese_words_and_refuse_nonsense() {
        let r: Rules = serde_json::from_str(r#"{"on_fail":"注销","training_hours":40}"#).unwrap();
        assert_eq!(r.on_fail, OnFail::Cancel);
        assert!(r.in_post);
        assert!(serde_json::from_str::<Rules>(r#"{"unknown":1}"#).is_err());
        let bad = Rules {
            exam_pass_score: 120.0,
            ..Rules::default()
        };
        assert_eq!(bad.check().unwrap_err().0, "exam_pass_score");
    }

    proptest! {
        /// A pass has no findings and anything else has at least one; the first review's
        /// absence alone decides "missing".
        #[test]
        fn verdicts_and_findings_agree(
            roster in any::<bool>(), unit_post in proptest::option::of(any::<bool>()),
            viol in proptest::option::of(any::<bool>()), op in 0u8..3, susp in any::<bool>(),
            hours in proptest::option::of(0.0f64..80.0), score in proptest::option::of(0.0f64..100.0),
            issued_year in 2015i32..2027, hours_min in 0.0f64..60.0,
        ) {
            let rules = Rules { training_hours: hours_min, ..Rules::default() };
            let f = Facts {
                issued_on: Some(d(issued_year, 6, 1)),
                valid_until: Some(d(issued_year + 5, 5, 31)),
                roster_in_post: roster,
                unit_in_post: unit_post,
                unit_violation: viol,
                opinion: [None, Some(Opinion::Pass), Some(Opinion::Fail)][op as usize],
                note: String::new(),
                suspended_in_year: susp,
                training_hours: hours,
                best_exam_score: score,
            };
            let v = judge(&rules, 2026, d(2027, 1, 10), &f);
            match v.outcome {
                Outcome::Pass => prop_assert!(v.findings.is_empty()),
                Outcome::Fail => prop_assert!(!v.findings.is_empty() && f.opinion.is_some()),
                Outcome::Missing => prop_assert!(f.opinion.is_none()),
            }
            if f.opinion == Some(Opinion::Fail) || !roster || susp {
                prop_assert_ne!(v.outcome, Outcome::Pass);
            }
        }
    }
}
