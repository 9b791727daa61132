//! What the fund's own books say: disbursement (拨付) and receipt (收款) records, and the
//! reader for the plain book CSV.
//!
//! Book CSV (UTF-8, optional BOM, header row, columns in any order):
//! `voucher_no,account_no,pay_date,amount,currency,counterparty_account,counterparty_name,purpose,batch_ref`.
//! Amounts are positive; the direction comes from the source (a disbursements file holds
//! money leaving the account, a receipts file money entering it).
//!
//! Voided vouchers (作废凭证): two optional columns withdraw a voucher from the books.
//! `status` holding a void word ([`VOID_WORDS`], e.g. `作废`) marks the row's own voucher
//! void; `voids` names the voucher a negating record (红字冲销) cancels, and the negating
//! record leaves the books with it (its amount may be written negative). A withdrawn
//! voucher is kept in the database, flagged with why, and no longer matched or counted.

use crate::money::{Currency, Money, parse_plain};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// 拨付: money out of the account.
    Disbursement,
    /// 收款: money into the account.
    Receipt,
}

impl Direction {
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Disbursement => "disbursement",
            Direction::Receipt => "receipt",
        }
    }
    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "disbursement" => Some(Direction::Disbursement),
            "receipt" => Some(Direction::Receipt),
            _ => None,
        }
    }
}

/// One voucher in the fund's books.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookRecord {
    pub voucher_no: String,
    pub account_no: String,
    pub date: NaiveDate,
    /// Signed from the account's point of view: receipts positive, disbursements negative,
    /// so that a record and the bank entry that executes it carry the same sign.
    pub amount: Money,
    pub direction: Direction,
    pub counterparty_account: Option<String>,
    pub counterparty_name: Option<String>,
    pub purpose: Option<String>,
    pub batch_ref: Option<String>,
    /// The row withdraws a voucher (作废 or a negating record); `None` for a live voucher.
    pub void: Option<Void>,
    /// `line N` in the source file.
    pub location: String,
}

/// How a book row withdraws a voucher from the books.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Void {
    /// The row's own voucher is void (a 作废 status).
    Voided,
    /// A negating record (红字冲销) that cancels the named voucher of the same account.
    Negates(String),
}

/// Status words that void a row's voucher (compared after trimming, ASCII case-insensitive).
pub const VOID_WORDS: [&str; 10] =
    ["作废", "已作废", "撤销", "已撤销", "作废凭证", "void", "voided", "cancelled", "canceled", "deleted"];
/// Status words of a live voucher.
pub const LIVE_WORDS: [&str; 9] = ["正常", "有效", "已审核", "已记账", "已过账", "normal", "valid", "posted", "active"];

/// What a row's `status` and `voids` cells say; an unknown status is an error (a word
/// this reader does not know must not decide whether money is in the books).
/// Errors name the field (`status` or `voids`).
pub fn void_of(
    status: Option<&str>,
    voids: Option<&str>,
    voucher_no: &str,
) -> Result<Option<Void>, (&'static str, String)> {
    let voided = match status.map(str::trim).filter(|s| !s.is_empty()) {
        None => false,
        Some(s) if VOID_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) => true,
        Some(s) if LIVE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) => false,
        Some(s) => {
            return Err((
                "status",
                format!(
                    "status {s:?} is not known: {} withdraw the voucher, {} or empty keep it",
                    VOID_WORDS.join("/"),
                    LIVE_WORDS.join("/")
                ),
            ));
        }
    };
    match voids.map(str::trim).filter(|s| !s.is_empty()) {
        // A negating record that is itself 作废 cancels nothing: only it leaves the books.
        Some(_) if voided => Ok(Some(Void::Voided)),
        Some(v) if v == voucher_no => {
            Err(("voids", format!("voucher {v:?} cannot void itself; use the status column")))
        }
        Some(v) => Ok(Some(Void::Negates(v.to_string()))),
        None if voided => Ok(Some(Void::Voided)),
        None => Ok(None),
    }
}

