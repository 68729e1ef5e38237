//! Pure roster rules: ID numbers (GB 11643), names, phones, the fixed vocabularies. No I/O.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Full-width ASCII (Ｕ+FF01..FF5E) to half-width, the ideographic space to a space.
pub fn to_half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{00A0}' | '\u{3000}')
}

/// Trims and collapses inner whitespace (including ideographic and zero-width spaces).
pub fn clean_text(s: &str) -> String {
    s.split(is_space)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------- ID numbers

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// The check character (GB 11643) of the first 17 digits.
pub fn check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize] as char
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdNumberError {
    Empty,
    /// Excel kept the number as a floating-point value and dropped the last digits.
    LostDigits(String),
    OldFifteenDigit,
    Length(usize),
    BadCharacter(char),
    Region,
    BirthDate,
    Check {
        expected: char,
        found: char,
    },
}

impl fmt::Display for IdNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdNumberError::Empty => write!(f, "身份证号不能为空"),
            IdNumberError::LostDigits(shown) => write!(
                f,
                "身份证号被 Excel 存成了数字（{shown}），末尾几位已经丢失，无法恢复：请把该列设为“文本”格式后重新填写"
            ),
            IdNumberError::OldFifteenDigit => {
                write!(f, "这是 15 位的旧身份证号，请填写 18 位公民身份号码")
            }
            IdNumberError::Length(n) => write!(f, "身份证号应为 18 位，这里是 {n} 位"),
            IdNumberError::BadCharacter(c) => write!(
                f,
                "身份证号含有不允许的字符“{c}”（只能是数字，最后一位可以是 X）"
            ),
            IdNumberError::Region => write!(f, "身份证号前两位不是有效的省级行政区划代码"),
            IdNumberError::BirthDate => write!(f, "身份证号第 7 至 14 位不是有效的出生日期"),
            IdNumberError::Check { expected, found } => {
                write!(
                    f,
                    "身份证号校验位错误：最后一位应为 {expected}，实际为 {found}（请核对是否有数字输错）"
                )
            }
        }
    }
}

/// A checked, normalised 18-character citizen ID number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct IdNumber(String);

const PROVINCES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

impl IdNumber {
    /// Accepts full-width digits, lower-case or full-width x, and spaces anywhere.
    pub fn parse(raw: &str) -> Result<IdNumber, IdNumberError> {
        let s: String = to_half_width(raw)
            .chars()
            .filter(|c| !is_space(*c) && *c != '\'')
            .collect();
        if s.is_empty() {
            return Err(IdNumberError::Empty);
        }
        let upper = s.to_ascii_uppercase();
        // "2.20702199001011E+17" or "220702199001011000"-style values come from a numeric cell.
        if upper.contains('E')
            && upper
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'E' | '+' | '-'))
        {
            return Err(IdNumberError::LostDigits(raw.trim().to_string()));
        }
        if upper.contains('.') && upper.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(IdNumberError::LostDigits(raw.trim().to_string()));
        }
        if let Some(c) = upper.chars().find(|c| !(c.is_ascii_digit() || *c == 'X')) {
            return Err(IdNumberError::BadCharacter(c));
        }
        let n = upper.chars().count();
        if n == 15 && upper.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdNumberError::OldFifteenDigit);
        }
        if n != 18 {
            return Err(IdNumberError::Length(n));
        }
        let bytes = upper.as_bytes();
        if let Some(i) = bytes[..17].iter().position(|b| !b.is_ascii_digit()) {
            return Err(IdNumberError::BadCharacter(bytes[i] as char));
        }
        let province = (bytes[0] - b'0') * 10 + (bytes[1] - b'0');
        if !PROVINCES.contains(&province) {
            return Err(IdNumberError::Region);
        }
        let date = &upper[6..14];
        let birth =
            NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| IdNumberError::BirthDate)?;
        if birth.year() < 1900 || birth > chrono::Utc::now().date_naive() {
            return Err(IdNumberError::BirthDate);
        }
        let expected = check_char(&bytes[..17]);
        let found = bytes[17] as char;
        if expected != found {
            return Err(IdNumberError::Check { expected, found });
        }
        Ok(IdNumber(upper))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("checked in parse")
    }

    /// The 17th digit: odd for men, even for women.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    pub fn region_code(&self) -> &str {
        &self.0[..6]
    }

    /// 220702********0012: for lists shown to people who need no more.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds a valid ID number from region, birth date and a 3-digit sequence (odd = male).
