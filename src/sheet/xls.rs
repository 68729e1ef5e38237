//! XLS (Excel 97-2003): the compound file and its BIFF records are walked the way calamine will
//! walk them, and what calamine would allocate is estimated before it runs.

use super::{Limits, MAX_FORMULA_WORK, MIB, SheetError};

fn xls_bad(what: &str) -> SheetError {
    SheetError::Malformed(format!("Excel 97-2003（.xls）文件结构异常（{what}）"))
}

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .unwrap_or(0)
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
        .unwrap_or(0)
}

const ENDOFCHAIN: u32 = 0xFFFF_FFFE;

/// The Workbook (or Book) stream of a compound file, found the way calamine finds it, with
/// every sector chain calamine will follow checked for loops, repeats and bounds.
fn cfb_workbook(b: &[u8]) -> Result<Vec<u8>, SheetError> {
    if b.len() < 512 || !b.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Err(SheetError::Unreadable(
            "不是有效的 Excel 文件（文件头不完整）".into(),
        ));
    }
    let version = le16(b, 26);
    let size: usize = match le16(b, 30) {
        9 => 512,
        12 => 4096,
        _ => return Err(xls_bad("扇区大小")),
    };
    if le16(b, 32) != 6 || b.len() < size {
        return Err(xls_bad("文件头"));
    }
    let dir_start = le32(b, 48);
    let mini_fat_start = le32(b, 60);
    let mini_fat_len = le32(b, 64) as usize;
    let difat_start = le32(b, 68);
    // calamine's bound on sector ids; sector `id` starts after the header sector
    let maxid = b.len() / size;
    let sector = |id: u32| -> Result<&[u8], SheetError> {
        let start = (id as usize)
            .checked_add(1)
            .and_then(|n| n.checked_mul(size))
            .filter(|s| id as usize <= maxid && *s < b.len())
            .ok_or_else(|| xls_bad("扇区编号超出文件范围"))?;
        Ok(&b[start..(start + size).min(b.len())])
    };
    let words = |s: &[u8]| -> Vec<u32> { s.chunks_exact(4).map(|c| le32(c, 0)).collect() };

    let mut difat: Vec<u32> = (0..109).map(|i| le32(b, 76 + 4 * i)).collect();
    let mut id = difat_start;
    let mut n = 0;
    while id < 0xFFFF_FFFA {
        n += 1;
        if n > maxid + 1 {
            return Err(xls_bad("DIFAT 链过长"));
        }
        difat.extend(words(sector(id)?));
        id = difat.pop().ok_or_else(|| xls_bad("DIFAT"))?;
    }
    let fat_ids: Vec<u32> = difat.into_iter().filter(|id| *id < 0xFFFF_FFFC).collect();
    // calamine copies a sector for every entry: repeats could make that far bigger than the file
    if fat_ids.len().saturating_mul(size) > b.len() {
        return Err(xls_bad("FAT 表重复引用扇区"));
    }
    let mut fat = Vec::new();
    for id in fat_ids {
        fat.extend(words(sector(id)?));
    }

    let dirs = cfb_chain(dir_start, &fat, u64::MAX, &sector, maxid)?;
    struct Dir {
        name: String,
        start: u32,
        len: u64,
    }
    let dirs: Vec<Dir> = dirs
        .chunks_exact(128)
        .map(|c| {
            let mut name = encoding_rs::UTF_16LE.decode(&c[..64]).0.into_owned();
            if let Some(l) = name.find('\0') {
                name.truncate(l);
            }
            Dir {
                name,
                start: le32(c, 116),
                len: if size == 512 {
                    le32(c, 120) as u64
                } else {
                    le64(c, 120)
                },
            }
        })
        .collect();
    if dirs.is_empty() || (version != 3 && dirs[0].start == ENDOFCHAIN) {
        return Err(xls_bad("目录为空"));
    }
    if dirs
        .iter()
        .any(|d| d.name.eq_ignore_ascii_case("EncryptedPackage"))
    {
        return Err(SheetError::Unreadable(
            "文件设置了打开密码。请在 Excel 或 WPS 中取消密码、另存后再上传".into(),
        ));
    }
    let (mini_fat, mini_stream) = if mini_fat_len > 0 {
        let stream = cfb_chain(dirs[0].start, &fat, dirs[0].len, &sector, maxid)?;
        let table = cfb_chain(
            mini_fat_start,
            &fat,
            (mini_fat_len as u64).saturating_mul(size as u64),
            &sector,
            maxid,
        )?;
        (words(&table), stream)
    } else {
        (Vec::new(), Vec::new())
    };
    let d = dirs
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case("Workbook"))
        .or_else(|| dirs.iter().find(|d| d.name.eq_ignore_ascii_case("Book")))
        .ok_or_else(|| {
            SheetError::Unreadable("不是有效的 Excel 文件（找不到工作簿数据）".into())
        })?;
    if d.len < 4096 {
        let mini = |id: u32| -> Result<&[u8], SheetError> {
            let start = (id as usize).saturating_mul(64);
            if id as usize > maxid * 8 || start >= mini_stream.len() {
                return Err(xls_bad("小扇区编号超出范围"));
            }
            Ok(&mini_stream[start..(start + 64).min(mini_stream.len())])
        };
        cfb_chain(d.start, &mini_fat, d.len, &mini, maxid * 8)
    } else {
        cfb_chain(d.start, &fat, d.len, &sector, maxid)
    }
}

