//! Conversions between the wire types of kia.v1 and the domain, done once at the edge.

use chrono::NaiveDate;
use kia_domain::case::{
    Case, CaseChange, CaseState, CaseStep, EmploymentStatus, MunicipalityCode, RawIntake,
    parse_date,
};
use kia_domain::error::Invalid;
use kia_domain::facts::{
    Category, Closure, ContactMode, Exemption, ExemptionGround, FollowUp, Outcome, PartialReturn,
    Prognosis, Visitation, WeeklyHours,
};
use kia_domain::rules::RuleSetId;
use kia_domain::timeline::{Deadline, Milestone, Status, Timeline};
use kia_proto::v1 as pb;
use kia_runtime::{ApiError, Identity};
use kia_store::{CaseFilter, IdempotencyKey, StoredEvent};
use sha2::{Digest, Sha256};

pub(crate) fn employment_from_pb(value: i32) -> Option<EmploymentStatus> {
    match pb::EmploymentStatus::try_from(value).ok()? {
        pb::EmploymentStatus::Employed => Some(EmploymentStatus::Employed),
        pb::EmploymentStatus::UnemployedInsured => Some(EmploymentStatus::UnemployedInsured),
        pb::EmploymentStatus::Other => Some(EmploymentStatus::Other),
        pb::EmploymentStatus::Unspecified => None,
    }
}

fn employment_to_pb(status: EmploymentStatus) -> pb::EmploymentStatus {
    match status {
        EmploymentStatus::Employed => pb::EmploymentStatus::Employed,
        EmploymentStatus::UnemployedInsured => pb::EmploymentStatus::UnemployedInsured,
        EmploymentStatus::Other => pb::EmploymentStatus::Other,
    }
}

fn state_to_pb(state: CaseState) -> pb::CaseState {
    match state {
        CaseState::Open => pb::CaseState::Open,
        CaseState::Closed => pb::CaseState::Closed,
    }
}

pub(crate) fn category_from_pb(value: i32) -> Option<Category> {
    match pb::Category::try_from(value).ok()? {
        pb::Category::Category1 => Some(Category::One),
        pb::Category::Category2 => Some(Category::Two),
        pb::Category::Category3 => Some(Category::Three),
        pb::Category::Unspecified => None,
    }
}

fn category_to_pb(category: Option<Category>) -> pb::Category {
    match category {
        Some(Category::One) => pb::Category::Category1,
        Some(Category::Two) => pb::Category::Category2,
        Some(Category::Three) => pb::Category::Category3,
        None => pb::Category::Unspecified,
    }
}

pub(crate) fn contact_mode_from_pb(value: i32) -> Option<ContactMode> {
    match pb::ContactMode::try_from(value).ok()? {
        pb::ContactMode::InPerson => Some(ContactMode::InPerson),
        pb::ContactMode::Phone => Some(ContactMode::Phone),
        pb::ContactMode::Digital => Some(ContactMode::Digital),
        pb::ContactMode::Letter => Some(ContactMode::Letter),
        pb::ContactMode::Unspecified => None,
    }
}

pub(crate) fn ground_from_pb(value: i32) -> Option<ExemptionGround> {
    use pb::ExemptionGround as G;
    Some(match G::try_from(value).ok()? {
        G::TreatmentIsObstacle => ExemptionGround::TreatmentIsObstacle,
        G::EarlyRetirementCaseStarted => ExemptionGround::EarlyRetirementCaseStarted,
        G::Terminal => ExemptionGround::Terminal,
        G::PregnancyRelated => ExemptionGround::PregnancyRelated,
        G::FixedTreatmentAndReturnPlan => ExemptionGround::FixedTreatmentAndReturnPlan,
        G::Standby => ExemptionGround::Standby,
        G::CriticallyIll => ExemptionGround::CriticallyIll,
        G::LeastSick => ExemptionGround::LeastSick,
        G::ReturnWithin13Weeks => ExemptionGround::ReturnWithin13Weeks,
        G::SurgeryWithin13Weeks => ExemptionGround::SurgeryWithin13Weeks,
        G::Unspecified => return None,
    })
}

