//! The standard gRPC surface of every kia process: health, reflection (v1 and v1alpha), and
//! the Prometheus endpoint.

use kia_proto::v1::{self as pb, CreateCaseRequest};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::{Backend, Caller, Daemon, on_both_backends};

on_both_backends!(
    health_reports_serving_for_the_process_and_the_case_service,
    metrics_show_rpcs_and_open_cases
);

async fn health_reports_serving_for_the_process_and_the_case_service(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut health = HealthClient::new(daemon.channel.clone());
    for service in ["", "kia.v1.CaseService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    let err = health
        .check(HealthCheckRequest {
            service: "kia.v1.Nothing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}

async fn metrics_show_rpcs_and_open_cases(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let case = pb::Case {
        municipality_code: "630".into(),
        first_sick_day: "2026-10-05".into(),
        employment_status: pb::EmploymentStatus::UnemployedInsured as i32,
        citizen_reference: "vejle-7".into(),
        ..Default::default()
    };
    daemon
        .cases(Caller::VEJLE)
        .create_case(CreateCaseRequest {
            r#case: Some(case),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let text = daemon.scrape().await;
    let rpc_line = text
        .lines()
        .find(|l| {
            l.starts_with("rpc_server_call_duration_seconds_count") && l.contains("CreateCase")
        })
        .unwrap_or_else(|| panic!("no CreateCase duration in\n{text}"));
    assert!(
        rpc_line.contains("rpc_grpc_status_code=\"OK\""),
        "{rpc_line}"
    );
    assert!(rpc_line.ends_with(" 1"), "{rpc_line}");
    let open = text
        .lines()
        .find(|l| l.starts_with("kia_cases_open") && l.contains("municipality=\"630\""))
        .unwrap_or_else(|| panic!("no open-cases gauge in\n{text}"));
    assert!(open.ends_with(" 1"), "{open}");
}

/// Reflection answers over v1 and v1alpha (grpcurl and Python's grpcio-reflection use v1alpha).
#[tokio::test]
async fn reflection_lists_the_case_service_and_its_methods() {
    let daemon = Daemon::start(Backend::Sqlite).await;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient as V1;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest as V1Req;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse as V1Res;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as V1Alpha;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaReq;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as AlphaRes;

    // v1alpha: list services.
    let mut alpha = V1Alpha::new(daemon.channel.clone());
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaReq::ListServices(String::new())),
    };
    let mut stream = alpha
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(AlphaRes::ListServicesResponse(list)) =
        stream.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"kia.v1.CaseService".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );

    // v1: the file that defines the service, with its three methods.
    let mut v1 = V1::new(daemon.channel.clone());
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(V1Req::FileContainingSymbol("kia.v1.CaseService".into())),
    };
    let mut stream = v1
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(V1Res::FileDescriptorResponse(files)) =
        stream.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected file descriptors")
    };
    use prost::Message;
    let service = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap())
        .flat_map(|f| f.service)
        .find(|s| s.name() == "CaseService")
        .expect("CaseService descriptor");
    let methods: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
    for method in [
        "CreateCase",
        "GetCase",
        "ListCases",
        "GetTimeline",
        "WatchCaseEvents",
    ] {
        assert!(methods.contains(&method), "{method} in {methods:?}");
    }
}
