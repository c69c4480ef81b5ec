//! Acceptance scenarios for the holistic (360-degree) screening (DOMAIN.md §8.1, §8.4) and the
//! employer view's leak-proofing (§4.4).
//!
//! * KIA-LENE — [003 ch5 case 1], 003_532c043554107ee2.txt: Lene, 46, pedagogue, sick-listed
//!   with low-back pain; after six weeks (D42) she talks with a doctor, a chiropractor, a
//!   physiotherapist and a psychologist within two hours; the team plans a return at four
//!   hours a day and a short course in lifting technique and pain management.
//! * AABENRAA-SCREENING — [004 §6.1], 004_29a2444e953dfa53.txt: two jobcentre caseworkers and a
//!   Quick Care doctor and physiotherapist screen every new case; clarification within 8 weeks.

#![allow(clippy::unwrap_used)]

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use kia_domain::case::CaseId;
use kia_domain::facts::{Category, OfferType, WeeklyHours};
use kia_domain::icf::{Component, IcfCode};
use kia_domain::screening::{
    AssessmentInput, Change, ConclusionInput, Discipline, Domain, ExpectedReturn, FindingInput,
    HealthCondition, IcfInput, Member, NewCase, OrganisationKind, PlanActivity, PlanActivityKind,
    Screening, ScreeningError, ScreeningGroup, WorkAdaptation, WorkingMode, assessment_deadline,
    screening_queue,
};
use kia_domain::timeline::Status;
use kia_domain::weeks::{day, end_of_sick_week, sick_week_of};
use proptest::prelude::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(d: NaiveDate, h: u32, m: u32) -> NaiveDateTime {
    d.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap())
}

fn member(reference: &str, discipline: Discipline, organisation: OrganisationKind) -> Member {
    Member {
        reference: reference.into(),
        discipline,
        organisation,
    }
}

