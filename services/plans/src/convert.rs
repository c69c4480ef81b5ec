//! Conversions between the wire types of kia.v1 and the plan domain, done once at the edge.

use chrono::{DateTime, NaiveDate, Utc};
use kia_domain::case::{ExternalReference, parse_date};
use kia_domain::error::Invalid;
use kia_domain::facts::WeeklyHours;
use kia_domain::plan::{
    self, Activity, ActivityId, ActivityKind, EmployerView, EmploymentActivity, EmploymentKind,
    Goal, GoalId, HealthKind, NamedOffer, Party, Plan, PlanChange, Projection, SlipCause,
    WorkplaceActivity,
};
use kia_proto::v1 as pb;
use kia_runtime::ApiError;
use kia_store::{PlanGrant, StoredEvent};

/// Maps a proto enum to the domain enum of the same variant names, and back.
macro_rules! enum_map {
    ($from:ident, $to:ident, $name:ident, [$($v:ident),* $(,)?]) => {
        #[allow(dead_code)]
        pub(crate) fn $from(value: i32) -> Option<plan::$name> {
            match pb::$name::try_from(value).ok()? {
                $(pb::$name::$v => Some(plan::$name::$v),)*
                _ => None,
            }
        }
        #[allow(dead_code)]
        pub(crate) fn $to(value: plan::$name) -> pb::$name {
            match value {
                $(plan::$name::$v => pb::$name::$v,)*
            }
        }
    };
}

enum_map!(
    kind_from_pb,
    kind_to_pb,
    PlanKind,
    [FollowUpPlan, RetentionPlan, KiaReturnPlan, ActionPlan]
);
enum_map!(stage_from_pb, stage_to_pb, PlanStage, [Preliminary, Final]);
enum_map!(
    role_from_pb,
    role_to_pb,
    PlanRole,
    [PlanFollowUp, WorkplaceContact, Coordinator]
);
enum_map!(
    goal_kind_from_pb,
    goal_kind_to_pb,
    GoalKind,
    [FullReturn, PartialReturn]
);
enum_map!(
    organiser_from_pb,
    organiser_to_pb,
    Organiser,
    [Jobcentre, OtherActor, Employer]
);
enum_map!(
    status_from_pb,
    status_to_pb,
    ActivityStatus,
    [Planned, Booked, Started, Completed, Cancelled]
);
enum_map!(
    capacity_from_pb,
    capacity_to_pb,
    Capacity,
    [
        Citizen,
        Caseworker,
        SpecialistConsultant,
        SocialWorker,
        GeneralPractitioner,
        SpecialistDoctor,
        HospitalDoctor,
        OccupationalPhysician,
        SocialPhysician,
        Physiotherapist,
        Chiropractor,
        Psychologist,
        OccupationalTherapist,
        JobConsultant,
        Employer,
        UnionRepresentative,
        Relative,
        Other,
    ]
);

fn workplace_kind_from_pb(value: i32) -> Option<plan::WorkplaceKind> {
    use pb::WorkplaceActivityKind as W;
    Some(match W::try_from(value).ok()? {
        W::AdjustedTasks => plan::WorkplaceKind::AdjustedTasks,
        W::AdjustedHours => plan::WorkplaceKind::AdjustedHours,
        W::Aids => plan::WorkplaceKind::Aids,
        W::Unspecified => return None,
    })
}

fn workplace_kind_to_pb(kind: plan::WorkplaceKind) -> pb::WorkplaceActivityKind {
    use pb::WorkplaceActivityKind as W;
    match kind {
        plan::WorkplaceKind::AdjustedTasks => W::AdjustedTasks,
        plan::WorkplaceKind::AdjustedHours => W::AdjustedHours,
        plan::WorkplaceKind::Aids => W::Aids,
    }
}

