//! The daily reconciliation over a config: books, then one batch per channel (bank ×
//! business date), then matching and reports for every account.
//!
//! Failure isolation: a broken file fails its own batch (the run row says which file,
//! where and why); other batches and accounts go on. A rerun repeats the same steps: files
//! already archived and imported are skipped by content hash, matching is recomputed from
//! what is stored, so the same inputs give the same results and no duplicated rows.

use super::progress::Progress;
use super::{
    AccountInfo, EXIT_CLEAN, EXIT_DISCREPANCIES, EXIT_FAILURE, archive_file, archive_zip_members, import_file,
    mark_imported, match_account,
};
use crate::account::AccountMap;
use crate::archive::Archive;
use crate::book::{self, Direction};
use crate::config::{Channel as ChannelConfig, Config};
use crate::fetch;
use crate::parse::Limits;
use crate::report::{self, AccountResult};
use crate::store::{RunRow, Store};
use crate::unzip;
use anyhow::Context;
use chrono::NaiveDate;
use serde_json::json;
use std::path::PathBuf;

pub struct Options {
    pub date: NaiveDate,
    /// Rerun this batch only (its channel and date); matching and reports still cover
    /// every account, because a batch can change any account's picture.
    pub rerun: Option<i64>,
    pub progress: bool,
}

pub struct Outcome {
    pub runs: Vec<RunRow>,
    pub results: Vec<AccountResult>,
    pub report_dir: PathBuf,
    pub book_errors: Vec<String>,
    /// Deposit-agreement warnings (expiry, no agreement, rate checks).
    pub warnings: Vec<String>,
    /// Statements of the business date that did not arrive.
    pub missing: Vec<super::deliveries::Missing>,
    pub exit_code: i32,
}

pub fn accounts(cfg: &Config, agreements: &[crate::interest::Agreement]) -> Vec<AccountInfo> {
    cfg.accounts
        .iter()
        .map(|a| AccountInfo {
            number: a.number.clone(),
            name: a.name.clone(),
            currency: a.currency.clone(),
            bank: a.bank.clone(),
            book_opening: a.book_opening.as_ref().and_then(|o| o.parsed()),
            agreements: agreements
                .iter()
                .filter(|g| g.account.as_deref() == Some(a.number.as_str()))
                .cloned()
                .collect(),
            // `Config::check` refused a config whose rules do not parse.
            rules: cfg.matching.rule_set(a.rules.as_deref()).unwrap_or_default(),
        })
        .collect()
}

/// Imports every book source; each file all-or-nothing. Returns the errors (file, line,
/// field), which fail the run but not the matching of what is stored.
pub async fn import_books(cfg: &Config, store: &Store, archive: &Archive) -> Vec<String> {
    import_books_reporting(cfg, store, archive).await.0
}

/// [`import_books`] with the vouchers that left the books (作废, 红字冲销, or missing from
/// a full export), one line each for the run's report.
pub async fn import_books_reporting(cfg: &Config, store: &Store, archive: &Archive) -> (Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut withdrawn = Vec::new();
    for b in &cfg.books {
        let path = cfg.resolve(&b.path);
        let result: anyhow::Result<()> = async {
            let bytes = crate::parse::read_bounded(&path, cfg.limits.limits().max_file_bytes)
                .with_context(|| format!("book source {}", b.name))?;
            let sha = archive_file(
                store,
                archive,
                &path.file_name().unwrap_or_default().to_string_lossy(),
                &bytes,
                &format!("books:{}", b.name),
            )
            .await?;
            let file = path.display().to_string();
            // Where the currency stands, for a message (plain book CSV; layouts name the field).
            let currency_column = match b.layout {
                None => book::column_of(&bytes, "currency").map(|c| format!(" (column {c})")).unwrap_or_default(),
                Some(_) => String::new(),
            };
            let recs = match (&b.layout, b.kind.as_deref().and_then(Direction::parse)) {
                (Some(layout), _) => {
                    let opts = crate::parse::table::Options { layout: Some(layout), account: None };
                    crate::parse::table::layouts().read_book(&file, &bytes, &opts, &cfg.limits.limits())?
                }
                (None, Some(dir)) => book::read_csv(&file, &bytes, dir)?,
                (None, None) => unreachable!("config check requires a kind or a layout"),
            };
            for r in &recs {
                let Some(account) = cfg.account(&r.account_no) else {
                    anyhow::bail!(
                        "{file}: {}: field account_no: {:?} is not a configured account",
                        r.location,
                        r.account_no
                    );
                };
                // A record in another currency would be added to the account's balance as if it were its own.
                if !r.amount.currency.as_str().eq_ignore_ascii_case(account.currency.trim()) {
                    anyhow::bail!(
                        "{file}: {}: field currency{currency_column}: {:?} is not the currency of account {} ({}); book the record on an account in {1:?}",
                        r.location,
                        r.amount.currency.as_str(),
                        r.account_no,
                        account.currency
                    );
                }
            }
            let delivery = crate::store::BookDelivery {
                sha256: &sha,
                file: &file,
                full: b.delivery == crate::config::BookDeliveryKind::Full,
            };
            let (_, _, gone) = store.import_book_delivery(&b.name, &recs, &delivery).await?;
            for w in gone {
                tracing::warn!(source = %b.name, voucher = %w.voucher_no, why = %w.why, "voucher left the books");
                withdrawn.push(format!("{}: {w}", b.name));
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::error!(source = %b.name, error = %e, "book import failed");
            errors.push(format!("{e:#}"));
        }
    }
    (errors, withdrawn)
}

/// What a channel pull did (the fetching stage of a batch).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Fetched {
    pub fetched: usize,
    pub known: usize,
    pub new_content: usize,
    pub attempts: u32,
    pub after_pull_failed: Vec<String>,
    /// Files refused, one line each (they fail the batch).
    pub refused: Vec<String>,
    /// The pull failed (after the channel's own retries), with the cause.
    pub error: Option<String>,
    /// That failure was transient (a later try may succeed): the worker retries the stage.
    pub transient: bool,
}

