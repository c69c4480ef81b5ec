//! The demo municipality's cases, drawn from DOMAIN.md's figures with a seeded generator: pure,
//! so the same seed and "now" always give the same municipality.
//!
//! - How long a case lasts follows the exclusion table (§6.5): of 309,304 persons on benefit in
//!   week 1, 125,749 are still on it in week 5, 55,977 in week 13, 29,533 in week 26, 13,492 in
//!   week 52 and 5,624 in week 78 (log-linear between the rows).
//! - Courses at Quick Care follow its national averages (§6.1): 22.3 weeks of absence at the
//!   start, 4.9 days from referral to start, 9.6 weeks long, 60 % leave sickness benefit, 14 %
//!   include a work placement (started 19 days after referral).

use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Persons still on benefit at the start of each listed week (§6.5).
const STILL_ON_BENEFIT: [(f64, f64); 6] = [
    (1.0, 309_304.0),
    (5.0, 125_749.0),
    (13.0, 55_977.0),
    (26.0, 29_533.0),
    (52.0, 13_492.0),
    (78.0, 5_624.0),
];

/// The week at which a share `u` (0..1) of the week-1 population is still on benefit, log-linear
/// between the rows of the exclusion table; beyond week 78 the last slope continues.
fn survival_week(u: f64) -> f64 {
    let target = (u * STILL_ON_BENEFIT[0].1).ln();
    for pair in STILL_ON_BENEFIT.windows(2) {
        let ((w0, n0), (w1, n1)) = (pair[0], pair[1]);
        if target >= n1.ln() {
            return w0 + (w1 - w0) * (n0.ln() - target) / (n0.ln() - n1.ln());
        }
    }
    let ((w0, n0), (w1, n1)) = (STILL_ON_BENEFIT[4], STILL_ON_BENEFIT[5]);
    w1 + (w1 - w0) * (n1.ln() - target) / (n0.ln() - n1.ln())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Employment {
    Employed,
    UnemployedInsured,
    Other,
}

/// How a course at the provider ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CourseEnd {
    RecoveredFully,
    LeftBenefit,
    OtherBenefit,
    RecoveredPartly,
    StillOnBenefit,
    DroppedOut,
}

impl CourseEnd {
    /// Quick Care's "left sickness benefit".
    pub fn exits(self) -> bool {
        matches!(
            self,
            Self::RecoveredFully | Self::LeftBenefit | Self::OtherBenefit
        )
    }
}

/// One course at the contracted provider; what lies after "now" is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    pub referred_on: NaiveDate,
    pub started_on: Option<NaiveDate>,
    pub placement_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    pub end: CourseEnd,
    pub satisfied: bool,
}

/// A course as drawn, before "now" cuts it.
struct Drawn {
    referred_on: NaiveDate,
    started_on: NaiveDate,
    placement_on: Option<NaiveDate>,
    ended_on: NaiveDate,
    end: CourseEnd,
    satisfied: bool,
}

/// One case and everything that happens to it up to "now".
#[derive(Debug, Clone, PartialEq)]
pub struct CaseScript {
    pub citizen: String,
    pub first_sick_day: NaiveDate,
    pub employment: Employment,
    pub employer: String,
    /// Visitation to category 1-3, at the first follow-up (D28) when the case lasts that long.
    pub visitation: Option<(NaiveDate, u8)>,
    /// A course, when the case was referred to the provider (events after "now" left out).
    pub course: Option<Course>,
    /// The closing day, when it is not after "now".
    pub closed_on: Option<NaiveDate>,
    pub weeks_on_benefit: f64,
}

const EMPLOYERS: [&str; 6] = [
    "CVR-29189587",
    "CVR-25313763",
    "CVR-10103940",
    "CVR-38995525",
    "CVR-21659509",
    "CVR-61126228",
];

/// `count` cases with first sick days spread over the 78 weeks before `now`.
pub fn municipality(seed: u64, now: NaiveDate, count: usize) -> Vec<CaseScript> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let d0 = now - Duration::days(rng.random_range(7..78 * 7));
            let weeks = survival_week(rng.random_range(0.0..1.0)).max(1.0);
            let employment = match rng.random_range(0..100) {
                0..80 => Employment::Employed,
                80..95 => Employment::UnemployedInsured,
                _ => Employment::Other,
            };
            let employer = if employment == Employment::Employed {
                EMPLOYERS[rng.random_range(0..EMPLOYERS.len())].to_owned()
            } else {
                String::new()
            };
            let mut end = d0 + Duration::days((weeks * 7.0).round() as i64);
            let visit_on = d0 + Duration::days(28);
            let visitation = (weeks >= 5.0 && visit_on <= now).then(|| {
                let category = if weeks < 13.0 {
                    1
                } else if weeks < 52.0 {
                    2
                } else {
                    3
                };
                (visit_on, category)
            });
            // Long cases are the provider's: Quick Care's citizens had 22.3 weeks of absence
            // when their course started.
            let course = (weeks >= 16.0)
                .then(|| course(&mut rng, d0, weeks))
                .filter(|c| c.referred_on <= now);
            if let Some(c) = &course {
                if c.end.exits() {
                    end = c.ended_on;
                } else if end <= c.ended_on {
                    end = c.ended_on + Duration::days(rng.random_range(14..120));
                }
            }
            // Nothing after today: a course still running has only what already happened.
            let course = course.map(|c| Course {
                referred_on: c.referred_on,
                started_on: Some(c.started_on).filter(|d| *d <= now),
                placement_on: c.placement_on.filter(|d| *d <= now),
                ended_on: Some(c.ended_on).filter(|d| *d <= now),
                end: c.end,
                satisfied: c.satisfied,
            });
            CaseScript {
                citizen: format!("demo-{i:04}"),
                first_sick_day: d0,
                employment,
                employer,
                visitation,
                course,
                closed_on: (end <= now).then_some(end),
                weeks_on_benefit: weeks,
            }
        })
        .collect()
}

