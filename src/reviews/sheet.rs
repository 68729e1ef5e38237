//! The review's sheets: the 初审统计表 a unit downloads pre-filled and sends back, and the
//! training-hours sheet the bureau imports.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use super::{FirstEntry, FirstError, Round, SheetRow};
use crate::error::{Error, Result};
use crate::roster::rules::{IdNumber, chinese_date};
use crate::sheet::{self, Header, Layout, Row, SheetError, header_keys};

/// The columns of the 初审统计表, in its printed order.
pub const FIRST_REVIEW_HEADERS: [&str; 10] = [
    "序号",
    "姓名",
    "工作单位",
    "执法证号",
    "证件有效期",
    "是否在行政执法岗位",
    "本年度是否有违纪违法行为",
    "证件是否超过有效期限",
    "初审意见",
    "备注",
];

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "是",
        Some(false) => "否",
        None => "",
    }
}

fn parse_yes_no(s: &str) -> std::result::Result<Option<bool>, ()> {
    match s.trim() {
        "" => Ok(None),
        "是" | "有" | "√" | "Y" | "y" | "yes" | "1" => Ok(Some(true)),
        "否" | "无" | "没有" | "×" | "N" | "n" | "no" | "0" => Ok(Some(false)),
        _ => Err(()),
    }
}

/// Writes the 初审统计表 in the layout units know: a title, the unit and date line, the
/// header, one row per certificate; A4 landscape, header repeated on every printed page.
pub fn first_review_xlsx(
    title: &str,
    unit: &str,
    round: &Round,
    rows: &[SheetRow],
) -> Result<Vec<u8>> {
    let err = |e: XlsxError| Error::Internal(anyhow::anyhow!("{e}"));
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("初审统计表").map_err(err)?;
    let title_f = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let cell = Format::new()
        .set_border(FormatBorder::Thin)
        .set_text_wrap()
        .set_align(FormatAlign::VerticalCenter);
    let last = (FIRST_REVIEW_HEADERS.len() - 1) as u16;
    ws.merge_range(0, 0, 0, last, title, &title_f)
        .map_err(err)?;
    ws.set_row_height(0, 30).map_err(err)?;
    let line = format!(
        "填报单位（盖章）：{}　　　　年审截止日期：{}　　　　填报日期：　　年　　月　　日",
        if unit.is_empty() { "" } else { unit },
        chinese_date(round.deadline)
    );
    ws.merge_range(1, 0, 1, last, &line, &Format::new())
        .map_err(err)?;
    for (i, h) in FIRST_REVIEW_HEADERS.iter().enumerate() {
        ws.write_string_with_format(2, i as u16, *h, &head)
            .map_err(err)?;
    }
    ws.set_row_height(2, 36).map_err(err)?;
    for (i, w) in [6, 10, 28, 22, 16, 12, 14, 12, 10, 24].iter().enumerate() {
        ws.set_column_width(i as u16, *w).map_err(err)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = 3 + i as u32;
        let cells = [
            (i + 1).to_string(),
            r.name.clone(),
            r.unit.clone(),
            r.number.clone(),
            r.valid_until.map(chinese_date).unwrap_or_default(),
            yes_no(r.in_post).into(),
            yes_no(r.violation).into(),
            yes_no(Some(r.expired)).into(),
            r.opinion.clone(),
            r.note.clone(),
        ];
        for (c, v) in cells.iter().enumerate() {
            ws.write_string_with_format(row, c as u16, v, &cell)
                .map_err(err)?;
        }
    }
    let foot = 3 + rows.len() as u32 + 1;
    ws.merge_range(
        foot,
        0,
        foot,
        last,
        "说明：“是否在行政执法岗位”“本年度是否有违纪违法行为”填“是”或“否”；“初审意见”填“合格”或“不合格”，不合格的请在备注中写明原因。单位负责人：　　　　　　填表人：　　　　　　联系电话：",
        &Format::new().set_text_wrap(),
    )
    .map_err(err)?;
    ws.set_row_height(foot, 45).map_err(err)?;
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.set_repeat_rows(2, 2).map_err(err)?;
    ws.set_freeze_panes(3, 0).map_err(err)?;
    wb.save_to_buffer().map_err(err)
}

