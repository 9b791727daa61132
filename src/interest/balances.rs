//! Daily end-of-day balances: from statement postings, or from a `date,balance` CSV.
//!
//! Interest accrues on the end-of-day balance of every calendar day. From postings the
//! balance follows the booking date (记账日), while a posting whose value date (起息日)
//! differs earns from its value date: a back-valued credit booked on the 5th with value
//! the 2nd adds three days of its amount to the 积数 (积数调整). [`daily_balances`] returns
//! both the booked balances and the interest-bearing ones, plus each adjustment. Days that
//! no statement covers are an error listing every gap: a missing day may hide postings, so
//! it is reported, not filled in.

use super::error::{CsvProblem, runs};
use super::{InterestError, MAX_AMOUNT, MAX_DATE, MAX_DAYS, MIN_DATE};
use crate::money::parse_plain;
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One statement line: signed amount (credit positive), booking and value dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub booking: NaiveDate,
    pub value: NaiveDate,
    pub amount: Decimal,
}

/// A posting whose value date differs from its booking date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueAdjustment {
    /// Index of the posting in the input.
    pub index: usize,
    pub booking: NaiveDate,
    pub value: NaiveDate,
    pub amount: Decimal,
    /// Booking minus value date: positive = back-valued, negative = forward-valued.
    pub days: i64,
    /// The 积数 adjustment, `amount × days`.
    pub product: Decimal,
    /// The part of `days` before the first day computed: not in the daily balances, to be
    /// carried to the window the value date belongs to (already settled, as a rule).
    pub days_before_range: i64,
    pub product_before_range: Decimal,
}

/// End-of-day balances for `first ..= last`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyBalances {
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// By booking date, one per day from `first`.
    pub booked: Vec<Decimal>,
    /// By value date: what earns interest, one per day from `first`.
    pub accrual: Vec<Decimal>,
    pub adjustments: Vec<ValueAdjustment>,
}

impl DailyBalances {
    /// The interest-bearing balances in the form [`super::accrue`] takes.
    pub fn for_accrual(&self) -> super::DayBalances<'_> {
        super::DayBalances { first: self.first, balances: &self.accrual }
    }
}

fn in_range(d: NaiveDate) -> bool {
    (MIN_DATE..=MAX_DATE).contains(&d)
}

fn day_index(first: NaiveDate, d: NaiveDate) -> usize {
    (d - first).num_days().max(0) as usize
}

/// Balances for `first ..= last` from the balance at the start of `first` (the end-of-day
/// balance of the day before) and the postings booked in the range. `covered` lists the
/// day ranges (inclusive) that statements cover; every day in the range must be covered.
pub fn daily_balances(
    opening: Decimal,
    first: NaiveDate,
    last: NaiveDate,
    postings: &[Posting],
    covered: &[(NaiveDate, NaiveDate)],
) -> Result<DailyBalances, InterestError> {
    if first > last {
        return Err(InterestError::Input(format!("the range {first}…{last} is reversed")));
    }
    if !in_range(first) || !in_range(last) {
        return Err(InterestError::Input(format!("{first}…{last} is outside {MIN_DATE}…{MAX_DATE}")));
    }
    let n = (last - first).num_days() + 1;
    if n > MAX_DAYS {
        return Err(InterestError::Limit(format!("{n} days in {first}…{last}; at most {MAX_DAYS}")));
    }
    let n = n as usize;

    // Coverage first: a gap makes everything after it unknowable.
    let mut is_covered = vec![false; n];
    for &(a, b) in covered {
        let (a, b) = (a.max(first), b.min(last));
        if a <= b {
            is_covered[day_index(first, a)..=day_index(first, b)].iter_mut().for_each(|c| *c = true);
        }
    }
    let missing: Vec<NaiveDate> =
        first.iter_days().take(n).zip(&is_covered).filter(|(_, c)| !**c).map(|(d, _)| d).collect();
    if !missing.is_empty() {
        return Err(InterestError::StatementGaps(runs(&missing)));
    }

    let overflow = || InterestError::Overflow("summing balances");
    let mut delta_booked = vec![Decimal::ZERO; n + 1];
    let mut delta_value = vec![Decimal::ZERO; n + 1];
    let mut adjustments = Vec::new();
    for (index, p) in postings.iter().enumerate() {
        let bad = |message: String| InterestError::Posting { index, message };
        if p.booking < first || p.booking > last {
            return Err(bad(format!("booked {} outside {first}…{last}", p.booking)));
        }
        if !in_range(p.value) {
            return Err(bad(format!("value date {} is outside {MIN_DATE}…{MAX_DATE}", p.value)));
        }
        if p.amount.abs() > MAX_AMOUNT {
            return Err(bad(format!("amount {} is larger than {MAX_AMOUNT}", p.amount)));
        }
        let b = day_index(first, p.booking);
        delta_booked[b] = delta_booked[b].checked_add(p.amount).ok_or_else(overflow)?;
        // The value-dated effect starts on the value date, clipped to the range.
        let v = if p.value < first { 0 } else { ((p.value - first).num_days() as usize).min(n) };
        delta_value[v] = delta_value[v].checked_add(p.amount).ok_or_else(overflow)?;
        if p.value != p.booking {
            let days = (p.booking - p.value).num_days();
            let before = if p.value < first { (first - p.value).num_days() } else { 0 };
            adjustments.push(ValueAdjustment {
                index,
                booking: p.booking,
                value: p.value,
                amount: p.amount,
                days,
                product: p.amount * Decimal::from(days),
                days_before_range: before,
                product_before_range: p.amount * Decimal::from(before),
            });
        }
    }
    let mut booked = Vec::with_capacity(n);
    let mut accrual = Vec::with_capacity(n);
    let (mut bb, mut vb) = (opening, opening);
    for i in 0..n {
        bb = bb.checked_add(delta_booked[i]).ok_or_else(overflow)?;
        vb = vb.checked_add(delta_value[i]).ok_or_else(overflow)?;
        booked.push(bb);
        accrual.push(vb);
    }
    Ok(DailyBalances { first, last, booked, accrual, adjustments })
}

