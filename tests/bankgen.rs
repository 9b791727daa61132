//! The independent bank-delivery generator (`fundrecon::bankgen`): deliveries written from
//! the banks' format guides, run through the real `reconcile`, scored against their truth.
//!
//! The goal asserts (no wrong match, ≥ 99 % of true groups, ≥ 99 % of every planted
//! discrepancy type named right) are expected to fail until the matcher handles real
//! banks' habits; the tables printed with `-- --nocapture` say where it stands.

use chrono::NaiveDate;
use fundrecon::bankgen::{self, Config, Delivery};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn cfg(kind: Delivery, seed: u64) -> Config {
    Config {
        seed,
        kind,
        accounts: if kind == Delivery::Mixed { 15 } else { 8 },
        days: 20,
        per_day: 12,
        window_days: 3,
        start: NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
        ..Config::default()
    }
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out.sort();
    out
}

fn reconcile_and_score(kind: Delivery) {
    let mut failures = Vec::new();
    for seed in [11, 12] {
        let tmp = tempfile::tempdir().unwrap();
        let c = cfg(kind, seed);
        let sum = bankgen::write(tmp.path(), &c).unwrap();
        let out = tmp.path().join("out");
        let o = Command::new(env!("CARGO_BIN_EXE_fundrecon"))
            .arg("reconcile")
            .arg("--statements")
            .arg(tmp.path().join("statements"))
            .arg("--disbursements")
            .arg(tmp.path().join("books/disbursements.csv"))
            .arg("--receipts")
            .arg(tmp.path().join("books/receipts.csv"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.code() == Some(0) || o.status.code() == Some(1),
            "reconcile failed on {kind:?} seed {seed}: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        );
        let sc = bankgen::score(&tmp.path().join("truth.jsonl"), &out).unwrap();
        println!(
            "=== {kind:?} seed {seed}: {} files, {} entries, {} vouchers, {} true groups, {} open items; accounts {:?}",
            sum.files, sum.entries, sum.records, sum.groups, sum.open_items, sum.accounts
        );
        println!("{}", sc.table());
        for f in sc.goal_failures() {
            failures.push(format!("seed {seed}: {f}"));
        }
    }
    assert!(failures.is_empty(), "{kind:?} misses the goal:\n{}", failures.join("\n"));
}

#[test]
fn mt940_delivery_meets_the_goal() {
    reconcile_and_score(Delivery::Mt940);
}

#[test]
fn camt053_delivery_meets_the_goal() {
    reconcile_and_score(Delivery::Camt053);
}

#[test]
fn gbk_delivery_meets_the_goal() {
    reconcile_and_score(Delivery::Gbk);
}

#[test]
fn mixed_delivery_meets_the_goal() {
    reconcile_and_score(Delivery::Mixed);
}

/// Same seed, same bytes; every statement file parses and balances, and each file's
/// opening balance is the previous file's closing balance.
#[test]
fn deliveries_are_deterministic_parse_and_balance() {
    for kind in [Delivery::Mt940, Delivery::Camt053, Delivery::Gbk, Delivery::Mixed] {
        let mut c = cfg(kind, 5);
        c.days = 12;
        c.per_day = 10;
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        bankgen::write(a.path(), &c).unwrap();
        bankgen::write(b.path(), &c).unwrap();
        let fa = files(a.path());
        let fb = files(b.path());
        assert_eq!(fa.len(), fb.len());
        for (x, y) in fa.iter().zip(&fb) {
            assert_eq!(x.strip_prefix(a.path()).unwrap(), y.strip_prefix(b.path()).unwrap());
            assert!(std::fs::read(x).unwrap() == std::fs::read(y).unwrap(), "{} differs between two runs", x.display());
        }
        // Per account (the account number starts each file name), in date order.
        let mut by_account: BTreeMap<String, Vec<std::path::PathBuf>> = BTreeMap::new();
        for f in files(&a.path().join("statements")) {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            by_account.entry(name.split('_').next().unwrap().to_string()).or_default().push(f);
        }
        let limits = fundrecon::parse::Limits::default();
        let mut entries = 0;
        for (acct, fs) in by_account {
            let mut last_close = None;
            for f in fs {
                let bytes = std::fs::read(&f).unwrap();
                let sts = fundrecon::parse::parse(&f.to_string_lossy(), &bytes, None, &limits)
                    .unwrap_or_else(|e| panic!("{kind:?}: {} does not parse: {e}", f.display()));
                for st in sts {
                    assert!(st.flags.is_empty(), "{}: {:?}", f.display(), st.flags);
                    let open = st.opening.as_ref().expect("opening balance").amount.amount;
                    let close = st.closing.as_ref().expect("closing balance").amount.amount;
                    assert_eq!(open + st.entry_sum().unwrap(), close, "{} does not balance", f.display());
                    if let Some(prev) = last_close {
                        assert_eq!(open, prev, "{}: opening is not the previous closing ({acct})", f.display());
                    }
                    for e in &st.entries {
                        assert!(
                            e.bank_ref.is_some(),
                            "{}: entry without bank reference at {}",
                            f.display(),
                            e.location
                        );
                    }
                    entries += st.entries.len();
                    last_close = Some(close);
                }
            }
        }
        assert!(entries > 0);
    }
}

/// Writes a delivery for a person to look at: `BANKGEN_DIR=/tmp/d BANKGEN_KIND=mixed
/// BANKGEN_SEED=11 cargo test --test bankgen write_delivery -- --ignored`, then
/// `fundrecon reconcile --statements /tmp/d/statements --disbursements
/// /tmp/d/books/disbursements.csv --receipts /tmp/d/books/receipts.csv --out /tmp/d/out`.
#[test]
#[ignore = "a tool, not a test: writes a delivery into BANKGEN_DIR for a look (fundrecon bench-match --delivery … --dir does the same)"]
fn write_delivery() {
    let dir = std::env::var("BANKGEN_DIR").expect("BANKGEN_DIR");
    let kind = match std::env::var("BANKGEN_KIND").as_deref() {
        Ok("mt940") => Delivery::Mt940,
        Ok("camt") => Delivery::Camt053,
        Ok("gbk") => Delivery::Gbk,
        _ => Delivery::Mixed,
    };
    let seed = std::env::var("BANKGEN_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(11);
    // BANKGEN_FULL=1: the default size (8 accounts × 40 business days × 25 entries a day).
    let c = if std::env::var_os("BANKGEN_FULL").is_some() {
        Config { seed, kind, ..Config::default() }
    } else {
        cfg(kind, seed)
    };
    let sum = bankgen::write(Path::new(&dir), &c).unwrap();
    println!("{sum:?}");
}
