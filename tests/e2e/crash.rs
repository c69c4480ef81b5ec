//! Crash safety: writers run against the daemon while it is killed with SIGKILL at random
//! moments and started again on the same data, over and over. After every restart each
//! acknowledged write is there exactly once, and a write that was in doubt (sent, never
//! answered) was applied whole or not at all: retrying its request id yields exactly one case.
//! Also: SIGTERM under load finishes or cleanly fails the calls in flight, loses nothing that
//! was acknowledged, and exits 0.
//!
//! What this proves: the daemon survives the death of its own process (kill -9, OOM kill, a
//! panic that aborts) at any instant. What it does not: power loss or an operating-system crash,
//! where the disk's write cache and the kernel's page cache matter; SIGKILL leaves the kernel
//! running, so written pages still reach the disk.
//!
//! `KIA_CRASH_CYCLES` sets the number of kill/restart cycles (default 12; `scripts/crash.sh`
//! runs many more); `KIA_CRASH_SEED` replays a run (the seed is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kia_proto::v1 as pb;
use pb::apply_plan_change_request::Change;
use pb::case_service_client::CaseServiceClient;
use pb::plan_service_client::PlanServiceClient;
use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::support::{Backend, Caller, Daemon, on_both_backends};

on_both_backends!(
    every_acknowledged_write_survives_sigkill_exactly_once,
    sigterm_under_load_loses_nothing_and_exits_zero,
);

const WRITERS: usize = 4;

