//! Rules that pair an equal amount on evidence weaker than a reference, each side the
//! other's unique best candidate by date ([`pairing::resolve`]):
//!
//! - `amount_counterparty_date`: the same counterparty account (equal after
//!   normalisation, or a masked card number whose visible digits fit the full one);
//! - `amount_name_date`: the same counterparty by name (full name or 简称, a masked person's
//!   name), where the accounts do not contradict (one side has none, or they fit);
//! - `amount_reference_date`: equal amount where the entry and the record share a reference
//!   token that other records hold too (a contract number paid in instalments, 合同号): the
//!   token narrows the candidates, the amount and the date decide;
//! - `kind_amount_date`: a bank interest credit or fee debit and a book record of the same
//!   kind (利息 / 手续费 in its purpose): a booked interest voucher and the credit it books.
//!
//! The window runs both ways: the bank may execute a voucher up to `window` business days
//! after its date, and a clerk may book a receipt up to `window` business days after the
//! credit arrived. Candidates are only the open items of the same amount (and key) inside
//! that window, at most [`MAX_CANDIDATES`] per item.

use super::compact::{self, Compact};
use super::pairing::{self, Edge};
use super::party;
use super::reference::Index;
use super::{FxMap, Pool, Rule, group_by, plain, same_cp};
use crate::calendar::{add_business_days, window_start};
use crate::statement::EntryKind;
use chrono::NaiveDate;

/// Candidates looked at per record: more than this within one window is a delivery no
/// rule of this kind should decide on anyway.
pub const MAX_CANDIDATES: usize = 64;

/// The window of each distinct date, computed once.
pub(crate) struct Windows {
    days: u32,
    cache: FxMap<NaiveDate, (NaiveDate, NaiveDate)>,
}

impl Windows {
    pub fn new(days: u32) -> Windows {
        Windows { days, cache: FxMap::default() }
    }
    /// First and last bank date a book date reaches (both ways).
    pub fn of(&mut self, d: NaiveDate) -> (NaiveDate, NaiveDate) {
        let days = self.days;
        *self.cache.entry(d).or_insert_with(|| (window_start(d, days), add_business_days(d, days)))
    }
}

/// Calendar days between two dates.
pub(crate) fn dist(a: NaiveDate, b: NaiveDate) -> u32 {
    (a - b).num_days().unsigned_abs().min(u64::from(u32::MAX)) as u32
}

/// Kinds a counterparty rule may pair: transfers and batches, and fees — a text that
/// names a fee (报销社保卡工本费: a card fee refunded to a person) may still be a payment to
/// a counterparty the books hold, and the counterparty's evidence decides.
pub(crate) fn payable(k: EntryKind) -> bool {
    plain(k) || k == EntryKind::Fee
}

/// Entries and records that are interchangeable in a tie: nothing tells them apart.
pub(crate) fn same_entry(pool: &Pool, a: u32, b: u32) -> bool {
    let (x, y) = (pool.e(a as usize), pool.e(b as usize));
    x.date() == y.date()
        && pool.efen(a as usize) == pool.efen(b as usize)
        && x.kind() == y.kind()
        && x.cp() == y.cp()
        && x.cp_name() == y.cp_name()
        && x.narrative() == y.narrative()
        && x.customer_ref() == y.customer_ref()
        && x.e2e() == y.e2e()
}

pub(crate) fn same_record(pool: &Pool, a: u32, b: u32) -> bool {
    let (x, y) = (pool.r(a as usize), pool.r(b as usize));
    x.date() == y.date()
        && pool.rfen(a as usize) == pool.rfen(b as usize)
        && x.cp() == y.cp()
        && x.cp_name() == y.cp_name()
        && x.purpose() == y.purpose()
        && x.batch() == y.batch()
}

/// One rule's groups: entries and records sharing a key (amount and what else the rule
/// keys on), each list in date order.
struct Grouped {
    e_flat: Vec<u32>,
    e_groups: FxMap<u64, (u32, u32)>,
    r_flat: Vec<u32>,
    r_groups: FxMap<u64, (u32, u32)>,
}

