//! Plan validation: every violation at once, with field paths such as
//! `activities[2].planned_end`, and descriptions that never echo personal data (free text,
//! person references and dates stay out; activity ids are opaque tokens and may appear).

use super::{
    Activity, ActivityId, ActivityKind, ActivityStatus, GoalKind, MAX_WEEKLY_HOURS, Plan, PlanKind,
    PlanRole, WorkplaceKind,
};
use crate::error::Invalid;
use crate::facts::WeeklyHours;
use std::collections::{BTreeSet, HashMap};

/// Longest free text accepted in a plan field.
pub const MAX_TEXT_LEN: usize = 2000;

impl Plan {
    /// Checks the whole plan; [`super::apply`] runs this after every change, so a stored plan is
    /// always valid.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut inv = Invalid::default();
        roles(self, &mut inv);
        let index = index_of(self);
        for (i, a) in self.activities.iter().enumerate() {
            activity(self, &index, i, a, &mut inv);
        }
        goals(self, &index, &mut inv);
        for cycle in dependency_cycles(self, &index) {
            let names: Vec<&str> = cycle
                .iter()
                .chain(cycle.first())
                .map(|&i| self.activities[i].id.as_str())
                .collect();
            inv.push(
                format!("activities[{}].depends_on", cycle[0]),
                format!(
                    "forms a dependency cycle: {} (each waits for the next)",
                    names.join(" -> ")
                ),
            );
        }
        inv.into_result(())
    }
}

/// First position of each activity id.
pub(super) fn index_of(plan: &Plan) -> HashMap<&ActivityId, usize> {
    let mut index = HashMap::new();
    for (i, a) in plan.activities.iter().enumerate() {
        index.entry(&a.id).or_insert(i);
    }
    index
}

fn roles(plan: &Plan, inv: &mut Invalid) {
    for role in PlanRole::ALL {
        if let Some(p) = plan.roles.get(role)
            && p.organisation.is_none()
        {
            inv.push(
                format!("roles.{}.organisation", role.field()),
                "is required for a plan role",
            );
        }
    }
    if plan.kind == PlanKind::KiaReturnPlan
        && let (Some(f), Some(w)) = (&plan.roles.plan_follow_up, &plan.roles.workplace_contact)
        && f.same_person(w)
    {
        inv.push(
            "roles.workplace_contact",
            "must be a different person from the plan follow-up person (KIA division of \
             labour, [002])",
        );
    }
}

fn hours(inv: &mut Invalid, field: String, h: WeeklyHours) {
    if h == WeeklyHours::default() || h > MAX_WEEKLY_HOURS {
        inv.push(
            field,
            format!("must be more than 0 and at most {MAX_WEEKLY_HOURS}"),
        );
    }
}

fn text(inv: &mut Invalid, field: String, t: Option<&String>) {
    match t {
        Some(t) if t.trim().is_empty() => inv.push(field, "must not be blank when given"),
        Some(t) if t.chars().count() > MAX_TEXT_LEN => {
            inv.push(field, format!("must be at most {MAX_TEXT_LEN} characters"));
        }
        _ => {}
    }
}