fn cycles() -> usize {
    std::env::var("KIA_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

/// A seeded pseudo-random sequence (SplitMix64): the moments of the kills.
struct Dice(u64);

impl Dice {
    fn from_env() -> Self {
        let seed = std::env::var("KIA_CRASH_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("crash test seed: KIA_CRASH_SEED={seed}");
        Self(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// The request id doubles as the citizen reference, so a listing shows duplicates.
fn intake(request_id: &str) -> pb::CreateCaseRequest {
    crate::support::vejle_intake(request_id, request_id)
}

fn author() -> pb::Party {
    pb::Party {
        person: "cw-1".into(),
        organisation: String::new(),
        capacity: pb::Capacity::Caseworker as i32,
    }
}

fn add_activity(id: &str) -> Change {
    Change::AddActivity(pb::AddActivity {
        activity: Some(pb::PlanActivity {
            activity_id: id.into(),
            kind: Some(pb::plan_activity::Kind::Health(pb::HealthActivity {
                kind: pb::HealthActivityKind::Physiotherapy as i32,
                ordered_by_gp: false,
            })),
            responsible: "genoptraening-vejle".into(),
            planned_start: "2026-12-01".into(),
            planned_end: "2026-12-20".into(),
            ..Default::default()
        }),
    })
}

/// What the writers were told, and what they never heard back about.
#[derive(Default)]
struct Ledger {
    /// request id -> the case id the daemon acknowledged.
    cases: BTreeMap<String, String>,
    /// Create requests sent without an answer.
    cases_in_doubt: Vec<String>,
    /// One plan per writer: its case, the activities acknowledged, one in doubt at most.
    plans: Vec<PlanLedger>,
    next: usize,
}

#[derive(Clone, Default)]
struct PlanLedger {
    case_id: String,
    activities: Vec<String>,
    in_doubt: Option<String>,
}

/// Running writers.
struct Writers {
    tasks: Vec<tokio::task::JoinHandle<WriterRun>>,
    acks: watch::Receiver<usize>,
    stop: Arc<AtomicBool>,
}

impl Writers {
    /// Waits until the writers have `n` acknowledgements between them.
    async fn acknowledged(&mut self, n: usize) {
        tokio::time::timeout(Duration::from_secs(60), self.acks.wait_for(|a| *a >= n))
            .await
            .expect("the writers make progress")
            .unwrap();
    }

    /// Stops the writers and collects what each did.
    async fn finish(self) -> Vec<WriterRun> {
        self.stop.store(true, Ordering::Release);
        let mut runs = Vec::new();
        for task in self.tasks {
            runs.push(
                tokio::time::timeout(Duration::from_secs(30), task)
                    .await
                    .expect("no call hangs")
                    .unwrap(),
            );
        }
        runs
    }
}

/// What one writer did until its first unanswered call.
struct WriterRun {
    cases: Vec<(String, String)>,
    case_in_doubt: Option<String>,
    plan: PlanLedger,
}

/// Alternates creating cases and adding activities to its own plan until a call fails; the
/// failed call is in doubt. Counts acknowledgements on `acks`.
async fn run_writer(
    mut cases: CaseServiceClient<InterceptedService<Channel, Caller>>,
    mut plans: PlanServiceClient<InterceptedService<Channel, Caller>>,
    prefix: String,
    mut plan: PlanLedger,
    acks: watch::Sender<usize>,
    stop: Arc<AtomicBool>,
) -> WriterRun {
    let mut run = WriterRun {
        cases: Vec::new(),
        case_in_doubt: None,
        plan: PlanLedger::default(),
    };
    let current = plans
        .get_plan(pb::GetPlanRequest {
            case_id: plan.case_id.clone(),
            as_of: String::new(),
        })
        .await;
    let Ok(current) = current else {
        run.plan = plan;
        return run;
    };
    let mut etag = current.into_inner().plan.unwrap().etag;
    for seq in 0.. {
        // Told to stop once the daemon it wrote to is gone (its successor might reuse the port).
        if stop.load(Ordering::Acquire) {
            break;
        }
        let id = format!("{prefix}-{seq}");
        if seq % 2 == 0 {
            match cases.create_case(intake(&id)).await {
                Ok(r) => run.cases.push((id, r.into_inner().r#case.unwrap().case_id)),
                Err(_) => {
                    run.case_in_doubt = Some(id);
                    break;
                }
            }
        } else {
            let change = pb::ApplyPlanChangeRequest {
                case_id: plan.case_id.clone(),
                etag: etag.clone(),
                author: Some(author()),
                change: Some(add_activity(&id)),
            };
            match plans.apply_plan_change(change).await {
                Ok(r) => {
                    etag = r.into_inner().plan.unwrap().etag;
                    plan.activities.push(id);
                }
                Err(_) => {
                    plan.in_doubt = Some(id);
                    break;
                }
            }
        }
        acks.send_modify(|n| *n += 1);
    }
    run.plan = plan;
    run
}

impl Ledger {
    async fn setup(daemon: &Daemon) -> Self {
        let mut ledger = Self::default();
        let mut plans = daemon.plans(Caller::VEJLE);
        for w in 0..WRITERS {
            let case = daemon
                .cases(Caller::VEJLE)
                .create_case(intake(&format!("plan-case-{w}")))
                .await
                .unwrap()
                .into_inner()
                .r#case
                .unwrap();
            ledger
                .cases
                .insert(format!("plan-case-{w}"), case.case_id.clone());
            plans
                .create_plan(pb::CreatePlanRequest {
                    case_id: case.case_id.clone(),
                    kind: pb::PlanKind::FollowUpPlan as i32,
                    stage: pb::PlanStage::Preliminary as i32,
                    author: Some(author()),
                    request_id: format!("plan-{w}"),
                })
                .await
                .unwrap();
            ledger.plans.push(PlanLedger {
                case_id: case.case_id,
                ..Default::default()
            });
        }
        ledger
    }

    /// Starts the writers.
    fn start_writers(&mut self, daemon: &Daemon) -> Writers {
        let (acks, counted) = watch::channel(0);
        let stop = Arc::new(AtomicBool::new(false));
        let writers = (0..WRITERS)
            .map(|w| {
                self.next += 1;
                tokio::spawn(run_writer(
                    daemon.cases(Caller::VEJLE),
                    daemon.plans(Caller::VEJLE),
                    format!("w{w}-run{}", self.next),
                    self.plans[w].clone(),
                    acks.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        Writers {
            tasks: writers,
            acks: counted,
            stop,
        }
    }

    fn absorb(&mut self, runs: Vec<WriterRun>) {
        for (w, run) in runs.into_iter().enumerate() {
            self.cases.extend(run.cases);
            self.cases_in_doubt.extend(run.case_in_doubt);
            self.plans[w] = run.plan;
        }
    }

    /// Checks the restarted daemon against the ledger, settling what was in doubt.
    async fn verify(&mut self, daemon: &Daemon) {
        let mut cases = daemon.cases(Caller::VEJLE);
        // A request in doubt was applied whole or not at all: its retry yields one case.
        for request_id in std::mem::take(&mut self.cases_in_doubt) {
            let case = cases
                .create_case(intake(&request_id))
                .await
                .unwrap()
                .into_inner()
                .r#case
                .unwrap();
            self.cases.insert(request_id, case.case_id);
        }
        let mut by_reference: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut page_token = String::new();
        loop {
            let page = cases
                .list_cases(pb::ListCasesRequest {
                    page_size: 500,
                    page_token: page_token.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            for case in page.cases {
                by_reference
                    .entry(case.citizen_reference)
                    .or_default()
                    .push(case.case_id);
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        for (request_id, case_id) in &self.cases {
            assert_eq!(
                by_reference.get(request_id),
                Some(&vec![case_id.clone()]),
                "acknowledged create {request_id} is there exactly once"
            );
        }
        assert_eq!(
            by_reference.len(),
            self.cases.len(),
            "no case exists that no request created"
        );

        let mut plans = daemon.plans(Caller::VEJLE);
        for plan in &mut self.plans {
            let stored = plans
                .get_plan(pb::GetPlanRequest {
                    case_id: plan.case_id.clone(),
                    as_of: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .plan
                .unwrap();
            let present: BTreeSet<String> = stored
                .activities
                .iter()
                .map(|a| a.activity_id.clone())
                .collect();
            if let Some(id) = plan.in_doubt.take()
                && present.contains(&id)
            {
                plan.activities.push(id);
            }
            let expected: BTreeSet<String> = plan.activities.iter().cloned().collect();
            assert_eq!(present, expected, "acknowledged plan changes, each once");
            assert_eq!(stored.activities.len(), plan.activities.len());
            // One version per change: no change was half applied.
            assert_eq!(
                stored.etag,
                format!("\"{}\"", 1 + plan.activities.len()),
                "plan version counts its changes"
            );
        }
    }
}

async fn every_acknowledged_write_survives_sigkill_exactly_once(backend: Backend) {
    let mut dice = Dice::from_env();
    let mut daemon = Daemon::start(backend).await;
    let mut ledger = Ledger::setup(&daemon).await;
    for _ in 0..cycles() {
        let mut writers = ledger.start_writers(&daemon);
        // A random moment: after 1 to 40 acknowledged writes.
        writers.acknowledged(1 + dice.below(40) as usize).await;
        daemon = daemon.kill_and_restart().await;
        ledger.absorb(writers.finish().await);
        ledger.verify(&daemon).await;
    }
    assert!(ledger.cases.len() > WRITERS, "the writers wrote");
}

async fn sigterm_under_load_loses_nothing_and_exits_zero(backend: Backend) {
    let mut daemon = Daemon::start(backend).await;
    let mut ledger = Ledger::setup(&daemon).await;
    let mut writers = ledger.start_writers(&daemon);
    writers.acknowledged(20).await;
    let exit = daemon.terminate().await;
    assert!(
        exit.success(),
        "graceful shutdown under load exits 0: {exit:?}"
    );
    // Every writer ended: its calls completed, or failed with a status (none hangs).
    ledger.absorb(writers.finish().await);
    let daemon = daemon.start_again().await;
    ledger.verify(&daemon).await;
}
