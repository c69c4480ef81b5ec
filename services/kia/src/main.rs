//! `kia`: the daemon (`kia serve`) and, as they arrive, the command line for people.

mod bench;
mod client;
#[cfg(test)]
mod fuzz_corpus;
mod serve;

use clap::{Parser, Subcommand};

/// kia coordinates return-to-work rehabilitation for people on sickness benefit
/// (sygedagpenge): early 360-degree assessment, one shared case plan, contracted providers,
/// and alerts when a plan slips or a legal deadline passes.
#[derive(Debug, Parser)]
#[command(name = "kia", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon.
    ///
    /// With no flags, every service runs in one process on an embedded SQLite database in
    /// ./kia-data. Example: `kia serve --listen 0.0.0.0:50051 --metrics-listen 0.0.0.0:9464`.
    Serve(serve::ServeArgs),
    /// Measure: load a daemon with realistic calls (`kia bench rpc`), or its start-up and
    /// memory (`kia bench startup`).
    Bench(bench::BenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kia: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
