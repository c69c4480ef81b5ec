//! kia.v1.AuditService: every access to a case is in its trail, the citizen's access report
//! names every organisation that saw the citizen's data, and an edited trail is detected.

use kia_proto::v1 as pb;
use kia_proto::v1::case_service_client::CaseServiceClient;
use tonic::Code;

use crate::support::{Backend, Caller, Daemon, on_both_backends};

on_both_backends!(
    the_trail_of_a_case_names_who_did_what,
    an_access_report_by_cpr_lists_every_organisation,
    an_edited_trail_is_detected,
    an_answered_read_keeps_its_record_through_a_crash,
);

/// The whole trail of a case, as the case's jobcenter reads it (page by page).
pub async fn trail(daemon: &Daemon, case_id: &str) -> Vec<pb::AuditEvent> {
    let mut audit = daemon.audit(Caller::VEJLE);
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = audit
            .list_audit_events(pb::ListAuditEventsRequest {
                case_id: case_id.into(),
                page_size: 100,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return events;
        }
        page_token = page.next_page_token;
    }
}

/// The chain check, as operations runs it.
async fn verify_chain(daemon: &Daemon) -> pb::VerifyAuditChainResponse {
    daemon
        .audit(Caller::OPERATIONS)
        .verify_audit_chain(pb::VerifyAuditChainRequest {})
        .await
        .unwrap()
        .into_inner()
}

