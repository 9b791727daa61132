//! The `decisions` audit trail (append-only, hash-chained; see `crate::review`) and the
//! look-ups the review commands need: items by the names people type, and the automatic
//! match an item is in.

use super::{DbMoney, Pool, Result, Store, StoreError, now};
use crate::review::{Action, Decision, GENESIS, Item, NewDecision, chain_hash};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::Row;

/// How often an append retries when another writer took the chain's head first.
const APPEND_RETRIES: usize = 8;

/// The automatic match an item is in, by stable identities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentMatch {
    pub rule: String,
    pub detail: String,
    pub entries: Vec<String>,
    pub records: Vec<String>,
}

fn keys(json: &str, what: &str) -> Result<Vec<String>> {
    serde_json::from_str(json).map_err(|e| StoreError::Data(format!("decisions.{what}: {e}")))
}

impl Store {
    /// Appends one decision at the head of the chain. Two writers racing for the same
    /// head: `prev_hash` is UNIQUE, the loser re-reads the head and tries again.
    pub async fn append_decision(&self, d: &NewDecision) -> Result<Decision> {
        let entries = serde_json::to_string(&d.entries).expect("strings serialise");
        let records = serde_json::to_string(&d.records).expect("strings serialise");
        for _ in 0..APPEND_RETRIES {
            let at = now();
            // SQLite: take the write lock at BEGIN (IMMEDIATE), not at the INSERT after the
            // read, where two readers upgrading at once would fail with "database is locked".
            // PostgreSQL: writers queue on a transaction-scoped advisory lock (of this
            // schema), so the UNIQUE prev_hash is a guard rather than a contention point.
            let (begin, lock) = match &self.pool {
                Pool::Sqlite(_) => ("BEGIN IMMEDIATE", false),
                Pool::Pg(_) => ("BEGIN", true),
            };
            let inserted: std::result::Result<(i64, String, String), sqlx::Error> = on_pool!(self, p => async {
                let mut tx = p.begin_with(begin).await?;
                if lock {
                    sqlx::query(super::queue::ADVISORY_XACT_LOCK).bind(super::queue::lock_key("decisions")).execute(&mut *tx).await?;
                }
                let prev: String = sqlx::query("SELECT row_hash FROM decisions ORDER BY id DESC LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get("row_hash"))
                    .transpose()?
                    .unwrap_or_else(|| GENESIS.to_string());
                let hash = chain_hash(&prev, d, at);
                let id: i64 = sqlx::query(
                    "INSERT INTO decisions (account_no, action, entry_keys, record_keys, rule, undoes, reason, decided_by, decided_at, prev_hash, row_hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                )
                .bind(&d.account_no)
                .bind(d.action.as_str())
                .bind(&entries)
                .bind(&records)
                .bind(&d.rule)
                .bind(d.undoes)
                .bind(&d.reason)
                .bind(&d.by)
                .bind(at)
                .bind(&prev)
                .bind(&hash)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                tx.commit().await?;
                Ok((id, prev, hash))
            }.await);
            match inserted {
                Ok((id, prev_hash, row_hash)) => {
                    return Ok(Decision { id, new: d.clone(), at, prev_hash, row_hash });
                }
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Data(format!("decisions: the chain's head kept moving ({APPEND_RETRIES} tries)")))
    }

    /// Decisions of one account (or all), oldest first.
    pub async fn decisions(&self, account_no: Option<&str>) -> Result<Vec<Decision>> {
        let rows = on_pool!(self, p => sqlx::query(
            "SELECT id, account_no, action, entry_keys, record_keys, rule, undoes, reason, decided_by, decided_at, prev_hash, row_hash \
             FROM decisions WHERE $1 IS NULL OR account_no = $1 ORDER BY id",
        )
        .bind(account_no)
        .fetch_all(p)
        .await?
        .into_iter()
        .map(|r| -> Result<Decision> {
            let action: String = r.try_get("action")?;
            Ok(Decision {
                id: r.try_get("id")?,
                new: NewDecision {
                    account_no: r.try_get("account_no")?,
                    action: Action::parse(&action).ok_or_else(|| StoreError::Data(format!("decisions.action {action:?}")))?,
                    entries: keys(&r.try_get::<String, _>("entry_keys")?, "entry_keys")?,
                    records: keys(&r.try_get::<String, _>("record_keys")?, "record_keys")?,
                    rule: r.try_get("rule")?,
                    undoes: r.try_get("undoes")?,
                    reason: r.try_get("reason")?,
                    by: r.try_get("decided_by")?,
                },
                at: r.try_get::<DateTime<Utc>, _>("decided_at")?,
                prev_hash: r.try_get("prev_hash")?,
                row_hash: r.try_get("row_hash")?,
            })
        })
        .collect::<Result<Vec<_>>>()?);
        Ok(rows)
    }

    /// Entry keys of an account that a name people type denotes: an entry key, or a bank
    /// reference (all its occurrences).
    pub async fn find_entries(&self, account_no: &str, name: &str) -> Result<Vec<(String, Decimal)>> {
        Ok(on_pool!(self, p => sqlx::query(
            "SELECT entry_key, amount FROM entries WHERE account_no = $1 AND (entry_key = $2 OR bank_ref = $2) ORDER BY entry_key",
        )
        .bind(account_no)
        .bind(name)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("entry_key")?, r.try_get::<DbMoney, _>("amount")?.0)))
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?))
    }

