//! The PostgreSQL backend: production and scale-out, any number of replicas on one database.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::Utc;
use kia_domain::case::{Case, CaseId, MunicipalityCode};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use crate::{
    CaseFilter, CaseRow, CaseStore, CitizenIdentity, Created, IdempotencyKey, NewEvent,
    OpenCaseCount, PoolConnections, Store, StoreError, StoreOptions, StoreResult, StoredEvent,
    category_column,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The advisory-lock key that orders event appends (see `append`). "kia-evts" in ASCII.
const EVENT_LOG_LOCK: i64 = 0x6b69_612d_6576_7473;

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

impl PostgresStore {
    /// Builds the pool without connecting: the daemon starts, reports NOT_SERVING, and connects
    /// (and migrates) as soon as the database answers.
    pub fn connect(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        Ok(Self {
            pool: lazy_pool(url, options)?,
        })
    }
}

/// kia's pool: lazily connecting, with the statement timeout. The write ceiling of `kia bench`
/// uses the same settings.
pub(crate) fn lazy_pool(url: &str, options: &StoreOptions) -> StoreResult<PgPool> {
    let timeout_ms = options.statement_timeout.as_millis().to_string();
    let connect = PgConnectOptions::from_str(url)?
        .application_name("kia")
        .options([("statement_timeout", timeout_ms.as_str())]);
    Ok(PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.acquire_timeout)
        .connect_lazy_with(connect))
}

pub(crate) fn case_row(row: &PgRow) -> StoreResult<Case> {
    let id = row.try_get::<uuid::Uuid, _>("id")?.to_string();
    let facts = row.try_get::<sqlx::types::Json<serde_json::Value>, _>("facts")?;
    CaseRow {
        facts: serde_json::from_value(facts.0).map_err(|e| crate::corrupt_facts(&id, e))?,
        id,
        municipality: row.try_get("municipality")?,
        first_sick_day: row.try_get("first_sick_day")?,
        employment_status: row.try_get("employment_status")?,
        employer_reference: row.try_get("employer_reference")?,
        citizen_reference: row.try_get("citizen_reference")?,
        state: row.try_get("state")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        version: row.try_get("version")?,
    }
    .into_case()
}

/// Appends events as the last step of a transaction.
///
/// The trap: a sequence hands out positions at insert time, but transactions commit in any
/// order, so a reader that saw position 11 may later miss position 10 committed after it. The
/// transaction-scoped advisory lock, held from drawing the position until commit, makes positions
/// become visible strictly in order. Appends are the only serialized step, and they come last.
pub(crate) async fn append(
    tx: &mut Transaction<'_, Postgres>,
    events: &[NewEvent],
) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(EVENT_LOG_LOCK)
        .execute(&mut **tx)
        .await?;
    let recorded_at = Utc::now();
    for chunk in events.chunks(crate::ROWS_PER_STATEMENT) {
        sqlx::QueryBuilder::<Postgres>::new(
            "INSERT INTO events (stream_type, stream_id, event_type, municipality, payload,
                recorded_at) ",
        )
        .push_values(chunk, |mut row, event| {
            row.push_bind(event.stream_type)
                .push_bind(event.stream_id.clone())
                .push_bind(event.event_type)
                .push_bind(event.municipality.clone())
                .push_bind(sqlx::types::Json(event.payload.clone()))
                .push_bind(recorded_at);
        })
        .build()
        .execute(&mut **tx)
        .await?;
    }
    // The change's audit records, in its own transaction (under the audit chain's lock).
    crate::audit::postgres_impl::insert(tx, &crate::audit::for_change(events)).await
}

