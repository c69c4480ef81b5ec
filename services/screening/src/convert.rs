//! Conversions between the wire types of kia.v1.ScreeningService and the domain, done once.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use kia_domain::case::parse_date;
use kia_domain::error::Invalid;
use kia_domain::facts::{Category, ExemptionGround, OfferType, WeeklyHours};
use kia_domain::icf::{Component, IcfItem};
use kia_domain::screening::{
    Assessment, AssessmentInput, Change, ConclusionInput, Difficulty, Discipline, Domain,
    EmployerView, ExemptionRecommendation, ExpectedReturn, FindingInput, HealthCondition, IcfInput,
    IcfProfile, Member, OrganisationKind, PlanActivity, PlanActivityKind, ScreeningGroup,
    ScreeningQueue, WorkAdaptation, WorkingMode,
};
use kia_domain::timeline::Status;
use kia_proto::v1 as pb;
use kia_runtime::{ApiError, Identity};
use kia_store::{GroupRecord, IdempotencyKey, ScreeningRecord};
use sha2::{Digest, Sha256};

const DISCIPLINES: [(pb::Discipline, Discipline); 9] = [
    (pb::Discipline::Caseworker, Discipline::Caseworker),
    (pb::Discipline::Doctor, Discipline::Doctor),
    (
        pb::Discipline::OccupationalPhysician,
        Discipline::OccupationalPhysician,
    ),
    (pb::Discipline::Physiotherapist, Discipline::Physiotherapist),
    (pb::Discipline::Psychologist, Discipline::Psychologist),
    (pb::Discipline::Chiropractor, Discipline::Chiropractor),
    (
        pb::Discipline::SocialWorkerCoordinator,
        Discipline::SocialWorkerCoordinator,
    ),
    (
        pb::Discipline::OccupationalTherapist,
        Discipline::OccupationalTherapist,
    ),
    (pb::Discipline::JobConsultant, Discipline::JobConsultant),
];

pub(crate) fn discipline_from_pb(value: i32) -> Option<Discipline> {
    let p = pb::Discipline::try_from(value).ok()?;
    DISCIPLINES.iter().find(|(w, _)| *w == p).map(|(_, d)| *d)
}

fn discipline_to_pb(d: Discipline) -> i32 {
    DISCIPLINES
        .iter()
        .find(|(_, x)| *x == d)
        .map_or(pb::Discipline::Unspecified, |(w, _)| *w) as i32
}

const DOMAINS: [(pb::AssessmentDomain, Domain); 4] = [
    (pb::AssessmentDomain::Physical, Domain::Physical),
    (pb::AssessmentDomain::Psychological, Domain::Psychological),
    (pb::AssessmentDomain::Social, Domain::Social),
    (pb::AssessmentDomain::Employment, Domain::Employment),
];

fn domain_from_pb(value: i32) -> Option<Domain> {
    let p = pb::AssessmentDomain::try_from(value).ok()?;
    DOMAINS.iter().find(|(w, _)| *w == p).map(|(_, d)| *d)
}

fn domain_to_pb(d: Domain) -> i32 {
    DOMAINS
        .iter()
        .find(|(_, x)| *x == d)
        .map_or(pb::AssessmentDomain::Unspecified, |(w, _)| *w) as i32
}

const COMPONENTS: [(pb::IcfComponent, Component); 4] = [
    (pb::IcfComponent::BodyFunctions, Component::BodyFunctions),
    (pb::IcfComponent::BodyStructures, Component::BodyStructures),
    (
        pb::IcfComponent::ActivitiesAndParticipation,
        Component::ActivitiesAndParticipation,
    ),
    (
        pb::IcfComponent::EnvironmentalFactors,
        Component::EnvironmentalFactors,
    ),
];

fn component_from_pb(value: i32) -> Option<Component> {
    let p = pb::IcfComponent::try_from(value).ok()?;
    COMPONENTS.iter().find(|(w, _)| *w == p).map(|(_, c)| *c)
}

fn component_to_pb(c: Component) -> i32 {
    COMPONENTS
        .iter()
        .find(|(_, x)| *x == c)
        .map_or(pb::IcfComponent::Unspecified, |(w, _)| *w) as i32
}

