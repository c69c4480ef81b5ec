//! The operations view: every metric the shipped Grafana dashboards query is exported by a
//! daemon that has served each service; spans and metrics arrive over OTLP/gRPC with the
//! expected names and attributes and without personal data; `kia migrate` migrates and exits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDate};
use kia_proto::v1 as pb;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use pb::apply_plan_change_request::Change;
use pb::plan_activity::Kind;

use crate::plans::{day, today};
use crate::support::{Backend, Caller, Daemon, on_both_backends};
use crate::{cases, contracting, plans, screening};

on_both_backends!(
    every_metric_the_dashboards_query_is_exported,
    kia_migrate_applies_the_migrations_once_and_exits,
);

/// A citizen reference (opaque, but still the citizen's) and a CPR-shaped string a caller
/// might send by mistake: neither may leave the daemon in telemetry.
const CITIZEN_REFERENCE: &str = "vejle-0042";
const CPR_SHAPED: &str = "0101901234";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn create_case(
    daemon: &Daemon,
    caller: Caller,
    first_sick_day: NaiveDate,
    citizen_reference: &str,
) -> Result<String, tonic::Status> {
    let case = pb::Case {
        municipality_code: caller.municipality.into(),
        first_sick_day: first_sick_day.to_string(),
        citizen_reference: citizen_reference.into(),
        ..cases::lene()
    };
    daemon
        .cases(caller)
        .create_case(cases::create(case, ""))
        .await
        .map(|r| r.into_inner().r#case.unwrap().case_id)
}

/// What [`a_working_day`] did, for the assertions on what the telemetry shows.
struct Day {
    /// Vejle's case: visitated to category 2, one follow-up, a plan, a referral.
    vejle_case: String,
    /// Aabenraa's case: never followed up, sick for 60 days.
    aabenraa_case: String,
}

/// Serves each service once, as a jobcentre's day would: intake (and a refused CPR-shaped
/// reference), visitation, a follow-up, a screening, a plan whose specialist is booked 21 days
/// late, a contract and a referral that starts 5 days after it was made.
async fn a_working_day(daemon: &Daemon) -> Day {
    let d0 = today() - Duration::days(50);
    let vejle_case = create_case(daemon, Caller::VEJLE, d0, CITIZEN_REFERENCE)
        .await
        .unwrap();
    let refused = create_case(daemon, Caller::VEJLE, d0, CPR_SHAPED)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(!refused.message().contains(CPR_SHAPED), "{refused:?}");
    let aabenraa_case = create_case(
        daemon,
        Caller::AABENRAA,
        today() - Duration::days(60),
        "aabenraa-0007",
    )
    .await
    .unwrap();

    let mut cases = daemon.cases(Caller::VEJLE);
    cases
        .visitate(pb::VisitateRequest {
            case_id: vejle_case.clone(),
            category: pb::Category::Category2 as i32,
            reason: "not expected back within 8 weeks".into(),
            visited_on: day(d0, 10),
            etag: String::new(),
        })
        .await
        .unwrap();
    cases
        .record_follow_up(pb::RecordFollowUpRequest {
            case_id: vejle_case.clone(),
            held_on: day(d0, 20),
            contact_mode: pb::ContactMode::InPerson as i32,
            outcome: "agreed gradual return".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let mut screenings = daemon.screening(Caller::VEJLE);
    let group = screening::kia_team(&mut screenings).await;
    screening::open_screening(&mut screenings, &vejle_case, &group.group_id).await;

    // The specialist's waiting list gives D81, 21 days after the planned D60 (the waiting-time
    // slip of AL-09): the goal slips 21 days.
    let mut plans = daemon.plans(Caller::VEJLE);
    let kind = (pb::PlanKind::KiaReturnPlan, pb::PlanStage::Final);
    let mut plan = plans::create_plan(&mut plans, &vejle_case, kind.0, kind.1).await;
    let specialist = plans::health(pb::HealthActivityKind::Specialist);
    let partial = Kind::Employment(plans::employment(
        pb::EmploymentActivityKind::PartialReturn,
        20.0,
    ));
    for change in [
        plans::activity("spec", specialist, &day(d0, 60), "", &[]),
        plans::activity("partial", partial, &day(d0, 60), &day(d0, 80), &["spec"]),
        plans::full_return_by(&day(d0, 80)),
        Change::BookActivity(pb::BookActivity {
            activity_id: "spec".into(),
            booked_start: day(d0, 81),
        }),
    ] {
        plan = plans::change(&mut plans, &plan, change).await;
    }

    // Referred five days ago, started today.
    let mut contracting = daemon.contracting(Caller::VEJLE);
    let provider_id = contracting::provider(&mut contracting, "Quick Care", "quick-care").await;
    let this_year = pb::Contract {
        period_from: (today() - Duration::days(365)).to_string(),
        period_to: (today() + Duration::days(365)).to_string(),
        ..contracting::contract(&provider_id, None, &[])
    };
    let contract_id = contracting::create_contract(&mut contracting, this_year).await;
    let referred_on = today() - Duration::days(5);
    let referral_id = contracting::refer(&mut contracting, &contract_id, &vejle_case, referred_on)
        .await
        .unwrap();
    use pb::{ReferralEventKind, ReferralOutcome};
    contracting::event(
        &mut contracting,
        &referral_id,
        ReferralEventKind::Started,
        today(),
        ReferralOutcome::Unspecified,
    )
    .await
    .unwrap();

    Day {
        vejle_case,
        aabenraa_case,
    }
}

/// Overdue follow-up deadlines on a case's timeline today, as `GetTimeline` shows them.
async fn overdue_follow_ups(daemon: &Daemon, caller: Caller, case_id: &str) -> usize {
    let timeline = daemon
        .cases(caller)
        .get_timeline(pb::GetTimelineRequest {
            case_id: case_id.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    timeline
        .deadlines
        .iter()
        .filter(|d| d.kind == "follow_up" && d.status == pb::DeadlineStatus::Overdue as i32)
        .count()
}

/// The value of the one sample `name{labels...}` whose labels include every `label="value"`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = samples(text, name, labels);
    assert_eq!(
        found.len(),
        1,
        "one sample {name} with {labels:?} expected in\n{text}"
    );
    found[0]
}

/// Every sample of `name` carrying `labels`.
fn samples(text: &str, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect()
}

/// The names of every sample in a Prometheus text exposition.
fn exported_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// Series Prometheus makes itself for every target; no daemon exports them.
const PROMETHEUS_OWN: &[&str] = &["up"];

async fn every_metric_the_dashboards_query_is_exported(backend: Backend) {
    let daemon = Daemon::start(backend).await;
    let day = a_working_day(&daemon).await;

    // The dashboards' queries, name by name. The alert engine evaluates the day's changes within
    // about a second of each write: wait (bounded) until its series are in the scrape.
    let used = dashboard_metric_names();
    assert!(used.contains("kia_cases_open"), "{used:?}");
    let missing_from = |text: &str| -> Vec<String> {
        let exported = exported_names(text);
        used.iter()
            .filter(|n| !exported.contains(*n) && !PROMETHEUS_OWN.contains(&n.as_str()))
            .cloned()
            .collect()
    };
    // The gauge counts what GetTimeline shows as overdue; Aabenraa's first follow-up (due by
    // the end of week 8, T-11) is overdue on day 60. Counting computes every open case's
    // timeline, so it is rested between counts (a bounded share of a core): wait for the count
    // that saw the day as well.
    let aabenraa = overdue_follow_ups(&daemon, Caller::AABENRAA, &day.aabenraa_case).await;
    let vejle = overdue_follow_ups(&daemon, Caller::VEJLE, &day.vejle_case).await;
    assert!(aabenraa >= 1);
    // `None` until the count has a sample for the municipality.
    let overdue =
        |text: &str, m: &str| match samples(text, "kia_follow_ups_overdue", &[("municipality", m)])
            [..]
        {
            [one] => Some(one),
            _ => None,
        };
    let counted = |text: &str| {
        (overdue(text, "580"), overdue(text, "630")) == (Some(aabenraa as f64), Some(vejle as f64))
    };
    let mut text = daemon.scrape().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    while !(missing_from(&text).is_empty() && counted(&text))
        && tokio::time::Instant::now() < deadline
    {
        tick.tick().await;
        text = daemon.scrape().await;
    }
    let missing = missing_from(&text);
    assert!(
        missing.is_empty(),
        "dashboards query metrics the daemon does not export: {missing:?}\nexported: {:?}",
        exported_names(&text)
    );

    // And the values are what the day did.
    let open = |m: &str, c: &str| {
        sample(
            &text,
            "kia_cases_open",
            &[("municipality", m), ("category", c)],
        )
    };
    assert_eq!((open("630", "2"), open("580", "none")), (1.0, 1.0));
    assert_eq!(
        (overdue(&text, "580"), overdue(&text, "630")),
        (Some(aabenraa as f64), Some(vejle as f64))
    );
    // Slip is recorded per goal on each stored change once the goal exists: 0 when it was set,
    // 21 when the specialist was booked late.
    let vejle_slip = [("municipality", "630")];
    assert_eq!(sample(&text, "kia_plan_slip_days_count", &vejle_slip), 2.0);
    assert_eq!(sample(&text, "kia_plan_slip_days_sum", &vejle_slip), 21.0);
    let le = |b: &str| {
        sample(
            &text,
            "kia_plan_slip_days_bucket",
            &[("municipality", "630"), ("le", b)],
        )
    };
    assert_eq!((le("14"), le("21")), (1.0, 2.0));
    let quick_care = [("provider", "quick-care")];
    assert_eq!(
        sample(&text, "kia_referral_to_start_days_sum", &quick_care),
        5.0
    );
    assert_eq!(
        sample(&text, "kia_referral_to_start_days_count", &quick_care),
        1.0
    );
    let pools = text
        .lines()
        .filter(|l| l.starts_with("db_client_connection_max{"))
        .count();
    assert!(pools >= 1, "{text}");
    assert!(sample(&text, "kia_events_lag", &[]) >= 0.0);
    assert!(!text.contains(CITIZEN_REFERENCE) && !text.contains(CPR_SHAPED));
}

/// In a deployment by service groups only the case service's processes count cases (the count
/// reads every open case); every process reports its own pools and feed.
#[tokio::test]
async fn only_processes_hosting_the_case_service_report_the_case_gauges() {
    let backend = Backend::postgres().await.unwrap_or(Backend::Sqlite);
    let cases = Daemon::start(backend.clone()).await;
    create_case(&cases, Caller::VEJLE, today(), CITIZEN_REFERENCE)
        .await
        .unwrap();
    // On PostgreSQL both processes share the database, as in a deployment; SQLite is one
    // process's file, so there the second process has its own.
    let contracting = Daemon::start_with_env(backend, &[("KIA_SERVICES", "contracting")]).await;
    let (all, only_contracting) = (cases.scrape().await, contracting.scrape().await);
    assert_eq!(
        sample(&all, "kia_cases_open", &[("municipality", "630")]),
        1.0
    );
    for name in ["kia_cases_open", "kia_follow_ups_overdue"] {
        assert!(
            !exported_names(&only_contracting).contains(name),
            "{only_contracting}"
        );
    }
    for name in ["db_client_connection_count", "kia_events_lag"] {
        assert!(
            exported_names(&only_contracting).contains(name),
            "{only_contracting}"
        );
    }
}

/// The dashboards, as shipped.
fn dashboards() -> Vec<(String, serde_json::Value)> {
    let dir = repo_root().join("deploy/grafana/dashboards");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), json)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 4, "dashboards in {}", dir.display());
    out
}

/// Every PromQL expression of a dashboard: panel targets' `expr` and templating `query`.
fn expressions(json: &serde_json::Value, out: &mut Vec<String>) {
    match json {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                    ("query", serde_json::Value::String(q)) if q.contains('(') => {
                        out.push(q.clone())
                    }
                    _ => expressions(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| expressions(v, out)),
        _ => {}
    }
}

fn dashboard_metric_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (file, json) in dashboards() {
        let mut exprs = Vec::new();
        expressions(&json, &mut exprs);
        assert!(!exprs.is_empty(), "{file} has no queries");
        for expr in exprs {
            let found = promql_metric_names(&expr);
            assert!(!found.is_empty(), "{file}: no metric in {expr:?}");
            names.extend(found);
        }
    }
    names
}

