//! Cells to rows, whatever the format: the header search in the first rows, the caps on rows,
//! columns and cell text, and the sinks the rows go to.

use super::value::{Val, val_data};
use super::{
    Cell, HEADER_SEARCH_ROWS, Header, Layout, Limits, MAX_CELL_CHARS, MAX_COLUMNS, Row, SheetError,
    column_letter,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    Go,
    /// No header in the first rows: stop reading this sheet.
    Stop,
}

/// Where assembled rows go.
pub(super) trait Sink<F> {
    /// The header was found: the rows up to and including it, every column kept.
    fn header(&mut self, header: &Header<F>, rows: Vec<Row>) -> Result<(), SheetError>;
    /// A data row with content (only the wanted columns hold text).
    fn row(&mut self, row: Row) -> Result<(), SheetError>;
}

/// What `read` returns: every row it is given, within a memory budget.
pub(super) struct Collect {
    pub(super) rows: Vec<Row>,
    pub(super) kept: usize,
    pub(super) limit: usize,
}

impl Collect {
    fn keep(&mut self, mut row: Row) -> Result<(), SheetError> {
        row.cells.shrink_to_fit();
        self.kept += std::mem::size_of::<Row>()
            + row.cells.capacity() * std::mem::size_of::<Cell>()
            + row.cells.iter().map(|c| c.text.capacity()).sum::<usize>();
        if self.kept > self.limit {
            return Err(SheetError::TooLarge(format!(
                "要读取的内容超过 {} MB",
                self.limit / 1024 / 1024
            )));
        }
        self.rows.push(row);
        Ok(())
    }
}

impl<F> Sink<F> for Collect {
    fn header(&mut self, _: &Header<F>, rows: Vec<Row>) -> Result<(), SheetError> {
        rows.into_iter().try_for_each(|r| self.keep(r))
    }

    fn row(&mut self, row: Row) -> Result<(), SheetError> {
        if row.cells.iter().all(|c| c.text.is_empty()) {
            // content only in columns the roster doesn't keep
            return Ok(());
        }
        self.keep(row)
    }
}

/// Reads without keeping: the first pass of `annotate`.
pub(super) struct Discard;

impl<F> Sink<F> for Discard {
    fn header(&mut self, _: &Header<F>, _: Vec<Row>) -> Result<(), SheetError> {
        Ok(())
    }

    fn row(&mut self, _: Row) -> Result<(), SheetError> {
        Ok(())
    }
}

/// The row being read.
struct Building {
    key: u64,
    number: usize,
    cells: Vec<Cell>,
    content: bool,
}

/// Turns one sheet's cells, in row order, into rows: finds the header in the first rows, keeps
/// only the wanted columns after it, and applies the caps.
pub(super) struct Asm<'s, F> {
    layout: &'s dyn Layout<F>,
    sink: &'s mut dyn Sink<F>,
    keep_all: bool,
    max_rows: usize,
    first_key: Option<u64>,
    cur: Option<Building>,
    pending: Vec<Row>,
    pub(super) header: Option<Header<F>>,
    mapped: [bool; MAX_COLUMNS],
    data_rows: usize,
    beyond: bool,
    cut: usize,
    max_col: usize,
    gave_up: bool,
    /// An error of the rows themselves (not of the file's reader): ends the read.
    pub(super) fatal: bool,
}

impl<'s, F> Asm<'s, F> {
    pub(super) fn new(
        layout: &'s dyn Layout<F>,
        sink: &'s mut dyn Sink<F>,
        keep_all: bool,
        lim: &Limits,
    ) -> Self {
        Asm {
            layout,
            sink,
            keep_all,
            max_rows: lim.rows,
            first_key: None,
            cur: None,
            pending: Vec::new(),
            header: None,
            mapped: [false; MAX_COLUMNS],
            data_rows: 0,
            beyond: false,
            cut: 0,
            max_col: 0,
            gave_up: false,
            fatal: false,
        }
    }

    /// Whether a cell in this column of the current row would be kept.
    pub(super) fn wants(&self, col: usize) -> bool {
        col < MAX_COLUMNS && (self.header.is_none() || self.keep_all || self.mapped[col])
    }

    /// Starts row `key` (increasing within a sheet), shown as row `number`.
    pub(super) fn row_start(&mut self, key: u64, number: usize) -> Result<Flow, SheetError> {
        if self.gave_up {
            return Ok(Flow::Stop);
        }
        if let Some(b) = &self.cur {
            if b.key == key {
                return Ok(Flow::Go);
            }
            if key < b.key {
                self.fatal = true;
                return Err(SheetError::Malformed(format!(
                    "工作表中的第 {number} 行出现在第 {} 行之后",
                    b.number
                )));
            }
            self.end_row()?;
        }
        if self.header.is_none()
            && self
                .first_key
                .is_some_and(|f| key >= f.saturating_add(HEADER_SEARCH_ROWS))
        {
            self.gave_up = true;
            self.pending.clear();
            return Ok(Flow::Stop);
        }
        self.cur = Some(Building {
            key,
            number,
            cells: Vec::new(),
            content: false,
        });
        Ok(Flow::Go)
    }

