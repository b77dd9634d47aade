//! `DbView`: what a command sees of the keyspace — the shards it locked, one selected database, and the
//! command's clock. Every lookup applies lazy expiry, so a command never observes a key past its TTL.
//!
//! Lookups also record the access in the entry's clock (LRU timestamp or LFU counter, see
//! [`AccessPolicy`]), as Redis's `lookupKey` does, unless the command or the client asked for no touching
//! ([`DbView::set_no_touch`]). The policy is read once when the view is created, so the per-lookup cost is a
//! branch and a store.

use parking_lot::MutexGuard;

use std::sync::atomic::Ordering;

use super::dict::Entry;
use super::table::is_expired;
use super::value::Value;
use super::{AccessPolicy, Keyspace, Shard, ShardDb, SHARD_COUNT};
use crate::config::notify;
use crate::slot::key_hash_slot;

pub struct DbView<'k> {
    keyspace: &'k Keyspace,
    pub(super) guards: [Option<MutexGuard<'k, Shard>>; SHARD_COUNT],
    db: usize,
    now_ms: u64,
    /// The packed [`AccessPolicy`] at creation.
    access: u64,
    /// Lookups leave access clocks alone (OBJECT, TYPE, TTL..., CLIENT NO-TOUCH).
    no_touch: bool,
}

/// Records accesses in entry clocks; a copy of the view's settings, so it can be used while the view's
/// tables are borrowed.
#[derive(Clone, Copy)]
struct Toucher {
    access: u64,
    now_ms: u64,
    off: bool,
}

impl Toucher {
    #[inline]
    fn touch(self, e: &mut Entry) {
        if !self.off {
            e.access_clock = AccessPolicy::unpack(self.access).touched_clock(e.access_clock, self.now_ms);
        }
    }

    #[inline]
    fn init(self, e: &mut Entry) {
        e.access_clock = AccessPolicy::unpack(self.access).initial_clock(self.now_ms);
    }
}

/// Memory overhead of one database's hash tables (MEMORY STATS, INFO memory).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbOverhead {
    pub db: usize,
    pub keys: usize,
    pub volatile: usize,
    /// Bucket slots allocated (one pointer each).
    pub buckets: usize,
}

/// Filters applied while scanning (SCAN MATCH / TYPE, KEYS pattern).
pub struct ScanFilter<'a> {
    pub pattern: Option<&'a [u8]>,
    pub type_name: Option<&'a [u8]>,
}

impl<'k> DbView<'k> {
    pub(super) fn new(
        keyspace: &'k Keyspace,
        guards: [Option<MutexGuard<'k, Shard>>; SHARD_COUNT],
        db: usize,
        now_ms: u64,
    ) -> Self {
        let access = keyspace.access.load(Ordering::Relaxed);
        DbView { keyspace, guards, db, now_ms, access, no_touch: false }
    }

    /// Stops (or resumes) recording accesses in entry clocks for the following lookups: the dispatcher sets it
    /// per command (Redis's `LOOKUP_NOTOUCH` commands and CLIENT NO-TOUCH clients).
    pub fn set_no_touch(&mut self, no_touch: bool) {
        self.no_touch = no_touch;
    }

    /// The access policy this view records with.
    pub fn access_policy(&self) -> AccessPolicy {
        AccessPolicy::unpack(self.access)
    }

    #[inline]
    fn toucher(&self) -> Toucher {
        Toucher { access: self.access, now_ms: self.now_ms, off: self.no_touch }
    }

    /// Runs `f` on shard `idx`: through this view's guard when it holds it, else under a lock taken just for
    /// `f` (commands without keys — MEMORY STATS, DEBUG OBJECT — hold no guard, so this cannot deadlock).
    fn with_shard<R>(&mut self, idx: usize, f: impl FnOnce(&mut Shard) -> R) -> R {
        match self.guards[idx].as_deref_mut() {
            Some(shard) => f(shard),
            None => f(&mut self.keyspace.shards[idx].lock()),
        }
    }

    pub fn keyspace(&self) -> &'k Keyspace {
        self.keyspace
    }

    pub fn db_index(&self) -> usize {
        self.db
    }

