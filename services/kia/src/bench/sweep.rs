//! `kia bench sweep`: the alert sweep over N generated cases, next to a plain read of the same
//! rows (see `kia_alerts::bench`).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::Output;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Open cases to generate (each with a plan of ten activities).
    #[arg(long, default_value_t = 100_000)]
    cases: u64,

    /// An empty database to fill: `postgres://...`. Default: a new SQLite file in a temporary
    /// directory, removed afterwards.
    #[arg(long, env = "KIA_BENCH_DATABASE_URL")]
    database_url: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (url, scratch): (String, Option<PathBuf>) = match args.database_url {
        Some(url) => (url, None),
        None => {
            let dir = std::env::temp_dir().join(format!("kia-bench-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
            (url, Some(dir))
        }
    };
    let result = runtime.block_on(kia_alerts::bench::sweep(&url, args.cases));
    if let Some(dir) = scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
    let report = result?;
    match args.output {
        Output::Table => println!("{report}"),
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(())
}
