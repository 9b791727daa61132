//! `fundrecon reconcile`: parse + match in one shot over files, in memory, writing the
//! reports. The accounts are the ones the book files use; every statement must map onto
//! one of them.
//!
//! Unlike the daily run there is no archive and no database: everything is gone when the
//! run ends, so a copy of each file or a database file would keep nothing. The import
//! rules are the database's all the same ([`crate::store::memory::Ledger`]): a statement
//! file is identified by its content hash (given twice, imported once; a book file given
//! twice upserts the same records again, as in the daily run), an entry by its account
//! and entry key (overlapping deliveries count a payment once), a book record by account,
//! direction and voucher (a later file corrects an earlier one); a file that fails stops
//! the run with its name and place, and nothing is reported. A `.zip` among the statement
//! paths is read member by member ([`crate::unzip`], the daily run's bounds and refusals);
//! each member is a statement file of its own, named `<zip>!<member>`.
//!
//! How it runs: worker threads (one per core) read, hash and parse the files, books first;
//! this thread stores each file's result in the ledger strictly in file order, so the
//! outcome never depends on which thread finished first. Then each account is matched on
//! its own thread ([`super::account_result`], the daily run's computation), and the report
//! formats are written side by side ([`report::write_all`]).

use super::{AccountInfo, EXIT_CLEAN, EXIT_DISCREPANCIES, account_result};
use crate::account::AccountMap;
use crate::archive::sha256_hex;
use crate::book::{self, Direction};
use crate::parse::{self, Limits};
use crate::report::{self, AccountResult};
use crate::store::memory::{Ledger, PreparedBooks, PreparedStatement, Preparer, RowHint, in_read_order};
use crate::unzip;
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

#[derive(Clone, Debug)]
pub struct Options {
    pub statements: Vec<PathBuf>,
    pub disbursements: Vec<PathBuf>,
    pub receipts: Vec<PathBuf>,
    pub out: PathBuf,
    pub window_days: u32,
}

/// Files under the given paths, folders walked recursively, in a stable order. Hidden
/// files (`.name`) are skipped; symlinks are not followed into folders (no loops).
pub fn walk(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    const MAX_FILES: usize = 1_000_000;
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.iter().rev().cloned().collect();
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).with_context(|| format!("{}", p.display()))?;
        if meta.is_dir() {
            let mut kids: Vec<PathBuf> = std::fs::read_dir(&p)
                .with_context(|| format!("{}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|k| !k.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
                .collect();
            kids.sort();
            stack.extend(kids.into_iter().rev());
        } else {
            out.push(p);
            if out.len() > MAX_FILES {
                bail!("more than {MAX_FILES} files under the statement paths");
            }
        }
    }
    Ok(out)
}

pub async fn run(opts: &Options) -> anyhow::Result<(Vec<AccountResult>, i32)> {
    // All of it is CPU and file work: off the async runtime.
    let opts = opts.clone();
    tokio::task::spawn_blocking(move || run_blocking(&opts))
        .await
        .map_err(|e| anyhow::anyhow!("reconcile stopped: {e}"))?
}

/// One file to read: a book file (with its direction) or a statement file.
#[derive(Clone)]
enum Job {
    Books(PathBuf, Direction),
    Statements(PathBuf),
}

impl Job {
    fn path(&self) -> &std::path::Path {
        match self {
            Job::Books(p, _) | Job::Statements(p) => p,
        }
    }
}

/// What a worker made of a file: rows ready for the ledger. A statement file gives one
/// [`StatementFile`], a zip one per member.
enum Parsed {
    Books(PreparedBooks),
    Statements(Vec<StatementFile>),
}

/// One statement file's rows, by its name (`<zip>!<member>` for a zip's member) and hash.
struct StatementFile {
    name: String,
    sha: String,
    statements: Vec<PreparedStatement>,
}

