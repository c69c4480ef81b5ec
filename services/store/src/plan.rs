//! The shared case plan's storage (issue 7): the current plan as JSON with a version column, its
//! change records (history), and the access grants of organisations outside the jobcentre. Every
//! change appends its `plan.*` event (ids, kinds and dates only) in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kia_domain::case::{Case, CaseId, MunicipalityCode};
use kia_domain::plan::{ChangeRecord, Plan, PlanChange};
use serde_json::json;
use sqlx::Row;

use crate::{
    Created, IdempotencyKey, NewEvent, PostgresStore, SqliteStore, StoreError, StoreResult,
    parse_ts,
};

/// What a grant lets an organisation do with a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanAccess {
    Read,
    ReadUpdate,
}

impl PlanAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanAccess::Read => "read",
            PlanAccess::ReadUpdate => "read_update",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "read" => Some(PlanAccess::Read),
            "read_update" => Some(PlanAccess::ReadUpdate),
            _ => None,
        }
    }

    /// Whether this access covers `needed`.
    pub fn covers(self, needed: PlanAccess) -> bool {
        self == PlanAccess::ReadUpdate || needed == PlanAccess::Read
    }
}

/// An organisation's access to one plan (a rehabilitation centre, a provider, the citizen's
/// doctor), for a purpose, until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanGrant {
    pub case: CaseId,
    /// The organisation id callers of that organisation present.
    pub organisation: String,
    pub access: PlanAccess,
    pub purpose: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl PlanGrant {
    /// Whether the grant lets its organisation do `needed` at `now`.
    pub fn allows(&self, needed: PlanAccess, now: DateTime<Utc>) -> bool {
        now < self.expires_at && self.access.covers(needed)
    }
}

