//! Certificate cards (行政执法证): PDF cards and print sheets, and the SVG preview.
//!
//! A print run takes a selection (numbers, or every valid certificate of a unit and the units
//! under it), checks all of it first (unknown, out of scope, not valid, a character no font
//! has, a photo that cannot be decoded: refused with the card named, nothing printed), then
//! draws each card from one design (`layout`) into A4 sheets with cut marks and duplex-aligned
//! backs, or one card per page for card printers. Each card's QR code holds its verification
//! link with the signed payload (`verify::rules`).

pub mod db;
pub mod layout;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::auth::{Capability, Grant};
use crate::certs::rules::CertState;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::pdf::{self, Doc, ImageId, Rgb8, Style};
use crate::roster::Scope;
use crate::signing::{Algorithm, Keyring};
use crate::verify;
use layout::{Canvas, Card, Picture};

/// At most this many cards in one print run.
pub const MAX_CARDS: usize = 20_000;
/// A card's photo box is 19 × 25.4 mm; this is about 240 dpi.
const PHOTO_PX: (u32, u32) = (180, 240);
/// The photos' JPEG quality in the PDF.
const PHOTO_QUALITY: u8 = 80;
/// QR pixels per module in the PDF: one; the image is marked not to be interpolated, so
/// viewers and printers scale its modules up square and sharp.
const QR_SCALE: usize = 1;

/// What signs and where the QR codes lead.
pub struct Press<'a> {
    pub keyring: &'a Keyring,
    pub algorithm: Algorithm,
    pub public_url: &'a str,
    pub supervisor: &'a str,
}

/// How cards are laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// A4 sheets of ten, with cut marks; each sheet of fronts is followed by its backs, placed
    /// to print duplex (turn on the long edge).
    #[default]
    A4,
    /// One card per page, front then back (card printers).
    Card,
}

impl Layout {
    pub fn parse(s: &str) -> Option<Layout> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a4" => Some(Layout::A4),
            "card" => Some(Layout::Card),
            _ => None,
        }
    }
}

/// Which cards to print.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct Selection {
    /// Certificate numbers (printed in this order).
    #[serde(default)]
    pub numbers: Vec<String>,
    /// A unit's code: every valid certificate of it and the units under it.
    #[serde(default)]
    pub unit: Option<String>,
    /// An exam batch's id: every valid certificate issued from its results (批次制证).
    #[serde(default)]
    pub batch: Option<i64>,
    #[serde(default)]
    pub layout: Layout,
}