pub fn make_id_number(region: &str, birth: NaiveDate, seq: u16) -> String {
    let first17 = format!("{region}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    let c = check_char(first17.as_bytes());
    format!("{first17}{c}")
}

// ---------------------------------------------------------------- sex

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    #[serde(rename = "男")]
    Male,
    #[serde(rename = "女")]
    Female,
}

impl Sex {
    pub fn label(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
    pub fn parse(s: &str) -> Option<Sex> {
        match clean_text(&to_half_width(s)).to_ascii_lowercase().as_str() {
            "男" | "男性" | "m" | "male" | "1" => Some(Sex::Male),
            "女" | "女性" | "f" | "female" | "2" => Some(Sex::Female),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------- names

/// Normalises a person's name: no spaces between Chinese characters (sheets pad two-character
/// names as "张  三"), one space between Latin words, every middle-dot variant as "·".
/// Characters outside the BMP (CJK Extension B and beyond) are kept as they are.
pub fn normalize_name(raw: &str) -> Result<String, String> {
    let s = to_half_width(raw);
    let s: String = s
        .chars()
        .map(|c| {
            if matches!(c, '•' | '・' | '‧' | '∙' | '⋅' | '●') {
                '·'
            } else {
                c
            }
        })
        .collect();
    let words: Vec<&str> = s.split(is_space).filter(|w| !w.is_empty()).collect();
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            let prev_latin = words[i - 1]
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphabetic());
            let next_latin = w.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
            if prev_latin && next_latin {
                out.push(' ');
            }
        }
        out.push_str(w);
    }
    let n = out.chars().count();
    if n == 0 {
        return Err("姓名不能为空".into());
    }
    if n > 50 {
        return Err(format!("姓名过长（{n} 个字符，最多 50 个）"));
    }
    if let Some(c) = out.chars().find(|c| {
        c.is_control()
            || c.is_ascii_digit()
            || matches!(
                c,
                '<' | '>'
                    | '"'
                    | '\\'
                    | '/'
                    | '@'
                    | '#'
                    | '$'
                    | '%'
                    | '&'
                    | '*'
                    | '='
                    | '?'
                    | '!'
                    | ';'
                    | ':'
                    | ','
                    | '，'
                    | '、'
            )
    }) {
        return Err(format!("姓名含有不允许的字符“{}”", c.escape_default()));
    }
    if out.contains('\u{FFFD}') {
        return Err("姓名含有无法识别的字符（�），多半是文件编码有误".into());
    }
    Ok(out)
}

/// 张三 → 张*, 张小三 → 张*三, 欧阳小明 → 欧**明: what a verifier may see.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

// ---------------------------------------------------------------- phone

pub fn normalize_phone(raw: &str) -> Result<String, String> {
    let s: String = to_half_width(raw)
        .chars()
        .filter(|c| !is_space(*c))
        .collect();
    if s.is_empty() {
        return Ok(String::new());
    }
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let only_allowed = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '(' | ')' | '+'));
    let mobile = digits.len() == 11 && digits.starts_with('1') && !s.contains('(');
    let mobile_cn = digits.len() == 13 && digits.starts_with("861");
    let landline = digits.starts_with('0') && (10..=16).contains(&digits.len());
    if only_allowed && (mobile || landline) {
        Ok(if mobile { digits } else { s })
    } else if only_allowed && mobile_cn {
        Ok(digits[2..].to_string())
    } else {
        Err(format!(
            "联系电话“{}”不是有效的手机号或带区号的固定电话",
            raw.trim()
        ))
    }
}

// ---------------------------------------------------------------- vocabularies

/// What a vocabulary value is compared as: no spaces, half-width forms.
pub fn vocab_key(raw: &str) -> String {
    to_half_width(raw)
        .chars()
        .filter(|c| !is_space(*c))
        .collect()
}

