//! Sets: `RDB_TYPE_SET` (hashtable), `SET_INTSET`, and `SET_LISTPACK` (Redis 7.2 / Valkey 8, RDB 11).
//! Written as `SET_INTSET` for intset-encoded sets, `SET` otherwise (what Redis 7.0 writes).

use super::compact::{self, Elem};
use super::{blob, Decoded, RDB_TYPE_SET, RDB_TYPE_SET_INTSET, RDB_TYPE_SET_LISTPACK};
use crate::config::EncodingLimits;
use crate::keyspace::Value;
use crate::rdb::codec::{self, Reader, Result};
use crate::rdb::lzf::Compressor;
use crate::types::set::Set;

pub fn decode(r: &mut Reader<'_>, rdb_type: u8) -> Result<Decoded> {
    let items: Vec<Vec<u8>> = match rdb_type {
        RDB_TYPE_SET => {
            let n = r.count(1)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.string()?);
            }
            v
        }
        RDB_TYPE_SET_INTSET => blob(r, "intset", compact::intset)?
            .into_iter()
            .map(|n| itoa::Buffer::new().format(n).as_bytes().to_vec())
            .collect(),
        RDB_TYPE_SET_LISTPACK => blob(r, "listpack", compact::listpack)?.into_iter().map(Elem::into_bytes).collect(),
        _ => return r.err(format!("not a set type {rdb_type}")),
    };
    if items.is_empty() {
        return r.err("empty set");
    }
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    if !items.iter().all(|i| seen.insert(i.as_slice())) {
        return r.err("duplicate set member");
    }
    Ok(Decoded::Set(items))
}

/// Writes a set as Redis 7.0 does: an intset blob (`ints` ascending, `width` bytes each: an intset never
/// narrows) for intset-encoded sets, the plain form otherwise.
pub fn encode<'a>(
    out: &mut Vec<u8>,
    members: impl Iterator<Item = &'a [u8]>,
    intset: Option<(usize, Vec<i64>)>,
    mut lzf: Option<&mut Compressor>,
) {
    if let Some((width, ints)) = intset {
        let mut blob = Vec::with_capacity(8 + ints.len() * width);
        blob.extend_from_slice(&(width as u32).to_le_bytes());
        blob.extend_from_slice(&(ints.len() as u32).to_le_bytes());
        for n in ints {
            blob.extend_from_slice(&n.to_le_bytes()[..width]);
        }
        out.push(RDB_TYPE_SET_INTSET);
        codec::put_string(out, &blob, lzf);
        return;
    }
    let members: Vec<&[u8]> = members.collect();
    out.push(RDB_TYPE_SET);
    codec::put_len(out, members.len() as u64);
    for m in members {
        codec::put_string(out, m, lzf.as_deref_mut());
    }
}

/// Writes a keyspace set.
pub fn encode_set(out: &mut Vec<u8>, s: &Set, lzf: Option<&mut Compressor>) {
    match s.intset() {
        Some(i) => encode(out, std::iter::empty(), Some((i.width(), i.iter().collect())), lzf),
        None => {
            let owned: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            encode(out, owned.iter().map(Vec::as_slice), None, lzf)
        }
    }
}

/// The set, in the encoding Redis picks on load (intset while every member is an integer and within
/// `set-max-intset-entries`).
pub fn into_value(items: Vec<Vec<u8>>, limits: &EncodingLimits) -> std::result::Result<Value, String> {
    Ok(Value::Set(Box::new(Set::from_members(items.iter().map(Vec::as_slice), limits.set_max_intset_entries))))
}
