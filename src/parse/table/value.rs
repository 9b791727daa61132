//! Cell values: what a spreadsheet or CSV cell holds, and the strict readers that turn one
//! into an amount, a date, a time, an account number or a currency.
//!
//! Every reader either returns the value or a message that quotes the cell; none guesses.
//! Accepted notations are the ones Chinese bank exports really use (see `formats/README.md`):
//! `1,234.56`, `￥1,234.56`, `+10000.00`, `CNY 123.18`, `(1,234.56)`, full-width digits,
//! `-`/`--`/blank for "no value"; dates `2024-01-05`, `2024/1/5`, `20240105`,
//! `2024年01月05日`, with an optional time, Excel serials (1900 system, 1900-02-29 refused).

use crate::money::{Currency, parse_plain};
use chrono::{Datelike, NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use std::str::FromStr;

/// One cell as read from the file. CSV cells are always `Text`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    Empty,
    Text(String),
    /// A numeric spreadsheet cell (Excel stores every number as an IEEE double).
    Number(f64),
    /// An integer spreadsheet cell (xlsx `t="n"` without fraction is still `Number`).
    Int(i64),
    /// A spreadsheet cell with a date/time number format: (y, m, d, h, min, s) as Excel
    /// shows it, and the raw serial.
    Date {
        ymd_hms: (u16, u8, u8, u8, u8, u8),
        serial: f64,
    },
    Bool(bool),
    /// `#N/A`, `#VALUE!`…
    Error(String),
}

impl Cell {
    /// [`Cell::text`], borrowed where the cell holds text (the common case).
    pub(crate) fn text_cow(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Text(s) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(other.text()),
        }
    }

    /// The cell as display text (for headers, metadata, narratives and error messages).
    pub(crate) fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(f) => number_text(*f),
            Cell::Int(i) => i.to_string(),
            Cell::Date { ymd_hms: (y, m, d, hh, mm, ss), .. } => {
                if (*hh, *mm, *ss) == (0, 0, 0) {
                    format!("{y:04}-{m:02}-{d:02}")
                } else {
                    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
                }
            }
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Cell::Error(e) => e.clone(),
        }
    }

    /// True when the cell holds nothing but blanks or a dash placeholder.
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => is_placeholder(clean(s)),
            _ => false,
        }
    }
}

/// Shortest text of a double that reads back to the same double; integers without `.0`.
pub(crate) fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 { format!("{}", f as i64) } else { format!("{f}") }
}

/// Whitespace as it appears in bank exports: ASCII blanks and tabs, NBSP, the ideographic
/// space U+3000, zero-width space and BOM.
pub(crate) fn is_blank_char(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}' | '\u{FEFF}')
}

/// Trims blanks, then unwraps the spreadsheet text guards `="…"`, `'…` and a leading tab.
/// A slice of `s`: called for every cell of every row, so it allocates nothing.
pub(crate) fn clean(s: &str) -> &str {
    let t = s.trim_matches(is_blank_char);
    let t = match t.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.trim_matches(is_blank_char),
        None => t,
    };
    t.strip_prefix('\'').unwrap_or(t).trim_matches(is_blank_char)
}

