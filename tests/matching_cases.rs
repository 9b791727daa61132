//! Matching, one class of bank or booking habit at a time, through the binary: every
//! folder under `fixtures/matching/` is a small delivery (statements in a bank's format,
//! the fund's book CSVs) with `expect.toml`, the truth written from its story (which
//! entries and vouchers belong together, by which rule; what stays open, as what). The
//! test runs `fundrecon reconcile` on it and checks
//! - every expected pair is a match of that rule, and no match is made that the truth
//!   does not hold (a wrong match is worse than an open item);
//! - every expected open item is reported with its type;
//! - `matches.csv` and `discrepancies.csv` equal the goldens beside the case
//!   (`FUNDRECON_BLESS=1` rewrites the goldens, never `expect.toml`).

mod common;

use common::{ROOT, golden};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    pair: Vec<Pair>,
    #[serde(default)]
    open: Vec<Open>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pair {
    bank: Vec<String>,
    vouchers: Vec<String>,
    rule: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Open {
    bank: Option<String>,
    voucher: Option<String>,
    #[serde(rename = "type")]
    kind: String,
}

fn rows(path: &Path) -> Vec<csv::StringRecord> {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    r.records().map(Result::unwrap).collect()
}

/// Runs one case; returns the problems found (empty: the case holds).
fn run_case(dir: &Path) -> Vec<String> {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let expect: Expect = toml::from_str(&std::fs::read_to_string(dir.join("expect.toml")).unwrap())
        .unwrap_or_else(|e| panic!("{name}/expect.toml: {e}"));
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fundrecon"));
    cmd.current_dir(ROOT).env("FUNDRECON_LOG", "warn").arg("reconcile").arg("--statements").arg(dir.join("statements"));
    for (flag, file) in [("--disbursements", "disbursements.csv"), ("--receipts", "receipts.csv")] {
        if dir.join(file).exists() {
            cmd.arg(flag).arg(dir.join(file));
        }
    }
    let out = cmd.arg("--out").arg(&out_dir).output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{name}: reconcile failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut problems = Vec::new();
    // Matches: (rule, bank refs, vouchers) per match. matches.csv has a row per entry of a
    // match with the match's vouchers; rows of one match share rule and vouchers.
    let mut found: BTreeSet<(String, Vec<String>, Vec<String>)> = BTreeSet::new();
    let mut by_match: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for r in rows(&out_dir.join("matches.csv")) {
        let (bank_ref, vouchers, rule) = (&r[1], &r[4], &r[5]);
        if vouchers.is_empty() {
            // A reversal pairs two entries and no voucher: its rows share nothing else.
            by_match.entry((rule.to_string(), format!("#{bank_ref}"))).or_default().push(bank_ref.to_string());
        } else {
            by_match.entry((rule.to_string(), vouchers.to_string())).or_default().push(bank_ref.to_string());
        }
    }
    for ((rule, vouchers), mut banks) in by_match {
        banks.sort();
        let mut v: Vec<String> =
            if vouchers.starts_with('#') { Vec::new() } else { vouchers.split(';').map(str::to_string).collect() };
        v.sort();
        found.insert((rule, banks, v));
    }
    let mut want: BTreeSet<(String, Vec<String>, Vec<String>)> = BTreeSet::new();
    for p in &expect.pair {
        let (mut b, mut v) = (p.bank.clone(), p.vouchers.clone());
        b.sort();
        v.sort();
        if v.is_empty() {
            // A match of entries only (a reversal pair): matches.csv cannot say which rows
            // belong together; every entry of it must be a row of that rule with no voucher.
            for bank in &b {
                if !found.remove(&(p.rule.clone(), vec![bank.clone()], Vec::new())) {
                    problems.push(format!("{name}: entry {bank} not in a {} match", p.rule));
                }
            }
            continue;
        }
        want.insert((p.rule.clone(), b, v));
    }
    for w in want.difference(&found) {
        problems.push(format!("{name}: expected match not made: {w:?}"));
    }
    for f in found.difference(&want) {
        problems.push(format!("{name}: match the truth does not hold: {f:?}"));
    }
    let discs = rows(&out_dir.join("discrepancies.csv"));
    for o in &expect.open {
        let hit = discs.iter().any(|r| {
            &r[0] == o.kind.as_str()
                && o.bank.as_deref().is_none_or(|b| &r[2] == b)
                && o.voucher.as_deref().is_none_or(|v| &r[3] == v)
        });
        if !hit {
            problems.push(format!(
                "{name}: expected open item not reported: {} bank {:?} voucher {:?}",
                o.kind, o.bank, o.voucher
            ));
        }
    }
    if problems.is_empty() {
        for f in ["matches.csv", "discrepancies.csv"] {
            let got = std::fs::read_to_string(out_dir.join(f)).unwrap();
            golden(&format!("fixtures/matching/{name}/expected/{f}"), &got);
        }
    }
    problems
}

#[test]
fn every_case_holds() {
    let root = Path::new(ROOT).join("fixtures/matching");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expect.toml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 7, "cases under {}", root.display());
    let problems: Vec<String> = cases.iter().flat_map(|c| run_case(c)).collect();
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
