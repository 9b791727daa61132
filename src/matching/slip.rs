//! Amount slips: a bank entry and a book record that are one payment, written with a
//! slip in the amount (one digit wrong, two digits transposed, a digit missing or added,
//! or a small difference such as a fee deducted on the way) and no reference both carry.
//! When each side of such a pair is the other's unique best candidate (same counterparty
//! by account or name, inside the window, same direction; the smaller difference the
//! better) it is reported as one `amount_mismatch`
//! naming both amounts and both references, so a person fixes one booking instead of
//! chasing two unrelated items. Never chosen among equals: two candidates equally good
//! on either side and both stay as they were.

use super::compact::{Compact, DRule, SLIP_DIGIT, SLIP_LENGTH, SLIP_SMALL, SLIP_TRANSPOSED};
use super::nearest::Windows;
use super::pairing::{self, Edge};
use super::{FxMap, Pool, party, plain};
use crate::discrepancy::Kind;

/// The largest "small difference", in fen: a fee deducted from a transfer, a rounding.
pub const SMALL_MAX_FEN: u64 = 100_000;
/// A small difference is at most this share of the larger amount, in per mille.
pub const SMALL_MAX_PER_MILLE: u64 = 10;

/// What kind of slip turns `a` into `b` (both in fen, same sign), if any.
pub fn slip(a: i64, b: i64) -> Option<u32> {
    if a == b || (a < 0) != (b < 0) || a == 0 || b == 0 {
        return None;
    }
    let (x, y) = (a.unsigned_abs(), b.unsigned_abs());
    let (sx, sy) = (x.to_string(), y.to_string());
    let (bx, by) = (sx.as_bytes(), sy.as_bytes());
    if bx.len() == by.len() {
        let diff: Vec<usize> = (0..bx.len()).filter(|&i| bx[i] != by[i]).collect();
        match diff.as_slice() {
            [_] => return Some(SLIP_DIGIT),
            [i, j] if *j == i + 1 && bx[*i] == by[*j] && bx[*j] == by[*i] => return Some(SLIP_TRANSPOSED),
            _ => {}
        }
    } else if bx.len().abs_diff(by.len()) == 1 {
        let (long, short) = if bx.len() > by.len() { (bx, by) } else { (by, bx) };
        if (0..long.len()).any(|i| long[..i] == short[..i] && long[i + 1..] == short[i..]) {
            return Some(SLIP_LENGTH);
        }
    }
    let d = x.abs_diff(y);
    if d <= SMALL_MAX_FEN && d * 1000 <= x.max(y) * SMALL_MAX_PER_MILLE {
        return Some(SLIP_SMALL);
    }
    None
}

