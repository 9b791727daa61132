//! 通知存款 (1-day / 7-day call deposits) placed from the account.
//!
//! Rules (PBOC 通知存款管理办法 as summarised in domain §1.4): interest is paid with the
//! principal (利随本清) at the rate posted on the withdrawal day (支取日挂牌), for the actual
//! days from placement, counting the first day and not the last (算头不算尾); a partial
//! withdrawal keeps the original placement date for the rest. The withdrawn part earns the
//! demand rate instead when the deposit is younger than the notice period, when no notice
//! was given, when it is withdrawn before the notice period ends or on another day than the
//! notified one, when it is below the minimum withdrawal, or for the part above the notified
//! amount. A remainder below the minimum balance (¥500,000) closes the deposit; it is paid
//! at the demand rate of that day. Each payment is rounded once, half-up to the fen.

use super::rounding::Ratio;
use super::terms::{Leg, Product, RateRow, rate_on};
use super::{InterestError, MAX_DAYS};
use crate::money::canonical;
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One withdrawal, with the notice given for it (if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeWithdrawal {
    pub date: NaiveDate,
    pub amount: Decimal,
    /// Day the notice was given; absent = withdrawn without notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_given: Option<NaiveDate>,
    /// Amount notified; absent = the amount withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_amount: Option<Decimal>,
    /// Withdrawal day named in the notice; absent = notice day + notice period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_date: Option<NaiveDate>,
}

/// The deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeDeposit {
    /// [`Product::Notice1d`] or [`Product::Notice7d`].
    pub product: Product,
    pub principal: Decimal,
    pub placed: NaiveDate,
    pub min_balance: Decimal,
    pub min_withdrawal: Decimal,
}

/// A part of a payment at one rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticePart {
    pub amount: Decimal,
    pub leg: Leg,
    pub rate: Decimal,
    /// Why the demand rate applies; `None` at the notice rate.
    pub reason: Option<String>,
    pub interest: Ratio,
}

/// One payment of principal and interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticePayment {
    pub date: NaiveDate,
    /// Days from placement, first day counted, last not.
    pub days: i64,
    /// Principal paid out (the withdrawal, plus a remainder closed with it).
    pub principal: Decimal,
    pub parts: Vec<NoticePart>,
    /// Interest paid, rounded once half-up to the fen.
    pub interest: Decimal,
    /// The deposit is closed by this payment.
    pub closes: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeResult {
    pub payments: Vec<NoticePayment>,
    pub interest: Decimal,
    /// Principal still on deposit after the last withdrawal.
    pub remaining: Decimal,
    pub closed_on: Option<NaiveDate>,
}

fn part(
    amount: Decimal,
    days: i64,
    leg: Leg,
    rate: Decimal,
    den: u64,
    reason: Option<String>,
) -> Result<NoticePart, InterestError> {
    let num = amount
        .checked_mul(Decimal::from(days))
        .and_then(|x| x.checked_mul(rate))
        .ok_or(InterestError::Overflow("computing notice deposit interest"))?;
    Ok(NoticePart { amount, leg, rate, reason, interest: Ratio::new(num, den) })
}

