//! XREAD and XREADGROUP, including BLOCK.
//!
//! A call that finds nothing to serve and has BLOCK blocks through [`crate::blocking`]: XREAD's `$` ids are
//! resolved to each stream's last id at that moment and the retried command line carries them, so the retry
//! serves exactly what arrived after the call (Redis keeps the resolved ids in the blocked client). A retry
//! reads at most 1000 entries per stream when no COUNT was given (Redis's `XREAD_BLOCKED_DEFAULT_COUNT`), and
//! a key that has become another type keeps the client blocked, as Redis 7.0 does. A woken client is served
//! from the first of its streams (in argument order) that has something for it, never from several at once,
//! like Redis, which serves it from the one key that became ready.

use super::{bulk_id, id_arg, lookup, nogroup_error, reply_entry, Lookup};
use crate::blocking::{BlockRequest, TimeoutReply};
use crate::commands::args::c_str as cstr;
use crate::commands::string::keyword;
use crate::commands::{args, errors, Ctx};
use crate::notify::class;
use crate::propagate::Propagate;
use crate::protocol::decode::Args;
use crate::types::stream::{Stream, StreamId};

const BLOCKED_DEFAULT_COUNT: u64 = 1000;

/// What the client asked for on one stream.
#[derive(Clone, Copy)]
enum Want {
    /// Entries after this id.
    After(StreamId),
    /// XREAD `$`: entries after the last id (resolved per call).
    Dollar,
    /// XREADGROUP `>`: never-delivered entries.
    New,
}

/// Parses BLOCK's milliseconds as Redis 7.0.15 does: an integer, not negative; 0 waits forever. Redis adds
/// the clock without an overflow check, and the wrapped deadline sorts last in its (unsigned) timeout table,
/// so such a client waits forever: Shoal gives it no deadline either.
fn block_deadline(out: &mut crate::protocol::reply::Reply, arg: &[u8], now: u64) -> Option<u64> {
    let Some(ms) = crate::num::parse_i64(arg) else {
        out.error("ERR timeout is not an integer or out of range");
        return None;
    };
    if ms < 0 {
        out.error("ERR timeout is negative");
        return None;
    }
    if ms == 0 {
        return Some(0);
    }
    Some(now.checked_add(ms as u64).filter(|&d| d <= i64::MAX as u64).unwrap_or(0))
}

pub fn xread(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    read_generic(ctx, args, false);
}

pub fn xreadgroup(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    read_generic(ctx, args, true);
}

