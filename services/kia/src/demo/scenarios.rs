//! The demo's fixed parts: providers, contracts and screening groups; plans with waiting times;
//! the KIA-LENE (DOMAIN.md §8.1) and AABENRAA-SCREENING (§8.4) scenarios.

use chrono::{Duration, NaiveDate};
use kia_proto::v1 as pb;
use pb::apply_plan_change_request::Change;
use pb::plan_activity::Kind;

use super::{AABENRAA, Callers, Named, Summary, VEJLE};
use crate::client::{Connection, Failure};

/// What the cases need from the set-up.
pub struct Setup {
    pub quick_care_provider: String,
    pub quick_care_contract: String,
    pub kia_team: String,
}

fn day(d0: NaiveDate, n: i64) -> String {
    (d0 + Duration::days(n)).to_string()
}

pub async fn setup(c: &Callers, now: NaiveDate, summary: &mut Summary) -> Result<Setup, Failure> {
    let mut contracting = c.vejle.contracting();
    let mut providers = Vec::new();
    for (name, kind, org) in [
        (
            "Quick Care",
            pb::ProviderKind::PrivateProvider,
            "quick-care",
        ),
        (
            "Arbejdsmedicinsk Klinik Vejle",
            pb::ProviderKind::OccupationalMedicineClinic,
            "amk-vejle",
        ),
    ] {
        let p = contracting
            .create_provider(pb::CreateProviderRequest {
                provider: Some(pb::Provider {
                    name: name.into(),
                    kind: kind as i32,
                    organization_id: org.into(),
                    ..Default::default()
                }),
                request_id: format!("demo-provider-{org}"),
            })
            .await?
            .into_inner()
            .provider
            .unwrap_or_default();
        summary.providers.push(Named {
            name: name.into(),
            id: p.provider_id.clone(),
        });
        providers.push(p.provider_id);
    }
    let target = |metric: pb::ScorecardMetric, value: f64| pb::ContractTarget {
        metric: metric as i32,
        value,
    };
    let mut contracts = Vec::new();
    for (provider, service, price, name, targets) in [
        (
            &providers[0],
            pb::ServiceType::ReturnToWorkCourse,
            3_860_000,
            "Quick Care return-to-work courses",
            vec![
                target(pb::ScorecardMetric::ReferralToStartDays, 4.9),
                target(pb::ScorecardMetric::ExitRate, 0.6),
            ],
        ),
        (
            &providers[1],
            pb::ServiceType::HolisticClarification,
            1_250_000,
            "Occupational medicine clarification",
            vec![],
        ),
    ] {
        let k = contracting
            .create_contract(pb::CreateContractRequest {
                contract: Some(pb::Contract {
                    provider_id: provider.clone(),
                    municipality_code: VEJLE.into(),
                    service: service as i32,
                    price_oere: price,
                    price_unit: pb::PriceUnit::Course as i32,
                    period_from: (now - Duration::days(2 * 365)).to_string(),
                    period_to: (now + Duration::days(365)).to_string(),
                    targets,
                    ..Default::default()
                }),
                request_id: format!("demo-contract-{}", contracts.len()),
            })
            .await?
            .into_inner()
            .contract
            .unwrap_or_default();
        summary.contracts.push(Named {
            name: name.into(),
            id: k.contract_id.clone(),
        });
        contracts.push(k.contract_id);
    }

    use pb::Discipline as D;
    let member = |reference: &str, discipline: D, provider: &str| pb::ScreeningMember {
        reference: reference.into(),
        discipline: discipline as i32,
        organisation: if provider.is_empty() {
            pb::MemberOrganisation::Jobcentre as i32
        } else {
            pb::MemberOrganisation::Provider as i32
        },
        organization_id: provider.into(),
    };
    // The KIA team of Vejle (§1.2): every discipline in one session within two hours.
    let kia_team = create_group(
        &c.vejle,
        "demo-group-kia",
        "KIA-teamet Vejle (team session)",
        pb::ScreeningGroup {
            display_name: "KIA-teamet Vejle".into(),
            members: vec![
                member("kia-am", D::OccupationalPhysician, ""),
                member("kia-doc", D::Doctor, ""),
                member("kia-kiro", D::Chiropractor, ""),
                member("kia-fys", D::Physiotherapist, ""),
                member("kia-psyk", D::Psychologist, ""),
                member("kia-sw", D::SocialWorkerCoordinator, ""),
            ],
            mode: pb::ScreeningMode::TeamSession as i32,
            session_limit_minutes: 120,
            required_disciplines: vec![
                D::Doctor as i32,
                D::Chiropractor as i32,
                D::Physiotherapist as i32,
                D::Psychologist as i32,
            ],
            ..Default::default()
        },
        summary,
    )
    .await?;
    // Aabenraa's standing group (§1.1): two caseworkers, Quick Care's doctor and physio.
    create_group(
        &c.aabenraa,
        "demo-group-aabenraa",
        "Screeningsgruppen Aabenraa (standing group)",
        pb::ScreeningGroup {
            display_name: "Screeningsgruppen Aabenraa".into(),
            members: vec![
                member("cw-580-1", D::Caseworker, ""),
                member("cw-580-2", D::Caseworker, ""),
                member("qc-doc", D::Doctor, "quick-care"),
                member("qc-fys", D::Physiotherapist, "quick-care"),
            ],
            mode: pb::ScreeningMode::StandingGroup as i32,
            required_disciplines: vec![
                D::Caseworker as i32,
                D::Doctor as i32,
                D::Physiotherapist as i32,
            ],
            ..Default::default()
        },
        summary,
    )
    .await?;
    Ok(Setup {
        quick_care_provider: providers[0].clone(),
        quick_care_contract: contracts[0].clone(),
        kia_team,
    })
}

