//! The embedded SQLite backend: one file in the data directory, WAL with durable commits (a
//! group commit: see [`crate::wal_sync`]), one write connection (SQLite has one writer) and a
//! pool of readers.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};
use kia_domain::case::{Case, CaseId, MunicipalityCode};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use crate::checkpoint::{self, CHECKPOINT_INTERVAL, Checkpointer, RESTART_PAGES};
use crate::inline::{InlineWriter, PointReader};
use crate::read_log::ReadLog;
use crate::wal_sync::WalSync;
use crate::{
    CaseFilter, CaseRow, CaseStore, CitizenIdentity, Created, IdempotencyKey, NewEvent,
    OpenCaseCount, PoolConnections, RowAccess, Store, StoreError, StoreOptions, StoreResult,
    StoredEvent, category_column, parse_ts,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The one write connection: every write transaction goes through it ([`WriteTx`]), and ends
    /// with [`SqliteStore::commit`]; only the records of reads may be appended by the inline
    /// writer instead.
    pub(crate) writer: SqlitePool,
    /// Held by every write of this process, from its first statement to its commit (see
    /// [`WriteTx`]).
    writing: Arc<tokio::sync::Mutex<()>>,
    pub(crate) readers: SqlitePool,
    /// Lookups of one row by key, on the calling thread; `None` for an in-memory database,
    /// which only the pool's connections share.
    pub(crate) point: Option<Arc<PointReader>>,
    /// Appends read records on the calling thread while the caller holds `writing`; `None` for
    /// an in-memory database.
    pub(crate) inline_writer: Option<Arc<InlineWriter>>,
    /// Where the records of reads are written first (see [`crate::read_log`]); `None` for an
    /// in-memory database.
    pub(crate) read_log: Option<Arc<ReadLog>>,
    wal: Arc<WalSync>,
    /// Copies the log into the database file on a connection of its own (see
    /// [`crate::checkpoint`]).
    checkpointer: Checkpointer,
}

