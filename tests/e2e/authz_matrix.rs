//! The authorization matrix: every RPC of the case, screening, plan, contracting and audit
//! services, called by every organisation kind, for its own tenant and for a foreign one. Each
//! cell is written down as data in [`MATRIX`]; the test runs every cell against one daemon
//! holding one Vejle case with a plan (shared with a rehabilitation centre, with a health
//! activity), a screening (with a provider member and a doctor's diagnosis) and a referral to a
//! contracted provider. An employer view counts as seen only when it holds no diagnosis, no ICF
//! b/s code and no health activity detail.

use chrono::{Duration, NaiveDate};
use kia_proto::v1 as pb;
use pb::Discipline as Disc;
use tonic::Code;

use crate::support::{Backend, Caller, Daemon};

/// What a cell expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// OK, and the answer holds the fixture's data (or the change was made).
    O,
    /// OK, but the answer holds none of the fixture's data (the caller's own tenant is empty).
    E,
    /// PERMISSION_DENIED.
    D,
    /// FAILED_PRECONDITION: authorized, and then a rule refuses (see the row's note).
    F,
    /// INVALID_ARGUMENT: authorized, and then the input is refused (authorization comes first).
    V,
}
use Cell::{D, E, F, O, V};

/// A provider with no contract with Vejle and no part in the screening.
const OTHER_PROVIDER: Caller = Caller {
    organization: "other-care",
    kind: "provider",
    municipality: "",
    role: "consultant",
};
/// A rehabilitation centre the plan is not shared with.
const OTHER_CENTRE: Caller = Caller {
    organization: "rc-odense",
    kind: "rehabilitation_centre",
    municipality: "",
    role: "doctor",
};
/// An employer that does not employ the citizen.
const OTHER_EMPLOYER: Caller = Caller {
    organization: "CVR-11111111",
    kind: "employer",
    municipality: "",
    role: "hr",
};

/// The columns: every organisation kind, own tenant then foreign tenant (operations has none).
const CALLERS: [(&str, Caller); 9] = [
    ("jobcenter (Vejle, the case's)", Caller::VEJLE),
    ("jobcenter (Aabenraa)", Caller::AABENRAA),
    ("provider (referred, screening member)", Caller::PROVIDER),
    ("provider (not referred)", OTHER_PROVIDER),
    (
        "rehabilitation centre (plan shared)",
        Caller::REHABILITATION_CENTRE,
    ),
    ("rehabilitation centre (not shared)", OTHER_CENTRE),
    ("employer (the citizen's)", Caller::EMPLOYER),
    ("employer (another)", OTHER_EMPLOYER),
    ("operations", Caller::OPERATIONS),
];

