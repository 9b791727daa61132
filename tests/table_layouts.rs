//! Declarative Chinese bank exports (`fundrecon::parse::table`, layouts in `formats/`).
//!
//! 1. Every input in `fixtures/parse/table/` is read (statement layouts, or book layouts
//!    when its `NAME.opts` says `"kind": "book"`) and compared with `NAME.json` (the
//!    detected layout plus the `parse --json` form) or `NAME.err` (the error text).
//!    `NAME.opts` may also name the layout and the channel's account.
//!    `FUNDRECON_BLESS=1 cargo test --test table_layouts` rewrites the expectations; every
//!    one was checked by hand (see `fixtures/parse/table/README.md`).
//! 2. Every file of the shared corpus under `cn-bank-csv/` and `other/` is read from its
//!    place and checked against `expected.jsonl`: bank exports must be found by a layout
//!    with exactly `data_row_count` data rows; payment-platform and securities exports must
//!    be refused as "unknown layout". Where the corpus file itself is inconsistent
//!    (anonymised balances that do not add up, `xx,yyyy.zz` balances, times like
//!    `77:57:11`), the full parse must refuse it with the reason recorded in `DECISIONS`.
//!    Skipped with a note when the corpus folder is absent.
//! 3. Bad inputs and layout files: the errors name the place and quote the text.

use fundrecon::parse::table::{LayoutKind, Layouts, Options, parse_layout};
use fundrecon::parse::{Limits, Location, json};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn bless() -> bool {
    std::env::var_os("FUNDRECON_BLESS").is_some()
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/parse/table")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            p.is_file() && matches!(ext, "csv" | "txt" | "xls" | "xlsx")
        })
        .collect();
    v.sort();
    v
}

