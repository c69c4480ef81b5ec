//! The audit trail, modelled on FHIR AuditEvent: who (organisation, kind, role, person) did what
//! (action, outcome) to which data (case, category), why (purpose), in which call (RPC, request
//! id, trace id) and when.
//!
//! Records form a hash chain: each holds the hash of the one before, so changing, removing or
//! inserting a record breaks every hash after it ([`verify_chain`]). Appends are serialized (the
//! single SQLite writer; an advisory lock on PostgreSQL) so the chain never forks.
//!
//! A change records its accesses in the transaction of the change itself: the event append every
//! change makes (see `sqlite::append`, `postgres::append`) also appends the audit records of the
//! call in progress, which the RPC layer declares in an [`AuditScope`] (a task-local). Reads are
//! recorded by the RPC layer before the response leaves (`append_audit`), and a response whose
//! record could not be written is not sent.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2_v011::Digest as _;

use crate::{NewEvent, RowAccess, StoreResult};

/// Records past the SQLite trail's case index after which an append indexes them, in its own
/// transaction (see `sqlite_impl::INDEX_TAIL`). A query by case scans at most about this many
/// records of the trail's tail. The larger the batch, the more entries of one case share each
/// write of an index page: a few busy cases, at 16,000 reads a second, cost 3 % of the daemon
/// with 256.
pub const CASE_INDEX_BATCH: i64 = 2048;

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What kind of personal data an access concerns (FHIR AuditEvent.entity's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// The case: intake, visitation, follow-ups, deadlines, benefit.
    Case,
    /// Health data: screening assessments, ICF findings, health activities of a plan.
    Health,
    /// The shared plan.
    Plan,
    /// The employer views (work-relevant limitations, adaptations, timing).
    EmployerView,
    /// A referral to a provider.
    Referral,
    /// The citizen's CPR number.
    CitizenIdentity,
    /// The audit trail of a case.
    Audit,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Case => "case",
            Self::Health => "health",
            Self::Plan => "plan",
            Self::EmployerView => "employer_view",
            Self::Referral => "referral",
            Self::CitizenIdentity => "citizen_identity",
            Self::Audit => "audit",
        }
    }
}

/// FHIR AuditEvent.action, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Read => "read",
            Self::Update => "update",
        }
    }
}

/// FHIR AuditEvent.outcome, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The caller was refused (PERMISSION_DENIED).
    Denied,
    /// The call failed for another reason; no data was released or changed.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }
}

/// One access to append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub organization: String,
    pub organization_kind: String,
    pub role: String,
    pub person: Option<String>,
    pub municipality: Option<String>,
    pub case_id: Option<String>,
    pub category: String,
    pub action: String,
    pub outcome: String,
    pub purpose: String,
    /// `kia.v1.CaseService/GetCase`.
    pub rpc: String,
    pub request_id: String,
    pub trace_id: String,
}

/// A stored audit record, a link of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// 1, 2, 3, ... without gaps.
    pub sequence: i64,
    pub recorded_at: DateTime<Utc>,
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of a record: SHA-256 over its sequence, time, every field and the previous hash.
pub fn record_hash(
    sequence: i64,
    recorded_at: DateTime<Utc>,
    entry: &AuditEntry,
    prev_hash: &str,
) -> String {
    // Hashed as SQLite stores it: RFC 3339, UTC, microseconds.
    hash_of(sequence, &crate::sqlite::ts(recorded_at), entry, prev_hash)
}

/// [`record_hash`] with the time already formatted (a batch shares one).
fn hash_of(sequence: i64, recorded_at: &str, entry: &AuditEntry, prev_hash: &str) -> String {
    let canonical = serde_json::to_vec(&fields(sequence, recorded_at, entry, prev_hash))
        .expect("a tuple of strings and numbers serializes");
    hex::encode(sha2_v011::Sha256::digest(&canonical))
}

/// A record's fields up to its previous hash, in [`COLUMNS`] order.
type Fields<'a> = (
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
);

