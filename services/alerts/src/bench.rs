//! The sweep benchmark behind `kia bench sweep`, in one run on one database:
//! - N open cases, each with a plan of ten activities, their first sick days spread over 300
//!   days (week 9 to week 51 of sickness), so the caseload is at every stage at once;
//! - a plain full-table read of the same rows (facts and plan documents, not decoded);
//! - the first sweep, with every case due (it raises the caseload's alerts);
//! - the same day again, with nothing due;
//! - the next day: the sweep the engine runs each day, over the cases due that day;
//! - every case again as of that day, as after the clock moved: it must change nothing, since a
//!   case not due has, by its next-check date, nothing new.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use kia_domain::alerts::AlertParams;
use kia_domain::case::{CaseId, EmploymentStatus, ExternalReference};
use kia_domain::facts::{CaseFacts, Category, ContactMode, FollowUp, Visitation, WeeklyHours};
use kia_domain::plan::{
    Activity, ActivityId, ActivityKind, ActivityStatus, EmploymentActivity, EmploymentKind, Goal,
    GoalId, GoalKind, HealthKind, Plan, PlanKind, PlanStage, Roles,
};
use kia_store::testing::SeedCase;
use kia_store::{ALERT_PARTITIONS, Store, StoreOptions};
use serde::Serialize;

use crate::engine::{
    EVERYTHING, evaluate_off_runtime, for_each_due_page, on_partitions, sweep_concurrency,
};

/// Kinds of benchmark case: first sick days 60 to 359 days back.
const KINDS: i64 = 300;

/// What one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub cases: u64,
    pub seed_s: f64,
    /// The plain read: every case's facts and plan document, not decoded, on one connection.
    pub plain_read_s: f64,
    pub plain_rows: u64,
    pub plain_bytes: u64,
    /// Partitions swept at once (one per core).
    pub concurrency: usize,
    /// Every case due: load, decode, evaluate, store (raising the caseload's alerts).
    pub first: Pass,
    /// The same day again: nothing is due.
    pub idle: Pass,
    /// The next day: the cases due that day.
    pub next_day: Pass,
    /// Every case again as of the next day (as after the clock moved): changes nothing.
    pub everything: Pass,
    /// The process's peak resident memory (Linux VmHWM), in MB.
    pub peak_rss_mb: Option<f64>,
}

/// One sweep.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Pass {
    pub seconds: f64,
    pub evaluated: usize,
    pub alert_changes: usize,
    /// Time per step, summed over pages (pages run on several cores at once, so the sum can
    /// exceed `seconds`).
    pub steps: Steps,
}

impl Pass {
    pub fn per_second(&self) -> f64 {
        self.evaluated as f64 / self.seconds.max(1e-9)
    }
}

impl SweepReport {
    pub fn plain_rows_per_second(&self) -> f64 {
        self.plain_rows as f64 / self.plain_read_s.max(1e-9)
    }

    fn pass(&self, f: &mut std::fmt::Formatter<'_>, name: &str, p: &Pass) -> std::fmt::Result {
        writeln!(
            f,
            "{name:<13} {} cases evaluated, {} alert changes in {:.2} s = {:.0} cases/s \
             ({:.2}x the plain read's time)",
            p.evaluated,
            p.alert_changes,
            p.seconds,
            p.per_second(),
            p.seconds / self.plain_read_s.max(1e-9)
        )?;
        if p.evaluated > 0 {
            writeln!(
                f,
                "              load {:.2} s, evaluate {:.2} s, store {:.2} s (summed over pages)",
                p.steps.load_s, p.steps.evaluate_s, p.steps.store_s
            )?;
        }
        Ok(())
    }
}

impl std::fmt::Display for SweepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "cases: {}  (seeded in {:.1} s)", self.cases, self.seed_s)?;
        writeln!(
            f,
            "plain read:   {} rows, {:.1} MB in {:.2} s = {:.0} rows/s",
            self.plain_rows,
            self.plain_bytes as f64 / 1e6,
            self.plain_read_s,
            self.plain_rows_per_second()
        )?;
        self.pass(f, "first sweep:", &self.first)?;
        self.pass(f, "same day:", &self.idle)?;
        self.pass(f, "next day:", &self.next_day)?;
        self.pass(f, "every case:", &self.everything)?;
        write!(f, "partitions at once: {}", self.concurrency)?;
        if let Some(mb) = self.peak_rss_mb {
            write!(f, "; peak memory {mb:.0} MB")?;
        }
        Ok(())
    }
}

fn reference(raw: &str) -> anyhow::Result<ExternalReference> {
    ExternalReference::parse(raw).map_err(|e| anyhow::anyhow!("{raw}: {e}"))
}

