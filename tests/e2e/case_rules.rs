//! The case rules over gRPC: visitation, follow-ups, exemptions, partial return, closing, the
//! timeline under two rule sets, reimbursement, and the case event stream.

use chrono::{Duration, NaiveDate};
use kia_proto::v1::{self as pb, case_service_client::CaseServiceClient};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::support::{Backend, Caller, Daemon, on_both_backends};

type Client = CaseServiceClient<InterceptedService<Channel, Caller>>;

fn today() -> NaiveDate {
    kia_runtime::clock::danish_date(chrono::Utc::now())
}

async fn open_case(cases: &mut Client, first_sick_day: NaiveDate) -> pb::Case {
    let case = pb::Case {
        municipality_code: "630".into(),
        first_sick_day: first_sick_day.to_string(),
        employment_status: pb::EmploymentStatus::Employed as i32,
        employer_reference: "CVR-29189587".into(),
        citizen_reference: "vejle-lene".into(),
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
}

fn follow_up(
    case_id: &str,
    held_on: NaiveDate,
    mode: pb::ContactMode,
) -> pb::RecordFollowUpRequest {
    pb::RecordFollowUpRequest {
        case_id: case_id.into(),
        held_on: held_on.to_string(),
        contact_mode: mode as i32,
        outcome: "agreed gradual return".into(),
        ..Default::default()
    }
}

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

fn error_metadata(status: &tonic::Status, key: &str) -> Option<String> {
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get(key).cloned())
}

/// The first follow-up deadline of a timeline (`kind` follow_up, number 1).
fn first_follow_up(timeline: &pb::GetTimelineResponse) -> &pb::Deadline {
    timeline
        .deadlines
        .iter()
        .find(|d| d.kind == "follow_up" && d.number == 1)
        .unwrap_or_else(|| panic!("no first follow-up in {:#?}", timeline.deadlines))
}

on_both_backends!(
    the_first_follow_up_is_due_by_the_end_of_sick_week_8,
    replaying_under_two_rule_sets_gives_two_timelines,
    an_in_person_follow_up_is_refused_when_return_is_expected_within_13_weeks,
    exemptions_are_set_once_and_lifted_once,
    partial_return_and_closing,
    bad_dates_and_stale_etags,
    reimbursement_follows_the_2012_financing_table,
    case_events_stream_and_resume_without_gaps_or_repeats,
);

