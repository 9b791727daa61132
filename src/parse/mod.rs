//! Statement parsers: bytes in, [`Statement`]s out. Knows nothing of storage or config.
//!
//! Every parser is a pure function `fn(file_name, bytes, &Limits) -> Result<Vec<Statement>,
//! ParseError>`, registered by name in [`Format`]. A parser never panics on any input
//! (fuzzed), never guesses over a broken field, and names the place of every error.

pub mod bai2;
pub mod camt;
pub mod check;
pub mod json;
pub mod mt940;
pub mod table;
pub mod text;

use crate::statement::Statement;
use std::fmt;

/// Bounds on what one file may make us do. Defaults are far above any real bank file and
/// far below what would exhaust the machine; every bound produces a [`ParseError`].
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_line_bytes: usize,
    pub max_statements: usize,
    pub max_entries_per_statement: usize,
    pub max_xml_depth: usize,
    /// Longest free-text field we keep (`:86:`, `Ustrd`…), in bytes.
    pub max_text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 2 << 30,
            max_line_bytes: 64 << 10,
            max_statements: 100_000,
            max_entries_per_statement: 5_000_000,
            max_xml_depth: 64,
            max_text_bytes: 16 << 10,
        }
    }
}

/// Where in the file an error is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// 1-based line number.
    Line(u64),
    /// XML element path such as `/Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt`.
    XPath(String),
    /// The file as a whole (size limit, unknown format, encoding).
    File,
}

/// A parse failure: file, place, field and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    pub location: Location,
    /// The field, tag or element concerned (`:61: amount`, `CdtDbtInd`), if any.
    pub field: Option<String>,
    pub message: String,
}

impl ParseError {
    pub fn new(file: &str, location: Location, field: Option<&str>, message: impl Into<String>) -> ParseError {
        ParseError { file: file.to_string(), location, field: field.map(str::to_string), message: message.into() }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::Line(n) => write!(f, "{}:{}", self.file, n)?,
            Location::XPath(p) => write!(f, "{} at {}", self.file, p)?,
            Location::File => write!(f, "{}", self.file)?,
        }
        if let Some(field) = &self.field {
            write!(f, ": field {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ParseError {}

/// The formats we read, by the name used in config (`format = "mt940"`) and on the CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Mt940,
    Camt,
    Bai2,
    /// A bank export read through a declarative layout (`formats/*.toml`), the layout
    /// detected from the header row. A layout chosen by name goes through [`parse_named`].
    Table,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Mt940, Format::Camt, Format::Bai2, Format::Table];

    pub fn name(&self) -> &'static str {
        match self {
            Format::Mt940 => "mt940",
            Format::Camt => "camt",
            Format::Bai2 => "bai2",
            Format::Table => "table",
        }
    }

    pub fn from_name(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "mt940" | "mt942" => Some(Format::Mt940),
            "camt" | "camt052" | "camt053" | "camt054" | "camt.052" | "camt.053" | "camt.054" => Some(Format::Camt),
            "bai2" | "bai" => Some(Format::Bai2),
            "table" | "layout" => Some(Format::Table),
            _ => None,
        }
    }
}

/// Guesses the format from the first bytes. Cheap: looks at most at the first 4 KiB.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let head = &bytes[..bytes.len().min(4096)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let trimmed: &[u8] = {
        let start = head.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(head.len());
        &head[start..]
    };
    if trimmed.starts_with(b"<") {
        let text = String::from_utf8_lossy(head);
        if text.contains("camt.05") || text.contains("BkToCstmr") {
            return Some(Format::Camt);
        }
        return None;
    }
    // BAI2: the file header record `01,`.
    if trimmed.starts_with(b"01,") {
        return Some(Format::Bai2);
    }
    // MT940: a SWIFT block header or a `:20:` tag near the top.
    if trimmed.starts_with(b"{1:") || trimmed.starts_with(b":20:") {
        return Some(Format::Mt940);
    }
    let text = String::from_utf8_lossy(head);
    if text.lines().take(20).any(|l| l.trim_start().starts_with(":20:")) && text.contains(":25:") {
        return Some(Format::Mt940);
    }
    None
}

/// The file-size limit, checked before any parser looks at the bytes.
pub fn check_size(file: &str, bytes: &[u8], limits: &Limits) -> Result<(), ParseError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(ParseError::new(
            file,
            Location::File,
            None,
            format!("file is {} bytes, over the limit of {} bytes", bytes.len(), limits.max_file_bytes),
        ));
    }
    Ok(())
}

/// Opens a statement or book file named by a path, for reading at most `max_bytes`: the
/// file is [`open_checked`], and the returned reader stops one byte after the limit
/// whatever the file does meanwhile.
pub fn open_bounded(path: &std::path::Path, max_bytes: u64) -> Result<std::io::Take<std::fs::File>, ParseError> {
    Ok(std::io::Read::take(open_checked(path, max_bytes)?, max_bytes.saturating_add(1)))
}

