//! The in-memory ledger of one-shot `fundrecon reconcile`: the database's identities and
//! reads ([`super::Store`]) without a database.
//!
//! `reconcile` keeps nothing after it ends, so a database gave it only one thing: the
//! import rules. Those rules are repeated here, and `tests/store.rs` runs the same imports
//! through both and compares every read:
//!
//! - a statement file is identified by its content hash; given twice, it is imported
//!   once (book files are not: their upsert makes a repeat harmless, as in the database);
//! - an entry is identified by (account, entry key) ([`super::entry_keys`]): a statement's
//!   entry already stored from an earlier file is skipped (`ON CONFLICT DO NOTHING`), so
//!   overlapping deliveries count each payment once;
//! - a book record is identified by (account, direction, voucher): a later file replaces
//!   what an earlier one said (the upsert), keeping the record's id;
//! - ids are handed out as the database's sequences do (every row offered takes one, also
//!   one already stored), and amounts come back as the money column gives them
//!   ([`money::canonical_value`]);
//! - reads come in the database's order: entries by (booking date, entry key), records by
//!   (book date, voucher, direction), statements by id (texts compared byte by byte, as
//!   SQLite does; a PostgreSQL database with another collation may order ties of
//!   differently cased keys otherwise, which matching does not depend on: `Items` sorts
//!   its input itself);
//! - a statement's entry sum is that of every entry it delivered (`statements.entry_sum`).
//!
//! Memory is the rows themselves plus one `u32` per row in the identity tables (the keys
//! are not copied: the tables hold row positions and compare against the rows).

use super::redelivery::{self, Earlier, Identity, Verdict};
use super::{AccountData, StoredEntry, StoredRecord, entry_keys};
use crate::book::{BookRecord, Direction};
use crate::matching::{BankItem, BookItem};
use crate::money;
use crate::statement::Statement;
use crate::validate::StatementFacts;
use chrono::NaiveDate;
use hashbrown::{DefaultHashBuilder, HashTable};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashSet};
use std::hash::BuildHasher;

/// Rows per account a `u32` row position can name; far above any real account (the
/// benchmark's biggest is ~1.3 million).
const MAX_ROWS: usize = u32::MAX as usize;

/// The ledger. Storing is split in two so that the costly half runs on the threads that
/// parse: [`Preparer`] turns a parsed file into rows with their identity hashes (any
/// thread, any order), [`Ledger::statement`] / [`Ledger::books`] only look the identities
/// up and number the rows (one thread, in file order).
#[derive(Default)]
pub struct Ledger {
    files: HashSet<String>,
    statements: Vec<StatementRow>,
    accounts: BTreeMap<String, Rows>,
    next_entry_id: i64,
    next_record_id: i64,
    hasher: DefaultHashBuilder,
    /// Room reserved for each account's rows when it is first seen.
    hint: RowHint,
    /// Statements delivered again: same content (counted once) and changed (stored,
    /// flagged), one line each ([`redelivery`]), in the order met.
    redeliveries: Vec<String>,
}

/// Prepares rows for one ledger (it hashes identities the way that ledger does).
#[derive(Clone)]
pub struct Preparer {
    hasher: DefaultHashBuilder,
}

/// A statement made ready to store: its rows (ids still 0) with their key hashes.
pub struct PreparedStatement {
    /// The account as written in the file (resolved by the caller).
    pub raw_account: String,
    pub location: String,
    sequence: Option<String>,
    opening: Option<(NaiveDate, Decimal)>,
    closing: Option<(NaiveDate, Decimal)>,
    entry_count: i64,
    flags: Vec<String>,
    /// Σ of all its entries (`None` on overflow, as `Statement::entry_sum`).
    entry_sum: Option<Decimal>,
    /// What the re-delivery check compares (the fingerprint is computed here, on the
    /// parsing thread).
    identity: Identity,
    rows: Vec<(u64, StoredEntry)>,
}

/// Book records made ready to store, with their identity hashes.
pub struct PreparedBooks {
    rows: Vec<(u64, String, StoredRecord)>,
    /// What each row withdraws (作废 / 红字冲销), by row position.
    voids: Vec<Option<crate::book::Void>>,
}