/// What importing a batch's files did (the parsing stage).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Imported {
    pub files_in_batch: usize,
    pub imported: u64,
    pub skipped: u64,
    pub entries_new: u64,
    pub entries_known: u64,
    pub statements: u64,
    pub superseded: Vec<String>,
    /// Members of the batch's zips read this time (each also counts as a file imported,
    /// already imported or failed).
    #[serde(default)]
    pub zip_members: u64,
    /// One line per file that failed (it fails the batch; other files go on).
    pub errors: Vec<String>,
    /// Statements delivered before in other bytes, counted once (issue 15, 17).
    #[serde(default)]
    pub redelivered: Vec<String>,
    /// Statements sent again with other content: stored, flagged, reported.
    #[serde(default)]
    pub redelivered_changed: Vec<String>,
}

/// The fetching stage: pull the channel's new files, archive and record each under the
/// batch. Idempotent: a file is archived and recorded by its content hash.
pub async fn fetch_batch(
    cfg: &Config,
    store: &Store,
    archive: &Archive,
    ch: &ChannelConfig,
    run_id: i64,
    progress: &Progress,
) -> Fetched {
    /// Receives a channel's downloads: archive (rename of the temporary file, fsync), then
    /// `raw_files`, then `run_files`. Only after this returns does the channel remember the
    /// file and move or delete the source copy.
    struct BatchSink<'a> {
        store: &'a Store,
        archive: &'a Archive,
        tmp_dir: PathBuf,
        channel: &'a str,
        run_id: i64,
    }

    impl fetch::Sink for BatchSink<'_> {
        fn tmp_dir(&self) -> &std::path::Path {
            &self.tmp_dir
        }

        async fn keep(&mut self, file: fetch::Downloaded) -> anyhow::Result<bool> {
            let (name, sha, size) = (file.name.clone(), file.sha256.clone(), file.size);
            fetch::into_archive(self.archive, file).with_context(|| format!("{name}: archiving"))?;
            let new = self.store.record_raw_file(&sha, size, &name, self.channel).await?;
            self.store.add_run_file(self.run_id, &sha, &name).await?;
            Ok(new)
        }
    }

    progress.stage(&ch.name, "fetching", "");
    let mut sink = BatchSink {
        store,
        archive,
        // `Archive::open` creates it; the same file system as the archive, so the final
        // step is a rename.
        tmp_dir: cfg.data_dir().join("archive").join("tmp"),
        channel: &ch.name,
        run_id,
    };
    match fetch::open(cfg, ch).pull(&mut sink).await {
        Ok(pull) => Fetched {
            fetched: pull.kept.len(),
            known: pull.known,
            new_content: pull.new_content,
            attempts: pull.attempts,
            after_pull_failed: pull.after_pull_failed,
            refused: pull.refused.iter().map(|r| r.to_string()).collect(),
            error: None,
            transient: false,
        },
        Err(e) => {
            tracing::error!(channel = %ch.name, error = %e, "fetch failed");
            let transient = e.is_transient() || matches!(e, fetch::FetchError::GaveUp { .. });
            Fetched { error: Some(e.to_string()), transient, ..Default::default() }
        }
    }
}

