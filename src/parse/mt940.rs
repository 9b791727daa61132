//! SWIFT MT940 (customer statement) and MT942 (interim transaction report).
//!
//! One pass over the decoded text, line by line. A line that starts a tag (`:NN:`, `:NNA:` or
//! the German `:NS:`) starts a field; any other line continues the field before it, so a colon
//! inside `:86:` text never starts a field. Fields are handed to a small statement builder as
//! soon as the next field starts, so no field text is copied before it is understood.
//!
//! Accepted layouts: with or without the SWIFT envelope (`{1:…}{2:…}{4:` … `-}`), several
//! messages and statements per file, `-` separators, CRLF / LF / CR line ends, blank lines,
//! stray SOH/ETX/SUB control bytes around messages. Dialects seen at real banks that are
//! accepted because they cannot be misread: a funds-code letter after the mark, a `:61:`
//! with no transaction type when `//bank ref` follows the amount directly, extra `:61:`
//! continuation lines (all kept as supplementary details), repeated `:86:` after one `:61:`,
//! `:NS:` fields (ignored), unknown tag-looking lines inside `:86:` text (`…T13` / `:12:11`).
//!
//! `:86:` text: the German GVC layout (`?20`…, SEPA `EREF+`/`KREF+`/`SVWZ+`…) and the Dutch /
//! SEPA `/CODE/value` layout (`DUTCH_CODES`, from the banks' guides) are read into the
//! end-to-end id, the owner's reference (`/PREF/`, `/KREF/`, `KREF+` fill an empty `:61:`
//! reference, else stay in the narrative), the return reason and the counterparty (the
//! beneficiary of money out, the ordering party of money in, whether named directly after
//! `/BENM/`/`/ORDP/` or in `//NAME/` sub-fields); an unknown code stays text. An account-shaped
//! word of the `:61:` supplementary details is the counterparty account when `:86:` gave none.
//! The kind comes from `statement::decide` (mark, type code, return reason, text).
//!
//! Refused, naming line and field: impossible dates, amounts that are not `15d` with a comma
//! (a dot is never guessed to be a decimal point), currencies that differ within a statement,
//! statements without `:25:`, repeated `:25:`/`:60:`/`:62:`, `:60:` after entries, content
//! before any `:20:`, unknown tags, and every bound of [`Limits`].

use super::text::{self, Lines};
use super::{Limits, Location, ParseError};
use crate::money::{Currency, Money};
use crate::statement::{Balance, Entry, EntryKind, Evidence, Scheme, Statement, decide, kinds};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

/// Parses every statement of an MT940/MT942 file.
pub fn parse(file: &str, bytes: &[u8], limits: &Limits) -> Result<Vec<Statement>, ParseError> {
    let mut out = Vec::new();
    let mut seen = 0usize;
    let mut env = Envelope::default();
    chunk(file, bytes, 0, 0, limits, &mut seen, &mut env, &mut |s| {
        out.push(s);
        Ok(())
    })?;
    file_end(file, seen, &env)?;
    Ok(out)
}

/// The SWIFT envelope state carried from one streamed piece to the next.
#[derive(Clone, Copy, Debug, Default)]
struct Envelope {
    /// The line of the open `{4:` block, until its `-}`.
    open_at: Option<u64>,
    /// The message's application header says MT942 (`{2:O942…`/`{2:I942…`).
    mt942: bool,
    /// The encoding of the first piece with non-ASCII text, and its first line: a streamed
    /// file's later pieces must be in the same one.
    text: Option<(text::Encoding, u64)>,
}

/// At the end of the file: a statement was read, and no message was left open (a file
/// that opened `{4:` and never wrote `-}` is cut off).
fn file_end(file: &str, seen: usize, env: &Envelope) -> Result<(), ParseError> {
    if let Some(at) = env.open_at {
        return Err(ParseError::new(
            file,
            Location::Line(at),
            Some("{4: block"),
            format!("the file ends inside the message opened on line {at} (no closing -}}): the file is cut off"),
        ));
    }
    no_statement_is_an_error(file, seen)
}

fn no_statement_is_an_error(file: &str, seen: usize) -> Result<(), ParseError> {
    if seen == 0 {
        return Err(ParseError::new(
            file,
            Location::File,
            None,
            "no MT940/MT942 statement in the file (no :20: field)",
        ));
    }
    Ok(())
}

/// Parses one piece of a file that starts at a statement boundary (or the file's start)
/// and ends before one (or at the file's end); `line_base` lines came before it.
#[allow(clippy::too_many_arguments)]
fn chunk(
    file: &str,
    bytes: &[u8],
    line_base: u64,
    byte_base: u64,
    limits: &Limits,
    seen: &mut usize,
    env: &mut Envelope,
    sink: &mut dyn FnMut(Statement) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let (text, enc) = text::decode_at(bytes, true, byte_base as usize, line_base).map_err(|e| e.into_parse(file))?;
    if let Some(i) = bytes.iter().position(|b| !b.is_ascii()) {
        let line = line_base + text::line_of(bytes, i);
        match env.text {
            None => env.text = Some((enc, line)),
            Some((first, at)) if first != enc => {
                return Err(ParseError::new(
                    file,
                    Location::Line(line),
                    None,
                    format!(
                        "mixed encodings: line {at} is {first:?}, line {line} is {enc:?}: re-export the file in one encoding"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let mut p = Parser::new(file, limits);
    p.before = *seen;
    p.env = *env;
    for (n, line) in Lines::new(&text) {
        p.line(line_base + n, line)?;
    }
    *env = p.env;
    let stmts = p.finish()?;
    *seen += stmts.len();
    stmts.into_iter().try_for_each(sink)
}

/// Streams a file of any size in memory bounded by its largest statement: lines are read
/// into a piece until it holds at least [`PIECE_BYTES`], then the piece is cut before the
/// next line that starts a statement (`:20:`) or a message (`{1:`), parsed, and its
/// statements handed to `sink` in file order. Errors name the same lines as [`parse`].
/// (A file whose lines end in a lone CR is one line to the reader, so it is read whole.)
pub fn stream(
    file: &str,
    reader: &mut dyn std::io::BufRead,
    limits: &Limits,
    sink: &mut dyn FnMut(Statement) -> Result<(), ParseError>,
) -> Result<u64, ParseError> {
    stream_pieces(file, reader, limits, PIECE_BYTES, sink)
}

fn stream_pieces(
    file: &str,
    reader: &mut dyn std::io::BufRead,
    limits: &Limits,
    piece_bytes: usize,
    sink: &mut dyn FnMut(Statement) -> Result<(), ParseError>,
) -> Result<u64, ParseError> {
    let io = |e: std::io::Error| ParseError::new(file, Location::File, None, format!("cannot read: {e}"));
    let (mut piece, mut line) = (Vec::with_capacity(piece_bytes.min(PIECE_BYTES) + (64 << 10)), Vec::new());
    let (mut piece_lines, mut base, mut seen, mut total) = (0u64, 0u64, 0usize, 0u64);
    let mut env = Envelope::default();
    let mut byte_base = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(io)?;
        total += n as u64;
        if total > limits.max_file_bytes {
            return Err(ParseError::new(
                file,
                Location::File,
                None,
                format!("file is over the limit of {} bytes", limits.max_file_bytes),
            ));
        }
        let starts_statement = {
            let l = line.iter().position(|b| !matches!(b, 0x01 | 0x03 | 0x1A)).map_or(&line[..0], |i| &line[i..]);
            l.starts_with(b":20:") || l.starts_with(b"{1:")
        };
        if n == 0 || (piece.len() >= piece_bytes && starts_statement) {
            chunk(file, &piece, base, byte_base, limits, &mut seen, &mut env, sink)?;
            base += piece_lines;
            byte_base += piece.len() as u64;
            piece.clear();
            piece_lines = 0;
            if n == 0 {
                break;
            }
        }
        piece.extend_from_slice(&line);
        piece_lines += 1 + line.iter().filter(|&&b| b == b'\r').count() as u64 - u64::from(line.ends_with(b"\r\n"));
    }
    file_end(file, seen, &env)?;
    Ok(seen as u64)
}

/// How much text a streamed piece holds before it is cut at the next statement.
pub const PIECE_BYTES: usize = 4 << 20;

// ---------------------------------------------------------------------------------------
// Lines

/// SOH, ETX and SUB wrap messages in some bank files (`\x01` … `-\x03`, DOS `^Z`).
fn is_wrapper(c: char) -> bool {
    matches!(c, '\u{1}' | '\u{3}' | '\u{1a}')
}

fn strip_wrappers(s: &str) -> &str {
    let b = s.as_bytes();
    let wrapper = |c: &u8| matches!(c, 0x01 | 0x03 | 0x1a);
    if b.first().is_some_and(wrapper) || b.last().is_some_and(wrapper) { s.trim_matches(is_wrapper) } else { s }
}

/// `{1:`, `{4:`, `{5:`, `{S:`: a SWIFT envelope block (a `{` in text is text).
fn is_block_start(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() >= 3 && b[0] == b'{' && b[1].is_ascii_alphanumeric() && b[2] == b':'
}

/// The tag at the start of a line: `:28C:xyz` → (`:28C:`, `xyz`); also the German `:NS:`.
fn tag_of(line: &str) -> Option<(&str, &str)> {
    let b = line.as_bytes();
    if b.len() < 4 || b[0] != b':' {
        return None;
    }
    let len = if b[1].is_ascii_digit() && b[2].is_ascii_digit() {
        if b[3] == b':' {
            4
        } else if b[3].is_ascii_uppercase() && b.get(4) == Some(&b':') {
            5
        } else {
            return None;
        }
    } else if b.starts_with(b":NS:") {
        4
    } else {
        return None;
    };
    // All ASCII up to `len`: both slices start at char boundaries.
    Some((line.get(..len)?, line.get(len..)?))
}

/// What follows a pending `-` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// `:20:`, an envelope block, another `-`.
    Boundary,
    /// Any other tag.
    Tag,
    /// A line that is no tag.
    Text,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Ref20,
    Related21,
    Account25,
    Sequence28,
    Opening60,
    Closing62,
    Available6x,
    Line61,
    Info86,
    Floor34,
    DateTime13,
    Total90,
    NonStandard,
    Unknown,
}

fn tag_kind(tag: &str) -> Tag {
    match tag.get(1..tag.len() - 1).unwrap_or("") {
        "20" => Tag::Ref20,
        "21" => Tag::Related21,
        "25" | "25P" => Tag::Account25,
        "28" | "28C" => Tag::Sequence28,
        "60F" | "60M" => Tag::Opening60,
        "62F" | "62M" => Tag::Closing62,
        // `:65F:` is not SWIFT but some German bank software writes it.
        "64" | "65" | "64F" | "65F" => Tag::Available6x,
        "61" => Tag::Line61,
        "86" => Tag::Info86,
        "34F" => Tag::Floor34,
        "13" | "13D" => Tag::DateTime13,
        "90D" | "90C" => Tag::Total90,
        "NS" => Tag::NonStandard,
        _ => Tag::Unknown,
    }
}

// ---------------------------------------------------------------------------------------
// Small helpers

/// `"text"` for error messages, cut to about 40 characters.
fn quote(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{:?}...", s.get(..i).unwrap_or("")),
        None => format!("{s:?}"),
    }
}

/// Bytes that may start a whitespace character: ASCII blanks, and the lead bytes of the
/// multi-byte Unicode blanks (U+0085, U+00A0: C2; U+1680: E1; U+2000…U+205F: E2; U+3000: E3).
const MAY_BE_BLANK: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = matches!(i, 0x09..=0x0d | 0x20 | 0xC2 | 0xE1 | 0xE2 | 0xE3);
        i += 1;
    }
    t
};

/// Byte length of the whitespace character at `i` (as `char::is_whitespace`), or 0.
#[inline]
fn blank_at(s: &str, i: usize) -> usize {
    match s.as_bytes().get(i) {
        Some(&c) if MAY_BE_BLANK[usize::from(c)] => {
            if c < 0x80 {
                return 1;
            }
            match s.get(i..).and_then(|r| r.chars().next()) {
                Some(ch) if ch.is_whitespace() => ch.len_utf8(),
                _ => 0,
            }
        }
        _ => 0,
    }
}

/// Appends the whitespace-separated words of `s` to `out`, single spaces between words.
/// Same words as `str::split_whitespace`, without decoding ASCII or CJK text.
fn push_words(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let mut i = 0;
    let mut word: Option<usize> = None;
    while i < b.len() {
        let w = if MAY_BE_BLANK[usize::from(b[i])] { blank_at(s, i) } else { 0 };
        if w == 0 {
            word.get_or_insert(i);
            i += 1;
            continue;
        }
        if let Some(start) = word.take() {
            push_word(out, s, start, i);
        }
        i += w;
    }
    if let Some(start) = word {
        push_word(out, s, start, b.len());
    }
}

fn push_word(out: &mut String, s: &str, start: usize, end: usize) {
    if !out.is_empty() {
        out.push(' ');
    }
    // A word starts after a blank and ends where one starts: char boundaries both.
    out.push_str(s.get(start..end).unwrap_or(""));
}

/// `line 17`, without the formatting machinery (one per entry).
fn location(n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    let mut v = n;
    loop {
        k -= 1;
        digits[k] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let mut s = String::with_capacity(5 + digits.len() - k);
    s.push_str("line ");
    for &d in &digits[k..] {
        s.push(char::from(d));
    }
    s
}

fn words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_words(&mut out, s);
    out
}

fn non_empty(s: &str) -> Option<String> {
    let w = words(s);
    if w.is_empty() { None } else { Some(w) }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
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

/// The booking date of a `:61:` entry date `MMDD`: the year that puts it closest to the value
/// date (value 251231 + entry 0102 → 2026-01-02; value 260102 + entry 1231 → 2025-12-31).
fn entry_date(value: NaiveDate, mmdd: &[u8]) -> Option<NaiveDate> {
    let (m, d) = (digits(mmdd.get(0..2)?)?, digits(mmdd.get(2..4)?)?);
    [value.year(), value.year() - 1, value.year() + 1]
        .into_iter()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, m, d))
        .min_by_key(|c| (*c - value).num_days().abs())
}

