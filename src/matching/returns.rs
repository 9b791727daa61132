//! Rule `return` (退汇): a credit that brings back an earlier payment is linked to the
//! payment's book record — the person within a batch — across days and months, even when
//! that record is already matched (by `batch`, `reference`…). The credit leaves matching as
//! a `return` match naming the record, and a `returned_payment` discrepancy naming the
//! voucher (the books must book the money that came back).
//!
//! A credit is a return when the bank says so (kind `Return`) or its text does (退汇, 退款,
//! 退回, RETURN). It is linked, in this order, by:
//! 1. its end-to-end id: equal to a voucher number, or to an earlier debit's end-to-end id
//!    (then to that debit's matched record of the returned amount);
//! 2. a voucher number in its text, same amount;
//! 3. a batch reference in its text: the one person of the batch with that amount, or the
//!    one set of persons whose amounts add up to it (代发余额退款 for several);
//! 4. the same counterparty and amount, the latest such payment on or before the credit.
//!
//! Each record is returned at most once; an amount that fits two persons equally links
//! neither (the credit stays a `returned_payment` without a voucher).

use super::reference::Index;
use super::subset::{self, Found};
use super::text::{canonical_ref, says_return};
use super::{FxMap, Match, NONE, Outcome, Pool, Rule, group_by, hash_str, plain, push_match};
use crate::discrepancy::{Discrepancy, Kind};
use crate::statement::EntryKind;

