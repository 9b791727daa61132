//! Properties of matching on small random inputs (proptest, few cases: the suite stays fast).
//!
//! 1. State: every entry ends in exactly one primary place — one match whose rule is not
//!    `return`, or one discrepancy — except a linked 退汇 credit, which is in exactly one
//!    `return` match and exactly one `returned_payment` discrepancy. Every record ends in
//!    exactly one non-`return` match or one discrepancy, and is named by at most one
//!    `return` match.
//! 2. Sums: per match, Σ entries = Σ records; `reversal`: Σ entries = 0 and no record;
//!    `return`: Σ entries = −Σ records; `amount_tolerance`: |Σ entries − Σ records| ≤ the
//!    tolerance, and the detail states the difference.
//! 3. Order: the outcome does not depend on the order of the inputs.

use chrono::{Days, NaiveDate};
use fundrecon::discrepancy::Kind;
use fundrecon::matching::{self, BankItem, BookItem, Input, Outcome, Params, Rule, RuleSet};
use fundrecon::statement::EntryKind;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

const AMOUNTS: [i64; 9] = [-10_000, -5_000, -3_000, -2_000, 2_000, 5_000, 10_000, -15_000, -5_001];
const TEXTS: [&str; 11] = [
    "",
    "V-0001",
    "pay NO.V-0002",
    "代发 DF-01",
    "退汇 V-0001",
    "V-0003 V-0004",
    "退款 DF-01",
    "缴费 SW2024-0301-004",
    "合同号 HT2024-001 张三",
    "代发 共2笔",
    "退回 张三 户名不符 6222****0001",
];
/// Names the bank and the books give (full, short, masked, a person).
const NAMES: [Option<&str>; 5] = [None, Some("张三"), Some("张*"), Some("市第一人民医院"), Some("市一院")];
const PURPOSES: [Option<&str>; 4] =
    [None, Some("养老保险费 SW2024-0301-004"), Some("合同号 HT2024-001"), Some("利息收入")];
const KINDS: [EntryKind; 6] = [
    EntryKind::Transfer,
    EntryKind::Transfer,
    EntryKind::Batch,
    EntryKind::Return,
    EntryKind::Reversal,
    EntryKind::Fee,
];

fn base() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, 18).unwrap()
}

fn cp(i: usize) -> Option<String> {
    [None, Some("6222 0001".to_string()), Some("62220002".to_string()), Some("6222****0001".to_string())][i].clone()
}

fn entries() -> impl Strategy<Value = Vec<BankItem>> {
    prop::collection::vec(
        (0..KINDS.len(), 0..AMOUNTS.len(), 0u64..8, 0..4usize, 0..TEXTS.len(), 0..3usize, 0..NAMES.len()),
        0..10,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (k, a, day, c, t, refn, n))| {
                let kind = KINDS[k];
                let mut amount = Decimal::new(AMOUNTS[a], 2);
                if kind == EntryKind::Return {
                    amount = amount.abs();
                }
                BankItem {
                    id: 1 + i as i64,
                    // Some entries share a bank reference (a duplicate posting).
                    entry_key: format!("B{refn}#{i}"),
                    booking_date: base().checked_add_days(Days::new(day)).unwrap(),
                    amount,
                    bank_ref: Some(format!("B{refn}")),
                    customer_ref: None,
                    end_to_end_id: if t == 1 { Some("V-0001".into()) } else { None },
                    counterparty_account: cp(c),
                    counterparty_name: NAMES[n].map(str::to_string),
                    narrative: TEXTS[t].into(),
                    kind,
                }
            })
            .collect()
    })
}

fn records() -> impl Strategy<Value = Vec<BookItem>> {
    prop::collection::vec(
        (0..AMOUNTS.len(), 0u64..6, 0..4usize, any::<bool>(), 0..NAMES.len(), 0..PURPOSES.len()),
        0..8,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (a, day, c, batch, n, p))| BookItem {
                id: 100 + i as i64,
                voucher_no: format!("V-{:04}", i + 1),
                date: base().checked_add_days(Days::new(day)).unwrap(),
                amount: Decimal::new(AMOUNTS[a], 2),
                counterparty_account: cp(c),
                counterparty_name: NAMES[n].map(str::to_string),
                purpose: PURPOSES[p].map(str::to_string),
                batch_ref: batch.then(|| "DF-01".to_string()),
            })
            .collect()
    })
}

