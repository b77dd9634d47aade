//! Lists: `RDB_TYPE_LIST` (linked list, old), `LIST_ZIPLIST` (RDB 6), `LIST_QUICKLIST` (ziplist nodes,
//! RDB 7-9) and `LIST_QUICKLIST_2` (listpack or plain nodes, Redis 7.0). Written as `LIST_QUICKLIST_2`.

use super::compact::{self, Elem, ListpackWriter};
use super::{blob, Decoded, RDB_TYPE_LIST, RDB_TYPE_LIST_QUICKLIST, RDB_TYPE_LIST_QUICKLIST_2, RDB_TYPE_LIST_ZIPLIST};
use crate::config::EncodingLimits;
use crate::keyspace::Value;
use crate::rdb::codec::{self, Reader, Result};
use crate::rdb::lzf::Compressor;
use crate::types::list::List;

const QUICKLIST_NODE_CONTAINER_PLAIN: u64 = 1;
const QUICKLIST_NODE_CONTAINER_PACKED: u64 = 2;

pub fn decode(r: &mut Reader<'_>, rdb_type: u8) -> Result<Decoded> {
    let mut items = Vec::new();
    match rdb_type {
        RDB_TYPE_LIST => {
            let n = r.count(1)?;
            items.reserve(n);
            for _ in 0..n {
                items.push(r.string()?);
            }
        }
        RDB_TYPE_LIST_ZIPLIST => {
            items = blob(r, "ziplist", compact::ziplist)?.into_iter().map(Elem::into_bytes).collect();
        }
        RDB_TYPE_LIST_QUICKLIST => {
            let nodes = r.count(1)?;
            for _ in 0..nodes {
                items.extend(blob(r, "ziplist", compact::ziplist)?.into_iter().map(Elem::into_bytes));
            }
        }
        RDB_TYPE_LIST_QUICKLIST_2 => {
            let nodes = r.count(2)?;
            for _ in 0..nodes {
                let at = r.offset();
                match r.len()? {
                    QUICKLIST_NODE_CONTAINER_PLAIN => items.push(r.string()?),
                    QUICKLIST_NODE_CONTAINER_PACKED => {
                        let node = blob(r, "listpack", compact::listpack)?;
                        if node.is_empty() {
                            return r.err_at(at, "empty listpack node in a quicklist");
                        }
                        items.extend(node.into_iter().map(Elem::into_bytes));
                    }
                    c => return r.err_at(at, format!("unknown quicklist node container {c}")),
                }
            }
        }
        _ => return r.err(format!("not a list type {rdb_type}")),
    }
    if items.is_empty() {
        return r.err("empty list");
    }
    Ok(Decoded::List(items))
}

/// Redis 7.0.15's `_quicklistNodeAllowInsert` for appending an element of `len` bytes to a node whose
/// listpack is `node_bytes` long with `count` elements: the estimate is `node_bytes + len + 8`
/// (`SIZE_ESTIMATE_OVERHEAD`), checked against 4096 << (-fill - 1) bytes for negative fills (clamped to
/// -5), or against 8 KiB and `fill` entries for positive ones.
fn allow_insert(node_bytes: usize, count: usize, len: usize, fill: i64) -> bool {
    const LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
    let new_sz = node_bytes + len + 8;
    if fill < 0 {
        let level = ((-fill - 1) as usize).min(LEVELS.len() - 1);
        return new_sz <= LEVELS[level];
    }
    new_sz <= 8192 && (count as i64) < fill.max(1)
}

/// Writes a list as Redis 7.0 does (`LIST_QUICKLIST_2`, packed listpack nodes cut where RPUSH would start
/// a new node under `list-max-listpack-size` = `fill`).
pub fn encode<'a>(
    out: &mut Vec<u8>,
    items: impl Iterator<Item = &'a [u8]>,
    fill: i64,
    mut lzf: Option<&mut Compressor>,
) {
    let mut nodes: Vec<Vec<u8>> = Vec::new();
    let mut cur = ListpackWriter::new();
    for item in items {
        if !cur.is_empty() && !allow_insert(cur.byte_len(), cur.len(), item.len(), fill) {
            nodes.push(std::mem::take(&mut cur).finish());
            cur = ListpackWriter::new();
        }
        cur.push(item);
    }
    if !cur.is_empty() {
        nodes.push(cur.finish());
    }
    out.push(RDB_TYPE_LIST_QUICKLIST_2);
    codec::put_len(out, nodes.len() as u64);
    for node in nodes {
        codec::put_len(out, QUICKLIST_NODE_CONTAINER_PACKED);
        codec::put_string(out, &node, lzf.as_deref_mut());
    }
}

/// The list, built with the configured node size.
pub fn into_value(items: Vec<Vec<u8>>, limits: &EncodingLimits) -> std::result::Result<Value, String> {
    Ok(Value::List(Box::new(List::from_entries(limits.list_max_listpack_size, items))))
}
