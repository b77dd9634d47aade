//! Streams: `RDB_TYPE_STREAM_LISTPACKS` (Redis 5-6), `_2` (Redis 7.0: first id, max deleted id, entries
//! added, consumer groups' entries read) and `_3` (Redis 7.2 / Valkey 8: consumers' active time). Every
//! node is a listpack of entries delta-encoded against the node's master entry; entries flagged deleted
//! are dropped. Groups come with their pending entries list and consumers, each consumer's PEL pointing
//! into the group's.

use super::compact::{self, Elem};
use super::{blob, Decoded, RDB_TYPE_STREAM_LISTPACKS, RDB_TYPE_STREAM_LISTPACKS_3};
use std::collections::BTreeMap;
use std::collections::HashMap;

use super::compact::ListpackWriter;
use super::RDB_TYPE_STREAM_LISTPACKS_2;
use crate::config::EncodingLimits;
use crate::keyspace::Value;
use crate::rdb::codec;
use crate::rdb::codec::{Reader, Result};
use crate::rdb::lzf::Compressor;
use crate::types::stream::{
    Consumer as RealConsumer, ConsumerGroup, NodeLimits, Pending, Stream, StreamEntry as RealEntry, StreamId as RealId,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    fn from_be(b: &[u8]) -> Option<StreamId> {
        let ms = u64::from_be_bytes(b.get(0..8)?.try_into().ok()?);
        let seq = u64::from_be_bytes(b.get(8..16)?.try_into().ok()?);
        Some(StreamId { ms, seq })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    pub id: StreamId,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PendingEntry {
    pub id: StreamId,
    pub delivery_time_ms: u64,
    pub delivery_count: u64,
    /// The consumer owning the entry (every entry has one in a valid file).
    pub consumer: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub name: Vec<u8>,
    pub seen_time_ms: u64,
    /// Redis 7.2+ only; Redis 7.0 files leave it unset (Redis then uses the seen time).
    pub active_time_ms: Option<u64>,
    pub pending: Vec<StreamId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: Vec<u8>,
    pub last_id: StreamId,
    /// `entries-read`; -1 when unknown (Redis's `SCG_INVALID_ENTRIES_READ`).
    pub entries_read: i64,
    pub pending: Vec<PendingEntry>,
    pub consumers: Vec<Consumer>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamData {
    pub entries: Vec<StreamEntry>,
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: Vec<Group>,
}

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// The live entries of one node (a listpack whose master entry has id `master`).
fn node_entries(master: StreamId, lp: Vec<Elem>, out: &mut Vec<StreamEntry>) -> std::result::Result<(), String> {
    let mut it = lp.into_iter();
    let next_int = |it: &mut std::vec::IntoIter<Elem>, what: &str| -> std::result::Result<i64, String> {
        it.next().and_then(|e| e.as_int()).ok_or_else(|| format!("stream node: missing or invalid {what}"))
    };
    let count = next_int(&mut it, "entry count")?;
    let deleted = next_int(&mut it, "deleted count")?;
    let nfields = next_int(&mut it, "master field count")?;
    if count < 0 || deleted < 0 || nfields < 0 || nfields as usize > it.len() {
        return Err("stream node: invalid master entry".into());
    }
    let master_fields: Vec<Vec<u8>> = (0..nfields).filter_map(|_| it.next().map(Elem::into_bytes)).collect();
    if next_int(&mut it, "master terminator")? != 0 {
        return Err("stream node: master entry not terminated".into());
    }
    let total = count + deleted;
    for _ in 0..total {
        let flags = next_int(&mut it, "entry flags")?;
        let ms_diff = next_int(&mut it, "entry id")?;
        let seq_diff = next_int(&mut it, "entry id")?;
        let id = StreamId { ms: master.ms.wrapping_add(ms_diff as u64), seq: master.seq.wrapping_add(seq_diff as u64) };
        let mut fields = Vec::new();
        let mut lp_count = 3;
        if flags & FLAG_SAMEFIELDS != 0 {
            for f in &master_fields {
                let v = it.next().ok_or("stream node: entry cut short")?.into_bytes();
                fields.push((f.clone(), v));
            }
            lp_count += master_fields.len() as i64;
        } else {
            let n = next_int(&mut it, "field count")?;
            if n < 0 || (n as usize).saturating_mul(2) > it.len() {
                return Err("stream node: invalid field count".into());
            }
            for _ in 0..n {
                let f = it.next().ok_or("stream node: entry cut short")?.into_bytes();
                let v = it.next().ok_or("stream node: entry cut short")?.into_bytes();
                fields.push((f, v));
            }
            lp_count += 1 + 2 * n;
        }
        if next_int(&mut it, "entry back count")? != lp_count {
            return Err("stream node: entry back count mismatch".into());
        }
        if flags & FLAG_DELETED == 0 {
            out.push(StreamEntry { id, fields });
        }
    }
    if it.next().is_some() {
        return Err("stream node: data after the last entry".into());
    }
    Ok(())
}

fn read_id(r: &mut Reader<'_>) -> Result<StreamId> {
    let ms = r.len()?;
    let seq = r.len()?;
    Ok(StreamId { ms, seq })
}

fn raw_id(r: &mut Reader<'_>) -> Result<StreamId> {
    let at = r.offset();
    let b = r.take(16)?;
    match StreamId::from_be(b) {
        Some(id) => Ok(id),
        None => r.err_at(at, "invalid stream id"),
    }
}

pub fn decode(r: &mut Reader<'_>, rdb_type: u8) -> Result<Decoded> {
    let v2 = rdb_type > RDB_TYPE_STREAM_LISTPACKS;
    let v3 = rdb_type >= RDB_TYPE_STREAM_LISTPACKS_3;
    let mut s = StreamData::default();
    let nodes = r.count(2)?;
    for _ in 0..nodes {
        let at = r.offset();
        let key = r.string()?;
        let master = match (key.len(), StreamId::from_be(&key)) {
            (16, Some(id)) => id,
            _ => return r.err_at(at, "stream node key is not the size of a stream ID"),
        };
        let lp = blob(r, "stream listpack", compact::listpack)?;
        if lp.is_empty() {
            return r.err_at(at, "empty listpack inside a stream");
        }
        if let Err(e) = node_entries(master, lp, &mut s.entries) {
            return r.err_at(at, e);
        }
    }
    let at = r.offset();
    s.length = r.len()?;
    if s.length != s.entries.len() as u64 {
        return r.err_at(at, format!("stream length {} but {} entries", s.length, s.entries.len()));
    }
    s.last_id = read_id(r)?;
    if v2 {
        s.first_id = read_id(r)?;
        s.max_deleted_id = read_id(r)?;
        s.entries_added = r.len()?;
    } else {
        s.first_id = s.entries.first().map(|e| e.id).unwrap_or_default();
        s.entries_added = s.length;
    }
    let ngroups = r.count(3)?;
    for _ in 0..ngroups {
        let name = r.string()?;
        let last_id = read_id(r)?;
        let entries_read = if v2 { r.len()? as i64 } else { -1 };
        let npel = r.count(18)?;
        let mut pending = Vec::with_capacity(npel);
        let mut index: HashMap<StreamId, usize> = HashMap::with_capacity(npel);
        for _ in 0..npel {
            let at = r.offset();
            let id = raw_id(r)?;
            let delivery_time_ms = r.u64_le()?;
            let delivery_count = r.len()?;
            if index.insert(id, pending.len()).is_some() {
                return r.err_at(at, "duplicated global PEL entry loading stream consumer group");
            }
            pending.push(PendingEntry { id, delivery_time_ms, delivery_count, consumer: Vec::new() });
        }
        let mut owned = vec![false; pending.len()];
        let nconsumers = r.count(10)?;
        let mut consumers = Vec::with_capacity(nconsumers);
        for _ in 0..nconsumers {
            let cname = r.string()?;
            let seen_time_ms = r.u64_le()?;
            let active_time_ms = if v3 { Some(r.u64_le()?) } else { None };
            let n = r.count(16)?;
            let mut ids = Vec::with_capacity(n);
            for _ in 0..n {
                let at = r.offset();
                let id = raw_id(r)?;
                match index.get(&id).copied() {
                    Some(i) if !owned[i] => {
                        owned[i] = true;
                        pending[i].consumer = cname.clone();
                    }
                    _ => return r.err_at(at, "consumer PEL entry not found in group PEL"),
                }
                ids.push(id);
            }
            consumers.push(Consumer { name: cname, seen_time_ms, active_time_ms, pending: ids });
        }
        if owned.contains(&false) {
            return r.err("stream group PEL entry without a consumer");
        }
        s.groups.push(Group { name, last_id, entries_read, pending, consumers });
    }
    Ok(Decoded::Stream(Box::new(s)))
}

/// The stream, its nodes cut by the configured `stream-node-max-*` limits.
pub fn into_value(s: StreamData, limits: &EncodingLimits) -> std::result::Result<Value, String> {
    let id = |i: StreamId| RealId { ms: i.ms, seq: i.seq };
    let entries = s
        .entries
        .into_iter()
        .map(|e| RealEntry { id: id(e.id), fields: e.fields.into_iter().flat_map(|(f, v)| [f, v]).collect() });
    let mut groups = BTreeMap::new();
    for g in s.groups {
        let mut cg = ConsumerGroup::new(id(g.last_id), g.entries_read);
        for p in g.pending {
            cg.pel.insert(
                id(p.id),
                Pending { delivery_time: p.delivery_time_ms, delivery_count: p.delivery_count, consumer: p.consumer },
            );
        }
        for c in g.consumers {
            let pel = c.pending.into_iter().map(id).collect();
            cg.consumers.insert(c.name, RealConsumer { seen_time: c.seen_time_ms, pel });
        }
        groups.insert(g.name, cg);
    }
    let node_limits =
        NodeLimits { max_bytes: limits.stream_node_max_bytes, max_entries: limits.stream_node_max_entries };
    Ok(Value::Stream(Box::new(Stream::from_parts(
        entries,
        id(s.last_id),
        id(s.first_id),
        id(s.max_deleted_id),
        s.entries_added,
        groups,
        node_limits,
    ))))
}

/// Largest stream listpack Redis builds whatever `stream-node-max-bytes` says (`STREAM_LISTPACK_MAX_SIZE`).
const STREAM_LISTPACK_MAX_SIZE: u64 = 1 << 30;

fn push_id_be(out: &mut Vec<u8>, id: RealId) {
    out.extend_from_slice(&id.ms.to_be_bytes());
    out.extend_from_slice(&id.seq.to_be_bytes());
}

/// Writes a stream as Redis 7.0 does (`STREAM_LISTPACKS_2`): live entries in listpack nodes cut as
/// `streamAppendItem` cuts them (bytes or entries limit reached), each node's first entry as its master
/// entry, entries with the master's fields flagged SAMEFIELDS; then the metadata and the consumer groups
/// with their PELs. Deleted entries are not kept by the stream type, so nodes hold live entries only.
pub fn encode_stream(out: &mut Vec<u8>, s: &Stream, limits: &EncodingLimits, mut lzf: Option<&mut Compressor>) {
    let max_bytes = match limits.stream_node_max_bytes {
        0 => STREAM_LISTPACK_MAX_SIZE,
        n => n.min(STREAM_LISTPACK_MAX_SIZE),
    } as usize;
    let max_entries = limits.stream_node_max_entries;
    struct Open {
        master: RealId,
        fields: Vec<Vec<u8>>,
        lp: ListpackWriter,
        count: u64,
        body: Vec<(Vec<u8>, usize)>,
    }
    // Nodes are built as element lists first: the master entry's count is only known at the end.
    let mut nodes: Vec<(RealId, Vec<u8>)> = Vec::new();
    let finish = |o: Open, nodes: &mut Vec<(RealId, Vec<u8>)>| {
        let _ = o.lp;
        let mut w = ListpackWriter::new();
        w.push_int(o.count as i64);
        w.push_int(0);
        w.push_int(o.fields.len() as i64);
        for f in &o.fields {
            w.push(f);
        }
        w.push_int(0);
        for e in &o.body {
            w.push_encoded(e);
        }
        nodes.push((o.master, w.finish()));
    };
    let mut open: Option<Open> = None;
    for e in s.iter() {
        let pairs: Vec<(&[u8], &[u8])> =
            e.fields.chunks(2).filter_map(|c| Some((c.first()?.as_slice(), c.get(1)?.as_slice()))).collect();
        let totelelen: usize = pairs.iter().map(|(f, v)| f.len() + v.len()).sum();
        if let Some(o) = &open {
            if o.lp.byte_len() + totelelen >= max_bytes || (max_entries != 0 && o.count >= max_entries) {
                if let Some(o) = open.take() {
                    finish(o, &mut nodes);
                }
            }
        }
        let o = open.get_or_insert_with(|| {
            let fields: Vec<Vec<u8>> = pairs.iter().map(|(f, _)| f.to_vec()).collect();
            // A scratch listpack mirroring the node's size, for the bytes limit.
            let mut lp = ListpackWriter::new();
            lp.push_int(1);
            lp.push_int(0);
            lp.push_int(fields.len() as i64);
            for f in &fields {
                lp.push(f);
            }
            lp.push_int(0);
            Open { master: e.id, fields, lp, count: 0, body: Vec::new() }
        });
        let same = pairs.len() == o.fields.len() && pairs.iter().zip(&o.fields).all(|((f, _), m)| *f == m.as_slice());
        let mut entry = ListpackWriter::new();
        entry.push_int(if same { FLAG_SAMEFIELDS } else { 0 });
        entry.push_int(e.id.ms.wrapping_sub(o.master.ms) as i64);
        entry.push_int(e.id.seq.wrapping_sub(o.master.seq) as i64);
        if same {
            for (_, v) in &pairs {
                entry.push(v);
            }
            entry.push_int(pairs.len() as i64 + 3);
        } else {
            entry.push_int(pairs.len() as i64);
            for (f, v) in &pairs {
                entry.push(f);
                entry.push(v);
            }
            entry.push_int(2 * pairs.len() as i64 + 4);
        }
        let raw = entry.into_entries();
        o.lp.push_encoded(&raw);
        o.body.push(raw);
        o.count += 1;
    }
    if let Some(o) = open.take() {
        finish(o, &mut nodes);
    }
    out.push(RDB_TYPE_STREAM_LISTPACKS_2);
    codec::put_len(out, nodes.len() as u64);
    for (master, lp) in &nodes {
        let mut key = Vec::with_capacity(16);
        push_id_be(&mut key, *master);
        codec::put_string(out, &key, None);
        codec::put_string(out, lp, lzf.as_deref_mut());
    }
    let put_id = |out: &mut Vec<u8>, id: RealId| {
        codec::put_len(out, id.ms);
        codec::put_len(out, id.seq);
    };
    codec::put_len(out, s.len());
    put_id(out, s.last_id);
    put_id(out, s.first_id);
    put_id(out, s.max_deleted_entry_id);
    codec::put_len(out, s.entries_added);
    codec::put_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        codec::put_string(out, name, lzf.as_deref_mut());
        put_id(out, g.last_id);
        codec::put_len(out, g.entries_read as u64);
        codec::put_len(out, g.pel.len() as u64);
        for (id, p) in &g.pel {
            push_id_be(out, *id);
            out.extend_from_slice(&p.delivery_time.to_le_bytes());
            codec::put_len(out, p.delivery_count);
        }
        codec::put_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            codec::put_string(out, cname, lzf.as_deref_mut());
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            codec::put_len(out, c.pel.len() as u64);
            for id in &c.pel {
                push_id_be(out, *id);
            }
        }
    }
}
