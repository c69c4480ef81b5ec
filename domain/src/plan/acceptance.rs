//! Acceptance of employment activities: an active offer in the plan must pass the case rules of
//! `offers::check_offer` (exemption and standby, least sick [001 I2], partial return before
//! offers [001 I6], minimum hours [003 P21] / \[000\] / [004 fig.3], wage subsidy A8). A refusal
//! names the rule and the reason (the service answers FAILED_PRECONDITION with them).
//!
//! Not subject to the checks: health and workplace activities; partial return, which is not an
//! offer but what the rules put first; and employer-organised offers, which are voluntary
//! ([002 §1.3] 002_59c7ae5e83dc120d.txt, as in `offers`).

use super::{Activity, Organiser, Plan, PlanChange};
use crate::facts::{CaseFacts, PartialReturn};
use crate::offers::{OfferProposal, check_offer};
use crate::rules::{RuleSet, Verdict};
use chrono::NaiveDate;

/// The date the rules judge an activity on: its actual start, else booked start, else planned
/// start, else referral date, else `as_of`.
pub fn starts_on(activity: &Activity, as_of: NaiveDate) -> NaiveDate {
    activity
        .actual_start
        .or(activity.booked_start)
        .or(activity.planned_start)
        .or(activity.referred_on)
        .unwrap_or(as_of)
}

/// The offer the case rules see, or `None` when the activity is not an active offer decided by
/// the jobcentre (or another actor on its behalf).
pub fn offer_proposal(activity: &Activity, starts_on: NaiveDate) -> Option<OfferProposal> {
    let e = activity.employment()?;
    if e.organiser == Organiser::Employer {
        return None;
    }
    Some(OfferProposal {
        starts_on,
        kind: e.kind.offer_type()?,
        hours_per_week: e.hours_per_week,
        fewer_hours_reason: e.fewer_hours_reason.clone(),
        combination_reason: e.combination_reason.clone(),
        at_own_workplace: e.at_own_workplace,
    })
}

/// Checks one activity (new or changed) of `plan` against the case rules. The plan's started
/// partial returns count as partial returns of the case even where the case facts do not record
/// them yet, so an offer alongside one needs its combination reason ([001 I6]).
pub fn check_activity(
    rs: &RuleSet,
    facts: &CaseFacts,
    plan: &Plan,
    activity: &Activity,
    as_of: NaiveDate,
) -> Verdict {
    let Some(offer) = offer_proposal(activity, starts_on(activity, as_of)) else {
        return Verdict::Allowed;
    };
    let mut facts = facts.clone();
    let started = plan
        .activities
        .iter()
        .filter(|a| a.is_partial_return() && !a.is_cancelled());
    for a in started {
        let (Some(from), Some(e)) = (a.actual_start, a.employment()) else {
            continue;
        };
        if !facts.partial_returns.iter().any(|p| p.from == from) {
            facts.partial_returns.push(PartialReturn {
                from,
                to: a.actual_end,
                hours_per_week: e.hours_per_week,
            });
        }
    }
    check_offer(rs, &facts, &offer)
}

/// The check the service runs before applying a change: adding an activity, and moving an
/// activity's start by rescheduling, booking or starting it (the rules hold on the day it
/// starts). Every other change, and a change naming an unknown activity (which
/// [`super::apply`] refuses), is allowed here.
pub fn check_change(
    rs: &RuleSet,
    facts: &CaseFacts,
    plan: &Plan,
    change: &PlanChange,
    as_of: NaiveDate,
) -> Verdict {
    let changed = |id, edit: &dyn Fn(&mut Activity)| {
        plan.activity(id).map(|a| {
            let mut a = a.clone();
            edit(&mut a);
            a
        })
    };
    let activity = match change {
        PlanChange::ActivityAdded { activity } => Some(activity.clone()),
        PlanChange::ActivityRescheduled {
            id,
            planned_start,
            planned_end,
        } => changed(id, &|a| {
            a.planned_start = *planned_start;
            a.planned_end = *planned_end;
        }),
        PlanChange::ActivityBooked { id, on } => changed(id, &|a| a.booked_start = Some(*on)),
        PlanChange::ActivityStarted { id, on } => changed(id, &|a| a.actual_start = Some(*on)),
        _ => None,
    };
    match activity {
        Some(a) => check_activity(rs, facts, plan, &a, as_of),
        None => Verdict::Allowed,
    }
}