/// Opens a file named by a path after checking it: the path must lead (through symlinks)
/// to a regular file no larger than `max_bytes`, checked before a byte is read. A FIFO, a
/// device (`/dev/zero`), a directory or an oversized file is refused at once, naming the
/// file. Opened non-blocking, so a FIFO swapped in after the check cannot hang the reader
/// either, and the handle is checked again. For readers that seek (a zip), which count
/// what they inflate themselves; everything else reads through [`open_bounded`].
pub fn open_checked(path: &std::path::Path, max_bytes: u64) -> Result<std::fs::File, ParseError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = path.display().to_string();
    let refuse = |m: String| ParseError::new(&file, Location::File, None, m);
    let check = |meta: &std::fs::Metadata| -> Result<(), ParseError> {
        if !meta.is_file() {
            let t = meta.file_type();
            let what = if t.is_dir() {
                "a directory"
            } else if std::os::unix::fs::FileTypeExt::is_fifo(&t) {
                "a FIFO (named pipe)"
            } else if std::os::unix::fs::FileTypeExt::is_char_device(&t)
                || std::os::unix::fs::FileTypeExt::is_block_device(&t)
            {
                "a device"
            } else {
                "not a regular file"
            };
            return Err(refuse(format!("is {what}, not a regular file: refused without reading it")));
        }
        if meta.len() > max_bytes {
            return Err(refuse(format!("file is {} bytes, over the limit of {max_bytes} bytes", meta.len())));
        }
        Ok(())
    };
    check(&std::fs::metadata(path).map_err(|e| refuse(format!("cannot read: {e}")))?)?;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| refuse(format!("cannot read: {e}")))?;
    check(&f.metadata().map_err(|e| refuse(format!("cannot read: {e}")))?)?;
    Ok(f)
}

