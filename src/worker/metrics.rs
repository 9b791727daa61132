//! Metrics in the Prometheus text format and `/healthz`, on an optional HTTP port
//! (`worker.metrics_listen`). Counters and stage durations are this process's; gauges
//! read from the database (batches by state, open discrepancies, last success per bank)
//! are refreshed by the worker loop, so a scrape never touches the database.
//!
//! The port is unauthenticated and read-only; it shows counts, dates and bank ids, never
//! amounts, account holders or secrets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// Upper bounds (seconds) of the stage-duration histogram buckets.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0];

/// How many business days back the statement gauges look (as `status` does by default).
pub const STATEMENT_DAYS: usize = 5;

#[derive(Default, Debug)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default, Debug)]
struct Inner {
    batches_by_state: BTreeMap<String, i64>,
    stage_seconds: BTreeMap<String, Histogram>,
    stage_outcomes: BTreeMap<(String, String), u64>,
    entries_parsed: u64,
    statements_parsed: u64,
    files_imported: u64,
    matches: BTreeMap<String, i64>,
    open_discrepancies: BTreeMap<(String, String), i64>,
    fetch_errors: BTreeMap<String, u64>,
    last_success: BTreeMap<String, i64>,
    /// Statements past their deadline per channel, over [`STATEMENT_DAYS`].
    statements_late: BTreeMap<String, i64>,
    /// Statements not here (late or not yet due) per (bank, account).
    statements_missing: BTreeMap<(String, String), i64>,
    batches_finished: BTreeMap<String, u64>,
    /// Epoch ms of the last successful heartbeat (database reachable).
    heartbeat_ms: i64,
    /// How old a heartbeat may be for `/healthz` to say ok.
    healthy_within_ms: i64,
}

/// Shared by the worker loop (writes) and the HTTP handlers (reads).
#[derive(Clone, Default, Debug)]
pub struct Metrics(Arc<Mutex<Inner>>);

