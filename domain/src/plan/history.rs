//! Versions and history: a plan is the fold of its change records.
//!
//! Every change is a [`ChangeRecord`] — what changed ([`PlanChange`]), by whom, when, and the
//! version it creates (1 for the creation, then +1 per change). The store appends the record as
//! the plan's event in the same transaction as the new state, and enforces the etag; the domain
//! checks that a record follows the plan's version and is not dated before the previous change,
//! applies it, and validates the result, so a stored plan is always valid and the plan as it
//! stood at any instant is the fold of the records up to that instant ([`plan_as_of`]).

use super::{
    Activity, ActivityId, ActivityStatus, Goal, GoalId, Party, Plan, PlanKind, PlanRole, PlanStage,
    Roles,
};
use crate::case::{CaseId, ExternalReference};
use crate::error::Invalid;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One change to a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlanChange {
    /// The plan is made (preliminary or directly final), owned by a jobcentre.
    Created {
        case: CaseId,
        kind: PlanKind,
        stage: PlanStage,
        owner: ExternalReference,
    },
    /// The preliminary plan becomes final, possibly as another kind (KIA: the preliminary plan,
    /// then the plan for the return to the workplace; Aarhus: the action plan, then the
    /// follow-up plan for return to work).
    Finalised {
        kind: PlanKind,
    },
    RoleAssigned {
        role: PlanRole,
        party: Party,
    },
    RoleCleared {
        role: PlanRole,
    },
    /// Someone took part in writing the plan (Aarhus: citizen, physiotherapist, caseworker).
    /// Recorded explicitly: the author of a change is not thereby a contributor.
    ContributorAdded {
        party: Party,
    },
    /// Adds the goal, or replaces the goal with the same id.
    GoalSet {
        goal: Goal,
    },
    GoalRemoved {
        id: GoalId,
    },
    ActivityAdded {
        activity: Activity,
    },
    /// The plan itself moves (not a waiting list: use `ActivityBooked` for that, so the wait
    /// stays visible).
    ActivityRescheduled {
        id: ActivityId,
        planned_start: Option<NaiveDate>,
        planned_end: Option<NaiveDate>,
    },
    DependenciesSet {
        id: ActivityId,
        depends_on: Vec<ActivityId>,
    },
    /// A date is booked (again); from planned or booked.
    ActivityBooked {
        id: ActivityId,
        on: NaiveDate,
    },
    /// From planned or booked.
    ActivityStarted {
        id: ActivityId,
        on: NaiveDate,
    },
    /// From started.
    ActivityCompleted {
        id: ActivityId,
        on: NaiveDate,
    },
    /// From planned, booked or started.
    ActivityCancelled {
        id: ActivityId,
    },
}

impl PlanChange {
    /// The event type the store files the record under.
    pub fn event_type(&self) -> &'static str {
        match self {
            PlanChange::Created { .. } => "plan.created",
            PlanChange::Finalised { .. } => "plan.finalised",
            PlanChange::RoleAssigned { .. } => "plan.role_assigned",
            PlanChange::RoleCleared { .. } => "plan.role_cleared",
            PlanChange::ContributorAdded { .. } => "plan.contributor_added",
            PlanChange::GoalSet { .. } => "plan.goal_set",
            PlanChange::GoalRemoved { .. } => "plan.goal_removed",
            PlanChange::ActivityAdded { .. } => "plan.activity_added",
            PlanChange::ActivityRescheduled { .. } => "plan.activity_rescheduled",
            PlanChange::DependenciesSet { .. } => "plan.dependencies_set",
            PlanChange::ActivityBooked { .. } => "plan.activity_booked",
            PlanChange::ActivityStarted { .. } => "plan.activity_started",
            PlanChange::ActivityCompleted { .. } => "plan.activity_completed",
            PlanChange::ActivityCancelled { .. } => "plan.activity_cancelled",
        }
    }
}

/// What changed, by whom, when, and the version it made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub version: i64,
    pub at: DateTime<Utc>,
    pub by: Party,
    pub change: PlanChange,
}

