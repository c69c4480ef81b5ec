//! Storage of contracting: providers, contracts and referrals (DOMAIN.md §1.1, §6), on both
//! backends. Each record is its domain type as a JSON document next to the columns queries
//! filter on. A referral is admitted inside the write transaction that stores it, with the
//! contract locked, so two concurrent referrals cannot both take the last capacity slot.

use async_trait::async_trait;
use chrono::Utc;
use kia_domain::case::MunicipalityCode;
use kia_domain::contracting::{
    AdmissionVerdict, Contract, ContractId, Provider, ProviderId, Referral, ReferralId,
};
use serde::de::DeserializeOwned;
use sqlx::Row;

use crate::postgres::PostgresStore;
use crate::sqlite::{SqliteStore, ts};
use crate::{Created, IdempotencyKey, NewEvent, StoreError, StoreResult};

/// A provider and the organisation id its callers identify themselves with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRecord {
    pub provider: Provider,
    /// `identity.organization` of the provider's callers; unique.
    pub organization: String,
}

/// A referral with where it belongs and its version (optimistic concurrency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRecord {
    pub referral: Referral,
    pub municipality: MunicipalityCode,
    pub provider: ProviderId,
    pub version: i64,
}

impl ReferralRecord {
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// Which contracts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContractFilter {
    pub municipality: Option<MunicipalityCode>,
    pub provider: Option<ProviderId>,
}

/// Which referrals to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferralFilter {
    pub municipality: Option<MunicipalityCode>,
    pub provider: Option<ProviderId>,
    pub contract: Option<ContractId>,
}

/// Decides on a new referral given its contract and the contract's referrals so far.
pub type Admission = dyn Fn(&Contract, &[Referral]) -> AdmissionVerdict + Send + Sync;

/// The result of a referral.
#[derive(Debug, Clone, PartialEq)]
pub enum Referred {
    New(ReferralRecord),
    /// The request id was seen before with the same parameters.
    Replayed(ReferralRecord),
    /// The contract's terms refused it; nothing was stored.
    Refused(AdmissionVerdict),
    /// No such contract.
    NoContract,
}

