//! Storage. SQLite (embedded default) and PostgreSQL (production, shared by workers)
//! behind one [`Store`]: the same runtime SQL text (`$1..$n` works on both) runs on either
//! pool, written once through the [`on_pool!`] macro, which type-checks each body for both
//! backends. Dialect-specific statements go in explicit `match` arms.
//!
//! Money is bound and read through [`DbMoney`] (TEXT on SQLite, NUMERIC on PostgreSQL);
//! dates as chrono types (TEXT / DATE). Every multi-row write is one transaction.

pub mod memory;
mod money_col;
pub mod redelivery;

pub use money_col::DbMoney;
pub use review::{CurrentMatch, OpenItem};

use crate::book::{BookRecord, Direction};
use crate::discrepancy::{Discrepancy, Kind};
use crate::matching::{BankItem, BookItem, Match, RULESET};
use crate::statement::{EntryKind, Statement};
use crate::validate::StatementFacts;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database holds bad data: {0}")]
    Data(String),
    /// Input the store's rules refuse (a negating book record whose voucher is not in the
    /// books); the message names the file and line.
    #[error("{0}")]
    Refused(String),
}

/// A book file as delivered: its hash, its name for messages, and whether it holds the
/// source's full books (every voucher not in it leaves the books) or only what is new.
#[derive(Clone, Debug)]
pub struct BookDelivery<'a> {
    pub sha256: &'a str,
    pub file: &'a str,
    pub full: bool,
}

/// A voucher that left the books with a delivery: which, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub account_no: String,
    pub direction: Direction,
    pub voucher_no: String,
    pub why: String,
}

impl std::fmt::Display for Withdrawal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = match self.direction {
            Direction::Disbursement => "拨付",
            Direction::Receipt => "收款",
        };
        write!(f, "{} {dir} {}: {}", self.account_no, self.voucher_no, self.why)
    }
}

/// Why a row of `file` withdraws a voucher (stored in `book_records.withdrawn`).
pub fn void_reason(r: &BookRecord, file: &str) -> Option<String> {
    match r.void.as_ref()? {
        crate::book::Void::Voided => Some(format!("作废 (voided by {file} {})", r.location)),
        crate::book::Void::Negates(v) => Some(format!("红字冲销 of voucher {v} ({file} {})", r.location)),
    }
}

enum Pool {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// Runs `$body` with `$p` bound to whichever pool this store has. The body is compiled
/// once per backend, so a query that does not suit one of them fails to build.
macro_rules! on_pool {
    ($self:expr, $p:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($p) => $body,
            Pool::Pg($p) => $body,
        }
    };
}

// After the macro: the child modules use it.
mod review;

pub struct Store {
    pool: Pool,
}

/// Both migration folders, embedded. Versions and descriptions must be identical in both
/// (a unit test checks it).
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, "agreements", include_str!("../../migrations/sqlite/0002_agreements.sql")),
    (3, "review", include_str!("../../migrations/sqlite/0003_review.sql")),
    (4, "queue", include_str!("../../migrations/sqlite/0004_queue.sql")),
    (5, "entry_sum", include_str!("../../migrations/sqlite/0005_entry_sum.sql")),
    (6, "entry_items", include_str!("../../migrations/sqlite/0006_entry_items.sql")),
    (7, "rerun_by", include_str!("../../migrations/sqlite/0007_rerun_by.sql")),
    (8, "statement_fingerprint", include_str!("../../migrations/sqlite/0008_statement_fingerprint.sql")),
    (9, "book_withdrawn", include_str!("../../migrations/sqlite/0009_book_withdrawn.sql")),
];
const PG_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "agreements", include_str!("../../migrations/postgres/0002_agreements.sql")),
    (3, "review", include_str!("../../migrations/postgres/0003_review.sql")),
    (4, "queue", include_str!("../../migrations/postgres/0004_queue.sql")),
    (5, "entry_sum", include_str!("../../migrations/postgres/0005_entry_sum.sql")),
    (6, "entry_items", include_str!("../../migrations/postgres/0006_entry_items.sql")),
    (7, "rerun_by", include_str!("../../migrations/postgres/0007_rerun_by.sql")),
    (8, "statement_fingerprint", include_str!("../../migrations/postgres/0008_statement_fingerprint.sql")),
    (9, "book_withdrawn", include_str!("../../migrations/postgres/0009_book_withdrawn.sql")),
];

fn migrator(list: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    use sqlx::SqlSafeStr;
    Migrator::with_migrations(
        list.iter()
            .map(|(v, d, sql)| Migration::new(*v, (*d).into(), MigrationType::Simple, sql.into_sql_str(), false))
            .collect(),
    )
}

/// A batch row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRow {
    pub id: i64,
    pub channel: String,
    pub bank: String,
    pub business_date: NaiveDate,
    pub state: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
}

/// A file of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFile {
    pub sha256: String,
    pub name: String,
    pub imported: bool,
    /// Never imported, and a later delivery under the same name replaced it.
    pub superseded: bool,
}

/// A statement of a batch's business date ([`Store::statements_of_date`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DatedStatement {
    /// The file as first delivered (`<zip>!<member>` for a zip's member).
    pub file: String,
    pub sha256: String,
    pub account_no: String,
    pub statement_id: Option<String>,
    pub sequence: Option<String>,
    pub location: String,
    pub closing_date: Option<NaiveDate>,
    /// The batch that pulled the file (`None` for a zip's member: its zip was pulled).
    pub pulled_by: Option<i64>,
}

/// A stored statement entry with its ids.
#[derive(Clone, Debug)]
pub struct StoredEntry {
    pub item: BankItem,
    pub statement_id: i64,
    /// Inline (`Copy`): a String here was an allocation per row, millions in `reconcile`.
    pub currency: crate::money::Currency,
    pub value_date: Option<NaiveDate>,
    /// The items of a batch entry (代发: each payee's amount and end-to-end id), if the bank
    /// gave them.
    pub batch: Option<crate::statement::BatchDetails>,
    pub location: String,
}

impl AsRef<BankItem> for StoredEntry {
    fn as_ref(&self) -> &BankItem {
        &self.item
    }
}

impl AsRef<BookItem> for StoredRecord {
    fn as_ref(&self) -> &BookItem {
        &self.item
    }
}

#[derive(Clone, Debug)]
pub struct StoredRecord {
    pub item: BookItem,
    pub direction: Direction,
    pub currency: crate::money::Currency,
    pub source: String,
    pub location: String,
}

/// Everything matching an account needs from what was imported: its entries and records
/// (in the order [`Store::entries`] and [`Store::records`] give), its statements' facts,
/// the latest closing balance and the last date its statements cover.
pub struct AccountData {
    pub entries: Vec<StoredEntry>,
    pub records: Vec<StoredRecord>,
    pub facts: Vec<StatementFacts>,
    pub bank_closing: Option<(NaiveDate, Decimal)>,
    pub statements_end: Option<NaiveDate>,
}

impl AccountData {
    /// The account as of business date `d`: entries booked on or before `d`, book records
    /// dated on or before `d`, the statements closing on or before `d` (a statement without
    /// a closing balance by its opening date), the latest closing balance among those (by
    /// closing date, then id, as [`Store::closing_balance`]) and the end they cover.
    /// `None` when nothing stored lies after `d` (the data is already as of `d`).
    pub fn as_of(&self, d: NaiveDate) -> Option<AccountData> {
        let fact_date = |f: &StatementFacts| f.closing.or(f.opening).map(|x| x.0);
        let later = self.entries.iter().any(|e| e.item.booking_date > d)
            || self.records.iter().any(|r| r.item.date > d)
            || self.facts.iter().any(|f| fact_date(f).is_some_and(|x| x > d));
        if !later {
            return None;
        }
        let entries: Vec<StoredEntry> = self.entries.iter().filter(|e| e.item.booking_date <= d).cloned().collect();
        let records = self.records.iter().filter(|r| r.item.date <= d).cloned().collect();
        let facts: Vec<StatementFacts> =
            self.facts.iter().filter(|f| fact_date(f).is_none_or(|x| x <= d)).cloned().collect();
        let bank_closing = facts.iter().filter_map(|f| f.closing.map(|c| (c, f.id))).max_by_key(|(c, id)| (c.0, *id));
        let statements_end = facts
            .iter()
            .filter_map(|f| f.closing.map(|c| c.0))
            .max()
            .max(entries.iter().map(|e| e.item.booking_date).max());
        Some(AccountData { entries, records, facts, bank_closing: bank_closing.map(|(c, _)| c), statements_end })
    }
}

