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
    use crate::discrepancy::{Discrepancy, Kind};
    use crate::matching::{BankItem, BookItem, Match, Rule};
    use crate::store::{StoredEntry, StoredRecord};
    use rust_decimal::dec;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn entry(id: i64, date: &str, amount: Decimal) -> StoredEntry {
        StoredEntry {
            item: BankItem {
                id,
                entry_key: format!("k{id}"),
                booking_date: d(date),
                amount,
                bank_ref: Some(format!("B{id}")),
                customer_ref: None,
                end_to_end_id: None,
                counterparty_account: None,
                counterparty_name: None,
                narrative: String::new(),
                kind: crate::statement::EntryKind::Transfer,
            },
            statement_id: 1,
            currency: crate::money::Currency::CNY,
            value_date: None,
            batch: None,
            location: String::new(),
        }
    }

    fn record(id: i64, date: &str, amount: Decimal) -> StoredRecord {
        StoredRecord {
            item: BookItem {
                id,
                voucher_no: format!("V{id}"),
                date: d(date),
                amount,
                counterparty_account: None,
                counterparty_name: None,
                purpose: None,
                batch_ref: None,
            },
            direction: crate::book::Direction::Receipt,
            currency: crate::money::Currency::CNY,
            source: String::new(),
            location: String::new(),
        }
    }

    fn open(kind: Kind, date: &str) -> Discrepancy {
        Discrepancy {
            kind,
            account_no: "4500".into(),
            entry: None,
            record: None,
            statement: None,
            bank_ref: None,
            voucher_no: None,
            date: d(date),
            amount: None,
            expected: None,
            rule: "classify".into(),
            detail: String::new(),
        }
    }

    /// Data into April: the March view keeps March, rolls the balances back to March 31,
    /// carries February's open item and counts ages to March 31.
    #[test]
    fn a_month_out_of_longer_data() {
        let a = AccountResult {
            account_no: "4500".into(),
            name: "n".into(),
            currency: "CNY".into(),
            bank: "boc".into(),
            entries: vec![
                entry(1, "2024-03-05", dec!(100)),
                entry(2, "2024-04-02", dec!(-30)),
                entry(3, "2024-03-30", dec!(5)),
            ],
            records: vec![record(1, "2024-03-04", dec!(100)), record(2, "2024-04-01", dec!(-30))],
            matches: vec![
                Match { rule: Rule::Reference, entries: vec![1], records: vec![1], detail: String::new() },
                Match { rule: Rule::Reference, entries: vec![2], records: vec![2], detail: String::new() },
            ],
            discrepancies: vec![
                open(Kind::MissingInBank, "2024-02-27"),
                open(Kind::MissingInBooks, "2024-03-30"),
                open(Kind::BankFee, "2024-04-03"),
            ],
            bank_closing: Some((d("2024-04-03"), dec!(1075))),
            book_balance: Some(dec!(1070)),
            interest: vec![],
            as_of: d("2024-04-03"),
        };
        let (first, last) = bounds("2024-03").unwrap();
        let m = restrict(&a, first, last);
        assert_eq!(m.entries.iter().map(|e| e.item.id).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(m.records.len(), 1);
        assert_eq!(m.matches.len(), 1);
        assert_eq!(
            m.discrepancies.iter().map(|d| d.kind).collect::<Vec<_>>(),
            [Kind::MissingInBank, Kind::MissingInBooks]
        );
        assert_eq!(m.bank_closing, Some((last, dec!(1105))));
        assert_eq!(m.book_balance, Some(dec!(1100)));
        assert_eq!(m.as_of, last);
        assert_eq!(m.age_days(&m.discrepancies[0]), 33);

        // A month before any statement: no balances.
        let (first, last) = bounds("2024-01").unwrap();
        let j = restrict(&a, first, last);
        assert_eq!((j.bank_closing, j.book_balance, j.entries.len()), (None, None, 0));
        // A month after the data: the latest balances as they are.
        let (first, last) = bounds("2024-05").unwrap();
        let may = restrict(&a, first, last);
        assert_eq!((may.bank_closing, may.book_balance), (a.bank_closing, a.book_balance));
        assert_eq!(may.as_of, a.as_of);
    }

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
