//! The holdout generator (src/holdout): deliveries written from banks' guides by a hand
//! that never saw the matcher, run through the real `reconcile` binary and scored against
//! their truth. Each kind runs two seeds; the tables are printed (`-- --nocapture`).
//!
//! `FUNDRECON_HOLDOUT_DIR=/some/dir` keeps the deliveries and reports there for a look.

use fundrecon::holdout::{self, Config, Kind};
use std::path::{Path, PathBuf};
use std::process::Command;

fn cfg(kind: Kind, seed: u64) -> Config {
    Config { seed, accounts: 6, days: 20, per_day: 12, kind }
}

fn place(kind: Kind, seed: u64) -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("FUNDRECON_HOLDOUT_DIR") {
        Some(d) => {
            let p = Path::new(&d).join(format!("{kind:?}-{seed}").to_lowercase());
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            (None, p)
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

fn run(kind: Kind, seed: u64) -> Vec<String> {
    let (_keep, d) = place(kind, seed);
    let s = holdout::write(&d, &cfg(kind, seed)).expect("delivery written");
    let out_dir = d.join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_fundrecon"))
        .arg("reconcile")
        .arg("--statements")
        .arg(d.join("statements"))
        .arg("--disbursements")
        .arg(d.join("books/disbursements.csv"))
        .arg("--receipts")
        .arg(d.join("books/receipts.csv"))
        .arg("--out")
        .arg(&out_dir)
        .env_remove("FUNDRECON_CONFIG")
        .env_remove("FUNDRECON_DATABASE_URL")
        .output()
        .expect("binary runs");
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "reconcile failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sc = fundrecon::bankgen::score(&d.join("truth.jsonl"), &out_dir).expect("scored");
    println!(
        "=== holdout {kind:?} seed {seed}: {} files, {} entries, {} vouchers, {} groups, {} open items; dialects {:?}\n{}",
        s.files,
        s.entries,
        s.vouchers,
        s.groups,
        s.opens,
        s.dialects.iter().map(|(_, d)| d.as_str()).collect::<Vec<_>>(),
        sc.table()
    );
    sc.goal_failures().into_iter().map(|f| format!("{kind:?} seed {seed}: {f}")).collect()
}

fn check(kind: Kind) {
    let mut failures = Vec::new();
    for seed in [1, 2] {
        failures.extend(run(kind, seed));
    }
    assert!(failures.is_empty(), "goal missed:\n{}", failures.join("\n"));
}

#[test]
fn holdout_mt940() {
    check(Kind::Mt940);
}

#[test]
fn holdout_camt053() {
    check(Kind::Camt053);
}

#[test]
fn holdout_cn() {
    check(Kind::Cn);
}

#[test]
fn holdout_mixed() {
    check(Kind::Mixed);
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn deterministic_and_every_statement_parses_and_balances() {
    for kind in [Kind::Mt940, Kind::Camt053, Kind::Cn, Kind::Mixed] {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        holdout::write(a.path(), &cfg(kind, 7)).unwrap();
        holdout::write(b.path(), &cfg(kind, 7)).unwrap();
        let fa = files(a.path());
        let fb = files(b.path());
        assert_eq!(fa.len(), fb.len());
        for (x, y) in fa.iter().zip(&fb) {
            assert_eq!(x.strip_prefix(a.path()).unwrap(), y.strip_prefix(b.path()).unwrap());
            assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap(), "{} differs between runs", x.display());
        }
        // Every statement parses, balances, and chains per account.
        let mut last: std::collections::HashMap<String, (chrono::NaiveDate, rust_decimal::Decimal)> =
            Default::default();
        let mut stmts = Vec::new();
        for f in files(&a.path().join("statements")) {
            let bytes = std::fs::read(&f).unwrap();
            let name = f.display().to_string();
            let ss = fundrecon::parse::parse(&name, &bytes, None, &fundrecon::parse::Limits::default())
                .unwrap_or_else(|e| panic!("{kind:?}: {name}: {e}"));
            assert!(!ss.is_empty(), "{name}: no statement");
            for s in ss {
                let open = s.opening.as_ref().unwrap_or_else(|| panic!("{name}: no opening balance"));
                let close = s.closing.as_ref().unwrap_or_else(|| panic!("{name}: no closing balance"));
                assert_eq!(
                    open.amount.amount + s.entry_sum().unwrap(),
                    close.amount.amount,
                    "{name}: does not balance"
                );
                assert!(s.flags.is_empty(), "{name}: {:?}", s.flags);
                for e in &s.entries {
                    assert!(
                        e.bank_ref.as_deref().is_some_and(|r| !r.is_empty()),
                        "{name}: {} has no bank reference",
                        e.location
                    );
                }
                stmts.push((s.account.clone(), close.date, open.amount.amount, close.amount.amount));
            }
        }
        stmts.sort_by(|x, y| (&x.0, x.1).cmp(&(&y.0, y.1)));
        for (acct, date, open, close) in stmts {
            if let Some((d, prev)) = last.get(&acct) {
                assert_eq!(*prev, open, "{kind:?}: {acct} on {date}: opening does not chain to {d}'s closing");
            }
            last.insert(acct, (date, close));
        }
    }
}
