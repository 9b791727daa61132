//! Business days. Weekends only for now; the holiday and make-up-day (调休) calendar as
//! data arrives with the scheduler (issue 7) and plugs in here.

use chrono::{Datelike, Days, NaiveDate, Weekday};

pub fn is_business_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `d` plus `n` business days; a date on a weekend first rolls to the next business day.
/// Saturates at the calendar's end instead of panicking.
pub fn add_business_days(d: NaiveDate, n: u32) -> NaiveDate {
    let mut cur = d;
    while !is_business_day(cur) {
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
        if is_business_day(cur) {
            left -= 1;
        }
    }
    cur
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
    }
}
