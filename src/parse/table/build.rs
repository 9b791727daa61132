//! Records to statements (grouped by account and currency, put in date order, checked
//! against the running balance) and to book records.

use super::rows::Rec;
use crate::book::{BookRecord, Direction};
use crate::money::{Money, canonical};
use crate::parse::{Limits, Location, ParseError};
use crate::statement::{Balance, Entry, Evidence, Scheme, Statement, decide, kinds};
use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;

/// Where the records of one group came from (for messages).
pub(crate) struct Origin<'a> {
    pub file: &'a str,
    /// `[sheet "明细"]` appended to messages of spreadsheet rows.
    pub suffix: String,
    /// Rows are spreadsheet rows (`row 7`), not text lines (`line 7`).
    pub spreadsheet: bool,
    /// The layout's `bank`: which bank's words and codes apply (`formats/kinds/`).
    pub bank: Option<&'a str>,
}

impl Origin<'_> {
    fn err(&self, line: u64, field: Option<&str>, message: String) -> ParseError {
        ParseError::new(self.file, Location::Line(line), field, format!("{message}{}", self.suffix))
    }

    fn place(&self, line: u64) -> String {
        if self.spreadsheet { format!("row {line}") } else { format!("line {line}") }
    }
}

/// Groups records into statements: one per (account, currency), in order of first
/// appearance.
pub(crate) fn statements(origin: &Origin<'_>, recs: Vec<Rec>, limits: &Limits) -> Result<Vec<Statement>, ParseError> {
    let mut groups: Vec<((String, crate::money::Currency), Vec<Rec>)> = Vec::new();
    for r in recs {
        let Some(account) = r.account.clone() else {
            return Err(origin.err(
                r.line,
                Some("account"),
                "no account number: the file has no 账号/账户/卡号 metadata row and no account column, and no account was \
                 given for this file (layout `defaults.account` or the channel's account)"
                    .into(),
            ));
        };
        let key = (account, r.currency);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(r),
            None => {
                if groups.len() >= limits.max_statements {
                    return Err(origin.err(r.line, None, format!("more than {} statements", limits.max_statements)));
                }
                groups.push((key, vec![r]));
            }
        }
    }
    groups.into_iter().map(|((account, currency), recs)| statement(origin, account, currency, recs)).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Ascending,
    Descending,
    Mixed,
}

fn sort_key(r: &Rec) -> (NaiveDate, Option<NaiveDate>, NaiveTime) {
    (r.date, r.other_date, r.time.unwrap_or(NaiveTime::MIN))
}

fn date_order(recs: &[Rec]) -> Order {
    let (mut up, mut down) = (false, false);
    for w in recs.windows(2) {
        match sort_key(&w[0]).cmp(&sort_key(&w[1])) {
            std::cmp::Ordering::Less => up = true,
            std::cmp::Ordering::Greater => down = true,
            std::cmp::Ordering::Equal => {}
        }
    }
    match (up, down) {
        (true, true) => Order::Mixed,
        (false, true) => Order::Descending,
        _ => Order::Ascending,
    }
}

/// A break in the running balance: at `recs[idx]`.
struct Break {
    idx: usize,
    prev_idx: usize,
    prev: Decimal,
    moved: Decimal,
    rows: usize,
    stated: Decimal,
}

/// `prev + credit − debit = balance` over the rows in the given order; rows without a
/// balance carry their movement to the next row that has one.
fn chain<'a>(recs: impl Iterator<Item = (usize, &'a Rec)>) -> Result<(), Break> {
    let mut prev: Option<(usize, Decimal)> = None;
    let mut moved = Decimal::ZERO;
    let mut rows = 0usize;
    for (i, r) in recs {
        moved += r.amount;
        rows += 1;
        if let Some(b) = r.balance {
            if let Some((pi, p)) = prev
                && p + moved != b
            {
                return Err(Break { idx: i, prev_idx: pi, prev: p, moved, rows, stated: b });
            }
            prev = Some((i, b));
            moved = Decimal::ZERO;
            rows = 0;
        }
    }
    Ok(())
}

/// At most this many running-balance breaks are listed per statement (then the file is
/// plainly not a statement of this account).
const MAX_FLAGS: usize = 100;

