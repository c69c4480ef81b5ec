//! `kia token issue`: mints a signed token from the data directory's key.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use kia_runtime::auth::{Claims, DEFAULT_AUDIENCE, DEFAULT_ISSUER, TokenSigner, parse_ttl};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a signed token for an identity (creates the data directory's key if absent).
    ///
    /// Example: `kia token issue --data-dir ./kia-data --organization jc-630 --kind jobcenter
    /// --municipality 630 --role caseworker --ttl 8h`.
    Issue(IssueArgs),
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The data directory whose key signs (the daemon's `--data-dir`).
    #[arg(long, env = "KIA_DATA_DIR", default_value = "./kia-data")]
    data_dir: PathBuf,
    /// The organisation, e.g. `jc-630`.
    #[arg(long)]
    organization: String,
    /// jobcenter, provider, rehabilitation_centre, employer or operations.
    #[arg(long)]
    kind: String,
    /// A jobcenter's municipality code, e.g. `630`.
    #[arg(long)]
    municipality: Option<String>,
    /// Role or discipline, e.g. `caseworker`, `doctor`.
    #[arg(long, default_value = "")]
    role: String,
    /// The person acting (the token's `sub`).
    #[arg(long)]
    person: Option<String>,
    /// How long the token is valid: a number with s, m, h or d.
    #[arg(long, default_value = "8h", value_parser = parse_ttl)]
    ttl: Duration,
    /// The `iss` claim (the daemon's `--token-issuer`).
    #[arg(long, env = "KIA_TOKEN_ISSUER", default_value = DEFAULT_ISSUER)]
    issuer: String,
    /// The `aud` claim (the daemon's `--token-audience`).
    #[arg(long, env = "KIA_TOKEN_AUDIENCE", default_value = DEFAULT_AUDIENCE)]
    audience: String,
}

pub fn run(command: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Issue(args) = command;
    let claims = Claims::new(
        &args.issuer,
        &args.audience,
        &args.organization,
        &args.kind,
        args.municipality.as_deref(),
        &args.role,
        args.person.as_deref(),
        args.ttl,
    );
    // Refuse to mint what the daemon would refuse.
    claims
        .identity()
        .map_err(|e| anyhow::anyhow!("not a valid identity: {e}"))?;
    let signer = TokenSigner::ensure_in(&args.data_dir)?;
    println!("{}", signer.sign(&claims));
    Ok(())
}
