//! Matching: pairs bank entries with book records for one account, then classifies what
//! is left. Pure: items in, [`Outcome`] out; no I/O, no clock, no database.
//!
//! The cascade is data: a [`RuleSet`] lists the rules in order, and each rule only sees
//! what earlier rules left. The default ([`RuleSet::default`]) is:
//! 1. `reversal`  — a 冲正 entry and the entry it reverses are paired and taken out;
//! 2. `reference` — a voucher number (or end-to-end id equal to it) found in the entry's
//!    references or text after [`text::canonical_ref`], same amount;
//! 3. `batch`     — a batch reference found in the entry's text; the amount equal to the
//!    sum of the records sharing that batch reference (1:N, 代发), or, when some payees
//!    failed before the debit, to the sum of the one subset that fits (or the batch's own
//!    item details, [`BatchDetail`]); the rest are reported `missing_in_bank`;
//! 4. `return`    — a 退汇 credit linked to the payment it returns (end-to-end id, voucher
//!    or batch in its text, or same counterparty and amount before it), even when that
//!    payment is already matched; also reported as a `returned_payment` discrepancy;
//! 5. `amount_counterparty_date` — same amount, same counterparty account, bank booking
//!    date within the window after the book date;
//! 6. `split`     — N:1, several entries of one payment the bank split: same voucher in
//!    their texts, or same counterparty within the window, summing to the record;
//! 7. `amount_tolerance` — off by default: as 2./5. but the amounts may differ by up to
//!    [`RuleSet::tolerance_fen`] (a fee deducted from a transfer); the detail states the
//!    difference;
//! 8. `classify`  — everything left becomes a discrepancy (see `classify`).
//!
//! Determinism: inputs are sorted by stable keys first, every rule walks them in that
//! order, so the outcome does not depend on input order, and a rerun on the same data
//! gives the same outcome. Cost: near-linear in entries + records (hash joins on
//! (amount, counterparty) and on reference tokens; subset sums bounded by
//! [`subset::EXACT_MAX`]).
//!
//! Data layout: the rules work on [`Items`] (columns, one text arena, amounts in fen) and
//! write a [`Compact`] result (item positions and one-byte codes); the words of every
//! detail are built on demand from it. [`match_account`] and [`match_with`] take and give
//! the row forms; [`match_items`] is the form for large accounts (a million entries fit in
//! ~80 bytes an item plus ~20 bytes a match or discrepancy).
//!
//! ## The state invariant
//! Every entry ends in exactly one *primary* place: one match whose rule is not `return`,
//! or one discrepancy whose kind is not `returned_payment`, or — for a linked 退汇 credit —
//! exactly one `return` match **and** exactly one `returned_payment` discrepancy. Every
//! record ends in exactly one match whose rule is not `return` or exactly one discrepancy
//! (a `returned_payment` discrepancy names the voucher but carries no record id);
//! besides, it may be named by at most one `return` match.

mod classify;
pub mod compact;
pub mod items;
mod nearest;
mod pairing;
pub mod party;
mod reference;
mod returns;
pub mod slip;
pub mod subset;
pub mod text;

pub use compact::Compact;
pub use items::{Items, TooLarge};

use crate::discrepancy::Discrepancy;
use crate::statement::EntryKind;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::hash::{BuildHasherDefault, Hasher};

/// Version of the rule set; recorded with every match so that a changed rule is visible.
pub const RULESET: &str = "2026.12-2";

/// A bank entry as matching sees it.
#[derive(Clone, Debug)]
pub struct BankItem {
    pub id: i64,
    pub entry_key: String,
    pub booking_date: NaiveDate,
    /// Signed: credits positive.
    pub amount: Decimal,
    pub bank_ref: Option<String>,
    pub customer_ref: Option<String>,
    pub end_to_end_id: Option<String>,
    pub counterparty_account: Option<String>,
    /// The counterparty's name as the bank wrote it (full name, 简称 or a masked form).
    pub counterparty_name: Option<String>,
    pub narrative: String,
    pub kind: EntryKind,
}

impl AsRef<BankItem> for BankItem {
    fn as_ref(&self) -> &BankItem {
        self
    }
}

/// A book record as matching sees it.
#[derive(Clone, Debug)]
pub struct BookItem {
    pub id: i64,
    pub voucher_no: String,
    pub date: NaiveDate,
    /// Signed like the bank entry that executes it: disbursements negative.
    pub amount: Decimal,
    pub counterparty_account: Option<String>,
    /// The counterparty's name as the clerk wrote it (often the 简称).
    pub counterparty_name: Option<String>,
    /// 用途 / 摘要: may carry the payer's reference (`养老保险费收入 SW2024-0301-004`).
    pub purpose: Option<String>,
    pub batch_ref: Option<String>,
}

