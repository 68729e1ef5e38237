//! Admission tickets (准考证) as PDF.
//!
//! The access code exists in plain text only on the ticket: printing a ticket issues a fresh code
//! (sealed into the database as the scheduling did) and the earlier code of that candidate stops
//! working. So a lost ticket is reprinted, not looked up, and the printout is the one place the
//! code can be read. Candidates who have already started are not reprinted.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

use super::access::{self, ExamKey};
use super::db;
use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::bank::blueprint::Blueprint;
use crate::db::DbConn;
use crate::db::schema::{
    exam_attempts as at, exam_candidates as ec, officer_photos, officers, units,
};
use crate::error::{Error, Result};
use crate::pdf::{Doc, Page, Rgb8, Style};
use crate::roster::rules::chinese_datetime;

/// Which tickets to print.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct TicketRequest {
    /// Only the candidates of this unit (and its sub-units).
    #[serde(default)]
    pub unit_id: Option<i64>,
    /// Only these tickets.
    #[serde(default)]
    pub ticket_nos: Vec<String>,
    /// `pdf` (default): one file, a page per candidate, in unit order. `zip`: one PDF per unit.
    #[serde(default)]
    pub format: Option<String>,
}

/// A printed file.
pub struct Printed {
    pub filename: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    pub tickets: usize,
}

/// What one ticket shows.
struct Entry {
    ticket_no: String,
    name: String,
    id_number: String,
    unit: String,
    unit_path: String,
    session: String,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    code: String,
    officer_id: i64,
    has_photo: bool,
    exempt_part: String,
}

/// The rules printed on every ticket (考场规则).
const RULES: [&str; 8] = [
    "考生凭本准考证、本人有效身份证件和访问码，在本场次时间内登录考试系统；访问码仅印在本准考证上，请妥善保管，不得转借他人。",
    "考试为闭卷网上考试，须本人独立完成。不得由他人代考，不得查阅资料，不得与他人交流或使用通讯工具。",
    "每道题作答后系统即时保存，页面显示“已保存”即表示答案已记录；断网时答案暂存在页面上，网络恢复后自动提交。",
    "考试时间以系统倒计时为准，到时系统自动收卷；提前交卷后不能再次作答。",
    "同一考生在另一台设备登录后，原设备的考试页面即停止作答；如需更换电脑，请直接在新设备登录，已作答内容和剩余时间保留。",
    "考试中遇到设备或网络故障，请立即向监考人员报告，由考试主管机关统一处理并记录在案。",
    "违反考试纪律的，按照有关规定处理，考试成绩无效。",
    "本准考证遗失的，由考试主管机关补打；补打后原准考证上的访问码即行作废。",
];

