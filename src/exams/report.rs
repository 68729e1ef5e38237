//! A candidate's score report (成绩报告单) as PDF: who, which exam, each section's score, the
//! total against the pass mark, and every correction of the score on the record.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Papers, db, results::status_label};
use crate::auth::{Capability, Grant};
use crate::bank::blueprint::{self, Blueprint};
use crate::db::DbConn;
use crate::db::schema::{audit_log, officers, units};
use crate::error::{Error, Result};
use crate::pdf::{Doc, Rgb8, Style};
use crate::roster::Scope;
use crate::roster::rules::{IdNumber, chinese_date, chinese_datetime};

/// One section's line of the report.
struct Line {
    label: String,
    exempt: bool,
    count: usize,
    points: f64,
    right: usize,
    score: f64,
    max: f64,
}

/// The score report of one ticket: the bureau (ManageExams) for anyone, an officer for their own.
pub fn pdf(
    conn: &mut DbConn,
    grant: &Grant,
    papers: &Papers,
    bureau: &str,
    ticket_no: &str,
) -> Result<(String, Vec<u8>)> {
    let c =
        db::candidate_by_ticket(conn, ticket_no)?.ok_or_else(|| Error::not_found("准考证号"))?;
    // Someone else's ticket reads as a missing one (ticket numbers are sequential).
    let own = matches!(grant.scope(), Scope::Officer(id) if *id == c.officer_id);
    if !own && !grant.allows(Capability::ManageExams) {
        return Err(Error::not_found("准考证号"));
    }
    let (name, id_number, unit): (String, String, String) = officers::table
        .inner_join(units::table)
        .filter(officers::id.eq(c.officer_id))
        .select((officers::name, officers::id_number, units::name))
        .first(conn)?;
    let session = db::session(conn, c.session_id)?;
    let attempt = db::attempt_of(conn, c.id)?;
    let p = papers.get(conn, c.batch_id)?;
    let batch = &p.batch;
    let status = status_label(
        attempt.as_ref().map(|a| a.started_at),
        attempt.as_ref().and_then(|a| a.closed_by.as_deref()),
    );
    let closed = attempt
        .as_ref()
        .filter(|a| a.closed_by.is_some() && a.score.is_some());

    // Each section, graded the way the recorded score was.
    let bp: Blueprint = serde_json::from_str(&batch.blueprint).unwrap_or(Blueprint {
        sections: Vec::new(),
        difficulty_mix: None,
    });
    let checked = blueprint::check(&bp).unwrap_or_default();
    let mut lines: Vec<Line> = checked
        .iter()
        .map(|s| Line {
            label: format!(
                "{}（{}）",
                s.part.label(),
                s.category.as_deref().unwrap_or("全部类别")
            ),
            exempt: s.part.label() == c.exempt_part,
            count: s.count as usize,
            points: s.points,
            right: 0,
            score: 0.0,
            max: s.points * f64::from(s.count),
        })
        .collect();
    for (l, s) in lines.iter_mut().zip(&checked) {
        l.label = format!("{} · {}", l.label, s.kind.label());
        if s.credit != blueprint::Credit::AllOrNothing {
            l.label = format!("{}（{}）", l.label, s.credit.label());
        }
    }
    if let Some(a) = closed {
        let answers: HashMap<i32, String> = db::answers_of(conn, a.id)?.into_iter().collect();
        for item in p.score_items(&p.paper(&c), &answers) {
            if let Some(l) = lines.get_mut(item.section) {
                l.score += item.points;
                l.right += usize::from(item.correct);
            }
        }
    }
    let corrections: Vec<(NaiveDateTime, String)> = audit_log::table
        .filter(audit_log::action.eq("exam.regrade"))
        .filter(audit_log::entity_type.eq("exam_candidate"))
        .filter(audit_log::entity_id.eq(ticket_no))
        .order(audit_log::seq.asc())
        .select((audit_log::at, audit_log::summary))
        .load(conn)?;

    // The sections are graded with the bank's answers as loaded now; the total is the one on
    // record. They differ only while a correction awaits its re-grading: say so.
    let sections_total: f64 = lines.iter().map(|l| l.score).sum();
    let sections_max: f64 = lines.iter().filter(|l| !l.exempt).map(|l| l.max).sum();
    let scaled = if !c.exempt_part.is_empty() && sections_max > 0.0 {
        sections_total * batch.total_points / sections_max
    } else {
        sections_total
    };
    let pending_regrade = closed.is_some_and(|a| (a.score.unwrap_or(0.0) - scaled).abs() > 0.01);
    let mut doc = Doc::new(&format!("{} 成绩报告单 {}", batch.title, ticket_no));
    let page = doc.page(210.0, 297.0);
    let (left, right) = (22.0, 188.0);
    page.centered(Style::Bold, 17.0, 105.0, 266.0, &batch.title);
    page.centered(Style::Bold, 22.0, 105.0, 253.0, "成 绩 报 告 单");
    let masked = IdNumber::parse(&id_number)
        .map(|i| i.masked())
        .unwrap_or(id_number);
    let info: [(&str, String); 6] = [
        ("姓　　名", name),
        ("身份证号", masked),
        ("工作单位", unit),
        ("准考证号", c.ticket_no.clone()),
        (
            "考试场次",
            format!(
                "{}（{}）",
                session.name,
                chinese_datetime(&session.starts_at)
            ),
        ),
        (
            "交卷情况",
            match attempt.as_ref().and_then(|a| a.submitted_at) {
                Some(t) => format!("{status}，{}", chinese_datetime(&t)),
                None => status.to_string(),
            },
        ),
    ];
    let mut y = 236.0;
    for (label, value) in &info {
        page.text(Style::Bold, 11.0, left, y, label);
        y = page.paragraph(
            Style::Regular,
            11.0,
            (left + 26.0, y),
            right - left - 26.0,
            5.2,
            value,
        ) - 3.0;
    }

    // The section table.
    y -= 4.0;
    let cols = [
        left,
        left + 78.0,
        left + 96.0,
        left + 118.0,
        left + 136.0,
        left + 152.0,
        right,
    ];
    let heads = ["考试内容", "题数", "每题分值", "答对", "得分", "满分"];
    let row_h = 8.0;
    page.rect(
        (left, y - row_h + 2.5),
        (right - left, row_h),
        Some(Rgb8(238, 238, 238)),
        None,
    );
    for (i, h) in heads.iter().enumerate() {
        page.text(Style::Bold, 10.0, cols[i] + 2.0, y - 3.0, h);
    }
    let top = y + 2.5;
    y -= row_h;
    let fmt = |v: f64| {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}").trim_end_matches('0').to_string()
        }
    };
    for l in &lines {
        let label_lines = crate::pdf::wrap(Style::Regular, 9.5, cols[1] - cols[0] - 4.0, &l.label);
        let h = row_h.max(label_lines.len() as f32 * 4.8 + 3.2);
        let mut ly = y - 3.0;
        for t in &label_lines {
            page.text(Style::Regular, 9.5, cols[0] + 2.0, ly, t);
            ly -= 4.8;
        }
        let shown = closed.is_some() && !l.exempt;
        let cells = [
            l.count.to_string(),
            fmt(l.points),
            if l.exempt {
                "免考".into()
            } else if shown {
                l.right.to_string()
            } else {
                "—".into()
            },
            if shown {
                fmt((l.score * 100.0).round() / 100.0)
            } else {
                "—".into()
            },
            fmt(l.max),
        ];
        for (i, v) in cells.iter().enumerate() {
            page.text(Style::Regular, 10.0, cols[i + 1] + 2.0, y - 3.0, v);
        }
        page.line(
            &[(left, y - h + 2.5), (right, y - h + 2.5)],
            Rgb8::GREY,
            0.4,
            false,
        );
        y -= h;
    }
    let bottom = y + 2.5;
    page.rect(
        (left, bottom),
        (right - left, top - bottom),
        None,
        Some((Rgb8::BLACK, 0.8)),
    );
    for x in &cols[1..cols.len() - 1] {
        page.line(&[(*x, bottom), (*x, top)], Rgb8::GREY, 0.4, false);
    }

    // The result.
    y -= 10.0;
    match closed {
        Some(a) => {
            let score = a.score.unwrap_or(0.0);
            page.text(
                Style::Bold,
                13.0,
                left,
                y,
                &format!(
                    "总分：{} 分（满分 {} 分，合格线 {} 分）",
                    fmt(score),
                    fmt(batch.total_points),
                    fmt(batch.pass_mark)
                ),
            );
            if !c.exempt_part.is_empty() {
                y -= 7.0;
                page.text(
                    Style::Regular,
                    10.0,
                    left,
                    y,
                    &format!(
                        "免考{}：总分按其余部分的得分折算为 {} 分制。",
                        c.exempt_part,
                        fmt(batch.total_points)
                    ),
                );
            }
            let (verdict, color) = if a.passed == Some(true) {
                ("考试结果：合格", Rgb8(0, 110, 60))
            } else {
                ("考试结果：不合格", Rgb8::RED)
            };
            y -= 10.0;
            page.text_in(Style::Bold, 15.0, left, y, color, verdict);
        }
        None => {
            page.text(
                Style::Bold,
                13.0,
                left,
                y,
                &format!("考试结果：{status}，暂无成绩"),
            );
        }
    }
    if pending_regrade {
        y -= 8.0;
        page.text_in(
            Style::Regular,
            9.5,
            left,
            y,
            Rgb8::RED,
            "注：有题目答案已更正、尚待重新评分，上表分节得分按更正后的答案计算，总分以记录为准。",
        );
    }
    if !corrections.is_empty() {
        y -= 12.0;
        page.text(Style::Bold, 10.5, left, y, "成绩更正记录");
        for (at, summary) in &corrections {
            y -= 6.0;
            page.text(
                Style::Regular,
                9.5,
                left + 4.0,
                y,
                &format!(
                    "{}　{summary}（题目答案经核实更正后重新评分）",
                    chinese_date(at.date())
                ),
            );
        }
    }
    page.text_in(
        Style::Regular,
        9.0,
        left,
        40.0,
        Rgb8::GREY,
        &format!(
            "批次 {}，试卷按批次种子与考生座位号组卷，题目版本已固定，可供复核。",
            batch.code
        ),
    );
    page.right(Style::Regular, 12.0, right, 30.0, bureau);
    page.right(
        Style::Regular,
        11.0,
        right,
        23.0,
        &chinese_date(crate::db::now().date()),
    );
    Ok((format!("{}-成绩报告单.pdf", c.ticket_no), doc.render()?))
}