impl AsRef<BookItem> for BookItem {
    fn as_ref(&self) -> &BookItem {
        self
    }
}

/// The per-item details of a 代发 debit, as a bank's batch-detail query or result file
/// gives them (CMB BB6*): which items the debit paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchDetail {
    /// `BankItem::id` of the batch debit.
    pub entry_id: i64,
    pub lines: Vec<BatchLine>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchLine {
    /// The item's end-to-end id or voucher number as the bank echoes it.
    pub reference: String,
    /// Signed like the debit.
    pub amount: Decimal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    Reversal,
    Reference,
    Batch,
    AmountCounterpartyDate,
    /// Set beside matching by the interest check: a bank interest credit equal to what the
    /// deposit agreement yields for its window.
    Interest,
    /// N:1: several entries of one payment the bank split.
    Split,
    /// 退汇: a credit linked to the payment it returns.
    Return,
    /// Amount equal within a tolerance in fen (off by default).
    AmountTolerance,
    /// Matched by hand by a person (`fundrecon review match`); never made by the cascade.
    Manual,
    /// Equal amount, counterparty names that fit (full name or 简称), nearest date, unique
    /// both ways.
    AmountNameDate,
    /// A bank interest credit or fee debit and a book record of that kind (利息, 手续费).
    KindAmountDate,
    /// Equal amount, a reference token both hold that others hold too (合同号), nearest
    /// date, unique both ways.
    AmountReferenceDate,
}

impl Rule {
    /// The rules a [`RuleSet`] may list (everything but `interest` and `manual`).
    pub const CASCADE: [Rule; 10] = [
        Rule::Reversal,
        Rule::Reference,
        Rule::Batch,
        Rule::Return,
        Rule::AmountCounterpartyDate,
        Rule::AmountNameDate,
        Rule::AmountReferenceDate,
        Rule::KindAmountDate,
        Rule::Split,
        Rule::AmountTolerance,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Rule::Reversal => "reversal",
            Rule::Reference => "reference",
            Rule::Batch => "batch",
            Rule::AmountCounterpartyDate => "amount_counterparty_date",
            Rule::Interest => "interest",
            Rule::Split => "split",
            Rule::Return => "return",
            Rule::AmountTolerance => "amount_tolerance",
            Rule::Manual => "manual",
            Rule::AmountNameDate => "amount_name_date",
            Rule::KindAmountDate => "kind_amount_date",
            Rule::AmountReferenceDate => "amount_reference_date",
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        Rule::CASCADE.into_iter().chain([Rule::Interest, Rule::Manual]).find(|r| r.as_str() == s)
    }
}

/// The configured cascade of one account. `Default` works with no configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSet {
    /// The rules in the order they run; `classify` always runs last.
    pub steps: Vec<Rule>,
    /// `amount_tolerance`: the largest difference in fen it accepts (0: the rule does
    /// nothing even when listed).
    pub tolerance_fen: u32,
    /// `split`: the most open entries considered for one record (bounds the subset sum).
    pub split_max_parts: usize,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet {
            steps: vec![
                Rule::Reversal,
                Rule::Reference,
                Rule::Batch,
                Rule::Return,
                Rule::AmountCounterpartyDate,
                Rule::AmountNameDate,
                Rule::AmountReferenceDate,
                Rule::KindAmountDate,
                Rule::Split,
            ],
            tolerance_fen: 0,
            split_max_parts: 12,
        }
    }
}

impl RuleSet {
    /// The default cascade with `amount_tolerance` (up to `fen`) after `split`.
    pub fn with_tolerance(fen: u32) -> RuleSet {
        let mut r = RuleSet::default();
        r.steps.push(Rule::AmountTolerance);
        r.tolerance_fen = fen;
        r
    }

    /// A cascade from rule names (config); errors name the unknown or repeated rule.
    pub fn from_names<S: AsRef<str>>(names: &[S], tolerance_fen: u32) -> Result<RuleSet, String> {
        let mut steps = Vec::new();
        for n in names {
            let n = n.as_ref();
            let known = || Rule::CASCADE.map(|r| r.as_str()).join(", ");
            let r = match Rule::parse(n) {
                Some(r) if Rule::CASCADE.contains(&r) => r,
                Some(_) => return Err(format!("{n:?} is not a cascade rule (known: {})", known())),
                None => return Err(format!("unknown matching rule {n:?} (known: {})", known())),
            };
            if steps.contains(&r) {
                return Err(format!("matching rule {n:?} listed twice"));
            }
            steps.push(r);
        }
        Ok(RuleSet { steps, tolerance_fen, ..RuleSet::default() })
    }
}

