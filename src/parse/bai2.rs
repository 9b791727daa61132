//! BAI2 (BAI Cash Management Balance Reporting Specifications, version 2).
//!
//! A file is comma-delimited records, one per physical line: `01` file header, `02` group
//! header, `03` account identifier with balance/summary triples, `16` transaction details,
//! `49` account trailer, `98` group trailer, `99` file trailer. An `88` record continues the
//! record before it: its fields are appended to that record's fields (so a summary can start
//! in the `03` and end in an `88`), and once a `16` has reached its text field, every `88`
//! after it is more text. Each `03`…`49` account becomes one [`Statement`].
//!
//! How it reads:
//! - One pass over the decoded text (UTF-8, else GB18030, else Latin-1, as MT940), line by
//!   line; CRLF, LF and CR line ends; blank lines are ignored. Several files `01`…`99` may
//!   follow each other.
//! - A `/` ends a record only at the end of a physical line (trailing blanks ignored), so
//!   references and text may hold `/` (`AB/GS/01`, `2/AV MAIN`). A line without the final
//!   `/` is accepted (several banks omit it): the line end ends the record all the same. A
//!   `/` inside any other field is an error that says records must be one per line (files
//!   that pack `…2/   02,…` on one line are refused, not split by guessing).
//! - The text of a `16` is the rest of its line, commas included, then the text of each `88`
//!   after it, joined by a blank; a line exactly as long as the file's record length (the
//!   `01` field, else 80) that ends in a non-blank was cut mid-word and is glued to the next.
//! - A trailing comma before the final `/` (`015,10000,,,/`) is tolerated in `03` records:
//!   an empty type code that is the last field of its line is not a summary.
//! - Funds types: `0`, `1`, `2`, `Z` or empty have no further fields; `V` has a value date
//!   and time; `S` three amounts (immediate, one-day, two-or-more-day); `D` a count then
//!   that many (days, amount) pairs. They are skipped by count, in `03` summaries and `16`s.
//!
//! Decisions:
//! - Amounts are integers in minor units of the account currency: 2 decimals except the
//!   0-decimal (JPY, KRW…) and 3-decimal (BHD, KWD, OMR, JOD, TND…) currencies of ISO 4217.
//!   A leading `+` is accepted everywhere, a `-` on balances, summaries and trailer totals;
//!   a `-` on a `16` amount is refused: the type code gives the sign, and a signed detail
//!   could mean a debit as well as a correction.
//! - Currency: the `03` field, else the `02` field, else USD (the BAI2 default).
//! - Balances: 010 opening ledger → opening, 015 closing ledger → closing, both dated on the
//!   group's as-of date (BAI2 reports every balance as of that date; the opening ledger is
//!   the balance at the start of that day). Available (040/045), float and total summaries
//!   (100 credits, 400 debits…) are read, checked as numbers and otherwise ignored: they are
//!   not booked balances, and banks report summaries they do not detail.
//! - Details: 100–399 credits (positive), 400–699 debits (negative); the custom range splits
//!   as 900–959 credits and 960–999 debits. 890 (non-monetary information) with amount 0 is
//!   no entry. 001–099 (balances) and 700–889, 891–899 (loan and reserved codes) in a `16`
//!   are refused: their sign is unknown. Booking date = the as-of date; value date = the `V`
//!   funds-type date, else none.
//! - Kinds from the type code (see [`code_kind`]): interest 346/354/355/359/654/659; fees
//!   398/524/564/567/661/698; returns 250/255–257/260/261/266/268/423/550/555–557/560/561/
//!   566/568; reversals 251/252/254/258/395/551/552/554/558/694 (a reversal whose text says
//!   退汇 is a return); any other code is a transfer, refined by the words of the text. The
//!   lists are data (`formats/kinds/entry-kinds.toml`), the decision `statement::decide`.
//! - Trailers are checked whenever the field is present: `49` control total = sum of the
//!   account's `03` amounts (signed) and `16` amounts, `49` record count = records from the
//!   `03` to the `49` with `88`s; `98` = the group's accounts and records (`02` to `98`);
//!   `99` = groups and records (`01` to `99`). A mismatch is an error naming both numbers. An
//!   empty trailer field is not checked. A `98` of only two fields (seen in the wild) is read
//!   as control total and record count. Group status 2 (deletion) is refused.
//! - Statement: account = the `03` account number as written, sequence = the `01` file id,
//!   location = the line of the `03`; an entry's location is the line of its `16`.

use super::text::{self, Lines};
use super::{Limits, Location, ParseError};
use crate::money::{Currency, Money};
use crate::statement::{Balance, Entry, EntryKind, Evidence, Scheme, Statement, decide, kinds};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Parses every account of a BAI2 file (see the module documentation).
pub fn parse(file: &str, bytes: &[u8], limits: &Limits) -> Result<Vec<Statement>, ParseError> {
    let (text, _) = text::decode_checked(bytes, true).map_err(|e| e.into_parse(file))?;
    let mut p = Parser::new(file, limits);
    let mut last = 0;
    for (n, line) in Lines::new(&text) {
        last = n;
        p.line(n, line)?;
    }
    p.finish(last)
}

// ---------------------------------------------------------------------------------------
// Lines and small helpers

/// `"text"` for error messages, cut to about 40 characters.
fn quote(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{:?}...", s.get(..i).unwrap_or("")),
        None => format!("{s:?}"),
    }
}

/// What to add to an error about a field that holds a `/`.
fn slash_hint(s: &str) -> &'static str {
    if s.contains('/') { " (a \"/\" ends a record only at the end of a line: one record per line)" } else { "" }
}

fn location(n: u64) -> String {
    format!("line {n}")
}

fn words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() { None } else { Some(t.to_string()) }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0')))
}

/// `YYMMDD`, years 80-99 are 19xx, 00-79 are 20xx.
fn yymmdd(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 6 {
        return None;
    }
    let yy = digits(&b[0..2])? as i32;
    let year = if yy >= 80 { 1900 + yy } else { 2000 + yy };
    NaiveDate::from_ymd_opt(year, digits(&b[2..4])?, digits(&b[4..6])?)
}

/// `HHMM`, with 2400 and 9999 meaning the end of the day; empty is allowed.
fn valid_time(s: &str) -> bool {
    let b = s.as_bytes();
    s.is_empty()
        || s == "2400"
        || s == "9999"
        || (b.len() == 4 && digits(&b[..2]).is_some_and(|h| h < 24) && digits(&b[2..]).is_some_and(|m| m < 60))
}

/// Most significant digits an amount may have (leading zeros do not count).
const MAX_DIGITS: usize = 18;

/// `[+|-]digits` in minor units; `None` when the field is empty (blanks around are ignored).
fn amount(s: &str) -> Result<Option<i128>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let (neg, body) = match (t.strip_prefix('+'), t.strip_prefix('-')) {
        (Some(b), _) => (false, b),
        (_, Some(b)) => (true, b),
        _ => (false, t),
    };
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "{} is not an amount (an integer in minor units, optionally signed){}",
            quote(s),
            slash_hint(s)
        ));
    }
    let significant = body.trim_start_matches('0');
    if significant.len() > MAX_DIGITS {
        return Err(format!("{} has more than {MAX_DIGITS} digits", quote(s)));
    }
    let v = significant.bytes().fold(0i128, |acc, d| acc * 10 + i128::from(d - b'0'));
    Ok(Some(if neg { -v } else { v }))
}

/// The BAI2 default currency.
fn usd() -> Currency {
    // "USD" is three letters: `parse` cannot fail; the fallback only keeps this panic-free.
    Currency::parse("USD").unwrap_or(Currency::CNY)
}

