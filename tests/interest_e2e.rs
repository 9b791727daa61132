//! The interest check inside the daily job, end to end on every backend: a quarter of
//! statements (TC-5: ¥80,000,000.00 at 0.35 % over 2023-12-21…2024-03-20 = ¥70,777.78,
//! credited 2024-03-21). The bank credits 0.01 too little → an `interest_credit`
//! discrepancy with the right expected amount and difference; the right amount → a match
//! with rule `interest`. Also `fundrecon interest --account` over the same database.

mod common;

use chrono::NaiveDate;
use common::*;
use fundrecon::config::Config;
use fundrecon::discrepancy::Kind;
use fundrecon::job::daily::{self, Options};
use fundrecon::store::Store;
use rust_decimal::dec;
use std::path::Path;

fn setup(dir: &Path, credited: &str, url: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("drop")).unwrap();
    let sta = format!(
        ":20:Q1\r\n:25:450012345678901234\r\n:28C:1/1\r\n:60F:C231220CNY80000000,00\r\n:62F:C240320CNY80000000,00\r\n-\r\n\
         :20:D0321\r\n:25:450012345678901234\r\n:28C:2/1\r\n:60F:C240320CNY80000000,00\r\n\
         :61:2403210321C{c}NINTNONREF//IN24Q1000001\r\n:86:活期结息 20231221-20240320\r\n:62F:C240321CNY{close}\r\n-\r\n",
        c = credited.replace('.', ","),
        close = (rust_decimal::Decimal::from(80_000_000) + credited.parse::<rust_decimal::Decimal>().unwrap())
            .to_string()
            .replace('.', ",")
    );
    std::fs::write(dir.join("drop/boc.sta"), sta).unwrap();
    let cfg = format!(
        r#"
[general]
data_dir = "{d}/data"
output_dir = "{d}/reports"
database_url = "{url}"

[[banks]]
id = "boc"
name = "中国银行"

[[accounts]]
number = "450012345678901234"
name = "社会保险基金财政专户"
currency = "CNY"
bank = "boc"
role = "fiscal"

[[channels]]
name = "boc-drop"
type = "dir"
bank = "boc"
path = "{d}/drop"

[[agreements]]
account = "450012345678901234"
product = "demand"
bank = "中国银行"
starts = "2023-01-01"
expires = "2026-12-31"
[[agreements.rates]]
from = "2023-01-01"
demand = "0.35"
"#,
        d = dir.display()
    );
    let p = dir.join("fundrecon.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

#[tokio::test]
async fn under_credit_by_one_fen_is_a_discrepancy_and_exact_credit_matches() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "interest").await {
        for (credited, ok) in [("70777.77", false), ("70777.78", true)] {
            let dir = tmp.path().join(format!("{}-{credited}", b.name));
            let url = if b.name == "sqlite" { format!("sqlite://{}/db.sqlite", dir.display()) } else { b.url.clone() };
            if b.name == "postgres" && ok {
                continue; // one PostgreSQL schema per test: the SQLite run covers the exact case
            }
            let cfg = Config::load(&setup(&dir, credited, &url)).unwrap();
            let store = Store::open(&cfg.database_url()).await.unwrap();
            let out = daily::run(
                &cfg,
                &store,
                &Options { date: NaiveDate::from_ymd_opt(2024, 3, 21).unwrap(), rerun: None, progress: false },
            )
            .await
            .unwrap();
            assert!(out.runs.iter().all(|r| r.state == "done"), "{:?}", out.runs);
            let acct = &out.results[0];
            let interest: Vec<_> = acct.discrepancies.iter().filter(|d| d.kind == Kind::InterestCredit).collect();
            if ok {
                assert!(interest.is_empty(), "{}: {interest:?}", b.name);
                assert!(
                    acct.matches.iter().any(|m| m.rule == fundrecon::matching::Rule::Interest),
                    "{:?}",
                    acct.matches
                );
                let csv = read(&out.report_dir.join("matches.csv"));
                assert!(csv.contains("450012345678901234,IN24Q1000001,2024-03-21,70777.78,,interest"), "{csv}");
            } else {
                assert_eq!(interest.len(), 1, "{}: {:?}", b.name, acct.discrepancies);
                let d = interest[0];
                assert_eq!(d.amount, Some(dec!(70777.77)));
                assert_eq!(d.expected, Some(dec!(70777.78)));
                assert_eq!(d.rule, "interest_check");
                assert!(
                    d.detail.contains("expected 70777.78 under the agreement, credited 70777.77 (difference -0.01)"),
                    "{}",
                    d.detail
                );
                assert!(d.detail.contains("2023-12-21…2024-03-20"), "{}", d.detail);
                let csv = read(&out.report_dir.join("discrepancies.csv"));
                assert!(
                    csv.contains("interest_credit,450012345678901234,IN24Q1000001,,2024-03-21,70777.77,70777.78,"),
                    "{csv}"
                );
                // The report's interest section, per account and per bank and quarter/year.
                let summary: serde_json::Value =
                    serde_json::from_str(&read(&out.report_dir.join("summary.json"))).unwrap();
                let row = &summary["accounts"][0]["interest"][0];
                assert_eq!(row["status"], "discrepancy");
                assert_eq!(
                    (row["expected"].as_str(), row["credited"].as_str(), row["difference"].as_str()),
                    (Some("70777.78"), Some("70777.77"), Some("-0.01"))
                );
                assert_eq!(row["window"]["from"], "2023-12-21");
                assert_eq!(row["gain"], "0.00", "a demand agreement gains nothing over the demand rate");
                // 积数 (sum of end-of-day balances) × 0.35 % / 360 is the expected interest.
                let days: rust_decimal::Decimal = row["balance_days"].as_str().unwrap().parse().unwrap();
                let yielded = (days * rust_decimal::Decimal::new(35, 4) / rust_decimal::Decimal::from(360)).round_dp(2);
                assert_eq!(yielded.to_string(), "70777.78", "积数 {days}");
                let by_bank = summary["interest_by_bank"].as_array().unwrap();
                let periods: Vec<&str> = by_bank.iter().map(|r| r["period"].as_str().unwrap()).collect();
                assert_eq!(periods, ["2024", "2024Q1"]);
                assert!(by_bank.iter().all(|r| r["bank"] == "boc" && r["difference"] == "-0.01"), "{by_bank:?}");
                // The same figures through the CLI, from the same database.
                let o = std::process::Command::new(env!("CARGO_BIN_EXE_fundrecon"))
                    .args([
                        "interest",
                        "--account",
                        "450012345678901234",
                        "--from",
                        "2023-12-21",
                        "--to",
                        "2024-03-20",
                        "--json",
                        "--config",
                    ])
                    .arg(dir.join("fundrecon.toml"))
                    .env_remove("FUNDRECON_DATABASE_URL")
                    .output()
                    .unwrap();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                let w = &j["windows"][0];
                assert_eq!(
                    (w["days"].as_i64(), w["expected"].as_str(), w["credited"].as_str(), w["difference"].as_str()),
                    (Some(91), Some("70777.78"), Some("70777.77"), Some("-0.01")),
                    "{w}"
                );
                assert_eq!(w["balance_sum"], "7280000000.00");
            }
            store.close().await;
        }
    }
}