/// What one file's import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub statements: u64,
    pub entries_new: u64,
    /// Entries already stored from another file (overlapping delivery).
    pub entries_known: u64,
    /// True when the file had been imported before and nothing was done.
    pub already_imported: bool,
    /// Statements of the file stored before from other bytes (same content): counted once,
    /// one line each naming both files ([`redelivery`]).
    pub redelivered: Vec<String>,
    /// Statements sent again with other content: stored, flagged, one line each.
    pub changed: Vec<String>,
}

/// The entry key: the bank reference (or, lacking one, date|amount|customer ref) plus the
/// occurrence of that base within its statement. Identical payments stay distinct.
pub fn entry_keys(stmt: &Statement) -> Vec<String> {
    use std::borrow::Cow;
    use std::fmt::Write;
    // Bases borrowed from the entries where they can be (the bank reference): one
    // allocation per key, not three.
    let mut seen: HashMap<Cow<'_, str>, u32> = HashMap::with_capacity(stmt.entries.len());
    stmt.entries
        .iter()
        .map(|e| {
            let base: Cow<'_, str> = match e.bank_ref.as_deref().map(str::trim) {
                Some(r) if !r.is_empty() && r != "NONREF" && r != "NOTPROVIDED" => Cow::Borrowed(r),
                _ => Cow::Owned(format!(
                    "{}|{}|{}",
                    e.booking_date,
                    crate::money::canonical(e.amount.amount),
                    e.customer_ref.as_deref().unwrap_or("")
                )),
            };
            let mut key = String::with_capacity(base.len() + 4);
            key.push_str(&base);
            let n = seen.entry(base).or_insert(0);
            *n += 1;
            let _ = write!(key, "#{n}");
            key
        })
        .collect()
}

/// Columns of `entries` that [`entry_from_row`] reads.
const ENTRY_COLUMNS: &str = "id, statement_id, entry_key, booking_date, value_date, amount, currency, bank_ref, customer_ref, end_to_end_id, \
     counterparty_account, counterparty_name, narrative, kind, items, location";
/// Columns of `book_records` that [`record_from_row`] reads.
const RECORD_COLUMNS: &str = "id, voucher_no, direction, book_date, amount, currency, counterparty_account, counterparty_name, purpose, batch_ref, source, location";
/// Keys bound in one `IN (…)` list (SQLite allows 32,766 parameters; PostgreSQL 65,535).
const KEYS_PER_QUERY: usize = 500;

fn entry_from_row<R: Row>(r: &R) -> Result<StoredEntry>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'q> i64: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> String: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> NaiveDate: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> DbMoney: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
{
    let kind: String = r.try_get("kind")?;
    Ok(StoredEntry {
        item: BankItem {
            id: r.try_get("id")?,
            entry_key: r.try_get("entry_key")?,
            booking_date: r.try_get("booking_date")?,
            amount: r.try_get::<DbMoney, _>("amount")?.0,
            bank_ref: r.try_get("bank_ref")?,
            customer_ref: r.try_get("customer_ref")?,
            end_to_end_id: r.try_get("end_to_end_id")?,
            counterparty_account: r.try_get("counterparty_account")?,
            counterparty_name: r.try_get("counterparty_name")?,
            narrative: r.try_get("narrative")?,
            kind: EntryKind::parse(&kind).ok_or_else(|| StoreError::Data(format!("entry kind {kind:?}")))?,
        },
        statement_id: r.try_get("statement_id")?,
        currency: currency_of(r)?,
        value_date: r.try_get("value_date")?,
        batch: items_from_json(r.try_get::<Option<String>, _>("items")?.as_deref())?,
        location: r.try_get("location")?,
    })
}

/// A batch entry's items as stored in `entries.items`: short keys, amounts as canonical
/// decimal text (never a float).
#[derive(serde::Serialize, serde::Deserialize)]
struct ItemsJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total: Option<String>,
    items: Vec<ItemJson>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ItemJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e2e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// `entries.items` of a batch entry (`None`: no batch).
pub(crate) fn items_to_json(b: Option<&crate::statement::BatchDetails>) -> Option<String> {
    let b = b?;
    let j = ItemsJson {
        count: b.count,
        total: b.total.map(crate::money::canonical),
        items: b
            .items
            .iter()
            .map(|i| ItemJson {
                amount: i.amount.map(crate::money::canonical),
                e2e: i.end_to_end_id.clone(),
                account: i.counterparty_account.clone(),
                name: i.counterparty_name.clone(),
                text: i.narrative.clone(),
            })
            .collect(),
    };
    serde_json::to_string(&j).ok()
}

fn items_from_json(s: Option<&str>) -> Result<Option<crate::statement::BatchDetails>> {
    let Some(s) = s else { return Ok(None) };
    let j: ItemsJson = serde_json::from_str(s).map_err(|e| StoreError::Data(format!("entries.items: {e}")))?;
    let dec = |x: Option<String>| -> Result<Option<Decimal>> {
        x.map(|t| t.parse::<Decimal>().map_err(|e| StoreError::Data(format!("entries.items amount {t:?}: {e}"))))
            .transpose()
    };
    Ok(Some(crate::statement::BatchDetails {
        count: j.count,
        total: dec(j.total)?,
        items: j
            .items
            .into_iter()
            .map(|i| {
                Ok(crate::statement::BatchItem {
                    amount: dec(i.amount)?,
                    end_to_end_id: i.e2e,
                    counterparty_account: i.account,
                    counterparty_name: i.name,
                    narrative: i.text,
                })
            })
            .collect::<Result<Vec<_>>>()?,
    }))
}

/// The row's `currency` column (written from a [`Currency`], so always three letters).
fn currency_of<R: Row>(r: &R) -> Result<crate::money::Currency>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'q> String: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
{
    let c: String = r.try_get("currency")?;
    crate::money::Currency::parse(&c).ok_or_else(|| StoreError::Data(format!("currency {c:?}")))
}

fn record_from_row<R: Row>(r: &R) -> Result<StoredRecord>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'q> i64: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> String: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> NaiveDate: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> DbMoney: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
{
    let dir: String = r.try_get("direction")?;
    Ok(StoredRecord {
        item: BookItem {
            id: r.try_get("id")?,
            voucher_no: r.try_get("voucher_no")?,
            date: r.try_get("book_date")?,
            amount: r.try_get::<DbMoney, _>("amount")?.0,
            counterparty_account: r.try_get("counterparty_account")?,
            counterparty_name: r.try_get("counterparty_name")?,
            purpose: r.try_get("purpose")?,
            batch_ref: r.try_get("batch_ref")?,
        },
        direction: Direction::parse(&dir).ok_or_else(|| StoreError::Data(format!("direction {dir:?}")))?,
        currency: currency_of(r)?,
        source: r.try_get("source")?,
        location: r.try_get("location")?,
    })
}

fn now() -> DateTime<Utc> {
    // Stored with microsecond precision on both backends; truncate so reads compare equal.
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// An exclusive `flock` on `<db>.lock` (released when the file closes, also by a process
/// that dies). `None` for an in-memory database or when the lock file cannot be made
/// (then migrations run unguarded, as before).
async fn migration_lock(db: &std::path::Path) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    if db.as_os_str().is_empty() || db.as_os_str() == ":memory:" {
        return None;
    }
    let mut name = db.as_os_str().to_os_string();
    name.push(".lock");
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(name).ok()?;
    tokio::task::spawn_blocking(move || {
        // SAFETY: flock on a descriptor this closure owns.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        (r == 0).then_some(f)
    })
    .await
    .ok()
    .flatten()
}

/// SQLite's one-`run` lock: held by `run` and `rerun` while they work (workers lease
/// batches instead); released by the OS when the file closes, also by a process that died.
pub struct RunLock {
    _file: std::fs::File,
}

/// Takes the run lock of the SQLite database at `url` (`<db>.run.lock`, an exclusive
/// `flock` that names its holder inside): `Ok(None)` for PostgreSQL or an in-memory
/// database, `Err(holder)` when another process holds it ("pid N on host H, since T").
pub fn run_lock(url: &str, host: &str) -> std::result::Result<Option<RunLock>, String> {
    use std::io::{Read, Seek, Write};
    use std::os::fd::AsRawFd;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(None);
    }
    let Ok(opts) = SqliteConnectOptions::from_str(url) else { return Ok(None) };
    let db = opts.get_filename();
    if db.as_os_str().is_empty() || db.as_os_str() == ":memory:" {
        return Ok(None);
    }
    let mut name = db.as_os_str().to_os_string();
    name.push(".run.lock");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&name)
        .map_err(|e| format!("{}: {e}", std::path::Path::new(&name).display()))?;
    // SAFETY: flock on a descriptor owned by `f`.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        // The holder writes its line just after it took the lock: give it a moment.
        let mut holder = String::new();
        for _ in 0..20 {
            holder.clear();
            let _ = f.rewind();
            let _ = (&f).take(200).read_to_string(&mut holder);
            if !holder.trim().is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let holder = holder.trim();
        return Err(if holder.is_empty() { "another process".into() } else { holder.to_string() });
    }
    let _ = f.set_len(0).and_then(|_| f.rewind()).and_then(|_| {
        write!(f, "pid {} on host {host}, since {}", std::process::id(), Utc::now().format("%Y-%m-%d %H:%M:%S UTC"))
    });
    Ok(Some(RunLock { _file: f }))
}

