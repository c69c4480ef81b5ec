//! The alert engine over gRPC: the clock moves (SetClock), deadlines pass, plans slip; each
//! alert appears with its cause, once, and resolves when its cause goes away. Watchers resume
//! across a reconnect; two replicas raise each alert once.

use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use kia_proto::v1::{self as pb};
use pb::apply_plan_change_request::Change;
use pb::plan_activity::Kind;
use tonic::Code;
use tonic::Streaming;

use crate::support::{Backend, Caller, Daemon, on_both_backends};

/// How long a test waits for an alert before it fails.
const WAIT: StdDuration = StdDuration::from_secs(20);

fn today() -> NaiveDate {
    kia_runtime::clock::danish_date(Utc::now())
}

fn day(d0: NaiveDate, n: i64) -> NaiveDate {
    d0 + Duration::days(n)
}

async fn settable(backend: Backend) -> Daemon {
    Daemon::start_with(backend, &["--settable-clock"]).await
}

/// Moves the daemon's clock to noon UTC of `date` (the same date in Denmark).
async fn set_clock(daemon: &Daemon, date: NaiveDate) {
    let noon = Utc.from_utc_datetime(&date.and_hms_opt(12, 0, 0).unwrap());
    daemon
        .clock(Caller::OPERATIONS)
        .set_clock(pb::SetClockRequest {
            now: Some(prost_types::Timestamp {
                seconds: noon.timestamp(),
                nanos: 0,
            }),
        })
        .await
        .unwrap();
}

