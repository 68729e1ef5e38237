//! Reading rosters as bureaus keep them: XLSX/XLS/ODS or CSV (UTF-8, GBK/GB18030 or UTF-16),
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

use super::rules::{to_half_width, unit_name_key};
use calamine::Reader;
use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    IdNumber,
    Unit,
    UnitCode,
    Sex,
    BirthDate,
    Post,
    Category,
    Region,
    EmploymentType,
    Phone,
    Status,
    Rank,
    CertNumber,
    CertIssuer,
    CertValidity,
}

impl Field {
    pub const ALL: [Field; 16] = [
        Field::Name,
        Field::IdNumber,
        Field::Unit,
        Field::UnitCode,
        Field::Sex,
        Field::BirthDate,
        Field::Post,
        Field::Category,
        Field::Region,
        Field::EmploymentType,
        Field::Phone,
        Field::Status,
        Field::Rank,
        Field::CertNumber,
        Field::CertIssuer,
        Field::CertValidity,
    ];

    /// The header the template uses.
    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "姓名",
            Field::IdNumber => "身份证号",
            Field::Unit => "所在单位",
            Field::UnitCode => "单位代码",
            Field::Sex => "性别",
            Field::BirthDate => "出生日期",
            Field::Post => "职务",
            Field::Category => "执法类别",
            Field::Region => "执法区域",
            Field::EmploymentType => "人员性质",
            Field::Phone => "联系电话",
            Field::Status => "在岗状态",
            Field::Rank => "职级",
            Field::CertNumber => "执法证号",
            Field::CertIssuer => "发证机关",
            Field::CertValidity => "证件有效期",
        }
    }

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Name => &["姓名", "名字", "人员姓名", "执法人员姓名", "执法人员"],
            // "证件号码" is listed here and under CertNumber: which one it means depends on the
            // rest of the header row (see `header_in`).
            Field::IdNumber => &[
                "身份证号",
                "身份证号码",
                "公民身份号码",
                "身份证",
                "证件号码",
                "身份证件号码",
                "公民身份证号码",
                "身份号码",
            ],
            Field::Unit => &[
                "单位",
                "所在单位",
                "执法单位",
                "工作单位",
                "单位名称",
                "执法主体",
                "所属单位",
                "执法主体名称",
                "所在执法单位",
            ],
            Field::UnitCode => &[
                "单位代码",
                "统一社会信用代码",
                "执法主体代码",
                "单位编码",
                "机构代码",
                "组织机构代码",
            ],
            Field::Sex => &["性别"],
            Field::BirthDate => &["出生日期", "出生年月", "出生年月日", "生日"],
            Field::Post => &[
                "职务",
                "职务(岗位)",
                "岗位",
                "职务岗位",
                "职位",
                "职务职级",
                "现任职务",
                "职务/岗位",
            ],
            Field::Category => &["执法类别", "执法门类", "执法种类", "执法领域", "执法类型"],
            Field::Region => &["执法区域", "执法地域", "管辖区域", "执法范围"],
            Field::EmploymentType => &[
                "人员性质",
                "人员类别",
                "编制性质",
                "编制类型",
                "人员身份",
                "用工性质",
                "编制情况",
                "身份类别",
                "编制类别",
                "执法人员性质",
            ],
            Field::Phone => &[
                "联系电话",
                "电话",
                "手机",
                "手机号",
                "手机号码",
                "联系方式",
                "电话号码",
            ],
            Field::Status => &["在岗状态", "状态", "人员状态", "在职状态", "在岗情况"],
            Field::Rank => &["职级"],
            Field::CertNumber => &[
                "执法证号",
                "证件编号",
                "证号",
                "证件号码",
                "行政执法证号",
                "执法证编号",
                "执法证件号码",
                "执法证件编号",
            ],
            Field::CertIssuer => &["发证机关", "发证单位", "发证部门"],
            Field::CertValidity => &[
                "证件有效期",
                "有效期",
                "有效期至",
                "证件有效期至",
                "有效期限",
                "有效日期",
            ],
        }
    }

    /// Which field a header cell names, if any: spaces, stars, full-width forms and a trailing
    /// note in brackets ("身份证号（必填）") are ignored. "证件号码" alone answers `IdNumber`;
    /// in a header row that also has an ID-number column it is the certificate number.
    pub fn from_header(raw: &str) -> Option<Field> {
        classify_header(raw).map(|(f, _)| f)
    }
}

/// The field a header cell names, and whether it was the ambiguous "证件号码".
fn classify_header(raw: &str) -> Option<(Field, bool)> {
    let s: String = to_half_width(raw)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '*' | '※' | ':' | '\u{200B}' | '\u{FEFF}'))
        .collect();
    let matches = |s: &str| {
        Field::ALL
            .into_iter()
            .find(|f| f.aliases().contains(&s))
            .map(|f| (f, s == AMBIGUOUS_ID_HEADER))
    };
    matches(&s).or_else(|| {
        let stripped = s.split(['(', '[', '【']).next().unwrap_or("");
        matches(stripped)
    })
}

/// Means the ID number unless the row has another ID-number column; then the certificate number.
const AMBIGUOUS_ID_HEADER: &str = "证件号码";

/// Where each field is, and which headers were not understood.
#[derive(Debug, Clone)]
pub struct Header {
    pub row: usize,
    pub columns: Vec<(usize, Field)>,
    /// Headers the roster doesn't keep, each listed once.
    pub ignored: Vec<String>,
    /// Remarks on the file as a whole (columns beyond the cap, cells cut short), each said once.
    pub notes: Vec<String>,
}

