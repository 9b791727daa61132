//! The daily job end to end on the demo data, on every backend: golden reports, rerun
//! idempotence, a file delivered twice, a broken file that fails only its bank's batch.

mod common;

use chrono::NaiveDate;
use common::*;
use fundrecon::config::Config;
use fundrecon::job::daily::{self, Options};
use fundrecon::store::Store;

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, 22).unwrap()
}

async fn run(cfg: &Config, store: &Store, rerun: Option<i64>) -> daily::Outcome {
    daily::run(cfg, store, &Options { date: date(), rerun, progress: false }).await.expect("daily run")
}

fn reports(out: &daily::Outcome) -> (String, String, String) {
    (
        read(&out.report_dir.join("matches.csv")),
        read(&out.report_dir.join("discrepancies.csv")),
        read(&out.report_dir.join("summary.json")),
    )
}

#[tokio::test]
async fn demo_matches_golden_and_rerun_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "demo").await {
        let dir = tmp.path().join(b.name);
        let cfg = Config::load(&demo_copy(&dir, &b.url)).unwrap();
        let store = Store::open(&cfg.database_url()).await.unwrap();
        assert_eq!(store.backend(), b.name);
        let first = run(&cfg, &store, None).await;
        assert!(first.runs.iter().all(|r| r.state == "done"), "{}: {:?}", b.name, first.runs);
        assert_eq!(first.exit_code, 1, "the demo has discrepancies");
        let (m, d, s) = reports(&first);
        golden("fixtures/demo/expected/matches.csv", &m);
        golden("fixtures/demo/expected/discrepancies.csv", &d);
        golden("fixtures/demo/expected/summary.json", &s);
        // 银行存款余额调节表: both accounts reconcile (adjusted balances agree).
        golden("fixtures/demo/expected/reconciliation.csv", &read(&first.report_dir.join("reconciliation.csv")));
        golden("fixtures/demo/expected/reconciliation.json", &read(&first.report_dir.join("reconciliation.json")));
        let rec: serde_json::Value =
            serde_json::from_str(&read(&first.report_dir.join("reconciliation.json"))).unwrap();
        assert!(rec.as_array().unwrap().iter().all(|s| s["agrees"] == true), "{rec}");
        golden("fixtures/demo/expected/summary.txt", &fundrecon::report::summary_text(&first.results));
        let counts = store.table_counts().await.unwrap();
        // explain works on every backend.
        let why = store.explain("20240321-0007").await.unwrap();
        assert!(why.iter().any(|l| l.contains("matched by rule reference")), "{}: {why:?}", b.name);

        // Run again for the same date, then rerun each batch by id: same reports, same rows.
        let again = run(&cfg, &store, None).await;
        assert_eq!(reports(&again), (m.clone(), d.clone(), s.clone()), "{}", b.name);
        for r in &first.runs {
            let re = run(&cfg, &store, Some(r.id)).await;
            assert_eq!(re.runs.len(), 1);
            assert_eq!(re.runs[0].id, r.id);
            assert_eq!(re.runs[0].attempts, 3, "{}: attempts count every execution", b.name);
            assert_eq!(reports(&re), (m.clone(), d.clone(), s.clone()), "{}", b.name);
        }
        assert_eq!(store.table_counts().await.unwrap(), counts, "{}: a rerun added or removed rows", b.name);
        store.close().await;
    }
}

#[tokio::test]
async fn same_file_twice_is_imported_once() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "twice").await {
        let dir = tmp.path().join(b.name);
        let cfg = Config::load(&demo_copy(&dir, &b.url)).unwrap();
        // The bank delivers the same statement again under another name.
        std::fs::copy(dir.join("demo/boc/BOC_MT940_20240321.sta"), dir.join("demo/boc/BOC_MT940_20240321_resend.sta"))
            .unwrap();
        let store = Store::open(&cfg.database_url()).await.unwrap();
        let out = run(&cfg, &store, None).await;
        let boc = out.runs.iter().find(|r| r.channel == "boc-drop").unwrap();
        assert_eq!(boc.state, "done");
        let summary: serde_json::Value = serde_json::from_str(boc.summary.as_deref().unwrap()).unwrap();
        assert_eq!(summary["files_fetched"], 3, "{}", b.name);
        assert_eq!(summary["files_in_batch"], 2, "{}: same content is one file", b.name);
        // Reports equal the golden ones: nothing counted twice.
        let (m, d, _) = reports(&out);
        assert_eq!(m, read(&std::path::Path::new(ROOT).join("fixtures/demo/expected/matches.csv")));
        assert_eq!(d, read(&std::path::Path::new(ROOT).join("fixtures/demo/expected/discrepancies.csv")));
        store.close().await;
    }
}

