//! Memory: the `maxmemory` limit with Redis's eviction policies, and the figures INFO memory, MEMORY STATS and
//! MEMORY DOCTOR report.
//!
//! What this module decides, and why:
//! - **When to evict.** Before every command (the dispatcher calls [`reject_for_oom`]), as Redis's
//!   `processCommand` does: if `maxmemory` is set and the counting allocator's total (`used_memory`) is above
//!   it, keys are evicted until it is not. Only when nothing more can be evicted (noeviction, or a volatile
//!   policy with no key left that has a TTL) are commands flagged `denyoom` refused with `-OOM`; reads, DEL and
//!   the like still run. The hot path costs two atomic loads (config version, allocator total) and a compare.
//! - **How long one command may evict.** Redis's `maxmemory-eviction-tenacity` time budget (50 µs per step up
//!   to 10, then +15% per step, unlimited at 100), checked every 16 keys. Past it the command runs anyway and
//!   the next command continues the work (Redis continues it from a timer; Shoal from the next command).
//! - **Which keys.** Redis's approximation: each round samples `maxmemory-samples` keys into a pool of the 16
//!   best candidates kept across rounds, and evicts the best. A round samples one shard (rotating over the 16
//!   shards, every database of it), locking only that shard, so eviction never stops the whole server and
//!   never holds two shard locks. Scores are Redis's: LRU idle time, 255 minus the decayed LFU counter, or
//!   the inverse of the expiry time (volatile-ttl). The random policies evict a random key of the next shard.
//! - **Access clocks** live in each entry (24 bits as Redis's `robj->lru`: an LRU timestamp, or LFU minutes and
//!   counter under an LFU policy); the keyspace updates them on lookups ([`crate::keyspace::AccessPolicy`]).
//!   This module tells the keyspace which policy is in force and which commands must not touch
//!   ([`skips_touch`]: Redis's `LOOKUP_NOTOUCH` commands, and CLIENT NO-TOUCH clients).
//! - **Figures.** `used_memory` is the counting allocator's total (every Rust allocation, as Redis's zmalloc
//!   counts every allocation); the allocator's own view (committed and resident bytes) comes from mimalloc.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::alloc::allocated_bytes;
use crate::commands::spec::CommandSpec;
use crate::commands::{table, ClientState};
use crate::config::{MaxmemoryPolicy, Settings};
use crate::keyspace::{
    lfu_decayed_counter, lru_idle_ms, AccessPolicy, DbOverhead, DbView, Entry, Keyspace, SmallBytes, SHARD_COUNT,
};
use crate::state::{unix_time_ms, ServerState};

/// The reply to a `denyoom` command that cannot run (Redis's `shared.oomerr`).
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Redis's `EVPOOL_SIZE`.
const POOL_SIZE: usize = 16;

/// Outcome of an eviction pass (Redis's `EVICT_OK` / `EVICT_RUNNING` / `EVICT_FAIL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eviction {
    /// At or below the limit.
    Ok,
    /// Still above, but the time budget ran out while keys were being evicted: the command runs.
    Running,
    /// Above the limit and nothing (more) can be evicted.
    Fail,
}

/// A key waiting in the eviction pool, with its score (higher = better to evict).
struct Candidate {
    score: u64,
    db: usize,
    key: SmallBytes,
}

/// The best candidates seen so far, in ascending score order (Redis's `EvictionPoolLRU`).
#[derive(Default)]
struct EvictionPool {
    /// The policy the scores were computed for; a policy change empties the pool.
    policy: Option<MaxmemoryPolicy>,
    entries: Vec<Candidate>,
}

impl EvictionPool {
    fn offer(&mut self, score: u64, db: usize, key: &[u8]) {
        if let Some(i) = self.entries.iter().position(|c| c.db == db && c.key.as_slice() == key) {
            self.entries.remove(i);
        }
        let mut pos = self.entries.partition_point(|c| c.score < score);
        if self.entries.len() >= POOL_SIZE {
            if pos == 0 {
                return;
            }
            self.entries.remove(0);
            pos -= 1;
        }
        self.entries.insert(pos, Candidate { score, db, key: SmallBytes::new(key) });
    }
}