    pub(super) fn cell(
        &mut self,
        key: u64,
        number: usize,
        col: usize,
        v: Val<'_>,
    ) -> Result<Flow, SheetError> {
        if self.row_start(key, number)? == Flow::Stop {
            return Ok(Flow::Stop);
        }
        if !v.has_content() {
            return Ok(Flow::Go);
        }
        if col >= MAX_COLUMNS {
            self.beyond = true;
            return Ok(Flow::Go);
        }
        self.max_col = self.max_col.max(col);
        let wanted = self.wants(col);
        let Some(b) = self.cur.as_mut() else {
            return Ok(Flow::Go);
        };
        b.content = true;
        if !wanted || matches!(v, Val::Unkept(_)) {
            return Ok(Flow::Go);
        }
        let cell = v.to_cell();
        if cell.too_long {
            self.cut += 1;
        }
        if b.cells.len() <= col {
            b.cells.resize(col + 1, Cell::default());
        }
        b.cells[col] = cell;
        Ok(Flow::Go)
    }

    fn end_row(&mut self) -> Result<(), SheetError> {
        let Some(b) = self.cur.take() else {
            return Ok(());
        };
        let r = self.take_row(b);
        if r.is_err() {
            self.fatal = true;
        }
        r
    }

    fn take_row(&mut self, b: Building) -> Result<(), SheetError> {
        if !b.content {
            return Ok(());
        }
        let row = Row {
            number: b.number,
            cells: b.cells,
        };
        if self.header.is_some() {
            self.data_rows += 1;
            if self.data_rows > self.max_rows {
                return Err(SheetError::TooManyRows(self.max_rows));
            }
            return self.sink.row(row);
        }
        self.first_key.get_or_insert(b.key);
        match self.layout.header_in(&row)? {
            Some(h) => {
                for (i, _) in &h.columns {
                    if let Some(m) = self.mapped.get_mut(*i) {
                        *m = true;
                    }
                }
                let mut rows = std::mem::take(&mut self.pending);
                rows.push(row);
                self.sink.header(&h, rows)?;
                self.header = Some(h);
            }
            None => self.pending.push(row),
        }
        Ok(())
    }

    /// The header (with the file's notes) and the rightmost column with content, if found.
    pub(super) fn finish(mut self) -> Result<Option<(Header<F>, usize)>, SheetError> {
        if !self.gave_up {
            self.end_row()?;
        }
        let Some(mut h) = self.header.take() else {
            return Ok(None);
        };
        if self.beyond {
            h.notes.push(format!(
                "第 {MAX_COLUMNS} 列（{} 列）右边的内容已忽略：系统最多读取前 {MAX_COLUMNS} 列",
                column_letter(MAX_COLUMNS - 1)
            ));
        }
        if self.cut > 0 {
            h.notes.push(format!(
                "有 {} 个单元格超过 {MAX_CELL_CHARS} 个字，只读取了前 {MAX_CELL_CHARS} 个字（单元格内容过长）",
                self.cut
            ));
        }
        Ok(Some((h, self.max_col)))
    }
}

