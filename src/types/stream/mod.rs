//! The Stream value: entries ordered by id, grouped in nodes as Redis groups them, plus consumer groups.
//!
//! Encoding choice (OBJECT ENCODING always answers `stream`): entries live in nodes kept in a `BTreeMap`
//! keyed by each node's master id (the first id appended to it), exactly where Redis would start a new
//! listpack node: a node is closed when its listpack would reach `stream-node-max-bytes` or hold
//! `stream-node-max-entries` entries (live and deleted). Shoal does not build the listpacks, but it tracks
//! their byte size ([`layout`]) so node boundaries — and so approximate trimming (`~` removes whole nodes
//! only), `XINFO STREAM`'s `radix-tree-keys` and `radix-tree-nodes` — match Redis for the same history.
//! Inside a node the entries are packed back to back in one byte buffer (`node`), indexed by id; a deleted
//! entry leaves its bytes and a counter behind (Redis flags it inside the listpack), and a node whose entries
//! are all deleted by XDEL is dropped, as in Redis.
//!
//! Redis 7.0 metadata is kept as Redis keeps it: `last_id`, `first_id` (the "recorded first entry id"),
//! `max_deleted_entry_id`, `entries_added`, and per group `entries_read` for the lag.
//!
//! For persistence (RDB, AOF): [`Stream::iter`] (owned) / [`Stream::entries`] (borrowed) yield the live
//! entries in order, the metadata fields are public, groups are in [`Stream::groups`];
//! [`Stream::from_parts`] rebuilds a stream from entries and metadata (nodes cut by the configured limits),
//! [`Stream::push_node`] keeps a loaded file's own node boundaries.

pub mod group;
pub mod id;
pub mod layout;
mod node;

use std::collections::BTreeMap;
use std::ops::Bound;

pub use group::{Consumer, ConsumerGroup, Pending, ENTRIES_READ_INVALID};
pub use id::{parse_id, ParsedId, StreamId};
pub use node::{EntryRef, Fields};

use node::Node;

/// An owned entry (for building streams): its id and its field/value pairs, flattened (`[f1, v1, ...]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEntry {
    pub id: StreamId,
    pub fields: Vec<Vec<u8>>,
}

/// Node size limits (`stream-node-max-bytes`, `stream-node-max-entries`; 0 = no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLimits {
    pub max_bytes: u64,
    pub max_entries: u64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits { max_bytes: 4096, max_entries: 100 }
    }
}

/// What a trim keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrimStrategy {
    MaxLen(u64),
    MinId(StreamId),
}

/// A trim request (XTRIM, XADD's trimming options).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trim {
    pub strategy: TrimStrategy,
    /// `~`: remove whole nodes only.
    pub approx: bool,
    /// Most entries to remove (0: no limit); whole nodes beyond it are kept.
    pub limit: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    length: u64,
    /// Id of the last entry ever added (or set by XSETID).
    pub last_id: StreamId,
    /// Id of the first live entry as Redis records it.
    pub first_id: StreamId,
    /// Greatest id ever deleted with XDEL (or set by XSETID).
    pub max_deleted_entry_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups by name (ordered as Redis's rax).
    pub groups: BTreeMap<Vec<u8>, ConsumerGroup>,
}

impl Stream {
    pub fn new() -> Self {
        Self::default()
    }