/// Entries and records paired by one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    pub rule: Rule,
    pub entries: Vec<i64>,
    pub records: Vec<i64>,
    /// Why, in words: which key was found where.
    pub detail: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub matches: Vec<Match>,
    pub discrepancies: Vec<Discrepancy>,
}

#[derive(Clone, Debug)]
pub struct Params {
    /// Business days after the book date within which the bank may execute.
    pub window_days: u32,
    /// The last date the bank's statements cover for this account (`None`: no statement).
    pub statements_end: Option<NaiveDate>,
}

/// Everything matching reads for one account.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub entries: &'a [BankItem],
    pub records: &'a [BookItem],
    /// Item details of batch debits, where the bank delivers them (may be empty).
    pub batch_details: &'a [BatchDetail],
}

pub(crate) const NONE: u32 = u32::MAX;

/// Working state shared by the rules: which items are still open, and what each rule
/// needs precomputed once. Items are addressed by their position in [`Items`].
pub(crate) struct Pool<'a> {
    pub it: &'a Items,
    /// The hash of the account being matched ([`cp_hash`]): its own number never stands
    /// for a counterparty.
    pub own_cp: u64,
    /// Entry → its text says it is a return (`returns::link` fills it for the entries
    /// still open then, once per distinct text; empty before).
    pub return_text: Vec<bool>,
    pub entry_open: Vec<bool>,
    pub record_open: Vec<bool>,
    /// Hash of the normalised counterparty account (0: none).
    pub ecp: Vec<u64>,
    pub rcp: Vec<u64>,
    /// Record → index of the batch debit that paid the other items of its batch.
    pub failed_in: Vec<u32>,
    /// Record → already named by a `return` match.
    pub returned: Vec<bool>,
    /// Entry → index in the outcome's matches of its match.
    pub entry_match: Vec<u32>,
    /// Key of the first and last four digits of the counterparty account (masked cards
    /// against full numbers; 0: none).
    pub emask: Vec<u64>,
    pub rmask: Vec<u64>,
    /// Items a rule left open because candidates tied: (is a record, position) → the tied
    /// candidates, reported by `classify` if the item stays open.
    pub ties: FxMap<(bool, u32), Vec<u32>>,
    /// (entry, record, note of the token): a reference unique on both sides, amounts
    /// unequal; `classify` reports the pair as one amount_mismatch if both stay open.
    pub shared_mismatch: Vec<(u32, u32, u32)>,
}

impl<'a> Pool<'a> {
    pub fn close_entry(&mut self, ei: usize, match_index: usize) {
        self.entry_open[ei] = false;
        self.entry_match[ei] = match_index as u32;
    }
    pub fn ne(&self) -> usize {
        self.it.entries()
    }
    pub fn nr(&self) -> usize {
        self.it.records()
    }
    pub fn e(&self, i: usize) -> items::E<'a> {
        self.it.e(i)
    }
    pub fn r(&self, i: usize) -> items::R<'a> {
        self.it.r(i)
    }
    /// Amount in fen (`None`: not a whole number of fen).
    pub fn efen(&self, i: usize) -> Option<i64> {
        self.it.efen(i)
    }
    pub fn rfen(&self, i: usize) -> Option<i64> {
        self.it.rfen(i)
    }
}

/// Matches one account's entries against its records with the default cascade.
pub fn match_account(account_no: &str, entries: &[BankItem], records: &[BookItem], params: &Params) -> Outcome {
    match_with(account_no, &Input { entries, records, batch_details: &[] }, &RuleSet::default(), params)
}

/// Matches one account's entries against its records with the given cascade.
pub fn match_with(account_no: &str, input: &Input, rules: &RuleSet, params: &Params) -> Outcome {
    run(account_no, input, rules, params, None)
}

