//! The shared case plan end to end: DOMAIN.md §8.1 KIA-LENE and §8.2 AARHUS, the waiting-time
//! variant of KIA-LENE, validation, acceptance of employment activities, the employer view, the
//! alert helpers, and the projection properties.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kia_domain::case::{CaseId, EmploymentStatus, ExternalReference};
use kia_domain::facts::{CaseFacts, ContactMode, FollowUp, OfferType, Prognosis, WeeklyHours};
use kia_domain::plan::*;
use kia_domain::rules::{RuleId, RuleSet, RuleSetId, Verdict};
use kia_domain::weeks::day;
use proptest::prelude::*;

fn r(s: &str) -> ExternalReference {
    ExternalReference::parse(s).unwrap()
}

fn aid(s: &str) -> ActivityId {
    ActivityId::parse(s).unwrap()
}

fn gid(s: &str) -> GoalId {
    GoalId::parse(s).unwrap()
}

/// A plan and its history, built change by change as the service would.
struct Log {
    d0: NaiveDate,
    history: Vec<ChangeRecord>,
    plan: Option<Plan>,
}

impl Log {
    fn new(d0: NaiveDate) -> Self {
        Self {
            d0,
            history: Vec::new(),
            plan: None,
        }
    }

    /// 08:00 UTC on day `n` of the case, plus `minute` minutes to order same-day changes.
    fn at(&self, n: i64, minute: i64) -> DateTime<Utc> {
        day(self.d0, n).and_hms_opt(8, 0, 0).unwrap().and_utc() + Duration::minutes(minute)
    }

    fn d(&self, n: i64) -> NaiveDate {
        day(self.d0, n)
    }

    fn try_push(&mut self, n: i64, by: &Party, change: PlanChange) -> Result<(), PlanError> {
        let minute = self.history.len() as i64;
        let at = self.at(n, minute);
        let record = match &self.plan {
            Some(p) => p.record(at, by.clone(), change),
            None => ChangeRecord::first(at, by.clone(), change),
        };
        let next = apply(self.plan.as_ref(), &record)?;
        self.history.push(record);
        self.plan = Some(next);
        Ok(())
    }

    fn push(&mut self, n: i64, by: &Party, change: PlanChange) {
        self.try_push(n, by, change).unwrap();
    }

    fn plan(&self) -> &Plan {
        self.plan.as_ref().unwrap()
    }

    fn start(&mut self, n: i64, by: &Party, id: &str) {
        let on = self.d(n);
        self.push(n, by, PlanChange::ActivityStarted { id: aid(id), on });
    }

    fn complete(&mut self, n: i64, by: &Party, id: &str) {
        let on = self.d(n);
        self.push(n, by, PlanChange::ActivityCompleted { id: aid(id), on });
    }
}

// ---------------------------------------------------------------------------------------------
// KIA-LENE (DOMAIN.md §8.1, [003 ch5 case 1] 003_532c043554107ee2.txt)
// ---------------------------------------------------------------------------------------------

fn lene_d0() -> NaiveDate {
    NaiveDate::from_ymd_opt(2008, 9, 1).unwrap()
}

fn coordinator() -> Party {
    Party::new(r("kia-sw-1"), Some(r("kia-vejle")), Capacity::SocialWorker)
}

fn physio() -> Party {
    Party::new(
        r("kia-pt-1"),
        Some(r("kia-vejle")),
        Capacity::Physiotherapist,
    )
}

fn lene_citizen() -> Party {
    Party::new(r("citizen-1"), None, Capacity::Citizen)
}

fn employment(kind: EmploymentKind, hours: u32) -> ActivityKind {
    ActivityKind::Employment(EmploymentActivity::new(kind, WeeklyHours::hours(hours)))
}

