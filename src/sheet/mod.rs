//! Reading sheets as bureaus keep them (rosters, question banks): XLSX/XLS/ODS or CSV (UTF-8, GBK/GB18030 or UTF-16),
//! title rows above the header, header aliases, numeric cells. No database here.
//!
//! Every upload is untrusted, so every format is read with bounded memory and time:
//! - CSV is decoded and split record by record; at most [`MAX_COLUMNS`] fields of a record are
//!   looked at and at most [`MAX_CELL_CHARS`] characters of a field are kept.
//! - XLSX is read cell by cell with calamine's streaming reader, never as a dense range. The
//!   parts calamine loads whole when it opens a workbook (shared strings, styles, relationships,
//!   workbook.xml) are looked through first: declared counts are never trusted, and parts larger
//!   than a roster could need are refused.
//! - XLS and ODS can only be read by calamine as dense ranges, so their structure is walked
//!   first (the compound file and its BIFF records; content.xml with its repeat attributes) and
//!   the memory calamine would need is estimated; a file over the budget is refused before
//!   calamine sees it.
//! - The header is searched in the first 30 rows; after it, data rows keep only the columns
//!   mapped to a [`Field`], at most [`MAX_DATA_ROWS`] of them.
//! - A panic inside calamine (malformed input it doesn't expect) is caught and reported as an
//!   unreadable file.
//!
//! This file holds what the importer uses and the dispatch by format; each concern has its own
//! file: `header` (aliases, finding the header row), `assemble` (cells to rows, the caps, where
//! rows go), `value` (a cell's value as text), `csv`, `archive` (the zip container of XLSX and
//! ODS), `xlsx`, `xls` (compound file, BIFF estimate), `ods`, `xml` (a streaming look through
//! XML) and `annotate` (the workbook written back with notes).

mod annotate;
mod archive;
mod assemble;
mod csv;
mod header;
mod ods;
#[cfg(test)]
pub(crate) mod testkit;
mod value;
mod xls;
mod xlsx;
mod xml;

use archive::{check_unpacked_size, is_ods, open_zip, zip_index};
use assemble::{Asm, Collect, Sink, range_stream};
use calamine::Reader;
pub use header::header_keys;
use std::collections::BTreeMap;
use std::io::Cursor;
use value::clip;

// ------------------------------------------------------------------------------------------
// What the importer sees

/// One cell as text, and whether the spreadsheet stored it as a number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub text: String,
    pub numeric: bool,
    /// The cell held more than [`MAX_CELL_CHARS`] characters: `text` is only their beginning
    /// (the importer reports "单元格内容过长" rather than using or echoing it).
    pub too_long: bool,
}

/// A row with the number Excel shows for it (1-based).
#[derive(Debug, Clone)]
pub struct Row {
    pub number: usize,
    pub cells: Vec<Cell>,
}

/// What a kind of sheet looks like: which header cells name which field, and which row is the
/// header. The roster and the question bank each have one.
pub trait Layout<F> {
    /// The header this row is, if it is one.
    fn header_in(&self, row: &Row) -> Result<Option<Header<F>>, SheetError>;
    /// What to tell the user when no row in the first 30 is a header.
    fn no_header(&self) -> String;
    /// The sheet's name in a workbook written back (名册, 题库).
    fn sheet_name(&self) -> &'static str;
}

/// Where each field is, and which headers were not understood.
#[derive(Debug, Clone)]
pub struct Header<F> {
    pub row: usize,
    pub columns: Vec<(usize, F)>,
    /// Headers the roster doesn't keep, each listed once.
    pub ignored: Vec<String>,
    /// Remarks on the file as a whole (columns beyond the cap, cells cut short), each said once.
    pub notes: Vec<String>,
}

