//! Stream entry ids (`<ms>-<seq>`, two u64s ordered as one 128-bit number) and their textual forms.

use std::fmt;

/// A stream entry id. Ordered by `ms`, then `seq`, like Redis's 128-bit big-endian rax keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next id (Redis's `streamIncrID`); None past `MAX`.
    pub fn incr(&self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                return None;
            }
            return Some(StreamId { ms: self.ms + 1, seq: 0 });
        }
        Some(StreamId { ms: self.ms, seq: self.seq + 1 })
    }

    /// The previous id (Redis's `streamDecrID`); None before `MIN`.
    pub fn decr(&self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                return None;
            }
            return Some(StreamId { ms: self.ms - 1, seq: u64::MAX });
        }
        Some(StreamId { ms: self.ms, seq: self.seq - 1 })
    }

    /// The 16-byte big-endian form Redis uses as rax key (and RDB writes).
    pub fn to_be_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    pub fn from_be_bytes(b: [u8; 16]) -> Self {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        StreamId { ms: u64::from_be_bytes(ms), seq: u64::from_be_bytes(seq) }
    }

    /// `<ms>-<seq>` as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(41);
        self.write_to(&mut out);
        out
    }

    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut b = itoa::Buffer::new();
        out.extend_from_slice(b.format(self.ms).as_bytes());
        out.push(b'-');
        out.extend_from_slice(b.format(self.seq).as_bytes());
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Redis's `string2ull`: a strict canonical integer, else C's `strtoull` (leading blanks, a sign, leading
/// zeros; a minus sign wraps), which must consume the whole C string. `s` is already cut at its first NUL.
pub fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = crate::num::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// How an id argument was written, for XADD's partial forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedId {
    pub id: StreamId,
    /// False for `<ms>-*` (the sequence is to be generated).
    pub seq_given: bool,
}

/// Parses an id argument as Redis's `streamGenericParseIDOrReply`: `-` and `+` (unless `strict`), `<ms>`
/// (sequence `missing_seq`), `<ms>-<seq>`, and `<ms>-*` when `allow_partial`. None means Redis's
/// "Invalid stream ID" error.
pub fn parse_id(arg: &[u8], missing_seq: u64, strict: bool, allow_partial: bool) -> Option<ParsedId> {
    if arg.len() > 127 {
        return None;
    }
    // C-string semantics: everything after a NUL is invisible.
    let s = arg.iter().position(|&b| b == 0).map_or(arg, |n| &arg[..n]);
    if s == b"-" || s == b"+" {
        if strict {
            return None;
        }
        let id = if s == b"-" { StreamId::MIN } else { StreamId::MAX };
        return Some(ParsedId { id, seq_given: true });
    }
    let (ms_part, seq_part) = match s.iter().position(|&b| b == b'-') {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let ms = string2ull(ms_part)?;
    match seq_part {
        Some(b"*") if allow_partial => Some(ParsedId { id: StreamId::new(ms, 0), seq_given: false }),
        Some(seq) => Some(ParsedId { id: StreamId::new(ms, string2ull(seq)?), seq_given: true }),
        None => Some(ParsedId { id: StreamId::new(ms, missing_seq), seq_given: true }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_redis() {
        let p = |s: &str| parse_id(s.as_bytes(), 0, false, false).map(|p| p.id);
        assert_eq!(p("1-2"), Some(StreamId::new(1, 2)));
        assert_eq!(p("5"), Some(StreamId::new(5, 0)));
        assert_eq!(p("-"), Some(StreamId::MIN));
        assert_eq!(p("+"), Some(StreamId::MAX));
        assert_eq!(p("1-"), None);
        assert_eq!(p("-1"), None);
        assert_eq!(p("a"), None);
        assert_eq!(p("18446744073709551615-18446744073709551615"), Some(StreamId::MAX));
        assert_eq!(p("18446744073709551616"), None);
        assert_eq!(p("+5"), Some(StreamId::new(5, 0)));
        assert_eq!(p("05-01"), Some(StreamId::new(5, 1)));
        assert_eq!(parse_id(b"-", 0, true, false), None);
        let part = parse_id(b"7-*", 0, true, true).unwrap_or(ParsedId { id: StreamId::MAX, seq_given: true });
        assert_eq!(part, ParsedId { id: StreamId::new(7, 0), seq_given: false });
        assert_eq!(parse_id(b"7-*", 0, true, false), None);
    }

    #[test]
    fn incr_decr_wrap() {
        assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::new(2, 0).decr(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.decr(), None);
    }
}