/// The KIA-LENE plan up to `until` (a sick day): referral and examination at D42, preliminary
/// plan, return plan by D45 with 4 h/day partial return from D49, a lifting-technique course,
/// the review with GP and chiropractor, the step-up at ≈D75 and full time at ≈D94.
fn lene(until: i64) -> Log {
    let mut log = Log::new(lene_d0());
    let (c, pt) = (coordinator(), physio());
    log.push(
        42,
        &c,
        PlanChange::Created {
            case: CaseId::new(1_220_000_000_000, 42),
            kind: PlanKind::KiaReturnPlan,
            stage: PlanStage::Preliminary,
            owner: r("jobcenter-630"),
        },
    );
    log.push(
        42,
        &c,
        PlanChange::RoleAssigned {
            role: PlanRole::PlanFollowUp,
            party: c.clone(),
        },
    );
    log.push(
        42,
        &c,
        PlanChange::RoleAssigned {
            role: PlanRole::Coordinator,
            party: c.clone(),
        },
    );
    log.push(
        42,
        &c,
        PlanChange::ContributorAdded {
            party: lene_citizen(),
        },
    );
    let full = Goal {
        id: gid("full-time"),
        kind: GoalKind::FullReturn,
        hours_per_week: FULL_TIME,
        by: log.d(94),
        depends_on: Vec::new(),
    };
    log.push(42, &c, PlanChange::GoalSet { goal: full });
    if until < 45 {
        return log;
    }
    log.push(
        45,
        &c,
        PlanChange::RoleAssigned {
            role: PlanRole::WorkplaceContact,
            party: pt.clone(),
        },
    );
    let mut review = WorkplaceActivity::new(WorkplaceKind::AdjustedTasks);
    review.description =
        Some("job functions reviewed on site; no lifting of children at first".into());
    let review = Activity::new(
        aid("workplace-review"),
        ActivityKind::Workplace(review),
        r("nursery-12"),
    )
    .planned(log.d(45), Some(log.d(45)));
    log.push(45, &pt, PlanChange::ActivityAdded { activity: review });
    log.start(45, &pt, "workplace-review");
    log.complete(45, &pt, "workplace-review");
    log.push(
        45,
        &c,
        PlanChange::Finalised {
            kind: PlanKind::KiaReturnPlan,
        },
    );
    let partial = Goal {
        id: gid("four-hours-a-day"),
        kind: GoalKind::PartialReturn,
        hours_per_week: WeeklyHours::hours(20),
        by: log.d(49),
        depends_on: vec![aid("workplace-review")],
    };
    log.push(45, &c, PlanChange::GoalSet { goal: partial });
    if until < 46 {
        return log;
    }
    let first = Activity::new(
        aid("partial-return-4h"),
        employment(EmploymentKind::PartialReturn, 20),
        r("jobcenter-630"),
    )
    .planned(log.d(49), Some(log.d(75)))
    .after([aid("workplace-review")]);
    log.push(46, &c, PlanChange::ActivityAdded { activity: first });
    let mut course = EmploymentActivity::new(
        EmploymentKind::Named(NamedOffer::LiftingTechnique),
        WeeklyHours::hours(3),
    );
    course.organiser = Organiser::OtherActor;
    course.combination_reason =
        Some("lifting technique and pain management support the step-up".into());
    course.fewer_hours_reason = Some("combined with 20 h/week at work".into());
    let course = Activity::new(
        aid("lifting-course"),
        ActivityKind::Employment(course),
        r("kia-vejle"),
    )
    .planned(log.d(49), Some(log.d(63)));
    log.push(46, &c, PlanChange::ActivityAdded { activity: course });
    let review = Activity::new(
        aid("gp-chiro-review"),
        ActivityKind::Health(HealthKind::Treatment),
        r("gp-clinic-9"),
    )
    .planned(log.d(55), Some(log.d(55)));
    log.push(46, &c, PlanChange::ActivityAdded { activity: review });
    let step_up = Activity::new(
        aid("step-up"),
        employment(EmploymentKind::PartialReturn, 30),
        r("jobcenter-630"),
    )
    .planned(log.d(75), Some(log.d(94)))
    .after([aid("partial-return-4h")]);
    log.push(46, &c, PlanChange::ActivityAdded { activity: step_up });
    for (n, change) in [
        (49, "start partial-return-4h"),
        (49, "start lifting-course"),
        (55, "start gp-chiro-review"),
        (55, "complete gp-chiro-review"),
        (63, "complete lifting-course"),
        (75, "complete partial-return-4h"),
        (75, "start step-up"),
        (94, "complete step-up"),
    ] {
        if n > until {
            break;
        }
        let (verb, id) = change.split_once(' ').unwrap();
        match verb {
            "start" => log.start(n, &c, id),
            _ => log.complete(n, &c, id),
        }
    }
    log
}

#[test]
fn kia_lene_preliminary_plan_then_return_plan_with_kia_roles() {
    let log = lene(120);
    let plan = log.plan();
    assert_eq!(plan.kind, PlanKind::KiaReturnPlan);
    assert_eq!(plan.stage, PlanStage::Final);

    // A preliminary plan exists before the return plan.
    let on_day = |n: i64| {
        plan_as_of(&log.history, log.at(n, 23 * 60))
            .unwrap()
            .map(|p| p.stage)
    };
    assert_eq!(on_day(41), None);
    assert_eq!(on_day(42), Some(PlanStage::Preliminary));
    assert_eq!(on_day(44), Some(PlanStage::Preliminary));
    assert_eq!(on_day(45), Some(PlanStage::Final));
    let created = log.history.first().unwrap();
    let finalised = log
        .history
        .iter()
        .find(|r| matches!(r.change, PlanChange::Finalised { .. }))
        .unwrap();
    assert!(matches!(
        created.change,
        PlanChange::Created {
            stage: PlanStage::Preliminary,
            ..
        }
    ));
    assert!(created.at < finalised.at);

    // The workplace contact came first, then the partial return it enabled.
    let review = plan.activity(&aid("workplace-review")).unwrap();
    let first = plan.activity(&aid("partial-return-4h")).unwrap();
    assert!(review.actual_end.unwrap() <= first.actual_start.unwrap());
    assert_eq!(
        first.employment().unwrap().hours_per_week,
        WeeklyHours::hours(20),
        "4 h/day"
    );

    // Roles: plan follow-up person distinct from the workplace contact.
    assert!(plan.kia_division_of_labour());
    assert_eq!(plan.roles.plan_follow_up, Some(coordinator()));
    assert_eq!(plan.roles.workplace_contact, Some(physio()));

    // Versions: one per record, in order; the state at every version is rebuilt from history.
    for (i, rec) in log.history.iter().enumerate() {
        assert_eq!(rec.version, i as i64 + 1);
        let then = plan_as_of(&log.history, rec.at).unwrap().unwrap();
        assert_eq!(then.version, rec.version);
    }
    assert_eq!(plan.version, log.history.len() as i64);
    assert_eq!(plan.etag(), format!("\"{}\"", log.history.len()));
    assert_eq!(replay(&log.history).unwrap().as_ref(), Some(plan));

    // As of D60 the plan runs to time: back full time at D94, as planned.
    let p = project(
        plan_as_of(&log.history, log.at(60, 0))
            .unwrap()
            .as_ref()
            .unwrap(),
        log.d(60),
    )
    .unwrap();
    let full = p.goal(&gid("full-time")).unwrap();
    assert_eq!(full.projected, Some(log.d(94)));
    assert_eq!(full.slip_days, 0);
    assert!(full.causes.is_empty());
    assert_eq!(
        full.critical_path,
        vec![aid("partial-return-4h"), aid("step-up")],
        "the step-up follows the first phase without slack; the first phase had 4 days"
    );
    let partial = p.goal(&gid("four-hours-a-day")).unwrap();
    assert_eq!((partial.projected, partial.slip_days), (Some(log.d(45)), 0));
    assert_eq!(p.slipping().count(), 0, "no AL-09");

    // And after the fact the completed plan projects its actual end.
    let done = project(plan, log.d(120)).unwrap();
    assert_eq!(
        done.goal(&gid("full-time")).unwrap().projected,
        Some(log.d(94))
    );
}