fn category_from_pb(value: i32) -> Option<Category> {
    match pb::Category::try_from(value).ok()? {
        pb::Category::Category1 => Some(Category::One),
        pb::Category::Category2 => Some(Category::Two),
        pb::Category::Category3 => Some(Category::Three),
        pb::Category::Unspecified => None,
    }
}

fn category_to_pb(c: Category) -> i32 {
    (match c {
        Category::One => pb::Category::Category1,
        Category::Two => pb::Category::Category2,
        Category::Three => pb::Category::Category3,
    }) as i32
}

const GROUNDS: [(pb::ExemptionGround, ExemptionGround); 10] = [
    (
        pb::ExemptionGround::TreatmentIsObstacle,
        ExemptionGround::TreatmentIsObstacle,
    ),
    (
        pb::ExemptionGround::EarlyRetirementCaseStarted,
        ExemptionGround::EarlyRetirementCaseStarted,
    ),
    (pb::ExemptionGround::Terminal, ExemptionGround::Terminal),
    (
        pb::ExemptionGround::PregnancyRelated,
        ExemptionGround::PregnancyRelated,
    ),
    (
        pb::ExemptionGround::FixedTreatmentAndReturnPlan,
        ExemptionGround::FixedTreatmentAndReturnPlan,
    ),
    (pb::ExemptionGround::Standby, ExemptionGround::Standby),
    (
        pb::ExemptionGround::CriticallyIll,
        ExemptionGround::CriticallyIll,
    ),
    (pb::ExemptionGround::LeastSick, ExemptionGround::LeastSick),
    (
        pb::ExemptionGround::ReturnWithin13Weeks,
        ExemptionGround::ReturnWithin13Weeks,
    ),
    (
        pb::ExemptionGround::SurgeryWithin13Weeks,
        ExemptionGround::SurgeryWithin13Weeks,
    ),
];

const OFFERS: [(pb::ProposedOfferType, OfferType); 5] = [
    (
        pb::ProposedOfferType::GuidanceAndUpskilling,
        OfferType::GuidanceAndUpskilling,
    ),
    (
        pb::ProposedOfferType::WorkPlacement,
        OfferType::WorkPlacement,
    ),
    (pb::ProposedOfferType::WageSubsidy, OfferType::WageSubsidy),
    (pb::ProposedOfferType::Mentor, OfferType::Mentor),
    (
        pb::ProposedOfferType::OrdinaryEducation,
        OfferType::OrdinaryEducation,
    ),
];

/// A pair table lookup in either direction.
fn lookup<W: Copy + PartialEq, D: Copy + PartialEq>(table: &[(W, D)], w: W) -> Option<D> {
    table.iter().find(|(x, _)| *x == w).map(|(_, d)| *d)
}

fn reverse<W: Copy + PartialEq, D: Copy + PartialEq>(table: &[(W, D)], d: D) -> Option<W> {
    table.iter().find(|(_, x)| *x == d).map(|(w, _)| *w)
}

pub(crate) fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A wire timestamp as the Danish local date and time the domain counts in.
fn local_time(t: &prost_types::Timestamp) -> Option<NaiveDateTime> {
    let instant = DateTime::<Utc>::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)?;
    Some(kia_runtime::clock::danish_local(instant))
}

/// A Danish local date and time back as an instant (the earlier one when the hour repeats).
fn instant(local: NaiveDateTime) -> prost_types::Timestamp {
    // The offset in force is one or two hours; pick the one that maps back to `local`.
    let candidates = [1, 2].map(|h| local.and_utc() - chrono::Duration::hours(h));
    let utc = candidates
        .into_iter()
        .find(|u| kia_runtime::clock::danish_local(*u) == local)
        .unwrap_or(candidates[0]);
    timestamp(utc)
}

pub(crate) fn optional_date(invalid: &mut Invalid, field: &str, raw: &str) -> Option<NaiveDate> {
    if raw.is_empty() {
        None
    } else {
        parse_date(raw).map_err(|e| invalid.push(field, e)).ok()
    }
}

