//! Checkpoints of the SQLite write-ahead log, on a connection of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit,
//! and every write queued behind the one writer, waits while the log's pages are copied into the
//! database file and it is synced. Here, after commits, a connection of its own copies the log
//! into the database (a PASSIVE checkpoint, which neither waits for nor blocks the writer or the
//! readers), at most once per [`CHECKPOINT_INTERVAL`]. The writer keeps its automatic checkpoint
//! (every 10,000 pages), which then finds only the last commits' pages left to copy: it is still
//! needed, because only a checkpoint that copies the whole log lets the writer start the log
//! over, and under continuous writes this connection's checkpoint never ends with nothing left
//! (the writer has appended more by then). Without it the log grows without bound.

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::{mpsc, watch};

/// The least time between two checkpoints: the commits made meanwhile are copied together, so a
/// page that several of them changed is copied once.
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

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
    /// nothing else), at most once per `interval`.
    pub(crate) fn start(connection: SqlitePool, interval: Duration) -> Self {
        // One pending request is enough: every commit before it runs is covered.
        let (asked, requests) = mpsc::channel(1);
        let (count, _finished) = watch::channel(0);
        tokio::spawn(checkpoint_when_asked(
            connection.clone(),
            requests,
            count,
            interval,
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
    interval: Duration,
) {
    while requests.recv().await.is_some() {
        if connection.is_closed() {
            return;
        }
        // PASSIVE: copies what it can without waiting for the writer or a reader. A failed
        // checkpoint loses nothing (the frames stay in the log); the next one retries.
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&connection)
            .await
        {
            Ok((_, log, copied)) => tracing::debug!(log, copied, "checkpointed the log"),
            Err(err) => tracing::warn!(error = %err, "checkpointing the write-ahead log"),
        }
        finished.send_modify(|n| *n += 1);
        tokio::time::sleep(interval).await;
    }
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
        let checkpointer = Checkpointer::start(pool(options).await, Duration::ZERO);
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

    /// Under continuous writes the checkpointer alone never empties the log (the writer has
    /// appended more by the time it ends), so the writer keeps its own automatic checkpoint:
    /// it copies what is left, and the log starts over instead of growing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_continuous_writes_the_log_starts_over_instead_of_growing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kia.db");
        let options = wal_file(&file);
        // The store's writer checkpoints every 10,000 pages; 100 here, for a small test.
        let writer = pool(options.clone().pragma("wal_autocheckpoint", "100")).await;
        let checkpointer = Checkpointer::start(pool(options).await, Duration::ZERO);
        sqlx::query("CREATE TABLE t (x TEXT)")
            .execute(&writer)
            .await
            .unwrap();
        // About 2,000 pages of log, far more than the threshold, asking after every commit.
        for _ in 0..400 {
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
