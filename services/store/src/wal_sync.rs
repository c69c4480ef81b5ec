//! Group commit for the SQLite writer. The writer commits with `synchronous=NORMAL`: a commit
//! writes its frames to the WAL file but does not wait for the disk. Before a write is
//! acknowledged, [`WalSync::sync`] makes the WAL durable with one `fsync` for every commit that
//! finished before it started, so writers waiting together share one flush instead of paying
//! one each (what `synchronous=FULL` does). SQLite itself still syncs the WAL before each
//! checkpoint and the database file after it, so a checkpoint never copies unsynced frames.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;

use crate::{StoreError, StoreResult};

/// Flushes the WAL of one database file (or a log file of kia's own) for the commits that asked.
#[derive(Debug)]
pub struct WalSync {
    /// What to flush. `None`: an in-memory database.
    target: Option<Target>,
    /// Tickets handed out, one per commit that finished.
    asked: AtomicU64,
    /// The last ticket a flush covered. Held while flushing, so one flush runs at a time and the
    /// commits that finished meanwhile are covered by the next.
    flushed: Mutex<u64>,
    /// A background flush is waiting to start.
    scheduled: AtomicBool,
}

#[derive(Debug, Clone)]
enum Target {
    /// The WAL of this database file, `<file>-wal`.
    WalOf(PathBuf),
    /// This file (the read log, `crate::read_log`).
    File(PathBuf),
}

impl Target {
    /// What is flushed, for messages.
    fn what(&self) -> &'static str {
        match self {
            Target::WalOf(_) => "the write-ahead log",
            Target::File(_) => "the read log",
        }
    }
}

/// How long a background flush waits before it starts. Under a stream of reads, their records'
/// commits then share an fsync every few milliseconds instead of keeping one running all the
/// time; a power loss can take the records committed in this window and during the flush.
pub const BACKGROUND_DELAY: Duration = Duration::from_millis(10);

impl WalSync {
    pub fn new(database: Option<PathBuf>) -> Self {
        Self::flushing(database.map(Target::WalOf))
    }

    /// Flushes `file` itself.
    pub fn of_file(file: PathBuf) -> Self {
        Self::flushing(Some(Target::File(file)))
    }

    fn flushing(target: Option<Target>) -> Self {
        Self {
            target,
            asked: AtomicU64::new(0),
            flushed: Mutex::new(0),
            scheduled: AtomicBool::new(false),
        }
    }

    /// Returns once everything committed before this call is on disk.
    pub async fn sync(&self) -> StoreResult<()> {
        let ticket = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let mut flushed = self.flushed.lock().await;
        if *flushed >= ticket {
            return Ok(()); // a flush that started after this commit finished covered it
        }
        // Every ticket up to here belongs to a commit that finished before the flush starts.
        let upto = self.asked.load(Ordering::SeqCst);
        if let Some(target) = self.target.clone() {
            let what = target.what();
            tokio::task::spawn_blocking(move || flush(&target))
                .await
                .map_err(|e| StoreError::Other(format!("flushing {what}: {e}")))?
                .map_err(|e| StoreError::Unavailable(format!("flushing {what}: {e}")))?;
        }
        *flushed = upto;
        Ok(())
    }

    /// Makes what was committed before this call durable soon, without waiting: a flush starts
    /// [`BACKGROUND_DELAY`] from now on a task of its own, unless one is already waiting to
    /// start (that one covers this commit too, so the commits of that moment share one fsync).
    /// Returns the new task, if one was started. A failed flush is logged; the next write's
    /// flush tries again and, if the disk still fails, fails that write.
    pub fn sync_in_background(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        if self.scheduled.swap(true, Ordering::SeqCst) {
            return None; // a flush that has not started yet: it begins after this commit
        }
        let wal = Arc::clone(self);
        Some(tokio::spawn(async move {
            tokio::time::sleep(BACKGROUND_DELAY).await;
            // From here on a commit schedules a flush of its own: this one may have begun.
            wal.scheduled.store(false, Ordering::SeqCst);
            if let Err(err) = wal.sync().await {
                let what = wal.target.as_ref().map_or("", Target::what);
                tracing::error!(error = %err, "flushing {what} in the background");
            }
        }))
    }
}

/// Flushes the WAL of `database` now, on the calling thread: for the rare commit that must be on
/// disk before what follows it (the read log starting over, `read_log`).
pub(crate) fn flush_wal_now(database: &std::path::Path) -> StoreResult<()> {
    let target = Target::WalOf(database.to_path_buf());
    flush(&target).map_err(|e| StoreError::Unavailable(format!("flushing {}: {e}", target.what())))
}

/// fsyncs the target: a file itself, or the WAL file (or, in the moment after a checkpoint
/// emptied it and before it exists again, the database file, which the checkpoint synced
/// already).
fn flush(target: &Target) -> std::io::Result<()> {
    let database = match target {
        Target::File(file) => return std::fs::File::open(file)?.sync_data(),
        Target::WalOf(database) => database,
    };
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    match std::fs::File::open(PathBuf::from(wal)) {
        Ok(file) => file.sync_data(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::File::open(database)?.sync_data()
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_concurrent_commit_returns_after_a_finished_flush_covers_it() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("kia.db");
        std::fs::write(&database, b"db").unwrap();
        std::fs::write(dir.path().join("kia.db-wal"), b"wal").unwrap();
        let wal = Arc::new(WalSync::new(Some(database)));
        let calls: Vec<_> = (0..64)
            .map(|_| {
                let wal = wal.clone();
                tokio::spawn(async move { wal.sync().await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        // Every commit that asked is covered by a finished flush.
        assert_eq!(*wal.flushed.lock().await, 64);
        assert_eq!(wal.asked.load(Ordering::SeqCst), 64);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_background_flush_covers_the_commits_before_it_and_retries_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("kia.db");
        let wal = Arc::new(WalSync::new(Some(database.clone())));
        // No database file yet: the flush fails, is logged, and covers nothing.
        let first = wal.sync_in_background().expect("nothing was waiting");
        assert!(
            wal.sync_in_background().is_none(),
            "a commit while a flush waits to start shares it"
        );
        first.await.unwrap();
        assert_eq!(*wal.flushed.lock().await, 0);
        std::fs::write(&database, b"db").unwrap();
        let second = wal.sync_in_background().expect("the first one has begun");
        second.await.unwrap();
        assert_eq!(
            *wal.flushed.lock().await,
            2,
            "the failed one is covered now"
        );
    }

    #[tokio::test]
    async fn a_missing_database_file_is_an_unavailable_store_not_a_silent_success() {
        let dir = tempfile::tempdir().unwrap();
        let wal = WalSync::new(Some(dir.path().join("gone.db")));
        assert!(matches!(wal.sync().await, Err(StoreError::Unavailable(_))));
        assert!(
            WalSync::new(None).sync().await.is_ok(),
            "in memory: nothing to flush"
        );
    }
}