/// Shared case plans.
#[async_trait]
pub trait PlanStore: Send + Sync {
    /// Stores a new plan (version 1) with its first change record and `plan.created` event. A
    /// case has one plan: a second is [`StoreError::Conflict`]. With a key, a retry returns the
    /// first plan.
    async fn create_plan(
        &self,
        plan: &Plan,
        record: &ChangeRecord,
        municipality: &MunicipalityCode,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<Plan>>;

    async fn get_plan(&self, case: CaseId) -> StoreResult<Option<Plan>>;

    /// The case and its plan (`None` when it has none) in one query, for reading a plan: the
    /// case decides who may see it. `None` when there is no such case.
    async fn case_with_plan(&self, case: CaseId) -> StoreResult<Option<(Case, Option<Plan>)>>;

    /// Every change record of the plan, in version order (empty when there is no plan).
    async fn plan_history(&self, case: CaseId) -> StoreResult<Vec<ChangeRecord>>;

    /// Saves `plan` (the result of `record`) if the stored plan is still at the version before
    /// it, with the record and its event, in one transaction; otherwise [`StoreError::Stale`].
    async fn update_plan(
        &self,
        plan: &Plan,
        record: &ChangeRecord,
        municipality: &MunicipalityCode,
    ) -> StoreResult<()>;

    /// Grants (or replaces the grant of) an organisation access to a plan, with its event.
    async fn put_plan_grant(
        &self,
        grant: &PlanGrant,
        municipality: &MunicipalityCode,
    ) -> StoreResult<()>;

    /// Removes an organisation's grant, with its event; false when it held none.
    async fn revoke_plan_grant(
        &self,
        case: CaseId,
        organisation: &str,
        municipality: &MunicipalityCode,
    ) -> StoreResult<bool>;

    async fn plan_grant(&self, case: CaseId, organisation: &str) -> StoreResult<Option<PlanGrant>>;
}

/// A serde enum value as its snake_case name (`kind`, `stage` columns, event payloads).
fn name_of(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The event of a change record: the version, and the ids, kinds and dates it touched. Never
/// persons, free text, or what a health activity is.
pub fn plan_event(
    record: &ChangeRecord,
    case: CaseId,
    municipality: &MunicipalityCode,
) -> NewEvent {
    let mut payload = match &record.change {
        PlanChange::Created { kind, stage, .. } => {
            json!({ "kind": name_of(kind), "stage": name_of(stage) })
        }
        PlanChange::Finalised { kind } => json!({ "kind": name_of(kind) }),
        PlanChange::RoleAssigned { role, party } => {
            json!({ "role": name_of(role), "capacity": name_of(party.capacity) })
        }
        PlanChange::RoleCleared { role } => json!({ "role": name_of(role) }),
        PlanChange::ContributorAdded { party } => json!({ "capacity": name_of(party.capacity) }),
        PlanChange::GoalSet { goal } => json!({
            "goal_id": goal.id, "goal_kind": name_of(goal.kind), "by": goal.by,
        }),
        PlanChange::GoalRemoved { id } => json!({ "goal_id": id }),
        PlanChange::ActivityAdded { activity } => json!({
            "activity_id": activity.id,
            "sector": name_of(activity.sector()),
            "planned_start": activity.planned_start,
        }),
        PlanChange::ActivityRescheduled {
            id,
            planned_start,
            planned_end,
        } => json!({
            "activity_id": id, "planned_start": planned_start, "planned_end": planned_end,
        }),
        PlanChange::DependenciesSet { id, .. } | PlanChange::ActivityCancelled { id } => {
            json!({ "activity_id": id })
        }
        PlanChange::ActivityBooked { id, on }
        | PlanChange::ActivityStarted { id, on }
        | PlanChange::ActivityCompleted { id, on } => json!({ "activity_id": id, "on": on }),
    };
    payload["version"] = json!(record.version);
    NewEvent {
        stream_type: "plan",
        stream_id: case.to_string(),
        event_type: record.change.event_type(),
        municipality: Some(municipality.to_string()),
        payload,
    }
}

fn grant_event(
    event_type: &'static str,
    case: CaseId,
    organisation: &str,
    municipality: &MunicipalityCode,
    payload: serde_json::Value,
) -> NewEvent {
    let mut payload = payload;
    payload["organisation"] = json!(organisation);
    NewEvent {
        stream_type: "plan",
        stream_id: case.to_string(),
        event_type,
        municipality: Some(municipality.to_string()),
        payload,
    }
}

fn granted_event(grant: &PlanGrant, municipality: &MunicipalityCode) -> NewEvent {
    grant_event(
        "plan.access_granted",
        grant.case,
        &grant.organisation,
        municipality,
        json!({ "access": grant.access.as_str(), "expires_at": grant.expires_at }),
    )
}

fn revoked_event(case: CaseId, organisation: &str, municipality: &MunicipalityCode) -> NewEvent {
    grant_event(
        "plan.access_revoked",
        case,
        organisation,
        municipality,
        json!({}),
    )
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::corrupt(e)
}

fn grant_from(
    case: CaseId,
    organisation: String,
    access: &str,
    purpose: String,
    granted_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<PlanGrant> {
    Ok(PlanGrant {
        case,
        access: PlanAccess::parse(access)
            .ok_or_else(|| StoreError::corrupt(format!("plan grant access {access:?}")))?,
        organisation,
        purpose,
        granted_at,
        expires_at,
    })
}

// ---------------------------------------------------------------------------------------------
// SQLite

mod sqlite_impl {
    use super::*;
    use crate::sqlite::{Statements, append, append_after, replayed, statements, ts};

    /// A case and its plan (if it has one) from a row of `case_with_plan`'s join.
    fn case_and_plan(row: &dyn crate::RowAccess) -> StoreResult<(Case, Option<Plan>)> {
        let plan = row
            .opt_text("plan_document")?
            .map(|doc| serde_json::from_str(&doc).map_err(json_err))
            .transpose()?;
        Ok((crate::sqlite::case_row(row)?, plan))
    }

    #[async_trait]
    impl PlanStore for SqliteStore {
        async fn create_plan(
            &self,
            plan: &Plan,
            record: &ChangeRecord,
            municipality: &MunicipalityCode,
            key: Option<&IdempotencyKey>,
        ) -> StoreResult<Created<Plan>> {
            let mut tx = self.begin().await?;
            if let Some(key) = key
                && let Some(existing) = replayed(&mut tx, key).await?
            {
                let row = sqlx::query("SELECT document FROM plans WHERE case_id = ?")
                    .bind(&existing)
                    .fetch_one(&mut *tx)
                    .await?;
                let doc: String = row.try_get("document")?;
                return Ok(Created::Replayed(
                    serde_json::from_str(&doc).map_err(json_err)?,
                ));
            }
            let case = plan.case.to_string();
            let document = serde_json::to_string(plan).map_err(json_err)?;
            let mut sql = statements();
            sql.push(
                "INSERT INTO plans (case_id, municipality, kind, stage, document, created_at,
                    updated_at, version) ",
            )
            .push_values([plan], |mut row, plan| {
                row.push_bind(case.clone())
                    .push_bind(municipality.as_str())
                    .push_bind(name_of(plan.kind))
                    .push_bind(name_of(plan.stage))
                    .push_bind(document.clone())
                    .push_bind(ts(plan.created_at))
                    .push_bind(ts(plan.updated_at))
                    .push_bind(plan.version);
            })
            .push("; ");
            push_record(&mut sql, &case, record)?;
            if let Some(key) = key {
                crate::sqlite::push_key(&mut sql, key, &case, plan.created_at);
            }
            let event = plan_event(record, plan.case, municipality);
            append_after(&mut tx, sql, &[event]).await?;
            self.commit(tx).await?;
            Ok(Created::New(plan.clone()))
        }

        async fn get_plan(&self, case: CaseId) -> StoreResult<Option<Plan>> {
            let row = sqlx::query("SELECT document FROM plans WHERE case_id = ?")
                .bind(case.to_string())
                .fetch_optional(&self.readers)
                .await?;
            row.map(|r| {
                let doc: String = r.try_get("document")?;
                serde_json::from_str(&doc).map_err(json_err)
            })
            .transpose()
        }

        async fn case_with_plan(&self, case: CaseId) -> StoreResult<Option<(Case, Option<Plan>)>> {
            self.lookup(
                "SELECT cases.*, plans.document AS plan_document
                 FROM cases LEFT JOIN plans ON plans.case_id = cases.id WHERE cases.id = ?",
                case.to_string(),
                |row| case_and_plan(row),
            )
            .await
        }

        async fn plan_history(&self, case: CaseId) -> StoreResult<Vec<ChangeRecord>> {
            let rows =
                sqlx::query("SELECT record FROM plan_changes WHERE case_id = ? ORDER BY version")
                    .bind(case.to_string())
                    .fetch_all(&self.readers)
                    .await?;
            rows.iter()
                .map(|r| {
                    let raw: String = r.try_get("record")?;
                    serde_json::from_str(&raw).map_err(json_err)
                })
                .collect()
        }

        async fn update_plan(
            &self,
            plan: &Plan,
            record: &ChangeRecord,
            municipality: &MunicipalityCode,
        ) -> StoreResult<()> {
            let case = plan.case.to_string();
            let mut sql = statements();
            sql.push("UPDATE plans SET kind = ")
                .push_bind(name_of(plan.kind))
                .push(", stage = ")
                .push_bind(name_of(plan.stage))
                .push(", document = ")
                .push_bind(serde_json::to_string(plan).map_err(json_err)?)
                .push(", updated_at = ")
                .push_bind(ts(plan.updated_at))
                .push(", version = ")
                .push_bind(plan.version)
                .push(" WHERE case_id = ")
                .push_bind(case.clone())
                .push(" AND version = ")
                .push_bind(record.version - 1)
                .push(" RETURNING version AS updated_to; ");
            push_record(&mut sql, &case, record)?;
            let event = plan_event(record, plan.case, municipality);
            let mut tx = self.begin().await?;
            let updated = append_after(&mut tx, sql, &[event]).await?;
            if updated.is_empty() {
                // Rolled back on drop: the event and the audit records with it.
                crate::audit::change_rolled_back();
                return Err(StoreError::Stale);
            }
            self.commit(tx).await?;
            Ok(())
        }

        async fn put_plan_grant(
            &self,
            grant: &PlanGrant,
            municipality: &MunicipalityCode,
        ) -> StoreResult<()> {
            let mut tx = self.begin().await?;
            sqlx::query(
                "INSERT INTO plan_grants (case_id, organisation, access, purpose, granted_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (case_id, organisation) DO UPDATE
                 SET access = ?3, purpose = ?4, granted_at = ?5, expires_at = ?6",
            )
            .bind(grant.case.to_string())
            .bind(&grant.organisation)
            .bind(grant.access.as_str())
            .bind(&grant.purpose)
            .bind(ts(grant.granted_at))
            .bind(ts(grant.expires_at))
            .execute(&mut *tx)
            .await?;
            append(&mut tx, &granted_event(grant, municipality)).await?;
            self.commit(tx).await?;
            Ok(())
        }

        async fn revoke_plan_grant(
            &self,
            case: CaseId,
            organisation: &str,
            municipality: &MunicipalityCode,
        ) -> StoreResult<bool> {
            let mut tx = self.begin().await?;
            let deleted =
                sqlx::query("DELETE FROM plan_grants WHERE case_id = ? AND organisation = ?")
                    .bind(case.to_string())
                    .bind(organisation)
                    .execute(&mut *tx)
                    .await?;
            if deleted.rows_affected() == 0 {
                return Ok(false);
            }
            append(&mut tx, &revoked_event(case, organisation, municipality)).await?;
            self.commit(tx).await?;
            Ok(true)
        }

        async fn plan_grant(
            &self,
            case: CaseId,
            organisation: &str,
        ) -> StoreResult<Option<PlanGrant>> {
            let row = sqlx::query(
                "SELECT access, purpose, granted_at, expires_at FROM plan_grants
                 WHERE case_id = ? AND organisation = ?",
            )
            .bind(case.to_string())
            .bind(organisation)
            .fetch_optional(&self.readers)
            .await?;
            row.map(|r| {
                grant_from(
                    case,
                    organisation.to_owned(),
                    r.try_get("access")?,
                    r.try_get("purpose")?,
                    parse_ts(r.try_get("granted_at")?)?,
                    parse_ts(r.try_get("expires_at")?)?,
                )
            })
            .transpose()
        }
    }

    /// Adds the insert of a change record right after the statement that wrote the plan: the
    /// record is inserted only if that statement changed a row (a stale update changes none,
    /// and its record's version would collide with the one already there).
    fn push_record(sql: &mut Statements, case: &str, record: &ChangeRecord) -> StoreResult<()> {
        sql.push("INSERT INTO plan_changes (case_id, version, recorded_at, record) SELECT ")
            .push_bind(case.to_owned())
            .push(", ")
            .push_bind(record.version)
            .push(", ")
            .push_bind(ts(record.at))
            .push(", ")
            .push_bind(serde_json::to_string(record).map_err(json_err)?)
            .push(" WHERE changes() = 1; ");
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

mod postgres_impl {
    use super::*;
    use crate::postgres::{append, replayed};
    use sqlx::types::Json;

    impl PostgresStore {
        async fn try_create_plan(
            &self,
            plan: &Plan,
            record: &ChangeRecord,
            municipality: &MunicipalityCode,
            key: Option<&IdempotencyKey>,
        ) -> StoreResult<Created<Plan>> {
            let mut tx = self.pool.begin().await?;
            if let Some(key) = key {
                if let Some(existing) = replayed(&mut tx, key).await? {
                    let row = sqlx::query("SELECT document FROM plans WHERE case_id = $1")
                        .bind(existing)
                        .fetch_one(&mut *tx)
                        .await?;
                    let doc: Json<Plan> = row.try_get("document")?;
                    return Ok(Created::Replayed(doc.0));
                }
                // Claim the key first: a concurrent retry waits here, then reads the winner's.
                crate::postgres::remember_key(
                    &mut tx,
                    key,
                    &plan.case.to_string(),
                    plan.created_at,
                )
                .await?;
            }
            sqlx::query(
                "INSERT INTO plans (case_id, municipality, kind, stage, document, created_at,
                    updated_at, version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(plan.case.as_uuid())
            .bind(municipality.as_str())
            .bind(name_of(plan.kind))
            .bind(name_of(plan.stage))
            .bind(Json(plan))
            .bind(plan.created_at)
            .bind(plan.updated_at)
            .bind(plan.version)
            .execute(&mut *tx)
            .await?;
            insert_record(&mut tx, plan.case, record).await?;
            append(&mut tx, &[plan_event(record, plan.case, municipality)]).await?;
            tx.commit().await?;
            Ok(Created::New(plan.clone()))
        }
    }

    #[async_trait]
    impl PlanStore for PostgresStore {
        async fn create_plan(
            &self,
            plan: &Plan,
            record: &ChangeRecord,
            municipality: &MunicipalityCode,
            key: Option<&IdempotencyKey>,
        ) -> StoreResult<Created<Plan>> {
            match self.try_create_plan(plan, record, municipality, key).await {
                // Lost a race on the same request id: the winner's plan is the answer (or the
                // plan exists, which the second attempt reports again).
                Err(StoreError::Conflict(_)) if key.is_some() => {
                    self.try_create_plan(plan, record, municipality, key).await
                }
                other => other,
            }
        }

        async fn get_plan(&self, case: CaseId) -> StoreResult<Option<Plan>> {
            let row = sqlx::query("SELECT document FROM plans WHERE case_id = $1")
                .bind(case.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
            row.map(|r| Ok(r.try_get::<Json<Plan>, _>("document")?.0))
                .transpose()
        }

        async fn case_with_plan(&self, case: CaseId) -> StoreResult<Option<(Case, Option<Plan>)>> {
            let row = sqlx::query(
                "SELECT cases.*, plans.document AS plan_document
                 FROM cases LEFT JOIN plans ON plans.case_id = cases.id WHERE cases.id = $1",
            )
            .bind(case.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| {
                let plan = r.try_get::<Option<Json<Plan>>, _>("plan_document")?;
                Ok((crate::postgres::case_row(&r)?, plan.map(|p| p.0)))
            })
            .transpose()
        }

        async fn plan_history(&self, case: CaseId) -> StoreResult<Vec<ChangeRecord>> {
            let rows =
                sqlx::query("SELECT record FROM plan_changes WHERE case_id = $1 ORDER BY version")
                    .bind(case.as_uuid())
                    .fetch_all(&self.pool)
                    .await?;
            rows.iter()
                .map(|r| Ok(r.try_get::<Json<ChangeRecord>, _>("record")?.0))
                .collect()
        }

        async fn update_plan(
            &self,
            plan: &Plan,
            record: &ChangeRecord,
            municipality: &MunicipalityCode,
        ) -> StoreResult<()> {
            let mut tx = self.pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE plans SET kind = $1, stage = $2, document = $3, updated_at = $4,
                    version = $5
                 WHERE case_id = $6 AND version = $7",
            )
            .bind(name_of(plan.kind))
            .bind(name_of(plan.stage))
            .bind(Json(plan))
            .bind(plan.updated_at)
            .bind(plan.version)
            .bind(plan.case.as_uuid())
            .bind(record.version - 1)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::Stale);
            }
            insert_record(&mut tx, plan.case, record).await?;
            append(&mut tx, &[plan_event(record, plan.case, municipality)]).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn put_plan_grant(
            &self,
            grant: &PlanGrant,
            municipality: &MunicipalityCode,
        ) -> StoreResult<()> {
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO plan_grants (case_id, organisation, access, purpose, granted_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (case_id, organisation) DO UPDATE
                 SET access = $3, purpose = $4, granted_at = $5, expires_at = $6",
            )
            .bind(grant.case.as_uuid())
            .bind(&grant.organisation)
            .bind(grant.access.as_str())
            .bind(&grant.purpose)
            .bind(grant.granted_at)
            .bind(grant.expires_at)
            .execute(&mut *tx)
            .await?;
            append(&mut tx, &[granted_event(grant, municipality)]).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn revoke_plan_grant(
            &self,
            case: CaseId,
            organisation: &str,
            municipality: &MunicipalityCode,
        ) -> StoreResult<bool> {
            let mut tx = self.pool.begin().await?;
            let deleted =
                sqlx::query("DELETE FROM plan_grants WHERE case_id = $1 AND organisation = $2")
                    .bind(case.as_uuid())
                    .bind(organisation)
                    .execute(&mut *tx)
                    .await?;
            if deleted.rows_affected() == 0 {
                return Ok(false);
            }
            append(&mut tx, &[revoked_event(case, organisation, municipality)]).await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn plan_grant(
            &self,
            case: CaseId,
            organisation: &str,
        ) -> StoreResult<Option<PlanGrant>> {
            let row = sqlx::query(
                "SELECT access, purpose, granted_at, expires_at FROM plan_grants
                 WHERE case_id = $1 AND organisation = $2",
            )
            .bind(case.as_uuid())
            .bind(organisation)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| {
                grant_from(
                    case,
                    organisation.to_owned(),
                    r.try_get("access")?,
                    r.try_get("purpose")?,
                    r.try_get("granted_at")?,
                    r.try_get("expires_at")?,
                )
            })
            .transpose()
        }
    }

    async fn insert_record(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        case: CaseId,
        record: &ChangeRecord,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO plan_changes (case_id, version, recorded_at, record)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(case.as_uuid())
        .bind(record.version)
        .bind(record.at)
        .bind(Json(record))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
