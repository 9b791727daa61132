//! The month's view of an account's results, for the monthly workbook (`fundrecon report
//! --month 2024-03`). Pure: the caller has matched the account over everything stored.
//!
//! - entries and book records dated in the month; the matches holding any of them;
//! - open items dated up to the month's end (items from earlier months still open are
//!   carried, as on a month-end 调节表), their ages counted to the month's end (or to the
//!   last statement date, when that is earlier);
//! - the bank balance at the month's end: the latest closing balance less the entries
//!   booked after the month; the book balance likewise less the records after it;
//! - the interest credits booked in the month.
//!
//! What is matched is what is known today: an item of the month matched by a later entry
//! shows as matched, not as outstanding at the month's end.

use super::AccountResult;
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use std::collections::HashSet;

/// First and last day of the month `YYYY-MM`; `None` when it is no month.
pub fn bounds(month: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    Some((first, next.pred_opt()?))
}

pub fn restrict(a: &AccountResult, first: NaiveDate, last: NaiveDate) -> AccountResult {
    let in_month = |d: NaiveDate| d >= first && d <= last;
    let entries: Vec<_> = a.entries.iter().filter(|e| in_month(e.item.booking_date)).cloned().collect();
    let records: Vec<_> = a.records.iter().filter(|r| in_month(r.item.date)).cloned().collect();
    let entry_ids: HashSet<i64> = entries.iter().map(|e| e.item.id).collect();
    let record_ids: HashSet<i64> = records.iter().map(|r| r.item.id).collect();
    let matches = a
        .matches
        .iter()
        .filter(|m| m.entries.iter().any(|e| entry_ids.contains(e)) || m.records.iter().any(|r| record_ids.contains(r)))
        .cloned()
        .collect();
    let discrepancies = a.discrepancies.iter().filter(|d| d.date <= last).cloned().collect();
    let bank_closing = a.bank_closing.and_then(|(date, amount)| {
        if date <= last {
            return Some((date, amount));
        }
        // No statement before the month's end: no balance rather than a made-up one.
        let booked_before = a.entries.iter().any(|e| e.item.booking_date <= last);
        let later: Decimal = a
            .entries
            .iter()
            .filter(|e| e.item.booking_date > last && e.item.booking_date <= date)
            .map(|e| e.item.amount)
            .sum();
        booked_before.then_some((last, amount - later))
    });
    let book_balance = match (a.book_balance, a.bank_closing) {
        (Some(book), Some((date, _))) if date > last => Some(
            book - a
                .records
                .iter()
                .filter(|r| r.item.date > last && r.item.date <= date)
                .map(|r| r.item.amount)
                .sum::<Decimal>(),
        ),
        (b, _) => b,
    };
    AccountResult {
        account_no: a.account_no.clone(),
        name: a.name.clone(),
        currency: a.currency.clone(),
        bank: a.bank.clone(),
        entries,
        records,
        matches,
        discrepancies,
        bank_closing,
        book_balance: bank_closing.and(book_balance),
        interest: a.interest.iter().filter(|r| in_month(r.credit_date)).cloned().collect(),
        as_of: a.as_of.min(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_bounds() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(bounds("2024-02"), Some((d("2024-02-01"), d("2024-02-29"))));
        assert_eq!(bounds("2024-12"), Some((d("2024-12-01"), d("2024-12-31"))));
        for bad in ["2024-13", "2024-00", "2024-3", "24-03", "2024", "", "2024-03-01", "x-03"] {
            assert_eq!(bounds(bad), None, "{bad}");
        }
    }
}