/// Largest balances CSV accepted.
pub const MAX_CSV_BYTES: usize = 16 << 20;

/// Reads `date,balance` rows (end-of-day balances; header required; UTF-8, BOM allowed).
/// Every malformed line is reported with its line number and field. Dates may come in any
/// order; a date twice is an error naming both lines.
pub fn read_balances_csv(bytes: &[u8]) -> Result<BTreeMap<NaiveDate, Decimal>, InterestError> {
    if bytes.len() > MAX_CSV_BYTES {
        return Err(InterestError::Limit(format!("balances CSV: {} bytes; at most {MAX_CSV_BYTES}", bytes.len())));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut problems = Vec::new();
    let mut out: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
    let mut line_of: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    let mut header_seen = false;
    for rec in rdr.records() {
        if problems.len() >= 100 {
            break;
        }
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                problems.push(CsvProblem { line, field: None, message: format!("unreadable: {e}") });
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if !header_seen {
            header_seen = true;
            let fields: Vec<&str> = rec.iter().map(str::trim).collect();
            if fields != ["date", "balance"] {
                problems.push(CsvProblem {
                    line,
                    field: None,
                    message: format!("header must be `date,balance`, found `{}`", fields.join(",")),
                });
                if fields.len() != 2 || NaiveDate::parse_from_str(fields[0], "%Y-%m-%d").is_err() {
                    continue;
                }
            } else {
                continue;
            }
        }
        if rec.len() != 2 {
            problems.push(CsvProblem {
                line,
                field: None,
                message: format!("{} fields, expected 2 (date,balance)", rec.len()),
            });
            continue;
        }
        let (ds, bs) = (rec[0].trim(), rec[1].trim());
        let date = match NaiveDate::parse_from_str(ds, "%Y-%m-%d") {
            Ok(d) if in_range(d) => Some(d),
            Ok(d) => {
                problems.push(CsvProblem {
                    line,
                    field: Some("date"),
                    message: format!("{d} is outside {MIN_DATE}…{MAX_DATE}"),
                });
                None
            }
            Err(_) => {
                problems.push(CsvProblem {
                    line,
                    field: Some("date"),
                    message: format!("{ds:?} is not a date (YYYY-MM-DD)"),
                });
                None
            }
        };
        let balance = match parse_plain(bs) {
            Some(b) if b.normalize().scale() > 2 => {
                problems.push(CsvProblem {
                    line,
                    field: Some("balance"),
                    message: format!("{bs:?} has more than two decimals"),
                });
                None
            }
            Some(b) if b.abs() > MAX_AMOUNT => {
                problems.push(CsvProblem {
                    line,
                    field: Some("balance"),
                    message: format!("{bs} is larger than {MAX_AMOUNT}"),
                });
                None
            }
            Some(b) => Some(b),
            None => {
                problems.push(CsvProblem {
                    line,
                    field: Some("balance"),
                    message: format!("{bs:?} is not an amount (plain decimal such as 1234.56, no separators)"),
                });
                None
            }
        };
        if let (Some(d), Some(b)) = (date, balance) {
            if let Some(prev) = line_of.insert(d, line) {
                problems.push(CsvProblem {
                    line,
                    field: Some("date"),
                    message: format!("{d} already given on line {prev}"),
                });
            }
            out.insert(d, b);
        }
    }
    if !header_seen && problems.is_empty() {
        problems.push(CsvProblem { line: 1, field: None, message: "empty: expected the header `date,balance`".into() });
    }
    if problems.is_empty() { Ok(out) } else { Err(InterestError::Csv(problems)) }
}

/// The balances for every day of `from ..= to`, or the missing days (every one, as runs).
pub fn balances_for(
    map: &BTreeMap<NaiveDate, Decimal>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Decimal>, InterestError> {
    if from > to {
        return Err(InterestError::Input(format!("the range {from}…{to} is reversed")));
    }
    let n = (to - from).num_days() + 1;
    if n > MAX_DAYS {
        return Err(InterestError::Limit(format!("{n} days in {from}…{to}; at most {MAX_DAYS}")));
    }
    let mut out = Vec::with_capacity(n as usize);
    let mut missing = Vec::new();
    let mut d = from;
    for _ in 0..n {
        match map.get(&d) {
            Some(b) => out.push(*b),
            None => missing.push(d),
        }
        d = d.checked_add_days(Days::new(1)).unwrap_or(d);
    }
    if missing.is_empty() { Ok(out) } else { Err(InterestError::MissingBalances(runs(&missing))) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn back_valued_posting_adjusts_the_value_dates() {
        let postings = [
            Posting { booking: d("2025-04-05"), value: d("2025-04-02"), amount: dec!(1000) },
            Posting { booking: d("2025-04-03"), value: d("2025-04-03"), amount: dec!(-50) },
        ];
        let b = daily_balances(
            dec!(100),
            d("2025-04-01"),
            d("2025-04-06"),
            &postings,
            &[(d("2025-04-01"), d("2025-04-06"))],
        )
        .unwrap();
        assert_eq!(b.booked, [dec!(100), dec!(100), dec!(50), dec!(50), dec!(1050), dec!(1050)]);
        assert_eq!(b.accrual, [dec!(100), dec!(1100), dec!(1050), dec!(1050), dec!(1050), dec!(1050)]);
        assert_eq!(b.adjustments.len(), 1);
        assert_eq!((b.adjustments[0].days, b.adjustments[0].product), (3, dec!(3000)));
        let sum = |v: &[Decimal]| v.iter().copied().sum::<Decimal>();
        assert_eq!(sum(&b.accrual) - sum(&b.booked), dec!(3000));
    }

    #[test]
    fn value_date_before_the_range_is_reported_apart() {
        let postings = [Posting { booking: d("2025-04-02"), value: d("2025-03-30"), amount: dec!(10) }];
        let b =
            daily_balances(dec!(0), d("2025-04-01"), d("2025-04-02"), &postings, &[(d("2025-03-01"), d("2025-04-30"))])
                .unwrap();
        assert_eq!(b.accrual, [dec!(10), dec!(10)]);
        let a = b.adjustments[0];
        assert_eq!((a.days, a.days_before_range, a.product_before_range), (3, 2, dec!(20)));
    }

    #[test]
    fn forward_valued_posting_earns_from_its_value_date() {
        let postings = [Posting { booking: d("2025-04-01"), value: d("2025-04-03"), amount: dec!(10) }];
        let b =
            daily_balances(dec!(0), d("2025-04-01"), d("2025-04-03"), &postings, &[(d("2025-04-01"), d("2025-04-03"))])
                .unwrap();
        assert_eq!(b.booked, [dec!(10), dec!(10), dec!(10)]);
        assert_eq!(b.accrual, [dec!(0), dec!(0), dec!(10)]);
        assert_eq!(b.adjustments[0].product, dec!(-20));
    }

    #[test]
    fn gaps_are_errors_not_guesses() {
        let cover = [(d("2025-04-01"), d("2025-04-02")), (d("2025-04-05"), d("2025-04-05"))];
        let err = daily_balances(dec!(0), d("2025-04-01"), d("2025-04-07"), &[], &cover).unwrap_err();
        assert_eq!(err.to_string(), "statements do not cover 2025-04-03…2025-04-04, 2025-04-06…2025-04-07");
        let p = [Posting { booking: d("2025-05-01"), value: d("2025-05-01"), amount: dec!(1) }];
        let err = daily_balances(dec!(0), d("2025-04-01"), d("2025-04-02"), &p, &[(d("2025-04-01"), d("2025-04-02"))]);
        assert!(err.unwrap_err().to_string().starts_with("posting 0: booked 2025-05-01"));
    }

    #[test]
    fn csv_reading() {
        let m = read_balances_csv(b"\xEF\xBB\xBFdate,balance\n2025-01-02,10.5\n2025-01-01,-3\n").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[&d("2025-01-02")], dec!(10.5));
        let err =
            read_balances_csv(b"date,balance\n2025-01-01,1\n2025-01-01,2\n2025-02-30,x\n").unwrap_err().to_string();
        assert!(err.contains("line 3, field `date`: 2025-01-01 already given on line 2"), "{err}");
        assert!(err.contains("line 4, field `date`"), "{err}");
        assert!(err.contains("line 4, field `balance`"), "{err}");
        assert!(read_balances_csv(b"").is_err());
        assert!(read_balances_csv(b"day,amount\n").unwrap_err().to_string().contains("header"));
    }
}
