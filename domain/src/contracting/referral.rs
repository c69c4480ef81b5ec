//! A case referred to a provider under a contract, and what happens to it.
//!
//! The referral date is the visitation (visitationsdato): the jobcentre's decision to refer,
//! from which Quick Care counts "4.9 days from visitation to start of the offer" and "19 days
//! from visitation to start of the work placement" ([004 §7] 004_29a2444e953dfa53.txt; field
//! names after DOMAIN.md Appendix B: `visitationsdato`, `opstartsdato`, `praktik_start`,
//! `delvis_raskmelding_dato`).
//!
//! Events are validated against what is already recorded: each date at most once, in order
//! (referral ≤ start ≤ placement ≤ end), never in the future, and nothing but a satisfaction
//! answer after the end.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::case::{CaseId, parse_date};
use crate::error::Invalid;

use super::model::{ContractId, id_type};

id_type!(
    /// A referral's identifier.
    ReferralId
);

/// Another public benefit a citizen left sickness benefit for (DOMAIN.md Appendix B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtherBenefit {
    /// Førtidspension.
    EarlyRetirementPension,
    /// Fleksjob or ledighedsydelse (flex-job waiting allowance).
    FlexJob,
    /// Revalidering.
    Revalidation,
    /// Kontanthjælp.
    CashBenefit,
    /// Jobafklaringsforløb (today's law, after the duration limit).
    JobClarification,
    Other,
}

/// How a course ended.
///
/// Two success measures hang on this and must never be compared with each other (DOMAIN.md
/// A14): *left sickness benefit* (Quick Care's 60 %, [`EndOutcome::left_sickness_benefit`])
/// and *recovered fully or partly* (Roskilde's 67 %, [`EndOutcome::recovered_full_or_partial`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndOutcome {
    /// Raskmeldt helt: fully recovered (back at work, or available to the labour market);
    /// sickness benefit ends.
    RecoveredFully,
    /// Raskmeldt delvist: back part-time; the citizen still draws partial sickness benefit.
    RecoveredPartly,
    /// Afgået fra sygedagpenge without a recorded full recovery (e.g. the benefit stopped, the
    /// citizen moved or started education).
    LeftBenefit,
    /// Left sickness benefit for another public benefit.
    OtherBenefit(OtherBenefit),
    /// The course is completed and the citizen still draws full sickness benefit.
    StillOnBenefit,
    /// The course was broken off after it started (afbrudt).
    DroppedOut,
    /// The referral was withdrawn or the citizen never started: not a course, and it frees
    /// capacity.
    Withdrawn,
}

impl EndOutcome {
    /// Quick Care's "afgået fra sygedagpenge" by course end (INFERRED: at course end; the seed
    /// does not say when it was measured) — [004 §7].
    pub fn left_sickness_benefit(self) -> bool {
        matches!(
            self,
            EndOutcome::RecoveredFully | EndOutcome::LeftBenefit | EndOutcome::OtherBenefit(_)
        )
    }

    /// Roskilde's "raskmeldt helt eller delvist" ([004 §7]).
    pub fn recovered_full_or_partial(self) -> bool {
        matches!(
            self,
            EndOutcome::RecoveredFully | EndOutcome::RecoveredPartly
        )
    }
}

/// The end of a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CourseEnd {
    pub on: NaiveDate,
    pub outcome: EndOutcome,
}

/// A case referred under a contract, with everything recorded about its course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub id: ReferralId,
    pub contract: ContractId,
    pub case: CaseId,
    /// D0 of the case: absence at start is counted from here.
    pub first_sick_day: NaiveDate,
    /// Visitationsdato: the referral decision.
    pub referred_on: NaiveDate,
    /// Opstartsdato: first day of the course.
    pub started_on: Option<NaiveDate>,
    /// Praktik start: first day of the first work placement (virksomhedspraktik) in the course.
    pub placement_on: Option<NaiveDate>,
    /// Delvis raskmelding: first day of partial return during the course.
    pub partial_return_on: Option<NaiveDate>,
    /// Whether the citizen was satisfied overall — a yes/no per person, never a score (A18).
    pub satisfied: Option<bool>,
    pub ended: Option<CourseEnd>,
}

