//! The batch queue of `fundrecon worker` (migration 0004): batches are `runs` rows whose
//! `state` walks queued → fetching → parsing → matching → reporting → done | failed.
//!
//! A worker *claims* a batch by writing its id and a lease end into the row; it renews the
//! lease while it works and every write it makes to the row is fenced by
//! `lease_owner = <its id>`, so a worker that lost its lease (paused, partitioned) cannot
//! move a batch that another worker took over. On PostgreSQL the claim selects the row with
//! `FOR UPDATE SKIP LOCKED`: several workers never take the same batch and never wait for
//! each other. SQLite serialises writers anyway and allows one worker (`worker_lock`).
//!
//! Times compared here are epoch milliseconds passed in by the caller (the worker's clock,
//! simulated in tests), never the database's own clock.

use super::{Pool, Result, Store, StoreError, now};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

/// How the worker writes a batch's failed fetch into `runs.error` (`fetching: <cause>`)
/// and where its fetch record keeps the cause in `runs.summary` (the `Fetched` of
/// `job::daily` under `"worker"`): the rerun check reads both.
pub const FETCH_ERROR_PREFIX: &str = "fetching:";
pub const FETCHED_ERROR_POINTER: &str = "/worker/fetched/error";

/// States a worker may take a batch in (`running` belongs to `fundrecon run`).
const OPEN_STATES: &str = "('queued', 'fetching', 'parsing', 'matching', 'reporting')";

/// A batch as the queue sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRow {
    pub id: i64,
    pub channel: String,
    pub bank: String,
    pub business_date: NaiveDate,
    pub state: String,
    pub attempts: i64,
    pub stage_tries: i64,
    pub lease_owner: Option<String>,
    pub lease_until_ms: Option<i64>,
    pub next_at_ms: i64,
    pub start_stage: Option<String>,
    /// Who queued the batch first (a rerun does not change it).
    pub queued_by: Option<String>,
    /// Every rerun asked for, oldest first, one line each (`<who> at <time> from <stage>`).
    pub rerun_by: Option<String>,
    pub error: Option<String>,
    pub summary: Option<String>,
}

/// One stage execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageRow {
    pub run_id: i64,
    pub stage: String,
    pub worker_id: String,
    pub try_no: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerRow {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_ms: i64,
    pub stopped_at: Option<DateTime<Utc>>,
}

/// Who holds the SQLite worker lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockHolder {
    pub worker_id: String,
    pub host: String,
    pub pid: i64,
    pub heartbeat_ms: i64,
}

