//! kia's calls for the bench: the table of call kinds (name, weight, whether it is a durable
//! write) and the setup data they run against.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use chrono::{Duration, NaiveDate};
use kia_proto::v1 as pb;
use kia_proto::v1::alert_service_client::AlertServiceClient;
use kia_proto::v1::apply_plan_change_request::Change;
use kia_proto::v1::case_service_client::CaseServiceClient;
use kia_proto::v1::plan_service_client::PlanServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::load::{BoxFuture, CallResult, Workload, reason};
use crate::client::Credentials;

/// One kind of call in the mix.
pub struct CallKind {
    pub name: &'static str,
    /// Share of the default mix.
    pub weight: u32,
    /// A durable write (one commit per call), measured against the raw write ceiling.
    pub durable: bool,
    run: fn(Arc<Fixture>, u64) -> BoxFuture<CallResult>,
}

/// Every call the bench makes. A new kind is one line here and one function below.
pub const CALLS: &[CallKind] = &[
    CallKind {
        name: "get_case",
        weight: 35,
        durable: false,
        run: get_case,
    },
    CallKind {
        name: "get_plan",
        weight: 35,
        durable: false,
        run: get_plan,
    },
    CallKind {
        name: "list_alerts",
        weight: 10,
        durable: false,
        run: list_alerts,
    },
    CallKind {
        name: "create_case",
        weight: 15,
        durable: true,
        run: create_case,
    },
    CallKind {
        name: "update_plan_activity",
        weight: 15,
        durable: true,
        run: update_plan_activity,
    },
];

/// Parses `--mix name=weight,...` (a name alone keeps its default weight).
pub fn parse_mix(raw: &str) -> anyhow::Result<Vec<(&'static CallKind, u32)>> {
    raw.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| {
            let (name, weight) = match item.split_once('=') {
                Some((n, w)) => (n.trim(), Some(w.trim())),
                None => (item.trim(), None),
            };
            let kind = CALLS.iter().find(|c| c.name == name).with_context(|| {
                let names: Vec<_> = CALLS.iter().map(|c| c.name).collect();
                format!(
                    "unknown call {name:?} in --mix; known: {}",
                    names.join(", ")
                )
            })?;
            let weight = match weight {
                Some(w) => w
                    .parse()
                    .with_context(|| format!("weight of {name} must be a whole number"))?,
                None => kind.weight,
            };
            Ok((kind, weight))
        })
        .collect()
}

/// The default mix, or only reads, or only durable writes.
pub fn default_mix(durable: Option<bool>) -> Vec<(&'static CallKind, u32)> {
    CALLS
        .iter()
        .filter(|c| durable.is_none_or(|d| c.durable == d))
        .map(|c| (c, c.weight))
        .collect()
}

/// The reads the `--ceiling` targets are set for: a case, and a case with its plan (the calls a
/// caseworker makes most). `list_alerts`, a page of a list, is measured in the mix.
pub fn target_reads() -> Vec<(&'static CallKind, u32)> {
    default_mix(Some(false))
        .into_iter()
        .filter(|(c, _)| matches!(c.name, "get_case" | "get_plan"))
        .collect()
}

