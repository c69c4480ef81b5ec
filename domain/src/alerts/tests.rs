//! The alert rules with DOMAIN.md's numbers: D55, the category cadence, the exclusion curve
//! 43.3 / 59.5 / 75.2 %, the one-month hospital limit.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::case::{EmploymentStatus, ExternalReference};
use crate::facts::{
    Category, ContactMode, FollowUp, PartialReturn, Prognosis, Visitation, WeeklyHours,
};
use crate::plan::Capacity;
use crate::plan::{
    Activity, ActivityKind, EmploymentActivity, EmploymentKind, Goal, GoalKind, HealthKind, Party,
    PlanKind, PlanStage, Roles,
};
use crate::plan::{ActivityId, ActivityStatus};
use crate::rules::{RuleSet, RuleSetId};
use crate::weeks::{add_days, day};
use chrono::{TimeZone, Utc};

fn d0() -> NaiveDate {
    NaiveDate::from_ymd_opt(2009, 2, 2).unwrap()
}

fn on(n: i64) -> NaiveDate {
    day(d0(), n)
}

fn case() -> CaseId {
    CaseId::new(1, 7)
}

fn employed() -> CaseFacts {
    CaseFacts::new(d0(), EmploymentStatus::Employed)
}

fn talk(n: i64) -> FollowUp {
    FollowUp {
        held_on: on(n),
        mode: ContactMode::InPerson,
        outcome: "held".into(),
        next_agreed_on: None,
    }
}

fn visitate(f: &mut CaseFacts, n: i64, category: Category) {
    f.visitations.push(Visitation {
        on: on(n),
        category,
        reason: "grounds".into(),
    });
}

struct Eval {
    facts: CaseFacts,
    rule_set: RuleSetId,
    plan: Option<Plan>,
    screened: Option<NaiveDate>,
    opened: i64,
}

impl Eval {
    fn new(facts: CaseFacts) -> Self {
        Self {
            facts,
            rule_set: RuleSetId::R2009,
            plan: None,
            screened: Some(on(30)),
            opened: 42,
        }
    }

    fn at(&self, n: i64) -> Evaluation {
        let input = AlertInput {
            case: case(),
            facts: &self.facts,
            rule_set: RuleSet::get(self.rule_set),
            opened_on: on(self.opened),
            plan: self.plan.as_ref(),
            first_screening_concluded: self.screened,
            referrals: &[],
        };
        evaluate(&input, &AlertParams::default(), on(n))
    }

    fn rule(&self, n: i64, rule: AlertRule) -> Vec<AlertCondition> {
        self.at(n)
            .conditions
            .into_iter()
            .filter(|c| c.rule == rule)
            .collect()
    }
}

#[test]
fn al04_warns_a_week_before_d55_and_is_overdue_from_d56() {
    let e = Eval::new(employed());
    assert!(e.rule(47, AlertRule::Al04).is_empty());
    assert_eq!(
        e.at(47).next_check,
        Some(on(48)),
        "the warning starts at D48"
    );

    let warning = e.rule(48, AlertRule::Al04);
    assert_eq!(warning.len(), 1);
    assert_eq!(warning[0].severity, Severity::Warning);
    assert_eq!(warning[0].due_on, Some(on(55)));
    assert_eq!(warning[0].data["due_on"], "2009-03-29");
    assert_eq!(
        e.rule(49, AlertRule::Al04),
        warning,
        "the warning says the due date, not a count of days left that changes daily"
    );
    assert_eq!(warning[0].subject, Subject::Case { case: case() });
    assert_eq!(warning[0].recipient, Recipient::jobcentre("caseworker"));
    assert_eq!(e.at(48).next_check, Some(on(56)));

    let overdue = e.rule(56, AlertRule::Al04);
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].severity, Severity::High);
    assert_eq!(overdue[0].data["rule_id"], "T-11");
    assert!(
        overdue[0]
            .cause
            .ends_with("was due 2009-03-29 and is overdue"),
        "{}",
        overdue[0].cause
    );
    assert_eq!(
        e.rule(80, AlertRule::Al04),
        overdue,
        "an overdue alert stays as it is day after day (clients age it from due_on)"
    );
}