impl ChangeRecord {
    /// The record that creates a plan (version 1).
    pub fn first(at: DateTime<Utc>, by: Party, change: PlanChange) -> Self {
        Self {
            version: 1,
            at,
            by,
            change,
        }
    }
}

impl Plan {
    /// The record of `change` to this plan, carrying the next version.
    pub fn record(&self, at: DateTime<Utc>, by: Party, change: PlanChange) -> ChangeRecord {
        ChangeRecord {
            version: self.next_version(),
            at,
            by,
            change,
        }
    }

    /// This plan with `record` applied; see [`apply`].
    pub fn apply(&self, record: &ChangeRecord) -> Result<Plan, PlanError> {
        apply(Some(self), record)
    }
}

/// Why a change does not fit the plan as it stands (FAILED_PRECONDITION, or NOT_FOUND /
/// ALREADY_EXISTS where the service prefers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Precondition {
    NoPlan,
    PlanExists,
    AlreadyFinal,
    UnknownActivity {
        activity: ActivityId,
    },
    UnknownGoal {
        goal: GoalId,
    },
    ActivityExists {
        activity: ActivityId,
    },
    /// A status change the activity's life does not allow.
    Transition {
        activity: ActivityId,
        from: ActivityStatus,
        to: ActivityStatus,
    },
    /// A completed or cancelled activity no longer changes.
    ActivityClosed {
        activity: ActivityId,
        status: ActivityStatus,
    },
    /// The record is dated before the plan's last change.
    EarlierThanLastChange,
}

impl Precondition {
    /// A stable UPPER_SNAKE reason for `google.rpc.ErrorInfo`.
    pub fn reason(&self) -> &'static str {
        match self {
            Precondition::NoPlan => "PLAN_NOT_FOUND",
            Precondition::PlanExists => "PLAN_EXISTS",
            Precondition::AlreadyFinal => "PLAN_ALREADY_FINAL",
            Precondition::UnknownActivity { .. } => "ACTIVITY_NOT_FOUND",
            Precondition::UnknownGoal { .. } => "GOAL_NOT_FOUND",
            Precondition::ActivityExists { .. } => "ACTIVITY_EXISTS",
            Precondition::Transition { .. } => "ACTIVITY_TRANSITION",
            Precondition::ActivityClosed { .. } => "ACTIVITY_CLOSED",
            Precondition::EarlierThanLastChange => "CHANGE_BEFORE_LAST",
        }
    }
}

impl fmt::Display for Precondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Precondition::NoPlan => f.write_str("the case has no plan"),
            Precondition::PlanExists => f.write_str("the case already has a plan"),
            Precondition::AlreadyFinal => f.write_str("the plan is already final"),
            Precondition::UnknownActivity { activity } => {
                write!(f, "the plan has no activity {activity}")
            }
            Precondition::UnknownGoal { goal } => write!(f, "the plan has no goal {goal}"),
            Precondition::ActivityExists { activity } => {
                write!(f, "the plan already has an activity {activity}")
            }
            Precondition::Transition { activity, from, to } => {
                write!(f, "activity {activity} cannot go from {from:?} to {to:?}")
            }
            Precondition::ActivityClosed { activity, status } => {
                write!(f, "activity {activity} is {status:?} and no longer changes")
            }
            Precondition::EarlierThanLastChange => {
                f.write_str("the change is dated before the plan's last change")
            }
        }
    }
}

/// Why a change record was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// INVALID_ARGUMENT: the plan after the change would not validate.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// FAILED_PRECONDITION.
    #[error("failed precondition: {0}")]
    Precondition(Precondition),
    /// The record does not carry the version after the plan's (0 = no plan yet): a gap or a
    /// replay out of order in the history (the store's concurrency check answers ABORTED before
    /// this can happen).
    #[error("change record version {found} does not follow version {current}")]
    OutOfSequence { current: i64, found: i64 },
}