/// Prints tickets for a batch and issues their access codes.
pub fn print(
    conn: &mut DbConn,
    grant: &Grant,
    keys: &ExamKey,
    bureau: &str,
    exam_url: &str,
    batch_id: i64,
    req: &TicketRequest,
) -> Result<Printed> {
    grant.require(Capability::ManageExams)?;
    let batch = db::batch(conn, batch_id)?.ok_or_else(|| Error::not_found("考试批次"))?;
    let zip = match req.format.as_deref().unwrap_or("pdf") {
        "pdf" => false,
        "zip" => true,
        other => {
            return Err(Error::invalid(
                "format",
                format!("format 只能是 pdf 或 zip，收到 {other}"),
            ));
        }
    };
    let sessions: HashMap<i64, db::Session> = db::sessions_of(conn, batch_id)?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let unit_path = match req.unit_id {
        Some(id) => Some(
            units::table
                .find(id)
                .select(units::path)
                .first::<String>(conn)
                .optional()?
                .ok_or_else(|| Error::invalid("unit_id", "没有这个单位"))?,
        ),
        None => None,
    };
    type Row = (
        i64,
        String,
        i64,
        i32,
        String,
        String,
        String,
        String,
        bool,
        Option<i64>,
        i64,
        String,
        String,
    );
    let rows: Vec<Row> = ec::table
        .inner_join(officers::table.inner_join(units::table))
        .left_join(at::table)
        .filter(ec::batch_id.eq(batch_id))
        .order((units::path.asc(), ec::ticket_no.asc()))
        .select((
            ec::id,
            ec::ticket_no,
            ec::session_id,
            ec::extra_minutes,
            officers::name,
            officers::id_number,
            units::name,
            units::path,
            officers::has_photo,
            at::id.nullable(),
            ec::officer_id,
            ec::exempt_part,
            ec::access_hash,
        ))
        .load(conn)?;
    let wanted: std::collections::HashSet<&str> =
        req.ticket_nos.iter().map(String::as_str).collect();
    for t in &req.ticket_nos {
        if !rows.iter().any(|r| &r.1 == t) {
            return Err(Error::invalid(
                "ticket_nos",
                format!("准考证号 {t} 不在本批次中"),
            ));
        }
    }
    let mut started = Vec::new();
    let chosen: Vec<&Row> = rows
        .iter()
        .filter(|r| wanted.is_empty() || wanted.contains(r.1.as_str()))
        .filter(|r| {
            unit_path
                .as_ref()
                .is_none_or(|p| r.7.starts_with(p.as_str()))
        })
        .filter(|r| {
            if r.9.is_some() {
                started.push(r.1.clone());
                false
            } else {
                true
            }
        })
        .collect();
    if chosen.is_empty() {
        return Err(Error::invalid(
            "tickets",
            if started.is_empty() {
                "所选范围内没有考生".to_string()
            } else {
                format!(
                    "所选考生均已开始考试（{}），不再打印准考证",
                    started.join("、")
                )
            },
        ));
    }
    if !zip && chosen.len() > MAX_PER_FILE {
        return Err(Error::invalid(
            "format",
            format!(
                "一次最多打印 {MAX_PER_FILE} 张准考证到一个 PDF，所选 {} 人：请按单位打印，或选择每个单位一个 PDF（ZIP）",
                chosen.len()
            ),
        ));
    }
    let mut entries = Vec::with_capacity(chosen.len());
    let mut seals = Vec::with_capacity(chosen.len());
    for r in &chosen {
        let s = &sessions[&r.2];
        let code = access::new_code();
        seals.push((r.0, r.12.clone(), keys.seal(&r.1, &code)));
        let extra = chrono::Duration::minutes(i64::from(s.extension_minutes + r.3));
        entries.push(Entry {
            ticket_no: r.1.clone(),
            name: r.4.clone(),
            id_number: r.5.clone(),
            unit: r.6.clone(),
            unit_path: r.7.clone(),
            session: s.name.clone(),
            starts_at: s.starts_at,
            ends_at: s.ends_at + extra,
            code,
            officer_id: r.10,
            has_photo: r.8,
            exempt_part: r.11.clone(),
        });
    }
    let subjects = subjects(&batch.blueprint);
    let printing = Printing {
        batch: &batch,
        subjects: &subjects,
        bureau,
        exam_url,
    };
    let (filename, content_type, bytes) = if zip {
        let mut by_unit: BTreeMap<(&str, &str), Vec<&Entry>> = BTreeMap::new();
        for e in &entries {
            by_unit
                .entry((e.unit_path.as_str(), e.unit.as_str()))
                .or_default()
                .push(e);
        }
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let mut names = std::collections::HashSet::new();
        for ((_, unit), list) in &by_unit {
            let parts = list.len().div_ceil(MAX_PER_FILE);
            for (k, part) in list.chunks(MAX_PER_FILE).enumerate() {
                let pdf = render(conn, &printing, part)?;
                // two units may share a name (综合行政执法大队 in two counties)
                let mut base = format!("{}-{}-准考证", batch.code, file_safe(unit));
                if parts > 1 {
                    base = format!("{base}-{}", k + 1);
                }
                let mut name = format!("{base}.pdf");
                let mut n = 2;
                while !names.insert(name.clone()) {
                    name = format!("{base}（{n}）.pdf");
                    n += 1;
                }
                out.start_file(name, options)
                    .map_err(|e| Error::Internal(e.into()))?;
                out.write_all(&pdf).map_err(|e| Error::Internal(e.into()))?;
            }
        }
        let bytes = out
            .finish()
            .map_err(|e| Error::Internal(e.into()))?
            .into_inner();
        (
            format!("{}-准考证.zip", batch.code),
            "application/zip",
            bytes,
        )
    } else {
        let all: Vec<&Entry> = entries.iter().collect();
        let name = match (entries.len(), req.unit_id) {
            (1, _) => format!("{}-准考证.pdf", entries[0].ticket_no),
            (_, Some(_)) => format!("{}-{}-准考证.pdf", batch.code, file_safe(&entries[0].unit)),
            _ => format!("{}-准考证.pdf", batch.code),
        };
        (name, "application/pdf", render(conn, &printing, &all)?)
    };

    // The new codes count only once the file exists, and only if nobody started or reprinted
    // in the meantime; sign-ins made with an old code end with it.
    audit::transaction(conn, grant.actor(), |conn, rec| {
        for (id, old, seal) in &seals {
            let changed =
                diesel::update(ec::table.find(id).filter(ec::access_hash.eq(old)).filter(
                    diesel::dsl::not(diesel::dsl::exists(
                        at::table.filter(at::candidate_id.eq(id)),
                    )),
                ))
                .set((ec::access_hash.eq(seal), ec::token_hash.eq(None::<String>)))
                .execute(conn)?;
            if changed == 0 {
                return Err(Error::Conflict {
                    message: "打印期间有考生开始考试，或准考证已被他人重新打印：请重新打印".into(),
                    fields: Default::default(),
                });
            }
        }
        rec.record(
            conn,
            Change::new(
                "exam.tickets",
                "exam_batch",
                &batch.code,
                format!(
                    "打印准考证：{}（{} 张，原访问码作废）",
                    batch.title,
                    entries.len()
                ),
            )
            .after(&serde_json::json!({
                "tickets": entries.iter().map(|e| e.ticket_no.as_str()).collect::<Vec<_>>(),
                "skipped_started": started,
            })),
        )?;
        Ok(())
    })?;
    Ok(Printed {
        filename,
        content_type,
        bytes,
        tickets: entries.len(),
    })
}

