//! The keyspace: every database's keys, split into lockable shards by hash slot.
//!
//! # Execution model (why shards of slots behind mutexes)
//! Connections run on a few I/O threads (one per core, see `server`). Keys live in [`SHARD_COUNT`] shards;
//! a key's shard is `slot % SHARD_COUNT`. A command locks exactly the shards of its keys, in ascending shard
//! order (so two commands can never deadlock), runs synchronously, and unlocks: no lock is ever held across an
//! `.await`. One lock per command makes multi-key commands atomic in both modes (in standalone mode keys may
//! span shards; the ordered multi-lock covers that), and a transaction or keyspace-wide command simply locks all
//! shards. On one core the locks are uncontended (two atomic operations per command); on several cores
//! commands on different shards proceed in parallel. We chose this over slot-owning shard threads because
//! those need a cross-thread hop per command whose key is on another thread, which costs more than the lock
//! on the 1-2 core machines Shoal is measured on, and makes multi-key atomicity a distributed protocol.
//!
//! # Layout
//! In cluster mode there is one database and one [`KeyTable`] per hash slot (COUNTKEYSINSLOT is O(1),
//! GETKEYSINSLOT and migration touch only their slot). In standalone mode each database has one table per
//! shard: 16 databases x 16384 per-slot tables would cost memory at start-up for nothing, since standalone
//! mode never asks per-slot questions.
//!
//! # Access clocks and eviction
//! Every entry carries the 24 bits Redis keeps in `robj->lru`: an LRU timestamp in seconds, or, under an LFU
//! policy, 16 bits of minutes and an 8-bit logarithmic counter ([`AccessPolicy`]). Views update them on
//! lookups. The eviction primitives here (sample a shard, evict a key, evict a random key) each lock a single
//! shard for a moment; `crate::memory` decides which keys go.

pub mod dict;
pub mod events;
pub mod small_bytes;
pub mod table;
pub mod value;
mod view;
pub mod watch;

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, MutexGuard};

use crate::slot::{key_hash_slot, SLOT_COUNT};
pub use dict::Entry;
pub use small_bytes::SmallBytes;
pub use table::{is_expired, KeyTable};
pub use value::Value;
pub use view::{DbOverhead, DbView, ScanFilter};

/// Number of lockable shards. A power of two that divides 16384.
pub const SHARD_COUNT: usize = 16;

thread_local! {
    /// Address of the keyspace whose every shard this thread holds while EXEC runs its queue (0: none).
    static HELD_ALL: Cell<usize> = const { Cell::new(0) };
}

/// While alive, the current thread is known to hold every shard of a keyspace (see [`Keyspace::hold_all`]).
pub struct HeldShards {
    previous: usize,
}

impl Drop for HeldShards {
    fn drop(&mut self) {
        HELD_ALL.with(|h| h.set(self.previous));
    }
}

/// Per-shard counters, summed by INFO. Kept inside the shard so updating them needs no atomics.
#[derive(Default, Clone, Copy, Debug)]
pub struct ShardStats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    /// Keys deleted by maxmemory eviction (INFO `evicted_keys`).
    pub evicted_keys: u64,
}

/// One database's part of a shard.
#[derive(Default)]
pub struct ShardDb {
    pub(crate) tables: Vec<KeyTable>,
    pub(crate) keys: usize,
    pub(crate) volatile: usize,
}

impl ShardDb {
    fn new(tables: usize) -> ShardDb {
        let mut v = Vec::with_capacity(tables);
        v.resize_with(tables, KeyTable::default);
        ShardDb { tables: v, keys: 0, volatile: 0 }
    }

    fn clear(&mut self) {
        for t in &mut self.tables {
            t.clear();
        }
        self.keys = 0;
        self.volatile = 0;
    }

    fn recount(&mut self) {
        self.keys = self.tables.iter().map(KeyTable::len).sum();
        self.volatile = self.tables.iter().map(KeyTable::volatile_len).sum();
    }
}

