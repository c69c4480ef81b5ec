//! The projected return-to-work date along the dependency chain, and who made it slip.
//!
//! The KIA plan follow-up person "follows up on the retention plan and intervenes if it slips,
//! e.g. because of waiting times" (\[002\] 002_59c7ae5e83dc120d.txt); alert AL-09 (DOMAIN.md §2.6)
//! watches the slip computed here.
//!
//! # The schedule
//!
//! Cancelled activities are left out, and a dependency on a cancelled activity no longer
//! constrains anything. For every other activity, in dependency order:
//!
//! - its own start is the actual start, else the booked start, else the planned start (else the
//!   referral date). An earlier booking than planned counts: the booked date is the best
//!   knowledge of when it happens, so it may pull the projection earlier, though its waiting
//!   time ([`super::Activity::waiting_days`]) is 0;
//! - an activity that has not started cannot start in the past: its own start is at least
//!   `as_of` (DECIDED: facts not recorded by `as_of` are not assumed);
//! - expected start = max(own start, the expected end of every dependency) — finish-to-start,
//!   and a successor may start on the day its predecessor ends;
//! - expected end = expected start + planned duration (`planned_end − planned_start`, 0 without
//!   a planned end); a completed activity ends on its actual end; a started one still running
//!   ends no earlier than `as_of`.
//!
//! A goal's projected date is the latest expected end of the activities it names, or of every
//! activity when it names none. Slip = projected − goal date when positive.
//!
//! # Attributing the slip
//!
//! The plan *as drawn* (planned dates and durations only) is the baseline. The deviations from
//! it are, per activity: its booking (a waiting time, or an earlier booking), its actual start
//! (late or early), not having started by `as_of`, its actual duration, and running past its
//! planned end. They are switched on one at a time, and each gets the slip it adds on top of
//! the ones before it; the baseline's own slip (the plan as drawn already ends after the goal)
//! is [`SlipCause::PlannedAfterGoal`]. The contributions therefore sum to the total slip
//! exactly.
//!
//! The order decides who gets the days, so it follows the chain that ends the projection: first
//! the deviations of the last-ending activity and of everything it waits for, directly or not,
//! in dependency order; then all others. Along the chain each wait gets only the days it adds
//! beyond the earlier ones (an X-ray 10 days late that eats 5 days of planned slack before the
//! specialist gets 5; the specialist's own wait gets the rest). Waits off that chain, or fully
//! absorbed by slack or by the goal's buffer, contribute 0 and are not listed. Deviations that
//! gain time (an earlier booking, an early start or finish) can have negative contributions.
//!
//! [`GoalProjection::critical_path`] is the chain of binding dependencies back from the
//! last-ending activity: a dependency binds when its end meets or passes the successor's own
//! start (zero slack), so any further delay in it moves the projection.

use super::{Activity, ActivityId, ActivityStatus, GoalId, Plan, days_between, plus_days};
use crate::error::Invalid;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// One activity's place in the projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivitySchedule {
    pub id: ActivityId,
    /// The start as drawn: planned start, else referral date, else booking, else actual start.
    pub baseline_start: Option<NaiveDate>,
    pub expected_start: NaiveDate,
    pub expected_end: NaiveDate,
    /// [`Activity::waiting_days`], 0 when unknown.
    pub waiting_days: i64,
    /// Expected start minus baseline start (0 without a baseline): how far the activity moved.
    pub delay_days: i64,
    /// The dependency whose end sets this activity's start (meets or passes its own start: no
    /// slack), when one does.
    pub pushed_by: Option<ActivityId>,
}