/// The certificates a selection names, checked: their ids in print order.
pub fn resolve(conn: &mut DbConn, grant: &Grant, sel: &Selection) -> Result<Vec<i64>> {
    grant.require(Capability::ManageCerts)?;
    let scope_path = match grant.scope() {
        Scope::All => None,
        Scope::Subtree(p) => Some(p.clone()),
        Scope::Officer(_) | Scope::Nothing => return Err(Error::Forbidden("无权制证".into())),
    };
    let valid = CertState::Valid.label();
    let mut ids = Vec::new();
    let mut taken = std::collections::HashSet::new();
    let mut problems = Vec::new();
    let numbers: Vec<&str> = sel
        .numbers
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    if numbers.len() > MAX_CARDS {
        return Err(Error::invalid(
            "numbers",
            format!(
                "一次最多制证 {MAX_CARDS} 张，本次 {} 张：请分批",
                numbers.len()
            ),
        ));
    }
    if !numbers.is_empty() {
        let found = crate::certs::db::by_numbers(conn, &numbers)?;
        let by_number: std::collections::HashMap<&str, &crate::certs::db::Row> =
            found.iter().map(|r| (r.number.as_str(), r)).collect();
        let paths: std::collections::HashMap<i64, String> =
            db::unit_paths(conn, &found.iter().map(|r| r.id).collect::<Vec<_>>())?
                .into_iter()
                .collect();
        for (i, n) in numbers.iter().enumerate() {
            let row = by_number.get(n).copied().filter(|r| {
                scope_path
                    .as_deref()
                    .is_none_or(|p| paths.get(&r.id).is_some_and(|up| up.starts_with(p)))
            });
            match row {
                None => problems.push(format!("第 {} 个证号 {n}：未找到", i + 1)),
                Some(r) if r.state != valid => problems.push(format!(
                    "第 {} 个证号 {n}：证件状态为“{}”，只能为有效证件制证",
                    i + 1,
                    r.state
                )),
                Some(r) if !taken.insert(r.id) => {
                    problems.push(format!("第 {} 个证号 {n}：重复", i + 1))
                }
                Some(r) => ids.push(r.id),
            }
        }
    }
    if let Some(code) = sel.unit.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        let unit = crate::roster::db::unit_by_code(conn, code)?
            .filter(|u| scope_path.as_deref().is_none_or(|p| u.path.starts_with(p)))
            .ok_or_else(|| {
                Error::invalid("unit", format!("单位代码 {code} 不存在或不在管理范围内"))
            })?;
        for id in db::valid_ids(conn, Some(&unit.path), None, valid)? {
            if taken.insert(id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            problems.push(format!("{} 及其下级单位没有有效的执法证", unit.name));
        }
    }
    if let Some(batch) = sel.batch {
        let found = db::valid_ids(conn, scope_path.as_deref(), Some(batch), valid)?;
        if found.is_empty() {
            problems.push(format!(
                "考试批次 {batch} 没有由其成绩核发、现仍有效的执法证"
            ));
        }
        for id in found {
            if taken.insert(id) {
                ids.push(id);
            }
        }
    }
    if numbers.is_empty()
        && sel.unit.as_deref().is_none_or(|c| c.trim().is_empty())
        && sel.batch.is_none()
    {
        return Err(Error::invalid(
            "numbers",
            "请给出要制证的证号、单位代码或考试批次",
        ));
    }
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(20);
        let mut text = problems.into_iter().take(20).collect::<Vec<_>>().join("；");
        if more > 0 {
            text.push_str(&format!("；另有 {more} 处问题"));
        }
        return Err(Error::invalid("numbers", format!("未制证：{text}")));
    }
    if ids.len() > MAX_CARDS {
        return Err(Error::invalid(
            "numbers",
            format!(
                "一次最多制证 {MAX_CARDS} 张，本次 {} 张：请按单位分批",
                ids.len()
            ),
        ));
    }
    Ok(ids)
}

/// A card's content and its photo's bytes.
pub struct Prepared {
    pub card: Card,
    pub photo: Option<Vec<u8>>,
    pub link: String,
}

/// Reads what each card shows, in the order of `ids`.
pub fn prepare(conn: &mut DbConn, press: &Press, ids: &[i64]) -> Result<Vec<Prepared>> {
    let mut found = Vec::with_capacity(ids.len());
    let mut reviews: std::collections::HashMap<i64, Vec<(i32, String)>> = Default::default();
    let mut photos: std::collections::HashMap<i64, Vec<u8>> = Default::default();
    for chunk in ids.chunks(5000) {
        let rows = verify::db::by_ids(conn, chunk)?;
        for (id, year, result) in verify::db::decided_reviews(conn, chunk)? {
            reviews.entry(id).or_default().push((year, result));
        }
        let officers: Vec<i64> = rows.iter().map(|r| r.officer_id).collect();
        photos.extend(db::photos(conn, &officers)?);
        found.extend(rows);
    }
    let position: std::collections::HashMap<i64, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    found.sort_by_key(|f| position.get(&f.id).copied().unwrap_or(usize::MAX));
    let links = verify::card_links(press.keyring, press.algorithm, press.public_url, &found)?;
    let date = |d: Option<chrono::NaiveDate>| {
        d.map(crate::roster::rules::chinese_date)
            .unwrap_or_else(|| "—".into())
    };
    found
        .into_iter()
        .zip(links)
        .map(|(f, link)| {
            let photo = photos.remove(&f.officer_id);
            Ok(Prepared {
                card: Card {
                    has_photo: photo.is_some(),
                    reviews: reviews.remove(&f.id).unwrap_or_default(),
                    valid_from: date(f.issued_on),
                    valid_until: date(f.valid_until),
                    number: f.number,
                    name: f.name,
                    unit: f.unit,
                    category: f.category,
                    region: f.region,
                    issuer: f.issuer,
                    supervisor: press.supervisor.to_string(),
                    // drawn later, on every core ([`rasterise`])
                    qr: (Vec::new(), 0),
                },
                photo,
                link,
            })
        })
        .collect()
}

