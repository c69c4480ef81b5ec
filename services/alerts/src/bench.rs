//! The sweep benchmark behind `kia bench sweep`: N open cases with plans of ten activities, a
//! plain full-table read of the same rows, a sweep that evaluates every case (all due), and a
//! second sweep right after it, with nothing due — all in one run on one database.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use kia_domain::alerts::AlertParams;
use kia_domain::case::{CaseId, EmploymentStatus, ExternalReference};
use kia_domain::facts::{CaseFacts, Category, ContactMode, FollowUp, Visitation, WeeklyHours};
use kia_domain::plan::{
    Activity, ActivityId, ActivityKind, EmploymentActivity, EmploymentKind, Goal, GoalId, GoalKind,
    HealthKind, Plan, PlanKind, PlanStage, Roles,
};
use kia_store::{ALERT_PARTITIONS, Store, StoreOptions};

use crate::engine::{EVERYTHING, evaluate_inputs, for_each_due_page};

/// What one run measured.
#[derive(Debug, Clone)]
pub struct SweepReport {
    pub cases: u64,
    pub seed: Duration,
    /// The plain read: every case's facts and plan document, not decoded.
    pub plain_read: Duration,
    pub plain_rows: u64,
    pub plain_bytes: u64,
    /// Every case due: load, decode, evaluate, store.
    pub full_sweep: Duration,
    pub evaluated: usize,
    pub alert_changes: usize,
    pub steps: Steps,
    /// Right after, with nothing due: the sweep reads the schedule index only.
    pub idle_sweep: Duration,
    pub idle_evaluated: usize,
    /// Every case evaluated again with nothing changed (as after the clock moved).
    pub unchanged_sweep: Duration,
    pub unchanged_evaluated: usize,
    pub unchanged_changes: usize,
    pub unchanged_steps: Steps,
}

