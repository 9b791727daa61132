//! Rule `return` (退汇): a credit that brings back an earlier payment is linked to the
//! payment's book record — the person within a batch — across days and months, even when
//! that record is already matched (by `batch`, `reference`…). The credit leaves matching as
//! a `return` match naming the record, and a `returned_payment` discrepancy naming the
//! voucher (the books must book the money that came back).
//!
//! A credit is a return when the bank says so (kind `Return`) or its text does (退汇, 退款,
//! 退回, RETURN). [`link`] (the cascade's `return` step) links it by evidence, in this
//! order:
//! 1. its end-to-end id: equal to a voucher number, or to an earlier debit's end-to-end id
//!    (then to that debit's matched record of the returned amount);
//! 2. a voucher number in its text, same amount;
//! 3. a reference token of a payment record's purpose in its text, held by that record
//!    only, same amount;
//! 4. a batch reference in its text: the one person of the batch with that amount, or the
//!    one set of persons whose amounts add up to it (代发余额退款 for several).
//!
//! [`link_by_counterparty`] runs after every other rule, on what nothing else claimed: the
//! same counterparty (account or name) and amount, a payment on or before the credit
//! (at most [`HEURISTIC_MAX_DAYS`] before), the only such payment and the only such credit. A credit that a record on its own side
//! could explain (a receipt of that amount from that counterparty, open, near it: a refund
//! of an overpayment, 退回多付款) is never a return by this heuristic.
//!
//! Each record is returned at most once; an amount that fits two persons equally links
//! neither (the credit stays a `returned_payment` without a voucher, its candidates named).

use super::compact::{self as c, Compact, DRule};
use super::pairing::{self, Edge};
use super::reference::Index;
use super::subset::{self, Found};
use super::text::canonical_ref;
use super::{FxMap, NONE, Pool, Rule, group_by, hash_str, plain};
use crate::discrepancy::Kind;
use crate::statement::EntryKind;

/// For every entry still open and plain: whether its text says it is a return
/// ([`super::text::says_return`]), asked once per distinct text (many entries share one).
fn return_texts(pool: &Pool) -> Vec<bool> {
    let mut memo: FxMap<u32, bool> = FxMap::default();
    (0..pool.ne())
        .map(|i| {
            let e = pool.e(i);
            pool.entry_open[i]
                && plain(e.kind())
                && *memo.entry(e.text_id()).or_insert_with(|| super::text::says_return(e.narrative()))
        })
        .collect()
}

pub(crate) fn link(refs: &Index, pool: &mut Pool, out: &mut Compact) {
    pool.return_text = return_texts(pool);
    let cands: Vec<usize> = (0..pool.ne()).filter(|&ei| is_candidate(pool, ei)).collect();
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
    // The original postings by end-to-end id (either direction: a credit returns a debit,
    // a debit returns a collected credit).
    let mut debit_e2e: FxMap<u64, Vec<usize>> = FxMap::default();
    if !want_e2e.is_empty() {
        for ei in 0..pool.ne() {
            if pool.efen(ei).is_some_and(|f| f != 0)
                && let Some(x) = pool.e(ei).e2e().map(canonical_ref).filter(|x| !x.is_empty())
                && want_e2e.contains(&hash_str(&x))
            {
                debit_e2e.entry(hash_str(&x)).or_default().push(ei);
            }
        }
    }
    // Candidate → the earlier postings whose bank reference its texts name.
    let by_bank_ref = named_bank_refs(pool, &cands);
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
                    if pool.e(di).neg() == e.neg() || pool.e(di).e2e().map(canonical_ref).as_deref() != Some(x.as_str())
                    {
                        continue;
                    }
                    let mi = pool.entry_match[di];
                    if mi == NONE {
                        continue;
                    }
                    let hit = one_of(pool, ei, out.records_of(mi as usize), |ri| free(pool, ri));
                    if let Some(ri) = hit {
                        found = Some((vec![ri], c::RETURN_E2E_DEBIT, di as u32));
                        break;
                    }
                }
            }
        }
        // 1b. The original posting's bank reference in the text (`退汇 原交易BK25032400136`):
        // the record that posting was matched to, of the returned amount.
        if found.is_none() {
            found = by_original_ref(pool, out, &by_bank_ref, ei);
        }
        // 2. Voucher in the text.
        if found.is_none()
            && let Some(ri) = refs.voucher_records(ei).into_iter().find(|&ri| free(pool, ri))
        {
            found = Some((vec![ri], c::RETURN_VOUCHER, NONE));
        }
        // 3. A reference token of one payment's purpose in the text.
        if found.is_none() {
            for &k in refs.hits.get(ei) {
                if refs.key_purpose.get(k as usize).is_empty() {
                    continue;
                }
                if let Some(ri) = refs.unique_record(k).filter(|&ri| free(pool, ri)) {
                    found = Some((vec![ri], c::RETURN_PURPOSE, out.note(refs.keys.str(k))));
                    break;
                }
            }
        }
        // 4. Batch in the text: the person(s) of that amount.
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
                if !exact.is_empty() {
                    // Two persons of that amount: the one the return names, else none.
                    let ids: Vec<u32> = exact.iter().map(|&ri| ri as u32).collect();
                    if let Some(ri) = one_of(pool, ei, &ids, |_| true) {
                        found = Some((vec![ri], c::RETURN_BATCH_ONE, NONE));
                    }
                    break;
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
        let Some((recs, how, aux)) = found else { continue };
        close(pool, out, ei, &recs, how, aux);
    }
}

