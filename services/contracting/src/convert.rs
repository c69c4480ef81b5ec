//! Conversions between the wire types of kia.v1 and `kia_domain::contracting`, done once at the
//! edge.
//!
//! The wire enums spell the domain's stable names upper-cased after their prefix
//! (`ServiceType::ReturnToWorkCourse` = "return_to_work_course" =
//! `SERVICE_TYPE_RETURN_TO_WORK_COURSE`), so one pair of helpers maps them all.

use kia_domain::contracting::{
    BasisKind, Capacity, ComparisonBasis, Contract, EndOutcome, MetricId, Price, Provider,
    RawContract, ReferralEvent, Scope, Scorecard, Target, Unit, WindowCap,
};
use kia_domain::error::Invalid;
use kia_proto::v1 as pb;
use kia_runtime::{ApiError, Identity};
use kia_store::{IdempotencyKey, ProviderRecord, ReferralRecord};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// The wire value of a domain enum: its stable name, upper-cased, after `prefix`.
fn to_wire<T: Serialize, P: Into<i32>>(
    value: &T,
    prefix: &str,
    from_name: fn(&str) -> Option<P>,
) -> i32 {
    let name = serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_uppercase))
        .unwrap_or_default();
    from_name(&format!("{prefix}_{name}")).map_or(0, Into::into)
}

/// The domain value of a wire enum; `None` for the zero value and unknown numbers.
fn from_wire<T: DeserializeOwned, P: TryFrom<i32>>(
    raw: i32,
    prefix: &str,
    as_name: fn(&P) -> &'static str,
) -> Option<T> {
    let wire = P::try_from(raw).ok()?;
    let name = as_name(&wire).strip_prefix(prefix)?.strip_prefix('_')?;
    serde_json::from_value(serde_json::Value::String(name.to_lowercase())).ok()
}

macro_rules! wire_enum {
    ($to:ident, $from:ident, $domain:ty, $wire:ident, $prefix:literal) => {
        pub(crate) fn $to(value: $domain) -> i32 {
            to_wire(&value, $prefix, pb::$wire::from_str_name)
        }
        pub(crate) fn $from(raw: i32) -> Option<$domain> {
            from_wire(raw, $prefix, pb::$wire::as_str_name)
        }
    };
}

use kia_domain::contracting as d;
wire_enum!(
    kind_to_pb,
    kind_from_pb,
    d::ProviderKind,
    ProviderKind,
    "PROVIDER_KIND"
);
wire_enum!(
    service_to_pb,
    service_from_pb,
    d::ServiceType,
    ServiceType,
    "SERVICE_TYPE"
);
wire_enum!(
    task_to_pb,
    task_from_pb,
    d::DelegatedTask,
    DelegatedTask,
    "DELEGATED_TASK"
);
wire_enum!(
    unit_to_pb,
    unit_from_pb,
    d::PriceUnit,
    PriceUnit,
    "PRICE_UNIT"
);
wire_enum!(
    window_to_pb,
    window_from_pb,
    d::CapacityWindow,
    CapacityWindow,
    "CAPACITY_WINDOW"
);
wire_enum!(
    metric_to_pb,
    metric_from_pb,
    MetricId,
    ScorecardMetric,
    "SCORECARD_METRIC"
);
wire_enum!(
    other_to_pb,
    other_from_pb,
    d::OtherBenefit,
    OtherBenefit,
    "OTHER_BENEFIT"
);

pub(crate) fn outcome_from_pb(outcome: i32, other: i32) -> Result<EndOutcome, Invalid> {
    use pb::ReferralOutcome as O;
    Ok(match O::try_from(outcome).unwrap_or(O::Unspecified) {
        O::RecoveredFully => EndOutcome::RecoveredFully,
        O::RecoveredPartly => EndOutcome::RecoveredPartly,
        O::LeftBenefit => EndOutcome::LeftBenefit,
        O::OtherBenefit => EndOutcome::OtherBenefit(other_from_pb(other).ok_or_else(|| {
            Invalid::single(
                "other_benefit",
                "must name the benefit the citizen left for",
            )
        })?),
        O::StillOnBenefit => EndOutcome::StillOnBenefit,
        O::DroppedOut => EndOutcome::DroppedOut,
        O::Withdrawn => EndOutcome::Withdrawn,
        O::Unspecified => return Err(Invalid::single("outcome", "must say how the course ended")),
    })
}

fn outcome_to_pb(outcome: EndOutcome) -> (pb::ReferralOutcome, i32) {
    use pb::ReferralOutcome as O;
    match outcome {
        EndOutcome::RecoveredFully => (O::RecoveredFully, 0),
        EndOutcome::RecoveredPartly => (O::RecoveredPartly, 0),
        EndOutcome::LeftBenefit => (O::LeftBenefit, 0),
        EndOutcome::OtherBenefit(b) => (O::OtherBenefit, other_to_pb(b)),
        EndOutcome::StillOnBenefit => (O::StillOnBenefit, 0),
        EndOutcome::DroppedOut => (O::DroppedOut, 0),
        EndOutcome::Withdrawn => (O::Withdrawn, 0),
    }
}