/// Why the projection moved, per contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SlipCause {
    /// The plan as drawn (planned dates and durations) already ends after the goal.
    PlannedAfterGoal,
    /// A waiting list: booked this many days after the planned start (or the referral).
    Waiting { waiting_days: i64 },
    /// Booked this many days before the planned start.
    EarlierBooking { days_early: i64 },
    /// Started this many days after the booked (or planned) start.
    LateStart { days_late: i64 },
    /// Started this many days before the booked (or planned) start.
    EarlyStart { days_early: i64 },
    /// Took this many days longer than planned.
    Overrun { days_over: i64 },
    /// Took this many days less than planned.
    FinishedEarly { days_early: i64 },
    /// Due to have started, but no start recorded by `as_of`.
    NotStartedByAsOf,
    /// Started, not completed, and running past its planned end at `as_of`.
    RunningPastPlannedEnd,
}

/// Days of slip one cause adds (negative: days it gains back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlipContribution {
    /// `None` for [`SlipCause::PlannedAfterGoal`].
    pub activity: Option<ActivityId>,
    pub cause: SlipCause,
    pub days: i64,
}

impl SlipContribution {
    /// One sentence for the caseworker and the plan follow-up person (not for the employer: it
    /// names health activities), e.g. "specialist `spec` booked 21 days after its planned start
    /// pushes the return 21 days past the goal".
    pub fn describe(&self, plan: &Plan) -> String {
        let effect = if self.days >= 0 {
            format!("pushes the return {} days past the goal", self.days)
        } else {
            format!("brings the return {} days closer to the goal", -self.days)
        };
        let Some(a) = self.activity.as_ref().and_then(|id| plan.activity(id)) else {
            return format!("the plan as drawn ends after the goal: {effect}");
        };
        let who = format!("{} `{}`", a.kind.label(), a.id);
        let since = if a.planned_start.is_some() {
            "its planned start"
        } else {
            "its referral"
        };
        let what = match self.cause {
            SlipCause::PlannedAfterGoal => "is planned after the goal".to_owned(),
            SlipCause::Waiting { waiting_days } => {
                format!("booked {waiting_days} days after {since}")
            }
            SlipCause::EarlierBooking { days_early } => {
                format!("booked {days_early} days before {since}")
            }
            SlipCause::LateStart { days_late } => format!("started {days_late} days late"),
            SlipCause::EarlyStart { days_early } => format!("started {days_early} days early"),
            SlipCause::Overrun { days_over } => {
                format!("took {days_over} days longer than planned")
            }
            SlipCause::FinishedEarly { days_early } => {
                format!("finished {days_early} days sooner than planned")
            }
            SlipCause::NotStartedByAsOf => "has not started although due".to_owned(),
            SlipCause::RunningPastPlannedEnd => "is running past its planned end".to_owned(),
        };
        format!("{who} {what} {effect}")
    }
}

/// A goal against its projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalProjection {
    pub goal: GoalId,
    /// The goal's date.
    pub target: NaiveDate,
    /// Latest expected end of the goal's activities; `None` when all are cancelled.
    pub projected: Option<NaiveDate>,
    /// `projected − target` when positive, else 0.
    pub slip_days: i64,
    /// The chain that sets the projection, first activity first.
    pub critical_path: Vec<ActivityId>,
    /// Non-zero contributions, summing to `slip_days`.
    pub causes: Vec<SlipContribution>,
}

impl GoalProjection {
    pub fn is_slipping(&self) -> bool {
        self.slip_days > 0
    }

    /// [`SlipContribution::describe`] for every cause.
    pub fn explain(&self, plan: &Plan) -> Vec<String> {
        self.causes.iter().map(|c| c.describe(plan)).collect()
    }
}

/// The projection of a plan as of a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projection {
    pub as_of: NaiveDate,
    /// Every activity that is not cancelled, in plan order.
    pub activities: Vec<ActivitySchedule>,
    /// Every goal, in plan order.
    pub goals: Vec<GoalProjection>,
    /// The first date after `as_of` on which the projection can differ with nothing recorded:
    /// the day after the latest of the dates `as_of` was held up against (an activity's own
    /// start, a running activity's end). `as_of + 1` while something is already late, since a
    /// late start moves with every day.
    #[serde(skip)]
    pub changes_on: Option<NaiveDate>,
}

