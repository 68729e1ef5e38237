//! Roster records as stored, and the validated inputs that create or change them.

use super::rules::{self, IdNumber, Sex};
use crate::db::schema::{officer_postings, officers, units};
use crate::error::FieldErrors;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = units)]
pub struct Unit {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub region_code: String,
    pub parent_id: Option<i64>,
    pub path: String,
    pub active: bool,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    pub created_at: NaiveDateTime,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    pub updated_at: NaiveDateTime,
}

impl Unit {
    /// Depth in the tree: 0 for a root.
    pub fn depth(&self) -> usize {
        self.path.matches('/').count().saturating_sub(2)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = officers)]
pub struct Officer {
    pub id: i64,
    pub name: String,
    pub sex: String,
    pub id_number: String,
    pub birth_date: NaiveDate,
    pub unit_id: i64,
    pub post: String,
    pub category: String,
    pub region: String,
    pub employment_type: String,
    pub phone: String,
    pub status: String,
    pub cert_number: Option<String>,
    pub has_photo: bool,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    pub created_at: NaiveDateTime,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    pub updated_at: NaiveDateTime,
    /// 职级, as written.
    pub grade: String,
    /// 发证机关 of the certificate the roster knows of (until the certificate register takes over).
    pub cert_issuer: String,
    pub cert_valid_until: Option<NaiveDate>,
}

impl Officer {
    pub fn eligibility(&self) -> rules::Eligibility {
        rules::certificate_eligibility(&self.employment_type, &self.status)
    }

    /// "未填写" for an empty value, for pages.
    pub fn shown(value: &str) -> &str {
        if value.trim().is_empty() {
            "未填写"
        } else {
            value
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = officer_postings)]
pub struct Posting {
    pub id: i64,
    pub officer_id: i64,
    pub unit_id: i64,
    pub post: String,
    pub started_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
}

/// An officer as the user typed it (form, API or sheet row): every field a string.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "name": "李四", "id_number": "110101199001011237", "unit_id": 1, "post": "科员",
    "category": "司法行政", "region": "北京市东城区", "employment_type": "行政编制",
    "status": "在岗", "phone": "13800138000"
}))]
#[serde(default)]
pub struct OfficerInput {
    pub name: String,
    pub id_number: String,
    pub sex: String,
    pub birth_date: String,
    pub unit_id: Option<i64>,
    pub post: String,
    pub category: String,
    pub region: String,
    pub employment_type: String,
    pub phone: String,
    pub status: String,
    pub grade: String,
    pub cert_number: String,
    pub cert_issuer: String,
    pub cert_valid_until: String,
}

/// The checked fields of an officer, ready to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, AsChangeset, Insertable)]
#[diesel(table_name = officers, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct OfficerFields {
    pub name: String,
    pub sex: String,
    pub id_number: String,
    pub birth_date: NaiveDate,
    pub unit_id: i64,
    pub post: String,
    pub category: String,
    pub region: String,
    pub employment_type: String,
    pub phone: String,
    pub status: String,
    pub grade: String,
    pub cert_number: Option<String>,
    pub cert_issuer: String,
    pub cert_valid_until: Option<NaiveDate>,
}

impl OfficerFields {
    pub fn of(o: &Officer) -> OfficerFields {
        OfficerFields {
            name: o.name.clone(),
            sex: o.sex.clone(),
            id_number: o.id_number.clone(),
            birth_date: o.birth_date,
            unit_id: o.unit_id,
            post: o.post.clone(),
            category: o.category.clone(),
            region: o.region.clone(),
            employment_type: o.employment_type.clone(),
            phone: o.phone.clone(),
            status: o.status.clone(),
            grade: o.grade.clone(),
            cert_number: o.cert_number.clone(),
            cert_issuer: o.cert_issuer.clone(),
            cert_valid_until: o.cert_valid_until,
        }
    }

    /// Values kept as written that still need classifying: (field, what to do).
    pub fn flags(&self) -> Vec<(&'static str, String)> {
        use rules::{Classified, EmploymentType, OfficerStatus};
        let mut v = Vec::new();
        match Classified::<EmploymentType>::of(&self.employment_type) {
            Classified::Missing => v.push((
                "employment_type",
                "人员性质未填写：显示为“未填写”，能否申领执法证为“待确认”".to_string(),
            )),
            Classified::Unknown(x) => v.push((
                "employment_type",
                format!(
                    "人员性质“{x}”不在标准分类中（{}），已照原样保存，待归类",
                    EmploymentType::labels().join("、")
                ),
            )),
            Classified::Known(_) => {}
        }
        if let Classified::Unknown(x) = Classified::<OfficerStatus>::of(&self.status) {
            v.push((
                "status",
                format!(
                    "在岗状态“{x}”不在标准分类中（{}），已照原样保存，待归类",
                    OfficerStatus::labels().join("、")
                ),
            ));
        }
        v
    }

