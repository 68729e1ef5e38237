//! Reading rosters as bureaus keep them: XLSX/XLS/ODS or CSV (UTF-8, GBK/GB18030 or UTF-16),
//! title rows above the header, header aliases, numeric cells. No database here.

use super::rules::{to_half_width, unit_name_key};
use calamine::Reader;
use std::io::Cursor;

/// One cell as text, and whether the spreadsheet stored it as a number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub text: String,
    pub numeric: bool,
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
}

impl Field {
    pub const ALL: [Field; 12] = [
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
        }
    }

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Name => &["姓名", "名字", "人员姓名", "执法人员姓名", "执法人员"],
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
        }
    }

    /// Which field a header cell names, if any: spaces, stars, full-width forms and a trailing
    /// note in brackets ("身份证号（必填）") are ignored.
    pub fn from_header(raw: &str) -> Option<Field> {
        let s: String = to_half_width(raw)
            .chars()
            .filter(|c| {
                !c.is_whitespace() && !matches!(c, '*' | '※' | ':' | '\u{200B}' | '\u{FEFF}')
            })
            .collect();
        let matches = |s: &str| Field::ALL.into_iter().find(|f| f.aliases().contains(&s));
        matches(&s).or_else(|| {
            let stripped = s.split(['(', '[', '【']).next().unwrap_or("");
            matches(stripped)
        })
    }
}

/// Where each field is, and which headers were not understood.
#[derive(Debug, Clone)]
pub struct Header {
    pub row: usize,
    pub columns: Vec<(usize, Field)>,
    pub ignored: Vec<String>,
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

/// What a workbook may unpack to. A 73,450-row roster unpacks to about 30 MB; a zip bomb (a few
/// MB that claim gigabytes) is refused before anything is decompressed.
pub const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;

/// Reads the first sheet that has a recognisable header.
pub fn read(filename: &str, bytes: &[u8]) -> Result<(Header, Vec<Row>), SheetError> {
    read_limited(filename, bytes, MAX_UNPACKED_BYTES)
}

fn check_unpacked_size(bytes: &[u8], limit: u64) -> Result<(), SheetError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| SheetError::Unreadable(format!("不是有效的 Excel 文件（{e}）")))?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| SheetError::Unreadable(format!("Excel 文件已损坏（{e}）")))?;
        total = total.saturating_add(entry.size());
    }
    if total > limit {
        return Err(SheetError::Unreadable(format!(
            "文件解压后有 {} MB，远超人员名册应有的大小（上限 {} MB），已拒绝",
            total / 1024 / 1024,
            limit / 1024 / 1024
        )));
    }
    Ok(())
}

fn read_limited(
    filename: &str,
    bytes: &[u8],
    limit: u64,
) -> Result<(Header, Vec<Row>), SheetError> {
    if bytes.is_empty() {
        return Err(SheetError::Empty);
    }
    let lower = filename.to_lowercase();
    let is_zip = bytes.starts_with(b"PK\x03\x04");
    let is_ole = bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
    if is_zip
        || is_ole
        || lower.ends_with(".xlsx")
        || lower.ends_with(".xls")
        || lower.ends_with(".ods")
    {
        if !(is_zip || is_ole) {
            return Err(SheetError::Unreadable(
                "文件扩展名是 Excel，但内容不是 Excel 工作簿（可能已损坏）".into(),
            ));
        }
        if is_zip {
            // the zip reader stops at each entry's declared size, so the check holds
            check_unpacked_size(bytes, limit)?;
        }
        let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
            .map_err(|e| SheetError::Unreadable(format!("不是有效的 Excel 文件（{e}）")))?;
        let names = book.sheet_names().to_vec();
        let mut first_err = None;
        for name in names {
            let range = match book.worksheet_range(&name) {
                Ok(r) => r,
                Err(e) => {
                    first_err.get_or_insert(SheetError::Unreadable(format!(
                        "工作表“{name}”无法读取（{e}）"
                    )));
                    continue;
                }
            };
            let rows = range_rows(&range);
            match find_header(&rows) {
                Ok(h) => return Ok((h, rows)),
                Err(e @ SheetError::DuplicateColumn(..)) => return Err(e),
                Err(_) => continue,
            }
        }
        return Err(first_err.unwrap_or(SheetError::NoHeader));
    }
    let rows = csv_rows(bytes)?;
    let header = find_header(&rows)?;
    Ok((header, rows))
}

