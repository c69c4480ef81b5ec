//! A `kia serve` that the bench starts itself (`--spawn`, `kia bench startup`): this binary, a
//! fresh data directory, port 0, and callers with tokens signed by the data directory's key
//! (so the bench measures the same token checks a deployment runs).

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A child `kia serve`, stopped with SIGTERM by [`Spawned::stop`] (killed if dropped).
pub struct Spawned {
    child: Child,
    pub grpc: String,
    /// The temporary data directory, removed when the daemon is dropped.
    _dir: tempfile::TempDir,
    /// The data directory's token key, which the daemon trusts.
    signer: kia_runtime::auth::TokenSigner,
    /// From the spawn to the listen line.
    pub to_listening: Duration,
    /// From the spawn to SERVING on the health service (migrations applied).
    pub to_serving: Duration,
}

impl Spawned {
    /// Starts `kia serve` and waits until it reports SERVING.
    pub async fn start(database_url: Option<&str>, extra: &[String]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating a temporary data directory")?;
        let signer = kia_runtime::auth::TokenSigner::ensure_in(dir.path())?;
        let log = std::fs::File::create(dir.path().join("daemon.log"))?;
        let exe = std::env::current_exe().context("finding the kia binary")?;
        let mut cmd = Command::new(exe);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(extra)
            .env_remove("KIA_INSECURE_DEV_IDENTITIES")
            .env_remove("KIA_JWKS")
            .env_remove("KIA_DATABASE_URL")
            .env_remove("KIA_LISTEN")
            .env_remove("KIA_METRICS_LISTEN")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true);
        if let Some(url) = database_url {
            cmd.args(["--database-url", url]);
        }
        let started = Instant::now();
        let mut child = cmd.spawn().context("starting kia serve")?;
        let stdout = child.stdout.take().context("kia serve's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let Some(line) = lines.next_line().await? else {
            let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
            bail!("kia serve exited before listening:\n{log}");
        };
        let to_listening = started.elapsed();
        let grpc = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("grpc="))
            .with_context(|| format!("no grpc= in {line:?}"))?
            .to_owned();
        let channel = connect(&grpc).await?;
        wait_serving(channel).await?;
        let to_serving = started.elapsed();
        Ok(Self {
            child,
            grpc,
            _dir: dir,
            signer,
            to_listening,
            to_serving,
        })
    }

    /// A token for `caller`, signed with the key this daemon trusts (valid for a day).
    pub fn token(&self, caller: &crate::client::DevIdentity) -> String {
        self.signer.sign(&kia_runtime::auth::Claims::new(
            kia_runtime::auth::DEFAULT_ISSUER,
            kia_runtime::auth::DEFAULT_AUDIENCE,
            &caller.organization,
            &caller.kind,
            Some(caller.municipality.as_str()).filter(|m| !m.is_empty()),
            &caller.role,
            Some("kia-bench"),
            Duration::from_secs(24 * 3600),
        ))
    }

    /// Resident memory of the daemon (Linux: VmRSS), in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        rss_bytes(self.child.id()?)
    }

    /// SIGTERM, then waits for the exit; an exit other than 0 is an error.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let status = self.child.wait().await?;
        if !status.success() {
            bail!("kia serve exited with {status}");
        }
        Ok(())
    }
}

/// Connects a channel to `host:port`.
pub async fn connect(addr: &str) -> anyhow::Result<Channel> {
    let uri = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    };
    Channel::from_shared(uri.clone())
        .with_context(|| format!("bad address {addr}"))?
        .connect()
        .await
        .with_context(|| format!("connecting to {uri}"))
}

/// Waits on the health Watch stream until the whole server reports SERVING.
pub async fn wait_serving(channel: Channel) -> anyhow::Result<()> {
    let mut health = HealthClient::new(channel);
    let mut stream = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner();
    while let Some(update) = stream.message().await? {
        if update.status == ServingStatus::Serving as i32 {
            return Ok(());
        }
    }
    bail!("the health stream ended before SERVING")
}

/// Resident memory of a process (Linux `/proc/PID/status`, VmRSS), in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