/// SWIFT `15d`: digits with one decimal comma (`1000,`, `0,5`, at least one digit before
/// the comma). Digits alone (`500`, Knab, mBank) are whole units: nothing there can be
/// misread. A dot is refused: `1.000` could be one or a thousand. At most 15 significant
/// digits (leading zeros do not count: Rabobank pads to 15 digits plus the comma).
fn amount(s: &str) -> Result<Decimal, String> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err("amount is missing".into());
    }
    let comma = b.iter().position(|&c| c == b',');
    let valid = b.iter().all(|&c| c.is_ascii_digit() || c == b',')
        && match comma {
            Some(i) => i > 0 && b[i + 1..].iter().all(u8::is_ascii_digit),
            None => true,
        };
    if !valid {
        let why = if comma.is_none() && b.iter().all(|&c| c.is_ascii_digit() || c == b'.') {
            " (MT940 amounts have a decimal comma, not a dot)"
        } else {
            ""
        };
        return Err(format!("{} is not an amount{why}", quote(s)));
    }
    let significant = b.iter().skip_while(|&&c| c == b'0' || c == b',').filter(|c| c.is_ascii_digit()).count();
    if significant > 15 {
        return Err(format!("{} has more than 15 digits", quote(s)));
    }
    let mut mantissa: i64 = 0;
    let mut scale = 0u32;
    let mut after = false;
    for &c in b {
        if c == b',' {
            after = true;
            continue;
        }
        // At most 15 significant digits: cannot overflow i64; checked anyway.
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i64::from(c - b'0')))
            .ok_or_else(|| format!("{} is too large", quote(s)))?;
        if after {
            scale += 1;
        }
    }
    if scale > 28 {
        return Err(format!("{} has too many decimals", quote(s)));
    }
    Ok(Decimal::new(mantissa, scale))
}

// ---------------------------------------------------------------------------------------
// `:86:` information to account owner

/// One party named in `:86:` (beneficiary, ordering party, or the counterparty of a layout
/// that does not say which).
#[derive(Default, Debug, PartialEq, Eq, Clone)]
struct Party {
    name: Option<String>,
    account: Option<String>,
    bank: Option<String>,
}

#[derive(Default, Debug, PartialEq, Eq)]
struct Info {
    narrative: String,
    end_to_end_id: Option<String>,
    /// The account owner's reference: `/PREF/` (payment information id), `/KREF/`, GVC `KREF+`.
    customer_ref: Option<String>,
    /// `/BENM/` (the party paid).
    beneficiary: Party,
    /// `/ORDP/` (the party that paid).
    ordering: Party,
    /// Named without saying which side (`/NAME/`, `/IBAN/`, `/CNTP/`, GVC `?31`/`?32`).
    counterparty: Party,
    return_reason: Option<String>,
}

impl Info {
    /// Where a side's sub-fields go: nowhere for an ultimate party, to the counterparty when
    /// no side was named.
    fn party_mut(&mut self, side: Option<Side>) -> Option<&mut Party> {
        match side {
            Some(Side::Beneficiary) => Some(&mut self.beneficiary),
            Some(Side::Ordering) => Some(&mut self.ordering),
            Some(Side::Ultimate) => None,
            None => Some(&mut self.counterparty),
        }
    }

    /// The counterparty: for money out the beneficiary, for money in the ordering party;
    /// what they leave open from the party named without a side, then from the other side.
    fn party(&self, debit: bool) -> Party {
        let (first, last) =
            if debit { (&self.beneficiary, &self.ordering) } else { (&self.ordering, &self.beneficiary) };
        let pick = |f: fn(&Party) -> &Option<String>| {
            f(first).clone().or_else(|| f(&self.counterparty).clone()).or_else(|| f(last).clone())
        };
        Party { name: pick(|p| &p.name), account: pick(|p| &p.account), bank: pick(|p| &p.bank) }
    }
}

/// Placeholders that mean "no reference".
fn reference(s: &str) -> Option<String> {
    let w = non_empty(s)?;
    if w.eq_ignore_ascii_case("NOTPROVIDED") || w.eq_ignore_ascii_case("NONREF") { None } else { Some(w) }
}

fn parse_86(first: &str, more: &[&str]) -> Info {
    let head = first.trim_start().as_bytes();
    let gvc = head.len() >= 4 && head[..3].iter().all(u8::is_ascii_digit) && head[3] == b'?';
    let dutch = !gvc && head.first() == Some(&b'/');
    if gvc || dutch {
        // Structured text is wrapped at a fixed width, often inside a word or a key: the
        // lines are glued back together as they are.
        let len = first.len() + more.iter().map(|l| l.len()).sum::<usize>();
        let mut raw = String::with_capacity(len);
        raw.push_str(first.trim_start());
        for l in more {
            raw.push_str(l);
        }
        let info = if gvc { Some(parse_gvc(&raw)) } else { parse_dutch(&raw) };
        if let Some(info) = info {
            if !info.narrative.is_empty() {
                return info;
            }
            // Structured, but no remittance information: the whole text, glued.
            return Info { narrative: words(&raw), ..info };
        }
    }
    Info { narrative: free_text(first, more), ..Info::default() }
}

fn free_text(first: &str, more: &[&str]) -> String {
    let mut out = String::with_capacity(first.len() + more.iter().map(|l| l.len() + 1).sum::<usize>());
    push_words(&mut out, first);
    for l in more {
        push_words(&mut out, l);
    }
    out
}

/// German GVC layout: `NNN?00Buchungstext?10…?20Verwendungszweck…?30BLZ?31Konto?32Name…`.
fn parse_gvc(raw: &str) -> Info {
    let b = raw.as_bytes();
    // Positions of `?NN` subfield starts.
    let mut starts: Vec<usize> = Vec::new();
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i] == b'?' && b[i + 1].is_ascii_digit() && b[i + 2].is_ascii_digit() {
            starts.push(i);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut booking = String::new();
    let mut purpose = String::new();
    let mut name = String::new();
    let (mut purpose_last, mut name_last) = (0, 0);
    let mut info = Info::default();
    let cp = &mut info.counterparty;
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(b.len());
        let code = raw.get(s + 1..s + 3).unwrap_or("");
        let value = raw.get(s + 3..end).unwrap_or("");
        match code {
            "00" => booking.push_str(value),
            "20" | "21" | "22" | "23" | "24" | "25" | "26" | "27" | "28" | "29" | "60" | "61" | "62" | "63" => {
                gvc_append(&mut purpose, &mut purpose_last, value)
            }
            "30" => cp.bank = non_empty(value),
            "31" => cp.account = non_empty(value),
            "32" | "33" => gvc_append(&mut name, &mut name_last, value),
            _ => {}
        }
    }
    cp.name = non_empty(&name);
    let sepa = sepa_keywords(&purpose);
    let key = |k: &str| sepa.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    info.end_to_end_id = key("EREF+").and_then(reference);
    // KREF+: the customer's (batch) reference (DK Verband, SEPA in the MT940 ?20-?29 fields).
    info.customer_ref = key("KREF+").and_then(reference);
    let cp = &mut info.counterparty;
    if cp.account.is_none() {
        cp.account = key("IBAN+").and_then(non_empty);
    }
    if cp.bank.is_none() {
        cp.bank = key("BIC+").and_then(non_empty);
    }
    let remittance = match key("SVWZ+") {
        Some(s) => words(s),
        None if sepa.is_empty() => words(&purpose),
        // Keywords but no SVWZ: whatever text stands before the first keyword.
        None => words(purpose.get(..sepa_first(&purpose)).unwrap_or("")),
    };
    info.narrative = if remittance.is_empty() { words(&booking) } else { remittance };
    info
}

/// Appends one GVC subfield of a text that spans several (`?20`…`?29`, `?32`/`?33`). A
/// subfield holds 27 characters: a full one was cut wherever the 27th character fell and
/// continues in the next without a blank; a shorter one ended at a word, whose blank the
/// bank dropped.
fn gvc_append(out: &mut String, last_chars: &mut usize, value: &str) {
    if !out.is_empty() && *last_chars < 27 && !out.ends_with(char::is_whitespace) {
        out.push(' ');
    }
    out.push_str(value);
    *last_chars = value.chars().count();
}

const SEPA_KEYS: [&str; 12] =
    ["EREF+", "KREF+", "MREF+", "CRED+", "DEBT+", "SVWZ+", "ABWA+", "ABWE+", "IBAN+", "BIC+", "COAM+", "OAMT+"];

fn sepa_key_at(s: &str, i: usize) -> Option<&'static str> {
    let rest = s.as_bytes().get(i..)?;
    SEPA_KEYS.into_iter().find(|k| rest.starts_with(k.as_bytes()))
}

fn sepa_first(s: &str) -> usize {
    (0..s.len()).find(|&i| sepa_key_at(s, i).is_some()).unwrap_or(s.len())
}

/// `EREF+x SVWZ+y` → [("EREF+", "x "), ("SVWZ+", "y")].
fn sepa_keywords(s: &str) -> Vec<(&'static str, &str)> {
    let mut found: Vec<(usize, &'static str)> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if let Some(k) = sepa_key_at(s, i) {
            found.push((i, k));
            i += k.len();
        } else {
            i += 1;
        }
    }
    found
        .iter()
        .enumerate()
        .map(|(n, &(at, k))| {
            let end = found.get(n + 1).map(|f| f.0).unwrap_or(s.len());
            (k, s.get(at + k.len()..end).unwrap_or(""))
        })
        .collect()
}

/// What one `/CODE/` of the structured `:86:` carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    /// End-to-end id.
    EndToEnd,
    /// The account owner's reference (payment information id, customer reference).
    OwnerRef,
    /// Return reason (ISO code).
    ReturnReason,
    /// Remittance information: the narrative.
    Remittance,
    /// Structured creditor reference: the narrative when there is no remittance text.
    CreditorRef,
    /// A party: the value, if any, is its name; `NAME`/`ID`/`ADDR`/account codes after it
    /// belong to it.
    Party(Side),
    Name,
    /// A party's id or address: not kept.
    IdOrAddress,
    Account,
    Bic,
    /// ING `/CNTP/account/BIC/name/city/`.
    Counterparty,
    /// Known, not needed (mandate, creditor id, dates, amounts, type texts…). `true`: the value
    /// is structured itself (`/PURP//CD/SALA`) and is not searched for unknown codes.
    Skip(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Beneficiary,
    Ordering,
    /// Ultimate debtor / creditor / beneficiary: not the counterparty of the booking.
    Ultimate,
}

