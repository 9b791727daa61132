//! Cheap structural checks of a workbook before calamine reads it.
//!
//! calamine builds each .xls sheet as a dense grid spanning its outermost cells and reserves
//! what the DIMENSIONS record claims; an .xlsx is a ZIP whose parts it inflates whole and
//! whose shared-string count it trusts. A 10 KB crafted file can therefore ask for
//! terabytes, and a failed allocation aborts the process (no panic to catch). These checks
//! read the same structures first (OLE2 compound file → BIFF records; ZIP directory →
//! inflated parts) and refuse workbooks that would exceed the bounds. They are stricter
//! than calamine: a workbook they cannot walk is refused, never passed on.

/// Largest grid (rows × columns) one sheet may span: ≈ 200 MB as calamine's cells.
pub(crate) const MAX_SHEET_CELLS: usize = 6_000_000;
/// Largest total inflated size of an .xlsx, whatever the file limit.
const MAX_XLSX_INFLATED: u64 = 1 << 30;
const MAX_ZIP_ENTRIES: usize = 10_000;

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

// ---------------------------------------------------------------------------------------
// .xls: OLE2 compound file, then BIFF records

const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const MAXREGSECT: u32 = 0xFFFF_FFFA;

struct Cfb<'a> {
    b: &'a [u8],
    shift: u32,
    fat: Vec<u32>,
}

impl<'a> Cfb<'a> {
    fn sector(&self, id: u32) -> Option<&'a [u8]> {
        let size = 1usize << self.shift;
        let start = (id as usize).checked_add(1)?.checked_mul(size)?;
        self.b.get(start..start.checked_add(size)?)
    }

    /// Follows the chain of regular sectors from `start` until it ends (ENDOFCHAIN) or
    /// has covered `len` bytes, handing each sector to `each`; a chain that loops,
    /// leaves the file or the allocation table is an error naming `what`.
    fn walk(&self, start: u32, len: u64, what: &str, mut each: impl FnMut(&'a [u8])) -> Result<(), String> {
        let size = 1u64 << self.shift;
        let limit = self.b.len() >> self.shift;
        let (mut id, mut covered, mut steps) = (start, 0u64, 0usize);
        while id != ENDOFCHAIN && covered < len {
            if id > MAXREGSECT {
                return Err(format!("broken {what} chain"));
            }
            steps += 1;
            if steps > limit + 1 {
                return Err(format!("{what} chain loops"));
            }
            each(self.sector(id).ok_or_else(|| format!("{what} sector beyond the end of the file"))?);
            covered += size;
            id = *self.fat.get(id as usize).ok_or_else(|| format!("{what} sector outside the allocation table"))?;
        }
        Ok(())
    }

    /// The bytes of a chain, at most `max_len` of them.
    fn chain(&self, start: u32, max_len: usize, what: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        self.walk(start, max_len as u64, what, |s| out.extend_from_slice(s))?;
        out.truncate(max_len);
        Ok(out)
    }

    /// Checks that a chain ends or covers `len` bytes without looping, reading nothing.
    /// calamine follows the directory chain to its end and the mini stream and mini FAT
    /// chains to their declared lengths, appending as it goes: a loop there grew its
    /// buffer until memory ran out (found by fuzzing: a 5.7 KB .xls took 24 GB).
    fn ends(&self, start: u32, len: u64, what: &str) -> Result<(), String> {
        self.walk(start, len, what, |_| {})
    }
}

