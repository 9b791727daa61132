//! Checks on what the bank sent, before and beside matching:
//! - arithmetic: opening + Σ entries = closing, per statement (`arithmetic_error`);
//! - chain: each statement's opening equals the previous statement's closing for the same
//!   account (`balance_break`).
//!
//! Neither stops an import: a statement that does not add up is still stored (it is what
//! the bank said) and flagged, so that nothing the bank sent is hidden.

use crate::discrepancy::{Discrepancy, Kind};
use crate::money::canonical;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The start of the flag a statement sent again with other content carries
/// (`store::redelivery`): reported as a `balance_break` of rule `changed_redelivery`, and
/// left out of the chain (the first delivery keeps its place there).
pub const CHANGED_FLAG: &str = "changed re-delivery";

/// A stored statement's balances, as validation needs them.
#[derive(Clone, Debug)]
pub struct StatementFacts {
    pub id: i64,
    pub account_no: String,
    pub file: String,
    pub location: String,
    pub sequence: Option<String>,
    pub opening: Option<(NaiveDate, Decimal)>,
    pub closing: Option<(NaiveDate, Decimal)>,
    pub entry_sum: Decimal,
    pub entry_count: i64,
    /// Problems the parser flagged without refusing the statement (running-balance breaks).
    pub flags: Vec<String>,
}

fn disc(
    kind: Kind,
    s: &StatementFacts,
    date: NaiveDate,
    amount: Decimal,
    expected: Decimal,
    rule: &str,
    detail: String,
) -> Discrepancy {
    Discrepancy {
        kind,
        account_no: s.account_no.clone(),
        entry: None,
        record: None,
        statement: Some(s.id),
        bank_ref: s.sequence.clone(),
        voucher_no: None,
        date,
        amount: Some(amount),
        expected: Some(expected),
        rule: rule.into(),
        detail,
    }
}

/// Both checks over one account's statements.
pub fn statements(stmts: &[StatementFacts]) -> Vec<Discrepancy> {
    let mut out = Vec::new();
    for s in stmts {
        for f in &s.flags {
            let date = s.closing.or(s.opening).map(|c| c.0).unwrap_or_default();
            // A statement sent again with other content (`store::redelivery`): named with
            // its file beside the first delivery the flag names.
            let (kind, rule, detail) = if f.starts_with(CHANGED_FLAG) {
                (Kind::BalanceBreak, "changed_redelivery", format!("{} {}: {f}", s.file, s.location))
            } else {
                (Kind::ArithmeticError, "running_balance", f.clone())
            };
            let mut d = disc(kind, s, date, Decimal::ZERO, Decimal::ZERO, rule, detail);
            (d.amount, d.expected) = (None, None);
            out.push(d);
        }
        if let (Some((_, open)), Some((cdate, close))) = (s.opening, s.closing) {
            let computed = open + s.entry_sum;
            if computed != close {
                out.push(disc(
                    Kind::ArithmeticError,
                    s,
                    cdate,
                    close,
                    computed,
                    "statement_arithmetic",
                    format!(
                        "{} {}: opening {} + {} entries ({}) = {}, but closing says {} (difference {})",
                        s.file,
                        s.location,
                        canonical(open),
                        s.entry_count,
                        canonical(s.entry_sum),
                        canonical(computed),
                        canonical(close),
                        canonical(close - computed)
                    ),
                ));
            }
        }
    }
    // Chain: order by closing date, then opening date, then id (files may arrive in any order).
    // A changed re-delivery is reported above; the first delivery keeps its place here.
    let mut ordered: Vec<&StatementFacts> = stmts
        .iter()
        .filter(|s| s.opening.is_some() && s.closing.is_some())
        .filter(|s| !s.flags.iter().any(|f| f.starts_with(CHANGED_FLAG)))
        .collect();
    ordered.sort_by_key(|s| (s.closing.map(|c| c.0), s.opening.map(|o| o.0), s.id));
    for pair in ordered.windows(2) {
        let (prev, cur) = (pair[0], pair[1]);
        let (Some((pdate, pclose)), Some((odate, open))) = (prev.closing, cur.opening) else { continue };
        if open != pclose {
            out.push(disc(
                Kind::BalanceBreak,
                cur,
                odate,
                open,
                pclose,
                "statement_chain",
                format!(
                    "{} {} opens at {} but the previous statement ({} {}) closed {} at {} (difference {})",
                    cur.file,
                    cur.location,
                    canonical(open),
                    prev.file,
                    prev.location,
                    pdate,
                    canonical(pclose),
                    canonical(open - pclose)
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn f(id: i64, open: Decimal, sum: Decimal, close: Decimal, day: u32) -> StatementFacts {
        let d = NaiveDate::from_ymd_opt(2024, 3, day).unwrap();
        StatementFacts {
            id,
            account_no: "4500".into(),
            file: format!("s{id}.sta"),
            location: "line 1".into(),
            sequence: Some(format!("{id}")),
            opening: Some((d.pred_opt().unwrap(), open)),
            closing: Some((d, close)),
            entry_sum: sum,
            entry_count: 1,
            flags: Vec::new(),
        }
    }

    #[test]
    fn good_chain_is_quiet() {
        let s = [f(1, dec!(100), dec!(-10), dec!(90), 21), f(2, dec!(90), dec!(5), dec!(95), 22)];
        assert!(statements(&s).is_empty());
    }

    #[test]
    fn arithmetic_and_break() {
        // Given out of order on purpose.
        let s = [f(2, dec!(91), dec!(5), dec!(96), 22), f(1, dec!(100), dec!(-10), dec!(90.01), 21)];
        let d = statements(&s);
        assert_eq!(d.len(), 2, "{d:#?}");
        assert_eq!(d[0].kind, Kind::ArithmeticError);
        assert_eq!(d[0].statement, Some(1));
        assert_eq!(
            d[0].detail,
            "s1.sta line 1: opening 100.00 + 1 entries (-10.00) = 90.00, but closing says 90.01 (difference 0.01)"
        );
        assert_eq!(d[1].kind, Kind::BalanceBreak);
        assert_eq!(d[1].statement, Some(2));
        assert_eq!(d[1].amount, Some(dec!(91)));
        assert_eq!(d[1].expected, Some(dec!(90.01)));
    }
}
