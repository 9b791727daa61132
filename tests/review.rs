//! People's decisions (issue 4): the script in fixtures/review/ played on the demo, on
//! every backend; reruns keep every decision and never rematch what a person decided; the
//! audit trail is append-only (the database refuses UPDATE/DELETE) and hash-chained
//! (`review verify` names a changed row); concurrent writers never fork the chain.

mod common;

use chrono::NaiveDate;
use common::*;
use fundrecon::config::Config;
use fundrecon::job::daily::{self, Options};
use fundrecon::job::review::{Request, decide};
use fundrecon::review::Action;
use fundrecon::store::Store;
use serde::Deserialize;

#[derive(Deserialize)]
struct Script {
    step: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    action: String,
    account: String,
    #[serde(default)]
    entries: Vec<String>,
    #[serde(default)]
    vouchers: Vec<String>,
    why: String,
    by: String,
}

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, 22).unwrap()
}

async fn run(cfg: &Config, store: &Store) -> daily::Outcome {
    daily::run(cfg, store, &Options { date: date(), rerun: None, progress: false }).await.expect("daily run")
}

/// Decision times are today's: the transcript says `<now>` instead.
fn stable(s: &str) -> String {
    let today = chrono::Utc::now().date_naive().to_string();
    let mut out = String::new();
    for line in s.lines() {
        let mut l = line.to_string();
        // "at 2026-11-27 03:36:22 UTC" → "at <now>"
        while let Some(i) = l.find(&format!("at {today} ")) {
            let end = l[i..].find(" UTC").map(|j| i + j + 4).unwrap_or(l.len());
            l.replace_range(i..end, "at <now>");
        }
        out.push_str(&l.replace(&today, "<today>"));
        out.push('\n');
    }
    out
}

fn request(s: &Step) -> Request {
    Request {
        account: s.account.clone(),
        action: Action::parse(&s.action).expect("script action"),
        entries: s.entries.clone(),
        vouchers: s.vouchers.clone(),
        reason: s.why.clone(),
        by: s.by.clone(),
    }
}

#[tokio::test]
async fn script_on_the_demo_and_reruns_keep_decisions() {
    let script: Script =
        toml::from_str(&read(&std::path::Path::new(ROOT).join("fixtures/review/script.toml"))).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "review").await {
        let dir = tmp.path().join(b.name);
        let cfg = Config::load(&demo_copy(&dir, &b.url)).unwrap();
        let store = Store::open(&cfg.database_url()).await.unwrap();
        let before = run(&cfg, &store).await;
        let auto_matches = read(&before.report_dir.join("matches.csv"));

        let mut transcript = String::new();
        for (i, s) in script.step.iter().enumerate() {
            transcript.push_str(&format!(
                "> {} {} account {} entries {:?} vouchers {:?} by {:?}: {:?}\n",
                i + 1,
                s.action,
                s.account,
                s.entries,
                s.vouchers,
                s.by,
                s.why
            ));
            match decide(&cfg, &store, &request(s)).await {
                Ok(d) => {
                    transcript.push_str(&format!("decision {}\n", d.summary()));
                    let key = d
                        .new
                        .entries
                        .first()
                        .cloned()
                        .unwrap_or_else(|| d.new.records[0].split_once(':').unwrap().1.to_string());
                    for l in store.explain(&key).await.unwrap() {
                        transcript.push_str(&format!("{l}\n"));
                    }
                }
                Err(e) => transcript.push_str(&format!("refused: {e:#}\n")),
            }
        }
        golden("fixtures/review/expected/transcript.txt", &stable(&transcript));

        // The daily run and reruns keep every decision.
        let decisions = store.decisions(None).await.unwrap();
        assert_eq!(decisions.len(), 6, "{}: six requests were accepted", b.name);
        let after = run(&cfg, &store).await;
        let m = read(&after.report_dir.join("matches.csv"));
        let d = read(&after.report_dir.join("discrepancies.csv"));
        golden("fixtures/review/expected/matches.csv", &stable(&m));
        golden("fixtures/review/expected/discrepancies.csv", &stable(&d));
        assert!(m.contains("BK24032100501,2024-03-21,1200000.00,R20240321-01,manual"), "{}: {m}", b.name);
        assert_ne!(m, auto_matches);
        let counts = store.table_counts().await.unwrap();
        for _ in 0..2 {
            let again = run(&cfg, &store).await;
            assert_eq!(read(&again.report_dir.join("matches.csv")), m, "{}", b.name);
            assert_eq!(read(&again.report_dir.join("discrepancies.csv")), d, "{}", b.name);
        }
        assert_eq!(store.table_counts().await.unwrap(), counts, "{}: reruns added or removed rows", b.name);
        assert_eq!(store.decisions(None).await.unwrap(), decisions, "{}: reruns keep every decision", b.name);
        assert_eq!(fundrecon::review::verify(&decisions), Ok(()));

        // The acknowledged fee no longer needs attention; the other open items still do.
        let fee = after
            .results
            .iter()
            .flat_map(|a| &a.discrepancies)
            .find(|x| x.bank_ref.as_deref() == Some("FE24032100011"));
        let fee = fee.expect("the fee is still reported");
        assert_eq!(fee.rule, "acknowledged");
        assert!(!fundrecon::report::needs_attention(fee));
        store.close().await;
    }
}