/// [`match_with`], also timing each step (`prepare`, `index`, each rule, `classify`) with
/// the monotonic clock: for `bench-match`, not for the daily run.
pub fn match_with_timings(
    account_no: &str,
    input: &Input,
    rules: &RuleSet,
    params: &Params,
) -> (Outcome, Vec<(&'static str, std::time::Duration)>) {
    let mut t = Vec::new();
    let out = run(account_no, input, rules, params, Some(&mut t));
    (out, t)
}

/// Matches items already in the compact form; the result is compact too (details are
/// built by [`Compact::outcome`] or per item). This is the form for large accounts.
pub fn match_items(
    account_no: &str,
    items: &Items,
    batch_details: &[BatchDetail],
    rules: &RuleSet,
    params: &Params,
) -> Compact {
    run_items(account_no, items, batch_details, rules, params, None)
}

/// [`match_items`] with the time of each step (`prepare`, `index`, each rule, `classify`).
pub fn match_items_timed(
    account_no: &str,
    items: &Items,
    batch_details: &[BatchDetail],
    rules: &RuleSet,
    params: &Params,
) -> (Compact, Vec<(&'static str, std::time::Duration)>) {
    let mut t = Vec::new();
    let out = run_items(account_no, items, batch_details, rules, params, Some(&mut t));
    (out, t)
}

/// [`match_with`] over any rows that hold the items (the store's rows), read in place:
/// no copy of a million rows into the row form first.
pub fn match_rows<E: AsRef<BankItem>, R: AsRef<BookItem>>(
    account_no: &str,
    entries: &[E],
    records: &[R],
    batch_details: &[BatchDetail],
    rules: &RuleSet,
    params: &Params,
) -> Outcome {
    let items = match Items::new(entries, records) {
        Ok(items) => items,
        Err(e) => {
            return too_large(account_no, entries.iter().map(AsRef::as_ref), records.iter().map(AsRef::as_ref), &e);
        }
    };
    run_items(account_no, &items, batch_details, rules, params, None).outcome(&items)
}

fn run(
    account_no: &str,
    input: &Input,
    rules: &RuleSet,
    params: &Params,
    mut timings: Option<&mut Vec<(&'static str, std::time::Duration)>>,
) -> Outcome {
    let t = std::time::Instant::now();
    let items = match Items::new(input.entries, input.records) {
        Ok(items) => items,
        Err(e) => return too_large(account_no, input.entries.iter(), input.records.iter(), &e),
    };
    if let Some(t0) = timings.as_deref_mut() {
        t0.push(("load", t.elapsed()));
    }
    let out = run_items(account_no, &items, input.batch_details, rules, params, timings.as_deref_mut());
    let t = std::time::Instant::now();
    let out = out.outcome(&items);
    if let Some(t0) = timings {
        t0.push(("details", t.elapsed()));
    }
    out
}

/// An account beyond the compact form's bounds is not matched: every item stays open,
/// saying why (never a wrong match, never a panic).
fn too_large<'a>(
    account_no: &str,
    entries: impl Iterator<Item = &'a BankItem>,
    records: impl Iterator<Item = &'a BookItem>,
    e: &TooLarge,
) -> Outcome {
    let mk = |kind, entry: Option<&BankItem>, record: Option<&BookItem>| Discrepancy {
        kind,
        account_no: account_no.to_string(),
        entry: entry.map(|e| e.id),
        record: record.map(|r| r.id),
        statement: None,
        bank_ref: entry.and_then(|e| e.bank_ref.clone()),
        voucher_no: record.map(|r| r.voucher_no.clone()),
        date: entry.map(|e| e.booking_date).or(record.map(|r| r.date)).unwrap_or_default(),
        amount: entry.map(|e| e.amount),
        expected: record.map(|r| r.amount),
        rule: "classify".into(),
        detail: format!("not matched: {e}"),
    };
    let mut out = Outcome::default();
    out.discrepancies.extend(entries.map(|e| mk(crate::discrepancy::Kind::MissingInBooks, Some(e), None)));
    out.discrepancies.extend(records.map(|r| mk(crate::discrepancy::Kind::MissingInBank, None, Some(r))));
    out
}

fn run_items(
    account_no: &str,
    items: &Items,
    batch_details: &[BatchDetail],
    rules: &RuleSet,
    params: &Params,
    timings: Option<&mut Vec<(&'static str, std::time::Duration)>>,
) -> Compact {
    // Steps are timed for the caller that asks (bench-match) and for the debug log
    // (`FUNDRECON_LOG=fundrecon::matching=debug`): a clock read per step costs nothing.
    let mut own_timings = Vec::new();
    let log = tracing::enabled!(tracing::Level::DEBUG);
    let mut timings = timings.or(if log { Some(&mut own_timings) } else { None });
    let mut clock = timings.as_ref().map(|_| std::time::Instant::now());
    let mut lap = |name: &'static str| {
        if let (Some(t), Some(c)) = (timings.as_deref_mut(), clock.as_mut()) {
            let now = std::time::Instant::now();
            t.push((name, now - *c));
            *c = now;
        }
    };
    let (ne, nr) = (items.entries(), items.records());
    let mut pool = Pool {
        it: items,
        own_cp: cp_hash(account_no),
        return_text: Vec::new(),
        ecp: cp_hashes((0..ne).map(|i| items.e(i).cp())),
        rcp: cp_hashes((0..nr).map(|i| items.r(i).cp())),
        entry_open: vec![true; ne],
        record_open: vec![true; nr],
        failed_in: vec![NONE; nr],
        returned: vec![false; nr],
        entry_match: vec![NONE; ne],
        emask: Vec::new(),
        rmask: Vec::new(),
        ties: FxMap::default(),
        shared_mismatch: Vec::new(),
    };
    (pool.emask, pool.rmask) = mask_hashes(items);
    let mut out = Compact::new(account_no, params);
    lap("prepare");
    let mut refs = reference::Index::build(&pool, batch_details);
    lap("index");
    // Only `reference` and `return` read key texts after the index is built: the key table
    // goes once the later of them ran.
    let last_lookup = rules.steps.iter().rposition(|s| matches!(s, Rule::Return | Rule::Reference));
    if last_lookup.is_none() {
        refs.drop_keys();
    }
    let mut win = nearest::Windows::new(params.window_days);
    for (n, step) in rules.steps.iter().enumerate() {
        match step {
            Rule::Reversal => reversals(&mut pool, &mut out),
            Rule::Reference => {
                refs.match_exact(&mut pool, &mut out);
                refs.match_shared(&mut pool, &mut out);
            }
            Rule::Batch => refs.match_batches(&mut pool, &mut out),
            Rule::Return => returns::link(&refs, &mut pool, &mut out),
            Rule::AmountCounterpartyDate => nearest::amount_counterparty_date(&mut pool, &mut out, &refs, &mut win),
            Rule::AmountNameDate => nearest::amount_name_date(&mut pool, &mut out, &refs, &mut win),
            Rule::KindAmountDate => nearest::kind_amount_date(&mut pool, &mut out, &refs, &mut win),
            Rule::AmountReferenceDate => nearest::amount_reference_date(&mut pool, &mut out, &refs, &mut win),
            Rule::Split => {
                refs.match_split_by_reference(&mut pool, &mut out, rules.split_max_parts);
                split_by_counterparty(&mut pool, &mut out, params.window_days, rules.split_max_parts);
            }
            Rule::AmountTolerance => {
                if rules.tolerance_fen > 0 {
                    refs.match_tolerance(&mut pool, &mut out, i64::from(rules.tolerance_fen));
                    tolerance_by_counterparty(&mut pool, &mut out, params.window_days, i64::from(rules.tolerance_fen));
                }
            }
            Rule::Interest | Rule::Manual => {}
        }
        if Some(n) == last_lookup {
            refs.drop_keys();
        }
        lap(step.as_str());
    }
    // Batches by their sum alone, and the return heuristic, fire only on what no rule
    // claimed.
    if rules.steps.contains(&Rule::Batch) {
        refs.match_batches_by_sum(&mut pool, &mut out, &mut win);
        lap("batch_sum");
    }
    if rules.steps.contains(&Rule::Return) {
        returns::link_by_counterparty(&mut pool, &mut out, params.window_days);
        lap("return_counterparty");
    }
    classify::rest(&mut pool, &refs, params, &mut out);
    lap("classify");
    if log && let Some(t) = timings {
        let steps: Vec<String> = t.iter().map(|(n, d)| format!("{n}={:.3}", d.as_secs_f64())).collect();
        tracing::debug!(
            account = account_no,
            entries = ne,
            records = nr,
            "matching steps (seconds): {}",
            steps.join(" ")
        );
    }
    out
}

/// `items` in the order of `key` (date, text, id). Sorts compact keys (the date and the
/// text's first 16 bytes) so that a million items sort without chasing pointers; only
/// equal prefixes compare the full key. Input already in order is only checked.
pub(crate) fn sorted<T>(items: &[T], key: impl Fn(&T) -> (NaiveDate, &str, i64)) -> Vec<&T> {
    if items.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
        return items.iter().collect();
    }
    let prefix = |s: &str| {
        let mut b = [0u8; 16];
        let n = s.len().min(16);
        b[..n].copy_from_slice(&s.as_bytes()[..n]);
        u128::from_be_bytes(b)
    };
    let mut ks: Vec<(NaiveDate, u128, u32)> = items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let (d, s, _) = key(x);
            (d, prefix(s), i as u32)
        })
        .collect();
    ks.sort_unstable_by(|a, b| {
        (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| key(&items[a.2 as usize]).cmp(&key(&items[b.2 as usize])))
    });
    ks.into_iter().map(|(_, _, i)| &items[i as usize]).collect()
}
/// An amount in fen, if it is a whole number of fen.
pub fn fen(d: Decimal) -> Option<i64> {
    let (m, s) = (d.mantissa(), d.scale());
    let f = if s <= 2 {
        m.checked_mul(10i128.pow(2 - s))?
    } else {
        let p = 10i128.checked_pow(s - 2)?;
        if m % p != 0 {
            return None;
        }
        m / p
    };
    i64::try_from(f).ok()
}