/// The clerk booked the interest credit (a receipt voucher of 利息): the credit pairs with
/// the voucher (`kind_amount_date`) and is still checked against the agreement. A credit
/// one fen short stays visible as `interest_check`, and the 调节表 does not count the
/// booked credit as a 未达账项.
#[tokio::test]
async fn a_booked_interest_voucher_is_matched_and_still_checked() {
    let tmp = tempfile::tempdir().unwrap();
    for (credited, ok) in [("70777.77", false), ("70777.78", true)] {
        let dir = tmp.path().join(credited);
        let p = setup(&dir, credited, &format!("sqlite://{}/db.sqlite", dir.display()));
        std::fs::write(
            dir.join("receipts.csv"),
            format!(
                "voucher_no,account_no,pay_date,amount,currency,counterparty_account,counterparty_name,purpose,batch_ref\n\
                 LX240321,450012345678901234,2024-03-21,{credited},CNY,,中国银行,利息收入 一季度,\n"
            ),
        )
        .unwrap();
        let mut cfg_text = std::fs::read_to_string(&p).unwrap().replace(
            "role = \"fiscal\"",
            "role = \"fiscal\"\nbook_opening = { date = \"2024-03-20\", amount = \"80000000.00\" }",
        );
        cfg_text.push_str(&format!(
            "\n[[books]]\nname = \"receipts\"\nkind = \"receipt\"\npath = \"{}\"\n",
            dir.join("receipts.csv").display()
        ));
        std::fs::write(&p, cfg_text).unwrap();
        let cfg = Config::load(&p).unwrap();
        let store = Store::open(&cfg.database_url()).await.unwrap();
        let out = daily::run(
            &cfg,
            &store,
            &Options { date: NaiveDate::from_ymd_opt(2024, 3, 21).unwrap(), rerun: None, progress: false },
        )
        .await
        .unwrap();
        let acct = &out.results[0];
        let m = acct.matches.iter().find(|m| m.rule == fundrecon::matching::Rule::KindAmountDate).expect("booked");
        assert_eq!(m.records.len(), 1);
        let interest: Vec<_> = acct.discrepancies.iter().filter(|d| d.kind == Kind::InterestCredit).collect();
        let summary: serde_json::Value = serde_json::from_str(&read(&out.report_dir.join("summary.json"))).unwrap();
        let row = &summary["accounts"][0]["interest"][0];
        if ok {
            assert!(interest.is_empty(), "{interest:?}");
            assert!(m.detail.contains("as credited and booked"), "{}", m.detail);
            assert_eq!(row["status"], "equal");
        } else {
            assert_eq!(interest.len(), 1, "{:?}", acct.discrepancies);
            assert_eq!(interest[0].rule, "interest_check");
            assert_eq!(interest[0].expected, Some(dec!(70777.78)));
            assert!(
                interest[0].detail.contains("credited and booked 70777.77 (difference -0.01)"),
                "{}",
                interest[0].detail
            );
            assert_eq!(row["status"], "discrepancy");
        }
        // The booked credit is no 未达账项 either way.
        let rec = read(&out.report_dir.join("reconciliation.csv"));
        assert!(!rec.contains("IN24Q1000001"), "{rec}");
        store.close().await;
    }
}