pub struct Shard {
    pub(crate) dbs: Vec<ShardDb>,
    pub stats: ShardStats,
    /// Where the next active-expiry pass over this shard starts (db, table).
    expire_cursor: (usize, usize),
}

/// All the keys of the server.
pub struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    cluster_mode: bool,
    databases: usize,
    /// How lookups update each entry's access clock: an [`AccessPolicy`] packed into one word, read once per
    /// command when its view is created (set from the configuration by `crate::memory`).
    access: AtomicU64,
    /// False after `DEBUG SET-ACTIVE-EXPIRE 0`: the cron stops sampling keys for expiry.
    active_expire: AtomicBool,
    /// WATCHed keys; told about every key change (see [`watch`]).
    pub watches: Arc<watch::WatchRegistry>,
    /// Expired and evicted keys waiting to be announced as keyspace notifications (see [`events`]).
    pub events: events::KeyEvents,
}

impl Keyspace {
    /// `databases` is 1 in cluster mode (only db 0 exists there).
    pub fn new(databases: usize, cluster_mode: bool) -> Keyspace {
        let databases = if cluster_mode { 1 } else { databases.max(1) };
        let tables_per_db = if cluster_mode { SLOT_COUNT / SHARD_COUNT } else { 1 };
        let shards = (0..SHARD_COUNT)
            .map(|_| {
                Mutex::new(Shard {
                    dbs: (0..databases).map(|_| ShardDb::new(tables_per_db)).collect(),
                    stats: ShardStats::default(),
                    expire_cursor: (0, 0),
                })
            })
            .collect();
        Keyspace {
            shards,
            cluster_mode,
            databases,
            access: AtomicU64::new(AccessPolicy::default().pack()),
            active_expire: AtomicBool::new(true),
            watches: Arc::default(),
            events: Default::default(),
        }
    }

    pub fn databases(&self) -> usize {
        self.databases
    }

    pub fn cluster_mode(&self) -> bool {
        self.cluster_mode
    }

    /// The shard that holds `slot`.
    #[inline]
    pub fn shard_of_slot(slot: u16) -> usize {
        slot as usize % SHARD_COUNT
    }

    /// Index of a slot's table inside its shard's database.
    #[inline]
    fn table_index(&self, slot: u16) -> usize {
        if self.cluster_mode {
            slot as usize / SHARD_COUNT
        } else {
            0
        }
    }

    /// Locks the shards whose bit is set in `mask`, in ascending order, and returns a view on database `db`.
    pub fn lock_mask(&self, mask: u32, db: usize, now_ms: u64) -> DbView<'_> {
        let mut guards: [Option<MutexGuard<'_, Shard>>; SHARD_COUNT] = Default::default();
        for (i, guard) in guards.iter_mut().enumerate() {
            if mask & (1 << i) != 0 {
                *guard = Some(self.shards[i].lock());
            }
        }
        DbView::new(self, guards, db, now_ms)
    }

