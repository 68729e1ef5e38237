//! The faces every PDF draws with, and which face draws which character.
//!
//! Three faces ship inside the binary (`fonts/README.md` says where they come from): Noto Sans
//! CJK SC regular and bold, and HanaMinB for the rest of CJK Extensions B–F. A bureau adds
//! faces of its own with `font_fallbacks`. Each character is drawn with the first face of its
//! chain that has a glyph for it; a character no face has is refused by name, never drawn as an
//! empty box.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;

use allsorts::binary::read::ReadScope;
use allsorts::font_data::FontData;
use allsorts::subset::{CmapTarget, SubsetProfile, subset};
use allsorts::tables::cmap::Cmap;
use allsorts::tables::{FontTableProvider, HeadTable, HheaTable, HmtxTable, MaxpTable};
use allsorts::tag;

static REGULAR: &[u8] = include_bytes!("../../fonts/NotoSansCJKsc-Regular.otf");
static BOLD: &[u8] = include_bytes!("../../fonts/NotoSansCJKsc-Bold.otf");
static EXTENSIONS: &[u8] = include_bytes!("../../fonts/HanaMinB.ttf");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    Regular,
    Bold,
}

/// One parsed face: which glyph draws each character and how wide each glyph is.
pub struct Face {
    pub name: String,
    bytes: &'static [u8],
    glyphs: HashMap<u32, u16>,
    /// Advance widths in em.
    advances: Vec<f32>,
}

impl Face {
    pub fn parse(name: &str, bytes: &'static [u8]) -> Result<Face, String> {
        let bad = |what: &str| format!("字体 {name} 无法读取（{what}）");
        let file = ReadScope::new(bytes)
            .read::<FontData<'_>>()
            .map_err(|_| bad("不是 TrueType/OpenType 文件"))?;
        let provider = file.table_provider(0).map_err(|_| bad("没有字形"))?;
        let table = |t: u32| provider.read_table_data(t).map_err(|_| bad("缺少字体表"));
        let head_data = table(tag::HEAD)?;
        let head = ReadScope::new(&head_data)
            .read::<HeadTable>()
            .map_err(|_| bad("head"))?;
        let maxp_data = table(tag::MAXP)?;
        let maxp = ReadScope::new(&maxp_data)
            .read::<MaxpTable>()
            .map_err(|_| bad("maxp"))?;
        let hhea_data = table(tag::HHEA)?;
        let hhea = ReadScope::new(&hhea_data)
            .read::<HheaTable>()
            .map_err(|_| bad("hhea"))?;
        let cmap_data = table(tag::CMAP)?;
        let cmap = ReadScope::new(&cmap_data)
            .read::<Cmap<'_>>()
            .map_err(|_| bad("cmap"))?;
        let (_, subtable) = allsorts::font::read_cmap_subtable(&cmap)
            .ok()
            .flatten()
            .ok_or_else(|| bad("没有 Unicode 字符映射"))?;
        let mut glyphs = HashMap::new();
        subtable
            .mappings_fn(|c, g| {
                if g != 0 {
                    glyphs.insert(c, g);
                }
            })
            .map_err(|_| bad("cmap"))?;
        let hmtx_data = table(tag::HMTX)?;
        let hmtx = ReadScope::new(&hmtx_data)
            .read_dep::<HmtxTable<'_>>((
                usize::from(maxp.num_glyphs),
                usize::from(hhea.num_h_metrics),
            ))
            .map_err(|_| bad("hmtx"))?;
        let em = f32::from(head.units_per_em.max(1));
        let advances = (0..maxp.num_glyphs)
            .map(|g| hmtx.horizontal_advance(g).map_or(em, f32::from) / em)
            .collect();
        Ok(Face {
            name: name.to_string(),
            bytes,
            glyphs,
            advances,
        })
    }

    pub fn glyph(&self, c: char) -> Option<u16> {
        self.glyphs.get(&(c as u32)).copied()
    }

    /// The advance of a glyph, in em.
    pub fn advance(&self, glyph: u16) -> f32 {
        self.advances
            .get(usize::from(glyph))
            .copied()
            .unwrap_or(1.0)
    }

    /// The face cut down to these glyphs (with .notdef first, as the subsetter requires),
    /// keeping a Unicode character map so the PDF's text stays text.
    pub fn subset(&self, glyphs: &BTreeSet<u16>) -> Result<Vec<u8>, String> {
        let file = ReadScope::new(self.bytes)
            .read::<FontData<'_>>()
            .map_err(|e| e.to_string())?;
        let provider = file.table_provider(0).map_err(|e| e.to_string())?;
        let ids: Vec<u16> = std::iter::once(0)
            .chain(glyphs.iter().copied().filter(|g| *g != 0))
            .collect();
        subset(&provider, &ids, &SubsetProfile::Pdf, CmapTarget::Unicode)
            .map_err(|e| format!("字体 {} 子集化失败：{e}", self.name))
    }
}

