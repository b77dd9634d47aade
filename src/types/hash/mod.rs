//! The Hash value: field -> value maps with Redis 7.0's two encodings.
//!
//! - `listpack` ([`PackedPairs`]): one packed buffer in insertion order, while the hash has at most
//!   `hash-max-listpack-entries` fields and no field or value longer than `hash-max-listpack-value` bytes.
//! - `hashtable` ([`HTable`] of [`Pair`]): beyond either limit. A hash never converts back, as in Redis.
//!
//! The conversion points follow Redis 7.0.15's `hashTypeSet` / `hashTypeTryConversion`: a field or value that
//! is too long converts before it is stored (also for HINCRBY / HINCRBYFLOAT), and the entry count converts
//! once it exceeds the limit after an insert. Callers pass the limits ([`Limits`]) from the live config.
//!
//! For RDB: [`Hash::iter`] yields the pairs in order (listpack order for the compact encoding),
//! [`Hash::is_packed`] tells which encoding to write, and [`Hash::from_pairs`] rebuilds a hash.

pub mod packed;
pub mod table;

use crate::keyspace::SmallBytes;
pub use packed::PackedPairs;
pub use table::{HTable, Keyed};

/// The compact-encoding limits (`hash-max-listpack-entries`, `hash-max-listpack-value`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: u64,
    pub max_value: u64,
}

impl Limits {
    pub fn from_config(l: &crate::config::EncodingLimits) -> Limits {
        Limits { max_entries: l.hash_max_listpack_entries, max_value: l.hash_max_listpack_value }
    }
}

/// One field of a `hashtable`-encoded hash.
#[derive(Clone)]
pub struct Pair {
    pub field: SmallBytes,
    pub value: SmallBytes,
}

impl Keyed for Pair {
    fn key(&self) -> &[u8] {
        &self.field
    }
}

#[derive(Clone)]
pub enum Hash {
    Packed(PackedPairs),
    Table(Box<HTable<Pair>>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Packed(PackedPairs::new())
    }
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    /// Rebuilds a hash from its pairs (RDB load), choosing the encoding by `limits` as Redis does.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>, limits: Limits) -> Hash {
        let mut h = Hash::new();
        for (f, v) in pairs {
            h.set(f, v, limits);
        }
        h
    }

    /// `OBJECT ENCODING`'s answer.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Packed(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn is_packed(&self) -> bool {
        matches!(self, Hash::Packed(_))
    }

    /// Heap bytes owned by this value (MEMORY USAGE, maxmemory accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            Hash::Packed(p) => p.byte_len(),
            Hash::Table(t) => {
                std::mem::size_of::<HTable<Pair>>()
                    + t.table_bytes()
                    + t.iter().map(|p| p.field.heap_size() + p.value.heap_size()).sum::<usize>()
            }
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Packed(p) => p.len(),
            Hash::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Packed(p) => p.get(field),
            Hash::Table(t) => t.get(field).map(|p| p.value.as_slice()),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Packed(p) => p.contains(field),
            Hash::Table(t) => t.contains(field),
        }
    }

    fn convert(&mut self) {
        if let Hash::Packed(p) = self {
            let mut t = HTable::with_capacity(p.len());
            for (f, v) in p.iter() {
                t.insert_new(Pair { field: SmallBytes::new(f), value: SmallBytes::new(v) });
            }
            *self = Hash::Table(Box::new(t));
        }
    }

    /// Sets `field` to `value`; returns true if the field is new. Converts to `hashtable` as Redis does.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: Limits) -> bool {
        if let Hash::Packed(_) = self {
            if field.len() as u64 > limits.max_value || value.len() as u64 > limits.max_value {
                self.convert();
            }
        }
        match self {
            Hash::Packed(p) => match p.set(field, value) {
                None => false,
                Some(len) => {
                    if len as u64 > limits.max_entries {
                        self.convert();
                    }
                    true
                }
            },
            Hash::Table(t) => {
                let make = || Pair { field: SmallBytes::new(field), value: SmallBytes::new(value) };
                let (pair, new) = t.get_or_insert_with(field, make);
                if !new {
                    pair.value = SmallBytes::new(value);
                }
                new
            }
        }
    }

    /// Removes `field`; returns whether it was present.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Packed(p) => p.remove(field),
            Hash::Table(t) => t.remove(field).is_some(),
        }
    }

    /// The pairs: listpack order for the compact encoding, storage order for the table.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Packed(p) => Box::new(p.iter()),
            Hash::Table(t) => Box::new(t.iter().map(|p| (p.field.as_slice(), p.value.as_slice()))),
        }
    }

    /// Random access by index, for HRANDFIELD.
    pub fn indexer(&self) -> Indexer<'_> {
        match self {
            Hash::Packed(p) => Indexer::Packed(p, p.offsets()),
            Hash::Table(t) => Indexer::Table(t),
        }
    }

    /// One HSCAN step: calls `f` for each pair visited and returns the next cursor. The compact encoding
    /// returns everything at once with cursor 0, as Redis does.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        match self {
            Hash::Packed(p) => {
                for (k, v) in p.iter() {
                    f(k, v);
                }
                0
            }
            Hash::Table(t) => {
                // Redis counts fields and values against COUNT, and visits at most COUNT*10 buckets.
                let mut emitted = 0usize;
                let mut cursor = cursor;
                let mut budget = count.saturating_mul(10);
                loop {
                    cursor = t.scan(cursor, |p| {
                        f(&p.field, &p.value);
                        emitted += 2;
                    });
                    budget = budget.saturating_sub(1);
                    if cursor == 0 || budget == 0 || emitted >= count {
                        return cursor;
                    }
                }
            }
        }
    }
}