fn run_blocking(opts: &Options) -> anyhow::Result<(Vec<AccountResult>, i32)> {
    // Where the time goes, for `bench-reconcile` (FUNDRECON_LOG=fundrecon::job::reconcile=info).
    let mut clock = std::time::Instant::now();
    let mut lap = |phase: &str, what: String| {
        tracing::info!(phase, seconds = clock.elapsed().as_secs_f64(), "reconcile phase {phase}: {what}");
        clock = std::time::Instant::now();
    };
    // Books first: they define the accounts.
    let mut jobs: Vec<Job> = Vec::new();
    jobs.extend(opts.disbursements.iter().map(|p| Job::Books(p.clone(), Direction::Disbursement)));
    jobs.extend(opts.receipts.iter().map(|p| Job::Books(p.clone(), Direction::Receipt)));
    let books = jobs.len();
    jobs.extend(walk(&opts.statements)?.into_iter().map(Job::Statements));
    let limits = Limits::default();

    // Room for a big account's rows, reserved once (see `RowHint`): few text rows are
    // shorter than 32 bytes (an MT940 :61: line alone is ~30, a BAI2 16 record ~25), so
    // this is more than an account gets unless it comes in compressed workbooks; then its
    // rows grow as usual. Address space only, and only where address space costs
    // nothing: not under strict overcommit or an address-space limit.
    let bytes = |kind: fn(&Job) -> bool| -> u64 {
        jobs.iter().filter(|j| kind(j)).filter_map(|j| std::fs::metadata(j.path()).ok()).map(|m| m.len()).sum()
    };
    const MIN_ROW_BYTES: u64 = 32;
    let hint = if crate::alloc::address_space_is_cheap() {
        RowHint {
            entries: (bytes(|j| matches!(j, Job::Statements(_))) / MIN_ROW_BYTES) as usize,
            records: (bytes(|j| matches!(j, Job::Books(..))) / MIN_ROW_BYTES) as usize,
        }
    } else {
        RowHint::default()
    };
    let mut ledger = Ledger::with_row_hint(hint);
    let mut accounts: BTreeMap<String, String> = BTreeMap::new();
    let mut map: Option<AccountMap> = None;
    let none: Vec<String> = Vec::new();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 16);
    let preparer = ledger.preparer();
    let mut storing = std::time::Duration::ZERO;
    in_order(
        &jobs,
        workers,
        |job| read(job, &limits, &preparer),
        |job| anyhow::anyhow!("{}: parser stopped (internal error)", job.path().display()),
        |i, parsed| {
            let t = std::time::Instant::now();
            match (parsed, &jobs[i]) {
                (Parsed::Books(recs), Job::Books(..)) => {
                    // An account's first record gives its currency; a record in another
                    // one would be counted into its balance as if it were the same money.
                    for (a, currency, file, location) in recs.accounts() {
                        match accounts.get(a) {
                            None => {
                                accounts.insert(a.to_string(), currency.to_string());
                            }
                            Some(first) if first != currency => bail!(
                                "{file}: {location}: field currency: {currency:?} is not the currency of account {a} ({first}, as its first book record says)"
                            ),
                            Some(_) => {}
                        }
                    }
                    ledger.books(recs).map_err(|e| anyhow::anyhow!("{}: {e}", jobs[i].path().display()))?;
                }
                (Parsed::Statements(files), Job::Statements(_)) => {
                    if i == books {
                        lap("books", format!("{} accounts", accounts.len()));
                    }
                    let map = map
                        .get_or_insert_with(|| AccountMap::new(accounts.keys().map(|a| (a.as_str(), none.as_slice()))));
                    for f in files {
                        store_statements(&mut ledger, map, &f.sha, &f.name, f.statements)?;
                    }
                }
                _ => bail!("internal: file {i} read as the wrong kind"),
            }
            storing += t.elapsed();
            Ok(())
        },
    )?;
    tracing::debug!(seconds = storing.as_secs_f64(), "reconcile: storing parsed files in the ledger");
    if books == jobs.len() {
        lap("books", format!("{} accounts", accounts.len()));
    }
    lap("statements", format!("{} files parsed and stored", jobs.len() - books));

    // Each account on its own thread (at most one per core at a time).
    let infos: Vec<(AccountInfo, crate::store::AccountData)> = accounts
        .iter()
        .map(|(number, currency)| {
            let info = AccountInfo {
                number: number.clone(),
                name: String::new(),
                currency: currency.clone(),
                bank: String::new(),
                book_opening: None,
                agreements: Vec::new(),
                rules: crate::matching::RuleSet::default(),
            };
            // Sorted on the account's own thread below.
            let data = ledger.take_account_unsorted(number);
            (info, data)
        })
        .collect();
    drop(ledger);
    lap("take", format!("{} accounts taken from the ledger", infos.len()));
    let nobody = crate::review::State::default();
    let mut results: Vec<AccountResult> = Vec::with_capacity(infos.len());
    let mut infos = infos.into_iter();
    loop {
        let round: Vec<_> = infos.by_ref().take(workers).collect();
        if round.is_empty() {
            break;
        }
        let nobody = &nobody;
        let numbers: Vec<String> = round.iter().map(|(info, _)| info.number.clone()).collect();
        let out: Vec<AccountResult> = std::thread::scope(|scope| {
            let handles: Vec<_> = round
                .into_iter()
                .map(|(info, mut data)| {
                    scope.spawn(move || {
                        in_read_order(&mut data);
                        account_result(&info, data, nobody, opts.window_days, None)
                    })
                })
                .collect();
            // Every thread joined (a panic not joined here would panic the scope).
            let joined: Vec<anyhow::Result<AccountResult>> = handles
                .into_iter()
                .zip(numbers)
                .map(|(h, number)| {
                    h.join().map_err(|_| anyhow::anyhow!("account {number}: matching stopped (internal error)"))
                })
                .collect();
            joined.into_iter().collect::<anyhow::Result<Vec<_>>>()
        })?;
        results.extend(out);
    }
    lap("match", format!("{} accounts matched", results.len()));
    report::write_all(&opts.out, &results, None)
        .with_context(|| format!("writing reports to {}", opts.out.display()))?;
    lap("reports", opts.out.display().to_string());
    let dirty = results.iter().flat_map(|a| a.discrepancies.iter()).any(report::needs_attention);
    Ok((results, if dirty { EXIT_DISCREPANCIES } else { EXIT_CLEAN }))
}