/// The `Workbook` (or `Book`) stream of a compound file.
fn workbook_stream(b: &[u8]) -> Result<Vec<u8>, String> {
    if b.len() < 512 {
        return Err("compound file shorter than its header".into());
    }
    let shift = u32::from(u16le(b, 0x1E).ok_or("bad header")?);
    if shift != 9 && shift != 12 {
        return Err(format!("unsupported sector size 2^{shift}"));
    }
    let mini_shift = u32::from(u16le(b, 0x20).ok_or("bad header")?);
    if mini_shift != 6 {
        return Err(format!("unsupported mini sector size 2^{mini_shift}"));
    }
    let dir_start = u32le(b, 0x30).ok_or("bad header")?;
    let mini_cutoff = u32le(b, 0x38).ok_or("bad header")? as usize;
    let minifat_start = u32le(b, 0x3C).ok_or("bad header")?;
    let mut difat_next = u32le(b, 0x44).ok_or("bad header")?;
    let mut fat_sectors: Vec<u32> =
        (0..109).filter_map(|i| u32le(b, 0x4C + 4 * i)).filter(|&s| s <= MAXREGSECT).collect();
    let mut cfb = Cfb { b, shift, fat: Vec::new() };
    let per = (1usize << shift) / 4;
    let mut guard = 0usize;
    while difat_next <= MAXREGSECT {
        guard += 1;
        if guard > (b.len() >> shift) + 1 {
            return Err("DIFAT chain loops".into());
        }
        let s = cfb.sector(difat_next).ok_or("DIFAT sector beyond the end of the file")?;
        fat_sectors.extend((0..per - 1).filter_map(|i| u32le(s, 4 * i)).filter(|&x| x <= MAXREGSECT));
        difat_next = u32le(s, 4 * (per - 1)).ok_or("bad DIFAT sector")?;
    }
    if fat_sectors.len() > (b.len() >> shift) + 1 {
        return Err("allocation table larger than the file".into());
    }
    let mut fat = Vec::with_capacity(fat_sectors.len() * per);
    for s in fat_sectors {
        let sec = cfb.sector(s).ok_or("FAT sector beyond the end of the file")?;
        fat.extend((0..per).filter_map(|i| u32le(sec, 4 * i)));
    }
    cfb.fat = fat;
    // The chains calamine reads before the workbook stream, as it reads them.
    cfb.ends(dir_start, u64::MAX, "directory")?;
    let dirs = cfb.chain(dir_start, b.len(), "directory")?;
    if u32le(b, 0x40).ok_or("bad header")? > 0 {
        let first = dirs.get(..128).ok_or("no directory entry")?;
        let start = u32le(first, 0x74).unwrap_or(ENDOFCHAIN);
        let len = u64::from(u32le(first, 0x78).unwrap_or(0)) | (u64::from(u32le(first, 0x7C).unwrap_or(0)) << 32);
        cfb.ends(start, len, "mini stream")?;
        let minifat_len = u64::from(u32le(b, 0x40).ok_or("bad header")?) << shift;
        cfb.ends(minifat_start, minifat_len, "mini allocation table")?;
    }
    let mut root: Option<(u32, u64)> = None;
    let mut book: Option<(u32, u64)> = None;
    let mut book_rank = 0;
    for e in dirs.chunks_exact(128) {
        let name_len = usize::from(u16le(e, 0x40).unwrap_or(0)).min(64);
        let units: Vec<u16> = (0..name_len.saturating_sub(2) / 2).filter_map(|i| u16le(e, 2 * i)).collect();
        let name = String::from_utf16_lossy(&units).to_ascii_lowercase();
        let typ = e[0x42];
        let start = u32le(e, 0x74).unwrap_or(ENDOFCHAIN);
        let size = u64::from(u32le(e, 0x78).unwrap_or(0)) | (u64::from(u32le(e, 0x7C).unwrap_or(0)) << 32);
        if typ == 5 && root.is_none() {
            root = Some((start, size));
        }
        let rank = match name.as_str() {
            "workbook" => 2,
            "book" => 1,
            _ => 0,
        };
        if typ == 2 && rank > book_rank {
            book = Some((start, size));
            book_rank = rank;
        }
    }
    let (start, size) = book.ok_or("no Workbook stream: not an Excel 97-2003 workbook")?;
    if size > b.len() as u64 * 64 {
        return Err("Workbook stream larger than the file".into());
    }
    let size = size as usize;
    if size < mini_cutoff {
        let (rstart, rsize) = root.ok_or("no root entry")?;
        let ministream = cfb.chain(rstart, (rsize as usize).min(b.len()), "mini stream")?;
        let minifat_bytes = cfb.chain(minifat_start, b.len(), "mini allocation table")?;
        let minifat: Vec<u32> = (0..minifat_bytes.len() / 4).filter_map(|i| u32le(&minifat_bytes, 4 * i)).collect();
        let mut out = Vec::new();
        let mut id = start;
        let mut steps = 0usize;
        while id != ENDOFCHAIN && out.len() < size {
            steps += 1;
            if id > MAXREGSECT || steps > minifat.len() + 1 {
                return Err("broken mini sector chain".into());
            }
            let at = (id as usize) * 64;
            out.extend_from_slice(ministream.get(at..at + 64).ok_or("mini sector beyond the mini stream")?);
            id = *minifat.get(id as usize).ok_or("mini sector outside the mini allocation table")?;
        }
        out.truncate(size);
        Ok(out)
    } else {
        cfb.chain(start, size, "Workbook stream")
    }
}