/// A vocabulary: a Rust enum stored as its Chinese label, with the aliases real sheets use, all
/// listed in one place. Values a sheet writes that the vocabulary doesn't know are kept as
/// written (see `Classified`), never refused.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $field:literal {
        $($(#[$vmeta:meta])* $variant:ident => $label:literal [$($alias:literal),* $(,)?]),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The field's name as users see it.
            pub const FIELD: &'static str = $field;

            /// The stored and shown form.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }

            fn aliases(self) -> &'static [&'static str] {
                match self {
                    $($name::$variant => &[$($alias),*]),+
                }
            }

            /// The value named by a label or an alias (spaces and full-width forms ignored).
            pub fn parse(raw: &str) -> Option<$name> {
                let key = $crate::roster::rules::vocab_key(raw);
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.label() == key || v.aliases().contains(&key.as_str()))
            }

            pub fn labels() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.label()).collect()
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.label())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

pub(crate) use vocabulary;

vocabulary!(
    /// 人员性质: what kind of post a person holds.
    EmploymentType, "人员性质" {
        Administrative => "行政编制" ["在编", "行政", "公务员", "行政编", "在编在岗", "编制内", "行政编制人员"],
        CivilServantLike => "参照公务员法管理" [
            "参公", "参公管理", "参照公务员管理", "参照公务员法管理事业编制", "参公事业编制",
            "参照公务员法管理人员",
        ],
        Institution => "事业编制" ["事业", "事业编", "事业单位编制", "事业编制人员"],
        Auxiliary => "辅助人员" ["辅助", "协管员", "协管", "辅警", "执法辅助人员"],
        Contract => "劳动合同" ["合同", "合同制", "合同工", "聘用", "聘用制", "编外聘用"],
        Dispatched => "劳务派遣" ["派遣", "劳务派遣人员"],
        Temporary => "临时人员" ["临时", "临聘", "临时聘用", "临时工"],
    }
);

impl EmploymentType {
    /// Only established staff may hold a certificate (辅助人员 and contract staff may not).
    pub fn may_hold_certificate(self) -> bool {
        matches!(
            self,
            EmploymentType::Administrative
                | EmploymentType::CivilServantLike
                | EmploymentType::Institution
        )
    }
}

vocabulary!(
    /// 在岗状态.
    OfficerStatus, "在岗状态" {
        Serving => "在岗" ["在职", "正常", "在编在岗"],
        Seconded => "借调" ["借用", "挂职"],
        SickLeave => "长期病休" ["病休", "病假"],
        TransferredOut => "调离" ["调出", "离岗", "调走"],
        Retired => "退休" ["已退休", "离退休"],
        Left => "辞职辞退" ["辞职", "辞退", "离职", "开除"],
        Deceased => "死亡" ["去世", "已故"],
    }
);

impl OfficerStatus {
    pub const SERVING: [OfficerStatus; 3] = [
        OfficerStatus::Serving,
        OfficerStatus::Seconded,
        OfficerStatus::SickLeave,
    ];

    /// Still on the unit's enforcement staff.
    pub fn is_serving(self) -> bool {
        Self::SERVING.contains(&self)
    }
}

/// A stored vocabulary value: not filled in, one the vocabulary knows, or one kept as written
/// that still needs classifying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified<T> {
    Missing,
    Known(T),
    Unknown(String),
}

impl Classified<EmploymentType> {
    pub fn of(stored: &str) -> Self {
        classify(stored, EmploymentType::parse)
    }
}

impl Classified<OfficerStatus> {
    pub fn of(stored: &str) -> Self {
        classify(stored, OfficerStatus::parse)
    }
}

fn classify<T>(stored: &str, parse: fn(&str) -> Option<T>) -> Classified<T> {
    let s = stored.trim();
    if s.is_empty() {
        Classified::Missing
    } else {
        match parse(s) {
            Some(v) => Classified::Known(v),
            None => Classified::Unknown(s.to_string()),
        }
    }
}

/// Whether a person may hold a certificate, as far as the roster can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Eligibility {
    Eligible,
    Ineligible(String),
    /// Something it depends on is not filled in or not classified yet: 待确认.
    Unconfirmed(String),
}

impl Eligibility {
    pub fn label(&self) -> &'static str {
        match self {
            Eligibility::Eligible => "可申领",
            Eligibility::Ineligible(_) => "不可申领",
            Eligibility::Unconfirmed(_) => "待确认",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Eligibility::Eligible => "在编在岗，可申领执法证",
            Eligibility::Ineligible(r) | Eligibility::Unconfirmed(r) => r,
        }
    }
}