/// The metric names a PromQL expression selects: identifiers that are not functions,
/// aggregations, keywords, label names or values, durations or Grafana variables.
fn promql_metric_names(expr: &str) -> BTreeSet<String> {
    const GROUPING: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    const KEYWORDS: &[&str] = &["bool", "and", "or", "unless", "offset", "inf", "nan"];
    // `label_values(metric, label)` (Grafana templating): the metric only.
    let mut text = expr.to_owned();
    while let Some(start) = text.find("label_values(") {
        let rest = &text[start + "label_values(".len()..];
        let end = rest.find(')').map_or(text.len(), |e| start + 13 + e + 1);
        let metric = rest
            .split([',', ')'])
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        text.replace_range(start..end, &format!(" {metric} "));
    }
    let chars: Vec<char> = text.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // Skip label matchers, ranges, strings and variables whole.
        let closing = match c {
            '{' => Some('}'),
            '[' => Some(']'),
            '"' => Some('"'),
            _ => None,
        };
        if let Some(close) = closing {
            i += 1;
            while i < chars.len() && chars[i] != close {
                i += 1;
            }
            i += 1;
            continue;
        }
        if c == '$' {
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || "_{}".contains(chars[i])) {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let word = identifier(&chars, &mut i);
            let mut after = i;
            while after < chars.len() && chars[after].is_whitespace() {
                after += 1;
            }
            if GROUPING.contains(&word.as_str()) {
                // The label list after `by (...)` and its kin.
                if chars.get(after) == Some(&'(') {
                    i = after;
                    while i < chars.len() && chars[i] != ')' {
                        i += 1;
                    }
                }
                continue;
            }
            let next_word = identifier(&chars, &mut after);
            let function = chars
                .get(i..)
                .and_then(|rest| rest.iter().find(|c| !c.is_whitespace()))
                == Some(&'(')
                || next_word == "by"
                || next_word == "without";
            if !function && !KEYWORDS.contains(&word.to_lowercase().as_str()) {
                names.insert(word);
            }
            continue;
        }
        i += 1;
    }
    names
}