impl Projection {
    pub fn activity(&self, id: &ActivityId) -> Option<&ActivitySchedule> {
        self.activities.iter().find(|a| &a.id == id)
    }

    pub fn goal(&self, id: &GoalId) -> Option<&GoalProjection> {
        self.goals.iter().find(|g| &g.goal == id)
    }

    /// Goals projected past their date — the condition of alert AL-09 (plan slippage).
    pub fn slipping(&self) -> impl Iterator<Item = &GoalProjection> {
        self.goals.iter().filter(|g| g.is_slipping())
    }

    /// The latest expected end of any activity: the plan's end as projected.
    pub fn end(&self) -> Option<NaiveDate> {
        self.activities.iter().map(|a| a.expected_end).max()
    }
}

/// Projects the plan as of `as_of` (see the module documentation). Refuses a plan that does not
/// validate (e.g. with a dependency cycle).
pub fn project(plan: &Plan, as_of: NaiveDate) -> Result<Projection, Invalid> {
    plan.validate()?;
    let graph = Graph::new(plan, as_of);
    let n = plan.activities.len();

    // The deviations from the plan as drawn, in dependency order.
    let sources: Vec<(usize, Step)> = graph
        .order
        .iter()
        .flat_map(|&i| {
            let a = &plan.activities[i];
            Step::ALL
                .into_iter()
                .filter(move |s| s.applies_to(a))
                .map(move |s| (i, s))
        })
        .collect();

    let members: Vec<Vec<usize>> = plan
        .goals
        .iter()
        .map(|g| {
            if g.depends_on.is_empty() {
                graph.order.clone()
            } else {
                g.depends_on
                    .iter()
                    .filter_map(|id| plan.activity_index(id))
                    .filter(|&i| !plan.activities[i].is_cancelled())
                    .collect()
            }
        })
        .collect();
    let mut all = vec![0u8; n];
    for &(i, step) in &sources {
        all[i] |= step.bit();
    }
    let fin = graph.run(&all);
    let attribution: Vec<(i64, Vec<SlipContribution>)> = (0..plan.goals.len())
        .map(|g| {
            let end = latest(&fin, &members[g]).map(|(_, i)| i);
            graph.attribute(&sources, end, |slots| {
                latest(slots, &members[g])
                    .map_or(0, |(e, _)| days_between(plan.goals[g].by, e).max(0))
            })
        })
        .collect();

    let activities = plan
        .activities
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let s = fin[i]?;
            Some(ActivitySchedule {
                id: a.id.clone(),
                baseline_start: a.baseline_start(),
                expected_start: s.start,
                expected_end: s.end,
                waiting_days: a.waiting_days().unwrap_or(0),
                delay_days: a.baseline_start().map_or(0, |b| days_between(b, s.start)),
                pushed_by: s.pushed_by.map(|j| plan.activities[j].id.clone()),
            })
        })
        .collect();

    let goals = plan
        .goals
        .iter()
        .enumerate()
        .zip(attribution)
        .map(|((g, goal), (slip_days, causes))| {
            let end = latest(&fin, &members[g]);
            let mut critical_path = Vec::new();
            let mut at = end.map(|(_, i)| i);
            while let Some(i) = at {
                critical_path.push(plan.activities[i].id.clone());
                at = fin[i].and_then(|s| s.pushed_by);
            }
            critical_path.reverse();
            GoalProjection {
                goal: goal.id.clone(),
                target: goal.by,
                projected: end.map(|(e, _)| e),
                slip_days,
                critical_path,
                causes,
            }
        })
        .collect();

    Ok(Projection {
        as_of,
        activities,
        goals,
        changes_on: graph.changes_on.get(),
    })
}

