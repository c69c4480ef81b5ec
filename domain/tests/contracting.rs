//! Contracting end to end: a synthetic cohort built to Quick Care's national figures
//! (DOMAIN.md §6.1, [004 §7] 004_29a2444e953dfa53.txt), the Roskilde what-if fixtures (§5.6),
//! capacity and period refusals, empty periods, target misses (AL-21) and provider ranking.
#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use kia_domain::case::{CaseId, MunicipalityCode};
use kia_domain::contracting::{
    AdmissionVerdict, Capacity, CapacityWindow, Contract, ContractId, ContractRuleId, CourseEnd,
    DateRange, EndOutcome, MetricId, OtherBenefit, Price, PriceUnit, Provider, ProviderId,
    ProviderKind, RawContract, RawProvider, RawReferral, Referral, ReferralEvent, ReferralId,
    RoskildeModel, Scope, Scorecard, ServiceType, Standing, Target, Unit, Unranked, WindowCap,
    admit_referral, overdue_waits, quick_care_national, rank, roskilde_2010_2012,
    roskilde_net_gain,
};
use kia_domain::weeks::day;
use proptest::prelude::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// Far enough after everything that no event is "in the future".
fn today() -> NaiveDate {
    d(2013, 1, 1)
}

/// Quick Care's 35 partner municipalities (any 35 valid codes will do).
fn municipalities() -> Vec<MunicipalityCode> {
    (0..35)
        .map(|i| MunicipalityCode::parse(&(101 + 20 * i).to_string()).unwrap())
        .collect()
}

fn provider(n: u128, name: &str) -> Provider {
    Provider::parse(
        ProviderId::new(1_300_000_000_000, n),
        &RawProvider {
            name,
            kind: Some(ProviderKind::PrivateProvider),
            cvr: "",
        },
        "provider.",
    )
    .unwrap()
}

fn contract(
    n: u128,
    provider: &Provider,
    municipality: &MunicipalityCode,
    capacity: Capacity,
    targets: Vec<Target>,
) -> Contract {
    let raw = RawContract {
        provider: Some(provider.id),
        municipality_code: municipality.as_str(),
        service: Some(ServiceType::ReturnToWorkCourse),
        price: Some(Price {
            amount: 386_000,
            per: PriceUnit::Course,
        }),
        capacity,
        period_from: "2010-01-01",
        period_to: "2011-12-31",
        targets,
        delegated_tasks: vec![],
    };
    Contract::parse(ContractId::new(1_300_000_000_000, n), &raw, "contract.").unwrap()
}

/// Exactly `floor(total × num / den)` of `0..total` get a 1, spread evenly (Bresenham).
fn hit(i: u64, num: u64, den: u64) -> bool {
    (i + 1) * num / den - i * num / den == 1
}

/// How one synthetic course runs.
struct Course {
    referred_on: NaiveDate,
    to_start: i64,
    absence_days_at_start: i64,
    length_days: i64,
    placement_after_referral: Option<i64>,
    outcome: EndOutcome,
}

/// Course `i` of a cohort built to Quick Care's 2010–2011 figures: 4.9 days referral → start,
/// 22.3 weeks (156.1 days) absence at start, 9.6 weeks (67.2 days) per course, 60 % left
/// sickness benefit, 14 % with a work placement starting 19 days after referral.
fn quick_care_course(i: u64) -> Course {
    let left = hit(i, 60, 100);
    let outcome = match (left, i % 3) {
        (true, 0) => EndOutcome::RecoveredFully,
        (true, 1) => EndOutcome::LeftBenefit,
        (true, _) => EndOutcome::OtherBenefit(OtherBenefit::FlexJob),
        (false, 0) => EndOutcome::RecoveredPartly,
        (false, 1) => EndOutcome::StillOnBenefit,
        (false, _) => EndOutcome::DroppedOut,
    };
    Course {
        referred_on: day(d(2010, 1, 4), i64::try_from(i % 600).unwrap()),
        to_start: if hit(i, 10, 100) { 4 } else { 5 },
        absence_days_at_start: if hit(i, 10, 100) { 157 } else { 156 },
        length_days: if hit(i, 20, 100) { 68 } else { 67 },
        placement_after_referral: hit(i, 14, 100).then_some(19),
        outcome,
    }
}

