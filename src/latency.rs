//! The latency monitor (LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR): per event class, the worst latency of
//! each second over the last 160 recorded seconds, and the all-time maximum.
//!
//! What this module decides, and why:
//! - Events are recorded only when `latency-monitor-threshold` is non-zero and the latency reaches it; the
//!   callers check that before calling [`LatencyMonitor::add_sample`], as Redis's `latencyAddSampleIfNeeded`.
//! - The time series, the DOCTOR analysis (average, mean deviation, period) and its advice texts, and the
//!   GRAPH sparkline follow Redis's latency.c/sparkline.c so that the human-readable replies read the same.
//! - Event classes are kept in the order they first occurred (Redis uses a hash table, whose order is
//!   arbitrary), behind one mutex that only slow operations touch.

use parking_lot::Mutex;

/// Redis's `LATENCY_TS_LEN`.
pub const TS_LEN: usize = 160;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Unix seconds; 0 = empty slot.
    pub time: u64,
    /// Milliseconds.
    pub latency: u64,
}

#[derive(Clone, Debug)]
pub struct TimeSeries {
    idx: usize,
    pub max: u64,
    samples: [Sample; TS_LEN],
}

impl Default for TimeSeries {
    fn default() -> Self {
        TimeSeries { idx: 0, max: 0, samples: [Sample::default(); TS_LEN] }
    }
}

impl TimeSeries {
    fn add(&mut self, now_secs: u64, latency_ms: u64) {
        self.max = self.max.max(latency_ms);
        let prev = (self.idx + TS_LEN - 1) % TS_LEN;
        if self.samples[prev].time == now_secs {
            self.samples[prev].latency = self.samples[prev].latency.max(latency_ms);
            return;
        }
        self.samples[self.idx] = Sample { time: now_secs, latency: latency_ms };
        self.idx = (self.idx + 1) % TS_LEN;
    }

    /// Recorded samples, oldest first.
    pub fn samples(&self) -> Vec<Sample> {
        (0..TS_LEN).map(|j| self.samples[(self.idx + j) % TS_LEN]).filter(|s| s.time != 0).collect()
    }

    /// The most recent slot (LATENCY LATEST).
    pub fn latest(&self) -> Sample {
        self.samples[(self.idx + TS_LEN - 1) % TS_LEN]
    }
}

#[derive(Default, Debug)]
pub struct LatencyMonitor {
    events: Mutex<Vec<(String, TimeSeries)>>,
}

impl LatencyMonitor {
    /// Records `latency_ms` for `event` at the current second.
    pub fn add_sample(&self, event: &str, latency_ms: u64) {
        self.add_sample_at(event, latency_ms, crate::state::unix_time_ms() / 1000);
    }

    pub fn add_sample_at(&self, event: &str, latency_ms: u64, now_secs: u64) {
        let mut events = self.events.lock();
        match events.iter_mut().find(|(name, _)| name == event) {
            Some((_, ts)) => ts.add(now_secs, latency_ms),
            None => {
                let mut ts = TimeSeries::default();
                ts.add(now_secs, latency_ms);
                events.push((event.to_string(), ts));
            }
        }
    }

    /// Every event with its series, in first-seen order.
    pub fn events(&self) -> Vec<(String, TimeSeries)> {
        self.events.lock().clone()
    }

    /// The series of `event` (exact, case-sensitive name, as Redis's dictionary lookup).
    pub fn series(&self, event: &[u8]) -> Option<(String, TimeSeries)> {
        self.events.lock().iter().find(|(name, _)| name.as_bytes() == event).cloned()
    }

    /// LATENCY RESET: drops the named event (case-insensitive) or, with `None`, every event. Returns how
    /// many were dropped.
    pub fn reset(&self, event: Option<&[u8]>) -> usize {
        let mut events = self.events.lock();
        let before = events.len();
        match event {
            None => events.clear(),
            Some(e) => events.retain(|(name, _)| !name.as_bytes().eq_ignore_ascii_case(e)),
        }
        before - events.len()
    }
}

// ---------------------------------------------------------------------------------------------------------
// DOCTOR

/// Redis's `latencyStats` for one event.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    pub all_time_high: u64,
    pub avg: u64,
    pub min: u64,
    pub max: u64,
    pub mad: u64,
    pub samples: u64,
    pub period: u64,
}