#[test]
fn al04_goes_away_when_the_first_follow_up_is_held() {
    let mut f = employed();
    f.follow_ups.push(talk(50));
    let e = Eval::new(f);
    assert!(e.rule(56, AlertRule::Al04).is_empty());
}

#[test]
fn a_closed_case_raises_no_follow_up_alert_for_a_talk_it_missed() {
    // Closed at D70 without the first talk (due D55): the missed talk is history, nothing to act on.
    let mut f = employed();
    f.closed = Some(crate::facts::Closure {
        on: on(70),
        outcome: crate::facts::Outcome::FullReturn,
    });
    let e = Eval::new(f);
    assert_eq!(e.rule(60, AlertRule::Al04).len(), 1, "open at D60: overdue");
    for rule in [AlertRule::Al04, AlertRule::Al05, AlertRule::Al06] {
        assert!(e.rule(71, rule).is_empty(), "{rule:?} after the closing");
    }
}

#[test]
fn al05_follow_up_plan_missing_at_the_second_follow_up() {
    // Category 2 under R2009: first talk D50, the second within 4 weeks (D78).
    let mut f = employed();
    visitate(&mut f, 45, Category::Two);
    f.follow_ups.push(talk(50));
    f.follow_ups.push(talk(70));
    let e = Eval::new(f.clone());
    let al05 = e.rule(71, AlertRule::Al05);
    assert_eq!(al05.len(), 1, "{al05:?}");
    assert_eq!(al05[0].severity, Severity::High);
    assert_eq!(al05[0].data["rule_id"], "T-15");

    f.follow_up_plan_on = Some(on(60));
    assert!(Eval::new(f).rule(71, AlertRule::Al05).is_empty());
}

#[test]
fn al06_next_follow_up_overdue_by_the_category_2_cadence() {
    let mut f = employed();
    visitate(&mut f, 45, Category::Two);
    f.follow_ups.push(talk(50));
    let e = Eval::new(f.clone());
    let due = e.rule(50, AlertRule::Al06);
    assert!(due.is_empty(), "not within the lead time yet: {due:?}");
    let overdue = e.rule(79, AlertRule::Al06);
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert_eq!(overdue[0].data["follow_up"], 2);
    assert_eq!(overdue[0].due_on, Some(on(78)), "4 weeks after D50");

    f.follow_ups.push(talk(77));
    let e = Eval::new(f);
    let next = e.rule(79, AlertRule::Al06);
    assert!(next.is_empty(), "talk 2 held; talk 3 due D105: {next:?}");
}

#[test]
fn al07_360_degree_assessment_missing_by_d55() {
    let mut e = Eval::new(employed());
    e.screened = None;
    let warning = e.rule(41, AlertRule::Al07);
    assert_eq!(
        warning[0].severity,
        Severity::Warning,
        "two weeks before D55"
    );
    let overdue = e.rule(56, AlertRule::Al07);
    assert_eq!(overdue[0].severity, Severity::High);
    assert_eq!(overdue[0].due_on, Some(on(55)));
    assert_eq!(overdue[0].recipient.role, "screening_group");
    e.screened = Some(on(56));
    assert!(
        e.rule(57, AlertRule::Al07).is_empty(),
        "late, but concluded"
    );
}

#[test]
fn al22_new_case_not_screened_after_a_week() {
    let mut e = Eval::new(employed());
    e.screened = None;
    e.opened = 42;
    assert!(e.rule(48, AlertRule::Al22).is_empty());
    assert_eq!(e.at(48).next_check, Some(on(49)));
    let al22 = e.rule(49, AlertRule::Al22);
    assert_eq!(al22.len(), 1);
    assert_eq!(al22[0].data["limit_days"], 7);
    assert_eq!(al22[0].data["flagged_on"], on(49).to_string());
    assert_eq!(
        e.rule(60, AlertRule::Al22),
        al22,
        "unchanged while it waits"
    );
    e.screened = Some(on(49));
    assert!(e.rule(49, AlertRule::Al22).is_empty());
}

