//! A case's deadlines and milestones as of a date, under one rule set (DOMAIN.md §2).
//!
//! `timeline(facts, rule_set, as_of)` is a pure function: facts dated after `as_of` are ignored,
//! so the same inputs always give the same timeline, and two rule sets on the same facts give
//! two comparable timelines. A deadline that falls after the case closed is `NotApplicable`;
//! one missed before closing stays `Overdue`.

use crate::facts::{CaseFacts, Category, EmploymentStatus};
use crate::followup::{FollowUpSlot, follow_up_slots, weekly_contact_slots};
use crate::reimbursement::refund_ends_week;
use crate::rules::{FormPenalty, Rule, RuleId, RuleSet, RuleSetId};
use crate::weeks::{DueBy, add_days, start_of_sick_week};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Where a deadline stands on the timeline's `as_of` date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Done (see `met_on`; it may have been late).
    Met,
    /// Not done, due date not passed.
    Due,
    /// Not done, due date passed.
    Overdue,
    /// Does not apply to this case (wrong person type, exempt, after closing, no statutory date).
    NotApplicable,
}

/// What a deadline asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeadlineKind {
    /// T-03: employer notification (anmeldelse).
    EmployerNotification,
    /// T-03b: insured unemployed report sickness.
    SelfReport,
    /// T-05: information form (oplysningsskema) returned.
    InformationForm,
    /// T-07: employer conversation.
    EmployerConversation,
    /// T-07b: the optional early employer conversation (advisory).
    EmployerConversationEarly,
    /// T-11 / T-13 / T-13b / SDL-13a/b: follow-up talk number n.
    FollowUp { number: u32 },
    /// T-15: follow-up plan (opfølgningsplan).
    FollowUpPlan,
    /// SDL § 13b: minimum number of follow-ups in the first half year.
    MinimumFollowUps { count: u32 },
    /// T-18c: weekly contact talk number n in the trial.
    WeeklyContact { number: u32 },
    /// T-18d: partly back at work or in offers after the 8-week talk (trial).
    TrialActive,
    /// STAR-22: reassessment (revurdering).
    Reassessment,
    /// SDL-13d: category 3 to the rehabilitation team.
    RehabilitationTeam,
}

/// One obligation with its rule, date and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub rule_id: RuleId,
    pub kind: DeadlineKind,
    /// `None` only for `NotApplicable` deadlines without a statutory date.
    pub due: Option<NaiveDate>,
    pub status: Status,
    pub met_on: Option<NaiveDate>,
    /// Advisory deadlines (T-07b) never carry a sanction.
    pub advisory: bool,
    pub note: String,
}

impl Deadline {
    /// Met, but after the due date.
    pub fn is_late(&self) -> bool {
        matches!((self.met_on, self.due), (Some(met), Some(due)) if met > due)
    }
}

/// Where a milestone stands on `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneStatus {
    Reached,
    Upcoming,
    /// The case closed before it.
    NotApplicable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MilestoneKind {
    /// AL-19: the case enters sick week n.
    SickWeek { week: u32 },
    /// The state refund ends (municipality bears all from this week, [003 P21], [004 fig.3]).
    RefundEnds { week: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    pub rule_id: RuleId,
    pub kind: MilestoneKind,
    pub on: NaiveDate,
    pub status: MilestoneStatus,
    /// Exclusion rate at this week in basis points (4,330 = 43.3 %), [004 fig.7].
    pub exclusion_rate: Option<u32>,
}

/// T-05c: days for which benefit (and the employer's refund) is lost for a late form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormPenaltyWindow {
    pub rule_id: RuleId,
    pub penalty: FormPenalty,
    /// First day lost.
    pub from: NaiveDate,
    /// Day the form arrived (not lost); `None` while outstanding. Under `WholePeriod` the whole
    /// sickness period is lost regardless.
    pub until: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    pub rule_set: RuleSetId,
    pub first_sick_day: NaiveDate,
    pub as_of: NaiveDate,
    pub category: Option<Category>,
    pub closed_on: Option<NaiveDate>,
    /// Sorted by due date; deadlines without a date last.
    pub deadlines: Vec<Deadline>,
    pub milestones: Vec<Milestone>,
    pub form_penalty: Option<FormPenaltyWindow>,
}

