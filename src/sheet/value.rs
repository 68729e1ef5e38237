//! A cell's value as a reader met it, and the text it becomes: numbers as Excel shows them,
//! date serials as dates, long text clipped.

use super::{Cell, MAX_CELL_CHARS};

/// A cell value as a reader met it; turned into text only if the cell is kept.
#[derive(Clone, Copy)]
pub(super) enum Val<'a> {
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
    pub(super) fn has_content(&self) -> bool {
        match self {
            Val::Empty => false,
            Val::Str(s, cut) => *cut || !s.trim().is_empty(),
            Val::Unkept(c) => *c,
            _ => true,
        }
    }

    pub(super) fn to_cell(self) -> Cell {
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

pub(super) fn val_ref<'a>(d: &'a calamine::DataRef<'_>) -> Val<'a> {
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

pub(super) fn val_data(d: &calamine::Data) -> Val<'_> {
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
pub(super) fn clip(s: &str, max: usize) -> (String, bool) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (s[..i].to_string(), true),
        None => (s.to_string(), false),
    }
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
