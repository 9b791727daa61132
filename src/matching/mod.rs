//! Matching: pairs bank entries with book records for one account, then classifies what
//! is left. Pure: items in, [`Outcome`] out; no I/O, no clock, no database.
//!
//! The cascade runs in a fixed order and each rule only sees what earlier rules left:
//! 1. `reversal`  — a 冲正 entry and the entry it reverses are paired and taken out;
//! 2. `reference` — a voucher number found in the entry's references or text, same amount;
//! 3. `batch`     — a batch reference found in the entry's text, the amount equal to the
//!    sum of the records sharing that batch reference (1:N, 代发);
//! 4. `amount_counterparty_date` — same amount, same counterparty account, bank booking
//!    date within the window after the book date;
//! 5. `classify`  — everything left becomes a discrepancy (see `classify`).
//!
//! Determinism: inputs are sorted by stable keys first, so the outcome does not depend on
//! input order, and a rerun on the same data gives the same outcome.

mod classify;
mod reference;
pub mod text;

use crate::discrepancy::Discrepancy;
use crate::statement::EntryKind;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Version of the rule set; recorded with every match so that a changed rule is visible.
pub const RULESET: &str = "2026.11-1";

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
    pub narrative: String,
    pub kind: EntryKind,
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
    pub batch_ref: Option<String>,
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
}

impl Rule {
    pub fn as_str(&self) -> &'static str {
        match self {
            Rule::Reversal => "reversal",
            Rule::Reference => "reference",
            Rule::Batch => "batch",
            Rule::AmountCounterpartyDate => "amount_counterparty_date",
            Rule::Interest => "interest",
        }
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

/// Working state shared by the rules: which items are still open.
pub(crate) struct Pool<'a> {
    pub entries: Vec<&'a BankItem>,
    pub records: Vec<&'a BookItem>,
    pub entry_open: Vec<bool>,
    pub record_open: Vec<bool>,
}

/// Matches one account's entries against its records.
pub fn match_account(account_no: &str, entries: &[BankItem], records: &[BookItem], params: &Params) -> Outcome {
    let mut es: Vec<&BankItem> = entries.iter().collect();
    es.sort_by(|a, b| (a.booking_date, &a.entry_key, a.id).cmp(&(b.booking_date, &b.entry_key, b.id)));
    let mut rs: Vec<&BookItem> = records.iter().collect();
    rs.sort_by(|a, b| (a.date, &a.voucher_no, a.id).cmp(&(b.date, &b.voucher_no, b.id)));
    let mut pool =
        Pool { entry_open: vec![true; es.len()], record_open: vec![true; rs.len()], entries: es, records: rs };
    let mut out = Outcome::default();
    reversals(&mut pool, &mut out);
    let refs = reference::Index::build(&pool);
    refs.match_exact(&mut pool, &mut out);
    refs.match_batches(&mut pool, &mut out);
    amount_counterparty_date(&mut pool, &mut out, params.window_days);
    classify::rest(account_no, &mut pool, &refs, params, &mut out);
    out
}

/// Rule `reversal`: a 冲正 entry cancels the nearest earlier (or same-day) open entry of
/// the opposite amount; both leave matching. A reversal with no partner stays open.
fn reversals(pool: &mut Pool, out: &mut Outcome) {
    for i in 0..pool.entries.len() {
        let r = pool.entries[i];
        if r.kind != EntryKind::Reversal || !pool.entry_open[i] {
            continue;
        }
        let partner = (0..pool.entries.len()).rev().find(|&j| {
            let e = pool.entries[j];
            j != i
                && pool.entry_open[j]
                && e.kind != EntryKind::Reversal
                && e.amount == -r.amount
                && e.booking_date <= r.booking_date
        });
        if let Some(j) = partner {
            pool.entry_open[i] = false;
            pool.entry_open[j] = false;
            out.matches.push(Match {
                rule: Rule::Reversal,
                entries: vec![pool.entries[j].id, r.id],
                records: vec![],
                detail: format!(
                    "{} reverses {} ({})",
                    r.entry_key,
                    pool.entries[j].entry_key,
                    crate::money::canonical(pool.entries[j].amount)
                ),
            });
        }
    }
}

/// Rule `amount_counterparty_date`: same signed amount, same normalised counterparty
/// account, booked from the book date to `window` business days after it. The earliest
/// such entry wins; ties go to the smaller entry key.
fn amount_counterparty_date(pool: &mut Pool, out: &mut Outcome, window: u32) {
    use std::collections::HashMap;
    // (amount, counterparty) → open entry indexes in date order. Keyed on both so that
    // round amounts that repeat do not make the candidate lists explode.
    let mut by_key: HashMap<(Decimal, String), Vec<usize>> = HashMap::new();
    for (i, e) in pool.entries.iter().enumerate() {
        if !pool.entry_open[i] {
            continue;
        }
        if let Some(cp) = e.counterparty_account.as_deref().map(crate::account::normalize).filter(|c| !c.is_empty()) {
            by_key.entry((e.amount.normalize(), cp)).or_default().push(i);
        }
    }
    for ri in 0..pool.records.len() {
        if !pool.record_open[ri] {
            continue;
        }
        let r = pool.records[ri];
        let Some(cp) = r.counterparty_account.as_deref().map(crate::account::normalize).filter(|c| !c.is_empty())
        else {
            continue;
        };
        let Some(cands) = by_key.get(&(r.amount.normalize(), cp)) else { continue };
        let last = crate::calendar::add_business_days(r.date, window);
        let hit = cands.iter().copied().find(|&ei| {
            let e = pool.entries[ei];
            pool.entry_open[ei] && e.booking_date >= r.date && e.booking_date <= last
        });
        if let Some(ei) = hit {
            pool.entry_open[ei] = false;
            pool.record_open[ri] = false;
            let e = pool.entries[ei];
            out.matches.push(Match {
                rule: Rule::AmountCounterpartyDate,
                entries: vec![e.id],
                records: vec![r.id],
                detail: format!(
                    "amount {} and counterparty {} equal; booked {} within {} business days of {}",
                    crate::money::canonical(r.amount),
                    r.counterparty_account.as_deref().unwrap_or(""),
                    e.booking_date,
                    window,
                    r.date
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests;