#[test]
fn kia_lene_one_person_cannot_hold_both_kia_roles() {
    let mut log = lene(44);
    let err = log
        .try_push(
            45,
            &coordinator(),
            PlanChange::RoleAssigned {
                role: PlanRole::WorkplaceContact,
                party: coordinator(),
            },
        )
        .unwrap_err();
    let PlanError::Invalid(inv) = err else {
        panic!("expected a validation error")
    };
    assert_eq!(inv.0[0].field, "roles.workplace_contact");
    assert!(
        !inv.to_string().contains("kia-sw-1"),
        "no person reference echoed"
    );
    assert!(!log.plan().kia_division_of_labour());
}

#[test]
fn kia_lene_partial_return_needs_a_full_return_date_al18() {
    let mut log = lene(60);
    assert!(partial_returns_without_full_return(log.plan()).is_empty());
    log.push(
        60,
        &coordinator(),
        PlanChange::GoalRemoved {
            id: gid("full-time"),
        },
    );
    assert_eq!(
        partial_returns_without_full_return(log.plan()),
        vec![aid("partial-return-4h"), aid("step-up")]
    );
}

// ---------------------------------------------------------------------------------------------
// Waiting-time variant of KIA-LENE (DOMAIN.md §8.1 "Variant"; [002] KIA division of labour)
// ---------------------------------------------------------------------------------------------

/// Lene as of D60, plus a specialist consultation referred at D50 and planned for D75 before the
/// step-up — booked for D96, 21 days after the planned start.
fn lene_waiting() -> Log {
    let mut log = lene(60);
    let c = coordinator();
    let specialist = Activity::new(
        aid("specialist"),
        ActivityKind::Health(HealthKind::Specialist),
        r("spec-clinic-3"),
    )
    .referred(log.d(50))
    .planned(log.d(75), Some(log.d(75)));
    log.push(
        56,
        &c,
        PlanChange::ActivityAdded {
            activity: specialist,
        },
    );
    log.push(
        56,
        &c,
        PlanChange::DependenciesSet {
            id: aid("step-up"),
            depends_on: vec![aid("partial-return-4h"), aid("specialist")],
        },
    );
    let on = log.d(96);
    log.push(
        58,
        &c,
        PlanChange::ActivityBooked {
            id: aid("specialist"),
            on,
        },
    );
    log
}

#[test]
fn a_specialist_booked_late_pushes_the_return_past_the_goal_al09() {
    let log = lene_waiting();
    let plan = log.plan();
    assert_eq!(
        plan.activity(&aid("specialist")).unwrap().waiting_days(),
        Some(21)
    );
    let p = project(plan, log.d(60)).unwrap();
    let full = p.goal(&gid("full-time")).unwrap();
    assert_eq!(full.target, log.d(94));
    assert_eq!(full.projected, Some(log.d(115)), "D96 + the 19-day step-up");
    assert_eq!(full.slip_days, 21);
    assert_eq!(
        full.causes,
        vec![SlipContribution {
            activity: Some(aid("specialist")),
            cause: SlipCause::Waiting { waiting_days: 21 },
            days: 21,
        }]
    );
    assert_eq!(
        full.explain(plan),
        vec![
            "specialist `specialist` booked 21 days after its planned start pushes the return \
             21 days past the goal"
                .to_owned()
        ]
    );
    assert_eq!(full.critical_path, vec![aid("specialist"), aid("step-up")]);
    let step_up = p.activity(&aid("step-up")).unwrap();
    assert_eq!(step_up.pushed_by, Some(aid("specialist")));
    assert_eq!(step_up.delay_days, 21);

    // AL-09: the slipping goal, to be raised to the plan follow-up person.
    let slipping: Vec<&GoalId> = p.slipping().map(|g| &g.goal).collect();
    assert_eq!(slipping, vec![&gid("full-time")]);
    assert_eq!(plan.roles.plan_follow_up, Some(coordinator()));

    // The state before the booking did not slip: the history shows when the slip appeared.
    let before = plan_as_of(&log.history, log.at(57, 0)).unwrap().unwrap();
    assert_eq!(project(&before, log.d(57)).unwrap().slipping().count(), 0);
}

#[test]
fn a_second_wait_on_the_chain_gets_only_its_own_days() {
    let mut log = lene_waiting();
    let c = coordinator();
    // An X-ray the specialist needs first, referred D50 and planned D70, booked D80: 10 days.
    let xray = Activity::new(
        aid("x-ray"),
        ActivityKind::Health(HealthKind::DiagnosticTest {
            ordered_by_gp: false,
        }),
        r("hospital-vejle"),
    )
    .referred(log.d(50))
    .planned(log.d(70), Some(log.d(70)));
    log.push(59, &c, PlanChange::ActivityAdded { activity: xray });
    log.push(
        59,
        &c,
        PlanChange::DependenciesSet {
            id: aid("specialist"),
            depends_on: vec![aid("x-ray")],
        },
    );
    let on = log.d(80);
    log.push(
        59,
        &c,
        PlanChange::ActivityBooked {
            id: aid("x-ray"),
            on,
        },
    );
    let p = project(log.plan(), log.d(60)).unwrap();
    let full = p.goal(&gid("full-time")).unwrap();
    // The X-ray (D80) pushes the specialist from D75 to D80: 5 of its 10 days reach the return;
    // the specialist's own booking (D96) adds the other 16.
    assert_eq!(full.slip_days, 21);
    let causes: Vec<(ActivityId, SlipCause, i64)> = full
        .causes
        .iter()
        .map(|c| (c.activity.clone().unwrap(), c.cause, c.days))
        .collect();
    assert_eq!(
        causes,
        vec![
            (aid("x-ray"), SlipCause::Waiting { waiting_days: 10 }, 5),
            (
                aid("specialist"),
                SlipCause::Waiting { waiting_days: 21 },
                16
            ),
        ]
    );
    assert_eq!(
        full.explain(log.plan())[0],
        "diagnostic test `x-ray` booked 10 days after its planned start pushes the return 5 \
         days past the goal"
    );
    assert_eq!(full.critical_path, vec![aid("specialist"), aid("step-up")]);

    // Booked later still (D100): the X-ray now sets the chain and takes the slip first.
    let on = log.d(100);
    log.push(
        60,
        &c,
        PlanChange::ActivityBooked {
            id: aid("x-ray"),
            on,
        },
    );
    let p = project(log.plan(), log.d(60)).unwrap();
    let full = p.goal(&gid("full-time")).unwrap();
    assert_eq!(full.projected, Some(log.d(119)));
    assert_eq!(full.slip_days, 25);
    let causes: Vec<(ActivityId, SlipCause, i64)> = full
        .causes
        .iter()
        .map(|c| (c.activity.clone().unwrap(), c.cause, c.days))
        .collect();
    assert_eq!(
        causes,
        vec![(aid("x-ray"), SlipCause::Waiting { waiting_days: 30 }, 25)],
        "the specialist's booking (D96) is now inside the X-ray's push: it adds nothing"
    );
    assert_eq!(
        full.critical_path,
        vec![aid("x-ray"), aid("specialist"), aid("step-up")]
    );
    assert_eq!(full.causes.iter().map(|c| c.days).sum::<i64>(), 25);
}

