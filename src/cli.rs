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
    Rerun { id: i64 },
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
    /// Parse + match in one shot on a throwaway database; writes matches.csv,
    /// discrepancies.csv and summary.json to --out.
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
pub enum RunsCmd {
    /// All batches, or only failed ones.
    List {
        #[arg(long)]
        failed: bool,
    },
    /// One batch with its files, error and summary.
    Show { id: i64 },
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

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    Ok(Config::load(path)?)
}

async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(cfg.data_dir()).with_context(|| format!("creating {}", cfg.data_dir().display()))?;
    let url = cfg.database_url();
    Store::open(&url).await.with_context(|| {
        format!("opening the {} database", if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" })
    })
}

fn yesterday(cfg: &Config) -> NaiveDate {
    let tz: chrono_tz::Tz = cfg.general.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
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
            let bytes = std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
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
        Command::BenchMatch { entries } => {
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
            Ok(code)
        }
        Command::Run { date } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            let date = date.unwrap_or_else(|| yesterday(&cfg));
            let out = job::daily::run(&cfg, &store, &job::daily::Options { date, rerun: None, progress: true }).await?;
            print_daily(&out);
            store.close().await;
            Ok(out.exit_code)
        }
        Command::Rerun { id } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
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
        Command::Explain { key } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            let lines = store.explain(&key).await?;
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
            println!("last batch per channel:");
            for ch in &cfg.channels {
                match runs.iter().rev().find(|r| r.channel == ch.name) {
                    Some(r) => println!(
                        "  {:<16} {} {:<7} attempts {} finished {}",
                        ch.name,
                        r.business_date,
                        r.state,
                        r.attempts,
                        opt_t(r.finished_at)
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
            let mut dates = Vec::new();
            let mut d = yesterday(&cfg);
            while dates.len() < days as usize {
                if crate::calendar::is_business_day(d) {
                    dates.push(d);
                }
                d = d.pred_opt().unwrap_or(d);
            }
            dates.reverse();
            let missing = job::daily::missing_statements(&cfg, &store, &dates).await?;
            println!(
                "statements missing over the last {days} business days: {}",
                if missing.is_empty() { "none".to_string() } else { missing.len().to_string() }
            );
            for m in &missing {
                println!("  {m}");
            }
            store.close().await;
            Ok(if missing.iter().any(|m| m.status == "late") { job::EXIT_DISCREPANCIES } else { EXIT_CLEAN })
        }
        Command::Runs { cmd } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            match cmd {
                RunsCmd::List { failed } => {
                    println!(
                        "{:>5}  {:<10}  {:<16}  {:<8}  {:>8}  {:<20}  error",
                        "id", "date", "channel", "state", "attempts", "finished"
                    );
                    for r in store.runs(failed).await? {
                        let err = r.error.as_deref().and_then(|e| e.lines().next()).unwrap_or("");
                        let fin = r.finished_at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default();
                        println!(
                            "{:>5}  {:<10}  {:<16}  {:<8}  {:>8}  {:<20}  {}",
                            r.id, r.business_date, r.channel, r.state, r.attempts, fin, err
                        );
                    }
                }
                RunsCmd::Show { id } => {
                    let r = store.run(id).await?.with_context(|| format!("no batch with id {id}"))?;
                    println!("batch {}: {} ({}) for {}", r.id, r.channel, r.bank, r.business_date);
                    println!("state {}, attempts {}", r.state, r.attempts);
                    println!(
                        "created {}, started {}, finished {}",
                        r.created_at,
                        opt_t(r.started_at),
                        opt_t(r.finished_at)
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
                    if let Some(e) = &r.error {
                        println!("error:\n  {}", e.replace('\n', "\n  "));
                    }
                    if let Some(s) = &r.summary {
                        println!("summary: {s}");
                    }
                }
            }
            store.close().await;
            Ok(EXIT_CLEAN)
        }
    }
}

fn opt_t(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_string()).unwrap_or_else(|| "-".into())
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
