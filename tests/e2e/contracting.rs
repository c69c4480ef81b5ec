//! kia.v1.ContractingService: a Quick Care cohort's scorecard, the Roskilde what-if, contract
//! terms refusing referrals, target misses, ranking, and who sees which contracts.

use chrono::{Duration, NaiveDate};
use kia_proto::v1::{self as pb};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::support::{Backend, Caller, Daemon, on_both_backends};

type Client = kia_proto::v1::contracting_service_client::ContractingServiceClient<
    InterceptedService<Channel, Caller>,
>;

/// A coordinator at Quick Care, registered under organisation id "quick-care".
const QUICK_CARE: Caller = Caller {
    organization: "quick-care",
    kind: "provider",
    municipality: "",
    role: "coordinator",
};

/// An employer: no business with contracts.
const EMPLOYER: Caller = Caller {
    organization: "cvr-29189587",
    kind: "employer",
    municipality: "",
    role: "hr",
};

const MILLION_DKK: i64 = 100_000_000;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn rule_id(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get("rule_id").cloned())
        .unwrap_or_default()
}

pub(crate) async fn provider(c: &mut Client, name: &str, organization: &str) -> String {
    c.create_provider(pb::CreateProviderRequest {
        provider: Some(pb::Provider {
            name: name.into(),
            kind: pb::ProviderKind::PrivateProvider as i32,
            organization_id: organization.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
    .provider
    .unwrap()
    .provider_id
}

/// A 2011 return-to-work contract of Vejle (630) with `provider`.
pub(crate) fn contract(
    provider_id: &str,
    max_concurrent: Option<u32>,
    targets: &[(pb::ScorecardMetric, f64)],
) -> pb::Contract {
    pb::Contract {
        provider_id: provider_id.into(),
        municipality_code: "630".into(),
        service: pb::ServiceType::ReturnToWorkCourse as i32,
        price_oere: 386_000,
        price_unit: pb::PriceUnit::Course as i32,
        max_concurrent,
        period_from: "2011-01-01".into(),
        period_to: "2011-12-31".into(),
        targets: targets
            .iter()
            .map(|(m, v)| pb::ContractTarget {
                metric: *m as i32,
                value: *v,
            })
            .collect(),
        ..Default::default()
    }
}

pub(crate) async fn create_contract(c: &mut Client, contract: pb::Contract) -> String {
    c.create_contract(pb::CreateContractRequest {
        contract: Some(contract),
        request_id: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
    .contract
    .unwrap()
    .contract_id
}

/// A Vejle case first sick on `d0`.
async fn case(daemon: &Daemon, n: usize, d0: NaiveDate) -> String {
    daemon
        .cases(Caller::VEJLE)
        .create_case(pb::CreateCaseRequest {
            r#case: Some(pb::Case {
                municipality_code: "630".into(),
                first_sick_day: d0.to_string(),
                employment_status: pb::EmploymentStatus::Employed as i32,
                employer_reference: "CVR-29189587".into(),
                citizen_reference: format!("vejle-{n:04}"),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap()
        .case_id
}

pub(crate) async fn refer(
    c: &mut Client,
    contract_id: &str,
    case_id: &str,
    on: NaiveDate,
) -> Result<String, tonic::Status> {
    c.refer_case(pb::ReferCaseRequest {
        contract_id: contract_id.into(),
        case_id: case_id.into(),
        referred_on: on.to_string(),
        request_id: String::new(),
    })
    .await
    .map(|r| r.into_inner().referral.unwrap().referral_id)
}

pub(crate) async fn event(
    c: &mut Client,
    referral_id: &str,
    kind: pb::ReferralEventKind,
    on: NaiveDate,
    outcome: pb::ReferralOutcome,
) -> Result<pb::Referral, tonic::Status> {
    c.record_referral_event(pb::RecordReferralEventRequest {
        referral_id: referral_id.into(),
        kind: kind as i32,
        on: on.to_string(),
        outcome: outcome as i32,
        other_benefit: if outcome == pb::ReferralOutcome::OtherBenefit {
            pb::OtherBenefit::FlexJob as i32
        } else {
            0
        },
        ..Default::default()
    })
    .await
    .map(|r| r.into_inner().referral.unwrap())
}

/// One completed course: referred, started `wait` days later, a placement the day after the
/// start when asked, ended `length` days after the start with `outcome`.
#[allow(clippy::too_many_arguments)] // one argument per column of the course table
async fn course(
    daemon: &Daemon,
    c: &mut Client,
    contract_id: &str,
    n: usize,
    referred_on: NaiveDate,
    wait: i64,
    placement: bool,
    length: i64,
    outcome: pb::ReferralOutcome,
) -> String {
    use pb::ReferralEventKind as K;
    let case_id = case(daemon, n, d(2010, 11, 1)).await;
    let id = refer(c, contract_id, &case_id, referred_on).await.unwrap();
    let start = referred_on + Duration::days(wait);
    event(c, &id, K::Started, start, pb::ReferralOutcome::Unspecified)
        .await
        .unwrap();
    if placement {
        event(
            c,
            &id,
            K::PlacementStarted,
            start + Duration::days(1),
            pb::ReferralOutcome::Unspecified,
        )
        .await
        .unwrap();
    }
    event(c, &id, K::Ended, start + Duration::days(length), outcome)
        .await
        .unwrap();
    id
}

fn scorecard_request(contract_id: &str, from: &str, to: &str) -> pb::GetScorecardRequest {
    pb::GetScorecardRequest {
        scope: Some(pb::get_scorecard_request::Scope::ContractId(
            contract_id.into(),
        )),
        period_from: from.into(),
        period_to: to.into(),
    }
}

fn metric(card: &pb::GetScorecardResponse, m: pb::ScorecardMetric) -> &pb::ScorecardMetricValue {
    card.metrics.iter().find(|v| v.metric == m as i32).unwrap()
}

fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|a| (a - expected).abs() < 1e-9)
}

on_both_backends!(
    a_quick_care_cohort_gives_back_the_national_figures,
    the_roskilde_what_if_reproduces_the_seed_scenarios,
    contract_terms_refuse_referrals_with_the_rule_id,
    an_empty_period_has_counts_of_zero_and_no_values,
    a_contract_whose_referrals_start_late_misses_its_target,
    a_provider_sees_only_its_own_contracts,
    two_providers_are_ranked_on_a_metric,
    out_of_order_and_future_events_are_invalid,
);

/// DOMAIN.md §6.1 scaled to 50 courses: 30 leave sickness benefit (60 %), 7 include a work
/// placement (14 %), 45 start after 5 days and 5 after 4 (4.9 days), 40 last 67 days and 10
/// last 68 (67.2 days = 9.6 weeks).
async fn a_quick_care_cohort_gives_back_the_national_figures(backend: Backend) {
    use pb::ReferralOutcome as O;
    let daemon = Daemon::start(backend).await;
    let mut c = daemon.contracting(Caller::VEJLE);
    let qc = provider(&mut c, "Quick Care", "quick-care").await;
    let contract_id = create_contract(&mut c, contract(&qc, None, &[])).await;
    let mut first = String::new();
    for i in 0..50 {
        let outcome = match i {
            0..20 => O::RecoveredFully,
            20..25 => O::LeftBenefit,
            25..30 => O::OtherBenefit,
            30..40 => O::RecoveredPartly,
            _ => O::StillOnBenefit,
        };
        let wait = if i < 45 { 5 } else { 4 };
        let length = if i < 40 { 67 } else { 68 };
        let referred_on = d(2011, 1, 3) + Duration::days(i as i64);
        let id = course(
            &daemon,
            &mut c,
            &contract_id,
            i,
            referred_on,
            wait,
            i < 7,
            length,
            outcome,
        )
        .await;
        if i == 0 {
            first = id;
        }
    }
    let card = c
        .get_scorecard(scorecard_request(&contract_id, "2011-01-01", "2011-12-31"))
        .await
        .unwrap()
        .into_inner();
    let counts = card.counts.unwrap();
    assert_eq!(
        (counts.referrals_received, counts.courses_completed),
        (50, 50)
    );
    use pb::ScorecardMetric as M;
    let exit = metric(&card, M::ExitRate);
    assert_eq!(exit.count, 50);
    assert!(close(exit.value, 0.60), "{exit:?}");
    assert!(close(metric(&card, M::PlacementShare).value, 0.14));
    assert!(close(metric(&card, M::ReferralToStartDays).value, 4.9));
    assert!(close(metric(&card, M::CourseLengthWeeks).value, 9.6));
    assert!(close(
        metric(&card, M::RecoveredFullOrPartialRate).value,
        0.60
    ));
    // The national figure is stored next to the number, with its source.
    let basis = exit.bases.iter().find(|b| b.kind == "benchmark").unwrap();
    assert_eq!((basis.value, basis.count), (Some(0.60), Some(8_908)));
    assert!(basis.source.contains("[004 §7]"));
    // Roskilde's 67 % belongs to the recovered metric, never to the exit rate (A14).
    assert!(exit.bases.iter().all(|b| b.value != Some(0.67)));

    // The municipality's net gain of one citizen, from the case's rule set and the price.
    let gain = c
        .get_net_gain(pb::GetNetGainRequest {
            referral_id: first,
            weekly_benefit_oere: 400_000,
            benefit_weeks_saved: 7.3,
            operating_cost_refund_weeks: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(gain.inferred);
    assert_eq!(gain.days_saved, 51);
    assert_eq!(gain.provider_price_oere, 386_000);
    assert_eq!(gain.net_gain_oere, gain.saved_municipality_oere - 386_000);
    assert!(gain.saved_municipality_oere > 0);
    assert_ne!(gain.rule_set, pb::RuleSet::Unspecified as i32);
}

async fn the_roskilde_what_if_reproduces_the_seed_scenarios(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut c = daemon.contracting(Caller::VEJLE);
    for (effect_pp, price_factor, expected) in [
        (67.0, 1.0, 16.3),
        (67.0, 0.5, 17.2),
        (65.2, 0.5, 16.3),
        (57.0, 1.0, 11.8),
    ] {
        let w = c
            .roskilde_what_if(pb::RoskildeWhatIfRequest {
                effect_pp,
                price_factor,
            })
            .await
            .unwrap()
            .into_inner();
        let expected = (expected * MILLION_DKK as f64) as i64;
        assert!(
            (w.net_gain_oere - expected).abs() <= MILLION_DKK / 10,
            "({effect_pp}, {price_factor}) gave {}",
            w.net_gain_oere
        );
        assert!(w.inferred && w.note.contains("INFERRED"));
    }
    let err = c
        .roskilde_what_if(pb::RoskildeWhatIfRequest {
            effect_pp: 120.0,
            price_factor: 1.0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

async fn contract_terms_refuse_referrals_with_the_rule_id(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut c = daemon.contracting(Caller::VEJLE);
    let qc = provider(&mut c, "Quick Care", "quick-care").await;
    let contract_id = create_contract(&mut c, contract(&qc, Some(1), &[])).await;
    let a = case(&daemon, 1, d(2011, 1, 3)).await;
    let b = case(&daemon, 2, d(2011, 1, 3)).await;
    refer(&mut c, &contract_id, &a, d(2011, 2, 1))
        .await
        .unwrap();

    let full = refer(&mut c, &contract_id, &b, d(2011, 2, 2))
        .await
        .unwrap_err();
    assert_eq!(full.code(), Code::FailedPrecondition);
    assert_eq!(rule_id(&full), "CON-capacity-concurrent");

    let late = refer(&mut c, &contract_id, &b, d(2012, 1, 5))
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert_eq!(rule_id(&late), "CON-period");

    let listed = c
        .list_referrals(pb::ListReferralsRequest {
            contract_id: contract_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.referrals.len(),
        1,
        "refused referrals are not stored"
    );
}

async fn an_empty_period_has_counts_of_zero_and_no_values(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut c = daemon.contracting(Caller::VEJLE);
    let qc = provider(&mut c, "Quick Care", "quick-care").await;
    let contract_id = create_contract(&mut c, contract(&qc, None, &[])).await;
    course(
        &daemon,
        &mut c,
        &contract_id,
        1,
        d(2011, 2, 1),
        5,
        false,
        60,
        pb::ReferralOutcome::RecoveredFully,
    )
    .await;
    let card = c
        .get_scorecard(scorecard_request(&contract_id, "2013-01-01", "2013-01-31"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(card.metrics.len(), 10);
    for m in &card.metrics {
        assert_eq!((m.count, m.value), (0, None), "{m:?}");
    }
    assert_eq!(card.counts.unwrap().courses_completed, 0);
}

async fn a_contract_whose_referrals_start_late_misses_its_target(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut c = daemon.contracting(Caller::VEJLE);
    let qc = provider(&mut c, "Quick Care", "quick-care").await;
    let target = [(pb::ScorecardMetric::ReferralToStartDays, 4.9)];
    let contract_id = create_contract(&mut c, contract(&qc, None, &target)).await;
    for (n, wait) in [(1, 7), (2, 9)] {
        course(
            &daemon,
            &mut c,
            &contract_id,
            n,
            d(2011, 3, 1),
            wait,
            false,
            50,
            pb::ReferralOutcome::RecoveredFully,
        )
        .await;
    }
    let card = c
        .get_scorecard(scorecard_request(&contract_id, "2011-01-01", "2011-12-31"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(card.target_misses.len(), 1);
    let miss = &card.target_misses[0];
    assert_eq!(miss.metric, pb::ScorecardMetric::ReferralToStartDays as i32);
    assert_eq!((miss.target, miss.actual, miss.count), (4.9, 8.0, 2));
    assert_eq!(miss.rule_id, "AL-21");
}

async fn a_provider_sees_only_its_own_contracts(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut jc = daemon.contracting(Caller::VEJLE);
    let qc = provider(&mut jc, "Quick Care", "quick-care").await;
    let other = provider(&mut jc, "Another Actor", "another-actor").await;
    let own = create_contract(&mut jc, contract(&qc, None, &[])).await;
    let foreign = create_contract(&mut jc, contract(&other, None, &[])).await;
    let case_id = case(&daemon, 1, d(2011, 1, 3)).await;
    let referral = refer(&mut jc, &own, &case_id, d(2011, 2, 1)).await.unwrap();

    let mut p = daemon.contracting(QUICK_CARE);
    let listed = p
        .list_contracts(pb::ListContractsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = listed
        .contracts
        .iter()
        .map(|c| c.contract_id.as_str())
        .collect();
    assert_eq!(ids, [own.as_str()]);
    let denied = p
        .get_contract(pb::GetContractRequest {
            contract_id: foreign.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // The provider records the start of a course it was referred.
    let started = event(
        &mut p,
        &referral,
        pb::ReferralEventKind::Started,
        d(2011, 2, 4),
        pb::ReferralOutcome::Unspecified,
    )
    .await
    .unwrap();
    assert_eq!(started.started_on, "2011-02-04");
    let referrals = p
        .list_referrals(pb::ListReferralsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(referrals.referrals.len(), 1);

    // Another jobcenter and an employer see nothing of Vejle's contracts.
    let err = daemon
        .contracting(Caller::AABENRAA)
        .get_contract(pb::GetContractRequest {
            contract_id: own.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = daemon
        .contracting(EMPLOYER)
        .list_contracts(pb::ListContractsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

async fn two_providers_are_ranked_on_a_metric(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let mut c = daemon.contracting(Caller::VEJLE);
    let qc = provider(&mut c, "Quick Care", "quick-care").await;
    let other = provider(&mut c, "Another Actor", "another-actor").await;
    let fast = create_contract(&mut c, contract(&qc, None, &[])).await;
    let slow = create_contract(&mut c, contract(&other, None, &[])).await;
    course(
        &daemon,
        &mut c,
        &slow,
        1,
        d(2011, 3, 1),
        12,
        false,
        50,
        pb::ReferralOutcome::RecoveredFully,
    )
    .await;
    course(
        &daemon,
        &mut c,
        &fast,
        2,
        d(2011, 3, 1),
        4,
        false,
        50,
        pb::ReferralOutcome::RecoveredFully,
    )
    .await;
    let ranked = c
        .rank_providers(pb::RankProvidersRequest {
            metric: pb::ScorecardMetric::ReferralToStartDays as i32,
            period_from: "2011-01-01".into(),
            period_to: "2011-12-31".into(),
            min_count: 1,
        })
        .await
        .unwrap()
        .into_inner()
        .ranks;
    let order: Vec<_> = ranked
        .iter()
        .map(|r| (r.provider_id.as_str(), r.rank, r.value))
        .collect();
    assert_eq!(
        order,
        [
            (qc.as_str(), Some(1), Some(4.0)),
            (other.as_str(), Some(2), Some(12.0))
        ]
    );
}

async fn out_of_order_and_future_events_are_invalid(backend: Backend) {
    use pb::ReferralEventKind as K;
    let daemon = Daemon::start(backend).await;
    let mut c = daemon.contracting(Caller::VEJLE);
    let qc = provider(&mut c, "Quick Care", "quick-care").await;
    let contract_id = create_contract(&mut c, contract(&qc, None, &[])).await;
    let case_id = case(&daemon, 1, d(2011, 1, 3)).await;
    let id = refer(&mut c, &contract_id, &case_id, d(2011, 2, 1))
        .await
        .unwrap();
    let none = pb::ReferralOutcome::Unspecified;

    let before = event(&mut c, &id, K::Started, d(2011, 1, 20), none)
        .await
        .unwrap_err();
    assert_eq!(before.code(), Code::InvalidArgument);
    let placement_first = event(&mut c, &id, K::PlacementStarted, d(2011, 2, 5), none)
        .await
        .unwrap_err();
    assert_eq!(placement_first.code(), Code::InvalidArgument);
    let future = event(&mut c, &id, K::Started, d(2099, 1, 1), none)
        .await
        .unwrap_err();
    assert_eq!(future.code(), Code::InvalidArgument);

    event(&mut c, &id, K::Started, d(2011, 2, 4), none)
        .await
        .unwrap();
    let end_before_start = event(
        &mut c,
        &id,
        K::Ended,
        d(2011, 2, 2),
        pb::ReferralOutcome::DroppedOut,
    )
    .await
    .unwrap_err();
    assert_eq!(end_before_start.code(), Code::InvalidArgument);
}
