//! PBOC benchmark deposit rates and the self-discipline caps, as data.
//!
//! The benchmark table (domain §1.2) has not changed since 2015-10-24, but agreements still
//! quote it and auditors compare against it: a demand rate below 0.35 % or a 协定 rate below
//! 1.15 % is worth a warning. The caps (§1.3) bound what a bank may pay: until 2015-10-24 a
//! multiple of the benchmark; since 2023-05-15 benchmark + 10bp (big state banks) or +20bp
//! (others) for 协定 and 通知. A rate above the cap will not be paid (手工补息 banned 2024-04).
//! Between 2015-10-24 and 2023-05-15 no cap figures are on record here, so nothing is checked.
//! Adding a row is the whole change when the figures move.

use super::terms::{BankClass, Leg, RateRow};
use chrono::NaiveDate;
use rust_decimal::{Decimal, dec};

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(x) => x,
        None => NaiveDate::MIN,
    }
}

/// One row of benchmark rates, % p.a., in force from `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchmarkRow {
    pub from: NaiveDate,
    pub demand: Decimal,
    pub m3: Decimal,
    pub m6: Decimal,
    pub y1: Decimal,
    pub y2: Decimal,
    pub y3: Decimal,
    pub agreed: Decimal,
    pub notice_1d: Decimal,
    pub notice_7d: Decimal,
}

macro_rules! row {
    ($y:literal, $m:literal, $d:literal: $dem:literal $m3:literal $m6:literal $y1:literal $y2:literal $y3:literal
     $agr:literal $n1:literal $n7:literal) => {
        BenchmarkRow {
            from: date($y, $m, $d),
            demand: dec!($dem),
            m3: dec!($m3),
            m6: dec!($m6),
            y1: dec!($y1),
            y2: dec!($y2),
            y3: dec!($y3),
            agreed: dec!($agr),
            notice_1d: dec!($n1),
            notice_7d: dec!($n7),
        }
    };
}

/// Domain §1.2. Earlier rows are not on record; before 2012-07-06 nothing is compared.
pub const BENCHMARK: [BenchmarkRow; 7] = [
    row!(2012, 7, 6: 0.35 2.60 2.80 3.00 3.75 4.25 1.15 0.80 1.35),
    row!(2014, 11, 22: 0.35 2.35 2.55 2.75 3.35 4.00 1.15 0.80 1.35),
    row!(2015, 3, 1: 0.35 2.10 2.30 2.50 3.10 3.75 1.15 0.80 1.35),
    row!(2015, 5, 11: 0.35 1.85 2.05 2.25 2.85 3.50 1.15 0.80 1.35),
    row!(2015, 6, 28: 0.35 1.60 1.80 2.00 2.60 3.25 1.15 0.80 1.35),
    row!(2015, 8, 26: 0.35 1.35 1.55 1.75 2.35 3.00 1.15 0.80 1.35),
    row!(2015, 10, 24: 0.35 1.10 1.30 1.50 2.10 2.75 1.15 0.80 1.35),
];

/// The benchmark row in force on `d`, if the table reaches back that far.
pub fn benchmark_on(d: NaiveDate) -> Option<&'static BenchmarkRow> {
    BENCHMARK.iter().rev().find(|r| r.from <= d)
}

/// The benchmark for a leg on `d`. Time deposits need their term (3, 6, 12, 24, 36 months).
pub fn benchmark_rate(leg: Leg, term_months: Option<u32>, d: NaiveDate) -> Option<Decimal> {
    let r = benchmark_on(d)?;
    Some(match leg {
        Leg::Demand => r.demand,
        Leg::Agreed => r.agreed,
        Leg::Notice1d => r.notice_1d,
        Leg::Notice7d => r.notice_7d,
        Leg::Time => match term_months? {
            3 => r.m3,
            6 => r.m6,
            12 => r.y1,
            24 => r.y2,
            36 => r.y3,
            _ => return None,
        },
    })
}

/// The benchmark demand rate as a rate table (for "what plain 活期 would have paid").
pub fn demand_table() -> Vec<RateRow> {
    BENCHMARK
        .iter()
        .map(|b| RateRow {
            from: b.from,
            demand: Some(b.demand),
            agreed: None,
            notice_1d: None,
            notice_7d: None,
            time: None,
        })
        .collect()
}

/// How a cap is derived from the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapRule {
    /// Benchmark × factor (float ceiling, administered-rate era).
    Times(Decimal),
    /// Benchmark + this many percentage points (0.10 = 10bp).
    Plus(Decimal),
}