/// Why a batch could not be queued again.
#[derive(Debug, thiserror::Error)]
pub enum RequeueError {
    #[error("no batch with id {0} (see `fundrecon runs list`)")]
    NotFound(i64),
    #[error("batch {id} is being worked on by {owner} ({state}); wait until it is done or failed")]
    InProgress { id: i64, owner: String, state: String },
    #[error("batch {id} is already queued")]
    AlreadyQueued { id: i64 },
    #[error("batch {id}: nothing to parse again ({why}); pull the statement again with `fundrecon runs rerun {id}`")]
    NothingToParse { id: i64, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A database-wide mutual exclusion (PostgreSQL advisory lock held by an open
/// transaction); released when dropped, also when the process dies. On SQLite a no-op:
/// one worker, and SQLite serialises writing transactions.
pub struct Exclusive {
    _tx: Option<sqlx::Transaction<'static, sqlx::Postgres>>,
}

const QUEUE_COLUMNS: &str = "id, channel, bank, business_date, state, attempts, stage_tries, lease_owner, lease_until_ms, \
                             next_at_ms, start_stage, queued_by, rerun_by, error, summary";

/// Reads a [`QueueRow`] from a row of either backend (a macro: the body is typed once
/// per backend inside `on_pool!`).
macro_rules! queue_row {
    ($r:expr) => {
        (|| -> std::result::Result<QueueRow, sqlx::Error> {
            let r = $r;
            Ok(QueueRow {
                id: r.try_get("id")?,
                channel: r.try_get("channel")?,
                bank: r.try_get("bank")?,
                business_date: r.try_get("business_date")?,
                state: r.try_get("state")?,
                attempts: r.try_get("attempts")?,
                stage_tries: r.try_get("stage_tries")?,
                lease_owner: r.try_get("lease_owner")?,
                lease_until_ms: r.try_get("lease_until_ms")?,
                next_at_ms: r.try_get("next_at_ms")?,
                start_stage: r.try_get("start_stage")?,
                queued_by: r.try_get("queued_by")?,
                rerun_by: r.try_get("rerun_by")?,
                error: r.try_get("error")?,
                summary: r.try_get("summary")?,
            })
        })()
    };
}

/// Takes a transaction-scoped advisory lock on `$1` (a [`lock_key`]) within the current
/// schema: advisory locks are shared by the whole database, so the schema's hash is mixed
/// in, and deployments (or tests) in other schemas of one database never wait on each other.
pub(super) const ADVISORY_XACT_LOCK: &str = "SELECT pg_advisory_xact_lock($1 # hashtextextended(current_schema(), 0))";

/// A stable 64-bit key for `pg_advisory_xact_lock`, from the lock's name.
pub(super) fn lock_key(name: &str) -> i64 {
    let h = crate::archive::sha256_hex(format!("fundrecon:{name}").as_bytes());
    i64::from_str_radix(&h[..15], 16).unwrap_or(0)
}

impl Store {
    /// Queues the batch (channel, date) unless one exists. Returns its id when new.
    pub async fn enqueue(&self, channel: &str, bank: &str, date: NaiveDate, by: &str) -> Result<Option<i64>> {
        let row = on_pool!(self, p => sqlx::query(
            "INSERT INTO runs (channel, bank, business_date, state, attempts, created_at, next_at_ms, queued_by) \
             VALUES ($1, $2, $3, 'queued', 0, $4, 0, $5) ON CONFLICT (channel, business_date) DO NOTHING RETURNING id",
        )
        .bind(channel)
        .bind(bank)
        .bind(date)
        .bind(now())
        .bind(by)
        .fetch_optional(p)
        .await?
        .map(|r| r.try_get::<i64, _>("id"))
        .transpose()?);
        Ok(row)
    }

    /// Takes the next batch that is waiting, or whose worker's lease expired, for
    /// `worker` until `lease_until_ms`. A `queued` batch moves to its first stage (and
    /// counts an attempt); a taken-over one stays in the stage it was in.
    pub async fn claim(&self, worker: &str, now_ms: i64, lease_until_ms: i64) -> Result<Option<QueueRow>> {
        let pick = match self.pool {
            Pool::Pg(_) => "FOR UPDATE SKIP LOCKED",
            Pool::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE runs SET lease_owner = $1, lease_until_ms = $2, \
               attempts = attempts + CASE WHEN state = 'queued' THEN 1 ELSE 0 END, \
               started_at = CASE WHEN state = 'queued' THEN $4 ELSE started_at END, \
               finished_at = NULL, \
               state = CASE WHEN state = 'queued' THEN COALESCE(start_stage, 'fetching') ELSE state END \
             WHERE id = (SELECT id FROM runs WHERE state IN {OPEN_STATES} \
                 AND (lease_owner IS NULL OR lease_until_ms IS NULL OR lease_until_ms < $3) AND next_at_ms <= $3 \
                 ORDER BY next_at_ms, business_date, id LIMIT 1 {pick}) \
             RETURNING {QUEUE_COLUMNS}"
        );
        on_pool!(self, p => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(worker)
                .bind(lease_until_ms)
                .bind(now_ms)
                .bind(now())
                .fetch_optional(p)
                .await?;
            Ok(row.as_ref().map(|r| queue_row!(r)).transpose()?)
        })
    }

    /// Extends `worker`'s lease; false when the worker no longer holds the batch.
    pub async fn renew_lease(&self, id: i64, worker: &str, lease_until_ms: i64) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query("UPDATE runs SET lease_until_ms = $1 WHERE id = $2 AND lease_owner = $3")
            .bind(lease_until_ms).bind(id).bind(worker).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Moves a batch from `stage` to the next stage, storing the summary so far. Fenced:
    /// false (nothing written) when `worker` lost the batch meanwhile.
    pub async fn advance(&self, id: i64, worker: &str, stage: &str, next: &str, summary: &str) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE runs SET state = $1, summary = $2, stage_tries = 0, next_at_ms = 0 WHERE id = $3 AND lease_owner = $4 AND state = $5",
        )
        .bind(next).bind(summary).bind(id).bind(worker).bind(stage).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Ends a batch (`done` or `failed`) and releases it. Fenced like [`Store::advance`].
    pub async fn finish(
        &self,
        id: i64,
        worker: &str,
        stage: &str,
        state: &str,
        error: Option<&str>,
        summary: &str,
    ) -> Result<bool> {
        assert!(matches!(state, "done" | "failed"), "final state {state}");
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE runs SET state = $1, error = $2, summary = $3, finished_at = $4, lease_owner = NULL, lease_until_ms = NULL, \
             stage_tries = 0, next_at_ms = 0 WHERE id = $5 AND lease_owner = $6 AND state = $7",
        )
        .bind(state).bind(error).bind(summary).bind(now()).bind(id).bind(worker).bind(stage).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// A transient failure: the stage is tried again from `next_at_ms` on, by any worker.
    pub async fn retry_later(&self, id: i64, worker: &str, stage: &str, next_at_ms: i64, error: &str) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE runs SET stage_tries = stage_tries + 1, next_at_ms = $1, error = $2, lease_owner = NULL, lease_until_ms = NULL \
             WHERE id = $3 AND lease_owner = $4 AND state = $5",
        )
        .bind(next_at_ms).bind(error).bind(id).bind(worker).bind(stage).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Gives a batch back untouched (shutdown): any worker may take it at once.
    pub async fn release(&self, id: i64, worker: &str) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query("UPDATE runs SET lease_owner = NULL, lease_until_ms = NULL WHERE id = $1 AND lease_owner = $2")
            .bind(id).bind(worker).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Queues a finished batch again (`rerun`): from its first stage, or from `parsing`
    /// to reuse the files already archived for it. A batch in progress is refused, and so
    /// is a rerun from `parsing` of a batch whose last fetch failed or that holds no file
    /// (it would end without the statement that waits at the bank). `queued_by` keeps who
    /// queued the batch first; each rerun adds a line to `rerun_by`.
    pub async fn requeue(
        &self,
        id: i64,
        start_stage: Option<&str>,
        by: &str,
        now_ms: i64,
    ) -> std::result::Result<QueueRow, RequeueError> {
        let row = self.queue_row(id).await?.ok_or(RequeueError::NotFound(id))?;
        if row.state == "queued" {
            return Err(RequeueError::AlreadyQueued { id });
        }
        let leased = row.lease_owner.is_some() && row.lease_until_ms.is_some_and(|t| t >= now_ms);
        if leased || row.state == "running" {
            return Err(RequeueError::InProgress {
                id,
                owner: row.lease_owner.clone().unwrap_or_else(|| "`fundrecon run`".into()),
                state: row.state.clone(),
            });
        }
        if start_stage == Some("parsing")
            && let Some(why) = self.nothing_to_parse(&row).await?
        {
            return Err(RequeueError::NothingToParse { id, why });
        }
        let line = format!(
            "{by} at {} from {}",
            chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default().format("%Y-%m-%d %H:%M:%S UTC"),
            start_stage.unwrap_or("fetching")
        );
        let history = rerun_history(row.rerun_by.as_deref(), &line);
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE runs SET state = 'queued', start_stage = $1, rerun_by = $2, error = NULL, \
             finished_at = NULL, lease_owner = NULL, lease_until_ms = NULL, next_at_ms = 0, stage_tries = 0 \
             WHERE id = $3 AND state = $4 AND (lease_owner IS NULL OR lease_until_ms < $5)",
        )
        .bind(start_stage).bind(&history).bind(id).bind(&row.state).bind(now_ms).execute(p).await.map_err(StoreError::from)?.rows_affected());
        if n != 1 {
            // A worker took it between the read and the write.
            let now_row = self.queue_row(id).await?.ok_or(RequeueError::NotFound(id))?;
            return Err(RequeueError::InProgress {
                id,
                owner: now_row.lease_owner.unwrap_or_else(|| "another process".into()),
                state: now_row.state,
            });
        }
        self.queue_row(id).await?.ok_or(RequeueError::NotFound(id))
    }

    /// Why a rerun from `parsing` would find nothing the bank owes: the batch's last fetch
    /// failed (its error, or the worker's fetch record, says so), or it holds no file.
    async fn nothing_to_parse(&self, row: &QueueRow) -> Result<Option<String>> {
        let fetch_error = row
            .summary
            .as_deref()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            .and_then(|v| v.pointer(FETCHED_ERROR_POINTER).and_then(|e| e.as_str()).map(str::to_string));
        if let Some(e) =
            row.error.as_deref().filter(|e| e.starts_with(FETCH_ERROR_PREFIX)).map(str::to_string).or(fetch_error)
        {
            let first = e.lines().next().unwrap_or_default().to_string();
            return Ok(Some(format!("its last fetch failed: {first}")));
        }
        if self.run_files(row.id).await?.is_empty() {
            return Ok(Some("it holds no fetched file".into()));
        }
        Ok(None)
    }

    /// Executions of a failed stage that were tried again, per batch (`run_stages` rows
    /// with outcome `retry`).
    pub async fn retry_counts(&self) -> Result<std::collections::BTreeMap<i64, i64>> {
        on_pool!(self, p => {
            let rows = sqlx::query("SELECT run_id, COUNT(*) AS n FROM run_stages WHERE outcome = 'retry' GROUP BY run_id")
                .fetch_all(p)
                .await?;
            rows.iter().map(|r| Ok((r.try_get("run_id")?, r.try_get("n")?))).collect()
        })
    }

    pub async fn queue_row(&self, id: i64) -> Result<Option<QueueRow>> {
        let sql = format!("SELECT {QUEUE_COLUMNS} FROM runs WHERE id = $1");
        on_pool!(self, p => {
            let r = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?;
            Ok(r.as_ref().map(|r| queue_row!(r)).transpose()?)
        })
    }

    /// Batches not finished (waiting or in a stage), in queue order. `running` (the
    /// one-shot `fundrecon run`) is not the queue's.
    pub async fn open_batches(&self) -> Result<Vec<QueueRow>> {
        let sql = format!(
            "SELECT {QUEUE_COLUMNS} FROM runs WHERE state IN {OPEN_STATES} ORDER BY next_at_ms, business_date, id LIMIT 1000"
        );
        on_pool!(self, p => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p).await?;
            Ok(rows.iter().map(|r| queue_row!(r)).collect::<std::result::Result<Vec<_>, _>>()?)
        })
    }

    /// Batches per state.
    pub async fn state_counts(&self) -> Result<Vec<(String, i64)>> {
        on_pool!(self, p => {
            let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM runs GROUP BY state ORDER BY state").fetch_all(p).await?;
            rows.iter().map(|r| Ok((r.try_get("state")?, r.try_get("n")?))).collect()
        })
    }

    /// The latest `done` batch per bank: (bank, finished at).
    pub async fn last_success_per_bank(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT r.bank, r.finished_at FROM runs r WHERE r.state = 'done' AND r.finished_at IS NOT NULL AND r.id = \
                 (SELECT x.id FROM runs x WHERE x.bank = r.bank AND x.state = 'done' AND x.finished_at IS NOT NULL ORDER BY x.finished_at DESC, x.id DESC LIMIT 1) \
                 ORDER BY r.bank",
            )
            .fetch_all(p)
            .await?;
            rows.iter().map(|r| Ok((r.try_get("bank")?, r.try_get("finished_at")?))).collect()
        })
    }

    /// Open discrepancies per (account, kind).
    pub async fn open_discrepancy_counts(&self) -> Result<Vec<(String, String, i64)>> {
        on_pool!(self, p => {
            let rows = sqlx::query("SELECT account_no, kind, COUNT(*) AS n FROM discrepancies GROUP BY account_no, kind ORDER BY account_no, kind")
                .fetch_all(p)
                .await?;
            rows.iter().map(|r| Ok((r.try_get("account_no")?, r.try_get("kind")?, r.try_get("n")?))).collect()
        })
    }

    // ---- stage log -----------------------------------------------------------------------

    pub async fn stage_started(&self, run_id: i64, stage: &str, worker: &str, try_no: i64) -> Result<i64> {
        on_pool!(self, p => Ok(sqlx::query(
            "INSERT INTO run_stages (run_id, stage, worker_id, try_no, started_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(run_id).bind(stage).bind(worker).bind(try_no).bind(now()).fetch_one(p).await?.try_get("id")?))
    }

    pub async fn stage_ended(&self, log_id: i64, outcome: &str, error: Option<&str>) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE run_stages SET finished_at = $1, outcome = $2, error = $3 WHERE id = $4")
            .bind(now()).bind(outcome).bind(error).bind(log_id).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The stage executions of a batch (or of every batch with `None`), in order.
    pub async fn stages(&self, run_id: Option<i64>) -> Result<Vec<StageRow>> {
        let sql = match run_id {
            Some(_) => {
                "SELECT run_id, stage, worker_id, try_no, started_at, finished_at, outcome, error FROM run_stages WHERE run_id = $1 ORDER BY id"
            }
            None => {
                "SELECT run_id, stage, worker_id, try_no, started_at, finished_at, outcome, error FROM run_stages ORDER BY id"
            }
        };
        on_pool!(self, p => {
            let mut q = sqlx::query(sql);
            if let Some(id) = run_id {
                q = q.bind(id);
            }
            let rows = q.fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    Ok(StageRow {
                        run_id: r.try_get("run_id")?,
                        stage: r.try_get("stage")?,
                        worker_id: r.try_get("worker_id")?,
                        try_no: r.try_get("try_no")?,
                        started_at: r.try_get("started_at")?,
                        finished_at: r.try_get("finished_at")?,
                        outcome: r.try_get("outcome")?,
                        error: r.try_get("error")?,
                    })
                })
                .collect()
        })
    }

    // ---- workers -------------------------------------------------------------------------

    pub async fn register_worker(&self, id: &str, host: &str, pid: u32, now_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO workers (id, host, pid, version, started_at, heartbeat_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms, stopped_at = NULL",
        )
        .bind(id).bind(host).bind(i64::from(pid)).bind(env!("CARGO_PKG_VERSION")).bind(now()).bind(now_ms).execute(p).await?.rows_affected());
        Ok(())
    }

    pub async fn worker_heartbeat(&self, id: &str, now_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE workers SET heartbeat_ms = $1 WHERE id = $2")
            .bind(now_ms).bind(id).execute(p).await?.rows_affected());
        on_pool!(self, p => sqlx::query("UPDATE worker_lock SET heartbeat_ms = $1 WHERE id = 1 AND worker_id = $2")
            .bind(now_ms).bind(id).execute(p).await?.rows_affected());
        Ok(())
    }

    pub async fn worker_stopped(&self, id: &str) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE workers SET stopped_at = $1 WHERE id = $2")
            .bind(now()).bind(id).execute(p).await?.rows_affected());
        on_pool!(self, p => sqlx::query("UPDATE worker_lock SET worker_id = NULL, host = NULL, pid = NULL WHERE id = 1 AND worker_id = $1")
            .bind(id).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Workers that have not stopped and whose heartbeat is newer than `since_ms` (the
    /// caller tells live ones from those whose heartbeat is older than their lease).
    pub async fn live_workers(&self, since_ms: i64) -> Result<Vec<WorkerRow>> {
        on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT id, host, pid, version, started_at, heartbeat_ms, stopped_at FROM workers WHERE stopped_at IS NULL AND heartbeat_ms >= $1 ORDER BY id",
            )
            .bind(since_ms)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(WorkerRow {
                        id: r.try_get("id")?,
                        host: r.try_get("host")?,
                        pid: r.try_get("pid")?,
                        version: r.try_get("version")?,
                        started_at: r.try_get("started_at")?,
                        heartbeat_ms: r.try_get("heartbeat_ms")?,
                        stopped_at: r.try_get("stopped_at")?,
                    })
                })
                .collect()
        })
    }

    /// SQLite: takes the one-worker lock, or says who holds it. A holder whose heartbeat
    /// is older than `stale_before_ms`, or (same host) whose process is gone, loses it.
    /// PostgreSQL: always granted (several workers are the point).
    pub async fn take_worker_lock(
        &self,
        worker: &str,
        host: &str,
        pid: u32,
        now_ms: i64,
        stale_before_ms: i64,
    ) -> Result<std::result::Result<(), LockHolder>> {
        let Pool::Sqlite(p) = &self.pool else {
            return Ok(Ok(()));
        };
        let holder = lock_holder(p).await?;
        // A holder on this machine whose process is gone died without unlocking.
        let dead = holder.as_ref().is_some_and(|h| {
            h.host == host && h.pid > 0 && !std::path::Path::new(&format!("/proc/{}", h.pid)).exists()
        });
        let stale = if dead { i64::MAX } else { stale_before_ms };
        let n = sqlx::query(
            "INSERT INTO worker_lock (id, worker_id, host, pid, heartbeat_ms) VALUES (1, $1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET worker_id = excluded.worker_id, host = excluded.host, pid = excluded.pid, heartbeat_ms = excluded.heartbeat_ms \
             WHERE worker_lock.worker_id IS NULL OR worker_lock.worker_id = excluded.worker_id OR worker_lock.heartbeat_ms < $5",
        )
        .bind(worker)
        .bind(host)
        .bind(i64::from(pid))
        .bind(now_ms)
        .bind(stale)
        .execute(p)
        .await?
        .rows_affected();
        if n == 1 {
            Ok(Ok(()))
        } else {
            // Taken between the look and the try (two starting at once): name the winner.
            let holder = match holder {
                Some(h) => Some(h),
                None => lock_holder(p).await?,
            };
            Ok(Err(holder.unwrap_or(LockHolder {
                worker_id: "?".into(),
                host: String::new(),
                pid: 0,
                heartbeat_ms: 0,
            })))
        }
    }

    /// Holds the named lock until the returned guard is dropped (PostgreSQL: an advisory
    /// lock in a transaction of its own, so a dead process cannot keep it).
    pub async fn exclusive(&self, name: &str) -> Result<Exclusive> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(Exclusive { _tx: None }),
            Pool::Pg(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(ADVISORY_XACT_LOCK).bind(lock_key(name)).execute(&mut *tx).await?;
                Ok(Exclusive { _tx: Some(tx) })
            }
        }
    }
}

