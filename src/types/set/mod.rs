//! The Set value with Redis 7.0's two encodings (7.0 has no listpack sets):
//!
//! - `intset` ([`IntSet`]): while every member is a canonical decimal i64 (Redis's `string2ll`) and the set
//!   has at most `set-max-intset-entries` members. Sorted, so SMEMBERS / SSCAN / SPOP-all answer ascending as
//!   Redis does.
//! - `hashtable` ([`HTable`] of member strings): after a non-integer member is added or the count passes the
//!   limit. It never converts back.
//!
//! Members come out as [`Member`]: an intset's members are integers and are printed only when replied.
//!
//! For RDB: [`Set::iter`] yields the members in order, [`Set::intset`] exposes the intset (to write Redis's
//! intset blob: [`IntSet::width`], [`IntSet::iter`]), [`Set::from_members`] rebuilds a set with Redis's
//! encoding choice, and `Set::Ints(IntSet::from_values(width, ints))` rebuilds a loaded intset keeping its
//! width.

pub mod intset;

use crate::keyspace::SmallBytes;
use crate::num::parse_i64;
use crate::types::hash::{HTable, Keyed};
pub use intset::IntSet;

impl Keyed for SmallBytes {
    fn key(&self) -> &[u8] {
        self.as_slice()
    }
}

/// One member as stored: an intset integer or a string.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// Calls `f` with the member's bytes (integers printed as decimal).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(n) => f(itoa::Buffer::new().format(*n).as_bytes()),
            Member::Bytes(b) => f(b),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }
}

#[derive(Clone)]
pub enum Set {
    Ints(IntSet),
    Table(Box<HTable<SmallBytes>>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(IntSet::new())
    }
}

impl Set {
    /// An empty set in the encoding Redis's `setTypeCreate` picks for a first member `first`.
    pub fn new_for(first: &[u8]) -> Set {
        if parse_i64(first).is_some() {
            Set::Ints(IntSet::new())
        } else {
            Set::Table(Box::default())
        }
    }

    /// An empty intset (Redis's `createIntsetObject`, the start of every SINTER/SUNION/SDIFF result).
    pub fn new_intset() -> Set {
        Set::Ints(IntSet::new())
    }

    /// Rebuilds a set from its members (RDB load), choosing the encoding as Redis does.
    pub fn from_members<'a>(members: impl IntoIterator<Item = &'a [u8]>, max_intset: u64) -> Set {
        let mut s = Set::new_intset();
        for m in members {
            s.add(m, max_intset);
        }
        s
    }

    /// `OBJECT ENCODING`'s answer.
    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    /// The intset, when that is the encoding.
    pub fn intset(&self) -> Option<&IntSet> {
        match self {
            Set::Ints(i) => Some(i),
            Set::Table(_) => None,
        }
    }

    /// Heap bytes owned by this value (MEMORY USAGE, maxmemory accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            Set::Ints(i) => i.heap_size(),
            Set::Table(t) => {
                std::mem::size_of::<HTable<SmallBytes>>()
                    + t.table_bytes()
                    + t.iter().map(SmallBytes::heap_size).sum::<usize>()
            }
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Ints(i) => i.len(),
            Set::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Ints(i) => parse_i64(member).is_some_and(|n| i.contains(n)),
            Set::Table(t) => t.contains(member),
        }
    }

    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match (self, m) {
            (Set::Ints(i), Member::Int(n)) => i.contains(n),
            (_, m) => m.with_bytes(|b| self.contains(b)),
        }
    }

    fn convert(&mut self) {
        if let Set::Ints(i) = self {
            let mut t = HTable::with_capacity(i.len() + 1);
            let mut digits = itoa::Buffer::new();
            for n in i.iter() {
                t.insert_new(SmallBytes::new(digits.format(n).as_bytes()));
            }
            *self = Set::Table(Box::new(t));
        }
    }

    /// Adds `member`; returns whether it was new. Converts to `hashtable` as Redis's `setTypeAdd` does.
    pub fn add(&mut self, member: &[u8], max_intset: u64) -> bool {
        if let Set::Ints(i) = self {
            match parse_i64(member) {
                Some(n) => {
                    let new = i.add(n);
                    if new && i.len() as u64 > max_intset {
                        self.convert();
                    }
                    return new;
                }
                None => self.convert(),
            }
        }
        match self {
            Set::Table(t) => t.get_or_insert_with(member, || SmallBytes::new(member)).1,
            Set::Ints(_) => false,
        }
    }

    pub fn add_member(&mut self, m: Member<'_>, max_intset: u64) -> bool {
        match (&mut *self, m) {
            (Set::Ints(i), Member::Int(n)) => {
                let new = i.add(n);
                if new && i.len() as u64 > max_intset {
                    self.convert();
                }
                new
            }
            (_, m) => m.with_bytes(|b| self.add(b, max_intset)),
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Ints(i) => parse_i64(member).is_some_and(|n| i.remove(n)),
            Set::Table(t) => t.remove(member).is_some(),
        }
    }

    /// The member at index `idx` (`0..len`): ascending for an intset, storage order for the table.
    pub fn at(&self, idx: usize) -> Option<Member<'_>> {
        match self {
            Set::Ints(i) => i.at(idx).map(Member::Int),
            Set::Table(t) => t.at(idx).map(|m| Member::Bytes(m.as_slice())),
        }
    }

    /// Removes the member at index `idx` and returns its bytes.
    pub fn remove_at(&mut self, idx: usize) -> Option<Vec<u8>> {
        match self {
            Set::Ints(i) => i.remove_at(idx).map(|n| itoa::Buffer::new().format(n).as_bytes().to_vec()),
            Set::Table(t) => t.remove_at(idx).map(|m| m.as_slice().to_vec()),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Member<'_>> + '_ {
        (0..self.len()).filter_map(move |i| self.at(i))
    }

    /// One SSCAN step: calls `f` for each member visited, returns the next cursor. An intset returns
    /// everything at once with cursor 0, as Redis does.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(Member<'a>)) -> u64 {
        match self {
            Set::Ints(i) => {
                for n in i.iter() {
                    f(Member::Int(n));
                }
                0
            }
            Set::Table(t) => {
                let mut emitted = 0usize;
                let mut cursor = cursor;
                let mut budget = count.saturating_mul(10);
                loop {
                    cursor = t.scan(cursor, |m| {
                        f(Member::Bytes(m.as_slice()));
                        emitted += 1;
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

impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_member(m))
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_set();
        for m in self.iter() {
            s.entry(&m.with_bytes(|b| String::from_utf8_lossy(b).into_owned()));
        }
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intset_converts_on_string_or_count() {
        let mut s = Set::new_for(b"1");
        for i in 0..4 {
            assert!(s.add(itoa::Buffer::new().format(i).as_bytes(), 4));
        }
        assert_eq!(s.encoding(), "intset");
        assert!(!s.add(b"3", 4));
        assert!(s.contains(b"3"));
        assert!(!s.contains(b"03"));
        assert!(s.add(b"4", 4));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"4") && s.contains(b"0"));

        let mut s = Set::new_for(b"1");
        s.add(b"1", 512);
        s.add(b"01", 512);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 2);
        assert!(s.remove(b"1"));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn members_round_trip() {
        let s = Set::from_members([&b"3"[..], b"-1", b"2"], 512);
        let v: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
        assert_eq!(v, vec![b"-1".to_vec(), b"2".to_vec(), b"3".to_vec()]);
        assert_eq!(Set::new_for(b"x").encoding(), "hashtable");
    }
}