/// The facts every benchmark case has: employed, category 2, first follow-up held on D50.
fn facts(d0: NaiveDate) -> CaseFacts {
    let mut f = CaseFacts::new(d0, EmploymentStatus::Employed);
    f.visitations.push(Visitation {
        on: d0 + chrono::Duration::days(45),
        category: Category::Two,
        reason: "risk".into(),
    });
    f.follow_ups.push(FollowUp {
        held_on: d0 + chrono::Duration::days(50),
        mode: ContactMode::InPerson,
        outcome: "plan agreed".into(),
        next_agreed_on: None,
    });
    f
}

/// A plan of ten activities in a chain (health, then employment), one of them booked three
/// weeks late, with a full-return goal: a plan that slips (AL-09). It is kept up to date as of
/// `today`, as a caseworker keeps it: an activity whose week has passed is completed, the one
/// under way started.
fn plan(d0: NaiveDate, today: NaiveDate) -> anyhow::Result<Plan> {
    let day = |n: i64| d0 + chrono::Duration::days(n);
    let kinds = [
        ActivityKind::Health(HealthKind::DiagnosticTest {
            ordered_by_gp: false,
        }),
        ActivityKind::Health(HealthKind::Specialist),
        ActivityKind::Health(HealthKind::Physiotherapy),
        ActivityKind::Health(HealthKind::Psychologist),
        ActivityKind::Health(HealthKind::Treatment),
        ActivityKind::Health(HealthKind::Rehabilitation),
        ActivityKind::Employment(EmploymentActivity::new(
            EmploymentKind::GuidanceAndUpskilling,
            WeeklyHours::hours(10),
        )),
        ActivityKind::Employment(EmploymentActivity::new(
            EmploymentKind::Mentor,
            WeeklyHours::hours(10),
        )),
        ActivityKind::Health(HealthKind::Physiotherapy),
        ActivityKind::Employment(EmploymentActivity::new(
            EmploymentKind::PartialReturn,
            WeeklyHours::hours(20),
        )),
    ];
    let mut activities: Vec<Activity> = Vec::new();
    // When the chain's previous activity ends, as it happens.
    let mut previous_end = day(0);
    for (i, kind) in kinds.into_iter().enumerate() {
        let id = ActivityId::parse(&format!("a{i}")).map_err(|e| anyhow::anyhow!(e))?;
        let start = 40 + 7 * i as i64;
        let mut a = Activity::new(id, kind, reference("kia-team-630")?)
            .planned(day(start), Some(day(start + 7)));
        if let Some(previous) = activities.last() {
            a = a.after([previous.id.clone()]);
        }
        let mut starts = day(start).max(previous_end);
        if i == 3 {
            a = a.booked(day(start + 21));
            starts = starts.max(day(start + 21));
        }
        previous_end = starts + chrono::Duration::days(7);
        if starts <= today {
            a.actual_start = Some(starts);
            a.status = ActivityStatus::Started;
            if previous_end < today {
                a.actual_end = Some(previous_end);
                a.status = ActivityStatus::Completed;
            }
        }
        activities.push(a);
    }
    let at = Utc
        .from_local_datetime(&day(40).and_hms_opt(9, 0, 0).unwrap_or_default())
        .single()
        .unwrap_or_default();
    Ok(Plan {
        case: CaseId::new(0, 0),
        kind: PlanKind::KiaReturnPlan,
        stage: PlanStage::Final,
        owner: reference("jc-630")?,
        roles: Roles::default(),
        contributors: Vec::new(),
        goals: vec![Goal {
            id: GoalId::parse("full-return").map_err(|e| anyhow::anyhow!(e))?,
            kind: GoalKind::FullReturn,
            hours_per_week: WeeklyHours::hours(37),
            by: day(120),
            depends_on: Vec::new(),
        }],
        activities,
        version: 1,
        created_at: at,
        updated_at: at,
        finalised_at: None,
    })
}

/// Time per step of a sweep, in seconds, summed over its pages.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Steps {
    /// Reading and decoding the cases, plans, screenings and referrals.
    pub load_s: f64,
    /// Running the rules (timeline, projection, ...).
    pub evaluate_s: f64,
    /// Reconciling and writing alerts, events and the schedule.
    pub store_s: f64,
}