/// Pairs open slips as `amount_mismatch` discrepancies (see the module text). Runs in
/// `classify`, after every matching rule.
pub(crate) fn report(pool: &mut Pool, out: &mut Compact, window: u32) {
    let mut win = Windows::new(window);
    // Candidates: open plain entries by counterparty key (account hash, masked key, name).
    let mut by_key: FxMap<u64, Vec<u32>> = FxMap::default();
    // Keys: 0 the account (field or written in the text), 1 the masked-card key, 2 the name
    // (field or the words of the text).
    let keys_e = |p: &Pool, i: usize| -> Vec<(usize, u64)> {
        let mut k = vec![(0, p.ecp[i]), (1, p.emask[i])];
        k.extend(super::nearest::text_accounts(p, i).into_iter().map(|a| match party::masked(a) {
            Some(_) => (1, party::mask_key(a).map_or(0, super::mask_hash)),
            None => (0, super::cp_hash(a)),
        }));
        k.extend(super::nearest::entry_names(p, i).into_iter().map(|n| (2, super::hash_str(&party::name_form(n)))));
        k
    };
    for i in 0..pool.ne() {
        if !pool.entry_open[i] || !plain(pool.it.e_kind[i]) || pool.efen(i).is_none() {
            continue;
        }
        for (n, k) in keys_e(pool, i) {
            if k != 0 {
                let list = by_key.entry(k ^ ((n as u64) << 62)).or_default();
                if list.last() != Some(&(i as u32)) {
                    list.push(i as u32);
                }
            }
        }
    }
    if by_key.is_empty() {
        return;
    }
    // Candidate pairs, weighed: a typing slip first, then a small difference by its size
    // (0.01 explains better than 875.92). Each side must be the other's unique best
    // ([`pairing::resolve`]); a tie stays apart (8,880.00 is one digit from 8,800.00 and
    // from 8,080.00: neither).
    let mut edges: Vec<Edge> = Vec::new();
    for ri in 0..pool.nr() {
        if !pool.record_open[ri] {
            continue;
        }
        let Some(target) = pool.rfen(ri) else { continue };
        let r = pool.r(ri);
        let keys = [pool.rcp[ri], pool.rmask[ri], r.cp_name().map_or(0, |n| super::hash_str(&party::name_form(n)))];
        let (lo, hi) = win.of(r.date());
        let before = edges.len();
        for (n, k) in keys.into_iter().enumerate() {
            let Some(list) = (k != 0).then(|| by_key.get(&(k ^ ((n as u64) << 62)))).flatten() else { continue };
            // Lists are in entry order, which is date order: the window by binary search.
            let dates = &pool.it.e_date;
            let from = list.partition_point(|&e| dates[e as usize] < lo);
            let to = list.partition_point(|&e| dates[e as usize] <= hi);
            for &ei in &list[from..to.max(from)] {
                let Some(f) = pool.efen(ei as usize) else { continue };
                let Some(kind) = slip(f, target) else { continue };
                if super::nearest::same_party(pool, ei as usize, ri) {
                    // A typing slip (a digit, a transposition, a digit missing) is the
                    // best explanation, all of them alike; a small difference is weighed
                    // by its size, after any typing slip.
                    let dist = if kind == SLIP_SMALL {
                        u32::try_from(f.abs_diff(target)).unwrap_or(u32::MAX - 1).saturating_add(1)
                    } else {
                        0
                    };
                    edges.push(Edge { ri: ri as u32, ei, dist, evidence: false });
                }
            }
        }
        // One entry found under two keys (account and name) is one candidate.
        edges[before..].sort_unstable_by_key(|e| e.ei);
        let mut seen = before;
        for i in before..edges.len() {
            if i == before || edges[i].ei != edges[seen - 1].ei {
                edges[seen] = edges[i];
                seen += 1;
            }
        }
        edges.truncate(seen);
    }
    if edges.is_empty() {
        return;
    }
    // Nothing is interchangeable here: two entries of one slip are two candidates.
    let res = pairing::resolve(edges, |_, _| false, |_, _| false);
    for (ri, ei) in res.pairs {
        let (ei, ri) = (ei as usize, ri as usize);
        if !pool.entry_open[ei] || !pool.record_open[ri] {
            continue;
        }
        let Some(kind) = pool.efen(ei).zip(pool.rfen(ri)).and_then(|(a, b)| slip(a, b)) else { continue };
        pool.entry_open[ei] = false;
        pool.record_open[ri] = false;
        out.disc(Kind::AmountMismatch, DRule::Classify, ei, ri, kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips() {
        assert_eq!(slip(123_456, 123_356), Some(SLIP_DIGIT));
        assert_eq!(slip(123_456, 124_356), Some(SLIP_TRANSPOSED));
        assert_eq!(slip(-100_000, -1_000_000), Some(SLIP_LENGTH));
        assert_eq!(slip(1_000_000, 998_500), Some(SLIP_SMALL), "15.00 of 10,000.00");
        assert_eq!(slip(1_000_000, 500_000), None);
        assert_eq!(slip(1_000_000, -1_000_000), None, "direction differs");
        assert_eq!(slip(500, 500), None);
        assert_eq!(slip(123_456, 654_321), None);
        assert_eq!(slip(100_000_000, 99_500_000), None, "5,000.00 is no small difference");
    }
}