impl<F: Copy + PartialEq> Header<F> {
    pub fn col(&self, f: F) -> Option<usize> {
        self.columns.iter().find(|(_, g)| *g == f).map(|(i, _)| *i)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SheetError {
    #[error("无法读取文件：{0}")]
    Unreadable(String),
    #[error("文件是空的")]
    Empty,
    /// No header in the first rows (the layout says what it looks for).
    #[error("{0}")]
    NoHeader(String),
    #[error("表头中“{0}”列出现了两次（第 {1} 列和第 {2} 列），无法判断以哪一列为准")]
    DuplicateColumn(String, String, String),
    /// More data rows than one import takes (the limit).
    #[error(
        "名册的数据超过 {0} 行，超出一次导入的上限。请把名册拆分成几个文件（每个不超过 {0} 行）后分别导入"
    )]
    TooManyRows(usize),
    /// Reading the file would take more memory than one upload may.
    #[error("文件内容过多：{0}。请把名册拆分成几个较小的文件后分别导入")]
    TooLarge(String),
    /// The file's structure is implausible: declared sizes it cannot hold, loops, overlaps.
    #[error(
        "文件结构异常，已拒绝：{0}。如果这确是一份正常的名册，请用 Excel 或 WPS 打开后“另存为”新的 .xlsx 文件再上传"
    )]
    Malformed(String),
    #[error("不支持{0}。请用 Excel 或 WPS 打开后“另存为” .xlsx 文件再上传")]
    Unsupported(&'static str),
    #[error("生成带错误说明的表格失败：{0}")]
    Write(String),
}

/// "A", "B", … "AA": the column letters Excel shows.
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

// ------------------------------------------------------------------------------------------
// Limits

/// What a workbook may unpack to. A 73,450-row roster unpacks to about 30 MB; a zip bomb (a few
/// MB that claim gigabytes) is refused before anything is decompressed.
pub const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;
/// Data rows (rows with content below the header) one file may have; more is refused whole.
pub const MAX_DATA_ROWS: usize = 200_000;
/// Columns read; cells further right are ignored (said once in [`Header::notes`]).
pub const MAX_COLUMNS: usize = 100;
/// Characters kept of a cell; a longer cell is cut and marked [`Cell::too_long`].
pub const MAX_CELL_CHARS: usize = 500;
/// The header must be in the first this many rows.
const HEADER_SEARCH_ROWS: u64 = 30;

const MIB: u64 = 1024 * 1024;
/// xl/sharedStrings.xml is loaded whole by calamine.
const MAX_SHARED_STRINGS_BYTES: u64 = 64 * MIB;
/// Strings in that table (each costs calamine a 24-byte slot besides its text).
const MAX_SHARED_STRINGS: u64 = 4_000_000;
/// The largest XML token (tag or text run) a parser may have to hold at once.
const MAX_XML_TOKEN: u64 = 64 * MIB;
/// What `read` keeps (rows, cells, text) and what `annotate` writes.
const MAX_KEPT_BYTES: usize = 256 * 1024 * 1024;
/// What calamine may need to hold an XLS or ODS workbook as dense ranges.
const MAX_EXPANDED_BYTES: u64 = 256 * MIB;
/// Bytes moved while calamine renders the formulas of an XLS workbook (it inserts into strings).
const MAX_FORMULA_WORK: u64 = 20_000_000_000;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    unpacked: u64,
    rows: usize,
    kept: usize,
    shared_strings: u64,
    xml_token: u64,
    expanded: u64,
}

const LIMITS: Limits = Limits {
    unpacked: MAX_UNPACKED_BYTES,
    rows: MAX_DATA_ROWS,
    kept: MAX_KEPT_BYTES,
    shared_strings: MAX_SHARED_STRINGS_BYTES,
    xml_token: MAX_XML_TOKEN,
    expanded: MAX_EXPANDED_BYTES,
};

// ------------------------------------------------------------------------------------------
// Reading and annotating

/// Reads the first sheet that has a recognisable header: its rows up to the header with every
/// column (up to [`MAX_COLUMNS`]), then its data rows with the mapped columns only (the cells of
/// other columns are left empty). Rows without any kept content are left out.
pub fn read<F>(
    layout: &dyn Layout<F>,
    filename: &str,
    bytes: &[u8],
) -> Result<(Header<F>, Vec<Row>), SheetError> {
    read_with(layout, filename, bytes, &LIMITS)
}