fn range_rows(range: &calamine::Range<calamine::Data>) -> Vec<Row> {
    use calamine::Data;
    let (row0, col0) = range
        .start()
        .map(|(r, c)| (r as usize, c as usize))
        .unwrap_or((0, 0));
    range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let mut out: Vec<Cell> = vec![Cell::default(); col0];
            out.extend(cells.iter().map(|d| match d {
                Data::Empty => Cell::default(),
                Data::String(s) => Cell {
                    text: s.clone(),
                    numeric: false,
                },
                Data::Int(n) => Cell {
                    text: n.to_string(),
                    numeric: true,
                },
                Data::Float(f) => Cell {
                    text: format_float(*f),
                    numeric: true,
                },
                Data::Bool(b) => Cell {
                    text: if *b { "是" } else { "否" }.into(),
                    numeric: false,
                },
                Data::DateTime(dt) => Cell {
                    text: excel_serial_to_date(dt.as_f64()),
                    numeric: false,
                },
                Data::DateTimeIso(s) | Data::DurationIso(s) => Cell {
                    text: s.clone(),
                    numeric: false,
                },
                Data::Error(e) => Cell {
                    text: format!("#{e:?}"),
                    numeric: false,
                },
            }));
            Row {
                number: row0 + i + 1,
                cells: out,
            }
        })
        .collect()
}

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

fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return encoding_rs::UTF_16LE.decode(bytes).0.into_owned();
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return encoding_rs::UTF_16BE.decode(bytes).0.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        // Excel on a Chinese Windows saves CSV in GBK; GB18030 is its superset.
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

fn csv_rows(bytes: &[u8]) -> Result<Vec<Row>, SheetError> {
    let text = decode_text(bytes);
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|d| {
            first_line.matches(*d as char).count()
                + text
                    .lines()
                    .take(40)
                    .map(|l| l.matches(*d as char).count())
                    .sum::<usize>()
        })
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| SheetError::Unreadable(format!("CSV 格式有误：{e}")))?;
        let number = rec
            .position()
            .map(|p| p.line() as usize)
            .unwrap_or(rows.len() + 1);
        let cells = rec
            .iter()
            .map(|s| Cell {
                text: s.to_string(),
                numeric: false,
            })
            .collect();
        rows.push(Row { number, cells });
    }
    if rows.is_empty() {
        return Err(SheetError::Empty);
    }
    Ok(rows)
}

fn find_header(rows: &[Row]) -> Result<Header, SheetError> {
    for row in rows.iter().take(30) {
        let mut columns: Vec<(usize, Field)> = Vec::new();
        let mut ignored = Vec::new();
        for (i, c) in row.cells.iter().enumerate() {
            match Field::from_header(&c.text) {
                Some(f) => {
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
                    let t = c.text.trim();
                    if !t.is_empty()
                        && !matches!(unit_name_key(t).as_str(), "序号" | "编号" | "备注" | "序")
                    {
                        ignored.push(t.to_string());
                    }
                }
            }
        }
        let has = |f: Field| columns.iter().any(|(_, g)| *g == f);
        if has(Field::Name) && has(Field::IdNumber) {
            return Ok(Header {
                row: row.number,
                columns,
                ignored,
            });
        }
    }
    Err(SheetError::NoHeader)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_aliases() {
        assert_eq!(Field::from_header("姓 名"), Some(Field::Name));
        assert_eq!(Field::from_header("公民身份号码"), Some(Field::IdNumber));
        assert_eq!(Field::from_header("职务（岗位）"), Some(Field::Post));
        assert_eq!(Field::from_header("*身份证号(必填)"), Some(Field::IdNumber));
        assert_eq!(Field::from_header("序号"), None);
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
    }
}