/// The identifier starting at `*i` (empty if none), leaving `*i` just after it.
fn identifier(chars: &[char], i: &mut usize) -> String {
    let start = *i;
    while *i < chars.len()
        && (chars[*i].is_ascii_alphanumeric() || chars[*i] == '_' || chars[*i] == ':')
        && (*i > start || !chars[*i].is_ascii_digit())
    {
        *i += 1;
    }
    chars[start..*i].iter().collect()
}

#[test]
fn promql_names_are_told_from_functions_labels_and_variables() {
    let names = |e: &str| promql_metric_names(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            r#"histogram_quantile(0.95, sum by (le, rpc_method) (rate(rpc_server_call_duration_seconds_bucket{rpc_service=~"$service"}[$__rate_interval])))"#
        ),
        ["rpc_server_call_duration_seconds_bucket"]
    );
    assert_eq!(
        names(
            "sum(rate(a_total{code!=\"OK\"}[5m])) / ignoring(code) sum without (instance) (rate(b_count[5m])) > bool 0"
        ),
        ["a_total", "b_count"]
    );
    assert_eq!(
        names("label_values(kia_cases_open, municipality)"),
        ["kia_cases_open"]
    );
    assert_eq!(
        names("max by (municipality) (kia_follow_ups_overdue) or vector(0)"),
        ["kia_follow_ups_overdue"]
    );
}

