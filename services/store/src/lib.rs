//! kia-store: persistence behind one trait, with an embedded SQLite backend (the default) and a
//! PostgreSQL backend (production and scale-out). Both pass the same conformance suite
//! (`tests/conformance.rs`).
//!
//! Every change appends its domain event to the event log in the same transaction.

mod alerts;
pub mod audit;
pub mod ceiling;
mod checkpoint;
mod contracting;
mod error;
mod inline;
mod plan;
mod postgres;
mod read_log;
mod screening;
mod sqlite;
pub mod testing;
mod wal_sync;

/// Rows per multi-row statement (alerts, events, schedule rows): under SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters at 15 a row.
const ROWS_PER_STATEMENT: usize = 1000;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kia_domain::case::{Case, CaseId, CaseState, MunicipalityCode};
use serde::{Deserialize, Serialize};

pub use alerts::{
    ALERT_PARTITIONS, Acknowledged, AlertChange, AlertChangeKind, AlertFilter, AlertInputs,
    AlertRecord, AlertState, AlertStore, CaseEvaluation, OpenAlertStats, alert_event,
    alert_partition,
};
pub use audit::AuditStore;
pub use contracting::{
    Admission, ContractFilter, ContractingStore, ProviderRecord, ReferralFilter, ReferralRecord,
    Referred,
};
pub use error::StoreError;
pub use plan::{PlanAccess, PlanGrant, PlanStore, plan_event};
pub use postgres::PostgresStore;
pub use screening::{GroupRecord, ScreeningRecord, ScreeningStore};
pub use sqlite::SqliteStore;

pub type StoreResult<T> = Result<T, StoreError>;

/// An AIP-155 request id, scoped to the caller and method that used it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Who used the key for what, e.g. `org:jc-630/CreateCase`.
    pub scope: String,
    pub request_id: String,
    /// A digest of the request's parameters: the same key with another digest is refused.
    pub fingerprint: String,
}

/// The result of an idempotent create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created<T> {
    /// Created now.
    New(T),
    /// The request id was seen before with the same parameters: the first result.
    Replayed(T),
}

impl<T> Created<T> {
    pub fn into_inner(self) -> T {
        match self {
            Self::New(t) | Self::Replayed(t) => t,
        }
    }
}

/// Which cases to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    pub municipality: Option<MunicipalityCode>,
    pub state: Option<CaseState>,
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Grows with every append; a reader resumes after the last position it saw.
    pub position: i64,
    pub stream_type: String,
    pub stream_id: String,
    pub event_type: String,
    pub municipality: Option<String>,
    pub payload: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
}

/// An event to append, in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub stream_type: &'static str,
    pub stream_id: String,
    pub event_type: &'static str,
    pub municipality: Option<String>,
    pub payload: serde_json::Value,
}

impl NewEvent {
    /// The event of a recorded case change.
    pub fn case_changed(case: &Case, change: &kia_domain::case::CaseChange) -> Self {
        Self {
            stream_type: "case",
            stream_id: case.id.to_string(),
            event_type: change.event_type(),
            municipality: Some(case.intake.municipality.to_string()),
            payload: change.event_payload(),
        }
    }

    pub fn case_opened(case: &Case) -> Self {
        Self {
            stream_type: "case",
            stream_id: case.id.to_string(),
            event_type: "case.opened",
            municipality: Some(case.intake.municipality.to_string()),
            // No citizen reference in events: watchers and the alert engine need none.
            payload: serde_json::json!({
                "first_sick_day": case.intake.first_sick_day,
                "employment_status": case.intake.employment_status.as_str(),
            }),
        }
    }
}

/// A citizen's CPR number as kia keeps it: never in clear text.
#[derive(Clone, PartialEq, Eq)]
pub struct CitizenIdentity {
    /// A keyed hash (HMAC-SHA256, hex): tells whether a citizen is already known.
    pub hash: String,
    /// The number encrypted (AEAD) for the roles that may see it.
    pub sealed: String,
}

impl std::fmt::Debug for CitizenIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CitizenIdentity(..)")
    }
}

