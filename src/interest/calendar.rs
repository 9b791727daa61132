//! Settlement windows (结息期).
//!
//! Unit demand and 协定 interest settles on the 20th of Mar/Jun/Sep/Dec (结息日) and is
//! credited on the 21st, from which it compounds; a window therefore runs from the 21st
//! after one settlement day to the next settlement day, inclusive: Q1 Dec-21…Mar-20 (90
//! days, 91 in a leap year), Q2 Mar-21…Jun-20 (92), Q3 Jun-21…Sep-20 (92), Q4 Sep-21…Dec-20
//! (91). The months and the day are data ([`SettlementCalendar`]), so a monthly or annual
//! settlement is a config change.

use super::InterestError;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// When windows close. Interest is credited the day after `close_day`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettlementCalendar {
    /// Months (1–12, ascending) whose `close_day` is a settlement day.
    #[serde(default = "quarter_months")]
    pub months: Vec<u32>,
    /// Day of the month (1–28) on which a window closes.
    #[serde(default = "default_close_day")]
    pub close_day: u32,
}

fn quarter_months() -> Vec<u32> {
    vec![3, 6, 9, 12]
}

fn default_close_day() -> u32 {
    20
}

impl Default for SettlementCalendar {
    fn default() -> Self {
        SettlementCalendar { months: quarter_months(), close_day: default_close_day() }
    }
}

/// One settlement window: `start ..= end`, settled on `end`, credited on `credit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub credit: NaiveDate,
}

impl Window {
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }
}

/// The part of a window inside a requested range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPart {
    pub window: Window,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl WindowPart {
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// True when the part is the whole window.
    pub fn complete(&self) -> bool {
        self.from == self.window.start && self.to == self.window.end
    }
}