/// Random access to a hash's pairs by index `0..len`.
pub enum Indexer<'a> {
    Packed(&'a PackedPairs, Vec<u32>),
    Table(&'a HTable<Pair>),
}

impl<'a> Indexer<'a> {
    pub fn get(&self, i: usize) -> Option<(&'a [u8], &'a [u8])> {
        match self {
            Indexer::Packed(p, offs) => p.pair_at(*offs.get(i)?),
            Indexer::Table(t) => t.at(i).map(|p| (p.field.as_slice(), p.value.as_slice())),
        }
    }

    /// Whether picks should be returned in index order (listpack order, as Redis's `lpRandomPairsUnique`).
    pub fn ordered(&self) -> bool {
        matches!(self, Indexer::Packed(..))
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.iter() {
            m.entry(&String::from_utf8_lossy(k), &String::from_utf8_lossy(v));
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_enough() {
        // One 16-byte box per hash plus its packed buffer (the memory target depends on it).
        assert_eq!(std::mem::size_of::<Hash>(), 16);
    }

    const L: Limits = Limits { max_entries: 4, max_value: 8 };

    #[test]
    fn converts_on_count_and_length() {
        let mut h = Hash::new();
        for i in 0..4 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v", L));
        }
        assert_eq!(h.encoding(), "listpack");
        assert!(!h.set(b"f0", b"12345678", L));
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f4", b"v", L);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.get(b"f0"), Some(&b"12345678"[..]));

        let mut h = Hash::new();
        h.set(b"a", b"123456789", L);
        assert_eq!(h.encoding(), "hashtable");
        assert!(h.remove(b"a"));
        assert!(h.is_empty());
    }

    #[test]
    fn from_pairs_round_trips() {
        let mut h = Hash::new();
        h.set(b"x", b"1", L);
        h.set(b"y", b"2", L);
        let copy = Hash::from_pairs(h.iter(), L);
        assert_eq!(copy, h);
        let order: Vec<&[u8]> = copy.iter().map(|(f, _)| f).collect();
        assert_eq!(order, vec![&b"x"[..], b"y"]);
    }
}