/// A workload of the given call kinds against the fixture.
pub fn workload(fixture: Arc<Fixture>, mix: &[(&'static CallKind, u32)]) -> Workload {
    let runs: Vec<_> = mix.iter().map(|(c, _)| c.run).collect();
    Workload {
        kinds: mix.iter().map(|(c, w)| (c.name, *w)).collect(),
        call: Box::new(move |kind, n| (runs[kind])(fixture.clone(), n)),
    }
}

type Cases = CaseServiceClient<InterceptedService<Channel, Credentials>>;
type Plans = PlanServiceClient<InterceptedService<Channel, Credentials>>;

/// A plan the bench updates; one update at a time per plan, so the etag it holds stays current.
struct PlanSlot {
    case_id: String,
    etag: String,
    flips: u64,
}

/// The data the calls run against, made by [`Fixture::setup`].
pub struct Fixture {
    channels: Vec<Channel>,
    identity: Credentials,
    municipality: String,
    /// Told apart from other runs on the same daemon: request ids and citizen references.
    run_id: String,
    today: NaiveDate,
    case_ids: Vec<String>,
    plans: Vec<tokio::sync::Mutex<PlanSlot>>,
    created: AtomicU64,
}

const ACTIVITY: &str = "bench-physio";

impl Fixture {
    fn cases(&self, n: u64) -> Cases {
        let channel = self.channels[n as usize % self.channels.len()].clone();
        CaseServiceClient::with_interceptor(channel, self.identity.clone())
    }

    fn plans_client(&self, n: u64) -> Plans {
        let channel = self.channels[n as usize % self.channels.len()].clone();
        PlanServiceClient::with_interceptor(channel, self.identity.clone())
    }

    fn intake(&self, citizen: String) -> pb::Case {
        pb::Case {
            municipality_code: self.municipality.clone(),
            first_sick_day: (self.today - Duration::days(20)).to_string(),
            employment_status: pb::EmploymentStatus::Employed as i32,
            employer_reference: "CVR-29189587".into(),
            citizen_reference: citizen,
            ..Default::default()
        }
    }

    fn author() -> pb::Party {
        pb::Party {
            person: "bench-caseworker".into(),
            organisation: String::new(),
            capacity: pb::Capacity::Caseworker as i32,
        }
    }

    /// Creates `cases` cases of `municipality`, each with a plan holding one activity.
    pub async fn setup(
        channels: Vec<Channel>,
        identity: Credentials,
        municipality: &str,
        cases: usize,
    ) -> anyhow::Result<Self> {
        let run_id = format!("{:08x}", super::load::splitmix64(now_nanos()) as u32);
        let mut fixture = Self {
            channels,
            identity,
            municipality: municipality.to_owned(),
            run_id,
            today: kia_runtime::clock::danish_date(chrono::Utc::now()),
            case_ids: Vec::with_capacity(cases),
            plans: Vec::with_capacity(cases),
            created: AtomicU64::new(0),
        };
        for i in 0..cases {
            let slot = fixture.setup_one(i as u64).await?;
            fixture.case_ids.push(slot.case_id.clone());
            fixture.plans.push(tokio::sync::Mutex::new(slot));
        }
        Ok(fixture)
    }

    async fn setup_one(&self, i: u64) -> anyhow::Result<PlanSlot> {
        let case = self
            .cases(i)
            .create_case(pb::CreateCaseRequest {
                r#case: Some(self.intake(format!("bench-{}-setup-{i}", self.run_id))),
                request_id: format!("bench-{}-setup-{i}", self.run_id),
            })
            .await
            .context("creating a case (is the caller a jobcenter of --municipality?)")?
            .into_inner()
            .r#case
            .context("CreateCase answered without a case")?;
        let mut plans = self.plans_client(i);
        let plan = plans
            .create_plan(pb::CreatePlanRequest {
                case_id: case.case_id.clone(),
                kind: pb::PlanKind::FollowUpPlan as i32,
                stage: pb::PlanStage::Preliminary as i32,
                author: Some(Self::author()),
                request_id: format!("bench-{}-plan-{i}", self.run_id),
            })
            .await
            .context("creating a plan")?
            .into_inner()
            .plan
            .context("CreatePlan answered without a plan")?;
        let plan = plans
            .apply_plan_change(pb::ApplyPlanChangeRequest {
                case_id: case.case_id.clone(),
                etag: plan.etag,
                author: Some(Self::author()),
                change: Some(Change::AddActivity(pb::AddActivity {
                    activity: Some(pb::PlanActivity {
                        activity_id: ACTIVITY.into(),
                        kind: Some(pb::plan_activity::Kind::Health(pb::HealthActivity {
                            kind: pb::HealthActivityKind::Physiotherapy as i32,
                            ordered_by_gp: false,
                        })),
                        responsible: "bench-rehabilitation".into(),
                        planned_start: (self.today + Duration::days(7)).to_string(),
                        planned_end: (self.today + Duration::days(35)).to_string(),
                        ..Default::default()
                    }),
                })),
            })
            .await
            .context("adding a plan activity")?
            .into_inner()
            .plan
            .context("ApplyPlanChange answered without a plan")?;
        Ok(PlanSlot {
            case_id: case.case_id,
            etag: plan.etag,
            flips: 0,
        })
    }

    fn some_case(&self, n: u64) -> &str {
        &self.case_ids[(super::load::splitmix64(n ^ 0x5eed) % self.case_ids.len() as u64) as usize]
    }
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn get_case(f: Arc<Fixture>, n: u64) -> BoxFuture<CallResult> {
    Box::pin(async move {
        let case_id = f.some_case(n).to_owned();
        f.cases(n)
            .get_case(pb::GetCaseRequest { case_id })
            .await
            .map(drop)
            .map_err(|s| reason(&s))
    })
}

fn list_alerts(f: Arc<Fixture>, n: u64) -> BoxFuture<CallResult> {
    Box::pin(async move {
        let channel = f.channels[n as usize % f.channels.len()].clone();
        AlertServiceClient::with_interceptor(channel, f.identity.clone())
            .list_alerts(pb::ListAlertsRequest {
                page_size: 20,
                ..Default::default()
            })
            .await
            .map(drop)
            .map_err(|s| reason(&s))
    })
}

fn get_plan(f: Arc<Fixture>, n: u64) -> BoxFuture<CallResult> {
    Box::pin(async move {
        let case_id = f.some_case(n).to_owned();
        f.plans_client(n)
            .get_plan(pb::GetPlanRequest {
                case_id,
                as_of: String::new(),
            })
            .await
            .map(drop)
            .map_err(|s| reason(&s))
    })
}

fn create_case(f: Arc<Fixture>, n: u64) -> BoxFuture<CallResult> {
    Box::pin(async move {
        let i = f.created.fetch_add(1, Ordering::Relaxed);
        let reference = format!("bench-{}-{i}", f.run_id);
        f.cases(n)
            .create_case(pb::CreateCaseRequest {
                r#case: Some(f.intake(reference.clone())),
                request_id: reference,
            })
            .await
            .map(drop)
            .map_err(|s| reason(&s))
    })
}

/// Moves the plan's activity back and forth by a week: a waiting time appears and goes.
fn update_plan_activity(f: Arc<Fixture>, n: u64) -> BoxFuture<CallResult> {
    Box::pin(async move {
        // A plan nobody else is updating: start at a hashed slot and take the first free one.
        let len = f.plans.len();
        let first = (super::load::splitmix64(n) % len as u64) as usize;
        let mut slot = None;
        for k in 0..len {
            if let Ok(guard) = f.plans[(first + k) % len].try_lock() {
                slot = Some(guard);
                break;
            }
        }
        let mut slot = match slot {
            Some(s) => s,
            None => f.plans[first].lock().await,
        };
        slot.flips += 1;
        let shift = if slot.flips % 2 == 1 { 14 } else { 7 };
        let answer = f
            .plans_client(n)
            .apply_plan_change(pb::ApplyPlanChangeRequest {
                case_id: slot.case_id.clone(),
                etag: slot.etag.clone(),
                author: Some(Fixture::author()),
                change: Some(Change::RescheduleActivity(pb::RescheduleActivity {
                    activity_id: ACTIVITY.into(),
                    planned_start: (f.today + Duration::days(shift)).to_string(),
                    planned_end: (f.today + Duration::days(shift + 28)).to_string(),
                })),
            })
            .await
            .map_err(|s| reason(&s))?;
        slot.etag = answer.into_inner().plan.map(|p| p.etag).unwrap_or_default();
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_names_calls_with_or_without_weights() {
        let mix = parse_mix("get_case=3, get_plan").unwrap();
        let named: Vec<_> = mix.iter().map(|(c, w)| (c.name, *w)).collect();
        assert_eq!(named, [("get_case", 3), ("get_plan", 35)]);
        assert!(parse_mix("list_everything").is_err());
        assert!(parse_mix("get_case=lots").is_err());
    }

    #[test]
    fn reads_and_durable_writes_split_the_table() {
        let names = |d| {
            default_mix(Some(d))
                .iter()
                .map(|(c, _)| c.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(false), ["get_case", "get_plan", "list_alerts"]);
        assert_eq!(names(true), ["create_case", "update_plan_activity"]);
        let targets: Vec<_> = target_reads().iter().map(|(c, w)| (c.name, *w)).collect();
        assert_eq!(targets, [("get_case", 35), ("get_plan", 35)]);
        assert_eq!(default_mix(None).len(), CALLS.len());
    }
}