fn read_with<F>(
    layout: &dyn Layout<F>,
    filename: &str,
    bytes: &[u8],
    lim: &Limits,
) -> Result<(Header<F>, Vec<Row>), SheetError> {
    let mut keep = Collect {
        rows: Vec::new(),
        kept: 0,
        limit: lim.kept,
    };
    let found = scan(layout, filename, bytes, lim, false, None, &mut keep)?;
    Ok((found.header, keep.rows))
}

/// The sheet `read` picks, written back as XLSX with a last column 错误说明: the rows up to the
/// header and every data row, all columns (up to [`MAX_COLUMNS`]) as text, and on each row the
/// note `notes` has for its Excel row number. The header row is bold and frozen; rows with a
/// note are filled light red.
pub fn annotate<F>(
    layout: &dyn Layout<F>,
    filename: &str,
    bytes: &[u8],
    notes: &BTreeMap<usize, String>,
) -> Result<Vec<u8>, SheetError> {
    annotate::annotate_with(layout, filename, bytes, notes, &LIMITS)
}

/// The sheet a scan settled on.
struct Found<F> {
    sheet: usize,
    header: Header<F>,
    /// The rightmost column with content (below [`MAX_COLUMNS`]).
    max_col: usize,
}

enum Kind {
    Csv,
    Xlsx,
    Xls,
    Ods,
}

fn kind(filename: &str, bytes: &[u8], lim: &Limits) -> Result<Kind, SheetError> {
    if bytes.is_empty() {
        return Err(SheetError::Empty);
    }
    let lower = filename.to_lowercase();
    let is_zip = bytes.starts_with(b"PK\x03\x04");
    let is_ole = bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
    if is_ole {
        return Ok(Kind::Xls);
    }
    if is_zip {
        let mut zip = open_zip(bytes)?;
        // the zip reader stops at each entry's declared size, so the check holds
        check_unpacked_size(&mut zip, lim.unpacked)?;
        if is_ods(&mut zip) {
            return Ok(Kind::Ods);
        }
        let index = zip_index(&zip);
        let has = |suffix: &str| index.keys().any(|k| k.ends_with(suffix));
        if has("workbook.bin") && !has("workbook.xml") {
            return Err(SheetError::Unsupported("Excel 二进制工作簿（.xlsb）格式"));
        }
        return Ok(Kind::Xlsx);
    }
    if [".xlsx", ".xls", ".ods", ".xlsm", ".xlsb"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        return Err(SheetError::Unreadable(
            "文件扩展名是 Excel，但内容不是 Excel 工作簿（可能已损坏）".into(),
        ));
    }
    Ok(Kind::Csv)
}

/// Streams the chosen sheet (or each sheet in turn until one has a header) into `sink`.
fn scan<F>(
    layout: &dyn Layout<F>,
    filename: &str,
    bytes: &[u8],
    lim: &Limits,
    keep_all: bool,
    only: Option<usize>,
    sink: &mut dyn Sink<F>,
) -> Result<Found<F>, SheetError> {
    match kind(filename, bytes, lim)? {
        Kind::Csv => {
            let mut asm = Asm::new(layout, sink, keep_all, lim);
            if !csv::csv_stream(bytes, &mut asm)? {
                return Err(SheetError::Empty);
            }
            let (header, max_col) = asm
                .finish()?
                .ok_or_else(|| SheetError::NoHeader(layout.no_header()))?;
            Ok(Found {
                sheet: 0,
                header,
                max_col,
            })
        }
        Kind::Xlsx => {
            xlsx::xlsx_precheck(bytes, lim)?;
            let mut book = guarded(|| {
                <calamine::Xlsx<_> as Reader<_>>::new(Cursor::new(bytes)).map_err(not_a_workbook)
            })?;
            let names = book.sheet_names();
            each_sheet(layout, &names, only, sink, keep_all, lim, |name, asm| {
                xlsx::xlsx_stream(&mut book, name, asm)
            })
        }
        Kind::Xls => {
            xls::xls_precheck(bytes, lim)?;
            scan_ranges::<calamine::Xls<_>, F>(layout, bytes, lim, keep_all, only, sink)
        }
        Kind::Ods => {
            ods::ods_precheck(bytes, lim)?;
            scan_ranges::<calamine::Ods<_>, F>(layout, bytes, lim, keep_all, only, sink)
        }
    }
}