fn activity(
    plan: &Plan,
    index: &HashMap<&ActivityId, usize>,
    i: usize,
    a: &Activity,
    inv: &mut Invalid,
) {
    let f = |name: &str| format!("activities[{i}].{name}");
    if let Some(&first) = index.get(&a.id)
        && first != i
    {
        inv.push(f("id"), format!("duplicates activities[{first}].id"));
    }

    // Dates.
    match (a.planned_start, a.planned_end) {
        (None, Some(_)) => inv.push(f("planned_end"), "requires planned_start"),
        (Some(s), Some(e)) if e < s => {
            inv.push(f("planned_end"), "must not be before planned_start");
        }
        _ => {}
    }
    if let (Some(r), Some(b)) = (a.referred_on, a.booked_start)
        && b < r
    {
        inv.push(f("booked_start"), "must not be before referred_on");
    }
    if let (Some(r), Some(s)) = (a.referred_on, a.actual_start)
        && s < r
    {
        inv.push(f("actual_start"), "must not be before referred_on");
    }
    match (a.actual_start, a.actual_end) {
        (None, Some(_)) => inv.push(f("actual_end"), "requires actual_start"),
        (Some(s), Some(e)) if e < s => inv.push(f("actual_end"), "must not be before actual_start"),
        _ => {}
    }

    // Status and the facts it implies.
    use ActivityStatus::*;
    let not_yet = |inv: &mut Invalid, field: &str, until: &str, v: bool| {
        if v {
            inv.push(
                f(field),
                format!("must be empty until the activity is {until}"),
            );
        }
    };
    let needed = |inv: &mut Invalid, field: &str, status: &str, v: bool| {
        if !v {
            inv.push(f(field), format!("is required for a {status} activity"));
        }
    };
    match a.status {
        Planned => {
            not_yet(inv, "booked_start", "booked", a.booked_start.is_some());
            not_yet(inv, "actual_start", "started", a.actual_start.is_some());
        }
        Booked => {
            needed(inv, "booked_start", "booked", a.booked_start.is_some());
            not_yet(inv, "actual_start", "started", a.actual_start.is_some());
        }
        Started => {
            needed(inv, "actual_start", "started", a.actual_start.is_some());
            not_yet(inv, "actual_end", "completed", a.actual_end.is_some());
        }
        Completed => {
            needed(inv, "actual_start", "completed", a.actual_start.is_some());
            needed(inv, "actual_end", "completed", a.actual_end.is_some());
        }
        Cancelled => {}
    }
    if !a.is_cancelled() && a.baseline_start().is_none() && a.depends_on.is_empty() {
        inv.push(
            f("planned_start"),
            "is required unless the activity has a referral date, a booking or a dependency",
        );
    }

    // Sector-specific fields.
    match &a.kind {
        ActivityKind::Health(_) => {}
        ActivityKind::Employment(e) => {
            hours(inv, f("employment.hours_per_week"), e.hours_per_week);
            text(
                inv,
                f("employment.fewer_hours_reason"),
                e.fewer_hours_reason.as_ref(),
            );
            text(
                inv,
                f("employment.combination_reason"),
                e.combination_reason.as_ref(),
            );
        }
        ActivityKind::Workplace(w) => {
            match (w.kind, w.hours_per_week) {
                (_, Some(h)) => hours(inv, f("workplace.hours_per_week"), h),
                (WorkplaceKind::AdjustedHours, None) => {
                    inv.push(
                        f("workplace.hours_per_week"),
                        "is required for adjusted hours",
                    );
                }
                _ => {}
            }
            text(inv, f("workplace.description"), w.description.as_ref());
        }
    }

    // Dependencies.
    let mut seen = BTreeSet::new();
    for (k, dep) in a.depends_on.iter().enumerate() {
        let field = f(&format!("depends_on[{k}]"));
        if !seen.insert(dep) {
            inv.push(field, "is listed twice");
            continue;
        }
        let Some(&j) = index.get(dep) else {
            inv.push(field, "names no activity of this plan");
            continue;
        };
        let d = &plan.activities[j];
        if a.is_cancelled() || d.is_cancelled() || j == i {
            continue;
        }
        if let Some(start) = a.actual_start {
            match d.actual_end {
                Some(end) if d.is_completed() && end <= start => {}
                Some(_) if d.is_completed() => inv.push(
                    f("actual_start"),
                    format!("must not be before dependency {} ended", d.id),
                ),
                _ => inv.push(
                    f("actual_start"),
                    format!("is recorded before dependency {} is completed", d.id),
                ),
            }
        }
    }
}