/// The `/CODE/` words of the structured `:86:` and what each carries. Only these split the
/// text. Sources:
/// - Rabobank, Format description MT940 Structured (v1.5, ch. 3 "Field 86"): MARF, EREF, PREF,
///   RTRN, ACCW, BENM, ORDP, NAME, ID, ADDR, REMI (USTD / STRD CUR), CDTRREFTP, CDTRREF, CSID,
///   ISDT, ULTD, ULTB, PURP;
/// - ING, Format Description MT940 & MT942 Structured NL (v4/v5): CNTP, EREF, MARF, CSID,
///   REMI, RTRN, ULTC, ULTD, PURP, IREF, SVCL, TRCD, BUSP, ISDT;
/// - ABN AMRO and Triodos/Knab/SNS SEPA MT940 (the Dutch banks' common structure): TRTP,
///   IBAN, BIC, NAME, REMI, EREF, MARF, CSID, RTRN, RTYP, BBAN, ACCW;
/// - Deutsche Bank MT940/942 format specifications (§3.11 "codewords used in tag 86"): EREF,
///   PREF, MREF, ORDP, BENM, REMI, ACCW;
/// - SWIFT MT structured party fields and NetSuite's MT940 parser keyword list: ACCT, KREF,
///   CRED, DEBT, NBTR, NRTX, ORDT, OCMT, CHGS, COAM, OAMT, EXCH, SUM, OTHR, MREF, RREF.
///
/// Codes of two or three letters that also occur in remittance text (`CD`, `CUR`, `INV`) are
/// left out: they would cut `/REMI/STRD/CUR/…`.
const DUTCH_CODES: [(&str, Code); 45] = [
    ("EREF", Code::EndToEnd),
    ("PREF", Code::OwnerRef),
    ("KREF", Code::OwnerRef),
    ("RTRN", Code::ReturnReason),
    ("REMI", Code::Remittance),
    ("CDTRREF", Code::CreditorRef),
    ("BENM", Code::Party(Side::Beneficiary)),
    ("ORDP", Code::Party(Side::Ordering)),
    ("ULTD", Code::Party(Side::Ultimate)),
    ("ULTC", Code::Party(Side::Ultimate)),
    ("ULTB", Code::Party(Side::Ultimate)),
    ("NAME", Code::Name),
    ("ID", Code::IdOrAddress),
    ("ADDR", Code::IdOrAddress),
    ("ACCT", Code::Account),
    ("IBAN", Code::Account),
    ("ACCW", Code::Account),
    ("BBAN", Code::Account),
    ("BIC", Code::Bic),
    ("CNTP", Code::Counterparty),
    ("CDTRREFTP", Code::Skip(true)),
    ("PURP", Code::Skip(true)),
    ("MARF", Code::Skip(false)),
    ("MREF", Code::Skip(false)),
    ("CSID", Code::Skip(false)),
    ("CRED", Code::Skip(false)),
    ("DEBT", Code::Skip(false)),
    ("TRTP", Code::Skip(false)),
    ("TRCD", Code::Skip(false)),
    ("BUSP", Code::Skip(false)),
    ("ISDT", Code::Skip(false)),
    ("SUM", Code::Skip(false)),
    ("OCMT", Code::Skip(false)),
    ("CHGS", Code::Skip(false)),
    ("COAM", Code::Skip(false)),
    ("OAMT", Code::Skip(false)),
    ("EXCH", Code::Skip(false)),
    ("IREF", Code::Skip(false)),
    ("SVCL", Code::Skip(false)),
    ("RTYP", Code::Skip(false)),
    ("RREF", Code::Skip(false)),
    ("NBTR", Code::Skip(false)),
    ("NRTX", Code::Skip(false)),
    ("ORDT", Code::Skip(false)),
    ("OTHR", Code::Skip(false)),
];

/// The code of a `/CODE/` starting at byte `i` (which must hold the first `/`).
fn dutch_key_at(s: &str, i: usize) -> Option<(&'static str, Code)> {
    let rest = s.as_bytes().get(i..)?;
    if rest.first() != Some(&b'/') {
        return None;
    }
    let rest = &rest[1..];
    DUTCH_CODES.into_iter().find(|(k, _)| rest.starts_with(k.as_bytes()) && rest.get(k.len()) == Some(&b'/'))
}

/// Where an unknown `/CODE/` (four capital letters between slashes) starts in `v`.
fn unknown_code_in(v: &str) -> Option<usize> {
    let b = v.as_bytes();
    (0..b.len()).find(|&i| {
        b[i] == b'/' && b.len() > i + 5 && b[i + 1..i + 5].iter().all(u8::is_ascii_uppercase) && b[i + 5] == b'/'
    })
}

/// `NL12RABO0123456789,RABONL2U` / `…/RABONL2U`: an account and maybe its bank's BIC.
fn account_and_bic(v: &str) -> (Option<String>, Option<String>) {
    let mut parts = v.split([',', '/']).map(str::trim).filter(|p| !p.is_empty());
    let acct = parts.next().and_then(non_empty);
    let bic = parts.next().filter(|p| looks_like_bic(p)).map(str::to_string);
    (acct, bic)
}

/// 8 or 11 characters, the first six letters.
fn looks_like_bic(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The Dutch / SEPA `/CODE/value` layout. `None` when no known code is in the text.
fn parse_dutch(raw: &str) -> Option<Info> {
    let mut found: Vec<(usize, usize, Code)> = Vec::new(); // (code start, value start, code)
    let mut i = 0;
    while i < raw.len() {
        match dutch_key_at(raw, i) {
            Some((k, code)) => {
                found.push((i, i + k.len() + 2, code));
                // A party's trailing slash may open its first sub-field (`/BENM/NAME/x`).
                i += k.len() + if matches!(code, Code::Party(_)) { 1 } else { 2 };
            }
            None => i += 1,
        }
    }
    let first = found.first()?.0;
    let mut info = Info::default();
    let mut remi: Option<String> = None;
    let mut cdtrref: Option<String> = None;
    // Text the known codes do not explain (unknown codes and what they hold), in order.
    let mut other: Vec<&str> = Vec::new();
    if let Some(before) = raw.get(..first).filter(|t| !t.trim_matches('/').trim().is_empty()) {
        other.push(before);
    }
    let mut side: Option<Side> = None;
    for (n, &(_, at, code)) in found.iter().enumerate() {
        let end = found.get(n + 1).map(|f| f.0).unwrap_or(raw.len()).max(at);
        let whole = raw.get(at..end).unwrap_or("");
        // An unknown code ends the value of a known one; it stays text.
        let value = match code {
            Code::Remittance | Code::IdOrAddress | Code::Counterparty | Code::Skip(true) => whole,
            _ => match unknown_code_in(whole) {
                Some(p) => {
                    other.push(whole.get(p..).unwrap_or(""));
                    whole.get(..p).unwrap_or("")
                }
                None => whole,
            },
        };
        let trimmed = value.trim_matches(|c: char| c == '/' || c.is_whitespace());
        if !matches!(code, Code::Party(_) | Code::Name | Code::IdOrAddress | Code::Account | Code::Bic) {
            side = None;
        }
        // Accounts and BICs after an ultimate party are the counterparty's.
        let account_side = side.filter(|s| *s != Side::Ultimate);
        match code {
            Code::EndToEnd => info.end_to_end_id = info.end_to_end_id.take().or_else(|| reference(trimmed)),
            Code::OwnerRef => info.customer_ref = info.customer_ref.take().or_else(|| reference(trimmed)),
            Code::ReturnReason => info.return_reason = info.return_reason.take().or_else(|| non_empty(trimmed)),
            Code::CreditorRef => cdtrref = cdtrref.take().or_else(|| non_empty(trimmed)),
            Code::Party(_) | Code::Name => {
                if let Code::Party(s) = code {
                    side = Some(s);
                }
                if let Some(p) = info.party_mut(side) {
                    p.name = p.name.take().or_else(|| non_empty(trimmed));
                }
            }
            Code::Account | Code::Bic => {
                // The side named before it, else the counterparty.
                if let Some(p) = info.party_mut(account_side) {
                    let (acct, bic) =
                        if code == Code::Bic { (None, non_empty(trimmed)) } else { account_and_bic(trimmed) };
                    p.account = p.account.take().or(acct);
                    p.bank = p.bank.take().or(bic);
                }
            }
            Code::Counterparty => {
                // ING: /CNTP/account/BIC/name/city/
                let mut parts = value.split('/');
                let cp = &mut info.counterparty;
                let acct = parts.next().and_then(non_empty);
                let bic = parts.next().and_then(non_empty);
                let name = parts.next().and_then(non_empty);
                cp.account = cp.account.take().or(acct);
                cp.bank = cp.bank.take().or(bic);
                cp.name = cp.name.take().or(name);
            }
            Code::Remittance => {
                let v = value.trim_start();
                let v = v
                    .strip_prefix("USTD//")
                    .or_else(|| v.strip_prefix("USTD/"))
                    .or_else(|| v.strip_prefix("STRD/CUR/"))
                    .or_else(|| v.strip_prefix("STRD/ISO/"))
                    .or_else(|| v.strip_prefix("STRD//"))
                    .unwrap_or(v);
                let v = v.trim_matches(|c: char| c == '/' || c.is_whitespace());
                if let Some(w) = non_empty(v) {
                    match remi.as_mut() {
                        Some(r) => push_words(r, &w),
                        None => remi = Some(w),
                    }
                }
            }
            Code::IdOrAddress | Code::Skip(_) => {}
        }
    }
    let mut narrative = remi.or(cdtrref).unwrap_or_default();
    for t in other {
        push_words(&mut narrative, t);
    }
    info.narrative = narrative;
    Some(info)
}

// ---------------------------------------------------------------------------------------
// The parser

/// A field being collected: its tag, where it starts, its first line and continuation lines.
struct Field<'a> {
    tag: Tag,
    /// The tag as written, colons included: `:60F:`.
    name: &'a str,
    line: u64,
    first: &'a str,
    bytes: usize,
}

/// An entry waiting for its `:86:`.
struct OpenEntry {
    entry: Entry,
    supplementary: String,
    /// `RC`/`RD`.
    reversal: bool,
    /// `/PREF/`, `/KREF/`, `KREF+` when the `:61:` had no customer reference (else they are
    /// kept in the narrative).
    owner_ref: Option<String>,
}

struct Building {
    line: u64,
    statement_id: Option<String>,
    account: Option<(String, u64)>,
    sequence: Option<String>,
    /// Currency and where it came from (`:60F:`, line).
    currency: Option<(Currency, String, u64)>,
    opening: Option<(Balance, u64)>,
    closing: Option<(Balance, u64)>,
    entries: Vec<Entry>,
    first_entry_line: Option<u64>,
    open: Option<OpenEntry>,
    /// The last field was a `:61:` or an `:86:` after one: a following `:86:` belongs to it.
    attach_86: bool,
    /// The bank's section in the entry-kind lists (from the envelope or `:25:BIC/account`).
    bank: Option<&'static str>,
    /// An MT942 interim report (`:34F:`, `:13D:`, `:90D:`/`:90C:` or an MT942 envelope): it
    /// has no closing balance by design.
    interim: bool,
}

struct Parser<'a, 'l> {
    file: &'a str,
    limits: &'l Limits,
    /// Statements of earlier pieces of a streamed file (for the statement limit).
    before: usize,
    statements: Vec<Statement>,
    cur: Option<Building>,
    field: Option<Field<'a>>,
    more: Vec<&'a str>,
    /// A line holding only `-`: the end of a message, unless text continues after it.
    pending_dash: bool,
    /// The sending bank of the current message (`{2:O940…<BIC>…}`), as its section name.
    msg_bank: Option<&'static str>,
    env: Envelope,
}

