//! Rules `reference`, `batch`, `split` (by reference) and `amount_tolerance` (by
//! reference): find book keys (voucher numbers, batch references) in the bank's references
//! and texts.
//!
//! Keys and texts are compared in their canonical form ([`canonical_into`]). A key is found
//! where it is not glued to ASCII letters or digits, so a found key always starts and ends
//! on a token (a maximal run of ASCII letters and digits) of the text: the search looks up
//! each token, and each run of up to [`MAX_TOKENS`] tokens, in a hash of the keys. That is
//! linear in the text and does not grow with the number of vouchers. The few keys that do
//! not start and end with a letter or digit are found by an Aho–Corasick automaton over
//! those keys only. Keys shorter than [`MIN_KEY`] characters are not searched: they would
//! be found by accident.

use super::compact::{self, Compact};
use super::subset::{self, Found};
use super::text::{at_boundary, canonical_into, canonical_ref, may_hold_token, tokens};
use super::{BatchDetail, FxMap, NONE, Pool, Rule, hash_str, plain};
use crate::statement::EntryKind;
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::HashSet;

pub const MIN_KEY: usize = 4;
/// A reference token taken from a record's purpose has at least this many letters and
/// digits (and one digit): shorter ones are years, counts and other words, not references.
pub const MIN_PURPOSE_KEY: usize = 6;
/// Tokens of at most this many parts (`SW2024-0301-004` has three) are taken from a purpose.
pub const PURPOSE_KEY_PARTS: usize = 4;
/// Keys taken from one purpose at most.
pub const MAX_PURPOSE_KEYS: usize = 16;
/// A shared token pairs a record and an entry at most this many calendar days apart: a
/// pair further apart is for a person to look at.
pub const SHARED_MAX_DAYS: u32 = 45;
/// Keys of more tokens than this go to the automaton.
pub const MAX_TOKENS: usize = 6;

/// Interned canonical keys: one string arena, a hash → first key id map and a chain for
/// keys whose hashes collide.
#[derive(Default)]
pub(crate) struct Keys {
    arena: String,
    spans: Vec<(u32, u32)>,
    map: FxMap<u64, u32>,
    chain: Vec<u32>,
}

impl Keys {
    fn with_capacity(keys: usize, bytes: usize) -> Keys {
        let mut k = Keys::default();
        k.arena.reserve_exact(bytes);
        k.spans.reserve_exact(keys);
        k.chain.reserve_exact(keys);
        // Sized once: growing rehashes, and old and new tables would be held together.
        k.map.reserve(keys);
        k
    }
    fn shrink(&mut self) {
        self.arena.shrink_to_fit();
        self.spans.shrink_to_fit();
        self.chain.shrink_to_fit();
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        self.get_h(s, hash_str(s))
    }
    pub fn get_h(&self, s: &str, h: u64) -> Option<u32> {
        let mut k = *self.map.get(&h)?;
        loop {
            if self.str(k) == s {
                return Some(k);
            }
            k = self.chain[k as usize];
            if k == NONE {
                return None;
            }
        }
    }
    /// The id of `s`, stored if new. One hash and one probe (a million vouchers pass here).
    fn intern(&mut self, s: &str) -> u32 {
        let Keys { arena, spans, map, chain } = self;
        let slot = map.entry(hash_str(s)).or_insert(NONE);
        let mut k = *slot;
        while k != NONE {
            let (a, b) = spans[k as usize];
            if &arena[a as usize..b as usize] == s {
                return k;
            }
            k = chain[k as usize];
        }
        let id = spans.len() as u32;
        let start = arena.len() as u32;
        arena.push_str(s);
        spans.push((start, arena.len() as u32));
        chain.push(*slot);
        *slot = id;
        id
    }
    pub fn str(&self, k: u32) -> &str {
        let (s, e) = self.spans[k as usize];
        &self.arena[s as usize..e as usize]
    }
    pub fn len(&self) -> usize {
        self.spans.len()
    }
}

/// Compressed lists: group → items, in the order they were pushed.
#[derive(Default)]
pub(crate) struct Csr {
    off: Vec<u32>,
    items: Vec<u32>,
}

impl Csr {
    /// Group `g` → the positions `i` with `keys[i] == g` (`NONE`: in no group), ascending.
    /// A counting sort: no list of pairs is built.
    fn from_keys(groups: usize, keys: &[u32]) -> Csr {
        let mut off = vec![0u32; groups + 2];
        for &g in keys.iter().filter(|&&g| g != NONE) {
            off[g as usize + 2] += 1;
        }
        for i in 2..off.len() {
            off[i] += off[i - 1];
        }
        // off[g + 1] is the fill cursor of group g; once filled it is group g's end.
        let mut items = vec![0u32; off[groups + 1] as usize];
        for (i, &g) in keys.iter().enumerate().filter(|&(_, &g)| g != NONE) {
            let at = &mut off[g as usize + 1];
            items[*at as usize] = i as u32;
            *at += 1;
        }
        off.pop();
        Csr { off, items }
    }
    pub fn get(&self, g: usize) -> &[u32] {
        if g + 1 >= self.off.len() {
            return &[];
        }
        &self.items[self.off[g] as usize..self.off[g + 1] as usize]
    }
}