/// The one record of `records` (an original posting's match: a 代发 debit's payees) that
/// `free` allows; where several do (payees of the same amount), the one of them whose
/// counterparty is the return's; else none — never the first of several.
fn one_of(pool: &Pool, ei: usize, records: &[u32], free: impl Fn(usize) -> bool) -> Option<usize> {
    let fits: Vec<usize> = records.iter().map(|&ri| ri as usize).filter(|&ri| free(ri)).collect();
    match fits.as_slice() {
        [one] => Some(*one),
        [] => None,
        many => {
            let same: Vec<usize> =
                many.iter().copied().filter(|&ri| super::nearest::same_party(pool, ei, ri)).collect();
            (same.len() == 1).then(|| same[0])
        }
    }
}

/// For each candidate, the other entries whose bank reference stands as a token in its
/// narrative or references (a bank quoting the original posting: `原交易BK25032400136`).
/// Only references at least 6 characters long count.
fn named_bank_refs(pool: &Pool, cands: &[usize]) -> FxMap<usize, Vec<usize>> {
    let (mut scratch, mut hay, mut spans) = (String::new(), String::new(), Vec::new());
    let mut want: FxMap<u64, Vec<usize>> = FxMap::default();
    for &ei in cands {
        let e = pool.e(ei);
        super::reference::haystack_of([e.customer_ref(), e.e2e(), Some(e.narrative()), None], &mut scratch, &mut hay);
        super::text::tokens(&hay, &mut spans);
        for &(s, t) in &spans {
            let tok = &hay[s as usize..t as usize];
            if tok.len() >= 6 && tok.bytes().any(|b| b.is_ascii_digit()) {
                want.entry(hash_str(tok)).or_default().push(ei);
            }
        }
    }
    let mut out: FxMap<usize, Vec<usize>> = FxMap::default();
    if want.is_empty() {
        return out;
    }
    for di in 0..pool.ne() {
        let Some(r) = pool.e(di).bank_ref() else { continue };
        let r = canonical_ref(r);
        if let Some(eis) = want.get(&hash_str(&r)) {
            for &ei in eis {
                if ei != di {
                    out.entry(ei).or_default().push(di);
                }
            }
        }
    }
    out
}

/// A return naming its original posting's bank reference: the one record of the returned
/// amount that posting was matched to (the one the return's counterparty fits, where a
/// 代发 debit paid several of that amount). `(records, how, the original entry)`.
fn by_original_ref(
    pool: &Pool,
    out: &Compact,
    by_bank_ref: &FxMap<usize, Vec<usize>>,
    ei: usize,
) -> Option<(Vec<usize>, u8, u32)> {
    let target = -pool.efen(ei)?;
    let neg = pool.e(ei).neg();
    for &di in by_bank_ref.get(&ei)? {
        let mi = pool.entry_match[di];
        if mi == NONE || pool.e(di).neg() == neg {
            continue;
        }
        let free = |ri: usize| !pool.returned[ri] && pool.rfen(ri) == Some(target);
        if let Some(ri) = one_of(pool, ei, out.records_of(mi as usize), free) {
            return Some((vec![ri], c::RETURN_BANK_REF, di as u32));
        }
    }
    None
}

