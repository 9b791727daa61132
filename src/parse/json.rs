//! The stable JSON form of parsed statements (`fundrecon parse FILE --json`).
//!
//! Shape (documented in README, relied on by tests and outside tools):
//! `{"statements":[{"account","currency","sequence","opening":{"date","amount"},
//! "closing":{"date","amount"},"entries":[{"booking_date","value_date","amount","currency",
//! "bank_ref","customer_ref","end_to_end_id","counterparty_account","counterparty_name",
//! "narrative","kind"}]}]}`. Amounts are canonical decimal strings (credits positive),
//! dates ISO 8601, absent values `null`. Extra keys may be added; none is ever removed.

use crate::money::canonical;
use crate::statement::{Balance, Entry, Statement};
use serde_json::{Value, json};

pub fn statements(stmts: &[Statement]) -> Value {
    json!({ "statements": stmts.iter().map(statement).collect::<Vec<_>>() })
}

fn balance(b: &Option<Balance>) -> Value {
    match b {
        Some(b) => json!({ "date": b.date.to_string(), "amount": canonical(b.amount.amount) }),
        None => Value::Null,
    }
}

pub fn statement(s: &Statement) -> Value {
    json!({
        "account": s.account,
        "currency": s.currency.as_str(),
        "sequence": s.sequence,
        "statement_id": s.statement_id,
        "opening": balance(&s.opening),
        "closing": balance(&s.closing),
        "entries": s.entries.iter().map(entry).collect::<Vec<_>>(),
        "flags": s.flags,
    })
}

pub fn entry(e: &Entry) -> Value {
    let mut v = json!({
        "booking_date": e.booking_date.to_string(),
        "value_date": e.value_date.map(|d| d.to_string()),
        "amount": canonical(e.amount.amount),
        "currency": e.amount.currency.as_str(),
        "bank_ref": e.bank_ref,
        "customer_ref": e.customer_ref,
        "end_to_end_id": e.end_to_end_id,
        "counterparty_account": e.counterparty_account,
        "counterparty_name": e.counterparty_name,
        "counterparty_bank": e.counterparty_bank,
        "narrative": e.narrative,
        "kind": e.kind.as_str(),
        "type_code": e.type_code,
        "return_reason": e.return_reason,
    });
    if let Some(b) = &e.batch {
        v["batch"] = json!({
            "count": b.count,
            "total": b.total.map(canonical),
            "items": b.items.iter().map(|i| json!({
                "amount": i.amount.map(canonical),
                "end_to_end_id": i.end_to_end_id,
                "counterparty_account": i.counterparty_account,
                "counterparty_name": i.counterparty_name,
                "narrative": i.narrative,
            })).collect::<Vec<_>>(),
        });
    }
    v
}