fn statement(
    origin: &Origin<'_>,
    account: String,
    currency: crate::money::Currency,
    mut recs: Vec<Rec>,
) -> Result<Statement, ParseError> {
    let has_balance = recs.iter().any(|r| r.balance.is_some());
    let dates = date_order(&recs);
    let order = if has_balance {
        let asc = chain(recs.iter().enumerate()).is_ok();
        let desc = chain(recs.iter().enumerate().rev()).is_ok();
        match (asc, desc) {
            (true, false) => Order::Ascending,
            (false, true) => Order::Descending,
            _ if dates == Order::Descending => Order::Descending,
            _ => Order::Ascending,
        }
    } else {
        dates
    };
    if order == Order::Descending {
        recs.reverse();
    }
    // Every running-balance break is flagged (not refused): the statement is what the bank
    // sent, and the issue wants statements that do not balance parsed and flagged. The
    // chain restarts from the balance the file states, so each break is reported once.
    let mut flags = Vec::new();
    let mut from = 0usize;
    while has_balance && from < recs.len() && flags.len() < MAX_FLAGS {
        let Err(b) = chain(recs.iter().enumerate().skip(from)) else { break };
        let r = &recs[b.idx];
        let p = &recs[b.prev_idx];
        let movement = if b.rows == 1 {
            let (credit, debit) =
                if r.amount.is_sign_negative() { (Decimal::ZERO, -r.amount) } else { (r.amount, Decimal::ZERO) };
            format!("+ credit {} − debit {}", canonical(credit), canonical(debit))
        } else {
            format!("+ net movement {} of {} rows", canonical(b.moved), b.rows)
        };
        let newest = if order == Order::Descending { " (rows are newest first; checked oldest first)" } else { "" };
        flags.push(format!(
            "arithmetic_error: {} at {}: previous balance {} ({}) {movement} = {}, but the balance column says {}{newest}{}",
            origin.file,
            origin.place(r.line),
            canonical(b.prev),
            origin.place(p.line),
            canonical(b.prev + b.moved),
            canonical(b.stated),
            origin.suffix,
        ));
        from = b.idx;
    }
    let (opening, closing) = if has_balance {
        let mut before = Decimal::ZERO;
        let mut opening = None;
        for r in &recs {
            before += r.amount;
            if let Some(b) = r.balance {
                opening = Some(b - before);
                break;
            }
        }
        let mut after = Decimal::ZERO;
        let mut closing = None;
        for r in recs.iter().rev() {
            if let Some(b) = r.balance {
                closing = Some(b + after);
                break;
            }
            after += r.amount;
        }
        let first = recs.first().map(|r| r.date);
        let last = recs.last().map(|r| r.date);
        (
            opening.zip(first).map(|(a, d)| Balance { date: d, amount: Money::new(a, currency) }),
            closing.zip(last).map(|(a, d)| Balance { date: d, amount: Money::new(a, currency) }),
        )
    } else {
        (None, None)
    };
    let location = recs
        .iter()
        .map(|r| r.line)
        .min()
        .and_then(|l| recs.iter().find(|r| r.line == l))
        .map(|r| r.location.clone())
        .unwrap_or_default();
    let entries = recs
        .into_iter()
        .map(|r| {
            let bank = origin.bank;
            let code = r.type_code.as_deref().and_then(|c| kinds().code_kind(Scheme::Table, c, bank));
            let text = match r.type_code.as_deref() {
                Some(t) => format!("{} {t}", r.text),
                None => r.text.clone(),
            };
            let kind = decide(&Evidence { code, text: &text, bank, ..Evidence::default() });
            Entry {
                booking_date: r.date,
                value_date: r.value_date,
                amount: Money::new(r.amount, currency),
                bank_ref: r.bank_ref,
                customer_ref: r.customer_ref,
                end_to_end_id: r.end_to_end_id,
                counterparty_account: r.counterparty_account,
                counterparty_name: r.counterparty_name,
                counterparty_bank: r.counterparty_bank,
                narrative: r.text,
                kind,
                type_code: r.type_code,
                return_reason: None,
                batch: None,
                location: r.location,
            }
        })
        .collect();
    Ok(Statement { account, currency, sequence: None, statement_id: None, opening, closing, entries, location, flags })
}

/// Records of a book layout to book records (money in = receipt, positive).
pub(crate) fn books(origin: &Origin<'_>, recs: Vec<Rec>) -> Result<Vec<BookRecord>, ParseError> {
    recs.into_iter()
        .map(|r| {
            let Some(voucher_no) = r.voucher_no else {
                return Err(origin.err(r.line, Some("voucher_no"), "empty".into()));
            };
            let Some(account_no) = r.account else {
                return Err(origin.err(
                    r.line,
                    Some("account"),
                    "no account number: no account column or metadata row, and none was given for this file".into(),
                ));
            };
            if r.amount.normalize().scale() > 2 {
                return Err(origin.err(r.line, Some("amount"), format!("{} has fractions of a fen", r.amount)));
            }
            let void = crate::book::void_of(r.status.as_deref(), r.voids.as_deref(), &voucher_no)
                .map_err(|(f, m)| origin.err(r.line, Some(f), m))?;
            // A negating record (红字) keeps the sign it was written with; the store finds
            // the voucher it cancels in either direction.
            let direction = if r.amount.is_sign_negative() { Direction::Disbursement } else { Direction::Receipt };
            let amount = r.amount;
            Ok(BookRecord {
                voucher_no,
                account_no,
                date: r.date,
                amount: Money::new(amount, r.currency),
                direction,
                counterparty_account: r.counterparty_account,
                counterparty_name: r.counterparty_name,
                purpose: if r.text.is_empty() { None } else { Some(r.text) },
                batch_ref: r.batch_ref,
                void,
                location: r.location,
            })
        })
        .collect()
}
