//! A base file in AOF form (`aof-use-rdb-preamble no`): the keyspace as the commands Redis 7.0's
//! `rewriteAppendOnlyFileRio` writes — `SELECT`, then per key `SET` / `RPUSH` / `SADD` / `HMSET` / `ZADD`
//! (at most 64 items per command, as Redis's `AOF_REWRITE_ITEMS_PER_CMD`), streams as `XADD` with explicit
//! ids plus `XSETID`, `XGROUP CREATE .. ENTRIESREAD`, `XCLAIM .. JUSTID FORCE` and `XGROUP CREATECONSUMER`,
//! and `PEXPIREAT` for a key with a TTL.
//!
//! Values are read through the RDB codec's plain form ([`crate::rdb::types::Decoded`]): each value is
//! encoded and decoded again, so this module depends on no type's internals and follows every type the
//! codec knows. It runs in the rewrite child: read-only keyspace calls and plain writes only.

use std::io::Write;
use std::path::Path;

use crate::keyspace::DbView;
use crate::propagate::encode_into;
use crate::rdb::codec::Reader;
use crate::rdb::types::{self, stream::StreamId, Decoded};

const ITEMS_PER_CMD: usize = 64;

fn id(i: &StreamId) -> String {
    format!("{}-{}", i.ms, i.seq)
}

fn cmd(out: &mut Vec<u8>, args: &[&[u8]]) {
    encode_into(out, args.iter());
}

/// Appends the commands that rebuild `key` holding `d`.
pub fn rewrite_value(out: &mut Vec<u8>, key: &[u8], d: &Decoded) {
    match d {
        Decoded::String(v) => cmd(out, &[b"SET", key, v]),
        Decoded::List(items) | Decoded::Set(items) => {
            let name: &[u8] = if matches!(d, Decoded::List(_)) { b"RPUSH" } else { b"SADD" };
            for chunk in items.chunks(ITEMS_PER_CMD) {
                let mut line: Vec<&[u8]> = vec![name, key];
                line.extend(chunk.iter().map(Vec::as_slice));
                cmd(out, &line);
            }
        }
        Decoded::Hash(pairs) => {
            for chunk in pairs.chunks(ITEMS_PER_CMD) {
                let mut line: Vec<&[u8]> = vec![b"HMSET", key];
                for (f, v) in chunk {
                    line.push(f);
                    line.push(v);
                }
                cmd(out, &line);
            }
        }
        Decoded::ZSet(pairs) => {
            for chunk in pairs.chunks(ITEMS_PER_CMD) {
                let scores: Vec<String> = chunk.iter().map(|(_, s)| crate::num::format_f64_g17(*s)).collect();
                let mut line: Vec<&[u8]> = vec![b"ZADD", key];
                for ((m, _), s) in chunk.iter().zip(&scores) {
                    line.push(s.as_bytes());
                    line.push(m);
                }
                cmd(out, &line);
            }
        }
        Decoded::Stream(s) => {
            if s.entries.is_empty() {
                // Redis creates an empty stream with an entry trimmed away at once.
                let last = id(&s.last_id);
                cmd(out, &[b"XADD", key, b"MAXLEN", b"0", last.as_bytes(), b"x", b"y"]);
            }
            for e in &s.entries {
                let eid = id(&e.id);
                let mut line: Vec<&[u8]> = vec![b"XADD", key, eid.as_bytes()];
                for (f, v) in &e.fields {
                    line.push(f);
                    line.push(v);
                }
                cmd(out, &line);
            }
            let (last, added, maxdel) = (id(&s.last_id), s.entries_added.to_string(), id(&s.max_deleted_id));
            cmd(
                out,
                &[
                    b"XSETID",
                    key,
                    last.as_bytes(),
                    b"ENTRIESADDED",
                    added.as_bytes(),
                    b"MAXDELETEDID",
                    maxdel.as_bytes(),
                ],
            );
            for g in &s.groups {
                let (gid, read) = (id(&g.last_id), g.entries_read.to_string());
                cmd(out, &[b"XGROUP", b"CREATE", key, &g.name, gid.as_bytes(), b"ENTRIESREAD", read.as_bytes()]);
                for p in &g.pending {
                    let (pid, time, count) = (id(&p.id), p.delivery_time_ms.to_string(), p.delivery_count.to_string());
                    cmd(
                        out,
                        &[
                            b"XCLAIM",
                            key,
                            &g.name,
                            &p.consumer,
                            b"0",
                            pid.as_bytes(),
                            b"TIME",
                            time.as_bytes(),
                            b"RETRYCOUNT",
                            count.as_bytes(),
                            b"JUSTID",
                            b"FORCE",
                        ],
                    );
                }
                for c in g.consumers.iter().filter(|c| c.pending.is_empty()) {
                    cmd(out, &[b"XGROUP", b"CREATECONSUMER", key, &g.name, &c.name]);
                }
            }
        }
    }
}