// ---------------------------------------------------------------------------------------------
// AARHUS (DOMAIN.md §8.2, [004 §6.4] 004_29a2444e953dfa53.txt)
// ---------------------------------------------------------------------------------------------

#[test]
fn aarhus_plan_is_written_jointly_by_citizen_physiotherapist_and_caseworker() {
    let d0 = NaiveDate::from_ymd_opt(2011, 2, 7).unwrap();
    let mut log = Log::new(d0);
    let caseworker = Party::new(
        r("cw-aarhus-4"),
        Some(r("jobcenter-751")),
        Capacity::Caseworker,
    );
    let physio = Party::new(
        r("pt-aarhus-2"),
        Some(r("genoptraening-751")),
        Capacity::Physiotherapist,
    );
    let citizen = Party::new(r("citizen-2"), None, Capacity::Citizen);
    log.push(
        55,
        &caseworker,
        PlanChange::Created {
            case: CaseId::new(1_297_000_000_000, 7),
            kind: PlanKind::ActionPlan,
            stage: PlanStage::Preliminary,
            owner: r("jobcenter-751"),
        },
    );
    let rehab = Activity::new(
        aid("rehab"),
        ActivityKind::Health(HealthKind::Rehabilitation),
        r("genoptraening-751"),
    )
    .referred(log.d(14))
    .planned(log.d(20), Some(log.d(80)));
    log.push(
        55,
        &caseworker,
        PlanChange::ActivityAdded { activity: rehab },
    );
    let on = log.d(20);
    log.push(
        55,
        &physio,
        PlanChange::ActivityStarted {
            id: aid("rehab"),
            on,
        },
    );
    log.push(
        55,
        &caseworker,
        PlanChange::ContributorAdded {
            party: caseworker.clone(),
        },
    );
    log.push(
        56,
        &caseworker,
        PlanChange::ContributorAdded {
            party: citizen.clone(),
        },
    );
    assert!(!log.plan().jointly_written_by(&[
        Capacity::Citizen,
        Capacity::Physiotherapist,
        Capacity::Caseworker
    ]));
    log.push(
        80,
        &physio,
        PlanChange::ContributorAdded {
            party: physio.clone(),
        },
    );
    log.push(
        80,
        &physio,
        PlanChange::ContributorAdded {
            party: physio.clone(),
        },
    );
    let partial = Activity::new(
        aid("partial-return"),
        employment(EmploymentKind::PartialReturn, 20),
        r("jobcenter-751"),
    )
    .planned(log.d(84), Some(log.d(120)))
    .after([aid("rehab")]);
    log.push(
        80,
        &caseworker,
        PlanChange::ActivityAdded { activity: partial },
    );
    log.push(
        80,
        &caseworker,
        PlanChange::GoalSet {
            goal: Goal {
                id: gid("full"),
                kind: GoalKind::FullReturn,
                hours_per_week: FULL_TIME,
                by: log.d(120),
                depends_on: Vec::new(),
            },
        },
    );
    log.push(
        80,
        &caseworker,
        PlanChange::Finalised {
            kind: PlanKind::FollowUpPlan,
        },
    );
    let plan = log.plan();
    assert_eq!(plan.kind, PlanKind::FollowUpPlan);
    assert!(plan.jointly_written_by(&[
        Capacity::Citizen,
        Capacity::Physiotherapist,
        Capacity::Caseworker
    ]));
    assert_eq!(plan.contributors.len(), 3, "a contributor is recorded once");
    assert_eq!(
        plan.contributors[1].organisation, None,
        "the citizen has none"
    );
    let by: Vec<Capacity> = log.history.iter().map(|r| r.by.capacity).collect();
    assert!(by.contains(&Capacity::Physiotherapist) && by.contains(&Capacity::Caseworker));
    // The action plan preceded the follow-up plan.
    let first = plan_as_of(&log.history, log.at(60, 0)).unwrap().unwrap();
    assert_eq!(
        (first.kind, first.stage),
        (PlanKind::ActionPlan, PlanStage::Preliminary)
    );
    // Rehab runs to D80, partial return from D84 to D120: on time.
    let p = project(plan, log.d(80)).unwrap();
    assert_eq!(p.goal(&gid("full")).unwrap().slip_days, 0);
    // The employer sees the partial return, not the rehabilitation.
    let view = employer_view(plan);
    assert_eq!(view.activities.len(), 1);
    assert_eq!(view.activities[0].kind, EmployerActivityKind::PartialReturn);
    assert!(view.activities[0].depends_on.is_empty());
    assert!(!format!("{view:?}").contains("rehab"));
    assert!(!format!("{view:?}").contains("genoptraening"));
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

fn invalid(err: PlanError) -> Vec<(String, String)> {
    match err {
        PlanError::Invalid(inv) => inv
            .0
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn bad_dates_and_hours_are_refused_with_field_paths() {
    let mut log = lene(46);
    let c = coordinator();
    // activities: 0 workplace-review, 1 partial-return-4h, 2 lifting-course, 3 gp-chiro-review,
    // 4 step-up; the next is 5.
    let backwards = Activity::new(
        aid("mentor"),
        employment(EmploymentKind::Mentor, 2),
        r("jobcenter-630"),
    )
    .planned(log.d(80), Some(log.d(70)));
    let err = log
        .try_push(
            47,
            &c,
            PlanChange::ActivityAdded {
                activity: backwards,
            },
        )
        .unwrap_err();
    assert_eq!(
        invalid(err),
        vec![(
            "activities[5].planned_end".to_owned(),
            "must not be before planned_start".to_owned()
        )]
    );
    let too_many = Activity::new(
        aid("placement"),
        employment(EmploymentKind::WorkPlacement, 50),
        r("jobcenter-630"),
    )
    .referred(log.d(60))
    .booked(log.d(55));
    let fields: Vec<String> = invalid(
        log.try_push(47, &c, PlanChange::ActivityAdded { activity: too_many })
            .unwrap_err(),
    )
    .into_iter()
    .map(|(f, _)| f)
    .collect();
    assert_eq!(
        fields,
        [
            "activities[5].booked_start",
            "activities[5].employment.hours_per_week"
        ]
    );
    let on = log.d(40);
    let err = log
        .try_push(
            47,
            &c,
            PlanChange::ActivityStarted {
                id: aid("step-up"),
                on,
            },
        )
        .unwrap_err();
    assert!(invalid(err).contains(&(
        "activities[4].actual_start".to_owned(),
        "is recorded before dependency partial-return-4h is completed".to_owned()
    )));
    assert_eq!(
        log.plan().version,
        log.history.len() as i64,
        "nothing was applied"
    );
}

#[test]
fn dependency_cycles_and_unknown_dependencies_are_refused() {
    let mut log = lene(46);
    let c = coordinator();
    let err = log
        .try_push(
            47,
            &c,
            PlanChange::DependenciesSet {
                id: aid("partial-return-4h"),
                depends_on: vec![aid("workplace-review"), aid("step-up")],
            },
        )
        .unwrap_err();
    assert_eq!(
        invalid(err),
        vec![(
            "activities[1].depends_on".to_owned(),
            "forms a dependency cycle: partial-return-4h -> step-up -> partial-return-4h \
             (each waits for the next)"
                .to_owned()
        )]
    );
    let err = log
        .try_push(
            47,
            &c,
            PlanChange::DependenciesSet {
                id: aid("lifting-course"),
                depends_on: vec![aid("lifting-course")],
            },
        )
        .unwrap_err();
    assert_eq!(invalid(err)[0].0, "activities[2].depends_on");
    let err = log
        .try_push(
            47,
            &c,
            PlanChange::DependenciesSet {
                id: aid("lifting-course"),
                depends_on: vec![aid("no-such-thing")],
            },
        )
        .unwrap_err();
    assert_eq!(
        invalid(err),
        vec![(
            "activities[2].depends_on[0]".to_owned(),
            "names no activity of this plan".to_owned()
        )]
    );
}

// ---------------------------------------------------------------------------------------------
// Acceptance of employment activities by the case rules
// ---------------------------------------------------------------------------------------------

fn facts_2011(partial_possible: bool) -> (NaiveDate, CaseFacts) {
    let d0 = NaiveDate::from_ymd_opt(2011, 2, 7).unwrap();
    let mut f = CaseFacts::new(d0, EmploymentStatus::Employed);
    f.follow_ups.push(FollowUp {
        held_on: day(d0, 50),
        mode: ContactMode::InPerson,
        outcome: String::new(),
        next_agreed_on: None,
    });
    f.prognoses.push(Prognosis {
        recorded_on: day(d0, 50),
        clear_diagnosis: false,
        expected_full_return_on: Some(day(d0, 200)),
        surgery_on: None,
        partial_return_possible: Some(partial_possible),
    });
    (d0, f)
}

fn empty_plan(d0: NaiveDate) -> Log {
    let mut log = Log::new(d0);
    log.push(
        50,
        &coordinator(),
        PlanChange::Created {
            case: CaseId::new(1_297_000_000_000, 9),
            kind: PlanKind::FollowUpPlan,
            stage: PlanStage::Final,
            owner: r("jobcenter-630"),
        },
    );
    log
}

fn refused(v: Verdict) -> (RuleId, String) {
    match v {
        Verdict::Refused { rule_id, reason } => (rule_id, reason),
        Verdict::Allowed => panic!("expected a refusal"),
    }
}

#[test]
fn an_active_offer_while_partial_return_is_possible_is_refused_i6() {
    let a2010 = RuleSet::get(RuleSetId::A2010);
    let (d0, facts) = facts_2011(true);
    let log = empty_plan(d0);
    let placement = Activity::new(
        aid("placement"),
        employment(EmploymentKind::WorkPlacement, 15),
        r("jobcenter-630"),
    )
    .planned(day(d0, 70), Some(day(d0, 100)));
    let change = PlanChange::ActivityAdded {
        activity: placement.clone(),
    };
    let (rule, reason) = refused(check_change(
        a2010,
        &facts,
        log.plan(),
        &change,
        day(d0, 60),
    ));
    assert_eq!(rule, RuleId::I6);
    assert!(reason.contains("gradual return is possible"), "{reason}");

    // Not subject to the offer rules: partial return itself, health and workplace activities,
    // employer-organised (voluntary) offers.
    let partial = Activity::new(
        aid("partial"),
        employment(EmploymentKind::PartialReturn, 20),
        r("jobcenter-630"),
    )
    .planned(day(d0, 70), None);
    assert!(check_activity(a2010, &facts, log.plan(), &partial, day(d0, 60)).is_allowed());
    let mut syfo = EmploymentActivity::new(
        EmploymentKind::Named(NamedOffer::Syfo),
        WeeklyHours::hours(2),
    );
    syfo.organiser = Organiser::Employer;
    let syfo = Activity::new(aid("syfo"), ActivityKind::Employment(syfo), r("kk-syfo"))
        .planned(day(d0, 70), None);
    assert!(offer_proposal(&syfo, day(d0, 70)).is_none());
    assert!(check_activity(a2010, &facts, log.plan(), &syfo, day(d0, 60)).is_allowed());
    let surgery = Activity::new(
        aid("surgery"),
        ActivityKind::Health(HealthKind::Surgery),
        r("hospital"),
    )
    .planned(day(d0, 70), None);
    assert!(check_activity(a2010, &facts, log.plan(), &surgery, day(d0, 60)).is_allowed());

    // With the reason that the combination speeds return, I6 lets it through.
    let mut combined = placement;
    if let ActivityKind::Employment(e) = &mut combined.kind {
        e.combination_reason = Some("placement at reduced hours speeds the step-up".into());
    }
    let proposal = offer_proposal(&combined, day(d0, 70)).unwrap();
    assert_eq!(proposal.kind, OfferType::WorkPlacement);
    assert_eq!(proposal.starts_on, day(d0, 70));
    assert!(check_activity(a2010, &facts, log.plan(), &combined, day(d0, 60)).is_allowed());
}

#[test]
fn the_plans_own_partial_return_counts_for_i6() {
    let a2010 = RuleSet::get(RuleSetId::A2010);
    let (d0, facts) = facts_2011(false);
    let mut log = empty_plan(d0);
    let c = coordinator();
    let partial = Activity::new(
        aid("partial"),
        employment(EmploymentKind::PartialReturn, 20),
        r("jobcenter-630"),
    )
    .planned(day(d0, 52), None);
    log.push(51, &c, PlanChange::ActivityAdded { activity: partial });
    log.start(52, &c, "partial");
    let course = Activity::new(
        aid("course"),
        employment(EmploymentKind::GuidanceAndUpskilling, 4),
        r("provider-1"),
    )
    .planned(day(d0, 60), Some(day(d0, 74)));
    let (rule, reason) = refused(check_activity(
        a2010,
        &facts,
        log.plan(),
        &course,
        day(d0, 55),
    ));
    assert_eq!(rule, RuleId::I6);
    assert!(reason.contains("20 h/week"), "{reason}");
}

#[test]
fn an_offer_under_ten_hours_without_a_reason_is_refused_p21() {
    let p2008 = RuleSet::get(RuleSetId::P2008);
    let (_, mut facts) = facts_2011(false);
    facts.first_sick_day = lene_d0();
    for f in &mut facts.follow_ups {
        f.held_on = day(lene_d0(), 50);
    }
    for p in &mut facts.prognoses {
        p.recorded_on = day(lene_d0(), 50);
    }
    let log = empty_plan(lene_d0());
    let mut course = Activity::new(
        aid("course"),
        employment(EmploymentKind::GuidanceAndUpskilling, 6),
        r("provider-1"),
    )
    .planned(day(lene_d0(), 60), Some(day(lene_d0(), 74)));
    let change = PlanChange::ActivityAdded {
        activity: course.clone(),
    };
    let (rule, _) = refused(check_change(
        p2008,
        &facts,
        log.plan(),
        &change,
        day(lene_d0(), 55),
    ));
    assert_eq!(rule, RuleId::P21);
    if let ActivityKind::Employment(e) = &mut course.kind {
        e.fewer_hours_reason = Some("manages six hours a week".into());
    }
    assert!(check_activity(p2008, &facts, log.plan(), &course, day(lene_d0(), 55)).is_allowed());
    assert!(
        check_change(
            p2008,
            &facts,
            log.plan(),
            &PlanChange::ActivityCancelled { id: aid("course") },
            day(lene_d0(), 55)
        )
        .is_allowed(),
        "changes that move no start are not checked"
    );
}

// ---------------------------------------------------------------------------------------------
// Employer view (DOMAIN.md §4.4)
// ---------------------------------------------------------------------------------------------

#[test]
fn the_employer_view_never_carries_health_details() {
    let mut log = lene_waiting();
    let c = coordinator();
    let xray = Activity::new(
        aid("x-ray"),
        ActivityKind::Health(HealthKind::DiagnosticTest {
            ordered_by_gp: true,
        }),
        r("hospital-vejle"),
    )
    .referred(log.d(50))
    .planned(log.d(70), None);
    log.push(59, &c, PlanChange::ActivityAdded { activity: xray });
    let mut team = EmploymentActivity::new(
        EmploymentKind::Named(NamedOffer::BreastCancerTeam),
        WeeklyHours::hours(4),
    );
    team.combination_reason = Some("oncologist advises gentle training".into());
    let team = Activity::new(
        aid("course-2"),
        ActivityKind::Employment(team),
        r("provider-1"),
    )
    .planned(log.d(80), Some(log.d(90)))
    .after([aid("x-ray"), aid("partial-return-4h")]);
    log.push(59, &c, PlanChange::ActivityAdded { activity: team });
    let plan = log.plan();
    let view = employer_view(plan);
    let text = format!("{view:?}");
    for health_detail in [
        // health activities, their kinds and organisations
        "specialist",
        "Specialist",
        "x-ray",
        "DiagnosticTest",
        "gp-chiro-review",
        "Treatment",
        "Health",
        "spec-clinic",
        "gp-clinic",
        "hospital",
        // named offers that reveal an illness, and case-internal reasons
        "BreastCancer",
        "oncologist",
        "pain management",
        "combined with",
        // the people who are not the workplace contact
        "kia-sw-1",
        "citizen-1",
    ] {
        assert!(
            !text.contains(health_detail),
            "{health_detail} leaked: {text}"
        );
    }
    let ids: Vec<&str> = view.activities.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "workplace-review",
            "partial-return-4h",
            "lifting-course",
            "step-up",
            "course-2"
        ]
    );
    let course = view.activities.last().unwrap();
    assert_eq!(
        course.kind,
        EmployerActivityKind::ActiveOffer {
            offer: OfferType::GuidanceAndUpskilling
        }
    );
    assert_eq!(course.depends_on, vec![aid("partial-return-4h")]);
    let step_up = &view.activities[3];
    assert_eq!(step_up.depends_on, vec![aid("partial-return-4h")]);
    assert_eq!(step_up.hours_per_week, Some(WeeklyHours::hours(30)));
    assert_eq!(
        view.activities[0].description.as_deref(),
        Some("job functions reviewed on site; no lifting of children at first")
    );
    assert_eq!(
        view.goals,
        vec![
            EmployerGoal {
                kind: GoalKind::FullReturn,
                hours_per_week: FULL_TIME,
                by: log.d(94)
            },
            EmployerGoal {
                kind: GoalKind::PartialReturn,
                hours_per_week: WeeklyHours::hours(20),
                by: log.d(49)
            },
        ]
    );
    assert_eq!(view.workplace_contact, Some(physio()));
    assert_eq!(view.version, plan.version);
}

// ---------------------------------------------------------------------------------------------
// AL-10 (T-25) and AL-11 helpers
// ---------------------------------------------------------------------------------------------

#[test]
fn hospital_waits_beyond_one_month_except_gp_ordered_diagnostics_al10() {
    let d0 = NaiveDate::from_ymd_opt(2008, 9, 1).unwrap();
    let mut log = empty_plan(d0);
    let c = coordinator();
    let health = |id: &str, kind| {
        Activity::new(aid(id), ActivityKind::Health(kind), r("region-syddanmark"))
            .referred(day(d0, 50))
    };
    for a in [
        health("hospital-exam", HealthKind::HospitalTreatment).booked(day(d0, 90)),
        health(
            "gp-xray",
            HealthKind::DiagnosticTest {
                ordered_by_gp: true,
            },
        )
        .booked(day(d0, 90)),
        health(
            "scan",
            HealthKind::DiagnosticTest {
                ordered_by_gp: false,
            },
        )
        .booked(day(d0, 70)),
        health("surgery", HealthKind::Surgery),
        health("specialist", HealthKind::Specialist).booked(day(d0, 120)),
    ] {
        log.push(50, &c, PlanChange::ActivityAdded { activity: a });
    }
    let params = PlanParams::default();
    let waits = hospital_waits_over_limit(log.plan(), &params, day(d0, 60));
    assert_eq!(
        waits,
        vec![HospitalWait {
            activity: aid("hospital-exam"),
            referred_on: day(d0, 50),
            limit: NaiveDate::from_ymd_opt(2008, 11, 21).unwrap(),
            booked_start: Some(day(d0, 90)),
            waited_days: 40,
        }]
    );
    // Unbooked surgery: listed once the month has passed without a date.
    let ids = |plan: &Plan, as_of| {
        hospital_waits_over_limit(plan, &params, as_of)
            .into_iter()
            .map(|w| w.activity)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(log.plan(), day(d0, 81)), vec![aid("hospital-exam")]);
    assert_eq!(
        ids(log.plan(), day(d0, 82)),
        vec![aid("hospital-exam"), aid("surgery")]
    );
    log.start(90, &c, "hospital-exam");
    assert_eq!(
        ids(log.plan(), day(d0, 90)),
        vec![aid("surgery")],
        "resolved once started"
    );
}

#[test]
fn waiting_with_nothing_in_progress_al11() {
    let d0 = lene_d0();
    let mut log = empty_plan(d0);
    let c = coordinator();
    let review = Activity::new(
        aid("review"),
        ActivityKind::Workplace(WorkplaceActivity::new(WorkplaceKind::AdjustedTasks)),
        r("nursery-12"),
    )
    .planned(day(d0, 50), Some(day(d0, 50)));
    let physio = Activity::new(
        aid("physio"),
        ActivityKind::Health(HealthKind::Physiotherapy),
        r("physio-clinic"),
    )
    .referred(day(d0, 50))
    .planned(day(d0, 55), Some(day(d0, 85)))
    .booked(day(d0, 75));
    log.push(50, &c, PlanChange::ActivityAdded { activity: review });
    log.push(50, &c, PlanChange::ActivityAdded { activity: physio });
    log.start(50, &c, "review");
    log.complete(50, &c, "review");
    let params = PlanParams::default();
    let p = project(log.plan(), day(d0, 52)).unwrap();
    assert_eq!(
        idle_wait(log.plan(), &p, &params),
        Some(IdleWait {
            idle_since: day(d0, 50),
            next_start: day(d0, 75),
            idle_days: 25,
            waiting_for: vec![aid("physio")],
        })
    );
    // Ringsted: keep the person going with a few hours a week while waiting.
    let course = Activity::new(
        aid("training-team"),
        employment(EmploymentKind::Named(NamedOffer::TrainingTeam), 3),
        r("jobcenter-630"),
    )
    .planned(day(d0, 53), Some(day(d0, 74)));
    log.push(52, &c, PlanChange::ActivityAdded { activity: course });
    log.start(53, &c, "training-team");
    let p = project(log.plan(), day(d0, 54)).unwrap();
    assert_eq!(idle_wait(log.plan(), &p, &params), None);
    // A short gap does not alert.
    let mut short = log.plan().clone();
    short.activities.retain(|a| a.id != aid("training-team"));
    short.activities[1].booked_start = Some(day(d0, 60));
    let p = project(&short, day(d0, 52)).unwrap();
    assert_eq!(idle_wait(&short, &p, &params), None, "10 days < 2 weeks");
}

// ---------------------------------------------------------------------------------------------
// Properties of the projection
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Spec {
    start: i64,
    duration: i64,
    booking: Option<i64>,
    deps: u8,
    state: u8,
    actual: (i64, i64),
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0i64..60,
        0i64..30,
        proptest::option::of(-10i64..40),
        any::<u8>(),
        0u8..10,
        (0i64..6, -5i64..10),
    )
        .prop_map(|(start, duration, booking, deps, state, actual)| Spec {
            start,
            duration,
            booking,
            deps,
            state,
            actual,
        })
}

