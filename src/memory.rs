//! Memory: the `maxmemory` limit with Redis's eviction policies, and the figures INFO memory, MEMORY STATS and
//! MEMORY DOCTOR report.
//!
//! What this module decides, and why:
//! - **When to evict.** Before every command (the dispatcher calls [`reject_for_oom`]), as Redis's
//!   `processCommand` does: if `maxmemory` is set and the counting allocator's total (`used_memory`) is above
//!   it, keys are evicted until it is not. Only when nothing more can be evicted (noeviction, or a volatile
//!   policy with no key left that has a TTL) are commands flagged `denyoom` refused with `-OOM`; reads, DEL and
//!   the like still run. The hot path is a handful of relaxed atomic loads and compares (config version,
//!   allocator total, peak, limit): about 17 instructions per command under callgrind.
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
//! - **Transparent huge pages** are turned off at start (`disable-thp yes`, the default): mimalloc asks for
//!   them, and with 2 MiB pages RSS ran 20-30% above the data on small-value workloads.
//! - **Figures** for INFO memory, MEMORY STATS and MEMORY DOCTOR live in `figures`.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::alloc::allocated_bytes;
use crate::commands::spec::CommandSpec;
use crate::commands::{table, ClientState};
use crate::config::{MaxmemoryPolicy, Settings};
use crate::keyspace::{lfu_decayed_counter, lru_idle_ms, AccessPolicy, Entry, Keyspace, SmallBytes, SHARD_COUNT};
use crate::state::{unix_time_ms, ServerState};

mod figures;
pub use figures::*;

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
/// so RSS would run 20-30% above the data on small-object workloads. Redis turns THP off for itself under
/// the same directive when its allocator would get them (memory and latency). Failure (old kernel, seccomp)
/// only costs memory, so it is ignored.
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
    flags & NOTOUCH != 0
        || (client_no_touch(client) && flags & TOUCH_CMD == 0)
        // While a snapshot child runs, as Redis: touching every read key would copy its page in the child.
        || crate::rdb::snapshot::child_active()
}

/// CLIENT NO-TOUCH state of a client.
#[inline]
fn client_no_touch(client: &ClientState) -> bool {
    client.no_touch
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
}