#[tokio::test]
async fn broken_file_fails_only_its_bank() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "broken").await {
        let dir = tmp.path().join(b.name);
        let cfg = Config::load(&demo_copy(&dir, &b.url)).unwrap();
        let good = read(&dir.join("demo/boc/BOC_MT940_20240322.sta"));
        let broken = good.replace(":61:2403220322D3000000,00NTRF", ":61:2403220322D3000x00,00NTRF");
        assert_ne!(good, broken);
        std::fs::write(dir.join("demo/boc/BOC_MT940_20240322.sta"), &broken).unwrap();
        let store = Store::open(&cfg.database_url()).await.unwrap();
        let out = run(&cfg, &store, None).await;
        assert_eq!(out.exit_code, 2);
        let boc = out.runs.iter().find(|r| r.channel == "boc-drop").unwrap();
        let icbc = out.runs.iter().find(|r| r.channel == "icbc-drop").unwrap();
        assert_eq!(icbc.state, "done", "{}: the other bank goes on", b.name);
        assert_eq!(boc.state, "failed");
        let err = boc.error.as_deref().unwrap();
        assert!(err.starts_with("BOC_MT940_20240322.sta:"), "{}: error names the file: {err}", b.name);
        assert!(err.contains(":61:"), "{}: error names the field: {err}", b.name);
        // The broken file is archived byte for byte.
        let sha = fundrecon::archive::sha256_hex(broken.as_bytes());
        let archived = std::fs::read(dir.join("data/archive").join(&sha[0..2]).join(&sha[2..4]).join(&sha)).unwrap();
        assert_eq!(archived, broken.as_bytes());
        // The good BOC file of the same batch was imported; the ICBC account fully matched.
        let icbc_acct = out.results.iter().find(|a| a.account_no == "1202020209000012345").unwrap();
        assert_eq!(icbc_acct.entries.len(), 7);
        let boc_acct = out.results.iter().find(|a| a.account_no == "450012345678901234").unwrap();
        assert_eq!(boc_acct.entries.len(), 4, "{}: only the good BOC file's entries", b.name);

        // The operator fixes the file; the rerun of that batch completes it.
        std::fs::write(dir.join("demo/boc/BOC_MT940_20240322.sta"), &good).unwrap();
        let re = run(&cfg, &store, Some(boc.id)).await;
        assert_eq!(re.runs[0].state, "done", "{}: {:?}", b.name, re.runs[0].error);
        let (m, d, _) = reports(&re);
        assert_eq!(m, read(&std::path::Path::new(ROOT).join("fixtures/demo/expected/matches.csv")));
        assert_eq!(d, read(&std::path::Path::new(ROOT).join("fixtures/demo/expected/discrepancies.csv")));
        store.close().await;
    }
}

#[tokio::test]
async fn limits_from_the_config_apply_to_every_parser() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("limits");
    let path = demo_copy(&dir, &format!("sqlite://{}/db.sqlite", dir.display()));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("[matching]", "[limits]\nmax_entries_per_statement = 3\n\n[matching]")).unwrap();
    let cfg = Config::load(&path).unwrap();
    let store = Store::open(&cfg.database_url()).await.unwrap();
    let out = run(&cfg, &store, None).await;
    // BOC's 21 March MT940 and ICBC's 22 March camt statements have 4 entries each: both
    // batches fail, each naming its file and place; the other files of each bank import.
    let boc = out.runs.iter().find(|r| r.channel == "boc-drop").unwrap();
    let icbc = out.runs.iter().find(|r| r.channel == "icbc-drop").unwrap();
    assert_eq!((boc.state.as_str(), icbc.state.as_str()), ("failed", "failed"));
    let err = boc.error.as_deref().unwrap();
    assert!(err.starts_with("BOC_MT940_20240321.sta:") && err.contains("more than 3"), "{err}");
    let err = icbc.error.as_deref().unwrap();
    assert_eq!(
        err,
        "ICBC_camt053_20240322.xml at /Document/BkToCstmrStmt/Stmt[1]/Ntry[4]: more than 3 entries in one statement"
    );
    assert_eq!(out.results.iter().map(|a| a.entries.len()).sum::<usize>(), 2 + 3);
    store.close().await;
}

