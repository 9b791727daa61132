//! Statement files delivered zipped. A `.zip` from a channel or on the `reconcile` command
//! line is read member by member: each member becomes a file of its own (own content hash,
//! named `<zip>!<member path>`), imported like a plain file. Pure reading: no storage, no
//! config; the caller says where each member's bytes go ([`extract`]'s `create`).
//!
//! Nothing is trusted that the zip says about itself. Before a byte is inflated, every
//! entry of the central directory is checked and the whole zip refused if one is hostile
//! or odd: a name that is not valid UTF-8, absolute, with `..`/`.`/empty components,
//! backslashes, a drive letter or colon, control or bidi characters; an encrypted or
//! symlink member; a nested zip (by name here, by content while inflating); a compression
//! method other than stored/deflate; more members than [`MAX_MEMBERS`] (a ZIP64 count is
//! checked before the zip crate reads the directory, [`check_directory_end`]); duplicate
//! names, local headers that disagree with the directory, overlapping or unlisted members
//! (the zip crate's `validate_header_consistency`). Then members are inflated one by one
//! while their bytes are counted: over [`Limits::max_total_bytes`] in total (the
//! channel's / `[limits]` max file size), over the member's declared size (the zip crate
//! counts that), or over [`MAX_RATIO`] times the member's compressed size, the zip is
//! refused as a bomb.
//!
//! Nested zips are refused, not opened one level down: no bank delivers a zip in a zip, a
//! nested one multiplies the ratio a bomb can reach per byte read, and refusing keeps one
//! level of names (`outer.zip!member`) for operators. Folders inside the zip are fine
//! (`dir/file.xml`); hidden and system members (`__MACOSX/…`, `.DS_Store`, `Thumbs.db`,
//! `desktop.ini`, any name starting with `.`) are skipped, as `reconcile` skips hidden
//! files. Member names are never used as paths: members are stored by content hash, so
//! the name checks refuse what no honest bank sends, they do not guard a file system.

use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};
use zip::CompressionMethod;

/// Most entries one zip may hold (files, folders and skipped members all count). A bank's
/// delivery is one file per account and day: a handful, at most a few hundred for a bank
/// with many accounts. 1,000 leaves room and bounds the names and headers read.
pub const MAX_MEMBERS: usize = 1_000;
/// Most a member may inflate to per compressed byte, once past [`RATIO_FLOOR`]. Statement
/// files compress 4–30× (XML, fixed-width bank exports padded with spaces perhaps 50–100×);
/// deflate itself tops out near 1,032×, where bombs live. 200× stops one at a fifth of
/// that, long before the total bound is reached.
pub const MAX_RATIO: u64 = 200;
/// Members up to this size are never refused for their ratio: a small file of repeated
/// lines may compress far better than 200× and costs nothing to inflate.
pub const RATIO_FLOOR: u64 = 1 << 20;
/// Longest member path (bytes) and most folder levels. Bank zips hold flat names or one
/// folder; longer or deeper is an anomaly, and the name lands in logs and the database.
pub const MAX_PATH_BYTES: usize = 1_024;
pub const MAX_DEPTH: usize = 16;
/// Longest path component (bytes), as file systems allow.
const MAX_COMPONENT_BYTES: usize = 255;
/// The end-of-central-directory record (22 bytes) with its longest comment: where readers
/// look for it, at the end of the file.
const EOCD_WINDOW: u64 = 22 + 65_535;
/// Inflating buffer.
const CHUNK: usize = 64 << 10;

/// Bounds on what one zip may make us do.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Total inflated bytes of all members (a member alone is bounded by it too).
    pub max_total_bytes: u64,
    pub max_members: usize,
    pub max_ratio: u64,
}

impl Limits {
    /// The defaults with the total bounded by the channel's (or `[limits]`) max file size:
    /// what a delivery may hold plain, it may hold zipped, no more.
    pub fn new(max_total_bytes: u64) -> Limits {
        Limits { max_total_bytes, max_members: MAX_MEMBERS, max_ratio: MAX_RATIO }
    }
}

/// Whether a delivered file is to be read as a zip (by its name: `.zip`, any case).
pub fn is_zip(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 4 && b[b.len() - 4..].eq_ignore_ascii_case(b".zip")
}