/// Records, in the transaction that creates it, which resource a request id produces. Done
/// first: a concurrent retry with the same key waits on it, then fails with a unique violation.
pub(crate) async fn remember_key(
    tx: &mut Transaction<'_, Postgres>,
    key: &IdempotencyKey,
    resource_id: &str,
    at: chrono::DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys (scope, request_id, fingerprint, resource_id, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&key.scope)
    .bind(&key.request_id)
    .bind(&key.fingerprint)
    .bind(resource_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn replayed(
    tx: &mut Transaction<'_, Postgres>,
    key: &IdempotencyKey,
) -> StoreResult<Option<uuid::Uuid>> {
    let row = sqlx::query(
        "SELECT fingerprint, resource_id FROM idempotency_keys WHERE scope = $1 AND request_id = $2",
    )
    .bind(&key.scope)
    .bind(&key.request_id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        None => Ok(None),
        Some(row) if row.try_get::<String, _>("fingerprint")? == key.fingerprint => {
            let id: String = row.try_get("resource_id")?;
            Ok(Some(id.parse().map_err(StoreError::corrupt)?))
        }
        Some(_) => Err(StoreError::IdempotencyMismatch),
    }
}

impl PostgresStore {
    async fn try_create_case(
        &self,
        case: &Case,
        key: Option<&IdempotencyKey>,
        citizen: Option<&CitizenIdentity>,
    ) -> StoreResult<Created<Case>> {
        let mut tx = self.pool.begin().await?;
        if let Some(key) = key {
            if let Some(existing) = replayed(&mut tx, key).await? {
                let row = sqlx::query("SELECT * FROM cases WHERE id = $1")
                    .bind(existing)
                    .fetch_one(&mut *tx)
                    .await?;
                return Ok(Created::Replayed(case_row(&row)?));
            }
            // Claim the key first: a concurrent retry with the same key waits here, then fails
            // with a unique violation and reads the winner's case.
            remember_key(&mut tx, key, &case.id.to_string(), case.created_at).await?;
        }
        let intake = &case.intake;
        sqlx::query(
            "INSERT INTO cases (id, municipality, first_sick_day, employment_status,
                employer_reference, citizen_reference, state, category, facts, created_at,
                updated_at, version, cpr_hash, cpr_sealed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(case.id.as_uuid())
        .bind(intake.municipality.as_str())
        .bind(intake.first_sick_day)
        .bind(intake.employment_status.as_str())
        .bind(intake.employer_reference.as_ref().map(|r| r.as_str()))
        .bind(intake.citizen_reference.as_str())
        .bind(case.state.as_str())
        .bind(category_column(case))
        .bind(sqlx::types::Json(&case.facts))
        .bind(case.created_at)
        .bind(case.updated_at)
        .bind(case.version)
        .bind(citizen.map(|c| c.hash.as_str()))
        .bind(citizen.map(|c| c.sealed.as_str()))
        .execute(&mut *tx)
        .await?;
        append(&mut tx, &[NewEvent::case_opened(case)]).await?;
        tx.commit().await?;
        Ok(Created::New(case.clone()))
    }
}

#[async_trait]
impl CaseStore for PostgresStore {
    async fn create_citizen_case(
        &self,
        case: &Case,
        key: Option<&IdempotencyKey>,
        citizen: Option<&CitizenIdentity>,
    ) -> StoreResult<Created<Case>> {
        match self.try_create_case(case, key, citizen).await {
            // Lost a race on the same request id: the winner's case is the answer.
            Err(StoreError::Conflict(_)) if key.is_some() => {
                self.try_create_case(case, key, citizen).await
            }
            other => other,
        }
    }

    async fn cases_of_citizen(
        &self,
        municipality: &MunicipalityCode,
        cpr_hash: &str,
    ) -> StoreResult<Vec<CaseId>> {
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT id FROM cases WHERE cpr_hash = $1 AND municipality = $2 ORDER BY id",
        )
        .bind(cpr_hash)
        .bind(municipality.as_str())
        .fetch_all(&self.pool)
        .await?;
        ids.iter()
            .map(|id| {
                id.to_string()
                    .parse()
                    .map_err(|_| StoreError::corrupt("case id"))
            })
            .collect()
    }

    async fn sealed_cpr(&self, case: CaseId) -> StoreResult<Option<String>> {
        let sealed: Option<Option<String>> =
            sqlx::query_scalar("SELECT cpr_sealed FROM cases WHERE id = $1")
                .bind(case.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
        Ok(sealed.flatten())
    }

    async fn get_case(&self, id: CaseId) -> StoreResult<Option<Case>> {
        let row = sqlx::query("SELECT * FROM cases WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(case_row).transpose()
    }

    async fn list_cases(
        &self,
        filter: &CaseFilter,
        after: Option<CaseId>,
        limit: u32,
    ) -> StoreResult<Vec<Case>> {
        let rows = sqlx::query(
            "SELECT * FROM cases
             WHERE ($1::text IS NULL OR municipality = $1)
               AND ($2::text IS NULL OR state = $2)
               AND ($3::uuid IS NULL OR id > $3)
             ORDER BY id
             LIMIT $4",
        )
        .bind(filter.municipality.as_ref().map(|m| m.as_str()))
        .bind(filter.state.map(|s| s.as_str()))
        .bind(after.map(|id| id.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case_row).collect()
    }

    async fn open_case_counts(&self) -> StoreResult<Vec<OpenCaseCount>> {
        let rows = sqlx::query(
            "SELECT municipality, category, COUNT(*) AS n FROM cases WHERE state = 'open'
             GROUP BY municipality, category ORDER BY municipality, category",
        )
        .fetch_all(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE cases SET state = $1, category = $2, facts = $3, updated_at = $4, version = $5
             WHERE id = $6 AND version = $7",
        )
        .bind(case.state.as_str())
        .bind(category_column(case))
        .bind(sqlx::types::Json(&case.facts))
        .bind(case.updated_at)
        .bind(case.version)
        .bind(case.id.as_uuid())
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        append(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<()> {
        // sqlx takes an advisory lock, so replicas starting together migrate once.
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn last_event_position(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(position), 0) AS p FROM events")
            .fetch_one(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO leases (name, holder, expires_at)
             SELECT name, '', '-infinity' FROM UNNEST($1::text[]) AS name
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(names)
        .execute(&mut *tx)
        .await?;
        // Rows another replica is claiming right now are skipped, not waited for.
        let rows = sqlx::query(
            "UPDATE leases SET holder = $2, expires_at = $3
             WHERE name IN (
                 SELECT name FROM leases
                 WHERE name = ANY($1) AND (holder = $2 OR expires_at < $4)
                 FOR UPDATE SKIP LOCKED)
             RETURNING name",
        )
        .bind(names)
        .bind(holder)
        .bind(until)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut claimed: Vec<String> = rows
            .iter()
            .map(|r| r.try_get("name"))
            .collect::<Result<_, _>>()?;
        claimed.sort();
        Ok(claimed)
    }

    async fn release_leases(&self, names: &[String], holder: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM leases WHERE name = ANY($1) AND holder = $2")
            .bind(names)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn events_after(&self, after: i64, limit: u32) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT position, stream_type, stream_id, event_type, municipality, payload, recorded_at
             FROM events WHERE position > $1 ORDER BY position LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let payload: sqlx::types::Json<serde_json::Value> = row.try_get("payload")?;
                Ok(StoredEvent {
                    position: row.try_get("position")?,
                    stream_type: row.try_get("stream_type")?,
                    stream_id: row.try_get("stream_id")?,
                    event_type: row.try_get("event_type")?,
                    municipality: row.try_get("municipality")?,
                    payload: payload.0,
                    recorded_at: row.try_get("recorded_at")?,
                })
            })
            .collect()
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn pool_connections(&self) -> Vec<PoolConnections> {
        vec![PoolConnections::of("main", &self.pool)]
    }
}
