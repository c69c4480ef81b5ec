//! The shared case plan over gRPC: the KIA-LENE and AARHUS plans (DOMAIN.md §8.1, §8.2), a
//! waiting time that makes the plan slip (AL-09), concurrent updates, the watch stream, the
//! employer view, the plan as of an instant, and sharing with a rehabilitation centre.

use chrono::{Duration, NaiveDate};
use kia_proto::v1::{self as pb, plan_service_client::PlanServiceClient};
use pb::apply_plan_change_request::Change;
use pb::plan_activity::Kind;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::support::{Backend, Caller, Daemon, on_both_backends};

type Plans = PlanServiceClient<InterceptedService<Channel, Caller>>;

const AARHUS: Caller = Caller {
    organization: "jc-751",
    kind: "jobcenter",
    municipality: "751",
    role: "caseworker",
};
const REHAB: Caller = Caller {
    organization: "genoptraening-aarhus",
    kind: "rehabilitation_centre",
    municipality: "",
    role: "physiotherapist",
};
const LENES_EMPLOYER: Caller = Caller {
    organization: "CVR-29189587",
    kind: "employer",
    municipality: "",
    role: "manager",
};
const OTHER_EMPLOYER: Caller = Caller {
    organization: "CVR-10000000",
    kind: "employer",
    municipality: "",
    role: "manager",
};

pub(crate) fn today() -> NaiveDate {
    kia_runtime::clock::danish_date(chrono::Utc::now())
}

/// Sick day `n` of a case whose first sick day is `d0`.
pub(crate) fn day(d0: NaiveDate, n: i64) -> String {
    (d0 + Duration::days(n)).to_string()
}

fn error_metadata(status: &tonic::Status, key: &str) -> Option<String> {
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get(key).cloned())
}