/// Memory limit state shared by all connections: the configuration it follows (re-read when the config
/// store's version changes), the eviction pool, the peak and start-up figures.
pub struct MemoryState {
    synced_version: AtomicU64,
    maxmemory: AtomicU64,
    policy: AtomicU8,
    samples: AtomicU32,
    tenacity: AtomicU32,
    decay_time: AtomicU32,
    peak: AtomicUsize,
    startup: usize,
    pool: Mutex<EvictionPool>,
    next_shard: AtomicUsize,
    next_db: AtomicUsize,
}

const POLICIES: [MaxmemoryPolicy; 8] = [
    MaxmemoryPolicy::VolatileLru,
    MaxmemoryPolicy::VolatileLfu,
    MaxmemoryPolicy::VolatileRandom,
    MaxmemoryPolicy::VolatileTtl,
    MaxmemoryPolicy::AllkeysLru,
    MaxmemoryPolicy::AllkeysLfu,
    MaxmemoryPolicy::AllkeysRandom,
    MaxmemoryPolicy::NoEviction,
];

impl MemoryState {
    /// Records the allocator's total now as the start-up figure (`used_memory_startup`), and applies
    /// `disable-thp`.
    pub fn new(settings: &Settings) -> MemoryState {
        if settings.disable_thp {
            disable_transparent_huge_pages();
        }
        let startup = allocated_bytes();
        MemoryState {
            synced_version: AtomicU64::new(u64::MAX),
            maxmemory: AtomicU64::new(0),
            policy: AtomicU8::new(7),
            samples: AtomicU32::new(5),
            tenacity: AtomicU32::new(10),
            decay_time: AtomicU32::new(1),
            peak: AtomicUsize::new(startup),
            startup,
            pool: Mutex::new(EvictionPool::default()),
            next_shard: AtomicUsize::new(0),
            next_db: AtomicUsize::new(0),
        }
    }

    /// Follows the configuration: cheap when nothing changed (one atomic load and a compare).
    #[inline]
    pub fn sync(&self, server: &ServerState) {
        let version = server.config.version();
        if self.synced_version.load(Ordering::Acquire) != version {
            self.resync(server, version);
        }
    }

    #[cold]
    fn resync(&self, server: &ServerState, version: u64) {
        let s = server.config.snapshot();
        self.maxmemory.store(s.maxmemory, Ordering::Relaxed);
        let idx = POLICIES.iter().position(|p| *p == s.maxmemory_policy).unwrap_or(7);
        self.policy.store(idx as u8, Ordering::Relaxed);
        self.samples.store(s.maxmemory_samples.max(1), Ordering::Relaxed);
        self.tenacity.store(s.maxmemory_eviction_tenacity, Ordering::Relaxed);
        self.decay_time.store(s.lfu_decay_time, Ordering::Relaxed);
        server.keyspace.set_access_policy(AccessPolicy {
            lfu: s.maxmemory_policy.is_lfu(),
            log_factor: s.lfu_log_factor,
            decay_time: s.lfu_decay_time,
        });
        self.synced_version.store(version, Ordering::Release);
    }

    pub fn policy(&self) -> MaxmemoryPolicy {
        POLICIES[usize::from(self.policy.load(Ordering::Relaxed)).min(7)]
    }

    pub fn maxmemory(&self) -> u64 {
        self.maxmemory.load(Ordering::Relaxed)
    }

    /// Highest `used_memory` seen (updated before every command and by the figures below).
    pub fn peak(&self) -> usize {
        self.note_used(allocated_bytes())
    }

    /// `used_memory` when the server state was created.
    pub fn startup(&self) -> usize {
        self.startup
    }