/// A fast non-cryptographic hasher (FxHash); keys here are not attacker-chosen in a way
/// that matters: collisions cost time only, never a wrong match.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let mut last = [0u8; 8];
        let rest = chunks.remainder();
        last[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 56));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Fx {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type FxBuild = BuildHasherDefault<Fx>;
pub(crate) type FxMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h = Fx::default();
    h.write(s.as_bytes());
    // A second round so that short keys spread over all bits; never 0 (0 means none).
    let x = h.finish();
    let x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (x ^ (x >> 32)) | 1
}

fn cp_hashes<'s>(cps: impl Iterator<Item = Option<&'s str>>) -> Vec<u64> {
    cps.map(|c| c.map_or(0, cp_hash)).collect()
}

/// The hash of a counterparty account after normalisation (0: empty).
pub(crate) fn cp_hash(raw: &str) -> u64 {
    // Fast path, the usual case: digits only normalise to themselves without leading
    // zeros (as `account::normalize` does).
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        let t = raw.trim_start_matches('0');
        return hash_str(if t.is_empty() { raw } else { t });
    }
    let n = crate::account::normalize(raw);
    if n.is_empty() { 0 } else { hash_str(&n) }
}

/// The masked-card key of each entry's and record's counterparty account; all 0 when no
/// account on either side is masked (the usual case: nothing to compare then).
fn mask_hashes(items: &Items) -> (Vec<u64>, Vec<u64>) {
    let (ne, nr) = (items.entries(), items.records());
    let masked = |c: Option<&str>| c.is_some_and(|c| party::masked(c).is_some());
    // A mask in a text (`ACCOUNT 6214****9784`) counts too.
    let in_text = |i: usize| {
        let e = items.e(i);
        e.cp().is_none()
            && (e.narrative().contains(['*', '＊']) || e.cp_name().is_some_and(|n| n.contains(['*', '＊'])))
    };
    if !(0..ne).any(|i| masked(items.e(i).cp()) || in_text(i)) && !(0..nr).any(|i| masked(items.r(i).cp())) {
        return (vec![0; ne], vec![0; nr]);
    }
    let key = |c: Option<&str>| c.and_then(party::mask_key).map_or(0, mask_hash);
    ((0..ne).map(|i| key(items.e(i).cp())).collect(), (0..nr).map(|i| key(items.r(i).cp())).collect())
}