/// Lists for the few keys that have any: key → items, in the order they were pushed.
#[derive(Default)]
pub(crate) struct Sparse {
    at: FxMap<u32, (u32, u32)>,
    items: Vec<u32>,
}

impl Sparse {
    /// From (key, item) pairs, grouped in the order of the pairs (stable).
    fn from_pairs(mut pairs: Vec<(u32, u32)>) -> Sparse {
        pairs.sort_by_key(|&(k, _)| k);
        let mut at: FxMap<u32, (u32, u32)> = FxMap::default();
        let mut start = 0;
        for i in 1..=pairs.len() {
            if i == pairs.len() || pairs[i].0 != pairs[start].0 {
                at.insert(pairs[start].0, (start as u32, i as u32));
                start = i;
            }
        }
        Sparse { at, items: pairs.into_iter().map(|(_, x)| x).collect() }
    }
    pub fn get(&self, k: usize) -> &[u32] {
        match self.at.get(&(k as u32)) {
            Some(&(s, e)) => &self.items[s as usize..e as usize],
            None => &[],
        }
    }
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }
    /// The keys that have a list, ascending.
    pub fn keys(&self) -> Vec<u32> {
        let mut k: Vec<u32> = self.at.keys().copied().collect();
        k.sort_unstable();
        k
    }
}

pub(crate) struct Index {
    pub keys: Keys,
    /// record → its voucher key (NONE: too short to search).
    pub rec_key: Vec<u32>,
    /// key → records with that voucher number, in record order.
    pub key_recs: Csr,
    /// key → records with that batch reference, in record order (few keys have any).
    pub key_batch: Sparse,
    /// entry → keys found in its references and text, ascending.
    pub hits: Csr,
    /// entry index → its batch detail: (line key or NONE, line amount in fen or None).
    pub details: FxMap<u32, Vec<(u32, Option<i64>)>>,
    /// key → records whose purpose (用途/摘要) holds it as a reference token.
    pub key_purpose: Sparse,
    /// record → the keys of its purpose, ascending (empty for most records).
    pub rec_purpose: Sparse,
}

/// The searchable text of an entry in canonical form from its four texts (bank reference,
/// customer reference, end-to-end id, narrative), `|`-separated so that a key never spans
/// two fields.
pub(crate) fn haystack_of(parts: [Option<&str>; 4], scratch: &mut String, out: &mut String) {
    out.clear();
    for part in parts.into_iter().flatten() {
        canonical_into(part, scratch, out);
        out.push('|');
    }
}