/// A return candidate: the bank says so, or its text does. Usually a credit (our payment
/// came back); a debit when money we collected goes back (a returned direct debit,
/// 委托收款退回: on the creditor's statement the original debtor takes it back).
fn is_candidate(pool: &Pool, ei: usize) -> bool {
    let e = pool.e(ei);
    pool.entry_open[ei]
        && pool.efen(ei).is_some_and(|f| f != 0)
        && (e.kind() == EntryKind::Return || (plain(e.kind()) && pool.return_text.get(ei).copied().unwrap_or(false)))
}

/// Records the link of credit `ei` to `recs` (a `return` match and a `returned_payment`).
fn close(pool: &mut Pool, out: &mut Compact, ei: usize, recs: &[usize], how: u8, aux: u32) {
    let how = if pool.record_open[recs[0]] { how | c::RETURN_RECORD_OPEN } else { how };
    let m = out.push(Rule::Return, how, [ei], recs.iter().copied(), aux);
    pool.close_entry(ei, m);
    for &ri in recs {
        pool.returned[ri] = true;
    }
    // The record is named by the match and the voucher; its own state stays where it is.
    out.disc(Kind::ReturnedPayment, DRule::Return, ei, NONE as usize, m as u32);
}

/// How far back a payment may lie from the credit that returns it, for the heuristic: a
/// 退汇 comes back within days or weeks, and a person should look at anything older.
pub const HEURISTIC_MAX_DAYS: u32 = 62;
/// Records of one amount the heuristic reads around one credit at most: a round amount
/// paid more often than this in two months is no evidence of anything.
pub const HEURISTIC_MAX_SCAN: usize = 256;

/// One hash of (amount, kind of key, key), never 0.
fn key3(f: i64, tag: u64, h: u64) -> u64 {
    use std::hash::Hasher;
    let mut x = super::Fx::default();
    x.write_i64(f);
    x.write_u64(tag);
    x.write_u64(h);
    x.finish() | 1
}

