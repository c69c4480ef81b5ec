//! kia.v1.CaseService: intake, reading, listing, idempotency and every kind of bad input.

use std::collections::BTreeSet;

use kia_proto::v1::{self as pb, CreateCaseRequest, GetCaseRequest, ListCasesRequest};
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{Backend, Caller, Daemon, on_both_backends};

pub(crate) fn lene() -> pb::Case {
    pb::Case {
        municipality_code: "630".into(),
        first_sick_day: "2026-10-05".into(),
        employment_status: pb::EmploymentStatus::Employed as i32,
        employer_reference: "CVR-29189587".into(),
        citizen_reference: "vejle-0042".into(),
        ..Default::default()
    }
}

pub(crate) fn create(case: pb::Case, request_id: &str) -> CreateCaseRequest {
    CreateCaseRequest {
        r#case: Some(case),
        request_id: request_id.into(),
    }
}

/// The fields a status names in its google.rpc.BadRequest.
fn violated_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

on_both_backends!(
    a_created_case_can_be_read_back,
    listing_pages_through_every_case_once,
    a_retried_create_returns_the_first_case,
    bad_input_gets_invalid_argument_naming_each_field,
    unknown_and_foreign_cases,
    callers_without_identity_are_unauthenticated,
    cases_survive_a_restart,
);