fn health_from_pb(h: &pb::HealthActivity) -> Option<HealthKind> {
    use pb::HealthActivityKind as H;
    Some(match H::try_from(h.kind).ok()? {
        H::DiagnosticTest => HealthKind::DiagnosticTest {
            ordered_by_gp: h.ordered_by_gp,
        },
        H::Specialist => HealthKind::Specialist,
        H::Surgery => HealthKind::Surgery,
        H::Treatment => HealthKind::Treatment,
        H::HospitalTreatment => HealthKind::HospitalTreatment,
        H::Physiotherapy => HealthKind::Physiotherapy,
        H::Psychologist => HealthKind::Psychologist,
        H::Rehabilitation => HealthKind::Rehabilitation,
        H::Unspecified => return None,
    })
}

fn health_to_pb(h: HealthKind) -> pb::HealthActivity {
    use pb::HealthActivityKind as H;
    let (kind, ordered_by_gp) = match h {
        HealthKind::DiagnosticTest { ordered_by_gp } => (H::DiagnosticTest, ordered_by_gp),
        HealthKind::Specialist => (H::Specialist, false),
        HealthKind::Surgery => (H::Surgery, false),
        HealthKind::Treatment => (H::Treatment, false),
        HealthKind::HospitalTreatment => (H::HospitalTreatment, false),
        HealthKind::Physiotherapy => (H::Physiotherapy, false),
        HealthKind::Psychologist => (H::Psychologist, false),
        HealthKind::Rehabilitation => (H::Rehabilitation, false),
    };
    pb::HealthActivity {
        kind: kind as i32,
        ordered_by_gp,
    }
}

const NAMED: [(pb::EmploymentActivityKind, NamedOffer); 13] = {
    use pb::EmploymentActivityKind as E;
    [
        (E::LiftingTechnique, NamedOffer::LiftingTechnique),
        (E::PainManagement, NamedOffer::PainManagement),
        (E::TrainingTeam, NamedOffer::TrainingTeam),
        (E::ConversationGroup, NamedOffer::ConversationGroup),
        (E::BreastCancerTeam, NamedOffer::BreastCancerTeam),
        (E::GeneralClarification, NamedOffer::GeneralClarification),
        (E::WorkTrial, NamedOffer::WorkTrial),
        (E::FunctionClarification, NamedOffer::FunctionClarification),
        (E::Coaching, NamedOffer::Coaching),
        (E::HealthCounselling, NamedOffer::HealthCounselling),
        (E::LabourMarketGuidance, NamedOffer::LabourMarketGuidance),
        (E::Kia, NamedOffer::Kia),
        (E::Syfo, NamedOffer::Syfo),
    ]
};

fn employment_kind_from_pb(value: i32) -> Option<EmploymentKind> {
    use pb::EmploymentActivityKind as E;
    let kind = E::try_from(value).ok()?;
    Some(match kind {
        E::PartialReturn => EmploymentKind::PartialReturn,
        E::WorkPlacement => EmploymentKind::WorkPlacement,
        E::WageSubsidy => EmploymentKind::WageSubsidy,
        E::Mentor => EmploymentKind::Mentor,
        E::GuidanceAndUpskilling => EmploymentKind::GuidanceAndUpskilling,
        E::OrdinaryEducation => EmploymentKind::OrdinaryEducation,
        E::Unspecified => return None,
        named => EmploymentKind::Named(NAMED.iter().find(|(p, _)| *p == named)?.1),
    })
}

fn employment_kind_to_pb(kind: EmploymentKind) -> pb::EmploymentActivityKind {
    use pb::EmploymentActivityKind as E;
    match kind {
        EmploymentKind::PartialReturn => E::PartialReturn,
        EmploymentKind::WorkPlacement => E::WorkPlacement,
        EmploymentKind::WageSubsidy => E::WageSubsidy,
        EmploymentKind::Mentor => E::Mentor,
        EmploymentKind::GuidanceAndUpskilling => E::GuidanceAndUpskilling,
        EmploymentKind::OrdinaryEducation => E::OrdinaryEducation,
        EmploymentKind::Named(n) => NAMED
            .iter()
            .find(|(_, d)| *d == n)
            .map_or(E::Unspecified, |(p, _)| *p),
    }
}

