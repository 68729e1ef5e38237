//! Certificate rules, as pure functions: numbers for new certificates (a configurable pattern
//! with an ISO 7064 MOD 11-2 check character, as ID numbers use) and the states a certificate
//! may move between.

use std::fmt;

/// The default pattern: region code, two-digit year, five-digit serial, check character, e.g.
/// 220702 26 00017 X → 2207022600017X.
pub const DEFAULT_PATTERN: &str = "{region}{yy}{serial:5}{check}";

/// ISO 7064 MOD 11-2 over a string of digits (the check character of GB 11643 ID numbers):
/// `0`–`9` or `X`. `None` if anything but digits is given.
pub fn check_char(digits: &str) -> Option<char> {
    let mut sum: u32 = 0;
    for c in digits.chars() {
        let d = c.to_digit(10)?;
        sum = (sum + d) * 2 % 11;
    }
    let check = (12 - sum % 11) % 11;
    Some(if check == 10 {
        'X'
    } else {
        char::from_digit(check, 10)?
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Region,
    Year2,
    Year4,
    Serial(usize),
    Check,
}

/// A parsed numbering pattern: literals and `{region}`, `{yy}`, `{yyyy}`, `{serial:N}` (N digits,
/// zero-padded), `{check}` (MOD 11-2 over every digit before it; must come last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    pub fn parse(s: &str) -> Result<Pattern, String> {
        let mut tokens = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest.find('}').ok_or("证号格式中的 { 没有对应的 }")?;
                    let name = &rest[1..end];
                    tokens.push(match name {
                        "region" => Token::Region,
                        "yy" => Token::Year2,
                        "yyyy" => Token::Year4,
                        "check" => Token::Check,
                        n if n.starts_with("serial:") => {
                            let w: usize = n["serial:".len()..]
                                .parse()
                                .map_err(|_| format!("{{{n}}} 中的位数应为数字"))?;
                            if !(3..=8).contains(&w) {
                                return Err("流水号位数应为 3 至 8".into());
                            }
                            Token::Serial(w)
                        }
                        other => return Err(format!("证号格式中不认识 {{{other}}}")),
                    });
                    rest = &rest[end + 1..];
                }
                Some(i) => {
                    tokens.push(Token::Literal(rest[..i].to_string()));
                    rest = &rest[i..];
                }
                None => {
                    tokens.push(Token::Literal(rest.to_string()));
                    rest = "";
                }
            }
        }
        if tokens
            .iter()
            .filter(|t| matches!(t, Token::Serial(_)))
            .count()
            != 1
        {
            return Err("证号格式须有且只有一个 {serial:N}".into());
        }
        if let Some(i) = tokens.iter().position(|t| *t == Token::Check)
            && i != tokens.len() - 1
        {
            return Err("{check} 只能放在证号最后".into());
        }
        Ok(Pattern { tokens })
    }

    /// The largest serial the pattern can hold.
    pub fn max_serial(&self) -> u64 {
        self.tokens
            .iter()
            .find_map(|t| match t {
                Token::Serial(w) => Some(10u64.pow(*w as u32) - 1),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// The number for a region (6 digits), a year and a serial.
    pub fn format(&self, region: &str, year: i32, serial: u64) -> Result<String, String> {
        if serial == 0 || serial > self.max_serial() {
            return Err(format!(
                "流水号 {serial} 超出证号格式的容量（最多 {}）",
                self.max_serial()
            ));
        }
        let mut out = String::new();
        for t in &self.tokens {
            match t {
                Token::Literal(l) => out.push_str(l),
                Token::Region => out.push_str(region),
                Token::Year2 => out.push_str(&format!("{:02}", year.rem_euclid(100))),
                Token::Year4 => out.push_str(&format!("{year:04}")),
                Token::Serial(w) => out.push_str(&format!("{serial:0w$}")),
                Token::Check => {
                    let digits: String = out.chars().filter(char::is_ascii_digit).collect();
                    out.push(check_char(&digits).ok_or("证号中没有数字")?);
                }
            }
        }
        Ok(out)
    }

    /// Whether `number` has this pattern's shape (so its check character can be checked).
    fn shape_matches(&self, number: &str) -> bool {
        let mut rest = number;
        for t in &self.tokens {
            let take = |n: usize, rest: &mut &str, ok: &dyn Fn(char) -> bool| -> bool {
                let part: String = rest.chars().take(n).collect();
                if part.chars().count() == n && part.chars().all(ok) {
                    *rest = &rest[part.len()..];
                    true
                } else {
                    false
                }
            };
            let ok = match t {
                Token::Literal(l) => rest.strip_prefix(l.as_str()).map(|r| rest = r).is_some(),
                Token::Region => take(6, &mut rest, &|c| c.is_ascii_digit()),
                Token::Year2 => take(2, &mut rest, &|c| c.is_ascii_digit()),
                Token::Year4 => take(4, &mut rest, &|c| c.is_ascii_digit()),
                Token::Serial(w) => take(*w, &mut rest, &|c| c.is_ascii_digit()),
                Token::Check => take(1, &mut rest, &|c| c.is_ascii_digit() || c == 'X'),
            };
            if !ok {
                return false;
            }
        }
        rest.is_empty()
    }

    /// What a typed number is: of this pattern with a right or wrong check character, or some
    /// other (legacy) format, which is looked up as it is.
    pub fn classify(&self, number: &str) -> NumberKind {
        let n = number.trim().to_uppercase();
        if !self.tokens.contains(&Token::Check) || !self.shape_matches(&n) {
            return NumberKind::Other;
        }
        let (body, last) = n.split_at(n.len() - 1);
        let digits: String = body.chars().filter(char::is_ascii_digit).collect();
        match check_char(&digits) {
            Some(c) if last.starts_with(c) => NumberKind::Valid,
            _ => NumberKind::BadCheck,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// A new-format number whose check character is right.
    Valid,
    /// A new-format number whose check character is wrong: a typing mistake, not worth a lookup.
    BadCheck,
    /// Not of the pattern (an imported legacy number): looked up as it is.
    Other,
}

crate::roster::rules::vocabulary! {
    /// A certificate's state.
    CertState, "证件状态" {
        Valid => "有效" ["正常", "在用"],
        Suspended => "暂扣" ["暂停", "暂扣中"],
        Revoked => "吊销" [],
        Cancelled => "注销" ["已注销", "作废"],
        Expired => "过期" ["已过期", "失效"],
    }
}

/// A change of state a person asks for (expiry is the job runner's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Suspend,
    Lift,
    Revoke,
    Cancel,
    Expire,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "suspend" => Some(Action::Suspend),
            "lift" => Some(Action::Lift),
            "revoke" => Some(Action::Revoke),
            "cancel" => Some(Action::Cancel),
            "expire" => Some(Action::Expire),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Suspend => "暂扣",
            Action::Lift => "解除暂扣",
            Action::Revoke => "吊销",
            Action::Cancel => "注销",
            Action::Expire => "到期失效",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The state an action leads to from `from`, or why it may not.
pub fn transition(from: CertState, action: Action) -> Result<CertState, String> {
    use Action::*;
    use CertState::*;
    match (from, action) {
        (Valid, Suspend) => Ok(Suspended),
        (Suspended, Lift) => Ok(Valid),
        (Valid | Suspended, Revoke) => Ok(Revoked),
        (Valid | Suspended | Expired, Cancel) => Ok(Cancelled),
        (Valid | Suspended, Expire) => Ok(Expired),
        (Revoked, _) => Err("执法证已吊销，吊销不可撤销，也不能再作其他变更".into()),
        (Cancelled, _) => Err("执法证已注销，不能再作变更".into()),
        (s, a) => Err(format!("状态为“{}”的执法证不能{}", s.label(), a.label())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_check_character_is_the_id_numbers() {
        // GB 11643's own example: 11010519491231002X
        assert_eq!(check_char("11010519491231002"), Some('X'));
        // and agrees with the roster's ID-number rule
        for body in [
            "22070219880304001",
            "11010119900307123",
            "44030520011231987",
        ] {
            let c = check_char(body).unwrap();
            assert!(
                crate::roster::rules::IdNumber::parse(&format!("{body}{c}")).is_ok(),
                "{body}{c}"
            );
        }
        assert_eq!(check_char("12a"), None);
    }

    #[test]
    fn the_default_pattern_makes_and_checks_numbers() {
        let p = Pattern::parse(DEFAULT_PATTERN).unwrap();
        let n = p.format("220702", 2026, 17).unwrap();
        assert_eq!(&n[..13], "2207022600017");
        assert_eq!(n.len(), 14);
        assert_eq!(p.classify(&n), NumberKind::Valid);
        assert_eq!(p.classify(&n.to_lowercase()), NumberKind::Valid);
        let mut wrong = n.clone();
        wrong.replace_range(8..9, if &n[8..9] == "1" { "2" } else { "1" });
        assert_eq!(p.classify(&wrong), NumberKind::BadCheck);
        assert_eq!(p.classify("吉林执字第00123号"), NumberKind::Other);
        assert_eq!(p.classify("22070226000171"), p.classify("22070226000171"));
        assert!(p.format("220702", 2026, 100_000).is_err());
        assert!(Pattern::parse("{region}{check}{serial:5}").is_err());
        assert!(Pattern::parse("{region}{yy}").is_err());
        let lit = Pattern::parse("吉{region}-{yyyy}-{serial:6}").unwrap();
        assert_eq!(
            lit.format("220702", 2026, 5).unwrap(),
            "吉220702-2026-000005"
        );
        assert_eq!(
            lit.classify("吉220702-2026-000005"),
            NumberKind::Other,
            "no check character"
        );
    }

    #[test]
    fn revocation_is_final_and_suspension_can_be_lifted() {
        use Action::*;
        use CertState::*;
        assert_eq!(transition(Valid, Suspend), Ok(Suspended));
        assert_eq!(transition(Suspended, Lift), Ok(Valid));
        assert!(transition(Valid, Lift).is_err());
        assert_eq!(transition(Suspended, Revoke), Ok(Revoked));
        for a in [Suspend, Lift, Revoke, Cancel, Expire] {
            assert!(transition(Revoked, a).unwrap_err().contains("不可撤销"));
            assert!(transition(Cancelled, a).is_err());
        }
        assert_eq!(transition(Expired, Cancel), Ok(Cancelled));
        assert!(transition(Expired, Lift).is_err());
    }

    proptest! {
        #[test]
        fn any_single_digit_typo_is_caught(region in 110000u32..660000, year in 2000i32..2100, serial in 1u64..99_999, pos in 0usize..13, delta in 1u32..10) {
            let p = Pattern::parse(DEFAULT_PATTERN).unwrap();
            let n = p.format(&region.to_string(), year, serial).unwrap();
            prop_assert_eq!(p.classify(&n), NumberKind::Valid);
            let mut chars: Vec<char> = n.chars().collect();
            let d = chars[pos].to_digit(10).unwrap();
            chars[pos] = char::from_digit((d + delta) % 10, 10).unwrap();
            let typo: String = chars.into_iter().collect();
            prop_assert_eq!(p.classify(&typo), NumberKind::BadCheck);
        }

        #[test]
        fn adjacent_transpositions_are_caught(region in 110000u32..660000, serial in 1u64..99_999, pos in 0usize..12) {
            let p = Pattern::parse(DEFAULT_PATTERN).unwrap();
            let n = p.format(&region.to_string(), 2026, serial).unwrap();
            let mut chars: Vec<char> = n.chars().collect();
            prop_assume!(chars[pos] != chars[pos + 1]);
            chars.swap(pos, pos + 1);
            let typo: String = chars.into_iter().collect();
            prop_assert_eq!(p.classify(&typo), NumberKind::BadCheck);
        }
    }
}
