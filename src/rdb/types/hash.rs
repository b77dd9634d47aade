//! Hashes: `RDB_TYPE_HASH` (hashtable), `HASH_ZIPMAP` (very old), `HASH_ZIPLIST` (RDB 6-9) and
//! `HASH_LISTPACK` (Redis 7.0). Written as `HASH_LISTPACK` for listpack-encoded hashes, `HASH` otherwise.

use super::compact::{self, Elem, ListpackWriter};
use super::{blob, Decoded, RDB_TYPE_HASH, RDB_TYPE_HASH_LISTPACK, RDB_TYPE_HASH_ZIPLIST, RDB_TYPE_HASH_ZIPMAP};
use crate::config::EncodingLimits;
use crate::keyspace::Value;
use crate::rdb::codec::{self, Reader, Result};
use crate::rdb::lzf::Compressor;
use crate::types::hash::{Hash, Limits as HashLimits};

/// Field/value pairs.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Pairs from a flat field, value, field, value... sequence.
pub(crate) fn pairs(flat: Vec<Elem>, what: &str) -> std::result::Result<Pairs, String> {
    if !flat.len().is_multiple_of(2) {
        return Err(format!("{what} with an odd number of elements"));
    }
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(f), Some(v)) = (it.next(), it.next()) {
        out.push((f.into_bytes(), v.into_bytes()));
    }
    Ok(out)
}

pub fn decode(r: &mut Reader<'_>, rdb_type: u8) -> Result<Decoded> {
    let items = match rdb_type {
        RDB_TYPE_HASH => {
            let n = r.count(2)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let f = r.string()?;
                v.push((f, r.string()?));
            }
            v
        }
        RDB_TYPE_HASH_ZIPMAP => blob(r, "zipmap", compact::zipmap)?,
        RDB_TYPE_HASH_ZIPLIST => blob(r, "ziplist", |b| compact::ziplist(b).and_then(|f| pairs(f, "hash ziplist")))?,
        RDB_TYPE_HASH_LISTPACK => {
            blob(r, "listpack", |b| compact::listpack(b).and_then(|f| pairs(f, "hash listpack")))?
        }
        _ => return r.err(format!("not a hash type {rdb_type}")),
    };
    if items.is_empty() {
        return r.err("empty hash");
    }
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    if !items.iter().all(|(f, _)| seen.insert(f.as_slice())) {
        return r.err("duplicate hash field");
    }
    Ok(Decoded::Hash(items))
}

/// Writes a hash as Redis 7.0 does: one listpack of field, value... when `compact`, the plain form otherwise.
pub fn encode<'a>(
    out: &mut Vec<u8>,
    pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    compact: bool,
    mut lzf: Option<&mut Compressor>,
) {
    if compact {
        let mut w = ListpackWriter::new();
        for (f, v) in pairs {
            w.push(f);
            w.push(v);
        }
        out.push(RDB_TYPE_HASH_LISTPACK);
        codec::put_string(out, &w.finish(), lzf);
        return;
    }
    let pairs: Vec<_> = pairs.collect();
    out.push(RDB_TYPE_HASH);
    codec::put_len(out, pairs.len() as u64);
    for (f, v) in pairs {
        codec::put_string(out, f, lzf.as_deref_mut());
        codec::put_string(out, v, lzf.as_deref_mut());
    }
}

/// The hash, in the encoding Redis picks on load (listpack within `hash-max-listpack-*`).
pub fn into_value(pairs: Vec<(Vec<u8>, Vec<u8>)>, limits: &EncodingLimits) -> std::result::Result<Value, String> {
    let h = Hash::from_pairs(pairs.iter().map(|(f, v)| (f.as_slice(), v.as_slice())), HashLimits::from_config(limits));
    Ok(Value::Hash(Box::new(h)))
}