/// The parsing stage: import every file of the batch not imported yet, each file in one
/// transaction. Idempotent: an imported file is skipped by its content hash. A zip is read
/// member by member ([`archive_zip_members`]): each member archived, recorded and imported
/// as a file of its own; a refused zip or a failed member is one error line naming the zip
/// and the member, and the batch's other files go on.
pub async fn import_batch(
    cfg: &Config,
    store: &Store,
    archive: &Archive,
    ch: &ChannelConfig,
    run_id: i64,
    progress: &Progress,
) -> Imported {
    let bank_accounts: Vec<(&str, &[String])> =
        cfg.accounts.iter().filter(|a| a.bank == ch.bank).map(|a| (a.number.as_str(), a.aliases.as_slice())).collect();
    let map = AccountMap::new(bank_accounts);
    let format = Some(ch.format.as_str());
    let base = cfg.limits.limits();
    let limits = Limits { max_file_bytes: ch.max_file_bytes.min(base.max_file_bytes), ..base };
    let mut out = Imported::default();
    let files = match store.run_files(run_id).await {
        Ok(f) => f,
        Err(e) => {
            out.errors.push(e.to_string());
            Vec::new()
        }
    };
    out.files_in_batch = files.len();
    let zip_limits = unzip::Limits::new(limits.max_file_bytes);
    for (i, f) in files.iter().enumerate() {
        let name = &f.name;
        if f.superseded {
            out.superseded.push(format!("{} ({})", f.name, &f.sha256[..12]));
            continue;
        }
        progress.stage(&ch.name, "parsing", &format!("{}/{} {name}", i + 1, files.len()));
        if !unzip::is_zip(name) {
            import_one(store, archive, ch, &f.sha256, name, format, &map, &limits, &mut out).await;
            continue;
        }
        // A zip: its members, each archived and recorded as a file of its own, imported like
        // plain files; the zip counts as imported once every member is.
        match store.is_imported(&f.sha256).await {
            Ok(true) => {
                out.skipped += 1;
                continue;
            }
            Ok(false) => {}
            Err(e) => {
                out.errors.push(format!("{name}: {e}"));
                continue;
            }
        }
        let members = match archive_zip_members(store, archive, &f.sha256, name, &ch.name, &zip_limits).await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(channel = %ch.name, file = %name, error = %format!("{e:#}"), "zip refused");
                out.errors.push(format!("{e:#}"));
                continue;
            }
        };
        let mut all = true;
        for (member, sha) in &members {
            out.zip_members += 1;
            all &= import_one(store, archive, ch, sha, member, format, &map, &limits, &mut out).await;
        }
        if all && let Err(e) = mark_imported(store, &f.sha256, "zip").await {
            out.errors.push(format!("{name}: {e:#}"));
        }
    }
    out
}

/// Imports one archived file of a batch (a delivered file or a zip's member) into `out`'s
/// counts, or its error into `out.errors`. Returns whether it is imported now.
#[allow(clippy::too_many_arguments)]
async fn import_one(
    store: &Store,
    archive: &Archive,
    ch: &ChannelConfig,
    sha: &str,
    name: &str,
    format: Option<&str>,
    map: &AccountMap,
    limits: &Limits,
    out: &mut Imported,
) -> bool {
    // Two workers importing the same file (two batches that fetched it) take turns:
    // the second finds it imported and skips it (PostgreSQL; a no-op on SQLite).
    let imported = match store.exclusive(&format!("import:{sha}")).await {
        Ok(_lock) => import_file(store, archive, sha, name, format, map, limits).await,
        Err(e) => Err(e.into()),
    };
    match imported {
        Ok(s) if s.already_imported => out.skipped += 1,
        Ok(s) => {
            out.imported += 1;
            out.statements += s.statements;
            out.entries_new += s.entries_new;
            out.entries_known += s.entries_known;
            for line in &s.changed {
                tracing::warn!(channel = %ch.name, file = %name, "{line}");
            }
            out.redelivered.extend(s.redelivered);
            out.redelivered_changed.extend(s.changed);
            tracing::info!(channel = %ch.name, file = %name, statements = s.statements, entries = s.entries_new, "imported");
        }
        Err(e) => {
            tracing::error!(channel = %ch.name, file = %name, error = %format!("{e:#}"), "import failed");
            out.errors.push(format!("{e:#}"));
            return false;
        }
    }
    true
}

