//! The zip container XLSX and ODS share: its declared sizes, and its parts found the way
//! calamine finds them.

use super::value::clip;
use super::xml::{XmlEvent, scan_xml};
use super::{MIB, SheetError, brief, not_a_workbook};
use std::collections::HashMap;
use std::io::{Cursor, Read};

pub(super) type Zip<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

pub(super) fn open_zip(bytes: &[u8]) -> Result<Zip<'_>, SheetError> {
    zip::ZipArchive::new(Cursor::new(bytes)).map_err(not_a_workbook)
}

pub(super) fn check_unpacked_size(zip: &mut Zip, limit: u64) -> Result<(), SheetError> {
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
pub(super) fn zip_index(zip: &Zip) -> HashMap<String, String> {
    zip.file_names()
        .filter_map(|n| n.ok())
        .map(|n| (n.replace('\\', "/").to_ascii_lowercase(), n.to_string()))
        .collect()
}

/// The archive's name for a part, found the way calamine finds it.
pub(super) fn part_name(index: &HashMap<String, String>, path: &str) -> String {
    index
        .get(&path.to_ascii_lowercase())
        .cloned()
        .unwrap_or_else(|| path.to_string())
}

/// The declared unpacked size of an entry, if it is there.
pub(super) fn entry_size(zip: &mut Zip, name: &str) -> Option<u64> {
    zip.by_name(name).ok().map(|f| f.size())
}

pub(super) fn is_ods(zip: &mut Zip) -> bool {
    let Ok(mut f) = zip.by_name("mimetype") else {
        return false;
    };
    let mut buf = [0u8; 46];
    f.read_exact(&mut buf).is_ok() && &buf[..] == b"application/vnd.oasis.opendocument.spreadsheet"
}

pub(super) fn oversized(part: &str, size: u64, cap: u64) -> SheetError {
    SheetError::Malformed(format!(
        "其中“{}”部分解压后有 {:.1} MB，超过该部分 {} MB 的上限",
        clip(part, 64).0,
        size as f64 / MIB as f64,
        cap / MIB
    ))
}

/// Looks through an entry with the XML scanner.
pub(super) fn scan_entry(
    zip: &mut Zip,
    name: &str,
    max_token: u64,
    attrs: &[&[u8]],
    on: impl FnMut(XmlEvent<'_>) -> Result<(), SheetError>,
) -> Result<(), SheetError> {
    let f = zip.by_name(name).map_err(not_a_workbook)?;
    scan_xml(f, name, max_token, attrs, on)
}

#[cfg(test)]
mod tests {
    use crate::sheet::testkit::read_with;
    use crate::sheet::{Header, LIMITS, Limits, Row, SheetError};

    /// `read` with another cap on what the workbook may unpack to.
    fn read_limited(
        filename: &str,
        bytes: &[u8],
        limit: u64,
    ) -> Result<(Header<crate::sheet::testkit::Field>, Vec<Row>), SheetError> {
        read_with(
            filename,
            bytes,
            &Limits {
                unpacked: limit,
                ..LIMITS
            },
        )
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
}