/// The reference tokens of each record's purpose, interned: runs of one to
/// [`PURPOSE_KEY_PARTS`] tokens joined by separators only, with a digit and at least
/// [`MIN_PURPOSE_KEY`] letters and digits, not a date, not the record's own amount, not
/// inside the record's own voucher number (that is the voucher key already).
fn purpose_keys(pool: &Pool, rec_key: &[u32], keys: &mut Keys) -> Vec<(u32, u32)> {
    let mut pairs = Vec::new();
    let (mut scratch, mut buf, mut spans) = (String::new(), String::new(), Vec::new());
    let mut own = String::new();
    let mut inside_own: Vec<(usize, usize)> = Vec::new();
    // Purposes repeat (代发养老金 for a thousand payees): one that gave no key is skipped
    // the next time (a small direct-mapped cache of texts without keys).
    let mut keyless: Vec<u64> = vec![0; 1 << 12];
    for (ri, &vk) in rec_key.iter().enumerate() {
        let Some(p) = pool.r(ri).purpose() else { continue };
        // A reference token holds a digit: a purpose without one (ASCII or full-width) has none.
        if !p.bytes().any(|b| b.is_ascii_digit()) && !p.contains(|c: char| ('０'..='９').contains(&c)) {
            continue;
        }
        // The usual purpose names the record's own voucher and nothing else with a digit
        // (`代发养老金 V000123-0456`): no key can come of it.
        let v = pool.r(ri).voucher();
        if !v.is_empty()
            && let Some(at) = p.find(v)
            && !p[..at].bytes().chain(p[at + v.len()..].bytes()).any(|b| b.is_ascii_digit())
            && !p.contains(|c: char| ('０'..='９').contains(&c))
        {
            continue;
        }
        let h = hash_str(p);
        let slot = (h as usize) & (keyless.len() - 1);
        if keyless[slot] == h {
            continue;
        }
        buf.clear();
        canonical_into(p, &mut scratch, &mut buf);
        own.clear();
        if vk != NONE {
            own.push_str(keys.str(vk));
        }
        inside_own.clear();
        if !own.is_empty() {
            inside_own.extend(buf.match_indices(own.as_str()).map(|(at, m)| (at, at + m.len())));
        }
        let mut shaped = false;
        let amount = pool.rfen(ri).map(i64::unsigned_abs);
        tokens(&buf, &mut spans);
        let mut n = 0;
        'starts: for i in 0..spans.len() {
            for j in i..spans.len().min(i + PURPOSE_KEY_PARTS) {
                let (s, t) = (spans[i].0 as usize, spans[j].1 as usize);
                let sub = &buf[s..t];
                if !sub.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    break;
                }
                if !is_reference_token(sub, None) {
                    continue;
                }
                // A token in the shape of a reference: the text is not keyless, whatever
                // this record's amount and voucher rule out.
                shaped = true;
                if inside_own.iter().any(|&(a, b)| a <= s && t <= b) || !is_reference_token(sub, amount) {
                    continue;
                }
                let k = keys.intern(sub);
                if k != vk {
                    pairs.push((k, ri as u32));
                    n += 1;
                }
                if n >= MAX_PURPOSE_KEYS {
                    break 'starts;
                }
            }
        }
        // No token of a reference's shape in this text: the same text on another record
        // gives no key either.
        if !shaped {
            keyless[slot] = h;
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// The counts of items a batch debit's text states (`共5笔`, `提交6笔 成功5笔`,
/// `5 OF 5 ITEMS`): every number standing before 笔 or ITEMS. The paid items must be one of
/// them (a text that says 6 submitted and 5 paid names both).
pub(crate) fn batch_counts(text: &str) -> Vec<usize> {
    let upper = text.to_ascii_uppercase();
    let mut out = Vec::new();
    for mark in ["笔", "ITEMS", "ITEM"] {
        for (at, _) in upper.match_indices(mark) {
            let before = upper[..at].trim_end();
            let digits: String = before.chars().rev().take_while(char::is_ascii_digit).collect();
            let digits: String = digits.chars().rev().collect();
            if let Ok(n) = digits.parse::<usize>()
                && n >= 2
                && !out.contains(&n)
            {
                out.push(n);
            }
        }
    }
    out
}

/// Words that say a debit pays a batch (代发, 批量, 工资, `BATCH`, `BULK`, `PAYROLL`,
/// `SALARY`, German `SAMMEL…`).
pub(crate) fn says_batch(text: &str) -> bool {
    ["代发", "批量", "工资"].iter().any(|w| text.contains(w)) || {
        let u = text.to_ascii_uppercase();
        ["BATCH", "BULK", "PAYROLL", "SALAR", "SAMMEL"].iter().any(|w| u.contains(w))
    }
}

/// A token (canonical, letters, digits and `-`) that can be a reference: a digit, at
/// least [`MIN_PURPOSE_KEY`] letters and digits, not a date (`2024-03-07`, `20240307`,
/// `2024-03`, `202403`), not the amount (`amount_fen` in yuan or fen).
pub(crate) fn is_reference_token(t: &str, amount_fen: Option<u64>) -> bool {
    let alnum = t.bytes().filter(u8::is_ascii_alphanumeric).count();
    if alnum < MIN_PURPOSE_KEY || !t.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        let date_like = |d: &str| {
            let (y, m) = (d[..4].parse::<u32>().unwrap_or(0), d[4..6].parse::<u32>().unwrap_or(0));
            let ok = (1990..=2099).contains(&y) && (1..=12).contains(&m);
            match d.len() {
                6 => ok,
                8 => ok && (1..=31).contains(&d[6..8].parse::<u32>().unwrap_or(0)),
                _ => false,
            }
        };
        if (digits.len() == 6 || digits.len() == 8) && date_like(&digits) {
            return false;
        }
        if let Some(f) = amount_fen {
            let yuan = (f / 100).to_string();
            let fen = f.to_string();
            let with_fen = format!("{yuan}{:02}", f % 100);
            if digits == yuan || digits == fen || digits == with_fen {
                return false;
            }
        }
    }
    true
}

fn searchable(k: &str) -> bool {
    k.chars().count() >= MIN_KEY
}