/// Walks the BIFF records of the workbook stream: every sheet's cells must fit in a grid of
/// `max_cells`, and so must every DIMENSIONS claim.
pub(crate) fn check_xls(b: &[u8], max_cells: usize) -> Result<(), String> {
    let s = workbook_stream(b)?;
    let mut pos = 0usize;
    // Per substream: (min row, max row, min col, max col).
    let mut bounds: Option<(u32, u32, u32, u32)> = None;
    let check = |bounds: &mut Option<(u32, u32, u32, u32)>| -> Result<(), String> {
        if let Some((r0, r1, c0, c1)) = bounds.take() {
            let cells = (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1);
            if cells > max_cells as u64 {
                return Err(format!(
                    "a sheet spans {cells} cells (rows {}..{}, columns {}..{}), over the limit of {max_cells}",
                    r0 + 1,
                    r1 + 1,
                    c0 + 1,
                    c1 + 1
                ));
            }
        }
        Ok(())
    };
    let add = |bounds: &mut Option<(u32, u32, u32, u32)>, r: u32, c: u32| {
        *bounds = Some(match *bounds {
            None => (r, r, c, c),
            Some((r0, r1, c0, c1)) => (r0.min(r), r1.max(r), c0.min(c), c1.max(c)),
        });
    };
    while pos + 4 <= s.len() {
        let typ = u16le(&s, pos).unwrap_or(0);
        let len = usize::from(u16le(&s, pos + 2).unwrap_or(0));
        let data = s.get(pos + 4..pos + 4 + len).ok_or("truncated BIFF record")?;
        pos += 4 + len;
        match typ {
            0x0809 | 0x0009 | 0x0209 | 0x0409 | 0x000A => check(&mut bounds)?,
            0x0200 => {
                let (rf, rl, cf, cl) = match data.len() {
                    10 => (
                        u32::from(u16le(data, 0).unwrap_or(0)),
                        u32::from(u16le(data, 2).unwrap_or(0)),
                        u32::from(u16le(data, 4).unwrap_or(0)),
                        u32::from(u16le(data, 6).unwrap_or(0)),
                    ),
                    14 | 16 => (
                        u32le(data, 0).unwrap_or(0),
                        u32le(data, 4).unwrap_or(0),
                        u32::from(u16le(data, 8).unwrap_or(0)),
                        u32::from(u16le(data, 10).unwrap_or(0)),
                    ),
                    n => return Err(format!("DIMENSIONS record of {n} bytes")),
                };
                let cf = if cf > 0xFF || cl < cf { 0 } else { cf };
                if rl >= 1 && cl >= 1 {
                    if rf > rl - 1 || cf > cl - 1 {
                        return Err("DIMENSIONS record with its end before its start".into());
                    }
                    let cells = u64::from(rl - rf) * u64::from(cl - cf);
                    if cells > max_cells as u64 {
                        return Err(format!("a sheet declares {cells} cells, over the limit of {max_cells}"));
                    }
                }
            }
            0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 | 0x0201 => {
                let r = u16le(data, 0).ok_or("short cell record")?;
                let c = u16le(data, 2).ok_or("short cell record")?;
                add(&mut bounds, u32::from(r), u32::from(c));
            }
            0x00BD | 0x00BE => {
                if data.len() < 6 {
                    return Err("short MULRK record".into());
                }
                let r = u16le(data, 0).unwrap_or(0);
                let c0 = u16le(data, 2).unwrap_or(0);
                let c1 = u16le(data, data.len() - 2).unwrap_or(0);
                if c1 < c0 {
                    return Err("MULRK record with its last column before its first".into());
                }
                add(&mut bounds, u32::from(r), u32::from(c0));
                add(&mut bounds, u32::from(r), u32::from(c1));
            }
            _ => {}
        }
    }
    check(&mut bounds)
}

// ---------------------------------------------------------------------------------------
// .xlsx: ZIP directory and inflated sizes