fn grouped(entries: impl Iterator<Item = (u64, u32)>, records: impl Iterator<Item = (u64, u32)>) -> Grouped {
    // `group_by` sorts (key, position); positions are in date order already.
    let (e_flat, e_groups) = group_by(entries);
    let (r_flat, r_groups) = group_by(records);
    Grouped { e_flat, e_groups, r_flat, r_groups }
}

fn key2(a: i64, b: u64) -> u64 {
    let mut h = super::Fx::default();
    std::hash::Hasher::write_i64(&mut h, a);
    std::hash::Hasher::write_u64(&mut h, b);
    std::hash::Hasher::finish(&h) | 1
}

/// Edges of one group: for each record, the entries inside its window that `fits`.
fn edges_of(
    pool: &Pool,
    refs: &Index,
    win: &mut Windows,
    entries: &[u32],
    records: &[u32],
    fits: &impl Fn(&Pool, usize, usize) -> bool,
) -> Vec<Edge> {
    let dates = &pool.it.e_date;
    let mut edges = Vec::new();
    for &ri in records {
        let rd = pool.it.r_date[ri as usize];
        let (lo, hi) = win.of(rd);
        let from = entries.partition_point(|&e| dates[e as usize] < lo);
        for &ei in entries[from..].iter().take_while(|&&e| dates[e as usize] <= hi).take(MAX_CANDIDATES) {
            let (e, r) = (ei as usize, ri as usize);
            if pool.entry_open[e] && pool.efen(e).is_some() && pool.efen(e) == pool.rfen(r) && fits(pool, e, r) {
                edges.push(Edge {
                    ri,
                    ei,
                    dist: dist(rd, dates[ei as usize]),
                    evidence: refs.shares_key(ei as usize, ri as usize),
                });
            }
        }
    }
    edges
}

/// Pairs the groups of `g` (keys present on both sides) whose items `fits`, by
/// [`pairing::resolve`]; ties are noted on the pool for the report.
#[allow(clippy::too_many_arguments)]
fn pair_groups(
    pool: &mut Pool,
    out: &mut Compact,
    refs: &Index,
    win: &mut Windows,
    g: &Grouped,
    rule: Rule,
    how: u8,
    fits: impl Fn(&Pool, usize, usize) -> bool,
) {
    let mut keys: Vec<(u32, u32, u64)> =
        g.r_groups.iter().filter(|(k, _)| g.e_groups.contains_key(*k)).map(|(&k, &(s, e))| (s, e, k)).collect();
    // In record order, so that the outcome never depends on hash order.
    keys.sort_unstable();
    for (rs, re, k) in keys {
        let Some(&(es, ee)) = g.e_groups.get(&k) else { continue };
        // The usual group: one record, one entry. Decided without building lists.
        if re - rs == 1 && ee - es == 1 {
            let (ri, ei) = (g.r_flat[rs as usize] as usize, g.e_flat[es as usize] as usize);
            if !pool.record_open[ri] || !pool.entry_open[ei] {
                continue;
            }
            let (lo, hi) = win.of(pool.it.r_date[ri]);
            let d = pool.it.e_date[ei];
            if lo <= d && d <= hi && pool.efen(ei).is_some() && pool.efen(ei) == pool.rfen(ri) && fits(pool, ei, ri) {
                pool.record_open[ri] = false;
                let m = out.push(rule, how, [ei], [ri], super::NONE);
                pool.close_entry(ei, m);
            }
            continue;
        }
        let records: Vec<u32> =
            g.r_flat[rs as usize..re as usize].iter().copied().filter(|&r| pool.record_open[r as usize]).collect();
        let entries: Vec<u32> =
            g.e_flat[es as usize..ee as usize].iter().copied().filter(|&e| pool.entry_open[e as usize]).collect();
        if records.is_empty() || entries.is_empty() {
            continue;
        }
        let edges = edges_of(pool, refs, win, &entries, &records, &fits);
        if edges.is_empty() {
            continue;
        }
        let res = if edges.len() == 1 {
            pairing::Resolution { pairs: vec![(edges[0].ri, edges[0].ei)], ties: Vec::new() }
        } else {
            let p: &Pool = pool;
            pairing::resolve(edges, |a, b| same_entry(p, a, b), |a, b| same_record(p, a, b))
        };
        for (ri, ei) in res.pairs {
            pool.record_open[ri as usize] = false;
            let m = out.push(rule, how, [ei as usize], [ri as usize], super::NONE);
            pool.close_entry(ei as usize, m);
        }
        for (is_record, at, cands) in res.ties {
            pool.ties.entry((is_record, at)).or_insert(cands);
        }
    }
}