    #[inline]
    fn note_used(&self, used: usize) -> usize {
        let peak = self.peak.load(Ordering::Relaxed);
        if used > peak {
            self.peak.fetch_max(used, Ordering::Relaxed);
            used
        } else {
            peak
        }
    }

    /// Evicts keys until `used_memory` is at or below `maxmemory` (Redis's `performEvictions`).
    pub fn perform_evictions(&self, keyspace: &Keyspace) -> Eviction {
        let max = self.maxmemory();
        if max == 0 || allocated_bytes() as u64 <= max {
            return Eviction::Ok;
        }
        let policy = self.policy();
        if policy == MaxmemoryPolicy::NoEviction {
            return Eviction::Fail;
        }
        let budget = eviction_time_limit(self.tenacity.load(Ordering::Relaxed));
        let started = Instant::now();
        // One evictor at a time: the others wait here, then usually find memory already below the limit.
        let mut pool = self.pool.lock();
        if pool.policy != Some(policy) {
            *pool = EvictionPool { policy: Some(policy), entries: Vec::new() };
        }
        let mut evicted = 0u64;
        while allocated_bytes() as u64 > max {
            let done = match policy {
                MaxmemoryPolicy::AllkeysRandom | MaxmemoryPolicy::VolatileRandom => {
                    self.evict_random(keyspace, policy.volatile_only())
                }
                _ => self.evict_pooled(keyspace, &mut pool, policy),
            };
            if !done {
                return Eviction::Fail;
            }
            evicted += 1;
            if evicted.is_multiple_of(16) && budget.is_some_and(|b| started.elapsed() > b) {
                return Eviction::Running;
            }
        }
        Eviction::Ok
    }

    /// Random policies: a random key of the next shard that has one.
    fn evict_random(&self, keyspace: &Keyspace, volatile_only: bool) -> bool {
        let db = self.next_db.fetch_add(1, Ordering::Relaxed) % keyspace.databases().max(1);
        (0..SHARD_COUNT).any(|_| {
            let shard = self.next_shard.fetch_add(1, Ordering::Relaxed) % SHARD_COUNT;
            keyspace.evict_random(shard, db, volatile_only)
        })
    }

    /// Pool policies: sample the next shard with candidates into the pool, then evict the best candidate that
    /// still exists. False when no shard has a candidate.
    fn evict_pooled(&self, keyspace: &Keyspace, pool: &mut EvictionPool, policy: MaxmemoryPolicy) -> bool {
        let volatile = policy.volatile_only();
        let samples = self.samples.load(Ordering::Relaxed) as usize;
        let decay = self.decay_time.load(Ordering::Relaxed);
        // Bounded: each attempt samples fresh keys; stale pool entries (deleted since) are dropped on the way.
        for _ in 0..SHARD_COUNT {
            let mut offered = 0;
            for _ in 0..SHARD_COUNT {
                let shard = self.next_shard.fetch_add(1, Ordering::Relaxed) % SHARD_COUNT;
                let now_ms = unix_time_ms();
                offered = keyspace.sample_for_eviction(shard, volatile, samples, |db, e| {
                    pool.offer(score(policy, e, now_ms, decay), db, &e.key);
                });
                if offered > 0 {
                    break;
                }
            }
            while let Some(c) = pool.entries.pop() {
                if keyspace.evict_key(c.db, &c.key, volatile) {
                    return true;
                }
            }
            if offered == 0 {
                return false;
            }
        }
        false
    }
}

/// How good a candidate `e` is under `policy`: higher is evicted first (Redis's pool `idle` value).
fn score(policy: MaxmemoryPolicy, e: &Entry, now_ms: u64, decay_time: u32) -> u64 {
    if policy.is_lfu() {
        255 - u64::from(lfu_decayed_counter(e.access_clock, now_ms, decay_time))
    } else if policy == MaxmemoryPolicy::VolatileTtl {
        u64::MAX - e.expire_at_ms
    } else {
        lru_idle_ms(e.access_clock, now_ms)
    }
}

