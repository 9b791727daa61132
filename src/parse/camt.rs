//! ISO 20022 bank-to-customer cash management: camt.052 (account report, `BkToCstmrAcctRpt/Rpt`),
//! camt.053 (statement, `BkToCstmrStmt/Stmt`) and camt.054 (debit/credit notification,
//! `BkToCstmrDbtCdtNtfctn/Ntfctn`), versions .001.01 to .001.13. Each `Stmt`/`Rpt`/`Ntfctn` becomes
//! one [`Statement`].
//!
//! How it reads:
//! - Streaming (quick-xml pull reader over the bytes; UTF-8 is validated by quick-xml event by
//!   event): no DOM, only the statement being read is kept. Names are matched by local name, so
//!   any namespace or prefix is accepted. Text is trimmed and every whitespace run (U+3000
//!   included) becomes one space; text is only collected for elements whose value we use.
//! - Security: any `<!DOCTYPE` is refused outright (no DTD, no entity definitions, no external
//!   entities: billion-laughs and XXE files fail at the DOCTYPE); in text only the five predefined
//!   entities and character references are resolved. Nesting is bounded by
//!   `Limits::max_xml_depth`, statements and entries by their limits, kept text by
//!   `max_text_bytes` (longer text in an element we do not use is not an error).
//! - Encoding: UTF-8 (BOM or not); another encoding named in the XML declaration (GBK, GB18030,
//!   GB2312…) is decoded strictly with encoding_rs (never a U+FFFD); UTF-16 and unknown labels are
//!   refused with an error naming them.
//! - A SWIFT MX envelope (`<message><AppHdr/><Document>…`) is accepted: the first `Document`
//!   element below a root that is not `Document` is read. Version-suffixed containers of the .001.01
//!   messages (`BkToCstmrAcctRptV01`) are accepted too.
//!
//! Decisions (reconciliation first):
//! - Only booked entries (`Sts` BOOK, as text in v2–v7 or `Sts/Cd` in v8+) become entries.
//!   PDNG, INFO and FUTR entries are parsed and checked, then left out: they are not on the
//!   account yet and would be counted twice once booked.
//! - Balances: opening = OPBD, else PRCD, else (no booked opening at all) the first of two or more
//!   ITBD; closing = CLBD, else the last ITBD not used as opening. An interim booked balance
//!   (camt.052 intraday reports) is the booked balance at report time, after the reported entries,
//!   so a single ITBD is a closing, not an opening. Available and forward balances (OPAV, CLAV,
//!   ITAV, FWAV), INFO and any other code are parsed and ignored: they are not booked balances.
//! - Currency: `Acct/Ccy`, else that of the opening/closing balance, else of the first booked entry.
//!   The opening, the closing and every booked entry must be in that currency.
//! - A batch (`Btch` with `NbOfTxs` > 1, or more than one `TxDtls`) is one entry with
//!   [`BatchDetails`]; a `Btch` of one transaction with its single `TxDtls` is read like a single
//!   transfer (its end-to-end id and counterparty are what matching needs).
//! - `TxsSummry` control totals present in the file are checked against the entries: they must
//!   agree either with the booked entries or with all entries (booked and pending), banks differ.
//! - Narrative: `AddtlNtryInf` first, then (single transaction) `RmtInf/Ustrd`… and `AddtlTxInf`,
//!   joined by one space; a piece equal to an earlier one is not repeated.
//! - Counterparty: the side that is not the statement's own account; when neither side is
//!   recognisably ours, for money in (CRDT, or a reversed DBIT) the debtor side, for money out
//!   the creditor side, except for a return (RtrInf or a return code such as RRTN / UPDD),
//!   whose parties are those of the original transaction: the original debtor of a returned
//!   collection, the original creditor of a returned transfer. An empty side gives way to the
//!   other.
//! - Kind: `statement::decide` with RvslInd, RtrInf, the BkTxCd family / sub-family (or a
//!   proprietary code read as an MT940 type) and the text, per bank by `Acct/Svcr` BIC.
//! - Customer reference: `InstrId`, else `PmtInfId` (of the transaction or the `Btch`); a
//!   `PmtInfId` not used there is added to the narrative.

use super::{Limits, Location, ParseError};
use crate::money::{Currency, Money, canonical, parse_plain};
use crate::statement::{
    Balance, BatchDetails, BatchItem, Entry, EntryKind, Evidence, Scheme, Statement, decide, kinds,
};
use chrono::NaiveDate;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;
use rust_decimal::Decimal;
use std::borrow::Cow;

/// Parses one camt.052/053/054 file into statements (see the module documentation).
pub fn parse(file: &str, bytes: &[u8], limits: &Limits) -> Result<Vec<Statement>, ParseError> {
    let doc = decode(file, bytes)?;
    // Text that must be UTF-8 and is not: refused at its first bad byte, as `stream` does,
    // wherever it is (also in a comment quick-xml would skip).
    if let Some(u) = doc.utf8_why.and_then(|why| utf8_error(file, &doc.bytes, doc.bom, why)) {
        return Err(u);
    }
    let mut p = Parser::new(file, limits);
    let mut out = Vec::new();
    let mut reader = Reader::from_reader(&doc.bytes[..]);
    let r = p.run(&mut reader, Some(&doc.bytes), &mut |s| {
        out.push(s);
        Ok(())
    });
    match r {
        Ok(()) => Ok(out),
        // Text that is not UTF-8 where UTF-8 is required: say where, and why.
        Err(e) => Err(match doc.utf8_why.and_then(|why| utf8_error(file, &doc.bytes, doc.bom, why)) {
            Some(u) if p.encoding_error => u,
            _ => e,
        }),
    }
}

/// Streams a document of any size: statements go to `sink` as each `Stmt`/`Rpt`/`Ntfctn`
/// closes, so memory is bounded by the largest statement plus quick-xml's buffer. A UTF-8
/// document (the rule for camt) is read straight from `input`; one declaring another
/// encoding (GB18030) is decoded whole first, so it is bounded by the file size limit.
/// Errors give XPath and field as [`parse`] does; a malformed-XML position is a byte
/// offset instead of line and column.
pub fn stream(
    file: &str,
    input: &mut dyn std::io::BufRead,
    limits: &Limits,
    sink: &mut dyn FnMut(Statement) -> Result<(), ParseError>,
) -> Result<u64, ParseError> {
    let io = |e: std::io::Error| ParseError::new(file, Location::File, None, format!("cannot read: {e}"));
    // The head (BOM, XML declaration) is read first, then put back in front of the rest.
    let mut head = Vec::with_capacity(1024);
    std::io::Read::read_to_end(&mut std::io::Read::take(&mut *input, 1024), &mut head).map_err(io)?;
    let bom = head.starts_with(b"\xEF\xBB\xBF");
    let body = if bom { &head[3..] } else { &head[..] };
    let declared = if bom { None } else { declared_encoding(body) };
    let utf16 = body.starts_with(b"\xFF\xFE")
        || body.starts_with(b"\xFE\xFF")
        || body.starts_with(b"<\0")
        || body.starts_with(b"\0<");
    let other = declared
        .as_deref()
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .is_some_and(|e| e != encoding_rs::UTF_8);
    if utf16 || other || declared.as_deref().is_some_and(|l| encoding_rs::Encoding::for_label(l.as_bytes()).is_none()) {
        // Not UTF-8: read it whole (bounded) and take the in-memory path, which decodes
        // strictly and gives the same errors as `parse`.
        let mut all = head.clone();
        std::io::Read::read_to_end(&mut std::io::Read::take(input, limits.max_file_bytes.saturating_add(1)), &mut all)
            .map_err(io)?;
        crate::parse::check_size(file, &all, limits)?;
        let stmts = parse(file, &all, limits)?;
        let n = stmts.len() as u64;
        stmts.into_iter().try_for_each(sink)?;
        return Ok(n);
    }
    let why = if bom {
        "the file starts with a UTF-8 byte order mark"
    } else if declared.is_some() {
        "the XML declaration says UTF-8"
    } else {
        "the XML declaration names no encoding, so the file must be UTF-8"
    };
    let rest = if bom { &head[3..] } else { &head[..] };
    let joined = std::io::Read::chain(rest, input);
    let mut p = Parser::new(file, limits);
    let mut n = 0u64;
    let guard = Utf8Guard::new(std::io::Read::take(joined, limits.max_file_bytes));
    let mut reader = Reader::from_reader(std::io::BufReader::new(guard));
    let r = p.run(&mut reader, None, &mut |s| {
        n += 1;
        sink(s)
    });
    let bad = reader.get_ref().get_ref().bad;
    match (r, bad) {
        // The same error, at the same byte and line, as `parse` gives.
        (_, Some((at, line))) => Err(ParseError::new(
            file,
            Location::File,
            None,
            format!("invalid UTF-8 at byte {} (line {line}); {why}", at + if bom { 3 } else { 0 }),
        )),
        (Ok(()), None) => Ok(n),
        (Err(e), None) => Err(e),
    }
}

/// Checks UTF-8 as the bytes stream past, remembering the offset and line of the first
/// byte that starts no valid character (then reads fail).
struct Utf8Guard<R> {
    inner: R,
    /// Bytes handed on so far, and the newlines among them.
    offset: u64,
    lines: u64,
    /// The start of a character cut by the end of the last read.
    carry: Vec<u8>,
    bad: Option<(u64, u64)>,
}

impl<R: std::io::Read> Utf8Guard<R> {
    fn new(inner: R) -> Self {
        Utf8Guard { inner, offset: 0, lines: 0, carry: Vec::with_capacity(4), bad: None }
    }

    fn fail(&mut self, at: u64, lines: u64) -> std::io::Error {
        self.bad = Some((at, 1 + lines));
        std::io::Error::new(std::io::ErrorKind::InvalidData, "invalid UTF-8")
    }
}

impl<R: std::io::Read> std::io::Read for Utf8Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.bad.is_some() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "invalid UTF-8"));
        }
        let n = self.inner.read(buf)?;
        let data = &buf[..n];
        let carried = self.carry.len() as u64;
        let mut start = 0;
        if !self.carry.is_empty() {
            // Complete the character the last read cut.
            let take = n.min(4);
            let mut tmp = std::mem::take(&mut self.carry);
            tmp.extend_from_slice(&data[..take]);
            match std::str::from_utf8(&tmp) {
                Ok(_) => start = take,
                Err(e) if e.valid_up_to() >= carried as usize => start = e.valid_up_to() - carried as usize,
                Err(e) if e.error_len().is_none() && n > 0 => {
                    // Still cut (a one-byte read): keep waiting.
                    self.carry = tmp;
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(_) => return Err(self.fail(self.offset - carried, self.lines)),
            }
        } else if n == 0 {
            return Ok(0);
        }
        match std::str::from_utf8(&data[start..]) {
            Ok(_) => {}
            Err(e) if e.error_len().is_none() && n > 0 => {
                self.carry.extend_from_slice(&data[start + e.valid_up_to()..])
            }
            Err(e) => {
                let at = start + e.valid_up_to();
                let lines = self.lines + data[..at].iter().filter(|&&b| b == b'\n').count() as u64;
                return Err(self.fail(self.offset + at as u64, lines));
            }
        }
        self.lines += data.iter().filter(|&&b| b == b'\n').count() as u64;
        self.offset += n as u64;
        Ok(n)
    }
}

