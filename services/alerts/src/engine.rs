//! The alert engine: evaluates the rules of `kia_domain::alerts` for a case whenever an event
//! about it is recorded (any replica's write; within the event feed's poll), and sweeps the
//! cases whose next check date has come (deadlines that pass with nothing recorded).
//!
//! Replicas: the incremental evaluator runs on the replica holding the lease `alerts.feed` and
//! keeps its place in the log in `alert_cursors`, so a replica that takes over resumes where the
//! last one stopped. The sweep is split into [`ALERT_PARTITIONS`] leases `alerts.sweep.N`, each
//! taken for one pass and released after it, so concurrent sweeps of two replicas share the
//! work. Whoever evaluates, the store keeps one unresolved alert per rule and subject, and an
//! evaluation that saw an older log position never overwrites a newer one.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use kia_domain::alerts::{AlertInput, AlertParams, ContractedReferral, evaluate};
use kia_domain::case::CaseId;
use kia_runtime::Context;
use kia_runtime::clock::danish_date;
use kia_store::{
    ALERT_PARTITIONS, AlertChange, AlertChangeKind, AlertInputs, CaseEvaluation, Store, StoreError,
    StoreResult, StoredEvent,
};
use tokio::sync::{Mutex, Notify};

use crate::metrics::AlertMetrics;

/// Cases evaluated per store round trip.
pub const BATCH: u32 = 500;
/// A next-check bound past every stored date: a sweep through it reads every scheduled case.
/// (Four-digit year: SQLite compares dates as text, and `NaiveDate::MAX` prints as `+262142-…`.)
pub const EVERYTHING: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
/// The lease of the incremental evaluator, and its cursor's name.
const FEED_LEASE: &str = "alerts.feed";
const FEED_LEASE_TTL: Duration = Duration::from_secs(10);
const SWEEP_LEASE_TTL: Duration = Duration::from_secs(120);

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub sweep_interval: Duration,
    pub params: AlertParams,
    /// `--settable-clock`: follow the clock setting other replicas store.
    pub settable_clock: bool,
    /// This replica's name in leases.
    pub holder: String,
}

/// Evaluates the rules for each loaded case as of `today`.
pub fn evaluate_inputs(
    inputs: &[AlertInputs],
    params: &AlertParams,
    today: NaiveDate,
    position: i64,
) -> Vec<CaseEvaluation> {
    inputs
        .iter()
        .map(|i| {
            let referrals: Vec<ContractedReferral<'_>> = i
                .referrals
                .iter()
                .map(|(contract, referral)| ContractedReferral { contract, referral })
                .collect();
            let input = AlertInput {
                case: i.case.id,
                facts: &i.case.facts,
                rule_set: i.case.rule_set(),
                opened_on: danish_date(i.case.created_at),
                plan: i.plan.as_ref(),
                first_screening_concluded: i.first_screening_concluded,
                referrals: &referrals,
            };
            let evaluation = evaluate(&input, params, today);
            CaseEvaluation {
                case: i.case.id,
                municipality: i.case.intake.municipality.clone(),
                conditions: evaluation.conditions,
                next_check: evaluation.next_check,
                position,
            }
        })
        .collect()
}

/// Loads, evaluates and stores a batch of cases as of the instant `now` gives (its Danish date
/// for the rules). The log position is read first and the clock after it, so an evaluation
/// stored with a position never used a clock older than that position's (`clock.set` is an
/// event).
pub async fn evaluate_cases<F>(
    store: &dyn Store,
    cases: &[CaseId],
    params: &AlertParams,
    now: impl FnOnce() -> F,
) -> StoreResult<Vec<AlertChange>>
where
    F: std::future::Future<Output = StoreResult<DateTime<Utc>>>,
{
    let position = store.last_event_position().await?;
    let now = now().await?;
    let inputs = store.alert_inputs(cases).await?;
    let evaluations =
        evaluate_off_runtime(inputs, params.clone(), danish_date(now), position).await?;
    store.reconcile_alerts(&evaluations, now).await
}

/// [`evaluate_inputs`] on the blocking pool: the rules are CPU work (tens of milliseconds for a
/// page) that would otherwise hold an async worker away from the RPCs, and two sweeping
/// partitions evaluate on two cores.
pub async fn evaluate_off_runtime(
    inputs: Vec<AlertInputs>,
    params: AlertParams,
    today: NaiveDate,
    position: i64,
) -> StoreResult<Vec<CaseEvaluation>> {
    tokio::task::spawn_blocking(move || evaluate_inputs(&inputs, &params, today, position))
        .await
        .map_err(|e| StoreError::Other(format!("the rule evaluation stopped: {e}")))
}

