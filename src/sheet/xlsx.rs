//! XLSX: the parts calamine loads whole when it opens a workbook are checked first; worksheets
//! are then streamed cell by cell.

use super::archive::{Zip, entry_size, open_zip, oversized, part_name, scan_entry, zip_index};
use super::assemble::{Asm, Flow};
use super::value::val_ref;
use super::xml::{XmlEvent, local_name, scan_xml, xml_unescape};
use super::{Limits, MAX_SHARED_STRINGS, MIB, SheetError, sheet_unreadable};
use std::io::Cursor;

pub(super) fn xlsx_precheck(bytes: &[u8], lim: &Limits) -> Result<(), SheetError> {
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

pub(super) fn xlsx_stream<F>(
    book: &mut calamine::Xlsx<Cursor<&[u8]>>,
    name: &str,
    asm: &mut Asm<F>,
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

#[cfg(test)]
mod tests {
    use super::super::testkit::{ID, MB, inline, meter, raw_xlsx, raw_xlsx_with, shared_strings};
    use crate::sheet::testkit::{Field, read, read_with};
    use crate::sheet::{LIMITS, Limits, MAX_COLUMNS, MIB, SheetError};

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
        assert!(matches!(r.unwrap_err(), SheetError::NoHeader(_)));
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

    proptest::proptest! {
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
    }
}