/// An OTLP/gRPC collector that keeps what it receives.
#[derive(Debug, Default, Clone)]
struct Collector {
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.traces.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.metrics.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl Collector {
    /// Listens on a free loopback port; returns the endpoint for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(self.clone()))
            .add_service(MetricsServiceServer::new(self.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        tokio::spawn(server);
        endpoint
    }
}

/// OTLP attributes as text, by key.
fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                Some(Value::IntValue(i)) => i.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

#[tokio::test]
async fn spans_and_metrics_arrive_over_otlp_without_personal_data() {
    let collector = Collector::default();
    let endpoint = collector.start().await;
    let mut daemon = Daemon::start_with_env(
        Backend::Sqlite,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    )
    .await;
    a_working_day(&daemon).await;
    // A scrape brings the gauges up to date now (between scrapes they refresh every 30 s);
    // the graceful stop then flushes every span and a last collection of every metric.
    daemon.scrape().await;
    daemon.stop().await;

    let traces = collector.traces.lock().unwrap().clone();
    let metrics = collector.metrics.lock().unwrap().clone();
    let everything = format!("{traces:?}{metrics:?}{}", daemon.log());
    for secret in [CITIZEN_REFERENCE, CPR_SHAPED, "010190-1234"] {
        assert!(
            !everything.contains(secret),
            "{secret:?} left the daemon in telemetry or logs"
        );
    }

    // One server span per RPC, named service/method, with the RPC attributes.
    let mut spans: BTreeMap<String, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for span in traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .filter(|s| s.name.starts_with("kia.v1."))
    {
        let attributes = attributes(&span.attributes);
        assert_eq!(span.kind, 2, "{} is a server span", span.name);
        spans.entry(span.name.clone()).or_default().push(attributes);
    }
    let attribute = |name: &str, key: &str| -> Vec<String> {
        spans
            .get(name)
            .unwrap_or_else(|| panic!("no span {name} in {:?}", spans.keys()))
            .iter()
            .map(|a| a.get(key).cloned().unwrap_or_default())
            .collect()
    };
    for (service, method) in [
        ("kia.v1.CaseService", "Visitate"),
        ("kia.v1.CaseService", "RecordFollowUp"),
        ("kia.v1.ScreeningService", "OpenScreening"),
        ("kia.v1.PlanService", "ApplyPlanChange"),
        ("kia.v1.ContractingService", "RecordReferralEvent"),
    ] {
        let name = format!("{service}/{method}");
        assert!(attribute(&name, "rpc.system").iter().all(|v| v == "grpc"));
        assert!(attribute(&name, "rpc.service").iter().all(|v| v == service));
        assert!(attribute(&name, "rpc.method").iter().all(|v| v == method));
        assert!(
            attribute(&name, "rpc.grpc.status_code")
                .iter()
                .all(|v| v == "OK"),
            "{name}"
        );
    }
    let mut create = attribute("kia.v1.CaseService/CreateCase", "rpc.grpc.status_code");
    create.sort();
    assert_eq!(create, ["INVALID_ARGUMENT", "OK", "OK"]);

    let instruments: Vec<_> = metrics
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .collect();
    let names: BTreeSet<&str> = instruments.iter().map(|m| m.name.as_str()).collect();
    use kia_runtime::telemetry::metric_names::*;
    for name in [
        RPC_SERVER_DURATION,
        OPEN_CASES,
        OVERDUE_FOLLOW_UPS,
        PLAN_SLIP,
        REFERRAL_TO_START,
        DB_CONNECTIONS,
        DB_CONNECTIONS_MAX,
        EVENT_LOG_LAG,
        EVENT_LOG_LAG_AGE,
    ] {
        assert!(names.contains(name), "{name} not in {names:?}");
    }
    // The open-cases gauge arrives with its labels: Vejle's case in category 2.
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    let open_cases: Vec<BTreeMap<String, String>> = instruments
        .iter()
        .filter(|m| m.name == OPEN_CASES)
        .filter_map(|m| match &m.data {
            Some(Data::Gauge(g)) => Some(&g.data_points),
            _ => None,
        })
        .flatten()
        .map(|p| attributes(&p.attributes))
        .collect();
    let vejle = BTreeMap::from([
        ("category".to_owned(), "2".to_owned()),
        ("municipality".to_owned(), "630".to_owned()),
    ]);
    assert!(open_cases.contains(&vejle), "{open_cases:?}");
}

async fn kia_migrate_applies_the_migrations_once_and_exits(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = match &backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("kia.db").display()),
        Backend::Postgres(url) => url.clone(),
    };
    let migrate = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_kia"))
            .args(["migrate", "--database-url", &url])
            .env_remove("KIA_DATABASE_URL")
            .output()
            .unwrap()
    };
    let applied = |url: &str| {
        let url = url.to_owned();
        async move {
            let query = "SELECT COUNT(*) FROM _sqlx_migrations WHERE success";
            if url.starts_with("sqlite") {
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                sqlx::query_scalar::<_, i64>(query)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            } else {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                sqlx::query_scalar::<_, i64>(query)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        }
    };
    let shipped = |backend: &str| {
        std::fs::read_dir(repo_root().join("services/store/migrations").join(backend))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "sql")
            })
            .count() as i64
    };
    let expected = shipped(match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
    });

    for run in ["first", "second"] {
        let out = migrate();
        assert!(
            out.status.success(),
            "{run} run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));
        assert_eq!(applied(&url).await, expected, "{run} run");
    }

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kia"))
        .args(["migrate", "--database-url", "mysql://db/kia"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must start with sqlite: or postgres://"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Prometheus server binary: `KIA_TEST_PROMETHEUS`, else `prometheus` on the PATH (Debian's
/// package, which scripts/test.sh installs). Missing: the test is skipped loudly, or fails in CI.
fn prometheus_binary() -> Option<PathBuf> {
    let named = std::env::var_os("KIA_TEST_PROMETHEUS").map(PathBuf::from);
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("prometheus"))
            .find(|p| p.is_file())
    });
    let found = named.or(on_path);
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs Prometheus (Debian package prometheus) for the scrape test"
        );
        eprintln!(
            "!!! SKIPPED: no prometheus binary (install Debian's prometheus package or set \
             KIA_TEST_PROMETHEUS); the real-Prometheus scrape was NOT tested !!!"
        );
    }
    found
}