/// Runs `read` over `jobs` on `workers` threads and hands each result to `store` strictly
/// in job order (a reorder buffer), so the outcome never depends on which thread finished
/// first. The first error in job order is returned and no job starts after an error; a
/// panic in `read` becomes the error `on_panic` makes for its job (a parser bug must not
/// hide which file it was, nor leave a gap the storing loop would wait on).
fn in_order<J: Sync, T: Send>(
    jobs: &[J],
    workers: usize,
    read: impl Fn(&J) -> anyhow::Result<T> + Sync,
    on_panic: impl Fn(&J) -> anyhow::Error + Sync,
    mut store: impl FnMut(usize, T) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, anyhow::Result<T>)>();
        for _ in 0..workers.max(1) {
            let (tx, next, stop, read, on_panic) = (tx.clone(), &next, &stop, &read, &on_panic);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(job)))
                        .unwrap_or_else(|_| Err(on_panic(job)));
                    if res.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if tx.send((i, res)).is_err() {
                        break; // the storing side has stopped
                    }
                }
            });
        }
        drop(tx);
        // Jobs are taken in increasing order, so every job before a failed one is sent.
        let mut waiting: BTreeMap<usize, anyhow::Result<T>> = BTreeMap::new();
        let mut done = 0usize;
        let result = (|| {
            for (i, res) in rx.iter() {
                waiting.insert(i, res);
                while let Some(res) = waiting.remove(&done) {
                    store(done, res?)?;
                    done += 1;
                }
            }
            anyhow::ensure!(done == jobs.len(), "internal: {done} of {} files were read", jobs.len());
            Ok(())
        })();
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        result
    })
}

