//! Command line. Output for people on stdout, logs on stderr (tracing), progress on a
//! terminal only. Exit codes: 0 clean, 1 discrepancies found, 2 failure (including usage
//! errors, as clap reports them).

use crate::config::Config;
use crate::job::{self, EXIT_CLEAN, EXIT_FAILURE};
use crate::parse::{self, Format, Limits};
use crate::store::Store;
use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "fundrecon",
    version,
    about = "Bank statement reconciliation for social-insurance fund special accounts (专户)"
)]
pub struct Cli {
    /// Configuration file.
    #[arg(long, global = true, env = "FUNDRECON_CONFIG", default_value = "fundrecon.toml")]
    pub config: PathBuf,
    /// Log format on stderr: text or json.
    #[arg(long, global = true, default_value = "text")]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The daily reconciliation: fetch, archive, parse, match, report.
    Run {
        /// Business date of the batches (default: yesterday in the configured time zone).
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Rerun one batch by id (same inputs, same results; archived files are reused).
    /// With --from-stage the batch is queued for the workers instead (as `runs rerun`).
    Rerun {
        id: i64,
        /// Queue it for the workers from this stage: `fetch` (pull again) or `parse`
        /// (reuse the files already archived for the batch).
        #[arg(long, value_parser = ["fetch", "parse"])]
        from_stage: Option<String>,
    },
    /// The scheduled service: queues each channel's batch on its `schedule`, takes
    /// batches from the queue (several workers share a PostgreSQL database; SQLite allows
    /// one) and runs them stage by stage. Stops on SIGTERM/SIGINT (exit 0).
    Worker {
        /// This worker's id in the database (default `<host>-<pid>`).
        #[arg(long)]
        id: Option<String>,
        /// Exit once no batch is waiting or in progress (process the queue, then stop).
        #[arg(long)]
        drain: bool,
        /// `host:port` for /metrics and /healthz, instead of `worker.metrics_listen`
        /// (several workers on one machine need one port each).
        #[arg(long)]
        metrics_listen: Option<String>,
    },
    /// Where things stand: the last batch per channel, failed batches, and statements
    /// that are late or due over the last business days.
    Status {
        /// How many business days back to look for missing statements.
        #[arg(long, default_value_t = 5)]
        days: u32,
    },
    /// Why a bank reference or voucher stands where it does: its entries and records, the
    /// matches (rule, rule-set version, reason, other side) and open items holding it.
    Explain { key: String },
    /// People's decisions on matching (append-only audit rows with who and why): confirm,
    /// reject, match by hand, unmatch, annotate; list them, list open items, verify the trail.
    Review {
        #[command(subcommand)]
        cmd: ReviewCmd,
    },
    /// The review web page (`[serve]` in the config): runs, open items, explanations and
    /// the review actions for logged-in users. `serve hash-password` prints the argon2id
    /// hash of a password read from stdin, for `[[serve.users]] password_hash`.
    Serve {
        #[command(subcommand)]
        cmd: Option<ServeCmd>,
    },
    /// List or show batches.
    Runs {
        #[command(subcommand)]
        cmd: RunsCmd,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Parse one statement file and print what it holds.
    Parse {
        file: PathBuf,
        /// Force a format (mt940, camt, bai2, table) or a bank layout by name
        /// (`icbc-corporate`…) instead of detecting it.
        #[arg(long)]
        format: Option<String>,
        /// Print the stable JSON form.
        #[arg(long)]
        json: bool,
        /// The account the file belongs to, for bank exports that do not name one.
        #[arg(long)]
        account: Option<String>,
    },
    /// Interest under the deposit agreement: per settlement window the 积数 per leg and
    /// segment, the expected interest, what the bank credited, the difference and the gain
    /// over the demand rate. Either from the database (--account) or, needing no database,
    /// from a balances CSV and an agreement TOML (--balances, --terms).
    Interest {
        /// A configured account: balances come from its stored statements.
        #[arg(long, conflicts_with_all = ["balances", "terms"])]
        account: Option<String>,
        /// `date,balance` end-of-day balances (every day of the period).
        #[arg(long, requires = "terms")]
        balances: Option<PathBuf>,
        /// One agreement in TOML (the shape of `[[agreements]]` in the config).
        #[arg(long, requires = "balances")]
        terms: Option<PathBuf>,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        /// Print JSON (amounts as decimal strings).
        #[arg(long)]
        json: bool,
    },
    /// Deposit agreements kept in the database (beside the config's `[[agreements]]`).
    Agreements {
        #[command(subcommand)]
        cmd: AgreementsCmd,
    },
    /// Parser throughput and memory on generated files (build with --release).
    Bench {
        /// Size of each generated file, in MiB.
        #[arg(long, default_value_t = 100)]
        size_mb: u64,
        /// Formats to measure (mt940, camt); default all.
        #[arg(long, value_delimiter = ',')]
        formats: Vec<String>,
        /// Keep the generated files here (reused when big enough).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Matching throughput and memory on a generated scenario (statements + books with
    /// planted discrepancies of every type), scored against its truth. Use --release.
    BenchMatch {
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
        /// Instead of the scenario generator: a delivery of the independent generator
        /// (`bankgen`: mt940, camt, gbk or mixed), through `reconcile`, scored.
        #[arg(long, value_parser = ["mt940", "camt", "gbk", "mixed"])]
        delivery: Option<String>,
        /// With --delivery: the generator's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// With --delivery: accounts, business days, entries per account and day.
        #[arg(long, default_value_t = 8)]
        accounts: usize,
        #[arg(long, default_value_t = 40)]
        days: u32,
        #[arg(long, default_value_t = 25)]
        per_day: usize,
        /// With --delivery: keep the delivery and the reports here.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// With --delivery: which independent generator writes it (`bankgen`, or the
        /// `holdout` one written by another hand from other banks' guides).
        #[arg(long, default_value = "bankgen", value_parser = ["bankgen", "holdout"])]
        generator: String,
    },
    /// `reconcile` end to end (parse, import, match, reports) on a generated delivery of
    /// statement files in three formats (MT940, camt.053, GBK bank export) with its books;
    /// prints seconds and peak RSS. Use --release.
    BenchReconcile {
        #[arg(long, default_value_t = 5_000)]
        files: u64,
        /// Size of all statement files together, in MiB.
        #[arg(long, default_value_t = 400)]
        size_mb: u64,
        /// Keep the generated delivery here (reused when it has the same files and size).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// (internal) parse one file for `bench` and print bytes, entries, seconds, peak RSS.
    #[command(hide = true)]
    BenchParse {
        file: PathBuf,
        #[arg(long)]
        format: String,
    },
    /// The month's workbook from the database (matching recomputed from what is stored, as
    /// a rerun does): entries, records and matches of the month, open items up to its end
    /// with their ages, the 银行存款余额调节表 at its end, its interest credits.
    Report {
        /// The month, `YYYY-MM`.
        #[arg(long)]
        month: String,
        #[arg(long, default_value = "xlsx", value_parser = ["xlsx", "html"])]
        format: String,
        /// Folder to write `report-YYYY-MM.xlsx` to (default: `<output_dir>/YYYY-MM/`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Parse + match in one shot, in memory (the database's import rules, no database);
    /// writes the reports to --out.
    Reconcile {
        /// Statement files or folders (walked recursively; formats detected from content).
        #[arg(long, num_args = 1.., required = true)]
        statements: Vec<PathBuf>,
        /// Disbursement (拨付) book CSV.
        #[arg(long, num_args = 1..)]
        disbursements: Vec<PathBuf>,
        /// Receipt (收款) book CSV.
        #[arg(long, num_args = 1..)]
        receipts: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        /// Business days after the book date within which the bank may execute.
        #[arg(long, default_value_t = 3)]
        window_days: u32,
    },
}

#[derive(Subcommand, Debug)]
pub enum ServeCmd {
    /// Reads a password from stdin (first line) and prints its argon2id PHC string.
    HashPassword,
}

#[derive(Subcommand, Debug)]
pub enum RunsCmd {
    /// All batches, or only failed ones.
    List {
        #[arg(long)]
        failed: bool,
    },
    /// One batch with its files, error and summary.
    Show { id: i64 },
    /// Queue the batches of a business date for the workers (every channel, or one);
    /// a batch that exists already is left as it is. A date that is no business day
    /// (weekend without 调休 make-up working day, public holiday) is refused without --force.
    Queue {
        #[arg(long)]
        date: NaiveDate,
        #[arg(long)]
        channel: Option<String>,
        /// Queue it even though the date is no business day.
        #[arg(long)]
        force: bool,
    },
    /// Queue a finished (failed or done) batch again for the workers.
    Rerun {
        id: i64,
        /// `fetch` (default: pull again) or `parse` (reuse the files already archived
        /// for the batch).
        #[arg(long, value_parser = ["fetch", "parse"])]
        from_stage: Option<String>,
    },
}

/// The items a decision names, and who decides why.
#[derive(clap::Args, Debug)]
pub struct Decide {
    /// The account (as configured).
    #[arg(long)]
    account: String,
    /// A bank entry: its bank reference, or its entry key (`REF#2`) when the reference repeats.
    #[arg(long = "entry")]
    entries: Vec<String>,
    /// A book record: its voucher number, or `disbursement:V`/`receipt:V` when both exist.
    #[arg(long = "voucher")]
    vouchers: Vec<String>,
    /// Why (recorded; required).
    #[arg(long)]
    why: String,
    /// Who decides (recorded); default: $FUNDRECON_USER, else $USER.
    #[arg(long, env = "FUNDRECON_USER")]
    by: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ReviewCmd {
    /// Keep an automatic match (no rule will redo it), or accept an open item as explained.
    Confirm(Decide),
    /// An automatic match is wrong: its items stay open until matched by hand.
    Reject(Decide),
    /// Match entries and records by hand (amounts must agree to the fen).
    Match(Decide),
    /// Withdraw the decision holding an item: it goes back to automatic matching.
    Unmatch(Decide),
    /// A note on items; changes nothing else.
    Annotate(Decide),
    /// The audit rows, oldest first.
    List {
        #[arg(long)]
        account: Option<String>,
    },
    /// Open items with their age in days (as of --as-of, default today).
    Open {
        #[arg(long)]
        account: Option<String>,
        /// Only this type (missing_in_bank, amount_mismatch…).
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Check the audit trail's hash chain: a changed or removed row is named.
    Verify,
}

#[derive(Subcommand, Debug)]
pub enum AgreementsCmd {
    /// Validate one agreement (TOML, the shape of `[[agreements]]`, with `account`) and
    /// store it; refused if it overlaps another agreement of the account.
    Load {
        file: PathBuf,
        /// Who loads it (recorded); default: $USER.
        #[arg(long)]
        by: Option<String>,
    },
    /// Every agreement in force anywhere: config and database.
    List,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Report every problem in the config, with its TOML path.
    Check,
}

fn init_tracing(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FUNDRECON_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        b.json().flatten_event(true).init();
    } else {
        b.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init();
    }
}

/// Entry point: returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_tracing(&cli.log_format);
    // A one-shot command whose reader went away (`| head`) ends quietly, as Unix tools
    // do: the default SIGPIPE action instead of Rust's ignore-and-panic in `println!`.
    // The worker and the web page write to sockets and keep the error instead.
    if !matches!(cli.command, Command::Worker { .. } | Command::Serve { .. }) {
        restore_sigpipe();
    }
    // A command that runs once over a batch keeps its freed memory for reuse (see
    // `alloc`); the worker and the web page run for days and give it back, and
    // bench-match gives the generator's rows back before it measures matching's peak.
    if !matches!(cli.command, Command::Worker { .. } | Command::Serve { .. } | Command::BenchMatch { .. }) {
        crate::alloc::tune_for_batch();
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return EXIT_FAILURE;
        }
    };
    match rt.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_FAILURE
        }
    }
}

/// The SQLite database's run lock (`store::run_lock`), taken before the database is
/// opened: a second `run` or `rerun` on the same database refuses at once in one line
/// naming the holder, instead of both failing on "database is locked". Workers are not
/// excluded: they lease batches, and a `run` leaves a batch a worker holds alone.
/// PostgreSQL: no lock.
fn take_run_lock(cfg: &Config) -> anyhow::Result<Option<crate::store::RunLock>> {
    let url = cfg.database_url();
    std::fs::create_dir_all(cfg.data_dir()).with_context(|| format!("creating {}", cfg.data_dir().display()))?;
    crate::store::run_lock(&url, &crate::worker::host_name()).map_err(|holder| {
        anyhow::anyhow!(
            "another fundrecon run holds {} ({holder}); wait for it to finish or stop it, then run again",
            url.trim_start_matches("sqlite://")
        )
    })
}

fn restore_sigpipe() {
    // SAFETY: setting a signal's disposition to its default, before any other thread runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    let cfg = Config::load(path)?;
    // Business days (matching windows, deadlines, schedules) follow the configured
    // holiday calendar; `Config::check` has reported a calendar that does not load.
    if let Ok(c) = cfg.calendar() {
        crate::calendar::install(c);
    }
    Ok(cfg)
}

async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(cfg.data_dir()).with_context(|| format!("creating {}", cfg.data_dir().display()))?;
    let url = cfg.database_url();
    Store::open(&url).await.with_context(|| {
        format!("opening the {} database", if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" })
    })
}

fn today(cfg: &Config) -> NaiveDate {
    let tz = cfg.tz();
    chrono::Utc::now().with_timezone(&tz).date_naive()
}

fn yesterday(cfg: &Config) -> NaiveDate {
    let today = today(cfg);
    today.pred_opt().unwrap_or(today)
}

async fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Config { cmd: ConfigCmd::Check } => {
            let cfg = load(&cli.config)?;
            println!(
                "{}: ok ({} banks, {} accounts, {} channels, {} book sources)",
                cli.config.display(),
                cfg.banks.len(),
                cfg.accounts.len(),
                cfg.channels.len(),
                cfg.books.len()
            );
            Ok(EXIT_CLEAN)
        }
        Command::Parse { file, format, json, account } => {
            if let Some(f) = format.as_deref()
                && !parse::known_format(f)
            {
                anyhow::bail!(
                    "unknown format {f:?} (known: auto, mt940, camt, bai2, table, or a layout name: {})",
                    parse::table::layouts().names().join(", ")
                );
            }
            let bytes = parse::read_bounded(&file, Limits::default().max_file_bytes)?;
            let stmts = parse::parse_for_account(
                &file.display().to_string(),
                &bytes,
                format.as_deref(),
                account.as_deref(),
                &Limits::default(),
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&parse::json::statements(&stmts))?);
            } else {
                for s in &stmts {
                    let bal = |b: &Option<crate::statement::Balance>| {
                        b.as_ref()
                            .map(|b| format!("{} {}", b.date, crate::money::grouped(b.amount.amount)))
                            .unwrap_or_else(|| "-".into())
                    };
                    println!(
                        "{} {} seq {}: opening {}, closing {}, {} entries, sum {}",
                        s.account,
                        s.currency,
                        s.sequence.as_deref().unwrap_or("-"),
                        bal(&s.opening),
                        bal(&s.closing),
                        s.entries.len(),
                        s.entry_sum().map(crate::money::grouped).unwrap_or_else(|| "overflow".into())
                    );
                }
            }
            Ok(EXIT_CLEAN)
        }
        Command::Interest { account, balances, terms, from, to, json } => {
            let report = match (account, balances, terms) {
                (None, Some(b), Some(t)) => {
                    let csv = std::fs::read(&b).with_context(|| b.display().to_string())?;
                    let toml = std::fs::read_to_string(&t).with_context(|| t.display().to_string())?;
                    crate::interest::auditor_json(&csv, &toml, from, to).map_err(|e| {
                        use crate::interest::InterestError as E;
                        match e {
                            E::Csv(_) | E::MissingBalances(_) => anyhow::anyhow!("{}: {e}", b.display()),
                            E::Terms(_) => anyhow::anyhow!("{}: {e}", t.display()),
                            _ => anyhow::anyhow!("{e}"),
                        }
                    })?
                }
                (Some(acct), None, None) => {
                    let cfg = load(&cli.config)?;
                    let store = open_store(&cfg).await?;
                    let r = job::interest::account_report(&cfg, &store, &acct, from, to).await;
                    store.close().await;
                    r?
                }
                _ => anyhow::bail!("give either --account, or --balances and --terms"),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", job::interest::report_text(&report));
            }
            Ok(EXIT_CLEAN)
        }
        Command::Agreements { cmd } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            let r = match cmd {
                AgreementsCmd::Load { file, by } => {
                    let by = by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
                    let (account, new) = job::interest::load_agreement(&cfg, &store, &file, &by).await?;
                    println!(
                        "{}: {} for account {account}",
                        file.display(),
                        if new { "loaded" } else { "already loaded" }
                    );
                    Ok(EXIT_CLEAN)
                }
                AgreementsCmd::List => {
                    let stored = store.agreements().await?;
                    println!("{:<10} {:<22} {:<10} {:<10} {:<10}", "source", "account", "product", "starts", "expires");
                    let d = |x: Option<NaiveDate>| x.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
                    for a in &cfg.agreements {
                        println!(
                            "{:<10} {:<22} {:<10} {:<10} {:<10}",
                            "config",
                            a.account.as_deref().unwrap_or("-"),
                            a.product.name(),
                            d(a.starts),
                            d(a.expires)
                        );
                    }
                    for (id, account, terms, at, by) in stored {
                        let a = crate::interest::Agreement::from_toml(&terms)?;
                        println!(
                            "{:<10} {:<22} {:<10} {:<10} {:<10}  loaded {} by {by}",
                            format!("db #{id}"),
                            account,
                            a.product.name(),
                            d(a.starts),
                            d(a.expires),
                            at.format("%Y-%m-%d %H:%M")
                        );
                    }
                    Ok(EXIT_CLEAN)
                }
            };
            store.close().await;
            r
        }
        Command::Bench { size_mb, formats, dir } => {
            let fmts: Vec<Format> = if formats.is_empty() {
                vec![Format::Mt940, Format::Camt, Format::Table]
            } else {
                formats
                    .iter()
                    .map(|f| Format::from_name(f).with_context(|| format!("unknown format {f:?}")))
                    .collect::<anyhow::Result<_>>()?
            };
            println!(
                "{:<8} {:>9} {:>10} {:>12} {:>12} {:>14} {:>13}",
                "format", "MiB", "entries", "read MiB/s", "parse MiB/s", "entries/s", "peak RSS MiB"
            );
            for f in job::bench::run(size_mb, &fmts, dir)? {
                println!(
                    "{:<8} {:>9.1} {:>10} {:>12.0} {:>12.1} {:>14.0} {:>13.1}",
                    f.format,
                    f.bytes as f64 / 1048576.0,
                    f.entries,
                    f.read_mb_s,
                    f.parse_mb_s,
                    f.entries_per_s,
                    f.peak_rss_mib
                );
            }
            Ok(EXIT_CLEAN)
        }
        Command::BenchMatch { delivery: Some(kind), seed, accounts, days, per_day, dir, generator, .. } => {
            use crate::bankgen::{Config as GenConfig, Delivery};
            let kind = match kind.as_str() {
                "mt940" => Delivery::Mt940,
                "camt" => Delivery::Camt053,
                "gbk" => Delivery::Gbk,
                _ => Delivery::Mixed,
            };
            let cfg = GenConfig { seed, kind, accounts, days, per_day, ..GenConfig::default() };
            let tmp = tempfile::tempdir()?;
            let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
            let (score, report) = job::bench::delivery(&cfg, generator == "holdout", &dir).await?;
            print!("{report}");
            let failures = score.goal_failures();
            for f in &failures {
                println!("goal missed: {f}");
            }
            Ok(if failures.is_empty() { EXIT_CLEAN } else { job::EXIT_DISCREPANCIES })
        }
        Command::BenchMatch { entries, .. } => {
            let (_, report) = job::bench::matching(entries);
            print!("{report}");
            Ok(EXIT_CLEAN)
        }
        Command::BenchReconcile { files, size_mb, dir } => {
            let tmp = tempfile::tempdir()?;
            let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
            let f = job::bench::reconcile(files, size_mb, &dir)?;
            println!(
                "{} statement files, {:.1} MiB, {} entries, {} book records (generated or reused in {:.1} s) in {}",
                f.set.files,
                f.set.bytes as f64 / 1048576.0,
                f.set.entries,
                f.set.records,
                f.generated_s,
                dir.display()
            );
            println!(
                "reconcile: {:.2} s, peak RSS {} MiB, exit code {}",
                f.seconds,
                f.peak_rss_kib / 1024,
                f.exit_code
            );
            print!("{}{}", f.phases, f.summary);
            println!(
                "pairs: {} of {} true pairs found ({:.2} %), {} matched entries not in their true pair",
                f.pairs.found,
                f.pairs.truth,
                100.0 * f.pairs.found as f64 / f.pairs.truth.max(1) as f64,
                f.pairs.wrong
            );
            Ok(EXIT_CLEAN)
        }
        Command::BenchParse { file, format } => {
            let f = Format::from_name(&format).with_context(|| format!("unknown format {format:?}"))?;
            let (bytes, entries, secs) = job::bench::parse_file(&file, f)?;
            println!("bytes={bytes} entries={entries} secs={secs} rss_kib={}", job::bench::peak_rss_kib());
            Ok(EXIT_CLEAN)
        }
        Command::Reconcile { statements, disbursements, receipts, out, window_days } => {
            let opts = job::reconcile::Options { statements, disbursements, receipts, out: out.clone(), window_days };
            let (results, code) = job::reconcile::run(&opts).await?;
            print!("{}", crate::report::summary_text(&results));
            println!("reports: {}", out.display());
            // The process ends now: handing millions of rows back to the allocator one by
            // one would take seconds and change nothing.
            std::mem::forget(results);
            Ok(code)
        }
        Command::Report { month, format, out } => {
            let (first, last) = crate::report::month::bounds(&month)
                .with_context(|| format!("--month {month:?}: not a month (use YYYY-MM, e.g. 2024-03)"))?;
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            let agreements = job::interest::all_agreements(&cfg, &store).await?;
            let mut results = Vec::new();
            for a in job::daily::accounts(&cfg, &agreements) {
                let r = job::match_account(&store, &a, cfg.matching.date_window_days, None).await?;
                results.push(crate::report::month::restrict(&r, first, last));
            }
            store.close().await;
            let lang = cfg.report.language;
            let book = crate::report::view::book(&results, lang, &format!("{} {month}", lang.labels().title));
            let dir = out.unwrap_or_else(|| cfg.output_dir().join(&month));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = dir.join(format!("report-{month}.{format}"));
            let bytes = match format.as_str() {
                "html" => crate::report::html::page(&book).into_bytes(),
                _ => crate::report::xlsx::workbook(&book).context("building the workbook")?,
            };
            // Whole or not at all: a temporary file beside it, synced, renamed over it.
            crate::report::staged::write_file(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            println!("report: {}", path.display());
            Ok(EXIT_CLEAN)
        }
        Command::Run { date } => {
            let cfg = load(&cli.config)?;
            let _lock = take_run_lock(&cfg)?;
            let store = open_store(&cfg).await?;
            let date = date.unwrap_or_else(|| yesterday(&cfg));
            let out = job::daily::run(&cfg, &store, &job::daily::Options { date, rerun: None, progress: true }).await?;
            print_daily(&out);
            store.close().await;
            Ok(out.exit_code)
        }
        Command::Worker { id, drain, metrics_listen } => {
            let mut cfg = load(&cli.config)?;
            if let Some(l) = metrics_listen {
                l.parse::<std::net::SocketAddr>().map_err(|_| {
                    anyhow::anyhow!("--metrics-listen {l:?} is not an address:port (e.g. 127.0.0.1:9188)")
                })?;
                cfg.worker.metrics_listen = Some(l);
            }
            let store = open_store(&cfg).await?;
            let opts = crate::worker::Options { id, drain, until: None, clock: crate::worker::Clock::System };
            let r = crate::worker::service(&cfg, &store, opts).await;
            store.close().await;
            r
        }
        Command::Rerun { id, from_stage: Some(stage) } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            let r = requeue(&store, id, &stage).await;
            store.close().await;
            r
        }
        Command::Rerun { id, from_stage: None } => {
            let cfg = load(&cli.config)?;
            let _lock = take_run_lock(&cfg)?;
            let store = open_store(&cfg).await?;
            // A batch a worker holds is the worker's: running it here too would race it.
            if let Some(q) = store.queue_row(id).await?
                && let (Some(w), Some(until)) = (&q.lease_owner, q.lease_until_ms)
                && until >= chrono::Utc::now().timestamp_millis()
            {
                store.close().await;
                anyhow::bail!(
                    "batch {id} is being worked on by worker {w} ({}); wait for it, or queue it again afterwards with `fundrecon runs rerun {id}`",
                    q.state
                );
            }
            let out = job::daily::run(
                &cfg,
                &store,
                &job::daily::Options { date: yesterday(&cfg), rerun: Some(id), progress: true },
            )
            .await?;
            print_daily(&out);
            store.close().await;
            Ok(out.exit_code)
        }
        Command::Serve { cmd: Some(ServeCmd::HashPassword) } => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).context("reading the password from stdin")?;
            let pw = line.trim_end_matches(['\r', '\n']);
            if pw.is_empty() {
                anyhow::bail!(
                    "no password on stdin (e.g. `read -rs PW; printf '%s\\n' \"$PW\" | fundrecon serve hash-password`)"
                );
            }
            if pw.len() > crate::serve::auth::MAX_PASSWORD_BYTES {
                anyhow::bail!("the password is longer than {} bytes", crate::serve::auth::MAX_PASSWORD_BYTES);
            }
            println!("{}", crate::serve::auth::hash_password(pw)?);
            Ok(EXIT_CLEAN)
        }
        Command::Serve { cmd: None } => {
            let cfg = load(&cli.config)?;
            let store = std::sync::Arc::new(open_store(&cfg).await?);
            let r = crate::serve::run(cfg, store.clone()).await;
            store.close().await;
            r.map(|()| EXIT_CLEAN)
        }
        Command::Review { cmd } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            let r = review(&cfg, &store, cmd).await;
            store.close().await;
            r
        }
        Command::Explain { key } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            let mut lines = store.explain(&key).await?;
            lines.extend(job::review::explain(&store, &key).await?);
            store.close().await;
            if lines.is_empty() {
                anyhow::bail!("nothing stored under {key:?} (neither a bank reference nor a voucher number)");
            }
            for l in lines {
                println!("{l}");
            }
            Ok(EXIT_CLEAN)
        }
        Command::Status { days } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            let runs = store.runs(false).await?;
            let retries = store.retry_counts().await?;
            println!("last batch per channel (times in {}):", cfg.general.timezone);
            for ch in &cfg.channels {
                match runs.iter().rev().find(|r| r.channel == ch.name) {
                    Some(r) => println!(
                        "  {:<16} {} {:<7} {} finished {}",
                        ch.name,
                        r.business_date,
                        r.state,
                        runs_and_retries(r.attempts, retries.get(&r.id).copied().unwrap_or(0)),
                        local_t(&cfg, r.finished_at)
                    ),
                    None => println!("  {:<16} never run", ch.name),
                }
            }
            let failed: Vec<_> = runs.iter().filter(|r| r.state == "failed").collect();
            println!(
                "failed batches: {}",
                if failed.is_empty() { "none".to_string() } else { failed.len().to_string() }
            );
            for r in failed {
                println!(
                    "  #{} {} {}: {}",
                    r.id,
                    r.channel,
                    r.business_date,
                    r.error.as_deref().and_then(|e| e.lines().next()).unwrap_or("")
                );
            }
            let dates = job::deliveries::recent_business_days(&cfg, chrono::Utc::now(), days as usize);
            let missing = job::daily::missing_statements(&cfg, &store, &dates).await?;
            // Batches that ended `done` although their channel's statement is not here.
            let without: Vec<String> = runs
                .iter()
                .filter(|r| r.state == "done")
                .filter_map(|r| {
                    job::deliveries::batch_warning(&missing, r.id, &r.channel, r.business_date)
                        .map(|w| format!("  #{} {} {}: {w}", r.id, r.channel, r.business_date))
                })
                .collect();
            println!(
                "batches done without their statement: {}",
                if without.is_empty() { "none".to_string() } else { without.len().to_string() }
            );
            for w in &without {
                println!("{w}");
            }
            println!(
                "statements missing over the last {days} business days: {}",
                if missing.is_empty() { "none".to_string() } else { missing.len().to_string() }
            );
            for m in &missing {
                println!("  {m}");
            }
            print_queue(&cfg, &store).await?;
            store.close().await;
            Ok(if missing.iter().any(|m| m.status == "late") { job::EXIT_DISCREPANCIES } else { EXIT_CLEAN })
        }
        Command::Runs { cmd } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            match cmd {
                RunsCmd::List { failed } => {
                    // `runs`: executions of the whole batch (the first run and each rerun);
                    // `retries`: stages tried again after a transient failure.
                    println!(
                        "{:>5}  {:<10}  {:<16}  {:<8}  {:>4}  {:>7}  {:<19}  error",
                        "id",
                        "date",
                        "channel",
                        "state",
                        "runs",
                        "retries",
                        format!("finished ({})", cfg.general.timezone)
                    );
                    let retries = store.retry_counts().await?;
                    for r in store.runs(failed).await? {
                        let err = r.error.as_deref().and_then(|e| e.lines().next()).unwrap_or("");
                        let fin = r.finished_at.map(|t| local_time(&cfg, t)).unwrap_or_default();
                        println!(
                            "{:>5}  {:<10}  {:<16}  {:<8}  {:>4}  {:>7}  {:<19}  {}",
                            r.id,
                            r.business_date,
                            r.channel,
                            r.state,
                            r.attempts,
                            retries.get(&r.id).copied().unwrap_or(0),
                            fin,
                            err
                        );
                    }
                }
                RunsCmd::Show { id } => {
                    let r = store.run(id).await?.with_context(|| format!("no batch with id {id}"))?;
                    let retries = store.retry_counts().await?.get(&id).copied().unwrap_or(0);
                    println!("batch {}: {} ({}) for {}", r.id, r.channel, r.bank, r.business_date);
                    println!("state: {}", r.state);
                    println!("{}", runs_and_retries(r.attempts, retries));
                    println!(
                        "created {}, started {}, finished {} ({})",
                        local_time(&cfg, r.created_at),
                        local_t(&cfg, r.started_at),
                        local_t(&cfg, r.finished_at),
                        cfg.general.timezone
                    );
                    if let (Some(s), Some(f)) = (r.started_at, r.finished_at) {
                        println!("took {} ms", (f - s).num_milliseconds());
                    }
                    println!("files:");
                    for f in store.run_files(id).await? {
                        let state = if f.imported {
                            "imported"
                        } else if f.superseded {
                            "superseded"
                        } else {
                            "not imported"
                        };
                        println!("  {}  {:<12}  {}", f.sha256, state, f.name);
                    }
                    print_statements_of_date(&store, &r).await?;
                    if let Some(e) = &r.error {
                        println!("error:\n  {}", e.replace('\n', "\n  "));
                    }
                    if r.state == "done" {
                        let missing = job::daily::missing_statements(&cfg, &store, &[r.business_date]).await?;
                        if let Some(w) = job::deliveries::batch_warning(&missing, r.id, &r.channel, r.business_date) {
                            println!("warning: {w}");
                        }
                    }
                    if let Some(s) = &r.summary {
                        println!("summary:");
                        print_summary(s);
                    }
                    print_batch_queue(&cfg, &store, id).await?;
                }
                RunsCmd::Queue { date, channel, force } => {
                    if let Some(c) = &channel
                        && !cfg.channels.iter().any(|x| x.name == *c)
                    {
                        anyhow::bail!("no channel {c:?} in the config");
                    }
                    if !crate::calendar::is_business_day(date) {
                        let what = no_business_day(date);
                        if !force {
                            anyhow::bail!(
                                "{date} is {what}: no bank statement is owed for it; nothing queued (queue it anyway with --force)"
                            );
                        }
                        println!("{date} is {what}: queued anyway (--force)");
                    }
                    let by = format!("runs queue by {}", crate::job::operator());
                    for ch in cfg.channels.iter().filter(|x| channel.as_deref().is_none_or(|c| c == x.name)) {
                        match store.enqueue(&ch.name, &ch.bank, date, &by).await? {
                            Some(id) => println!("batch {id} {} {date} queued", ch.name),
                            None => println!("{} {date}: a batch exists already (see `fundrecon runs list`)", ch.name),
                        }
                    }
                }
                RunsCmd::Rerun { id, from_stage } => {
                    let code = requeue(&store, id, from_stage.as_deref().unwrap_or("fetch")).await;
                    store.close().await;
                    return code;
                }
            }
            store.close().await;
            Ok(EXIT_CLEAN)
        }
    }
}