/// XLS and ODS (checked beforehand): calamine reads each sheet only as a dense range.
fn scan_ranges<'b, R, F>(
    layout: &dyn Layout<F>,
    bytes: &'b [u8],
    lim: &Limits,
    keep_all: bool,
    only: Option<usize>,
    sink: &mut dyn Sink<F>,
) -> Result<Found<F>, SheetError>
where
    R: Reader<Cursor<&'b [u8]>>,
    R::Error: std::fmt::Display,
{
    let mut book = guarded(|| R::new(Cursor::new(bytes)).map_err(not_a_workbook))?;
    let names = book.sheet_names();
    each_sheet(layout, &names, only, sink, keep_all, lim, |name, asm| {
        let range = book
            .worksheet_range(name)
            .map_err(|e| sheet_unreadable(name, e))?;
        range_stream(&range, asm)
    })
}

fn each_sheet<F>(
    layout: &dyn Layout<F>,
    names: &[String],
    only: Option<usize>,
    sink: &mut dyn Sink<F>,
    keep_all: bool,
    lim: &Limits,
    mut stream: impl FnMut(&str, &mut Asm<F>) -> Result<(), SheetError>,
) -> Result<Found<F>, SheetError> {
    let mut first_err = None;
    for (i, name) in names.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let mut asm = Asm::new(layout, &mut *sink, keep_all, lim);
        if let Err(e) = guarded(|| stream(name, &mut asm)) {
            // The header's own errors, the caps, and anything after the header end the read;
            // a sheet that can't be read before that is skipped like a sheet without a header.
            if asm.fatal || asm.header.is_some() {
                return Err(e);
            }
            first_err.get_or_insert(e);
            continue;
        }
        if let Some((header, max_col)) = asm.finish()? {
            return Ok(Found {
                sheet: i,
                header,
                max_col,
            });
        }
    }
    Err(first_err.unwrap_or_else(|| SheetError::NoHeader(layout.no_header())))
}

/// Runs calamine on hostile input: a panic becomes an error instead of ending the request.
fn guarded<T>(f: impl FnOnce() -> Result<T, SheetError>) -> Result<T, SheetError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(SheetError::Unreadable(
            "文件已损坏，读取时出错。请用 Excel 或 WPS 打开后“另存为”新的 .xlsx 文件再上传".into(),
        )),
    }
}

/// At most 200 characters of a message that may quote the file.
fn brief(e: impl std::fmt::Display) -> String {
    clip(&e.to_string(), 200).0
}

fn not_a_workbook(e: impl std::fmt::Display) -> SheetError {
    SheetError::Unreadable(format!("不是有效的 Excel 文件（{}）", brief(e)))
}

fn sheet_unreadable(name: &str, e: impl std::fmt::Display) -> SheetError {
    SheetError::Unreadable(format!(
        "工作表“{}”无法读取（{}）",
        clip(name, 31).0,
        brief(e)
    ))
}

#[cfg(test)]
mod tests {
    use super::testkit::{read, zip_of};
    use super::{SheetError, column_letter};

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(99), "CV");
    }

    #[test]
    fn xlsb_is_refused_with_advice() {
        let bytes = zip_of(&[("xl/workbook.bin", b"\0\0"), ("_rels/.rels", b"")]);
        let err = read("x.xlsb", &bytes).unwrap_err();
        assert!(matches!(err, SheetError::Unsupported(_)), "{err:?}");
        assert!(err.to_string().contains(".xlsx"), "{err}");
    }

    proptest::proptest! {
        /// Whatever a user uploads, reading it answers Ok or a SheetError: never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048), xlsx in proptest::prelude::any::<bool>()) {
            let _ = read(if xlsx { "x.xlsx" } else { "x.csv" }, &bytes);
        }
    }
}