#[tokio::test]
async fn reconciliation_statement_that_does_not_agree_is_a_discrepancy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let path = demo_copy(&dir, &format!("sqlite://{}/db.sqlite", dir.display()));
    // The ledger's opening balance is off by one fen: nothing explains it.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("amount = \"79500000.00\"", "amount = \"79500000.01\"")).unwrap();
    let cfg = Config::load(&path).unwrap();
    let store = Store::open(&cfg.database_url()).await.unwrap();
    let out = run(&cfg, &store, None).await;
    let boc = out.results.iter().find(|a| a.account_no == "450012345678901234").unwrap();
    let d = boc.discrepancies.iter().find(|d| d.rule == "reconciliation").expect("a reconciliation discrepancy");
    assert_eq!(d.kind, fundrecon::discrepancy::Kind::BalanceBreak);
    assert_eq!(
        d.detail,
        "银行存款余额调节表 at 2024-03-22: adjusted bank balance 58470727.78 vs adjusted book balance 58470727.79 (difference -0.01)"
    );
    let rec = read(&out.report_dir.join("reconciliation.csv"));
    assert!(rec.contains("450012345678901234,差额,2024-03-22,,-0.01,调节后余额不符\r\n"), "{rec}");
    store.close().await;
}

/// `[matching] rules` and an account's `rules` choose the cascade: with `reference` alone
/// the demo's amount + counterparty + date pairs stay open, on that account only.
#[tokio::test]
async fn configured_rule_set_is_used() {
    let tmp = tempfile::tempdir().unwrap();
    let b = &backends(tmp.path(), "rules").await[0];
    let dir = tmp.path().join(b.name);
    let path = demo_copy(&dir, &b.url);
    let text = read(&path).replace(
        "role = \"fiscal\"",
        "role = \"fiscal\"\nrules = [\"reversal\", \"reference\", \"batch\", \"return\"]",
    );
    assert!(text.contains("rules = ["), "the demo config has a fiscal account");
    std::fs::write(&path, text).unwrap();
    let cfg = Config::load(&path).unwrap();
    assert!(cfg.check().is_empty(), "{:?}", cfg.check());
    let store = Store::open(&cfg.database_url()).await.unwrap();
    let out = run(&cfg, &store, None).await;
    let m = read(&out.report_dir.join("matches.csv"));
    // The fiscal account's receipt R20240321-01 was paired by amount + counterparty + date.
    assert!(!m.contains("R20240321-01"), "{m}");
    // The other account keeps the default cascade.
    assert!(m.contains("ZR-240321-01,amount_counterparty_date"), "{m}");
    let d = read(&out.report_dir.join("discrepancies.csv"));
    assert!(d.contains("R20240321-01"), "{d}");
    store.close().await;
}

fn archived(dir: &std::path::Path, bytes: &[u8]) -> Vec<u8> {
    let sha = fundrecon::archive::sha256_hex(bytes);
    std::fs::read(dir.join("data/archive").join(&sha[0..2]).join(&sha[2..4]).join(&sha)).unwrap_or_default()
}

