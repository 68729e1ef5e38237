//! CSV in UTF-8, GBK/GB18030 or UTF-16: decoded and split as a stream, a field at a time.

use super::assemble::{Asm, Flow};
use super::value::Val;
use super::{MAX_CELL_CHARS, SheetError, brief};
use std::io::Read;

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
pub(super) fn csv_stream<F>(bytes: &[u8], asm: &mut Asm<F>) -> Result<bool, SheetError> {
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

    fn feed<F>(&mut self, chunk: &[u8], asm: &mut Asm<F>) -> Result<(), SheetError> {
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

    fn finish<F>(&mut self, asm: &mut Asm<F>) -> Result<(), SheetError> {
        if self.in_record && !self.stop {
            self.end_record(asm, 0)?;
        }
        Ok(())
    }

    fn begin_field<F>(&mut self, asm: &Asm<F>) {
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

    fn end_field<F>(&mut self, asm: &mut Asm<F>) -> Result<(), SheetError> {
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

    fn end_record<F>(&mut self, asm: &mut Asm<F>, b: u8) -> Result<(), SheetError> {
        self.end_field(asm)?;
        self.in_record = false;
        self.records += 1;
        if b == b'\n' {
            self.line += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{ID, MB, meter};
    use crate::sheet::MAX_COLUMNS;
    use crate::sheet::testkit::{Field, read};

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

    proptest::proptest! {
        #[test]
        fn arbitrary_csv_text_never_panics(text in "(姓名|身份证号|所在单位|[\\PC]{0,12})([,\t\n\"]{1,2}(姓名|身份证号|所在单位|[\\PC]{0,12})){0,40}") {
            let _ = read("x.csv", text.as_bytes());
        }
    }
}
