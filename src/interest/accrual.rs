//! Expected interest for one settlement window: 积数 per leg and segment, interest per
//! part, rounded where the agreement says.
//!
//! The window is cut into segments at every rate-table row that starts inside it (分段计息),
//! or kept whole at the rate in force on the settlement day (the "no split" variant). Each
//! day's balance is split into legs: 活期 is one leg; 协定 puts `min(balance, base)` on the
//! demand leg and the excess (optionally only whole multiples of `excess_unit`, the rest
//! staying on the demand leg) on the agreed leg. A part is one leg in one segment: its 积数
//! (sum of daily balances) times its rate over `100 × day basis`, kept exact ([`Ratio`]).
//! Rounding (half-up to the fen) then happens once per window, per segment, per leg, per
//! part, or per part to the 厘 first. A negative balance earns nothing (the caller warns).

use super::calendar::WindowPart;
use super::rounding::Ratio;
use super::terms::{Agreement, Leg, Product, RateChange, RateRow, Rounding, rate_on};
use super::{InterestError, MAX_DAYS};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The calculation choices an agreement makes and a bank may make differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Variant {
    pub rate_change: RateChange,
    pub rounding: Rounding,
    pub day_basis: u32,
    /// 协定: count the excess only in whole multiples of this.
    pub excess_unit: Option<Decimal>,
}

impl Variant {
    pub fn of(a: &Agreement) -> Variant {
        Variant { rate_change: a.rate_change, rounding: a.rounding, day_basis: a.day_basis, excess_unit: a.excess_unit }
    }
}

/// What to accrue: a windowed product, its base amount, its rates, the variant.
#[derive(Debug, Clone, Copy)]
pub struct AccrualSpec<'a> {
    /// [`Product::Demand`] or [`Product::Agreed`].
    pub product: Product,
    /// 协定 base amount (ignored for demand).
    pub base_amount: Decimal,
    pub rates: &'a [RateRow],
    pub variant: Variant,
}

impl<'a> AccrualSpec<'a> {
    /// The spec an agreement describes.
    pub fn of(a: &'a Agreement) -> Result<AccrualSpec<'a>, InterestError> {
        if !a.product.is_windowed() {
            return Err(InterestError::Input(format!(
                "product {} does not accrue on daily balances; use the notice or time deposit functions",
                a.product.name()
            )));
        }
        Ok(AccrualSpec {
            product: a.product,
            base_amount: a.base_amount.unwrap_or_default(),
            rates: &a.rates,
            variant: Variant::of(a),
        })
    }

    fn legs(&self) -> &'static [Leg] {
        match self.product {
            Product::Agreed => &[Leg::Demand, Leg::Agreed],
            _ => &[Leg::Demand],
        }
    }
}

/// Interest-bearing end-of-day balances, one per day from `first`.
#[derive(Debug, Clone, Copy)]
pub struct DayBalances<'a> {
    pub first: NaiveDate,
    pub balances: &'a [Decimal],
}

impl DayBalances<'_> {
    pub fn get(&self, d: NaiveDate) -> Option<Decimal> {
        let i = (d - self.first).num_days();
        usize::try_from(i).ok().and_then(|i| self.balances.get(i).copied())
    }
}

/// The days to accrue and the settlement day whose rate the "no split" variant uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub settlement: NaiveDate,
}

impl From<&WindowPart> for Period {
    fn from(w: &WindowPart) -> Period {
        Period { from: w.from, to: w.to, settlement: w.window.end }
    }
}

/// One leg in one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub leg: Leg,
    /// % p.a.
    pub rate: Decimal,
    /// 积数: the sum of the leg's daily balances.
    pub sum: Decimal,
    /// `sum × rate / (100 × day basis)`, exact.
    pub interest: Ratio,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: i64,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accrual {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: i64,
    /// 积数 of the whole balance.
    pub balance_sum: Decimal,
    pub segments: Vec<Segment>,
    /// Rounded as the variant says.
    pub expected: Decimal,
    pub variant: Variant,
}

impl Accrual {
    /// Per leg: 积数 and exact interest over all segments, in leg order.
    pub fn legs(&self) -> Vec<(Leg, Decimal, Ratio)> {
        let mut m: BTreeMap<Leg, (Decimal, Ratio)> = BTreeMap::new();
        for p in self.segments.iter().flat_map(|s| &s.parts) {
            let e = m.entry(p.leg).or_insert((Decimal::ZERO, Ratio::zero()));
            e.0 += p.sum;
            e.1 = e.1.checked_add(p.interest).unwrap_or(e.1);
        }
        m.into_iter().map(|(l, (s, r))| (l, s, r)).collect()
    }

    /// The result under another rounding point (same segments and sums).
    pub fn rounded(&self, rounding: Rounding) -> Result<Decimal, InterestError> {
        round_parts(&self.segments, rounding)
    }
}

