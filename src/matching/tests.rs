use super::*;
use crate::discrepancy::Kind;
use rust_decimal::dec;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn entry(
    id: i64,
    date: &str,
    amount: Decimal,
    bank_ref: &str,
    cp: Option<&str>,
    text: &str,
    kind: EntryKind,
) -> BankItem {
    BankItem {
        id,
        entry_key: format!("{bank_ref}#1"),
        booking_date: d(date),
        amount,
        bank_ref: Some(bank_ref.into()),
        customer_ref: None,
        end_to_end_id: None,
        counterparty_account: cp.map(str::to_string),
        counterparty_name: None,
        narrative: text.into(),
        kind,
    }
}

fn record(id: i64, voucher: &str, date: &str, amount: Decimal, cp: Option<&str>, batch: Option<&str>) -> BookItem {
    BookItem {
        id,
        voucher_no: voucher.into(),
        date: d(date),
        amount,
        counterparty_account: cp.map(str::to_string),
        counterparty_name: None,
        purpose: None,
        batch_ref: batch.map(str::to_string),
    }
}

fn params(end: &str) -> Params {
    Params { window_days: 3, statements_end: Some(d(end)) }
}

/// The state invariant of `matching` (see the module text): every entry in exactly one
/// primary place (a non-`return` match or one discrepancy), or, for a linked return, in one
/// `return` match and one `returned_payment` discrepancy; every record in exactly one
/// non-`return` match or one discrepancy, and in at most one `return` match.
pub(crate) fn assert_partition(out: &Outcome, entries: &[BankItem], records: &[BookItem]) {
    let returns: Vec<&Match> = out.matches.iter().filter(|m| m.rule == Rule::Return).collect();
    let ret_entries: std::collections::BTreeSet<i64> = returns.iter().flat_map(|m| m.entries.iter().copied()).collect();
    let mut seen_e: Vec<i64> =
        out.matches.iter().filter(|m| m.rule != Rule::Return).flat_map(|m| m.entries.iter().copied()).collect();
    seen_e.extend(out.discrepancies.iter().filter_map(|x| x.entry).filter(|e| !ret_entries.contains(e)));
    seen_e.extend(ret_entries.iter().copied());
    seen_e.sort();
    let mut want_e: Vec<i64> = entries.iter().map(|e| e.id).collect();
    want_e.sort();
    assert_eq!(seen_e, want_e, "entries");
    for m in &returns {
        assert_eq!(m.entries.len(), 1);
        let n = out
            .discrepancies
            .iter()
            .filter(|x| x.entry == Some(m.entries[0]) && x.kind == Kind::ReturnedPayment)
            .count();
        assert_eq!(n, 1, "return {m:?}");
        assert_eq!(out.discrepancies.iter().filter(|x| x.entry == Some(m.entries[0])).count(), 1);
    }
    let mut seen_r: Vec<i64> =
        out.matches.iter().filter(|m| m.rule != Rule::Return).flat_map(|m| m.records.iter().copied()).collect();
    seen_r.extend(out.discrepancies.iter().filter_map(|x| x.record));
    seen_r.sort();
    let mut want_r: Vec<i64> = records.iter().map(|r| r.id).collect();
    want_r.sort();
    assert_eq!(seen_r, want_r, "records");
    let mut ret_r: Vec<i64> = returns.iter().flat_map(|m| m.records.iter().copied()).collect();
    ret_r.sort();
    let n = ret_r.len();
    ret_r.dedup();
    assert_eq!(n, ret_r.len(), "a record returned twice");
}

#[test]
fn reference_then_amount_counterparty_date() {
    let es = [
        entry(1, "2024-03-21", dec!(-100.00), "B1", None, "拨付 V-0007 用款", EntryKind::Transfer),
        entry(2, "2024-03-22", dec!(250.00), "B2", Some("6222 0001"), "归集", EntryKind::Transfer),
    ];
    let rs = [
        record(10, "V-0007", "2024-03-21", dec!(-100), None, None),
        record(11, "R-1", "2024-03-20", dec!(250.00), Some("62220001"), None),
    ];
    let out = match_account("A", &es, &rs, &params("2024-03-22"));
    assert_eq!(out.matches.len(), 2);
    assert_eq!(
        (out.matches[0].rule, out.matches[0].entries.as_slice(), out.matches[0].records.as_slice()),
        (Rule::Reference, &[1][..], &[10][..])
    );
    assert_eq!(out.matches[1].rule, Rule::AmountCounterpartyDate);
    assert!(out.discrepancies.is_empty(), "{:?}", out.discrepancies);
    assert_partition(&out, &es, &rs);
}

