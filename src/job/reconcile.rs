//! `fundrecon reconcile`: parse + match in one shot over files, on a throwaway SQLite
//! database in a temporary folder, writing the three reports. The accounts are the ones
//! the book files use; every statement must map onto one of them.
//!
//! Unlike the daily run there is no archive: the database and everything beside it are
//! deleted when the run ends, so a copy of each file (written, synced, read back and
//! hashed again) would keep nothing. Each file is read once; its content hash is still
//! its identity (`raw_files`), so a file given twice is imported once, and each file is
//! still imported all-or-nothing in one transaction.

use super::{AccountInfo, EXIT_CLEAN, EXIT_DISCREPANCIES, match_account};
use crate::account::AccountMap;
use crate::archive::sha256_hex;
use crate::book::{self, Direction};
use crate::parse::{self, Limits};
use crate::report::{self, AccountResult};
use crate::statement::Statement;
use crate::store::ImportStats;
use crate::store::Store;
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    let tmp = tempfile::Builder::new().prefix("fundrecon-reconcile-").tempdir()?;
    let store = Store::open_scratch(&tmp.path().join("db.sqlite")).await?;
    // Where the time goes, for `bench-reconcile` (FUNDRECON_LOG=fundrecon::job::reconcile=info).
    let mut clock = std::time::Instant::now();
    let mut lap = |phase: &str, what: String| {
        tracing::info!(phase, seconds = clock.elapsed().as_secs_f64(), "reconcile phase {phase}: {what}");
        clock = std::time::Instant::now();
    };

    // Books first: they define the accounts.
    let mut accounts: BTreeMap<String, String> = BTreeMap::new();
    for (paths, dir) in [(&opts.disbursements, Direction::Disbursement), (&opts.receipts, Direction::Receipt)] {
        for p in paths {
            let bytes = std::fs::read(p).with_context(|| format!("{}", p.display()))?;
            let recs = book::read_csv(&p.display().to_string(), &bytes, dir)?;
            for r in &recs {
                accounts.entry(r.account_no.clone()).or_insert_with(|| r.amount.currency.to_string());
            }
            store.record_raw_file(&sha256_hex(&bytes), bytes.len() as u64, &file_name(p), "books").await?;
            store.import_books(&p.display().to_string(), &recs).await?;
        }
    }
    lap("books", format!("{} accounts", accounts.len()));
    let none: Vec<String> = Vec::new();
    let map = AccountMap::new(accounts.keys().map(|a| (a.as_str(), none.as_slice())));
    let limits = Limits::default();
    let files = walk(&opts.statements)?;
    for p in &files {
        let bytes = std::fs::read(p).with_context(|| format!("{}", p.display()))?;
        let name = p.display().to_string();
        let sha = sha256_hex(&bytes);
        store.record_raw_file(&sha, bytes.len() as u64, &name, "files").await?;
        import_bytes(&store, &sha, &name, bytes, &map, &limits).await?;
    }
    lap("statements", format!("{} files parsed and imported", files.len()));
    let mut results = Vec::new();
    for (number, currency) in &accounts {
        let info = AccountInfo {
            number: number.clone(),
            name: String::new(),
            currency: currency.clone(),
            bank: String::new(),
            book_opening: None,
            agreements: Vec::new(),
            rules: crate::matching::RuleSet::default(),
        };
        results.push(match_account(&store, &info, opts.window_days, None).await?);
        lap("match", format!("account {number}: read, matched, results stored"));
    }
    report::write_all(&opts.out, &results, None)
        .with_context(|| format!("writing reports to {}", opts.out.display()))?;
    lap("reports", opts.out.display().to_string());
    store.close().await;
    let dirty = results.iter().flat_map(|a| a.discrepancies.iter()).any(report::needs_attention);
    Ok((results, if dirty { EXIT_DISCREPANCIES } else { EXIT_CLEAN }))
}

/// Parses a file read whole and imports its statements in one transaction (nothing of
/// it stays when a statement's account is unknown or a statement fails). Parsing runs on
/// a blocking thread; memory is the file and its statements.
async fn import_bytes(
    store: &Store,
    sha: &str,
    name: &str,
    bytes: Vec<u8>,
    accounts: &AccountMap,
    limits: &Limits,
) -> anyhow::Result<ImportStats> {
    let Some(mut tx) = store.begin_import(sha).await? else {
        return Ok(ImportStats { already_imported: true, ..Default::default() });
    };
    let (file, limits) = (name.to_string(), limits.clone());
    let (used, statements) = tokio::task::spawn_blocking(move || {
        let mut statements: Vec<Statement> = Vec::new();
        let (used, _) = parse::stream(&file, &mut &bytes[..], None, None, &limits, &mut |s| {
            statements.push(s);
            Ok(())
        })?;
        Ok::<_, parse::ParseError>((used, statements))
    })
    .await
    .map_err(|e| anyhow::anyhow!("{name}: parser stopped: {e}"))??;
    for s in &statements {
        let a = accounts.resolve(&s.account).map_err(|e| anyhow::anyhow!("{name} {}: {e}", s.location))?;
        tx.statement(s, &a).await?;
    }
    Ok(tx.commit(used).await?)
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| p.display().to_string())
}
