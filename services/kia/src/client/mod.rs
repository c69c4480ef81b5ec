//! The command line for people: client commands that talk gRPC to a kia daemon.
//!
//! One module per service (`case`, `screening`, `plan`, `contracting`, `alerts`, `audit`,
//! `clock`), each a clap subcommand
//! tree whose leaves call one RPC and print the answer. Shared here: the connection and the
//! caller's identity (`identity`), printing (`output`, `proto`) and failures with their exit codes
//! (`error`).

pub mod alerts;
pub mod audit;
pub mod case;
pub mod clock;
pub mod contracting;
pub mod error;
pub mod identity;
pub mod output;
pub mod plan;
pub mod proto;
pub mod screening;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Args;
use kia_proto::v1::alert_service_client::AlertServiceClient;
use kia_proto::v1::audit_service_client::AuditServiceClient;
use kia_proto::v1::case_service_client::CaseServiceClient;
use kia_proto::v1::clock_service_client::ClockServiceClient;
use kia_proto::v1::contracting_service_client::ContractingServiceClient;
use kia_proto::v1::plan_service_client::PlanServiceClient;
use kia_proto::v1::screening_service_client::ScreeningServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

pub use error::Failure;
use identity::ConfigFile;
pub use identity::{Credentials, DevIdentity};
use output::{Format, Output};

/// The environment variable with a development identity: `organization:kind:municipality:role`.
pub const DEV_IDENTITY_VAR: &str = "KIA_DEV_IDENTITY";

/// The daemon kia talks to when nothing else is said.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// Where the daemon is, who the caller is and how to print: shared by every client command.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// The daemon's gRPC address [default: the config file's `server`, else
    /// http://127.0.0.1:50051].
    #[arg(long, global = true, env = "KIA_SERVER", help_heading = "Connection")]
    pub server: Option<String>,

    /// A bearer token (from `kia token issue`) [default: the config file's `token`]. Without one
    /// the caller is the development identity in KIA_DEV_IDENTITY
    /// (`organization:kind:municipality:role`, e.g. `jc-630:jobcenter:630:caseworker`).
    #[arg(
        long,
        global = true,
        env = "KIA_TOKEN",
        hide_env_values = true,
        help_heading = "Connection"
    )]
    pub token: Option<String>,

    /// A config file with `server` and `token` [default: $XDG_CONFIG_HOME/kia/config.toml or
    /// ~/.config/kia/config.toml].
    #[arg(long, global = true, env = "KIA_CONFIG", help_heading = "Connection")]
    pub config: Option<PathBuf>,

    /// Output format: tables for people, or JSON (the protobuf JSON mapping) for scripts.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "table",
        help_heading = "Connection"
    )]
    pub output: Format,
}

type Authed = InterceptedService<Channel, Credentials>;

/// A connection to the daemon with the caller's identity attached to every call.
#[derive(Debug, Clone)]
pub struct Connection {
    channel: Channel,
    pub credentials: Credentials,
    pub out: Output,
    pub server: String,
}

impl Connection {
    /// Resolves server and identity (flag, then env, then config file) and connects.
    pub async fn connect(args: &ConnectArgs) -> Result<Self, Failure> {
        // A config file or identity that cannot be read is a usage error (exit 2).
        let usage = |e: anyhow::Error| Failure::usage(format!("{e:#}"));
        let config = match &args.config {
            Some(path) => ConfigFile::load(path, true).map_err(usage)?,
            None => match ConfigFile::default_path() {
                Some(path) => ConfigFile::load(&path, false).map_err(usage)?,
                None => ConfigFile::default(),
            },
        };
        let server = args
            .server
            .clone()
            .or(config.server)
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let credentials = match args.token.clone().or(config.token) {
            Some(token) => Credentials::bearer(&token).map_err(usage)?,
            None => match std::env::var(DEV_IDENTITY_VAR) {
                Ok(raw) if !raw.is_empty() => {
                    Credentials::Dev(DevIdentity::parse(&raw).map_err(usage)?)
                }
                _ => {
                    return Err(Failure::no_identity(
                        "no identity: give --token (or KIA_TOKEN, or `token` in the config file), \
                         or KIA_DEV_IDENTITY=organization:kind:municipality:role for a daemon \
                         in development mode",
                    ));
                }
            },
        };
        Self::open(&server, credentials, Output::new(args.output)).await
    }

