//! The bank's queries. A question's current content is the version its `version` names.

use crate::db::DbConn;
use crate::db::schema::{question_versions as qv, questions as q};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = q)]
pub struct QuestionRow {
    pub id: i64,
    pub code: String,
    pub status: String,
    pub version: i32,
    pub source: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = qv)]
pub struct VersionRow {
    pub id: i64,
    pub question_id: i64,
    pub version: i32,
    pub part: String,
    pub category: String,
    pub kind: String,
    pub stem: String,
    pub options: String,
    pub answer: String,
    pub difficulty: i32,
    pub law: String,
    pub article: String,
    pub quote: String,
    pub explanation: String,
    pub content_hash: String,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub note: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = qv)]
pub struct NewVersion {
    pub question_id: i64,
    pub version: i32,
    pub part: String,
    pub category: String,
    pub kind: String,
    pub stem: String,
    pub options: String,
    pub answer: String,
    pub difficulty: i32,
    pub law: String,
    pub article: String,
    pub quote: String,
    pub explanation: String,
    pub content_hash: String,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub note: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = q)]
pub struct NewQuestion {
    pub code: String,
    pub status: String,
    pub version: i32,
    pub source: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

diesel::allow_columns_to_appear_in_same_group_by_clause!(
    q::status,
    qv::part,
    qv::law,
    qv::kind,
    qv::category,
    qv::difficulty,
);

/// The join of a question with its current version.
macro_rules! current {
    () => {
        q::table.inner_join(qv::table.on(qv::question_id.eq(q::id).and(qv::version.eq(q::version))))
    };
}

pub fn count_questions(conn: &mut DbConn) -> QueryResult<i64> {
    q::table.count().get_result(conn)
}

pub fn by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<(QuestionRow, VersionRow)>> {
    current!()
        .filter(q::code.eq(code))
        .select((QuestionRow::as_select(), VersionRow::as_select()))
        .first(conn)
        .optional()
}

pub fn by_version_id(
    conn: &mut DbConn,
    version_id: i64,
) -> QueryResult<Option<(QuestionRow, VersionRow)>> {
    q::table
        .inner_join(qv::table.on(qv::question_id.eq(q::id)))
        .filter(qv::id.eq(version_id))
        .select((QuestionRow::as_select(), VersionRow::as_select()))
        .first(conn)
        .optional()
}

pub fn versions_of(conn: &mut DbConn, question_id: i64) -> QueryResult<Vec<VersionRow>> {
    qv::table
        .filter(qv::question_id.eq(question_id))
        .order(qv::version.desc())
        .select(VersionRow::as_select())
        .load(conn)
}

/// Current state by code, for an import to tell new, changed and unchanged apart.
pub struct Existing {
    pub id: i64,
    pub version: i32,
    pub status: String,
    pub hash: String,
}

pub fn existing(conn: &mut DbConn, codes: &[String]) -> QueryResult<HashMap<String, Existing>> {
    let mut out = HashMap::new();
    for chunk in codes.chunks(500) {
        let rows: Vec<(String, i64, i32, String, String)> = current!()
            .filter(q::code.eq_any(chunk))
            .select((q::code, q::id, q::version, q::status, qv::content_hash))
            .load(conn)?;
        for (code, id, version, status, hash) in rows {
            out.insert(
                code,
                Existing {
                    id,
                    version,
                    status,
                    hash,
                },
            );
        }
    }
    Ok(out)
}

/// Inserts questions in multi-row statements; returns their ids by code.
pub fn insert_questions(
    conn: &mut DbConn,
    rows: &[NewQuestion],
) -> QueryResult<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for chunk in rows.chunks(crate::db::batch_rows(conn)) {
        let ids: Vec<(String, i64)> = match conn {
            DbConn::Sqlite(c) => diesel::insert_into(q::table)
                .values(chunk)
                .returning((q::code, q::id))
                .get_results(c)?,
            DbConn::Postgres(c) => diesel::insert_into(q::table)
                .values(chunk)
                .returning((q::code, q::id))
                .get_results(c)?,
        };
        out.extend(ids);
    }
    Ok(out)
}

pub fn insert_versions(conn: &mut DbConn, rows: &[NewVersion]) -> QueryResult<()> {
    for chunk in rows.chunks(crate::db::batch_rows(conn)) {
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(qv::table).values(chunk).execute(c)?,
            DbConn::Postgres(c) => diesel::insert_into(qv::table).values(chunk).execute(c)?,
        };
    }
    Ok(())
}

pub fn set_version(
    conn: &mut DbConn,
    id: i64,
    version: i32,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(q::table.find(id))
        .set((q::version.eq(version), q::updated_at.eq(at)))
        .execute(conn)
}

pub fn set_status(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(q::table.find(id))
        .set((q::status.eq(status), q::updated_at.eq(at)))
        .execute(conn)
}

/// What the browse page filters by; empty means any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub law: Option<String>,
    pub part: Option<String>,
    pub category: Option<String>,
    pub kind: Option<String>,
    pub difficulty: Option<i32>,
    pub status: Option<String>,
    /// Words in the stem, the options or the code.
    pub text: Option<String>,
}