    /// Record keys (`direction:voucher`) of an account that a voucher number, or a
    /// `direction:voucher` key, denotes; with the record's signed amount (disbursements
    /// negative, like the bank entry that executes them, as stored).
    pub async fn find_records(&self, account_no: &str, name: &str) -> Result<Vec<(String, Decimal)>> {
        let (dir, voucher) = match crate::review::parse_record_key(name) {
            Some((d, v)) => (Some(d.as_str()), v),
            None => (None, name),
        };
        Ok(on_pool!(self, p => sqlx::query(
            "SELECT direction, voucher_no, amount FROM book_records WHERE account_no = $1 AND voucher_no = $2 AND ($3 IS NULL OR direction = $3) ORDER BY direction",
        )
        .bind(account_no)
        .bind(voucher)
        .bind(dir)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| {
            let d: String = r.try_get("direction")?;
            let v: String = r.try_get("voucher_no")?;
            Ok((format!("{d}:{v}"), r.try_get::<DbMoney, _>("amount")?.0))
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?))
    }

    /// Why a book record (`direction:voucher`) left the books, if it did.
    pub async fn withdrawn_reason(&self, account_no: &str, record_key: &str) -> Result<Option<String>> {
        let Some((d, v)) = crate::review::parse_record_key(record_key) else { return Ok(None) };
        Ok(on_pool!(self, p => sqlx::query(
            "SELECT withdrawn FROM book_records WHERE account_no = $1 AND direction = $2 AND voucher_no = $3",
        )
        .bind(account_no)
        .bind(d.as_str())
        .bind(v)
        .fetch_optional(p)
        .await?
        .map(|r| r.try_get::<Option<String>, _>("withdrawn"))
        .transpose()?
        .flatten()))
    }

    /// The stored match (of the latest matching pass) that holds an item, if any.
    pub async fn match_of(&self, account_no: &str, item: &Item) -> Result<Option<CurrentMatch>> {
        on_pool!(self, p => {
            let row = match item {
                Item::Entry(k) => sqlx::query(
                    "SELECT m.id, m.rule, m.detail FROM matches m JOIN match_entries l ON l.match_id = m.id JOIN entries e ON e.id = l.entry_id \
                     WHERE m.account_no = $1 AND e.account_no = $1 AND e.entry_key = $2 ORDER BY m.id LIMIT 1",
                )
                .bind(account_no)
                .bind(k)
                .fetch_optional(p)
                .await?,
                Item::Record(k) => {
                    let (d, v) = crate::review::parse_record_key(k).map_or(("", k.as_str()), |(d, v)| (d.as_str(), v));
                    sqlx::query(
                        "SELECT m.id, m.rule, m.detail FROM matches m JOIN match_records l ON l.match_id = m.id JOIN book_records r ON r.id = l.record_id \
                         WHERE m.account_no = $1 AND r.account_no = $1 AND r.direction = $2 AND r.voucher_no = $3 ORDER BY m.id LIMIT 1",
                    )
                    .bind(account_no)
                    .bind(d)
                    .bind(v)
                    .fetch_optional(p)
                    .await?
                }
            };
            let Some(row) = row else { return Ok(None) };
            let mid: i64 = row.try_get("id")?;
            let entries = sqlx::query("SELECT e.entry_key FROM match_entries l JOIN entries e ON e.id = l.entry_id WHERE l.match_id = $1 ORDER BY e.entry_key")
                .bind(mid)
                .fetch_all(p)
                .await?
                .iter()
                .map(|r| r.try_get("entry_key"))
                .collect::<std::result::Result<Vec<String>, _>>()?;
            let records = sqlx::query("SELECT r.direction, r.voucher_no FROM match_records l JOIN book_records r ON r.id = l.record_id WHERE l.match_id = $1 ORDER BY r.direction, r.voucher_no")
                .bind(mid)
                .fetch_all(p)
                .await?
                .iter()
                .map(|r| Ok(format!("{}:{}", r.try_get::<String, _>("direction")?, r.try_get::<String, _>("voucher_no")?)))
                .collect::<std::result::Result<Vec<String>, sqlx::Error>>()?;
            Ok(Some(CurrentMatch { rule: row.try_get("rule")?, detail: row.try_get("detail")?, entries, records }))
        })
    }
}

/// An open item as stored by the latest matching pass (for `review open` and the web page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenItem {
    pub id: i64,
    pub account_no: String,
    pub kind: String,
    pub entry_key: Option<String>,
    pub record_key: Option<String>,
    pub bank_ref: Option<String>,
    pub voucher_no: Option<String>,
    pub date: chrono::NaiveDate,
    pub amount: Option<Decimal>,
    pub expected: Option<Decimal>,
    pub rule: String,
    pub detail: String,
}

