//! Business days: weekends, public holidays and make-up working days (调休) of mainland
//! China as data (`ops/calendar/cn.toml`, compiled in as the default, or a file named by
//! `worker.calendar`). The free functions [`is_business_day`] and [`add_business_days`]
//! (matching windows, delivery deadlines, the scheduler's business dates) use the one
//! calendar the process [`install`]s at start-up, else the compiled-in one: reference data,
//! like a rate table, so results stay deterministic for a given calendar file.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

static ACTIVE: OnceLock<Calendar> = OnceLock::new();

/// Sets the calendar of this process (once; the CLI does it after loading the config).
/// Returns false when one was set (or used) before.
pub fn install(c: Calendar) -> bool {
    ACTIVE.set(c).is_ok()
}

/// The calendar the free functions use.
pub fn active() -> &'static Calendar {
    ACTIVE.get_or_init(Calendar::china)
}

fn is_weekday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

pub fn is_business_day(d: NaiveDate) -> bool {
    active().is_business_day(d)
}

/// `d` plus `n` business days; a date on a holiday or weekend first rolls to the next
/// business day. Saturates at the calendar's end instead of panicking.
pub fn add_business_days(d: NaiveDate, n: u32) -> NaiveDate {
    let cal = active();
    let mut cur = d;
    // Bounded: no calendar has more than MAX_GAP_DAYS days off in a row.
    let mut guard = 0;
    while !cal.is_business_day(cur) && guard < MAX_GAP_DAYS {
        guard += 1;
        cur = cur.checked_add_days(Days::new(1)).unwrap_or(cur);
        if cur == NaiveDate::MAX {
            return cur;
        }
    }
    let mut left = n;
    while left > 0 {
        match cur.checked_add_days(Days::new(1)) {
            Some(next) => cur = next,
            None => return NaiveDate::MAX,
        }
        if cal.is_business_day(cur) {
            left -= 1;
        }
    }
    cur
}

/// The first date `x` with `add_business_days(x, n) >= d`: where a window of `n` business
/// days that ends at `d` starts (a clerk books a receipt up to `n` business days after the
/// credit arrived). `d` first rolls forward to a business day `B`; `P` is `n` business days
/// before `B`; every date after the business day before `P` rolls forward to `P` or later.
/// Saturates at the calendar's start instead of panicking.
pub fn window_start(d: NaiveDate, n: u32) -> NaiveDate {
    let cal = active();
    let mut p = add_business_days(d, 0);
    for _ in 0..n {
        match cal.previous_business_day(p) {
            Some(prev) => p = prev,
            None => return NaiveDate::MIN,
        }
    }
    match cal.previous_business_day(p) {
        Some(before) => before.succ_opt().unwrap_or(p),
        None => NaiveDate::MIN,
    }
}

/// The compiled-in default: mainland China 2024–2026 (State Council notices).
pub const DEFAULT_CN: &str = include_str!("../ops/calendar/cn.toml");

/// The longest run of non-business days a calendar may hold (the longest Chinese holiday
/// block with its weekends is 9–10 days); a search past it means the data is wrong.
const MAX_GAP_DAYS: u32 = 31;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    #[serde(default)]
    years: Vec<Year>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Year {
    year: i32,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

/// Weekends, public holidays and make-up working days, for the years the data covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    pub name: String,
    /// Year → (holidays, make-up working days).
    years: BTreeMap<i32, (BTreeSet<NaiveDate>, BTreeSet<NaiveDate>)>,
    /// The same as one flag per day from 1 January of the first year covered (0: as the
    /// weekday says, 1: holiday, 2: make-up working day): matching asks for every record,
    /// so the answer is an index, not a tree search.
    first: Option<NaiveDate>,
    flags: Vec<u8>,
}

impl Calendar {
    /// The compiled-in mainland China calendar.
    pub fn china() -> Calendar {
        // The file is checked by a unit test, so this cannot fail in a released binary.
        Calendar::parse("ops/calendar/cn.toml", DEFAULT_CN).expect("compiled-in calendar is valid")
    }

    /// Weekends only: no holiday data.
    pub fn weekends_only() -> Calendar {
        Calendar { name: "weekends only".into(), years: BTreeMap::new(), first: None, flags: Vec::new() }
    }

