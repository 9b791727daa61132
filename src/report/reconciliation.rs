//! 银行存款余额调节表: the bank balance reconciliation statement of one account at one date.
//!
//! Book balance (银行存款日记账) and bank balance (对账单) side by side, each adjusted by
//! the outstanding items (未达账项) of the four classes; the adjusted balances must agree.
//! Every item is a discrepancy of the matching pass, so every number traces to entries
//! and records:
//! - 银收企未收 / 银付企未付 (bank recorded, books not): open bank entries
//!   (`missing_in_books`, `bank_fee`, `interest_credit`, `returned_payment`,
//!   `duplicate_entry`, and the bank side of an `amount_mismatch`), by sign;
//! - 企收银未收 / 企付银未付 (books recorded, bank not): open book records (`missing_in_bank`,
//!   `in_transit`, and the books side of an `amount_mismatch`), by sign.
//!
//! When the adjusted balances differ, the statement says by how much; the job reports that
//! as a discrepancy (`balance_break` of the statement as a whole).

use super::AccountResult;
use crate::discrepancy::Kind;
use crate::money::canonical;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Value, json};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub date: NaiveDate,
    pub reference: String,
    /// Positive: the size of the item (its class gives the direction).
    pub amount: Decimal,
    pub kind: Kind,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub account_no: String,
    pub name: String,
    pub date: NaiveDate,
    pub book_balance: Decimal,
    pub bank_balance: Decimal,
    /// 银收企未收
    pub bank_in: Vec<Item>,
    /// 银付企未付
    pub bank_out: Vec<Item>,
    /// 企收银未收
    pub books_in: Vec<Item>,
    /// 企付银未付
    pub books_out: Vec<Item>,
}

fn total(items: &[Item]) -> Decimal {
    items.iter().map(|i| i.amount).sum()
}

impl Statement {
    /// 调节后余额 on the books side: book + 银收企未收 − 银付企未付.
    pub fn adjusted_book(&self) -> Decimal {
        self.book_balance + total(&self.bank_in) - total(&self.bank_out)
    }
    /// 调节后余额 on the bank side: bank + 企收银未收 − 企付银未付.
    pub fn adjusted_bank(&self) -> Decimal {
        self.bank_balance + total(&self.books_in) - total(&self.books_out)
    }
    pub fn difference(&self) -> Decimal {
        self.adjusted_bank() - self.adjusted_book()
    }
}

/// The statement of an account at its bank closing date; `None` without a book balance
/// (configure the account's `book_opening`) or without any statement.
pub fn build(a: &AccountResult) -> Option<Statement> {
    let (date, bank_balance) = a.bank_closing?;
    let book_balance = a.book_balance?;
    let mut s = Statement {
        account_no: a.account_no.clone(),
        name: a.name.clone(),
        date,
        book_balance,
        bank_balance,
        bank_in: vec![],
        bank_out: vec![],
        books_in: vec![],
        books_out: vec![],
    };
    // A matched entry is in the books: never a 未达账项, whatever else is said of it (an
    // interest credit booked but short of the agreement).
    let matched: std::collections::HashSet<i64> = a
        .matches
        .iter()
        .filter(|m| m.rule != crate::matching::Rule::Return)
        .flat_map(|m| m.entries.iter().copied())
        .collect();
    for d in a.discrepancies.iter().filter(|d| d.date <= date) {
        if d.entry.is_some_and(|e| matched.contains(&e)) && d.record.is_none() {
            continue;
        }
        let bank_side = matches!(
            d.kind,
            Kind::MissingInBooks
                | Kind::BankFee
                | Kind::InterestCredit
                | Kind::ReturnedPayment
                | Kind::DuplicateEntry
                | Kind::AmountMismatch
        );
        let books_side = matches!(d.kind, Kind::MissingInBank | Kind::InTransit | Kind::AmountMismatch);
        if bank_side
            && d.entry.is_some()
            && let Some(x) = d.amount
        {
            let item = Item {
                date: d.date,
                reference: d.bank_ref.clone().unwrap_or_default(),
                amount: x.abs(),
                kind: d.kind,
                detail: d.detail.clone(),
            };
            if x.is_sign_negative() { s.bank_out.push(item) } else { s.bank_in.push(item) }
        }
        if books_side
            && d.record.is_some()
            && let Some(x) = d.expected
        {
            let item = Item {
                date: d.date,
                reference: d.voucher_no.clone().unwrap_or_default(),
                amount: x.abs(),
                kind: d.kind,
                detail: d.detail.clone(),
            };
            if x.is_sign_negative() { s.books_out.push(item) } else { s.books_in.push(item) }
        }
    }
    for v in [&mut s.bank_in, &mut s.bank_out, &mut s.books_in, &mut s.books_out] {
        v.sort_by(|x, y| (x.date, &x.reference).cmp(&(y.date, &y.reference)));
    }
    Some(s)
}

fn items_json(v: &[Item]) -> Value {
    json!({
        "total": canonical(total(v)),
        "items": v.iter().map(|i| json!({"date": i.date.to_string(), "reference": i.reference, "amount": canonical(i.amount), "type": i.kind.as_str(), "detail": i.detail})).collect::<Vec<_>>(),
    })
}

pub fn to_json(s: &Statement) -> Value {
    json!({
        "account_no": s.account_no,
        "name": s.name,
        "date": s.date.to_string(),
        "book_balance": canonical(s.book_balance),
        "bank_received_books_not": items_json(&s.bank_in),
        "bank_paid_books_not": items_json(&s.bank_out),
        "adjusted_book_balance": canonical(s.adjusted_book()),
        "bank_balance": canonical(s.bank_balance),
        "books_received_bank_not": items_json(&s.books_in),
        "books_paid_bank_not": items_json(&s.books_out),
        "adjusted_bank_balance": canonical(s.adjusted_bank()),
        "difference": canonical(s.difference()),
        "agrees": s.difference().is_zero(),
    })
}