pub fn analyze(ts: &TimeSeries, now_secs: u64) -> Analysis {
    let mut a = Analysis { all_time_high: ts.max, ..Analysis::default() };
    let samples = ts.samples();
    if samples.is_empty() {
        return a;
    }
    let mut sum = 0u64;
    let mut oldest = 0u64;
    for (i, s) in samples.iter().enumerate() {
        if i == 0 {
            a.min = s.latency;
            a.max = s.latency;
        } else {
            a.min = a.min.min(s.latency);
            a.max = a.max.max(s.latency);
        }
        sum += s.latency;
        if oldest == 0 || s.time < oldest {
            oldest = s.time;
        }
    }
    a.samples = samples.len() as u64;
    a.avg = sum / a.samples;
    a.period = now_secs.saturating_sub(oldest).max(1);
    let deviation: u64 = samples.iter().map(|s| (a.avg as i64 - s.latency as i64).unsigned_abs()).sum();
    a.mad = deviation / a.samples;
    a
}

/// What the DOCTOR report needs to know about the server besides the events.
#[derive(Debug, Clone, Copy)]
pub struct DoctorContext {
    pub latency_monitor_threshold_ms: u64,
    pub slowlog_log_slower_than_usec: i64,
    pub hz: u32,
    pub appendfsync_always: bool,
    /// Bytes of anonymous huge pages mapped by the process.
    pub anon_huge_pages: u64,
}

const DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You \
                        may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we \
                        weren't in a deep space mission I'd suggest to take a look at \
                        https://redis.io/topics/latency-monitor.\n";

/// Advice flags, in the order the report prints them. (Redis's fork advice is absent: Shoal never forks.)
#[derive(Default)]
struct Advice {
    slowlog_enabled: bool,
    slowlog_tuning: bool,
    slowlog_inspect: bool,
    scheduler: bool,
    local_disk: bool,
    ssd: bool,
    data_writeback: bool,
    disk_contention: bool,
    no_appendfsync: bool,
    relax_fsync_policy: bool,
    write_load_info: bool,
    hz: bool,
    large_objects: bool,
    mass_eviction: bool,
    disable_thp: bool,
    count: u32,
}

/// LATENCY DOCTOR's report.
pub fn doctor_report(events: &[(String, TimeSeries)], ctx: &DoctorContext, now_secs: u64) -> String {
    if events.is_empty() && ctx.latency_monitor_threshold_ms == 0 {
        return DISABLED.to_string();
    }
    let mut report = String::new();
    let mut adv = Advice::default();
    for (n, (event, ts)) in events.iter().enumerate() {
        if n == 0 {
            report.push_str(
                "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do \
                 you Dave?\n\n",
            );
        }
        let a = analyze(ts, now_secs);
        let period = if a.samples > 0 { a.period as f64 / a.samples as f64 } else { f64::NAN };
        report.push_str(&format!(
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event \
             {}ms.",
            n + 1,
            event,
            a.samples,
            a.avg,
            a.mad,
            period,
            ts.max
        ));
        note_event(&event.to_ascii_lowercase(), ctx, &mut adv);
        report.push('\n');
    }
    if ctx.anon_huge_pages > 0 {
        adv.disable_thp = true;
        adv.count += 1;
    }
    if events.is_empty() && adv.count == 0 {
        report.push_str(
            "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest \
             bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n",
        );
    } else if !events.is_empty() && adv.count == 0 {
        report.push_str(
            "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis \
             community to get some help, providing this report in your help request.\n",
        );
    } else {
        write_advice(&mut report, &adv, ctx);
    }
    report
}