pub(crate) fn step_from_pb(value: i32) -> Option<CaseStep> {
    use pb::CaseStep as S;
    Some(match S::try_from(value).ok()? {
        S::EmployerNotified => CaseStep::EmployerNotified,
        S::SelfReported => CaseStep::SelfReported,
        S::EmployerConversationHeld => CaseStep::EmployerConversationHeld,
        S::InformationFormSent => CaseStep::InformationFormSent,
        S::InformationFormReturned => CaseStep::InformationFormReturned,
        S::FollowUpPlanMade => CaseStep::FollowUpPlanMade,
        S::Reassessed => CaseStep::Reassessed,
        S::RehabilitationTeam => CaseStep::RehabilitationTeam,
        S::Unspecified => return None,
    })
}

/// The outcome of a closing, with the note an "other" outcome needs.
pub(crate) fn outcome_from_pb(value: i32, note: &str) -> Option<Outcome> {
    use pb::CaseOutcome as O;
    Some(match O::try_from(value).ok()? {
        O::FullReturn => Outcome::FullReturn,
        O::BenefitStopped => Outcome::BenefitStopped,
        O::DurationLimit => Outcome::DurationLimit,
        O::EarlyRetirementPension => Outcome::EarlyRetirementPension,
        O::Other => Outcome::Other(note.to_owned()),
        O::Unspecified => return None,
    })
}

fn outcome_to_pb(outcome: &Outcome) -> pb::CaseOutcome {
    match outcome {
        Outcome::FullReturn => pb::CaseOutcome::FullReturn,
        Outcome::BenefitStopped => pb::CaseOutcome::BenefitStopped,
        Outcome::DurationLimit => pb::CaseOutcome::DurationLimit,
        Outcome::EarlyRetirementPension => pb::CaseOutcome::EarlyRetirementPension,
        Outcome::Other(_) => pb::CaseOutcome::Other,
    }
}

const RULE_SETS: [(pb::RuleSet, RuleSetId); 6] = [
    (pb::RuleSet::R2008, RuleSetId::R2008),
    (pb::RuleSet::P2008, RuleSetId::P2008),
    (pb::RuleSet::R2009, RuleSetId::R2009),
    (pb::RuleSet::A2010, RuleSetId::A2010),
    (pb::RuleSet::R2012, RuleSetId::R2012),
    (pb::RuleSet::L2014, RuleSetId::L2014),
];

/// A named rule set, `None` for "the one in force on the first sick day".
pub(crate) fn rule_set_from_pb(value: i32) -> Result<Option<RuleSetId>, ApiError> {
    match pb::RuleSet::try_from(value) {
        Ok(pb::RuleSet::Unspecified) => Ok(None),
        Ok(named) => Ok(RULE_SETS
            .iter()
            .find(|(p, _)| *p == named)
            .map(|(_, id)| *id)),
        Err(_) => Err(ApiError::invalid("rule_set", "is not a rule set kia knows")),
    }
}

pub(crate) fn rule_set_to_pb(id: RuleSetId) -> pb::RuleSet {
    RULE_SETS
        .iter()
        .find(|(_, d)| *d == id)
        .map_or(pb::RuleSet::Unspecified, |(p, _)| *p)
}

/// A required date field; collects a violation when missing or malformed.
pub(crate) fn required_date(invalid: &mut Invalid, field: &str, raw: &str) -> Option<NaiveDate> {
    parse_date(raw).map_err(|e| invalid.push(field, e)).ok()
}

/// An optional date field: empty means none.
pub(crate) fn optional_date(invalid: &mut Invalid, field: &str, raw: &str) -> Option<NaiveDate> {
    if raw.is_empty() {
        None
    } else {
        required_date(invalid, field, raw)
    }
}

/// Hours per week as exact minutes; a violation when not a finite number in range.
pub(crate) fn weekly_hours(invalid: &mut Invalid, field: &str, hours: f64) -> Option<WeeklyHours> {
    if !hours.is_finite() || hours <= 0.0 || hours > 168.0 {
        invalid.push(field, "must be a number of hours per week above 0");
        return None;
    }
    Some(WeeklyHours::minutes((hours * 60.0).round() as u32))
}

