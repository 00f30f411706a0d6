//! Figures shared by every client task while a bench runs: counters, latency histograms, errors.
//!
//! Tasks on different threads update them at message rate, so counters are sharded over cache
//! lines and latencies are recorded in batches into a few histograms behind short locks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Counter shards; a task picks one by its index.
const SHARDS: usize = 16;
/// Latencies a task collects before it takes a histogram's lock.
const BATCH: usize = 256;
/// How long a value may wait in a task's batch (checked as values arrive).
const MAX_AGE: Duration = Duration::from_millis(250);
/// Highest latency a histogram holds: one hour, in microseconds.
const MAX_LATENCY_US: u64 = 3_600_000_000;

#[derive(Debug, Default)]
#[repr(align(64))]
struct Padded(AtomicU64);

/// A counter many threads add to without contending for one cache line.
#[derive(Debug)]
pub struct Counter {
    shards: Box<[Padded]>,
}

impl Default for Counter {
    fn default() -> Self {
        Counter {
            shards: (0..SHARDS).map(|_| Padded::default()).collect(),
        }
    }
}

impl Counter {
    /// Adds `n` on the shard of task `task`.
    pub fn add(&self, task: usize, n: u64) {
        self.shards[task % SHARDS].0.fetch_add(n, Ordering::Relaxed);
    }

    /// The total so far.
    pub fn get(&self) -> u64 {
        self.shards.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

/// A new histogram for microsecond latencies, 3 significant figures.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// Latency histograms, one per shard, that tasks record into in batches.
#[derive(Debug)]
pub struct Latencies {
    shards: Box<[Mutex<Histogram<u64>>]>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            shards: (0..SHARDS / 4).map(|_| Mutex::new(new_histogram())).collect(),
        }
    }
}

impl Latencies {
    /// Adds a batch of microsecond values on the shard of task `task`.
    pub fn record(&self, task: usize, values: &[u64]) {
        if values.is_empty() {
            return;
        }
        let mut h = self.shards[task % self.shards.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for &v in values {
            h.saturating_record(v.max(1));
        }
    }

    /// All shards merged.
    pub fn merged(&self) -> Histogram<u64> {
        let mut all = new_histogram();
        for shard in self.shards.iter() {
            let h = shard.lock().unwrap_or_else(|e| e.into_inner());
            let _ = all.add(&*h);
        }
        all
    }
}

/// A task's buffer of latencies not yet recorded in a [`Latencies`].
#[derive(Debug)]
pub struct LatencyBatch {
    task: usize,
    values: Vec<u64>,
    /// When the oldest value in the batch was added.
    oldest: Option<Instant>,
}

impl LatencyBatch {
    /// An empty batch for task `task`.
    pub fn new(task: usize) -> LatencyBatch {
        LatencyBatch {
            task,
            values: Vec::with_capacity(BATCH),
            oldest: None,
        }
    }

    /// Adds a value in nanoseconds, passing the batch on to `into` when it is full or (checked
    /// now and then) a quarter of a second old, so live percentiles keep up at low rates.
    pub fn push_ns(&mut self, ns: u64, into: &Latencies) {
        self.values.push(ns.div_ceil(1000));
        let n = self.values.len();
        if n == 1 {
            self.oldest = Some(Instant::now());
        }
        let stale = (n < 16 || n.is_multiple_of(16)) && self.oldest.is_some_and(|t| t.elapsed() >= MAX_AGE);
        if n >= BATCH || stale {
            self.flush(into);
        }
    }

    /// Passes everything collected on to `into`.
    pub fn flush(&mut self, into: &Latencies) {
        into.record(self.task, &self.values);
        self.values.clear();
        self.oldest = None;
    }
}

/// Percentiles of a latency histogram, in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Number of values.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest value.
    pub max: u64,
}

impl Percentiles {
    /// The percentiles of `h` (all zero when it is empty).
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            mean: (h.mean() * 10.0).round() / 10.0,
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// Errors seen by client tasks: how many, and of which kinds.
#[derive(Debug, Default)]
pub struct Errors {
    count: AtomicU64,
    kinds: Mutex<BTreeMap<String, u64>>,
}

impl Errors {
    /// Records one error described by `what` (without the client's name, so that kinds group).
    pub fn record(&self, what: impl Into<String>) {
        self.count.fetch_add(1, Ordering::Relaxed);
        *self
            .kinds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(what.into())
            .or_default() += 1;
    }

    /// How many errors so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Each kind of error with its count, most frequent first.
    pub fn kinds(&self) -> Vec<(String, u64)> {
        let kinds = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<(String, u64)> = kinds.iter().map(|(k, n)| (k.clone(), *n)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all
    }
}

/// CPU time a process has used so far, in seconds: this one, or `pid` (Linux: /proc/PID/stat;
/// elsewhere `None`).
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports them in USER_HZ ticks, 100 per second on every mainstream architecture.
    Some((utime + stime) / 100.0)
}

/// Resident memory of process `pid` in KiB (Linux: VmRSS in /proc/PID/status).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU use of this process and of the broker between two points in time.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    at: tokio::time::Instant,
    bench: Option<f64>,
    broker: Option<f64>,
}

impl CpuMark {
    /// The CPU time used so far by this process and by `broker`.
    pub fn now(broker: Option<u32>) -> CpuMark {
        CpuMark {
            at: tokio::time::Instant::now(),
            bench: cpu_seconds(None),
            broker: broker.and_then(|pid| cpu_seconds(Some(pid))),
        }
    }

    /// Cores used on average since `self` by this process and by the broker (1.0 = one core busy).
    pub fn cores_since(&self, later: &CpuMark) -> (Option<f64>, Option<f64>) {
        let seconds = later.at.duration_since(self.at).as_secs_f64().max(1e-6);
        let cores = |a: Option<f64>, b: Option<f64>| Some(((b? - a?) / seconds * 1000.0).round() / 1000.0);
        (cores(self.bench, later.bench), cores(self.broker, later.broker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_sum_their_shards() {
        let c = Counter::default();
        for task in 0..40 {
            c.add(task, 2);
        }
        assert_eq!(c.get(), 80);
    }

    #[test]
    fn latency_batches_reach_the_histograms() {
        let l = Latencies::default();
        let mut b = LatencyBatch::new(3);
        for ns in [500, 1000, 1_000_000] {
            b.push_ns(ns, &l);
        }
        assert!(l.merged().is_empty());
        b.flush(&l);
        let p = Percentiles::of(&l.merged());
        assert_eq!((p.count, p.p50, p.max), (3, 1, 1000));
    }

    #[test]
    fn errors_group_by_kind() {
        let e = Errors::default();
        e.record("a");
        e.record("b");
        e.record("b");
        assert_eq!(e.count(), 3);
        assert_eq!(e.kinds(), vec![("b".into(), 2), ("a".into(), 1)]);
    }

    #[test]
    fn cpu_time_and_memory_are_readable_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(cpu_seconds(None).is_some());
            assert!(cpu_seconds(Some(std::process::id())).is_some());
            assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
        }
    }
}