/// Rule `amount_counterparty_date`: equal amount, the same counterparty account, inside
/// the window; then the same with masked card numbers (`6217****1234`) against accounts
/// their visible digits fit.
pub(crate) fn amount_counterparty_date(pool: &mut Pool, out: &mut Compact, refs: &Index, win: &mut Windows) {
    let g = {
        let p: &Pool = pool;
        grouped(
            (0..p.ne())
                .filter(|&i| p.entry_open[i] && p.ecp[i] != 0 && payable(p.it.e_kind[i]))
                .filter_map(|i| p.efen(i).map(|f| (key2(f, p.ecp[i]), i as u32))),
            (0..p.nr())
                .filter(|&i| p.record_open[i] && p.rcp[i] != 0)
                .filter_map(|i| p.rfen(i).map(|f| (key2(f, p.rcp[i]), i as u32))),
        )
    };
    pair_groups(pool, out, refs, win, &g, Rule::AmountCounterpartyDate, 0, |p, ei, ri| {
        p.ecp[ei] == p.rcp[ri] && same_cp(p.e(ei).cp(), p.r(ri).cp())
    });
    // Masked accounts: keyed on the first and last four digits, checked digit by digit
    // (the keys are all 0 where no account is masked: no group then).
    let g = {
        let p: &Pool = pool;
        grouped(
            (0..p.ne())
                .filter(|&i| p.entry_open[i] && p.emask[i] != 0 && payable(p.it.e_kind[i]))
                .filter_map(|i| p.efen(i).map(|f| (key2(f, p.emask[i]), i as u32))),
            (0..p.nr())
                .filter(|&i| p.record_open[i] && p.rmask[i] != 0)
                .filter_map(|i| p.rfen(i).map(|f| (key2(f, p.rmask[i]), i as u32))),
        )
    };
    pair_groups(
        pool,
        out,
        refs,
        win,
        &g,
        Rule::AmountCounterpartyDate,
        compact::ACD_MASKED,
        |p, ei, ri| matches!((p.e(ei).cp(), p.r(ri).cp()), (Some(a), Some(b)) if party::mask_compatible(a, b)),
    );
    // Accounts the bank wrote only in the text (free-text statements).
    let g = {
        let p: &Pool = pool;
        let mut es: Vec<(u64, u32)> = Vec::new();
        for i in 0..p.ne() {
            if !p.entry_open[i] || !payable(p.it.e_kind[i]) {
                continue;
            }
            let Some(f) = p.efen(i) else { continue };
            for a in text_accounts(p, i) {
                es.push((key2(f, super::cp_hash(a)), i as u32));
                if let Some(m) = party::mask_key(a).filter(|_| party::masked(a).is_some()) {
                    es.push((key2(f, super::mask_hash(m)), i as u32));
                }
            }
        }
        if es.is_empty() {
            return;
        }
        grouped(
            es.into_iter(),
            (0..p.nr())
                .filter(|&i| p.record_open[i] && p.rcp[i] != 0)
                .flat_map(|i| {
                    let f = p.rfen(i);
                    [
                        f.map(|f| (key2(f, p.rcp[i]), i as u32)),
                        f.filter(|_| p.rmask[i] != 0).map(|f| (key2(f, p.rmask[i]), i as u32)),
                    ]
                })
                .flatten(),
        )
    };
    pair_groups(pool, out, refs, win, &g, Rule::AmountCounterpartyDate, compact::ACD_TEXT, account_fits);
}

