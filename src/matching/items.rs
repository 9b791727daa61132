//! [`Items`]: one account's entries and records in the compact, columnar form matching
//! works on.
//!
//! Why: at a million entries the row form ([`BankItem`], [`BookItem`]: a `Decimal`, six
//! `String`s or `Option<String>`s and their heap blocks per item) costs ~300 bytes an item
//! before matching starts. Here every text lives once in one arena ([`Strs`], ids of 4
//! bytes, frequent texts such as narratives stored once), amounts are fen in an `i64` with
//! their scale (the exact `Decimal` is rebuilt on demand; the rare amount that is not a
//! whole number of fen keeps its `Decimal` in a side table), and the columns are in the
//! order matching walks them (date, key, id), so no permutation is kept either.

use super::{BankItem, BookItem, FxMap};
use crate::statement::EntryKind;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Texts in one arena, addressed by a `u32` id; id 0 is "none". Frequent texts are stored
/// once through a small direct-mapped cache (bounded memory; a miss only costs bytes).
#[derive(Clone, Debug, Default)]
pub struct Strs {
    arena: String,
    /// `ends[id]`: end of text `id` in the arena; `ends[0] = 0`.
    ends: Vec<u32>,
    cache: Vec<u32>,
}

/// The arena is addressed by `u32`: at most this many bytes of text per account.
pub const MAX_TEXT_BYTES: usize = u32::MAX as usize;
const CACHE_SLOTS: usize = 1 << 14;

/// An account too large for the compact form (more text or items than `u32` addresses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TooLarge(pub String);

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TooLarge {}

impl Strs {
    fn new() -> Strs {
        Strs { arena: String::new(), ends: vec![0], cache: vec![0; CACHE_SLOTS] }
    }
    /// Stores `s` (or finds it in the cache) and returns its id.
    fn push(&mut self, s: &str) -> Result<u32, TooLarge> {
        let slot = (super::hash_str(s) as usize) & (CACHE_SLOTS - 1);
        let cached = self.cache[slot];
        if cached != 0 && self.get(cached) == s {
            return Ok(cached);
        }
        // Ids stop below u32::MAX - 1: that value and above are markers (`REF_IN_KEY`).
        if self.arena.len() + s.len() > MAX_TEXT_BYTES || self.ends.len() >= (u32::MAX - 1) as usize {
            return Err(TooLarge(format!("more than {MAX_TEXT_BYTES} bytes of text in one account")));
        }
        self.arena.push_str(s);
        self.ends.push(self.arena.len() as u32);
        let id = (self.ends.len() - 1) as u32;
        self.cache[slot] = id;
        Ok(id)
    }
    fn push_opt(&mut self, s: Option<&str>) -> Result<u32, TooLarge> {
        match s {
            None => Ok(0),
            // "" must stay distinct from none: it is stored (once, through the cache).
            Some(s) => self.push(s),
        }
    }
    /// Text `id` (id 0: ""; use [`Strs::opt`] where none and "" differ).
    pub fn get(&self, id: u32) -> &str {
        let i = id as usize;
        if i == 0 || i >= self.ends.len() {
            return "";
        }
        &self.arena[self.ends[i - 1] as usize..self.ends[i] as usize]
    }
    pub fn opt(&self, id: u32) -> Option<&str> {
        (id != 0).then(|| self.get(id))
    }
    fn shrink(&mut self) {
        self.cache = Vec::new();
        self.arena.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity() + self.ends.capacity() * 4 + self.cache.capacity() * 4
    }
}

/// `e_ref` value: the bank reference is the entry key up to its last `#`.
const REF_IN_KEY: u32 = u32::MAX;

/// An amount as fen + the scale it was written with, or (`ODD`) a `Decimal` kept aside.
const FEN_OK: u8 = 0x80;
const ODD: u8 = 0x40;
const SCALE: u8 = 0x3f;

/// Packs `d` as (fen, flags): exact when `flags & ODD == 0`.
fn pack(d: Decimal) -> (i64, u8) {
    match super::fen(d) {
        Some(f) if unpack(f, FEN_OK | d.scale() as u8).is_some_and(|back| back.serialize() == d.serialize()) => {
            (f, FEN_OK | d.scale() as u8)
        }
        Some(f) => (f, FEN_OK | ODD),
        None => (0, ODD),
    }
}

fn unpack(fen: i64, flags: u8) -> Option<Decimal> {
    let s = u32::from(flags & SCALE);
    let m = i128::from(fen);
    let m = if s >= 2 { m.checked_mul(10i128.checked_pow(s - 2)?)? } else { m / 10i128.pow(2 - s) };
    Decimal::try_from_i128_with_scale(m, s).ok()
}