impl PreparedBooks {
    /// (account, currency, file, location) of each record, in file order.
    pub fn accounts(&self) -> impl Iterator<Item = (&str, &str, &str, &str)> {
        self.rows.iter().map(|(_, a, r)| (a.as_str(), r.currency.as_str(), r.source.as_str(), r.location.as_str()))
    }
}

struct StatementRow {
    account_no: String,
    file: String,
    location: String,
    sequence: Option<String>,
    opening: Option<(NaiveDate, Decimal)>,
    closing: Option<(NaiveDate, Decimal)>,
    entry_count: i64,
    flags: Vec<String>,
    /// Σ of every entry the statement delivered, also those an earlier file had stored
    /// (`statements.entry_sum`): validation checks the statement as the bank sent it.
    entry_sum: Decimal,
    identity: Identity,
}

#[derive(Default)]
struct Rows {
    entries: Vec<StoredEntry>,
    /// Positions in `entries`, by entry key.
    entry_keys: HashTable<u32>,
    records: Vec<StoredRecord>,
    /// Positions in `records`, by (direction, voucher).
    vouchers: HashTable<u32>,
    /// Positions in `records` that left the books (the database's `withdrawn`).
    withdrawn: std::collections::HashSet<u32>,
    /// Negating records (红字冲销) by position → the voucher each cancels: that voucher
    /// stays out of the books whichever later file brings it back (the database's
    /// `negates` column).
    negates: std::collections::HashMap<u32, String>,
}

/// Rows an account holds before room for the rest of the delivery is reserved: small
/// accounts never reserve anything.
const ROOM_AFTER: usize = 1 << 16;

/// Before `v` grows past [`ROOM_AFTER`] rows, room for up to `most` rows is reserved
/// once (address space: pages are faulted in as rows arrive). Refused, or exceeded, the
/// Vec grows by doubling as usual.
fn make_room<T>(v: &mut Vec<T>, most: usize) {
    if v.len() == ROOM_AFTER && most > v.len() {
        let _ = v.try_reserve_exact(most - v.len());
    }
}

/// How many entries and records one account may receive at most, as the caller
/// estimates it from the input's size (0: no estimate). Why: a Vec of millions of
/// 250-byte rows grown by doubling was copied into freshly faulted memory at every step
/// (a tenth of `reconcile`'s CPU); with room reserved, each row is written once where it
/// stays.
#[derive(Clone, Copy, Debug, Default)]
pub struct RowHint {
    pub entries: usize,
    pub records: usize,
}