/// Runs of whitespace as one space, none at the ends (`split_whitespace` joined by " "),
/// borrowed when `s` is that already (nearly every cell).
pub(crate) fn single_spaced(s: &str) -> std::borrow::Cow<'_, str> {
    let mut prev_space = true; // a blank at the start needs the slow path too
    let plain = s.chars().all(|c| {
        let ok = !c.is_whitespace() || (c == ' ' && !prev_space);
        prev_space = c.is_whitespace();
        ok
    }) && !prev_space_at_end(s);
    if plain {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

fn prev_space_at_end(s: &str) -> bool {
    s.chars().next_back().is_some_and(char::is_whitespace)
}

/// `-`, `--`, `—`, `/`-free dash runs: "no value" in the idle amount column or a blank field.
pub(crate) fn is_placeholder(s: &str) -> bool {
    s.is_empty() || s.chars().all(|c| matches!(c, '-' | '－' | '—' | '–' | '―'))
}

/// Full-width ASCII forms (U+FF01…U+FF5E) to ASCII, the ideographic space to a space.
pub(crate) fn half_width(s: &str) -> std::borrow::Cow<'_, str> {
    // Most cells have no full-width character: then nothing is copied.
    if !s.chars().any(|c| matches!(c, '\u{FF01}'..='\u{FF5E}' | '\u{3000}')) {
        return std::borrow::Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// Header and key normalisation: half-width, no blanks at all (`日 志 号` = `日志号`), no
/// trailing colon, `="…"` unwrapped, ASCII lower case.
pub(crate) fn header_key(s: &str) -> String {
    let t = half_width(clean(s));
    let t: String = t.chars().filter(|c| !is_blank_char(*c)).collect();
    let t = t.trim_end_matches(':');
    t.to_ascii_lowercase()
}

/// `"text"` for error messages, cut to about 40 characters.
pub(crate) fn quote(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{:?}...", s.get(..i).unwrap_or("")),
        None => format!("{s:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Amounts

/// An amount cell: `Ok(None)` when blank or a dash placeholder; the currency when the
/// cell names one (`CNY 123.18`, `JPY1000.00`).
pub(crate) fn amount(cell: &Cell) -> Result<Option<(Decimal, Option<Currency>)>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Int(i) => Ok(Some((Decimal::from(*i), None))),
        Cell::Number(f) => float_amount(*f).map(|d| Some((d, None))),
        Cell::Text(s) => amount_text(s),
        other => Err(format!("{} is not an amount", quote(&other.text()))),
    }
}

/// A double as Excel shows it: at most 15 significant digits, then at most 2 decimals.
fn float_amount(f: f64) -> Result<Decimal, String> {
    if !f.is_finite() || f.abs() >= 1e17 {
        return Err(format!("{f} is not an amount"));
    }
    let sci = format!("{f:.14e}");
    let d = Decimal::from_scientific(&sci).map_err(|_| format!("{f} is not an amount"))?.normalize();
    if d.scale() > 2 {
        return Err(format!("{} has fractions of a fen (more than 2 decimals)", number_text(f)));
    }
    Ok(d)
}

fn amount_text(raw: &str) -> Result<Option<(Decimal, Option<Currency>)>, String> {
    let s = half_width(clean(raw));
    let s = s.trim();
    if is_placeholder(s) {
        return Ok(None);
    }
    let bad = || format!("{} is not an amount", quote(raw.trim()));
    let mut t = s;
    // A currency code in front: `CNY 123.18`, `CNY13.50`, `RMB 1.00`.
    let mut currency = None;
    let b = t.as_bytes();
    if b.len() > 3 && b[..3].iter().all(|c| c.is_ascii_alphabetic()) && !b[3].is_ascii_alphabetic() {
        let code = &t[..3];
        currency = Some(currency_name(code).ok_or_else(|| format!("{} names an unknown currency", quote(raw.trim())))?);
        t = t[3..].trim_start();
    }
    let mut negative = false;
    if let Some(r) = t.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        t = r.trim();
    }
    let strip_yen = |t: &str| -> String {
        let t = t.trim();
        let t = t.strip_prefix('￥').or_else(|| t.strip_prefix('¥')).unwrap_or(t);
        let t = t.strip_suffix('元').unwrap_or(t);
        t.trim().to_string()
    };
    let mut body = strip_yen(t);
    if let Some(r) = body.strip_prefix('-') {
        if negative {
            return Err(bad());
        }
        negative = true;
        body = strip_yen(r);
    } else if let Some(r) = body.strip_prefix('+') {
        body = strip_yen(r);
    }
    if body.is_empty() || body.starts_with(['-', '+']) {
        return Err(bad());
    }
    let plain = if body.contains(',') {
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body.as_str(), None),
        };
        let mut groups = int.split(',');
        let first = groups.next().unwrap_or("");
        if first.is_empty() || first.len() > 3 || !first.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        if !groups.all(|g| g.len() == 3 && g.bytes().all(|c| c.is_ascii_digit())) {
            return Err(bad());
        }
        let int: String = int.chars().filter(|c| *c != ',').collect();
        match frac {
            Some(f) => format!("{int}.{f}"),
            None => int,
        }
    } else {
        body
    };
    let d = parse_plain(&plain).ok_or_else(bad)?;
    if d.normalize().scale() > 2 {
        return Err(format!("{} has fractions of a fen (more than 2 decimals)", quote(raw.trim())));
    }
    Ok(Some((if negative { -d } else { d }, currency)))
}