/// Certificates go to established staff in a serving status (在编在岗).
pub fn certificate_eligibility(employment_type: &str, status: &str) -> Eligibility {
    let status = match Classified::<OfficerStatus>::of(status) {
        Classified::Known(s) if !s.is_serving() => {
            return Eligibility::Ineligible(format!("在岗状态为“{s}”，不在执法岗位"));
        }
        other => other,
    };
    match Classified::<EmploymentType>::of(employment_type) {
        Classified::Known(e) if !e.may_hold_certificate() => Eligibility::Ineligible(format!(
            "人员性质为“{e}”，辅助人员及合同、派遣、临时人员不能申领执法证"
        )),
        Classified::Missing => {
            Eligibility::Unconfirmed("人员性质未填写，补充后才能确定能否申领执法证".into())
        }
        Classified::Unknown(v) => Eligibility::Unconfirmed(format!(
            "人员性质“{v}”尚未归类（行政编制 / 参照公务员法管理 / 事业编制 / 辅助人员 …）"
        )),
        Classified::Known(_) => match status {
            Classified::Unknown(v) => Eligibility::Unconfirmed(format!("在岗状态“{v}”尚未归类")),
            _ => Eligibility::Eligible,
        },
    }
}

/// Free text fields (post, category, region): cleaned and bounded.
pub fn clean_field(label: &str, raw: &str, max_chars: usize) -> Result<String, String> {
    let s = clean_text(&to_half_width_punct(raw));
    let n = s.chars().count();
    if n > max_chars {
        return Err(format!("{label}过长（{n} 个字符，最多 {max_chars} 个）"));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(format!("{label}含有控制字符"));
    }
    Ok(s)
}

/// Half-width digits and letters, but keep Chinese punctuation as written.
fn to_half_width_punct(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

// ---------------------------------------------------------------- units

/// GB/T 2260 administrative division code: six digits, a real province prefix.
pub fn parse_region_code(raw: &str) -> Result<String, String> {
    let s: String = to_half_width(raw)
        .chars()
        .filter(|c| !is_space(*c))
        .collect();
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "行政区划代码“{}”应为 6 位数字（GB/T 2260，如 220702）",
            raw.trim()
        ));
    }
    let province: u8 = s[..2].parse().unwrap_or(0);
    if !PROVINCES.contains(&province) {
        return Err(format!("行政区划代码“{s}”的前两位不是有效的省级代码"));
    }
    Ok(s)
}

pub fn parse_unit_code(raw: &str) -> Result<String, String> {
    let s: String = to_half_width(raw)
        .chars()
        .filter(|c| !is_space(*c))
        .collect::<String>()
        .to_ascii_uppercase();
    if s.is_empty()
        || s.len() > 32
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "单位代码“{}”应为 1 至 32 位字母、数字或 - _（如统一社会信用代码）",
            raw.trim()
        ));
    }
    Ok(s)
}

pub fn parse_unit_name(raw: &str) -> Result<String, String> {
    let s = clean_text(&to_half_width_punct(raw));
    if s.is_empty() {
        return Err("单位名称不能为空".into());
    }
    if s.chars().count() > 100 {
        return Err("单位名称过长（最多 100 个字符）".into());
    }
    Ok(s)
}

/// A unit name as sheets write it, for matching: no spaces at all, half-width brackets.
pub fn unit_name_key(raw: &str) -> String {
    to_half_width(raw)
        .chars()
        .filter(|c| !is_space(*c))
        .collect()
}

/// 2024年3月1日
/// UTC as stored, local time as shown: 2026年12月1日 09:00.
pub fn chinese_datetime(t: &chrono::NaiveDateTime) -> String {
    let local = chrono::DateTime::<chrono::Utc>::from_naive_utc_and_offset(*t, chrono::Utc)
        .with_timezone(&chrono::Local);
    format!(
        "{} {}",
        chinese_date(local.date_naive()),
        local.format("%H:%M")
    )
}