/// A record's fields up to its previous hash: what its hash covers, as a JSON array (a tuple
/// serializes as one, without building a value per field).
fn fields<'a>(
    sequence: i64,
    recorded_at: &'a str,
    e: &'a AuditEntry,
    prev_hash: &'a str,
) -> Fields<'a> {
    (
        sequence,
        recorded_at,
        &e.organization,
        &e.organization_kind,
        &e.role,
        e.person.as_deref(),
        e.municipality.as_deref(),
        e.case_id.as_deref(),
        &e.category,
        &e.action,
        &e.outcome,
        &e.purpose,
        &e.rpc,
        &e.request_id,
        &e.trace_id,
        prev_hash,
    )
}

/// The next links of the chain: a batch of entries with their sequences and hashes, stamped with
/// one time.
pub(crate) struct Links<'a> {
    pub recorded_at: DateTime<Utc>,
    /// `recorded_at` as stored and hashed (`sqlite::ts`).
    pub stamp: String,
    pub links: Vec<Link<'a>>,
}

/// One entry's place in the chain.
pub(crate) struct Link<'a> {
    pub sequence: i64,
    pub entry: &'a AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// `t` to the microsecond: what both backends store exactly, so a hash recomputes after a
/// read-back.
pub(crate) fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// Builds the next links of the chain after `(last_sequence, last_hash)`, stamped `now`.
pub(crate) fn link<'a>(
    last: Option<(i64, String)>,
    entries: &'a [AuditEntry],
    now: DateTime<Utc>,
) -> Links<'a> {
    let recorded_at = to_micros(now);
    let stamp = crate::sqlite::ts(recorded_at);
    let (mut sequence, mut prev) = last.unwrap_or((0, GENESIS.to_owned()));
    let links = entries
        .iter()
        .map(|entry| {
            sequence += 1;
            let hash = hash_of(sequence, &stamp, entry, &prev);
            Link {
                sequence,
                entry,
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
            }
        })
        .collect();
    Links {
        recorded_at,
        stamp,
        links,
    }
}

/// Where a chain check stands after some records: the last link seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub sequence: i64,
    pub hash: String,
}

impl Default for ChainHead {
    fn default() -> Self {
        Self {
            sequence: 0,
            hash: GENESIS.to_owned(),
        }
    }
}

/// Checks records (in sequence order) that follow `head`: each must come next, name the
/// previous hash, and hash to what it holds. `Err` is the sequence of the first broken link.
pub fn verify_chain(head: &ChainHead, records: &[AuditRecord]) -> Result<ChainHead, i64> {
    let mut head = head.clone();
    for r in records {
        let intact = r.sequence == head.sequence + 1
            && r.prev_hash == head.hash
            && record_hash(r.sequence, r.recorded_at, &r.entry, &r.prev_hash) == r.hash;
        if !intact {
            return Err(head.sequence + 1);
        }
        head = ChainHead {
            sequence: r.sequence,
            hash: r.hash.clone(),
        };
    }
    Ok(head)
}

/// The caller of the RPC in progress, as the audit names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub organization: String,
    pub organization_kind: String,
    pub role: String,
    pub person: Option<String>,
    pub municipality: Option<String>,
    pub purpose: String,
    pub rpc: String,
    pub request_id: String,
    pub trace_id: String,
}

/// The accesses of one RPC in progress, collected as the service reads and changes data.
#[derive(Debug)]
pub struct AuditScope {
    actor: Actor,
    accesses: Mutex<Vec<(String, Category)>>,
    /// Set when a change's transaction wrote the accesses (they need no read record then).
    written_by_change: Mutex<bool>,
}

tokio::task_local! {
    static SCOPE: Arc<AuditScope>;
}

impl AuditScope {
    pub fn new(actor: Actor) -> Arc<Self> {
        Arc::new(Self {
            actor,
            accesses: Mutex::default(),
            written_by_change: Mutex::default(),
        })
    }

    /// Runs `f` (the RPC handler) with this scope, so its accesses are recorded.
    pub async fn run<F: std::future::Future>(self: &Arc<Self>, f: F) -> F::Output {
        SCOPE.scope(self.clone(), f).await
    }

