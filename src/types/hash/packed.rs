//! `PackedPairs`: the `listpack` encoding of a small hash — one heap buffer holding field, value, field,
//! value... each as a LEB128 length followed by its bytes, in insertion order (Redis's listpack order, which
//! HGETALL / HKEYS / HSCAN replies follow).
//!
//! Why this shape: the memory target (100,000 hashes of 10 small fields within 1.1x of redis-server)
//! leaves no room for a heap allocation per field. A one-byte length prefix is what a listpack spends too
//! (Redis adds a back-length byte per entry, which only backwards traversal needs). Lookups are linear scans
//! over at most `hash-max-listpack-entries` pairs, as in Redis. The buffer is a boxed slice, so it carries no
//! spare capacity; every change rebuilds it (listpacks realloc on every change as well).

/// Appends `n` as LEB128.
fn put_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn len_size(n: usize) -> usize {
    let mut size = 1;
    let mut n = n >> 7;
    while n != 0 {
        size += 1;
        n >>= 7;
    }
    size
}

/// The entry starting at `pos`: its bytes and the position after it. None past the end.
#[inline]
fn entry(buf: &[u8], mut pos: usize) -> Option<(&[u8], usize)> {
    let mut len = 0usize;
    let mut shift = 0;
    loop {
        let b = *buf.get(pos)?;
        pos += 1;
        len |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 56 {
            return None;
        }
    }
    let end = pos.checked_add(len)?;
    Some((buf.get(pos..end)?, end))
}

/// Where a pair lives in the buffer.
struct Found {
    start: usize,
    value_start: usize,
    end: usize,
}

/// No cached count: the struct is just the boxed slice, so `Hash` stays 16 bytes (one small allocation per
/// hash less memory); counting walks the buffer, which every insert walks anyway.
#[derive(Clone, Default)]
pub struct PackedPairs {
    buf: Box<[u8]>,
}

impl PackedPairs {
    pub fn new() -> Self {
        PackedPairs::default()
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes of the packed buffer.
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    pub fn iter(&self) -> PairIter<'_> {
        PairIter { buf: &self.buf, pos: 0 }
    }

    /// The pair of `field`, or Err(number of pairs) when absent.
    fn find(&self, field: &[u8]) -> Result<Found, usize> {
        let mut pos = 0;
        let mut n = 0;
        while pos < self.buf.len() {
            let Some((f, value_start)) = entry(&self.buf, pos) else { break };
            let Some((_, end)) = entry(&self.buf, value_start) else { break };
            if f == field {
                return Ok(Found { start: pos, value_start, end });
            }
            pos = end;
            n += 1;
        }
        Err(n)
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        let found = self.find(field).ok()?;
        entry(&self.buf, found.value_start).map(|(v, _)| v)
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.find(field).is_ok()
    }

    /// Sets `field` to `value`; returns None if the field existed, else Some(the new number of pairs) (the
    /// field is appended at the end).
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> Option<usize> {
        match self.find(field) {
            Ok(found) => {
                let mut out = Vec::with_capacity(self.buf.len() + value.len() + 10);
                out.extend_from_slice(&self.buf[..found.value_start]);
                put_len(&mut out, value.len());
                out.extend_from_slice(value);
                out.extend_from_slice(&self.buf[found.end..]);
                self.buf = out.into_boxed_slice();
                None
            }
            Err(n) => {
                let extra = len_size(field.len()) + field.len() + len_size(value.len()) + value.len();
                let mut out = Vec::with_capacity(self.buf.len() + extra);
                out.extend_from_slice(&self.buf);
                put_len(&mut out, field.len());
                out.extend_from_slice(field);
                put_len(&mut out, value.len());
                out.extend_from_slice(value);
                self.buf = out.into_boxed_slice();
                Some(n + 1)
            }
        }
    }

    /// Removes `field`; returns whether it was present.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let Ok(found) = self.find(field) else { return false };
        let mut out = Vec::with_capacity(self.buf.len() - (found.end - found.start));
        out.extend_from_slice(&self.buf[..found.start]);
        out.extend_from_slice(&self.buf[found.end..]);
        self.buf = out.into_boxed_slice();
        true
    }

    /// The start offset of every pair, for random access by index.
    pub fn offsets(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < self.buf.len() {
            out.push(pos as u32);
            let Some((_, v)) = entry(&self.buf, pos) else { break };
            let Some((_, end)) = entry(&self.buf, v) else { break };
            pos = end;
        }
        out
    }

    /// The pair starting at `offset` (an element of [`PackedPairs::offsets`]).
    pub fn pair_at(&self, offset: u32) -> Option<(&[u8], &[u8])> {
        let (f, v) = entry(&self.buf, offset as usize)?;
        let (value, _) = entry(&self.buf, v)?;
        Some((f, value))
    }
}

pub struct PairIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PairIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (f, v) = entry(self.buf, self.pos)?;
        let (value, end) = entry(self.buf, v)?;
        self.pos = end;
        Some((f, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_remove_keep_insertion_order() {
        let mut p = PackedPairs::new();
        assert_eq!(p.set(b"a", b"1"), Some(1));
        assert_eq!(p.set(b"b", &[b'x'; 300]), Some(2));
        assert_eq!(p.set(b"", b""), Some(3));
        assert_eq!(p.set(b"a", b"one"), None);
        assert_eq!(p.len(), 3);
        assert_eq!(p.get(b"a"), Some(&b"one"[..]));
        assert_eq!(p.get(b"b").map(<[u8]>::len), Some(300));
        assert_eq!(p.get(b""), Some(&b""[..]));
        let fields: Vec<&[u8]> = p.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec![&b"a"[..], b"b", b""]);
        assert!(p.remove(b"b"));
        assert!(!p.remove(b"b"));
        assert_eq!(p.len(), 2);
        let offs = p.offsets();
        assert_eq!(p.pair_at(offs[1]), Some((&b""[..], &b""[..])));
    }
}
