//! Warnings that do not stop a computation but need a person: an agreement expiring soon
//! or not in force on days with balances, an account with balances and no agreement, a
//! rate above the self-discipline cap for its product and date (it will not be paid) or
//! below the PBOC benchmark, a negative balance.

use super::benchmark::{self, BENCHMARK, CAPS};
use super::error::{DateRange, runs};
use super::terms::{Agreement, BankClass, Leg, Product, row_on};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Stable identifier: `agreement_expires`, `agreement_expired`, `no_agreement`,
    /// `rate_above_cap`, `bank_class_unknown`, `rate_below_benchmark`, `negative_balance`,
    /// `no_benchmark`.
    pub code: &'static str,
    pub message: String,
}

fn w(code: &'static str, message: String) -> Warning {
    Warning { code, message }
}

fn account_name(a: &Agreement) -> String {
    a.account.as_deref().map(|s| format!("account {s}: ")).unwrap_or_default()
}

/// The agreement expires within `within_days` after `to`, or expired before or during the
/// period.
pub fn expiry(a: &Agreement, from: NaiveDate, to: NaiveDate, within_days: u64) -> Option<Warning> {
    let e = a.expires?;
    let who = account_name(a);
    if e < from {
        Some(w("agreement_expired", format!("{who}the agreement expired on {e}, before {from}")))
    } else if e < to {
        Some(w("agreement_expired", format!("{who}the agreement expires on {e}, within {from}…{to}")))
    } else if e <= to.checked_add_days(Days::new(within_days)).unwrap_or(to) {
        let left = (e - to).num_days();
        Some(w("agreement_expires", format!("{who}the agreement expires on {e}, {left} day(s) after {to}")))
    } else {
        None
    }
}

/// Days of `from ..= to` on which the agreement is not in force.
pub fn not_in_force(a: &Agreement, from: NaiveDate, to: NaiveDate) -> Vec<DateRange> {
    let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).filter(|d| !a.in_force(*d)).collect();
    runs(&days)
}

/// For each account with balances on `first ..= last`: the days no agreement of that
/// account covers. Agreements without `account` match no account.
pub fn accounts_without_agreement(accounts: &[(&str, NaiveDate, NaiveDate)], agreements: &[Agreement]) -> Vec<Warning> {
    let mut out = Vec::new();
    for &(acct, first, last) in accounts {
        let mine: Vec<&Agreement> = agreements.iter().filter(|a| a.account.as_deref() == Some(acct)).collect();
        let days: Vec<NaiveDate> = first
            .iter_days()
            .take_while(|d| *d <= last)
            .take(super::MAX_DAYS as usize)
            .filter(|d| !mine.iter().any(|a| a.in_force(*d)))
            .collect();
        let gaps = runs(&days);
        if !gaps.is_empty() {
            let list = gaps.iter().map(|g| g.to_string()).collect::<Vec<_>>().join(", ");
            out.push(w("no_agreement", format!("account {acct} has balances but no agreement on {list}")));
        }
    }
    out
}

/// Agreements expiring within `within_days` of `today` (or already expired but not
/// replaced are the caller's business: pass only current ones).
pub fn expiring(agreements: &[Agreement], today: NaiveDate, within_days: u64) -> Vec<Warning> {
    agreements.iter().filter_map(|a| expiry(a, today, today, within_days)).collect()
}

/// Negative end-of-day balances (they earn nothing).
pub fn negative_balances(first: NaiveDate, balances: &[Decimal]) -> Option<Warning> {
    let days: Vec<NaiveDate> =
        first.iter_days().zip(balances).filter(|(_, b)| b.is_sign_negative() && !b.is_zero()).map(|(d, _)| d).collect();
    if days.is_empty() {
        return None;
    }
    let list = runs(&days).iter().map(|g| g.to_string()).collect::<Vec<_>>().join(", ");
    Some(w("negative_balance", format!("negative end-of-day balance on {list}; no interest counted on those days")))
}