/// At most this many rerun lines are kept per batch (the oldest are dropped).
const MAX_RERUN_LINES: usize = 50;

/// `history` with `line` appended, the oldest lines dropped past [`MAX_RERUN_LINES`].
fn rerun_history(history: Option<&str>, line: &str) -> String {
    let mut lines: Vec<&str> = history.unwrap_or_default().lines().filter(|l| !l.is_empty()).collect();
    lines.push(line);
    let skip = lines.len().saturating_sub(MAX_RERUN_LINES);
    lines[skip..].join("\n")
}

/// Who holds the SQLite one-writer lock, if anyone.
async fn lock_holder(p: &sqlx::SqlitePool) -> Result<Option<LockHolder>> {
    let row = sqlx::query(
        "SELECT worker_id, host, pid, heartbeat_ms FROM worker_lock WHERE id = 1 AND worker_id IS NOT NULL",
    )
    .fetch_optional(p)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(LockHolder {
        worker_id: r.try_get("worker_id")?,
        host: r.try_get::<Option<String>, _>("host")?.unwrap_or_default(),
        pid: r.try_get::<Option<i64>, _>("pid")?.unwrap_or(0),
        heartbeat_ms: r.try_get("heartbeat_ms")?,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn rerun_history_keeps_the_latest_lines() {
        assert_eq!(super::rerun_history(None, "a"), "a");
        assert_eq!(super::rerun_history(Some("a"), "b"), "a\nb");
        let long = (0..60).map(|i| i.to_string()).collect::<Vec<_>>().join("\n");
        let h = super::rerun_history(Some(&long), "x");
        assert_eq!(h.lines().count(), super::MAX_RERUN_LINES);
        assert!(h.ends_with("\nx") && h.starts_with("11\n"));
    }

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        assert_eq!(super::lock_key("account:1"), super::lock_key("account:1"));
        assert_ne!(super::lock_key("account:1"), super::lock_key("account:2"));
        assert!(super::lock_key("date:2024-03-22") >= 0);
    }
}
