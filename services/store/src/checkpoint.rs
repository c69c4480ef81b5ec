//! Checkpoints of the SQLite write-ahead log, on a connection of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit,
//! and every write queued behind the one writer, waits while the log's pages are copied into the
//! database file and both files are synced (2–11 ms under `kia bench`, once or twice a second,
//! which set the read p99). So kia's writers have it off, and here, after commits, a connection
//! of its own copies the log into the database (a PASSIVE checkpoint, which neither waits for nor
//! blocks the writer or the readers), at most once per [`CHECKPOINT_INTERVAL`].
//!
//! That alone would let the log grow without bound under continuous writes: the log starts over
//! only when a write begins with every frame copied, and by the time a checkpoint that runs
//! beside the writers ends, they have appended more. So once the log passes
//! [`RESTART_PAGES`], a second checkpoint runs while holding the store's write lock: it copies
//! only what was appended during the first, and the next write starts the log over. Writers wait
//! for it once per [`RESTART_PAGES`] of log rather than inside commits. What takes the time is
//! not the copying (one such pass had six pages to copy) but the syncs, above all a full `fsync`
//! of the log while the file still grows: 15 ms in one trace. A smaller log is reused sooner, so
//! its syncs stay cheaper: over 30 seconds of 6,000 reads/s, read p99 was 5.6, 9.3 and 11.3 ms
//! with a threshold of 32,768 pages, 7.6, 8.2 and 8.9 ms with 10,000, and 8.6 ms with 4,096.

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::{mpsc, watch};

/// The least time between two checkpoints: the commits made meanwhile are copied together, so a
/// page that several of them changed is copied once. A checkpoint is a burst of work beside the
/// readers, so shorter intervals make smaller bursts: at 7,700 reads/s on schedule, read p99 was
/// 3.3–4.7 ms in four runs with 100 ms and 4.2 and 5.3 ms with 500 ms.
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// Log pages (about 40 MB) past which a checkpoint holds the write lock so the log starts over.
pub(crate) const RESTART_PAGES: i64 = 10_000;

/// Where the checkpoints run and what they share with the store's writers.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The least time between two checkpoints.
    pub interval: Duration,
    /// Log pages past which a checkpoint takes `writing` to let the log start over.
    pub restart_pages: i64,
    /// The store's write lock (see `sqlite::WriteTx`).
    pub writing: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Asks for checkpoints; the checkpoints run on a task that ends when the last handle is gone.
#[derive(Debug, Clone)]
pub(crate) struct Checkpointer {
    asked: mpsc::Sender<()>,
    /// The connection the checkpoints run on, closed with the store.
    connection: SqlitePool,
    /// How many checkpoints have finished.
    #[cfg(test)]
    finished: watch::Receiver<u64>,
}

impl Checkpointer {
    /// Starts the task that checkpoints on `connection` (a read-write pool of one, used for
    /// nothing else).
    pub(crate) fn start(connection: SqlitePool, settings: Settings) -> Self {
        // One pending request is enough: every commit before it runs is covered.
        let (asked, requests) = mpsc::channel(1);
        let (count, _finished) = watch::channel(0);
        tokio::spawn(checkpoint_when_asked(
            connection.clone(),
            requests,
            count,
            settings,
        ));
        Self {
            asked,
            connection,
            #[cfg(test)]
            finished: _finished,
        }
    }

    /// Asks for a checkpoint of what is committed now; returns at once.
    pub(crate) fn ask(&self) {
        // Full: a checkpoint is asked for already and will cover this commit.
        let _ = self.asked.try_send(());
    }

    /// Closes the connection, once a checkpoint that is running has ended; none runs after.
    pub(crate) async fn close(&self) {
        self.connection.close().await;
    }

    /// Waits until `n` checkpoints have finished since the start.
    #[cfg(test)]
    pub(crate) async fn finished(&self, n: u64) {
        let mut finished = self.finished.clone();
        let _ = finished.wait_for(|done| *done >= n).await;
    }
}

