//! What the tests of the sheet module share: an allocation meter, and workbooks built by hand.

use std::io::{Cursor, Write};

pub use crate::roster::columns::Field;

/// The roster layout: the sheet tests read rosters.
pub fn read(
    filename: &str,
    bytes: &[u8],
) -> Result<(super::Header<Field>, Vec<super::Row>), super::SheetError> {
    super::read(&crate::roster::columns::RosterSheet, filename, bytes)
}

pub(crate) fn read_with(
    filename: &str,
    bytes: &[u8],
    lim: &super::Limits,
) -> Result<(super::Header<Field>, Vec<super::Row>), super::SheetError> {
    super::read_with(&crate::roster::columns::RosterSheet, filename, bytes, lim)
}

pub fn annotate(
    filename: &str,
    bytes: &[u8],
    notes: &std::collections::BTreeMap<usize, String>,
) -> Result<Vec<u8>, super::SheetError> {
    super::annotate(&crate::roster::columns::RosterSheet, filename, bytes, notes)
}

/// Counts this thread's allocations, so a test can say how much memory a read took.
pub(crate) mod meter {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static CURRENT: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn note(delta: isize) {
        let _ = CURRENT.try_with(|c| {
            let v = c.get() + delta;
            c.set(v);
            let _ = PEAK.try_with(|p| {
                if v > p.get() {
                    p.set(v)
                }
            });
        });
    }

    pub struct Meter;

    // SAFETY: every call is passed on to the system allocator unchanged.
    unsafe impl GlobalAlloc for Meter {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            note(l.size() as isize);
            unsafe { System.alloc(l) }
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            note(l.size() as isize);
            unsafe { System.alloc_zeroed(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            note(-(l.size() as isize));
            unsafe { System.dealloc(p, l) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            note(new as isize - l.size() as isize);
            unsafe { System.realloc(p, l, new) }
        }
    }

    #[global_allocator]
    static METER: Meter = Meter;

    /// What `f` returns, and the most memory this thread held at once while it ran.
    pub fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let base = CURRENT.with(|c| c.get());
        PEAK.with(|p| p.set(base));
        let r = f();
        let peak = PEAK.with(|p| p.get());
        (r, (peak - base).max(0) as usize)
    }
}

pub(crate) const MB: usize = 1024 * 1024;

pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A workbook written by hand: one sheet with `sheet_data` (the rows), optional shared strings.
pub(crate) fn raw_xlsx(dimension: &str, sheet_data: &str, shared: Option<&str>) -> Vec<u8> {
    raw_xlsx_with(dimension, sheet_data, shared, &[])
}

pub(crate) fn raw_xlsx_with(
    dimension: &str,
    sheet_data: &str,
    shared: Option<&str>,
    extra: &[(&str, &[u8])],
) -> Vec<u8> {
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{sheet_data}</sheetData></worksheet>"#
    );
    let mut entries: Vec<(&str, &[u8])> = vec![
        (
            "[Content_Types].xml",
            br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
    ];
    if let Some(s) = shared {
        entries.push(("xl/sharedStrings.xml", s.as_bytes()));
    }
    entries.extend_from_slice(extra);
    zip_of(&entries)
}

pub(crate) fn inline(cell: &str, text: &str) -> String {
    format!(r#"<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

/// A workbook written with rust_xlsxwriter, every cell a string.
pub(crate) fn xlsx_of(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

pub(crate) const ID: &str = "220702198506150013";

pub(crate) fn shared_strings(unique_count: &str, strings: &[&str]) -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{n}" uniqueCount="{unique_count}">"#,
        n = strings.len()
    );
    for t in strings {
        s.push_str(&format!("<si><t>{t}</t></si>"));
    }
    s.push_str("</sst>");
    s
}

#[test]
fn the_meter_measures() {
    let (v, peak) = meter::peak(|| vec![1u8; 32 * MB]);
    assert_eq!(v.len(), 32 * MB);
    assert!(peak >= 32 * MB, "{peak}");
    let (_, peak) = meter::peak(|| ());
    assert!(peak < MB, "{peak}");
}