/// A timestamp as SQLite keeps it: RFC 3339 text, microseconds, UTC.
pub(crate) fn ts(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl SqliteStore {
    /// Opens (creating if missing) the database file a `sqlite:` URL names.
    pub async fn open(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        let base = connect_options(url, options)?;
        let writer = pool_options(options)
            .max_connections(1)
            .connect_with(
                base.clone()
                    .create_if_missing(true)
                    // Durability comes from the group commit's flush (`commit`).
                    .synchronous(SqliteSynchronous::Normal)
                    // A transaction of a sweep page touches thousands of pages: keep them in
                    // memory rather than spill them to the log mid-transaction.
                    .pragma("cache_size", WRITER_CACHE_KIB)
                    // No checkpoint inside a commit: the checkpointer copies the log into the
                    // database off the writers' path (see `checkpoint`).
                    .pragma("wal_autocheckpoint", "0"),
            )
            .await?;
        let writing = Arc::default();
        let checkpointer = Checkpointer::start(
            pool_options(options)
                .max_connections(1)
                .connect_lazy_with(base.clone()),
            checkpoint::Settings {
                interval: CHECKPOINT_INTERVAL,
                restart_pages: RESTART_PAGES,
                writing: Arc::clone(&writing),
            },
        );
        let file = base.get_filename().to_path_buf();
        let on_disk = !names_memory(url);
        let wal = Arc::new(WalSync::new(on_disk.then(|| file.clone())));
        let readers = pool_options(options)
            .max_connections(options.max_connections.max(1))
            .connect_with(base.read_only(true))
            .await?;
        let keep = usize::try_from(options.max_connections).unwrap_or(1);
        let inline_writer = on_disk.then(|| {
            // The writer's settings (above): durability from the group commit's flush, and no
            // checkpoint inside a commit.
            let setup = "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;
                 PRAGMA temp_store = memory; PRAGMA foreign_keys = ON;";
            Arc::new(InlineWriter::new(file.clone(), setup.into()))
        });
        let read_log = on_disk.then(|| Arc::new(ReadLog::new(&file)));
        let point = on_disk.then(|| Arc::new(PointReader::new(file, keep)));
        Ok(Self {
            writer,
            writing,
            readers,
            point,
            inline_writer,
            read_log,
            wal,
            checkpointer,
        })
    }

    /// Begins a write transaction on the one write connection.
    pub(crate) async fn begin(&self) -> StoreResult<WriteTx> {
        let writing = self.writing().await;
        // The reads answered before this change join the trail before the change's records.
        if self.read_log.as_ref().is_some_and(|log| log.has_pending())
            && let Err(err) = self.ingest_reads()
        {
            tracing::warn!(error = %err, "moving read records into the audit trail");
        }
        Ok(WriteTx {
            tx: self.writer.begin().await?,
            _writing: writing,
        })
    }

    /// Keeps every other writer of this process out until dropped: for a write outside a
    /// transaction (see [`WriteTx`]).
    pub(crate) async fn writing(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.writing.clone().lock_owned().await
    }

    /// Commits a write transaction and returns once it is durable: commits that finish
    /// together share one flush of the write-ahead log. Other writers may begin while this
    /// one waits for the flush.
    pub(crate) async fn commit(&self, tx: WriteTx) -> StoreResult<()> {
        tx.commit().await?;
        self.durable().await
    }

    /// The row `sql` (a lookup by one key) returns for `key`: read on the calling thread where
    /// it can be (see [`crate::inline`]), else through the read pool.
    pub(crate) async fn lookup<T>(
        &self,
        sql: &'static str,
        key: String,
        decode: impl Fn(&dyn RowAccess) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        if let Some(point) = &self.point
            && let Some(found) = point.row(sql, &key, |row| decode(row))?
        {
            return Ok(found);
        }
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(|row| decode(row)).transpose()
    }

    /// Makes a write done outside a transaction (autocommit) durable.
    pub(crate) async fn durable(&self) -> StoreResult<()> {
        self.checkpointer.ask();
        self.wal.sync().await
    }

    /// Starts the flush that makes what was committed so far durable, without waiting for it:
    /// for writes whose loss in a power cut is bearable for a moment (the records of reads).
    pub(crate) fn flush_soon(&self) {
        self.checkpoint_soon();
        self.wal.sync_in_background();
    }

    /// Asks the checkpointer to copy the log into the database soon (see [`Checkpointer`]).
    pub(crate) fn checkpoint_soon(&self) {
        self.checkpointer.ask();
    }
}

/// Whether a `sqlite:` URL names an in-memory database (`sqlite::memory:`, which sqlx opens
/// under a name of its own, or `mode=memory`): there is no file to flush or to open again.
fn names_memory(url: &str) -> bool {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:" || params.split('&').any(|p| p == "mode=memory")
}

/// A write transaction on the one write connection; it rolls back when dropped uncommitted.
///
/// While it lives, no other writer of this process writes, the inline writer
/// ([`crate::inline`]) included: holding the pool's connection would keep the pool's other users
/// out but not that one, and a commit between this transaction's reads and its writes would
/// leave it a stale snapshot (SQLITE_BUSY_SNAPSHOT).
pub(crate) struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    _writing: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    /// Commits without waiting for the flush that makes it durable (see [`SqliteStore::commit`]).
    pub(crate) async fn commit(self) -> StoreResult<()> {
        Ok(self.tx.commit().await?)
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// The writer's page cache: 16 MiB (negative: KiB, SQLite's convention).
const WRITER_CACHE_KIB: &str = "-16384";

/// How kia pools SQLite connections. No ping before a connection is handed out: a file does not
/// hang up, and each ping is a round trip to the connection's thread.
pub(crate) fn pool_options(options: &StoreOptions) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(false)
}

/// How kia connects to a SQLite file: WAL, `synchronous=FULL`, foreign keys. The store's writer
/// replaces FULL with its group commit; the raw write ceiling of `kia bench` keeps FULL, one
/// fsync per commit.
pub(crate) fn connect_options(
    url: &str,
    options: &StoreOptions,
) -> StoreResult<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(options.statement_timeout)
        // A multi-row statement inside a transaction keeps its own undo journal: in memory,
        // not in a temporary file written for each statement.
        .pragma("temp_store", "memory"))
}

fn facts_json(case: &Case) -> StoreResult<String> {
    serde_json::to_string(&case.facts).map_err(StoreError::corrupt)
}

