//! Candidate matches for an open item, for the "match by hand" form: first the pair
//! matching suggests (the other half of an `amount_mismatch`: a slip in one booking), then
//! the open items of the other side in the same account whose amount is equal, or whose
//! counterparty is the same (account, masked card number or name, as matching compares
//! them) and whose dates lie within the matching window, both ways. Pure; bounded.

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
    /// The other half of this item's `amount_mismatch`: matching's suggested pair.
    Suggested,
    SameAmount,
    SameCounterparty,
}

impl Why {
    pub fn label_zh(&self) -> &'static str {
        match self {
            Why::Suggested => "建议配对：同一对方、日期相近，金额疑有笔误",
            Why::SameAmount => "金额相同",
            Why::SameCounterparty => "同一对方户且在日期窗口内",
        }
    }
    pub fn label_en(&self) -> &'static str {
        match self {
            Why::Suggested => "suggested pair: same counterparty, near date, amount likely mistyped",
            Why::SameAmount => "same amount",
            Why::SameCounterparty => "same counterparty within the date window",
        }
    }
}

fn same_counterparty(a: &Side, b: &Side) -> bool {
    use crate::matching::party::{mask_compatible, names_compatible};
    let acct = |s: &Side| s.counterparty_account.as_deref().map(crate::account::normalize).filter(|x| !x.is_empty());
    let (ra, rb) = (a.counterparty_account.as_deref(), b.counterparty_account.as_deref());
    matches!((acct(a), acct(b)), (Some(x), Some(y)) if x == y)
        || matches!((ra, rb), (Some(x), Some(y)) if mask_compatible(x, y))
        || matches!((a.counterparty_name.as_deref(), b.counterparty_name.as_deref()), (Some(x), Some(y)) if names_compatible(x, y))
}

/// The matching window, both ways: the bank books up to `window` business days after the
/// book date, a clerk books a receipt up to `window` business days after the credit.
fn in_window(entry: &Side, record: &Side, window: u32) -> bool {
    entry.date >= crate::calendar::window_start(record.date, window)
        && entry.date <= crate::calendar::add_business_days(record.date, window)
}

/// Candidates for `item` (a bank entry when `item_is_entry`, else a book record) among
/// `others` (the open items of the other side): indexes into `others` with the reason,
/// matching's suggestion (`suggested`: the key of the other half of the item's
/// `amount_mismatch`) first, then equal amounts, then by distance in days; at most
/// [`MAX_CANDIDATES`].
pub fn candidates(
    item: &Side,
    item_is_entry: bool,
    others: &[Side],
    window: u32,
    suggested: Option<&str>,
) -> Vec<(usize, Why)> {
    let mut out: Vec<(usize, Why, i64)> = Vec::new();
    for (i, o) in others.iter().enumerate() {
        let (e, r) = if item_is_entry { (item, o) } else { (o, item) };
        let why = if suggested == Some(o.key.as_str()) {
            Why::Suggested
        } else if o.amount == item.amount {
            Why::SameAmount
        } else if same_counterparty(item, o) && in_window(e, r, window) {
            Why::SameCounterparty
        } else {
            continue;
        };
        out.push((i, why, (o.date - item.date).num_days().abs()));
    }
    out.sort_by_key(|(i, why, days)| (*why as u8, *days, *i));
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
        let got: Vec<(&str, Why)> = candidates(&entry, true, &records, 3, None)
            .into_iter()
            .map(|(i, w)| (records[i].key.as_str(), w))
            .collect();
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
        // An open record (Monday 2024-03-18): entries from three business days before it
        // (Wednesday the 13th) to three after (Thursday the 21st) are in the window.
        let record = side("disbursement:V", "2024-03-18", dec!(-500.00), Some("A"));
        let entries = vec![
            side("E1#1", "2024-03-12", dec!(-1.00), Some("A")),
            side("E2#1", "2024-03-21", dec!(-2.00), Some("A")),
            side("E3#1", "2024-03-13", dec!(-3.00), Some("A")),
            side("E4#1", "2024-03-22", dec!(-4.00), Some("A")),
        ];
        let got: Vec<usize> = candidates(&record, false, &entries, 3, None).into_iter().map(|(i, _)| i).collect();
        assert_eq!(got, [1, 2]);
        let many: Vec<Side> = (0..50).map(|i| side(&format!("E{i}#1"), "2024-03-18", dec!(-500.00), None)).collect();
        assert_eq!(candidates(&record, false, &many, 3, None).len(), MAX_CANDIDATES);
        assert!(candidates(&record, false, &[], 3, None).is_empty());
    }

    #[test]
    fn matchings_suggestion_first_and_counterparty_as_matching_sees_it() {
        let mut entry = side("BK9#1", "2024-03-05", dec!(-12354.60), Some("6217********1234"));
        entry.counterparty_name = Some("张三".into());
        let mut by_name = side("disbursement:N", "2024-03-06", dec!(-99.00), None);
        by_name.counterparty_name = Some("张三".into());
        let records = vec![
            side("disbursement:SAME", "2024-03-01", dec!(-12354.60), None),
            side("disbursement:SLIP", "2024-03-05", dec!(-12345.60), Some("6217000011111234")),
            by_name,
        ];
        let got: Vec<(&str, Why)> = candidates(&entry, true, &records, 3, Some("disbursement:SLIP"))
            .into_iter()
            .map(|(i, w)| (records[i].key.as_str(), w))
            .collect();
        assert_eq!(
            got,
            [
                ("disbursement:SLIP", Why::Suggested),
                ("disbursement:SAME", Why::SameAmount),
                ("disbursement:N", Why::SameCounterparty)
            ]
        );
    }
}