impl<'l> Parser<'l> {
    fn new(file: &'l str, limits: &Limits) -> Parser<'l> {
        Parser {
            cur: Cursor {
                file,
                max_depth: limits.max_xml_depth,
                max_text: limits.max_text_bytes,
                tags: Vec::with_capacity(32),
                frames: Vec::with_capacity(32),
                serial: 0,
                siblings: [(u64::MAX, 0); REPEATED],
                path: String::with_capacity(256),
                text: String::with_capacity(256),
                pending_ws: false,
                overflow: false,
                ccy: CcyAttr::Missing,
                wants_text: false,
            },
            build: Build {
                file,
                max_statements: limits.max_statements,
                max_entries: limits.max_entries_per_statement,
                ..Build::default()
            },
            encoding_error: false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bytes to text.

/// The document as UTF-8 bytes. Input that is UTF-8 already is passed on unchecked: quick-xml
/// validates every event; `utf8_why` says why it had to be UTF-8, for the error.
struct Decoded<'b> {
    bytes: Cow<'b, [u8]>,
    utf8_why: Option<&'static str>,
    bom: usize,
}

fn decode<'b>(file: &str, bytes: &'b [u8]) -> Result<Decoded<'b>, ParseError> {
    let err = |msg: String| ParseError::new(file, Location::File, None, msg);
    let (body, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(b) => (b, 3),
        None => (bytes, 0),
    };
    if body.starts_with(b"\xFF\xFE")
        || body.starts_with(b"\xFE\xFF")
        || body.starts_with(b"<\0")
        || body.starts_with(b"\0<")
    {
        return Err(err("UTF-16 encoded XML is not supported: convert the file to UTF-8".into()));
    }
    let utf8 = |why| Ok(Decoded { bytes: Cow::Borrowed(body), utf8_why: Some(why), bom });
    let label = if bom == 0 { declared_encoding(body) } else { None };
    let Some(label) = label else {
        return utf8(if bom == 3 {
            "the file starts with a UTF-8 byte order mark"
        } else {
            "the XML declaration names no encoding, so the file must be UTF-8"
        });
    };
    let Some(enc) = encoding_rs::Encoding::for_label(label.as_bytes()) else {
        return Err(err(format!("unsupported encoding {label:?} in the XML declaration")));
    };
    if enc == encoding_rs::UTF_8 {
        return utf8("the XML declaration says UTF-8");
    }
    if !enc.is_ascii_compatible() || enc == encoding_rs::REPLACEMENT {
        return Err(err(format!("unsupported encoding {label:?} in the XML declaration (use UTF-8 or GB18030)")));
    }
    match enc.decode_without_bom_handling_and_without_replacement(body) {
        Some(s) => Ok(Decoded { bytes: Cow::Owned(s.into_owned().into_bytes()), utf8_why: None, bom }),
        None => Err(err(format!(
            "the file is not valid {} although its XML declaration says encoding {label:?}",
            enc.name()
        ))),
    }
}

/// The error for UTF-8 input that is not UTF-8, with the place of the first bad byte.
fn utf8_error(file: &str, body: &[u8], bom: usize, why: &str) -> Option<ParseError> {
    let e = std::str::from_utf8(body).err()?;
    let at = e.valid_up_to();
    let line = 1 + body[..at].iter().filter(|&&b| b == b'\n').count();
    Some(ParseError::new(
        file,
        Location::File,
        None,
        format!("invalid UTF-8 at byte {} (line {line}); {why}", at + bom),
    ))
}

/// The `encoding` pseudo-attribute of a leading `<?xml …?>` declaration, if any.
fn declared_encoding(body: &[u8]) -> Option<String> {
    let rest = body.strip_prefix(b"<?xml")?;
    if !matches!(rest.first(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        return None;
    }
    let head = &rest[..rest.len().min(512)];
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let after = decl[at + "encoding".len()..].trim_start();
    let after = after.strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    let close = value.find(quote)?;
    Some(value[..close].trim().to_string())
}

// ---------------------------------------------------------------------------------------------
// Element names we look at. Everything else is `T::Other`.

macro_rules! tags {
    ($($t:ident),* $(,)?) => {
        #[allow(clippy::upper_case_acronyms)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum T { Other, $($t),* }
        #[cfg(test)]
        const TAGS: &[(&str, T)] = &[$((stringify!($t), T::$t)),*];
        fn tag(name: &str) -> T {
            match name { $(stringify!($t) => T::$t,)* _ => T::Other }
        }
    };
}

tags! {
    Acct, AcctSvcrRef, AddtlNtryInf, AddtlTxInf, AdrLine, Agt, Amt, AmtDtls, BBAN, BIC, BICFI, Bal, BkTxCd, BookgDt,
    Btch, Ccy, Cd, CdOrPrtry, CdtDbtInd, Cdtr, CdtrAcct, CdtrAgt, ClrSysMmbId, CntrValAmt, Dbtr, DbtrAcct, DbtrAgt,
    Document, Domn, Dt, DtTm, ElctrncSeqNb, EndToEndId, FinInstnId, Fmly, IBAN, Id, InstdAmt, InstrId, LglSeqNb,
    MmbId, NbOfNtries, NbOfTxs, Nm, Ntfctn, Ntry, NtryDtls, NtryRef, Othr, PmtInfId, Prtry, PrtryAcct, Pty, Refs,
    RltdAgts, RltdPties, RmtInf, Rpt, Rsn, RtrInf, RvslInd, Stmt, Strd, Sts, SubFmlyCd, Sum, Svcr, Tp, TtlAmt,
    TtlCdtNtries,
    TtlDbtNtries, TtlNetNtry, TtlNetNtryAmt, TtlNtries, TxAmt, TxDtls, TxsSummry, UPIC, Ustrd, ValDt,
}

/// Elements whose text we read (somewhere in a statement).
fn has_value(t: T) -> bool {
    use T::*;
    matches!(
        t,
        Id | ElctrncSeqNb
            | LglSeqNb
            | IBAN
            | BBAN
            | UPIC
            | Ccy
            | Cd
            | Prtry
            | Amt
            | CdtDbtInd
            | Dt
            | DtTm
            | NbOfNtries
            | Sum
            | TtlNetNtryAmt
            | NtryRef
            | RvslInd
            | Sts
            | AcctSvcrRef
            | SubFmlyCd
            | AddtlNtryInf
            | NbOfTxs
            | TtlAmt
            | PmtInfId
            | EndToEndId
            | InstrId
            | Nm
            | BIC
            | BICFI
            | MmbId
            | Ustrd
            | AddtlTxInf
    )
}

/// Elements that repeat among their siblings get a 1-based index in paths (`Ntry[3]`).
const REPEATED: usize = 10;
fn repeated_slot(t: T) -> Option<usize> {
    Some(match t {
        T::Stmt => 0,
        T::Rpt => 1,
        T::Ntfctn => 2,
        T::Bal => 3,
        T::Ntry => 4,
        T::NtryDtls => 5,
        T::TxDtls => 6,
        T::Ustrd => 7,
        T::Strd => 8,
        T::AdrLine => 9,
        _ => return None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    Report,
    Statement,
    Notification,
}

impl Msg {
    fn from_container(name: &str) -> Option<Msg> {
        // .001.01 messages carry a version suffix on the container: `BkToCstmrStmtV01`.
        // (Byte test first: the three bytes are ASCII, so the cut is on a char boundary.)
        let b = name.as_bytes();
        let base = match b.len().checked_sub(3) {
            Some(i) if b[i] == b'V' && b[i + 1..].iter().all(u8::is_ascii_digit) => &name[..i],
            _ => name,
        };
        match base {
            "BkToCstmrAcctRpt" => Some(Msg::Report),
            "BkToCstmrStmt" => Some(Msg::Statement),
            "BkToCstmrDbtCdtNtfctn" => Some(Msg::Notification),
            _ => None,
        }
    }

    fn item(self) -> T {
        match self {
            Msg::Report => T::Rpt,
            Msg::Statement => T::Stmt,
            Msg::Notification => T::Ntfctn,
        }
    }

    fn item_name(self) -> &'static str {
        match self {
            Msg::Report => "Rpt",
            Msg::Statement => "Stmt",
            Msg::Notification => "Ntfctn",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The cursor: where we are (path, tags) and the text of the element being read.

struct Frame {
    /// Length of `path` before this element was pushed.
    path_start: usize,
    /// Which element this is (numbered in document order from 1).
    serial: u64,
}

enum CcyAttr {
    Missing,
    Ok(Currency),
    Bad(String),
}

struct Cursor<'l> {
    file: &'l str,
    max_depth: usize,
    max_text: usize,
    tags: Vec<T>,
    frames: Vec<Frame>,
    serial: u64,
    /// Per repeated name: the serial of the parent of the last one seen, and its 1-based index.
    /// (Exact because in camt none of these names occurs inside a sibling of its own kind.)
    siblings: [(u64, u32); REPEATED],
    /// The XPath of the open element, `/Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt`.
    path: String,
    /// Text of the current element, trimmed and whitespace-collapsed as it arrives.
    text: String,
    pending_ws: bool,
    /// The text went over `max_text`: it is an error if (and only if) the text is used.
    overflow: bool,
    /// `Ccy` attribute of the current `Amt`/`TtlAmt` element.
    ccy: CcyAttr,
    /// The open element is one whose text we may use: other text is not even looked at.
    wants_text: bool,
}

impl Cursor<'_> {
    fn clear_text(&mut self) {
        self.text.clear();
        self.pending_ws = false;
        self.overflow = false;
    }

    /// Appends text, trimmed, with every run of whitespace (Unicode, incl. U+3000) made one space.
    fn push_text(&mut self, s: &str) {
        if self.overflow || !self.wants_text {
            return;
        }
        let b = s.as_bytes();
        // Most text events are the indentation between elements.
        let Some(first) = b.iter().position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r')) else {
            self.pending_ws |= !b.is_empty();
            return;
        };
        if first > 0 {
            self.pending_ws = true;
        }
        let (mut i, mut start) = (first, first);
        while i < b.len() {
            let (ws, len) = classify(s, i);
            if ws {
                if start < i && !self.push_piece(s.get(start..i).unwrap_or("")) {
                    return;
                }
                self.pending_ws = true;
                start = i + len;
            }
            i += len;
        }
        if start < b.len() {
            self.push_piece(s.get(start..).unwrap_or(""));
        }
    }

    fn push_piece(&mut self, piece: &str) -> bool {
        let space = self.pending_ws && !self.text.is_empty();
        if self.text.len() + piece.len() + usize::from(space) > self.max_text {
            self.overflow = true;
            return false;
        }
        if space {
            self.text.push(' ');
        }
        self.pending_ws = false;
        self.text.push_str(piece);
        true
    }

    fn here(&self) -> Here<'_> {
        Here {
            file: self.file,
            path: &self.path,
            text: &self.text,
            overflow: self.overflow,
            max_text: self.max_text,
            ccy: &self.ccy,
        }
    }

    fn err(&self, msg: impl Into<String>) -> ParseError {
        let loc = if self.path.is_empty() { Location::File } else { Location::XPath(self.path.clone()) };
        ParseError::new(self.file, loc, None, msg)
    }

    /// `text`: the whole document when it is in memory (for line and column); a streamed
    /// document gives the byte offset instead.
    fn xml_err(&self, text: Option<&[u8]>, pos: u64, e: &quick_xml::Error) -> ParseError {
        match text {
            Some(text) => {
                let (line, col) = line_col(text, pos);
                self.err(format!("malformed XML (line {line}, column {col}): {e}"))
            }
            None => self.err(format!("malformed XML (at byte {pos}): {e}")),
        }
    }
}

/// Appends `[idx]`.
fn push_index(path: &mut String, idx: u32) {
    let mut digits = [0u8; 10];
    let mut n = idx;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    path.push('[');
    for &d in &digits[at..] {
        path.push(char::from(d));
    }
    path.push(']');
}

/// Is the char at byte `i` of `s` whitespace, and how long is it. Only a few lead bytes can start
/// a non-ASCII whitespace char (U+0085, U+00A0, U+1680, U+2000…U+205F, U+3000): CJK text is
/// skipped without decoding.
#[inline]
fn classify(s: &str, i: usize) -> (bool, usize) {
    match s.as_bytes()[i] {
        b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C => (true, 1),
        0..0x80 => (false, 1),
        0xC2 | 0xE1 | 0xE2 | 0xE3 => match s.get(i..).and_then(|t| t.chars().next()) {
            Some(c) => (c.is_whitespace(), c.len_utf8()),
            None => (false, 1),
        },
        0xF0.. => (false, 4),
        0xE0.. => (false, 3),
        _ => (false, 2),
    }
}

fn line_col(b: &[u8], pos: u64) -> (usize, usize) {
    let pos = usize::try_from(pos).unwrap_or(usize::MAX).min(b.len());
    let before = &b[..pos];
    let line = 1 + before.iter().filter(|&&c| c == b'\n').count();
    let start = before.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
    let col = 1 + before[start..].iter().filter(|&&c| c & 0xC0 != 0x80).count();
    (line, col)
}

/// The element being closed: its path, its text and typed readers of that text.
struct Here<'p> {
    file: &'p str,
    path: &'p str,
    text: &'p str,
    overflow: bool,
    max_text: usize,
    ccy: &'p CcyAttr,
}

type Res<X> = Result<X, ParseError>;

impl Here<'_> {
    /// The element's local name (last path segment without its index).
    fn field(&self) -> &str {
        let seg = self.path.rsplit('/').next().unwrap_or("");
        seg.split('[').next().unwrap_or(seg)
    }

    fn err(&self, msg: impl Into<String>) -> ParseError {
        self.err_field(self.field(), msg)
    }

    fn err_field(&self, field: &str, msg: impl Into<String>) -> ParseError {
        ParseError::new(self.file, Location::XPath(self.path.to_string()), Some(field), msg)
    }

    fn text(&self) -> Res<&str> {
        if self.overflow {
            return Err(self.err(format!("text is longer than the limit of {} bytes", self.max_text)));
        }
        Ok(self.text)
    }

    fn string(&self) -> Res<Option<String>> {
        let t = self.text()?;
        Ok((!t.is_empty()).then(|| t.to_string()))
    }

    /// A reference; `NOTPROVIDED` (the ISO placeholder) is no reference.
    fn reference(&self) -> Res<Option<String>> {
        let t = self.text()?;
        Ok((!t.is_empty() && !t.eq_ignore_ascii_case("NOTPROVIDED")).then(|| t.to_string()))
    }

    fn amount(&self) -> Res<Decimal> {
        let t = self.text()?;
        if t.starts_with('-') {
            return Err(self.err(format!("{t:?} is not an amount (camt amounts are unsigned: the sign is CdtDbtInd)")));
        }
        parse_amount(t).ok_or_else(|| self.err(format!("{t:?} is not an amount")))
    }