/// Decimals of the minor unit of a currency (ISO 4217): 0, 3, else 2.
fn minor_digits(c: Currency) -> u32 {
    match c.as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// A count of minor units as a decimal in the currency's major unit: 123456 CNY → 1234.56.
fn major(minor: i128, c: Currency) -> Option<Decimal> {
    Decimal::try_from_i128_with_scale(minor, minor_digits(c)).ok()
}

/// What a detail type code says about the sign of the amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Credit,
    Debit,
    /// 890: non-monetary information.
    Info,
}

fn code_side(code: u32) -> Result<Side, &'static str> {
    match code {
        100..=399 | 900..=959 => Ok(Side::Credit),
        400..=699 | 960..=999 => Ok(Side::Debit),
        890 => Ok(Side::Info),
        0..=99 => Err("is a balance (status) code, not a transaction"),
        700..=799 => Err("is a loan code: its credit/debit side is not known"),
        _ => Err("is a reserved code: its credit/debit side is not known"),
    }
}

/// The entry kind a detail type code states, if it states more than a transfer: the lists
/// `[bai2]` of `formats/kinds/entry-kinds.toml` (BAI2 specification, appendix A).
fn code_kind(code: u32) -> Option<EntryKind> {
    let mut digits = [b'0'; 3];
    let mut v = code;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let code = std::str::from_utf8(&digits).unwrap_or("");
    kinds().code_kind(Scheme::Bai2, code, None)
}

// ---------------------------------------------------------------------------------------
// Records and fields

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    FileHeader,
    GroupHeader,
    Account,
    Detail,
    AccountTrailer,
    Continuation,
    GroupTrailer,
    FileTrailer,
}

impl Code {
    fn parse(s: &str) -> Option<Code> {
        Some(match s {
            "01" => Code::FileHeader,
            "02" => Code::GroupHeader,
            "03" => Code::Account,
            "16" => Code::Detail,
            "49" => Code::AccountTrailer,
            "88" => Code::Continuation,
            "98" => Code::GroupTrailer,
            "99" => Code::FileTrailer,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Code::FileHeader => "01",
            Code::GroupHeader => "02",
            Code::Account => "03",
            Code::Detail => "16",
            Code::AccountTrailer => "49",
            Code::Continuation => "88",
            Code::GroupTrailer => "98",
            Code::FileTrailer => "99",
        }
    }
}

/// One physical record: a record line or one of its `88` continuations.
#[derive(Clone, Copy, Debug)]
struct Seg<'a> {
    line: u64,
    /// The fields after `NN,`, without the final `/` and trailing blanks.
    text: &'a str,
    /// The line was cut at the record length inside a word: its text goes on without a blank.
    glue: bool,
    /// The line ended with the record's `/`.
    slash: bool,
}

/// Reads the fields of a logical record across its physical records.
struct Fields<'r, 'a> {
    segs: &'r [Seg<'a>],
    seg: usize,
    /// Where the next field starts in the current segment; `None` once it is used up.
    pos: Option<usize>,
    /// Line of the last field read (the record's first line before any).
    line: u64,
}

impl<'r, 'a> Fields<'r, 'a> {
    fn new(segs: &'r [Seg<'a>]) -> Self {
        let first = segs.first();
        Fields {
            segs,
            seg: 0,
            pos: first.and_then(|s| if s.text.is_empty() { None } else { Some(0) }),
            line: first.map(|s| s.line).unwrap_or(0),
        }
    }

    /// The next field, `None` at the end of the record.
    fn next(&mut self) -> Option<&'a str> {
        loop {
            let s = self.segs.get(self.seg)?;
            if let Some(p) = self.pos {
                self.line = s.line;
                let rest = s.text.get(p..).unwrap_or("");
                return Some(match rest.find(',') {
                    Some(i) => {
                        self.pos = Some(p + i + 1);
                        rest.get(..i).unwrap_or("")
                    }
                    None => {
                        self.pos = None;
                        rest
                    }
                });
            }
            self.seg += 1;
            self.pos = self.segs.get(self.seg).and_then(|s| if s.text.is_empty() { None } else { Some(0) });
        }
    }

    /// The field just read was the last one of its physical record.
    fn at_line_end(&self) -> bool {
        self.pos.is_none()
    }

    /// Everything left: the rest of the current line as it is, then each following line.
    /// Returns the pieces with their glue flags and their total size in bytes.
    fn rest(&mut self) -> (Vec<(&'a str, bool)>, usize) {
        let mut pieces = Vec::new();
        let mut bytes = 0;
        if let (Some(p), Some(s)) = (self.pos.take(), self.segs.get(self.seg)) {
            let t = s.text.get(p..).unwrap_or("");
            bytes += t.len();
            pieces.push((t, s.glue));
        }
        for s in self.segs.iter().skip(self.seg + 1) {
            bytes += s.text.len();
            pieces.push((s.text, s.glue));
        }
        self.seg = self.segs.len();
        (pieces, bytes)
    }
}

fn join_text(pieces: &[(&str, bool)]) -> String {
    let len = pieces.iter().map(|p| p.0.len() + 1).sum();
    let mut raw = String::with_capacity(len);
    let mut glue = true;
    for &(t, g) in pieces {
        if !glue {
            raw.push(' ');
        }
        raw.push_str(t);
        glue = g;
    }
    words(&raw)
}

// ---------------------------------------------------------------------------------------
// The parser

struct FileCtx {
    line: u64,
    file_id: Option<String>,
    /// Physical record length from the `01` (text lines cut at it are glued).
    record_len: usize,
    records: u64,
    total: i128,
    groups: u64,
}

struct GroupCtx {
    line: u64,
    as_of: NaiveDate,
    currency: Option<Currency>,
    records: u64,
    total: i128,
    accounts: u64,
}

struct AccountCtx {
    line: u64,
    account: String,
    currency: Currency,
    opening: Option<(Balance, u64)>,
    closing: Option<(Balance, u64)>,
    entries: Vec<Entry>,
    records: u64,
    total: i128,
}

struct Parser<'a, 'l> {
    file: &'a str,
    limits: &'l Limits,
    statements: Vec<Statement>,
    /// The record being collected: its code, first line and physical records.
    pending: Option<(Code, u64)>,
    segs: Vec<Seg<'a>>,
    pending_bytes: usize,
    fctx: Option<FileCtx>,
    gctx: Option<GroupCtx>,
    actx: Option<AccountCtx>,
    /// Line of the last `99`, once a file has ended.
    ended_at: Option<u64>,
}

const DEFAULT_RECORD_LEN: usize = 80;

impl<'a, 'l> Parser<'a, 'l> {
    fn new(file: &'a str, limits: &'l Limits) -> Self {
        Parser {
            file,
            limits,
            statements: Vec::new(),
            pending: None,
            segs: Vec::new(),
            pending_bytes: 0,
            fctx: None,
            gctx: None,
            actx: None,
            ended_at: None,
        }
    }

    fn err(&self, line: u64, field: Option<&str>, msg: impl Into<String>) -> ParseError {
        ParseError::new(self.file, Location::Line(line), field, msg)
    }