    /// Locks the shards of `keys`.
    pub fn lock_keys<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>, db: usize, now_ms: u64) -> DbView<'_> {
        let mask = keys.into_iter().fold(0u32, |m, k| m | 1 << Self::shard_of_slot(key_hash_slot(k)));
        self.lock_mask(mask, db, now_ms)
    }

    /// Locks every shard: for keyspace-wide commands and transactions.
    pub fn lock_all(&self, db: usize, now_ms: u64) -> DbView<'_> {
        self.lock_mask((1u32 << SHARD_COUNT) - 1, db, now_ms)
    }

    /// Sum of every shard's counters.
    pub fn stats(&self) -> ShardStats {
        let mut total = ShardStats::default();
        for st in self.each_shard(|s| s.stats) {
            total.keyspace_hits += st.keyspace_hits;
            total.keyspace_misses += st.keyspace_misses;
            total.expired_keys += st.expired_keys;
            total.evicted_keys += st.evicted_keys;
        }
        total
    }

    pub fn reset_stats(&self) {
        if self.held_by_this_thread() {
            for s in self.shards.iter() {
                // SAFETY: this thread holds every shard's lock (see `HeldShards`) and no reference into a shard
                // is live while a command calls here.
                unsafe { (*s.data_ptr()).stats = ShardStats::default() };
            }
            return;
        }
        for s in self.shards.iter() {
            s.lock().stats = ShardStats::default();
        }
    }

    /// (keys, keys with an expiry) of database `db`, for DBSIZE and INFO keyspace.
    pub fn db_counts(&self, db: usize) -> (usize, usize) {
        self.each_shard(|s| s.dbs.get(db).map_or((0, 0), |d| (d.keys, d.volatile)))
            .into_iter()
            .fold((0, 0), |(k, v), (dk, dv)| (k + dk, v + dv))
    }

    /// `f` applied to every shard in order: under each shard's lock, or directly when this thread already holds
    /// them all (a transaction running INFO or DBSIZE-like figures must not lock its own shards again).
    fn each_shard<R>(&self, mut f: impl FnMut(&Shard) -> R) -> Vec<R> {
        if self.held_by_this_thread() {
            // SAFETY: this thread holds every shard's lock (see `HeldShards`) and no reference into a shard is
            // live while a command calls here, so shared reads cannot race or alias a unique borrow.
            return self.shards.iter().map(|s| f(unsafe { &*s.data_ptr() })).collect();
        }
        self.shards.iter().map(|s| f(&s.lock())).collect()
    }

    fn held_by_this_thread(&self) -> bool {
        HELD_ALL.with(|h| h.get() == self as *const Keyspace as usize)
    }

    /// Marks the current thread as holding every shard of this keyspace through `view` until the returned
    /// marker drops (EXEC, while it runs its queue). Keyspace-wide figures ([`db_counts`](Self::db_counts),
    /// [`stats`](Self::stats)) then read the shards directly instead of locking them again.
    pub fn hold_all(&self, view: &DbView<'_>) -> Option<HeldShards> {
        if !view.holds_all_shards() || !std::ptr::eq(view.keyspace(), self) {
            return None;
        }
        let previous = HELD_ALL.with(|h| h.replace(self as *const Keyspace as usize));
        Some(HeldShards { previous })
    }

    /// Active expiry: samples keys with a TTL and deletes the expired ones, shard by shard, until `deadline`.
    /// Each shard is locked for at most one sampling round at a time, so clients wait microseconds, never the
    /// whole cycle; a million keys expiring at once are reclaimed over several cycles. Also advances
    /// incremental rehashing and shrinks sparse tables. Returns the number of keys deleted.
    pub fn active_expire_cycle(&self, now_ms: u64, deadline: Instant) -> u64 {
        if !self.active_expire.load(Ordering::Relaxed) {
            return 0;
        }
        const SAMPLES: usize = 20;
        const ROUNDS_PER_LOCK: usize = 16;
        let mut deleted = 0u64;
        for shard_idx in 0..SHARD_COUNT {
            loop {
                let mut shard = self.shards[shard_idx].lock();
                let (mut db, mut table) = shard.expire_cursor;
                let mut rounds = 0;
                let mut finished_shard = false;
                while rounds < ROUNDS_PER_LOCK {
                    if db >= shard.dbs.len() {
                        finished_shard = true;
                        db = 0;
                        table = 0;
                        break;
                    }
                    let sdb = &mut shard.dbs[db];
                    if sdb.volatile == 0 || table >= sdb.tables.len() {
                        if let Some(t) = sdb.tables.get_mut(table) {
                            t.dict.rehash_steps(1);
                        }
                        db += 1;
                        table = 0;
                        continue;
                    }
                    let t = &mut sdb.tables[table];
                    t.dict.rehash_steps(1);
                    let mut expired_here = 0;
                    let sampled = SAMPLES.min(t.volatile_len());
                    for _ in 0..sampled {
                        let Some(key) = t.random_volatile().cloned() else { break };
                        let expire = t.peek(&key).map_or(0, |e| e.expire_at_ms);
                        if is_expired(expire, now_ms) {
                            t.remove(&key);
                            expired_here += 1;
                            if self.watches.active() {
                                self.watches.touch(db, &key, || false);
                            }
                            self.events.record(crate::config::notify::EXPIRED, "expired", db, &key);
                        }
                    }
                    rounds += 1;
                    if expired_here > 0 {
                        sdb.keys -= expired_here;
                        sdb.volatile -= expired_here;
                        deleted += expired_here as u64;
                        shard.stats.expired_keys += expired_here as u64;
                    }
                    // Stay on this table while more than 10% of the sample was stale (Redis's acceptable stale).
                    if sampled == 0 || expired_here * 10 <= sampled {
                        if let Some(t) = shard.dbs[db].tables.get_mut(table) {
                            t.dict.shrink_if_sparse();
                        }
                        table += 1;
                    }
                }
                shard.expire_cursor = (db, table);
                drop(shard);
                if Instant::now() >= deadline {
                    return deleted;
                }
                if finished_shard || rounds < ROUNDS_PER_LOCK {
                    break;
                }
            }
        }
        deleted
    }
}