/// The header this row is, if `classify` finds every one of `required` in it (a column named
/// twice is refused, naming both columns).
fn header_of<F: Copy + PartialEq>(
    row: &Row,
    classify: impl Fn(&str) -> Option<F>,
    required: &[F],
) -> std::result::Result<Option<Header<F>>, SheetError> {
    let mut columns: Vec<(usize, F)> = Vec::new();
    for (i, c) in row.cells.iter().enumerate() {
        if let Some(col) = classify(&c.text) {
            if let Some((j, _)) = columns.iter().find(|(_, g)| *g == col) {
                return Err(SheetError::DuplicateColumn(
                    c.text.trim().to_string(),
                    sheet::column_letter(*j),
                    sheet::column_letter(i),
                ));
            }
            columns.push((i, col));
        }
    }
    let has = |c: &F| columns.iter().any(|(_, g)| g == c);
    Ok(required.iter().all(has).then(|| Header {
        row: row.number,
        columns,
        ignored: Vec::new(),
        notes: Vec::new(),
    }))
}

/// Whether a header cell is one of `names` (as written, or without its decorations).
fn named(raw: &str, names: &[&str]) -> bool {
    let (whole, stripped) = header_keys(raw);
    names.contains(&whole.as_str()) || names.contains(&stripped.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstCol {
    Number,
    InPost,
    Violation,
    Opinion,
    Note,
}

struct FirstSheet;

fn first_col(raw: &str) -> Option<FirstCol> {
    let is = |names: &[&str]| named(raw, names);
    if is(&["执法证号", "证件编号", "证号", "证件号码", "执法证编号"]) {
        Some(FirstCol::Number)
    } else if is(&["是否在行政执法岗位", "是否在执法岗位", "在岗情况"]) {
        Some(FirstCol::InPost)
    } else if is(&[
        "本年度是否有违纪违法行为",
        "是否有违纪违法行为",
        "有无违纪违法行为",
    ]) {
        Some(FirstCol::Violation)
    } else if is(&["初审意见", "单位初审意见", "审核意见"]) {
        Some(FirstCol::Opinion)
    } else if is(&["备注", "说明"]) {
        Some(FirstCol::Note)
    } else {
        None
    }
}

impl Layout<FirstCol> for FirstSheet {
    fn header_in(&self, row: &Row) -> std::result::Result<Option<Header<FirstCol>>, SheetError> {
        header_of(row, first_col, &[FirstCol::Number, FirstCol::Opinion])
    }

    fn no_header(&self) -> String {
        "找不到表头：前 30 行中没有同时包含“执法证号”和“初审意见”两列的行（请使用下载的初审统计表填写）"
            .into()
    }

    fn sheet_name(&self) -> &'static str {
        "初审统计表"
    }
}

/// The entries of an uploaded 初审统计表, the rows' own errors, and notes on the file.
pub type FirstRead = (Vec<(usize, FirstEntry)>, Vec<FirstError>, Vec<String>);

pub fn read_first_review(filename: &str, bytes: &[u8]) -> Result<FirstRead> {
    let (header, rows) =
        sheet::read(&FirstSheet, filename, bytes).map_err(|e| Error::BadRequest(e.to_string()))?;
    let cell = |r: &Row, c: FirstCol| -> String {
        header
            .col(c)
            .and_then(|i| r.cells.get(i))
            .map(|x| x.text.trim().to_string())
            .unwrap_or_default()
    };
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    for r in rows.iter().filter(|r| r.number > header.row) {
        let number = cell(r, FirstCol::Number);
        if number.is_empty() {
            // the sheet's footnote, or a blank line
            continue;
        }
        let mut flag = |c: FirstCol, label: &str| match parse_yes_no(&cell(r, c)) {
            Ok(v) => v,
            Err(()) => {
                errors.push(FirstError {
                    row: r.number,
                    column: label.into(),
                    message: format!("应填“是”或“否”，而不是“{}”", cell(r, c)),
                });
                None
            }
        };
        let in_post = flag(FirstCol::InPost, "是否在行政执法岗位");
        let violation = flag(FirstCol::Violation, "本年度是否有违纪违法行为");
        let opinion = cell(r, FirstCol::Opinion);
        if opinion.is_empty() {
            errors.push(FirstError {
                row: r.number,
                column: "初审意见".into(),
                message: format!("执法证 {number} 未填写初审意见"),
            });
            continue;
        }
        entries.push((
            r.number,
            FirstEntry {
                number,
                in_post,
                violation,
                opinion,
                note: cell(r, FirstCol::Note),
            },
        ));
    }
    if header.col(FirstCol::Violation).is_none() {
        notes.push("表中没有“本年度是否有违纪违法行为”列：按未填写处理".into());
    }
    Ok((entries, errors, notes))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrainCol {
    IdNumber,
    Name,
    Hours,
}

struct TrainSheet;

fn train_col(raw: &str) -> Option<TrainCol> {
    if named(raw, &["身份证号", "身份证号码", "公民身份号码", "身份证"]) {
        Some(TrainCol::IdNumber)
    } else if named(raw, &["姓名"]) {
        Some(TrainCol::Name)
    } else if named(
        raw,
        &[
            "学时",
            "培训学时",
            "年度学时",
            "完成学时",
            "学时数",
            "总学时",
        ],
    ) {
        Some(TrainCol::Hours)
    } else {
        None
    }
}

impl Layout<TrainCol> for TrainSheet {
    fn header_in(&self, row: &Row) -> std::result::Result<Option<Header<TrainCol>>, SheetError> {
        header_of(row, train_col, &[TrainCol::IdNumber, TrainCol::Hours])
    }

    fn no_header(&self) -> String {
        "找不到表头：前 30 行中没有同时包含“身份证号”和“学时”两列的行".into()
    }

    fn sheet_name(&self) -> &'static str {
        "培训学时"
    }
}

/// A training sheet's good rows (row, ID number, name, hours) and its rows' errors.
pub type TrainingRead = (Vec<(usize, String, String, f64)>, Vec<FirstError>);

pub fn read_training(filename: &str, bytes: &[u8]) -> Result<TrainingRead> {
    let (header, rows) =
        sheet::read(&TrainSheet, filename, bytes).map_err(|e| Error::BadRequest(e.to_string()))?;
    let cell = |r: &Row, c: TrainCol| -> String {
        header
            .col(c)
            .and_then(|i| r.cells.get(i))
            .map(|x| x.text.trim().to_string())
            .unwrap_or_default()
    };
    let mut good = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for r in rows.iter().filter(|r| r.number > header.row) {
        let raw = cell(r, TrainCol::IdNumber);
        let mut err = |column: &str, message: String| {
            errors.push(FirstError {
                row: r.number,
                column: column.into(),
                message,
            })
        };
        let idn = match IdNumber::parse(&raw) {
            Ok(i) => i.to_string(),
            Err(e) => {
                err("身份证号", format!("身份证号“{raw}”{e}"));
                continue;
            }
        };
        if let Some(first) = seen.insert(idn.clone(), r.number) {
            err("身份证号", format!("与第 {first} 行重复"));
            continue;
        }
        let h = cell(r, TrainCol::Hours);
        let hours = match crate::roster::rules::to_half_width(&h)
            .trim_end_matches("学时")
            .trim()
            .parse::<f64>()
        {
            Ok(v) if (0.0..=2000.0).contains(&v) => v,
            _ => {
                err("学时", format!("学时“{h}”应为 0 至 2000 的数字"));
                continue;
            }
        };
        good.push((r.number, idn, cell(r, TrainCol::Name), hours));
    }
    Ok((good, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_review_sheet_reads_back_with_row_errors() {
        let csv = "2026年度行政执法证件年审初审统计表\n序号,姓名,工作单位,执法证号,证件有效期,是否在行政执法岗位,本年度是否有违纪违法行为,证件是否超过有效期限,初审意见,备注\n1,张三,某局,A1,2028年1月1日,是,否,否,合格,\n2,李四,某局,A2,,是,也许,否,不合格,调岗\n3,王五,某局,A3,,是,否,否,,\n,说明：……,,,,,,,,\n";
        let (entries, errors, _) = read_first_review("x.csv", csv.as_bytes()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0, 3);
        assert_eq!(entries[1].1.note, "调岗");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].row, 4);
        assert_eq!(errors[0].column, "本年度是否有违纪违法行为");
        assert_eq!(errors[1].row, 5);
        assert!(errors[1].message.contains("未填写初审意见"));
    }

    #[test]
    fn training_hours_are_read_with_their_units_and_bad_rows_named() {
        let a = crate::roster::rules::make_id_number(
            "110105",
            chrono::NaiveDate::from_ymd_opt(1949, 12, 31).unwrap(),
            2,
        );
        let mut b = a.clone();
        b.replace_range(17.., if a.ends_with('0') { "1" } else { "0" });
        let csv = format!("身份证号,姓名,培训学时\n{a},张三,４０学时\n{b},李四,40\n{a},张三,12\n");
        let (good, errors) = read_training("t.csv", csv.as_bytes()).unwrap();
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].3, 40.0);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].row, 3);
        assert_eq!(errors[1].message, "与第 2 行重复");
    }
}