#[test]
fn al19_escalates_at_weeks_13_26_52_on_the_exclusion_curve() {
    let e = Eval::new(employed());
    assert!(e.rule(83, AlertRule::Al19).is_empty());
    let cases = [
        (84, 13, 4_330, "43.3 %", Severity::High),
        (175, 26, 5_950, "59.5 %", Severity::High),
        (357, 52, 7_520, "75.2 %", Severity::Critical),
    ];
    for (day, week, rate, words, severity) in cases {
        let al19 = e.rule(day, AlertRule::Al19);
        assert_eq!(al19.len(), 1, "one AL-19 per case, updated as it escalates");
        assert_eq!(al19[0].data["week"], week);
        assert_eq!(al19[0].data["exclusion_rate_bp"], rate);
        assert_eq!(al19[0].severity, severity);
        assert!(al19[0].cause.contains(words), "{}", al19[0].cause);
    }
    assert_eq!(
        e.rule(174, AlertRule::Al19)[0].data["week"],
        13,
        "week 26 starts D175"
    );
    assert!(
        e.at(174).next_check <= Some(on(175)),
        "the sweep comes back when week 26 starts"
    );
}

#[test]
fn a_closed_case_raises_nothing_and_needs_no_check() {
    let mut f = employed();
    f.closed = Some(crate::facts::Closure {
        on: on(20),
        outcome: crate::facts::Outcome::FullReturn,
    });
    let e = Eval::new(f);
    let ev = e.at(400);
    assert!(ev.conditions.is_empty(), "{:?}", ev.conditions);
    assert_eq!(ev.next_check, None);
}

fn org(s: &str) -> ExternalReference {
    ExternalReference::parse(s).unwrap()
}

fn activity(id: &str, kind: ActivityKind) -> Activity {
    Activity::new(ActivityId::parse(id).unwrap(), kind, org("region"))
}

fn plan(activities: Vec<Activity>, goal_by: Option<i64>) -> Plan {
    let at = Utc.with_ymd_and_hms(2009, 3, 1, 9, 0, 0).unwrap();
    let roles = Roles {
        plan_follow_up: Some(Party::new(
            org("ann"),
            Some(org("kia-team")),
            Capacity::Physiotherapist,
        )),
        ..Roles::default()
    };
    Plan {
        case: case(),
        kind: PlanKind::FollowUpPlan,
        stage: PlanStage::Final,
        owner: org("jc-630"),
        roles,
        contributors: Vec::new(),
        goals: goal_by
            .map(|by| Goal {
                id: GoalId::parse("full").unwrap(),
                kind: GoalKind::FullReturn,
                hours_per_week: WeeklyHours::hours(37),
                by: on(by),
                depends_on: Vec::new(),
            })
            .into_iter()
            .collect(),
        activities,
        version: 1,
        created_at: at,
        updated_at: at,
        finalised_at: None,
    }
}

#[test]
fn al09_plan_slip_names_the_waiting_activity_and_the_days() {
    // Specialist planned D60–D70, booked D81 (21 days' wait); goal D75 -> slip 16 days.
    let spec = activity("spec", ActivityKind::Health(HealthKind::Specialist))
        .planned(on(60), Some(on(70)))
        .booked(on(81));
    let mut e = Eval::new(employed());
    e.plan = Some(plan(vec![spec], Some(75)));
    let al09 = e.rule(56, AlertRule::Al09);
    assert_eq!(al09.len(), 1, "{al09:?}");
    assert_eq!(al09[0].data["slip_days"], 16);
    assert_eq!(al09[0].data["causes"][0]["activity"], "spec");
    assert_eq!(al09[0].data["causes"][0]["days"], 16);
    assert!(al09[0].cause.contains("spec"), "{}", al09[0].cause);
    assert_eq!(
        al09[0].recipient,
        Recipient {
            organisation: Some("kia-team".into()),
            role: "plan_follow_up".into()
        }
    );
    assert_eq!(al09[0].subject.key(), format!("case/{}/goal/full", case()));

    // Booked back within the plan: the slip and the alert go away.
    let spec = activity("spec", ActivityKind::Health(HealthKind::Specialist))
        .planned(on(60), Some(on(70)))
        .booked(on(62));
    e.plan = Some(plan(vec![spec], Some(75)));
    assert!(e.rule(56, AlertRule::Al09).is_empty());
}

