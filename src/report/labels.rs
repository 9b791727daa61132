//! The words of the people-facing reports (XLSX, HTML) in Chinese (default) and English
//! (`[report] language = "en"`). Machine reports (CSV, JSON) keep their stable English
//! column names and codes whatever the setting.

use crate::discrepancy::Kind;
use serde::Deserialize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// Every fixed text of the XLSX and HTML reports, one field per use.
pub struct Labels {
    pub title: &'static str,
    pub as_of: &'static str,
    // sheet names (Excel: at most 31 characters, none of []:*?/\)
    pub sheet_summary: &'static str,
    pub sheet_open: &'static str,
    pub sheet_matched: &'static str,
    pub sheet_reconciliation: &'static str,
    pub sheet_interest: &'static str,
    // columns
    pub account_no: &'static str,
    pub account_name: &'static str,
    pub bank: &'static str,
    pub currency: &'static str,
    pub entries: &'static str,
    pub matched_entries: &'static str,
    pub book_records: &'static str,
    pub matched_records: &'static str,
    pub open_total: &'static str,
    pub bank_balance_date: &'static str,
    pub bank_balance: &'static str,
    pub book_balance: &'static str,
    pub type_zh: &'static str,
    pub type_en: &'static str,
    pub date: &'static str,
    pub amount: &'static str,
    pub expected_amount: &'static str,
    pub bank_ref: &'static str,
    pub voucher_no: &'static str,
    pub counterparty: &'static str,
    pub narrative: &'static str,
    pub age_days: &'static str,
    pub rule: &'static str,
    pub reason: &'static str,
    pub action: &'static str,
    pub bank_date: &'static str,
    pub bank_amount: &'static str,
    pub book_date: &'static str,
    pub book_amount: &'static str,
    pub credit_date: &'static str,
    pub window_from: &'static str,
    pub window_to: &'static str,
    pub product: &'static str,
    pub expected_interest: &'static str,
    pub credited: &'static str,
    pub difference: &'static str,
    pub gain: &'static str,
    pub status: &'static str,
    pub none: &'static str,
    // 运行情况: the run's batches and what went wrong
    pub sheet_run: &'static str,
    pub run_what: &'static str,
    pub run_object: &'static str,
    pub run_batch: &'static str,
    pub run_book_error: &'static str,
    /// A voucher that left the books (作废, 红字冲销, missing from a full export).
    pub run_book_withdrawn: &'static str,
    pub run_warning: &'static str,
    pub run_missing: &'static str,
    pub run_deadline: &'static str,
    pub run_state: &'static str,
    pub run_detail: &'static str,
    // 银行存款余额调节表
    pub rec_item: &'static str,
    pub rec_reference: &'static str,
    pub rec_amount: &'static str,
    pub rec_bank_side: &'static str,
    pub rec_book_side: &'static str,
    pub rec_bank_balance: &'static str,
    pub rec_book_balance: &'static str,
    pub rec_books_in: &'static str,
    pub rec_books_out: &'static str,
    pub rec_bank_in: &'static str,
    pub rec_bank_out: &'static str,
    pub rec_adjusted: &'static str,
    pub rec_difference: &'static str,
    pub rec_agrees: &'static str,
    pub rec_disagrees: &'static str,
    pub rec_unavailable: &'static str,
}

