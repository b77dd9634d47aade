//! The values stored under keys.
//!
//! Strings keep Redis's three encodings because `OBJECT ENCODING` reports them and clients' tests check them:
//! `int` (a canonical i64), `embstr` (at most 44 bytes, never modified in place) and `raw` (longer, or grown by
//! APPEND / SETRANGE / SETBIT). The collections are boxed (their structures live in `crate::types`), so an
//! entry stays as small as a string's.

use super::small_bytes::SmallBytes;
use crate::num;
use crate::types::{hash::Hash, list::List, set::Set, stream::Stream, zset::ZSet};

/// Longest string Redis stores as `embstr`.
pub const EMBSTR_MAX_LEN: usize = 44;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string that is a canonical decimal i64 (Redis's `int` encoding).
    Int(i64),
    /// An immutable string (`embstr` up to 44 bytes, `raw` beyond).
    Str(SmallBytes),
    /// A string grown in place (APPEND, SETRANGE, SETBIT): always `raw`.
    Raw(Vec<u8>),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    Stream(Box<Stream>),
}

/// The reply text for a type mismatch.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

impl Value {
    /// A string value with the encoding Redis would choose for it (`tryObjectEncoding`).
    pub fn string(bytes: &[u8]) -> Value {
        if bytes.len() <= 20 {
            if let Some(n) = num::parse_i64(bytes) {
                return Value::Int(n);
            }
        }
        Value::Str(SmallBytes::new(bytes))
    }

    /// Like [`Value::string`] but takes ownership, avoiding a copy for long strings.
    pub fn string_from_vec(bytes: Vec<u8>) -> Value {
        if bytes.len() <= 20 {
            if let Some(n) = num::parse_i64(&bytes) {
                return Value::Int(n);
            }
        }
        Value::Str(SmallBytes::from_vec(bytes))
    }

    /// `TYPE`'s answer.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) | Value::Str(_) | Value::Raw(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// `OBJECT ENCODING`'s answer.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(s) if s.len() <= EMBSTR_MAX_LEN => "embstr",
            Value::Str(_) | Value::Raw(_) => "raw",
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(s) => s.encoding(),
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Str(_) | Value::Raw(_))
    }

    /// The bytes of a string value; `Int` is rendered into `digits`. None for non-strings.
    pub fn as_bytes<'a>(&'a self, digits: &'a mut itoa::Buffer) -> Option<&'a [u8]> {
        match self {
            Value::Int(n) => Some(digits.format(*n).as_bytes()),
            Value::Str(s) => Some(s.as_slice()),
            Value::Raw(v) => Some(v),
            _ => None,
        }
    }

    /// Length of a string value in bytes, without rendering integers into a buffer.
    pub fn string_len(&self) -> Option<usize> {
        match self {
            Value::Int(n) => Some(itoa::Buffer::new().format(*n).len()),
            Value::Str(s) => Some(s.len()),
            Value::Raw(v) => Some(v.len()),
            _ => None,
        }
    }

    /// Turns a string value into a growable `raw` buffer (for APPEND, SETRANGE, SETBIT) and returns it.
    pub fn make_raw(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Value::Raw(_) => {}
            Value::Int(n) => *self = Value::Raw(itoa::Buffer::new().format(*n).as_bytes().to_vec()),
            Value::Str(s) => *self = Value::Raw(s.as_slice().to_vec()),
            _ => return None,
        }
        match self {
            Value::Raw(v) => Some(v),
            _ => None,
        }
    }

    /// Approximate bytes used by this value beyond the entry itself (MEMORY USAGE, maxmemory accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) => 0,
            Value::Str(s) => s.heap_size(),
            Value::Raw(v) => v.capacity(),
            Value::List(l) => std::mem::size_of::<List>() + l.heap_size(),
            Value::Hash(h) => std::mem::size_of::<Hash>() + h.heap_size(),
            Value::Set(s) => std::mem::size_of::<Set>() + s.heap_size(),
            Value::ZSet(z) => std::mem::size_of::<ZSet>() + z.heap_size(),
            Value::Stream(s) => std::mem::size_of::<Stream>() + s.heap_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(Value::string(b"123").encoding(), "int");
        assert_eq!(Value::string(b"0123").encoding(), "embstr");
        assert_eq!(Value::string(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(Value::string(&[b'a'; 45]).encoding(), "raw");
        let mut v = Value::string(b"12");
        v.make_raw().unwrap().push(b'3');
        assert_eq!(v.encoding(), "raw");
        assert_eq!(v.as_bytes(&mut itoa::Buffer::new()).unwrap(), b"123");
    }
}
