//! A plan drawn as a timeline: each activity's planned, expected (booked) and actual span, the
//! waiting before it, today, each goal's date and its projected date, and the causes of a slip.
//!
//! Pure: the same plan and width give the same text, so it is snapshot-tested.

use chrono::NaiveDate;
use kia_proto::v1 as pb;

/// Characters of the chart (also printed as its legend).
const PLANNED: char = '-';
const EXPECTED: char = '=';
const WAITING: char = '.';
const ACTUAL: char = '#';
const RUNNING: char = '>';
const TODAY: char = '|';
const GOAL: char = 'G';
const PROJECTED: char = 'P';
const ON_TIME: char = '*';

/// The narrowest chart drawn, whatever the width.
const MIN_CHART: usize = 24;

fn date(raw: &str) -> Option<NaiveDate> {
    raw.parse().ok()
}

fn enum_label(full_name: &str, number: i32) -> String {
    crate::client::proto::label(full_name, number)
}

/// What an activity is, in a few words: `health specialist`, `employment partial-return 20 h/wk`.
fn kind_of(a: &pb::PlanActivity) -> String {
    use pb::plan_activity::Kind;
    match &a.kind {
        Some(Kind::Health(h)) => {
            format!("health {}", enum_label("kia.v1.HealthActivityKind", h.kind))
        }
        Some(Kind::Employment(e)) => format!(
            "employment {} {} h/wk",
            enum_label("kia.v1.EmploymentActivityKind", e.kind),
            e.hours_per_week
        ),
        Some(Kind::Workplace(w)) => {
            format!(
                "workplace {}",
                enum_label("kia.v1.WorkplaceActivityKind", w.kind)
            )
        }
        None => "-".to_owned(),
    }
}

/// Maps dates to chart columns.
struct Scale {
    start: NaiveDate,
    days: i64,
    columns: usize,
}

impl Scale {
    fn col(&self, d: NaiveDate) -> usize {
        let offset = (d - self.start).num_days().clamp(0, self.days - 1);
        let last = i64::try_from(self.columns - 1).unwrap_or(0);
        usize::try_from(offset * last / (self.days - 1).max(1)).unwrap_or(0)
    }

    /// Fills `from..=to` with `c`.
    fn fill(&self, row: &mut [char], from: NaiveDate, to: NaiveDate, c: char) {
        if to < from {
            return;
        }
        for cell in &mut row[self.col(from)..=self.col(to)] {
            *cell = c;
        }
    }
}