fn goals(plan: &Plan, index: &HashMap<&ActivityId, usize>, inv: &mut Invalid) {
    let full = plan
        .goals
        .iter()
        .position(|g| g.kind == GoalKind::FullReturn);
    for (g, goal) in plan.goals.iter().enumerate() {
        let f = |name: &str| format!("goals[{g}].{name}");
        if let Some(first) = plan.goals.iter().position(|o| o.id == goal.id)
            && first != g
        {
            inv.push(f("id"), format!("duplicates goals[{first}].id"));
        }
        hours(inv, f("hours_per_week"), goal.hours_per_week);
        match (goal.kind, full) {
            (GoalKind::FullReturn, Some(first)) if first != g => {
                inv.push(f("kind"), "the plan already has a full-return goal");
            }
            (GoalKind::PartialReturn, Some(first))
                if goal.hours_per_week >= plan.goals[first].hours_per_week =>
            {
                inv.push(
                    f("hours_per_week"),
                    "a partial return must be fewer hours than the full-return goal",
                );
            }
            _ => {}
        }
        let mut seen = BTreeSet::new();
        for (k, dep) in goal.depends_on.iter().enumerate() {
            let field = f(&format!("depends_on[{k}]"));
            if !seen.insert(dep) {
                inv.push(field, "is listed twice");
            } else if !index.contains_key(dep) {
                inv.push(field, "names no activity of this plan");
            }
        }
    }
}

