//! What the alert engine reads from a plan: AL-10 (hospital wait beyond one month), AL-11
//! (waiting with nothing in progress) and AL-18 (partial return without a full-return date).
//! AL-09 (plan slippage) is [`super::Projection::slipping`].

use super::{ActivityId, ActivityKind, Plan, Projection, days_between};
use crate::weeks::Period;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Parameters of the plan alerts. Like a `RuleSet`, plain data with their sources; the rule
/// ids (T-25, AL-10, AL-11, AL-18) are not in `rules::RuleId` yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanParams {
    /// T-25 extended free hospital choice: when a public hospital cannot examine or treat
    /// "inden for én måned", the patient may choose a contracted private or foreign hospital
    /// ([003 ch5] 003_532c043554107ee2.txt). Calendar month.
    pub hospital_choice_within: Period,
    /// AL-11: how long the citizen may wait with no activity in progress before the caseworker
    /// is asked to consider a low-hour activity. INFERRED: the seeds give no number; Ringsted
    /// keeps the person going while waiting, "eventuelt blot med et kursus på ganske få timer om
    /// ugen eller med fysiske aktiviteter" ([003 ch3 Ringsted] 003_532c043554107ee2.txt).
    pub idle_after: Period,
}

impl Default for PlanParams {
    fn default() -> Self {
        Self {
            hospital_choice_within: Period::Months(1),
            idle_after: Period::Weeks(2),
        }
    }
}

/// AL-10: a hospital examination or treatment not available within the T-25 month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HospitalWait {
    pub activity: ActivityId,
    pub referred_on: NaiveDate,
    /// Referral plus one month: the last day within the T-25 limit.
    pub limit: NaiveDate,
    /// The booked date, when one is known.
    pub booked_start: Option<NaiveDate>,
    /// Days from referral to the booked date, or to `as_of` while nothing is booked.
    pub waited_days: i64,
}

/// AL-10 (T-25): hospital examinations, treatments and surgery — and diagnostic tests not
/// ordered by a GP/specialist for their own diagnosis — that have not started and whose booked
/// date lies beyond one month from referral, or that are still unbooked once the month has
/// passed. The plan owner can then suggest extended free hospital choice. GP-ordered
/// diagnostics are outside free hospital choice ([003 ch5]) and never listed.
pub fn hospital_waits_over_limit(
    plan: &Plan,
    params: &PlanParams,
    as_of: NaiveDate,
) -> Vec<HospitalWait> {
    hospital_choice_waits(plan, params)
        .filter_map(|(a, referred_on, limit)| {
            let until = match a.booked_start {
                Some(b) if b > limit => b,
                Some(_) => return None,
                None if as_of > limit => as_of,
                None => return None,
            };
            Some(HospitalWait {
                activity: a.id.clone(),
                referred_on,
                limit,
                booked_start: a.booked_start,
                waited_days: days_between(referred_on, until),
            })
        })
        .collect()
}

/// Activities under T-25 that have not started, with their referral and the month's last day.
fn hospital_choice_waits<'p>(
    plan: &'p Plan,
    params: &PlanParams,
) -> impl Iterator<Item = (&'p super::Activity, NaiveDate, NaiveDate)> {
    let within = params.hospital_choice_within;
    plan.activities
        .iter()
        .filter(|a| !a.is_started() && !a.is_cancelled())
        .filter(|a| matches!(a.kind, ActivityKind::Health(h) if h.hospital_choice_applies()))
        .filter_map(move |a| {
            let referred_on = a.referred_on?;
            Some((a, referred_on, within.after(referred_on)))
        })
}

/// The first date after `as_of` on which [`hospital_waits_over_limit`] can list more with
/// nothing recorded: the day after the month of an unbooked referral ends.
pub fn hospital_limit_passes_on(
    plan: &Plan,
    params: &PlanParams,
    as_of: NaiveDate,
) -> Option<NaiveDate> {
    hospital_choice_waits(plan, params)
        .filter(|(a, _, limit)| a.booked_start.is_none() && *limit >= as_of)
        .map(|(_, _, limit)| super::plus_days(limit, 1))
        .min()
}