pub(crate) async fn open_case(
    daemon: &Daemon,
    caller: Caller,
    first_sick_day: NaiveDate,
) -> String {
    let case = pb::Case {
        municipality_code: caller.municipality.into(),
        first_sick_day: first_sick_day.to_string(),
        employment_status: pb::EmploymentStatus::Employed as i32,
        employer_reference: "CVR-29189587".into(),
        citizen_reference: "citizen-1".into(),
        ..Default::default()
    };
    daemon
        .cases(caller)
        .create_case(pb::CreateCaseRequest {
            r#case: Some(case),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap()
        .case_id
}

fn party(person: &str, organisation: &str, capacity: pb::Capacity) -> pb::Party {
    pb::Party {
        person: person.into(),
        organisation: organisation.into(),
        capacity: capacity as i32,
    }
}

fn caseworker() -> pb::Party {
    party("cw-1", "", pb::Capacity::Caseworker)
}

pub(crate) async fn create_plan(
    plans: &mut Plans,
    case_id: &str,
    kind: pb::PlanKind,
    stage: pb::PlanStage,
) -> pb::Plan {
    plans
        .create_plan(pb::CreatePlanRequest {
            case_id: case_id.into(),
            kind: kind as i32,
            stage: stage as i32,
            author: Some(caseworker()),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap()
}

fn change_request(plan: &pb::Plan, change: Change) -> pb::ApplyPlanChangeRequest {
    pb::ApplyPlanChangeRequest {
        case_id: plan.case_id.clone(),
        etag: plan.etag.clone(),
        author: Some(caseworker()),
        change: Some(change),
    }
}

async fn try_change(
    plans: &mut Plans,
    plan: &pb::Plan,
    change: Change,
) -> Result<pb::Plan, tonic::Status> {
    plans
        .apply_plan_change(change_request(plan, change))
        .await
        .map(|r| r.into_inner().plan.unwrap())
}

pub(crate) async fn change(plans: &mut Plans, plan: &pb::Plan, change: Change) -> pb::Plan {
    try_change(plans, plan, change).await.unwrap()
}

pub(crate) fn activity(id: &str, kind: Kind, start: &str, end: &str, after: &[&str]) -> Change {
    Change::AddActivity(pb::AddActivity {
        activity: Some(pb::PlanActivity {
            activity_id: id.into(),
            kind: Some(kind),
            responsible: "kia-team-vejle".into(),
            planned_start: start.into(),
            planned_end: end.into(),
            depends_on: after.iter().map(|a| (*a).to_owned()).collect(),
            ..Default::default()
        }),
    })
}

pub(crate) fn employment(kind: pb::EmploymentActivityKind, hours: f64) -> pb::EmploymentActivity {
    pb::EmploymentActivity {
        kind: kind as i32,
        hours_per_week: hours,
        ..Default::default()
    }
}

pub(crate) fn health(kind: pb::HealthActivityKind) -> Kind {
    Kind::Health(pb::HealthActivity {
        kind: kind as i32,
        ordered_by_gp: false,
    })
}

pub(crate) fn full_return_by(by: &str) -> Change {
    Change::SetGoal(pb::SetGoal {
        goal: Some(pb::Goal {
            goal_id: "full-return".into(),
            kind: pb::GoalKind::FullReturn as i32,
            hours_per_week: 37.0,
            by: by.into(),
            depends_on: vec![],
        }),
    })
}

async fn get_plan(plans: &mut Plans, case_id: &str) -> pb::GetPlanResponse {
    plans
        .get_plan(pb::GetPlanRequest {
            case_id: case_id.into(),
            as_of: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

on_both_backends!(
    kia_lene_preliminary_plan_then_return_plan_with_partial_return_and_course,
    aarhus_follow_up_plan_is_written_jointly,
    a_specialist_waiting_time_makes_the_plan_slip_and_names_the_cause,
    concurrent_changes_with_one_etag_one_wins_the_other_is_aborted,
    a_watcher_resumes_from_its_last_position_without_gaps_or_repeats,
    the_employer_sees_work_relevant_parts_only,
    the_plan_as_it_stood_at_an_earlier_instant,
    a_grant_lets_a_rehabilitation_centre_read_until_revoked_or_expired,
);

async fn kia_lene_preliminary_plan_then_return_plan_with_partial_return_and_course(
    backend: Backend,
) {
    let daemon = Daemon::start(backend).await;
    // A case of 2011, judged by the 2010 agreement's offer rules (A2010: gradual return before
    // offers, [001 I6]). Referred to the KIA team on D42, partial return from D49.
    let d0 = NaiveDate::from_ymd_opt(2011, 3, 1).unwrap();
    let case_id = open_case(&daemon, Caller::VEJLE, d0).await;
    let mut plans = daemon.plans(Caller::VEJLE);

    let plan = create_plan(
        &mut plans,
        &case_id,
        pb::PlanKind::KiaReturnPlan,
        pb::PlanStage::Preliminary,
    )
    .await;
    assert_eq!(plan.stage, pb::PlanStage::Preliminary as i32);
    assert_eq!(
        (plan.etag.as_str(), plan.owner.as_str()),
        ("\"1\"", "jc-630")
    );

    let again = plans
        .create_plan(pb::CreatePlanRequest {
            case_id: case_id.clone(),
            kind: pb::PlanKind::FollowUpPlan as i32,
            stage: pb::PlanStage::Final as i32,
            author: Some(caseworker()),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists, "one plan per case");

    // KIA division of labour: the plan follow-up person is not the workplace contact.
    let follow_up = party("kia-sw-1", "kia-team-vejle", pb::Capacity::SocialWorker);
    let contact = party(
        "kia-physio-1",
        "kia-team-vejle",
        pb::Capacity::Physiotherapist,
    );
    let mut plan = plan;
    for (role, p) in [
        (pb::PlanRole::PlanFollowUp, follow_up.clone()),
        (pb::PlanRole::WorkplaceContact, contact.clone()),
    ] {
        plan = change(
            &mut plans,
            &plan,
            Change::AssignRole(pb::AssignRole {
                role: role as i32,
                party: Some(p),
            }),
        )
        .await;
    }
    // The preliminary plan becomes the plan for the return to her workplace.
    plan = change(
        &mut plans,
        &plan,
        Change::Finalise(pb::FinalisePlan {
            kind: pb::PlanKind::KiaReturnPlan as i32,
        }),
    )
    .await;
    assert_eq!(plan.stage, pb::PlanStage::Final as i32);
    assert!(plan.finalise_time.is_some());

    let review = Kind::Workplace(pb::WorkplaceActivity {
        kind: pb::WorkplaceActivityKind::AdjustedTasks as i32,
        hours_per_week: 0.0,
        description: "job functions reviewed with the physiotherapist".into(),
    });
    plan = change(
        &mut plans,
        &plan,
        activity("job-review", review, &day(d0, 45), "", &[]),
    )
    .await;
    for c in [
        Change::StartActivity(pb::StartActivity {
            activity_id: "job-review".into(),
            started_on: day(d0, 45),
        }),
        Change::CompleteActivity(pb::CompleteActivity {
            activity_id: "job-review".into(),
            completed_on: day(d0, 45),
        }),
    ] {
        plan = change(&mut plans, &plan, c).await;
    }
    // 4 hours a day, 5 days a week.
    let partial = Kind::Employment(employment(pb::EmploymentActivityKind::PartialReturn, 20.0));
    plan = change(
        &mut plans,
        &plan,
        activity(
            "partial-4h",
            partial,
            &day(d0, 49),
            &day(d0, 75),
            &["job-review"],
        ),
    )
    .await;
    plan = change(
        &mut plans,
        &plan,
        Change::StartActivity(pb::StartActivity {
            activity_id: "partial-4h".into(),
            started_on: day(d0, 49),
        }),
    )
    .await;

    // A lifting-technique course alongside the partial return needs the reason the combination
    // speeds her return ([001 I6], AL-14) and, at 3 h/week, why fewer hours.
    let mut course = employment(pb::EmploymentActivityKind::LiftingTechnique, 3.0);
    let refused = try_change(
        &mut plans,
        &plan,
        activity(
            "lifting-course",
            Kind::Employment(course.clone()),
            &day(d0, 52),
            &day(d0, 66),
            &[],
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(
        error_metadata(&refused, "rule_id").as_deref(),
        Some("001-I6"),
        "{refused:?}"
    );
    course.combination_reason = "lifting technique lets her keep working with the children".into();
    course.fewer_hours_reason = "a short course alongside 4 h/day at work".into();
    plan = change(
        &mut plans,
        &plan,
        activity(
            "lifting-course",
            Kind::Employment(course),
            &day(d0, 52),
            &day(d0, 66),
            &[],
        ),
    )
    .await;

    // Escalation after a small month, then full time by D94.
    let step_up = Kind::Employment(employment(pb::EmploymentActivityKind::PartialReturn, 30.0));
    plan = change(
        &mut plans,
        &plan,
        activity(
            "partial-6h",
            step_up,
            &day(d0, 75),
            &day(d0, 94),
            &["partial-4h"],
        ),
    )
    .await;
    plan = change(&mut plans, &plan, full_return_by(&day(d0, 94))).await;

    // Projected as of D50.
    let got = plans
        .get_plan(pb::GetPlanRequest {
            case_id: case_id.clone(),
            as_of: day(d0, 50),
        })
        .await
        .unwrap()
        .into_inner();
    let p = got.plan.unwrap();
    assert_eq!(p, plan);
    assert_eq!(p.kind, pb::PlanKind::KiaReturnPlan as i32);
    let roles = p.roles.unwrap();
    assert_eq!(roles.plan_follow_up, Some(follow_up));
    assert_eq!(roles.workplace_contact, Some(contact));
    assert_ne!(roles.plan_follow_up, roles.workplace_contact);
    let ids: Vec<&str> = p
        .activities
        .iter()
        .map(|a| a.activity_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["job-review", "partial-4h", "lifting-course", "partial-6h"]
    );
    let goal = &got.projection.unwrap().goals[0];
    assert_eq!(goal.projected, day(d0, 94), "back full time on D94");
    assert_eq!((goal.slip_days, goal.causes.len()), (0, 0));
}

async fn aarhus_follow_up_plan_is_written_jointly(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let d0 = today() - Duration::days(40);
    let case_id = open_case(&daemon, AARHUS, d0).await;
    let mut plans = daemon.plans(AARHUS);
    // The action plan; a retry with the same request id returns the same plan.
    let create = pb::CreatePlanRequest {
        case_id: case_id.clone(),
        kind: pb::PlanKind::ActionPlan as i32,
        stage: pb::PlanStage::Preliminary as i32,
        author: Some(caseworker()),
        request_id: "aarhus-plan-1".into(),
    };
    let mut plan = plans
        .create_plan(create.clone())
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let retried = plans
        .create_plan(create)
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(retried, plan);
    let writers = [
        party("citizen", "", pb::Capacity::Citizen),
        party(
            "physio-7",
            "genoptraening-aarhus",
            pb::Capacity::Physiotherapist,
        ),
        party("cw-12", "jc-751", pb::Capacity::Caseworker),
    ];
    for w in &writers {
        plan = change(
            &mut plans,
            &plan,
            Change::AddContributor(pb::AddContributor {
                party: Some(w.clone()),
            }),
        )
        .await;
    }
    plan = change(
        &mut plans,
        &plan,
        Change::Finalise(pb::FinalisePlan {
            kind: pb::PlanKind::FollowUpPlan as i32,
        }),
    )
    .await;
    let p = get_plan(&mut plans, &case_id).await.plan.unwrap();
    assert_eq!(p, plan);
    assert_eq!(
        p.contributors, writers,
        "citizen, physiotherapist and caseworker"
    );
    assert_eq!(
        (p.kind, p.stage),
        (
            pb::PlanKind::FollowUpPlan as i32,
            pb::PlanStage::Final as i32
        )
    );
    // Another municipality's jobcentre sees nothing.
    let denied = daemon
        .plans(Caller::VEJLE)
        .get_plan(pb::GetPlanRequest {
            case_id,
            as_of: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn a_specialist_waiting_time_makes_the_plan_slip_and_names_the_cause(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let d0 = today() - Duration::days(50);
    let case_id = open_case(&daemon, Caller::VEJLE, d0).await;
    let mut plans = daemon.plans(Caller::VEJLE);
    let mut plan = create_plan(
        &mut plans,
        &case_id,
        pb::PlanKind::KiaReturnPlan,
        pb::PlanStage::Final,
    )
    .await;
    let specialist = health(pb::HealthActivityKind::Specialist);
    plan = change(
        &mut plans,
        &plan,
        activity("spec", specialist, &day(d0, 60), "", &[]),
    )
    .await;
    let partial = Kind::Employment(employment(pb::EmploymentActivityKind::PartialReturn, 20.0));
    plan = change(
        &mut plans,
        &plan,
        activity("partial", partial, &day(d0, 60), &day(d0, 80), &["spec"]),
    )
    .await;
    plan = change(&mut plans, &plan, full_return_by(&day(d0, 80))).await;
    let on_time = get_plan(&mut plans, &case_id).await.projection.unwrap();
    assert_eq!(on_time.goals[0].slip_days, 0);

    // The specialist's waiting list gives D81: 21 days after the planned D60.
    change(
        &mut plans,
        &plan,
        Change::BookActivity(pb::BookActivity {
            activity_id: "spec".into(),
            booked_start: day(d0, 81),
        }),
    )
    .await;
    let goal = get_plan(&mut plans, &case_id)
        .await
        .projection
        .unwrap()
        .goals[0]
        .clone();
    assert_eq!(goal.projected, day(d0, 101));
    assert_eq!(goal.slip_days, 21);
    assert_eq!(goal.critical_path, ["spec", "partial"]);
    assert_eq!(goal.causes.len(), 1, "{goal:#?}");
    let cause = &goal.causes[0];
    assert_eq!(cause.activity_id, "spec");
    assert_eq!(cause.kind, pb::SlipCauseKind::Waiting as i32);
    assert_eq!((cause.deviation_days, cause.days), (21, 21));
    assert!(
        cause.explanation.contains("specialist `spec`") && cause.explanation.contains("21 days"),
        "{}",
        cause.explanation
    );
}

async fn concurrent_changes_with_one_etag_one_wins_the_other_is_aborted(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let d0 = today() - Duration::days(50);
    let case_id = open_case(&daemon, Caller::VEJLE, d0).await;
    let (mut a, mut b) = (daemon.plans(Caller::VEJLE), daemon.plans(Caller::VEJLE));
    let plan = create_plan(
        &mut a,
        &case_id,
        pb::PlanKind::FollowUpPlan,
        pb::PlanStage::Final,
    )
    .await;
    let x = activity(
        "xray",
        health(pb::HealthActivityKind::DiagnosticTest),
        &day(d0, 55),
        "",
        &[],
    );
    let y = activity(
        "physio",
        health(pb::HealthActivityKind::Physiotherapy),
        &day(d0, 56),
        "",
        &[],
    );
    let (ra, rb) = tokio::join!(
        a.apply_plan_change(change_request(&plan, x.clone())),
        b.apply_plan_change(change_request(&plan, y.clone())),
    );
    let (winner, loser, lost_change) = match (ra, rb) {
        (Ok(w), Err(l)) => (w.into_inner().plan.unwrap(), l, y),
        (Err(l), Ok(w)) => (w.into_inner().plan.unwrap(), l, x),
        other => panic!("exactly one must win: {other:?}"),
    };
    assert_eq!(loser.code(), Code::Aborted, "{loser:?}");
    assert_eq!(
        error_metadata(&loser, "current_etag").as_deref(),
        Some(winner.etag.as_str())
    );
    // The loser re-applies against the current etag; nothing is lost.
    let after = change(&mut b, &winner, lost_change).await;
    let p = get_plan(&mut a, &case_id).await.plan.unwrap();
    assert_eq!(p, after);
    assert_eq!(p.etag, "\"3\"");
    let mut ids: Vec<&str> = p
        .activities
        .iter()
        .map(|a| a.activity_id.as_str())
        .collect();
    ids.sort();
    assert_eq!(ids, ["physio", "xray"]);
    // An empty etag is refused.
    let mut no_etag = change_request(
        &p,
        Change::CancelActivity(pb::CancelActivity {
            activity_id: "xray".into(),
        }),
    );
    no_etag.etag.clear();
    let err = a.apply_plan_change(no_etag).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

async fn read_events(
    stream: &mut tonic::Streaming<pb::WatchPlanResponse>,
    n: usize,
) -> Vec<pb::PlanEvent> {
    let mut out = Vec::new();
    while out.len() < n {
        let next = tokio::time::timeout(std::time::Duration::from_secs(20), stream.message())
            .await
            .expect("the plan event arrives")
            .unwrap()
            .expect("stream open");
        out.push(next.event.unwrap());
    }
    out
}

fn version_of(e: &pb::PlanEvent) -> i64 {
    let payload: serde_json::Value = serde_json::from_str(&e.payload_json).unwrap();
    payload["version"].as_i64().unwrap()
}

async fn a_watcher_resumes_from_its_last_position_without_gaps_or_repeats(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let d0 = today() - Duration::days(50);
    let case_id = open_case(&daemon, Caller::VEJLE, d0).await;
    let other_case = open_case(&daemon, Caller::VEJLE, d0).await;
    let mut plans = daemon.plans(Caller::VEJLE);
    let mut plan = create_plan(
        &mut plans,
        &case_id,
        pb::PlanKind::FollowUpPlan,
        pb::PlanStage::Preliminary,
    )
    .await;
    // Another plan's changes never show up on this plan's stream.
    create_plan(
        &mut plans,
        &other_case,
        pb::PlanKind::FollowUpPlan,
        pb::PlanStage::Final,
    )
    .await;

    let mut watch = plans
        .watch_plan(pb::WatchPlanRequest {
            case_id: case_id.clone(),
            after_position: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let step = |n: i64| {
        activity(
            &format!("step-{n}"),
            health(pb::HealthActivityKind::Treatment),
            &day(d0, 55 + n),
            "",
            &[],
        )
    };
    for n in 0..2 {
        plan = change(&mut plans, &plan, step(n)).await;
    }
    let first = read_events(&mut watch, 3).await;
    assert_eq!(first[0].event_type, "plan.created");
    let last = first.last().unwrap().position;
    drop(watch);

    for n in 2..5 {
        plan = change(&mut plans, &plan, step(n)).await;
    }
    let mut resumed = plans
        .watch_plan(pb::WatchPlanRequest {
            case_id: case_id.clone(),
            after_position: last,
        })
        .await
        .unwrap()
        .into_inner();
    let more = read_events(&mut resumed, 3).await;
    let all: Vec<_> = first.iter().chain(&more).collect();
    let versions: Vec<i64> = all.iter().map(|e| version_of(e)).collect();
    assert_eq!(
        versions,
        [1, 2, 3, 4, 5, 6],
        "every change exactly once, in order"
    );
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    assert!(all.iter().all(|e| e.case_id == case_id));
    assert!(more.iter().all(|e| e.event_type == "plan.activity_added"));
    assert_eq!(plan.etag, "\"6\"");
    // Payloads carry ids, kinds and dates only.
    assert!(!all.iter().any(|e| e.payload_json.contains("cw-1")));
}

async fn the_employer_sees_work_relevant_parts_only(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let d0 = today() - Duration::days(50);
    let case_id = open_case(&daemon, Caller::VEJLE, d0).await;
    let mut plans = daemon.plans(Caller::VEJLE);
    let mut plan = create_plan(
        &mut plans,
        &case_id,
        pb::PlanKind::RetentionPlan,
        pb::PlanStage::Final,
    )
    .await;
    plan = change(
        &mut plans,
        &plan,
        activity(
            "scan",
            health(pb::HealthActivityKind::HospitalTreatment),
            &day(d0, 55),
            "",
            &[],
        ),
    )
    .await;
    let hours = Kind::Workplace(pb::WorkplaceActivity {
        kind: pb::WorkplaceActivityKind::AdjustedHours as i32,
        hours_per_week: 20.0,
        description: "no lifting above 10 kg; mornings only".into(),
    });
    plan = change(
        &mut plans,
        &plan,
        activity("hours", hours, &day(d0, 60), &day(d0, 80), &["scan"]),
    )
    .await;
    plan = change(
        &mut plans,
        &plan,
        Change::AssignRole(pb::AssignRole {
            role: pb::PlanRole::WorkplaceContact as i32,
            party: Some(party(
                "kia-physio-1",
                "kia-team-vejle",
                pb::Capacity::Physiotherapist,
            )),
        }),
    )
    .await;
    plan = change(&mut plans, &plan, full_return_by(&day(d0, 90))).await;

    let view = daemon
        .plans(LENES_EMPLOYER)
        .get_employer_view(pb::GetEmployerViewRequest {
            case_id: case_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .view
        .unwrap();
    assert_eq!(view.etag, plan.etag);
    assert_eq!(view.activities.len(), 1, "no health activity: {view:#?}");
    let a = &view.activities[0];
    assert_eq!(a.activity_id, "hours");
    assert_eq!(a.kind, pb::EmployerActivityKind::AdjustedHours as i32);
    assert_eq!(a.hours_per_week, 20.0);
    assert!(
        a.depends_on.is_empty(),
        "the dependency on a health activity is not shown"
    );
    assert_eq!(view.goals.len(), 1);
    assert!(view.workplace_contact.is_some());
    assert!(!format!("{view:?}").contains("scan"));

    // The employer sees nothing else, and no other employer sees even this.
    let denied = daemon
        .plans(LENES_EMPLOYER)
        .get_plan(pb::GetPlanRequest {
            case_id: case_id.clone(),
            as_of: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = daemon
        .plans(OTHER_EMPLOYER)
        .get_employer_view(pb::GetEmployerViewRequest { case_id })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn the_plan_as_it_stood_at_an_earlier_instant(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let d0 = today() - Duration::days(50);
    let case_id = open_case(&daemon, Caller::VEJLE, d0).await;
    let mut plans = daemon.plans(Caller::VEJLE);
    let created = create_plan(
        &mut plans,
        &case_id,
        pb::PlanKind::FollowUpPlan,
        pb::PlanStage::Preliminary,
    )
    .await;
    let earlier = change(&mut plans, &created, full_return_by(&day(d0, 90))).await;
    let later = change(&mut plans, &earlier, full_return_by(&day(d0, 120))).await;
    let later = change(
        &mut plans,
        &later,
        Change::Finalise(pb::FinalisePlan {
            kind: pb::PlanKind::FollowUpPlan as i32,
        }),
    )
    .await;

    let as_of = |t: &prost_types::Timestamp| pb::GetPlanAsOfRequest {
        case_id: case_id.clone(),
        as_of_time: Some(*t),
    };
    let then = plans
        .get_plan_as_of(as_of(earlier.update_time.as_ref().unwrap()))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(then, earlier);
    assert_eq!(then.goals[0].by, day(d0, 90));
    assert_eq!(then.stage, pb::PlanStage::Preliminary as i32);
    let now = plans
        .get_plan_as_of(as_of(later.update_time.as_ref().unwrap()))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(now, later);
    let mut before = *created.create_time.as_ref().unwrap();
    before.seconds -= 1;
    let none = plans.get_plan_as_of(as_of(&before)).await.unwrap_err();
    assert_eq!(none.code(), Code::NotFound, "the plan did not exist yet");
}

async fn a_grant_lets_a_rehabilitation_centre_read_until_revoked_or_expired(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let d0 = today() - Duration::days(40);
    let case_id = open_case(&daemon, AARHUS, d0).await;
    let mut owner = daemon.plans(AARHUS);
    let mut rehab = daemon.plans(REHAB);
    let plan = create_plan(
        &mut owner,
        &case_id,
        pb::PlanKind::ActionPlan,
        pb::PlanStage::Final,
    )
    .await;
    let read = |case_id: &str| pb::GetPlanRequest {
        case_id: case_id.into(),
        as_of: String::new(),
    };

    let denied = rehab.get_plan(read(&case_id)).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "no grant yet");

    let grant = |access: pb::PlanAccess, expires: chrono::DateTime<chrono::Utc>| {
        pb::GrantPlanAccessRequest {
            case_id: case_id.clone(),
            organisation: REHAB.organization.into(),
            access: access as i32,
            purpose: "rehabilitation under health act §140".into(),
            expire_time: Some(prost_types::Timestamp {
                seconds: expires.timestamp(),
                nanos: expires.timestamp_subsec_nanos() as i32,
            }),
        }
    };
    let in_a_day = chrono::Utc::now() + Duration::days(1);
    let past = chrono::Utc::now() - Duration::minutes(1);
    let err = owner
        .grant_plan_access(grant(pb::PlanAccess::Read, past))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "an expiry in the past");
    let err = rehab
        .grant_plan_access(grant(pb::PlanAccess::Read, in_a_day))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "only the jobcentre grants"
    );

    owner
        .grant_plan_access(grant(pb::PlanAccess::Read, in_a_day))
        .await
        .unwrap();
    let seen = rehab
        .get_plan(read(&case_id))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(seen, plan);
    let physio = Change::AddContributor(pb::AddContributor {
        party: Some(party(
            "physio-7",
            "genoptraening-aarhus",
            pb::Capacity::Physiotherapist,
        )),
    });
    let err = try_change(&mut rehab, &plan, physio.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "read only");

    owner
        .grant_plan_access(grant(pb::PlanAccess::ReadUpdate, in_a_day))
        .await
        .unwrap();
    let updated = try_change(&mut rehab, &plan, physio).await.unwrap();
    assert_eq!(updated.contributors.len(), 1);
    // The grantee may watch the plan, and sees the grants on it.
    let mut watch = rehab
        .watch_plan(pb::WatchPlanRequest {
            case_id: case_id.clone(),
            after_position: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let events = read_events(&mut watch, 4).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "plan.created",
            "plan.access_granted",
            "plan.access_granted",
            "plan.contributor_added"
        ]
    );

    owner
        .revoke_plan_access(pb::RevokePlanAccessRequest {
            case_id: case_id.clone(),
            organisation: REHAB.organization.into(),
        })
        .await
        .unwrap();
    let denied = rehab.get_plan(read(&case_id)).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "revoked");
    // The open watch ends with PERMISSION_DENIED at the next change.
    let end = tokio::time::timeout(std::time::Duration::from_secs(20), watch.message())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(end.code(), Code::PermissionDenied);

    // A grant that expires: readable before the instant; the grantee's watch ends at it, and
    // from then on the plan is denied.
    let soon = chrono::Utc::now() + Duration::milliseconds(1500);
    owner
        .grant_plan_access(grant(pb::PlanAccess::Read, soon))
        .await
        .unwrap();
    rehab.get_plan(read(&case_id)).await.unwrap();
    let mut watch = rehab
        .watch_plan(pb::WatchPlanRequest {
            case_id: case_id.clone(),
            after_position: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let end = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(20), watch.message())
            .await
            .expect("the watch ends when the grant expires")
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the watch ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(end.code(), Code::PermissionDenied);
    assert!(chrono::Utc::now() >= soon);
    let denied = rehab.get_plan(read(&case_id)).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "expired");
}