#[test]
fn al10_hospital_treatment_not_within_one_month() {
    // Referred D40 (2009-03-14); booked 2009-04-20, beyond one month (2009-04-14).
    let hosp = activity("hosp", ActivityKind::Health(HealthKind::HospitalTreatment))
        .referred(on(40))
        .booked(NaiveDate::from_ymd_opt(2009, 4, 20).unwrap());
    let mut e = Eval::new(employed());
    e.plan = Some(plan(vec![hosp], None));
    let al10 = e.rule(45, AlertRule::Al10);
    assert_eq!(al10.len(), 1);
    assert_eq!(al10[0].data["limit"], "2009-04-14");
    assert_eq!(al10[0].data["waited_days"], 37);
    // A GP-ordered diagnostic test is outside free hospital choice.
    let test = activity(
        "xray",
        ActivityKind::Health(HealthKind::DiagnosticTest {
            ordered_by_gp: true,
        }),
    )
    .referred(on(40))
    .booked(NaiveDate::from_ymd_opt(2009, 4, 20).unwrap());
    e.plan = Some(plan(vec![test], None));
    assert!(e.rule(45, AlertRule::Al10).is_empty());
}

#[test]
fn al11_waiting_with_no_activity() {
    // Nothing in progress; the next activity is booked four weeks after its referral.
    let physio = activity("physio", ActivityKind::Health(HealthKind::Physiotherapy))
        .referred(on(50))
        .booked(on(78));
    let mut e = Eval::new(employed());
    e.plan = Some(plan(vec![physio], None));
    let al11 = e.rule(56, AlertRule::Al11);
    assert_eq!(al11.len(), 1);
    assert_eq!(al11[0].data["idle_days"], 28);
    // Nothing changes until the booked day has passed, and the wait is not re-read before.
    assert_eq!(e.at(77).conditions, e.at(56).conditions);
    assert!(
        e.at(56).next_check > Some(on(57)),
        "a plan waiting for a booked date is not checked daily: {:?}",
        e.at(56).next_check
    );
    assert_eq!(
        e.at(77).next_check,
        Some(on(79)),
        "the day after the booking"
    );
}

fn offer(id: &str) -> Activity {
    activity(
        id,
        ActivityKind::Employment(EmploymentActivity::new(
            EmploymentKind::WorkPlacement,
            WeeklyHours::hours(15),
        )),
    )
    .planned(on(70), Some(on(98)))
}

#[test]
fn al13_least_sick_rule_breached_by_a_planned_offer() {
    // A2010 I2: clear diagnosis, full return D90 within 8 weeks of the D50 follow-up.
    let mut f = employed();
    f.follow_ups.push(talk(50));
    f.prognoses.push(Prognosis {
        recorded_on: on(50),
        clear_diagnosis: true,
        expected_full_return_on: Some(on(90)),
        surgery_on: None,
        partial_return_possible: Some(false),
    });
    let mut e = Eval::new(f.clone());
    e.rule_set = RuleSetId::A2010;
    e.plan = Some(plan(vec![offer("placement")], None));
    let al13 = e.rule(56, AlertRule::Al13);
    assert_eq!(al13.len(), 1, "{al13:?}");
    assert!(
        al13[0].cause.contains("within 8 weeks"),
        "{}",
        al13[0].cause
    );

    // Full return expected beyond D50 + 56 = D106: the offer is allowed.
    f.prognoses[0].expected_full_return_on = Some(on(107));
    let mut e = Eval::new(f);
    e.rule_set = RuleSetId::A2010;
    e.plan = Some(plan(vec![offer("placement")], None));
    assert!(e.rule(56, AlertRule::Al13).is_empty());
}

