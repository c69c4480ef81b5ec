//! Who pays a case's sickness benefit, day by day and week by week, under each regime
//! (DOMAIN.md §5.1–5.2), and the refund of offers' operating costs under the common ceiling
//! (§5.3). Shares are basis points, money is integer øre; the municipality, as payer of last
//! resort, absorbs rounding so every split sums exactly to the benefit paid.
//!
//! Sources: [003 P21] 003_532c043554107ee2.txt, [002 §1.1] 002_59c7ae5e83dc120d.txt,
//! [001 appendix] 001_fb3c8f7d7777c6f3.txt, [004 fig.3] 004_29a2444e953dfa53.txt.

use crate::facts::{CaseFacts, EmploymentStatus, OfferType, WeeklyHours};
use crate::offers::{meets_min_hours, min_hours_rule};
use crate::rules::{Qualifying, Refund, RuleSet, RuleSetId, Shares};
use crate::weeks::{add_days, sick_day_of};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::ops::Add;

/// Money in øre (1 DKK = 100 øre).
pub type Oere = i64;

/// Activity status of a day or week (Aktivitetsstatus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// Passive support.
    Passive,
    /// Delvis raskmeldt: active in every regime where activity matters.
    PartialReturn,
    /// In an active offer. Ordinary education counts as workplace-oriented only if it meets the
    /// three conditions of [001 appendix]; the caller decides that.
    Offer {
        kind: OfferType,
        hours_per_week: WeeklyHours,
        fewer_hours_documented: bool,
    },
}

impl Activity {
    /// The activity recorded in the facts on `date`: partial return first, else the offer with
    /// the most hours.
    pub fn on(facts: &CaseFacts, date: NaiveDate) -> Activity {
        if facts.partial_return_on(date).is_some() {
            return Activity::PartialReturn;
        }
        facts
            .offers_on(date)
            .max_by_key(|o| o.hours_per_week)
            .map_or(Activity::Passive, |o| Activity::Offer {
                kind: o.kind,
                hours_per_week: o.hours_per_week,
                fewer_hours_documented: o.fewer_hours_reason.is_some(),
            })
    }
}

/// A sum of benefit expense split between the payers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Split {
    pub employer: Oere,
    pub municipality: Oere,
    pub state: Oere,
}

impl Split {
    pub fn total(&self) -> Oere {
        self.employer + self.municipality + self.state
    }
}

impl Add for Split {
    type Output = Split;