impl<'a, 'l> Parser<'a, 'l> {
    fn new(file: &'a str, limits: &'l Limits) -> Self {
        Parser {
            file,
            limits,
            before: 0,
            statements: Vec::new(),
            cur: None,
            field: None,
            more: Vec::new(),
            pending_dash: false,
            msg_bank: None,
            env: Envelope::default(),
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
        let mut line = strip_wrappers(raw);
        if line.trim().is_empty() {
            return Ok(());
        }
        // SWIFT envelope: `{1:…}{2:…}{3:…}{4:` possibly followed by the first field.
        while is_block_start(line) {
            self.resolve_dash(Next::Boundary)?;
            if line.starts_with("{1:") {
                if let Some(at) = self.env.open_at {
                    return Err(self.err(
                        n,
                        Some("{1: block"),
                        format!(
                            "a new message starts but the message opened on line {at} has no closing -}}: it is cut off"
                        ),
                    ));
                }
                self.end_message()?;
                self.msg_bank = None;
                self.env.mt942 = false;
            }
            if let Some(bank) = envelope_bank(line) {
                self.msg_bank = Some(bank);
            }
            if line.contains("{2:O942") || line.contains("{2:I942") {
                self.env.mt942 = true;
            }
            match line.find("{4:") {
                Some(p) => {
                    self.env.open_at = Some(n);
                    line = line.get(p + 3..).unwrap_or("")
                }
                None => return Ok(()),
            }
            if line.trim().is_empty() {
                return Ok(());
            }
        }
        let trimmed = line.trim();
        if trimmed == "-" {
            self.resolve_dash(Next::Boundary)?;
            self.pending_dash = true;
            return Ok(());
        }
        // `-}` ends the message's text block; ING writes the `-` and the `}` on two lines.
        if trimmed.starts_with("-}") || (trimmed.starts_with('}') && self.pending_dash) {
            self.resolve_dash(Next::Boundary)?;
            self.env.open_at = None;
            return self.end_message();
        }
        if let Some((name, rest)) = tag_of(line) {
            let tag = tag_kind(name);
            // `…T13` / `:12:11`: a wrapped time inside `:86:` text is text, not a tag.
            let continues_86 = tag == Tag::Unknown && self.field.as_ref().is_some_and(|f| f.tag == Tag::Info86);
            if !continues_86 {
                self.resolve_dash(if tag == Tag::Ref20 { Next::Boundary } else { Next::Tag })?;
                self.flush()?;
                self.field = Some(Field { tag, name, line: n, first: rest, bytes: rest.len() });
                return Ok(());
            }
        }
        self.resolve_dash(Next::Text)?;
        self.continuation(line)
    }

    /// A line holding only `-` ends the message when a `:20:`, an envelope or the end of the
    /// file follows. Before other text it is text itself: inside `:86:` (wrapped free text,
    /// `dash_as_start_of_line`) it is kept; after anything else, text that follows is a bank's
    /// header (`ABNANL2A` / `940`), so the message did end.
    fn resolve_dash(&mut self, next: Next) -> Result<(), ParseError> {
        if !std::mem::take(&mut self.pending_dash) {
            return Ok(());
        }
        let in_text =
            self.field.as_ref().is_some_and(|f| matches!(f.tag, Tag::Info86 | Tag::Line61 | Tag::NonStandard));
        match next {
            Next::Text | Next::Tag if in_text => {
                if let Some(f) = self.field.as_mut() {
                    f.bytes += 1;
                }
                self.more.push("-");
                Ok(())
            }
            // The statement goes on after a stray `-`.
            Next::Tag => Ok(()),
            Next::Text | Next::Boundary => self.end_message(),
        }
    }

    fn continuation(&mut self, line: &'a str) -> Result<(), ParseError> {
        let Some(f) = self.field.as_mut() else {
            // Text outside any field (`:940:` headers, junk between messages).
            return Ok(());
        };
        f.bytes += line.len();
        if f.bytes > self.limits.max_text_bytes {
            let (name, at) = (format!("{} text", f.name), f.line);
            return Err(self.err(
                at,
                Some(&name),
                format!("field text is over the limit of {} bytes", self.limits.max_text_bytes),
            ));
        }
        self.more.push(line);
        Ok(())
    }

    fn end_message(&mut self) -> Result<(), ParseError> {
        self.flush()?;
        self.finish_statement()
    }

    /// Ends the text; the caller decides whether no statement at all is an error.
    fn finish(mut self) -> Result<Vec<Statement>, ParseError> {
        self.pending_dash = false;
        self.end_message()?;
        Ok(self.statements)
    }

    /// Hands the collected field to the statement builder.
    fn flush(&mut self) -> Result<(), ParseError> {
        let Some(f) = self.field.take() else {
            return Ok(());
        };
        let more = std::mem::take(&mut self.more);
        let r = self.field_done(&f, &more);
        self.more = more;
        self.more.clear();
        r
    }

    fn field_done(&mut self, f: &Field<'a>, more: &[&'a str]) -> Result<(), ParseError> {
        let tagname = f.name;
        if f.bytes > self.limits.max_text_bytes {
            return Err(self.err(
                f.line,
                Some(&format!("{tagname} text")),
                format!("field text is over the limit of {} bytes", self.limits.max_text_bytes),
            ));
        }
        if f.tag == Tag::Ref20 {
            self.finish_statement()?;
            if self.before + self.statements.len() >= self.limits.max_statements {
                return Err(self.err(
                    f.line,
                    Some(":20: statement"),
                    format!("more than {} statements in the file", self.limits.max_statements),
                ));
            }
            self.cur = Some(Building {
                line: f.line,
                statement_id: non_empty(&glued(f.first, more)),
                account: None,
                sequence: None,
                currency: None,
                opening: None,
                closing: None,
                entries: Vec::new(),
                first_entry_line: None,
                open: None,
                attach_86: false,
                bank: self.msg_bank,
                interim: self.env.mt942,
            });
            return Ok(());
        }
        if self.cur.is_none() {
            return match f.tag {
                Tag::NonStandard | Tag::Unknown => Ok(()),
                _ => Err(self.err(f.line, None, format!("{tagname} comes before any :20: (no statement started)"))),
            };
        }
        if !matches!(f.tag, Tag::Info86 | Tag::NonStandard) {
            self.close_entry();
        }
        match f.tag {
            Tag::Ref20 => Ok(()),
            Tag::Related21 | Tag::NonStandard => Ok(()),
            Tag::Unknown => Err(self.err(f.line, None, format!("unknown tag {tagname}"))),
            Tag::Account25 => self.account(f, more),
            Tag::Sequence28 => {
                let seq = non_empty(&glued(f.first, more));
                if let Some(b) = self.cur.as_mut() {
                    b.sequence = seq;
                }
                Ok(())
            }
            Tag::Opening60 | Tag::Closing62 => self.balance(f, more, tagname),
            Tag::Available6x => {
                // Available / forward balances are not used anywhere (matching, validation and
                // interest work from booked balances), so their content is not checked: real
                // bank software writes `:65F:Dnullnull7414,3`, and refusing the whole
                // statement over a field we ignore would stop a bank's reconciliation for
                // nothing.
                Ok(())
            }
            Tag::Line61 => self.line61(f, more),
            Tag::Info86 => {
                self.info86(f, more);
                Ok(())
            }
            Tag::Floor34 | Tag::DateTime13 | Tag::Total90 => {
                if let Some(b) = self.cur.as_mut() {
                    b.interim = true;
                }
                match f.tag {
                    Tag::Floor34 => self.floor34(f, more, tagname),
                    Tag::DateTime13 => self.datetime13(f, more, tagname),
                    _ => self.total90(f, more, tagname),
                }
            }
        }
    }