async fn checkpoint_when_asked(
    connection: SqlitePool,
    mut requests: mpsc::Receiver<()>,
    finished: watch::Sender<u64>,
    settings: Settings,
) {
    while requests.recv().await.is_some() {
        if connection.is_closed() {
            return;
        }
        // A failed checkpoint loses nothing (the frames stay in the log); the next one retries.
        match checkpoint(&connection).await {
            Ok(log) if log >= settings.restart_pages => {
                let _writing = settings.writing.lock().await;
                if let Err(err) = checkpoint(&connection).await {
                    tracing::warn!(error = %err, "checkpointing the write-ahead log");
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "checkpointing the write-ahead log"),
        }
        finished.send_modify(|n| *n += 1);
        tokio::time::sleep(settings.interval).await;
    }
}

/// A PASSIVE checkpoint: copies what it can without waiting for a writer or a reader. Returns
/// the pages in the log.
async fn checkpoint(connection: &SqlitePool) -> Result<i64, sqlx::Error> {
    let (_, log, copied) = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(connection)
        .await?;
    tracing::debug!(log, copied, "checkpointed the log");
    Ok(log)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    use std::str::FromStr;

    /// A database file in WAL mode, created on first connection.
    fn wal_file(file: &std::path::Path) -> SqliteConnectOptions {
        SqliteConnectOptions::from_str(&format!("sqlite://{}", file.display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
    }

    /// A pool of one connection.
    async fn pool(options: SqliteConnectOptions) -> sqlx::SqlitePool {
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_checkpointer_copies_every_commit_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kia.db");
        let options = wal_file(&file);
        let writer = pool(options.clone().pragma("wal_autocheckpoint", "0")).await;
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&writer)
            .await
            .unwrap();
        for chunk in 0..20 {
            sqlx::query(
                "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
                 INSERT INTO t SELECT ? * 100 + i FROM n",
            )
            .bind(chunk)
            .execute(&writer)
            .await
            .unwrap();
        }
        let checkpointer = Checkpointer::start(pool(options).await, settings(i64::MAX));
        // The writer copied nothing itself: the log holds every commit.
        let copy = dir.path().join("copy.db");
        std::fs::copy(&file, &copy).unwrap();
        assert!(
            std::fs::metadata(&copy).unwrap().len() < 4096 * 3,
            "the database file is still (nearly) empty"
        );

        checkpointer.ask();
        checkpointer.finished(1).await;
        // The database file alone, without its log, has every row.
        std::fs::copy(&file, &copy).unwrap();
        let alone = pool(
            SqliteConnectOptions::from_str(&format!("sqlite://{}", copy.display()))
                .unwrap()
                .immutable(true),
        )
        .await;
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&alone)
            .await
            .unwrap();
        assert_eq!(rows, 2000);
    }

    /// The settings of a test: checkpoints as often as asked, the log starting over past
    /// `restart_pages`.
    fn settings(restart_pages: i64) -> Settings {
        Settings {
            interval: Duration::ZERO,
            restart_pages,
            writing: std::sync::Arc::default(),
        }
    }

    /// Under continuous writes a checkpoint beside the writer never empties the log (the writer
    /// has appended more by the time it ends); past its threshold the checkpointer copies the
    /// rest while holding the write lock, and the log starts over instead of growing. The writer
    /// never checkpoints itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_continuous_writes_the_log_starts_over_instead_of_growing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kia.db");
        let options = wal_file(&file);
        let writer = pool(options.clone().pragma("wal_autocheckpoint", "0")).await;
        // The store's threshold is 10,000 pages; 100 here, for a small test.
        let settings = settings(100);
        let writing = settings.writing.clone();
        let checkpointer = Checkpointer::start(pool(options).await, settings);
        sqlx::query("CREATE TABLE t (x TEXT)")
            .execute(&writer)
            .await
            .unwrap();
        // About 2,000 pages of log, far more than the threshold, asking after every commit.
        for _ in 0..400 {
            let _writing = writing.lock().await;
            sqlx::query(
                "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 16)
                 INSERT INTO t SELECT printf('%.1000c', 'x') FROM n",
            )
            .execute(&writer)
            .await
            .unwrap();
            checkpointer.ask();
        }
        let wal_pages = std::fs::metadata(dir.path().join("kia.db-wal"))
            .unwrap()
            .len()
            / 4096;
        assert!(
            wal_pages < 600,
            "the log should start over near its threshold, but holds {wal_pages} pages"
        );
    }
}