/// One cap row: from `from` until the next row for the same leg and class (or `until`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapRow {
    pub from: NaiveDate,
    /// Last day in force; `None` = still in force.
    pub until: Option<NaiveDate>,
    pub legs: &'static [Leg],
    /// `None` = all banks.
    pub class: Option<BankClass>,
    pub rule: CapRule,
}

const ALL_CAPPED: &[Leg] = &[Leg::Demand, Leg::Agreed, Leg::Notice1d, Leg::Notice7d, Leg::Time];
const CALL_AND_AGREED: &[Leg] = &[Leg::Agreed, Leg::Notice1d, Leg::Notice7d];

/// Domain §1.3 (float ceilings from §1.2). The 2015-08-26 freeing of terms over one year is
/// not modelled: the ceiling rows apply to time deposits of up to one year only.
pub const CAPS: [CapRow; 6] = [
    CapRow {
        from: date(2012, 7, 6),
        until: Some(date(2014, 11, 21)),
        legs: ALL_CAPPED,
        class: None,
        rule: CapRule::Times(dec!(1.1)),
    },
    CapRow {
        from: date(2014, 11, 22),
        until: Some(date(2015, 2, 28)),
        legs: ALL_CAPPED,
        class: None,
        rule: CapRule::Times(dec!(1.2)),
    },
    CapRow {
        from: date(2015, 3, 1),
        until: Some(date(2015, 5, 10)),
        legs: ALL_CAPPED,
        class: None,
        rule: CapRule::Times(dec!(1.3)),
    },
    CapRow {
        from: date(2015, 5, 11),
        until: Some(date(2015, 10, 23)),
        legs: ALL_CAPPED,
        class: None,
        rule: CapRule::Times(dec!(1.5)),
    },
    CapRow {
        from: date(2023, 5, 15),
        until: None,
        legs: CALL_AND_AGREED,
        class: Some(BankClass::BigState),
        rule: CapRule::Plus(dec!(0.10)),
    },
    CapRow {
        from: date(2023, 5, 15),
        until: None,
        legs: CALL_AND_AGREED,
        class: Some(BankClass::Other),
        rule: CapRule::Plus(dec!(0.20)),
    },
];

/// The cap for `leg` at a bank of `class` on `d`, or `None` when no cap is on record.
pub fn cap_on(leg: Leg, class: BankClass, term_months: Option<u32>, d: NaiveDate) -> Option<Decimal> {
    if leg == Leg::Time && term_months.is_none_or(|t| t > 12) {
        return None;
    }
    let row = CAPS.iter().rev().find(|c| {
        c.from <= d && c.until.is_none_or(|u| d <= u) && c.legs.contains(&leg) && c.class.is_none_or(|k| k == class)
    })?;
    let base = benchmark_rate(leg, term_months, d)?;
    Some(match row.rule {
        CapRule::Times(f) => base * f,
        CapRule::Plus(p) => base + p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn caps_since_2023() {
        let day = d("2025-01-01");
        assert_eq!(cap_on(Leg::Agreed, BankClass::BigState, None, day), Some(dec!(1.25)));
        assert_eq!(cap_on(Leg::Notice7d, BankClass::BigState, None, day), Some(dec!(1.45)));
        assert_eq!(cap_on(Leg::Notice1d, BankClass::BigState, None, day), Some(dec!(0.90)));
        assert_eq!(cap_on(Leg::Agreed, BankClass::Other, None, day), Some(dec!(1.35)));
        assert_eq!(cap_on(Leg::Demand, BankClass::Other, None, day), None);
        assert_eq!(cap_on(Leg::Agreed, BankClass::Other, None, d("2023-05-14")), None);
        assert_eq!(cap_on(Leg::Time, BankClass::Other, Some(3), d("2015-06-01")), Some(dec!(1.85) * dec!(1.5)));
    }

    #[test]
    fn benchmarks() {
        assert_eq!(benchmark_rate(Leg::Demand, None, d("2025-01-01")), Some(dec!(0.35)));
        assert_eq!(benchmark_rate(Leg::Time, Some(3), d("2025-01-01")), Some(dec!(1.10)));
        assert_eq!(benchmark_rate(Leg::Time, Some(3), d("2015-01-01")), Some(dec!(2.35)));
        assert_eq!(benchmark_rate(Leg::Agreed, None, d("2012-07-05")), None);
        assert!(BENCHMARK.windows(2).all(|w| w[0].from < w[1].from));
    }
}