/// The counterparty heuristic (see the module text): runs after every matching rule.
pub(crate) fn link_by_counterparty(pool: &mut Pool, out: &mut Compact, window: u32) {
    let mut cands: Vec<usize> = (0..pool.ne()).filter(|&ei| is_candidate(pool, ei)).collect();
    if cands.is_empty() {
        return;
    }
    // First the originals' bank references again: postings the later rules matched
    // (a debit paired by counterparty, a batch by its sum) are known now.
    let by_bank_ref = named_bank_refs(pool, &cands);
    cands.retain(|&ei| match by_original_ref(pool, out, &by_bank_ref, ei) {
        Some((recs, how, aux)) => {
            close(pool, out, ei, &recs, how, aux);
            false
        }
        None => true,
    });
    let mut win = super::nearest::Windows::new(window);
    // Records by (amount, counterparty key): the account hash where the record has an
    // account, the masked-card key, and (no account) the amount alone for names; each
    // list in date order. Only the candidates' amounts are kept.
    let want: std::collections::HashSet<i64, super::FxBuild> =
        cands.iter().filter_map(|&ei| pool.efen(ei).map(i64::saturating_abs)).collect();
    // Keys: 1 the account, 2 the masked-card key, 0 no account (found by name only), 3
    // every record of the amount (for a credit that names no account: by name only).
    let keyed = |ri: usize, f: i64| -> [(u64, u32); 3] {
        let k = |tag: u64, h: u64| key3(f, tag, h);
        let acct = if pool.rcp[ri] != 0 { k(1, pool.rcp[ri]) } else { k(0, 0) };
        let mask = if pool.rmask[ri] != 0 { k(2, pool.rmask[ri]) } else { 0 };
        [(acct, ri as u32), (mask, ri as u32), (k(3, 0), ri as u32)]
    };
    let (flat, by_key) = group_by(
        (0..pool.nr())
            .filter_map(|ri| pool.rfen(ri).map(|f| (ri, f)))
            .filter(|(_, f)| want.contains(&f.saturating_abs()))
            .flat_map(|(ri, f)| keyed(ri, f))
            .filter(|&(k, _)| k != 0),
    );
    let rdates = &pool.it.r_date;
    // The records under one key between two dates (binary search in the date-ordered list).
    let span = |k: u64, from: chrono::NaiveDate, to: chrono::NaiveDate| -> &[u32] {
        let list = by_key.get(&k).map_or(&[][..], |&(s, e)| &flat[s as usize..e as usize]);
        let a = list.partition_point(|&r| rdates[r as usize] < from);
        let b = list.partition_point(|&r| rdates[r as usize] <= to);
        &list[a..b.max(a)]
    };
    // The keys an entry's counterparty can be found under, for amount `f`.
    let keys_of = |ei: usize, f: i64| -> Vec<u64> {
        let k = |tag: u64, h: u64| key3(f, tag, h);
        let mut v = Vec::new();
        if pool.ecp[ei] != 0 {
            v.push(k(1, pool.ecp[ei]));
        }
        v.extend(super::nearest::text_accounts(pool, ei).into_iter().map(|a| k(1, super::cp_hash(a))));
        if pool.emask[ei] != 0 {
            v.push(k(2, pool.emask[ei]));
        }
        // With an account field: records without one, by name; without (none, or only
        // numbers in the text, which a wrapped line may have cut): every record, by name.
        v.push(if pool.ecp[ei] == 0 && pool.emask[ei] == 0 { k(3, 0) } else { k(0, 0) });
        v
    };
    let mut edges = Vec::new();
    for &ei in &cands {
        let e = pool.e(ei);
        let Some(f) = pool.efen(ei) else { continue };
        // A record of its own side (a receipt for a credit) of this amount and counterparty
        // near it could explain it: it is not for a heuristic to call that a return. More
        // records without an account than can be read: the heuristic stays out.
        let (lo, hi) = win.of(e.date());
        let mut own_side = false;
        for k in keys_of(ei, f) {
            let list = span(k, lo, hi);
            if list.len() > HEURISTIC_MAX_SCAN
                || list
                    .iter()
                    .any(|&ri| pool.record_open[ri as usize] && super::nearest::same_party(pool, ei, ri as usize))
            {
                own_side = true;
                break;
            }
        }
        if own_side {
            continue;
        }
        // The original posting: a payment for a returned credit, a collection for a
        // returned debit (records of the opposite sign), on or before it.
        let from = e.date() - chrono::Days::new(u64::from(HEURISTIC_MAX_DAYS));
        let mut originals: Vec<u32> = Vec::new();
        let mut too_many = false;
        for k in keys_of(ei, -f) {
            let list = span(k, from, e.date());
            too_many |= list.len() > HEURISTIC_MAX_SCAN;
            originals.extend_from_slice(list);
        }
        if too_many {
            continue;
        }
        originals.sort_unstable();
        originals.dedup();
        for ri in originals {
            let ri = ri as usize;
            if pool.returned[ri] || !super::nearest::same_party(pool, ei, ri) {
                continue;
            }
            // Every candidate counts the same: a nearer payment is no better guess of which
            // one came back, so two candidates tie (unless nothing tells them apart).
            edges.push(Edge { ri: ri as u32, ei: ei as u32, dist: 0, evidence: false });
        }
    }
    if edges.is_empty() {
        return;
    }
    // Edges only join a credit with records of its own amount: each amount is resolved
    // on its own (the rounds of `resolve` stay small).
    edges.sort_by_key(|e| (pool.efen(e.ei as usize), e.ei, e.ri));
    let mut groups: Vec<Vec<Edge>> = Vec::new();
    for e in edges {
        match groups.last_mut() {
            Some(g) if pool.efen(g[0].ei as usize) == pool.efen(e.ei as usize) => g.push(e),
            _ => groups.push(vec![e]),
        }
    }
    for g in groups {
        let res = {
            let p: &Pool = pool;
            pairing::resolve(g, |a, b| super::nearest::same_entry(p, a, b), |a, b| super::nearest::same_record(p, a, b))
        };
        for (ri, ei) in res.pairs {
            close(pool, out, ei as usize, &[ri as usize], c::RETURN_COUNTERPARTY, NONE);
        }
        for (is_record, at, cands) in res.ties {
            if !is_record {
                pool.ties.entry((false, at)).or_insert(cands);
            }
        }
    }
}
