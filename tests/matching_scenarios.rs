//! Matching scored against the scenario generator's truth (`fundrecon::scenario`).
//!
//! Precision of matches must be 100 %: a wrong pairing is worse than an open item, since a
//! person checks open items and nobody checks matches. Recall must be 100 % for every
//! planted type: each one is decidable from the data by construction (the generator
//! redraws a batch until its failed payees are the only subset that fits, never pays the
//! same round amount to one counterparty twice inside a window, and so on), so anything
//! less is a bug, not bad luck.
//!
//! `cargo test --release --test matching_scenarios -- --ignored --nocapture --test-threads=1`
//! runs the scale measurements (100k and 1M entries; time and peak RSS of matching with
//! its compact inputs). One thread: the peak RSS is the process's, and two measurements
//! running side by side would count each other's memory.

use chrono::NaiveDate;
use fundrecon::discrepancy::Kind;
use fundrecon::matching::{self, BankItem, BookItem, Params, Rule, RuleSet};
use fundrecon::scenario::{self, Config};
use fundrecon::statement::EntryKind;
use rust_decimal::Decimal;

fn run(cfg: &Config) -> scenario::Score {
    let s = scenario::generate(cfg);
    let out = matching::match_with(&s.account_no, &s.input(), &RuleSet::default(), &s.params);
    let sc = scenario::score(&s, &out);
    println!("seed {} entries {} records {}\n{}", cfg.seed, s.entries.len(), s.records.len(), sc.table());
    sc
}

fn check(sc: &scenario::Score) {
    assert!(sc.wrong.is_empty(), "wrong matches: {:#?}", sc.wrong);
    assert_eq!(sc.correct, sc.matches);
    for (rule, (truth, found)) in &sc.groups {
        assert_eq!(truth, found, "recall of {rule} matches");
    }
    for (kind, (planted, found)) in &sc.planted {
        assert_eq!(planted, found, "recall of {kind}");
    }
    // Every type is planted.
    for k in [
        "missing_in_bank",
        "in_transit",
        "missing_in_books",
        "amount_mismatch",
        "returned_payment",
        "bank_fee",
        "interest_credit",
        "duplicate_entry",
    ] {
        assert!(sc.planted.get(k).is_some_and(|(n, _)| *n > 0), "{k} not planted");
    }
    for r in ["reference", "amount_counterparty_date", "batch", "split", "reversal", "return"] {
        assert!(sc.groups.get(r).is_some_and(|(n, _)| *n > 0), "{r} not planted");
    }
}

#[test]
fn scenario_default_seed() {
    check(&run(&Config { entries: 6_000, ..Config::default() }));
}

#[test]
fn scenario_other_seeds() {
    for seed in [1, 7, 99] {
        check(&run(&Config { seed, entries: 3_000, ..Config::default() }));
    }
}

#[test]
fn scenario_is_deterministic() {
    let a = scenario::generate(&Config { entries: 500, ..Config::default() });
    let b = scenario::generate(&Config { entries: 500, ..Config::default() });
    assert_eq!(format!("{:?}", a.entries), format!("{:?}", b.entries));
    assert_eq!(format!("{:?}", a.records), format!("{:?}", b.records));
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn credit(id: i64, date: &str, amount: Decimal, text: &str, kind: EntryKind) -> BankItem {
    BankItem {
        id,
        entry_key: format!("E{id}#1"),
        booking_date: d(date),
        amount,
        bank_ref: Some(format!("E{id}")),
        customer_ref: None,
        end_to_end_id: None,
        counterparty_account: None,
        counterparty_name: None,
        narrative: text.into(),
        kind,
    }
}

/// TC-11: 1,000 items summing to 3,456,789.10 in one debit; returns of 2,345.60 and
/// 1,890.00 on T+1, and a third return next month, each linked to its person.
#[test]
fn tc11_batch_with_returns() {
    let mut amounts: Vec<i64> = (0..1000).map(|i| 300_000 + i * 37 + (i * i) % 101).collect();
    amounts[10] = 234_560;
    amounts[500] = 189_000;
    let sum: i64 = amounts.iter().sum();
    amounts[999] += 345_678_910 - sum;
    assert_eq!(amounts.iter().sum::<i64>(), 345_678_910);
    let records: Vec<BookItem> = amounts
        .iter()
        .enumerate()
        .map(|(i, &a)| BookItem {
            id: 1 + i as i64,
            voucher_no: format!("DF202403-{:04}", i + 1),
            date: d("2024-03-21"),
            amount: -Decimal::new(a, 2),
            counterparty_account: Some(format!("6217{i:012}")),
            counterparty_name: None,
            purpose: None,
            batch_ref: Some("DF202403".into()),
        })
        .collect();
    let third = 700;
    let entries = vec![
        credit(1, "2024-03-21", -Decimal::new(345_678_910, 2), "代发 批次 DF202403", EntryKind::Batch),
        credit(2, "2024-03-22", Decimal::new(234_560, 2), "退汇 DF202403-0011 户名不符", EntryKind::Return),
        credit(3, "2024-03-22", Decimal::new(189_000, 2), "代发退款 批次DF202403", EntryKind::Return),
        credit(4, "2024-04-15", Decimal::new(amounts[third], 2), "退汇 原凭证 DF202403-0701 销户", EntryKind::Return),
    ];
    let params = Params { window_days: 3, statements_end: Some(d("2024-04-30")) };
    let out = matching::match_account("A", &entries, &records, &params);
    let batch = out.matches.iter().find(|m| m.rule == Rule::Batch).expect("batch");
    assert_eq!(batch.records.len(), 1000);
    let ret =
        |e: i64| out.matches.iter().find(|m| m.rule == Rule::Return && m.entries == [e]).map(|m| m.records.clone());
    assert_eq!(ret(2), Some(vec![11]));
    assert_eq!(ret(3), Some(vec![501]));
    assert_eq!(ret(4), Some(vec![third as i64 + 1]));
    let returned: Decimal =
        out.discrepancies.iter().filter(|x| x.kind == Kind::ReturnedPayment).filter_map(|x| x.amount).sum();
    // Net = debit + returns: 3,452,553.50 for the two T+1 returns.
    assert_eq!(-Decimal::new(345_678_910, 2) + Decimal::new(234_560 + 189_000, 2), -Decimal::new(345_255_350, 2));
    assert_eq!(returned, Decimal::new(234_560 + 189_000 + amounts[third], 2));
    assert_eq!(out.discrepancies.len(), 3, "{:#?}", out.discrepancies);
    // The variant with one 代发余额退款 of 4,235.60 for both persons.
    let entries2 = vec![
        entries[0].clone(),
        credit(5, "2024-03-22", Decimal::new(423_560, 2), "代发余额退款 DF202403", EntryKind::Return),
    ];
    let out = matching::match_account("A", &entries2, &records, &params);
    let m = out.matches.iter().find(|m| m.rule == Rule::Return).expect("return of two");
    assert_eq!(m.records, [11, 501]);
}

fn measure(n: usize) {
    let (score, report) = fundrecon::job::bench::matching(n);
    print!("{report}");
    check(&score);
}

#[test]
#[ignore = "benchmark, not a test: run in release with --ignored --nocapture (or fundrecon bench-match)"]
fn scale_100k() {
    measure(100_000);
}

#[test]
#[ignore = "benchmark, not a test: run in release with --ignored --nocapture (or fundrecon bench-match)"]
fn scale_1m() {
    measure(1_000_000);
}