/// A sector chain as calamine reads it (up to `len` bytes or the end-of-chain mark), refusing
/// loops and ids outside the table.
fn cfb_chain<'a>(
    start: u32,
    next: &[u32],
    len: u64,
    get: &dyn Fn(u32) -> Result<&'a [u8], SheetError>,
    ids: usize,
) -> Result<Vec<u8>, SheetError> {
    let mut out: Vec<u8> = Vec::new();
    let mut seen = vec![false; ids + 1];
    let mut id = start;
    while id != ENDOFCHAIN {
        let s = get(id)?;
        let visited = seen
            .get_mut(id as usize)
            .ok_or_else(|| xls_bad("扇区编号超出文件范围"))?;
        if *visited {
            return Err(xls_bad("扇区链成环"));
        }
        *visited = true;
        let take = (s.len() as u64).min(len - out.len() as u64) as usize;
        out.extend_from_slice(&s[..take]);
        if out.len() as u64 >= len {
            break;
        }
        id = *next
            .get(id as usize)
            .ok_or_else(|| xls_bad("扇区编号超出 FAT 表"))?;
    }
    Ok(out)
}

/// A BIFF record and the CONTINUE records after it, as calamine's record iterator gives them.
struct Biff<'a> {
    typ: u16,
    data: &'a [u8],
    cont: Vec<&'a [u8]>,
    /// Bytes taken from the stream, headers included.
    span: usize,
}

/// calamine's record iterator: stops (like calamine, with an error) at a record cut short.
fn biff_records(mut s: &[u8]) -> impl Iterator<Item = Biff<'_>> {
    std::iter::from_fn(move || {
        if s.len() < 4 {
            return None;
        }
        let typ = le16(s, 0);
        let len = le16(s, 2) as usize;
        if s.len() < len + 4 {
            return None;
        }
        let data = &s[4..4 + len];
        let mut span = len + 4;
        s = &s[len + 4..];
        let mut cont = Vec::new();
        while s.len() > 4 && le16(s, 0) == 0x003C {
            let l = le16(s, 2) as usize;
            if s.len() < l + 4 {
                return None;
            }
            cont.push(&s[4..4 + l]);
            span += l + 4;
            s = &s[l + 4..];
        }
        Some(Biff {
            typ,
            data,
            cont,
            span,
        })
    })
}

