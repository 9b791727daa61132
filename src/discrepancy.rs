//! What is open after matching: the discrepancy types of the stable report interface.

use chrono::NaiveDate;
use rust_decimal::Decimal;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A book record the bank has not executed although its window has passed.
    MissingInBank,
    /// A book record whose bank window had not passed when the statements end.
    InTransit,
    /// A bank entry with no book record.
    MissingInBooks,
    /// Same reference, other amount.
    AmountMismatch,
    /// 退汇: money that came back.
    ReturnedPayment,
    /// 手续费 the books do not hold.
    BankFee,
    /// 结息: handed to the interest check.
    InterestCredit,
    /// The bank posted the same thing twice.
    DuplicateEntry,
    /// A statement's opening balance is not the previous statement's closing balance.
    BalanceBreak,
    /// Opening + entries ≠ closing within one statement.
    ArithmeticError,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::MissingInBank,
        Kind::InTransit,
        Kind::MissingInBooks,
        Kind::AmountMismatch,
        Kind::ReturnedPayment,
        Kind::BankFee,
        Kind::InterestCredit,
        Kind::DuplicateEntry,
        Kind::BalanceBreak,
        Kind::ArithmeticError,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::MissingInBank => "missing_in_bank",
            Kind::InTransit => "in_transit",
            Kind::MissingInBooks => "missing_in_books",
            Kind::AmountMismatch => "amount_mismatch",
            Kind::ReturnedPayment => "returned_payment",
            Kind::BankFee => "bank_fee",
            Kind::InterestCredit => "interest_credit",
            Kind::DuplicateEntry => "duplicate_entry",
            Kind::BalanceBreak => "balance_break",
            Kind::ArithmeticError => "arithmetic_error",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Chinese label for people-facing output.
    pub fn label_zh(&self) -> &'static str {
        match self {
            Kind::MissingInBank => "企已记银未记",
            Kind::InTransit => "在途",
            Kind::MissingInBooks => "银已记企未记",
            Kind::AmountMismatch => "金额不符",
            Kind::ReturnedPayment => "退汇",
            Kind::BankFee => "手续费",
            Kind::InterestCredit => "结息",
            Kind::DuplicateEntry => "重复记账",
            Kind::BalanceBreak => "余额不连续",
            Kind::ArithmeticError => "对账单不平",
        }
    }
}

/// One open item. `entry`/`record`/`statement` are database ids: every number in a
/// report traces back to rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discrepancy {
    pub kind: Kind,
    pub account_no: String,
    pub entry: Option<i64>,
    pub record: Option<i64>,
    pub statement: Option<i64>,
    pub bank_ref: Option<String>,
    pub voucher_no: Option<String>,
    pub date: NaiveDate,
    pub amount: Option<Decimal>,
    pub expected: Option<Decimal>,
    /// The rule that decided this (`classify`, `statement_arithmetic`…).
    pub rule: String,
    pub detail: String,
}
