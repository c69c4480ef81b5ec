//! Several `kia serve` processes on one PostgreSQL database.

use kia_proto::v1::{self as pb, CreateCaseRequest, GetCaseRequest};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::{Backend, Caller, Daemon};

fn case() -> pb::Case {
    pb::Case {
        municipality_code: "630".into(),
        first_sick_day: "2026-10-05".into(),
        employment_status: pb::EmploymentStatus::Other as i32,
        citizen_reference: "vejle-9".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn two_replicas_see_each_others_writes_and_events() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let a = Daemon::start(backend.clone()).await;
    let b = Daemon::start(backend).await;

    let mut watch_b = b
        .cases(Caller::VEJLE)
        .watch_case_events(pb::WatchCaseEventsRequest { after_position: 0 })
        .await
        .unwrap()
        .into_inner();
    let created = a
        .cases(Caller::VEJLE)
        .create_case(CreateCaseRequest {
            r#case: Some(case()),
            request_id: "r-1".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    let through_b = b
        .cases(Caller::VEJLE)
        .get_case(GetCaseRequest {
            case_id: created.case_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    assert_eq!(through_b, created);
    // A retry through the other replica is the same request.
    let retried = b
        .cases(Caller::VEJLE)
        .create_case(CreateCaseRequest {
            r#case: Some(case()),
            request_id: "r-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.r#case.unwrap().case_id, created.case_id);

    let event = watch_b.message().await.unwrap().unwrap().event.unwrap();
    assert_eq!(
        (event.event_type.as_str(), event.case_id.as_str()),
        ("case.opened", created.case_id.as_str())
    );
}

#[tokio::test]
async fn a_replica_is_not_serving_until_its_database_answers() {
    let Some(admin) = kia_store::testing::postgres_admin_url() else {
        return;
    };
    let name = format!("kia_late_{}", std::process::id());
    let (base, _) = admin.rsplit_once('/').unwrap();
    let daemon = Daemon::spawn(Backend::Postgres(format!("{base}/{name}"))).await;

    let mut health = HealthClient::new(daemon.channel.clone());
    let status = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status, ServingStatus::NotServing as i32);
    let err = daemon
        .cases(Caller::VEJLE)
        .get_case(GetCaseRequest {
            case_id: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);

    // The database appears: the daemon migrates and serves without a restart.
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    daemon.wait_serving("kia.v1.CaseService").await;
}