fn course(rng: &mut StdRng, d0: NaiveDate, weeks: f64) -> Drawn {
    // Absence at start around 22.3 weeks, but never after the case would have ended.
    let start_week = rng.random_range(16.3..28.3_f64).min(weeks.max(16.0));
    let started_on = d0 + Duration::days((start_week * 7.0).round() as i64);
    let wait = rng.random_range(1..=9); // mean 5 days (Quick Care: 4.9)
    let referred_on = started_on - Duration::days(wait);
    let length = rng.random_range(42..=92); // mean 67 days = 9.6 weeks
    let placement_on = (rng.random_range(0..100) < 14)
        .then(|| (referred_on + Duration::days(rng.random_range(14..=24))).max(started_on));
    let end = match rng.random_range(0..100) {
        0..40 => CourseEnd::RecoveredFully,
        40..50 => CourseEnd::LeftBenefit,
        50..60 => CourseEnd::OtherBenefit,
        60..75 => CourseEnd::RecoveredPartly,
        75..95 => CourseEnd::StillOnBenefit,
        _ => CourseEnd::DroppedOut,
    };
    Drawn {
        referred_on,
        started_on,
        placement_on,
        ended_on: started_on + Duration::days(length),
        end,
        satisfied: rng.random_range(0..10) < 8,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn now() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    #[test]
    fn the_survival_curve_passes_through_the_exclusion_table() {
        for (week, persons) in STILL_ON_BENEFIT {
            let w = survival_week(persons / STILL_ON_BENEFIT[0].1);
            assert!((w - week).abs() < 1e-9, "week {week}: {w}");
        }
        assert!(survival_week(0.01) > 78.0);
    }

    #[test]
    fn the_same_seed_gives_the_same_municipality() {
        assert_eq!(municipality(7, now(), 50), municipality(7, now(), 50));
        assert_ne!(municipality(7, now(), 50), municipality(8, now(), 50));
    }

    #[test]
    fn a_large_cohort_follows_the_exclusion_table_and_quick_cares_averages() {
        let cases = municipality(2026, now(), 4000);
        // Of the cases on benefit in week 5, the table keeps 44.5 % until week 13.
        let at = |w: f64| cases.iter().filter(|c| c.weeks_on_benefit >= w).count() as f64;
        let kept = at(13.0) / at(5.0);
        assert!((kept - 55_977.0 / 125_749.0).abs() < 0.04, "{kept}");

        let courses: Vec<(&CaseScript, &Course)> = cases
            .iter()
            .filter_map(|c| c.course.as_ref().map(|k| (c, k)))
            .filter(|(_, k)| k.ended_on.is_some())
            .collect();
        assert!(courses.len() > 100);
        let mean = |f: &dyn Fn(&CaseScript, &Course) -> f64| {
            courses.iter().map(|(c, k)| f(c, k)).sum::<f64>() / courses.len() as f64
        };
        let start = |k: &Course| k.started_on.unwrap();
        let wait = mean(&|_, k| (start(k) - k.referred_on).num_days() as f64);
        let absence = mean(&|c, k| (start(k) - c.first_sick_day).num_days() as f64 / 7.0);
        let length = mean(&|_, k| (k.ended_on.unwrap() - start(k)).num_days() as f64 / 7.0);
        let exits = mean(&|_, k| f64::from(u8::from(k.end.exits())));
        assert!((wait - 4.9).abs() < 0.5, "referral to start {wait}");
        assert!((absence - 22.3).abs() < 1.5, "absence at start {absence}");
        assert!((length - 9.6).abs() < 0.5, "course length {length}");
        assert!((exits - 0.60).abs() < 0.06, "exit rate {exits}");
        // A case that left benefit at the course's end closed that day.
        for (c, k) in &courses {
            if k.end.exits() {
                assert_eq!(c.closed_on, k.ended_on);
            }
        }
    }

    #[test]
    fn nothing_happens_after_now() {
        for c in municipality(1, now(), 500) {
            assert!(c.first_sick_day <= now());
            assert!(c.closed_on.is_none_or(|d| d <= now()));
            assert!(c.visitation.is_none_or(|(d, _)| d <= now()));
            if let Some(k) = &c.course {
                for d in [
                    Some(k.referred_on),
                    k.started_on,
                    k.placement_on,
                    k.ended_on,
                ] {
                    assert!(d.is_none_or(|d| d <= now()));
                }
            }
        }
    }
}