/// The name a member is known by (`raw_files`, errors, logs): `<zip>!<member path>`.
pub fn member_name(zip: &str, path: &str) -> String {
    format!("{zip}!{path}")
}

/// Why a zip was refused or could not be read. Names the zip and, where one is at fault,
/// the member (escaped when its name is itself the problem).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub zip: String,
    pub member: Option<String>,
    pub why: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.member {
            Some(m) => write!(f, "{}: {}", member_name(&self.zip, m), self.why),
            None => write!(f, "{}: {}", self.zip, self.why),
        }
    }
}

impl std::error::Error for Error {}

/// One member read out of a zip.
#[derive(Debug)]
pub struct Member<W> {
    /// Its path inside the zip (`dir/file.xml`).
    pub path: String,
    /// `<zip>!<path>`.
    pub name: String,
    /// Inflated bytes, counted.
    pub size: u64,
    /// SHA-256 of the inflated bytes (lowercase hex): the member's identity.
    pub sha256: String,
    /// Where its bytes went.
    pub out: W,
}

/// Reads every member of the zip in `reader` into a writer from `create` (called with the
/// member's name), all or nothing: on any error the writers made so far are dropped (a
/// temporary file deletes itself). Members come sorted by path. `zip` names the zip in
/// errors.
pub fn extract<R: Read + Seek, W: Write>(
    zip: &str,
    mut reader: R,
    limits: &Limits,
    mut create: impl FnMut(&str) -> io::Result<W>,
) -> Result<Vec<Member<W>>, Error> {
    let whole = |why: String| Error { zip: zip.to_string(), member: None, why };
    check_directory_end(&mut reader, limits.max_members).map_err(whole)?;
    let mut archive =
        zip::ZipArchive::new(reader).map_err(|e| whole(format!("not a readable zip archive (damaged?): {e}")))?;
    if archive.len() > limits.max_members {
        return Err(whole(format!("{} members, over the limit of {}", archive.len(), limits.max_members)));
    }
    // Two entries of one name (the reader would keep one), a local header that names
    // another file than the directory (what one tool shows is not what another reads),
    // members sharing compressed bytes (the overlapping-member bomb), data the directory
    // does not list: all refused.
    archive
        .validate_header_consistency()
        .map_err(|e| whole(format!("inconsistent zip (duplicate names, overlapping or unlisted members): {e}")))?;

    // Every entry checked before anything is inflated.
    let mut plan: Vec<(usize, String)> = Vec::new();
    let mut declared_total = 0u64;
    for i in 0..archive.len() {
        let f =
            archive.by_index_raw(i).map_err(|e| whole(format!("entry {}: cannot be read (damaged?): {e}", i + 1)))?;
        let raw = f.name_raw();
        let path = check_path(raw, f.is_dir()).map_err(|why| Error {
            zip: zip.to_string(),
            member: Some(escaped(raw)),
            why,
        })?;
        let refuse = |why: String| Error { zip: zip.to_string(), member: Some(path.clone()), why };
        if f.is_dir() || hidden(&path) {
            continue;
        }
        if f.encrypted() {
            return Err(refuse(
                "encrypted member: refused (statements are delivered unencrypted inside the zip)".into(),
            ));
        }
        if f.is_symlink() {
            return Err(refuse("symbolic link member: refused, never followed".into()));
        }
        if is_zip(&path) {
            return Err(refuse(
                "a zip inside the zip: nested zips are refused (unzip it and deliver its files)".into(),
            ));
        }
        if !matches!(f.compression(), CompressionMethod::Stored | CompressionMethod::Deflated) {
            return Err(refuse(format!(
                "compression method {:?} is not supported (stored or deflate only)",
                f.compression()
            )));
        }
        // Declared sizes are only a first filter (they may lie: bytes are counted below).
        declared_total = declared_total.saturating_add(f.size());
        if declared_total > limits.max_total_bytes {
            return Err(refuse(format!(
                "the members declare over {} bytes in total, the limit: refused",
                limits.max_total_bytes
            )));
        }
        plan.push((i, path));
    }
    if plan.is_empty() {
        return Err(whole("no statement file in the zip (empty, or only folders and hidden files)".into()));
    }
    plan.sort_by(|a, b| a.1.cmp(&b.1));
    if let Some(w) = plan.windows(2).find(|w| w[0].1 == w[1].1) {
        let why = "two members of the same name: refused".to_string();
        return Err(Error { zip: zip.to_string(), member: Some(w[0].1.clone()), why });
    }

    let mut total = 0u64;
    let mut out = Vec::with_capacity(plan.len());
    let mut buf = vec![0u8; CHUNK];
    for (i, path) in plan {
        let refuse = |why: String| Error { zip: zip.to_string(), member: Some(path.clone()), why };
        let mut f = archive.by_index(i).map_err(|e| refuse(format!("cannot be read (damaged?): {e}")))?;
        let compressed = f.compressed_size();
        let name = member_name(zip, &path);
        let mut w = create(&name).map_err(|e| refuse(format!("cannot store the member: {e}")))?;
        let mut hasher = Sha256::new();
        let mut head = [0u8; 4];
        let mut size = 0u64;
        loop {
            let n = match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(refuse(format!("cannot be inflated (damaged, or a zip bomb): {e}"))),
            };
            let before = size;
            size += n as u64;
            total += n as u64;
            if total > limits.max_total_bytes {
                return Err(refuse(format!(
                    "inflates past {} bytes in total, the limit: refused as a zip bomb",
                    limits.max_total_bytes
                )));
            }
            if size > RATIO_FLOOR && size / compressed.max(1) >= limits.max_ratio {
                return Err(refuse(format!(
                    "inflates over {}× its compressed size of {compressed} bytes: refused as a zip bomb",
                    limits.max_ratio
                )));
            }
            if before < 4 {
                let k = (4 - before as usize).min(n);
                head[before as usize..before as usize + k].copy_from_slice(&buf[..k]);
                if before as usize + k == 4 && head[..2] == *b"PK" && matches!(head[2..], [3, 4] | [5, 6] | [7, 8]) {
                    return Err(refuse(
                        "a zip inside the zip: nested zips are refused (unzip it and deliver its files)".into(),
                    ));
                }
            }
            hasher.update(&buf[..n]);
            w.write_all(&buf[..n]).map_err(|e| refuse(format!("cannot store the member: {e}")))?;
        }
        if size == 0 {
            return Err(refuse("empty member: refused (no statement in it)".into()));
        }
        w.flush().map_err(|e| refuse(format!("cannot store the member: {e}")))?;
        out.push(Member { path, name, size, sha256: hex::encode(hasher.finalize()), out: w });
    }
    Ok(out)
}