fn offer_class_to_pb(offer: kia_domain::facts::OfferType) -> pb::OfferClass {
    use kia_domain::facts::OfferType as O;
    match offer {
        O::GuidanceAndUpskilling => pb::OfferClass::GuidanceAndUpskilling,
        O::WorkPlacement => pb::OfferClass::WorkPlacement,
        O::WageSubsidy => pb::OfferClass::WageSubsidy,
        O::Mentor => pb::OfferClass::Mentor,
        O::OrdinaryEducation => pb::OfferClass::OrdinaryEducation,
    }
}

pub(crate) fn access_from_pb(value: i32) -> Option<kia_store::PlanAccess> {
    match pb::PlanAccess::try_from(value).ok()? {
        pb::PlanAccess::Read => Some(kia_store::PlanAccess::Read),
        pb::PlanAccess::ReadUpdate => Some(kia_store::PlanAccess::ReadUpdate),
        pb::PlanAccess::Unspecified => None,
    }
}

fn access_to_pb(access: kia_store::PlanAccess) -> pb::PlanAccess {
    match access {
        kia_store::PlanAccess::Read => pb::PlanAccess::Read,
        kia_store::PlanAccess::ReadUpdate => pb::PlanAccess::ReadUpdate,
    }
}

// --- scalars ---------------------------------------------------------------------------------

pub(crate) fn required_date(invalid: &mut Invalid, field: &str, raw: &str) -> Option<NaiveDate> {
    parse_date(raw).map_err(|e| invalid.push(field, e)).ok()
}

pub(crate) fn optional_date(invalid: &mut Invalid, field: &str, raw: &str) -> Option<NaiveDate> {
    if raw.is_empty() {
        None
    } else {
        required_date(invalid, field, raw)
    }
}

fn date_str(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn hours(invalid: &mut Invalid, field: &str, hours: f64) -> Option<WeeklyHours> {
    if !hours.is_finite() || hours <= 0.0 || hours > 168.0 {
        invalid.push(field, "must be a number of hours per week above 0");
        return None;
    }
    Some(WeeklyHours::minutes((hours * 60.0).round() as u32))
}

fn hours_to_pb(h: WeeklyHours) -> f64 {
    f64::from(h.as_minutes()) / 60.0
}

fn reference(invalid: &mut Invalid, field: &str, raw: &str) -> Option<ExternalReference> {
    ExternalReference::parse(raw)
        .map_err(|e| invalid.push(field, e))
        .ok()
}

fn activity_id(invalid: &mut Invalid, field: &str, raw: &str) -> Option<ActivityId> {
    ActivityId::parse(raw)
        .map_err(|e| invalid.push(field, e))
        .ok()
}

fn activity_ids(invalid: &mut Invalid, field: &str, raw: &[String]) -> Vec<ActivityId> {
    raw.iter()
        .enumerate()
        .filter_map(|(i, r)| activity_id(invalid, &format!("{field}[{i}]"), r))
        .collect()
}

fn text(raw: &str) -> Option<String> {
    (!raw.is_empty()).then(|| raw.to_owned())
}

pub(crate) fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub(crate) fn instant(
    invalid: &mut Invalid,
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    let parsed = t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?));
    if parsed.is_none() {
        invalid.push(field, "must be a valid timestamp");
    }
    parsed
}

// --- messages in -----------------------------------------------------------------------------

/// A party; the organisation, when given, is the caller's own (`organisation`).
pub(crate) fn party_from_pb(
    invalid: &mut Invalid,
    field: &str,
    raw: Option<&pb::Party>,
    organisation: Option<&str>,
) -> Option<Party> {
    let Some(raw) = raw else {
        invalid.push(field, "is required");
        return None;
    };
    let person = reference(invalid, &format!("{field}.person"), &raw.person);
    let organisation = match organisation.unwrap_or(&raw.organisation) {
        "" => None,
        org => Some(reference(invalid, &format!("{field}.organisation"), org)?),
    };
    let capacity = capacity_from_pb(raw.capacity);
    if capacity.is_none() {
        invalid.push(format!("{field}.capacity"), "must name a capacity");
    }
    Some(Party::new(person?, organisation, capacity?))
}