fn written(codes: &[(&str, &str)]) -> Vec<FindingInput> {
    codes
        .iter()
        .map(|(code, note)| FindingInput {
            icf: IcfInput::Written((*code).into()),
            note: (*note).into(),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn assessment(
    discipline: Discipline,
    assessor: &str,
    start: NaiveDateTime,
    minutes: i64,
    findings: Vec<FindingInput>,
    domains: &[Domain],
    work_capacity: &str,
    personal_factors: &str,
) -> AssessmentInput {
    AssessmentInput {
        discipline,
        assessor: Some(assessor.into()),
        started_at: start,
        ended_at: Some(start + TimeDelta::minutes(minutes)),
        findings,
        personal_factors: personal_factors.into(),
        work_capacity: work_capacity.into(),
        barriers: vec![],
        recommended_actions: vec![],
        domains: domains.to_vec(),
        health_condition: None,
    }
}

fn code(s: &str) -> IcfCode {
    IcfCode::parse(s).unwrap()
}

// -------------------------------------------------------------------------------------------
// KIA-LENE

fn kia_team() -> ScreeningGroup {
    use Discipline::*;
    use OrganisationKind::Provider;
    ScreeningGroup::new(
        "KIA Vejle County",
        vec![
            member("kia-doctor", Doctor, Provider),
            member("kia-chiropractor", Chiropractor, Provider),
            member("kia-physio", Physiotherapist, Provider),
            member("kia-psychologist", Psychologist, Provider),
            member("kia-coordinator", SocialWorkerCoordinator, Provider),
        ],
        WorkingMode::kia(),
        // Lene's team has no caseworker: the four disciplines she talked with are required.
        Some(vec![Doctor, Chiropractor, Physiotherapist, Psychologist]),
    )
    .unwrap()
}

#[test]
fn kia_lene() {
    use Discipline::*;
    use Domain::*;
    let d0 = date(2006, 3, 6);
    let referral = day(d0, 42);
    assert_eq!(
        sick_week_of(d0, referral),
        Some(7),
        "inside the 4-12-week KIA window"
    );
    let lene = CaseId::new(1_141_603_200_000, 46);

    // The default requirement (caseworker, doctor, physio, psychologist) cannot fit this team.
    let e = ScreeningGroup::new(
        "KIA Vejle County",
        kia_team().members().to_vec(),
        WorkingMode::kia(),
        None,
    )
    .unwrap_err();
    assert!(e.0[0].description.contains("caseworker"));

    let mut s = Screening::open(lene, kia_team(), referral);
    let mut doctor = assessment(
        Doctor,
        "kia-doctor",
        at(referral, 9, 0),
        25,
        written(&[("b28013.3", "pain in the lower back, worse when lifting")]),
        &[Physical],
        "can work a few hours a day with limited lifting",
        "",
    );
    doctor.health_condition = Some(HealthCondition {
        icd_code: Some("M54.5".into()),
        description: Some("low back pain; X-rays show wear on the spine".into()),
        diagnosis_clear: true,
        on_standby_list: false,
    });
    s.add_assessment(doctor).unwrap();
    s.add_assessment(assessment(
        Chiropractor,
        "kia-chiropractor",
        at(referral, 9, 30),
        25,
        written(&[("s76002.17", "wear, normal for her age"), ("b710.1", "")]),
        &[Physical],
        "the back tolerates activity; keeping it moving is important",
        "",
    ))
    .unwrap();
    let mut physio = assessment(
        Physiotherapist,
        "kia-physio",
        at(referral, 10, 0),
        25,
        written(&[
            ("d430.23", "lifting children is the hardest task"),
            ("d4153.1", ""),
            ("b730.1", ""),
            ("e330+2", "the manager is supportive"),
        ]),
        &[Physical, Employment],
        "four hours a day; avoid heavy lifting at first",
        "",
    );
    physio.barriers = vec!["fears that working will worsen her back".into()];
    physio.recommended_actions = vec!["review her job functions at the workplace".into()];
    s.add_assessment(physio).unwrap();

    let not_yet = s.readiness();
    assert_eq!(not_yet.missing_disciplines, [Psychologist]);
    assert_eq!(not_yet.missing_domains, [Psychological, Social]);
    assert!(matches!(
        s.conclude(lene_conclusion(d0), None),
        Err(ScreeningError::NotReady(_))
    ));

    s.add_assessment(assessment(
        Psychologist,
        "kia-psychologist",
        at(referral, 10, 30),
        25,
        written(&[("b152.2", "anxious about the back"), ("d240.2", "")]),
        &[Psychological, Social],
        "motivated to return if the load is adapted",
        "46, pedagogue; fears her condition will worsen; wants to keep her job",
    ))
    .unwrap();
    assert!(matches!(
        s.add_assessment(assessment(
            Psychologist,
            "kia-psychologist",
            at(referral, 11, 0),
            5,
            vec![],
            &[Psychological],
            "second opinion",
            "",
        )),
        Err(ScreeningError::DuplicateDiscipline {
            discipline: Psychologist
        })
    ));

    // T-24: all four within two hours.
    let session = s.session().unwrap();
    assert_eq!(
        session.disciplines,
        [Doctor, Chiropractor, Physiotherapist, Psychologist]
    );
    assert_eq!(
        (
            session.span_minutes,
            session.limit_minutes,
            session.within_limit
        ),
        (115, 120, true)
    );

    let c = s.conclude(lene_conclusion(d0), None).unwrap().clone();
    assert_eq!(c.recommended_category, Category::Two);
    assert_eq!(c.plan_activities.len(), 3);
    assert_eq!(
        c.plan_activities[0].kind,
        Some(PlanActivityKind::ActiveOffer {
            offer_type: OfferType::GuidanceAndUpskilling
        })
    );
    assert_eq!(
        c.plan_activities[1].kind,
        Some(PlanActivityKind::PartialReturn)
    );
    let pain = c.profile.get(code("b28013")).unwrap();
    assert_eq!(
        (pain.assessed_by, pain.change, pain.describe().as_str()),
        (Doctor, Change::New, "b28013: new (3)")
    );
    assert_eq!(c.profile.entries.len(), 9);

    // T-21: concluded on D42 <= D55.
    let t21 = assessment_deadline(d0, Some(c.concluded_on), referral);
    assert_eq!(
        (t21.rule_id, t21.due, t21.status, t21.is_late()),
        ("T-21", end_of_sick_week(d0, 8), Status::Met, false)
    );
    assert_eq!(t21.due, day(d0, 55));
    assert!(!s.deadline(d0, day(d0, 90)).raises_alert());

    // The employer sees functional limitations, adaptations and timing only.
    let view = s.employer_view();
    assert_eq!(
        view.statements(),
        [
            "handling stress and psychological demands: moderate difficulty",
            "maintaining a sitting position: mild difficulty",
            "lifting and carrying: moderate difficulty",
            "reduced hours: 20 h/week",
            "changed tasks",
            "expected partial return from 2006-04-24",
            "expected full return by 2006-06-08",
        ]
    );
    let everything = format!("{view:?} {:?}", view.statements());
    for secret in [
        "M54.5",
        "b28013",
        "s76002",
        "b152",
        "b730",
        "e330",
        "X-ray",
        "wear",
        "pedagogue",
        "fears",
        "lower back",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked: {everything}"
        );
    }

    // About a month later the team reviews her again: pain and lifting have improved.
    let review_day = day(d0, 75);
    let mut review = Screening::open(lene, kia_team(), review_day);
    for (d, who, codes, domains) in [
        (Doctor, "kia-doctor", vec![("b28013.2", "")], vec![Physical]),
        (
            Chiropractor,
            "kia-chiropractor",
            vec![("b710.0", "")],
            vec![Physical],
        ),
        (
            Physiotherapist,
            "kia-physio",
            vec![("d430.12", ""), ("e330+3", "")],
            vec![Physical, Employment],
        ),
        (
            Psychologist,
            "kia-psychologist",
            vec![("b152.1", ""), ("d240.1", "")],
            vec![Psychological, Social],
        ),
    ] {
        review
            .add_assessment(assessment(
                d,
                who,
                at(review_day, 9, 0),
                30,
                written(&codes),
                &domains,
                "stepping up her hours",
                "",
            ))
            .unwrap();
    }
    let again = review
        .conclude(
            ConclusionInput {
                concluded_on: review_day,
                ..lene_conclusion(d0)
            },
            Some(&s),
        )
        .unwrap();
    let entry = |c: &str| again.profile.get(code(c)).unwrap();
    assert_eq!(entry("b28013").describe(), "b28013: 3 → 2 (improved)");
    assert_eq!(entry("d430").change, Change::Improved);
    assert_eq!(
        entry("e330").change,
        Change::Improved,
        "stronger facilitator"
    );
    assert_eq!(entry("b710").change, Change::Improved);
    let dropped: Vec<&str> = again
        .profile
        .not_reassessed
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(dropped, ["b730", "d4153", "s76002"]);
}

fn lene_conclusion(d0: NaiveDate) -> ConclusionInput {
    ConclusionInput {
        concluded_on: day(d0, 42),
        recommended_category: Category::Two,
        exemption: None,
        plan_activities: vec![
            PlanActivity {
                description: "short course in lifting technique and in managing her pain".into(),
                kind: Some(PlanActivityKind::ActiveOffer {
                    offer_type: OfferType::GuidanceAndUpskilling,
                }),
            },
            PlanActivity {
                description: "partial return at four hours a day, stepping up after a month".into(),
                kind: Some(PlanActivityKind::PartialReturn),
            },
            PlanActivity {
                description: "review of her job functions at the workplace with the \
                              physiotherapist"
                    .into(),
                kind: Some(PlanActivityKind::WorkplaceContact),
            },
        ],
        work_adaptations: vec![
            WorkAdaptation::ReducedHours {
                hours_per_week: WeeklyHours::hours(20),
            },
            WorkAdaptation::ChangedTasks,
        ],
        expected_return: Some(ExpectedReturn {
            partial_from: Some(day(d0, 49)),
            full_by: Some(day(d0, 94)),
        }),
    }
}

// -------------------------------------------------------------------------------------------
// AABENRAA-SCREENING

fn aabenraa_group() -> ScreeningGroup {
    use Discipline::*;
    use OrganisationKind::*;
    ScreeningGroup::new(
        "Aabenraa screening group",
        vec![
            member("jc-caseworker-1", Caseworker, Jobcentre),
            member("jc-caseworker-2", Caseworker, Jobcentre),
            member("qc-doctor", Doctor, Provider),
            member("qc-physio", Physiotherapist, Provider),
        ],
        WorkingMode::StandingGroup,
        Some(vec![Caseworker, Doctor, Physiotherapist]),
    )
    .unwrap()
}

fn screen_case(case_id: CaseId, on: NaiveDate) -> Screening {
    use Discipline::*;
    use Domain::*;
    let mut s = Screening::open(case_id, aabenraa_group(), on);
    s.add_assessment(assessment(
        Caseworker,
        "jc-caseworker-1",
        at(on, 9, 0),
        20,
        written(&[("d845.2", ""), ("e590+2", "")]),
        &[Social, Employment],
        "attached to the labour market; employer keeps the job open",
        "",
    ))
    .unwrap();
    s.add_assessment(assessment(
        Doctor,
        "qc-doctor",
        at(on, 9, 0),
        20,
        written(&[("b280.2", ""), ("b130.1", "")]),
        &[Physical, Psychological],
        "partial work capacity",
        "",
    ))
    .unwrap();
    s.add_assessment(assessment(
        Physiotherapist,
        "qc-physio",
        at(on, 9, 0),
        20,
        written(&[("d415.2", "")]),
        &[Physical],
        "can sit for 30 minutes at a time",
        "",
    ))
    .unwrap();
    s
}

#[test]
fn aabenraa_screening() {
    let group = aabenraa_group();
    let roles: Vec<(Discipline, OrganisationKind)> = group
        .members()
        .iter()
        .map(|m| (m.discipline, m.organisation))
        .collect();
    assert_eq!(
        roles,
        [
            (Discipline::Caseworker, OrganisationKind::Jobcentre),
            (Discipline::Caseworker, OrganisationKind::Jobcentre),
            (Discipline::Doctor, OrganisationKind::Provider),
            (Discipline::Physiotherapist, OrganisationKind::Provider),
        ]
    );
    assert!(
        ScreeningGroup::new(
            "Aabenraa screening group",
            group.members().to_vec(),
            WorkingMode::StandingGroup,
            None,
        )
        .is_err(),
        "no psychologist in the group: the default requirement must be configured away"
    );

    let meeting = date(2011, 2, 14);
    let mut cases: Vec<NewCase> = [
        (1, date(2011, 1, 3)),
        (2, date(2011, 1, 10)),
        (3, date(2010, 12, 27)),
        (4, date(2011, 1, 17)),
        (5, date(2011, 1, 5)),
    ]
    .iter()
    .map(|(n, d0)| NewCase {
        case_id: CaseId::new(1_294_000_000_000, *n),
        first_sick_day: *d0,
        screened: false,
    })
    .collect();

    let q = screening_queue(&cases, meeting);
    assert_eq!(q.unscreened_new_cases, 5);
    assert_eq!(q.overdue, 0);
    let order: Vec<NaiveDate> = q.queue.iter().map(|e| e.first_sick_day).collect();
    assert_eq!(
        order,
        [
            date(2010, 12, 27),
            date(2011, 1, 3),
            date(2011, 1, 5),
            date(2011, 1, 10),
            date(2011, 1, 17)
        ],
        "earliest D55 first"
    );
    assert_eq!(q.queue[0].due, day(date(2010, 12, 27), 55));
    assert_eq!(q.queue[0].days_left, 6);

    // The group screens every new case at the meeting, in queue order.
    let mut screenings = Vec::new();
    for entry in &q.queue {
        let mut s = screen_case(entry.case_id, meeting);
        s.conclude(
            ConclusionInput {
                concluded_on: meeting,
                recommended_category: Category::Two,
                exemption: None,
                plan_activities: vec![PlanActivity {
                    description: "clarification at the health-clarifying resource centre".into(),
                    kind: None,
                }],
                work_adaptations: vec![],
                expected_return: None,
            },
            None,
        )
        .unwrap();
        let t21 = s.deadline(entry.first_sick_day, meeting);
        assert_eq!((t21.status, t21.is_late()), (Status::Met, false));
        let c = cases
            .iter_mut()
            .find(|c| c.case_id == entry.case_id)
            .unwrap();
        c.screened = true;
        screenings.push(s);
    }
    let after = screening_queue(&cases, meeting);
    assert_eq!(after.unscreened_new_cases, 0);
    assert!(after.queue.is_empty());
    assert_eq!(screenings.len(), 5);

    // A new case the group has not concluded by D55 is overdue (AL-07) and tops the queue.
    let late_d0 = date(2011, 1, 3);
    let late = NewCase {
        case_id: CaseId::new(1_294_000_000_000, 6),
        first_sick_day: late_d0,
        screened: false,
    };
    cases.push(late);
    let d56 = day(late_d0, 56);
    let t21 = assessment_deadline(late_d0, None, d56);
    assert_eq!(
        (t21.due, t21.status, t21.alert_id, t21.raises_alert()),
        (day(late_d0, 55), Status::Overdue, "AL-07", true)
    );
    assert_eq!(
        assessment_deadline(late_d0, None, day(late_d0, 55)).status,
        Status::Due,
        "D55 itself is still in time"
    );
    let q = screening_queue(&cases, d56);
    assert_eq!((q.unscreened_new_cases, q.overdue), (1, 1));
    assert_eq!(
        (q.queue[0].case_id, q.queue[0].status),
        (late.case_id, Status::Overdue)
    );

    // Screened and concluded, but after D55: met late.
    let s = {
        let mut s = screen_case(late.case_id, d56);
        s.conclude(
            ConclusionInput {
                concluded_on: d56,
                recommended_category: Category::Three,
                exemption: None,
                plan_activities: vec![],
                work_adaptations: vec![],
                expected_return: None,
            },
            None,
        )
        .unwrap();
        s
    };
    let t21 = s.deadline(late_d0, d56);
    assert_eq!((t21.status, t21.is_late()), (Status::Met, true));
}

// -------------------------------------------------------------------------------------------
// Employer view: nothing medical can leak, whatever the input

const SECRETS: &[&str] = &[
    "M54.5",
    "DM545",
    "F32.1",
    "G35",
    "lumbago",
    "depression",
    "herniated disc",
    "multiple sclerosis",
    "b28013",
    "s76002",
    "s120",
    "b152.3",
];

const ICD: &[&str] = &["M54.5", "DM545", "F32.1", "G35.9", "M51.1"];

const ITEMS: &[&str] = &[
    "b28013", "b130", "b152", "b280", "b455", "b710", "b730", "b7101", "s12000", "s760", "s76002",
    "s120", "d155", "d240", "d410", "d4105", "d415", "d4153", "d430", "d4300", "d450", "d510",
    "d530", "d570", "d640", "d720", "d760", "d770", "d845", "d850", "d8502", "d920", "e310",
    "e330", "e355", "e580", "e590",
];

fn text() -> impl Strategy<Value = String> {
    (
        "[A-Za-z0-9 .,;:+()/-]{0,30}",
        prop::sample::select(SECRETS),
        "[A-Za-z0-9 .,;:+()/-]{0,30}",
    )
        .prop_map(|(a, secret, b)| format!("{a}{secret} ZZSECRET {b}"))
}

fn finding() -> impl Strategy<Value = FindingInput> {
    (
        prop::sample::select(ITEMS),
        prop::collection::vec(prop::sample::select(&[0u32, 1, 2, 3, 4, 8, 9][..]), 1..=3),
        any::<bool>(),
        text(),
    )
        .prop_map(|(code, qs, facilitator, note)| {
            let component = match &code[..1] {
                "b" => Component::BodyFunctions,
                "s" => Component::BodyStructures,
                "d" => Component::ActivitiesAndParticipation,
                _ => Component::EnvironmentalFactors,
            };
            let max = match component {
                Component::BodyStructures => 3,
                Component::ActivitiesAndParticipation => 2,
                _ => 1,
            };
            let is_e = component == Component::EnvironmentalFactors;
            let mut qs: Vec<u32> = qs.into_iter().take(max).collect();
            if is_e && facilitator && qs[0] == 9 {
                qs[0] = 8;
            }
            FindingInput {
                icf: IcfInput::Structured {
                    component,
                    code: code.into(),
                    qualifiers: qs,
                    facilitator: facilitator && is_e,
                },
                note,
            }
        })
}

fn assessment_input(discipline: Discipline, minute: u32) -> impl Strategy<Value = AssessmentInput> {
    (
        prop::collection::vec(finding(), 0..8),
        text(),
        text(),
        prop::collection::vec(text(), 0..3),
        prop::collection::vec(text(), 0..3),
        prop::sample::select(ICD),
        text(),
        any::<bool>(),
    )
        .prop_map(
            move |(findings, personal, capacity, barriers, actions, icd, desc, clear)| {
                let mut seen = std::collections::BTreeSet::new();
                let findings = findings
                    .into_iter()
                    .filter(|f| match &f.icf {
                        IcfInput::Structured { code, .. } => seen.insert(code.clone()),
                        IcfInput::Written(_) => true,
                    })
                    .collect();
                AssessmentInput {
                    discipline,
                    assessor: None,
                    started_at: at(date(2012, 5, 7), 9, minute),
                    ended_at: None,
                    findings,
                    personal_factors: personal,
                    work_capacity: capacity,
                    barriers,
                    recommended_actions: actions,
                    domains: Domain::ALL.to_vec(),
                    health_condition: Some(HealthCondition {
                        icd_code: Some(icd.into()),
                        description: Some(desc),
                        diagnosis_clear: clear,
                        on_standby_list: !clear,
                    }),
                }
            },
        )
}

fn has_body_code_token(s: &str) -> bool {
    s.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| {
        let mut cs = t.chars();
        matches!(cs.next(), Some('b' | 's' | 'B' | 'S'))
            && !cs.as_str().is_empty()
            && cs.as_str().chars().all(|c| c.is_ascii_digit())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn employer_view_never_carries_medical_or_personal_data(
        doctor in assessment_input(Discipline::Doctor, 0),
        physio in assessment_input(Discipline::Physiotherapist, 20),
        psych in assessment_input(Discipline::Psychologist, 40),
        caseworker in assessment_input(Discipline::Caseworker, 50),
        plan in text(),
        exemption in text(),
        conclude in any::<bool>(),
    ) {
        let group = ScreeningGroup::new(
            "team",
            vec![
                member("cw", Discipline::Caseworker, OrganisationKind::Jobcentre),
                member("dr", Discipline::Doctor, OrganisationKind::Provider),
                member("pt", Discipline::Physiotherapist, OrganisationKind::Provider),
                member("ps", Discipline::Psychologist, OrganisationKind::Provider),
            ],
            WorkingMode::kia(),
            None,
        ).unwrap();
        let mut s = Screening::open(CaseId::new(1, 1), group, date(2012, 5, 7));
        for a in [doctor, physio, psych, caseworker] {
            s.add_assessment(a).unwrap();
        }
        if conclude {
            s.conclude(ConclusionInput {
                concluded_on: date(2012, 5, 7),
                recommended_category: Category::Two,
                exemption: Some(kia_domain::screening::ExemptionRecommendation {
                    ground: None,
                    reason: exemption,
                }),
                plan_activities: vec![PlanActivity { description: plan, kind: None }],
                work_adaptations: vec![
                    WorkAdaptation::HomeWork,
                    WorkAdaptation::ReducedHours { hours_per_week: WeeklyHours::hours(18) },
                ],
                expected_return: Some(ExpectedReturn {
                    partial_from: Some(date(2012, 5, 14)),
                    full_by: None,
                }),
            }, None).unwrap();
        }
        let view = s.employer_view();
        let rendered = format!("{view:?}\n{}", view.statements().join("\n"));
        for secret in SECRETS.iter().chain(ICD).chain(&["ZZSECRET"]) {
            prop_assert!(!rendered.contains(secret), "{secret} leaked into {rendered}");
        }
        prop_assert!(!has_body_code_token(&rendered), "b/s code in {rendered}");
        for l in &view.limitations {
            prop_assert_eq!(l.activity.component(), Component::ActivitiesAndParticipation);
            prop_assert!(!["d510", "d530", "d570", "d640", "d760", "d770", "d920"]
                .contains(&l.activity.as_str()));
        }
    }
}