impl SweepReport {
    pub fn per_second(n: u64, d: Duration) -> f64 {
        n as f64 / d.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for SweepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = |n: u64, d: Duration| Self::per_second(n, d);
        writeln!(f, "cases: {}  (seeded in {:.1?})", self.cases, self.seed)?;
        writeln!(
            f,
            "plain read:  {} rows, {:.1} MB in {:.2?} = {:.0} rows/s",
            self.plain_rows,
            self.plain_bytes as f64 / 1e6,
            self.plain_read,
            rate(self.plain_rows, self.plain_read)
        )?;
        writeln!(
            f,
            "full sweep:  {} cases evaluated, {} alert changes in {:.2?} = {:.0} cases/s",
            self.evaluated,
            self.alert_changes,
            self.full_sweep,
            rate(self.evaluated as u64, self.full_sweep)
        )?;
        writeln!(
            f,
            "             load {:.2?}, evaluate {:.2?}, store {:.2?}",
            self.steps.load, self.steps.evaluate, self.steps.store
        )?;
        writeln!(
            f,
            "idle sweep:  {} cases due, {:.2?} for {} cases",
            self.idle_evaluated, self.idle_sweep, self.cases
        )?;
        writeln!(
            f,
            "re-sweep:    {} cases evaluated again, {} alert changes in {:.2?} = {:.0} cases/s",
            self.unchanged_evaluated,
            self.unchanged_changes,
            self.unchanged_sweep,
            rate(self.unchanged_evaluated as u64, self.unchanged_sweep)
        )?;
        write!(
            f,
            "             load {:.2?}, evaluate {:.2?}, store {:.2?}",
            self.unchanged_steps.load, self.unchanged_steps.evaluate, self.unchanged_steps.store
        )
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
/// weeks late, with a full-return goal: a plan that slips (AL-09) and has work to do every day.
fn plan(d0: NaiveDate) -> anyhow::Result<Plan> {
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
    for (i, kind) in kinds.into_iter().enumerate() {
        let id = ActivityId::parse(&format!("a{i}")).map_err(|e| anyhow::anyhow!(e))?;
        let start = 40 + 7 * i as i64;
        let mut a = Activity::new(id, kind, reference("kia-team-630")?)
            .planned(day(start), Some(day(start + 7)));
        if let Some(previous) = activities.last() {
            a = a.after([previous.id.clone()]);
        }
        if i == 3 {
            a = a.booked(day(start + 21));
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

/// Time spent per step of a sweep, summed over its batches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Steps {
    /// Reading and decoding the cases, plans, screenings and referrals.
    pub load: Duration,
    /// Running the rules (timeline, projection, ...).
    pub evaluate: Duration,
    /// Reconciling and writing alerts, events and the schedule.
    pub store: Duration,
}

/// One sweep over every partition as of `now` (the steps of `engine::evaluate_cases`, timed);
/// returns (cases evaluated, alert changes, time per step).
async fn sweep_all(
    store: &dyn Store,
    params: &AlertParams,
    now: DateTime<Utc>,
    through: NaiveDate,
) -> anyhow::Result<(usize, usize, Steps)> {
    let today = kia_runtime::clock::danish_date(now);
    let totals = std::sync::Mutex::new((0usize, Steps::default()));
    let mut evaluated = 0;
    for partition in 0..ALERT_PARTITIONS {
        let totals = &totals;
        evaluated += for_each_due_page(store, partition, through, |cases| async move {
            let position = store.last_event_position().await?;
            let t = Instant::now();
            let inputs = store.alert_inputs(&cases).await?;
            let load = t.elapsed();
            let t = Instant::now();
            let evaluations = evaluate_inputs(&inputs, params, today, position);
            let evaluate = t.elapsed();
            let t = Instant::now();
            let changes = store.reconcile_alerts(&evaluations, now).await?;
            let stored = t.elapsed();
            if let Ok(mut totals) = totals.lock() {
                totals.0 += changes.len();
                totals.1.load += load;
                totals.1.evaluate += evaluate;
                totals.1.store += stored;
            }
            Ok(())
        })
        .await?;
    }
    let (changes, steps) = totals.into_inner().unwrap_or_default();
    Ok((evaluated, changes, steps))
}

/// Seeds `cases` cases into the empty database at `url` and measures (see [`SweepReport`]).
pub async fn sweep(url: &str, cases: u64) -> anyhow::Result<SweepReport> {
    let store = kia_store::open(url, &StoreOptions::default())
        .await
        .context("opening the database")?;
    store.migrate().await.context("migrating")?;
    let now = Utc::now();
    let d0 = kia_runtime::clock::danish_date(now) - chrono::Duration::days(60);
    let facts_json = serde_json::to_string(&facts(d0))?;
    let plan_json =
        serde_json::to_string(&plan(d0)?)?.replace(&CaseId::new(0, 0).to_string(), "@CASE@");

    let started = Instant::now();
    kia_store::testing::seed_open_cases(url, cases, d0, &facts_json, &plan_json)
        .await
        .context("seeding cases")?;
    let seed = started.elapsed();

    let started = Instant::now();
    let (plain_rows, plain_bytes) = kia_store::testing::read_cases_and_plans(url).await?;
    let plain_read = started.elapsed();

    let params = AlertParams::default();
    let started = Instant::now();
    let today = kia_runtime::clock::danish_date(now);
    let (evaluated, alert_changes, steps) = sweep_all(store.as_ref(), &params, now, today).await?;
    let full_sweep = started.elapsed();

    let started = Instant::now();
    let (idle_evaluated, _, _) = sweep_all(store.as_ref(), &params, now, today).await?;
    let idle_sweep = started.elapsed();

    // Every case again, as after the clock moved: nothing changes, everything is read.
    let started = Instant::now();
    let (unchanged_evaluated, unchanged_changes, unchanged_steps) =
        sweep_all(store.as_ref(), &params, now, EVERYTHING).await?;
    let unchanged_sweep = started.elapsed();
    store.close().await;
    Ok(SweepReport {
        cases,
        seed,
        plain_read,
        plain_rows,
        plain_bytes,
        full_sweep,
        evaluated,
        alert_changes,
        steps,
        idle_sweep,
        idle_evaluated,
        unchanged_sweep,
        unchanged_evaluated,
        unchanged_changes,
        unchanged_steps,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_small_sweep_evaluates_every_case_once_then_none() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let report = sweep(&url, 40).await.unwrap();
        assert_eq!(report.plain_rows, 40);
        assert_eq!(report.evaluated, 40);
        assert!(
            report.alert_changes >= 40,
            "each case's plan slips (AL-09): {report}"
        );
        assert_eq!(
            report.idle_evaluated, 0,
            "nothing is due again the same day"
        );
        assert_eq!(
            report.unchanged_evaluated, 40,
            "a full sweep reads every case"
        );
        assert_eq!(
            report.unchanged_changes, 0,
            "evaluating again changes nothing"
        );
    }
}