fn note_event(event: &str, ctx: &DoctorContext, adv: &mut Advice) {
    match event {
        "command" => {
            if ctx.slowlog_log_slower_than_usec < 0 {
                adv.slowlog_enabled = true;
                adv.count += 1;
            } else if ctx.slowlog_log_slower_than_usec / 1000 > ctx.latency_monitor_threshold_ms as i64 {
                adv.slowlog_tuning = true;
                adv.count += 1;
            }
            adv.slowlog_inspect = true;
            adv.large_objects = true;
            adv.count += 2;
        }
        "fast-command" => {
            adv.scheduler = true;
            adv.count += 1;
        }
        "aof-write-pending-fsync" => {
            adv.local_disk = true;
            adv.disk_contention = true;
            adv.ssd = true;
            adv.data_writeback = true;
            adv.count += 4;
        }
        "aof-write-active-child" => {
            adv.no_appendfsync = true;
            adv.data_writeback = true;
            adv.ssd = true;
            adv.count += 3;
        }
        "aof-write-alone" => {
            adv.local_disk = true;
            adv.data_writeback = true;
            adv.ssd = true;
            adv.count += 3;
        }
        "aof-fsync-always" => {
            adv.relax_fsync_policy = true;
            adv.count += 1;
        }
        "aof-fstat" | "rdb-unlink-temp-file" => {
            adv.disk_contention = true;
            adv.local_disk = true;
            adv.count += 2;
        }
        "aof-rewrite-diff-write" | "aof-rename" => {
            adv.write_load_info = true;
            adv.data_writeback = true;
            adv.ssd = true;
            adv.local_disk = true;
            adv.count += 4;
        }
        "expire-cycle" => {
            adv.hz = true;
            adv.large_objects = true;
            adv.count += 2;
        }
        "eviction-del" => {
            adv.large_objects = true;
            adv.count += 1;
        }
        "eviction-cycle" => {
            adv.mass_eviction = true;
            adv.count += 1;
        }
        _ => {}
    }
}

