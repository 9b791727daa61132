//! Store behaviour that both backends must share: exact money round trips, import
//! idempotence, overlapping deliveries, entry identity, run rows.

mod common;

use chrono::NaiveDate;
use common::*;
use fundrecon::money::{Currency, Money};
use fundrecon::statement::{Balance, Entry, EntryKind, Statement};
use fundrecon::store::{Store, entry_keys};
use rust_decimal::{Decimal, dec};

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, n).unwrap()
}

fn entry(amount: Decimal, bank_ref: Option<&str>) -> Entry {
    Entry {
        booking_date: day(21),
        value_date: Some(day(20)),
        amount: Money::new(amount, Currency::CNY),
        bank_ref: bank_ref.map(str::to_string),
        customer_ref: None,
        end_to_end_id: Some("E2E-1".into()),
        counterparty_account: Some("6222".into()),
        counterparty_name: Some("张三".into()),
        counterparty_bank: None,
        narrative: "拨付 'quoted' \"text\"; DROP TABLE entries".into(),
        kind: EntryKind::Transfer,
        type_code: None,
        return_reason: None,
        batch: None,
        location: "line 5".into(),
    }
}

/// A batch (代发) entry with its items, as a camt `Btch` gives them: the items come back
/// from every store as they went in (amounts in canonical form).
fn batch_entry() -> Entry {
    use fundrecon::statement::{BatchDetails, BatchItem};
    let item = |amount: Decimal, e2e: &str| BatchItem {
        amount: Some(amount),
        end_to_end_id: Some(e2e.into()),
        counterparty_account: Some("6217****1234".into()),
        counterparty_name: Some("张 \"三\"".into()),
        narrative: None,
    };
    Entry {
        kind: EntryKind::Batch,
        batch: Some(BatchDetails {
            count: Some(2),
            total: Some(dec!(100)),
            items: vec![item(dec!(60), "DF-1"), item(dec!(40.000), "DF-2")],
        }),
        ..entry(dec!(100), Some("R9"))
    }
}

fn statement(entries: Vec<Entry>) -> Statement {
    let sum: Decimal = entries.iter().map(|e| e.amount.amount).sum();
    Statement {
        account: "BKCHCNBJ/4500".into(),
        currency: Currency::CNY,
        sequence: Some("1".into()),
        statement_id: None,
        opening: Some(Balance { date: day(20), amount: Money::new(dec!(1000000000000.125), Currency::CNY) }),
        closing: Some(Balance { date: day(21), amount: Money::new(dec!(1000000000000.125) + sum, Currency::CNY) }),
        entries,
        location: "line 1".into(),
        flags: Vec::new(),
    }
}

#[test]
fn entry_keys_number_repeats() {
    let s = statement(vec![
        entry(dec!(-1), Some("R1")),
        entry(dec!(-1), Some("R1")),
        entry(dec!(-2), None),
        entry(dec!(-2), Some("NONREF")),
    ]);
    assert_eq!(entry_keys(&s), ["R1#1", "R1#2", "2024-03-21|-2.00|#1", "2024-03-21|-2.00|#2"]);
}