    /// Switches the selected database (SELECT inside a transaction). The caller validated `db`.
    pub fn select(&mut self, db: usize) {
        self.db = db;
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub fn set_now_ms(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    pub fn holds_all_shards(&self) -> bool {
        self.guards.iter().all(Option::is_some)
    }

    /// The locked shard for `key` and the index of its table. A key whose shard the dispatcher did not lock is
    /// a bug in a command's key specification: debug builds stop there; release builds lock the shard late
    /// (safe, only the lock order guarantee is lost for that one command).
    #[inline]
    fn locate(&mut self, key: &[u8]) -> (&mut Shard, usize) {
        let slot = key_hash_slot(key);
        let shard_idx = Keyspace::shard_of_slot(slot);
        let table = self.keyspace.table_index(slot);
        let keyspace = self.keyspace;
        let guard = &mut self.guards[shard_idx];
        debug_assert!(guard.is_some(), "shard of key {:?} not locked", String::from_utf8_lossy(key));
        let guard = guard.get_or_insert_with(|| keyspace.shards[shard_idx].lock());
        (&mut **guard, table)
    }

    /// Removes `key` if its TTL has passed; returns the shard db and table index for further use.
    #[inline]
    fn live(&mut self, key: &[u8]) -> (&mut ShardDb, &mut super::ShardStats, usize) {
        let db = self.db;
        let now = self.now_ms;
        let keyspace = self.keyspace;
        let watches = &keyspace.watches;
        let (shard, table) = self.locate(key);
        let Shard { dbs, stats, .. } = shard;
        let sdb = &mut dbs[db];
        let expired = sdb.tables[table].peek(key).is_some_and(|e| is_expired(e.expire_at_ms, now));
        if expired {
            sdb.tables[table].remove(key);
            sdb.keys -= 1;
            sdb.volatile -= 1;
            stats.expired_keys += 1;
            if watches.active() {
                watches.touch(db, key, || false);
            }
            keyspace.events.record(crate::config::notify::EXPIRED, "expired", db, key);
        }
        (sdb, stats, table)
    }

    /// The live entry for `key` (for writes: no hit/miss accounting).
    pub fn entry(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let toucher = self.toucher();
        let (sdb, _, table) = self.live(key);
        let e = sdb.tables[table].peek_mut(key)?;
        toucher.touch(e);
        Some(e)
    }

    /// The live entry for `key`, counted as a keyspace hit or miss, without touching its access clock
    /// (Redis's `lookupKeyReadWithFlags(.., LOOKUP_NOTOUCH)`, as OBJECT uses).
    pub fn entry_read_untouched(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let (sdb, stats, table) = self.live(key);
        let found = sdb.tables[table].peek_mut(key);
        if found.is_some() {
            stats.keyspace_hits += 1;
        } else {
            stats.keyspace_misses += 1;
        }
        found
    }

    /// The stored entry for `key`, even if its TTL has passed, without touching or counting anything
    /// (Redis's raw `dictFind`, as MEMORY USAGE and DEBUG OBJECT use). Works whether or not the view locked
    /// the key's shard.
    pub fn peek_raw<R>(&mut self, key: &[u8], f: impl FnOnce(Option<&Entry>) -> R) -> R {
        let slot = key_hash_slot(key);
        let table = self.keyspace.table_index(slot);
        let db = self.db;
        self.with_shard(Keyspace::shard_of_slot(slot), |shard| {
            f(shard.dbs.get(db).and_then(|d| d.tables.get(table)).and_then(|t| t.peek(key)))
        })
    }

    /// Hash-table overhead of every non-empty database, over all shards (MEMORY STATS).
    pub fn overheads(&mut self) -> Vec<DbOverhead> {
        let mut out: Vec<DbOverhead> =
            (0..self.keyspace.databases).map(|db| DbOverhead { db, ..DbOverhead::default() }).collect();
        for idx in 0..SHARD_COUNT {
            self.with_shard(idx, |shard| {
                for (o, d) in out.iter_mut().zip(&shard.dbs) {
                    o.keys += d.keys;
                    o.volatile += d.volatile;
                    o.buckets += d.tables.iter().map(|t| t.dict.bucket_count()).sum::<usize>();
                }
            });
        }
        out.retain(|o| o.keys > 0);
        out
    }

    /// The live value for `key`, for writing.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.entry(key).map(|e| &mut e.value)
    }

    /// The live value for `key`, counted as a keyspace hit or miss (Redis's `lookupKeyRead`).
    pub fn get_read(&mut self, key: &[u8]) -> Option<&mut Value> {
        let toucher = self.toucher();
        let (keyspace, db) = (self.keyspace, self.db);
        let (sdb, stats, table) = self.live(key);
        match sdb.tables[table].peek_mut(key) {
            Some(e) => {
                stats.keyspace_hits += 1;
                toucher.touch(e);
                Some(&mut e.value)
            }
            None => {
                stats.keyspace_misses += 1;
                keyspace.events.record(notify::KEY_MISS, "keymiss", db, key);
                None
            }
        }
    }

    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.entry(key).is_some()
    }