/// ICBC delivers its statements zipped (fixtures/zip: one member in a folder, a macOS
/// resource fork skipped). The zip is archived as fetched, each member under its own hash
/// and name `<zip>!<member>`, imported like a plain file: the reports are the demo's. A
/// later zip holding a member again, and a rerun, count it once.
#[tokio::test]
async fn zipped_delivery_is_archived_and_imported_member_by_member() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "zip").await {
        let dir = tmp.path().join(b.name);
        let path = demo_copy(&dir, &b.url);
        let icbc = dir.join("demo/icbc");
        let plain: Vec<(String, Vec<u8>)> = ["ICBC_camt053_20240321.xml", "ICBC_camt053_20240322.xml"]
            .iter()
            .map(|n| (n.to_string(), std::fs::read(icbc.join(n)).unwrap()))
            .collect();
        for (n, _) in &plain {
            std::fs::remove_file(icbc.join(n)).unwrap();
        }
        let zip = std::fs::read(std::path::Path::new(ROOT).join("fixtures/zip/ICBC_20240322.zip")).unwrap();
        std::fs::write(icbc.join("ICBC_20240322.zip"), &zip).unwrap();
        let text = read(&path);
        assert!(text.contains("pattern = \"*.xml\""));
        std::fs::write(&path, text.replace("pattern = \"*.xml\"", "pattern = \"*.zip\"")).unwrap();
        let cfg = Config::load(&path).unwrap();
        let store = Store::open(&cfg.database_url()).await.unwrap();

        let first = run(&cfg, &store, None).await;
        assert!(first.runs.iter().all(|r| r.state == "done"), "{}: {:?}", b.name, first.runs);
        let (m, d, s) = reports(&first);
        let golden = |f: &str| read(&std::path::Path::new(ROOT).join("fixtures/demo/expected").join(f));
        // The batches list the statements of the date by file: here the zip's member.
        let sv: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(
            sv["batches"][1]["statements"][0]["file"], "ICBC_20240322.zip!2024-03/ICBC_camt053_20240322.xml",
            "{}",
            b.name
        );
        let golden_summary = golden("summary.json").replace(
            "\"file\": \"ICBC_camt053_20240322.xml\",\n          \"pulled_by_batch\": 2,",
            "\"file\": \"ICBC_20240322.zip!2024-03/ICBC_camt053_20240322.xml\",\n          \"pulled_by_batch\": null,",
        );
        assert_eq!(
            (m.as_str(), d.as_str(), s.as_str()),
            (&*golden("matches.csv"), &*golden("discrepancies.csv"), &*golden_summary),
            "{}",
            b.name
        );
        // Nothing lost: the zip as fetched, and each member, byte for byte under its hash.
        assert_eq!(archived(&dir, &zip), zip, "{}", b.name);
        for (n, bytes) in &plain {
            assert_eq!(&archived(&dir, bytes), bytes, "{}: {n}", b.name);
        }
        let files: Vec<String> =
            store.statement_facts("1202020209000012345").await.unwrap().into_iter().map(|f| f.file).collect();
        assert_eq!(
            files,
            ["ICBC_20240322.zip!2024-03/ICBC_camt053_20240322.xml", "ICBC_20240322.zip!ICBC_camt053_20240321.xml"],
            "{}: raw_files name each member after its zip (members are imported in path order)",
            b.name
        );
        let summary = |out: &daily::Outcome| -> serde_json::Value {
            let r = out.runs.iter().find(|r| r.channel == "icbc-drop").unwrap();
            serde_json::from_str(r.summary.as_deref().unwrap()).unwrap()
        };
        let s1 = summary(&first);
        assert_eq!(
            (&s1["files_in_batch"], &s1["zip_members"], &s1["files_imported"]),
            (&1.into(), &2.into(), &2.into()),
            "{}: {s1}",
            b.name
        );
        let counts = store.table_counts().await.unwrap();

        // The bank sends one statement again in another zip: archived, counted once.
        write_zip(&icbc.join("ICBC_20240322_resend.zip"), &[("resend/ICBC_camt053_20240322.xml", &plain[1].1)]);
        let again = run(&cfg, &store, None).await;
        assert!(again.runs.iter().all(|r| r.state == "done"), "{}: {:?}", b.name, again.runs);
        assert_eq!(reports(&again), (m.clone(), d.clone(), s.clone()), "{}", b.name);
        let s2 = summary(&again);
        assert_eq!(
            (&s2["files_fetched"], &s2["zip_members"], &s2["files_imported"], &s2["files_already_imported"]),
            (&1.into(), &1.into(), &0.into(), &2.into()),
            "{}: the new zip's member was known; the first zip is skipped whole: {s2}",
            b.name
        );
        let more = store.table_counts().await.unwrap();
        let changed: Vec<_> = counts.iter().zip(&more).filter(|(a, b)| a != b).collect();
        assert_eq!(
            changed.iter().map(|(a, _)| a.0.as_str()).collect::<Vec<_>>(),
            ["raw_files", "run_files"],
            "{}: only the new zip is recorded: {changed:?}",
            b.name
        );
        // A rerun of the batch changes nothing.
        let icbc_run = first.runs.iter().find(|r| r.channel == "icbc-drop").unwrap().id;
        let re = run(&cfg, &store, Some(icbc_run)).await;
        assert_eq!(re.runs[0].state, "done");
        assert_eq!(reports(&re), (m.clone(), d.clone(), s.clone()), "{}", b.name);
        assert_eq!(store.table_counts().await.unwrap(), more, "{}: a rerun added or removed rows", b.name);
        store.close().await;
    }
}

