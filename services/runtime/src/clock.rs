//! The daemon's one clock. The domain never reads a clock; services ask this one, and tests (and
//! `kia demo`) can move it, so a week-8 deadline is testable without waiting eight weeks.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};

/// System time plus an adjustable offset, shared by every service of a process.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// Now, to the microsecond: what both databases keep, so a stored instant reads back equal.
    pub fn now(&self) -> DateTime<Utc> {
        (Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed)))
            .trunc_subsecs(6)
    }

    /// Today's date in Denmark, where deadlines are counted.
    pub fn today(&self) -> NaiveDate {
        danish_date(self.now())
    }

    /// Moves the clock so that it reads `instant` now (and runs on from there).
    pub fn set(&self, instant: DateTime<Utc>) {
        let offset = (instant - Utc::now()).num_milliseconds();
        self.offset_ms.store(offset, Ordering::Relaxed);
    }
}

/// The calendar date in Denmark of an instant. Danish civil time is UTC+1, or UTC+2 from the
/// last Sunday of March to the last Sunday of October (EU rule, switch at 01:00 UTC).
pub fn danish_date(instant: DateTime<Utc>) -> NaiveDate {
    danish_local(instant).date()
}

/// The local date and time in Denmark of an instant (see [`danish_date`]).
pub fn danish_local(instant: DateTime<Utc>) -> chrono::NaiveDateTime {
    use chrono::Datelike;
    let year = instant.year();
    let last_sunday = |month: u32| {
        let mut day = NaiveDate::from_ymd_opt(year, month, 31).unwrap_or_default();
        while day.weekday() != chrono::Weekday::Sun {
            day = day.pred_opt().unwrap_or(day);
        }
        day.and_hms_opt(1, 0, 0).unwrap_or_default().and_utc()
    };
    let summer = instant >= last_sunday(3) && instant < last_sunday(10);
    (instant + Duration::hours(if summer { 2 } else { 1 })).naive_utc()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_set_clock_reads_the_set_instant() {
        let clock = Clock::system();
        let target = "2027-03-01T09:00:00Z".parse::<DateTime<Utc>>().unwrap();
        clock.set(target);
        let drift = (clock.now() - target).num_milliseconds().abs();
        assert!(drift < 1_000, "{drift} ms");
    }

    #[test]
    fn danish_dates_follow_summer_and_winter_time() {
        let at = |s: &str| danish_date(s.parse::<DateTime<Utc>>().unwrap()).to_string();
        assert_eq!(at("2026-01-15T23:30:00Z"), "2026-01-16"); // UTC+1
        assert_eq!(at("2026-07-15T21:59:00Z"), "2026-07-15"); // UTC+2
        assert_eq!(at("2026-07-15T22:00:00Z"), "2026-07-16");
    }
}