    /// What the call did to the data it touched: an update once a change was attempted.
    pub fn attempted_action(&self) -> Action {
        if *self
            .written_by_change
            .lock()
            .unwrap_or_else(|e| e.into_inner())
        {
            Action::Update
        } else {
            Action::Read
        }
    }

    /// The entries for every declared access, or none when a change already wrote them.
    pub fn entries(&self, action: Action, outcome: Outcome, skip_written: bool) -> Vec<AuditEntry> {
        if skip_written
            && *self
                .written_by_change
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        {
            return Vec::new();
        }
        let accesses = self.accesses.lock().unwrap_or_else(|e| e.into_inner());
        accesses
            .iter()
            .map(|(case_id, category)| {
                let a = &self.actor;
                AuditEntry {
                    organization: a.organization.clone(),
                    organization_kind: a.organization_kind.clone(),
                    role: a.role.clone(),
                    person: a.person.clone(),
                    municipality: a.municipality.clone(),
                    case_id: Some(case_id.clone()),
                    category: category.as_str().to_owned(),
                    action: action.as_str().to_owned(),
                    outcome: outcome.as_str().to_owned(),
                    purpose: a.purpose.clone(),
                    rpc: a.rpc.clone(),
                    request_id: a.request_id.clone(),
                    trace_id: a.trace_id.clone(),
                }
            })
            .collect()
    }
}

/// Declares, within an RPC, an access to a case's data of one category. Outside an RPC (tests,
/// background work) it does nothing.
pub fn touch(case_id: &str, category: Category) {
    let _ = SCOPE.try_with(|scope| {
        let mut accesses = scope.accesses.lock().unwrap_or_else(|e| e.into_inner());
        if !accesses.iter().any(|(c, k)| c == case_id && *k == category) {
            accesses.push((case_id.to_owned(), category));
        }
    });
}

/// Undoes [`for_change`]'s mark when the transaction that asked is rolled back because the change
/// lost a race (it found no row at the version it expected): the call then records its accesses
/// as one that changed nothing, as it would had it stopped before appending.
pub(crate) fn change_rolled_back() {
    let _ = SCOPE.try_with(|scope| {
        *scope
            .written_by_change
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = false;
    });
}

/// The audit entries a change's transaction appends with its events: the accesses of the RPC in
/// progress, as a create or an update. Every transaction that changes data appends events
/// exactly once, so a retried transaction writes them again and a rolled-back one leaves none.
pub(crate) fn for_change(events: &[NewEvent]) -> Vec<AuditEntry> {
    let creates = events.iter().any(|e| {
        e.event_type.ends_with(".opened")
            || e.event_type.ends_with("_created")
            || e.event_type.ends_with(".created")
    });
    let action = if creates {
        Action::Create
    } else {
        Action::Update
    };
    SCOPE
        .try_with(|scope| {
            *scope
                .written_by_change
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = true;
            scope.entries(action, Outcome::Success, false)
        })
        .unwrap_or_default()
}

/// The audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends entries (for reads), and returns once they survive a crash of kia's process,
    /// without waiting for the disk. SQLite on disk: they are written to the read log
    /// (`crate::read_log`), flushed in the background within 10 ms, and join the trail within
    /// about 10 ms, and before any read of the trail or any change; where the log cannot be
    /// used, they are committed in a transaction of their own, its WAL frames written to the
    /// file (the kernel has them) and flushed in the background. PostgreSQL: a transaction with
    /// `synchronous_commit = off`; the server's WAL writer flushes within three
    /// `wal_writer_delay`s, and a crash of the server may lose what it had not. A power loss
    /// loses only the newest records, a tail of the chain, never one in the middle.
    async fn append_audit(&self, entries: &[AuditEntry]) -> StoreResult<()>;

    /// [`AuditStore::append_audit`] at once on the calling thread, where the backend can do it
    /// without waiting (SQLite's open read log: one `write`); `None` where it cannot, and the
    /// caller goes the async way. Saves a read the hand-off to a writer task and back.
    fn append_audit_now(&self, _entries: &[AuditEntry]) -> Option<StoreResult<()>> {
        None
    }

    /// Records of the given cases after `after`, in sequence order, at most `limit`.
    async fn audit_of_cases(
        &self,
        cases: &[String],
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditRecord>>;

    /// The whole chain after `after`, in sequence order, at most `limit` (for verification).
    async fn audit_chain(&self, after: i64, limit: u32) -> StoreResult<Vec<AuditRecord>>;
}