/// `runs rerun` / `rerun --from-stage`: queue a finished batch again for the workers.
async fn requeue(store: &Store, id: i64, stage: &str) -> anyhow::Result<i32> {
    let start = match stage {
        "parse" => Some("parsing"),
        _ => None,
    };
    let by = crate::job::operator();
    let row = store.requeue(id, start, &by, chrono::Utc::now().timestamp_millis()).await?;
    println!(
        "batch {} {} {} queued from {} (rerun by {by}); a running `fundrecon worker` takes it",
        row.id,
        row.channel,
        row.business_date,
        start.unwrap_or("fetching")
    );
    Ok(EXIT_CLEAN)
}

/// The worker part of `status`: batches per state, batches in progress with their worker,
/// waiting retries, live workers, the last success per bank.
async fn print_queue(cfg: &Config, store: &Store) -> anyhow::Result<()> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let counts = store.state_counts().await?;
    let line: Vec<String> = counts.iter().map(|(s, n)| format!("{s} {n}")).collect();
    println!("batches by state: {}", if line.is_empty() { "none".to_string() } else { line.join(", ") });
    let open = store.open_batches().await?;
    let running: Vec<_> = open.iter().filter(|r| r.state != "queued").collect();
    println!("running batches: {}", if running.is_empty() { "none".to_string() } else { running.len().to_string() });
    for r in &running {
        let who = match (&r.lease_owner, r.lease_until_ms) {
            (Some(w), Some(t)) if t >= now_ms => format!("worker {w}, lease {} s left", (t - now_ms) / 1000),
            (Some(w), _) => format!("worker {w} stopped renewing: lease expired, any worker takes it over"),
            (None, _) if r.next_at_ms > now_ms => {
                format!("retry {} in {} s", r.stage_tries + 1, (r.next_at_ms - now_ms) / 1000)
            }
            (None, _) => "waiting for a worker".to_string(),
        };
        println!("  #{} {:<16} {} {:<9} {who}", r.id, r.channel, r.business_date, r.state);
    }
    let queued: Vec<_> = open.iter().filter(|r| r.state == "queued").collect();
    println!("queued: {}", if queued.is_empty() { "none".to_string() } else { queued.len().to_string() });
    for r in queued.iter().take(20) {
        println!("  #{} {:<16} {} {}", r.id, r.channel, r.business_date, r.queued_by.as_deref().unwrap_or(""));
    }
    if queued.len() > 20 {
        println!("  … and {} more", queued.len() - 20);
    }
    // A worker renews its heartbeat at least every third of its lease; one whose heartbeat
    // is older than the lease has stopped (killed, frozen, machine lost) without saying so.
    // Those gone within the last day are listed apart.
    let lease_ms = 1000 * cfg.worker.lease_secs as i64;
    let (live, gone): (Vec<_>, Vec<_>) =
        store.live_workers(now_ms - 86_400_000).await?.into_iter().partition(|w| now_ms - w.heartbeat_ms <= lease_ms);
    println!("workers: {}", if live.is_empty() { "none running".to_string() } else { live.len().to_string() });
    for w in &live {
        println!(
            "  {} (pid {} on {}, {}) started {}, heartbeat {} s ago",
            w.id,
            w.pid,
            w.host,
            w.version,
            local_time(cfg, w.started_at),
            (now_ms - w.heartbeat_ms) / 1000
        );
    }
    if !gone.is_empty() {
        println!("workers gone (no heartbeat within the lease of {} s): {}", cfg.worker.lease_secs, gone.len());
        for w in &gone {
            println!(
                "  {} (pid {} on {}): stale, last heartbeat {} s ago; its batches are taken over once their lease ends",
                w.id,
                w.pid,
                w.host,
                (now_ms - w.heartbeat_ms) / 1000
            );
        }
    }
    println!("last success per bank:");
    let last = store.last_success_per_bank().await?;
    for b in &cfg.banks {
        match last.iter().find(|(bank, _)| *bank == b.id) {
            Some((_, t)) => println!("  {:<16} {}", b.id, local_time(cfg, *t)),
            None => println!("  {:<16} never", b.id),
        }
    }
    Ok(())
}