/// Pool and timeout settings for either backend.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Largest number of connections (the read pool on SQLite).
    pub max_connections: u32,
    /// How long a call waits for a free connection.
    pub acquire_timeout: Duration,
    /// Longest a single statement may run (PostgreSQL `statement_timeout`; SQLite busy timeout).
    pub statement_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

#[async_trait]
/// Sickness-benefit cases.
pub trait CaseStore: Send + Sync {
    /// Stores a new case and its `case.opened` event; with a key, a retry returns the first case.
    async fn create_case(
        &self,
        case: &Case,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<Case>> {
        self.create_citizen_case(case, key, None).await
    }

    /// [`CaseStore::create_case`], with the citizen's CPR number as a keyed hash and sealed.
    async fn create_citizen_case(
        &self,
        case: &Case,
        key: Option<&IdempotencyKey>,
        citizen: Option<&CitizenIdentity>,
    ) -> StoreResult<Created<Case>>;

    /// The cases of a municipality whose citizen has this CPR hash, oldest first.
    async fn cases_of_citizen(
        &self,
        municipality: &MunicipalityCode,
        cpr_hash: &str,
    ) -> StoreResult<Vec<CaseId>>;

    /// The sealed CPR number of a case, if one was given at intake.
    async fn sealed_cpr(&self, case: CaseId) -> StoreResult<Option<String>>;

    async fn get_case(&self, id: CaseId) -> StoreResult<Option<Case>>;

    /// Up to `limit` cases after `after` in id (= creation) order.
    async fn list_cases(
        &self,
        filter: &CaseFilter,
        after: Option<CaseId>,
        limit: u32,
    ) -> StoreResult<Vec<Case>>;

    /// Open cases per municipality and category (for the open-cases gauge), in that order.
    async fn open_case_counts(&self) -> StoreResult<Vec<OpenCaseCount>>;

    /// Saves a changed case if it is still at `expected_version`, with the event recording the
    /// change, in one transaction. A concurrent change wins: [`StoreError::Stale`].
    async fn update_case(
        &self,
        case: &Case,
        expected_version: i64,
        event: &NewEvent,
    ) -> StoreResult<()>;
}

/// kia's storage: one trait per aggregate (cases here; each service's own in its module),
/// implemented by [`SqliteStore`] and [`PostgresStore`], plus what every service shares: the
/// event log, leases, migrations.
#[async_trait]
pub trait Store:
    CaseStore
    + ScreeningStore
    + PlanStore
    + ContractingStore
    + AuditStore
    + AlertStore
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    /// The backend's name, for logs and metrics: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations. Safe to call from several replicas at once.
    async fn migrate(&self) -> StoreResult<()>;

    /// Up to `limit` events with a position greater than `after`, in position order.
    async fn events_after(&self, after: i64, limit: u32) -> StoreResult<Vec<StoredEvent>>;

    /// The position of the last event (0 when the log is empty).
    async fn last_event_position(&self) -> StoreResult<i64>;

    /// Claims those of the named leases that are free, expired, or already held by `holder`,
    /// until `now + ttl`; returns the names claimed. On PostgreSQL rows another replica is
    /// claiming at the same moment are skipped (FOR UPDATE SKIP LOCKED), never waited for.
    async fn claim_leases(
        &self,
        names: &[String],
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Vec<String>>;

    /// Gives up leases `holder` holds, so another replica may take them at once.
    async fn release_leases(&self, names: &[String], holder: &str) -> StoreResult<()>;

    /// Flushes and closes: checkpoints the SQLite WAL, closes the pools.
    async fn close(&self);

    /// Connections of each pool right now (for the connection gauges).
    fn pool_connections(&self) -> Vec<PoolConnections>;
}

/// Open cases of one municipality in one visitation category (`None`: not visitated yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCaseCount {
    pub municipality: String,
    /// "1", "2", "3" as stored in the `category` column.
    pub category: Option<String>,
    pub count: i64,
}

/// One connection pool's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConnections {
    /// `writer` / `readers` (SQLite) or `main` (PostgreSQL).
    pub pool: &'static str,
    pub used: u32,
    pub idle: u32,
    pub max: u32,
}

impl PoolConnections {
    fn of<DB: sqlx::Database>(pool: &'static str, p: &sqlx::Pool<DB>) -> Self {
        let idle = u32::try_from(p.num_idle()).unwrap_or(u32::MAX);
        Self {
            pool,
            used: p.size().saturating_sub(idle),
            idle,
            max: p.options().get_max_connections(),
        }
    }
}