/// One sweep over every partition as of `now`, through `through`: the steps of
/// `engine::evaluate_cases`, timed, on the engine's partition tasks.
async fn sweep_all(
    store: &Arc<dyn Store>,
    params: &AlertParams,
    now: DateTime<Utc>,
    through: NaiveDate,
) -> anyhow::Result<Pass> {
    let today = kia_runtime::clock::danish_date(now);
    let totals = Arc::new(Mutex::new(Pass::default()));
    let started = Instant::now();
    let evaluated = on_partitions(
        (0..ALERT_PARTITIONS).collect(),
        sweep_concurrency(),
        |partition| {
            let (store, params, totals) = (store.clone(), params.clone(), totals.clone());
            async move {
                let store = store.as_ref();
                for_each_due_page(store, partition, through, |cases| {
                    let (params, totals) = (params.clone(), totals.clone());
                    async move {
                        let position = store.last_event_position().await?;
                        let t = Instant::now();
                        let inputs = store.alert_inputs(&cases).await?;
                        let load = t.elapsed();
                        let t = Instant::now();
                        let evaluations =
                            evaluate_off_runtime(inputs, params, today, position).await?;
                        let evaluate = t.elapsed();
                        let t = Instant::now();
                        let changes = store.reconcile_alerts(&evaluations, now).await?;
                        let stored = t.elapsed();
                        if let Ok(mut totals) = totals.lock() {
                            totals.alert_changes += changes.len();
                            totals.steps.load_s += load.as_secs_f64();
                            totals.steps.evaluate_s += evaluate.as_secs_f64();
                            totals.steps.store_s += stored.as_secs_f64();
                        }
                        Ok(())
                    }
                })
                .await
            }
        },
    )
    .await?;
    let mut pass = totals.lock().map(|p| *p).unwrap_or_default();
    pass.seconds = started.elapsed().as_secs_f64();
    pass.evaluated = evaluated;
    Ok(pass)
}

/// This process's peak resident memory (Linux `/proc/self/status`, VmHWM), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Seeds `cases` cases into the empty database at `url` and measures (see [`SweepReport`]).
pub async fn sweep(url: &str, cases: u64) -> anyhow::Result<SweepReport> {
    let store = kia_store::open(url, &StoreOptions::default())
        .await
        .context("opening the database")?;
    store.migrate().await.context("migrating")?;
    let now = Utc::now();
    let today = kia_runtime::clock::danish_date(now);
    let kinds = (0..KINDS)
        .map(|k| {
            let d0 = today - chrono::Duration::days(60 + k);
            Ok(SeedCase {
                first_sick_day: d0,
                facts: serde_json::to_string(&facts(d0))?,
                plan: serde_json::to_string(&plan(d0, today)?)?
                    .replace(&CaseId::new(0, 0).to_string(), "@CASE@"),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    let started = Instant::now();
    kia_store::testing::seed_open_cases(url, cases, &kinds)
        .await
        .context("seeding cases")?;
    let seed_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let (plain_rows, plain_bytes) = kia_store::testing::read_cases_and_plans(url).await?;
    let plain_read_s = started.elapsed().as_secs_f64();

    let params = AlertParams::default();
    let first = sweep_all(&store, &params, now, today).await?;
    let idle = sweep_all(&store, &params, now, today).await?;
    let tomorrow = now + chrono::Duration::days(1);
    let next_day = sweep_all(&store, &params, tomorrow, today + chrono::Duration::days(1)).await?;
    let everything = sweep_all(&store, &params, tomorrow, EVERYTHING).await?;
    store.close().await;
    Ok(SweepReport {
        cases,
        seed_s,
        plain_read_s,
        plain_rows,
        plain_bytes,
        concurrency: sweep_concurrency(),
        first,
        idle,
        next_day,
        everything,
        peak_rss_mb: peak_rss_mb(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_kind_of_plan_is_valid_and_its_projection_fixed_by_its_facts() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        for k in [0, 30, 45, 60, 299] {
            let d0 = today - chrono::Duration::days(60 + k);
            let p = plan(d0, today).unwrap();
            p.validate().unwrap();
            let goal = |on| kia_domain::plan::project(&p, on).unwrap().goals[0].projected;
            if k > 60 {
                // Every activity completed: the return no longer moves with the calendar.
                assert_eq!(goal(today), goal(today + chrono::Duration::days(1)), "{k}");
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_sweep_evaluates_every_case_once_then_only_the_due_ones() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let report = sweep(&url, 600).await.unwrap();
        assert_eq!(report.plain_rows, 600);
        assert_eq!(report.first.evaluated, 600);
        assert!(
            report.first.alert_changes >= 600,
            "each case's plan slips (AL-09): {report}"
        );
        assert_eq!(
            report.idle.evaluated, 0,
            "nothing is due again the same day"
        );
        assert!(
            report.next_day.evaluated > 0 && report.next_day.alert_changes > 0,
            "a day later, cases are due and their alerts move on: {report}"
        );
        assert!(
            report.next_day.evaluated * 10 < report.first.evaluated,
            "a plan on schedule is not read again every day: {report}"
        );
        assert_eq!(report.everything.evaluated, 600, "every case is read again");
        assert_eq!(
            report.everything.alert_changes, 0,
            "a case not due has nothing new: {report}"
        );
    }
}