/// Runs one course through the public API: admission, validated referral, validated events.
fn refer_and_run(contract: &Contract, existing: &[Referral], n: u64, course: &Course) -> Referral {
    let case = CaseId::new(1_300_000_000_000, u128::from(n));
    let start = day(course.referred_on, course.to_start);
    let d0 = day(start, -course.absence_days_at_start);
    let verdict = admit_referral(
        contract,
        existing,
        &contract.municipality,
        case,
        course.referred_on,
    );
    assert_eq!(verdict, AdmissionVerdict::Allowed);
    let raw = RawReferral {
        case: Some(case),
        first_sick_day: &d0.to_string(),
        referred_on: &course.referred_on.to_string(),
    };
    let mut r = Referral::parse(
        ReferralId::new(1_300_000_000_000, u128::from(n)),
        contract.id,
        &raw,
        today(),
        "referral.",
    )
    .unwrap();
    let mut events = vec![ReferralEvent::Started { on: start }];
    if let Some(p) = course.placement_after_referral {
        events.push(ReferralEvent::PlacementStarted {
            on: day(course.referred_on, p),
        });
    }
    events.push(ReferralEvent::Ended {
        on: day(start, course.length_days),
        outcome: course.outcome,
    });
    for e in &events {
        r = r.apply(e, today(), "event.").unwrap();
    }
    r
}

struct Cohort {
    provider: Provider,
    contracts: Vec<Contract>,
    referrals: Vec<Referral>,
}

fn quick_care_cohort(courses: u64) -> Cohort {
    let qc = provider(1, "Quick Care");
    let contracts: Vec<Contract> = municipalities()
        .iter()
        .enumerate()
        .map(|(i, m)| {
            contract(
                u128::try_from(i).unwrap(),
                &qc,
                m,
                Capacity::default(),
                vec![],
            )
        })
        .collect();
    let mut referrals: Vec<Referral> = Vec::new();
    for i in 0..courses {
        let c = &contracts[usize::try_from(i % 35).unwrap()];
        let r = refer_and_run(c, &referrals, i, &quick_care_course(i));
        referrals.push(r);
    }
    Cohort {
        provider: qc,
        contracts,
        referrals,
    }
}

fn period_2010_2011() -> DateRange {
    DateRange::new(d(2010, 1, 1), d(2011, 12, 31)).unwrap()
}

fn value(card: &Scorecard, id: MetricId) -> f64 {
    card.metric(id).unwrap().value.unwrap()
}

#[test]
fn a_cohort_built_to_quick_care_figures_gives_them_back() {
    let cohort = quick_care_cohort(1_000);
    let mut card = Scorecard::compute(
        Scope::Provider(cohort.provider.id),
        period_2010_2011(),
        &cohort.contracts,
        &cohort.referrals,
    );
    assert_eq!(card.counts.courses_completed, 1_000);
    let close = |id, want: f64| {
        let got = value(&card, id);
        assert!((got - want).abs() < 1e-9, "{id}: {got} want {want}");
    };
    close(MetricId::ExitRate, 0.60);
    close(MetricId::PlacementShare, 0.14);
    close(MetricId::ReferralToStartDays, 4.9);
    close(MetricId::CourseLengthWeeks, 9.6);
    close(MetricId::AbsenceWeeksAtStart, 22.3);
    close(MetricId::ReferralToPlacementDays, 19.0);
    assert_eq!(
        card.metric(MetricId::ReferralToPlacementDays).unwrap().n,
        140
    );

    // Against the national benchmark every Quick Care figure stands "same".
    card.attach_all(quick_care_national()).unwrap();
    for m in &card.metrics {
        for b in &m.bases {
            assert!(m.delta(b).unwrap().abs() < 1e-9, "{}", m.id);
            if m.id != MetricId::AbsenceWeeksAtStart {
                assert_eq!(m.standing(b), Some(Standing::Same), "{}", m.id);
            }
        }
    }
    // A14: the recovered share is its own metric and carries no Quick Care basis.
    let recovered = card.metric(MetricId::RecoveredFullOrPartialRate).unwrap();
    assert!(recovered.bases.is_empty());
    assert!((recovered.value.unwrap() - value(&card, MetricId::ExitRate)).abs() > 0.1);

    // The municipality scorecards partition the provider's courses.
    let per_municipality: u32 = municipalities()
        .into_iter()
        .map(|m| {
            Scorecard::compute(
                Scope::Municipality(m),
                period_2010_2011(),
                &cohort.contracts,
                &cohort.referrals,
            )
            .counts
            .courses_completed
        })
        .sum();
    assert_eq!(per_municipality, 1_000);
}

