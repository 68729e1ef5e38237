//! Roster records as stored, and the validated inputs that create or change them.

use super::rules::{self, IdNumber, Sex};
use crate::db::schema::{officer_postings, officers, units};
use crate::error::FieldErrors;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = units)]
pub struct Unit {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub region_code: String,
    pub parent_id: Option<i64>,
    pub path: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Unit {
    /// Depth in the tree: 0 for a root.
    pub fn depth(&self) -> usize {
        self.path.matches('/').count().saturating_sub(2)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
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
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Officer {
    pub fn may_hold_certificate(&self) -> bool {
        rules::employment_may_hold_certificate(&self.employment_type)
            && rules::status_is_serving(&self.status)
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
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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
}

/// The checked fields of an officer, ready to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, AsChangeset, Insertable)]
#[diesel(table_name = officers)]
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
        }
    }

    /// The Chinese names of the fields that differ, for previews and history.
    pub fn changed_fields(&self, other: &OfficerFields) -> Vec<&'static str> {
        let mut v = Vec::new();
        let pairs: [(&'static str, bool); 11] = [
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
        let employment = if self.employment_type.trim().is_empty() {
            errors.insert(
                "employment_type".into(),
                "请填写人员性质（如 行政编制、参照公务员法管理、辅助人员）".into(),
            );
            None
        } else {
            rules::EMPLOYMENT_TYPES
                .parse(&self.employment_type)
                .map_err(|e| errors.insert("employment_type".into(), e))
                .ok()
        };
        let status = if self.status.trim().is_empty() {
            Some("在岗")
        } else {
            rules::STATUSES
                .parse(&self.status)
                .map_err(|e| errors.insert("status".into(), e))
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
            employment_type: employment.expect("no errors").to_string(),
            phone: phone.expect("no errors"),
            status: status.expect("no errors").to_string(),
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
        }
    }
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
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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