/// Bounds the entry count a zip declares before the zip crate reads its central
/// directory (the crate sizes and fills its index from it). A classic end record counts
/// entries in 16 bits, so whatever it says the index is bounded (65,535 entries, a few
/// MiB); a ZIP64 end record counts in 64 bits, so its counts must be within
/// `max_members`. Every end-record signature in the tail is looked at: one with a ZIP64
/// locator right before it (where the zip crate looks) has its ZIP64 record read where
/// the locator says, and refused if it is not there or declares too many entries.
/// (Streaming writers such as Info-ZIP reading stdin write ZIP64 records for small zips.)
fn check_directory_end<R: Read + Seek>(r: &mut R, max_members: usize) -> Result<(), String> {
    let io = |e: io::Error| format!("cannot be read: {e}");
    let len = r.seek(SeekFrom::End(0)).map_err(io)?;
    let start = len.saturating_sub(EOCD_WINDOW);
    r.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut tail = Vec::with_capacity((len - start) as usize);
    r.by_ref().take(EOCD_WINDOW).read_to_end(&mut tail).map_err(io)?;
    let u64_at = |b: &[u8], p: usize| u64::from_le_bytes(b[p..p + 8].try_into().expect("8 bytes"));
    for p in (20..tail.len().saturating_sub(21)).filter(|&p| tail[p..p + 4] == *b"PK\x05\x06") {
        if tail[p - 20..p - 16] != *b"PK\x06\x07" {
            continue;
        }
        let at = u64_at(&tail, p - 20 + 8);
        let mut record = [0u8; 56];
        let found = at.checked_add(56).is_some_and(|end| end <= len)
            && r.seek(SeekFrom::Start(at)).is_ok()
            && r.read_exact(&mut record).is_ok()
            && record[..4] == *b"PK\x06\x06";
        if !found {
            return Err("ZIP64 end record missing where its locator points: damaged or disguised".into());
        }
        let declared = u64_at(&record, 24).max(u64_at(&record, 32));
        if declared > max_members as u64 {
            return Err(format!("declares {declared} members (ZIP64), over the limit of {max_members}"));
        }
    }
    r.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(())
}