#[test]
fn the_full_8908_course_cohort_reproduces_the_printed_figures_a11() {
    let cohort = quick_care_cohort(8_908);
    let card = Scorecard::compute(
        Scope::Provider(cohort.provider.id),
        period_2010_2011(),
        &cohort.contracts,
        &cohort.referrals,
    );
    assert_eq!(card.counts.courses_completed, 8_908);
    let pct = |id| (value(&card, id) * 100.0).round();
    let one_decimal = |id| (value(&card, id) * 10.0).round() / 10.0;
    assert_eq!(pct(MetricId::ExitRate), 60.0);
    assert_eq!(pct(MetricId::PlacementShare), 14.0);
    assert_eq!(one_decimal(MetricId::ReferralToStartDays), 4.9);
    assert_eq!(one_decimal(MetricId::CourseLengthWeeks), 9.6);
    assert_eq!(one_decimal(MetricId::AbsenceWeeksAtStart), 22.3);
    assert_eq!(
        value(&card, MetricId::ReferralToPlacementDays).round(),
        19.0
    );
}

#[test]
fn roskilde_what_if_fixtures() {
    let million = 100_000_000.0;
    for (effect, price, want) in [
        (67.0, 1.0, 16.3),
        (67.0, 0.5, 17.2),
        (65.2, 0.5, 16.3),
        (57.0, 1.0, 11.8),
    ] {
        let w = roskilde_net_gain(effect, price).unwrap();
        let got = w.net_gain as f64 / million;
        assert!((got - want).abs() <= 0.1, "({effect}, {price}) → {got}");
        assert!(w.inferred, "the reconstruction is INFERRED");
        assert!(w.note.contains("INFERRED"));
    }
    // A12: 34,923 DKK × 466 ≈ 16.3 m DKK.
    let s = RoskildeModel::SEED;
    let from_per_citizen = s.net_gain_from_per_citizen() as f64 / million;
    assert!((from_per_citizen - 16.3).abs() <= 0.1, "{from_per_citizen}");
    // "Effect matters far more than price": 10 pp of effect outweighs halving the price.
    let cheap = roskilde_net_gain(57.0, 0.5).unwrap();
    let good = roskilde_net_gain(67.0, 1.0).unwrap();
    assert!(good.net_gain > cheap.net_gain);
}

