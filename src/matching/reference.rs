//! Rules `reference` and `batch`: find book keys (voucher numbers, batch references) in
//! the bank's references and texts.
//!
//! One Aho–Corasick automaton over all keys of the account scans every entry's text once,
//! so the cost is linear in text size whatever the number of vouchers. Keys shorter than
//! [`MIN_KEY`] characters are not searched: they would be found by accident.

use super::text::{at_boundary, normalize};
use super::{Match, Outcome, Pool, Rule};
use aho_corasick::{AhoCorasick, MatchKind};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

pub const MIN_KEY: usize = 4;

pub(crate) struct Index {
    /// entry index → record indexes whose voucher number the entry's text contains.
    pub voucher_hits: Vec<Vec<usize>>,
    /// entry index → batch references the entry's text contains.
    pub batch_hits: Vec<Vec<String>>,
    /// batch reference → record indexes.
    pub batches: BTreeMap<String, Vec<usize>>,
}

/// The searchable text of an entry: all references and the narrative, `|`-separated so
/// that a key never spans two fields.
pub fn haystack(e: &super::BankItem) -> String {
    let mut s = String::new();
    for part in
        [e.bank_ref.as_deref(), e.customer_ref.as_deref(), e.end_to_end_id.as_deref(), Some(e.narrative.as_str())]
            .into_iter()
            .flatten()
    {
        s.push_str(part);
        s.push('|');
    }
    normalize(&s)
}

impl Index {
    pub fn build(pool: &Pool) -> Index {
        // Pattern list: voucher keys first, then batch keys. Equal keys share a pattern.
        let mut keys: BTreeMap<String, (Vec<usize>, bool)> = BTreeMap::new();
        let mut batches: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (ri, r) in pool.records.iter().enumerate() {
            let v = normalize(r.voucher_no.trim());
            if v.chars().count() >= MIN_KEY {
                keys.entry(v).or_default().0.push(ri);
            }
            if let Some(b) =
                r.batch_ref.as_deref().map(|b| normalize(b.trim())).filter(|b| b.chars().count() >= MIN_KEY)
            {
                batches.entry(b.clone()).or_default().push(ri);
                keys.entry(b).or_default().1 = true;
            }
        }
        let patterns: Vec<&String> = keys.keys().collect();
        let mut voucher_hits = vec![Vec::new(); pool.entries.len()];
        let mut batch_hits = vec![Vec::new(); pool.entries.len()];
        if !patterns.is_empty() {
            // Overlapping search: a voucher key may sit inside a longer batch key or vice
            // versa, and both must be seen.
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .expect("automaton over bounded keys");
            for (ei, e) in pool.entries.iter().enumerate() {
                let hay = haystack(e);
                let mut vs = BTreeSet::new();
                let mut bs = BTreeSet::new();
                for m in ac.find_overlapping_iter(&hay) {
                    if !at_boundary(&hay, m.start(), m.end()) {
                        continue;
                    }
                    let key = patterns[m.pattern().as_usize()];
                    let (recs, is_batch) = &keys[key];
                    vs.extend(recs.iter().copied());
                    if *is_batch {
                        bs.insert(key.clone());
                    }
                }
                voucher_hits[ei] = vs.into_iter().collect();
                batch_hits[ei] = bs.into_iter().collect();
            }
        }
        Index { voucher_hits, batch_hits, batches }
    }

    /// Rule `reference`: the voucher number is in the entry, the amounts are equal.
    /// Records are taken in date order; an entry serves one record.
    pub fn match_exact(&self, pool: &mut Pool, out: &mut Outcome) {
        for ei in 0..pool.entries.len() {
            if !pool.entry_open[ei] {
                continue;
            }
            let e = pool.entries[ei];
            let hit = self.voucher_hits[ei]
                .iter()
                .copied()
                .find(|&ri| pool.record_open[ri] && pool.records[ri].amount == e.amount);
            if let Some(ri) = hit {
                pool.entry_open[ei] = false;
                pool.record_open[ri] = false;
                let r = pool.records[ri];
                out.matches.push(Match {
                    rule: Rule::Reference,
                    entries: vec![e.id],
                    records: vec![r.id],
                    detail: format!(
                        "voucher {} found in entry {}; amount {} equal",
                        r.voucher_no,
                        e.entry_key,
                        crate::money::canonical(e.amount)
                    ),
                });
            }
        }
    }

    /// Rule `batch`: a batch reference is in the entry and the open records of that batch
    /// add up to the entry amount (1:N).
    pub fn match_batches(&self, pool: &mut Pool, out: &mut Outcome) {
        for ei in 0..pool.entries.len() {
            if !pool.entry_open[ei] {
                continue;
            }
            let e = pool.entries[ei];
            for b in &self.batch_hits[ei] {
                let members: Vec<usize> = self.batches[b].iter().copied().filter(|&ri| pool.record_open[ri]).collect();
                if members.len() < 2 {
                    continue;
                }
                let sum = members.iter().try_fold(Decimal::ZERO, |acc, &ri| acc.checked_add(pool.records[ri].amount));
                if sum != Some(e.amount) {
                    continue;
                }
                pool.entry_open[ei] = false;
                for &ri in &members {
                    pool.record_open[ri] = false;
                }
                out.matches.push(Match {
                    rule: Rule::Batch,
                    entries: vec![e.id],
                    records: members.iter().map(|&ri| pool.records[ri].id).collect(),
                    detail: format!(
                        "batch {b} found in entry {}; {} records sum to {}",
                        e.entry_key,
                        members.len(),
                        crate::money::canonical(e.amount)
                    ),
                });
                break;
            }
        }
    }
}