pub const ZH: Labels = Labels {
    title: "资金对账报告",
    as_of: "截至",
    sheet_summary: "汇总",
    sheet_open: "差异明细",
    sheet_matched: "已匹配",
    sheet_reconciliation: "银行存款余额调节表",
    sheet_interest: "利息核对",
    account_no: "账号",
    account_name: "户名",
    bank: "银行",
    currency: "币种",
    entries: "银行流水笔数",
    matched_entries: "已匹配流水",
    book_records: "账面记录笔数",
    matched_records: "已匹配记录",
    open_total: "未达/差异合计",
    bank_balance_date: "对账单日期",
    bank_balance: "银行对账单余额",
    book_balance: "企业账面余额",
    type_zh: "类型(中文)",
    type_en: "类型(英文)",
    date: "日期",
    amount: "银行金额",
    expected_amount: "账面/应有金额",
    bank_ref: "银行流水号",
    voucher_no: "凭证号",
    counterparty: "对方户名",
    narrative: "摘要/用途",
    age_days: "账龄(天)",
    rule: "规则",
    reason: "原因",
    action: "建议处理",
    bank_date: "银行记账日",
    bank_amount: "银行金额",
    book_date: "记账日期",
    book_amount: "账面金额",
    credit_date: "结息日",
    window_from: "计息期起",
    window_to: "计息期止",
    product: "积数",
    expected_interest: "应计利息",
    credited: "实收利息",
    difference: "差额",
    gain: "协议增收",
    status: "核对结果",
    none: "无",
    sheet_run: "运行情况",
    run_what: "类别",
    run_object: "对象",
    run_batch: "批次",
    run_book_error: "账簿导入错误",
    run_book_withdrawn: "凭证已撤销",
    run_warning: "存款协议提示",
    run_missing: "对账单未到",
    run_deadline: "截止时间",
    run_state: "状态",
    run_detail: "说明",
    rec_item: "项目",
    rec_reference: "流水号/凭证号",
    rec_amount: "金额",
    rec_bank_side: "银行对账单",
    rec_book_side: "企业银行存款日记账",
    rec_bank_balance: "银行对账单余额",
    rec_book_balance: "企业账面余额",
    rec_books_in: "加：企业已收、银行未收",
    rec_books_out: "减：企业已付、银行未付",
    rec_bank_in: "加：银行已收、企业未收",
    rec_bank_out: "减：银行已付、企业未付",
    rec_adjusted: "调节后的存款余额",
    rec_difference: "差额",
    rec_agrees: "调节后余额相符",
    rec_disagrees: "调节后余额不符",
    rec_unavailable: "未配置账面期初余额 (book_opening) 或无对账单，不能编制调节表",
};

pub const EN: Labels = Labels {
    title: "Fund reconciliation report",
    as_of: "as of",
    sheet_summary: "Summary",
    sheet_open: "Open items",
    sheet_matched: "Matched",
    sheet_reconciliation: "Bank reconciliation",
    sheet_interest: "Interest check",
    account_no: "Account",
    account_name: "Name",
    bank: "Bank",
    currency: "Currency",
    entries: "Bank entries",
    matched_entries: "Matched entries",
    book_records: "Book records",
    matched_records: "Matched records",
    open_total: "Open items",
    bank_balance_date: "Statement date",
    bank_balance: "Bank statement balance",
    book_balance: "Book balance",
    type_zh: "Type (Chinese)",
    type_en: "Type",
    date: "Date",
    amount: "Bank amount",
    expected_amount: "Book / expected amount",
    bank_ref: "Bank reference",
    voucher_no: "Voucher",
    counterparty: "Counterparty",
    narrative: "Narrative / purpose",
    age_days: "Age (days)",
    rule: "Rule",
    reason: "Reason",
    action: "Suggested action",
    bank_date: "Bank date",
    bank_amount: "Bank amount",
    book_date: "Book date",
    book_amount: "Book amount",
    credit_date: "Credit date",
    window_from: "Window from",
    window_to: "Window to",
    product: "Balance-days (积数)",
    expected_interest: "Expected",
    credited: "Credited",
    difference: "Difference",
    gain: "Gain over demand rate",
    status: "Result",
    none: "none",
    sheet_run: "Run",
    run_what: "What",
    run_object: "Object",
    run_batch: "Batch",
    run_book_error: "Book import error",
    run_book_withdrawn: "Voucher withdrawn",
    run_warning: "Deposit agreement warning",
    run_missing: "Statement missing",
    run_deadline: "deadline",
    run_state: "State",
    run_detail: "Details",
    rec_item: "Item",
    rec_reference: "Reference",
    rec_amount: "Amount",
    rec_bank_side: "Bank statement",
    rec_book_side: "Books (cash ledger)",
    rec_bank_balance: "Bank statement balance",
    rec_book_balance: "Book balance",
    rec_books_in: "Add: received in books, not by bank",
    rec_books_out: "Less: paid in books, not by bank",
    rec_bank_in: "Add: received by bank, not in books",
    rec_bank_out: "Less: paid by bank, not in books",
    rec_adjusted: "Adjusted balance",
    rec_difference: "Difference",
    rec_agrees: "adjusted balances agree",
    rec_disagrees: "adjusted balances differ",
    rec_unavailable: "no opening book balance (book_opening) or no statement: no reconciliation",
};