/// The referral event a request records; violations name the request's fields.
pub(crate) fn referral_event(r: &pb::RecordReferralEventRequest) -> Result<ReferralEvent, Invalid> {
    use pb::ReferralEventKind as K;
    let kind = K::try_from(r.kind).unwrap_or(K::Unspecified);
    if kind == K::SatisfactionRecorded {
        return Ok(ReferralEvent::SatisfactionRecorded {
            satisfied: r.satisfied,
        });
    }
    if kind == K::Unspecified {
        return Err(Invalid::single("kind", "must name the referral event"));
    }
    let mut invalid = Invalid::default();
    let on = kia_domain::case::parse_date(&r.on)
        .map_err(|e| invalid.push("on", e))
        .ok();
    let outcome = match kind {
        K::Ended => outcome_from_pb(r.outcome, r.other_benefit)
            .map_err(|e| invalid.0.extend(e.0))
            .ok(),
        _ => None,
    };
    let Some(on) = on else {
        return Err(invalid);
    };
    invalid.into_result(())?;
    Ok(match (kind, outcome) {
        (K::Started, _) => ReferralEvent::Started { on },
        (K::PlacementStarted, _) => ReferralEvent::PlacementStarted { on },
        (K::PartialReturn, _) => ReferralEvent::PartialReturn { on },
        (K::Ended, Some(outcome)) => ReferralEvent::Ended { on, outcome },
        _ => return Err(Invalid::single("kind", "must name the referral event")),
    })
}

pub(crate) fn provider_to_pb(record: &ProviderRecord) -> pb::Provider {
    let p = &record.provider;
    pb::Provider {
        provider_id: p.id.to_string(),
        name: p.name.clone(),
        kind: kind_to_pb(p.kind),
        cvr: p.cvr.clone().unwrap_or_default(),
        organization_id: record.organization.clone(),
    }
}

pub(crate) fn raw_provider(p: &pb::Provider) -> d::RawProvider<'_> {
    d::RawProvider {
        name: &p.name,
        kind: kind_from_pb(p.kind),
        cvr: &p.cvr,
    }
}

/// A contract as sent; `provider` is `None` when the id does not parse (reported as required).
pub(crate) fn raw_contract(c: &pb::Contract) -> Result<RawContract<'_>, Invalid> {
    let mut invalid = Invalid::default();
    let provider = match c.provider_id.as_str() {
        "" => None,
        raw => raw
            .parse()
            .map_err(|_| invalid.push("contract.provider_id", "is not a provider id"))
            .ok(),
    };
    let price = unit_from_pb(c.price_unit).map(|per| Price {
        amount: c.price_oere,
        per,
    });
    let per_window = match (c.window_max, window_from_pb(c.window)) {
        (None, _) => None,
        (Some(max), Some(window)) => Some(WindowCap { max, window }),
        (Some(_), None) => {
            invalid.push(
                "contract.window",
                "must name the window window_max counts in",
            );
            None
        }
    };
    let mut targets = Vec::new();
    for (i, t) in c.targets.iter().enumerate() {
        match metric_from_pb(t.metric) {
            Some(metric) => targets.push(Target {
                metric,
                value: t.value,
            }),
            None => invalid.push(
                format!("contract.targets[{i}].metric"),
                "must name a metric",
            ),
        }
    }
    let mut delegated_tasks = Vec::new();
    for (i, t) in c.delegated_tasks.iter().enumerate() {
        match task_from_pb(*t) {
            Some(task) => delegated_tasks.push(task),
            None => invalid.push(format!("contract.delegated_tasks[{i}]"), "must name a task"),
        }
    }
    invalid.into_result(RawContract {
        provider,
        municipality_code: &c.municipality_code,
        service: service_from_pb(c.service),
        price,
        capacity: Capacity {
            max_concurrent: c.max_concurrent,
            per_window,
        },
        period_from: &c.period_from,
        period_to: &c.period_to,
        targets,
        delegated_tasks,
    })
}

pub(crate) fn contract_to_pb(c: &Contract) -> pb::Contract {
    let window = c.capacity.per_window;
    pb::Contract {
        contract_id: c.id.to_string(),
        provider_id: c.provider.to_string(),
        municipality_code: c.municipality.to_string(),
        service: service_to_pb(c.service),
        price_oere: c.price.amount,
        price_unit: unit_to_pb(c.price.per),
        max_concurrent: c.capacity.max_concurrent,
        window_max: window.map(|w| w.max),
        window: window.map_or(0, |w| window_to_pb(w.window)),
        period_from: c.period.from.to_string(),
        period_to: c.period.to.to_string(),
        targets: c
            .targets
            .iter()
            .map(|t| pb::ContractTarget {
                metric: metric_to_pb(t.metric),
                value: t.value,
            })
            .collect(),
        delegated_tasks: c.delegated_tasks.iter().map(|t| task_to_pb(*t)).collect(),
    }
}

