//! ODS: content.xml is walked first and what calamine's dense ranges would take is estimated.

use super::archive::{entry_size, open_zip, oversized, scan_entry};
use super::xml::{MAX_XML_NAME, XmlEvent};
use super::{Limits, MIB, SheetError};

/// calamine's caps on an ODS sheet.
const ODS_MAX_ROWS: u64 = 1_048_576;
const ODS_MAX_COLUMNS: u64 = 16_384;
/// What calamine holds per cell of an ODS range: the value and the formula text slot.
const ODS_CELL_BYTES: u64 = 32 + 24;

pub(super) fn ods_precheck(bytes: &[u8], lim: &Limits) -> Result<(), SheetError> {
    let mut zip = open_zip(bytes)?;
    // calamine keeps the manifest's events in one buffer while looking for a password
    if let Some(size) = entry_size(&mut zip, "META-INF/manifest.xml")
        && size > MIB
    {
        return Err(oversized("META-INF/manifest.xml", size, 1));
    }
    if entry_size(&mut zip, "content.xml").is_none() {
        return Ok(());
    }
    let mut est = OdsEstimate {
        budget: lim.expanded,
        ..Default::default()
    };
    scan_entry(&mut zip, "content.xml", lim.xml_token, ODS_ATTRS, |ev| {
        est.on(ev)
    })?;
    if !est.open.is_empty() {
        return Err(SheetError::Malformed("content.xml 不完整".into()));
    }
    est.check()
}

const ODS_ATTRS: &[&[u8]] = &[
    b"table:number-rows-repeated",
    b"table:number-columns-repeated",
    b"text:c",
    b"office:value-type",
    b"office:value",
    b"office:string-value",
    b"office:date-value",
    b"office:time-value",
    b"office:boolean-value",
    b"table:formula",
];

#[derive(Default)]
struct OdsRow {
    repeat: u64,
    /// Cells calamine pushes for the row (repeats of empty cells count once another follows).
    pushed: u64,
    pending_empty: u64,
    /// Text calamine copies for the row's cells (each repeat of a cell copies its value).
    text: u64,
    content: bool,
}

struct OdsCell {
    repeat: u64,
    valued: bool,
    start: u64,
    tag_len: u64,
    extra: u64,
}

#[derive(Default)]
struct OdsTable {
    rows: u64,
    first: Option<u64>,
    end: u64,
    width: u64,
    cells: u64,
    text: u64,
    range_text: u64,
}

#[derive(Default)]
struct OdsEstimate {
    budget: u64,
    /// The open elements: calamine's ODS loops stop only at the end tags they expect (a
    /// table without its end tag makes it spin for ever), so the nesting must be exact.
    open: Vec<Vec<u8>>,
    depth: usize,
    table: OdsTable,
    row: Option<OdsRow>,
    cell: Option<OdsCell>,
    kept: u64,
    building_max: u64,
    kept_max: u64,
}

