//! What `kia bench` prints: aligned tables for people, JSON for scripts.

use std::fmt::Write as _;

use serde::Serialize;

use super::load::{CallStats, Pace, PhaseStats};

/// kia's figures as shares of the ceilings measured in the same run.
#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    pub echo_per_s: f64,
    pub reads_per_s: f64,
    /// Reads (get case, get plan) per second / echo calls per second.
    pub reads_vs_echo: f64,
    /// Worst p99 of the read calls when sent at half the read throughput, on schedule.
    pub reads_p99_ms_at_half_load: f64,
    /// The echo server's p99 on the same schedule: what the machine and the load generator add.
    pub echo_p99_ms_at_half_load: f64,
    pub raw_writes_per_s: f64,
    pub durable_writes_per_s: f64,
    /// Durable writes (create case, update plan activity) per second / raw commits per second.
    pub writes_vs_raw: f64,
}

impl Ratios {
    pub fn of(
        echo: &PhaseStats,
        reads: &PhaseStats,
        reads_half: &PhaseStats,
        echo_half: &PhaseStats,
        raw: &PhaseStats,
        writes: &PhaseStats,
    ) -> Self {
        let share = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        Self {
            echo_per_s: echo.total.throughput,
            reads_per_s: reads.total.throughput,
            reads_vs_echo: share(reads.total.throughput, echo.total.throughput),
            reads_p99_ms_at_half_load: reads_half
                .calls
                .iter()
                .map(|c| c.p99_ms)
                .fold(0.0, f64::max),
            echo_p99_ms_at_half_load: echo_half.total.p99_ms,
            raw_writes_per_s: raw.total.throughput,
            durable_writes_per_s: writes.total.throughput,
            writes_vs_raw: share(writes.total.throughput, raw.total.throughput),
        }
    }
}

/// The spawned daemon's start-up and memory.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonFigures {
    pub to_serving_s: f64,
    pub rss_idle_mb: Option<f64>,
    pub rss_after_load_mb: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RpcReport {
    pub target: String,
    pub spawned: bool,
    pub database: String,
    pub concurrency: usize,
    pub connections: usize,
    pub setup_cases: usize,
    pub phases: Vec<PhaseStats>,
    pub ratios: Option<Ratios>,
    pub daemon: Option<DaemonFigures>,
}

fn pace(p: &Pace) -> String {
    match p {
        Pace::Closed { concurrency } => format!("closed loop, {concurrency} callers"),
        Pace::Open { rate, concurrency } => {
            format!("open loop, {rate:.0} calls/s on schedule, at most {concurrency} in flight")
        }
    }
}

fn row(out: &mut String, c: &CallStats) {
    let errors: u64 = c.errors.values().sum();
    let _ = writeln!(
        out,
        "  {:<22} {:>9} {:>7} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
        c.kind,
        c.ok,
        errors,
        c.throughput,
        c.mean_ms,
        c.p50_ms,
        c.p90_ms,
        c.p99_ms,
        c.p999_ms,
        c.max_ms
    );
    for (reason, n) in &c.errors {
        let _ = writeln!(out, "  {:<22} {n} × {reason}", "");
    }
}

impl RpcReport {
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "kia bench rpc: {} ({}{}), {} setup cases, {} connections",
            self.target,
            self.database,
            if self.spawned { ", spawned" } else { "" },
            self.setup_cases,
            self.connections
        );
        for phase in &self.phases {
            let _ = writeln!(
                out,
                "\n{} — {}, {:.0} s",
                phase.name,
                pace(&phase.pace),
                phase.seconds
            );
            let _ = writeln!(
                out,
                "  {:<22} {:>9} {:>7} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
                "call", "ok", "errors", "calls/s", "mean ms", "p50", "p90", "p99", "p99.9", "max"
            );
            for c in &phase.calls {
                row(&mut out, c);
            }
            if phase.calls.len() > 1 {
                row(&mut out, &phase.total);
            }
        }
        if let Some(r) = &self.ratios {
            let _ = writeln!(out, "\nratios to the ceilings of this run");
            let _ = writeln!(
                out,
                "  reads / echo            {:>6.1} %   ({:.0} / {:.0} calls/s)",
                r.reads_vs_echo * 100.0,
                r.reads_per_s,
                r.echo_per_s
            );
            let _ = writeln!(
                out,
                "  reads p99 at half load  {:>6.2} ms   (echo on the same schedule: {:.2} ms)",
                r.reads_p99_ms_at_half_load, r.echo_p99_ms_at_half_load
            );
            let _ = writeln!(
                out,
                "  durable writes / raw    {:>6.1} %   ({:.0} / {:.0} commits/s)",
                r.writes_vs_raw * 100.0,
                r.durable_writes_per_s,
                r.raw_writes_per_s
            );
        }
        if let Some(d) = &self.daemon {
            let _ = writeln!(out, "\nspawned daemon");
            let _ = writeln!(out, "  start-up to SERVING     {:>6.3} s", d.to_serving_s);
            if let Some(rss) = d.rss_idle_mb {
                let _ = writeln!(out, "  RSS before load         {rss:>6.1} MB");
            }
            if let Some(rss) = d.rss_after_load_mb {
                let _ = writeln!(out, "  RSS after load          {rss:>6.1} MB");
            }
        }
        out
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StartupRun {
    pub to_listening_s: f64,
    pub to_serving_s: f64,
    pub rss_idle_mb: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StartupReport {
    pub runs: Vec<StartupRun>,
    pub median_to_serving_s: f64,
    pub max_to_serving_s: f64,
    pub median_rss_idle_mb: Option<f64>,
    pub max_rss_idle_mb: Option<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

impl StartupReport {
    pub fn of(runs: Vec<StartupRun>) -> Self {
        let serving: Vec<f64> = runs.iter().map(|r| r.to_serving_s).collect();
        let rss: Vec<f64> = runs.iter().filter_map(|r| r.rss_idle_mb).collect();
        Self {
            median_to_serving_s: median(serving.clone()),
            max_to_serving_s: serving.iter().copied().fold(0.0, f64::max),
            median_rss_idle_mb: (!rss.is_empty()).then(|| median(rss.clone())),
            max_rss_idle_mb: rss.iter().copied().reduce(f64::max),
            runs,
        }
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "kia bench startup: {} runs, fresh data directory each",
            self.runs.len()
        );
        let _ = writeln!(
            out,
            "  {:<5} {:>14} {:>14} {:>12}",
            "run", "listening s", "SERVING s", "idle RSS MB"
        );
        for (i, r) in self.runs.iter().enumerate() {
            let rss = r.rss_idle_mb.map_or("-".to_owned(), |m| format!("{m:.1}"));
            let _ = writeln!(
                out,
                "  {:<5} {:>14.3} {:>14.3} {:>12}",
                i + 1,
                r.to_listening_s,
                r.to_serving_s,
                rss
            );
        }
        let rss = |m: Option<f64>| m.map_or("-".to_owned(), |m| format!("{m:.1}"));
        let _ = writeln!(
            out,
            "  median SERVING {:.3} s (max {:.3} s), median idle RSS {} MB (max {} MB)",
            self.median_to_serving_s,
            self.max_to_serving_s,
            rss(self.median_rss_idle_mb),
            rss(self.max_rss_idle_mb)
        );
        out
    }
}
