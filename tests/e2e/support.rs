//! Starting and stopping a real daemon, and clients that carry a caller identity.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use kia_proto::v1::alert_service_client::AlertServiceClient;
use kia_proto::v1::audit_service_client::AuditServiceClient;
use kia_proto::v1::case_service_client::CaseServiceClient;
use kia_proto::v1::clock_service_client::ClockServiceClient;
use kia_proto::v1::contracting_service_client::ContractingServiceClient;
use kia_proto::v1::plan_service_client::PlanServiceClient;
use kia_proto::v1::screening_service_client::ScreeningServiceClient;
use kia_runtime::auth::{
    Claims, DEFAULT_AUDIENCE, DEFAULT_ISSUER, TokenSigner, jwks_path, signing_key_path,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Runs a test on both backends: `on_both_backends!(my_test);` for `async fn my_test(Backend)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(crate::support::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(backend) = crate::support::Backend::postgres().await {
                    super::$name(backend).await
                }
            }
        }
    )*};
}
pub(crate) use on_both_backends;

/// Which database a daemon runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The embedded default: a file in the data directory.
    Sqlite,
    /// A fresh database on the test PostgreSQL server.
    Postgres(String),
}

impl Backend {
    pub async fn postgres() -> Option<Self> {
        let admin = kia_store::testing::postgres_admin_url()?;
        Some(Self::Postgres(
            kia_store::testing::fresh_postgres_database(&admin)
                .await
                .unwrap(),
        ))
    }
}

/// The signing key every test daemon trusts (and the citizen keys): created once per test run
/// by the daemon's own key code, then copied into each daemon's data directory before it
/// starts, so every daemon (and every replica on one database) accepts the tokens a [`Caller`]
/// mints and recognises the same citizen.
fn test_keys() -> &'static (tempfile::TempDir, TokenSigner) {
    static KEYS: OnceLock<(tempfile::TempDir, TokenSigner)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let signer = TokenSigner::ensure_in(dir.path()).unwrap();
        kia_runtime::citizen::CitizenKeys::ensure(&kia_runtime::citizen::keys_path(dir.path()))
            .unwrap();
        (dir, signer)
    })
}

/// Puts the test keys into a data directory, as if the daemon had created them there.
pub fn seed_keys(data_dir: &std::path::Path) {
    let template = test_keys().0.path();
    let citizen_keys = kia_runtime::citizen::keys_path(template);
    for path in [
        signing_key_path(template),
        jwks_path(template),
        citizen_keys,
    ] {
        let target = data_dir.join(path.strip_prefix(template).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&path, target).unwrap();
    }
}

/// A caller identity, sent as a bearer token signed with the daemons' data-directory key
/// (valid for an hour, issuer and audience the defaults). [`Caller::NOBODY`] sends none.
#[derive(Debug, Clone)]
pub struct Caller {
    pub organization: &'static str,
    pub kind: &'static str,
    pub municipality: &'static str,
    pub role: &'static str,
}

impl Caller {
    /// A caseworker at Vejle's jobcenter (municipality 630).
    pub const VEJLE: Caller = Caller {
        organization: "jc-630",
        kind: "jobcenter",
        municipality: "630",
        role: "caseworker",
    };
    /// A caseworker at Aabenraa's jobcenter (municipality 580).
    pub const AABENRAA: Caller = Caller {
        organization: "jc-580",
        kind: "jobcenter",
        municipality: "580",
        role: "caseworker",
    };
    /// A private provider (anden aktør).
    pub const PROVIDER: Caller = Caller {
        organization: "quick-care",
        kind: "provider",
        municipality: "",
        role: "consultant",
    };
    /// A rehabilitation centre's physiotherapist.
    pub const REHABILITATION_CENTRE: Caller = Caller {
        organization: "rc-vejle",
        kind: "rehabilitation_centre",
        municipality: "",
        role: "physiotherapist",
    };
    /// An employer (its organisation id is its CVR reference).
    pub const EMPLOYER: Caller = Caller {
        organization: "CVR-29189587",
        kind: "employer",
        municipality: "",
        role: "hr",
    };
    /// An operations team: aggregates and metrics only.
    pub const OPERATIONS: Caller = Caller {
        organization: "ops",
        kind: "operations",
        municipality: "",
        role: "sre",
    };
    /// Someone who names no identity at all.
    pub const NOBODY: Caller = Caller {
        organization: "",
        kind: "",
        municipality: "",
        role: "",
    };
}

/// Signs claims with the key every test daemon trusts.
pub fn sign(claims: &Claims) -> String {
    test_keys().1.sign(claims)
}

impl Caller {
    /// A token for this caller, valid for `ttl` (none for a caller without organisation).
    pub fn token_for(&self, ttl: Duration) -> Option<String> {
        if self.organization.is_empty() {
            return None;
        }
        let claims = Claims::new(
            DEFAULT_ISSUER,
            DEFAULT_AUDIENCE,
            self.organization,
            self.kind,
            Some(self.municipality).filter(|m| !m.is_empty()),
            self.role,
            None,
            ttl,
        );
        Some(sign(&claims))
    }

    pub fn token(&self) -> Option<String> {
        self.token_for(Duration::from_secs(3600))
    }
}

impl tonic::service::Interceptor for Caller {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = self.token() {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        Ok(request)
    }
}

/// A running `kia serve`, killed when dropped.
pub struct Daemon {
    child: Child,
    pub dir: tempfile::TempDir,
    backend: Backend,
    /// Extra `kia serve` arguments, kept for `restart`.
    args: Vec<String>,
    pub channel: Channel,
    pub metrics_addr: String,
    /// The gRPC address, `host:port`.
    pub grpc_addr: String,
}

impl Daemon {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    /// Starts a daemon with extra `kia serve` arguments, e.g. `&["--settable-clock"]`.
    pub async fn start_with(backend: Backend, args: &[&str]) -> Self {
        let args = args.iter().map(|a| (*a).to_owned()).collect();
        Self::start_in(tempfile::tempdir().unwrap(), backend, args).await
    }

    /// Starts a daemon without waiting for it to serve.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_in(tempfile::tempdir().unwrap(), backend, Vec::new()).await
    }

    /// Starts a daemon with extra environment variables (e.g. `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub async fn start_with_env(backend: Backend, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        seed_keys(dir.path());
        let daemon = Self::launch_owned(dir, backend, Vec::new(), env).await;
        daemon.wait_serving("").await;
        daemon
    }

    async fn start_in(dir: tempfile::TempDir, backend: Backend, args: Vec<String>) -> Self {
        let daemon = Self::spawn_in(dir, backend, args).await;
        daemon.wait_serving("").await;
        daemon
    }

    async fn spawn_in(dir: tempfile::TempDir, backend: Backend, args: Vec<String>) -> Self {
        seed_keys(dir.path());
        Self::launch_owned(dir, backend, args, &[]).await
    }

    /// Runs `kia serve` on a data directory as it is (no keys seeded).
    pub async fn launch(dir: tempfile::TempDir, backend: Backend, args: &[&str]) -> Self {
        let args = args.iter().map(|a| (*a).to_owned()).collect();
        Self::launch_owned(dir, backend, args, &[]).await
    }

    async fn launch_owned(
        dir: tempfile::TempDir,
        backend: Backend,
        args: Vec<String>,
        env: &[(&str, &str)],
    ) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("daemon.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kia"));
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("KIA_DATABASE_URL")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true);
        if let Backend::Postgres(url) = &backend {
            cmd.args(["--database-url", url]);
        }
        cmd.args(&args)
            .env_remove("KIA_INSECURE_DEV_IDENTITIES")
            .env_remove("KIA_JWKS")
            .envs(env.iter().copied());
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("kia printed its listen line");
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .unwrap_or_else(|| panic!("{name} in {line:?}"))
                .to_owned()
        };
        let (grpc_addr, metrics_addr) = (field("grpc="), field("metrics="));
        let channel = Channel::from_shared(format!("http://{grpc_addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        Self {
            child,
            dir,
            backend,
            args,
            channel,
            metrics_addr,
            grpc_addr,
        }
    }

    /// Waits (on the health Watch stream, no polling) until `service` reports SERVING.
    pub async fn wait_serving(&self, service: &str) {
        let mut health = HealthClient::new(self.channel.clone());
        let mut stream = health
            .watch(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        while let Some(update) = stream.message().await.unwrap() {
            if update.status == ServingStatus::Serving as i32 {
                return;
            }
        }
        panic!("health stream ended before SERVING");
    }

    /// Stops the daemon with SIGTERM (a graceful shutdown) and waits until it exited 0.
    pub async fn stop(&mut self) {
        let exit = self.terminate().await;
        assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
    }

    /// Stops the daemon with SIGTERM (a graceful shutdown) and starts it again on the same data.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        self.start_again().await
    }

    /// Starts the daemon again on the same data (after it stopped or was killed).
    pub async fn start_again(self) -> Self {
        let Daemon {
            dir, backend, args, ..
        } = self;
        Self::start_in(dir, backend, args).await
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().await.unwrap()
    }

    /// Kills the daemon with SIGKILL (no shutdown at all) and starts it again on the same data.
    pub async fn kill_and_restart(mut self) -> Self {
        self.child.kill().await.unwrap();
        self.start_again().await
    }

    /// Which database the daemon runs on.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn cases(&self, caller: Caller) -> CaseServiceClient<InterceptedService<Channel, Caller>> {
        CaseServiceClient::with_interceptor(self.channel.clone(), caller)
    }

    pub fn screening(
        &self,
        caller: Caller,
    ) -> ScreeningServiceClient<InterceptedService<Channel, Caller>> {
        ScreeningServiceClient::with_interceptor(self.channel.clone(), caller)
    }

    pub fn plans(&self, caller: Caller) -> PlanServiceClient<InterceptedService<Channel, Caller>> {
        PlanServiceClient::with_interceptor(self.channel.clone(), caller)
    }

    pub fn audit(&self, caller: Caller) -> AuditServiceClient<InterceptedService<Channel, Caller>> {
        AuditServiceClient::with_interceptor(self.channel.clone(), caller)
    }

    pub fn contracting(
        &self,
        caller: Caller,
    ) -> ContractingServiceClient<InterceptedService<Channel, Caller>> {
        ContractingServiceClient::with_interceptor(self.channel.clone(), caller)
    }

    pub fn alerts(
        &self,
        caller: Caller,
    ) -> AlertServiceClient<InterceptedService<Channel, Caller>> {
        AlertServiceClient::with_interceptor(self.channel.clone(), caller)
    }

    pub fn clock(&self, caller: Caller) -> ClockServiceClient<InterceptedService<Channel, Caller>> {
        ClockServiceClient::with_interceptor(self.channel.clone(), caller)
    }

    /// Everything the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("daemon.log")
    }

    /// The Prometheus text exposition.
    pub async fn scrape(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(&self.metrics_addr)
            .await
            .unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: kia\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut body = String::new();
        stream.read_to_string(&mut body).await.unwrap();
        assert!(body.starts_with("HTTP/1.1 200"), "{body}");
        body
    }
}

/// A CreateCase request of an employed citizen of Vejle (630), first sick day 2026-10-05.
pub fn vejle_intake(citizen: &str, request_id: &str) -> kia_proto::v1::CreateCaseRequest {
    use kia_proto::v1 as pb;
    pb::CreateCaseRequest {
        r#case: Some(pb::Case {
            municipality_code: "630".into(),
            first_sick_day: "2026-10-05".into(),
            employment_status: pb::EmploymentStatus::Employed as i32,
            employer_reference: "CVR-29189587".into(),
            citizen_reference: citizen.into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}
