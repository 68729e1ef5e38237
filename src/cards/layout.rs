//! The card's design, drawn once for every output: the PDF (cards and print sheets) and the SVG
//! preview in the browser. Millimetres from the card's bottom-left corner; text `y` is the
//! baseline.
//!
//! The national style since 2022: ID-1 (85.60 × 53.98 mm), landscape. Front: a red title band
//! (行政执法证), the photo on the left, name, unit, category, region, issuing authority and
//! validity beside it, the QR code on the right, the number along the foot. Back: the annual
//! review record (year and result, with empty boxes for the years to come), the usage notes
//! (使用须知), and the supervising government's line (××省人民政府监制).

use crate::pdf::{Rgb8, Style, measure, wrap};

pub const WIDTH: f32 = 85.60;
pub const HEIGHT: f32 = 53.98;

/// What a card shows.
#[derive(Debug, Clone)]
pub struct Card {
    pub number: String,
    pub name: String,
    pub unit: String,
    pub category: String,
    pub region: String,
    pub issuer: String,
    pub valid_from: String,
    pub valid_until: String,
    /// Decided reviews, oldest first: (year, result).
    pub reviews: Vec<(i32, String)>,
    /// The line at the foot of the back (××省人民政府监制); empty: none.
    pub supervisor: String,
    /// Modules of the QR code, row by row (true: dark), and its width in modules.
    pub qr: (Vec<bool>, usize),
    pub has_photo: bool,
}

/// The pictures a card places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picture {
    Photo,
    Qr,
}

/// Where a card is drawn.
pub trait Canvas {
    fn text(&mut self, style: Style, size: f32, at: (f32, f32), color: Rgb8, text: &str) {
        self.spaced_text(style, size, at, color, 0.0, text);
    }
    /// Text with `spacing` mm after each character.
    fn spaced_text(
        &mut self,
        style: Style,
        size: f32,
        at: (f32, f32),
        color: Rgb8,
        spacing: f32,
        text: &str,
    );
    fn rect(
        &mut self,
        at: (f32, f32),
        size: (f32, f32),
        fill: Option<Rgb8>,
        stroke: Option<(Rgb8, f32)>,
    );
    fn line(&mut self, points: &[(f32, f32)], color: Rgb8, width: f32);
    fn picture(&mut self, what: Picture, at: (f32, f32), size: (f32, f32));
}

const RED: Rgb8 = Rgb8(190, 22, 34);
const INK: Rgb8 = Rgb8(30, 30, 30);
const LABEL: Rgb8 = Rgb8(90, 90, 90);
const RULE: Rgb8 = Rgb8(205, 160, 160);

/// The usage notes on the back.
pub const NOTES: [&str; 5] = [
    "本证是持证人从事行政执法活动的资格证明，限在证载执法类别和区域内使用。",
    "执法时应主动出示本证，表明身份，接受监督。",
    "本证限本人使用，不得转借、涂改、损毁；遗失应及时报告发证机关。",
    "本证应按规定参加年审，未年审或年审不合格的，暂扣或注销。",
    "扫描正面二维码，可即时核验本证的真伪和状态。",
];

/// The largest size ≤ `size` (down to `min`) at which `text` fits `width` mm.
fn fit(style: Style, size: f32, min: f32, width: f32, text: &str) -> f32 {
    let mut s = size;
    while s > min && measure(style, s, text) > width {
        s -= 0.25;
    }
    s
}

/// Text with `gap` mm between its characters (a title's letter spacing), centred on `cx`.
#[allow(clippy::too_many_arguments)]
fn spaced(
    c: &mut dyn Canvas,
    style: Style,
    size: f32,
    cx: f32,
    y: f32,
    gap: f32,
    color: Rgb8,
    text: &str,
) {
    let n = text.chars().count();
    let total = measure(style, size, text) + gap * n.saturating_sub(1) as f32;
    c.spaced_text(style, size, (cx - total / 2.0, y), color, gap, text);
}

