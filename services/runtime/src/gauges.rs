//! Gauges read from the database and the process: open cases, overdue follow-ups, connection
//! pools, event-feed lag. Refreshed before every Prometheus scrape and periodically for OTLP.
//!
//! Every process reports the database-wide gauges (open cases, overdue follow-ups) the same way,
//! so dashboards take `max` over instances rather than `sum`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use kia_domain::case::CaseState;
use kia_domain::timeline::{DeadlineKind, timeline};
use kia_store::{CaseFilter, StoreResult};
use tokio::sync::Mutex;

use crate::server::Context;

/// Cases read per query when counting overdue follow-ups.
const PAGE: u32 = 500;

/// Refreshes the gauges of one process.
#[derive(Debug)]
pub struct Gauges {
    ctx: Context,
    /// The event position and date the overdue follow-ups were last counted at: they change
    /// only when a case changes (an event) or a day passes, so a scrape with neither is free.
    overdue_counted_at: Mutex<Option<(i64, NaiveDate)>>,
}

impl Gauges {
    pub fn new(ctx: Context) -> Self {
        Self {
            ctx,
            overdue_counted_at: Mutex::new(None),
        }
    }

    /// Brings every gauge up to date. Does nothing until the database is migrated.
    pub async fn refresh(&self) {
        let ctx = &self.ctx;
        ctx.metrics.set_db_pools(&ctx.store.pool_connections());
        if !ctx.gate.is_ready() {
            return;
        }
        match ctx.store.open_case_counts().await {
            Ok(counts) => ctx.metrics.set_open_cases(&counts),
            Err(err) => tracing::warn!(error = %err, "counting open cases failed"),
        }
        let last = match ctx.store.last_event_position().await {
            Ok(last) => last,
            Err(err) => {
                tracing::warn!(error = %err, "reading the event log position failed");
                return;
            }
        };
        if let Err(err) = self.refresh_event_lag(last).await {
            tracing::warn!(error = %err, "measuring the event feed lag failed");
        }
        // One count at a time: a scrape arriving meanwhile waits and then finds it fresh.
        let mut counted_at = self.overdue_counted_at.lock().await;
        let key = (last, ctx.clock.today());
        if *counted_at != Some(key) {
            match overdue_follow_ups(ctx, key.1).await {
                Ok(counts) => {
                    ctx.metrics.set_overdue_follow_ups(&counts);
                    *counted_at = Some(key);
                }
                Err(err) => tracing::warn!(error = %err, "counting overdue follow-ups failed"),
            }
        }
    }

    /// How far this process's event feed trails the log whose newest position is `last`.
    async fn refresh_event_lag(&self, last: i64) -> StoreResult<()> {
        let ctx = &self.ctx;
        let seen = *ctx.feed.subscribe().borrow();
        let age = match ctx.store.events_after(seen, 1).await?.first() {
            Some(oldest_unseen) if last > seen => (ctx.clock.now() - oldest_unseen.recorded_at)
                .to_std()
                .unwrap_or(Duration::ZERO),
            _ => Duration::ZERO,
        };
        ctx.metrics.set_event_lag((last - seen).max(0), age);
        Ok(())
    }

    /// Keeps the gauges fresh for OTLP export (a scrape refreshes them as well).
    pub async fn refresh_every(&self, period: Duration) {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            self.refresh().await;
        }
    }
}

/// Follow-up talks past their due date on `today`, per municipality with open cases (zero
/// included), from each open case's timeline under its rule set. Pages through the cases, so
/// memory stays bounded however many are open.
async fn overdue_follow_ups(ctx: &Context, today: NaiveDate) -> StoreResult<Vec<(String, i64)>> {
    let filter = CaseFilter {
        municipality: None,
        state: Some(CaseState::Open),
    };
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    let mut after = None;
    loop {
        let page = ctx.store.list_cases(&filter, after, PAGE).await?;
        for case in &page {
            let overdue = timeline(&case.facts, case.rule_set(), today)
                .overdue()
                .filter(|d| matches!(d.kind, DeadlineKind::FollowUp { .. }))
                .count();
            *counts
                .entry(case.intake.municipality.to_string())
                .or_default() += i64::try_from(overdue).unwrap_or(i64::MAX);
        }
        if page.len() < PAGE as usize {
            return Ok(counts.into_iter().collect());
        }
        after = page.last().map(|c| c.id);
    }
}