async fn open_case(daemon: &Daemon, cpr: &str) -> String {
    daemon
        .cases(Caller::VEJLE)
        .create_case(pb::CreateCaseRequest {
            r#case: Some(pb::Case {
                municipality_code: "630".into(),
                first_sick_day: "2026-10-05".into(),
                employment_status: pb::EmploymentStatus::Employed as i32,
                employer_reference: Caller::EMPLOYER.organization.into(),
                citizen_reference: "vejle-0042".into(),
                citizen_cpr: cpr.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap()
        .case_id
}

async fn the_trail_of_a_case_names_who_did_what(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let case_id = open_case(&daemon, "").await;
    let mut cases = daemon.cases(Caller::VEJLE);
    cases
        .get_case(pb::GetCaseRequest {
            case_id: case_id.clone(),
        })
        .await
        .unwrap();
    cases
        .get_timeline(pb::GetTimelineRequest {
            case_id: case_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let denied = daemon
        .cases(Caller::AABENRAA)
        .get_case(pb::GetCaseRequest {
            case_id: case_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // A caller's own request id is kept.
    let token = Caller::VEJLE.token().unwrap();
    let mut named = CaseServiceClient::with_interceptor(
        daemon.channel.clone(),
        move |mut request: tonic::Request<()>| {
            let md = request.metadata_mut();
            md.insert("authorization", format!("Bearer {token}").parse().unwrap());
            md.insert("x-request-id", "req-4711".parse().unwrap());
            Ok(request)
        },
    );
    named
        .get_case(pb::GetCaseRequest {
            case_id: case_id.clone(),
        })
        .await
        .unwrap();

    let events = trail(&daemon, &case_id).await;
    assert!(
        events
            .iter()
            .any(|e| e.request_id == "req-4711" && e.rpc == "kia.v1.CaseService/GetCase")
    );
    let summary: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.rpc.trim_start_matches("kia.v1.").to_owned(),
                e.organization.clone(),
                e.category.clone(),
                e.action.clone(),
                e.outcome.clone(),
            )
        })
        .collect();
    let row = |rpc: &str, org: &str, category: &str, action: &str, outcome: &str| {
        (
            rpc.to_owned(),
            org.to_owned(),
            category.to_owned(),
            action.to_owned(),
            outcome.to_owned(),
        )
    };
    assert_eq!(
        summary[..4],
        [
            row(
                "CaseService/CreateCase",
                "jc-630",
                "case",
                "create",
                "success"
            ),
            row("CaseService/GetCase", "jc-630", "case", "read", "success"),
            row(
                "CaseService/GetTimeline",
                "jc-630",
                "case",
                "read",
                "success"
            ),
            row("CaseService/GetCase", "jc-580", "case", "read", "denied"),
        ]
    );
    let first = &events[0];
    assert_eq!(first.organization_kind, "jobcenter");
    assert_eq!(first.role, "caseworker");
    assert_eq!(first.purpose, "case_management");
    assert_eq!(first.case_id, case_id);
    assert!(!first.request_id.is_empty());
    assert!(first.recorded_time.is_some());
    // The chain: each record names the hash of the one before it.
    for pair in events.windows(2) {
        if pair[1].sequence == pair[0].sequence + 1 {
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
    }
    // Reading the trail is itself recorded.
    let again = trail(&daemon, &case_id).await;
    assert!(
        again
            .iter()
            .any(|e| e.rpc.ends_with("ListAuditEvents") && e.category == "audit")
    );
}

async fn an_access_report_by_cpr_lists_every_organisation(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let cpr = "070761-4285";
    let first = open_case(&daemon, cpr).await;
    let second = open_case(&daemon, "0707614285").await;
    let mut plans = daemon.plans(Caller::VEJLE);
    plans
        .create_plan(pb::CreatePlanRequest {
            case_id: second.clone(),
            kind: pb::PlanKind::FollowUpPlan as i32,
            stage: pb::PlanStage::Preliminary as i32,
            author: Some(pb::Party {
                person: "cw-1".into(),
                organisation: String::new(),
                capacity: pb::Capacity::Caseworker as i32,
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let expires = chrono::Utc::now() + chrono::Duration::days(7);
    plans
        .grant_plan_access(pb::GrantPlanAccessRequest {
            case_id: second.clone(),
            organisation: Caller::REHABILITATION_CENTRE.organization.into(),
            access: pb::PlanAccess::Read as i32,
            purpose: "rehabilitation under health act §140".into(),
            expire_time: Some(prost_types::Timestamp {
                seconds: expires.timestamp(),
                nanos: 0,
            }),
        })
        .await
        .unwrap();
    daemon
        .plans(Caller::REHABILITATION_CENTRE)
        .get_plan(pb::GetPlanRequest {
            case_id: second.clone(),
            as_of: String::new(),
        })
        .await
        .unwrap();
    daemon
        .plans(Caller::EMPLOYER)
        .get_employer_view(pb::GetEmployerViewRequest {
            case_id: second.clone(),
        })
        .await
        .unwrap();

    let report = daemon
        .audit(Caller::VEJLE)
        .get_access_report(pb::GetAccessReportRequest {
            citizen: Some(pb::get_access_report_request::Citizen::CitizenCpr(
                cpr.into(),
            )),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.case_ids, [first, second]);
    let orgs: Vec<_> = report
        .organizations
        .iter()
        .map(|o| {
            (
                o.organization.as_str(),
                o.organization_kind.as_str(),
                o.categories.join(","),
            )
        })
        .collect();
    assert_eq!(
        orgs,
        [
            (
                "jc-630",
                "jobcenter",
                "case,citizen_identity,plan".to_owned()
            ),
            ("rc-vejle", "rehabilitation_centre", "plan".to_owned()),
            ("CVR-29189587", "employer", "employer_view".to_owned()),
        ]
    );
    assert!(report.events.iter().all(|e| e.outcome == "success"));

    // Another municipality learns nothing of the citizen.
    let foreign = daemon
        .audit(Caller::AABENRAA)
        .get_access_report(pb::GetAccessReportRequest {
            citizen: Some(pb::get_access_report_request::Citizen::CitizenCpr(
                cpr.into(),
            )),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(foreign.case_ids.is_empty() && foreign.events.is_empty());
}

async fn an_edited_trail_is_detected(backend: Backend) {
    let daemon = Daemon::start(backend.clone()).await;
    let case_id = open_case(&daemon, "").await;
    for _ in 0..3 {
        daemon
            .cases(Caller::VEJLE)
            .get_case(pb::GetCaseRequest {
                case_id: case_id.clone(),
            })
            .await
            .unwrap();
    }
    let verdict = verify_chain(&daemon).await;
    assert!(verdict.intact, "{verdict:?}");
    assert_eq!(verdict.records_checked, 4);
    assert_eq!(verdict.first_broken_sequence, 0);

    // Someone with database access hides that the case was read.
    let tamper = "UPDATE audit_events SET organization = 'jc-580' WHERE sequence = 2";
    match &backend {
        Backend::Sqlite => {
            use sqlx::Connection;
            let url = format!("sqlite://{}", daemon.dir.path().join("kia.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(tamper).execute(&mut conn).await.unwrap();
        }
        Backend::Postgres(url) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(tamper).execute(&mut conn).await.unwrap();
        }
    }
    let verdict = verify_chain(&daemon).await;
    assert!(!verdict.intact);
    assert_eq!(verdict.first_broken_sequence, 2);
    assert_eq!(verdict.records_checked, 1);
    assert!(daemon.log().contains("the audit chain is broken"));
}

/// A read is answered only after its record committed (not after the disk flushed it): a crash
/// of the process right after the answers loses none of their records, and the chain is intact.
async fn an_answered_read_keeps_its_record_through_a_crash(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let case_id = open_case(&daemon, "").await;
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let mut cases = daemon.cases(Caller::VEJLE);
        let case_id = case_id.clone();
        reads.spawn(async move { cases.get_case(pb::GetCaseRequest { case_id }).await });
    }
    let mut answered = 0;
    while let Some(read) = reads.join_next().await {
        read.unwrap().unwrap();
        answered += 1;
    }
    let daemon = daemon.kill_and_restart().await;

    let reads = trail(&daemon, &case_id)
        .await
        .into_iter()
        .filter(|e| e.rpc == "kia.v1.CaseService/GetCase" && e.outcome == "success")
        .count();
    assert_eq!(reads, answered);
    let verdict = verify_chain(&daemon).await;
    assert!(verdict.intact, "{verdict:?}");
}

/// Two replicas on one PostgreSQL database read a case at the same time: their audit records
/// form one chain (the appends are serialized), and a citizen entered on one is found on the
/// other (they share the citizen keys).
#[tokio::test]
async fn replicas_append_to_one_chain() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let a = Daemon::start(backend.clone()).await;
    let b = Daemon::start(backend).await;
    let case_id = open_case(&a, "070761-4285").await;
    let mut reads = tokio::task::JoinSet::new();
    for i in 0..20 {
        let mut cases = if i % 2 == 0 { &a } else { &b }.cases(Caller::VEJLE);
        let case_id = case_id.clone();
        reads.spawn(async move {
            cases
                .get_case(pb::GetCaseRequest { case_id })
                .await
                .map(|_| ())
        });
    }
    while let Some(read) = reads.join_next().await {
        read.unwrap().unwrap();
    }
    let verdict = verify_chain(&b).await;
    assert!(verdict.intact, "{verdict:?}");
    // The intake (case and citizen identity) and twenty reads.
    assert_eq!(verdict.records_checked, 22);
    let found = b
        .cases(Caller::VEJLE)
        .find_citizen_cases(pb::FindCitizenCasesRequest {
            citizen_cpr: "0707614285".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.case_ids, [case_id]);
}