/// Reads, hashes and parses one file and prepares its rows (a worker's part: the ledger
/// itself is not touched).
fn read(job: &Job, limits: &Limits, preparer: &Preparer) -> anyhow::Result<Parsed> {
    match job {
        Job::Books(p, dir) => {
            let bytes = crate::parse::read_bounded(p, limits.max_file_bytes)?;
            let name = p.display().to_string();
            Ok(Parsed::Books(preparer.books(&name, book::read_csv(&name, &bytes, *dir)?)))
        }
        Job::Statements(p) => {
            let name = p.display().to_string();
            if unzip::is_zip(&name) {
                // Each member a statement file of its own (its own hash: the same member in
                // another zip, or given plain, is stored once), all read before any is stored.
                // Checked (regular file, within the limit); the zip reader seeks, so the plain file.
                let f = crate::parse::open_checked(p, limits.max_file_bytes)?;
                let zip_limits = unzip::Limits::new(limits.max_file_bytes);
                let members = unzip::extract(&name, std::io::BufReader::new(f), &zip_limits, |_| Ok(Vec::new()))?;
                let files = members
                    .into_iter()
                    .map(|m| parse_statements(m.name, m.sha256, &m.out, limits, preparer))
                    .collect::<anyhow::Result<_>>()?;
                return Ok(Parsed::Statements(files));
            }
            let bytes = crate::parse::read_bounded(p, limits.max_file_bytes)?;
            let sha = sha256_hex(&bytes);
            Ok(Parsed::Statements(vec![parse_statements(name, sha, &bytes, limits, preparer)?]))
        }
    }
}

/// Parses one statement file's bytes and prepares its rows.
fn parse_statements(
    name: String,
    sha: String,
    bytes: &[u8],
    limits: &Limits,
    preparer: &Preparer,
) -> anyhow::Result<StatementFile> {
    let mut statements: Vec<PreparedStatement> = Vec::new();
    parse::stream(&name, &mut &bytes[..], None, None, limits, &mut |s| {
        statements.push(preparer.statement(s));
        Ok(())
    })?;
    Ok(StatementFile { name, sha, statements })
}

/// Stores one file's statements, all or nothing: every statement's account is resolved
/// before any is stored, and a file whose content was stored before is skipped.
fn store_statements(
    ledger: &mut Ledger,
    accounts: &AccountMap,
    sha: &str,
    name: &str,
    statements: Vec<PreparedStatement>,
) -> anyhow::Result<()> {
    let resolved: Vec<String> = statements
        .iter()
        .map(|s| accounts.resolve(&s.raw_account).map_err(|e| anyhow::anyhow!("{name} {}: {e}", s.location)))
        .collect::<anyhow::Result<_>>()?;
    if !ledger.add_file(sha) {
        return Ok(());
    }
    let before = ledger.redeliveries().len();
    for (s, account) in statements.into_iter().zip(resolved) {
        ledger.statement(name, s, &account)?;
    }
    for line in &ledger.redeliveries()[before..] {
        tracing::warn!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::in_order;

    /// Results are stored in job order whatever the threads' timing; the first failure in
    /// job order is the error; a panic becomes the error naming its job.
    #[test]
    fn results_are_stored_in_job_order_and_failures_named() {
        let jobs: Vec<u64> = (0..200).collect();
        let slow = |j: &u64| {
            // Early jobs are the slowest, so later ones finish first.
            std::thread::sleep(std::time::Duration::from_micros((200 - j) * 20));
            Ok(*j * 10)
        };
        let mut seen = Vec::new();
        in_order(
            &jobs,
            4,
            slow,
            |_| unreachable!(),
            |i, v| {
                seen.push((i, v));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, jobs.iter().map(|&j| (j as usize, j * 10)).collect::<Vec<_>>());

        let mut stored = 0;
        let failing = |j: &u64| if *j == 7 || *j == 150 { anyhow::bail!("job {j} is bad") } else { Ok(()) };
        let err = in_order(
            &jobs,
            4,
            failing,
            |_| unreachable!(),
            |_, ()| {
                stored += 1;
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "job 7 is bad");
        assert_eq!(stored, 7, "jobs before the failure are stored, none after");

        let panicking = |j: &u64| if *j == 3 { panic!("parser bug") } else { Ok(()) };
        let err =
            in_order(&jobs, 2, panicking, |j| anyhow::anyhow!("file {j}: parser stopped"), |_, ()| Ok(())).unwrap_err();
        assert_eq!(err.to_string(), "file 3: parser stopped");
    }
}