impl Metrics {
    pub fn new(healthy_within_ms: i64) -> Metrics {
        let m = Metrics::default();
        m.with(|i| i.healthy_within_ms = healthy_within_ms);
        m
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    pub fn stage_done(&self, stage: &str, outcome: &str, seconds: f64) {
        self.with(|i| {
            let h = i.stage_seconds.entry(stage.to_string()).or_default();
            for (n, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[n] += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
            *i.stage_outcomes.entry((stage.to_string(), outcome.to_string())).or_default() += 1;
        })
    }

    pub fn parsed(&self, files: u64, statements: u64, entries: u64) {
        self.with(|i| {
            i.files_imported += files;
            i.statements_parsed += statements;
            i.entries_parsed += entries;
        })
    }

    pub fn matches(&self, account: &str, n: usize) {
        self.with(|i| i.matches.insert(account.to_string(), n as i64));
    }

    pub fn fetch_error(&self, channel: &str) {
        self.with(|i| *i.fetch_errors.entry(channel.to_string()).or_default() += 1);
    }

    pub fn batch_finished(&self, state: &str) {
        self.with(|i| *i.batches_finished.entry(state.to_string()).or_default() += 1);
    }

    pub fn heartbeat(&self, now_ms: i64) {
        self.with(|i| i.heartbeat_ms = now_ms);
    }

    /// Gauges read from the database by the worker loop.
    pub fn refresh(
        &self,
        states: Vec<(String, i64)>,
        open: Vec<(String, String, i64)>,
        last_success: Vec<(String, chrono::DateTime<chrono::Utc>)>,
    ) {
        self.with(|i| {
            i.batches_by_state = states.into_iter().collect();
            i.open_discrepancies = open.into_iter().map(|(a, k, n)| ((a, k), n)).collect();
            i.last_success = last_success.into_iter().map(|(b, t)| (b, t.timestamp())).collect();
        })
    }

    /// The statement gauges, from the deliveries check (every configured channel and
    /// account listed, at 0 when nothing is missing).
    pub fn statements(&self, cfg: &crate::config::Config, missing: &[crate::job::deliveries::Missing]) {
        let mut late: BTreeMap<String, i64> = cfg.channels.iter().map(|c| (c.name.clone(), 0)).collect();
        let mut owed: BTreeMap<(String, String), i64> =
            cfg.accounts.iter().map(|a| ((a.bank.clone(), a.number.clone()), 0)).collect();
        for m in missing {
            if m.status == "late" {
                *late.entry(m.channel.clone()).or_default() += 1;
            }
            *owed.entry((m.bank.clone(), m.account_no.clone())).or_default() += 1;
        }
        self.with(|i| {
            i.statements_late = late;
            i.statements_missing = owed;
        })
    }

    pub fn healthy(&self, now_ms: i64) -> bool {
        self.with(|i| i.heartbeat_ms > 0 && now_ms - i.heartbeat_ms <= i.healthy_within_ms)
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        self.with(|i| {
            let mut o = String::new();
            let head = |o: &mut String, name: &str, kind: &str, help: &str| {
                let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
            };
            head(&mut o, "fundrecon_batches", "gauge", "Batches in the database by state.");
            for state in ["queued", "fetching", "parsing", "matching", "reporting", "done", "failed", "running"] {
                let n = i.batches_by_state.get(state).copied().unwrap_or(0);
                let _ = writeln!(o, "fundrecon_batches{{state=\"{state}\"}} {n}");
            }
            head(&mut o, "fundrecon_stage_duration_seconds", "histogram", "Time per batch stage in this worker.");
            for (stage, h) in &i.stage_seconds {
                for (n, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        o,
                        "fundrecon_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"{b}\"}} {}",
                        h.counts[n]
                    );
                }
                let _ =
                    writeln!(o, "fundrecon_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(o, "fundrecon_stage_duration_seconds_sum{{stage=\"{stage}\"}} {}", h.sum);
                let _ = writeln!(o, "fundrecon_stage_duration_seconds_count{{stage=\"{stage}\"}} {}", h.count);
            }
            head(&mut o, "fundrecon_stages_total", "counter", "Stage executions in this worker by outcome.");
            for ((stage, outcome), n) in &i.stage_outcomes {
                let _ = writeln!(o, "fundrecon_stages_total{{stage=\"{stage}\",outcome=\"{outcome}\"}} {n}");
            }
            head(
                &mut o,
                "fundrecon_batches_finished_total",
                "counter",
                "Batches this worker finished, by final state.",
            );
            for (state, n) in &i.batches_finished {
                let _ = writeln!(o, "fundrecon_batches_finished_total{{state=\"{state}\"}} {n}");
            }
            head(&mut o, "fundrecon_files_imported_total", "counter", "Statement files imported by this worker.");
            let _ = writeln!(o, "fundrecon_files_imported_total {}", i.files_imported);
            head(
                &mut o,
                "fundrecon_statements_parsed_total",
                "counter",
                "Statements parsed and stored by this worker.",
            );
            let _ = writeln!(o, "fundrecon_statements_parsed_total {}", i.statements_parsed);
            head(&mut o, "fundrecon_entries_parsed_total", "counter", "New bank entries stored by this worker.");
            let _ = writeln!(o, "fundrecon_entries_parsed_total {}", i.entries_parsed);
            head(&mut o, "fundrecon_matches", "gauge", "Matches per account after this worker's last matching of it.");
            for (a, n) in &i.matches {
                let _ = writeln!(o, "fundrecon_matches{{account=\"{a}\"}} {n}");
            }
            head(
                &mut o,
                "fundrecon_open_discrepancies",
                "gauge",
                "Open discrepancies in the database by account and type.",
            );
            for ((a, k), n) in &i.open_discrepancies {
                let _ = writeln!(o, "fundrecon_open_discrepancies{{account=\"{a}\",type=\"{k}\"}} {n}");
            }
            head(&mut o, "fundrecon_fetch_errors_total", "counter", "Failed pulls per channel in this worker.");
            for (c, n) in &i.fetch_errors {
                let _ = writeln!(o, "fundrecon_fetch_errors_total{{channel=\"{c}\"}} {n}");
            }
            head(
                &mut o,
                "fundrecon_last_success_timestamp_seconds",
                "gauge",
                "When the latest batch of each bank finished done (Unix time).",
            );
            for (b, t) in &i.last_success {
                let _ = writeln!(o, "fundrecon_last_success_timestamp_seconds{{bank=\"{b}\"}} {t}");
            }
            head(
                &mut o,
                "fundrecon_statements_late",
                "gauge",
                "Statements past their delivery deadline per channel, over the last business days.",
            );
            for (c, n) in &i.statements_late {
                let _ = writeln!(o, "fundrecon_statements_late{{channel=\"{c}\"}} {n}");
            }
            head(
                &mut o,
                "fundrecon_statements_missing",
                "gauge",
                "Statements not here (late or not yet due) per bank and account, over the last business days.",
            );
            for ((b, a), n) in &i.statements_missing {
                let _ = writeln!(o, "fundrecon_statements_missing{{bank=\"{b}\",account=\"{a}\"}} {n}");
            }
            head(
                &mut o,
                "fundrecon_worker_heartbeat_timestamp_seconds",
                "gauge",
                "Last database heartbeat of this worker.",
            );
            let _ = writeln!(o, "fundrecon_worker_heartbeat_timestamp_seconds {}", i.heartbeat_ms / 1000);
            o
        })
    }
}

/// Serves `/metrics` and `/healthz` until `stop` turns true.
pub async fn serve(
    addr: std::net::SocketAddr,
    metrics: Metrics,
    clock: super::Clock,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("worker.metrics_listen {addr}: cannot listen: {e}"))?;
    tracing::info!(%addr, "metrics and /healthz listening");
    let m1 = metrics.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = m1.clone();
                async move { ([("content-type", "text/plain; version=0.0.4; charset=utf-8")], m.render()) }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let (m, c) = (metrics.clone(), clock.clone());
                async move {
                    if m.healthy(c.now_ms()) {
                        (axum::http::StatusCode::OK, "ok\n")
                    } else {
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "no database heartbeat\n")
                    }
                }
            }),
        );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new(10_000);
        m.stage_done("parsing", "done", 0.3);
        m.stage_done("parsing", "done", 7.0);
        m.parsed(2, 3, 40);
        m.fetch_error("boc-drop");
        m.refresh(vec![("done".into(), 5)], vec![("4500".into(), "bank_fee".into(), 2)], vec![]);
        let t = m.render();
        for want in [
            "fundrecon_batches{state=\"done\"} 5\n",
            "fundrecon_batches{state=\"queued\"} 0\n",
            "fundrecon_stage_duration_seconds_bucket{stage=\"parsing\",le=\"0.5\"} 1\n",
            "fundrecon_stage_duration_seconds_bucket{stage=\"parsing\",le=\"+Inf\"} 2\n",
            "fundrecon_stage_duration_seconds_count{stage=\"parsing\"} 2\n",
            "fundrecon_entries_parsed_total 40\n",
            "fundrecon_open_discrepancies{account=\"4500\",type=\"bank_fee\"} 2\n",
            "fundrecon_fetch_errors_total{channel=\"boc-drop\"} 1\n",
            "# TYPE fundrecon_stage_duration_seconds histogram\n",
        ] {
            assert!(t.contains(want), "{want} missing from\n{t}");
        }
        assert!(!m.healthy(1));
        m.heartbeat(1000);
        assert!(m.healthy(5000));
        assert!(!m.healthy(20_000));
    }
}