// ---------------------------------------------------------------------------------------
// Currencies

/// `人民币`, `人民币元`, `CNY`, `RMB`, `元` → CNY; the other names banks print; any ISO code.
pub(crate) fn currency_name(s: &str) -> Option<Currency> {
    let k = header_key(s);
    let k = k.trim_end_matches("(元)");
    let c = match k {
        "人民币" | "人民币元" | "rmb" | "元" | "本币" | "cny" => "CNY",
        "美元" | "美金" | "usd" => "USD",
        "港币" | "港元" | "hkd" => "HKD",
        "欧元" | "eur" => "EUR",
        "日元" | "jpy" => "JPY",
        "英镑" | "gbp" => "GBP",
        "澳元" | "澳大利亚元" | "aud" => "AUD",
        "加元" | "加拿大元" | "cad" => "CAD",
        "新加坡元" | "sgd" => "SGD",
        "瑞士法郎" | "chf" => "CHF",
        other => return Currency::parse(other),
    };
    Currency::parse(c)
}

// ---------------------------------------------------------------------------------------
// Dates and times

/// The year and month of a statement title (`招商银行信用卡对账单（2024年01月）`), used for
/// dates written without a year (`01/05`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TitleMonth {
    pub year: i32,
    pub month: u32,
}

/// Finds `YYYY年MM月` in a title line.
pub(crate) fn title_month(s: &str) -> Option<TitleMonth> {
    let s = half_width(s);
    let chars: Vec<char> = s.chars().collect();
    for i in 0..chars.len() {
        if chars[i] != '年' || i < 4 {
            continue;
        }
        let y: String = chars[i - 4..i].iter().collect();
        if !y.chars().all(|c| c.is_ascii_digit()) || (i > 4 && chars[i - 5].is_ascii_digit()) {
            continue;
        }
        let mut j = i + 1;
        let mut m = String::new();
        while j < chars.len() && chars[j].is_ascii_digit() && m.len() < 2 {
            m.push(chars[j]);
            j += 1;
        }
        if j < chars.len() && chars[j] == '月' && !m.is_empty() {
            let year: i32 = y.parse().ok()?;
            let month: u32 = m.parse().ok()?;
            if (1..=12).contains(&month) && plausible_year(year) {
                return Some(TitleMonth { year, month });
            }
        }
    }
    None
}

/// Bank statements of fund accounts start after 1970 and this code will be replaced before
/// 2100: anything else is a broken or anonymised date, never a real one.
pub(crate) fn plausible_year(y: i32) -> bool {
    (1970..=2099).contains(&y)
}

fn ymd(y: i32, m: u32, d: u32, raw: &str) -> Result<NaiveDate, String> {
    if !plausible_year(y) {
        return Err(format!("{} has an implausible year {y}", quote(raw)));
    }
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("{} is not a date (no such day)", quote(raw)))
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A date cell, possibly with a time. `title` gives the year of `MM/DD` dates: a month
/// after the title month belongs to the year before (a January statement lists December).
pub(crate) fn date(cell: &Cell, title: Option<TitleMonth>) -> Result<Option<(NaiveDate, Option<NaiveTime>)>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Date { ymd_hms: (y, m, d, hh, mm, ss), serial } => {
            if *serial < 1.0 {
                return Err(format!("Excel cell holds a time of day ({}) where a date is expected", cell.text()));
            }
            if (*y, *m, *d) == (1900, 2, 29) {
                return Err(
                    "Excel serial 60 is 1900-02-29, a day that does not exist (Excel's 1900 leap-year bug)".into()
                );
            }
            let date = ymd(i32::from(*y), u32::from(*m), u32::from(*d), &cell.text())?;
            let time = NaiveTime::from_hms_opt(u32::from(*hh), u32::from(*mm), u32::from(*ss));
            Ok(Some((date, time.filter(|t| *t != NaiveTime::MIN))))
        }
        Cell::Number(f) => serial_or_yyyymmdd(*f).map(Some),
        Cell::Int(i) => serial_or_yyyymmdd(*i as f64).map(Some),
        Cell::Text(s) => date_text(s, title),
        other => Err(format!("{} is not a date", quote(&other.text()))),
    }
}