impl OdsEstimate {
    fn on(&mut self, ev: XmlEvent<'_>) -> Result<(), SheetError> {
        let unpaired = || SheetError::Malformed("content.xml 中的标签没有正确配对".into());
        match &ev {
            XmlEvent::Open { name, empty, .. } => {
                if name.len() > MAX_XML_NAME || self.open.len() >= 1000 {
                    return Err(unpaired());
                }
                if !*empty {
                    self.open.push(name.to_vec());
                }
            }
            XmlEvent::Close { name, exact, .. } => {
                if !*exact || self.open.pop().as_deref() != Some(*name) {
                    return Err(unpaired());
                }
            }
        }
        match ev {
            XmlEvent::Open {
                name,
                attrs,
                empty,
                at,
                len,
            } => match name {
                b"table:table" => {
                    self.depth += 1;
                    if self.depth == 1 {
                        self.table = OdsTable::default();
                    }
                }
                b"table:table-row" if self.depth > 0 => {
                    self.end_row()?;
                    self.row = Some(OdsRow {
                        repeat: attrs[0].max_num.unwrap_or(1),
                        ..Default::default()
                    });
                    if empty {
                        self.end_row()?;
                    }
                }
                b"table:table-cell" | b"table:covered-table-cell" if self.row.is_some() => {
                    self.end_cell(at);
                    self.cell = Some(OdsCell {
                        repeat: attrs[1].max_num.unwrap_or(1).min(ODS_MAX_COLUMNS),
                        valued: attrs[3..].iter().any(|a| a.found),
                        start: at - len,
                        tag_len: len,
                        extra: 0,
                    });
                    if empty {
                        self.end_cell(at);
                    }
                }
                b"text:s" => {
                    if let Some(c) = self.cell.as_mut() {
                        c.extra = c.extra.saturating_add(attrs[2].max_num.unwrap_or(1));
                    }
                }
                b"text:p" | b"text:tab" | b"text:line-break" => {
                    if let Some(c) = self.cell.as_mut() {
                        c.extra += 1;
                    }
                }
                _ => {}
            },
            XmlEvent::Close { name, at, .. } => match name {
                b"table:table-cell" | b"table:covered-table-cell" => self.end_cell(at),
                b"table:table-row" => self.end_row()?,
                b"table:table" if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        self.end_table()?;
                    }
                }
                _ => {}
            },
        }
        Ok(())
    }

    fn end_cell(&mut self, at: u64) {
        let (Some(c), Some(row)) = (self.cell.take(), self.row.as_mut()) else {
            return;
        };
        let raw = at.saturating_sub(c.start);
        if c.valued || raw > c.tag_len {
            let bytes = raw.saturating_add(c.extra);
            row.pushed = (row.pushed + row.pending_empty + c.repeat).min(ODS_MAX_COLUMNS);
            row.pending_empty = 0;
            row.text = row.text.saturating_add(c.repeat.saturating_mul(bytes));
            row.content = true;
        } else {
            row.pushed = (row.pushed + row.pending_empty).min(ODS_MAX_COLUMNS);
            row.pending_empty = c.repeat;
        }
    }

    fn end_row(&mut self) -> Result<(), SheetError> {
        let Some(row) = self.row.take() else {
            return Ok(());
        };
        let t = &mut self.table;
        t.cells += row.pushed;
        t.text = t.text.saturating_add(row.text);
        let repeat = row.repeat.min(ODS_MAX_ROWS - t.rows);
        if row.content {
            t.first.get_or_insert(t.rows);
            t.end = t.rows + repeat;
            t.width = t.width.max(row.pushed);
            t.range_text = t.range_text.saturating_add(repeat.saturating_mul(row.text));
        }
        t.rows += repeat;
        self.check()
    }

    /// The current table's (kept, building) bytes.
    fn table_bytes(&self) -> (u64, u64) {
        let t = &self.table;
        let dense = t
            .first
            .map(|f| t.end - f)
            .unwrap_or(0)
            .saturating_mul(t.width);
        let kept = dense
            .saturating_mul(ODS_CELL_BYTES)
            .saturating_add(t.range_text);
        let building = t
            .cells
            .saturating_mul(ODS_CELL_BYTES)
            .saturating_add(t.text);
        (kept, building)
    }

    fn end_table(&mut self) -> Result<(), SheetError> {
        self.end_row()?;
        let (kept, building) = self.table_bytes();
        self.kept = self.kept.saturating_add(kept);
        self.building_max = self.building_max.max(building);
        self.kept_max = self.kept_max.max(kept);
        self.table = OdsTable::default();
        self.check()
    }

    fn check(&self) -> Result<(), SheetError> {
        let (kept, building) = self.table_bytes();
        let estimate = self
            .kept
            .saturating_add(kept)
            .saturating_add(self.building_max.max(building))
            .saturating_add(self.kept_max.max(kept));
        if estimate > self.budget {
            return Err(SheetError::TooLarge(format!(
                "这个 ODS 文件展开后约需 {} MB 内存，超过 {} MB 的上限（ODS 只能整表读入；另存为 .xlsx 后可以逐行读取）",
                estimate / MIB,
                self.budget / MIB
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{ID, MB, meter, zip_of};
    use crate::sheet::SheetError;
    use crate::sheet::testkit::{Field, read};

    fn ods_of(table_rows: &str) -> Vec<u8> {
        let content = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Sheet1">{table_rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
        );
        zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
            (
                "META-INF/manifest.xml",
                br#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#,
            ),
            ("content.xml", content.as_bytes()),
        ])
    }

    fn ods_cell(text: &str) -> String {
        format!(
            r#"<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>"#
        )
    }

    fn ods_header_rows() -> String {
        format!(
            "<table:table-row>{}{}</table:table-row><table:table-row>{}{}</table:table-row>",
            ods_cell("姓名"),
            ods_cell("身份证号"),
            ods_cell("张三"),
            ods_cell(ID)
        )
    }

    /// Defect 5: ODS repeat attributes made calamine expand rows × 16,384 columns.
    #[test]
    fn ods_reads_and_hostile_repeats_are_refused() {
        let (h, rows) = read("x.ods", &ods_of(&ods_header_rows())).unwrap();
        assert_eq!(h.col(Field::IdNumber), Some(1));
        assert_eq!(rows[1].cells[1].text, ID);

        let wide_and_long = format!(
            r#"{}<table:table-row table:number-rows-repeated="6000"><table:table-cell table:number-columns-repeated="16384" office:value-type="string" office:string-value="x"/></table:table-row>"#,
            ods_header_rows()
        );
        let spaces = format!(
            r#"{}<table:table-row><table:table-cell office:value-type="string"><text:p><text:s text:c="2000000000"/></text:p></table:table-cell></table:table-row>"#,
            ods_header_rows()
        );
        for hostile in [wide_and_long, spaces] {
            let bytes = ods_of(&hostile);
            assert!(bytes.len() < 4096);
            let (r, peak) = meter::peak(|| read("x.ods", &bytes));
            let err = r.unwrap_err();
            assert!(matches!(err, SheetError::TooLarge(_)), "{err:?}");
            assert!(err.to_string().contains("ODS"), "{err}");
            assert!(peak < 16 * MB, "{peak}");
        }
    }

    /// calamine's ODS table loop ignores the end of the file: a table whose end tag is lost
    /// (here swallowed by a broken row end tag) made it spin for ever.
    #[test]
    fn ods_with_unpaired_tags_is_refused_not_spun_on() {
        let cases = [
            format!("{}</table:table-row\u{15}", ods_header_rows()),
            format!(
                r#"{}<table:table-row><table:table-cell office:value-type="string"><office:annotation><text:p>x</text:p></table:table-cell></table:table-row>"#,
                ods_header_rows()
            ),
            format!("{}</table:table x>", ods_header_rows()),
        ];
        for rows in cases {
            let err = read("x.ods", &ods_of(&rows)).unwrap_err();
            assert!(matches!(err, SheetError::Malformed(_)), "{err:?}");
        }
    }

    proptest::proptest! {
        /// A valid ODS with bytes of its content.xml changed.
        #[test]
        fn mutated_ods_never_panics(flips in proptest::collection::vec((0usize..10_000, proptest::prelude::any::<u8>()), 1..8)) {
            let mut rows = format!(
                r#"{}<table:table-row table:number-rows-repeated="3"><table:table-cell table:number-columns-repeated="4" office:value-type="float" office:value="7"/><table:table-cell><text:p>a<text:s text:c="3"/>b</text:p></table:table-cell></table:table-row>"#,
                ods_header_rows()
            )
            .into_bytes();
            for (at, v) in flips {
                let at = at % rows.len();
                rows[at] = v;
            }
            let _ = read("x.ods", &ods_of(&String::from_utf8_lossy(&rows)));
        }
    }
}