async fn the_first_follow_up_is_due_by_the_end_of_sick_week_8(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let d0 = today() - Duration::days(60);
    let case = open_case(&mut cases, d0).await;
    let timeline = |as_of: NaiveDate| pb::GetTimelineRequest {
        case_id: case.case_id.clone(),
        as_of: as_of.to_string(),
        ..Default::default()
    };

    let t = cases
        .get_timeline(timeline(today()))
        .await
        .unwrap()
        .into_inner();
    let first = first_follow_up(&t);
    assert_eq!(first.due_on, (d0 + Duration::days(55)).to_string(), "D55");
    assert_eq!(
        first.status,
        pb::DeadlineStatus::Overdue as i32,
        "today is D60"
    );
    let before = cases
        .get_timeline(timeline(d0 + Duration::days(54)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first_follow_up(&before).status,
        pb::DeadlineStatus::Due as i32
    );

    let visitated = cases
        .visitate(pb::VisitateRequest {
            case_id: case.case_id.clone(),
            category: pb::Category::Category2 as i32,
            reason: "not expected back within 8 weeks".into(),
            visited_on: (d0 + Duration::days(40)).to_string(),
            etag: case.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    assert_eq!(visitated.category, pb::Category::Category2 as i32);
    assert_ne!(visitated.etag, case.etag);

    let held = d0 + Duration::days(58);
    cases
        .record_follow_up(follow_up(&case.case_id, held, pb::ContactMode::InPerson))
        .await
        .unwrap();
    let t = cases
        .get_timeline(timeline(today()))
        .await
        .unwrap()
        .into_inner();
    let first = first_follow_up(&t);
    assert_eq!(first.status, pb::DeadlineStatus::Met as i32);
    assert_eq!(first.met_on, held.to_string());
    let second = t
        .deadlines
        .iter()
        .find(|d| d.kind == "follow_up" && d.number == 2)
        .unwrap();
    assert!(
        second.due_on > held.to_string(),
        "the next talk is due after the first"
    );
}

async fn replaying_under_two_rule_sets_gives_two_timelines(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let d0 = NaiveDate::from_ymd_opt(2008, 3, 3).unwrap();
    let case = open_case(&mut cases, d0).await;
    let visit = |category: pb::Category, on: i64| pb::VisitateRequest {
        case_id: case.case_id.clone(),
        category: category as i32,
        reason: "visitation".into(),
        visited_on: (d0 + Duration::days(on)).to_string(),
        etag: String::new(),
    };
    cases
        .visitate(visit(pb::Category::Category2, 30))
        .await
        .unwrap();
    let held = d0 + Duration::days(50);
    cases
        .record_follow_up(follow_up(&case.case_id, held, pb::ContactMode::InPerson))
        .await
        .unwrap();

    let under = |rule_set: pb::RuleSet| pb::GetTimelineRequest {
        case_id: case.case_id.clone(),
        as_of: (d0 + Duration::days(60)).to_string(),
        rule_set: rule_set as i32,
    };
    let r2008 = cases
        .get_timeline(under(pb::RuleSet::R2008))
        .await
        .unwrap()
        .into_inner();
    let p2008 = cases
        .get_timeline(under(pb::RuleSet::P2008))
        .await
        .unwrap()
        .into_inner();
    let default = cases
        .get_timeline(under(pb::RuleSet::Unspecified))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r2008.rule_set, pb::RuleSet::R2008 as i32);
    assert_eq!(
        default.deadlines, r2008.deadlines,
        "2008-03-03 falls under R2008"
    );
    let second = |t: &pb::GetTimelineResponse| {
        t.deadlines
            .iter()
            .find(|d| d.kind == "follow_up" && d.number == 2)
            .cloned()
            .unwrap()
    };
    // T-13: category 2 at least every 4 weeks under R2008 -> held + 28 days.
    assert_eq!(
        second(&r2008).due_on,
        (held + Duration::days(28)).to_string()
    );
    assert_eq!(second(&r2008).rule_id, "T-13");
    assert_eq!(second(&p2008).rule_id, "T-13b");
    // Replaying is reproducible.
    let again = cases
        .get_timeline(under(pb::RuleSet::R2008))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, r2008);
    assert!(
        !r2008.conflicts.is_empty(),
        "the rule set shows where the sources disagree"
    );
}

async fn an_in_person_follow_up_is_refused_when_return_is_expected_within_13_weeks(
    backend: Backend,
) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    // A2010 ([001 I4]): no in-person meeting when full return is expected within 13 weeks.
    let d0 = NaiveDate::from_ymd_opt(2011, 3, 7).unwrap();
    let case = open_case(&mut cases, d0).await;
    let mut request = follow_up(
        &case.case_id,
        d0 + Duration::days(50),
        pb::ContactMode::InPerson,
    );
    request.prognosis = Some(pb::Prognosis {
        expected_full_return_on: (d0 + Duration::days(80)).to_string(),
        ..Default::default()
    });
    let err = cases.record_follow_up(request.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(
        error_metadata(&err, "rule_id").as_deref(),
        Some(kia_domain::rules::RuleId::I4.as_str())
    );

    request.contact_mode = pb::ContactMode::Phone as i32;
    let case = cases
        .record_follow_up(request)
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    assert_eq!(
        case.etag, "\"2\"",
        "only the accepted follow-up changed the case"
    );
}

async fn exemptions_are_set_once_and_lifted_once(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let d0 = today() - Duration::days(30);
    let case = open_case(&mut cases, d0).await;
    let set = pb::SetExemptionRequest {
        case_id: case.case_id.clone(),
        ground: pb::ExemptionGround::TreatmentIsObstacle as i32,
        from: (d0 + Duration::days(10)).to_string(),
        reason: "daily radiotherapy".into(),
        ..Default::default()
    };
    cases.set_exemption(set.clone()).await.unwrap();
    let err = cases.set_exemption(set).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    let lift = pb::LiftExemptionRequest {
        case_id: case.case_id.clone(),
        ground: pb::ExemptionGround::TreatmentIsObstacle as i32,
        lifted_on: (d0 + Duration::days(20)).to_string(),
        etag: String::new(),
    };
    cases.lift_exemption(lift.clone()).await.unwrap();
    let err = cases
        .lift_exemption(pb::LiftExemptionRequest {
            lifted_on: (d0 + Duration::days(25)).to_string(),
            ..lift
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "nothing in force to lift"
    );

    let err = cases
        .set_exemption(pb::SetExemptionRequest {
            case_id: case.case_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let mut got = fields(&err);
    got.sort();
    assert_eq!(got, ["from", "ground"]);
}

async fn partial_return_and_closing(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let d0 = today() - Duration::days(94);
    let case = open_case(&mut cases, d0).await;
    let partial = |from: i64, hours: f64| pb::RecordPartialReturnRequest {
        case_id: case.case_id.clone(),
        from: (d0 + Duration::days(from)).to_string(),
        hours_per_week: hours,
        ..Default::default()
    };
    let err = cases
        .record_partial_return(partial(49, 0.0))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["hours_per_week"]);
    let err = cases
        .record_partial_return(partial(49, 37.0))
        .await
        .unwrap_err();
    assert_eq!(
        fields(&err),
        ["hours_per_week"],
        "37 hours is full time, not a partial return"
    );
    // KIA-LENE: 4 hours a day from about D49, stepped up about D75.
    cases
        .record_partial_return(partial(49, 20.0))
        .await
        .unwrap();
    cases
        .record_partial_return(partial(75, 30.0))
        .await
        .unwrap();

    let close = pb::CloseCaseRequest {
        case_id: case.case_id.clone(),
        outcome: pb::CaseOutcome::FullReturn as i32,
        closed_on: (d0 + Duration::days(94)).to_string(),
        ..Default::default()
    };
    let closed = cases
        .close_case(close.clone())
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    assert_eq!(closed.state, pb::CaseState::Closed as i32);
    assert_eq!(closed.outcome, pb::CaseOutcome::FullReturn as i32);
    assert_eq!(closed.closed_on, (d0 + Duration::days(94)).to_string());

    let err = cases.close_case(close).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "closing a closed case"
    );
    let err = cases
        .visitate(pb::VisitateRequest {
            case_id: case.case_id.clone(),
            category: pb::Category::Category1 as i32,
            reason: "late".into(),
            visited_on: today().to_string(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "a closed case takes no changes"
    );

    let other = pb::CloseCaseRequest {
        case_id: open_case(&mut cases, d0).await.case_id,
        outcome: pb::CaseOutcome::Other as i32,
        closed_on: today().to_string(),
        ..Default::default()
    };
    let err = cases.close_case(other).await.unwrap_err();
    assert_eq!(fields(&err), ["outcome_note"]);
}

async fn bad_dates_and_stale_etags(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let d0 = today() - Duration::days(20);
    let case = open_case(&mut cases, d0).await;

    let err = cases
        .record_follow_up(follow_up(
            &case.case_id,
            d0 - Duration::days(1),
            pb::ContactMode::Phone,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), fields(&err)),
        (Code::InvalidArgument, vec!["held_on".to_owned()])
    );
    let err = cases
        .record_follow_up(follow_up(
            &case.case_id,
            today() + Duration::days(1),
            pb::ContactMode::Phone,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["held_on"], "a follow-up in the future");
    let err = cases
        .record_follow_up(follow_up(
            &case.case_id,
            today(),
            pb::ContactMode::Unspecified,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["contact_mode"]);

    let visit = pb::VisitateRequest {
        case_id: case.case_id.clone(),
        category: pb::Category::Category1 as i32,
        reason: "expected back soon".into(),
        visited_on: today().to_string(),
        etag: case.etag.clone(),
    };
    let after = cases
        .visitate(visit.clone())
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    let err = cases.visitate(visit).await.unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "the etag is stale");
    assert_eq!(error_metadata(&err, "current_etag"), Some(after.etag));

    let err = cases
        .get_timeline(pb::GetTimelineRequest {
            case_id: case.case_id.clone(),
            as_of: "yesterday".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["as_of"]);
    let err = cases
        .get_timeline(pb::GetTimelineRequest {
            case_id: case.case_id.clone(),
            rule_set: 99,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["rule_set"]);
    let err = cases
        .visitate(pb::VisitateRequest {
            case_id: "01936d8e-0000-7000-8000-000000000000".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::InvalidArgument,
        "validation of the request comes first"
    );
    let err = daemon
        .cases(Caller::AABENRAA)
        .get_timeline(pb::GetTimelineRequest {
            case_id: case.case_id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

async fn reimbursement_follows_the_2012_financing_table(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    // R2012 [004 fig.3], employed: the employer pays the first 30 calendar days; weeks 5-8 are
    // shared 50/50 by municipality and state. Through D55 (end of week 8), 4,000 DKK a week.
    let d0 = NaiveDate::from_ymd_opt(2012, 3, 5).unwrap();
    let case = open_case(&mut cases, d0).await;
    let split = cases
        .get_reimbursement(pb::GetReimbursementRequest {
            case_id: case.case_id.clone(),
            weekly_benefit_oere: 400_000,
            through: (d0 + Duration::days(55)).to_string(),
            rule_set: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(split.rule_set, pb::RuleSet::R2012 as i32);
    assert_eq!(split.total_oere, 8 * 400_000, "eight weeks of benefit");
    assert_eq!(
        split.employer_oere,
        400_000 * 30 / 7,
        "30 days at the employer"
    );
    assert_eq!(
        split.state_oere,
        400_000 * 26 / 7 / 2,
        "26 days, half from the state"
    );
    assert_eq!(
        split.employer_oere + split.municipality_oere + split.state_oere,
        split.total_oere
    );

    let err = cases
        .get_reimbursement(pb::GetReimbursementRequest {
            case_id: case.case_id,
            weekly_benefit_oere: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["weekly_benefit_oere"]);
}

async fn case_events_stream_and_resume_without_gaps_or_repeats(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let mut stream = cases
        .watch_case_events(pb::WatchCaseEventsRequest { after_position: 0 })
        .await
        .unwrap()
        .into_inner();
    let d0 = today() - Duration::days(10);
    let case = open_case(&mut cases, d0).await;
    // Another municipality's events never reach Vejle's watcher.
    let aabenraa = pb::Case {
        municipality_code: "580".into(),
        ..case.clone()
    };
    daemon
        .cases(Caller::AABENRAA)
        .create_case(pb::CreateCaseRequest {
            r#case: Some(aabenraa),
            request_id: String::new(),
        })
        .await
        .unwrap();
    cases
        .visitate(pb::VisitateRequest {
            case_id: case.case_id.clone(),
            category: pb::Category::Category2 as i32,
            reason: "risk case".into(),
            visited_on: today().to_string(),
            etag: String::new(),
        })
        .await
        .unwrap();

    let first = stream.message().await.unwrap().unwrap().event.unwrap();
    let second = stream.message().await.unwrap().unwrap().event.unwrap();
    assert_eq!(
        (first.event_type.as_str(), second.event_type.as_str()),
        ("case.opened", "case.visitated")
    );
    assert_eq!(first.case_id, case.case_id);
    assert!(second.position > first.position);
    assert!(
        !first.payload_json.contains("vejle-lene"),
        "no citizen reference in events"
    );
    drop(stream);

    // A change while disconnected, then resume from the last position seen.
    cases
        .record_case_step(pb::RecordCaseStepRequest {
            case_id: case.case_id.clone(),
            step: pb::CaseStep::EmployerNotified as i32,
            on: today().to_string(),
            etag: String::new(),
        })
        .await
        .unwrap();
    let mut resumed = cases
        .watch_case_events(pb::WatchCaseEventsRequest {
            after_position: second.position,
        })
        .await
        .unwrap()
        .into_inner();
    let third = resumed.message().await.unwrap().unwrap().event.unwrap();
    assert_eq!(third.event_type, "case.step_recorded");
    assert!(third.position > second.position);
}