/// A number in a date column: `20240105` (8 digits) or an Excel serial (1900 system).
fn serial_or_yyyymmdd(f: f64) -> Result<(NaiveDate, Option<NaiveTime>), String> {
    let raw = number_text(f);
    if f.fract() == 0.0 && (19_700_101.0..=20_991_231.0).contains(&f) {
        let n = f as u32;
        return ymd((n / 10_000) as i32, n / 100 % 100, n % 100, &raw).map(|d| (d, None));
    }
    if !(1.0..2_958_466.0).contains(&f) {
        return Err(format!("{} is not a date", quote(&raw)));
    }
    let days = f.floor() as i64;
    if days == 60 {
        return Err("Excel serial 60 is 1900-02-29, a day that does not exist (Excel's 1900 leap-year bug)".into());
    }
    // Serials before the fictitious 29 February count from 1899-12-31, later ones from
    // 1899-12-30 (Excel treats 1900 as a leap year).
    let base = if days < 60 { NaiveDate::from_ymd_opt(1899, 12, 31) } else { NaiveDate::from_ymd_opt(1899, 12, 30) };
    let date = base
        .and_then(|b| b.checked_add_signed(chrono::Duration::days(days)))
        .ok_or_else(|| format!("{} is not a date", quote(&raw)))?;
    if !plausible_year(date.year()) {
        return Err(format!("{} (Excel serial for {date}) has an implausible year", quote(&raw)));
    }
    let secs = ((f - f.floor()) * 86_400.0).round() as u32;
    let time = if secs == 0 || secs >= 86_400 { None } else { NaiveTime::from_num_seconds_from_midnight_opt(secs, 0) };
    Ok((date, time))
}

fn date_text(raw: &str, title: Option<TitleMonth>) -> Result<Option<(NaiveDate, Option<NaiveTime>)>, String> {
    let s = half_width(clean(raw));
    let s = s.trim();
    if is_placeholder(s) {
        return Ok(None);
    }
    let bad = || format!("{} is not a date", quote(raw.trim()));
    // Split the date from a time: `2024-01-05 17:07:09`, `20240105 170709`, `2024-01-05T17:07`.
    let (dpart, tpart) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let (dpart, tpart) = if tpart.is_none() && dpart.len() == 14 && dpart.bytes().all(|c| c.is_ascii_digit()) {
        (&dpart[..8], Some(&dpart[8..]))
    } else {
        (dpart, tpart)
    };
    let date = if let Some(rest) = dpart.strip_suffix('日') {
        // 2024年01月05日
        let (y, rest) = rest.split_once('年').ok_or_else(bad)?;
        let (m, d) = rest.split_once('月').ok_or_else(bad)?;
        let (y, m, d) = (digits(y).ok_or_else(bad)?, digits(m).ok_or_else(bad)?, digits(d).ok_or_else(bad)?);
        if y < 1000 {
            return Err(bad());
        }
        ymd(y as i32, m, d, raw.trim())?
    } else if dpart.len() == 8 && dpart.bytes().all(|c| c.is_ascii_digit()) {
        let n: u32 = dpart.parse().map_err(|_| bad())?;
        ymd((n / 10_000) as i32, n / 100 % 100, n % 100, raw.trim())?
    } else {
        let sep = dpart.chars().find(|c| matches!(c, '-' | '/' | '.')).ok_or_else(bad)?;
        let parts: Vec<&str> = dpart.split(sep).collect();
        match parts.as_slice() {
            [y, m, d] if y.len() == 4 => {
                let (y, m, d) = (digits(y).ok_or_else(bad)?, digits(m).ok_or_else(bad)?, digits(d).ok_or_else(bad)?);
                if m > 99 || d > 99 {
                    return Err(bad());
                }
                ymd(y as i32, m, d, raw.trim())?
            }
            [m, d] if m.len() <= 2 && d.len() <= 2 => {
                let (m, d) = (digits(m).ok_or_else(bad)?, digits(d).ok_or_else(bad)?);
                let Some(t) = title else {
                    return Err(format!(
                        "{} has no year, and no \"YYYY年MM月\" statement title above the header gives one",
                        quote(raw.trim())
                    ));
                };
                let year = if m > t.month { t.year - 1 } else { t.year };
                ymd(year, m, d, raw.trim())?
            }
            _ => return Err(bad()),
        }
    };
    let time = match tpart {
        Some(t) if !t.is_empty() => Some(time_text(t).map_err(|_| bad())?),
        _ => None,
    };
    Ok(Some((date, time)))
}