impl ShardDb {
    /// A random table holding keys (keys with a TTL when `volatile_only`): a few random probes, then a walk
    /// from a random start, so that a sparse cluster-mode database (1024 tables per shard) still finds its keys.
    fn random_table(&self, volatile_only: bool) -> Option<usize> {
        if self.keys == 0 || (volatile_only && self.volatile == 0) {
            return None;
        }
        let has = |t: &KeyTable| if volatile_only { t.volatile_len() > 0 } else { !t.is_empty() };
        let n = self.tables.len();
        if n == 1 {
            return has(&self.tables[0]).then_some(0);
        }
        for _ in 0..8 {
            let i = fastrand::usize(..n);
            if has(&self.tables[i]) {
                return Some(i);
            }
        }
        let start = fastrand::usize(..n);
        (0..n).map(|k| (start + k) % n).find(|&i| has(&self.tables[i]))
    }

    /// Removes `key` from table `table` as an eviction; returns the entry so it is freed outside the lock.
    fn evict(&mut self, stats: &mut ShardStats, table: usize, key: &[u8]) -> Option<Box<Entry>> {
        let entry = self.tables.get_mut(table)?.remove(key)?;
        self.keys -= 1;
        if entry.expire_at_ms != 0 {
            self.volatile -= 1;
        }
        stats.evicted_keys += 1;
        Some(entry)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Eviction primitives (the policy and the candidate pool live in `crate::memory`). Each call locks one shard,
// briefly, so eviction never holds more than one shard and clients on other shards keep running.
// ---------------------------------------------------------------------------------------------------------

impl Keyspace {
    /// Sets how lookups update access clocks (called when the maxmemory policy or LFU parameters change).
    pub fn set_access_policy(&self, policy: AccessPolicy) {
        self.access.store(policy.pack(), Ordering::Relaxed);
    }

    pub fn access_policy(&self) -> AccessPolicy {
        AccessPolicy::unpack(self.access.load(Ordering::Relaxed))
    }

    /// `DEBUG SET-ACTIVE-EXPIRE`: switches the cron's expiry sampling on or off.
    pub fn set_active_expire(&self, enabled: bool) {
        self.active_expire.store(enabled, Ordering::Relaxed);
    }

    pub fn active_expire_enabled(&self) -> bool {
        self.active_expire.load(Ordering::Relaxed)
    }

    /// Offers up to `count` random keys of every database of shard `shard_idx` (only keys with a TTL when
    /// `volatile_only`) to `f(db, entry)`, under the shard's lock. Returns how many were offered; 0 means the
    /// shard has no candidate at all.
    pub fn sample_for_eviction(
        &self,
        shard_idx: usize,
        volatile_only: bool,
        count: usize,
        mut f: impl FnMut(usize, &Entry),
    ) -> usize {
        let Some(shard) = self.shards.get(shard_idx) else { return 0 };
        let shard = shard.lock();
        let mut offered = 0;
        for (db, sdb) in shard.dbs.iter().enumerate() {
            for _ in 0..count {
                let Some(t) = sdb.random_table(volatile_only) else { break };
                let table = &sdb.tables[t];
                let entry = if volatile_only {
                    table.random_volatile().and_then(|k| table.peek(k))
                } else {
                    table.dict.random_entry()
                };
                if let Some(e) = entry {
                    f(db, e);
                    offered += 1;
                }
            }
        }
        offered
    }

    /// Evicts `key` from database `db` if it is still there (and still has a TTL when `volatile_only`).
    pub fn evict_key(&self, db: usize, key: &[u8], volatile_only: bool) -> bool {
        let slot = key_hash_slot(key);
        let table = self.table_index(slot);
        let removed = {
            let mut shard = self.shards[Self::shard_of_slot(slot)].lock();
            let Shard { dbs, stats, .. } = &mut *shard;
            let Some(sdb) = dbs.get_mut(db) else { return false };
            match sdb.tables[table].peek(key) {
                Some(e) if !volatile_only || e.expire_at_ms != 0 => {}
                _ => return false,
            }
            let removed = sdb.evict(stats, table, key);
            if removed.is_some() {
                if self.watches.active() {
                    self.watches.touch(db, key, || false);
                }
                self.events.record(crate::config::notify::EVICTED, "evicted", db, key);
            }
            removed
        };
        removed.is_some()
    }

    /// Evicts one random key (with a TTL when `volatile_only`) of shard `shard_idx`, trying its databases from
    /// `start_db` on (Redis rotates the database for the random policies). False if the shard has none.
    pub fn evict_random(&self, shard_idx: usize, start_db: usize, volatile_only: bool) -> bool {
        let Some(shard) = self.shards.get(shard_idx) else { return false };
        let removed = {
            let mut shard = shard.lock();
            let Shard { dbs, stats, .. } = &mut *shard;
            let n = dbs.len();
            let mut removed = None;
            for i in 0..n {
                let sdb = &mut dbs[(start_db + i) % n];
                let Some(t) = sdb.random_table(volatile_only) else { continue };
                let table = &sdb.tables[t];
                let key = if volatile_only {
                    table.random_volatile().cloned()
                } else {
                    table.dict.random_entry().map(|e| e.key.clone())
                };
                if let Some(key) = key {
                    removed = sdb.evict(stats, t, &key);
                    if removed.is_some() {
                        if self.watches.active() {
                            self.watches.touch((start_db + i) % n, &key, || false);
                        }
                        self.events.record(crate::config::notify::EVICTED, "evicted", (start_db + i) % n, &key);
                        break;
                    }
                }
            }
            removed
        };
        removed.is_some()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Access clocks: the 24 bits Redis keeps in `robj->lru`, holding LRU or LFU data depending on the policy.
// ---------------------------------------------------------------------------------------------------------

/// Largest value of the LRU clock: Redis's `LRU_CLOCK_MAX` (24 bits of seconds, wrapping every ~194 days).
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// Redis's `LRU_CLOCK_RESOLUTION`: the clock counts seconds.
pub const LRU_CLOCK_RESOLUTION_MS: u64 = 1000;
/// LFU counter of a new key (`LFU_INIT_VAL`), so that new keys are not evicted before they get a chance.
pub const LFU_INIT_VAL: u32 = 5;

/// How lookups update access clocks: LRU (a timestamp) unless an LFU policy is selected, in which case the
/// field holds 16 bits of minutes (last decrement time) and an 8-bit logarithmic counter, as in Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessPolicy {
    pub lfu: bool,
    /// `lfu-log-factor` (0..=i32::MAX).
    pub log_factor: u32,
    /// `lfu-decay-time` in minutes (0..=i32::MAX; 0 = never decay).
    pub decay_time: u32,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        AccessPolicy { lfu: false, log_factor: 10, decay_time: 1 }
    }
}

const LFU_FLAG: u64 = 1 << 63;

impl AccessPolicy {
    /// One word, so that a view reads it with a single atomic load: bit 63 LFU, bits 32..63 the decay
    /// time, bits 0..32 the log factor (both are at most `i32::MAX`).
    pub fn pack(self) -> u64 {
        let lfu = if self.lfu { LFU_FLAG } else { 0 };
        lfu | (u64::from(self.decay_time & 0x7fff_ffff) << 32) | u64::from(self.log_factor)
    }

    pub fn unpack(word: u64) -> AccessPolicy {
        AccessPolicy {
            lfu: word & LFU_FLAG != 0,
            log_factor: word as u32,
            decay_time: ((word >> 32) as u32) & 0x7fff_ffff,
        }
    }

    /// The clock of a newly created key (Redis's `createObject`).
    pub fn initial_clock(self, now_ms: u64) -> u32 {
        if self.lfu {
            (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL
        } else {
            lru_clock(now_ms)
        }
    }

    /// The clock after an access (Redis's `lookupKey`: `updateLFU` or `LRU_CLOCK()`).
    #[inline]
    pub fn touched_clock(self, clock: u32, now_ms: u64) -> u32 {
        if self.lfu {
            let counter = lfu_log_incr(lfu_decayed_counter(clock, now_ms, self.decay_time), self.log_factor);
            (lfu_minutes(now_ms) << 8) | counter
        } else {
            lru_clock(now_ms)
        }
    }
}

/// The LRU clock at `now_ms` (seconds, 24 bits).
#[inline]
pub fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / LRU_CLOCK_RESOLUTION_MS) as u32) & LRU_CLOCK_MAX
}