    fn account(&mut self, f: &Field<'a>, more: &[&'a str]) -> Result<(), ParseError> {
        let text = glued(f.first, more);
        let acct = text.trim();
        if acct.is_empty() {
            return Err(self.err(f.line, Some(":25: account"), "account identification is empty"));
        }
        if let Some((_, at)) = self.cur.as_ref().and_then(|b| b.account.as_ref()) {
            let at = *at;
            return Err(self.err(
                f.line,
                Some(":25: account"),
                format!("second account identification {} in one statement (first on line {at})", quote(acct)),
            ));
        }
        if let Some(b) = self.cur.as_mut() {
            b.account = Some((acct.to_string(), f.line));
            // `:25:CMBCCNBS/7559…`: the account servicer's BIC in front of the account.
            if let Some((bic, _)) = acct.split_once('/')
                && looks_like_bic(bic)
                && let Some(bank) = kinds().bank_of_bic(bic)
            {
                b.bank = Some(bank);
            }
        }
        Ok(())
    }

    /// Records the statement currency, refusing a second, different one.
    fn set_currency(&mut self, c: Currency, tagname: &str, line: u64) -> Result<(), ParseError> {
        let Some(b) = self.cur.as_mut() else {
            return Ok(());
        };
        match &b.currency {
            None => {
                b.currency = Some((c, tagname.to_string(), line));
                Ok(())
            }
            Some((have, _, _)) if *have == c => Ok(()),
            Some((have, src, at)) => {
                let msg = format!("currency {c} differs from the statement currency {have} ({src} on line {at})");
                let field = format!("{tagname} currency");
                Err(self.err(line, Some(&field), msg))
            }
        }
    }

    /// `1!a6!n3!a15d`: mark, date, currency, amount.
    fn balance_value(&self, text: &str, line: u64, tagname: &str) -> Result<(Balance, Currency), ParseError> {
        let t = text.trim();
        let field = |what: &str| format!("{tagname} {what}");
        let sign = match t.as_bytes().first() {
            Some(b'C') => Decimal::ONE,
            Some(b'D') => Decimal::NEGATIVE_ONE,
            _ => {
                return Err(self.err(
                    line,
                    Some(&field("mark")),
                    format!("{} does not start with C (credit) or D (debit)", quote(t)),
                ));
            }
        };
        let date_s = t.get(1..7).unwrap_or("");
        let date = yymmdd(date_s).ok_or_else(|| {
            let shown = t.get(1..).map(|r| r.get(..6).unwrap_or(r)).unwrap_or("");
            self.err(line, Some(&field("date")), format!("{} is not a date (YYMMDD)", quote(shown)))
        })?;
        let ccy_s = t.get(7..10).unwrap_or("");
        let ccy =
            Currency::parse(ccy_s).filter(|_| ccy_s.bytes().all(|c| c.is_ascii_uppercase())).ok_or_else(|| {
                let shown = t.get(7..).unwrap_or("");
                self.err(
                    line,
                    Some(&field("currency")),
                    format!("{} does not start with a currency code", quote(shown)),
                )
            })?;
        let amt = amount(t.get(10..).unwrap_or("").trim()).map_err(|m| self.err(line, Some(&field("amount")), m))?;
        Ok((Balance { date, amount: Money::new(amt * sign, ccy) }, ccy))
    }

    fn balance(&mut self, f: &Field<'a>, more: &[&'a str], tagname: &str) -> Result<(), ParseError> {
        let text = glued(f.first, more);
        let (bal, ccy) = self.balance_value(&text, f.line, tagname)?;
        let Some(b) = self.cur.as_ref() else {
            return Ok(());
        };
        let opening = f.tag == Tag::Opening60;
        let prev = if opening { &b.opening } else { &b.closing };
        if let Some((_, at)) = prev {
            let what = if opening { "opening" } else { "closing" };
            return Err(self.err(
                f.line,
                Some(&format!("{tagname} balance")),
                format!("second {what} balance in one statement (first on line {at})"),
            ));
        }
        if opening && let Some(at) = b.first_entry_line {
            return Err(self.err(
                f.line,
                Some(&format!("{tagname} balance")),
                format!("opening balance comes after the entry on line {at}"),
            ));
        }
        self.set_currency(ccy, tagname, f.line)?;
        if let Some(b) = self.cur.as_mut() {
            if opening {
                b.opening = Some((bal, f.line));
            } else {
                b.closing = Some((bal, f.line));
            }
        }
        Ok(())
    }

    /// MT942 floor limit `3!a[1!a]15d`.
    fn floor34(&mut self, f: &Field<'a>, more: &[&'a str], tagname: &str) -> Result<(), ParseError> {
        let text = glued(f.first, more);
        let t = text.trim();
        let ccy_s = t.get(..3).unwrap_or("");
        let ccy =
            Currency::parse(ccy_s).filter(|_| ccy_s.bytes().all(|c| c.is_ascii_uppercase())).ok_or_else(|| {
                self.err(
                    f.line,
                    Some(&format!("{tagname} currency")),
                    format!("{} does not start with a currency code", quote(t)),
                )
            })?;
        let rest = t.get(3..).unwrap_or("");
        let rest = rest.strip_prefix(['C', 'D']).unwrap_or(rest);
        amount(rest).map_err(|m| self.err(f.line, Some(&format!("{tagname} amount")), m))?;
        self.set_currency(ccy, tagname, f.line)
    }

    /// MT942 date-time indication `6!n4!n1!x4!n` (checked, then ignored).
    fn datetime13(&mut self, f: &Field<'a>, more: &[&'a str], tagname: &str) -> Result<(), ParseError> {
        let text = glued(f.first, more);
        let t = text.trim();
        let b = t.as_bytes();
        let ok = yymmdd(t.get(..6).unwrap_or("")).is_some()
            && b.len() >= 10
            && digits(&b[6..8]).is_some_and(|h| h < 24)
            && digits(&b[8..10]).is_some_and(|m| m < 60);
        if !ok {
            return Err(self.err(
                f.line,
                Some(&format!("{tagname} date")),
                format!("{} is not a date and time (YYMMDDhhmm)", quote(t)),
            ));
        }
        Ok(())
    }

    /// MT942 totals `5n3!a15d`.
    fn total90(&mut self, f: &Field<'a>, more: &[&'a str], tagname: &str) -> Result<(), ParseError> {
        let text = glued(f.first, more);
        let t = text.trim();
        let n = t.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 5 {
            return Err(self.err(
                f.line,
                Some(&format!("{tagname} count")),
                format!("{} does not start with a count of entries", quote(t)),
            ));
        }
        let ccy_s = t.get(n..n + 3).unwrap_or("");
        let ccy =
            Currency::parse(ccy_s).filter(|_| ccy_s.bytes().all(|c| c.is_ascii_uppercase())).ok_or_else(|| {
                self.err(
                    f.line,
                    Some(&format!("{tagname} currency")),
                    format!("{} is not a currency code", quote(t.get(n..).unwrap_or(""))),
                )
            })?;
        amount(t.get(n + 3..).unwrap_or("")).map_err(|m| self.err(f.line, Some(&format!("{tagname} amount")), m))?;
        self.set_currency(ccy, tagname, f.line)
    }

    fn line61(&mut self, f: &Field<'a>, more: &[&'a str]) -> Result<(), ParseError> {
        let line = f.line;
        let (count, max) = match self.cur.as_ref() {
            Some(b) => (b.entries.len(), self.limits.max_entries_per_statement),
            None => return Ok(()),
        };
        if count >= max {
            return Err(self.err(line, Some(":61: entry"), format!("more than {max} entries in one statement")));
        }
        let parsed = statement_line(f.first.trim_end())
            .map_err(|(what, msg)| self.err(line, Some(&format!(":61: {what}")), msg))?;
        let mut supplementary = String::new();
        push_words(&mut supplementary, parsed.rest);
        for l in more {
            push_words(&mut supplementary, l);
        }
        let ccy = self.cur.as_ref().and_then(|b| b.currency.as_ref()).map(|c| c.0).unwrap_or(Currency::CNY);
        let entry = Entry {
            booking_date: parsed.booking,
            value_date: Some(parsed.value),
            amount: Money::new(parsed.amount, ccy),
            bank_ref: parsed.bank_ref.and_then(reference),
            customer_ref: reference(parsed.customer_ref),
            end_to_end_id: None,
            counterparty_account: None,
            counterparty_name: None,
            counterparty_bank: None,
            narrative: String::new(),
            // Decided when the entry is complete (`close_entry`).
            kind: EntryKind::Transfer,
            type_code: parsed.type_code.map(|t| t.trim().to_string()),
            return_reason: None,
            batch: None,
            location: location(line),
        };
        if let Some(b) = self.cur.as_mut() {
            if let Some((_, at)) = &b.closing {
                let at = *at;
                return Err(self.err(
                    line,
                    Some(":61: entry"),
                    format!("entry comes after the closing balance on line {at}"),
                ));
            }
            b.first_entry_line.get_or_insert(line);
            b.open = Some(OpenEntry { entry, supplementary, reversal: parsed.reversal, owner_ref: None });
            b.attach_86 = true;
        }
        Ok(())
    }

    fn info86(&mut self, f: &Field<'a>, more: &[&'a str]) {
        let Some(b) = self.cur.as_mut() else { return };
        if !b.attach_86 {
            // Statement-level information (before the first entry or after the closing).
            return;
        }
        let Some(open) = b.open.as_mut() else { return };
        let info = parse_86(f.first, more);
        let e = &mut open.entry;
        if e.narrative.is_empty() {
            e.narrative = info.narrative.clone();
        } else {
            push_words(&mut e.narrative, &info.narrative);
        }
        let party = info.party(e.amount.amount.is_sign_negative());
        e.end_to_end_id = e.end_to_end_id.take().or(info.end_to_end_id);
        e.counterparty_name = e.counterparty_name.take().or(party.name);
        e.counterparty_account = e.counterparty_account.take().or(party.account);
        e.counterparty_bank = e.counterparty_bank.take().or(party.bank);
        e.return_reason = e.return_reason.take().or(info.return_reason);
        if open.owner_ref.is_none() {
            open.owner_ref = info.customer_ref;
        }
    }

    fn close_entry(&mut self) {
        let Some(b) = self.cur.as_mut() else { return };
        b.attach_86 = false;
        let Some(open) = b.open.take() else { return };
        let mut e = open.entry;
        // Some banks name the counterparty's account only in the `:61:` supplementary details.
        let mut supplementary = open.supplementary.as_str();
        let rest;
        if e.counterparty_account.is_none()
            && let Some((acct, left)) = account_in(supplementary)
        {
            e.counterparty_account = Some(acct);
            rest = left;
            supplementary = &rest;
        }
        push_words(&mut e.narrative, supplementary);
        // `/PREF/` or `KREF+`: the owner's (batch) reference, unless the :61: had one.
        if let Some(r) = open.owner_ref {
            if e.customer_ref.is_none() {
                e.customer_ref = Some(r);
            } else if e.customer_ref.as_deref() != Some(r.as_str()) && !e.narrative.contains(r.as_str()) {
                push_words(&mut e.narrative, &r);
            }
        }
        let code = e.type_code.as_deref().and_then(|t| kinds().code_kind(Scheme::Mt940, t, b.bank));
        e.kind = decide(&Evidence {
            reversal_mark: open.reversal,
            return_reason: e.return_reason.is_some(),
            code,
            text: &e.narrative,
            bank: b.bank,
        });
        b.entries.push(e);
    }

    fn finish_statement(&mut self) -> Result<(), ParseError> {
        self.close_entry();
        let Some(b) = self.cur.take() else {
            return Ok(());
        };
        let Some((account, _)) = b.account else {
            return Err(self.err(b.line, Some(":25: account"), "statement has no :25: account identification"));
        };
        let Some((currency, _, _)) = b.currency else {
            return Err(match b.first_entry_line {
                Some(at) => self.err(
                    at,
                    Some(":61: currency"),
                    "currency unknown: the statement has no :60F:/:60M:/:62F:/:62M: balance (nor MT942 :34F:/:90D:/:90C:)",
                ),
                None => self.err(
                    b.line,
                    Some(":60F: balance"),
                    "statement has no opening or closing balance, so its currency is unknown",
                ),
            });
        };
        if b.closing.is_none() && !b.interim {
            return Err(self.err(
                b.line,
                Some(":62F: closing balance"),
                "MT940 statement has no closing balance (:62F:/:62M:): the file is cut off or incomplete",
            ));
        }
        let mut entries = b.entries;
        for e in &mut entries {
            e.amount.currency = currency;
        }
        self.statements.push(Statement {
            account,
            currency,
            sequence: b.sequence,
            statement_id: b.statement_id,
            opening: b.opening.map(|o| o.0),
            closing: b.closing.map(|c| c.0),
            entries,
            location: location(b.line),
            flags: Vec::new(),
        });
        Ok(())
    }
}

/// The sending bank of an output message, from its application header
/// `{2:O940HHMM<date><BIC8>…`, if the entry-kind lists have a section for it.
fn envelope_bank(line: &str) -> Option<&'static str> {
    let p = line.find("{2:O")?;
    let bic = line.get(p + 3 + 1 + 3 + 4 + 6..p + 3 + 1 + 3 + 4 + 6 + 8)?;
    kinds().bank_of_bic(bic)
}

/// The first account-shaped word of `:61:` supplementary details (an IBAN, 8 to 34 digits,
/// a masked card number `6217****1234`) and the text without it.
fn account_in(text: &str) -> Option<(String, String)> {
    let word = text
        .split_whitespace()
        .find(|w| is_account_shaped(w.trim_matches(|c: char| matches!(c, ',' | ';' | '.' | ':'))))?;
    let acct = word.trim_matches(|c: char| matches!(c, ',' | ';' | '.' | ':')).to_string();
    let mut rest = String::with_capacity(text.len());
    let mut skipped = false;
    for w in text.split_whitespace() {
        if !skipped && w == word {
            skipped = true;
            continue;
        }
        push_words(&mut rest, w);
    }
    Some((acct, rest))
}

fn is_account_shaped(w: &str) -> bool {
    let b = w.as_bytes();
    if (8..=34).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        return true;
    }
    // Masked card: leading digits, stars, trailing digits (6217****1234, 621700******1234).
    let lead = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let stars = b[lead..].iter().take_while(|&&c| c == b'*').count();
    let tail = b.len() - lead - stars;
    if lead >= 4 && stars >= 2 && tail >= 3 && b[lead + stars..].iter().all(u8::is_ascii_digit) && b.len() <= 34 {
        return true;
    }
    is_iban(w)
}

/// Two letters, two check digits, 11 to 30 letters and digits, and the ISO 13616 check.
fn is_iban(w: &str) -> bool {
    let b = w.as_bytes();
    if !(15..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b[4..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let v = if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c - b'A') + 10 };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

/// A field's lines glued together (wrapped references: `:28C:0000` / `0`).
fn glued(first: &str, more: &[&str]) -> String {
    let mut s = String::with_capacity(first.len() + more.iter().map(|l| l.len()).sum::<usize>());
    s.push_str(first.trim());
    for l in more {
        s.push_str(l.trim());
    }
    s
}

// ---------------------------------------------------------------------------------------
// `:61:` statement line

#[derive(Debug, PartialEq)]
struct StatementLine<'a> {
    value: NaiveDate,
    booking: NaiveDate,
    reversal: bool,
    /// Signed: credit (and reversal of debit) positive.
    amount: Decimal,
    type_code: Option<&'a str>,
    customer_ref: &'a str,
    bank_ref: Option<&'a str>,
    /// Text after the references on the first line (old Rabobank: counterparty name).
    rest: &'a str,
}

