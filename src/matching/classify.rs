//! Rule `classify`: what no matching rule took becomes a discrepancy, in this order:
//! 1. `amount_mismatch` — an open entry names an open record's voucher, amounts differ
//!    (both leave; the pair is one discrepancy);
//! 2. entries by the bank's own kind: `bank_fee`, `interest_credit`, `returned_payment`
//!    (with the voucher it names, if any);
//! 3. `duplicate_entry` — the entry repeats an entry already matched (same date, amount,
//!    counterparty and text, or the same bank reference);
//! 4. `missing_in_books` — any other open entry;
//! 5. records: `missing_in_bank` when a batch debit paid the other items of its batch
//!    (rule `batch`, naming the debit); else `in_transit` while the bank's window has not
//!    passed at the end of the statements, `missing_in_bank` once it has.

use super::reference::Index;
use super::{FxMap, NONE, Outcome, Params, Pool};
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
        if refs.hits.get(ei).is_empty() {
            continue;
        }
        let hit = refs.voucher_records(ei).into_iter().find(|&ri| {
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
    // Keyed on the open candidates only (few), then one pass over the matched entries.
    type Content<'a> = (chrono::NaiveDate, rust_decimal::Decimal, Option<&'a str>, &'a str);
    let content = |i: usize| -> Content {
        let m = pool.entries[i];
        (m.booking_date, m.amount.normalize(), m.counterparty_account.as_deref(), m.narrative.as_str())
    };
    let mut want_ref: FxMap<&str, usize> = FxMap::default();
    let mut want_content: FxMap<Content, usize> = FxMap::default();
    let mut want_day: std::collections::HashSet<(chrono::NaiveDate, Option<i64>), super::FxBuild> = Default::default();
    for i in 0..pool.entries.len() {
        let e = pool.entries[i];
        if !pool.entry_open[i] || matches!(e.kind, EntryKind::Fee | EntryKind::Interest | EntryKind::Return) {
            continue;
        }
        if !is_placeholder_ref(e.bank_ref.as_deref()) {
            want_ref.insert(e.bank_ref.as_deref().unwrap_or(""), NONE as usize);
        }
        want_content.insert(content(i), NONE as usize);
        want_day.insert((e.booking_date, pool.efen[i]));
    }
    if !want_ref.is_empty() || !want_content.is_empty() {
        for i in 0..pool.entries.len() {
            if pool.entry_open[i] {
                continue;
            }
            if let Some(slot) = pool.entries[i].bank_ref.as_deref().and_then(|r| want_ref.get_mut(r))
                && *slot == NONE as usize
            {
                *slot = i;
            }
            if want_day.contains(&(pool.entries[i].booking_date, pool.efen[i]))
                && let Some(slot) = want_content.get_mut(&content(i))
                && *slot == NONE as usize
            {
                *slot = i;
            }
        }
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
                let voucher = refs.voucher_records(ei).first().map(|&ri| pool.records[ri].voucher_no.clone());
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
                    e.bank_ref.as_deref().and_then(|r| want_ref.get(r)).copied().filter(|&m| m != NONE as usize)
                };
                let dup = by_ref.or_else(|| want_content.get(&content(ei)).copied().filter(|&m| m != NONE as usize));
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
        let failed_in = pool.failed_in[ri];
        let (kind, detail) = match params.statements_end {
            _ if failed_in != NONE => {
                let b = pool.entries[failed_in as usize];
                (
                    Kind::MissingInBank,
                    format!(
                        "batch {} debited by entry {} ({}) without this item",
                        r.batch_ref.as_deref().unwrap_or(""),
                        b.entry_key,
                        canonical(b.amount)
                    ),
                )
            }
            Some(end) if deadline <= end => {
                (Kind::MissingInBank, format!("not executed by {deadline}; statements run to {end}"))
            }
            Some(end) => (Kind::InTransit, format!("bank may execute until {deadline}; statements run to {end}")),
            None => (Kind::InTransit, "no statement for this account yet".to_string()),
        };
        let mut d = mk(kind, r.date, detail);
        if failed_in != NONE {
            d.rule = "batch".into();
        }
        d.record = Some(r.id);
        d.voucher_no = Some(r.voucher_no.clone());
        d.expected = Some(r.amount);
        out.discrepancies.push(d);
    }
}

fn is_placeholder_ref(r: Option<&str>) -> bool {
    matches!(r.map(str::trim), None | Some("") | Some("NONREF") | Some("NOTPROVIDED"))
}
