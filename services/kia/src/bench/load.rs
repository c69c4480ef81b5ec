//! The load driver: runs a workload for a while, closed-loop (a fixed number of callers, each
//! sending its next call when the last one answered) or open-loop (calls sent at a fixed rate,
//! whether or not earlier ones answered), and records latencies in HDR histograms.
//!
//! Open-loop latencies are measured from the moment a call was *due* to be sent, not from when
//! it went out: when the daemon stalls, the calls that queue up behind the stall count their
//! wait. Without that, a load generator that waits politely hides its own queueing (coordinated
//! omission) and reports the latency of the calls it managed to send, not of the schedule.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The outcome of one call: `Err` carries the gRPC status name (or another short reason).
pub type CallResult = Result<(), String>;

/// Something to call, in several kinds with weights.
pub struct Workload {
    /// Name and weight of each kind of call.
    pub kinds: Vec<(&'static str, u32)>,
    /// Starts call number `n` of kind `kind`.
    pub call: Box<dyn Fn(usize, u64) -> BoxFuture<CallResult> + Send + Sync>,
}

impl Workload {
    /// The kind of call number `n`: a weighted pick from a hash of `n`, so runs repeat exactly.
    fn pick(&self, n: u64) -> usize {
        let total: u64 = self.kinds.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = splitmix64(n) % total.max(1);
        for (i, (_, w)) in self.kinds.iter().enumerate() {
            if x < u64::from(*w) {
                return i;
            }
            x -= u64::from(*w);
        }
        0
    }
}

/// A fast, well-mixed hash of a counter (Steele, Lea, Flood: SplitMix64).
pub fn splitmix64(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// How calls are paced.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Pace {
    /// `concurrency` callers, each waiting for its answer before the next call.
    Closed { concurrency: usize },
    /// `rate` calls per second on schedule, at most `concurrency` in flight.
    Open { rate: f64, concurrency: usize },
}

/// Latencies (µs) and errors of one kind of call.
struct Tally {
    latency: Histogram<u64>,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> Self {
        Self {
            // 1 µs .. 60 s at 3 significant digits.
            latency: Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("constant histogram bounds are valid"),
            errors: BTreeMap::new(),
        }
    }

    fn record(&mut self, result: CallResult, latency: Duration) {
        match result {
            Ok(()) => self
                .latency
                .saturating_record(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)),
            Err(reason) => *self.errors.entry(reason).or_default() += 1,
        }
    }

    fn merge(&mut self, other: &Tally) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        for (reason, n) in &other.errors {
            *self.errors.entry(reason.clone()).or_default() += n;
        }
    }
}