const COLUMNS: &str = "sequence, recorded_at, organization, organization_kind, role, person, \
     municipality, case_id, category, action, outcome, purpose, rpc, request_id, trace_id, \
     prev_hash, hash";

fn entry_of(row: &impl RowAccess) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        organization: row.text("organization")?,
        organization_kind: row.text("organization_kind")?,
        role: row.text("role")?,
        person: row.opt_text("person")?,
        municipality: row.opt_text("municipality")?,
        case_id: row.opt_text("case_id")?,
        category: row.text("category")?,
        action: row.text("action")?,
        outcome: row.text("outcome")?,
        purpose: row.text("purpose")?,
        rpc: row.text("rpc")?,
        request_id: row.text("request_id")?,
        trace_id: row.text("trace_id")?,
    })
}

/// Binds a record's columns after `sequence` and `recorded_at` (whose types differ by backend),
/// in [`COLUMNS`] order.
macro_rules! bind_entry {
    ($query:expr, $r:expr) => {{
        let (e, r) = (&$r.entry, &$r);
        $query
            .bind(&e.organization)
            .bind(&e.organization_kind)
            .bind(&e.role)
            .bind(&e.person)
            .bind(&e.municipality)
            .bind(&e.case_id)
            .bind(&e.category)
            .bind(&e.action)
            .bind(&e.outcome)
            .bind(&e.purpose)
            .bind(&e.rpc)
            .bind(&e.request_id)
            .bind(&e.trace_id)
            .bind(&r.prev_hash)
            .bind(&r.hash)
    }};
}

// ---------------------------------------------------------------------------------------------
// SQLite: the one writer connection serializes appends.

pub(crate) mod sqlite_impl {
    use super::*;
    use crate::read_log::{Group, INGEST_DELAY, Mark};
    use crate::{SqliteStore, StoreError};
    use sqlx::Row as _;

    /// Reads the chain's head: the row [`insert_after`] links to (none in an empty chain), and
    /// how far the case index reaches. Its columns are named so the row is told apart from
    /// those of statements before it.
    pub(crate) const HEAD: &str = "SELECT sequence AS head_sequence, hash AS head_hash,
             (SELECT sequence FROM audit_case_index_upto) AS head_indexed
         FROM audit_events ORDER BY sequence DESC LIMIT 1";

    /// Adds the records after the case index's mark to it (see the migration
    /// `20261201000001_audit_case_index.sql`). Entries of many records land on the same leaves
    /// together, instead of a leaf written for nearly every record.
    /// Outside a transaction (the pool's path for read records) its statements commit one by
    /// one; OR IGNORE lets the next run finish one that was cut off between them.
    const INDEX_TAIL: &str = "INSERT OR IGNORE INTO audit_case_index (case_id, sequence)
             SELECT case_id, sequence FROM audit_events
             WHERE sequence > (SELECT sequence FROM audit_case_index_upto)
               AND case_id IS NOT NULL;
         UPDATE audit_case_index_upto
             SET sequence = (SELECT COALESCE(MAX(sequence), 0) FROM audit_events);";

    /// The row [`HEAD`] returns: the chain's last link, and the case index's mark.
    struct Head {
        last: (i64, String),
        indexed: i64,
    }

    /// Decodes [`HEAD`]'s row, from either connection kind.
    fn head_of(row: &(impl crate::RowAccess + ?Sized)) -> StoreResult<Head> {
        Ok(Head {
            last: (row.int("head_sequence")?, row.text("head_hash")?),
            indexed: row.int("head_indexed")?,
        })
    }

