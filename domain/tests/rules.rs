//! End-to-end rule scenarios from DOMAIN.md §8 and the cadence property.
#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use kia_domain::facts::{
    CaseFacts, Category, Closure, ContactMode, EmploymentStatus, Exemption, ExemptionGround,
    FollowUp, OfferPeriod, OfferType, Outcome, PartialReturn, Visitation, WeeklyHours,
};
use kia_domain::followup::{follow_up_slots, next_follow_up_due};
use kia_domain::offers::{OfferProposal, check_offer};
use kia_domain::reimbursement::{Activity, Financing};
use kia_domain::rules::{RuleId, RuleSet, RuleSetId, Step, Verdict};
use kia_domain::timeline::{DeadlineKind, MilestoneKind, MilestoneStatus, Status, timeline};
use kia_domain::weeks::day;
use proptest::prelude::*;

fn talk(on: NaiveDate) -> FollowUp {
    FollowUp {
        held_on: on,
        mode: ContactMode::InPerson,
        outcome: String::new(),
        next_agreed_on: None,
    }
}

/// DOMAIN.md §8.1 KIA-LENE: low-back pain, KIA referral at D42, 4 h/day from D49, back full
/// time about D94.
fn lene(d0: NaiveDate) -> CaseFacts {
    let mut f = CaseFacts::new(d0, EmploymentStatus::Employed);
    f.employer_notified_on = Some(day(d0, 20));
    f.employer_conversation_on = Some(day(d0, 25));
    f.visitations.push(Visitation {
        on: day(d0, 46),
        category: Category::Two,
        reason: "KIA".into(),
    });
    f.partial_returns.push(PartialReturn {
        from: day(d0, 49),
        to: Some(day(d0, 93)),
        hours_per_week: WeeklyHours::hours(20),
    });
    f.follow_ups.push(talk(day(d0, 52)));
    f.follow_up_plan_on = Some(day(d0, 52));
    f.closed = Some(Closure {
        on: day(d0, 94),
        outcome: Outcome::FullReturn,
    });
    f
}

#[test]
fn kia_lene_under_the_2008_rules_and_proposals() {
    let d0 = NaiveDate::from_ymd_opt(2008, 9, 1).unwrap();
    let f = lene(d0);
    for id in [RuleSetId::R2008, RuleSetId::P2008] {
        let t = timeline(&f, RuleSet::get(id), day(d0, 120));
        let first = t.find(DeadlineKind::FollowUp { number: 1 }).unwrap();
        assert_eq!(
            (first.status, first.met_on),
            (Status::Met, Some(day(d0, 52))),
            "{id:?}"
        );
        let second = t.find(DeadlineKind::FollowUp { number: 2 }).unwrap();
        assert_eq!(
            second.due,
            Some(day(d0, 80)),
            "{id:?}: category 2, four weeks"
        );
        assert_eq!(
            second.status,
            Status::Overdue,
            "{id:?}: missed before closing on D94"
        );
        assert_eq!(t.overdue().count(), 1, "{id:?}");
        let week = |w| {
            t.milestones
                .iter()
                .find(|m| m.kind == MilestoneKind::SickWeek { week: w })
                .unwrap()
        };
        assert_eq!(week(13).status, MilestoneStatus::Reached);
        assert_eq!(week(26).status, MilestoneStatus::NotApplicable);
    }
    // Partial return is active: P21's 65 % refund in sick week 9, R2008's flat 50 %.
    let weekly = 350_000;
    let week9 = |id| {
        let fin = Financing::for_case(RuleSet::get(id), &f).unwrap();
        fin.week(9, &Activity::on(&f, day(d0, 56)), weekly).unwrap()
    };
    assert_eq!(week9(RuleSetId::P2008).state, 227_500);
    assert_eq!(week9(RuleSetId::R2008).state, 175_000);
}