#[tokio::test]
async fn money_and_imports_behave_the_same_on_every_backend() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "store").await {
        let store = Store::open(&b.url).await.unwrap();
        let amounts = [dec!(-0.01), dec!(1000), dec!(-5.5), dec!(0.125), dec!(-123456789012345.67), dec!(7.000)];
        let s = statement(amounts.iter().enumerate().map(|(i, a)| entry(*a, Some(&format!("R{i}")))).collect());
        let sha = "a".repeat(64);
        assert!(store.record_raw_file(&sha, 10, "f.sta", "test").await.unwrap());
        assert!(
            !store.record_raw_file(&sha, 10, "f.sta", "test").await.unwrap(),
            "{}: second record is a no-op",
            b.name
        );
        let st = store.import_statements(&sha, "mt940", std::slice::from_ref(&s), &["4500".to_string()]).await.unwrap();
        assert_eq!(
            (st.statements, st.entries_new, st.entries_known, st.already_imported),
            (1, 6, 0, false),
            "{}",
            b.name
        );
        let again =
            store.import_statements(&sha, "mt940", std::slice::from_ref(&s), &["4500".to_string()]).await.unwrap();
        assert!(again.already_imported, "{}", b.name);

        // Another file repeating the same statement plus one new entry.
        let mut s2 = s.clone();
        s2.entries.push(entry(dec!(3), Some("R-NEW")));
        let sha2 = "b".repeat(64);
        store.record_raw_file(&sha2, 11, "g.sta", "test").await.unwrap();
        let st2 = store.import_statements(&sha2, "mt940", &[s2], &["4500".to_string()]).await.unwrap();
        assert_eq!((st2.entries_new, st2.entries_known), (1, 6), "{}", b.name);

        let got = store.entries("4500").await.unwrap();
        assert_eq!(got.len(), 7);
        let mut back: Vec<Decimal> = got.iter().map(|e| e.item.amount).collect();
        back.sort();
        let mut want: Vec<Decimal> = amounts.to_vec();
        want.push(dec!(3));
        want.sort();
        assert_eq!(back, want, "{}: amounts survive exactly", b.name);
        assert!(got.iter().all(|e| e.item.narrative == "拨付 'quoted' \"text\"; DROP TABLE entries"));
        assert_eq!(got[0].value_date, Some(day(20)));
        let facts = store.statement_facts("4500").await.unwrap();
        assert_eq!(facts.len(), 2);
        assert_eq!(facts[0].opening, Some((day(20), dec!(1000000000000.125))), "{}", b.name);
        assert_eq!(store.closing_balance("4500").await.unwrap().map(|c| c.0), Some(day(21)));

        // An import for a file never archived is refused and writes nothing.
        let err = store
            .import_statements(&"c".repeat(64), "mt940", std::slice::from_ref(&s), &["4500".to_string()])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("imported before it was recorded"), "{err}");
        assert_eq!(store.entries("4500").await.unwrap().len(), 7);

        // Runs: one row per (channel, date); attempts count executions.
        let r = store.ensure_run("ch", "bank", day(22)).await.unwrap();
        let r2 = store.ensure_run("ch", "bank", day(22)).await.unwrap();
        assert_eq!(r.id, r2.id);
        store.start_run(r.id).await.unwrap();
        store.finish_run(r.id, "failed", Some("f.sta:3: bad"), "{}").await.unwrap();
        store.start_run(r.id).await.unwrap();
        store.finish_run(r.id, "done", None, "{}").await.unwrap();
        let row = store.run(r.id).await.unwrap().unwrap();
        assert_eq!((row.state.as_str(), row.attempts, row.error.as_deref()), ("done", 2, None), "{}", b.name);
        assert!(row.finished_at >= row.started_at);
        assert!(store.runs(true).await.unwrap().is_empty());
        store.close().await;
    }
}

fn book(
    account: &str,
    voucher: &str,
    amount: Decimal,
    direction: fundrecon::book::Direction,
) -> fundrecon::book::BookRecord {
    fundrecon::book::BookRecord {
        voucher_no: voucher.into(),
        account_no: account.into(),
        date: day(21),
        amount: Money::new(amount, Currency::CNY),
        direction,
        counterparty_account: Some("6222".into()),
        counterparty_name: None,
        purpose: Some("拨付".into()),
        batch_ref: None,
        void: None,
        location: format!("line {voucher}"),
    }
}