/// A time cell: `17:07:09`, `17:07`, `170709`, `17时07分09秒`, or an Excel time fraction.
pub(crate) fn time(cell: &Cell) -> Result<Option<NaiveTime>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Date { ymd_hms: (_, _, _, hh, mm, ss), .. } => {
            Ok(NaiveTime::from_hms_opt(u32::from(*hh), u32::from(*mm), u32::from(*ss)))
        }
        Cell::Number(f) if (0.0..1.0).contains(f) => {
            let secs = (f * 86_400.0).round() as u32;
            Ok(NaiveTime::from_num_seconds_from_midnight_opt(secs.min(86_399), 0))
        }
        Cell::Number(f) => time_text(&number_text(*f)).map(Some),
        Cell::Int(i) => time_text(&i.to_string()).map(Some),
        Cell::Text(s) => {
            let t = half_width(clean(s));
            if is_placeholder(t.trim()) { Ok(None) } else { time_text(t.trim()).map(Some) }
        }
        other => Err(format!("{} is not a time", quote(&other.text()))),
    }
}

fn time_text(s: &str) -> Result<NaiveTime, String> {
    let bad = || format!("{} is not a time of day", quote(s));
    let t = s.trim();
    let t = t.split_once('.').map(|(a, _)| a).unwrap_or(t); // drop fractions of a second
    let (h, m, sec) = if t.contains(':') {
        let p: Vec<&str> = t.split(':').collect();
        match p.as_slice() {
            [h, m] => (*h, *m, "0"),
            [h, m, s] => (*h, *m, *s),
            _ => return Err(bad()),
        }
    } else if let Some(r) = t.strip_suffix('秒').or(Some(t)).filter(|_| t.contains('时')) {
        let (h, r) = r.split_once('时').ok_or_else(bad)?;
        let (m, s) = r.split_once('分').unwrap_or((r.trim_end_matches('分'), "0"));
        (h, m, if s.is_empty() { "0" } else { s })
    } else if t.bytes().all(|c| c.is_ascii_digit()) && (t.len() == 6 || t.len() == 4) {
        if t.len() == 6 { (&t[..2], &t[2..4], &t[4..]) } else { (&t[..2], &t[2..], "0") }
    } else {
        return Err(bad());
    };
    let ok = |x: &str| x.len() <= 2 && !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    if !ok(h) || !ok(m) || !ok(sec) {
        return Err(bad());
    }
    let (h, m, sec) = (
        u32::from_str(h).map_err(|_| bad())?,
        u32::from_str(m).map_err(|_| bad())?,
        u32::from_str(sec).map_err(|_| bad())?,
    );
    NaiveTime::from_hms_opt(h, m, sec).ok_or_else(bad)
}

// ---------------------------------------------------------------------------------------
// Account numbers and other identifiers