/// `6!n[4!n]2a[1!a]15d1!a3!c16x[//16x]`. Errors are (subfield, message).
fn statement_line(s: &str) -> Result<StatementLine<'_>, (&'static str, String)> {
    let b = s.as_bytes();
    let value = yymmdd(s.get(..6).unwrap_or(""))
        .ok_or_else(|| ("value date", format!("{} is not a date (YYMMDD)", quote(s.get(..6).unwrap_or(s)))))?;
    let mut i = 6;
    let mut booking = value;
    if b.len() >= 10 && b[6..10].iter().all(u8::is_ascii_digit) {
        booking = entry_date(value, &b[6..10])
            .ok_or_else(|| ("entry date", format!("{} is not a date (MMDD)", quote(s.get(6..10).unwrap_or("")))))?;
        i = 10;
    }
    let (reversal, sign, mark_len) = match (b.get(i), b.get(i + 1)) {
        (Some(b'R'), Some(b'C')) => (true, Decimal::NEGATIVE_ONE, 2),
        (Some(b'R'), Some(b'D')) => (true, Decimal::ONE, 2),
        (Some(b'C'), _) => (false, Decimal::ONE, 1),
        (Some(b'D'), _) => (false, Decimal::NEGATIVE_ONE, 1),
        (None, _) => return Err(("mark", "line ends before the debit/credit mark".into())),
        _ => {
            let shown = s.get(i..).unwrap_or("");
            return Err(("mark", format!("{} does not start with C, D, RC or RD", quote(shown))));
        }
    };
    i += mark_len;
    // Optional funds code: the third letter of the currency code.
    if b.get(i).is_some_and(u8::is_ascii_alphabetic) {
        i += 1;
    }
    let start = i;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b',') {
        i += 1;
    }
    let amount_s = s.get(start..i).unwrap_or("");
    // Some German banks put a blank between the amount and the transaction type.
    let mut j = i;
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    // Transaction type: `N`/`F`/`S` and 3 characters by the book; other banks use other
    // letters (`MCI0`), which cannot be mistaken for an amount either.
    let type_code = s.get(j..j + 4).filter(|c| {
        let c = c.as_bytes();
        c[0].is_ascii_uppercase() && c[1..].iter().all(|x| x.is_ascii_alphanumeric() || *x == b' ')
    });
    let bank_follows = b.get(i..).is_some_and(|r| r.starts_with(b"//"));
    if (type_code.is_none() && !bank_follows && i < b.len()) || amount_s.is_empty() {
        // Show the whole broken amount: up to the transaction type letter, if any.
        let rest = s.get(start..).unwrap_or("");
        let end = rest
            .bytes()
            .enumerate()
            .position(|(k, c)| k > 0 && matches!(c, b'N' | b'F' | b'S' | b'/'))
            .unwrap_or(rest.len());
        let shown = rest.get(..end).unwrap_or(rest);
        if shown.is_empty() {
            return Err(("amount", "line ends before the amount".into()));
        }
        return Err(("amount", format!("{} is not an amount", quote(shown))));
    }
    let amt = amount(amount_s).map_err(|m| ("amount", m))? * sign;
    if type_code.is_some() {
        i = j + 4;
    } else if !bank_follows {
        return Err(("transaction type", "line ends after the amount: no transaction type or reference".into()));
    }
    let refs = s.get(i..).unwrap_or("");
    let (customer_ref, bank_ref, rest) = match refs.find("//") {
        Some(p) => {
            let (bank, rest) = split_ref(refs.get(p + 2..).unwrap_or(""));
            (refs.get(..p).unwrap_or("").trim(), Some(bank), rest)
        }
        None => {
            let (cust, rest) = split_ref(refs);
            (cust, None, rest)
        }
    };
    Ok(StatementLine { value, booking, reversal, amount: amt, type_code, customer_ref, bank_ref, rest })
}