/// Opens the store a database URL names: `sqlite://PATH` or `postgres://...`.
pub async fn open(url: &str, options: &StoreOptions) -> StoreResult<std::sync::Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PostgresStore::connect(url, options)?))
    } else if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(SqliteStore::open(url, options).await?))
    } else {
        Err(StoreError::Other(
            "database URL must start with sqlite: or postgres://".to_owned(),
        ))
    }
}

/// The stored form of a case's current category ("1", "2", "3"), for filtering and metrics.
fn category_column(case: &Case) -> Option<&'static str> {
    use kia_domain::facts::Category;
    case.category().map(|c| match c {
        Category::One => "1",
        Category::Two => "2",
        Category::Three => "3",
    })
}

/// Reads a stored timestamp written as RFC 3339 (SQLite keeps timestamps as text).
fn parse_ts(raw: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::corrupt(format!("timestamp {raw:?}: {e}")))
}

/// Reads columns the same way from either backend's rows and from the SQLite point reader's.
trait RowAccess {
    fn text(&self, col: &str) -> StoreResult<String>;
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
    fn int(&self, col: &str) -> StoreResult<i64>;
}

macro_rules! sqlx_row_access {
    ($row:ty) => {
        impl RowAccess for $row {
            fn text(&self, col: &str) -> StoreResult<String> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn int(&self, col: &str) -> StoreResult<i64> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
        }
    };
}
sqlx_row_access!(sqlx::sqlite::SqliteRow);
sqlx_row_access!(sqlx::postgres::PgRow);

/// A row with its statement's column names read once. rusqlite finds a column by name with a
/// call into SQLite (which takes the connection's mutex) for every column it passes, for every
/// value read: for a case and its plan, most of a point read's decoding.
pub(crate) struct NamedRow<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    names: Vec<&'r str>,
}

impl<'r, 's> NamedRow<'r, 's> {
    pub(crate) fn new(row: &'r rusqlite::Row<'s>) -> Self {
        Self {
            names: row.as_ref().column_names(),
            row,
        }
    }

    fn get<T: rusqlite::types::FromSql>(&self, col: &str) -> StoreResult<T> {
        let index = (self.names.iter().position(|name| *name == col))
            .ok_or_else(|| StoreError::corrupt(format!("no column {col}")))?;
        self.row.get(index).map_err(StoreError::corrupt)
    }
}

impl RowAccess for NamedRow<'_, '_> {
    fn text(&self, col: &str) -> StoreResult<String> {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.get(col)
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.get(col)
    }
}

/// The columns of a stored case, as either backend reads them.
struct CaseRow {
    id: String,
    municipality: String,
    first_sick_day: chrono::NaiveDate,
    employment_status: String,
    employer_reference: Option<String>,
    citizen_reference: String,
    state: String,
    facts: kia_domain::facts::CaseFacts,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

/// A case's facts that do not decode.
fn corrupt_facts(case: &str, err: serde_json::Error) -> StoreError {
    StoreError::corrupt(format!("case {case}: facts: {err}"))
}

impl CaseRow {
    fn into_case(self) -> StoreResult<Case> {
        use kia_domain::case::{CaseIntake, EmploymentStatus, ExternalReference};
        let bad = |what: &str| StoreError::corrupt(format!("case {}: {what}", self.id));
        let reference = |r: &str| ExternalReference::parse(r).map_err(&bad);
        Ok(Case {
            id: self.id.parse().map_err(|_| bad("id"))?,
            intake: CaseIntake {
                municipality: MunicipalityCode::parse(&self.municipality).map_err(bad)?,
                first_sick_day: self.first_sick_day,
                employment_status: EmploymentStatus::from_str_opt(&self.employment_status)
                    .ok_or_else(|| bad("employment_status"))?,
                employer_reference: self
                    .employer_reference
                    .as_deref()
                    .map(reference)
                    .transpose()?,
                citizen_reference: reference(&self.citizen_reference)?,
            },
            state: CaseState::from_str_opt(&self.state).ok_or_else(|| bad("state"))?,
            facts: self.facts,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}