/// An account number or reference kept as text. Refuses what a spreadsheet already
/// destroyed: `6.22202E+18` and numeric cells of more than 15 digits (Excel keeps 15).
pub(crate) fn identifier(cell: &Cell) -> Result<Option<String>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Int(i) => {
            if i.unsigned_abs() >= 1_000_000_000_000_000 {
                return Err(format!(
                    "{i} is a number of more than 15 digits in a numeric cell: Excel has already rounded it; export account numbers as text"
                ));
            }
            Ok(Some(i.to_string()))
        }
        Cell::Number(f) => {
            if f.fract() != 0.0 || !f.is_finite() {
                return Err(format!("{} is not an account number or reference", quote(&number_text(*f))));
            }
            if f.abs() >= 1e15 {
                return Err(format!(
                    "{} is a number of more than 15 digits in a numeric cell: Excel has already rounded it; export account numbers as text",
                    quote(&format!("{f:E}"))
                ));
            }
            Ok(Some(number_text(*f)))
        }
        Cell::Text(s) => {
            let t = clean(s);
            if is_placeholder(t) {
                return Ok(None);
            }
            let h = half_width(t);
            if looks_scientific(&h) {
                return Err(format!(
                    "{} looks like a number mangled by a spreadsheet (digits lost); export account numbers as text",
                    quote(t)
                ));
            }
            Ok(Some(t.to_string()))
        }
        other => Err(format!("{} is not an account number or reference", quote(&other.text()))),
    }
}