/// One account's entries and records, sorted as matching walks them: entries by
/// (booking date, entry key, id), records by (date, voucher number, id). Index `i` below
/// is that position, not the item's id.
#[derive(Clone, Debug, Default)]
pub struct Items {
    pub(crate) text: Strs,
    pub(crate) e_id: Vec<i64>,
    pub(crate) e_date: Vec<NaiveDate>,
    pub(crate) e_fen: Vec<i64>,
    e_flags: Vec<u8>,
    pub(crate) e_kind: Vec<EntryKind>,
    e_key: Vec<u32>,
    e_ref: Vec<u32>,
    e_cref: Vec<u32>,
    e_e2e: Vec<u32>,
    e_cp: Vec<u32>,
    e_cpname: Vec<u32>,
    e_text: Vec<u32>,
    pub(crate) r_id: Vec<i64>,
    pub(crate) r_date: Vec<NaiveDate>,
    pub(crate) r_fen: Vec<i64>,
    r_flags: Vec<u8>,
    r_voucher: Vec<u32>,
    r_cp: Vec<u32>,
    r_cpname: Vec<u32>,
    r_purpose: Vec<u32>,
    r_batch: Vec<u32>,
    /// Amounts that are not (fen, scale): (is record, index) → the exact amount.
    odd: FxMap<(bool, u32), Decimal>,
}

impl Items {
    /// The compact form of `entries` and `records` (any order: they are sorted here; input
    /// already in order, as the store delivers it, is only checked).
    ///
    /// Any rows that hold the items will do (`AsRef`): the store's rows are read in place,
    /// not copied into the row form first.
    pub fn new<E: AsRef<BankItem>, R: AsRef<BookItem>>(entries: &[E], records: &[R]) -> Result<Items, TooLarge> {
        if entries.len() >= u32::MAX as usize || records.len() >= u32::MAX as usize {
            return Err(TooLarge("more than 4 billion entries or records in one account".into()));
        }
        let mut it = Items { text: Strs::new(), ..Items::default() };
        let (ne, nr) = (entries.len(), records.len());
        // The texts' arena at its largest (before the cache's deduplication) is reserved
        // at once: grown by doubling, every step copied it into freshly faulted memory.
        // Reserved but untouched memory is not resident; `shrink` gives back the rest.
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let text_bytes = entries
            .iter()
            .map(|e| {
                let e = e.as_ref();
                e.entry_key.len()
                    + opt(&e.bank_ref)
                    + opt(&e.customer_ref)
                    + opt(&e.end_to_end_id)
                    + opt(&e.counterparty_account)
                    + opt(&e.counterparty_name)
                    + e.narrative.len()
            })
            .chain(records.iter().map(|r| {
                let r = r.as_ref();
                r.voucher_no.len()
                    + opt(&r.counterparty_account)
                    + opt(&r.counterparty_name)
                    + opt(&r.purpose)
                    + opt(&r.batch_ref)
            }))
            .sum::<usize>();
        it.text.arena.reserve_exact(text_bytes.min(MAX_TEXT_BYTES));
        it.text.ends.reserve_exact(7 * ne + 5 * nr);
        it.e_id.reserve_exact(ne);
        it.e_date.reserve_exact(ne);
        it.e_fen.reserve_exact(ne);
        it.e_flags.reserve_exact(ne);
        it.e_kind.reserve_exact(ne);
        for v in [
            &mut it.e_key,
            &mut it.e_ref,
            &mut it.e_cref,
            &mut it.e_e2e,
            &mut it.e_cp,
            &mut it.e_cpname,
            &mut it.e_text,
        ] {
            v.reserve_exact(ne);
        }
        for e in super::sorted(entries, |e| {
            let e = e.as_ref();
            (e.booking_date, e.entry_key.as_str(), e.id)
        }) {
            let e = e.as_ref();
            let i = it.e_id.len() as u32;
            it.e_id.push(e.id);
            it.e_date.push(e.booking_date);
            let (f, fl) = pack(e.amount);
            if fl & ODD != 0 {
                it.odd.insert((false, i), e.amount);
            }
            it.e_fen.push(f);
            it.e_flags.push(fl);
            it.e_kind.push(e.kind);
            it.e_key.push(it.text.push(&e.entry_key)?);
            // The entry key is usually the bank reference + `#n`: then the reference is not
            // stored twice.
            let key_prefix = e
                .bank_ref
                .as_deref()
                .is_some_and(|b| e.entry_key.rfind('#') == Some(b.len()) && e.entry_key.starts_with(b));
            it.e_ref.push(if key_prefix { REF_IN_KEY } else { it.text.push_opt(e.bank_ref.as_deref())? });
            it.e_cref.push(it.text.push_opt(e.customer_ref.as_deref())?);
            it.e_e2e.push(it.text.push_opt(e.end_to_end_id.as_deref())?);
            it.e_cp.push(it.text.push_opt(e.counterparty_account.as_deref())?);
            it.e_cpname.push(it.text.push_opt(e.counterparty_name.as_deref())?);
            it.e_text.push(it.text.push(&e.narrative)?);
        }
        it.r_id.reserve_exact(nr);
        it.r_date.reserve_exact(nr);
        it.r_fen.reserve_exact(nr);
        it.r_flags.reserve_exact(nr);
        for v in [&mut it.r_voucher, &mut it.r_cp, &mut it.r_cpname, &mut it.r_purpose, &mut it.r_batch] {
            v.reserve_exact(nr);
        }
        for r in super::sorted(records, |r| {
            let r = r.as_ref();
            (r.date, r.voucher_no.as_str(), r.id)
        }) {
            let r = r.as_ref();
            let i = it.r_id.len() as u32;
            it.r_id.push(r.id);
            it.r_date.push(r.date);
            let (f, fl) = pack(r.amount);
            if fl & ODD != 0 {
                it.odd.insert((true, i), r.amount);
            }
            it.r_fen.push(f);
            it.r_flags.push(fl);
            it.r_voucher.push(it.text.push(&r.voucher_no)?);
            it.r_cp.push(it.text.push_opt(r.counterparty_account.as_deref())?);
            it.r_cpname.push(it.text.push_opt(r.counterparty_name.as_deref())?);
            it.r_purpose.push(it.text.push_opt(r.purpose.as_deref())?);
            it.r_batch.push(it.text.push_opt(r.batch_ref.as_deref())?);
        }
        it.text.shrink();
        Ok(it)
    }