/// Rates in force during `from ..= to` checked against the cap and the benchmark.
pub fn rate_checks(a: &Agreement, from: NaiveDate, to: NaiveDate) -> Vec<Warning> {
    let term = a.time.as_ref().map(|t| t.term_months);
    let class = a.bank_class();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    // (leg, rate, day) checks.
    let mut checks: Vec<(Leg, Decimal, NaiveDate, String)> = Vec::new();
    if a.product == Product::Time {
        if let Some(t) = &a.time {
            let rate = t.rate.or_else(|| row_on(&a.rates, t.placed).and_then(|r| r.time));
            if let Some(r) = rate {
                checks.push((Leg::Time, r, t.placed, format!("time deposit placed {}", t.placed)));
            }
        }
    } else {
        let legs = a.needed_legs();
        for (i, row) in a.rates.iter().enumerate() {
            let end = a.rates.get(i + 1).and_then(|n| n.from.pred_opt()).unwrap_or(to);
            let (s, e) = (row.from.max(from), end.min(to));
            if s > e {
                continue;
            }
            // Check on the first day and on every day a cap or benchmark changes.
            let mut days: BTreeSet<NaiveDate> = BTreeSet::from([s]);
            days.extend(CAPS.iter().flat_map(|c| [Some(c.from), c.until.and_then(|u| u.succ_opt())]).flatten());
            days.extend(BENCHMARK.iter().map(|b| b.from));
            for d in days.into_iter().filter(|d| (s..=e).contains(d)) {
                for &leg in &legs {
                    if let Some(r) = row.get(leg) {
                        checks.push((leg, r, d, format!("rates[{i}]")));
                    }
                }
            }
        }
    }
    for (leg, rate, day, src) in checks {
        let cap = benchmark::cap_on(leg, class.unwrap_or(BankClass::Other), term, day);
        if let Some(cap) = cap
            && rate > cap
            && seen.insert((src.clone(), leg, "cap"))
        {
            let which = match class {
                Some(c) => c.name(),
                None => "other (bank class unknown)",
            };
            out.push(w(
                "rate_above_cap",
                format!(
                    "{src}: {} rate {rate}% on {day} is above the self-discipline cap {cap}% for {which} banks",
                    leg.name()
                ),
            ));
        } else if class.is_none()
            && let Some(big) = benchmark::cap_on(leg, BankClass::BigState, term, day)
            && rate > big
            && seen.insert((src.clone(), leg, "class"))
        {
            out.push(w(
                "bank_class_unknown",
                format!(
                    "{src}: {} rate {rate}% on {day} is above the big-state-bank cap {big}%; set `bank_class` or `bank` to check it",
                    leg.name()
                ),
            ));
        }
        if let Some(b) = benchmark::benchmark_rate(leg, term, day)
            && rate < b
            && seen.insert((src.clone(), leg, "benchmark"))
        {
            out.push(w(
                "rate_below_benchmark",
                format!("{src}: {} rate {rate}% on {day} is below the PBOC benchmark {b}%", leg.name()),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn agreement(extra: &str) -> Agreement {
        Agreement::from_toml(&format!(
            "product = \"agreed\"\nbase_amount = \"1000000\"\n{extra}\n[[rates]]\nfrom = \"2020-01-01\"\ndemand = \"0.35\"\nagreed = \"1.30\"\n"
        ))
        .unwrap()
    }

    #[test]
    fn caps_by_class_and_date() {
        let big = agreement("bank = \"ICBC\"");
        let ws = rate_checks(&big, d("2023-01-01"), d("2023-12-31"));
        assert_eq!(ws.len(), 1, "{ws:?}");
        assert_eq!(ws[0].code, "rate_above_cap");
        assert!(ws[0].message.contains("on 2023-05-15"), "{}", ws[0].message);
        let other = agreement("bank_class = \"other\"");
        assert!(rate_checks(&other, d("2023-01-01"), d("2023-12-31")).is_empty());
        let unknown = agreement("");
        let ws = rate_checks(&unknown, d("2024-01-01"), d("2024-03-31"));
        assert_eq!(ws.iter().map(|w| w.code).collect::<Vec<_>>(), ["bank_class_unknown"]);
    }

    #[test]
    fn expiry_and_coverage() {
        let a = agreement("account = \"4500\"\nstarts = \"2025-01-01\"\nexpires = \"2025-07-10\"");
        assert_eq!(expiry(&a, d("2025-03-21"), d("2025-06-20"), 30).unwrap().code, "agreement_expires");
        assert!(expiry(&a, d("2025-03-21"), d("2025-06-20"), 10).is_none());
        assert_eq!(expiry(&a, d("2025-06-21"), d("2025-09-20"), 30).unwrap().code, "agreement_expired");
        let ws = accounts_without_agreement(
            &[("4500", d("2024-12-30"), d("2025-07-12")), ("9", d("2025-01-01"), d("2025-01-01"))],
            &[a],
        );
        assert_eq!(ws.len(), 2);
        assert!(ws[0].message.contains("2024-12-30…2024-12-31, 2025-07-11…2025-07-12"), "{}", ws[0].message);
        assert!(ws[1].message.starts_with("account 9 "));
    }
}
