//! Authentication: signed bearer tokens, the data directory's key and `kia token issue`, a
//! configured JWKS, and the explicit, loud development mode.

use std::time::Duration;

use kia_proto::v1::ListCasesRequest;
use kia_proto::v1::case_service_client::CaseServiceClient;
use kia_runtime::auth::{Claims, DEFAULT_AUDIENCE, DEFAULT_ISSUER, TokenSigner, jwks_path};
use tonic::Code;

use crate::support::{self, Backend, Caller, Daemon, on_both_backends};

on_both_backends!(bad_tokens_are_unauthenticated);

/// Request metadata as (key, value) pairs.
type Metadata = Vec<(&'static str, String)>;

/// A client that sends exactly the given metadata.
fn raw_client(
    daemon: &Daemon,
    metadata: Metadata,
) -> CaseServiceClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        impl tonic::service::Interceptor,
    >,
> {
    CaseServiceClient::with_interceptor(
        daemon.channel.clone(),
        move |mut request: tonic::Request<()>| {
            for (key, value) in &metadata {
                request.metadata_mut().insert(*key, value.parse().unwrap());
            }
            Ok(request)
        },
    )
}

fn bearer(token: String) -> Metadata {
    vec![("authorization", format!("Bearer {token}"))]
}

fn vejle_claims() -> Claims {
    Claims::new(
        DEFAULT_ISSUER,
        DEFAULT_AUDIENCE,
        "jc-630",
        "jobcenter",
        Some("630"),
        "caseworker",
        Some("cw-17"),
        Duration::from_secs(600),
    )
}

/// The status of ListCases for a caller sending `metadata`.
async fn list_status(daemon: &Daemon, metadata: Metadata) -> tonic::Status {
    match raw_client(daemon, metadata)
        .list_cases(ListCasesRequest::default())
        .await
    {
        Ok(_) => tonic::Status::ok(""),
        Err(status) => status,
    }
}

fn dev_metadata() -> Metadata {
    vec![
        ("x-kia-organization", "jc-630".into()),
        ("x-kia-organization-kind", "jobcenter".into()),
        ("x-kia-municipality", "630".into()),
        ("x-kia-role", "caseworker".into()),
    ]
}

async fn bad_tokens_are_unauthenticated(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    assert_eq!(
        list_status(&daemon, bearer(support::sign(&vejle_claims())))
            .await
            .code(),
        Code::Ok,
        "a well-signed token passes"
    );

    let mut expired = vejle_claims();
    (expired.iat, expired.exp) = (expired.iat - 7200, expired.iat - 3600);
    let mut wrong_audience = vejle_claims();
    wrong_audience.aud = "another-service".into();
    let mut wrong_issuer = vejle_claims();
    wrong_issuer.iss = "someone-else".into();
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = TokenSigner::ensure_in(stranger_dir.path()).unwrap();
    // The stranger's signature under the trusted key's header: a forgery.
    let good = support::sign(&vejle_claims());
    let forged_sig = stranger.sign(&vejle_claims());
    let forged = format!(
        "{}.{}",
        good.rsplit_once('.').unwrap().0,
        forged_sig.rsplit_once('.').unwrap().1
    );
    let cases: Vec<(&str, Metadata, &str)> = vec![
        ("no token", vec![], "no bearer token"),
        ("expired", bearer(support::sign(&expired)), "expired"),
        (
            "wrong audience",
            bearer(support::sign(&wrong_audience)),
            "another audience",
        ),
        (
            "wrong issuer",
            bearer(support::sign(&wrong_issuer)),
            "another issuer",
        ),
        ("bad signature", bearer(forged), "signature does not verify"),
        (
            "an unknown key",
            bearer(stranger.sign(&vejle_claims())),
            "unknown key",
        ),
        ("not a JWT", bearer("not-a-token".into()), "well-formed"),
        (
            "a token without the Bearer scheme",
            vec![("authorization", support::sign(&vejle_claims()))],
            "not a Bearer token",
        ),
        (
            "unsigned metadata without --insecure-dev-identities",
            dev_metadata(),
            "no bearer token",
        ),
    ];
    for (what, metadata, reason) in cases {
        let status = list_status(&daemon, metadata).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{what}");
        assert!(
            status.message().contains(reason),
            "{what}: {:?}",
            status.message()
        );
        assert!(
            !status.message().contains("cw-17") && !status.message().contains("jc-630"),
            "{what}: the reason names nobody: {:?}",
            status.message()
        );
    }
    assert!(!daemon.log().contains("INSECURE"), "no dev-mode warning");
}

#[tokio::test]
async fn development_identities_need_the_flag_and_are_loud() {
    let daemon = Daemon::start_with(Backend::Sqlite, &["--insecure-dev-identities"]).await;
    assert_eq!(list_status(&daemon, dev_metadata()).await.code(), Code::Ok);
    // Tokens still work, and bad ones are still refused.
    assert_eq!(
        daemon
            .cases(Caller::VEJLE)
            .list_cases(ListCasesRequest::default())
            .await
            .map(|_| ())
            .map_err(|s| s.code()),
        Ok(())
    );
    let mut expired = vejle_claims();
    (expired.iat, expired.exp) = (expired.iat - 7200, expired.iat - 3600);
    assert_eq!(
        list_status(&daemon, bearer(support::sign(&expired)))
            .await
            .code(),
        Code::Unauthenticated
    );
    let log = daemon.log();
    assert!(log.contains("INSECURE development identities"), "{log}");
    assert!(
        log.contains("insecure-dev"),
        "startup log names the mode: {log}"
    );
}

#[tokio::test]
async fn a_fresh_daemon_makes_its_key_and_token_issue_signs_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let daemon = Daemon::launch(dir, Backend::Sqlite, &[]).await;
    daemon.wait_serving("").await;
    assert!(jwks_path(&path).exists(), "the daemon wrote its JWKS");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kia"))
        .args(["token", "issue", "--data-dir"])
        .arg(&path)
        .args([
            "--organization",
            "jc-630",
            "--kind",
            "jobcenter",
            "--municipality",
            "630",
            "--role",
            "caseworker",
            "--person",
            "cw-17",
            "--ttl",
            "8h",
        ])
        .env_remove("KIA_DATA_DIR")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert_eq!(
        list_status(&daemon, bearer(token)).await.code(),
        Code::Ok,
        "the issued token is accepted"
    );
    // The test callers' key is not this daemon's key.
    let status = daemon
        .cases(Caller::VEJLE)
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_kia"))
        .args(["token", "issue", "--data-dir"])
        .arg(&path)
        .args(["--organization", "jc-630", "--kind", "jobcenter"])
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "a jobcenter token names its municipality"
    );
}

#[tokio::test]
async fn a_configured_jwks_is_trusted_instead_of_the_data_directory_key() {
    let keys = tempfile::tempdir().unwrap();
    support::seed_keys(keys.path());
    let jwks = jwks_path(keys.path());
    let daemon = Daemon::launch(
        tempfile::tempdir().unwrap(),
        Backend::Sqlite,
        &[
            "--jwks",
            jwks.to_str().unwrap(),
            "--token-audience",
            "kia-test",
        ],
    )
    .await;
    daemon.wait_serving("").await;
    let mut claims = vejle_claims();
    claims.aud = "kia-test".into();
    assert_eq!(
        list_status(&daemon, bearer(support::sign(&claims)))
            .await
            .code(),
        Code::Ok
    );
    assert_eq!(
        list_status(&daemon, bearer(support::sign(&vejle_claims())))
            .await
            .code(),
        Code::Unauthenticated,
        "the default audience is not this daemon's"
    );
}