impl SettlementCalendar {
    /// Problems with the calendar, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.months.is_empty() {
            out.push(("months", "needs at least one month".to_string()));
        }
        if self.months.iter().any(|m| !(1..=12).contains(m)) {
            out.push(("months", "months are 1 to 12".to_string()));
        }
        if self.months.windows(2).any(|w| w[0] >= w[1]) {
            out.push(("months", "months must be ascending without repeats".to_string()));
        }
        if !(1..=28).contains(&self.close_day) {
            out.push(("close_day", format!("{} is not a day from 1 to 28", self.close_day)));
        }
        out
    }

    fn checked(&self) -> Result<(), InterestError> {
        match self.problems().first() {
            None => Ok(()),
            Some((field, msg)) => Err(InterestError::terms(format!("settlement.{field}"), msg.clone())),
        }
    }

    fn close_in(&self, year: i32, month: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, month, self.close_day)
    }

    /// The settlement day of the window containing `d` (the first settlement day ≥ `d`).
    fn next_close(&self, d: NaiveDate) -> Option<NaiveDate> {
        for year in [d.year(), d.year() + 1] {
            for &m in &self.months {
                let c = self.close_in(year, m)?;
                if c >= d {
                    return Some(c);
                }
            }
        }
        None
    }

    /// The settlement day before the window containing `d` (the last settlement day < `d`).
    fn prev_close(&self, d: NaiveDate) -> Option<NaiveDate> {
        for year in [d.year(), d.year() - 1] {
            for &m in self.months.iter().rev() {
                let c = self.close_in(year, m)?;
                if c < d {
                    return Some(c);
                }
            }
        }
        None
    }

    /// The window containing `d`.
    pub fn window_containing(&self, d: NaiveDate) -> Result<Window, InterestError> {
        self.checked()?;
        let out_of_range = || InterestError::Input(format!("{d} is outside the supported dates"));
        let end = self.next_close(d).ok_or_else(out_of_range)?;
        let start = self.prev_close(d).and_then(|p| p.succ_opt()).ok_or_else(out_of_range)?;
        let credit = end.succ_opt().ok_or_else(out_of_range)?;
        Ok(Window { start, end, credit })
    }

    /// The windows overlapping `from ..= to`, each cut to that range, in order.
    pub fn windows(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<WindowPart>, InterestError> {
        if from > to {
            return Err(InterestError::Input(format!("the range {from}…{to} is reversed")));
        }
        if (to - from).num_days() >= super::MAX_DAYS {
            return Err(InterestError::Limit(format!(
                "{from}…{to} is longer than {} days; split the computation",
                super::MAX_DAYS
            )));
        }
        let mut out = Vec::new();
        let mut cur = from;
        loop {
            let w = self.window_containing(cur)?;
            let part = WindowPart { window: w, from: cur, to: w.end.min(to) };
            out.push(part);
            if w.end >= to {
                return Ok(out);
            }
            cur = w.credit;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn days_of(cal: &SettlementCalendar, day: &str) -> i64 {
        cal.window_containing(d(day)).unwrap().days()
    }

    #[test]
    fn quarter_lengths() {
        let cal = SettlementCalendar::default();
        assert_eq!(days_of(&cal, "2025-01-15"), 90); // Q1, 2025 not leap
        assert_eq!(days_of(&cal, "2024-01-15"), 91); // Q1 2024, leap
        assert_eq!(days_of(&cal, "2025-04-01"), 92); // Q2
        assert_eq!(days_of(&cal, "2025-07-01"), 92); // Q3
        assert_eq!(days_of(&cal, "2025-10-01"), 91); // Q4
        let year: i64 = cal.windows(d("2024-12-21"), d("2025-12-20")).unwrap().iter().map(|p| p.days()).sum();
        assert_eq!(year, 365);
        let leap: i64 = cal.windows(d("2023-12-21"), d("2024-12-20")).unwrap().iter().map(|p| p.days()).sum();
        assert_eq!(leap, 366);
    }

    #[test]
    fn twentieth_closes_twenty_first_opens() {
        let cal = SettlementCalendar::default();
        let q1 = cal.window_containing(d("2024-03-20")).unwrap();
        assert_eq!((q1.start, q1.end, q1.credit), (d("2023-12-21"), d("2024-03-20"), d("2024-03-21")));
        let q2 = cal.window_containing(d("2024-03-21")).unwrap();
        assert_eq!((q2.start, q2.end), (d("2024-03-21"), d("2024-06-20")));
        // Year boundary: Dec 20 is Q4, Dec 21 is the next year's Q1.
        assert_eq!(cal.window_containing(d("2024-12-20")).unwrap().end, d("2024-12-20"));
        assert_eq!(cal.window_containing(d("2024-12-21")).unwrap().end, d("2025-03-20"));
    }

    #[test]
    fn windows_are_cut_to_the_range() {
        let cal = SettlementCalendar::default();
        let parts = cal.windows(d("2025-02-01"), d("2025-04-10")).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].from, parts[0].to, parts[0].complete()), (d("2025-02-01"), d("2025-03-20"), false));
        assert_eq!((parts[1].from, parts[1].to), (d("2025-03-21"), d("2025-04-10")));
        assert!(cal.windows(d("2025-02-01"), d("2025-01-01")).is_err());
        assert!(cal.windows(d("2000-01-01"), d("2011-01-01")).is_err());
    }

    #[test]
    fn monthly_and_annual_calendars() {
        let monthly = SettlementCalendar { months: (1..=12).collect(), close_day: 20 };
        assert_eq!(monthly.window_containing(d("2025-03-01")).unwrap().days(), 28);
        let annual = SettlementCalendar { months: vec![12], close_day: 20 };
        assert_eq!(annual.window_containing(d("2025-06-01")).unwrap().days(), 365);
        let bad = SettlementCalendar { months: vec![6, 3], close_day: 31 };
        assert_eq!(bad.problems().len(), 2);
        assert!(bad.window_containing(d("2025-06-01")).is_err());
    }
}