    /// The Chinese names of the fields that differ, for previews and history.
    pub fn changed_fields(&self, other: &OfficerFields) -> Vec<&'static str> {
        let mut v = Vec::new();
        let pairs: [(&'static str, bool); 15] = [
            ("姓名", self.name != other.name),
            ("性别", self.sex != other.sex),
            ("身份证号", self.id_number != other.id_number),
            ("出生日期", self.birth_date != other.birth_date),
            ("所在单位", self.unit_id != other.unit_id),
            ("职务", self.post != other.post),
            ("执法类别", self.category != other.category),
            ("执法区域", self.region != other.region),
            ("人员性质", self.employment_type != other.employment_type),
            ("联系电话", self.phone != other.phone),
            ("在岗状态", self.status != other.status),
            ("职级", self.grade != other.grade),
            ("执法证号", self.cert_number != other.cert_number),
            ("发证机关", self.cert_issuer != other.cert_issuer),
            (
                "证件有效期",
                self.cert_valid_until != other.cert_valid_until,
            ),
        ];
        for (label, differs) in pairs {
            if differs {
                v.push(label);
            }
        }
        v
    }
}

/// Parses a date as people write it: 1985-06-15, 1985/6/15, 1985.6.15, 19850615, 1985年6月15日.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = rules::to_half_width(raw)
        .trim()
        .replace(['年', '月', '/', '.'], "-")
        .replace('日', "");
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(&s, "%Y%m%d").ok();
    }
    NaiveDate::parse_from_str(s.split(' ').next().unwrap_or(""), "%Y-%m-%d").ok()
}

/// Checks a birth date as written against the one in the ID number. Rosters often keep only
/// the year and month (出生年月: 1985.06, 198506, 1985年6月, or the number 1985.1 for October).
pub fn check_birth(raw: &str, from_id: NaiveDate) -> Result<(), String> {
    use chrono::Datelike;
    let shown = raw.trim();
    if let Some(d) = parse_date(shown) {
        if d == from_id {
            return Ok(());
        }
        return Err(format!(
            "出生日期填的是 {}，但身份证号显示为 {}",
            rules::chinese_date(d),
            rules::chinese_date(from_id)
        ));
    }
    let s = rules::to_half_width(shown)
        .replace(['年', '.', '-', '/'], " ")
        .replace('月', "");
    let parts: Vec<&str> = s.split_whitespace().collect();
    let (year, months): (i32, Vec<u32>) = match parts.as_slice() {
        [ym] if ym.len() == 6 && ym.bytes().all(|b| b.is_ascii_digit()) => (
            ym[..4].parse().unwrap_or(0),
            vec![ym[4..].parse().unwrap_or(0)],
        ),
        [y, m]
            if y.len() == 4
                && !m.is_empty()
                && m.len() <= 2
                && m.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let v: u32 = m.parse().unwrap_or(0);
            // "1985.1" may be October with Excel's trailing zero dropped
            let months = if m.len() == 1 && v > 0 {
                vec![v, v * 10]
            } else {
                vec![v]
            };
            (y.parse().unwrap_or(0), months)
        }
        _ => {
            return Err(format!(
                "出生日期“{shown}”无法识别（应如 1985-06-15 或 1985.06）"
            ));
        }
    };
    if year == from_id.year() && months.contains(&from_id.month()) {
        Ok(())
    } else {
        Err(format!(
            "出生年月填的是“{shown}”，但身份证号显示为 {}年{}月",
            from_id.year(),
            from_id.month()
        ))
    }
}