/// Upper bounds (bytes of UTF-8) of the shared strings calamine will decode, in order.
fn sst_lengths(r: &Biff, unicode: bool) -> Vec<u64> {
    let mut out = Vec::new();
    let Some(mut data) = r.data.get(8..) else {
        return out;
    };
    let mut cont = r.cont.iter();
    loop {
        if data.is_empty() {
            match cont.next() {
                Some(c) => data = c,
                None => return out,
            }
        }
        if data.is_empty() {
            out.push(0);
            continue;
        }
        if data.len() < 3 {
            return out;
        }
        let cch = le16(data, 0) as usize;
        let flags = data[2];
        data = &data[3..];
        let mut runs = 0;
        let mut ext = 0;
        if flags & 0x8 != 0 {
            if data.len() < 2 {
                return out;
            }
            runs = le16(data, 0) as usize;
            data = &data[2..];
        }
        if flags & 0x4 != 0 {
            if data.len() < 4 {
                return out;
            }
            ext = le32(data, 0) as i32 as usize;
            data = &data[4..];
        }
        let mut left = cch;
        let mut wide = flags & 0x1 != 0;
        loop {
            let width = if unicode && wide { 2 } else { 1 };
            let chars = left.min(data.len() / width);
            data = &data[chars * width..];
            left -= chars;
            if left == 0 {
                break;
            }
            match cont.next() {
                Some(c) if !c.is_empty() => {
                    wide = c[0] & 0x1 != 0;
                    data = &c[1..];
                }
                _ => return out,
            }
        }
        if !sst_skip(&mut data, &mut cont, runs.saturating_mul(4))
            || !sst_skip(&mut data, &mut cont, ext)
        {
            return out;
        }
        out.push(cch as u64 * 3);
    }
}

/// Skips `n` bytes of a record and its CONTINUE records; false if they run out.
fn sst_skip<'a>(
    data: &mut &'a [u8],
    cont: &mut std::slice::Iter<'_, &'a [u8]>,
    mut n: usize,
) -> bool {
    while n > 0 {
        if data.is_empty() {
            match cont.next() {
                Some(c) => *data = c,
                None => return false,
            }
        }
        let l = n.min(data.len());
        *data = &data[l..];
        n -= l;
    }
    true
}

/// A sheet's cells as calamine collects them.
#[derive(Default)]
struct SheetEstimate {
    cells: u64,
    reserved: u64,
    rows: Option<(u32, u32)>,
    cols: Option<(u32, u32)>,
    text: u64,
    formulas: u64,
    formula_rows: Option<(u32, u32)>,
    formula_cols: Option<(u32, u32)>,
    formula_text: u64,
    other: u64,
}

fn widen(span: &mut Option<(u32, u32)>, v: u32) {
    *span = Some(match *span {
        None => (v, v),
        Some((a, b)) => (a.min(v), b.max(v)),
    });
}

fn extent(span: Option<(u32, u32)>) -> u64 {
    span.map(|(a, b)| (b - a) as u64 + 1).unwrap_or(0)
}

impl SheetEstimate {
    fn cell(&mut self, row: u32, col: u32) {
        self.cells += 1;
        widen(&mut self.rows, row);
        widen(&mut self.cols, col);
    }

    /// What calamine keeps for the sheet (its dense ranges), and what it needs while building it.
    fn bytes(&self) -> (u64, u64) {
        let dense = extent(self.rows).saturating_mul(extent(self.cols));
        let formula_dense = extent(self.formula_rows).saturating_mul(extent(self.formula_cols));
        let kept = dense
            .saturating_mul(32)
            .saturating_add(self.text)
            .saturating_add(formula_dense.saturating_mul(24))
            .saturating_add(self.formula_text)
            .saturating_add(self.other);
        let building = self
            .reserved
            .max(self.cells.saturating_mul(2))
            .saturating_mul(40)
            .saturating_add(self.formulas.saturating_mul(2 * 32));
        (kept, building)
    }
}

pub(super) fn xls_precheck(bytes: &[u8], lim: &Limits) -> Result<(), SheetError> {
    let stream = cfb_workbook(bytes)?;
    xls_estimate(&stream, lim)
}