fn date_string(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Groups

/// The group of a CreateScreeningGroup request, validated by the domain, with each member's
/// organisation id. Field paths are those of the request (`group.members[1].reference`).
pub(crate) fn group_from_pb(
    raw: &pb::ScreeningGroup,
) -> Result<(ScreeningGroup, Vec<Option<String>>), Invalid> {
    let mut invalid = Invalid::default();
    let mut members = Vec::with_capacity(raw.members.len());
    let mut organizations = Vec::with_capacity(raw.members.len());
    for (i, m) in raw.members.iter().enumerate() {
        let discipline = discipline_from_pb(m.discipline);
        if discipline.is_none() {
            invalid.push(
                format!("group.members[{i}].discipline"),
                "must name a discipline",
            );
        }
        let organisation = match pb::MemberOrganisation::try_from(m.organisation) {
            Ok(pb::MemberOrganisation::Jobcentre) => Some(OrganisationKind::Jobcentre),
            Ok(pb::MemberOrganisation::Provider) => Some(OrganisationKind::Provider),
            _ => {
                invalid.push(
                    format!("group.members[{i}].organisation"),
                    "must be the jobcentre or a provider",
                );
                None
            }
        };
        let org_id = m.organization_id.trim();
        if org_id.len() > 200 {
            invalid.push(
                format!("group.members[{i}].organization_id"),
                "must be at most 200 characters",
            );
        }
        if let (Some(discipline), Some(organisation)) = (discipline, organisation) {
            members.push(Member {
                reference: m.reference.clone(),
                discipline,
                organisation,
            });
            organizations.push((!org_id.is_empty()).then(|| org_id.to_owned()));
        }
    }
    let mode = match pb::ScreeningMode::try_from(raw.mode) {
        Ok(pb::ScreeningMode::StandingGroup) => Some(WorkingMode::StandingGroup),
        Ok(pb::ScreeningMode::TeamSession) => Some(match raw.session_limit_minutes {
            0 => WorkingMode::kia(),
            limit_minutes => WorkingMode::TeamSession { limit_minutes },
        }),
        _ => {
            invalid.push("group.mode", "must be a standing group or a team session");
            None
        }
    };
    let mut required = Vec::with_capacity(raw.required_disciplines.len());
    for (i, d) in raw.required_disciplines.iter().enumerate() {
        match discipline_from_pb(*d) {
            Some(d) => required.push(d),
            None => invalid.push(
                format!("group.required_disciplines[{i}]"),
                "must name a discipline",
            ),
        }
    }
    let (Some(mode), true) = (mode, invalid.is_empty()) else {
        return Err(invalid);
    };
    let required = (!required.is_empty()).then_some(required);
    let group = ScreeningGroup::new(&raw.display_name, members, mode, required).map_err(|inv| {
        Invalid(
            inv.0
                .into_iter()
                .map(|mut v| {
                    v.field = match v.field.as_str() {
                        "name" => "group.display_name".to_owned(),
                        "mode.limit_minutes" => "group.session_limit_minutes".to_owned(),
                        other => format!("group.{other}"),
                    };
                    v
                })
                .collect(),
        )
    })?;
    Ok((group, organizations))
}

pub(crate) fn group_to_pb(g: &GroupRecord) -> pb::ScreeningGroup {
    let (mode, limit) = match g.group.mode() {
        WorkingMode::StandingGroup => (pb::ScreeningMode::StandingGroup, 0),
        WorkingMode::TeamSession { limit_minutes } => {
            (pb::ScreeningMode::TeamSession, limit_minutes)
        }
    };
    pb::ScreeningGroup {
        group_id: g.id.to_string(),
        municipality_code: g.municipality.to_string(),
        display_name: g.group.name().to_owned(),
        members: g
            .group
            .members()
            .iter()
            .enumerate()
            .map(|(i, m)| pb::ScreeningMember {
                reference: m.reference.clone(),
                discipline: discipline_to_pb(m.discipline),
                organisation: match m.organisation {
                    OrganisationKind::Jobcentre => pb::MemberOrganisation::Jobcentre,
                    OrganisationKind::Provider => pb::MemberOrganisation::Provider,
                } as i32,
                organization_id: g
                    .member_organizations
                    .get(i)
                    .cloned()
                    .flatten()
                    .unwrap_or_default(),
            })
            .collect(),
        mode: mode as i32,
        session_limit_minutes: limit,
        required_disciplines: g
            .group
            .required_disciplines()
            .iter()
            .map(|d| discipline_to_pb(*d))
            .collect(),
        create_time: Some(timestamp(g.created_at)),
    }
}

/// The idempotency key of a group create: scoped to the calling organisation and method, with
/// a digest of the validated group so a reused key with other parameters is caught.
pub(crate) fn idempotency_key(
    identity: &Identity,
    request_id: &str,
    group: &ScreeningGroup,
    organizations: &[Option<String>],
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
    let params = serde_json::to_vec(&(group, organizations))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Some(IdempotencyKey {
        scope: format!(
            "{}:{}/CreateScreeningGroup",
            identity.kind.as_str(),
            identity.organization
        ),
        request_id: request_id.to_owned(),
        fingerprint: hex::encode(Sha256::digest(params)),
    }))
}

