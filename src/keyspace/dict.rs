//! `Dict`: the chained hash table behind every keyspace table, written for three Redis properties that a
//! general-purpose map does not give:
//!
//! * **Incremental rehashing.** Growing a million-key table moves one bucket per operation (plus a bounded
//!   amount from the cron), so no client waits for a whole resize.
//! * **SCAN's guarantee.** The reverse-binary cursor of Redis's `dictScan` returns every element present for the
//!   whole scan at least once, even while the table grows, shrinks or rehashes.
//! * **Random sampling** for RANDOMKEY, active expiry and eviction, by picking random buckets.
//!
//! Memory per element is one boxed [`Entry`] plus one bucket pointer (load factor 1, as Redis).

use std::hash::BuildHasher;
use std::sync::OnceLock;

use super::small_bytes::SmallBytes;
use super::value::Value;

/// One key with its value and metadata. Boxed, so it never moves while the table resizes.
#[derive(Debug)]
pub struct Entry {
    pub key: SmallBytes,
    pub value: Value,
    /// Absolute expiry in unix milliseconds; 0 means no expiry.
    pub expire_at_ms: u64,
    /// Position of this key in its table's volatile-key list (meaningful only when `expire_at_ms != 0`).
    pub volatile_idx: u32,
    /// Access data for eviction, OBJECT IDLETIME / FREQ: an LRU clock (seconds, 24 bits, wrapping) or, under
    /// an LFU policy, minutes << 8 | logarithmic counter (see `keyspace::AccessPolicy`).
    pub access_clock: u32,
    next: Option<Box<Entry>>,
}

impl Entry {
    pub fn new(key: SmallBytes, value: Value) -> Box<Entry> {
        Box::new(Entry { key, value, expire_at_ms: 0, volatile_idx: 0, access_clock: 0, next: None })
    }
}

/// The process-wide hash function: seeded randomly at start so clients cannot aim for collisions.
fn hasher() -> &'static foldhash::quality::FixedState {
    static STATE: OnceLock<foldhash::quality::FixedState> = OnceLock::new();
    STATE.get_or_init(|| foldhash::quality::FixedState::with_seed(fastrand::u64(..)))
}

#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    hasher().hash_one(key)
}

#[derive(Default)]
struct Table {
    buckets: Vec<Option<Box<Entry>>>,
    used: usize,
}

impl Table {
    fn with_buckets(n: usize) -> Table {
        let mut buckets = Vec::new();
        buckets.resize_with(n, || None);
        Table { buckets, used: 0 }
    }

    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }
}

const INITIAL_BUCKETS: usize = 4;
/// Empty buckets one rehash step may skip before giving up (Redis: `empty_visits = n*10`).
const EMPTY_VISITS_PER_STEP: usize = 10;

fn find_mut_in<'a>(table: &'a mut Table, hash: u64, key: &[u8]) -> Option<&'a mut Entry> {
    if table.buckets.is_empty() {
        return None;
    }
    let mask = table.mask();
    let mut cur = table.buckets[(hash as usize) & mask].as_deref_mut();
    while let Some(entry) = cur {
        if entry.key.as_slice() == key {
            return Some(entry);
        }
        cur = entry.next.as_deref_mut();
    }
    None
}

#[derive(Default)]
pub struct Dict {
    tables: [Table; 2],
    /// Next bucket of `tables[0]` to move into `tables[1]`, while rehashing.
    rehash_idx: Option<usize>,
}

impl Dict {
    pub fn new() -> Dict {
        Dict::default()
    }

