//! Exact money: a `rust_decimal::Decimal` always paired with its ISO 4217 currency.
//!
//! Floats never appear. Amounts are signed where the context says so (statement entries:
//! credit positive, debit negative). `Decimal` equality ignores scale, its `Display` does not,
//! so everything that prints, stores or hashes an amount goes through [`canonical`].

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Three upper-case ASCII letters (ISO 4217 alphabetic code). Stored inline, `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const CNY: Currency = Currency(*b"CNY");

    /// Accepts exactly three ASCII letters (any case) and upper-cases them.
    pub fn parse(s: &str) -> Option<Currency> {
        let b = s.as_bytes();
        if b.len() != 3 || !b.iter().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        Some(Currency([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase(), b[2].to_ascii_uppercase()]))
    }

    pub fn as_str(&self) -> &str {
        // The constructor admits ASCII letters only, so this cannot fail.
        std::str::from_utf8(&self.0).expect("currency code is ASCII")
    }

    /// Decimals of the currency's minor unit (ISO 4217 exponent): 2 for CNY, USD, EUR and
    /// every code not listed; 0 for JPY, KRW, VND…; 3 for the dinars; 4 for CLF/UYW. An
    /// amount with more significant decimals than this cannot be a booked amount.
    pub fn minor_units(&self) -> u32 {
        match &self.0 {
            b"BIF" | b"CLP" | b"DJF" | b"GNF" | b"ISK" | b"JPY" | b"KMF" | b"KRW" | b"PYG" | b"RWF" | b"UGX"
            | b"UYI" | b"VND" | b"VUV" | b"XAF" | b"XOF" | b"XPF" => 0,
            b"BHD" | b"IQD" | b"JOD" | b"KWD" | b"LYD" | b"OMR" | b"TND" => 3,
            b"CLF" | b"UYW" => 4,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s).ok_or_else(|| format!("{s:?} is not a three-letter currency code"))
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An amount with its currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Money {
        Money { amount, currency }
    }

    /// Sum in the same currency; `None` when the currencies differ or the sum overflows.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        Some(Money::new(self.amount.checked_add(other.amount)?, self.currency))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", canonical(self.amount), self.currency)
    }
}

/// The one textual form of an amount: normalised (no trailing zeros beyond the cents),
/// always at least two decimals, `-` for negatives, no thousands separators.
/// `1000` → `1000.00`, `-5.5` → `-5.50`, `0.125` → `0.125`.
pub fn canonical(d: Decimal) -> String {
    canonical_value(d).to_string()
}

/// The amount [`canonical`] prints, as a value: normalised, at least two decimals, never
/// `-0`. What an amount becomes after a trip through the database's money column, so
/// that an in-memory store ([`crate::store::memory`]) hands out the same values.
pub fn canonical_value(d: Decimal) -> Decimal {
    let mut n = d.normalize();
    if n.scale() < 2 {
        n.rescale(2);
    }
    if n.is_zero() {
        // -0.00 must never be printed.
        n.set_sign_positive(true);
    }
    n
}

/// `1234567.8` → `1,234,567.80` for human-facing summaries (never for machine output).
pub fn grouped(d: Decimal) -> String {
    let s = canonical(d);
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s.as_str()),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}.{frac}")
}

/// Parses a plain decimal amount (`123`, `123.4`, `-0.50`). Rejects exponents, separators,
/// signs in the middle and anything over 28 significant digits: callers that accept other
/// notations (comma decimals, `1,234.56`) clean them first and say so in their errors.
pub fn parse_plain(s: &str) -> Option<Decimal> {
    let t = s.strip_prefix('-').unwrap_or(s);
    if t.is_empty() || t.starts_with('.') || t.ends_with('.') {
        return None;
    }
    if !t.bytes().all(|c| c.is_ascii_digit() || c == b'.') || t.bytes().filter(|&c| c == b'.').count() > 1 {
        return None;
    }
    Decimal::from_str_exact(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical(dec!(1000)), "1000.00");
        assert_eq!(canonical(dec!(-5.5)), "-5.50");
        assert_eq!(canonical(dec!(0.125)), "0.125");
        assert_eq!(canonical(dec!(-1234.5600)), "-1234.56");
        assert_eq!(canonical(dec!(-0.00)), "0.00");
    }

    #[test]
    fn grouped_forms() {
        assert_eq!(grouped(dec!(1234567.8)), "1,234,567.80");
        assert_eq!(grouped(dec!(-100)), "-100.00");
        assert_eq!(grouped(dec!(999)), "999.00");
    }

    #[test]
    fn plain_amounts() {
        assert_eq!(parse_plain("12.30"), Some(dec!(12.30)));
        assert_eq!(parse_plain("-0.5"), Some(dec!(-0.5)));
        for bad in ["", ".", "1.", ".5", "1e5", "1,000", "1.2.3", "--1", "+1", " 1"] {
            assert_eq!(parse_plain(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::parse("cny"), Some(Currency::CNY));
        assert_eq!(Currency::parse("CN"), None);
        assert_eq!(Currency::parse("C1Y"), None);
        let a = Money::new(dec!(1), Currency::CNY);
        let b = Money::new(dec!(1), Currency::parse("EUR").unwrap());
        assert_eq!(a.checked_add(b), None);
    }
}
