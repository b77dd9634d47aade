//! `KeyTable`: one dictionary of keys (one hash slot's keys in cluster mode) with its list of volatile keys.
//!
//! The volatile list lets active expiry sample keys that *have* a TTL in O(1) each (Redis keeps a second dict,
//! `db->expires`, for the same purpose); each entry remembers its index in the list so removal is O(1).

use super::dict::{Dict, Entry};
use super::small_bytes::SmallBytes;
use super::value::Value;

#[derive(Default)]
pub struct KeyTable {
    pub(crate) dict: Dict,
    volatile: Vec<SmallBytes>,
}

/// True when an entry with this expiry is logically gone at `now_ms` (Redis: `now > when`).
#[inline]
pub fn is_expired(expire_at_ms: u64, now_ms: u64) -> bool {
    expire_at_ms != 0 && now_ms > expire_at_ms
}

impl KeyTable {
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    pub fn dict(&self) -> &Dict {
        &self.dict
    }

    /// The raw entry, expired or not.
    pub fn peek_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.dict.get_mut(key)
    }

    pub fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.dict.get(key)
    }

    /// Inserts a key known to be absent, with no expiry.
    pub fn insert_new(&mut self, key: &[u8], value: Value) -> &mut Entry {
        self.dict.insert_new(Entry::new(SmallBytes::new(key), value))
    }

    /// Inserts an already built entry (RENAME, MOVE, SWAPDB keep key objects), re-registering its expiry.
    pub fn insert_entry(&mut self, mut entry: Box<Entry>) -> &mut Entry {
        let expire = std::mem::replace(&mut entry.expire_at_ms, 0);
        let key = entry.key.clone();
        self.dict.insert_new(entry);
        if expire != 0 {
            self.set_expire(&key, expire);
        }
        match self.dict.get_mut(&key) {
            Some(e) => e,
            None => unreachable!("entry inserted above"),
        }
    }

    /// Removes a key, unregistering its expiry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Box<Entry>> {
        let entry = self.dict.remove(key)?;
        if entry.expire_at_ms != 0 {
            self.unlink_volatile(entry.volatile_idx as usize);
        }
        Some(entry)
    }

    /// Sets (`at_ms > 0`) or clears (`at_ms == 0`) the expiry of an existing key. Returns false if absent.
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) -> bool {
        let Some(entry) = self.dict.get_mut(key) else { return false };
        let was = entry.expire_at_ms;
        entry.expire_at_ms = at_ms;
        match (was != 0, at_ms != 0) {
            (false, true) => {
                entry.volatile_idx = self.volatile.len() as u32;
                self.volatile.push(entry.key.clone());
            }
            (true, false) => {
                let idx = entry.volatile_idx as usize;
                self.unlink_volatile(idx);
            }
            _ => {}
        }
        true
    }

    fn unlink_volatile(&mut self, idx: usize) {
        if idx >= self.volatile.len() {
            return;
        }
        self.volatile.swap_remove(idx);
        if let Some(moved) = self.volatile.get(idx) {
            let moved = moved.clone();
            if let Some(e) = self.dict.get_mut(&moved) {
                e.volatile_idx = idx as u32;
            }
        }
    }

    /// A random key among those with a TTL.
    pub fn random_volatile(&self) -> Option<&SmallBytes> {
        if self.volatile.is_empty() {
            None
        } else {
            self.volatile.get(fastrand::usize(..self.volatile.len()))
        }
    }

    pub fn clear(&mut self) {
        self.dict.clear();
        self.volatile = Vec::new();
    }
}
