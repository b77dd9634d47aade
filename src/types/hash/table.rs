//! `HTable<T>`: the chained hash table behind the `hashtable` encoding of hashes and sets.
//!
//! What it decides, and why:
//! - **Nodes live in one `Vec`, chains link them by `u32` index.** A member costs its own bytes plus 8 bytes
//!   (cached hash, next link) and a 4-byte bucket, with no allocation per member beyond what the member itself
//!   needs. Deleting moves the last node into the hole (one chain relink), so the nodes stay dense, and a
//!   uniformly random member is one index: SRANDMEMBER / SPOP / HRANDFIELD are O(1) per pick and fair.
//! - **Power-of-two buckets, load factor 1, reverse-binary SCAN cursor** (Redis's `dictScan`): a bucket index
//!   is `hash & mask`, so when the table doubles or halves between two SCAN calls the buckets already visited
//!   map to buckets the cursor has also passed, and every member present for the whole scan is returned at
//!   least once. Resizing rebuilds the chains in one pass (no incremental rehash): it touches only the cached
//!   hashes, so even a million-member collection rebuilds in a few milliseconds.
//! - **Shrinks below 10% fill**, as Redis resizes hash/set dicts after deletions.

use crate::keyspace::dict::hash_key;

const NIL: u32 = u32::MAX;
const MIN_BUCKETS: usize = 4;

/// An element that is found by a byte-string key.
pub trait Keyed {
    fn key(&self) -> &[u8];
}

#[derive(Clone)]
struct Node<T> {
    item: T,
    hash: u32,
    next: u32,
}

#[derive(Clone)]
pub struct HTable<T> {
    nodes: Vec<Node<T>>,
    buckets: Vec<u32>,
}

impl<T> Default for HTable<T> {
    fn default() -> Self {
        HTable { nodes: Vec::new(), buckets: Vec::new() }
    }
}

#[inline]
fn hash32(key: &[u8]) -> u32 {
    hash_key(key) as u32
}

impl<T: Keyed> HTable<T> {
    pub fn new() -> Self {
        HTable::default()
    }

    /// A table sized for `n` members (bounded by the caller to what it really holds).
    pub fn with_capacity(n: usize) -> Self {
        let mut t = HTable { nodes: Vec::with_capacity(n), buckets: Vec::new() };
        t.rebuild(n.max(MIN_BUCKETS).next_power_of_two());
        t
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Members in storage order (insertion order, perturbed by deletions).
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.nodes.iter().map(|n| &n.item)
    }

    /// The member stored at `idx` (`idx < len`): with a uniform `idx`, a uniform member.
    pub fn at(&self, idx: usize) -> Option<&T> {
        self.nodes.get(idx).map(|n| &n.item)
    }

    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    fn find(&self, key: &[u8]) -> Option<usize> {
        self.find_hashed(key, hash32(key))
    }

    fn find_hashed(&self, key: &[u8], h: u32) -> Option<usize> {
        if self.buckets.is_empty() {
            return None;
        }
        let mut cur = self.buckets[h as usize & self.mask()];
        while cur != NIL {
            let node = self.nodes.get(cur as usize)?;
            if node.hash == h && node.item.key() == key {
                return Some(cur as usize);
            }
            cur = node.next;
        }
        None
    }

    pub fn get(&self, key: &[u8]) -> Option<&T> {
        self.find(key).map(|i| &self.nodes[i].item)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        let i = self.find(key)?;
        Some(&mut self.nodes[i].item)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Relinks every node into `n` buckets (a power of two).
    fn rebuild(&mut self, n: usize) {
        self.buckets.clear();
        self.buckets.resize(n, NIL);
        self.buckets.shrink_to_fit();
        let mask = n - 1;
        for (i, node) in self.nodes.iter_mut().enumerate() {
            let b = node.hash as usize & mask;
            node.next = self.buckets[b];
            self.buckets[b] = i as u32;
        }
    }

    /// Inserts a member whose key the caller knows is absent.
    pub fn insert_new(&mut self, item: T) {
        let hash = hash32(item.key());
        self.insert_hashed(item, hash);
    }

    fn insert_hashed(&mut self, item: T, hash: u32) {
        if self.nodes.len() >= self.buckets.len() {
            let n = (self.buckets.len() * 2).max(MIN_BUCKETS);
            self.rebuild(n);
        }
        let b = hash as usize & self.mask();
        let idx = self.nodes.len() as u32;
        self.nodes.push(Node { item, hash, next: self.buckets[b] });
        self.buckets[b] = idx;
    }

    /// Inserts `item` unless its key is present; returns whether it was inserted.
    pub fn insert(&mut self, item: T) -> bool {
        let hash = hash32(item.key());
        if self.find_hashed(item.key(), hash).is_some() {
            return false;
        }
        self.insert_hashed(item, hash);
        true
    }

    /// The member with `key`, or a new one made by `make` (hashing the key once): returns it and whether it
    /// was inserted. `make` must build a member whose key is `key`.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> T) -> (&mut T, bool) {
        let hash = hash32(key);
        match self.find_hashed(key, hash) {
            Some(i) => (&mut self.nodes[i].item, false),
            None => {
                self.insert_hashed(make(), hash);
                let last = self.nodes.len() - 1;
                (&mut self.nodes[last].item, true)
            }
        }
    }

