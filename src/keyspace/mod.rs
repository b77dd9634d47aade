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

pub mod dict;
pub mod small_bytes;
pub mod table;
pub mod value;
mod view;

use std::time::Instant;

use parking_lot::{Mutex, MutexGuard};

use crate::slot::{key_hash_slot, SLOT_COUNT};
pub use dict::Entry;
pub use small_bytes::SmallBytes;
pub use table::{is_expired, KeyTable};
pub use value::Value;
pub use view::{DbView, ScanFilter};

/// Number of lockable shards. A power of two that divides 16384.
pub const SHARD_COUNT: usize = 16;

/// Per-shard counters, summed by INFO. Kept inside the shard so updating them needs no atomics.
#[derive(Default, Clone, Copy, Debug)]
pub struct ShardStats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
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
        Keyspace { shards, cluster_mode, databases }
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
        for s in self.shards.iter() {
            let st = s.lock().stats;
            total.keyspace_hits += st.keyspace_hits;
            total.keyspace_misses += st.keyspace_misses;
            total.expired_keys += st.expired_keys;
        }
        total
    }

    pub fn reset_stats(&self) {
        for s in self.shards.iter() {
            s.lock().stats = ShardStats::default();
        }
    }

    /// (keys, keys with an expiry) of database `db`, for DBSIZE and INFO keyspace.
    pub fn db_counts(&self, db: usize) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(k, v), s| {
            let s = s.lock();
            match s.dbs.get(db) {
                Some(d) => (k + d.keys, v + d.volatile),
                None => (k, v),
            }
        })
    }

    /// Active expiry: samples keys with a TTL and deletes the expired ones, shard by shard, until `deadline`.
    /// Each shard is locked for at most one sampling round at a time, so clients wait microseconds, never the
    /// whole cycle; a million keys expiring at once are reclaimed over several cycles. Also advances
    /// incremental rehashing and shrinks sparse tables. Returns the number of keys deleted.
    pub fn active_expire_cycle(&self, now_ms: u64, deadline: Instant) -> u64 {
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

#[cfg(test)]
mod tests;