#[test]
fn capacity_overrun_and_referrals_outside_the_period_are_refused() {
    let p = provider(2, "Revalideringscentret");
    let m = MunicipalityCode::parse("265").unwrap();
    let c = contract(
        100,
        &p,
        &m,
        Capacity {
            max_concurrent: Some(3),
            per_window: Some(WindowCap {
                max: 5,
                window: CapacityWindow::CalendarQuarter,
            }),
        },
        vec![],
    );
    let mut existing = Vec::new();
    for i in 0..3u64 {
        let course = Course {
            referred_on: day(d(2011, 1, 10), i64::try_from(i).unwrap()),
            to_start: 3,
            absence_days_at_start: 100,
            length_days: 30,
            placement_after_referral: None,
            outcome: EndOutcome::RecoveredFully,
        };
        let mut r = refer_and_run(&c, &existing, 1_000 + i, &course);
        // Keep them in progress: drop the end.
        r.ended = None;
        existing.push(r);
    }
    let case = CaseId::new(1, 77);
    let refused = |v: AdmissionVerdict| match v {
        AdmissionVerdict::Refused { rule_id, reason } => (rule_id, reason),
        AdmissionVerdict::Allowed => panic!("expected a refusal"),
    };
    let (rule, reason) = refused(admit_referral(&c, &existing, &m, case, d(2011, 1, 20)));
    assert_eq!(rule, ContractRuleId::CapacityConcurrent);
    assert!(reason.contains("at most 3"), "{reason}");

    // One ends: a slot is free from its end date.
    existing[0] = existing[0]
        .apply(
            &ReferralEvent::Ended {
                on: d(2011, 2, 1),
                outcome: EndOutcome::DroppedOut,
            },
            today(),
            "",
        )
        .unwrap();
    assert!(admit_referral(&c, &existing, &m, case, d(2011, 2, 1)).is_allowed());

    // Per-quarter cap: 5 referrals received in Q1 2011, withdrawn ones not counted.
    for (i, on) in [(3u64, d(2011, 2, 1)), (4, d(2011, 2, 3))] {
        let mut r = refer_and_run(
            &c,
            &existing,
            1_000 + i,
            &Course {
                referred_on: on,
                to_start: 1,
                absence_days_at_start: 100,
                length_days: 10,
                placement_after_referral: None,
                outcome: EndOutcome::StillOnBenefit,
            },
        );
        r.ended = None;
        r.started_on = None;
        let r = r
            .apply(
                &ReferralEvent::Ended {
                    on: day(on, 1),
                    outcome: EndOutcome::Withdrawn,
                },
                today(),
                "",
            )
            .unwrap();
        existing.push(r);
    }
    assert!(admit_referral(&c, &existing, &m, case, d(2011, 3, 1)).is_allowed());
    // Two short courses, one after the other (concurrency stays below 3).
    for (i, on) in [(5u64, d(2011, 3, 1)), (6, d(2011, 3, 10))] {
        let course = Course {
            referred_on: on,
            to_start: 1,
            absence_days_at_start: 100,
            length_days: 5,
            placement_after_referral: None,
            outcome: EndOutcome::RecoveredFully,
        };
        existing.push(refer_and_run(&c, &existing, 1_000 + i, &course));
    }
    let (rule, _) = refused(admit_referral(&c, &existing, &m, case, d(2011, 3, 31)));
    assert_eq!(rule, ContractRuleId::CapacityWindow);
    assert!(admit_referral(&c, &existing, &m, case, d(2011, 4, 1)).is_allowed());

    // Outside the contract period, on either side.
    for outside in [d(2009, 12, 31), d(2012, 1, 1)] {
        let (rule, reason) = refused(admit_referral(&c, &[], &m, case, outside));
        assert_eq!(rule, ContractRuleId::Period);
        assert!(reason.contains("2010-01-01..=2011-12-31"), "{reason}");
    }
}

#[test]
fn every_metric_on_an_empty_period_has_n_0_and_no_value() {
    let cohort = quick_care_cohort(70);
    let empty = DateRange::new(d(2015, 1, 1), d(2015, 12, 31)).unwrap();
    for scope in [
        Scope::Provider(cohort.provider.id),
        Scope::Contract(cohort.contracts[0].id),
        Scope::Municipality(MunicipalityCode::parse("860").unwrap()),
    ] {
        let card = Scorecard::compute(scope, empty, &cohort.contracts, &cohort.referrals);
        assert_eq!(card.metrics.len(), MetricId::ALL.len());
        for (m, id) in card.metrics.iter().zip(MetricId::ALL) {
            assert_eq!(m.id, id);
            assert_eq!(m.n, 0, "{id}");
            assert_eq!(m.value, None, "{id}");
        }
        assert_eq!(card.counts.courses_completed, 0);
        assert!(card.target_misses.is_empty());
    }
}