// ---------------------------------------------------------------------------------------------
// Assessments

/// The assessment of a RecordAssessment request. Enum and time fields are checked here; the
/// ICF codes, texts and domains by the domain, with the same field paths as the request.
pub(crate) fn assessment_input(
    r: &pb::RecordAssessmentRequest,
) -> Result<AssessmentInput, Invalid> {
    let mut invalid = Invalid::default();
    let discipline = discipline_from_pb(r.discipline);
    if discipline.is_none() {
        invalid.push("discipline", "must name the assessing discipline");
    }
    let started_at = r.started_at.as_ref().and_then(local_time);
    if started_at.is_none() {
        invalid.push("started_at", "is required");
    }
    let ended_at = match &r.ended_at {
        None => None,
        Some(t) => {
            let t = local_time(t);
            if t.is_none() {
                invalid.push("ended_at", "is not a valid timestamp");
            }
            t
        }
    };
    let mut findings = Vec::with_capacity(r.findings.len());
    for (i, f) in r.findings.iter().enumerate() {
        let icf = if !f.icf.trim().is_empty() {
            IcfInput::Written(f.icf.clone())
        } else {
            let Some(component) = component_from_pb(f.component) else {
                invalid.push(
                    format!("findings[{i}].component"),
                    "give the written form in icf, or the component, code and qualifiers",
                );
                continue;
            };
            IcfInput::Structured {
                component,
                code: f.code.clone(),
                qualifiers: f.qualifiers.clone(),
                facilitator: f.facilitator,
            }
        };
        findings.push(FindingInput {
            icf,
            note: f.note.clone(),
        });
    }
    let mut domains = Vec::with_capacity(r.domains.len());
    for (i, d) in r.domains.iter().enumerate() {
        match domain_from_pb(*d) {
            Some(d) => domains.push(d),
            None => invalid.push(
                format!("domains[{i}]"),
                "must be physical, psychological, social or employment",
            ),
        }
    }
    let (Some(discipline), Some(started_at), true) = (discipline, started_at, invalid.is_empty())
    else {
        return Err(invalid);
    };
    let assessor = r.assessor.trim();
    Ok(AssessmentInput {
        discipline,
        assessor: (!assessor.is_empty()).then(|| assessor.to_owned()),
        started_at,
        ended_at,
        findings,
        personal_factors: r.personal_factors.clone(),
        work_capacity: r.work_capacity.clone(),
        barriers: r.barriers.clone(),
        recommended_actions: r.recommended_actions.clone(),
        domains,
        health_condition: r.health_condition.as_ref().map(|h| HealthCondition {
            icd_code: (!h.icd_code.trim().is_empty()).then(|| h.icd_code.clone()),
            description: (!h.description.trim().is_empty()).then(|| h.description.clone()),
            diagnosis_clear: h.diagnosis_clear,
            on_standby_list: h.on_standby_list,
        }),
    })
}

fn finding_to_pb(item: &IcfItem, note: &str) -> pb::IcfFinding {
    use kia_domain::icf::{Environmental, Qualifiers};
    let written = item.qualifiers.written();
    pb::IcfFinding {
        icf: item.to_string(),
        component: component_to_pb(item.component()),
        code: item.code.to_string(),
        qualifiers: written[1..].bytes().map(|b| u32::from(b - b'0')).collect(),
        facilitator: matches!(
            item.qualifiers,
            Qualifiers::EnvironmentalFactors {
                factor: Environmental::Facilitator(_)
            }
        ),
        note: note.to_owned(),
    }
}

