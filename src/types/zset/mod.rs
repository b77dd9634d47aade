//! The sorted-set value: members with f64 scores, ordered by (score, member).
//!
//! Two encodings, as Redis 7.0 reports them in `OBJECT ENCODING`:
//! - `listpack` ([`packed::Packed`]): one byte buffer sorted by (score, member), used while the set has at most
//!   `zset-max-listpack-entries` members of at most `zset-max-listpack-value` bytes. Linear operations, tiny
//!   memory.
//! - `skiplist` ([`tree::Tree`]): an order-statistic AVL tree with a member index; every rank and range
//!   operation is O(log n). The name is Redis's; the structure is a balanced tree because it gives the same
//!   complexity with a deterministic depth bound.
//!
//! A set converts to the large encoding when an insert would break a limit, and never converts back, except
//! that results built from scratch (ZUNIONSTORE and friends, RDB loading via [`ZSet::from_entries`]) pick the
//! compact form when they fit, as Redis's `zsetConvertToListpackIfNeeded` does.
//!
//! For RDB (issue 5): [`ZSet::iter`] (or [`ZSet::for_each`]) yields (member, score) in ascending order, [`ZSet::from_entries`] rebuilds
//! a set from any (member, score) pairs, choosing the encoding from the limits, and [`ZSet::is_packed`] tells
//! which RDB type to write.

pub mod packed;
pub mod range;
pub mod tree;

use packed::Packed;
pub use range::{LexBound, LexRange, ScoreRange};
use tree::Tree;

