//! Gauges read from the database and the process: open cases, overdue follow-ups, connection
//! pools, event-feed lag. Refreshed before every Prometheus scrape and periodically for OTLP.
//!
//! The database-wide case gauges (open cases, overdue follow-ups) come from the processes that
//! host the case service, each reporting the same figures, so dashboards take `max` over
//! instances rather than `sum`. Counting overdue follow-ups computes every open case's timeline;
//! it runs only when a case may have changed (the event log moved) or the date did, and takes at
//! most a tenth of one core: after a pass that took `t`, the next waits at least `9 t`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use kia_domain::case::CaseState;
use kia_domain::timeline::{DeadlineKind, timeline};
use kia_store::{CaseFilter, StoreResult};
use tokio::sync::Mutex;

use crate::server::Context;

/// Cases read per query when counting overdue follow-ups.
const PAGE: u32 = 500;

/// The overdue count takes at most 1/OVERDUE_CPU_SHARE of one core: a pass that took `t` is
/// followed by a rest of `(OVERDUE_CPU_SHARE - 1) * t`.
const OVERDUE_CPU_SHARE: u32 = 10;

/// Refreshes the gauges of one process.
#[derive(Debug)]
pub struct Gauges {
    ctx: Context,
    /// Whether this process reports the case gauges (it hosts the case service).
    cases: bool,
    overdue: Mutex<OverdueCount>,
}

/// When the overdue follow-ups were last counted.
#[derive(Debug, Default)]
struct OverdueCount {
    /// The event position and date of the last count: the figure changes only when a case
    /// changes (an event) or a day passes, so a scrape with neither costs nothing.
    at: Option<(i64, NaiveDate)>,
    /// When the last count finished, and how long it took.
    finished: Option<(Instant, Duration)>,
}

impl OverdueCount {
    fn due(&self, key: (i64, NaiveDate)) -> bool {
        let rested = self
            .finished
            .is_none_or(|(finished, took)| finished.elapsed() >= took * (OVERDUE_CPU_SHARE - 1));
        self.at != Some(key) && rested
    }
}

impl Gauges {
    /// `cases`: whether this process hosts the case service and so reports the case gauges.
    pub fn new(ctx: Context, cases: bool) -> Self {
        Self {
            ctx,
            cases,
            overdue: Mutex::default(),
        }
    }

    /// Brings every gauge up to date. Does nothing until the database is migrated.
    pub async fn refresh(&self) {
        let ctx = &self.ctx;
        ctx.metrics.set_db_pools(&ctx.store.pool_connections());
        if !ctx.gate.is_ready() {
            return;
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
        if self.cases {
            self.refresh_cases(last).await;
        }
    }

    async fn refresh_cases(&self, last: i64) {
        let ctx = &self.ctx;
        // One refresh at a time: a scrape arriving meanwhile waits and then finds the figures
        // fresh, and a slower refresh that read earlier can never set its older counts over a
        // newer one's.
        let mut overdue = self.overdue.lock().await;
        match ctx.store.open_case_counts().await {
            Ok(counts) => ctx.metrics.set_open_cases(&counts),
            Err(err) => tracing::warn!(error = %err, "counting open cases failed"),
        }
        let key = (last, ctx.clock.today());
        if !overdue.due(key) {
            return;
        }
        let started = Instant::now();
        match overdue_follow_ups(ctx, key.1).await {
            Ok(counts) => {
                ctx.metrics.set_overdue_follow_ups(&counts);
                overdue.at = Some(key);
            }
            Err(err) => tracing::warn!(error = %err, "counting overdue follow-ups failed"),
        }
        overdue.finished = Some((Instant::now(), started.elapsed()));
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_overdue_count_runs_when_something_changed_and_it_has_rested() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let never = OverdueCount::default();
        assert!(never.due((0, today)));

        let took = Duration::from_secs(2);
        let Some(long_ago) = Instant::now().checked_sub(took * OVERDUE_CPU_SHARE) else {
            return; // a clock this young cannot express the past the test needs
        };
        let rested = OverdueCount {
            at: Some((7, today)),
            finished: Some((long_ago, took)),
        };
        assert!(!rested.due((7, today)), "nothing changed");
        assert!(rested.due((8, today)), "a new event");
        assert!(rested.due((7, today.succ_opt().unwrap())), "a new day");

        let just_now = OverdueCount {
            at: Some((7, today)),
            finished: Some((Instant::now(), took)),
        };
        assert!(!just_now.due((8, today)), "resting after a 2 s pass");
    }
}