async fn a_created_case_can_be_read_back(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let created = cases
        .create_case(create(lene(), ""))
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    assert!(!created.case_id.is_empty());
    assert_eq!(created.state, pb::CaseState::Open as i32);
    assert_eq!(created.first_sick_day, "2026-10-05");
    assert_eq!(created.employer_reference, "CVR-29189587");
    assert!(!created.etag.is_empty() && created.create_time.is_some());

    let got = cases
        .get_case(GetCaseRequest {
            case_id: created.case_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    assert_eq!(got, created);
}

async fn listing_pages_through_every_case_once(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let mut created = Vec::new();
    for n in 0..5 {
        let case = pb::Case {
            citizen_reference: format!("vejle-{n}"),
            ..lene()
        };
        created.push(
            cases
                .create_case(create(case, ""))
                .await
                .unwrap()
                .into_inner()
                .r#case
                .unwrap()
                .case_id,
        );
    }
    // Another municipality's case never shows up in Vejle's list.
    let aabenraa = pb::Case {
        municipality_code: "580".into(),
        ..lene()
    };
    daemon
        .cases(Caller::AABENRAA)
        .create_case(create(aabenraa, ""))
        .await
        .unwrap();

    let mut listed = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = cases
            .list_cases(ListCasesRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.cases.len() <= 2);
        listed.extend(page.cases.into_iter().map(|c| c.case_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(listed, created, "every case once, in creation order");

    let open = cases
        .list_cases(ListCasesRequest {
            state: pb::CaseState::Open as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(open.cases.len(), 5);
    let closed = cases
        .list_cases(ListCasesRequest {
            state: pb::CaseState::Closed as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(closed.cases.is_empty());

    // A token is bound to the filters it was issued for.
    let first = cases
        .list_cases(ListCasesRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    let err = cases
        .list_cases(ListCasesRequest {
            page_token: first.into_inner().next_page_token,
            state: pb::CaseState::Open as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["page_token"]);
}

async fn a_retried_create_returns_the_first_case(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let first = cases
        .create_case(create(lene(), "intake-7781"))
        .await
        .unwrap()
        .into_inner();
    let retry = cases
        .create_case(create(lene(), "intake-7781"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, retry);

    let changed = pb::Case {
        first_sick_day: "2026-10-06".into(),
        ..lene()
    };
    let err = cases
        .create_case(create(changed, "intake-7781"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["request_id"]);

    let all = cases
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.cases.len(), 1, "a retry creates nothing");
}

async fn bad_input_gets_invalid_argument_naming_each_field(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let cpr = "0101701234";
    let bad: Vec<(pb::Case, &str)> = vec![
        (
            pb::Case {
                municipality_code: "63".into(),
                ..lene()
            },
            "case.municipality_code",
        ),
        (
            pb::Case {
                first_sick_day: "05-10-2026".into(),
                ..lene()
            },
            "case.first_sick_day",
        ),
        (
            pb::Case {
                first_sick_day: "2099-01-01".into(),
                ..lene()
            },
            "case.first_sick_day",
        ),
        (
            pb::Case {
                employment_status: 0,
                ..lene()
            },
            "case.employment_status",
        ),
        (
            pb::Case {
                employment_status: 42,
                ..lene()
            },
            "case.employment_status",
        ),
        (
            pb::Case {
                employer_reference: String::new(),
                ..lene()
            },
            "case.employer_reference",
        ),
        (
            pb::Case {
                citizen_reference: String::new(),
                ..lene()
            },
            "case.citizen_reference",
        ),
        (
            pb::Case {
                citizen_reference: cpr.into(),
                ..lene()
            },
            "case.citizen_reference",
        ),
    ];
    for (case, field) in bad {
        let err = cases.create_case(create(case, "")).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}");
        assert_eq!(violated_fields(&err), [field]);
        assert!(
            !err.message().contains(cpr),
            "the status never echoes a CPR number"
        );
    }
    let err = cases
        .create_case(CreateCaseRequest::default())
        .await
        .unwrap_err();
    let fields: BTreeSet<String> = violated_fields(&err).into_iter().collect();
    assert_eq!(fields.len(), 4, "every missing field at once: {fields:?}");

    let err = cases
        .create_case(create(lene(), &"x".repeat(65)))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["request_id"]);
    let err = cases
        .get_case(GetCaseRequest {
            case_id: "not-an-id".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), violated_fields(&err)),
        (Code::InvalidArgument, vec!["case_id".to_owned()])
    );
    let err = cases
        .list_cases(ListCasesRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["page_size"]);
    let err = cases
        .list_cases(ListCasesRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["page_token"]);
    let err = cases
        .list_cases(ListCasesRequest {
            state: 9,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["state"]);

    assert!(
        cases
            .list_cases(ListCasesRequest::default())
            .await
            .unwrap()
            .into_inner()
            .cases
            .is_empty()
    );
    assert!(!daemon.log().contains(cpr), "no CPR number in the log");
}

async fn unknown_and_foreign_cases(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let unknown = "01936d8e-0000-7000-8000-000000000000";
    let err = daemon
        .cases(Caller::VEJLE)
        .get_case(GetCaseRequest {
            case_id: unknown.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let vejle_case = daemon
        .cases(Caller::VEJLE)
        .create_case(create(lene(), ""))
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    let mut aabenraa = daemon.cases(Caller::AABENRAA);
    let err = aabenraa
        .get_case(GetCaseRequest {
            case_id: vejle_case.case_id,
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "another municipality's case"
    );
    let err = aabenraa.create_case(create(lene(), "")).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "opening a case in another municipality"
    );
    let err = aabenraa
        .list_cases(ListCasesRequest {
            municipality_code: "630".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let operations = Caller {
        organization: "ops",
        kind: "operations",
        municipality: "",
        role: "sre",
    };
    let err = daemon
        .cases(operations)
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "operations sees no personal data"
    );
}

async fn callers_without_identity_are_unauthenticated(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let err = daemon
        .cases(Caller::NOBODY)
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let unknown_kind = Caller {
        kind: "hacker",
        ..Caller::VEJLE
    };
    let err = daemon
        .cases(unknown_kind)
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

async fn cases_survive_a_restart(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let created = daemon
        .cases(Caller::VEJLE)
        .create_case(create(lene(), "intake-1"))
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    let daemon = daemon.restart().await;
    let mut cases = daemon.cases(Caller::VEJLE);
    let got = cases
        .get_case(GetCaseRequest {
            case_id: created.case_id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(got.into_inner().r#case.unwrap(), created);
    // The request id is remembered across the restart too.
    let retry = cases
        .create_case(create(lene(), "intake-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry.r#case.unwrap().case_id, created.case_id);
}
