//! Issue 15 through the binary, on every backend (PostgreSQL when `FUNDRECON_TEST_PG` is
//! set): business dates (a report folder is "as of" its date, a batch lists the statements
//! of its date), report folders replaced whole, and a statement sent again in other bytes.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fundrecon(cfg: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fundrecon"));
    c.args(args)
        .arg("--config")
        .arg(cfg)
        .env_remove("FUNDRECON_CONFIG")
        .env_remove("FUNDRECON_DATABASE_URL")
        .env_remove("FUNDRECON_TEST_REPORT_FAIL")
        .current_dir(ROOT);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(cfg: &Path, date: &str, env: &[(&str, &str)]) -> Output {
    fundrecon(cfg, &["run", "--date", date], env)
}

/// Every file of a folder, name → bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// Names in the reports folder that are neither a date's nor a month's folder: leftovers.
fn leftovers(reports: &Path) -> Vec<String> {
    std::fs::read_dir(reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

fn setup(dir: &Path, url: &str) -> PathBuf {
    demo_copy(dir, url)
}

/// Issue 15, point 4. On the demo, the batch of 2024-03-18 pulls the statements of 03-21
/// and 03-22 (the drop folder holds them). Its report folder must still be "as of 03-18"
/// (no statement, no 调节表 at 03-22), the report of 03-21 as of 03-21, the report of 03-22
/// the demo's golden one; and each batch lists the statements of its own date, wherever
/// they were pulled. Reports of an earlier date never replace the stored (whole) results.
#[tokio::test]
async fn reports_and_batches_follow_the_business_date() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "dates").await {
        let dir = tmp.path().join(b.name);
        let cfg = setup(&dir, &b.url);
        let reports = dir.join("reports");
        let out = run(&cfg, "2024-03-18", &[]);
        assert_ne!(out.status.code(), Some(2), "{}: {}", b.name, text(&out.stderr));
        let d18 = reports.join("2024-03-18");
        assert!(!d18.join("reconciliation.json").exists(), "{}: no statement as of 03-18, so no 调节表", b.name);
        assert_eq!(read(&d18.join("matches.csv")).lines().count(), 1, "{}: no bank entry as of 03-18", b.name);
        let s18: serde_json::Value = serde_json::from_str(&read(&d18.join("summary.json"))).unwrap();
        for batch in s18["batches"].as_array().unwrap() {
            assert_eq!(batch["statements"], serde_json::json!([]), "{}: {batch}", b.name);
        }
        assert!(!read(&d18.join("summary.json")).contains("2024-03-22"), "{}: {s18}", b.name);

        let out = run(&cfg, "2024-03-21", &[]);
        assert_ne!(out.status.code(), Some(2), "{}: {}", b.name, text(&out.stderr));
        let d21 = reports.join("2024-03-21");
        let rec: serde_json::Value = serde_json::from_str(&read(&d21.join("reconciliation.json"))).unwrap();
        for r in rec.as_array().unwrap() {
            assert_eq!(r["date"], "2024-03-21", "{}: the 调节表 at the date's closing balance: {r}", b.name);
        }
        assert!(!read(&d21.join("matches.csv")).contains("2024-03-22"), "{}: nothing after 03-21", b.name);
        assert!(!read(&d21.join("discrepancies.csv")).contains("2024-03-22"), "{}: nothing after 03-21", b.name);
        let first21 = snapshot(&d21);

        let out = run(&cfg, "2024-03-22", &[]);
        assert_eq!(out.status.code(), Some(1), "{}: {}", b.name, text(&out.stderr));
        let d22 = reports.join("2024-03-22");
        for f in ["matches.csv", "discrepancies.csv", "reconciliation.csv", "reconciliation.json"] {
            assert_eq!(
                read(&d22.join(f)),
                read(&Path::new(ROOT).join("fixtures/demo/expected").join(f)),
                "{}: {f} of 03-22 is the demo's",
                b.name
            );
        }
        let s22: serde_json::Value = serde_json::from_str(&read(&d22.join("summary.json"))).unwrap();
        let boc = s22["batches"].as_array().unwrap().iter().find(|x| x["channel"] == "boc-drop").unwrap().clone();
        assert_eq!(
            boc["statements"],
            serde_json::json!([{"file": "BOC_MT940_20240322.sta", "account_no": "450012345678901234",
                "statement_id": "BOC20240322", "closing_date": "2024-03-22", "pulled_by_batch": 1}]),
            "{}: {boc}",
            b.name
        );

        // `runs show`: the batch of 03-22 pulled nothing but lists its statements; the
        // batch of 03-18 pulled both days and lists none of its date.
        let id22 = boc["id"].as_i64().unwrap().to_string();
        let show = text(&fundrecon(&cfg, &["runs", "show", &id22], &[]).stdout);
        assert!(
            show.contains(
                "statements of 2024-03-22:\n  450012345678901234  BOC20240322  2024-03-22  BOC_MT940_20240322.sta  (pulled by batch 1)\n"
            ),
            "{}: {show}",
            b.name
        );
        let show = text(&fundrecon(&cfg, &["runs", "show", "1"], &[]).stdout);
        assert!(show.contains("imported      BOC_MT940_20240322.sta"), "{}: {show}", b.name);
        assert!(show.contains("statements of 2024-03-18: none\n"), "{}: {show}", b.name);

        // A report of an earlier date again: the same folder (idempotent), and the stored
        // results stay the whole picture (an entry of 03-22 is still explained).
        let out = run(&cfg, "2024-03-21", &[]);
        assert_ne!(out.status.code(), Some(2), "{}: {}", b.name, text(&out.stderr));
        let again = snapshot(&d21);
        for f in ["matches.csv", "discrepancies.csv", "reconciliation.csv", "reconciliation.json"] {
            assert_eq!(again[f], first21[f], "{}: {f} of 03-21 rerun", b.name);
        }
        let why = text(&fundrecon(&cfg, &["explain", "BK24032200102"], &[]).stdout);
        assert!(why.contains("open: amount_mismatch"), "{}: {why}", b.name);
    }
}