    fn line(&mut self, n: u64, raw: &'a str) -> Result<(), ParseError> {
        if raw.len() > self.limits.max_line_bytes {
            return Err(self.err(
                n,
                None,
                format!("line is {} bytes, over the limit of {} bytes", raw.len(), self.limits.max_line_bytes),
            ));
        }
        // Trailing blanks, and DOS end-of-file marks.
        let line = raw.trim_end_matches(|c: char| c.is_whitespace() || c == '\u{1a}');
        if line.is_empty() {
            return Ok(());
        }
        let b = line.as_bytes();
        let two_digits = b.len() >= 2 && b[0].is_ascii_digit() && b[1].is_ascii_digit();
        // `NN,fields…`, or a bare `NN` / `NN/` without fields.
        let code = match b.get(2) {
            _ if !two_digits => None,
            None | Some(b',') => Code::parse(line.get(..2).unwrap_or("")),
            Some(b'/') if b.len() == 3 => Code::parse(line.get(..2).unwrap_or("")),
            Some(_) => None,
        };
        let Some(code) = code else {
            let first = line.split(',').next().unwrap_or(line);
            return Err(self.err(
                n,
                Some("record code"),
                format!(
                    "unknown record code {} (a BAI2 record starts with 01, 02, 03, 16, 49, 88, 98 or 99 and a comma)",
                    quote(first)
                ),
            ));
        };
        let (body, slash) = if b.get(2) == Some(&b',') {
            let rest = line.get(3..).unwrap_or("");
            match rest.strip_suffix('/') {
                Some(t) => (t, true),
                None => (rest, false),
            }
        } else {
            ("", b.get(2) == Some(&b'/'))
        };
        let record_len = self.fctx.as_ref().map(|f| f.record_len).unwrap_or(DEFAULT_RECORD_LEN);
        let glue = !slash && raw.len() == line.len() && raw.chars().count() == record_len;
        let seg = Seg { line: n, text: body, glue, slash };
        if code == Code::Continuation {
            let Some((pcode, pline)) = self.pending else {
                return Err(self.err(
                    n,
                    Some("88 continuation"),
                    "88 continuation with no record before it to continue",
                ));
            };
            self.pending_bytes += body.len();
            if self.pending_bytes > self.limits.max_line_bytes {
                return Err(self.err(
                    n,
                    Some("88 continuation"),
                    format!(
                        "record {} of line {pline} with its 88 continuations is over the limit of {} bytes",
                        pcode.as_str(),
                        self.limits.max_line_bytes
                    ),
                ));
            }
            self.segs.push(seg);
            return Ok(());
        }
        self.flush()?;
        self.pending = Some((code, n));
        self.pending_bytes = body.len();
        self.segs.push(seg);
        Ok(())
    }

    /// Handles the record collected so far.
    fn flush(&mut self) -> Result<(), ParseError> {
        let Some((code, line)) = self.pending.take() else {
            return Ok(());
        };
        let segs = std::mem::take(&mut self.segs);
        let r = self.record(code, line, &segs);
        self.segs = segs;
        self.segs.clear();
        r
    }

    fn finish(mut self, last: u64) -> Result<Vec<Statement>, ParseError> {
        self.flush()?;
        if let Some(a) = &self.actx {
            return Err(self.err(
                last,
                Some("49 account trailer"),
                format!(
                    "the file ends inside account {} (03 on line {}): no 49 account trailer",
                    quote(&a.account),
                    a.line
                ),
            ));
        }
        if let Some(g) = &self.gctx {
            return Err(self.err(
                last,
                Some("98 group trailer"),
                format!("the file ends inside the group of line {}: no 98 group trailer", g.line),
            ));
        }
        if let Some(f) = &self.fctx {
            return Err(self.err(
                last,
                Some("99 file trailer"),
                format!("the file ends without its 99 file trailer (01 on line {})", f.line),
            ));
        }
        if self.ended_at.is_none() {
            return Err(ParseError::new(
                self.file,
                Location::File,
                None,
                "no BAI2 file header: the file has no 01 record",
            ));
        }
        Ok(self.statements)
    }

    /// Refuses a record that needs the levels above it open and the levels below closed.
    fn check_place(&self, code: Code, line: u64) -> Result<(), ParseError> {
        let c = code.as_str();
        let needs_file = code != Code::FileHeader;
        let needs_group = matches!(code, Code::Account | Code::Detail | Code::AccountTrailer | Code::GroupTrailer);
        let needs_account = matches!(code, Code::Detail | Code::AccountTrailer);
        if needs_file && self.fctx.is_none() {
            return Err(match self.ended_at {
                Some(at) => {
                    self.err(line, Some("record code"), format!("{c} comes after the 99 file trailer on line {at}"))
                }
                None => self.err(line, Some("record code"), format!("{c} comes before the 01 file header")),
            });
        }
        if needs_group && self.gctx.is_none() {
            return Err(self.err(
                line,
                Some("record code"),
                format!("{c} comes outside a group: no 02 group header before it"),
            ));
        }
        if needs_account && self.actx.is_none() {
            return Err(self.err(
                line,
                Some("record code"),
                format!("{c} comes outside an account: no 03 account identifier before it"),
            ));
        }
        if !needs_account && let Some(a) = &self.actx {
            return Err(self.err(
                line,
                Some("49 account trailer"),
                format!(
                    "{c} comes before the 49 account trailer of account {} (03 on line {})",
                    quote(&a.account),
                    a.line
                ),
            ));
        }
        if !needs_group && let Some(g) = &self.gctx {
            return Err(self.err(
                line,
                Some("98 group trailer"),
                format!("{c} comes before the 98 group trailer of the group on line {}", g.line),
            ));
        }
        if code == Code::FileHeader
            && let Some(f) = &self.fctx
        {
            return Err(self.err(
                line,
                Some("99 file trailer"),
                format!("01 comes before the 99 file trailer of the file on line {}", f.line),
            ));
        }
        Ok(())
    }

