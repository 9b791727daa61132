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

use super::compact::{self as c, Compact, DRule};
use super::reference::Index;
use super::subset::{self, Found};
use super::text::{canonical_ref, says_return};
use super::{FxMap, NONE, Pool, Rule, group_by, hash_str, plain};
use crate::discrepancy::Kind;
use crate::statement::EntryKind;

pub(crate) fn link(refs: &Index, pool: &mut Pool, out: &mut Compact) {
    let cands: Vec<usize> = (0..pool.ne())
        .filter(|&ei| pool.entry_open[ei] && pool.efen(ei).is_some_and(|f| f > 0))
        .filter(|&ei| {
            let e = pool.e(ei);
            e.kind() == EntryKind::Return || (plain(e.kind()) && says_return(e.narrative()))
        })
        .collect();
    if cands.is_empty() {
        return;
    }
    // Debits by end-to-end id, records by id and by (counterparty, amount): only what
    // some candidate can ask for.
    let want_e2e: std::collections::HashSet<u64, super::FxBuild> = cands
        .iter()
        .filter_map(|&ei| pool.e(ei).e2e().map(canonical_ref))
        .filter(|x| !x.is_empty())
        .map(|x| hash_str(&x))
        .collect();
    let mut debit_e2e: FxMap<u64, Vec<usize>> = FxMap::default();
    if !want_e2e.is_empty() {
        for ei in 0..pool.ne() {
            if pool.efen(ei).is_some_and(|f| f < 0)
                && let Some(x) = pool.e(ei).e2e().map(canonical_ref).filter(|x| !x.is_empty())
                && want_e2e.contains(&hash_str(&x))
            {
                debit_e2e.entry(hash_str(&x)).or_default().push(ei);
            }
        }
    }
    let want_cp: std::collections::HashSet<(u64, i64), super::FxBuild> = cands
        .iter()
        .filter(|&&ei| pool.ecp[ei] != 0)
        .filter_map(|&ei| pool.efen(ei).map(|f| (pool.ecp[ei], -f)))
        .collect();
    let (flat, by_cp) = group_by(
        (0..pool.nr())
            .filter(|&ri| pool.rcp[ri] != 0)
            .filter_map(|ri| pool.rfen(ri).map(|f| ((pool.rcp[ri], f), ri as u32)))
            .filter(|(k, _)| want_cp.contains(k)),
    );

    for ei in cands {
        let e = pool.e(ei);
        let target = -pool.efen(ei).unwrap_or(0);
        let free = |pool: &Pool, ri: usize| !pool.returned[ri] && pool.rfen(ri) == Some(target);
        // (records, how, the debit for `RETURN_E2E_DEBIT`)
        let mut found: Option<(Vec<usize>, u8, u32)> = None;

        // 1. End-to-end id.
        if let Some(x) = e.e2e().map(canonical_ref).filter(|x| !x.is_empty()) {
            if let Some(k) = refs.keys.get(&x)
                && let Some(&ri) = refs.key_recs.get(k as usize).iter().find(|&&ri| free(pool, ri as usize))
            {
                found = Some((vec![ri as usize], c::RETURN_E2E_VOUCHER, NONE));
            }
            if found.is_none()
                && let Some(debits) = debit_e2e.get(&hash_str(&x))
            {
                for &di in debits {
                    if pool.e(di).e2e().map(canonical_ref).as_deref() != Some(x.as_str()) {
                        continue;
                    }
                    let mi = pool.entry_match[di];
                    if mi == NONE {
                        continue;
                    }
                    let hit = out.records_of(mi as usize).iter().map(|&ri| ri as usize).find(|&ri| free(pool, ri));
                    if let Some(ri) = hit {
                        found = Some((vec![ri], c::RETURN_E2E_DEBIT, di as u32));
                        break;
                    }
                }
            }
        }
        // 2. Voucher in the text.
        if found.is_none()
            && let Some(ri) = refs.voucher_records(ei).into_iter().find(|&ri| free(pool, ri))
        {
            found = Some((vec![ri], c::RETURN_VOUCHER, NONE));
        }
        // 3. Batch in the text: the person(s) of that amount.
        if found.is_none() {
            for &k in refs.hits.get(ei) {
                let members: Vec<usize> = refs
                    .key_batch
                    .get(k as usize)
                    .iter()
                    .map(|&r| r as usize)
                    .filter(|&ri| !pool.returned[ri] && pool.failed_in[ri] == NONE && pool.rfen(ri).is_some())
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let exact: Vec<usize> = members.iter().copied().filter(|&ri| free(pool, ri)).collect();
                match exact.len() {
                    1 => {
                        found = Some((exact, c::RETURN_BATCH_ONE, NONE));
                        break;
                    }
                    0 => {}
                    _ => break, // two persons of that amount: cannot say which
                }
                let amounts: Vec<i64> = members.iter().map(|&ri| pool.rfen(ri).unwrap_or(0)).collect();
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
                    found = Some((idx.into_iter().map(|i| members[i]).collect(), c::RETURN_BATCH_SET, NONE));
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
            let rdates = &pool.it.r_date;
            let upto = s + flat[s..t].partition_point(|&ri| rdates[ri as usize] <= e.date());
            let hit = flat[s..upto]
                .iter()
                .rev()
                .map(|&ri| ri as usize)
                .find(|&ri| !pool.returned[ri] && super::same_cp(pool.r(ri).cp(), e.cp()));
            if let Some(ri) = hit {
                found = Some((vec![ri], c::RETURN_COUNTERPARTY, NONE));
            }
        }

        let Some((recs, how, debit)) = found else { continue };
        let how = if pool.record_open[recs[0]] { how | c::RETURN_RECORD_OPEN } else { how };
        let m = out.push(Rule::Return, how, [ei], recs.iter().copied(), debit);
        pool.close_entry(ei, m);
        for &ri in &recs {
            pool.returned[ri] = true;
        }
        // The record is named by the match and the voucher; its own state stays where it is.
        out.disc(Kind::ReturnedPayment, DRule::Return, ei, NONE as usize, m as u32);
    }
}