#[tokio::test]
async fn a_gap_in_statements_is_reported_not_guessed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("gap");
    let p = setup(&dir, "70777.78", &format!("sqlite://{}/db.sqlite", dir.display()));
    // Drop the quarter statement: only the credit day is known.
    let sta = std::fs::read_to_string(dir.join("drop/boc.sta")).unwrap();
    let second = &sta[sta.find(":20:D0321").unwrap()..];
    std::fs::write(dir.join("drop/boc.sta"), second).unwrap();
    let cfg = Config::load(&p).unwrap();
    let store = Store::open(&cfg.database_url()).await.unwrap();
    let out = daily::run(
        &cfg,
        &store,
        &Options { date: NaiveDate::from_ymd_opt(2024, 3, 21).unwrap(), rerun: None, progress: false },
    )
    .await
    .unwrap();
    let d = out.results[0].discrepancies.iter().find(|d| d.kind == Kind::InterestCredit).expect("still open");
    assert_eq!(d.detail, "interest credit not checked: no statement gives the balance at the end of 2023-12-20");
    assert_eq!(d.expected, None);
}

fn cli(cfg: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fundrecon"))
        .args(args)
        .arg("--config")
        .arg(cfg)
        .env_remove("FUNDRECON_DATABASE_URL")
        .output()
        .unwrap()
}

#[test]
fn agreements_loaded_into_the_database_are_validated_and_used() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db-terms");
    let cfg_path = setup(&dir, "70777.77", &format!("sqlite://{}/db.sqlite", dir.display()));
    // Move the agreement out of the config into a file an operator loads.
    let cfg_text = std::fs::read_to_string(&cfg_path).unwrap();
    let (head, terms) = cfg_text.split_once("[[agreements]]").unwrap();
    std::fs::write(&cfg_path, head).unwrap();
    let terms = terms.replace("[[agreements.rates]]", "[[rates]]");
    std::fs::write(dir.join("terms.toml"), &terms).unwrap();

    // A broken agreement is refused with its TOML path; nothing is stored.
    std::fs::write(dir.join("bad.toml"), terms.replace("demand = \"0.35\"", "demand = \"zero\"")).unwrap();
    let o = cli(&cfg_path, &["agreements", "load", dir.join("bad.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml") && err.contains("rates[0].demand"), "{err}");

    let o = cli(&cfg_path, &["agreements", "load", dir.join("terms.toml").to_str().unwrap(), "--by", "treasurer"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("loaded for account 450012345678901234\n"));
    let o = cli(&cfg_path, &["agreements", "load", dir.join("terms.toml").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("already loaded for account 450012345678901234\n"));
    // A second agreement of the same account over the same days is refused.
    std::fs::write(dir.join("overlap.toml"), terms.replace("starts = \"2023-01-01\"", "starts = \"2024-01-01\""))
        .unwrap();
    let o = cli(&cfg_path, &["agreements", "load", dir.join("overlap.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stderr).contains("refused"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = cli(&cfg_path, &["agreements", "list"]);
    let list = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.contains("db #1") && list.contains("by treasurer"), "{list}");

    // The daily job uses the stored agreement: the 0.01 under-credit is found.
    let o = cli(&cfg_path, &["run", "--date", "2024-03-21"]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("interest credited 70,777.77 on 2024-03-21: expected 70,777.78 (difference -0.01)"), "{out}");
}