fn sidecar(path: &Path, ext: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn book_json(records: &[fundrecon::book::BookRecord]) -> Value {
    Value::Array(
        records
            .iter()
            .map(|r| {
                let mut v = json!({
                    "voucher_no": r.voucher_no,
                    "account_no": r.account_no,
                    "date": r.date.to_string(),
                    "amount": fundrecon::money::canonical(r.amount.amount),
                    "currency": r.amount.currency.as_str(),
                    "direction": r.direction.as_str(),
                    "counterparty_account": r.counterparty_account,
                    "counterparty_name": r.counterparty_name,
                    "purpose": r.purpose,
                    "batch_ref": r.batch_ref,
                    "location": r.location,
                });
                // Only rows that withdraw a voucher say so (older expectations stay as they are).
                match &r.void {
                    Some(fundrecon::book::Void::Voided) => v["void"] = json!("voided"),
                    Some(fundrecon::book::Void::Negates(t)) => v["void"] = json!({ "negates": t }),
                    None => {}
                }
                v
            })
            .collect(),
    )
}

#[test]
fn fixtures() {
    let layouts = Layouts::builtin();
    let limits = Limits::default();
    let files = inputs(&fixture_dir());
    assert!(files.len() >= 20, "fixtures missing in {}", fixture_dir().display());
    let mut failures = Vec::new();
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let o: Value = std::fs::read_to_string(sidecar(&path, "opts"))
            .map(|s| serde_json::from_str(&s).unwrap_or_else(|e| panic!("{name}.opts: {e}")))
            .unwrap_or(Value::Null);
        let opts = Options { layout: o["layout"].as_str(), account: o["account"].as_str() };
        let book = o["kind"].as_str() == Some("book");
        let kind = if book { LayoutKind::Book } else { LayoutKind::Statement };
        let result = if book {
            layouts.read_book(&name, &bytes, &opts, &limits).map(|r| {
                let layout = layouts.scan(&name, &bytes, &opts, kind, &limits).unwrap().layout;
                json!({ "layout": layout, "records": book_json(&r) })
            })
        } else {
            layouts.parse_with(&name, &bytes, &opts, &limits).map(|s| {
                let layout = layouts.scan(&name, &bytes, &opts, kind, &limits).unwrap().layout;
                let mut v = json::statements(&s);
                v["layout"] = json!(layout);
                v
            })
        };
        let (json_path, err_path) = (sidecar(&path, "json"), sidecar(&path, "err"));
        let got = match result {
            Ok(v) => (json_path.clone(), serde_json::to_string_pretty(&v).unwrap() + "\n"),
            Err(e) => (err_path.clone(), e.to_string() + "\n"),
        };
        if bless() {
            let _ = std::fs::remove_file(&json_path);
            let _ = std::fs::remove_file(&err_path);
            std::fs::write(&got.0, &got.1).unwrap();
            continue;
        }
        match std::fs::read_to_string(&got.0) {
            Ok(want) if want == got.1 => {}
            Ok(want) => failures.push(format!("{}: differs\n--- want\n{want}\n--- got\n{}", got.0.display(), got.1)),
            Err(_) => failures.push(format!(
                "{}: no expectation {} (got: {})",
                path.display(),
                got.0.display(),
                got.1.lines().next().unwrap_or("")
            )),
        }
    }
    assert!(failures.is_empty(), "{} fixture(s) failed:\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// The shared corpus

/// `FUNDRECON_CORPUS`, else `../shared/corpus` beside the clone (as `tests/corpus.rs`).
fn corpus_dir() -> PathBuf {
    match std::env::var_os("FUNDRECON_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    }
}

/// Corpus files whose own data a strict reader must refuse: (path, text the error must
/// contain, why). Each was checked by hand against the file.
const DECISIONS: &[(&str, &str, &str)] = &[
    (
        "cn-bank-csv/bill-file-converter/abc-debit_result.csv",
        "at line 3: previous balance",
        "randomised balances: 30741.56 − 1.91 ≠ 48284.09",
    ),
    (
        "cn-bank-csv/bill-file-converter/boc-credit_result1.csv",
        "\"02/28\" has no year",
        "title 中国银行信用卡账单(0250年21月) gives no year for MM/DD",
    ),
    (
        "cn-bank-csv/bill-file-converter/boc-credit_result2.csv",
        "\"02/26\" has no year",
        "title (0025年62月) gives no year for MM/DD",
    ),
    ("cn-bank-csv/bill-file-converter/boc-debit_result.csv", "\"77:57:11\" is not a time of day", "randomised times"),
    ("cn-bank-csv/bill-file-converter/bocom-debit_result.csv", "at line 3: previous balance", "randomised balances"),
    ("cn-bank-csv/bill-file-converter/cmb-debit_result.csv", "at line 3: previous balance", "randomised balances"),
    (
        "cn-bank-csv/double-entry-generator/abc_debit_example-abc_debit-records.csv",
        "at line 3: previous balance",
        "11000.00 − 10.00 ≠ 11000.00",
    ),
    (
        "cn-bank-csv/double-entry-generator/bocom_debit_example-bocom_debit-records.csv",
        "at line 3: previous balance",
        "1334.63 − 3.21 ≠ 2334.62",
    ),
    (
        "cn-bank-csv/double-entry-generator/cmb_debit_example-cmb-records.csv",
        "at line 4: previous balance",
        "271.66 − 3.00 ≠ 81.22",
    ),
    (
        "cn-bank-csv/double-entry-generator/history/icbc_example-icbc-records.csv",
        "at line 14: previous balance",
        "anonymised balances, rows newest first",
    ),
    (
        "cn-bank-csv/double-entry-generator/icbc_credit_example-icbc-credit-records.csv",
        "at line 9: previous balance",
        "−6086.11 − 18.00 ≠ −3728.62",
    ),
    (
        "cn-bank-csv/double-entry-generator/icbc_debit-v1_example-icbc-debit-v1-records.csv",
        "\"xx,yyyy.zz\" is not an amount",
        "balance column anonymised",
    ),
    (
        "cn-bank-csv/double-entry-generator/icbc_debit-v2_example-icbc-debit-v2-records.csv",
        "\"xx,yyyy.zz\" is not an amount",
        "balance column anonymised",
    ),
    (
        "other/double-entry-generator/ccb_example-ccb-records.xls",
        "at row 10: previous balance",
        "2140.13 − 515.02 ≠ 1579.11",
    ),
];

/// Layout each bank file must be detected as (by the start of its corpus file name).
const BANK_LAYOUTS: &[(&str, &str)] = &[
    ("abc-debit", "abc-personal"),
    ("abc_debit", "abc-personal"),
    ("boc-credit", "boc-credit"),
    ("boc_credit", "boc-credit"),
    ("boc-debit", "boc-debit"),
    ("boc_debit", "boc-debit"),
    ("bocom-credit", "bocom-credit"),
    ("bocom_credit", "bocom-credit"),
    ("bocom-debit", "bocom-debit"),
    ("bocom_debit", "bocom-debit"),
    ("cgb_credit", "cgb-credit"),
    ("cmb-credit", "cmb-credit"),
    ("cmb_credit", "cmb-credit"),
    ("cmb-debit", "cmb-debit"),
    ("cmb_debit", "cmb-debit"),
    ("icbc", "icbc-personal"),
    ("ccb_", "ccb-personal"),
    ("citic_credit", "citic-credit"),
    ("spdb_debit", "spdb-debit"),
];

/// Not bank statements: refused as an unknown layout.
fn is_not_a_bank(name: &str) -> bool {
    ["alipay", "wechat", "jd_", "meituan", "hxsec"].iter().any(|p| name.starts_with(p))
}

fn corpus_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn corpus_cn_bank_exports() {
    let root = &corpus_dir();
    if !root.join("cn-bank-csv").is_dir() || !root.join("expected.jsonl").is_file() {
        println!("note: {}/cn-bank-csv is absent; corpus check skipped (set FUNDRECON_CORPUS)", root.display());
        return;
    }
    let expected: std::collections::HashMap<String, Value> = std::fs::read_to_string(root.join("expected.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter_map(|v| Some((v["path"].as_str()?.to_string(), v)))
        .collect();
    let layouts = Layouts::builtin();
    let limits = Limits::default();
    // The files carry no account of their own: the channel supplies one.
    let opts = Options { layout: None, account: Some("CORPUS-ACCOUNT") };
    let mut failures = Vec::new();
    let mut report = Vec::new();
    let mut seen = 0;
    for dir in ["cn-bank-csv", "other"] {
        for path in corpus_files(&root.join(dir)) {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let bytes = std::fs::read(&path).unwrap();
            let exp = expected.get(&rel);
            seen += 1;
            let scan = layouts.scan(&rel, &bytes, &opts, LayoutKind::Statement, &limits);
            let parsed = layouts.parse_with(&rel, &bytes, &opts, &limits);
            if is_not_a_bank(&name) {
                match parsed {
                    Err(e) if e.message.starts_with("unknown layout") && e.message.contains("not a bank statement") => {
                        report.push(format!("refused  {rel}: {}", e.message.chars().take(90).collect::<String>()));
                    }
                    Err(e) => failures.push(format!("{rel}: refused, but not as an unknown layout: {e}")),
                    Ok(s) => {
                        failures.push(format!("{rel}: not a bank statement, yet read as {} statement(s)", s.len()))
                    }
                }
                continue;
            }
            let Some((_, want_layout)) = BANK_LAYOUTS.iter().find(|(p, _)| name.starts_with(p)) else {
                failures.push(format!("{rel}: no expectation in this test"));
                continue;
            };
            let scan = match scan {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("{rel}: no layout found: {e}"));
                    continue;
                }
            };
            if scan.layout != *want_layout {
                failures.push(format!("{rel}: detected as {}, expected {want_layout}", scan.layout));
            }
            let want_rows = exp.and_then(|e| e["data_row_count"].as_u64());
            if let Some(n) = want_rows {
                if scan.data_rows() as u64 != n {
                    failures.push(format!("{rel}: {} data rows, expected.jsonl says {n}", scan.data_rows()));
                }
                let header = exp.and_then(|e| e["header_line_index"].as_u64()).map(|i| i + 1);
                if header.is_some() && scan.tables.first().map(|t| t.header_line) != header {
                    failures.push(format!(
                        "{rel}: header at {:?}, expected.jsonl says line {header:?}",
                        scan.tables.first().map(|t| t.header_line)
                    ));
                }
            }
            let decision = DECISIONS.iter().find(|(p, _, _)| *p == rel);
            match (parsed, decision) {
                (Ok(s), None) => {
                    let entries: usize = s.iter().map(|x| x.entries.len()).sum();
                    if entries != scan.data_rows() {
                        failures.push(format!("{rel}: {entries} entries from {} data rows", scan.data_rows()));
                    }
                    report.push(format!(
                        "parsed   {rel}: {} ({} rows, {} statement(s))",
                        scan.layout,
                        entries,
                        s.len()
                    ));
                }
                (Err(e), Some((_, want, why))) if e.to_string().contains(want) => {
                    report.push(format!("refused  {rel}: {} rows found by {}; {why}", scan.data_rows(), scan.layout));
                }
                (Err(e), Some((_, want, _))) => {
                    failures.push(format!("{rel}: error should contain {want:?}, got: {e}"))
                }
                (Err(e), None) => failures.push(format!("{rel}: {e}")),
                // A running-balance break does not stop the parse: the statement is flagged.
                (Ok(s), Some((_, want, why))) if s.iter().flat_map(|x| x.flags.iter()).any(|f| f.contains(want)) => {
                    let entries: usize = s.iter().map(|x| x.entries.len()).sum();
                    if entries != scan.data_rows() {
                        failures.push(format!("{rel}: {entries} entries from {} data rows", scan.data_rows()));
                    }
                    report.push(format!("flagged  {rel}: {} ({entries} rows); {why}", scan.layout));
                }
                (Ok(_), Some((_, want, _))) => failures.push(format!("{rel}: parsed, but DECISIONS expects {want:?}")),
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(seen >= 40, "only {seen} corpus files");
    assert!(failures.is_empty(), "{} corpus file(s) failed:\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Bad inputs, named explicitly

fn err_of(file: &str) -> fundrecon::parse::ParseError {
    let path = fixture_dir().join(file);
    let bytes = std::fs::read(&path).unwrap();
    let o: Value = std::fs::read_to_string(sidecar(&path, "opts"))
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap_or(Value::Null);
    let opts = Options { layout: o["layout"].as_str(), account: o["account"].as_str() };
    Layouts::builtin().parse_with(file, &bytes, &opts, &Limits::default()).unwrap_err()
}

#[test]
fn bad_inputs_name_place_and_text() {
    let e = err_of("bad-mangled-account.csv");
    assert_eq!(e.location, Location::Line(2));
    assert!(e.message.contains("\"6.22202E+18\" looks like a number mangled by a spreadsheet"), "{e}");
    let e = err_of("bad-numeric-account.xls");
    assert!(e.message.contains("more than 15 digits"), "{e}");
    // P0003 (−200,000.00) is missing: the break shows at P0004, line 4. The statement still
    // parses (it is what the bank sent) and carries the flag.
    let path = fixture_dir().join("bad-balance-break.csv");
    let o: Value =
        serde_json::from_str(&std::fs::read_to_string(sidecar(&path, "opts")).unwrap_or_else(|_| "null".into()))
            .unwrap();
    let opts = Options { layout: o["layout"].as_str(), account: o["account"].as_str() };
    let s = Layouts::builtin()
        .parse_with("bad-balance-break.csv", &std::fs::read(&path).unwrap(), &opts, &Limits::default())
        .unwrap();
    let flags: Vec<&String> = s.iter().flat_map(|x| x.flags.iter()).collect();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert!(
        flags[0].starts_with("arithmetic_error: bad-balance-break.csv at line 4: ")
            && flags[0].contains("1404540.30")
            && flags[0].contains("1204540.30"),
        "{}",
        flags[0]
    );
    let e = err_of("bad-lone-lead-byte.csv");
    assert_eq!(e.location, Location::Line(2));
    assert!(e.message.contains("byte 0x81") && e.message.contains("offset") && e.message.contains("line 2"), "{e}");
    let e = err_of("bad-unknown-layout.csv");
    assert!(e.message.starts_with("unknown layout") && e.message.contains("交易时间 | 交易类型"), "{e}");
    let e = err_of("bad-missing-column.csv");
    assert!(e.message.contains("header missing a required column") && e.message.contains("balance (账户余额)"), "{e}");
    let e = err_of("bad-date.txt");
    assert!(e.message.contains("\"2024-02-30\" is not a date"), "{e}");
    let e = err_of("bad-amount.txt");
    assert!(e.message.contains("\"1.2.3\" is not an amount"), "{e}");
    let e = err_of("bad-serial-60.xlsx");
    assert!(e.message.contains("1900-02-29"), "{e}");
}

#[test]
fn limits_are_errors() {
    let l = Layouts::builtin();
    let text = std::fs::read(fixture_dir().join("cmbc-corporate.csv")).unwrap();
    let opts = Options::default();
    let small = Limits { max_line_bytes: 40, ..Limits::default() };
    let e = l.parse_with("c.csv", &text, &opts, &small).unwrap_err();
    assert!(e.message.contains("over the limit of 40 bytes"), "{e}");
    let few = Limits { max_entries_per_statement: 2, ..Limits::default() };
    let e = l.parse_with("c.csv", &text, &opts, &few).unwrap_err();
    assert!(e.message.contains("more than 2 rows"), "{e}");
    let wide = format!("交易日期,{}\n", (0..600).map(|i| format!("c{i}")).collect::<Vec<_>>().join(","));
    let e = l.parse_with("w.csv", wide.as_bytes(), &opts, &Limits::default()).unwrap_err();
    assert!(e.message.contains("cells, over the limit"), "{e}");
}

#[test]
fn detect_by_header() {
    let l = Layouts::builtin();
    let read = |f: &str| std::fs::read(fixture_dir().join(f)).unwrap();
    assert_eq!(l.detect(&read("icbc-corporate.csv"), "x.csv").map(|x| x.name.as_str()), Some("icbc-corporate"));
    assert_eq!(l.detect(&read("ccb-corporate.xls"), "x.xls").map(|x| x.name.as_str()), Some("ccb-corporate"));
    assert_eq!(l.detect(&read("cmb-corporate.xlsx"), "x.xlsx").map(|x| x.name.as_str()), Some("cmb-corporate"));
    assert_eq!(l.detect(&read("generic-dates.txt"), "x.txt").map(|x| x.name.as_str()), Some("generic-split"));
    assert_eq!(l.detect(&read("bad-unknown-layout.csv"), "x.csv").map(|x| x.name.as_str()), None);
    assert_eq!(l.detect_book(&read("book-generic.csv"), "x.csv").map(|x| x.name.as_str()), Some("book-generic"));
}

#[test]
fn layout_files_validate_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mybank.toml"),
        "name = \"mybank\"\n[columns]\nbooking_date = \"日期\"\namount = \"金额\"\nbalance = \"余额\"\naccount = \"账号\"\n",
    )
    .unwrap();
    let mut l = Layouts::builtin();
    let before = l.names().len();
    assert_eq!(l.load_dir(dir.path()).unwrap(), 1);
    assert_eq!(l.names().len(), before + 1);
    let s = l.parse(
        "m.csv",
        "日期,金额,余额,账号\n2024-01-02,5.00,15.00,X1\n".as_bytes(),
        Some("mybank"),
        &Limits::default(),
    );
    assert_eq!(s.unwrap()[0].entries.len(), 1);
    std::fs::write(
        dir.path().join("zbroken.toml"),
        "name = \"z\"\n[columns]\nbooking_date = \"日期\"\namount = \"金额\"\n[amount]\nstyle = \"sideways\"\n",
    )
    .unwrap();
    let e = Layouts::builtin().load_dir(dir.path()).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!("{}: amount.style: ", dir.path().join("zbroken.toml").display())),
        "{e}"
    );
    let e = parse_layout("formats/x.toml", "name = \"x\"\n[columns]\nbooking_date = \"日期\"\nwhatever = \"a\"\n")
        .unwrap_err();
    assert!(e.to_string().starts_with("formats/x.toml: columns.whatever: unknown field"), "{e}");
}

/// Mutated fixtures (text and spreadsheets) never panic or abort: every outcome is a value
/// or an error.
#[test]
fn mutated_inputs_never_panic() {
    let l = Layouts::builtin();
    let limits = Limits::default();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for f in ["ccb-corporate.xls", "cmb-corporate.xlsx", "icbc-corporate.csv", "cmbc-corporate.csv"] {
        let base = std::fs::read(fixture_dir().join(f)).unwrap();
        for _ in 0..300 {
            let mut b = base.clone();
            for _ in 0..1 + next() % 8 {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            if next() % 4 == 0 {
                let cut = (next() as usize) % b.len();
                b.truncate(cut);
            }
            let _ = l.parse_with(f, &b, &Options { layout: None, account: Some("X") }, &limits);
        }
    }
}