/// Reads a whole statement or book file through [`open_bounded`].
pub fn read_bounded(path: &std::path::Path, max_bytes: u64) -> Result<Vec<u8>, ParseError> {
    let mut r = open_bounded(path, max_bytes)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut bytes)
        .map_err(|e| ParseError::new(&path.display().to_string(), Location::File, None, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > max_bytes {
        return Err(ParseError::new(
            &path.display().to_string(),
            Location::File,
            None,
            format!("file grew over the limit of {max_bytes} bytes while being read"),
        ));
    }
    Ok(bytes)
}

/// Parses one file. `format = None` means: detect it from the content.
pub fn parse(file: &str, bytes: &[u8], format: Option<Format>, limits: &Limits) -> Result<Vec<Statement>, ParseError> {
    checked(file, parse_unchecked(file, bytes, format, limits))
}

/// Every statement through [`check::statement`].
fn checked(file: &str, r: Result<Vec<Statement>, ParseError>) -> Result<Vec<Statement>, ParseError> {
    let stmts = r?;
    stmts.iter().try_for_each(|s| check::statement(file, s))?;
    Ok(stmts)
}

fn parse_unchecked(
    file: &str,
    bytes: &[u8],
    format: Option<Format>,
    limits: &Limits,
) -> Result<Vec<Statement>, ParseError> {
    check_size(file, bytes, limits)?;
    let format = match format.or_else(|| detect(bytes)) {
        Some(f) => f,
        // Not a SWIFT, ISO 20022 or BAI2 file: a bank export if a layout knows its header.
        None => {
            return table::layouts().parse(file, bytes, None, limits).map_err(|mut e| {
                if e.message.starts_with("unknown layout") {
                    e.message =
                        format!("unknown format: not MT940/MT942, ISO 20022 camt.05x or BAI2, and {}", e.message);
                }
                e
            });
        }
    };
    match format {
        Format::Mt940 => mt940::parse(file, bytes, limits),
        Format::Camt => camt::parse(file, bytes, limits),
        Format::Bai2 => bai2::parse(file, bytes, limits),
        Format::Table => table::layouts().parse(file, bytes, None, limits),
    }
}

/// Parses with a format given by name, as config and CLI give it: `auto` (or none) to
/// detect, a built-in format name, or the name of a bank layout (`icbc-corporate`).
pub fn parse_named(
    file: &str,
    bytes: &[u8],
    name: Option<&str>,
    limits: &Limits,
) -> Result<Vec<Statement>, ParseError> {
    parse_for_account(file, bytes, name, None, limits)
}

/// [`parse_named`] for a file known to belong to `account` (a channel's account, or the
/// CLI's `--account`): bank exports that do not name their account (personal and card
/// exports often do not) take it from here. Files that name one keep their own.
pub fn parse_for_account(
    file: &str,
    bytes: &[u8],
    name: Option<&str>,
    account: Option<&str>,
    limits: &Limits,
) -> Result<Vec<Statement>, ParseError> {
    checked(file, parse_for_account_unchecked(file, bytes, name, account, limits))
}

fn parse_for_account_unchecked(
    file: &str,
    bytes: &[u8],
    name: Option<&str>,
    account: Option<&str>,
    limits: &Limits,
) -> Result<Vec<Statement>, ParseError> {
    let table =
        |layout: Option<&str>| table::layouts().parse_with(file, bytes, &table::Options { layout, account }, limits);
    match name {
        None | Some("auto") => match detect(bytes) {
            Some(_) => parse_unchecked(file, bytes, None, limits),
            None => table(None).map_err(|mut e| {
                if e.message.starts_with("unknown layout") {
                    e.message =
                        format!("unknown format: not MT940/MT942, ISO 20022 camt.05x or BAI2, and {}", e.message);
                }
                e
            }),
        },
        Some(n) => match Format::from_name(n) {
            Some(Format::Table) => table(None),
            Some(f) => parse_unchecked(file, bytes, Some(f), limits),
            None if table::layouts().get(n).is_some() => table(Some(n)),
            None => Err(ParseError::new(file, Location::File, None, format!("unknown format or layout {n:?}"))),
        },
    }
}

/// Streams a file of any size to `sink`, one statement at a time, in memory bounded by
/// the largest statement (MT940 and UTF-8 camt; the other formats are read whole, bounded
/// by `limits.max_file_bytes`). Same formats, names and errors as [`parse_for_account`].
/// Returns the format used (for the record) and the number of statements.
pub fn stream(
    file: &str,
    input: &mut dyn std::io::BufRead,
    name: Option<&str>,
    account: Option<&str>,
    limits: &Limits,
    sink: &mut dyn FnMut(Statement) -> Result<(), ParseError>,
) -> Result<(&'static str, u64), ParseError> {
    let sink = &mut |s: Statement| {
        check::statement(file, &s)?;
        sink(s)
    };
    let io = |e: std::io::Error| ParseError::new(file, Location::File, None, format!("cannot read: {e}"));
    let mut head = Vec::with_capacity(4096);
    std::io::Read::read_to_end(&mut std::io::Read::take(&mut *input, 4096), &mut head).map_err(io)?;
    let format = match name {
        None | Some("auto") => detect(&head),
        Some(n) => Format::from_name(n),
    };
    let mut joined = std::io::BufReader::new(std::io::Read::chain(&head[..], input));
    match format {
        Some(Format::Mt940) => Ok(("mt940", mt940::stream(file, &mut joined, limits, sink)?)),
        Some(Format::Camt) => Ok(("camt", camt::stream(file, &mut joined, limits, sink)?)),
        _ => {
            let mut all = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(joined, limits.max_file_bytes.saturating_add(1)),
                &mut all,
            )
            .map_err(io)?;
            check_size(file, &all, limits)?;
            let stmts = parse_for_account_unchecked(file, &all, name, account, limits)?;
            let n = stmts.len() as u64;
            stmts.into_iter().try_for_each(sink)?;
            let used = match (format, name) {
                (Some(f), _) => f.name(),
                (None, _) => detect(&all).map_or("table", |f| f.name()),
            };
            Ok((used, n))
        }
    }
}

/// Whether `name` is something [`parse_named`] accepts.
pub fn known_format(name: &str) -> bool {
    name == "auto" || Format::from_name(name).is_some() || table::layouts().get(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        assert_eq!(detect(b":20:REF\r\n:25:123\r\n"), Some(Format::Mt940));
        assert_eq!(detect(b"{1:F01ABC}{2:O940}{4:\r\n:20:X"), Some(Format::Mt940));
        assert_eq!(
            detect(b"\xEF\xBB\xBF<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">"),
            Some(Format::Camt)
        );
        assert_eq!(detect(b"<html></html>"), None);
        assert_eq!(detect(b"voucher_no,amount\n"), None);
        assert_eq!(detect(b""), None);
        assert_eq!(detect(b"01,SENDR1,RECVR1,240321,1630,1,,,2/\n"), Some(Format::Bai2));
    }

    #[test]
    fn errors_name_the_place() {
        let e = ParseError::new("a.sta", Location::Line(7), Some(":61: amount"), "not a number");
        assert_eq!(e.to_string(), "a.sta:7: field :61: amount: not a number");
        let e = ParseError::new("b.xml", Location::XPath("/Document/X".into()), None, "bad");
        assert_eq!(e.to_string(), "b.xml at /Document/X: bad");
    }

    #[test]
    fn unknown_format_and_size_limit() {
        let e = parse("x.bin", b"hello", None, &Limits::default()).unwrap_err();
        assert!(e.message.contains("unknown format"), "{e}");
        let limits = Limits { max_file_bytes: 3, ..Limits::default() };
        let e = parse("x.sta", b":20:ABC", None, &limits).unwrap_err();
        assert!(e.message.contains("over the limit"), "{e}");
    }
}
