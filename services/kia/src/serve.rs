//! `kia serve`: assembles the hosted services on one listener.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
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

    /// Largest request message in bytes; larger ones are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "KIA_MAX_MESSAGE_BYTES", default_value_t = Limits::default().max_message_bytes)]
    max_message_bytes: usize,

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

impl ServeArgs {
    fn hosts(&self, service: ServiceName) -> bool {
        self.services
            .iter()
            .any(|s| *s == ServiceName::All || *s == service)
    }

    fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("kia.db").display()))
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
        let flushed = tokio::task::spawn_blocking(move || {
            if let Ok(telemetry) = Arc::try_unwrap(telemetry) {
                telemetry.shutdown();
            }
        });
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

    tracing::warn!(
        "development identities: callers are trusted by the x-kia-* metadata they send; \
         do not expose this daemon beyond a development machine"
    );
    let ctx = Context {
        store,
        clock: Clock::system(),
        metrics: telemetry.metrics.clone(),
        gate: Gate::new(AuthMode::Development),
        feed: kia_runtime::events::EventFeed::default(),
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
    tracing::info!(grpc = %grpc_addr, metrics = ?metrics_addr, backend = ctx.store.backend(), services = ?names, "listening");
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
            limits: Limits {
                max_message_bytes: args.max_message_bytes,
                max_concurrent_streams: args.max_concurrent_streams,
                max_in_flight: args.max_in_flight,
                request_timeout: Duration::from_secs(args.request_timeout),
            },
        },
    )
    .await
}