/// Cycles found by a depth-first search over `depends_on` (self-dependencies included): at
/// least one for every group of activities that wait for each other, each as activity positions
/// starting at its lowest, in dependency direction, and reported once.
pub(super) fn dependency_cycles(
    plan: &Plan,
    index: &HashMap<&ActivityId, usize>,
) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    struct Search {
        edges: Vec<Vec<usize>>,
        mark: Vec<Mark>,
        path: Vec<usize>,
        found: Vec<Vec<usize>>,
        seen: BTreeSet<Vec<usize>>,
    }
    impl Search {
        fn visit(&mut self, v: usize) {
            self.mark[v] = Mark::OnPath;
            self.path.push(v);
            for k in 0..self.edges[v].len() {
                let w = self.edges[v][k];
                match self.mark[w] {
                    Mark::New => self.visit(w),
                    Mark::OnPath => {
                        let from = self.path.iter().rposition(|&p| p == w).unwrap_or(0);
                        let mut cycle = self.path[from..].to_vec();
                        let low = cycle
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, p)| **p)
                            .map_or(0, |(k, _)| k);
                        cycle.rotate_left(low);
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if self.seen.insert(key) {
                            self.found.push(cycle);
                        }
                    }
                    Mark::Done => {}
                }
            }
            self.path.pop();
            self.mark[v] = Mark::Done;
        }
    }
    let edges = plan
        .activities
        .iter()
        .map(|a| {
            a.depends_on
                .iter()
                .filter_map(|d| index.get(d).copied())
                .collect()
        })
        .collect();
    let n = plan.activities.len();
    let mut s = Search {
        edges,
        mark: vec![Mark::New; n],
        path: Vec::new(),
        found: Vec::new(),
        seen: BTreeSet::new(),
    };
    for v in 0..n {
        if s.mark[v] == Mark::New {
            s.visit(v);
        }
    }
    s.found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::*;
    use crate::case::{CaseId, ExternalReference};
    use crate::facts::WeeklyHours;
    use chrono::{NaiveDate, TimeZone, Utc};

    fn d(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2011, 3, n).unwrap()
    }

    fn r(s: &str) -> ExternalReference {
        ExternalReference::parse(s).unwrap()
    }

    fn id(s: &str) -> ActivityId {
        ActivityId::parse(s).unwrap()
    }

    fn goal(name: &str, kind: GoalKind, hours: u32) -> Goal {
        Goal {
            id: GoalId::parse(name).unwrap(),
            kind,
            hours_per_week: WeeklyHours::hours(hours),
            by: d(30),
            depends_on: Vec::new(),
        }
    }

    fn plan(activities: Vec<Activity>, goals: Vec<Goal>) -> Plan {
        let at = Utc.with_ymd_and_hms(2011, 3, 1, 9, 0, 0).unwrap();
        Plan {
            case: CaseId::new(1, 1),
            kind: PlanKind::KiaReturnPlan,
            stage: PlanStage::Final,
            owner: r("jobcenter-630"),
            roles: Roles::default(),
            contributors: Vec::new(),
            goals,
            activities,
            version: 1,
            created_at: at,
            updated_at: at,
            finalised_at: None,
        }
    }

    fn fields(p: &Plan) -> Vec<String> {
        p.validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    fn treatment(name: &str) -> Activity {
        Activity::new(
            id(name),
            ActivityKind::Health(HealthKind::Treatment),
            r("clinic"),
        )
        .planned(d(2), Some(d(3)))
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let mut planned_but_booked = treatment("a");
        planned_but_booked.booked_start = Some(d(4));
        let mut started_without_date = treatment("b");
        started_without_date.status = ActivityStatus::Started;
        let dateless = Activity::new(
            id("c"),
            ActivityKind::Workplace(WorkplaceActivity::new(WorkplaceKind::AdjustedHours)),
            r("employer"),
        );
        let mut blank = EmploymentActivity::new(EmploymentKind::Mentor, WeeklyHours::minutes(0));
        blank.combination_reason = Some("  ".into());
        let blank = Activity::new(id("a"), ActivityKind::Employment(blank), r("jc"))
            .planned(d(5), None)
            .after([id("zz"), id("b"), id("b")]);
        let mut g = goal("partial", GoalKind::PartialReturn, 37);
        g.depends_on = vec![id("nope")];
        let mut p = plan(
            vec![planned_but_booked, started_without_date, dateless, blank],
            vec![
                goal("full", GoalKind::FullReturn, 37),
                g,
                goal("full", GoalKind::FullReturn, 30),
            ],
        );
        p.roles.coordinator = Some(Party::new(r("p1"), None, Capacity::SocialWorker));
        assert_eq!(
            fields(&p),
            [
                "roles.coordinator.organisation",
                "activities[0].booked_start",
                "activities[1].actual_start",
                "activities[2].planned_start",
                "activities[2].workplace.hours_per_week",
                "activities[3].id",
                "activities[3].employment.hours_per_week",
                "activities[3].employment.combination_reason",
                "activities[3].depends_on[0]",
                "activities[3].depends_on[2]",
                "goals[1].hours_per_week",
                "goals[1].depends_on[0]",
                "goals[2].id",
                "goals[2].kind",
            ]
        );
    }

    #[test]
    fn cycles_are_reported_once_with_their_ids() {
        let p = plan(
            vec![
                treatment("a").after([id("c")]),
                treatment("b").after([id("a")]),
                treatment("c").after([id("b")]),
                treatment("d").after([id("d")]),
                treatment("e").after([id("a")]),
            ],
            Vec::new(),
        );
        let err = p.validate().unwrap_err();
        let found: Vec<(&str, &str)> = err
            .0
            .iter()
            .map(|v| (v.field.as_str(), v.description.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "activities[0].depends_on",
                    "forms a dependency cycle: a -> c -> b -> a (each waits for the next)"
                ),
                (
                    "activities[3].depends_on",
                    "forms a dependency cycle: d -> d (each waits for the next)"
                ),
            ]
        );
        assert!(project(&p, d(1)).is_err(), "a cyclic plan is not projected");
    }

    #[test]
    fn a_kia_plan_divides_the_roles_other_plans_need_not() {
        let same = Party::new(r("p1"), Some(r("kia")), Capacity::SocialWorker);
        let mut p = plan(Vec::new(), Vec::new());
        p.roles.plan_follow_up = Some(same.clone());
        p.roles.workplace_contact = Some(Party {
            capacity: Capacity::Physiotherapist,
            ..same
        });
        assert_eq!(fields(&p), ["roles.workplace_contact"]);
        p.kind = PlanKind::RetentionPlan;
        assert_eq!(p.validate(), Ok(()));
    }
}