/// What one kind of call did in a phase.
#[derive(Debug, Clone, Serialize)]
pub struct CallStats {
    pub kind: String,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    /// Successful calls per second.
    pub throughput: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl CallStats {
    fn of(kind: &str, tally: &Tally, seconds: f64) -> Self {
        let h = &tally.latency;
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            kind: kind.to_owned(),
            ok: h.len(),
            errors: tally.errors.clone(),
            throughput: h.len() as f64 / seconds,
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// What a phase measured: one row per kind of call and one for all of them.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseStats {
    pub name: String,
    pub pace: Pace,
    pub seconds: f64,
    pub calls: Vec<CallStats>,
    pub total: CallStats,
}

/// Runs `workload` for `warmup` (not recorded), then for `duration` (recorded).
pub async fn run(
    name: &str,
    workload: Arc<Workload>,
    pace: Pace,
    warmup: Duration,
    duration: Duration,
) -> PhaseStats {
    let kinds = workload.kinds.len();
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let tallies = match pace {
        Pace::Closed { concurrency } => {
            closed(workload.clone(), concurrency, measure_from, end).await
        }
        Pace::Open { rate, concurrency } => {
            open(workload.clone(), rate, concurrency, measure_from, end).await
        }
    };
    let seconds = duration.as_secs_f64();
    let mut total = Tally::new();
    let mut calls = Vec::with_capacity(kinds);
    for (i, (kind, _)) in workload.kinds.iter().enumerate() {
        total.merge(&tallies[i]);
        calls.push(CallStats::of(kind, &tallies[i], seconds));
    }
    PhaseStats {
        name: name.to_owned(),
        pace,
        seconds,
        calls,
        total: CallStats::of("all", &total, seconds),
    }
}

async fn closed(
    workload: Arc<Workload>,
    concurrency: usize,
    measure_from: Instant,
    end: Instant,
) -> Vec<Tally> {
    let counter = Arc::new(AtomicU64::new(0));
    let mut callers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let workload = workload.clone();
        let counter = counter.clone();
        callers.push(tokio::spawn(async move {
            let mut tallies: Vec<Tally> = workload.kinds.iter().map(|_| Tally::new()).collect();
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let kind = workload.pick(n);
                let result = (workload.call)(kind, n).await;
                let done = Instant::now();
                if sent >= measure_from && done <= end {
                    tallies[kind].record(result, done - sent);
                }
            }
            tallies
        }));
    }
    let mut all: Vec<Tally> = workload.kinds.iter().map(|_| Tally::new()).collect();
    for caller in callers {
        if let Ok(tallies) = caller.await {
            for (sum, t) in all.iter_mut().zip(&tallies) {
                sum.merge(t);
            }
        }
    }
    all
}

async fn open(
    workload: Arc<Workload>,
    rate: f64,
    concurrency: usize,
    measure_from: Instant,
    end: Instant,
) -> Vec<Tally> {
    let tallies: Arc<Mutex<Vec<Tally>>> = Arc::new(Mutex::new(
        workload.kinds.iter().map(|_| Tally::new()).collect(),
    ));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    // The schedule is kept by a thread of its own: tokio's timers tick in whole milliseconds,
    // so a call sent on one would leave up to a millisecond late, and that wait, which is the
    // load generator's, would count in the daemon's latency.
    let (schedule, mut due_calls) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let start = Instant::now();
    let pacer = std::thread::Builder::new()
        .name("kia-bench-pace".into())
        .spawn(move || {
            for n in 0u64.. {
                let due = start + interval.mul_f64(n as f64);
                if due >= end {
                    break;
                }
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                if schedule.send((n, due)).is_err() {
                    break;
                }
            }
        });
    if let Err(err) = pacer {
        // Its sender is gone with it: the phase ends at once, with nothing recorded.
        eprintln!("kia bench: starting the pacing thread: {err}");
    }
    while let Some((n, due)) = due_calls.recv().await {
        // When every slot is busy the schedule runs on: the wait counts in the latency.
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let kind = workload.pick(n);
        let call = (workload.call)(kind, n);
        let tallies = tallies.clone();
        tokio::spawn(async move {
            let result = call.await;
            let done = Instant::now();
            if due >= measure_from
                && done <= end
                && let Ok(mut t) = tallies.lock()
            {
                t[kind].record(result, done - due);
            }
            drop(permit);
        });
    }
    // Let the calls in flight finish (their answers past the end are not counted).
    let _ = in_flight
        .acquire_many(u32::try_from(concurrency.max(1)).unwrap_or(u32::MAX))
        .await;
    let mut guard = match tallies.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    std::mem::take(&mut *guard)
}

/// The short reason of a failed call: its gRPC status name.
pub fn reason(status: &tonic::Status) -> String {
    format!("{:?}", status.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_picked_by_weight() {
        let workload = Workload {
            kinds: vec![("a", 1), ("b", 3)],
            call: Box::new(|_, _| Box::pin(async { Ok(()) })),
        };
        let b = (0..40_000u64).filter(|n| workload.pick(*n) == 1).count();
        let share = b as f64 / 40_000.0;
        assert!((0.73..0.77).contains(&share), "{share}");
        // The same call number always picks the same kind: runs repeat.
        assert_eq!(workload.pick(12345), workload.pick(12345));
    }
}
