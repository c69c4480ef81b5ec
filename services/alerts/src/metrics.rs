//! The alert instruments, named in `kia_runtime::telemetry::metric_names`.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kia_domain::alerts::AlertRule;
use kia_runtime::telemetry::metric_names;
use kia_store::OpenAlertStats;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};

const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Debug, Default)]
struct OpenSnapshot {
    by_rule_severity: Vec<(String, String, i64)>,
    oldest_age_seconds: Option<f64>,
}

#[derive(Clone)]
pub struct AlertMetrics {
    raised: Counter<u64>,
    resolved: Counter<u64>,
    lag: Histogram<f64>,
    sweep: Histogram<f64>,
    open: Arc<RwLock<OpenSnapshot>>,
}

impl std::fmt::Debug for AlertMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertMetrics")
    }
}

impl AlertMetrics {
    pub fn new(meter: &Meter) -> Self {
        let open: Arc<RwLock<OpenSnapshot>> = Arc::default();
        let snapshot = open.clone();
        let _open = meter
            .i64_observable_gauge(metric_names::ALERTS_OPEN)
            .with_description("Unresolved alerts")
            .with_unit("{alert}")
            .with_callback(move |observer| {
                if let Ok(s) = snapshot.read() {
                    for (rule, severity, n) in &s.by_rule_severity {
                        observer.observe(
                            *n,
                            &[
                                KeyValue::new("rule", rule.clone()),
                                KeyValue::new("severity", severity.clone()),
                            ],
                        );
                    }
                }
            })
            .build();
        let snapshot = open.clone();
        let _oldest = meter
            .f64_observable_gauge(metric_names::ALERTS_OLDEST_OPEN_AGE)
            .with_description("Age of the oldest unresolved alert")
            .with_unit("s")
            .with_callback(move |observer| {
                if let Ok(s) = snapshot.read() {
                    observer.observe(s.oldest_age_seconds.unwrap_or(0.0), &[]);
                }
            })
            .build();
        let metrics = Self {
            raised: meter
                .u64_counter(metric_names::ALERTS_RAISED)
                .with_description("Alerts raised")
                .with_unit("{alert}")
                .build(),
            resolved: meter
                .u64_counter(metric_names::ALERTS_RESOLVED)
                .with_description("Alerts resolved because their cause went away")
                .with_unit("{alert}")
                .build(),
            lag: meter
                .f64_histogram(metric_names::ALERT_EVALUATION_LAG)
                .with_description("From an event's commit to the evaluation of its case")
                .with_unit("s")
                .with_boundaries(SECONDS_BUCKETS.to_vec())
                .build(),
            sweep: meter
                .f64_histogram(metric_names::ALERT_SWEEP_DURATION)
                .with_description("Duration of one alert sweep of this replica")
                .with_unit("s")
                .with_boundaries(SECONDS_BUCKETS.to_vec())
                .build(),
            open,
        };
        // Every rule's counters start at zero, so a rate over them exists before the first
        // alert (and a dashboard shows 0, not "no data").
        for rule in AlertRule::ALL {
            let rule = [KeyValue::new("rule", rule.as_str())];
            metrics.raised.add(0, &rule);
            metrics.resolved.add(0, &rule);
        }
        metrics
    }

    pub fn raised(&self, rule: AlertRule) {
        self.raised.add(1, &[KeyValue::new("rule", rule.as_str())]);
    }

    pub fn resolved(&self, rule: AlertRule) {
        self.resolved
            .add(1, &[KeyValue::new("rule", rule.as_str())]);
    }

    pub fn lag(&self, lag: Duration) {
        self.lag.record(lag.as_secs_f64(), &[]);
    }

    pub fn sweep(&self, took: Duration) {
        self.sweep.record(took.as_secs_f64(), &[]);
    }

    pub fn set_open(&self, stats: OpenAlertStats, now: DateTime<Utc>) {
        if let Ok(mut s) = self.open.write() {
            s.by_rule_severity = stats.by_rule_severity;
            s.oldest_age_seconds = stats
                .oldest_raised_at
                .map(|t| (now - t).num_milliseconds() as f64 / 1000.0);
        }
    }
}