/// A label and its value; a long value shrinks, then breaks into two balanced lines. Returns
/// the next baseline.
fn field(c: &mut dyn Canvas, (x, y): (f32, f32), width: f32, label: &str, value: &str) -> f32 {
    const SIZE: f32 = 6.5;
    const LEAD: f32 = 3.9;
    let label_w = measure(Style::Regular, 5.5, "执法类别") + 1.2;
    c.text(Style::Regular, 5.5, (x, y), LABEL, label);
    let room = width - label_w;
    let size = fit(Style::Bold, SIZE, 5.75, room, value);
    if measure(Style::Bold, size, value) <= room {
        c.text(Style::Bold, size, (x + label_w, y), INK, value);
        return y - LEAD;
    }
    // two lines of about equal length (松原市长岭县人力资源 / 和社会保障局), not a lone 局
    let chars: Vec<char> = value.chars().collect();
    let half = chars.len().div_ceil(2);
    let (a, b): (String, String) = (
        chars[..half].iter().collect(),
        chars[half..].iter().collect(),
    );
    let size = fit(
        Style::Bold,
        6.0,
        4.5,
        room,
        if a.len() >= b.len() { &a } else { &b },
    );
    c.text(Style::Bold, size, (x + label_w, y), INK, &a);
    c.text(Style::Bold, size, (x + label_w, y - 2.6), INK, &b);
    y - 2.6 - LEAD
}

pub fn front(c: &mut dyn Canvas, card: &Card) {
    // the card's face and a fine red frame
    c.rect((0.0, 0.0), (WIDTH, HEIGHT), Some(Rgb8(255, 253, 248)), None);
    c.rect(
        (1.6, 1.6),
        (WIDTH - 3.2, HEIGHT - 3.2),
        None,
        Some((RULE, 0.4)),
    );
    // title band
    c.rect((1.6, HEIGHT - 11.0), (WIDTH - 3.2, 9.4), Some(RED), None);
    spaced(
        c,
        Style::Bold,
        15.0,
        WIDTH / 2.0,
        HEIGHT - 8.1,
        2.2,
        Rgb8(255, 255, 255),
        "行政执法证",
    );
    // photo (or an empty box to paste one in)
    let (px, py, pw, ph) = (4.6, 13.4, 19.0, 25.4);
    if card.has_photo {
        c.picture(Picture::Photo, (px, py), (pw, ph));
    } else {
        c.rect((px, py), (pw, ph), None, Some((LABEL, 0.3)));
        c.text(
            Style::Regular,
            5.0,
            (px + 6.0, py + ph / 2.0),
            LABEL,
            "照片",
        );
    }
    // fields
    let x = 26.4;
    let width = 62.0 - x;
    let mut y = HEIGHT - 15.6;
    y = field(c, (x, y), width, "姓　　名", &card.name);
    y = field(c, (x, y), width, "工作单位", &card.unit);
    y = field(c, (x, y), width, "执法类别", &card.category);
    y = field(c, (x, y), width, "执法区域", &card.region);
    let _ = field(c, (x, y), width, "发证机关", &card.issuer);
    // QR code, its caption above the foot's rule
    let q = 19.0;
    c.picture(Picture::Qr, (WIDTH - 4.2 - q, 17.0), (q, q));
    let cap = "扫码核验真伪";
    c.text(
        Style::Regular,
        4.6,
        (
            WIDTH - 4.2 - q / 2.0 - measure(Style::Regular, 4.6, cap) / 2.0,
            13.2,
        ),
        LABEL,
        cap,
    );
    // the foot: the number, and the validity on the right
    c.line(&[(4.6, 10.6), (WIDTH - 4.6, 10.6)], RULE, 0.4);
    let right = WIDTH - 4.6;
    let (from, until) = (format!("{} 至", card.valid_from), card.valid_until.clone());
    let dates_w = measure(Style::Bold, 6.0, &from).max(measure(Style::Bold, 6.0, &until));
    c.text(Style::Bold, 6.0, (right - dates_w, 7.3), INK, &from);
    c.text(Style::Bold, 6.0, (right - dates_w, 4.3), INK, &until);
    let label_x = right - dates_w - 1.2 - measure(Style::Regular, 5.5, "有效期限");
    c.text(Style::Regular, 5.5, (label_x, 5.8), LABEL, "有效期限");
    c.text(Style::Regular, 5.5, (4.6, 5.6), LABEL, "证号");
    let size = fit(Style::Bold, 9.0, 5.0, label_x - 12.0 - 2.0, &card.number);
    c.text(Style::Bold, size, (10.6, 5.4), RED, &card.number);
}

