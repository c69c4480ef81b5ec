//! Logs, traces and metrics.
//!
//! Logs go to stderr, human-readable by default or JSON on request. When the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or a signal-specific variant) is set, traces and metrics are
//! also exported over OTLP/gRPC. Metrics are always kept for the Prometheus text endpoint.
//! Metric names live in [`metric_names`], defined once.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Every metric kia emits, by its OpenTelemetry name. Prometheus names replace dots with
/// underscores and append the unit (`rpc_server_call_duration_seconds`).
pub mod metric_names {
    /// Histogram, seconds: duration of each RPC served, by `rpc.service`, `rpc.method` and
    /// `rpc.grpc.status_code` (the name of the gRPC status, e.g. `OK`, `NOT_FOUND`).
    pub const RPC_SERVER_DURATION: &str = "rpc.server.call.duration";
    /// Gauge: open sickness-benefit cases, by `municipality` and visitation `category` (`1`,
    /// `2`, `3`, or `none` before visitation).
    pub const OPEN_CASES: &str = "kia.cases.open";
    /// Counter: alerts raised, by `rule` (`AL-nn`).
    pub const ALERTS_RAISED: &str = "kia.alerts.raised";
    /// Counter: alerts resolved (their cause went away), by `rule`.
    pub const ALERTS_RESOLVED: &str = "kia.alerts.resolved";
    /// Gauge: unresolved alerts, by `rule` and `severity`.
    pub const ALERTS_OPEN: &str = "kia.alerts.open";
    /// Gauge, seconds: age of the oldest unresolved alert.
    pub const ALERTS_OLDEST_OPEN_AGE: &str = "kia.alerts.oldest_open_age";
    /// Histogram, seconds: from an event's commit to the evaluation of its case.
    pub const ALERT_EVALUATION_LAG: &str = "kia.alert.evaluation_lag";
    /// Histogram, seconds: duration of one alert sweep of this replica.
    pub const ALERT_SWEEP_DURATION: &str = "kia.alert.sweep.duration";
    /// Gauge: follow-up talks (opfølgningssamtaler) past their due date on open cases, by
    /// `municipality` (every municipality with an open case reports, zero included).
    pub const OVERDUE_FOLLOW_UPS: &str = "kia.follow_ups.overdue";
    /// Histogram, days: how far a plan goal's projected return-to-work date lies past the goal,
    /// recorded per goal whenever a plan change is stored, by `municipality`.
    pub const PLAN_SLIP: &str = "kia.plan.slip";
    /// Histogram, days: from referral (visitationsdato) to the start of the course
    /// (opstartsdato), recorded when a referral starts, by `provider` (its organisation id).
    pub const REFERRAL_TO_START: &str = "kia.referral.to_start";
    /// Gauge: database connections of this process, by `db.client.connection.pool.name` and
    /// `db.client.connection.state` (`used` or `idle`) (OpenTelemetry semantic conventions).
    pub const DB_CONNECTIONS: &str = "db.client.connection.count";
    /// Gauge: the most connections a pool of this process may open, by pool name.
    pub const DB_CONNECTIONS_MAX: &str = "db.client.connection.max";
    /// Gauge: events in the log that this process's event feed has not seen yet.
    pub const EVENT_LOG_LAG: &str = "kia.events.lag";
    /// Gauge, seconds: age of the oldest event this process's event feed has not seen yet
    /// (0 when it is caught up).
    pub const EVENT_LOG_LAG_AGE: &str = "kia.events.lag.age";
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The process's telemetry: keep it alive while serving, then [`Telemetry::shutdown`].
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: SdkMeterProvider,
    registry: prometheus::Registry,
    pub metrics: Metrics,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("otlp", &self.tracer_provider.is_some())
            .finish()
    }
}

/// The last values an observable gauge reports, one per label set.
type Snapshot = Arc<RwLock<Vec<(Vec<KeyValue>, f64)>>>;

/// The instruments services record into.
#[derive(Clone)]
pub struct Metrics {
    meter: opentelemetry::metrics::Meter,
    rpc_duration: Histogram<f64>,
    plan_slip: Histogram<u64>,
    referral_to_start: Histogram<u64>,
    open_cases: Snapshot,
    overdue_follow_ups: Snapshot,
    db_connections: Snapshot,
    db_connections_max: Snapshot,
    event_lag: Snapshot,
    event_lag_age: Snapshot,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// The meter services build their own instruments from (names in [`metric_names`]).
    pub fn meter(&self) -> &opentelemetry::metrics::Meter {
        &self.meter
    }

