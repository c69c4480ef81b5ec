//! Mutual TLS on the gRPC listener: with `--tls-cert`, `--tls-key` and `--tls-client-ca` only a
//! client with a certificate from that CA gets through; the bearer token is still required.
//! Certificates are made for the test with the `openssl` command line.

use std::path::Path;
use std::process::Stdio;

use kia_proto::v1::ListCasesRequest;
use kia_proto::v1::case_service_client::CaseServiceClient;
use tokio::io::{AsyncBufReadExt, BufReader};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::{Caller, seed_keys};

fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl command line");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A CA, a server certificate for localhost / 127.0.0.1 and a client certificate, all P-256.
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=kia test CA",
    ]);
    openssl(dir, &ca);
    for (name, usage, san) in [
        (
            "server",
            "serverAuth",
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        ),
        ("client", "clientAuth", ""),
    ] {
        let ext = format!(
            "{san}basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage={usage}\n"
        );
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        let (key, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        let mut req = vec!["req"];
        req.extend(ec);
        req.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=localhost"]);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
}

async fn channel(
    grpc: &str,
    tls: Option<ClientTlsConfig>,
) -> Result<Channel, tonic::transport::Error> {
    match tls {
        None => {
            Channel::from_shared(format!("http://{grpc}"))
                .unwrap()
                .connect()
                .await
        }
        Some(tls) => {
            Channel::from_shared(format!("https://{grpc}"))
                .unwrap()
                .tls_config(tls)?
                .connect()
                .await
        }
    }
}

#[tokio::test]
async fn only_clients_with_a_certificate_from_the_ca_get_through() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    seed_keys(dir.path());
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kia"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .arg("--tls-cert")
        .arg(dir.path().join("server.pem"))
        .arg("--tls-key")
        .arg(dir.path().join("server.key"))
        .arg("--tls-client-ca")
        .arg(dir.path().join("ca.pem"))
        .env_remove("KIA_DATABASE_URL")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next_line()
        .await
        .unwrap()
        .unwrap();
    let grpc = line.strip_prefix("kia listening grpc=").unwrap().to_owned();
    let trusted = || {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read("ca.pem")))
            .domain_name("localhost")
    };

    let mutual = channel(
        &grpc,
        Some(trusted().identity(Identity::from_pem(read("client.pem"), read("client.key")))),
    )
    .await
    .unwrap();
    let mut health = HealthClient::new(mutual.clone());
    let mut updates = health
        .watch(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    while let Some(update) = updates.message().await.unwrap() {
        if update.status == ServingStatus::Serving as i32 {
            break;
        }
    }
    CaseServiceClient::with_interceptor(mutual.clone(), Caller::VEJLE)
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap();
    let status = CaseServiceClient::with_interceptor(mutual, Caller::NOBODY)
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        tonic::Code::Unauthenticated,
        "TLS does not replace the token"
    );

    // Without a client certificate, or without TLS, no call gets through.
    for tls in [Some(trusted()), None] {
        let refused = match channel(&grpc, tls).await {
            Err(_) => true,
            Ok(channel) => CaseServiceClient::with_interceptor(channel, Caller::VEJLE)
                .list_cases(ListCasesRequest::default())
                .await
                .is_err(),
        };
        assert!(refused);
    }
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap();
    assert!(log.contains("mtls"), "{log}");
}
