//! The binary's stable interfaces: `parse --json`, `reconcile`, `config check`, exit codes.
//! Outputs are compared with golden files (`FUNDRECON_BLESS=1` rewrites them).

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

fn fundrecon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fundrecon"))
        .args(args)
        .env_remove("FUNDRECON_CONFIG")
        .env_remove("FUNDRECON_DATABASE_URL")
        .current_dir(ROOT)
        .output()
        .expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("utf-8 output")
}

#[test]
fn parse_json_of_demo_files() {
    for f in [
        "fixtures/demo/boc/BOC_MT940_20240321.sta",
        "fixtures/demo/boc/BOC_MT940_20240322.sta",
        "fixtures/demo/icbc/ICBC_camt053_20240321.xml",
        "fixtures/demo/icbc/ICBC_camt053_20240322.xml",
    ] {
        let out = fundrecon(&["parse", f, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{f}: {}", text(&out.stderr));
        let name = Path::new(f).file_name().unwrap().to_string_lossy().to_string();
        golden(&format!("fixtures/demo/expected/parse/{name}.json"), &text(&out.stdout));
    }
}

#[test]
fn parse_errors_name_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bad.sta");
    std::fs::write(&p, ":20:X\r\n:25:450012345678901234\r\n:28C:1\r\n:60F:C240320CNY1,00\r\n:61:2403210321D1x,00NTRFNONREF\r\n:62F:C240321CNY1,00\r\n").unwrap();
    let out = fundrecon(&["parse", p.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.starts_with(&format!("error: {}:5: field :61:", p.display())), "{err}");
    assert!(out.stdout.is_empty());
    let out = fundrecon(&["parse", "Cargo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: Cargo.toml")
            && err.contains("unknown format: not MT940/MT942, ISO 20022 camt.05x or BAI2"),
        "{err}"
    );
}

#[test]
fn reconcile_writes_golden_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let out = fundrecon(&[
        "reconcile",
        "--statements",
        "fixtures/demo/boc",
        "fixtures/demo/icbc",
        "--disbursements",
        "fixtures/demo/books/disbursements.csv",
        "--receipts",
        "fixtures/demo/books/receipts.csv",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "discrepancies found: {}", text(&out.stderr));
    for f in ["matches.csv", "discrepancies.csv", "summary.json"] {
        golden(&format!("fixtures/demo/expected/reconcile/{f}"), &read(&out_dir.join(f)));
    }
    // The one-shot form and the daily job agree on matches and discrepancies (details
    // may differ: the daily job knows the deposit agreement, `reconcile` does not).
    let no_detail = |s: String| {
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(s.as_bytes());
        r.records()
            .map(|x| {
                x.unwrap().iter().enumerate().filter(|(i, _)| *i != 7).map(|(_, c)| c.to_string()).collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(read(&out_dir.join("matches.csv")), read(&Path::new(ROOT).join("fixtures/demo/expected/matches.csv")));
    assert_eq!(
        no_detail(read(&out_dir.join("discrepancies.csv"))),
        no_detail(read(&Path::new(ROOT).join("fixtures/demo/expected/discrepancies.csv")))
    );
}

/// Statements delivered twice (the same bytes under other names, in another folder) count
/// once; a statement file that cannot be read stops the run naming the file and line,
/// whatever the other files, and writes no report.
#[test]
fn reconcile_counts_a_repeated_file_once_and_names_a_bad_one() {
    let tmp = tempfile::tempdir().unwrap();
    let again = tmp.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    for (from, to) in [
        ("fixtures/demo/boc/BOC_MT940_20240321.sta", "copy-of-boc.sta"),
        ("fixtures/demo/icbc/ICBC_camt053_20240322.xml", "resent.xml"),
    ] {
        std::fs::copy(Path::new(ROOT).join(from), again.join(to)).unwrap();
    }
    let run = |extra: &str, out: &Path| {
        fundrecon(&[
            "reconcile",
            "--statements",
            "fixtures/demo/boc",
            "fixtures/demo/icbc",
            extra,
            "--disbursements",
            "fixtures/demo/books/disbursements.csv",
            "--receipts",
            "fixtures/demo/books/receipts.csv",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let out_dir = tmp.path().join("out");
    let out = run(again.to_str().unwrap(), &out_dir);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    for f in ["matches.csv", "discrepancies.csv", "summary.json"] {
        golden(&format!("fixtures/demo/expected/reconcile/{f}"), &read(&out_dir.join(f)));
    }

    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let mt940 = read(&Path::new(ROOT).join("fixtures/demo/boc/BOC_MT940_20240322.sta"));
    let broken = mt940.replacen(":60F:", ":60F:X", 1);
    assert_ne!(broken, mt940);
    std::fs::write(bad.join("broken.sta"), broken).unwrap();
    let out_dir = tmp.path().join("out-bad");
    let out = run(bad.to_str().unwrap(), &out_dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("broken.sta:5: field :60F:"), "names the file, line and field: {err}");
    assert!(!out_dir.join("matches.csv").exists(), "no report from a failed run");
}

/// A zip of the ICBC statements (fixtures/zip) gives the same reports as the plain files;
/// given beside them, its members count once; a bad member stops the run naming the zip,
/// the member and the place; a hostile zip is refused naming it.
#[test]
fn reconcile_reads_a_zip_member_by_member() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |statements: &[&str], out: &Path| {
        let mut args = vec!["reconcile", "--statements"];
        args.extend_from_slice(statements);
        args.extend([
            "--disbursements",
            "fixtures/demo/books/disbursements.csv",
            "--receipts",
            "fixtures/demo/books/receipts.csv",
            "--out",
            out.to_str().unwrap(),
        ]);
        fundrecon(&args)
    };
    let plain = tmp.path().join("plain");
    let out = run(&["fixtures/demo/boc", "fixtures/demo/icbc"], &plain);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    for (statements, dir) in [
        (&["fixtures/demo/boc", "fixtures/zip/ICBC_20240322.zip"][..], "zipped"),
        (&["fixtures/demo/boc", "fixtures/demo/icbc", "fixtures/zip/ICBC_20240322.zip"][..], "both"),
    ] {
        let out_dir = tmp.path().join(dir);
        let out = run(statements, &out_dir);
        assert_eq!(out.status.code(), Some(1), "{dir}: {}", text(&out.stderr));
        for f in ["matches.csv", "discrepancies.csv", "summary.json", "report.html"] {
            assert_eq!(read(&out_dir.join(f)), read(&plain.join(f)), "{dir}: {f}");
        }
    }

    // A member that does not parse: the zip, the member and the line/path are named.
    let xml = read(&Path::new(ROOT).join("fixtures/demo/icbc/ICBC_camt053_20240322.xml"));
    let broken = xml.replacen("<Amt Ccy=\"CNY\">", "<Amt Ccy=\"CNY\">x", 1);
    assert_ne!(broken, xml);
    let zip_at = |name: &str, members: &[(&str, &[u8])]| {
        let p = tmp.path().join(name);
        write_zip(&p, members);
        p.to_str().unwrap().to_string()
    };
    let bad = zip_at("bad.zip", &[("good.sta", xml.as_bytes()), ("sub/broken.xml", broken.as_bytes())]);
    let out = run(&["fixtures/demo/boc", &bad], &tmp.path().join("bad"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{bad}!sub/broken.xml at /Document/")), "names zip, member and XML path: {err}");
    assert!(!tmp.path().join("bad/matches.csv").exists());

    let evil = zip_at("evil.zip", &[("QQ/passwd.xml", xml.as_bytes())]);
    let mut bytes = std::fs::read(&evil).unwrap();
    for p in 0..bytes.len() - 2 {
        if &bytes[p..p + 3] == b"QQ/" {
            bytes[p..p + 3].copy_from_slice(b"../");
        }
    }
    std::fs::write(&evil, bytes).unwrap();
    let out = run(&["fixtures/demo/boc", &evil], &tmp.path().join("evil"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{evil}!\"../passwd.xml\": '.' or '..' in the path")), "{err}");
}

#[test]
fn reconcile_refuses_a_statement_for_an_unknown_account() {
    let tmp = tempfile::tempdir().unwrap();
    let out = fundrecon(&[
        "reconcile",
        "--statements",
        "fixtures/demo/boc",
        "--disbursements",
        "fixtures/demo/books/receipts.csv",
        "--out",
        tmp.path().join("o").to_str().unwrap(),
    ]);
    // receipts.csv used as disbursements names both accounts, so use a book file with one:
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let books = tmp.path().join("books.csv");
    std::fs::write(
        &books,
        "voucher_no,account_no,pay_date,amount,currency\nV1,1202020209000012345,2024-03-21,1.00,CNY\n",
    )
    .unwrap();
    let out = fundrecon(&[
        "reconcile",
        "--statements",
        "fixtures/demo/boc",
        "--disbursements",
        books.to_str().unwrap(),
        "--out",
        tmp.path().join("o2").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("BOC_MT940_20240321.sta"), "{err}");
    assert!(err.contains("\"BKCHCNBJ/450012345678901234\" matches no known account"), "{err}");
}

#[test]
fn config_check_reports_every_problem() {
    let out = fundrecon(&["config", "check", "--config", "fixtures/config/bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    golden("fixtures/config/bad.toml.err", &text(&out.stderr));
    let out = fundrecon(&["config", "check", "--config", "ops/demo.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ops/demo.toml: ok (2 banks, 2 accounts, 2 channels, 2 book sources)\n");
}

#[test]
fn daily_run_on_the_demo_config() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = demo_copy(tmp.path(), "");
    let out = fundrecon(&["run", "--config", cfg.to_str().unwrap(), "--date", "2024-03-22"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let want = read(&Path::new(ROOT).join("fixtures/demo/expected/summary.txt"));
    assert!(stdout.contains(&want), "{stdout}");
    assert!(stdout.contains("batch 1 boc-drop 2024-03-22 done\nbatch 2 icbc-drop 2024-03-22 done\n"), "{stdout}");
    assert!(stdout.ends_with(&format!("reports: {}/reports/2024-03-22\n", tmp.path().display())), "{stdout}");
    // Not a terminal: no progress noise, no log lines at the default level.
    assert_eq!(text(&out.stderr), "");

    let out = fundrecon(&["runs", "list", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let list = text(&out.stdout);
    assert_eq!(list.lines().count(), 3, "{list}");
    assert!(list.lines().nth(1).unwrap().contains("boc-drop"), "{list}");
    let out = fundrecon(&["runs", "list", "--failed", "--config", cfg.to_str().unwrap()]);
    assert_eq!(text(&out.stdout).lines().count(), 1, "header only");
    let out = fundrecon(&["runs", "show", "2", "--config", cfg.to_str().unwrap()]);
    let show = text(&out.stdout);
    assert!(
        show.starts_with(
            "batch 2: icbc-drop (icbc) for 2024-03-22\nstate: done\nruns 1 (0 reruns), retries of failed stages 0\n"
        ),
        "{show}"
    );
    assert!(show.contains("imported      ICBC_camt053_20240321.xml"), "{show}");
    let out = fundrecon(&["rerun", "2", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("batch 2 icbc-drop 2024-03-22 done\n"));
    let out = fundrecon(&["runs", "show", "99", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "error: no batch with id 99\n");

    // Monday 25 March: no bank delivered; the deadline (07:00 the next business day) is
    // long past, so both statements are late, and the run says so.
    let out = fundrecon(&["run", "--config", cfg.to_str().unwrap(), "--date", "2024-03-25"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("late: the boc statement of account 450012345678901234 for 2024-03-25 (boc-drop, deadline 2024-03-26 07:00)\n"), "{stdout}");
    assert!(stdout.contains("late: the icbc statement of account 1202020209000012345 for 2024-03-25 (icbc-drop, deadline 2024-03-26 07:00)\n"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&read(&tmp.path().join("reports/2024-03-25/summary.json"))).unwrap();
    assert_eq!(summary["missing_statements"].as_array().map(|a| a.len()), Some(2));
    // explain: a voucher matched inside a batch and returned later; a bank reference.
    let out = fundrecon(&["explain", "DF202403-002", "--config", cfg.to_str().unwrap()]);
    let why = text(&out.stdout);
    assert!(
        why.starts_with("book record DF202403-002 (disbursement) of account 1202020209000012345: 2024-03-21 -2345.60"),
        "{why}"
    );
    assert!(why.contains("  matched by rule batch (rule set "), "{why}");
    assert!(why.contains("  matched by rule return (rule set "), "{why}");
    let out = fundrecon(&["explain", "BK24032200102", "--config", cfg.to_str().unwrap()]);
    let why = text(&out.stdout);
    assert!(
        why.contains("  open: amount_mismatch (rule classify, rule set 2026.12-2): voucher 20240322-0011 found in entry BK24032200102#1"),
        "{why}"
    );
    let out = fundrecon(&["explain", "NOPE", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let out = fundrecon(&["status", "--config", cfg.to_str().unwrap()]);
    let status = text(&out.stdout);
    assert!(
        status.starts_with("last batch per channel (times in Asia/Shanghai):\n  boc-drop         2024-03-25 done"),
        "{status}"
    );
    assert!(status.contains("failed batches: none\n"), "{status}");
    assert!(status.contains("statements missing over the last 5 business days: 10\n"), "{status}");
}
