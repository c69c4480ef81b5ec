//! `kia demo`: a living municipality in one command.
//!
//! Starts a daemon on a data directory (or uses `--server`) and fills it, as the jobcentres and
//! the provider would, through the public API: providers and contracts, screening groups, a few
//! hundred cases drawn from DOMAIN.md's figures (`cohort`), Quick Care courses with outcomes so
//! the scorecard has numbers, plans with waiting times, and the KIA-LENE (§8.1) and
//! AABENRAA-SCREENING (§8.4) scenarios. Everything is dated relative to `--now` and drawn from
//! `--seed`, so the same arguments give the same municipality. The daemon's clock is set to
//! `--now` first, so the alerts it raises while the demo fills it are live; the demo waits for
//! them and counts the open ones by rule.

mod cohort;
mod scenarios;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use clap::Args;
use kia_proto::v1 as pb;
use kia_runtime::auth::{Claims, DEFAULT_AUDIENCE, DEFAULT_ISSUER, TokenSigner};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Semaphore;

use crate::client::contracting::print_scorecard;
use crate::client::identity::{Credentials, DevIdentity};
use crate::client::output::{Format, Output, timestamp};
use crate::client::proto::to_json;
use crate::client::{self, Connection, Failure, all_pages};
use cohort::{CaseScript, CourseEnd, Employment};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Fill this daemon instead of starting one. The demo acts as several organisations: with
    /// `--data-dir` it signs their tokens with that directory's key (the daemon's own, or one
    /// whose JWKS the daemon trusts); without, it sends development identities (the daemon must
    /// run with `--insecure-dev-identities`).
    #[arg(long, env = "KIA_SERVER")]
    pub server: Option<String>,
    /// Data directory of the daemon the demo starts [default: ./kia-demo]; with `--server`, the
    /// data directory whose signing key the daemon trusts.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// gRPC address of the daemon the demo starts.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub listen: String,
    /// The demo's today: every date is drawn relative to it [default: today].
    #[arg(long)]
    pub now: Option<NaiveDate>,
    /// Seed of the generator: the same seed gives the same municipality.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Cases of the main municipality (Vejle, 630).
    #[arg(long, default_value_t = 300)]
    pub cases: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Stop the daemon the demo started once it is filled (default: keep it running until
    /// Ctrl-C).
    #[arg(long)]
    pub exit: bool,
    /// `table` prints what was made and what to try; `json` prints the same for scripts.
    #[arg(long, value_enum, default_value = "table")]
    pub output: Format,
}

/// Municipality codes of the demo.
const VEJLE: &str = "630";
const AABENRAA: &str = "580";

/// The data directory of the daemon the demo starts when none is named.
const DEFAULT_DATA_DIR: &str = "./kia-demo";

/// How the demo proves who it acts as: tokens signed with the key the daemon trusts, or
/// development identities for a daemon that accepts them.
enum Identities {
    Signed {
        signer: TokenSigner,
        data_dir: PathBuf,
    },
    Development,
}

impl Identities {
    /// The credentials of one actor (`organization`, its kind, a jobcentre's municipality, the
    /// role); a signed token lasts the demo's filling with room to spare.
    fn of(
        &self,
        organization: &str,
        kind: &str,
        municipality: &str,
        role: &str,
    ) -> Result<Credentials, Failure> {
        match self {
            Self::Signed { signer, .. } => {
                let claims = Claims::new(
                    DEFAULT_ISSUER,
                    DEFAULT_AUDIENCE,
                    organization,
                    kind,
                    Some(municipality).filter(|m| !m.is_empty()),
                    role,
                    Some("kia-demo"),
                    std::time::Duration::from_secs(8 * 3600),
                );
                Credentials::bearer(&signer.sign(&claims))
                    .map_err(|e| Failure::other(format!("a demo token: {e:#}")))
            }
            Self::Development => Ok(Credentials::Dev(DevIdentity {
                organization: organization.to_owned(),
                kind: kind.to_owned(),
                municipality: municipality.to_owned(),
                role: role.to_owned(),
            })),
        }
    }