impl Header {
    pub fn col(&self, f: Field) -> Option<usize> {
        self.columns.iter().find(|(_, g)| *g == f).map(|(i, _)| *i)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SheetError {
    #[error("无法读取文件：{0}")]
    Unreadable(String),
    #[error("文件是空的")]
    Empty,
    #[error(
        "找不到表头：前 30 行中没有同时包含“姓名”和“身份证号”两列的行。请确认表头写法（如 姓名、身份证号、所在单位）"
    )]
    NoHeader,
    #[error("表头中“{0}”列出现了两次（第 {1} 列和第 {2} 列），无法判断以哪一列为准")]
    DuplicateColumn(&'static str, String, String),
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
struct Limits {
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
pub fn read(filename: &str, bytes: &[u8]) -> Result<(Header, Vec<Row>), SheetError> {
    read_with(filename, bytes, &LIMITS)
}

#[cfg(test)]
fn read_limited(
    filename: &str,
    bytes: &[u8],
    limit: u64,
) -> Result<(Header, Vec<Row>), SheetError> {
    read_with(
        filename,
        bytes,
        &Limits {
            unpacked: limit,
            ..LIMITS
        },
    )
}

fn read_with(filename: &str, bytes: &[u8], lim: &Limits) -> Result<(Header, Vec<Row>), SheetError> {
    let mut keep = Collect {
        rows: Vec::new(),
        kept: 0,
        limit: lim.kept,
    };
    let found = scan(filename, bytes, lim, false, None, &mut keep)?;
    Ok((found.header, keep.rows))
}

/// The sheet `read` picks, written back as XLSX with a last column 错误说明: the rows up to the
/// header and every data row, all columns (up to [`MAX_COLUMNS`]) as text, and on each row the
/// note `notes` has for its Excel row number. The header row is bold and frozen; rows with a
/// note are filled light red.
pub fn annotate(
    filename: &str,
    bytes: &[u8],
    notes: &BTreeMap<usize, String>,
) -> Result<Vec<u8>, SheetError> {
    annotate_with(filename, bytes, notes, &LIMITS)
}

fn annotate_with(
    filename: &str,
    bytes: &[u8],
    notes: &BTreeMap<usize, String>,
    lim: &Limits,
) -> Result<Vec<u8>, SheetError> {
    // First pass: which sheet, where the header is, how wide the sheet is.
    let found = scan(filename, bytes, lim, false, None, &mut Discard)?;
    let note_col = (found.max_col + 1) as u16;
    let mut wb = rust_xlsxwriter::Workbook::new();
    {
        let ws = wb.add_worksheet_with_constant_memory().map_err(write_err)?;
        ws.set_name("名册").map_err(write_err)?;
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
        scan(filename, bytes, lim, true, Some(found.sheet), &mut out)?;
    }
    wb.save_to_buffer().map_err(write_err)
}

fn write_err(e: rust_xlsxwriter::XlsxError) -> SheetError {
    SheetError::Write(brief(e))
}

/// The sheet a scan settled on.
struct Found {
    sheet: usize,
    header: Header,
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
fn scan(
    filename: &str,
    bytes: &[u8],
    lim: &Limits,
    keep_all: bool,
    only: Option<usize>,
    sink: &mut dyn Sink,
) -> Result<Found, SheetError> {
    match kind(filename, bytes, lim)? {
        Kind::Csv => {
            let mut asm = Asm::new(sink, keep_all, lim);
            if !csv_stream(bytes, &mut asm)? {
                return Err(SheetError::Empty);
            }
            let (header, max_col) = asm.finish()?.ok_or(SheetError::NoHeader)?;
            Ok(Found {
                sheet: 0,
                header,
                max_col,
            })
        }
        Kind::Xlsx => {
            xlsx_precheck(bytes, lim)?;
            let mut book = guarded(|| {
                <calamine::Xlsx<_> as Reader<_>>::new(Cursor::new(bytes)).map_err(not_a_workbook)
            })?;
            let names = book.sheet_names();
            each_sheet(&names, only, sink, keep_all, lim, |name, asm| {
                xlsx_stream(&mut book, name, asm)
            })
        }
        Kind::Xls => {
            xls_precheck(bytes, lim)?;
            let mut book = guarded(|| {
                <calamine::Xls<_> as Reader<_>>::new(Cursor::new(bytes)).map_err(not_a_workbook)
            })?;
            let names = book.sheet_names();
            each_sheet(&names, only, sink, keep_all, lim, |name, asm| {
                let range = book
                    .worksheet_range(name)
                    .map_err(|e| sheet_unreadable(name, e))?;
                range_stream(&range, asm)
            })
        }
        Kind::Ods => {
            ods_precheck(bytes, lim)?;
            let mut book = guarded(|| {
                <calamine::Ods<_> as Reader<_>>::new(Cursor::new(bytes)).map_err(not_a_workbook)
            })?;
            let names = book.sheet_names();
            each_sheet(&names, only, sink, keep_all, lim, |name, asm| {
                let range = book
                    .worksheet_range(name)
                    .map_err(|e| sheet_unreadable(name, e))?;
                range_stream(&range, asm)
            })
        }
    }
}

fn each_sheet(
    names: &[String],
    only: Option<usize>,
    sink: &mut dyn Sink,
    keep_all: bool,
    lim: &Limits,
    mut stream: impl FnMut(&str, &mut Asm) -> Result<(), SheetError>,
) -> Result<Found, SheetError> {
    let mut first_err = None;
    for (i, name) in names.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let mut asm = Asm::new(&mut *sink, keep_all, lim);
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
    Err(first_err.unwrap_or(SheetError::NoHeader))
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

// ------------------------------------------------------------------------------------------
// Cells to rows: the header search and the caps, whatever the format

/// A cell value as a reader met it; turned into text only if the cell is kept.
#[derive(Clone, Copy)]
enum Val<'a> {
    Empty,
    /// Text, and whether the reader already cut it short.
    Str(&'a str, bool),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(f64),
    Error(&'a calamine::CellErrorType),
    /// A value the reader skipped without keeping: only whether it had content.
    Unkept(bool),
}

impl Val<'_> {
    fn has_content(&self) -> bool {
        match self {
            Val::Empty => false,
            Val::Str(s, cut) => *cut || !s.trim().is_empty(),
            Val::Unkept(c) => *c,
            _ => true,
        }
    }

    fn to_cell(self) -> Cell {
        let (text, numeric, too_long) = match self {
            Val::Empty | Val::Unkept(_) => (String::new(), false, false),
            Val::Str(s, cut) => {
                let (t, longer) = clip(s, MAX_CELL_CHARS);
                (t, false, cut || longer)
            }
            Val::Int(n) => (n.to_string(), true, false),
            Val::Float(f) => (format_float(f), true, false),
            Val::Bool(b) => (if b { "是" } else { "否" }.to_string(), false, false),
            Val::Date(serial) => (excel_serial_to_date(serial), false, false),
            Val::Error(e) => (format!("#{e:?}"), false, false),
        };
        Cell {
            text,
            numeric,
            too_long,
        }
    }
}

fn val_ref<'a>(d: &'a calamine::DataRef<'_>) -> Val<'a> {
    use calamine::DataRef as D;
    match d {
        D::Empty => Val::Empty,
        D::String(s) | D::DateTimeIso(s) | D::DurationIso(s) => Val::Str(s, false),
        D::SharedString(s) => Val::Str(s, false),
        D::Int(n) => Val::Int(*n),
        D::Float(f) => Val::Float(*f),
        D::Bool(b) => Val::Bool(*b),
        D::DateTime(dt) => Val::Date(dt.as_f64()),
        D::Error(e) => Val::Error(e),
    }
}

fn val_data(d: &calamine::Data) -> Val<'_> {
    use calamine::Data as D;
    match d {
        D::Empty => Val::Empty,
        D::String(s) | D::DateTimeIso(s) | D::DurationIso(s) => Val::Str(s, false),
        D::Int(n) => Val::Int(*n),
        D::Float(f) => Val::Float(*f),
        D::Bool(b) => Val::Bool(*b),
        D::DateTime(dt) => Val::Date(dt.as_f64()),
        D::Error(e) => Val::Error(e),
    }
}

/// The first `max` characters of `s`, and whether there were more.
fn clip(s: &str, max: usize) -> (String, bool) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (s[..i].to_string(), true),
        None => (s.to_string(), false),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    /// No header in the first rows: stop reading this sheet.
    Stop,
}

/// Where assembled rows go.
trait Sink {
    /// The header was found: the rows up to and including it, every column kept.
    fn header(&mut self, header: &Header, rows: Vec<Row>) -> Result<(), SheetError>;
    /// A data row with content (only the wanted columns hold text).
    fn row(&mut self, row: Row) -> Result<(), SheetError>;
}

/// What `read` returns: every row it is given, within a memory budget.
struct Collect {
    rows: Vec<Row>,
    kept: usize,
    limit: usize,
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

impl Sink for Collect {
    fn header(&mut self, _: &Header, rows: Vec<Row>) -> Result<(), SheetError> {
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
struct Discard;

impl Sink for Discard {
    fn header(&mut self, _: &Header, _: Vec<Row>) -> Result<(), SheetError> {
        Ok(())
    }

    fn row(&mut self, _: Row) -> Result<(), SheetError> {
        Ok(())
    }
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

impl Sink for Annotator<'_> {
    fn header(&mut self, header: &Header, rows: Vec<Row>) -> Result<(), SheetError> {
        for r in &rows {
            self.write(r, r.number == header.row)?;
        }
        Ok(())
    }

    fn row(&mut self, row: Row) -> Result<(), SheetError> {
        self.write(&row, false)
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
struct Asm<'s> {
    sink: &'s mut dyn Sink,
    keep_all: bool,
    max_rows: usize,
    first_key: Option<u64>,
    cur: Option<Building>,
    pending: Vec<Row>,
    header: Option<Header>,
    mapped: [bool; MAX_COLUMNS],
    data_rows: usize,
    beyond: bool,
    cut: usize,
    max_col: usize,
    gave_up: bool,
    /// An error of the rows themselves (not of the file's reader): ends the read.
    fatal: bool,
}

impl<'s> Asm<'s> {
    fn new(sink: &'s mut dyn Sink, keep_all: bool, lim: &Limits) -> Self {
        Asm {
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
    fn wants(&self, col: usize) -> bool {
        col < MAX_COLUMNS && (self.header.is_none() || self.keep_all || self.mapped[col])
    }

    /// Starts row `key` (increasing within a sheet), shown as row `number`.
    fn row_start(&mut self, key: u64, number: usize) -> Result<Flow, SheetError> {
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

    fn cell(
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
        match header_in(&row)? {
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
    fn finish(mut self) -> Result<Option<(Header, usize)>, SheetError> {
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

/// The header this row is, if it names both the name and the ID-number columns.
fn header_in(row: &Row) -> Result<Option<Header>, SheetError> {
    let named: Vec<(usize, Option<(Field, bool)>)> = row
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| (i, classify_header(&c.text)))
        .collect();
    // "证件号码" next to an ID-number column is the certificate number.
    let other_id = named
        .iter()
        .any(|(_, f)| matches!(f, Some((Field::IdNumber, false))));
    let mut columns: Vec<(usize, Field)> = Vec::new();
    let mut ignored: Vec<String> = Vec::new();
    for (i, f) in named {
        match f {
            Some((f, ambiguous)) => {
                let f = if ambiguous && other_id {
                    Field::CertNumber
                } else {
                    f
                };
                if let Some((j, _)) = columns.iter().find(|(_, g)| *g == f)
                    && (columns.iter().any(|(_, g)| *g == Field::Name) || f == Field::Name)
                {
                    return Err(SheetError::DuplicateColumn(
                        f.label(),
                        column_letter(*j),
                        column_letter(i),
                    ));
                }
                columns.push((i, f));
            }
            None => {
                let t = row.cells[i].text.trim();
                if !t.is_empty()
                    && !matches!(unit_name_key(t).as_str(), "序号" | "编号" | "备注" | "序")
                    && !ignored.iter().any(|x| x == t)
                {
                    ignored.push(t.to_string());
                }
            }
        }
    }
    let has = |f: Field| columns.iter().any(|(_, g)| *g == f);
    if has(Field::Name) && has(Field::IdNumber) {
        return Ok(Some(Header {
            row: row.number,
            columns,
            ignored,
            notes: Vec::new(),
        }));
    }
    Ok(None)
}

/// XLS and ODS sheets, as calamine's ranges (after the structure was checked).
fn range_stream(range: &calamine::Range<calamine::Data>, asm: &mut Asm) -> Result<(), SheetError> {
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

// ------------------------------------------------------------------------------------------
// CSV: decoded and split as a stream

#[derive(Clone, Copy)]
enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Gb18030,
}

/// The encoding, and the bytes after any byte-order mark.
fn sniff_encoding(bytes: &[u8]) -> (TextEncoding, &[u8]) {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return (TextEncoding::Utf8, rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return (TextEncoding::Utf16Le, rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return (TextEncoding::Utf16Be, rest);
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => (TextEncoding::Utf8, bytes),
        // Excel on a Chinese Windows saves CSV in GBK; GB18030 is its superset.
        Err(_) => (TextEncoding::Gb18030, bytes),
    }
}

/// UTF-8 text of the input, a buffer at a time. Invalid UTF-8 input is read lossily.
struct Decoded<'a> {
    input: &'a [u8],
    decoder: Option<encoding_rs::Decoder>,
    done: bool,
}

impl<'a> Decoded<'a> {
    fn new(enc: TextEncoding, input: &'a [u8]) -> Self {
        let decoder = match enc {
            TextEncoding::Utf8 if std::str::from_utf8(input).is_ok() => None,
            TextEncoding::Utf8 => Some(encoding_rs::UTF_8.new_decoder_without_bom_handling()),
            TextEncoding::Utf16Le => Some(encoding_rs::UTF_16LE.new_decoder_without_bom_handling()),
            TextEncoding::Utf16Be => Some(encoding_rs::UTF_16BE.new_decoder_without_bom_handling()),
            TextEncoding::Gb18030 => Some(encoding_rs::GB18030.new_decoder_without_bom_handling()),
        };
        Decoded {
            input,
            decoder,
            done: false,
        }
    }
}

impl Read for Decoded<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let Some(d) = self.decoder.as_mut() else {
            let n = out.len().min(self.input.len());
            out[..n].copy_from_slice(&self.input[..n]);
            self.input = &self.input[n..];
            return Ok(n);
        };
        if self.done || out.len() < 4 {
            return Ok(0);
        }
        let (res, read, written, _) = d.decode_to_utf8(self.input, out, true);
        self.input = &self.input[read..];
        if matches!(res, encoding_rs::CoderResult::InputEmpty) {
            self.done = true;
        }
        Ok(written)
    }
}

/// The delimiter the first lines use most: comma, tab or semicolon.
fn sniff_delimiter(text: &str) -> u8 {
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|d| {
            first_line.matches(*d as char).count()
                + text
                    .lines()
                    .take(40)
                    .map(|l| l.matches(*d as char).count())
                    .sum::<usize>()
        })
        .unwrap_or(b',')
}

/// Streams the CSV into `asm`; false if it has no record at all.
fn csv_stream(bytes: &[u8], asm: &mut Asm) -> Result<bool, SheetError> {
    let (enc, body) = sniff_encoding(bytes);
    let mut buf = vec![0u8; 64 * 1024];
    // The delimiter is guessed from the first 64 KB of text.
    let mut prefix = Decoded::new(enc, &body[..body.len().min(64 * 1024)]);
    let mut n = 0;
    while n < buf.len() {
        match prefix.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let delimiter = sniff_delimiter(&String::from_utf8_lossy(&buf[..n]));
    let mut parser = CsvParser::new(delimiter);
    let mut src = Decoded::new(enc, body);
    loop {
        let n = src
            .read(&mut buf)
            .map_err(|e| SheetError::Unreadable(format!("CSV 格式有误：{}", brief(e))))?;
        if n == 0 || parser.stop {
            break;
        }
        parser.feed(&buf[..n], asm)?;
    }
    parser.finish(asm)?;
    Ok(parser.records > 0)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CsvState {
    /// At the start of a field.
    Start,
    Plain,
    Quoted,
    /// A quote inside a quoted field: the end of the quotes, or the first of two.
    QuoteSeen,
}

/// RFC 4180 as the csv crate reads it (flexible records, "" inside quotes, CR, LF or CRLF,
/// blank lines skipped), one field at a time: a field's text is kept only if the sheet wants
/// its column, and then only its first [`MAX_CELL_CHARS`] characters.
struct CsvParser {
    delim: u8,
    state: CsvState,
    in_record: bool,
    line: usize,
    record_line: usize,
    records: u64,
    col: usize,
    want: bool,
    field: Vec<u8>,
    chars: usize,
    cut: bool,
    nonblank: bool,
    stop: bool,
}

impl CsvParser {
    fn new(delim: u8) -> Self {
        CsvParser {
            delim,
            state: CsvState::Start,
            in_record: false,
            line: 1,
            record_line: 1,
            records: 0,
            col: 0,
            want: false,
            field: Vec::new(),
            chars: 0,
            cut: false,
            nonblank: false,
            stop: false,
        }
    }

    fn feed(&mut self, chunk: &[u8], asm: &mut Asm) -> Result<(), SheetError> {
        for &b in chunk {
            if self.stop {
                return Ok(());
            }
            if !self.in_record {
                match b {
                    b'\n' => {
                        self.line += 1;
                        continue;
                    }
                    b'\r' => continue,
                    _ => {}
                }
                self.in_record = true;
                self.record_line = self.line;
                self.col = 0;
                if asm.row_start(self.records, self.record_line)? == Flow::Stop {
                    self.stop = true;
                    return Ok(());
                }
                self.begin_field(asm);
            }
            match self.state {
                CsvState::Start if b == b'"' => self.state = CsvState::Quoted,
                CsvState::Start | CsvState::Plain if b == self.delim => self.end_field(asm)?,
                CsvState::Start | CsvState::Plain if b == b'\r' || b == b'\n' => {
                    self.end_record(asm, b)?
                }
                CsvState::Start | CsvState::Plain => {
                    self.push(b);
                    self.state = CsvState::Plain;
                }
                CsvState::Quoted if b == b'"' => self.state = CsvState::QuoteSeen,
                CsvState::Quoted => {
                    if b == b'\n' {
                        self.line += 1;
                    }
                    self.push(b);
                }
                CsvState::QuoteSeen if b == b'"' => {
                    self.push(b);
                    self.state = CsvState::Quoted;
                }
                CsvState::QuoteSeen if b == self.delim => self.end_field(asm)?,
                CsvState::QuoteSeen if b == b'\r' || b == b'\n' => self.end_record(asm, b)?,
                CsvState::QuoteSeen => {
                    self.push(b);
                    self.state = CsvState::Plain;
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, asm: &mut Asm) -> Result<(), SheetError> {
        if self.in_record && !self.stop {
            self.end_record(asm, 0)?;
        }
        Ok(())
    }

    fn begin_field(&mut self, asm: &Asm) {
        self.want = asm.wants(self.col);
        self.field.clear();
        self.chars = 0;
        self.cut = false;
        self.nonblank = false;
        self.state = CsvState::Start;
    }

    fn push(&mut self, b: u8) {
        if !b.is_ascii_whitespace() {
            self.nonblank = true;
        }
        if !self.want || self.cut {
            return;
        }
        // the text is valid UTF-8: count characters at their first byte, cut before one
        if b & 0xC0 != 0x80 {
            if self.chars == MAX_CELL_CHARS {
                self.cut = true;
                return;
            }
            self.chars += 1;
        }
        self.field.push(b);
    }

    fn end_field(&mut self, asm: &mut Asm) -> Result<(), SheetError> {
        let v = if self.want {
            Val::Str(std::str::from_utf8(&self.field).unwrap_or(""), self.cut)
        } else {
            Val::Unkept(self.nonblank)
        };
        if asm.cell(self.records, self.record_line, self.col, v)? == Flow::Stop {
            self.stop = true;
        }
        self.col += 1;
        self.begin_field(asm);
        Ok(())
    }

    fn end_record(&mut self, asm: &mut Asm, b: u8) -> Result<(), SheetError> {
        self.end_field(asm)?;
        self.in_record = false;
        self.records += 1;
        if b == b'\n' {
            self.line += 1;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// XLSX: the parts calamine loads whole are checked first; worksheets are streamed

type Zip<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

fn open_zip(bytes: &[u8]) -> Result<Zip<'_>, SheetError> {
    zip::ZipArchive::new(Cursor::new(bytes)).map_err(not_a_workbook)
}

fn check_unpacked_size(zip: &mut Zip, limit: u64) -> Result<(), SheetError> {
    // declared sizes (central directory): nothing is decompressed to learn them
    let mut total = 0u64;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| SheetError::Unreadable(format!("Excel 文件已损坏（{}）", brief(e))))?;
        total = total.saturating_add(entry.size());
    }
    if total > limit {
        return Err(SheetError::Unreadable(format!(
            "文件解压后有 {} MB，远超人员名册应有的大小（上限 {} MB），已拒绝",
            total / MIB,
            limit / MIB
        )));
    }
    Ok(())
}

/// calamine's view of entry names: lower case, forward slashes → the name in the archive.
fn zip_index(zip: &Zip) -> HashMap<String, String> {
    zip.file_names()
        .filter_map(|n| n.ok())
        .map(|n| (n.replace('\\', "/").to_ascii_lowercase(), n.to_string()))
        .collect()
}

/// The archive's name for a part, found the way calamine finds it.
fn part_name(index: &HashMap<String, String>, path: &str) -> String {
    index
        .get(&path.to_ascii_lowercase())
        .cloned()
        .unwrap_or_else(|| path.to_string())
}

/// The declared unpacked size of an entry, if it is there.
fn entry_size(zip: &mut Zip, name: &str) -> Option<u64> {
    zip.by_name(name).ok().map(|f| f.size())
}

fn is_ods(zip: &mut Zip) -> bool {
    let Ok(mut f) = zip.by_name("mimetype") else {
        return false;
    };
    let mut buf = [0u8; 46];
    f.read_exact(&mut buf).is_ok() && &buf[..] == b"application/vnd.oasis.opendocument.spreadsheet"
}

fn oversized(part: &str, size: u64, cap: u64) -> SheetError {
    SheetError::Malformed(format!(
        "其中“{}”部分解压后有 {:.1} MB，超过该部分 {} MB 的上限",
        clip(part, 64).0,
        size as f64 / MIB as f64,
        cap / MIB
    ))
}

/// Looks through an entry with the XML scanner.
fn scan_entry(
    zip: &mut Zip,
    name: &str,
    max_token: u64,
    attrs: &[&[u8]],
    on: impl FnMut(XmlEvent<'_>) -> Result<(), SheetError>,
) -> Result<(), SheetError> {
    let f = zip.by_name(name).map_err(not_a_workbook)?;
    scan_xml(f, name, max_token, attrs, on)
}

fn xlsx_precheck(bytes: &[u8], lim: &Limits) -> Result<(), SheetError> {
    let mut zip = open_zip(bytes)?;
    let index = zip_index(&zip);

    // An XML parser holds a whole tag or text run at a time: in a part too large to be sure
    // none is huge, look.
    for i in 0..zip.len() {
        let (name, size) = match zip.by_index_raw(i) {
            Ok(f) => (
                f.name().map(|n| n.to_string()).unwrap_or_default(),
                f.size(),
            ),
            Err(_) => continue,
        };
        if size > lim.xml_token
            && let Ok(f) = zip.by_index(i)
        {
            scan_xml(f, &name, lim.xml_token, &[], |_| Ok(()))?;
        }
    }

    // Where the workbook is: calamine follows _rels/.rels the same way.
    let mut xl = "xl/".to_string();
    let mut wb = "workbook.xml".to_string();
    let rels = part_name(&index, "_rels/.rels");
    if let Some(size) = entry_size(&mut zip, &rels) {
        if size > MIB {
            return Err(oversized(&rels, size, 1));
        }
        let mut target = None;
        scan_entry(
            &mut zip,
            &rels,
            lim.xml_token,
            &[b"Type", b"Target"],
            |ev| {
                if let XmlEvent::Open { name, attrs, .. } = ev
                    && local_name(name) == b"Relationship"
                {
                    if attrs.iter().any(|a| a.truncated()) {
                        return Err(SheetError::Malformed("关系文件中的路径过长".into()));
                    }
                    if attrs[0].value.ends_with(b"/relationships/officeDocument") && attrs[1].found
                    {
                        target = Some(xml_unescape(&attrs[1].value));
                    }
                }
                Ok(())
            },
        )?;
        if let Some(t) = target {
            let (dir, file) = match t.rfind('/') {
                Some(i) => t.split_at(i + 1),
                None => ("", t.as_str()),
            };
            xl = dir.strip_prefix('/').unwrap_or(dir).to_string();
            if !file.is_empty() {
                wb = file.to_string();
            }
        }
    }

    // Parts calamine keeps (relationships, sheet list, defined names): plain size caps.
    for (path, cap) in [
        (format!("{xl}_rels/{wb}.rels"), 8 * MIB),
        (format!("{xl}{wb}"), 32 * MIB),
    ] {
        let name = part_name(&index, &path);
        if let Some(size) = entry_size(&mut zip, &name)
            && size > cap
        {
            return Err(oversized(&name, size, cap / MIB));
        }
    }

    check_shared_strings(
        &mut zip,
        &part_name(&index, &format!("{xl}sharedStrings.xml")),
        lim,
    )?;
    check_styles(
        &mut zip,
        &part_name(&index, &format!("{xl}styles.xml")),
        lim,
    )
}

/// calamine reserves a slot for each string sharedStrings.xml declares (`uniqueCount`) and
/// keeps every string: refuse a declaration the part cannot hold and a table no roster needs.
fn check_shared_strings(zip: &mut Zip, name: &str, lim: &Limits) -> Result<(), SheetError> {
    let Some(size) = entry_size(zip, name) else {
        return Ok(());
    };
    if size > lim.shared_strings {
        return Err(SheetError::TooLarge(format!(
            "共享字符串表（sharedStrings.xml）解压后有 {} MB，超过 {} MB 的上限",
            size / MIB,
            lim.shared_strings / MIB
        )));
    }
    // the smallest string entry is "<si/>"
    let could_hold = size / 5;
    let mut strings = 0u64;
    scan_entry(
        zip,
        name,
        lim.xml_token,
        // calamine reads `uniqueCount` only, never `count`
        &[b"uniqueCount"],
        |ev| {
            let XmlEvent::Open { name, attrs, .. } = ev else {
                return Ok(());
            };
            match local_name(name) {
                b"sst" => {
                    if let Some(n) = attrs[0].max_num
                        && n > could_hold
                    {
                        return Err(SheetError::Malformed(format!(
                            "共享字符串表声明有 {n} 条字符串，而这部分解压后只有 {size} 字节，不可能容纳这么多"
                        )));
                    }
                    if let Some(n) = attrs[0].max_num
                        && n > MAX_SHARED_STRINGS
                    {
                        return Err(SheetError::TooLarge(format!(
                            "共享字符串表有 {n} 条字符串，超过 {MAX_SHARED_STRINGS} 条的上限"
                        )));
                    }
                }
                b"si" => {
                    strings += 1;
                    if strings > MAX_SHARED_STRINGS {
                        return Err(SheetError::TooLarge(format!(
                            "共享字符串表超过 {MAX_SHARED_STRINGS} 条字符串的上限"
                        )));
                    }
                }
                _ => {}
            }
            Ok(())
        },
    )
}

/// calamine builds a style (with copies of its font name and number format) for every `xf`.
fn check_styles(zip: &mut Zip, name: &str, lim: &Limits) -> Result<(), SheetError> {
    const CAP: u64 = 32 * MIB;
    let Some(size) = entry_size(zip, name) else {
        return Ok(());
    };
    if size > CAP {
        return Err(oversized(name, size, CAP / MIB));
    }
    let (mut xfs, mut other, mut longest_format, mut longest_val) = (0u64, 0u64, 0u64, 0u64);
    scan_entry(zip, name, lim.xml_token, &[b"formatCode", b"val"], |ev| {
        if let XmlEvent::Open { name, attrs, .. } = ev {
            match local_name(name) {
                b"xf" => xfs += 1,
                b"font" | b"fill" | b"border" | b"numFmt" => other += 1,
                _ => {}
            }
            longest_format = longest_format.max(attrs[0].max_len);
            longest_val = longest_val.max(attrs[1].max_len);
        }
        Ok(())
    })?;
    let estimate = xfs
        .saturating_mul(320 + longest_format + longest_val)
        .saturating_add(other.saturating_mul(192 + longest_format.max(longest_val)));
    if estimate > 64 * MIB {
        return Err(SheetError::Malformed(format!(
            "样式表（styles.xml）中有 {xfs} 个单元格格式，读取约需 {} MB 内存",
            estimate / MIB
        )));
    }
    Ok(())
}

fn xlsx_stream(
    book: &mut calamine::Xlsx<Cursor<&[u8]>>,
    name: &str,
    asm: &mut Asm,
) -> Result<(), SheetError> {
    let mut cells = book
        .worksheet_cells_reader(name)
        .map_err(|e| sheet_unreadable(name, e))?;
    while let Some(c) = cells.next_cell().map_err(|e| sheet_unreadable(name, e))? {
        let (r, col) = c.get_position();
        let row = r as u64;
        if asm.cell(row, r as usize + 1, col as usize, val_ref(c.get_value()))? == Flow::Stop {
            break;
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// XLS: the compound file and its BIFF records are walked the way calamine will walk them, and
// what calamine would allocate is estimated before it runs

fn xls_bad(what: &str) -> SheetError {
    SheetError::Malformed(format!("Excel 97-2003（.xls）文件结构异常（{what}）"))
}

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .unwrap_or(0)
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
        .unwrap_or(0)
}

const ENDOFCHAIN: u32 = 0xFFFF_FFFE;

/// The Workbook (or Book) stream of a compound file, found the way calamine finds it, with
/// every sector chain calamine will follow checked for loops, repeats and bounds.
fn cfb_workbook(b: &[u8]) -> Result<Vec<u8>, SheetError> {
    if b.len() < 512 || !b.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Err(SheetError::Unreadable(
            "不是有效的 Excel 文件（文件头不完整）".into(),
        ));
    }
    let version = le16(b, 26);
    let size: usize = match le16(b, 30) {
        9 => 512,
        12 => 4096,
        _ => return Err(xls_bad("扇区大小")),
    };
    if le16(b, 32) != 6 || b.len() < size {
        return Err(xls_bad("文件头"));
    }
    let dir_start = le32(b, 48);
    let mini_fat_start = le32(b, 60);
    let mini_fat_len = le32(b, 64) as usize;
    let difat_start = le32(b, 68);
    // calamine's bound on sector ids; sector `id` starts after the header sector
    let maxid = b.len() / size;
    let sector = |id: u32| -> Result<&[u8], SheetError> {
        let start = (id as usize)
            .checked_add(1)
            .and_then(|n| n.checked_mul(size))
            .filter(|s| id as usize <= maxid && *s < b.len())
            .ok_or_else(|| xls_bad("扇区编号超出文件范围"))?;
        Ok(&b[start..(start + size).min(b.len())])
    };
    let words = |s: &[u8]| -> Vec<u32> { s.chunks_exact(4).map(|c| le32(c, 0)).collect() };

    let mut difat: Vec<u32> = (0..109).map(|i| le32(b, 76 + 4 * i)).collect();
    let mut id = difat_start;
    let mut n = 0;
    while id < 0xFFFF_FFFA {
        n += 1;
        if n > maxid + 1 {
            return Err(xls_bad("DIFAT 链过长"));
        }
        difat.extend(words(sector(id)?));
        id = difat.pop().ok_or_else(|| xls_bad("DIFAT"))?;
    }
    let fat_ids: Vec<u32> = difat.into_iter().filter(|id| *id < 0xFFFF_FFFC).collect();
    // calamine copies a sector for every entry: repeats could make that far bigger than the file
    if fat_ids.len().saturating_mul(size) > b.len() {
        return Err(xls_bad("FAT 表重复引用扇区"));
    }
    let mut fat = Vec::new();
    for id in fat_ids {
        fat.extend(words(sector(id)?));
    }

    let dirs = cfb_chain(dir_start, &fat, u64::MAX, &sector, maxid)?;
    struct Dir {
        name: String,
        start: u32,
        len: u64,
    }
    let dirs: Vec<Dir> = dirs
        .chunks_exact(128)
        .map(|c| {
            let mut name = encoding_rs::UTF_16LE.decode(&c[..64]).0.into_owned();
            if let Some(l) = name.find('\0') {
                name.truncate(l);
            }
            Dir {
                name,
                start: le32(c, 116),
                len: if size == 512 {
                    le32(c, 120) as u64
                } else {
                    le64(c, 120)
                },
            }
        })
        .collect();
    if dirs.is_empty() || (version != 3 && dirs[0].start == ENDOFCHAIN) {
        return Err(xls_bad("目录为空"));
    }
    if dirs
        .iter()
        .any(|d| d.name.eq_ignore_ascii_case("EncryptedPackage"))
    {
        return Err(SheetError::Unreadable(
            "文件设置了打开密码。请在 Excel 或 WPS 中取消密码、另存后再上传".into(),
        ));
    }
    let (mini_fat, mini_stream) = if mini_fat_len > 0 {
        let stream = cfb_chain(dirs[0].start, &fat, dirs[0].len, &sector, maxid)?;
        let table = cfb_chain(
            mini_fat_start,
            &fat,
            (mini_fat_len as u64).saturating_mul(size as u64),
            &sector,
            maxid,
        )?;
        (words(&table), stream)
    } else {
        (Vec::new(), Vec::new())
    };
    let d = dirs
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case("Workbook"))
        .or_else(|| dirs.iter().find(|d| d.name.eq_ignore_ascii_case("Book")))
        .ok_or_else(|| {
            SheetError::Unreadable("不是有效的 Excel 文件（找不到工作簿数据）".into())
        })?;
    if d.len < 4096 {
        let mini = |id: u32| -> Result<&[u8], SheetError> {
            let start = (id as usize).saturating_mul(64);
            if id as usize > maxid * 8 || start >= mini_stream.len() {
                return Err(xls_bad("小扇区编号超出范围"));
            }
            Ok(&mini_stream[start..(start + 64).min(mini_stream.len())])
        };
        cfb_chain(d.start, &mini_fat, d.len, &mini, maxid * 8)
    } else {
        cfb_chain(d.start, &fat, d.len, &sector, maxid)
    }
}

/// A sector chain as calamine reads it (up to `len` bytes or the end-of-chain mark), refusing
/// loops and ids outside the table.
fn cfb_chain<'a>(
    start: u32,
    next: &[u32],
    len: u64,
    get: &dyn Fn(u32) -> Result<&'a [u8], SheetError>,
    ids: usize,
) -> Result<Vec<u8>, SheetError> {
    let mut out: Vec<u8> = Vec::new();
    let mut seen = vec![false; ids + 1];
    let mut id = start;
    while id != ENDOFCHAIN {
        let s = get(id)?;
        let visited = seen
            .get_mut(id as usize)
            .ok_or_else(|| xls_bad("扇区编号超出文件范围"))?;
        if *visited {
            return Err(xls_bad("扇区链成环"));
        }
        *visited = true;
        let take = (s.len() as u64).min(len - out.len() as u64) as usize;
        out.extend_from_slice(&s[..take]);
        if out.len() as u64 >= len {
            break;
        }
        id = *next
            .get(id as usize)
            .ok_or_else(|| xls_bad("扇区编号超出 FAT 表"))?;
    }
    Ok(out)
}

/// A BIFF record and the CONTINUE records after it, as calamine's record iterator gives them.
struct Biff<'a> {
    typ: u16,
    data: &'a [u8],
    cont: Vec<&'a [u8]>,
    /// Bytes taken from the stream, headers included.
    span: usize,
}

/// calamine's record iterator: stops (like calamine, with an error) at a record cut short.
fn biff_records(mut s: &[u8]) -> impl Iterator<Item = Biff<'_>> {
    std::iter::from_fn(move || {
        if s.len() < 4 {
            return None;
        }
        let typ = le16(s, 0);
        let len = le16(s, 2) as usize;
        if s.len() < len + 4 {
            return None;
        }
        let data = &s[4..4 + len];
        let mut span = len + 4;
        s = &s[len + 4..];
        let mut cont = Vec::new();
        while s.len() > 4 && le16(s, 0) == 0x003C {
            let l = le16(s, 2) as usize;
            if s.len() < l + 4 {
                return None;
            }
            cont.push(&s[4..4 + l]);
            span += l + 4;
            s = &s[l + 4..];
        }
        Some(Biff {
            typ,
            data,
            cont,
            span,
        })
    })
}

/// Upper bounds (bytes of UTF-8) of the shared strings calamine will decode, in order.
fn sst_lengths(r: &Biff, unicode: bool) -> Vec<u64> {
    let mut out = Vec::new();
    let Some(mut data) = r.data.get(8..) else {
        return out;
    };
    let mut cont = r.cont.iter();
    loop {
        if data.is_empty() {
            match cont.next() {
                Some(c) => data = c,
                None => return out,
            }
        }
        if data.is_empty() {
            out.push(0);
            continue;
        }
        if data.len() < 3 {
            return out;
        }
        let cch = le16(data, 0) as usize;
        let flags = data[2];
        data = &data[3..];
        let mut runs = 0;
        let mut ext = 0;
        if flags & 0x8 != 0 {
            if data.len() < 2 {
                return out;
            }
            runs = le16(data, 0) as usize;
            data = &data[2..];
        }
        if flags & 0x4 != 0 {
            if data.len() < 4 {
                return out;
            }
            ext = le32(data, 0) as i32 as usize;
            data = &data[4..];
        }
        let mut left = cch;
        let mut wide = flags & 0x1 != 0;
        loop {
            let width = if unicode && wide { 2 } else { 1 };
            let chars = left.min(data.len() / width);
            data = &data[chars * width..];
            left -= chars;
            if left == 0 {
                break;
            }
            match cont.next() {
                Some(c) if !c.is_empty() => {
                    wide = c[0] & 0x1 != 0;
                    data = &c[1..];
                }
                _ => return out,
            }
        }
        if !sst_skip(&mut data, &mut cont, runs.saturating_mul(4))
            || !sst_skip(&mut data, &mut cont, ext)
        {
            return out;
        }
        out.push(cch as u64 * 3);
    }
}

/// Skips `n` bytes of a record and its CONTINUE records; false if they run out.
fn sst_skip<'a>(
    data: &mut &'a [u8],
    cont: &mut std::slice::Iter<'_, &'a [u8]>,
    mut n: usize,
) -> bool {
    while n > 0 {
        if data.is_empty() {
            match cont.next() {
                Some(c) => *data = c,
                None => return false,
            }
        }
        let l = n.min(data.len());
        *data = &data[l..];
        n -= l;
    }
    true
}

/// A sheet's cells as calamine collects them.
#[derive(Default)]
struct SheetEstimate {
    cells: u64,
    reserved: u64,
    rows: Option<(u32, u32)>,
    cols: Option<(u32, u32)>,
    text: u64,
    formulas: u64,
    formula_rows: Option<(u32, u32)>,
    formula_cols: Option<(u32, u32)>,
    formula_text: u64,
    other: u64,
}

fn widen(span: &mut Option<(u32, u32)>, v: u32) {
    *span = Some(match *span {
        None => (v, v),
        Some((a, b)) => (a.min(v), b.max(v)),
    });
}

fn extent(span: Option<(u32, u32)>) -> u64 {
    span.map(|(a, b)| (b - a) as u64 + 1).unwrap_or(0)
}

impl SheetEstimate {
    fn cell(&mut self, row: u32, col: u32) {
        self.cells += 1;
        widen(&mut self.rows, row);
        widen(&mut self.cols, col);
    }

    /// What calamine keeps for the sheet (its dense ranges), and what it needs while building it.
    fn bytes(&self) -> (u64, u64) {
        let dense = extent(self.rows).saturating_mul(extent(self.cols));
        let formula_dense = extent(self.formula_rows).saturating_mul(extent(self.formula_cols));
        let kept = dense
            .saturating_mul(32)
            .saturating_add(self.text)
            .saturating_add(formula_dense.saturating_mul(24))
            .saturating_add(self.formula_text)
            .saturating_add(self.other);
        let building = self
            .reserved
            .max(self.cells.saturating_mul(2))
            .saturating_mul(40)
            .saturating_add(self.formulas.saturating_mul(2 * 32));
        (kept, building)
    }
}

fn xls_precheck(bytes: &[u8], lim: &Limits) -> Result<(), SheetError> {
    let stream = cfb_workbook(bytes)?;
    xls_estimate(&stream, lim)
}

/// Estimates, record by record as calamine reads them, what opening this workbook allocates.
fn xls_estimate(s: &[u8], lim: &Limits) -> Result<(), SheetError> {
    let mut sheets: Vec<usize> = Vec::new();
    let mut sst: Vec<u64> = Vec::new();
    let mut longest_name = 0u64;
    let mut longest_sheet_name = 5u64;
    let mut unicode = true;
    for r in biff_records(s) {
        match r.typ {
            0x002F if le16(r.data, 0) != 0 => {
                return Err(SheetError::Unreadable(
                    "文件设置了打开密码。请在 Excel 或 WPS 中取消密码、另存后再上传".into(),
                ));
            }
            0x0042 if r.data.len() >= 2 => unicode = le16(r.data, 0) == 1200,
            0x0085 => {
                sheets.push(le32(r.data, 0) as usize);
                longest_sheet_name = longest_sheet_name.max(*r.data.get(6).unwrap_or(&0) as u64);
            }
            0x0018 => longest_name = longest_name.max(*r.data.get(3).unwrap_or(&0) as u64),
            0x00FC => sst = sst_lengths(&r, unicode),
            0x000A => break,
            _ => {}
        }
    }
    if sheets.len() > 1024 {
        return Err(xls_bad("工作表数量异常"));
    }
    let strings: u64 = sst.iter().map(|l| l + 24).sum();
    // What a formula token can grow into when calamine renders it as text.
    let name_text = longest_name * 3 + 8;
    let sheet_text = longest_sheet_name * 3 + 32;

    let too_big = |estimate: u64| {
        SheetError::TooLarge(format!(
            "这个 Excel 97-2003（.xls）文件读取时约需 {} MB 内存，超过 {} MB 的上限（.xls 只能整表读入；另存为 .xlsx 后可以逐行读取）",
            estimate / MIB,
            lim.expanded / MIB
        ))
    };
    let (mut kept_all, mut building_max, mut kept_max) = (strings, 0u64, 0u64);
    let mut walked = 0usize;
    let mut work = 0u64;
    for pos in sheets {
        if pos > s.len() {
            return Err(xls_bad("工作表位置超出文件范围"));
        }
        let mut sh = SheetEstimate::default();
        let mut depth = 0usize;
        let mut seen_bof = false;
        let mut formula_at = (0u32, 0u32);
        for r in biff_records(&s[pos..]) {
            walked += r.span;
            if walked > 2 * s.len() + (1 << 20) {
                return Err(xls_bad("工作表数据相互重叠"));
            }
            let d = r.data;
            if depth > 0 {
                match r.typ {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            let at = (le16(d, 0) as u32, le16(d, 2) as u32);
            match r.typ {
                0x0809 => {
                    if seen_bof {
                        depth += 1;
                    } else {
                        seen_bof = true;
                    }
                }
                0x0200 => {
                    let (rf, rl, mut cf, cl) = match d.len() {
                        10 => (
                            le16(d, 0) as u32,
                            le16(d, 2) as u32,
                            le16(d, 4) as u32,
                            le16(d, 6) as u32,
                        ),
                        14 | 16 => (
                            le32(d, 0),
                            le32(d, 4),
                            le16(d, 8) as u32,
                            le16(d, 10) as u32,
                        ),
                        _ => break,
                    };
                    if cf > 0xFF || cl < cf {
                        cf = 0;
                    }
                    let (start, end) = if rl >= 1 && cl >= 1 {
                        ((rf, cf), (rl - 1, cl - 1))
                    } else {
                        ((rf, cf), (rf, cf))
                    };
                    if end.0 < start.0 || end.1 < start.1 {
                        return Err(xls_bad("工作表尺寸记录无效"));
                    }
                    let area = (end.0 - start.0 + 1) as u64 * (end.1 - start.1 + 1) as u64;
                    sh.reserved = sh.reserved.max(sh.cells.saturating_add(area));
                }
                0x0203 | 0x0205 | 0x027E => {
                    if d.len() < 4 {
                        break;
                    }
                    sh.cell(at.0, at.1);
                }
                0x0204 | 0x00D6 => {
                    if d.len() < 4 {
                        break;
                    }
                    sh.cell(at.0, at.1);
                    sh.text += (le16(d, 6) as u64).max(d.len() as u64 * 3);
                }
                0x0207 => {
                    sh.cell(formula_at.0, formula_at.1);
                    sh.text += (le16(d, 0) as u64).max(d.len() as u64 * 3);
                }
                0x00FD => {
                    if d.len() < 10 {
                        break;
                    }
                    if let Some(l) = sst.get(le32(d, 6) as usize) {
                        sh.cell(at.0, at.1);
                        sh.text += l;
                    }
                }
                0x00BD => {
                    if d.len() < 6 {
                        break;
                    }
                    let first = le16(d, 2) as u32;
                    let last = le16(d, d.len() - 2) as u32;
                    if last < first {
                        return Err(xls_bad("MulRk 记录无效"));
                    }
                    if d.len() != 6 + 6 * (last - first + 1) as usize {
                        break;
                    }
                    for c in first..=last {
                        sh.cell(at.0, c);
                    }
                }
                0x00E5 => sh.other += d.len() as u64 * 4,
                0x0006 => {
                    if d.len() < 20 {
                        break;
                    }
                    formula_at = at;
                    sh.cell(at.0, at.1);
                    sh.formulas += 1;
                    widen(&mut sh.formula_rows, at.0);
                    widen(&mut sh.formula_cols, at.1);
                    let rgce = &d[20..];
                    let cce = (le16(rgce, 0) as usize).min(rgce.len().saturating_sub(2));
                    let body = rgce.get(2..2 + cce).unwrap_or(&[]);
                    // every byte may be a token that renders as several characters; a few
                    // tokens can render as far more (names, sheet names, numbers, spaces)
                    let mut text = 128 + 8 * cce as u64;
                    let mut spaces = 0u64;
                    for (i, &t) in body.iter().enumerate() {
                        text += match t {
                            0x19 if matches!(body.get(i + 1), Some(0x40 | 0x41)) => {
                                spaces += 1;
                                255
                            }
                            0x1F => 330,
                            0x23 | 0x43 | 0x63 => name_text,
                            0x3A..=0x3D | 0x5A..=0x5D | 0x7A..=0x7D => sheet_text,
                            _ => 0,
                        };
                    }
                    sh.formula_text += text;
                    // each token may insert into or split the text built so far
                    work = work.saturating_add((cce as u64 + 255 * spaces).saturating_mul(text));
                }
                0x000A => break,
                _ => {}
            }
        }
        let (kept, building) = sh.bytes();
        kept_all = kept_all.saturating_add(kept);
        building_max = building_max.max(building);
        kept_max = kept_max.max(kept);
        let estimate = kept_all
            .saturating_add(building_max)
            .saturating_add(kept_max);
        if estimate > lim.expanded {
            return Err(too_big(estimate));
        }
    }
    if work > MAX_FORMULA_WORK {
        return Err(SheetError::TooLarge(
            "这个 Excel 97-2003（.xls）文件中的公式过多或过长".into(),
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// ODS: content.xml is walked first and what calamine's dense ranges would take is estimated

/// calamine's caps on an ODS sheet.
const ODS_MAX_ROWS: u64 = 1_048_576;
const ODS_MAX_COLUMNS: u64 = 16_384;
/// What calamine holds per cell of an ODS range: the value and the formula text slot.
const ODS_CELL_BYTES: u64 = 32 + 24;

fn ods_precheck(bytes: &[u8], lim: &Limits) -> Result<(), SheetError> {
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

// ------------------------------------------------------------------------------------------
// A streaming look through XML: tags, the attributes asked for, text lengths

/// An attribute asked for, over all the occurrences in one tag (matched by local name).
#[derive(Debug, Clone, Default)]
struct XmlAttr {
    found: bool,
    /// The first occurrence's value as written (entities not decoded), its first 4 KB.
    value: Vec<u8>,
    len: u64,
    max_len: u64,
    /// The largest value that reads as a whole number (saturating), if any.
    max_num: Option<u64>,
}

impl XmlAttr {
    const KEEP: usize = 4096;

    fn truncated(&self) -> bool {
        self.len > self.value.len() as u64
    }
}

/// Element names are kept up to this length (a start tag's name one byte longer, to tell).
const MAX_XML_NAME: usize = 128;

enum XmlEvent<'a> {
    /// A start (or empty, `empty`) tag ending at byte `at`, `len` bytes long.
    Open {
        name: &'a [u8],
        attrs: &'a [XmlAttr],
        empty: bool,
        at: u64,
        len: u64,
    },
    /// An end tag; `exact` unless something other than spaces followed its name.
    Close {
        name: &'a [u8],
        at: u64,
        exact: bool,
    },
}

fn local_name(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|b| *b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// A whole number as calamine's parsers read one (an optional '+', digits), saturating.
fn whole_number(v: &[u8], truncated: bool) -> Option<u64> {
    let digits = v.strip_prefix(b"+").unwrap_or(v);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if truncated {
        return Some(u64::MAX);
    }
    Some(digits.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add((d - b'0') as u64)
    }))
}

fn xml_unescape(v: &[u8]) -> String {
    String::from_utf8_lossy(v)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Xs {
    Text,
    Lt,
    Name,
    Attrs,
    AttrName,
    AfterAttrName,
    Eq,
    Value(u8),
    Slash,
    CloseName,
    CloseRest,
    Bang,
    Comment,
    CData,
    Pi,
    Decl,
}

/// Reads XML from `input` as a parser would see its tokens, without building anything: calls
/// `on` for each tag, and refuses a token (tag, text run, comment) longer than
/// `max_token` bytes and any DOCTYPE. Only the attributes named in `want` are captured.
fn scan_xml(
    mut input: impl Read,
    part: &str,
    max_token: u64,
    want: &[&[u8]],
    mut on: impl FnMut(XmlEvent<'_>) -> Result<(), SheetError>,
) -> Result<(), SheetError> {
    let too_long = || {
        SheetError::Malformed(format!(
            "“{}”中有一段内容超过 {} MB",
            clip(part, 64).0,
            max_token / MIB
        ))
    };
    let wanted: Vec<&[u8]> = want.iter().map(|w| local_name(w)).collect();
    let mut attrs: Vec<XmlAttr> = vec![XmlAttr::default(); want.len()];
    let mut st = Xs::Text;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut pos, mut tok, mut text) = (0u64, 0u64, 0u64);
    let mut name: Vec<u8> = Vec::new();
    let mut attr_name: Vec<u8> = Vec::new();
    let mut capture: Option<usize> = None;
    let mut value: Vec<u8> = Vec::new();
    let mut value_len = 0u64;
    let mut bang: Vec<u8> = Vec::new();
    let mut tail = [0u8; 2];
    let mut close_exact = true;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(not_a_workbook(e)),
        };
        let mut i = 0;
        while i < n {
            // fast paths over text and attribute values
            if st == Xs::Text {
                let run = buf[i..n].iter().position(|b| *b == b'<').unwrap_or(n - i);
                text += run as u64;
                pos += run as u64;
                i += run;
                if text > max_token {
                    return Err(too_long());
                }
                if i == n {
                    break;
                }
            } else if let Xs::Value(q) = st {
                let run = buf[i..n].iter().position(|b| *b == q).unwrap_or(n - i);
                if capture.is_some() {
                    let room = XmlAttr::KEEP.saturating_sub(value.len()).min(run);
                    value.extend_from_slice(&buf[i..i + room]);
                }
                value_len += run as u64;
                tok += run as u64;
                pos += run as u64;
                i += run;
                if tok > max_token {
                    return Err(too_long());
                }
                if i == n {
                    break;
                }
            }
            let b = buf[i];
            i += 1;
            pos += 1;
            if st == Xs::Text {
                // b == '<'
                text = 0;
                tok = 1;
                st = Xs::Lt;
                continue;
            }
            tok += 1;
            if tok > max_token {
                return Err(too_long());
            }
            let ws = b.is_ascii_whitespace();
            let mut open = |empty: bool, name: &[u8], attrs: &mut Vec<XmlAttr>, tok: u64| {
                let r = on(XmlEvent::Open {
                    name,
                    attrs,
                    empty,
                    at: pos,
                    len: tok,
                });
                attrs.iter_mut().for_each(|a| *a = XmlAttr::default());
                r
            };
            st = match st {
                Xs::Lt => match b {
                    b'/' => {
                        name.clear();
                        close_exact = true;
                        Xs::CloseName
                    }
                    b'!' => {
                        bang.clear();
                        Xs::Bang
                    }
                    b'?' => {
                        tail = [0, 0];
                        Xs::Pi
                    }
                    _ => {
                        name.clear();
                        name.push(b);
                        Xs::Name
                    }
                },
                Xs::Name => match b {
                    b'>' => {
                        open(false, &name, &mut attrs, tok)?;
                        Xs::Text
                    }
                    b'/' => Xs::Slash,
                    _ if ws => Xs::Attrs,
                    _ => {
                        if name.len() <= MAX_XML_NAME {
                            name.push(b);
                        }
                        Xs::Name
                    }
                },
                Xs::Attrs | Xs::AfterAttrName | Xs::Slash | Xs::Eq | Xs::AttrName => {
                    match (st, b) {
                        (_, b'>') => {
                            open(st == Xs::Slash, &name, &mut attrs, tok)?;
                            Xs::Text
                        }
                        (Xs::AttrName, b'=') | (Xs::AfterAttrName, b'=') => {
                            let local = local_name(&attr_name);
                            capture = wanted.iter().position(|w| *w == local);
                            Xs::Eq
                        }
                        (Xs::Eq, b'"' | b'\'') => {
                            value.clear();
                            value_len = 0;
                            Xs::Value(b)
                        }
                        (Xs::AttrName, _) if ws => Xs::AfterAttrName,
                        (Xs::AttrName, b'/') => Xs::Slash,
                        (Xs::AttrName, _) => {
                            if attr_name.len() < 128 {
                                attr_name.push(b);
                            }
                            Xs::AttrName
                        }
                        (Xs::Eq, _) if ws => Xs::Eq,
                        (_, _) if ws => Xs::Attrs,
                        (_, b'/') => Xs::Slash,
                        (_, _) => {
                            attr_name.clear();
                            attr_name.push(b);
                            Xs::AttrName
                        }
                    }
                }
                Xs::Value(q) => {
                    // b == q: the value ends
                    debug_assert_eq!(b, q);
                    if let Some(k) = capture.take() {
                        let a = &mut attrs[k];
                        let truncated = value_len > value.len() as u64;
                        if !a.found {
                            a.found = true;
                            a.value = value.clone();
                            a.len = value_len;
                        }
                        a.max_len = a.max_len.max(value_len);
                        if let Some(v) = whole_number(&value, truncated) {
                            a.max_num = Some(a.max_num.map_or(v, |m| m.max(v)));
                        }
                    }
                    Xs::Attrs
                }
                Xs::CloseName => match b {
                    b'>' => {
                        on(XmlEvent::Close {
                            name: &name,
                            at: pos,
                            exact: close_exact,
                        })?;
                        Xs::Text
                    }
                    _ if ws => Xs::CloseRest,
                    _ => {
                        if name.len() < MAX_XML_NAME {
                            name.push(b);
                        } else {
                            close_exact = false;
                        }
                        Xs::CloseName
                    }
                },
                Xs::CloseRest => {
                    if b == b'>' {
                        on(XmlEvent::Close {
                            name: &name,
                            at: pos,
                            exact: close_exact,
                        })?;
                        Xs::Text
                    } else {
                        close_exact &= ws;
                        Xs::CloseRest
                    }
                }
                Xs::Bang => {
                    bang.push(b);
                    if bang == b"--" {
                        tail = [0, 0];
                        Xs::Comment
                    } else if bang == b"[CDATA[" {
                        tail = [0, 0];
                        Xs::CData
                    } else if bang.len() >= 7 && bang.eq_ignore_ascii_case(b"DOCTYPE") {
                        return Err(SheetError::Malformed(format!(
                            "“{}”含有 DOCTYPE 声明",
                            clip(part, 64).0
                        )));
                    } else if b == b'>' {
                        Xs::Text
                    } else if bang.len() >= 7 {
                        Xs::Decl
                    } else {
                        Xs::Bang
                    }
                }
                Xs::Comment | Xs::CData | Xs::Pi => {
                    let end = match st {
                        Xs::Comment => b == b'>' && tail == *b"--",
                        Xs::CData => b == b'>' && tail == *b"]]",
                        _ => b == b'>' && tail[1] == b'?',
                    };
                    tail = [tail[1], b];
                    if end { Xs::Text } else { st }
                }
                Xs::Decl => {
                    if b == b'>' {
                        Xs::Text
                    } else {
                        Xs::Decl
                    }
                }
                Xs::Text => Xs::Text,
            };
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Numbers and dates

/// Integers without ".0"; large values as Excel would show the digits it kept.
fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        let digits = format!("{f:.0}");
        if digits.len() > 15 {
            // Excel keeps 15 significant digits and shows zeros after them
            let kept = format!("{:.14e}", f);
            let mantissa: String = kept
                .split('e')
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| c.is_ascii_digit())
                .collect();
            return format!("{mantissa:0<width$}", width = digits.len());
        }
        digits
    } else {
        f.to_string()
    }
}

fn excel_serial_to_date(serial: f64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid date");
    match base.checked_add_signed(chrono::TimeDelta::days(serial.floor() as i64)) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => serial.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Counts this thread's allocations, so a test can say how much memory a read took.
    mod meter {
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

    const MB: usize = 1024 * 1024;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
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
    fn raw_xlsx(dimension: &str, sheet_data: &str, shared: Option<&str>) -> Vec<u8> {
        raw_xlsx_with(dimension, sheet_data, shared, &[])
    }

    fn raw_xlsx_with(
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

    fn inline(cell: &str, text: &str) -> String {
        format!(r#"<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>"#)
    }

    /// A workbook written with rust_xlsxwriter, every cell a string.
    fn xlsx_of(rows: &[Vec<&str>]) -> Vec<u8> {
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

    const ID: &str = "220702198506150013";

    #[test]
    fn header_aliases() {
        assert_eq!(Field::from_header("姓 名"), Some(Field::Name));
        assert_eq!(Field::from_header("公民身份号码"), Some(Field::IdNumber));
        assert_eq!(Field::from_header("职务（岗位）"), Some(Field::Post));
        assert_eq!(Field::from_header("*身份证号(必填)"), Some(Field::IdNumber));
        assert_eq!(Field::from_header("序号"), None);
    }

    #[test]
    fn new_header_aliases() {
        for (h, f) in [
            ("职级", Field::Rank),
            ("执法证号", Field::CertNumber),
            ("证件编号", Field::CertNumber),
            ("证号", Field::CertNumber),
            ("行政执法证号", Field::CertNumber),
            ("执法证编号", Field::CertNumber),
            ("执法证件号码", Field::CertNumber),
            ("执法证件编号", Field::CertNumber),
            ("发证机关", Field::CertIssuer),
            ("发证单位", Field::CertIssuer),
            ("发证部门", Field::CertIssuer),
            ("证件有效期", Field::CertValidity),
            ("有效期", Field::CertValidity),
            ("有效期至", Field::CertValidity),
            ("证件有效期至", Field::CertValidity),
            ("有效期限", Field::CertValidity),
            ("有效日期", Field::CertValidity),
            ("执法人员性质", Field::EmploymentType),
            ("人员类别", Field::EmploymentType),
            ("编制性质", Field::EmploymentType),
            ("职务", Field::Post),
            ("现任职务", Field::Post),
            ("职务（岗位）", Field::Post),
            ("出生年月", Field::BirthDate),
            // without context, 证件号码 is the ID number
            ("证件号码", Field::IdNumber),
        ] {
            assert_eq!(Field::from_header(h), Some(f), "{h}");
        }
        assert_eq!(Field::ALL.len(), 16);
        assert_eq!(
            &Field::ALL[12..],
            &[
                Field::Rank,
                Field::CertNumber,
                Field::CertIssuer,
                Field::CertValidity
            ]
        );
        assert_eq!(Field::CertNumber.label(), "执法证号");
        assert_eq!(Field::CertValidity.label(), "证件有效期");
    }

    #[test]
    fn csv_in_gbk_with_title_rows() {
        let text = "松原市行政执法人员名单\n填报单位：宁江区\n序号,姓 名,身份证号码,所在单位\n1,张三,220702198506150012,宁江区市场监督管理局\n";
        let (bytes, _, _) = encoding_rs::GBK.encode(text);
        let (h, rows) = read("名单.csv", &bytes).unwrap();
        assert_eq!(h.row, 3);
        assert_eq!(h.col(Field::IdNumber), Some(2));
        assert_eq!(rows[3].cells[1].text, "张三");
        assert_eq!(rows[3].number, 4);
    }

    #[test]
    fn csv_in_utf16_with_quotes_and_crlf() {
        let text = "姓名\t身份证号\t所在单位\r\n\"张\"\"三\"\t220702198506150013\t\"宁江区\r\n市场监督管理局\"\r\n\r\n李四\t110101199003070011\t宁江区\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let (h, rows) = read("名单.csv", &bytes).unwrap();
        assert_eq!(h.row, 1);
        assert_eq!(rows[1].cells[0].text, "张\"三");
        assert_eq!(rows[1].cells[2].text, "宁江区\r\n市场监督管理局");
        assert_eq!(rows[1].number, 2);
        // the quoted line break moves the next record's line number on
        assert_eq!(rows[2].cells[0].text, "李四");
        assert_eq!(rows[2].number, 5);
    }

    proptest::proptest! {
        /// Whatever a user uploads, reading it answers Ok or a SheetError: never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048), xlsx in proptest::prelude::any::<bool>()) {
            let _ = read(if xlsx { "x.xlsx" } else { "x.csv" }, &bytes);
        }

        #[test]
        fn arbitrary_csv_text_never_panics(text in "(姓名|身份证号|所在单位|[\\PC]{0,12})([,\t\n\"]{1,2}(姓名|身份证号|所在单位|[\\PC]{0,12})){0,40}") {
            let _ = read("x.csv", text.as_bytes());
        }

        /// A zip that starts like a workbook but is cut short is refused with a message.
        #[test]
        fn truncated_workbooks_are_refused(cut in 10usize..4000) {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            ws.write(0, 0, "姓名").unwrap();
            ws.write(0, 1, "身份证号").unwrap();
            let bytes = wb.save_to_buffer().unwrap();
            let cut = cut.min(bytes.len() - 1);
            proptest::prop_assert!(read("x.xlsx", &bytes[..cut]).is_err());
        }

        /// A valid XLS with bytes of its Workbook stream changed: refused or read, never a
        /// panic, never an allocation that ends the process.
        #[test]
        fn mutated_xls_never_panics(flips in proptest::collection::vec((proptest::prelude::any::<bool>(), 0usize..400, proptest::prelude::any::<u8>()), 1..12)) {
            let mut stream = biff(&xls_cells(), (0, 2, 0, 2), &[]);
            let len = stream.len();
            // the records before the padding (globals) and after it (the sheet)
            for (head, off, v) in flips {
                let at = if head { off % 160 } else { len - 1 - off % (len - 4400) };
                stream[at] = v;
            }
            let _ = read("x.xls", &cfb(&stream, &[]));
        }

        /// A valid XLSX with bytes of its sheet and shared strings changed.
        #[test]
        fn mutated_xlsx_never_panics(flips in proptest::collection::vec((proptest::prelude::any::<bool>(), 0usize..10_000, proptest::prelude::any::<u8>()), 1..8)) {
            let mut sheet = shared_string_sheet().as_bytes().to_vec();
            let mut sst = shared_strings("4", &["姓名", "身份证号", "张三", ID]).into_bytes();
            for (in_sheet, at, v) in flips {
                let target = if in_sheet { &mut sheet } else { &mut sst };
                let at = at % target.len();
                target[at] = v;
            }
            let sheet = String::from_utf8_lossy(&sheet).into_owned();
            let sst = String::from_utf8_lossy(&sst).into_owned();
            let _ = read("x.xlsx", &raw_xlsx("A1:B2", &sheet, Some(&sst)));
        }

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

        /// Random bytes behind a compound-file signature: refused or read, never a panic.
        #[test]
        fn arbitrary_compound_files_never_panic(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
            bytes.extend(tail);
            let _ = read("x.xls", &bytes);
        }
    }

    #[test]
    fn workbooks_that_unpack_too_large_are_refused() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write(0, 0, "姓名").unwrap();
        ws.write(0, 1, "身份证号").unwrap();
        for r in 1..2000 {
            ws.write(r, 0, "张三张三张三张三张三张三张三张三").unwrap();
        }
        let bytes = wb.save_to_buffer().unwrap();
        assert!(read_limited("x.xlsx", &bytes, 1 << 30).is_ok());
        let err = read_limited("x.xlsx", &bytes, 64 * 1024)
            .unwrap_err()
            .to_string();
        assert!(err.contains("远超人员名册应有的大小"), "{err}");
    }

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(99), "CV");
    }

    /// Defect 1: a cell at A1 and one at XFD1048576 made calamine allocate rows × columns.
    #[test]
    fn a_cell_at_xfd1048576_is_streamed_not_allocated() {
        let attack = raw_xlsx(
            "A1:XFD1048576",
            r#"<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#,
            None,
        );
        assert!(attack.len() < 2048, "{}", attack.len());
        let (r, peak) = meter::peak(|| read("x.xlsx", &attack));
        assert_eq!(r.unwrap_err(), SheetError::NoHeader);
        assert!(peak < 16 * MB, "{peak}");

        let with_header = raw_xlsx(
            "A1:XFD1048576",
            &format!(
                r#"<row r="1">{}{}</row><row r="2">{}{}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#,
                inline("A1", "姓名"),
                inline("B1", "身份证号"),
                inline("A2", "张三"),
                inline("B2", ID),
            ),
            None,
        );
        let ((h, rows), peak) = meter::peak(|| read("x.xlsx", &with_header).unwrap());
        assert!(peak < 16 * MB, "{peak}");
        assert_eq!(h.row, 1);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].cells[1].text, ID);
        assert!(rows.iter().all(|r| r.cells.len() <= MAX_COLUMNS));
        assert_eq!(h.notes.len(), 1, "{:?}", h.notes);
        assert!(h.notes[0].contains("CV"), "{:?}", h.notes);
    }

    fn shared_strings(unique_count: &str, strings: &[&str]) -> String {
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

    fn shared_string_sheet() -> &'static str {
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>"#
    }

    /// Defect 2: calamine reserved `uniqueCount` slots: 10^11 aborted, u64::MAX panicked.
    #[test]
    fn absurd_shared_string_counts_are_refused() {
        let strings = ["姓名", "身份证号", "张三", ID];
        let ok = raw_xlsx(
            "A1:B2",
            shared_string_sheet(),
            Some(&shared_strings("4", &strings)),
        );
        let (h, rows) = read("x.xlsx", &ok).unwrap();
        assert_eq!(h.col(Field::IdNumber), Some(1));
        assert_eq!(rows[1].cells[0].text, "张三");
        for declared in [
            "100000000000",
            "18446744073709551615",
            "99999999999999999999999",
        ] {
            let bad = raw_xlsx(
                "A1:B2",
                shared_string_sheet(),
                Some(&shared_strings(declared, &strings)),
            );
            let (r, peak) = meter::peak(|| read("x.xlsx", &bad));
            let err = r.unwrap_err();
            assert!(
                matches!(err, SheetError::Malformed(_)),
                "{declared}: {err:?}"
            );
            assert!(err.to_string().contains("声明有"), "{err}");
            assert!(peak < 16 * MB, "{peak}");
        }
        // a count calamine doesn't use is not a reason to refuse
        let odd_count =
            shared_strings("4", &strings).replace("count=\"4\"", "count=\"100000000000\"");
        assert!(
            read(
                "x.xlsx",
                &raw_xlsx("A1:B2", shared_string_sheet(), Some(&odd_count))
            )
            .is_ok()
        );
    }

    #[test]
    fn shared_strings_over_the_cap_are_refused() {
        let filler = "字".repeat(1000);
        let mut strings = vec!["姓名", "身份证号", "张三", ID];
        strings.extend(std::iter::repeat_n(filler.as_str(), 1000));
        let sst = shared_strings(&strings.len().to_string(), &strings);
        let bytes = raw_xlsx("A1:B2", shared_string_sheet(), Some(&sst));
        let lim = Limits {
            shared_strings: MIB,
            ..LIMITS
        };
        let err = read_with("x.xlsx", &bytes, &lim).unwrap_err();
        assert!(matches!(err, SheetError::TooLarge(_)), "{err:?}");
        assert!(err.to_string().contains("sharedStrings"), "{err}");
        assert!(read("x.xlsx", &bytes).is_ok());
    }

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

    /// Defect 4: a CSV of commas reached 2.85 GB; it is read a field at a time.
    #[test]
    fn a_csv_of_commas_reads_in_bounded_memory() {
        let commas = ",".repeat(6 * MB);
        for text in [
            format!("姓名,身份证号,所在单位\n{commas}\n张三,{ID},宁江区\n"),
            format!("{commas}\n姓名,身份证号,所在单位\n张三,{ID},宁江区{commas}\n"),
        ] {
            let ((h, rows), peak) = meter::peak(|| read("x.csv", text.as_bytes()).unwrap());
            assert!(peak < 8 * MB, "{peak}");
            assert_eq!(h.col(Field::Unit), Some(2));
            assert!(rows.iter().all(|r| r.cells.len() <= MAX_COLUMNS));
            let last = rows.last().unwrap();
            assert_eq!(last.cells[0].text, "张三");
        }
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

    /// The 24-column template of a real enforcement-personnel system.
    #[test]
    fn the_24_column_layout_maps() {
        let header = vec![
            "序号",
            "姓名",
            "单位",
            "身份证号",
            "性别",
            "出生日期",
            "政治面貌",
            "职级",
            "民族",
            "最高学历",
            "学历专业",
            "是否监督人员",
            "是否具有法律职业资格",
            "联系电话",
            "执法人员性质",
            "执法证号",
            "发证机关",
            "执法区域",
            "执法类别",
            "证件有效期",
            "省",
            "市（区）",
            "发布状态",
            "发布日期",
        ];
        let data = vec![
            "1",
            "张三",
            "松原市宁江区市场监督管理局",
            ID,
            "男",
            "1985-06-15",
            "中共党员",
            "四级主任科员",
            "汉族",
            "大学本科",
            "法学",
            "否",
            "是",
            "13804381234",
            "行政编制",
            "22070012345",
            "松原市人民政府",
            "松原市宁江区",
            "市场监管",
            "2028-06-30",
            "吉林省",
            "松原市",
            "已发布",
            "2023-07-01",
        ];
        let bytes = xlsx_of(&[header, data]);
        let (h, rows) = read("x.xlsx", &bytes).unwrap();
        let expect = [
            (1, Field::Name),
            (2, Field::Unit),
            (3, Field::IdNumber),
            (4, Field::Sex),
            (5, Field::BirthDate),
            (7, Field::Rank),
            (13, Field::Phone),
            (14, Field::EmploymentType),
            (15, Field::CertNumber),
            (16, Field::CertIssuer),
            (17, Field::Region),
            (18, Field::Category),
            (19, Field::CertValidity),
        ];
        assert_eq!(h.columns, expect.to_vec());
        assert_eq!(
            h.ignored,
            [
                "政治面貌",
                "民族",
                "最高学历",
                "学历专业",
                "是否监督人员",
                "是否具有法律职业资格",
                "省",
                "市（区）",
                "发布状态",
                "发布日期"
            ]
        );
        let row = &rows[1];
        assert_eq!(
            row.cells[h.col(Field::CertNumber).unwrap()].text,
            "22070012345"
        );
        assert_eq!(
            row.cells[h.col(Field::CertValidity).unwrap()].text,
            "2028-06-30"
        );
        // unmapped columns hold nothing
        assert!(row.cells.get(6).is_none_or(|c| c.text.is_empty()));
    }

    /// 证件号码 is the certificate number next to an ID-number column, else the ID number.
    #[test]
    fn the_certificate_number_header_is_read_in_context() {
        let (h, _) = read(
            "x.csv",
            format!("姓名,身份证号,证件号码\n张三,{ID},22070012345\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(h.col(Field::IdNumber), Some(1));
        assert_eq!(h.col(Field::CertNumber), Some(2));
        let (h, _) = read(
            "x.csv",
            format!("姓名,证件号码,单位\n张三,{ID},宁江区\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(h.col(Field::IdNumber), Some(1));
        assert_eq!(h.col(Field::CertNumber), None);
        // the ID column may come after it
        let (h, _) = read(
            "x.csv",
            format!("姓名,证件号码（执法证）,公民身份号码\n张三,22070012345,{ID}\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(h.col(Field::CertNumber), Some(1));
        assert_eq!(h.col(Field::IdNumber), Some(2));
    }

    #[test]
    fn ignored_headers_are_listed_once() {
        let (h, _) = read(
            "x.csv",
            format!("序号,姓名,身份证号,民族,民族,备注\n1,张三,{ID},汉,汉,\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(h.ignored, vec!["民族".to_string()]);
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
    fn xlsb_is_refused_with_advice() {
        let bytes = zip_of(&[("xl/workbook.bin", b"\0\0"), ("_rels/.rels", b"")]);
        let err = read("x.xlsb", &bytes).unwrap_err();
        assert!(matches!(err, SheetError::Unsupported(_)), "{err:?}");
        assert!(err.to_string().contains(".xlsx"), "{err}");
    }

    // ---------------------------------------------------------------- ODS

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

    // ---------------------------------------------------------------- XLS

    fn rec(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut v = typ.to_le_bytes().to_vec();
        v.extend((data.len() as u16).to_le_bytes());
        v.extend(data);
        v
    }

    /// A BIFF8 workbook stream: one sheet of shared-string cells, and `extra` sheet records.
    fn biff(cells: &[(u16, u16, &str)], dims: (u32, u32, u16, u16), extra: &[Vec<u8>]) -> Vec<u8> {
        let bof = |dt: u16| {
            let mut d = vec![0x00, 0x06];
            d.extend(dt.to_le_bytes());
            d.extend([0u8; 12]);
            rec(0x0809, &d)
        };
        let mut sst = Vec::new();
        sst.extend((cells.len() as u32).to_le_bytes());
        sst.extend((cells.len() as u32).to_le_bytes());
        for (_, _, s) in cells {
            let units: Vec<u16> = s.encode_utf16().collect();
            sst.extend((units.len() as u16).to_le_bytes());
            sst.push(1);
            for u in units {
                sst.extend(u.to_le_bytes());
            }
        }
        let globals = |pos: u32| {
            let mut g = bof(0x0005);
            g.extend(rec(0x0042, &1200u16.to_le_bytes()));
            let mut bs = pos.to_le_bytes().to_vec();
            bs.extend([0, 0, 6, 0]);
            bs.extend(b"Sheet1");
            g.extend(rec(0x0085, &bs));
            g.extend(rec(0x00FC, &sst));
            // padding past 4096 bytes, so the stream lives in regular sectors
            g.extend(rec(0x01C1, &[0u8; 4200]));
            g.extend(rec(0x000A, &[]));
            g
        };
        let pos = globals(0).len() as u32;
        let mut s = globals(pos);
        s.extend(bof(0x0010));
        let mut d = dims.0.to_le_bytes().to_vec();
        d.extend(dims.1.to_le_bytes());
        d.extend(dims.2.to_le_bytes());
        d.extend(dims.3.to_le_bytes());
        d.extend([0, 0]);
        s.extend(rec(0x0200, &d));
        for (i, (r, c, _)) in cells.iter().enumerate() {
            let mut d = r.to_le_bytes().to_vec();
            d.extend(c.to_le_bytes());
            d.extend([0, 0]);
            d.extend((i as u32).to_le_bytes());
            s.extend(rec(0x00FD, &d));
        }
        for e in extra {
            s.extend(e);
        }
        s.extend(rec(0x000A, &[]));
        s
    }

    /// A compound file holding `stream` as its Workbook stream (512-byte sectors: the FAT,
    /// the directory, then the stream). `fat_patch` can rewrite FAT entries.
    fn cfb(stream: &[u8], fat_patch: &[(usize, u32)]) -> Vec<u8> {
        let n = stream.len().div_ceil(512);
        assert!(stream.len() >= 4096 && n + 2 <= 128);
        let mut out = vec![0u8; 512];
        let put16 =
            |o: &mut Vec<u8>, at: usize, v: u16| o[at..at + 2].copy_from_slice(&v.to_le_bytes());
        let put32 =
            |o: &mut Vec<u8>, at: usize, v: u32| o[at..at + 4].copy_from_slice(&v.to_le_bytes());
        out[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
        put16(&mut out, 24, 0x3E);
        put16(&mut out, 26, 3);
        put16(&mut out, 28, 0xFFFE);
        put16(&mut out, 30, 9);
        put16(&mut out, 32, 6);
        put32(&mut out, 44, 1);
        put32(&mut out, 48, 1);
        put32(&mut out, 56, 4096);
        put32(&mut out, 60, ENDOFCHAIN);
        put32(&mut out, 68, ENDOFCHAIN);
        for i in 0..109 {
            put32(&mut out, 76 + 4 * i, if i == 0 { 0 } else { 0xFFFF_FFFF });
        }
        let mut fat = vec![0xFFFF_FFFFu32; 128];
        fat[0] = 0xFFFF_FFFD;
        fat[1] = ENDOFCHAIN;
        for i in 0..n {
            fat[2 + i] = if i + 1 < n {
                (3 + i) as u32
            } else {
                ENDOFCHAIN
            };
        }
        for (i, v) in fat_patch {
            fat[*i] = *v;
        }
        for v in fat {
            out.extend(v.to_le_bytes());
        }
        let mut dir = vec![0u8; 512];
        let entry = |d: &mut [u8], name: &str, typ: u8, child: u32, start: u32, size: u32| {
            let units: Vec<u16> = name.encode_utf16().collect();
            for (i, u) in units.iter().enumerate() {
                d[2 * i..2 * i + 2].copy_from_slice(&u.to_le_bytes());
            }
            d[64..66].copy_from_slice(&(((units.len() + 1) * 2) as u16).to_le_bytes());
            d[66] = typ;
            d[67] = 1;
            d[68..72].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
            d[72..76].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
            d[76..80].copy_from_slice(&child.to_le_bytes());
            d[116..120].copy_from_slice(&start.to_le_bytes());
            d[120..124].copy_from_slice(&size.to_le_bytes());
        };
        entry(&mut dir[0..128], "Root Entry", 5, 1, ENDOFCHAIN, 0);
        entry(
            &mut dir[128..256],
            "Workbook",
            2,
            0xFFFF_FFFF,
            2,
            stream.len() as u32,
        );
        for e in [256, 384] {
            dir[e + 68..e + 80].fill(0xFF);
        }
        out.extend(dir);
        let mut s = stream.to_vec();
        s.resize(n * 512, 0);
        out.extend(s);
        out
    }

    fn xls_cells() -> Vec<(u16, u16, &'static str)> {
        vec![
            (0, 0, "姓名"),
            (0, 1, "身份证号"),
            (1, 0, "张三"),
            (1, 1, ID),
        ]
    }

    #[test]
    fn xls_reads_through_calamine() {
        let bytes = cfb(&biff(&xls_cells(), (0, 2, 0, 2), &[]), &[]);
        let (h, rows) = read("x.xls", &bytes).unwrap();
        assert_eq!(h.col(Field::IdNumber), Some(1));
        assert_eq!(rows[1].cells[1].text, ID);
        assert_eq!(rows[1].number, 2);
    }

    /// Defect 5: what calamine would allocate for an XLS is estimated and refused first.
    #[test]
    fn hostile_xls_is_refused_before_calamine_allocates() {
        let number = |r: u16, c: u16| {
            let mut d = r.to_le_bytes().to_vec();
            d.extend(c.to_le_bytes());
            d.extend([0, 0]);
            d.extend(1.0f64.to_le_bytes());
            rec(0x0203, &d)
        };
        let cases = [
            // a Dimensions record declaring 4 billion rows: calamine reserves rows × columns
            cfb(&biff(&xls_cells(), (0, 0xFFFF_FFF0, 0, 256), &[]), &[]),
            // one cell far away: calamine's range is dense
            cfb(
                &biff(
                    &xls_cells(),
                    (0, 2, 0, 2),
                    &[number(65_535, 255), number(60_000, 4000)],
                ),
                &[],
            ),
            // the directory's sector chain loops: calamine reads it without a length limit
            cfb(&biff(&xls_cells(), (0, 2, 0, 2), &[]), &[(1, 1)]),
            // the stream's chain loops back (calamine stops at the declared length, we refuse)
            cfb(&biff(&xls_cells(), (0, 2, 0, 2), &[]), &[(5, 3)]),
        ];
        for (i, bytes) in cases.iter().enumerate() {
            let (r, peak) = meter::peak(|| read("x.xls", bytes));
            let err = r.unwrap_err();
            assert!(
                matches!(err, SheetError::TooLarge(_) | SheetError::Malformed(_)),
                "{i}: {err:?}"
            );
            assert!(peak < 16 * MB, "{i}: {peak}");
        }
    }

    #[test]
    fn the_meter_measures() {
        let (v, peak) = meter::peak(|| vec![1u8; 32 * MB]);
        assert_eq!(v.len(), 32 * MB);
        assert!(peak >= 32 * MB, "{peak}");
        let (_, peak) = meter::peak(|| ());
        assert!(peak < MB, "{peak}");
    }

    /// calamine copies an xf's font name and number format into each of its styles.
    #[test]
    fn bloated_styles_are_refused() {
        let name = "宋".repeat(300_000);
        let mut styles = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><name val="{name}"/></font></fonts><cellXfs count="300">"#
        );
        for _ in 0..300 {
            styles.push_str(r#"<xf numFmtId="0" fontId="0"></xf>"#);
        }
        styles.push_str("</cellXfs></styleSheet>");
        let sheet = format!(
            r#"<row r="1">{}{}</row>"#,
            inline("A1", "姓名"),
            inline("B1", "身份证号")
        );
        let mut bytes = raw_xlsx_with(
            "A1:B1",
            &sheet,
            None,
            &[("xl/styles.xml", styles.as_bytes())],
        );
        let (r, peak) = meter::peak(|| read("x.xlsx", &bytes));
        let err = r.unwrap_err();
        assert!(matches!(err, SheetError::Malformed(_)), "{err:?}");
        assert!(err.to_string().contains("styles.xml"), "{err}");
        assert!(peak < 16 * MB, "{peak}");
        // a plain style sheet is fine
        let plain = styles.replace(&name, "宋体");
        bytes = raw_xlsx_with(
            "A1:B1",
            &sheet,
            None,
            &[("xl/styles.xml", plain.as_bytes())],
        );
        assert_eq!(read("x.xlsx", &bytes).unwrap().0.row, 1);
    }

    /// A part so large that a single tag or text run in it could be huge is looked through.
    #[test]
    fn a_huge_xml_token_is_refused() {
        let sheet = format!(
            r#"<row r="1">{}{}{}</row>"#,
            inline("A1", "姓名"),
            inline("B1", "身份证号"),
            inline("C1", &"长".repeat(MB)),
        );
        let bytes = raw_xlsx("A1:C1", &sheet, None);
        let lim = Limits {
            xml_token: MIB,
            ..LIMITS
        };
        let err = read_with("x.xlsx", &bytes, &lim).unwrap_err();
        assert!(matches!(err, SheetError::Malformed(_)), "{err:?}");
        assert!(err.to_string().contains("sheet1.xml"), "{err}");
        // under the real limit the same cell is read, cut and marked
        let sheet = sheet
            + &format!(
                r#"<row r="2">{}{}{}</row>"#,
                inline("A2", "张三"),
                inline("B2", ID),
                inline("C2", "x")
            );
        let (h, _) = read("x.xlsx", &raw_xlsx("A1:C2", &sheet, None)).unwrap();
        assert_eq!(h.row, 1);
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

    // ---------------------------------------------------------------- annotate

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
