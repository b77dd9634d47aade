//! Per-command statistics (INFO commandstats / latencystats, LATENCY HISTOGRAM), the instantaneous rates of
//! INFO stats, and the cached observability thresholds the dispatcher checks after every call.
//!
//! What this module decides, and why:
//! - **Counters are relaxed atomics** indexed by `CommandSpec::id`: commands run on many threads at once and
//!   these are statistics, so no ordering is needed and no lock is taken on the hot path.
//! - **Latency histograms reproduce Redis's HdrHistogram exactly** (1 ns .. 1 s, 2 significant digits, values
//!   in nanoseconds), because INFO latencystats prints bucket boundaries (`p50=3.007`) and LATENCY HISTOGRAM
//!   prints the log-2 iteration of that histogram; a different bucketing would give different numbers. The
//!   counts are atomics allocated on a command's first call, and "the histogram exists" is "it has counts",
//!   so CONFIG RESETSTAT can zero them where Redis frees them, with the same visible result.
//! - **Thresholds are cached** ([`Thresholds`]): reading the config snapshot costs a lock and a reference
//!   count, so the dispatcher compares the config version (one atomic load) and re-reads the settings only
//!   when a CONFIG SET happened. One precomputed `observe_from_usec` tells it whether the slow log or the
//!   latency monitor could want this call at all, so a normal call pays two loads and two compares.
//! - **Instantaneous rates** follow Redis's `trackInstantaneousMetric`: every 100 ms the cron records the
//!   rate since the previous sample into a ring of 16, and INFO prints the ring's average.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::state::ServerState;

// ---------------------------------------------------------------------------------------------------------
// HdrHistogram with Redis's parameters: lowest 1, highest 1_000_000_000, 2 significant figures.

/// Redis's `LATENCY_HISTOGRAM_MIN_VALUE` / `MAX_VALUE` (nanoseconds).
const HDR_MIN_NS: u64 = 1;
const HDR_MAX_NS: u64 = 1_000_000_000;
/// For 2 significant figures: sub-buckets of 256 (half 128), unit magnitude 0.
const SUB_BUCKET_HALF_MAGNITUDE: u32 = 7;
const SUB_BUCKET_HALF_COUNT: u64 = 1 << SUB_BUCKET_HALF_MAGNITUDE;
const SUB_BUCKET_COUNT: u64 = 2 * SUB_BUCKET_HALF_COUNT;
const SUB_BUCKET_MASK: u64 = SUB_BUCKET_COUNT - 1;
/// Buckets needed to cover 1e9 with 256 sub-buckets: 23; counts_len = (23 + 1) * 128.
const BUCKET_COUNT: usize = 23;
pub const HDR_COUNTS: usize = (BUCKET_COUNT + 1) * SUB_BUCKET_HALF_COUNT as usize;

fn bucket_index(v: u64) -> u32 {
    let pow2ceiling = 64 - (v | SUB_BUCKET_MASK).leading_zeros();
    pow2ceiling - (SUB_BUCKET_HALF_MAGNITUDE + 1)
}

fn counts_index_for(v: u64) -> usize {
    let b = bucket_index(v);
    let sub = v >> b;
    (((u64::from(b) + 1) << SUB_BUCKET_HALF_MAGNITUDE) + sub - SUB_BUCKET_HALF_COUNT) as usize
}

