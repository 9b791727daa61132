//! What a bank says happened: statements (对账单) and their entries.
//!
//! These types are the single output of every parser (`parse::*`) and the input of
//! validation, storage and matching. They hold no database ids: identity of an entry is
//! decided later (`entry_key`), from the bank reference plus an occurrence number.

use crate::money::{Currency, Money};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// A booked balance on a date. The amount is signed: negative means overdrawn (debit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    pub date: NaiveDate,
    pub amount: Money,
}

/// One statement of one account as the bank sent it (one MT940 `:20:`…`:62:` block, one
/// camt `Stmt`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The account exactly as written in the file (`:25:`, `Acct/Id`): mapping to a
    /// configured account happens in `validate::accounts`, never here.
    pub account: String,
    pub currency: Currency,
    /// Statement number / sequence (`:28C:`, `ElctrncSeqNb` or `LglSeqNb`).
    pub sequence: Option<String>,
    /// The bank's id for the statement (`:20:`, `Stmt/Id`).
    pub statement_id: Option<String>,
    pub opening: Option<Balance>,
    pub closing: Option<Balance>,
    pub entries: Vec<Entry>,
    /// Where the statement starts in its file (`line 12`, `/Document/BkToCstmrStmt/Stmt[2]`),
    /// so that errors found after parsing can still point at the source.
    pub location: String,
    /// Problems that do not stop the import because the statement is still what the bank
    /// said (a running-balance break in a bank export): each becomes an `arithmetic_error`
    /// discrepancy naming its place. Nothing the bank sent is hidden or dropped.
    pub flags: Vec<String>,
}

impl Statement {
    /// Σ entries, in the statement currency. `None` only on overflow, which the parsers'
    /// limits make impossible in practice.
    pub fn entry_sum(&self) -> Option<Decimal> {
        self.entries.iter().try_fold(Decimal::ZERO, |acc, e| acc.checked_add(e.amount.amount))
    }
}

/// What kind of movement an entry is, as far as the bank's own codes tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An ordinary transfer in or out.
    Transfer,
    /// 手续费: a bank charge (`NCHG`, BkTxCd `CHRG`, "手续费").
    Fee,
    /// 结息: an interest credit or debit (`NINT`, BkTxCd `INTR`, "结息").
    Interest,
    /// 退汇: a payment coming back (`NRTI`, `RtrInf`, "退汇").
    Return,
    /// 冲正: a reversal of an earlier posting (`RC`/`RD`, `RvslInd`).
    Reversal,
    /// 代发: one entry for a batch of payments.
    Batch,
}

impl EntryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::Transfer => "transfer",
            EntryKind::Fee => "fee",
            EntryKind::Interest => "interest",
            EntryKind::Return => "return",
            EntryKind::Reversal => "reversal",
            EntryKind::Batch => "batch",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        Some(match s {
            "transfer" => EntryKind::Transfer,
            "fee" => EntryKind::Fee,
            "interest" => EntryKind::Interest,
            "return" => EntryKind::Return,
            "reversal" => EntryKind::Reversal,
            "batch" => EntryKind::Batch,
            _ => return None,
        })
    }
}

/// One line of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    /// Signed: credits (money in) positive, debits negative.
    pub amount: Money,
    /// The bank's own reference (流水号, `//…` in `:61:`, `AcctSvcrRef`).
    pub bank_ref: Option<String>,
    /// The account owner's reference (`:61:` customer ref, `InstrId`/`PmtInfId`).
    pub customer_ref: Option<String>,
    pub end_to_end_id: Option<String>,
    pub counterparty_account: Option<String>,
    pub counterparty_name: Option<String>,
    pub counterparty_bank: Option<String>,
    /// Free text: `:86:`, `AddtlNtryInf`, `RmtInf/Ustrd` (用途/附言/摘要), joined with spaces.
    pub narrative: String,
    pub kind: EntryKind,
    /// The bank's transaction code as sent (`NTRF`, `PMNT/RCDT/ESCT`…).
    pub type_code: Option<String>,
    /// Return reason code (`RtrInf/Rsn/Cd`), if the bank gave one.
    pub return_reason: Option<String>,
    /// Batch details (代发) when one entry stands for several transactions.
    pub batch: Option<BatchDetails>,
    /// Where the entry is in its file: `line 17` or an XML path.
    pub location: String,
}

/// The parts of a batch entry (`NtryDtls/Btch` with several `TxDtls`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BatchDetails {
    pub count: Option<u32>,
    pub total: Option<Decimal>,
    pub items: Vec<BatchItem>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchItem {
    /// Unsigned amount of the item, in the entry's currency.
    pub amount: Option<Decimal>,
    pub end_to_end_id: Option<String>,
    pub counterparty_account: Option<String>,
    pub counterparty_name: Option<String>,
    pub narrative: Option<String>,
}

/// Classifies text that carries no bank code: Chinese narratives say what the entry is.
/// Used by parsers after the bank's codes, so a code always wins over text.
pub fn kind_from_text(text: &str) -> Option<EntryKind> {
    if text.contains("冲正") || text.contains("冲账") || text.contains("冲帐") {
        Some(EntryKind::Reversal)
    } else if text.contains("退汇") || text.contains("退票") || text.contains("代发余额退款") {
        Some(EntryKind::Return)
    } else if text.contains("结息") || text.contains("利息") {
        Some(EntryKind::Interest)
    } else if text.contains("手续费") || text.contains("服务费") || text.contains("工本费") {
        Some(EntryKind::Fee)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in [
            EntryKind::Transfer,
            EntryKind::Fee,
            EntryKind::Interest,
            EntryKind::Return,
            EntryKind::Reversal,
            EntryKind::Batch,
        ] {
            assert_eq!(EntryKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EntryKind::parse("nonsense"), None);
    }

    #[test]
    fn text_classification() {
        assert_eq!(kind_from_text("活期结息 20231221-20240320"), Some(EntryKind::Interest));
        assert_eq!(kind_from_text("跨行汇款手续费"), Some(EntryKind::Fee));
        assert_eq!(kind_from_text("退汇 原凭证 V1"), Some(EntryKind::Return));
        assert_eq!(kind_from_text("冲正"), Some(EntryKind::Reversal));
        assert_eq!(kind_from_text("拨付 支出户"), None);
    }
}