    /// Connects to `server` as `credentials`.
    pub async fn open(
        server: &str,
        credentials: Credentials,
        out: Output,
    ) -> Result<Self, Failure> {
        let endpoint = Endpoint::from_shared(server.to_owned())
            .map_err(|e| Failure::usage(format!("--server {server:?}: {e}")))?;
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| Failure::unreachable(format!("cannot reach kia at {server}: {e}")))?;
        Ok(Self {
            channel,
            credentials,
            out,
            server: server.to_owned(),
        })
    }

    /// The same connection, calling as someone else.
    pub fn as_caller(&self, credentials: Credentials) -> Self {
        Self {
            credentials,
            ..self.clone()
        }
    }

    /// The bare channel (for health checks, which need no identity).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub fn cases(&self) -> CaseServiceClient<Authed> {
        CaseServiceClient::with_interceptor(self.channel.clone(), self.credentials.clone())
    }

    pub fn screening(&self) -> ScreeningServiceClient<Authed> {
        ScreeningServiceClient::with_interceptor(self.channel.clone(), self.credentials.clone())
    }

    pub fn plans(&self) -> PlanServiceClient<Authed> {
        PlanServiceClient::with_interceptor(self.channel.clone(), self.credentials.clone())
    }

    pub fn contracting(&self) -> ContractingServiceClient<Authed> {
        ContractingServiceClient::with_interceptor(self.channel.clone(), self.credentials.clone())
    }

    pub fn alerts(&self) -> AlertServiceClient<Authed> {
        AlertServiceClient::with_interceptor(self.channel.clone(), self.credentials.clone())
    }

    pub fn audit(&self) -> AuditServiceClient<Authed> {
        AuditServiceClient::with_interceptor(self.channel.clone(), self.credentials.clone())
    }

    pub fn clock(&self) -> ClockServiceClient<Authed> {
        ClockServiceClient::with_interceptor(self.channel.clone(), self.credentials.clone())
    }

    /// The caller's municipality: the one named, else the development identity's.
    pub fn municipality(&self, named: Option<&str>) -> Result<String, Failure> {
        named
            .or(self.credentials.municipality())
            .map(str::to_owned)
            .ok_or_else(|| Failure::usage("--municipality is required"))
    }
}

/// Follows page tokens from the first page until the last, or until `limit` items: `page` gets
/// a page token and returns a page's items and the next token (empty on the last page).
pub async fn all_pages<T, F, Fut>(limit: usize, mut page: F) -> Result<(Vec<T>, String), Failure>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, String), tonic::Status>>,
{
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let (more, next) = page(token).await?;
        items.extend(more);
        token = next;
        if token.is_empty() || items.len() >= limit {
            break;
        }
    }
    items.truncate(limit);
    Ok((items, token))
}

/// Today in Denmark: the default date of every change.
pub fn today() -> NaiveDate {
    kia_runtime::clock::danish_date(chrono::Utc::now())
}

/// A date argument, or today when not given.
pub fn date_or_today(date: &Option<NaiveDate>) -> String {
    date.unwrap_or_else(today).to_string()
}

/// Runs one client command: connects, runs it on a fresh async runtime, and turns a failure into
/// its message on stderr (JSON with `--output json`) and its exit code.
pub fn run<F, Fut>(args: &ConnectArgs, command: F) -> ExitCode
where
    F: FnOnce(Connection) -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let json = args.output == Format::Json;
    let result = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(async {
            let connection = Connection::connect(args).await?;
            command(connection).await
        }),
        Err(e) => Err(Failure::other(format!("starting the async runtime: {e}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure, json),
    }
}

/// Prints a failure on stderr and returns its exit code.
pub fn report(failure: &Failure, json: bool) -> ExitCode {
    if json {
        eprintln!(
            "{}",
            serde_json::json!({ "error": serde_json::to_value(failure).unwrap_or_default() })
        );
    } else {
        eprintln!("kia: {}", failure.human());
    }
    failure.exit_code()
}