impl OfficerInput {
    /// Checks every field; all problems are reported together, keyed by field name.
    pub fn validate(&self) -> Result<OfficerFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = rules::normalize_name(&self.name)
            .map_err(|e| errors.insert("name".into(), e))
            .ok();
        let id = IdNumber::parse(&self.id_number)
            .map_err(|e| errors.insert("id_number".into(), e.to_string()))
            .ok();
        if let Some(id) = &id {
            if !self.sex.trim().is_empty() {
                match Sex::parse(&self.sex) {
                    None => {
                        errors.insert(
                            "sex".into(),
                            format!("性别“{}”应为 男 或 女", self.sex.trim()),
                        );
                    }
                    Some(s) if s != id.sex() => {
                        errors.insert(
                            "sex".into(),
                            format!(
                                "性别填的是“{}”，但身份证号显示为“{}”",
                                s.label(),
                                id.sex().label()
                            ),
                        );
                    }
                    _ => {}
                }
            }
            if !self.birth_date.trim().is_empty()
                && let Err(e) = check_birth(&self.birth_date, id.birth_date())
            {
                errors.insert("birth_date".into(), e);
            }
        }
        if self.unit_id.is_none() {
            errors.insert("unit_id".into(), "请选择所在单位".into());
        }
        let post = rules::clean_field("职务", &self.post, 50)
            .map_err(|e| errors.insert("post".into(), e))
            .ok();
        let category = rules::clean_field("执法类别", &self.category, 50)
            .map_err(|e| errors.insert("category".into(), e))
            .ok();
        let region = rules::clean_field("执法区域", &self.region, 100)
            .map_err(|e| errors.insert("region".into(), e))
            .ok();
        // vocabularies: a known value is stored as its label; an unknown one as written (flagged
        // for classification by `OfficerFields::flags`); an empty employment type stays empty
        let employment = rules::clean_field("人员性质", &self.employment_type, 50)
            .map(|v| match rules::EmploymentType::parse(&v) {
                Some(e) => e.label().to_string(),
                None => v,
            })
            .map_err(|e| errors.insert("employment_type".into(), e))
            .ok();
        let status = rules::clean_field("在岗状态", &self.status, 50)
            .map(|v| match rules::OfficerStatus::parse(&v) {
                Some(s) => s.label().to_string(),
                None if v.is_empty() => rules::OfficerStatus::Serving.label().to_string(),
                None => v,
            })
            .map_err(|e| errors.insert("status".into(), e))
            .ok();
        let grade = rules::clean_field("职级", &self.grade, 50)
            .map_err(|e| errors.insert("grade".into(), e))
            .ok();
        let cert_number = rules::clean_field("执法证号", &self.cert_number, 100)
            .map_err(|e| errors.insert("cert_number".into(), e))
            .ok();
        let cert_issuer = rules::clean_field("发证机关", &self.cert_issuer, 100)
            .map_err(|e| errors.insert("cert_issuer".into(), e))
            .ok();
        let cert_valid_until = if self.cert_valid_until.trim().is_empty() {
            Some(None)
        } else {
            parse_validity(&self.cert_valid_until)
                .map(Some)
                .ok_or_else(|| {
                    errors.insert(
                        "cert_valid_until".into(),
                        format!(
                            "证件有效期“{}”无法识别（应如 2028-06-01、2028.6 或 2020.02-2026.02）",
                            rules::clean_text(&self.cert_valid_until)
                                .chars()
                                .take(40)
                                .collect::<String>()
                        ),
                    )
                })
                .ok()
        };
        let phone = rules::normalize_phone(&self.phone)
            .map_err(|e| errors.insert("phone".into(), e))
            .ok();
        if !errors.is_empty() {
            return Err(errors);
        }
        let id = id.expect("no errors");
        Ok(OfficerFields {
            name: name.expect("no errors"),
            sex: id.sex().label().to_string(),
            birth_date: id.birth_date(),
            id_number: id.as_str().to_string(),
            unit_id: self.unit_id.expect("no errors"),
            post: post.expect("no errors"),
            category: category.expect("no errors"),
            region: region.expect("no errors"),
            employment_type: employment.expect("no errors"),
            phone: phone.expect("no errors"),
            status: status.expect("no errors"),
            grade: grade.expect("no errors"),
            cert_number: Some(cert_number.expect("no errors")).filter(|c| !c.is_empty()),
            cert_issuer: cert_issuer.expect("no errors"),
            cert_valid_until: cert_valid_until.expect("no errors"),
        })
    }

    pub fn from_officer(o: &Officer) -> OfficerInput {
        OfficerInput {
            name: o.name.clone(),
            id_number: o.id_number.clone(),
            sex: o.sex.clone(),
            birth_date: o.birth_date.to_string(),
            unit_id: Some(o.unit_id),
            post: o.post.clone(),
            category: o.category.clone(),
            region: o.region.clone(),
            employment_type: o.employment_type.clone(),
            phone: o.phone.clone(),
            status: o.status.clone(),
            grade: o.grade.clone(),
            cert_number: o.cert_number.clone().unwrap_or_default(),
            cert_issuer: o.cert_issuer.clone(),
            cert_valid_until: o
                .cert_valid_until
                .map(|d| d.to_string())
                .unwrap_or_default(),
        }
    }
}