    pub fn len(&self) -> usize {
        self.tables[0].used + self.tables[1].used
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    /// Bucket slots allocated (for memory accounting).
    pub fn bucket_count(&self) -> usize {
        self.tables[0].buckets.len() + self.tables[1].buckets.len()
    }

    /// Moves up to `steps` buckets from the old table to the new one. Returns true while rehashing remains.
    pub fn rehash_steps(&mut self, steps: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else { return false };
        let mut empty_visits = steps * EMPTY_VISITS_PER_STEP;
        let mut remaining = steps;
        while remaining > 0 && self.tables[0].used > 0 {
            while idx < self.tables[0].buckets.len() && self.tables[0].buckets[idx].is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            let Some(bucket) = self.tables[0].buckets.get_mut(idx) else { break };
            let mut chain = bucket.take();
            let new_mask = self.tables[1].mask();
            while let Some(mut entry) = chain {
                chain = entry.next.take();
                let slot = (hash_key(&entry.key) as usize) & new_mask;
                entry.next = self.tables[1].buckets[slot].take();
                self.tables[1].buckets[slot] = Some(entry);
                self.tables[0].used -= 1;
                self.tables[1].used += 1;
            }
            idx += 1;
            remaining -= 1;
        }
        if self.tables[0].used == 0 {
            self.tables[0] = std::mem::take(&mut self.tables[1]);
            self.rehash_idx = None;
            false
        } else {
            self.rehash_idx = Some(idx);
            true
        }
    }

    fn step(&mut self) {
        if self.rehash_idx.is_some() {
            self.rehash_steps(1);
        }
    }

    fn start_resize(&mut self, buckets: usize) {
        if self.is_rehashing() {
            return;
        }
        let buckets = buckets.max(INITIAL_BUCKETS).next_power_of_two();
        if buckets == self.tables[0].buckets.len() {
            return;
        }
        if self.tables[0].used == 0 {
            self.tables[0] = Table::with_buckets(buckets);
            return;
        }
        self.tables[1] = Table::with_buckets(buckets);
        self.rehash_idx = Some(0);
    }

    fn grow_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let size = self.tables[0].buckets.len();
        if size == 0 {
            self.tables[0] = Table::with_buckets(INITIAL_BUCKETS);
        } else if self.tables[0].used >= size {
            self.start_resize(self.tables[0].used + 1);
        }
    }

    /// Shrinks when less than 10% of the buckets are used (Redis's HASHTABLE_MIN_FILL), keeping memory in step
    /// with the data after mass deletions.
    pub fn shrink_if_sparse(&mut self) {
        let size = self.tables[0].buckets.len();
        if !self.is_rehashing() && size > INITIAL_BUCKETS && self.tables[0].used * 10 < size {
            if self.tables[0].used == 0 {
                self.tables[0] = Table::default();
            } else {
                self.start_resize(self.tables[0].used);
            }
        }
    }

    fn find_in(&self, table: usize, hash: u64, key: &[u8]) -> Option<&Entry> {
        let t = &self.tables[table];
        if t.buckets.is_empty() {
            return None;
        }
        let mut cur = t.buckets[(hash as usize) & t.mask()].as_deref();
        while let Some(entry) = cur {
            if entry.key.as_slice() == key {
                return Some(entry);
            }
            cur = entry.next.as_deref();
        }
        None
    }