    /// `OBJECT ENCODING`'s answer.
    pub fn encoding(&self) -> &'static str {
        "stream"
    }

    /// Heap bytes owned by this value (MEMORY USAGE, maxmemory accounting).
    pub fn heap_size(&self) -> usize {
        let mut n = 0;
        for node in self.nodes.values() {
            n += node.heap_size() + 64;
        }
        n + self.groups.iter().map(|(k, g)| k.len() + 64 + g.heap_size()).sum::<usize>()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Number of listpack nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of rax nodes Redis would use for this stream's node keys (XINFO's `radix-tree-nodes`).
    pub fn rax_node_count(&self) -> u64 {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(StreamId::to_be_bytes).collect();
        layout::rax_nodes(&keys)
    }

    /// The id an auto-id XADD would get at `now_ms` (None once the last possible id was used).
    pub fn next_auto_id(&self, now_ms: u64) -> Option<StreamId> {
        if now_ms > self.last_id.ms {
            Some(StreamId::new(now_ms, 0))
        } else {
            self.last_id.incr()
        }
    }

    /// The id XADD would use for an explicit `given` id (`<ms>-*` completes the sequence); None when it is
    /// not greater than the last id (Redis's "equal or smaller than the target stream top item").
    pub fn explicit_id(&self, given: ParsedId) -> Option<StreamId> {
        let id = if given.seq_given {
            given.id
        } else if self.last_id.ms == given.id.ms {
            if self.last_id.seq == u64::MAX {
                return None;
            }
            StreamId::new(given.id.ms, self.last_id.seq + 1)
        } else {
            given.id
        };
        (id > self.last_id).then_some(id)
    }

    /// Appends an entry; `id` must be greater than `last_id` and `fields` hold pairs.
    pub fn append(&mut self, id: StreamId, fields: &[&[u8]], limits: NodeLimits) {
        let total: u64 = fields.iter().map(|f| f.len() as u64).sum();
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > layout::LP_MAX_SIZE {
            layout::LP_MAX_SIZE
        } else {
            limits.max_bytes
        };
        let tail_fits = self.nodes.last_key_value().is_some_and(|(_, n)| {
            (n.lp_bytes as u64).saturating_add(total) < max_bytes
                && (limits.max_entries == 0 || (n.len() as u64).saturating_add(n.deleted) < limits.max_entries)
        });
        match self.nodes.last_entry() {
            Some(mut tail) if tail_fits => {
                let master = *tail.key();
                tail.get_mut().push(master, id, fields);
            }
            _ => {
                self.nodes.insert(id, Node::new(id, fields));
            }
        }
        self.length += 1;
        self.entries_added = self.entries_added.wrapping_add(1);
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
    }

    /// The first node's key: the first id still stored, deleted or not (Redis's `streamGetEdgeID` without
    /// skipping tombstones).
    pub fn first_node_key(&self) -> Option<StreamId> {
        self.nodes.keys().next().copied()
    }

    /// The key of the node that would hold `id`.
    fn node_key_for(&self, id: StreamId) -> Option<StreamId> {
        self.nodes.range(..=id).next_back().map(|(k, _)| *k)
    }

    /// The live entry `id`.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        let node = self.nodes.get(&self.node_key_for(id)?)?;
        let i = node.ids().binary_search(&id).ok()?;
        node.entry(i)
    }

    /// Deletes entry `id` (XDEL's core, without the metadata updates); true if it existed.
    fn remove_entry(&mut self, id: StreamId) -> bool {
        let Some(key) = self.node_key_for(id) else { return false };
        let Some(node) = self.nodes.get_mut(&key) else { return false };
        let Ok(i) = node.ids().binary_search(&id) else { return false };
        if node.len() == 1 {
            self.nodes.remove(&key);
        } else {
            node.remove(i);
        }
        self.length -= 1;
        true
    }

    /// XDEL: deletes the given ids, updating the max deleted id and the first id; returns how many existed.
    pub fn delete(&mut self, ids: &[StreamId]) -> u64 {
        let mut deleted = 0;
        let mut first_gone = false;
        for &id in ids {
            if self.remove_entry(id) {
                deleted += 1;
                if id > self.max_deleted_entry_id {
                    self.max_deleted_entry_id = id;
                }
                if id == self.first_id {
                    first_gone = true;
                }
            }
        }
        if deleted > 0 {
            if self.length == 0 {
                self.first_id = StreamId::MIN;
            } else if first_gone {
                self.first_id = self.first_live_id().unwrap_or(StreamId::MAX);
            }
        }
        deleted
    }

    fn first_live_id(&self) -> Option<StreamId> {
        self.nodes.values().find_map(|n| n.ids().first().copied())
    }

    fn last_live_id(&self) -> Option<StreamId> {
        self.nodes.values().rev().find_map(|n| n.ids().last().copied())
    }

    /// The first live entry.
    pub fn first_entry(&self) -> Option<EntryRef<'_>> {
        self.nodes.values().find_map(|n| n.entry(0))
    }

    /// The last live entry.
    pub fn last_entry(&self) -> Option<EntryRef<'_>> {
        self.nodes.values().rev().find_map(|n| n.len().checked_sub(1).and_then(|i| n.entry(i)))
    }

    /// Trims as Redis's `streamTrim`; returns the number of entries removed.
    pub fn trim(&mut self, t: Trim) -> u64 {
        let mut removed: u64 = 0;
        loop {
            if let TrimStrategy::MaxLen(max) = t.strategy {
                if self.length <= max {
                    break;
                }
            }
            let Some(mut first) = self.nodes.first_entry() else { break };
            let node = first.get_mut();
            let live = node.len() as u64;
            if t.limit != 0 && removed + live > t.limit {
                break;
            }
            let whole = match t.strategy {
                TrimStrategy::MaxLen(max) => self.length - live >= max,
                TrimStrategy::MinId(min) => node.last_id < min,
            };
            if whole {
                first.remove();
                self.length -= live;
                removed += live;
                continue;
            }
            if t.approx {
                break;
            }
            let mut n = 0usize;
            for &id in node.ids() {
                let stop = match t.strategy {
                    TrimStrategy::MaxLen(max) => self.length - n as u64 <= max,
                    TrimStrategy::MinId(min) => id >= min,
                };
                if stop {
                    break;
                }
                n += 1;
            }
            node.remove_front(n);
            self.length -= n as u64;
            removed += n as u64;
            break;
        }
        if removed > 0 {
            self.first_id = self.first_live_id().unwrap_or(StreamId::MIN);
        }
        removed
    }

    /// Calls `f` on the live entries with ids in `[start, end]`, ascending (or descending when `rev`), until
    /// `f` returns false.
    pub fn range<'a>(&'a self, start: StreamId, end: StreamId, rev: bool, mut f: impl FnMut(EntryRef<'a>) -> bool) {
        if start > end {
            return;
        }
        let from = self.node_key_for(start).unwrap_or(start);
        let nodes = self.nodes.range((Bound::Included(from), Bound::Included(end)));
        if rev {
            for node in nodes.rev().map(|(_, n)| n) {
                let hi = node.ids().partition_point(|&id| id <= end);
                for i in (0..hi).rev() {
                    let Some(e) = node.entry(i) else { return };
                    if e.id < start || !f(e) {
                        return;
                    }
                }
            }
        } else {
            for node in nodes.map(|(_, n)| n) {
                let lo = node.ids().partition_point(|&id| id < start);
                for i in lo..node.len() {
                    let Some(e) = node.entry(i) else { return };
                    if e.id > end || !f(e) {
                        return;
                    }
                }
            }
        }
    }

    /// Every live entry in id order, borrowed (no copies).
    pub fn entries(&self) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        self.nodes.values().flat_map(|n| (0..n.len()).filter_map(move |i| n.entry(i)))
    }

    /// Every live entry in id order, as owned [`StreamEntry`] values (for RDB/AOF writers).
    pub fn iter(&self) -> impl Iterator<Item = StreamEntry> + '_ {
        self.entries().map(|e| e.to_owned_entry())
    }

    /// Rebuilds a stream from its live entries (ascending ids) and metadata, with nodes cut by `limits`.
    /// Entries not greater than the previous one are skipped.
    pub fn from_parts(
        entries: impl IntoIterator<Item = StreamEntry>,
        last_id: StreamId,
        first_id: StreamId,
        max_deleted_entry_id: StreamId,
        entries_added: u64,
        groups: BTreeMap<Vec<u8>, ConsumerGroup>,
        limits: NodeLimits,
    ) -> Stream {
        let mut s = Stream::new();
        for e in entries {
            if s.length > 0 && e.id <= s.last_id {
                continue;
            }
            let refs: Vec<&[u8]> = e.fields.iter().map(Vec::as_slice).collect();
            s.append(e.id, &refs, limits);
        }
        s.last_id = last_id.max(s.last_id);
        if s.length > 0 {
            s.first_id = first_id;
        }
        s.max_deleted_entry_id = max_deleted_entry_id;
        s.entries_added = entries_added.max(s.length);
        s.groups = groups;
        s
    }

    /// Appends a node exactly as an RDB file holds it, keeping Redis's node boundaries (so `XINFO STREAM` and
    /// approximate trimming behave as on the server that wrote it): its key (`master`), the master entry's
    /// field names, its live entries (ascending, all greater than every entry already present; others are
    /// skipped), its count of deleted entries, the last id it holds (live or deleted) and its listpack size.
    /// Updates the length; the metadata fields are the caller's to set.
    pub fn push_node(
        &mut self,
        master: StreamId,
        master_fields: Vec<Vec<u8>>,
        entries: &[StreamEntry],
        deleted: u64,
        last_id: StreamId,
        lp_bytes: usize,
    ) {
        let floor = self.last_entry_id();
        let fresh: Vec<StreamEntry> = entries.iter().filter(|e| floor.is_none_or(|f| e.id > f)).cloned().collect();
        if self.nodes.last_key_value().is_some_and(|(k, _)| *k >= master) {
            return;
        }
        let node = Node::from_parts(master_fields, &fresh, deleted, last_id, lp_bytes);
        self.length += node.len() as u64;
        self.nodes.insert(master, node);
    }

    /// Whether a deleted entry may lie in `[start, +inf)` (Redis's `streamRangeHasTombstones`).
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_entry_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_entry_id {
            return false;
        }
        start <= self.max_deleted_entry_id
    }

    /// The logical read counter of `id`, when knowable (Redis's `streamEstimateDistanceFromFirstEverEntry`).
    pub fn estimate_distance(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted_entry_id.is_zero() || self.max_deleted_entry_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added.wrapping_sub(self.length));
            }
            if id == self.first_id {
                return Some(self.entries_added.wrapping_sub(self.length).wrapping_add(1));
            }
        }
        None
    }

    /// A group's lag (XINFO GROUPS), None when it cannot be known.
    pub fn group_lag(&self, g: &ConsumerGroup) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != ENTRIES_READ_INVALID && !self.has_tombstones_from(g.last_id) {
            return Some((self.entries_added as i64).wrapping_sub(g.entries_read));
        }
        self.estimate_distance(g.last_id).map(|read| (self.entries_added as i64).wrapping_sub(read as i64))
    }

    /// Advances a group's last id after delivering `id` with `>` (updating its read counter as Redis does).
    pub fn advance_group(&mut self, group: &[u8], id: StreamId) {
        let tombstones = self.has_tombstones_from(id);
        let estimate = self.estimate_distance(id);
        let added = self.entries_added;
        let Some(g) = self.groups.get_mut(group) else { return };
        if id > g.last_id {
            if g.entries_read != ENTRIES_READ_INVALID && !tombstones {
                g.entries_read = g.entries_read.wrapping_add(1);
            } else if added != 0 {
                g.entries_read = estimate.map_or(ENTRIES_READ_INVALID, |v| v as i64);
            }
            g.last_id = id;
        }
    }

    /// Live ids in `[start, end]` bounded by `count` (for the model tests and simple callers).
    pub fn ids(&self, start: StreamId, end: StreamId, count: usize) -> Vec<StreamId> {
        let mut out = Vec::new();
        self.range(start, end, false, |e| {
            out.push(e.id);
            out.len() < count
        });
        out
    }

    /// The id of the last live entry, if any.
    pub fn last_entry_id(&self) -> Option<StreamId> {
        self.last_live_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(s: &mut Stream, ms: u64, limits: NodeLimits) {
        s.append(StreamId::new(ms, 0), &[b"f", b"v"], limits);
    }

    #[test]
    fn nodes_split_by_entries_and_approx_trim_keeps_nodes() {
        let limits = NodeLimits { max_bytes: 4096, max_entries: 10 };
        let mut s = Stream::new();
        for ms in 1..=35 {
            add(&mut s, ms, limits);
        }
        assert_eq!(s.node_count(), 4);
        let t = Trim { strategy: TrimStrategy::MaxLen(20), approx: true, limit: 0 };
        assert_eq!(s.trim(t), 10);
        assert_eq!(s.len(), 25);
        assert_eq!(s.first_id, StreamId::new(11, 0));
        let t = Trim { strategy: TrimStrategy::MaxLen(20), approx: false, limit: 0 };
        assert_eq!(s.trim(t), 5);
        assert_eq!(s.ids(StreamId::MIN, StreamId::MAX, 1).first(), Some(&StreamId::new(16, 0)));
    }

    #[test]
    fn push_node_keeps_loaded_boundaries() {
        let e = |ms: u64| StreamEntry { id: StreamId::new(ms, 0), fields: vec![b"f".to_vec(), b"v".to_vec()] };
        let mut s = Stream::new();
        s.push_node(StreamId::new(1, 0), vec![b"f".to_vec()], &[e(1), e(2)], 1, StreamId::new(3, 0), 40);
        s.push_node(StreamId::new(4, 0), vec![b"f".to_vec()], &[e(4)], 0, StreamId::new(4, 0), 30);
        // Out of order: ignored.
        s.push_node(StreamId::new(2, 0), vec![b"f".to_vec()], &[e(2)], 0, StreamId::new(2, 0), 30);
        assert_eq!((s.len(), s.node_count()), (3, 2));
        assert_eq!(s.iter().map(|e| e.id.ms).collect::<Vec<_>>(), vec![1, 2, 4]);
        // MINID ~ 4 drops the first node whole (its last id, 3-0, is below 4-0).
        let t = Trim { strategy: TrimStrategy::MinId(StreamId::new(4, 0)), approx: true, limit: 0 };
        assert_eq!(s.trim(t), 2);
    }

    #[test]
    fn delete_updates_metadata() {
        let mut s = Stream::new();
        for ms in 1..=3 {
            add(&mut s, ms, NodeLimits::default());
        }
        assert_eq!(s.delete(&[StreamId::new(1, 0), StreamId::new(9, 0)]), 1);
        assert_eq!(s.first_id, StreamId::new(2, 0));
        assert_eq!(s.max_deleted_entry_id, StreamId::new(1, 0));
        let mut seen = Vec::new();
        s.range(StreamId::MIN, StreamId::MAX, true, |e| {
            seen.push(e.id.ms);
            true
        });
        assert_eq!(seen, vec![3, 2]);
    }
}
