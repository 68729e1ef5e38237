//! Exam plans (申报考试计划): a unit proposes candidates from its roster, each checked and
//! any refusal said with its reason; the bureau decides collectively (meeting minutes number,
//! date, the names of those who decided), approving all, some or none, and the unit sees the
//! decision. Approved candidates are what a batch enrols.

use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::db::schema::{exam_plan_candidates as pc, exam_plans as pl, officers, units};
use crate::error::{Error, Result};
use crate::roster::rules::{Eligibility, IdNumber};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const PENDING: &str = "待审批";
pub const APPROVED: &str = "已批准";
pub const PARTLY: &str = "部分批准";
pub const REJECTED: &str = "已驳回";

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PlanCandidateInput {
    /// The officer, by id …
    #[serde(default)]
    pub officer_id: Option<i64>,
    /// … or by ID number (a pasted list).
    #[serde(default)]
    pub id_number: Option<String>,
    /// An exemption the province grants, e.g. 持法律职业资格，免考公共法律知识.
    #[serde(default)]
    pub exemption: String,
    /// Sits again to renew a certificate that is still valid.
    #[serde(default)]
    pub recertify: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PlanInput {
    pub unit_id: i64,
    pub title: String,
    /// 专业 categories besides 公共法律知识 (e.g. ["市场监管"]); empty: the public part only.
    #[serde(default)]
    pub categories: Vec<String>,
    #[schema(value_type = String, example = "2026-12-01")]
    pub period_start: NaiveDate,
    #[schema(value_type = String, example = "2026-12-31")]
    pub period_end: NaiveDate,
    pub candidates: Vec<PlanCandidateInput>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Refused {
    /// The line as given (officer id or ID number).
    pub given: String,
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanCandidate {
    pub officer_id: i64,
    pub name: String,
    pub id_number: String,
    pub approved: Option<bool>,
    pub reason: String,
    pub exemption: String,
    pub recertify: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanView {
    pub id: i64,
    pub unit_id: i64,
    pub unit: String,
    pub title: String,
    pub categories: Vec<String>,
    #[schema(value_type = String)]
    pub period_start: NaiveDate,
    #[schema(value_type = String)]
    pub period_end: NaiveDate,
    pub status: String,
    pub submitted_by: String,
    #[schema(value_type = String)]
    pub submitted_at: NaiveDateTime,
    pub decision_ref: String,
    #[schema(value_type = Option<String>)]
    pub decision_date: Option<NaiveDate>,
    pub deciders: Vec<String>,
    pub decision_note: String,
    pub candidates: Vec<PlanCandidate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Submitted {
    pub plan: PlanView,
    /// Lines that could not be listed, each with its reason.
    pub refused: Vec<Refused>,
}

const MAX_CANDIDATES: usize = 20_000;

#[derive(Queryable, Selectable)]
#[diesel(table_name = pl)]
struct PlanRow {
    id: i64,
    unit_id: i64,
    title: String,
    categories: String,
    period_start: NaiveDate,
    period_end: NaiveDate,
    status: String,
    submitted_by: String,
    submitted_at: NaiveDateTime,
    decision_ref: String,
    decision_date: Option<NaiveDate>,
    deciders: String,
    decision_note: String,
}

/// Whether an officer may be listed: in an enforcement post (serving), established staff, not
/// holding a valid certificate unless re-certifying.
fn refusal(o: &crate::roster::model::Officer, recertify: bool, today: NaiveDate) -> Option<String> {
    match o.eligibility() {
        Eligibility::Eligible => {}
        Eligibility::Ineligible(r) => return Some(r.to_string()),
        Eligibility::Unconfirmed(r) => return Some(format!("{r}，请先在名录库中补全")),
    }
    let holds = o
        .cert_number
        .as_deref()
        .is_some_and(|n| !n.trim().is_empty())
        && o.cert_valid_until.is_some_and(|d| d >= today);
    if holds && !recertify {
        return Some(format!(
            "已持有有效的执法证（{}，有效期至 {}）；如需换证重考请勾选“重新认证”",
            o.cert_number.clone().unwrap_or_default(),
            o.cert_valid_until
                .map(crate::roster::rules::chinese_date)
                .unwrap_or_default()
        ));
    }
    None
}

pub fn submit(conn: &mut DbConn, grant: &Grant, input: &PlanInput) -> Result<Submitted> {
    grant.require(Capability::WriteRoster)?;
    let unit = crate::roster::visible_unit(conn, grant, input.unit_id)?;
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 100 {
        return Err(Error::invalid("title", "请填写计划名称（不超过 100 字）"));
    }
    if input.period_end < input.period_start {
        return Err(Error::invalid(
            "period_end",
            "拟考试时间的结束日期不能早于开始日期",
        ));
    }
    if input.candidates.is_empty() || input.candidates.len() > MAX_CANDIDATES {
        return Err(Error::invalid(
            "candidates",
            format!("请列出 1 至 {MAX_CANDIDATES} 名考生"),
        ));
    }
    let categories: Vec<String> = input
        .categories
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let today = crate::db::now().date();
    let mut refused = Vec::new();
    let mut accepted: Vec<(crate::roster::model::Officer, &PlanCandidateInput)> = Vec::new();
    for c in &input.candidates {
        let (given, found) = match (&c.officer_id, &c.id_number) {
            (Some(id), _) => (id.to_string(), crate::roster::db::officer(conn, *id)?),
            (None, Some(raw)) => match IdNumber::parse(raw) {
                Ok(id) => (
                    raw.trim().to_string(),
                    crate::roster::db::officer_by_id_number(conn, id.as_str())?,
                ),
                Err(e) => {
                    refused.push(Refused {
                        given: raw.trim().to_string(),
                        name: String::new(),
                        reason: e.to_string(),
                    });
                    continue;
                }
            },
            (None, None) => {
                refused.push(Refused {
                    given: String::new(),
                    name: String::new(),
                    reason: "未给出人员".into(),
                });
                continue;
            }
        };
        // someone outside the unit's subtree is "not found", as the roster says it
        let visible = match &found {
            Some(o) => crate::roster::db::unit(conn, o.unit_id)?
                .is_some_and(|u| u.path.starts_with(&unit.path) && grant.scope().covers_unit(&u)),
            None => false,
        };
        let Some(o) = found.filter(|_| visible) else {
            refused.push(Refused {
                given,
                name: String::new(),
                reason: format!("名录库中“{}”及其下级单位没有此人", unit.name),
            });
            continue;
        };
        if accepted.iter().any(|(a, _)| a.id == o.id) {
            refused.push(Refused {
                given,
                name: o.name.clone(),
                reason: "重复列出".into(),
            });
            continue;
        }
        if let Some(r) = refusal(&o, c.recertify, today) {
            refused.push(Refused {
                given,
                name: o.name.clone(),
                reason: r,
            });
            continue;
        }
        let pending: i64 = pc::table
            .inner_join(pl::table)
            .filter(pc::officer_id.eq(o.id))
            .filter(pl::status.eq(PENDING))
            .count()
            .get_result(conn)?;
        if pending > 0 {
            refused.push(Refused {
                given,
                name: o.name.clone(),
                reason: "已在另一份待审批的考试计划中".into(),
            });
            continue;
        }
        if c.exemption.chars().count() > 100 {
            refused.push(Refused {
                given,
                name: o.name.clone(),
                reason: "免考说明不能超过 100 字".into(),
            });
            continue;
        }
        accepted.push((o, c));
    }
    if accepted.is_empty() {
        let reasons: Vec<String> = refused
            .iter()
            .take(20)
            .map(|r| {
                format!(
                    "{}{}：{}",
                    r.given,
                    if r.name.is_empty() {
                        String::new()
                    } else {
                        format!("（{}）", r.name)
                    },
                    r.reason
                )
            })
            .collect();
        return Err(Error::invalid(
            "candidates",
            format!("没有可列入计划的考生：{}", reasons.join("；")),
        ));
    }
    let now = crate::db::now();
    let plan_id = audit::transaction(conn, grant.actor(), |conn, rec| {
        let id: i64 = diesel::insert_into(pl::table)
            .values((
                pl::unit_id.eq(unit.id),
                pl::title.eq(title),
                pl::categories
                    .eq(serde_json::to_string(&categories).unwrap_or_else(|_| "[]".into())),
                pl::period_start.eq(input.period_start),
                pl::period_end.eq(input.period_end),
                pl::status.eq(PENDING),
                pl::submitted_by.eq(&rec.actor().name),
                pl::submitted_at.eq(now),
            ))
            .returning(pl::id)
            .get_result(conn)?;
        for (o, c) in &accepted {
            diesel::insert_into(pc::table)
                .values((
                    pc::plan_id.eq(id),
                    pc::officer_id.eq(o.id),
                    pc::exemption.eq(c.exemption.trim()),
                    pc::recertify.eq(c.recertify),
                ))
                .execute(conn)?;
        }
        rec.record(
            conn,
            Change::new(
                "exam.plan_submit",
                "exam_plan",
                id,
                format!(
                    "{}申报考试计划“{title}”，{} 名考生",
                    unit.name,
                    accepted.len()
                ),
            ),
        )?;
        Ok(id)
    })?;
    Ok(Submitted {
        plan: view(conn, grant, plan_id)?,
        refused,
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Decision {
    /// Approve (all, or those in `approved_officer_ids`) or reject the plan.
    pub approve: bool,
    /// Approve only these; omitted: all.
    #[serde(default)]
    pub approved_officer_ids: Option<Vec<i64>>,
    /// 会议纪要编号
    pub meeting_ref: String,
    #[schema(value_type = String, example = "2026-11-20")]
    pub meeting_date: NaiveDate,
    /// The names of those who decided (collective: at least two).
    pub deciders: Vec<String>,
    /// The reasons (required to reject or to leave candidates out).
    #[serde(default)]
    pub note: String,
}

pub fn decide(conn: &mut DbConn, grant: &Grant, plan_id: i64, d: &Decision) -> Result<PlanView> {
    grant.require(Capability::ManageExams)?;
    let meeting_ref = d.meeting_ref.trim();
    if meeting_ref.is_empty() || meeting_ref.chars().count() > 60 {
        return Err(Error::invalid(
            "meeting_ref",
            "请填写会议纪要编号（集体决定的依据）",
        ));
    }
    let deciders: Vec<String> = d
        .deciders
        .iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    if deciders.len() < 2 || deciders.iter().any(|n| n.chars().count() > 30) {
        return Err(Error::invalid(
            "deciders",
            "集体决定须列出至少两名参与决定人员的姓名",
        ));
    }
    let note = d.note.trim();
    audit::transaction(conn, grant.actor(), |conn, rec| {
        let status: String = pl::table
            .find(plan_id)
            .select(pl::status)
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::not_found("考试计划"))?;
        if status != PENDING {
            return Err(Error::conflict(
                "status",
                format!("该计划已{status}，不能再次审批"),
            ));
        }
        let listed: Vec<i64> = pc::table
            .filter(pc::plan_id.eq(plan_id))
            .select(pc::officer_id)
            .load(conn)?;
        let approved: Vec<i64> = if !d.approve {
            vec![]
        } else {
            match &d.approved_officer_ids {
                None => listed.clone(),
                Some(ids) => {
                    if let Some(x) = ids.iter().find(|i| !listed.contains(i)) {
                        return Err(Error::invalid(
                            "approved_officer_ids",
                            format!("人员 {x} 不在该计划中"),
                        ));
                    }
                    ids.clone()
                }
            }
        };
        if approved.len() < listed.len() && note.is_empty() {
            return Err(Error::invalid("note", "驳回或未批准部分考生时，须写明理由"));
        }
        let new_status = if approved.is_empty() {
            REJECTED
        } else if approved.len() < listed.len() {
            PARTLY
        } else {
            APPROVED
        };
        for id in &listed {
            let ok = approved.contains(id);
            diesel::update(pc::table.find((plan_id, *id)))
                .set((
                    pc::approved.eq(ok),
                    pc::reason.eq(if ok { "" } else { note }),
                ))
                .execute(conn)?;
        }
        diesel::update(pl::table.find(plan_id))
            .set((
                pl::status.eq(new_status),
                pl::decision_ref.eq(meeting_ref),
                pl::decision_date.eq(d.meeting_date),
                pl::deciders.eq(deciders.join("、")),
                pl::decision_note.eq(note),
                pl::decided_by.eq(&rec.actor().name),
                pl::decided_at.eq(crate::db::now()),
            ))
            .execute(conn)?;
        rec.record(
            conn,
            Change::new(
                "exam.plan_decide",
                "exam_plan",
                plan_id,
                format!(
                    "考试计划 {plan_id} {new_status}（{meeting_ref}，{}；批准 {} / {} 人）",
                    deciders.join("、"),
                    approved.len(),
                    listed.len()
                ),
            ),
        )?;
        Ok(())
    })?;
    view(conn, grant, plan_id)
}

/// A plan, for its unit (and the units above it) and the bureau.
pub fn view(conn: &mut DbConn, grant: &Grant, plan_id: i64) -> Result<PlanView> {
    grant.require(Capability::ReadRoster)?;
    let row = pl::table
        .find(plan_id)
        .select(PlanRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("考试计划"))?;
    let unit =
        crate::roster::db::unit(conn, row.unit_id)?.ok_or_else(|| Error::not_found("考试计划"))?;
    if !grant.scope().covers_unit(&unit) && !grant.allows(Capability::ManageExams) {
        return Err(Error::not_found("考试计划"));
    }
    let candidates = pc::table
        .inner_join(officers::table)
        .filter(pc::plan_id.eq(plan_id))
        .order(officers::name.asc())
        .select((
            pc::officer_id,
            officers::name,
            officers::id_number,
            pc::approved,
            pc::reason,
            pc::exemption,
            pc::recertify,
        ))
        .load::<(i64, String, String, Option<bool>, String, String, bool)>(conn)?
        .into_iter()
        .map(
            |(officer_id, name, id_number, approved, reason, exemption, recertify)| PlanCandidate {
                officer_id,
                name,
                id_number,
                approved,
                reason,
                exemption,
                recertify,
            },
        )
        .collect();
    Ok(PlanView {
        id: row.id,
        unit_id: row.unit_id,
        unit: unit.name,
        title: row.title,
        categories: serde_json::from_str(&row.categories).unwrap_or_default(),
        period_start: row.period_start,
        period_end: row.period_end,
        status: row.status,
        submitted_by: row.submitted_by,
        submitted_at: row.submitted_at,
        decision_ref: row.decision_ref,
        decision_date: row.decision_date,
        deciders: row
            .deciders
            .split('、')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        decision_note: row.decision_note,
        candidates,
    })
}

/// The approved candidates of plans (what a batch enrols), refusing plans not approved.
/// The approved candidates of approved plans, with the exemption each was granted.
pub fn approved_officers(conn: &mut DbConn, plan_ids: &[i64]) -> Result<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for id in plan_ids {
        let status: String = pl::table
            .find(id)
            .select(pl::status)
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::invalid("plan_ids", format!("考试计划 {id} 不存在")))?;
        if status != APPROVED && status != PARTLY {
            return Err(Error::invalid(
                "plan_ids",
                format!("考试计划 {id} {status}，只有已批准的计划可以排考"),
            ));
        }
        out.extend(
            pc::table
                .filter(pc::plan_id.eq(id))
                .filter(pc::approved.eq(true))
                .select((pc::officer_id, pc::exemption))
                .load::<(i64, String)>(conn)?,
        );
    }
    Ok(out)
}

/// The part an exemption's words free the candidate from: 免考公共法律知识 → 公共法律知识.
pub fn exempt_part(exemption: &str) -> Option<crate::bank::rules::Part> {
    use crate::bank::rules::Part;
    let t: String = exemption.chars().filter(|c| !c.is_whitespace()).collect();
    let free =
        |what: &str| t.contains(&format!("免考{what}")) || t.contains(&format!("免试{what}"));
    if free("公共") {
        Some(Part::Public)
    } else if free("专业") {
        Some(Part::Professional)
    } else {
        None
    }
}

/// A plan in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanSummary {
    pub id: i64,
    pub unit: String,
    pub title: String,
    pub status: String,
    #[schema(value_type = String)]
    pub submitted_at: NaiveDateTime,
    pub candidates: i64,
    pub approved: i64,
}

/// The plans the caller may see, newest first: the bureau all, a unit its own subtree's.
pub fn list(conn: &mut DbConn, grant: &Grant) -> Result<Vec<PlanSummary>> {
    grant.require(Capability::ReadRoster)?;
    let mut q = pl::table
        .inner_join(units::table)
        .select((
            pl::id,
            units::name,
            pl::title,
            pl::status,
            pl::submitted_at,
            units::path,
        ))
        .order(pl::submitted_at.desc())
        .limit(500)
        .into_boxed();
    if !grant.allows(Capability::ManageExams) {
        match grant.scope() {
            crate::roster::Scope::All => {}
            crate::roster::Scope::Subtree(path) => {
                q = q.filter(units::path.like(format!("{path}%")));
            }
            _ => return Ok(Vec::new()),
        }
    }
    let rows: Vec<(i64, String, String, String, NaiveDateTime, String)> = q.load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut counts: std::collections::HashMap<i64, (i64, i64)> = std::collections::HashMap::new();
    for (plan, approved) in pc::table
        .filter(pc::plan_id.eq_any(&ids))
        .select((pc::plan_id, pc::approved))
        .load::<(i64, Option<bool>)>(conn)?
    {
        let e = counts.entry(plan).or_default();
        e.0 += 1;
        e.1 += i64::from(approved == Some(true));
    }
    Ok(rows
        .into_iter()
        .map(|(id, unit, title, status, submitted_at, _)| {
            let (candidates, approved) = counts.get(&id).copied().unwrap_or_default();
            PlanSummary {
                id,
                unit,
                title,
                status,
                submitted_at,
                candidates,
                approved,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::exempt_part;
    use crate::bank::rules::Part;

    #[test]
    fn exemptions_name_the_part_they_free() {
        assert_eq!(
            exempt_part("持法律职业资格，免考公共法律知识"),
            Some(Part::Public)
        );
        assert_eq!(exempt_part("免试 公共法律知识部分"), Some(Part::Public));
        assert_eq!(
            exempt_part("经省司法厅批准免考专业法律知识"),
            Some(Part::Professional)
        );
        assert_eq!(exempt_part("持法律职业资格"), None);
        assert_eq!(exempt_part(""), None);
    }
}