/// A new referral as a caller sent it, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawReferral<'a> {
    pub case: Option<CaseId>,
    /// The case's first sick day, "YYYY-MM-DD".
    pub first_sick_day: &'a str,
    /// "YYYY-MM-DD".
    pub referred_on: &'a str,
}

/// Something that happened to a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ReferralEvent {
    Started { on: NaiveDate },
    PlacementStarted { on: NaiveDate },
    PartialReturn { on: NaiveDate },
    SatisfactionRecorded { satisfied: bool },
    Ended { on: NaiveDate, outcome: EndOutcome },
}

impl ReferralEvent {
    /// The request field an event's date is reported under.
    pub fn field(&self) -> &'static str {
        match self {
            ReferralEvent::Started { .. } => "started_on",
            ReferralEvent::PlacementStarted { .. } => "placement_on",
            ReferralEvent::PartialReturn { .. } => "partial_return_on",
            ReferralEvent::SatisfactionRecorded { .. } => "satisfied",
            ReferralEvent::Ended { .. } => "ended_on",
        }
    }
}

impl Referral {
    /// Validates a new referral as of `today`; fields are prefixed with `prefix`
    /// (`case`, `first_sick_day`, `referred_on`). Whether the contract takes it is
    /// [`super::admit_referral`]'s question.
    pub fn parse(
        id: ReferralId,
        contract: ContractId,
        raw: &RawReferral<'_>,
        today: NaiveDate,
        prefix: &str,
    ) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let field = |name: &str| format!("{prefix}{name}");
        if raw.case.is_none() {
            invalid.push(field("case"), "is required");
        }
        let d0 = parse_date(raw.first_sick_day)
            .map_err(|e| invalid.push(field("first_sick_day"), e))
            .ok();
        let referred = parse_date(raw.referred_on)
            .map_err(|e| invalid.push(field("referred_on"), e))
            .ok();
        if let Some(r) = referred {
            if r > today {
                invalid.push(field("referred_on"), "must not be after today");
            }
            if d0.is_some_and(|d0| r < d0) {
                invalid.push(
                    field("referred_on"),
                    "must not be before the first sick day",
                );
            }
        }
        match (raw.case, d0, referred) {
            (Some(case), Some(first_sick_day), Some(referred_on)) if invalid.is_empty() => {
                Ok(Self {
                    id,
                    contract,
                    case,
                    first_sick_day,
                    referred_on,
                    started_on: None,
                    placement_on: None,
                    partial_return_on: None,
                    satisfied: None,
                    ended: None,
                })
            }
            _ => Err(invalid),
        }
    }

    /// The referral with `event` applied, as of `today`. A field already recorded with the same
    /// value is accepted unchanged (a retried event); with another value it is refused.
    /// The violation names `{prefix}{event.field()}`.
    pub fn apply(
        &self,
        event: &ReferralEvent,
        today: NaiveDate,
        prefix: &str,
    ) -> Result<Self, Invalid> {
        let field = format!("{prefix}{}", event.field());
        let fail = |why: String| Err(Invalid::single(field.clone(), why));

        let (on, current) = match *event {
            ReferralEvent::SatisfactionRecorded { satisfied } => {
                return match self.satisfied {
                    Some(s) if s != satisfied => fail("is already recorded".into()),
                    _ => Ok(Self {
                        satisfied: Some(satisfied),
                        ..self.clone()
                    }),
                };
            }
            ReferralEvent::Ended { on, outcome } => return self.end(outcome, on, today, &field),
            ReferralEvent::Started { on } => (on, self.started_on),
            ReferralEvent::PlacementStarted { on } => (on, self.placement_on),
            ReferralEvent::PartialReturn { on } => (on, self.partial_return_on),
        };
        if current == Some(on) {
            return Ok(self.clone());
        }
        if let Some(was) = current {
            return fail(format!("is already recorded as {was}"));
        }
        if on > today {
            return fail("must not be after today".into());
        }
        if on < self.referred_on {
            return fail(format!(
                "must not be before the referral date {}",
                self.referred_on
            ));
        }
        if let Some(end) = self.ended
            && (on > end.on || end.outcome == EndOutcome::Withdrawn)
        {
            return fail(format!("the referral ended on {}", end.on));
        }
        let mut next = self.clone();
        match event {
            ReferralEvent::Started { .. } => {
                if let Some(p) = self.placement_on.filter(|p| *p < on) {
                    return fail(format!("must not be after the placement start {p}"));
                }
                next.started_on = Some(on);
            }
            ReferralEvent::PlacementStarted { .. } => {
                match self.started_on {
                    None => return fail("the course has not started".into()),
                    Some(s) if on < s => {
                        return fail(format!("must not be before the course start {s}"));
                    }
                    Some(_) => {}
                }
                next.placement_on = Some(on);
            }
            ReferralEvent::PartialReturn { .. } => next.partial_return_on = Some(on),
            ReferralEvent::SatisfactionRecorded { .. } | ReferralEvent::Ended { .. } => {}
        }
        Ok(next)
    }

    fn end(
        &self,
        outcome: EndOutcome,
        on: NaiveDate,
        today: NaiveDate,
        field: &str,
    ) -> Result<Self, Invalid> {
        let fail = |why: String| Err(Invalid::single(field, why));
        let end = CourseEnd { on, outcome };
        if let Some(was) = self.ended {
            return if was == end {
                Ok(self.clone())
            } else {
                fail(format!("the referral already ended on {}", was.on))
            };
        }
        if on > today {
            return fail("must not be after today".into());
        }
        if on < self.referred_on {
            return fail(format!(
                "must not be before the referral date {}",
                self.referred_on
            ));
        }
        let latest = [self.started_on, self.placement_on, self.partial_return_on]
            .into_iter()
            .flatten()
            .max();
        if let Some(latest) = latest.filter(|l| on < *l) {
            return fail(format!(
                "must not be before the last recorded event {latest}"
            ));
        }
        match (outcome, self.started_on) {
            (EndOutcome::Withdrawn, Some(s)) => {
                return fail(format!(
                    "the course started on {s}: end it with an outcome, e.g. dropped_out"
                ));
            }
            (EndOutcome::Withdrawn, None) | (_, Some(_)) => {}
            (_, None) => {
                return fail(
                    "the course never started: only withdrawn can end it (record the start first)"
                        .into(),
                );
            }
        }
        let mut next = self.clone();
        next.ended = Some(end);
        Ok(next)
    }

    /// In progress on `date`: referred on or before it and not ended on or before it (a
    /// referral frees its capacity slot on its end date).
    pub fn in_progress_on(&self, date: NaiveDate) -> bool {
        self.referred_on <= date && self.ended.is_none_or(|e| e.on > date)
    }

    pub fn is_withdrawn(&self) -> bool {
        self.ended
            .is_some_and(|e| e.outcome == EndOutcome::Withdrawn)
    }

    /// A completed course: started and ended (any outcome but withdrawn). Returns the end.
    pub fn completed(&self) -> Option<(NaiveDate, CourseEnd)> {
        match (self.started_on, self.ended) {
            (Some(s), Some(e)) if e.outcome != EndOutcome::Withdrawn => Some((s, e)),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::weeks::day;

    fn d0() -> NaiveDate {
        NaiveDate::from_ymd_opt(2011, 1, 3).unwrap()
    }

    fn referral() -> Referral {
        let raw = RawReferral {
            case: Some(CaseId::new(1, 1)),
            first_sick_day: "2011-01-03",
            referred_on: "2011-05-30",
        };
        Referral::parse(
            ReferralId::new(1, 1),
            ContractId::new(1, 2),
            &raw,
            day(d0(), 400),
            "referral.",
        )
        .unwrap()
    }

    #[test]
    fn new_referrals_are_validated() {
        let raw = RawReferral {
            case: None,
            first_sick_day: "2011-02-01",
            referred_on: "2011-01-31",
        };
        let err = Referral::parse(
            ReferralId::new(1, 1),
            ContractId::new(1, 2),
            &raw,
            d0(),
            "referral.",
        )
        .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "referral.case",
                "referral.referred_on",
                "referral.referred_on"
            ]
        );
    }

    #[test]
    fn a_full_course_in_order() {
        let r = referral();
        let today = day(d0(), 400);
        let start = day(r.referred_on, 5);
        let r = r
            .apply(&ReferralEvent::Started { on: start }, today, "")
            .unwrap();
        let r = r
            .apply(
                &ReferralEvent::PlacementStarted {
                    on: day(r.referred_on, 19),
                },
                today,
                "",
            )
            .unwrap();
        let r = r
            .apply(
                &ReferralEvent::PartialReturn {
                    on: day(r.referred_on, 30),
                },
                today,
                "",
            )
            .unwrap();
        let end = ReferralEvent::Ended {
            on: day(start, 67),
            outcome: EndOutcome::RecoveredFully,
        };
        let r = r.apply(&end, today, "").unwrap();
        assert_eq!(r.apply(&end, today, "").unwrap(), r, "a retried event");
        let r = r
            .apply(
                &ReferralEvent::SatisfactionRecorded { satisfied: true },
                today,
                "",
            )
            .unwrap();
        assert_eq!(r.completed().map(|(s, _)| s), Some(start));
        assert!(!r.in_progress_on(day(start, 67)) && r.in_progress_on(day(start, 66)));
    }

    #[test]
    fn events_out_of_order_are_refused_with_their_field() {
        let r = referral();
        let today = day(d0(), 400);
        let early = ReferralEvent::Started {
            on: day(r.referred_on, -1),
        };
        assert_eq!(
            r.apply(&early, today, "referral.").unwrap_err().0[0].field,
            "referral.started_on"
        );
        let placement = ReferralEvent::PlacementStarted {
            on: day(r.referred_on, 3),
        };
        assert!(
            r.apply(&placement, today, "").is_err(),
            "placement before start"
        );
        let future = ReferralEvent::Started { on: day(today, 1) };
        assert!(r.apply(&future, today, "").is_err());
        let ended_unstarted = ReferralEvent::Ended {
            on: day(r.referred_on, 2),
            outcome: EndOutcome::DroppedOut,
        };
        assert_eq!(
            r.apply(&ended_unstarted, today, "").unwrap_err().0[0].field,
            "ended_on"
        );
        let started = r
            .apply(
                &ReferralEvent::Started {
                    on: day(r.referred_on, 4),
                },
                today,
                "",
            )
            .unwrap();
        let again = ReferralEvent::Started {
            on: day(r.referred_on, 5),
        };
        assert!(started.apply(&again, today, "").is_err(), "already started");
        let withdrawn = ReferralEvent::Ended {
            on: day(r.referred_on, 6),
            outcome: EndOutcome::Withdrawn,
        };
        assert!(
            started.apply(&withdrawn, today, "").is_err(),
            "a started course is not withdrawn"
        );
        let w = r.apply(&withdrawn, today, "").unwrap();
        assert!(w.is_withdrawn() && w.completed().is_none());
    }

    #[test]
    fn the_two_success_measures_differ_a14() {
        assert!(EndOutcome::RecoveredPartly.recovered_full_or_partial());
        assert!(!EndOutcome::RecoveredPartly.left_sickness_benefit());
        let pension = EndOutcome::OtherBenefit(OtherBenefit::EarlyRetirementPension);
        assert!(pension.left_sickness_benefit() && !pension.recovered_full_or_partial());
        assert!(EndOutcome::RecoveredFully.left_sickness_benefit());
    }
}