fn read_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, xreadgroup: bool) {
    let mut block_arg: Option<&[u8]> = None;
    let mut deadline_ms: u64 = 0;
    let mut count: u64 = 0;
    let mut noack = false;
    let mut group: Option<(&[u8], &[u8])> = None;
    let mut streams_arg = 0;
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let o = args.get(i);
        if keyword(o, "BLOCK") && more > 0 {
            i += 1;
            let now = ctx.now_ms();
            let Some(d) = block_deadline(ctx.out, args.get(i), now) else { return };
            block_arg = Some(args.get(i));
            deadline_ms = d;
        } else if keyword(o, "COUNT") && more > 0 {
            i += 1;
            let Some(n) = args::int(ctx.out, args.get(i)) else { return };
            count = n.max(0) as u64;
        } else if keyword(o, "STREAMS") && more > 0 {
            streams_arg = i + 1;
            if !(args.len() - streams_arg).is_multiple_of(2) {
                ctx.out
                    .error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
                return;
            }
            break;
        } else if keyword(o, "GROUP") && more >= 2 {
            if !xreadgroup {
                ctx.out.error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            group = Some((args.get(i + 1), args.get(i + 2)));
            i += 2;
        } else if keyword(o, "NOACK") {
            if !xreadgroup {
                ctx.out.error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            noack = true;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        i += 1;
    }
    if streams_arg == 0 {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    if xreadgroup && group.is_none() {
        ctx.out.error("ERR Missing GROUP option for XREADGROUP");
        return;
    }
    let retry = ctx.client.block_retry;
    let nstreams = (args.len() - streams_arg) / 2;
    let mut wants = Vec::with_capacity(nstreams);
    for k in 0..nstreams {
        let key = args.get(streams_arg + k);
        let id_text = args.get(streams_arg + nstreams + k);
        let found = match lookup(ctx.db, key, true) {
            Lookup::WrongType => {
                if retry {
                    // Redis 7.0 keeps such a client blocked.
                    block(ctx, &args, streams_arg, nstreams, deadline_ms, None);
                    return;
                }
                ctx.out.error(errors::WRONGTYPE);
                return;
            }
            Lookup::Missing => None,
            Lookup::Found(s) => Some(s),
        };
        if let Some((gname, _)) = group {
            if retry {
                // A blocked XREADGROUP: a missing key keeps it blocked; a destroyed group ends the wait.
                match found.as_ref() {
                    None => {
                        block(ctx, &args, streams_arg, nstreams, deadline_ms, None);
                        return;
                    }
                    Some(s) if !s.groups.contains_key(gname) => {
                        ctx.out.error("NOGROUP the consumer group this client was blocked on no longer exists");
                        return;
                    }
                    Some(_) => {}
                }
            }
            if !found.as_ref().is_some_and(|s| s.groups.contains_key(gname)) {
                nogroup_error(
                    ctx.out,
                    &[
                        b"NOGROUP No such key '",
                        key,
                        b"' or consumer group '",
                        gname,
                        b"' in XREADGROUP with GROUP option",
                    ],
                );
                return;
            }
        }
        if cstr(id_text) == b"$" {
            if xreadgroup {
                ctx.out.error(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of \
                     this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would \
                     just return an empty result set.",
                );
                return;
            }
            wants.push(Want::Dollar);
            continue;
        }
        if cstr(id_text) == b">" {
            if !xreadgroup {
                ctx.out.error(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> \
                     <consumer> option.",
                );
                return;
            }
            wants.push(Want::New);
            continue;
        }
        let Some(id) = id_arg(ctx.out, id_text, 0, true) else { return };
        wants.push(Want::After(id));
    }
    // `$` means the last id at the time of the call.
    let mut resolved: Vec<StreamId> = Vec::with_capacity(nstreams);
    for (k, want) in wants.iter().enumerate() {
        let id = match want {
            Want::Dollar => match lookup(ctx.db, args.get(streams_arg + k), false) {
                Lookup::Found(s) => s.last_id,
                _ => StreamId::MIN,
            },
            Want::After(id) => *id,
            Want::New => StreamId::MAX,
        };
        resolved.push(id);
    }
    let count = if count == 0 && retry { BLOCKED_DEFAULT_COUNT } else { count };
    let now = ctx.now_ms();
    let start_len = ctx.out.len();
    let mut served = 0usize;
    let mut new_consumers: Vec<&[u8]> = Vec::new();
    // XREADGROUP propagates what it did (XCLAIM, XGROUP SETID/CREATECONSUMER lines), never itself.
    let mut props: Option<Vec<Vec<Vec<u8>>>> = (xreadgroup && super::propagating(ctx.server)).then(Vec::new);
    for (k, &resolved_id) in resolved.iter().enumerate() {
        let key = args.get(streams_arg + k);
        // A read lookup again, as Redis's second `lookupKeyRead` (it counts in keyspace_hits/misses).
        let Lookup::Found(s) = lookup(ctx.db, key, true) else { continue };
        let mut gt = resolved_id;
        let mut history = false;
        if let Some((gname, cname)) = group {
            let max_live = s.last_entry_id();
            let Some(g) = s.groups.get_mut(gname) else { continue };
            let mut serve = false;
            if gt != StreamId::MAX {
                serve = true;
                history = true;
            } else if let Some(max) = max_live {
                if max > g.last_id {
                    serve = true;
                    gt = g.last_id;
                }
            }
            if !serve {
                continue;
            }
            let created = g.create_consumer(cname, now);
            if let Some(c) = g.consumers.get_mut(cname) {
                c.seen_time = now;
            }
            if created {
                ctx.dirty += 1;
                new_consumers.push(key);
                // Redis propagates the creation only for NOACK reads (otherwise the XCLAIMs create it).
                if let Some(props) = props.as_mut().filter(|_| noack) {
                    props.push(super::createconsumer_line(key, gname, cname));
                }
            }
        } else if s.last_entry_id().is_none_or(|max| max <= gt) {
            continue;
        }
        served += 1;
        if served == 1 {
            // Placeholder header, rewritten below once the number of streams is known.
            ctx.out.buf.extend_from_slice(b"*0000000000\r\n");
        }
        if !ctx.out.is_resp3() {
            ctx.out.array(2);
        }
        ctx.out.bulk(key);
        // Redis's streamIncrID wraps the greatest id to 0-0 (only reachable with an explicit history id).
        let start = gt.incr().unwrap_or(StreamId::MIN);
        match group {
            Some((gname, cname)) if history => reply_history(ctx.out, s, gname, cname, start, count, now),
            Some((gname, cname)) => {
                let mut r = GroupRead { key, gname, cname, noack, now, props: props.take() };
                reply_new(ctx.out, s, &mut r, start, count);
                props = r.props;
            }
            None => super::reply_range(ctx.out, s, start, StreamId::MAX, count, false),
        }
        if group.is_some() {
            ctx.dirty += 1;
        }
        if retry {
            // A woken client is served from one stream, as Redis serves it from the key that became ready.
            break;
        }
    }
    for key in new_consumers {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    if let Some(lines) = props {
        super::also_propagate_all(ctx, &lines);
        ctx.propagate_nothing();
    }
    if served > 0 {
        let header = if ctx.out.is_resp3() { format!("%{served}\r\n") } else { format!("*{served}\r\n") };
        let placeholder_end = start_len + 13;
        ctx.out.buf.splice(start_len..placeholder_end, header.into_bytes());
        return;
    }
    if block_arg.is_some() {
        if !ctx.may_block() {
            ctx.out.null_array();
            return;
        }
        let rewritten = wants.iter().any(|w| matches!(w, Want::Dollar)).then(|| {
            let mut line = args.to_vec();
            for (k, w) in wants.iter().enumerate() {
                if matches!(w, Want::Dollar) {
                    if let Some(slot) = line.get_mut(streams_arg + nstreams + k) {
                        *slot = resolved[k].to_bytes();
                    }
                }
            }
            line
        });
        block(ctx, &args, streams_arg, nstreams, deadline_ms, rewritten);
        return;
    }
    ctx.out.null_array();
}

fn block(
    ctx: &mut Ctx<'_, '_>,
    args: &Args<'_>,
    streams_arg: usize,
    nstreams: usize,
    deadline_ms: u64,
    retry_args: Option<Vec<Vec<u8>>>,
) {
    if !ctx.may_block() {
        ctx.out.null_array();
        return;
    }
    let keys = (0..nstreams).map(|k| args.get(streams_arg + k).to_vec()).collect();
    ctx.block(BlockRequest { keys, deadline_ms, timeout_reply: TimeoutReply::NullArray, retry_args });
}

/// XREADGROUP with an explicit id: the consumer's own pending entries after `start`.
fn reply_history(
    out: &mut crate::protocol::reply::Reply,
    s: &mut Stream,
    gname: &[u8],
    cname: &[u8],
    start: StreamId,
    count: u64,
    now: u64,
) {
    let ids: Vec<StreamId> = match s.groups.get(gname).and_then(|g| g.consumers.get(cname)) {
        Some(c) => c.pel.range(start..).take(if count == 0 { usize::MAX } else { count as usize }).copied().collect(),
        None => Vec::new(),
    };
    out.array(ids.len());
    for id in ids {
        match s.get(id) {
            Some(e) => {
                reply_entry(out, e);
                if let Some(p) = s.groups.get_mut(gname).and_then(|g| g.pel.get_mut(&id)) {
                    p.delivery_time = now;
                    p.delivery_count = p.delivery_count.saturating_add(1);
                }
            }
            None => {
                out.array(2);
                bulk_id(out, id);
                out.null_array();
            }
        }
    }
}

/// XREADGROUP `>`: entries after the group's last id, which advance it and (without NOACK) become pending.
/// What one XREADGROUP call reads for: the group, the consumer, and where propagated lines go (None when
/// nothing consumes propagation).
struct GroupRead<'a> {
    key: &'a [u8],
    gname: &'a [u8],
    cname: &'a [u8],
    noack: bool,
    now: u64,
    props: Option<Vec<Vec<Vec<u8>>>>,
}

/// XREADGROUP `>`: entries after the group's last id, which advance it and (without NOACK) become pending.
/// Propagated as Redis does: one idempotent XCLAIM per new pending entry, or (NOACK) an XGROUP SETID.
fn reply_new(
    out: &mut crate::protocol::reply::Reply,
    s: &mut Stream,
    r: &mut GroupRead<'_>,
    start: StreamId,
    count: u64,
) {
    let mut picked: Vec<StreamId> = Vec::new();
    s.range(start, StreamId::MAX, false, |e| {
        picked.push(e.id);
        count == 0 || (picked.len() as u64) < count
    });
    out.array(picked.len());
    let mut advanced = false;
    for id in picked {
        let before = s.groups.get(r.gname).map(|g| g.last_id);
        s.advance_group(r.gname, id);
        advanced |= s.groups.get(r.gname).map(|g| g.last_id) != before;
        if let Some(e) = s.get(id) {
            reply_entry(out, e);
        }
        if !r.noack {
            if let Some(g) = s.groups.get_mut(r.gname) {
                g.deliver(id, r.cname, r.now);
                let last = g.last_id;
                if let Some(p) = g.pel.get_mut(&id) {
                    p.delivery_count = 1;
                    if let Some(props) = r.props.as_mut() {
                        props.push(super::xclaim_line(r.key, r.gname, p, id, last));
                    }
                }
            }
        }
    }
    // As Redis 7.0: the SETID only with NOACK (otherwise the XCLAIMs carry LASTID; the read counter is not
    // propagated then, in Redis as here).
    if r.noack && advanced {
        if let (Some(props), Some(g)) = (r.props.as_mut(), s.groups.get(r.gname)) {
            props.push(super::setid_line(r.key, r.gname, g.last_id, g.entries_read));
        }
    }
}
