//! Screening groups and screenings (the holistic 360-degree assessment): the `ScreeningStore`
//! trait and both backends. Groups and screenings are stored as JSON documents of the domain
//! types next to the columns the queue and the timeline filter on. Events carry ids, kinds and
//! dates only — never findings, notes or the health condition.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kia_domain::case::{CaseId, MunicipalityCode};
use kia_domain::screening::{NewCase, Screening, ScreeningGroup};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

use crate::{
    Created, IdempotencyKey, NewEvent, PostgresStore, SqliteStore, StoreError, StoreResult,
    parse_ts, postgres, sqlite,
};

/// A stored screening group of one municipality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub id: Uuid,
    pub municipality: MunicipalityCode,
    pub group: ScreeningGroup,
    /// Per member (same order as `group.members()`): the kia organisation id of a provider
    /// member, which may record that member's assessments.
    pub member_organizations: Vec<Option<String>>,
    pub created_at: DateTime<Utc>,
}

/// A stored screening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningRecord {
    pub id: Uuid,
    pub municipality: MunicipalityCode,
    pub group_id: Uuid,
    pub screening: Screening,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl ScreeningRecord {
    /// Changes with every change of the screening (AIP-154).
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

#[derive(Serialize, Deserialize)]
struct GroupDocument {
    group: ScreeningGroup,
    member_organizations: Vec<Option<String>>,
}

impl NewEvent {
    fn screening_group_created(g: &GroupRecord) -> Self {
        Self {
            stream_type: "screening_group",
            stream_id: g.id.to_string(),
            event_type: "screening_group.created",
            municipality: Some(g.municipality.to_string()),
            payload: serde_json::json!({ "members": g.group.members().len() }),
        }
    }

    fn screening_opened(s: &ScreeningRecord) -> Self {
        Self {
            stream_type: "screening",
            stream_id: s.id.to_string(),
            event_type: "screening.opened",
            municipality: Some(s.municipality.to_string()),
            payload: serde_json::json!({
                "case_id": s.screening.case_id(),
                "group_id": s.group_id,
                "opened_on": s.screening.opened_on(),
            }),
        }
    }

    /// A recorded assessment: the discipline only.
    pub fn assessment_recorded(s: &ScreeningRecord, discipline: &str) -> Self {
        Self {
            stream_type: "screening",
            stream_id: s.id.to_string(),
            event_type: "screening.assessment_recorded",
            municipality: Some(s.municipality.to_string()),
            payload: serde_json::json!({
                "case_id": s.screening.case_id(),
                "discipline": discipline,
            }),
        }
    }

    /// A concluded screening: the date only.
    pub fn screening_concluded(s: &ScreeningRecord) -> Self {
        Self {
            stream_type: "screening",
            stream_id: s.id.to_string(),
            event_type: "screening.concluded",
            municipality: Some(s.municipality.to_string()),
            payload: serde_json::json!({
                "case_id": s.screening.case_id(),
                "concluded_on": s.screening.conclusion().map(|c| c.concluded_on),
            }),
        }
    }
}

/// Screening groups and screenings.
#[async_trait]
pub trait ScreeningStore: Send + Sync {
    /// Stores a new group and its event; with a key, a retry returns the first group.
    async fn create_screening_group(
        &self,
        group: &GroupRecord,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<GroupRecord>>;

    async fn get_screening_group(&self, id: Uuid) -> StoreResult<Option<GroupRecord>>;

    /// Stores a new screening (its case and group must exist) and its `screening.opened` event.
    async fn create_screening(&self, screening: &ScreeningRecord) -> StoreResult<()>;

    async fn get_screening(&self, id: Uuid) -> StoreResult<Option<ScreeningRecord>>;

    /// Saves a changed screening if it is still at `expected_version`, with its event, in one
    /// transaction; otherwise [`StoreError::Stale`].
    async fn update_screening(
        &self,
        screening: &ScreeningRecord,
        expected_version: i64,
        event: &NewEvent,
    ) -> StoreResult<()>;

    /// The concluded screenings of a case, earliest conclusion first.
    async fn concluded_screenings(&self, case: CaseId) -> StoreResult<Vec<ScreeningRecord>>;

    /// The open cases of a municipality, each with whether a screening of it was concluded.
    async fn screening_candidates(
        &self,
        municipality: &MunicipalityCode,
    ) -> StoreResult<Vec<NewCase>>;
}

fn group_document(g: &GroupRecord) -> GroupDocument {
    GroupDocument {
        group: g.group.clone(),
        member_organizations: g.member_organizations.clone(),
    }
}

fn group_record(
    id: Uuid,
    municipality: &str,
    document: GroupDocument,
    created_at: DateTime<Utc>,
) -> StoreResult<GroupRecord> {
    Ok(GroupRecord {
        id,
        municipality: MunicipalityCode::parse(municipality).map_err(StoreError::corrupt)?,
        group: document.group,
        member_organizations: document.member_organizations,
        created_at,
    })
}

#[allow(clippy::too_many_arguments)]
fn screening_record(
    id: Uuid,
    municipality: &str,
    group_id: Uuid,
    screening: Screening,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
) -> StoreResult<ScreeningRecord> {
    Ok(ScreeningRecord {
        id,
        municipality: MunicipalityCode::parse(municipality).map_err(StoreError::corrupt)?,
        group_id,
        screening,
        created_at,
        updated_at,
        version,
    })
}

fn concluded_on(s: &ScreeningRecord) -> Option<NaiveDate> {
    s.screening.conclusion().map(|c| c.concluded_on)
}

// ---------------------------------------------------------------------------------------------
// SQLite

fn uuid_col(row: &sqlx::sqlite::SqliteRow, col: &str) -> StoreResult<Uuid> {
    let raw: String = row.try_get(col)?;
    raw.parse().map_err(StoreError::corrupt)
}

fn sqlite_group(row: &sqlx::sqlite::SqliteRow) -> StoreResult<GroupRecord> {
    let doc: String = row.try_get("document")?;
    group_record(
        uuid_col(row, "id")?,
        row.try_get("municipality")?,
        serde_json::from_str(&doc).map_err(StoreError::corrupt)?,
        parse_ts(row.try_get("created_at")?)?,
    )
}

fn sqlite_screening(row: &sqlx::sqlite::SqliteRow) -> StoreResult<ScreeningRecord> {
    let doc: String = row.try_get("document")?;
    screening_record(
        uuid_col(row, "id")?,
        row.try_get("municipality")?,
        uuid_col(row, "group_id")?,
        serde_json::from_str(&doc).map_err(StoreError::corrupt)?,
        parse_ts(row.try_get("created_at")?)?,
        parse_ts(row.try_get("updated_at")?)?,
        row.try_get("version")?,
    )
}

fn json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(StoreError::corrupt)
}

#[async_trait]
impl ScreeningStore for SqliteStore {
    async fn create_screening_group(
        &self,
        group: &GroupRecord,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<GroupRecord>> {
        let mut tx = self.begin().await?;
        if let Some(key) = key
            && let Some(existing) = sqlite::replayed(&mut tx, key).await?
        {
            let row = sqlx::query("SELECT * FROM screening_groups WHERE id = ?")
                .bind(&existing)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(Created::Replayed(sqlite_group(&row)?));
        }
        sqlx::query(
            "INSERT INTO screening_groups (id, municipality, document, created_at)
             VALUES (?, ?, ?, ?)",
        )
        .bind(group.id.to_string())
        .bind(group.municipality.as_str())
        .bind(json(&group_document(group))?)
        .bind(sqlite::ts(group.created_at))
        .execute(&mut *tx)
        .await?;
        sqlite::append(&mut tx, &NewEvent::screening_group_created(group)).await?;
        if let Some(key) = key {
            crate::sqlite::remember_key(&mut tx, key, &group.id.to_string(), group.created_at)
                .await?;
        }
        self.commit(tx).await?;
        Ok(Created::New(group.clone()))
    }

    async fn get_screening_group(&self, id: Uuid) -> StoreResult<Option<GroupRecord>> {
        let row = sqlx::query("SELECT * FROM screening_groups WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(sqlite_group).transpose()
    }

    async fn create_screening(&self, s: &ScreeningRecord) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO screenings (id, case_id, group_id, municipality, concluded_on, document,
                created_at, updated_at, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.to_string())
        .bind(s.screening.case_id().to_string())
        .bind(s.group_id.to_string())
        .bind(s.municipality.as_str())
        .bind(concluded_on(s))
        .bind(json(&s.screening)?)
        .bind(sqlite::ts(s.created_at))
        .bind(sqlite::ts(s.updated_at))
        .bind(s.version)
        .execute(&mut *tx)
        .await?;
        sqlite::append(&mut tx, &NewEvent::screening_opened(s)).await?;
        self.commit(tx).await?;
        Ok(())
    }

    async fn get_screening(&self, id: Uuid) -> StoreResult<Option<ScreeningRecord>> {
        let row = sqlx::query("SELECT * FROM screenings WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(sqlite_screening).transpose()
    }

    async fn update_screening(
        &self,
        s: &ScreeningRecord,
        expected_version: i64,
        event: &NewEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE screenings SET concluded_on = ?, document = ?, updated_at = ?, version = ?
             WHERE id = ? AND version = ?",
        )
        .bind(concluded_on(s))
        .bind(json(&s.screening)?)
        .bind(sqlite::ts(s.updated_at))
        .bind(s.version)
        .bind(s.id.to_string())
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        sqlite::append(&mut tx, event).await?;
        self.commit(tx).await?;
        Ok(())
    }

    async fn concluded_screenings(&self, case: CaseId) -> StoreResult<Vec<ScreeningRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM screenings WHERE case_id = ? AND concluded_on IS NOT NULL
             ORDER BY concluded_on, updated_at",
        )
        .bind(case.to_string())
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(sqlite_screening).collect()
    }

    async fn screening_candidates(
        &self,
        municipality: &MunicipalityCode,
    ) -> StoreResult<Vec<NewCase>> {
        let rows = sqlx::query(
            "SELECT c.id, c.first_sick_day,
                    EXISTS (SELECT 1 FROM screenings s
                            WHERE s.case_id = c.id AND s.concluded_on IS NOT NULL) AS screened
             FROM cases c WHERE c.municipality = ? AND c.state = 'open'",
        )
        .bind(municipality.as_str())
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                Ok(NewCase {
                    case_id: id.parse().map_err(StoreError::corrupt)?,
                    first_sick_day: row.try_get("first_sick_day")?,
                    screened: row.try_get("screened")?,
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

fn pg_group(row: &sqlx::postgres::PgRow) -> StoreResult<GroupRecord> {
    group_record(
        row.try_get("id")?,
        row.try_get("municipality")?,
        row.try_get::<sqlx::types::Json<GroupDocument>, _>("document")?
            .0,
        row.try_get("created_at")?,
    )
}

fn pg_screening(row: &sqlx::postgres::PgRow) -> StoreResult<ScreeningRecord> {
    screening_record(
        row.try_get("id")?,
        row.try_get("municipality")?,
        row.try_get("group_id")?,
        row.try_get::<sqlx::types::Json<Screening>, _>("document")?
            .0,
        row.try_get("created_at")?,
        row.try_get("updated_at")?,
        row.try_get("version")?,
    )
}

impl PostgresStore {
    async fn try_create_screening_group(
        &self,
        group: &GroupRecord,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<GroupRecord>> {
        let mut tx = self.pool.begin().await?;
        if let Some(key) = key {
            if let Some(existing) = postgres::replayed(&mut tx, key).await? {
                let row = sqlx::query("SELECT * FROM screening_groups WHERE id = $1")
                    .bind(existing)
                    .fetch_one(&mut *tx)
                    .await?;
                return Ok(Created::Replayed(pg_group(&row)?));
            }
            // Claim the key first: a concurrent retry waits here, then reads the winner's group.
            crate::postgres::remember_key(&mut tx, key, &group.id.to_string(), group.created_at)
                .await?;
        }
        sqlx::query(
            "INSERT INTO screening_groups (id, municipality, document, created_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(group.id)
        .bind(group.municipality.as_str())
        .bind(sqlx::types::Json(group_document(group)))
        .bind(group.created_at)
        .execute(&mut *tx)
        .await?;
        postgres::append(&mut tx, &[NewEvent::screening_group_created(group)]).await?;
        tx.commit().await?;
        Ok(Created::New(group.clone()))
    }
}

#[async_trait]
impl ScreeningStore for PostgresStore {
    async fn create_screening_group(
        &self,
        group: &GroupRecord,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Created<GroupRecord>> {
        match self.try_create_screening_group(group, key).await {
            Err(StoreError::Conflict(_)) if key.is_some() => {
                self.try_create_screening_group(group, key).await
            }
            other => other,
        }
    }

    async fn get_screening_group(&self, id: Uuid) -> StoreResult<Option<GroupRecord>> {
        let row = sqlx::query("SELECT * FROM screening_groups WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(pg_group).transpose()
    }

    async fn create_screening(&self, s: &ScreeningRecord) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO screenings (id, case_id, group_id, municipality, concluded_on, document,
                created_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(s.id)
        .bind(s.screening.case_id().as_uuid())
        .bind(s.group_id)
        .bind(s.municipality.as_str())
        .bind(concluded_on(s))
        .bind(sqlx::types::Json(&s.screening))
        .bind(s.created_at)
        .bind(s.updated_at)
        .bind(s.version)
        .execute(&mut *tx)
        .await?;
        postgres::append(&mut tx, &[NewEvent::screening_opened(s)]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_screening(&self, id: Uuid) -> StoreResult<Option<ScreeningRecord>> {
        let row = sqlx::query("SELECT * FROM screenings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(pg_screening).transpose()
    }

    async fn update_screening(
        &self,
        s: &ScreeningRecord,
        expected_version: i64,
        event: &NewEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE screenings SET concluded_on = $1, document = $2, updated_at = $3, version = $4
             WHERE id = $5 AND version = $6",
        )
        .bind(concluded_on(s))
        .bind(sqlx::types::Json(&s.screening))
        .bind(s.updated_at)
        .bind(s.version)
        .bind(s.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        postgres::append(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn concluded_screenings(&self, case: CaseId) -> StoreResult<Vec<ScreeningRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM screenings WHERE case_id = $1 AND concluded_on IS NOT NULL
             ORDER BY concluded_on, updated_at",
        )
        .bind(case.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(pg_screening).collect()
    }

    async fn screening_candidates(
        &self,
        municipality: &MunicipalityCode,
    ) -> StoreResult<Vec<NewCase>> {
        let rows = sqlx::query(
            "SELECT c.id, c.first_sick_day,
                    EXISTS (SELECT 1 FROM screenings s
                            WHERE s.case_id = c.id AND s.concluded_on IS NOT NULL) AS screened
             FROM cases c WHERE c.municipality = $1 AND c.state = 'open'",
        )
        .bind(municipality.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: Uuid = row.try_get("id")?;
                Ok(NewCase {
                    case_id: id.to_string().parse().map_err(StoreError::corrupt)?,
                    first_sick_day: row.try_get("first_sick_day")?,
                    screened: row.try_get("screened")?,
                })
            })
            .collect()
    }
}