/// Rows run in this order; changes are made by the allowed callers only, and the case is closed
/// last. Columns as in [`CALLERS`]:
///   jc-own, jc-foreign, prov-own, prov-foreign, rc-own, rc-foreign, emp-own, emp-foreign, ops
#[rustfmt::skip]
const MATRIX: &[(&str, [Cell; 9])] = &[
    ("ContractingService/CreateProvider",      [O, O, D, D, D, D, D, D, O]),
    // The provider register is shared; a provider sees only itself.
    ("ContractingService/GetProvider",         [O, O, O, D, D, D, D, D, O]),
    ("ContractingService/ListProviders",       [O, O, O, O, D, D, D, D, O]),
    ("ContractingService/CreateContract",      [O, D, D, D, D, D, D, D, D]),
    ("ContractingService/GetContract",         [O, D, O, D, D, D, D, D, D]),
    ("ContractingService/ListContracts",       [O, E, O, E, D, D, D, D, D]),
    ("ContractingService/ReferCase",           [O, D, D, D, D, D, D, D, D]),
    ("ContractingService/RecordReferralEvent", [O, D, O, D, D, D, D, D, D]),
    ("ContractingService/GetReferral",         [O, D, O, D, D, D, D, D, D]),
    ("ContractingService/ListReferrals",       [O, E, O, E, D, D, D, D, D]),
    ("ContractingService/GetScorecard",        [O, D, O, D, D, D, D, D, D]),
    ("ContractingService/RankProviders",       [O, E, D, D, D, D, D, D, D]),
    // F: the referral has not ended, so there is no net gain yet.
    ("ContractingService/GetNetGain",          [F, D, D, D, D, D, D, D, D]),
    ("ContractingService/RoskildeWhatIf",      [O, O, O, O, O, O, O, O, O]),
    ("ScreeningService/CreateScreeningGroup",  [O, O, D, D, D, D, D, D, D]),
    ("ScreeningService/GetScreeningGroup",     [O, D, D, D, D, D, D, D, D]),
    ("ScreeningService/OpenScreening",         [O, D, D, D, D, D, D, D, D]),
    // A provider records only as the group member it is.
    ("ScreeningService/RecordAssessment",      [O, D, O, D, D, D, D, D, D]),
    // F: T-21, not every required discipline has assessed yet.
    ("ScreeningService/ConcludeScreening",     [F, D, D, D, D, D, D, D, D]),
    ("ScreeningService/GetScreening",          [O, D, D, D, D, D, D, D, D]),
    ("ScreeningService/ListUnscreenedCases",   [O, E, D, D, D, D, D, D, D]),
    ("ScreeningService/GetScreeningEmployerView", [O, D, D, D, D, D, O, D, D]),
    ("PlanService/CreatePlan",                 [O, D, D, D, D, D, D, D, D]),
    // Shared with the rehabilitation centre (read and update) until the grant expires.
    ("PlanService/GetPlan",                    [O, D, D, D, O, D, D, D, D]),
    ("PlanService/ApplyPlanChange",            [O, D, D, D, O, D, D, D, D]),
    ("PlanService/GetPlanAsOf",                [O, D, D, D, O, D, D, D, D]),
    ("PlanService/GetEmployerView",            [O, D, D, D, D, D, O, D, D]),
    ("PlanService/GrantPlanAccess",            [O, D, D, D, D, D, D, D, D]),
    ("PlanService/RevokePlanAccess",           [O, D, D, D, D, D, D, D, D]),
    ("PlanService/WatchPlan",                  [O, D, D, D, O, D, D, D, D]),
    ("CaseService/CreateCase",                 [O, D, D, D, D, D, D, D, D]),
    ("CaseService/GetCase",                    [O, D, D, D, D, D, D, D, D]),
    ("CaseService/ListCases",                  [O, E, D, D, D, D, D, D, D]),
    ("CaseService/Visitate",                   [O, D, D, D, D, D, D, D, D]),
    ("CaseService/RecordFollowUp",             [O, D, D, D, D, D, D, D, D]),
    ("CaseService/SetExemption",               [O, D, D, D, D, D, D, D, D]),
    ("CaseService/LiftExemption",              [O, D, D, D, D, D, D, D, D]),
    ("CaseService/RecordPartialReturn",        [O, D, D, D, D, D, D, D, D]),
    ("CaseService/RecordCaseStep",             [O, D, D, D, D, D, D, D, D]),
    ("CaseService/GetTimeline",                [O, D, D, D, D, D, D, D, D]),
    ("CaseService/GetReimbursement",           [O, D, D, D, D, D, D, D, D]),
    // Each jobcenter watches its own municipality's events.
    ("CaseService/WatchCaseEvents",            [O, O, D, D, D, D, D, D, D]),
    ("CaseService/FindCitizenCases",           [O, E, D, D, D, D, D, D, D]),
    ("CaseService/RevealCitizenCpr",           [O, D, D, D, D, D, D, D, D]),
    ("AuditService/ListAuditEvents",           [O, D, D, D, D, D, D, D, D]),
    ("AuditService/GetAccessReport",           [O, D, D, D, D, D, D, D, D]),
    // The whole chain's integrity, which carries no personal data: any jobcenter, and operations.
    ("AuditService/VerifyAuditChain",          [O, O, D, D, D, D, D, D, O]),
    // Alerts name cases and health activities: the jobcenter sees its municipality's, a provider
    // or rehabilitation centre those addressed to it (possibly none). Acknowledging a malformed
    // id shows authorization coming before validation.
    ("AlertService/ListAlerts",                [O, O, O, O, O, O, D, D, D]),
    ("AlertService/AcknowledgeAlert",          [V, V, V, V, V, V, D, D, D]),
    ("AlertService/WatchAlerts",               [O, O, O, O, O, O, D, D, D]),
    // Anyone may read the daemon's clock; only operations may move it, and only when the daemon
    // runs with --settable-clock (this one does not).
    ("ClockService/GetClock",                  [O, O, O, O, O, O, O, O, O]),
    ("ClockService/SetClock",                  [D, D, D, D, D, D, D, D, F]),
    ("CaseService/CloseCase",                  [O, D, D, D, D, D, D, D, D]),
];

