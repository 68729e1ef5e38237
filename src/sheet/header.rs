//! Header cells as compared with the aliases a layout lists.

use crate::roster::rules::to_half_width;

/// A header cell cleaned for comparison (half-width, no spaces, stars or colons), and the same
/// without a trailing note in brackets ("身份证号（必填）" → "身份证号").
pub fn header_keys(raw: &str) -> (String, String) {
    let s: String = to_half_width(raw)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '*' | '※' | ':' | '\u{200B}' | '\u{FEFF}'))
        .collect();
    let stripped = s.split(['(', '[', '【']).next().unwrap_or("").to_string();
    (s, stripped)
}