    /// How a person at Vejle's jobcentre calls the daemon after the demo.
    fn export_line(&self, server: &str) -> String {
        match self {
            Self::Signed { data_dir, .. } => format!(
                "export KIA_SERVER={server} KIA_TOKEN=$(kia token issue --data-dir {} \
                 --organization jc-630 --kind jobcenter --municipality 630 --role caseworker)",
                data_dir.display()
            ),
            Self::Development => format!(
                "export KIA_SERVER={server} KIA_DEV_IDENTITY=jc-630:jobcenter:630:caseworker"
            ),
        }
    }
}

/// Who acts in the demo: the jobcentres, the provider that records its courses (by its
/// organisation id, `quick-care`) and operations, which sets the clock.
struct Callers {
    vejle: Connection,
    aabenraa: Connection,
    quick_care: Connection,
    operations: Connection,
}

/// What the demo made, for the summary.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub server: String,
    pub now: String,
    pub seed: u64,
    pub cases: usize,
    pub open_cases: usize,
    pub closed_cases: usize,
    pub visitated: usize,
    pub referrals: usize,
    pub courses_completed: usize,
    pub plans: usize,
    pub providers: Vec<Named>,
    pub contracts: Vec<Named>,
    pub screening_groups: Vec<Named>,
    pub scenarios: Vec<Named>,
    pub scorecard_period: (String, String),
    /// Quick Care's scorecard over the period (`GetScorecardResponse`, protobuf JSON).
    #[serde(skip)]
    pub scorecard: pb::GetScorecardResponse,
    /// Open alerts of Vejle and Aabenraa by rule (`AL-04` -> 12), once the daemon has
    /// evaluated what the demo recorded.
    pub open_alerts: BTreeMap<String, usize>,
    pub try_next: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Named {
    pub name: String,
    pub id: String,
}

pub fn main(args: DemoArgs) -> ExitCode {
    let json = args.output == Format::Json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return client::report(&Failure::other(format!("async runtime: {e}")), json),
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => client::report(&f, json),
    }
}

async fn run(args: DemoArgs) -> Result<(), Failure> {
    let now = args.now.unwrap_or_else(client::today);
    let mut daemon = None;
    let (server, identities) = match (&args.server, &args.data_dir) {
        (Some(server), Some(dir)) => (server.clone(), signed_in(dir)?),
        (Some(server), None) => (server.clone(), Identities::Development),
        (None, dir) => {
            let dir = dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
            // The key is made before the daemon starts, which then trusts it.
            let identities = signed_in(&dir)?;
            let (child, server) = start_daemon(&args, &dir).await?;
            daemon = Some(child);
            (server, identities)
        }
    };
    let out = Output::new(args.output);
    let vejle = Connection::open(
        &server,
        identities.of("jc-630", "jobcenter", VEJLE, "caseworker")?,
        out,
    )
    .await?;
    wait_serving(&vejle).await?;
    let callers = Callers {
        aabenraa: vejle.as_caller(identities.of("jc-580", "jobcenter", AABENRAA, "caseworker")?),
        quick_care: vejle.as_caller(identities.of("quick-care", "provider", "", "coordinator")?),
        operations: vejle.as_caller(identities.of("kia-ops", "operations", "", "operator")?),
        vejle,
    };
    set_clock(&callers.operations, now).await?;
    let mut summary = fill(&callers, &args, now, &identities).await?;
    summary.open_alerts = open_alerts(&callers).await?;
    print_summary(&out, &summary);

    if let Some(mut child) = daemon {
        if !args.exit {
            if !out.json() {
                println!("\nThe daemon keeps running at {server}; Ctrl-C stops it.");
            }
            let _ = tokio::signal::ctrl_c().await;
        }
        stop(&mut child).await;
    }
    Ok(())
}

/// Signed identities from a data directory's key (created when absent).
fn signed_in(data_dir: &Path) -> Result<Identities, Failure> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Failure::other(format!("creating {}: {e}", data_dir.display())))?;
    let signer = TokenSigner::ensure_in(data_dir)
        .map_err(|e| Failure::other(format!("the signing key in {}: {e:#}", data_dir.display())))?;
    Ok(Identities::Signed {
        signer,
        data_dir: data_dir.to_owned(),
    })
}