pub fn back(c: &mut dyn Canvas, card: &Card) {
    c.rect((0.0, 0.0), (WIDTH, HEIGHT), Some(Rgb8(255, 253, 248)), None);
    c.rect(
        (1.6, 1.6),
        (WIDTH - 3.2, HEIGHT - 3.2),
        None,
        Some((RULE, 0.4)),
    );
    spaced(
        c,
        Style::Bold,
        8.0,
        WIDTH / 2.0,
        HEIGHT - 6.4,
        1.2,
        RED,
        "年审记录",
    );
    // a table of six: the latest decided reviews, then empty boxes for the years to come
    let (x0, top, w, rh) = (4.6, HEIGHT - 8.6, WIDTH - 9.2, 4.2);
    let cols = [0.0, 0.18, 0.5, 0.68, 1.0].map(|f| x0 + f * w);
    let rows = 3;
    let bottom = top - rh * (rows as f32 + 1.0);
    c.rect((x0, bottom), (w, top - bottom), None, Some((INK, 0.5)));
    for r in 1..=rows {
        let y = top - rh * r as f32;
        c.line(&[(x0, y), (x0 + w, y)], INK, 0.3);
    }
    for &x in &cols[1..4] {
        c.line(
            &[(x, top), (x, bottom)],
            INK,
            if x == cols[2] { 0.5 } else { 0.3 },
        );
    }
    for pair in 0..2 {
        let (a, b) = (cols[pair * 2], cols[pair * 2 + 1]);
        let centre =
            |c: &mut dyn Canvas, l: f32, r: f32, y: f32, style: Style, text: &str, color: Rgb8| {
                let size = fit(style, 5.5, 4.0, r - l - 1.0, text);
                c.text(
                    style,
                    size,
                    ((l + r) / 2.0 - measure(style, size, text) / 2.0, y),
                    color,
                    text,
                );
            };
        centre(c, a, b, top - 3.0, Style::Bold, "年度", INK);
        centre(
            c,
            b,
            cols[pair * 2 + 2],
            top - 3.0,
            Style::Bold,
            "年审结论",
            INK,
        );
        let shown: Vec<&(i32, String)> = card
            .reviews
            .iter()
            .rev()
            .take(rows * 2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        for r in 0..rows {
            if let Some((year, result)) = shown.get(pair * rows + r) {
                let y = top - rh * (r as f32 + 1.0) - 3.0;
                centre(c, a, b, y, Style::Regular, &year.to_string(), INK);
                let color = if result == "合格" { INK } else { RED };
                centre(c, b, cols[pair * 2 + 2], y, Style::Regular, result, color);
            }
        }
    }
    // usage notes, and the number (so a back is matched to its front)
    let mut y = bottom - 4.0;
    c.text(Style::Bold, 6.0, (x0, y), RED, "使用须知");
    let no = format!("证号 {}", card.number);
    c.text(
        Style::Regular,
        4.6,
        (x0 + w - measure(Style::Regular, 4.6, &no), y),
        LABEL,
        &no,
    );
    y -= 3.2;
    for (i, note) in NOTES.iter().enumerate() {
        let text = format!("{}. {note}", i + 1);
        for line in wrap(Style::Regular, 5.0, w, &text) {
            c.text(Style::Regular, 5.0, (x0, y), INK, &line);
            y -= 2.45;
        }
    }
    if !card.supervisor.is_empty() {
        let size = 5.5;
        let s = &card.supervisor;
        c.text(
            Style::Regular,
            size,
            (WIDTH / 2.0 - measure(Style::Regular, size, s) / 2.0, 3.4),
            LABEL,
            s,
        );
    }
}

/// Where the `i`-th card of an A4 sheet goes (two columns, five rows), front or back. A back
/// sits behind its front when the sheet is printed on both sides and turned on its long edge,
/// so the columns swap.
pub fn a4_slot(i: usize, back: bool) -> (f32, f32) {
    let (col, row) = (i % 2, i / 2);
    let col = if back { 1 - col } else { col };
    let x = A4_LEFT + col as f32 * (WIDTH + A4_GAP_X);
    let y = A4_HEIGHT - A4_TOP - (row as f32 + 1.0) * HEIGHT - row as f32 * A4_GAP_Y;
    (x, y)
}

pub const A4_WIDTH: f32 = 210.0;
pub const A4_HEIGHT: f32 = 297.0;
pub const PER_SHEET: usize = 10;
const A4_GAP_X: f32 = 6.0;
const A4_GAP_Y: f32 = 3.0;
const A4_LEFT: f32 = (A4_WIDTH - 2.0 * WIDTH - A4_GAP_X) / 2.0;
const A4_TOP: f32 = (A4_HEIGHT - 5.0 * HEIGHT - 4.0 * A4_GAP_Y) / 2.0;

/// Cut marks at a card's corners: short lines just outside it, on the line to cut along.
pub fn cut_marks(c: &mut dyn Canvas, (x, y): (f32, f32)) {
    let (off, len) = (0.6, 2.2);
    let k = Rgb8(0, 0, 0);
    for (cx, sx) in [(x, -1.0), (x + WIDTH, 1.0)] {
        for (cy, sy) in [(y, -1.0), (y + HEIGHT, 1.0)] {
            c.line(&[(cx + sx * off, cy), (cx + sx * (off + len), cy)], k, 0.25);
            c.line(&[(cx, cy + sy * off), (cx, cy + sy * (off + len))], k, 0.25);
        }
    }
}

/// A canvas that draws at an offset on another (a card on a sheet).
pub struct Shifted<'a> {
    pub inner: &'a mut dyn Canvas,
    pub by: (f32, f32),
}

