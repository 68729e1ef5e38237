//! The sheet `read` picks, written back as XLSX with each row's notes in a last column.

use super::assemble::{Discard, Sink};
use super::value::clip;
use super::{Header, Layout, Limits, MAX_COLUMNS, Row, SheetError, brief, scan};
use std::collections::BTreeMap;

pub(super) fn annotate_with<F>(
    layout: &dyn Layout<F>,
    filename: &str,
    bytes: &[u8],
    notes: &BTreeMap<usize, String>,
    lim: &Limits,
) -> Result<Vec<u8>, SheetError> {
    // First pass: which sheet, where the header is, how wide the sheet is.
    let found = scan(layout, filename, bytes, lim, false, None, &mut Discard)?;
    let note_col = (found.max_col + 1) as u16;
    let mut wb = rust_xlsxwriter::Workbook::new();
    {
        let ws = wb.add_worksheet_with_constant_memory().map_err(write_err)?;
        ws.set_name(layout.sheet_name()).map_err(write_err)?;
        ws.set_column_width(note_col, 60).map_err(write_err)?;
        ws.set_freeze_panes(found.header.row as u32, 0)
            .map_err(write_err)?;
        let mut out = Annotator {
            ws,
            notes,
            note_col,
            bold: rust_xlsxwriter::Format::new().set_bold(),
            flagged: rust_xlsxwriter::Format::new()
                .set_background_color(rust_xlsxwriter::Color::RGB(0xFFC7CE)),
            written: 0,
            limit: lim.kept,
        };
        scan(
            layout,
            filename,
            bytes,
            lim,
            true,
            Some(found.sheet),
            &mut out,
        )?;
    }
    wb.save_to_buffer().map_err(write_err)
}

fn write_err(e: rust_xlsxwriter::XlsxError) -> SheetError {
    SheetError::Write(brief(e))
}

/// Writes the rows into the annotated workbook as they come.
struct Annotator<'a> {
    ws: &'a mut rust_xlsxwriter::Worksheet,
    notes: &'a BTreeMap<usize, String>,
    note_col: u16,
    bold: rust_xlsxwriter::Format,
    flagged: rust_xlsxwriter::Format,
    written: usize,
    limit: usize,
}

impl Annotator<'_> {
    fn write(&mut self, row: &Row, is_header: bool) -> Result<(), SheetError> {
        let Ok(r) = u32::try_from(row.number - 1) else {
            return Ok(());
        };
        let note = if is_header {
            Some("错误说明")
        } else {
            self.notes.get(&row.number).map(String::as_str)
        };
        let format = if is_header {
            Some(&self.bold)
        } else if note.is_some() {
            Some(&self.flagged)
        } else {
            None
        };
        for (c, cell) in row.cells.iter().enumerate().take(MAX_COLUMNS) {
            let c = c as u16;
            self.written += cell.text.len();
            match (format, cell.text.is_empty()) {
                (None, true) => {}
                (None, false) => {
                    self.ws.write_string(r, c, &cell.text).map_err(write_err)?;
                }
                (Some(f), true) if !is_header => {
                    self.ws.write_blank(r, c, f).map_err(write_err)?;
                }
                (Some(_), true) => {}
                (Some(f), false) => {
                    self.ws
                        .write_string_with_format(r, c, &cell.text, f)
                        .map_err(write_err)?;
                }
            }
        }
        if let Some(note) = note {
            // Excel holds at most 32,767 characters in a cell
            let (note, _) = clip(note, 32_000);
            self.written += note.len();
            match format {
                Some(f) => self.ws.write_string_with_format(r, self.note_col, note, f),
                None => self.ws.write_string(r, self.note_col, note),
            }
            .map_err(write_err)?;
        }
        if self.written > self.limit {
            return Err(SheetError::TooLarge(format!(
                "要写出的内容超过 {} MB",
                self.limit / 1024 / 1024
            )));
        }
        Ok(())
    }
}

