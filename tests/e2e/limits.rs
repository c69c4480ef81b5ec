//! Limits of `kia serve`: calls beyond the in-flight cap are shed with RESOURCE_EXHAUSTED while
//! the daemon keeps serving (and health checks still answer); an oversized request is refused,
//! and so is an oversized response; a call past the request timeout is answered DEADLINE_EXCEEDED and leaves nothing behind.
//!
//! A call is held in flight deterministically by holding the database's write lock from the
//! test: the daemon's write waits on it.

use std::time::Duration;

use kia_proto::v1 as pb;
use sqlx::Connection;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::support::{Backend, Caller, Daemon, on_both_backends};

type Cases = pb::case_service_client::CaseServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Caller>,
>;

on_both_backends!(
    a_flood_beyond_the_in_flight_limit_is_shed_and_the_daemon_keeps_serving,
    an_oversized_request_is_refused_and_the_daemon_keeps_serving,
    an_oversized_response_is_refused_and_a_smaller_page_is_answered,
    a_call_past_the_request_timeout_is_answered_and_leaves_nothing_behind,
);

/// The database's write lock, held by the test until released.
enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteLock {
    async fn take(daemon: &Daemon) -> Self {
        match daemon.backend() {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", daemon.dir.path().join("kia.db").display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Self::Sqlite(conn)
            }
            Backend::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                // EXCLUSIVE lets reads through and makes every insert into cases wait.
                sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
                sqlx::query("LOCK TABLE cases IN EXCLUSIVE MODE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Self::Postgres(conn)
            }
        }
    }

    async fn release(self) {
        match self {
            Self::Sqlite(mut c) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
            }
            Self::Postgres(mut c) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
            }
        }
    }
}

/// A create without a request id: on SQLite its insert is the transaction's first statement, so
/// it waits for the test's write lock (a read before it would make SQLite answer busy at once).
fn intake(citizen: &str) -> pb::CreateCaseRequest {
    crate::support::vejle_intake(citizen, "")
}

/// The `ErrorInfo` reason of a kia error (in kia's error domain).
fn reason(status: &tonic::Status) -> String {
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.domain, "kia.dk");
    info.reason
}

fn list() -> pb::ListCasesRequest {
    pb::ListCasesRequest {
        page_size: 10,
        ..Default::default()
    }
}

async fn a_flood_beyond_the_in_flight_limit_is_shed_and_the_daemon_keeps_serving(backend: Backend) {
    let daemon = Daemon::start_with(backend, &["--max-in-flight", "1"]).await;
    let lock = WriteLock::take(&daemon).await;

    // One write waits on the lock and holds the only slot (retried while a probe has it).
    let mut writer = daemon.cases(Caller::VEJLE);
    let held = tokio::spawn(async move {
        loop {
            match writer.create_case(intake("vejle-held")).await {
                Err(s) if s.code() == Code::ResourceExhausted => continue,
                other => return other,
            }
        }
    });
    let mut cases = daemon.cases(Caller::VEJLE);
    let shed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match cases.list_cases(list()).await {
                Err(s) if s.code() == Code::ResourceExhausted => return s,
                Ok(_) => continue,
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
    })
    .await
    .expect("a call beyond the limit is shed");
    assert!(shed.message().contains("limit"), "{shed:?}");
    assert_eq!(reason(&shed), "RESOURCE_EXHAUSTED");

    // A flood while the slot is held: every call is shed at once, none waits, none fails
    // otherwise; the health service still answers SERVING.
    let flood: Vec<_> = (0..50)
        .map(|_| {
            let mut c = daemon.cases(Caller::VEJLE);
            tokio::spawn(async move { c.list_cases(list()).await })
        })
        .collect();
    for call in flood {
        let status = call.await.unwrap().unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    }
    let health = HealthClient::new(daemon.channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        health.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // The held call completes once the lock goes; then the daemon serves as before.
    lock.release().await;
    let created = held.await.unwrap().unwrap().into_inner().r#case.unwrap();
    let listed = cases.list_cases(list()).await.unwrap().into_inner();
    assert_eq!(
        listed
            .cases
            .iter()
            .map(|c| c.case_id.as_str())
            .collect::<Vec<_>>(),
        [created.case_id.as_str()]
    );
}

async fn an_oversized_request_is_refused_and_the_daemon_keeps_serving(backend: Backend) {
    let daemon = Daemon::start_with(backend, &["--max-message-bytes", "2048"]).await;
    let mut cases = daemon.cases(Caller::VEJLE);

    let oversized = cases
        .create_case(intake(&"x".repeat(4096)))
        .await
        .unwrap_err();
    assert_eq!(oversized.code(), Code::ResourceExhausted, "{oversized:?}");
    assert!(oversized.message().contains("2048 bytes"), "{oversized:?}");
    assert_eq!(reason(&oversized), "RESOURCE_EXHAUSTED");

    // Only the case within the limit exists.
    creates_the_only_case(&mut cases, "vejle-0042").await;
}

async fn an_oversized_response_is_refused_and_a_smaller_page_is_answered(backend: Backend) {
    use prost::Message as _;
    let daemon = Daemon::start_with(backend, &["--max-response-bytes", "2048"]).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    for n in 0..20 {
        cases
            .create_case(intake(&format!("vejle-{n:04}")))
            .await
            .unwrap();
    }

    let page = |page_size| pb::ListCasesRequest {
        page_size,
        ..Default::default()
    };
    let refused = cases.list_cases(page(20)).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("2048 bytes"), "{refused:?}");
    assert_eq!(reason(&refused), "RESOURCE_EXHAUSTED");

    // A page of one fits, and twenty of them would not: the limit, not the call, refused.
    let one = cases.list_cases(page(1)).await.unwrap().into_inner();
    assert_eq!(one.cases.len(), 1);
    assert!(one.encoded_len() < 2048 && 20 * one.cases[0].encoded_len() > 2048);
    // The connection still serves.
    let listed = cases.list_cases(page(4)).await.unwrap().into_inner();
    assert_eq!(listed.cases.len(), 4);
}

/// Creates a case and checks it is the only one there.
async fn creates_the_only_case(cases: &mut Cases, citizen: &str) {
    let case = cases
        .create_case(intake(citizen))
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    let listed = cases.list_cases(list()).await.unwrap().into_inner();
    let ids: Vec<_> = listed.cases.iter().map(|c| c.case_id.as_str()).collect();
    assert_eq!(ids, [case.case_id.as_str()]);
}

async fn a_call_past_the_request_timeout_is_answered_and_leaves_nothing_behind(backend: Backend) {
    let daemon = Daemon::start_with(backend, &["--request-timeout", "1"]).await;
    let lock = WriteLock::take(&daemon).await;
    let mut cases = daemon.cases(Caller::VEJLE);

    let late = cases.create_case(intake("vejle-late")).await.unwrap_err();
    assert_eq!(late.code(), Code::DeadlineExceeded, "{late:?}");
    assert_eq!(reason(&late), "DEADLINE_EXCEEDED");

    lock.release().await;
    // The abandoned write was rolled back; the same intake sent again creates the case once.
    let listed = cases.list_cases(list()).await.unwrap().into_inner();
    assert!(listed.cases.is_empty(), "{listed:?}");
    creates_the_only_case(&mut cases, "vejle-late").await;
}