impl Index {
    pub fn build(pool: &Pool, batch_details: &[BatchDetail]) -> Index {
        let nr = pool.nr();
        let bytes: usize = (0..nr).map(|ri| pool.r(ri).voucher().len()).sum();
        let mut keys = Keys::with_capacity(nr + nr / 16, bytes + bytes / 8);
        let mut rec_key = vec![NONE; nr];
        let mut batch_pairs = Vec::new();
        let (mut scratch, mut buf) = (String::new(), String::new());
        let mut canon = |s: &str, buf: &mut String| {
            buf.clear();
            canonical_into(s.trim(), &mut scratch, buf);
            let t = buf.trim_matches('-');
            if t.len() != buf.len() {
                *buf = t.to_string();
            }
        };
        let mut last_batch: Option<(&str, u32)> = None;
        for (ri, slot) in rec_key.iter_mut().enumerate() {
            let r = pool.r(ri);
            canon(r.voucher(), &mut buf);
            if searchable(&buf) {
                *slot = keys.intern(&buf);
            }
            if let Some(b) = r.batch() {
                // Members of one batch usually sit together: reuse the last key.
                let k = match last_batch {
                    Some((lb, k)) if lb == b => Some(k),
                    _ => {
                        canon(b, &mut buf);
                        let k = searchable(&buf).then(|| keys.intern(&buf));
                        if let Some(k) = k {
                            last_batch = Some((b, k));
                        }
                        k
                    }
                };
                if let Some(k) = k {
                    batch_pairs.push((k, ri as u32));
                }
            }
        }
        let purpose_pairs = purpose_keys(pool, &rec_key, &mut keys);
        keys.shrink();
        let nk = keys.len();
        let key_recs = Csr::from_keys(nk, &rec_key);
        let key_batch = Sparse::from_pairs(batch_pairs);
        let rec_purpose = Sparse::from_pairs(purpose_pairs.iter().map(|&(k, r)| (r, k)).collect());
        let key_purpose = Sparse::from_pairs(purpose_pairs);

        // Token keys (hash lookup) and the rest (automaton).
        let mut first_tokens: HashSet<u64, super::FxBuild> = HashSet::default();
        let mut max_tokens = 1;
        let mut odd: Vec<u32> = Vec::new();
        let mut spans = Vec::new();
        for k in 0..nk as u32 {
            let s = keys.str(k);
            let b = s.as_bytes();
            let edge_ok = b.first().is_some_and(u8::is_ascii_alphanumeric)
                && b.last().is_some_and(u8::is_ascii_alphanumeric)
                && !s.contains('|');
            tokens(s, &mut spans);
            if !edge_ok || spans.len() > MAX_TOKENS {
                odd.push(k);
            } else if spans.len() > 1 {
                first_tokens.insert(hash_str(&s[..spans[0].1 as usize]));
                max_tokens = max_tokens.max(spans.len());
            }
        }
        let ac = if odd.is_empty() {
            None
        } else {
            AhoCorasick::builder().match_kind(MatchKind::Standard).build(odd.iter().map(|&k| keys.str(k))).ok()
        };

        let ne = pool.ne();
        // entry → keys found, appended in entry order: already grouped.
        let mut hits = Csr { off: Vec::with_capacity(ne + 1), items: Vec::new() };
        hits.off.push(0);
        if nk > 0 {
            let (mut scratch, mut hay, mut found) = (String::new(), String::new(), Vec::<u32>::new());
            for ei in 0..ne {
                let e = pool.e(ei);
                let mut parts = [e.bank_ref(), e.customer_ref(), e.e2e(), Some(e.narrative())];
                if ac.is_none() {
                    // Without automaton keys only tokens are looked up: a text that cannot
                    // hold one (养老金拨付) need not be read. Tokens of the other texts stay
                    // apart: each text still ends with `|`.
                    for p in &mut parts {
                        *p = p.filter(|t| may_hold_token(t));
                    }
                }
                haystack_of(parts, &mut scratch, &mut hay);
                tokens(&hay, &mut spans);
                found.clear();
                for i in 0..spans.len() {
                    let (s, t) = (spans[i].0 as usize, spans[i].1 as usize);
                    let h = hash_str(&hay[s..t]);
                    if t - s >= MIN_KEY
                        && let Some(k) = keys.get_h(&hay[s..t], h)
                    {
                        found.push(k);
                    }
                    if max_tokens > 1 && first_tokens.contains(&h) {
                        for &(_, t2) in spans.iter().skip(i + 1).take(max_tokens - 1) {
                            let sub = &hay[s..t2 as usize];
                            if sub.contains('|') {
                                break;
                            }
                            if let Some(k) = keys.get(sub) {
                                found.push(k);
                            }
                        }
                    }
                }
                if let Some(ac) = &ac {
                    for m in ac.find_overlapping_iter(&hay) {
                        if at_boundary(&hay, m.start(), m.end()) {
                            found.push(odd[m.pattern().as_usize()]);
                        }
                    }
                }
                found.sort_unstable();
                found.dedup();
                hits.items.extend_from_slice(&found);
                hits.off.push(hits.items.len() as u32);
            }
        }
        hits.items.shrink_to_fit();

        let mut details = FxMap::default();
        if !batch_details.is_empty() {
            let by_id: FxMap<i64, u32> = pool.it.e_id.iter().enumerate().map(|(i, &id)| (id, i as u32)).collect();
            for d in batch_details {
                if let Some(&ei) = by_id.get(&d.entry_id) {
                    let lines = d
                        .lines
                        .iter()
                        .map(|l| (keys.get(&canonical_ref(&l.reference)).unwrap_or(NONE), super::fen(l.amount)))
                        .collect();
                    details.insert(ei, lines);
                }
            }
        }
        Index { keys, rec_key, key_recs, key_batch, hits, details, key_purpose, rec_purpose }
    }

    /// Frees the key table (texts and hash) once no rule looks a key up any more; the
    /// lists by key id stay.
    pub fn drop_keys(&mut self) {
        self.keys = Keys::default();
    }