/// Creates a screening group and lists it in the summary.
async fn create_group(
    s: &Connection,
    request_id: &str,
    name: &str,
    group: pb::ScreeningGroup,
    summary: &mut Summary,
) -> Result<String, Failure> {
    let group = s
        .screening()
        .create_screening_group(pb::CreateScreeningGroupRequest {
            request_id: request_id.into(),
            group: Some(group),
        })
        .await?
        .into_inner()
        .group
        .unwrap_or_default();
    summary.screening_groups.push(Named {
        name: name.into(),
        id: group.group_id.clone(),
    });
    Ok(group.group_id)
}

fn party(person: &str, organisation: &str, capacity: pb::Capacity) -> pb::Party {
    pb::Party {
        person: person.into(),
        organisation: organisation.into(),
        capacity: capacity as i32,
    }
}

/// Applies changes one after the other, each against the etag the previous one returned.
async fn changes(
    s: &Connection,
    mut plan: pb::Plan,
    changes: Vec<Change>,
) -> Result<pb::Plan, Failure> {
    let mut client = s.plans();
    for change in changes {
        plan = client
            .apply_plan_change(pb::ApplyPlanChangeRequest {
                case_id: plan.case_id.clone(),
                etag: plan.etag.clone(),
                author: Some(party("cw-630-1", "", pb::Capacity::Caseworker)),
                change: Some(change),
            })
            .await?
            .into_inner()
            .plan
            .unwrap_or_default();
    }
    Ok(plan)
}

async fn create_plan(
    s: &Connection,
    case_id: &str,
    kind: pb::PlanKind,
) -> Result<pb::Plan, Failure> {
    Ok(s.plans()
        .create_plan(pb::CreatePlanRequest {
            case_id: case_id.into(),
            kind: kind as i32,
            stage: pb::PlanStage::Preliminary as i32,
            author: Some(party("cw-630-1", "", pb::Capacity::Caseworker)),
            request_id: format!("demo-plan-{case_id}"),
        })
        .await?
        .into_inner()
        .plan
        .unwrap_or_default())
}

fn add(
    id: &str,
    kind: Kind,
    responsible: &str,
    start: String,
    end: String,
    after: &[&str],
) -> Change {
    Change::AddActivity(pb::AddActivity {
        activity: Some(pb::PlanActivity {
            activity_id: id.into(),
            kind: Some(kind),
            responsible: responsible.into(),
            planned_start: start,
            planned_end: end,
            depends_on: after.iter().map(|a| (*a).to_owned()).collect(),
            ..Default::default()
        }),
    })
}

