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

use super::{AccountData, StoredEntry, StoredRecord, entry_keys};
use crate::book::BookRecord;
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
    rows: Vec<(u64, StoredEntry)>,
}

/// Book records made ready to store, with their identity hashes.
pub struct PreparedBooks {
    rows: Vec<(u64, String, StoredRecord)>,
}

impl PreparedBooks {
    /// (account, currency) of each record, in file order.
    pub fn accounts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.rows.iter().map(|(_, a, r)| (a.as_str(), r.currency.as_str()))
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
}

#[derive(Default)]
struct Rows {
    entries: Chunks<StoredEntry>,
    /// Positions in `entries`, by entry key.
    entry_keys: HashTable<u32>,
    records: Chunks<StoredRecord>,
    /// Positions in `records`, by (direction, voucher).
    vouchers: HashTable<u32>,
}

/// The rows of one account, in chunks of fixed size. Why not a Vec: a Vec of millions of
/// 250-byte rows was copied into freshly faulted memory at every doubling (a tenth of
/// `reconcile`'s CPU), and sorting it moved each row dozens of times. Here a push never
/// moves what is stored, and [`Chunks::into_sorted_by`] sorts positions, then moves each
/// row once into a Vec of exactly the right size.
struct Chunks<T> {
    chunks: Vec<Vec<Option<T>>>,
    len: usize,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks { chunks: Vec::new(), len: 0 }
    }
}

impl<T> Chunks<T> {
    /// Rows per chunk: a few MiB.
    const ROWS: usize = 1 << 14;

    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, row: T) {
        if self.len.is_multiple_of(Self::ROWS) {
            self.chunks.push(Vec::with_capacity(Self::ROWS));
        }
        // A chunk was pushed above when the last one was full.
        self.chunks.last_mut().expect("a chunk with room").push(Some(row));
        self.len += 1;
    }

    /// Row `i` (< `len`). Rows leave only through `into_sorted_by`, which consumes `self`.
    fn get(&self, i: usize) -> &T {
        self.chunks[i / Self::ROWS][i % Self::ROWS].as_ref().expect("rows leave only when the account is taken")
    }

    fn get_mut(&mut self, i: usize) -> &mut T {
        self.chunks[i / Self::ROWS][i % Self::ROWS].as_mut().expect("rows leave only when the account is taken")
    }

    /// Every row, sorted by `cmp` (ties in storing order).
    fn into_sorted_by(mut self, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) -> Vec<T> {
        let mut order: Vec<u32> = (0..self.len as u32).collect();
        order.sort_unstable_by(|&a, &b| cmp(self.get(a as usize), self.get(b as usize)).then(a.cmp(&b)));
        let mut out = Vec::with_capacity(self.len);
        // A chunk whose rows have all moved is freed at once, for the next allocations
        // (the other accounts' rows, matching) to reuse while this loop goes on.
        let mut left: Vec<usize> = self.chunks.iter().map(Vec::len).collect();
        for i in order {
            let (c, i) = (i as usize / Self::ROWS, i as usize % Self::ROWS);
            // Each position appears once in `order`: every take finds its row.
            out.extend(self.chunks[c][i].take());
            left[c] -= 1;
            if left[c] == 0 {
                self.chunks[c] = Vec::new();
            }
        }
        debug_assert_eq!(out.len(), self.len);
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{0}: more than {MAX_ROWS} rows for one account")]
    TooManyRows(String),
}

fn record_identity(h: &DefaultHashBuilder, r: &StoredRecord) -> u64 {
    h.hash_one((r.direction.as_str(), r.item.voucher_no.as_str()))
}

impl Preparer {
    /// A statement's rows, as the database would store them (keys, amounts as the money
    /// column gives them back).
    pub fn statement(&self, s: Statement) -> PreparedStatement {
        let keys = entry_keys(&s);
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
                        narrative: e.narrative,
                        kind: e.kind,
                    },
                    statement_id: 0,
                    currency: e.amount.currency,
                    value_date: e.value_date,
                    counterparty_name: e.counterparty_name,
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
            rows,
        }
    }

    /// Book records read from `source`, as the database would store them.
    pub fn books(&self, source: &str, records: Vec<BookRecord>) -> PreparedBooks {
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
                        batch_ref: r.batch_ref,
                    },
                    direction: r.direction,
                    currency: r.amount.currency,
                    counterparty_name: r.counterparty_name,
                    purpose: r.purpose,
                    source: source.to_string(),
                    location: r.location,
                };
                (record_identity(&self.hasher, &row), r.account_no, row)
            })
            .collect();
        PreparedBooks { rows }
    }
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
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
    pub fn statement(&mut self, file: &str, s: PreparedStatement, account_no: &str) -> Result<(u64, u64), LedgerError> {
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
            if acct.entry_keys.find(h, |&i| rows.get(i as usize).item.entry_key == row.item.entry_key).is_some() {
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
            acct.entries.push(row);
            let (rows, hasher) = (&acct.entries, &self.hasher);
            acct.entry_keys.insert_unique(h, pos, |&i| hasher.hash_one(rows.get(i as usize).item.entry_key.as_str()));
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
        });
        Ok((new, known))
    }

    /// Stores book records; a voucher seen before takes what this file says (keeping its
    /// id). Returns (new, known) counts.
    pub fn books(&mut self, books: PreparedBooks) -> Result<(u64, u64), LedgerError> {
        let (mut new, mut known) = (0u64, 0u64);
        for (h, account_no, mut row) in books.rows {
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
                    let x = rows.get(i as usize);
                    x.direction == row.direction && x.item.voucher_no == row.item.voucher_no
                })
                .copied();
            match found {
                Some(i) => {
                    let stored = acct.records.get_mut(i as usize);
                    row.item.id = stored.item.id;
                    *stored = row;
                    known += 1;
                }
                None => {
                    if acct.records.len() >= MAX_ROWS {
                        return Err(LedgerError::TooManyRows(account_no));
                    }
                    row.item.id = self.next_record_id;
                    let pos = acct.records.len() as u32;
                    acct.records.push(row);
                    let (rows, hasher) = (&acct.records, &self.hasher);
                    acct.vouchers.insert_unique(h, pos, |&i| record_identity(hasher, rows.get(i as usize)));
                    new += 1;
                }
            }
        }
        Ok((new, known))
    }

    /// Takes an account's rows out of the ledger, in the database's order, with its
    /// statement facts, latest closing balance and the last date its statements cover.
    pub fn take_account(&mut self, account_no: &str) -> AccountData {
        let Rows { entries, records, .. } = self.accounts.remove(account_no).unwrap_or_default();
        let entries = entries.into_sorted_by(|a, b| {
            (a.item.booking_date, &a.item.entry_key).cmp(&(b.item.booking_date, &b.item.entry_key))
        });
        let records = records.into_sorted_by(|a, b| {
            (a.item.date, &a.item.voucher_no, a.direction.as_str()).cmp(&(
                b.item.date,
                &b.item.voucher_no,
                b.direction.as_str(),
            ))
        });
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
        let statements_end = end.max(entries.last().map(|e| e.item.booking_date));
        AccountData { entries, records, facts, bank_closing: bank_closing.map(|(d, _, x)| (d, x)), statements_end }
    }
}