fn like_pattern(s: &str) -> String {
    let mut p = String::from("%");
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

macro_rules! filtered {
    ($f:expr) => {{
        let f: &Filter = $f;
        let mut query = current!().into_boxed();
        if let Some(v) = &f.law {
            query = query.filter(qv::law.eq(v.clone()));
        }
        if let Some(v) = &f.part {
            query = query.filter(qv::part.eq(v.clone()));
        }
        if let Some(v) = &f.category {
            query = query.filter(qv::category.eq(v.clone()));
        }
        if let Some(v) = &f.kind {
            query = query.filter(qv::kind.eq(v.clone()));
        }
        if let Some(v) = f.difficulty {
            query = query.filter(qv::difficulty.eq(v));
        }
        if let Some(v) = &f.status {
            query = query.filter(q::status.eq(v.clone()));
        }
        if let Some(t) = &f.text {
            let p = like_pattern(t);
            query = query.filter(
                qv::stem
                    .like(p.clone())
                    .escape('\\')
                    .or(qv::options.like(p.clone()).escape('\\'))
                    .or(q::code.like(p).escape('\\')),
            );
        }
        query
    }};
}

pub fn search(
    conn: &mut DbConn,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<(QuestionRow, VersionRow)>, i64)> {
    let total: i64 = filtered!(f).count().get_result(conn)?;
    let rows = filtered!(f)
        .order(q::code.asc())
        .offset(offset)
        .limit(limit)
        .select((QuestionRow::as_select(), VersionRow::as_select()))
        .load(conn)?;
    Ok((rows, total))
}

/// Every question matching the filter (for export), in code order.
pub fn all_matching(conn: &mut DbConn, f: &Filter) -> QueryResult<Vec<(QuestionRow, VersionRow)>> {
    filtered!(f)
        .order(q::code.asc())
        .select((QuestionRow::as_select(), VersionRow::as_select()))
        .load(conn)
}

/// Active questions counted by part × category × kind × difficulty.
/// (part, category, kind, difficulty, count)
pub type PoolRow = (String, String, String, i32, i64);
/// (status, part, law, kind, count)
pub type CountRow = (String, String, String, String, i64);

pub fn active_pool(conn: &mut DbConn) -> QueryResult<Vec<PoolRow>> {
    current!()
        .filter(q::status.eq(super::rules::QuestionStatus::Active.label()))
        .group_by((qv::part, qv::category, qv::kind, qv::difficulty))
        .select((
            qv::part,
            qv::category,
            qv::kind,
            qv::difficulty,
            diesel::dsl::count_star(),
        ))
        .load(conn)
}

/// Counts of current versions by law (all statuses), for the bank's overview.
pub fn counts_by(conn: &mut DbConn) -> QueryResult<Vec<CountRow>> {
    current!()
        .group_by((q::status, qv::part, qv::law, qv::kind))
        .select((
            q::status,
            qv::part,
            qv::law,
            qv::kind,
            diesel::dsl::count_star(),
        ))
        .load(conn)
}

/// Distinct values shown in the filters.
pub fn categories(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    current!()
        .select(qv::category)
        .distinct()
        .order(qv::category.asc())
        .load(conn)
}

pub fn laws(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    current!()
        .filter(qv::law.ne(""))
        .select(qv::law)
        .distinct()
        .order(qv::law.asc())
        .load(conn)
}

/// The current version ids of active questions in a part (and category), for practice.
pub fn active_version_ids(
    conn: &mut DbConn,
    part: Option<&str>,
    category: Option<&str>,
) -> QueryResult<Vec<i64>> {
    let mut query = current!()
        .filter(q::status.eq(super::rules::QuestionStatus::Active.label()))
        .into_boxed();
    if let Some(p) = part {
        query = query.filter(qv::part.eq(p.to_string()));
    }
    if let Some(c) = category {
        query = query.filter(qv::category.eq(c.to_string()));
    }
    query.select(qv::id).load(conn)
}

pub fn versions_by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<VersionRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            qv::table
                .filter(qv::id.eq_any(chunk))
                .select(VersionRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// The current version ids of active questions of one part × category × kind (× difficulty).
pub fn active_versions_for(
    conn: &mut DbConn,
    part: &str,
    category: Option<&str>,
    kind: &str,
    difficulty: Option<i32>,
) -> QueryResult<Vec<i64>> {
    let mut query = current!()
        .filter(q::status.eq(super::rules::QuestionStatus::Active.label()))
        .filter(qv::part.eq(part.to_string()))
        .filter(qv::kind.eq(kind.to_string()))
        .into_boxed();
    if let Some(c) = category {
        query = query.filter(qv::category.eq(c.to_string()));
    }
    if let Some(d) = difficulty {
        query = query.filter(qv::difficulty.eq(d));
    }
    query.select(qv::id).load(conn)
}

/// The current versions of the given questions.
pub fn current_versions_of(
    conn: &mut DbConn,
    question_ids: &[i64],
) -> QueryResult<Vec<VersionRow>> {
    let mut out = Vec::new();
    for chunk in question_ids.chunks(500) {
        out.extend(
            current!()
                .filter(q::id.eq_any(chunk))
                .select(VersionRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}