pub fn chinese_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_id_numbers() {
        // the standard's own example
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(
            IdNumber::parse("１１０１０５１９４９１２３１００２ｘ")
                .unwrap()
                .as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            IdNumber::parse(" 110105 19491231 002x ").unwrap().as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(IdNumberError::Check {
                expected: 'X',
                found: '1'
            })
        );
        assert!(matches!(
            IdNumber::parse("1.10105194912310E+17"),
            Err(IdNumberError::LostDigits(_))
        ));
        assert_eq!(
            IdNumber::parse("110105491231002"),
            Err(IdNumberError::OldFifteenDigit)
        );
        assert_eq!(
            IdNumber::parse("11010519491331002X"),
            Err(IdNumberError::BirthDate)
        );
        assert_eq!(
            IdNumber::parse("99010519491231002X"),
            Err(IdNumberError::Region)
        );
    }

    #[test]
    fn names_keep_rare_characters() {
        assert_eq!(normalize_name("王䶮").unwrap(), "王䶮");
        assert_eq!(normalize_name(" 𬌗 𠇔 ").unwrap(), "𬌗𠇔");
        assert_eq!(normalize_name("张　　三").unwrap(), "张三");
        assert_eq!(
            normalize_name("阿依古丽•买买提").unwrap(),
            "阿依古丽·买买提"
        );
        assert!(normalize_name("张三1").is_err());
        assert_eq!(mask_name("张小三"), "张*三");
        assert_eq!(mask_name("王䶮"), "王*");
    }

    #[test]
    fn phones() {
        assert_eq!(normalize_phone("138 0431 0000").unwrap(), "13804310000");
        assert_eq!(
            normalize_phone("０４３８－１２３４５６７").unwrap(),
            "0438-1234567"
        );
        assert!(normalize_phone("12345").is_err());
    }

    #[test]
    fn vocabularies() {
        assert_eq!(
            EmploymentType::parse("在编"),
            Some(EmploymentType::Administrative)
        );
        assert_eq!(
            EmploymentType::parse(" 参 公 "),
            Some(EmploymentType::CivilServantLike)
        );
        assert_eq!(EmploymentType::parse("外包"), None);
        assert_eq!(OfficerStatus::parse("退休"), Some(OfficerStatus::Retired));
        assert_eq!(
            Classified::<EmploymentType>::of("受委托组织事业编制"),
            Classified::Unknown("受委托组织事业编制".into())
        );
    }

    #[test]
    fn eligibility_says_what_it_waits_for() {
        assert_eq!(
            certificate_eligibility("行政编制", "在岗"),
            Eligibility::Eligible
        );
        assert_eq!(certificate_eligibility("", "在岗").label(), "待确认");
        assert_eq!(
            certificate_eligibility("受委托组织事业编制", "在岗").label(),
            "待确认"
        );
        assert_eq!(certificate_eligibility("辅警", "在岗").label(), "不可申领");
        assert_eq!(certificate_eligibility("", "退休").label(), "不可申领");
        assert_eq!(
            certificate_eligibility("事业编制", "待岗培训").label(),
            "待确认"
        );
    }

    proptest! {
        #[test]
        fn made_numbers_parse_and_round_trip(
            region in prop::sample::select(vec!["220702", "110105", "510104", "650102"]),
            days in 0i64..40000,
            seq in 0u16..1000,
        ) {
            let birth = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Duration::days(days);
            prop_assume!(birth <= chrono::Utc::now().date_naive());
            let s = make_id_number(region, birth, seq);
            let id = IdNumber::parse(&s).unwrap();
            prop_assert_eq!(id.birth_date(), birth);
            prop_assert_eq!(id.sex() == Sex::Male, seq % 2 == 1);
            prop_assert_eq!(IdNumber::parse(&s.to_lowercase()).unwrap(), id.clone());
        }

        #[test]
        fn any_single_digit_change_is_caught(pos in 0usize..17, delta in 1u8..10) {
            let s = make_id_number("220702", NaiveDate::from_ymd_opt(1985, 6, 15).unwrap(), 123);
            let mut b = s.into_bytes();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(b).unwrap();
            prop_assert!(IdNumber::parse(&changed).is_err());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = IdNumber::parse(&s);
            let _ = normalize_name(&s);
            let _ = normalize_phone(&s);
        }
    }
}