fn random_plan(specs: &[Spec], goal_by: i64, goal_deps: u8) -> Plan {
    let d0 = NaiveDate::from_ymd_opt(2011, 1, 3).unwrap();
    let created = d0.and_hms_opt(8, 0, 0).unwrap().and_utc();
    let mut activities: Vec<Activity> = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let deps: Vec<usize> = (0..i.min(8)).filter(|j| s.deps & (1 << j) != 0).collect();
        let mut a = Activity::new(
            aid(&format!("a{i}")),
            ActivityKind::Health(HealthKind::Treatment),
            r("org"),
        )
        .planned(day(d0, s.start), Some(day(d0, s.start + s.duration)))
        .after(deps.iter().map(|j| aid(&format!("a{j}"))));
        if let Some(b) = s.booking {
            a = a.booked(day(d0, (s.start + b).max(0)));
        }
        let deps_done = deps
            .iter()
            .all(|&j| activities[j].is_completed() || activities[j].is_cancelled());
        let ready = deps
            .iter()
            .filter(|&&j| activities[j].is_completed())
            .filter_map(|&j| activities[j].actual_end)
            .max();
        match s.state {
            0 => a.status = ActivityStatus::Cancelled,
            1..=3 if deps_done => {
                let own = a.booked_start.or(a.planned_start).unwrap();
                let start = day(d0, s.actual.0).max(own).max(ready.unwrap_or(own));
                a.actual_start = Some(start);
                a.status = ActivityStatus::Started;
                if s.state > 1 {
                    a.actual_end = Some(day(start, (s.duration + s.actual.1).max(0)));
                    a.status = ActivityStatus::Completed;
                }
            }
            _ => {}
        }
        activities.push(a);
    }
    let goal_deps = (0..specs.len().min(8))
        .filter(|j| goal_deps & (1 << j) != 0)
        .map(|j| aid(&format!("a{j}")))
        .collect();
    Plan {
        case: CaseId::new(1, 1),
        kind: PlanKind::FollowUpPlan,
        stage: PlanStage::Final,
        owner: r("jobcenter-630"),
        roles: Roles::default(),
        contributors: Vec::new(),
        goals: vec![Goal {
            id: gid("full"),
            kind: GoalKind::FullReturn,
            hours_per_week: FULL_TIME,
            by: day(d0, goal_by),
            depends_on: goal_deps,
        }],
        activities,
        version: 1,
        created_at: created,
        updated_at: created,
        finalised_at: Some(created),
    }
}