impl Lang {
    pub fn labels(self) -> &'static Labels {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// A discrepancy type in this language.
    pub fn kind(self, k: Kind) -> &'static str {
        match self {
            Lang::Zh => k.label_zh(),
            Lang::En => kind_en(k),
        }
    }

    /// What a person does about an open item of this type.
    pub fn action(self, k: Kind) -> &'static str {
        let (zh, en) = action(k);
        if self == Lang::Zh { zh } else { en }
    }

    /// A batch state (`done`, `failed`, `running`…) or a missing statement's status
    /// (`late`, `due`); unknown words go through as they are.
    pub fn state(self, s: &str) -> String {
        let zh = match s {
            "done" => "完成",
            "failed" => "失败",
            "running" => "运行中",
            "pending" => "待运行",
            "late" => "逾期未到",
            "due" => "未到期",
            _ => s,
        };
        match self {
            Lang::Zh => zh.to_string(),
            Lang::En => s.replace('_', " "),
        }
    }

    /// An interest check status (`equal`, `discrepancy`, `not_checked`).
    pub fn interest_status(self, s: &str) -> &'static str {
        match (self, s) {
            (Lang::Zh, "equal") => "相符",
            (Lang::Zh, "discrepancy") => "不符",
            (Lang::Zh, _) => "未核对",
            (Lang::En, "equal") => "equal",
            (Lang::En, "discrepancy") => "differs",
            (Lang::En, _) => "not checked",
        }
    }
}

/// English label of a discrepancy type (beside `Kind::label_zh`).
pub fn kind_en(k: Kind) -> &'static str {
    match k {
        Kind::MissingInBank => "Missing in bank",
        Kind::InTransit => "In transit",
        Kind::MissingInBooks => "Missing in books",
        Kind::AmountMismatch => "Amount mismatch",
        Kind::ReturnedPayment => "Returned payment",
        Kind::BankFee => "Bank fee",
        Kind::InterestCredit => "Interest credit",
        Kind::DuplicateEntry => "Duplicate entry",
        Kind::BalanceBreak => "Balance break",
        Kind::ArithmeticError => "Statement does not add up",
    }
}

fn action(k: Kind) -> (&'static str, &'static str) {
    match k {
        Kind::MissingInBank => (
            "向银行查询该笔是否已执行；未执行的核实指令后重新提交",
            "Ask the bank whether the payment was executed; if not, check the instruction and resubmit",
        ),
        Kind::InTransit => (
            "在途，等待银行入账；超过期限仍未到账再查询",
            "In transit: wait for the bank to post it; follow up if still open after the window",
        ),
        Kind::MissingInBooks => {
            ("取得银行回单，查明来源后补记账", "Get the bank advice, trace the origin and record it in the books")
        }
        Kind::AmountMismatch => (
            "核对凭证与银行回单金额，更正错误一方",
            "Compare the voucher with the bank advice and correct the wrong side",
        ),
        Kind::ReturnedPayment => (
            "查明退汇原因，更正收款人信息后重新支付，并冲回原记账",
            "Find the return reason, correct the payee details, pay again and reverse the booking",
        ),
        Kind::BankFee => ("取得手续费回单并入账", "Record the fee from the bank's advice"),
        Kind::InterestCredit => (
            "按存款协议核对结息，差额向银行查询",
            "Check the credit against the deposit agreement; query the bank about any difference",
        ),
        Kind::DuplicateEntry => ("请银行冲正重复记账", "Ask the bank to reverse the duplicate posting"),
        Kind::BalanceBreak => (
            "向银行索取缺失或更正的对账单，核对余额",
            "Ask the bank for the missing or corrected statement and check the balances",
        ),
        Kind::ArithmeticError => ("请银行重发对账单", "Ask the bank to resend the statement"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_both_labels_and_an_action() {
        for k in Kind::ALL {
            for l in [Lang::Zh, Lang::En] {
                assert!(!l.kind(k).is_empty() && !l.action(k).is_empty(), "{k:?}");
            }
            assert_ne!(Lang::Zh.kind(k), Lang::En.kind(k));
        }
    }

    #[test]
    fn sheet_names_are_valid_in_excel() {
        for l in [&ZH, &EN] {
            for s in
                [l.sheet_summary, l.sheet_open, l.sheet_matched, l.sheet_reconciliation, l.sheet_interest, l.sheet_run]
            {
                assert!(s.chars().count() <= 31 && !s.contains(['[', ']', ':', '*', '?', '/', '\\']), "{s}");
            }
        }
    }
}