pub(crate) fn link(refs: &Index, pool: &mut Pool, out: &mut Outcome, account_no: &str) {
    let cands: Vec<usize> = (0..pool.entries.len())
        .filter(|&ei| pool.entry_open[ei] && pool.efen[ei].is_some_and(|f| f > 0))
        .filter(|&ei| {
            let e = pool.entries[ei];
            e.kind == EntryKind::Return || (plain(e.kind) && says_return(&e.narrative))
        })
        .collect();
    if cands.is_empty() {
        return;
    }
    // Debits by end-to-end id, records by id and by (counterparty, amount): only what
    // some candidate can ask for.
    let want_e2e: std::collections::HashSet<u64, super::FxBuild> = cands
        .iter()
        .filter_map(|&ei| pool.entries[ei].end_to_end_id.as_deref().map(canonical_ref))
        .filter(|x| !x.is_empty())
        .map(|x| hash_str(&x))
        .collect();
    let mut debit_e2e: FxMap<u64, Vec<usize>> = FxMap::default();
    if !want_e2e.is_empty() {
        for (ei, e) in pool.entries.iter().enumerate() {
            if pool.efen[ei].is_some_and(|f| f < 0)
                && let Some(x) = e.end_to_end_id.as_deref().map(canonical_ref).filter(|x| !x.is_empty())
                && want_e2e.contains(&hash_str(&x))
            {
                debit_e2e.entry(hash_str(&x)).or_default().push(ei);
            }
        }
    }
    let rec_by_id: FxMap<i64, usize> = if debit_e2e.is_empty() {
        FxMap::default()
    } else {
        pool.records.iter().enumerate().map(|(i, r)| (r.id, i)).collect()
    };
    let want_cp: std::collections::HashSet<(u64, i64), super::FxBuild> = cands
        .iter()
        .filter(|&&ei| pool.ecp[ei] != 0)
        .filter_map(|&ei| pool.efen[ei].map(|f| (pool.ecp[ei], -f)))
        .collect();
    let (flat, by_cp) = group_by(
        (0..pool.records.len())
            .filter(|&ri| pool.rcp[ri] != 0)
            .filter_map(|ri| pool.rfen[ri].map(|f| ((pool.rcp[ri], f), ri as u32)))
            .filter(|(k, _)| want_cp.contains(k)),
    );

    for ei in cands {
        let e = pool.entries[ei];
        let target = -pool.efen[ei].unwrap_or(0);
        let free = |pool: &Pool, ri: usize| !pool.returned[ri] && pool.rfen[ri] == Some(target);
        let mut found: Option<(Vec<usize>, String)> = None;

        // 1. End-to-end id.
        if let Some(x) = e.end_to_end_id.as_deref().map(canonical_ref).filter(|x| !x.is_empty()) {
            if let Some(k) = refs.keys.get(&x)
                && let Some(&ri) = refs.key_recs.get(k as usize).iter().find(|&&ri| free(pool, ri as usize))
            {
                found = Some((vec![ri as usize], format!("end-to-end id {x} is its voucher")));
            }
            if found.is_none()
                && let Some(debits) = debit_e2e.get(&hash_str(&x))
            {
                for &di in debits {
                    let d = pool.entries[di];
                    if d.end_to_end_id.as_deref().map(canonical_ref).as_deref() != Some(x.as_str()) {
                        continue;
                    }
                    let mi = pool.entry_match[di];
                    if mi == NONE {
                        continue;
                    }
                    let hit = out.matches[mi as usize]
                        .records
                        .iter()
                        .filter_map(|id| rec_by_id.get(id).copied())
                        .find(|&ri| free(pool, ri));
                    if let Some(ri) = hit {
                        found = Some((vec![ri], format!("same end-to-end id {x} as debit {}", d.entry_key)));
                        break;
                    }
                }
            }
        }
        // 2. Voucher in the text.
        if found.is_none()
            && let Some(ri) = refs.voucher_records(ei).into_iter().find(|&ri| free(pool, ri))
        {
            found = Some((vec![ri], "voucher in its text".to_string()));
        }
        // 3. Batch in the text: the person(s) of that amount.
        if found.is_none() {
            for &k in refs.hits.get(ei) {
                let members: Vec<usize> = refs
                    .key_batch
                    .get(k as usize)
                    .iter()
                    .map(|&r| r as usize)
                    .filter(|&ri| !pool.returned[ri] && pool.failed_in[ri] == NONE && pool.rfen[ri].is_some())
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let exact: Vec<usize> = members.iter().copied().filter(|&ri| free(pool, ri)).collect();
                let batch = refs.keys.str(k);
                match exact.len() {
                    1 => {
                        found = Some((exact, format!("batch {batch} in its text, the one item of that amount")));
                        break;
                    }
                    0 => {}
                    _ => break, // two persons of that amount: cannot say which
                }
                let amounts: Vec<i64> = members.iter().map(|&ri| pool.rfen[ri].unwrap_or(0)).collect();
                let pick = if members.len() <= subset::EXACT_MAX {
                    subset::unique_subset(&amounts, target, 2)
                } else {
                    let total = amounts.iter().fold(0i64, |a, &x| a.saturating_add(x));
                    match subset::unique_complement(&amounts, total.saturating_sub(target)) {
                        Found::One(keep) => {
                            Found::One((0..members.len()).filter(|i| keep.binary_search(i).is_err()).collect())
                        }
                        other => other,
                    }
                };
                if let Found::One(idx) = pick
                    && idx.len() >= 2
                {
                    found = Some((
                        idx.into_iter().map(|i| members[i]).collect(),
                        format!("batch {batch} in its text, the one set of items adding up to it"),
                    ));
                    break;
                }
            }
        }
        // 4. Same counterparty and amount, the latest payment on or before the credit.
        if found.is_none()
            && pool.ecp[ei] != 0
            && let Some(&(s, t)) = by_cp.get(&(pool.ecp[ei], target))
        {
            let (s, t) = (s as usize, t as usize);
            let upto = s + flat[s..t].partition_point(|&ri| pool.records[ri as usize].date <= e.booking_date);
            let hit = flat[s..upto].iter().rev().map(|&ri| ri as usize).find(|&ri| {
                !pool.returned[ri]
                    && super::same_cp(
                        pool.records[ri].counterparty_account.as_deref(),
                        e.counterparty_account.as_deref(),
                    )
            });
            if let Some(ri) = hit {
                found = Some((vec![ri], "same counterparty and amount, the latest payment before it".to_string()));
            }
        }

        let Some((recs, how)) = found else { continue };
        let vouchers: Vec<&str> = recs.iter().map(|&ri| pool.records[ri].voucher_no.as_str()).collect();
        let vouchers = vouchers.join(";");
        let states: Vec<&str> = recs
            .iter()
            .map(|&ri| if pool.record_open[ri] { "not matched to a payment" } else { "its payment matched" })
            .collect();
        let m = push_match(
            out,
            Match {
                rule: Rule::Return,
                entries: vec![e.id],
                records: recs.iter().map(|&ri| pool.records[ri].id).collect(),
                detail: format!(
                    "{} returns {} of voucher {vouchers} ({how}; {})",
                    e.entry_key,
                    crate::money::canonical(e.amount),
                    states[0]
                ),
            },
        );
        pool.close_entry(ei, m);
        for &ri in &recs {
            pool.returned[ri] = true;
        }
        out.discrepancies.push(Discrepancy {
            kind: Kind::ReturnedPayment,
            account_no: account_no.to_string(),
            entry: Some(e.id),
            // The record is named by the match and the voucher; its own state stays where it is.
            record: None,
            statement: None,
            bank_ref: e.bank_ref.clone(),
            voucher_no: Some(vouchers.clone()),
            date: e.booking_date,
            amount: Some(e.amount),
            expected: None,
            rule: Rule::Return.as_str().to_string(),
            detail: if how == "voucher in its text" {
                format!("returned payment naming voucher {vouchers}")
            } else {
                format!("returned payment of voucher {vouchers} ({how})")
            },
        });
    }
}
