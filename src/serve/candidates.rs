//! Candidate matches for an open item, for the "match by hand" form: the open items of
//! the other side in the same account whose amount is equal, or whose counterparty is the
//! same and whose dates lie within the matching window. Pure; bounded.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// At most this many candidates are shown.
pub const MAX_CANDIDATES: usize = 20;

/// One side of a possible pair, as the form shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Side {
    /// `entry_key` or `direction:voucher`.
    pub key: String,
    pub date: NaiveDate,
    /// Signed like the bank (disbursements negative).
    pub amount: Decimal,
    pub counterparty_account: Option<String>,
    pub counterparty_name: Option<String>,
    /// Narrative or purpose, for people.
    pub text: String,
}

/// Why a candidate is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    SameAmount,
    SameCounterparty,
}

impl Why {
    pub fn label_zh(&self) -> &'static str {
        match self {
            Why::SameAmount => "金额相同",
            Why::SameCounterparty => "同一对方户且在日期窗口内",
        }
    }
    pub fn label_en(&self) -> &'static str {
        match self {
            Why::SameAmount => "same amount",
            Why::SameCounterparty => "same counterparty within the date window",
        }
    }
}

fn same_counterparty(a: &Side, b: &Side) -> bool {
    let acct = |s: &Side| s.counterparty_account.as_deref().map(crate::account::normalize).filter(|x| !x.is_empty());
    let name = |s: &Side| s.counterparty_name.as_deref().map(str::trim).filter(|x| !x.is_empty()).map(str::to_string);
    matches!((acct(a), acct(b)), (Some(x), Some(y)) if x == y)
        || matches!((name(a), name(b)), (Some(x), Some(y)) if x == y)
}

/// The bank may book from the book date up to `window` business days after it.
fn in_window(entry: &Side, record: &Side, window: u32) -> bool {
    entry.date >= record.date && entry.date <= crate::calendar::add_business_days(record.date, window)
}

/// Candidates for `item` (a bank entry when `item_is_entry`, else a book record) among
/// `others` (the open items of the other side): indexes into `others` with the reason,
/// equal amounts first, then by distance in days; at most [`MAX_CANDIDATES`].
pub fn candidates(item: &Side, item_is_entry: bool, others: &[Side], window: u32) -> Vec<(usize, Why)> {
    let mut out: Vec<(usize, Why, i64)> = Vec::new();
    for (i, o) in others.iter().enumerate() {
        let (e, r) = if item_is_entry { (item, o) } else { (o, item) };
        let why = if o.amount == item.amount {
            Why::SameAmount
        } else if same_counterparty(item, o) && in_window(e, r, window) {
            Why::SameCounterparty
        } else {
            continue;
        };
        out.push((i, why, (o.date - item.date).num_days().abs()));
    }
    out.sort_by_key(|(i, why, days)| (*why != Why::SameAmount, *days, *i));
    out.truncate(MAX_CANDIDATES);
    out.into_iter().map(|(i, w, _)| (i, w)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn side(key: &str, date: &str, amount: Decimal, cp: Option<&str>) -> Side {
        Side {
            key: key.into(),
            date: date.parse().unwrap(),
            amount,
            counterparty_account: cp.map(str::to_string),
            counterparty_name: None,
            text: String::new(),
        }
    }

    #[test]
    fn equal_amounts_first_then_counterparty_in_window() {
        let entry = side("BK1#1", "2024-03-21", dec!(1200000.00), Some("6222-0001"));
        let records = vec![
            side("receipt:FAR", "2024-03-01", dec!(1200000.00), None), // same amount, far away: still shown
            side("receipt:CP", "2024-03-20", dec!(1199999.99), Some("62220001")), // same counterparty, in window
            side("receipt:OUT", "2024-03-10", dec!(5.00), Some("6222-0001")), // same counterparty, outside window
            side("receipt:NO", "2024-03-21", dec!(7.00), Some("9999")),
            side("receipt:NEAR", "2024-03-21", dec!(1200000.00), None),
        ];
        let got: Vec<(&str, Why)> =
            candidates(&entry, true, &records, 3).into_iter().map(|(i, w)| (records[i].key.as_str(), w)).collect();
        assert_eq!(
            got,
            [
                ("receipt:NEAR", Why::SameAmount),
                ("receipt:FAR", Why::SameAmount),
                ("receipt:CP", Why::SameCounterparty)
            ]
        );
    }

    #[test]
    fn the_reverse_side_and_the_bound() {
        // An open record: entries booked before the book date are outside the window.
        let record = side("disbursement:V", "2024-03-18", dec!(-500.00), Some("A"));
        let entries = vec![
            side("E1#1", "2024-03-15", dec!(-1.00), Some("A")),
            side("E2#1", "2024-03-21", dec!(-2.00), Some("A")),
        ];
        let got: Vec<usize> = candidates(&record, false, &entries, 3).into_iter().map(|(i, _)| i).collect();
        assert_eq!(got, [1]);
        let many: Vec<Side> = (0..50).map(|i| side(&format!("E{i}#1"), "2024-03-18", dec!(-500.00), None)).collect();
        assert_eq!(candidates(&record, false, &many, 3).len(), MAX_CANDIDATES);
        assert!(candidates(&record, false, &[], 3).is_empty());
    }
}
