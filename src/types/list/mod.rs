//! The list value: a deque of packed nodes (our own quicklist).
//!
//! What this module decides, and why:
//! - **Structure.** A `VecDeque` of [`node::Node`]s, each one byte buffer holding a run of elements (length-
//!   prefixed and length-suffixed, see `node`). Pushes and pops at either end touch only the end node, so they
//!   are O(1); an index is found by skipping whole nodes from the nearer end (O(n / node size + node size));
//!   LRANGE walks the packed bytes directly. Memory per element is its bytes plus two (short elements), with no
//!   per-element allocation.
//! - **Node size.** `list-max-listpack-size` as Redis reads it: negative -1..-5 caps a node at 4..64 KiB
//!   (values below -5 act as -5), positive N caps it at N entries and 8 KiB. The limit is fixed when the list
//!   is created, like Redis's `quicklistSetOptions` at creation. Inserts in the middle split a node that grew
//!   past the limit; LREM merges neighbours that fit together again.
//! - **Encoding name.** Redis 7.0.15 stores every list as a quicklist (the `listpack` encoding for small lists
//!   arrived in 7.2), so `OBJECT ENCODING` always answers `quicklist`, whatever the size.
//! - **RDB.** [`List::iter`] gives the elements head to tail; [`List::from_entries`] rebuilds a list.

mod node;

use std::collections::VecDeque;

use node::{decode_back, decode_fwd, entry_size, Node};

/// Redis's `SIZE_SAFETY_LIMIT`: the byte cap of a node when the limit is given as an entry count.
const SIZE_SAFETY_LIMIT: u32 = 8192;
/// Byte caps for `list-max-listpack-size` -1..-5.
const SIZE_LEVELS: [u32; 5] = [4096, 8192, 16384, 32768, 65536];

/// How full a node may get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NodeLimit {
    max_bytes: u32,
    max_entries: u32,
}

impl NodeLimit {
    fn from_fill(fill: i64) -> NodeLimit {
        if fill < 0 {
            let level = usize::try_from(fill.unsigned_abs() - 1).unwrap_or(usize::MAX).min(SIZE_LEVELS.len() - 1);
            NodeLimit { max_bytes: SIZE_LEVELS[level], max_entries: u32::MAX }
        } else {
            NodeLimit { max_bytes: SIZE_SAFETY_LIMIT, max_entries: u32::try_from(fill).unwrap_or(u32::MAX).max(1) }
        }
    }

    #[inline]
    fn max_bytes(&self) -> usize {
        self.max_bytes as usize
    }

    #[inline]
    fn max_entries(&self) -> usize {
        self.max_entries as usize
    }

    #[inline]
    fn allows(&self, node: &Node, size: usize) -> bool {
        node.count() == 0 || (node.count() < self.max_entries() && node.bytes() + size <= self.max_bytes())
    }

    fn oversized(&self, node: &Node) -> bool {
        node.count() > 1 && (node.count() > self.max_entries() || node.bytes() > self.max_bytes())
    }
}

/// A Redis list.
#[derive(Clone)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    limit: NodeLimit,
}

impl Default for List {
    fn default() -> Self {
        List::new(-2)
    }
}

impl PartialEq for List {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(String::from_utf8_lossy)).finish()
    }
}

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

impl List {
    /// An empty list whose nodes follow `list_max_listpack_size` (the config value, e.g. -2).
    pub fn new(list_max_listpack_size: i64) -> List {
        List { nodes: VecDeque::with_capacity(1), len: 0, limit: NodeLimit::from_fill(list_max_listpack_size) }
    }