/// Every part must inflate to exactly its declared size, the total must stay bounded, and
/// the shared-string count must be plausible for the bytes that hold the strings.
pub(crate) fn check_xlsx(b: &[u8], max_file_bytes: u64) -> Result<(), String> {
    let eocd = (0..b.len().saturating_sub(21)).rev().take(65_557).find(|&i| u32le(b, i) == Some(0x0605_4B50));
    let eocd = eocd.ok_or("no ZIP end-of-directory record")?;
    let entries = usize::from(u16le(b, eocd + 10).ok_or("bad ZIP directory")?);
    let cd_off = u32le(b, eocd + 16).ok_or("bad ZIP directory")? as usize;
    if entries == 0xFFFF || cd_off == 0xFFFF_FFFF {
        return Err("ZIP64 workbooks are not supported".into());
    }
    if entries > MAX_ZIP_ENTRIES {
        return Err(format!("{entries} parts in the ZIP"));
    }
    let budget = MAX_XLSX_INFLATED.min(max_file_bytes.saturating_mul(200).max(64 << 20));
    let mut total = 0u64;
    let mut p = cd_off;
    for _ in 0..entries {
        if u32le(b, p) != Some(0x0201_4B50) {
            return Err("bad ZIP directory entry".into());
        }
        let method = u16le(b, p + 10).ok_or("bad ZIP entry")?;
        let csize = u32le(b, p + 20).ok_or("bad ZIP entry")? as usize;
        let usize_ = u32le(b, p + 24).ok_or("bad ZIP entry")? as u64;
        let nlen = usize::from(u16le(b, p + 28).ok_or("bad ZIP entry")?);
        let elen = usize::from(u16le(b, p + 30).ok_or("bad ZIP entry")?);
        let clen = usize::from(u16le(b, p + 32).ok_or("bad ZIP entry")?);
        let local = u32le(b, p + 42).ok_or("bad ZIP entry")? as usize;
        let name = String::from_utf8_lossy(b.get(p + 46..p + 46 + nlen).ok_or("bad ZIP entry name")?).to_string();
        p += 46 + nlen + elen + clen;
        if csize == 0xFFFF_FFFF || usize_ == 0xFFFF_FFFF {
            return Err("ZIP64 workbooks are not supported".into());
        }
        total += usize_;
        if total > budget {
            return Err(format!("parts inflate to more than {budget} bytes"));
        }
        if u32le(b, local) != Some(0x0403_4B50) {
            return Err(format!("part {name:?}: bad local header"));
        }
        let lnlen = usize::from(u16le(b, local + 26).ok_or("bad local header")?);
        let lelen = usize::from(u16le(b, local + 28).ok_or("bad local header")?);
        let start = local + 30 + lnlen + lelen;
        let data = b
            .get(start..start.checked_add(csize).ok_or("bad size")?)
            .ok_or_else(|| format!("part {name:?} runs past the end of the file"))?;
        let inflated = match method {
            0 => {
                if data.len() as u64 != usize_ {
                    return Err(format!("part {name:?}: stored size differs from its declared size"));
                }
                std::borrow::Cow::Borrowed(data)
            }
            8 => std::borrow::Cow::Owned(inflate(data, usize_ as usize).map_err(|m| format!("part {name:?}: {m}"))?),
            m => return Err(format!("part {name:?}: compression method {m} is not supported")),
        };
        if name.ends_with("sharedStrings.xml") {
            check_shared_strings(&inflated)?;
        }
    }
    Ok(())
}

fn check_shared_strings(x: &[u8]) -> Result<(), String> {
    let head = &x[..x.len().min(4096)];
    let key = b"uniqueCount=\"";
    if let Some(i) = head.windows(key.len()).position(|w| w == key) {
        let digits: Vec<u8> = head[i + key.len()..].iter().take_while(|c| c.is_ascii_digit()).copied().collect();
        let n: u64 = std::str::from_utf8(&digits).ok().and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
        if n > x.len() as u64 / 4 + 16 {
            return Err(format!("shared-string table claims {n} strings in {} bytes", x.len()));
        }
    }
    Ok(())
}

