//! `kia`: the daemon (`kia serve`) and, as they arrive, the command line for people.

mod bench;
mod client;
mod completions;
mod demo;
#[cfg(test)]
mod fuzz_corpus;
mod import;
mod migrate;
mod render;
mod serve;
mod serve_alerts;
mod token;

use clap::{Parser, Subcommand};

/// glibc's malloc and free were a tenth of the daemon's CPU under reads (ARCHITECTURE.md, "The
/// allocator, the columns and the ingest's flush").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// kia coordinates return-to-work rehabilitation for people on sickness benefit
/// (sygedagpenge): early 360-degree assessment, one shared case plan, contracted providers,
/// and alerts when a plan slips or a legal deadline passes.
#[derive(Debug, Parser)]
#[command(
    name = "kia",
    version,
    propagate_version = true,
    after_long_help = client::error::EXIT_CODES_HELP
)]
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
    /// Signed caller tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Measure: load a daemon with realistic calls (`kia bench rpc`), its start-up and memory
    /// (`kia bench startup`), or the alert sweep (`kia bench sweep`).
    Bench(bench::BenchArgs),
    /// Sickness-benefit cases: intake, visitation, follow-ups, closing, the legal timeline.
    ///
    /// Example: `KIA_DEV_IDENTITY=jc-630:jobcenter:630:caseworker kia case list --state open`
    Case(client::case::CaseArgs),
    /// Screening groups and the ICF-coded 360-degree assessment.
    ///
    /// Example: `kia screening unscreened`
    Screening(client::screening::ScreeningArgs),
    /// The shared case plan, drawn as a timeline, and its changes.
    ///
    /// Example: `kia plan show CASE`
    Plan(client::plan::PlanArgs),
    /// Providers (other actors) and their outcome scorecards.
    ///
    /// Example: `kia provider scorecard PROVIDER --from 2026-01-01 --to 2026-12-31`
    Provider(client::contracting::ProviderArgs),
    /// The municipality's contracts with providers.
    ///
    /// Example: `kia contract list`
    Contract(client::contracting::ContractArgs),
    /// Cases referred to providers, and what happened to them.
    ///
    /// Example: `kia referral list --contract CONTRACT`
    Referral(client::contracting::ReferralArgs),
    /// Alerts kia raised: list, acknowledge, follow as they change.
    ///
    /// Example: `kia alerts list --state open`, `kia alerts watch`
    Alerts(client::alerts::AlertsArgs),
    /// The audit trail: who accessed a case, the access report, the chain check.
    ///
    /// Example: `kia audit case CASE`, `kia audit verify`
    Audit(client::audit::AuditArgs),
    /// The daemon's clock (settable with `kia serve --settable-clock`).
    ///
    /// Example: `kia clock show`
    Clock(client::clock::ClockArgs),
    /// Import cases, plans or providers from a CSV file (safe to re-run).
    ///
    /// Example: `kia import cases.csv`, `kia import --kind providers providers.csv`
    Import(import::ImportArgs),
    /// Start a daemon (or use --server) and fill it with a realistic municipality.
    ///
    /// Example: `kia demo` (then follow what it prints)
    Demo(demo::DemoArgs),
    /// Print a shell completion script.
    ///
    /// Example: `kia completions bash > ~/.local/share/bash-completion/completions/kia`
    Completions(completions::CompletionsArgs),
    /// Apply pending database migrations and exit (once per upgrade, before the new daemons).
    ///
    /// Example: `kia migrate --database-url postgres://kia@db/kia`.
    Migrate(migrate::MigrateArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Token(command) => token::run(command),
        Command::Bench(args) => bench::run(args),
        Command::Case(a) => return client::run(&a.connect, |s| client::case::run(s, a.command)),
        Command::Screening(a) => {
            return client::run(&a.connect, |s| client::screening::run(s, a.command));
        }
        Command::Plan(a) => {
            return client::run(&a.connect, |s| client::plan::run(s, a.author, a.command));
        }
        Command::Provider(a) => {
            return client::run(&a.connect, |s| client::contracting::provider(s, a.command));
        }
        Command::Contract(a) => {
            return client::run(&a.connect, |s| client::contracting::contract(s, a.command));
        }
        Command::Referral(a) => {
            return client::run(&a.connect, |s| client::contracting::referral(s, a.command));
        }
        Command::Alerts(a) => {
            return client::run(&a.connect, |s| client::alerts::run(s, a.command));
        }
        Command::Audit(a) => return client::run(&a.connect, |s| client::audit::run(s, a.command)),
        Command::Clock(a) => return client::run(&a.connect, |s| client::clock::run(s, a.command)),
        Command::Import(a) => return import::main(a),
        Command::Demo(a) => return demo::main(a),
        Command::Completions(a) => completions::run::<Cli>(a),
        Command::Migrate(args) => migrate::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kia: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
