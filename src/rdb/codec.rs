//! The RDB primitives: lengths (6/14/32/64-bit), special encodings (integers, LZF), strings, doubles, and the
//! bounded reader every decoder goes through.
//!
//! Decisions: the reader works on a byte slice (the whole file or payload), so every error carries the exact
//! offset it happened at ([`RdbError`]: `Error at offset N: reason`), and every length is checked against the
//! bytes really left before anything is allocated — a forged length can cost an error, never memory or a
//! panic. Strings are written as Redis 7.0's `rdbSaveRawString` writes them (integer encodings for canonical
//! numbers of up to 11 characters within 32 bits, LZF above 20 bytes when compression is on, raw otherwise),
//! so that files and DUMP payloads match Redis byte for byte.

use std::fmt;

use super::lzf;

pub const RDB_6BITLEN: u8 = 0;
pub const RDB_14BITLEN: u8 = 1;
pub const RDB_32BITLEN: u8 = 0x80;
pub const RDB_64BITLEN: u8 = 0x81;
pub const RDB_ENCVAL: u8 = 3;
pub const RDB_ENC_INT8: u8 = 0;
pub const RDB_ENC_INT16: u8 = 1;
pub const RDB_ENC_INT32: u8 = 2;
pub const RDB_ENC_LZF: u8 = 3;

/// A decoding failure: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError {
    pub offset: usize,
    pub reason: String,
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error at offset {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for RdbError {}

pub type Result<T> = std::result::Result<T, RdbError>;

/// A length or a special encoding tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    Plain(u64),
    Encoded(u8),
}

/// A cursor over RDB bytes; `base` is the absolute offset of `buf[0]` (nested blobs report file offsets).
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0, base: 0 }
    }

    pub fn with_base(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// Absolute offset of the next byte.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes read so far (for checksums).
    pub fn consumed(&self) -> &'a [u8] {
        &self.buf[..self.pos]
    }

    pub fn err<T>(&self, reason: impl Into<String>) -> Result<T> {
        Err(RdbError { offset: self.offset(), reason: reason.into() })
    }

    pub fn err_at<T>(&self, offset: usize, reason: impl Into<String>) -> Result<T> {
        Err(RdbError { offset, reason: reason.into() })
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return self.err(format!("unexpected end of data (wanted {n} bytes, {} left)", self.remaining()));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u32_le(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64_le(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn u64_be(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Redis's `rdbLoadLenByRef`.
    pub fn len_or_enc(&mut self) -> Result<Len> {
        let at = self.offset();
        let b = self.u8()?;
        match b >> 6 {
            0 => Ok(Len::Plain(u64::from(b & 0x3f))),
            1 => Ok(Len::Plain((u64::from(b & 0x3f) << 8) | u64::from(self.u8()?))),
            2 => match b {
                RDB_32BITLEN => Ok(Len::Plain(u64::from(u32::from_be_bytes(self.array()?)))),
                RDB_64BITLEN => Ok(Len::Plain(self.u64_be()?)),
                _ => self.err_at(at, format!("unknown length encoding {b:#04x}")),
            },
            _ => Ok(Len::Encoded(b & 0x3f)),
        }
    }

    /// A plain length (an encoded tag here is an error).
    pub fn len(&mut self) -> Result<u64> {
        let at = self.offset();
        match self.len_or_enc()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(e) => self.err_at(at, format!("unexpected encoded length (type {e})")),
        }
    }

    /// A length used as a count of following items, each taking at least `min_item_bytes`: rejects counts
    /// the remaining bytes cannot hold, so callers may reserve `count` items.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize> {
        let at = self.offset();
        let n = self.len()?;
        if n > (self.remaining() / min_item_bytes.max(1)) as u64 {
            return self.err_at(at, format!("count {n} larger than the remaining data"));
        }
        Ok(n as usize)
    }

    /// A string in any encoding (`rdbGenericLoadStringObject`): integers come back as their decimal text.
    pub fn string(&mut self) -> Result<Vec<u8>> {
        let at = self.offset();
        match self.len_or_enc()? {
            Len::Plain(n) => {
                if n > self.remaining() as u64 {
                    return self.err_at(at, format!("string length {n} past the end of the data"));
                }
                Ok(self.take(n as usize)?.to_vec())
            }
            Len::Encoded(RDB_ENC_INT8) => Ok(itoa(i64::from(self.u8()? as i8))),
            Len::Encoded(RDB_ENC_INT16) => Ok(itoa(i64::from(i16::from_le_bytes(self.array()?)))),
            Len::Encoded(RDB_ENC_INT32) => Ok(itoa(i64::from(i32::from_le_bytes(self.array()?)))),
            Len::Encoded(RDB_ENC_LZF) => {
                let clen = self.len()?;
                let len = self.len()?;
                if clen > self.remaining() as u64 {
                    return self.err_at(at, "LZF data past the end of the data");
                }
                let data = self.take(clen as usize)?;
                match usize::try_from(len).map_err(|_| "LZF length too large").and_then(|l| lzf::decompress(data, l)) {
                    Ok(v) => Ok(v),
                    Err(e) => self.err_at(at, format!("invalid LZF compressed string: {e}")),
                }
            }
            Len::Encoded(e) => self.err_at(at, format!("unknown string encoding {e}")),
        }
    }

    /// An old-style (RDB_TYPE_ZSET) score: a length byte (253 nan, 254 +inf, 255 -inf) and ASCII digits.
    pub fn ascii_double(&mut self) -> Result<f64> {
        let at = self.offset();
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.take(usize::from(n))?;
                match std::str::from_utf8(text).ok().and_then(|t| t.trim().parse::<f64>().ok()) {
                    Some(d) => Ok(d),
                    None => self.err_at(at, "invalid double value"),
                }
            }
        }
    }

    /// A binary little-endian IEEE double (RDB_TYPE_ZSET_2).
    pub fn binary_double(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }
}

