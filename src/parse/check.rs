//! One validation step every parser's statements pass through (in [`super::parse`],
//! [`super::parse_for_account`] and [`super::stream`]), so that the same values are refused
//! whatever the format and whichever backend stores them, with the place in the file:
//!
//! - an amount or balance with more significant decimals than its currency's minor unit
//!   ([`Currency::minor_units`]: `12000000,001` CNY, `7056.001`); trailing zeros are fine;
//! - a date outside the years 1900..=2200 (a camt `0000-01-01`): no bank books there;
//! - a control character other than tab, CR and LF in any text (a NUL in a narrative is
//!   stored by SQLite but refused by PostgreSQL, naming no place in the file).

use super::{Location, ParseError};
use crate::money::Currency;
use crate::statement::{Entry, Statement};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

/// The years a booking, value or balance date may fall in.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A statement or entry's `location` (`line 17`, an XML path, `sheet X row 5`) as a place.
fn place(loc: &str) -> Location {
    match loc.strip_prefix("line ").and_then(|n| n.parse().ok()) {
        Some(n) => Location::Line(n),
        None if loc.is_empty() => Location::File,
        None => Location::XPath(loc.to_string()),
    }
}

fn refuse(file: &str, loc: &str, field: &str, message: String) -> ParseError {
    ParseError::new(file, place(loc), Some(field), message)
}

fn amount(file: &str, loc: &str, field: &str, d: Decimal, ccy: Currency) -> Result<(), ParseError> {
    let scale = d.normalize().scale();
    if scale > ccy.minor_units() {
        return Err(refuse(
            file,
            loc,
            field,
            format!("{d} has {scale} decimals; {ccy} has {} (an amount cannot be right)", ccy.minor_units()),
        ));
    }
    Ok(())
}

fn date(file: &str, loc: &str, field: &str, d: NaiveDate) -> Result<(), ParseError> {
    if !YEARS.contains(&d.year()) {
        return Err(refuse(
            file,
            loc,
            field,
            format!("date {d} is outside the years {}..={}", YEARS.start(), YEARS.end()),
        ));
    }
    Ok(())
}

/// The first control character other than tab, CR and LF in `s`, described with its
/// 1-based character position (`control character U+0000 at character 3 of the text`).
pub fn control_character(s: &str) -> Option<String> {
    let (i, c) = s.char_indices().find(|&(_, c)| c.is_ascii_control() && !matches!(c, '\t' | '\r' | '\n'))?;
    Some(format!("control character U+{:04X} at character {} of the text", c as u32, s[..i].chars().count() + 1))
}

fn text(file: &str, loc: &str, field: &str, s: &str) -> Result<(), ParseError> {
    match control_character(s) {
        Some(what) => Err(refuse(file, loc, field, format!("{what}: not text a bank writes"))),
        None => Ok(()),
    }
}

fn opt_text(file: &str, loc: &str, field: &str, s: &Option<String>) -> Result<(), ParseError> {
    s.as_deref().map_or(Ok(()), |s| text(file, loc, field, s))
}

fn entry(file: &str, e: &Entry) -> Result<(), ParseError> {
    let loc = e.location.as_str();
    amount(file, loc, "amount", e.amount.amount, e.amount.currency)?;
    date(file, loc, "booking date", e.booking_date)?;
    if let Some(v) = e.value_date {
        date(file, loc, "value date", v)?;
    }
    text(file, loc, "narrative", &e.narrative)?;
    for (field, v) in [
        ("bank reference", &e.bank_ref),
        ("customer reference", &e.customer_ref),
        ("end-to-end id", &e.end_to_end_id),
        ("counterparty account", &e.counterparty_account),
        ("counterparty name", &e.counterparty_name),
        ("counterparty bank", &e.counterparty_bank),
        ("type code", &e.type_code),
        ("return reason", &e.return_reason),
    ] {
        opt_text(file, loc, field, v)?;
    }
    if let Some(b) = &e.batch {
        if let Some(t) = b.total {
            amount(file, loc, "batch total", t, e.amount.currency)?;
        }
        for item in &b.items {
            if let Some(a) = item.amount {
                amount(file, loc, "batch item amount", a, e.amount.currency)?;
            }
            opt_text(file, loc, "batch item end-to-end id", &item.end_to_end_id)?;
            opt_text(file, loc, "batch item counterparty account", &item.counterparty_account)?;
            opt_text(file, loc, "batch item counterparty name", &item.counterparty_name)?;
            opt_text(file, loc, "batch item narrative", &item.narrative)?;
        }
    }
    Ok(())
}

/// Refuses a statement holding a value that cannot be right (see the module text).
pub fn statement(file: &str, s: &Statement) -> Result<(), ParseError> {
    let loc = s.location.as_str();
    text(file, loc, "account", &s.account)?;
    opt_text(file, loc, "statement id", &s.statement_id)?;
    opt_text(file, loc, "sequence", &s.sequence)?;
    for (field, date_field, b) in [
        ("opening balance", "opening balance date", &s.opening),
        ("closing balance", "closing balance date", &s.closing),
    ] {
        if let Some(b) = b {
            amount(file, loc, field, b.amount.amount, b.amount.currency)?;
            date(file, loc, date_field, b.date)?;
        }
    }
    s.entries.iter().try_for_each(|e| entry(file, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn minor_units_decide_the_decimals() {
        let cny = Currency::CNY;
        assert!(amount("f", "line 3", "amount", dec!(12000000.00), cny).is_ok());
        assert!(amount("f", "line 3", "amount", dec!(12000000.010), cny).is_ok());
        let e = amount("f", "line 3", "amount", dec!(12000000.001), cny).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:3: field amount: 12000000.001 has 3 decimals; CNY has 2 (an amount cannot be right)"
        );
        let jpy = Currency::parse("JPY").unwrap();
        assert!(amount("f", "line 3", "amount", dec!(1000.00), jpy).is_ok());
        assert!(amount("f", "line 3", "amount", dec!(1000.5), jpy).is_err());
    }

    #[test]
    fn dates_and_control_characters() {
        let d = NaiveDate::from_ymd_opt(0, 1, 1).unwrap();
        let e = date("f.xml", "/Document/Ntry[1]/BookgDt", "booking date", d).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.xml at /Document/Ntry[1]/BookgDt: field booking date: date 0000-01-01 is outside the years 1900..=2200"
        );
        assert!(text("f", "line 1", "narrative", "a\tb\r\nc 拨付").is_ok());
        let e = text("f", "line 9", "narrative", "ab\0c").unwrap_err();
        assert_eq!(e.location, Location::Line(9));
        assert!(e.message.contains("U+0000 at character 3"), "{e}");
    }
}