impl Store {
    /// Opens (creating an SQLite file if needed) and migrates.
    pub async fn open(url: &str) -> Result<Store> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await?;
            migrator(PG_MIGRATIONS).run(&pool).await?;
            Pool::Pg(pool)
        } else {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            // Two processes opening a new database at once would both create its tables
            // (SQLite has no migration lock): they take turns on a lock file beside it.
            let file = opts.get_filename().to_path_buf();
            let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
            let guard = migration_lock(&file).await;
            migrator(SQLITE_MIGRATIONS).run(&pool).await?;
            drop(guard);
            Pool::Sqlite(pool)
        };
        Ok(Store { pool })
    }

    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Pg(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    // ---- raw files -------------------------------------------------------------------

    /// Records an archived file; returns true if it was not known before.
    pub async fn record_raw_file(&self, sha: &str, size: u64, name: &str, channel: &str) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "INSERT INTO raw_files (sha256, size, first_name, channel, archived_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(sha)
        .bind(size as i64)
        .bind(name)
        .bind(channel)
        .bind(now())
        .execute(p)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    pub async fn is_imported(&self, sha: &str) -> Result<bool> {
        let row = on_pool!(self, p => sqlx::query("SELECT imported_at IS NOT NULL AS done FROM raw_files WHERE sha256 = $1")
            .bind(sha)
            .fetch_optional(p)
            .await?
            .map(|r| r.try_get::<bool, _>("done"))
            .transpose()?);
        Ok(row.unwrap_or(false))
    }

    /// Imports one file's statements in one transaction: all statements and entries, and
    /// the file's `imported_at`, or nothing. `accounts[i]` is the configured account of
    /// `stmts[i]`. A file already imported is left alone.
    pub async fn import_statements(
        &self,
        sha: &str,
        format: &str,
        stmts: &[Statement],
        accounts: &[String],
    ) -> Result<ImportStats> {
        assert_eq!(stmts.len(), accounts.len(), "one account per statement");
        let Some(mut tx) = self.begin_import(sha).await? else {
            return Ok(ImportStats { already_imported: true, ..Default::default() });
        };
        for (s, a) in stmts.iter().zip(accounts) {
            tx.statement(s, a).await?;
        }
        tx.commit(format).await
    }

    /// Starts the one transaction that imports a file, for statements that arrive one at a
    /// time (streamed parsing). `None`: the file was imported before. Dropping the returned
    /// [`ImportTx`] without `commit` rolls everything back.
    pub async fn begin_import(&self, sha: &str) -> Result<Option<ImportTx>> {
        let mut tx = match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Pg(p) => Tx::Pg(p.begin().await?),
        };
        let done: Option<bool> = on_tx!(tx, t => sqlx::query("SELECT imported_at IS NOT NULL AS done FROM raw_files WHERE sha256 = $1")
            .bind(sha)
            .fetch_optional(&mut **t)
            .await?
            .map(|r| r.try_get("done"))
            .transpose()?);
        match done {
            None => Err(StoreError::Data(format!("file {sha} imported before it was recorded as archived"))),
            Some(true) => Ok(None),
            Some(false) => Ok(Some(ImportTx { tx, sha: sha.to_string(), seq: 0, stats: ImportStats::default() })),
        }
    }

    /// Imports book records of one source in one transaction. A voucher seen before is
    /// updated to what the books say now (the book export is the current truth).
    /// Returns (new, updated-or-unchanged). An incremental delivery with no hash: see
    /// [`Store::import_book_delivery`].
    pub async fn import_books(&self, source: &str, records: &[BookRecord]) -> Result<(u64, u64)> {
        let d = BookDelivery { sha256: "", file: source, full: false };
        let (new, known, _) = self.import_book_delivery(source, records, &d).await?;
        Ok((new, known))
    }

    /// [`Store::import_books`] with what leaves the books, in the same transaction: rows
    /// that void their voucher (作废), negating records and the vouchers they cancel, and,
    /// for a full delivery, every live voucher of the source that the delivery does not
    /// hold. Returns (new, known, the vouchers that were in the books and left them now).
    pub async fn import_book_delivery(
        &self,
        source: &str,
        records: &[BookRecord],
        delivery: &BookDelivery<'_>,
    ) -> Result<(u64, u64, Vec<Withdrawal>)> {
        // Many rows per statement (one round trip per chunk, not two per record). A chunk
        // holds one account and direction and no voucher twice (a multi-row upsert may
        // not touch a row twice), so "new" is the chunk less the vouchers already stored,
        // counted first; a voucher repeated in the file counts as known, as before.
        let mut chunks: Vec<&[BookRecord]> = Vec::new();
        let mut start = 0;
        let mut seen: HashSet<&str> = HashSet::new();
        for (i, r) in records.iter().enumerate() {
            let first = &records[start];
            if i > start
                && (i - start == BOOK_ROWS_PER_INSERT
                    || r.account_no != first.account_no
                    || r.direction != first.direction
                    || seen.contains(r.voucher_no.as_str()))
            {
                chunks.push(&records[start..i]);
                start = i;
                seen.clear();
            }
            seen.insert(&r.voucher_no);
        }
        if start < records.len() {
            chunks.push(&records[start..]);
        }
        let sqlite = self.backend() == "sqlite";
        // Where each date range of a full export begins and ends: its period. A full
        // export withdraws what it does not hold within its period only, so a monthly
        // export does not empty the months before it.
        let period = (records.iter().map(|r| r.date).min(), records.iter().map(|r| r.date).max());
        // What each void row withdraws: its own voucher (作废), or the voucher a negating
        // record names, in whichever direction the books hold it (a 红字 is written with
        // either sign, depending on the export's style).
        let targets = |r: &BookRecord| -> Option<(String, Option<&'static str>, String)> {
            match r.void.as_ref()? {
                crate::book::Void::Voided => {
                    Some((r.account_no.clone(), Some(r.direction.as_str()), r.voucher_no.clone()))
                }
                crate::book::Void::Negates(t) => Some((r.account_no.clone(), None, t.clone())),
            }
        };
        let find_sql = "SELECT direction, amount, withdrawn FROM book_records WHERE account_no = $1 AND voucher_no = $2 AND ($3 IS NULL OR direction = $3) ORDER BY direction";
        let state_sql =
            "SELECT withdrawn FROM book_records WHERE account_no = $1 AND direction = $2 AND voucher_no = $3";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            // What the void rows withdraw was live before? A withdrawal is reported once,
            // when a voucher that was in the books leaves them.
            let mut live_before: HashSet<(String, String, String)> = HashSet::new();
            for (account, dir, voucher) in records.iter().filter_map(targets) {
                for row in sqlx::query(find_sql).bind(&account).bind(voucher.as_str()).bind(dir).fetch_all(&mut *tx).await? {
                    if row.try_get::<Option<String>, _>("withdrawn")?.is_none() {
                        live_before.insert((account.clone(), row.try_get("direction")?, voucher.clone()));
                    }
                }
            }
            if delivery.full && records.is_empty() {
                let live: i64 = sqlx::query("SELECT COUNT(*) AS n FROM book_records WHERE source = $1 AND withdrawn IS NULL")
                    .bind(source).fetch_one(&mut *tx).await?.try_get("n")?;
                if live > 0 {
                    return Err(StoreError::Refused(format!(
                        "{}: a full export with no records would withdraw every voucher of book source {source} ({live} in the books); refused (an empty or cut export?)",
                        delivery.file
                    )));
                }
            }
            let (mut new, mut known) = (0u64, 0u64);
            // Vouchers of this delivery that had left the books: back in them if live now.
            let mut were_withdrawn: Vec<(String, String, String)> = Vec::new();
            for chunk in &chunks {
                // Built from counts only, never from data: every value is bound.
                let count_sql = format!(
                    "SELECT voucher_no, withdrawn FROM book_records WHERE account_no = {} AND direction = {} AND voucher_no IN ({})",
                    placeholder(sqlite, 1),
                    placeholder(sqlite, 2),
                    (0..chunk.len()).map(|k| placeholder(sqlite, k + 3)).collect::<Vec<_>>().join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(count_sql)).bind(&chunk[0].account_no).bind(chunk[0].direction.as_str());
                for r in chunk.iter() {
                    q = q.bind(&r.voucher_no);
                }
                let stored = q.fetch_all(&mut *tx).await?;
                for row in &stored {
                    if row.try_get::<Option<String>, _>("withdrawn")?.is_some() {
                        were_withdrawn.push((chunk[0].account_no.clone(), chunk[0].direction.as_str().to_string(), row.try_get("voucher_no")?));
                    }
                }
                let existing = (stored.len() as u64).min(chunk.len() as u64);
                let mut q = sqlx::query(sqlx::AssertSqlSafe(books_upsert_sql(sqlite, chunk.len())));
                for r in chunk.iter() {
                    let negates = match &r.void {
                        Some(crate::book::Void::Negates(t)) => Some(t.as_str()),
                        _ => None,
                    };
                    q = q
                        .bind(&r.voucher_no)
                        .bind(&r.account_no)
                        .bind(r.direction.as_str())
                        .bind(r.date)
                        .bind(DbMoney(r.amount.amount))
                        .bind(r.amount.currency.as_str())
                        .bind(&r.counterparty_account)
                        .bind(&r.counterparty_name)
                        .bind(&r.purpose)
                        .bind(&r.batch_ref)
                        .bind(source)
                        .bind(&r.location)
                        .bind(void_reason(r, delivery.file))
                        .bind(delivery.sha256)
                        .bind(negates);
                }
                q.execute(&mut *tx).await?;
                known += existing;
                new += chunk.len() as u64 - existing;
            }
            // Negating records cancel the voucher they name (same account, either direction:
            // exports write a 红字 with the voucher's sign or the opposite one), which must
            // be in the books, once, with the same amount.
            for r in records {
                let Some(crate::book::Void::Negates(target)) = &r.void else { continue };
                let found = sqlx::query(find_sql)
                    .bind(&r.account_no).bind(target).bind(None::<&str>)
                    .fetch_all(&mut *tx).await?;
                let row = match found.as_slice() {
                    [row] => row,
                    [] => {
                        return Err(StoreError::Refused(format!(
                            "{}: {}: field voids: voucher {target:?} is not in the books of account {}, so {} cannot cancel it",
                            delivery.file, r.location, r.account_no, r.voucher_no
                        )));
                    }
                    _ => {
                        return Err(StoreError::Refused(format!(
                            "{}: {}: field voids: voucher {target:?} of account {} is both a disbursement and a receipt; a negating record cannot tell which it cancels",
                            delivery.file, r.location, r.account_no
                        )));
                    }
                };
                let amount = row.try_get::<DbMoney, _>("amount")?.0;
                if amount.abs() != r.amount.amount.abs() {
                    return Err(StoreError::Refused(format!(
                        "{}: {}: field amount: {} cancels voucher {target} of {}: a negating record cancels the whole voucher; a partial correction is a voucher of its own",
                        delivery.file, r.location, crate::money::canonical(r.amount.amount.abs()), crate::money::canonical(amount.abs())
                    )));
                }
                let dir: String = row.try_get("direction")?;
                sqlx::query("UPDATE book_records SET withdrawn = $1 WHERE account_no = $2 AND direction = $3 AND voucher_no = $4")
                    .bind(format!("红字冲销 by voucher {} ({} {})", r.voucher_no, delivery.file, r.location))
                    .bind(&r.account_no).bind(&dir).bind(target)
                    .execute(&mut *tx).await?;
            }
            // A voucher this delivery brought back stays out while a stored negating
            // record names it (the 红字 came in another delivery or source).
            sqlx::query(
                "UPDATE book_records SET withdrawn = (SELECT '红字冲销 by voucher ' || n.voucher_no FROM book_records n \
                 WHERE n.account_no = book_records.account_no AND n.negates = book_records.voucher_no \
                 ORDER BY n.voucher_no LIMIT 1) \
                 WHERE delivery = $1 AND withdrawn IS NULL AND EXISTS (SELECT 1 FROM book_records n \
                 WHERE n.account_no = book_records.account_no AND n.negates = book_records.voucher_no)",
            )
            .bind(delivery.sha256)
            .execute(&mut *tx)
            .await?;
            let mut withdrawn = Vec::new();
            let direction = |d: &str| Direction::parse(d).ok_or_else(|| StoreError::Data(format!("direction {d:?}")));
            if delivery.full && let (Some(from), Some(to)) = period {
                // A full export is the source's books for its period: a live voucher of
                // that period it does not hold has left them.
                let why = format!(
                    "not in the full export {} of {from}..{to} (sha256 {})",
                    delivery.file,
                    &delivery.sha256[..delivery.sha256.len().min(12)]
                );
                let scope = "source = $1 AND withdrawn IS NULL AND (delivery IS NULL OR delivery <> $2) AND book_date >= $3 AND book_date <= $4";
                for r in sqlx::query(sqlx::AssertSqlSafe(format!("SELECT account_no, direction, voucher_no FROM book_records WHERE {scope}")))
                    .bind(source).bind(delivery.sha256).bind(from).bind(to)
                    .fetch_all(&mut *tx).await?
                {
                    let d: String = r.try_get("direction")?;
                    withdrawn.push(Withdrawal { account_no: r.try_get("account_no")?, direction: direction(&d)?, voucher_no: r.try_get("voucher_no")?, why: why.clone() });
                }
                sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE book_records SET withdrawn = $5 WHERE {scope}")))
                    .bind(source).bind(delivery.sha256).bind(from).bind(to).bind(&why)
                    .execute(&mut *tx).await?;
            }
            for k in live_before {
                let row = sqlx::query(state_sql).bind(&k.0).bind(&k.1).bind(&k.2).fetch_optional(&mut *tx).await?;
                if let Some(why) = row.map(|r| r.try_get::<Option<String>, _>("withdrawn")).transpose()?.flatten() {
                    withdrawn.push(Withdrawal { account_no: k.0, direction: direction(&k.1)?, voucher_no: k.2, why });
                }
            }
            for k in were_withdrawn {
                let row = sqlx::query(state_sql).bind(&k.0).bind(&k.1).bind(&k.2).fetch_optional(&mut *tx).await?;
                if row.map(|r| r.try_get::<Option<String>, _>("withdrawn")).transpose()?.flatten().is_none() {
                    let why = format!("back in the books: delivered again in {}", delivery.file);
                    withdrawn.push(Withdrawal { account_no: k.0, direction: direction(&k.1)?, voucher_no: k.2, why });
                }
            }
            withdrawn.sort_by(|a, b| (&a.account_no, a.direction, &a.voucher_no).cmp(&(&b.account_no, b.direction, &b.voucher_no)));
            tx.commit().await?;
            Ok((new, known, withdrawn))
        })
    }

    // ---- reading for matching and reports ---------------------------------------------

    pub async fn entries(&self, account_no: &str) -> Result<Vec<StoredEntry>> {
        let rows = on_pool!(self, p => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {ENTRY_COLUMNS} FROM entries WHERE account_no = $1 ORDER BY booking_date, entry_key"
            )))
            .bind(account_no)
            .fetch_all(p)
            .await?;
            rows.iter().map(entry_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// What matching an account reads, in one call (see [`AccountData`]).
    pub async fn account_data(&self, account_no: &str) -> Result<AccountData> {
        Ok(AccountData {
            entries: self.entries(account_no).await?,
            records: self.records(account_no).await?,
            facts: self.statement_facts(account_no).await?,
            bank_closing: self.closing_balance(account_no).await?,
            statements_end: self.statements_end(account_no).await?,
        })
    }

    pub async fn records(&self, account_no: &str) -> Result<Vec<StoredRecord>> {
        let rows = on_pool!(self, p => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {RECORD_COLUMNS} FROM book_records WHERE account_no = $1 AND withdrawn IS NULL ORDER BY book_date, voucher_no, direction"
            )))
            .bind(account_no)
            .fetch_all(p)
            .await?;
            rows.iter().map(record_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// The vouchers of an account that left the books (作废, 红字冲销, missing from a full
    /// export), with why, newest book date first; at most `limit`. Negating records are
    /// not listed: they were never money in the books.
    pub async fn withdrawn_records(&self, account_no: &str, limit: usize) -> Result<Vec<Withdrawal>> {
        on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT direction, voucher_no, withdrawn FROM book_records WHERE account_no = $1 AND withdrawn IS NOT NULL AND negates IS NULL \
                 ORDER BY book_date DESC, voucher_no, direction LIMIT $2",
            )
            .bind(account_no)
            .bind(limit as i64)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    let d: String = r.try_get("direction")?;
                    Ok(Withdrawal {
                        account_no: account_no.to_string(),
                        direction: Direction::parse(&d).ok_or_else(|| StoreError::Data(format!("direction {d:?}")))?,
                        voucher_no: r.try_get("voucher_no")?,
                        why: r.try_get("withdrawn")?,
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
    }

    /// The entries of an account with these entry keys (any order; unknown keys are
    /// left out), for pages that show a few items of a big account.
    pub async fn entries_by_keys(&self, account_no: &str, keys: &[String]) -> Result<Vec<StoredEntry>> {
        let select = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE account_no = ? AND entry_key IN");
        self.by_keys(&select, "ORDER BY booking_date, entry_key", account_no, keys, entry_from_row, entry_from_row)
            .await
    }

    /// The book records of an account with these record keys (`direction:voucher`).
    pub async fn records_by_keys(&self, account_no: &str, keys: &[String]) -> Result<Vec<StoredRecord>> {
        let select = format!(
            "SELECT {RECORD_COLUMNS} FROM book_records WHERE account_no = ? AND (direction || ':' || voucher_no) IN"
        );
        self.by_keys(
            &select,
            "ORDER BY book_date, voucher_no, direction",
            account_no,
            keys,
            record_from_row,
            record_from_row,
        )
        .await
    }

    /// `select` (its one `?` is the account) `(key, …) order`, [`KEYS_PER_QUERY`] keys a
    /// query, rows mapped per backend.
    async fn by_keys<T>(
        &self,
        select: &str,
        order: &str,
        account_no: &str,
        keys: &[String],
        sqlite_row: fn(&sqlx::sqlite::SqliteRow) -> Result<T>,
        pg_row: fn(&sqlx::postgres::PgRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let sqlite = self.backend() == "sqlite";
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let list = (0..chunk.len()).map(|i| placeholder(sqlite, i + 2)).collect::<Vec<_>>().join(", ");
            let sql = format!("{} ({list}) {order}", select.replacen('?', &placeholder(sqlite, 1), 1));
            match &self.pool {
                Pool::Sqlite(p) => {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_no);
                    for k in chunk {
                        q = q.bind(k);
                    }
                    for r in q.fetch_all(p).await? {
                        out.push(sqlite_row(&r)?);
                    }
                }
                Pool::Pg(p) => {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_no);
                    for k in chunk {
                        q = q.bind(k);
                    }
                    for r in q.fetch_all(p).await? {
                        out.push(pg_row(&r)?);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Statement balances and entry sums for validation; the sum counts the entries as the
    /// statement delivered them, including ones already known from an overlapping file
    /// (`statements.entry_sum`, stored at import; rows from before that column was added
    /// fall back to the sum of the entries the statement stored).
    pub async fn statement_facts(&self, account_no: &str) -> Result<Vec<StatementFacts>> {
        on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT s.id, s.sequence, s.location, s.flags, s.opening_date, s.opening, s.closing_date, s.closing, s.entry_count, s.entry_sum, f.first_name \
                 FROM statements s JOIN raw_files f ON f.sha256 = s.sha256 WHERE s.account_no = $1 ORDER BY s.id",
            )
            .bind(account_no)
            .fetch_all(p)
            .await?;
            let sums = sqlx::query("SELECT statement_id, amount FROM entries WHERE account_no = $1")
                .bind(account_no)
                .fetch_all(p)
                .await?;
            let mut sum_by: HashMap<i64, Decimal> = HashMap::new();
            for r in sums {
                *sum_by.entry(r.try_get("statement_id")?).or_default() += r.try_get::<DbMoney, _>("amount")?.0;
            }
            let mut v = Vec::with_capacity(rows.len());
            for r in rows {
                let id: i64 = r.try_get("id")?;
                let od: Option<NaiveDate> = r.try_get("opening_date")?;
                let oa: Option<DbMoney> = r.try_get("opening")?;
                let cd: Option<NaiveDate> = r.try_get("closing_date")?;
                let ca: Option<DbMoney> = r.try_get("closing")?;
                v.push(StatementFacts {
                    id,
                    account_no: account_no.to_string(),
                    file: r.try_get("first_name")?,
                    location: r.try_get("location")?,
                    sequence: r.try_get("sequence")?,
                    opening: od.zip(oa.map(|m| m.0)),
                    closing: cd.zip(ca.map(|m| m.0)),
                    entry_sum: match r.try_get::<Option<DbMoney>, _>("entry_sum")? {
                        Some(m) => m.0,
                        None => sum_by.get(&id).copied().unwrap_or_default(),
                    },
                    entry_count: r.try_get("entry_count")?,
                    flags: r.try_get::<String, _>("flags")?.lines().map(str::to_string).collect(),
                });
            }
            Ok(v)
        })
    }

    /// Latest closing balance (date, amount) of an account, by closing date.
    pub async fn closing_balance(&self, account_no: &str) -> Result<Option<(NaiveDate, Decimal)>> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT closing_date, closing FROM statements WHERE account_no = $1 AND closing IS NOT NULL ORDER BY closing_date DESC, id DESC LIMIT 1")
                .bind(account_no)
                .fetch_optional(p)
                .await?;
            match row {
                Some(r) => Ok(Some((r.try_get("closing_date")?, r.try_get::<DbMoney, _>("closing")?.0))),
                None => Ok(None),
            }
        })
    }

    /// The last date any statement of the account covers (closing date, else latest booking).
    pub async fn statements_end(&self, account_no: &str) -> Result<Option<NaiveDate>> {
        on_pool!(self, p => {
            let a: Option<NaiveDate> = sqlx::query("SELECT MAX(closing_date) AS d FROM statements WHERE account_no = $1")
                .bind(account_no).fetch_one(p).await?.try_get("d")?;
            let b: Option<NaiveDate> = sqlx::query("SELECT MAX(booking_date) AS d FROM entries WHERE account_no = $1")
                .bind(account_no).fetch_one(p).await?.try_get("d")?;
            Ok(a.max(b))
        })
    }

    /// Replaces the automatic results of an account in one transaction.
    pub async fn replace_results(
        &self,
        account_no: &str,
        matches: &[Match],
        discrepancies: &[Discrepancy],
    ) -> Result<()> {
        let sqlite = self.backend() == "sqlite";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for sql in [
                "DELETE FROM match_entries WHERE match_id IN (SELECT id FROM matches WHERE account_no = $1)",
                "DELETE FROM match_records WHERE match_id IN (SELECT id FROM matches WHERE account_no = $1)",
                "DELETE FROM matches WHERE account_no = $1",
                "DELETE FROM discrepancies WHERE account_no = $1",
            ] {
                sqlx::query(sql).bind(account_no).execute(&mut *tx).await?;
            }
            // Many rows per statement. Ids of new matches are taken back in order: both
            // backends number the rows of one INSERT in the order of its VALUES.
            for chunk in matches.chunks(RESULT_ROWS_PER_INSERT) {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(values_sql(
                    sqlite,
                    "INSERT INTO matches (account_no, rule, ruleset, detail) VALUES ",
                    4,
                    chunk.len(),
                    " RETURNING id",
                )));
                for m in chunk {
                    q = q.bind(account_no).bind(m.rule.as_str()).bind(RULESET).bind(&m.detail);
                }
                let mut ids: Vec<i64> =
                    q.fetch_all(&mut *tx).await?.iter().map(|r| r.try_get("id")).collect::<std::result::Result<_, _>>()?;
                ids.sort_unstable();
                if ids.len() != chunk.len() {
                    return Err(StoreError::Data(format!("{} match ids for {} matches", ids.len(), chunk.len())));
                }
                for (table, col, pick) in [
                    ("match_entries", "entry_id", 0usize),
                    ("match_records", "record_id", 1usize),
                ] {
                    let pairs: Vec<(i64, i64)> = chunk
                        .iter()
                        .zip(&ids)
                        .flat_map(|(m, &mid)| (if pick == 0 { &m.entries } else { &m.records }).iter().map(move |&x| (mid, x)))
                        .collect();
                    for part in pairs.chunks(RESULT_ROWS_PER_INSERT * 4) {
                        let head = format!("INSERT INTO {table} (match_id, {col}) VALUES ");
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(values_sql(sqlite, &head, 2, part.len(), "")));
                        for &(mid, x) in part {
                            q = q.bind(mid).bind(x);
                        }
                        q.execute(&mut *tx).await?;
                    }
                }
            }
            for chunk in discrepancies.chunks(RESULT_ROWS_PER_INSERT) {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(values_sql(
                    sqlite,
                    "INSERT INTO discrepancies (account_no, kind, entry_id, record_id, statement_id, bank_ref, voucher_no, on_date, amount, expected, rule, detail, ruleset) VALUES ",
                    13,
                    chunk.len(),
                    "",
                )));
                for d in chunk {
                    q = q
                        .bind(account_no)
                        .bind(d.kind.as_str())
                        .bind(d.entry)
                        .bind(d.record)
                        .bind(d.statement)
                        .bind(&d.bank_ref)
                        .bind(&d.voucher_no)
                        .bind(d.date)
                        .bind(d.amount.map(DbMoney))
                        .bind(d.expected.map(DbMoney))
                        .bind(&d.rule)
                        .bind(&d.detail)
                        .bind(RULESET);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Row counts of every table, for tests and `status`: a rerun must not change them.
    pub async fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        const TABLES: [&str; 12] = [
            "agreements",
            "decisions",
            "raw_files",
            "runs",
            "run_files",
            "statements",
            "entries",
            "book_records",
            "matches",
            "match_entries",
            "match_records",
            "discrepancies",
        ];
        let mut out = Vec::new();
        for t in TABLES {
            let sql = format!("SELECT COUNT(*) AS n FROM {t}");
            let n: i64 =
                on_pool!(self, p => sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch_one(p).await?.try_get("n")?);
            out.push((t.to_string(), n));
        }
        Ok(out)
    }

    /// Stored discrepancy kinds per account (for summaries).
    pub async fn open_counts(&self, account_no: &str) -> Result<Vec<(Kind, i64)>> {
        on_pool!(self, p => {
            let rows = sqlx::query("SELECT kind, COUNT(*) AS n FROM discrepancies WHERE account_no = $1 GROUP BY kind ORDER BY kind")
                .bind(account_no)
                .fetch_all(p)
                .await?;
            let mut v = Vec::new();
            for r in rows {
                let k: String = r.try_get("kind")?;
                v.push((Kind::parse(&k).ok_or_else(|| StoreError::Data(format!("discrepancy kind {k:?}")))?, r.try_get("n")?));
            }
            Ok(v)
        })
    }

    // ---- explain ------------------------------------------------------------------------

    /// Everything stored about a bank reference or a voucher number: the entries and
    /// records it names, and for each the matches (rule, rule-set version, why, the other
    /// side) and open discrepancies that hold it. Lines for people, in a stable order.
    pub async fn explain(&self, key: &str) -> Result<Vec<String>> {
        on_pool!(self, p => {
            let mut out = Vec::new();
            let entries = sqlx::query(
                "SELECT id, account_no, entry_key, booking_date, amount, narrative, location FROM entries WHERE bank_ref = $1 OR entry_key = $1 ORDER BY account_no, entry_key",
            )
            .bind(key)
            .fetch_all(p)
            .await?;
            let records = sqlx::query(
                "SELECT id, account_no, voucher_no, book_date, amount, direction, source, location FROM book_records WHERE voucher_no = $1 ORDER BY account_no, direction",
            )
            .bind(key)
            .fetch_all(p)
            .await?;
            for (side, rows) in [("entry", &entries), ("record", &records)] {
                for r in rows.iter() {
                    let id: i64 = r.try_get("id")?;
                    let amount = crate::money::canonical(r.try_get::<DbMoney, _>("amount")?.0);
                    let account: String = r.try_get("account_no")?;
                    let location: String = r.try_get("location")?;
                    if side == "entry" {
                        let date: NaiveDate = r.try_get("booking_date")?;
                        let ek: String = r.try_get("entry_key")?;
                        let text: String = r.try_get("narrative")?;
                        out.push(format!("bank entry {ek} of account {account}: {date} {amount} \"{text}\" ({location})"));
                    } else {
                        let date: NaiveDate = r.try_get("book_date")?;
                        let v: String = r.try_get("voucher_no")?;
                        let dir: String = r.try_get("direction")?;
                        let src: String = r.try_get("source")?;
                        out.push(format!("book record {v} ({dir}) of account {account}: {date} {amount} ({src} {location})"));
                    }
                    let (link, col) = if side == "entry" { ("match_entries", "entry_id") } else { ("match_records", "record_id") };
                    let sql = format!(
                        "SELECT m.id, m.rule, m.ruleset, m.detail FROM matches m JOIN {link} l ON l.match_id = m.id WHERE l.{col} = $1 ORDER BY m.id"
                    );
                    for m in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(p).await? {
                        let mid: i64 = m.try_get("id")?;
                        let others_e: Vec<String> = sqlx::query("SELECT e.entry_key FROM match_entries l JOIN entries e ON e.id = l.entry_id WHERE l.match_id = $1 ORDER BY e.entry_key")
                            .bind(mid).fetch_all(p).await?.iter().map(|x| x.try_get("entry_key")).collect::<std::result::Result<_, _>>()?;
                        let others_r: Vec<String> = sqlx::query("SELECT r.voucher_no FROM match_records l JOIN book_records r ON r.id = l.record_id WHERE l.match_id = $1 ORDER BY r.voucher_no")
                            .bind(mid).fetch_all(p).await?.iter().map(|x| x.try_get("voucher_no")).collect::<std::result::Result<_, _>>()?;
                        out.push(format!(
                            "  matched by rule {} (rule set {}): {}; entries [{}], vouchers [{}]",
                            m.try_get::<String, _>("rule")?,
                            m.try_get::<String, _>("ruleset")?,
                            m.try_get::<String, _>("detail")?,
                            others_e.join(", "),
                            others_r.join(", ")
                        ));
                    }
                    let sql = format!("SELECT kind, rule, ruleset, detail FROM discrepancies WHERE {col} = $1 ORDER BY id");
                    for d in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(p).await? {
                        out.push(format!(
                            "  open: {} (rule {}, rule set {}): {}",
                            d.try_get::<String, _>("kind")?,
                            d.try_get::<String, _>("rule")?,
                            d.try_get::<String, _>("ruleset")?,
                            d.try_get::<String, _>("detail")?
                        ));
                    }
                }
            }
            Ok(out)
        })
    }

    // ---- deposit agreements -----------------------------------------------------------

    /// Stores an agreement's TOML (already validated by the caller). Returns false when the
    /// same text was loaded before.
    pub async fn load_agreement(&self, account_no: &str, terms: &str, by: &str) -> Result<bool> {
        let sha = crate::archive::sha256_hex(terms.as_bytes());
        let n = on_pool!(self, p => sqlx::query(
            "INSERT INTO agreements (account_no, terms, sha256, loaded_at, loaded_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(account_no)
        .bind(terms)
        .bind(&sha)
        .bind(now())
        .bind(by)
        .execute(p)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Every stored agreement: (id, account, TOML text, loaded at, loaded by), by id.
    pub async fn agreements(&self) -> Result<Vec<(i64, String, String, DateTime<Utc>, String)>> {
        on_pool!(self, p => {
            let rows = sqlx::query("SELECT id, account_no, terms, loaded_at, loaded_by FROM agreements ORDER BY id").fetch_all(p).await?;
            rows.iter()
                .map(|r| Ok((r.try_get("id")?, r.try_get("account_no")?, r.try_get("terms")?, r.try_get("loaded_at")?, r.try_get("loaded_by")?)))
                .collect()
        })
    }

    // ---- runs --------------------------------------------------------------------------

    /// The batch row for (channel, date), created `queued` if missing.
    pub async fn ensure_run(&self, channel: &str, bank: &str, date: NaiveDate) -> Result<RunRow> {
        on_pool!(self, p => {
            sqlx::query("INSERT INTO runs (channel, bank, business_date, state, attempts, created_at) VALUES ($1, $2, $3, 'queued', 0, $4) ON CONFLICT (channel, business_date) DO NOTHING")
                .bind(channel)
                .bind(bank)
                .bind(date)
                .bind(now())
                .execute(p)
                .await?;
        });
        let id: i64 = on_pool!(self, p => sqlx::query("SELECT id FROM runs WHERE channel = $1 AND business_date = $2")
            .bind(channel).bind(date).fetch_one(p).await?.try_get("id")?);
        self.run(id).await?.ok_or_else(|| StoreError::Data(format!("run {id} vanished")))
    }

    /// Records who queued a batch, unless someone already did (the first queuer stays).
    pub async fn note_queued_by(&self, id: i64, by: &str) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE runs SET queued_by = $1 WHERE id = $2 AND queued_by IS NULL")
            .bind(by).bind(id).execute(p).await?.rows_affected());
        Ok(())
    }

    pub async fn start_run(&self, id: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE runs SET state = 'running', attempts = attempts + 1, started_at = $1, finished_at = NULL, error = NULL WHERE id = $2")
            .bind(now()).bind(id).execute(p).await?.rows_affected());
        Ok(())
    }

    pub async fn finish_run(&self, id: i64, state: &str, error: Option<&str>, summary: &str) -> Result<()> {
        assert!(matches!(state, "done" | "failed"), "final state {state}");
        on_pool!(self, p => sqlx::query("UPDATE runs SET state = $1, error = $2, summary = $3, finished_at = $4 WHERE id = $5")
            .bind(state).bind(error).bind(summary).bind(now()).bind(id).execute(p).await?.rows_affected());
        Ok(())
    }

    pub async fn add_run_file(&self, run_id: i64, sha: &str, name: &str) -> Result<()> {
        on_pool!(self, p => sqlx::query("INSERT INTO run_files (run_id, sha256, name, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT (run_id, sha256) DO NOTHING")
            .bind(run_id).bind(sha).bind(name).bind(now()).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The files a batch fetched, in name order, then in the order they arrived.
    pub async fn run_files(&self, run_id: i64) -> Result<Vec<RunFile>> {
        let rows: Vec<(String, String, bool)> = on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT rf.sha256, rf.name, f.imported_at IS NOT NULL AS imported FROM run_files rf JOIN raw_files f ON f.sha256 = rf.sha256 \
                 WHERE rf.run_id = $1 ORDER BY rf.name, rf.added_at, rf.sha256",
            )
            .bind(run_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(|r| Ok((r.try_get("sha256")?, r.try_get("name")?, r.try_get("imported")?))).collect::<Result<_>>()?
        });
        // An unimported file is superseded when a later file of the same name arrived.
        let mut out: Vec<RunFile> = Vec::with_capacity(rows.len());
        for (i, (sha, name, imported)) in rows.iter().enumerate() {
            let later = rows[i + 1..].iter().any(|(_, n, _)| n == name);
            out.push(RunFile {
                sha256: sha.clone(),
                name: name.clone(),
                imported: *imported,
                superseded: !imported && later,
            });
        }
        Ok(out)
    }

    /// The statements of a batch's business date: the statements of files its channel
    /// delivered whose business date is `date`, whichever batch pulled them. A statement's
    /// business date is its closing date (the last day it covers); without a closing
    /// balance, the last booking date of its stored entries, else its opening date. A file
    /// holding several statements belongs to the date of each. By file name, then order.
    pub async fn statements_of_date(&self, channel: &str, date: NaiveDate) -> Result<Vec<DatedStatement>> {
        on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT s.account_no, s.statement_id, s.sequence, s.location, s.closing_date, f.first_name, f.sha256, \
                 (SELECT MIN(rf.run_id) FROM run_files rf WHERE rf.sha256 = s.sha256) AS pulled_by \
                 FROM statements s JOIN raw_files f ON f.sha256 = s.sha256 \
                 WHERE f.channel = $1 AND COALESCE(s.closing_date, (SELECT MAX(e.booking_date) FROM entries e WHERE e.statement_id = s.id), s.opening_date) = $2 \
                 ORDER BY f.first_name, s.sha256, s.seq_in_file",
            )
            .bind(channel)
            .bind(date)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(DatedStatement {
                        file: r.try_get("first_name")?,
                        sha256: r.try_get("sha256")?,
                        account_no: r.try_get("account_no")?,
                        statement_id: r.try_get("statement_id")?,
                        sequence: r.try_get("sequence")?,
                        location: r.try_get("location")?,
                        closing_date: r.try_get("closing_date")?,
                        pulled_by: r.try_get("pulled_by")?,
                    })
                })
                .collect()
        })
    }

    pub async fn run(&self, id: i64) -> Result<Option<RunRow>> {
        let mut v = self.runs_where("WHERE id = $1", Some(id), None).await?;
        Ok(v.pop())
    }

    /// Every batch of one business date, by id.
    pub async fn runs_on(&self, date: NaiveDate) -> Result<Vec<RunRow>> {
        self.runs_where("WHERE business_date = $1 ORDER BY id", None, Some(date)).await
    }

    pub async fn runs(&self, failed_only: bool) -> Result<Vec<RunRow>> {
        if failed_only {
            self.runs_where("WHERE state = 'failed' ORDER BY id", None, None).await
        } else {
            self.runs_where("ORDER BY id", None, None).await
        }
    }

    /// `clause` takes at most one parameter, `$1`: the id or the date given.
    async fn runs_where(&self, clause: &'static str, id: Option<i64>, date: Option<NaiveDate>) -> Result<Vec<RunRow>> {
        let sql = format!(
            "SELECT id, channel, bank, business_date, state, attempts, error, created_at, started_at, finished_at, summary FROM runs {clause}"
        );
        on_pool!(self, p => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            if let Some(id) = id {
                q = q.bind(id);
            }
            if let Some(d) = date {
                q = q.bind(d);
            }
            let rows = q.fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    Ok(RunRow {
                        id: r.try_get("id")?,
                        channel: r.try_get("channel")?,
                        bank: r.try_get("bank")?,
                        business_date: r.try_get("business_date")?,
                        state: r.try_get("state")?,
                        attempts: r.try_get("attempts")?,
                        error: r.try_get("error")?,
                        created_at: r.try_get("created_at")?,
                        started_at: r.try_get("started_at")?,
                        finished_at: r.try_get("finished_at")?,
                        summary: r.try_get("summary")?,
                    })
                })
                .collect()
        })
    }
}

enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Pg(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$t` bound to whichever transaction this is (see [`on_pool!`]).
macro_rules! on_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match &mut $tx {
            Tx::Sqlite($t) => $body,
            Tx::Pg($t) => $body,
        }
    };
}
use on_tx;

// After the macros: the queue's queries use `on_pool!`.
mod queue;
pub use queue::{
    Exclusive, FETCH_ERROR_PREFIX, FETCHED_ERROR_POINTER, LockHolder, QueueRow, RequeueError, StageRow, WorkerRow,
};

/// Placeholder `n` (from 1) of a statement built at run time. SQLite gets anonymous `?`
/// (bound in order): for `$n` it looks each name up in a list, once per parameter, which
/// costs quadratic time in a statement of hundreds of values (half the import's time in a
/// profile). PostgreSQL only knows `$n`.
fn placeholder(sqlite: bool, n: usize) -> String {
    if sqlite { "?".to_string() } else { format!("${n}") }
}

/// Result rows per multi-row INSERT.
const RESULT_ROWS_PER_INSERT: usize = 64;

/// `head` + `rows` groups of `cols` placeholders + `tail`.
fn values_sql(sqlite: bool, head: &str, cols: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::from(head);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        sql.push_str(&(1..=cols).map(|c| placeholder(sqlite, r * cols + c)).collect::<Vec<_>>().join(", "));
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// Book records per multi-row upsert (12 values each).
const BOOK_ROWS_PER_INSERT: usize = 64;

/// The multi-row upsert of book records: a voucher seen before takes what the books say now.
fn books_upsert_sql(sqlite: bool, rows: usize) -> String {
    const COLS: usize = 15;
    let mut sql = String::from(
        "INSERT INTO book_records (voucher_no, account_no, direction, book_date, amount, currency, counterparty_account, counterparty_name, purpose, batch_ref, source, location, withdrawn, delivery, negates) VALUES ",
    );
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        sql.push_str(&(1..=COLS).map(|c| placeholder(sqlite, r * COLS + c)).collect::<Vec<_>>().join(", "));
        sql.push(')');
    }
    sql.push_str(
        " ON CONFLICT (account_no, direction, voucher_no) DO UPDATE SET book_date = excluded.book_date, amount = excluded.amount, currency = excluded.currency, \
         counterparty_account = excluded.counterparty_account, counterparty_name = excluded.counterparty_name, purpose = excluded.purpose, \
         batch_ref = excluded.batch_ref, source = excluded.source, location = excluded.location, \
         withdrawn = excluded.withdrawn, delivery = excluded.delivery, negates = excluded.negates",
    );
    sql
}

/// Entries per multi-row INSERT: 18 values each, far below both backends' limit on bound
/// values (SQLite 32,766, PostgreSQL 65,535).
const ENTRY_ROWS_PER_INSERT: usize = 64;

/// `INSERT INTO entries … VALUES (…), (…) … ON CONFLICT DO NOTHING` for `rows` rows.
fn entries_insert_sql(sqlite: bool, rows: usize) -> String {
    const COLS: usize = 19;
    let mut sql = String::with_capacity(400 + rows * COLS * 5);
    sql.push_str(
        "INSERT INTO entries (statement_id, account_no, entry_key, booking_date, value_date, amount, currency, bank_ref, customer_ref, end_to_end_id, \
         counterparty_account, counterparty_name, counterparty_bank, narrative, kind, type_code, return_reason, items, location) VALUES ",
    );
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..COLS {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&placeholder(sqlite, r * COLS + c + 1));
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (account_no, entry_key) DO NOTHING");
    sql
}

/// One file's import in progress: statements are added one by one inside a single
/// transaction; `commit` marks the file imported in the same transaction.
pub struct ImportTx {
    tx: Tx,
    sha: String,
    seq: i64,
    stats: ImportStats,
}

impl ImportTx {
    /// Adds a statement of configured account `account_no` with all its entries.
    pub async fn statement(&mut self, s: &Statement, account_no: &str) -> Result<()> {
        let (sha, seq) = (self.sha.clone(), self.seq);
        let sqlite = matches!(self.tx, Tx::Sqlite(_));
        let mut new = 0u64;
        let mut known = 0u64;
        // Delivered before in other bytes? (issue 15, 17: by content, not by file hash.)
        let identity = redelivery::Identity::of(s);
        let (file, earlier) = self.earlier(account_no, &identity).await?;
        let mut flags = s.flags.clone();
        match redelivery::check(&identity, &file, &s.location, &earlier) {
            redelivery::Verdict::New => {}
            redelivery::Verdict::Same(line) => {
                self.stats.redelivered.push(line);
                return Ok(());
            }
            redelivery::Verdict::Changed { flag, line } => {
                flags.push(flag);
                self.stats.changed.push(line);
            }
        }
        on_tx!(self.tx, t => {
            let sid: i64 = sqlx::query(
                "INSERT INTO statements (sha256, seq_in_file, account_no, raw_account, currency, sequence, statement_id, opening_date, opening, closing_date, closing, entry_count, location, flags, entry_sum, fingerprint) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
            )
            .bind(&sha)
            .bind(seq)
            .bind(account_no)
            .bind(&s.account)
            .bind(s.currency.as_str())
            .bind(&s.sequence)
            .bind(&s.statement_id)
            .bind(s.opening.as_ref().map(|b| b.date))
            .bind(s.opening.as_ref().map(|b| DbMoney(b.amount.amount)))
            .bind(s.closing.as_ref().map(|b| b.date))
            .bind(s.closing.as_ref().map(|b| DbMoney(b.amount.amount)))
            .bind(s.entries.len() as i64)
            .bind(&s.location)
            .bind(flags.join("\n"))
            .bind(s.entry_sum().map(DbMoney))
            .bind(&identity.fingerprint)
            .fetch_one(&mut **t)
            .await?
            .try_get("id")?;
            // Many rows per INSERT: one round trip to the database per chunk, not per entry.
            // Keys within a statement are distinct (`#n`), so a chunk never conflicts with
            // itself; rows already stored (an overlapping file) are skipped as before and
            // counted from the rows the statement inserted.
            let keys = entry_keys(s);
            let rows: Vec<(&crate::statement::Entry, &String)> = s.entries.iter().zip(&keys).collect();
            for chunk in rows.chunks(ENTRY_ROWS_PER_INSERT) {
                let sql = entries_insert_sql(sqlite, chunk.len());
                // Built from counts only, never from data: every value is bound.
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for &(e, key) in chunk {
                    q = q
                        .bind(sid)
                        .bind(account_no)
                        .bind(key)
                        .bind(e.booking_date)
                        .bind(e.value_date)
                        .bind(DbMoney(e.amount.amount))
                        .bind(e.amount.currency.as_str())
                        .bind(&e.bank_ref)
                        .bind(&e.customer_ref)
                        .bind(&e.end_to_end_id)
                        .bind(&e.counterparty_account)
                        .bind(&e.counterparty_name)
                        .bind(&e.counterparty_bank)
                        .bind(&e.narrative)
                        .bind(e.kind.as_str())
                        .bind(&e.type_code)
                        .bind(&e.return_reason)
                        .bind(items_to_json(e.batch.as_ref()))
                        .bind(&e.location);
                }
                let n = q.execute(&mut **t).await?.rows_affected();
                new += n;
                known += chunk.len() as u64 - n.min(chunk.len() as u64);
            }
        });
        self.seq += 1;
        self.stats.statements += 1;
        self.stats.entries_new += new;
        self.stats.entries_known += known;
        Ok(())
    }

    /// This file's name (as first delivered) and the account's statements stored before
    /// (also earlier in this transaction) that could be `identity` delivered again: same
    /// fingerprint, or same id, sequence and period. Rows from before fingerprints were
    /// stored are never compared.
    async fn earlier(
        &mut self,
        account_no: &str,
        identity: &redelivery::Identity,
    ) -> Result<(String, Vec<redelivery::Earlier>)> {
        let sha = self.sha.clone();
        let id = identity;
        on_tx!(self.tx, t => {
            let file: String = sqlx::query("SELECT first_name FROM raw_files WHERE sha256 = $1")
                .bind(&sha)
                .fetch_one(&mut **t)
                .await?
                .try_get("first_name")?;
            let rows = sqlx::query(
                "SELECT s.statement_id, s.sequence, s.opening_date, s.opening, s.closing_date, s.closing, s.entry_count, s.location, s.fingerprint, f.first_name \
                 FROM statements s JOIN raw_files f ON f.sha256 = s.sha256 \
                 WHERE s.account_no = $1 AND s.fingerprint IS NOT NULL AND (s.fingerprint = $2 OR (s.statement_id IS NOT DISTINCT FROM $3 \
                 AND s.sequence IS NOT DISTINCT FROM $4 AND s.opening_date IS NOT DISTINCT FROM $5 AND s.closing_date IS NOT DISTINCT FROM $6)) \
                 ORDER BY s.id",
            )
            .bind(account_no)
            .bind(&id.fingerprint)
            .bind(&id.statement_id)
            .bind(&id.sequence)
            .bind(id.opening.map(|x| x.0))
            .bind(id.closing.map(|x| x.0))
            .fetch_all(&mut **t)
            .await?;
            let mut earlier = Vec::with_capacity(rows.len());
            for r in rows {
                let od: Option<NaiveDate> = r.try_get("opening_date")?;
                let oa: Option<DbMoney> = r.try_get("opening")?;
                let cd: Option<NaiveDate> = r.try_get("closing_date")?;
                let ca: Option<DbMoney> = r.try_get("closing")?;
                earlier.push(redelivery::Earlier {
                    file: r.try_get("first_name")?,
                    location: r.try_get("location")?,
                    identity: redelivery::Identity {
                        fingerprint: r.try_get("fingerprint")?,
                        statement_id: r.try_get("statement_id")?,
                        sequence: r.try_get("sequence")?,
                        opening: od.zip(oa.map(|m| m.0)),
                        closing: cd.zip(ca.map(|m| m.0)),
                        entry_count: r.try_get("entry_count")?,
                    },
                });
            }
            Ok((file, earlier))
        })
    }

    /// Marks the file imported and commits everything added.
    pub async fn commit(mut self, format: &str) -> Result<ImportStats> {
        let sha = self.sha.clone();
        on_tx!(self.tx, t => sqlx::query("UPDATE raw_files SET imported_at = $1, format = $2 WHERE sha256 = $3")
            .bind(now())
            .bind(format)
            .bind(&sha)
            .execute(&mut **t)
            .await?
            .rows_affected());
        match self.tx {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Pg(t) => t.commit().await?,
        }
        Ok(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_folders_agree() {
        let a: Vec<(i64, &str)> = SQLITE_MIGRATIONS.iter().map(|m| (m.0, m.1)).collect();
        let b: Vec<(i64, &str)> = PG_MIGRATIONS.iter().map(|m| (m.0, m.1)).collect();
        assert_eq!(a, b);
        // Every file in the folders is embedded.
        for (dir, list) in [("sqlite", SQLITE_MIGRATIONS), ("postgres", PG_MIGRATIONS)] {
            let n = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/").to_string() + dir)
                .unwrap()
                .count();
            assert_eq!(n, list.len(), "{dir}: files on disk vs embedded");
        }
    }
}