pub(crate) fn raw_intake(case: &pb::Case) -> RawIntake<'_> {
    RawIntake {
        municipality_code: &case.municipality_code,
        first_sick_day: &case.first_sick_day,
        employment_status: employment_from_pb(case.employment_status),
        employer_reference: &case.employer_reference,
        citizen_reference: &case.citizen_reference,
    }
}

pub(crate) fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub(crate) fn case_to_pb(case: &Case) -> pb::Case {
    let intake = &case.intake;
    let closed = case.facts.closed.as_ref();
    pb::Case {
        case_id: case.id.to_string(),
        municipality_code: intake.municipality.to_string(),
        first_sick_day: intake.first_sick_day.to_string(),
        employment_status: employment_to_pb(intake.employment_status) as i32,
        employer_reference: intake
            .employer_reference
            .as_ref()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default(),
        citizen_reference: intake.citizen_reference.as_str().to_owned(),
        state: state_to_pb(case.state) as i32,
        create_time: Some(timestamp(case.created_at)),
        update_time: Some(timestamp(case.updated_at)),
        etag: case.etag(),
        category: category_to_pb(case.category()) as i32,
        closed_on: closed.map(|c| c.on.to_string()).unwrap_or_default(),
        outcome: closed.map_or(pb::CaseOutcome::Unspecified, |c| outcome_to_pb(&c.outcome)) as i32,
        // Input only: the CPR number is never sent back on a case.
        citizen_cpr: String::new(),
    }
}

fn status_to_pb(status: Status) -> pb::DeadlineStatus {
    match status {
        Status::Met => pb::DeadlineStatus::Met,
        Status::Due => pb::DeadlineStatus::Due,
        Status::Overdue => pb::DeadlineStatus::Overdue,
        Status::NotApplicable => pb::DeadlineStatus::NotApplicable,
    }
}

/// The `kind` tag and the number carried by a tagged domain enum (serde's internal tagging).
fn kind_and_number(value: impl serde::Serialize, number_fields: &[&str]) -> (String, u32) {
    let json = serde_json::to_value(value).unwrap_or_default();
    let kind = json["kind"].as_str().unwrap_or_default().to_owned();
    let number = number_fields
        .iter()
        .find_map(|f| json[*f].as_u64())
        .unwrap_or(0) as u32;
    (kind, number)
}

fn deadline_to_pb(d: &Deadline) -> pb::Deadline {
    let (kind, number) = kind_and_number(d.kind, &["number", "count"]);
    pb::Deadline {
        rule_id: d.rule_id.to_string(),
        kind,
        number,
        due_on: d.due.map(|d| d.to_string()).unwrap_or_default(),
        status: status_to_pb(d.status) as i32,
        met_on: d.met_on.map(|d| d.to_string()).unwrap_or_default(),
        advisory: d.advisory,
        note: d.note.clone(),
    }
}

/// Rule T-21 (the 360-degree assessment by D55) as a timeline deadline.
pub(crate) fn assessment_deadline_to_pb(
    d: &kia_domain::screening::AssessmentDeadline,
) -> pb::Deadline {
    pb::Deadline {
        rule_id: d.rule_id.to_owned(),
        kind: "assessment_360".to_owned(),
        number: 0,
        due_on: d.due.to_string(),
        status: status_to_pb(d.status) as i32,
        met_on: d.met_on.map(|d| d.to_string()).unwrap_or_default(),
        advisory: false,
        note: d.note.to_owned(),
    }
}

fn milestone_to_pb(m: &Milestone) -> pb::Milestone {
    let (kind, week) = kind_and_number(m.kind, &["week"]);
    let status = serde_json::to_value(m.status).unwrap_or_default();
    pb::Milestone {
        rule_id: m.rule_id.to_string(),
        kind,
        week,
        on: m.on.to_string(),
        status: status.as_str().unwrap_or_default().to_owned(),
        exclusion_basis_points: m.exclusion_rate,
    }
}