fn itoa(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------------------------
// Writing

/// Appends a length (`rdbSaveLen`).
pub fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(((n >> 8) as u8) | (RDB_14BITLEN << 6));
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(RDB_32BITLEN);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(RDB_64BITLEN);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends `n` with an integer encoding if it fits 32 bits (`rdbEncodeInteger`); false if it does not.
pub fn put_encoded_int(out: &mut Vec<u8>, n: i64) -> bool {
    let tag = |enc: u8| (RDB_ENCVAL << 6) | enc;
    if let Ok(v) = i8::try_from(n) {
        out.extend_from_slice(&[tag(RDB_ENC_INT8), v as u8]);
    } else if let Ok(v) = i16::try_from(n) {
        out.push(tag(RDB_ENC_INT16));
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i32::try_from(n) {
        out.push(tag(RDB_ENC_INT32));
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// Appends an integer string value (`rdbSaveLongLongAsStringObject`).
pub fn put_int_string(out: &mut Vec<u8>, n: i64) {
    if !put_encoded_int(out, n) {
        let mut b = itoa::Buffer::new();
        let s = b.format(n).as_bytes();
        put_len(out, s.len() as u64);
        out.extend_from_slice(s);
    }
}

/// The integer a string spells canonically (what Redis's `string2ll` + `ll2string` round trip accepts).
pub fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let n = crate::num::parse_i64(s)?;
    (itoa::Buffer::new().format(n).as_bytes() == s).then_some(n)
}

/// Appends a string (`rdbSaveRawString`). `lzf` is the compressor when `rdbcompression` is on.
pub fn put_string(out: &mut Vec<u8>, s: &[u8], lzf: Option<&mut lzf::Compressor>) {
    if s.len() <= 11 {
        if let Some(n) = canonical_int(s) {
            if put_encoded_int(out, n) {
                return;
            }
        }
    }
    if let Some(c) = lzf {
        if s.len() > 20 && put_lzf(out, s, c) {
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Appends `s` LZF-compressed if that saves more than 4 bytes (`rdbSaveLzfStringObject`); false otherwise.
fn put_lzf(out: &mut Vec<u8>, s: &[u8], c: &mut lzf::Compressor) -> bool {
    if s.len() <= 4 {
        return false;
    }
    let start = out.len();
    // Reserve the worst-case header, then compress straight into `out`.
    let budget = s.len() - 4;
    out.resize(start + budget, 0);
    let n = c.compress(s, &mut out[start..]);
    if n == 0 {
        out.truncate(start);
        return false;
    }
    let compressed = out[start..start + n].to_vec();
    out.truncate(start);
    out.push((RDB_ENCVAL << 6) | RDB_ENC_LZF);
    put_len(out, n as u64);
    put_len(out, s.len() as u64);
    out.extend_from_slice(&compressed);
    true
}

/// Appends a binary double (RDB_TYPE_ZSET_2 scores, stream figures).
pub fn put_binary_double(out: &mut Vec<u8>, d: f64) {
    out.extend_from_slice(&d.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_at_every_boundary() {
        for n in [0u64, 63, 64, 16383, 16384, u32::MAX as u64, u32::MAX as u64 + 1, u64::MAX] {
            let mut out = Vec::new();
            put_len(&mut out, n);
            let mut r = Reader::new(&out);
            assert_eq!(r.len().unwrap(), n);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn strings_use_redis_encodings() {
        let enc = |s: &[u8]| {
            let mut out = Vec::new();
            put_string(&mut out, s, Some(&mut lzf::Compressor::default()));
            out
        };
        assert_eq!(enc(b"12"), vec![0xc0, 12]);
        assert_eq!(enc(b"-300"), vec![0xc1, 0xd4, 0xfe]);
        assert_eq!(enc(b"100000"), vec![0xc2, 0xa0, 0x86, 0x01, 0x00]);
        assert_eq!(enc(b"012"), vec![3, b'0', b'1', b'2']);
        assert_eq!(enc(b"12345678901"), vec![11, b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'0', b'1']);
        let long = vec![b'a'; 30];
        let e = enc(&long);
        assert_eq!(e[0], 0xc3);
        for s in [&b"12"[..], b"-300", b"100000", b"012", &long, b"hello"] {
            assert_eq!(Reader::new(&enc(s)).string().unwrap(), s);
        }
    }

    #[test]
    fn errors_carry_offsets() {
        let mut r = Reader::new(&[0x05, b'a']);
        let e = r.string().unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(e.to_string().starts_with("Error at offset 0: "));
    }
}