/// The QR code's modules (medium error correction: a worn card still scans).
pub fn qr_modules(text: &str) -> Result<(Vec<bool>, usize)> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::Internal(anyhow::anyhow!("二维码无法生成：{e}")))?;
    let width = code.width();
    let modules = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Ok((modules, width))
}

/// Greyscale pixels of a QR code with its quiet zone, `QR_SCALE` pixels per module.
fn qr_pixels((modules, width): &(Vec<bool>, usize)) -> (Vec<u8>, usize) {
    let quiet = 2;
    let side = (width + 2 * quiet) * QR_SCALE;
    let mut px = vec![255u8; side * side];
    for y in 0..*width {
        for x in 0..*width {
            if modules[y * width + x] {
                for dy in 0..QR_SCALE {
                    let row = ((y + quiet) * QR_SCALE + dy) * side;
                    let start = row + (x + quiet) * QR_SCALE;
                    px[start..start + QR_SCALE].fill(0);
                }
            }
        }
    }
    (px, side)
}

/// Refuses the run if a card has a character no font covers, naming the card.
fn check_fonts(cards: &[Prepared]) -> Result<()> {
    for p in cards {
        let c = &p.card;
        let text = [
            &c.name,
            &c.unit,
            &c.category,
            &c.region,
            &c.issuer,
            &c.number,
            &c.supervisor,
        ];
        for t in text {
            if let Err(e) = pdf::check_printable(t) {
                return Err(Error::invalid(
                    "font",
                    format!("执法证 {}（{}）无法制证：{e}", c.number, c.name),
                ));
            }
        }
    }
    Ok(())
}