pub(crate) fn timeline_to_pb(
    timeline: &Timeline,
    conflicts: &[kia_domain::rules::Conflict],
) -> pb::GetTimelineResponse {
    pb::GetTimelineResponse {
        rule_set: rule_set_to_pb(timeline.rule_set) as i32,
        as_of: timeline.as_of.to_string(),
        category: category_to_pb(timeline.category) as i32,
        deadlines: timeline.deadlines.iter().map(deadline_to_pb).collect(),
        milestones: timeline.milestones.iter().map(milestone_to_pb).collect(),
        conflicts: conflicts
            .iter()
            .map(|c| pb::RuleConflict {
                id: c.id.to_owned(),
                topic: c.topic.to_owned(),
                resolution: c.resolution.to_owned(),
            })
            .collect(),
    }
}

pub(crate) fn event_to_pb(event: &StoredEvent) -> pb::CaseEvent {
    pb::CaseEvent {
        position: event.position,
        case_id: event.stream_id.clone(),
        event_type: event.event_type.clone(),
        payload_json: event.payload.to_string(),
        record_time: Some(timestamp(event.recorded_at)),
    }
}

pub(crate) fn case_filter(request: &pb::ListCasesRequest) -> Result<CaseFilter, ApiError> {
    let municipality = match request.municipality_code.as_str() {
        "" => None,
        raw => Some(
            MunicipalityCode::parse(raw).map_err(|e| ApiError::invalid("municipality_code", e))?,
        ),
    };
    let state = match pb::CaseState::try_from(request.state) {
        Ok(pb::CaseState::Unspecified) => None,
        Ok(pb::CaseState::Open) => Some(CaseState::Open),
        Ok(pb::CaseState::Closed) => Some(CaseState::Closed),
        Err(_) => return Err(ApiError::invalid("state", "is not a known case state")),
    };
    Ok(CaseFilter {
        municipality,
        state,
    })
}

/// The idempotency key of a create: scoped to the calling organisation and method, with a
/// digest of the validated parameters so a reused key with other parameters is caught.
pub(crate) fn idempotency_key(
    identity: &Identity,
    method: &str,
    request_id: &str,
    params: &impl serde::Serialize,
) -> Result<Option<IdempotencyKey>, ApiError> {
    if request_id.is_empty() {
        return Ok(None);
    }
    if request_id.len() > 64 || !request_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "request_id",
            "must be at most 64 printable ASCII characters",
        ));
    }
    let params = serde_json::to_vec(params).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Some(IdempotencyKey {
        scope: format!(
            "{}:{}/{method}",
            identity.kind.as_str(),
            identity.organization
        ),
        request_id: request_id.to_owned(),
        fingerprint: hex::encode(Sha256::digest(params)),
    }))
}

// The changes of a case, from the requests that make them.

/// A visitation (`Visitate`).
pub(crate) fn visitation(r: &pb::VisitateRequest) -> Result<CaseChange, ApiError> {
    let mut invalid = Invalid::default();
    let on = required_date(&mut invalid, "visited_on", &r.visited_on);
    let category = category_from_pb(r.category);
    if category.is_none() {
        invalid.push("category", "must be category 1, 2 or 3");
    }
    let (Some(on), Some(category)) = (on, category) else {
        return Err(invalid.into());
    };
    invalid.into_result(())?;
    Ok(CaseChange::Visitate(Visitation {
        on,
        category,
        reason: r.reason.clone(),
    }))
}

/// A follow-up, with a revisitation and a prognosis if given (`RecordFollowUp`).
pub(crate) fn follow_up(r: &pb::RecordFollowUpRequest) -> Result<CaseChange, ApiError> {
    let mut invalid = Invalid::default();
    let held_on = required_date(&mut invalid, "held_on", &r.held_on);
    let next_agreed_on = optional_date(&mut invalid, "next_agreed_on", &r.next_agreed_on);
    let mode = contact_mode_from_pb(r.contact_mode);
    if mode.is_none() {
        invalid.push(
            "contact_mode",
            "must be in person, phone, digital or letter",
        );
    }
    let revisitation_category = match r.revisitation_category {
        0 => None,
        raw => {
            let category = category_from_pb(raw);
            if category.is_none() {
                invalid.push("revisitation_category", "must be category 1, 2 or 3");
            }
            category
        }
    };
    let prognosis = r.prognosis.as_ref().map(|p| {
        let expected = optional_date(
            &mut invalid,
            "prognosis.expected_full_return_on",
            &p.expected_full_return_on,
        );
        let surgery = optional_date(&mut invalid, "prognosis.surgery_on", &p.surgery_on);
        (
            p.clear_diagnosis,
            expected,
            surgery,
            p.partial_return_possible,
        )
    });
    let (Some(held_on), Some(mode)) = (held_on, mode) else {
        return Err(invalid.into());
    };
    invalid.into_result(())?;
    Ok(CaseChange::RecordFollowUp {
        follow_up: FollowUp {
            held_on,
            mode,
            outcome: r.outcome.clone(),
            next_agreed_on,
        },
        revisitation: revisitation_category.map(|category| Visitation {
            on: held_on,
            category,
            reason: r.revisitation_reason.clone(),
        }),
        prognosis: prognosis.map(|(clear_diagnosis, expected, surgery, partial)| Prognosis {
            recorded_on: held_on,
            clear_diagnosis,
            expected_full_return_on: expected,
            surgery_on: surgery,
            partial_return_possible: partial,
        }),
    })
}