impl Timeline {
    pub fn overdue(&self) -> impl Iterator<Item = &Deadline> {
        self.deadlines
            .iter()
            .filter(|d| d.status == Status::Overdue)
    }

    /// The first deadline of a kind, e.g. `FollowUp { number: 1 }`.
    pub fn find(&self, kind: DeadlineKind) -> Option<&Deadline> {
        self.deadlines.iter().find(|d| d.kind == kind)
    }
}

struct Builder {
    as_of: NaiveDate,
    closed_on: Option<NaiveDate>,
    deadlines: Vec<Deadline>,
}

impl Builder {
    fn push(
        &mut self,
        rule_id: RuleId,
        kind: DeadlineKind,
        due: Option<NaiveDate>,
        met_on: Option<NaiveDate>,
        note: impl Into<String>,
    ) {
        self.push_full(rule_id, kind, due, met_on, false, false, note.into());
    }

    #[allow(clippy::too_many_arguments)]
    fn push_full(
        &mut self,
        rule_id: RuleId,
        kind: DeadlineKind,
        due: Option<NaiveDate>,
        met_on: Option<NaiveDate>,
        not_applicable: bool,
        advisory: bool,
        note: String,
    ) {
        let status = match (met_on, due) {
            (Some(_), _) => Status::Met,
            (None, None) => Status::NotApplicable,
            (None, Some(_)) if not_applicable => Status::NotApplicable,
            (None, Some(due)) if self.closed_on.is_some_and(|c| due > c) => Status::NotApplicable,
            (None, Some(due)) if self.as_of > due => Status::Overdue,
            (None, Some(_)) => Status::Due,
        };
        let note = match (status, self.closed_on) {
            (Status::NotApplicable, Some(c)) if due.is_some_and(|d| d > c) && !not_applicable => {
                format!("case closed {c}; {note}")
            }
            _ => note,
        };
        self.deadlines.push(Deadline {
            rule_id,
            kind,
            due,
            status,
            met_on,
            advisory,
            note,
        });
    }

    fn not_applicable(
        &mut self,
        rule_id: RuleId,
        kind: DeadlineKind,
        due: Option<NaiveDate>,
        note: impl Into<String>,
    ) {
        self.push_full(rule_id, kind, due, None, true, false, note.into());
    }

    fn slot(&mut self, slot: FollowUpSlot, kind: DeadlineKind) {
        let note = match slot.category {
            Some(c) => format!("category {c:?}: {}", slot.note),
            None => slot.note,
        };
        self.push_full(
            slot.rule_id,
            kind,
            slot.due,
            slot.met_on,
            slot.suspended,
            false,
            note,
        );
    }
}