/// The batch summary (`runs.summary`) from its stages, and the errors that fail it.
pub fn batch_summary(f: &Fetched, i: &Imported) -> (serde_json::Value, Vec<String>) {
    let mut errors = Vec::new();
    errors.extend(f.error.iter().cloned());
    errors.extend(f.refused.iter().cloned());
    errors.extend(i.errors.iter().cloned());
    let summary = json!({
        "files_fetched": f.fetched,
        "files_new_content": f.new_content,
        "files_known": f.known,
        "fetch_attempts": f.attempts,
        "after_pull_failed": f.after_pull_failed,
        "files_in_batch": i.files_in_batch,
        "files_imported": i.imported,
        "files_already_imported": i.skipped,
        "zip_members": i.zip_members,
        "statements": i.statements,
        "entries_new": i.entries_new,
        "entries_already_known": i.entries_known,
        "refused": f.refused,
        "superseded": i.superseded,
        "redelivered_same_content": i.redelivered,
        "redelivered_changed": i.redelivered_changed,
        "errors": errors,
    });
    (summary, errors)
}

/// One batch: pull, archive, import. Returns the summary JSON and the errors.
async fn batch(
    cfg: &Config,
    store: &Store,
    archive: &Archive,
    ch: &ChannelConfig,
    run: &RunRow,
    progress: &Progress,
) -> (serde_json::Value, Vec<String>) {
    let fetched = fetch_batch(cfg, store, archive, ch, run.id, progress).await;
    let imported = import_batch(cfg, store, archive, ch, run.id, progress).await;
    batch_summary(&fetched, &imported)
}

/// The date's report: every account matched from what is stored (replacing its previous
/// automatic results), as of the date, written to `dir` as a whole (the folder is
/// replaced, never written into). Shared by `run` and the worker's reporting stage.
pub struct DateReport {
    pub results: Vec<AccountResult>,
    pub warnings: Vec<String>,
    pub missing: Vec<super::deliveries::Missing>,
}

pub async fn report_date(
    cfg: &Config,
    store: &Store,
    date: NaiveDate,
    book_errors: &[String],
    dir: &std::path::Path,
    progress: &Progress,
) -> anyhow::Result<DateReport> {
    let mut results = Vec::new();
    let agreements = super::interest::all_agreements(cfg, store).await?;
    for a in accounts(cfg, &agreements) {
        progress.stage(&a.number, "matching", "");
        let _lock = store.exclusive(&format!("account:{}", a.number)).await?;
        results.push(match_account(store, &a, cfg.matching.date_window_days, Some(date)).await?);
    }
    let warnings = interest_warnings(&agreements, &results, date);
    let missing = missing_statements(cfg, store, &[date]).await?;
    // Vouchers that left the books: the 运行情况 sheet names each (bounded, like every table).
    let mut withdrawn = Vec::new();
    for a in &cfg.accounts {
        withdrawn.extend(store.withdrawn_records(&a.number, 1_000).await?.iter().map(|w| w.to_string()));
    }
    progress.stage("reports", "writing", &dir.display().to_string());
    // Every batch of the date, not just the ones this invocation ran: a rerun of one
    // batch must write the same report as the full run.
    let mut batches = Vec::new();
    for r in store.runs_on(date).await? {
        // The statements of the date, whichever batch pulled their files (issue 15, 4).
        let statements = batch_statements(store, &r.channel, date).await?;
        let mut b = json!({"id": r.id, "channel": r.channel, "bank": r.bank, "state": r.state, "error": r.error, "statements": statements});
        // A batch without the statement its channel owes says so (no key when nothing is owed).
        if let Some(w) = super::deliveries::batch_warning(&missing, r.id, &r.channel, r.business_date) {
            b["warning"] = json!(w);
        }
        batches.push(b);
    }
    // Written whole beside `dir`, then put in its place (issue 15, 11): a failed write
    // leaves the previous folder as it was.
    let staged = report::staged::Staged::new(dir).with_context(|| format!("writing reports to {}", dir.display()))?;
    report::write_with(
        staged.path(),
        &results,
        Some(json!({"business_date": date.to_string(), "batches": batches, "book_errors": book_errors, "book_withdrawn": withdrawn, "interest_warnings": warnings,
            "missing_statements": missing.iter().map(|m| json!({"account_no": m.account_no, "bank": m.bank, "channel": m.channel, "date": m.date.to_string(), "deadline": m.deadline, "status": m.status})).collect::<Vec<_>>()})),
        &cfg.report.options(),
    )
    .with_context(|| format!("writing reports to {}", dir.display()))?;
    staged.commit().with_context(|| format!("putting the reports in place at {}", dir.display()))?;
    Ok(DateReport { results, warnings, missing })
}