/// The names an entry gives its counterparty: its name field, else the words of its
/// text that may be names (free-text statements write the payee only there).
pub(crate) fn entry_names<'a>(pool: &Pool<'a>, ei: usize) -> Vec<&'a str> {
    let e = pool.e(ei);
    match e.cp_name() {
        // A name field that holds an account number (some exports put either in one
        // 对手信息 column) is no name: see `text_accounts`.
        Some(n) if !n.bytes().all(|b| b.is_ascii_digit() || b == b' ' || b == b'-') => vec![n],
        _ => party::names_in_text(e.narrative()).collect(),
    }
}

/// The entry's counterparty fits the record's by name (name field or free text).
pub(crate) fn name_fits(pool: &Pool, ei: usize, ri: usize) -> bool {
    let Some(rn) = pool.r(ri).cp_name() else { return false };
    entry_names(pool, ei).into_iter().any(|n| party::names_compatible(n, rn))
}

/// The accounts an entry's free text names, when it has no counterparty account field.
pub(crate) fn text_accounts<'a>(pool: &Pool<'a>, ei: usize) -> Vec<&'a str> {
    let e = pool.e(ei);
    if e.cp().is_some() {
        return Vec::new();
    }
    // The name field too: some exports put an account or a name in one 对手信息 column.
    party::accounts_in_text(e.narrative())
        .chain(e.cp_name().into_iter().flat_map(party::accounts_in_text))
        .filter(|a| super::cp_hash(a) != pool.own_cp)
        .collect()
}

/// The record's counterparty account is the entry's: the account field equal after
/// normalisation, or (no field) written in the entry's text.
pub(crate) fn account_fits(pool: &Pool, ei: usize, ri: usize) -> bool {
    let Some(rc) = pool.r(ri).cp() else { return false };
    match pool.e(ei).cp() {
        // Equal normalised accounts have equal hashes: the hash rules most pairs out.
        Some(ec) => pool.ecp[ei] == pool.rcp[ri] && same_cp(Some(ec), Some(rc)),
        None => {
            let h = super::cp_hash(rc);
            text_accounts(pool, ei)
                .into_iter()
                .any(|a| (super::cp_hash(a) == h && same_cp(Some(a), Some(rc))) || party::mask_compatible(a, rc))
        }
    }
}

/// The same counterparty by any evidence the two carry: the account (equal, a masked card
/// whose visible digits fit, or written in the entry's text), else, where the accounts do
/// not contradict, the name (field or text).
pub(crate) fn same_party(pool: &Pool, ei: usize, ri: usize) -> bool {
    if account_fits(pool, ei, ri) {
        return true;
    }
    if let (Some(a), Some(b)) = (pool.e(ei).cp(), pool.r(ri).cp()) {
        // Both accounts given and not equal: only a masked one can still fit.
        return (pool.emask[ei] != 0 && pool.emask[ei] == pool.rmask[ri]) && party::mask_compatible(a, b);
    }
    name_fits(pool, ei, ri)
}

/// Whether two counterparty accounts contradict each other (both given, and neither equal
/// nor a masked form of the other).
pub(crate) fn accounts_contradict(pool: &Pool, ei: usize, ri: usize) -> bool {
    match (pool.e(ei).cp(), pool.r(ri).cp()) {
        (Some(a), Some(b)) => {
            let equal = pool.ecp[ei] != 0 && pool.ecp[ei] == pool.rcp[ri] && same_cp(Some(a), Some(b));
            let masked = pool.emask[ei] != 0 && pool.emask[ei] == pool.rmask[ri] && party::mask_compatible(a, b);
            !(equal || masked)
        }
        _ => false,
    }
}

