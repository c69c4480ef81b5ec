//! The 360-degree screening over gRPC (DOMAIN.md §7, §8.1 KIA-LENE, §8.4 AABENRAA-SCREENING):
//! groups, assessments with ICF codes, conclusion, the screening queue, the employer view and
//! rule T-21 in the case timeline.

use chrono::{Duration, NaiveDate};
use kia_proto::v1::screening_service_client::ScreeningServiceClient;
use kia_proto::v1::{self as pb, case_service_client::CaseServiceClient};
use pb::AssessmentDomain as Dom;
use pb::Discipline as D;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::support::{Backend, Caller, Daemon, on_both_backends};

type Cases = CaseServiceClient<InterceptedService<Channel, Caller>>;
type Screenings = ScreeningServiceClient<InterceptedService<Channel, Caller>>;

/// The KIA provider (Vejle Hospital's occupational medicine department).
const KIA_PROVIDER: Caller = Caller {
    organization: "vejle-kia",
    kind: "provider",
    municipality: "",
    role: "physiotherapist",
};

const EMPLOYER: Caller = Caller {
    organization: "CVR-29189587",
    kind: "employer",
    municipality: "",
    role: "manager",
};

fn today() -> NaiveDate {
    kia_runtime::clock::danish_date(chrono::Utc::now())
}

async fn open_case(cases: &mut Cases, municipality: &str, first_sick_day: NaiveDate) -> String {
    let case = pb::Case {
        municipality_code: municipality.into(),
        first_sick_day: first_sick_day.to_string(),
        employment_status: pb::EmploymentStatus::Employed as i32,
        employer_reference: "CVR-29189587".into(),
        citizen_reference: "citizen-ref".into(),
        ..Default::default()
    };
    let request = pb::CreateCaseRequest {
        r#case: Some(case),
        request_id: String::new(),
    };
    cases
        .create_case(request)
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap()
        .case_id
}

fn member(reference: &str, d: D, provider: bool) -> pb::ScreeningMember {
    pb::ScreeningMember {
        reference: reference.into(),
        discipline: d as i32,
        organisation: if provider {
            pb::MemberOrganisation::Provider
        } else {
            pb::MemberOrganisation::Jobcentre
        } as i32,
        organization_id: if provider {
            "vejle-kia".into()
        } else {
            String::new()
        },
    }
}