#[test]
fn al14_offer_while_gradual_return_is_possible() {
    let mut f = employed();
    f.prognoses.push(Prognosis {
        recorded_on: on(50),
        clear_diagnosis: false,
        expected_full_return_on: None,
        surgery_on: None,
        partial_return_possible: Some(true),
    });
    let mut e = Eval::new(f);
    e.rule_set = RuleSetId::A2010;
    e.plan = Some(plan(vec![offer("placement")], None));
    assert_eq!(e.rule(56, AlertRule::Al14).len(), 1);

    let mut combined = offer("placement");
    if let ActivityKind::Employment(x) = &mut combined.kind {
        x.combination_reason = Some("speeds return".into());
    }
    e.plan = Some(plan(vec![combined], None));
    assert!(e.rule(56, AlertRule::Al14).is_empty());
}

#[test]
fn al18_partial_return_without_a_full_return_date() {
    let partial = activity(
        "partial",
        ActivityKind::Employment(EmploymentActivity::new(
            EmploymentKind::PartialReturn,
            WeeklyHours::hours(20),
        )),
    )
    .planned(on(60), Some(on(90)));
    let mut e = Eval::new(employed());
    e.plan = Some(plan(vec![partial.clone()], None));
    assert_eq!(e.rule(56, AlertRule::Al18).len(), 1);
    e.plan = Some(plan(vec![partial], Some(120)));
    assert!(e.rule(56, AlertRule::Al18).is_empty());
}

#[test]
fn al20_weekly_contact_missed_in_the_trial() {
    // T-18c: after the 8-week talk (D50), a contact every week: the first due D57.
    let mut f = employed();
    f.trial = true;
    f.follow_ups.push(talk(50));
    let mut e = Eval::new(f.clone());
    e.rule_set = RuleSetId::P2008;
    let al20 = e.rule(58, AlertRule::Al20);
    assert_eq!(al20.len(), 1, "{al20:?}");
    assert_eq!(al20[0].due_on, Some(on(57)));
    assert_eq!(al20[0].severity, Severity::High);
    f.follow_ups.push(talk(57));
    let mut e = Eval::new(f);
    e.rule_set = RuleSetId::P2008;
    let next = e.rule(58, AlertRule::Al20);
    assert!(
        next.iter().all(|c| c.severity == Severity::Warning),
        "{next:?}"
    );
}

#[test]
fn partial_return_facts_do_not_break_the_evaluation() {
    let mut f = employed();
    f.partial_returns.push(PartialReturn {
        from: on(60),
        to: None,
        hours_per_week: WeeklyHours::hours(20),
    });
    let e = Eval::new(f);
    assert!(!e.at(70).conditions.is_empty());
}

#[test]
fn every_rule_has_an_id_a_source_and_parses_back() {
    for r in AlertRule::ALL {
        assert_eq!(AlertRule::parse(r.as_str()), Some(*r));
        assert!(r.source().contains(".txt"), "{r:?} names its seed file");
    }
    assert_eq!(AlertRule::ALL.len(), 14);
}

#[test]
fn al21_referral_waiting_over_the_contract_target_names_the_metric_and_the_days() {
    use crate::case::MunicipalityCode;
    use crate::contracting::{ContractId, DateRange, Price, PriceUnit, ProviderId, ServiceType};
    use crate::contracting::{ReferralId, Target};
    let contract = Contract {
        id: ContractId::new(1, 1),
        provider: ProviderId::new(1, 2),
        municipality: MunicipalityCode::parse("630").unwrap(),
        service: ServiceType::ReturnToWorkCourse,
        price: Price {
            amount: 386_000,
            per: PriceUnit::Course,
        },
        capacity: crate::contracting::Capacity::default(),
        period: DateRange::new(on(0), on(365)).unwrap(),
        targets: Target::quick_care_waits().to_vec(),
        delegated_tasks: vec![],
    };
    let referral = Referral {
        id: ReferralId::new(1, 3),
        contract: contract.id,
        case: case(),
        first_sick_day: d0(),
        referred_on: on(50),
        started_on: None,
        placement_on: None,
        partial_return_on: None,
        satisfied: None,
        ended: None,
    };
    let referrals = [ContractedReferral {
        contract: &contract,
        referral: &referral,
    }];
    let facts = employed();
    let input = AlertInput {
        case: case(),
        facts: &facts,
        rule_set: RuleSet::get(RuleSetId::R2009),
        opened_on: on(42),
        plan: None,
        first_screening_concluded: Some(on(30)),
        referrals: &referrals,
    };
    let al21 = |n| {
        evaluate(&input, &AlertParams::default(), on(n))
            .conditions
            .into_iter()
            .filter(|c| c.rule == AlertRule::Al21)
            .collect::<Vec<_>>()
    };
    assert!(al21(54).is_empty(), "4 days: within 4.9");
    let over = al21(55);
    assert_eq!(over.len(), 1, "{over:?}");
    assert_eq!(over[0].data["still_waiting"], true);
    assert_eq!(over[0].data["metric"], "referral_to_start_days");
    assert!(
        over[0].cause.ends_with(
            "has waited longer than the contract's target of 4.9 days (referral_to_start_days)"
        ),
        "{}",
        over[0].cause
    );
    assert_eq!(al21(70), over, "unchanged while the wait goes on");
}