/// The database itself refuses to change or delete an audit row, on both backends.
#[tokio::test]
async fn decisions_are_append_only_in_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "appendonly").await {
        let dir = tmp.path().join(b.name);
        let cfg = Config::load(&demo_copy(&dir, &b.url)).unwrap();
        let store = Store::open(&cfg.database_url()).await.unwrap();
        run(&cfg, &store).await;
        let req = Request {
            account: "450012345678901234".into(),
            action: Action::Annotate,
            entries: vec!["BK24032200077".into()],
            vouchers: vec![],
            reason: "called the bank".into(),
            by: "张三".into(),
        };
        decide(&cfg, &store, &req).await.unwrap();
        // Keyed reads (the web page's item view): unknown keys are left out.
        let acct = "450012345678901234";
        let keys = ["BK24032200077#1".to_string(), "NOPE#1".to_string()];
        let es = store.entries_by_keys(acct, &keys).await.unwrap();
        assert_eq!(
            es.iter()
                .map(|e| (e.item.entry_key.as_str(), fundrecon::money::canonical(e.item.amount)))
                .collect::<Vec<_>>(),
            [("BK24032200077#1", "8000000.00".to_string())],
            "{}",
            b.name
        );
        let rs = store
            .records_by_keys(acct, &["disbursement:20240318-0003".to_string(), "receipt:20240318-0003".to_string()])
            .await
            .unwrap();
        assert_eq!(rs.len(), 1, "{}", b.name);
        assert_eq!(fundrecon::money::canonical(rs[0].item.amount), "-500000.00");
        let many: Vec<String> = (0..1200).map(|i| format!("X{i}#1")).chain(keys.iter().cloned()).collect();
        assert_eq!(store.entries_by_keys(acct, &many).await.unwrap().len(), 1, "{}: keys over several queries", b.name);
        store.close().await;
        for sql in ["UPDATE decisions SET reason = 'changed'", "DELETE FROM decisions"] {
            let err = raw_sql(&b, sql).await.expect_err("the database refuses");
            assert!(err.contains("append-only"), "{}: {sql}: {err}", b.name);
        }
    }
}