impl From<Precondition> for PlanError {
    fn from(p: Precondition) -> Self {
        PlanError::Precondition(p)
    }
}

/// Applies one record to the plan as it stands (`None` before creation) and validates the
/// result.
pub fn apply(plan: Option<&Plan>, record: &ChangeRecord) -> Result<Plan, PlanError> {
    let current = plan.map_or(0, |p| p.version);
    if record.version != current.saturating_add(1) {
        return Err(PlanError::OutOfSequence {
            current,
            found: record.version,
        });
    }
    let next = match (plan, &record.change) {
        (
            None,
            PlanChange::Created {
                case,
                kind,
                stage,
                owner,
            },
        ) => Plan {
            case: *case,
            kind: *kind,
            stage: *stage,
            owner: owner.clone(),
            roles: Roles::default(),
            contributors: Vec::new(),
            goals: Vec::new(),
            activities: Vec::new(),
            version: record.version,
            created_at: record.at,
            updated_at: record.at,
            finalised_at: (*stage == PlanStage::Final).then_some(record.at),
        },
        (None, _) => return Err(Precondition::NoPlan.into()),
        (Some(_), PlanChange::Created { .. }) => return Err(Precondition::PlanExists.into()),
        (Some(p), change) => {
            if record.at < p.updated_at {
                return Err(Precondition::EarlierThanLastChange.into());
            }
            let mut next = p.clone();
            change_plan(&mut next, change, record.at)?;
            next.version = record.version;
            next.updated_at = record.at;
            next
        }
    };
    next.validate()?;
    Ok(next)
}

fn change_plan(plan: &mut Plan, change: &PlanChange, at: DateTime<Utc>) -> Result<(), PlanError> {
    use ActivityStatus::*;
    match change {
        PlanChange::Created { .. } => return Err(Precondition::PlanExists.into()),
        PlanChange::Finalised { kind } => {
            if plan.stage == PlanStage::Final {
                return Err(Precondition::AlreadyFinal.into());
            }
            plan.stage = PlanStage::Final;
            plan.kind = *kind;
            plan.finalised_at = Some(at);
        }
        PlanChange::RoleAssigned { role, party } => *plan.roles.slot(*role) = Some(party.clone()),
        PlanChange::RoleCleared { role } => *plan.roles.slot(*role) = None,
        PlanChange::ContributorAdded { party } => {
            if !plan.contributors.contains(party) {
                plan.contributors.push(party.clone());
            }
        }
        PlanChange::GoalSet { goal } => match plan.goals.iter_mut().find(|g| g.id == goal.id) {
            Some(g) => *g = goal.clone(),
            None => plan.goals.push(goal.clone()),
        },
        PlanChange::GoalRemoved { id } => {
            let Some(i) = plan.goals.iter().position(|g| &g.id == id) else {
                return Err(Precondition::UnknownGoal { goal: id.clone() }.into());
            };
            plan.goals.remove(i);
        }
        PlanChange::ActivityAdded { activity } => {
            if plan.activity(&activity.id).is_some() {
                return Err(Precondition::ActivityExists {
                    activity: activity.id.clone(),
                }
                .into());
            }
            plan.activities.push(activity.clone());
        }
        PlanChange::ActivityRescheduled {
            id,
            planned_start,
            planned_end,
        } => {
            let a = open_activity(plan, id)?;
            a.planned_start = *planned_start;
            a.planned_end = *planned_end;
        }
        PlanChange::DependenciesSet { id, depends_on } => {
            open_activity(plan, id)?.depends_on = depends_on.clone();
        }
        PlanChange::ActivityBooked { id, on } => {
            let a = transition(plan, id, &[Planned, Booked], Booked)?;
            a.booked_start = Some(*on);
        }
        PlanChange::ActivityStarted { id, on } => {
            transition(plan, id, &[Planned, Booked], Started)?.actual_start = Some(*on);
        }
        PlanChange::ActivityCompleted { id, on } => {
            transition(plan, id, &[Started], Completed)?.actual_end = Some(*on);
        }
        PlanChange::ActivityCancelled { id } => {
            transition(plan, id, &[Planned, Booked, Started], Cancelled)?;
        }
    }
    Ok(())
}