/// Encodes every QR code and decodes every photo, on every core (the costly part of a large
/// run); a photo that cannot be decoded refuses the run.
fn rasterise(cards: &mut [Prepared]) -> Result<Vec<Option<pdf::Jpeg>>> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let chunk = cards.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<Option<pdf::Jpeg>>>> = std::thread::scope(|s| {
        let handles: Vec<_> = cards
            .chunks_mut(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter_mut()
                        .map(|p| {
                            p.card.qr = qr_modules(&p.link)?;
                            Ok(p)
                        })
                        .map(|p: Result<&mut Prepared>| {
                            match p {
                            Err(e) => Err(e),
                            Ok(p) => match &p.photo {
                            None => Ok(None),
                            Some(bytes) => pdf::photo_jpeg(bytes, PHOTO_PX, PHOTO_QUALITY).map(Some).map_err(|_| {
                                Error::invalid(
                                    "photo",
                                    format!(
                                        "执法证 {}（{}）的照片无法解码：请重新上传照片后再制证",
                                        p.card.number, p.card.name
                                    ),
                                )
                            }),
                            },
                        }
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Internal(anyhow::anyhow!("照片解码线程失败"))))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(cards.len());
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

/// Draws on a PDF page, with the current card's pictures.
struct PdfCanvas<'a> {
    page: &'a mut pdf::Page,
    photo: Option<ImageId>,
    qr: ImageId,
}

impl Canvas for PdfCanvas<'_> {
    fn spaced_text(
        &mut self,
        style: Style,
        size: f32,
        at: (f32, f32),
        color: Rgb8,
        spacing: f32,
        text: &str,
    ) {
        self.page.text_spaced(style, size, at, color, spacing, text);
    }
    fn rect(
        &mut self,
        at: (f32, f32),
        size: (f32, f32),
        fill: Option<Rgb8>,
        stroke: Option<(Rgb8, f32)>,
    ) {
        self.page.rect(at, size, fill, stroke);
    }
    fn line(&mut self, points: &[(f32, f32)], color: Rgb8, width: f32) {
        self.page.line(points, color, width, false);
    }
    fn picture(&mut self, what: Picture, at: (f32, f32), size: (f32, f32)) {
        match what {
            Picture::Photo => {
                if let Some(id) = self.photo {
                    self.page.image(id, at, size);
                }
            }
            Picture::Qr => self.page.image(self.qr, at, size),
        }
    }
}

/// The PDF of these cards.
pub fn render(mut cards: Vec<Prepared>, layout: Layout) -> Result<Vec<u8>> {
    check_fonts(&cards)?;
    let photos = rasterise(&mut cards)?;
    let mut doc = Doc::new("行政执法证");
    let images: Vec<(Option<ImageId>, ImageId)> = cards
        .iter()
        .zip(photos)
        .map(|(p, photo)| {
            let photo = photo.map(|jpeg| doc.add_jpeg(jpeg));
            let (px, side) = qr_pixels(&p.card.qr);
            (photo, doc.add_gray(px, side, side))
        })
        .collect();
    match layout {
        Layout::Card => {
            for (p, (photo, qr)) in cards.iter().zip(&images) {
                let page = doc.page(layout::WIDTH, layout::HEIGHT);
                layout::front(
                    &mut PdfCanvas {
                        page,
                        photo: *photo,
                        qr: *qr,
                    },
                    &p.card,
                );
                let page = doc.page(layout::WIDTH, layout::HEIGHT);
                layout::back(
                    &mut PdfCanvas {
                        page,
                        photo: *photo,
                        qr: *qr,
                    },
                    &p.card,
                );
            }
        }
        Layout::A4 => {
            for (sheet, imgs) in cards
                .chunks(layout::PER_SHEET)
                .zip(images.chunks(layout::PER_SHEET))
            {
                for back in [false, true] {
                    let page = doc.page(layout::A4_WIDTH, layout::A4_HEIGHT);
                    for (i, (p, (photo, qr))) in sheet.iter().zip(imgs).enumerate() {
                        let at = layout::a4_slot(i, back);
                        let mut canvas = PdfCanvas {
                            page: &mut *page,
                            photo: *photo,
                            qr: *qr,
                        };
                        if !back {
                            layout::cut_marks(&mut canvas, at);
                        }
                        let mut shifted = layout::Shifted {
                            inner: &mut canvas,
                            by: at,
                        };
                        if back {
                            layout::back(&mut shifted, &p.card);
                        } else {
                            layout::front(&mut shifted, &p.card);
                        }
                    }
                }
            }
        }
    }
    doc.render()
}

/// Draws an SVG (the browser's preview of a card).
struct SvgCanvas {
    out: String,
    photo: Option<String>,
    qr: (Vec<bool>, usize),
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn rgb(c: Rgb8) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

impl Canvas for SvgCanvas {
    fn spaced_text(
        &mut self,
        style: Style,
        size: f32,
        (x, y): (f32, f32),
        color: Rgb8,
        spacing: f32,
        text: &str,
    ) {
        let weight = if style == Style::Bold {
            " font-weight=\"bold\""
        } else {
            ""
        };
        let spacing = if spacing != 0.0 {
            format!(" letter-spacing=\"{spacing:.2}\"")
        } else {
            String::new()
        };
        self.out.push_str(&format!(
            "<text x=\"{x:.2}\" y=\"{:.2}\" font-size=\"{:.3}\" fill=\"{}\"{weight}{spacing}>{}</text>",
            layout::HEIGHT - y,
            size * 25.4 / 72.0,
            rgb(color),
            esc(text)
        ));
    }
    fn rect(
        &mut self,
        (x, y): (f32, f32),
        (w, h): (f32, f32),
        fill: Option<Rgb8>,
        stroke: Option<(Rgb8, f32)>,
    ) {
        let fill = fill.map_or("none".to_string(), rgb);
        let stroke = stroke.map_or(String::new(), |(c, pt)| {
            format!(
                " stroke=\"{}\" stroke-width=\"{:.3}\"",
                rgb(c),
                pt * 25.4 / 72.0
            )
        });
        self.out.push_str(&format!(
            "<rect x=\"{x:.2}\" y=\"{:.2}\" width=\"{w:.2}\" height=\"{h:.2}\" fill=\"{fill}\"{stroke}/>",
            layout::HEIGHT - y - h
        ));
    }
    fn line(&mut self, points: &[(f32, f32)], color: Rgb8, width: f32) {
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.2},{:.2}", layout::HEIGHT - y))
            .collect();
        self.out.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{:.3}\"/>",
            pts.join(" "),
            rgb(color),
            width * 25.4 / 72.0
        ));
    }
    fn picture(&mut self, what: Picture, (x, y): (f32, f32), (w, h): (f32, f32)) {
        let top = layout::HEIGHT - y - h;
        match what {
            Picture::Photo => {
                if let Some(href) = &self.photo {
                    self.out.push_str(&format!(
                        "<image x=\"{x:.2}\" y=\"{top:.2}\" width=\"{w:.2}\" height=\"{h:.2}\" href=\"{href}\"/>"
                    ));
                }
            }
            Picture::Qr => {
                let (modules, n) = &self.qr;
                let m = w / (*n as f32 + 4.0);
                let mut d = String::new();
                for r in 0..*n {
                    for c in 0..*n {
                        if modules[r * n + c] {
                            d.push_str(&format!(
                                "M{:.3} {:.3}h{m:.3}v{m:.3}h-{m:.3}z",
                                x + (c as f32 + 2.0) * m,
                                top + (r as f32 + 2.0) * m
                            ));
                        }
                    }
                }
                self.out.push_str(&format!(
                    "<rect x=\"{x:.2}\" y=\"{top:.2}\" width=\"{w:.2}\" height=\"{h:.2}\" fill=\"#fff\"/><path d=\"{d}\" fill=\"#000\"/>"
                ));
            }
        }
    }
}

