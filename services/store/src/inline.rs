//! SQLite work run on the calling thread, on connections of the store's own (databases on disk).
//!
//! sqlx-sqlite runs each connection on a thread of its own, so every statement is a hand-off to
//! that thread and back: two thread wake-ups, which on a small machine cost more than the
//! statement itself. Two kinds of short, bounded work run here instead, on the thread that asks:
//!
//! - [`PointReader`]: the reads every caseworker makes most (a case, a case with its plan),
//!   lookups by primary key that take microseconds, on read-only connections. A read that may
//!   touch many rows stays on the pool, where it cannot hold up the async runtime.
//! - [`InlineWriter`]: the append of a batch of read records to the audit trail, on one
//!   read-write connection, while the caller holds the store's write lock (`sqlite::WriteTx`), so
//!   no other writer of this process competes for SQLite's.
//!
//! Nothing here waits for a lock: the connections' busy timeout is zero, and work that finds the
//! database busy (another process writing, or the store closed) is answered `None`, so that the
//! caller takes the pool's path, which waits as configured.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior};

use crate::{NamedRow, RowAccess, StoreError, StoreResult};

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
        decode: impl FnOnce(&dyn RowAccess) -> StoreResult<T>,
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
        open(&self.file, OpenFlags::SQLITE_OPEN_READ_ONLY)
    }
}

/// Opens a connection that never sleeps on a busy database.
fn open(file: &std::path::Path, flags: OpenFlags) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(file, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::ZERO)?;
    Ok(conn)
}

/// Whether an error says that another connection holds the lock this work needs.
fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// One read-write connection for short transactions on the calling thread.
#[derive(Debug)]
pub(crate) struct InlineWriter {
    file: PathBuf,
    /// Statements run when the connection opens (the store's write settings).
    setup: String,
    slot: Mutex<Slot>,
}

#[derive(Debug)]
enum Slot {
    Unopened,
    Open(Connection),
    Closed,
}

impl InlineWriter {
    pub(crate) fn new(file: PathBuf, setup: String) -> Self {
        Self {
            file,
            setup,
            slot: Mutex::new(Slot::Unopened),
        }
    }

    /// Runs `work` in an IMMEDIATE transaction and commits it. `Ok(None)` when the database is
    /// busy or the writer closed: nothing was written, and the caller should use the pool's
    /// write connection. An error from `work` rolls the transaction back.
    ///
    /// The caller holds the store's write lock: SQLite's is then free unless
    /// another process holds it.
    pub(crate) fn transaction<T>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let mut slot = self.slot.lock().map_err(|_| poisoned())?;
        if matches!(*slot, Slot::Unopened) {
            let conn = open(&self.file, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            conn.execute_batch(&self.setup)?;
            *slot = Slot::Open(conn);
        }
        let Slot::Open(conn) = &mut *slot else {
            return Ok(None);
        };
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(err) if is_busy(&err) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let done = work(&tx)?;
        tx.commit()?;
        Ok(Some(done))
    }

    /// The database file this writer writes.
    pub(crate) fn file(&self) -> &std::path::Path {
        &self.file
    }

    /// Closes the connection; later work goes to the pool (which is closed too).
    pub(crate) fn close(&self) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Slot::Closed;
        }
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
    decode: impl FnOnce(&dyn RowAccess) -> StoreResult<T>,
) -> Result<Option<T>, Lookup> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| {
            statement
                .query_row([key], |row| Ok(decode(&NamedRow::new(row))))
                .optional()
        })
        .map_err(|err| match is_busy(&err) {
            true => Lookup::Busy,
            false => Lookup::Failed(err.into()),
        })?
        .transpose()
        .map_err(Lookup::Failed)
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

    fn name(row: &dyn RowAccess) -> StoreResult<String> {
        row.text("name")
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

    /// The database's own connection, an inline writer and a point reader of it.
    fn writer_and_reader(dir: &tempfile::TempDir) -> (Connection, InlineWriter, PointReader) {
        let (file, own) = database(dir);
        let inline = InlineWriter::new(file.clone(), "PRAGMA synchronous = NORMAL;".into());
        (own, inline, PointReader::new(file, 1))
    }

    fn insert(tx: &rusqlite::Transaction<'_>, id: &str) -> StoreResult<()> {
        tx.execute("INSERT INTO people VALUES (?, 'Bo')", [id])?;
        Ok(())
    }

    #[test]
    fn an_inline_transaction_commits_what_it_wrote_and_rolls_back_on_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (_own, inline, reader) = writer_and_reader(&dir);

        assert_eq!(inline.transaction(|tx| insert(tx, "b")).unwrap(), Some(()));
        assert_eq!(
            reader.row(NAME, "b", name).unwrap(),
            Some(Some("Bo".into()))
        );

        // The second insert breaks the primary key: the first is undone with it.
        let failed = inline.transaction(|tx| {
            insert(tx, "c")?;
            insert(tx, "b")
        });
        assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
        assert_eq!(reader.row(NAME, "c", name).unwrap(), Some(None));
    }

    #[test]
    fn a_busy_database_or_a_closed_writer_writes_nothing_and_sends_the_work_to_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let (writer_elsewhere, inline, reader) = writer_and_reader(&dir);
        writer_elsewhere.execute_batch("BEGIN IMMEDIATE").unwrap();
        assert_eq!(inline.transaction(|tx| insert(tx, "b")).unwrap(), None);
        writer_elsewhere.execute_batch("COMMIT").unwrap();
        assert_eq!(reader.row(NAME, "b", name).unwrap(), Some(None));

        inline.close();
        assert_eq!(inline.transaction(|tx| insert(tx, "b")).unwrap(), None);
        assert_eq!(reader.row(NAME, "b", name).unwrap(), Some(None));
    }

    #[test]
    fn a_row_that_does_not_decode_is_an_error_not_a_detour() {
        let dir = tempfile::tempdir().unwrap();
        let (file, _writer) = database(&dir);
        let reader = PointReader::new(file, 2);
        let wrong = |row: &dyn RowAccess| row.int("name");
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
