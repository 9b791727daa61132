//! Per-channel cron schedules and the batches they are due to queue. Pure: the caller
//! passes the time window and the calendar.
//!
//! A schedule is a `cron` crate expression with six fields, seconds first
//! (`sec min hour day-of-month month day-of-week`), evaluated in the worker's time zone.
//! In that syntax day-of-week 1 is **Sunday** (`1-5` = Sunday–Thursday), so numbers are
//! refused in the day-of-week field: write `Mon-Fri`.
//!
//! A fire at local date D queues the batch of the last business day before D (the
//! statement a bank delivers in the morning is the previous business day's): Tuesday's
//! 06:30 run reconciles Monday, Monday's reconciles Friday, the morning after a holiday
//! block reconciles the last day worked before it, and a make-up Sunday (调休) is a
//! business date like any other. Several fires that give the same date queue one batch.

use crate::calendar::Calendar;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

/// The most fires one evaluation walks per channel; a schedule that fires every second
/// over a long catch-up window stops here (the dates it queues are the same anyway).
pub const MAX_FIRES: usize = 100_000;

#[derive(Clone, Debug)]
pub struct Schedule {
    text: String,
    cron: cron::Schedule,
}

impl Schedule {
    /// Parses and checks a schedule; the error says what to write instead.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 6 {
            return Err(format!(
                "{text:?} has {} fields; a schedule has six, seconds first: \"sec min hour day-of-month month day-of-week\", e.g. \"0 30 6 * * Mon-Fri\"",
                fields.len()
            ));
        }
        if fields[5].chars().any(|c| c.is_ascii_digit()) {
            return Err(format!(
                "{text:?}: write day-of-week with names (Mon-Fri, Sat, Sun): in this cron syntax 1 is Sunday, so numbers mislead"
            ));
        }
        let cron = cron::Schedule::from_str(text).map_err(|e| format!("{text:?} is not a valid schedule: {e}"))?;
        Ok(Schedule { text: text.to_string(), cron })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Fire times t with `after < t <= until`, in order, at most [`MAX_FIRES`].
    pub fn fires(&self, tz: Tz, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        self.cron
            .after(&after.with_timezone(&tz))
            .take(MAX_FIRES)
            .map(|t| t.with_timezone(&Utc))
            .take_while(|t| *t <= until)
            .collect()
    }

    /// The next fire after `after`.
    pub fn next_fire(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.after(&after.with_timezone(&tz)).next().map(|t| t.with_timezone(&Utc))
    }
}

/// The business date a fire at `at` queues: the last business day before its local date.
pub fn business_date(cal: &Calendar, tz: Tz, at: DateTime<Utc>) -> Option<NaiveDate> {
    cal.previous_business_day(at.with_timezone(&tz).date_naive())
}

/// A batch a schedule wants queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub channel: String,
    pub bank: String,
    pub date: NaiveDate,
    /// The first fire in the window that asked for it.
    pub fired_at: DateTime<Utc>,
}

/// Every (channel, business date) the schedules ask for in `(after, until]`, once each,
/// in fire order. `channels`: (name, bank, schedule).
pub fn due(
    channels: &[(String, String, Schedule)],
    cal: &Calendar,
    tz: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Due> {
    let mut out: Vec<Due> = Vec::new();
    for (name, bank, s) in channels {
        for t in s.fires(tz, after, until) {
            let Some(date) = business_date(cal, tz, t) else {
                continue;
            };
            if !out.iter().any(|d| d.channel == *name && d.date == date) {
                out.push(Due { channel: name.clone(), bank: bank.clone(), date, fired_at: t });
            }
        }
    }
    out.sort_by(|a, b| (a.fired_at, &a.channel).cmp(&(b.fired_at, &b.channel)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_misleads() {
        for (text, want) in [
            ("30 6 * * *", "has 5 fields"),
            ("0 30 6 * * 1-5", "names"),
            ("0 30 6 * * Mon-Fri 2027", "has 7 fields"),
            ("0 61 6 * * Mon-Fri", "not a valid schedule"),
            ("", "has 0 fields"),
        ] {
            let e = Schedule::parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        assert!(Schedule::parse("0 30 6 * * Mon-Fri").is_ok());
        assert!(Schedule::parse("0 0/15 * * * *").is_ok());
    }
}