    /// Replaces the link that points at node `from` with `to`, in the chain of bucket `b`.
    fn relink(&mut self, b: usize, from: u32, to: u32) {
        if self.buckets[b] == from {
            self.buckets[b] = to;
            return;
        }
        let mut cur = self.buckets[b];
        while cur != NIL {
            let next = self.nodes[cur as usize].next;
            if next == from {
                self.nodes[cur as usize].next = to;
                return;
            }
            cur = next;
        }
    }

    /// Removes and returns the member stored at `idx`.
    pub fn remove_at(&mut self, idx: usize) -> Option<T> {
        if idx >= self.nodes.len() {
            return None;
        }
        let mask = self.mask();
        let b = self.nodes[idx].hash as usize & mask;
        let next = self.nodes[idx].next;
        self.relink(b, idx as u32, next);
        let removed = self.nodes.swap_remove(idx);
        if idx < self.nodes.len() {
            // The former last node now lives at `idx`.
            let moved_from = self.nodes.len() as u32;
            let mb = self.nodes[idx].hash as usize & mask;
            self.relink(mb, moved_from, idx as u32);
        }
        self.shrink_if_sparse();
        Some(removed.item)
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        let idx = self.find(key)?;
        self.remove_at(idx)
    }

    fn shrink_if_sparse(&mut self) {
        let n = self.buckets.len();
        if n > MIN_BUCKETS && self.nodes.len() * 10 < n {
            self.rebuild(self.nodes.len().max(MIN_BUCKETS).next_power_of_two());
            if self.nodes.capacity() > self.nodes.len() * 2 {
                self.nodes.shrink_to_fit();
            }
        }
    }

    /// Calls `f` for the members of the bucket(s) at `cursor` and returns the next cursor (0 = done), with
    /// Redis's reverse-binary increment.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a T)) -> u64 {
        if self.nodes.is_empty() || self.buckets.is_empty() {
            return 0;
        }
        let mask = self.mask() as u64;
        let mut cur = self.buckets[(cursor & mask) as usize];
        while cur != NIL {
            let Some(node) = self.nodes.get(cur as usize) else { break };
            f(&node.item);
            cur = node.next;
        }
        let v = cursor | !mask;
        v.reverse_bits().wrapping_add(1).reverse_bits()
    }

    /// Heap bytes owned by the table itself (not counting what members own).
    pub fn table_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node<T>>() + self.buckets.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashSet};

    impl Keyed for Vec<u8> {
        fn key(&self) -> &[u8] {
            self
        }
    }

    fn k(i: u32) -> Vec<u8> {
        format!("m{i}").into_bytes()
    }

    #[test]
    fn behaves_like_a_set() {
        let mut t: HTable<Vec<u8>> = HTable::new();
        let mut model = BTreeSet::new();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20000 {
            let key = k(rng.u32(..3000));
            if rng.u8(..3) == 0 {
                assert_eq!(t.remove(&key).is_some(), model.remove(&key));
            } else {
                assert_eq!(t.insert(key.clone()), model.insert(key));
            }
            assert_eq!(t.len(), model.len());
        }
        for key in &model {
            assert!(t.contains(key));
        }
        let all: BTreeSet<Vec<u8>> = t.iter().cloned().collect();
        assert_eq!(all, model);
        for key in model.iter() {
            t.remove(key);
        }
        assert!(t.is_empty());
        assert!(t.buckets.len() <= MIN_BUCKETS);
    }

    #[test]
    fn scan_sees_stable_members_across_growth_and_shrink() {
        let mut t: HTable<Vec<u8>> = HTable::new();
        for i in 0..1000 {
            t.insert(k(i));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut extra = 1000;
        let mut calls = 0;
        loop {
            cursor = t.scan(cursor, |m| {
                seen.insert(m.clone());
            });
            calls += 1;
            if calls % 2 == 0 && extra < 5000 {
                for _ in 0..20 {
                    t.insert(k(extra));
                    extra += 1;
                }
            } else if calls > 600 && extra >= 5000 && t.len() > 1000 {
                // Shrink under the scan: delete the added members again.
                for i in 1000..extra {
                    t.remove(&k(i));
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(&k(i)), "member {i} missed");
        }
    }
}