    pub fn record_rpc(&self, service: &str, method: &str, code: tonic::Code, elapsed: Duration) {
        self.rpc_duration.record(
            elapsed.as_secs_f64(),
            &[
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", service.to_owned()),
                KeyValue::new("rpc.method", method.to_owned()),
                KeyValue::new("rpc.grpc.status_code", status_name(code)),
            ],
        );
    }

    /// Replaces the open-cases snapshot the gauge reports.
    pub fn set_open_cases(&self, counts: &[kia_store::OpenCaseCount]) {
        replace(
            &self.open_cases,
            counts.iter().map(|c| {
                let category = c.category.clone().unwrap_or_else(|| "none".to_owned());
                (
                    vec![
                        KeyValue::new("municipality", c.municipality.clone()),
                        KeyValue::new("category", category),
                    ],
                    c.count as f64,
                )
            }),
        );
    }

    /// Replaces the overdue follow-ups per municipality.
    pub fn set_overdue_follow_ups(&self, counts: &[(String, i64)]) {
        replace(
            &self.overdue_follow_ups,
            counts
                .iter()
                .map(|(m, n)| (vec![KeyValue::new("municipality", m.clone())], *n as f64)),
        );
    }

    /// Replaces the connection counts of the process's database pools.
    pub fn set_db_pools(&self, pools: &[kia_store::PoolConnections]) {
        let pool = |p: &kia_store::PoolConnections| {
            KeyValue::new("db.client.connection.pool.name", p.pool)
        };
        let state = |s: &'static str| KeyValue::new("db.client.connection.state", s);
        replace(
            &self.db_connections,
            pools.iter().flat_map(|p| {
                [
                    (vec![pool(p), state("used")], f64::from(p.used)),
                    (vec![pool(p), state("idle")], f64::from(p.idle)),
                ]
            }),
        );
        replace(
            &self.db_connections_max,
            pools.iter().map(|p| (vec![pool(p)], f64::from(p.max))),
        );
    }

    /// Replaces how far the event feed trails the log: events unseen and the oldest one's age.
    pub fn set_event_lag(&self, events: i64, age: Duration) {
        replace(&self.event_lag, [(Vec::new(), events as f64)]);
        replace(&self.event_lag_age, [(Vec::new(), age.as_secs_f64())]);
    }

    /// Records each goal's slip when a plan change is stored.
    pub fn record_plan_slip(&self, municipality: &str, slip_days: impl IntoIterator<Item = i64>) {
        let labels = [KeyValue::new("municipality", municipality.to_owned())];
        for days in slip_days {
            self.plan_slip
                .record(u64::try_from(days).unwrap_or(0), &labels);
        }
    }

    /// Records the days from referral to start when a referral starts.
    pub fn record_referral_to_start(&self, provider: &str, days: i64) {
        self.referral_to_start.record(
            u64::try_from(days).unwrap_or(0),
            &[KeyValue::new("provider", provider.to_owned())],
        );
    }
}

fn replace(snapshot: &Snapshot, values: impl IntoIterator<Item = (Vec<KeyValue>, f64)>) {
    if let Ok(mut guard) = snapshot.write() {
        *guard = values.into_iter().collect();
    }
}

/// An observable gauge reporting whatever its snapshot holds at collection time (counts too are
/// reported as floating point, as Prometheus keeps every sample).
fn gauge(
    meter: &opentelemetry::metrics::Meter,
    name: &'static str,
    description: &'static str,
    unit: &'static str,
) -> Snapshot {
    let snapshot: Snapshot = Arc::default();
    let values = snapshot.clone();
    let _gauge = meter
        .f64_observable_gauge(name)
        .with_description(description)
        .with_unit(unit)
        .with_callback(move |observer| {
            if let Ok(values) = values.read() {
                for (labels, value) in values.iter() {
                    observer.observe(*value, labels);
                }
            }
        })
        .build();
    snapshot
}

/// Day buckets for plan slip and referral-to-start: a week, a month, a quarter and beyond.
const DAY_BOUNDARIES: [f64; 11] = [0.0, 1.0, 3.0, 5.0, 7.0, 14.0, 21.0, 30.0, 60.0, 90.0, 180.0];