fn health(kind: pb::HealthActivityKind) -> Kind {
    Kind::Health(pb::HealthActivity {
        kind: kind as i32,
        ordered_by_gp: false,
    })
}

fn start(id: &str, on: String) -> Change {
    Change::StartActivity(pb::StartActivity {
        activity_id: id.into(),
        started_on: on,
    })
}

fn book(id: &str, on: String) -> Change {
    Change::BookActivity(pb::BookActivity {
        activity_id: id.into(),
        booked_start: on,
    })
}

fn goal(by: String, after: &[&str]) -> Change {
    Change::SetGoal(pb::SetGoal {
        goal: Some(pb::Goal {
            goal_id: "full-return".into(),
            kind: pb::GoalKind::FullReturn as i32,
            hours_per_week: 37.0,
            by,
            depends_on: after.iter().map(|a| (*a).to_owned()).collect(),
        }),
    })
}

/// A follow-up plan of an open long case: physiotherapy under way, a specialist appointment the
/// waiting list put three weeks after the planned date, adjusted hours after it, and the goal.
pub async fn plan_with_waiting_time(
    s: &Connection,
    case_id: &str,
    now: NaiveDate,
) -> Result<(), Failure> {
    let plan = create_plan(s, case_id, pb::PlanKind::FollowUpPlan).await?;
    changes(
        s,
        plan,
        vec![
            add(
                "physio",
                health(pb::HealthActivityKind::Physiotherapy),
                "fysio-vejle",
                day(now, -14),
                day(now, 28),
                &[],
            ),
            start("physio", day(now, -14)),
            add(
                "specialist",
                health(pb::HealthActivityKind::Specialist),
                "sygehus-lillebaelt",
                day(now, -7),
                day(now, -7),
                &[],
            ),
            book("specialist", day(now, 14)),
            add(
                "adjusted-hours",
                Kind::Workplace(pb::WorkplaceActivity {
                    kind: pb::WorkplaceActivityKind::AdjustedHours as i32,
                    hours_per_week: 20.0,
                    description: "20 hours a week, no heavy lifting".into(),
                }),
                "employer",
                day(now, 0),
                day(now, 35),
                &["specialist"],
            ),
            goal(day(now, 35), &[]),
        ],
    )
    .await?;
    Ok(())
}