fn overflow() -> InterestError {
    InterestError::Overflow("summing interest")
}

/// Rounds the parts as `rounding` says.
pub fn round_parts(segments: &[Segment], rounding: Rounding) -> Result<Decimal, InterestError> {
    let total = |rs: &mut dyn Iterator<Item = Ratio>| Ratio::sum(rs).ok_or_else(overflow);
    let parts = || segments.iter().flat_map(|s| s.parts.iter());
    // The exact amounts that are each rounded to the fen, then added.
    let pieces: Vec<Ratio> = match rounding {
        Rounding::PerSettlement => vec![total(&mut parts().map(|p| p.interest))?],
        Rounding::PerSegment => {
            segments.iter().map(|s| total(&mut s.parts.iter().map(|p| p.interest))).collect::<Result<_, _>>()?
        }
        Rounding::PerLeg => {
            let mut legs: BTreeMap<Leg, Ratio> = BTreeMap::new();
            for p in parts() {
                let e = legs.entry(p.leg).or_insert(Ratio::zero());
                *e = e.checked_add(p.interest).ok_or_else(overflow)?;
            }
            legs.into_values().collect()
        }
        Rounding::PerPart => parts().map(|p| p.interest).collect(),
        Rounding::MillsThenFen => {
            // Each part to the 厘 first; the sum of those is then rounded once.
            let mut mills = Decimal::ZERO;
            for p in parts() {
                mills = mills.checked_add(p.interest.round(3).ok_or_else(overflow)?).ok_or_else(overflow)?;
            }
            vec![Ratio::new(mills, 1)]
        }
    };
    pieces
        .into_iter()
        .try_fold(Decimal::ZERO, |acc, r| acc.checked_add(r.round(2).ok_or_else(overflow)?).ok_or_else(overflow))
}

/// Accrues `period` on `balances` under `spec`.
pub fn accrue(spec: &AccrualSpec, period: &Period, balances: &DayBalances) -> Result<Accrual, InterestError> {
    let (from, to) = (period.from, period.to);
    if from > to {
        return Err(InterestError::Input(format!("the period {from}…{to} is reversed")));
    }
    let days = (to - from).num_days() + 1;
    if days > MAX_DAYS {
        return Err(InterestError::Limit(format!("{days} days in {from}…{to}; at most {MAX_DAYS}")));
    }
    if !spec.product.is_windowed() {
        return Err(InterestError::Input(format!("product {} does not accrue on daily balances", spec.product.name())));
    }
    let v = spec.variant;
    if v.day_basis == 0 {
        return Err(InterestError::Input("day basis 0".into()));
    }
    if v.excess_unit.is_some_and(|u| u <= Decimal::ZERO) {
        return Err(InterestError::Input("excess unit must be more than zero".into()));
    }
    let missing: Vec<NaiveDate> = from.iter_days().take(days as usize).filter(|d| balances.get(*d).is_none()).collect();
    if !missing.is_empty() {
        return Err(InterestError::MissingBalances(super::error::runs(&missing)));
    }

    // Segment bounds and the day whose rates each segment uses.
    let mut bounds: Vec<(NaiveDate, NaiveDate, NaiveDate)> = Vec::new();
    match v.rate_change {
        RateChange::SettlementDay => bounds.push((from, to, period.settlement)),
        RateChange::Split => {
            let mut start = from;
            for row in spec.rates.iter().filter(|r| r.from > from && r.from <= to) {
                let end = row.from.pred_opt().unwrap_or(row.from);
                if end >= start {
                    bounds.push((start, end, start));
                }
                start = row.from;
            }
            bounds.push((start, to, start));
        }
    }

    let den = 100 * u64::from(v.day_basis);
    let legs = spec.legs();
    let mut segments = Vec::with_capacity(bounds.len());
    let mut balance_sum = Decimal::ZERO;
    for (s, e, rate_day) in bounds {
        let mut sums = vec![Decimal::ZERO; legs.len()];
        for d in s.iter_days().take_while(|d| *d <= e) {
            let bal = balances.get(d).unwrap_or_default();
            balance_sum = balance_sum.checked_add(bal).ok_or_else(overflow)?;
            let bal = bal.max(Decimal::ZERO);
            if spec.product == Product::Agreed {
                let excess = (bal - spec.base_amount).max(Decimal::ZERO);
                let agreed = match v.excess_unit {
                    Some(u) => {
                        excess.checked_div(u).map(|q| q.floor()).and_then(|q| q.checked_mul(u)).ok_or_else(overflow)?
                    }
                    None => excess,
                };
                sums[0] = sums[0].checked_add(bal - agreed).ok_or_else(overflow)?;
                sums[1] = sums[1].checked_add(agreed).ok_or_else(overflow)?;
            } else {
                sums[0] = sums[0].checked_add(bal).ok_or_else(overflow)?;
            }
        }
        let mut parts = Vec::with_capacity(legs.len());
        for (leg, sum) in legs.iter().zip(sums) {
            let rate = rate_on(spec.rates, *leg, rate_day)?;
            let num = sum.checked_mul(rate).ok_or_else(overflow)?;
            parts.push(Part { leg: *leg, rate, sum, interest: Ratio::new(num, den) });
        }
        segments.push(Segment { from: s, to: e, days: (e - s).num_days() + 1, parts });
    }
    let expected = round_parts(&segments, v.rounding)?;
    Ok(Accrual { from, to, days, balance_sum, segments, expected, variant: v })
}

