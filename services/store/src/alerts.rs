//! Alerts (DOMAIN.md §2.6) and what the alert engine keeps between evaluations: when each case
//! is next due, how far the engine has read the event log, and the settable clock's offset.
//!
//! At most one alert per (rule, subject) is not resolved: a partial unique index says so in the
//! database, and [`AlertStore::reconcile_alerts`] updates the one there is instead of adding a
//! second. Every change of an alert appends an `alert` event in the same transaction, so a
//! watcher resumes from an event-log position and sees each change once.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use kia_domain::alerts::{AlertCondition, AlertRule, Recipient, Severity};
use kia_domain::case::{Case, CaseId, MunicipalityCode};
use kia_domain::contracting::{Contract, Referral};
use kia_domain::plan::Plan;
use serde_json::json;
use uuid::Uuid;

use crate::{NewEvent, ROWS_PER_STATEMENT, StoreError, StoreResult};

/// Sweep partitions: a case belongs to the partition of its id's last hex digit.
pub const ALERT_PARTITIONS: u32 = 16;

/// The sweep partition of a case (the last hex digit of its id; UUIDv7 ends in random bits).
pub fn alert_partition(case: CaseId) -> u32 {
    (case.as_uuid().as_u128() & 0xf) as u32
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    Open,
    /// Seen by someone who said so; still unresolved.
    Acknowledged,
    /// Its cause went away.
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Open, Self::Acknowledged, Self::Resolved]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub id: Uuid,
    pub rule: AlertRule,
    /// [`kia_domain::alerts::Subject::key`].
    pub subject: String,
    pub case: CaseId,
    pub municipality: MunicipalityCode,
    pub recipient: Recipient,
    pub severity: Severity,
    pub cause: String,
    pub data: serde_json::Value,
    pub due_on: Option<NaiveDate>,
    pub state: AlertState,
    pub raised_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub version: i64,
}

impl AlertRecord {
    fn same_condition(&self, c: &AlertCondition) -> bool {
        self.severity == c.severity
            && self.cause == c.cause
            && self.data == c.data
            && self.due_on == c.due_on
            && self.recipient == c.recipient
    }

    fn apply(&mut self, c: &AlertCondition, now: DateTime<Utc>) {
        self.severity = c.severity;
        self.cause.clone_from(&c.cause);
        self.data = c.data.clone();
        self.due_on = c.due_on;
        self.recipient = c.recipient.clone();
        self.updated_at = now;
        self.version += 1;
    }
}

/// What happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertChangeKind {
    Raised,
    /// Severity, cause, data or due date changed (e.g. a warning became overdue).
    Updated,
    Acknowledged,
    Resolved,
}

impl AlertChangeKind {
    /// The event type in the log.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Raised => "alerts.raised",
            Self::Updated => "alerts.updated",
            Self::Acknowledged => "alerts.acknowledged",
            Self::Resolved => "alerts.resolved",
        }
    }

    pub fn from_event_type(raw: &str) -> Option<Self> {
        [
            Self::Raised,
            Self::Updated,
            Self::Acknowledged,
            Self::Resolved,
        ]
        .into_iter()
        .find(|k| k.event_type() == raw)
    }
}

/// One change with the alert as it is after it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertChange {
    pub kind: AlertChangeKind,
    pub alert: AlertRecord,
}

/// The event of an alert change: ids, rule, severity, state and recipient; never the cause (it
/// may name a health activity).
pub fn alert_event(change: &AlertChange) -> NewEvent {
    let a = &change.alert;
    NewEvent {
        stream_type: "alert",
        stream_id: a.id.to_string(),
        event_type: change.kind.event_type(),
        municipality: Some(a.municipality.to_string()),
        payload: json!({
            "alert_id": a.id,
            "rule": a.rule.as_str(),
            "case_id": a.case.to_string(),
            "severity": a.severity.as_str(),
            "state": a.state.as_str(),
            "recipient_organisation": a.recipient.organisation,
            "recipient_role": a.recipient.role,
            "version": a.version,
        }),
    }
}

/// One case's evaluation, ready to be stored.
#[derive(Debug, Clone)]
pub struct CaseEvaluation {
    pub case: CaseId,
    pub municipality: MunicipalityCode,
    pub conditions: Vec<AlertCondition>,
    pub next_check: Option<NaiveDate>,
    /// The event-log position read before the inputs were loaded: an evaluation never replaces
    /// one that saw a later position.
    pub position: i64,
}

/// What the rules read about one case, loaded in bulk.
#[derive(Debug, Clone)]
pub struct AlertInputs {
    pub case: Case,
    pub plan: Option<Plan>,
    pub first_screening_concluded: Option<NaiveDate>,
    pub referrals: Vec<(Contract, Referral)>,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    pub municipality: Option<MunicipalityCode>,
    /// Alerts addressed to this organisation.
    pub recipient_organisation: Option<String>,
    pub case: Option<CaseId>,
    pub rule: Option<AlertRule>,
    pub state: Option<AlertState>,
}

/// Why an acknowledgement was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Acknowledged {
    Done(AlertRecord),
    /// Already acknowledged: the record as it is (acknowledging twice changes nothing).
    Already(AlertRecord),
    /// A resolved alert cannot be acknowledged.
    Resolved(AlertRecord),
}

/// Open alerts by rule and severity, and the oldest one's raise time (for the gauges).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpenAlertStats {
    pub by_rule_severity: Vec<(String, String, i64)>,
    pub oldest_raised_at: Option<DateTime<Utc>>,
}