/// The plan of `response` drawn in `width` columns (the chart never narrower than 24).
pub fn render(response: &pb::GetPlanResponse, width: usize) -> String {
    let plan = response.plan.clone().unwrap_or_default();
    let projection = response.projection.clone().unwrap_or_default();
    let as_of = date(&projection.as_of);
    let schedule = |id: &str| projection.activities.iter().find(|s| s.activity_id == id);
    let mut out = String::new();

    out.push_str(&format!(
        "{} ({}) of case {}, owned by {}, as of {}\n",
        enum_label("kia.v1.PlanKind", plan.kind),
        enum_label("kia.v1.PlanStage", plan.stage),
        plan.case_id,
        plan.owner,
        if projection.as_of.is_empty() {
            "-"
        } else {
            &projection.as_of
        },
    ));
    for goal in &plan.goals {
        let g = projection.goals.iter().find(|g| g.goal_id == goal.goal_id);
        let hours = if goal.kind == pb::GoalKind::PartialReturn as i32 {
            format!(" at {} h/week", goal.hours_per_week)
        } else {
            String::new()
        };
        let verdict = match g {
            Some(g) if g.projected.is_empty() => "no projection (every activity cancelled)".into(),
            Some(g) if g.slip_days > 0 => {
                format!("projected {}, {} days late", g.projected, g.slip_days)
            }
            Some(g) => format!("projected {}, on time", g.projected),
            None => "not projected".into(),
        };
        // The kind only when the goal's name does not already say it.
        let kind = enum_label("kia.v1.GoalKind", goal.kind);
        let kind = if kind == goal.goal_id {
            String::new()
        } else {
            format!(" ({kind})")
        };
        out.push_str(&format!(
            "goal {}{kind}{hours} by {}: {verdict}\n",
            goal.goal_id, goal.by,
        ));
        for cause in g.map(|g| g.causes.as_slice()).unwrap_or_default() {
            let who = if cause.activity_id.is_empty() {
                "plan".to_owned()
            } else {
                cause.activity_id.clone()
            };
            out.push_str(&format!(
                "  ! {who}: {} {:+} days: {}\n",
                enum_label("kia.v1.SlipCauseKind", cause.kind),
                cause.days,
                cause.explanation
            ));
        }
    }
    if plan.activities.is_empty() {
        out.push_str("no activities yet\n");
        return out;
    }

    // Every date drawn sets the span of the chart.
    let mut dates: Vec<NaiveDate> = as_of.into_iter().collect();
    for a in &plan.activities {
        for raw in [
            &a.planned_start,
            &a.planned_end,
            &a.booked_start,
            &a.actual_start,
            &a.actual_end,
        ] {
            dates.extend(date(raw));
        }
        if let Some(s) = schedule(&a.activity_id) {
            dates.extend(date(&s.expected_start));
            dates.extend(date(&s.expected_end));
        }
    }
    for g in &plan.goals {
        dates.extend(date(&g.by));
    }
    for g in &projection.goals {
        dates.extend(date(&g.projected));
    }
    let (Some(&start), Some(&end)) = (dates.iter().min(), dates.iter().max()) else {
        return out;
    };

    let id_width = plan
        .activities
        .iter()
        .map(|a| a.activity_id.chars().count())
        .max()
        .unwrap_or(0)
        .max("activity".len());
    let label_width = id_width + 1 + "expected".len() + 1;
    let note_width = 12;
    let columns = width
        .saturating_sub(label_width + 1 + note_width)
        .max(MIN_CHART);
    let scale = Scale {
        start,
        days: (end - start).num_days() + 1,
        columns,
    };
    let blank = || vec![' '; columns];
    let today_line = |row: &mut Vec<char>| {
        if let Some(t) = as_of {
            let c = scale.col(t);
            if row[c] == ' ' {
                row[c] = TODAY;
            }
        }
    };

    // Axis: first and last date, today's and each goal's column marked.
    let mut axis = blank();
    let start_label = start.to_string();
    let end_label = end.to_string();
    for (i, ch) in start_label.chars().enumerate() {
        axis[i] = ch;
    }
    for (i, ch) in end_label.chars().enumerate() {
        axis[columns - end_label.len() + i] = ch;
    }
    let mut marks = blank();
    for g in &plan.goals {
        if let Some(by) = date(&g.by) {
            marks[scale.col(by)] = GOAL;
        }
    }
    for g in &projection.goals {
        if let Some(p) = date(&g.projected) {
            let c = scale.col(p);
            marks[c] = if marks[c] == GOAL { ON_TIME } else { PROJECTED };
        }
    }
    today_line(&mut marks);
    let line = |label: &str, kind: &str, row: &[char], note: &str| {
        let chart: String = row.iter().collect();
        format!("{label:<id_width$} {kind:<8} {chart} {note}")
            .trim_end()
            .to_owned()
            + "\n"
    };
    out.push('\n');
    out.push_str(&line("", "", &axis, ""));
    out.push_str(&line("", "", &marks, "today/goal"));

    for a in &plan.activities {
        let sched = schedule(&a.activity_id);
        let status = enum_label("kia.v1.ActivityStatus", a.status);
        let causes: Vec<String> = projection
            .goals
            .iter()
            .flat_map(|g| g.causes.iter())
            .filter(|c| c.activity_id == a.activity_id && c.days != 0)
            .map(|c| format!("! {:+}d", c.days))
            .collect();

        let mut planned = blank();
        if let Some(ps) = date(&a.planned_start) {
            let pe = date(&a.planned_end).unwrap_or(ps);
            scale.fill(&mut planned, ps, pe, PLANNED);
        }
        today_line(&mut planned);
        out.push_str(&line(&a.activity_id, "planned", &planned, &status));

        if let Some(s) = sched {
            let (es, ee) = (date(&s.expected_start), date(&s.expected_end));
            if let Some(es) = es {
                let mut expected = blank();
                if let Some(ps) = date(&a.planned_start).filter(|ps| *ps < es) {
                    scale.fill(&mut expected, ps, es, WAITING);
                }
                scale.fill(&mut expected, es, ee.unwrap_or(es), EXPECTED);
                today_line(&mut expected);
                let mut note = Vec::new();
                if s.waiting_days > 0 {
                    note.push(format!("wait {}d", s.waiting_days));
                }
                if s.delay_days > 0 {
                    note.push(format!("late {}d", s.delay_days));
                }
                note.extend(causes.iter().cloned());
                let kind = if a.booked_start.is_empty() {
                    "expected"
                } else {
                    "booked"
                };
                out.push_str(&line("", kind, &expected, &note.join(" ")));
            }
        }

        if let Some(actual_start) = date(&a.actual_start) {
            let mut actual = blank();
            match date(&a.actual_end) {
                Some(ae) => scale.fill(&mut actual, actual_start, ae, ACTUAL),
                None => {
                    let until = as_of.unwrap_or(actual_start).max(actual_start);
                    scale.fill(&mut actual, actual_start, until, ACTUAL);
                    actual[scale.col(until)] = RUNNING;
                }
            }
            today_line(&mut actual);
            out.push_str(&line("", "actual", &actual, ""));
        }
    }
    out.push_str(&format!(
        "\n{PLANNED} planned  {WAITING} waiting  {EXPECTED} expected/booked  {ACTUAL} actual  \
         {RUNNING} running\n{TODAY} today  {GOAL} goal  {PROJECTED} projected  {ON_TIME} goal met \
         on the day  ! days of slip it causes\n\n"
    ));

    let mut table = crate::client::output::Table::new(&[
        "activity",
        "what",
        "status",
        "planned",
        "booked",
        "actual",
        "wait",
        "responsible",
    ]);
    for a in &plan.activities {
        let span = |from: &str, to: &str| match (from.is_empty(), to.is_empty()) {
            (true, _) => "-".to_owned(),
            (false, true) => format!("{from} ->"),
            (false, false) => format!("{from} .. {to}"),
        };
        let wait = schedule(&a.activity_id)
            .filter(|s| s.waiting_days > 0)
            .map_or("-".to_owned(), |s| format!("{}d", s.waiting_days));
        table.row(vec![
            a.activity_id.clone(),
            kind_of(a),
            enum_label("kia.v1.ActivityStatus", a.status),
            span(&a.planned_start, &a.planned_end),
            crate::client::output::or_dash(&a.booked_start),
            span(&a.actual_start, &a.actual_end),
            wait,
            crate::client::output::or_dash(&a.responsible),
        ]);
    }
    out.push_str(&table.render(|h| h.to_owned()));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pb::plan_activity::Kind;

    fn activity(
        id: &str,
        kind: Kind,
        planned: (&str, &str),
        status: pb::ActivityStatus,
    ) -> pb::PlanActivity {
        pb::PlanActivity {
            activity_id: id.into(),
            kind: Some(kind),
            responsible: "kia-team-vejle".into(),
            planned_start: planned.0.into(),
            planned_end: planned.1.into(),
            status: status as i32,
            ..Default::default()
        }
    }

    fn employment(kind: pb::EmploymentActivityKind, hours: f64) -> Kind {
        Kind::Employment(pb::EmploymentActivity {
            kind: kind as i32,
            hours_per_week: hours,
            ..Default::default()
        })
    }

    /// KIA-LENE (DOMAIN.md §8.1) with D0 = 2026-09-01, seen on D60, with the derived variant: a
    /// specialist appointment planned for D50 is booked for D70, and the step-up waits for it,
    /// so the full return slips past D94.
    fn kia_lene_with_a_waiting_time() -> pb::GetPlanResponse {
        use pb::ActivityStatus as S;
        let mut review = activity(
            "job-review",
            Kind::Workplace(pb::WorkplaceActivity {
                kind: pb::WorkplaceActivityKind::AdjustedTasks as i32,
                hours_per_week: 0.0,
                description: "job functions reviewed".into(),
            }),
            ("2026-10-16", ""),
            S::Completed,
        );
        review.actual_start = "2026-10-16".into();
        review.actual_end = "2026-10-16".into();
        let mut partial = activity(
            "partial-4h",
            employment(pb::EmploymentActivityKind::PartialReturn, 20.0),
            ("2026-10-20", "2026-11-15"),
            S::Started,
        );
        partial.actual_start = "2026-10-20".into();
        let mut specialist = activity(
            "specialist",
            Kind::Health(pb::HealthActivity {
                kind: pb::HealthActivityKind::Specialist as i32,
                ordered_by_gp: false,
            }),
            ("2026-10-21", "2026-10-21"),
            S::Booked,
        );
        specialist.booked_start = "2026-11-10".into();
        let mut step_up = activity(
            "partial-6h",
            employment(pb::EmploymentActivityKind::PartialReturn, 30.0),
            ("2026-11-15", "2026-12-04"),
            S::Planned,
        );
        step_up.depends_on = vec!["partial-4h".into(), "specialist".into()];
        let plan = pb::Plan {
            case_id: "lene".into(),
            kind: pb::PlanKind::KiaReturnPlan as i32,
            stage: pb::PlanStage::Final as i32,
            owner: "jc-630".into(),
            goals: vec![pb::Goal {
                goal_id: "full-return".into(),
                kind: pb::GoalKind::FullReturn as i32,
                hours_per_week: 37.0,
                by: "2026-12-04".into(),
                depends_on: vec![],
            }],
            activities: vec![review, partial, specialist, step_up],
            ..Default::default()
        };
        let schedule = |id: &str, start: &str, end: &str, waiting: i64| pb::ActivitySchedule {
            activity_id: id.into(),
            expected_start: start.into(),
            expected_end: end.into(),
            waiting_days: waiting,
            delay_days: 0,
        };
        pb::GetPlanResponse {
            plan: Some(plan),
            projection: Some(pb::PlanProjection {
                as_of: "2026-10-31".into(),
                goals: vec![pb::GoalProjection {
                    goal_id: "full-return".into(),
                    target: "2026-12-04".into(),
                    projected: "2026-12-04".into(),
                    slip_days: 0,
                    critical_path: vec!["partial-4h".into(), "partial-6h".into()],
                    causes: vec![],
                }],
                activities: vec![
                    schedule("job-review", "2026-10-16", "2026-10-16", 0),
                    schedule("partial-4h", "2026-10-20", "2026-11-15", 0),
                    schedule("specialist", "2026-11-10", "2026-11-10", 20),
                    schedule("partial-6h", "2026-11-15", "2026-12-04", 0),
                ],
            }),
        }
    }

    /// Compares with the checked-in snapshot; KIA_UPDATE_SNAPSHOTS=1 rewrites it (review the
    /// diff before committing).
    fn snapshot(got: &str, name: &str, expected: &str) {
        if std::env::var_os("KIA_UPDATE_SNAPSHOTS").is_some() {
            let path = format!("{}/src/render/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
            std::fs::write(path, got).unwrap();
            return;
        }
        assert_eq!(got, expected, "\n{got}");
    }

    #[test]
    fn kia_lene_on_time_matches_its_snapshot() {
        let got = render(&kia_lene_with_a_waiting_time(), 100);
        snapshot(
            &got,
            "timeline_kia_lene.txt",
            include_str!("testdata/timeline_kia_lene.txt"),
        );
    }

    #[test]
    fn a_waiting_time_that_slips_the_goal_is_marked_with_its_cause() {
        let mut response = kia_lene_with_a_waiting_time();
        let projection = response.projection.as_mut().unwrap();
        // The specialist is booked 20 days late; the step-up now starts after it.
        projection.goals[0].projected = "2026-12-12".into();
        projection.goals[0].slip_days = 8;
        projection.goals[0].critical_path = vec!["specialist".into(), "partial-6h".into()];
        projection.goals[0].causes = vec![pb::SlipCause {
            activity_id: "specialist".into(),
            kind: pb::SlipCauseKind::Waiting as i32,
            deviation_days: 20,
            days: 8,
            explanation: "booked 20 days after its planned start (waiting list)".into(),
        }];
        projection.activities[3].expected_start = "2026-11-23".into();
        projection.activities[3].expected_end = "2026-12-12".into();
        let got = render(&response, 100);
        assert!(got.contains("projected 2026-12-12, 8 days late"), "{got}");
        assert!(got.contains("! specialist: waiting +8 days"), "{got}");
        snapshot(
            &got,
            "timeline_kia_lene_slip.txt",
            include_str!("testdata/timeline_kia_lene_slip.txt"),
        );
    }

    #[test]
    fn a_narrow_terminal_still_gets_the_minimum_chart() {
        let got = render(&kia_lene_with_a_waiting_time(), 10);
        let chart_line = got.lines().find(|l| l.starts_with("job-review")).unwrap();
        assert!(chart_line.len() >= "job-review planned  ".len() + MIN_CHART);
    }
}