/// A changed row (written past the triggers, as a database owner could) is named by
/// `fundrecon review verify`, which exits 2.
#[tokio::test]
async fn verify_names_a_tampered_row() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "tamper").await {
        let dir = tmp.path().join(b.name);
        let cfg_path = demo_copy(&dir, &b.url);
        let cfg = Config::load(&cfg_path).unwrap();
        let store = Store::open(&cfg.database_url()).await.unwrap();
        run(&cfg, &store).await;
        for why in ["first", "second", "third"] {
            let req = Request {
                account: "450012345678901234".into(),
                action: Action::Annotate,
                entries: vec!["BK24032200077".into()],
                vouchers: vec![],
                reason: why.into(),
                by: "张三".into(),
            };
            decide(&cfg, &store, &req).await.unwrap();
        }
        store.close().await;
        let verify = || {
            std::process::Command::new(env!("CARGO_BIN_EXE_fundrecon"))
                .args(["--config", cfg_path.to_str().unwrap(), "review", "verify"])
                .output()
                .unwrap()
        };
        let ok = verify();
        assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
        assert_eq!(String::from_utf8_lossy(&ok.stdout), "audit trail intact: 3 decisions\n");
        let tamper = match b.name {
            "sqlite" => "DROP TRIGGER decisions_no_update; UPDATE decisions SET reason = 'nothing to see' WHERE id = 2",
            _ => {
                "ALTER TABLE decisions DISABLE TRIGGER decisions_no_change; UPDATE decisions SET reason = 'nothing to see' WHERE id = 2"
            }
        };
        raw_sql(&b, tamper).await.unwrap();
        let bad = verify();
        assert_eq!(bad.status.code(), Some(2));
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains("audit trail broken at decision #2") && err.contains("changed"), "{}: {err}", b.name);
    }
}

/// Many writers at once (PostgreSQL: several processes share it): every decision lands,
/// the chain stays one line.
#[tokio::test]
async fn concurrent_writers_never_fork_the_chain() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "concurrent").await {
        let dir = tmp.path().join(b.name);
        let cfg = Config::load(&demo_copy(&dir, &b.url)).unwrap();
        let store = std::sync::Arc::new(Store::open(&cfg.database_url()).await.unwrap());
        run(&cfg, &store).await;
        let mut tasks = Vec::new();
        for i in 0..12 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let d = fundrecon::review::NewDecision {
                    account_no: "450012345678901234".into(),
                    action: Action::Annotate,
                    entries: vec!["BK24032200077#1".into()],
                    records: vec![],
                    rule: None,
                    undoes: None,
                    reason: format!("note {i}"),
                    by: "张三".into(),
                };
                store.append_decision(&d).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let all = store.decisions(None).await.unwrap();
        assert_eq!(all.len(), 12, "{}", b.name);
        assert_eq!(fundrecon::review::verify(&all), Ok(()), "{}", b.name);
        store.close().await;
    }
}

/// Runs SQL outside the store (as an operator with database access would); the error text.
async fn raw_sql(b: &Backend, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let run = async {
        if b.name == "sqlite" {
            let mut c = sqlx::SqliteConnection::connect(&b.url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut c).await?;
        } else {
            let mut c = sqlx::PgConnection::connect(&b.url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut c).await?;
        }
        Ok::<(), sqlx::Error>(())
    };
    run.await.map_err(|e| e.to_string())
}