impl Canvas for Shifted<'_> {
    fn spaced_text(
        &mut self,
        style: Style,
        size: f32,
        (x, y): (f32, f32),
        color: Rgb8,
        spacing: f32,
        text: &str,
    ) {
        self.inner.spaced_text(
            style,
            size,
            (x + self.by.0, y + self.by.1),
            color,
            spacing,
            text,
        );
    }
    fn rect(
        &mut self,
        (x, y): (f32, f32),
        size: (f32, f32),
        fill: Option<Rgb8>,
        stroke: Option<(Rgb8, f32)>,
    ) {
        self.inner
            .rect((x + self.by.0, y + self.by.1), size, fill, stroke);
    }
    fn line(&mut self, points: &[(f32, f32)], color: Rgb8, width: f32) {
        let moved: Vec<(f32, f32)> = points
            .iter()
            .map(|(x, y)| (x + self.by.0, y + self.by.1))
            .collect();
        self.inner.line(&moved, color, width);
    }
    fn picture(&mut self, what: Picture, (x, y): (f32, f32), size: (f32, f32)) {
        self.inner
            .picture(what, (x + self.by.0, y + self.by.1), size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_a4_sheet_holds_ten_cards_inside_the_page_and_backs_mirror_fronts() {
        for i in 0..PER_SHEET {
            let (x, y) = a4_slot(i, false);
            assert!(x >= 5.0 && x + WIDTH <= A4_WIDTH - 5.0, "{i}: {x}");
            assert!(y >= 5.0 && y + HEIGHT <= A4_HEIGHT - 5.0, "{i}: {y}");
            let (bx, by) = a4_slot(i, true);
            assert_eq!(by, y);
            // mirrored about the sheet's vertical centre line
            assert!((bx + WIDTH / 2.0 - (A4_WIDTH - (x + WIDTH / 2.0))).abs() < 0.01);
        }
        // no two cards overlap
        for i in 0..PER_SHEET {
            for j in i + 1..PER_SHEET {
                let (a, b) = (a4_slot(i, false), a4_slot(j, false));
                assert!((a.0 - b.0).abs() >= WIDTH || (a.1 - b.1).abs() >= HEIGHT);
            }
        }
    }
}
