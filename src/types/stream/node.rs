//! One stream node: the entries Redis would keep in one listpack, packed in one byte buffer.
//!
//! Each entry is written once, back to back, as `varint(item count)` then `varint(len) bytes` per field and
//! value; live entries are indexed by two parallel vectors (ids, byte offsets), so an entry costs 20 bytes of
//! index plus its packed bytes. Deleting an entry only drops its index slot: its bytes stay until the node is
//! freed, as Redis's deleted-flagged listpack entries do (Redis never compacts a node either).

use super::id::StreamId;
use super::layout;

/// A live entry, borrowed from its node.
#[derive(Clone, Copy, Debug)]
pub struct EntryRef<'a> {
    pub id: StreamId,
    /// The packed entry: item count, then the items.
    data: &'a [u8],
}

fn read_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    let mut shift = 0;
    loop {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

impl<'a> EntryRef<'a> {
    /// Number of items (fields and values).
    pub fn len(&self) -> usize {
        let mut pos = 0;
        read_varint(self.data, &mut pos).unwrap_or(0) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items: field, value, field, value...
    pub fn fields(&self) -> Fields<'a> {
        let mut pos = 0;
        let left = read_varint(self.data, &mut pos).unwrap_or(0) as usize;
        Fields { data: self.data, pos, left }
    }

    pub fn to_owned_entry(&self) -> super::StreamEntry {
        super::StreamEntry { id: self.id, fields: self.fields().map(<[u8]>::to_vec).collect() }
    }
}

/// Iterator over an entry's items.
pub struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let len = read_varint(self.data, &mut self.pos)? as usize;
        let item = self.data.get(self.pos..self.pos.checked_add(len)?)?;
        self.pos += len;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Node {
    /// The field names of the node's first entry (the listpack's master entry).
    master_fields: Vec<Vec<u8>>,
    /// Ids of the live entries, ascending.
    ids: Vec<StreamId>,
    /// Offset in `data` of each live entry.
    offsets: Vec<u32>,
    data: Vec<u8>,
    /// Entries flagged deleted (still counted in the listpack).
    pub deleted: u64,
    /// The last id appended to the node, live or deleted.
    pub last_id: StreamId,
    /// The node's listpack size in bytes (`lpBytes`).
    pub lp_bytes: usize,
}

impl Node {
    /// A node whose master entry takes its field names from `fields` (the first entry, appended too).
    pub fn new(id: StreamId, fields: &[&[u8]]) -> Node {
        let lp_bytes = layout::master_bytes(fields) + layout::entry_bytes(id, id, fields, true);
        let master_fields = fields.iter().step_by(2).map(|f| f.to_vec()).collect();
        let mut node = Node {
            master_fields,
            ids: Vec::new(),
            offsets: Vec::new(),
            data: Vec::new(),
            deleted: 0,
            last_id: id,
            lp_bytes,
        };
        node.write(id, fields);
        node
    }

    /// A node as a persisted listpack describes it: master field names, live entries (ascending), deleted
    /// count, last id held (live or deleted) and listpack size.
    pub fn from_parts(
        master_fields: Vec<Vec<u8>>,
        entries: &[super::StreamEntry],
        deleted: u64,
        last_id: StreamId,
        lp_bytes: usize,
    ) -> Node {
        let mut node =
            Node { master_fields, ids: Vec::new(), offsets: Vec::new(), data: Vec::new(), deleted, last_id, lp_bytes };
        for e in entries {
            if node.ids.last().is_some_and(|&last| e.id <= last) {
                continue;
            }
            let refs: Vec<&[u8]> = e.fields.iter().map(Vec::as_slice).collect();
            node.write(e.id, &refs);
        }
        node.last_id = node.last_id.max(node.ids.last().copied().unwrap_or_default());
        node
    }

    fn write(&mut self, id: StreamId, fields: &[&[u8]]) {
        let offset = u32::try_from(self.data.len()).unwrap_or(u32::MAX);
        push_varint(&mut self.data, fields.len() as u64);
        for f in fields {
            push_varint(&mut self.data, f.len() as u64);
            self.data.extend_from_slice(f);
        }
        self.ids.push(id);
        self.offsets.push(offset);
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn ids(&self) -> &[StreamId] {
        &self.ids
    }

    pub fn entry(&self, i: usize) -> Option<EntryRef<'_>> {
        let id = *self.ids.get(i)?;
        let start = *self.offsets.get(i)? as usize;
        Some(EntryRef { id, data: self.data.get(start..)? })
    }

    /// Appends an entry to this node (`master` is the node key), updating the listpack size.
    pub fn push(&mut self, master: StreamId, id: StreamId, fields: &[&[u8]]) {
        let same = self.master_fields.len() * 2 == fields.len()
            && self.master_fields.iter().zip(fields.iter().step_by(2)).all(|(a, b)| a == b);
        let old_live = self.len();
        self.write(id, fields);
        self.set_counters(old_live, self.deleted);
        self.lp_bytes = self.lp_bytes.saturating_add(layout::entry_bytes(id, master, fields, same));
        self.last_id = id;
    }

    /// Rewrites the master entry's live/deleted counters, adjusting the byte size.
    fn set_counters(&mut self, old_live: usize, old_deleted: u64) {
        let live = self.len() as i64;
        // Saturating: a node loaded from a file may carry any size.
        self.lp_bytes = (self.lp_bytes + layout::int_elem(live) + layout::int_elem(self.deleted as i64))
            .saturating_sub(layout::int_elem(old_live as i64) + layout::int_elem(old_deleted as i64));
    }

    /// Flags live entry `i` deleted.
    pub fn remove(&mut self, i: usize) {
        if i >= self.len() {
            return;
        }
        let (old_live, old_deleted) = (self.len(), self.deleted);
        self.ids.remove(i);
        self.offsets.remove(i);
        self.deleted = self.deleted.saturating_add(1);
        self.set_counters(old_live, old_deleted);
    }

    /// Flags the first `n` live entries deleted.
    pub fn remove_front(&mut self, n: usize) {
        let n = n.min(self.len());
        let (old_live, old_deleted) = (self.len(), self.deleted);
        self.ids.drain(..n);
        self.offsets.drain(..n);
        self.deleted = self.deleted.saturating_add(n as u64);
        self.set_counters(old_live, old_deleted);
    }

    pub fn heap_size(&self) -> usize {
        self.data.capacity()
            + self.ids.capacity() * 16
            + self.offsets.capacity() * 4
            + self.master_fields.iter().map(|f| f.capacity() + 24).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_the_packed_buffer() {
        let long = vec![b'x'; 300];
        let mut n = Node::new(StreamId::new(1, 0), &[b"f", b"v"]);
        n.push(StreamId::new(1, 0), StreamId::new(2, 0), &[b"", &long, b"a", b"\x00"]);
        let e = n.entry(1).map(|e| e.to_owned_entry());
        assert_eq!(e.map(|e| e.fields), Some(vec![b"".to_vec(), long.clone(), b"a".to_vec(), b"\x00".to_vec()]));
        n.remove(0);
        assert_eq!(n.len(), 1);
        assert_eq!(n.entry(0).map(|e| e.id), Some(StreamId::new(2, 0)));
        assert_eq!(n.entry(0).map(|e| e.len()), Some(4));
    }
}