fn value_at_index(idx: usize) -> u64 {
    let idx = idx as u64;
    let mut bucket = (idx >> SUB_BUCKET_HALF_MAGNITUDE) as i64 - 1;
    let mut sub = (idx & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if bucket < 0 {
        sub -= SUB_BUCKET_HALF_COUNT;
        bucket = 0;
    }
    sub << bucket
}

fn lowest_equivalent(v: u64) -> u64 {
    let b = bucket_index(v);
    (v >> b) << b
}

fn highest_equivalent(v: u64) -> u64 {
    let b = bucket_index(v);
    let sub = v >> b;
    let adjusted = if sub >= SUB_BUCKET_COUNT { b + 1 } else { b };
    lowest_equivalent(v) + (1u64 << adjusted) - 1
}

/// A consistent copy of one command's histogram, for percentiles and LATENCY HISTOGRAM.
pub struct HistogramSnapshot {
    counts: Vec<u64>,
    pub total: u64,
}

impl HistogramSnapshot {
    /// `hdr_value_at_percentile`, in nanoseconds.
    pub fn value_at_percentile(&self, percentile: f64) -> u64 {
        let requested = percentile.min(100.0);
        let wanted = (((requested / 100.0) * self.total as f64) + 0.5) as i64;
        let wanted = wanted.max(1) as u64;
        let mut seen = 0u64;
        let mut value = 0;
        for (idx, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= wanted {
                value = value_at_index(idx);
                break;
            }
        }
        if percentile == 0.0 {
            lowest_equivalent(value)
        } else {
            highest_equivalent(value)
        }
    }

    /// Redis's LATENCY HISTOGRAM buckets: the log-2 iteration from 1024 ns, as `(usec, cumulative count)`,
    /// keeping only the steps where the cumulative count grew.
    pub fn log2_buckets(&self) -> Vec<(u64, u64)> {
        let mut it = LogIter {
            counts: &self.counts,
            total: self.total,
            idx: -1,
            cumulative: 0,
            value: 0,
            next_level: 1024,
            next_level_lowest: lowest_equivalent(1024),
        };
        let mut out = Vec::new();
        let mut previous = 0;
        while it.next() {
            let usec = highest_equivalent(it.value) / 1000;
            if it.cumulative > previous {
                out.push((usec, it.cumulative));
            }
            previous = it.cumulative;
        }
        out
    }
}

/// `hdr_iter_log` with base 2.
struct LogIter<'a> {
    counts: &'a [u64],
    total: u64,
    idx: i64,
    cumulative: u64,
    value: u64,
    next_level: u64,
    next_level_lowest: u64,
}

impl LogIter<'_> {
    fn move_next(&mut self) -> bool {
        self.idx += 1;
        let Some(&c) = self.counts.get(self.idx as usize) else { return false };
        self.cumulative += c;
        self.value = value_at_index(self.idx as usize);
        true
    }

    fn next_value_above(&self, bound: u64) -> bool {
        if self.idx >= self.counts.len() as i64 {
            return false;
        }
        value_at_index((self.idx + 1) as usize) > bound
    }

    fn next(&mut self) -> bool {
        if self.cumulative < self.total || self.next_value_above(self.next_level_lowest) {
            loop {
                if self.value >= self.next_level_lowest {
                    self.next_level = self.next_level.saturating_mul(2);
                    self.next_level_lowest = lowest_equivalent(self.next_level);
                    return true;
                }
                if !self.move_next() {
                    return true;
                }
            }
        }
        false
    }
}

/// One command's latency histogram: atomic counts, allocated on first use.
#[derive(Default, Debug)]
pub struct Histogram {
    counts: OnceLock<Box<[AtomicU64]>>,
}

