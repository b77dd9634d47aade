//! The watched-keys registry: which clients WATCH which `(db, key)`, and which of them must see their next
//! EXEC fail (Redis's `CLIENT_DIRTY_CAS`).
//!
//! Redis keeps this per database (`db->watched_keys`) and flags clients from `signalModifiedKey`. Here the
//! keyspace owns one registry behind one mutex, and the places that change keys report to it: the dispatcher
//! after a write command changed something (its keys, found with the key specs), lazy and active expiry,
//! eviction, FLUSHDB/FLUSHALL and SWAPDB.
//!
//! # Cost
//! When nobody watches anything — the normal case — every report is one relaxed atomic load
//! ([`WatchRegistry::active`]). That load is ordered by the shard locks: WATCH registers under the lock of the
//! key's shard and every key change is reported before the changing command releases its shards, so a change
//! made after WATCH returned always sees the registration.
//!
//! # Lock order
//! The registry's mutex is taken while shards are held, never the other way round: nothing here locks a
//! shard (probes of key existence are callbacks into the caller's already locked view).
//!
//! # Keys already expired at WATCH
//! Redis 7.0 remembers, per watched key, whether the key was already logically expired when WATCH ran. Such a
//! key's deletion (lazy or active expiry, DEL, a flush) is no logical change and only clears the mark; a write
//! after that is a change. EXEC also fails when a key that was alive at WATCH has expired since, even if it was
//! not deleted yet (`isWatchedKeyExpired`). Both quirks of `touchWatchedKey` are kept, including that a
//! watcher still marked expired while the key exists ends the walk over the key's watchers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Every watch of the server.
#[derive(Default)]
pub struct WatchRegistry {
    /// Number of watched `(db, key)` entries: the hot path's only check.
    watched: AtomicUsize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Per database: key -> its watchers, in the order they started watching.
    dbs: Vec<HashMap<Vec<u8>, Vec<Watcher>>>,
    /// Per client: its watched keys and whether its next EXEC must fail.
    clients: HashMap<u64, ClientWatches>,
}

struct Watcher {
    client: u64,
    /// The key was logically expired when WATCH ran.
    expired: bool,
}

#[derive(Default)]
struct ClientWatches {
    keys: Vec<(usize, Vec<u8>)>,
    dirty: bool,
}

/// A watched key as EXEC checks it.
pub struct WatchedKey {
    pub db: usize,
    pub key: Vec<u8>,
    /// Already expired at WATCH time (then its expiry is no change).
    pub expired_at_watch: bool,
}

impl WatchRegistry {
    /// True when some key is watched; otherwise no report needs to do anything.
    #[inline(always)]
    pub fn active(&self) -> bool {
        self.watched.load(Ordering::Relaxed) != 0
    }

    fn publish_count(&self, inner: &Inner) {
        let n = inner.dbs.iter().map(HashMap::len).sum();
        self.watched.store(n, Ordering::Relaxed);
    }

    /// WATCH of one key by `client` (a no-op if it already watches it). `expired`: the key exists but its TTL
    /// has passed. Call with the key's shard locked.
    pub fn watch(&self, client: u64, db: usize, key: &[u8], expired: bool) {
        let mut inner = self.inner.lock();
        let Inner { dbs, clients } = &mut *inner;
        let cw = clients.entry(client).or_default();
        if cw.keys.iter().any(|(d, k)| *d == db && k == key) {
            return;
        }
        cw.keys.push((db, key.to_vec()));
        if dbs.len() <= db {
            dbs.resize_with(db + 1, HashMap::default);
        }
        dbs[db].entry(key.to_vec()).or_default().push(Watcher { client, expired });
        self.publish_count(&inner);
    }

    /// Whether a key `client` watched was changed since (its next EXEC fails).
    pub fn is_dirty(&self, client: u64) -> bool {
        self.inner.lock().clients.get(&client).is_some_and(|c| c.dirty)
    }

    /// The keys `client` still watches.
    pub fn watched_keys(&self, client: u64) -> Vec<WatchedKey> {
        let inner = self.inner.lock();
        let Some(cw) = inner.clients.get(&client) else { return Vec::new() };
        cw.keys
            .iter()
            .map(|(db, key)| {
                let expired_at_watch = inner
                    .dbs
                    .get(*db)
                    .and_then(|m| m.get(key))
                    .and_then(|ws| ws.iter().find(|w| w.client == client))
                    .is_some_and(|w| w.expired);
                WatchedKey { db: *db, key: key.clone(), expired_at_watch }
            })
            .collect()
    }