/// The queue part of `runs show`: who queued and reran it, lease, retries and every
/// stage execution.
async fn print_batch_queue(cfg: &Config, store: &Store, id: i64) -> anyhow::Result<()> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let ms_t = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).map(|t| local_time(cfg, t)).unwrap_or_default();
    let q = store.queue_row(id).await?;
    if let Some(q) = &q {
        println!("queued by: {}", q.queued_by.as_deref().unwrap_or("not recorded"));
        if let Some(h) = &q.rerun_by {
            println!("reruns:");
            for l in h.lines() {
                println!("  {l}");
            }
        }
        if let (Some(w), Some(until)) = (&q.lease_owner, q.lease_until_ms) {
            let how = if until >= now_ms { "held by" } else { "lease expired: any worker takes it over; was held by" };
            println!("{how} worker {w} (lease until {})", ms_t(until));
        }
        if q.stage_tries > 0 {
            println!(
                "stage {} retried {} time(s) after a transient failure; next try not before {}",
                q.state,
                q.stage_tries,
                ms_t(q.next_at_ms)
            );
        }
    }
    let stages = store.stages(Some(id)).await?;
    if !stages.is_empty() {
        println!("stages (times in {}):", cfg.general.timezone);
        let last = stages.len() - 1;
        for (i, s) in stages.into_iter().enumerate() {
            let took = s
                .finished_at
                .map(|f| format!("{} ms", (f - s.started_at).num_milliseconds()))
                .unwrap_or_else(|| "-".into());
            // An execution without an outcome is running when it is the batch's latest,
            // in the batch's stage, and its worker still holds a live lease.
            let outcome = match (&s.outcome, &q) {
                (Some(o), _) => o.clone(),
                (None, Some(q))
                    if i == last
                        && q.state == s.stage
                        && q.lease_owner.as_deref() == Some(s.worker_id.as_str())
                        && q.lease_until_ms.is_some_and(|t| t >= now_ms) =>
                {
                    format!("running (worker {}, lease until {})", s.worker_id, ms_t(q.lease_until_ms.unwrap_or(0)))
                }
                (None, _) => "unfinished (worker stopped or died)".to_string(),
            };
            println!(
                "  {:<9} try {} by {:<24} {} {:>9}  {}{}",
                s.stage,
                s.try_no,
                s.worker_id,
                local_time(cfg, s.started_at),
                took,
                outcome,
                s.error.map(|e| format!(": {e}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// A time for people: to the second, in `general.timezone` (named in the headings).
fn local_time(cfg: &Config, t: chrono::DateTime<chrono::Utc>) -> String {
    let tz = cfg.tz();
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn local_t(cfg: &Config, t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| local_time(cfg, t)).unwrap_or_else(|| "-".into())
}

/// `runs N (M reruns)` and the retries of failed stages, apart: a rerun is someone's
/// decision, a retry the worker's answer to a transient failure.
fn runs_and_retries(runs: i64, retries: i64) -> String {
    let reruns = (runs - 1).max(0);
    format!("runs {runs} ({reruns} rerun{}), retries of failed stages {retries}", if reruns == 1 { "" } else { "s" })
}

/// Why a date is no business day, in words.
fn no_business_day(date: NaiveDate) -> String {
    use chrono::Datelike;
    match date.weekday() {
        chrono::Weekday::Sat => "a Saturday and no 调休 make-up working day".into(),
        chrono::Weekday::Sun => "a Sunday and no 调休 make-up working day".into(),
        _ => "a public holiday in the holiday calendar".into(),
    }
}

/// A batch summary (JSON) as readable lines: `key: value`, nested values indented, lists
/// one item a line; the worker's internal hand-over (`worker`) is left out.
fn print_summary(text: &str) {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => {
            for (k, v) in m.iter().filter(|(k, _)| k.as_str() != "worker") {
                print_value(k, v, 1);
            }
        }
        _ => println!("  {text}"),
    }
}

fn print_value(key: &str, v: &serde_json::Value, depth: usize) {
    use serde_json::Value;
    let pad = "  ".repeat(depth);
    let scalar = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.replace('\n', "; "),
        other => other.to_string(),
    };
    match v {
        Value::Object(m) if m.is_empty() => println!("{pad}{key}: none"),
        // Account → [matches, open discrepancies] after matching.
        Value::Object(m) if key == "matched" => {
            println!("{pad}{key}:");
            for (a, x) in m {
                let n = |i: usize| x.get(i).map(scalar).unwrap_or_default();
                println!("{pad}  {a}: {} matches, {} open", n(0), n(1));
            }
        }
        Value::Object(m) => {
            println!("{pad}{key}:");
            for (k, x) in m {
                print_value(k, x, depth + 1);
            }
        }
        Value::Array(a) if a.is_empty() => println!("{pad}{key}: none"),
        Value::Array(a) if a.iter().all(|x| x.is_number()) => {
            println!("{pad}{key}: {}", a.iter().map(scalar).collect::<Vec<_>>().join(", "))
        }
        Value::Array(a) => {
            println!("{pad}{key}:");
            for (i, x) in a.iter().enumerate() {
                match x {
                    Value::Object(_) | Value::Array(_) => print_value(&format!("{}", i + 1), x, depth + 1),
                    other => println!("{pad}  - {}", scalar(other)),
                }
            }
        }
        other => println!("{pad}{key}: {}", scalar(other)),
    }
}

fn print_daily(out: &job::daily::Outcome) {
    for r in &out.runs {
        let err = r.error.as_deref().map(|e| format!(": {}", e.replace('\n', "; "))).unwrap_or_default();
        println!("batch {} {} {} {}{err}", r.id, r.channel, r.business_date, r.state);
    }
    for e in &out.book_errors {
        println!("books: {e}");
    }
    print!("{}", crate::report::summary_text(&out.results));
    for w in &out.warnings {
        println!("warning: {w}");
    }
    for m in &out.missing {
        println!("{m}");
    }
    println!("reports: {}", out.report_dir.display());
}

async fn review(cfg: &Config, store: &Store, cmd: ReviewCmd) -> anyhow::Result<i32> {
    use crate::review::Action;
    let (action, d) = match cmd {
        ReviewCmd::Confirm(d) => (Action::Confirm, d),
        ReviewCmd::Reject(d) => (Action::Reject, d),
        ReviewCmd::Match(d) => (Action::Match, d),
        ReviewCmd::Unmatch(d) => (Action::Unmatch, d),
        ReviewCmd::Annotate(d) => (Action::Annotate, d),
        ReviewCmd::List { account } => {
            for d in store.decisions(account.as_deref()).await? {
                let items: Vec<&str> = d.new.entries.iter().chain(&d.new.records).map(String::as_str).collect();
                let rule = d.new.rule.as_deref().map(|r| format!(" [{r}]")).unwrap_or_default();
                let undoes = d.new.undoes.map(|u| format!(" withdraws #{u}")).unwrap_or_default();
                println!("{} account {}{rule}{undoes}: {}", d.summary(), d.new.account_no, items.join(", "));
            }
            return Ok(EXIT_CLEAN);
        }
        ReviewCmd::Open { account, kind, as_of } => {
            if let Some(k) = kind.as_deref()
                && crate::discrepancy::Kind::parse(k).is_none()
            {
                let known: Vec<&str> = crate::discrepancy::Kind::ALL.iter().map(|k| k.as_str()).collect();
                anyhow::bail!("--kind {k:?} is not a discrepancy type (known: {})", known.join(", "));
            }
            if let Some(a) = account.as_deref()
                && cfg.account(a).is_none()
            {
                anyhow::bail!("--account {a:?} is not a configured account");
            }
            let as_of = as_of.unwrap_or_else(|| today(cfg));
            let items = store.open_items(account.as_deref()).await?;
            println!(
                "{:<20} {:<18} {:>5} {:<10} {:>16} {:<24} detail",
                "account", "type", "age", "date", "amount", "item"
            );
            for i in items.iter().filter(|i| kind.as_deref().is_none_or(|k| k == i.kind)) {
                let item = i.entry_key.as_deref().or(i.record_key.as_deref()).or(i.bank_ref.as_deref()).unwrap_or("-");
                println!(
                    "{:<20} {:<18} {:>5} {:<10} {:>16} {:<24} {} (rule {})",
                    i.account_no,
                    i.kind,
                    (as_of - i.date).num_days().max(0),
                    i.date,
                    i.amount.or(i.expected).map(crate::money::grouped).unwrap_or_else(|| "-".into()),
                    item,
                    i.detail,
                    i.rule
                );
            }
            return Ok(EXIT_CLEAN);
        }
        ReviewCmd::Verify => {
            let all = store.decisions(None).await?;
            return match crate::review::verify(&all) {
                Ok(()) => {
                    println!("audit trail intact: {} decisions", all.len());
                    Ok(EXIT_CLEAN)
                }
                Err((id, why)) => anyhow::bail!("audit trail broken at decision #{id}: {why}"),
            };
        }
    };
    let by = d.by.or_else(|| std::env::var("USER").ok()).unwrap_or_default();
    let req = job::review::Request {
        account: d.account,
        action,
        entries: d.entries,
        vouchers: d.vouchers,
        reason: d.why,
        by,
    };
    let decision = job::review::decide(cfg, store, &req).await?;
    println!("recorded decision {}", decision.summary());
    // Entry keys are what `explain` takes for entries; a record key is `direction:voucher`.
    let key = match (decision.new.entries.first(), decision.new.records.first()) {
        (Some(e), _) => e.clone(),
        (None, Some(r)) => crate::review::parse_record_key(r).map_or(r.as_str(), |(_, v)| v).to_string(),
        (None, None) => String::new(),
    };
    for l in store.explain(&key).await? {
        println!("{l}");
    }
    Ok(EXIT_CLEAN)
}

/// The part of `runs show` that lists the statements of the batch's business date (a
/// statement's date is its closing date), whichever batch pulled their files: `files:`
/// above lists what this batch pulled, which can be another date's statements.
async fn print_statements_of_date(store: &crate::store::Store, r: &crate::store::RunRow) -> anyhow::Result<()> {
    let stmts = store.statements_of_date(&r.channel, r.business_date).await?;
    println!("statements of {}:{}", r.business_date, if stmts.is_empty() { " none" } else { "" });
    for s in &stmts {
        let pulled = match s.pulled_by {
            Some(id) if id == r.id => "pulled by this batch".to_string(),
            Some(id) => format!("pulled by batch {id}"),
            None => "a zip member".to_string(),
        };
        println!(
            "  {}  {}  {}  {}  ({pulled})",
            s.account_no,
            s.statement_id.as_deref().or(s.sequence.as_deref()).unwrap_or("-"),
            s.closing_date.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
            s.file
        );
    }
    Ok(())
}