#[test]
fn voucher_inside_a_longer_number_is_not_a_match() {
    let es = [entry(1, "2024-03-21", dec!(-100), "B1", None, "REF 20240321-00071", EntryKind::Transfer)];
    let rs = [record(10, "20240321-0007", "2024-03-21", dec!(-100), None, None)];
    let out = match_account("A", &es, &rs, &params("2024-03-29"));
    assert!(out.matches.is_empty());
    let kinds: Vec<Kind> = out.discrepancies.iter().map(|x| x.kind).collect();
    assert_eq!(kinds, [Kind::MissingInBooks, Kind::MissingInBank]);
}

#[test]
fn two_identical_payments_stay_two() {
    let mut e2 = entry(2, "2024-03-21", dec!(-500), "B1", Some("9"), "same", EntryKind::Transfer);
    e2.entry_key = "B1#2".into();
    let es = [entry(1, "2024-03-21", dec!(-500), "B1", Some("9"), "same", EntryKind::Transfer), e2];
    let rs = [
        record(10, "X1", "2024-03-21", dec!(-500), Some("9"), None),
        record(11, "X2", "2024-03-21", dec!(-500), Some("9"), None),
    ];
    let out = match_account("A", &es, &rs, &params("2024-03-22"));
    assert_eq!(out.matches.len(), 2);
    assert!(out.discrepancies.is_empty());
    // With one record only, the second entry is a duplicate of the first (same bank ref).
    let out = match_account("A", &es, &rs[..1], &params("2024-03-22"));
    assert_eq!(out.matches.len(), 1);
    assert_eq!(out.discrepancies.len(), 1);
    assert_eq!(out.discrepancies[0].kind, Kind::DuplicateEntry);
}

#[test]
fn date_window_counts_business_days() {
    // Book date Thursday 2024-03-21; +3 business days = Tuesday 2024-03-26.
    let es = [
        entry(1, "2024-03-27", dec!(-1), "LATE", Some("9"), "", EntryKind::Transfer),
        entry(2, "2024-03-26", dec!(-1), "INTIME", Some("9"), "", EntryKind::Transfer),
        // Four business days before: outside the window backwards too.
        entry(3, "2024-03-15", dec!(-1), "EARLY", Some("9"), "", EntryKind::Transfer),
    ];
    let rs = [record(10, "X1", "2024-03-21", dec!(-1), Some("9"), None)];
    let out = match_account("A", &es, &rs, &params("2024-03-29"));
    assert_eq!(out.matches.len(), 1);
    assert_eq!(out.matches[0].entries, [2]);
    // The window runs both ways: a receipt booked three business days after the credit
    // (Friday → Wednesday) pairs, a fourth day does not.
    let es = [entry(1, "2024-03-22", dec!(5), "IN", Some("9"), "", EntryKind::Transfer)];
    for (book, pairs) in [("2024-03-27", true), ("2024-03-28", false)] {
        let rs = [record(10, "R1", book, dec!(5), Some("9"), None)];
        let out = match_account("A", &es, &rs, &params("2024-03-29"));
        assert_eq!(out.matches.len(), usize::from(pairs), "{book}");
    }
}

#[test]
fn batch_reversal_and_classification() {
    let es = [
        entry(1, "2024-03-21", dec!(-7056.00), "B1", None, "代发 批次 DF-01", EntryKind::Batch),
        entry(2, "2024-03-21", dec!(-20), "F1", None, "手续费", EntryKind::Fee),
        entry(3, "2024-03-21", dec!(70.5), "I1", None, "结息", EntryKind::Interest),
        entry(4, "2024-03-22", dec!(-4000), "W1", None, "错账", EntryKind::Transfer),
        entry(5, "2024-03-22", dec!(4000), "W2", None, "冲正", EntryKind::Reversal),
        entry(6, "2024-03-22", dec!(2345.60), "R1", None, "退汇 DF-002", EntryKind::Return),
        entry(7, "2024-03-22", dec!(-300), "M1", None, "V-0011", EntryKind::Transfer),
    ];
    let rs = [
        record(10, "DF-001", "2024-03-21", dec!(-1500.00), None, Some("DF-01")),
        record(11, "DF-002", "2024-03-21", dec!(-2345.60), None, Some("DF-01")),
        record(12, "DF-003", "2024-03-21", dec!(-3210.40), None, Some("DF-01")),
        record(13, "V-0011", "2024-03-22", dec!(-330), None, None),
        record(14, "V-0099", "2024-03-15", dec!(-9), None, None),
        record(15, "V-0100", "2024-03-22", dec!(-9), None, None),
    ];
    let out = match_account("A", &es, &rs, &params("2024-03-22"));
    let rules: Vec<Rule> = out.matches.iter().map(|m| m.rule).collect();
    assert_eq!(rules, [Rule::Reversal, Rule::Batch, Rule::Return]);
    assert_eq!(out.matches[1].records, [10, 11, 12]);
    // The return names the person of the batch although the batch matched.
    assert_eq!((out.matches[2].entries.as_slice(), out.matches[2].records.as_slice()), (&[6][..], &[11][..]));
    let mut kinds: Vec<(Kind, Option<i64>, Option<i64>)> =
        out.discrepancies.iter().map(|x| (x.kind, x.entry, x.record)).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            (Kind::MissingInBank, None, Some(14)),
            (Kind::InTransit, None, Some(15)),
            (Kind::AmountMismatch, Some(7), Some(13)),
            (Kind::ReturnedPayment, Some(6), None),
            (Kind::BankFee, Some(2), None),
            (Kind::InterestCredit, Some(3), None),
        ]
    );
    let ret = out.discrepancies.iter().find(|x| x.kind == Kind::ReturnedPayment).unwrap();
    assert_eq!(ret.voucher_no.as_deref(), Some("DF-002"));
    let mm = out.discrepancies.iter().find(|x| x.kind == Kind::AmountMismatch).unwrap();
    assert_eq!((mm.amount, mm.expected), (Some(dec!(-300)), Some(dec!(-330))));
    assert_partition(&out, &es, &rs);
}