fn write_advice(report: &mut String, adv: &Advice, ctx: &DoctorContext) {
    let threshold_usec = ctx.latency_monitor_threshold_ms.saturating_mul(1000);
    report.push_str("\nI have a few advices for you:\n\n");
    if adv.slowlog_enabled {
        report.push_str(&format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {threshold_usec}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"));
    }
    if adv.slowlog_tuning {
        report.push_str(&format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {threshold_usec}'.\n"));
    }
    if adv.slowlog_inspect {
        report.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    }
    if adv.scheduler {
        report.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    }
    if adv.local_disk {
        report.push_str("- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n");
    }
    if adv.ssd {
        report.push_str("- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage and smaller final AOF rewrite buffer flushes). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n");
    }
    if adv.data_writeback {
        report.push_str("- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n");
    }
    if adv.disk_contention {
        report.push_str("- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n");
    }
    if adv.no_appendfsync {
        report.push_str("- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n");
    }
    if adv.relax_fsync_policy && ctx.appendfsync_always {
        report.push_str("- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n");
    }
    if adv.write_load_info {
        report.push_str("- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n");
    }
    if adv.hz && ctx.hz < 100 {
        report.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
    }
    if adv.large_objects {
        report.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    }
    if adv.mass_eviction {
        report.push_str("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
    }
    if adv.disable_thp {
        report.push_str("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
    }
}

/// Bytes of `AnonHugePages` over the process's mappings (Redis's THP check), 0 when unreadable.
pub fn anon_huge_pages_bytes() -> u64 {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return 0 };
    smaps
        .lines()
        .filter_map(|l| l.strip_prefix("AnonHugePages:"))
        .filter_map(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .sum::<u64>()
        * 1024
}

// ---------------------------------------------------------------------------------------------------------
// GRAPH

const GRAPH_COLS: usize = 80;
const GRAPH_ROWS: usize = 4;
const CHARSET_FILL: &[u8] = b"_o#";
const LABEL_MARGIN_TOP: usize = 1;

/// LATENCY GRAPH's text: a header, a rule, and Redis's filled sparkline with "time ago" labels.
pub fn graph(event: &str, ts: &TimeSeries, now_secs: u64) -> String {
    let samples = ts.samples();
    let (mut min, mut max) = (0u64, 0u64);
    let mut seq: Vec<(f64, String)> = Vec::with_capacity(samples.len());
    for (i, s) in samples.iter().enumerate() {
        if i == 0 {
            min = s.latency;
            max = s.latency;
        } else {
            max = max.max(s.latency);
            min = min.min(s.latency);
        }
        let elapsed = now_secs as i64 - s.time as i64;
        let label = if elapsed < 60 {
            format!("{elapsed}s")
        } else if elapsed < 3600 {
            format!("{}m", elapsed / 60)
        } else if elapsed < 3600 * 24 {
            format!("{}h", elapsed / 3600)
        } else {
            format!("{}d", elapsed / (3600 * 24))
        };
        seq.push((s.latency as f64, label));
    }
    let mut out = format!("{event} - high {max} ms, low {min} ms (all time high {} ms)\n", ts.max);
    out.push_str(&"-".repeat(GRAPH_COLS));
    out.push('\n');
    sparkline(&mut out, &seq);
    out
}

/// sparkline.c's `sparklineRender` with SPARKLINE_FILL.
fn sparkline(out: &mut String, seq: &[(f64, String)]) {
    if seq.is_empty() {
        return;
    }
    // Min/max as the sequence tracks them (the `else if` means a new minimum never updates the maximum).
    let (mut lo, mut hi) = (seq[0].0, seq[0].0);
    for &(v, _) in &seq[1..] {
        if v < lo {
            lo = v;
        } else if v > hi {
            hi = v;
        }
    }
    let labels = seq.iter().filter(|(_, l)| !l.is_empty()).count();
    for (n, chunk) in seq.chunks(GRAPH_COLS).enumerate() {
        if n != 0 {
            out.push('\n');
        }
        render_range(out, chunk, lo, hi, labels > 0);
    }
}

fn render_range(out: &mut String, chunk: &[(f64, String)], lo: f64, hi: f64, has_labels: bool) {
    let mut relmax = hi - lo;
    if relmax == 0.0 {
        relmax = 1.0;
    }
    let steps = (CHARSET_FILL.len() * GRAPH_ROWS) as i64;
    let mut row = 0usize;
    loop {
        let mut more = false;
        let mut chars = vec![b' '; chunk.len()];
        for (j, (value, label)) in chunk.iter().enumerate() {
            let relval = value - lo;
            let step = (((relval * steps as f64) as i64) as f64 / relmax) as i64;
            let step = step.clamp(0, steps - 1);
            if row < GRAPH_ROWS {
                let charidx = step - ((GRAPH_ROWS - row - 1) * CHARSET_FILL.len()) as i64;
                more = true;
                if charidx >= 0 && (charidx as usize) < CHARSET_FILL.len() {
                    chars[j] = CHARSET_FILL[charidx as usize];
                } else if charidx >= CHARSET_FILL.len() as i64 {
                    chars[j] = b'|';
                }
            } else {
                if has_labels && row - GRAPH_ROWS < LABEL_MARGIN_TOP {
                    more = true;
                    break;
                }
                let label_char = row - GRAPH_ROWS - LABEL_MARGIN_TOP;
                if let Some(&c) = label.as_bytes().get(label_char) {
                    more = true;
                    chars[j] = c;
                }
            }
        }
        if !more {
            break;
        }
        row += 1;
        out.push_str(&String::from_utf8_lossy(&chars));
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_second_keeps_the_worst() {
        let m = LatencyMonitor::default();
        m.add_sample_at("command", 10, 100);
        m.add_sample_at("command", 20, 100);
        m.add_sample_at("command", 5, 100);
        m.add_sample_at("command", 7, 101);
        let (_, ts) = m.series(b"command").unwrap();
        assert_eq!(ts.samples(), vec![Sample { time: 100, latency: 20 }, Sample { time: 101, latency: 7 }]);
        assert_eq!(ts.max, 20);
        assert!(m.series(b"COMMAND").is_none());
        assert_eq!(m.reset(Some(b"COMMAND")), 1);
        assert_eq!(m.reset(None), 0);
    }

    #[test]
    fn graph_matches_redis_for_one_sample() {
        let m = LatencyMonitor::default();
        m.add_sample_at("command", 20, 1000);
        let (_, ts) = m.series(b"command").unwrap();
        let rule = "-".repeat(80);
        assert_eq!(
            graph("command", &ts, 1001),
            format!("command - high 20 ms, low 20 ms (all time high 20 ms)\n{rule}\n \n \n \n_\n \n1\ns\n")
        );
    }

    #[test]
    fn doctor_texts() {
        let ctx = DoctorContext {
            latency_monitor_threshold_ms: 0,
            slowlog_log_slower_than_usec: 10000,
            hz: 10,
            appendfsync_always: false,
            anon_huge_pages: 0,
        };
        assert!(doctor_report(&[], &ctx, 0).starts_with("I'm sorry, Dave"));
        let ctx = DoctorContext { latency_monitor_threshold_ms: 1, ..ctx };
        assert!(doctor_report(&[], &ctx, 0).starts_with("Dave, no latency spike"));
        let m = LatencyMonitor::default();
        m.add_sample_at("command", 20, 1000);
        let report = doctor_report(&m.events(), &ctx, 1000);
        assert!(report.contains(
            "1. command: 1 latency spikes (average 20ms, mean deviation 0ms, period 1.00 sec). Worst all time event \
             20ms.\n"
        ));
        assert!(report.contains("'CONFIG SET slowlog-log-slower-than 1000'"));
    }
}
