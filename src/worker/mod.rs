//! `fundrecon worker`: the unattended service. Each channel's cron schedule queues its
//! batch (channel × business date, by the holiday calendar); workers take batches from
//! the queue in the database and run them stage by stage: fetching → parsing → matching →
//! reporting → done | failed.
//!
//! - **Queue and leases** (`store::queue`): a worker claims a batch with a lease and
//!   renews it every third of `worker.lease_secs` while a stage runs. A worker that dies
//!   stops renewing; once the lease has expired any other worker takes the batch over in
//!   the stage it was in. On PostgreSQL several processes on several machines share the
//!   queue (`FOR UPDATE SKIP LOCKED`); SQLite allows one worker (`worker_lock`).
//! - **Stages are safe to repeat**: fetching records files by content hash, parsing
//!   imports each file in one transaction and skips imported ones, matching replaces an
//!   account's results in one transaction (under a database lock per account), reporting
//!   writes into a temporary folder and renames. The state moves on only after a stage's
//!   work is committed, with a write fenced by the lease, so a takeover repeats at most
//!   one stage and never duplicates rows.
//! - **Failures**: an error of the stage itself (database unreachable, a transient fetch
//!   failure after the channel's own retries) is retried later with exponential backoff,
//!   up to `worker.max_attempts`, then the batch fails with the cause. Bad input (a broken
//!   file, a refused file) fails the batch at its end, as in `fundrecon run`.
//! - **Shutdown**: SIGTERM/SIGINT stop taking work; the current stage may finish within
//!   `worker.shutdown_secs`, else it is dropped (its open transaction rolls back) and the
//!   batch is released for any worker at once. Exit 0.
//! - **Time** comes from a [`Clock`]: the system clock, or a simulated one in tests.

pub mod clock;
pub mod metrics;
pub mod schedule;

pub use clock::Clock;

use crate::archive::Archive;
use crate::calendar::Calendar;
use crate::config::{Channel as ChannelConfig, Config};
use crate::job::daily::{self, Fetched, Imported};
use crate::job::progress::Progress;
use crate::store::{QueueRow, Store};
use anyhow::Context;
use chrono::{DateTime, Utc};
use metrics::Metrics;
use schedule::Schedule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::Instrument;

pub const STAGES: [&str; 4] = ["fetching", "parsing", "matching", "reporting"];

pub struct Options {
    /// The worker's id in the database (default `<host>-<pid>`).
    pub id: Option<String>,
    /// Exit once no batch is waiting or in progress anywhere (tests, one-off catch-up).
    pub drain: bool,
    /// Stop when the clock reaches this (simulated-time tests).
    pub until: Option<DateTime<Utc>>,
    pub clock: Clock,
}

/// What a stage hands on, kept in `runs.summary` under `"worker"` so that a worker taking
/// the batch over continues from it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Carry {
    fetched: Option<Fetched>,
    imported: Option<Imported>,
    book_errors: Option<Vec<String>>,
    /// Account → (matches, open discrepancies) after matching.
    matched: Option<BTreeMap<String, (usize, usize)>>,
}

impl Carry {
    fn from_summary(summary: Option<&str>) -> Carry {
        summary
            .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            .and_then(|v| serde_json::from_value(v.get("worker")?.clone()).ok())
            .unwrap_or_default()
    }

    /// The batch summary: the keys of `fundrecon run`'s batches, and this.
    fn summary(&self, report_dir: Option<&str>) -> (serde_json::Value, Vec<String>) {
        let fetched = self.fetched.clone().unwrap_or_default();
        let imported = self.imported.clone().unwrap_or_default();
        let (mut s, mut errors) = daily::batch_summary(&fetched, &imported);
        let books = self.book_errors.clone().unwrap_or_default();
        errors.extend(books.iter().map(|e| format!("books: {e}")));
        s["book_errors"] = serde_json::json!(books);
        s["errors"] = serde_json::json!(errors);
        if let Some(m) = &self.matched {
            s["matched"] = serde_json::json!(m);
        }
        if let Some(d) = report_dir {
            s["report_dir"] = serde_json::json!(d);
        }
        s["worker"] = serde_json::to_value(self).unwrap_or_default();
        (s, errors)
    }
}