/// Estimates, record by record as calamine reads them, what opening this workbook allocates.
fn xls_estimate(s: &[u8], lim: &Limits) -> Result<(), SheetError> {
    let mut sheets: Vec<usize> = Vec::new();
    let mut sst: Vec<u64> = Vec::new();
    let mut longest_name = 0u64;
    let mut longest_sheet_name = 5u64;
    let mut unicode = true;
    for r in biff_records(s) {
        match r.typ {
            0x002F if le16(r.data, 0) != 0 => {
                return Err(SheetError::Unreadable(
                    "文件设置了打开密码。请在 Excel 或 WPS 中取消密码、另存后再上传".into(),
                ));
            }
            0x0042 if r.data.len() >= 2 => unicode = le16(r.data, 0) == 1200,
            0x0085 => {
                sheets.push(le32(r.data, 0) as usize);
                longest_sheet_name = longest_sheet_name.max(*r.data.get(6).unwrap_or(&0) as u64);
            }
            0x0018 => longest_name = longest_name.max(*r.data.get(3).unwrap_or(&0) as u64),
            0x00FC => sst = sst_lengths(&r, unicode),
            0x000A => break,
            _ => {}
        }
    }
    if sheets.len() > 1024 {
        return Err(xls_bad("工作表数量异常"));
    }
    let strings: u64 = sst.iter().map(|l| l + 24).sum();
    // What a formula token can grow into when calamine renders it as text.
    let name_text = longest_name * 3 + 8;
    let sheet_text = longest_sheet_name * 3 + 32;

    let too_big = |estimate: u64| {
        SheetError::TooLarge(format!(
            "这个 Excel 97-2003（.xls）文件读取时约需 {} MB 内存，超过 {} MB 的上限（.xls 只能整表读入；另存为 .xlsx 后可以逐行读取）",
            estimate / MIB,
            lim.expanded / MIB
        ))
    };
    let (mut kept_all, mut building_max, mut kept_max) = (strings, 0u64, 0u64);
    let mut walked = 0usize;
    let mut work = 0u64;
    for pos in sheets {
        if pos > s.len() {
            return Err(xls_bad("工作表位置超出文件范围"));
        }
        let mut sh = SheetEstimate::default();
        let mut depth = 0usize;
        let mut seen_bof = false;
        let mut formula_at = (0u32, 0u32);
        for r in biff_records(&s[pos..]) {
            walked += r.span;
            if walked > 2 * s.len() + (1 << 20) {
                return Err(xls_bad("工作表数据相互重叠"));
            }
            let d = r.data;
            if depth > 0 {
                match r.typ {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            let at = (le16(d, 0) as u32, le16(d, 2) as u32);
            match r.typ {
                0x0809 => {
                    if seen_bof {
                        depth += 1;
                    } else {
                        seen_bof = true;
                    }
                }
                0x0200 => {
                    let (rf, rl, mut cf, cl) = match d.len() {
                        10 => (
                            le16(d, 0) as u32,
                            le16(d, 2) as u32,
                            le16(d, 4) as u32,
                            le16(d, 6) as u32,
                        ),
                        14 | 16 => (
                            le32(d, 0),
                            le32(d, 4),
                            le16(d, 8) as u32,
                            le16(d, 10) as u32,
                        ),
                        _ => break,
                    };
                    if cf > 0xFF || cl < cf {
                        cf = 0;
                    }
                    let (start, end) = if rl >= 1 && cl >= 1 {
                        ((rf, cf), (rl - 1, cl - 1))
                    } else {
                        ((rf, cf), (rf, cf))
                    };
                    if end.0 < start.0 || end.1 < start.1 {
                        return Err(xls_bad("工作表尺寸记录无效"));
                    }
                    let area = (end.0 - start.0 + 1) as u64 * (end.1 - start.1 + 1) as u64;
                    sh.reserved = sh.reserved.max(sh.cells.saturating_add(area));
                }
                0x0203 | 0x0205 | 0x027E => {
                    if d.len() < 4 {
                        break;
                    }
                    sh.cell(at.0, at.1);
                }
                0x0204 | 0x00D6 => {
                    if d.len() < 4 {
                        break;
                    }
                    sh.cell(at.0, at.1);
                    sh.text += (le16(d, 6) as u64).max(d.len() as u64 * 3);
                }
                0x0207 => {
                    sh.cell(formula_at.0, formula_at.1);
                    sh.text += (le16(d, 0) as u64).max(d.len() as u64 * 3);
                }
                0x00FD => {
                    if d.len() < 10 {
                        break;
                    }
                    if let Some(l) = sst.get(le32(d, 6) as usize) {
                        sh.cell(at.0, at.1);
                        sh.text += l;
                    }
                }
                0x00BD => {
                    if d.len() < 6 {
                        break;
                    }
                    let first = le16(d, 2) as u32;
                    let last = le16(d, d.len() - 2) as u32;
                    if last < first {
                        return Err(xls_bad("MulRk 记录无效"));
                    }
                    if d.len() != 6 + 6 * (last - first + 1) as usize {
                        break;
                    }
                    for c in first..=last {
                        sh.cell(at.0, c);
                    }
                }
                0x00E5 => sh.other += d.len() as u64 * 4,
                0x0006 => {
                    if d.len() < 20 {
                        break;
                    }
                    formula_at = at;
                    sh.cell(at.0, at.1);
                    sh.formulas += 1;
                    widen(&mut sh.formula_rows, at.0);
                    widen(&mut sh.formula_cols, at.1);
                    let rgce = &d[20..];
                    let cce = (le16(rgce, 0) as usize).min(rgce.len().saturating_sub(2));
                    let body = rgce.get(2..2 + cce).unwrap_or(&[]);
                    // every byte may be a token that renders as several characters; a few
                    // tokens can render as far more (names, sheet names, numbers, spaces)
                    let mut text = 128 + 8 * cce as u64;
                    let mut spaces = 0u64;
                    for (i, &t) in body.iter().enumerate() {
                        text += match t {
                            0x19 if matches!(body.get(i + 1), Some(0x40 | 0x41)) => {
                                spaces += 1;
                                255
                            }
                            0x1F => 330,
                            0x23 | 0x43 | 0x63 => name_text,
                            0x3A..=0x3D | 0x5A..=0x5D | 0x7A..=0x7D => sheet_text,
                            _ => 0,
                        };
                    }
                    sh.formula_text += text;
                    // each token may insert into or split the text built so far
                    work = work.saturating_add((cce as u64 + 255 * spaces).saturating_mul(text));
                }
                0x000A => break,
                _ => {}
            }
        }
        let (kept, building) = sh.bytes();
        kept_all = kept_all.saturating_add(kept);
        building_max = building_max.max(building);
        kept_max = kept_max.max(kept);
        let estimate = kept_all
            .saturating_add(building_max)
            .saturating_add(kept_max);
        if estimate > lim.expanded {
            return Err(too_big(estimate));
        }
    }
    if work > MAX_FORMULA_WORK {
        return Err(SheetError::TooLarge(
            "这个 Excel 97-2003（.xls）文件中的公式过多或过长".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{ID, MB, meter};
    use super::*;
    use crate::sheet::testkit::{Field, read};

    fn rec(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut v = typ.to_le_bytes().to_vec();
        v.extend((data.len() as u16).to_le_bytes());
        v.extend(data);
        v
    }

    /// A BIFF8 workbook stream: one sheet of shared-string cells, and `extra` sheet records.
    fn biff(cells: &[(u16, u16, &str)], dims: (u32, u32, u16, u16), extra: &[Vec<u8>]) -> Vec<u8> {
        let bof = |dt: u16| {
            let mut d = vec![0x00, 0x06];
            d.extend(dt.to_le_bytes());
            d.extend([0u8; 12]);
            rec(0x0809, &d)
        };
        let mut sst = Vec::new();
        sst.extend((cells.len() as u32).to_le_bytes());
        sst.extend((cells.len() as u32).to_le_bytes());
        for (_, _, s) in cells {
            let units: Vec<u16> = s.encode_utf16().collect();
            sst.extend((units.len() as u16).to_le_bytes());
            sst.push(1);
            for u in units {
                sst.extend(u.to_le_bytes());
            }
        }
        let globals = |pos: u32| {
            let mut g = bof(0x0005);
            g.extend(rec(0x0042, &1200u16.to_le_bytes()));
            let mut bs = pos.to_le_bytes().to_vec();
            bs.extend([0, 0, 6, 0]);
            bs.extend(b"Sheet1");
            g.extend(rec(0x0085, &bs));
            g.extend(rec(0x00FC, &sst));
            // padding past 4096 bytes, so the stream lives in regular sectors
            g.extend(rec(0x01C1, &[0u8; 4200]));
            g.extend(rec(0x000A, &[]));
            g
        };
        let pos = globals(0).len() as u32;
        let mut s = globals(pos);
        s.extend(bof(0x0010));
        let mut d = dims.0.to_le_bytes().to_vec();
        d.extend(dims.1.to_le_bytes());
        d.extend(dims.2.to_le_bytes());
        d.extend(dims.3.to_le_bytes());
        d.extend([0, 0]);
        s.extend(rec(0x0200, &d));
        for (i, (r, c, _)) in cells.iter().enumerate() {
            let mut d = r.to_le_bytes().to_vec();
            d.extend(c.to_le_bytes());
            d.extend([0, 0]);
            d.extend((i as u32).to_le_bytes());
            s.extend(rec(0x00FD, &d));
        }
        for e in extra {
            s.extend(e);
        }
        s.extend(rec(0x000A, &[]));
        s
    }

    /// A compound file holding `stream` as its Workbook stream (512-byte sectors: the FAT,
    /// the directory, then the stream). `fat_patch` can rewrite FAT entries.
    fn cfb(stream: &[u8], fat_patch: &[(usize, u32)]) -> Vec<u8> {
        let n = stream.len().div_ceil(512);
        assert!(stream.len() >= 4096 && n + 2 <= 128);
        let mut out = vec![0u8; 512];
        let put16 =
            |o: &mut Vec<u8>, at: usize, v: u16| o[at..at + 2].copy_from_slice(&v.to_le_bytes());
        let put32 =
            |o: &mut Vec<u8>, at: usize, v: u32| o[at..at + 4].copy_from_slice(&v.to_le_bytes());
        out[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
        put16(&mut out, 24, 0x3E);
        put16(&mut out, 26, 3);
        put16(&mut out, 28, 0xFFFE);
        put16(&mut out, 30, 9);
        put16(&mut out, 32, 6);
        put32(&mut out, 44, 1);
        put32(&mut out, 48, 1);
        put32(&mut out, 56, 4096);
        put32(&mut out, 60, ENDOFCHAIN);
        put32(&mut out, 68, ENDOFCHAIN);
        for i in 0..109 {
            put32(&mut out, 76 + 4 * i, if i == 0 { 0 } else { 0xFFFF_FFFF });
        }
        let mut fat = vec![0xFFFF_FFFFu32; 128];
        fat[0] = 0xFFFF_FFFD;
        fat[1] = ENDOFCHAIN;
        for i in 0..n {
            fat[2 + i] = if i + 1 < n {
                (3 + i) as u32
            } else {
                ENDOFCHAIN
            };
        }
        for (i, v) in fat_patch {
            fat[*i] = *v;
        }
        for v in fat {
            out.extend(v.to_le_bytes());
        }
        let mut dir = vec![0u8; 512];
        let entry = |d: &mut [u8], name: &str, typ: u8, child: u32, start: u32, size: u32| {
            let units: Vec<u16> = name.encode_utf16().collect();
            for (i, u) in units.iter().enumerate() {
                d[2 * i..2 * i + 2].copy_from_slice(&u.to_le_bytes());
            }
            d[64..66].copy_from_slice(&(((units.len() + 1) * 2) as u16).to_le_bytes());
            d[66] = typ;
            d[67] = 1;
            d[68..72].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
            d[72..76].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
            d[76..80].copy_from_slice(&child.to_le_bytes());
            d[116..120].copy_from_slice(&start.to_le_bytes());
            d[120..124].copy_from_slice(&size.to_le_bytes());
        };
        entry(&mut dir[0..128], "Root Entry", 5, 1, ENDOFCHAIN, 0);
        entry(
            &mut dir[128..256],
            "Workbook",
            2,
            0xFFFF_FFFF,
            2,
            stream.len() as u32,
        );
        for e in [256, 384] {
            dir[e + 68..e + 80].fill(0xFF);
        }
        out.extend(dir);
        let mut s = stream.to_vec();
        s.resize(n * 512, 0);
        out.extend(s);
        out
    }

    fn xls_cells() -> Vec<(u16, u16, &'static str)> {
        vec![
            (0, 0, "姓名"),
            (0, 1, "身份证号"),
            (1, 0, "张三"),
            (1, 1, ID),
        ]
    }

    #[test]
    fn xls_reads_through_calamine() {
        let bytes = cfb(&biff(&xls_cells(), (0, 2, 0, 2), &[]), &[]);
        let (h, rows) = read("x.xls", &bytes).unwrap();
        assert_eq!(h.col(Field::IdNumber), Some(1));
        assert_eq!(rows[1].cells[1].text, ID);
        assert_eq!(rows[1].number, 2);
    }

    /// Defect 5: what calamine would allocate for an XLS is estimated and refused first.
    #[test]
    fn hostile_xls_is_refused_before_calamine_allocates() {
        let number = |r: u16, c: u16| {
            let mut d = r.to_le_bytes().to_vec();
            d.extend(c.to_le_bytes());
            d.extend([0, 0]);
            d.extend(1.0f64.to_le_bytes());
            rec(0x0203, &d)
        };
        let cases = [
            // a Dimensions record declaring 4 billion rows: calamine reserves rows × columns
            cfb(&biff(&xls_cells(), (0, 0xFFFF_FFF0, 0, 256), &[]), &[]),
            // one cell far away: calamine's range is dense
            cfb(
                &biff(
                    &xls_cells(),
                    (0, 2, 0, 2),
                    &[number(65_535, 255), number(60_000, 4000)],
                ),
                &[],
            ),
            // the directory's sector chain loops: calamine reads it without a length limit
            cfb(&biff(&xls_cells(), (0, 2, 0, 2), &[]), &[(1, 1)]),
            // the stream's chain loops back (calamine stops at the declared length, we refuse)
            cfb(&biff(&xls_cells(), (0, 2, 0, 2), &[]), &[(5, 3)]),
        ];
        for (i, bytes) in cases.iter().enumerate() {
            let (r, peak) = meter::peak(|| read("x.xls", bytes));
            let err = r.unwrap_err();
            assert!(
                matches!(err, SheetError::TooLarge(_) | SheetError::Malformed(_)),
                "{i}: {err:?}"
            );
            assert!(peak < 16 * MB, "{i}: {peak}");
        }
    }

    proptest::proptest! {
        /// A valid XLS with bytes of its Workbook stream changed: refused or read, never a
        /// panic, never an allocation that ends the process.
        #[test]
        fn mutated_xls_never_panics(flips in proptest::collection::vec((proptest::prelude::any::<bool>(), 0usize..400, proptest::prelude::any::<u8>()), 1..12)) {
            let mut stream = biff(&xls_cells(), (0, 2, 0, 2), &[]);
            let len = stream.len();
            // the records before the padding (globals) and after it (the sheet)
            for (head, off, v) in flips {
                let at = if head { off % 160 } else { len - 1 - off % (len - 4400) };
                stream[at] = v;
            }
            let _ = read("x.xls", &cfb(&stream, &[]));
        }

        /// Random bytes behind a compound-file signature: refused or read, never a panic.
        #[test]
        fn arbitrary_compound_files_never_panic(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
            bytes.extend(tail);
            let _ = read("x.xls", &bytes);
        }
    }
}