/// Runs `f` on every partition of `order`, `concurrency` at a time, each on a task of its own
/// (so the partitions' work spreads over the cores); the sum of what they return. Every
/// partition runs even when one fails; the first failure is returned.
pub async fn on_partitions<F, Fut>(order: Vec<u32>, concurrency: usize, f: F) -> StoreResult<usize>
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = StoreResult<usize>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    let mut pending = order.into_iter();
    let (mut total, mut failed) = (0, None);
    loop {
        while tasks.len() < concurrency.max(1) {
            let Some(partition) = pending.next() else {
                break;
            };
            tasks.spawn(f(partition));
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        match done {
            Ok(Ok(n)) => total += n,
            Ok(Err(err)) => {
                failed.get_or_insert(err);
            }
            Err(err) => {
                failed.get_or_insert(StoreError::Other(format!("a sweep task stopped: {err}")));
            }
        }
    }
    failed.map_or(Ok(total), Err)
}

/// Sweep partitions worked on at once: one per core.
pub fn sweep_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Pages (by keyset, [`BATCH`] at a time) through the cases of a sweep partition whose next
/// check is due by `through`, handing each page to `f`; returns how many there were. Memory
/// stays at one page whatever the number of cases.
pub async fn for_each_due_page<F, Fut>(
    store: &dyn Store,
    partition: u32,
    through: NaiveDate,
    mut f: F,
) -> StoreResult<usize>
where
    F: FnMut(Vec<CaseId>) -> Fut,
    Fut: std::future::Future<Output = StoreResult<()>>,
{
    let mut after = None;
    let mut seen = 0;
    loop {
        let due = store.due_cases(partition, through, after, BATCH).await?;
        let Some(last) = due.last() else {
            return Ok(seen);
        };
        after = Some(*last);
        seen += due.len();
        f(due.into_iter().map(|(_, c)| c).collect()).await?;
    }
}

/// The running engine of one process.
#[derive(Debug)]
pub struct Engine {
    ctx: Context,
    options: EngineOptions,
    metrics: AlertMetrics,
    /// Wakes the sweep at once, for every case (the clock moved).
    full_sweep: Notify,
    /// The clock offset this process applied last (`i64::MIN`: none yet). Held across reading
    /// and applying the stored setting, and across storing a new one, so a read taken before a
    /// `SetClock` can never be applied after it and move the clock back.
    applied_offset: Mutex<i64>,
}

impl Engine {
    pub fn new(ctx: Context, options: EngineOptions) -> Arc<Self> {
        let metrics = AlertMetrics::new(ctx.metrics.meter());
        Arc::new(Self {
            ctx,
            options,
            metrics,
            full_sweep: Notify::new(),
            applied_offset: Mutex::new(i64::MIN),
        })
    }

    /// Starts the incremental evaluator, the sweep and (with a settable clock) the clock
    /// follower. They wait for the gate (migrations) before touching the store.
    pub fn spawn(self: &Arc<Self>) {
        tokio::spawn(self.clone().follow_feed());
        tokio::spawn(self.clone().sweep_periodically());
        if self.options.settable_clock {
            tokio::spawn(self.clone().follow_clock());
        }
    }

    /// Asks for a sweep of every scheduled case now (after the clock moved).
    pub fn sweep_all_soon(&self) {
        self.full_sweep.notify_one();
    }