/// One side of a card as SVG.
pub fn svg(p: &Prepared, back: bool) -> String {
    let photo = p.photo.as_ref().map(|bytes| {
        let mime = match imagesize::image_type(bytes) {
            Ok(imagesize::ImageType::Png) => "image/png",
            _ => "image/jpeg",
        };
        format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    });
    let mut c = SvgCanvas {
        out: String::new(),
        photo,
        qr: p.card.qr.clone(),
    };
    if back {
        layout::back(&mut c, &p.card);
    } else {
        layout::front(&mut c, &p.card);
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" width=\"{}mm\" height=\"{}mm\" font-family=\"'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif\">{}</svg>",
        layout::WIDTH,
        layout::HEIGHT,
        layout::WIDTH,
        layout::HEIGHT,
        c.out
    )
}

/// The QR code's content for one certificate (for card printers that draw their own layout).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QrContent {
    pub number: String,
    /// What the QR code holds: the verification link with the signed payload.
    pub link: String,
    /// The signed payload alone (what `zhifa verify-qr` reads).
    pub payload: String,
}

/// The prepared card of one certificate the caller may print: the same rule as a print run
/// (a valid certificate of the caller's units), so a preview or a signed QR content is never
/// handed out for a card that could not be printed.
pub fn one(conn: &mut DbConn, grant: &Grant, press: &Press, number: &str) -> Result<Prepared> {
    let sel = Selection {
        numbers: vec![number.to_string()],
        ..Default::default()
    };
    let ids = match resolve(conn, grant, &sel) {
        Ok(ids) => ids,
        Err(Error::Invalid { message, .. }) if message.contains("未找到") => {
            return Err(Error::not_found("执法证"));
        }
        Err(e) => return Err(e),
    };
    let mut cards = prepare(conn, press, &ids)?;
    let mut one = cards.pop().ok_or_else(|| Error::not_found("执法证"))?;
    one.card.qr = qr_modules(&one.link)?;
    Ok(one)
}

pub fn qr_content(
    conn: &mut DbConn,
    grant: &Grant,
    press: &Press,
    number: &str,
) -> Result<QrContent> {
    let p = one(conn, grant, press, number)?;
    Ok(QrContent {
        number: p.card.number,
        payload: verify::rules::payload_of(&p.link).to_string(),
        link: p.link,
    })
}

/// Prints a selection: checks it, then draws it.
pub fn print(
    conn: &mut DbConn,
    grant: &Grant,
    press: &Press,
    sel: &Selection,
) -> Result<(Vec<u8>, usize)> {
    let ids = resolve(conn, grant, sel)?;
    let cards = prepare(conn, press, &ids)?;
    let n = cards.len();
    let mut listed: Vec<&str> = cards
        .iter()
        .take(50)
        .map(|p| p.card.number.as_str())
        .collect();
    if n > listed.len() {
        listed.push("…");
    }
    let summary = format!(
        "制证 {n} 张（{}）：{}",
        match sel.layout {
            Layout::A4 => "A4 裁切版",
            Layout::Card => "证卡打印机版",
        },
        listed.join("、")
    );
    let pdf = render(cards, sel.layout)?;
    // who printed which cards is on the record (a card is a credential)
    crate::audit::transaction(conn, grant.actor(), |conn, rec| {
        rec.record(
            conn,
            crate::audit::Change::new("cards.print", "certificate", n, summary),
        )
    })?;
    Ok((pdf, n))
}
