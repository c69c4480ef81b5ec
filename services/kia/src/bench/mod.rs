//! `kia bench`: a load generator for sizing a deployment, like pgbench or redis-benchmark.
//!
//! - `kia bench rpc` runs a mix of realistic calls against a daemon (or one it starts itself)
//!   and reports throughput and latency percentiles per call; `--ceiling` measures, in the same
//!   run, what a trivial tonic echo server and a raw durable write loop on the same database
//!   settings can do, and prints kia's figures as shares of those ceilings.
//! - `kia bench startup` measures start-up to SERVING and idle memory of `kia serve`.
//! - `kia bench sweep` times the alert sweep over N generated cases next to a plain read of the
//!   same rows.

mod daemon;
mod echo;
mod load;
mod mix;
mod report;
mod sweep;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use kia_store::StoreOptions;
use kia_store::ceiling::RawWriter;
use load::{Pace, PhaseStats, Workload};
use report::{DaemonFigures, Ratios, RpcReport, StartupReport, StartupRun};

use crate::client::{Credentials, DevIdentity};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Runs a mix of kia calls against a daemon and reports throughput and latency.
    ///
    /// Example: `kia bench rpc --spawn --ceiling` (starts its own daemon, measures the ceilings,
    /// prints ratios).
    Rpc(RpcArgs),
    /// Measures start-up to SERVING and idle memory of `kia serve` (fresh data directory).
    Startup(StartupArgs),
    /// The alert sweep over N generated open cases, next to a plain read of the same rows.
    ///
    /// Example: `kia bench sweep --cases 1000000`
    Sweep(sweep::SweepArgs),
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns for people.
    Table,
    /// One JSON document for scripts.
    Json,
}

#[derive(Debug, Args)]
struct RpcArgs {
    /// The daemon to load (`host:port`). Ignored with --spawn.
    #[arg(long, env = "KIA_SERVER", default_value = "127.0.0.1:50051")]
    server: String,

    /// Start a daemon of this binary on a temporary data directory and load that one.
    #[arg(long)]
    spawn: bool,

    /// Database of the spawned daemon and of the write ceiling (default: SQLite in a temporary
    /// directory). A PostgreSQL URL is used as is; the ceiling writes a scratch table there.
    #[arg(long)]
    database_url: Option<String>,

    /// A bearer token for the calls (else KIA_DEV_IDENTITY names a development identity).
    #[arg(long, env = "KIA_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// Municipality code of the cases the bench creates (the caller's, by default).
    #[arg(long)]
    municipality: Option<String>,

    /// Calls in flight: callers in the closed loop, the in-flight cap with --rate.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,

    /// HTTP/2 connections the calls are spread over.
    #[arg(long, default_value_t = 2)]
    connections: usize,

    /// Seconds each phase is measured.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,

    /// Seconds each phase runs before measuring starts.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,

    /// Send this many calls per second on schedule (open loop) instead of a closed loop.
    #[arg(long)]
    rate: Option<f64>,

    /// The calls and their weights: `get_case=35,get_plan=35,list_alerts=10,...`.
    #[arg(long)]
    mix: Option<String>,

    /// Cases (each with a plan) created before the run for the calls to read and update.
    #[arg(long, default_value_t = 100)]
    cases: usize,

    /// Also measure the echo and raw-write ceilings and report kia's figures as ratios.
    #[arg(long)]
    ceiling: bool,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
}

#[derive(Debug, Args)]
struct StartupArgs {
    /// How many times to start the daemon.
    #[arg(long, default_value_t = 5)]
    runs: usize,

    /// Database of the daemon (default: SQLite in a fresh temporary directory per run).
    #[arg(long)]
    database_url: Option<String>,

    /// Seconds to let the daemon sit idle before reading its memory.
    #[arg(long, default_value_t = 1.0)]
    settle: f64,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("kia-bench")
            .build()
            .context("starting the async runtime")
    };
    match args.command {
        BenchCommand::Rpc(args) => runtime()?.block_on(rpc(args)),
        BenchCommand::Startup(args) => runtime()?.block_on(startup(args)),
        BenchCommand::Sweep(args) => sweep::run(args),
    }
}

fn say(what: &str) {
    eprintln!("kia bench: {what}");
}

/// The caller on a spawned daemon when KIA_DEV_IDENTITY names none (its token is signed with
/// the spawned daemon's key).
const SPAWNED_IDENTITY: &str = "jc-630:jobcenter:630:caseworker";