/// `date`, but no earlier than `as_of` (`as_of` without a date). The result is the same for
/// every later `as_of` up to the returned date, so the day after it lowers `changes_on`.
fn at_least(
    changes_on: &std::cell::Cell<Option<NaiveDate>>,
    as_of: NaiveDate,
    date: Option<NaiveDate>,
) -> NaiveDate {
    let held = date.map_or(as_of, |d| d.max(as_of));
    let change = plus_days(held, 1);
    if changes_on.get().is_none_or(|c| change < c) {
        changes_on.set(Some(change));
    }
    held
}

/// Latest end among `members` and the first activity that has it.
fn latest(slots: &[Option<Slot>], members: &[usize]) -> Option<(NaiveDate, usize)> {
    members
        .iter()
        .filter_map(|&i| slots[i].map(|s| (s.end, i)))
        .fold(None, |acc, (end, i)| match acc {
            Some((best, _)) if best >= end => acc,
            _ => Some((end, i)),
        })
}

/// One deviation of reality from the plan as drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Booking,
    ActualStart,
    NotStarted,
    Duration,
    RunningOver,
}

impl Step {
    const ALL: [Step; 5] = [
        Step::Booking,
        Step::ActualStart,
        Step::NotStarted,
        Step::Duration,
        Step::RunningOver,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    fn applies_to(self, a: &Activity) -> bool {
        match self {
            Step::Booking => a.booked_start.is_some(),
            Step::ActualStart => a.actual_start.is_some(),
            Step::NotStarted => !a.is_started(),
            Step::Duration => a.is_completed(),
            Step::RunningOver => a.status == ActivityStatus::Started,
        }
    }

    fn cause(self, a: &Activity) -> SlipCause {
        let diff = |from: Option<NaiveDate>, to: Option<NaiveDate>| match (from, to) {
            (Some(f), Some(t)) => days_between(f, t),
            _ => 0,
        };
        match self {
            Step::Booking => match diff(a.baseline_start(), a.booked_start) {
                d if d >= 0 => SlipCause::Waiting { waiting_days: d },
                d => SlipCause::EarlierBooking { days_early: -d },
            },
            Step::ActualStart => {
                match diff(a.booked_start.or(a.baseline_start()), a.actual_start) {
                    d if d >= 0 => SlipCause::LateStart { days_late: d },
                    d => SlipCause::EarlyStart { days_early: -d },
                }
            }
            Step::NotStarted => SlipCause::NotStartedByAsOf,
            Step::Duration => {
                match diff(a.actual_start, a.actual_end) - a.planned_duration_days() {
                    d if d >= 0 => SlipCause::Overrun { days_over: d },
                    d => SlipCause::FinishedEarly { days_early: -d },
                }
            }
            Step::RunningOver => SlipCause::RunningPastPlannedEnd,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    start: NaiveDate,
    end: NaiveDate,
    pushed_by: Option<usize>,
}

/// The live (not cancelled) activities in dependency order, with their live dependencies.
struct Graph<'p> {
    plan: &'p Plan,
    as_of: NaiveDate,
    order: Vec<usize>,
    deps: Vec<Vec<usize>>,
    /// See [`Projection::changes_on`]; lowered by every comparison with `as_of`.
    changes_on: std::cell::Cell<Option<NaiveDate>>,
}

impl<'p> Graph<'p> {
    /// Kahn's algorithm, earliest baseline first, then plan order (the plan validated, so it is
    /// acyclic).
    fn new(plan: &'p Plan, as_of: NaiveDate) -> Self {
        let n = plan.activities.len();
        let index: HashMap<&ActivityId, usize> = super::validate::index_of(plan);
        let live = |i: usize| !plan.activities[i].is_cancelled();
        let deps: Vec<Vec<usize>> = (0..n)
            .map(|i| {
                let mut d: Vec<usize> = plan.activities[i]
                    .depends_on
                    .iter()
                    .filter_map(|id| index.get(id).copied())
                    .filter(|&j| live(i) && live(j))
                    .collect();
                d.dedup();
                d
            })
            .collect();
        let mut waiting_on: Vec<usize> = deps.iter().map(Vec::len).collect();
        let mut dependents = vec![Vec::new(); n];
        for (i, d) in deps.iter().enumerate() {
            for &j in d {
                dependents[j].push(i);
            }
        }
        let changes_on = std::cell::Cell::new(None);
        // An activity with no date of its own sorts at `as_of`, which moves past the others.
        let key = |i: usize| {
            let on = plan.activities[i]
                .baseline_start()
                .unwrap_or_else(|| at_least(&changes_on, as_of, None));
            Reverse((on, i))
        };
        let mut ready: BinaryHeap<_> = (0..n)
            .filter(|&i| live(i) && waiting_on[i] == 0)
            .map(key)
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse((_, i))) = ready.pop() {
            order.push(i);
            for &k in &dependents[i] {
                waiting_on[k] -= 1;
                if waiting_on[k] == 0 {
                    ready.push(key(k));
                }
            }
        }
        Self {
            plan,
            as_of,
            order,
            deps,
            changes_on,
        }
    }

    fn at_least_as_of(&self, date: Option<NaiveDate>) -> NaiveDate {
        at_least(&self.changes_on, self.as_of, date)
    }

    /// Telescopes `slip` over the deviations switched on one at a time from the plan as drawn:
    /// first those of the chain ending in activity `end` (it and everything it waits for,
    /// directly or not), then the rest, each group in dependency order. Returns the final slip
    /// and the non-zero contributions, which sum to it.
    fn attribute(
        &self,
        sources: &[(usize, Step)],
        end: Option<usize>,
        slip: impl Fn(&[Option<Slot>]) -> i64,
    ) -> (i64, Vec<SlipContribution>) {
        let n = self.plan.activities.len();
        let mut chain = vec![false; n];
        let mut stack: Vec<usize> = end.into_iter().collect();
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut chain[i], true) {
                stack.extend(self.deps[i].iter().copied());
            }
        }
        let ordered = sources
            .iter()
            .filter(|(i, _)| chain[*i])
            .chain(sources.iter().filter(|(i, _)| !chain[*i]));
        let mut mask = vec![0u8; n];
        let mut before = slip(&self.run(&mask));
        let mut causes: Vec<SlipContribution> = (before != 0)
            .then_some(SlipContribution {
                activity: None,
                cause: SlipCause::PlannedAfterGoal,
                days: before,
            })
            .into_iter()
            .collect();
        for &(i, step) in ordered {
            mask[i] |= step.bit();
            let now = slip(&self.run(&mask));
            if now != before {
                let a = &self.plan.activities[i];
                causes.push(SlipContribution {
                    activity: Some(a.id.clone()),
                    cause: step.cause(a),
                    days: now - before,
                });
            }
            before = now;
        }
        (before, causes)
    }

    /// The schedule with the deviations in `mask` switched on (per activity, [`Step::bit`]).
    fn run(&self, mask: &[u8]) -> Vec<Option<Slot>> {
        let mut slots: Vec<Option<Slot>> = vec![None; self.plan.activities.len()];
        for &i in &self.order {
            let a = &self.plan.activities[i];
            let on = |s: Step| mask[i] & s.bit() != 0;
            let mut own = a.baseline_start();
            if on(Step::Booking) {
                own = a.booked_start.or(own);
            }
            if on(Step::ActualStart) {
                own = a.actual_start.or(own);
            }
            let dep = self.deps[i]
                .iter()
                .filter_map(|&j| slots[j].map(|s| (s.end, j)))
                .fold(
                    None,
                    |acc: Option<(NaiveDate, usize)>, (end, j)| match acc {
                        Some((best, _)) if best >= end => acc,
                        _ => Some((end, j)),
                    },
                );
            let (mut start, mut pushed_by) = match (own, dep) {
                (Some(o), Some((d, j))) if d >= o => (d, Some(j)),
                (Some(o), _) => (o, None),
                (None, Some((d, j))) => (d, Some(j)),
                (None, None) => (self.at_least_as_of(None), None),
            };
            // Not started yet: it cannot start in the past, whatever held it.
            if on(Step::NotStarted) && !a.is_started() {
                let held = self.at_least_as_of(Some(start));
                if held > start {
                    (start, pushed_by) = (held, None);
                }
            }
            let duration = match (a.actual_start, a.actual_end) {
                (Some(s), Some(e)) if a.is_completed() && on(Step::Duration) => days_between(s, e),
                _ => a.planned_duration_days(),
            };
            let mut end = plus_days(start, duration);
            if on(Step::RunningOver) && a.status == ActivityStatus::Started {
                end = self.at_least_as_of(Some(end));
            }
            slots[i] = Some(Slot {
                start,
                end,
                pushed_by,
            });
        }
        slots
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::*;
    use super::*;
    use crate::case::{CaseId, ExternalReference};
    use crate::facts::WeeklyHours;
    use chrono::{TimeZone, Utc};

    fn d(n: i64) -> NaiveDate {
        plus_days(NaiveDate::from_ymd_opt(2011, 3, 1).unwrap(), n)
    }

    fn id(s: &str) -> ActivityId {
        ActivityId::parse(s).unwrap()
    }

    fn org() -> ExternalReference {
        ExternalReference::parse("org").unwrap()
    }

    fn health(name: &str, start: i64, end: i64) -> Activity {
        Activity::new(
            id(name),
            ActivityKind::Health(HealthKind::Specialist),
            org(),
        )
        .planned(d(start), Some(d(end)))
    }

    fn plan(activities: Vec<Activity>, goal_by: i64) -> Plan {
        let at = Utc.with_ymd_and_hms(2011, 3, 1, 9, 0, 0).unwrap();
        Plan {
            case: CaseId::new(1, 1),
            kind: PlanKind::FollowUpPlan,
            stage: PlanStage::Final,
            owner: org(),
            roles: Roles::default(),
            contributors: Vec::new(),
            goals: vec![Goal {
                id: GoalId::parse("full").unwrap(),
                kind: GoalKind::FullReturn,
                hours_per_week: WeeklyHours::hours(37),
                by: d(goal_by),
                depends_on: Vec::new(),
            }],
            activities,
            version: 1,
            created_at: at,
            updated_at: at,
            finalised_at: None,
        }
    }

    fn total(g: &GoalProjection) -> i64 {
        g.causes.iter().map(|c| c.days).sum()
    }

    #[test]
    fn several_waits_on_one_chain_each_get_their_own_days() {
        // a: planned D0–D10, booked D10 (wait 10) -> ends D20.
        // b after a: planned D10–D20, booked D25 (wait 15, but 5 beyond the push by a).
        let p = plan(
            vec![
                health("a", 0, 10).booked(d(10)),
                health("b", 10, 20).booked(d(25)).after([id("a")]),
            ],
            20,
        );
        let pr = project(&p, d(0)).unwrap();
        let g = &pr.goals[0];
        assert_eq!(g.projected, Some(d(35)));
        assert_eq!(g.slip_days, 15);
        assert_eq!(
            g.causes,
            vec![
                SlipContribution {
                    activity: Some(id("a")),
                    cause: SlipCause::Waiting { waiting_days: 10 },
                    days: 10
                },
                SlipContribution {
                    activity: Some(id("b")),
                    cause: SlipCause::Waiting { waiting_days: 15 },
                    days: 5
                },
            ]
        );
        assert_eq!(
            g.critical_path,
            vec![id("b")],
            "b's own booking sets its start"
        );
        assert_eq!(pr.activity(&id("b")).unwrap().pushed_by, None);
    }

    #[test]
    fn buffer_absorbs_a_wait_and_off_path_waits_count_nothing() {
        // Goal at D25: 5 days of buffer after the planned end D20.
        let p = plan(
            vec![
                health("a", 0, 10).booked(d(2)),
                health("side", 0, 2).booked(d(14)),
                health("b", 10, 20).after([id("a")]),
            ],
            25,
        );
        let pr = project(&p, d(0)).unwrap();
        let g = &pr.goals[0];
        assert_eq!((g.projected, g.slip_days), (Some(d(22)), 0));
        assert!(g.causes.is_empty());
        assert_eq!(g.critical_path, vec![id("a"), id("b")]);
        assert_eq!(pr.activity(&id("b")).unwrap().pushed_by, Some(id("a")));
        assert_eq!(pr.activity(&id("b")).unwrap().delay_days, 2);
        assert_eq!(pr.activity(&id("side")).unwrap().waiting_days, 14);
    }

    #[test]
    fn plan_drawn_past_the_goal_and_an_earlier_booking() {
        let p = plan(vec![health("a", 10, 30).booked(d(3))], 20);
        let pr = project(&p, d(0)).unwrap();
        let g = &pr.goals[0];
        assert_eq!(
            g.projected,
            Some(d(23)),
            "earlier booking pulls the projection"
        );
        assert_eq!(g.slip_days, 3);
        assert_eq!(g.causes[0].cause, SlipCause::PlannedAfterGoal);
        assert_eq!(g.causes[0].days, 10);
        assert_eq!(
            g.causes[1].cause,
            SlipCause::EarlierBooking { days_early: 7 }
        );
        assert_eq!(g.causes[1].days, -7);
        assert_eq!(total(g), g.slip_days);
        assert_eq!(p.activities[0].waiting_days(), Some(0));
        let text = g.explain(&p);
        assert_eq!(
            text[0],
            "the plan as drawn ends after the goal: pushes the return 10 days past the goal"
        );
        assert_eq!(
            text[1],
            "specialist `a` booked 7 days before its planned start brings the return 7 days \
             closer to the goal"
        );
    }

    #[test]
    fn facts_not_recorded_by_as_of_are_not_assumed() {
        let mut started = health("a", 0, 10);
        started.status = ActivityStatus::Started;
        started.actual_start = Some(d(2));
        let p = plan(vec![started, health("b", 12, 14).after([id("a")])], 14);
        let pr = project(&p, d(20)).unwrap();
        let g = &pr.goals[0];
        // a started 2 days late (ends D12), is still running on D20; b can start D20 at the
        // earliest, ends D22.
        assert_eq!(pr.activity(&id("a")).unwrap().expected_end, d(20));
        assert_eq!(g.projected, Some(d(22)));
        assert_eq!(g.slip_days, 8);
        let causes: Vec<(SlipCause, i64)> = g.causes.iter().map(|c| (c.cause, c.days)).collect();
        assert_eq!(
            causes,
            vec![(SlipCause::RunningPastPlannedEnd, 8)],
            "the late start is absorbed by b's planned gap; b's own lateness adds nothing more"
        );
    }

    #[test]
    fn cancelled_activities_neither_count_nor_constrain() {
        let mut gone = health("gone", 0, 50);
        gone.status = ActivityStatus::Cancelled;
        let p = plan(vec![gone, health("b", 5, 10).after([id("gone")])], 10);
        let pr = project(&p, d(0)).unwrap();
        assert_eq!(pr.goals[0].projected, Some(d(10)));
        assert_eq!(pr.activities.len(), 1);
    }

    #[test]
    fn an_overrun_is_attributed_to_its_activity() {
        let mut a = health("a", 0, 10);
        a.status = ActivityStatus::Completed;
        a.actual_start = Some(d(0));
        a.actual_end = Some(d(16));
        let p = plan(vec![a, health("b", 10, 20).after([id("a")])], 20);
        let g = &project(&p, d(30)).unwrap().goals[0];
        assert_eq!(g.slip_days, 20, "6 days overrun, then b not started by D30");
        assert_eq!(g.causes[0].cause, SlipCause::Overrun { days_over: 6 });
        assert_eq!(g.causes[0].days, 6);
        assert_eq!(g.causes[1].cause, SlipCause::NotStartedByAsOf);
        assert_eq!(g.causes[1].days, 14);
    }
}