/// Contracting of other actors.
#[async_trait]
pub trait ContractingStore: Send + Sync {
    /// Stores a provider and its `contracting.provider_created` event. A second provider with
    /// the same organisation id is [`StoreError::Conflict`].
    async fn create_provider(
        &self,
        record: &ProviderRecord,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<ProviderRecord>>;

    async fn get_provider(&self, id: ProviderId) -> StoreResult<Option<ProviderRecord>>;

    /// The provider whose callers identify as `organization`.
    async fn provider_by_organization(
        &self,
        organization: &str,
    ) -> StoreResult<Option<ProviderRecord>>;

    /// Up to `limit` providers after `after`, in id (= creation) order.
    async fn list_providers(
        &self,
        after: Option<ProviderId>,
        limit: u32,
    ) -> StoreResult<Vec<ProviderRecord>>;

    /// Stores a contract and its `contracting.contract_created` event. The provider must exist
    /// ([`StoreError::MissingReference`]).
    async fn create_contract(
        &self,
        contract: &Contract,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<Contract>>;

    async fn get_contract(&self, id: ContractId) -> StoreResult<Option<Contract>>;

    async fn list_contracts(
        &self,
        filter: &ContractFilter,
        after: Option<ContractId>,
        limit: u32,
    ) -> StoreResult<Vec<Contract>>;

    /// Admits and stores a referral (version 1) with its `contracting.referral_created` event,
    /// in one transaction holding the contract: `admit` sees every referral under it.
    async fn refer(
        &self,
        record: &ReferralRecord,
        key: Option<&IdempotencyKey>,
        admit: &Admission,
    ) -> StoreResult<Referred>;

    async fn get_referral(&self, id: ReferralId) -> StoreResult<Option<ReferralRecord>>;

    async fn list_referrals(
        &self,
        filter: &ReferralFilter,
        after: Option<ReferralId>,
        limit: u32,
    ) -> StoreResult<Vec<ReferralRecord>>;

    /// Saves a changed referral if it is still at `expected_version`, with its event.
    async fn update_referral(
        &self,
        record: &ReferralRecord,
        expected_version: i64,
        event: &NewEvent,
    ) -> StoreResult<()>;
}

impl NewEvent {
    pub fn provider_created(record: &ProviderRecord) -> Self {
        Self {
            stream_type: "contracting.provider",
            stream_id: record.provider.id.to_string(),
            event_type: "contracting.provider_created",
            municipality: None,
            payload: serde_json::json!({ "kind": record.provider.kind.as_str() }),
        }
    }

    pub fn contract_created(contract: &Contract) -> Self {
        Self {
            stream_type: "contracting.contract",
            stream_id: contract.id.to_string(),
            event_type: "contracting.contract_created",
            municipality: Some(contract.municipality.to_string()),
            payload: serde_json::json!({
                "provider_id": contract.provider.to_string(),
                "service": contract.service,
                "period_from": contract.period.from,
                "period_to": contract.period.to,
            }),
        }
    }

    pub fn referral_created(record: &ReferralRecord) -> Self {
        let r = &record.referral;
        Self {
            stream_type: "contracting.referral",
            stream_id: r.id.to_string(),
            event_type: "contracting.referral_created",
            municipality: Some(record.municipality.to_string()),
            payload: serde_json::json!({
                "contract_id": r.contract.to_string(),
                "case_id": r.case.to_string(),
                "referred_on": r.referred_on,
            }),
        }
    }

    /// The event of a recorded referral event: its kind and date, the outcome kind of an end;
    /// a satisfaction answer itself is left out.
    pub fn referral_changed(
        record: &ReferralRecord,
        event: &kia_domain::contracting::ReferralEvent,
    ) -> Self {
        use kia_domain::contracting::ReferralEvent as E;
        let r = &record.referral;
        let (event_type, payload) = match event {
            E::Started { on } => (
                "contracting.referral_started",
                serde_json::json!({ "on": on }),
            ),
            E::PlacementStarted { on } => (
                "contracting.referral_placement_started",
                serde_json::json!({ "on": on }),
            ),
            E::PartialReturn { on } => (
                "contracting.referral_partial_return",
                serde_json::json!({ "on": on }),
            ),
            E::SatisfactionRecorded { .. } => (
                "contracting.referral_satisfaction_recorded",
                serde_json::json!({}),
            ),
            E::Ended { on, outcome } => (
                "contracting.referral_ended",
                serde_json::json!({ "on": on, "outcome": outcome }),
            ),
        };
        let mut payload = payload;
        payload["contract_id"] = serde_json::json!(r.contract.to_string());
        Self {
            stream_type: "contracting.referral",
            stream_id: r.id.to_string(),
            event_type,
            municipality: Some(record.municipality.to_string()),
            payload,
        }
    }
}

fn doc<T: DeserializeOwned>(raw: serde_json::Value, what: &str) -> StoreResult<T> {
    serde_json::from_value(raw).map_err(|e| StoreError::corrupt(format!("{what}: {e}")))
}

fn json<T: serde::Serialize>(value: &T) -> StoreResult<serde_json::Value> {
    serde_json::to_value(value).map_err(StoreError::corrupt)
}

fn referral_record(
    doc_value: serde_json::Value,
    municipality: &str,
    provider: &str,
    version: i64,
) -> StoreResult<ReferralRecord> {
    Ok(ReferralRecord {
        referral: doc(doc_value, "referral")?,
        municipality: MunicipalityCode::parse(municipality).map_err(StoreError::corrupt)?,
        provider: provider.parse().map_err(StoreError::corrupt)?,
        version,
    })
}

// ---------------------------------------------------------------------------------------------
// SQLite

mod sqlite_impl {
    use super::*;
    use sqlx::sqlite::SqliteRow;

    fn text_doc(row: &SqliteRow) -> StoreResult<serde_json::Value> {
        serde_json::from_str(row.try_get("doc")?).map_err(StoreError::corrupt)
    }

    pub(super) fn provider(row: &SqliteRow) -> StoreResult<ProviderRecord> {
        Ok(ProviderRecord {
            provider: doc(text_doc(row)?, "provider")?,
            organization: row.try_get("organization")?,
        })
    }

    pub(super) fn contract(row: &SqliteRow) -> StoreResult<Contract> {
        doc(text_doc(row)?, "contract")
    }

    pub(super) fn referral(row: &SqliteRow) -> StoreResult<ReferralRecord> {
        referral_record(
            text_doc(row)?,
            row.try_get("municipality")?,
            row.try_get("provider_id")?,
            row.try_get("version")?,
        )
    }

    /// The id a request id already produced; else records it for `resource_id`.
    pub(super) async fn claim_key(
        tx: &mut crate::sqlite::WriteTx,
        key: Option<&IdempotencyKey>,
        resource_id: String,
    ) -> StoreResult<Option<String>> {
        let Some(key) = key else { return Ok(None) };
        if let Some(existing) = crate::sqlite::replayed(tx, key).await? {
            return Ok(Some(existing));
        }
        crate::sqlite::remember_key(tx, key, &resource_id, Utc::now()).await?;
        Ok(None)
    }
}

#[async_trait]
impl ContractingStore for SqliteStore {
    async fn create_provider(
        &self,
        record: &ProviderRecord,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<ProviderRecord>> {
        let mut tx = self.begin().await?;
        let id = record.provider.id.to_string();
        if let Some(existing) = sqlite_impl::claim_key(&mut tx, key, id.clone()).await? {
            let row = sqlx::query("SELECT * FROM contracting_providers WHERE id = ?")
                .bind(existing)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(Created::Replayed(sqlite_impl::provider(&row)?));
        }
        sqlx::query(
            "INSERT INTO contracting_providers (id, organization, doc, created_at)
             VALUES (?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&record.organization)
        .bind(json(&record.provider)?.to_string())
        .bind(ts(Utc::now()))
        .execute(&mut *tx)
        .await?;
        crate::sqlite::append(&mut tx, &NewEvent::provider_created(record)).await?;
        self.commit(tx).await?;
        Ok(Created::New(record.clone()))
    }

    async fn get_provider(&self, id: ProviderId) -> StoreResult<Option<ProviderRecord>> {
        let row = sqlx::query("SELECT * FROM contracting_providers WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(sqlite_impl::provider).transpose()
    }

    async fn provider_by_organization(
        &self,
        organization: &str,
    ) -> StoreResult<Option<ProviderRecord>> {
        let row = sqlx::query("SELECT * FROM contracting_providers WHERE organization = ?")
            .bind(organization)
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(sqlite_impl::provider).transpose()
    }

    async fn list_providers(
        &self,
        after: Option<ProviderId>,
        limit: u32,
    ) -> StoreResult<Vec<ProviderRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM contracting_providers WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2",
        )
        .bind(after.map(|id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(sqlite_impl::provider).collect()
    }

    async fn create_contract(
        &self,
        contract: &Contract,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<Contract>> {
        let mut tx = self.begin().await?;
        let id = contract.id.to_string();
        if let Some(existing) = sqlite_impl::claim_key(&mut tx, key, id.clone()).await? {
            let row = sqlx::query("SELECT * FROM contracting_contracts WHERE id = ?")
                .bind(existing)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(Created::Replayed(sqlite_impl::contract(&row)?));
        }
        sqlx::query(
            "INSERT INTO contracting_contracts (id, provider_id, municipality, doc, created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(contract.provider.to_string())
        .bind(contract.municipality.as_str())
        .bind(json(contract)?.to_string())
        .bind(ts(Utc::now()))
        .execute(&mut *tx)
        .await?;
        crate::sqlite::append(&mut tx, &NewEvent::contract_created(contract)).await?;
        self.commit(tx).await?;
        Ok(Created::New(contract.clone()))
    }

    async fn get_contract(&self, id: ContractId) -> StoreResult<Option<Contract>> {
        let row = sqlx::query("SELECT * FROM contracting_contracts WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(sqlite_impl::contract).transpose()
    }

    async fn list_contracts(
        &self,
        filter: &ContractFilter,
        after: Option<ContractId>,
        limit: u32,
    ) -> StoreResult<Vec<Contract>> {
        let rows = sqlx::query(
            "SELECT * FROM contracting_contracts
             WHERE (?1 IS NULL OR municipality = ?1)
               AND (?2 IS NULL OR provider_id = ?2)
               AND (?3 IS NULL OR id > ?3)
             ORDER BY id LIMIT ?4",
        )
        .bind(filter.municipality.as_ref().map(|m| m.as_str()))
        .bind(filter.provider.map(|p| p.to_string()))
        .bind(after.map(|id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(sqlite_impl::contract).collect()
    }

    async fn refer(
        &self,
        record: &ReferralRecord,
        key: Option<&IdempotencyKey>,
        admit: &Admission,
    ) -> StoreResult<Referred> {
        // The one writer connection serializes this transaction against every other write.
        let mut tx = self.begin().await?;
        let r = &record.referral;
        if let Some(existing) = sqlite_impl::claim_key(&mut tx, key, r.id.to_string()).await? {
            let row = sqlx::query("SELECT * FROM contracting_referrals WHERE id = ?")
                .bind(existing)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(Referred::Replayed(sqlite_impl::referral(&row)?));
        }
        let Some(row) = sqlx::query("SELECT * FROM contracting_contracts WHERE id = ?")
            .bind(r.contract.to_string())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(Referred::NoContract);
        };
        let contract = sqlite_impl::contract(&row)?;
        let existing = sqlx::query("SELECT * FROM contracting_referrals WHERE contract_id = ?")
            .bind(r.contract.to_string())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| sqlite_impl::referral(row).map(|r| r.referral))
            .collect::<StoreResult<Vec<_>>>()?;
        let verdict = admit(&contract, &existing);
        if !verdict.is_allowed() {
            return Ok(Referred::Refused(verdict));
        }
        sqlx::query(
            "INSERT INTO contracting_referrals
                (id, contract_id, provider_id, municipality, case_id, doc, version, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.id.to_string())
        .bind(r.contract.to_string())
        .bind(record.provider.to_string())
        .bind(record.municipality.as_str())
        .bind(r.case.to_string())
        .bind(json(r)?.to_string())
        .bind(record.version)
        .bind(ts(Utc::now()))
        .execute(&mut *tx)
        .await?;
        crate::sqlite::append(&mut tx, &NewEvent::referral_created(record)).await?;
        self.commit(tx).await?;
        Ok(Referred::New(record.clone()))
    }

    async fn get_referral(&self, id: ReferralId) -> StoreResult<Option<ReferralRecord>> {
        let row = sqlx::query("SELECT * FROM contracting_referrals WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(sqlite_impl::referral).transpose()
    }

    async fn list_referrals(
        &self,
        filter: &ReferralFilter,
        after: Option<ReferralId>,
        limit: u32,
    ) -> StoreResult<Vec<ReferralRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM contracting_referrals
             WHERE (?1 IS NULL OR municipality = ?1)
               AND (?2 IS NULL OR provider_id = ?2)
               AND (?3 IS NULL OR contract_id = ?3)
               AND (?4 IS NULL OR id > ?4)
             ORDER BY id LIMIT ?5",
        )
        .bind(filter.municipality.as_ref().map(|m| m.as_str()))
        .bind(filter.provider.map(|p| p.to_string()))
        .bind(filter.contract.map(|c| c.to_string()))
        .bind(after.map(|id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(sqlite_impl::referral).collect()
    }

    async fn update_referral(
        &self,
        record: &ReferralRecord,
        expected_version: i64,
        event: &NewEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE contracting_referrals SET doc = ?, version = ? WHERE id = ? AND version = ?",
        )
        .bind(json(&record.referral)?.to_string())
        .bind(record.version)
        .bind(record.referral.id.to_string())
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        crate::sqlite::append(&mut tx, event).await?;
        self.commit(tx).await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

mod postgres_impl {
    use super::*;
    use sqlx::postgres::PgRow;
    use sqlx::{Postgres, Transaction};

    fn json_doc(row: &PgRow) -> StoreResult<serde_json::Value> {
        Ok(row
            .try_get::<sqlx::types::Json<serde_json::Value>, _>("doc")?
            .0)
    }

    pub(super) fn provider(row: &PgRow) -> StoreResult<ProviderRecord> {
        Ok(ProviderRecord {
            provider: doc(json_doc(row)?, "provider")?,
            organization: row.try_get("organization")?,
        })
    }

    pub(super) fn contract(row: &PgRow) -> StoreResult<Contract> {
        doc(json_doc(row)?, "contract")
    }

    pub(super) fn referral(row: &PgRow) -> StoreResult<ReferralRecord> {
        let provider: uuid::Uuid = row.try_get("provider_id")?;
        referral_record(
            json_doc(row)?,
            row.try_get("municipality")?,
            &provider.to_string(),
            row.try_get("version")?,
        )
    }

    /// The id a request id already produced; else claims it for `resource_id` (a concurrent
    /// claim of the same key waits, then fails with a unique violation: the caller retries).
    pub(super) async fn claim_key(
        tx: &mut Transaction<'_, Postgres>,
        key: Option<&IdempotencyKey>,
        resource_id: String,
    ) -> StoreResult<Option<uuid::Uuid>> {
        let Some(key) = key else { return Ok(None) };
        if let Some(existing) = crate::postgres::replayed(tx, key).await? {
            return Ok(Some(existing));
        }
        crate::postgres::remember_key(tx, key, &resource_id, Utc::now()).await?;
        Ok(None)
    }
}

impl PostgresStore {
    async fn try_create_provider(
        &self,
        record: &ProviderRecord,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<ProviderRecord>> {
        let mut tx = self.pool.begin().await?;
        let id = record.provider.id;
        if let Some(existing) = postgres_impl::claim_key(&mut tx, key, id.to_string()).await? {
            let row = sqlx::query("SELECT * FROM contracting_providers WHERE id = $1")
                .bind(existing)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(Created::Replayed(postgres_impl::provider(&row)?));
        }
        sqlx::query(
            "INSERT INTO contracting_providers (id, organization, doc, created_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id.as_uuid())
        .bind(&record.organization)
        .bind(sqlx::types::Json(json(&record.provider)?))
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
        crate::postgres::append(&mut tx, &[NewEvent::provider_created(record)]).await?;
        tx.commit().await?;
        Ok(Created::New(record.clone()))
    }

    async fn try_create_contract(
        &self,
        contract: &Contract,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<Contract>> {
        let mut tx = self.pool.begin().await?;
        if let Some(existing) =
            postgres_impl::claim_key(&mut tx, key, contract.id.to_string()).await?
        {
            let row = sqlx::query("SELECT * FROM contracting_contracts WHERE id = $1")
                .bind(existing)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(Created::Replayed(postgres_impl::contract(&row)?));
        }
        sqlx::query(
            "INSERT INTO contracting_contracts (id, provider_id, municipality, doc, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(contract.id.as_uuid())
        .bind(contract.provider.as_uuid())
        .bind(contract.municipality.as_str())
        .bind(sqlx::types::Json(json(contract)?))
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
        crate::postgres::append(&mut tx, &[NewEvent::contract_created(contract)]).await?;
        tx.commit().await?;
        Ok(Created::New(contract.clone()))
    }

    async fn try_refer(
        &self,
        record: &ReferralRecord,
        key: Option<&IdempotencyKey>,
        admit: &Admission,
    ) -> StoreResult<Referred> {
        let mut tx = self.pool.begin().await?;
        let r = &record.referral;
        if let Some(existing) = postgres_impl::claim_key(&mut tx, key, r.id.to_string()).await? {
            let row = sqlx::query("SELECT * FROM contracting_referrals WHERE id = $1")
                .bind(existing)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(Referred::Replayed(postgres_impl::referral(&row)?));
        }
        // The row lock serializes referrals under one contract across replicas.
        let Some(row) = sqlx::query("SELECT * FROM contracting_contracts WHERE id = $1 FOR UPDATE")
            .bind(r.contract.as_uuid())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(Referred::NoContract);
        };
        let contract = postgres_impl::contract(&row)?;
        let existing = sqlx::query("SELECT * FROM contracting_referrals WHERE contract_id = $1")
            .bind(r.contract.as_uuid())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| postgres_impl::referral(row).map(|r| r.referral))
            .collect::<StoreResult<Vec<_>>>()?;
        let verdict = admit(&contract, &existing);
        if !verdict.is_allowed() {
            return Ok(Referred::Refused(verdict));
        }
        sqlx::query(
            "INSERT INTO contracting_referrals
                (id, contract_id, provider_id, municipality, case_id, doc, version, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.id.as_uuid())
        .bind(r.contract.as_uuid())
        .bind(record.provider.as_uuid())
        .bind(record.municipality.as_str())
        .bind(r.case.as_uuid())
        .bind(sqlx::types::Json(json(r)?))
        .bind(record.version)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
        crate::postgres::append(&mut tx, &[NewEvent::referral_created(record)]).await?;
        tx.commit().await?;
        Ok(Referred::New(record.clone()))
    }
}

/// Retries an idempotent create once when it lost a race on the same request id: the second
/// attempt finds the winner's result.
macro_rules! retry_on_key_race {
    ($key:expr, $call:expr) => {
        match $call {
            Err(StoreError::Conflict(c)) if $key.is_some() && c.contains("idempotency") => $call,
            other => other,
        }
    };
}

#[async_trait]
impl ContractingStore for PostgresStore {
    async fn create_provider(
        &self,
        record: &ProviderRecord,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<ProviderRecord>> {
        retry_on_key_race!(key, self.try_create_provider(record, key).await)
    }

    async fn get_provider(&self, id: ProviderId) -> StoreResult<Option<ProviderRecord>> {
        let row = sqlx::query("SELECT * FROM contracting_providers WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(postgres_impl::provider).transpose()
    }

    async fn provider_by_organization(
        &self,
        organization: &str,
    ) -> StoreResult<Option<ProviderRecord>> {
        let row = sqlx::query("SELECT * FROM contracting_providers WHERE organization = $1")
            .bind(organization)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(postgres_impl::provider).transpose()
    }

    async fn list_providers(
        &self,
        after: Option<ProviderId>,
        limit: u32,
    ) -> StoreResult<Vec<ProviderRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM contracting_providers WHERE ($1::uuid IS NULL OR id > $1)
             ORDER BY id LIMIT $2",
        )
        .bind(after.map(|id| id.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(postgres_impl::provider).collect()
    }

    async fn create_contract(
        &self,
        contract: &Contract,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<Contract>> {
        retry_on_key_race!(key, self.try_create_contract(contract, key).await)
    }

    async fn get_contract(&self, id: ContractId) -> StoreResult<Option<Contract>> {
        let row = sqlx::query("SELECT * FROM contracting_contracts WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(postgres_impl::contract).transpose()
    }

    async fn list_contracts(
        &self,
        filter: &ContractFilter,
        after: Option<ContractId>,
        limit: u32,
    ) -> StoreResult<Vec<Contract>> {
        let rows = sqlx::query(
            "SELECT * FROM contracting_contracts
             WHERE ($1::text IS NULL OR municipality = $1)
               AND ($2::uuid IS NULL OR provider_id = $2)
               AND ($3::uuid IS NULL OR id > $3)
             ORDER BY id LIMIT $4",
        )
        .bind(filter.municipality.as_ref().map(|m| m.as_str()))
        .bind(filter.provider.map(|p| p.as_uuid()))
        .bind(after.map(|id| id.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(postgres_impl::contract).collect()
    }

    async fn refer(
        &self,
        record: &ReferralRecord,
        key: Option<&IdempotencyKey>,
        admit: &Admission,
    ) -> StoreResult<Referred> {
        retry_on_key_race!(key, self.try_refer(record, key, admit).await)
    }

    async fn get_referral(&self, id: ReferralId) -> StoreResult<Option<ReferralRecord>> {
        let row = sqlx::query("SELECT * FROM contracting_referrals WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(postgres_impl::referral).transpose()
    }

    async fn list_referrals(
        &self,
        filter: &ReferralFilter,
        after: Option<ReferralId>,
        limit: u32,
    ) -> StoreResult<Vec<ReferralRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM contracting_referrals
             WHERE ($1::text IS NULL OR municipality = $1)
               AND ($2::uuid IS NULL OR provider_id = $2)
               AND ($3::uuid IS NULL OR contract_id = $3)
               AND ($4::uuid IS NULL OR id > $4)
             ORDER BY id LIMIT $5",
        )
        .bind(filter.municipality.as_ref().map(|m| m.as_str()))
        .bind(filter.provider.map(|p| p.as_uuid()))
        .bind(filter.contract.map(|c| c.as_uuid()))
        .bind(after.map(|id| id.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(postgres_impl::referral).collect()
    }

    async fn update_referral(
        &self,
        record: &ReferralRecord,
        expected_version: i64,
        event: &NewEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE contracting_referrals SET doc = $1, version = $2 WHERE id = $3 AND version = $4",
        )
        .bind(sqlx::types::Json(json(&record.referral)?))
        .bind(record.version)
        .bind(record.referral.id.as_uuid())
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        crate::postgres::append(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await?;
        Ok(())
    }
}
