//! `kia migrate`: applies pending database migrations and exits. Run it once before an upgrade
//! (the Kubernetes migration Job does); `kia serve` also migrates at start, so it is optional
//! for a single process.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use kia_store::StoreOptions;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Database: `sqlite://PATH` or `postgres://USER@HOST/DB`.
    /// Default: the SQLite file kia.db in the data directory.
    #[arg(long, env = "KIA_DATABASE_URL")]
    database_url: Option<String>,

    /// Directory of the embedded database (used when no --database-url is given).
    #[arg(long, env = "KIA_DATA_DIR", default_value = "./kia-data")]
    data_dir: PathBuf,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let url = match args.database_url {
            Some(url) => url,
            None => {
                std::fs::create_dir_all(&args.data_dir).with_context(|| {
                    format!("creating data directory {}", args.data_dir.display())
                })?;
                sqlite_url_in(&args.data_dir)
            }
        };
        let store = kia_store::open(&url, &StoreOptions::default())
            .await
            .context("opening the database")?;
        let migrated = store.migrate().await.context("applying migrations");
        store.close().await;
        migrated?;
        println!("kia: migrations applied ({})", store.backend());
        Ok(())
    })
}

/// The embedded database of a data directory, the default of `serve` and `migrate`.
pub fn sqlite_url_in(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("kia.db").display())
}
