//! Errors of the interest module. Every input problem names where it is: the CSV line and
//! field, the TOML path (and line when the text is at hand), the missing dates. Problems
//! are collected and reported together, so one run shows everything that needs fixing.

use chrono::NaiveDate;
use std::fmt;

/// An inclusive run of calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to { write!(f, "{}", self.from) } else { write!(f, "{}…{}", self.from, self.to) }
    }
}

/// Groups sorted, distinct days into runs of consecutive days.
pub fn runs(days: &[NaiveDate]) -> Vec<DateRange> {
    let mut out: Vec<DateRange> = Vec::new();
    for &d in days {
        match out.last_mut() {
            Some(r) if r.to.succ_opt() == Some(d) => r.to = d,
            _ => out.push(DateRange { from: d, to: d }),
        }
    }
    out
}

/// One problem in a balances CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    /// 1-based line in the file.
    pub line: u64,
    /// The column (`date`, `balance`), when the problem is in one.
    pub field: Option<&'static str>,
    pub message: String,
}

impl fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "line {}, field `{field}`: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// One problem in an agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsProblem {
    /// TOML path: `rates[1].agreed`, `settlement.months`, `notice.withdrawals[0].date`.
    pub path: String,
    /// 1-based line in the TOML text, when loaded from text.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for TermsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}, `{}`: {}", self.path, self.message),
            None => write!(f, "`{}`: {}", self.path, self.message),
        }
    }
}

fn list<T: fmt::Display>(items: &[T], sep: &str) -> String {
    const SHOWN: usize = 30;
    let mut s = items.iter().take(SHOWN).map(|p| p.to_string()).collect::<Vec<_>>().join(sep);
    if items.len() > SHOWN {
        s.push_str(&format!("{sep}… and {} more", items.len() - SHOWN));
    }
    s
}

#[derive(Debug, thiserror::Error)]
pub enum InterestError {
    /// The balances CSV is malformed (every problem found).
    #[error("balances CSV: {}", list(.0, "; "))]
    Csv(Vec<CsvProblem>),
    /// Days in the computation without an end-of-day balance.
    #[error("balances: no end-of-day balance for {}", list(.0, ", "))]
    MissingBalances(Vec<DateRange>),
    /// Days not covered by any statement: balances are not guessed over them.
    #[error("statements do not cover {}", list(.0, ", "))]
    StatementGaps(Vec<DateRange>),
    /// The agreement is invalid (every problem found).
    #[error("terms: {}", list(.0, "; "))]
    Terms(Vec<TermsProblem>),
    /// A posting that cannot be applied.
    #[error("posting {index}: {message}")]
    Posting { index: usize, message: String },
    /// The rate table has no rate for a leg on a day that needs one.
    #[error("no {leg} rate in force on {date} (the first rate row must start on or before it)")]
    NoRate { leg: &'static str, date: NaiveDate },
    /// A deposit event that the product's rules do not allow.
    #[error("{0}")]
    Deposit(String),
    /// A size or range limit.
    #[error("limit: {0}")]
    Limit(String),
    /// Bad arguments (an empty or reversed range, a product the function does not handle).
    #[error("{0}")]
    Input(String),
    /// A number grew beyond exact decimal arithmetic (only with absurd inputs).
    #[error("arithmetic overflow while {0}")]
    Overflow(&'static str),
}

impl InterestError {
    pub(crate) fn terms(path: impl Into<String>, message: impl Into<String>) -> InterestError {
        InterestError::Terms(vec![TermsProblem { path: path.into(), line: None, message: message.into() }])
    }
}