    /// Rebuilds a list from its elements, head first (RDB loading).
    pub fn from_entries<I, T>(list_max_listpack_size: i64, entries: I) -> List
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut l = List::new(list_max_listpack_size);
        for e in entries {
            l.push_back(e.as_ref());
        }
        l
    }

    /// `OBJECT ENCODING`'s answer: Redis 7.0 stores every list as a quicklist.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Heap bytes owned by this value (MEMORY USAGE, maxmemory accounting).
    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>() + self.nodes.iter().map(Node::capacity).sum::<usize>()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of nodes (DEBUG, tests).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn push(&mut self, end: End, v: &[u8]) {
        match end {
            End::Head => self.push_front(v),
            End::Tail => self.push_back(v),
        }
    }

    pub fn push_back(&mut self, v: &[u8]) {
        let size = entry_size(v.len());
        match self.nodes.back_mut() {
            Some(n) if self.limit.allows(n, size) => n.push_back(v),
            _ => {
                let mut n = Node::with_capacity(size);
                n.push_back(v);
                self.nodes.push_back(n);
            }
        }
        self.len += 1;
    }

    pub fn push_front(&mut self, v: &[u8]) {
        let size = entry_size(v.len());
        let room = self.limit.max_bytes();
        match self.nodes.front_mut() {
            Some(n) if self.limit.allows(n, size) => n.push_front(v, room),
            _ => {
                let mut n = Node::with_capacity(size);
                n.push_back(v);
                self.nodes.push_front(n);
            }
        }
        self.len += 1;
    }

    /// The element at `end`.
    pub fn peek(&self, end: End) -> Option<&[u8]> {
        match end {
            End::Head => self.nodes.front().map(Node::front),
            End::Tail => self.nodes.back().map(Node::back),
        }
    }

    /// Removes and returns the element at `end`.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let v = self.peek(end)?.to_vec();
        self.remove_end(end, 1);
        Some(v)
    }

    /// Removes up to `n` elements from `end`.
    pub fn remove_end(&mut self, end: End, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let node = match end {
                End::Head => self.nodes.front_mut(),
                End::Tail => self.nodes.back_mut(),
            };
            let Some(node) = node else { break };
            if node.count() <= n {
                n -= node.count();
                match end {
                    End::Head => self.nodes.pop_front(),
                    End::Tail => self.nodes.pop_back(),
                };
            } else {
                match end {
                    End::Head => node.drop_front(n),
                    End::Tail => node.drop_back(n),
                }
                n = 0;
            }
        }
    }

    /// The node holding element `index` (< len) and the element's position in it.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        if index < self.len / 2 {
            let mut i = index;
            for (ni, n) in self.nodes.iter().enumerate() {
                if i < n.count() {
                    return Some((ni, i));
                }
                i -= n.count();
            }
        } else {
            // Count from the tail: `back` elements lie after the wanted one.
            let mut back = self.len - 1 - index;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                if back < n.count() {
                    return Some((ni, n.count() - 1 - back));
                }
                back -= n.count();
            }
        }
        None
    }

    /// Normalises a Redis index (negative counts from the tail) to a position, if in range.
    pub fn resolve_index(&self, index: i64) -> Option<usize> {
        let len = i64::try_from(self.len).ok()?;
        let i = if index < 0 { len.checked_add(index)? } else { index };
        if i < 0 || i >= len {
            return None;
        }
        usize::try_from(i).ok()
    }

    /// The element at position `index`.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let (ni, i) = self.locate(index)?;
        let n = self.nodes.get(ni)?;
        Some(n.entry_at(n.offset_of(i)).0)
    }

    /// Replaces the element at position `index`; false if out of range.
    pub fn set(&mut self, index: usize, v: &[u8]) -> bool {
        let Some((ni, i)) = self.locate(index) else { return false };
        let Some(n) = self.nodes.get_mut(ni) else { return false };
        let off = n.offset_of(i);
        n.replace(off, v);
        self.split_if_oversized(ni);
        true
    }

    /// Inserts `v` before (or `after`) the first element equal to `pivot`; false if there is none.
    pub fn insert_at_pivot(&mut self, pivot: &[u8], v: &[u8], after: bool) -> bool {
        let mut found = None;
        'outer: for (ni, n) in self.nodes.iter().enumerate() {
            let data = n.data();
            let mut pos = 0;
            while pos < data.len() {
                let (s, l, next) = decode_fwd(data, pos);
                if &data[s..s + l] == pivot {
                    found = Some((ni, if after { next } else { pos }));
                    break 'outer;
                }
                pos = next;
            }
        }
        let Some((ni, off)) = found else { return false };
        let Some(n) = self.nodes.get_mut(ni) else { return false };
        n.insert(off, v);
        self.len += 1;
        self.split_if_oversized(ni);
        true
    }

    /// Splits node `ni` in halves while it is over the limit (after an insert or a replace in the middle).
    fn split_if_oversized(&mut self, ni: usize) {
        // Halves are checked again, left first; each split leaves fewer entries per node, so this ends.
        let mut i = ni;
        let mut end = ni + 1;
        while i < end {
            let Some(n) = self.nodes.get_mut(i) else { break };
            if self.limit.oversized(n) {
                let tail = n.split_off(n.count() / 2);
                self.nodes.insert(i + 1, tail);
                end += 1;
            } else {
                i += 1;
            }
        }
    }

    /// Removes elements equal to `v`: at most `max` of them (0: all), scanning from `end`. Returns how many.
    pub fn remove_matching(&mut self, v: &[u8], max: u64, end: End) -> usize {
        let mut left = if max == 0 { usize::MAX } else { usize::try_from(max).unwrap_or(usize::MAX) };
        let mut removed = 0;
        let n_nodes = self.nodes.len();
        for k in 0..n_nodes {
            if left == 0 {
                break;
            }
            let ni = match end {
                End::Head => k,
                End::Tail => n_nodes - 1 - k,
            };
            let Some(node) = self.nodes.get_mut(ni) else { break };
            let hits = node.count_matches(v);
            if hits == 0 {
                continue;
            }
            let take = hits.min(left);
            let skip = match end {
                End::Head => 0,
                End::Tail => hits - take,
            };
            let r = node.remove_matches(v, skip, take);
            removed += r;
            left -= r;
        }
        if removed > 0 {
            self.len -= removed;
            self.nodes.retain(|n| n.count() > 0);
            self.merge_small_nodes();
        }
        removed
    }

    /// Joins neighbouring nodes that fit in one (one linear pass, whatever the number of nodes).
    fn merge_small_nodes(&mut self) {
        let limit = self.limit;
        let fits = |a: &Node, b: &Node| {
            a.count() + b.count() <= limit.max_entries() && a.bytes() + b.bytes() <= limit.max_bytes()
        };
        let mergeable = self.nodes.iter().zip(self.nodes.iter().skip(1)).any(|(a, b)| fits(a, b));
        if !mergeable {
            return;
        }
        let mut merged: VecDeque<Node> = VecDeque::with_capacity(self.nodes.len());
        for node in self.nodes.drain(..) {
            match merged.back_mut() {
                Some(last) if fits(last, &node) => last.append(&node),
                _ => merged.push_back(node),
            }
        }
        merged.shrink_to_fit();
        self.nodes = merged;
    }

    /// Elements head to tail.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0)
    }

    /// Elements from position `start` towards the tail.
    pub fn iter_from(&self, start: usize) -> Iter<'_> {
        match self.locate(start) {
            Some((ni, i)) => {
                let node = &self.nodes[ni];
                let off = node.offset_of(i);
                Iter { nodes: self.nodes.range(ni + 1..), cur: &node.data()[off..] }
            }
            None => Iter { nodes: self.nodes.range(0..0), cur: &[] },
        }
    }

    /// Elements tail to head.
    pub fn iter_rev(&self) -> RevIter<'_> {
        match self.len.checked_sub(1) {
            Some(last) => self.iter_rev_from(last),
            None => RevIter { nodes: self.nodes.range(0..0), cur: &[] },
        }
    }

    /// Elements from position `start` towards the head.
    pub fn iter_rev_from(&self, start: usize) -> RevIter<'_> {
        match self.locate(start) {
            Some((ni, i)) => {
                let node = &self.nodes[ni];
                let end = node.offset_of(i + 1);
                RevIter { nodes: self.nodes.range(..ni), cur: &node.data()[..end] }
            }
            None => RevIter { nodes: self.nodes.range(0..0), cur: &[] },
        }
    }
}

/// Forward iterator over a list's elements.
pub struct Iter<'a> {
    nodes: std::collections::vec_deque::Iter<'a, Node>,
    cur: &'a [u8],
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        while self.cur.is_empty() {
            self.cur = self.nodes.next()?.data();
        }
        let (s, l, next) = decode_fwd(self.cur, 0);
        let v = &self.cur[s..s + l];
        self.cur = &self.cur[next..];
        Some(v)
    }
}

/// Backward iterator over a list's elements.
pub struct RevIter<'a> {
    nodes: std::collections::vec_deque::Iter<'a, Node>,
    cur: &'a [u8],
}

impl<'a> Iterator for RevIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        while self.cur.is_empty() {
            self.cur = self.nodes.next_back()?.data();
        }
        let (s, l, start) = decode_back(self.cur, self.cur.len());
        let v = &self.cur[s..s + l];
        self.cur = &self.cur[..start];
        Some(v)
    }
}

#[cfg(test)]
mod tests;