/// `review open`: open items with their age as of a date; a bad type or account is named.
#[tokio::test]
async fn review_open_lists_ages_and_names_bad_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backends(tmp.path(), "open").await.remove(0);
    let dir = tmp.path().join(b.name);
    let cfg_path = demo_copy(&dir, &b.url);
    let cfg = Config::load(&cfg_path).unwrap();
    let store = Store::open(&cfg.database_url()).await.unwrap();
    run(&cfg, &store).await;
    store.close().await;
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fundrecon"))
            .args(["--config", cfg_path.to_str().unwrap(), "review", "open"])
            .args(args)
            .output()
            .unwrap()
    };
    let ok = cli(&["--account", "450012345678901234", "--kind", "missing_in_bank", "--as-of", "2024-03-25"]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let out = String::from_utf8_lossy(&ok.stdout);
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{out}");
    let cols: Vec<&str> = rows[0].split_whitespace().collect();
    assert_eq!(&cols[..4], ["450012345678901234", "missing_in_bank", "7", "2024-03-18"], "{out}");
    let bad = cli(&["--kind", "missing"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("--kind \"missing\" is not a discrepancy type (known: missing_in_bank")
    );
    let bad = cli(&["--account", "999"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--account \"999\" is not a configured account"));
}

/// Where every item of an account is, as stored: its match (rule and items) or the types
/// of its open items.
async fn live_places(store: &Store, account: &str) -> std::collections::BTreeMap<String, String> {
    use fundrecon::review::{Item, record_key};
    let data = store.account_data(account).await.unwrap();
    let open = store.open_items(Some(account)).await.unwrap();
    let mut out = std::collections::BTreeMap::new();
    let items = data
        .entries
        .iter()
        .map(|e| Item::Entry(e.item.entry_key.clone()))
        .chain(data.records.iter().map(|r| Item::Record(record_key(r.direction, &r.item.voucher_no))));
    for item in items {
        let key = match &item {
            Item::Entry(k) | Item::Record(k) => k.clone(),
        };
        let mut kinds: Vec<&str> = open
            .iter()
            .filter(|o| o.entry_key.as_ref() == Some(&key) || o.record_key.as_ref() == Some(&key))
            .map(|o| o.kind.as_str())
            .collect();
        kinds.sort();
        let place = match store.match_of(account, &item).await.unwrap() {
            Some(m) => format!("{} {}+{} {}", m.rule, m.entries.join("+"), m.records.join("+"), kinds.join(",")),
            None => format!("open {}", kinds.join(",")),
        };
        out.insert(key, place);
    }
    out
}

/// Issue 15 point 1, on every backend: for random sequences of confirm / reject / match /
/// unmatch / annotate on the demo, confirming what the matcher decided leaves every item
/// where it was, and replaying the audit rows on a fresh database gives the live state.
#[tokio::test]
async fn confirm_moves_nothing_and_the_trail_replays_on_every_backend() {
    let accounts = ["450012345678901234", "1202020209000012345"];
    for seed in 1u64..=3 {
        let tmp = tempfile::tempdir().unwrap();
        let replay_tmp = tempfile::tempdir().unwrap();
        let replays = backends(replay_tmp.path(), "review_replay").await;
        for (b, rb) in backends(tmp.path(), "review_prop").await.into_iter().zip(replays) {
            let cfg = Config::load(&demo_copy(&tmp.path().join(b.name), &b.url)).unwrap();
            let store = Store::open(&cfg.database_url()).await.unwrap();
            run(&cfg, &store).await;
            let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut next = |n: usize| {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((rng >> 33) as usize) % n.max(1)
            };
            let mut accepted = 0;
            for step in 0..14 {
                let account = accounts[next(2)];
                let before = live_places(&store, account).await;
                let matched: Vec<(&String, &String)> =
                    before.iter().filter(|(k, p)| !p.starts_with("open") && k.contains('#')).collect();
                let open_e: Vec<&String> =
                    before.iter().filter(|(k, p)| p.starts_with("open") && k.contains('#')).map(|x| x.0).collect();
                let action = ["confirm", "confirm", "reject", "match", "unmatch", "annotate"][next(6)];
                let (entries, vouchers): (Vec<String>, Vec<String>) = match action {
                    "confirm" | "reject" if !matched.is_empty() => {
                        (vec![matched[next(matched.len())].0.clone()], vec![])
                    }
                    "match" if !open_e.is_empty() => {
                        // An open entry with an open record of the same amount, if any.
                        let open = store.open_items(Some(account)).await.unwrap();
                        let pair =
                            open.iter().filter(|o| o.entry_key.is_some() && o.record_key.is_none()).find_map(|e| {
                                open.iter()
                                    .find(|r| r.entry_key.is_none() && r.record_key.is_some() && r.amount == e.amount)
                                    .map(|r| (e.entry_key.clone().unwrap(), r.record_key.clone().unwrap()))
                            });
                        match pair {
                            Some((e, r)) => (vec![e], vec![r]),
                            None => continue,
                        }
                    }
                    "unmatch" | "annotate" => (
                        vec![
                            before
                                .keys()
                                .filter(|k| k.contains('#'))
                                .nth(next(before.len()))
                                .cloned()
                                .unwrap_or_default(),
                        ],
                        vec![],
                    ),
                    _ => continue,
                };
                let req = Request {
                    account: account.into(),
                    action: Action::parse(action).unwrap(),
                    entries: entries.into_iter().filter(|e| !e.is_empty()).collect(),
                    vouchers,
                    reason: format!("seed {seed} step {step}"),
                    by: "审核员".into(),
                };
                let Ok(d) = decide(&cfg, &store, &req).await else { continue };
                accepted += 1;
                let after = live_places(&store, account).await;
                if action == "confirm" && d.new.rule.is_some() {
                    // Only the confirmed match's own items may change, and only its words.
                    assert_eq!(before, after, "{} seed {seed}: confirming {} moved items", b.name, d.summary());
                }
            }
            assert!(accepted >= 4, "{} seed {seed}: only {accepted} decisions were taken", b.name);

            // The audit rows, replayed on a fresh database with the same inputs.
            let rcfg = Config::load(&demo_copy(&replay_tmp.path().join(b.name), &rb.url)).unwrap();
            let rstore = Store::open(&rcfg.database_url()).await.unwrap();
            run(&rcfg, &rstore).await;
            for d in store.decisions(None).await.unwrap() {
                rstore.append_decision(&d.new).await.unwrap();
            }
            run(&rcfg, &rstore).await;
            for a in accounts {
                assert_eq!(
                    live_places(&store, a).await,
                    live_places(&rstore, a).await,
                    "{} seed {seed}: replay of {a}",
                    b.name
                );
            }
            store.close().await;
            rstore.close().await;
        }
    }
}

fn fundrecon(args: &[&str]) -> std::process::Output {
    fundrecon_bin(args)
}

/// Issue 15 point 1 through the binary, on the demo: confirming the automatic 退汇 match
/// of `ICBC2403220001#1` (whose voucher DF202403-002 is also a payee of the 代发 batch),
/// then the batch match, leaves the 支出户's open items as they were; each confirm is
/// shown on its match.
#[tokio::test]
async fn confirming_a_return_and_its_batch_through_the_binary_moves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "review_confirm_return").await {
        let cfg = demo_copy(&tmp.path().join(b.name), &b.url);
        let cfg = cfg.to_str().unwrap();
        let out = fundrecon(&["run", "--config", cfg, "--date", "2024-03-22"]);
        assert!(out.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&out.stderr));
        // Who queued the batch is recorded for `fundrecon run` too (issue 15 point 5).
        let shown = String::from_utf8(fundrecon(&["runs", "show", "1", "--config", cfg]).stdout).unwrap();
        assert!(shown.contains("queued by: fundrecon run by "), "{}: {shown}", b.name);
        let open = |b: &str| {
            let out = fundrecon(&[
                "review",
                "open",
                "--config",
                cfg,
                "--account",
                "1202020209000012345",
                "--as-of",
                "2024-03-22",
            ]);
            assert_eq!(out.status.code(), Some(0), "{b}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        let before = open(b.name);
        assert!(
            before.contains("ICBC2403220001"),
            "{}: the return is reported as 退汇 to call the payee: {before}",
            b.name
        );
        for (entry, rule) in [("ICBC2403220001#1", "return"), ("ICBC2403210002#1", "batch")] {
            let out = review_cli(cfg, "confirm", "1202020209000012345", &[entry], &[], "核对无误", "李会计");
            let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{}: confirm {entry}: {said}", b.name);
            assert_eq!(open(b.name), before, "{}: confirming the {rule} match moved other items", b.name);
        }
        let store = Store::open(&b.url).await.unwrap();
        for (entry, rule) in [("ICBC2403220001#1", "return"), ("ICBC2403210002#1", "batch")] {
            let item = fundrecon::review::Item::Entry(entry.into());
            let m = store.match_of("1202020209000012345", &item).await.unwrap().expect("still matched");
            assert_eq!(m.rule, rule, "{}", b.name);
            assert!(m.detail.contains("confirmed by 李会计"), "{}: {}", b.name, m.detail);
        }
        let batch = store
            .match_of("1202020209000012345", &fundrecon::review::Item::Entry("ICBC2403210002#1".into()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(batch.records.len(), 3, "{}: the batch keeps its three payees: {:?}", b.name, batch.records);
        store.close().await;
    }
}
