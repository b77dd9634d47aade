//! Sorted sets: `RDB_TYPE_ZSET` (ASCII scores, old), `ZSET_2` (binary scores, skiplist), `ZSET_ZIPLIST`
//! (RDB 6-9) and `ZSET_LISTPACK` (Redis 7.0). Written as `ZSET_LISTPACK` when compact, `ZSET_2` otherwise
//! (Redis writes the skiplist from the tail, highest score first; pass members in that order).

use super::compact::{self, Elem, ListpackWriter};
use super::{blob, Decoded, RDB_TYPE_ZSET, RDB_TYPE_ZSET_2, RDB_TYPE_ZSET_LISTPACK, RDB_TYPE_ZSET_ZIPLIST};
use crate::config::EncodingLimits;
use crate::keyspace::Value;
use crate::rdb::codec::{self, Reader, Result};
use crate::rdb::lzf::Compressor;
use crate::types::zset::{Limits as ZLimits, ZSet};

fn from_flat(flat: Vec<Elem>) -> std::result::Result<Vec<(Vec<u8>, f64)>, String> {
    if !flat.len().is_multiple_of(2) {
        return Err("sorted set with an odd number of elements".into());
    }
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        let score = match s {
            Elem::Int(n) => n as f64,
            Elem::Str(t) => std::str::from_utf8(&t)
                .ok()
                .and_then(|t| crate::num::parse_f64(t.as_bytes()))
                .ok_or("invalid score in a packed sorted set")?,
        };
        out.push((m.into_bytes(), score));
    }
    Ok(out)
}

pub fn decode(r: &mut Reader<'_>, rdb_type: u8) -> Result<Decoded> {
    let items = match rdb_type {
        RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 => {
            let n = r.count(2)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let m = r.string()?;
                let at = r.offset();
                let score = if rdb_type == RDB_TYPE_ZSET_2 { r.binary_double()? } else { r.ascii_double()? };
                if score.is_nan() {
                    return r.err_at(at, "sorted set score is NaN");
                }
                v.push((m, score));
            }
            v
        }
        RDB_TYPE_ZSET_ZIPLIST => blob(r, "ziplist", |b| compact::ziplist(b).and_then(from_flat))?,
        RDB_TYPE_ZSET_LISTPACK => blob(r, "listpack", |b| compact::listpack(b).and_then(from_flat))?,
        _ => return r.err(format!("not a sorted set type {rdb_type}")),
    };
    if items.is_empty() {
        return r.err("empty sorted set");
    }
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    if !items.iter().all(|(m, _)| seen.insert(m.as_slice())) {
        return r.err("duplicate sorted set member");
    }
    Ok(Decoded::ZSet(items))
}

/// Writes a sorted set as Redis 7.0 does. Compact: one listpack of member, score (scores as Redis prints
/// them with `%.17g`, or integers), in rank order. Otherwise `ZSET_2` with binary scores.
pub fn encode<'a>(
    out: &mut Vec<u8>,
    members: impl Iterator<Item = (&'a [u8], f64)>,
    compact: bool,
    mut lzf: Option<&mut Compressor>,
) {
    if compact {
        let mut w = ListpackWriter::new();
        for (m, s) in members {
            w.push(m);
            push_score(&mut w, s);
        }
        out.push(RDB_TYPE_ZSET_LISTPACK);
        codec::put_string(out, &w.finish(), lzf);
        return;
    }
    let members: Vec<_> = members.collect();
    out.push(RDB_TYPE_ZSET_2);
    codec::put_len(out, members.len() as u64);
    for (m, s) in members {
        codec::put_string(out, m, lzf.as_deref_mut());
        codec::put_binary_double(out, s);
    }
}

/// A score inside a listpack: Redis's `d2string` text (integers within 2^52 as integers, `%.17g`
/// otherwise, `inf`/`-inf`/`-0`), which the listpack then stores as an integer when it is one.
fn push_score(w: &mut ListpackWriter, s: f64) {
    let text = if s.is_infinite() {
        if s > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        }
    } else if s == 0.0 {
        if s.is_sign_negative() {
            "-0".to_string()
        } else {
            "0".to_string()
        }
    } else if s > -4_503_599_627_370_495.0 && s < 4_503_599_627_370_496.0 && s == (s as i64) as f64 {
        itoa::Buffer::new().format(s as i64).to_string()
    } else {
        crate::num::format_f64_g17(s)
    };
    w.push(text.as_bytes());
}

/// Writes a keyspace sorted set: the listpack in rank order, or the skiplist from the tail as Redis does
/// (its loader then inserts each member at the head).
pub fn encode_zset(out: &mut Vec<u8>, z: &ZSet, lzf: Option<&mut Compressor>) {
    if z.is_packed() {
        let mut w = ListpackWriter::new();
        z.for_each(|m, s| {
            w.push(m);
            push_score(&mut w, s);
        });
        out.push(RDB_TYPE_ZSET_LISTPACK);
        codec::put_string(out, &w.finish(), lzf);
    } else {
        let all = z.to_vec();
        encode(out, all.iter().rev().map(|(m, s)| (m.as_slice(), *s)), false, lzf);
    }
}

/// The sorted set, in the encoding Redis picks on load.
pub fn into_value(pairs: Vec<(Vec<u8>, f64)>, limits: &EncodingLimits) -> std::result::Result<Value, String> {
    ZSet::from_entries(pairs, &ZLimits::from_config(limits))
        .map(|z| Value::ZSet(Box::new(z)))
        .ok_or_else(|| "invalid sorted set (duplicate member or NaN score)".to_string())
}