    pub fn load(path: &std::path::Path) -> Result<Calendar, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Calendar::parse(&path.display().to_string(), &text)
    }

    /// Parses and checks calendar TOML. Errors name the file and the `years[i]` path:
    /// a date outside its year, a holiday that is also a working day, a "make-up
    /// working day" that is no weekend day, a year given twice.
    pub fn parse(file: &str, text: &str) -> Result<Calendar, String> {
        let f: File = toml::from_str(text).map_err(|e| format!("{file}: {}", e.to_string().trim_end()))?;
        let mut years = BTreeMap::new();
        for (i, y) in f.years.iter().enumerate() {
            let dates = |key: &str, list: &[String]| -> Result<BTreeSet<NaiveDate>, String> {
                let mut set = BTreeSet::new();
                for (j, s) in list.iter().enumerate() {
                    let d: NaiveDate = s
                        .parse()
                        .map_err(|_| format!("{file}: years[{i}].{key}[{j}]: {s:?} is not a date (YYYY-MM-DD)"))?;
                    if d.year() != y.year {
                        return Err(format!("{file}: years[{i}].{key}[{j}]: {d} is not in {}", y.year));
                    }
                    if !set.insert(d) {
                        return Err(format!("{file}: years[{i}].{key}[{j}]: {d} listed twice"));
                    }
                }
                Ok(set)
            };
            let holidays = dates("holidays", &y.holidays)?;
            let workdays = dates("workdays", &y.workdays)?;
            if let Some(d) = holidays.intersection(&workdays).next() {
                return Err(format!("{file}: years[{i}]: {d} is both a holiday and a make-up working day"));
            }
            if let Some(d) = workdays.iter().find(|d| is_weekday(**d)) {
                return Err(format!(
                    "{file}: years[{i}].workdays: {d} is a {} (make-up working days are Saturdays or Sundays)",
                    d.weekday()
                ));
            }
            if years.insert(y.year, (holidays, workdays)).is_some() {
                return Err(format!("{file}: years[{i}]: year {} given twice", y.year));
            }
        }
        let first = years.keys().next().and_then(|y| NaiveDate::from_ymd_opt(*y, 1, 1));
        let mut flags = Vec::new();
        if let (Some(first), Some(last)) = (first, years.keys().next_back()) {
            let end = NaiveDate::from_ymd_opt(*last, 12, 31).unwrap_or(first);
            flags = vec![0u8; (end - first).num_days() as usize + 1];
            for (holidays, workdays) in years.values() {
                for (set, flag) in [(holidays, 1u8), (workdays, 2u8)] {
                    for d in set {
                        flags[(*d - first).num_days() as usize] = flag;
                    }
                }
            }
        }
        Ok(Calendar { name: f.name, years, first, flags })
    }

    /// Whether the data has the holiday notice of `year` (else: weekends only).
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        let flag = self
            .first
            .and_then(|f| usize::try_from((d - f).num_days()).ok())
            .and_then(|i| self.flags.get(i).copied())
            .unwrap_or(0);
        match flag {
            1 => false,
            2 => true,
            _ => is_weekday(d),
        }
    }

    /// The last business day strictly before `d` (None past the bounded search: bad data
    /// or the start of the calendar).
    pub fn previous_business_day(&self, d: NaiveDate) -> Option<NaiveDate> {
        let mut cur = d;
        for _ in 0..MAX_GAP_DAYS {
            cur = cur.pred_opt()?;
            if self.is_business_day(cur) {
                return Some(cur);
            }
        }
        None
    }

    /// The first business day strictly after `d`.
    pub fn next_business_day(&self, d: NaiveDate) -> Option<NaiveDate> {
        let mut cur = d;
        for _ in 0..MAX_GAP_DAYS {
            cur = cur.succ_opt()?;
            if self.is_business_day(cur) {
                return Some(cur);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn skips_weekends() {
        // 2024-03-21 is a Thursday.
        assert_eq!(add_business_days(d("2024-03-21"), 0), d("2024-03-21"));
        assert_eq!(add_business_days(d("2024-03-21"), 1), d("2024-03-22"));
        assert_eq!(add_business_days(d("2024-03-21"), 3), d("2024-03-26"));
        // Saturday rolls to Monday first.
        assert_eq!(add_business_days(d("2024-03-23"), 0), d("2024-03-25"));
        assert_eq!(add_business_days(NaiveDate::MAX, 5), NaiveDate::MAX);
        // Holidays and make-up days count (the compiled-in calendar): National Day 2024.
        assert_eq!(add_business_days(d("2024-09-30"), 1), d("2024-10-08"));
        assert_eq!(add_business_days(d("2024-10-03"), 0), d("2024-10-08"));
        assert!(is_business_day(d("2024-09-29")), "Sunday 29 September 2024 was a make-up working day");
        assert_eq!(add_business_days(d("2024-09-27"), 1), d("2024-09-29"));
    }

    #[test]
    fn window_start_is_the_first_day_that_reaches() {
        // Tuesday 2024-03-26 minus 3 business days: Thursday the 21st (the 20th reaches only
        // the 25th).
        assert_eq!(window_start(d("2024-03-26"), 3), d("2024-03-21"));
        assert_eq!(window_start(d("2024-03-21"), 0), d("2024-03-21"));
        // A Saturday rolls forward to Monday 2024-03-25; Saturday and Sunday reach it.
        assert_eq!(window_start(d("2024-03-23"), 0), d("2024-03-23"));
        assert_eq!(window_start(d("2024-10-08"), 1), d("2024-09-30"));
        assert_eq!(window_start(NaiveDate::MIN, 5), NaiveDate::MIN);
        // The definition, by brute force over two years and windows of 0..5.
        let mut day = d("2024-01-01");
        while day < d("2026-01-01") {
            for n in 0..5 {
                let mut x = day - Days::new(40);
                while add_business_days(x, n) < day {
                    x = x.succ_opt().unwrap();
                }
                assert_eq!(window_start(day, n), x, "{day} {n}");
            }
            day = day.succ_opt().unwrap();
        }
    }

    /// Day counts per year straight from the notices: every holiday block and make-up day.
    #[test]
    fn compiled_in_calendar_matches_the_notices() {
        let c = Calendar::china();
        assert_eq!(c.years(), [2024, 2025, 2026]);
        for (year, working_days) in [(2024, 251), (2025, 248), (2026, 248)] {
            let n = (1..=366).filter_map(|o| NaiveDate::from_yo_opt(year, o)).filter(|x| c.is_business_day(*x)).count();
            assert_eq!(n, working_days, "{year}");
        }
        // 调休: Sunday 2024-02-04 worked, Friday 2024-10-04 off, Saturday 2026-02-28 worked.
        assert!(c.is_business_day(d("2024-02-04")));
        assert!(!c.is_business_day(d("2024-10-04")));
        assert!(c.is_business_day(d("2026-02-28")));
        assert!(!c.is_business_day(d("2026-01-02")));
        // Outside the data: weekends only.
        assert!(!c.covers(2027));
        assert!(c.is_business_day(d("2027-01-01")));
        assert_eq!(c.previous_business_day(d("2024-10-08")), Some(d("2024-09-30")));
        assert_eq!(c.previous_business_day(d("2024-09-30")), Some(d("2024-09-29")));
        assert_eq!(c.next_business_day(d("2025-01-27")), Some(d("2025-02-05")));
    }

    #[test]
    fn bad_calendar_data_is_named() {
        let cases = [
            ("name = \"x\"\n[[years]]\nyear = 2024\nholidays = [\"2024-13-01\"]", "years[0].holidays[0]"),
            ("name = \"x\"\n[[years]]\nyear = 2024\nholidays = [\"2025-01-01\"]", "is not in 2024"),
            ("name = \"x\"\n[[years]]\nyear = 2024\nworkdays = [\"2024-03-21\"]", "is a Thu"),
            (
                "name = \"x\"\n[[years]]\nyear = 2024\nholidays = [\"2024-02-04\"]\nworkdays = [\"2024-02-04\"]",
                "both a holiday and a make-up working day",
            ),
            ("name = \"x\"\n[[years]]\nyear = 2024\n[[years]]\nyear = 2024", "given twice"),
            ("name = \"x\"\n[[years]]\nyear = 2024\nholliday = []", "holliday"),
        ];
        for (text, want) in cases {
            let e = Calendar::parse("cal.toml", text).unwrap_err();
            assert!(e.starts_with("cal.toml: ") && e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn runs_of_holidays_longer_than_the_bound_are_refused_at_use() {
        let text = format!(
            "name = \"x\"\n[[years]]\nyear = 2024\nholidays = [{}]",
            (1..=31).map(|i| format!("\"2024-01-{i:02}\"")).collect::<Vec<_>>().join(", ")
        );
        let c = Calendar::parse("x", &text).unwrap();
        assert_eq!(c.previous_business_day(d("2024-02-01")), None);
    }
}