/// Issue 15, point 11. A rerun whose report writing fails (a full disk, simulated by the
/// debug-build hook `FUNDRECON_TEST_REPORT_FAIL`) leaves the previous folder exactly as
/// it was, and no temporary folder; a rerun that succeeds replaces the folder whole (a
/// file the previous run's folder held and this run does not write is gone). The same
/// for the month report's file.
#[tokio::test]
async fn report_folders_are_replaced_whole_or_not_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "staged").await {
        let dir = tmp.path().join(b.name);
        let cfg = setup(&dir, &b.url);
        let reports = dir.join("reports");
        let d22 = reports.join("2024-03-22");
        let out = run(&cfg, "2024-03-22", &[]);
        assert_eq!(out.status.code(), Some(1), "{}: {}", b.name, text(&out.stderr));
        std::fs::write(d22.join("stale.txt"), "from an older run").unwrap();
        let before = snapshot(&d22);
        assert!(before.contains_key("report.xlsx") && before.contains_key("matches.csv"), "{before:?}");

        for fail in ["matches.csv", "reconciliation.json", "report.xlsx"] {
            let out = run(&cfg, "2024-03-22", &[("FUNDRECON_TEST_REPORT_FAIL", fail)]);
            assert_eq!(out.status.code(), Some(2), "{}: a failed write fails the run: {}", b.name, text(&out.stdout));
            let err = text(&out.stderr);
            assert!(err.contains("no space left on device"), "{}: {err}", b.name);
            assert!(err.contains(fail), "{}: the error names the file: {err}", b.name);
            assert_eq!(snapshot(&d22), before, "{}: failing on {fail} left the previous folder whole", b.name);
            assert_eq!(leftovers(&reports), Vec::<String>::new(), "{}: no temporary folder left", b.name);
        }

        let out = run(&cfg, "2024-03-22", &[]);
        assert_eq!(out.status.code(), Some(1), "{}: {}", b.name, text(&out.stderr));
        let after = snapshot(&d22);
        let mut want: Vec<&String> = before.keys().filter(|k| *k != "stale.txt").collect();
        want.sort();
        assert_eq!(after.keys().collect::<Vec<_>>(), want, "{}: one whole run", b.name);
        assert_eq!(after["matches.csv"], before["matches.csv"], "{}", b.name);
        assert_eq!(leftovers(&reports), Vec::<String>::new(), "{}", b.name);

        // The month's workbook: written whole, kept whole when writing fails.
        let out = fundrecon(&cfg, &["report", "--month", "2024-03"], &[]);
        assert_eq!(out.status.code(), Some(0), "{}: {}", b.name, text(&out.stderr));
        let month = reports.join("2024-03");
        let good = snapshot(&month);
        let out = fundrecon(
            &cfg,
            &["report", "--month", "2024-03"],
            &[("FUNDRECON_TEST_REPORT_FAIL", "report-2024-03.xlsx")],
        );
        assert_eq!(out.status.code(), Some(2), "{}", b.name);
        assert!(text(&out.stderr).contains("no space left on device"), "{}: {}", b.name, text(&out.stderr));
        assert_eq!(snapshot(&month), good, "{}: the month's file is whole", b.name);
    }
}

/// The demo's BOC MT940 of 03-21 with LF line ends instead of CRLF.
fn with_lf(crlf: &str) -> String {
    assert!(crlf.contains("\r\n"), "the demo file has CRLF line ends");
    crlf.replace("\r\n", "\n")
}