pub(crate) fn referral_to_pb(record: &ReferralRecord) -> pb::Referral {
    let r = &record.referral;
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let (outcome, other_benefit) = r.ended.map_or((pb::ReferralOutcome::Unspecified, 0), |e| {
        outcome_to_pb(e.outcome)
    });
    pb::Referral {
        referral_id: r.id.to_string(),
        contract_id: r.contract.to_string(),
        case_id: r.case.to_string(),
        provider_id: record.provider.to_string(),
        municipality_code: record.municipality.to_string(),
        first_sick_day: r.first_sick_day.to_string(),
        referred_on: r.referred_on.to_string(),
        started_on: date(r.started_on),
        placement_on: date(r.placement_on),
        partial_return_on: date(r.partial_return_on),
        satisfied: r.satisfied,
        ended_on: date(r.ended.map(|e| e.on)),
        outcome: outcome as i32,
        other_benefit,
        etag: record.etag(),
    }
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Days => "days",
        Unit::Weeks => "weeks",
        Unit::Share => "share",
    }
}

fn basis_to_pb(b: &ComparisonBasis) -> pb::ComparisonBasis {
    let kind = match b.kind {
        BasisKind::ControlGroup => "control_group",
        BasisKind::JobcentreOwnResults => "jobcentre_own_results",
        BasisKind::EarlierPeriod { .. } => "earlier_period",
        BasisKind::Benchmark => "benchmark",
    };
    pb::ComparisonBasis {
        metric: metric_to_pb(b.metric),
        kind: kind.to_owned(),
        label: b.label.clone(),
        value: b.value,
        count: b.n,
        source: b.source.clone(),
    }
}

pub(crate) fn scope_to_pb(scope: &Scope) -> (&'static str, String) {
    match scope {
        Scope::Contract(id) => ("contract", id.to_string()),
        Scope::Provider(id) => ("provider", id.to_string()),
        Scope::Municipality(m) => ("municipality", m.to_string()),
    }
}

pub(crate) fn scorecard_to_pb(card: &Scorecard) -> pb::GetScorecardResponse {
    let (kind, id) = scope_to_pb(&card.scope);
    let c = card.counts;
    pb::GetScorecardResponse {
        scope_kind: kind.to_owned(),
        scope_id: id,
        period_from: card.period.from.to_string(),
        period_to: card.period.to.to_string(),
        counts: Some(pb::ScorecardCounts {
            referrals_received: c.referrals_received,
            courses_started: c.courses_started,
            courses_completed: c.courses_completed,
            withdrawn: c.withdrawn,
            in_progress_at_end: c.in_progress_at_end,
            in_progress_over_52_weeks_at_end: c.in_progress_over_52_weeks_at_end,
        }),
        metrics: card
            .metrics
            .iter()
            .map(|m| pb::ScorecardMetricValue {
                metric: metric_to_pb(m.id),
                count: m.n,
                value: m.value.filter(|v| v.is_finite()),
                unit: unit_name(m.unit()).to_owned(),
                bases: m.bases.iter().map(basis_to_pb).collect(),
            })
            .collect(),
        target_misses: card
            .target_misses
            .iter()
            .map(|t| pb::TargetMiss {
                metric: metric_to_pb(t.metric),
                target: t.target,
                actual: t.actual,
                count: t.n,
                rule_id: t.alert.map(|a| a.to_string()).unwrap_or_default(),
            })
            .collect(),
        targets_unmeasured: card
            .targets_unmeasured
            .iter()
            .map(|m| metric_to_pb(*m))
            .collect(),
    }
}

/// A provider as stored, parsed from the request; violations name `provider.*`.
pub(crate) fn provider_record(
    id: d::ProviderId,
    p: &pb::Provider,
) -> Result<ProviderRecord, Invalid> {
    let org = p.organization_id.trim();
    let org_ok = !org.is_empty() && org.len() <= 64 && org.bytes().all(|b| b.is_ascii_graphic());
    let parsed = Provider::parse(id, &raw_provider(p), "provider.");
    match (parsed, org_ok) {
        (Ok(provider), true) => Ok(ProviderRecord {
            provider,
            organization: org.to_owned(),
        }),
        (parsed, _) => {
            let mut invalid = parsed.err().unwrap_or_default();
            if !org_ok {
                invalid.push(
                    "provider.organization_id",
                    "is required: the organisation id the provider's callers use \
                     (at most 64 printable ASCII characters)",
                );
            }
            Err(invalid)
        }
    }
}

/// The idempotency key of a create: scoped to the calling organisation and method, with a
/// digest of the validated parameters so a reused key with other parameters is caught.
pub(crate) fn idempotency_key(
    identity: &Identity,
    method: &str,
    request_id: &str,
    params: &impl Serialize,
) -> Result<Option<IdempotencyKey>, ApiError> {
    if request_id.is_empty() {
        return Ok(None);
    }
    if request_id.len() > 64 || !request_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "request_id",
            "must be at most 64 printable ASCII characters",
        ));
    }
    let params = serde_json::to_vec(params).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Some(IdempotencyKey {
        scope: format!(
            "{}:{}/{method}",
            identity.kind.as_str(),
            identity.organization
        ),
        request_id: request_id.to_owned(),
        fingerprint: hex::encode(Sha256::digest(params)),
    }))
}