fn assessment_to_pb(a: &Assessment) -> pb::Assessment {
    pb::Assessment {
        discipline: discipline_to_pb(a.discipline),
        assessor: a.assessor.clone().unwrap_or_default(),
        started_at: Some(instant(a.started_at)),
        ended_at: a.ended_at.map(instant),
        findings: a
            .findings
            .iter()
            .map(|f| finding_to_pb(&f.item, &f.note))
            .collect(),
        personal_factors: a.personal_factors.clone(),
        work_capacity: a.work_capacity.clone(),
        barriers: a.barriers.clone(),
        recommended_actions: a.recommended_actions.clone(),
        domains: a.domains.iter().map(|d| domain_to_pb(*d)).collect(),
        health_condition: a.health_condition.as_ref().map(|h| pb::HealthCondition {
            icd_code: h.icd_code.clone().unwrap_or_default(),
            description: h.description.clone().unwrap_or_default(),
            diagnosis_clear: h.diagnosis_clear,
            on_standby_list: h.on_standby_list,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Conclusion

/// The conclusion of a ConcludeScreening request; `concluded_on` defaults to `today`.
pub(crate) fn conclusion_input(
    r: &pb::ConcludeScreeningRequest,
    today: NaiveDate,
) -> Result<ConclusionInput, Invalid> {
    let mut invalid = Invalid::default();
    let concluded_on = optional_date(&mut invalid, "concluded_on", &r.concluded_on);
    let category = category_from_pb(r.recommended_category);
    if category.is_none() {
        invalid.push("recommended_category", "must be category 1, 2 or 3");
    }
    let exemption = r.exemption.as_ref().map(|e| ExemptionRecommendation {
        ground: pb::ExemptionGround::try_from(e.ground)
            .ok()
            .and_then(|g| lookup(&GROUNDS, g)),
        reason: e.reason.clone(),
    });
    let mut plan_activities = Vec::with_capacity(r.plan_activities.len());
    for (i, a) in r.plan_activities.iter().enumerate() {
        let kind = match pb::PlanActivityKind::try_from(a.kind) {
            Ok(pb::PlanActivityKind::Unspecified) | Err(_) => None,
            Ok(pb::PlanActivityKind::PartialReturn) => Some(PlanActivityKind::PartialReturn),
            Ok(pb::PlanActivityKind::Treatment) => Some(PlanActivityKind::Treatment),
            Ok(pb::PlanActivityKind::WorkplaceContact) => Some(PlanActivityKind::WorkplaceContact),
            Ok(pb::PlanActivityKind::RoundTable) => Some(PlanActivityKind::RoundTable),
            Ok(pb::PlanActivityKind::ActiveOffer) => {
                match pb::ProposedOfferType::try_from(a.offer_type)
                    .ok()
                    .and_then(|o| lookup(&OFFERS, o))
                {
                    Some(offer_type) => Some(PlanActivityKind::ActiveOffer { offer_type }),
                    None => {
                        invalid.push(
                            format!("plan_activities[{i}].offer_type"),
                            "an active offer names its offer type",
                        );
                        None
                    }
                }
            }
        };
        plan_activities.push(PlanActivity {
            description: a.description.clone(),
            kind,
        });
    }
    let mut work_adaptations = Vec::with_capacity(r.work_adaptations.len());
    for (i, w) in r.work_adaptations.iter().enumerate() {
        use pb::WorkAdaptationKind as K;
        let adaptation = match K::try_from(w.kind) {
            Ok(K::Redeployment) => WorkAdaptation::Redeployment,
            Ok(K::ChangedTasks) => WorkAdaptation::ChangedTasks,
            Ok(K::HomeWork) => WorkAdaptation::HomeWork,
            Ok(K::ColleagueHelp) => WorkAdaptation::ColleagueHelp,
            Ok(K::ManagementSupport) => WorkAdaptation::ManagementSupport,
            Ok(K::PhysicalTraining) => WorkAdaptation::PhysicalTraining,
            Ok(K::ReducedHours) => {
                let hours = if w.hours_per_week.is_finite() {
                    (w.hours_per_week * 60.0)
                        .round()
                        .clamp(0.0, f64::from(u32::MAX)) as u32
                } else {
                    0
                };
                WorkAdaptation::ReducedHours {
                    hours_per_week: WeeklyHours::minutes(hours),
                }
            }
            Ok(K::Unspecified) | Err(_) => {
                invalid.push(
                    format!("work_adaptations[{i}].kind"),
                    "must name a work adaptation",
                );
                continue;
            }
        };
        work_adaptations.push(adaptation);
    }
    let expected_return = r.expected_return.as_ref().map(|e| ExpectedReturn {
        partial_from: optional_date(
            &mut invalid,
            "expected_return.partial_from",
            &e.partial_from,
        ),
        full_by: optional_date(&mut invalid, "expected_return.full_by", &e.full_by),
    });
    let (Some(recommended_category), true) = (category, invalid.is_empty()) else {
        return Err(invalid);
    };
    Ok(ConclusionInput {
        concluded_on: concluded_on.unwrap_or(today),
        recommended_category,
        exemption,
        plan_activities,
        work_adaptations,
        expected_return,
    })
}

fn adaptation_to_pb(w: &WorkAdaptation) -> pb::WorkAdaptation {
    use pb::WorkAdaptationKind as K;
    let (kind, hours) = match w {
        WorkAdaptation::Redeployment => (K::Redeployment, 0.0),
        WorkAdaptation::ChangedTasks => (K::ChangedTasks, 0.0),
        WorkAdaptation::HomeWork => (K::HomeWork, 0.0),
        WorkAdaptation::ColleagueHelp => (K::ColleagueHelp, 0.0),
        WorkAdaptation::ManagementSupport => (K::ManagementSupport, 0.0),
        WorkAdaptation::PhysicalTraining => (K::PhysicalTraining, 0.0),
        WorkAdaptation::ReducedHours { hours_per_week } => (
            K::ReducedHours,
            f64::from(hours_per_week.as_minutes()) / 60.0,
        ),
    };
    pb::WorkAdaptation {
        kind: kind as i32,
        hours_per_week: hours,
    }
}

fn expected_return_to_pb(e: &ExpectedReturn) -> pb::ExpectedReturn {
    pb::ExpectedReturn {
        partial_from: date_string(e.partial_from),
        full_by: date_string(e.full_by),
    }
}

fn change_to_pb(c: Change) -> i32 {
    (match c {
        Change::New => pb::ProfileChange::New,
        Change::Unchanged => pb::ProfileChange::Unchanged,
        Change::Improved => pb::ProfileChange::Improved,
        Change::Worsened => pb::ProfileChange::Worsened,
        Change::NotComparable => pb::ProfileChange::NotComparable,
    }) as i32
}

fn profile_to_pb(p: &IcfProfile) -> pb::IcfProfile {
    pb::IcfProfile {
        entries: p
            .entries
            .iter()
            .map(|e| pb::ProfileEntry {
                code: e.code.to_string(),
                title: e.code.title().unwrap_or_default().to_owned(),
                qualifiers: e.qualifiers.written(),
                assessed_by: discipline_to_pb(e.assessed_by),
                previous_qualifiers: e.previous.map(|q| q.written()).unwrap_or_default(),
                change: change_to_pb(e.change),
                summary: e.describe(),
            })
            .collect(),
        not_reassessed: p.not_reassessed.iter().map(|c| c.to_string()).collect(),
        previous_concluded_on: date_string(p.previous_concluded_on),
    }
}

fn activity_to_pb(a: &PlanActivity) -> pb::ProposedPlanActivity {
    let (kind, offer) = match a.kind {
        None => (pb::PlanActivityKind::Unspecified, None),
        Some(PlanActivityKind::PartialReturn) => (pb::PlanActivityKind::PartialReturn, None),
        Some(PlanActivityKind::Treatment) => (pb::PlanActivityKind::Treatment, None),
        Some(PlanActivityKind::WorkplaceContact) => (pb::PlanActivityKind::WorkplaceContact, None),
        Some(PlanActivityKind::RoundTable) => (pb::PlanActivityKind::RoundTable, None),
        Some(PlanActivityKind::ActiveOffer { offer_type }) => (
            pb::PlanActivityKind::ActiveOffer,
            reverse(&OFFERS, offer_type),
        ),
    };
    pb::ProposedPlanActivity {
        description: a.description.clone(),
        kind: kind as i32,
        offer_type: offer.unwrap_or(pb::ProposedOfferType::Unspecified) as i32,
    }
}

/// A stored screening on the wire. `only` restricts the assessments shown to one discipline
/// and hides the conclusion (a provider sees its own member's assessment only).
pub(crate) fn screening_to_pb(s: &ScreeningRecord, only: Option<Discipline>) -> pb::Screening {
    let sc = &s.screening;
    let readiness = sc.readiness();
    let full = only.is_none();
    pb::Screening {
        screening_id: s.id.to_string(),
        case_id: sc.case_id().to_string(),
        group_id: s.group_id.to_string(),
        opened_on: sc.opened_on().to_string(),
        state: if sc.is_concluded() {
            pb::ScreeningState::Concluded
        } else {
            pb::ScreeningState::Open
        } as i32,
        assessments: sc
            .assessments()
            .iter()
            .filter(|a| only.is_none_or(|d| d == a.discipline))
            .map(assessment_to_pb)
            .collect(),
        readiness: full.then(|| pb::Readiness {
            ready: readiness.is_ready(),
            missing_disciplines: readiness
                .missing_disciplines
                .iter()
                .map(|d| discipline_to_pb(*d))
                .collect(),
            missing_domains: readiness
                .missing_domains
                .iter()
                .map(|d| domain_to_pb(*d))
                .collect(),
        }),
        session: sc.session().filter(|_| full).map(|c| pb::SessionCheck {
            rule_id: c.rule_id.to_owned(),
            span_minutes: u32::try_from(c.span_minutes.max(0)).unwrap_or(u32::MAX),
            limit_minutes: c.limit_minutes,
            within_limit: c.within_limit,
        }),
        conclusion: sc.conclusion().filter(|_| full).map(|c| pb::Conclusion {
            concluded_on: c.concluded_on.to_string(),
            recommended_category: category_to_pb(c.recommended_category),
            exemption: c.exemption.as_ref().map(|e| pb::ExemptionRecommendation {
                ground: e
                    .ground
                    .and_then(|g| reverse(&GROUNDS, g))
                    .unwrap_or(pb::ExemptionGround::Unspecified) as i32,
                reason: e.reason.clone(),
            }),
            plan_activities: c.plan_activities.iter().map(activity_to_pb).collect(),
            work_adaptations: c.work_adaptations.iter().map(adaptation_to_pb).collect(),
            expected_return: c.expected_return.as_ref().map(expected_return_to_pb),
            profile: Some(profile_to_pb(&c.profile)),
        }),
        create_time: Some(timestamp(s.created_at)),
        update_time: Some(timestamp(s.updated_at)),
        etag: s.etag(),
    }
}

// ---------------------------------------------------------------------------------------------
// Queue and employer view

pub(crate) fn queue_to_pb(q: &ScreeningQueue) -> pb::ListUnscreenedCasesResponse {
    pb::ListUnscreenedCasesResponse {
        as_of: q.as_of.to_string(),
        cases: q
            .queue
            .iter()
            .map(|e| pb::UnscreenedCase {
                case_id: e.case_id.to_string(),
                first_sick_day: e.first_sick_day.to_string(),
                due_on: e.due.to_string(),
                days_left: i32::try_from(e.days_left).unwrap_or(i32::MIN),
                status: match e.status {
                    Status::Overdue => pb::DeadlineStatus::Overdue,
                    Status::Met => pb::DeadlineStatus::Met,
                    Status::Due => pb::DeadlineStatus::Due,
                    Status::NotApplicable => pb::DeadlineStatus::NotApplicable,
                } as i32,
            })
            .collect(),
        unscreened_new_cases: u32::try_from(q.unscreened_new_cases).unwrap_or(u32::MAX),
        overdue: u32::try_from(q.overdue).unwrap_or(u32::MAX),
    }
}

/// The employer view on the wire: plain-language areas and degrees, adaptations, timing. No
/// ICF code of any kind, no diagnosis, no free text.
pub(crate) fn employer_view_to_pb(v: &EmployerView) -> pb::GetScreeningEmployerViewResponse {
    pb::GetScreeningEmployerViewResponse {
        limitations: v
            .limitations
            .iter()
            .map(|l| pb::WorkLimitation {
                area: l.area.clone(),
                difficulty: match l.difficulty {
                    Difficulty::Mild => pb::LimitationDifficulty::Mild,
                    Difficulty::Moderate => pb::LimitationDifficulty::Moderate,
                    Difficulty::Severe => pb::LimitationDifficulty::Severe,
                    Difficulty::Complete => pb::LimitationDifficulty::Complete,
                } as i32,
            })
            .collect(),
        work_adaptations: v.work_adaptations.iter().map(adaptation_to_pb).collect(),
        expected_return: v.expected_return.as_ref().map(expected_return_to_pb),
        statements: v.statements(),
    }
}