/// DOMAIN.md §8.5 TRIAL-ACTIVE: weekly talks after the 8-week talk, active by weeks 12–13.
#[test]
fn trial_active_participant_and_exempted_participant() {
    let d0 = NaiveDate::from_ymd_opt(2009, 1, 12).unwrap();
    let rs = RuleSet::get(RuleSetId::R2009);
    let mut f = CaseFacts::new(d0, EmploymentStatus::Employed);
    f.trial = true;
    f.visitations.push(Visitation {
        on: day(d0, 55),
        category: Category::Two,
        reason: String::new(),
    });
    f.follow_ups = [55, 62, 69, 76, 83]
        .iter()
        .map(|n| talk(day(d0, *n)))
        .collect();
    f.offers.push(OfferPeriod {
        from: day(d0, 80),
        to: None,
        kind: OfferType::WorkPlacement,
        hours_per_week: WeeklyHours::hours(10),
        fewer_hours_reason: None,
    });
    let t = timeline(&f, rs, day(d0, 85));
    assert_eq!(
        t.find(DeadlineKind::TrialActive).unwrap().status,
        Status::Met
    );
    assert!(
        t.deadlines
            .iter()
            .filter(|d| matches!(d.kind, DeadlineKind::WeeklyContact { .. }))
            .all(|d| d.status == Status::Met || d.due > Some(day(d0, 85)))
    );

    let mut exempt = f.clone();
    exempt.offers.clear();
    exempt.follow_ups.truncate(1);
    exempt.exemptions.push(Exemption {
        ground: ExemptionGround::TreatmentIsObstacle,
        from: day(d0, 55),
        to: None,
        reason: "radiotherapy".into(),
    });
    let t = timeline(&exempt, rs, day(d0, 90));
    assert_eq!(
        t.find(DeadlineKind::WeeklyContact { number: 1 })
            .unwrap()
            .status,
        Status::NotApplicable
    );
    assert_eq!(
        t.find(DeadlineKind::TrialActive).unwrap().status,
        Status::NotApplicable
    );
    let offer = OfferProposal {
        starts_on: day(d0, 90),
        kind: OfferType::GuidanceAndUpskilling,
        hours_per_week: WeeklyHours::hours(10),
        fewer_hours_reason: None,
        combination_reason: None,
        at_own_workplace: false,
    };
    assert!(matches!(
        check_offer(rs, &exempt, &offer),
        Verdict::Refused {
            rule_id: RuleId::TrialExemption,
            ..
        }
    ));
}

#[test]
fn every_rule_set_gives_its_own_reproducible_timeline() {
    let d0 = NaiveDate::from_ymd_opt(2012, 5, 7).unwrap();
    let mut f = lene(d0);
    f.closed = None;
    for rs in RuleSet::all() {
        let a = timeline(&f, rs, day(d0, 100));
        assert_eq!(a, timeline(&f, rs, day(d0, 100)));
        assert_eq!(a.rule_set, rs.id);
        let first = a.find(DeadlineKind::FollowUp { number: 1 }).unwrap();
        assert_eq!(
            first.due,
            Some(day(d0, 55)),
            "T-11 is common to every regime"
        );
    }
}

fn seed_sets() -> impl Strategy<Value = RuleSetId> {
    prop::sample::select(vec![
        RuleSetId::R2008,
        RuleSetId::P2008,
        RuleSetId::R2009,
        RuleSetId::A2010,
        RuleSetId::R2012,
        RuleSetId::L2014,
    ])
}

fn categories() -> impl Strategy<Value = Category> {
    prop::sample::select(Category::ALL.to_vec())
}

proptest! {
    /// For any follow-ups and re-visitations, the pending follow-up is never due later than the
    /// last talk plus the cadence of the category in force.
    #[test]
    fn next_due_never_exceeds_last_talk_plus_cadence(
        id in seed_sets(),
        start in 0i64..7_000,
        gaps in prop::collection::vec(1i64..120, 0..8),
        visits in prop::collection::vec((0i64..600, categories()), 0..6),
        after in 0i64..200,
    ) {
        let rs = RuleSet::get(id);
        let d0 = day(NaiveDate::from_ymd_opt(2006, 7, 3).unwrap(), start);
        let mut f = CaseFacts::new(d0, EmploymentStatus::Employed);
        let mut on = d0;
        for g in &gaps {
            on = day(on, *g);
            f.follow_ups.push(talk(on));
        }
        f.visitations = visits
            .iter()
            .map(|(n, c)| Visitation { on: day(d0, *n), category: *c, reason: String::new() })
            .collect();
        let as_of = day(on, after);
        let due = next_follow_up_due(rs, &f, as_of);
        let Some(last) = f.follow_ups.last() else {
            prop_assert_eq!(due, Some(day(d0, 55)));
            return Ok(());
        };
        let Some(category) = f.category_on(as_of) else { return Ok(()) };
        let number = f.follow_ups.len() + 1;
        let cadence = rs.cadence_for(category).value;
        let steps = if number == 2 { cadence.second } else { cadence.then };
        let bound = steps
            .iter()
            .filter_map(|s| match s {
                Step::AfterPrevious(p) => Some(p.after(last.held_on)),
                Step::AfterFirstSickDay(_) => None,
            })
            .min();
        if let (Some(due), Some(bound)) = (due, bound) {
            prop_assert!(due <= bound, "{id:?} {category:?}: due {due} > {bound}");
        }
        // Every held talk meets exactly one slot, and only the last slot is pending.
        let slots = follow_up_slots(rs, &f, as_of);
        prop_assert_eq!(slots.len(), f.follow_ups.len() + 1);
        prop_assert!(slots[..slots.len() - 1].iter().all(|s| s.met_on.is_some()));
    }
}