/// RFC 1951 inflate with a hard output bound: more output than `max` is an error.
pub(crate) fn inflate(data: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut s = Bits { data, pos: 0, bit: 0, cnt: 0 };
    let mut out: Vec<u8> = Vec::with_capacity(max.min(1 << 24));
    loop {
        let last = s.bits(1)?;
        match s.bits(2)? {
            0 => {
                s.bit = 0;
                s.cnt = 0;
                let len = usize::from(u16le(data, s.pos).ok_or("truncated stored block")?);
                let nlen = u16le(data, s.pos + 2).ok_or("truncated stored block")?;
                if len as u16 != !nlen {
                    return Err("corrupt stored block".into());
                }
                s.pos += 4;
                let chunk = data.get(s.pos..s.pos + len).ok_or("truncated stored block")?;
                if out.len() + len > max {
                    return Err("inflates beyond its declared size".into());
                }
                out.extend_from_slice(chunk);
                s.pos += len;
            }
            1 => {
                let mut l = [0u8; 288];
                l[..144].fill(8);
                l[144..256].fill(9);
                l[256..280].fill(7);
                l[280..].fill(8);
                let lit = Huff::new(&l)?;
                let dist = Huff::new(&[5u8; 30])?;
                codes(&mut s, &mut out, &lit, &dist, max)?;
            }
            2 => {
                let nlen = s.bits(5)? as usize + 257;
                let ndist = s.bits(5)? as usize + 1;
                let ncode = s.bits(4)? as usize + 4;
                if nlen > 286 || ndist > 30 {
                    return Err("bad dynamic block".into());
                }
                const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
                let mut cl = [0u8; 19];
                for &i in ORDER.iter().take(ncode) {
                    cl[i] = s.bits(3)? as u8;
                }
                let clh = Huff::new(&cl)?;
                let mut lengths = [0u8; 316];
                let mut i = 0;
                while i < nlen + ndist {
                    let sym = clh.decode(&mut s)?;
                    let (val, rep) = match sym {
                        0..=15 => (sym as u8, 1),
                        16 => {
                            if i == 0 {
                                return Err("repeat with no previous length".into());
                            }
                            (lengths[i - 1], 3 + s.bits(2)? as usize)
                        }
                        17 => (0, 3 + s.bits(3)? as usize),
                        _ => (0, 11 + s.bits(7)? as usize),
                    };
                    if i + rep > nlen + ndist {
                        return Err("too many lengths".into());
                    }
                    lengths[i..i + rep].fill(val);
                    i += rep;
                }
                let lit = Huff::new(&lengths[..nlen])?;
                let dist = Huff::new(&lengths[nlen..nlen + ndist])?;
                codes(&mut s, &mut out, &lit, &dist, max)?;
            }
            _ => return Err("invalid block type".into()),
        }
        if last == 1 {
            break;
        }
    }
    if out.len() != max {
        return Err("inflates to a size other than its declared size".into());
    }
    Ok(out)
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    bit: u32,
    cnt: u32,
}

impl Bits<'_> {
    fn bits(&mut self, n: u32) -> Result<u32, String> {
        while self.cnt < n {
            let b = *self.data.get(self.pos).ok_or("truncated deflate stream")?;
            self.pos += 1;
            self.bit |= u32::from(b) << self.cnt;
            self.cnt += 8;
        }
        let v = self.bit & ((1u32 << n) - 1);
        self.bit >>= n;
        self.cnt -= n;
        Ok(v)
    }
}

struct Huff {
    count: [u16; 16],
    symbol: Vec<u16>,
}

impl Huff {
    fn new(lengths: &[u8]) -> Result<Huff, String> {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        let mut left: i32 = 1;
        for c in count.iter().skip(1) {
            left = left * 2 - i32::from(*c);
            if left < 0 {
                return Err("over-subscribed Huffman code".into());
            }
        }
        let mut offs = [0u16; 16];
        for l in 1..15 {
            offs[l + 1] = offs[l] + count[l];
        }
        let mut symbol = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbol[usize::from(offs[usize::from(l)])] = sym as u16;
                offs[usize::from(l)] += 1;
            }
        }
        Ok(Huff { count, symbol })
    }

    fn decode(&self, s: &mut Bits<'_>) -> Result<u16, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= s.bits(1)? as i32;
            let count = i32::from(self.count[len]);
            if code - count < first {
                return self.symbol.get((index + (code - first)) as usize).copied().ok_or_else(|| "bad code".into());
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err("invalid Huffman code".into())
    }
}