/// The hash of a masked-card key (first and last four digits), never 0.
pub(crate) fn mask_hash((h, t): (u32, u32)) -> u64 {
    (u64::from(h) << 32 | u64::from(t)).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1
}

/// Equal counterparty accounts after normalisation (the hash said so; this makes sure).
pub(crate) fn same_cp(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b || crate::account::normalize(a) == crate::account::normalize(b),
        _ => false,
    }
}

/// "Next open position at or after p" over a flat array of candidate lists, with path
/// compression: taking items out of a list costs amortised near-constant time.
pub(crate) struct Skip(Vec<u32>);

impl Skip {
    pub fn new(n: usize) -> Skip {
        Skip((0..=n as u32).collect())
    }
    pub fn find(&mut self, mut p: usize) -> usize {
        let mut root = p;
        while self.0[root] as usize != root {
            root = self.0[root] as usize;
        }
        while self.0[p] as usize != root {
            let next = self.0[p] as usize;
            self.0[p] = root as u32;
            p = next;
        }
        root
    }
    pub fn remove(&mut self, p: usize) {
        self.0[p] = (p + 1) as u32;
    }
}

/// Groups of indexes sharing a key, each group in index order: `(key → (start, end))`
/// over `flat`.
pub(crate) fn group_by<K: std::hash::Hash + Eq + Ord + Copy>(
    items: impl Iterator<Item = (K, u32)>,
) -> (Vec<u32>, FxMap<K, (u32, u32)>) {
    let mut v: Vec<(K, u32)> = items.collect();
    v.sort_unstable();
    let mut groups: FxMap<K, (u32, u32)> = FxMap::default();
    groups.reserve(v.len() / 2);
    let mut start = 0;
    for i in 1..=v.len() {
        if i == v.len() || v[i].0 != v[start].0 {
            groups.insert(v[start].0, (start as u32, i as u32));
            start = i;
        }
    }
    (v.into_iter().map(|(_, i)| i).collect(), groups)
}