/// A case from a row of `cases` (sqlx's or the point reader's).
pub(crate) fn case_row(row: &(impl RowAccess + ?Sized)) -> StoreResult<Case> {
    let first_sick_day = row.text("first_sick_day")?;
    let id = row.text("id")?;
    CaseRow {
        first_sick_day: chrono::NaiveDate::parse_from_str(&first_sick_day, "%Y-%m-%d")
            .map_err(|_| StoreError::corrupt(format!("first_sick_day {first_sick_day:?}")))?,
        // Straight into the domain's type, not through a JSON value first.
        facts: serde_json::from_str(&row.text("facts")?)
            .map_err(|e| crate::corrupt_facts(&id, e))?,
        id,
        municipality: row.text("municipality")?,
        employment_status: row.text("employment_status")?,
        employer_reference: row.opt_text("employer_reference")?,
        citizen_reference: row.text("citizen_reference")?,
        state: row.text("state")?,
        created_at: parse_ts(&row.text("created_at")?)?,
        updated_at: parse_ts(&row.text("updated_at")?)?,
        version: row.int("version")?,
    }
    .into_case()
}

/// Statements of one change whose results are not needed: they travel to the connection's thread
/// with the change's events in one round trip (see [`append_after`]) instead of one each.
pub(crate) type Statements = sqlx::QueryBuilder<Sqlite>;

/// No statements yet.
pub(crate) fn statements() -> Statements {
    sqlx::QueryBuilder::new("")
}

/// Appends an event, and the audit records of the RPC making the change, in the writer's
/// transaction.
pub(crate) async fn append(tx: &mut WriteTx, event: &NewEvent) -> StoreResult<()> {
    append_all(tx, std::slice::from_ref(event)).await
}

/// Appends events in order, a multi-row statement at a time, and the audit records of the RPC
/// making the change, in the writer's transaction.
pub(crate) async fn append_all(tx: &mut WriteTx, events: &[NewEvent]) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    append_after(tx, statements(), events).await?;
    Ok(())
}

/// [`append_all`] after `before`, the change's own statements: they, the events and the read of
/// the audit chain's head go to the connection's thread as one multi-statement query, and the
/// audit records follow in a second; each statement is a round trip to that thread otherwise,
/// and the one writer waits for every one of them. Returns the rows `before` returned.
pub(crate) async fn append_after(
    tx: &mut WriteTx,
    mut sql: Statements,
    events: &[NewEvent],
) -> StoreResult<Vec<SqliteRow>> {
    let recorded_at = ts(Utc::now());
    // A query of several thousand-row inserts (a sweep's page) differs with every page: it is
    // not kept among the connection's prepared statements, where each would hold its programs.
    let persistent = events.len() <= crate::ROWS_PER_STATEMENT;
    for chunk in events.chunks(crate::ROWS_PER_STATEMENT) {
        sql.push(
            "INSERT INTO events (stream_type, stream_id, event_type, municipality, payload,
                recorded_at) ",
        )
        .push_values(chunk, |mut row, event| {
            row.push_bind(event.stream_type)
                .push_bind(event.stream_id.clone())
                .push_bind(event.event_type)
                .push_bind(event.municipality.clone())
                .push_bind(event.payload.to_string())
                .push_bind(recorded_at.clone());
        })
        .push("; ");
    }
    // The change's audit records, in its own transaction.
    let entries = crate::audit::for_change(events);
    if entries.is_empty() {
        return Ok(sql
            .build()
            .persistent(persistent)
            .fetch_all(&mut **tx)
            .await?);
    }
    let mut rows = sql
        .push(crate::audit::sqlite_impl::HEAD)
        .build()
        .persistent(persistent)
        .fetch_all(&mut **tx)
        .await?;
    let head = rows.pop_if(|row| crate::audit::sqlite_impl::is_head(row));
    crate::audit::sqlite_impl::insert_after(tx, head, &entries).await?;
    Ok(rows)
}

/// Records, in the transaction that created it, which resource a request id produced.
pub(crate) async fn remember_key(
    tx: &mut WriteTx,
    key: &IdempotencyKey,
    resource_id: &str,
    at: chrono::DateTime<Utc>,
) -> StoreResult<()> {
    let mut sql = statements();
    push_key(&mut sql, key, resource_id, at);
    sql.build().execute(&mut **tx).await?;
    Ok(())
}

/// [`remember_key`] as one of a change's [`Statements`].
pub(crate) fn push_key(
    sql: &mut Statements,
    key: &IdempotencyKey,
    resource_id: &str,
    at: chrono::DateTime<Utc>,
) {
    sql.push(
        "INSERT INTO idempotency_keys (scope, request_id, fingerprint, resource_id, created_at) ",
    )
    .push_values([key], |mut row, key| {
        row.push_bind(key.scope.clone())
            .push_bind(key.request_id.clone())
            .push_bind(key.fingerprint.clone())
            .push_bind(resource_id.to_owned())
            .push_bind(ts(at));
    })
    .push("; ");
}

