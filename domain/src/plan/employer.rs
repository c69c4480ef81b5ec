//! The employer's view of a plan (DOMAIN.md §4.4, §9.2 item 17).
//!
//! The employer may obtain information about the employee only when it is of essential
//! importance for the ability to do that particular job — even with the employee's consent
//! ([002 §1.3] 002_59c7ae5e83dc120d.txt, helbredsoplysningsloven); the employee need not say
//! what the illness is, what matters is which tasks can be done and which adaptations are
//! needed ([003 ch3] 003_532c043554107ee2.txt). So the view carries only:
//!
//! - workplace activities (tasks, hours, aids, with their work-facing description) and
//!   employment activities reduced to their class — partial return or the offer type (a named
//!   course such as a breast-cancer team or a stress conversation group shows only as guidance
//!   and upskilling), hours, own-workplace flag, dates and status;
//! - goals as kind, hours and date;
//! - the workplace contact.
//!
//! Health activities do not appear at all — not as a placeholder, not as a dependency, not as
//! the cause or size of a delay — and neither do the projection, the case-internal reasons of
//! an offer, referral dates, the other roles or the contributors. There is no switch to widen
//! the view: consent does not widen it either.

use super::{
    ActivityId, ActivityKind, ActivityStatus, GoalKind, Party, Plan, PlanKind, PlanStage,
    WorkplaceKind,
};
use crate::case::{CaseId, ExternalReference};
use crate::facts::{OfferType, WeeklyHours};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A work-relevant activity as the employer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmployerActivityKind {
    PartialReturn,
    ActiveOffer { offer: OfferType },
    AdjustedTasks,
    AdjustedHours,
    Aids,
}

/// One workplace or employment activity, without case-internal detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployerActivity {
    pub id: ActivityId,
    pub kind: EmployerActivityKind,
    pub hours_per_week: Option<WeeklyHours>,
    pub at_own_workplace: bool,
    /// The workplace activity's work-facing description.
    pub description: Option<String>,
    pub responsible: ExternalReference,
    pub planned_start: Option<NaiveDate>,
    pub planned_end: Option<NaiveDate>,
    pub booked_start: Option<NaiveDate>,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    pub status: ActivityStatus,
    /// Dependencies on other activities of this view only.
    pub depends_on: Vec<ActivityId>,
}

/// A goal as hours by a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployerGoal {
    pub kind: GoalKind,
    pub hours_per_week: WeeklyHours,
    pub by: NaiveDate,
}

/// The plan as the employer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployerView {
    pub case: CaseId,
    pub kind: PlanKind,
    pub stage: PlanStage,
    pub owner: ExternalReference,
    /// The plan's version, so the employer's copy can be compared with the current one.
    pub version: i64,
    pub workplace_contact: Option<Party>,
    pub goals: Vec<EmployerGoal>,
    pub activities: Vec<EmployerActivity>,
}

/// The employer's projection of `plan`.
pub fn employer_view(plan: &Plan) -> EmployerView {
    let work: BTreeSet<&ActivityId> = plan
        .activities
        .iter()
        .filter(|a| !matches!(a.kind, ActivityKind::Health(_)))
        .map(|a| &a.id)
        .collect();
    let activities = plan
        .activities
        .iter()
        .filter_map(|a| {
            let (kind, hours_per_week, at_own_workplace, description) = match &a.kind {
                ActivityKind::Health(_) => return None,
                ActivityKind::Employment(e) => (
                    match e.kind.offer_type() {
                        None => EmployerActivityKind::PartialReturn,
                        Some(offer) => EmployerActivityKind::ActiveOffer { offer },
                    },
                    Some(e.hours_per_week),
                    e.at_own_workplace,
                    None,
                ),
                ActivityKind::Workplace(w) => (
                    match w.kind {
                        WorkplaceKind::AdjustedTasks => EmployerActivityKind::AdjustedTasks,
                        WorkplaceKind::AdjustedHours => EmployerActivityKind::AdjustedHours,
                        WorkplaceKind::Aids => EmployerActivityKind::Aids,
                    },
                    w.hours_per_week,
                    true,
                    w.description.clone(),
                ),
            };
            Some(EmployerActivity {
                id: a.id.clone(),
                kind,
                hours_per_week,
                at_own_workplace,
                description,
                responsible: a.responsible.clone(),
                planned_start: a.planned_start,
                planned_end: a.planned_end,
                booked_start: a.booked_start,
                actual_start: a.actual_start,
                actual_end: a.actual_end,
                status: a.status,
                depends_on: a
                    .depends_on
                    .iter()
                    .filter(|d| work.contains(d))
                    .cloned()
                    .collect(),
            })
        })
        .collect();
    EmployerView {
        case: plan.case,
        kind: plan.kind,
        stage: plan.stage,
        owner: plan.owner.clone(),
        version: plan.version,
        workplace_contact: plan.roles.workplace_contact.clone(),
        goals: plan
            .goals
            .iter()
            .map(|g| EmployerGoal {
                kind: g.kind,
                hours_per_week: g.hours_per_week,
                by: g.by,
            })
            .collect(),
        activities,
    }
}
