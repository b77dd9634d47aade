//! Redis's packed containers as they appear inside RDB strings: listpack (7.0), ziplist (RDB 6-9), intset
//! and zipmap (very old hashes). Parsers validate every header, length and terminator against the blob and
//! return owned elements; a malformed blob is an error string (the caller adds the file offset). The
//! listpack writer produces Redis's exact bytes (smallest integer encoding, backlen), for DUMP equality.

/// One packed element: integers stay integers (streams read their fields as numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elem {
    Int(i64),
    Str(Vec<u8>),
}

impl Elem {
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Elem::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
            Elem::Str(s) => s,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Elem::Int(n) => Some(*n),
            Elem::Str(s) => crate::num::parse_i64(s),
        }
    }
}

type R<T> = Result<T, String>;

fn get(b: &[u8], at: usize, n: usize) -> R<&[u8]> {
    at.checked_add(n).and_then(|end| b.get(at..end)).ok_or_else(|| format!("element past the end of the blob at {at}"))
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// Bytes of a listpack backlen for an entry of `len` bytes.
fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The elements of a listpack blob.
pub fn listpack(b: &[u8]) -> R<Vec<Elem>> {
    let head = get(b, 0, 6)?;
    let total = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let count = u16::from_le_bytes([head[4], head[5]]) as usize;
    if total != b.len() {
        return Err(format!("listpack header says {total} bytes, blob has {}", b.len()));
    }
    let mut out = Vec::with_capacity(count.min(b.len()));
    let mut p = 6;
    loop {
        let first = *b.get(p).ok_or("listpack without terminator")?;
        if first == 0xff {
            if p + 1 != b.len() {
                return Err("data after the listpack terminator".into());
            }
            break;
        }
        let (elem, len) = if first & 0x80 == 0 {
            (Elem::Int(i64::from(first & 0x7f)), 1)
        } else if first & 0xc0 == 0x80 {
            let n = usize::from(first & 0x3f);
            (Elem::Str(get(b, p + 1, n)?.to_vec()), 1 + n)
        } else if first & 0xe0 == 0xc0 {
            let lo = *get(b, p + 1, 1)?.first().unwrap_or(&0);
            (Elem::Int(sign_extend((u64::from(first & 0x1f) << 8) | u64::from(lo), 13)), 2)
        } else if first & 0xf0 == 0xe0 {
            let lo = *get(b, p + 1, 1)?.first().unwrap_or(&0);
            let n = (usize::from(first & 0x0f) << 8) | usize::from(lo);
            (Elem::Str(get(b, p + 2, n)?.to_vec()), 2 + n)
        } else {
            let int = |width: usize| -> R<(Elem, usize)> {
                let raw = get(b, p + 1, width)?;
                let mut v = 0u64;
                for (i, &x) in raw.iter().enumerate() {
                    v |= u64::from(x) << (8 * i);
                }
                Ok((Elem::Int(sign_extend(v, 8 * width as u32)), 1 + width))
            };
            match first {
                0xf0 => {
                    let l = get(b, p + 1, 4)?;
                    let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                    (Elem::Str(get(b, p + 5, n)?.to_vec()), 5 + n)
                }
                0xf1 => int(2)?,
                0xf2 => int(3)?,
                0xf3 => int(4)?,
                0xf4 => int(8)?,
                _ => return Err(format!("invalid listpack entry encoding {first:#04x}")),
            }
        };
        p += len;
        let bl = backlen_size(len);
        // The backlen must encode the entry's length (7 bits per byte, read from the end).
        let back = get(b, p, bl)?;
        let mut v = 0usize;
        for (i, &x) in back.iter().rev().enumerate() {
            v |= usize::from(x & 0x7f) << (7 * i);
        }
        if v != len {
            return Err(format!("listpack backlen {v} does not match entry length {len}"));
        }
        p += bl;
        out.push(elem);
    }
    if count != 0xffff && count != out.len() {
        return Err(format!("listpack header says {count} elements, found {}", out.len()));
    }
    Ok(out)
}

/// The elements of a ziplist blob (RDB versions before 10).
pub fn ziplist(b: &[u8]) -> R<Vec<Elem>> {
    let head = get(b, 0, 10)?;
    let total = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let count = u16::from_le_bytes([head[8], head[9]]) as usize;
    if total != b.len() {
        return Err(format!("ziplist header says {total} bytes, blob has {}", b.len()));
    }
    let mut out = Vec::with_capacity(count.min(b.len()));
    let mut p = 10;
    loop {
        let first = *b.get(p).ok_or("ziplist without terminator")?;
        if first == 0xff {
            if p + 1 != b.len() {
                return Err("data after the ziplist terminator".into());
            }
            break;
        }
        p += if first == 0xfe { 5 } else { 1 };
        let enc = *b.get(p).ok_or("ziplist entry cut short")?;
        let le = |at: usize, width: usize| -> R<i64> {
            let raw = get(b, at, width)?;
            let mut v = 0u64;
            for (i, &x) in raw.iter().enumerate() {
                v |= u64::from(x) << (8 * i);
            }
            Ok(sign_extend(v, 8 * width as u32))
        };
        let (elem, len) = match enc >> 6 {
            0 => {
                let n = usize::from(enc & 0x3f);
                (Elem::Str(get(b, p + 1, n)?.to_vec()), 1 + n)
            }
            1 => {
                let n = (usize::from(enc & 0x3f) << 8) | usize::from(*get(b, p + 1, 1)?.first().unwrap_or(&0));
                (Elem::Str(get(b, p + 2, n)?.to_vec()), 2 + n)
            }
            2 => {
                let l = get(b, p + 1, 4)?;
                let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
                (Elem::Str(get(b, p + 5, n)?.to_vec()), 5 + n)
            }
            _ => match enc {
                0xc0 => (Elem::Int(le(p + 1, 2)?), 3),
                0xd0 => (Elem::Int(le(p + 1, 4)?), 5),
                0xe0 => (Elem::Int(le(p + 1, 8)?), 9),
                0xf0 => (Elem::Int(le(p + 1, 3)?), 4),
                0xfe => (Elem::Int(le(p + 1, 1)?), 2),
                0xf1..=0xfd => (Elem::Int(i64::from(enc & 0x0f) - 1), 1),
                _ => return Err(format!("invalid ziplist entry encoding {enc:#04x}")),
            },
        };
        p += len;
        out.push(elem);
    }
    if count != 0xffff && count != out.len() {
        return Err(format!("ziplist header says {count} elements, found {}", out.len()));
    }
    Ok(out)
}

/// The members of an intset blob.
pub fn intset(b: &[u8]) -> R<Vec<i64>> {
    let head = get(b, 0, 8)?;
    let width = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let count = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    if ![2, 4, 8].contains(&width) {
        return Err(format!("invalid intset encoding {width}"));
    }
    if count.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(b.len()) {
        return Err("intset length does not match its blob".into());
    }
    let mut out = Vec::with_capacity(count);
    for chunk in b[8..].chunks_exact(width) {
        let mut v = 0u64;
        for (i, &x) in chunk.iter().enumerate() {
            v |= u64::from(x) << (8 * i);
        }
        out.push(sign_extend(v, 8 * width as u32));
    }
    if out.windows(2).any(|w| w[0] >= w[1]) {
        return Err("intset members are not sorted and unique".into());
    }
    Ok(out)
}

/// The field/value pairs of a zipmap blob (hashes written by Redis before 2.6).
pub fn zipmap(b: &[u8]) -> R<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut p = 1; // zmlen, unreliable above 253
    let mut out = Vec::new();
    let read_len = |p: &mut usize| -> R<Option<usize>> {
        let first = *b.get(*p).ok_or("zipmap without terminator")?;
        match first {
            255 => Ok(None),
            254 => {
                let l = get(b, *p + 1, 4)?;
                *p += 5;
                Ok(Some(u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize))
            }
            n => {
                *p += 1;
                Ok(Some(usize::from(n)))
            }
        }
    };
    while let Some(klen) = read_len(&mut p)? {
        let key = get(b, p, klen)?.to_vec();
        p += klen;
        let vlen = read_len(&mut p)?.ok_or("zipmap key without value")?;
        let free = usize::from(*b.get(p).ok_or("zipmap value cut short")?);
        p += 1;
        let val = get(b, p, vlen)?.to_vec();
        p += vlen + free;
        out.push((key, val));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------
// Listpack writing

/// Builds a listpack exactly as Redis's `lpAppend` does: strings that are canonical integers are stored in
/// the smallest integer encoding.
#[derive(Default)]
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl ListpackWriter {
    pub fn new() -> Self {
        ListpackWriter { buf: vec![0; 6], count: 0 }
    }

    pub fn push(&mut self, s: &[u8]) {
        match super::super::codec::canonical_int(s) {
            Some(n) => self.push_int(n),
            None => self.push_str(s),
        }
    }

    pub fn push_int(&mut self, n: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&n) {
            self.buf.push(n as u8);
        } else if (-4096..=4095).contains(&n) {
            let v = (n as u64) & 0x1fff;
            self.buf.extend_from_slice(&[0xc0 | (v >> 8) as u8, v as u8]);
        } else {
            let (tag, width) = if i16::try_from(n).is_ok() {
                (0xf1, 2)
            } else if (-(1 << 23)..(1 << 23)).contains(&n) {
                (0xf2, 3)
            } else if i32::try_from(n).is_ok() {
                (0xf3, 4)
            } else {
                (0xf4, 8)
            };
            self.buf.push(tag);
            self.buf.extend_from_slice(&n.to_le_bytes()[..width]);
        }
        self.finish_entry(start);
    }

    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.extend_from_slice(&[0xe0 | (n >> 8) as u8, n as u8]);
        } else {
            self.buf.push(0xf0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.finish_entry(start);
    }

    fn finish_entry(&mut self, start: usize) {
        let len = self.buf.len() - start;
        let size = backlen_size(len);
        for i in (0..size).rev() {
            let mut byte = ((len >> (7 * i)) & 0x7f) as u8;
            if i != size - 1 {
                byte |= 0x80;
            }
            // The most significant group comes first in memory; every byte but the last read has bit 7 set.
            self.buf.push(byte);
        }
        self.count += 1;
    }

    pub fn len(&self) -> usize {
        self.count
    }

    /// The finished listpack's size (`lpBytes`): what is written so far plus the terminator.
    pub fn byte_len(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded entries written so far without the header, and their count (to splice elsewhere).
    pub fn into_entries(self) -> (Vec<u8>, usize) {
        (self.buf.get(6..).unwrap_or_default().to_vec(), self.count)
    }

    /// Appends entries taken with [`ListpackWriter::into_entries`].
    pub fn push_encoded(&mut self, entries: &(Vec<u8>, usize)) {
        self.buf.extend_from_slice(&entries.0);
        self.count += entries.1;
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xff);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = if self.count < 0xffff { self.count as u16 } else { 0xffff };
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_round_trip_every_encoding() {
        let items: Vec<Vec<u8>> = [
            &b"0"[..],
            b"127",
            b"128",
            b"-1",
            b"-4096",
            b"4095",
            b"32767",
            b"-32768",
            b"8388607",
            b"2147483647",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"",
            b"abc",
            b"01",
        ]
        .iter()
        .map(|s| s.to_vec())
        .chain([vec![b'x'; 63], vec![b'y'; 64], vec![b'z'; 4095], vec![b'w'; 4096], vec![b'v'; 20000]])
        .collect();
        let mut w = ListpackWriter::new();
        for i in &items {
            w.push(i);
        }
        let blob = w.finish();
        let back: Vec<Vec<u8>> = listpack(&blob).unwrap().into_iter().map(Elem::into_bytes).collect();
        assert_eq!(back, items);
    }

    #[test]
    fn malformed_blobs_are_errors() {
        assert!(listpack(&[]).is_err());
        assert!(listpack(&[7, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(ziplist(&[11, 0, 0, 0, 10, 0, 0, 0, 0, 0]).is_err());
        assert!(intset(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0]).is_err());
        assert!(intset(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0]).is_err(), "unsorted");
    }
}