/// Lene's KIA team: occupational physician, chiropractor, physiotherapist, psychologist and a
/// social worker as course coordinator; the four she talks with are required.
pub(crate) async fn kia_team(screenings: &mut Screenings) -> pb::ScreeningGroup {
    let group = pb::ScreeningGroup {
        display_name: "KIA Vejle".into(),
        members: vec![
            member("kia-am", D::OccupationalPhysician, true),
            member("kia-kiro", D::Chiropractor, true),
            member("kia-fys", D::Physiotherapist, true),
            member("kia-psyk", D::Psychologist, true),
            member("kia-soc", D::SocialWorkerCoordinator, false),
        ],
        mode: pb::ScreeningMode::TeamSession as i32,
        required_disciplines: vec![
            D::OccupationalPhysician as i32,
            D::Chiropractor as i32,
            D::Physiotherapist as i32,
            D::Psychologist as i32,
        ],
        ..Default::default()
    };
    screenings
        .create_screening_group(pb::CreateScreeningGroupRequest {
            group: Some(group),
            request_id: "kia-team-1".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap()
}

/// An instant on `day` at `h:m` UTC.
fn at(day: NaiveDate, h: u32, m: u32) -> prost_types::Timestamp {
    let t = day.and_hms_opt(h, m, 0).unwrap().and_utc();
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

fn written(codes: &[&str]) -> Vec<pb::IcfFinding> {
    codes
        .iter()
        .map(|c| pb::IcfFinding {
            icf: (*c).into(),
            ..Default::default()
        })
        .collect()
}

fn assessment(
    screening_id: &str,
    d: D,
    assessor: &str,
    start: prost_types::Timestamp,
    minutes: i64,
    codes: &[&str],
    domains: &[Dom],
) -> pb::RecordAssessmentRequest {
    let end = prost_types::Timestamp {
        seconds: start.seconds + minutes * 60,
        nanos: 0,
    };
    pb::RecordAssessmentRequest {
        screening_id: screening_id.into(),
        discipline: d as i32,
        assessor: assessor.into(),
        started_at: Some(start),
        ended_at: Some(end),
        findings: written(codes),
        work_capacity: "can work a few hours a day with limited lifting".into(),
        domains: domains.iter().map(|d| *d as i32).collect(),
        ..Default::default()
    }
}

pub(crate) async fn open_screening(
    screenings: &mut Screenings,
    case_id: &str,
    group_id: &str,
) -> String {
    screenings
        .open_screening(pb::OpenScreeningRequest {
            case_id: case_id.into(),
            group_id: group_id.into(),
            opened_on: today().to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .screening
        .unwrap()
        .screening_id
}

/// The four KIA talks of one morning (D42), 09:00–10:55, with the given pain and lifting codes.
async fn kia_session(screenings: &mut Screenings, id: &str, pain: &str, lifting: &str) {
    let day = today();
    for request in [
        assessment(
            id,
            D::OccupationalPhysician,
            "kia-am",
            at(day, 8, 0),
            25,
            &[pain],
            &[Dom::Physical],
        ),
        assessment(
            id,
            D::Chiropractor,
            "kia-kiro",
            at(day, 8, 30),
            25,
            &["b710.1"],
            &[Dom::Physical],
        ),
        assessment(
            id,
            D::Physiotherapist,
            "kia-fys",
            at(day, 9, 0),
            25,
            &[lifting, "d415.1"],
            &[Dom::Physical, Dom::Employment],
        ),
        assessment(
            id,
            D::Psychologist,
            "kia-psyk",
            at(day, 9, 30),
            25,
            &["b152.1", "e330+2"],
            &[Dom::Psychological, Dom::Social],
        ),
    ] {
        screenings.record_assessment(request).await.unwrap();
    }
}

fn lene_conclusion(id: &str) -> pb::ConcludeScreeningRequest {
    let d0 = today() - Duration::days(42);
    pb::ConcludeScreeningRequest {
        screening_id: id.into(),
        concluded_on: today().to_string(),
        recommended_category: pb::Category::Category2 as i32,
        plan_activities: vec![
            pb::ProposedPlanActivity {
                description: "partial return at four hours a day".into(),
                kind: pb::PlanActivityKind::PartialReturn as i32,
                ..Default::default()
            },
            pb::ProposedPlanActivity {
                description: "short course in lifting technique and in managing her pain".into(),
                kind: pb::PlanActivityKind::ActiveOffer as i32,
                offer_type: pb::ProposedOfferType::GuidanceAndUpskilling as i32,
            },
        ],
        work_adaptations: vec![pb::WorkAdaptation {
            kind: pb::WorkAdaptationKind::ReducedHours as i32,
            hours_per_week: 20.0,
        }],
        expected_return: Some(pb::ExpectedReturn {
            partial_from: (d0 + Duration::days(49)).to_string(),
            full_by: (d0 + Duration::days(94)).to_string(),
        }),
        ..Default::default()
    }
}

async fn t21(cases: &mut Cases, case_id: &str, as_of: NaiveDate) -> pb::Deadline {
    let timeline = cases
        .get_timeline(pb::GetTimelineRequest {
            case_id: case_id.into(),
            as_of: as_of.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    timeline
        .deadlines
        .into_iter()
        .find(|d| d.rule_id == "T-21")
        .expect("T-21 in the timeline")
}

fn fields(status: &tonic::Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

on_both_backends!(
    kia_lene_is_assessed_by_the_team_within_two_hours_and_concluded,
    aabenraa_screens_every_new_case_by_its_d55,
    bad_icf_codes_and_qualifiers_name_the_field_and_the_code,
    a_discipline_assesses_once_and_concluding_early_says_what_is_missing,
    the_employer_view_carries_no_diagnosis_and_no_body_codes,
    the_icf_profile_shows_the_change_since_the_previous_screening,
    health_data_is_denied_to_other_organisations,
);

async fn kia_lene_is_assessed_by_the_team_within_two_hours_and_concluded(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let (mut cases, mut screenings) =
        (daemon.cases(Caller::VEJLE), daemon.screening(Caller::VEJLE));
    // D0 = 42 days ago: today Lene is referred to the KIA team (D42, inside weeks 4-12).
    let d0 = today() - Duration::days(42);
    let lene = open_case(&mut cases, "630", d0).await;
    let team = kia_team(&mut screenings).await;
    assert_eq!(team.members.len(), 5);
    assert_eq!(team.session_limit_minutes, 120, "KIA: within two hours");
    let again = kia_team(&mut screenings).await;
    assert_eq!(
        again.group_id, team.group_id,
        "request_id replays the group"
    );

    let id = open_screening(&mut screenings, &lene, &team.group_id).await;
    assert_eq!(
        t21(&mut cases, &lene, today()).await.status,
        pb::DeadlineStatus::Due as i32
    );
    kia_session(&mut screenings, &id, "b28013.3", "d430.23").await;

    let s = screenings
        .conclude_screening(lene_conclusion(&id))
        .await
        .unwrap()
        .into_inner()
        .screening
        .unwrap();
    assert_eq!(s.state, pb::ScreeningState::Concluded as i32);
    assert_eq!(s.assessments.len(), 4);
    let session = s.session.unwrap();
    assert_eq!(
        (
            session.rule_id.as_str(),
            session.span_minutes,
            session.within_limit
        ),
        ("T-24", 115, true),
        "four talks within two hours"
    );
    let c = s.conclusion.unwrap();
    assert_eq!(c.recommended_category, pb::Category::Category2 as i32);
    let kinds: Vec<i32> = c.plan_activities.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            pb::PlanActivityKind::PartialReturn as i32,
            pb::PlanActivityKind::ActiveOffer as i32
        ]
    );
    assert!(
        c.plan_activities[1]
            .description
            .contains("lifting technique")
    );
    assert_eq!(c.work_adaptations[0].hours_per_week, 20.0);
    let pain = c
        .profile
        .unwrap()
        .entries
        .into_iter()
        .find(|e| e.code == "b28013")
        .unwrap();
    assert_eq!(
        (pain.change, pain.summary.as_str()),
        (pb::ProfileChange::New as i32, "b28013: new (3)")
    );

    let deadline = t21(&mut cases, &lene, today()).await;
    assert_eq!(deadline.kind, "assessment_360");
    assert_eq!(deadline.due_on, (d0 + Duration::days(55)).to_string());
    assert_eq!(
        (deadline.status, deadline.met_on),
        (pb::DeadlineStatus::Met as i32, today().to_string())
    );
}

async fn aabenraa_screens_every_new_case_by_its_d55(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let (mut cases, mut screenings) = (
        daemon.cases(Caller::AABENRAA),
        daemon.screening(Caller::AABENRAA),
    );
    // Two jobcentre caseworkers, the provider's doctor and physiotherapist.
    let group = screenings
        .create_screening_group(pb::CreateScreeningGroupRequest {
            group: Some(pb::ScreeningGroup {
                display_name: "Screeningsgruppe Aabenraa".into(),
                members: vec![
                    member("cw-1", D::Caseworker, false),
                    member("cw-2", D::Caseworker, false),
                    member("qc-doctor", D::Doctor, true),
                    member("qc-physio", D::Physiotherapist, true),
                ],
                mode: pb::ScreeningMode::StandingGroup as i32,
                required_disciplines: vec![
                    D::Caseworker as i32,
                    D::Doctor as i32,
                    D::Physiotherapist as i32,
                ],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    assert_eq!(
        group.members.len(),
        4,
        "the screening record lists the four members"
    );

    let days_ago = [45, 50, 40, 60];
    let mut ids = Vec::new();
    for n in days_ago {
        ids.push(open_case(&mut cases, "580", today() - Duration::days(n)).await);
    }
    let queue = screenings
        .list_unscreened_cases(pb::ListUnscreenedCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let order: Vec<&str> = queue.cases.iter().map(|c| c.case_id.as_str()).collect();
    assert_eq!(
        order,
        [&ids[3], &ids[1], &ids[0], &ids[2]],
        "earliest D55 first"
    );
    assert_eq!((queue.unscreened_new_cases, queue.overdue), (4, 1));
    assert_eq!(queue.cases[0].days_left, -5);
    assert_eq!(queue.cases[0].status, pb::DeadlineStatus::Overdue as i32);

    // The case past D55 without a conclusion: T-21 overdue in its timeline.
    let late = &ids[3];
    assert_eq!(
        t21(&mut cases, late, today()).await.status,
        pb::DeadlineStatus::Overdue as i32
    );

    let day = today();
    for case_id in &ids {
        let id = open_screening(&mut screenings, case_id, &group.group_id).await;
        for request in [
            assessment(
                &id,
                D::Caseworker,
                "cw-1",
                at(day, 8, 0),
                20,
                &["d845.2"],
                &[Dom::Social, Dom::Employment],
            ),
            assessment(
                &id,
                D::Doctor,
                "qc-doctor",
                at(day, 8, 30),
                20,
                &["b28013.2", "b152.1"],
                &[Dom::Physical, Dom::Psychological],
            ),
            assessment(
                &id,
                D::Physiotherapist,
                "qc-physio",
                at(day, 9, 0),
                20,
                &["d430.2"],
                &[Dom::Physical],
            ),
        ] {
            screenings.record_assessment(request).await.unwrap();
        }
        screenings
            .conclude_screening(pb::ConcludeScreeningRequest {
                screening_id: id,
                recommended_category: pb::Category::Category2 as i32,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let queue = screenings
        .list_unscreened_cases(pb::ListUnscreenedCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((queue.unscreened_new_cases, queue.cases.len()), (0, 0));
    // Concluded today, after its D55: met, but late.
    let d = t21(&mut cases, late, today()).await;
    assert_eq!(d.status, pb::DeadlineStatus::Met as i32);
    assert!(d.met_on > d.due_on);
    // As of the day before the conclusion it was overdue.
    let yesterday = today() - Duration::days(1);
    assert_eq!(
        t21(&mut cases, late, yesterday).await.status,
        pb::DeadlineStatus::Overdue as i32
    );
}

async fn bad_icf_codes_and_qualifiers_name_the_field_and_the_code(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let (mut cases, mut screenings) =
        (daemon.cases(Caller::VEJLE), daemon.screening(Caller::VEJLE));
    let case_id = open_case(&mut cases, "630", today() - Duration::days(42)).await;
    let team = kia_team(&mut screenings).await;
    let id = open_screening(&mut screenings, &case_id, &team.group_id).await;
    let start = at(today(), 8, 0);

    // Written form: an unknown code and a qualifier out of range.
    let mut r = assessment(
        &id,
        D::Physiotherapist,
        "kia-fys",
        start,
        20,
        &["b28013.2", "b298.2", "d430.7"],
        &[Dom::Physical],
    );
    let err = screenings.record_assessment(r.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let f = fields(&err);
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].0, "findings[1].icf");
    assert!(f[0].1.contains("unknown ICF code b298"), "{}", f[0].1);
    assert_eq!(f[1].0, "findings[2].icf");
    assert!(
        f[1].1.contains("qualifier 7") && f[1].1.contains("d430"),
        "{}",
        f[1].1
    );

    // Structured form: the field is the code or the qualifiers.
    r.findings = vec![
        pb::IcfFinding {
            icf: "b28013.2".into(),
            ..Default::default()
        },
        pb::IcfFinding {
            component: pb::IcfComponent::ActivitiesAndParticipation as i32,
            code: "d4x0".into(),
            qualifiers: vec![2],
            ..Default::default()
        },
        pb::IcfFinding {
            component: pb::IcfComponent::BodyFunctions as i32,
            code: "b280".into(),
            qualifiers: vec![5],
            ..Default::default()
        },
    ];
    let err = screenings.record_assessment(r.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let f = fields(&err);
    assert_eq!(f[0].0, "findings[1].code");
    assert!(f[0].1.contains("d4x0"), "{}", f[0].1);
    assert_eq!(f[1].0, "findings[2].qualifiers");
    assert!(
        f[1].1.contains("qualifier 5") && f[1].1.contains("b280"),
        "{}",
        f[1].1
    );

    // Nothing was recorded.
    let s = screenings
        .get_screening(pb::GetScreeningRequest {
            screening_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .screening
        .unwrap();
    assert!(s.assessments.is_empty());
}

async fn a_discipline_assesses_once_and_concluding_early_says_what_is_missing(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let (mut cases, mut screenings) =
        (daemon.cases(Caller::VEJLE), daemon.screening(Caller::VEJLE));
    let case_id = open_case(&mut cases, "630", today() - Duration::days(42)).await;
    let team = kia_team(&mut screenings).await;
    let id = open_screening(&mut screenings, &case_id, &team.group_id).await;
    let first = assessment(
        &id,
        D::OccupationalPhysician,
        "kia-am",
        at(today(), 8, 0),
        20,
        &["b28013.3"],
        &[Dom::Physical],
    );
    screenings.record_assessment(first.clone()).await.unwrap();
    let err = screenings.record_assessment(first).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message()
            .contains("occupational physician has already assessed"),
        "{}",
        err.message()
    );

    let err = screenings
        .conclude_screening(lene_conclusion(&id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let info = err.get_details_error_info().unwrap();
    assert_eq!(
        info.metadata.get("rule_id").map(String::as_str),
        Some("T-21")
    );
    assert!(
        err.message().contains(
            "required disciplines have not assessed: chiropractor, physiotherapist, \
             psychologist; domains not covered: psychological, social, employment"
        ),
        "{}",
        err.message()
    );
}

async fn the_employer_view_carries_no_diagnosis_and_no_body_codes(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let (mut cases, mut screenings) =
        (daemon.cases(Caller::VEJLE), daemon.screening(Caller::VEJLE));
    let case_id = open_case(&mut cases, "630", today() - Duration::days(42)).await;
    let team = kia_team(&mut screenings).await;
    let id = open_screening(&mut screenings, &case_id, &team.group_id).await;
    let mut doctor = assessment(
        &id,
        D::OccupationalPhysician,
        "kia-am",
        at(today(), 8, 0),
        25,
        &["b28013.3", "s12000.2"],
        &[Dom::Physical],
    );
    doctor.health_condition = Some(pb::HealthCondition {
        icd_code: "M54.5".into(),
        description: "lumbago with degenerative changes".into(),
        diagnosis_clear: true,
        on_standby_list: false,
    });
    screenings.record_assessment(doctor).await.unwrap();
    for request in [
        assessment(
            &id,
            D::Chiropractor,
            "kia-kiro",
            at(today(), 8, 30),
            25,
            &["b710.1"],
            &[Dom::Physical],
        ),
        assessment(
            &id,
            D::Physiotherapist,
            "kia-fys",
            at(today(), 9, 0),
            25,
            &["d430.23", "d415.1"],
            &[Dom::Physical, Dom::Employment],
        ),
        assessment(
            &id,
            D::Psychologist,
            "kia-psyk",
            at(today(), 9, 30),
            25,
            &["b152.1"],
            &[Dom::Psychological, Dom::Social],
        ),
    ] {
        screenings.record_assessment(request).await.unwrap();
    }
    screenings
        .conclude_screening(lene_conclusion(&id))
        .await
        .unwrap();

    let view = screenings
        .get_screening_employer_view(pb::GetScreeningEmployerViewRequest {
            screening_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        view.statements
            .contains(&"lifting and carrying: moderate difficulty".to_owned())
    );
    assert!(
        view.statements
            .iter()
            .any(|s| s.starts_with("reduced hours"))
    );
    assert!(
        view.statements
            .iter()
            .any(|s| s.starts_with("expected partial return from"))
    );
    let everything = format!("{view:?}");
    for secret in [
        "b28013", "b710", "b152", "s12000", "M54", "lumbago", "d430", "pain",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked: {everything}"
        );
    }
}

async fn the_icf_profile_shows_the_change_since_the_previous_screening(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let (mut cases, mut screenings) =
        (daemon.cases(Caller::VEJLE), daemon.screening(Caller::VEJLE));
    let case_id = open_case(&mut cases, "630", today() - Duration::days(42)).await;
    let team = kia_team(&mut screenings).await;
    let first = open_screening(&mut screenings, &case_id, &team.group_id).await;
    kia_session(&mut screenings, &first, "b28013.3", "d430.23").await;
    screenings
        .conclude_screening(lene_conclusion(&first))
        .await
        .unwrap();

    // The team reviews her again: pain better, lifting worse.
    let second = open_screening(&mut screenings, &case_id, &team.group_id).await;
    kia_session(&mut screenings, &second, "b28013.2", "d430.34").await;
    let s = screenings
        .conclude_screening(lene_conclusion(&second))
        .await
        .unwrap()
        .into_inner()
        .screening
        .unwrap();
    let profile = s.conclusion.unwrap().profile.unwrap();
    assert_eq!(profile.previous_concluded_on, today().to_string());
    let entry = |code: &str| {
        profile
            .entries
            .iter()
            .find(|e| e.code == code)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("b28013").change, pb::ProfileChange::Improved as i32);
    assert_eq!(entry("b28013").summary, "b28013: 3 → 2 (improved)");
    assert_eq!(entry("d430").change, pb::ProfileChange::Worsened as i32);
    assert_eq!(entry("b710").change, pb::ProfileChange::Unchanged as i32);
    assert_eq!(entry("e330").previous_qualifiers, "+2");
}

async fn health_data_is_denied_to_other_organisations(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let (mut cases, mut screenings) =
        (daemon.cases(Caller::VEJLE), daemon.screening(Caller::VEJLE));
    let case_id = open_case(&mut cases, "630", today() - Duration::days(42)).await;
    let team = kia_team(&mut screenings).await;
    let id = open_screening(&mut screenings, &case_id, &team.group_id).await;
    screenings
        .record_assessment(assessment(
            &id,
            D::OccupationalPhysician,
            "kia-am",
            at(today(), 8, 0),
            20,
            &["b28013.3"],
            &[Dom::Physical],
        ))
        .await
        .unwrap();

    // Another municipality's jobcenter, an employer: denied, existence not revealed.
    for caller in [Caller::AABENRAA, EMPLOYER, KIA_PROVIDER] {
        let err = daemon
            .screening(caller.clone())
            .get_screening(pb::GetScreeningRequest {
                screening_id: id.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{caller:?}");
    }
    let err = daemon
        .screening(Caller::AABENRAA)
        .open_screening(pb::OpenScreeningRequest {
            case_id: case_id.clone(),
            group_id: team.group_id.clone(),
            opened_on: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // The provider records its own member's assessment and sees only that one back.
    let mut provider = daemon.screening(KIA_PROVIDER);
    let own = assessment(
        &id,
        D::Physiotherapist,
        "kia-fys",
        at(today(), 9, 0),
        20,
        &["d430.2"],
        &[Dom::Physical],
    );
    let s = provider
        .record_assessment(own)
        .await
        .unwrap()
        .into_inner()
        .screening
        .unwrap();
    assert_eq!(s.assessments.len(), 1);
    assert_eq!(s.assessments[0].discipline, D::Physiotherapist as i32);
    assert!(s.conclusion.is_none() && s.readiness.is_none());
    // Not as a member of another discipline or reference.
    let err = provider
        .record_assessment(assessment(
            &id,
            D::Psychologist,
            "kia-fys",
            at(today(), 9, 30),
            20,
            &[],
            &[Dom::Psychological],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = daemon
        .screening(EMPLOYER)
        .record_assessment(assessment(
            &id,
            D::Chiropractor,
            "kia-kiro",
            at(today(), 9, 30),
            20,
            &[],
            &[Dom::Physical],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // The jobcenter sees both.
    let s = screenings
        .get_screening(pb::GetScreeningRequest { screening_id: id })
        .await
        .unwrap()
        .into_inner()
        .screening
        .unwrap();
    assert_eq!(s.assessments.len(), 2);
}