    pub fn entries(&self) -> usize {
        self.e_id.len()
    }
    pub fn records(&self) -> usize {
        self.r_id.len()
    }

    /// Bytes held (columns and texts), for the benchmark's account of memory.
    pub fn heap_bytes(&self) -> usize {
        let ne = self.e_id.capacity();
        let nr = self.r_id.capacity();
        self.text.heap_bytes() + ne * (8 + 4 + 8 + 1 + 1 + 7 * 4) + nr * (8 + 4 + 8 + 1 + 5 * 4) + self.odd.len() * 40
    }

    pub(crate) fn e(&self, i: usize) -> E<'_> {
        E { it: self, i }
    }
    pub(crate) fn r(&self, i: usize) -> R<'_> {
        R { it: self, i }
    }

    /// Entry `i`'s amount in fen, if a whole number of fen.
    pub(crate) fn efen(&self, i: usize) -> Option<i64> {
        (self.e_flags[i] & FEN_OK != 0).then_some(self.e_fen[i])
    }
    pub(crate) fn rfen(&self, i: usize) -> Option<i64> {
        (self.r_flags[i] & FEN_OK != 0).then_some(self.r_fen[i])
    }
    fn amount(&self, record: bool, i: usize) -> Decimal {
        let (f, fl) = if record { (self.r_fen[i], self.r_flags[i]) } else { (self.e_fen[i], self.e_flags[i]) };
        if fl & ODD != 0 {
            return self.odd.get(&(record, i as u32)).copied().unwrap_or_default();
        }
        unpack(f, fl).unwrap_or_default()
    }
    fn negative(&self, record: bool, i: usize) -> bool {
        let fl = if record { self.r_flags[i] } else { self.e_flags[i] };
        if fl & ODD != 0 {
            return self.amount(record, i).is_sign_negative();
        }
        (if record { self.r_fen[i] } else { self.e_fen[i] }) < 0
    }
    /// Entry `ei` and record `ri` have equal amounts (as `Decimal`s compare: by value).
    pub(crate) fn same_amount(&self, ei: usize, ri: usize) -> bool {
        if (self.e_flags[ei] | self.r_flags[ri]) & ODD == 0 {
            return self.e_fen[ei] == self.r_fen[ri];
        }
        self.amount(false, ei) == self.amount(true, ri)
    }

    /// Back to rows (in sorted order): for tests and tools.
    pub fn bank_items(&self) -> Vec<BankItem> {
        (0..self.entries()).map(|i| self.e(i).to_item()).collect()
    }
    pub fn book_items(&self) -> Vec<BookItem> {
        (0..self.records()).map(|i| self.r(i).to_item()).collect()
    }
}

/// A view of entry `i`.
#[derive(Clone, Copy)]
pub(crate) struct E<'a> {
    it: &'a Items,
    i: usize,
}