impl Store {
    /// Open items of one account (or all), by account, date and id.
    pub async fn open_items(&self, account_no: Option<&str>) -> Result<Vec<OpenItem>> {
        Ok(on_pool!(self, p => sqlx::query(
            "SELECT d.id, d.account_no, d.kind, e.entry_key, r.direction, r.voucher_no AS rvoucher, d.bank_ref, d.voucher_no, d.on_date, d.amount, d.expected, d.rule, d.detail \
             FROM discrepancies d LEFT JOIN entries e ON e.id = d.entry_id LEFT JOIN book_records r ON r.id = d.record_id \
             WHERE $1 IS NULL OR d.account_no = $1 ORDER BY d.account_no, d.on_date, d.id",
        )
        .bind(account_no)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| {
            let dir: Option<String> = r.try_get("direction")?;
            let rv: Option<String> = r.try_get("rvoucher")?;
            Ok(OpenItem {
                id: r.try_get("id")?,
                account_no: r.try_get("account_no")?,
                kind: r.try_get("kind")?,
                entry_key: r.try_get("entry_key")?,
                record_key: dir.zip(rv).map(|(d, v)| format!("{d}:{v}")),
                bank_ref: r.try_get("bank_ref")?,
                voucher_no: r.try_get("voucher_no")?,
                date: r.try_get("on_date")?,
                amount: r.try_get::<Option<DbMoney>, _>("amount")?.map(|m| m.0),
                expected: r.try_get::<Option<DbMoney>, _>("expected")?.map(|m| m.0),
                rule: r.try_get("rule")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?))
    }
}