    fn tables_to_search(&self) -> usize {
        if self.is_rehashing() {
            2
        } else {
            1
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        let hash = hash_key(key);
        (0..self.tables_to_search()).find_map(|t| self.find_in(t, hash, key))
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.step();
        let hash = hash_key(key);
        // While rehashing, decide which table holds the key first: returning a mutable borrow from inside a
        // loop over both tables is beyond the borrow checker, and the second look only happens mid-rehash.
        let table = if self.is_rehashing() && self.find_in(0, hash, key).is_none() { 1 } else { 0 };
        find_mut_in(&mut self.tables[table], hash, key)
    }

    /// Inserts an entry whose key is known to be absent; returns a reference to it.
    pub fn insert_new(&mut self, mut entry: Box<Entry>) -> &mut Entry {
        self.step();
        self.grow_if_needed();
        let table = if self.is_rehashing() { 1 } else { 0 };
        let t = &mut self.tables[table];
        let slot = (hash_key(&entry.key) as usize) & t.mask();
        entry.next = t.buckets[slot].take();
        t.used += 1;
        let placed = t.buckets[slot].insert(entry);
        placed
    }

    /// Removes and returns the entry for `key`.
    pub fn remove(&mut self, key: &[u8]) -> Option<Box<Entry>> {
        self.step();
        let hash = hash_key(key);
        for t in 0..self.tables_to_search() {
            let table = &mut self.tables[t];
            if table.buckets.is_empty() {
                continue;
            }
            let mask = table.mask();
            let mut link = &mut table.buckets[(hash as usize) & mask];
            loop {
                match link {
                    None => break,
                    Some(entry) if entry.key.as_slice() == key => {
                        let mut removed = link.take()?;
                        *link = removed.next.take();
                        table.used -= 1;
                        return Some(removed);
                    }
                    Some(entry) => link = &mut entry.next,
                }
            }
        }
        None
    }

    /// Drops every entry and releases the buckets.
    pub fn clear(&mut self) {
        // Unlink chains iteratively so a long chain never recurses in Drop.
        for table in &mut self.tables {
            for bucket in &mut table.buckets {
                let mut chain = bucket.take();
                while let Some(mut entry) = chain {
                    chain = entry.next.take();
                }
            }
        }
        *self = Dict::default();
    }

    /// Calls `f` for every entry in the buckets visited at `cursor`, and returns the next cursor (0 = done).
    /// This is Redis's `dictScan`: the cursor's bits are incremented from the most significant end, so buckets
    /// already visited stay visited when the table doubles or halves.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&Entry)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor;
        let emit = |table: &Table, idx: u64, f: &mut dyn FnMut(&Entry)| {
            let mut cur = table.buckets[(idx as usize) & table.mask()].as_deref();
            while let Some(entry) = cur {
                f(entry);
                cur = entry.next.as_deref();
            }
        };
        if !self.is_rehashing() {
            let t0 = &self.tables[0];
            let m0 = t0.mask() as u64;
            emit(t0, v & m0, &mut f);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, large) = if self.tables[0].buckets.len() <= self.tables[1].buckets.len() {
                (&self.tables[0], &self.tables[1])
            } else {
                (&self.tables[1], &self.tables[0])
            };
            let m0 = small.mask() as u64;
            let m1 = large.mask() as u64;
            emit(small, v & m0, &mut f);
            loop {
                emit(large, v & m1, &mut f);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v
    }

    /// A random entry (RANDOMKEY, eviction sampling): random buckets until a non-empty one, then a random
    /// element of its chain.
    pub fn random_entry(&self) -> Option<&Entry> {
        if self.is_empty() {
            return None;
        }
        loop {
            let (table, idx) = if self.is_rehashing() {
                let t0 = &self.tables[0];
                let t1 = &self.tables[1];
                let start = self.rehash_idx.unwrap_or(0);
                let span = t0.buckets.len() + t1.buckets.len() - start;
                let pick = start + fastrand::usize(..span.max(1));
                if pick >= t0.buckets.len() {
                    (t1, pick - t0.buckets.len())
                } else {
                    (t0, pick)
                }
            } else {
                let t0 = &self.tables[0];
                (t0, fastrand::usize(..t0.buckets.len()))
            };
            let Some(head) = table.buckets.get(idx).and_then(|b| b.as_deref()) else { continue };
            let mut chain_len = 0;
            let mut cur = Some(head);
            while let Some(e) = cur {
                chain_len += 1;
                cur = e.next.as_deref();
            }
            let mut pick = fastrand::usize(..chain_len);
            let mut cur = head;
            while pick > 0 {
                cur = cur.next.as_deref()?;
                pick -= 1;
            }
            return Some(cur);
        }
    }
}

impl Drop for Dict {
    fn drop(&mut self) {
        for table in &mut self.tables {
            for bucket in &mut table.buckets {
                let mut chain = bucket.take();
                while let Some(mut entry) = chain {
                    chain = entry.next.take();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    fn key(i: u32) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    fn put(d: &mut Dict, k: &[u8], v: i64) {
        match d.get_mut(k) {
            Some(e) => e.value = Value::Int(v),
            None => {
                d.insert_new(Entry::new(SmallBytes::new(k), Value::Int(v)));
            }
        }
    }

    #[test]
    fn behaves_like_a_map_through_growth_and_shrink() {
        let mut d = Dict::new();
        let mut model = BTreeMap::new();
        for i in 0..5000u32 {
            let k = key(fastrand::u32(..2000));
            if i % 3 == 0 {
                assert_eq!(d.remove(&k).is_some(), model.remove(&k).is_some());
            } else {
                put(&mut d, &k, i as i64);
                model.insert(k, i as i64);
            }
            assert_eq!(d.len(), model.len());
            if i % 500 == 0 {
                d.shrink_if_sparse();
            }
        }
        for (k, v) in &model {
            assert_eq!(d.get(k).map(|e| e.value.clone()), Some(Value::Int(*v)));
        }
        for i in 0..2000 {
            d.remove(&key(i));
        }
        d.shrink_if_sparse();
        assert!(d.is_empty());
    }

    #[test]
    fn scan_returns_every_stable_key_while_the_table_grows() {
        let mut d = Dict::new();
        for i in 0..1000 {
            put(&mut d, &key(i), 0);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut extra = 1000;
        loop {
            cursor = d.scan(cursor, |e| {
                seen.insert(e.key.as_slice().to_vec());
            });
            // Grow the table under the scan (bounded: a scan visits one bucket per call, so unbounded growth
            // would outrun it forever).
            if extra < 4000 {
                for _ in 0..3 {
                    put(&mut d, &key(extra), 0);
                    extra += 1;
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(&key(i)), "key {i} missed");
        }
    }

    #[test]
    fn random_entry_finds_members() {
        let mut d = Dict::new();
        assert!(d.random_entry().is_none());
        for i in 0..100 {
            put(&mut d, &key(i), 0);
        }
        for _ in 0..100 {
            let e = d.random_entry().unwrap();
            assert!(d.get(&e.key).is_some());
        }
    }
}