/// Imports go many rows per statement: counts, upserts and overlaps must come out as
/// they did row by row, across chunk borders, on both backends.
#[tokio::test]
async fn many_row_imports_count_and_upsert_like_single_rows() {
    use fundrecon::book::Direction::{Disbursement, Receipt};
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "store_chunks").await {
        let store = Store::open(&b.url).await.unwrap();
        let mut recs: Vec<_> =
            (0..150).map(|i| book("A", &format!("V{i}"), dec!(-1) - Decimal::from(i), Disbursement)).collect();
        // The same voucher again later in the file: the later row wins and counts as known.
        recs.push(book("A", "V5", dec!(-99.5), Disbursement));
        recs.extend((0..3).map(|i| book("B", &format!("V{i}"), dec!(2), Receipt)));
        assert_eq!(store.import_books("books.csv", &recs).await.unwrap(), (153, 1), "{}", b.name);
        let a = store.records("A").await.unwrap();
        assert_eq!(a.len(), 150, "{}", b.name);
        let v5 = a.iter().find(|r| r.item.voucher_no == "V5").unwrap();
        assert_eq!(v5.item.amount, dec!(-99.5), "{}", b.name);
        assert_eq!(store.records("B").await.unwrap().len(), 3);
        assert_eq!(store.import_books("books.csv", &recs).await.unwrap(), (0, 154), "{}", b.name);

        let s = statement((0..150).map(|i| entry(Decimal::from(-1 - i), Some(&format!("R{i}")))).collect());
        let sha = "d".repeat(64);
        store.record_raw_file(&sha, 10, "f.sta", "test").await.unwrap();
        let st = store.import_statements(&sha, "mt940", std::slice::from_ref(&s), &["4500".to_string()]).await.unwrap();
        assert_eq!((st.entries_new, st.entries_known), (150, 0), "{}", b.name);
        let mut s2 = s.clone();
        s2.entries.insert(70, entry(dec!(3), Some("R-NEW")));
        let sha2 = "e".repeat(64);
        store.record_raw_file(&sha2, 11, "g.sta", "test").await.unwrap();
        let st2 = store.import_statements(&sha2, "mt940", &[s2], &["4500".to_string()]).await.unwrap();
        assert_eq!((st2.entries_new, st2.entries_known), (1, 150), "{}", b.name);
        assert_eq!(store.entries("4500").await.unwrap().len(), 151, "{}", b.name);
        store.close().await;
    }
}

/// Named locks (`Store::exclusive`, PostgreSQL advisory locks) hold within one schema only:
/// a second store on the same schema waits, a store on another schema of the same database
/// does not (deployments and tests share a server).
#[tokio::test]
async fn named_locks_hold_within_their_schema_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (Some(a), Some(b)) = (
        backends(tmp.path(), "locka").await.into_iter().nth(1),
        backends(tmp.path(), "lockb").await.into_iter().nth(1),
    ) else {
        eprintln!("named_locks_hold_within_their_schema_only: skipped (FUNDRECON_TEST_PG not set)");
        return;
    };
    let a1 = Store::open(&a.url).await.unwrap();
    let a2 = Store::open(&a.url).await.unwrap();
    let b1 = Store::open(&b.url).await.unwrap();
    let held = a1.exclusive("account:450012345678901234").await.unwrap();
    let other_schema =
        tokio::time::timeout(std::time::Duration::from_secs(5), b1.exclusive("account:450012345678901234")).await;
    assert!(other_schema.is_ok(), "a lock in another schema must not wait");
    drop(other_schema);
    let same_schema =
        tokio::time::timeout(std::time::Duration::from_millis(500), a2.exclusive("account:450012345678901234")).await;
    assert!(same_schema.is_err(), "the same lock in the same schema waits");
    drop(held);
    let after =
        tokio::time::timeout(std::time::Duration::from_secs(5), a2.exclusive("account:450012345678901234")).await;
    assert!(after.is_ok(), "released with its holder");
}

fn normalise(d: &mut fundrecon::store::AccountData) {
    d.entries.iter_mut().for_each(|e| e.item.amount = e.item.amount.normalize());
    d.records.iter_mut().for_each(|r| r.item.amount = r.item.amount.normalize());
    for f in &mut d.facts {
        f.entry_sum = f.entry_sum.normalize();
        f.opening = f.opening.map(|(day, x)| (day, x.normalize()));
        f.closing = f.closing.map(|(day, x)| (day, x.normalize()));
    }
    d.bank_closing = d.bank_closing.map(|(day, x)| (day, x.normalize()));
}

