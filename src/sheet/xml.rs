//! A streaming look through XML: tags, the attributes asked for, text lengths. Nothing is
//! built, so a hostile part costs time in proportion to its size and little memory.

use super::value::clip;
use super::{MIB, SheetError, not_a_workbook};
use std::io::Read;

/// An attribute asked for, over all the occurrences in one tag (matched by local name).
#[derive(Debug, Clone, Default)]
pub(super) struct XmlAttr {
    pub(super) found: bool,
    /// The first occurrence's value as written (entities not decoded), its first 4 KB.
    pub(super) value: Vec<u8>,
    len: u64,
    pub(super) max_len: u64,
    /// The largest value that reads as a whole number (saturating), if any.
    pub(super) max_num: Option<u64>,
}

impl XmlAttr {
    const KEEP: usize = 4096;

    pub(super) fn truncated(&self) -> bool {
        self.len > self.value.len() as u64
    }
}

/// Element names are kept up to this length (a start tag's name one byte longer, to tell).
pub(super) const MAX_XML_NAME: usize = 128;

pub(super) enum XmlEvent<'a> {
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

pub(super) fn local_name(name: &[u8]) -> &[u8] {
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

pub(super) fn xml_unescape(v: &[u8]) -> String {
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
pub(super) fn scan_xml(
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

#[cfg(test)]
mod tests {
    use super::super::testkit::{ID, MB, inline, raw_xlsx};
    use crate::sheet::testkit::{read, read_with};
    use crate::sheet::{LIMITS, Limits, MIB, SheetError};

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
}