/// Writes every database of `view` (which holds every shard) as AOF commands to `path` (temp name, fsync,
/// rename). Returns the key count.
pub fn write(
    view: &mut DbView<'_>,
    databases: usize,
    limits: &crate::config::EncodingLimits,
    path: &Path,
) -> Result<u64, String> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    // SAFETY: getpid has no preconditions.
    let tmp = dir.join(format!("temp-rewriteaof-{}.aof", unsafe { libc::getpid() }));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| format!("Opening the temp AOF base file: {e}"))?;
        let original_db = view.db_index();
        let now_ms = view.now_ms();
        let mut keys_total = 0u64;
        let mut out = Vec::with_capacity(1 << 16);
        let mut value_buf = Vec::new();
        for db in 0..databases {
            view.select(db);
            let mut keys: Vec<Vec<u8>> = Vec::new();
            view.keys_matching(b"*", |k| keys.push(k.to_vec()));
            if keys.is_empty() {
                continue;
            }
            cmd(&mut out, &[b"SELECT", db.to_string().as_bytes()]);
            for key in &keys {
                let decoded = view.peek_raw(key, |e| {
                    let e = e?;
                    if e.expire_at_ms != 0 && e.expire_at_ms <= now_ms {
                        return None;
                    }
                    value_buf.clear();
                    types::encode_value(&mut value_buf, &e.value, None, limits).ok()?;
                    let (&t, rest) = value_buf.split_first()?;
                    let d = types::decode_value(&mut Reader::new(rest), t).ok()?;
                    Some((d, e.expire_at_ms))
                });
                let Some((d, expire_at)) = decoded else { continue };
                rewrite_value(&mut out, key, &d);
                if expire_at != 0 {
                    cmd(&mut out, &[b"PEXPIREAT", key, expire_at.to_string().as_bytes()]);
                }
                keys_total += 1;
                if out.len() >= 1 << 16 {
                    f.write_all(&out).map_err(|e| format!("Write error writing the AOF base: {e}"))?;
                    out.clear();
                }
            }
        }
        view.select(original_db);
        f.write_all(&out).map_err(|e| format!("Write error writing the AOF base: {e}"))?;
        f.sync_all().map_err(|e| format!("Write error writing the AOF base: {e}"))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| format!("Renaming the AOF base file: {e}"))?;
        super::manifest::fsync_dir(&dir);
        Ok(keys_total)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_in_redis_forms() {
        let mut out = Vec::new();
        rewrite_value(&mut out, b"k", &Decoded::ZSet(vec![(b"m".to_vec(), 1.5)]));
        assert_eq!(out, b"*4\r\n$4\r\nZADD\r\n$1\r\nk\r\n$3\r\n1.5\r\n$1\r\nm\r\n".to_vec());
        out.clear();
        let items: Vec<Vec<u8>> = (0..65).map(|i| i.to_string().into_bytes()).collect();
        rewrite_value(&mut out, b"l", &Decoded::List(items));
        assert_eq!(out.windows(7).filter(|w| w == b"\r\nRPUSH").count(), 2);
    }
}