    /// Whether an append after `head` of `appended` records leaves enough of the trail
    /// unindexed to index it now.
    fn index_due(head: Option<&Head>, appended: usize) -> bool {
        let (sequence, indexed) = head.map_or((0, 0), |h| (h.last.0, h.indexed));
        let appended = i64::try_from(appended).unwrap_or(i64::MAX);
        sequence.saturating_add(appended) - indexed >= CASE_INDEX_BATCH
    }

    /// Whether a row is the one [`HEAD`] returns.
    pub(crate) fn is_head(row: &sqlx::sqlite::SqliteRow) -> bool {
        row.try_column("head_hash").is_ok()
    }

    /// Appends entries on the write connection: in its transaction, or, outside one, as one
    /// statement that is a transaction of its own.
    pub(crate) async fn insert(
        tx: &mut sqlx::SqliteConnection,
        entries: &[AuditEntry],
    ) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let head = sqlx::query(HEAD).fetch_optional(&mut *tx).await?;
        insert_after(tx, head, entries).await
    }

    /// Appends entries after `head`, the row [`HEAD`] read in the same transaction (or while
    /// holding the write connection).
    pub(crate) async fn insert_after(
        tx: &mut sqlx::SqliteConnection,
        head: Option<sqlx::sqlite::SqliteRow>,
        entries: &[AuditEntry],
    ) -> StoreResult<()> {
        let head = head.as_ref().map(head_of).transpose()?;
        let due = index_due(head.as_ref(), entries.len());
        let mut sql = INSERT.clone();
        if due {
            sql.push(';');
            sql.push_str(INDEX_TAIL);
        }
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rows_json(head.map(|h| h.last), entries)?)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// Appends a batch on the store's inline writer, on the calling thread (see
    /// [`crate::inline`]); `Ok(false)` when it could not, and nothing was written.
    fn insert_inline(store: &SqliteStore, entries: &[AuditEntry]) -> StoreResult<bool> {
        let Some(inline) = &store.inline_writer else {
            return Ok(false);
        };
        let appended = inline.transaction(|tx| append_on(tx, &[(Utc::now(), entries)]))?;
        Ok(appended.is_some())
    }

    /// Appends groups of entries, each stamped with its time, after the chain's head, in the
    /// inline writer's transaction `tx`.
    fn append_on(
        tx: &rusqlite::Transaction<'_>,
        groups: &[(DateTime<Utc>, &[AuditEntry])],
    ) -> StoreResult<()> {
        let mut read_head = tx.prepare_cached(HEAD)?;
        let head = read_head
            .query([])?
            .next()?
            .map(|row| head_of(&crate::NamedRow::new(row)))
            .transpose()?;
        let appended = groups.iter().map(|(_, entries)| entries.len()).sum();
        let due = index_due(head.as_ref(), appended);
        let mut last = head.map(|h| h.last);
        // On this connection a statement is a call, not a hand-off to another thread: a row
        // per statement, with its values bound, costs less than parsing them from JSON.
        let mut insert = tx.prepare_cached(&INSERT_ROW)?;
        for (at, entries) in groups.iter().filter(|(_, entries)| !entries.is_empty()) {
            let links = link(last.take(), entries, *at);
            for r in &links.links {
                let e = r.entry;
                insert.execute(rusqlite::params![
                    r.sequence,
                    links.stamp,
                    e.organization,
                    e.organization_kind,
                    e.role,
                    e.person,
                    e.municipality,
                    e.case_id,
                    e.category,
                    e.action,
                    e.outcome,
                    e.purpose,
                    e.rpc,
                    e.request_id,
                    e.trace_id,
                    r.prev_hash,
                    r.hash,
                ])?;
            }
            last = links.links.last().map(|r| (r.sequence, r.hash.clone()));
        }
        if due {
            tx.execute_batch(INDEX_TAIL)?;
        }
        Ok(())
    }

    /// The read log's mark: how far the trail has taken it in.
    fn read_mark(tx: &rusqlite::Transaction<'_>) -> StoreResult<Mark> {
        let (generation, position): (i64, i64) = tx.query_row(
            "SELECT generation, position FROM audit_read_log",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(Mark {
            generation,
            position: u64::try_from(position).map_err(StoreError::corrupt)?,
        })
    }

    fn set_read_mark(tx: &rusqlite::Transaction<'_>, mark: Mark) -> StoreResult<()> {
        let position = i64::try_from(mark.position).map_err(StoreError::corrupt)?;
        tx.execute(
            "UPDATE audit_read_log SET generation = ?1, position = ?2",
            rusqlite::params![mark.generation, position],
        )?;
        Ok(())
    }

    /// The groups as [`append_on`] takes them.
    fn stamped(groups: &[Group]) -> Vec<(DateTime<Utc>, &[AuditEntry])> {
        groups
            .iter()
            .map(|g| (g.at, g.entries.as_slice()))
            .collect()
    }

    impl SqliteStore {
        /// Opens the read log, once: what the last run left in it past the trail's mark joins
        /// the trail first. The caller holds the write lock. `Ok(false)`: not opened (no read
        /// log, or another process is writing); the records of reads go to the trail directly.
        pub(crate) fn open_read_log(&self) -> StoreResult<bool> {
            let (Some(log), Some(inline)) = (&self.read_log, &self.inline_writer) else {
                return Ok(false);
            };
            if !log.is_unopened() {
                return Ok(true);
            }
            if !log.claim()? {
                return Ok(false);
            }
            let recovered = inline.transaction(|tx| {
                let recovered = log.recover(read_mark(tx)?)?;
                append_on(tx, &stamped(&recovered.groups))?;
                set_read_mark(tx, recovered.next)?;
                Ok(recovered)
            })?;
            let Some(recovered) = recovered else {
                return Ok(false);
            };
            // The file they came from is about to start over: they must be on disk first.
            crate::wal_sync::flush_wal_now(inline.file())?;
            let records: usize = recovered.groups.iter().map(|g| g.entries.len()).sum();
            if records > 0 || recovered.skipped > 0 {
                tracing::info!(
                    records,
                    skipped_lines = recovered.skipped,
                    "read records left in the read log joined the audit trail"
                );
            }
            log.start(recovered.next)?;
            Ok(true)
        }

        /// Moves what the read log holds into the trail, and starts the file over when it is
        /// due. The caller holds the write lock. Records the database cannot take now (another
        /// process is writing) stay for the next time.
        pub(crate) fn ingest_reads(&self) -> StoreResult<()> {
            let (Some(log), Some(inline)) = (&self.read_log, &self.inline_writer) else {
                return Ok(());
            };
            let mut wrote = false;
            while let Some((groups, mark)) = log.take() {
                let result = inline.transaction(|tx| {
                    append_on(tx, &stamped(&groups))?;
                    set_read_mark(tx, mark)
                });
                match result {
                    Ok(Some(())) => wrote = true,
                    Ok(None) => {
                        log.put_back(groups);
                        break;
                    }
                    Err(err) => {
                        log.put_back(groups);
                        return Err(err);
                    }
                }
            }
            // No flush of these commits: until the file starts over, the read log (flushed on
            // its own) holds every record they took in, and the next start takes in again what
            // a power cut left out of the trail. Before the file starts over, they must be on disk.
            log.rotate_if_due(|next| {
                if inline.transaction(|tx| set_read_mark(tx, next))?.is_none() {
                    return Ok(false);
                }
                crate::wal_sync::flush_wal_now(inline.file())?;
                Ok(true)
            })?;
            if wrote {
                self.checkpoint_soon();
            }
            Ok(())
        }

        /// Before a read of the trail: every record of an answered read joins it first. Always
        /// through the write lock, even with nothing waiting in the log: records an ingest has
        /// taken out of it join only when that ingest commits, under the lock.
        async fn settle_reads(&self) -> StoreResult<()> {
            if self.read_log.is_none() {
                return Ok(());
            }
            let _writing = self.writing().await;
            if self.open_read_log()? {
                self.ingest_reads()?;
            }
            Ok(())
        }

        /// Takes the read log in soon, on a thread of the blocking pool ([`INGEST_DELAY`]),
        /// unless that is scheduled already.
        fn ingest_soon(&self) {
            let Some(log) = &self.read_log else {
                return;
            };
            if !log.schedule() {
                return;
            }
            let store = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(INGEST_DELAY).await;
                let writing = store.writing().await;
                if let Some(log) = &store.read_log {
                    log.unschedule();
                }
                let ingested = tokio::task::spawn_blocking(move || {
                    let result = store.ingest_reads();
                    drop(writing);
                    (store, result)
                })
                .await;
                match ingested {
                    Ok((store, result)) => {
                        if let Err(err) = result {
                            tracing::warn!(error = %err, "moving read records into the audit trail");
                        }
                        // Left behind (the database was busy, or failed): try again.
                        if store.read_log.as_ref().is_some_and(|log| log.has_pending()) {
                            store.ingest_soon();
                        }
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "moving read records into the audit trail")
                    }
                }
            });
        }
    }

    /// The batch insert: one statement whose one parameter holds the rows as JSON (see
    /// [`rows_json`]). A statement per row would, on the pool's connection, hand each row to the
    /// connection's thread and back.
    static INSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let hashed = COLUMNS.split(',').count() - 1;
        let values: Vec<String> = (0..hashed)
            .map(|i| format!("json_extract(value, '$[0][{i}]')"))
            .chain(["json_extract(value, '$[1]')".to_owned()])
            .collect();
        format!(
            "INSERT INTO audit_events ({COLUMNS}) SELECT {} FROM json_each(?)",
            values.join(", ")
        )
    });

    /// One record, its values bound in COLUMNS order (the inline writer's insert).
    static INSERT_ROW: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let values: Vec<String> = (1..=COLUMNS.split(',').count())
            .map(|i| format!("?{i}"))
            .collect();
        format!(
            "INSERT INTO audit_events ({COLUMNS}) VALUES ({})",
            values.join(", ")
        )
    });

    /// The records of `entries` linked after `last`, as [`INSERT`]'s parameter: an array of
    /// `[fields, hash]`.
    fn rows_json(last: Option<(i64, String)>, entries: &[AuditEntry]) -> StoreResult<String> {
        let links = link(last, entries, Utc::now());
        let rows: Vec<_> = links
            .links
            .iter()
            .map(|r| {
                let fields = fields(r.sequence, &links.stamp, r.entry, &r.prev_hash);
                (fields, r.hash.as_str())
            })
            .collect();
        serde_json::to_string(&rows).map_err(|e| StoreError::Other(e.to_string()))
    }

    fn record(row: &sqlx::sqlite::SqliteRow) -> StoreResult<AuditRecord> {
        Ok(AuditRecord {
            sequence: row.try_get("sequence")?,
            recorded_at: crate::parse_ts(row.try_get("recorded_at")?)?,
            entry: entry_of(row)?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        })
    }

    #[async_trait]
    impl AuditStore for SqliteStore {
        async fn append_audit(&self, entries: &[AuditEntry]) -> StoreResult<()> {
            if entries.is_empty() {
                return Ok(());
            }
            if let Some(log) = &self.read_log
                && log.is_unopened()
            {
                let _writing = self.writing().await;
                self.open_read_log()?;
            }
            if let Some(appended) = self.append_audit_now(entries) {
                return appended;
            }
            // From reading the chain's head to the insert, every other writer of this process
            // stays out, whichever connection appends.
            let writing = self.writing().await;
            if !insert_inline(self, entries)? {
                // On the pool's connection, no BEGIN and COMMIT, each a round trip to the
                // connection's thread: the insert is one statement, so a transaction of its own.
                let mut writer = self.writer.acquire().await?;
                insert(&mut writer, entries).await?;
            }
            drop(writing);
            self.flush_soon();
            Ok(())
        }

        fn append_audit_now(&self, entries: &[AuditEntry]) -> Option<StoreResult<()>> {
            let log = self.read_log.as_ref()?;
            if entries.is_empty() {
                return Some(Ok(()));
            }
            match log.append(Utc::now(), entries) {
                Ok(true) => {
                    log.flush_soon();
                    self.ingest_soon();
                    Some(Ok(()))
                }
                // Not open (yet, or any more), or too much waits: the async way decides.
                Ok(false) => None,
                Err(err) => Some(Err(err)),
            }
        }

        async fn audit_of_cases(
            &self,
            cases: &[String],
            after: i64,
            limit: u32,
        ) -> StoreResult<Vec<AuditRecord>> {
            self.settle_reads().await?;
            let cases = serde_json::to_string(cases).map_err(StoreError::corrupt)?;
            // The case index up to its mark, and the trail's tail after it (see INDEX_TAIL).
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_events WHERE sequence IN (
                     SELECT sequence FROM audit_case_index
                     WHERE case_id IN (SELECT value FROM json_each(?1)) AND sequence > ?2
                     UNION ALL
                     SELECT sequence FROM audit_events
                     WHERE sequence > MAX(?2, (SELECT sequence FROM audit_case_index_upto))
                       AND case_id IN (SELECT value FROM json_each(?1)))
                 ORDER BY sequence LIMIT ?3"
            )))
            .bind(cases)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await?
            .iter()
            .map(record)
            .collect()
        }

        async fn audit_chain(&self, after: i64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
            self.settle_reads().await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_events WHERE sequence > ? ORDER BY sequence LIMIT ?"
            )))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await?
            .iter()
            .map(record)
            .collect()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a transaction-scoped advisory lock serializes appends, like the event log's.