/// A book file could not be read: file, line, column and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookError {
    pub file: String,
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(field) = &self.field {
            write!(f, ": field {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for BookError {}

const COLUMNS: [&str; 11] = [
    "voucher_no",
    "account_no",
    "pay_date",
    "amount",
    "currency",
    "counterparty_account",
    "counterparty_name",
    "purpose",
    "batch_ref",
    "status",
    "voids",
];
/// Columns that must be present and non-empty on every row.
const REQUIRED: [&str; 5] = ["voucher_no", "account_no", "pay_date", "amount", "currency"];
/// No book file of a fund is anywhere near this; a larger one is an error, not a stall.
pub const MAX_BOOK_ROWS: usize = 10_000_000;

/// The 1-based column of `name` in a book CSV's header row, for messages.
pub fn column_of(bytes: &[u8], name: &str) -> Option<usize> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    rdr.headers().ok()?.iter().position(|h| h.trim() == name).map(|i| i + 1)
}

/// Reads a book CSV. All or nothing: one bad row fails the whole file.
pub fn read_csv(file: &str, bytes: &[u8], direction: Direction) -> Result<Vec<BookRecord>, BookError> {
    let err = |line: u64, field: Option<&str>, message: String| BookError {
        file: file.to_string(),
        line,
        field: field.map(str::to_string),
        message,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64;
        return Err(err(line, None, "not UTF-8 (save the book export as UTF-8 CSV)".into()));
    }
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(bytes);
    let headers = rdr.headers().map_err(|e| err(1, None, format!("cannot read the header row: {e}")))?.clone();
    let mut index = [usize::MAX; COLUMNS.len()];
    for (i, h) in headers.iter().enumerate() {
        if let Some(c) = COLUMNS.iter().position(|c| *c == h.trim()) {
            index[c] = i;
        }
    }
    for (c, name) in COLUMNS.iter().enumerate() {
        if index[c] == usize::MAX && REQUIRED.contains(name) {
            return Err(err(
                1,
                Some(name),
                format!("missing column (header has: {})", headers.iter().collect::<Vec<_>>().join(",")),
            ));
        }
    }
    let mut out = Vec::new();
    for row in rdr.records() {
        let row = row.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            err(line, None, format!("malformed CSV row: {e}"))
        })?;
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        if row.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if out.len() >= MAX_BOOK_ROWS {
            return Err(err(line, None, format!("more than {MAX_BOOK_ROWS} rows")));
        }
        // A NUL (or other control byte) is stored by SQLite and refused by PostgreSQL.
        if let Some((i, what)) =
            row.iter().enumerate().find_map(|(i, f)| crate::parse::check::control_character(f).map(|w| (i, w)))
        {
            return Err(err(line, Some(headers.get(i).unwrap_or("?").trim()), what));
        }
        let get = |c: usize| -> Option<&str> {
            let i = index[c];
            if i == usize::MAX { None } else { row.get(i).map(str::trim).filter(|s| !s.is_empty()) }
        };
        let need =
            |c: usize| -> Result<&str, BookError> { get(c).ok_or_else(|| err(line, Some(COLUMNS[c]), "empty".into())) };
        let voucher_no = need(0)?.to_string();
        let account_no = need(1)?;
        if account_no.contains(['e', 'E']) && account_no.contains('+') {
            return Err(err(
                line,
                Some("account_no"),
                format!("{account_no:?} looks like a number mangled by a spreadsheet; export account numbers as text"),
            ));
        }
        let date_s = need(2)?;
        let date = NaiveDate::parse_from_str(date_s, "%Y-%m-%d")
            .map_err(|_| err(line, Some("pay_date"), format!("{date_s:?} is not a date (YYYY-MM-DD)")))?;
        let amount_s = need(3)?;
        let amount = parse_plain(amount_s).ok_or_else(|| {
            err(line, Some("amount"), format!("{amount_s:?} is not an amount (plain decimal such as 1234.56)"))
        })?;
        let void = void_of(get(9), get(10), &voucher_no).map_err(|(f, m)| err(line, Some(f), m))?;
        // A negating record (红字) may carry its amount negative; it leaves the books anyway.
        let amount = if matches!(void, Some(Void::Negates(_))) { amount.abs() } else { amount };
        if amount <= Decimal::ZERO {
            return Err(err(
                line,
                Some("amount"),
                format!("{amount_s:?}: book amounts are positive; the file's kind gives the direction"),
            ));
        }
        if amount.scale() > 2 && amount.normalize().scale() > 2 {
            return Err(err(line, Some("amount"), format!("{amount_s:?} has fractions of a fen")));
        }
        let ccy_s = need(4)?;
        let currency = Currency::parse(ccy_s)
            .ok_or_else(|| err(line, Some("currency"), format!("{ccy_s:?} is not a currency code")))?;
        let signed = match direction {
            Direction::Disbursement => -amount,
            Direction::Receipt => amount,
        };
        out.push(BookRecord {
            voucher_no,
            account_no: account_no.to_string(),
            date,
            amount: Money::new(signed, currency),
            direction,
            counterparty_account: get(5).map(str::to_string),
            counterparty_name: get(6).map(str::to_string),
            purpose: get(7).map(str::to_string),
            batch_ref: get(8).map(str::to_string),
            void,
            location: format!("line {line}"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    const HEAD: &str =
        "voucher_no,account_no,pay_date,amount,currency,counterparty_account,counterparty_name,purpose,batch_ref\n";

    #[test]
    fn control_characters_are_refused_with_the_column() {
        let csv = format!("{HEAD}V1,3100019009000099999,2024-03-01,1.00,CNY,,,pay\0ment,\n");
        let e = read_csv("b.csv", csv.as_bytes(), Direction::Receipt).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (2, Some("purpose")));
        assert_eq!(e.message, "control character U+0000 at character 4 of the text");
    }

    #[test]
    fn reads_and_signs() {
        let csv = format!("{HEAD}V1,4500,2024-03-21,12000000.00,CNY,6222,支出户,拨付,\n");
        let r = read_csv("d.csv", csv.as_bytes(), Direction::Disbursement).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].amount.amount, dec!(-12000000.00));
        assert_eq!(r[0].counterparty_name.as_deref(), Some("支出户"));
        assert_eq!(r[0].batch_ref, None);
        assert_eq!(r[0].location, "line 2");
        let r = read_csv("r.csv", csv.as_bytes(), Direction::Receipt).unwrap();
        assert_eq!(r[0].amount.amount, dec!(12000000.00));
    }

    #[test]
    fn bad_rows_name_line_and_field() {
        let cases = [
            ("V1,4500,2024-02-30,1.00,CNY,,,,\n", "d.csv:2: field pay_date: \"2024-02-30\" is not a date (YYYY-MM-DD)"),
            (
                "V1,4500,2024-02-01,1.0x,CNY,,,,\n",
                "d.csv:2: field amount: \"1.0x\" is not an amount (plain decimal such as 1234.56)",
            ),
            (
                "V1,4500,2024-02-01,-1.00,CNY,,,,\n",
                "d.csv:2: field amount: \"-1.00\": book amounts are positive; the file's kind gives the direction",
            ),
            (
                "V1,6.22202E+18,2024-02-01,1.00,CNY,,,,\n",
                "d.csv:2: field account_no: \"6.22202E+18\" looks like a number mangled by a spreadsheet; export account numbers as text",
            ),
            (",4500,2024-02-01,1.00,CNY,,,,\n", "d.csv:2: field voucher_no: empty"),
            ("V1,4500,2024-02-01,1.00,RMB1,,,,\n", "d.csv:2: field currency: \"RMB1\" is not a currency code"),
            ("V1,4500,2024-02-01,1.001,CNY,,,,\n", "d.csv:2: field amount: \"1.001\" has fractions of a fen"),
        ];
        for (row, want) in cases {
            let csv = format!("{HEAD}{row}");
            let e = read_csv("d.csv", csv.as_bytes(), Direction::Disbursement).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
        let e = read_csv("d.csv", b"voucher_no,amount\nV1,1\n", Direction::Receipt).unwrap_err();
        assert!(e.to_string().starts_with("d.csv:1: field account_no: missing column"), "{e}");
        let e = read_csv("d.csv", b"voucher_no,account_no\n\xB2\xA6", Direction::Receipt).unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }
}