/// Milliseconds since the access recorded in an LRU clock (Redis's `estimateObjectIdleTime`, wrap included).
pub fn lru_idle_ms(clock: u32, now_ms: u64) -> u64 {
    let now = lru_clock(now_ms);
    let clock = clock & LRU_CLOCK_MAX;
    let ticks = if now >= clock { now - clock } else { now + (LRU_CLOCK_MAX - clock) };
    u64::from(ticks) * LRU_CLOCK_RESOLUTION_MS
}

/// Minutes, 16 bits (Redis's `LFUGetTimeInMinutes`).
pub fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

/// The LFU counter of a clock after decaying it by one per `decay_time` minutes elapsed (Redis's
/// `LFUDecrAndReturn`; OBJECT FREQ's answer). The clock itself is not changed.
pub fn lfu_decayed_counter(clock: u32, now_ms: u64, decay_time: u32) -> u32 {
    let last = (clock >> 8) & 0xffff;
    let counter = clock & 0xff;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= last { now - last } else { 65535 - last + now };
    let periods = elapsed.checked_div(decay_time).unwrap_or(0);
    counter.saturating_sub(periods)
}

/// Logarithmic increment (Redis's `LFULogIncr`): the more hits a key has, the less likely the next one is
/// counted; 255 saturates.
pub fn lfu_log_incr(counter: u32, log_factor: u32) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
    if fastrand::f64() < p {
        counter + 1
    } else {
        counter
    }
}