/// Rule `reversal`: a 冲正 entry cancels the latest (in sort order) open entry of the
/// opposite amount booked on or before its day — with the same counterparty when the
/// reversal names one (else one that names none); a reversal naming none takes any. Both
/// leave matching. A reversal with no partner stays open. O(n log n): candidates grouped
/// by amount (and counterparty), binary search by date, skip lists of taken entries.
fn reversals(pool: &mut Pool, out: &mut Compact) {
    let ne = pool.ne();
    let kinds = &pool.it.e_kind;
    if !kinds.contains(&EntryKind::Reversal) {
        return;
    }
    // Only entries of an amount some reversal cancels are candidates.
    let wanted: std::collections::HashSet<i64, FxBuild> =
        (0..ne).filter(|&i| kinds[i] == EntryKind::Reversal).filter_map(|i| pool.efen(i).map(|f| -f)).collect();
    let cands = || {
        (0..ne)
            .filter(|&i| kinds[i] != EntryKind::Reversal && pool.entry_open[i])
            .filter_map(|i| pool.efen(i).filter(|f| wanted.contains(f)).map(|f| (f, i)))
    };
    let by_cp = Latest::new(group_by(cands().map(|(f, i)| ((f, pool.ecp[i]), i as u32))));
    let by_amount = Latest::new(group_by(cands().map(|(f, i)| (f, i as u32))));
    let (mut by_cp, mut by_amount) = (by_cp, by_amount);
    for (i, &kind) in kinds.iter().enumerate() {
        if kind != EntryKind::Reversal || !pool.entry_open[i] {
            continue;
        }
        let r = pool.e(i);
        let Some(amount) = pool.efen(i).map(|f| -f) else { continue };
        let j = if pool.ecp[i] != 0 {
            by_cp
                .take(pool, &(amount, pool.ecp[i]), r.date(), |j| same_cp(pool.e(j).cp(), r.cp()))
                .or_else(|| by_cp.take(pool, &(amount, 0), r.date(), |_| true))
        } else {
            by_amount.take(pool, &amount, r.date(), |_| true)
        };
        let Some(j) = j else { continue };
        let how = if pool.ecp[i] != 0 { compact::REVERSAL_SAME_CP } else { 0 };
        let m = out.push(Rule::Reversal, how, [j, i], [], NONE);
        pool.close_entry(i, m);
        pool.close_entry(j, m);
    }
}

/// Candidate lists in date order with "the latest open one on or before a day": a skip
/// list over the reversed positions, entries closed elsewhere dropped lazily.
struct Latest<K> {
    flat: Vec<u32>,
    groups: FxMap<K, (u32, u32)>,
    back: Skip,
}

impl<K: std::hash::Hash + Eq> Latest<K> {
    fn new((flat, groups): (Vec<u32>, FxMap<K, (u32, u32)>)) -> Latest<K> {
        let back = Skip::new(flat.len());
        Latest { flat, groups, back }
    }
    fn take(&mut self, pool: &Pool, key: &K, day: NaiveDate, ok: impl Fn(usize) -> bool) -> Option<usize> {
        let &(s, e) = self.groups.get(key)?;
        let (s, e, n) = (s as usize, e as usize, self.flat.len());
        let dates = &pool.it.e_date;
        let upto = s + self.flat[s..e].partition_point(|&j| dates[j as usize] <= day);
        let mut q = self.back.find(n - upto);
        while q < n - s {
            let j = self.flat[n - 1 - q] as usize;
            if !pool.entry_open[j] {
                self.back.remove(q);
            } else if ok(j) {
                self.back.remove(q);
                return Some(j);
            }
            q = self.back.find(q + 1);
        }
        None
    }
}

/// Flat candidate lists and, per key, the (start, end) of its list.
type Groups<K> = (Vec<u32>, FxMap<K, (u32, u32)>);

/// Open entries by (counterparty key, sign), in date order: the key of the account (field,
/// or written in the text) and of every name the entry gives ([`nearest::entry_names`]).
/// For an open record: its amount in fen, and the open entries under its account's or its
/// name's key, of its direction, inside its window (both ways), in entry order. Shared by
/// `split` and `amount_tolerance`, which differ only in what they do with the candidates.
fn window_entries(
    pool: &Pool,
    flat: &[u32],
    groups: &FxMap<(u64, bool), (u32, u32)>,
    ri: usize,
    win: &mut nearest::Windows,
) -> Option<(i64, Vec<usize>)> {
    if !pool.record_open[ri] {
        return None;
    }
    let r = pool.r(ri);
    let target = pool.rfen(ri)?;
    let keys = [(pool.rcp[ri] != 0).then_some(pool.rcp[ri]), r.cp_name().map(name_key)];
    let dates = &pool.it.e_date;
    let (lo, hi) = win.of(r.date());
    let mut out: Vec<usize> = Vec::new();
    for k in keys.into_iter().flatten() {
        let Some(&(s, e)) = groups.get(&(k, r.neg())) else { continue };
        let list = &flat[s as usize..e as usize];
        let from = list.partition_point(|&j| dates[j as usize] < lo);
        let to = list.partition_point(|&j| dates[j as usize] <= hi);
        out.extend(list[from..to.max(from)].iter().map(|&j| j as usize).filter(|&j| pool.entry_open[j]));
    }
    if out.is_empty() {
        return None;
    }
    out.sort_unstable();
    out.dedup();
    Some((target, out))
}