/// CSV for Excel in the usual layout read top to bottom: one row per line of the
/// statement (`section,date,reference,amount,detail`), sections in Chinese. UTF-8 with a
/// BOM; the text columns (account, reference) are guarded against formula injection, the
/// date and amount columns are not (see `cell`).
pub fn to_csv(list: &[Statement]) -> Vec<u8> {
    let mut rows: Vec<[String; 6]> = Vec::new();
    for s in list {
        let mut row = |section: &str, date: String, reference: &str, amount: Decimal, detail: &str| {
            rows.push([
                s.account_no.clone(),
                section.to_string(),
                date,
                reference.to_string(),
                canonical(amount),
                detail.to_string(),
            ]);
        };
        let d = s.date.to_string();
        row("单位银行存款日记账余额", d.clone(), "", s.book_balance, "");
        for (label, v) in [("加: 银行已收、单位未收", &s.bank_in), ("减: 银行已付、单位未付", &s.bank_out)]
        {
            for i in v {
                row(label, i.date.to_string(), &i.reference, i.amount, i.kind.as_str());
            }
        }
        row("调节后余额 (单位)", d.clone(), "", s.adjusted_book(), "");
        row("银行对账单余额", d.clone(), "", s.bank_balance, "");
        for (label, v) in [("加: 单位已收、银行未收", &s.books_in), ("减: 单位已付、银行未付", &s.books_out)]
        {
            for i in v {
                row(label, i.date.to_string(), &i.reference, i.amount, i.kind.as_str());
            }
        }
        row("调节后余额 (银行)", d.clone(), "", s.adjusted_bank(), "");
        row("差额", d, "", s.difference(), if s.difference().is_zero() { "调节后余额相符" } else { "调节后余额不符" });
    }
    use super::cell::Col::{Number as N, Text as T};
    super::cell::csv_for_excel(
        &["account_no", "section", "date", "reference", "amount", "detail"],
        &[T, T, N, T, N, T],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discrepancy::Discrepancy;
    use rust_decimal::dec;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn item(kind: Kind, id: i64, on_bank: bool, amount: Decimal) -> Discrepancy {
        Discrepancy {
            kind,
            account_no: "4500".into(),
            entry: on_bank.then_some(id),
            record: (!on_bank).then_some(id),
            statement: None,
            bank_ref: on_bank.then(|| format!("B{id}")),
            voucher_no: (!on_bank).then(|| format!("V{id}")),
            date: d("2024-03-29"),
            amount: on_bank.then_some(amount),
            expected: (!on_bank).then_some(amount),
            rule: "classify".into(),
            detail: String::new(),
        }
    }

    fn account(book: Decimal, bank: Decimal, discrepancies: Vec<Discrepancy>) -> AccountResult {
        AccountResult {
            account_no: "4500".into(),
            name: "财政专户".into(),
            currency: "CNY".into(),
            bank: "boc".into(),
            entries: vec![],
            records: vec![],
            matches: vec![],
            discrepancies,
            bank_closing: Some((d("2024-03-31"), bank)),
            book_balance: Some(book),
            interest: vec![],
            as_of: d("2024-03-31"),
        }
    }

    /// TC-10 of the domain notes: ledger 300,000,000.00 + interest 70,777.78 + income
    /// 1,200,000.00 − bank-executed 拨付 5,000,000.00 = 296,270,777.78; statement
    /// 300,270,777.78 + 上级划入 in transit 8,000,000.00 − 拨付 not yet executed
    /// 12,000,000.00 = 296,270,777.78.
    #[test]
    fn tc10_adjusted_balances_agree() {
        let a = account(
            dec!(300000000.00),
            dec!(300270777.78),
            vec![
                item(Kind::InterestCredit, 1, true, dec!(70777.78)),
                item(Kind::MissingInBooks, 2, true, dec!(1200000.00)),
                item(Kind::MissingInBooks, 3, true, dec!(-5000000.00)),
                item(Kind::InTransit, 4, false, dec!(8000000.00)),
                item(Kind::InTransit, 5, false, dec!(-12000000.00)),
            ],
        );
        let s = build(&a).unwrap();
        assert_eq!((s.bank_in.len(), s.bank_out.len(), s.books_in.len(), s.books_out.len()), (2, 1, 1, 1));
        assert_eq!(s.adjusted_book(), dec!(296270777.78));
        assert_eq!(s.adjusted_bank(), dec!(296270777.78));
        assert_eq!(to_json(&s)["agrees"], true);
        let csv = String::from_utf8(to_csv(&[s])).unwrap();
        assert!(csv.starts_with('\u{feff}'), "BOM for Excel");
        assert!(csv.contains("4500,调节后余额 (单位),2024-03-31,,296270777.78,\r\n"), "{csv}");
        assert!(csv.contains("4500,差额,2024-03-31,,0.00,调节后余额相符\r\n"), "{csv}");
    }

    #[test]
    fn a_difference_is_stated() {
        // The books miss a 0.01 the bank has, and nothing explains it.
        let a = account(dec!(100.00), dec!(100.01), vec![]);
        let s = build(&a).unwrap();
        assert_eq!(s.difference(), dec!(0.01));
        assert_eq!(to_json(&s)["agrees"], false);
        // No book balance configured: no statement rather than a made-up one.
        let mut b = account(dec!(1), dec!(1), vec![]);
        b.book_balance = None;
        assert!(build(&b).is_none());
    }
}