    fn record(&mut self, code: Code, line: u64, segs: &[Seg<'a>]) -> Result<(), ParseError> {
        self.check_place(code, line)?;
        let k = segs.len() as u64;
        let mut f = Fields::new(segs);
        match code {
            Code::FileHeader => self.file_header(&mut f, line, k),
            Code::GroupHeader => self.group_header(&mut f, line, k),
            Code::Account => self.account(&mut f, line, k),
            Code::Detail => {
                self.count(k);
                self.detail(&mut f, line)
            }
            Code::AccountTrailer => {
                self.count(k);
                self.account_trailer(&mut f)
            }
            Code::GroupTrailer => {
                self.count(k);
                self.group_trailer(&mut f)
            }
            Code::FileTrailer => {
                self.count(k);
                self.trailer_complete(segs, line)?;
                self.file_trailer(&mut f, line)
            }
            // Continuations never start a record.
            Code::Continuation => Ok(()),
        }
    }

    /// Counts `k` physical records in every open level.
    fn count(&mut self, k: u64) {
        if let Some(f) = self.fctx.as_mut() {
            f.records += k;
        }
        if let Some(g) = self.gctx.as_mut() {
            g.records += k;
        }
        if let Some(a) = self.actx.as_mut() {
            a.records += k;
        }
    }

    // --- 01 -------------------------------------------------------------------------------

    fn file_header(&mut self, f: &mut Fields<'_, 'a>, line: u64, k: u64) -> Result<(), ParseError> {
        let _sender = f.next();
        let _receiver = f.next();
        let date = f.next().unwrap_or("");
        if yymmdd(date.trim()).is_none() {
            return Err(self.err(
                f.line,
                Some("01 creation date"),
                format!("{} is not a date (YYMMDD){}", quote(date), slash_hint(date)),
            ));
        }
        // The creation time is not used, and banks write it as they like (`14:59:35`).
        let _time = f.next();
        let file_id = f.next().and_then(non_empty);
        let len_s = f.next().unwrap_or("").trim();
        let record_len = if len_s.is_empty() {
            DEFAULT_RECORD_LEN
        } else {
            match digits(len_s.as_bytes()) {
                Some(v) => v as usize,
                None => {
                    return Err(self.err(
                        f.line,
                        Some("01 record length"),
                        format!("{} is not a number{}", quote(len_s), slash_hint(len_s)),
                    ));
                }
            }
        };
        let _block_size = f.next();
        match f.next().map(str::trim) {
            Some("2") | Some("02") => {}
            Some(v) => {
                return Err(self.err(
                    f.line,
                    Some("01 version"),
                    format!("version {} is not 2: only BAI version 2 files are read{}", quote(v), slash_hint(v)),
                ));
            }
            None => return Err(self.err(f.line, Some("01 version"), "the file header ends before the version number")),
        }
        self.ended_at = None;
        self.fctx = Some(FileCtx { line, file_id, record_len, records: k, total: 0, groups: 0 });
        Ok(())
    }

    // --- 02 -------------------------------------------------------------------------------

    fn group_header(&mut self, f: &mut Fields<'_, 'a>, line: u64, k: u64) -> Result<(), ParseError> {
        let _receiver = f.next();
        let _originator = f.next();
        let status = f.next().unwrap_or("").trim();
        match status {
            "1" | "3" | "4" => {}
            "2" => {
                return Err(self.err(
                    f.line,
                    Some("02 group status"),
                    "group status 2 (deletion of an earlier group) is not supported: it is no statement",
                ));
            }
            _ => {
                return Err(self.err(
                    f.line,
                    Some("02 group status"),
                    format!(
                        "{} is not a group status (1 update, 3 correction, 4 test){}",
                        quote(status),
                        slash_hint(status)
                    ),
                ));
            }
        }
        let date_s = f.next().unwrap_or("").trim();
        let Some(as_of) = yymmdd(date_s) else {
            return Err(self.err(
                f.line,
                Some("02 as-of date"),
                format!("{} is not a date (YYMMDD){}", quote(date_s), slash_hint(date_s)),
            ));
        };
        let time = f.next().unwrap_or("").trim();
        if !valid_time(time) {
            return Err(self.err(
                f.line,
                Some("02 as-of time"),
                format!("{} is not a time (HHMM, 2400 or 9999){}", quote(time), slash_hint(time)),
            ));
        }
        let currency = self.currency_field(f, "02 currency")?;
        let modifier = f.next().unwrap_or("").trim();
        if !matches!(modifier, "" | "1" | "2" | "3" | "4") {
            return Err(self.err(
                f.line,
                Some("02 as-of-date modifier"),
                format!("{} is not an as-of-date modifier (1 to 4){}", quote(modifier), slash_hint(modifier)),
            ));
        }
        if let Some(fc) = self.fctx.as_mut() {
            fc.records += k;
            fc.groups += 1;
        }
        self.gctx = Some(GroupCtx { line, as_of, currency, records: k, total: 0, accounts: 0 });
        Ok(())
    }

    /// An optional currency field: three upper-case letters or empty.
    fn currency_field(&self, f: &mut Fields<'_, 'a>, field: &str) -> Result<Option<Currency>, ParseError> {
        let s = f.next().unwrap_or("").trim();
        if s.is_empty() {
            return Ok(None);
        }
        match Currency::parse(s).filter(|_| s.bytes().all(|c| c.is_ascii_uppercase())) {
            Some(c) => Ok(Some(c)),
            None => Err(self.err(
                f.line,
                Some(field),
                format!("{} is not a currency code (three capital letters){}", quote(s), slash_hint(s)),
            )),
        }
    }

    // --- funds type -----------------------------------------------------------------------

    /// Reads a funds type and the fields that go with it; returns the `V` value date.
    fn funds(&self, f: &mut Fields<'_, 'a>, rec: &str) -> Result<Option<NaiveDate>, ParseError> {
        let Some(ft) = f.next() else { return Ok(None) };
        let field = |what: &str| format!("{rec} {what}");
        match ft.trim() {
            "" | "0" | "1" | "2" | "Z" => Ok(None),
            "V" => {
                let d = f.next().unwrap_or("").trim();
                let Some(date) = yymmdd(d) else {
                    return Err(self.err(
                        f.line,
                        Some(&field("value date")),
                        format!("{} is not a date (YYMMDD) after funds type V{}", quote(d), slash_hint(d)),
                    ));
                };
                let t = f.next().unwrap_or("").trim();
                if !valid_time(t) {
                    return Err(self.err(
                        f.line,
                        Some(&field("value time")),
                        format!("{} is not a time (HHMM, 2400 or 9999){}", quote(t), slash_hint(t)),
                    ));
                }
                Ok(Some(date))
            }
            "S" => {
                for what in ["immediate availability", "one-day availability", "two-or-more-day availability"] {
                    let a = f.next().unwrap_or("");
                    amount(a).map_err(|m| self.err(f.line, Some(&field(what)), m))?;
                }
                Ok(None)
            }
            "D" => {
                let n_s = f.next().unwrap_or("").trim();
                let Some(n) = digits(n_s.as_bytes()) else {
                    return Err(self.err(
                        f.line,
                        Some(&field("distribution count")),
                        format!(
                            "{} is not the number of distributions after funds type D{}",
                            quote(n_s),
                            slash_hint(n_s)
                        ),
                    ));
                };
                for i in 0..n {
                    let (Some(days), Some(amt)) = (f.next(), f.next()) else {
                        return Err(self.err(
                            f.line,
                            Some(&field("distribution")),
                            format!("the record ends after {i} of its {n} funds-type D distributions"),
                        ));
                    };
                    let days = days.trim();
                    if digits(days.as_bytes()).is_none() {
                        return Err(self.err(
                            f.line,
                            Some(&field("distribution days")),
                            format!("{} is not a number of days{}", quote(days), slash_hint(days)),
                        ));
                    }
                    amount(amt).map_err(|m| self.err(f.line, Some(&field("distribution amount")), m))?;
                }
                Ok(None)
            }
            other => Err(self.err(
                f.line,
                Some(&field("funds type")),
                format!("{} is not a funds type (0, 1, 2, V, S, D or Z){}", quote(other), slash_hint(other)),
            )),
        }
    }

    // --- 03 -------------------------------------------------------------------------------

    fn account(&mut self, f: &mut Fields<'_, 'a>, line: u64, k: u64) -> Result<(), ParseError> {
        if self.statements.len() >= self.limits.max_statements {
            return Err(self.err(
                line,
                Some("03 account"),
                format!("more than {} statements (accounts) in the file", self.limits.max_statements),
            ));
        }
        let acct = f.next().unwrap_or("").trim();
        if acct.is_empty() {
            return Err(self.err(f.line, Some("03 account number"), "account number is empty"));
        }
        let acct = acct.to_string();
        let own = self.currency_field(f, "03 currency")?;
        let Some(g) = self.gctx.as_ref() else {
            return Ok(());
        };
        let as_of = g.as_of;
        // BAI2: without a currency in the 03 or the 02, amounts are in US dollars.
        let currency = own.or(g.currency).unwrap_or_else(usd);
        let mut a = AccountCtx {
            line,
            account: acct,
            currency,
            opening: None,
            closing: None,
            entries: Vec::new(),
            records: 0,
            total: 0,
        };
        while let Some(tc) = f.next() {
            let tc = tc.trim();
            let tc_line = f.line;
            // `015,10000,,,/`: a comma before the final slash, not a summary.
            if tc.is_empty() && f.at_line_end() {
                continue;
            }
            let code = if tc.is_empty() {
                None
            } else {
                match digits(tc.as_bytes()).filter(|_| tc.len() == 3) {
                    Some(c) => Some(c),
                    None => {
                        return Err(self.err(
                            tc_line,
                            Some("03 type code"),
                            format!("{} is not a type code (3 digits){}", quote(tc), slash_hint(tc)),
                        ));
                    }
                }
            };
            let amt_s = f.next().unwrap_or("");
            let amt = amount(amt_s).map_err(|m| self.err(f.line, Some("03 amount"), m))?;
            if code.is_none() && amt.is_some() {
                return Err(self.err(
                    f.line,
                    Some("03 type code"),
                    format!("amount {} has no type code before it", quote(amt_s.trim())),
                ));
            }
            let count = f.next().unwrap_or("").trim();
            if !count.is_empty() && digits(count.as_bytes()).is_none() {
                return Err(self.err(
                    f.line,
                    Some("03 item count"),
                    format!("{} is not an item count{}", quote(count), slash_hint(count)),
                ));
            }
            self.funds(f, "03")?;
            let Some(v) = amt else { continue };
            a.total += v;
            let slot = match code {
                Some(10) => &mut a.opening,
                Some(15) => &mut a.closing,
                _ => continue,
            };
            let what = if code == Some(10) { "010 opening ledger" } else { "015 closing ledger" };
            if let Some((_, at)) = slot {
                let at = *at;
                return Err(self.err(
                    tc_line,
                    Some("03 type code"),
                    format!("second {what} balance (first on line {at})"),
                ));
            }
            let Some(dec) = major(v, currency) else {
                return Err(self.err(tc_line, Some("03 amount"), format!("{} is too large", quote(amt_s))));
            };
            // Both balances are as of the group's as-of date (see the module documentation).
            *slot = Some((Balance { date: as_of, amount: Money::new(dec, currency) }, tc_line));
        }
        if let Some(fc) = self.fctx.as_mut() {
            fc.records += k;
        }
        if let Some(g) = self.gctx.as_mut() {
            g.records += k;
            g.accounts += 1;
        }
        a.records = k;
        self.actx = Some(a);
        Ok(())
    }

    // --- 16 -------------------------------------------------------------------------------

    fn detail(&mut self, f: &mut Fields<'_, 'a>, line: u64) -> Result<(), ParseError> {
        let Some(a) = self.actx.as_ref() else { return Ok(()) };
        if a.entries.len() >= self.limits.max_entries_per_statement {
            return Err(self.err(
                line,
                Some("16 transaction"),
                format!("more than {} entries in one account", self.limits.max_entries_per_statement),
            ));
        }
        let (currency, as_of) = (a.currency, self.gctx.as_ref().map(|g| g.as_of));
        let Some(as_of) = as_of else { return Ok(()) };
        let tc = f.next().unwrap_or("").trim();
        let code = match digits(tc.as_bytes()).filter(|_| tc.len() == 3) {
            Some(c) => c,
            None => {
                return Err(self.err(
                    f.line,
                    Some("16 type code"),
                    format!("{} is not a type code (3 digits){}", quote(tc), slash_hint(tc)),
                ));
            }
        };
        let side =
            code_side(code).map_err(|m| self.err(f.line, Some("16 type code"), format!("type code {tc} {m}")))?;
        let amt_s = f.next().unwrap_or("");
        let amt = match amount(amt_s) {
            Ok(Some(_)) if amt_s.trim().starts_with('-') => {
                return Err(self.err(
                    f.line,
                    Some("16 amount"),
                    format!(
                        "{} has a minus sign: a detail amount is unsigned, its type code {tc} says credit or debit",
                        quote(amt_s.trim())
                    ),
                ));
            }
            Ok(Some(v)) => v,
            Ok(None) => return Err(self.err(f.line, Some("16 amount"), "amount is missing")),
            Err(m) => return Err(self.err(f.line, Some("16 amount"), m)),
        };
        let value_date = self.funds(f, "16")?;
        let bank_ref = f.next().and_then(non_empty);
        let customer_ref = f.next().and_then(non_empty);
        let (pieces, bytes) = f.rest();
        if bytes > self.limits.max_text_bytes {
            return Err(self.err(
                line,
                Some("16 text"),
                format!("text is over the limit of {} bytes", self.limits.max_text_bytes),
            ));
        }
        let narrative = join_text(&pieces);
        let signed = match side {
            Side::Credit => amt,
            Side::Debit => -amt,
            Side::Info => {
                if amt != 0 {
                    return Err(self.err(
                        line,
                        Some("16 amount"),
                        format!("type code 890 (non-monetary information) with amount {}", quote(amt_s.trim())),
                    ));
                }
                return Ok(());
            }
        };
        let Some(dec) = major(signed, currency) else {
            return Err(self.err(line, Some("16 amount"), format!("{} is too large", quote(amt_s))));
        };
        // A reversal code is a reversal mark: with return words in the text it is a return.
        let kind = decide(&Evidence { code: code_kind(code), text: &narrative, ..Evidence::default() });
        let entry = Entry {
            booking_date: as_of,
            value_date,
            amount: Money::new(dec, currency),
            bank_ref,
            customer_ref,
            end_to_end_id: None,
            counterparty_account: None,
            counterparty_name: None,
            counterparty_bank: None,
            narrative,
            kind,
            type_code: Some(tc.to_string()),
            return_reason: None,
            batch: None,
            location: location(line),
        };
        if let Some(a) = self.actx.as_mut() {
            a.total += amt;
            a.entries.push(entry);
        }
        Ok(())
    }

    // --- trailers -------------------------------------------------------------------------

    /// An optional control total field, checked against `want`.
    fn check_total(&self, f: &mut Fields<'_, 'a>, field: &str, want: i128, of: &str) -> Result<(), ParseError> {
        let s = f.next().unwrap_or("");
        match amount(s).map_err(|m| self.err(f.line, Some(field), m))? {
            Some(v) if v != want => Err(self.err(
                f.line,
                Some(field),
                format!("{} does not match {want}, the sum of {of}", quote(s.trim())),
            )),
            _ => Ok(()),
        }
    }

    /// An optional count field, checked against `want`.
    fn check_count(&self, s: Option<&str>, line: u64, field: &str, want: &str, n: u64) -> Result<(), ParseError> {
        let s = s.unwrap_or("").trim();
        if s.is_empty() {
            return Ok(());
        }
        match digits(s.as_bytes()) {
            Some(v) if u64::from(v) == n => Ok(()),
            Some(_) => Err(self.err(line, Some(field), format!("{} does not match {want}", quote(s)))),
            None => Err(self.err(line, Some(field), format!("{} is not a number{}", quote(s), slash_hint(s)))),
        }
    }

    fn account_trailer(&mut self, f: &mut Fields<'_, 'a>) -> Result<(), ParseError> {
        let Some(a) = self.actx.take() else { return Ok(()) };
        let of = format!("the 03 and 16 amounts of account {} (03 on line {})", quote(&a.account), a.line);
        self.check_total(f, "49 control total", a.total, &of)?;
        let n = f.next();
        let want =
            format!("the {} of the account, 03 to 49 with 88s (03 on line {})", plural(a.records, "record"), a.line);
        self.check_count(n, f.line, "49 record count", &want, a.records)?;
        if let Some(g) = self.gctx.as_mut() {
            g.total += a.total;
        }
        self.statements.push(Statement {
            account: a.account,
            currency: a.currency,
            sequence: self.fctx.as_ref().and_then(|fc| fc.file_id.clone()),
            statement_id: None,
            opening: a.opening.map(|o| o.0),
            closing: a.closing.map(|c| c.0),
            entries: a.entries,
            location: location(a.line),
            flags: Vec::new(),
        });
        Ok(())
    }

    fn group_trailer(&mut self, f: &mut Fields<'_, 'a>) -> Result<(), ParseError> {
        let Some(g) = self.gctx.take() else { return Ok(()) };
        let of = format!("the amounts of the group of line {}", g.line);
        self.check_total(f, "98 control total", g.total, &of)?;
        let (b, b_line) = (f.next(), f.line);
        let (c, c_line) = (f.next(), f.line);
        let records =
            format!("the {} of the group, 02 to 98 with 88s (02 on line {})", plural(g.records, "record"), g.line);
        match c {
            Some(c) => {
                let accounts = format!("the {} of the group of line {}", plural(g.accounts, "account"), g.line);
                self.check_count(b, b_line, "98 account count", &accounts, g.accounts)?;
                self.check_count(Some(c), c_line, "98 record count", &records, g.records)?;
            }
            None => {
                // Two fields only: control total and number of records.
                let records = format!("{records} (a 98 of two fields is read as control total and record count)");
                self.check_count(b, b_line, "98 record count", &records, g.records)?;
            }
        }
        if let Some(fc) = self.fctx.as_mut() {
            fc.total += g.total;
        }
        Ok(())
    }

    /// The file ends with its 99 record, so a cut there is the only cut the trailers cannot
    /// show: the 99 must hold its three fields, and an empty last field must be closed by
    /// its `/` (`99,,,/` is a trailer left unchecked; `99,16014155556,1,` is a cut file).
    fn trailer_complete(&self, segs: &[Seg<'a>], line: u64) -> Result<(), ParseError> {
        let fields = segs.iter().map(|s| s.text.matches(',').count() + 1).sum::<usize>();
        let last = segs.last();
        let open_end = last.is_some_and(|s| !s.slash && (s.text.is_empty() || s.text.ends_with(',')));
        if fields < 3 || open_end {
            return Err(self.err(
                line,
                Some("99 file trailer"),
                "the 99 file trailer is incomplete (control total, group count and record count, ended by /): the file is cut off",
            ));
        }
        Ok(())
    }

    fn file_trailer(&mut self, f: &mut Fields<'_, 'a>, line: u64) -> Result<(), ParseError> {
        let Some(fc) = self.fctx.take() else { return Ok(()) };
        let of = format!("the amounts of the file of line {}", fc.line);
        self.check_total(f, "99 control total", fc.total, &of)?;
        let groups = format!("the {} of the file", plural(fc.groups, "group"));
        let (b, b_line) = (f.next(), f.line);
        self.check_count(b, b_line, "99 group count", &groups, fc.groups)?;
        let records = format!("the {} of the file, 01 to 99 with 88s", plural(fc.records, "record"));
        let (c, c_line) = (f.next(), f.line);
        self.check_count(c, c_line, "99 record count", &records, fc.records)?;
        self.ended_at = Some(line);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn parse_str(text: &str) -> Result<Vec<Statement>, ParseError> {
        parse("t.bai2", text.as_bytes(), &Limits::default())
    }

    /// A file around `body` (03 … 49 records) with unchecked (empty) 98/99 trailers.
    fn file(ccy: &str, body: &str) -> String {
        format!("01,BKCHCNBJ,GXSB,240322,0630,F1,,,2/\n02,GXSB,BKCHCNBJ,1,240321,2400,{ccy},2/\n{body}98,,,/\n99,,,/\n")
    }

    fn one(text: &str) -> Statement {
        let mut v = parse_str(text).unwrap();
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    fn err(text: &str) -> String {
        parse("bad.bai2", text.as_bytes(), &Limits::default()).unwrap_err().to_string()
    }

    const TC14: &str = "01,BKCHCNBJ,GXSB,240322,0630,20240322001,,,2/
02,GXSB,BKCHCNBJ,1,240321,2400,CNY,2/
03,450012345678901234,CNY,010,8000000000,,,015,6807077778,,/
16,354,7077778,0,IN24Q1000001,,INTEREST/
16,495,1200000000,0,BK24032100456,20240321-0007,DISBURSEMENT/
49,16014155556,4/
98,16014155556,1,6/
99,16014155556,1,8/
";

    #[test]
    fn tc14() {
        let s = one(TC14);
        assert_eq!(s.account, "450012345678901234");
        assert_eq!(s.currency, Currency::CNY);
        assert_eq!(s.sequence.as_deref(), Some("20240322001"));
        assert_eq!(s.location, "line 3");
        let (o, c) = (s.opening.clone().unwrap(), s.closing.clone().unwrap());
        assert_eq!((o.date, o.amount.amount), (d(2024, 3, 21), dec!(80000000.00)));
        assert_eq!((c.date, c.amount.amount), (d(2024, 3, 21), dec!(68070777.78)));
        assert_eq!(s.entries.len(), 2);
        let (i, x) = (&s.entries[0], &s.entries[1]);
        assert_eq!(
            (i.amount.amount, i.kind, i.booking_date, i.value_date),
            (dec!(70777.78), EntryKind::Interest, d(2024, 3, 21), None)
        );
        assert_eq!((i.bank_ref.as_deref(), i.customer_ref.as_deref()), (Some("IN24Q1000001"), None));
        assert_eq!(
            (i.narrative.as_str(), i.type_code.as_deref(), i.location.as_str()),
            ("INTEREST", Some("354"), "line 4")
        );
        assert_eq!((x.amount.amount, x.kind), (dec!(-12000000.00), EntryKind::Transfer));
        assert_eq!(x.customer_ref.as_deref(), Some("20240321-0007"));
        assert_eq!(o.amount.amount + s.entry_sum().unwrap(), c.amount.amount);
    }

    #[test]
    fn funds_types_skip_their_fields() {
        // V: value date and time; S: three amounts; D: a count and that many pairs.
        let s = one(&file(
            "USD",
            "03,A1,,010,100,,S,1,2,3,015,200,2,V,240320,2400,040,5,,D,2,0,1,1,4,045,7,,Z/
16,195,100,V,240322,,BR1,CR1,TEXT V/
16,195,200,S,50,+100,50,BR2,CR2,TEXT S/
16,495,300,D,3,0,100,1,100,2,100,BR3,,TEXT D/
16,495,400,Z,BR4,CR4,TEXT Z/
16,495,500,,BR5,CR5,TEXT EMPTY/
49,,/
",
        ));
        assert_eq!(s.opening.unwrap().amount.amount, dec!(1.00));
        assert_eq!(s.closing.unwrap().amount.amount, dec!(2.00));
        let got: Vec<_> = s
            .entries
            .iter()
            .map(|e| (e.amount.amount, e.value_date, e.bank_ref.clone().unwrap(), e.narrative.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (dec!(1.00), Some(d(2024, 3, 22)), "BR1".into(), "TEXT V".to_string()),
                (dec!(2.00), None, "BR2".into(), "TEXT S".into()),
                (dec!(-3.00), None, "BR3".into(), "TEXT D".into()),
                (dec!(-4.00), None, "BR4".into(), "TEXT Z".into()),
                (dec!(-5.00), None, "BR5".into(), "TEXT EMPTY".into()),
            ]
        );
        assert_eq!(s.entries[2].customer_ref, None);
    }

    #[test]
    fn continuations_append_fields_and_text() {
        // A summary cut after its type code goes on in the 88; a trailing comma before `/`
        // is no summary; the 16 text takes commas and slashes and goes on in every 88.
        let text = file(
            "CNY",
            "03,4500,CNY,010,100,,,190/
88,500,,,015,300,,,/
88,040,1,,/
16,195,200,,B1,C1,FROM X, ACCOUNT 12/34, REF A/B/
88,SECOND LINE, WITH COMMA
88,/THIRD/
16,191,001,V,240321,,B2,C2/
88,TEXT ONLY IN 88
16,699,1,,,/
88,NO REFS
49,1103,11/
",
        );
        let s = one(&text);
        assert_eq!(s.opening.as_ref().unwrap().amount.amount, dec!(1.00));
        assert_eq!(s.closing.as_ref().unwrap().amount.amount, dec!(3.00));
        let e = &s.entries;
        assert_eq!(e[0].narrative, "FROM X, ACCOUNT 12/34, REF A/B SECOND LINE, WITH COMMA /THIRD");
        assert_eq!((e[0].bank_ref.as_deref(), e[0].customer_ref.as_deref()), (Some("B1"), Some("C1")));
        assert_eq!((e[1].customer_ref.as_deref(), e[1].narrative.as_str()), (Some("C2"), "TEXT ONLY IN 88"));
        assert_eq!((e[1].amount.amount, e[1].value_date), (dec!(0.01), Some(d(2024, 3, 21))));
        assert_eq!((e[2].bank_ref.as_deref(), e[2].narrative.as_str()), (None, "NO REFS"));
        assert_eq!(e[2].location, "line 11");
        // A text line exactly as long as the record length, cut inside a word, is glued.
        let cut = format!("88,{}CLIE", "X".repeat(73));
        assert_eq!(cut.len(), 80);
        let s = one(&file("CNY", &format!("03,A,,/\n16,195,1,,,,/\n{cut}\n88,NT TFR\n49,,/\n")));
        assert_eq!(s.entries[0].narrative, format!("{}CLIENT TFR", "X".repeat(73)));
    }

    #[test]
    fn type_codes_give_sign_and_kind() {
        let cases: [(&str, Decimal, EntryKind); 14] = [
            ("354", dec!(1), EntryKind::Interest),
            ("654", dec!(-1), EntryKind::Interest),
            ("195", dec!(1), EntryKind::Transfer),
            ("495", dec!(-1), EntryKind::Transfer),
            ("698", dec!(-1), EntryKind::Fee),
            ("661", dec!(-1), EntryKind::Fee),
            ("555", dec!(-1), EntryKind::Return),
            ("266", dec!(1), EntryKind::Return),
            ("557", dec!(-1), EntryKind::Return),
            ("552", dec!(-1), EntryKind::Reversal),
            ("252", dec!(1), EntryKind::Reversal),
            ("901", dec!(1), EntryKind::Transfer),
            ("959", dec!(1), EntryKind::Transfer),
            ("960", dec!(-1), EntryKind::Transfer),
        ];
        for (code, sign, kind) in cases {
            let s = one(&file("CNY", &format!("03,A,,/\n16,{code},100,,,,X/\n49,,/\n")));
            let e = &s.entries[0];
            assert_eq!((e.amount.amount, e.kind), (sign, kind), "{code}");
        }
        // The text refines a transfer, never a code that says more.
        let s = one(&file("CNY", "03,A,,/\n16,195,100,,,,退汇 原凭证 V1/\n16,354,1,,,,手续费/\n49,,/\n"));
        assert_eq!((s.entries[0].kind, s.entries[1].kind), (EntryKind::Return, EntryKind::Interest));
        // 890 (non-monetary information) of amount 0 is no entry.
        let s = one(&file("CNY", "03,A,,/\n16,890,0,,,,NOTE/\n49,,/\n"));
        assert!(s.entries.is_empty());
        for (code, why) in
            [("015", "is a balance (status) code"), ("720", "is a loan code"), ("850", "is a reserved code")]
        {
            let e = err(&file("CNY", &format!("03,A,,/\n16,{code},1,,,,X/\n49,,/\n")));
            assert!(e.starts_with(&format!("bad.bai2:4: field 16 type code: type code {code} {why}")), "{e}");
        }
    }

    #[test]
    fn minor_units_per_currency() {
        let body = "03,A,{C},010,123456,,/\n16,195,1000,,,,X/\n49,,/\n";
        for (group, own, want_ccy, bal, amt) in [
            ("CNY", "", "CNY", dec!(1234.56), dec!(10.00)),
            ("CNY", "JPY", "JPY", dec!(123456), dec!(1000)),
            ("", "KRW", "KRW", dec!(123456), dec!(1000)),
            ("USD", "KWD", "KWD", dec!(123.456), dec!(1.000)),
            ("BHD", "", "BHD", dec!(123.456), dec!(1.000)),
            ("", "", "USD", dec!(1234.56), dec!(10.00)),
        ] {
            let s = one(&file(group, &body.replace("{C}", own)));
            assert_eq!(s.currency.as_str(), want_ccy);
            assert_eq!(s.opening.unwrap().amount, Money::new(bal, s.currency));
            assert_eq!(s.entries[0].amount, Money::new(amt, s.currency));
        }
        assert_eq!(amount("+00000000000834000"), Ok(Some(834000)));
        assert_eq!(amount("-5"), Ok(Some(-5)));
        assert_eq!(amount(" "), Ok(None));
        assert!(amount("1.00").is_err());
        assert!(amount("--1").is_err());
        assert!(amount("+").is_err());
        assert!(amount("1234567890123456789").unwrap_err().contains("more than 18 digits"));
        // Leading zeros do not count (sample banks pad to 17 digits and more).
        assert_eq!(amount("000000000000123456789012345678"), Ok(Some(123456789012345678)));
    }

    #[test]
    fn line_ends_missing_slashes_and_several_files() {
        let crlf = TC14.replace('\n', "\r\n");
        assert_eq!(one(&crlf).entries.len(), 2);
        let cr = TC14.replace('\n', "\r");
        assert_eq!(one(&cr).entries[1].narrative, "DISBURSEMENT");
        let no_slash = TC14.replace("/\n", "\n");
        let s = one(&no_slash);
        assert_eq!(
            (s.entries[0].narrative.as_str(), s.closing.unwrap().amount.amount),
            ("INTEREST", dec!(68070777.78))
        );
        let blanks = TC14.replace('\n', "\n\n  \n");
        assert_eq!(one(&blanks).entries.len(), 2);
        let two = format!("{TC14}{}", TC14.replace("20240322001", "20240322002"));
        let v = parse_str(&two).unwrap();
        assert_eq!((v.len(), v[1].sequence.as_deref(), v[1].location.as_str()), (2, Some("20240322002"), "line 11"));
    }

    #[test]
    fn trailers() {
        // Empty trailer fields are not checked; a 98 of two fields is total and records.
        let s = one(&TC14.replace("98,16014155556,1,6/", "98,16014155556,6/"));
        assert_eq!(s.entries.len(), 2);
        let e = err(&TC14.replace("98,16014155556,1,6/", "98,16014155556,1/"));
        assert_eq!(
            e,
            "bad.bai2:7: field 98 record count: \"1\" does not match the 6 records of the group, 02 to 98 with 88s (02 on line 2) (a 98 of two fields is read as control total and record count)"
        );
        let e = err(&TC14.replace("49,16014155556,4/", "49,16014155557,4/"));
        assert_eq!(
            e,
            "bad.bai2:6: field 49 control total: \"16014155557\" does not match 16014155556, the sum of the 03 and 16 amounts of account \"450012345678901234\" (03 on line 3)"
        );
        let e = err(&TC14.replace("49,16014155556,4/", "49,16014155556,5/"));
        assert_eq!(
            e,
            "bad.bai2:6: field 49 record count: \"5\" does not match the 4 records of the account, 03 to 49 with 88s (03 on line 3)"
        );
        let e = err(&TC14.replace("98,16014155556,1,6/", "98,16014155556,2,6/"));
        assert_eq!(e, "bad.bai2:7: field 98 account count: \"2\" does not match the 1 account of the group of line 2");
        let e = err(&TC14.replace("99,16014155556,1,8/", "99,-16014155556,1,8/"));
        assert_eq!(
            e,
            "bad.bai2:8: field 99 control total: \"-16014155556\" does not match 16014155556, the sum of the amounts of the file of line 1"
        );
        let e = err(&TC14.replace("99,16014155556,1,8/", "99,16014155556,1,9/"));
        assert_eq!(
            e,
            "bad.bai2:8: field 99 record count: \"9\" does not match the 8 records of the file, 01 to 99 with 88s"
        );
        let e = err(&TC14.replace("99,16014155556,1,8/", "99,16014155556,2,8/"));
        assert_eq!(e, "bad.bai2:8: field 99 group count: \"2\" does not match the 1 group of the file");
    }

    #[test]
    fn error_texts() {
        let e = err("00,0004,1/2/345,06/0321,0829,001,80,1,2/\n");
        assert_eq!(
            e,
            "bad.bai2:1: field record code: unknown record code \"00\" (a BAI2 record starts with 01, 02, 03, 16, 49, 88, 98 or 99 and a comma)"
        );
        let e = err(&TC14.replace("16,354", "17,354"));
        assert!(e.starts_with("bad.bai2:4: field record code: unknown record code \"17\""), "{e}");
        let e = err("02,GXSB,BKCHCNBJ,1,240321,2400,CNY,2/\n");
        assert_eq!(e, "bad.bai2:1: field record code: 02 comes before the 01 file header");
        let e = err("88,TEXT\n");
        assert_eq!(e, "bad.bai2:1: field 88 continuation: 88 continuation with no record before it to continue");
        let e = err(&TC14.replace("16,495,1200000000", "16,495,12000000O0"));
        assert_eq!(
            e,
            "bad.bai2:5: field 16 amount: \"12000000O0\" is not an amount (an integer in minor units, optionally signed)"
        );
        let e = err(&TC14.replace("16,495,1200000000", "16,495,-1200000000"));
        assert_eq!(
            e,
            "bad.bai2:5: field 16 amount: \"-1200000000\" has a minus sign: a detail amount is unsigned, its type code 495 says credit or debit"
        );
        let e = err(&TC14.replace("1,240321,2400", "1,240230,2400"));
        assert_eq!(e, "bad.bai2:2: field 02 as-of date: \"240230\" is not a date (YYMMDD)");
        let e = err(&TC14.replace("1,240321,2400", "1,240321,2460"));
        assert_eq!(e, "bad.bai2:2: field 02 as-of time: \"2460\" is not a time (HHMM, 2400 or 9999)");
        let e = err(&TC14.replace("99,16014155556,1,8/\n", ""));
        assert_eq!(e, "bad.bai2:7: field 99 file trailer: the file ends without its 99 file trailer (01 on line 1)");
        let e = err(&TC14.replace("49,16014155556,4/\n", ""));
        assert_eq!(
            e,
            "bad.bai2:6: field 49 account trailer: 98 comes before the 49 account trailer of account \"450012345678901234\" (03 on line 3)"
        );
        let e = err(&TC14.replace("98,16014155556,1,6/\n99,16014155556,1,8/\n", ""));
        assert_eq!(
            e,
            "bad.bai2:6: field 98 group trailer: the file ends inside the group of line 2: no 98 group trailer"
        );
        let e = err(&format!("{TC14}16,195,1,,,,X/\n"));
        assert_eq!(e, "bad.bai2:9: field record code: 16 comes after the 99 file trailer on line 8");
        let e = err(&TC14.replace("16,354,7077778,0,", "16,354,7077778,X,"));
        assert_eq!(e, "bad.bai2:4: field 16 funds type: \"X\" is not a funds type (0, 1, 2, V, S, D or Z)");
        let e = err(&TC14.replace("16,354,7077778,0,", "16,354,7077778,D,2,0,1,"));
        assert_eq!(e, "bad.bai2:4: field 16 distribution days: \"IN24Q1000001\" is not a number of days");
        let e = err(&file("CNY", "03,A,,/\n16,195,1,D,3,0,1/\n49,,/\n"));
        assert_eq!(e, "bad.bai2:4: field 16 distribution: the record ends after 1 of its 3 funds-type D distributions");
        let e = err(&TC14.replace("16,354,7077778,0,", "16,354,7077778,V,240399,,"));
        assert_eq!(e, "bad.bai2:4: field 16 value date: \"240399\" is not a date (YYMMDD) after funds type V");
        let e = err(&TC14.replace("CNY,010", "cny,010"));
        assert_eq!(e, "bad.bai2:3: field 03 currency: \"cny\" is not a currency code (three capital letters)");
        let e = err(&TC14.replace("CNY,010,8000000000,,,015", "CNY,010,8000000000,,,010"));
        assert_eq!(e, "bad.bai2:3: field 03 type code: second 010 opening ledger balance (first on line 3)");
        // Records packed on one line: the `/` inside a field is named.
        let e = err(&TC14.replace("2/\n02,", "2/   02,"));
        assert_eq!(
            e,
            "bad.bai2:1: field 01 version: version \"2/   02\" is not 2: only BAI version 2 files are read (a \"/\" ends a record only at the end of a line: one record per line)"
        );
        let e = err(&TC14.replace(",2400,CNY,2/", ",2400,CNY,2/ 03,X/"));
        assert!(e.starts_with("bad.bai2:2: field 02 as-of-date modifier: \"2/ 03\""), "{e}");
        let e = err(&TC14.replace("1,240321", "2,240321"));
        assert!(e.starts_with("bad.bai2:2: field 02 group status: group status 2 (deletion"), "{e}");
        let e = err("");
        assert_eq!(e, "bad.bai2: no BAI2 file header: the file has no 01 record");
        let long = "9".repeat(60);
        let e = err(&TC14.replace("16,495,1200000000", &format!("16,495,{long}")));
        assert!(e.contains(&format!("{:?}...", &long[..40])), "{e}");
    }

    #[test]
    fn limits() {
        let small = Limits { max_line_bytes: 60, ..Limits::default() };
        let e = parse("l.bai2", TC14.as_bytes(), &small).unwrap_err().to_string();
        assert_eq!(e, "l.bai2:5: line is 61 bytes, over the limit of 60 bytes");
        let small = Limits { max_entries_per_statement: 1, ..Limits::default() };
        let e = parse("l.bai2", TC14.as_bytes(), &small).unwrap_err().to_string();
        assert_eq!(e, "l.bai2:5: field 16 transaction: more than 1 entries in one account");
        let small = Limits { max_text_bytes: 19, ..Limits::default() };
        let text = file("CNY", "03,A,,/\n16,195,1,,,,0123456789/\n88,0123456789\n49,,/\n");
        let e = parse("l.bai2", text.as_bytes(), &small).unwrap_err().to_string();
        assert_eq!(e, "l.bai2:4: field 16 text: text is over the limit of 19 bytes");
        let small = Limits { max_statements: 1, ..Limits::default() };
        let text = file("CNY", "03,A,,/\n49,,/\n03,B,,/\n49,,/\n");
        let e = parse("l.bai2", text.as_bytes(), &small).unwrap_err().to_string();
        assert_eq!(e, "l.bai2:5: field 03 account: more than 1 statements (accounts) in the file");
        let small = Limits { max_line_bytes: 30, ..Limits::default() };
        let text = format!(
            "01,A,B,240322,0630,1,,,2/\n02,A,B,1,240321,,,/\n03,A,,/\n{}",
            "88,0123456789012345678/\n".repeat(3)
        );
        let e = parse("l.bai2", text.as_bytes(), &small).unwrap_err().to_string();
        assert_eq!(
            e,
            "l.bai2:5: field 88 continuation: record 03 of line 3 with its 88 continuations is over the limit of 30 bytes"
        );
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        let samples: [&[u8]; 14] = [
            b"",
            b"0",
            b"01",
            b"01,",
            b"01/",
            b"88",
            b"01,a,b,240322,0630,1,,,2/\n02,,,1,240321\n03\n16\n49/\n98\n99",
            b"01,a,b,240322,0630,1,,,2/\n02,,,1,240321,,,/\n03,A,,010,\n88,\n88,/\n16,999,1,D,999999999,",
            b"01,a,b,240322,0630,1,,,2/\n02,,,1,240321,,,/\n03,A,,/\n16,195,1,V\n16,195,1,S,1\n",
            b"01,a,b,240322,0630,1,,,2/\n02,,,1,240321,,,/\n03,A,,/\n16,195,99999999999999999999999999999999",
            b"01,a,b,240322,0630,1,,,2/\n02,,,1,240321,,,/\n03,A,,/\n16,195,1,,,,\xe6\x8b\xa8\xff\n",
            b"\xef\xbb\xbf01,a,b,240322,0630,1,,,2/\r\n\x1a",
            b"01,a,b,240322,0630,1,,,2/\n02,,,1,240321,,,/\n03,A,,010,999999999999999999,,,010\n",
            b"01,a,b,240322,0630,1,,,2/\n02,,,1,240321,,JPY,/\n03,A,,010,-999999999999999999,,,/\n49,,/\n98,,,/\n99,,,/",
        ];
        for s in samples {
            let _ = parse("f.bai2", s, &Limits::default());
        }
        for i in 0..=TC14.len() {
            let _ = parse("f.bai2", &TC14.as_bytes()[..i], &Limits::default());
        }
    }
}
