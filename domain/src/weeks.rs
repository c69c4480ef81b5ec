//! Sick-week counting, in one place (DOMAIN.md §0.3).
//!
//! `D0` is the first sick day (første sygedag) and `D n` the date `n` calendar days later.
//! Sick week `n` (sygeuge n) is days `7(n-1) ..= 7n-1`, so "by the end of sick week 8" is `D55`
//! and "in sick week 4 at the latest" is `D27` ([003 F1 ch3], 003_532c043554107ee2.txt).
//! Every deadline in the rule sets is expressed with the types here, so the counting
//! convention cannot drift between modules.

use chrono::{Months, NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

/// Day index relative to the first sick day: `SickDay(0)` is D0, negative before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SickDay(pub i64);

impl SickDay {
    /// The sick week this day falls in (1-based); `None` before D0.
    pub fn week(self) -> Option<u32> {
        if self.0 < 0 {
            return None;
        }
        u32::try_from(self.0 / 7 + 1).ok()
    }
}

/// Adds days, saturating at chrono's date range so rule arithmetic never panics.
pub(crate) fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_add_signed(TimeDelta::days(days))
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// `D n`: the date `n` days after the first sick day.
pub fn day(d0: NaiveDate, n: i64) -> NaiveDate {
    add_days(d0, n)
}

/// Which day of the case `date` is.
pub fn sick_day_of(d0: NaiveDate, date: NaiveDate) -> SickDay {
    SickDay(date.signed_duration_since(d0).num_days())
}

/// Which sick week `date` falls in (1-based); `None` before the first sick day.
pub fn sick_week_of(d0: NaiveDate, date: NaiveDate) -> Option<u32> {
    sick_day_of(d0, date).week()
}

/// First day of sick week `n`: `D 7(n-1)`.
pub fn start_of_sick_week(d0: NaiveDate, n: u32) -> NaiveDate {
    day(d0, 7 * (i64::from(n) - 1))
}

/// Last day of sick week `n`: `D 7n-1` ("by the end of sick week n", "in sick week n at the latest").
pub fn end_of_sick_week(d0: NaiveDate, n: u32) -> NaiveDate {
    day(d0, 7 * i64::from(n) - 1)
}

/// A length of time as the sources state it; months stay calendar months
/// (P22's "three months after the first sick day" is not 13 weeks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Days(u32),
    Weeks(u32),
    /// Calendar months; a day past the target month's end clamps to its last day.
    Months(u32),
}

impl Period {
    /// `from` plus this period ("within 8 days of dispatch", "every 4 weeks after the last talk").
    pub fn after(self, from: NaiveDate) -> NaiveDate {
        match self {
            Period::Days(d) => add_days(from, i64::from(d)),
            Period::Weeks(w) => add_days(from, 7 * i64::from(w)),
            Period::Months(m) => from
                .checked_add_months(Months::new(m))
                .unwrap_or(NaiveDate::MAX),
        }
    }
}

/// A deadline anchored on the first sick day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueBy {
    /// "By the end of sick week n" / "in sick week n at the latest": `D 7n-1`.
    EndOfSickWeek(u32),
    /// "n weeks/months after the first sick day": `D0 + period`.
    AfterFirstSickDay(Period),
}

impl DueBy {
    /// The calendar date of this deadline for a case starting on `d0`.
    pub fn date(self, d0: NaiveDate) -> NaiveDate {
        match self {
            DueBy::EndOfSickWeek(n) => end_of_sick_week(d0, n),
            DueBy::AfterFirstSickDay(p) => p.after(d0),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn end_of_week_8_is_d55_and_week_4_is_d27() {
        let d0 = d(2012, 3, 1);
        assert_eq!(end_of_sick_week(d0, 8), day(d0, 55));
        assert_eq!(end_of_sick_week(d0, 4), day(d0, 27));
        assert_eq!(
            end_of_sick_week(d0, 13),
            day(d0, 90),
            "within 13 weeks counted from D0"
        );
        assert_eq!(
            start_of_sick_week(d0, 53),
            day(d0, 364),
            "refund ends from sick week 53"
        );
    }

    #[test]
    fn sick_week_boundaries() {
        let d0 = d(2009, 1, 5);
        assert_eq!(sick_week_of(d0, d0), Some(1));
        assert_eq!(sick_week_of(d0, day(d0, 6)), Some(1));
        assert_eq!(sick_week_of(d0, day(d0, 7)), Some(2));
        assert_eq!(sick_week_of(d0, day(d0, 55)), Some(8));
        assert_eq!(sick_week_of(d0, day(d0, 56)), Some(9));
        assert_eq!(sick_week_of(d0, day(d0, -1)), None);
        assert_eq!(sick_day_of(d0, day(d0, 27)), SickDay(27));
    }

    #[test]
    fn periods_and_anchored_deadlines() {
        let d0 = d(2009, 1, 31);
        assert_eq!(Period::Days(8).after(d0), d(2009, 2, 8));
        assert_eq!(Period::Weeks(4).after(d0), day(d0, 28));
        assert_eq!(
            Period::Months(1).after(d0),
            d(2009, 2, 28),
            "month end clamps"
        );
        assert_eq!(DueBy::EndOfSickWeek(8).date(d0), day(d0, 55));
        assert_eq!(
            DueBy::AfterFirstSickDay(Period::Months(3)).date(d0),
            d(2009, 4, 30)
        );
    }

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        assert_eq!(day(NaiveDate::MAX, 1), NaiveDate::MAX);
        assert_eq!(
            Period::Months(u32::MAX).after(d(2020, 1, 1)),
            NaiveDate::MAX
        );
    }
}