    /// A summary figure (`DecimalNumber`: a sign is tolerated, the magnitude is compared).
    fn decimal(&self) -> Res<Decimal> {
        let t = self.text()?;
        let digits = t.bytes().filter(u8::is_ascii_digit).count();
        match parse_plain(t) {
            Some(d) if digits <= 18 => Ok(d.abs()),
            _ => Err(self.err(format!("{t:?} is not a number"))),
        }
    }

    fn money(&self) -> Res<(Decimal, Currency)> {
        let amount = self.amount()?;
        match self.ccy {
            CcyAttr::Ok(c) => Ok((amount, *c)),
            CcyAttr::Missing => Err(self.err("amount has no Ccy attribute")),
            CcyAttr::Bad(s) => Err(self.err(format!("currency {s:?} (attribute Ccy) is not three letters"))),
        }
    }

    fn currency(&self) -> Res<Currency> {
        let t = self.text()?;
        Currency::parse(t).ok_or_else(|| self.err(format!("currency {t:?} is not three letters")))
    }

    /// `CdtDbtInd`: true for CRDT, false for DBIT.
    fn credit(&self) -> Res<bool> {
        match self.text()? {
            "CRDT" => Ok(true),
            "DBIT" => Ok(false),
            t => Err(self.err(format!("unknown CdtDbtInd value {t:?} (expected CRDT or DBIT)"))),
        }
    }

    fn date(&self, with_time: bool) -> Res<NaiveDate> {
        let t = self.text()?;
        parse_date(t, with_time).ok_or_else(|| {
            self.err(if with_time {
                format!("{t:?} is not a date-time (YYYY-MM-DDThh:mm:ss)")
            } else {
                format!("{t:?} is not a date (YYYY-MM-DD)")
            })
        })
    }

    fn boolean(&self) -> Res<bool> {
        match self.text()? {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            t => Err(self.err(format!("{t:?} is not a boolean (true or false)"))),
        }
    }

    fn count(&self) -> Res<u64> {
        let t = self.text()?;
        if t.is_empty() || t.len() > 15 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.err(format!("{t:?} is not a number of entries")));
        }
        t.parse().map_err(|_| self.err(format!("{t:?} is not a number")))
    }

    fn status(&self) -> Res<Option<Status>> {
        Ok(Some(match self.text()? {
            "" => return Ok(None),
            "BOOK" => Status::Booked,
            "PDNG" | "INFO" | "FUTR" => Status::NotBooked,
            t => {
                return Err(self.err(format!("unknown entry status {t:?} (expected BOOK, PDNG, INFO or FUTR)")));
            }
        }))
    }
}

/// A camt amount: digits with an optional decimal point, no sign, at most 18 digits.
fn parse_amount(s: &str) -> Option<Decimal> {
    if s.starts_with('-') || s.bytes().filter(u8::is_ascii_digit).count() > 18 {
        return None;
    }
    parse_plain(s)
}

/// `YYYY-MM-DD` with an optional time zone (`ISODate`), or with `with_time` an `ISODateTime`
/// (`YYYY-MM-DDThh:mm:ss[.f][zone]`), of which the date part is returned as written.
fn parse_date(s: &str, with_time: bool) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(&b[0..4])?;
    let m = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    let rest = &b[10..];
    let ok = if with_time {
        rest.first() == Some(&b'T') && valid_time(&rest[1..])
    } else {
        rest.is_empty() || valid_zone(rest)
    };
    if !ok {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn valid_time(b: &[u8]) -> bool {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let (Some(h), Some(m), Some(s)) = (digits(&b[0..2]), digits(&b[3..5]), digits(&b[6..8])) else {
        return false;
    };
    if h > 24 || m > 59 || s > 60 {
        return false;
    }
    let mut rest = &b[8..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    rest.is_empty() || valid_zone(rest)
}

fn valid_zone(b: &[u8]) -> bool {
    b == b"Z"
        || (b.len() == 6
            && (b[0] == b'+' || b[0] == b'-')
            && b[3] == b':'
            && digits(&b[1..3]).is_some()
            && digits(&b[4..6]).is_some())
}

// ---------------------------------------------------------------------------------------------
// What is being built.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Booked,
    NotBooked,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BalKind {
    Opbd,
    Prcd,
    Clbd,
    Itbd,
    Ignored,
}

struct BalB {
    depth: usize,
    location: String,
    kind: Option<BalKind>,
    amount: Option<(Decimal, Currency)>,
    credit: Option<bool>,
    date: Option<NaiveDate>,
}

/// A balance we may use, with the path of its `Amt` for errors.
struct UsedBal {
    kind: BalKind,
    balance: Balance,
    amt_path: String,
}

/// Running control totals of a set of entries.
#[derive(Default, Clone, Copy)]
struct Totals {
    n: u64,
    abs: Decimal,
    net: Decimal,
    cdt_n: u64,
    cdt: Decimal,
    dbt_n: u64,
    dbt: Decimal,
}

impl Totals {
    fn add(&mut self, amount: Decimal, credit: bool) -> Option<()> {
        self.n += 1;
        self.abs = self.abs.checked_add(amount)?;
        if credit {
            self.cdt_n += 1;
            self.cdt = self.cdt.checked_add(amount)?;
            self.net = self.net.checked_add(amount)?;
        } else {
            self.dbt_n += 1;
            self.dbt = self.dbt.checked_add(amount)?;
            self.net = self.net.checked_sub(amount)?;
        }
        Some(())
    }
}

/// `TxsSummry` figures, each with its path.
#[derive(Default)]
struct Summary {
    n: Option<(u64, String)>,
    sum: Option<(Decimal, String)>,
    net: Option<(Decimal, String)>,
    net_credit: Option<bool>,
    cdt_n: Option<(u64, String)>,
    cdt_sum: Option<(Decimal, String)>,
    dbt_n: Option<(u64, String)>,
    dbt_sum: Option<(Decimal, String)>,
}

impl Summary {
    /// The first figure that disagrees with `t`: (path, message).
    fn mismatch(&self, t: &Totals) -> Option<(&str, String)> {
        fn count<'s>(f: &'s Option<(u64, String)>, have: u64, what: &str) -> Option<(&'s str, String)> {
            match f {
                Some((v, p)) if *v != have => {
                    Some((p.as_str(), format!("control total says {v} {what}, the statement has {have}")))
                }
                _ => None,
            }
        }
        fn sum<'s>(f: &'s Option<(Decimal, String)>, have: Decimal, what: &str) -> Option<(&'s str, String)> {
            match f {
                Some((v, p)) if *v != have => Some((
                    p.as_str(),
                    format!("control total says {what} {}, the entries add up to {}", canonical(*v), canonical(have)),
                )),
                _ => None,
            }
        }
        let net = match &self.net {
            Some((v, p)) => {
                let signed_have = t.net;
                let ok = match self.net_credit {
                    Some(true) => *v == signed_have,
                    Some(false) => -*v == signed_have,
                    None => *v == signed_have.abs(),
                };
                (!ok).then(|| {
                    let want = match self.net_credit {
                        Some(false) => -*v,
                        _ => *v,
                    };
                    (
                        p.as_str(),
                        format!(
                            "control total says net {}, the entries net {}",
                            canonical(want),
                            canonical(signed_have)
                        ),
                    )
                })
            }
            None => None,
        };
        count(&self.n, t.n, "entries")
            .or_else(|| sum(&self.sum, t.abs, "a sum of"))
            .or(net)
            .or_else(|| count(&self.cdt_n, t.cdt_n, "credit entries"))
            .or_else(|| sum(&self.cdt_sum, t.cdt, "credits of"))
            .or_else(|| count(&self.dbt_n, t.dbt_n, "debit entries"))
            .or_else(|| sum(&self.dbt_sum, t.dbt, "debits of"))
    }
}

struct StmtB {
    depth: usize,
    location: String,
    id: Option<String>,
    elec_seq: Option<String>,
    legal_seq: Option<String>,
    iban: Option<String>,
    other_id: Option<String>,
    acct_ccy: Option<Currency>,
    /// The account servicer's BIC (`Acct/Svcr/FinInstnId/BIC[FI]`): which bank's code lists apply.
    svcr_bic: Option<String>,
    bals: Vec<UsedBal>,
    /// Currency of an ignored balance or a pending entry: last resort for the statement currency.
    other_ccy: Option<Currency>,
    summary: Summary,
    entries: Vec<Entry>,
    booked: Totals,
    all: Totals,
    ntry_seen: usize,
}

#[derive(Default)]
struct Codes {
    domain: Option<String>,
    family: Option<String>,
    sub: Option<String>,
    prtry: Option<String>,
}

impl Codes {
    fn is_empty(&self) -> bool {
        self.domain.is_none() && self.family.is_none() && self.sub.is_none() && self.prtry.is_none()
    }

    fn type_code(&self) -> Option<String> {
        if self.domain.is_some() || self.family.is_some() || self.sub.is_some() {
            let parts: Vec<&str> =
                [&self.domain, &self.family, &self.sub].into_iter().filter_map(|p| p.as_deref()).collect();
            return Some(parts.join("/"));
        }
        self.prtry.clone()
    }

    /// What the codes say (`formats/kinds/entry-kinds.toml`): the sub-family first, then the
    /// family; a proprietary code is read as an MT940 type (`NCHG`) or a camt code.
    fn kind(&self, bank: Option<&str>) -> Option<EntryKind> {
        let k = kinds();
        [&self.sub, &self.family].into_iter().flatten().find_map(|c| k.code_kind(Scheme::Camt, c, bank)).or_else(|| {
            let p = self.prtry.as_deref()?;
            k.code_kind(Scheme::Mt940, p, bank).or_else(|| k.code_kind(Scheme::Camt, p, bank))
        })
    }
}

#[derive(Default)]
struct Party {
    name: Option<String>,
    account: Option<String>,
    bic: Option<String>,
    clearing: Option<String>,
    bank_name: Option<String>,
}

impl Party {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.account.is_none()
    }

    /// Moves out (account, name, bank).
    fn take(&mut self) -> (Option<String>, Option<String>, Option<String>) {
        let bank = self.bic.take().or_else(|| self.clearing.take()).or_else(|| self.bank_name.take());
        (self.account.take(), self.name.take(), bank)
    }
}

/// The same account, written with or without blanks and dashes, in any case.
fn same_account(a: &str, own: &str) -> bool {
    !own.is_empty() && account_chars(a).eq(account_chars(own))
}

fn account_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase())
}

/// The counterparty of a transaction: the side that is not our own account; when neither side
/// is recognisably ours, the debtor side if `debtor_side` (money in, or the original debtor of a
/// return), else the creditor side; the other side when that one is empty. Moves its fields out.
fn counterparty(t: &mut TxInfo, debtor_side: bool, own: &str) -> (Option<String>, Option<String>, Option<String>) {
    let is_own = |p: &Party| p.account.as_deref().is_some_and(|a| same_account(a, own));
    let debtor_side = match (is_own(&t.dbtr), is_own(&t.cdtr)) {
        (true, false) => false,
        (false, true) => true,
        _ => debtor_side,
    };
    let (pref, other) = if debtor_side { (&mut t.dbtr, &mut t.cdtr) } else { (&mut t.cdtr, &mut t.dbtr) };
    if (pref.is_empty() || is_own(pref)) && !other.is_empty() && !is_own(other) { other.take() } else { pref.take() }
}

#[derive(Default)]
struct TxInfo {
    e2e: Option<String>,
    instr: Option<String>,
    pmtinf: Option<String>,
    svcr_ref: Option<String>,
    amt: Option<(Decimal, Currency)>,
    tx_amt: Option<(Decimal, Currency)>,
    instd_amt: Option<(Decimal, Currency)>,
    cntr_amt: Option<(Decimal, Currency)>,
    dbtr: Party,
    cdtr: Party,
    ustrd: Vec<String>,
    addtl: Option<String>,
    returned: bool,
    return_reason: Option<String>,
    codes: Codes,
}

impl TxInfo {
    /// The item amount in the entry currency, if the file gives one.
    fn amount_in(&self, ccy: Currency) -> Option<Decimal> {
        [&self.amt, &self.tx_amt, &self.instd_amt, &self.cntr_amt]
            .into_iter()
            .flatten()
            .find(|(_, c)| *c == ccy)
            .map(|(a, _)| *a)
    }
}

struct TxB {
    depth: usize,
    info: TxInfo,
}

struct NtryB {
    depth: usize,
    location: String,
    ntry_ref: Option<String>,
    svcr_ref: Option<String>,
    amount: Option<(Decimal, Currency)>,
    credit: Option<bool>,
    reversal: bool,
    status: Option<Status>,
    booking: Option<NaiveDate>,
    value: Option<NaiveDate>,
    codes: Codes,
    addtl: Vec<String>,
    btch_n: Option<u64>,
    btch_total: Option<Decimal>,
    btch_pmtinf: Option<String>,
    txs: Vec<TxInfo>,
}

#[derive(Default)]
struct Build<'l> {
    file: &'l str,
    max_statements: usize,
    max_entries: usize,
    root_done: bool,
    doc: Option<usize>,
    msg: Option<(usize, Msg)>,
    msg_done: bool,
    items: usize,
    stmt: Option<StmtB>,
    bal: Option<BalB>,
    summary: Option<usize>,
    ntry: Option<NtryB>,
    tx: Option<TxB>,
    out: Vec<Statement>,
}