impl Histogram {
    /// Records a duration in microseconds (Redis records `duration * 1000` ns, clamped to 1 ns .. 1 s).
    #[inline]
    pub fn record_usec(&self, usec: u64) {
        let ns = usec.saturating_mul(1000).clamp(HDR_MIN_NS, HDR_MAX_NS);
        let counts = self.counts.get_or_init(|| (0..HDR_COUNTS).map(|_| AtomicU64::new(0)).collect());
        if let Some(c) = counts.get(counts_index_for(ns)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A copy of the counts, or `None` when nothing was recorded (Redis: no histogram).
    pub fn snapshot(&self) -> Option<HistogramSnapshot> {
        let counts: Vec<u64> = self.counts.get()?.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let total = counts.iter().sum();
        (total > 0).then_some(HistogramSnapshot { counts, total })
    }

    fn reset(&self) {
        if let Some(counts) = self.counts.get() {
            counts.iter().for_each(|c| c.store(0, Ordering::Relaxed));
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Per-command counters

/// Counters of one command (or subcommand), indexed by `CommandSpec::id`.
#[derive(Default, Debug)]
pub struct CommandCounters {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected_calls: AtomicU64,
    pub failed_calls: AtomicU64,
    pub histogram: Histogram,
}

/// The settings the dispatcher consults after every call, cached from the config snapshot.
#[derive(Debug)]
pub struct Thresholds {
    /// The config version these values were read at (`u64::MAX`: never read).
    version: AtomicU64,
    sync: Mutex<()>,
    /// `slowlog-log-slower-than` (µs; negative disables).
    pub slowlog_slower_than_usec: AtomicI64,
    pub slowlog_max_len: AtomicU64,
    /// `latency-monitor-threshold` (ms; 0 disables).
    pub latency_threshold_ms: AtomicU64,
    /// `latency-tracking`.
    pub latency_tracking: AtomicBool,
    /// The smallest duration the slow log or the latency monitor could want (`u64::MAX`: neither).
    observe_from_usec: AtomicU64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            version: AtomicU64::new(u64::MAX),
            sync: Mutex::new(()),
            slowlog_slower_than_usec: AtomicI64::new(10_000),
            slowlog_max_len: AtomicU64::new(128),
            latency_threshold_ms: AtomicU64::new(0),
            latency_tracking: AtomicBool::new(true),
            observe_from_usec: AtomicU64::new(10_000),
        }
    }
}

impl Thresholds {
    /// Whether a call of `usec` may interest the slow log or the latency monitor.
    #[inline]
    pub fn wants(&self, usec: u64) -> bool {
        usec >= self.observe_from_usec.load(Ordering::Relaxed)
    }
}

pub struct CommandStats {
    pub by_id: Box<[CommandCounters]>,
    pub thresholds: Thresholds,
}

impl CommandStats {
    pub fn new(ids: usize) -> CommandStats {
        CommandStats {
            by_id: (0..ids).map(|_| CommandCounters::default()).collect(),
            thresholds: Thresholds::default(),
        }
    }

    /// A command ran for `usec` microseconds; `failed` if it replied with an error.
    #[inline]
    pub fn record_call(&self, id: usize, usec: u64, failed: bool) {
        if let Some(c) = self.by_id.get(id) {
            c.calls.fetch_add(1, Ordering::Relaxed);
            c.usec.fetch_add(usec, Ordering::Relaxed);
            if failed {
                c.failed_calls.fetch_add(1, Ordering::Relaxed);
            }
            if self.thresholds.latency_tracking.load(Ordering::Relaxed) {
                c.histogram.record_usec(usec);
            }
        }
    }

    /// A command was refused before running (arity, NOAUTH, OOM, ...).
    pub fn record_rejected(&self, id: usize) {
        if let Some(c) = self.by_id.get(id) {
            c.rejected_calls.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// CONFIG RESETSTAT: calls, time, failures, rejections and latency histograms.
    pub fn reset(&self) {
        for c in self.by_id.iter() {
            c.calls.store(0, Ordering::Relaxed);
            c.usec.store(0, Ordering::Relaxed);
            c.rejected_calls.store(0, Ordering::Relaxed);
            c.failed_calls.store(0, Ordering::Relaxed);
            c.histogram.reset();
        }
    }
}

/// Re-reads the cached thresholds if a CONFIG SET happened since the last read (one atomic load otherwise).
/// A shrunk `slowlog-max-len` trims the slow log here, as Redis's next command would.
#[inline]
pub fn follow_config(server: &ServerState) {
    let t = &server.command_stats.thresholds;
    if t.version.load(Ordering::Relaxed) != server.config.version() {
        sync_thresholds(server);
    }
}

#[cold]
fn sync_thresholds(server: &ServerState) {
    let t = &server.command_stats.thresholds;
    let _guard = t.sync.lock();
    let version = server.config.version();
    if t.version.load(Ordering::Relaxed) == version {
        return;
    }
    let s = server.config.snapshot();
    server.tunables.sync(&s);
    server.keyspace.events.set_wanted(crate::notify::keyspace_classes(s.notify_keyspace_events));
    t.slowlog_slower_than_usec.store(s.slowlog_log_slower_than_usec, Ordering::Relaxed);
    t.slowlog_max_len.store(s.slowlog_max_len, Ordering::Relaxed);
    t.latency_threshold_ms.store(s.latency_monitor_threshold_ms, Ordering::Relaxed);
    t.latency_tracking.store(s.latency_tracking, Ordering::Relaxed);
    let slowlog_from = u64::try_from(s.slowlog_log_slower_than_usec).unwrap_or(u64::MAX);
    let latency_from =
        if s.latency_monitor_threshold_ms > 0 { s.latency_monitor_threshold_ms.saturating_mul(1000) } else { u64::MAX };
    t.observe_from_usec.store(slowlog_from.min(latency_from), Ordering::Relaxed);
    if s.slowlog_log_slower_than_usec >= 0 {
        server.slowlog.trim(s.slowlog_max_len);
    }
    t.version.store(version, Ordering::Relaxed);
}

/// The cron ran an active expiry cycle for `usec` microseconds: count it (INFO `expire_cycle_cpu_milliseconds`)
/// and record an `expire-cycle` latency event if it reached `latency-monitor-threshold`.
pub fn record_expire_cycle(server: &ServerState, usec: u64) {
    server.rates.expire_cycle_usec.fetch_add(usec, Ordering::Relaxed);
    follow_config(server);
    let threshold_ms = server.command_stats.thresholds.latency_threshold_ms.load(Ordering::Relaxed);
    let ms = usec / 1000;
    if threshold_ms > 0 && ms >= threshold_ms {
        server.latency.add_sample("expire-cycle", ms);
    }
}

/// CONFIG RESETSTAT's part here: command statistics, histograms and the instantaneous rates.
pub fn reset(server: &ServerState) {
    server.command_stats.reset();
    server.rates.reset(crate::state::unix_time_ms());
}

// ---------------------------------------------------------------------------------------------------------
// Instantaneous rates (INFO stats)

/// Redis's `STATS_METRIC_SAMPLES`.
const RATE_SAMPLES: usize = 16;

#[derive(Debug, Default, Clone, Copy)]
struct Metric {
    samples: [u64; RATE_SAMPLES],
    idx: usize,
    last_time_ms: u64,
    last_count: u64,
}

impl Metric {
    fn track(&mut self, now_ms: u64, reading: u64) {
        let elapsed = now_ms.saturating_sub(self.last_time_ms);
        let delta = reading.saturating_sub(self.last_count);
        let per_sec = delta.saturating_mul(1000).checked_div(elapsed).unwrap_or(0);
        self.samples[self.idx] = per_sec;
        self.idx = (self.idx + 1) % RATE_SAMPLES;
        self.last_time_ms = now_ms;
        self.last_count = reading;
    }

    fn average(&self) -> u64 {
        self.samples.iter().sum::<u64>() / RATE_SAMPLES as u64
    }
}

/// Commands per second and network bytes per second, sampled by the cron; plus the cron's own expiry time.
#[derive(Debug, Default)]
pub struct Rates {
    metrics: Mutex<[Metric; 3]>,
    /// Microseconds spent in active expiry cycles (INFO `expire_cycle_cpu_milliseconds`).
    pub expire_cycle_usec: AtomicU64,
}

/// What INFO prints from [`Rates`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSnapshot {
    pub ops_per_sec: u64,
    pub input_kbps: f64,
    pub output_kbps: f64,
}

impl Rates {
    /// One sample of each metric (the cron calls this every 100 ms).
    pub fn track(&self, now_ms: u64, commands: u64, net_input: u64, net_output: u64) {
        let mut m = self.metrics.lock();
        m[0].track(now_ms, commands);
        m[1].track(now_ms, net_input);
        m[2].track(now_ms, net_output);
    }

    pub fn snapshot(&self) -> RateSnapshot {
        let m = self.metrics.lock();
        RateSnapshot {
            ops_per_sec: m[0].average(),
            input_kbps: m[1].average() as f64 / 1024.0,
            output_kbps: m[2].average() as f64 / 1024.0,
        }
    }

    pub fn reset(&self, now_ms: u64) {
        let mut m = self.metrics.lock();
        for metric in m.iter_mut() {
            *metric = Metric { last_time_ms: now_ms, ..Metric::default() };
        }
        self.expire_cycle_usec.store(0, Ordering::Relaxed);
    }
}

/// The cron's sampling of the instantaneous rates (Redis: `run_with_period(100)` in `serverCron`).
pub fn sample_rates(server: &ServerState, now_ms: u64) {
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let s = &server.stats;
    server.rates.track(now_ms, load(&s.total_commands_processed), load(&s.net_input_bytes), load(&s.net_output_bytes));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(values_usec: &[u64]) -> HistogramSnapshot {
        let h = Histogram::default();
        values_usec.iter().for_each(|&v| h.record_usec(v));
        h.snapshot().unwrap()
    }

    #[test]
    fn bucket_boundaries_match_redis() {
        // Values observed on redis-server 7.0.15: 3 µs -> p50=3.007, 15 µs -> 15.039, 4 µs -> 4.015.
        assert_eq!(snap(&[3]).value_at_percentile(50.0), 3007);
        assert_eq!(snap(&[15]).value_at_percentile(99.0), 15039);
        assert_eq!(snap(&[4]).value_at_percentile(99.9), 4015);
        assert_eq!(snap(&[0]).value_at_percentile(50.0), 1);
        assert_eq!(snap(&[5_000_000]).value_at_percentile(50.0), highest_equivalent(HDR_MAX_NS));
        for v in [1u64, 5, 127, 128, 255, 256, 1000, 3000, 65_535, 1_000_000_000] {
            let idx = counts_index_for(v);
            assert!(idx < HDR_COUNTS);
            assert_eq!(lowest_equivalent(value_at_index(idx)), lowest_equivalent(v), "{v}");
        }
    }

    #[test]
    fn percentiles_pick_the_right_rank() {
        let s = snap(&[1, 1, 1, 1, 1, 1, 1, 1, 1, 100]);
        assert_eq!(s.value_at_percentile(50.0), highest_equivalent(1000));
        assert_eq!(s.value_at_percentile(100.0), highest_equivalent(100_000));
        assert_eq!(s.value_at_percentile(0.0), lowest_equivalent(1000));
    }

    #[test]
    fn log_buckets_match_redis() {
        // redis-server 7.0.15: one 3 µs call -> {4: 1}; calls of 1..33 µs spread as observed.
        assert_eq!(snap(&[3]).log2_buckets(), vec![(4, 1)]);
        assert_eq!(
            snap(&[1, 2, 2, 3, 5, 9, 20]).log2_buckets(),
            vec![(1, 1), (2, 3), (4, 4), (8, 5), (16, 6), (33, 7)]
        );
        assert_eq!(snap(&[0]).log2_buckets(), vec![(1, 1)]);
    }

    #[test]
    fn rates_average_sixteen_samples() {
        let r = Rates::default();
        r.reset(1000);
        r.track(1100, 100, 1024, 0);
        let s = r.snapshot();
        assert_eq!(s.ops_per_sec, 1000 / 16);
        assert_eq!(s.input_kbps, (10_240 / 16) as f64 / 1024.0);
    }
}