/// Sorts `v` by `cmp` (ties in their present order): positions are sorted, then the
/// permutation is applied in place, cycle by cycle, one swap per row out of place.
/// (`sort_unstable_by` on 250-byte rows moved each row dozens of times.)
fn sort_rows<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> std::cmp::Ordering) {
    let mut order: Vec<u32> = (0..v.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| cmp(&v[a as usize], &v[b as usize]).then(a.cmp(&b)));
    // order[k]: the present position of the row that belongs at k.
    let mut done = vec![false; v.len()];
    for start in 0..v.len() {
        if done[start] {
            continue;
        }
        let mut at = start;
        loop {
            done[at] = true;
            let from = order[at] as usize;
            if from == start {
                break;
            }
            // `at` takes its row from `from`; the row that was at `at` moves on to `from`,
            // which the cycle fills next.
            v.swap(at, from);
            at = from;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{0}: more than {MAX_ROWS} rows for one account")]
    TooManyRows(String),
    /// The store's refusal of a negating record (see `StoreError::Refused`).
    #[error("{0}")]
    Refused(String),
}

/// The position of an account's voucher in one direction, if stored.
fn find_voucher(h: &DefaultHashBuilder, acct: &Rows, direction: Direction, voucher: &str) -> Option<u32> {
    acct.vouchers
        .find(h.hash_one((direction.as_str(), voucher)), |&i| {
            let x = &acct.records[i as usize];
            x.direction == direction && x.item.voucher_no == voucher
        })
        .copied()
}

fn record_identity(h: &DefaultHashBuilder, r: &StoredRecord) -> u64 {
    h.hash_one((r.direction.as_str(), r.item.voucher_no.as_str()))
}

impl Preparer {
    /// A statement's rows, as the database would store them (keys, amounts as the money
    /// column gives them back).
    pub fn statement(&self, s: Statement) -> PreparedStatement {
        let keys = entry_keys(&s);
        let identity = Identity::of(&s);
        let entry_count = s.entries.len() as i64;
        let entry_sum = s.entry_sum();
        let rows = s
            .entries
            .into_iter()
            .zip(keys)
            .map(|(e, key)| {
                let h = self.hasher.hash_one(key.as_str());
                let row = StoredEntry {
                    item: BankItem {
                        id: 0,
                        entry_key: key,
                        booking_date: e.booking_date,
                        amount: money::canonical_value(e.amount.amount),
                        bank_ref: e.bank_ref,
                        customer_ref: e.customer_ref,
                        end_to_end_id: e.end_to_end_id,
                        counterparty_account: e.counterparty_account,
                        counterparty_name: e.counterparty_name,
                        narrative: e.narrative,
                        kind: e.kind,
                    },
                    statement_id: 0,
                    currency: e.amount.currency,
                    value_date: e.value_date,
                    // As `entries.items` gives them back: amounts in canonical form.
                    batch: e.batch.map(|mut b| {
                        b.total = b.total.map(money::canonical_value);
                        for i in &mut b.items {
                            i.amount = i.amount.map(money::canonical_value);
                        }
                        b
                    }),
                    location: e.location,
                };
                (h, row)
            })
            .collect();
        PreparedStatement {
            raw_account: s.account,
            location: s.location,
            sequence: s.sequence,
            opening: s.opening.map(|b| (b.date, money::canonical_value(b.amount.amount))),
            closing: s.closing.map(|b| (b.date, money::canonical_value(b.amount.amount))),
            entry_count,
            flags: s.flags,
            entry_sum,
            identity,
            rows,
        }
    }

    /// Book records read from `source`, as the database would store them.
    pub fn books(&self, source: &str, records: Vec<BookRecord>) -> PreparedBooks {
        let voids = records.iter().map(|r| r.void.clone()).collect();
        let rows = records
            .into_iter()
            .map(|r| {
                let row = StoredRecord {
                    item: BookItem {
                        id: 0,
                        voucher_no: r.voucher_no,
                        date: r.date,
                        amount: money::canonical_value(r.amount.amount),
                        counterparty_account: r.counterparty_account,
                        counterparty_name: r.counterparty_name,
                        purpose: r.purpose,
                        batch_ref: r.batch_ref,
                    },
                    direction: r.direction,
                    currency: r.amount.currency,
                    source: source.to_string(),
                    location: r.location,
                };
                (record_identity(&self.hasher, &row), r.account_no, row)
            })
            .collect();
        PreparedBooks { rows, voids }
    }
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// A ledger that reserves room for `hint` rows for each account that grows past
    /// [`ROOM_AFTER`] rows (address space, not memory: see [`RowHint`]).
    pub fn with_row_hint(hint: RowHint) -> Ledger {
        Ledger { hint, ..Ledger::default() }
    }

    /// What the parsing threads use to prepare rows for this ledger.
    pub fn preparer(&self) -> Preparer {
        Preparer { hasher: self.hasher.clone() }
    }

    /// Records a file by content hash; false when it was seen before (import nothing).
    pub fn add_file(&mut self, sha256: &str) -> bool {
        self.files.insert(sha256.to_string())
    }

    /// Stores a statement of configured account `account_no` from file `file` (its name as
    /// first seen) with its entries; entries already stored for the account are skipped.
    /// Returns (new, known) entry counts.
    ///
    /// A statement stored before from other bytes (same content) stores nothing and
    /// counts nothing; one sent again with other content is stored with a flag (the
    /// database's rules, [`redelivery::check`]). Both are listed in [`Ledger::redeliveries`].
    pub fn statement(
        &mut self,
        file: &str,
        mut s: PreparedStatement,
        account_no: &str,
    ) -> Result<(u64, u64), LedgerError> {
        let earlier: Vec<Earlier> = self
            .statements
            .iter()
            .filter(|x| {
                x.account_no == account_no
                    && (x.identity.fingerprint == s.identity.fingerprint
                        || (x.identity.statement_id == s.identity.statement_id
                            && x.identity.sequence == s.identity.sequence))
            })
            .map(|x| Earlier { file: x.file.clone(), location: x.location.clone(), identity: x.identity.clone() })
            .collect();
        match redelivery::check(&s.identity, file, &s.location, &earlier) {
            Verdict::New => {}
            Verdict::Same(line) => {
                self.redeliveries.push(line);
                return Ok((0, 0));
            }
            Verdict::Changed { flag, line } => {
                s.flags.push(flag);
                self.redeliveries.push(line);
            }
        }
        let statement_id = self.statements.len() as i64 + 1;
        if !self.accounts.contains_key(account_no) {
            self.accounts.insert(account_no.to_string(), Rows::default());
        }
        let acct = self.accounts.get_mut(account_no).expect("inserted above");
        let (mut new, mut known, mut stored_sum) = (0u64, 0u64, Decimal::ZERO);
        for (h, mut row) in s.rows {
            // A row offered is numbered even when it is already stored: both databases take
            // the next id for every row of an `INSERT … ON CONFLICT DO NOTHING`.
            self.next_entry_id += 1;
            let rows = &acct.entries;
            if acct.entry_keys.find(h, |&i| rows[i as usize].item.entry_key == row.item.entry_key).is_some() {
                known += 1;
                continue;
            }
            if acct.entries.len() >= MAX_ROWS {
                return Err(LedgerError::TooManyRows(account_no.to_string()));
            }
            row.item.id = self.next_entry_id;
            row.statement_id = statement_id;
            stored_sum += row.item.amount;
            let pos = acct.entries.len() as u32;
            make_room(&mut acct.entries, self.hint.entries);
            acct.entries.push(row);
            let (rows, hasher) = (&acct.entries, &self.hasher);
            acct.entry_keys.insert_unique(h, pos, |&i| hasher.hash_one(rows[i as usize].item.entry_key.as_str()));
            new += 1;
        }
        self.statements.push(StatementRow {
            account_no: account_no.to_string(),
            file: file.to_string(),
            location: s.location,
            sequence: s.sequence,
            opening: s.opening,
            closing: s.closing,
            entry_count: s.entry_count,
            flags: s.flags,
            // As the database: the delivered sum as the money column keeps it, else (an
            // overflowing sum, NULL there) the sum of the entries stored.
            entry_sum: s.entry_sum.map(money::canonical_value).unwrap_or(stored_sum),
            identity: s.identity,
        });
        Ok((new, known))
    }

    /// Statements delivered again, one line each naming both files, in the order met.
    pub fn redeliveries(&self) -> &[String] {
        &self.redeliveries
    }

    /// Stores book records; a voucher seen before takes what this file says (keeping its
    /// id). Returns (new, known) counts.
    pub fn books(&mut self, books: PreparedBooks) -> Result<(u64, u64), LedgerError> {
        let (mut new, mut known) = (0u64, 0u64);
        // Negating records act once every row is stored, as in the database.
        let mut negations: Vec<(String, StoredRecord, String)> = Vec::new();
        for ((h, account_no, mut row), void) in books.rows.into_iter().zip(books.voids) {
            if let Some(crate::book::Void::Negates(target)) = &void {
                negations.push((account_no.clone(), row.clone(), target.clone()));
            }
            // Numbered even when the voucher is known (the upsert takes an id either way).
            self.next_record_id += 1;
            if !self.accounts.contains_key(&account_no) {
                self.accounts.insert(account_no.clone(), Rows::default());
            }
            let acct = self.accounts.get_mut(&account_no).expect("inserted above");
            let rows = &acct.records;
            let found = acct
                .vouchers
                .find(h, |&i| {
                    let x = &rows[i as usize];
                    x.direction == row.direction && x.item.voucher_no == row.item.voucher_no
                })
                .copied();
            match found {
                Some(i) => {
                    let stored = &mut acct.records[i as usize];
                    row.item.id = stored.item.id;
                    *stored = row;
                    known += 1;
                    if void.is_some() {
                        acct.withdrawn.insert(i);
                    } else {
                        acct.withdrawn.remove(&i);
                    }
                    match &void {
                        Some(crate::book::Void::Negates(t)) => acct.negates.insert(i, t.clone()),
                        _ => acct.negates.remove(&i),
                    };
                }
                None => {
                    if acct.records.len() >= MAX_ROWS {
                        return Err(LedgerError::TooManyRows(account_no));
                    }
                    row.item.id = self.next_record_id;
                    let pos = acct.records.len() as u32;
                    make_room(&mut acct.records, self.hint.records);
                    acct.records.push(row);
                    let (rows, hasher) = (&acct.records, &self.hasher);
                    acct.vouchers.insert_unique(h, pos, |&i| record_identity(hasher, &rows[i as usize]));
                    new += 1;
                    if void.is_some() {
                        acct.withdrawn.insert(pos);
                    }
                    if let Some(crate::book::Void::Negates(t)) = &void {
                        acct.negates.insert(pos, t.clone());
                    }
                }
            }
        }
        for (account_no, row, target) in negations {
            let acct = self.accounts.get_mut(&account_no).expect("stored above");
            // Either direction, as in the database: a 红字 is written with either sign.
            let found: Vec<u32> = [Direction::Disbursement, Direction::Receipt]
                .into_iter()
                .filter_map(|d| find_voucher(&self.hasher, acct, d, &target))
                .collect();
            let i = match found.as_slice() {
                [i] => *i,
                [] => {
                    return Err(LedgerError::Refused(format!(
                        "{}: field voids: voucher {target:?} is not in the books of account {account_no}, so {} cannot cancel it",
                        row.location, row.item.voucher_no
                    )));
                }
                _ => {
                    return Err(LedgerError::Refused(format!(
                        "{}: field voids: voucher {target:?} of account {account_no} is both a disbursement and a receipt; a negating record cannot tell which it cancels",
                        row.location
                    )));
                }
            };
            if acct.records[i as usize].item.amount.abs() != row.item.amount.abs() {
                return Err(LedgerError::Refused(format!(
                    "{}: field amount: {} cancels voucher {target} of {}: a negating record cancels the whole voucher; a partial correction is a voucher of its own",
                    row.location,
                    money::canonical(row.item.amount.abs()),
                    money::canonical(acct.records[i as usize].item.amount.abs())
                )));
            }
            acct.withdrawn.insert(i);
        }
        // A voucher brought back while a stored negating record names it stays out.
        for acct in self.accounts.values_mut().filter(|a| !a.negates.is_empty()) {
            let again: Vec<u32> = acct
                .negates
                .values()
                .flat_map(|target| {
                    [Direction::Disbursement, Direction::Receipt]
                        .into_iter()
                        .filter_map(|d| find_voucher(&self.hasher, acct, d, target))
                })
                .collect();
            acct.withdrawn.extend(again);
        }
        Ok((new, known))
    }

    /// Takes an account's rows out of the ledger, in the database's order, with its
    /// statement facts, latest closing balance and the last date its statements cover.
    pub fn take_account(&mut self, account_no: &str) -> AccountData {
        let mut data = self.take_account_unsorted(account_no);
        in_read_order(&mut data);
        data
    }

    /// [`Ledger::take_account`] with the rows in storing order: [`in_read_order`] sorts
    /// them (`reconcile` does it on each account's own thread).
    pub fn take_account_unsorted(&mut self, account_no: &str) -> AccountData {
        let Rows { entries, mut records, withdrawn, .. } = self.accounts.remove(account_no).unwrap_or_default();
        if !withdrawn.is_empty() {
            // Vouchers that left the books are not read (`Store::records`: withdrawn IS NULL).
            let mut pos = 0u32;
            records.retain(|_| {
                pos += 1;
                !withdrawn.contains(&(pos - 1))
            });
        }
        let mut facts = Vec::new();
        let mut bank_closing: Option<(NaiveDate, i64, Decimal)> = None;
        let mut end: Option<NaiveDate> = None;
        for (i, s) in self.statements.iter().enumerate().filter(|(_, s)| s.account_no == account_no) {
            let id = i as i64 + 1;
            if let Some((d, x)) = s.closing {
                // Latest by closing date, the later statement on a tie (`ORDER BY
                // closing_date DESC, id DESC`).
                if bank_closing.is_none_or(|(bd, bid, _)| (d, id) > (bd, bid)) {
                    bank_closing = Some((d, id, x));
                }
                end = end.max(Some(d));
            }
            facts.push(StatementFacts {
                id,
                account_no: account_no.to_string(),
                file: s.file.clone(),
                location: s.location.clone(),
                sequence: s.sequence.clone(),
                opening: s.opening,
                closing: s.closing,
                entry_sum: s.entry_sum,
                entry_count: s.entry_count,
                flags: s.flags.clone(),
            });
        }
        let statements_end = end.max(entries.iter().map(|e| e.item.booking_date).max());
        AccountData { entries, records, facts, bank_closing: bank_closing.map(|(d, _, x)| (d, x)), statements_end }
    }
}

/// Puts an account's rows in the order the databases read them (`Store::entries`,
/// `Store::records`): entries by (booking date, entry key), records by (date, voucher,
/// direction).
pub fn in_read_order(data: &mut AccountData) {
    sort_rows(&mut data.entries, |a, b| {
        (a.item.booking_date, &a.item.entry_key).cmp(&(b.item.booking_date, &b.item.entry_key))
    });
    sort_rows(&mut data.records, |a, b| {
        (a.item.date, &a.item.voucher_no, a.direction.as_str()).cmp(&(
            b.item.date,
            &b.item.voucher_no,
            b.direction.as_str(),
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::{ROOM_AFTER, make_room, sort_rows};

    /// Room is reserved once, when an account reaches ROOM_AFTER rows, and only up to
    /// the hint; a smaller account or a hint already passed reserves nothing.
    #[test]
    fn room_is_reserved_once_for_big_accounts_only() {
        let mut v: Vec<u8> = vec![0; ROOM_AFTER - 1];
        make_room(&mut v, 10 * ROOM_AFTER);
        assert!(v.capacity() < 10 * ROOM_AFTER, "not yet big");
        v.push(0);
        make_room(&mut v, 10 * ROOM_AFTER);
        assert!(v.capacity() >= 10 * ROOM_AFTER);
        let mut w: Vec<u8> = vec![0; ROOM_AFTER];
        w.shrink_to_fit();
        make_room(&mut w, ROOM_AFTER / 2);
        assert_eq!(w.capacity(), ROOM_AFTER, "a hint below the rows held reserves nothing");
    }

    /// The in-place permutation gives what a stable sort gives, for every arrangement
    /// of a small set with ties (each row carries its first position to see ties keep
    /// their order), and for long cycles.
    #[test]
    fn sort_rows_is_a_stable_sort() {
        let keys = [3u8, 1, 2, 1, 0, 3, 2, 0];
        for seed in 0..500u64 {
            // A deterministic shuffle of the keys.
            let mut v: Vec<(u8, usize)> = keys.iter().map(|k| (*k, 0)).collect();
            let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            for i in (1..v.len()).rev() {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                v.swap(i, (x >> 33) as usize % (i + 1));
            }
            for (i, r) in v.iter_mut().enumerate() {
                r.1 = i;
            }
            let mut want = v.clone();
            want.sort_by_key(|r| r.0);
            sort_rows(&mut v, |a, b| a.0.cmp(&b.0));
            assert_eq!(v, want, "seed {seed}");
        }
        // One cycle through every position, and the reverse.
        let n = 10_000;
        let mut v: Vec<usize> = (0..n).map(|i| (i + 1) % n).collect();
        sort_rows(&mut v, |a, b| a.cmp(b));
        assert_eq!(v, (0..n).collect::<Vec<_>>());
        let mut v: Vec<usize> = (0..n).rev().collect();
        sort_rows(&mut v, |a, b| a.cmp(b));
        assert_eq!(v, (0..n).collect::<Vec<_>>());
    }
}
