//! Statements that should be here and are not. Each channel has a delivery deadline: the
//! statement of business date D is due at `deadline` (local time, the configured zone) on
//! the business day after D. An account with no stored statement covering D once that
//! moment has passed is `late`; before it, `due`. The clock is a parameter, so tests and
//! the scheduler decide what "now" is.

use crate::config::Config;
use crate::validate::StatementFacts;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    pub account_no: String,
    pub bank: String,
    pub channel: String,
    pub date: NaiveDate,
    /// The deadline, local time, as `YYYY-MM-DD HH:MM`.
    pub deadline: String,
    /// `late` (deadline passed) or `due` (not yet).
    pub status: &'static str,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.status == "late" { "late" } else { "not yet due" };
        write!(
            f,
            "{what}: the {} statement of account {} for {} ({}, deadline {})",
            self.bank, self.account_no, self.date, self.channel, self.deadline
        )
    }
}

/// Does any stored statement of the account cover `date`?
fn covered(facts: &[StatementFacts], date: NaiveDate) -> bool {
    facts.iter().any(|s| {
        super::interest::coverage(s).is_some_and(|(a, b)| a <= date && date <= b)
            || s.closing.is_some_and(|c| c.0 == date)
    })
}

/// Missing statements for each business date in `dates`, per account of every bank that
/// has a channel. `facts`: stored statements by account.
pub fn check(
    cfg: &Config,
    facts: &BTreeMap<String, Vec<StatementFacts>>,
    dates: &[NaiveDate],
    now: DateTime<Utc>,
) -> Vec<Missing> {
    let tz = cfg.tz();
    let mut out = Vec::new();
    for ch in &cfg.channels {
        for a in cfg.accounts.iter().filter(|a| a.bank == ch.bank) {
            let none = Vec::new();
            let f = facts.get(&a.number).unwrap_or(&none);
            for &d in dates {
                if !crate::calendar::is_business_day(d) || covered(f, d) {
                    continue;
                }
                let due_day = crate::calendar::add_business_days(d, 1);
                let local = due_day.and_time(ch.deadline_time());
                let deadline = tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc));
                let status = if deadline.is_some_and(|t| now >= t) { "late" } else { "due" };
                out.push(Missing {
                    account_no: a.number.clone(),
                    bank: ch.bank.clone(),
                    channel: ch.name.clone(),
                    date: d,
                    deadline: local.format("%Y-%m-%d %H:%M").to_string(),
                    status,
                });
            }
        }
    }
    out
}

/// The last `days` business days before `now`'s local date (`general.timezone`), oldest
/// first: the window `status` and the worker's `fundrecon_statements_*` gauges look at.
pub fn recent_business_days(cfg: &Config, now: DateTime<Utc>, days: usize) -> Vec<NaiveDate> {
    let tz = cfg.tz();
    let today = now.with_timezone(&tz).date_naive();
    let cal = crate::calendar::active();
    let mut dates = Vec::with_capacity(days);
    let mut d = today;
    while dates.len() < days
        && let Some(prev) = cal.previous_business_day(d)
    {
        dates.push(prev);
        d = prev;
    }
    dates.reverse();
    dates
}

/// Missing statements of `dates` as of `now`, from the statements stored.
pub async fn missing_as_of(
    cfg: &Config,
    store: &crate::store::Store,
    dates: &[NaiveDate],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Missing>> {
    let mut facts = BTreeMap::new();
    for a in &cfg.accounts {
        facts.insert(a.number.clone(), store.statement_facts(&a.number).await?);
    }
    Ok(check(cfg, &facts, dates, now))
}

/// The warning of a batch (channel × date) whose statement is not here: one line naming
/// each account, the deadline and what to do, or `None` when nothing is owed. A batch that
/// ends `done` without the statement its channel owes says so with this in `status`,
/// `runs show`, the 运行情况 sheet (and the gauges `fundrecon_statements_missing`).
pub fn batch_warning(missing: &[Missing], run_id: i64, channel: &str, date: NaiveDate) -> Option<String> {
    let owed: Vec<String> = missing
        .iter()
        .filter(|m| m.channel == channel && m.date == date)
        .map(|m| {
            let when = if m.status == "late" { "late" } else { "not yet due" };
            format!("account {} ({when}, deadline {})", m.account_no, m.deadline)
        })
        .collect();
    if owed.is_empty() {
        return None;
    }
    Some(format!(
        "no statement fetched for {}: {}; once the bank has delivered it: `fundrecon runs rerun {run_id}`",
        date,
        owed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn cfg() -> Config {
        let mut c = Config::parse(
            r#"
[[banks]]
id = "boc"
name = "BOC"
[[accounts]]
number = "4500"
name = "a"
currency = "CNY"
bank = "boc"
role = "fiscal"
[[channels]]
name = "boc-drop"
type = "dir"
bank = "boc"
path = "."
deadline = "07:30"
"#,
        )
        .unwrap();
        c.base_dir = std::env::temp_dir();
        c
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn late_due_and_delivered() {
        let fact = StatementFacts {
            id: 1,
            account_no: "4500".into(),
            file: "s.sta".into(),
            location: "line 1".into(),
            sequence: None,
            opening: Some((d("2024-03-20"), dec!(1))),
            closing: Some((d("2024-03-21"), dec!(1))),
            entry_sum: dec!(0),
            entry_count: 0,
            flags: vec![],
        };
        let facts = BTreeMap::from([("4500".to_string(), vec![fact])]);
        // Thursday 21 delivered; Friday 22 due Monday 25 07:30 Shanghai = 24 23:30 UTC.
        let dates = [d("2024-03-21"), d("2024-03-22"), d("2024-03-23")];
        let before = Utc.with_ymd_and_hms(2024, 3, 24, 23, 29, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2024, 3, 24, 23, 30, 0).unwrap();
        let m = check(&cfg(), &facts, &dates, before);
        assert_eq!(m.len(), 1, "Saturday is no business day: {m:?}");
        assert_eq!((m[0].date, m[0].status, m[0].deadline.as_str()), (d("2024-03-22"), "due", "2024-03-25 07:30"));
        let m = check(&cfg(), &facts, &dates, after);
        assert_eq!(m[0].status, "late");
        assert_eq!(
            m[0].to_string(),
            "late: the boc statement of account 4500 for 2024-03-22 (boc-drop, deadline 2024-03-25 07:30)"
        );
    }
}
