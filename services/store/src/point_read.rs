//! Reads of one row by key, run on the calling thread (SQLite on disk).
//!
//! sqlx-sqlite runs each connection on a thread of its own, so every query is a hand-off to that
//! thread and back: two thread wake-ups, which on a small machine cost more than the lookup
//! itself. The reads every caseworker makes most (a case, a case with its plan) are lookups by
//! primary key that take microseconds, so they run here instead, on a read-only connection of
//! this module's, on the thread that asks. Nothing else does: a read that may touch many rows
//! stays on the pool, where it cannot hold up the async runtime.
//!
//! A lookup never waits here: the connections do not sleep on a busy database (their busy
//! timeout is zero), and a read that finds the database busy, or the store closed, is answered
//! `None` so that the caller takes the pool's path, which waits as configured.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};

use crate::{StoreError, StoreResult};

/// Read-only connections to one database file, opened as needed and kept for the next read.
#[derive(Debug)]
pub(crate) struct PointReader {
    file: PathBuf,
    /// Connections not in use; `None` once the store is closed.
    idle: Mutex<Option<Vec<Connection>>>,
    /// Idle connections kept at most (the store's read pool size).
    keep: usize,
}

impl PointReader {
    pub(crate) fn new(file: PathBuf, keep: usize) -> Self {
        Self {
            file,
            idle: Mutex::new(Some(Vec::new())),
            keep: keep.max(1),
        }
    }

    /// The row `sql` returns for `key` (its one parameter), decoded; `Ok(None)` when this path
    /// cannot answer now (busy, closed) and the caller should ask the pool.
    pub(crate) fn row<T>(
        &self,
        sql: &str,
        key: &str,
        decode: impl FnOnce(&rusqlite::Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<Option<T>>> {
        let Some(conn) = self.take()? else {
            return Ok(None);
        };
        let result = read_row(&conn, sql, key, decode);
        self.give_back(conn);
        match result {
            Err(Lookup::Busy) => Ok(None),
            Err(Lookup::Failed(err)) => Err(err),
            Ok(found) => Ok(Some(found)),
        }
    }

    /// Drops the idle connections; later reads go to the pool (which is closed too).
    pub(crate) fn close(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            *idle = None;
        }
    }

    fn take(&self) -> StoreResult<Option<Connection>> {
        {
            let mut idle = self.idle.lock().map_err(|_| poisoned())?;
            match idle.as_mut() {
                None => return Ok(None),
                Some(conns) => {
                    if let Some(conn) = conns.pop() {
                        return Ok(Some(conn));
                    }
                }
            }
        }
        self.connect().map(Some)
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && let Some(conns) = idle.as_mut()
            && conns.len() < self.keep
        {
            conns.push(conn);
        }
    }

    fn connect(&self) -> StoreResult<Connection> {
        let conn = Connection::open_with_flags(
            &self.file,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(unavailable)?;
        // Never sleep on the caller's thread: a busy database sends the read to the pool.
        conn.busy_timeout(std::time::Duration::ZERO)
            .map_err(unavailable)?;
        Ok(conn)
    }
}

enum Lookup {
    /// SQLITE_BUSY or SQLITE_LOCKED: another connection holds what this read needs.
    Busy,
    Failed(StoreError),
}

fn read_row<T>(
    conn: &Connection,
    sql: &str,
    key: &str,
    decode: impl FnOnce(&rusqlite::Row<'_>) -> StoreResult<T>,
) -> Result<Option<T>, Lookup> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.query_row([key], |row| Ok(decode(row))).optional())
        .map_err(|err| match err.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                Lookup::Busy
            }
            _ => Lookup::Failed(StoreError::Other(err.to_string())),
        })?
        .transpose()
        .map_err(Lookup::Failed)
}

fn unavailable(err: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

fn poisoned() -> StoreError {
    StoreError::Other("a point reader's lock was poisoned".into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NAME: &str = "SELECT name FROM people WHERE id = ?";

    /// A database in WAL mode with one table, and its writable connection.
    fn database(dir: &tempfile::TempDir) -> (PathBuf, Connection) {
        let file = dir.path().join("kia.db");
        let writer = Connection::open(&file).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE people (id TEXT PRIMARY KEY, name TEXT NOT NULL);
                 INSERT INTO people VALUES ('a', 'Anna');",
            )
            .unwrap();
        (file, writer)
    }

    fn name(row: &rusqlite::Row<'_>) -> StoreResult<String> {
        crate::RowAccess::text(row, "name")
    }

    #[test]
    fn a_lookup_sees_every_commit_before_it_and_tells_a_missing_row() {
        let dir = tempfile::tempdir().unwrap();
        let (file, writer) = database(&dir);
        let reader = PointReader::new(file, 2);

        assert_eq!(
            reader.row(NAME, "a", name).unwrap(),
            Some(Some("Anna".into()))
        );
        assert_eq!(reader.row(NAME, "b", name).unwrap(), Some(None));
        // The connection kept from the first read sees what was committed after it.
        writer
            .execute_batch("UPDATE people SET name = 'Anne' WHERE id = 'a'")
            .unwrap();
        assert_eq!(
            reader.row(NAME, "a", name).unwrap(),
            Some(Some("Anne".into()))
        );
    }

    #[test]
    fn a_busy_database_or_a_closed_reader_sends_the_read_to_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let (file, writer) = database(&dir);
        let reader = PointReader::new(file, 2);
        // A writer that keeps the file to itself: readers find it busy and must not wait.
        writer
            .execute_batch(
                "PRAGMA locking_mode = EXCLUSIVE;
                 BEGIN EXCLUSIVE;
                 UPDATE people SET name = 'Anne' WHERE id = 'a';",
            )
            .unwrap();
        assert_eq!(reader.row(NAME, "a", name).unwrap(), None);
        drop(writer);
        assert_eq!(
            reader.row(NAME, "a", name).unwrap(),
            Some(Some("Anna".into()))
        );

        reader.close();
        assert_eq!(reader.row(NAME, "a", name).unwrap(), None);
    }

    #[test]
    fn a_row_that_does_not_decode_is_an_error_not_a_detour() {
        let dir = tempfile::tempdir().unwrap();
        let (file, _writer) = database(&dir);
        let reader = PointReader::new(file, 2);
        let wrong = |row: &rusqlite::Row<'_>| crate::RowAccess::int(row, "name");
        assert!(matches!(
            reader.row(NAME, "a", wrong),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            reader.row("SELECT * FROM nowhere WHERE id = ?", "a", name),
            Err(StoreError::Other(_))
        ));
    }
}