impl<'a> E<'a> {
    pub fn id(&self) -> i64 {
        self.it.e_id[self.i]
    }
    pub fn key(&self) -> &'a str {
        self.it.text.get(self.it.e_key[self.i])
    }
    pub fn date(&self) -> NaiveDate {
        self.it.e_date[self.i]
    }
    pub fn amount(&self) -> Decimal {
        self.it.amount(false, self.i)
    }
    pub fn neg(&self) -> bool {
        self.it.negative(false, self.i)
    }
    pub fn kind(&self) -> EntryKind {
        self.it.e_kind[self.i]
    }
    pub fn bank_ref(&self) -> Option<&'a str> {
        match self.it.e_ref[self.i] {
            REF_IN_KEY => {
                let k = self.key();
                Some(&k[..k.rfind('#').unwrap_or(k.len())])
            }
            id => self.it.text.opt(id),
        }
    }
    pub fn customer_ref(&self) -> Option<&'a str> {
        self.it.text.opt(self.it.e_cref[self.i])
    }
    pub fn e2e(&self) -> Option<&'a str> {
        self.it.text.opt(self.it.e_e2e[self.i])
    }
    pub fn cp(&self) -> Option<&'a str> {
        self.it.text.opt(self.it.e_cp[self.i])
    }
    pub fn cp_name(&self) -> Option<&'a str> {
        self.it.text.opt(self.it.e_cpname[self.i])
    }
    pub fn narrative(&self) -> &'a str {
        self.it.text.get(self.it.e_text[self.i])
    }
    /// The id of the narrative in the text arena (equal texts often share one).
    pub fn text_id(&self) -> u32 {
        self.it.e_text[self.i]
    }
    pub fn to_item(self) -> BankItem {
        BankItem {
            id: self.id(),
            entry_key: self.key().to_string(),
            booking_date: self.date(),
            amount: self.amount(),
            bank_ref: self.bank_ref().map(str::to_string),
            customer_ref: self.customer_ref().map(str::to_string),
            end_to_end_id: self.e2e().map(str::to_string),
            counterparty_account: self.cp().map(str::to_string),
            counterparty_name: self.cp_name().map(str::to_string),
            narrative: self.narrative().to_string(),
            kind: self.kind(),
        }
    }
}

/// A view of record `i`.
#[derive(Clone, Copy)]
pub(crate) struct R<'a> {
    it: &'a Items,
    i: usize,
}

impl<'a> R<'a> {
    pub fn id(&self) -> i64 {
        self.it.r_id[self.i]
    }
    pub fn voucher(&self) -> &'a str {
        self.it.text.get(self.it.r_voucher[self.i])
    }
    pub fn date(&self) -> NaiveDate {
        self.it.r_date[self.i]
    }
    pub fn amount(&self) -> Decimal {
        self.it.amount(true, self.i)
    }
    pub fn neg(&self) -> bool {
        self.it.negative(true, self.i)
    }
    pub fn cp(&self) -> Option<&'a str> {
        self.it.text.opt(self.it.r_cp[self.i])
    }
    pub fn cp_name(&self) -> Option<&'a str> {
        self.it.text.opt(self.it.r_cpname[self.i])
    }
    pub fn purpose(&self) -> Option<&'a str> {
        self.it.text.opt(self.it.r_purpose[self.i])
    }
    pub fn batch(&self) -> Option<&'a str> {
        self.it.text.opt(self.it.r_batch[self.i])
    }
    pub fn to_item(self) -> BookItem {
        BookItem {
            id: self.id(),
            voucher_no: self.voucher().to_string(),
            date: self.date(),
            amount: self.amount(),
            counterparty_account: self.cp().map(str::to_string),
            counterparty_name: self.cp_name().map(str::to_string),
            purpose: self.purpose().map(str::to_string),
            batch_ref: self.batch().map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn amounts_round_trip_exactly() {
        for s in [
            "0",
            "-0.00",
            "1.5",
            "-1.50",
            "1.500",
            "12345678901234.56",
            "0.001",
            "-7",
            "1e-28",
            "79228162514264337593543950335",
        ] {
            let d = Decimal::from_str(s).or_else(|_| Decimal::from_scientific(s)).unwrap();
            let (f, fl) = pack(d);
            let back = if fl & ODD != 0 { d } else { unpack(f, fl).unwrap() };
            assert_eq!(back.serialize(), d.serialize(), "{s}");
            assert_eq!(fl & FEN_OK != 0, super::super::fen(d).is_some(), "{s}");
        }
    }

    #[test]
    fn texts_keep_none_and_empty_apart() {
        let mut s = Strs::new();
        let a = s.push("养老金拨付").unwrap();
        let b = s.push("养老金拨付").unwrap();
        let e = s.push_opt(Some("")).unwrap();
        assert_eq!(a, b, "a frequent text is stored once");
        assert_eq!(s.opt(e), Some(""));
        assert_eq!(s.opt(0), None);
        assert_eq!(s.get(a), "养老金拨付");
    }
}