/// The statements of a batch's date as the report lists them: file, account, statement
/// id, closing date and the batch that pulled the file.
async fn batch_statements(store: &Store, channel: &str, date: NaiveDate) -> anyhow::Result<Vec<serde_json::Value>> {
    Ok(store
        .statements_of_date(channel, date)
        .await?
        .iter()
        .map(|s| {
            json!({"file": s.file, "account_no": s.account_no, "statement_id": s.statement_id,
                "closing_date": s.closing_date.map(|d| d.to_string()), "pulled_by_batch": s.pulled_by})
        })
        .collect())
}

pub async fn run(cfg: &Config, store: &Store, opts: &Options) -> anyhow::Result<Outcome> {
    let progress = Progress::new(opts.progress);
    let archive = Archive::open(&cfg.data_dir().join("archive"))?;
    progress.stage("books", "importing", "");
    // Vouchers that left the books are logged here and listed in the 运行情况 sheet.
    let book_errors = import_books(cfg, store, &archive).await;

    let (date, only_channel) = match opts.rerun {
        Some(id) => {
            let r =
                store.run(id).await?.with_context(|| format!("no batch with id {id} (see `fundrecon runs list`)"))?;
            (r.business_date, Some(r.channel))
        }
        None => (opts.date, None),
    };
    let mut runs = Vec::new();
    for ch in &cfg.channels {
        if only_channel.as_deref().is_some_and(|c| c != ch.name) {
            continue;
        }
        let row = store.ensure_run(&ch.name, &ch.bank, date).await?;
        store.note_queued_by(row.id, &format!("fundrecon run by {}", super::operator())).await?;
        // A batch a live worker holds is the worker's: running it here too would race it.
        // It is reported in the state the worker has it in.
        if let Some(q) = store.queue_row(row.id).await?
            && let (Some(w), Some(until)) = (&q.lease_owner, q.lease_until_ms)
            && until >= chrono::Utc::now().timestamp_millis()
        {
            tracing::warn!(run = row.id, worker = %w, state = %q.state, "batch held by a worker: not run here");
            runs.push(row);
            continue;
        }
        store.start_run(row.id).await?;
        let span = tracing::info_span!("batch", run = row.id, channel = %ch.name, bank = %ch.bank, date = %date);
        let _g = span.enter();
        let (summary, errors) = batch(cfg, store, &archive, ch, &row, &progress).await;
        let (state, error) = if errors.is_empty() { ("done", None) } else { ("failed", Some(errors.join("\n"))) };
        store.finish_run(row.id, state, error.as_deref(), &summary.to_string()).await?;
        runs.push(store.run(row.id).await?.expect("run row exists"));
    }

    let report_dir = cfg.output_dir().join(date.to_string());
    let DateReport { results, warnings, missing } =
        report_date(cfg, store, date, &book_errors, &report_dir, &progress).await?;
    progress.done();

    let failed = !book_errors.is_empty() || runs.iter().any(|r| r.state == "failed");
    let dirty = results.iter().flat_map(|a| a.discrepancies.iter()).any(report::needs_attention)
        || missing.iter().any(|m| m.status == "late");
    let exit_code = if failed {
        EXIT_FAILURE
    } else if dirty {
        EXIT_DISCREPANCIES
    } else {
        EXIT_CLEAN
    };
    Ok(Outcome { runs, results, report_dir, book_errors, warnings, missing, exit_code })
}

/// Statements of `dates` that did not arrive (late, or not yet due), as of now.
pub async fn missing_statements(
    cfg: &Config,
    store: &Store,
    dates: &[NaiveDate],
) -> anyhow::Result<Vec<super::deliveries::Missing>> {
    super::deliveries::missing_as_of(cfg, store, dates, chrono::Utc::now()).await
}

/// Agreement warnings as of the business date: expiring within 30 days, accounts with
/// balances but no agreement, rates above the cap or below the benchmark.
fn interest_warnings(
    agreements: &[crate::interest::Agreement],
    results: &[AccountResult],
    date: NaiveDate,
) -> Vec<String> {
    use crate::interest::warnings;
    let mut w = warnings::expiring(agreements, date, 30);
    let with_balances: Vec<(&str, NaiveDate, NaiveDate)> =
        results.iter().filter_map(|a| a.bank_closing.map(|(d, _)| (a.account_no.as_str(), d, d))).collect();
    w.extend(warnings::accounts_without_agreement(&with_balances, agreements));
    for a in agreements {
        if a.in_force(date) {
            w.extend(warnings::rate_checks(a, date, date));
        }
    }
    w.into_iter().map(|x| format!("{}: {}", x.code, x.message)).collect()
}