    /// Stores `value` under `key`. Without `keep_ttl` any previous expiry is removed (as Redis's `setKey`).
    /// Returns true if the key was new.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool) -> bool {
        let toucher = self.toucher();
        let (sdb, _, table) = self.live(key);
        let t = &mut sdb.tables[table];
        if let Some(e) = t.peek_mut(key) {
            e.value = value;
            toucher.touch(e);
            if !keep_ttl && e.expire_at_ms != 0 {
                t.set_expire(key, 0);
                sdb.volatile -= 1;
            }
            false
        } else {
            toucher.init(t.insert_new(key, value));
            sdb.keys += 1;
            self.keyspace.events.record(notify::NEW, "new", self.db, key);
            true
        }
    }

    /// Inserts a key the caller knows is absent (checked with `exists` under the same lock).
    pub fn insert_new(&mut self, key: &[u8], value: Value) -> &mut Entry {
        let toucher = self.toucher();
        self.keyspace.events.record(notify::NEW, "new", self.db, key);
        let (sdb, _, table) = self.live(key);
        sdb.keys += 1;
        let e = sdb.tables[table].insert_new(key, value);
        toucher.init(e);
        e
    }

    /// Deletes `key`; returns its entry if it existed (and was not expired).
    pub fn remove(&mut self, key: &[u8]) -> Option<Box<Entry>> {
        let (sdb, _, table) = self.live(key);
        let entry = sdb.tables[table].remove(key)?;
        sdb.keys -= 1;
        if entry.expire_at_ms != 0 {
            sdb.volatile -= 1;
        }
        // WATCH: a deletion is a change (DEL/UNLINK report only the keys they really deleted this way).
        if self.keyspace.watches.active() {
            self.keyspace.watches.touch(self.db, key, || false);
        }
        Some(entry)
    }

    /// Re-inserts an entry taken with `remove` (possibly under another key or db), keeping its expiry.
    /// Any live key of the same name is replaced.
    pub fn put_entry(&mut self, mut entry: Box<Entry>, key: &[u8]) {
        self.remove(key);
        entry.key = super::SmallBytes::new(key);
        let volatile = entry.expire_at_ms != 0;
        let (sdb, _, table) = self.live(key);
        sdb.tables[table].insert_entry(entry);
        sdb.keys += 1;
        if volatile {
            sdb.volatile += 1;
        }
        self.keyspace.events.record(notify::NEW, "new", self.db, key);
    }

    /// The expiry of `key`: None if absent, Some(0) if it has none, else the unix-ms deadline.
    pub fn expire_of(&mut self, key: &[u8]) -> Option<u64> {
        self.entry(key).map(|e| e.expire_at_ms)
    }

    /// Sets (`at_ms > 0`) or clears (`0`) the expiry of an existing key; false if absent.
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) -> bool {
        let (sdb, _, table) = self.live(key);
        let t = &mut sdb.tables[table];
        let Some(before) = t.peek(key).map(|e| e.expire_at_ms) else { return false };
        t.set_expire(key, at_ms);
        match (before != 0, at_ms != 0) {
            (false, true) => sdb.volatile += 1,
            (true, false) => sdb.volatile -= 1,
            _ => {}
        }
        true
    }

    /// Whether `key` is stored in database `db` (None if not, or if its shard is not locked), and if so
    /// whether its TTL has passed; nothing is deleted or touched (for the WATCH registry).
    pub fn probe(&self, db: usize, key: &[u8]) -> Option<bool> {
        let slot = key_hash_slot(key);
        let table = self.keyspace.table_index(slot);
        let shard = self.guards[Keyspace::shard_of_slot(slot)].as_deref()?;
        let e = shard.dbs.get(db)?.tables.get(table)?.peek(key)?;
        Some(is_expired(e.expire_at_ms, self.now_ms))
    }

    /// Number of keys in the selected database, over the locked shards (DBSIZE locks all of them).
    pub fn len(&self) -> usize {
        self.guards.iter().flatten().map(|s| s.dbs.get(self.db).map_or(0, |d| d.keys)).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Deletes every key of database `db` in the locked shards; returns how many there were.
    pub fn flush_db(&mut self, db: usize) -> usize {
        if self.keyspace.watches.active() {
            self.keyspace.watches.touch_db(db, None, |d, k| self.probe(d, k));
        }
        let mut n = 0;
        for shard in self.guards.iter_mut().flatten() {
            if let Some(d) = shard.dbs.get_mut(db) {
                n += d.keys;
                d.clear();
            }
        }
        n
    }

    /// Swaps two databases' contents in every locked shard (SWAPDB locks all of them).
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        if self.keyspace.watches.active() {
            self.keyspace.watches.touch_db(a, Some(b), |d, k| self.probe(d, k));
            self.keyspace.watches.touch_db(b, Some(a), |d, k| self.probe(d, k));
        }
        for shard in self.guards.iter_mut().flatten() {
            shard.dbs.swap(a, b);
        }
    }

    /// Number of tables a keyspace-wide scan walks: shards x tables per shard.
    fn table_count(&self) -> usize {
        let per_shard = self.guards.iter().flatten().next().and_then(|s| s.dbs.first()).map_or(1, |d| d.tables.len());
        SHARD_COUNT * per_shard
    }

    /// SCAN over the selected database. The cursor's low bits pick a table (shard-major order), the high bits
    /// are that table's own reverse-binary cursor, so the per-table guarantee holds for the whole keyspace.
    /// Expired keys are skipped (and deleted). Returns the next cursor, 0 when done.
    pub fn scan(&mut self, cursor: u64, count: usize, filter: &ScanFilter<'_>, mut emit: impl FnMut(&[u8])) -> u64 {
        let tables = self.table_count() as u64;
        let bits = tables.trailing_zeros();
        let mut table_idx = cursor & (tables - 1);
        let mut inner = cursor >> bits;
        let now = self.now_ms;
        let db = self.db;
        let mut visited = 0usize;
        let mut expired = Vec::new();
        // Redis bounds the work of one call to count*10 empty buckets; we bound by emitted+visited entries.
        let mut budget = count.max(1) * 10;
        loop {
            let shard_idx = (table_idx as usize) % SHARD_COUNT;
            let local = (table_idx as usize) / SHARD_COUNT;
            let Some(shard) = self.guards[shard_idx].as_deref_mut() else { return 0 };
            let Some(t) = shard.dbs.get(db).and_then(|d| d.tables.get(local)) else { return 0 };
            // Empty tables cost nothing: a sparse cluster-mode keyspace (16384 tables) still finishes in one call.
            if !t.is_empty() {
                budget = budget.saturating_sub(1);
            }
            let next = t.dict.scan(inner, |e| {
                visited += 1;
                if is_expired(e.expire_at_ms, now) {
                    expired.push(e.key.clone());
                    return;
                }
                if let Some(p) = filter.pattern {
                    if !crate::glob::glob_match(p, &e.key, false) {
                        return;
                    }
                }
                if let Some(ty) = filter.type_name {
                    if !e.value.type_name().as_bytes().eq_ignore_ascii_case(ty) {
                        return;
                    }
                }
                emit(&e.key);
            });
            if next == 0 {
                table_idx += 1;
                inner = 0;
                if table_idx >= tables {
                    table_idx = 0;
                }
            } else {
                inner = next;
            }
            let done = next == 0 && table_idx == 0;
            if done || visited >= count || budget == 0 {
                for key in expired {
                    self.remove(&key);
                }
                if done {
                    return 0;
                }
                return (inner << bits) | table_idx;
            }
        }
    }

    /// Every live key of the selected database matching `pattern` (KEYS).
    pub fn keys_matching(&mut self, pattern: &[u8], mut emit: impl FnMut(&[u8])) {
        let now = self.now_ms;
        let db = self.db;
        let match_all = pattern == b"*";
        for shard in self.guards.iter().flatten() {
            let Some(d) = shard.dbs.get(db) else { continue };
            for t in &d.tables {
                let mut cursor = 0;
                loop {
                    cursor = t.dict.scan(cursor, |e| {
                        if !is_expired(e.expire_at_ms, now)
                            && (match_all || crate::glob::glob_match(pattern, &e.key, false))
                        {
                            emit(&e.key);
                        }
                    });
                    if cursor == 0 {
                        break;
                    }
                }
            }
        }
    }

    /// A random live key of the selected database (RANDOMKEY), shards weighted by their key counts.
    pub fn random_key(&mut self) -> Option<Vec<u8>> {
        let db = self.db;
        let now = self.now_ms;
        // Bounded retries: a database made only of expired keys answers nil, as Redis does after its tries.
        for _ in 0..100 {
            let total = self.len();
            if total == 0 {
                return None;
            }
            let mut pick = fastrand::usize(..total);
            let mut chosen = None;
            for (i, shard) in self.guards.iter().enumerate() {
                let Some(s) = shard else { continue };
                let keys = s.dbs.get(db).map_or(0, |d| d.keys);
                if pick < keys {
                    chosen = Some(i);
                    break;
                }
                pick -= keys;
            }
            let shard = self.guards[chosen?].as_deref()?;
            let d = shard.dbs.get(db)?;
            let nonempty: Vec<&super::KeyTable> = d.tables.iter().filter(|t| !t.is_empty()).collect();
            if nonempty.is_empty() {
                continue;
            }
            let t = nonempty[fastrand::usize(..nonempty.len())];
            let e = t.dict.random_entry()?;
            if !is_expired(e.expire_at_ms, now) {
                return Some(e.key.to_vec());
            }
            let key = e.key.to_vec();
            self.remove(&key);
        }
        None
    }

    /// Keys stored in one hash slot (cluster mode): COUNTKEYSINSLOT.
    pub fn count_in_slot(&mut self, slot: u16) -> usize {
        let table = self.keyspace.table_index(slot);
        let shard_idx = Keyspace::shard_of_slot(slot);
        self.guards[shard_idx].as_deref().and_then(|s| s.dbs.get(self.db)).map_or(0, |d| d.tables[table].len())
    }

    /// Up to `count` live keys stored in one hash slot (cluster mode): GETKEYSINSLOT.
    pub fn keys_in_slot(&mut self, slot: u16, count: usize) -> Vec<Vec<u8>> {
        let table = self.keyspace.table_index(slot);
        let shard_idx = Keyspace::shard_of_slot(slot);
        let now = self.now_ms;
        let mut keys = Vec::new();
        let Some(t) = self.guards[shard_idx].as_deref().and_then(|s| s.dbs.get(self.db)).map(|d| &d.tables[table])
        else {
            return keys;
        };
        let mut cursor = 0;
        loop {
            cursor = t.dict.scan(cursor, |e| {
                if keys.len() < count && !is_expired(e.expire_at_ms, now) {
                    keys.push(e.key.to_vec());
                }
            });
            if cursor == 0 || keys.len() >= count {
                return keys;
            }
        }
    }

    /// Recomputes counters after bulk changes of a shard's tables.
    pub fn recount(&mut self) {
        for shard in self.guards.iter_mut().flatten() {
            for d in &mut shard.dbs {
                d.recount();
            }
        }
    }
}