/// Interest on a notice deposit for the given withdrawals (in date order). Rates come from
/// `rates` (the posted rate on each withdrawal day); `day_basis` is normally 360.
pub fn notice_interest(
    dep: &NoticeDeposit,
    withdrawals: &[NoticeWithdrawal],
    rates: &[RateRow],
    day_basis: u32,
) -> Result<NoticeResult, InterestError> {
    let period = dep
        .product
        .notice_days()
        .ok_or_else(|| InterestError::Input(format!("{} is not a notice deposit", dep.product.name())))?;
    let leg = dep.product.own_leg();
    if dep.principal <= Decimal::ZERO || dep.principal < dep.min_balance {
        return Err(InterestError::Deposit(format!(
            "principal {} is below the minimum balance {}",
            dep.principal, dep.min_balance
        )));
    }
    let den = 100 * u64::from(day_basis.max(1));
    let mut remaining = dep.principal;
    let mut payments = Vec::new();
    let mut closed_on = None;
    let mut last = dep.placed;
    for (i, w) in withdrawals.iter().enumerate() {
        let bad = |m: String| InterestError::Deposit(format!("withdrawal {i} ({}): {m}", w.date));
        if let Some(c) = closed_on {
            return Err(bad(format!("the deposit was closed on {c}")));
        }
        if w.date < last {
            return Err(bad(format!("before the placement or an earlier withdrawal ({last})")));
        }
        last = w.date;
        if w.amount <= Decimal::ZERO || w.amount > remaining {
            return Err(bad(format!("amount {} is not between 0 and the remaining {remaining}", w.amount)));
        }
        let days = (w.date - dep.placed).num_days();
        if days > MAX_DAYS {
            return Err(InterestError::Limit(format!("deposit held {days} days; at most {MAX_DAYS}")));
        }
        let notice_rate = rate_on(rates, leg, w.date)?;
        let demand_rate = rate_on(rates, Leg::Demand, w.date)?;
        let at_demand = |amount, why: String| part(amount, days, Leg::Demand, demand_rate, den, Some(why));

        let mut parts = Vec::new();
        let whole_reason = if days < period {
            Some(format!("held {days} days, shorter than the {period}-day notice period"))
        } else if w.amount < dep.min_withdrawal {
            Some(format!("below the minimum withdrawal {}", canonical(dep.min_withdrawal)))
        } else {
            match w.notice_given {
                None => Some("withdrawn without notice".to_string()),
                Some(given) => {
                    let earliest =
                        given.checked_add_days(Days::new(period as u64)).ok_or(bad("date overflow".into()))?;
                    let notified = w.notice_date.unwrap_or(earliest).max(earliest);
                    if w.date < earliest {
                        Some(format!("notice given {given}: the notice period runs to {earliest}"))
                    } else if w.date != notified {
                        Some(format!("withdrawn on another day than the notified {notified}"))
                    } else {
                        None
                    }
                }
            }
        };
        match whole_reason {
            Some(why) => parts.push(at_demand(w.amount, why)?),
            None => {
                let notified = w.notice_amount.unwrap_or(w.amount);
                let at_notice = w.amount.min(notified);
                parts.push(part(at_notice, days, leg, notice_rate, den, None)?);
                if w.amount > notified {
                    parts.push(at_demand(
                        w.amount - notified,
                        format!("over the notified amount {}", canonical(notified)),
                    )?);
                }
            }
        }
        remaining -= w.amount;
        let mut principal = w.amount;
        if remaining > Decimal::ZERO && remaining < dep.min_balance {
            parts.push(at_demand(
                remaining,
                format!(
                    "remainder {} below the minimum balance {}: deposit closed",
                    canonical(remaining),
                    canonical(dep.min_balance)
                ),
            )?);
            principal += remaining;
            remaining = Decimal::ZERO;
        }
        let closes = remaining.is_zero();
        if closes {
            closed_on = Some(w.date);
        }
        let interest = Ratio::sum(parts.iter().map(|p| p.interest))
            .and_then(|r| r.round(2))
            .ok_or(InterestError::Overflow("rounding notice deposit interest"))?;
        payments.push(NoticePayment { date: w.date, days, principal, parts, interest, closes });
    }
    let interest = payments.iter().map(|p| p.interest).sum();
    Ok(NoticeResult { payments, interest, remaining, closed_on })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rates() -> Vec<RateRow> {
        vec![RateRow {
            from: d("2024-01-01"),
            demand: Some(dec!(0.35)),
            agreed: None,
            notice_1d: Some(dec!(0.80)),
            notice_7d: Some(dec!(1.35)),
            time: None,
        }]
    }

    fn deposit(product: Product) -> NoticeDeposit {
        NoticeDeposit {
            product,
            principal: dec!(10000000),
            placed: d("2025-01-02"),
            min_balance: dec!(500000),
            min_withdrawal: dec!(100000),
        }
    }

    fn w(date: &str, amount: Decimal, given: Option<&str>) -> NoticeWithdrawal {
        NoticeWithdrawal { date: d(date), amount, notice_given: given.map(d), notice_amount: None, notice_date: None }
    }

    #[test]
    fn seven_day_rules() {
        let dep = deposit(Product::Notice7d);
        let ok = notice_interest(&dep, &[w("2025-03-08", dec!(10000000), Some("2025-03-01"))], &rates(), 360).unwrap();
        assert_eq!((ok.payments[0].days, ok.interest), (65, dec!(24375.00)));
        let early =
            notice_interest(&dep, &[w("2025-03-05", dec!(10000000), Some("2025-03-01"))], &rates(), 360).unwrap();
        assert_eq!((early.payments[0].days, early.interest), (62, dec!(6027.78)));
        let none = notice_interest(&dep, &[w("2025-03-08", dec!(10000000), None)], &rates(), 360).unwrap();
        assert_eq!(none.payments[0].parts[0].leg, Leg::Demand);
        let young =
            notice_interest(&dep, &[w("2025-01-07", dec!(10000000), Some("2024-12-31"))], &rates(), 360).unwrap();
        assert!(young.payments[0].parts[0].reason.as_deref().unwrap().contains("shorter"));
    }

    #[test]
    fn partial_withdrawal_below_minimum_closes() {
        let dep = deposit(Product::Notice7d);
        let r = notice_interest(&dep, &[w("2025-03-08", dec!(9600000), Some("2025-03-01"))], &rates(), 360).unwrap();
        let p = &r.payments[0];
        assert!(p.closes);
        assert_eq!((p.principal, r.remaining, r.closed_on), (dec!(10000000), dec!(0), Some(d("2025-03-08"))));
        // 9,600,000 × 65 × 1.35 % / 360 = 23,400.00; 400,000 × 65 × 0.35 % / 360 = 252.777…
        assert_eq!(p.interest, dec!(23652.78));
        let more = [w("2025-03-08", dec!(9600000), Some("2025-03-01")), w("2025-03-09", dec!(1), None)];
        assert!(notice_interest(&dep, &more, &rates(), 360).is_err());
    }

    #[test]
    fn over_notified_amount_and_one_day() {
        let dep = deposit(Product::Notice7d);
        let mut x = w("2025-03-08", dec!(3000000), Some("2025-03-01"));
        x.notice_amount = Some(dec!(2000000));
        let r = notice_interest(&dep, &[x], &rates(), 360).unwrap();
        assert_eq!(r.payments[0].parts.len(), 2);
        assert_eq!(r.remaining, dec!(7000000));
        let one = notice_interest(
            &deposit(Product::Notice1d),
            &[w("2025-01-03", dec!(10000000), Some("2025-01-02"))],
            &rates(),
            360,
        )
        .unwrap();
        // One day at 0.80 %: 10,000,000 × 0.008 / 360 = 222.22.
        assert_eq!(one.interest, dec!(222.22));
    }
}