fn activity_mut<'p>(plan: &'p mut Plan, id: &ActivityId) -> Result<&'p mut Activity, PlanError> {
    plan.activities
        .iter_mut()
        .find(|a| &a.id == id)
        .ok_or_else(|| {
            Precondition::UnknownActivity {
                activity: id.clone(),
            }
            .into()
        })
}

/// An activity that can still change: neither completed nor cancelled.
fn open_activity<'p>(plan: &'p mut Plan, id: &ActivityId) -> Result<&'p mut Activity, PlanError> {
    let a = activity_mut(plan, id)?;
    match a.status {
        ActivityStatus::Completed | ActivityStatus::Cancelled => {
            Err(Precondition::ActivityClosed {
                activity: id.clone(),
                status: a.status,
            }
            .into())
        }
        _ => Ok(a),
    }
}

fn transition<'p>(
    plan: &'p mut Plan,
    id: &ActivityId,
    from: &[ActivityStatus],
    to: ActivityStatus,
) -> Result<&'p mut Activity, PlanError> {
    let a = activity_mut(plan, id)?;
    if !from.contains(&a.status) {
        return Err(Precondition::Transition {
            activity: id.clone(),
            from: a.status,
            to,
        }
        .into());
    }
    a.status = to;
    Ok(a)
}

/// The plan after every record of `history` (in version order); `None` for an empty history.
pub fn replay(history: &[ChangeRecord]) -> Result<Option<Plan>, PlanError> {
    history.iter().try_fold(None, |plan: Option<Plan>, r| {
        apply(plan.as_ref(), r).map(Some)
    })
}