/// Tickets per PDF file: each may carry a photo, and a file is built in memory.
const MAX_PER_FILE: usize = 500;

/// What every page of one printing shares.
struct Printing<'a> {
    batch: &'a db::Batch,
    subjects: &'a str,
    bureau: &'a str,
    exam_url: &'a str,
}

/// One PDF of tickets; the photos are read for these tickets only, and scaled down.
fn render(conn: &mut DbConn, printing: &Printing, list: &[&Entry]) -> Result<Vec<u8>> {
    let ids: Vec<i64> = list
        .iter()
        .filter(|e| e.has_photo)
        .map(|e| e.officer_id)
        .collect();
    let mut photos: HashMap<i64, Vec<u8>> = HashMap::new();
    for chunk in ids.chunks(200) {
        photos.extend(
            officer_photos::table
                .filter(officer_photos::officer_id.eq_any(chunk))
                .select((officer_photos::officer_id, officer_photos::data))
                .load::<(i64, Vec<u8>)>(conn)?,
        );
    }
    let mut doc = Doc::new(&format!("{} 准考证", printing.batch.title));
    for e in list {
        let photo = photos
            .remove(&e.officer_id)
            .and_then(|bytes| doc.add_photo(&bytes, (300, 400)).ok());
        ticket(&mut doc, printing, e, photo);
    }
    doc.render()
}

fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| if "/\\:*?\"<>|".contains(c) { '_' } else { c })
        .collect()
}

/// The parts a blueprint examines, e.g. "公共法律知识、专业法律知识（生态环境）".
fn subjects(blueprint: &str) -> String {
    let Ok(b) = serde_json::from_str::<Blueprint>(blueprint) else {
        return String::new();
    };
    let mut parts: Vec<String> = Vec::new();
    for s in &b.sections {
        let part = crate::bank::rules::Part::parse(&s.part)
            .map(|p| p.label().to_string())
            .unwrap_or_else(|| s.part.clone());
        let label = match s
            .category
            .as_deref()
            .filter(|c| !c.is_empty() && *c != "通用")
        {
            Some(c) => format!("{part}（{c}）"),
            None => part,
        };
        if !parts.contains(&label) {
            parts.push(label);
        }
    }
    parts.join("、")
}

const A4: (f32, f32) = (210.0, 297.0);