/// Starts `kia serve` on the data directory, trusting only the directory's key (whatever the
/// environment says) and with a settable clock, and returns it with its address.
async fn start_daemon(
    args: &DemoArgs,
    data_dir: &Path,
) -> Result<(tokio::process::Child, String), Failure> {
    let exe = std::env::current_exe().map_err(|e| Failure::other(format!("finding kia: {e}")))?;
    let log = std::fs::File::create(data_dir.join("demo-daemon.log"))
        .map_err(|e| Failure::other(format!("creating the daemon log: {e}")))?;
    let mut child = tokio::process::Command::new(exe)
        .args([
            "serve",
            "--settable-clock",
            "--listen",
            &args.listen,
            "--data-dir",
        ])
        .arg(data_dir)
        .env_remove("KIA_DATABASE_URL")
        .env_remove("KIA_SERVICES")
        .env_remove("KIA_JWKS")
        .env_remove("KIA_TOKEN_ISSUER")
        .env_remove("KIA_TOKEN_AUDIENCE")
        .env_remove("KIA_INSECURE_DEV_IDENTITIES")
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Failure::other(format!("starting kia serve: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Failure::other("kia serve has no stdout"))?;
    let line = BufReader::new(stdout)
        .lines()
        .next_line()
        .await
        .map_err(|e| Failure::other(format!("reading kia serve: {e}")))?
        .ok_or_else(|| {
            Failure::other(format!(
                "kia serve stopped before listening; see {}",
                data_dir.join("demo-daemon.log").display()
            ))
        })?;
    let grpc = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("grpc="))
        .ok_or_else(|| Failure::other(format!("unexpected line from kia serve: {line}")))?;
    Ok((child, format!("http://{grpc}")))
}

/// Stops the daemon the demo started, gracefully (SIGTERM), and waits for it.
async fn stop(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    let _ = child.wait().await;
}

/// Waits (on the health Watch stream) until the daemon serves.
async fn wait_serving(s: &Connection) -> Result<(), Failure> {
    use tonic_health::pb::health_check_response::ServingStatus;
    let mut health = tonic_health::pb::health_client::HealthClient::new(s.channel());
    let mut stream = health
        .watch(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner();
    while let Some(update) = stream.message().await? {
        if update.status == ServingStatus::Serving as i32 {
            return Ok(());
        }
    }
    Err(Failure::unreachable("the daemon stopped before it served"))
}

/// The one place the demo aligns the daemon's clock with its "now", as operations: a daemon with
/// a settable clock is set to noon (UTC) of "now", so deadlines and alerts are evaluated as of
/// it. Another daemon keeps its own clock, and as it refuses dates after its own today, "now"
/// may not lie ahead of that.
async fn set_clock(operations: &Connection, now: NaiveDate) -> Result<(), Failure> {
    let mut clock = operations.clock();
    let current = clock.get_clock(pb::GetClockRequest {}).await?.into_inner();
    let daemon_today = current
        .now
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map_or_else(client::today, kia_runtime::clock::danish_date);
    if let Some(instant) = clock_setting(now, current.settable, daemon_today)? {
        clock
            .set_clock(pb::SetClockRequest {
                now: Some(timestamp(instant)),
            })
            .await?;
    }
    Ok(())
}

/// What to set the daemon's clock to, if anything (see [`set_clock`]).
fn clock_setting(
    now: NaiveDate,
    settable: bool,
    daemon_today: NaiveDate,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Failure> {
    if settable {
        return Ok(now.and_hms_opt(12, 0, 0).map(|t| t.and_utc()));
    }
    if now > daemon_today {
        return Err(Failure::usage(format!(
            "--now {now} is after the daemon's today ({daemon_today}) and its clock is not \
             settable (kia serve --settable-clock)"
        )));
    }
    Ok(None)
}

/// How long the daemon may stay silent before the alerts of what the demo recorded count as
/// evaluated (each change is evaluated within about a second of its write).
const ALERTS_SETTLED: std::time::Duration = std::time::Duration::from_secs(3);
/// How long the demo waits at most for the first alert.
const ALERTS_AT_MOST: std::time::Duration = std::time::Duration::from_secs(60);

/// Follows Vejle's alert changes until some were raised and the stream has been quiet for
/// [`ALERTS_SETTLED`] (or [`ALERTS_AT_MOST`] passed), then counts the open alerts of both
/// municipalities by rule.
async fn open_alerts(c: &Callers) -> Result<BTreeMap<String, usize>, Failure> {
    let mut stream = c
        .vejle
        .alerts()
        .watch_alerts(pb::WatchAlertsRequest { after_position: 0 })
        .await?
        .into_inner();
    let deadline = tokio::time::Instant::now() + ALERTS_AT_MOST;
    let mut raised = 0_usize;
    loop {
        let wait = if raised == 0 {
            deadline.saturating_duration_since(tokio::time::Instant::now())
        } else {
            ALERTS_SETTLED
        };
        match tokio::time::timeout(wait, stream.message()).await {
            Ok(Ok(Some(change))) => {
                if change.change == pb::AlertChange::Raised as i32 {
                    raised += 1;
                }
            }
            Ok(Ok(None)) | Err(_) => break,
            Ok(Err(status)) => return Err(status.into()),
        }
    }
    let mut by_rule = BTreeMap::new();
    for caller in [&c.vejle, &c.aabenraa] {
        let (alerts, _) = all_pages(usize::MAX, |page_token| {
            let mut client = caller.alerts();
            async move {
                let r = client
                    .list_alerts(pb::ListAlertsRequest {
                        state: pb::AlertState::Open as i32,
                        page_size: 500,
                        page_token,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                Ok((r.alerts, r.next_page_token))
            }
        })
        .await?;
        for alert in alerts {
            *by_rule.entry(alert.rule).or_insert(0) += 1;
        }
    }
    Ok(by_rule)
}

async fn fill(
    c: &Callers,
    args: &DemoArgs,
    now: NaiveDate,
    identities: &Identities,
) -> Result<Summary, Failure> {
    let existing = c
        .vejle
        .cases()
        .list_cases(pb::ListCasesRequest {
            page_size: 1,
            municipality_code: VEJLE.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    if !existing.cases.is_empty() {
        return Err(Failure::usage(
            "this daemon already holds cases of Vejle (630); give the demo an empty --data-dir",
        ));
    }
    let mut summary = Summary {
        server: c.vejle.server.clone(),
        now: now.to_string(),
        seed: args.seed,
        ..Default::default()
    };
    let setup = scenarios::setup(c, now, &mut summary).await?;

    // The municipality's cases, several at a time.
    let scripts = cohort::municipality(args.seed, now, args.cases);
    let limit = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for script in scripts.clone() {
        let (vejle, quick_care, limit) = (c.vejle.clone(), c.quick_care.clone(), limit.clone());
        let contract = setup.quick_care_contract.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire().await;
            play_case(&vejle, &quick_care, &contract, &script).await
        });
    }
    let mut open_long_cases = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (case_id, script) =
            joined.map_err(|e| Failure::other(format!("a demo task failed: {e}")))??;
        if script.closed_on.is_none() && script.weeks_on_benefit >= 13.0 {
            open_long_cases.push((case_id, script));
        }
    }
    summary.cases = scripts.len();
    summary.closed_cases = scripts.iter().filter(|s| s.closed_on.is_some()).count();
    summary.open_cases = summary.cases - summary.closed_cases;
    summary.visitated = scripts.iter().filter(|s| s.visitation.is_some()).count();
    summary.referrals = scripts.iter().filter(|s| s.course.is_some()).count();
    summary.courses_completed = scripts
        .iter()
        .filter(|s| s.course.as_ref().is_some_and(|k| k.ended_on.is_some()))
        .count();

    // Plans with waiting times for the open long cases, in a stable order.
    open_long_cases.sort_by(|a, b| a.1.citizen.cmp(&b.1.citizen));
    let mut tasks = tokio::task::JoinSet::new();
    for (case_id, _) in open_long_cases.into_iter().take(30) {
        let (vejle, limit) = (c.vejle.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire().await;
            scenarios::plan_with_waiting_time(&vejle, &case_id, now).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| Failure::other(format!("a demo task failed: {e}")))??;
        summary.plans += 1;
    }

    scenarios::kia_lene(c, &setup, now, &mut summary).await?;
    scenarios::aabenraa(c, now, &mut summary).await?;
    summary.plans += 2;

    let (from, to) = (now - Duration::days(2 * 365), now);
    summary.scorecard_period = (from.to_string(), to.to_string());
    let quick_care = &setup.quick_care_provider;
    summary.scorecard = c
        .vejle
        .contracting()
        .get_scorecard(pb::GetScorecardRequest {
            scope: Some(pb::get_scorecard_request::Scope::ProviderId(
                quick_care.clone(),
            )),
            period_from: from.to_string(),
            period_to: to.to_string(),
        })
        .await?
        .into_inner();
    let lene = summary
        .scenarios
        .iter()
        .find(|n| n.name == "KIA-LENE with a waiting time")
        .map(|n| n.id.clone())
        .unwrap_or_default();
    summary.try_next = vec![
        identities.export_line(&summary.server),
        "kia alerts list --state open".to_owned(),
        format!("kia plan show {lene}"),
        format!("kia provider scorecard {quick_care} --from {from} --to {to}"),
        "kia alerts watch".to_owned(),
        "kia case list --state open".to_owned(),
        "kia screening unscreened".to_owned(),
        format!("kia case timeline {lene}"),
        "kia contract list".to_owned(),
    ];
    Ok(summary)
}

fn employment(e: Employment) -> i32 {
    match e {
        Employment::Employed => pb::EmploymentStatus::Employed as i32,
        Employment::UnemployedInsured => pb::EmploymentStatus::UnemployedInsured as i32,
        Employment::Other => pb::EmploymentStatus::Other as i32,
    }
}

fn referral_outcome(end: CourseEnd) -> (pb::ReferralOutcome, pb::OtherBenefit) {
    use pb::ReferralOutcome as O;
    match end {
        CourseEnd::RecoveredFully => (O::RecoveredFully, pb::OtherBenefit::Unspecified),
        CourseEnd::LeftBenefit => (O::LeftBenefit, pb::OtherBenefit::Unspecified),
        CourseEnd::OtherBenefit => (O::OtherBenefit, pb::OtherBenefit::FlexJob),
        CourseEnd::RecoveredPartly => (O::RecoveredPartly, pb::OtherBenefit::Unspecified),
        CourseEnd::StillOnBenefit => (O::StillOnBenefit, pb::OtherBenefit::Unspecified),
        CourseEnd::DroppedOut => (O::DroppedOut, pb::OtherBenefit::Unspecified),
    }
}

/// One case from intake to where it stands "now": created, visitated, referred (the provider
/// records its course), closed.
async fn play_case(
    vejle: &Connection,
    quick_care: &Connection,
    contract_id: &str,
    script: &CaseScript,
) -> Result<(String, CaseScript), Failure> {
    let mut cases = vejle.cases();
    let case = cases
        .create_case(pb::CreateCaseRequest {
            r#case: Some(pb::Case {
                municipality_code: VEJLE.into(),
                first_sick_day: script.first_sick_day.to_string(),
                employment_status: employment(script.employment),
                employer_reference: script.employer.clone(),
                citizen_reference: script.citizen.clone(),
                ..Default::default()
            }),
            request_id: format!("demo-case-{}", script.citizen),
        })
        .await?
        .into_inner()
        .r#case
        .unwrap_or_default();
    if let Some((on, category)) = script.visitation {
        let (category, reason) = match category {
            1 => (pb::Category::Category1, "expected back soon"),
            2 => (pb::Category::Category2, "not expected back within 8 weeks"),
            _ => (pb::Category::Category3, "health and other challenges"),
        };
        cases
            .visitate(pb::VisitateRequest {
                case_id: case.case_id.clone(),
                category: category as i32,
                reason: reason.into(),
                visited_on: on.to_string(),
                etag: String::new(),
            })
            .await?;
    }
    if let Some(course) = &script.course {
        let referral = vejle
            .contracting()
            .refer_case(pb::ReferCaseRequest {
                contract_id: contract_id.to_owned(),
                case_id: case.case_id.clone(),
                referred_on: course.referred_on.to_string(),
                request_id: format!("demo-referral-{}", script.citizen),
            })
            .await?
            .into_inner()
            .referral
            .unwrap_or_default();
        let mut provider = quick_care.contracting();
        let event = |kind: pb::ReferralEventKind, on: NaiveDate| pb::RecordReferralEventRequest {
            referral_id: referral.referral_id.clone(),
            kind: kind as i32,
            on: on.to_string(),
            ..Default::default()
        };
        if let Some(started) = course.started_on {
            provider
                .record_referral_event(event(pb::ReferralEventKind::Started, started))
                .await?;
        }
        if let Some(placement) = course.placement_on {
            provider
                .record_referral_event(event(pb::ReferralEventKind::PlacementStarted, placement))
                .await?;
        }
        if let Some(ended) = course.ended_on {
            let (outcome, other) = referral_outcome(course.end);
            let mut end = event(pb::ReferralEventKind::Ended, ended);
            end.outcome = outcome as i32;
            end.other_benefit = other as i32;
            provider.record_referral_event(end).await?;
            provider
                .record_referral_event(pb::RecordReferralEventRequest {
                    referral_id: referral.referral_id.clone(),
                    kind: pb::ReferralEventKind::SatisfactionRecorded as i32,
                    satisfied: course.satisfied,
                    ..Default::default()
                })
                .await?;
        }
    }
    if let Some(closed_on) = script.closed_on {
        let outcome = if script.weeks_on_benefit < 52.0 {
            pb::CaseOutcome::FullReturn
        } else {
            pb::CaseOutcome::DurationLimit
        };
        cases
            .close_case(pb::CloseCaseRequest {
                case_id: case.case_id.clone(),
                outcome: outcome as i32,
                closed_on: closed_on.to_string(),
                outcome_note: String::new(),
                etag: String::new(),
            })
            .await?;
    }
    Ok((case.case_id, script.clone()))
}

fn print_summary(out: &Output, s: &Summary) {
    if out.json() {
        let mut json = serde_json::to_value(s).unwrap_or_default();
        json["scorecard"] = to_json(&s.scorecard, "kia.v1.GetScorecardResponse");
        println!("{json}");
        return;
    }
    println!(
        "{}",
        out.bold(&format!("A municipality as of {} (seed {})", s.now, s.seed))
    );
    out.fields(&[
        ("daemon", s.server.clone()),
        (
            "cases",
            format!(
                "{} in Vejle (630): {} open, {} closed, {} visitated",
                s.cases, s.open_cases, s.closed_cases, s.visitated
            ),
        ),
        (
            "courses",
            format!(
                "{} referred to Quick Care, {} completed",
                s.referrals, s.courses_completed
            ),
        ),
        (
            "plans",
            format!(
                "{} ({} follow-up plans with a specialist's waiting time, KIA-LENE and her twin)",
                s.plans,
                s.plans.saturating_sub(2)
            ),
        ),
    ]);
    println!("\n{}", out.bold("Quick Care's scorecard"));
    print_scorecard(out, &s.scorecard);
    println!("\n{}", out.bold("Open alerts"));
    let mut table = crate::client::output::Table::new(&["rule", "open"]);
    for (rule, open) in &s.open_alerts {
        table.row(vec![rule.clone(), open.to_string()]);
    }
    out.table(&table);
    for (title, list) in [
        ("Providers", &s.providers),
        ("Contracts", &s.contracts),
        ("Screening groups", &s.screening_groups),
        ("Scenarios", &s.scenarios),
    ] {
        println!("\n{}", out.bold(title));
        let mut table = crate::client::output::Table::new(&["name", "id"]);
        for n in list {
            table.row(vec![n.name.clone(), n.id.clone()]);
        }
        out.table(&table);
    }
    println!("\n{}", out.bold("Try next"));
    for line in &s.try_next {
        println!("  {line}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_settable_clock_is_set_to_the_demos_now_another_may_not_lie_behind_it() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let ahead = today + Duration::days(40);
        assert_eq!(
            clock_setting(ahead, true, today)
                .unwrap()
                .unwrap()
                .to_rfc3339(),
            "2027-01-09T12:00:00+00:00"
        );
        assert_eq!(clock_setting(today, false, today).unwrap(), None);
        assert_eq!(
            clock_setting(today - Duration::days(400), false, today).unwrap(),
            None
        );
        let refused = clock_setting(ahead, false, today).unwrap_err();
        assert_eq!(refused.exit, client::error::exit::USAGE);
    }
}
