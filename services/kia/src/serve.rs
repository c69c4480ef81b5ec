//! `kia serve`: assembles the hosted services on one listener.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use kia_runtime::auth::{TokenSigner, Verifier};
use kia_runtime::citizen::CitizenKeys;
use kia_runtime::identity::AuthMode;
use kia_runtime::limits::Limits;
use kia_runtime::server::{self, Gate, ServeOptions};
use kia_runtime::telemetry::{LogFormat, Telemetry};
use kia_runtime::{Clock, Context};
use kia_store::StoreOptions;

/// A kia service that `--services` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceName {
    /// Every service.
    All,
    /// kia.v1.CaseService.
    Cases,
    /// kia.v1.ScreeningService.
    Screening,
    /// kia.v1.PlanService.
    Plans,
    /// kia.v1.ContractingService.
    Contracting,
    /// kia.v1.AuditService.
    Audit,
    /// kia.v1.AlertService and the alert engine.
    Alerts,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address for gRPC. Port 0 picks a free port (printed at start).
    #[arg(long, env = "KIA_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,

    /// Directory for the embedded database and keys.
    #[arg(long, env = "KIA_DATA_DIR", default_value = "./kia-data")]
    data_dir: PathBuf,

    /// Database: `sqlite://PATH` or `postgres://USER@HOST/DB`.
    /// Default: the SQLite file kia.db in the data directory.
    #[arg(long, env = "KIA_DATABASE_URL")]
    database_url: Option<String>,

    /// Services to host, comma-separated.
    #[arg(
        long,
        env = "KIA_SERVICES",
        value_enum,
        value_delimiter = ',',
        default_value = "all"
    )]
    services: Vec<ServiceName>,

    /// Log line format (logs go to stderr).
    #[arg(long, env = "KIA_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,

    /// Address for the Prometheus text endpoint (GET /metrics). Off when not given.
    #[arg(long, env = "KIA_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,

    /// Largest number of database connections of this process.
    #[arg(long, env = "KIA_DB_MAX_CONNECTIONS", default_value_t = 8)]
    db_max_connections: u32,

    /// Seconds a call waits for a free database connection.
    #[arg(long, env = "KIA_DB_ACQUIRE_TIMEOUT", default_value_t = 5)]
    db_acquire_timeout: u64,

    /// Seconds one database statement may run before it is cancelled.
    #[arg(long, env = "KIA_DB_STATEMENT_TIMEOUT", default_value_t = 10)]
    db_statement_timeout: u64,

    #[command(flatten)]
    auth: AuthArgs,

    /// PEM certificate (chain) for TLS on the gRPC listener; with --tls-key.
    #[arg(long, env = "KIA_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "KIA_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// PEM CA certificate(s): clients must present a certificate it signed (mutual TLS).
    #[arg(long, env = "KIA_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,

    /// Key file that hashes and seals citizens' CPR numbers (created when absent). Replicas on
    /// one database must share it. Default: keys/citizen-keys.json in the data directory.
    #[arg(long, env = "KIA_CITIZEN_KEYS")]
    citizen_keys: Option<PathBuf>,

    #[command(flatten)]
    alerts: crate::serve_alerts::AlertArgs,

    /// Largest request message in bytes; larger ones are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "KIA_MAX_MESSAGE_BYTES", default_value_t = Limits::default().max_message_bytes)]
    max_message_bytes: usize,

    /// Largest response message in bytes; a larger one is answered RESOURCE_EXHAUSTED (ask for a
    /// smaller page).
    #[arg(long, env = "KIA_MAX_RESPONSE_BYTES", default_value_t = Limits::default().max_response_bytes)]
    max_response_bytes: usize,

    /// Calls one client connection may have open at once (HTTP/2 max concurrent streams).
    #[arg(long, env = "KIA_MAX_CONCURRENT_STREAMS", default_value_t = Limits::default().max_concurrent_streams)]
    max_concurrent_streams: u32,

    /// Calls the process works on at once; beyond it calls are shed with RESOURCE_EXHAUSTED.
    #[arg(long, env = "KIA_MAX_IN_FLIGHT", default_value_t = Limits::default().max_in_flight)]
    max_in_flight: usize,

    /// Seconds a call may take before it is answered DEADLINE_EXCEEDED.
    #[arg(long, env = "KIA_REQUEST_TIMEOUT", default_value_t = Limits::default().request_timeout.as_secs())]
    request_timeout: u64,
}

