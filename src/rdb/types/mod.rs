//! Value types in the RDB format: one decode/encode pair per type, each in its own file, behind one
//! intermediate plain form ([`Decoded`]).
//!
//! # Plug-in API for the collection types
//! Decoding never needs the real structures: every Redis encoding of a type (listpack, ziplist, intset,
//! quicklist, hashtable, skiplist, stream listpacks...) is read into the plain form of [`Decoded`], and
//! [`into_value`] turns that into a keyspace [`Value`] — the one place where a type's constructor is called
//! (`types/<type>.rs::into_value`). Encoding goes the other way: `types/<type>.rs::encode` takes the plain
//! contents (an iterator) plus whether the value uses its compact encoding, and writes the RDB type byte
//! Redis 7.0 would write (listpack forms for compact values, so DUMP payloads match Redis byte for byte,
//! the plain forms otherwise). Wiring a new type is therefore two small functions in its file: `into_value`
//! (plain form -> real structure) and a call to its `encode` from [`encode_value`].

pub mod compact;
pub mod hash;
pub mod list;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;

use super::codec::{Reader, Result};
use super::lzf::Compressor;
use crate::config::EncodingLimits;
use crate::keyspace::Value;

pub const RDB_TYPE_STRING: u8 = 0;
pub const RDB_TYPE_LIST: u8 = 1;
pub const RDB_TYPE_SET: u8 = 2;
pub const RDB_TYPE_ZSET: u8 = 3;
pub const RDB_TYPE_HASH: u8 = 4;
pub const RDB_TYPE_ZSET_2: u8 = 5;
pub const RDB_TYPE_MODULE: u8 = 6;
pub const RDB_TYPE_MODULE_2: u8 = 7;
pub const RDB_TYPE_HASH_ZIPMAP: u8 = 9;
pub const RDB_TYPE_LIST_ZIPLIST: u8 = 10;
pub const RDB_TYPE_SET_INTSET: u8 = 11;
pub const RDB_TYPE_ZSET_ZIPLIST: u8 = 12;
pub const RDB_TYPE_HASH_ZIPLIST: u8 = 13;
pub const RDB_TYPE_LIST_QUICKLIST: u8 = 14;
pub const RDB_TYPE_STREAM_LISTPACKS: u8 = 15;
pub const RDB_TYPE_HASH_LISTPACK: u8 = 16;
pub const RDB_TYPE_ZSET_LISTPACK: u8 = 17;
pub const RDB_TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const RDB_TYPE_STREAM_LISTPACKS_2: u8 = 19;
/// Redis 7.2 / Valkey 8 (RDB 11).
pub const RDB_TYPE_SET_LISTPACK: u8 = 20;
pub const RDB_TYPE_STREAM_LISTPACKS_3: u8 = 21;

/// Whether `t` is a value type byte (as opposed to an opcode).
pub fn is_value_type(t: u8) -> bool {
    t <= 7 || (9..=21).contains(&t)
}

/// A value in plain form, whatever encoding it was stored with.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    String(Vec<u8>),
    /// Elements head to tail.
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    /// Field/value pairs in stored order.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// Member/score pairs in stored order (skiplists are saved tail first).
    ZSet(Vec<(Vec<u8>, f64)>),
    Stream(Box<stream::StreamData>),
}

impl Decoded {
    pub fn type_name(&self) -> &'static str {
        match self {
            Decoded::String(_) => "string",
            Decoded::List(_) => "list",
            Decoded::Set(_) => "set",
            Decoded::Hash(_) => "hash",
            Decoded::ZSet(_) => "zset",
            Decoded::Stream(_) => "stream",
        }
    }
}

/// Reads a value of RDB type `rdb_type` (`rdbLoadObject`).
pub fn decode_value(r: &mut Reader<'_>, rdb_type: u8) -> Result<Decoded> {
    match rdb_type {
        RDB_TYPE_STRING => string::decode(r),
        RDB_TYPE_LIST | RDB_TYPE_LIST_ZIPLIST | RDB_TYPE_LIST_QUICKLIST | RDB_TYPE_LIST_QUICKLIST_2 => {
            list::decode(r, rdb_type)
        }
        RDB_TYPE_SET | RDB_TYPE_SET_INTSET | RDB_TYPE_SET_LISTPACK => set::decode(r, rdb_type),
        RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 | RDB_TYPE_ZSET_ZIPLIST | RDB_TYPE_ZSET_LISTPACK => zset::decode(r, rdb_type),
        RDB_TYPE_HASH | RDB_TYPE_HASH_ZIPMAP | RDB_TYPE_HASH_ZIPLIST | RDB_TYPE_HASH_LISTPACK => {
            hash::decode(r, rdb_type)
        }
        RDB_TYPE_STREAM_LISTPACKS | RDB_TYPE_STREAM_LISTPACKS_2 | RDB_TYPE_STREAM_LISTPACKS_3 => {
            stream::decode(r, rdb_type)
        }
        RDB_TYPE_MODULE | RDB_TYPE_MODULE_2 => r.err("module values are not supported (no modules are loaded)"),
        t => r.err(format!("unknown value type {t}")),
    }
}

/// A value the codec cannot write yet (its type's structure has not landed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub &'static str);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot serialize a {} value yet", self.0)
    }
}

/// Appends the type byte and the serialized value (`rdbSaveObjectType` + `rdbSaveObject`). `limits` gives
/// the node sizes Redis would have cut lists and streams with.
pub fn encode_value(
    out: &mut Vec<u8>,
    v: &Value,
    lzf: Option<&mut Compressor>,
    limits: &EncodingLimits,
) -> std::result::Result<(), Unsupported> {
    match v {
        Value::Int(_) | Value::Str(_) | Value::Raw(_) => string::encode(out, v, lzf),
        Value::List(l) => list::encode(out, l.iter(), limits.list_max_listpack_size, lzf),
        Value::Hash(h) => hash::encode(out, h.iter(), h.is_packed(), lzf),
        Value::Set(s) => set::encode_set(out, s, lzf),
        Value::ZSet(z) => zset::encode_zset(out, z, lzf),
        Value::Stream(s) => stream::encode_stream(out, s, limits, lzf),
    }
    Ok(())
}

/// Turns a plain form into a keyspace value, choosing encodings from `limits` as Redis does on load.
pub fn into_value(d: Decoded, limits: &EncodingLimits) -> std::result::Result<Value, String> {
    match d {
        Decoded::String(s) => Ok(string::into_value(s)),
        Decoded::List(items) => list::into_value(items, limits),
        Decoded::Set(items) => set::into_value(items, limits),
        Decoded::Hash(pairs) => hash::into_value(pairs, limits),
        Decoded::ZSet(pairs) => zset::into_value(pairs, limits),
        Decoded::Stream(s) => stream::into_value(*s, limits),
    }
}

/// Reads a string holding a packed blob and parses it, reporting errors at the blob's offset.
pub(crate) fn blob<T>(
    r: &mut Reader<'_>,
    what: &str,
    parse: impl FnOnce(&[u8]) -> std::result::Result<T, String>,
) -> Result<T> {
    let at = r.offset();
    let bytes = r.string()?;
    match parse(&bytes) {
        Ok(v) => Ok(v),
        Err(e) => r.err_at(at, format!("invalid {what}: {e}")),
    }
}