#[test]
fn target_misses_are_reported_for_al21() {
    let p = provider(3, "Slow Care");
    let m = MunicipalityCode::parse("630").unwrap();
    let mut targets = Target::quick_care_waits().to_vec();
    targets.push(Target {
        metric: MetricId::ExitRate,
        value: 0.6,
    });
    let c = contract(200, &p, &m, Capacity::default(), targets);
    let mut referrals = Vec::new();
    for i in 0..10u64 {
        let course = Course {
            referred_on: day(d(2011, 2, 1), i64::try_from(i).unwrap()),
            to_start: 8,
            absence_days_at_start: 150,
            length_days: 60,
            placement_after_referral: (i < 4).then_some(30),
            outcome: if i < 7 {
                EndOutcome::RecoveredFully
            } else {
                EndOutcome::StillOnBenefit
            },
        };
        let r = refer_and_run(&c, &referrals, 2_000 + i, &course);
        referrals.push(r);
    }
    let card = Scorecard::compute(
        Scope::Contract(c.id),
        period_2010_2011(),
        std::slice::from_ref(&c),
        &referrals,
    );
    let misses: Vec<(MetricId, f64, f64, u32, Option<ContractRuleId>)> = card
        .target_misses
        .iter()
        .map(|t| (t.metric, t.target, t.actual, t.n, t.alert))
        .collect();
    assert_eq!(
        misses,
        [
            (
                MetricId::ReferralToStartDays,
                4.9,
                8.0,
                10,
                Some(ContractRuleId::Al21)
            ),
            (
                MetricId::ReferralToPlacementDays,
                19.0,
                30.0,
                4,
                Some(ContractRuleId::Al21)
            ),
        ],
        "exit rate 70 % meets 60 %"
    );
    assert!(card.targets_unmeasured.is_empty());
    // Per referral, too: each course started 8 days after referral.
    let late = overdue_waits(&c, &referrals[0], today());
    assert_eq!(late.len(), 2);
    assert!(late.iter().all(|w| w.alert == ContractRuleId::Al21));
}

#[test]
fn providers_are_ranked_per_metric_and_period() {
    let m = MunicipalityCode::parse("265").unwrap();
    let providers: Vec<Provider> = ["Fast", "Same A", "Same B", "Idle"]
        .iter()
        .enumerate()
        .map(|(i, n)| provider(10 + u128::try_from(i).unwrap(), n))
        .collect();
    let contracts: Vec<Contract> = providers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            contract(
                300 + u128::try_from(i).unwrap(),
                p,
                &m,
                Capacity::default(),
                vec![],
            )
        })
        .collect();
    // (contract, days to start, outcome) — "Idle" has no courses.
    let plan = [
        (0, 2, EndOutcome::RecoveredPartly),
        (0, 3, EndOutcome::StillOnBenefit),
        (1, 5, EndOutcome::RecoveredFully),
        (1, 5, EndOutcome::RecoveredFully),
        (2, 4, EndOutcome::LeftBenefit),
        (2, 6, EndOutcome::OtherBenefit(OtherBenefit::Revalidation)),
    ];
    let mut referrals = Vec::new();
    for (i, (ci, to_start, outcome)) in plan.into_iter().enumerate() {
        let course = Course {
            referred_on: day(d(2011, 5, 2), i64::try_from(i).unwrap()),
            to_start,
            absence_days_at_start: 120,
            length_days: 63,
            placement_after_referral: None,
            outcome,
        };
        let n = 3_000 + u64::try_from(i).unwrap();
        let r = refer_and_run(&contracts[ci], &referrals, n, &course);
        referrals.push(r);
    }
    let cards: Vec<Scorecard> = providers
        .iter()
        .map(|p| {
            let mut card = Scorecard::compute(
                Scope::Provider(p.id),
                period_2010_2011(),
                &contracts,
                &referrals,
            );
            card.attach_all(roskilde_2010_2012()).unwrap();
            card
        })
        .collect();

    let by_start = rank(MetricId::ReferralToStartDays, &cards, 1).unwrap();
    let order: Vec<(Scope, Option<u32>)> =
        by_start.iter().map(|e| (e.scope.clone(), e.rank)).collect();
    assert_eq!(
        order,
        [
            (Scope::Provider(providers[0].id), Some(1)),
            (Scope::Provider(providers[1].id), Some(2)),
            (Scope::Provider(providers[2].id), Some(2)),
            (Scope::Provider(providers[3].id), None),
        ],
        "2.5 days first; 5.0 and 5.0 tie"
    );
    assert_eq!(by_start[3].unranked, Some(Unranked::NoData));

    // Higher is better for shares; the same providers rank differently on the two success
    // measures, which are never mixed (A14).
    let by_exit = rank(MetricId::ExitRate, &cards, 1).unwrap();
    assert_eq!(
        by_exit.iter().map(|e| e.rank).collect::<Vec<_>>(),
        [Some(1), Some(1), Some(3), None]
    );
    assert_eq!(by_exit[2].scope, Scope::Provider(providers[0].id));
    let by_recovered = rank(MetricId::RecoveredFullOrPartialRate, &cards, 1).unwrap();
    assert_eq!(by_recovered[0].scope, Scope::Provider(providers[1].id));
    assert_eq!(by_recovered[1].scope, Scope::Provider(providers[0].id));
    assert_eq!(by_recovered[1].value, Some(0.5));

    // Too few courses: unranked rather than first.
    let strict = rank(MetricId::ExitRate, &cards, 3).unwrap();
    assert!(strict.iter().all(|e| e.rank.is_none()));

    // Different periods cannot be ranked together.
    let mut mixed = cards.clone();
    mixed[0] = Scorecard::compute(
        Scope::Provider(providers[0].id),
        DateRange::new(d(2011, 1, 1), d(2011, 12, 31)).unwrap(),
        &contracts,
        &referrals,
    );
    assert!(rank(MetricId::ExitRate, &mixed, 1).is_err());
}