    /// UNWATCH, EXEC, DISCARD, RESET and disconnection: forget `client`'s watches and its dirty mark.
    pub fn unwatch_all(&self, client: u64) {
        let mut inner = self.inner.lock();
        if let Some(cw) = inner.clients.remove(&client) {
            remove_keys(&mut inner, client, cw.keys);
            self.publish_count(&inner);
        }
    }

    /// Redis's `touchWatchedKey`: `key` of `db` was changed (or deleted: then `exists` says false). Watchers
    /// become dirty and stop watching, except those whose key was already expired at WATCH.
    pub fn touch(&self, db: usize, key: &[u8], exists: impl FnOnce() -> bool) {
        if !self.active() {
            return;
        }
        let mut inner = self.inner.lock();
        let Some(watchers) = inner.dbs.get_mut(db).and_then(|m| m.get_mut(key)) else { return };
        let mut exists = Some(exists);
        let mut exists_now = None;
        let mut dirty = Vec::new();
        for w in watchers.iter_mut() {
            if w.expired {
                let present = *exists_now.get_or_insert_with(|| exists.take().is_some_and(|f| f()));
                if !present {
                    // The expired key is gone: logically nothing changed.
                    w.expired = false;
                    continue;
                }
                break;
            }
            dirty.push(w.client);
        }
        for client in dirty {
            if let Some(cw) = inner.clients.get_mut(&client) {
                cw.dirty = true;
                let keys = std::mem::take(&mut cw.keys);
                remove_keys(&mut inner, client, keys);
            }
        }
        self.publish_count(&inner);
    }

    /// Redis's `touchAllWatchedKeysInDb`: database `emptied` is flushed, or swapped with `replaced_with`.
    /// `probe(db, key)` tells whether the key is stored there (None) and if so whether it is expired. Call
    /// before the change, with every shard locked.
    pub fn touch_db(&self, emptied: usize, replaced_with: Option<usize>, probe: impl Fn(usize, &[u8]) -> Option<bool>) {
        if !self.active() {
            return;
        }
        let mut inner = self.inner.lock();
        let Inner { dbs, clients } = &mut *inner;
        let Some(map) = dbs.get_mut(emptied) else { return };
        for (key, watchers) in map.iter_mut() {
            let in_emptied = probe(emptied, key).is_some();
            let replaced = replaced_with.and_then(|r| probe(r, key));
            if !in_emptied && replaced.is_none() {
                continue;
            }
            for w in watchers.iter_mut() {
                if w.expired {
                    match replaced {
                        None => {
                            w.expired = false;
                            continue;
                        }
                        Some(true) => continue,
                        Some(false) => {}
                    }
                } else if !in_emptied && replaced == Some(true) {
                    w.expired = true;
                    continue;
                }
                if let Some(cw) = clients.get_mut(&w.client) {
                    cw.dirty = true;
                }
            }
        }
    }
}

/// Removes `client` from the watcher lists of `keys`.
fn remove_keys(inner: &mut Inner, client: u64, keys: Vec<(usize, Vec<u8>)>) {
    for (db, key) in keys {
        let Some(map) = inner.dbs.get_mut(db) else { continue };
        if let Some(watchers) = map.get_mut(&key) {
            watchers.retain(|w| w.client != client);
            if watchers.is_empty() {
                map.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_dirties_watchers_and_unwatch_forgets() {
        let r = WatchRegistry::default();
        assert!(!r.active());
        r.watch(1, 0, b"k", false);
        r.watch(1, 0, b"k", false);
        r.watch(2, 0, b"k", false);
        r.watch(2, 1, b"other", false);
        assert!(r.active());
        r.touch(1, b"k", || true);
        assert!(!r.is_dirty(1) && !r.is_dirty(2), "another db's key");
        r.touch(0, b"k", || true);
        assert!(r.is_dirty(1) && r.is_dirty(2));
        assert!(!r.active(), "dirty clients stop watching");
        r.unwatch_all(1);
        r.unwatch_all(2);
        assert!(!r.is_dirty(1) && !r.is_dirty(2));
    }

    #[test]
    fn keys_expired_at_watch_follow_redis() {
        let r = WatchRegistry::default();
        r.watch(1, 0, b"k", true);
        // Deleting the expired key is no change, but clears the mark; the next write is one.
        r.touch(0, b"k", || false);
        assert!(!r.is_dirty(1));
        r.touch(0, b"k", || true);
        assert!(r.is_dirty(1));
        // A flush of a db where the watched key is absent changes nothing.
        r.watch(3, 0, b"absent", false);
        r.touch_db(0, None, |_, _| None);
        assert!(!r.is_dirty(3));
        r.touch_db(0, None, |_, _| Some(false));
        assert!(r.is_dirty(3));
        assert_eq!(r.watched_keys(3).len(), 1, "a flush marks without unwatching, as Redis");
    }
}