/// `reconcile`'s in-memory ledger (`store::memory`) must hand out exactly what the database
/// does after the same imports: the same rows with the same ids, in the same order, the
/// same amounts to the scale, the same statement facts, closing balance and end date.
/// Overlapping files, identical payments, entries without a reference, a file given
/// twice, vouchers corrected by a later file and the same voucher in both directions.
#[tokio::test]
async fn in_memory_ledger_reads_like_the_database() {
    use fundrecon::book::Direction::{Disbursement, Receipt};
    use fundrecon::store::memory::Ledger;
    let with = |mut s: Statement, account: &str, seq: &str, close_day: Option<u32>| {
        s.account = account.into();
        s.sequence = Some(seq.into());
        s.closing = close_day
            .map(|d| Balance { date: day(d), amount: Money::new(dec!(5.5) * Decimal::from(d), Currency::CNY) });
        s
    };
    let mut late = entry(dec!(9.90), Some("LATE"));
    late.booking_date = day(28);
    // (file content hash, name, statements): "f1" comes twice (under another name too).
    let files: Vec<(String, &str, Vec<Statement>)> = vec![
        (
            "1".repeat(64),
            "a.sta",
            vec![
                with(
                    statement(vec![entry(dec!(-1), Some("R1")), entry(dec!(-1), Some("R1")), entry(dec!(7.000), None)]),
                    "A",
                    "1",
                    Some(21),
                ),
                with(
                    statement(vec![entry(dec!(0.125), Some("NONREF")), entry(dec!(-0.01), Some("B1"))]),
                    "B",
                    "1",
                    Some(21),
                ),
            ],
        ),
        (
            "2".repeat(64),
            "b.sta",
            vec![with(
                statement(vec![
                    entry(dec!(-1), Some("R1")),
                    entry(dec!(-1), Some("R1")),
                    entry(dec!(-1), Some("R1")),
                    late,
                ]),
                "A",
                "2",
                Some(21),
            )],
        ),
        ("1".repeat(64), "a-again.sta", Vec::new()),
        ("3".repeat(64), "c.sta", vec![with(statement(vec![batch_entry()]), "A", "3", None)]),
        // a.sta's statements in other bytes (issue 15, 17): counted once, by content.
        ("4".repeat(64), "a-crlf.sta", Vec::new()),
        // b.sta's statement (same sequence and period) with other content: stored, flagged.
        ("5".repeat(64), "b-changed.sta", vec![with(statement(vec![entry(dec!(-1), Some("R1"))]), "A", "2", Some(21))]),
    ];
    let books: Vec<(&str, Vec<fundrecon::book::BookRecord>)> = vec![
        (
            "d1.csv",
            vec![
                book("A", "V1", dec!(-1), Disbursement),
                book("A", "V2", dec!(-7.10), Disbursement),
                book("B", "V1", dec!(2), Receipt),
            ],
        ),
        (
            "d2.csv",
            vec![
                book("A", "V1", dec!(-1.50), Disbursement),
                book("A", "V1", dec!(3), Receipt),
                book("A", "V0", dec!(4), Receipt),
            ],
        ),
    ];

    // The repeat of "f1" carries no statements of its own: it stands for the same content.
    let content = |stmts: &Vec<Statement>| if stmts.is_empty() { files[0].2.clone() } else { stmts.clone() };
    // The ledger, and its (new, known) counts per book file and per statement file (and
    // the re-delivery lines, in the order met).
    let build = || {
        let mut ledger = Ledger::new();
        let mut counts: Vec<(u64, u64)> = Vec::new();
        let prep = ledger.preparer();
        for (source, recs) in &books {
            counts.push(ledger.books(prep.books(source, recs.clone())).unwrap());
        }
        for (sha, name, stmts) in &files {
            let mut file = (0, 0);
            if ledger.add_file(sha) {
                for s in content(stmts) {
                    let account = s.account.clone();
                    let (new, known) = ledger.statement(name, prep.statement(s), &account).unwrap();
                    file = (file.0 + new, file.1 + known);
                }
            }
            counts.push(file);
        }
        let lines = ledger.redeliveries().to_vec();
        (ledger, counts, lines)
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for b in backends(tmp.path(), "store_ledger").await {
        let store = Store::open(&b.url).await.unwrap();
        let mut counts: Vec<(u64, u64)> = Vec::new();
        let mut lines: Vec<String> = Vec::new();
        for (source, recs) in &books {
            counts.push(store.import_books(source, recs).await.unwrap());
        }
        for (sha, name, stmts) in &files {
            let stmts = content(stmts);
            store.record_raw_file(sha, 1, name, "test").await.unwrap();
            let accounts: Vec<String> = stmts.iter().map(|s| s.account.clone()).collect();
            let st = store.import_statements(sha, "mt940", &stmts, &accounts).await.unwrap();
            counts.push((st.entries_new, st.entries_known));
            lines.extend(st.redelivered.iter().chain(&st.changed).cloned());
        }
        let (mut ledger, ledger_counts, ledger_lines) = build();
        assert_eq!(ledger_counts, counts, "{}: (new, known) per book file, then per statement file", b.name);
        assert_eq!(ledger_lines, lines, "{}: re-delivery lines", b.name);
        // V1 corrected by d2.csv; b.sta repeats R1 twice; the repeat of a.sta is skipped whole,
        // so are its statements in other bytes; b-changed.sta's R1#1 is known.
        assert_eq!(counts, [(3, 0), (2, 1), (5, 0), (2, 2), (0, 0), (1, 0), (0, 0), (0, 1)], "{}", b.name);
        assert_eq!(lines.len(), 3, "{}: {lines:?}", b.name);
        assert!(lines[0].starts_with("a-crlf.sta line 1: re-delivered, same content as a.sta line 1"), "{lines:?}");
        assert!(
            lines[2].starts_with(
                "b-changed.sta line 1: changed re-delivery of statement 2: first delivered in b.sta line 1"
            ),
            "{lines:?}"
        );
        for account in ["A", "B"] {
            let (mut db, mut mem) = (store.account_data(account).await.unwrap(), ledger.take_account(account));
            if b.name == "postgres" {
                // NUMERIC comes back normalised (7, not 7.00): equal values, another scale;
                // everything printed goes through `money::canonical` either way. The ledger
                // follows SQLite, the database `reconcile` used before it.
                normalise(&mut db);
                normalise(&mut mem);
            }
            assert_eq!(db.entries.len(), mem.entries.len(), "{}: {account} entries", b.name);
            assert_eq!(format!("{:?}", db.entries), format!("{:?}", mem.entries), "{}: {account} entries", b.name);
            assert_eq!(format!("{:?}", db.records), format!("{:?}", mem.records), "{}: {account} records", b.name);
            assert_eq!(format!("{:?}", db.facts), format!("{:?}", mem.facts), "{}: {account} facts", b.name);
            assert_eq!(db.bank_closing, mem.bank_closing, "{}: {account} closing", b.name);
            assert_eq!(db.statements_end, mem.statements_end, "{}: {account} end", b.name);
        }
        // What the case is built to show, stated once more on the database's side.
        let a = store.account_data("A").await.unwrap();
        assert_eq!(a.entries.len(), 6, "R1#1..#3, 7.000, LATE, R9: {}", b.name);
        assert_eq!(a.records.len(), 4, "V1 out, V1 in, V2, V0: {}", b.name);
        assert!(a.records.iter().any(|r| r.item.voucher_no == "V1" && r.item.amount == dec!(-1.50)));
        assert_eq!(a.statements_end, Some(day(28)));
        let r9 = a.entries.iter().find(|e| e.item.bank_ref.as_deref() == Some("R9")).unwrap();
        let items = &r9.batch.as_ref().expect("the batch's items are stored").items;
        assert_eq!(items.len(), 2, "{}", b.name);
        assert_eq!((items[1].end_to_end_id.as_deref(), items[1].amount), (Some("DF-2"), Some(dec!(40.00))));
        // b.sta delivered R1 three times and LATE; two of the R1s were stored from a.sta
        // already. Its sum is still what it delivered, or its arithmetic would look broken.
        assert_eq!(a.facts[1].file, "b.sta");
        assert_eq!(a.facts[1].entry_sum, dec!(6.90), "{}", b.name);
        store.close().await;
        ran += 1;
    }
    assert!(ran >= 1);
}