pub(crate) fn goal_from_pb(invalid: &mut Invalid, raw: Option<&pb::Goal>) -> Option<Goal> {
    let Some(raw) = raw else {
        invalid.push("set_goal.goal", "is required");
        return None;
    };
    let id = GoalId::parse(&raw.goal_id)
        .map_err(|e| invalid.push("goal.goal_id", e))
        .ok();
    let kind = goal_kind_from_pb(raw.kind);
    if kind.is_none() {
        invalid.push("goal.kind", "must be full return or partial return");
    }
    let h = hours(invalid, "goal.hours_per_week", raw.hours_per_week);
    let by = required_date(invalid, "goal.by", &raw.by);
    let depends_on = activity_ids(invalid, "goal.depends_on", &raw.depends_on);
    Some(Goal {
        id: id?,
        kind: kind?,
        hours_per_week: h?,
        by: by?,
        depends_on,
    })
}

fn activity_kind_from_pb(invalid: &mut Invalid, raw: &pb::PlanActivity) -> Option<ActivityKind> {
    use pb::plan_activity::Kind;
    match &raw.kind {
        None => {
            invalid.push(
                "activity.kind",
                "must be a health, employment or workplace activity",
            );
            None
        }
        Some(Kind::Health(h)) => {
            let kind = health_from_pb(h);
            if kind.is_none() {
                invalid.push("activity.health.kind", "must name a health activity");
            }
            Some(ActivityKind::Health(kind?))
        }
        Some(Kind::Employment(e)) => {
            let kind = employment_kind_from_pb(e.kind);
            if kind.is_none() {
                invalid.push(
                    "activity.employment.kind",
                    "must name an employment activity",
                );
            }
            let h = hours(
                invalid,
                "activity.employment.hours_per_week",
                e.hours_per_week,
            );
            let organiser = match e.organiser {
                0 => Some(plan::Organiser::Jobcentre),
                raw => organiser_from_pb(raw),
            };
            if organiser.is_none() {
                invalid.push("activity.employment.organiser", "is not a known organiser");
            }
            Some(ActivityKind::Employment(EmploymentActivity {
                kind: kind?,
                hours_per_week: h?,
                organiser: organiser?,
                at_own_workplace: e.at_own_workplace,
                fewer_hours_reason: text(&e.fewer_hours_reason),
                combination_reason: text(&e.combination_reason),
            }))
        }
        Some(Kind::Workplace(w)) => {
            let kind = workplace_kind_from_pb(w.kind);
            if kind.is_none() {
                invalid.push("activity.workplace.kind", "must name a workplace activity");
            }
            let h = match w.hours_per_week {
                0.0 => None,
                raw => Some(hours(invalid, "activity.workplace.hours_per_week", raw)?),
            };
            Some(ActivityKind::Workplace(WorkplaceActivity {
                kind: kind?,
                hours_per_week: h,
                description: text(&w.description),
            }))
        }
    }
}

fn activity_from_pb(invalid: &mut Invalid, raw: Option<&pb::PlanActivity>) -> Option<Activity> {
    let Some(raw) = raw else {
        invalid.push("add_activity.activity", "is required");
        return None;
    };
    let id = activity_id(invalid, "activity.activity_id", &raw.activity_id);
    let kind = activity_kind_from_pb(invalid, raw);
    let responsible = reference(invalid, "activity.responsible", &raw.responsible);
    let referred_on = optional_date(invalid, "activity.referred_on", &raw.referred_on);
    let planned_start = optional_date(invalid, "activity.planned_start", &raw.planned_start);
    let planned_end = optional_date(invalid, "activity.planned_end", &raw.planned_end);
    let booked = optional_date(invalid, "activity.booked_start", &raw.booked_start);
    let depends_on = activity_ids(invalid, "activity.depends_on", &raw.depends_on);
    let mut a = Activity::new(id?, kind?, responsible?).after(depends_on);
    a.referred_on = referred_on;
    a.planned_start = planned_start;
    a.planned_end = planned_end;
    if let Some(on) = booked {
        a = a.booked(on);
    }
    Some(a)
}