fn set<X>(slot: &mut Option<X>, v: Option<X>) {
    if slot.is_none() {
        *slot = v;
    }
}

// ---------------------------------------------------------------------------------------------
// The event loop.

struct Parser<'l> {
    cur: Cursor<'l>,
    build: Build<'l>,
    /// quick-xml stopped on bytes that are not UTF-8.
    encoding_error: bool,
}

impl Parser<'_> {
    /// The event loop over any reader. `text` is the whole document when it is in memory
    /// (error positions as line and column). Each statement goes to `sink` as soon as its
    /// element closes, so memory is bounded by the largest statement, not the file.
    fn run<R: std::io::BufRead>(
        &mut self,
        reader: &mut Reader<R>,
        text: Option<&[u8]>,
        sink: &mut dyn FnMut(Statement) -> Res<()>,
    ) -> Res<()> {
        let mut buf = Vec::with_capacity(4096);
        loop {
            buf.clear();
            let ev = match reader.read_event_into(&mut buf) {
                Ok(ev) => ev,
                Err(e) => {
                    self.encoding_error = matches!(e, quick_xml::Error::Encoding(_));
                    return Err(self.cur.xml_err(text, reader.error_position(), &e));
                }
            };
            let pos = reader.buffer_position();
            match ev {
                Event::Start(e) => self.open(&e, text, pos)?,
                Event::Empty(e) => {
                    self.open(&e, text, pos)?;
                    self.close()?;
                }
                Event::End(_) => {
                    self.close()?;
                    for s in self.build.out.drain(..) {
                        sink(s)?;
                    }
                }
                Event::Text(t) => self.cur.push_text(&t),
                Event::CData(t) => self.cur.push_text(&t),
                Event::GeneralRef(r) => self.reference(&r, text, pos)?,
                Event::DocType(_) => {
                    return Err(ParseError::new(
                        self.cur.file,
                        Location::File,
                        None,
                        "DOCTYPE declarations are not allowed (no DTD, no entity definitions, \
                         no external entities)",
                    ));
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => break,
            }
        }
        if !self.cur.tags.is_empty() {
            let name = self.cur.here().field().to_string();
            return Err(self
                .cur
                .err(format!("unexpected end of file: element {name} is not closed (truncated file?)")));
        }
        if !self.build.root_done {
            return Err(ParseError::new(
                self.cur.file,
                Location::File,
                None,
                "not a camt.052/053/054 document (no root element)",
            ));
        }
        Ok(())
    }

    fn reference(&mut self, r: &BytesRef, text: Option<&[u8]>, pos: u64) -> Res<()> {
        match r.resolve_char_ref() {
            Ok(Some(c)) => {
                let mut b = [0u8; 4];
                self.cur.push_text(c.encode_utf8(&mut b));
                Ok(())
            }
            Ok(None) => {
                let c = match &**r {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "apos" => "'",
                    "quot" => "\"",
                    name => {
                        return Err(self.cur.err(format!(
                            "entity &{name}; is not allowed: only the five predefined XML \
                             entities and character references are accepted"
                        )));
                    }
                };
                self.cur.push_text(c);
                Ok(())
            }
            Err(e) => Err(self.cur.xml_err(text, pos, &e)),
        }
    }

    fn open(&mut self, e: &BytesStart, text: Option<&[u8]>, pos: u64) -> Res<()> {
        // The local name (namespace prefixes are ignored); `:` is ASCII, so the cut is safe.
        let qname = e.name().into_inner();
        let name = match qname.bytes().position(|b| b == b':') {
            Some(i) => &qname[i + 1..],
            None => qname,
        };
        let t = tag(name);
        let cur = &mut self.cur;
        let depth = cur.tags.len();
        if depth == 0 && self.build.root_done {
            return Err(cur.err(format!("malformed XML: element {name} after the end of the root element")));
        }
        let parent = cur.frames.last().map_or(0, |f| f.serial);
        let idx = match repeated_slot(t) {
            Some(s) => {
                let (p, n) = &mut cur.siblings[s];
                *n = if *p == parent { n.saturating_add(1) } else { 1 };
                *p = parent;
                *n
            }
            None => 0,
        };
        cur.serial += 1;
        let path_start = cur.path.len();
        cur.path.push('/');
        cur.path.push_str(name);
        if idx > 0 {
            push_index(&mut cur.path, idx);
        }
        cur.tags.push(t);
        cur.frames.push(Frame { path_start, serial: cur.serial });
        if cur.tags.len() > cur.max_depth {
            return Err(cur.err(format!("elements nest deeper than the limit of {} levels", cur.max_depth)));
        }
        cur.clear_text();
        // Text is read in statements only, and only for elements that carry a value we use
        // (camt has no mixed content: text after a child element is indentation).
        cur.wants_text = self.build.stmt.is_some() && has_value(t);
        if matches!(t, T::Amt | T::TtlAmt) {
            cur.ccy = CcyAttr::Missing;
            for a in e.attributes() {
                let a = a.map_err(|e| cur.xml_err(text, pos, &e.into()))?;
                if a.key.local_name().into_inner() == "Ccy" {
                    let v = a.normalized_value(XmlVersion::Implicit1_0).map_err(|e| cur.xml_err(text, pos, &e))?;
                    let v = v.trim();
                    cur.ccy = match Currency::parse(v) {
                        Some(c) => CcyAttr::Ok(c),
                        None => CcyAttr::Bad(v.to_string()),
                    };
                }
            }
        }
        self.build.open(&self.cur, t, name, depth)
    }

    fn close(&mut self) -> Res<()> {
        let Some(depth) = self.cur.tags.len().checked_sub(1) else {
            return Err(self.cur.err("malformed XML: end tag without a start tag"));
        };
        let r = self.build.close(&self.cur.here(), &self.cur.tags, depth);
        if let Some(f) = self.cur.frames.pop() {
            self.cur.path.truncate(f.path_start);
        }
        self.cur.tags.pop();
        self.cur.clear_text();
        self.cur.wants_text = false;
        r
    }
}

// ---------------------------------------------------------------------------------------------
// Structure: which element starts or ends what.