/// A member path checked as data: UTF-8, relative, `/`-separated, no `.`/`..`/empty
/// component, no backslash, colon (drive letters, NTFS streams), control or bidi
/// characters; bounded length and depth. Returns the path without a folder's trailing `/`.
fn check_path(raw: &[u8], is_dir: bool) -> Result<String, String> {
    // Chinese Windows tools (Explorer's "send to compressed folder", WinRAR, 7-Zip) write
    // member names in the system code page, GBK, without the zip's UTF-8 flag: a name
    // that is not UTF-8 is read as GB18030 (which includes GBK), strictly, never with
    // replacement characters.
    let decoded;
    let name = match std::str::from_utf8(raw) {
        Ok(n) => n,
        Err(_) => {
            decoded = encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(raw)
                .ok_or_else(|| "name is neither UTF-8 nor GB18030 (GBK): refused".to_string())?;
            &decoded
        }
    };
    if name.len() > MAX_PATH_BYTES {
        return Err(format!("name is {} bytes, over {MAX_PATH_BYTES}: refused", name.len()));
    }
    if name.chars().any(|c| c.is_control() || is_bidi(c)) {
        return Err("name contains control or bidirectional-override characters: refused".into());
    }
    if name.contains('\\') {
        return Err("name contains a backslash: refused (path separators are '/')".into());
    }
    if name.contains(':') {
        return Err("name contains ':' (a drive letter or stream name): refused".into());
    }
    if name.starts_with('/') {
        return Err("absolute path: refused".into());
    }
    let path = if is_dir { name.strip_suffix('/').unwrap_or(name) } else { name };
    let mut depth = 0;
    for c in path.split('/') {
        depth += 1;
        if c.is_empty() {
            return Err("empty name or path component ('//'): refused".into());
        }
        if c == "." || c == ".." {
            return Err("'.' or '..' in the path (path traversal): refused".into());
        }
        if c.len() > MAX_COMPONENT_BYTES {
            return Err(format!("a path component is over {MAX_COMPONENT_BYTES} bytes: refused"));
        }
    }
    if depth > MAX_DEPTH {
        return Err(format!("{depth} folder levels, over {MAX_DEPTH}: refused"));
    }
    Ok(path.to_string())
}

/// Characters that reorder how a name is displayed (a `gpj.xml` that reads `lmx.jpg`).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
}

/// Hidden and system members, skipped: `__MACOSX/…` (macOS resource forks), `.DS_Store`
/// and any other name starting with `.`, `Thumbs.db`, `desktop.ini`.
fn hidden(path: &str) -> bool {
    path.split('/').any(|c| {
        c.starts_with('.')
            || c.eq_ignore_ascii_case("__MACOSX")
            || c.eq_ignore_ascii_case("Thumbs.db")
            || c.eq_ignore_ascii_case("desktop.ini")
    })
}