fn codes(s: &mut Bits<'_>, out: &mut Vec<u8>, lit: &Huff, dist: &Huff, max: usize) -> Result<(), String> {
    const LBASE: [u16; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227,
        258,
    ];
    const LEXT: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
    const DBASE: [u16; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
        6145, 8193, 12289, 16385, 24577,
    ];
    const DEXT: [u8; 30] =
        [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
    loop {
        let sym = lit.decode(s)?;
        if sym < 256 {
            if out.len() >= max {
                return Err("inflates beyond its declared size".into());
            }
            out.push(sym as u8);
        } else if sym == 256 {
            return Ok(());
        } else {
            let i = usize::from(sym - 257);
            if i >= 29 {
                return Err("bad length code".into());
            }
            let len = usize::from(LBASE[i]) + s.bits(u32::from(LEXT[i]))? as usize;
            let d = usize::from(dist.decode(s)?);
            if d >= 30 {
                return Err("bad distance code".into());
            }
            let back = usize::from(DBASE[d]) + s.bits(u32::from(DEXT[d]))? as usize;
            if back > out.len() {
                return Err("distance too far back".into());
            }
            if out.len() + len > max {
                return Err("inflates beyond its declared size".into());
            }
            let from = out.len() - back;
            for k in 0..len {
                let c = out[from + k];
                out.push(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflates_fixed_and_stored() {
        // Raw deflate (zlib wbits -15, level 9) of "hello hello hello".
        let d = [0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x90, 0x00];
        assert_eq!(inflate(&d, 17).unwrap(), b"hello hello hello");
        assert!(inflate(&d, 16).is_err());
        // A stored block: BFINAL=1, BTYPE=00, LEN=3, NLEN=!3, "abc".
        let st = [0x01, 0x03, 0x00, 0xfc, 0xff, b'a', b'b', b'c'];
        assert_eq!(inflate(&st, 3).unwrap(), b"abc");
        assert!(inflate(&[0xff; 4], 10).is_err());
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/parse/table").join(name)).unwrap()
    }

    /// Fuzzing found it: a directory chain that loops made calamine grow a buffer until
    /// memory ran out. The guard refuses it before calamine sees the bytes.
    #[test]
    fn xls_chain_loops_are_refused() {
        let err = check_xls(&fixture("bad-cfb-loop.xls"), 1_000_000).unwrap_err();
        assert!(err.contains("chain loops"), "{err}");
    }

    #[test]
    fn xls_cell_far_away_is_refused() {
        let mut b = fixture("ccb-corporate.xls");
        assert_eq!(check_xls(&b, MAX_SHEET_CELLS), Ok(()));
        // Move the first NUMBER record (type 0x0203, 14 bytes) to row 65535, column 255:
        // calamine would build a 65536 × 256 grid for it.
        let at = b.windows(4).position(|w| w == [0x03, 0x02, 0x0E, 0x00]).unwrap() + 4;
        b[at..at + 4].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0x00]);
        let e = check_xls(&b, MAX_SHEET_CELLS).unwrap_err();
        assert!(e.contains("over the limit"), "{e}");
    }

    /// A stored (uncompressed) one-part ZIP.
    fn zip(name: &str, data: &[u8], declared: u32) -> Vec<u8> {
        let mut z = Vec::new();
        let local = |z: &mut Vec<u8>| {
            z.extend_from_slice(&[0x50, 0x4B, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            z.extend_from_slice(&(data.len() as u32).to_le_bytes());
            z.extend_from_slice(&declared.to_le_bytes());
            z.extend_from_slice(&(name.len() as u16).to_le_bytes());
            z.extend_from_slice(&[0, 0]);
            z.extend_from_slice(name.as_bytes());
            z.extend_from_slice(data);
        };
        local(&mut z);
        let cd = z.len() as u32;
        z.extend_from_slice(&[0x50, 0x4B, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&declared.to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0; 12]);
        z.extend_from_slice(&0u32.to_le_bytes());
        z.extend_from_slice(name.as_bytes());
        let cd_len = z.len() as u32 - cd;
        z.extend_from_slice(&[0x50, 0x4B, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0]);
        z.extend_from_slice(&cd_len.to_le_bytes());
        z.extend_from_slice(&cd.to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z
    }

    #[test]
    fn xlsx_claims_are_checked() {
        assert_eq!(check_xlsx(&fixture("cmb-corporate.xlsx"), 1 << 20), Ok(()));
        let sst = br#"<sst uniqueCount="4000000000"><si><t>a</t></si></sst>"#;
        let e = check_xlsx(&zip("xl/sharedStrings.xml", sst, sst.len() as u32), 1 << 20).unwrap_err();
        assert!(e.contains("claims 4000000000 strings"), "{e}");
        let e = check_xlsx(&zip("xl/workbook.xml", b"<a/>", 3), 1 << 20).unwrap_err();
        assert!(e.contains("declared size"), "{e}");
        let e = check_xlsx(&zip("xl/workbook.xml", b"<a/>", u32::MAX - 1), 1 << 20).unwrap_err();
        assert!(e.contains("inflate to more than"), "{e}");
    }

    #[test]
    fn refuses_garbage() {
        assert!(check_xls(&[0u8; 100], 10).is_err());
        assert!(check_xlsx(b"PK\x03\x04 not a zip", 1 << 20).is_err());
    }
}