/// The RPCs above that read or change the fixture's case: each allowed call must have left a
/// record in the case's audit trail (a WatchPlan when its stream opens).
const AUDITED: &[&str] = &[
    "ContractingService/RecordReferralEvent",
    "ContractingService/GetReferral",
    "ContractingService/ListReferrals",
    "ScreeningService/OpenScreening",
    "ScreeningService/RecordAssessment",
    "ScreeningService/GetScreening",
    "ScreeningService/ListUnscreenedCases",
    "ScreeningService/GetScreeningEmployerView",
    "PlanService/GetPlan",
    "PlanService/ApplyPlanChange",
    "PlanService/GetPlanAsOf",
    "PlanService/GetEmployerView",
    "PlanService/GrantPlanAccess",
    "PlanService/RevokePlanAccess",
    "PlanService/WatchPlan",
    "CaseService/GetCase",
    "CaseService/ListCases",
    "CaseService/Visitate",
    "CaseService/RecordFollowUp",
    "CaseService/SetExemption",
    "CaseService/LiftExemption",
    "CaseService/RecordPartialReturn",
    "CaseService/RecordCaseStep",
    "CaseService/GetTimeline",
    "CaseService/GetReimbursement",
    "CaseService/FindCitizenCases",
    "CaseService/RevealCitizenCpr",
    "AuditService/ListAuditEvents",
    "AuditService/GetAccessReport",
    "CaseService/CloseCase",
];

/// What one call came to: `Ok(n)` with n items of the fixture's data in the answer.
type Answer = Result<usize, Code>;

fn answer<T>(
    result: Result<tonic::Response<T>, tonic::Status>,
    count: impl Fn(&T) -> usize,
) -> Answer {
    result
        .map(|r| count(r.get_ref()))
        .map_err(|status| status.code())
}

fn one<T>(_: &T) -> usize {
    1
}

fn matches(cell: Cell, got: &Answer) -> bool {
    match (cell, got) {
        (O, Ok(n)) => *n > 0,
        (E, Ok(n)) => *n == 0,
        (D, Err(code)) => *code == Code::PermissionDenied,
        (F, Err(code)) => *code == Code::FailedPrecondition,
        (V, Err(code)) => *code == Code::InvalidArgument,
        _ => false,
    }
}

/// The data every cell works on.
struct Fixture {
    d0: NaiveDate,
    today: NaiveDate,
    case_id: String,
    /// A case without a plan (for CreatePlan) and one not yet referred (for ReferCase).
    unplanned_case: String,
    unreferred_case: String,
    provider_id: String,
    contract_id: String,
    referral_id: String,
    group_id: String,
    screening_id: String,
}