/// A plain HTTP/1.0 GET (so the answer is never chunked): status line and body.
async fn http_get(addr: &str, path: &str) -> std::io::Result<(String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    ))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs an instant query; the parsed `data.result`, or the error Prometheus gave.
async fn promql(addr: &str, query: &str) -> Result<Vec<serde_json::Value>, String> {
    let (status, body) = http_get(
        addr,
        &format!("/api/v1/query?query={}", percent_encode(query)),
    )
    .await
    .map_err(|e| e.to_string())?;
    let json: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("{status}: {e}: {body}"))?;
    if json["status"] != "success" {
        return Err(format!("{status}: {body}"));
    }
    Ok(json["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// A dashboard expression as Grafana sends it: variables filled in with "everything".
fn as_grafana_sends_it(expr: &str) -> String {
    ["$service", "$municipality", "$provider", "$rule"]
        .iter()
        .fold(expr.replace("$__rate_interval", "1m"), |e, var| {
            e.replace(var, ".*")
        })
}

/// A real Prometheus scrapes a daemon that served each service, ingests every metric the
/// dashboards use, and evaluates every dashboard query without error.
#[tokio::test]
async fn a_real_prometheus_scrapes_the_daemon_and_runs_every_dashboard_query() {
    let Some(binary) = prometheus_binary() else {
        return;
    };
    let daemon = Daemon::start(Backend::Sqlite).await;
    a_working_day(&daemon).await;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: kia\n    \
             static_configs:\n      - targets: ['{}']\n        labels: {{group: all}}\n",
            daemon.metrics_addr
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let _prometheus = tokio::process::Command::new(&binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // Wait (bounded) until the first scrape of the daemon is in.
    let expected = dashboard_metric_names();
    let scraped = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        loop {
            tick.tick().await;
            if let Ok(up) = promql(&addr, "up{job=\"kia\"} == 1").await
                && !up.is_empty()
                && promql(&addr, "kia_cases_open")
                    .await
                    .is_ok_and(|r| !r.is_empty())
            {
                return;
            }
        }
    })
    .await;
    let prometheus_log = || std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap();
    assert!(
        scraped.is_ok(),
        "no scrape within 60 s:\n{}",
        prometheus_log()
    );

    // Every metric the dashboards use was ingested from the exposition.
    for name in expected {
        if PROMETHEUS_OWN.contains(&name.as_str()) {
            continue;
        }
        let series = promql(&addr, &format!("count({{__name__=\"{name}\"}})"))
            .await
            .unwrap();
        assert!(!series.is_empty(), "Prometheus has no {name}");
    }
    // Every query of every dashboard is valid PromQL for a real Prometheus.
    for (file, json) in dashboards() {
        let mut exprs = Vec::new();
        expressions(&json, &mut exprs);
        for expr in exprs.iter().filter(|e| !e.starts_with("label_values(")) {
            let query = as_grafana_sends_it(expr);
            if let Err(err) = promql(&addr, &query).await {
                panic!("{file}: {query}\n{err}");
            }
        }
    }
    // The open cases as Grafana's cases dashboard reads them: Vejle's one case in category 2.
    let vejle = promql(
        &addr,
        "max by (municipality, category) (kia_cases_open{municipality=\"630\"})",
    )
    .await
    .unwrap();
    assert_eq!(vejle.len(), 1, "{vejle:?}");
    assert_eq!(vejle[0]["metric"]["category"], "2");
    assert_eq!(vejle[0]["value"][1], "1");
}