/// XLS and ODS sheets, as calamine's ranges (after the structure was checked).
pub(super) fn range_stream<F>(
    range: &calamine::Range<calamine::Data>,
    asm: &mut Asm<F>,
) -> Result<(), SheetError> {
    let (r0, c0) = range.start().unwrap_or((0, 0));
    for (r, c, d) in range.used_cells() {
        let row = r0 as u64 + r as u64;
        let col = c0 as usize + c;
        if asm.cell(row, row as usize + 1, col, val_data(d))? == Flow::Stop {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{ID, MB, inline, meter, raw_xlsx, shared_strings};
    use crate::sheet::testkit::{read, read_with};
    use crate::sheet::{LIMITS, Limits, MAX_CELL_CHARS, MAX_COLUMNS, MAX_DATA_ROWS, SheetError};

    fn csv_rows(n: usize) -> Vec<u8> {
        let mut s = String::from("姓名,身份证号,所在单位\n");
        for i in 0..n {
            s.push_str(&format!("张{i},{ID},宁江区\n"));
        }
        s.into_bytes()
    }

    /// Defect 3: at most 200,000 data rows; more refuses the whole file.
    #[test]
    fn more_than_200000_data_rows_are_refused() {
        let (h, rows) = read("x.csv", &csv_rows(MAX_DATA_ROWS)).unwrap();
        assert_eq!(h.row, 1);
        assert_eq!(rows.len(), MAX_DATA_ROWS + 1);
        let err = read("x.csv", &csv_rows(MAX_DATA_ROWS + 1)).unwrap_err();
        assert_eq!(err, SheetError::TooManyRows(200_000));
        let msg = err.to_string();
        assert!(msg.contains("200000") && msg.contains("拆分"), "{msg}");
    }

    /// Defect 3: at most 100 columns; the rest are ignored, said once.
    #[test]
    fn columns_beyond_100_are_ignored_and_said_once() {
        let mut header: Vec<String> = vec!["姓名".into(), "身份证号".into()];
        header.extend((2..150).map(|i| format!("列{i}")));
        let mut data: Vec<String> = vec!["张三".into(), ID.into()];
        data.extend((2..150).map(|i| format!("值{i}")));
        let text = format!(
            "{}\n{}\n{}\n",
            header.join(","),
            data.join(","),
            data.join(",")
        );
        let (h, rows) = read("x.csv", text.as_bytes()).unwrap();
        assert!(rows.iter().all(|r| r.cells.len() <= MAX_COLUMNS));
        assert_eq!(rows[0].cells.len(), MAX_COLUMNS);
        assert_eq!(h.ignored.len(), MAX_COLUMNS - 2);
        assert_eq!(h.notes.len(), 1, "{:?}", h.notes);
        assert!(h.notes[0].contains("100"), "{:?}", h.notes);
    }

    /// Defect 3: a cell keeps its first 500 characters and is marked; nothing copies it whole.
    #[test]
    fn long_cells_are_cut_and_marked() {
        let huge = "局".repeat(2 * MB);
        // CSV
        let text = format!("姓名,身份证号,所在单位\n张三,{ID},{huge}\n李四,{ID},宁江区\n");
        let ((h, rows), peak) = meter::peak(|| read("x.csv", text.as_bytes()).unwrap());
        assert!(peak < 16 * MB, "{peak}");
        let cell = &rows[1].cells[2];
        assert!(cell.too_long);
        assert_eq!(cell.text.chars().count(), MAX_CELL_CHARS);
        assert!(!rows[2].cells[2].too_long);
        assert_eq!(h.notes.len(), 1);
        assert!(h.notes[0].contains("500"), "{:?}", h.notes);
        // XLSX, as an inline string and as a shared string
        let sheet = format!(
            r#"<row r="1">{}{}{}</row><row r="2">{}{}{}</row><row r="3">{}{}<c r="C3" t="s"><v>0</v></c></row>"#,
            inline("A1", "姓名"),
            inline("B1", "身份证号"),
            inline("C1", "所在单位"),
            inline("A2", "张三"),
            inline("B2", ID),
            inline("C2", &huge),
            inline("A3", "李四"),
            inline("B3", ID),
        );
        let bytes = raw_xlsx("A1:C3", &sheet, Some(&shared_strings("1", &[&huge])));
        let (h, rows) = read("x.xlsx", &bytes).unwrap();
        for r in &rows[1..] {
            assert!(r.cells[2].too_long);
            assert_eq!(r.cells[2].text.chars().count(), MAX_CELL_CHARS);
            assert!(r.cells[2].text.capacity() < 4 * MAX_CELL_CHARS);
        }
        assert!(h.notes[0].contains("2 个单元格"), "{:?}", h.notes);
    }

    /// Defect 4: once the header is found, data rows keep only the mapped columns.
    #[test]
    fn huge_unmapped_content_is_not_kept() {
        let filler = "备".repeat(4000);
        let mut sheet = format!(
            r#"<row r="1">{}{}{}{}</row>"#,
            inline("A1", "姓名"),
            inline("B1", "身份证号"),
            inline("C1", "备注"),
            inline("D1", "附件"),
        );
        for r in 2..=2000 {
            sheet.push_str(&format!(
                r#"<row r="{r}">{}{}{}{}</row>"#,
                inline(&format!("A{r}"), "张三"),
                inline(&format!("B{r}"), ID),
                inline(&format!("C{r}"), &filler),
                inline(&format!("D{r}"), &filler),
            ));
        }
        let bytes = raw_xlsx("A1:D2000", &sheet, None);
        let ((h, rows), peak) = meter::peak(|| read("x.xlsx", &bytes).unwrap());
        assert_eq!(h.ignored, vec!["附件".to_string()]);
        assert_eq!(rows.len(), 2000);
        // the header row keeps every column; data rows only the mapped ones, nothing unmapped
        assert_eq!(rows[0].cells.len(), 4);
        assert!(rows[1..].iter().all(|r| r.cells.len() == 2));
        // 48 MB of text went through; far less was held
        assert!(peak < 8 * MB, "{peak}");
    }

    #[test]
    fn rows_out_of_order_are_refused() {
        let sheet = format!(
            r#"<row r="1">{}{}</row><row r="3">{}{}</row><row r="2">{}{}</row>"#,
            inline("A1", "姓名"),
            inline("B1", "身份证号"),
            inline("A3", "张三"),
            inline("B3", ID),
            inline("A2", "李四"),
            inline("B2", ID),
        );
        let err = read("x.xlsx", &raw_xlsx("A1:B3", &sheet, None)).unwrap_err();
        assert!(matches!(err, SheetError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn what_read_keeps_is_budgeted() {
        let lim = Limits {
            kept: 64 * 1024,
            ..LIMITS
        };
        let err = read_with("x.csv", &csv_rows(2000), &lim).unwrap_err();
        assert!(matches!(err, SheetError::TooLarge(_)), "{err:?}");
        assert!(read_with("x.csv", &csv_rows(200), &lim).is_ok());
    }
}