/// KIA-LENE (§8.1), seen on D60: referred to the KIA team on D42 and assessed by four
/// disciplines within two hours, the preliminary plan becomes her return plan; the job review
/// on D45, 4 hours a day from D49, a short course in lifting technique and pain management, the
/// step-up from D75 and back full time by D94. Her twin case adds the derived variant: a
/// specialist appointment planned for D50 is only had on D84, and the step-up waits for it, so
/// the full return slips past D94.
pub async fn kia_lene(
    c: &Callers,
    setup: &Setup,
    now: NaiveDate,
    summary: &mut Summary,
) -> Result<(), Failure> {
    let d0 = now - Duration::days(60);
    for (name, waiting) in [("KIA-LENE", false), ("KIA-LENE with a waiting time", true)] {
        let case = c
            .vejle
            .cases()
            .create_case(pb::CreateCaseRequest {
                r#case: Some(pb::Case {
                    municipality_code: VEJLE.into(),
                    first_sick_day: d0.to_string(),
                    employment_status: pb::EmploymentStatus::Employed as i32,
                    employer_reference: "CVR-29189587".into(),
                    citizen_reference: if waiting { "demo-lene-2" } else { "demo-lene" }.into(),
                    ..Default::default()
                }),
                request_id: format!("demo-{}", if waiting { "lene-2" } else { "lene" }),
            })
            .await?
            .into_inner()
            .r#case
            .unwrap_or_default();
        kia_session(&c.vejle, &case.case_id, &setup.kia_team, d0).await?;

        let plan = create_plan(&c.vejle, &case.case_id, pb::PlanKind::KiaReturnPlan).await?;
        let review = Kind::Workplace(pb::WorkplaceActivity {
            kind: pb::WorkplaceActivityKind::AdjustedTasks as i32,
            hours_per_week: 0.0,
            description: "job functions reviewed with the physiotherapist".into(),
        });
        let partial = |hours: f64| {
            Kind::Employment(pb::EmploymentActivity {
                kind: pb::EmploymentActivityKind::PartialReturn as i32,
                hours_per_week: hours,
                ..Default::default()
            })
        };
        let mut steps = vec![
            Change::AssignRole(pb::AssignRole {
                role: pb::PlanRole::PlanFollowUp as i32,
                party: Some(party(
                    "kia-sw",
                    "kia-team-vejle",
                    pb::Capacity::SocialWorker,
                )),
            }),
            Change::AssignRole(pb::AssignRole {
                role: pb::PlanRole::WorkplaceContact as i32,
                party: Some(party(
                    "kia-fys",
                    "kia-team-vejle",
                    pb::Capacity::Physiotherapist,
                )),
            }),
            Change::Finalise(pb::FinalisePlan {
                kind: pb::PlanKind::KiaReturnPlan as i32,
            }),
            add(
                "job-review",
                review,
                "kia-team-vejle",
                day(d0, 45),
                day(d0, 45),
                &[],
            ),
            start("job-review", day(d0, 45)),
            Change::CompleteActivity(pb::CompleteActivity {
                activity_id: "job-review".into(),
                completed_on: day(d0, 45),
            }),
            add(
                "partial-4h",
                partial(20.0),
                "employer",
                day(d0, 49),
                day(d0, 75),
                &["job-review"],
            ),
            start("partial-4h", day(d0, 49)),
        ];
        let mut step_up_after = vec!["partial-4h"];
        if waiting {
            steps.push(add(
                "specialist",
                health(pb::HealthActivityKind::Specialist),
                "sygehus-lillebaelt",
                day(d0, 50),
                day(d0, 50),
                &[],
            ));
            steps.push(book("specialist", day(d0, 84)));
            step_up_after.push("specialist");
        }
        steps.push(add(
            "partial-6h",
            partial(30.0),
            "employer",
            day(d0, 75),
            day(d0, 94),
            &step_up_after,
        ));
        steps.push(goal(day(d0, 94), &[]));
        changes(&c.vejle, plan, steps).await?;
        summary.scenarios.push(Named {
            name: name.into(),
            id: case.case_id,
        });
    }
    Ok(())
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> Option<prost_types::Timestamp> {
    let t = day.and_hms_opt(hour, minute, 0)?.and_utc();
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    })
}

fn findings(codes: &[&str]) -> Vec<pb::IcfFinding> {
    codes
        .iter()
        .map(|c| pb::IcfFinding {
            icf: (*c).into(),
            ..Default::default()
        })
        .collect()
}

