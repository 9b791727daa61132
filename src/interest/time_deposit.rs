//! 定期 (time deposits) placed from the account.
//!
//! The rate is fixed on the placement day and does not follow later changes (no split,
//! domain §1.4). Interest for the term is counted either by the month method (逐笔: whole
//! months `P × n × r / 12`, here always the whole term) or by actual days `P × days × r /
//! basis`; the two differ (TC-9). Early withdrawal earns the demand rate posted on the
//! withdrawal day for the actual days; days after maturity earn that demand rate too.
//! Days count the first day and not the last (算头不算尾). The payment is rounded once,
//! half-up to the fen.

use super::rounding::Ratio;
use super::terms::{Leg, RateRow, rate_on};
use super::{InterestError, MAX_DAYS};
use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How the term's interest is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeMethod {
    /// Whole months × rate / 12.
    #[default]
    Months,
    /// Actual days × rate / day basis.
    Actual,
}

impl TimeMethod {
    pub fn name(self) -> &'static str {
        match self {
            TimeMethod::Months => "months",
            TimeMethod::Actual => "actual",
        }
    }

    pub fn parse(s: &str) -> Option<TimeMethod> {
        [TimeMethod::Months, TimeMethod::Actual].into_iter().find(|m| m.name() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeDeposit {
    pub principal: Decimal,
    pub placed: NaiveDate,
    pub term_months: u32,
    /// % p.a., fixed at placement.
    pub rate: Decimal,
}

impl TimeDeposit {
    /// The deposit with the rate the table gives on the placement day (unless `rate` is set).
    pub fn from_terms(t: &super::terms::TimeTerms, rates: &[RateRow]) -> Result<TimeDeposit, InterestError> {
        let rate = match t.rate {
            Some(r) => r,
            None => rate_on(rates, Leg::Time, t.placed)?,
        };
        Ok(TimeDeposit { principal: t.principal, placed: t.placed, term_months: t.term_months, rate })
    }

    pub fn maturity(&self) -> Result<NaiveDate, InterestError> {
        self.placed
            .checked_add_months(Months::new(self.term_months))
            .ok_or_else(|| InterestError::Input(format!("maturity of a deposit placed {} overflows", self.placed)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeStatus {
    Early,
    AtMaturity,
    Overdue,
}

/// One part of the payment: `from` up to (not including) `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimePart {
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub days: i64,
    /// Whole months counted (month method for the term), else 0.
    pub months: u32,
    pub leg: Leg,
    pub rate: Decimal,
    pub note: &'static str,
    pub interest: Ratio,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeResult {
    pub maturity: NaiveDate,
    pub withdrawn: NaiveDate,
    pub status: TimeStatus,
    pub method: TimeMethod,
    pub parts: Vec<TimePart>,
    /// Rounded once, half-up to the fen.
    pub interest: Decimal,
}

fn num(p: Decimal, n: i64, r: Decimal) -> Result<Decimal, InterestError> {
    p.checked_mul(Decimal::from(n))
        .and_then(|x| x.checked_mul(r))
        .ok_or(InterestError::Overflow("computing time deposit interest"))
}

/// Interest paid when `dep` is withdrawn on `withdrawn`. `rates` gives the demand rate for
/// early or overdue days (the rate posted on the withdrawal day).
pub fn time_deposit_interest(
    dep: &TimeDeposit,
    withdrawn: NaiveDate,
    method: TimeMethod,
    rates: &[RateRow],
    day_basis: u32,
) -> Result<TimeResult, InterestError> {
    if dep.principal <= Decimal::ZERO {
        return Err(InterestError::Deposit(format!("principal {} must be more than zero", dep.principal)));
    }
    if withdrawn < dep.placed {
        return Err(InterestError::Deposit(format!("withdrawn {withdrawn} before it was placed ({})", dep.placed)));
    }
    if (withdrawn - dep.placed).num_days() > MAX_DAYS {
        return Err(InterestError::Limit(format!("deposit held more than {MAX_DAYS} days")));
    }
    let maturity = dep.maturity()?;
    let day_den = 100 * u64::from(day_basis.max(1));
    let mut parts = Vec::new();
    let status = if withdrawn < maturity {
        let days = (withdrawn - dep.placed).num_days();
        let r = rate_on(rates, Leg::Demand, withdrawn)?;
        parts.push(TimePart {
            from: dep.placed,
            until: withdrawn,
            days,
            months: 0,
            leg: Leg::Demand,
            rate: r,
            note: "withdrawn before maturity: demand rate of the withdrawal day",
            interest: Ratio::new(num(dep.principal, days, r)?, day_den),
        });
        TimeStatus::Early
    } else {
        let days = (maturity - dep.placed).num_days();
        let term = match method {
            TimeMethod::Months => TimePart {
                from: dep.placed,
                until: maturity,
                days,
                months: dep.term_months,
                leg: Leg::Time,
                rate: dep.rate,
                note: "term: whole months × rate / 12",
                interest: Ratio::new(num(dep.principal, i64::from(dep.term_months), dep.rate)?, 1200),
            },
            TimeMethod::Actual => TimePart {
                from: dep.placed,
                until: maturity,
                days,
                months: 0,
                leg: Leg::Time,
                rate: dep.rate,
                note: "term: actual days × rate / day basis",
                interest: Ratio::new(num(dep.principal, days, dep.rate)?, day_den),
            },
        };
        parts.push(term);
        if withdrawn > maturity {
            let days = (withdrawn - maturity).num_days();
            let r = rate_on(rates, Leg::Demand, withdrawn)?;
            parts.push(TimePart {
                from: maturity,
                until: withdrawn,
                days,
                months: 0,
                leg: Leg::Demand,
                rate: r,
                note: "after maturity: demand rate of the withdrawal day",
                interest: Ratio::new(num(dep.principal, days, r)?, day_den),
            });
            TimeStatus::Overdue
        } else {
            TimeStatus::AtMaturity
        }
    };
    let interest = Ratio::sum(parts.iter().map(|p| p.interest))
        .and_then(|r| r.round(2))
        .ok_or(InterestError::Overflow("rounding time deposit interest"))?;
    Ok(TimeResult { maturity, withdrawn, status, method, parts, interest })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn demand() -> Vec<RateRow> {
        vec![RateRow {
            from: d("2020-01-01"),
            demand: Some(dec!(0.35)),
            agreed: None,
            notice_1d: None,
            notice_7d: None,
            time: None,
        }]
    }

    #[test]
    fn tc9_methods_early_and_overdue() {
        let dep = TimeDeposit { principal: dec!(100000000), placed: d("2025-03-21"), term_months: 3, rate: dec!(1.10) };
        assert_eq!(dep.maturity().unwrap(), d("2025-06-21"));
        let m = time_deposit_interest(&dep, d("2025-06-21"), TimeMethod::Months, &demand(), 360).unwrap();
        assert_eq!((m.status, m.interest), (TimeStatus::AtMaturity, dec!(275000.00)));
        let a = time_deposit_interest(&dep, d("2025-06-21"), TimeMethod::Actual, &demand(), 360).unwrap();
        assert_eq!((a.parts[0].days, a.interest), (92, dec!(281111.11)));
        let e = time_deposit_interest(&dep, d("2025-05-01"), TimeMethod::Months, &demand(), 360).unwrap();
        assert_eq!((e.status, e.parts[0].days, e.interest), (TimeStatus::Early, 41, dec!(39861.11)));
        // Ten days overdue: 275,000 + 100,000,000 × 10 × 0.35 % / 360 = 275,000 + 9,722.22.
        let o = time_deposit_interest(&dep, d("2025-07-01"), TimeMethod::Months, &demand(), 360).unwrap();
        assert_eq!((o.status, o.interest), (TimeStatus::Overdue, dec!(284722.22)));
        assert!(time_deposit_interest(&dep, d("2025-03-20"), TimeMethod::Months, &demand(), 360).is_err());
    }
}