#[async_trait]
/// Alerts and the alert engine's bookkeeping.
pub trait AlertStore: Send + Sync {
    /// Stores evaluations in one transaction: raises what is new, updates what changed,
    /// resolves what no longer holds, records each case's next check, appends one event per
    /// change. An evaluation older (by event position) than the stored one is skipped.
    async fn reconcile_alerts(
        &self,
        evaluations: &[CaseEvaluation],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<AlertChange>>;

    async fn get_alert(&self, id: Uuid) -> StoreResult<Option<AlertRecord>>;

    /// Up to `limit` alerts after `after` in id (= creation) order.
    async fn list_alerts(
        &self,
        filter: &AlertFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<AlertRecord>>;

    /// Marks an open alert acknowledged by `by`, with its event.
    async fn acknowledge_alert(
        &self,
        id: Uuid,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Acknowledged>>;

    /// Cases of a sweep partition due for evaluation on `today`, after `(next_check, case)` in
    /// that order (keyset), up to `limit`.
    async fn due_cases(
        &self,
        partition: u32,
        today: NaiveDate,
        after: Option<(NaiveDate, CaseId)>,
        limit: u32,
    ) -> StoreResult<Vec<(NaiveDate, CaseId)>>;

    /// The inputs of the rules for these cases (missing cases are left out).
    async fn alert_inputs(&self, cases: &[CaseId]) -> StoreResult<Vec<AlertInputs>>;

    /// The case an event of another aggregate is about (screening, referral), if any.
    async fn case_of_stream(
        &self,
        stream_type: &str,
        stream_id: &str,
    ) -> StoreResult<Option<CaseId>>;

    /// How far the engine named `name` has read the event log (0: from the start).
    async fn alert_cursor(&self, name: &str) -> StoreResult<i64>;

    async fn set_alert_cursor(&self, name: &str, position: i64) -> StoreResult<()>;

    async fn open_alert_stats(&self) -> StoreResult<OpenAlertStats>;

    /// The settable clock's offset from system time (0 when never set).
    async fn clock_offset_ms(&self) -> StoreResult<i64>;

    /// Stores the clock's offset and appends a `clock.set` event, so every replica follows.
    async fn set_clock_offset_ms(
        &self,
        offset_ms: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// The event of a clock change (the new instant; who set it stays in `clock_setting`).
fn clock_event(offset_ms: i64, now: DateTime<Utc>) -> NewEvent {
    NewEvent {
        stream_type: "clock",
        stream_id: "clock".to_owned(),
        event_type: "clock.set",
        municipality: None,
        payload: json!({ "offset_ms": offset_ms, "now": now }),
    }
}

fn new_alert_id(now: DateTime<Utc>) -> Uuid {
    CaseId::new(
        now.timestamp_millis().max(0) as u64,
        Uuid::new_v4().as_u128(),
    )
    .as_uuid()
}

/// Decides the changes for one case from its unresolved alerts and its conditions.
fn plan_changes(
    eval: &CaseEvaluation,
    existing: Vec<AlertRecord>,
    now: DateTime<Utc>,
) -> Vec<AlertChange> {
    // What both databases keep, so a stored instant reads back equal.
    let now = now.trunc_subsecs(6);
    let mut existing: BTreeMap<(AlertRule, String), AlertRecord> = existing
        .into_iter()
        .map(|a| ((a.rule, a.subject.clone()), a))
        .collect();
    let mut changes = Vec::new();
    for c in &eval.conditions {
        match existing.remove(&(c.rule, c.subject.key())) {
            Some(a) if a.same_condition(c) => {}
            Some(mut a) => {
                a.apply(c, now);
                changes.push(AlertChange {
                    kind: AlertChangeKind::Updated,
                    alert: a,
                });
            }
            None => changes.push(AlertChange {
                kind: AlertChangeKind::Raised,
                alert: AlertRecord {
                    id: new_alert_id(now),
                    rule: c.rule,
                    subject: c.subject.key(),
                    case: eval.case,
                    municipality: eval.municipality.clone(),
                    recipient: c.recipient.clone(),
                    severity: c.severity,
                    cause: c.cause.clone(),
                    data: c.data.clone(),
                    due_on: c.due_on,
                    state: AlertState::Open,
                    raised_at: now,
                    updated_at: now,
                    acknowledged_by: None,
                    acknowledged_at: None,
                    resolved_at: None,
                    version: 1,
                },
            }),
        }
    }
    for (_, mut a) in existing {
        a.state = AlertState::Resolved;
        a.resolved_at = Some(now);
        a.updated_at = now;
        a.version += 1;
        changes.push(AlertChange {
            kind: AlertChangeKind::Resolved,
            alert: a,
        });
    }
    changes
}

/// A fingerprint of a case's alert conditions: every field an alert keeps of its condition,
/// in (rule, subject) order. The schedule stores the fingerprint of the unresolved alerts it
/// left, so an evaluation with the same fingerprint changes nothing and need not read them.
/// (Two different sets share a fingerprint with odds of 2⁻⁶⁴; a fingerprint that differs only
/// costs the read.)
pub fn conditions_digest(conditions: &[AlertCondition]) -> i64 {
    use sha2_v011::{Digest, Sha256};
    let mut sorted: Vec<(AlertRule, String, &AlertCondition)> = conditions
        .iter()
        .map(|c| (c.rule, c.subject.key(), c))
        .collect();
    sorted.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut hash = Sha256::new();
    for (rule, subject, c) in sorted {
        for field in [
            rule.as_str(),
            &subject,
            c.severity.as_str(),
            c.recipient.organisation.as_deref().unwrap_or("\u{0}"),
            &c.recipient.role,
            &c.cause,
            &c.data.to_string(),
            &c.due_on.map(|d| d.to_string()).unwrap_or_default(),
        ] {
            // Length-prefixed, so no two field lists run together into the same bytes.
            hash.update((field.len() as u64).to_le_bytes());
            hash.update(field.as_bytes());
        }
    }
    let bytes = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes[..8]);
    i64::from_le_bytes(first)
}

/// What the schedule holds for a case.
#[derive(Debug, Clone, Copy)]
struct Scheduled {
    position: i64,
    next_check: Option<NaiveDate>,
    digest: Option<i64>,
}

/// A schedule row to write.
#[derive(Debug, Clone, Copy)]
struct ScheduleRow {
    case: CaseId,
    partition: u32,
    next_check: Option<NaiveDate>,
    position: i64,
    digest: i64,
}

/// How a batch of evaluations changes the store.
#[derive(Debug, Default)]
struct Triage<'a> {
    /// Evaluations whose conditions' fingerprint is not the stored one: their unresolved
    /// alerts are read and reconciled.
    changed: Vec<&'a CaseEvaluation>,
    /// Schedule rows to write whole.
    schedule: Vec<ScheduleRow>,
    /// Cases whose alerts and next check stay as stored, by the newer log position to record
    /// (so an evaluation that saw an older position still cannot overwrite them).
    seen_at: BTreeMap<i64, Vec<CaseId>>,
}

/// Sorts a batch of evaluations against the schedule. An evaluation that saw an older log
/// position than the stored one is dropped; one that changes nothing writes nothing.
fn triage<'a>(
    evaluations: &'a [CaseEvaluation],
    scheduled: &HashMap<CaseId, Scheduled>,
) -> Triage<'a> {
    let mut triage = Triage::default();
    for eval in evaluations {
        let stored = scheduled.get(&eval.case);
        if stored.is_some_and(|s| s.position > eval.position) {
            continue; // a newer evaluation is stored
        }
        let digest = conditions_digest(&eval.conditions);
        let row = ScheduleRow {
            case: eval.case,
            partition: alert_partition(eval.case),
            next_check: eval.next_check,
            position: eval.position,
            digest,
        };
        match stored {
            Some(s) if s.digest == Some(digest) && s.next_check == eval.next_check => {
                if s.position < eval.position {
                    triage
                        .seen_at
                        .entry(eval.position)
                        .or_default()
                        .push(eval.case);
                }
            }
            Some(s) if s.digest == Some(digest) => triage.schedule.push(row),
            _ => {
                triage.changed.push(eval);
                triage.schedule.push(row);
            }
        }
    }
    triage
}

/// The alert changes of the cases `triage` found changed, given their unresolved alerts.
fn changes_of(
    changed: &[&CaseEvaluation],
    mut open: HashMap<CaseId, Vec<AlertRecord>>,
    now: DateTime<Utc>,
) -> Vec<AlertChange> {
    changed
        .iter()
        .flat_map(|eval| plan_changes(eval, open.remove(&eval.case).unwrap_or_default(), now))
        .collect()
}

/// The alerts a batch raises, and those it changes.
fn split_raised(changes: &[AlertChange]) -> (Vec<&AlertRecord>, Vec<&AlertRecord>) {
    let (raised, updated): (Vec<&AlertChange>, Vec<&AlertChange>) = changes
        .iter()
        .partition(|c| c.kind == AlertChangeKind::Raised);
    (
        raised.into_iter().map(|c| &c.alert).collect(),
        updated.into_iter().map(|c| &c.alert).collect(),
    )
}

/// The acknowledgement of an open alert, or why there is none.
fn acknowledgement(
    mut a: AlertRecord,
    by: &str,
    now: DateTime<Utc>,
) -> Result<AlertChange, Acknowledged> {
    let now = now.trunc_subsecs(6);
    match a.state {
        AlertState::Resolved => return Err(Acknowledged::Resolved(a)),
        AlertState::Acknowledged => return Err(Acknowledged::Already(a)),
        AlertState::Open => {}
    }
    a.state = AlertState::Acknowledged;
    a.acknowledged_by = Some(by.to_owned());
    a.acknowledged_at = Some(now);
    a.updated_at = now;
    a.version += 1;
    Ok(AlertChange {
        kind: AlertChangeKind::Acknowledged,
        alert: a,
    })
}

/// The columns of a stored alert, as either backend reads them.
struct AlertRow {
    id: Uuid,
    rule: String,
    subject: String,
    case_id: String,
    municipality: String,
    recipient_organisation: Option<String>,
    recipient_role: String,
    severity: String,
    cause: String,
    data: serde_json::Value,
    due_on: Option<NaiveDate>,
    state: String,
    raised_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    acknowledged_by: Option<String>,
    acknowledged_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    version: i64,
}

impl AlertRow {
    fn into_record(self) -> StoreResult<AlertRecord> {
        let bad = |what: &str| StoreError::corrupt(format!("alert {}: {what}", self.id));
        Ok(AlertRecord {
            id: self.id,
            rule: AlertRule::parse(&self.rule).ok_or_else(|| bad("rule"))?,
            case: self.case_id.parse().map_err(|_| bad("case_id"))?,
            municipality: MunicipalityCode::parse(&self.municipality).map_err(bad)?,
            recipient: Recipient {
                organisation: self.recipient_organisation,
                role: self.recipient_role,
            },
            severity: Severity::parse(&self.severity).ok_or_else(|| bad("severity"))?,
            state: AlertState::parse(&self.state).ok_or_else(|| bad("state"))?,
            subject: self.subject,
            cause: self.cause,
            data: self.data,
            due_on: self.due_on,
            raised_at: self.raised_at,
            updated_at: self.updated_at,
            acknowledged_by: self.acknowledged_by,
            acknowledged_at: self.acknowledged_at,
            resolved_at: self.resolved_at,
            version: self.version,
        })
    }
}

fn group_by_case(records: Vec<AlertRecord>) -> HashMap<CaseId, Vec<AlertRecord>> {
    let mut map: HashMap<CaseId, Vec<AlertRecord>> = HashMap::new();
    for r in records {
        map.entry(r.case).or_default().push(r);
    }
    map
}

fn json_ids(cases: &[CaseId]) -> String {
    serde_json::Value::from(cases.iter().map(|c| c.to_string()).collect::<Vec<_>>()).to_string()
}

/// Joins the bulk-loaded parts into one input per case, in the order of `cases`.
fn assemble(
    cases: &[CaseId],
    loaded: Vec<Case>,
    mut plans: HashMap<CaseId, Plan>,
    screened: HashMap<CaseId, NaiveDate>,
    mut referrals: HashMap<CaseId, Vec<(Contract, Referral)>>,
) -> Vec<AlertInputs> {
    let mut by_id: HashMap<CaseId, Case> = loaded.into_iter().map(|c| (c.id, c)).collect();
    cases
        .iter()
        .filter_map(|id| {
            let case = by_id.remove(id)?;
            Some(AlertInputs {
                plan: plans.remove(id),
                first_screening_concluded: screened.get(id).copied(),
                referrals: referrals.remove(id).unwrap_or_default(),
                case,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// SQLite

mod sqlite_impl {
    use super::*;
    use crate::sqlite::{append, append_all, ts};
    use crate::{SqliteStore, parse_ts};
    use sqlx::sqlite::SqliteRow;
    use sqlx::{QueryBuilder, Row, Sqlite};

    fn opt_ts(raw: Option<String>) -> StoreResult<Option<DateTime<Utc>>> {
        raw.as_deref().map(parse_ts).transpose()
    }

    fn alert_row(row: &SqliteRow) -> StoreResult<AlertRecord> {
        let id: String = row.try_get("id")?;
        let data: String = row.try_get("data")?;
        AlertRow {
            id: id.parse().map_err(StoreError::corrupt)?,
            rule: row.try_get("rule")?,
            subject: row.try_get("subject")?,
            case_id: row.try_get("case_id")?,
            municipality: row.try_get("municipality")?,
            recipient_organisation: row.try_get("recipient_organisation")?,
            recipient_role: row.try_get("recipient_role")?,
            severity: row.try_get("severity")?,
            cause: row.try_get("cause")?,
            data: serde_json::from_str(&data).map_err(StoreError::corrupt)?,
            due_on: row.try_get("due_on")?,
            state: row.try_get("state")?,
            raised_at: parse_ts(row.try_get("raised_at")?)?,
            updated_at: parse_ts(row.try_get("updated_at")?)?,
            acknowledged_by: row.try_get("acknowledged_by")?,
            acknowledged_at: opt_ts(row.try_get("acknowledged_at")?)?,
            resolved_at: opt_ts(row.try_get("resolved_at")?)?,
            version: row.try_get("version")?,
        }
        .into_record()
    }

    /// Writes a batch of alert changes and their events: one statement per kind of change
    /// and [`ROWS_PER_STATEMENT`] rows. An update of an alert another writer changed first
    /// fails the whole batch with [`StoreError::Stale`].
    async fn write_changes(
        tx: &mut crate::sqlite::WriteTx,
        changes: &[AlertChange],
    ) -> StoreResult<()> {
        let (raised, updated) = split_raised(changes);
        for chunk in raised.chunks(ROWS_PER_STATEMENT) {
            QueryBuilder::<Sqlite>::new(
                "INSERT INTO alerts (id, rule, subject, case_id, municipality,
                    recipient_organisation, recipient_role, severity, cause, data, due_on, state,
                    raised_at, updated_at, version) ",
            )
            .push_values(chunk, |mut row, a| {
                row.push_bind(a.id.to_string())
                    .push_bind(a.rule.as_str())
                    .push_bind(a.subject.clone())
                    .push_bind(a.case.to_string())
                    .push_bind(a.municipality.to_string())
                    .push_bind(a.recipient.organisation.clone())
                    .push_bind(a.recipient.role.clone())
                    .push_bind(a.severity.as_str())
                    .push_bind(a.cause.clone())
                    .push_bind(a.data.to_string())
                    .push_bind(a.due_on)
                    .push_bind(a.state.as_str())
                    .push_bind(ts(a.raised_at))
                    .push_bind(ts(a.updated_at))
                    .push_bind(a.version);
            })
            .build()
            .execute(&mut **tx)
            .await?;
        }
        // SQLite rewrites an index's entry for every row an UPDATE names one of its columns
        // for, even when the value stays: the columns no index holds are set first, and the
        // indexed ones (state, recipient organisation) only on the rows where they change.
        for chunk in updated.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "WITH u (id, previous, recipient_role, severity, cause, data, due_on, updated_at,
                    acknowledged_by, acknowledged_at, resolved_at, version) AS (",
            );
            query
                .push_values(chunk, |mut row, a| {
                    row.push_bind(a.id.to_string())
                        .push_bind(a.version - 1)
                        .push_bind(a.recipient.role.clone())
                        .push_bind(a.severity.as_str())
                        .push_bind(a.cause.clone())
                        .push_bind(a.data.to_string())
                        .push_bind(a.due_on)
                        .push_bind(ts(a.updated_at))
                        .push_bind(a.acknowledged_by.clone())
                        .push_bind(a.acknowledged_at.map(ts))
                        .push_bind(a.resolved_at.map(ts))
                        .push_bind(a.version);
                })
                .push(
                    ") UPDATE alerts SET recipient_role = u.recipient_role, severity = u.severity,
                        cause = u.cause, data = u.data, due_on = u.due_on,
                        updated_at = u.updated_at, acknowledged_by = u.acknowledged_by,
                        acknowledged_at = u.acknowledged_at, resolved_at = u.resolved_at,
                        version = u.version
                     FROM u WHERE alerts.id = u.id AND alerts.version = u.previous",
                );
            let done = query.build().execute(&mut **tx).await?;
            if done.rows_affected() != chunk.len() as u64 {
                return Err(StoreError::Stale);
            }
            QueryBuilder::<Sqlite>::new("WITH u (id, state, recipient_organisation) AS (")
                .push_values(chunk, |mut row, a| {
                    row.push_bind(a.id.to_string())
                        .push_bind(a.state.as_str())
                        .push_bind(a.recipient.organisation.clone());
                })
                .push(
                    ") UPDATE alerts SET state = u.state,
                        recipient_organisation = u.recipient_organisation
                     FROM u WHERE alerts.id = u.id AND (alerts.state <> u.state
                        OR alerts.recipient_organisation IS NOT u.recipient_organisation)",
                )
                .build()
                .execute(&mut **tx)
                .await?;
        }
        let events: Vec<NewEvent> = changes.iter().map(alert_event).collect();
        append_all(tx, &events).await
    }

    #[async_trait]
    impl AlertStore for SqliteStore {
        async fn reconcile_alerts(
            &self,
            evaluations: &[CaseEvaluation],
            now: DateTime<Utc>,
        ) -> StoreResult<Vec<AlertChange>> {
            let ids: Vec<CaseId> = evaluations.iter().map(|e| e.case).collect();
            let mut tx = self.begin().await?;
            let scheduled: HashMap<CaseId, Scheduled> = sqlx::query(
                "SELECT case_id, evaluated_position, next_check_on, conditions_digest
                 FROM alert_schedule WHERE case_id IN (SELECT value FROM json_each(?))",
            )
            .bind(json_ids(&ids))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                let case: String = r.try_get("case_id")?;
                let scheduled = Scheduled {
                    position: r.try_get("evaluated_position")?,
                    next_check: r.try_get("next_check_on")?,
                    digest: r.try_get("conditions_digest")?,
                };
                Ok((case.parse().map_err(StoreError::corrupt)?, scheduled))
            })
            .collect::<StoreResult<_>>()?;
            let triage = triage(evaluations, &scheduled);
            let mut changes = Vec::new();
            if !triage.changed.is_empty() {
                let changed_ids: Vec<CaseId> = triage.changed.iter().map(|e| e.case).collect();
                let rows = sqlx::query(
                    "SELECT * FROM alerts WHERE state <> 'resolved'
                     AND case_id IN (SELECT value FROM json_each(?))",
                )
                .bind(json_ids(&changed_ids))
                .fetch_all(&mut *tx)
                .await?;
                let open = group_by_case(rows.iter().map(alert_row).collect::<StoreResult<_>>()?);
                changes = changes_of(&triage.changed, open, now);
                write_changes(&mut tx, &changes).await?;
            }
            for (position, cases) in &triage.seen_at {
                sqlx::query(
                    "UPDATE alert_schedule SET evaluated_position = ?
                     WHERE case_id IN (SELECT value FROM json_each(?))",
                )
                .bind(position)
                .bind(json_ids(cases))
                .execute(&mut *tx)
                .await?;
            }
            for chunk in triage.schedule.chunks(ROWS_PER_STATEMENT) {
                let mut query = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO alert_schedule (case_id, partition, next_check_on,
                        evaluated_position, conditions_digest) ",
                );
                query
                    .push_values(chunk, |mut row, s| {
                        row.push_bind(s.case.to_string())
                            .push_bind(s.partition)
                            .push_bind(s.next_check)
                            .push_bind(s.position)
                            .push_bind(s.digest);
                    })
                    .push(
                        " ON CONFLICT (case_id) DO UPDATE SET
                            next_check_on = excluded.next_check_on,
                            evaluated_position = excluded.evaluated_position,
                            conditions_digest = excluded.conditions_digest",
                    );
                query.build().execute(&mut *tx).await?;
            }
            self.commit(tx).await?;
            Ok(changes)
        }

        async fn get_alert(&self, id: Uuid) -> StoreResult<Option<AlertRecord>> {
            sqlx::query("SELECT * FROM alerts WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.readers)
                .await?
                .as_ref()
                .map(alert_row)
                .transpose()
        }

        async fn list_alerts(
            &self,
            filter: &AlertFilter,
            after: Option<Uuid>,
            limit: u32,
        ) -> StoreResult<Vec<AlertRecord>> {
            let rows = sqlx::query(
                "SELECT * FROM alerts
                 WHERE (?1 IS NULL OR municipality = ?1)
                   AND (?2 IS NULL OR recipient_organisation = ?2)
                   AND (?3 IS NULL OR case_id = ?3)
                   AND (?4 IS NULL OR rule = ?4)
                   AND (?5 IS NULL OR state = ?5)
                   AND (?6 IS NULL OR id > ?6)
                 ORDER BY id LIMIT ?7",
            )
            .bind(filter.municipality.as_ref().map(|m| m.as_str()))
            .bind(&filter.recipient_organisation)
            .bind(filter.case.map(|c| c.to_string()))
            .bind(filter.rule.map(|r| r.as_str()))
            .bind(filter.state.map(|s| s.as_str()))
            .bind(after.map(|a| a.to_string()))
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await?;
            rows.iter().map(alert_row).collect()
        }

        async fn acknowledge_alert(
            &self,
            id: Uuid,
            by: &str,
            now: DateTime<Utc>,
        ) -> StoreResult<Option<Acknowledged>> {
            let mut tx = self.begin().await?;
            let Some(row) = sqlx::query("SELECT * FROM alerts WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok(None);
            };
            let change = match acknowledgement(alert_row(&row)?, by, now) {
                Ok(change) => change,
                Err(refused) => return Ok(Some(refused)),
            };
            write_changes(&mut tx, std::slice::from_ref(&change)).await?;
            self.commit(tx).await?;
            Ok(Some(Acknowledged::Done(change.alert)))
        }

        async fn due_cases(
            &self,
            partition: u32,
            today: NaiveDate,
            after: Option<(NaiveDate, CaseId)>,
            limit: u32,
        ) -> StoreResult<Vec<(NaiveDate, CaseId)>> {
            let (after_on, after_id) = match after {
                Some((on, id)) => (Some(on), id.to_string()),
                None => (None, String::new()),
            };
            let rows = sqlx::query(
                "SELECT next_check_on, case_id FROM alert_schedule
                 WHERE partition = ?1 AND next_check_on IS NOT NULL AND next_check_on <= ?2
                   AND (?3 IS NULL OR (next_check_on, case_id) > (?3, ?4))
                 ORDER BY next_check_on, case_id LIMIT ?5",
            )
            .bind(partition)
            .bind(today)
            .bind(after_on)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await?;
            rows.iter()
                .map(|r| {
                    let id: String = r.try_get("case_id")?;
                    Ok((
                        r.try_get("next_check_on")?,
                        id.parse().map_err(StoreError::corrupt)?,
                    ))
                })
                .collect()
        }

        async fn alert_inputs(&self, cases: &[CaseId]) -> StoreResult<Vec<AlertInputs>> {
            let ids = json_ids(cases);
            let loaded =
                sqlx::query("SELECT * FROM cases WHERE id IN (SELECT value FROM json_each(?))")
                    .bind(&ids)
                    .fetch_all(&self.readers)
                    .await?
                    .iter()
                    .map(crate::sqlite::case_row)
                    .collect::<StoreResult<Vec<_>>>()?;
            let parse_case = |raw: String| raw.parse::<CaseId>().map_err(StoreError::corrupt);
            let mut plans = HashMap::new();
            for r in sqlx::query(
                "SELECT case_id, document FROM plans WHERE case_id IN (SELECT value FROM json_each(?))",
            )
            .bind(&ids)
            .fetch_all(&self.readers)
            .await?
            {
                let doc: String = r.try_get("document")?;
                plans.insert(
                    parse_case(r.try_get("case_id")?)?,
                    serde_json::from_str::<Plan>(&doc).map_err(StoreError::corrupt)?,
                );
            }
            let mut screened = HashMap::new();
            for r in sqlx::query(
                "SELECT case_id, MIN(concluded_on) AS first FROM screenings
                 WHERE concluded_on IS NOT NULL AND case_id IN (SELECT value FROM json_each(?))
                 GROUP BY case_id",
            )
            .bind(&ids)
            .fetch_all(&self.readers)
            .await?
            {
                screened.insert(parse_case(r.try_get("case_id")?)?, r.try_get("first")?);
            }
            let mut referrals: HashMap<CaseId, Vec<(Contract, Referral)>> = HashMap::new();
            for r in sqlx::query(
                "SELECT r.case_id, r.doc AS referral, c.doc AS contract
                 FROM contracting_referrals r JOIN contracting_contracts c ON c.id = r.contract_id
                 WHERE r.case_id IN (SELECT value FROM json_each(?))",
            )
            .bind(&ids)
            .fetch_all(&self.readers)
            .await?
            {
                let referral: String = r.try_get("referral")?;
                let contract: String = r.try_get("contract")?;
                referrals
                    .entry(parse_case(r.try_get("case_id")?)?)
                    .or_default()
                    .push((
                        serde_json::from_str(&contract).map_err(StoreError::corrupt)?,
                        serde_json::from_str(&referral).map_err(StoreError::corrupt)?,
                    ));
            }
            Ok(assemble(cases, loaded, plans, screened, referrals))
        }

        async fn case_of_stream(
            &self,
            stream_type: &str,
            stream_id: &str,
        ) -> StoreResult<Option<CaseId>> {
            let sql = match stream_type {
                "screening" => "SELECT case_id FROM screenings WHERE id = ?",
                "contracting.referral" => "SELECT case_id FROM contracting_referrals WHERE id = ?",
                _ => return Ok(None),
            };
            let row = sqlx::query(sql)
                .bind(stream_id)
                .fetch_optional(&self.readers)
                .await?;
            row.map(|r| {
                let id: String = r.try_get("case_id")?;
                id.parse().map_err(StoreError::corrupt)
            })
            .transpose()
        }

        async fn alert_cursor(&self, name: &str) -> StoreResult<i64> {
            let row = sqlx::query("SELECT position FROM alert_cursors WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.readers)
                .await?;
            Ok(row.map(|r| r.try_get("position")).transpose()?.unwrap_or(0))
        }

        async fn set_alert_cursor(&self, name: &str, position: i64) -> StoreResult<()> {
            let writing = self.writing().await;
            sqlx::query(
                "INSERT INTO alert_cursors (name, position) VALUES (?, ?)
                 ON CONFLICT (name) DO UPDATE SET position = MAX(position, excluded.position)",
            )
            .bind(name)
            .bind(position)
            .execute(&self.writer)
            .await?;
            drop(writing);
            self.durable().await
        }

        async fn open_alert_stats(&self) -> StoreResult<OpenAlertStats> {
            let rows = sqlx::query(
                "SELECT rule, severity, COUNT(*) AS n FROM alerts WHERE state <> 'resolved'
                 GROUP BY rule, severity",
            )
            .fetch_all(&self.readers)
            .await?;
            let oldest: Option<String> =
                sqlx::query_scalar("SELECT MIN(raised_at) FROM alerts WHERE state <> 'resolved'")
                    .fetch_one(&self.readers)
                    .await?;
            Ok(OpenAlertStats {
                by_rule_severity: rows
                    .iter()
                    .map(|r| Ok((r.try_get("rule")?, r.try_get("severity")?, r.try_get("n")?)))
                    .collect::<StoreResult<_>>()?,
                oldest_raised_at: oldest.as_deref().map(parse_ts).transpose()?,
            })
        }

        async fn clock_offset_ms(&self) -> StoreResult<i64> {
            let offset: Option<i64> =
                sqlx::query_scalar("SELECT offset_ms FROM clock_setting WHERE id = 1")
                    .fetch_optional(&self.readers)
                    .await?;
            Ok(offset.unwrap_or(0))
        }

        async fn set_clock_offset_ms(
            &self,
            offset_ms: i64,
            by: &str,
            now: DateTime<Utc>,
        ) -> StoreResult<()> {
            let mut tx = self.begin().await?;
            sqlx::query(
                "INSERT INTO clock_setting (id, offset_ms, set_by, set_at) VALUES (1, ?, ?, ?)
                 ON CONFLICT (id) DO UPDATE SET offset_ms = excluded.offset_ms,
                    set_by = excluded.set_by, set_at = excluded.set_at",
            )
            .bind(offset_ms)
            .bind(by)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
            append(&mut tx, &clock_event(offset_ms, now)).await?;
            self.commit(tx).await?;
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

mod postgres_impl {
    use super::*;
    use crate::PostgresStore;
    use crate::postgres::append;
    use sqlx::postgres::PgRow;
    use sqlx::types::Json;
    use sqlx::{Postgres, QueryBuilder, Row, Transaction};

    /// Advisory-lock class of per-case alert reconciliation (two-key form: its own key space).
    const ALERT_LOCK_CLASS: i32 = 0x414c;

    fn alert_row(row: &PgRow) -> StoreResult<AlertRecord> {
        let case: Uuid = row.try_get("case_id")?;
        let data: Json<serde_json::Value> = row.try_get("data")?;
        AlertRow {
            id: row.try_get("id")?,
            rule: row.try_get("rule")?,
            subject: row.try_get("subject")?,
            case_id: case.to_string(),
            municipality: row.try_get("municipality")?,
            recipient_organisation: row.try_get("recipient_organisation")?,
            recipient_role: row.try_get("recipient_role")?,
            severity: row.try_get("severity")?,
            cause: row.try_get("cause")?,
            data: data.0,
            due_on: row.try_get("due_on")?,
            state: row.try_get("state")?,
            raised_at: row.try_get("raised_at")?,
            updated_at: row.try_get("updated_at")?,
            acknowledged_by: row.try_get("acknowledged_by")?,
            acknowledged_at: row.try_get("acknowledged_at")?,
            resolved_at: row.try_get("resolved_at")?,
            version: row.try_get("version")?,
        }
        .into_record()
    }

    fn uuids(cases: &[CaseId]) -> Vec<Uuid> {
        cases.iter().map(|c| c.as_uuid()).collect()
    }

    /// Writes a batch of alert changes and their events (see the SQLite twin).
    async fn write_changes(
        tx: &mut Transaction<'_, Postgres>,
        changes: &[AlertChange],
    ) -> StoreResult<()> {
        let (raised, updated) = split_raised(changes);
        for chunk in raised.chunks(ROWS_PER_STATEMENT) {
            QueryBuilder::<Postgres>::new(
                "INSERT INTO alerts (id, rule, subject, case_id, municipality,
                    recipient_organisation, recipient_role, severity, cause, data, due_on, state,
                    raised_at, updated_at, version) ",
            )
            .push_values(chunk, |mut row, a| {
                row.push_bind(a.id)
                    .push_bind(a.rule.as_str())
                    .push_bind(a.subject.clone())
                    .push_bind(a.case.as_uuid())
                    .push_bind(a.municipality.to_string())
                    .push_bind(a.recipient.organisation.clone())
                    .push_bind(a.recipient.role.clone())
                    .push_bind(a.severity.as_str())
                    .push_bind(a.cause.clone())
                    .push_bind(Json(a.data.clone()))
                    .push_bind(a.due_on)
                    .push_bind(a.state.as_str())
                    .push_bind(a.raised_at)
                    .push_bind(a.updated_at)
                    .push_bind(a.version);
            })
            .build()
            .execute(&mut **tx)
            .await?;
        }
        for chunk in updated.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Postgres>::new(
                "WITH u (id, previous, recipient_organisation, recipient_role, severity, cause,
                    data, due_on, state, updated_at, acknowledged_by, acknowledged_at,
                    resolved_at, version) AS (",
            );
            query
                .push_values(chunk, |mut row, a| {
                    row.push_bind(a.id)
                        .push_bind(a.version - 1)
                        .push_bind(a.recipient.organisation.clone())
                        .push_bind(a.recipient.role.clone())
                        .push_bind(a.severity.as_str())
                        .push_bind(a.cause.clone())
                        .push_bind(Json(a.data.clone()))
                        .push_bind(a.due_on)
                        .push_bind(a.state.as_str())
                        .push_bind(a.updated_at)
                        .push_bind(a.acknowledged_by.clone())
                        .push_bind(a.acknowledged_at)
                        .push_bind(a.resolved_at)
                        .push_bind(a.version);
                })
                .push(
                    ") UPDATE alerts SET recipient_organisation = u.recipient_organisation,
                        recipient_role = u.recipient_role, severity = u.severity,
                        cause = u.cause, data = u.data, due_on = u.due_on, state = u.state,
                        updated_at = u.updated_at, acknowledged_by = u.acknowledged_by,
                        acknowledged_at = u.acknowledged_at, resolved_at = u.resolved_at,
                        version = u.version
                     FROM u WHERE alerts.id = u.id AND alerts.version = u.previous",
                );
            let done = query.build().execute(&mut **tx).await?;
            if done.rows_affected() != chunk.len() as u64 {
                return Err(StoreError::Stale);
            }
        }
        let events: Vec<NewEvent> = changes.iter().map(alert_event).collect();
        if !events.is_empty() {
            append(tx, &events).await?;
        }
        Ok(())
    }

    #[async_trait]
    impl AlertStore for PostgresStore {
        async fn reconcile_alerts(
            &self,
            evaluations: &[CaseEvaluation],
            now: DateTime<Utc>,
        ) -> StoreResult<Vec<AlertChange>> {
            let ids: Vec<CaseId> = evaluations.iter().map(|e| e.case).collect();
            let mut tx = self.pool.begin().await?;
            // One reconciler per case at a time, across replicas; in id order, so two batches
            // never wait on each other in a cycle.
            let mut sorted = uuids(&ids);
            sorted.sort();
            sqlx::query(
                "SELECT pg_advisory_xact_lock($1, hashtext(id::text))
                 FROM UNNEST($2::uuid[]) AS id ORDER BY id",
            )
            .bind(ALERT_LOCK_CLASS)
            .bind(&sorted)
            .execute(&mut *tx)
            .await?;
            let scheduled: HashMap<CaseId, Scheduled> = sqlx::query(
                "SELECT case_id, evaluated_position, next_check_on, conditions_digest
                 FROM alert_schedule WHERE case_id = ANY($1)",
            )
            .bind(&sorted)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                let case: Uuid = r.try_get("case_id")?;
                let scheduled = Scheduled {
                    position: r.try_get("evaluated_position")?,
                    next_check: r.try_get("next_check_on")?,
                    digest: r.try_get("conditions_digest")?,
                };
                Ok((CaseId::from_uuid(case), scheduled))
            })
            .collect::<StoreResult<_>>()?;
            let triage = triage(evaluations, &scheduled);
            let mut changes = Vec::new();
            if !triage.changed.is_empty() {
                let changed_ids: Vec<CaseId> = triage.changed.iter().map(|e| e.case).collect();
                let rows = sqlx::query(
                    "SELECT * FROM alerts WHERE state <> 'resolved' AND case_id = ANY($1)",
                )
                .bind(uuids(&changed_ids))
                .fetch_all(&mut *tx)
                .await?;
                let open = group_by_case(rows.iter().map(alert_row).collect::<StoreResult<_>>()?);
                changes = changes_of(&triage.changed, open, now);
                write_changes(&mut tx, &changes).await?;
            }
            for (position, cases) in &triage.seen_at {
                sqlx::query(
                    "UPDATE alert_schedule SET evaluated_position = $1 WHERE case_id = ANY($2)",
                )
                .bind(position)
                .bind(uuids(cases))
                .execute(&mut *tx)
                .await?;
            }
            for chunk in triage.schedule.chunks(ROWS_PER_STATEMENT) {
                let mut query = QueryBuilder::<Postgres>::new(
                    "INSERT INTO alert_schedule (case_id, partition, next_check_on,
                        evaluated_position, conditions_digest) ",
                );
                query
                    .push_values(chunk, |mut row, s| {
                        row.push_bind(s.case.as_uuid())
                            .push_bind(s.partition as i32)
                            .push_bind(s.next_check)
                            .push_bind(s.position)
                            .push_bind(s.digest);
                    })
                    .push(
                        " ON CONFLICT (case_id) DO UPDATE SET
                            next_check_on = excluded.next_check_on,
                            evaluated_position = excluded.evaluated_position,
                            conditions_digest = excluded.conditions_digest",
                    );
                query.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(changes)
        }

        async fn get_alert(&self, id: Uuid) -> StoreResult<Option<AlertRecord>> {
            sqlx::query("SELECT * FROM alerts WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(alert_row)
                .transpose()
        }

        async fn list_alerts(
            &self,
            filter: &AlertFilter,
            after: Option<Uuid>,
            limit: u32,
        ) -> StoreResult<Vec<AlertRecord>> {
            let rows = sqlx::query(
                "SELECT * FROM alerts
                 WHERE ($1::text IS NULL OR municipality = $1)
                   AND ($2::text IS NULL OR recipient_organisation = $2)
                   AND ($3::uuid IS NULL OR case_id = $3)
                   AND ($4::text IS NULL OR rule = $4)
                   AND ($5::text IS NULL OR state = $5)
                   AND ($6::uuid IS NULL OR id > $6)
                 ORDER BY id LIMIT $7",
            )
            .bind(filter.municipality.as_ref().map(|m| m.as_str()))
            .bind(&filter.recipient_organisation)
            .bind(filter.case.map(|c| c.as_uuid()))
            .bind(filter.rule.map(|r| r.as_str()))
            .bind(filter.state.map(|s| s.as_str()))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(alert_row).collect()
        }

        async fn acknowledge_alert(
            &self,
            id: Uuid,
            by: &str,
            now: DateTime<Utc>,
        ) -> StoreResult<Option<Acknowledged>> {
            let mut tx = self.pool.begin().await?;
            let Some(row) = sqlx::query("SELECT * FROM alerts WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok(None);
            };
            let change = match acknowledgement(alert_row(&row)?, by, now) {
                Ok(change) => change,
                Err(refused) => return Ok(Some(refused)),
            };
            write_changes(&mut tx, std::slice::from_ref(&change)).await?;
            tx.commit().await?;
            Ok(Some(Acknowledged::Done(change.alert)))
        }

        async fn due_cases(
            &self,
            partition: u32,
            today: NaiveDate,
            after: Option<(NaiveDate, CaseId)>,
            limit: u32,
        ) -> StoreResult<Vec<(NaiveDate, CaseId)>> {
            let rows = sqlx::query(
                "SELECT next_check_on, case_id FROM alert_schedule
                 WHERE partition = $1 AND next_check_on IS NOT NULL AND next_check_on <= $2
                   AND ($3::date IS NULL OR (next_check_on, case_id) > ($3, $4::uuid))
                 ORDER BY next_check_on, case_id LIMIT $5",
            )
            .bind(partition as i32)
            .bind(today)
            .bind(after.map(|a| a.0))
            .bind(after.map(|a| a.1.as_uuid()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let id: Uuid = r.try_get("case_id")?;
                    Ok((
                        r.try_get("next_check_on")?,
                        id.to_string().parse().map_err(StoreError::corrupt)?,
                    ))
                })
                .collect()
        }

        async fn alert_inputs(&self, cases: &[CaseId]) -> StoreResult<Vec<AlertInputs>> {
            let ids = uuids(cases);
            let loaded = sqlx::query("SELECT * FROM cases WHERE id = ANY($1)")
                .bind(&ids)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(crate::postgres::case_row)
                .collect::<StoreResult<Vec<_>>>()?;
            let case_of = |id: Uuid| {
                id.to_string()
                    .parse::<CaseId>()
                    .map_err(StoreError::corrupt)
            };
            let mut plans = HashMap::new();
            for r in sqlx::query("SELECT case_id, document FROM plans WHERE case_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&self.pool)
                .await?
            {
                let doc: Json<Plan> = r.try_get("document")?;
                plans.insert(case_of(r.try_get("case_id")?)?, doc.0);
            }
            let mut screened = HashMap::new();
            for r in sqlx::query(
                "SELECT case_id, MIN(concluded_on) AS first FROM screenings
                 WHERE concluded_on IS NOT NULL AND case_id = ANY($1) GROUP BY case_id",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?
            {
                screened.insert(case_of(r.try_get("case_id")?)?, r.try_get("first")?);
            }
            let mut referrals: HashMap<CaseId, Vec<(Contract, Referral)>> = HashMap::new();
            for r in sqlx::query(
                "SELECT r.case_id, r.doc AS referral, c.doc AS contract
                 FROM contracting_referrals r JOIN contracting_contracts c ON c.id = r.contract_id
                 WHERE r.case_id = ANY($1)",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?
            {
                let referral: Json<Referral> = r.try_get("referral")?;
                let contract: Json<Contract> = r.try_get("contract")?;
                referrals
                    .entry(case_of(r.try_get("case_id")?)?)
                    .or_default()
                    .push((contract.0, referral.0));
            }
            Ok(assemble(cases, loaded, plans, screened, referrals))
        }

        async fn case_of_stream(
            &self,
            stream_type: &str,
            stream_id: &str,
        ) -> StoreResult<Option<CaseId>> {
            let sql = match stream_type {
                "screening" => "SELECT case_id FROM screenings WHERE id = $1",
                "contracting.referral" => "SELECT case_id FROM contracting_referrals WHERE id = $1",
                _ => return Ok(None),
            };
            let Ok(id) = stream_id.parse::<Uuid>() else {
                return Ok(None);
            };
            let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?;
            row.map(|r| {
                let id: Uuid = r.try_get("case_id")?;
                id.to_string().parse().map_err(StoreError::corrupt)
            })
            .transpose()
        }

        async fn alert_cursor(&self, name: &str) -> StoreResult<i64> {
            let position: Option<i64> =
                sqlx::query_scalar("SELECT position FROM alert_cursors WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(position.unwrap_or(0))
        }

        async fn set_alert_cursor(&self, name: &str, position: i64) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO alert_cursors (name, position) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE
                 SET position = GREATEST(alert_cursors.position, excluded.position)",
            )
            .bind(name)
            .bind(position)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn open_alert_stats(&self) -> StoreResult<OpenAlertStats> {
            let rows = sqlx::query(
                "SELECT rule, severity, COUNT(*) AS n FROM alerts WHERE state <> 'resolved'
                 GROUP BY rule, severity",
            )
            .fetch_all(&self.pool)
            .await?;
            let oldest: Option<DateTime<Utc>> =
                sqlx::query_scalar("SELECT MIN(raised_at) FROM alerts WHERE state <> 'resolved'")
                    .fetch_one(&self.pool)
                    .await?;
            Ok(OpenAlertStats {
                by_rule_severity: rows
                    .iter()
                    .map(|r| Ok((r.try_get("rule")?, r.try_get("severity")?, r.try_get("n")?)))
                    .collect::<StoreResult<_>>()?,
                oldest_raised_at: oldest,
            })
        }

        async fn clock_offset_ms(&self) -> StoreResult<i64> {
            let offset: Option<i64> =
                sqlx::query_scalar("SELECT offset_ms FROM clock_setting WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(offset.unwrap_or(0))
        }

        async fn set_clock_offset_ms(
            &self,
            offset_ms: i64,
            by: &str,
            now: DateTime<Utc>,
        ) -> StoreResult<()> {
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO clock_setting (id, offset_ms, set_by, set_at) VALUES (1, $1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET offset_ms = excluded.offset_ms,
                    set_by = excluded.set_by, set_at = excluded.set_at",
            )
            .bind(offset_ms)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            append(&mut tx, &[clock_event(offset_ms, now)]).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
