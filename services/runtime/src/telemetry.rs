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
    /// Gauge: open sickness-benefit cases, by `municipality`.
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

/// The instruments services record into.
#[derive(Clone)]
pub struct Metrics {
    meter: opentelemetry::metrics::Meter,
    rpc_duration: Histogram<f64>,
    open_cases: Arc<RwLock<Vec<(String, i64)>>>,
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
    pub fn set_open_cases(&self, counts: Vec<(String, i64)>) {
        if let Ok(mut guard) = self.open_cases.write() {
            *guard = counts;
        }
    }
}

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
        let open_cases: Arc<RwLock<Vec<(String, i64)>>> = Arc::default();
        let snapshot = open_cases.clone();
        let _gauge = meter
            .i64_observable_gauge(metric_names::OPEN_CASES)
            .with_description("Open sickness-benefit cases")
            .with_unit("{case}")
            .with_callback(move |observer| {
                if let Ok(counts) = snapshot.read() {
                    for (municipality, n) in counts.iter() {
                        observer
                            .observe(*n, &[KeyValue::new("municipality", municipality.clone())]);
                    }
                }
            })
            .build();
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
                open_cases,
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
    pub fn shutdown(self) {
        if let Some(tracer) = self.tracer_provider
            && let Err(err) = tracer.shutdown()
        {
            eprintln!("kia: flushing traces failed: {err}");
        }
        if let Err(err) = self.meter_provider.shutdown() {
            eprintln!("kia: flushing metrics failed: {err}");
        }
    }
}