    fn add(self, o: Split) -> Split {
        Split {
            employer: self.employer + o.employer,
            municipality: self.municipality + o.municipality,
            state: self.state + o.state,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReimbursementError {
    #[error("rule set {0:?} carries no refund rules")]
    NoRefundRules(RuleSetId),
    #[error("rule set {0:?} carries no operating-cost rules")]
    NoOperatingCostRules(RuleSetId),
    #[error("rule set {0:?} has no refund band for sick week {1}")]
    NoBand(RuleSetId, u32),
}

/// The financing rules of one rule set applied to one person.
#[derive(Debug, Clone, Copy)]
pub struct Financing<'a> {
    rs: &'a RuleSet,
    refund: &'a Refund,
    employment: EmploymentStatus,
    trial: bool,
    /// Days D0.. the employer carries (T-01/T-01b), for the employed.
    employer_days: i64,
}

/// Basis points per whole share.
const WHOLE: i128 = 10_000;
const DAYS_PER_WEEK: u32 = 7;

impl<'a> Financing<'a> {
    pub fn new(
        rs: &'a RuleSet,
        employment: EmploymentStatus,
        first_sick_day: NaiveDate,
        trial: bool,
    ) -> Result<Self, ReimbursementError> {
        let refund = &rs
            .refund
            .as_ref()
            .ok_or(ReimbursementError::NoRefundRules(rs.id))?
            .value;
        let period_end = rs.employer_period.value.after(first_sick_day);
        let employer_days = sick_day_of(first_sick_day, period_end).0;
        Ok(Self {
            rs,
            refund,
            employment,
            trial,
            employer_days,
        })
    }

    pub fn for_case(rs: &'a RuleSet, facts: &CaseFacts) -> Result<Self, ReimbursementError> {
        Self::new(rs, facts.employment, facts.first_sick_day, facts.trial)
    }

    /// Whether an activity earns the high ("active") refund under this rule set.
    pub fn is_active(&self, activity: &Activity) -> bool {
        let hours_ok =
            |hours: WeeklyHours, documented: bool| match min_hours_rule(self.rs, self.trial) {
                Some(rule) => meets_min_hours(&rule.value, hours, documented),
                None => hours > WeeklyHours::default(),
            };
        match (self.refund.qualifying, activity) {
            (Qualifying::Nothing, _) | (_, Activity::Passive) => false,
            (_, Activity::PartialReturn) => true,
            (
                Qualifying::AnyOffer,
                Activity::Offer {
                    hours_per_week,
                    fewer_hours_documented,
                    ..
                },
            ) => hours_ok(*hours_per_week, *fewer_hours_documented),
            (
                Qualifying::WorkplaceOriented,
                Activity::Offer {
                    kind,
                    hours_per_week,
                    fewer_hours_documented,
                },
            ) => {
                matches!(
                    kind,
                    OfferType::WorkPlacement
                        | OfferType::WageSubsidy
                        | OfferType::OrdinaryEducation
                ) && hours_ok(*hours_per_week, *fewer_hours_documented)
            }
        }
    }

    /// Shares of the benefit for day index `day` (D0 = 0).
    pub fn shares_on_day(
        &self,
        day: u32,
        activity: &Activity,
    ) -> Result<Shares, ReimbursementError> {
        let week = day / DAYS_PER_WEEK + 1;
        match self.employment {
            EmploymentStatus::Employed if i64::from(day) < self.employer_days => {
                return Ok(Shares::EMPLOYER);
            }
            EmploymentStatus::UnemployedInsured
                if week <= self.refund.unemployed_state_weeks.value =>
            {
                return Ok(Shares::STATE);
            }
            _ => {}
        }
        let band = self
            .refund
            .bands
            .iter()
            .find(|b| b.first_week <= week && b.last_week.is_none_or(|last| week <= last))
            .ok_or(ReimbursementError::NoBand(self.rs.id, week))?;
        Ok(if self.is_active(activity) {
            band.active
        } else {
            band.passive
        })
    }

    /// Split of one sick week's benefit, the same activity all week.
    pub fn week(
        &self,
        week: u32,
        activity: &Activity,
        weekly_benefit: Oere,
    ) -> Result<Split, ReimbursementError> {
        let first = week.saturating_sub(1) * DAYS_PER_WEEK;
        let days = (first..first + DAYS_PER_WEEK).map(|d| self.shares_on_day(d, activity));
        split(days, weekly_benefit)
    }

    /// Sum over `(sick week, activity)` pairs.
    pub fn weeks<'b>(
        &self,
        weeks: impl IntoIterator<Item = (u32, &'b Activity)>,
        weekly_benefit: Oere,
    ) -> Result<Split, ReimbursementError> {
        weeks.into_iter().try_fold(Split::default(), |acc, (w, a)| {
            Ok(acc + self.week(w, a, weekly_benefit)?)
        })
    }

    /// Split of a case's benefit from D0 through `through` (or its closing day), day by day from
    /// the activities recorded in the facts.
    pub fn case(
        &self,
        facts: &CaseFacts,
        weekly_benefit: Oere,
        through: NaiveDate,
    ) -> Result<Split, ReimbursementError> {
        let end = facts.closed_by(through).unwrap_or(through);
        let d0 = facts.first_sick_day;
        let last = u32::try_from(sick_day_of(d0, end).0).unwrap_or(0);
        let days = (0..=last).filter(|_| end >= d0).map(|n| {
            let date = add_days(d0, i64::from(n));
            self.shares_on_day(n, &Activity::on(facts, date))
        });
        split(days, weekly_benefit)
    }
}

/// Turns per-day shares into money: each day is a seventh of the weekly benefit.
fn split(
    days: impl Iterator<Item = Result<Shares, ReimbursementError>>,
    weekly_benefit: Oere,
) -> Result<Split, ReimbursementError> {
    let (mut employer, mut state, mut count) = (0i128, 0i128, 0i128);
    for s in days {
        let s = s?;
        employer += i128::from(s.employer);
        state += i128::from(s.state);
        count += 1;
    }
    let weekly = i128::from(weekly_benefit);
    let per_bp_day = WHOLE * i128::from(DAYS_PER_WEEK);
    let total = weekly * count / i128::from(DAYS_PER_WEEK);
    let employer = weekly * employer / per_bp_day;
    let state = weekly * state / per_bp_day;
    let to_oere = |v: i128| Oere::try_from(v).unwrap_or(Oere::MAX);
    Ok(Split {
        employer: to_oere(employer),
        municipality: to_oere(total - employer - state),
        state: to_oere(state),
    })
}

/// First sick week in which the state refunds nothing whatever the activity (week 53 in every
/// seed regime).
pub fn refund_ends_week(refund: &Refund) -> Option<u32> {
    refund
        .bands
        .iter()
        .find(|b| b.active.state == 0 && b.passive.state == 0)
        .map(|b| b.first_week)
}

/// State refund of offers' operating costs for a target group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatingCostRefund {
    /// `None` when the rule set has no ceiling.
    pub ceiling: Option<Oere>,
    /// Costs that count for refund: `min(actual, ceiling)`.
    pub refundable: Oere,
    pub refund: Oere,
}

/// [001 appendix] §5.3: refund of `actual` operating costs for a group that drew `benefit_weeks`
/// weeks of benefit in total; the ceiling is 13,700 DKK per full-year person (52 weeks) from
/// 2011, none before.
pub fn operating_cost_refund(
    rs: &RuleSet,
    actual: Oere,
    benefit_weeks: u32,
) -> Result<OperatingCostRefund, ReimbursementError> {
    let rule = rs
        .operating_cost
        .as_ref()
        .ok_or(ReimbursementError::NoOperatingCostRules(rs.id))?;
    let c = rule.value;
    let ceiling = c.ceiling_per_full_year_person.map(|per| {
        let v = i128::from(per) * i128::from(benefit_weeks)
            / i128::from(c.weeks_per_full_year_person.max(1));
        Oere::try_from(v).unwrap_or(Oere::MAX)
    });
    let refundable = ceiling.map_or(actual, |ceiling| actual.min(ceiling));
    let refund =
        Oere::try_from(i128::from(refundable) * i128::from(c.rate) / WHOLE).unwrap_or(Oere::MAX);
    Ok(OperatingCostRefund {
        ceiling,
        refundable,
        refund,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::facts::{OfferPeriod, PartialReturn};
    use crate::weeks::day;

    /// 3,500 DKK a week = 500 DKK a day, so every table cell is exact.
    const WEEKLY: Oere = 350_000;

    fn d0() -> NaiveDate {
        NaiveDate::from_ymd_opt(2012, 3, 5).unwrap()
    }

    fn fin(id: RuleSetId, employment: EmploymentStatus) -> Financing<'static> {
        Financing::new(RuleSet::get(id), employment, d0(), false).unwrap()
    }

    fn split_of(employer: Oere, municipality: Oere, state: Oere) -> Split {
        Split {
            employer,
            municipality,
            state,
        }
    }

    fn placement(hours: u32) -> Activity {
        Activity::Offer {
            kind: OfferType::WorkPlacement,
            hours_per_week: WeeklyHours::hours(hours),
            fewer_hours_documented: false,
        }
    }

    /// [004 fig.3], week by week: (employer, municipality, state) in % of the weekly benefit.
    fn table_2012(employed: bool, active: bool, week: u32) -> (Oere, Oere, Oere) {
        match week {
            1..=4 if employed => (100, 0, 0),
            1..=4 => (0, 0, 100),
            // Employed: D28–D29 are still inside the 30-day employer period.
            5 if employed => (0, 0, 0),
            5..=8 => (0, 50, 50),
            9..=52 if active => (0, 50, 50),
            9..=52 => (0, 70, 30),
            _ => (0, 100, 0),
        }
    }

    #[test]
    fn fig3_2012_financing_table_week_by_week() {
        for employment in [
            EmploymentStatus::Employed,
            EmploymentStatus::UnemployedInsured,
        ] {
            let f = fin(RuleSetId::R2012, employment);
            for active in [false, true] {
                let activity = if active {
                    placement(12)
                } else {
                    Activity::Passive
                };
                for week in 1..=60 {
                    let got = f.week(week, &activity, WEEKLY).unwrap();
                    let employed = employment == EmploymentStatus::Employed;
                    let (e, m, s) = table_2012(employed, active, week);
                    let want = if employed && week == 5 {
                        // 2 employer days + 5 days split 50/50.
                        split_of(100_000, 125_000, 125_000)
                    } else {
                        split_of(WEEKLY * e / 100, WEEKLY * m / 100, WEEKLY * s / 100)
                    };
                    assert_eq!(got, want, "{employment:?} active={active} week {week}");
                }
            }
        }
    }

    #[test]
    fn fig3_daily_shares_across_the_employer_period() {
        let f = fin(RuleSetId::R2012, EmploymentStatus::Employed);
        assert_eq!(
            f.shares_on_day(29, &Activity::Passive).unwrap(),
            Shares::EMPLOYER
        );
        assert_eq!(
            f.shares_on_day(30, &Activity::Passive).unwrap(),
            Shares::new(0, 5_000, 5_000)
        );
        let r2008 = fin(RuleSetId::R2008, EmploymentStatus::Employed);
        assert_eq!(
            r2008.shares_on_day(20, &Activity::Passive).unwrap(),
            Shares::EMPLOYER,
            "T-01: 21 days"
        );
        assert_eq!(
            r2008.shares_on_day(21, &Activity::Passive).unwrap(),
            Shares::new(0, 5_000, 5_000)
        );
    }

    #[test]
    fn p21_r2008_refund_independent_of_activity_and_none_from_week_53() {
        let f = fin(RuleSetId::R2008, EmploymentStatus::Employed);
        assert_eq!(
            f.week(20, &Activity::Passive, WEEKLY).unwrap(),
            f.week(20, &placement(20), WEEKLY).unwrap()
        );
        assert_eq!(
            f.week(20, &Activity::Passive, WEEKLY).unwrap(),
            split_of(0, 175_000, 175_000)
        );
        assert_eq!(
            f.week(53, &Activity::Passive, WEEKLY).unwrap(),
            split_of(0, WEEKLY, 0)
        );
    }

    #[test]
    fn p21_p2008_65_35_after_week_4_with_10_hour_threshold() {
        let f = fin(RuleSetId::P2008, EmploymentStatus::UnemployedInsured);
        assert_eq!(
            f.week(4, &Activity::Passive, WEEKLY).unwrap(),
            split_of(0, 0, WEEKLY),
            "T-02"
        );
        assert_eq!(
            f.week(5, &Activity::Passive, WEEKLY).unwrap(),
            split_of(0, 227_500, 122_500)
        );
        assert_eq!(
            f.week(5, &placement(10), WEEKLY).unwrap(),
            split_of(0, 122_500, 227_500)
        );
        assert_eq!(
            f.week(5, &placement(9), WEEKLY).unwrap(),
            split_of(0, 227_500, 122_500)
        );
        let documented = Activity::Offer {
            kind: OfferType::GuidanceAndUpskilling,
            hours_per_week: WeeklyHours::hours(4),
            fewer_hours_documented: true,
        };
        assert!(
            f.is_active(&documented),
            "fewer hours with documentation count"
        );
        assert!(f.is_active(&Activity::PartialReturn));
    }

    #[test]
    fn refund_2009_window_weeks_8_to_52_a5() {
        let f = fin(RuleSetId::R2009, EmploymentStatus::Employed);
        assert_eq!(
            f.week(7, &placement(10), WEEKLY).unwrap(),
            split_of(0, 175_000, 175_000)
        );
        assert_eq!(
            f.week(8, &placement(10), WEEKLY).unwrap(),
            split_of(0, 122_500, 227_500)
        );
        assert_eq!(
            f.week(52, &Activity::Passive, WEEKLY).unwrap(),
            split_of(0, 227_500, 122_500)
        );
    }

    #[test]
    fn refund_2011_guidance_gets_the_low_rate_a7() {
        let f = fin(RuleSetId::A2010, EmploymentStatus::Employed);
        let course = Activity::Offer {
            kind: OfferType::GuidanceAndUpskilling,
            hours_per_week: WeeklyHours::hours(15),
            fewer_hours_documented: false,
        };
        assert_eq!(
            f.week(10, &course, WEEKLY).unwrap(),
            split_of(0, 245_000, 105_000),
            "30 % refund"
        );
        assert_eq!(
            f.week(10, &placement(15), WEEKLY).unwrap(),
            split_of(0, 175_000, 175_000),
            "50 %"
        );
        assert_eq!(
            f.week(10, &Activity::PartialReturn, WEEKLY).unwrap(),
            split_of(0, 175_000, 175_000)
        );
    }

    #[test]
    fn today_has_no_refund_rules() {
        let err = Financing::new(
            RuleSet::get(RuleSetId::L2014),
            EmploymentStatus::Employed,
            d0(),
            false,
        );
        assert_eq!(
            err.unwrap_err(),
            ReimbursementError::NoRefundRules(RuleSetId::L2014)
        );
    }

    #[test]
    fn case_split_follows_recorded_activity_and_sums_exactly() {
        let mut facts = CaseFacts::new(d0(), EmploymentStatus::Employed);
        facts.partial_returns.push(PartialReturn {
            from: day(d0(), 63),
            to: Some(day(d0(), 69)),
            hours_per_week: WeeklyHours::hours(20),
        });
        facts.offers.push(OfferPeriod {
            from: day(d0(), 70),
            to: Some(day(d0(), 76)),
            kind: OfferType::GuidanceAndUpskilling,
            hours_per_week: WeeklyHours::hours(12),
            fewer_hours_reason: None,
        });
        let f = Financing::for_case(RuleSet::get(RuleSetId::R2012), &facts).unwrap();
        let got = f.case(&facts, 405_500, day(d0(), 76)).unwrap();
        let by_week: Vec<(u32, Activity)> = (1..=11)
            .map(|w| (w, Activity::on(&facts, day(d0(), i64::from(w - 1) * 7))))
            .collect();
        let want = f
            .weeks(by_week.iter().map(|(w, a)| (*w, a)), 405_500)
            .unwrap();
        assert_eq!(got.total(), 11 * 405_500);
        assert!(
            (got.municipality - want.municipality).abs() <= 11,
            "{got:?} vs {want:?}"
        );
        assert_eq!(
            f.week(10, &Activity::PartialReturn, 405_500).unwrap().state,
            202_750
        );
    }

    #[test]
    fn refund_ends_in_week_53_in_every_seed_regime() {
        for rs in RuleSet::all().iter().filter(|rs| rs.refund.is_some()) {
            assert_eq!(
                refund_ends_week(&rs.refund.unwrap().value),
                Some(53),
                "{:?}",
                rs.id
            );
        }
    }

    #[test]
    fn operating_cost_ceiling_13700_per_full_year_person() {
        let a2010 = RuleSet::get(RuleSetId::A2010);
        let full_year = operating_cost_refund(a2010, 2_000_000, 52).unwrap();
        assert_eq!(
            full_year,
            OperatingCostRefund {
                ceiling: Some(1_370_000),
                refundable: 1_370_000,
                refund: 685_000
            }
        );
        assert_eq!(
            operating_cost_refund(a2010, 2_000_000, 26).unwrap().ceiling,
            Some(685_000)
        );
        assert_eq!(
            operating_cost_refund(a2010, 500_000, 52).unwrap().refund,
            250_000,
            "under the ceiling"
        );
        let before = operating_cost_refund(RuleSet::get(RuleSetId::R2009), 2_000_000, 52).unwrap();
        assert_eq!(
            (before.ceiling, before.refund),
            (None, 1_000_000),
            "no ceiling before 2011"
        );
        assert!(operating_cost_refund(RuleSet::get(RuleSetId::R2008), 1, 1).is_err());
    }
}