fn ticket(doc: &mut Doc, printing: &Printing, e: &Entry, photo: Option<crate::pdf::ImageId>) {
    let (batch, subjects, bureau, exam_url) = (
        printing.batch,
        printing.subjects,
        printing.bureau,
        printing.exam_url,
    );
    let p = doc.page(A4.0, A4.1);
    let (left, right) = (20.0, A4.0 - 20.0);
    p.centered(Style::Bold, 18.0, A4.0 / 2.0, 270.0, &batch.title);
    p.centered(Style::Bold, 22.0, A4.0 / 2.0, 258.0, "准 考 证");
    // The frame of the ticket block.
    let (top, bottom) = (250.0, 136.0);
    p.rect(
        (left, bottom),
        (right - left, top - bottom),
        None,
        Some((Rgb8::BLACK, 1.0)),
    );
    let label_x = left + 5.0;
    let value_x = left + 32.0;
    let rows: [(&str, String); 8] = [
        ("准考证号", e.ticket_no.clone()),
        ("姓　　名", e.name.clone()),
        ("身份证号", e.id_number.clone()),
        ("工作单位", e.unit.clone()),
        (
            "考试科目",
            if e.exempt_part.is_empty() {
                subjects.to_string()
            } else {
                let rest: Vec<&str> = subjects
                    .split('、')
                    .filter(|s| !s.starts_with(e.exempt_part.as_str()))
                    .collect();
                format!("{}（免考{}）", rest.join("、"), e.exempt_part)
            },
        ),
        ("考试场次", e.session.clone()),
        (
            "考试时间",
            format!(
                "{} 至 {}",
                chinese_datetime(&e.starts_at),
                chinese_datetime(&e.ends_at)
            ),
        ),
        (
            "考试时长",
            format!("{} 分钟（以系统倒计时为准）", batch.duration_minutes),
        ),
    ];
    let mut y = top - 10.0;
    for (label, value) in rows.iter() {
        p.text(Style::Bold, 11.0, label_x, y, label);
        y = p.paragraph(
            Style::Regular,
            11.0,
            (value_x, y),
            right - value_x - 42.0,
            5.2,
            value,
        ) - 4.5;
    }
    photo_box(p, photo, (right - 40.0, top - 52.0));
    // The access code, large and spaced so it is read without mistakes.
    let code_y = bottom + 14.0;
    p.line(
        &[(left, code_y + 10.0), (right, code_y + 10.0)],
        Rgb8::GREY,
        0.5,
        true,
    );
    p.text(Style::Bold, 11.0, label_x, code_y + 2.0, "访 问 码");
    let spaced: String = e
        .code
        .chars()
        .collect::<Vec<_>>()
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ");
    p.text_in(Style::Bold, 20.0, value_x, code_y, Rgb8::RED, &spaced);
    p.text_in(
        Style::Regular,
        8.5,
        value_x,
        code_y - 7.0,
        Rgb8::GREY,
        "访问码仅印在本准考证上；补打准考证后原访问码作废。",
    );
    // Where to sit the exam.
    let mut y = bottom - 10.0;
    p.text(Style::Bold, 11.0, left, y, "考试网址");
    p.text(Style::Regular, 11.0, value_x - 5.0, y, exam_url);
    y -= 12.0;
    p.text(Style::Bold, 13.0, left, y, "考 场 规 则");
    y -= 8.0;
    for (i, rule) in RULES.iter().enumerate() {
        y = p.paragraph(
            Style::Regular,
            10.0,
            (left, y),
            right - left,
            5.4,
            &format!("{}. {rule}", i + 1),
        ) - 1.6;
    }
    p.right(Style::Regular, 11.0, right, 22.0, bureau);
    p.right(
        Style::Regular,
        9.0,
        right,
        16.0,
        &format!("批次 {}", batch.code),
    );
}

/// A 1-inch photo (25 × 35 mm) or the place to paste one.
fn photo_box(p: &mut Page, photo: Option<crate::pdf::ImageId>, (x, y): (f32, f32)) {
    let (w, h) = (30.0, 40.0);
    p.rect((x, y), (w, h), None, Some((Rgb8::GREY, 0.6)));
    match photo {
        Some(id) => p.image(id, (x + 0.5, y + 0.5), (w - 1.0, h - 1.0)),
        None => {
            p.centered(
                Style::Regular,
                9.0,
                x + w / 2.0,
                y + h / 2.0 + 1.5,
                "贴照片处",
            );
            p.centered(
                Style::Regular,
                7.0,
                x + w / 2.0,
                y + h / 2.0 - 3.5,
                "（近期免冠一寸照）",
            );
        }
    }
}
