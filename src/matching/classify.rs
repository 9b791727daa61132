//! Rule `classify`: what no matching rule took becomes a discrepancy, in this order:
//! 1. `amount_mismatch` — an open entry names an open record's voucher, amounts differ
//!    (both leave; the pair is one discrepancy);
//! 2. entries by the bank's own kind: `bank_fee`, `interest_credit`, `returned_payment`
//!    (with the voucher it names, if any);
//! 3. `duplicate_entry` — the entry repeats an entry already matched (same date, amount,
//!    counterparty and text, or the same bank reference);
//! 4. `missing_in_books` — any other open entry;
//! 5. records: `in_transit` while the bank's window has not passed at the end of the
//!    statements, `missing_in_bank` once it has.

use super::reference::Index;
use super::{Outcome, Params, Pool};
use crate::discrepancy::{Discrepancy, Kind};
use crate::money::canonical;
use crate::statement::EntryKind;

pub(crate) fn rest(account_no: &str, pool: &mut Pool, refs: &Index, params: &Params, out: &mut Outcome) {
    let mk = |kind: Kind, date, detail: String| Discrepancy {
        kind,
        account_no: account_no.to_string(),
        entry: None,
        record: None,
        statement: None,
        bank_ref: None,
        voucher_no: None,
        date,
        amount: None,
        expected: None,
        rule: "classify".into(),
        detail,
    };
    // 1. amount_mismatch
    for ei in 0..pool.entries.len() {
        if !pool.entry_open[ei] || pool.entries[ei].kind == EntryKind::Return {
            continue;
        }
        let e = pool.entries[ei];
        let hit = refs.voucher_hits[ei].iter().copied().find(|&ri| {
            pool.record_open[ri] && pool.records[ri].amount.is_sign_negative() == e.amount.is_sign_negative()
        });
        if let Some(ri) = hit {
            let r = pool.records[ri];
            pool.entry_open[ei] = false;
            pool.record_open[ri] = false;
            let mut d = mk(
                Kind::AmountMismatch,
                e.booking_date,
                format!(
                    "voucher {} found in entry {}: bank {} vs books {} (difference {})",
                    r.voucher_no,
                    e.entry_key,
                    canonical(e.amount),
                    canonical(r.amount),
                    canonical(e.amount - r.amount)
                ),
            );
            d.entry = Some(e.id);
            d.record = Some(r.id);
            d.bank_ref = e.bank_ref.clone();
            d.voucher_no = Some(r.voucher_no.clone());
            d.amount = Some(e.amount);
            d.expected = Some(r.amount);
            out.discrepancies.push(d);
        }
    }
    // Entries already matched, for duplicate detection: by bank reference and by content.
    let mut matched_refs = std::collections::HashMap::new();
    let mut matched_content = std::collections::HashMap::new();
    for (i, m) in pool.entries.iter().enumerate() {
        if pool.entry_open[i] {
            continue;
        }
        if !is_placeholder_ref(m.bank_ref.as_deref()) {
            matched_refs.entry(m.bank_ref.clone()).or_insert(i);
        }
        matched_content
            .entry((m.booking_date, m.amount, m.counterparty_account.clone(), m.narrative.clone()))
            .or_insert(i);
    }
    for ei in 0..pool.entries.len() {
        if !pool.entry_open[ei] {
            continue;
        }
        let e = pool.entries[ei];
        pool.entry_open[ei] = false;
        let (kind, detail) = match e.kind {
            EntryKind::Fee => (Kind::BankFee, "bank fee not in the books".to_string()),
            EntryKind::Interest => {
                (Kind::InterestCredit, "interest posted by the bank; checked by the interest module".to_string())
            }
            EntryKind::Return => {
                let voucher = refs.voucher_hits[ei].first().map(|&ri| pool.records[ri].voucher_no.clone());
                let detail = match &voucher {
                    Some(v) => format!("returned payment naming voucher {v}"),
                    None => "returned payment; original voucher not found in its text".to_string(),
                };
                let mut d = mk(Kind::ReturnedPayment, e.booking_date, detail);
                d.voucher_no = voucher;
                d.entry = Some(e.id);
                d.bank_ref = e.bank_ref.clone();
                d.amount = Some(e.amount);
                out.discrepancies.push(d);
                continue;
            }
            _ => {
                let by_ref = if is_placeholder_ref(e.bank_ref.as_deref()) {
                    None
                } else {
                    matched_refs.get(&e.bank_ref).copied()
                };
                let dup = by_ref.or_else(|| {
                    matched_content
                        .get(&(e.booking_date, e.amount, e.counterparty_account.clone(), e.narrative.clone()))
                        .copied()
                });
                match dup {
                    Some(mi) => (
                        Kind::DuplicateEntry,
                        format!("repeats entry {} (already matched)", pool.entries[mi].entry_key),
                    ),
                    None => (Kind::MissingInBooks, "no book record found".to_string()),
                }
            }
        };
        let mut d = mk(kind, e.booking_date, detail);
        d.entry = Some(e.id);
        d.bank_ref = e.bank_ref.clone();
        d.amount = Some(e.amount);
        out.discrepancies.push(d);
    }
    for ri in 0..pool.records.len() {
        if !pool.record_open[ri] {
            continue;
        }
        pool.record_open[ri] = false;
        let r = pool.records[ri];
        let deadline = crate::calendar::add_business_days(r.date, params.window_days);
        let (kind, detail) = match params.statements_end {
            Some(end) if deadline <= end => {
                (Kind::MissingInBank, format!("not executed by {deadline}; statements run to {end}"))
            }
            Some(end) => (Kind::InTransit, format!("bank may execute until {deadline}; statements run to {end}")),
            None => (Kind::InTransit, "no statement for this account yet".to_string()),
        };
        let mut d = mk(kind, r.date, detail);
        d.record = Some(r.id);
        d.voucher_no = Some(r.voucher_no.clone());
        d.expected = Some(r.amount);
        out.discrepancies.push(d);
    }
}

fn is_placeholder_ref(r: Option<&str>) -> bool {
    matches!(r.map(str::trim), None | Some("") | Some("NONREF") | Some("NOTPROVIDED"))
}