/// The canonical name of a gRPC status code, as in the gRPC spec.
pub fn status_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

fn otlp_configured(signal: &str) -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        &format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"),
    ]
    .iter()
    .any(|var| std::env::var(var).is_ok_and(|v| !v.is_empty()))
}

impl Telemetry {
    /// Sets up logging, tracing and metrics. Call inside the Tokio runtime (the OTLP exporter
    /// uses tonic).
    pub fn init(format: LogFormat, service_name: &str) -> anyhow::Result<Self> {
        let resource = Resource::builder()
            .with_service_name(service_name.to_owned())
            .build();

        let tracer_provider = if otlp_configured("TRACES") {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build()?;
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource.clone())
                    .build(),
            )
        } else {
            None
        };

        let registry = prometheus::Registry::new();
        let prometheus_reader = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()?;
        let mut meters = SdkMeterProvider::builder()
            .with_reader(prometheus_reader)
            .with_resource(resource);
        if otlp_configured("METRICS") {
            let exporter = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .build()?;
            meters = meters.with_reader(PeriodicReader::builder(exporter).build());
        }
        let meter_provider = meters.build();

        let filter = EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,h2=warn,tower=warn"));
        let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
        let fmt = match format {
            LogFormat::Text => fmt.boxed(),
            LogFormat::Json => fmt
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .boxed(),
        };
        let otel = tracer_provider
            .as_ref()
            .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("kia")));
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .with(otel)
            .try_init()?;

        let meter = meter_provider.meter("kia");
        use metric_names::*;
        let day_histogram = |name: &'static str, description: &'static str| {
            meter
                .u64_histogram(name)
                .with_description(description)
                .with_unit("d")
                .with_boundaries(DAY_BOUNDARIES.to_vec())
                .build()
        };
        let plan_slip = day_histogram(
            PLAN_SLIP,
            "Days a plan goal's projected return lies past the goal, per stored plan change",
        );
        let referral_to_start = day_histogram(
            REFERRAL_TO_START,
            "Days from referral to the start of a provider's course",
        );
        let open_cases = gauge(&meter, OPEN_CASES, "Open sickness-benefit cases", "{case}");
        let overdue_follow_ups = gauge(
            &meter,
            OVERDUE_FOLLOW_UPS,
            "Follow-up talks past their due date on open cases",
            "{follow_up}",
        );
        let db_connections = gauge(
            &meter,
            DB_CONNECTIONS,
            "Database connections of this process by state",
            "{connection}",
        );
        let db_connections_max = gauge(
            &meter,
            DB_CONNECTIONS_MAX,
            "Most database connections a pool may open",
            "{connection}",
        );
        let event_lag = gauge(
            &meter,
            EVENT_LOG_LAG,
            "Events in the log this process's feed has not seen yet",
            "{event}",
        );
        let event_lag_age = gauge(
            &meter,
            EVENT_LOG_LAG_AGE,
            "Age of the oldest event this process's feed has not seen yet",
            "s",
        );
        let rpc_duration = meter
            .f64_histogram(metric_names::RPC_SERVER_DURATION)
            .with_description("Duration of RPCs served")
            .with_unit("s")
            .with_boundaries(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
            .build();

        Ok(Self {
            tracer_provider,
            meter_provider,
            registry,
            metrics: Metrics {
                meter,
                rpc_duration,
                plan_slip,
                referral_to_start,
                open_cases,
                overdue_follow_ups,
                db_connections,
                db_connections_max,
                event_lag,
                event_lag_age,
            },
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn prometheus_text(&self) -> String {
        use prometheus::Encoder;
        let mut out = Vec::new();
        if let Err(err) = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %err, "encoding metrics failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// Flushes and stops exporters. Blocks: call it outside async code (or in spawn_blocking).
    /// Takes `&self`: tasks still holding the telemetry (the metrics endpoint) must not keep the
    /// last spans and metrics from being flushed.
    pub fn shutdown(&self) {
        if let Some(tracer) = &self.tracer_provider
            && let Err(err) = tracer.shutdown()
        {
            eprintln!("kia: flushing traces failed: {err}");
        }
        if let Err(err) = self.meter_provider.shutdown() {
            eprintln!("kia: flushing metrics failed: {err}");
        }
    }
}