proptest! {
    /// Whatever the courses, metrics are finite, shares stay in 0..=1, and no metric has
    /// more courses than were completed.
    #[test]
    fn metrics_are_always_finite_and_in_range(
        courses in prop::collection::vec(
            (
                0i64..700,
                0i64..40,
                0i64..400,
                0i64..200,
                prop::option::of(0i64..60),
                0u8..7,
                prop::option::of(any::<bool>()),
            ),
            0..60,
        ),
        from in 0i64..800,
        len in 0i64..800,
    ) {
        let p = provider(50, "Any");
        let m = MunicipalityCode::parse("101").unwrap();
        let c = contract(500, &p, &m, Capacity::default(), Target::quick_care_waits().to_vec());
        let outcomes = [
            EndOutcome::RecoveredFully,
            EndOutcome::RecoveredPartly,
            EndOutcome::LeftBenefit,
            EndOutcome::OtherBenefit(OtherBenefit::CashBenefit),
            EndOutcome::StillOnBenefit,
            EndOutcome::DroppedOut,
            EndOutcome::Withdrawn,
        ];
        let base = d(2010, 1, 1);
        let referrals: Vec<Referral> = courses
            .iter()
            .enumerate()
            .map(|(i, &(offset, to_start, absence, length, placement, o, satisfied))| {
                let referred_on = day(base, offset % 730);
                let start = day(referred_on, to_start);
                let outcome = outcomes[usize::from(o)];
                let withdrawn = outcome == EndOutcome::Withdrawn;
                Referral {
                    id: ReferralId::new(1, i as u128),
                    contract: c.id,
                    case: CaseId::new(1, i as u128),
                    first_sick_day: day(referred_on, -absence),
                    referred_on,
                    started_on: (!withdrawn).then_some(start),
                    placement_on: placement
                        .filter(|p| !withdrawn && *p <= length)
                        .map(|p| day(start, p)),
                    partial_return_on: None,
                    satisfied,
                    ended: Some(CourseEnd {
                        on: day(start, length),
                        outcome,
                    }),
                }
            })
            .collect();
        let period = DateRange::new(day(base, from), day(base, from + len)).unwrap();
        let contracts = std::slice::from_ref(&c);
        let card = Scorecard::compute(Scope::Contract(c.id), period, contracts, &referrals);
        for metric in &card.metrics {
            prop_assert!(metric.n <= card.counts.courses_completed);
            prop_assert_eq!(metric.value.is_none(), metric.n == 0);
            if let Some(v) = metric.value {
                prop_assert!(v.is_finite());
                prop_assert!(v >= 0.0);
                if metric.unit() == Unit::Share {
                    prop_assert!(v <= 1.0);
                }
            }
        }
        for miss in &card.target_misses {
            prop_assert!(miss.actual > miss.target && miss.n > 0);
        }
    }
}