/// `6.22202E+18`, `6.2220E18`, `1e+15`.
pub(crate) fn looks_scientific(s: &str) -> bool {
    let s = s.trim();
    let Some(i) = s.find(['e', 'E']) else { return false };
    let (m, e) = (&s[..i], &s[i + 1..]);
    let e = e.strip_prefix(['+', '-']).unwrap_or(e);
    let m = m.strip_prefix(['+', '-']).unwrap_or(m);
    !m.is_empty()
        && !e.is_empty()
        && e.bytes().all(|c| c.is_ascii_digit())
        && m.bytes().all(|c| c.is_ascii_digit() || c == b'.')
        && m.bytes().filter(|c| *c == b'.').count() <= 1
        && m.bytes().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    #[test]
    fn single_spaced_is_split_whitespace_joined() {
        for s in
            ["", " ", "a", "a b", "a  b", " a", "a ", "a\tb", "a\u{3000}b", "张 三", "a\u{200B}b", "a \n b", "\u{3000}"]
        {
            let want = s.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(super::single_spaced(s).as_ref(), want.as_str(), "{s:?}");
        }
        assert!(matches!(super::single_spaced("代发 工资"), std::borrow::Cow::Borrowed(_)));
    }

    use super::*;
    use rust_decimal::dec;

    fn t(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }

    #[test]
    fn amounts() {
        let ok = |s: &str| amount(&t(s)).unwrap().map(|(d, c)| (d, c.map(|c| c.to_string())));
        assert_eq!(ok("1,234.56"), Some((dec!(1234.56), None)));
        assert_eq!(ok("  1,234.56\t "), Some((dec!(1234.56), None)));
        assert_eq!(ok("￥1,234.56"), Some((dec!(1234.56), None)));
        assert_eq!(ok("-￥5.00"), Some((dec!(-5.00), None)));
        assert_eq!(ok("¥-5.00"), Some((dec!(-5.00), None)));
        assert_eq!(ok("+10000.00"), Some((dec!(10000.00), None)));
        assert_eq!(ok("１，２３４．５６"), Some((dec!(1234.56), None)));
        assert_eq!(ok("(1,234.56)"), Some((dec!(-1234.56), None)));
        assert_eq!(ok("CNY 123.18"), Some((dec!(123.18), Some("CNY".into()))));
        assert_eq!(ok("JPY1000.00"), Some((dec!(1000.00), Some("JPY".into()))));
        assert_eq!(ok("12.00元"), Some((dec!(12.00), None)));
        assert_eq!(ok("18.00               \t"), Some((dec!(18.00), None)));
        assert_eq!(ok("-"), None);
        assert_eq!(ok("--"), None);
        assert_eq!(ok(""), None);
        assert_eq!(ok("=\"1.00\""), Some((dec!(1.00), None)));
        for bad in ["1.2.3", "1,23.00", "12,3456.00", "xx,yyyy.zz", "1e5", "--1", "+-1", "1.001", "abc", "(-1)", "1,"] {
            assert!(amount(&t(bad)).is_err(), "{bad:?}");
        }
        assert_eq!(amount(&Cell::Number(1234.56)).unwrap(), Some((dec!(1234.56), None)));
        assert_eq!(amount(&Cell::Number(0.1 + 0.2)).unwrap(), Some((dec!(0.3), None)));
        assert!(amount(&Cell::Number(0.125)).is_err());
    }

    #[test]
    fn dates() {
        let d = |s: &str| date(&t(s), None).unwrap().unwrap();
        let day = NaiveDate::from_ymd_opt(2024, 1, 5).unwrap();
        for s in [
            "2024-01-05",
            "2024/01/05",
            "2024/1/5",
            "20240105",
            "2024年01月05日",
            "2024年1月5日",
            "２０２４－０１－０５",
            "2024.01.05",
        ] {
            assert_eq!(d(s).0, day, "{s}");
        }
        assert_eq!(d("20240105 17:07:09").1, NaiveTime::from_hms_opt(17, 7, 9));
        assert_eq!(d("2024/01/05  14:06:51").1, NaiveTime::from_hms_opt(14, 6, 51));
        assert_eq!(d("20240105170709").1, NaiveTime::from_hms_opt(17, 7, 9));
        assert!(date(&t("2024-02-30"), None).unwrap_err().contains("no such day"));
        assert!(date(&t("0250-02-27"), None).unwrap_err().contains("implausible year"));
        assert!(date(&t("2024-01-05 77:57:11"), None).is_err());
        assert!(date(&t("01/05"), None).unwrap_err().contains("no year"));
        let title = title_month("招商银行信用卡对账单（个人消费卡账户 2024年01月）（补）");
        assert_eq!(title, Some(TitleMonth { year: 2024, month: 1 }));
        assert_eq!(date(&t("12/29"), title).unwrap().unwrap().0, NaiveDate::from_ymd_opt(2023, 12, 29).unwrap());
        assert_eq!(date(&t("01/02"), title).unwrap().unwrap().0, NaiveDate::from_ymd_opt(2024, 1, 2).unwrap());
        assert_eq!(title_month("中国银行信用卡账单(0250年21月)"), None);
        // Excel serials, 1900 system: 45296 = 2024-01-05; 60 = the fictitious 1900-02-29.
        assert_eq!(date(&Cell::Number(45296.0), None).unwrap().unwrap().0, day);
        assert!(date(&Cell::Number(60.0), None).unwrap_err().contains("1900-02-29"));
        assert_eq!(date(&Cell::Number(20240105.0), None).unwrap().unwrap().0, day);
        let x = Cell::Date { ymd_hms: (1900, 2, 29, 0, 0, 0), serial: 60.0 };
        assert!(date(&x, None).unwrap_err().contains("leap-year bug"));
    }

    #[test]
    fn times() {
        let tm = |s: &str| time(&t(s)).unwrap();
        assert_eq!(tm("123456"), NaiveTime::from_hms_opt(12, 34, 56));
        assert_eq!(tm("17:07"), NaiveTime::from_hms_opt(17, 7, 0));
        assert_eq!(tm("17时07分09秒"), NaiveTime::from_hms_opt(17, 7, 9));
        assert_eq!(tm(""), None);
        assert!(time(&t("77:57:11")).is_err());
        assert!(time(&t("12345")).is_err());
    }

    #[test]
    fn identifiers() {
        assert_eq!(identifier(&t("\t6222020200012345678")).unwrap().as_deref(), Some("6222020200012345678"));
        assert_eq!(identifier(&t("'6222020200012345678")).unwrap().as_deref(), Some("6222020200012345678"));
        assert_eq!(identifier(&t("=\"6222020200012345678\"")).unwrap().as_deref(), Some("6222020200012345678"));
        assert!(identifier(&t("6.22202E+18")).unwrap_err().contains("mangled"));
        assert!(identifier(&Cell::Number(6.22202e18)).unwrap_err().contains("15 digits"));
        assert_eq!(identifier(&Cell::Number(6688.0)).unwrap().as_deref(), Some("6688"));
        assert_eq!(identifier(&t("1234****5678")).unwrap().as_deref(), Some("1234****5678"));
    }

    #[test]
    fn currencies() {
        for s in ["人民币", "人民币元", "CNY", "RMB", "rmb", "人民币(元)"] {
            assert_eq!(currency_name(s), Some(Currency::CNY), "{s}");
        }
        assert_eq!(currency_name("美元").map(|c| c.to_string()).as_deref(), Some("USD"));
        assert_eq!(currency_name("火星币"), None);
    }
}