/// How callers authenticate.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// JWKS file with the public keys (Ed25519) whose tokens are trusted. Default: the key pair in
    /// the data directory (created on first start; `kia token issue` signs with it).
    #[arg(long, env = "KIA_JWKS")]
    jwks: Option<PathBuf>,

    /// The `iss` a token must carry.
    #[arg(long, env = "KIA_TOKEN_ISSUER", default_value = kia_runtime::auth::DEFAULT_ISSUER)]
    token_issuer: String,

    /// The `aud` a token must carry.
    #[arg(long, env = "KIA_TOKEN_AUDIENCE", default_value = kia_runtime::auth::DEFAULT_AUDIENCE)]
    token_audience: String,

    /// INSECURE: also accept unsigned identities from x-kia-* metadata. Development only.
    #[arg(long, env = "KIA_INSECURE_DEV_IDENTITIES")]
    insecure_dev_identities: bool,
}

impl AuthArgs {
    fn mode(&self, data_dir: &std::path::Path) -> anyhow::Result<AuthMode> {
        let verifier = match &self.jwks {
            Some(path) => Verifier::from_jwks_file(path, &self.token_issuer, &self.token_audience)?,
            None => {
                TokenSigner::ensure_in(data_dir)?.verifier(&self.token_issuer, &self.token_audience)
            }
        };
        let verifier = Arc::new(verifier);
        Ok(if self.insecure_dev_identities {
            AuthMode::Development(verifier)
        } else {
            AuthMode::Tokens(verifier)
        })
    }
}

impl ServeArgs {
    fn hosts(&self, service: ServiceName) -> bool {
        self.services
            .iter()
            .any(|s| *s == ServiceName::All || *s == service)
    }

    /// The listener's TLS configuration, when a certificate is given.
    fn tls(&self) -> anyhow::Result<Option<tonic::transport::ServerTlsConfig>> {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        let read = |path: &PathBuf| {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))
        };
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let mut config =
            ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
        if let Some(ca) = &self.tls_client_ca {
            config = config.client_ca_root(Certificate::from_pem(read(ca)?));
        }
        Ok(Some(config))
    }

    fn citizen_keys_path(&self) -> PathBuf {
        self.citizen_keys
            .clone()
            .unwrap_or_else(|| kia_runtime::citizen::keys_path(&self.data_dir))
    }

    fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| crate::migrate::sqlite_url_in(&self.data_dir))
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kia")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let telemetry = Arc::new(Telemetry::init(args.log_format, "kia")?);
        let result = serve(args, telemetry.clone()).await;
        // Flushing blocks on the exporters: off the async threads.
        let flushed = tokio::task::spawn_blocking(move || telemetry.shutdown());
        let _ = flushed.await;
        result
    })
}