/// A `16x` reference and what follows it on the line. A reference longer than 16 characters
/// is kept whole unless it has a blank in it: then the text after the blank is not part of
/// the reference (old Rabobank: `P002445588      Belastingdienst`).
fn split_ref(s: &str) -> (&str, &str) {
    let t = s.trim();
    if t.chars().count() <= 16 {
        return (t, "");
    }
    match t.find(char::is_whitespace) {
        Some(p) => (t.get(..p).unwrap_or(t), t.get(p..).unwrap_or("").trim()),
        None => (t, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn one(text: &str) -> Statement {
        let mut v = parse("t.sta", text.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    fn err(text: &str) -> String {
        parse("bad.sta", text.as_bytes(), &Limits::default()).unwrap_err().to_string()
    }

    const HEAD: &str = ":20:REF\n:25:ACC\n:28C:1/1\n:60F:C240320CNY100,00\n";

    fn entry(line61: &str) -> Entry {
        let s = one(&format!("{HEAD}:61:{line61}\n:62F:C240321CNY100,00\n"));
        s.entries.into_iter().next().unwrap()
    }

    #[test]
    fn entry_date_rolls_over_the_year() {
        let e = entry("2512310102C1,00NTRFX//Y");
        assert_eq!(e.value_date, Some(d(2025, 12, 31)));
        assert_eq!(e.booking_date, d(2026, 1, 2));
        let e = entry("2601021231C1,00NTRFX//Y");
        assert_eq!(e.booking_date, d(2025, 12, 31));
        let e = entry("240321C1,00NTRFX//Y");
        assert_eq!(e.booking_date, d(2024, 3, 21));
        assert_eq!(e.value_date, Some(d(2024, 3, 21)));
    }

    #[test]
    fn marks_reversals_and_funds_codes() {
        let e = entry("2403210321RC5,00NTRFX//Y");
        assert_eq!((e.amount.amount, e.kind), (dec!(-5.00), EntryKind::Reversal));
        let e = entry("2403210321RD5,00NTRFX//Y");
        assert_eq!((e.amount.amount, e.kind), (dec!(5.00), EntryKind::Reversal));
        // `CR` + digits: credit with funds code R (EUR), not a reversal.
        let e = entry("2403210321CR5,00NTRFX//Y");
        assert_eq!((e.amount.amount, e.kind), (dec!(5.00), EntryKind::Transfer));
        let e = entry("2403210321DY5,00NTRFX//Y");
        assert_eq!(e.amount.amount, dec!(-5.00));
        let e = entry("2403210321RCY5,00NTRFX//Y");
        assert_eq!((e.amount.amount, e.kind), (dec!(-5.00), EntryKind::Reversal));
    }

    #[test]
    fn amounts() {
        assert_eq!(entry("240321C1000,NTRFX").amount.amount, dec!(1000));
        assert_eq!(amount("0,5"), Ok(dec!(0.5)));
        assert_eq!(amount("000000006098,75"), Ok(dec!(6098.75)));
        assert!(amount(",5").is_err());
        assert_eq!(amount("1000"), Ok(dec!(1000)));
        assert_eq!(amount("0000000000000000,00"), Ok(dec!(0)));
        assert!(amount("1000.5").unwrap_err().contains("not a dot"));
        assert!(amount("1.000,00").is_err());
        assert!(amount("1,000,00").is_err());
        assert!(amount("1234567890123456").unwrap_err().contains("more than 15 digits"));
    }

    #[test]
    fn references_and_supplementary_line() {
        let e = entry("2403210321D12000000,00NTRF20240321-0007//BK24032100456");
        assert_eq!(e.customer_ref.as_deref(), Some("20240321-0007"));
        assert_eq!(e.bank_ref.as_deref(), Some("BK24032100456"));
        assert_eq!(e.type_code.as_deref(), Some("NTRF"));
        // No `//`: customer reference only; NONREF means none.
        let e = entry("240321C1,00NMSCNONREF");
        assert_eq!((e.customer_ref, e.bank_ref), (None, None));
        let e = entry("240321C1,00NMSC");
        assert_eq!((e.customer_ref, e.bank_ref), (None, None));
        // Old Rabobank: counterparty name after the reference goes to the narrative.
        let e = entry("240321D000000006098,75N084P002445588      Belastingdienst Apeldoor");
        assert_eq!(e.customer_ref.as_deref(), Some("P002445588"));
        assert_eq!(e.narrative, "Belastingdienst Apeldoor");
        // The 34x second line is appended after the :86: text.
        let s = one(&format!(
            "{HEAD}:61:2403210321D2000,00NOVBNL29INGB0006475121\nj blom\n:86:Salaris\n   december\n:62F:C240321CNY100,00\n"
        ));
        let e = &s.entries[0];
        assert_eq!(e.customer_ref.as_deref(), Some("NL29INGB0006475121"));
        assert_eq!(e.narrative, "Salaris december j blom");
        // Amount directly followed by the bank reference (Zenith Bank).
        let e = entry("2011301130CN220000,00//19239782213");
        assert_eq!((e.type_code, e.bank_ref.as_deref()), (None, Some("19239782213")));
        assert_eq!(e.amount.amount, dec!(220000.00));
    }

    #[test]
    fn kinds_from_codes_and_text() {
        assert_eq!(entry("240321C1,00NINTNONREF").kind, EntryKind::Interest);
        assert_eq!(entry("240321D1,00NCHGNONREF").kind, EntryKind::Fee);
        assert_eq!(entry("240321D1,00NCOMNONREF").kind, EntryKind::Fee);
        assert_eq!(entry("240321C1,00NRTINONREF").kind, EntryKind::Return);
        let s = one(&format!("{HEAD}:61:240321C1,00NTRFNONREF\n:86:退汇 原凭证 V1\n:62F:C240321CNY100,00\n"));
        assert_eq!(s.entries[0].kind, EntryKind::Return);
        // A bank code wins over text.
        let s = one(&format!("{HEAD}:61:240321D1,00NCHGNONREF\n:86:结息\n:62F:C240321CNY100,00\n"));
        assert_eq!(s.entries[0].kind, EntryKind::Fee);
    }

    #[test]
    fn colon_in_text_is_not_a_tag() {
        let s = one(&format!(
            "{HEAD}:61:240321C1,00NTRFNONREF\n:86:PAS: 2222 12:45\n:abc def\n:12:11 wrapped\n:62F:C240321CNY101,00\n:86:statement info\n"
        ));
        assert_eq!(s.entries.len(), 1);
        assert_eq!(s.entries[0].narrative, "PAS: 2222 12:45 :abc def :12:11 wrapped");
        assert_eq!(s.closing.unwrap().amount.amount, dec!(101.00));
        // An unknown tag outside :86: text is refused.
        let e = err(&format!("{HEAD}:99:what\n:62F:C240321CNY100,00\n"));
        assert_eq!(e, "bad.sta:5: unknown tag :99:");
    }

    #[test]
    fn statement_level_86_is_not_attached() {
        let s = one(&format!(
            "{HEAD}:86:before entries\n:61:240321C1,00NTRFNONREF\n:86:one\n:86:two\n:62F:C240321CNY101,00\n:86:after\n"
        ));
        assert_eq!(s.entries[0].narrative, "one two");
    }

    #[test]
    fn gvc_subfields() {
        let info = parse_86(
            "166?00SEPA-GUTSCHRIFT?109075/611?20EREF+E2E-1 SVWZ+VERTR",
            &[
                "AG NR 4711?21 APRIL?30DEUTDEDB237?31DE9323070700",
                "0621787100?32STADTWERKE MUSTERSTADT ENER?33GIE GMBH",
            ],
        );
        assert_eq!(info.end_to_end_id.as_deref(), Some("E2E-1"));
        assert_eq!(info.narrative, "VERTRAG NR 4711 APRIL");
        assert_eq!(info.counterparty.bank.as_deref(), Some("DEUTDEDB237"));
        assert_eq!(info.counterparty.account.as_deref(), Some("DE93230707000621787100"));
        // A full 27-character subfield continues in the next one without a blank.
        assert_eq!(info.counterparty.name.as_deref(), Some("STADTWERKE MUSTERSTADT ENERGIE GMBH"));
        // A shorter one ended at a word.
        let info = parse_86("835?00X?20STORNO RECHNUNGSABSCHLUSS?21PER 01.02.2020?32KARL?33KAUFMANN", &[]);
        assert_eq!(info.narrative, "STORNO RECHNUNGSABSCHLUSS PER 01.02.2020");
        assert_eq!(info.counterparty.name.as_deref(), Some("KARL KAUFMANN"));
        let info = parse_86("820?00UMBUCHUNG?20ERSTATTUNG AUSLANDSEINSATZE?21NTGELT", &[]);
        assert_eq!(info.narrative, "ERSTATTUNG AUSLANDSEINSATZENTGELT");
        let info = parse_86("805?00ENTGELTABSCHLUSS?106666?20Pauschalen", &[]);
        assert_eq!(info.narrative, "Pauschalen");
        assert_eq!(info.end_to_end_id, None);
        let info = parse_86("805?00ENTGELTABSCHLUSS?106666", &[]);
        assert_eq!(info.narrative, "ENTGELTABSCHLUSS");
    }

    #[test]
    fn dutch_subfields() {
        let info = parse_86(
            "/EREF/0000008668-0000000000-001//MARF/00004444-001//CSID/NL53",
            &["ZZZ341191060000//CNTP/NL88INGB0999999999/INGBNL2A/RAAMEN NV///REM", "I/USTD//KASSA FACTUUR/"],
        );
        assert_eq!(info.end_to_end_id.as_deref(), Some("0000008668-0000000000-001"));
        assert_eq!(info.counterparty.account.as_deref(), Some("NL88INGB0999999999"));
        assert_eq!(info.counterparty.bank.as_deref(), Some("INGBNL2A"));
        assert_eq!(info.counterparty.name.as_deref(), Some("RAAMEN NV"));
        assert_eq!(info.narrative, "KASSA FACTUUR");
        let info = parse_86(
            "/TRTP/SEPA OVERBOEKING/IBAN/NL46ABNA0499998748/BIC/ABNANL2A/NAME/J DOE/REMI/Factuur 12/EREF/NOTPROVIDED",
            &[],
        );
        assert_eq!(info.counterparty.account.as_deref(), Some("NL46ABNA0499998748"));
        assert_eq!(info.counterparty.bank.as_deref(), Some("ABNANL2A"));
        assert_eq!(info.counterparty.name.as_deref(), Some("J DOE"));
        assert_eq!(info.narrative, "Factuur 12");
        assert_eq!(info.end_to_end_id, None);
        let info = parse_86("/RTRN/MS03//EREF/X1//REMI/USTD//back/", &[]);
        assert_eq!(info.return_reason.as_deref(), Some("MS03"));
        // No remittance: the text itself.
        let info = parse_86("/PREF/PmtInfId-20151208-987", &[]);
        assert_eq!(info.narrative, "/PREF/PmtInfId-20151208-987");
        // Free text, Chinese kept, spaces collapsed.
        let info = parse_86("拨付  支出户", &["用款计划2024-03  "]);
        assert_eq!(info.narrative, "拨付 支出户 用款计划2024-03");
    }

    /// The counterparty an entry of that sign would get.
    fn party(first: &str, more: &[&str], debit: bool) -> Party {
        parse_86(first, more).party(debit)
    }

    #[test]
    fn dutch_parties_in_every_style() {
        // The name directly after /BENM/, then /ACCT/ (which used to be swallowed).
        let p = party("/BENM/Janssen BV/ACCT/NL91ABNA0417164300/BIC/ABNANL2A/REMI/Factuur 7/EREF/E1", &[], true);
        assert_eq!(p.name.as_deref(), Some("Janssen BV"));
        assert_eq!(p.account.as_deref(), Some("NL91ABNA0417164300"));
        assert_eq!(p.bank.as_deref(), Some("ABNANL2A"));
        // Rabobank: /ORDP//NAME/…/ADDR/…, the account in the :61: second line.
        let info = parse_86(
            "/ORDP//NAME/Hr J DOE/ADDR/Ieplaan 100 2500AA S GRAVENHAGE",
            &["NL/REMI/bijdrage februari 2014/ISDT/2015-02-09"],
        );
        assert_eq!(info.party(false).name.as_deref(), Some("Hr J DOE"));
        assert_eq!(info.narrative, "bijdrage februari 2014");
        // /ID/ and /ADDR/ are not names; a single slash after the party code works too.
        let p = party("/BENM/NAME/Acme/ID/KVK123/ADDR/Main St 1/REMI/x", &[], true);
        assert_eq!(p.name.as_deref(), Some("Acme"));
        // Wrapped at 65 characters inside a code word.
        let p = party("/BENM//NAME/Stadtwerke Musterstadt Energie GmbH/AC", &["CT/NL91ABNA0417164300/REMI/a"], true);
        assert_eq!(p.account.as_deref(), Some("NL91ABNA0417164300"));
        assert_eq!(p.name.as_deref(), Some("Stadtwerke Musterstadt Energie GmbH"));
        // /ACCW/ with the bank's BIC; /IBAN/ /BBAN/ /CNTP/.
        let p = party("/ORDP//NAME/X/ACCW/NL91ABNA0417164300,ABNANL2A/REMI/y", &[], false);
        assert_eq!((p.account.as_deref(), p.bank.as_deref()), (Some("NL91ABNA0417164300"), Some("ABNANL2A")));
        let p = party("/TRTP/SEPA OVERBOEKING/BBAN/123456789/NAME/J DOE/REMI/z", &[], false);
        assert_eq!((p.account.as_deref(), p.name.as_deref()), (Some("123456789"), Some("J DOE")));
        // Both parties named: the beneficiary for money out, the ordering party for money in.
        let info = parse_86("/ORDP//NAME/Fund/ACCT/111111111/BENM//NAME/Hospital/ACCT/222222222/REMI/r", &[]);
        assert_eq!(info.party(true).name.as_deref(), Some("Hospital"));
        assert_eq!(info.party(true).account.as_deref(), Some("222222222"));
        assert_eq!(info.party(false).name.as_deref(), Some("Fund"));
        // An ultimate party is not the counterparty.
        let p = party("/ORDP//NAME/Payer/ULTD//NAME/Ultimate Payer/REMI/r", &[], false);
        assert_eq!(p.name.as_deref(), Some("Payer"));
        let p = party("/ULTC//NAME/Ultimate/IBAN/NL91ABNA0417164300/REMI/r", &[], true);
        assert_eq!((p.name, p.account.as_deref()), (None, Some("NL91ABNA0417164300")));
    }

    #[test]
    fn dutch_references_remittance_and_unknown_codes() {
        let info = parse_86("/PREF/PmtInfId-20151208-987/EREF/E2E-7/RTRN/AC04/REMI/STRD/CUR/RF18539007547034", &[]);
        assert_eq!(info.customer_ref.as_deref(), Some("PmtInfId-20151208-987"));
        assert_eq!(info.end_to_end_id.as_deref(), Some("E2E-7"));
        assert_eq!(info.return_reason.as_deref(), Some("AC04"));
        assert_eq!(info.narrative, "RF18539007547034");
        let info = parse_86("/KREF/K-1/REMI/USTD/plain", &[]);
        assert_eq!((info.customer_ref.as_deref(), info.narrative.as_str()), (Some("K-1"), "plain"));
        // An unknown code ends the value before it and stays text; it never swallows the
        // known code after it.
        let info = parse_86("/EREF/E1/ZZZZ/foo bar/REMI/r/NAME/N", &[]);
        assert_eq!(info.end_to_end_id.as_deref(), Some("E1"));
        assert_eq!(info.counterparty.name.as_deref(), Some("N"));
        assert_eq!(info.narrative, "r /ZZZZ/foo bar");
        let info = parse_86("/ZZZZ/x/EREF/E2", &[]);
        assert_eq!((info.end_to_end_id.as_deref(), info.narrative.as_str()), (Some("E2"), "/ZZZZ/x"));
        // Inside remittance text a code-looking word is text.
        let info = parse_86("/REMI/USTD//ORDER/ABCD/7/EREF/E3", &[]);
        assert_eq!((info.narrative.as_str(), info.end_to_end_id.as_deref()), ("ORDER/ABCD/7", Some("E3")));
        // Only unknown codes: free text.
        let info = parse_86("/ZZZZ/only", &[]);
        assert_eq!(info, Info { narrative: "/ZZZZ/only".into(), ..Info::default() });
        // GVC KREF+ is the customer reference.
        let info = parse_86(
            "166?00SEPA-UEBERWEISUNG?20KREF+DF-2024-03?21EREF+E-9?22SVWZ+Rente Maerz?31DE89370400440532013000",
            &[],
        );
        assert_eq!(info.customer_ref.as_deref(), Some("DF-2024-03"));
        assert_eq!(info.end_to_end_id.as_deref(), Some("E-9"));
        assert_eq!(info.narrative, "Rente Maerz");
    }

    #[test]
    fn owner_reference_and_supplementary_account() {
        // /PREF/ fills an empty customer reference, else it stays in the narrative.
        let s = one(&format!("{HEAD}:61:240321D1,00NTRFNONREF\n:86:/PREF/BATCH-9/REMI/pay\n:62F:C240321CNY99,00\n"));
        assert_eq!((s.entries[0].customer_ref.as_deref(), s.entries[0].narrative.as_str()), (Some("BATCH-9"), "pay"));
        let s = one(&format!("{HEAD}:61:240321D1,00NTRFOWN-1\n:86:/PREF/BATCH-9/REMI/pay\n:62F:C240321CNY99,00\n"));
        assert_eq!(
            (s.entries[0].customer_ref.as_deref(), s.entries[0].narrative.as_str()),
            (Some("OWN-1"), "pay BATCH-9")
        );
        // An account-shaped word of the supplementary details is the counterparty account
        // when :86: named none: an IBAN, 8-34 digits, a masked card number.
        for (sup, acct, rest) in [
            ("NL69INGB0123456789", "NL69INGB0123456789", "x"),
            ("6222020200112233445 张三", "6222020200112233445", "x 张三"),
            ("CARD 6217****1234", "6217****1234", "x CARD"),
        ] {
            let s = one(&format!("{HEAD}:61:240321C1,00NTRFNONREF//B1\n{sup}\n:86:x\n:62F:C240321CNY101,00\n"));
            let e = &s.entries[0];
            assert_eq!((e.counterparty_account.as_deref(), e.narrative.as_str()), (Some(acct), rest), "{sup}");
        }
        // Not an account: short numbers, a bad IBAN check, text.
        for sup in ["1234567", "NL69INGB0123456788", "j blom"] {
            let s = one(&format!("{HEAD}:61:240321C1,00NTRFNONREF//B1\n{sup}\n:62F:C240321CNY101,00\n"));
            assert_eq!(s.entries[0].counterparty_account, None, "{sup}");
        }
        // :86: wins over the supplementary details.
        let s = one(&format!(
            "{HEAD}:61:240321C1,00NTRFNONREF//B1\n6222020200112233445\n:86:/IBAN/NL91ABNA0417164300/REMI/r\n:62F:C240321CNY101,00\n"
        ));
        let e = &s.entries[0];
        assert_eq!(e.counterparty_account.as_deref(), Some("NL91ABNA0417164300"));
        assert_eq!(e.narrative, "r 6222020200112233445");
        // The bank reference itself is not searched: only what follows it.
        let s = one(&format!("{HEAD}:61:240321C1,00NTRFNONREF//12345678901\n:62F:C240321CNY101,00\n"));
        assert_eq!(s.entries[0].counterparty_account, None);
    }

    #[test]
    fn the_sending_bank_selects_its_lists() {
        assert_eq!(envelope_bank("{1:F01X}{2:O9401200240321CMBCCNBSAXXX00000000002403211200N}{4:"), Some("CMB"));
        assert_eq!(envelope_bank("{2:O9401200240321ICBKCNBJAXXX0000}"), None);
        assert_eq!(envelope_bank("{2:O94012"), None);
        assert_eq!(envelope_bank("{2:I940CMBCCNBSAXXXN}"), None);
        let s = one(":20:A\n:25:CMBCCNBS/755900001234567\n:60F:C240320CNY1,00\n:62F:C240320CNY1,00\n");
        assert_eq!(s.account, "CMBCCNBS/755900001234567");
        let limits = Limits::default();
        let mut p = Parser::new("t", &limits);
        for (n, l) in ":20:A\n:25:CMBCCNBS/755900001234567\n:60F:C240320CNY1,00\n".lines().enumerate() {
            p.line(n as u64 + 1, l).unwrap();
        }
        p.flush().unwrap();
        assert_eq!(p.cur.as_ref().and_then(|b| b.bank), Some("CMB"));
    }

    #[test]
    fn returns_booked_as_reversals() {
        let kind = |l61: &str, l86: &str| {
            let s = one(&format!("{HEAD}:61:{l61}\n:86:{l86}\n:62F:C240321CNY100,00\n"));
            s.entries[0].kind
        };
        assert_eq!(kind("240321RD5,00NTRFNONREF", "CORRECTION"), EntryKind::Reversal);
        assert_eq!(kind("240321RD5,00NTRFNONREF", "冲正"), EntryKind::Reversal);
        assert_eq!(kind("240321RD5,00NRTINONREF", "x"), EntryKind::Return);
        assert_eq!(kind("240321RD5,00NTRFNONREF", "/RTRN/AC04/EREF/E1"), EntryKind::Return);
        assert_eq!(kind("240321RD5,00NTRFNONREF", "RETURN OF PAYMENT ORIG REF V1"), EntryKind::Return);
        assert_eq!(kind("240321RD5,00NTRFNONREF", "退汇 原凭证 V1"), EntryKind::Return);
        assert_eq!(kind("240321RD5,00NTRFNONREF", "MD07 BENEFICIARY DECEASED"), EntryKind::Return);
        assert_eq!(kind("240321C5,00NTRFNONREF", "/RTRN/MS03/REMI/back"), EntryKind::Return);
        assert_eq!(kind("240321C5,00NTRFNONREF", "RETURN OF PAYMENT ORIG REF V1"), EntryKind::Return);
        assert_eq!(kind("240321C5,00NTRFNONREF", "退回多付款"), EntryKind::Transfer);
        assert_eq!(kind("240321D5,00NTRFNONREF", "账户管理费"), EntryKind::Fee);
    }

    #[test]
    fn envelope_dashes_and_line_ends() {
        let text = "{1:F01BANKCNBJAXXX0000000000}{2:O9401200240321BANKCNBJAXXX00000000002403211200N}{4:\r\n:20:A\r\n:25:ACC\r\n:28C:1\r\n:60F:C240320CNY0,\r\n:61:240321C1,NTRFNONREF\r:86:X\r\n-\r\nY\r\n:62F:C240321CNY1,\r\n-}{5:{CHK:0}}\r\n\x01\r\n:20:B\n:25:ACC\n:60F:C240321CNY1,\n:62M:C240321CNY1,\n-\x03\n\x1a:20:C\n:25:ACC\n:60M:C240321CNY1,\n:62F:C240321CNY1,";
        let v = parse("t.sta", text.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].entries[0].narrative, "X - Y");
        assert_eq!(v[0].location, "line 2");
        assert_eq!(v[0].entries[0].location, "line 6");
        assert_eq!(v[2].statement_id.as_deref(), Some("C"));
        assert_eq!(v[2].closing.as_ref().unwrap().amount.amount, dec!(1));
        // A bank header after `-` ends the message; a `{` in text is text.
        let text = ":20:A\n:25:ACC\n:60F:C240320CNY0,\n:61:240321C1,NTRFNONREF\n:86:{x}\n{y}\n:62F:C240321CNY1,\n-\nABNANL2A\n940\nABNANL2A\n:20:B\n:25:ACC\n:60F:C240321CNY1,\n:61:240321C1,NTRFNONREF\n:86:end -\n-\n:62F:C240321CNY2,\n";
        let v = parse("t.sta", text.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].entries[0].narrative, "{x} {y}");
        assert_eq!(v[1].entries[0].narrative, "end - -");
        assert_eq!(v[1].closing.as_ref().unwrap().amount.amount, dec!(2));
        // `{4:` with the first field on the same line.
        let v = parse("t.sta", b"{1:X}{4::20:A\n:25:B\n:60F:C240320CNY0,\n:62F:C240320CNY0,\n-}", &Limits::default())
            .unwrap();
        assert_eq!(v[0].account, "B");
        // A statement without its closing balance, or a message without its end, is cut off.
        let e = parse("t.sta", b"{1:X}{4::20:A\n:25:B\n:60F:C240320CNY0,\n-}", &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.sta:1: field :62F: closing balance: MT940 statement has no closing balance (:62F:/:62M:): the file is cut off or incomplete"
        );
        let e = parse("t.sta", b"{1:X}{4::20:A\n:25:B\n:60F:C240320CNY0,\n:62F:C240320CNY0,\n-", &Limits::default())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.sta:1: field {4: block: the file ends inside the message opened on line 1 (no closing -}): the file is cut off"
        );
        let e = parse(
            "t.sta",
            b"{1:X}{4::20:A\n:25:B\n:60F:C240320CNY0,\n:62F:C240320CNY0,\n{1:X}{4:\n",
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.sta:5: field {1: block: a new message starts but the message opened on line 1 has no closing -}: it is cut off"
        );
    }

    #[test]
    fn mt942_without_balances() {
        let s = one(
            ":20:ST170119CYC/0001\n:25:PL29114010810000267002001002\n:28C:1/1\n:34F:PLN0,\n:13D:1701191815+0100\n:61:1701190119CN0,01NTRFNONREF//MB170119012058\n:86:x\n:90D:0PLN0,00\n:90C:1PLN0,01\n",
        );
        assert_eq!((s.opening, s.closing), (None, None));
        assert_eq!(s.currency.as_str(), "PLN");
        assert_eq!(s.entries[0].amount.amount, dec!(0.01));
        assert_eq!(s.entries[0].amount.currency.as_str(), "PLN");
    }

    #[test]
    fn error_texts() {
        let e = err(&format!("{HEAD}:61:2403210321C12a,00NTRFX//Y\n"));
        assert_eq!(e, r#"bad.sta:5: field :61: amount: "12a,00" is not an amount"#);
        let e = err(":20:A\n:25:B\n:60F:C160230EUR1,00\n");
        assert_eq!(e, r#"bad.sta:3: field :60F: date: "160230" is not a date (YYMMDD)"#);
        let e = err(&format!("{HEAD}:61:1602300301DR6,00N024NONREF\n"));
        assert_eq!(e, r#"bad.sta:5: field :61: value date: "160230" is not a date (YYMMDD)"#);
        let e = err(&format!("{HEAD}:61:2403210230C6,00N024NONREF\n"));
        assert_eq!(e, r#"bad.sta:5: field :61: entry date: "0230" is not a date (MMDD)"#);
        let e = err(":20:A\n:28C:1\n:60F:C240320CNY1,00\n");
        assert_eq!(e, "bad.sta:1: field :25: account: statement has no :25: account identification");
        let e = err(&format!("{HEAD}:61:2403210321X6,00NTRFNONREF\n"));
        assert_eq!(e, r#"bad.sta:5: field :61: mark: "X6,00NTRFNONREF" does not start with C, D, RC or RD"#);
        let e = err(&format!("{HEAD}:61:2403210321C70777,78\n"));
        assert_eq!(
            e,
            "bad.sta:5: field :61: transaction type: line ends after the amount: no transaction type or reference"
        );
        let e = err(&format!("{HEAD}:61:2403210321C70777,78NTRFNONREF\n:62F:C240321EUR1,00\n"));
        assert_eq!(
            e,
            "bad.sta:6: field :62F: currency: currency EUR differs from the statement currency CNY (:60F: on line 4)"
        );
        let e = err(":20:A\n:25:B\n:60F:C240320CNY1234567890123,456\n");
        assert_eq!(e, r#"bad.sta:3: field :60F: amount: "1234567890123,456" has more than 15 digits"#);
        let e = err(":20:A\n:25:B\n:60F:D030106EUR000000001000.12\n");
        assert!(e.contains("not an amount (MT940 amounts have a decimal comma, not a dot)"), "{e}");
        let e = err(":25:B\n:60F:C240320CNY1,00\n");
        assert_eq!(e, "bad.sta:1: :25: comes before any :20: (no statement started)");
        let e = err(":20:A\n:25:B\n:61:240321C1,00NTRFX\n");
        assert!(e.starts_with("bad.sta:3: field :61: currency: currency unknown"), "{e}");
        let e = err("hello\n");
        assert_eq!(e, "bad.sta: no MT940/MT942 statement in the file (no :20: field)");
        let e = err(&format!("{HEAD}:61:2403210321C1,00NTRFX\n:60F:C240320CNY1,00\n"));
        assert_eq!(e, "bad.sta:6: field :60F: balance: second opening balance in one statement (first on line 4)");
        let long = "1".repeat(60);
        let e = err(&format!("{HEAD}:61:240321C{long}NTRF\n"));
        assert!(e.contains(&format!("{:?}...", &long[..40])), "{e}");
    }

    #[test]
    fn limits() {
        let text = format!("{HEAD}:61:240321C1,00NTRFX\n:61:240321C1,00NTRFX\n:86:{}\n", "y".repeat(100));
        let small = Limits { max_line_bytes: 50, ..Limits::default() };
        let e = parse("l.sta", text.as_bytes(), &small).unwrap_err().to_string();
        assert_eq!(e, "l.sta:7: line is 104 bytes, over the limit of 50 bytes");
        let small = Limits { max_entries_per_statement: 1, ..Limits::default() };
        let e = parse("l.sta", text.as_bytes(), &small).unwrap_err().to_string();
        assert_eq!(e, "l.sta:6: field :61: entry: more than 1 entries in one statement");
        let small = Limits { max_text_bytes: 50, ..Limits::default() };
        let e = parse("l.sta", text.as_bytes(), &small).unwrap_err().to_string();
        assert_eq!(e, "l.sta:7: field :86: text: field text is over the limit of 50 bytes");
        let small = Limits { max_statements: 1, ..Limits::default() };
        let two = format!("{HEAD}:62F:C240320CNY100,00\n{HEAD}");
        let e = parse("l.sta", two.as_bytes(), &small).unwrap_err().to_string();
        assert_eq!(e, "l.sta:6: field :20: statement: more than 1 statements in the file");
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        let samples: [&[u8]; 12] = [
            b"",
            b":",
            b":20:",
            b":20:\n:25:\n",
            b":20:A\n:25:B\n:60F:",
            b":20:A\n:25:B\n:60F:C\xff\xfe",
            b":20:A\n:25:B\n:60F:C240320CNY1,\n:61:24",
            b":20:A\n:25:B\n:60F:C240320CNY1,\n:61:240321R",
            b":20:A\n:25:B\n:60F:C240320CNY1,\n:61:2403210321CR",
            b"{4:{4:{4:",
            b"-\n-\n-}\n:86:?",
            b":20:A\n:25:B\n:60F:C240320CNY1,\n:61:240321C1,N\xe6\x8b\xa8\n",
        ];
        for s in samples {
            let _ = parse("f.sta", s, &Limits::default());
        }
        // Every prefix of a real statement, cut at every byte.
        let text = "{1:X}{4:\n:20:GXSB\n:25:4500\n:60F:C240320CNY80000000,00\n:61:2403210321C70777,78NINTNONREF//IN24Q1000001\n:86:活期结息 ?20EREF+X\n:62F:C240321CNY68070777,78\n-}";
        for i in 0..=text.len() {
            let _ = parse("f.sta", &text.as_bytes()[..i], &Limits::default());
        }
    }

    /// Streaming in pieces cut at every statement gives exactly what parsing the whole
    /// file gives: statements, line numbers in entries and errors, for every fixture.
    #[test]
    fn streaming_equals_whole_file_parsing() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/parse/mt940");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "sta" || x == "txt") {
                let bytes = std::fs::read(&p).unwrap();
                let whole = parse("f", &bytes, &Limits::default());
                for piece in [1, 64, PIECE_BYTES] {
                    let mut got = Vec::new();
                    let r = stream_pieces("f", &mut &bytes[..], &Limits::default(), piece, &mut |s| {
                        got.push(s);
                        Ok(())
                    });
                    match (&whole, r) {
                        (Ok(w), Ok(k)) => {
                            assert_eq!(k as usize, w.len(), "{}", p.display());
                            assert_eq!(&got, w, "{} piece {piece}", p.display());
                        }
                        (Err(w), Err(e)) => assert_eq!(&e, w, "{} piece {piece}", p.display()),
                        (w, r) => panic!("{} piece {piece}: whole {w:?}, streamed {r:?}", p.display()),
                    }
                }
                n += 1;
            }
        }
        assert!(n >= 10, "{n} fixtures");
    }
}