    async fn ready(&self) {
        while !self.ctx.gate.is_ready() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Applies the stored clock setting when it changed; true when it did.
    async fn refresh_clock(&self) -> StoreResult<bool> {
        if !self.options.settable_clock {
            return Ok(false);
        }
        let mut applied = self.applied_offset.lock().await;
        let offset = self.ctx.store.clock_offset_ms().await?;
        if std::mem::replace(&mut *applied, offset) == offset {
            return Ok(false);
        }
        self.ctx
            .clock
            .set(Utc::now() + chrono::Duration::milliseconds(offset));
        Ok(true)
    }

    /// Stores a new clock setting (`SetClock`) and applies it in this process, in order with
    /// the follower's reads.
    pub async fn set_clock(&self, now: DateTime<Utc>, by: &str) -> StoreResult<()> {
        let mut applied = self.applied_offset.lock().await;
        let offset = (now - Utc::now()).num_milliseconds();
        self.ctx
            .store
            .set_clock_offset_ms(offset, by, Utc::now())
            .await?;
        *applied = offset;
        self.ctx.clock.set(now);
        Ok(())
    }

    async fn evaluate(&self, cases: &[CaseId]) -> StoreResult<Vec<AlertChange>> {
        let now = || async {
            if self.refresh_clock().await? {
                self.sweep_all_soon();
            }
            Ok(self.ctx.clock.now())
        };
        let changes =
            evaluate_cases(self.ctx.store.as_ref(), cases, &self.options.params, now).await?;
        for c in &changes {
            match c.kind {
                AlertChangeKind::Raised => {
                    self.metrics.raised(c.alert.rule);
                    tracing::info!(alert_id = %c.alert.id, rule = c.alert.rule.as_str(), case_id = %c.alert.case, severity = c.alert.severity.as_str(), "alert raised");
                }
                AlertChangeKind::Resolved => {
                    self.metrics.resolved(c.alert.rule);
                    tracing::info!(alert_id = %c.alert.id, rule = c.alert.rule.as_str(), case_id = %c.alert.case, "alert resolved");
                }
                AlertChangeKind::Updated | AlertChangeKind::Acknowledged => {}
            }
        }
        if !changes.is_empty() {
            self.ctx.feed.nudge();
            self.refresh_gauges().await;
        }
        Ok(changes)
    }

    /// Refreshes the open-alert gauges from the store.
    pub async fn refresh_gauges(&self) {
        match self.ctx.store.open_alert_stats().await {
            Ok(stats) => self.metrics.set_open(stats, self.ctx.clock.now()),
            Err(err) => tracing::warn!(error = %err, "counting open alerts failed"),
        }
    }

    /// The case an event is about, if the rules read it.
    async fn case_of(&self, event: &StoredEvent) -> StoreResult<Option<CaseId>> {
        match event.stream_type.as_str() {
            "case" | "plan" => Ok(event.stream_id.parse().ok()),
            "screening" | "contracting.referral" => {
                if let Some(id) = event.payload["case_id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                {
                    return Ok(Some(id));
                }
                self.ctx
                    .store
                    .case_of_stream(&event.stream_type, &event.stream_id)
                    .await
            }
            _ => Ok(None),
        }
    }

    /// The incremental evaluator: while this replica holds the feed lease, evaluates the cases
    /// of each new event and moves the stored cursor past them.
    async fn follow_feed(self: Arc<Self>) {
        self.ready().await;
        let mut grown = self.ctx.feed.subscribe();
        let store = self.ctx.store.clone();
        let lease = [FEED_LEASE.to_owned()];
        loop {
            let held = store
                .claim_leases(&lease, &self.options.holder, Utc::now(), FEED_LEASE_TTL)
                .await
                .map(|held| !held.is_empty());
            let progressed = match held {
                Ok(true) => match self.feed_step().await {
                    Ok(progressed) => progressed,
                    Err(err) => {
                        tracing::warn!(error = %err, "alert evaluation failed; retrying");
                        false
                    }
                },
                Ok(false) => false,
                Err(err) => {
                    tracing::warn!(error = %err, "claiming the alert feed lease failed");
                    false
                }
            };
            if !progressed {
                // Wake on the next event, or in a while to renew or take over the lease.
                let _ = tokio::time::timeout(FEED_LEASE_TTL / 4, grown.changed()).await;
            }
        }
    }

    /// Evaluates one batch of events after the cursor; false when there were none.
    async fn feed_step(&self) -> StoreResult<bool> {
        let store = self.ctx.store.as_ref();
        let cursor = store.alert_cursor(FEED_LEASE).await?;
        let batch = store.events_after(cursor, BATCH).await?;
        let Some(last) = batch.last() else {
            return Ok(false);
        };
        let mut cases = BTreeSet::new();
        let mut clock_moved = false;
        for event in &batch {
            if event.event_type == "clock.set" {
                self.refresh_clock().await?;
                clock_moved = true;
            }
            if let Some(case) = self.case_of(event).await? {
                cases.insert(case);
            }
        }
        let cases: Vec<CaseId> = cases.into_iter().collect();
        if clock_moved {
            // Every case evaluated before this event used the old clock, and some of them may
            // have been scheduled only after a sweep the clock move started had read its pages:
            // sweep everything again once they are all scheduled (the feed reads in order).
            self.sweep_all_soon();
        }
        if !cases.is_empty() {
            self.evaluate(&cases).await?;
            let now = Utc::now();
            for event in batch.iter().filter(|e| e.stream_type != "alert") {
                self.metrics
                    .lag((now - event.recorded_at).to_std().unwrap_or_default());
            }
        }
        store.set_alert_cursor(FEED_LEASE, last.position).await?;
        Ok(true)
    }

    async fn sweep_periodically(self: Arc<Self>) {
        self.ready().await;
        let mut tick = tokio::time::interval(self.options.sweep_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let everything = tokio::select! {
                _ = tick.tick() => false,
                () = self.full_sweep.notified() => true,
            };
            if let Err(err) = self.sweep(everything).await {
                tracing::warn!(error = %err, "alert sweep failed; retrying");
                // A full sweep that failed (e.g. the database was busy) must not be lost until
                // the next tick.
                tokio::time::sleep(Duration::from_secs(1)).await;
                if everything {
                    self.sweep_all_soon();
                }
            }
            self.refresh_gauges().await;
        }
    }

    /// One pass over the partitions this replica can claim: the cases due today, or every
    /// scheduled case when `everything` (the clock moved, perhaps backwards).
    pub async fn sweep(self: &Arc<Self>, everything: bool) -> StoreResult<usize> {
        let started = Instant::now();
        // A clock that moved (perhaps backwards) makes every next-check date suspect.
        let everything = self.refresh_clock().await? || everything;
        let today = self.ctx.clock.today();
        let through = if everything { EVERYTHING } else { today };
        // Start at a different partition on each replica so concurrent sweeps rarely collide.
        let first = self.options.holder.bytes().map(u32::from).sum::<u32>() % ALERT_PARTITIONS;
        let order = (0..ALERT_PARTITIONS)
            .map(|i| (first + i) % ALERT_PARTITIONS)
            .collect();
        let evaluated = on_partitions(order, sweep_concurrency(), |partition| {
            let engine = self.clone();
            async move { engine.sweep_partition(partition, through).await }
        })
        .await?;
        self.metrics.sweep(started.elapsed());
        tracing::debug!(evaluated, everything, "alert sweep done");
        Ok(evaluated)
    }

    /// Sweeps one partition unless another replica holds its lease (then: 0 cases).
    async fn sweep_partition(&self, partition: u32, through: NaiveDate) -> StoreResult<usize> {
        let store = self.ctx.store.as_ref();
        let lease = [format!("alerts.sweep.{partition}")];
        if store
            .claim_leases(&lease, &self.options.holder, Utc::now(), SWEEP_LEASE_TTL)
            .await?
            .is_empty()
        {
            return Ok(0); // another replica sweeps it now
        }
        let swept = for_each_due_page(store, partition, through, |cases| async move {
            self.evaluate(&cases).await.map(drop)
        })
        .await;
        store.release_leases(&lease, &self.options.holder).await?;
        swept
    }

    /// Follows the clock other replicas set: on each event-log change, reads the stored setting
    /// and, when it moved, applies it and sweeps everything.
    async fn follow_clock(self: Arc<Self>) {
        self.ready().await;
        let mut grown = self.ctx.feed.subscribe();
        loop {
            match self.refresh_clock().await {
                Ok(true) => self.sweep_all_soon(),
                Ok(false) => {}
                Err(err) => tracing::debug!(error = %err, "reading the clock setting failed"),
            }
            if grown.changed().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_partition_runs_once_at_most_n_at_a_time_and_a_failure_is_reported() {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let result = on_partitions((0..ALERT_PARTITIONS).collect(), 2, |partition| {
            let (ran, running, most) = (ran.clone(), running.clone(), most.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                ran.lock().await.push(partition);
                running.fetch_sub(1, Ordering::SeqCst);
                if partition == 5 {
                    Err(StoreError::Unavailable("partition 5".into()))
                } else {
                    Ok(1)
                }
            }
        })
        .await;
        assert!(matches!(result, Err(StoreError::Unavailable(m)) if m == "partition 5"));
        let mut ran = ran.lock().await.clone();
        ran.sort();
        assert_eq!(ran, (0..ALERT_PARTITIONS).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 2);

        let total = on_partitions(vec![1, 2, 3], 2, |p| async move { Ok(p as usize) }).await;
        assert_eq!(total.unwrap(), 6);
    }
}