/// The resource a request id already produced, if any; refuses a key reused with other parameters.
pub(crate) async fn replayed(
    tx: &mut WriteTx,
    key: &IdempotencyKey,
) -> StoreResult<Option<String>> {
    let row = sqlx::query(
        "SELECT fingerprint, resource_id FROM idempotency_keys WHERE scope = ? AND request_id = ?",
    )
    .bind(&key.scope)
    .bind(&key.request_id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        None => Ok(None),
        Some(row) if row.try_get::<String, _>("fingerprint")? == key.fingerprint => {
            Ok(Some(row.try_get("resource_id")?))
        }
        Some(_) => Err(StoreError::IdempotencyMismatch),
    }
}

#[async_trait]
impl CaseStore for SqliteStore {
    async fn create_citizen_case(
        &self,
        case: &Case,
        key: Option<&IdempotencyKey>,
        citizen: Option<&CitizenIdentity>,
    ) -> StoreResult<Created<Case>> {
        let intake = &case.intake;
        let facts = facts_json(case)?;
        let mut insert = statements();
        if let Some(key) = key {
            push_key(&mut insert, key, &case.id.to_string(), case.created_at);
        }
        insert
            .push(
                "INSERT INTO cases (id, municipality, first_sick_day, employment_status,
                employer_reference, citizen_reference, state, category, facts, created_at,
                updated_at, version, cpr_hash, cpr_sealed) ",
            )
            .push_values([case], |mut row, case| {
                row.push_bind(case.id.to_string())
                    .push_bind(intake.municipality.as_str())
                    .push_bind(intake.first_sick_day)
                    .push_bind(intake.employment_status.as_str())
                    .push_bind(intake.employer_reference.as_ref().map(|r| r.as_str()))
                    .push_bind(intake.citizen_reference.as_str())
                    .push_bind(case.state.as_str())
                    .push_bind(category_column(case))
                    .push_bind(facts.clone())
                    .push_bind(ts(case.created_at))
                    .push_bind(ts(case.updated_at))
                    .push_bind(case.version)
                    .push_bind(citizen.map(|c| c.hash.as_str()))
                    .push_bind(citizen.map(|c| c.sealed.as_str()));
            })
            .push("; ");
        // The request id is not looked up first (a round trip on the one writer for every
        // create): its key is inserted first, and only when the insert fails is it looked up.
        let event = NewEvent::case_opened(case);
        let mut tx = self.begin().await?;
        if let Err(err) = append_after(&mut tx, insert, std::slice::from_ref(&event)).await {
            drop(tx);
            crate::audit::change_rolled_back();
            if let Some(key) = key {
                let mut tx = self.begin().await?;
                if let Some(existing) = replayed(&mut tx, key).await? {
                    let row = sqlx::query("SELECT * FROM cases WHERE id = ?")
                        .bind(&existing)
                        .fetch_one(&mut *tx)
                        .await?;
                    return Ok(Created::Replayed(case_row(&row)?));
                }
            }
            return Err(err);
        }
        self.commit(tx).await?;
        Ok(Created::New(case.clone()))
    }

    async fn cases_of_citizen(
        &self,
        municipality: &MunicipalityCode,
        cpr_hash: &str,
    ) -> StoreResult<Vec<CaseId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM cases WHERE cpr_hash = ? AND municipality = ? ORDER BY id",
        )
        .bind(cpr_hash)
        .bind(municipality.as_str())
        .fetch_all(&self.readers)
        .await?;
        ids.iter()
            .map(|id| id.parse().map_err(|_| StoreError::corrupt("case id")))
            .collect()
    }

    async fn sealed_cpr(&self, case: CaseId) -> StoreResult<Option<String>> {
        let sealed: Option<Option<String>> =
            sqlx::query_scalar("SELECT cpr_sealed FROM cases WHERE id = ?")
                .bind(case.to_string())
                .fetch_optional(&self.readers)
                .await?;
        Ok(sealed.flatten())
    }

    async fn get_case(&self, id: CaseId) -> StoreResult<Option<Case>> {
        self.lookup("SELECT * FROM cases WHERE id = ?", id.to_string(), |row| {
            case_row(row)
        })
        .await
    }

    async fn list_cases(
        &self,
        filter: &CaseFilter,
        after: Option<CaseId>,
        limit: u32,
    ) -> StoreResult<Vec<Case>> {
        let rows = sqlx::query(
            "SELECT * FROM cases
             WHERE (?1 IS NULL OR municipality = ?1)
               AND (?2 IS NULL OR state = ?2)
               AND (?3 IS NULL OR id > ?3)
             ORDER BY id
             LIMIT ?4",
        )
        .bind(filter.municipality.as_ref().map(|m| m.as_str()))
        .bind(filter.state.map(|s| s.as_str()))
        .bind(after.map(|id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(case_row).collect()
    }

    async fn open_case_counts(&self) -> StoreResult<Vec<OpenCaseCount>> {
        let rows = sqlx::query(
            "SELECT municipality, category, COUNT(*) AS n FROM cases WHERE state = 'open'
             GROUP BY municipality, category ORDER BY municipality, category",
        )
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OpenCaseCount {
                    municipality: r.try_get("municipality")?,
                    category: r.try_get("category")?,
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }

    async fn update_case(
        &self,
        case: &Case,
        expected_version: i64,
        event: &NewEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE cases SET state = ?, category = ?, facts = ?, updated_at = ?, version = ?
             WHERE id = ? AND version = ?",
        )
        .bind(case.state.as_str())
        .bind(category_column(case))
        .bind(facts_json(case)?)
        .bind(ts(case.updated_at))
        .bind(case.version)
        .bind(case.id.to_string())
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        append(&mut tx, event).await?;
        self.commit(tx).await?;
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> StoreResult<()> {
        let _writing = self.writing().await;
        MIGRATOR.run(&self.writer).await?;
        // What the last run left in the read log joins the trail now, before any call.
        self.open_read_log()?;
        self.durable().await?;
        Ok(())
    }

    async fn last_event_position(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(position), 0) AS p FROM events")
            .fetch_one(&self.readers)
            .await?;
        Ok(row.try_get("p")?)
    }

    async fn claim_leases(
        &self,
        names: &[String],
        holder: &str,
        now: chrono::DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> StoreResult<Vec<String>> {
        let until = now + chrono::Duration::from_std(ttl).map_err(StoreError::corrupt)?;
        // One writer: the check and the claim of each lease cannot interleave with another's.
        let mut tx = self.begin().await?;
        let mut claimed = Vec::new();
        for name in names {
            let row = sqlx::query(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET holder = ?2, expires_at = ?3
                 WHERE leases.holder = ?2 OR leases.expires_at < ?4
                 RETURNING name",
            )
            .bind(name)
            .bind(holder)
            .bind(ts(until))
            .bind(ts(now))
            .fetch_optional(&mut *tx)
            .await?;
            if row.is_some() {
                claimed.push(name.clone());
            }
        }
        self.commit(tx).await?;
        Ok(claimed)
    }

    async fn release_leases(&self, names: &[String], holder: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for name in names {
            sqlx::query("DELETE FROM leases WHERE name = ? AND holder = ?")
                .bind(name)
                .bind(holder)
                .execute(&mut *tx)
                .await?;
        }
        self.commit(tx).await?;
        Ok(())
    }

    async fn events_after(&self, after: i64, limit: u32) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT position, stream_type, stream_id, event_type, municipality, payload, recorded_at
             FROM events WHERE position > ? ORDER BY position LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|row| {
                let payload: String = row.try_get("payload")?;
                Ok(StoredEvent {
                    position: row.try_get("position")?,
                    stream_type: row.try_get("stream_type")?,
                    stream_id: row.try_get("stream_id")?,
                    event_type: row.try_get("event_type")?,
                    municipality: row.try_get("municipality")?,
                    payload: serde_json::from_str(&payload).map_err(StoreError::corrupt)?,
                    recorded_at: parse_ts(row.try_get("recorded_at")?)?,
                })
            })
            .collect()
    }

    async fn close(&self) {
        if let Some(log) = &self.read_log {
            let _writing = self.writing().await;
            if let Err(err) = self.ingest_reads() {
                tracing::warn!(error = %err, "read records stay in the read log for the next start");
            }
            log.close();
        }
        if let Some(point) = &self.point {
            point.close();
        }
        if let Some(inline) = &self.inline_writer {
            inline.close();
        }
        self.readers.close().await;
        self.checkpointer.close().await;
        // Fold the WAL back into the database file so a copy of the file alone is complete.
        let _writing = self.writing().await;
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
        {
            tracing::warn!(error = %err, "wal checkpoint at shutdown failed");
        }
        self.writer.close().await;
    }

    fn pool_connections(&self) -> Vec<PoolConnections> {
        vec![
            PoolConnections::of("writer", &self.writer),
            PoolConnections::of("readers", &self.readers),
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::plan::PlanStore as _;
    use chrono::TimeZone as _;
    use kia_domain::case::{CaseIntake, EmploymentStatus, ExternalReference};

    fn case() -> Case {
        let created = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        let intake = CaseIntake {
            municipality: MunicipalityCode::parse("630").unwrap(),
            first_sick_day: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            employment_status: EmploymentStatus::Employed,
            employer_reference: None,
            citizen_reference: ExternalReference::parse("citizen-1").unwrap(),
        };
        Case::open(CaseId::new(1, 1), intake, created)
    }

    async fn store(url: &str) -> SqliteStore {
        let options = StoreOptions {
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_millis(200),
            ..StoreOptions::default()
        };
        let store = SqliteStore::open(url, &options).await.unwrap();
        store.migrate().await.unwrap();
        store.create_case(&case(), None).await.unwrap();
        store
    }

    #[test]
    fn in_memory_urls_are_told_from_files() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://shared?mode=memory&cache=shared",
        ] {
            assert!(names_memory(url), "{url}");
        }
        for url in [
            "sqlite:///var/lib/kia/kia.db",
            "sqlite://kia.db?mode=rwc",
            "sqlite:memory.db",
        ] {
            assert!(!names_memory(url), "{url}");
        }
    }

    /// Another process holding SQLite's write lock does not hold up a read's record: it is
    /// written to the read log at once. A try to take it into the trail meanwhile finds the
    /// database busy and keeps it; once the other process lets go, it joins, once.
    #[tokio::test]
    async fn read_records_are_written_while_another_process_writes_and_join_after() {
        use crate::audit::{AuditStore as _, ChainHead, verify_chain};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kia.db");
        let store = store(&format!("sqlite://{}", file.display())).await;
        let other = rusqlite::Connection::open(&file).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();

        let entry = crate::testing::read_record(&case().id.to_string(), "req-1");
        store.append_audit(&[entry]).await.unwrap();
        let writing = store.writing().await;
        store.ingest_reads().unwrap();
        drop(writing);
        let log = store.read_log.as_ref().unwrap();
        assert!(log.has_pending(), "kept while the database is busy");

        other.execute_batch("COMMIT").unwrap();
        let chain = store.audit_chain(0, 10).await.unwrap();
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].entry.request_id, "req-1");
        assert!(verify_chain(&ChainHead::default(), &chain).is_ok());
        assert!(!log.has_pending());
    }

    /// A running store starts the read log over once the trail has everything in it and the
    /// file passed its size (here 200 bytes): each read's record is in the trail once, also
    /// after a restart that finds the new generation's file.
    #[tokio::test]
    async fn the_read_log_starts_over_with_every_record_in_the_trail_once() {
        use crate::audit::{AuditStore as _, ChainHead, verify_chain};
        use crate::read_log::{MAX_PENDING, ReadLog};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kia.db");
        let url = format!("sqlite://{}", file.display());
        let generation = |file: &std::path::Path| -> i64 {
            let conn = rusqlite::Connection::open(file).unwrap();
            conn.query_row("SELECT generation FROM audit_read_log", [], |row| {
                row.get(0)
            })
            .unwrap()
        };
        let mut store = SqliteStore::open(&url, &StoreOptions::default())
            .await
            .unwrap();
        store.read_log = Some(Arc::new(ReadLog::with_limits(&file, 200, MAX_PENDING)));
        store.migrate().await.unwrap();
        let started = generation(&file);

        for i in 0..3 {
            let entry = crate::testing::read_record(&case().id.to_string(), &format!("req-{i}"));
            store.append_audit(&[entry]).await.unwrap();
            let writing = store.writing().await;
            store.ingest_reads().unwrap();
            drop(writing);
        }
        assert_eq!(
            generation(&file),
            started + 3,
            "one new generation per ingest"
        );
        let reads = std::fs::metadata(dir.path().join("kia.db-reads")).unwrap();
        assert!(reads.len() < 200, "started over: {} bytes", reads.len());

        store.close().await;
        let store = SqliteStore::open(&url, &StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let chain = store.audit_chain(0, 10).await.unwrap();
        let ids: Vec<_> = chain.iter().map(|r| r.entry.request_id.as_str()).collect();
        assert_eq!(ids, ["req-0", "req-1", "req-2"]);
        assert!(verify_chain(&ChainHead::default(), &chain).is_ok());
    }

    /// Where the read log cannot be used (here another store of this process owns it), another
    /// process holding SQLite's write lock does not fail an append of read records either: the
    /// inline writer steps aside and the pool's write connection waits for the lock.
    #[tokio::test]
    async fn read_records_without_the_read_log_wait_for_another_process_that_writes() {
        use crate::audit::{AuditStore as _, ChainHead, verify_chain};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kia.db");
        let url = format!("sqlite://{}", file.display());
        let _owner = store(&url).await;
        let store = SqliteStore::open(&url, &StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        assert!(store.read_log.as_ref().unwrap().is_unopened());
        let other = rusqlite::Connection::open(&file).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();

        let entry = crate::testing::read_record(&case().id.to_string(), "req-1");
        let append = tokio::spawn({
            let store = store.clone();
            async move { store.append_audit(&[entry]).await }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!append.is_finished(), "waits for the other process");
        other.execute_batch("COMMIT").unwrap();
        append.await.unwrap().unwrap();

        let chain = store.audit_chain(0, 10).await.unwrap();
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].entry.request_id, "req-1");
        assert!(verify_chain(&ChainHead::default(), &chain).is_ok());
    }

    /// A lookup by key on a database file does not queue for the read pool: with the pool's
    /// one connection taken, the case and its plan are still read. An in-memory database has
    /// no file to open, so there the same read waits for the pool.
    #[tokio::test]
    async fn a_lookup_by_key_on_a_file_does_not_wait_for_the_read_pool() {
        let dir = tempfile::tempdir().unwrap();
        let on_disk = store(&format!("sqlite://{}", dir.path().join("kia.db").display())).await;
        let _held = on_disk.readers.acquire().await.unwrap();
        assert_eq!(on_disk.get_case(case().id).await.unwrap(), Some(case()));
        let (read, plan) = on_disk.case_with_plan(case().id).await.unwrap().unwrap();
        assert_eq!((read, plan), (case(), None));
        assert_eq!(on_disk.get_case(CaseId::new(2, 2)).await.unwrap(), None);

        let in_memory = store("sqlite::memory:").await;
        let _held = in_memory.readers.acquire().await.unwrap();
        assert!(matches!(
            in_memory.get_case(case().id).await,
            Err(StoreError::Unavailable(_))
        ));
    }

    /// Appends on the pool's write connection (changes, and read records when the inline
    /// writer is busy) keep the case index too: past CASE_INDEX_BATCH unindexed records one of
    /// them indexes the tail, and a query by case finds every record.
    #[tokio::test]
    async fn appends_on_the_pool_index_the_trail_by_case() {
        use crate::audit::AuditStore as _;
        let dir = tempfile::tempdir().unwrap();
        let store = store(&format!("sqlite://{}", dir.path().join("kia.db").display())).await;
        let case_id = case().id.to_string();
        let total = crate::audit::CASE_INDEX_BATCH + 44;
        let entries: Vec<_> = (0..total)
            .map(|i| {
                let case = if i % 2 == 0 {
                    case_id.as_str()
                } else {
                    "other"
                };
                crate::testing::read_record(case, &format!("req-{i}"))
            })
            .collect();
        let mut writer = store.writer.acquire().await.unwrap();
        for batch in entries.chunks(7) {
            crate::audit::sqlite_impl::insert(&mut writer, batch)
                .await
                .unwrap();
        }
        let mark: i64 = sqlx::query_scalar("SELECT sequence FROM audit_case_index_upto")
            .fetch_one(&mut *writer)
            .await
            .unwrap();
        drop(writer);
        assert!(
            (crate::audit::CASE_INDEX_BATCH..total).contains(&mark),
            "the index reaches {mark}"
        );
        let found = store.audit_of_cases(&[case_id], 0, 10_000).await.unwrap();
        assert_eq!(
            found.iter().map(|r| r.sequence).collect::<Vec<_>>(),
            (1..=total).step_by(2).collect::<Vec<i64>>()
        );
    }
}