/// How driving a stage ended.
enum Driven<T> {
    Finished(T),
    LeaseLost,
    /// Shutdown: the stage did not finish within `shutdown_secs` and was dropped.
    Aborted,
}

/// Whether the loop goes on after a batch.
#[derive(PartialEq, Eq, Debug)]
enum After {
    Continue,
    Stop,
}

pub struct Worker<'a> {
    cfg: &'a Config,
    store: &'a Store,
    pub id: String,
    clock: Clock,
    pub metrics: Metrics,
    tz: chrono_tz::Tz,
    cal: Calendar,
    schedules: Vec<(String, String, Schedule)>,
    last_checked: DateTime<Utc>,
    archive: Archive,
    lease: Duration,
    last_heartbeat: std::cell::Cell<Option<Instant>>,
    last_refresh: std::cell::Cell<Option<Instant>>,
}

/// This machine's name (for worker ids and the SQLite lock).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl<'a> Worker<'a> {
    /// Sets up a worker: calendar, schedules, archive, the worker row, and on SQLite the
    /// one-worker lock (refused, with who holds it, when another worker is alive).
    pub async fn start(cfg: &'a Config, store: &'a Store, opts: &Options) -> anyhow::Result<Worker<'a>> {
        let host = host_name();
        let id = opts.id.clone().unwrap_or_else(|| format!("{host}-{}", std::process::id()));
        let cal = cfg.calendar().map_err(|e| anyhow::anyhow!("worker.calendar: {e}"))?;
        let tz = cfg.worker_timezone();
        let now = opts.clock.now();
        let year = chrono::Datelike::year(&now.with_timezone(&tz).date_naive());
        if !cal.covers(year) {
            tracing::warn!(year, calendar = %cal.name, "the holiday calendar has no data for this year: weekends only; add the State Council notice to the calendar file");
        }
        let mut schedules = Vec::new();
        for (i, ch) in cfg.channels.iter().enumerate() {
            if let Some(s) = &ch.schedule {
                let s = Schedule::parse(s).map_err(|e| anyhow::anyhow!("channels[{i}].schedule: {e}"))?;
                schedules.push((ch.name.clone(), ch.bank.clone(), s));
            }
        }
        let lease = Duration::from_secs(cfg.worker.lease_secs);
        let now_ms = opts.clock.now_ms();
        if let Err(h) =
            store.take_worker_lock(&id, &host, std::process::id(), now_ms, now_ms - lease.as_millis() as i64).await?
        {
            anyhow::bail!(
                "another worker ({}, pid {} on {}, last heartbeat {} s ago) is running on this SQLite database; \
                 SQLite supports one worker. Stop it first, wait {} s if it died, or use PostgreSQL for several workers",
                h.worker_id,
                h.pid,
                h.host,
                (now_ms - h.heartbeat_ms) / 1000,
                cfg.worker.lease_secs
            );
        }
        store.register_worker(&id, &host, std::process::id(), now_ms).await?;
        let archive = Archive::open(&cfg.data_dir().join("archive"))?;
        let metrics = Metrics::new(2 * lease.as_millis() as i64 + 1000 * cfg.worker.poll_secs as i64);
        metrics.heartbeat(now_ms);
        let catch_up = chrono::Duration::hours(cfg.worker.catch_up_hours as i64);
        tracing::info!(worker = %id, backend = store.backend(), schedules = schedules.len(), calendar = %cal.name, timezone = %tz, "worker started");
        Ok(Worker {
            cfg,
            store,
            id,
            clock: opts.clock.clone(),
            metrics,
            tz,
            cal,
            schedules,
            last_checked: now - catch_up,
            archive,
            lease,
            last_heartbeat: std::cell::Cell::new(None),
            last_refresh: std::cell::Cell::new(None),
        })
    }

    fn lease_until(&self) -> i64 {
        self.clock.now_ms() + self.lease.as_millis() as i64
    }

    /// The loop: queue what the schedules ask for, take a batch, run it; idle for
    /// `poll_secs` when there is nothing to do. Returns when `stop` turns true (after the
    /// current stage, or its rollback), at `opts.until`, or, with `opts.drain`, when no
    /// batch is open.
    pub async fn run(&mut self, opts: &Options, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
        let poll = Duration::from_secs(self.cfg.worker.poll_secs);
        loop {
            if *stop.borrow() {
                break;
            }
            if opts.until.is_some_and(|u| self.clock.now() >= u) {
                break;
            }
            self.schedule_tick().await;
            self.heartbeat(false).await;
            match self.store.claim(&self.id, self.clock.now_ms(), self.lease_until()).await {
                Ok(Some(row)) => {
                    let after = self.work(row, &mut stop).await;
                    // Gauges stay current while busy too (at most once per poll).
                    self.refresh_metrics(false).await;
                    if after == After::Stop {
                        break;
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(worker = %self.id, error = %e, "cannot read the queue; trying again"),
            }
            self.refresh_metrics(false).await;
            if opts.drain {
                match self.store.open_batches().await {
                    Ok(open) if open.is_empty() => break,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot read the queue"),
                }
            }
            // Idle: wait for the next poll, a due schedule, or the stop signal; at most a
            // third of the lease, so the heartbeat stays fresh (`status` lists a worker whose
            // heartbeat is older than its lease as gone).
            let wait = self.next_wake(poll.min((self.lease / 3).max(Duration::from_secs(1))));
            tokio::select! {
                _ = self.clock.sleep(wait) => {}
                r = stop.changed() => if r.is_err() { break },
            }
        }
        self.refresh_metrics(true).await;
        if let Err(e) = self.store.worker_stopped(&self.id).await {
            tracing::warn!(error = %e, "could not record the worker's stop");
        }
        tracing::info!(worker = %self.id, "worker stopped");
        Ok(())
    }

    /// The idle wait: the poll interval, shortened to the next schedule fire.
    fn next_wake(&self, poll: Duration) -> Duration {
        let now = self.clock.now();
        let next = self.schedules.iter().filter_map(|(_, _, s)| s.next_fire(self.tz, now)).min();
        match next.and_then(|t| (t - now).to_std().ok()) {
            Some(d) if d < poll => d.max(Duration::from_millis(1)),
            _ => poll,
        }
    }

    /// Queues the batches of every schedule fire since the last look.
    pub async fn schedule_tick(&mut self) {
        let now = self.clock.now();
        if now <= self.last_checked || self.schedules.is_empty() {
            return;
        }
        for d in schedule::due(&self.schedules, &self.cal, self.tz, self.last_checked, now) {
            let by =
                format!("schedule {} at {}", d.channel, d.fired_at.with_timezone(&self.tz).format("%Y-%m-%d %H:%M:%S"));
            match self.store.enqueue(&d.channel, &d.bank, d.date, &by).await {
                Ok(Some(id)) => {
                    tracing::info!(run = id, channel = %d.channel, date = %d.date, "batch queued by its schedule")
                }
                Ok(None) => tracing::debug!(channel = %d.channel, date = %d.date, "batch exists"),
                Err(e) => {
                    // Look again next time: enqueueing is idempotent.
                    tracing::warn!(error = %e, "cannot queue scheduled batches; trying again");
                    return;
                }
            }
        }
        self.last_checked = now;
    }

    async fn heartbeat(&self, force: bool) {
        let every = self.lease / 3;
        if !force && self.last_heartbeat.get().is_some_and(|t| t.elapsed() < every) {
            return;
        }
        let now_ms = self.clock.now_ms();
        match self.store.worker_heartbeat(&self.id, now_ms).await {
            Ok(()) => self.metrics.heartbeat(now_ms),
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
        self.last_heartbeat.set(Some(Instant::now()));
    }

    async fn refresh_metrics(&self, force: bool) {
        if !force
            && self.last_refresh.get().is_some_and(|t| t.elapsed() < Duration::from_secs(self.cfg.worker.poll_secs))
        {
            return;
        }
        self.last_refresh.set(Some(Instant::now()));
        let r = async {
            Ok::<_, crate::store::StoreError>((
                self.store.state_counts().await?,
                self.store.open_discrepancy_counts().await?,
                self.store.last_success_per_bank().await?,
            ))
        }
        .await;
        match r {
            Ok((s, o, l)) => self.metrics.refresh(s, o, l),
            Err(e) => tracing::warn!(error = %e, "cannot refresh metrics"),
        }
        // Late and missing statements over the business days `status` looks at, as of the
        // worker's clock.
        let now = self.clock.now();
        let dates = crate::job::deliveries::recent_business_days(self.cfg, now, metrics::STATEMENT_DAYS);
        match crate::job::deliveries::missing_as_of(self.cfg, self.store, &dates, now).await {
            Ok(m) => self.metrics.statements(self.cfg, &m),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot refresh the statement gauges"),
        }
    }

    /// Runs a claimed batch from its current stage to its end, or until the lease is
    /// lost, a stage must be retried later, or shutdown.
    async fn work(&self, mut row: QueueRow, stop: &mut watch::Receiver<bool>) -> After {
        let span = tracing::info_span!("batch", run = row.id, channel = %row.channel, bank = %row.bank, date = %row.business_date, worker = %self.id);
        async move {
            tracing::info!(stage = %row.state, stage_tries = row.stage_tries, attempts = row.attempts, "batch taken");
            let Some(ch) = self.cfg.channels.iter().find(|c| c.name == row.channel).cloned() else {
                let msg = format!("channel {:?} is not in the configuration any more", row.channel);
                tracing::error!("{msg}");
                let (s, _) = Carry::from_summary(row.summary.as_deref()).summary(None);
                let _ = self.store.finish(row.id, &self.id, &row.state, "failed", Some(&msg), &s.to_string()).await;
                self.metrics.batch_finished("failed");
                return After::Continue;
            };
            let mut carry = Carry::from_summary(row.summary.as_deref());
            loop {
                let stage = row.state.clone();
                let try_no = row.stage_tries + 1;
                let log_id = match self.store.stage_started(row.id, &stage, &self.id, try_no).await {
                    Ok(id) => id,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot log the stage; giving the batch back");
                        let _ = self.store.release(row.id, &self.id).await;
                        return After::Continue;
                    }
                };
                let started = Instant::now();
                let stage_span = tracing::info_span!("stage", stage = %stage, try_no);
                let fut = run_stage(self.cfg, self.store, &self.archive, &self.metrics, &ch, &row, &stage, try_no, &self.id, carry.clone());
                let driven = self.drive(row.id, fut.instrument(stage_span), stop).await;
                let secs = started.elapsed().as_secs_f64();
                match driven {
                    Driven::Finished(Ok(next_carry)) => {
                        carry = next_carry;
                        if let Some(e) = carry.fetched.as_ref().and_then(|f| f.error.clone()).filter(|_| stage == "fetching") {
                            // A permanent fetch failure (a refused host key, login, folder):
                            // nothing was pulled, so the batch fails here, at its fetch; the
                            // later stages do not run and never show as done.
                            tracing::error!(error = %e, "fetch failed permanently; the batch fails");
                            let cause = format!("{} {e}", crate::store::FETCH_ERROR_PREFIX);
                            self.fail_batch(&row, &stage, log_id, &cause, &cause, &carry, secs).await;
                            return After::Continue;
                        }
                        let next = STAGES.iter().position(|s| *s == stage).and_then(|i| STAGES.get(i + 1)).copied();
                        let moved = match next {
                            Some(next) => {
                                let (s, _) = carry.summary(None);
                                self.store.advance(row.id, &self.id, &stage, next, &s.to_string()).await
                            }
                            None => {
                                let dir = self.cfg.output_dir().join(row.business_date.to_string());
                                let (s, errors) = carry.summary(Some(&dir.display().to_string()));
                                let (state, error) =
                                    if errors.is_empty() { ("done", None) } else { ("failed", Some(errors.join("\n"))) };
                                let r = self.store.finish(row.id, &self.id, &stage, state, error.as_deref(), &s.to_string()).await;
                                if matches!(r, Ok(true)) {
                                    self.metrics.batch_finished(state);
                                    tracing::info!(state, "batch finished");
                                }
                                r
                            }
                        };
                        match moved {
                            Ok(true) => {
                                self.metrics.stage_done(&stage, "done", secs);
                                let _ = self.store.stage_ended(log_id, "done", None).await;
                            }
                            Ok(false) => {
                                tracing::warn!(stage = %stage, "lease lost before the stage could be recorded; another worker has the batch");
                                self.metrics.stage_done(&stage, "lease_lost", secs);
                                let _ = self.store.stage_ended(log_id, "lease_lost", None).await;
                                return After::Continue;
                            }
                            Err(e) => {
                                // The work is committed and idempotent: whoever takes the
                                // batch next repeats this stage harmlessly.
                                tracing::warn!(error = %e, "cannot record the stage's end; the batch will be taken again after the lease");
                                return After::Continue;
                            }
                        }
                        match next {
                            None => return After::Continue,
                            Some(next) => {
                                if *stop.borrow() {
                                    // Stop taking work: the next stage is for any worker.
                                    let _ = self.store.release(row.id, &self.id).await;
                                    tracing::info!(next_stage = next, "shutdown: batch released between stages");
                                    return After::Stop;
                                }
                                row.state = next.to_string();
                                row.stage_tries = 0;
                            }
                        }
                    }
                    Driven::Finished(Err(e)) => {
                        let cause = format!("{stage}: {e:#}");
                        if try_no >= i64::from(self.cfg.worker.max_attempts) {
                            tracing::error!(error = %cause, tries = try_no, "stage failed for the last time; the batch fails");
                            let msg = format!("{cause} (after {try_no} tries)");
                            self.fail_batch(&row, &stage, log_id, &msg, &cause, &carry, secs).await;
                        } else {
                            let wait = backoff(&self.cfg.worker, try_no);
                            let at = self.clock.now_ms() + wait.as_millis() as i64;
                            tracing::warn!(error = %cause, tries = try_no, retry_in_s = wait.as_secs(), "stage failed; retrying later");
                            let _ = self.store.retry_later(row.id, &self.id, &stage, at, &cause).await;
                            self.metrics.stage_done(&stage, "retry", secs);
                            let _ = self.store.stage_ended(log_id, "retry", Some(&cause)).await;
                        }
                        return After::Continue;
                    }
                    Driven::LeaseLost => {
                        tracing::warn!(stage = %stage, "lease lost: another worker took the batch; stage dropped");
                        self.metrics.stage_done(&stage, "lease_lost", secs);
                        let _ = self.store.stage_ended(log_id, "lease_lost", None).await;
                        return After::Continue;
                    }
                    Driven::Aborted => {
                        tracing::warn!(stage = %stage, "shutdown: stage did not finish in time; rolled back, batch released");
                        let _ = self.store.release(row.id, &self.id).await;
                        self.metrics.stage_done(&stage, "aborted", secs);
                        let _ = self.store.stage_ended(log_id, "aborted", Some("shutdown")).await;
                        return After::Stop;
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Ends a batch `failed` in `stage` with `error`, and that stage's log row `failed`
    /// with `cause`.
    #[allow(clippy::too_many_arguments)]
    async fn fail_batch(
        &self,
        row: &QueueRow,
        stage: &str,
        log_id: i64,
        error: &str,
        cause: &str,
        carry: &Carry,
        secs: f64,
    ) {
        let (s, _) = carry.summary(None);
        if matches!(self.store.finish(row.id, &self.id, stage, "failed", Some(error), &s.to_string()).await, Ok(true)) {
            self.metrics.batch_finished("failed");
        }
        self.metrics.stage_done(stage, "failed", secs);
        let _ = self.store.stage_ended(log_id, "failed", Some(cause)).await;
    }

    /// Drives a stage while renewing the lease; on shutdown gives it `shutdown_secs`.
    async fn drive<F, T>(&self, run_id: i64, fut: F, stop: &mut watch::Receiver<bool>) -> Driven<T>
    where
        F: std::future::Future<Output = T>,
    {
        let mut fut = std::pin::pin!(fut);
        let every = (self.lease / 3).max(Duration::from_millis(200));
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut deadline: Option<tokio::time::Instant> =
            if *stop.borrow() { Some(tokio::time::Instant::now() + self.grace()) } else { None };
        let mut stop_open = true;
        loop {
            let until_deadline = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = &mut fut => return Driven::Finished(r),
                _ = ticker.tick() => {
                    match self.store.renew_lease(run_id, &self.id, self.lease_until()).await {
                        Ok(true) => {}
                        Ok(false) => return Driven::LeaseLost,
                        Err(e) => tracing::warn!(error = %e, "lease renewal failed; trying again"),
                    }
                    self.heartbeat(true).await;
                }
                r = stop.changed(), if deadline.is_none() && stop_open => {
                    if r.is_err() {
                        stop_open = false;
                    } else if *stop.borrow() {
                        tracing::info!(grace_s = self.cfg.worker.shutdown_secs, "shutdown requested: finishing the current stage");
                        deadline = Some(tokio::time::Instant::now() + self.grace());
                    }
                }
                _ = until_deadline => return Driven::Aborted,
            }
        }
    }

    fn grace(&self) -> Duration {
        Duration::from_secs(self.cfg.worker.shutdown_secs)
    }
}

/// The wait before try `try_no + 1` of a stage: `backoff_secs · 2^(try_no-1)`, at most
/// `backoff_max_secs`.
pub fn backoff(w: &crate::config::WorkerConfig, try_no: i64) -> Duration {
    let exp = u32::try_from(try_no.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    Duration::from_secs(w.backoff_secs.saturating_mul(1u64 << exp).min(w.backoff_max_secs))
}

/// Test hooks, honoured only in debug builds (the test suite's): `FUNDRECON_TEST_PAUSE=
/// stage:ms` pauses after a stage's work, before its state moves on (the most delicate
/// moment for a takeover); `FUNDRECON_TEST_FAIL=stage:n` fails the first n tries of a
/// stage with a transient error.
fn test_hook(var: &str, stage: &str) -> Option<u64> {
    if !cfg!(debug_assertions) {
        return None;
    }
    let v = std::env::var(var).ok()?;
    let (s, n) = v.split_once(':')?;
    if s == stage { n.parse().ok() } else { None }
}

/// One stage of one batch. `Err`: the stage itself failed (retried later); problems of
/// the input are recorded in the returned [`Carry`] and fail the batch at its end.
#[allow(clippy::too_many_arguments)]
async fn run_stage(
    cfg: &Config,
    store: &Store,
    archive: &Archive,
    metrics: &Metrics,
    ch: &ChannelConfig,
    row: &QueueRow,
    stage: &str,
    try_no: i64,
    _worker: &str,
    mut carry: Carry,
) -> anyhow::Result<Carry> {
    let progress = Progress::new(false);
    if test_hook("FUNDRECON_TEST_FAIL", stage).is_some_and(|n| try_no <= n as i64) {
        anyhow::bail!("test hook: simulated transient failure (try {try_no})");
    }
    match stage {
        "fetching" => {
            // One pull per channel at a time, across workers: the fetch state and the
            // source files' `after_pull` are the channel's, not the batch's.
            let _lock = store.exclusive(&format!("fetch:{}", ch.name)).await?;
            let f = daily::fetch_batch(cfg, store, archive, ch, row.id, &progress).await;
            if f.error.is_some() {
                metrics.fetch_error(&ch.name);
            }
            if f.transient {
                anyhow::bail!("{}", f.error.unwrap_or_default());
            }
            carry.fetched = Some(f);
        }
        "parsing" => {
            let i = daily::import_batch(cfg, store, archive, ch, row.id, &progress).await;
            metrics.parsed(i.imported, i.statements, i.entries_new);
            carry.imported = Some(i);
        }
        "matching" => {
            carry.book_errors = Some({
                let _lock = store.exclusive("books").await?;
                daily::import_books(cfg, store, archive).await
            });
            let agreements = crate::job::interest::all_agreements(cfg, store).await?;
            let mut matched = BTreeMap::new();
            for a in daily::accounts(cfg, &agreements).iter().filter(|a| a.bank == ch.bank) {
                let span = tracing::info_span!("account", account = %a.number);
                let r = async {
                    let _lock = store.exclusive(&format!("account:{}", a.number)).await?;
                    crate::job::match_account(store, a, cfg.matching.date_window_days, Some(row.business_date)).await
                }
                .instrument(span)
                .await?;
                let open = r.discrepancies.len();
                metrics.matches(&a.number, r.matches.len());
                tracing::info!(account = %a.number, matches = r.matches.len(), open, "matched");
                matched.insert(a.number.clone(), (r.matches.len(), open));
            }
            carry.matched = Some(matched);
        }
        "reporting" => {
            let date = row.business_date;
            // One writer per date: the report covers every account.
            let _lock = store.exclusive(&format!("report:{date}")).await?;
            let books = carry.book_errors.clone().unwrap_or_default();
            // `report_date` writes the folder whole beside it and renames it into place.
            let dir = cfg.output_dir().join(date.to_string());
            daily::report_date(cfg, store, date, &books, &dir, &progress).await?;
        }
        other => anyhow::bail!("unknown stage {other:?}"),
    }
    if let Some(ms) = test_hook("FUNDRECON_TEST_PAUSE", stage) {
        tracing::info!(ms, "test hook: pausing before the stage is recorded");
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    Ok(carry)
}

/// `fundrecon worker`: signals, metrics port, the loop. Exit code 0 after a clean stop.
pub async fn service(cfg: &Config, store: &Store, opts: Options) -> anyhow::Result<i32> {
    let mut worker = Worker::start(cfg, store, &opts).await?;
    let (tx, rx) = watch::channel(false);
    let signals = tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "stopping: no new work");
        let _ = tx.send(true);
        // Keep the handlers installed so a second signal does not kill the process
        // mid-transaction; the shutdown bound applies.
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::warn!("signal again: still finishing (bounded by worker.shutdown_secs)");
        }
    });
    let server = match &cfg.worker.metrics_listen {
        Some(addr) => {
            let addr: std::net::SocketAddr = addr.parse().context("worker.metrics_listen")?;
            let (m, c, r) = (worker.metrics.clone(), opts.clock.clone(), rx.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = metrics::serve(addr, m, c, r).await {
                    tracing::error!(error = %e, "metrics server stopped");
                }
            }))
        }
        None => None,
    };
    let r = worker.run(&opts, rx).await;
    signals.abort();
    if let Some(s) = server {
        s.abort();
    }
    r?;
    Ok(crate::job::EXIT_CLEAN)
}