async fn open_case(daemon: &Daemon, first_sick_day: NaiveDate) -> String {
    let case = pb::Case {
        municipality_code: "630".into(),
        first_sick_day: first_sick_day.to_string(),
        employment_status: pb::EmploymentStatus::Employed as i32,
        employer_reference: "CVR-29189587".into(),
        citizen_reference: "vejle-alerts".into(),
        ..Default::default()
    };
    daemon
        .cases(Caller::VEJLE)
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

async fn watch(daemon: &Daemon, caller: Caller, after: i64) -> Streaming<pb::WatchAlertsResponse> {
    daemon
        .alerts(caller)
        .watch_alerts(pb::WatchAlertsRequest {
            after_position: after,
        })
        .await
        .unwrap()
        .into_inner()
}

/// Reads the stream until a change of `rule` on `case` of kind `change` arrives.
async fn next_change(
    stream: &mut Streaming<pb::WatchAlertsResponse>,
    case_id: &str,
    rule: &str,
    change: pb::AlertChange,
) -> pb::WatchAlertsResponse {
    tokio::time::timeout(WAIT, async {
        loop {
            let m = stream.message().await.unwrap().expect("stream open");
            let a = m.alert.as_ref().unwrap();
            if a.case_id == case_id && a.rule == rule && m.change == change as i32 {
                return m;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {change:?} of {rule} within {WAIT:?}"))
}

async fn list(daemon: &Daemon, case_id: &str, rule: &str, state: pb::AlertState) -> Vec<pb::Alert> {
    daemon
        .alerts(Caller::VEJLE)
        .list_alerts(pb::ListAlertsRequest {
            case_id: case_id.into(),
            rule: rule.into(),
            state: state as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .alerts
}

fn data_number(alert: &pb::Alert, key: &str) -> f64 {
    use prost_types::value::Kind;
    match alert
        .data
        .as_ref()
        .and_then(|d| d.fields.get(key))
        .and_then(|v| v.kind.clone())
    {
        Some(Kind::NumberValue(n)) => n,
        other => panic!("{key} in {:?}: {other:?}", alert.data),
    }
}

on_both_backends!(
    al04_raised_at_d56_updated_not_duplicated_and_resolved_by_the_follow_up,
    al05_follow_up_plan_missing_at_the_second_follow_up_is_raised_and_resolved_by_the_plan,
    al06_next_follow_up_overdue_by_the_category_2_cadence_is_raised_and_resolved_by_the_talk,
    al07_360_degree_assessment_warned_before_d55_overdue_after_and_resolved_by_the_conclusion,
    al09_plan_slip_is_raised_by_the_booking_and_resolved_when_rebooked,
    al10_hospital_treatment_beyond_one_month_is_raised_and_resolved_when_rebooked,
    al11_waiting_with_no_activity_is_raised_and_resolved_when_the_activity_starts,
    al13_an_offer_for_the_least_sick_is_raised_and_resolved_when_cancelled,
    al14_an_offer_while_gradual_return_is_possible_is_raised_and_resolved_when_cancelled,
    al18_partial_return_without_a_full_return_goal_is_raised_and_resolved_by_the_goal,
    al19_week_13_escalates_on_the_exclusion_curve,
    al21_referral_to_start_over_the_contract_target_is_raised_updated_by_the_late_start,
    al22_a_new_case_unscreened_for_a_week_is_raised_and_resolved_by_the_conclusion,
    a_watcher_gets_each_change_once_across_a_reconnect,
    who_sees_and_who_may_act,
);

async fn al04_raised_at_d56_updated_not_duplicated_and_resolved_by_the_follow_up(backend: Backend) {
    let daemon = settable(backend).await;
    let d0 = today();
    let case_id = open_case(&daemon, d0).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;

    // D48: within the week of lead time, a warning.
    set_clock(&daemon, day(d0, 48)).await;
    let warned = next_change(&mut stream, &case_id, "AL-04", pb::AlertChange::Raised).await;
    let alert = warned.alert.unwrap();
    assert_eq!(alert.severity, pb::AlertSeverity::Warning as i32);
    assert_eq!(alert.due_on, day(d0, 55).to_string(), "D55");
    assert!(
        alert.cause.ends_with(&format!("is due {}", day(d0, 55))),
        "{}",
        alert.cause
    );
    assert_eq!(alert.recipient_role, "caseworker");
    assert!(
        alert.source.contains("003_532c043554107ee2.txt"),
        "{}",
        alert.source
    );

    // D56: overdue; the same alert, updated.
    set_clock(&daemon, day(d0, 56)).await;
    let overdue = next_change(&mut stream, &case_id, "AL-04", pb::AlertChange::Updated).await;
    let overdue = overdue.alert.unwrap();
    assert_eq!(overdue.alert_id, alert.alert_id);
    assert_eq!(overdue.severity, pb::AlertSeverity::High as i32);
    assert!(
        overdue
            .cause
            .ends_with(&format!("was due {} and is overdue", day(d0, 55))),
        "{}",
        overdue.cause
    );
    // Evaluating again (another clock move, the same day) changes nothing and adds nothing.
    set_clock(&daemon, day(d0, 56)).await;
    let all = list(&daemon, &case_id, "AL-04", pb::AlertState::Unspecified).await;
    assert_eq!(all.len(), 1, "{all:#?}");

    // The follow-up is held: AL-04 resolves itself.
    daemon
        .cases(Caller::VEJLE)
        .record_follow_up(pb::RecordFollowUpRequest {
            case_id: case_id.clone(),
            held_on: day(d0, 56).to_string(),
            contact_mode: pb::ContactMode::InPerson as i32,
            outcome: "agreed gradual return".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let resolved = next_change(&mut stream, &case_id, "AL-04", pb::AlertChange::Resolved).await;
    let resolved = resolved.alert.unwrap();
    assert_eq!(resolved.alert_id, alert.alert_id);
    assert_eq!(resolved.state, pb::AlertState::Resolved as i32);
    assert!(resolved.resolved_at.is_some());
    assert!(
        list(&daemon, &case_id, "AL-04", pb::AlertState::Open)
            .await
            .is_empty()
    );
    assert_eq!(
        list(&daemon, &case_id, "AL-04", pb::AlertState::Resolved)
            .await
            .len(),
        1
    );

    // A sweep's duration is recorded when the sweep ends, which may be after the changes above
    // were seen: wait (bounded) for every series.
    let names = [
        "kia_alerts_raised_total{",
        "kia_alerts_resolved_total{",
        "kia_alerts_open{",
        "kia_alerts_oldest_open_age_seconds",
        "kia_alert_evaluation_lag_seconds_bucket",
        "kia_alert_sweep_duration_seconds_bucket",
    ];
    let mut metrics = daemon.scrape().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut tick = tokio::time::interval(StdDuration::from_millis(100));
    while names.iter().any(|n| !metrics.contains(n)) && tokio::time::Instant::now() < deadline {
        tick.tick().await;
        metrics = daemon.scrape().await;
    }
    for name in names {
        assert!(metrics.contains(name), "{name} missing from\n{metrics}");
    }
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("kia_alerts_raised_total{") && l.contains("rule=\"AL-04\"")),
        "{metrics}"
    );
}

fn party(person: &str, organisation: &str, capacity: pb::Capacity) -> pb::Party {
    pb::Party {
        person: person.into(),
        organisation: organisation.into(),
        capacity: capacity as i32,
    }
}

async fn apply(daemon: &Daemon, plan: &pb::Plan, change: Change) -> pb::Plan {
    daemon
        .plans(Caller::VEJLE)
        .apply_plan_change(pb::ApplyPlanChangeRequest {
            case_id: plan.case_id.clone(),
            etag: plan.etag.clone(),
            author: Some(party("cw-1", "", pb::Capacity::Caseworker)),
            change: Some(change),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap()
}

async fn new_plan(daemon: &Daemon, case_id: &str) -> pb::Plan {
    daemon
        .plans(Caller::VEJLE)
        .create_plan(pb::CreatePlanRequest {
            case_id: case_id.into(),
            kind: pb::PlanKind::KiaReturnPlan as i32,
            stage: pb::PlanStage::Final as i32,
            author: Some(party("cw-1", "", pb::Capacity::Caseworker)),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap()
}

fn activity(
    id: &str,
    kind: Kind,
    start: NaiveDate,
    end: Option<NaiveDate>,
    after: &[&str],
) -> Change {
    Change::AddActivity(pb::AddActivity {
        activity: Some(pb::PlanActivity {
            activity_id: id.into(),
            kind: Some(kind),
            responsible: "kia-team-vejle".into(),
            planned_start: start.to_string(),
            planned_end: end.map(|e| e.to_string()).unwrap_or_default(),
            depends_on: after.iter().map(|a| (*a).to_owned()).collect(),
            ..Default::default()
        }),
    })
}

async fn al09_plan_slip_is_raised_by_the_booking_and_resolved_when_rebooked(backend: Backend) {
    let daemon = settable(backend).await;
    let d0 = today() - Duration::days(50);
    let case_id = open_case(&daemon, d0).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    let mut plan = new_plan(&daemon, &case_id).await;
    let specialist = Kind::Health(pb::HealthActivity {
        kind: pb::HealthActivityKind::Specialist as i32,
        ordered_by_gp: false,
    });
    plan = apply(
        &daemon,
        &plan,
        activity("spec", specialist, day(d0, 60), None, &[]),
    )
    .await;
    let partial = Kind::Employment(pb::EmploymentActivity {
        kind: pb::EmploymentActivityKind::PartialReturn as i32,
        hours_per_week: 20.0,
        ..Default::default()
    });
    plan = apply(
        &daemon,
        &plan,
        activity(
            "partial",
            partial,
            day(d0, 60),
            Some(day(d0, 80)),
            &["spec"],
        ),
    )
    .await;
    plan = apply(
        &daemon,
        &plan,
        Change::SetGoal(pb::SetGoal {
            goal: Some(pb::Goal {
                goal_id: "full-return".into(),
                kind: pb::GoalKind::FullReturn as i32,
                hours_per_week: 37.0,
                by: day(d0, 80).to_string(),
                depends_on: vec![],
            }),
        }),
    )
    .await;

    // The specialist's waiting list gives D81: 21 days after the planned D60.
    plan = apply(
        &daemon,
        &plan,
        Change::BookActivity(pb::BookActivity {
            activity_id: "spec".into(),
            booked_start: day(d0, 81).to_string(),
        }),
    )
    .await;
    let raised = next_change(&mut stream, &case_id, "AL-09", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();
    assert_eq!(data_number(&alert, "slip_days"), 21.0);
    assert_eq!(alert.subject, format!("case/{case_id}/goal/full-return"));
    assert!(
        alert.cause.contains("specialist `spec`") && alert.cause.contains("21 days"),
        "{}",
        alert.cause
    );
    assert_eq!(alert.due_on, day(d0, 80).to_string());

    // Rebooked within the plan: the slip is gone and so is the alert.
    apply(
        &daemon,
        &plan,
        Change::BookActivity(pb::BookActivity {
            activity_id: "spec".into(),
            booked_start: day(d0, 60).to_string(),
        }),
    )
    .await;
    let resolved = next_change(&mut stream, &case_id, "AL-09", pb::AlertChange::Resolved).await;
    assert_eq!(resolved.alert.unwrap().alert_id, alert.alert_id);
    assert_eq!(
        list(&daemon, &case_id, "AL-09", pb::AlertState::Unspecified)
            .await
            .len(),
        1,
        "raised once, resolved once"
    );
}

async fn al19_week_13_escalates_on_the_exclusion_curve(backend: Backend) {
    let daemon = settable(backend).await;
    let d0 = today();
    let case_id = open_case(&daemon, d0).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    // Sick week 13 starts on D84.
    set_clock(&daemon, day(d0, 84)).await;
    let raised = next_change(&mut stream, &case_id, "AL-19", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();
    assert_eq!(data_number(&alert, "week"), 13.0);
    assert_eq!(data_number(&alert, "exclusion_rate_bp"), 4330.0);
    assert!(alert.cause.contains("43.3 %"), "{}", alert.cause);
    // Week 26 (D175): the same alert escalates.
    set_clock(&daemon, day(d0, 175)).await;
    let updated = next_change(&mut stream, &case_id, "AL-19", pb::AlertChange::Updated).await;
    let updated = updated.alert.unwrap();
    assert_eq!(updated.alert_id, alert.alert_id);
    assert!(updated.cause.contains("59.5 %"), "{}", updated.cause);
    // Closing the case resolves it.
    daemon
        .cases(Caller::VEJLE)
        .close_case(pb::CloseCaseRequest {
            case_id: case_id.clone(),
            closed_on: day(d0, 175).to_string(),
            outcome: pb::CaseOutcome::FullReturn as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    next_change(&mut stream, &case_id, "AL-19", pb::AlertChange::Resolved).await;
}

async fn a_watcher_gets_each_change_once_across_a_reconnect(backend: Backend) {
    let daemon = settable(backend).await;
    let d0 = today();
    let case_id = open_case(&daemon, d0).await;
    let mut first = watch(&daemon, Caller::VEJLE, 0).await;
    set_clock(&daemon, day(d0, 56)).await;
    let raised = next_change(&mut first, &case_id, "AL-04", pb::AlertChange::Raised).await;
    drop(first);

    // While nobody watches, the follow-up resolves AL-04.
    hold_follow_up(&daemon, &case_id, day(d0, 56)).await;
    // Resuming after the last position seen: the resolution once, the raise not again.
    let mut second = watch(&daemon, Caller::VEJLE, raised.position).await;
    let resolved = next_change(&mut second, &case_id, "AL-04", pb::AlertChange::Resolved).await;
    assert!(resolved.position > raised.position);
    // Reading again from the same position up to the resolution: no AL-04 change but it.
    let mut again = watch(&daemon, Caller::VEJLE, raised.position).await;
    let mut al04 = Vec::new();
    loop {
        let m = again.message().await.unwrap().unwrap();
        let a = m.alert.as_ref().unwrap();
        if a.case_id == case_id && a.rule == "AL-04" {
            al04.push((m.position, m.change));
        }
        if m.position >= resolved.position {
            break;
        }
    }
    assert_eq!(
        al04,
        vec![(resolved.position, pb::AlertChange::Resolved as i32)]
    );
}

async fn who_sees_and_who_may_act(backend: Backend) {
    let daemon = settable(backend).await;
    let d0 = today();
    let case_id = open_case(&daemon, d0).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    set_clock(&daemon, day(d0, 56)).await;
    let raised = next_change(&mut stream, &case_id, "AL-04", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();

    // Another municipality sees none of it and cannot act on it.
    let aabenraa = daemon
        .alerts(Caller::AABENRAA)
        .list_alerts(pb::ListAlertsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(aabenraa.alerts.is_empty());
    let err = daemon
        .alerts(Caller::AABENRAA)
        .acknowledge_alert(pb::AcknowledgeAlertRequest {
            alert_id: alert.alert_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = daemon
        .alerts(Caller::VEJLE)
        .list_alerts(pb::ListAlertsRequest {
            municipality: "580".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Operations sees no personal alerts.
    let err = daemon
        .alerts(Caller::OPERATIONS)
        .list_alerts(pb::ListAlertsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Bad filters name their fields.
    let err = daemon
        .alerts(Caller::VEJLE)
        .list_alerts(pb::ListAlertsRequest {
            rule: "AL-99".into(),
            case_id: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    // The caseworker acknowledges: who and when are kept; twice changes nothing.
    let acknowledge = || async {
        daemon
            .alerts(Caller::VEJLE)
            .acknowledge_alert(pb::AcknowledgeAlertRequest {
                alert_id: alert.alert_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .alert
            .unwrap()
    };
    let acked = acknowledge().await;
    assert_eq!(acked.state, pb::AlertState::Acknowledged as i32);
    assert_eq!(acked.acknowledged_by, "jc-630/caseworker");
    let again = acknowledge().await;
    assert_eq!(again.version, acked.version);
    next_change(
        &mut stream,
        &case_id,
        "AL-04",
        pb::AlertChange::Acknowledged,
    )
    .await;

    // Pages: one alert a page, every alert once.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = daemon
            .alerts(Caller::VEJLE)
            .list_alerts(pb::ListAlertsRequest {
                case_id: case_id.clone(),
                page_size: 1,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.alerts.into_iter().map(|a| a.alert_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(seen, unique);
    assert!(seen.contains(&alert.alert_id) && seen.len() > 1, "{seen:?}");

    // Only operations moves the clock.
    let err = daemon
        .clock(Caller::VEJLE)
        .set_clock(pb::SetClockRequest {
            now: Some(prost_types::Timestamp::default()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let clock = daemon
        .clock(Caller::VEJLE)
        .get_clock(pb::GetClockRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(clock.settable);
}

#[tokio::test]
async fn without_settable_clock_set_clock_is_a_failed_precondition() {
    let daemon = Daemon::start(Backend::Sqlite).await;
    let err = daemon
        .clock(Caller::OPERATIONS)
        .set_clock(pb::SetClockRequest {
            now: Some(prost_types::Timestamp::default()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let clock = daemon
        .clock(Caller::OPERATIONS)
        .get_clock(pb::GetClockRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!clock.settable);
}

#[tokio::test]
async fn two_replicas_raise_each_alert_once_and_follow_one_clock() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let a = settable(backend.clone()).await;
    let b = settable(backend).await;
    let d0 = today();
    let mut cases = Vec::new();
    for _ in 0..6 {
        cases.push(open_case(&a, d0).await);
    }
    let mut stream_b = watch(&b, Caller::VEJLE, 0).await;
    // The clock is set through A; B follows it and both sweep.
    set_clock(&a, day(d0, 56)).await;
    // Each case's AL-04 reaches B's watcher once, in whatever order the sweeps raise them.
    let mut raised = std::collections::HashMap::new();
    tokio::time::timeout(WAIT, async {
        while raised.len() < cases.len() {
            let m = stream_b.message().await.unwrap().unwrap();
            let a = m.alert.unwrap();
            if a.rule == "AL-04" && m.change == pb::AlertChange::Raised as i32 {
                *raised.entry(a.case_id).or_insert(0) += 1;
            }
        }
    })
    .await
    .expect("every case's AL-04 within the wait");
    assert!(raised.values().all(|n| *n == 1), "{raised:?}");
    let b_now = b
        .clock(Caller::VEJLE)
        .get_clock(pb::GetClockRequest {})
        .await
        .unwrap()
        .into_inner()
        .now
        .unwrap();
    let b_date = kia_runtime::clock::danish_date(Utc.timestamp_opt(b_now.seconds, 0).unwrap());
    assert_eq!(b_date, day(d0, 56), "B reads the clock set through A");
    // Through B as well: both replicas sweep everything again.
    set_clock(&b, day(d0, 56)).await;
    set_clock(&a, day(d0, 56)).await;
    for case_id in &cases {
        for daemon in [&a, &b] {
            let all = list(daemon, case_id, "AL-04", pb::AlertState::Unspecified).await;
            assert_eq!(all.len(), 1, "{all:#?}");
        }
    }
}

/// Waits for `alert` to resolve; then it is the only alert of its rule the case ever had (the
/// clock moves before did not raise it again).
async fn resolved_once(
    daemon: &Daemon,
    stream: &mut Streaming<pb::WatchAlertsResponse>,
    alert: &pb::Alert,
) {
    let resolved = next_change(
        stream,
        &alert.case_id,
        &alert.rule,
        pb::AlertChange::Resolved,
    )
    .await;
    assert_eq!(resolved.alert.unwrap().alert_id, alert.alert_id);
    let all = list(
        daemon,
        &alert.case_id,
        &alert.rule,
        pb::AlertState::Unspecified,
    )
    .await;
    assert_eq!(all.len(), 1, "raised once, resolved once: {all:#?}");
}

/// A case registered today, on its D50, that nobody has screened yet, with a watcher that has
/// seen its AL-07 warning (D50 is within the two weeks of lead before D55).
async fn unscreened_at_d50(
    backend: Backend,
) -> (
    Daemon,
    NaiveDate,
    String,
    Streaming<pb::WatchAlertsResponse>,
    pb::Alert,
) {
    let daemon = settable(backend).await;
    let d0 = today() - Duration::days(50);
    // Registered on the clock's D50 even if the date turns while the test runs.
    set_clock(&daemon, day(d0, 50)).await;
    let case_id = open_case(&daemon, d0).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    let warned = next_change(&mut stream, &case_id, "AL-07", pb::AlertChange::Raised).await;
    let warning = warned.alert.unwrap();
    (daemon, d0, case_id, stream, warning)
}

/// The KIA team screens the case on the daemon's date `on` (four talks covering the four
/// domains) and concludes it (`concluded_on` defaults to the daemon's today).
async fn screen_and_conclude(daemon: &Daemon, case_id: &str, on: NaiveDate) {
    use pb::AssessmentDomain as Dom;
    use pb::Discipline as D;
    let mut screenings = daemon.screening(Caller::VEJLE);
    let team = crate::screening::kia_team(&mut screenings).await;
    let id = crate::screening::open_screening(&mut screenings, case_id, &team.group_id).await;
    let talks = [
        (
            D::OccupationalPhysician,
            "kia-am",
            "b28013.2",
            &[Dom::Physical][..],
        ),
        (D::Chiropractor, "kia-kiro", "b710.1", &[Dom::Physical][..]),
        (
            D::Physiotherapist,
            "kia-fys",
            "d430.2",
            &[Dom::Physical, Dom::Employment][..],
        ),
        (
            D::Psychologist,
            "kia-psyk",
            "b152.1",
            &[Dom::Psychological, Dom::Social][..],
        ),
    ];
    // Back-to-back 24-minute talks from 08:00 UTC: one session well within the two hours.
    let start = Utc
        .from_utc_datetime(&on.and_hms_opt(8, 0, 0).unwrap())
        .timestamp();
    for (n, (discipline, assessor, code, domains)) in talks.into_iter().enumerate() {
        let from = start + 1_500 * i64::try_from(n).unwrap();
        screenings
            .record_assessment(pb::RecordAssessmentRequest {
                screening_id: id.clone(),
                discipline: discipline as i32,
                assessor: assessor.into(),
                started_at: Some(prost_types::Timestamp {
                    seconds: from,
                    nanos: 0,
                }),
                ended_at: Some(prost_types::Timestamp {
                    seconds: from + 1_440,
                    nanos: 0,
                }),
                findings: vec![pb::IcfFinding {
                    icf: code.into(),
                    ..Default::default()
                }],
                work_capacity: "can work a few hours a day".into(),
                domains: domains.iter().map(|d| *d as i32).collect(),
                ..Default::default()
            })
            .await
            .unwrap();
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

async fn al07_360_degree_assessment_warned_before_d55_overdue_after_and_resolved_by_the_conclusion(
    backend: Backend,
) {
    let (daemon, d0, case_id, mut stream, alert) = unscreened_at_d50(backend).await;
    assert_eq!(alert.severity, pb::AlertSeverity::Warning as i32);
    assert_eq!(alert.due_on, day(d0, 55).to_string(), "D55");
    assert_eq!(alert.recipient_role, "screening_group");
    assert!(alert.cause.contains("360-degree"), "{}", alert.cause);

    // D56: overdue, the same alert; a second move to the same day changes nothing.
    set_clock(&daemon, day(d0, 56)).await;
    let overdue = next_change(&mut stream, &case_id, "AL-07", pb::AlertChange::Updated).await;
    let overdue = overdue.alert.unwrap();
    assert_eq!(overdue.alert_id, alert.alert_id);
    assert_eq!(overdue.severity, pb::AlertSeverity::High as i32);
    assert!(
        overdue
            .cause
            .contains(&format!("was due {} and is overdue", day(d0, 55))),
        "{}",
        overdue.cause
    );
    set_clock(&daemon, day(d0, 56)).await;

    // Screened and concluded on D56: late, but concluded.
    screen_and_conclude(&daemon, &case_id, day(d0, 56)).await;
    resolved_once(&daemon, &mut stream, &alert).await;
}

async fn al22_a_new_case_unscreened_for_a_week_is_raised_and_resolved_by_the_conclusion(
    backend: Backend,
) {
    let (daemon, d0, case_id, mut stream, _) = unscreened_at_d50(backend).await;
    // Six days after the registration on D50: not yet (this evaluation also updates AL-07).
    set_clock(&daemon, day(d0, 56)).await;
    next_change(&mut stream, &case_id, "AL-07", pb::AlertChange::Updated).await;
    assert!(
        list(&daemon, &case_id, "AL-22", pb::AlertState::Unspecified)
            .await
            .is_empty()
    );
    // D57: a week.
    set_clock(&daemon, day(d0, 57)).await;
    let raised = next_change(&mut stream, &case_id, "AL-22", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();
    assert_eq!(alert.severity, pb::AlertSeverity::Warning as i32);
    assert_eq!(data_number(&alert, "limit_days"), 7.0);
    assert_eq!(alert.recipient_role, "screening_group");
    assert!(
        alert.cause.contains(&format!(
            "registered {} has no concluded screening after 7 days",
            day(d0, 50)
        )),
        "{}",
        alert.cause
    );
    set_clock(&daemon, day(d0, 57)).await;

    screen_and_conclude(&daemon, &case_id, day(d0, 57)).await;
    resolved_once(&daemon, &mut stream, &alert).await;
}

fn full_return_goal(by: NaiveDate) -> Change {
    Change::SetGoal(pb::SetGoal {
        goal: Some(pb::Goal {
            goal_id: "full-return".into(),
            kind: pb::GoalKind::FullReturn as i32,
            hours_per_week: 37.0,
            by: by.to_string(),
            depends_on: vec![],
        }),
    })
}

async fn al18_partial_return_without_a_full_return_goal_is_raised_and_resolved_by_the_goal(
    backend: Backend,
) {
    let daemon = settable(backend).await;
    let d0 = today() - Duration::days(50);
    let case_id = open_case(&daemon, d0).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    let plan = new_plan(&daemon, &case_id).await;
    let partial = Kind::Employment(pb::EmploymentActivity {
        kind: pb::EmploymentActivityKind::PartialReturn as i32,
        hours_per_week: 20.0,
        ..Default::default()
    });
    let plan = apply(
        &daemon,
        &plan,
        activity("partial", partial, day(d0, 60), Some(day(d0, 90)), &[]),
    )
    .await;
    let raised = next_change(&mut stream, &case_id, "AL-18", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();
    assert_eq!(alert.severity, pb::AlertSeverity::Warning as i32);
    assert_eq!(alert.subject, format!("case/{case_id}/activity/partial"));
    assert!(
        alert
            .cause
            .contains("partial return `partial` has no planned date for full-time return"),
        "{}",
        alert.cause
    );
    // The next day, twice: still the one alert.
    set_clock(&daemon, day(d0, 51)).await;
    set_clock(&daemon, day(d0, 51)).await;

    apply(&daemon, &plan, full_return_goal(day(d0, 120))).await;
    resolved_once(&daemon, &mut stream, &alert).await;
}

/// A plan with one health activity of `kind`, referred `referred` and booked `booked`.
async fn plan_with_referral(
    daemon: &Daemon,
    case_id: &str,
    id: &str,
    kind: pb::HealthActivityKind,
    referred: NaiveDate,
    booked: NaiveDate,
) -> pb::Plan {
    let plan = new_plan(daemon, case_id).await;
    apply(
        daemon,
        &plan,
        Change::AddActivity(pb::AddActivity {
            activity: Some(pb::PlanActivity {
                activity_id: id.into(),
                kind: Some(Kind::Health(pb::HealthActivity {
                    kind: kind as i32,
                    ordered_by_gp: false,
                })),
                responsible: "region-syddanmark".into(),
                referred_on: referred.to_string(),
                planned_start: referred.to_string(),
                booked_start: booked.to_string(),
                ..Default::default()
            }),
        }),
    )
    .await
}

async fn al10_hospital_treatment_beyond_one_month_is_raised_and_resolved_when_rebooked(
    backend: Backend,
) {
    let daemon = settable(backend).await;
    let d0 = today() - Duration::days(40);
    let case_id = open_case(&daemon, d0).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    // Referred on D40 (today); the hospital's first date is 37 days later, past the month.
    let referred = day(d0, 40);
    let limit = referred.checked_add_months(chrono::Months::new(1)).unwrap();
    let plan = plan_with_referral(
        &daemon,
        &case_id,
        "hosp",
        pb::HealthActivityKind::HospitalTreatment,
        referred,
        day(d0, 77),
    )
    .await;
    let raised = next_change(&mut stream, &case_id, "AL-10", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();
    assert_eq!(alert.severity, pb::AlertSeverity::High as i32);
    assert_eq!(alert.subject, format!("case/{case_id}/activity/hosp"));
    assert_eq!(
        alert.due_on,
        limit.to_string(),
        "one month after the referral"
    );
    assert_eq!(data_number(&alert, "waited_days"), 37.0);
    assert!(
        alert.cause.contains("not available within one month")
            && alert.cause.contains("extended free hospital choice"),
        "{}",
        alert.cause
    );
    set_clock(&daemon, day(d0, 41)).await;
    set_clock(&daemon, day(d0, 41)).await;

    // Rebooked within the month (extended free hospital choice): resolved.
    apply(
        &daemon,
        &plan,
        Change::BookActivity(pb::BookActivity {
            activity_id: "hosp".into(),
            booked_start: day(d0, 60).to_string(),
        }),
    )
    .await;
    resolved_once(&daemon, &mut stream, &alert).await;
}

async fn al11_waiting_with_no_activity_is_raised_and_resolved_when_the_activity_starts(
    backend: Backend,
) {
    let daemon = settable(backend).await;
    let d0 = today() - Duration::days(50);
    let case_id = open_case(&daemon, d0).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    // Nothing in progress; physiotherapy referred D50 is booked four weeks later (D78).
    let plan = plan_with_referral(
        &daemon,
        &case_id,
        "physio",
        pb::HealthActivityKind::Physiotherapy,
        day(d0, 50),
        day(d0, 78),
    )
    .await;
    let raised = next_change(&mut stream, &case_id, "AL-11", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();
    assert_eq!(alert.severity, pb::AlertSeverity::Warning as i32);
    assert_eq!(data_number(&alert, "idle_days"), 28.0);
    assert!(
        alert.cause.contains(&format!(
            "no activity from {} until {} (28 days)",
            day(d0, 50),
            day(d0, 78)
        )),
        "{}",
        alert.cause
    );
    set_clock(&daemon, day(d0, 51)).await;
    set_clock(&daemon, day(d0, 51)).await;

    // A cancellation gives a slot now: the physiotherapy starts and the wait is over.
    apply(
        &daemon,
        &plan,
        Change::StartActivity(pb::StartActivity {
            activity_id: "physio".into(),
            started_on: day(d0, 51).to_string(),
        }),
    )
    .await;
    resolved_once(&daemon, &mut stream, &alert).await;
}

async fn hold_follow_up(daemon: &Daemon, case_id: &str, held_on: NaiveDate) {
    daemon
        .cases(Caller::VEJLE)
        .record_follow_up(pb::RecordFollowUpRequest {
            case_id: case_id.into(),
            held_on: held_on.to_string(),
            contact_mode: pb::ContactMode::InPerson as i32,
            outcome: "held".into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

/// DOMAIN.md's example case under the 2009 rules (the last with a follow-up plan, T-15): first
/// sick day 2009-02-02, visitated to category 2 on D45 (a talk at least every 4 weeks), the
/// first talk held on D50. The clock stands at D50.
async fn category_2_case_of_2009(daemon: &Daemon) -> (NaiveDate, String) {
    let d0 = NaiveDate::from_ymd_opt(2009, 2, 2).unwrap();
    set_clock(daemon, day(d0, 45)).await;
    let case_id = open_case(daemon, d0).await;
    daemon
        .cases(Caller::VEJLE)
        .visitate(pb::VisitateRequest {
            case_id: case_id.clone(),
            category: pb::Category::Category2 as i32,
            reason: "not expected back within 8 weeks".into(),
            visited_on: day(d0, 45).to_string(),
            etag: String::new(),
        })
        .await
        .unwrap();
    set_clock(daemon, day(d0, 50)).await;
    hold_follow_up(daemon, &case_id, day(d0, 50)).await;
    (d0, case_id)
}

async fn al05_follow_up_plan_missing_at_the_second_follow_up_is_raised_and_resolved_by_the_plan(
    backend: Backend,
) {
    let daemon = settable(backend).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    let (d0, case_id) = category_2_case_of_2009(&daemon).await;
    // The second talk on D70, without a follow-up plan: the plan was due with it.
    set_clock(&daemon, day(d0, 70)).await;
    hold_follow_up(&daemon, &case_id, day(d0, 70)).await;
    let raised = next_change(&mut stream, &case_id, "AL-05", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();
    assert_eq!(alert.due_on, day(d0, 70).to_string());
    assert_eq!(alert.recipient_role, "caseworker");

    set_clock(&daemon, day(d0, 71)).await;
    let overdue = next_change(&mut stream, &case_id, "AL-05", pb::AlertChange::Updated).await;
    let overdue = overdue.alert.unwrap();
    assert_eq!(overdue.alert_id, alert.alert_id);
    assert_eq!(overdue.severity, pb::AlertSeverity::High as i32);
    assert!(
        overdue.cause.contains(&format!(
            "the follow-up plan (at the latest at the 2nd follow-up) was due {} and is overdue",
            day(d0, 70)
        )),
        "{}",
        overdue.cause
    );
    set_clock(&daemon, day(d0, 71)).await;

    daemon
        .cases(Caller::VEJLE)
        .record_case_step(pb::RecordCaseStepRequest {
            case_id: case_id.clone(),
            step: pb::CaseStep::FollowUpPlanMade as i32,
            on: day(d0, 71).to_string(),
            etag: String::new(),
        })
        .await
        .unwrap();
    resolved_once(&daemon, &mut stream, &alert).await;
}

async fn al06_next_follow_up_overdue_by_the_category_2_cadence_is_raised_and_resolved_by_the_talk(
    backend: Backend,
) {
    let daemon = settable(backend).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    let (d0, case_id) = category_2_case_of_2009(&daemon).await;
    // Talk no. 2 was due 4 weeks after D50, on D78; D79 passes without it.
    set_clock(&daemon, day(d0, 79)).await;
    let raised = next_change(&mut stream, &case_id, "AL-06", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();
    assert_eq!(alert.severity, pb::AlertSeverity::High as i32);
    assert_eq!(alert.due_on, day(d0, 78).to_string(), "4 weeks after D50");
    assert_eq!(data_number(&alert, "follow_up"), 2.0);
    assert!(
        alert.cause.contains(&format!(
            "follow-up no. 2 (category cadence) was due {} and is overdue",
            day(d0, 78)
        )),
        "{}",
        alert.cause
    );
    set_clock(&daemon, day(d0, 79)).await;

    // Held on D79: talk no. 3 is due 4 weeks later, outside the week of lead.
    hold_follow_up(&daemon, &case_id, day(d0, 79)).await;
    resolved_once(&daemon, &mut stream, &alert).await;
}

async fn al21_referral_to_start_over_the_contract_target_is_raised_updated_by_the_late_start(
    backend: Backend,
) {
    use crate::contracting::{contract, create_contract, event, provider, refer};
    let daemon = settable(backend).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    // Vejle's 2011 contract with Quick Care: referral to start within 4.9 days [004 §7].
    let referred = NaiveDate::from_ymd_opt(2011, 3, 1).unwrap();
    set_clock(&daemon, referred).await;
    let case_id = open_case(&daemon, day(referred, -50)).await;
    let mut c = daemon.contracting(Caller::VEJLE);
    let qc = provider(&mut c, "Quick Care", "quick-care").await;
    let target = [(pb::ScorecardMetric::ReferralToStartDays, 4.9)];
    let contract_id = create_contract(&mut c, contract(&qc, None, &target)).await;
    let referral = refer(&mut c, &contract_id, &case_id, referred)
        .await
        .unwrap();

    // Five days later the course has not started: over the 4.9 days.
    set_clock(&daemon, day(referred, 5)).await;
    let raised = next_change(&mut stream, &case_id, "AL-21", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();
    assert_eq!(alert.severity, pb::AlertSeverity::High as i32);
    assert_eq!(alert.subject, format!("referral/{referral}"));
    assert_eq!(alert.recipient_role, "contract_manager");
    assert_eq!(data_number(&alert, "target_days"), 4.9);
    assert!(
        alert.cause.contains(&format!(
            "referral {referral} has waited longer than the contract's target of 4.9 days \
             (referral_to_start_days)"
        )),
        "{}",
        alert.cause
    );
    set_clock(&daemon, day(referred, 5)).await;

    // It starts that day: a late start stays a breach of the target, now in the past tense.
    event(
        &mut c,
        &referral,
        pb::ReferralEventKind::Started,
        day(referred, 5),
        pb::ReferralOutcome::Unspecified,
    )
    .await
    .unwrap();
    let updated = next_change(&mut stream, &case_id, "AL-21", pb::AlertChange::Updated).await;
    let updated = updated.alert.unwrap();
    assert_eq!(updated.alert_id, alert.alert_id);
    assert_eq!(updated.state, pb::AlertState::Open as i32);
    assert_eq!(data_number(&updated, "days"), 5.0);
    assert!(
        updated
            .cause
            .contains(&format!("referral {referral} took 5 days")),
        "{}",
        updated.cause
    );

    // The case closes: nothing left to act on.
    daemon
        .cases(Caller::VEJLE)
        .close_case(pb::CloseCaseRequest {
            case_id: case_id.clone(),
            closed_on: day(referred, 5).to_string(),
            outcome: pb::CaseOutcome::FullReturn as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    resolved_once(&daemon, &mut stream, &alert).await;
}

/// A case under the 2010 agreement's offer rules [001] (first sick day 2011-01-10): at the talk
/// on D45 gradual return is assessed as not possible, so the plan may take a work placement of
/// 15 hours a week from D70 to D98; the talk on D50 (the clock's day, in `mode`) brings `prognosis`.
/// Returns D0, the case and the plan.
async fn offer_planned_then_prognosis(
    daemon: &Daemon,
    mode: pb::ContactMode,
    prognosis: pb::Prognosis,
) -> (NaiveDate, String, pb::Plan) {
    use pb::ContactMode::InPerson;
    let d0 = NaiveDate::from_ymd_opt(2011, 1, 10).unwrap();
    set_clock(daemon, day(d0, 45)).await;
    let case_id = open_case(daemon, d0).await;
    let not_yet = pb::Prognosis {
        partial_return_possible: Some(false),
        ..Default::default()
    };
    talk_with_prognosis(daemon, &case_id, day(d0, 45), InPerson, not_yet).await;
    let plan = new_plan(daemon, &case_id).await;
    let placement = Kind::Employment(pb::EmploymentActivity {
        kind: pb::EmploymentActivityKind::WorkPlacement as i32,
        hours_per_week: 15.0,
        ..Default::default()
    });
    let plan = apply(
        daemon,
        &plan,
        activity("placement", placement, day(d0, 70), Some(day(d0, 98)), &[]),
    )
    .await;
    set_clock(daemon, day(d0, 50)).await;
    talk_with_prognosis(daemon, &case_id, day(d0, 50), mode, prognosis).await;
    (d0, case_id, plan)
}

/// A talk that records `prognosis`, in the contact form the rules require (the least sick are
/// not called in, [001 I4]).
async fn talk_with_prognosis(
    daemon: &Daemon,
    case_id: &str,
    held_on: NaiveDate,
    contact_mode: pb::ContactMode,
    prognosis: pb::Prognosis,
) {
    daemon
        .cases(Caller::VEJLE)
        .record_follow_up(pb::RecordFollowUpRequest {
            case_id: case_id.into(),
            held_on: held_on.to_string(),
            contact_mode: contact_mode as i32,
            outcome: "prognosis from the doctor".into(),
            prognosis: Some(prognosis),
            ..Default::default()
        })
        .await
        .unwrap();
}

async fn cancel(daemon: &Daemon, plan: &pb::Plan, activity_id: &str) {
    apply(
        daemon,
        plan,
        Change::CancelActivity(pb::CancelActivity {
            activity_id: activity_id.into(),
        }),
    )
    .await;
}

async fn al13_an_offer_for_the_least_sick_is_raised_and_resolved_when_cancelled(backend: Backend) {
    let daemon = settable(backend).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    // A clear diagnosis and full return expected on D90, within 8 weeks of the D50 talk.
    let d0 = NaiveDate::from_ymd_opt(2011, 1, 10).unwrap();
    let prognosis = pb::Prognosis {
        clear_diagnosis: true,
        expected_full_return_on: day(d0, 90).to_string(),
        partial_return_possible: Some(false),
        ..Default::default()
    };
    let (d0, case_id, plan) =
        offer_planned_then_prognosis(&daemon, pb::ContactMode::Phone, prognosis).await;
    let raised = next_change(&mut stream, &case_id, "AL-13", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();
    assert_eq!(alert.severity, pb::AlertSeverity::High as i32);
    assert_eq!(alert.subject, format!("case/{case_id}/activity/placement"));
    assert_eq!(alert.due_on, day(d0, 70).to_string(), "the offer's start");
    assert!(
        alert.cause.contains(&format!(
            "full return expected {}, within 8 weeks of the follow-up on {} (limit {})",
            day(d0, 90),
            day(d0, 50),
            day(d0, 106)
        )),
        "{}",
        alert.cause
    );
    set_clock(&daemon, day(d0, 51)).await;
    set_clock(&daemon, day(d0, 51)).await;

    cancel(&daemon, &plan, "placement").await;
    resolved_once(&daemon, &mut stream, &alert).await;
}

async fn al14_an_offer_while_gradual_return_is_possible_is_raised_and_resolved_when_cancelled(
    backend: Backend,
) {
    let daemon = settable(backend).await;
    let mut stream = watch(&daemon, Caller::VEJLE, 0).await;
    let prognosis = pb::Prognosis {
        partial_return_possible: Some(true),
        ..Default::default()
    };
    let (d0, case_id, plan) =
        offer_planned_then_prognosis(&daemon, pb::ContactMode::InPerson, prognosis).await;
    let raised = next_change(&mut stream, &case_id, "AL-14", pb::AlertChange::Raised).await;
    let alert = raised.alert.unwrap();
    assert_eq!(alert.severity, pb::AlertSeverity::High as i32);
    assert_eq!(alert.subject, format!("case/{case_id}/activity/placement"));
    assert!(
        alert.cause.contains(&format!(
            "`placement` from {}: gradual return is possible: start it before any offer",
            day(d0, 70)
        )),
        "{}",
        alert.cause
    );
    set_clock(&daemon, day(d0, 51)).await;
    set_clock(&daemon, day(d0, 51)).await;

    cancel(&daemon, &plan, "placement").await;
    resolved_once(&daemon, &mut stream, &alert).await;
}