/// AL-11: the citizen waits for the next activity with nothing in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdleWait {
    /// The latest end of a completed activity, else the earliest referral of what the citizen
    /// waits for, else `as_of`.
    pub idle_since: NaiveDate,
    /// The earliest expected start of what the citizen waits for (from the projection).
    pub next_start: NaiveDate,
    /// `next_start − idle_since`.
    pub idle_days: i64,
    /// Activities not yet started, in plan order.
    pub waiting_for: Vec<ActivityId>,
}

/// AL-11 (Ringsted, [003 ch3]): as of the projection's date no activity is in progress, some
/// activity is still to come, and the gap from the last activity (or the referral) to the next
/// expected start is at least `params.idle_after`. `None` when no alert is due. Counts the past
/// idle days and the coming ones, so the caseworker hears of a long wait when it is booked, not
/// only once it has passed.
pub fn idle_wait(plan: &Plan, projection: &Projection, params: &PlanParams) -> Option<IdleWait> {
    let as_of = projection.as_of;
    let live = || plan.activities.iter().filter(|a| !a.is_cancelled());
    let in_progress = live().any(|a| {
        a.actual_start.is_some_and(|s| s <= as_of)
            && (!a.is_completed() || a.actual_end.is_some_and(|e| e >= as_of))
    });
    let waiting: Vec<_> = live().filter(|a| !a.is_started()).collect();
    if in_progress || waiting.is_empty() {
        return None;
    }
    let next_start = waiting
        .iter()
        .filter_map(|a| projection.activity(&a.id))
        .map(|s| s.expected_start)
        .min()?;
    let idle_since = live()
        .filter(|a| a.is_completed())
        .filter_map(|a| a.actual_end)
        .filter(|e| *e <= as_of)
        .max()
        .or_else(|| {
            waiting
                .iter()
                .filter_map(|a| a.referred_on)
                .filter(|r| *r <= as_of)
                .min()
        })
        .unwrap_or(as_of);
    (params.idle_after.after(idle_since) <= next_start).then(|| IdleWait {
        idle_since,
        next_start,
        idle_days: days_between(idle_since, next_start),
        waiting_for: waiting.iter().map(|a| a.id.clone()).collect(),
    })
}

/// The first date after the projection's date on which [`idle_wait`] can answer differently
/// with nothing recorded: when the projection changes, an activity's recorded start or end or a
/// referral is reached or passed, or every day while the wait is counted from `as_of` itself.
pub fn idle_wait_changes_on(plan: &Plan, projection: &Projection) -> Option<NaiveDate> {
    let as_of = projection.as_of;
    let live = || plan.activities.iter().filter(|a| !a.is_cancelled());
    let recorded = live().flat_map(|a| {
        let end = a.actual_end.map(|e| super::plus_days(e, 1));
        [a.actual_start, a.actual_end, end, a.referred_on]
    });
    // `idle_wait`'s `idle_since` falls back to `as_of` itself.
    let counted_from_today = !live().any(|a| {
        (a.is_completed() && a.actual_end.is_some_and(|e| e <= as_of))
            || (!a.is_started() && a.referred_on.is_some_and(|r| r <= as_of))
    });
    recorded
        .flatten()
        .filter(|d| *d > as_of)
        .chain(projection.changes_on)
        .chain(counted_from_today.then(|| super::plus_days(as_of, 1)))
        .min()
}

/// AL-18 (Ringsted, [003 ch3]: "Når de bruges, lægges der en plan for, hvornår den syge kan
/// vende tilbage til fuld tid"): partial-return activities not yet completed in a plan that has
/// no full-return goal. Empty when the plan sets a date for full return.
pub fn partial_returns_without_full_return(plan: &Plan) -> Vec<ActivityId> {
    if plan.full_return_goal().is_some() {
        return Vec::new();
    }
    plan.activities
        .iter()
        .filter(|a| a.is_partial_return() && !a.is_cancelled() && !a.is_completed())
        .map(|a| a.id.clone())
        .collect()
}