/// A raw name made safe for an error message: quoted, invalid UTF-8 replaced, control
/// characters escaped.
fn escaped(raw: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(&raw[..raw.len().min(MAX_PATH_BYTES)]);
    format!("{:?}", lossy.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use zip::write::SimpleFileOptions;

    fn build(members: &[(&str, &[u8])]) -> Vec<u8> {
        build_with(members, SimpleFileOptions::default())
    }

    fn build_with(members: &[(&str, &[u8])], opts: SimpleFileOptions) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in members {
            if name.ends_with('/') {
                w.add_directory(*name, opts).unwrap();
            } else {
                w.start_file(*name, opts).unwrap();
                w.write_all(bytes).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    fn read(zip: &[u8], limits: &Limits) -> Result<Vec<Member<Vec<u8>>>, Error> {
        extract("BOC_20240321.zip", Cursor::new(zip), limits, |_| Ok(Vec::new()))
    }

    fn big() -> Limits {
        Limits::new(64 << 20)
    }

    /// Replaces every occurrence of `from` in `bytes` by `to` (same length): a header
    /// field or name patched in place.
    fn patch(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
        assert_eq!(from.len(), to.len());
        let mut n = 0;
        for p in 0..=bytes.len() - from.len() {
            if &bytes[p..p + from.len()] == from {
                bytes[p..p + from.len()].copy_from_slice(to);
                n += 1;
            }
        }
        n
    }

    #[test]
    fn good_zip_with_a_folder_gives_its_members_sorted_and_skips_hidden_ones() {
        let zip = build(&[
            ("camt053_0002.xml", b"<second/>"),
            ("2024/", b""),
            ("2024/camt053_0001.xml", b"<first/>"),
            ("__MACOSX/._camt053_0002.xml", b"resource fork"),
            (".DS_Store", b"finder"),
            ("2024/Thumbs.db", b"thumbs"),
        ]);
        let got = read(&zip, &big()).unwrap();
        let names: Vec<&str> = got.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["BOC_20240321.zip!2024/camt053_0001.xml", "BOC_20240321.zip!camt053_0002.xml"]);
        assert_eq!(got[0].out, b"<first/>");
        assert_eq!(got[1].out, b"<second/>");
        assert_eq!((got[0].path.as_str(), got[0].size), ("2024/camt053_0001.xml", 8));
        assert_eq!(got[1].sha256, crate::archive::sha256_hex(b"<second/>"));
        // Stored members read the same.
        let stored = build_with(
            &[("a.sta", b"x"), ("b.sta", b"y")],
            SimpleFileOptions::default().compression_method(CompressionMethod::Stored),
        );
        assert_eq!(read(&stored, &big()).unwrap().len(), 2);
        assert!(is_zip("BOC.ZIP") && is_zip("a.zip") && !is_zip("zip") && !is_zip("a.xml") && !is_zip("中.zi"));
        // A name in GBK, as Chinese Windows tools write it without the UTF-8 flag
        // (对账单 = B6 D4 D5 CB B5 A5).
        let mut zip = build(&[("QQQQQQ.csv", b"x")]);
        patch(&mut zip, b"QQQQQQ.csv", b"\xb6\xd4\xd5\xcb\xb5\xa5.csv");
        let got = read(&zip, &big()).unwrap();
        assert_eq!(got[0].name, "BOC_20240321.zip!对账单.csv");
    }

    #[test]
    fn a_bomb_is_refused_while_inflating() {
        // Honest header, huge ratio: refused past the floor, long before the total.
        let zeros = vec![0u8; 8 << 20];
        let zip = build(&[("bomb.xml", &zeros)]);
        let e = read(&zip, &big()).unwrap_err();
        assert_eq!(e.member.as_deref(), Some("bomb.xml"), "{e}");
        assert!(e.to_string().starts_with("BOC_20240321.zip!bomb.xml: inflates over 200×"), "{e}");

        // Declared small, inflates big: the headers say 100 bytes; reading stops there.
        let mut lying = build(&[("bomb.xml", &zeros)]);
        let declared = (zeros.len() as u32).to_le_bytes();
        assert_eq!(patch(&mut lying, &declared, &100u32.to_le_bytes()), 2, "local and central header");
        let e = read(&lying, &Limits { max_ratio: u64::MAX, ..big() }).unwrap_err();
        assert_eq!(e.member.as_deref(), Some("bomb.xml"), "{e}");
        assert!(e.why.contains("declared"), "{e}");

        // Over the total (several members, each within the ratio): counted, not declared.
        let noise: Vec<u8> = (0..600_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let zip = build(&[("a.xml", &noise), ("b.xml", &noise)]);
        let e = read(&zip, &Limits::new(1_000_000)).unwrap_err();
        assert!(e.why.contains("over 1000000 bytes in total") || e.why.contains("past 1000000 bytes"), "{e}");
        let mut lying = zip.clone();
        let declared = (noise.len() as u32).to_le_bytes();
        patch(&mut lying, &declared, &10u32.to_le_bytes());
        assert!(read(&lying, &Limits::new(1_000_000)).is_err());
    }

    #[test]
    fn duplicate_and_cloaked_names_are_refused() {
        let mut zip = build(&[("a.xml", b"<a/>"), ("b.xml", b"<b/>")]);
        assert_eq!(patch(&mut zip, b"b.xml", b"a.xml"), 2);
        let e = read(&zip, &big()).unwrap_err();
        assert!(e.to_string().starts_with("BOC_20240321.zip: inconsistent zip"), "{e}");
        // The local header names another file than the central directory.
        let mut zip = build(&[("a.xml", b"<a/>")]);
        let local = zip.windows(5).position(|w| w == b"a.xml").unwrap();
        zip[local] = b'z';
        let e = read(&zip, &big()).unwrap_err();
        assert!(e.to_string().starts_with("BOC_20240321.zip: inconsistent zip"), "{e}");
    }

    #[test]
    fn too_many_members_are_refused() {
        let names: Vec<String> = (0..=MAX_MEMBERS).map(|i| format!("s{i:04}.sta")).collect();
        let members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        let e = read(&build(&members), &big()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("BOC_20240321.zip: {} members, over the limit of {MAX_MEMBERS}", MAX_MEMBERS + 1)
        );
        assert_eq!(read(&build(&members[..MAX_MEMBERS]), &big()).unwrap().len(), MAX_MEMBERS);
    }

    #[test]
    fn hostile_names_are_refused_and_named() {
        // Written with a same-length placeholder, then patched: writers refuse some of these.
        for (bad, why) in [
            ("../etc/passwd", "path traversal"),
            ("a/../../x.xml", "path traversal"),
            ("/etc/shadow", "absolute path"),
            ("a\\..\\b.xml", "backslash"),
            ("C:/Windows/x", "':'"),
            ("a//b.xml", "empty name"),
            ("./a.xml", "path traversal"),
            ("a\u{1b}[2J.xml", "control"),
            ("gpj\u{202e}.xml", "bidirectional"),
        ] {
            let placeholder = "Q".repeat(bad.len());
            let mut zip = build(&[("good.xml", b"ok"), (&placeholder, b"evil")]);
            assert_eq!(patch(&mut zip, placeholder.as_bytes(), bad.as_bytes()), 2);
            let e = read(&zip, &big()).unwrap_err();
            assert!(e.why.contains(why), "{bad:?}: {e}");
            let text = e.to_string();
            assert!(text.starts_with("BOC_20240321.zip!\""), "names the zip and the member, quoted: {text}");
            assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "escaped: {text}");
        }
        // Neither UTF-8 nor GB18030 (a lone lead byte).
        let mut zip = build(&[("QQ.xml", b"x")]);
        patch(&mut zip, b"QQ.xml", b"\x81\x20.xml");
        let e = read(&zip, &big()).unwrap_err();
        assert!(e.why.contains("neither UTF-8 nor GB18030"), "{e}");
        assert!(e.to_string().starts_with("BOC_20240321.zip!\""), "{e}");
    }

    #[test]
    fn encrypted_symlink_and_nested_members_are_refused() {
        // The encryption flag set on an otherwise plain member (bit 0 of the general
        // purpose flags, in the local and the central header).
        let mut zip = build(&[("secret.xml", b"<x/>")]);
        let mut flags = 0;
        for p in 0..zip.len() - 4 {
            let off = match &zip[p..p + 4] {
                b"PK\x03\x04" => 6,
                b"PK\x01\x02" => 8,
                _ => continue,
            };
            zip[p + off] |= 1;
            flags += 1;
        }
        assert_eq!(flags, 2);
        let e = read(&zip, &big()).unwrap_err();
        assert_eq!(e.member.as_deref(), Some("secret.xml"));
        assert!(e.why.starts_with("encrypted member"), "{e}");

        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        w.add_symlink("link.xml", "/etc/passwd", SimpleFileOptions::default()).unwrap();
        let zip = w.finish().unwrap().into_inner();
        let e = read(&zip, &big()).unwrap_err();
        assert!(e.to_string().starts_with("BOC_20240321.zip!link.xml: symbolic link"), "{e}");

        let inner = build(&[("a.xml", b"<a/>")]);
        let e = read(&build(&[("inner.zip", &inner)]), &big()).unwrap_err();
        assert!(e.to_string().starts_with("BOC_20240321.zip!inner.zip: a zip inside the zip"), "{e}");
        // Renamed, found by its content.
        let e = read(&build(&[("inner.xml", &inner)]), &big()).unwrap_err();
        assert!(e.to_string().starts_with("BOC_20240321.zip!inner.xml: a zip inside the zip"), "{e}");
    }

    #[test]
    fn empty_truncated_and_corrupt_zips_are_errors_not_panics() {
        let e = read(&build(&[]), &big()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "BOC_20240321.zip: no statement file in the zip (empty, or only folders and hidden files)"
        );
        let e = read(&build(&[("d/", b""), ("__MACOSX/x", b"y")]), &big()).unwrap_err();
        assert!(e.why.starts_with("no statement file"), "{e}");
        let e = read(&build(&[("empty.xml", b"")]), &big()).unwrap_err();
        assert!(e.to_string().starts_with("BOC_20240321.zip!empty.xml: empty member"), "{e}");
        let e = read(b"", &big()).unwrap_err();
        assert!(e.why.starts_with("not a readable zip archive"), "{e}");
        let e = read(b"<Document/>", &big()).unwrap_err();
        assert!(e.why.starts_with("not a readable zip archive"), "{e}");

        let text: Vec<u8> = (0..20_000u32).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
        let zip = build(&[("a.xml", &text), ("b.xml", b"<b/>")]);
        // Cut anywhere, or damaged anywhere: an error (or, where the damage misses what is
        // read, the members), never a panic.
        for cut in (0..zip.len()).step_by(97) {
            let _ = read(&zip[..cut], &big());
        }
        let mut flipped = 0;
        for p in (0..zip.len()).step_by(13) {
            let mut z = zip.clone();
            z[p] ^= 0x5a;
            if let Ok(m) = read(&z, &big()) {
                // What is returned is what was inflated and checked (CRC).
                assert!(m.iter().all(|m| m.out == text || m.out == b"<b/>"));
            } else {
                flipped += 1;
            }
        }
        assert!(flipped > 0);
        // Data cut inside the member: named.
        let mut z = zip.clone();
        let at = z.len() / 4;
        z[at..at + 64].fill(0);
        let e = read(&z, &big()).unwrap_err();
        assert!(e.to_string().starts_with("BOC_20240321.zip"), "{e}");
    }

    /// The zip with a ZIP64 end record and locator before its classic end record, the
    /// ZIP64 record declaring `entries`.
    fn with_zip64(zip: &[u8], entries: u64) -> Vec<u8> {
        let eocd = zip.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
        let u32_at = |p: usize| u32::from_le_bytes(zip[p..p + 4].try_into().unwrap()) as u64;
        let (cd_size, cd_offset) = (u32_at(eocd + 12), u32_at(eocd + 16));
        let mut out = zip[..eocd].to_vec();
        let record_at = out.len() as u64;
        out.extend_from_slice(b"PK\x06\x06");
        out.extend_from_slice(&44u64.to_le_bytes());
        out.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        for v in [entries, entries, cd_size, cd_offset] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(b"PK\x06\x07\0\0\0\0");
        out.extend_from_slice(&record_at.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&zip[eocd..]);
        out
    }

    #[test]
    fn zip64_counts_are_checked_before_the_index_is_read() {
        let zip = build(&[("a.xml", b"<a/>")]);
        let ok = with_zip64(&zip, 1);
        assert_eq!(read(&ok, &big()).unwrap()[0].out, b"<a/>", "an honest ZIP64 zip reads");
        let e = read(&with_zip64(&zip, 1 << 40), &big()).unwrap_err();
        assert_eq!(e.to_string(), "BOC_20240321.zip: declares 1099511627776 members (ZIP64), over the limit of 1000");
        let mut moved = ok.clone();
        let record = moved.windows(4).position(|w| w == b"PK\x06\x06").unwrap();
        moved[record] = b'Q';
        let e = read(&moved, &big()).unwrap_err();
        assert!(e.why.starts_with("ZIP64 end record missing"), "{e}");
    }

    #[test]
    fn names_are_checked_as_data() {
        assert_eq!(check_path(b"dir/", true).unwrap(), "dir");
        assert_eq!(check_path("中行/对账单.xml".as_bytes(), false).unwrap(), "中行/对账单.xml");
        assert!(check_path(b"", false).is_err());
        assert!(check_path(&b"a/".repeat(MAX_DEPTH + 1), true).is_err());
        assert!(check_path(&b"a".repeat(256), false).is_err());
        assert!(check_path(&b"a/".repeat(600), false).is_err());
        assert!(hidden("__MACOSX/a") && hidden("a/.hidden") && hidden("THUMBS.DB") && !hidden("a/b.xml"));
    }
}