impl Build<'_> {
    fn open(&mut self, cur: &Cursor, t: T, name: &str, depth: usize) -> Res<()> {
        let Some(doc) = self.doc else {
            // Before the Document: the root itself, or an envelope around it.
            if t == T::Document {
                self.doc = Some(depth);
            }
            return Ok(());
        };
        let Some((msg_depth, msg)) = self.msg.filter(|_| !self.msg_done) else {
            if depth == doc + 1 {
                if self.msg_done {
                    return Err(cur.err("a Document holds only one message"));
                }
                match Msg::from_container(name) {
                    Some(m) => self.msg = Some((depth, m)),
                    None => {
                        return Err(ParseError::new(
                            self.file,
                            Location::File,
                            None,
                            format!("not a camt.052/053/054 document (root element Document holds {name})"),
                        ));
                    }
                }
            }
            return Ok(());
        };
        if depth == msg_depth + 1 {
            if t == msg.item() {
                self.items += 1;
                if self.items > self.max_statements {
                    return Err(cur.err(format!("more than {} statements in one file", self.max_statements)));
                }
                self.stmt = Some(StmtB {
                    depth,
                    location: cur.path.clone(),
                    id: None,
                    elec_seq: None,
                    legal_seq: None,
                    iban: None,
                    other_id: None,
                    acct_ccy: None,
                    svcr_bic: None,
                    bals: Vec::new(),
                    other_ccy: None,
                    summary: Summary::default(),
                    entries: Vec::new(),
                    booked: Totals::default(),
                    all: Totals::default(),
                    ntry_seen: 0,
                });
            }
            return Ok(());
        }
        let Some(stmt) = self.stmt.as_mut() else {
            return Ok(());
        };
        if self.tx.is_some() || self.bal.is_some() || self.summary.is_some() {
            return Ok(());
        }
        if let Some(n) = &self.ntry {
            // `NtryDtls/TxDtls`; .001.01 messages have `TxDtls` right in the entry.
            let rel = &cur.tags[n.depth + 1..];
            if t == T::TxDtls && (rel == [T::NtryDtls, T::TxDtls] || rel == [T::TxDtls]) {
                self.tx = Some(TxB { depth, info: TxInfo::default() });
            }
            return Ok(());
        }
        if depth != stmt.depth + 1 {
            return Ok(());
        }
        match t {
            T::Bal => {
                self.bal = Some(BalB {
                    depth,
                    location: cur.path.clone(),
                    kind: None,
                    amount: None,
                    credit: None,
                    date: None,
                });
            }
            T::TxsSummry => self.summary = Some(depth),
            T::Ntry => {
                stmt.ntry_seen += 1;
                if stmt.ntry_seen > self.max_entries {
                    return Err(cur.err(format!("more than {} entries in one statement", self.max_entries)));
                }
                self.ntry = Some(NtryB {
                    depth,
                    location: cur.path.clone(),
                    ntry_ref: None,
                    svcr_ref: None,
                    amount: None,
                    credit: None,
                    reversal: false,
                    status: None,
                    booking: None,
                    value: None,
                    codes: Codes::default(),
                    addtl: Vec::new(),
                    btch_n: None,
                    btch_total: None,
                    btch_pmtinf: None,
                    txs: Vec::new(),
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn close(&mut self, h: &Here, tags: &[T], depth: usize) -> Res<()> {
        if let Some(tx) = self.tx.as_mut() {
            if depth > tx.depth {
                return tx_leaf(&mut tx.info, &tags[tx.depth + 1..], h);
            }
            if let (Some(tx), Some(n)) = (self.tx.take(), self.ntry.as_mut()) {
                n.txs.push(tx.info);
            }
            return Ok(());
        }
        if let Some(n) = self.ntry.as_mut() {
            if depth > n.depth {
                return ntry_leaf(n, &tags[n.depth + 1..], h);
            }
            let n = self.ntry.take();
            return match (n, self.stmt.as_mut()) {
                (Some(n), Some(s)) => finish_entry(s, n, h),
                _ => Ok(()),
            };
        }
        if let Some(b) = self.bal.as_mut() {
            if depth > b.depth {
                return bal_leaf(b, &tags[b.depth + 1..], h);
            }
            let b = self.bal.take();
            return match (b, self.stmt.as_mut()) {
                (Some(b), Some(s)) => finish_balance(s, b, h),
                _ => Ok(()),
            };
        }
        if let Some(d) = self.summary {
            if depth > d {
                if let Some(s) = self.stmt.as_mut() {
                    return summary_leaf(&mut s.summary, &tags[d + 1..], h);
                }
                return Ok(());
            }
            self.summary = None;
            return Ok(());
        }
        if let Some(s) = self.stmt.as_mut() {
            if depth > s.depth {
                return stmt_leaf(s, &tags[s.depth + 1..], h);
            }
            if let Some(s) = self.stmt.take() {
                let st = finish_statement(self.file, s)?;
                self.out.push(st);
            }
            return Ok(());
        }
        if let Some((d, msg)) = self.msg.filter(|_| !self.msg_done)
            && depth == d
        {
            self.msg_done = true;
            if self.items == 0 {
                return Err(h.err_field(msg.item_name(), format!("the message holds no {}", msg.item_name())));
            }
            return Ok(());
        }
        if depth == 0 {
            self.root_done = true;
            if self.msg.is_none() {
                let msg = if tags.first() == Some(&T::Document) {
                    "not a camt.052/053/054 document (the Document holds no \
                     BkToCstmrStmt, BkToCstmrAcctRpt or BkToCstmrDbtCdtNtfctn)"
                        .to_string()
                } else {
                    format!("not a camt.052/053/054 document (root element {})", h.path.trim_start_matches('/'))
                };
                return Err(ParseError::new(self.file, Location::File, None, msg));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Leaves.

fn stmt_leaf(s: &mut StmtB, rel: &[T], h: &Here) -> Res<()> {
    use T::*;
    match rel {
        [Id] => set(&mut s.id, h.string()?),
        [ElctrncSeqNb] => set(&mut s.elec_seq, h.string()?),
        [LglSeqNb] => set(&mut s.legal_seq, h.string()?),
        [Acct, Id, IBAN] => set(&mut s.iban, h.string()?),
        [Acct, Id, Othr | PrtryAcct, Id] | [Acct, Id, BBAN | UPIC] => set(&mut s.other_id, h.string()?),
        [Acct, Ccy] => s.acct_ccy = Some(h.currency()?),
        [Acct, Svcr, FinInstnId, BIC | BICFI] => set(&mut s.svcr_bic, h.string()?),
        _ => {}
    }
    Ok(())
}

fn bal_leaf(b: &mut BalB, rel: &[T], h: &Here) -> Res<()> {
    use T::*;
    match rel {
        [Tp, CdOrPrtry, Cd | Prtry] | [Tp, Cd] if b.kind.is_none() => {
            b.kind = Some(match h.text()? {
                "OPBD" => BalKind::Opbd,
                "PRCD" => BalKind::Prcd,
                "CLBD" => BalKind::Clbd,
                "ITBD" => BalKind::Itbd,
                _ => BalKind::Ignored,
            });
        }
        [Amt] => b.amount = Some(h.money()?),
        [CdtDbtInd] => b.credit = Some(h.credit()?),
        [Dt, Dt] => b.date = Some(h.date(false)?),
        [Dt, DtTm] => b.date = Some(h.date(true)?),
        _ => {}
    }
    Ok(())
}

fn finish_balance(s: &mut StmtB, b: BalB, h: &Here) -> Res<()> {
    let kind = b.kind.unwrap_or(BalKind::Ignored);
    if kind == BalKind::Ignored {
        if let Some((_, c)) = b.amount {
            set(&mut s.other_ccy, Some(c));
        }
        return Ok(());
    }
    let (amount, ccy) = b.amount.ok_or_else(|| h.err_field("Amt", "balance has no Amt"))?;
    let date = b.date.ok_or_else(|| h.err_field("Dt", "balance has no Dt/Dt or Dt/DtTm"))?;
    let credit = match b.credit {
        Some(c) => c,
        // A zero balance needs no sign.
        None if amount.is_zero() => true,
        None => return Err(h.err_field("CdtDbtInd", "balance has no CdtDbtInd")),
    };
    s.bals.push(UsedBal {
        kind,
        balance: Balance { date, amount: Money::new(if credit { amount } else { -amount }, ccy) },
        amt_path: format!("{}/Amt", b.location),
    });
    Ok(())
}

fn summary_leaf(s: &mut Summary, rel: &[T], h: &Here) -> Res<()> {
    use T::*;
    let path = || h.path.to_string();
    match rel {
        [TtlNtries, NbOfNtries] => s.n = Some((h.count()?, path())),
        [TtlNtries, Sum] => s.sum = Some((h.decimal()?, path())),
        [TtlNtries, TtlNetNtry, Amt] | [TtlNtries, TtlNetNtryAmt] => s.net = Some((h.decimal()?, path())),
        [TtlNtries, CdtDbtInd] | [TtlNtries, TtlNetNtry, CdtDbtInd] => s.net_credit = Some(h.credit()?),
        [TtlCdtNtries, NbOfNtries] => s.cdt_n = Some((h.count()?, path())),
        [TtlCdtNtries, Sum] => s.cdt_sum = Some((h.decimal()?, path())),
        [TtlDbtNtries, NbOfNtries] => s.dbt_n = Some((h.count()?, path())),
        [TtlDbtNtries, Sum] => s.dbt_sum = Some((h.decimal()?, path())),
        _ => {}
    }
    Ok(())
}

fn ntry_leaf(n: &mut NtryB, rel: &[T], h: &Here) -> Res<()> {
    use T::*;
    match rel {
        [NtryRef] => set(&mut n.ntry_ref, h.string()?),
        [Amt] => n.amount = Some(h.money()?),
        [CdtDbtInd] => n.credit = Some(h.credit()?),
        [RvslInd] => n.reversal = h.boolean()?,
        [Sts] | [Sts, Cd | Prtry] => {
            if let Some(st) = h.status()? {
                n.status = Some(st);
            }
        }
        [BookgDt, Dt] => n.booking = Some(h.date(false)?),
        [BookgDt, DtTm] => n.booking = Some(h.date(true)?),
        [ValDt, Dt] => n.value = Some(h.date(false)?),
        [ValDt, DtTm] => n.value = Some(h.date(true)?),
        [AcctSvcrRef] => set(&mut n.svcr_ref, h.string()?),
        [BkTxCd, Domn, Cd] => set(&mut n.codes.domain, h.string()?),
        [BkTxCd, Domn, Fmly, Cd] => set(&mut n.codes.family, h.string()?),
        [BkTxCd, Domn, Fmly, SubFmlyCd] => set(&mut n.codes.sub, h.string()?),
        [BkTxCd, Prtry, Cd] => set(&mut n.codes.prtry, h.string()?),
        [AddtlNtryInf] => n.addtl.extend(h.string()?),
        [NtryDtls, Btch, NbOfTxs] | [Btch, NbOfTxs] => {
            let c = h.count()?;
            n.btch_n = Some(n.btch_n.unwrap_or(0).saturating_add(c));
        }
        [NtryDtls, Btch, TtlAmt] | [Btch, TtlAmt] => {
            let a = h.amount()?;
            n.btch_total = Some(match n.btch_total {
                Some(t) => t.checked_add(a).ok_or_else(|| h.err("batch total overflows"))?,
                None => a,
            });
        }
        [NtryDtls, Btch, PmtInfId] | [Btch, PmtInfId] => set(&mut n.btch_pmtinf, h.reference()?),
        _ => {}
    }
    Ok(())
}

fn tx_leaf(t: &mut TxInfo, rel: &[T], h: &Here) -> Res<()> {
    use T::*;
    match rel {
        [Refs, EndToEndId] => set(&mut t.e2e, h.reference()?),
        [Refs, InstrId] => set(&mut t.instr, h.reference()?),
        [Refs, PmtInfId] => set(&mut t.pmtinf, h.reference()?),
        [Refs, AcctSvcrRef] => set(&mut t.svcr_ref, h.reference()?),
        [Amt] => t.amt = Some(h.money()?),
        [AmtDtls, TxAmt, Amt] => t.tx_amt = Some(h.money()?),
        [AmtDtls, CntrValAmt, Amt] => t.cntr_amt = Some(h.money()?),
        [AmtDtls, InstdAmt, Amt] => t.instd_amt = Some(h.money()?),
        [BkTxCd, Domn, Cd] => set(&mut t.codes.domain, h.string()?),
        [BkTxCd, Domn, Fmly, Cd] => set(&mut t.codes.family, h.string()?),
        [BkTxCd, Domn, Fmly, SubFmlyCd] => set(&mut t.codes.sub, h.string()?),
        [BkTxCd, Prtry, Cd] => set(&mut t.codes.prtry, h.string()?),
        [RltdPties, side @ (Dbtr | Cdtr), rest @ ..] => {
            let p = if *side == Dbtr { &mut t.dbtr } else { &mut t.cdtr };
            if let [Nm] | [Pty, Nm] | [Agt, FinInstnId, Nm] = rest {
                set(&mut p.name, h.string()?);
            }
        }
        [RltdPties, side @ (DbtrAcct | CdtrAcct), Id, rest @ ..] => {
            let p = if *side == DbtrAcct { &mut t.dbtr } else { &mut t.cdtr };
            if let [IBAN] | [Othr, Id] = rest {
                set(&mut p.account, h.string()?);
            }
        }
        [RltdAgts, side @ (DbtrAgt | CdtrAgt), FinInstnId, rest @ ..] => {
            let p = if *side == DbtrAgt { &mut t.dbtr } else { &mut t.cdtr };
            match rest {
                [BIC | BICFI] => set(&mut p.bic, h.string()?),
                [ClrSysMmbId, MmbId] => set(&mut p.clearing, h.string()?),
                [Nm] => set(&mut p.bank_name, h.string()?),
                _ => {}
            }
        }
        [RmtInf, Ustrd] => t.ustrd.extend(h.string()?),
        [AddtlTxInf] => set(&mut t.addtl, h.string()?),
        [RtrInf] => t.returned = true,
        [RtrInf, Rsn, Cd | Prtry] => set(&mut t.return_reason, h.string()?),
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Finishing an entry and a statement.

/// Joins text pieces with one space, leaving out a piece equal to an earlier one.
fn join_unique<'x>(pieces: impl IntoIterator<Item = &'x str>) -> String {
    let mut out = String::new();
    let mut seen: Vec<&str> = Vec::new();
    for p in pieces {
        if p.is_empty() || seen.contains(&p) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(p);
        seen.push(p);
    }
    out
}

fn finish_entry(s: &mut StmtB, n: NtryB, h: &Here) -> Res<()> {
    let (amount, ccy) = n.amount.ok_or_else(|| h.err_field("Amt", "entry has no Amt"))?;
    let credit = n.credit.ok_or_else(|| h.err_field("CdtDbtInd", "entry has no CdtDbtInd"))?;
    let status = n.status.ok_or_else(|| h.err_field("Sts", "entry has no Sts"))?;
    let overflow = || h.err_field("Amt", "the entries' total overflows");
    s.all.add(amount, credit).ok_or_else(overflow)?;
    if status != Status::Booked {
        set(&mut s.other_ccy, Some(ccy));
        return Ok(());
    }
    let booking_date =
        n.booking.or(n.value).ok_or_else(|| h.err_field("BookgDt", "booked entry has neither BookgDt nor ValDt"))?;
    s.booked.add(amount, credit).ok_or_else(overflow)?;

    let NtryB {
        location, ntry_ref, svcr_ref, reversal, value, codes, addtl, btch_n, btch_total, btch_pmtinf, txs, ..
    } = n;
    let mut txs = txs;
    let own = s.iban.as_deref().or(s.other_id.as_deref()).unwrap_or("");
    let bank = s.svcr_bic.as_deref().and_then(|b| kinds().bank_of_bic(b));
    let is_batch = txs.len() > 1 || btch_n.is_some_and(|c| c > 1);
    let codes = if codes.is_empty() && txs.len() == 1 { std::mem::take(&mut txs[0].codes) } else { codes };
    let code = codes.kind(bank);
    let has_rtrinf = txs.iter().any(|t| t.returned);
    let returned = has_rtrinf || code == Some(EntryKind::Return);
    // The parties of a return are those of the original transaction, which went the other
    // way: the original debtor of a returned collection, the original creditor of a returned
    // transfer. Otherwise money in (a credit, or the reversal of a debit: CdtDbtInd XOR
    // RvslInd) comes from the debtor side.
    let debtor_side = if returned { !credit } else { credit != reversal };
    let return_reason = txs.iter_mut().find_map(|t| t.return_reason.take());

    let mut entry = Entry {
        booking_date,
        value_date: value,
        amount: Money::new(if credit { amount } else { -amount }, ccy),
        bank_ref: svcr_ref.or(ntry_ref),
        customer_ref: None,
        end_to_end_id: None,
        counterparty_account: None,
        counterparty_name: None,
        counterparty_bank: None,
        narrative: String::new(),
        kind: EntryKind::Transfer,
        type_code: codes.type_code(),
        return_reason,
        batch: None,
        location,
    };
    if is_batch {
        entry.narrative = join_unique(addtl.iter().map(String::as_str));
        let common_pmtinf = txs
            .first()
            .and_then(|f| f.pmtinf.clone())
            .filter(|p| txs.iter().all(|t| t.pmtinf.as_deref() == Some(p.as_str())));
        entry.customer_ref = btch_pmtinf.or(common_pmtinf);
        let count = match btch_n {
            Some(c) => {
                Some(u32::try_from(c).map_err(|_| h.err_field("NbOfTxs", format!("{c} transactions in one batch")))?)
            }
            None => u32::try_from(txs.len()).ok(),
        };
        let items = txs
            .into_iter()
            .map(|mut t| {
                let (acct, name, _) = counterparty(&mut t, debtor_side, own);
                let text = join_unique(t.ustrd.iter().map(String::as_str).chain(t.addtl.as_deref()));
                BatchItem {
                    amount: t.amount_in(ccy),
                    end_to_end_id: t.e2e,
                    counterparty_account: acct,
                    counterparty_name: name,
                    narrative: (!text.is_empty()).then_some(text),
                }
            })
            .collect();
        entry.batch = Some(BatchDetails { count, total: btch_total, items });
    } else if let Some(mut t) = txs.pop() {
        entry.narrative = join_unique(
            addtl.iter().map(String::as_str).chain(t.ustrd.iter().map(String::as_str)).chain(t.addtl.as_deref()),
        );
        // The instruction id, else the payment information (batch) id; an id not used there
        // stays in the narrative.
        let pmtinf = t.pmtinf.take().or(btch_pmtinf);
        entry.customer_ref = t.instr.take().or_else(|| pmtinf.clone());
        if let Some(p) =
            pmtinf.filter(|p| entry.customer_ref.as_ref() != Some(p) && !entry.narrative.contains(p.as_str()))
        {
            if !entry.narrative.is_empty() {
                entry.narrative.push(' ');
            }
            entry.narrative.push_str(&p);
        }
        if entry.bank_ref.is_none() {
            entry.bank_ref = t.svcr_ref.take();
        }
        let (acct, name, bank) = counterparty(&mut t, debtor_side, own);
        entry.end_to_end_id = t.e2e;
        entry.counterparty_account = acct;
        entry.counterparty_name = name;
        entry.counterparty_bank = bank;
    } else {
        entry.narrative = join_unique(addtl.iter().map(String::as_str));
        entry.customer_ref = btch_pmtinf;
    }
    entry.kind = decide(&Evidence {
        reversal_mark: reversal,
        return_reason: has_rtrinf,
        code: code.or(is_batch.then_some(EntryKind::Batch)),
        text: &entry.narrative,
        bank,
    });
    s.entries.push(entry);
    Ok(())
}

fn finish_statement(file: &str, s: StmtB) -> Res<Statement> {
    let at = |path: &str, field: &str, msg: String| {
        ParseError::new(file, Location::XPath(path.to_string()), Some(field), msg)
    };
    let Some(account) = s.iban.or(s.other_id) else {
        return Err(at(&s.location, "Acct", "statement has no account (Acct/Id/IBAN or Acct/Id/Othr/Id)".into()));
    };
    let first = |k: BalKind| s.bals.iter().find(|b| b.kind == k);
    let itbd: Vec<&UsedBal> = s.bals.iter().filter(|b| b.kind == BalKind::Itbd).collect();
    let opening = first(BalKind::Opbd).or_else(|| first(BalKind::Prcd)).or_else(|| (itbd.len() >= 2).then(|| itbd[0]));
    let closing =
        first(BalKind::Clbd).or_else(|| itbd.last().copied().filter(|c| opening.is_none_or(|o| !std::ptr::eq(*c, o))));
    let currency = s
        .acct_ccy
        .or(opening.map(|b| b.balance.amount.currency))
        .or(closing.map(|b| b.balance.amount.currency))
        .or(s.entries.first().map(|e| e.amount.currency))
        .or(s.other_ccy);
    let Some(currency) = currency else {
        return Err(at(&s.location, "Ccy", "statement has no currency (no Acct/Ccy, no balance, no entry)".into()));
    };
    for b in [opening, closing].into_iter().flatten() {
        let c = b.balance.amount.currency;
        if c != currency {
            return Err(at(
                &b.amt_path,
                "Amt",
                format!("balance currency {c} differs from the statement currency {currency}"),
            ));
        }
    }
    for e in &s.entries {
        let c = e.amount.currency;
        if c != currency {
            return Err(at(
                &format!("{}/Amt", e.location),
                "Amt",
                format!("entry currency {c} differs from the statement currency {currency}"),
            ));
        }
    }
    // Control totals: the booked entries, or (when there are pending ones) all entries.
    if let Some((path, msg)) = s.summary.mismatch(&s.booked)
        && (s.all.n == s.booked.n || s.summary.mismatch(&s.all).is_some())
    {
        let field = path.rsplit('/').next().unwrap_or("TxsSummry").to_string();
        return Err(at(path, &field, msg));
    }
    Ok(Statement {
        account,
        currency,
        sequence: s.elec_seq.or(s.legal_seq),
        statement_id: s.id,
        opening: opening.map(|b| b.balance.clone()),
        closing: closing.map(|b| b.balance.clone()),
        entries: s.entries,
        location: s.location,
        flags: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    const BAL_OPEN: &str = r#"<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="CNY">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt></Bal>"#;

    fn bal(code: &str, amt: &str, cdi: &str, dt: &str) -> String {
        format!(
            r#"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">{amt}</Amt>
            <CdtDbtInd>{cdi}</CdtDbtInd><Dt>{dt}</Dt></Bal>"#
        )
    }

    /// An entry: amount, CdtDbtInd, then any further children.
    fn ntry(amt: &str, cdi: &str, rest: &str) -> String {
        format!(r#"<Ntry><Amt Ccy="CNY">{amt}</Amt><CdtDbtInd>{cdi}</CdtDbtInd>{rest}</Ntry>"#)
    }

    const BOOKED: &str = "<Sts>BOOK</Sts><BookgDt><Dt>2024-03-01</Dt></BookgDt>";

    fn stmt(body: &str) -> String {
        format!("<Stmt><Id>S1</Id><Acct><Id><Othr><Id>6222001</Id></Othr></Id><Ccy>CNY</Ccy></Acct>{body}</Stmt>")
    }

    fn doc(stmts: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr>{stmts}</BkToCstmrStmt></Document>"#
        )
    }

    fn ok(xml: &str) -> Vec<Statement> {
        parse("t.xml", xml.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(xml: &str) -> String {
        match parse("t.xml", xml.as_bytes(), &Limits::default()) {
            Ok(s) => panic!("parsed {} statements, expected an error", s.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn tag_table_is_sorted() {
        assert!(TAGS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!((tag("Ntry"), tag("BICFI"), tag("Ntryx"), tag("")), (T::Ntry, T::BICFI, T::Other, T::Other));
        let mut p = String::new();
        for i in [1, 9, 10, 4_294_967_295] {
            push_index(&mut p, i);
        }
        assert_eq!(p, "[1][9][10][4294967295]");
    }

    #[test]
    fn status_forms_and_pending_entries() {
        let x = doc(&stmt(
            &[
                ntry("1.00", "CRDT", "<Sts>BOOK</Sts><BookgDt><Dt>2024-03-01</Dt></BookgDt>"),
                ntry("2.00", "CRDT", "<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2024-03-01</Dt></BookgDt>"),
                ntry("4.00", "CRDT", "<Sts><Cd>PDNG</Cd></Sts>"),
                ntry("8.00", "DBIT", "<Sts>INFO</Sts>"),
                ntry("16.00", "CRDT", "<Sts><Prtry>BOOK</Prtry></Sts><ValDt><Dt>2024-03-02</Dt></ValDt>"),
            ]
            .concat(),
        ));
        let s = ok(&x);
        let amounts: Vec<Decimal> = s[0].entries.iter().map(|e| e.amount.amount).collect();
        assert_eq!(amounts, [dec!(1), dec!(2), dec!(16)]);
        // No BookgDt: the value date stands in.
        assert_eq!(s[0].entries[2].booking_date.to_string(), "2024-03-02");
        // Sibling indexes count pending entries too: the third booked one is Ntry[5].
        assert_eq!(s[0].entries[2].location, "/Document/BkToCstmrStmt/Stmt[1]/Ntry[5]");
        let e = err(&doc(&stmt(&ntry("1.00", "CRDT", "<Sts>DONE</Sts>"))));
        assert!(
            e.ends_with("Ntry[1]/Sts: field Sts: unknown entry status \"DONE\" (expected BOOK, PDNG, INFO or FUTR)"),
            "{e}"
        );
        let e = err(&doc(&stmt(&ntry("1.00", "CRDT", ""))));
        assert!(e.ends_with("Ntry[1]: field Sts: entry has no Sts"), "{e}");
        let e = err(&doc(&stmt(&ntry("1.00", "CRDT", "<Sts>BOOK</Sts>"))));
        assert!(e.ends_with("field BookgDt: booked entry has neither BookgDt nor ValDt"), "{e}");
    }

    #[test]
    fn date_times_give_their_date_part() {
        let x = doc(&stmt(&format!(
            "{}{}",
            bal("OPBD", "5", "CRDT", "<DtTm>2024-03-01T00:00:00.000000000</DtTm>"),
            ntry(
                "1",
                "DBIT",
                "<Sts>BOOK</Sts><BookgDt><DtTm>2024-03-01T23:59:59+08:00</DtTm></BookgDt><ValDt><DtTm>2024-03-02T08:00:00Z</DtTm></ValDt>"
            )
        )));
        let s = ok(&x);
        assert_eq!(s[0].opening.as_ref().unwrap().date.to_string(), "2024-03-01");
        let e = &s[0].entries[0];
        assert_eq!(
            (e.booking_date.to_string(), e.value_date.unwrap().to_string()),
            ("2024-03-01".into(), "2024-03-02".into())
        );
        assert_eq!(parse_date("2024-03-01+08:00", false).unwrap().to_string(), "2024-03-01");
        for bad in ["2024-3-01", "2024-03-01T10:00", "2024-02-30", "２０２４-03-01", "2024-03-01 "] {
            assert_eq!(parse_date(bad, false), None, "{bad}");
        }
        for bad in ["2024-03-01", "2024-03-01T1:00:00", "2024-03-01T10:00:00+8", "2024-03-01T10:00:00."] {
            assert_eq!(parse_date(bad, true), None, "{bad}");
        }
        let e = err(&doc(&stmt(&ntry("1", "CRDT", "<Sts>BOOK</Sts><BookgDt><Dt>2024-03-01T10:00:00</Dt></BookgDt>"))));
        assert!(e.ends_with("Ntry[1]/BookgDt/Dt: field Dt: \"2024-03-01T10:00:00\" is not a date (YYYY-MM-DD)"), "{e}");
    }

    #[test]
    fn reversal_keeps_the_booked_sign() {
        let x = doc(&stmt(&[
            ntry("500.00", "DBIT", BOOKED),
            ntry("500.00", "CRDT", &format!("<RvslInd>true</RvslInd>{BOOKED}<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>CHRG</SubFmlyCd></Fmly></Domn></BkTxCd>")),
            ntry("1.00", "CRDT", &format!("<RvslInd>false</RvslInd>{BOOKED}")),
        ]
        .concat()));
        let s = ok(&x);
        let e = &s[0].entries;
        assert_eq!((e[0].amount.amount, e[0].kind), (dec!(-500.00), EntryKind::Transfer));
        // RvslInd wins over the charge code, and the CRDT sign is kept.
        assert_eq!((e[1].amount.amount, e[1].kind), (dec!(500.00), EntryKind::Reversal));
        assert_eq!(e[2].kind, EntryKind::Transfer);
        assert_eq!(s[0].entry_sum(), Some(dec!(1.00)));
        let e = err(&doc(&stmt(&ntry("1", "CRDT", "<RvslInd>yes</RvslInd>"))));
        assert!(e.contains("field RvslInd: \"yes\" is not a boolean"), "{e}");
    }

    #[test]
    fn opening_and_closing_choice() {
        let d1 = "<Dt>2024-03-01</Dt>";
        let d2 = "<Dt>2024-03-02</Dt>";
        let pick = |bals: &[String]| {
            let s = ok(&doc(&stmt(&bals.concat())));
            let f = |b: &Option<Balance>| b.as_ref().map(|b| canonical(b.amount.amount));
            (f(&s[0].opening), f(&s[0].closing))
        };
        let some = |a: &str, b: &str| (Some(a.to_string()), Some(b.to_string()));
        // PRCD stands in for a missing OPBD; OPBD wins when both are there.
        assert_eq!(pick(&[bal("PRCD", "7", "CRDT", d1), bal("CLBD", "9", "CRDT", d2)]), some("7.00", "9.00"));
        assert_eq!(
            pick(&[bal("PRCD", "7", "CRDT", d1), bal("OPBD", "8", "DBIT", d2), bal("CLBD", "9", "CRDT", d2)]),
            some("-8.00", "9.00")
        );
        // A single ITBD is the booked balance at report time: a closing.
        assert_eq!(pick(&[bal("ITBD", "5", "CRDT", d2)]), (None, Some("5.00".into())));
        assert_eq!(pick(&[bal("PRCD", "4", "CRDT", d1), bal("ITBD", "5", "CRDT", d2)]), some("4.00", "5.00"));
        // Two ITBD and nothing else: first and last.
        assert_eq!(pick(&[bal("ITBD", "4", "CRDT", d1), bal("ITBD", "5", "CRDT", d2)]), some("4.00", "5.00"));
        // Available balances are never used; their currency does not matter.
        assert_eq!(pick(&[bal("OPAV", "1", "CRDT", d1), bal("CLAV", "2", "CRDT", d2)]), (None, None));
        // A zero balance may go without CdtDbtInd.
        let zero = r#"<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">0.00</Amt><Dt><Dt>2024-03-01</Dt></Dt></Bal>"#;
        assert_eq!(pick(&[zero.to_string()]), (None, Some("0.00".into())));
        let e = err(&doc(&stmt(&bal("CLBD", "1", "CRDT", "").replace("<Dt></Dt>", ""))));
        assert!(e.ends_with("Stmt[1]/Bal[1]: field Dt: balance has no Dt/Dt or Dt/DtTm"), "{e}");
    }

    #[test]
    fn currencies_must_agree() {
        let x =
            doc(&stmt(&format!("{BAL_OPEN}{}", bal("CLBD", "1", "CRDT", "<Dt>2024-03-01</Dt>").replace("CNY", "USD"))));
        let e = err(&x);
        assert!(
            e.ends_with("Stmt[1]/Bal[2]/Amt: field Amt: balance currency USD differs from the statement currency CNY"),
            "{e}"
        );
        let x = doc(&stmt(&ntry("1", "CRDT", BOOKED).replace("Ccy=\"CNY\"", "Ccy=\"cn\"")));
        assert!(err(&x).ends_with("field Amt: currency \"cn\" (attribute Ccy) is not three letters"));
        let x = doc(&stmt(&ntry("1", "CRDT", BOOKED).replace(" Ccy=\"CNY\"", "")));
        assert!(err(&x).ends_with("Ntry[1]/Amt: field Amt: amount has no Ccy attribute"));
        // Acct/Ccy is the statement currency even before any balance or entry.
        let x = doc(&format!(
            "<Stmt><Acct><Id><IBAN>CN00X</IBAN></Id><Ccy>USD</Ccy></Acct>{}</Stmt>",
            ntry("1", "CRDT", BOOKED)
        ));
        assert!(err(&x).ends_with("entry currency CNY differs from the statement currency USD"));
    }

    #[test]
    fn amounts_are_strict() {
        for (amt, msg) in [
            ("12,50", "\"12,50\" is not an amount"),
            ("-5.00", "\"-5.00\" is not an amount (camt amounts are unsigned: the sign is CdtDbtInd)"),
            ("1e5", "\"1e5\" is not an amount"),
            ("", "\"\" is not an amount"),
            ("1234567890123456789", "\"1234567890123456789\" is not an amount"),
        ] {
            let e = err(&doc(&stmt(&ntry(amt, "CRDT", BOOKED))));
            assert!(e.ends_with(&format!("Ntry[1]/Amt: field Amt: {msg}")), "{e}");
        }
        assert_eq!(parse_amount("0.12345"), Some(dec!(0.12345)));
        assert_eq!(parse_amount(" 1"), None);
    }

    #[test]
    fn control_totals_are_checked() {
        let entries = [ntry("10.00", "CRDT", BOOKED), ntry("3.00", "DBIT", BOOKED)].concat();
        let with = |summary: &str| doc(&stmt(&format!("<TxsSummry>{summary}</TxsSummry>{entries}")));
        ok(&with(
            "<TtlNtries><NbOfNtries>2</NbOfNtries><Sum>13.00</Sum><TtlNetNtry><Amt>7</Amt><CdtDbtInd>CRDT</CdtDbtInd></TtlNetNtry></TtlNtries><TtlCdtNtries><NbOfNtries>1</NbOfNtries><Sum>10</Sum></TtlCdtNtries><TtlDbtNtries><NbOfNtries>1</NbOfNtries><Sum>3</Sum></TtlDbtNtries>",
        ));
        ok(&with("<TtlNtries><TtlNetNtryAmt>7.00</TtlNetNtryAmt><CdtDbtInd>CRDT</CdtDbtInd></TtlNtries>"));
        let e = err(&with("<TtlNtries><NbOfNtries>3</NbOfNtries></TtlNtries>"));
        assert_eq!(
            e,
            "t.xml at /Document/BkToCstmrStmt/Stmt[1]/TxsSummry/TtlNtries/NbOfNtries: field NbOfNtries: control total says 3 entries, the statement has 2"
        );
        let e = err(&with("<TtlNtries><TtlNetNtry><Amt>7</Amt><CdtDbtInd>DBIT</CdtDbtInd></TtlNetNtry></TtlNtries>"));
        assert!(e.ends_with("TtlNetNtry/Amt: field Amt: control total says net -7.00, the entries net 7.00"), "{e}");
        let e = err(&with("<TtlDbtNtries><NbOfNtries>1</NbOfNtries><Sum>30</Sum></TtlDbtNtries>"));
        assert!(
            e.ends_with("TtlDbtNtries/Sum: field Sum: control total says debits of 30.00, the entries add up to 3.00"),
            "{e}"
        );
        // A bank may count its pending entries in the summary: that basis is accepted too.
        let pending = ntry("5.00", "DBIT", "<Sts>PDNG</Sts>");
        ok(&doc(&stmt(&format!(
            "<TxsSummry><TtlNtries><NbOfNtries>3</NbOfNtries><Sum>18</Sum></TtlNtries></TxsSummry>{entries}{pending}"
        ))));
        ok(&doc(&stmt(&format!(
            "<TxsSummry><TtlNtries><NbOfNtries>2</NbOfNtries><Sum>13</Sum></TtlNtries></TxsSummry>{entries}{pending}"
        ))));
    }

    #[test]
    fn doctype_and_entities_are_refused() {
        let lol = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Document>&b;</Document>"#;
        assert_eq!(
            err(lol),
            "t.xml: DOCTYPE declarations are not allowed (no DTD, no entity definitions, no external entities)"
        );
        let xxe = r#"<!DOCTYPE Document SYSTEM "http://example.invalid/x.dtd"><Document/>"#;
        assert!(err(xxe).contains("DOCTYPE declarations are not allowed"));
        let e = err(&doc(&stmt(&ntry("1", "CRDT", "<Sts>BOOK</Sts><AddtlNtryInf>&xxe;</AddtlNtryInf>"))));
        assert!(e.contains("Ntry[1]/AddtlNtryInf: entity &xxe; is not allowed"), "{e}");
        // The predefined entities and character references are fine.
        let s = ok(&doc(&stmt(&ntry(
            "1",
            "CRDT",
            &format!("{BOOKED}<AddtlNtryInf>A&amp;B &lt;&#x4E2D;&#22269;&gt;&#10;  &quot;x&apos;</AddtlNtryInf>"),
        ))));
        assert_eq!(s[0].entries[0].narrative, "A&B <中国> \"x'");
    }

    #[test]
    fn depth_and_size_limits() {
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        let e = err(&format!("<Foo>{deep}</Foo>"));
        assert!(e.contains("elements nest deeper than the limit of 64 levels"), "{e}");
        let limits = Limits { max_xml_depth: 7, ..Limits::default() };
        let x = doc(&stmt(&ntry("1", "CRDT", BOOKED)));
        assert!(parse("t.xml", x.as_bytes(), &limits).is_ok());
        let x = doc(&stmt(&ntry(
            "1",
            "CRDT",
            "<Sts>BOOK</Sts><BookgDt><Dt>2024-03-01</Dt></BookgDt><NtryDtls><TxDtls><Refs><EndToEndId>E</EndToEndId></Refs></TxDtls></NtryDtls>",
        )));
        let e = parse("t.xml", x.as_bytes(), &limits).unwrap_err().to_string();
        assert_eq!(
            e,
            "t.xml at /Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/NtryDtls[1]/TxDtls[1]/Refs/EndToEndId: elements nest deeper than the limit of 7 levels"
        );
        // Long text is an error where it is used, not where it is ignored.
        let limits = Limits { max_text_bytes: 10, ..Limits::default() };
        let long = "很长的附言文字很长的附言文字";
        let x = doc(&stmt(&ntry("1", "CRDT", &format!("{BOOKED}<AddtlNtryInf>{long}</AddtlNtryInf>"))));
        let e = parse("t.xml", x.as_bytes(), &limits).unwrap_err().to_string();
        assert!(e.ends_with("AddtlNtryInf: field AddtlNtryInf: text is longer than the limit of 10 bytes"), "{e}");
        let x = doc(&stmt(&ntry("1", "CRDT", &format!("{BOOKED}<Unknown>{long}</Unknown>"))));
        assert!(parse("t.xml", x.as_bytes(), &limits).is_ok());
        let limits = Limits { max_entries_per_statement: 1, ..Limits::default() };
        let x = doc(&stmt(&[ntry("1", "CRDT", BOOKED), ntry("1", "CRDT", BOOKED)].concat()));
        let e = parse("t.xml", x.as_bytes(), &limits).unwrap_err().to_string();
        assert!(e.ends_with("Stmt[1]/Ntry[2]: more than 1 entries in one statement"), "{e}");
        let limits = Limits { max_statements: 1, ..Limits::default() };
        let x = doc(&[stmt(""), stmt("")].concat());
        let e = parse("t.xml", x.as_bytes(), &limits).unwrap_err().to_string();
        assert!(e.ends_with("Stmt[2]: more than 1 statements in one file"), "{e}");
    }

    #[test]
    fn errors_name_the_xpath() {
        let x = doc(&[
            stmt(&ntry("1", "CRDT", BOOKED)),
            stmt(&[ntry("1", "CRDT", BOOKED), ntry("1", "CRDT", BOOKED), ntry("1", "", BOOKED)].concat()),
        ]
        .concat());
        assert_eq!(
            err(&x),
            "t.xml at /Document/BkToCstmrStmt/Stmt[2]/Ntry[3]/CdtDbtInd: field CdtDbtInd: unknown CdtDbtInd value \"\" (expected CRDT or DBIT)"
        );
        let x = doc(&stmt(&ntry("1", "CRDT", BOOKED).replace("<CdtDbtInd>CRDT</CdtDbtInd>", "")));
        assert_eq!(
            err(&x),
            "t.xml at /Document/BkToCstmrStmt/Stmt[1]/Ntry[1]: field CdtDbtInd: entry has no CdtDbtInd"
        );
        let s = ok(&doc(&[stmt(""), stmt(&ntry("1", "CRDT", BOOKED))].concat()));
        assert_eq!(s[1].location, "/Document/BkToCstmrStmt/Stmt[2]");
        assert_eq!(s[1].entries[0].location, "/Document/BkToCstmrStmt/Stmt[2]/Ntry[1]");
        // Malformed XML: quick-xml's complaint, with line, column and the open path.
        let x = doc(&stmt(&ntry("1", "CRDT", "<Sts>BOOK</Stz>")));
        let e = err(&x);
        assert!(
            e.starts_with("t.xml at /Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/Sts: malformed XML (line 1, column"),
            "{e}"
        );
        let good = doc(&stmt(&ntry("1", "CRDT", BOOKED)));
        let e = err(&good[..good.find("</Stmt>").unwrap()]);
        assert!(e.ends_with("Stmt[1]: unexpected end of file: element Stmt is not closed (truncated file?)"), "{e}");
        assert_eq!(err(""), "t.xml: not a camt.052/053/054 document (no root element)");
        assert_eq!(err("<Foo><Bar/></Foo>"), "t.xml: not a camt.052/053/054 document (root element Foo)");
        assert!(err(&format!("{}<x/>", doc(&stmt("")))).contains("after the end of the root element"));
        let e = err(&doc(""));
        assert_eq!(e, "t.xml at /Document/BkToCstmrStmt: field Stmt: the message holds no Stmt");
        let e = err(&doc("<Stmt><Acct><Ccy>CNY</Ccy></Acct></Stmt>"));
        assert!(e.ends_with("Stmt[1]: field Acct: statement has no account (Acct/Id/IBAN or Acct/Id/Othr/Id)"), "{e}");
        let e = err(&doc("<Stmt><Acct><Id><IBAN>X</IBAN></Id></Acct></Stmt>"));
        assert!(
            e.ends_with("Stmt[1]: field Ccy: statement has no currency (no Acct/Ccy, no balance, no entry)"),
            "{e}"
        );
    }

    #[test]
    fn reports_notifications_envelopes_and_v01() {
        let body = format!("<Acct><Id><IBAN>CH2801234000123456789</IBAN></Id></Acct>{}", ntry("2", "DBIT", BOOKED));
        let rpt =
            format!("<Document><BkToCstmrAcctRpt><Rpt>{body}</Rpt><Rpt>{body}</Rpt></BkToCstmrAcctRpt></Document>");
        let s = ok(&rpt);
        assert_eq!((s.len(), s[1].location.as_str()), (2, "/Document/BkToCstmrAcctRpt/Rpt[2]"));
        let ntf = "<n:Document xmlns:n=\"x\"><n:BkToCstmrDbtCdtNtfctn><n:Ntfctn><n:Acct><n:Id><n:IBAN>CH28</n:IBAN></n:Id></n:Acct><n:Ntry><n:Amt Ccy=\"SEK\">2</n:Amt><n:CdtDbtInd>DBIT</n:CdtDbtInd><n:Sts><n:Cd>BOOK</n:Cd></n:Sts><n:ValDt><n:Dt>2024-03-01</n:Dt></n:ValDt></n:Ntry></n:Ntfctn></n:BkToCstmrDbtCdtNtfctn></n:Document>";
        let s = ok(ntf);
        assert_eq!(
            (s[0].account.as_str(), s[0].currency.as_str(), s[0].entries[0].amount.amount),
            ("CH28", "SEK", dec!(-2))
        );
        let env = format!(
            "<message><AppHdr><Fr/></AppHdr>{}</message>",
            doc(&stmt("")).replace("<?xml version=\"1.0\"?>", "")
        );
        assert_eq!(ok(&env)[0].location, "/message/Document/BkToCstmrStmt/Stmt[1]");
        let v01 = "<Document><BkToCstmrAcctRptV01><Rpt><Acct><Id><PrtryAcct><Id>A1</Id></PrtryAcct></Id><Ccy>SEK</Ccy></Acct></Rpt></BkToCstmrAcctRptV01></Document>";
        assert_eq!(ok(v01)[0].account, "A1");
        assert_eq!(
            err("<Document><BkToCstmrStmtV1X/></Document>"),
            "t.xml: not a camt.052/053/054 document (root element Document holds BkToCstmrStmtV1X)"
        );
    }

    #[test]
    fn odd_names_and_v01_transaction_details() {
        let e = err("<Document><BkToCstmrStmt中V1></BkToCstmrStmt中V1></Document>");
        assert!(e.contains("Document holds BkToCstmrStmt中V1"), "{e}");
        let x = format!(
            "<Document><BkToCstmrStmtV01><Stmt><Acct><Id><IBAN>CH28</IBAN></Id></Acct>{}</Stmt></BkToCstmrStmtV01></Document>",
            ntry("7", "DBIT", &format!("{BOOKED}<TxDtls><Refs><EndToEndId>E7</EndToEndId></Refs></TxDtls>"))
        );
        assert_eq!(ok(&x)[0].entries[0].end_to_end_id.as_deref(), Some("E7"));
    }

    #[test]
    fn details_batches_and_counterparties() {
        let tx = |e2e: &str, amt: &str, name: &str| {
            format!(
                "<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs><Amt Ccy=\"CNY\">{amt}</Amt><RltdPties><Dbtr><Pty><Nm>付款人</Nm></Pty></Dbtr><DbtrAcct><Id><Othr><Id>6222001</Id></Othr></Id></DbtrAcct><Cdtr><Pty><Nm>{name}</Nm></Pty></Cdtr></RltdPties><RmtInf><Ustrd> 养老金\n\t 3月 </Ustrd><Ustrd>补发</Ustrd></RmtInf></TxDtls>"
            )
        };
        // A batch of one with its TxDtls reads like a single transfer.
        let one = ntry(
            "5",
            "DBIT",
            &format!(
                "{BOOKED}<NtryDtls><Btch><NbOfTxs>1</NbOfTxs></Btch>{}</NtryDtls><AddtlNtryInf>代发</AddtlNtryInf>",
                tx("NOTPROVIDED", "5", "张三")
            ),
        );
        let two = ntry(
            "5",
            "DBIT",
            &format!(
                "{BOOKED}<NtryDtls>{}{}</NtryDtls><AddtlNtryInf>代发</AddtlNtryInf>",
                tx("E1", "2", "张三"),
                tx("E2", "3", "李四")
            ),
        );
        let s = ok(&doc(&stmt(&[one, two].concat())));
        let (a, b) = (&s[0].entries[0], &s[0].entries[1]);
        assert_eq!((a.kind, a.end_to_end_id.as_deref(), a.batch.is_none()), (EntryKind::Transfer, None, true));
        // Money out: the creditor; the debtor is our own account anyway.
        assert_eq!(a.counterparty_name.as_deref(), Some("张三"));
        assert_eq!(a.narrative, "代发 养老金 3月 补发");
        assert_eq!(b.kind, EntryKind::Batch);
        let batch = b.batch.as_ref().unwrap();
        assert_eq!((batch.count, batch.total), (Some(2), None));
        assert_eq!(batch.items[1].amount, Some(dec!(3)));
        assert_eq!(batch.items[1].counterparty_name.as_deref(), Some("李四"));
        assert_eq!(b.narrative, "代发");
        // Fee and interest codes, return information, and text refinement.
        let coded = |sub: &str| {
            ntry(
                "1",
                "DBIT",
                &format!(
                    "{BOOKED}<BkTxCd><Domn><Cd>ACMT</Cd><Fmly><Cd>MDOP</Cd><SubFmlyCd>{sub}</SubFmlyCd></Fmly></Domn></BkTxCd>"
                ),
            )
        };
        let rtr = ntry(
            "1",
            "CRDT",
            &format!("{BOOKED}<NtryDtls><TxDtls><RtrInf><Rsn><Prtry>R01</Prtry></Rsn></RtrInf></TxDtls></NtryDtls>"),
        );
        let text = ntry("1", "DBIT", &format!("{BOOKED}<AddtlNtryInf>跨行汇款手续费</AddtlNtryInf>"));
        let s = ok(&doc(&stmt(&[coded("FEES"), coded("INTR"), rtr, text].concat())));
        let kinds: Vec<_> = s[0].entries.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EntryKind::Fee, EntryKind::Interest, EntryKind::Return, EntryKind::Fee]);
        assert_eq!(s[0].entries[0].type_code.as_deref(), Some("ACMT/MDOP/FEES"));
        assert_eq!(s[0].entries[2].return_reason.as_deref(), Some("R01"));
    }

    #[test]
    fn returns_name_the_original_counterparty() {
        let parties = |dbtr: &str, dbtr_acct: &str, cdtr: &str, cdtr_acct: &str| {
            let acct = |a: &str| {
                if a.is_empty() { String::new() } else { format!("<Id><IBAN>{a}</IBAN></Id>") }
            };
            format!(
                "<RltdPties><Dbtr><Nm>{dbtr}</Nm></Dbtr><DbtrAcct>{}</DbtrAcct><Cdtr><Nm>{cdtr}</Nm></Cdtr><CdtrAcct>{}</CdtrAcct></RltdPties>",
                acct(dbtr_acct),
                acct(cdtr_acct)
            )
        };
        let code = |f: &str, sub: &str| {
            format!("<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{f}</Cd><SubFmlyCd>{sub}</SubFmlyCd></Fmly></Domn></BkTxCd>")
        };
        let rtr = "<RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf>";
        // On the creditor's statement a returned collection is a debit; its debtor is the payer
        // (our own side carries only our name, no account).
        let dd = ntry(
            "80",
            "DBIT",
            &format!(
                "{BOOKED}{}<NtryDtls><TxDtls><Refs><PmtInfId>COLL-3</PmtInfId><EndToEndId>V-77</EndToEndId></Refs>{}{rtr}</TxDtls></NtryDtls>",
                code("RDDT", "UPDD"),
                parties("王五", "DE89370400440532013000", "某市社保中心", "")
            ),
        );
        // On the debtor's statement a returned transfer is a credit; its creditor is the payee
        // (even when the bank reports our account on the debtor side).
        let ct = ntry(
            "50",
            "CRDT",
            &format!(
                "{BOOKED}{}<NtryDtls><TxDtls>{}{rtr}</TxDtls></NtryDtls>",
                code("ICDT", "RRTN"),
                parties("某市社保中心", "6222001", "赵六", "NL91ABNA0417164300")
            ),
        );
        // Reported the other way round: the returning payee as debtor, our account as creditor.
        let ct2 = ntry(
            "50",
            "CRDT",
            &format!(
                "{BOOKED}<NtryDtls><TxDtls>{}{rtr}</TxDtls></NtryDtls>",
                parties("赵六", "NL91ABNA0417164300", "某市社保中心", "6222 001")
            ),
        );
        // RvslInd with RtrInf is a return; RvslInd alone a reversal.
        let rv =
            ntry("50", "CRDT", &format!("<RvslInd>true</RvslInd>{BOOKED}<NtryDtls><TxDtls>{rtr}</TxDtls></NtryDtls>"));
        let plain = ntry("50", "CRDT", &format!("<RvslInd>true</RvslInd>{BOOKED}"));
        let s = ok(&doc(&stmt(&[dd, ct, ct2, rv, plain].concat())));
        let e = &s[0].entries;
        assert_eq!((e[0].kind, e[0].counterparty_name.as_deref()), (EntryKind::Return, Some("王五")));
        assert_eq!(e[0].counterparty_account.as_deref(), Some("DE89370400440532013000"));
        assert_eq!((e[0].customer_ref.as_deref(), e[0].end_to_end_id.as_deref()), (Some("COLL-3"), Some("V-77")));
        assert_eq!(e[0].return_reason.as_deref(), Some("AM04"));
        assert_eq!((e[1].kind, e[1].counterparty_name.as_deref()), (EntryKind::Return, Some("赵六")));
        assert_eq!(e[1].counterparty_account.as_deref(), Some("NL91ABNA0417164300"));
        assert_eq!((e[2].kind, e[2].counterparty_name.as_deref()), (EntryKind::Return, Some("赵六")));
        assert_eq!((e[3].kind, e[4].kind), (EntryKind::Return, EntryKind::Reversal));
        // A return code alone (no RtrInf) is a return too.
        let s = ok(&doc(&stmt(&ntry("1", "CRDT", &format!("{BOOKED}{}", code("RDDT", "PRDD"))))));
        assert_eq!(s[0].entries[0].kind, EntryKind::Return);
    }

    #[test]
    fn payment_information_ids_reach_customer_ref() {
        let tx = |refs: &str, amt: &str| {
            format!(
                "<TxDtls><Refs>{refs}</Refs><AmtDtls><InstdAmt><Amt Ccy=\"CNY\">{amt}</Amt></InstdAmt></AmtDtls></TxDtls>"
            )
        };
        // Single: PmtInfId when there is no InstrId; with one, PmtInfId stays in the narrative.
        let a = ntry("1", "DBIT", &format!("{BOOKED}<NtryDtls>{}</NtryDtls>", tx("<PmtInfId>PI-1</PmtInfId>", "1")));
        let b = ntry(
            "1",
            "DBIT",
            &format!(
                "{BOOKED}<NtryDtls>{}</NtryDtls><AddtlNtryInf>拨付</AddtlNtryInf>",
                tx("<PmtInfId>PI-2</PmtInfId><InstrId>IN-2</InstrId>", "1")
            ),
        );
        // Batch without Btch: every item keeps its end-to-end id (the payee's voucher) and its
        // instructed amount; the common PmtInfId is the batch's customer reference.
        let c = ntry(
            "3",
            "DBIT",
            &format!(
                "{BOOKED}<NtryDtls>{}{}</NtryDtls>",
                tx("<PmtInfId>DF-9</PmtInfId><EndToEndId>V-1</EndToEndId>", "1"),
                tx("<PmtInfId>DF-9</PmtInfId><EndToEndId>V-2</EndToEndId>", "2")
            ),
        );
        let s = ok(&doc(&stmt(&[a, b, c].concat())));
        let e = &s[0].entries;
        assert_eq!(e[0].customer_ref.as_deref(), Some("PI-1"));
        assert_eq!((e[1].customer_ref.as_deref(), e[1].narrative.as_str()), (Some("IN-2"), "拨付 PI-2"));
        assert_eq!((e[2].kind, e[2].customer_ref.as_deref()), (EntryKind::Batch, Some("DF-9")));
        let items = &e[2].batch.as_ref().unwrap().items;
        let got: Vec<_> = items.iter().map(|i| (i.end_to_end_id.as_deref(), i.amount)).collect();
        assert_eq!(got, [(Some("V-1"), Some(dec!(1))), (Some("V-2"), Some(dec!(2)))]);
    }

    #[test]
    fn encodings() {
        let x = doc(&stmt(&ntry("1", "CRDT", &format!("{BOOKED}<AddtlNtryInf>拨付</AddtlNtryInf>"))));
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(x.as_bytes());
        assert_eq!(parse("t.xml", &bom, &Limits::default()).unwrap()[0].entries[0].narrative, "拨付");
        let gbk = x.replace("<?xml version=\"1.0\"?>", "<?xml version=\"1.0\" encoding=\"GB18030\"?>");
        let (bytes, _, _) = encoding_rs::GB18030.encode(&gbk);
        assert_eq!(parse("t.xml", &bytes, &Limits::default()).unwrap()[0].entries[0].narrative, "拨付");
        // GBK bytes without a declaration are not UTF-8.
        let plain = x.replace("<?xml version=\"1.0\"?>", "");
        let (bytes, _, _) = encoding_rs::GBK.encode(&plain);
        let e = parse("t.xml", &bytes, &Limits::default()).unwrap_err().to_string();
        assert!(e.starts_with("t.xml: invalid UTF-8 at byte") && e.ends_with("so the file must be UTF-8"), "{e}");
        // Declared GBK but broken: a lone lead byte.
        let mut bad = b"<?xml version='1.0' encoding='gbk'?><Document>".to_vec();
        bad.extend_from_slice(b"\x81</Document>");
        let e = parse("t.xml", &bad, &Limits::default()).unwrap_err().to_string();
        assert_eq!(e, "t.xml: the file is not valid GBK although its XML declaration says encoding \"gbk\"");
        let e = parse("t.xml", b"<?xml version=\"1.0\" encoding=\"EBCDIC-X\"?><Document/>", &Limits::default())
            .unwrap_err();
        assert_eq!(e.message, "unsupported encoding \"EBCDIC-X\" in the XML declaration");
        let e = parse("t.xml", b"\xFF\xFE<\0D\0", &Limits::default()).unwrap_err();
        assert!(e.message.starts_with("UTF-16 encoded XML is not supported"));
    }

    #[test]
    fn never_panics_on_damaged_input() {
        let good = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/parse/camt/tc15-v2.xml")).unwrap();
        let limits = Limits::default();
        for end in (0..good.len()).step_by(7) {
            let _ = parse("t.xml", &good[..end], &limits);
        }
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..3000 {
            let mut b = good.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed as usize) % b.len();
                b[i] = [b'<', b'>', b'/', b'&', b'9', b'-', b'"', 0xE4, b' '][(seed >> 32) as usize % 9];
            }
            let _ = parse("t.xml", &b, &limits);
        }
    }

    /// Streaming gives the statements that parsing in memory gives, for every fixture;
    /// errors agree on place and field (malformed-XML positions are byte offsets there).
    #[test]
    fn streaming_equals_in_memory_parsing() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/parse/camt");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "xml") {
                let bytes = std::fs::read(&p).unwrap();
                let whole = parse("f", &bytes, &Limits::default());
                let mut got = Vec::new();
                // A tiny buffer makes quick-xml refill across element boundaries.
                let mut input = std::io::BufReader::with_capacity(7, &bytes[..]);
                let r = stream("f", &mut input, &Limits::default(), &mut |s| {
                    got.push(s);
                    Ok(())
                });
                match (&whole, r) {
                    (Ok(w), Ok(k)) => {
                        assert_eq!(k as usize, w.len(), "{}", p.display());
                        assert_eq!(&got, w, "{}", p.display());
                    }
                    (Err(w), Err(e)) => {
                        assert_eq!((&e.location, &e.field), (&w.location, &w.field), "{}: {e} / {w}", p.display());
                        if !w.message.starts_with("malformed XML") && !w.message.contains("UTF-8") {
                            assert_eq!(e.message, w.message, "{}", p.display());
                        }
                    }
                    (w, r) => panic!("{}: in memory {w:?}, streamed {r:?}", p.display()),
                }
                n += 1;
            }
        }
        assert!(n >= 10, "{n} fixtures");
    }
}
