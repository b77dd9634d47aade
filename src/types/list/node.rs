//! One node of a [`super::List`]: a run of elements packed into a single byte buffer.
//!
//! Entry layout: `len` as a little-endian base-128 varint, the element's bytes, then the same varint bytes in
//! reverse order. The trailing copy makes the entry readable from its end, so a node can be walked from either
//! side (RPOP, negative indexes, LPOS with a negative RANK) without any per-element pointer: an element shorter
//! than 128 bytes costs two bytes of overhead, like a listpack entry.
//!
//! The live bytes are `buf[head..]`. Popping from the front advances `head`; pushing to the front reuses that
//! room and, when there is none, re-lays the node out with fresh head room proportional to its size, so
//! LPUSH/LPOP are amortised O(1) just like RPUSH/RPOP. All offsets in this API are relative to `head`.
//!
//! Every byte decoded here was written by this module, so the decoding trusts its input.

/// Most bytes a length varint takes (a `usize` of 64 bits).
const MAX_VARINT: usize = 10;

/// Encodes `n` as a varint into a stack buffer; returns it and its length.
#[inline]
fn varint(mut n: usize) -> ([u8; MAX_VARINT], usize) {
    let mut out = [0u8; MAX_VARINT];
    let mut i = 0;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out[i] = b;
            return (out, i + 1);
        }
        out[i] = b | 0x80;
        i += 1;
    }
}

/// Bytes an element of `len` bytes takes in a node.
#[inline]
pub(super) fn entry_size(len: usize) -> usize {
    2 * varint(len).1 + len
}

/// Writes the entry for `v` into `dst`, which is exactly `entry_size(v.len())` long.
#[inline]
fn write_entry(dst: &mut [u8], v: &[u8]) {
    let (hdr, hl) = varint(v.len());
    dst[..hl].copy_from_slice(&hdr[..hl]);
    dst[hl..hl + v.len()].copy_from_slice(v);
    let tail = &mut dst[hl + v.len()..];
    for (d, s) in tail.iter_mut().zip(hdr[..hl].iter().rev()) {
        *d = *s;
    }
}