/// The change a request names, or every field violation at once.
pub(crate) fn change_from_pb(
    change: Option<&pb::apply_plan_change_request::Change>,
) -> Result<PlanChange, ApiError> {
    use pb::apply_plan_change_request::Change as C;
    let mut inv = Invalid::default();
    let i = &mut inv;
    let change = match change {
        None => {
            i.push("change", "must name one change");
            None
        }
        Some(C::AddActivity(a)) => activity_from_pb(i, a.activity.as_ref())
            .map(|activity| PlanChange::ActivityAdded { activity }),
        Some(C::RescheduleActivity(r)) => {
            let id = activity_id(i, "reschedule_activity.activity_id", &r.activity_id);
            let start = optional_date(i, "reschedule_activity.planned_start", &r.planned_start);
            let end = optional_date(i, "reschedule_activity.planned_end", &r.planned_end);
            id.map(|id| PlanChange::ActivityRescheduled {
                id,
                planned_start: start,
                planned_end: end,
            })
        }
        Some(C::SetDependencies(d)) => {
            let id = activity_id(i, "set_dependencies.activity_id", &d.activity_id);
            let deps = activity_ids(i, "set_dependencies.depends_on", &d.depends_on);
            id.map(|id| PlanChange::DependenciesSet {
                id,
                depends_on: deps,
            })
        }
        Some(C::BookActivity(b)) => {
            let id = activity_id(i, "book_activity.activity_id", &b.activity_id);
            let on = required_date(i, "book_activity.booked_start", &b.booked_start);
            id.zip(on)
                .map(|(id, on)| PlanChange::ActivityBooked { id, on })
        }
        Some(C::StartActivity(s)) => {
            let id = activity_id(i, "start_activity.activity_id", &s.activity_id);
            let on = required_date(i, "start_activity.started_on", &s.started_on);
            id.zip(on)
                .map(|(id, on)| PlanChange::ActivityStarted { id, on })
        }
        Some(C::CompleteActivity(c)) => {
            let id = activity_id(i, "complete_activity.activity_id", &c.activity_id);
            let on = required_date(i, "complete_activity.completed_on", &c.completed_on);
            id.zip(on)
                .map(|(id, on)| PlanChange::ActivityCompleted { id, on })
        }
        Some(C::CancelActivity(c)) => activity_id(i, "cancel_activity.activity_id", &c.activity_id)
            .map(|id| PlanChange::ActivityCancelled { id }),
        Some(C::SetGoal(g)) => {
            goal_from_pb(i, g.goal.as_ref()).map(|goal| PlanChange::GoalSet { goal })
        }
        Some(C::AssignRole(r)) => {
            let role = role_from_pb(r.role);
            if role.is_none() {
                i.push("assign_role.role", "must name a plan role");
            }
            let party = party_from_pb(i, "assign_role.party", r.party.as_ref(), None);
            role.zip(party)
                .map(|(role, party)| PlanChange::RoleAssigned { role, party })
        }
        Some(C::AddContributor(c)) => {
            party_from_pb(i, "add_contributor.party", c.party.as_ref(), None)
                .map(|party| PlanChange::ContributorAdded { party })
        }
        Some(C::Finalise(f)) => {
            let kind = kind_from_pb(f.kind);
            if kind.is_none() {
                i.push("finalise.kind", "must name a plan kind");
            }
            kind.map(|kind| PlanChange::Finalised { kind })
        }
    };
    match change {
        Some(c) if inv.0.is_empty() => Ok(c),
        _ => Err(inv.into()),
    }
}

// --- messages out ----------------------------------------------------------------------------

fn party_to_pb(p: &Party) -> pb::Party {
    pb::Party {
        person: p.person.as_str().to_owned(),
        organisation: p
            .organisation
            .as_ref()
            .map(|o| o.as_str().to_owned())
            .unwrap_or_default(),
        capacity: capacity_to_pb(p.capacity) as i32,
    }
}

fn ids(ids: &[ActivityId]) -> Vec<String> {
    ids.iter().map(|i| i.as_str().to_owned()).collect()
}