/// The faces of a document, in the order they are tried.
pub struct Fonts {
    /// 0: regular, 1: bold, then the extension face and the bureau's fallbacks.
    faces: Vec<Face>,
}

impl Fonts {
    pub fn new(regular: Face, bold: Face, fallbacks: Vec<Face>) -> Fonts {
        let mut faces = vec![regular, bold];
        faces.extend(fallbacks);
        Fonts { faces }
    }

    pub fn face(&self, index: usize) -> &Face {
        &self.faces[index]
    }

    pub fn len(&self) -> usize {
        self.faces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.faces.is_empty()
    }

    /// The face that draws `c` in `style`, and its glyph: the style's own face, the other
    /// style, then the fallbacks in order.
    pub fn pick(&self, style: Style, c: char) -> Option<(usize, u16)> {
        let (first, second) = match style {
            Style::Regular => (0, 1),
            Style::Bold => (1, 0),
        };
        std::iter::once(first)
            .chain(std::iter::once(second))
            .chain(2..self.faces.len())
            .find_map(|i| self.faces[i].glyph(c).map(|g| (i, g)))
    }

    /// The first character of `text` no face can draw.
    pub fn uncovered(&self, text: &str) -> Option<char> {
        text.chars()
            .filter(|c| !c.is_control())
            .find(|c| self.pick(Style::Regular, *c).is_none())
    }
}

static FALLBACKS: OnceLock<Vec<(String, &'static [u8])>> = OnceLock::new();
static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();

/// Reads the bureau's fallback faces (from the configuration) and checks that each one parses.
/// Called once at start-up; later calls keep the first list.
pub fn configure(paths: &[PathBuf]) -> anyhow::Result<()> {
    let mut loaded = Vec::new();
    for p in paths {
        let bytes = std::fs::read(p)
            .map_err(|e| anyhow::anyhow!("后备字体 {} 无法读取：{e}", p.display()))?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        let name = p.display().to_string();
        Face::parse(&name, bytes).map_err(|e| anyhow::anyhow!(e))?;
        loaded.push((name, bytes));
    }
    let _ = FALLBACKS.set(loaded);
    Ok(())
}

/// The process's fonts, parsed on first use (about a tenth of a second).
pub fn fonts() -> Result<&'static Fonts, String> {
    FONTS
        .get_or_init(|| {
            let mut fallbacks = vec![Face::parse("HanaMinB", EXTENSIONS)?];
            for (name, bytes) in FALLBACKS.get().map(Vec::as_slice).unwrap_or_default() {
                fallbacks.push(Face::parse(name, bytes)?);
            }
            Ok(Fonts::new(
                Face::parse("Noto Sans CJK SC", REGULAR)?,
                Face::parse("Noto Sans CJK SC Bold", BOLD)?,
                fallbacks,
            ))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The shipped faces, for tests that build their own chains.
pub fn shipped() -> (&'static [u8], &'static [u8], &'static [u8]) {
    (REGULAR, BOLD, EXTENSIONS)
}