    /// Records whose voucher number entry `ei` names, in record order.
    pub fn voucher_records(&self, ei: usize) -> Vec<usize> {
        let mut v: Vec<usize> =
            self.hits.get(ei).iter().flat_map(|&k| self.key_recs.get(k as usize)).map(|&r| r as usize).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The one record holding key `k` (as voucher, in its purpose or as batch reference),
    /// if exactly one does.
    pub fn unique_record(&self, k: u32) -> Option<usize> {
        let k = k as usize;
        let mut all = self.key_recs.get(k).iter().chain(self.key_purpose.get(k)).chain(self.key_batch.get(k));
        let first = *all.next()?;
        all.all(|&r| r == first).then_some(first as usize)
    }

    /// Entry `ei` names a key of record `ri` (its voucher, batch reference or a reference
    /// token of its purpose): evidence that breaks a tie of dates, not a match by itself.
    pub fn shares_key(&self, ei: usize, ri: usize) -> bool {
        let hits = self.hits.get(ei);
        if hits.is_empty() {
            return false;
        }
        let has = |k: u32| k != NONE && hits.binary_search(&k).is_ok();
        has(self.rec_key[ri]) || self.rec_purpose.get(ri).iter().any(|&k| has(k))
    }

    /// Rule `reference` (shared part): a reference token in a record's purpose (the payer's
    /// reference a clerk copied into 用途/摘要) that the bank also carries (bank or customer
    /// reference, end-to-end id, narrative), held by exactly one record and by exactly one
    /// entry of that direction (or by identical postings of it: a duplicate), equal
    /// amount, at most [`SHARED_MAX_DAYS`] apart. Tokens that many records share (a
    /// contract number, 合同号) pair nothing.
    pub fn match_shared(&self, pool: &mut Pool, out: &mut Compact) {
        if self.key_purpose.is_empty() {
            return;
        }
        // key → entries holding it, for the purpose keys only.
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for ei in 0..pool.ne() {
            for &k in self.hits.get(ei) {
                if !self.key_purpose.get(k as usize).is_empty() {
                    pairs.push((k, ei as u32));
                }
            }
        }
        if pairs.is_empty() {
            return;
        }
        let key_ents = Sparse::from_pairs(pairs);
        for ei in 0..pool.ne() {
            let kind = pool.it.e_kind[ei];
            if !pool.entry_open[ei] || matches!(kind, EntryKind::Return | EntryKind::Reversal) {
                continue;
            }
            let neg = pool.e(ei).neg();
            for &k in self.hits.get(ei) {
                if self.key_purpose.get(k as usize).is_empty() {
                    continue;
                }
                let Some(ri) = self.unique_record(k) else { continue };
                if !pool.record_open[ri] || pool.r(ri).neg() != neg {
                    continue;
                }
                if super::nearest::dist(pool.e(ei).date(), pool.r(ri).date()) > SHARED_MAX_DAYS {
                    continue;
                }
                let equal = pool.it.same_amount(ei, ri);
                // Unique among the entries of this direction, or its copies only.
                let others = key_ents.get(k as usize).iter().copied().filter(|&x| pool.e(x as usize).neg() == neg);
                let mut first = true;
                let mut alone = true;
                for x in others {
                    if x as usize == ei {
                        continue;
                    }
                    if !super::nearest::same_entry(pool, ei as u32, x) {
                        alone = false;
                        break;
                    }
                    if (x as usize) < ei && pool.entry_open[x as usize] {
                        first = false;
                    }
                }
                if !alone || !first {
                    continue;
                }
                if !equal {
                    // The same unique reference, another amount: `classify` reports it as
                    // one amount_mismatch if both are still open then.
                    let note = out.note(self.keys.str(k));
                    pool.shared_mismatch.push((ei as u32, ri as u32, note));
                    continue;
                }
                pool.record_open[ri] = false;
                let note = out.note(self.keys.str(k));
                let m = out.push(Rule::Reference, compact::REFERENCE_SHARED, [ei], [ri], note);
                pool.close_entry(ei, m);
                break;
            }
        }
    }

    /// Rule `reference`: the voucher number is in the entry, the amounts are equal.
    /// Records are taken in date order; an entry serves one record.
    pub fn match_exact(&self, pool: &mut Pool, out: &mut Compact) {
        for ei in 0..pool.ne() {
            if !pool.entry_open[ei] || self.hits.get(ei).is_empty() {
                continue;
            }
            let hit = self
                .hits
                .get(ei)
                .iter()
                .flat_map(|&k| self.key_recs.get(k as usize))
                .map(|&r| r as usize)
                .filter(|&ri| pool.record_open[ri] && pool.it.same_amount(ei, ri))
                .min();
            if let Some(ri) = hit {
                pool.record_open[ri] = false;
                let m = out.push(Rule::Reference, 0, [ei], [ri], NONE);
                pool.close_entry(ei, m);
            }
        }
    }

    /// Rule `batch`: a batch reference is in the entry and the open records of that batch
    /// add up to the entry amount (1:N); or, when payees failed before the debit, the one
    /// subset of them that does (by the batch detail where there is one, else the fewest
    /// items left out, else an exact search up to [`subset::EXACT_MAX`] items). The records
    /// left out are reported `missing_in_bank` by `classify`, naming the debit.
    pub fn match_batches(&self, pool: &mut Pool, out: &mut Compact) {
        for ei in 0..pool.ne() {
            if !pool.entry_open[ei] || !plain(pool.it.e_kind[ei]) {
                continue;
            }
            let e = pool.e(ei);
            let Some(target) = pool.efen(ei) else { continue };
            for &k in self.hits.get(ei) {
                let all = self.key_batch.get(k as usize);
                if all.is_empty() {
                    continue;
                }
                let members: Vec<usize> = all
                    .iter()
                    .map(|&r| r as usize)
                    .filter(|&ri| pool.record_open[ri] && pool.rfen(ri).is_some())
                    .filter(|&ri| pool.r(ri).neg() == e.neg())
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let mut by_detail = false;
                let mut keep: Option<Vec<usize>> = None;
                if let Some(lines) = self.details.get(&(ei as u32)) {
                    let mut by_key: FxMap<u32, Vec<usize>> = FxMap::default();
                    for &ri in members.iter().rev() {
                        by_key.entry(self.rec_key[ri]).or_default().push(ri);
                    }
                    let mut chosen: Vec<usize> = Vec::new();
                    for &(lk, lf) in lines {
                        let Some(list) = by_key.get_mut(&lk).filter(|_| lk != NONE) else { continue };
                        if let Some(pos) = list.iter().rposition(|&ri| pool.rfen(ri) == lf) {
                            chosen.push(list.remove(pos));
                        }
                    }
                    chosen.sort_unstable();
                    let sum = chosen.iter().fold(0i64, |a, &ri| a.saturating_add(pool.rfen(ri).unwrap_or(0)));
                    if !chosen.is_empty() && sum == target {
                        by_detail = true;
                        keep = Some(chosen);
                    }
                }
                if keep.is_none() {
                    let amounts: Vec<i64> = members.iter().map(|&ri| pool.rfen(ri).unwrap_or(0)).collect();
                    if let Found::One(idx) = subset::keep_for_sum(&amounts, target)
                        && !idx.is_empty()
                    {
                        keep = Some(idx.into_iter().map(|i| members[i]).collect());
                    }
                }
                let Some(keep) = keep else { continue };
                // `keep` is ascending (members are in record order).
                let left: Vec<usize> = members.iter().copied().filter(|ri| keep.binary_search(ri).is_err()).collect();
                for &ri in &keep {
                    pool.record_open[ri] = false;
                }
                for &ri in &left {
                    if pool.failed_in[ri] == NONE {
                        pool.failed_in[ri] = ei as u32;
                    }
                }
                let aux = if left.is_empty() { NONE } else { out.batch_left(by_detail, members.len(), &left) };
                let m = out.push(Rule::Batch, 0, [ei], keep.iter().copied(), aux);
                pool.close_entry(ei, m);
                break;
            }
            if pool.entry_open[ei] {
                self.match_by_items(pool, out, ei, target);
            }
        }
    }

    /// Rule `batch` (by sum, after every other rule): a debit that says it pays a batch
    /// (代发, 批量, `共N笔`, `BULK`) and names no voucher equals the sum of the open vouchers
    /// of one batch of the books (or the one subset of them that adds up to it, as when
    /// payees failed before the debit), inside the window of the batch's dates; each the
    /// other's unique best by date (two batches of one total equally near: neither), and
    /// no single open record of the debit's amount near it that could explain it alone.
    /// Where the debit's text counts its items (`共5笔`), the count must agree.
    pub fn match_batches_by_sum(&self, pool: &mut Pool, out: &mut Compact, win: &mut super::nearest::Windows) {
        struct B {
            key: u32,
            members: Vec<usize>,
            total: i64,
            first: chrono::NaiveDate,
            last: chrono::NaiveDate,
        }
        let mut batches: Vec<B> = Vec::new();
        for k in self.key_batch.keys() {
            let members: Vec<usize> = self
                .key_batch
                .get(k as usize)
                .iter()
                .map(|&r| r as usize)
                .filter(|&ri| pool.record_open[ri] && pool.rfen(ri).is_some())
                .collect();
            if members.len() < 2 || members.iter().any(|&ri| pool.r(ri).neg() != pool.r(members[0]).neg()) {
                continue;
            }
            let total = members.iter().fold(0i64, |a, &ri| a.saturating_add(pool.rfen(ri).unwrap_or(0)));
            let dates = members.iter().map(|&ri| pool.r(ri).date());
            let (first, last) = (dates.clone().min().unwrap_or_default(), dates.max().unwrap_or_default());
            batches.push(B { key: k, members, total, first, last });
        }
        if batches.is_empty() {
            return;
        }
        batches.sort_by_key(|b| (b.first, b.key));
        assert!(batches.len() < u32::MAX as usize, "batch positions are u32");
        let mut by_total: FxMap<i64, Vec<usize>> = FxMap::default();
        for (i, b) in batches.iter().enumerate() {
            by_total.entry(b.total).or_default().push(i);
        }
        // Open single records by amount: a 1:1 explanation the sum must not override.
        let mut singles: FxMap<i64, Vec<usize>> = FxMap::default();
        for ri in 0..pool.nr() {
            if pool.record_open[ri]
                && let Some(f) = pool.rfen(ri)
            {
                singles.entry(f).or_default().push(ri);
            }
        }
        // Candidate (debit, batch) pairs with the members the debit would pay; each side
        // must be the other's unique best: nearest date, then the whole batch before a
        // part of it ([`super::pairing::resolve`], batches standing for records).
        let mut edges: Vec<super::pairing::Edge> = Vec::new();
        let mut keeps: FxMap<(u32, u32), Vec<usize>> = FxMap::default();
        for ei in 0..pool.ne() {
            if !pool.entry_open[ei] || !plain(pool.it.e_kind[ei]) {
                continue;
            }
            let Some(f) = pool.efen(ei) else { continue };
            let e = pool.e(ei);
            let d = e.date();
            let reach = |w: &mut super::nearest::Windows, b: &B| {
                let (lo, _) = w.of(b.first);
                let (_, hi) = w.of(b.last);
                lo <= d && d <= hi
            };
            let alone = singles.get(&f).is_some_and(|rs| {
                rs.iter().any(|&ri| {
                    let (lo, hi) = win.of(pool.r(ri).date());
                    lo <= d && d <= hi
                })
            });
            if alone {
                continue;
            }
            // A sum alone is weak evidence across thousands of open items: the debit must
            // say it pays a batch, and must not name a voucher of its own (then it is that
            // voucher's, with another amount).
            let counts = batch_counts(e.narrative());
            let batch_like = e.kind() == EntryKind::Batch || !counts.is_empty() || says_batch(e.narrative());
            if !batch_like || self.hits.get(ei).iter().any(|&k| !self.key_recs.get(k as usize).is_empty()) {
                continue;
            }
            let count_fits = |n: usize| counts.is_empty() || counts.contains(&n);
            let mut cands: Vec<(usize, Vec<usize>)> = Vec::new();
            for &bi in by_total.get(&f).map_or(&[][..], Vec::as_slice) {
                let b = &batches[bi];
                if b.members.iter().all(|&ri| pool.r(ri).neg() == e.neg())
                    && reach(win, b)
                    && count_fits(b.members.len())
                {
                    cands.push((bi, b.members.clone()));
                }
            }
            {
                // Batches whose dates can reach this debit: their first date at most a
                // window's span of calendar days away (checked exactly by `reach`).
                let from = batches.partition_point(|b| b.first + chrono::Days::new(31) < d);
                for (bi, b) in batches.iter().enumerate().skip(from) {
                    if b.first > d + chrono::Days::new(31) {
                        break;
                    }
                    if b.total == f || b.total.unsigned_abs() <= f.unsigned_abs() || (b.total < 0) != (f < 0) {
                        continue;
                    }
                    if !reach(win, b) {
                        continue;
                    }
                    let amounts: Vec<i64> = b.members.iter().map(|&ri| pool.rfen(ri).unwrap_or(0)).collect();
                    if let Found::One(keep) = subset::keep_for_sum(&amounts, f)
                        && keep.len() >= 2
                        && count_fits(keep.len())
                    {
                        cands.push((bi, keep.into_iter().map(|i| b.members[i]).collect()));
                    }
                }
            }
            for (bi, keep) in cands {
                let b = &batches[bi];
                let days = if d < b.first {
                    super::nearest::dist(d, b.first)
                } else if d > b.last {
                    super::nearest::dist(d, b.last)
                } else {
                    0
                };
                let partial = u32::from(keep.len() != b.members.len());
                edges.push(super::pairing::Edge {
                    ri: bi as u32,
                    ei: ei as u32,
                    dist: days.saturating_mul(2).saturating_add(partial),
                    evidence: false,
                });
                keeps.insert((bi as u32, ei as u32), keep);
            }
        }
        if edges.is_empty() {
            return;
        }
        // Two batches or two debits alike in every way are still two: never interchangeable.
        let res = super::pairing::resolve(edges, |_, _| false, |_, _| false);
        for (bi, ei) in res.pairs {
            let Some(keep) = keeps.remove(&(bi, ei)) else { continue };
            let (bi, ei) = (bi as usize, ei as usize);
            if !pool.entry_open[ei] || keep.iter().any(|&ri| !pool.record_open[ri]) {
                continue;
            }
            let b = &batches[bi];
            let left: Vec<usize> = b.members.iter().copied().filter(|ri| !keep.contains(ri)).collect();
            for &ri in &keep {
                pool.record_open[ri] = false;
            }
            for &ri in &left {
                if pool.failed_in[ri] == NONE {
                    pool.failed_in[ri] = ei as u32;
                }
            }
            let aux = if left.is_empty() { NONE } else { out.batch_left(false, b.members.len(), &left) };
            let m = out.push(Rule::Batch, compact::BATCH_BY_SUM, [ei], keep.iter().copied(), aux);
            pool.close_entry(ei, m);
        }
    }

    /// A batch debit whose items (the bank's `TxDtls`) name the payees' vouchers as their
    /// end-to-end ids, with no batch reference anywhere: every item names one open record
    /// of its amount, each a different one, and they add up to the debit.
    fn match_by_items(&self, pool: &mut Pool, out: &mut Compact, ei: usize, target: i64) {
        let Some(lines) = self.details.get(&(ei as u32)) else { return };
        if lines.len() < 2 {
            return;
        }
        let neg = pool.e(ei).neg();
        let mut chosen: Vec<usize> = Vec::with_capacity(lines.len());
        for &(lk, lf) in lines {
            if lk == NONE || lf.is_none() {
                return;
            }
            let hit = self.key_recs.get(lk as usize).iter().map(|&r| r as usize).find(|&ri| {
                pool.record_open[ri] && pool.rfen(ri) == lf && pool.r(ri).neg() == neg && !chosen.contains(&ri)
            });
            match hit {
                Some(ri) => chosen.push(ri),
                None => return,
            }
        }
        let sum = chosen.iter().fold(0i64, |a, &ri| a.saturating_add(pool.rfen(ri).unwrap_or(0)));
        if sum != target {
            return;
        }
        chosen.sort_unstable();
        for &ri in &chosen {
            pool.record_open[ri] = false;
        }
        let m = out.push(Rule::Batch, compact::BATCH_BY_ITEMS, [ei], chosen.iter().copied(), NONE);
        pool.close_entry(ei, m);
    }

    /// Open plain entries naming each key that has open voucher records: key → entries.
    fn open_entries_by_key(&self, pool: &Pool) -> FxMap<u32, Vec<usize>> {
        let mut by: FxMap<u32, Vec<usize>> = FxMap::default();
        for ei in 0..pool.ne() {
            if !pool.entry_open[ei] || !plain(pool.it.e_kind[ei]) {
                continue;
            }
            for &k in self.hits.get(ei) {
                if self.key_recs.get(k as usize).iter().any(|&r| pool.record_open[r as usize]) {
                    by.entry(k).or_default().push(ei);
                }
            }
        }
        by
    }

    /// Rule `split` (reference part): several open entries name the record's voucher, same
    /// direction, and exactly one subset of two or more of them sums to the record (N:1).
    pub fn match_split_by_reference(&self, pool: &mut Pool, out: &mut Compact, max_parts: usize) {
        let by = self.open_entries_by_key(pool);
        if by.is_empty() {
            return;
        }
        for ri in 0..pool.nr() {
            let k = self.rec_key[ri];
            if !pool.record_open[ri] || k == NONE {
                continue;
            }
            let Some(list) = by.get(&k) else { continue };
            let r = pool.r(ri);
            let Some(target) = pool.rfen(ri) else { continue };
            let cands: Vec<usize> = list
                .iter()
                .copied()
                .filter(|&ei| pool.entry_open[ei])
                .filter(|&ei| pool.e(ei).neg() == r.neg())
                .filter(|&ei| pool.efen(ei).is_some_and(|f| f.unsigned_abs() < target.unsigned_abs()))
                .take(max_parts + 1)
                .collect();
            if cands.len() < 2 || cands.len() > max_parts {
                continue;
            }
            let amounts: Vec<i64> = cands.iter().map(|&ei| pool.efen(ei).unwrap_or(0)).collect();
            if let Found::One(idx) = subset::unique_subset(&amounts, target, 2) {
                let parts: Vec<usize> = idx.into_iter().map(|i| cands[i]).collect();
                pool.record_open[ri] = false;
                let m = out.push(Rule::Split, 0, parts.iter().copied(), [ri], NONE);
                for ei in parts {
                    pool.close_entry(ei, m);
                }
            }
        }
    }

    /// Rule `amount_tolerance` (reference part): the voucher is in the entry, same
    /// direction, the amounts differ by at most `tol` fen (closest first).
    pub fn match_tolerance(&self, pool: &mut Pool, out: &mut Compact, tol: i64) {
        for ei in 0..pool.ne() {
            if !pool.entry_open[ei] || !plain(pool.it.e_kind[ei]) || self.hits.get(ei).is_empty() {
                continue;
            }
            let Some(f) = pool.efen(ei) else { continue };
            let neg = pool.e(ei).neg();
            let best = self
                .voucher_records(ei)
                .into_iter()
                .filter(|&ri| pool.record_open[ri] && pool.r(ri).neg() == neg)
                .filter_map(|ri| pool.rfen(ri).map(|g| ((g - f).abs(), ri)))
                .filter(|&(d, _)| d <= tol)
                .min();
            if let Some((_, ri)) = best {
                super::tolerance_match(pool, out, ei, ri, compact::TOLERANCE_BY_VOUCHER);
            }
        }
    }
}