/// A certificate's validity as sheets write it: 2028-06-01, 2028.6.1, 2028年6月, 2028.6 (the
/// month's last day), or a period "2020.02-2026.02" / "2020年2月至2026年2月" (its end).
pub fn parse_validity(raw: &str) -> Option<NaiveDate> {
    let s = rules::to_half_width(raw).trim().to_string();
    // a period: the part after the separator is the end
    let end = s
        .rsplit(['至', '~', '—', '－'])
        .next()
        .filter(|e| e.len() < s.len())
        .map(str::to_string)
        .or_else(|| {
            // "2020.02-2026.02": a dash between two dates (a date's own dashes come in twos)
            let parts: Vec<&str> = s.split('-').collect();
            match parts.len() {
                2 => Some(parts[1].to_string()),
                6 => Some(parts[3..].join("-")),
                _ => None,
            }
        })
        .unwrap_or(s);
    let end = end.trim().trim_end_matches(['止', '日']).trim();
    if let Some(d) = parse_date(end) {
        return Some(d);
    }
    // year and month only: valid to the end of that month
    let ym = end.replace(['年', '.', '/', '-'], " ").replace('月', "");
    let parts: Vec<&str> = ym.split_whitespace().collect();
    if !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let (y, m): (i32, u32) = match parts.as_slice() {
        [y, m] if y.len() == 4 && m.len() <= 2 => (y.parse().ok()?, m.parse().ok()?),
        [ym] if ym.len() == 6 => (ym[..4].parse().ok()?, ym[4..].parse().ok()?),
        _ => return None,
    };
    if !(1..=12).contains(&m) {
        return None;
    }
    let first_next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)?
    };
    first_next
        .pred_opt()
        .filter(|d| (1990..2100).contains(&chrono::Datelike::year(d)))
}

/// A unit as the user typed it.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates_as_rosters_write_them() {
        let d = NaiveDate::from_ymd_opt(1985, 10, 15).unwrap();
        for ok in [
            "1985-10-15",
            "1985年10月15日",
            "19851015",
            "1985/10/15",
            "1985.10",
            "198510",
            "1985年10月",
            "1985.1",
        ] {
            assert!(check_birth(ok, d).is_ok(), "{ok}");
        }
        assert!(
            check_birth("1985.11", d)
                .unwrap_err()
                .contains("1985年10月")
        );
        assert!(
            check_birth("1985-10-16", d)
                .unwrap_err()
                .contains("1985年10月15日")
        );
        assert!(check_birth("八五年", d).unwrap_err().contains("无法识别"));
    }

    #[test]
    fn validity_as_sheets_write_it() {
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(parse_validity("2028-06-01"), ymd(2028, 6, 1));
        assert_eq!(parse_validity("2028.6"), ymd(2028, 6, 30));
        assert_eq!(parse_validity("2028年2月"), ymd(2028, 2, 29));
        assert_eq!(parse_validity("2020.02-2026.02"), ymd(2026, 2, 28));
        assert_eq!(parse_validity("2020-02-01-2026-02-01"), ymd(2026, 2, 1));
        assert_eq!(
            parse_validity("2020年2月1日至2026年1月31日"),
            ymd(2026, 1, 31)
        );
        assert_eq!(parse_validity("长期"), None);
        assert_eq!(parse_validity("2028.13"), None);
    }

    proptest::proptest! {
        /// Whatever a sheet holds in a date column, reading it never panics.
        #[test]
        fn validity_never_panics(s in "\\PC{0,24}") {
            let _ = parse_validity(&s);
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"code": "SFJ-0101", "name": "东城区司法局", "region_code": "110101"}))]
#[serde(default)]
pub struct UnitInput {
    pub code: String,
    pub name: String,
    pub region_code: String,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitFields {
    pub code: String,
    pub name: String,
    pub region_code: String,
    pub parent_id: Option<i64>,
}

impl UnitInput {
    pub fn validate(&self) -> Result<UnitFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let code = rules::parse_unit_code(&self.code)
            .map_err(|e| errors.insert("code".into(), e))
            .ok();
        let name = rules::parse_unit_name(&self.name)
            .map_err(|e| errors.insert("name".into(), e))
            .ok();
        let region = rules::parse_region_code(&self.region_code)
            .map_err(|e| errors.insert("region_code".into(), e))
            .ok();
        match (code, name, region) {
            (Some(code), Some(name), Some(region_code)) if errors.is_empty() => Ok(UnitFields {
                code,
                name,
                region_code,
                parent_id: self.parent_id,
            }),
            _ => Err(errors),
        }
    }
}