pub(crate) mod postgres_impl {
    use super::*;
    use crate::PostgresStore;
    use sqlx::Row as _;

    /// The advisory-lock key that serializes audit appends. "kia-audt" in ASCII.
    const AUDIT_LOCK: i64 = 0x6b69_612d_6175_6474;

    /// Appends entries in a transaction, holding the audit lock until it ends.
    pub(crate) async fn insert(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        entries: &[AuditEntry],
    ) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK)
            .execute(&mut **tx)
            .await?;
        let last =
            sqlx::query("SELECT sequence, hash FROM audit_events ORDER BY sequence DESC LIMIT 1")
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| Ok::<_, sqlx::Error>((r.try_get("sequence")?, r.try_get("hash")?)))
                .transpose()?;
        let links = link(last, entries, Utc::now());
        for r in &links.links {
            let query = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO audit_events ({COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
            )))
            .bind(r.sequence)
            .bind(links.recorded_at);
            bind_entry!(query, r).execute(&mut **tx).await?;
        }
        Ok(())
    }

    fn record(row: &sqlx::postgres::PgRow) -> StoreResult<AuditRecord> {
        Ok(AuditRecord {
            sequence: row.try_get("sequence")?,
            recorded_at: row.try_get("recorded_at")?,
            entry: entry_of(row)?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        })
    }

    #[async_trait]
    impl AuditStore for PostgresStore {
        async fn append_audit(&self, entries: &[AuditEntry]) -> StoreResult<()> {
            let mut tx = self.pool.begin().await?;
            // Committed and visible at once; the WAL writer makes it durable within three
            // `wal_writer_delay`s, and any later synchronous commit (every change) covers it.
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
            insert(&mut tx, entries).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn audit_of_cases(
            &self,
            cases: &[String],
            after: i64,
            limit: u32,
        ) -> StoreResult<Vec<AuditRecord>> {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_events
                 WHERE case_id = ANY($1) AND sequence > $2 ORDER BY sequence LIMIT $3"
            )))
            .bind(cases)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(record)
            .collect()
        }

        async fn audit_chain(&self, after: i64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_events WHERE sequence > $1 ORDER BY sequence LIMIT $2"
            )))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(record)
            .collect()
        }
    }
}