/// The key of a name in [`open_by_counterparty`]'s groups (never an account's hash).
fn name_key(n: &str) -> u64 {
    (hash_str(&party::name_form(n)) ^ 0x6e61_6d65_6e61_6d65) | 1
}

fn open_by_counterparty(pool: &Pool) -> Groups<(u64, bool)> {
    let mut keyed: Vec<((u64, bool), u32)> = Vec::new();
    for i in 0..pool.ne() {
        if !pool.entry_open[i] || !nearest::payable(pool.it.e_kind[i]) || pool.efen(i).is_none() {
            continue;
        }
        let neg = pool.e(i).neg();
        let mut keys: Vec<u64> = Vec::new();
        if pool.ecp[i] != 0 {
            keys.push(pool.ecp[i]);
        } else {
            // Accounts written only in the text (free-text statements).
            keys.extend(nearest::text_accounts(pool, i).into_iter().map(cp_hash));
        }
        keys.extend(nearest::entry_names(pool, i).into_iter().map(name_key));
        keys.sort_unstable();
        keys.dedup();
        keyed.extend(keys.into_iter().map(|k| ((k, neg), i as u32)));
    }
    group_by(keyed.into_iter())
}

/// Kinds that may execute a book record (not fees, interest, returns, reversals).
pub(crate) fn plain(k: EntryKind) -> bool {
    matches!(k, EntryKind::Transfer | EntryKind::Batch)
}

/// Rule `split` (counterparty part): open entries to the record's counterparty, same
/// direction, within the record's window, of which exactly one subset (two or more)
/// sums to the record.
fn split_by_counterparty(pool: &mut Pool, out: &mut Compact, window: u32, max_parts: usize) {
    let (flat, groups) = open_by_counterparty(pool);
    if groups.is_empty() {
        return;
    }
    let mut win = nearest::Windows::new(window);
    for ri in 0..pool.nr() {
        let Some((target, open)) = window_entries(pool, &flat, &groups, ri, &mut win) else { continue };
        let cands: Vec<usize> = open
            .into_iter()
            .filter(|&j| pool.efen(j).is_some_and(|f| f.unsigned_abs() < target.unsigned_abs()))
            .filter(|&j| nearest::same_party(pool, j, ri))
            .take(max_parts + 1)
            .collect();
        if cands.len() < 2 || cands.len() > max_parts {
            continue;
        }
        let amounts: Vec<i64> = cands.iter().map(|&j| pool.efen(j).unwrap_or(0)).collect();
        if let subset::Found::One(keep) = subset::unique_subset(&amounts, target, 2) {
            let parts: Vec<usize> = keep.iter().map(|&k| cands[k]).collect();
            pool.record_open[ri] = false;
            let m = out.push(Rule::Split, compact::SPLIT_BY_CP, parts.iter().copied(), [ri], NONE);
            for j in parts {
                pool.close_entry(j, m);
            }
        }
    }
}

/// Rule `amount_tolerance` (counterparty part): same counterparty and direction, within
/// the window, the amounts differ by at most `tol` fen; the closest amount wins, then the
/// earliest entry.
fn tolerance_by_counterparty(pool: &mut Pool, out: &mut Compact, window: u32, tol: i64) {
    let (flat, groups) = open_by_counterparty(pool);
    let mut win = nearest::Windows::new(window);
    for ri in 0..pool.nr() {
        let Some((target, open)) = window_entries(pool, &flat, &groups, ri, &mut win) else { continue };
        let best = open
            .into_iter()
            .filter_map(|j| pool.efen(j).map(|f| ((f - target).abs(), j)))
            .filter(|&(d, _)| d <= tol)
            .take(64)
            .filter(|&(_, j)| nearest::same_party(pool, j, ri))
            .min();
        if let Some((_, j)) = best {
            tolerance_match(pool, out, j, ri, 0);
        }
    }
}

pub(crate) fn tolerance_match(pool: &mut Pool, out: &mut Compact, ei: usize, ri: usize, how: u8) {
    pool.record_open[ri] = false;
    let m = out.push(Rule::AmountTolerance, how, [ei], [ri], NONE);
    pool.close_entry(ei, m);
}

#[cfg(test)]
mod tests;