/// The plan as it stood at `instant`: the fold of the records dated at or before it (records
/// are never dated before their predecessor, so they form a prefix). `None` when the plan did
/// not exist yet.
pub fn plan_as_of(
    history: &[ChangeRecord],
    instant: DateTime<Utc>,
) -> Result<Option<Plan>, PlanError> {
    let known = history.iter().take_while(|r| r.at <= instant).count();
    replay(&history[..known])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::*;
    use super::*;
    use crate::facts::WeeklyHours;
    use chrono::{Duration, TimeZone};

    fn t(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2011, 3, 1, 9, 0, 0).unwrap() + Duration::days(day)
    }

    fn d(day: i64) -> NaiveDate {
        t(day).date_naive()
    }

    fn r(s: &str) -> ExternalReference {
        ExternalReference::parse(s).unwrap()
    }

    fn me() -> Party {
        Party::new(r("cw-1"), Some(r("jobcenter-630")), Capacity::Caseworker)
    }

    fn created() -> Plan {
        let rec = ChangeRecord::first(
            t(0),
            me(),
            PlanChange::Created {
                case: CaseId::new(1, 2),
                kind: PlanKind::FollowUpPlan,
                stage: PlanStage::Preliminary,
                owner: r("jobcenter-630"),
            },
        );
        apply(None, &rec).unwrap()
    }

    fn step(p: &Plan, day: i64, change: PlanChange) -> Result<Plan, PlanError> {
        p.apply(&p.record(t(day), me(), change))
    }

    fn course() -> Activity {
        Activity::new(
            ActivityId::parse("course").unwrap(),
            ActivityKind::Employment(EmploymentActivity::new(
                EmploymentKind::GuidanceAndUpskilling,
                WeeklyHours::hours(10),
            )),
            r("provider"),
        )
        .planned(d(5), Some(d(20)))
    }

    #[test]
    fn versions_and_etags_follow_the_records() {
        let p = created();
        assert_eq!((p.version, p.etag()), (1, "\"1\"".to_owned()));
        let p2 = step(&p, 1, PlanChange::ActivityAdded { activity: course() }).unwrap();
        assert_eq!(p2.version, 2);
        assert!(p2.matches_etag("\"2\"") && !p2.matches_etag("\"1\""));
        let stale = p.record(
            t(2),
            me(),
            PlanChange::Finalised {
                kind: PlanKind::FollowUpPlan,
            },
        );
        assert_eq!(
            p2.apply(&stale),
            Err(PlanError::OutOfSequence {
                current: 2,
                found: 2
            })
        );
        assert_eq!(
            step(&p2, 1, PlanChange::ActivityCancelled { id: course().id }).map(|_| ()),
            Ok(()),
            "same instant is fine"
        );
        let mut early = p2.record(
            t(1),
            me(),
            PlanChange::ActivityCancelled { id: course().id },
        );
        early.at = t(1) - Duration::seconds(1);
        assert_eq!(
            p2.apply(&early),
            Err(PlanError::Precondition(Precondition::EarlierThanLastChange))
        );
    }

    #[test]
    fn activity_life_is_enforced() {
        let p = step(
            &created(),
            1,
            PlanChange::ActivityAdded { activity: course() },
        )
        .unwrap();
        let id = course().id;
        let err = step(
            &p,
            2,
            PlanChange::ActivityCompleted {
                id: id.clone(),
                on: d(2),
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            PlanError::Precondition(Precondition::Transition {
                activity: id.clone(),
                from: ActivityStatus::Planned,
                to: ActivityStatus::Completed
            })
        );
        let p = step(
            &p,
            2,
            PlanChange::ActivityStarted {
                id: id.clone(),
                on: d(6),
            },
        )
        .unwrap();
        let err = step(
            &p,
            3,
            PlanChange::ActivityCompleted {
                id: id.clone(),
                on: d(5),
            },
        )
        .unwrap_err();
        assert!(
            matches!(&err, PlanError::Invalid(inv) if inv.0[0].field == "activities[0].actual_end"),
            "{err:?}"
        );
        let p = step(
            &p,
            3,
            PlanChange::ActivityCompleted {
                id: id.clone(),
                on: d(20),
            },
        )
        .unwrap();
        assert_eq!(
            step(&p, 4, PlanChange::ActivityCancelled { id: id.clone() })
                .unwrap_err()
                .to_string(),
            "failed precondition: activity course cannot go from Completed to Cancelled"
        );
        assert!(matches!(
            step(
                &p,
                4,
                PlanChange::ActivityRescheduled {
                    id,
                    planned_start: None,
                    planned_end: None
                }
            ),
            Err(PlanError::Precondition(Precondition::ActivityClosed { .. }))
        ));
        assert!(matches!(
            step(&p, 4, PlanChange::ActivityAdded { activity: course() }),
            Err(PlanError::Precondition(Precondition::ActivityExists { .. }))
        ));
    }

    #[test]
    fn creation_once_and_finalisation_once() {
        let p = created();
        let again = p.record(
            t(1),
            me(),
            PlanChange::Created {
                case: p.case,
                kind: PlanKind::FollowUpPlan,
                stage: PlanStage::Final,
                owner: r("jobcenter-630"),
            },
        );
        assert_eq!(
            p.apply(&again),
            Err(PlanError::Precondition(Precondition::PlanExists))
        );
        let fin = step(
            &p,
            1,
            PlanChange::Finalised {
                kind: PlanKind::RetentionPlan,
            },
        )
        .unwrap();
        assert_eq!(
            (fin.stage, fin.kind, fin.finalised_at),
            (PlanStage::Final, PlanKind::RetentionPlan, Some(t(1)))
        );
        assert_eq!(
            step(
                &fin,
                2,
                PlanChange::Finalised {
                    kind: PlanKind::RetentionPlan
                }
            ),
            Err(PlanError::Precondition(Precondition::AlreadyFinal))
        );
        let orphan = ChangeRecord::first(
            t(0),
            me(),
            PlanChange::RoleCleared {
                role: PlanRole::Coordinator,
            },
        );
        assert_eq!(
            apply(None, &orphan),
            Err(PlanError::Precondition(Precondition::NoPlan))
        );
    }
}