/// One generated activity: days are counted from the first sick day.
#[derive(Debug, Clone)]
struct GenActivity {
    kind: u8,
    referred: Option<i64>,
    planned: Option<(i64, Option<i64>)>,
    booked_after: Option<i64>,
    /// 0 planned, 1 booked, 2 started, 3 completed, 4 cancelled.
    state: u8,
    started_after: i64,
    ran: i64,
    after_previous: bool,
}

fn gen_activity() -> impl proptest::strategy::Strategy<Value = GenActivity> {
    use proptest::prelude::*;
    (
        0u8..6,
        proptest::option::of(20i64..150),
        proptest::option::of((30i64..200, proptest::option::of(0i64..40))),
        proptest::option::of(0i64..60),
        0u8..5,
        (0i64..20, 0i64..30),
        any::<bool>(),
    )
        .prop_map(
            |(kind, referred, planned, booked_after, state, (started_after, ran), after)| {
                GenActivity {
                    kind,
                    referred,
                    planned,
                    booked_after,
                    state,
                    started_after,
                    ran,
                    after_previous: after,
                }
            },
        )
}

impl GenActivity {
    /// Activity `i`, after activity `i - 1` when asked and the plan allows it (a started
    /// activity's dependencies are completed).
    fn build(&self, i: usize, previous: Option<&Activity>) -> Activity {
        let kind = match self.kind {
            0 => ActivityKind::Health(HealthKind::Physiotherapy),
            1 => ActivityKind::Health(HealthKind::HospitalTreatment),
            2 => ActivityKind::Health(HealthKind::Surgery),
            3 => ActivityKind::Health(HealthKind::DiagnosticTest {
                ordered_by_gp: false,
            }),
            4 => ActivityKind::Employment(EmploymentActivity::new(
                EmploymentKind::WorkPlacement,
                WeeklyHours::hours(15),
            )),
            _ => ActivityKind::Employment(EmploymentActivity::new(
                EmploymentKind::PartialReturn,
                WeeklyHours::hours(20),
            )),
        };
        let mut a = activity(&format!("a{i}"), kind);
        a.referred_on = self.referred.map(on);
        if let Some((start, len)) = self.planned {
            a = a.planned(on(start), len.map(|l| on(start + l)));
        }
        if a.baseline_start().is_none() {
            a = a.planned(on(60), None);
        }
        let from = self.referred.or(self.planned.map(|p| p.0)).unwrap_or(60);
        let booked = self.booked_after.map(|b| on(from + b));
        let started = on(from + self.started_after);
        if let Some(p) = previous
            && self.after_previous
            && (self.state < 2
                || self.state == 4
                || p.is_cancelled()
                || (p.is_completed() && p.actual_end.is_some_and(|e| e <= started)))
        {
            a = a.after([p.id.clone()]);
        }
        match self.state {
            1 => a.booked(booked.unwrap_or(on(from + 10))),
            2 | 3 => {
                a.booked_start = booked;
                a.actual_start = Some(started);
                a.status = ActivityStatus::Started;
                if self.state == 3 {
                    a.actual_end = Some(add_days(started, self.ran));
                    a.status = ActivityStatus::Completed;
                }
                a
            }
            4 => {
                a.status = ActivityStatus::Cancelled;
                a
            }
            _ => a,
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// The sweep reads a case again only on its next check: between two checks nothing it
    /// would raise, change or resolve may differ, whatever the plan, the talks and the referral.
    #[test]
    fn conditions_hold_until_the_next_check(
        activities in proptest::collection::vec(gen_activity(), 0..5),
        goal_by in proptest::option::of(60i64..300),
        talks in proptest::collection::vec(10i64..120, 0..3),
        category in 0u8..3,
        screened in proptest::option::of(20i64..90),
        opened in 20i64..60,
        referral in proptest::option::of((40i64..150, proptest::option::of(0i64..20))),
    ) {
        use crate::case::MunicipalityCode;
        use crate::contracting::{ContractId, DateRange, Price, PriceUnit, ProviderId, ReferralId, ServiceType, Target};
        let mut facts = employed();
        if category > 0 {
            visitate(&mut facts, 40, if category == 1 { Category::Two } else { Category::Three });
        }
        for t in &talks {
            facts.follow_ups.push(talk(*t));
        }
        let mut acts: Vec<Activity> = Vec::new();
        for (i, g) in activities.iter().enumerate() {
            let a = g.build(i, acts.last());
            acts.push(a);
        }
        let plan = (!acts.is_empty()).then(|| plan(acts, goal_by));
        if let Some(p) = &plan {
            proptest::prop_assert!(p.validate().is_ok(), "{:?}", p.validate());
        }
        let contract = Contract {
            id: ContractId::new(1, 1),
            provider: ProviderId::new(1, 2),
            municipality: MunicipalityCode::parse("630").unwrap(),
            service: ServiceType::ReturnToWorkCourse,
            price: Price { amount: 386_000, per: PriceUnit::Course },
            capacity: crate::contracting::Capacity::default(),
            period: DateRange::new(on(0), on(365)).unwrap(),
            targets: Target::quick_care_waits().to_vec(),
            delegated_tasks: vec![],
        };
        let referral = referral.map(|(r, started)| Referral {
            id: ReferralId::new(1, 3),
            contract: contract.id,
            case: case(),
            first_sick_day: d0(),
            referred_on: on(r),
            started_on: started.map(|s| on(r + s)),
            placement_on: None,
            partial_return_on: None,
            satisfied: None,
            ended: None,
        });
        let referrals: Vec<ContractedReferral<'_>> = referral
            .iter()
            .map(|referral| ContractedReferral { contract: &contract, referral })
            .collect();
        let input = AlertInput {
            case: case(),
            facts: &facts,
            rule_set: RuleSet::get(RuleSetId::R2009),
            opened_on: on(opened),
            plan: plan.as_ref(),
            first_screening_concluded: screened.map(on),
            referrals: &referrals,
        };
        let params = AlertParams::default();
        // Evaluated from the day the last of its facts was recorded (a follow-up, a screening,
        // an activity's start or end, a referral's start), as the engine sees a case.
        let recorded = facts
            .follow_ups
            .iter()
            .map(|t| t.held_on)
            .chain(facts.visitations.iter().map(|v| v.on))
            .chain(screened.map(on))
            .chain(plan.iter().flat_map(|p| {
                p.activities.iter().flat_map(|a| [a.actual_start, a.actual_end]).flatten()
            }))
            .chain(referral.iter().filter_map(|r| r.started_on))
            .max()
            .unwrap_or(on(20));
        let (first, last) = ((recorded - d0()).num_days().max(20), 420i64);
        let days: Vec<Evaluation> = (first..=last).map(|n| evaluate(&input, &params, on(n))).collect();
        for (i, ev) in days.iter().enumerate() {
            let today = on(first + i as i64);
            if let Some(next) = ev.next_check {
                proptest::prop_assert!(next > today);
            }
            for (j, later) in days.iter().enumerate().skip(i + 1) {
                let day = on(first + j as i64);
                if ev.next_check.is_some_and(|next| day >= next) {
                    break;
                }
                proptest::prop_assert_eq!(
                    &later.conditions, &ev.conditions,
                    "evaluated {} with next check {:?}, different on {}", today, ev.next_check, day
                );
            }
        }
    }
}