async fn serve(args: ServeArgs, telemetry: Arc<Telemetry>) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    let url = args.database_url();
    let options = StoreOptions {
        max_connections: args.db_max_connections,
        acquire_timeout: Duration::from_secs(args.db_acquire_timeout),
        statement_timeout: Duration::from_secs(args.db_statement_timeout),
    };
    let store = kia_store::open(&url, &options)
        .await
        .context("opening the database")?;

    let auth = args
        .auth
        .mode(&args.data_dir)
        .context("setting up token verification")?;
    if matches!(auth, AuthMode::Development(_)) {
        tracing::warn!(
            "INSECURE development identities (--insecure-dev-identities): callers without a \
             token are trusted by the x-kia-* metadata they send; never expose this daemon \
             beyond a development machine"
        );
    }
    let ctx = Context {
        store: store.clone(),
        clock: Clock::system(),
        metrics: telemetry.metrics.clone(),
        gate: Gate::new(auth.clone()).with_audit(store.clone()),
        feed: kia_runtime::events::EventFeed::default(),
        citizen_keys: CitizenKeys::ensure(&args.citizen_keys_path())
            .context("loading the citizen keys")?,
    };

    let mut names = Vec::new();
    if args.hosts(ServiceName::Cases) {
        names.push(kia_proto::service_names::CASE_SERVICE);
    }
    if args.hosts(ServiceName::Screening) {
        names.push(kia_proto::service_names::SCREENING_SERVICE);
    }
    if args.hosts(ServiceName::Plans) {
        names.push(kia_proto::service_names::PLAN_SERVICE);
    }
    if args.hosts(ServiceName::Contracting) {
        names.push(kia_proto::service_names::CONTRACTING_SERVICE);
    }
    if args.hosts(ServiceName::Audit) {
        names.push(kia_proto::service_names::AUDIT_SERVICE);
    }
    let engine = args
        .hosts(ServiceName::Alerts)
        .then(|| args.alerts.engine(&ctx))
        .transpose()?;
    if engine.is_some() {
        names.push(kia_alerts::ALERT_SERVICE);
    }
    names.push(kia_alerts::CLOCK_SERVICE);
    let (mut routes, health) = server::standard_routes(&names)?;
    if args.hosts(ServiceName::Cases) {
        routes = routes.add_service(kia_cases::CaseApi::server(ctx.clone()));
    }
    if args.hosts(ServiceName::Screening) {
        routes = routes.add_service(kia_screening::ScreeningApi::server(ctx.clone()));
    }
    if args.hosts(ServiceName::Plans) {
        routes = routes.add_service(kia_plans::PlanApi::server(ctx.clone()));
    }
    if args.hosts(ServiceName::Contracting) {
        routes = routes.add_service(kia_contracting::ContractingApi::server(ctx.clone()));
    }
    if args.hosts(ServiceName::Audit) {
        routes = routes.add_service(kia_audit::AuditApi::server(ctx.clone()));
    }
    routes = args.alerts.add_routes(routes, &ctx, engine);

    let tls = args.tls().context("setting up TLS")?;
    let transport = match (&tls, &args.tls_client_ca) {
        (None, _) => "plaintext",
        (Some(_), None) => "tls",
        (Some(_), Some(_)) => "mtls",
    };
    let listener = server::bind(args.listen).await?;
    let metrics_listener = match args.metrics_listen {
        Some(addr) => Some(server::bind(addr).await?),
        None => None,
    };
    let grpc_addr = listener.local_addr()?;
    let metrics_addr = metrics_listener
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()?;
    let identities = match auth {
        AuthMode::Tokens(_) => "signed",
        AuthMode::Development(_) => "insecure-dev",
    };
    tracing::info!(grpc = %grpc_addr, metrics = ?metrics_addr, backend = ctx.store.backend(), services = ?names, identities, transport, "listening");
    // One machine-readable line on stdout, for scripts and tests that start kia on port 0.
    match metrics_addr {
        Some(m) => println!("kia listening grpc={grpc_addr} metrics={m}"),
        None => println!("kia listening grpc={grpc_addr}"),
    }

    server::serve(
        ctx,
        routes,
        health,
        telemetry,
        ServeOptions {
            listener,
            metrics_listener,
            services: names,
            tls,
            limits: Limits {
                max_message_bytes: args.max_message_bytes,
                max_response_bytes: args.max_response_bytes,
                max_concurrent_streams: args.max_concurrent_streams,
                max_in_flight: args.max_in_flight,
                request_timeout: Duration::from_secs(args.request_timeout),
            },
        },
    )
    .await
}