/// Decodes the entry starting at `pos`: (value start, value length, start of the next entry).
#[inline]
pub(super) fn decode_fwd(data: &[u8], pos: usize) -> (usize, usize, usize) {
    let first = data[pos];
    if first < 0x80 {
        let len = first as usize;
        return (pos + 1, len, pos + 2 + len);
    }
    let mut len = 0usize;
    let mut shift = 0;
    let mut i = pos;
    loop {
        let b = data[i];
        len |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let hl = i - pos;
    (i, len, i + len + hl)
}

/// Decodes the entry ending at `end`: (value start, value length, start of this entry).
#[inline]
pub(super) fn decode_back(data: &[u8], end: usize) -> (usize, usize, usize) {
    let last = data[end - 1];
    if last < 0x80 {
        let len = last as usize;
        let start = end - 2 - len;
        return (start + 1, len, start);
    }
    let mut len = 0usize;
    let mut shift = 0;
    let mut i = end;
    loop {
        i -= 1;
        let b = data[i];
        len |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let hl = end - i;
    let start = i - len - hl;
    (start + hl, len, start)
}

#[derive(Clone, Default)]
pub(super) struct Node {
    buf: Vec<u8>,
    head: usize,
    count: usize,
}

impl Node {
    pub(super) fn with_capacity(bytes: usize) -> Node {
        Node { buf: Vec::with_capacity(bytes), head: 0, count: 0 }
    }

    /// The packed entries.
    #[inline]
    pub(super) fn data(&self) -> &[u8] {
        &self.buf[self.head..]
    }

    /// Live bytes.
    #[inline]
    pub(super) fn bytes(&self) -> usize {
        self.buf.len() - self.head
    }

    #[inline]
    pub(super) fn count(&self) -> usize {
        self.count
    }

    pub(super) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    pub(super) fn push_back(&mut self, v: &[u8]) {
        let size = entry_size(v.len());
        let at = self.buf.len();
        // Grow by an eighth at least (not Vec's doubling): the allocator's size classes absorb most of these
        // reallocations in place, and a node wastes little room.
        if at + size > self.buf.capacity() {
            self.buf.reserve_exact(size.max(at / 8));
        }
        self.buf.resize(at + size, 0);
        write_entry(&mut self.buf[at..], v);
        self.count += 1;
    }

    /// Pushes at the front; `max_headroom` bounds the room reserved for further front pushes.
    pub(super) fn push_front(&mut self, v: &[u8], max_headroom: usize) {
        let size = entry_size(v.len());
        if self.head < size {
            let live = self.bytes();
            let headroom = (live / 4).clamp(16, max_headroom.max(16)).max(size);
            let mut buf = Vec::with_capacity(headroom + live);
            buf.resize(headroom, 0);
            buf.extend_from_slice(self.data());
            self.buf = buf;
            self.head = headroom;
        }
        self.head -= size;
        write_entry(&mut self.buf[self.head..self.head + size], v);
        self.count += 1;
    }

    pub(super) fn front(&self) -> &[u8] {
        let data = self.data();
        let (s, l, _) = decode_fwd(data, 0);
        &data[s..s + l]
    }

    pub(super) fn back(&self) -> &[u8] {
        let data = self.data();
        let (s, l, _) = decode_back(data, data.len());
        &data[s..s + l]
    }

    /// Drops the first `n` entries (at most `count`).
    pub(super) fn drop_front(&mut self, n: usize) {
        let off = self.offset_of(n.min(self.count));
        self.head += off;
        self.count -= n.min(self.count);
        if self.count == 0 {
            self.buf.clear();
            self.head = 0;
        } else if self.head > 4096 && self.head > 2 * self.bytes() {
            // Mostly dead room: give it back.
            self.buf.drain(..self.head);
            self.buf.shrink_to_fit();
            self.head = 0;
        }
    }

    /// Drops the last `n` entries (at most `count`).
    pub(super) fn drop_back(&mut self, n: usize) {
        let n = n.min(self.count);
        let keep = self.offset_of(self.count - n);
        self.buf.truncate(self.head + keep);
        self.count -= n;
        if self.count == 0 {
            self.buf.clear();
            self.head = 0;
        }
    }

    /// Offset of entry `i` (`i == count` gives the end), walking from the nearer side.
    pub(super) fn offset_of(&self, i: usize) -> usize {
        let data = self.data();
        if i <= self.count / 2 {
            let mut pos = 0;
            for _ in 0..i {
                pos = decode_fwd(data, pos).2;
            }
            pos
        } else {
            let mut pos = data.len();
            for _ in i..self.count {
                pos = decode_back(data, pos).2;
            }
            pos
        }
    }

    /// The element at offset `off` and the offset of the next entry.
    #[inline]
    pub(super) fn entry_at(&self, off: usize) -> (&[u8], usize) {
        let data = self.data();
        let (s, l, next) = decode_fwd(data, off);
        (&data[s..s + l], next)
    }

    /// Replaces the entry at offset `off` with `v`.
    pub(super) fn replace(&mut self, off: usize, v: &[u8]) {
        let (_, _, next) = decode_fwd(self.data(), off);
        let mut enc = vec![0u8; entry_size(v.len())];
        write_entry(&mut enc, v);
        let base = self.head;
        self.buf.splice(base + off..base + next, enc);
    }

    /// Inserts `v` as a new entry at offset `off` (before the entry there; `bytes()` appends).
    pub(super) fn insert(&mut self, off: usize, v: &[u8]) {
        let mut enc = vec![0u8; entry_size(v.len())];
        write_entry(&mut enc, v);
        let at = self.head + off;
        self.buf.splice(at..at, enc);
        self.count += 1;
    }

    /// Moves entries `at..` into a new node.
    pub(super) fn split_off(&mut self, at: usize) -> Node {
        let off = self.offset_of(at);
        let tail = self.buf.split_off(self.head + off);
        let moved = self.count - at;
        self.count = at;
        self.buf.shrink_to_fit();
        Node { buf: tail, head: 0, count: moved }
    }

    /// Appends every entry of `other`.
    pub(super) fn append(&mut self, other: &Node) {
        self.buf.extend_from_slice(other.data());
        self.count += other.count;
    }

    /// Removes the entries equal to `v`, skipping the first `skip` matches and removing at most `max` after
    /// them. Returns how many were removed.
    pub(super) fn remove_matches(&mut self, v: &[u8], mut skip: usize, max: usize) -> usize {
        let data = self.data();
        let mut kept: Option<Vec<u8>> = None;
        let mut removed = 0;
        let mut pos = 0;
        while pos < data.len() {
            let (s, l, next) = decode_fwd(data, pos);
            let hit = removed < max && &data[s..s + l] == v && {
                if skip > 0 {
                    skip -= 1;
                    false
                } else {
                    true
                }
            };
            if hit {
                if kept.is_none() {
                    let mut k = Vec::with_capacity(data.len());
                    k.extend_from_slice(&data[..pos]);
                    kept = Some(k);
                }
                removed += 1;
            } else if let Some(k) = kept.as_mut() {
                k.extend_from_slice(&data[pos..next]);
            }
            pos = next;
        }
        if let Some(k) = kept {
            self.buf = k;
            self.head = 0;
            self.count -= removed;
        }
        removed
    }

    /// Number of entries equal to `v`.
    pub(super) fn count_matches(&self, v: &[u8]) -> usize {
        let data = self.data();
        let mut n = 0;
        let mut pos = 0;
        while pos < data.len() {
            let (s, l, next) = decode_fwd(data, pos);
            if &data[s..s + l] == v {
                n += 1;
            }
            pos = next;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(n: &Node) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < n.bytes() {
            let (v, next) = n.entry_at(pos);
            out.push(v.to_vec());
            pos = next;
        }
        // The backward walk agrees.
        let mut back = Vec::new();
        let mut end = n.bytes();
        while end > 0 {
            let (s, l, start) = decode_back(n.data(), end);
            back.push(n.data()[s..s + l].to_vec());
            end = start;
        }
        back.reverse();
        assert_eq!(out, back);
        assert_eq!(out.len(), n.count());
        out
    }

    #[test]
    fn entries_round_trip_both_ways_at_every_varint_width() {
        let mut n = Node::default();
        let sizes = [0usize, 1, 127, 128, 300, 16383, 16384, 70000];
        for &s in &sizes {
            n.push_back(&vec![b'x'; s]);
            n.push_front(&vec![b'y'; s], 8192);
        }
        let got = contents(&n);
        assert_eq!(got.len(), 2 * sizes.len());
        assert_eq!(got[0].len(), 70000);
        assert_eq!(got[got.len() - 1].len(), 70000);
        assert_eq!(n.front(), &vec![b'y'; 70000][..]);
        assert_eq!(n.back(), &vec![b'x'; 70000][..]);
    }

    #[test]
    fn edits_keep_the_node_consistent() {
        let mut n = Node::default();
        for v in ["a", "b", "c", "b", "d"] {
            n.push_back(v.as_bytes());
        }
        let off = n.offset_of(2);
        n.replace(off, b"long-long-long");
        n.insert(n.offset_of(1), b"z");
        assert_eq!(
            contents(&n),
            vec![b"a".to_vec(), b"z".to_vec(), b"b".to_vec(), b"long-long-long".to_vec(), b"b".to_vec(), b"d".to_vec()]
        );
        assert_eq!(n.remove_matches(b"b", 1, 5), 1);
        assert_eq!(n.count_matches(b"b"), 1);
        let tail = n.split_off(3);
        assert_eq!(contents(&tail), vec![b"long-long-long".to_vec(), b"d".to_vec()]);
        n.drop_front(1);
        n.drop_back(1);
        assert_eq!(contents(&n), vec![b"z".to_vec()]);
        n.append(&tail);
        assert_eq!(n.count(), 3);
        n.drop_front(5);
        assert_eq!(n.count(), 0);
        assert_eq!(n.bytes(), 0);
    }
}