fn activity_to_pb(a: &Activity) -> pb::PlanActivity {
    use pb::plan_activity::Kind;
    let kind = match &a.kind {
        ActivityKind::Health(h) => Kind::Health(health_to_pb(*h)),
        ActivityKind::Employment(e) => Kind::Employment(pb::EmploymentActivity {
            kind: employment_kind_to_pb(e.kind) as i32,
            hours_per_week: hours_to_pb(e.hours_per_week),
            organiser: organiser_to_pb(e.organiser) as i32,
            at_own_workplace: e.at_own_workplace,
            fewer_hours_reason: e.fewer_hours_reason.clone().unwrap_or_default(),
            combination_reason: e.combination_reason.clone().unwrap_or_default(),
        }),
        ActivityKind::Workplace(w) => Kind::Workplace(pb::WorkplaceActivity {
            kind: workplace_kind_to_pb(w.kind) as i32,
            hours_per_week: w.hours_per_week.map_or(0.0, hours_to_pb),
            description: w.description.clone().unwrap_or_default(),
        }),
    };
    pb::PlanActivity {
        activity_id: a.id.as_str().to_owned(),
        kind: Some(kind),
        responsible: a.responsible.as_str().to_owned(),
        referred_on: date_str(a.referred_on),
        planned_start: date_str(a.planned_start),
        planned_end: date_str(a.planned_end),
        booked_start: date_str(a.booked_start),
        actual_start: date_str(a.actual_start),
        actual_end: date_str(a.actual_end),
        status: status_to_pb(a.status) as i32,
        depends_on: ids(&a.depends_on),
    }
}

pub(crate) fn plan_to_pb(p: &Plan) -> pb::Plan {
    pb::Plan {
        case_id: p.case.to_string(),
        kind: kind_to_pb(p.kind) as i32,
        stage: stage_to_pb(p.stage) as i32,
        owner: p.owner.as_str().to_owned(),
        roles: Some(pb::PlanRoles {
            plan_follow_up: p.roles.plan_follow_up.as_ref().map(party_to_pb),
            workplace_contact: p.roles.workplace_contact.as_ref().map(party_to_pb),
            coordinator: p.roles.coordinator.as_ref().map(party_to_pb),
        }),
        contributors: p.contributors.iter().map(party_to_pb).collect(),
        goals: p
            .goals
            .iter()
            .map(|g| pb::Goal {
                goal_id: g.id.as_str().to_owned(),
                kind: goal_kind_to_pb(g.kind) as i32,
                hours_per_week: hours_to_pb(g.hours_per_week),
                by: g.by.to_string(),
                depends_on: ids(&g.depends_on),
            })
            .collect(),
        activities: p.activities.iter().map(activity_to_pb).collect(),
        etag: p.etag(),
        create_time: Some(timestamp(p.created_at)),
        update_time: Some(timestamp(p.updated_at)),
        finalise_time: p.finalised_at.map(timestamp),
    }
}

fn cause_to_pb(cause: SlipCause) -> (pb::SlipCauseKind, i64) {
    use pb::SlipCauseKind as K;
    match cause {
        SlipCause::PlannedAfterGoal => (K::PlannedAfterGoal, 0),
        SlipCause::Waiting { waiting_days } => (K::Waiting, waiting_days),
        SlipCause::EarlierBooking { days_early } => (K::EarlierBooking, days_early),
        SlipCause::LateStart { days_late } => (K::LateStart, days_late),
        SlipCause::EarlyStart { days_early } => (K::EarlyStart, days_early),
        SlipCause::Overrun { days_over } => (K::Overrun, days_over),
        SlipCause::FinishedEarly { days_early } => (K::FinishedEarly, days_early),
        SlipCause::NotStartedByAsOf => (K::NotStartedByAsOf, 0),
        SlipCause::RunningPastPlannedEnd => (K::RunningPastPlannedEnd, 0),
    }
}