/// Issue 15, point 17. The same statement sent again in other bytes (LF instead of CRLF)
/// is counted once: no new entries, no `balance_break`, the reports are the demo's, and the
/// batch says "re-delivered, same content" naming both files. Sent again with other
/// content (a changed narrative), it is stored, reported as a changed re-delivery naming
/// both files, and nothing else changes. The one-shot `reconcile` keeps the same rules.
#[tokio::test]
async fn a_statement_sent_again_in_other_bytes_counts_once() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "redeliver").await {
        let dir = tmp.path().join(b.name);
        let cfg = setup(&dir, &b.url);
        let boc = dir.join("demo/boc");
        let original = read(&boc.join("BOC_MT940_20240321.sta"));
        std::fs::write(boc.join("BOC_MT940_20240321_resent.sta"), with_lf(&original)).unwrap();
        let out = run(&cfg, "2024-03-22", &[]);
        assert_eq!(out.status.code(), Some(1), "{}: {}", b.name, text(&out.stderr));
        let d22 = dir.join("reports/2024-03-22");
        for f in ["matches.csv", "discrepancies.csv", "reconciliation.csv"] {
            assert_eq!(
                read(&d22.join(f)),
                read(&Path::new(ROOT).join("fixtures/demo/expected").join(f)),
                "{}: {f}: the re-delivery changes nothing",
                b.name
            );
        }
        // `runs show` prints the batch summary as readable lines.
        let shown = text(&fundrecon(&cfg, &["runs", "show", "1"], &[]).stdout);
        let summary = shown.split_once("\nsummary:\n").map(|x| x.1).expect("runs show prints the summary");
        for want in [
            "  entries_new: 6\n",
            "  entries_already_known: 0\n",
            "  statements: 2\n",
            "BOC_MT940_20240321_resent.sta line 2: re-delivered, same content as BOC_MT940_20240321.sta line 2: counted once",
            "  redelivered_changed: none\n",
        ] {
            assert!(summary.contains(want), "{}: {want:?} in {summary}", b.name);
        }

        // Sent again with other content: reported, both files named, nothing doubled.
        let changed = with_lf(&original).replace("跨行汇划手续费", "跨行汇划手续费(更正)");
        assert_ne!(changed, with_lf(&original));
        std::fs::write(boc.join("BOC_MT940_20240321_corrected.sta"), &changed).unwrap();
        let out = run(&cfg, "2024-03-22", &[]);
        assert_eq!(out.status.code(), Some(1), "{}: {}", b.name, text(&out.stderr));
        let disc = read(&d22.join("discrepancies.csv"));
        let golden = read(&Path::new(ROOT).join("fixtures/demo/expected/discrepancies.csv"));
        let extra: Vec<&str> = disc.lines().filter(|l| !golden.lines().any(|g| g == *l)).collect();
        assert_eq!(extra.len(), 1, "{}: one discrepancy more: {extra:?}", b.name);
        assert!(extra[0].contains("balance_break") && extra[0].contains("changed_redelivery"), "{}: {extra:?}", b.name);
        assert!(
            extra[0].contains("BOC_MT940_20240321_corrected.sta") && extra[0].contains("BOC_MT940_20240321.sta line 2"),
            "{}: names both files: {extra:?}",
            b.name
        );
        assert_eq!(golden.lines().filter(|g| !disc.lines().any(|l| l == *g)).count(), 0, "{}: {disc}", b.name);
        assert_eq!(read(&d22.join("matches.csv")), read(&Path::new(ROOT).join("fixtures/demo/expected/matches.csv")));
    }

    // The one-shot `reconcile` (in memory): the same rules.
    let dir = tmp.path().join("reconcile");
    let stmts = dir.join("statements");
    copy_dir(&Path::new(ROOT).join("fixtures/demo/boc"), &stmts);
    let original = read(&stmts.join("BOC_MT940_20240321.sta"));
    std::fs::write(stmts.join("BOC_MT940_20240321_resent.sta"), with_lf(&original)).unwrap();
    let out_dir = dir.join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_fundrecon"))
        .args(["reconcile", "--statements"])
        .arg(&stmts)
        .arg("fixtures/demo/icbc")
        .args(["--disbursements", "fixtures/demo/books/disbursements.csv", "--receipts"])
        .arg("fixtures/demo/books/receipts.csv")
        .arg("--out")
        .arg(&out_dir)
        .env_remove("FUNDRECON_CONFIG")
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    for f in ["matches.csv", "discrepancies.csv"] {
        assert_eq!(
            read(&out_dir.join(f)),
            read(&Path::new(ROOT).join("fixtures/demo/expected/reconcile").join(f)),
            "reconcile: {f}"
        );
    }
}
