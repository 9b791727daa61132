//! Rule `classify`: what no matching rule took becomes a discrepancy, in this order:
//! 1. `amount_mismatch` — an open entry names an open record's voucher, amounts differ
//!    (both leave; the pair is one discrepancy); then the one open pair of a counterparty
//!    whose amounts differ by a slip ([`super::slip`]);
//! 2. entries by the bank's own kind: `bank_fee`, `interest_credit`, `returned_payment`
//!    (with the voucher it names, if any);
//! 3. `duplicate_entry` — the entry repeats an entry already matched (same date, amount,
//!    counterparty and text, or the same bank reference, or it names the voucher a matched
//!    entry of the same amount paid, or the same amount, counterparty and text a business
//!    day before or after);
//! 4. `missing_in_books` — any other open entry;
//! 5. records: `missing_in_bank` when a batch debit paid the other items of its batch
//!    (rule `batch`, naming the debit); else `in_transit` while the bank's window has not
//!    passed at the end of the statements, `missing_in_bank` once it has.

use super::compact::{Compact, DRule};
use super::reference::Index;
use super::{FxMap, NONE, Params, Pool};
use crate::discrepancy::Kind;
use crate::statement::EntryKind;

pub(crate) fn rest(pool: &mut Pool, refs: &Index, params: &Params, out: &mut Compact) {
    const NO: usize = NONE as usize;
    let ne = pool.ne();
    // 1. amount_mismatch
    for ei in 0..ne {
        if !pool.entry_open[ei] || pool.it.e_kind[ei] == EntryKind::Return {
            continue;
        }
        if refs.hits.get(ei).is_empty() {
            continue;
        }
        let neg = pool.e(ei).neg();
        let hit = refs.voucher_records(ei).into_iter().find(|&ri| pool.record_open[ri] && pool.r(ri).neg() == neg);
        if let Some(ri) = hit {
            pool.entry_open[ei] = false;
            pool.record_open[ri] = false;
            out.disc(Kind::AmountMismatch, DRule::Classify, ei, ri, NONE);
        }
    }
    // A reference only the two of them hold, amounts unequal.
    for &(ei, ri, note) in &pool.shared_mismatch {
        let (ei, ri) = (ei as usize, ri as usize);
        if pool.entry_open[ei] && pool.record_open[ri] {
            pool.entry_open[ei] = false;
            pool.record_open[ri] = false;
            out.disc(Kind::AmountMismatch, DRule::Classify, ei, ri, super::compact::MISMATCH_SHARED | note);
        }
    }
    super::slip::report(pool, out, params.window_days);
    // Ties noted by the rules, for the items that stay open: their candidates are listed.
    for (&(is_record, at), cands) in &pool.ties {
        let open = if is_record { pool.record_open[at as usize] } else { pool.entry_open[at as usize] };
        if open {
            out.ties.insert((is_record, at), cands.clone());
        }
    }
    // Entries already matched, for duplicate detection: by bank reference and by content.
    // Keyed on the open candidates only (few), then one pass over the matched entries.
    type Content<'a> = (chrono::NaiveDate, rust_decimal::Decimal, Option<&'a str>, &'a str);
    let it = pool.it;
    let content = |i: usize| -> Content {
        let m = it.e(i);
        (m.date(), m.amount().normalize(), m.cp(), m.narrative())
    };
    let mut want_ref: FxMap<&str, usize> = FxMap::default();
    let mut want_content: FxMap<Content, usize> = FxMap::default();
    let mut want_day: std::collections::HashSet<(chrono::NaiveDate, Option<i64>), super::FxBuild> = Default::default();
    for i in 0..ne {
        if !pool.entry_open[i] || matches!(it.e_kind[i], EntryKind::Fee | EntryKind::Interest | EntryKind::Return) {
            continue;
        }
        let e = it.e(i);
        if !is_placeholder_ref(e.bank_ref()) {
            want_ref.insert(e.bank_ref().unwrap_or(""), NO);
        }
        want_content.insert(content(i), NO);
        want_day.insert((e.date(), pool.efen(i)));
    }
    if !want_ref.is_empty() || !want_content.is_empty() {
        for i in 0..ne {
            if pool.entry_open[i] {
                continue;
            }
            if let Some(slot) = it.e(i).bank_ref().and_then(|r| want_ref.get_mut(r))
                && *slot == NO
            {
                *slot = i;
            }
            if want_day.contains(&(it.e_date[i], pool.efen(i)))
                && let Some(slot) = want_content.get_mut(&content(i))
                && *slot == NO
            {
                *slot = i;
            }
        }
    }
    // An open entry naming a voucher that a matched entry of the same amount already paid:
    // the bank posted the payment twice (possibly on another day, under another reference).
    let mut paid_by: FxMap<u32, u32> = FxMap::default();
    let named: Vec<(usize, usize)> = (0..ne)
        .filter(|&i| pool.entry_open[i] && super::plain(it.e_kind[i]))
        .flat_map(|i| refs.voucher_records(i).into_iter().map(move |ri| (i, ri)))
        .filter(|&(_, ri)| !pool.record_open[ri])
        .collect();
    if !named.is_empty() {
        let want: std::collections::HashSet<u32, super::FxBuild> = named.iter().map(|&(_, ri)| ri as u32).collect();
        for m in 0..out.match_count() {
            if let ([e], [r]) = (out.entries_of(m), out.records_of(m))
                && want.contains(r)
                && out.matches[m].rule != super::Rule::Return
            {
                paid_by.insert(*r, *e);
            }
        }
    }
    // `named` is in entry order: an entry's vouchers are one run of it.
    let dup_of_voucher = |it: &super::Items, ei: usize| -> Option<u32> {
        let from = named.partition_point(|&(i, _)| i < ei);
        named[from..].iter().take_while(|&&(i, _)| i == ei).find_map(|&(_, ri)| {
            let pe = *paid_by.get(&(ri as u32))?;
            (it.efen(pe as usize) == it.efen(ei)).then_some(pe)
        })
    };
    // The same posting again a business day later (or earlier), under another reference:
    // same amount, counterparty and text as a matched entry.
    type Again<'a> = (rust_decimal::Decimal, Option<&'a str>, Option<&'a str>, &'a str);
    let again_key = |i: usize| -> Again {
        let m = it.e(i);
        (m.amount().normalize(), m.cp(), m.cp_name(), m.narrative())
    };
    let mut want_again: FxMap<Again, Vec<usize>> = FxMap::default();
    for i in 0..ne {
        if pool.entry_open[i] && super::plain(it.e_kind[i]) && !it.e(i).narrative().is_empty() {
            want_again.entry(again_key(i)).or_default().push(i);
        }
    }
    let mut again: FxMap<usize, usize> = FxMap::default();
    if !want_again.is_empty() {
        let amounts: std::collections::HashSet<Option<i64>, super::FxBuild> =
            want_again.values().flatten().map(|&i| pool.efen(i)).collect();
        for m in 0..ne {
            if pool.entry_open[m] || !amounts.contains(&pool.efen(m)) {
                continue;
            }
            let Some(opens) = want_again.get(&again_key(m)) else { continue };
            let md = it.e_date[m];
            for &o in opens {
                let od = it.e_date[o];
                let near = crate::calendar::add_business_days(md.min(od), 1) >= md.max(od);
                if near && od != md {
                    again.entry(o).or_insert(m);
                }
            }
        }
    }
    for ei in 0..ne {
        if !pool.entry_open[ei] {
            continue;
        }
        let e = it.e(ei);
        pool.entry_open[ei] = false;
        let (kind, aux) = match e.kind() {
            EntryKind::Fee => (Kind::BankFee, NONE),
            EntryKind::Interest => (Kind::InterestCredit, NONE),
            EntryKind::Return => {
                let voucher = refs.voucher_records(ei).first().map_or(NONE, |&ri| ri as u32);
                (Kind::ReturnedPayment, voucher)
            }
            _ => {
                let by_ref = if is_placeholder_ref(e.bank_ref()) {
                    None
                } else {
                    e.bank_ref().and_then(|r| want_ref.get(r)).copied().filter(|&m| m != NO)
                };
                let dup = by_ref
                    .or_else(|| want_content.get(&content(ei)).copied().filter(|&m| m != NO))
                    .or_else(|| dup_of_voucher(it, ei).map(|m| m as usize))
                    .or_else(|| again.get(&ei).copied());
                match dup {
                    Some(mi) => (Kind::DuplicateEntry, mi as u32),
                    None => (Kind::MissingInBooks, NONE),
                }
            }
        };
        out.disc(kind, DRule::Classify, ei, NO, aux);
    }
    for ri in 0..pool.nr() {
        if !pool.record_open[ri] {
            continue;
        }
        pool.record_open[ri] = false;
        let deadline = crate::calendar::add_business_days(it.r_date[ri], params.window_days);
        let failed_in = pool.failed_in[ri];
        let (kind, rule) = match params.statements_end {
            _ if failed_in != NONE => (Kind::MissingInBank, DRule::Batch),
            Some(end) if deadline <= end => (Kind::MissingInBank, DRule::Classify),
            _ => (Kind::InTransit, DRule::Classify),
        };
        out.disc(kind, rule, NO, ri, failed_in);
    }
}

fn is_placeholder_ref(r: Option<&str>) -> bool {
    matches!(r.map(str::trim), None | Some("") | Some("NONREF") | Some("NOTPROVIDED"))
}