#[cfg(test)]
mod access_and_eviction_tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000;

    #[test]
    fn lru_idle_time_wraps_like_redis() {
        let clock = lru_clock(NOW);
        assert_eq!(lru_idle_ms(clock, NOW), 0);
        assert_eq!(lru_idle_ms(clock, NOW + 5_999), 5_000);
        // The clock wraps every 2^24 seconds; an access just before the wrap is still a few seconds old.
        let wrap_ms = u64::from(LRU_CLOCK_MAX + 1) * 1000;
        let before_wrap = (NOW / wrap_ms + 1) * wrap_ms - 2_000;
        assert_eq!(lru_idle_ms(lru_clock(before_wrap), before_wrap + 3_000), 2_000);
    }

    #[test]
    fn lfu_counters_decay_and_grow_logarithmically() {
        let p = AccessPolicy { lfu: true, log_factor: 10, decay_time: 1 };
        let fresh = p.initial_clock(NOW);
        assert_eq!(lfu_decayed_counter(fresh, NOW, 1), LFU_INIT_VAL);
        // The first hit always counts (the counter is at LFU_INIT_VAL), later ones less and less.
        let once = p.touched_clock(fresh, NOW);
        assert_eq!(once & 0xff, LFU_INIT_VAL + 1);
        let mut clock = once;
        for _ in 0..10_000 {
            clock = p.touched_clock(clock, NOW);
        }
        let after = clock & 0xff;
        assert!((20..=255).contains(&after), "{after}");
        // One point lost per decay period (minutes); decay 0 never decays.
        assert_eq!(lfu_decayed_counter(once, NOW + 3 * 60_000, 1), LFU_INIT_VAL - 2);
        assert_eq!(lfu_decayed_counter(once, NOW + 3 * 60_000, 0), LFU_INIT_VAL + 1);
        assert_eq!(lfu_decayed_counter(once, NOW + 600 * 60_000, 1), 0);
        assert_eq!(lfu_log_incr(255, 0), 255);
        assert_eq!(lfu_log_incr(100, 0), 101, "log factor 0 counts every hit");
        assert_eq!(AccessPolicy::unpack(p.pack()), p);
        let max = AccessPolicy { lfu: false, log_factor: i32::MAX as u32, decay_time: i32::MAX as u32 };
        assert_eq!(AccessPolicy::unpack(max.pack()), max);
    }

    #[test]
    fn lookups_record_accesses_unless_told_not_to() {
        let ks = Keyspace::new(16, false);
        ks.set_access_policy(AccessPolicy { lfu: true, log_factor: 0, decay_time: 1 });
        let mut view = ks.lock_all(0, NOW);
        view.set(b"k", Value::Int(1), false);
        let freq = |v: &mut DbView<'_>| v.entry_read_untouched(b"k").map(|e| e.access_clock & 0xff);
        assert_eq!(freq(&mut view), Some(LFU_INIT_VAL));
        view.get_read(b"k");
        view.entry(b"k");
        assert_eq!(freq(&mut view), Some(LFU_INIT_VAL + 2));
        view.set_no_touch(true);
        view.get_read(b"k");
        assert_eq!(freq(&mut view), Some(LFU_INIT_VAL + 2));
        assert_eq!(view.peek_raw(b"k", |e| e.map(|e| e.access_clock & 0xff)), Some(LFU_INIT_VAL + 2));
    }

    #[test]
    fn eviction_primitives_respect_volatility_in_both_layouts() {
        for cluster in [false, true] {
            let ks = Keyspace::new(16, cluster);
            let mut view = ks.lock_all(0, NOW);
            for i in 0..200 {
                let key = format!("k{i}").into_bytes();
                view.set(&key, Value::Int(i), false);
                if i % 2 == 0 {
                    view.set_expire(&key, NOW + 1000);
                }
            }
            drop(view);
            // Volatile sampling only offers keys with a TTL; every shard has some.
            for shard in 0..SHARD_COUNT {
                let offered = ks.sample_for_eviction(shard, true, 5, |db, e| {
                    assert_eq!(db, 0);
                    assert_ne!(e.expire_at_ms, 0);
                });
                assert!(offered > 0, "shard {shard}");
            }
            assert!(!ks.evict_key(0, b"k1", true), "a persistent key is not a volatile candidate");
            assert!(ks.evict_key(0, b"k2", true));
            assert!(!ks.evict_key(0, b"k2", false), "already gone");
            assert!(ks.evict_key(0, b"k1", false));
            let mut evicted = 2;
            while (0..SHARD_COUNT).any(|s| ks.evict_random(s, 0, true)) {
                evicted += 1;
            }
            assert_eq!(evicted, 2 + 99, "every other volatile key went");
            assert_eq!(ks.db_counts(0), (99, 0), "the other persistent keys remain");
            assert_eq!(ks.stats().evicted_keys, 101);
        }
    }
}

#[cfg(test)]
mod tests;