proptest! {
    #[test]
    fn projection_is_never_earlier_than_a_dependency_and_attribution_sums_to_the_slip(
        specs in proptest::collection::vec(spec(), 1..9),
        goal_by in 0i64..150,
        goal_deps in any::<u8>(),
        as_of in 0i64..150,
    ) {
        let plan = random_plan(&specs, goal_by, goal_deps);
        prop_assert_eq!(plan.validate(), Ok(()));
        let d0 = NaiveDate::from_ymd_opt(2011, 1, 3).unwrap();
        let p = project(&plan, day(d0, as_of)).unwrap();
        for s in &p.activities {
            let a = plan.activity(&s.id).unwrap();
            prop_assert!(s.expected_end >= s.expected_start);
            for dep in &a.depends_on {
                if let Some(ds) = p.activity(dep) {
                    prop_assert!(
                        s.expected_start >= ds.expected_end,
                        "{} starts before dependency {} ends", s.id, dep
                    );
                }
            }
            if !a.is_started() {
                prop_assert!(s.expected_start >= day(d0, as_of), "no start in the past");
            }
        }
        let g = &p.goals[0];
        let goal = &plan.goals[0];
        let members: Vec<&ActivitySchedule> = p
            .activities
            .iter()
            .filter(|s| goal.depends_on.is_empty() || goal.depends_on.contains(&s.id))
            .collect();
        prop_assert_eq!(g.projected, members.iter().map(|s| s.expected_end).max());
        if let Some(projected) = g.projected {
            for m in &members {
                prop_assert!(projected >= m.expected_end);
                for dep in &plan.activity(&m.id).unwrap().depends_on {
                    if let Some(ds) = p.activity(dep) {
                        prop_assert!(projected >= ds.expected_end);
                    }
                }
            }
            prop_assert_eq!(
                g.slip_days,
                (projected - goal.by).num_days().max(0)
            );
        } else {
            prop_assert_eq!(g.slip_days, 0);
        }
        prop_assert_eq!(g.causes.iter().map(|c| c.days).sum::<i64>(), g.slip_days);
        prop_assert!(g.causes.iter().all(|c| c.days != 0));
        for c in &g.causes {
            if let SlipCause::Waiting { .. } | SlipCause::NotStartedByAsOf
                | SlipCause::LateStart { .. } | SlipCause::Overrun { .. }
                | SlipCause::RunningPastPlannedEnd = c.cause
            {
                prop_assert!(c.days > 0, "a delay never gains time: {:?}", c);
            }
        }
        if let Some(last) = g.critical_path.last() {
            prop_assert_eq!(Some(p.activity(last).unwrap().expected_end), g.projected);
        }
    }
}