/// The KIA team's morning on D42: four talks within two hours, then the conclusion.
async fn kia_session(
    s: &Connection,
    case_id: &str,
    group: &str,
    d0: NaiveDate,
) -> Result<(), Failure> {
    use pb::AssessmentDomain as Dom;
    use pb::Discipline as D;
    let d42 = d0 + Duration::days(42);
    let mut screening = s.screening();
    let opened = screening
        .open_screening(pb::OpenScreeningRequest {
            case_id: case_id.into(),
            group_id: group.into(),
            opened_on: d42.to_string(),
        })
        .await?
        .into_inner()
        .screening
        .unwrap_or_default();
    for (i, (discipline, who, codes, domains)) in [
        (
            D::Doctor,
            "kia-doc",
            &["b28013.2"][..],
            &[Dom::Physical][..],
        ),
        (
            D::Chiropractor,
            "kia-kiro",
            &["b710.1"][..],
            &[Dom::Physical][..],
        ),
        (
            D::Physiotherapist,
            "kia-fys",
            &["d430.23", "d415.1"][..],
            &[Dom::Physical, Dom::Employment][..],
        ),
        (
            D::Psychologist,
            "kia-psyk",
            &["b152.1", "e330+2"][..],
            &[Dom::Psychological, Dom::Social][..],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let minute = u32::try_from(i).unwrap_or(0) * 30;
        screening
            .record_assessment(pb::RecordAssessmentRequest {
                screening_id: opened.screening_id.clone(),
                discipline: discipline as i32,
                assessor: who.into(),
                started_at: at(d42, 8 + minute / 60, minute % 60),
                ended_at: at(d42, 8 + (minute + 25) / 60, (minute + 25) % 60),
                findings: findings(codes),
                work_capacity: "can work four hours a day; keep the back moving".into(),
                domains: domains.iter().map(|d| *d as i32).collect(),
                ..Default::default()
            })
            .await?;
    }
    screening
        .conclude_screening(pb::ConcludeScreeningRequest {
            screening_id: opened.screening_id,
            concluded_on: d42.to_string(),
            recommended_category: pb::Category::Category2 as i32,
            plan_activities: vec![pb::ProposedPlanActivity {
                description: "partial return at four hours a day".into(),
                kind: pb::PlanActivityKind::PartialReturn as i32,
                offer_type: 0,
            }],
            expected_return: Some(pb::ExpectedReturn {
                partial_from: day(d0, 49),
                full_by: day(d0, 94),
            }),
            ..Default::default()
        })
        .await?;
    Ok(())
}

/// AABENRAA-SCREENING (§8.4): the standing group screens every new case within eight weeks, so
/// none is left unscreened.
pub async fn aabenraa(c: &Callers, now: NaiveDate, summary: &mut Summary) -> Result<(), Failure> {
    use pb::AssessmentDomain as Dom;
    use pb::Discipline as D;
    let group = summary
        .screening_groups
        .iter()
        .find(|g| g.name.starts_with("Screeningsgruppen Aabenraa"))
        .map(|g| g.id.clone())
        .unwrap_or_default();
    let mut cases = c.aabenraa.cases();
    let mut screening = c.aabenraa.screening();
    for i in 0..12_i64 {
        let d0 = now - Duration::days(20 + 5 * i);
        let case = cases
            .create_case(pb::CreateCaseRequest {
                r#case: Some(pb::Case {
                    municipality_code: AABENRAA.into(),
                    first_sick_day: d0.to_string(),
                    employment_status: pb::EmploymentStatus::Employed as i32,
                    employer_reference: "CVR-25313763".into(),
                    citizen_reference: format!("demo-aabenraa-{i:02}"),
                    ..Default::default()
                }),
                request_id: format!("demo-aabenraa-{i:02}"),
            })
            .await?
            .into_inner()
            .r#case
            .unwrap_or_default();
        // The next weekly meeting after the case arrives, never after "now" or D55.
        let meeting = (d0 + Duration::days(14)).min(now);
        let opened = screening
            .open_screening(pb::OpenScreeningRequest {
                case_id: case.case_id.clone(),
                group_id: group.clone(),
                opened_on: meeting.to_string(),
            })
            .await?
            .into_inner()
            .screening
            .unwrap_or_default();
        for (hour, (discipline, who, codes, domains)) in (9..).zip([
            (
                D::Caseworker,
                "cw-580-1",
                &["d845.2"][..],
                &[Dom::Social, Dom::Employment][..],
            ),
            (
                D::Doctor,
                "qc-doc",
                &["b28013.2"][..],
                &[Dom::Physical, Dom::Psychological][..],
            ),
            (
                D::Physiotherapist,
                "qc-fys",
                &["d430.23"][..],
                &[Dom::Physical][..],
            ),
        ]) {
            screening
                .record_assessment(pb::RecordAssessmentRequest {
                    screening_id: opened.screening_id.clone(),
                    discipline: discipline as i32,
                    assessor: who.into(),
                    started_at: at(meeting, hour, 0),
                    ended_at: at(meeting, hour, 40),
                    findings: findings(codes),
                    work_capacity: "can return gradually with adapted tasks".into(),
                    domains: domains.iter().map(|d| *d as i32).collect(),
                    ..Default::default()
                })
                .await?;
        }
        screening
            .conclude_screening(pb::ConcludeScreeningRequest {
                screening_id: opened.screening_id,
                concluded_on: meeting.to_string(),
                recommended_category: pb::Category::Category2 as i32,
                ..Default::default()
            })
            .await?;
    }
    summary.scenarios.push(Named {
        name: "AABENRAA-SCREENING: 12 new cases, all screened".into(),
        id: group,
    });
    Ok(())
}