pub(crate) fn projection_to_pb(plan: &Plan, p: &Projection) -> pb::PlanProjection {
    pb::PlanProjection {
        as_of: p.as_of.to_string(),
        goals: p
            .goals
            .iter()
            .map(|g| pb::GoalProjection {
                goal_id: g.goal.as_str().to_owned(),
                target: g.target.to_string(),
                projected: date_str(g.projected),
                slip_days: g.slip_days,
                critical_path: ids(&g.critical_path),
                causes: g
                    .causes
                    .iter()
                    .map(|c| {
                        let (kind, deviation_days) = cause_to_pb(c.cause);
                        pb::SlipCause {
                            activity_id: c
                                .activity
                                .as_ref()
                                .map(|a| a.as_str().to_owned())
                                .unwrap_or_default(),
                            kind: kind as i32,
                            deviation_days,
                            days: c.days,
                            explanation: c.describe(plan),
                        }
                    })
                    .collect(),
            })
            .collect(),
        activities: p
            .activities
            .iter()
            .map(|a| pb::ActivitySchedule {
                activity_id: a.id.as_str().to_owned(),
                expected_start: a.expected_start.to_string(),
                expected_end: a.expected_end.to_string(),
                waiting_days: a.waiting_days,
                delay_days: a.delay_days,
            })
            .collect(),
    }
}

pub(crate) fn employer_view_to_pb(v: &EmployerView) -> pb::EmployerView {
    use kia_domain::plan::EmployerActivityKind as K;
    pb::EmployerView {
        case_id: v.case.to_string(),
        kind: kind_to_pb(v.kind) as i32,
        stage: stage_to_pb(v.stage) as i32,
        owner: v.owner.as_str().to_owned(),
        etag: plan::etag_of(v.version),
        workplace_contact: v.workplace_contact.as_ref().map(party_to_pb),
        goals: v
            .goals
            .iter()
            .map(|g| pb::EmployerGoal {
                kind: goal_kind_to_pb(g.kind) as i32,
                hours_per_week: hours_to_pb(g.hours_per_week),
                by: g.by.to_string(),
            })
            .collect(),
        activities: v
            .activities
            .iter()
            .map(|a| {
                let (kind, offer) = match a.kind {
                    K::PartialReturn => (pb::EmployerActivityKind::PartialReturn, None),
                    K::ActiveOffer { offer } => {
                        (pb::EmployerActivityKind::ActiveOffer, Some(offer))
                    }
                    K::AdjustedTasks => (pb::EmployerActivityKind::AdjustedTasks, None),
                    K::AdjustedHours => (pb::EmployerActivityKind::AdjustedHours, None),
                    K::Aids => (pb::EmployerActivityKind::Aids, None),
                };
                pb::EmployerActivity {
                    activity_id: a.id.as_str().to_owned(),
                    kind: kind as i32,
                    offer_class: offer.map_or(pb::OfferClass::Unspecified, offer_class_to_pb)
                        as i32,
                    hours_per_week: a.hours_per_week.map_or(0.0, hours_to_pb),
                    at_own_workplace: a.at_own_workplace,
                    description: a.description.clone().unwrap_or_default(),
                    responsible: a.responsible.as_str().to_owned(),
                    planned_start: date_str(a.planned_start),
                    planned_end: date_str(a.planned_end),
                    booked_start: date_str(a.booked_start),
                    actual_start: date_str(a.actual_start),
                    actual_end: date_str(a.actual_end),
                    status: status_to_pb(a.status) as i32,
                    depends_on: ids(&a.depends_on),
                }
            })
            .collect(),
    }
}

pub(crate) fn grant_to_pb(g: &PlanGrant) -> pb::PlanGrant {
    pb::PlanGrant {
        case_id: g.case.to_string(),
        organisation: g.organisation.clone(),
        access: access_to_pb(g.access) as i32,
        purpose: g.purpose.clone(),
        grant_time: Some(timestamp(g.granted_at)),
        expire_time: Some(timestamp(g.expires_at)),
    }
}

pub(crate) fn event_to_pb(event: &StoredEvent) -> pb::PlanEvent {
    pb::PlanEvent {
        position: event.position,
        case_id: event.stream_id.clone(),
        event_type: event.event_type.clone(),
        payload_json: event.payload.to_string(),
        record_time: Some(timestamp(event.recorded_at)),
    }
}
