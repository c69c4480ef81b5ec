//! The citizen's CPR number at intake: a second case of the same citizen is recognised, only
//! the case's jobcenter reads the number back, and the number is nowhere in clear text: not in
//! the log, the database or an error message.

use kia_proto::v1 as pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{Backend, Caller, Daemon, on_both_backends};

on_both_backends!(
    a_second_case_of_a_known_citizen_is_recognised,
    a_cpr_number_is_never_in_clear_text,
);

/// Lene's CPR number as a caseworker types it, and as digits only.
const CPR: &str = "070761-4285";
const DIGITS: &str = "0707614285";

fn intake(municipality: &str, cpr: &str) -> pb::CreateCaseRequest {
    pb::CreateCaseRequest {
        r#case: Some(pb::Case {
            municipality_code: municipality.into(),
            first_sick_day: "2026-10-05".into(),
            employment_status: pb::EmploymentStatus::Employed as i32,
            employer_reference: "CVR-29189587".into(),
            citizen_reference: "lene".into(),
            citizen_cpr: cpr.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

async fn a_second_case_of_a_known_citizen_is_recognised(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let first = cases
        .create_case(intake("630", CPR))
        .await
        .unwrap()
        .into_inner();
    assert!(first.citizen_known_cases.is_empty(), "a new citizen");
    let first_id = first.r#case.unwrap().case_id;
    let second = cases
        .create_case(intake("630", DIGITS))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        second.citizen_known_cases,
        std::slice::from_ref(&first_id),
        "the same number written without the dash is the same citizen"
    );
    let second_id = second.r#case.unwrap().case_id;
    let other = cases
        .create_case(intake("630", "010203-1234"))
        .await
        .unwrap()
        .into_inner();
    assert!(other.citizen_known_cases.is_empty(), "another citizen");

    let found = cases
        .find_citizen_cases(pb::FindCitizenCasesRequest {
            citizen_cpr: DIGITS.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.case_ids, [first_id.clone(), second_id]);

    // Aabenraa's own intake of the same citizen sees none of Vejle's cases.
    let aabenraa = daemon
        .cases(Caller::AABENRAA)
        .create_case(intake("580", CPR))
        .await
        .unwrap()
        .into_inner();
    assert!(aabenraa.citizen_known_cases.is_empty());

    let revealed = cases
        .reveal_citizen_cpr(pb::RevealCitizenCprRequest {
            case_id: first_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revealed.citizen_cpr, CPR);
    for caller in [Caller::AABENRAA, Caller::EMPLOYER, Caller::OPERATIONS] {
        let err = daemon
            .cases(caller)
            .reveal_citizen_cpr(pb::RevealCitizenCprRequest {
                case_id: first_id.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    // The reveal is in the case's trail.
    let trail = crate::audit::trail(&daemon, &first_id).await;
    assert!(trail.iter().any(|e| e.rpc.ends_with("RevealCitizenCpr")
        && e.category == "citizen_identity"
        && e.outcome == "success"));
}

async fn a_cpr_number_is_never_in_clear_text(backend: Backend) {
    let daemon = Daemon::start(backend.clone()).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let case_id = cases
        .create_case(intake("630", CPR))
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap()
        .case_id;
    cases
        .get_case(pb::GetCaseRequest {
            case_id: case_id.clone(),
        })
        .await
        .unwrap();

    // A malformed number is refused naming the field, never the number.
    for bad in ["070761-428", "0707614285x", "3207614285", "07076142851"] {
        let err = cases.create_case(intake("630", bad)).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let fields: Vec<_> = err
            .get_details_bad_request()
            .unwrap()
            .field_violations
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].0, "case.citizen_cpr");
        let text = format!("{} {:?} {:?}", err.message(), fields, err.details());
        assert!(
            !text.contains(&bad[..6]),
            "the error echoes the number: {text}"
        );
    }

    let log = daemon.log();
    for needle in [CPR, DIGITS] {
        assert!(!log.contains(needle), "the log holds the CPR number");
    }
    let dump = match &backend {
        Backend::Sqlite => {
            // Every byte of the database, its write-ahead log included.
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(daemon.dir.path()).unwrap() {
                let path = entry.unwrap().path();
                if path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("kia.db")
                {
                    bytes.extend(std::fs::read(path).unwrap());
                }
            }
            assert!(bytes.len() > 4096, "the database was read");
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Backend::Postgres(url) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let mut dump = String::new();
            for table in ["cases", "events", "audit_events", "idempotency_keys"] {
                let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT t::text FROM {table} t"
                )))
                .fetch_all(&mut conn)
                .await
                .unwrap();
                dump.push_str(&rows.join("\n"));
            }
            assert!(dump.contains(&case_id), "the rows were read");
            dump
        }
    };
    for needle in [CPR, DIGITS] {
        assert!(
            !dump.contains(needle),
            "the database holds the CPR number in clear text"
        );
    }
}