#[test]
fn full_width_and_case_in_narrative() {
    let es = [entry(1, "2024-03-21", dec!(-1), "B", None, "用途：ｖ－００１２拨付", EntryKind::Transfer)];
    let rs = [record(10, "V-0012", "2024-03-21", dec!(-1), None, None)];
    let out = match_account("A", &es, &rs, &params("2024-03-21"));
    assert_eq!(out.matches.len(), 1, "{out:?}");
}

#[test]
fn outcome_does_not_depend_on_input_order() {
    let mut es: Vec<BankItem> = (0..40)
        .map(|i| {
            entry(
                i,
                &format!("2024-03-{:02}", 1 + i % 20),
                Decimal::from(-(100 + i % 7)),
                &format!("B{i}"),
                Some("9"),
                &format!("pay V{:04}", i % 13),
                EntryKind::Transfer,
            )
        })
        .collect();
    let mut rs: Vec<BookItem> = (0..30)
        .map(|i| {
            record(
                100 + i,
                &format!("V{:04}", i % 17),
                &format!("2024-03-{:02}", 1 + i % 18),
                Decimal::from(-(100 + i % 5)),
                Some("9"),
                None,
            )
        })
        .collect();
    let base = match_account("A", &es, &rs, &params("2024-03-25"));
    assert_partition(&base, &es, &rs);
    for round in 0..5 {
        // A fixed shuffle: rotate and reverse.
        es.rotate_left(7 + round);
        rs.reverse();
        rs.rotate_left(3);
        let again = match_account("A", &es, &rs, &params("2024-03-25"));
        assert_eq!(again, base, "round {round}");
    }
}

/// A batch debit with no batch reference: its item details name the vouchers (end-to-end
/// ids). Every item must name an open record of its amount; one unknown item and the debit
/// is not paired by its items.
#[test]
fn batch_by_item_details_alone() {
    let es = [entry(1, "2024-03-11", dec!(-300), "B1", None, "代发", EntryKind::Batch)];
    let rs = [
        record(10, "DF-0001", "2024-03-11", dec!(-100), None, None),
        record(11, "DF-0002", "2024-03-11", dec!(-200), None, None),
    ];
    let line = |r: &str, a| BatchLine { reference: r.into(), amount: a };
    let run = |lines: Vec<BatchLine>| {
        let details = [BatchDetail { entry_id: 1, lines }];
        let input = Input { entries: &es, records: &rs, batch_details: &details };
        match_with("A", &input, &RuleSet::default(), &params("2024-03-20"))
    };
    let out = run(vec![line("DF-0001", dec!(-100)), line("DF-0002", dec!(-200))]);
    assert_eq!(out.matches.len(), 1, "{out:#?}");
    assert_eq!((out.matches[0].rule, out.matches[0].records.clone()), (Rule::Batch, vec![10, 11]));
    assert!(
        out.matches[0].detail.contains("name vouchers DF-0001, DF-0002 by end-to-end id"),
        "{}",
        out.matches[0].detail
    );
    assert_partition(&out, &es, &rs);
    // One item names a voucher the books do not hold.
    let out = run(vec![line("DF-0001", dec!(-100)), line("DF-0009", dec!(-200))]);
    assert!(out.matches.is_empty(), "{out:#?}");
    // An item's amount differs from its voucher's.
    let out = run(vec![line("DF-0001", dec!(-150)), line("DF-0002", dec!(-150))]);
    assert!(out.matches.is_empty(), "{out:#?}");
}