/// A zip with a member that does not parse fails its bank's batch naming the zip, the
/// member and the place; its good member is imported; the other bank's batch is done. A
/// hostile zip is refused naming zip and member, and nothing of it is imported.
#[tokio::test]
async fn a_bad_zip_member_fails_only_its_bank() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "zipbad").await {
        let dir = tmp.path().join(b.name);
        let path = demo_copy(&dir, &b.url);
        let icbc = dir.join("demo/icbc");
        let good = std::fs::read(icbc.join("ICBC_camt053_20240321.xml")).unwrap();
        let xml = read(&icbc.join("ICBC_camt053_20240322.xml"));
        for n in ["ICBC_camt053_20240321.xml", "ICBC_camt053_20240322.xml"] {
            std::fs::remove_file(icbc.join(n)).unwrap();
        }
        let broken = xml.replacen("<Amt Ccy=\"CNY\">", "<Amt Ccy=\"CNY\">x", 1);
        assert_ne!(broken, xml);
        write_zip(&icbc.join("ICBC_20240322.zip"), &[("a.xml", &good), ("b/broken.xml", broken.as_bytes())]);
        // A zip bomb beside it: 8 MiB of zeros in a few KiB.
        write_zip(&icbc.join("ICBC_bomb.zip"), &[("bomb.xml", &vec![b'0'; 8 << 20])]);
        let text = read(&path);
        std::fs::write(&path, text.replace("pattern = \"*.xml\"", "pattern = \"*.zip\"")).unwrap();
        let cfg = Config::load(&path).unwrap();
        let store = Store::open(&cfg.database_url()).await.unwrap();
        let out = run(&cfg, &store, None).await;
        assert_eq!(out.exit_code, 2);
        let boc = out.runs.iter().find(|r| r.channel == "boc-drop").unwrap();
        let icbc_run = out.runs.iter().find(|r| r.channel == "icbc-drop").unwrap();
        assert_eq!((boc.state.as_str(), icbc_run.state.as_str()), ("done", "failed"), "{}", b.name);
        let err = icbc_run.error.as_deref().unwrap();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{}: {err}", b.name);
        assert!(
            lines[0].starts_with(
                "ICBC_20240322.zip!b/broken.xml at /Document/BkToCstmrStmt/Stmt[1]/Bal[1]/Amt: field Amt:"
            ),
            "{}: names the zip, the member and the XML path: {err}",
            b.name
        );
        assert!(
            lines[1].starts_with("ICBC_bomb.zip!bomb.xml: inflates over 200×"),
            "{}: the bomb is refused, named: {err}",
            b.name
        );
        // The good member is in; the broken one archived byte for byte all the same.
        let icbc_acct = out.results.iter().find(|a| a.account_no == "1202020209000012345").unwrap();
        assert_eq!(icbc_acct.entries.len(), 3, "{}: the good member's entries only", b.name);
        assert_eq!(archived(&dir, broken.as_bytes()), broken.as_bytes());
        // Nothing of the bomb was kept but the zip itself.
        let tmp_left = std::fs::read_dir(dir.join("data/archive/tmp")).unwrap().count();
        assert_eq!(tmp_left, 0, "{}: no inflated leftovers", b.name);
        assert!(archived(&dir, &vec![b'0'; 8 << 20]).is_empty());
        store.close().await;
    }
}