impl<F> Sink<F> for Annotator<'_> {
    fn header(&mut self, header: &Header<F>, rows: Vec<Row>) -> Result<(), SheetError> {
        for r in &rows {
            self.write(r, r.number == header.row)?;
        }
        Ok(())
    }

    fn row(&mut self, row: Row) -> Result<(), SheetError> {
        self.write(&row, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{ID, xlsx_of};
    use crate::sheet::testkit::{Field, annotate, read};
    use calamine::Reader;
    use std::collections::BTreeMap;
    use std::io::Cursor;

    #[test]
    fn annotate_writes_the_notes_on_their_rows() {
        let bytes = xlsx_of(&[
            vec!["松原市行政执法人员名单"],
            vec!["序号", "姓名", "身份证号", "所在单位", "备注"],
            vec!["1", "张三", ID, "宁江区市场监督管理局", ""],
            vec!["2", "李四", "110101199003070011", "宁江区", "借调"],
            vec!["3", "王五", "12345", "不存在的单位", ""],
        ]);
        let notes = BTreeMap::from([
            (3, "身份证号校验位有误".to_string()),
            (5, "身份证号位数不对；单位不在单位库中".to_string()),
        ]);
        let out = annotate("x.xlsx", &bytes, &notes).unwrap();

        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(Cursor::new(&out[..])).unwrap();
        let range = book.worksheet_range("名册").unwrap();
        let at = |r: u32, c: u32| {
            range
                .get_value((r, c))
                .map(|d| d.to_string())
                .unwrap_or_default()
        };
        assert_eq!(at(0, 0), "松原市行政执法人员名单");
        assert_eq!(at(1, 5), "错误说明");
        assert_eq!(at(2, 5), "身份证号校验位有误");
        assert_eq!(at(3, 5), "");
        assert_eq!(at(4, 5), "身份证号位数不对；单位不在单位库中");
        assert_eq!(at(3, 4), "借调");
        // every cell is text: ID numbers keep all their digits
        assert!(matches!(range.get_value((2, 2)), Some(calamine::Data::String(s)) if s == ID));
        // the header is bold, the flagged rows are filled
        let styles = book.worksheet_style("名册").unwrap();
        let bold = |r, c| {
            styles
                .get((r, c))
                .and_then(|s| s.font.as_ref())
                .is_some_and(|f| f.is_bold())
        };
        let filled = |r, c| {
            styles
                .get((r, c))
                .and_then(|s| s.fill.as_ref())
                .and_then(|f| f.get_color())
                .is_some()
        };
        assert!(bold(1, 1) && bold(1, 5));
        assert!(filled(2, 1) && filled(2, 5) && filled(4, 0));
        assert!(!filled(3, 1));

        // and it reads as the roster it came from
        let (h, rows) = read("annotated.xlsx", &out).unwrap();
        assert_eq!(h.row, 2);
        assert_eq!(h.col(Field::IdNumber), Some(2));
        assert!(h.ignored.contains(&"错误说明".to_string()));
        assert_eq!(rows.iter().filter(|r| r.number > h.row).count(), 3);
    }

    #[test]
    fn annotate_a_csv_by_its_line_numbers() {
        let text = format!("名单\n\n姓名,身份证号,所在单位\n张三,{ID},宁江区\n李四,12345,宁江区\n");
        let notes = BTreeMap::from([(5, "身份证号位数不对".to_string())]);
        let out = annotate("x.csv", text.as_bytes(), &notes).unwrap();
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(Cursor::new(&out[..])).unwrap();
        let range = book.worksheet_range("名册").unwrap();
        assert_eq!(range.get_value((2, 3)).unwrap().to_string(), "错误说明");
        assert_eq!(
            range.get_value((4, 3)).unwrap().to_string(),
            "身份证号位数不对"
        );
        assert_eq!(range.get_value((4, 1)).unwrap().to_string(), "12345");
    }
}