/// Every deadline and milestone of a case as of `as_of` under `rs`.
pub fn timeline(facts: &CaseFacts, rs: &RuleSet, as_of: NaiveDate) -> Timeline {
    let facts = facts.known_on(as_of);
    let d0 = facts.first_sick_day;
    let employed = facts.employment == EmploymentStatus::Employed;
    let closed_on = facts.closed_by(as_of);
    let mut b = Builder {
        as_of,
        closed_on,
        deadlines: Vec::new(),
    };
    let due = |r: &Rule<DueBy>| r.value.date(d0);

    if let Some(r) = &rs.employer_notification {
        if employed {
            b.push(
                r.id,
                DeadlineKind::EmployerNotification,
                Some(due(r)),
                facts.employer_notified_on,
                r.note,
            );
        } else {
            b.not_applicable(
                r.id,
                DeadlineKind::EmployerNotification,
                Some(due(r)),
                "not employed",
            );
        }
    }
    if let Some(r) = &rs.unemployed_self_report
        && facts.employment == EmploymentStatus::UnemployedInsured
    {
        b.push(
            r.id,
            DeadlineKind::SelfReport,
            Some(due(r)),
            facts.self_reported_on,
            r.note,
        );
    }

    let form = &rs.information_form;
    let form_due = facts
        .information_form_sent_on
        .map(|sent| form.value.after(sent));
    match form_due {
        Some(form_due) => b.push(
            form.id,
            DeadlineKind::InformationForm,
            Some(form_due),
            facts.information_form_returned_on,
            form.note,
        ),
        None => b.not_applicable(
            form.id,
            DeadlineKind::InformationForm,
            None,
            "form not sent yet",
        ),
    }
    let form_penalty = form_due
        .filter(|due| {
            facts
                .information_form_returned_on
                .map_or(as_of > *due, |r| r > *due)
        })
        .map(|due| {
            let p = &rs.late_form_penalty;
            let from = match p.value {
                FormPenalty::WholePeriod => d0,
                FormPenalty::DelayOnly => add_days(due, 1),
            };
            FormPenaltyWindow {
                rule_id: p.id,
                penalty: p.value,
                from,
                until: facts.information_form_returned_on,
            }
        });

    for (rule, kind, advisory) in [
        (
            &rs.employer_conversation,
            DeadlineKind::EmployerConversation,
            false,
        ),
        (
            &rs.employer_conversation_early,
            DeadlineKind::EmployerConversationEarly,
            true,
        ),
    ] {
        let Some(r) = rule else { continue };
        if employed {
            b.push_full(
                r.id,
                kind,
                Some(due(r)),
                facts.employer_conversation_on,
                false,
                advisory,
                r.note.into(),
            );
        } else {
            b.not_applicable(r.id, kind, Some(due(r)), "not employed");
        }
    }

    let slots = follow_up_slots(rs, &facts, as_of);
    if let Some(r) = &rs.follow_up_plan_by {
        let nth = usize::try_from(r.value).unwrap_or(usize::MAX);
        let held = facts
            .follow_ups
            .get(nth.saturating_sub(1))
            .map(|f| f.held_on);
        let plan_due = held.or_else(|| slots.get(nth.saturating_sub(1)).and_then(|s| s.due));
        if plan_due.is_some() || facts.follow_up_plan_on.is_some() {
            b.push(
                r.id,
                DeadlineKind::FollowUpPlan,
                plan_due,
                facts.follow_up_plan_on,
                r.note,
            );
        }
    }
    for slot in slots {
        let kind = DeadlineKind::FollowUp {
            number: slot.number,
        };
        b.slot(slot, kind);
    }

    let ever_two_or_three = facts
        .visitations
        .iter()
        .any(|v| v.category != Category::One);
    if let Some(r) = &rs.min_follow_ups
        && ever_two_or_three
    {
        let count = r.value.count;
        let nth = facts.follow_ups.get(
            usize::try_from(count)
                .unwrap_or(usize::MAX)
                .saturating_sub(1),
        );
        let kind = DeadlineKind::MinimumFollowUps { count };
        b.push(
            r.id,
            kind,
            Some(r.value.within.after(d0)),
            nth.map(|f| f.held_on),
            r.note,
        );
    }

    for slot in weekly_contact_slots(rs, &facts, as_of) {
        let kind = DeadlineKind::WeeklyContact {
            number: slot.number,
        };
        b.slot(slot, kind);
    }
    if let (Some(trial), true, Some(first)) = (&rs.trial, facts.trial, facts.follow_ups.first()) {
        let r = &trial.active_within;
        let due = r.value.after(first.held_on);
        let started = facts
            .partial_returns
            .iter()
            .map(|p| p.from)
            .chain(facts.offers.iter().map(|o| o.from))
            .min();
        let exempt = facts
            .exemptions
            .iter()
            .any(|e| e.ground.scope().intensive_effort && e.covers(due));
        if exempt && started.is_none() {
            b.not_applicable(
                r.id,
                DeadlineKind::TrialActive,
                Some(due),
                "exempt from the intensive effort",
            );
        } else {
            b.push(r.id, DeadlineKind::TrialActive, Some(due), started, r.note);
        }
    }

    if let Some(r) = &rs.reassessment {
        b.push(
            r.id,
            DeadlineKind::Reassessment,
            Some(due(r)),
            facts.reassessed_on,
            r.note,
        );
    }
    if let Some(r) = &rs.rehabilitation_team
        && let Some(v) = facts
            .visitations
            .iter()
            .filter(|v| v.category == Category::Three)
            .min_by_key(|v| v.on)
    {
        let met = facts.rehabilitation_team_on;
        let note = format!("visited to category 3 on {}: {}", v.on, r.note);
        b.push(
            r.id,
            DeadlineKind::RehabilitationTeam,
            Some(r.value.after(v.on)),
            met,
            note,
        );
    }

    let mut deadlines = b.deadlines;
    deadlines.sort_by_key(|d| (d.due.is_none(), d.due));

    let milestone_status = |on: NaiveDate| match closed_on {
        Some(c) if c < on => MilestoneStatus::NotApplicable,
        _ if as_of >= on => MilestoneStatus::Reached,
        _ => MilestoneStatus::Upcoming,
    };
    let risk = &rs.risk;
    let mut milestones: Vec<Milestone> = risk
        .value
        .alert_weeks
        .iter()
        .map(|&week| {
            let on = start_of_sick_week(d0, week);
            Milestone {
                rule_id: risk.id,
                kind: MilestoneKind::SickWeek { week },
                on,
                status: milestone_status(on),
                exclusion_rate: risk.value.exclusion_at(week),
            }
        })
        .collect();
    if let Some(r) = &rs.refund
        && let Some(week) = refund_ends_week(&r.value)
    {
        let on = start_of_sick_week(d0, week);
        milestones.push(Milestone {
            rule_id: r.id,
            kind: MilestoneKind::RefundEnds { week },
            on,
            status: milestone_status(on),
            exclusion_rate: None,
        });
    }

    Timeline {
        rule_set: rs.id,
        first_sick_day: d0,
        as_of,
        category: facts.category_on(as_of),
        closed_on,
        deadlines,
        milestones,
        form_penalty,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::facts::{Closure, ContactMode, FollowUp, Outcome, Visitation};
    use crate::weeks::day;

    fn d0() -> NaiveDate {
        NaiveDate::from_ymd_opt(2009, 2, 2).unwrap()
    }

    fn talk(n: i64) -> FollowUp {
        FollowUp {
            held_on: day(d0(), n),
            mode: ContactMode::InPerson,
            outcome: "ok".into(),
            next_agreed_on: None,
        }
    }

    fn employed() -> CaseFacts {
        let mut f = CaseFacts::new(d0(), EmploymentStatus::Employed);
        f.visitations.push(Visitation {
            on: day(d0(), 45),
            category: Category::Two,
            reason: "risk".into(),
        });
        f
    }

    fn rs(id: RuleSetId) -> &'static RuleSet {
        RuleSet::get(id)
    }

    #[test]
    fn t03_employer_notification_by_week_4_or_6() {
        let mut f = employed();
        let t = timeline(&f, rs(RuleSetId::R2008), day(d0(), 28));
        let n = t.find(DeadlineKind::EmployerNotification).unwrap();
        assert_eq!(
            (n.rule_id, n.due, n.status),
            (RuleId::T03, Some(day(d0(), 27)), Status::Overdue)
        );
        let t = timeline(&f, rs(RuleSetId::R2009), day(d0(), 28));
        let n = t.find(DeadlineKind::EmployerNotification).unwrap();
        assert_eq!(
            (n.due, n.status),
            (Some(day(d0(), 41)), Status::Due),
            "A2: D41 under R2009"
        );
        f.employer_notified_on = Some(day(d0(), 30));
        let t = timeline(&f, rs(RuleSetId::R2008), day(d0(), 40));
        let n = t.find(DeadlineKind::EmployerNotification).unwrap();
        assert!(n.status == Status::Met && n.is_late());
        f.employment = EmploymentStatus::Other;
        let t = timeline(&f, rs(RuleSetId::R2008), day(d0(), 40));
        assert_eq!(
            t.find(DeadlineKind::EmployerNotification).unwrap().status,
            Status::NotApplicable
        );
    }

    #[test]
    fn t03b_unemployed_report_within_a_week() {
        let mut f = employed();
        f.employment = EmploymentStatus::UnemployedInsured;
        let t = timeline(&f, rs(RuleSetId::R2008), day(d0(), 8));
        let r = t.find(DeadlineKind::SelfReport).unwrap();
        assert_eq!(
            (r.rule_id, r.due, r.status),
            (RuleId::T03b, Some(day(d0(), 7)), Status::Overdue)
        );
    }

    #[test]
    fn t05_form_within_8_days_and_t05c_penalty_window() {
        let mut f = employed();
        f.information_form_sent_on = Some(day(d0(), 10));
        let t = timeline(&f, rs(RuleSetId::P2008), day(d0(), 18));
        let form = t.find(DeadlineKind::InformationForm).unwrap();
        assert_eq!(
            (form.rule_id, form.due, form.status),
            (RuleId::T05, Some(day(d0(), 18)), Status::Due)
        );
        assert_eq!(t.form_penalty, None);
        f.information_form_returned_on = Some(day(d0(), 25));
        let t = timeline(&f, rs(RuleSetId::P2008), day(d0(), 30));
        let p = t.form_penalty.unwrap();
        assert_eq!(
            (p.rule_id, p.penalty, p.from, p.until),
            (
                RuleId::T05c,
                FormPenalty::DelayOnly,
                day(d0(), 19),
                Some(day(d0(), 25))
            )
        );
        let p = timeline(&f, rs(RuleSetId::R2008), day(d0(), 30))
            .form_penalty
            .unwrap();
        assert_eq!(
            (p.penalty, p.from),
            (FormPenalty::WholePeriod, d0()),
            "R2008 loses the whole period"
        );
    }

    #[test]
    fn t07_and_t07b_employer_conversation_a3() {
        let mut f = employed();
        f.employer_conversation_on = Some(day(d0(), 24));
        let t = timeline(&f, rs(RuleSetId::P2008), day(d0(), 30));
        let c = t.find(DeadlineKind::EmployerConversation).unwrap();
        assert_eq!(
            (c.rule_id, c.due, c.status),
            (RuleId::T07, Some(day(d0(), 27)), Status::Met)
        );
        let early = t.find(DeadlineKind::EmployerConversationEarly).unwrap();
        assert_eq!(
            (early.rule_id, early.due),
            (RuleId::T07b, Some(day(d0(), 20)))
        );
        assert!(early.advisory && early.is_late());
        assert!(
            timeline(&f, rs(RuleSetId::R2008), day(d0(), 30))
                .find(DeadlineKind::EmployerConversation)
                .is_none()
        );
        assert!(
            timeline(&f, rs(RuleSetId::R2009), day(d0(), 30))
                .find(DeadlineKind::EmployerConversationEarly)
                .is_none()
        );
    }

    #[test]
    fn t11_first_follow_up_due_d55_then_overdue() {
        let f = employed();
        let due = timeline(&f, rs(RuleSetId::R2009), day(d0(), 55));
        let first = due.find(DeadlineKind::FollowUp { number: 1 }).unwrap();
        assert_eq!(
            (first.rule_id, first.due, first.status),
            (RuleId::T11, Some(day(d0(), 55)), Status::Due)
        );
        let late = timeline(&f, rs(RuleSetId::R2009), day(d0(), 56));
        let overdue: Vec<DeadlineKind> = late.overdue().map(|d| d.kind).collect();
        assert_eq!(
            overdue,
            [
                DeadlineKind::EmployerConversation,
                DeadlineKind::EmployerNotification,
                DeadlineKind::FollowUp { number: 1 }
            ]
        );
    }

    #[test]
    fn t15_plan_by_the_second_follow_up() {
        let mut f = employed();
        f.follow_ups = vec![talk(50), talk(75)];
        let t = timeline(&f, rs(RuleSetId::R2008), day(d0(), 80));
        let plan = t.find(DeadlineKind::FollowUpPlan).unwrap();
        assert_eq!(
            (plan.rule_id, plan.due, plan.status),
            (RuleId::T15, Some(day(d0(), 75)), Status::Overdue)
        );
        f.follow_ups.pop();
        let t = timeline(&f, rs(RuleSetId::R2008), day(d0(), 60));
        assert_eq!(
            t.find(DeadlineKind::FollowUpPlan).unwrap().due,
            Some(day(d0(), 78)),
            "due with the 2nd talk"
        );
        f.follow_up_plan_on = Some(day(d0(), 50));
        assert_eq!(
            timeline(&f, rs(RuleSetId::R2008), day(d0(), 60))
                .find(DeadlineKind::FollowUpPlan)
                .unwrap()
                .status,
            Status::Met
        );
    }

    #[test]
    fn same_facts_two_rule_sets_two_reproducible_timelines() {
        let mut f = employed();
        f.visitations[0].category = Category::One;
        f.follow_ups = vec![talk(50)];
        let as_of = day(d0(), 60);
        let r2008 = timeline(&f, rs(RuleSetId::R2008), as_of);
        let p2008 = timeline(&f, rs(RuleSetId::P2008), as_of);
        let second = |t: &Timeline| t.find(DeadlineKind::FollowUp { number: 2 }).unwrap().due;
        assert_eq!(
            second(&r2008),
            Some(day(d0(), 106)),
            "R2008: category 1 every 8 weeks"
        );
        assert_eq!(
            second(&p2008),
            Some(day(d0(), 78)),
            "P2008: 4 weeks after the first talk (A9)"
        );
        assert_eq!(
            r2008,
            timeline(&f, rs(RuleSetId::R2008), as_of),
            "reproducible"
        );
        let mut later = f.clone();
        later.follow_ups.push(talk(200));
        assert_eq!(
            timeline(&later, rs(RuleSetId::R2008), as_of),
            r2008,
            "facts after as_of are ignored"
        );
    }

    #[test]
    fn closed_case_deadlines_after_closing_are_not_applicable() {
        let mut f = employed();
        f.follow_ups = vec![talk(50)];
        f.closed = Some(Closure {
            on: day(d0(), 60),
            outcome: Outcome::FullReturn,
        });
        let t = timeline(&f, rs(RuleSetId::R2008), day(d0(), 200));
        let second = t.find(DeadlineKind::FollowUp { number: 2 }).unwrap();
        assert_eq!(second.status, Status::NotApplicable);
        assert!(second.note.starts_with("case closed"));
        assert_eq!(
            t.find(DeadlineKind::FollowUp { number: 1 }).unwrap().status,
            Status::Met
        );
        assert_eq!(
            t.find(DeadlineKind::EmployerNotification).unwrap().status,
            Status::Overdue,
            "missed before closing"
        );
        assert!(
            t.milestones
                .iter()
                .all(|m| m.status == MilestoneStatus::NotApplicable)
        );
    }

    #[test]
    fn al19_milestones_with_the_exclusion_curve_and_the_52_week_refund_limit() {
        let f = employed();
        let t = timeline(&f, rs(RuleSetId::R2012), day(d0(), 100));
        let by_week = |w: u32| {
            t.milestones
                .iter()
                .find(|m| m.kind == MilestoneKind::SickWeek { week: w })
                .unwrap()
        };
        assert_eq!(
            (
                by_week(13).on,
                by_week(13).status,
                by_week(13).exclusion_rate
            ),
            (day(d0(), 84), MilestoneStatus::Reached, Some(4_330))
        );
        assert_eq!(
            (
                by_week(26).on,
                by_week(26).status,
                by_week(26).exclusion_rate
            ),
            (day(d0(), 175), MilestoneStatus::Upcoming, Some(5_950))
        );
        assert_eq!(by_week(52).exclusion_rate, Some(7_520));
        let refund = t
            .milestones
            .iter()
            .find(|m| matches!(m.kind, MilestoneKind::RefundEnds { .. }))
            .unwrap();
        assert_eq!((refund.rule_id, refund.on), (RuleId::Fig3, day(d0(), 364)));
        let today = timeline(&f, rs(RuleSetId::L2014), day(d0(), 100));
        assert!(
            !today
                .milestones
                .iter()
                .any(|m| matches!(m.kind, MilestoneKind::RefundEnds { .. }))
        );
    }

    #[test]
    fn t18c_t18d_trial_deadlines() {
        let mut f = employed();
        f.trial = true;
        f.follow_ups = vec![talk(55), talk(62)];
        let t = timeline(&f, rs(RuleSetId::R2009), day(d0(), 70));
        let w1 = t.find(DeadlineKind::WeeklyContact { number: 1 }).unwrap();
        assert_eq!((w1.rule_id, w1.status), (RuleId::T18c, Status::Met));
        let w2 = t.find(DeadlineKind::WeeklyContact { number: 2 }).unwrap();
        assert_eq!((w2.due, w2.status), (Some(day(d0(), 69)), Status::Overdue));
        let active = t.find(DeadlineKind::TrialActive).unwrap();
        assert_eq!(
            (active.rule_id, active.due, active.status),
            (RuleId::T18d, Some(day(d0(), 83)), Status::Due)
        );
        assert!(
            timeline(&f, rs(RuleSetId::A2010), day(d0(), 70))
                .find(DeadlineKind::TrialActive)
                .is_none()
        );
    }

    #[test]
    fn sdl_13b_four_talks_in_half_year_star_22_and_sdl_13d_rehab_team() {
        let d0 = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let mut f = CaseFacts::new(d0, EmploymentStatus::Employed);
        f.visitations.push(Visitation {
            on: day(d0, 50),
            category: Category::Three,
            reason: "complex".into(),
        });
        f.follow_ups = [50, 78, 106]
            .iter()
            .map(|n| FollowUp {
                held_on: day(d0, *n),
                ..talk(0)
            })
            .collect();
        let t = timeline(&f, rs(RuleSetId::L2014), day(d0, 120));
        let four = t.find(DeadlineKind::MinimumFollowUps { count: 4 }).unwrap();
        assert_eq!(
            (four.rule_id, four.due, four.status),
            (RuleId::Sdl13b, Some(day(d0, 181)), Status::Due)
        );
        let re = t.find(DeadlineKind::Reassessment).unwrap();
        assert_eq!((re.rule_id, re.due), (RuleId::Star22, Some(day(d0, 153))));
        let team = t.find(DeadlineKind::RehabilitationTeam).unwrap();
        assert_eq!(
            (team.rule_id, team.due, team.status),
            (RuleId::Sdl13d, Some(day(d0, 78)), Status::Overdue)
        );
        let conv = t.find(DeadlineKind::EmployerConversation).unwrap();
        assert_eq!(
            conv.due,
            Some(day(d0, 28)),
            "§ 7 a: 4 weeks after the first sick day"
        );
    }
}