/// `disable-thp yes` (the default): turns transparent huge pages off for the process. mimalloc asks the kernel
/// for huge pages on its arenas (`madvise`), and a 2 MiB page is resident as soon as one byte of it is touched,
/// so RSS would run 20-30% above the data on small-object workloads; Redis disables THP for the same reasons
/// (memory and latency). Failure (old kernel, seccomp) only costs memory, so it is ignored.
fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and only sets a flag on this process.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

/// Redis's `evictionTimeLimitUs`; `None` means no limit (tenacity 100).
fn eviction_time_limit(tenacity: u32) -> Option<Duration> {
    if tenacity <= 10 {
        Some(Duration::from_micros(50 * u64::from(tenacity)))
    } else if tenacity < 100 {
        Some(Duration::from_micros((500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64))
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------------------
// Per-command decisions, read by the dispatcher
// ---------------------------------------------------------------------------------------------------------

const DENYOOM: u8 = 1;
const NOTOUCH: u8 = 2;
const TOUCH_CMD: u8 = 4;

/// Commands whose lookups do not touch access clocks in Redis 7.0 (`LOOKUP_NOTOUCH`), checked against
/// redis-server: EXISTS, TYPE, the TTL family and OBJECT.
const NOTOUCH_COMMANDS: &[&str] = &["exists", "type", "ttl", "pttl", "expiretime", "pexpiretime"];

/// Flags per command id, computed once from the command table.
fn command_flags(spec: &CommandSpec) -> u8 {
    static FLAGS: OnceLock<Vec<u8>> = OnceLock::new();
    let flags = FLAGS.get_or_init(|| {
        let mut v = vec![0u8; table::COMMAND_IDS];
        let mut note = |c: &CommandSpec| {
            let mut f = 0;
            if c.has_flag("denyoom") {
                f |= DENYOOM;
            }
            if NOTOUCH_COMMANDS.contains(&c.name) || c.name.starts_with("object|") {
                f |= NOTOUCH;
            }
            if c.name == "touch" {
                f |= TOUCH_CMD;
            }
            if let Some(slot) = v.get_mut(c.id) {
                *slot = f;
            }
        };
        for c in table::COMMANDS.iter() {
            note(c);
            c.subcommands.iter().for_each(&mut note);
        }
        v
    });
    flags.get(spec.id).copied().unwrap_or(0)
}

/// Before a command: enforces `maxmemory`. True when the command must be refused with [`OOM_ERROR`] (the
/// dispatcher replies and counts a rejected call).
#[inline]
pub fn reject_for_oom(server: &ServerState, spec: &CommandSpec) -> bool {
    let m = &server.memory;
    m.sync(server);
    let used = allocated_bytes();
    m.note_used(used);
    let max = m.maxmemory.load(Ordering::Relaxed);
    if max == 0 || used as u64 <= max {
        return false;
    }
    over_limit(server, spec)
}

#[cold]
fn over_limit(server: &ServerState, spec: &CommandSpec) -> bool {
    server.memory.perform_evictions(&server.keyspace) == Eviction::Fail && command_flags(spec) & DENYOOM != 0
}

/// Whether the command's lookups must leave access clocks alone: Redis's `LOOKUP_NOTOUCH` commands, and
/// every command but TOUCH for a client in CLIENT NO-TOUCH mode.
#[inline]
pub fn skips_touch(spec: &CommandSpec, client: &ClientState) -> bool {
    let flags = command_flags(spec);
    flags & NOTOUCH != 0 || (client_no_touch(client) && flags & TOUCH_CMD == 0)
}

/// CLIENT NO-TOUCH state of a client.
#[inline]
fn client_no_touch(client: &ClientState) -> bool {
    client.no_touch
}

// ---------------------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------------------

extern "C" {
    #[cfg(test)]
    fn mi_good_size(size: usize) -> usize;
    fn mi_collect(force: bool);
    fn mi_version() -> c_int;
    fn mi_stats_print_out(out: Option<unsafe extern "C" fn(*const c_char, *mut c_void)>, arg: *mut c_void);
    fn mi_process_info(
        elapsed_msecs: *mut usize,
        user_msecs: *mut usize,
        system_msecs: *mut usize,
        current_rss: *mut usize,
        peak_rss: *mut usize,
        current_commit: *mut usize,
        peak_commit: *mut usize,
        page_faults: *mut usize,
    );
}

/// Bytes mimalloc really hands out for a heap block of `size` bytes (0: no block), as `used_memory` counts it.
pub fn allocation_size(size: usize) -> usize {
    if size == 0 {
        0
    } else {
        crate::alloc::block_size(size)
    }
}

/// MEMORY PURGE: returns free memory to the OS.
pub fn purge() {
    // SAFETY: no preconditions; collects this thread's and abandoned heaps' free pages.
    unsafe { mi_collect(true) }
}

/// `mimalloc-<major>.<minor>.<patch>` (INFO `mem_allocator`).
pub fn allocator_name() -> String {
    // SAFETY: no preconditions.
    let v = unsafe { mi_version() };
    // MI_MALLOC_VERSION: major, two digits of minor, two digits of patch (30302 = 3.3.2).
    format!("mimalloc-{}.{}.{}", v / 10000, (v / 100) % 100, v % 100)
}

unsafe extern "C" fn collect_text(msg: *const c_char, arg: *mut c_void) {
    if msg.is_null() || arg.is_null() {
        return;
    }
    // SAFETY: `arg` is the `String` passed by `malloc_stats`, alive for the whole call; `msg` is a C string.
    let out = unsafe { &mut *(arg as *mut String) };
    out.push_str(&unsafe { CStr::from_ptr(msg) }.to_string_lossy());
}

/// MEMORY MALLOC-STATS: mimalloc's own statistics report.
pub fn malloc_stats() -> String {
    let mut out = String::new();
    // SAFETY: the callback only appends to `out`, which outlives the call.
    unsafe { mi_stats_print_out(Some(collect_text), &mut out as *mut String as *mut c_void) };
    out
}

/// The allocator's view: (committed bytes, resident bytes of the process).
pub fn allocator_committed_and_resident() -> (usize, usize) {
    let (mut elapsed, mut user, mut system, mut rss, mut peak_rss, mut commit, mut peak_commit, mut faults) =
        (0, 0, 0, 0, 0, 0, 0, 0);
    // SAFETY: every pointer is to a live local.
    unsafe {
        mi_process_info(
            &mut elapsed,
            &mut user,
            &mut system,
            &mut rss,
            &mut peak_rss,
            &mut commit,
            &mut peak_commit,
            &mut faults,
        )
    };
    (commit, rss)
}

/// Physical memory of the machine (`total_system_memory`), from /proc/meminfo.
pub fn total_system_memory() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/meminfo") else { return 0 };
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Approximate bytes one key costs (MEMORY USAGE): its entry box, its bucket pointer, the key's and the
/// value's heap blocks at mimalloc's real block sizes, and its slot in the volatile list if it has a TTL.
pub fn entry_usage(e: &Entry) -> usize {
    let key_heap = allocation_size(e.key.heap_size());
    let mut total = allocation_size(std::mem::size_of::<Entry>())
        + std::mem::size_of::<usize>()
        + key_heap
        + allocation_size(e.value.heap_size());
    if e.expire_at_ms != 0 {
        total += std::mem::size_of::<SmallBytes>() + key_heap;
    }
    total
}

/// Bytes of the main hash table of a database (entries and bucket pointers): Redis's
/// `overhead.hashtable.main`.
pub fn main_table_overhead(o: &DbOverhead) -> usize {
    o.keys * allocation_size(std::mem::size_of::<Entry>()) + o.buckets * std::mem::size_of::<usize>()
}

/// Bytes of the volatile-key lists of a database: Redis's `overhead.hashtable.expires`.
pub fn expires_overhead(o: &DbOverhead) -> usize {
    o.volatile * std::mem::size_of::<SmallBytes>()
}

/// The figures shared by INFO memory, MEMORY STATS and MEMORY DOCTOR (Redis's `redisMemOverhead`).
#[derive(Clone, Debug, Default)]
pub struct Overview {
    pub used: usize,
    pub peak: usize,
    pub startup: usize,
    pub rss: usize,
    pub allocator_active: usize,
    pub allocator_resident: usize,
    pub dbs: Vec<DbOverhead>,
    pub overhead_total: usize,
    pub keys: usize,
    pub dataset: usize,
}

impl Overview {
    /// Gathers the figures; `dbs` comes from the caller's view ([`crate::keyspace::DbView::overheads`]).
    pub fn gather(server: &ServerState, dbs: Vec<DbOverhead>) -> Overview {
        let used = allocated_bytes();
        let peak = server.memory.note_used(used);
        let startup = server.memory.startup();
        let (active, resident) = allocator_committed_and_resident();
        let tables: usize = dbs.iter().map(|o| main_table_overhead(o) + expires_overhead(o)).sum();
        let overhead_total = startup + tables;
        Overview {
            used,
            peak,
            startup,
            rss: crate::alloc::rss_bytes(),
            allocator_active: active,
            allocator_resident: resident,
            keys: dbs.iter().map(|o| o.keys).sum(),
            dbs,
            overhead_total,
            dataset: used.saturating_sub(overhead_total),
        }
    }

    /// `used - startup`, at least 1 (Redis's `net_usage`).
    pub fn net_usage(&self) -> usize {
        self.used.saturating_sub(self.startup).max(1)
    }

    pub fn dataset_perc(&self) -> f32 {
        self.dataset as f32 * 100.0 / self.net_usage() as f32
    }

    pub fn peak_perc(&self) -> f32 {
        self.used as f32 * 100.0 / self.peak.max(1) as f32
    }

    pub fn bytes_per_key(&self) -> usize {
        self.net_usage().checked_div(self.keys).unwrap_or(0)
    }

    /// (allocator fragmentation ratio, bytes): committed over allocated.
    pub fn allocator_frag(&self) -> (f32, i64) {
        ratio(self.allocator_active, self.used)
    }

    /// (allocator RSS ratio, bytes): resident over committed.
    pub fn allocator_rss(&self) -> (f32, i64) {
        ratio(self.allocator_resident, self.allocator_active)
    }

    /// (RSS overhead ratio, bytes): process RSS over the allocator's resident bytes.
    pub fn rss_overhead(&self) -> (f32, i64) {
        ratio(self.rss, self.allocator_resident)
    }

    /// (fragmentation ratio, bytes): process RSS over `used_memory`.
    pub fn fragmentation(&self) -> (f32, i64) {
        ratio(self.rss, self.used)
    }
}

fn ratio(a: usize, b: usize) -> (f32, i64) {
    let r = if b == 0 { 0.0 } else { a as f32 / b as f32 };
    (r, a as i64 - b as i64)
}

/// Redis's `bytesToHuman`: `B`, then `K`, `M`, `G`, `T`, `P` with two decimals.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [(&str, f64); 5] = [
        ("K", 1024.0),
        ("M", 1024.0 * 1024.0),
        ("G", 1024.0 * 1024.0 * 1024.0),
        ("T", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("P", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ];
    let d = n as f64;
    if d < 1024.0 {
        return format!("{n}B");
    }
    for (i, (unit, size)) in UNITS.iter().enumerate() {
        if i == UNITS.len() - 1 || d < size * 1024.0 {
            return format!("{:.2}{unit}", d / size);
        }
    }
    format!("{n}B")
}

/// INFO's `# Memory` section, Redis 7.0.15's fields in order. `view` is the caller's view when it holds every
/// shard (inside a transaction); otherwise shards are locked one at a time.
pub fn info_section(server: &ServerState, view: Option<&mut DbView<'_>>) -> String {
    let dbs = match view {
        Some(v) => v.overheads(),
        None => server.keyspace.lock_mask(0, 0, unix_time_ms()).overheads(),
    };
    let o = Overview::gather(server, dbs);
    let settings = server.config.snapshot();
    let system = total_system_memory();
    let (alloc_frag, alloc_frag_bytes) = o.allocator_frag();
    let (alloc_rss, alloc_rss_bytes) = o.allocator_rss();
    let (rss_extra, rss_extra_bytes) = o.rss_overhead();
    let (frag, frag_bytes) = o.fragmentation();
    let h = |n: usize| human_bytes(n as u64);
    format!(
        "# Memory\r\nused_memory:{}\r\nused_memory_human:{}\r\nused_memory_rss:{}\r\nused_memory_rss_human:{}\r\n\
         used_memory_peak:{}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\n\
         used_memory_overhead:{}\r\nused_memory_startup:{}\r\nused_memory_dataset:{}\r\n\
         used_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{}\r\nallocator_active:{}\r\n\
         allocator_resident:{}\r\ntotal_system_memory:{system}\r\ntotal_system_memory_human:{}\r\n\
         used_memory_lua:0\r\nused_memory_vm_eval:0\r\nused_memory_lua_human:0B\r\nused_memory_scripts_eval:0\r\n\
         number_of_cached_scripts:0\r\nnumber_of_functions:0\r\nnumber_of_libraries:0\r\n\
         used_memory_vm_functions:0\r\nused_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\n\
         used_memory_functions:0\r\nused_memory_scripts:0\r\nused_memory_scripts_human:0B\r\n\
         maxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nallocator_frag_ratio:{alloc_frag:.2}\r\n\
         allocator_frag_bytes:{alloc_frag_bytes}\r\nallocator_rss_ratio:{alloc_rss:.2}\r\n\
         allocator_rss_bytes:{alloc_rss_bytes}\r\nrss_overhead_ratio:{rss_extra:.2}\r\n\
         rss_overhead_bytes:{rss_extra_bytes}\r\nmem_fragmentation_ratio:{frag:.2}\r\n\
         mem_fragmentation_bytes:{frag_bytes}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\n\
         mem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:0\r\n\
         mem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:{}\r\nactive_defrag_running:0\r\n\
         lazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
        o.used,
        h(o.used),
        o.rss,
        h(o.rss),
        o.peak,
        h(o.peak),
        o.peak_perc(),
        o.overhead_total,
        o.startup,
        o.dataset,
        o.dataset_perc(),
        o.used,
        o.allocator_active,
        o.allocator_resident,
        human_bytes(system),
        settings.maxmemory,
        human_bytes(settings.maxmemory),
        settings.maxmemory_policy.name(),
        allocator_name(),
    )
}

/// MEMORY DOCTOR's report, with Redis's thresholds and texts.
pub fn doctor_report(o: &Overview, connected_clients: usize) -> String {
    if o.used < 5 * 1024 * 1024 {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used \
                in these conditions. Please, leave for your mission on Earth and fill it with some data. The new \
                Sam and I will be back to our programming as soon as I finished rebooting.\n"
            .to_string();
    }
    const TEN_MB: i64 = 10 << 20;
    let big_peak = o.peak as f32 / o.used as f32 > 1.5;
    let (frag, frag_bytes) = o.fragmentation();
    let high_frag = frag > 1.4 && frag_bytes > TEN_MB;
    let (alloc_frag, alloc_frag_bytes) = o.allocator_frag();
    let high_alloc_frag = alloc_frag > 1.1 && alloc_frag_bytes > TEN_MB;
    let (alloc_rss, alloc_rss_bytes) = o.allocator_rss();
    let high_alloc_rss = alloc_rss > 1.1 && alloc_rss_bytes > TEN_MB;
    let (proc_rss, proc_rss_bytes) = o.rss_overhead();
    let high_proc_rss = proc_rss > 1.1 && proc_rss_bytes > TEN_MB;
    // Shoal does not account client buffers separately (MEMORY STATS clients.normal is 0), so the
    // "big client buffers" report never fires.
    let _ = connected_clients;
    if !(big_peak || high_frag || high_alloc_frag || high_alloc_rss || high_proc_rss) {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on \
                this base.\n"
            .to_string();
    }
    let mut s = String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    if big_peak {
        s.push_str(
            " * Peak memory: In the past this instance used more than 150% the memory that is currently using. \
             The allocator is normally not able to release memory after a peak, so you can expect to see a big \
             fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if \
             the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be \
             used as soon as you fill the Redis instance with more data. If the memory peak was only occasional \
             and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only \
             other option is to shutdown and restart the instance.\n\n",
        );
    }
    if high_frag {
        s.push_str(&format!(
            " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this \
             means that the Resident Set Size of the Redis process is much larger than the sum of the logical \
             allocations Redis performed). This problem is usually due either to a large peak memory (check if \
             there is a peak memory entry above in the report) or may result from a workload that causes the \
             allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. \
             Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The \
             currently used allocator is \"{}\".\n\n",
            allocator_name()
        ));
    }
    if high_alloc_frag {
        s.push_str(
            " * High allocator fragmentation: This instance has an allocator external fragmentation greater than \
             1.1. This problem is usually due either to a large peak memory (check if there is a peak memory \
             entry above in the report) or may result from a workload that causes the allocator to fragment \
             memory a lot. You can try enabling 'activedefrag' config option.\n\n",
        );
    }
    if high_alloc_rss {
        s.push_str(
            " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this \
             means that the Resident Set Size of the allocator is much larger than the sum what the allocator \
             actually holds). This problem is usually due to a large peak memory (check if there is a peak \
             memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n",
        );
    }
    if high_proc_rss {
        s.push_str(
            " * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than \
             1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the \
             allocator holds). This problem may be due to Lua scripts or Modules.\n\n",
        );
    }
    s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_the_best_candidates_in_order() {
        let mut pool = EvictionPool::default();
        for i in 0..40u64 {
            pool.offer((i * 7919) % 101, 0, format!("k{i}").as_bytes());
        }
        assert_eq!(pool.entries.len(), POOL_SIZE);
        assert!(pool.entries.windows(2).all(|w| w[0].score <= w[1].score));
        let lowest_kept = pool.entries[0].score;
        assert!(lowest_kept >= 101 - 40, "the 16 best of 40 distinct scores are kept");
        // Offering a key again replaces its old score instead of duplicating it.
        pool.offer(1000, 0, b"k1");
        pool.offer(1001, 0, b"k1");
        assert_eq!(pool.entries.iter().filter(|c| c.key.as_slice() == b"k1").count(), 1);
        assert_eq!(pool.entries.last().map(|c| c.score), Some(1001));
    }

    #[test]
    fn time_limit_follows_tenacity() {
        assert_eq!(eviction_time_limit(0), Some(Duration::ZERO));
        assert_eq!(eviction_time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(eviction_time_limit(11), Some(Duration::from_micros(575)));
        assert_eq!(eviction_time_limit(100), None);
    }

    #[test]
    fn counted_block_sizes_are_mimallocs() {
        assert_eq!(allocation_size(0), 0);
        let mut sizes: Vec<usize> = (1..70_000).collect();
        sizes.extend((0..2_000).map(|i| 500_000 + i * 997));
        sizes.extend([1 << 20, (1 << 20) + 1, 64 << 20]);
        for size in sizes {
            // SAFETY: a pure function of its argument.
            let good = unsafe { mi_good_size(size) };
            assert_eq!(crate::alloc::block_size(size), good, "size {size}");
        }
        assert!(allocator_name().starts_with("mimalloc-"));
    }
}
