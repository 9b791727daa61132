//! Every real statement file in `../shared/corpus/` goes through `fundrecon parse --json`
//! and is compared with `expected.jsonl` (what another parser produced): statement count,
//! account, opening and closing balance, entry count and entry sum.
//!
//! Where that parser is wrong or the file is itself broken, `tests/corpus-deviations.toml`
//! records the case and the reason; any other difference fails, and so does a deviation
//! that no longer happens (so the list stays true). The corpus is read in place, never
//! copied. `FUNDRECON_CORPUS` points elsewhere; without a corpus the test says it skipped
//! (and fails under CI, where the corpus is always beside the clone).

mod common;

use common::ROOT;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Deviations {
    deviation: Vec<Deviation>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Deviation {
    path: String,
    reason: String,
    /// `error`: fundrecon refuses the file (the expectation has statements).
    /// `parsed`: fundrecon reads the file although the expectation says reject / none.
    /// `differs`: both read it; `fields` lists what differs, and `ours` what we read.
    outcome: String,
    /// For `error`: a part of the error text.
    #[serde(default)]
    error_contains: Option<String>,
    /// For `differs`: the comparison keys that differ (`statement_count`, `s0.closing`…).
    #[serde(default)]
    fields: Vec<String>,
}

fn corpus_dir() -> Option<PathBuf> {
    let p = match std::env::var_os("FUNDRECON_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(ROOT).join("../shared/corpus"),
    };
    p.join("expected.jsonl").is_file().then_some(p)
}

fn dec(v: &Value) -> Option<Decimal> {
    v.as_str().and_then(|s| Decimal::from_str(s).ok())
}

/// The expected signed balance: `{amount, currency, mark: C|D}` (amount signed or not).
fn expected_balance(v: &Value) -> Option<(Decimal, Option<String>)> {
    if v.is_null() {
        return None;
    }
    let mut a = dec(&v["amount"])?;
    // Debit balances come either already negative or positive with mark D.
    if v["mark"].as_str() == Some("D") && a.is_sign_positive() {
        a = -a;
    }
    Some((a, v["currency"].as_str().map(str::to_string)))
}

/// Differences between our JSON and the expectation, as `key: ours vs expected`.
fn compare(ours: &Value, exp: &Value) -> BTreeMap<String, String> {
    let mut diffs = BTreeMap::new();
    let stmts = ours["statements"].as_array().cloned().unwrap_or_default();
    let want = exp["statements"].as_array().cloned().unwrap_or_default();
    if stmts.len() != want.len() {
        diffs.insert("statement_count".into(), format!("{} vs {}", stmts.len(), want.len()));
        return diffs;
    }
    for (i, (s, w)) in stmts.iter().zip(&want).enumerate() {
        let acct = s["account"].as_str().unwrap_or("");
        let wacct = w["account_id"].as_str().unwrap_or("");
        if acct.trim() != wacct.trim() {
            diffs.insert(format!("s{i}.account"), format!("{acct:?} vs {wacct:?}"));
        }
        for (key, wkey) in [("opening", "opening_balance"), ("closing", "closing_balance")] {
            let ours_b = dec(&s[key]["amount"]);
            let want_b = expected_balance(&w[wkey]);
            let same = match (&ours_b, &want_b) {
                (None, None) => true,
                (Some(a), Some((b, ccy))) => {
                    a == b && ccy.as_deref().is_none_or(|c| c == s["currency"].as_str().unwrap_or(""))
                }
                _ => false,
            };
            if !same {
                diffs.insert(format!("s{i}.{key}"), format!("{:?} vs {:?}", ours_b.map(|d| d.to_string()), want_b));
            }
        }
        let entries = s["entries"].as_array().map(|a| a.len()).unwrap_or(0);
        let wcount = w["transaction_count"].as_u64().unwrap_or(0) as usize;
        if entries != wcount {
            diffs.insert(format!("s{i}.entry_count"), format!("{entries} vs {wcount}"));
        }
        let sum: Decimal = s["entries"].as_array().into_iter().flatten().filter_map(|e| dec(&e["amount"])).sum();
        if let Some(wsum) = dec(&w["transaction_sum"])
            && sum != wsum
        {
            diffs.insert(format!("s{i}.entry_sum"), format!("{sum} vs {wsum}"));
        }
    }
    diffs
}

/// Payment-app exports in the Chinese corpus (and a securities account's): not bank
/// statements. They must be refused as an unknown layout, never read as garbage.
const NOT_BANK_STATEMENTS: [&str; 5] = ["alipay", "wechat", "jd_", "meituan", "hxsec"];

/// Bank exports: the entry count must be `data_row_count` (when the corpus gives one).
/// Running-balance breaks are flagged, not refused, so they do not count as differences.
fn compare_rows(ours: &Value, exp: &Value) -> BTreeMap<String, String> {
    let mut diffs = BTreeMap::new();
    let entries: u64 = ours["statements"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["entries"].as_array().map_or(0, |e| e.len() as u64))
        .sum();
    if let Some(want) = exp["data_row_count"].as_u64()
        && entries != want
    {
        diffs.insert("entry_count".into(), format!("{entries} vs {want}"));
    }
    diffs
}

#[test]
fn corpus_matches_expectations() {
    let Some(dir) = corpus_dir() else {
        assert!(std::env::var_os("CI").is_none(), "CI must have the shared corpus beside the clone");
        eprintln!("corpus test skipped: no ../shared/corpus (set FUNDRECON_CORPUS)");
        return;
    };
    let devs: Deviations =
        toml::from_str(&std::fs::read_to_string(Path::new(ROOT).join("tests/corpus-deviations.toml")).unwrap())
            .unwrap();
    let mut devs: BTreeMap<String, Deviation> = devs.deviation.into_iter().map(|d| (d.path.clone(), d)).collect();
    for d in devs.values() {
        assert!(!d.reason.trim().is_empty(), "{}: a deviation needs its reason", d.path);
        assert!(["error", "parsed", "differs"].contains(&d.outcome.as_str()), "{}: outcome {:?}", d.path, d.outcome);
    }
    let formats = ["mt940", "camt", "bai2", "cn-bank-csv", "other"];
    let (mut failures, mut checked, mut agreed) = (Vec::new(), 0, 0);
    for line in std::fs::read_to_string(dir.join("expected.jsonl")).unwrap().lines() {
        let exp: Value = serde_json::from_str(line).unwrap();
        let path = exp["path"].as_str().unwrap().to_string();
        if !formats.contains(&exp["format"].as_str().unwrap_or("")) {
            continue;
        }
        checked += 1;
        let table = matches!(exp["format"].as_str(), Some("cn-bank-csv" | "other"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fundrecon"));
        cmd.args(["parse", "--json"]).arg(dir.join(&path));
        if table {
            // Personal and card exports do not name their account; a channel would.
            cmd.args(["--account", "CORPUS-ACCOUNT"]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.code().is_some(), "{path}: killed by a signal (panic/abort?)");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!stderr.contains("panicked"), "{path}: {stderr}");
        let file_name = path.rsplit('/').next().unwrap_or("");
        let not_a_bank = table && NOT_BANK_STATEMENTS.iter().any(|p| file_name.starts_with(p));
        let reject = not_a_bank
            || (!table && exp["statement_count"].as_u64() == Some(0))
            || exp["expected_outcome"].as_str().is_some_and(|o| o.starts_with("reject"))
            || exp["peer_status"] == "no-statements";
        let dev = devs.remove(&path);
        let verdict: Result<(), String> = match (out.status.code(), reject) {
            (Some(2), true) if not_a_bank && !stderr.contains("unknown layout") => {
                Err(format!("error:a payment-app export must be refused as an unknown layout, got: {}", stderr.trim()))
            }
            (Some(2), true) => Ok(()),
            (Some(0), true) => Err("parsed:we read it, the expectation is reject/none".into()),
            (Some(2), false) => Err(format!("error:{}", stderr.trim())),
            (Some(0), false) => {
                let ours: Value = serde_json::from_slice(&out.stdout).unwrap();
                let d = if table { compare_rows(&ours, &exp) } else { compare(&ours, &exp) };
                if d.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "differs:{}",
                        d.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("; ")
                    ))
                }
            }
            (c, _) => Err(format!("error:exit code {c:?}: {stderr}")),
        };
        match (verdict, dev) {
            (Ok(()), None) => agreed += 1,
            (Ok(()), Some(d)) => {
                failures.push(format!("{path}: listed as a deviation ({}) but now agrees: remove it", d.reason))
            }
            (Err(e), None) => failures.push(format!("{path}: {e}")),
            (Err(e), Some(d)) => {
                let (kind, detail) = e.split_once(':').unwrap();
                if kind != d.outcome {
                    failures.push(format!("{path}: deviation says {} but got {kind}: {detail}", d.outcome));
                } else if kind == "error" && !d.error_contains.as_deref().is_some_and(|c| detail.contains(c)) {
                    failures.push(format!(
                        "{path}: error text changed: {detail} (deviation expects {:?})",
                        d.error_contains
                    ));
                } else if kind == "differs" {
                    let keys: Vec<&str> = detail.split("; ").map(|p| p.split(':').next().unwrap()).collect();
                    if keys != d.fields.iter().map(String::as_str).collect::<Vec<_>>() {
                        failures.push(format!("{path}: differs in {keys:?}, deviation lists {:?}: {detail}", d.fields));
                    }
                }
            }
        }
    }
    for (p, _) in devs {
        failures.push(format!("{p}: deviation for a file not in the corpus (or not a checked format)"));
    }
    eprintln!("corpus: {checked} files checked, {agreed} agree with expected.jsonl, {} deviations", checked - agreed);
    assert!(failures.is_empty(), "{} corpus failure(s):\n{}", failures.len(), failures.join("\n"));
    assert!(checked >= 285, "only {checked} corpus files checked");
}
