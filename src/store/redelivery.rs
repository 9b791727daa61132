//! The same statement delivered again (issue 15, point 17). A statement is recognised by
//! what it says ([`Statement::fingerprint`]), not by its file's bytes, and by its identity
//! (account, statement id or sequence, period):
//!
//! - same content as a statement stored before (in any file, also earlier in the same
//!   file): counted once. Nothing of it is stored again (no statement row, no entries), and
//!   the import reports it as "re-delivered, same content" naming both files;
//! - same identity, other content: stored (nothing the bank sent is dropped) with a flag
//!   that validation turns into a `balance_break` of rule `changed_redelivery` naming both
//!   files and what differs; it stays out of the balance chain (the first delivery keeps
//!   its place there, as its entries keep theirs), and the import reports it.
//!
//! The database ([`super::ImportTx::statement`]) and the in-memory ledger
//! ([`super::memory::Ledger`]) both decide through [`check`].

use crate::money::canonical;
use crate::statement::Statement;
use chrono::NaiveDate;
use rust_decimal::Decimal;

pub use crate::validate::CHANGED_FLAG;

/// What the check compares of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub fingerprint: String,
    pub statement_id: Option<String>,
    pub sequence: Option<String>,
    pub opening: Option<(NaiveDate, Decimal)>,
    pub closing: Option<(NaiveDate, Decimal)>,
    pub entry_count: i64,
}

impl Identity {
    pub fn of(s: &Statement) -> Identity {
        Identity {
            fingerprint: s.fingerprint(),
            statement_id: s.statement_id.clone(),
            sequence: s.sequence.clone(),
            opening: s.opening.as_ref().map(|b| (b.date, b.amount.amount)),
            closing: s.closing.as_ref().map(|b| (b.date, b.amount.amount)),
            entry_count: s.entries.len() as i64,
        }
    }

    /// The same statement of the bank (its id or sequence, and its period), whatever it
    /// says. A statement with neither id nor sequence has no identity beyond its content.
    fn same_statement(&self, o: &Identity) -> bool {
        (self.statement_id.is_some() || self.sequence.is_some())
            && self.statement_id == o.statement_id
            && self.sequence == o.sequence
            && self.opening.map(|x| x.0) == o.opening.map(|x| x.0)
            && self.closing.map(|x| x.0) == o.closing.map(|x| x.0)
    }
}

/// A statement stored before, for the check: its file (as first delivered), place, and
/// identity.
#[derive(Clone, Debug)]
pub struct Earlier {
    pub file: String,
    pub location: String,
    pub identity: Identity,
}

/// What to do with a statement delivered now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not seen before: store it.
    New,
    /// Same content as one stored before: store nothing; the line says so, naming both.
    Same(String),
    /// Same statement, other content: store it with this flag (it names the earlier one);
    /// the line for the import's report names both.
    Changed { flag: String, line: String },
}

/// Decides on statement `new` (at `location` in `file`) against the account's statements
/// stored before, in the order they were stored (the first that applies wins).
pub fn check(new: &Identity, file: &str, location: &str, earlier: &[Earlier]) -> Verdict {
    if let Some(e) = earlier.iter().find(|e| e.identity.fingerprint == new.fingerprint) {
        return Verdict::Same(format!(
            "{file} {location}: re-delivered, same content as {} {}: counted once",
            e.file, e.location
        ));
    }
    if let Some(e) = earlier.iter().find(|e| e.identity.same_statement(new)) {
        let what = differences(&e.identity, new);
        let name = new.statement_id.as_deref().or(new.sequence.as_deref()).unwrap_or("-");
        let flag = format!(
            "{CHANGED_FLAG} of statement {name}: first delivered in {} {}, sent again with other content ({what}); \
             both kept, the first one stays in the balance chain",
            e.file, e.location
        );
        let line = format!("{file} {location}: {flag}");
        return Verdict::Changed { flag, line };
    }
    Verdict::New
}

fn differences(a: &Identity, b: &Identity) -> String {
    let bal = |x: Option<(NaiveDate, Decimal)>| x.map(|(d, v)| format!("{d} {}", canonical(v))).unwrap_or("-".into());
    let mut out = Vec::new();
    if a.opening != b.opening {
        out.push(format!("opening {} → {}", bal(a.opening), bal(b.opening)));
    }
    if a.closing != b.closing {
        out.push(format!("closing {} → {}", bal(a.closing), bal(b.closing)));
    }
    if a.entry_count != b.entry_count {
        out.push(format!("{} → {} entries", a.entry_count, b.entry_count));
    }
    if out.is_empty() {
        out.push("entries differ".into());
    }
    out.join(", ")
}
