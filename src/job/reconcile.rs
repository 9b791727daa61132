//! `fundrecon reconcile`: parse + match in one shot over files, on a throwaway SQLite
//! database in a temporary folder, writing the three reports. The accounts are the ones
//! the book files use; every statement must map onto one of them.

use super::{AccountInfo, EXIT_CLEAN, EXIT_DISCREPANCIES, archive_file, import_file, match_account};
use crate::account::AccountMap;
use crate::archive::Archive;
use crate::book::{self, Direction};
use crate::parse::Limits;
use crate::report::{self, AccountResult};
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
    let archive = Archive::open(&tmp.path().join("archive"))?;
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
            archive_file(&store, &archive, &file_name(p), &bytes, "books").await?;
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
        let sha = archive_file(&store, &archive, &name, &bytes, "files").await?;
        import_file(&store, &archive, &sha, &name, None, &map, &limits).await?;
    }
    lap("statements", format!("{} files archived, parsed and imported", files.len()));
    let mut results = Vec::new();
    for (number, currency) in &accounts {
        let info = AccountInfo {
            number: number.clone(),
            name: String::new(),
            currency: currency.clone(),
            bank: String::new(),
            book_opening: None,
            agreements: Vec::new(),
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

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| p.display().to_string())
}