async fn rpc(args: RpcArgs) -> anyhow::Result<()> {
    let dev = match std::env::var(crate::client::DEV_IDENTITY_VAR) {
        Ok(raw) if !raw.is_empty() => Some(DevIdentity::parse(&raw)?),
        _ if args.spawn && args.token.is_none() => Some(DevIdentity::parse(SPAWNED_IDENTITY)?),
        _ => None,
    };
    let municipality = args
        .municipality
        .clone()
        .or_else(|| dev.as_ref().map(|d| d.municipality.clone()))
        .filter(|m| !m.is_empty())
        .context("--municipality is needed to create cases (the caller's municipality)")?;

    let chosen = match &args.mix {
        Some(raw) => mix::parse_mix(raw)?,
        None => mix::default_mix(None),
    };

    let spawned = if args.spawn {
        say("starting kia serve");
        Some(daemon::Spawned::start(args.database_url.as_deref(), &[]).await?)
    } else {
        None
    };
    let identity = match (args.token.as_deref(), &spawned, &dev) {
        (Some(token), _, _) => Credentials::bearer(token)?,
        (None, Some(spawned), Some(dev)) => Credentials::bearer(&spawned.token(dev))?,
        (None, None, Some(dev)) => Credentials::Dev(dev.clone()),
        _ => anyhow::bail!(
            "no caller identity: pass --token (or set KIA_TOKEN), or set KIA_DEV_IDENTITY for a \
             development daemon"
        ),
    };
    let target = spawned
        .as_ref()
        .map_or_else(|| args.server.clone(), |s| s.grpc.clone());
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(daemon::connect(&target).await?);
    }
    say(&format!("creating {} cases with plans", args.cases));
    let fixture = Arc::new(
        mix::Fixture::setup(channels.clone(), identity, &municipality, args.cases.max(1)).await?,
    );
    let idle_rss = spawned.as_ref().and_then(daemon::Spawned::rss_bytes);

    let warmup = Duration::from_secs_f64(args.warmup.max(0.0));
    let duration = Duration::from_secs_f64(args.duration.max(0.1));
    let closed = Pace::Closed {
        concurrency: args.concurrency.max(1),
    };
    let phase = |name: &'static str, workload: Workload, pace: Pace| {
        say(&format!("phase {name}"));
        load::run(name, Arc::new(workload), pace, warmup, duration)
    };

    let mut phases: Vec<PhaseStats> = Vec::new();
    let mut ratios = None;
    if args.ceiling {
        let echo = echo::EchoServer::start()?;
        let mut echo_channels = Vec::new();
        for _ in 0..args.connections.max(1) {
            echo_channels.push(daemon::connect(&echo.addr.to_string()).await?);
        }
        let echo_phase = phase(
            "echo ceiling",
            echo::workload(echo_channels.clone()),
            closed,
        )
        .await;
        let reads = phase(
            "kia reads",
            mix::workload(fixture.clone(), &mix::target_reads()),
            closed,
        )
        .await;
        let half = Pace::Open {
            rate: (reads.total.throughput / 2.0).max(1.0),
            concurrency: args.concurrency.max(1) * 4,
        };
        let reads_half = phase(
            "kia reads at half load",
            mix::workload(fixture.clone(), &mix::target_reads()),
            half,
        )
        .await;
        // The same schedule against the echo server: the tail that the machine and the load
        // generator add to any server at that rate, next to which kia's is read.
        let echo_half = phase("echo at the same rate", echo::workload(echo_channels), half).await;
        drop(echo);

        let scratch = tempfile::tempdir()?;
        let ceiling_url = match &args.database_url {
            Some(url) if !url.starts_with("sqlite:") => url.clone(),
            _ => format!("sqlite://{}", scratch.path().join("ceiling.db").display()),
        };
        let writer = Arc::new(RawWriter::open(&ceiling_url, &StoreOptions::default()).await?);
        let raw = {
            let writer = writer.clone();
            Workload {
                kinds: vec![("raw_write", 1)],
                call: Box::new(move |_, n| {
                    let writer = writer.clone();
                    Box::pin(async move {
                        writer
                            .write(i64::try_from(n).unwrap_or(i64::MAX))
                            .await
                            .map_err(|e| e.to_string())
                    })
                }),
            }
        };
        let raw_phase = phase("raw write ceiling", raw, closed).await;
        if let Ok(writer) = Arc::try_unwrap(writer) {
            writer.close().await?;
        }
        let writes = phase(
            "kia durable writes",
            mix::workload(fixture.clone(), &mix::default_mix(Some(true))),
            closed,
        )
        .await;
        ratios = Some(Ratios::of(
            &echo_phase,
            &reads,
            &reads_half,
            &echo_half,
            &raw_phase,
            &writes,
        ));
        phases.extend([echo_phase, reads, reads_half, echo_half, raw_phase, writes]);
    }

    let pace = match args.rate {
        Some(rate) => Pace::Open {
            rate,
            concurrency: args.concurrency.max(1),
        },
        None => closed,
    };
    phases.push(phase("kia mix", mix::workload(fixture.clone(), &chosen), pace).await);

    let daemon = match spawned {
        Some(spawned) => {
            let figures = DaemonFigures {
                to_serving_s: spawned.to_serving.as_secs_f64(),
                rss_idle_mb: idle_rss.map(mb),
                rss_after_load_mb: spawned.rss_bytes().map(mb),
            };
            spawned
                .stop()
                .await
                .context("stopping the spawned daemon")?;
            Some(figures)
        }
        None => None,
    };
    let report = RpcReport {
        target,
        spawned: args.spawn,
        database: args
            .database_url
            .as_deref()
            .map_or("sqlite (temporary)", |u| {
                if u.starts_with("sqlite:") {
                    "sqlite"
                } else {
                    "postgres"
                }
            })
            .to_owned(),
        concurrency: args.concurrency,
        connections: args.connections,
        setup_cases: args.cases,
        phases,
        ratios,
        daemon,
    };
    match args.output {
        Output::Table => print!("{}", report.table()),
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

async fn startup(args: StartupArgs) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    for i in 0..args.runs.max(1) {
        say(&format!("start {} of {}", i + 1, args.runs.max(1)));
        let spawned = daemon::Spawned::start(args.database_url.as_deref(), &[]).await?;
        // A daemon at rest: allocations of the start-up settle, no calls.
        tokio::time::sleep(Duration::from_secs_f64(args.settle.max(0.0))).await;
        let rss = spawned.rss_bytes().map(mb);
        runs.push(StartupRun {
            to_listening_s: spawned.to_listening.as_secs_f64(),
            to_serving_s: spawned.to_serving.as_secs_f64(),
            rss_idle_mb: rss,
        });
        spawned.stop().await?;
    }
    let report = StartupReport::of(runs);
    match args.output {
        Output::Table => print!("{}", report.table()),
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(())
}