/// Grouping for [`aggregate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// `2025-Q2`: the calendar quarter of the settlement day.
    Quarter,
    /// `2025`: the year of the settlement day (the Dec-21…Mar-20 window counts for the March year).
    Year,
}

/// Sums amounts keyed by settlement day into quarters or years, in order.
pub fn aggregate(items: &[(NaiveDate, Decimal)], by: Aggregate) -> Vec<(String, Decimal)> {
    let mut m: BTreeMap<(i32, u32), Decimal> = BTreeMap::new();
    for (d, a) in items {
        let key = match by {
            Aggregate::Quarter => (d.year(), (d.month() - 1) / 3 + 1),
            Aggregate::Year => (d.year(), 0),
        };
        *m.entry(key).or_default() += *a;
    }
    m.into_iter().map(|((y, q), a)| (if q == 0 { format!("{y}") } else { format!("{y}-Q{q}") }, a)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn row(from: &str, demand: Decimal, agreed: Option<Decimal>) -> RateRow {
        RateRow { from: d(from), demand: Some(demand), agreed, notice_1d: None, notice_7d: None, time: None }
    }

    fn spec(rates: &[RateRow], rounding: Rounding) -> AccrualSpec<'_> {
        AccrualSpec {
            product: Product::Demand,
            base_amount: Decimal::ZERO,
            rates,
            variant: Variant { rate_change: RateChange::Split, rounding, day_basis: 360, excess_unit: None },
        }
    }

    #[test]
    fn tc6_one_day_half_up() {
        let rates = [row("2025-01-01", dec!(0.36), None)];
        let bal = [dec!(1234500)];
        let p = Period { from: d("2025-04-01"), to: d("2025-04-01"), settlement: d("2025-06-20") };
        let a =
            accrue(&spec(&rates, Rounding::PerSettlement), &p, &DayBalances { first: p.from, balances: &bal }).unwrap();
        assert_eq!(a.expected, dec!(12.35));
    }

    #[test]
    fn tc7_two_segments_same_rate() {
        let rates = [row("2025-01-01", dec!(0.36), None), row("2025-04-02", dec!(0.36), None)];
        let bal = [dec!(1234500), dec!(2345500)];
        let p = Period { from: d("2025-04-01"), to: d("2025-04-02"), settlement: d("2025-06-20") };
        let b = DayBalances { first: p.from, balances: &bal };
        let once = accrue(&spec(&rates, Rounding::PerSettlement), &p, &b).unwrap();
        assert_eq!(once.segments.len(), 2);
        assert_eq!(once.expected, dec!(35.80));
        assert_eq!(once.rounded(Rounding::PerSegment).unwrap(), dec!(35.81));
        assert_eq!(once.rounded(Rounding::PerPart).unwrap(), dec!(35.81));
        assert_eq!(once.rounded(Rounding::PerLeg).unwrap(), dec!(35.80));
        assert_eq!(once.rounded(Rounding::MillsThenFen).unwrap(), dec!(35.80));
    }

    #[test]
    fn missing_days_and_rates_are_errors() {
        let rates = [row("2025-04-02", dec!(0.35), None)];
        let bal = [dec!(1)];
        let p = Period { from: d("2025-04-01"), to: d("2025-04-03"), settlement: d("2025-06-20") };
        let err = accrue(&spec(&rates, Rounding::PerSettlement), &p, &DayBalances { first: p.from, balances: &bal });
        assert_eq!(err.unwrap_err().to_string(), "balances: no end-of-day balance for 2025-04-02…2025-04-03");
        let bal = [dec!(1); 3];
        let err = accrue(&spec(&rates, Rounding::PerSettlement), &p, &DayBalances { first: p.from, balances: &bal });
        assert!(err.unwrap_err().to_string().starts_with("no demand rate in force on 2025-04-01"));
    }

    #[test]
    fn aggregation() {
        let items = [
            (d("2025-03-20"), dec!(1)),
            (d("2025-06-20"), dec!(2)),
            (d("2025-12-20"), dec!(4)),
            (d("2026-03-20"), dec!(8)),
        ];
        assert_eq!(aggregate(&items, Aggregate::Year), [("2025".to_string(), dec!(7)), ("2026".to_string(), dec!(8))]);
        assert_eq!(aggregate(&items, Aggregate::Quarter)[1], ("2025-Q2".to_string(), dec!(2)));
    }
}