/// Rule `amount_name_date`: equal amount, counterparty names that fit
/// ([`party::names_compatible`]), accounts that do not contradict, inside the window.
pub(crate) fn amount_name_date(pool: &mut Pool, out: &mut Compact, refs: &Index, win: &mut Windows) {
    let g = {
        let p: &Pool = pool;
        grouped(
            (0..p.ne())
                .filter(|&i| p.entry_open[i] && payable(p.it.e_kind[i]) && !entry_names(p, i).is_empty())
                .filter_map(|i| p.efen(i).map(|f| (key2(f, 0), i as u32))),
            (0..p.nr())
                .filter(|&i| p.record_open[i] && p.r(i).cp_name().is_some())
                .filter_map(|i| p.rfen(i).map(|f| (key2(f, 0), i as u32))),
        )
    };
    pair_groups(pool, out, refs, win, &g, Rule::AmountNameDate, 0, |p, ei, ri| {
        !accounts_contradict(p, ei, ri) && name_fits(p, ei, ri)
    });
}

/// Rule `amount_reference_date`: equal amount, a reference token both hold (not unique,
/// or `reference` would have paired them), accounts that do not contradict, inside the
/// window, each the other's unique best candidate.
pub(crate) fn amount_reference_date(pool: &mut Pool, out: &mut Compact, refs: &Index, win: &mut Windows) {
    let g = {
        let p: &Pool = pool;
        grouped(
            (0..p.ne())
                .filter(|&i| p.entry_open[i] && plain(p.it.e_kind[i]) && !refs.hits.get(i).is_empty())
                .filter_map(|i| p.efen(i).map(|f| (key2(f, 3), i as u32))),
            (0..p.nr()).filter(|&i| p.record_open[i]).filter_map(|i| p.rfen(i).map(|f| (key2(f, 3), i as u32))),
        )
    };
    if g.e_groups.is_empty() {
        return;
    }
    pair_groups(pool, out, refs, win, &g, Rule::AmountReferenceDate, 0, |p, ei, ri| {
        refs.shares_key(ei, ri) && !accounts_contradict(p, ei, ri)
    });
}

/// The kind a book record's texts say it is (利息 → interest, 手续费… → fee), by the same
/// words the parsers classify bank texts with.
pub(crate) fn record_kind(pool: &Pool, ri: usize) -> Option<EntryKind> {
    let r = pool.r(ri);
    [r.purpose(), r.cp_name()]
        .into_iter()
        .flatten()
        .find_map(crate::statement::kind_from_text)
        .filter(|k| matches!(k, EntryKind::Interest | EntryKind::Fee))
}

/// Rule `kind_amount_date`: a bank interest credit or fee debit and a book record of the
/// same kind and amount inside the window (a booked interest voucher, a fee the clerk
/// booked). The interest credit is still checked against the deposit agreement.
pub(crate) fn kind_amount_date(pool: &mut Pool, out: &mut Compact, refs: &Index, win: &mut Windows) {
    let kinds: Vec<Option<EntryKind>> = {
        let p: &Pool = pool;
        (0..p.nr()).map(|ri| if p.record_open[ri] { record_kind(p, ri) } else { None }).collect()
    };
    if kinds.iter().all(Option::is_none) {
        return;
    }
    let g = {
        let p: &Pool = pool;
        let code = |k: EntryKind| if k == EntryKind::Interest { 1 } else { 2 };
        grouped(
            (0..p.ne())
                .filter(|&i| p.entry_open[i] && matches!(p.it.e_kind[i], EntryKind::Interest | EntryKind::Fee))
                .filter_map(|i| p.efen(i).map(|f| (key2(f, code(p.it.e_kind[i])), i as u32))),
            (0..p.nr()).filter_map(|i| {
                let k = kinds[i]?;
                p.rfen(i).map(|f| (key2(f, code(k)), i as u32))
            }),
        )
    };
    pair_groups(pool, out, refs, win, &g, Rule::KindAmountDate, 0, |p, ei, ri| {
        kinds[ri] == Some(p.it.e_kind[ei]) && !accounts_contradict(p, ei, ri)
    });
}