fn today() -> NaiveDate {
    kia_runtime::clock::danish_date(chrono::Utc::now())
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        // Whole seconds would put "now" before a plan created earlier in the same second.
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn intake(d0: NaiveDate) -> pb::CreateCaseRequest {
    pb::CreateCaseRequest {
        r#case: Some(pb::Case {
            municipality_code: "630".into(),
            first_sick_day: d0.to_string(),
            employment_status: pb::EmploymentStatus::Employed as i32,
            employer_reference: Caller::EMPLOYER.organization.into(),
            citizen_reference: "vejle-0042".into(),
            citizen_cpr: CPR.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// The citizen of every case of the fixture.
const CPR: &str = "070761-4285";

async fn open_case(daemon: &Daemon, d0: NaiveDate) -> String {
    let created = daemon.cases(Caller::VEJLE).create_case(intake(d0)).await;
    created.unwrap().into_inner().r#case.unwrap().case_id
}

fn provider(name: &str, organization: &str) -> pb::CreateProviderRequest {
    pb::CreateProviderRequest {
        provider: Some(pb::Provider {
            name: name.into(),
            kind: pb::ProviderKind::PrivateProvider as i32,
            organization_id: organization.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

fn contract(fx_provider: &str, today: NaiveDate) -> pb::CreateContractRequest {
    pb::CreateContractRequest {
        contract: Some(pb::Contract {
            provider_id: fx_provider.into(),
            municipality_code: "630".into(),
            service: pb::ServiceType::ReturnToWorkCourse as i32,
            price_oere: 386_000,
            price_unit: pb::PriceUnit::Course as i32,
            period_from: (today - Duration::days(200)).to_string(),
            period_to: (today + Duration::days(200)).to_string(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

fn member(reference: &str, d: Disc, organization: &str) -> pb::ScreeningMember {
    pb::ScreeningMember {
        reference: reference.into(),
        discipline: d as i32,
        organisation: if organization.is_empty() {
            pb::MemberOrganisation::Jobcentre
        } else {
            pb::MemberOrganisation::Provider
        } as i32,
        organization_id: organization.into(),
    }
}

fn group() -> pb::CreateScreeningGroupRequest {
    pb::CreateScreeningGroupRequest {
        group: Some(pb::ScreeningGroup {
            display_name: "Vejle screening group".into(),
            members: vec![
                member("jc-cw", Disc::Caseworker, ""),
                member("jc-doc", Disc::Doctor, ""),
                member("jc-psy", Disc::Psychologist, ""),
                member(
                    "qc-fys",
                    Disc::Physiotherapist,
                    Caller::PROVIDER.organization,
                ),
            ],
            mode: pb::ScreeningMode::StandingGroup as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

fn assessment(
    screening_id: &str,
    discipline: Disc,
    assessor: &str,
    day: NaiveDate,
) -> pb::RecordAssessmentRequest {
    let start = day.and_hms_opt(9, 0, 0).unwrap().and_utc();
    pb::RecordAssessmentRequest {
        screening_id: screening_id.into(),
        discipline: discipline as i32,
        assessor: assessor.into(),
        started_at: Some(timestamp(start)),
        ended_at: Some(timestamp(start + Duration::minutes(25))),
        findings: vec![pb::IcfFinding {
            icf: "d430.2".into(),
            ..Default::default()
        }],
        work_capacity: "can work a few hours a day with limited lifting".into(),
        domains: vec![pb::AssessmentDomain::Physical as i32],
        ..Default::default()
    }
}

fn grant(case_id: &str, organisation: &str) -> pb::GrantPlanAccessRequest {
    pb::GrantPlanAccessRequest {
        case_id: case_id.into(),
        organisation: organisation.into(),
        access: pb::PlanAccess::ReadUpdate as i32,
        purpose: "rehabilitation under health act §140".into(),
        expire_time: Some(timestamp(chrono::Utc::now() + Duration::days(30))),
    }
}

fn caseworker() -> pb::Party {
    pb::Party {
        person: "cw-1".into(),
        organisation: String::new(),
        capacity: pb::Capacity::Caseworker as i32,
    }
}

fn create_plan(case_id: &str) -> pb::CreatePlanRequest {
    pb::CreatePlanRequest {
        case_id: case_id.into(),
        kind: pb::PlanKind::FollowUpPlan as i32,
        stage: pb::PlanStage::Preliminary as i32,
        author: Some(caseworker()),
        request_id: String::new(),
    }
}

/// The plan's health activity, and the screening's diagnosis and ICF body-function code.
const HEALTH_ACTIVITY: &str = "physio-back";
const ICD_CODE: &str = "M54.5";
const ICF_BODY_CODE: &str = "b28013";

/// An employer view holds no diagnosis, no ICF b/s code and no health activity detail. Counts
/// as 1 when it holds none of them, 0 when it leaks one (so an `O` cell fails).
fn employer_safe(view: &impl std::fmt::Debug) -> usize {
    let text = format!("{view:?}");
    let leaks = [
        ICD_CODE,
        ICF_BODY_CODE,
        HEALTH_ACTIVITY,
        "back-clinic",
        "Physiotherapy",
        "Health(",
    ];
    usize::from(!leaks.iter().any(|l| text.contains(l)))
}

async fn fixture(daemon: &Daemon) -> Fixture {
    let today = today();
    let d0 = today - Duration::days(30);
    let case_id = open_case(daemon, d0).await;
    let unplanned_case = open_case(daemon, d0).await;
    let unreferred_case = open_case(daemon, d0).await;

    let mut c = daemon.contracting(Caller::VEJLE);
    let provider_id = c
        .create_provider(provider("Quick Care", Caller::PROVIDER.organization))
        .await
        .unwrap()
        .into_inner()
        .provider
        .unwrap()
        .provider_id;
    c.create_provider(provider("Other Care", OTHER_PROVIDER.organization))
        .await
        .unwrap();
    let contract_id = c
        .create_contract(contract(&provider_id, today))
        .await
        .unwrap()
        .into_inner()
        .contract
        .unwrap()
        .contract_id;
    let referral_id = c
        .refer_case(pb::ReferCaseRequest {
            contract_id: contract_id.clone(),
            case_id: case_id.clone(),
            referred_on: (today - Duration::days(10)).to_string(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .referral
        .unwrap()
        .referral_id;

    let mut s = daemon.screening(Caller::VEJLE);
    let group_id = s
        .create_screening_group(group())
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap()
        .group_id;
    let screening_id = s
        .open_screening(pb::OpenScreeningRequest {
            case_id: case_id.clone(),
            group_id: group_id.clone(),
            opened_on: (today - Duration::days(2)).to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .screening
        .unwrap()
        .screening_id;

    let mut p = daemon.plans(Caller::VEJLE);
    let plan = p.create_plan(create_plan(&case_id)).await.unwrap();
    // Health data the employer views must leave out: a physiotherapy course at a back clinic.
    p.apply_plan_change(pb::ApplyPlanChangeRequest {
        case_id: case_id.clone(),
        etag: plan.into_inner().plan.unwrap().etag,
        author: Some(caseworker()),
        change: Some(pb::apply_plan_change_request::Change::AddActivity(
            pb::AddActivity {
                activity: Some(pb::PlanActivity {
                    activity_id: HEALTH_ACTIVITY.into(),
                    kind: Some(pb::plan_activity::Kind::Health(pb::HealthActivity {
                        kind: pb::HealthActivityKind::Physiotherapy as i32,
                        ordered_by_gp: false,
                    })),
                    responsible: "back-clinic".into(),
                    planned_start: (today + Duration::days(7)).to_string(),
                    planned_end: (today + Duration::days(35)).to_string(),
                    ..Default::default()
                }),
            },
        )),
    })
    .await
    .unwrap();
    p.grant_plan_access(grant(&case_id, Caller::REHABILITATION_CENTRE.organization))
        .await
        .unwrap();

    Fixture {
        d0,
        today,
        case_id,
        unplanned_case,
        unreferred_case,
        provider_id,
        contract_id,
        referral_id,
        group_id,
        screening_id,
    }
}

/// Makes one cell's call. Requests are valid, so an admitted caller gets an answer.
async fn call(daemon: &Daemon, fx: &Fixture, column: usize, caller: Caller, rpc: &str) -> Answer {
    let case_id = fx.case_id.clone();
    let today = fx.today;
    match rpc {
        "ContractingService/CreateProvider" => {
            let org = format!("new-provider-{column}");
            answer(
                daemon
                    .contracting(caller)
                    .create_provider(provider("New", &org))
                    .await,
                one,
            )
        }
        "ContractingService/GetProvider" => answer(
            daemon
                .contracting(caller)
                .get_provider(pb::GetProviderRequest {
                    provider_id: fx.provider_id.clone(),
                })
                .await,
            one,
        ),
        "ContractingService/ListProviders" => answer(
            daemon
                .contracting(caller)
                .list_providers(pb::ListProvidersRequest::default())
                .await,
            |r| r.providers.len(),
        ),
        "ContractingService/CreateContract" => answer(
            daemon
                .contracting(caller)
                .create_contract(contract(&fx.provider_id, today))
                .await,
            one,
        ),
        "ContractingService/GetContract" => answer(
            daemon
                .contracting(caller)
                .get_contract(pb::GetContractRequest {
                    contract_id: fx.contract_id.clone(),
                })
                .await,
            one,
        ),
        "ContractingService/ListContracts" => answer(
            daemon
                .contracting(caller)
                .list_contracts(pb::ListContractsRequest::default())
                .await,
            |r| r.contracts.len(),
        ),
        "ContractingService/ReferCase" => answer(
            daemon
                .contracting(caller)
                .refer_case(pb::ReferCaseRequest {
                    contract_id: fx.contract_id.clone(),
                    case_id: fx.unreferred_case.clone(),
                    referred_on: (today - Duration::days(5)).to_string(),
                    request_id: String::new(),
                })
                .await,
            one,
        ),
        "ContractingService/RecordReferralEvent" => {
            // The jobcenter records the start, the provider the placement.
            let (kind, on) = if column == 0 {
                (pb::ReferralEventKind::Started, today - Duration::days(8))
            } else {
                (
                    pb::ReferralEventKind::PlacementStarted,
                    today - Duration::days(6),
                )
            };
            answer(
                daemon
                    .contracting(caller)
                    .record_referral_event(pb::RecordReferralEventRequest {
                        referral_id: fx.referral_id.clone(),
                        kind: kind as i32,
                        on: on.to_string(),
                        ..Default::default()
                    })
                    .await,
                one,
            )
        }
        "ContractingService/GetReferral" => answer(
            daemon
                .contracting(caller)
                .get_referral(pb::GetReferralRequest {
                    referral_id: fx.referral_id.clone(),
                })
                .await,
            one,
        ),
        "ContractingService/ListReferrals" => answer(
            daemon
                .contracting(caller)
                .list_referrals(pb::ListReferralsRequest::default())
                .await,
            |r| r.referrals.len(),
        ),
        "ContractingService/GetScorecard" => answer(
            daemon
                .contracting(caller)
                .get_scorecard(pb::GetScorecardRequest {
                    scope: Some(pb::get_scorecard_request::Scope::ContractId(
                        fx.contract_id.clone(),
                    )),
                    period_from: (today - Duration::days(100)).to_string(),
                    period_to: today.to_string(),
                })
                .await,
            one,
        ),
        "ContractingService/RankProviders" => answer(
            daemon
                .contracting(caller)
                .rank_providers(pb::RankProvidersRequest {
                    metric: pb::ScorecardMetric::ReferralToStartDays as i32,
                    period_from: (today - Duration::days(100)).to_string(),
                    period_to: today.to_string(),
                    min_count: 0,
                })
                .await,
            |r| r.ranks.len(),
        ),
        "ContractingService/GetNetGain" => answer(
            daemon
                .contracting(caller)
                .get_net_gain(pb::GetNetGainRequest {
                    referral_id: fx.referral_id.clone(),
                    weekly_benefit_oere: 400_000,
                    benefit_weeks_saved: 4.0,
                    operating_cost_refund_weeks: None,
                })
                .await,
            one,
        ),
        "ContractingService/RoskildeWhatIf" => answer(
            daemon
                .contracting(caller)
                .roskilde_what_if(pb::RoskildeWhatIfRequest {
                    effect_pp: 5.0,
                    price_factor: 1.0,
                })
                .await,
            one,
        ),
        "ScreeningService/CreateScreeningGroup" => answer(
            daemon
                .screening(caller)
                .create_screening_group(group())
                .await,
            one,
        ),
        "ScreeningService/GetScreeningGroup" => answer(
            daemon
                .screening(caller)
                .get_screening_group(pb::GetScreeningGroupRequest {
                    group_id: fx.group_id.clone(),
                })
                .await,
            one,
        ),
        "ScreeningService/OpenScreening" => answer(
            daemon
                .screening(caller)
                .open_screening(pb::OpenScreeningRequest {
                    case_id,
                    group_id: fx.group_id.clone(),
                    opened_on: (today - Duration::days(1)).to_string(),
                })
                .await,
            one,
        ),
        "ScreeningService/RecordAssessment" => {
            // The jobcenter records its doctor (a diagnosis, a body-function code); every provider
            // tries the provider's member.
            let request = if column == 0 {
                let mut doctor = assessment(
                    &fx.screening_id,
                    Disc::Doctor,
                    "jc-doc",
                    today - Duration::days(1),
                );
                doctor.findings.push(pb::IcfFinding {
                    icf: format!("{ICF_BODY_CODE}.2"),
                    ..Default::default()
                });
                doctor.health_condition = Some(pb::HealthCondition {
                    icd_code: ICD_CODE.into(),
                    description: "low back pain".into(),
                    diagnosis_clear: true,
                    on_standby_list: false,
                });
                doctor
            } else {
                assessment(
                    &fx.screening_id,
                    Disc::Physiotherapist,
                    "qc-fys",
                    today - Duration::days(1),
                )
            };
            answer(
                daemon.screening(caller).record_assessment(request).await,
                one,
            )
        }
        "ScreeningService/ConcludeScreening" => answer(
            daemon
                .screening(caller)
                .conclude_screening(pb::ConcludeScreeningRequest {
                    screening_id: fx.screening_id.clone(),
                    concluded_on: today.to_string(),
                    recommended_category: pb::Category::Category2 as i32,
                    ..Default::default()
                })
                .await,
            one,
        ),
        "ScreeningService/GetScreening" => answer(
            daemon
                .screening(caller)
                .get_screening(pb::GetScreeningRequest {
                    screening_id: fx.screening_id.clone(),
                })
                .await,
            // The screening holds the diagnosis and the body-function code.
            |r| {
                let text = format!("{r:?}");
                usize::from(text.contains(ICD_CODE) && text.contains(ICF_BODY_CODE))
            },
        ),
        "ScreeningService/ListUnscreenedCases" => answer(
            daemon
                .screening(caller)
                .list_unscreened_cases(pb::ListUnscreenedCasesRequest::default())
                .await,
            |r| r.cases.len(),
        ),
        "ScreeningService/GetScreeningEmployerView" => answer(
            daemon
                .screening(caller)
                .get_screening_employer_view(pb::GetScreeningEmployerViewRequest {
                    screening_id: fx.screening_id.clone(),
                })
                .await,
            employer_safe,
        ),
        "PlanService/CreatePlan" => answer(
            daemon
                .plans(caller)
                .create_plan(create_plan(&fx.unplanned_case))
                .await,
            one,
        ),
        "PlanService/GetPlan" => answer(
            daemon
                .plans(caller)
                .get_plan(pb::GetPlanRequest {
                    case_id,
                    as_of: String::new(),
                })
                .await,
            // The plan itself holds the health activity the employer view leaves out.
            |r| usize::from(format!("{r:?}").contains(HEALTH_ACTIVITY)),
        ),
        "PlanService/ApplyPlanChange" => {
            let current = daemon
                .plans(Caller::VEJLE)
                .get_plan(pb::GetPlanRequest {
                    case_id: case_id.clone(),
                    as_of: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .plan
                .unwrap();
            let person = format!("contributor-{column}");
            answer(
                daemon
                    .plans(caller.clone())
                    .apply_plan_change(pb::ApplyPlanChangeRequest {
                        case_id,
                        etag: current.etag,
                        author: Some(pb::Party {
                            person: "author".into(),
                            organisation: String::new(),
                            capacity: pb::Capacity::Caseworker as i32,
                        }),
                        change: Some(pb::apply_plan_change_request::Change::AddContributor(
                            pb::AddContributor {
                                party: Some(pb::Party {
                                    person,
                                    organisation: caller.organization.into(),
                                    capacity: pb::Capacity::Physiotherapist as i32,
                                }),
                            },
                        )),
                    })
                    .await,
                one,
            )
        }
        "PlanService/GetPlanAsOf" => answer(
            daemon
                .plans(caller)
                .get_plan_as_of(pb::GetPlanAsOfRequest {
                    case_id,
                    as_of_time: Some(timestamp(chrono::Utc::now())),
                })
                .await,
            one,
        ),
        "PlanService/GetEmployerView" => answer(
            daemon
                .plans(caller)
                .get_employer_view(pb::GetEmployerViewRequest { case_id })
                .await,
            employer_safe,
        ),
        "PlanService/GrantPlanAccess" => answer(
            daemon
                .plans(caller)
                .grant_plan_access(grant(&case_id, "rc-aarhus"))
                .await,
            one,
        ),
        "PlanService/RevokePlanAccess" => answer(
            daemon
                .plans(caller)
                .revoke_plan_access(pb::RevokePlanAccessRequest {
                    case_id,
                    organisation: "rc-aarhus".into(),
                })
                .await,
            one,
        ),
        "PlanService/WatchPlan" => answer(
            daemon
                .plans(caller)
                .watch_plan(pb::WatchPlanRequest {
                    case_id,
                    after_position: 0,
                })
                .await,
            one,
        ),
        "CaseService/CreateCase" => {
            answer(daemon.cases(caller).create_case(intake(fx.d0)).await, one)
        }
        "CaseService/GetCase" => answer(
            daemon
                .cases(caller)
                .get_case(pb::GetCaseRequest { case_id })
                .await,
            one,
        ),
        "CaseService/ListCases" => answer(
            daemon
                .cases(caller)
                .list_cases(pb::ListCasesRequest::default())
                .await,
            |r| r.cases.len(),
        ),
        "CaseService/Visitate" => answer(
            daemon
                .cases(caller)
                .visitate(pb::VisitateRequest {
                    case_id,
                    category: pb::Category::Category2 as i32,
                    reason: "not expected back within 8 weeks".into(),
                    visited_on: today.to_string(),
                    etag: String::new(),
                })
                .await,
            one,
        ),
        "CaseService/RecordFollowUp" => answer(
            daemon
                .cases(caller)
                .record_follow_up(pb::RecordFollowUpRequest {
                    case_id,
                    held_on: today.to_string(),
                    contact_mode: pb::ContactMode::InPerson as i32,
                    outcome: "agreed gradual return".into(),
                    ..Default::default()
                })
                .await,
            one,
        ),
        "CaseService/SetExemption" => answer(
            daemon
                .cases(caller)
                .set_exemption(pb::SetExemptionRequest {
                    case_id,
                    ground: pb::ExemptionGround::TreatmentIsObstacle as i32,
                    from: (fx.d0 + Duration::days(10)).to_string(),
                    reason: "daily radiotherapy".into(),
                    ..Default::default()
                })
                .await,
            one,
        ),
        "CaseService/LiftExemption" => answer(
            daemon
                .cases(caller)
                .lift_exemption(pb::LiftExemptionRequest {
                    case_id,
                    ground: pb::ExemptionGround::TreatmentIsObstacle as i32,
                    lifted_on: (fx.d0 + Duration::days(20)).to_string(),
                    etag: String::new(),
                })
                .await,
            one,
        ),
        "CaseService/RecordPartialReturn" => answer(
            daemon
                .cases(caller)
                .record_partial_return(pb::RecordPartialReturnRequest {
                    case_id,
                    from: (today - Duration::days(3)).to_string(),
                    hours_per_week: 20.0,
                    ..Default::default()
                })
                .await,
            one,
        ),
        "CaseService/RecordCaseStep" => answer(
            daemon
                .cases(caller)
                .record_case_step(pb::RecordCaseStepRequest {
                    case_id,
                    step: pb::CaseStep::EmployerNotified as i32,
                    on: (fx.d0 + Duration::days(3)).to_string(),
                    etag: String::new(),
                })
                .await,
            one,
        ),
        "CaseService/GetTimeline" => answer(
            daemon
                .cases(caller)
                .get_timeline(pb::GetTimelineRequest {
                    case_id,
                    ..Default::default()
                })
                .await,
            one,
        ),
        "CaseService/GetReimbursement" => answer(
            daemon
                .cases(caller)
                .get_reimbursement(pb::GetReimbursementRequest {
                    case_id,
                    weekly_benefit_oere: 400_000,
                    through: today.to_string(),
                    // L2014 carries no refund table; R2012's financing is the last one kia has.
                    rule_set: pb::RuleSet::R2012 as i32,
                })
                .await,
            one,
        ),
        "CaseService/WatchCaseEvents" => answer(
            daemon
                .cases(caller)
                .watch_case_events(pb::WatchCaseEventsRequest { after_position: 0 })
                .await,
            one,
        ),
        "CaseService/CloseCase" => answer(
            daemon
                .cases(caller)
                .close_case(pb::CloseCaseRequest {
                    case_id,
                    outcome: pb::CaseOutcome::FullReturn as i32,
                    closed_on: today.to_string(),
                    ..Default::default()
                })
                .await,
            one,
        ),
        "CaseService/FindCitizenCases" => answer(
            daemon
                .cases(caller)
                .find_citizen_cases(pb::FindCitizenCasesRequest {
                    citizen_cpr: CPR.into(),
                })
                .await,
            |r| r.case_ids.len(),
        ),
        "CaseService/RevealCitizenCpr" => answer(
            daemon
                .cases(caller)
                .reveal_citizen_cpr(pb::RevealCitizenCprRequest { case_id })
                .await,
            |r| usize::from(r.citizen_cpr == CPR),
        ),
        "AuditService/ListAuditEvents" => answer(
            daemon
                .audit(caller)
                .list_audit_events(pb::ListAuditEventsRequest {
                    case_id,
                    ..Default::default()
                })
                .await,
            |r| r.events.len(),
        ),
        "AuditService/GetAccessReport" => answer(
            daemon
                .audit(caller)
                .get_access_report(pb::GetAccessReportRequest {
                    citizen: Some(pb::get_access_report_request::Citizen::CaseId(case_id)),
                })
                .await,
            |r| r.organizations.len(),
        ),
        "AuditService/VerifyAuditChain" => answer(
            daemon
                .audit(caller)
                .verify_audit_chain(pb::VerifyAuditChainRequest {})
                .await,
            |r| usize::from(r.intact && r.records_checked > 0),
        ),
        "AlertService/ListAlerts" => answer(
            daemon
                .alerts(caller)
                .list_alerts(pb::ListAlertsRequest::default())
                .await,
            one,
        ),
        "AlertService/AcknowledgeAlert" => answer(
            daemon
                .alerts(caller)
                .acknowledge_alert(pb::AcknowledgeAlertRequest {
                    alert_id: "not-an-alert".into(),
                })
                .await,
            one,
        ),
        "AlertService/WatchAlerts" => answer(
            daemon
                .alerts(caller)
                .watch_alerts(pb::WatchAlertsRequest { after_position: 0 })
                .await,
            one,
        ),
        "ClockService/GetClock" => answer(
            daemon.clock(caller).get_clock(pb::GetClockRequest {}).await,
            one,
        ),
        "ClockService/SetClock" => answer(
            daemon
                .clock(caller)
                .set_clock(pb::SetClockRequest {
                    now: Some(timestamp(chrono::Utc::now())),
                })
                .await,
            one,
        ),
        other => panic!("no call for {other}: add it to the matrix"),
    }
}

/// Runs the whole matrix and reports every cell that differs at once.
async fn run_matrix(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let fx = fixture(&daemon).await;
    let mut wrong = Vec::new();
    for (rpc, row) in MATRIX {
        for (column, ((who, caller), cell)) in CALLERS.iter().zip(row).enumerate() {
            let got = call(&daemon, &fx, column, caller.clone(), rpc).await;
            if !matches(*cell, &got) {
                wrong.push(format!("{rpc} by {who}: expected {cell:?}, got {got:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "cells that differ:\n{}", wrong.join("\n"));

    // Every allowed access to the case is in its trail, as a success, under the caller's name.
    let trail = crate::audit::trail(&daemon, &fx.case_id).await;
    for (rpc, row) in MATRIX.iter().filter(|(rpc, _)| AUDITED.contains(rpc)) {
        for ((who, caller), cell) in CALLERS.iter().zip(row) {
            let recorded = trail.iter().any(|e| {
                e.rpc == format!("kia.v1.{rpc}")
                    && e.organization == caller.organization
                    && e.outcome == "success"
            });
            if *cell == O && !recorded {
                wrong.push(format!("{rpc} by {who} left no audit record"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_matrix_covers_every_rpc_of_the_policy() {
    let listed: std::collections::BTreeSet<_> = MATRIX.iter().map(|(rpc, _)| *rpc).collect();
    let policy: std::collections::BTreeSet<_> = kia_runtime::authz::POLICY
        .iter()
        .map(|(method, _)| method.trim_start_matches("kia.v1."))
        .collect();
    assert_eq!(listed, policy);
}

#[tokio::test]
async fn every_rpc_by_every_kind_on_sqlite() {
    run_matrix(Backend::Sqlite).await;
}

#[tokio::test]
async fn every_rpc_by_every_kind_on_postgres() {
    if let Some(backend) = Backend::postgres().await {
        run_matrix(backend).await;
    }
}
