//! The PDF machinery every printed document uses (admission tickets, score reports, cards).
//!
//! A document is drawn in millimetres from the bottom-left corner, with text in two styles.
//! Rendering picks a face per character (`fonts`), subsets each face to the glyphs the document
//! uses, and writes the text as text (Identity-H with a ToUnicode map), so a reader can copy a
//! name or number out of the PDF. A character no face covers refuses the whole document.

pub mod fonts;

use std::collections::{BTreeMap, BTreeSet};

use printpdf::{
    Color, Line, LineDashPattern, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument,
    PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, RawImage, Rect, Rgb, TextItem,
    XObjectTransform,
};

pub use fonts::Style;

use crate::error::{Error, Result};

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb8(pub u8, pub u8, pub u8);

impl Rgb8 {
    pub const BLACK: Rgb8 = Rgb8(0, 0, 0);
    pub const GREY: Rgb8 = Rgb8(110, 110, 110);
    /// The red of official seals and titles.
    pub const RED: Rgb8 = Rgb8(200, 16, 46);

    fn color(self) -> Color {
        Color::Rgb(Rgb {
            r: f32::from(self.0) / 255.0,
            g: f32::from(self.1) / 255.0,
            b: f32::from(self.2) / 255.0,
            icc_profile: None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageId(usize);

enum Item {
    Text {
        style: Style,
        size: f32,
        x: f32,
        y: f32,
        color: Rgb8,
        /// Extra space after each character, mm (a title's letter spacing).
        spacing: f32,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<Rgb8>,
        stroke: Option<(Rgb8, f32)>,
    },
    Line {
        points: Vec<(f32, f32)>,
        color: Rgb8,
        width: f32,
        dashed: bool,
    },
    Image {
        id: ImageId,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

/// One page; coordinates in mm from the bottom-left corner, text `y` is the baseline.
pub struct Page {
    pub width: f32,
    pub height: f32,
    items: Vec<Item>,
}

const PT_PER_MM: f32 = 72.0 / 25.4;

/// The width of `text` in mm at `size` pt (characters no face has count as 1 em).
pub fn measure(style: Style, size: f32, text: &str) -> f32 {
    let Ok(f) = fonts::fonts() else {
        return text.chars().count() as f32 * size / PT_PER_MM;
    };
    let em: f32 = text
        .chars()
        .map(|c| {
            f.pick(style, c)
                .map_or(1.0, |(face, g)| f.face(face).advance(g))
        })
        .sum();
    em * size / PT_PER_MM
}

/// Characters that may not begin a line (Chinese line-breaking rules, 避头点).
const NO_LINE_START: &str = "，。、；：？！）》」』】”’%％·…";

/// Breaks `text` into lines no wider than `width` mm: anywhere between CJK characters, at
/// spaces between Latin words, never before closing punctuation; `\n` forces a break.
pub fn wrap(style: Style, size: f32, width: f32, text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for c in paragraph.chars() {
            let mut candidate = line.clone();
            candidate.push(c);
            if measure(style, size, &candidate) <= width || line.is_empty() {
                line = candidate;
                continue;
            }
            if NO_LINE_START.contains(c) {
                // Carry the last character down with the punctuation.
                let last = line.pop().map(String::from).unwrap_or_default();
                lines.push(std::mem::take(&mut line));
                line = last;
                line.push(c);
                continue;
            }
            // Keep a Latin word (a number, an article reference) whole where it fits.
            if c.is_ascii_alphanumeric()
                && let Some((cut, ch)) = line
                    .char_indices()
                    .rev()
                    .find(|(_, ch)| !ch.is_ascii_alphanumeric())
                && cut + ch.len_utf8() < line.len()
            {
                let word = line.split_off(cut + ch.len_utf8());
                lines.push(std::mem::take(&mut line).trim_end().to_string());
                line = word;
                line.push(c);
                continue;
            }
            lines.push(std::mem::take(&mut line).trim_end().to_string());
            if c != ' ' {
                line.push(c);
            }
        }
        lines.push(line);
    }
    lines
}

impl Page {
    pub fn text(&mut self, style: Style, size: f32, x: f32, y: f32, text: &str) {
        self.text_in(style, size, x, y, Rgb8::BLACK, text);
    }

    pub fn text_in(&mut self, style: Style, size: f32, x: f32, y: f32, color: Rgb8, text: &str) {
        self.text_spaced(style, size, (x, y), color, 0.0, text);
    }

    /// Text with `spacing` mm after each character (one text item: it copies as one word).
    pub fn text_spaced(
        &mut self,
        style: Style,
        size: f32,
        (x, y): (f32, f32),
        color: Rgb8,
        spacing: f32,
        text: &str,
    ) {
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.items.push(Item::Text {
            style,
            size,
            x,
            y,
            color,
            spacing,
            text,
        });
    }

    pub fn centered(&mut self, style: Style, size: f32, cx: f32, y: f32, text: &str) {
        self.text(style, size, cx - measure(style, size, text) / 2.0, y, text);
    }

    pub fn right(&mut self, style: Style, size: f32, right: f32, y: f32, text: &str) {
        self.text(style, size, right - measure(style, size, text), y, text);
    }

    /// Wrapped text from the baseline `y` down; returns the baseline after the last line.
    pub fn paragraph(
        &mut self,
        style: Style,
        size: f32,
        (x, y): (f32, f32),
        width: f32,
        leading: f32,
        text: &str,
    ) -> f32 {
        let mut y = y;
        for line in wrap(style, size, width, text) {
            self.text(style, size, x, y, &line);
            y -= leading;
        }
        y
    }

    pub fn rect(
        &mut self,
        (x, y): (f32, f32),
        (w, h): (f32, f32),
        fill: Option<Rgb8>,
        stroke: Option<(Rgb8, f32)>,
    ) {
        self.items.push(Item::Rect {
            x,
            y,
            w,
            h,
            fill,
            stroke,
        });
    }

    /// A polyline; `width` in pt.
    pub fn line(&mut self, points: &[(f32, f32)], color: Rgb8, width: f32, dashed: bool) {
        self.items.push(Item::Line {
            points: points.to_vec(),
            color,
            width,
            dashed,
        });
    }

    /// An image scaled into the box (w × h mm), keeping its aspect ratio, centred.
    pub fn image(&mut self, id: ImageId, (x, y): (f32, f32), (w, h): (f32, f32)) {
        self.items.push(Item::Image { id, x, y, w, h });
    }
}

/// An image of a document: pixels printpdf compresses when it saves, or a JPEG already made
/// (embedded as it is, DCTDecode).
enum Picture {
    Raw(RawImage),
    Jpeg {
        bytes: Vec<u8>,
        width: usize,
        height: usize,
    },
}

impl Picture {
    fn size(&self) -> (usize, usize) {
        match self {
            Picture::Raw(i) => (i.width, i.height),
            Picture::Jpeg { width, height, .. } => (*width, *height),
        }
    }
}

/// A photo made ready for a document: scaled down and JPEG-encoded (baseline, RGB), so a run
/// of thousands holds kilobytes per photo, not its pixels.
pub struct Jpeg {
    pub bytes: Vec<u8>,
    pub width: usize,
    pub height: usize,
}

/// A photo decoded, scaled down to fit `max_px` and encoded as a JPEG of `quality` (1–100).
pub fn photo_jpeg(bytes: &[u8], max_px: (u32, u32), quality: u8) -> Result<Jpeg> {
    let small = scaled_photo(bytes, max_px)?;
    let (width, height) = (small.width() as usize, small.height() as usize);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&small)
        .map_err(|e| Error::Internal(anyhow::anyhow!("照片无法编码：{e}")))?;
    Ok(Jpeg {
        bytes: out,
        width,
        height,
    })
}

/// A document being drawn.
pub struct Doc {
    title: String,
    pages: Vec<Page>,
    images: Vec<Picture>,
}

impl Doc {
    pub fn new(title: &str) -> Doc {
        Doc {
            title: title.to_string(),
            pages: Vec::new(),
            images: Vec::new(),
        }
    }

    /// An image already decoded.
    fn add_raw(&mut self, image: RawImage) -> ImageId {
        self.images.push(Picture::Raw(image));
        ImageId(self.images.len() - 1)
    }

    /// A JPEG made by [`photo_jpeg`], embedded as it is.
    pub fn add_jpeg(&mut self, jpeg: Jpeg) -> ImageId {
        self.images.push(Picture::Jpeg {
            bytes: jpeg.bytes,
            width: jpeg.width,
            height: jpeg.height,
        });
        ImageId(self.images.len() - 1)
    }

    /// A grey-scale image, one byte per pixel, row by row from the top (a QR code).
    pub fn add_gray(&mut self, pixels: Vec<u8>, width: usize, height: usize) -> ImageId {
        self.add_raw(RawImage {
            pixels: printpdf::RawImageData::U8(pixels),
            width,
            height,
            data_format: printpdf::RawImageFormat::R8,
            tag: Vec::new(),
        })
    }

    pub fn page(&mut self, width: f32, height: f32) -> &mut Page {
        self.pages.push(Page {
            width,
            height,
            items: Vec::new(),
        });
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// A JPEG or PNG, decoded now (a broken one is refused here, not at printing).
    pub fn add_image(&mut self, bytes: &[u8]) -> Result<ImageId> {
        let image = decode_image(bytes)?;
        Ok(self.add_raw(image))
    }

    /// A photo, decoded and scaled down to fit `max_px` (a 1-inch photo at 300 dpi is about
    /// 300 × 400), so a sheet of hundreds of tickets or cards stays small in memory and on disk.
    pub fn add_photo(&mut self, bytes: &[u8], max_px: (u32, u32)) -> Result<ImageId> {
        let small = scaled_photo(bytes, max_px)?;
        let (width, height) = (small.width() as usize, small.height() as usize);
        Ok(self.add_raw(RawImage {
            pixels: printpdf::RawImageData::U8(small.into_raw()),
            width,
            height,
            data_format: printpdf::RawImageFormat::RGB8,
            tag: Vec::new(),
        }))
    }

    /// The finished PDF. Refuses it if any character has no face.
    pub fn render(mut self) -> Result<Vec<u8>> {
        let f = fonts::fonts().map_err(|e| Error::Internal(anyhow::anyhow!(e)))?;
        // Runs of one face per text item, and the glyphs each face needs.
        let mut used: BTreeMap<usize, BTreeSet<u16>> = BTreeMap::new();
        let mut runs: Vec<Vec<Vec<(usize, String)>>> = Vec::with_capacity(self.pages.len());
        for page in &self.pages {
            let mut page_runs = Vec::new();
            for item in &page.items {
                let Item::Text { style, text, .. } = item else {
                    page_runs.push(Vec::new());
                    continue;
                };
                let mut item_runs: Vec<(usize, String)> = Vec::new();
                for c in text.chars() {
                    let (face, glyph) = f.pick(*style, c).ok_or_else(|| uncovered(c))?;
                    used.entry(face).or_default().insert(glyph);
                    match item_runs.last_mut() {
                        Some((last, run)) if *last == face => run.push(c),
                        _ => item_runs.push((face, c.to_string())),
                    }
                }
                page_runs.push(item_runs);
            }
            runs.push(page_runs);
        }

        let mut pdf = PdfDocument::new(&self.title);
        pdf.metadata.info.producer = "zhifa".into();
        pdf.metadata.info.creator = "zhifa 行政执法人员管理系统".into();
        let mut font_ids = BTreeMap::new();
        for (face, glyphs) in &used {
            let bytes = f
                .face(*face)
                .subset(glyphs)
                .map_err(|e| Error::Internal(anyhow::anyhow!(e)))?;
            let parsed = ParsedFont::from_bytes(&bytes, 0, &mut Vec::new())
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("字体子集无法读取")))?;
            font_ids.insert(*face, pdf.add_font(&parsed));
        }
        // printpdf keeps its own copy of each image: ours go as soon as it has it (a print
        // run of thousands of photos would otherwise hold every one twice)
        let image_sizes: Vec<(usize, usize)> = self.images.iter().map(Picture::size).collect();
        let image_ids: Vec<_> = std::mem::take(&mut self.images)
            .into_iter()
            .map(|i| match i {
                Picture::Raw(raw) => pdf.add_image(&raw),
                Picture::Jpeg {
                    bytes,
                    width,
                    height,
                } => {
                    use printpdf::DictItem;
                    let name = |n: &str| DictItem::Name(n.as_bytes().to_vec());
                    let dict = [
                        ("Type", name("XObject")),
                        ("Subtype", name("Image")),
                        ("Width", DictItem::Int(width as i64)),
                        ("Height", DictItem::Int(height as i64)),
                        ("ColorSpace", name("DeviceRGB")),
                        ("BitsPerComponent", DictItem::Int(8)),
                        ("Filter", name("DCTDecode")),
                        ("Interpolate", DictItem::Bool(true)),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                    pdf.add_xobject(&printpdf::ExternalXObject {
                        stream: printpdf::ExternalStream {
                            dict,
                            content: bytes,
                            compress: false,
                        },
                        width: Some(printpdf::Px(width)),
                        height: Some(printpdf::Px(height)),
                        dpi: None,
                    })
                }
            })
            .collect();

        let mut pages = Vec::with_capacity(self.pages.len());
        for (page, page_runs) in self.pages.iter().zip(runs) {
            let mut ops = Vec::new();
            for (item, item_runs) in page.items.iter().zip(page_runs) {
                match item {
                    Item::Text {
                        size,
                        x,
                        y,
                        color,
                        spacing,
                        ..
                    } => {
                        ops.push(Op::SaveGraphicsState);
                        ops.push(Op::SetFillColor { col: color.color() });
                        // One text object: after each run the text position has moved on by
                        // the run's glyph widths, so the next face continues where it ends.
                        ops.push(Op::StartTextSection);
                        if *spacing != 0.0 {
                            ops.push(Op::SetCharacterSpacing {
                                multiplier: spacing * PT_PER_MM,
                            });
                        }
                        ops.push(Op::SetTextCursor {
                            pos: Point::new(Mm(*x), Mm(*y)),
                        });
                        for (face, run) in item_runs {
                            ops.push(Op::SetFont {
                                font: PdfFontHandle::External(font_ids[&face].clone()),
                                size: Pt(*size),
                            });
                            ops.push(Op::ShowText {
                                items: vec![TextItem::Text(run)],
                            });
                        }
                        ops.push(Op::EndTextSection);
                        ops.push(Op::RestoreGraphicsState);
                    }
                    Item::Rect {
                        x,
                        y,
                        w,
                        h,
                        fill,
                        stroke,
                    } => {
                        ops.push(Op::SaveGraphicsState);
                        let mode = match (fill, stroke) {
                            (Some(_), Some(_)) => PaintMode::FillStroke,
                            (Some(_), None) => PaintMode::Fill,
                            _ => PaintMode::Stroke,
                        };
                        if let Some(c) = fill {
                            ops.push(Op::SetFillColor { col: c.color() });
                        }
                        if let Some((c, width)) = stroke {
                            ops.push(Op::SetOutlineColor { col: c.color() });
                            ops.push(Op::SetOutlineThickness { pt: Pt(*width) });
                        }
                        let mut rect = Rect::from_xywh(
                            Mm(*x).into_pt(),
                            Mm(*y).into_pt(),
                            Mm(*w).into_pt(),
                            Mm(*h).into_pt(),
                        );
                        rect.mode = Some(mode);
                        ops.push(Op::DrawRectangle { rectangle: rect });
                        ops.push(Op::RestoreGraphicsState);
                    }
                    Item::Line {
                        points,
                        color,
                        width,
                        dashed,
                    } => {
                        ops.push(Op::SaveGraphicsState);
                        ops.push(Op::SetOutlineColor { col: color.color() });
                        ops.push(Op::SetOutlineThickness { pt: Pt(*width) });
                        if *dashed {
                            ops.push(Op::SetLineDashPattern {
                                dash: LineDashPattern {
                                    offset: 0.0,
                                    pattern: [3.0, 2.0].into_iter().collect(),
                                },
                            });
                        }
                        ops.push(Op::DrawLine {
                            line: Line {
                                points: points
                                    .iter()
                                    .map(|(px, py)| LinePoint {
                                        p: Point::new(Mm(*px), Mm(*py)),
                                        bezier: false,
                                    })
                                    .collect(),
                                is_closed: false,
                            },
                        });
                        ops.push(Op::RestoreGraphicsState);
                    }
                    Item::Image { id, x, y, w, h } => {
                        let (w_px, h_px) = image_sizes[id.0];
                        let (px_w, px_h) = (w_px.max(1) as f32, h_px.max(1) as f32);
                        let scale = (w / px_w).min(h / px_h); // mm per pixel
                        let (dw, dh) = (px_w * scale, px_h * scale);
                        // At dpi D a pixel is 25.4 / D mm.
                        let dpi = 25.4 / scale;
                        ops.push(Op::UseXobject {
                            id: image_ids[id.0].clone(),
                            transform: XObjectTransform {
                                translate_x: Some(Mm(x + (w - dw) / 2.0).into_pt()),
                                translate_y: Some(Mm(y + (h - dh) / 2.0).into_pt()),
                                dpi: Some(dpi),
                                ..Default::default()
                            },
                        });
                    }
                }
            }
            pages.push(PdfPage::new(Mm(page.width), Mm(page.height), ops));
        }
        let mut warnings = Vec::new();
        Ok(pdf
            .with_pages(pages)
            .save(&PdfSaveOptions::default(), &mut warnings))
    }
}

fn uncovered(c: char) -> Error {
    Error::invalid(
        "font",
        format!(
            "「{c}」（U+{:04X}）没有任何已配置的字体能够显示，无法打印。请在配置项 font_fallbacks 中加入包含此字的字体",
            c as u32
        ),
    )
}

/// Checks that every character of `text` can be printed.
pub fn check_printable(text: &str) -> Result<()> {
    let f = fonts::fonts().map_err(|e| Error::Internal(anyhow::anyhow!(e)))?;
    match f.uncovered(text) {
        Some(c) => Err(uncovered(c)),
        None => Ok(()),
    }
}

/// A photo decoded and scaled down to fit `max_px` (a 1-inch photo at 300 dpi is about
/// 300 × 400), as RGB pixels.
fn scaled_photo(bytes: &[u8], max_px: (u32, u32)) -> Result<image::RgbImage> {
    let img = image::load_from_memory(bytes)
        .map_err(|e| Error::invalid("photo", format!("照片无法解码（{e}）")))?;
    Ok(img.thumbnail(max_px.0, max_px.1).to_rgb8())
}

/// Whether a JPEG file ends its image: an end-of-image marker (FF D9) after the start of its last
/// scan (FF DA). A file cut short has none there; a thumbnail's own end marker, inside the
/// header, comes before the main scan and does not count. (In scan data FF is always followed
/// by 00 or a restart marker, so FF D9 there is the real end.)
pub fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last = |marker: u8| {
        bytes
            .windows(2)
            .rposition(|w| w[0] == 0xFF && w[1] == marker)
    };
    matches!((last(0xDA), last(0xD9)), (Some(scan), Some(end)) if end > scan)
}

/// Decodes a JPEG or PNG photo fully (not just its header), as printing will.
pub fn decode_image(bytes: &[u8]) -> Result<RawImage> {
    RawImage::decode_from_bytes(bytes, &mut Vec::new())
        .map_err(|e| Error::invalid("photo", format!("图片无法解码（{e}）")))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod jpeg_tests {
    #[test]
    fn a_jpeg_cut_short_is_incomplete() {
        let img =
            image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 90]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
            .encode_image(&img)
            .unwrap();
        assert!(super::jpeg_is_complete(&jpeg));
        // trailing bytes after the end (some cameras write them) are fine
        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0, 0, 0]);
        assert!(super::jpeg_is_complete(&padded));
        for cut in [jpeg.len() - 2, jpeg.len() / 2, 20] {
            assert!(!super::jpeg_is_complete(&jpeg[..cut]), "cut at {cut}");
        }
    }
}