/// An exemption from follow-up (`SetExemption`).
pub(crate) fn exemption(r: &pb::SetExemptionRequest) -> Result<CaseChange, ApiError> {
    let mut invalid = Invalid::default();
    let from = required_date(&mut invalid, "from", &r.from);
    let to = optional_date(&mut invalid, "to", &r.to);
    let ground = ground_from_pb(r.ground);
    if ground.is_none() {
        invalid.push("ground", "must name an exemption ground");
    }
    let (Some(from), Some(ground)) = (from, ground) else {
        return Err(invalid.into());
    };
    invalid.into_result(())?;
    Ok(CaseChange::SetExemption(Exemption {
        ground,
        from,
        to,
        reason: r.reason.clone(),
    }))
}

/// The end of an exemption (`LiftExemption`).
pub(crate) fn lifted_exemption(r: &pb::LiftExemptionRequest) -> Result<CaseChange, ApiError> {
    let mut invalid = Invalid::default();
    let on = required_date(&mut invalid, "lifted_on", &r.lifted_on);
    let ground = ground_from_pb(r.ground);
    if ground.is_none() {
        invalid.push("ground", "must name an exemption ground");
    }
    let (Some(on), Some(ground)) = (on, ground) else {
        return Err(invalid.into());
    };
    Ok(CaseChange::LiftExemption { ground, on })
}

/// A partial return to work (`RecordPartialReturn`).
pub(crate) fn partial_return(r: &pb::RecordPartialReturnRequest) -> Result<CaseChange, ApiError> {
    let mut invalid = Invalid::default();
    let from = required_date(&mut invalid, "from", &r.from);
    let to = optional_date(&mut invalid, "to", &r.to);
    let hours = weekly_hours(&mut invalid, "hours_per_week", r.hours_per_week);
    let (Some(from), Some(hours_per_week)) = (from, hours) else {
        return Err(invalid.into());
    };
    invalid.into_result(())?;
    Ok(CaseChange::RecordPartialReturn(PartialReturn {
        from,
        to,
        hours_per_week,
    }))
}

/// A step of the case (`RecordCaseStep`).
pub(crate) fn case_step(r: &pb::RecordCaseStepRequest) -> Result<CaseChange, ApiError> {
    let mut invalid = Invalid::default();
    let on = required_date(&mut invalid, "on", &r.on);
    let step = step_from_pb(r.step);
    if step.is_none() {
        invalid.push("step", "must name a case step");
    }
    let (Some(on), Some(step)) = (on, step) else {
        return Err(invalid.into());
    };
    Ok(CaseChange::RecordStep { step, on })
}

/// The closing of the case (`CloseCase`).
pub(crate) fn closure(r: &pb::CloseCaseRequest) -> Result<CaseChange, ApiError> {
    let mut invalid = Invalid::default();
    let on = required_date(&mut invalid, "closed_on", &r.closed_on);
    let outcome = outcome_from_pb(r.outcome, &r.outcome_note);
    if outcome.is_none() {
        invalid.push("outcome", "must name how the case ended");
    }
    let (Some(on), Some(outcome)) = (on, outcome) else {
        return Err(invalid.into());
    };
    Ok(CaseChange::Close(Closure { on, outcome }))
}