/// The compact-encoding thresholds (`zset-max-listpack-entries` / `-value`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl Limits {
    pub fn from_config(l: &crate::config::EncodingLimits) -> Limits {
        Limits {
            max_entries: usize::try_from(l.zset_max_listpack_entries).unwrap_or(usize::MAX),
            max_value: usize::try_from(l.zset_max_listpack_value).unwrap_or(usize::MAX),
        }
    }

    /// Whether a set of `len` members, the longest `max_member_len` bytes, fits the compact encoding.
    pub fn fits(&self, len: usize, max_member_len: usize) -> bool {
        len <= self.max_entries && max_member_len <= self.max_value
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Repr {
    Packed(Packed),
    Big(Box<Tree>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new_packed()
    }
}

impl ZSet {
    pub fn new_packed() -> ZSet {
        ZSet { repr: Repr::Packed(Packed::new()) }
    }

    pub fn new_big() -> ZSet {
        ZSet { repr: Repr::Big(Box::default()) }
    }

    /// The empty set ZADD creates for a first member of `first_member_len` bytes (Redis 7.0's rule: the
    /// large encoding when the entries limit is 0 or the first member is already too long).
    pub fn for_first_member(first_member_len: usize, limits: &Limits) -> ZSet {
        if limits.max_entries == 0 || first_member_len > limits.max_value {
            ZSet::new_big()
        } else {
            ZSet::new_packed()
        }
    }

    /// Builds a set from (member, score) pairs in any order, in the encoding the limits call for. None if a
    /// member repeats or a score is NaN (a corrupt payload).
    pub fn from_entries(entries: impl IntoIterator<Item = (Vec<u8>, f64)>, limits: &Limits) -> Option<ZSet> {
        let mut v: Vec<(Vec<u8>, f64)> = entries.into_iter().collect();
        if v.iter().any(|e| e.1.is_nan()) {
            return None;
        }
        v.sort_by(|a, b| packed::cmp_entry(a.1, &a.0, b.1, &b.0));
        let mut members: Vec<&[u8]> = v.iter().map(|e| e.0.as_slice()).collect();
        members.sort_unstable();
        if members.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        Some(ZSet::from_sorted_unique(v, limits))
    }

    /// Builds from pairs sorted by (score, member), members distinct.
    pub fn from_sorted_unique(v: Vec<(Vec<u8>, f64)>, limits: &Limits) -> ZSet {
        let longest = v.iter().map(|e| e.0.len()).max().unwrap_or(0);
        if limits.fits(v.len(), longest) {
            ZSet { repr: Repr::Packed(Packed::from_sorted(v.iter().map(|(m, s)| (m.as_slice(), *s)))) }
        } else {
            let owned = v.into_iter().map(|(m, s)| (m.into_boxed_slice(), s)).collect();
            ZSet { repr: Repr::Big(Box::new(Tree::from_sorted_owned(owned))) }
        }
    }

    /// `OBJECT ENCODING`'s answer.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Packed(_) => "listpack",
            Repr::Big(_) => "skiplist",
        }
    }

    pub fn is_packed(&self) -> bool {
        matches!(self.repr, Repr::Packed(_))
    }

    /// Heap bytes owned by this value (MEMORY USAGE, maxmemory accounting).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.heap_size(),
            Repr::Big(t) => std::mem::size_of::<Tree>() + t.heap_size(),
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.len(),
            Repr::Big(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Packed(p) => p.score(member),
            Repr::Big(t) => t.score(member),
        }
    }

    /// Converts to the large encoding (an insert broke a limit).
    pub fn convert_to_big(&mut self) {
        if let Repr::Packed(p) = &self.repr {
            let mut owned = Vec::with_capacity(p.len());
            p.for_each(|m, s| owned.push((Box::<[u8]>::from(m), s)));
            self.repr = Repr::Big(Box::new(Tree::from_sorted_owned(owned)));
        }
    }

    /// Inserts a member that is not present, converting first if the compact limits would be broken.
    /// Returns false only at the large encoding's capacity limit (u32::MAX - 1 members).
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &Limits) -> bool {
        if let Repr::Packed(p) = &mut self.repr {
            if p.len() < limits.max_entries && member.len() <= limits.max_value && p.len() < u32::MAX as usize {
                p.insert(member, score);
                return true;
            }
            self.convert_to_big();
        }
        match &mut self.repr {
            Repr::Big(t) => t.insert(member, score),
            Repr::Packed(_) => false,
        }
    }

    /// Changes the score of a present member.
    pub fn set_score(&mut self, member: &[u8], score: f64) {
        match &mut self.repr {
            Repr::Packed(p) => {
                if p.remove(member).is_some() {
                    p.insert(member, score);
                }
            }
            Repr::Big(t) => t.set_score(member, score),
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Packed(p) => p.remove(member),
            Repr::Big(t) => {
                let s = t.remove(member);
                if s.is_some() {
                    t.maybe_compact();
                }
                s
            }
        }
    }

    /// 0-based rank (ascending, or descending when `rev`) and score of `member`.
    pub fn rank(&self, member: &[u8], rev: bool) -> Option<(usize, f64)> {
        let (r, s) = match &self.repr {
            Repr::Packed(p) => p.rank(member)?,
            Repr::Big(t) => t.rank(member)?,
        };
        Some((if rev { self.len() - 1 - r } else { r }, s))
    }

    /// The entry of ascending rank `r`.
    pub fn get(&self, r: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Packed(p) => p.get(r),
            Repr::Big(t) => t.get(r),
        }
    }

    /// Number of leading (ascending) entries for which `pred(score, member)` holds; `pred` must hold for a
    /// prefix of the order. O(log n) on the large encoding.
    pub fn prefix_len(&self, pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.prefix_len(pred),
            Repr::Big(t) => t.prefix_len(pred),
        }
    }

    /// Ascending ranks `start..end` of the entries inside a score range.
    pub fn score_span(&self, range: &ScoreRange) -> (usize, usize) {
        if range.is_empty() {
            return (0, 0);
        }
        let start = self.prefix_len(|s, _| !range.gte_min(s));
        let end = self.prefix_len(|s, _| range.lte_max(s));
        (start, end.max(start))
    }

    /// Ascending ranks `start..end` of the entries inside a lex range. Lex ranges are meant for sets whose
    /// scores are all equal; for other sets the compact encoding reproduces Redis's listpack walk exactly (the
    /// whole range is empty unless the last entry is >= min and the first <= max; forward, the span starts at
    /// the first entry >= min and runs while entries are <= max; `rev` walks back from the last entry <= max
    /// while entries are >= min).
    pub fn lex_span(&self, range: &LexRange<'_>, rev: bool) -> (usize, usize) {
        let n = self.len();
        if range.is_empty() || n == 0 {
            return (0, 0);
        }
        let (Some((first, _)), Some((last, _))) = (self.get(0), self.get(n - 1)) else { return (0, 0) };
        if !range.gte_min(last) || !range.lte_max(first) {
            return (0, 0);
        }
        match &self.repr {
            Repr::Packed(p) => {
                let members: Vec<&[u8]> = p.iter().map(|(m, _)| m).collect();
                if rev {
                    let Some(e) = members.iter().rposition(|m| range.lte_max(m)) else { return (0, 0) };
                    if !range.gte_min(members[e]) {
                        return (0, 0);
                    }
                    let back = members[..=e].iter().rev().take_while(|m| range.gte_min(m)).count();
                    (e + 1 - back, e + 1)
                } else {
                    let Some(s) = members.iter().position(|m| range.gte_min(m)) else { return (0, 0) };
                    let len = members[s..].iter().take_while(|m| range.lte_max(m)).count();
                    (s, s + len)
                }
            }
            Repr::Big(t) => {
                let start = t.prefix_len(|_, m| !range.gte_min(m));
                let end = t.prefix_len(|_, m| range.lte_max(m));
                (start, end.max(start))
            }
        }
    }

    /// Calls `f` on the entries of ascending ranks `start..end`, in ascending order, or in descending order
    /// when `rev` (then `start..end` are descending ranks: 0 is the highest entry).
    pub fn for_range(&self, start: usize, end: usize, rev: bool, mut f: impl FnMut(&[u8], f64)) {
        let end = end.min(self.len());
        if start >= end {
            return;
        }
        match &self.repr {
            Repr::Packed(p) => {
                if rev {
                    let n = p.len();
                    p.for_range(n - end, n - start, true, f);
                } else {
                    p.for_range(start, end, false, f);
                }
            }
            Repr::Big(t) => {
                let mut it = t.iter_from(start, rev);
                for _ in start..end {
                    match it.next_entry(t) {
                        Some((m, s)) => f(m, s),
                        None => break,
                    }
                }
            }
        }
    }

    /// Removes the entries of ascending ranks `start..end`; returns how many.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> usize {
        match &mut self.repr {
            Repr::Packed(p) => p.remove_ranks(start, end),
            Repr::Big(t) => t.remove_ranks(start, end),
        }
    }

    /// Calls `f` on every (member, score) in ascending order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match &self.repr {
            Repr::Packed(p) => p.for_each(f),
            Repr::Big(t) => {
                for (m, s) in t.iter() {
                    f(m, s);
                }
            }
        }
    }

    /// Every (member, score) in ascending order, borrowed.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match &self.repr {
            Repr::Packed(p) => Box::new(p.iter()),
            Repr::Big(t) => Box::new(t.iter()),
        }
    }

    /// Every (member, score) in ascending order, copied out.
    pub fn to_vec(&self) -> Vec<(Vec<u8>, f64)> {
        let mut v = Vec::with_capacity(self.len());
        self.for_each(|m, s| v.push((m.to_vec(), s)));
        v
    }

    /// One ZSCAN step: the compact encoding returns everything at once (cursor 0 next), the large one walks
    /// its hash index with Redis's reverse-binary cursor. Returns the next cursor.
    pub fn scan_step(&self, cursor: u64, f: impl FnMut(&[u8], f64)) -> u64 {
        match &self.repr {
            Repr::Packed(p) => {
                p.for_each(f);
                0
            }
            Repr::Big(t) => t.scan_step(cursor, f),
        }
    }

    /// Whether ZSCAN is done in one call (the compact encoding).
    pub fn scans_at_once(&self) -> bool {
        self.is_packed()
    }

    /// The depth of the large encoding's tree (0 for the compact one), for tests and DEBUG.
    pub fn tree_depth(&self) -> u32 {
        match &self.repr {
            Repr::Packed(_) => 0,
            Repr::Big(t) => t.depth(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits { max_entries: 4, max_value: 8 };

    #[test]
    fn converts_when_limits_are_broken_and_never_back() {
        let mut z = ZSet::for_first_member(1, &L);
        for (i, m) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(z.insert(m.as_bytes(), i as f64, &L));
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"e", 9.0, &L);
        assert_eq!(z.encoding(), "skiplist");
        z.remove(b"e");
        z.remove(b"a");
        assert_eq!(z.encoding(), "skiplist");
        let mut y = ZSet::for_first_member(1, &L);
        y.insert(b"123456789", 1.0, &L);
        assert_eq!(y.encoding(), "skiplist");
        assert_eq!(ZSet::for_first_member(9, &L).encoding(), "skiplist");
    }

    #[test]
    fn from_entries_sorts_picks_the_encoding_and_rejects_corrupt_input() {
        let pairs = |v: &[(&str, f64)]| v.iter().map(|(m, s)| (m.as_bytes().to_vec(), *s)).collect::<Vec<_>>();
        let z = ZSet::from_entries(pairs(&[("b", 2.0), ("a", 2.0), ("c", -1.0)]), &L).unwrap();
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(z.to_vec(), pairs(&[("c", -1.0), ("a", 2.0), ("b", 2.0)]));
        assert!(z.iter().map(|(m, s)| (m.to_vec(), s)).eq(z.to_vec()));
        let big = ZSet::from_entries(pairs(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0)]), &L);
        assert_eq!(big.map(|z| z.encoding()), Some("skiplist"));
        assert!(ZSet::from_entries(pairs(&[("a", 1.0), ("a", 2.0)]), &L).is_none());
        assert!(ZSet::from_entries(pairs(&[("a", f64::NAN)]), &L).is_none());
    }

    #[test]
    fn the_value_is_two_words() {
        // Value::ZSet boxes it: a 16-byte block, like Redis's robj.
        assert_eq!(std::mem::size_of::<ZSet>(), 16);
    }

    #[test]
    fn both_encodings_answer_alike() {
        let big = Limits { max_entries: 0, max_value: 0 };
        let mut a = ZSet::new_packed();
        let mut b = ZSet::new_big();
        let mut rng = fastrand::Rng::with_seed(3);
        for i in 0..100 {
            let m = format!("m{}", rng.u32(..50));
            let s = f64::from(rng.u32(..10));
            if a.score(m.as_bytes()).is_none() {
                a.insert(m.as_bytes(), s, &Limits { max_entries: 1000, max_value: 64 });
                b.insert(m.as_bytes(), s, &big);
            } else if i % 3 == 0 {
                assert_eq!(a.remove(m.as_bytes()), b.remove(m.as_bytes()));
            } else {
                a.set_score(m.as_bytes(), s);
                b.set_score(m.as_bytes(), s);
            }
            assert_eq!(a.to_vec(), b.to_vec());
        }
        let r = ScoreRange { min: 2.0, max: 5.0, minex: true, maxex: false };
        assert_eq!(a.score_span(&r), b.score_span(&r));
        let (mut x, mut y) = (Vec::new(), Vec::new());
        a.for_range(1, 7, true, |m, s| x.push((m.to_vec(), s)));
        b.for_range(1, 7, true, |m, s| y.push((m.to_vec(), s)));
        assert_eq!(x, y);
        assert_eq!(a.rank(b"m3", true), b.rank(b"m3", true));
    }
}