fn params() -> Params {
    Params { window_days: 3, statements_end: Some(NaiveDate::from_ymd_opt(2024, 3, 25).unwrap()) }
}

fn run(es: &[BankItem], rs: &[BookItem], rules: &RuleSet) -> Outcome {
    matching::match_with("A", &Input { entries: es, records: rs, batch_details: &[] }, rules, &params())
}

fn check_state(out: &Outcome, es: &[BankItem], rs: &[BookItem]) -> Result<(), TestCaseError> {
    let mut primary_e: BTreeMap<i64, usize> = BTreeMap::new();
    let mut primary_r: BTreeMap<i64, usize> = BTreeMap::new();
    let mut return_r: BTreeMap<i64, usize> = BTreeMap::new();
    let ret_entries: BTreeSet<i64> =
        out.matches.iter().filter(|m| m.rule == Rule::Return).flat_map(|m| m.entries.clone()).collect();
    for m in &out.matches {
        if m.rule == Rule::Return {
            prop_assert_eq!(m.entries.len(), 1);
            for r in &m.records {
                *return_r.entry(*r).or_default() += 1;
            }
        } else {
            for e in &m.entries {
                *primary_e.entry(*e).or_default() += 1;
            }
            for r in &m.records {
                *primary_r.entry(*r).or_default() += 1;
            }
        }
    }
    for d in &out.discrepancies {
        if let Some(e) = d.entry {
            if ret_entries.contains(&e) {
                prop_assert_eq!(d.kind, Kind::ReturnedPayment);
            }
            *primary_e.entry(e).or_default() += 1;
        }
        if let Some(r) = d.record {
            *primary_r.entry(r).or_default() += 1;
        }
    }
    for e in es {
        prop_assert_eq!(primary_e.get(&e.id).copied().unwrap_or(0), 1, "entry {}", e.id);
    }
    prop_assert_eq!(primary_e.len(), es.len());
    for r in rs {
        prop_assert_eq!(primary_r.get(&r.id).copied().unwrap_or(0), 1, "record {}", r.id);
    }
    prop_assert_eq!(primary_r.len(), rs.len());
    prop_assert!(return_r.values().all(|&n| n == 1), "a record returned twice");
    Ok(())
}

fn check_sums(out: &Outcome, es: &[BankItem], rs: &[BookItem], tol_fen: i64) -> Result<(), TestCaseError> {
    let ea: BTreeMap<i64, Decimal> = es.iter().map(|e| (e.id, e.amount)).collect();
    let ra: BTreeMap<i64, Decimal> = rs.iter().map(|r| (r.id, r.amount)).collect();
    for m in &out.matches {
        let se: Decimal = m.entries.iter().map(|e| ea[e]).sum();
        let sr: Decimal = m.records.iter().map(|r| ra[r]).sum();
        match m.rule {
            Rule::Reversal => {
                prop_assert!(m.records.is_empty());
                prop_assert_eq!(se, Decimal::ZERO);
            }
            Rule::Return => prop_assert_eq!(se, -sr, "{:?}", m),
            Rule::AmountTolerance => {
                let diff = se - sr;
                prop_assert!(diff.abs() <= Decimal::new(tol_fen, 2), "{:?}", m);
                let shown = fundrecon::money::canonical(diff);
                prop_assert!(m.detail.contains(&format!("difference {shown}")), "{:?}", m);
            }
            _ => prop_assert_eq!(se, sr, "{:?}", m),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_item_ends_in_one_state_and_sums_hold(es in entries(), rs in records()) {
        let out = run(&es, &rs, &RuleSet::default());
        check_state(&out, &es, &rs)?;
        check_sums(&out, &es, &rs, 0)?;
        let out = run(&es, &rs, &RuleSet::with_tolerance(100));
        check_state(&out, &es, &rs)?;
        check_sums(&out, &es, &rs, 100)?;
    }

    #[test]
    fn outcome_does_not_depend_on_input_order(
        (es, es2) in entries().prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        (rs, rs2) in records().prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
    ) {
        prop_assert_eq!(run(&es, &rs, &RuleSet::default()), run(&es2, &rs2, &RuleSet::default()));
        let t = RuleSet::with_tolerance(100);
        prop_assert_eq!(run(&es, &rs, &t), run(&es2, &rs2, &t));
    }
}
