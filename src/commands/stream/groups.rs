//! Consumer group commands: XGROUP (CREATE SETID DESTROY CREATECONSUMER DELCONSUMER HELP), XACK, XPENDING,
//! XCLAIM and XAUTOCLAIM, with Redis 7.0's checks, in its order.

use super::{bulk_id, error_bytes, id_arg, interval_arg, lookup, nogroup_error, reply_entry, Lookup};
use crate::commands::args::c_str as cstr;
use crate::commands::string::keyword;
use crate::commands::{args, errors, Ctx};
use crate::keyspace::{DbView, Value};
use crate::notify::class;
use crate::propagate::Propagate;
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;
use crate::types::stream::{ConsumerGroup, Stream, StreamId, ENTRIES_READ_INVALID};

/// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try XGROUP HELP.`
fn subcommand_syntax(out: &mut Reply, sub: &[u8]) {
    let sub = cstr(sub);
    let sub = &sub[..sub.len().min(128)];
    let text =
        [b"ERR unknown subcommand or wrong number of arguments for '" as &[u8], sub, b"'. Try XGROUP HELP."].concat();
    error_bytes(out, &text);
}

const NO_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use \
                      the MKSTREAM option to create an empty stream automatically.";

/// XGROUP's common checks: the key must be a stream (or missing when `may_create`), and the group must
/// exist when `need_group`. Returns false after replying with an error.
fn check_key_group(ctx: &mut Ctx<'_, '_>, args: &Args<'_>, may_create: bool, need_group: bool) -> bool {
    let key = args.get(2);
    let group = args.get(3);
    match lookup(ctx.db, key, false) {
        Lookup::WrongType => {
            ctx.out.error(errors::WRONGTYPE);
            false
        }
        Lookup::Missing if may_create => true,
        Lookup::Missing => {
            ctx.out.error(NO_KEY);
            false
        }
        Lookup::Found(s) => {
            if need_group && !s.groups.contains_key(group) {
                nogroup_error(ctx.out, &[b"NOGROUP No such consumer group '", group, b"' for key name '", key, b"'"]);
                return false;
            }
            true
        }
    }
}

/// Parses `ENTRIESREAD <n>`'s value.
fn entries_read_arg(out: &mut Reply, arg: &[u8]) -> Option<i64> {
    let n = args::int(out, arg)?;
    if n < 0 && n != ENTRIES_READ_INVALID {
        out.error("ERR value for ENTRIESREAD must be positive or -1");
        return None;
    }
    Some(n)
}

pub fn xgroup_create(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut mkstream = false;
    let mut entries_read = ENTRIES_READ_INVALID;
    let mut i = 5;
    while i < args.len() {
        if keyword(args.get(i), "MKSTREAM") {
            mkstream = true;
            i += 1;
        } else if keyword(args.get(i), "ENTRIESREAD") && i + 1 < args.len() {
            let Some(n) = entries_read_arg(ctx.out, args.get(i + 1)) else { return };
            entries_read = n;
            i += 2;
        } else {
            subcommand_syntax(ctx.out, args.get(1));
            return;
        }
    }
    if !check_key_group(ctx, &args, mkstream, false) {
        return;
    }
    if args.len() > 8 {
        subcommand_syntax(ctx.out, args.get(1));
        return;
    }
    let key = args.get(2);
    let group = args.get(3);
    let last_id = match lookup(ctx.db, key, false) {
        Lookup::Found(s) => Some(s.last_id),
        _ => None,
    };
    let id = if cstr(args.get(4)) == b"$" {
        last_id.unwrap_or(StreamId::MIN)
    } else {
        let Some(id) = id_arg(ctx.out, args.get(4), 0, true) else { return };
        id
    };
    if last_id.is_none() {
        ctx.db.insert_new(key, Value::Stream(Box::default()));
    }
    let Lookup::Found(s) = lookup(ctx.db, key, false) else { return };
    if s.groups.contains_key(group) {
        ctx.out.error("BUSYGROUP Consumer Group name already exists");
        return;
    }
    s.groups.insert(group.to_vec(), ConsumerGroup::new(id, entries_read));
    ctx.dirty += 1;
    ctx.out.ok();
    ctx.notify(class::STREAM, "xgroup-create", key);
}

pub fn xgroup_setid(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut entries_read = ENTRIES_READ_INVALID;
    if args.len() == 7 {
        if !keyword(args.get(5), "ENTRIESREAD") {
            subcommand_syntax(ctx.out, args.get(1));
            return;
        }
        let Some(n) = entries_read_arg(ctx.out, args.get(6)) else { return };
        entries_read = n;
    }
    if !check_key_group(ctx, &args, false, true) {
        return;
    }
    if args.len() != 5 && args.len() != 7 {
        subcommand_syntax(ctx.out, args.get(1));
        return;
    }
    let key = args.get(2);
    let Lookup::Found(s) = lookup(ctx.db, key, false) else { return };
    let id = if cstr(args.get(4)) == b"$" {
        s.last_id
    } else {
        let Some(id) = id_arg(ctx.out, args.get(4), 0, false) else { return };
        id
    };
    if let Some(g) = s.groups.get_mut(args.get(3)) {
        g.last_id = id;
        g.entries_read = entries_read;
    }
    ctx.dirty += 1;
    ctx.out.ok();
    ctx.notify(class::STREAM, "xgroup-setid", key);
}

pub fn xgroup_destroy(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if !check_key_group(ctx, &args, false, false) {
        return;
    }
    let key = args.get(2);
    let Lookup::Found(s) = lookup(ctx.db, key, false) else { return };
    if s.groups.remove(args.get(3)).is_some() {
        ctx.dirty += 1;
        ctx.out.int(1);
        ctx.notify(class::STREAM, "xgroup-destroy", key);
    } else {
        ctx.out.int(0);
    }
}

pub fn xgroup_createconsumer(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if !check_key_group(ctx, &args, false, true) {
        return;
    }
    let key = args.get(2);
    let now = ctx.now_ms();
    let Lookup::Found(s) = lookup(ctx.db, key, false) else { return };
    let created = s.groups.get_mut(args.get(3)).is_some_and(|g| g.create_consumer(args.get(4), now));
    ctx.out.int(i64::from(created));
    if created {
        ctx.dirty += 1;
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
}

pub fn xgroup_delconsumer(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if !check_key_group(ctx, &args, false, true) {
        return;
    }
    let key = args.get(2);
    let Lookup::Found(s) = lookup(ctx.db, key, false) else { return };
    let pending = s.groups.get_mut(args.get(3)).and_then(|g| g.delete_consumer(args.get(4)));
    ctx.out.int(pending.unwrap_or(0) as i64);
    if pending.is_some() {
        ctx.dirty += 1;
        ctx.notify(class::STREAM, "xgroup-delconsumer", key);
    }
}

pub fn xgroup_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let lines = [
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.simple(l);
    }
}

/// Looks up the stream and group for XACK-style commands; None when either is missing (after `WRONGTYPE`
/// was written if the key has another type, signalled by `Err`).
fn stream_with_group<'a>(
    db: &'a mut DbView<'_>,
    out: &mut Reply,
    key: &[u8],
    group: &[u8],
    read: bool,
) -> Result<Option<&'a mut Stream>, ()> {
    match lookup(db, key, read) {
        Lookup::WrongType => {
            out.error(errors::WRONGTYPE);
            Err(())
        }
        Lookup::Missing => Ok(None),
        Lookup::Found(s) => Ok(if s.groups.contains_key(group) { Some(s) } else { None }),
    }
}

pub fn xack(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (key, group) = (args.get(1), args.get(2));
    match stream_with_group(ctx.db, ctx.out, key, group, true) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.int(0);
            return;
        }
        Ok(Some(_)) => {}
    }
    let mut ids = Vec::with_capacity(args.len() - 3);
    for j in 3..args.len() {
        let Some(id) = id_arg(ctx.out, args.get(j), 0, true) else { return };
        ids.push(id);
    }
    let Ok(Some(s)) = stream_with_group(ctx.db, ctx.out, key, group, false) else { return };
    let Some(g) = s.groups.get_mut(group) else { return };
    let acked = ids.iter().filter(|&&id| g.ack(id)).count();
    ctx.dirty += acked as u64;
    ctx.out.int(acked as i64);
}

pub fn xpending(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let argc = args.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let mut min_idle: i64 = 0;
    let mut range = None;
    let mut consumer: Option<&[u8]> = None;
    if argc >= 6 {
        let mut start_idx = 3;
        if keyword(args.get(3), "IDLE") {
            let Some(n) = args::int(ctx.out, args.get(4)) else { return };
            min_idle = n;
            if argc < 8 {
                ctx.out.error(errors::SYNTAX);
                return;
            }
            start_idx += 2;
        }
        let Some(count) = args::int(ctx.out, args.get(start_idx + 2)) else { return };
        let Some((mut start, start_ex)) = interval_arg(ctx.out, args.get(start_idx), 0) else { return };
        if start_ex {
            let Some(s) = start.incr() else {
                ctx.out.error("ERR invalid start ID for the interval");
                return;
            };
            start = s;
        }
        let Some((mut end, end_ex)) = interval_arg(ctx.out, args.get(start_idx + 1), u64::MAX) else { return };
        if end_ex {
            let Some(e) = end.decr() else {
                ctx.out.error("ERR invalid end ID for the interval");
                return;
            };
            end = e;
        }
        if start_idx + 3 < argc {
            consumer = Some(args.get(start_idx + 3));
        }
        range = Some((start, end, count.max(0) as u64));
    }
    let (key, group) = (args.get(1), args.get(2));
    let now = ctx.now_ms();
    let s = match stream_with_group(ctx.db, ctx.out, key, group, true) {
        Err(()) => return,
        Ok(None) => {
            nogroup_error(ctx.out, &[b"NOGROUP No such key '", key, b"' or consumer group '", group, b"'"]);
            return;
        }
        Ok(Some(s)) => s,
    };
    let Some(g) = s.groups.get(group) else { return };
    let out = &mut *ctx.out;
    let Some((start, end, mut count)) = range else {
        out.array(4);
        out.int(g.pel.len() as i64);
        let (Some((first, _)), Some((last, _))) = (g.pel.first_key_value(), g.pel.last_key_value()) else {
            out.null();
            out.null();
            out.null_array();
            return;
        };
        bulk_id(out, *first);
        bulk_id(out, *last);
        let busy: Vec<(&Vec<u8>, usize)> =
            g.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).map(|(n, c)| (n, c.pel.len())).collect();
        out.array(busy.len());
        for (name, n) in busy {
            out.array(2);
            out.bulk(name);
            out.bulk_i64(n as i64);
        }
        return;
    };
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(name) {
            Some(c) if start <= end => c.pel.range(start..=end).copied().collect(),
            Some(_) => Vec::new(),
            None => {
                out.array(0);
                return;
            }
        },
        None if start <= end => g.pel.range(start..=end).map(|(id, _)| *id).collect(),
        None => Vec::new(),
    };
    let mut rows = Vec::new();
    for id in ids {
        if count == 0 {
            break;
        }
        let Some(p) = g.pel.get(&id) else { continue };
        let idle = (now as i64).saturating_sub(p.delivery_time as i64);
        if min_idle != 0 && idle < min_idle {
            continue;
        }
        count -= 1;
        rows.push((id, p, idle.max(0)));
    }
    out.array(rows.len());
    for (id, p, idle) in rows {
        out.array(4);
        bulk_id(out, id);
        out.bulk(&p.consumer);
        out.int(idle);
        out.int(p.delivery_count as i64);
    }
}

fn int_or(out: &mut Reply, arg: &[u8], msg: &str) -> Option<i64> {
    let v = crate::num::parse_i64(arg);
    if v.is_none() {
        out.error(msg);
    }
    v
}

pub fn xclaim(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (key, group, cname) = (args.get(1), args.get(2), args.get(3));
    match stream_with_group(ctx.db, ctx.out, key, group, true) {
        Err(()) => return,
        Ok(None) => {
            nogroup_error(ctx.out, &[b"NOGROUP No such key '", key, b"' or consumer group '", group, b"'"]);
            return;
        }
        Ok(Some(_)) => {}
    }
    let Some(min_idle) = int_or(ctx.out, args.get(4), "ERR Invalid min-idle-time argument for XCLAIM") else {
        return;
    };
    let min_idle = min_idle.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < args.len() {
        match crate::types::stream::parse_id(args.get(j), 0, true, false) {
            Some(p) => ids.push(p.id),
            None => break,
        }
        j += 1;
    }
    let now = ctx.now_ms() as i64;
    let (mut force, mut justid) = (false, false);
    let mut retrycount: i64 = -1;
    let mut delivery_time: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = args.get(j);
        if keyword(opt, "FORCE") {
            force = true;
        } else if keyword(opt, "JUSTID") {
            justid = true;
        } else if keyword(opt, "IDLE") && more > 0 {
            j += 1;
            let Some(v) = int_or(ctx.out, args.get(j), "ERR Invalid IDLE option argument for XCLAIM") else {
                return;
            };
            delivery_time = now.wrapping_sub(v);
        } else if keyword(opt, "TIME") && more > 0 {
            j += 1;
            let Some(v) = int_or(ctx.out, args.get(j), "ERR Invalid TIME option argument for XCLAIM") else {
                return;
            };
            delivery_time = v;
        } else if keyword(opt, "RETRYCOUNT") && more > 0 {
            j += 1;
            let Some(v) = int_or(ctx.out, args.get(j), "ERR Invalid RETRYCOUNT option argument for XCLAIM") else {
                return;
            };
            retrycount = v;
        } else if keyword(opt, "LASTID") && more > 0 {
            j += 1;
            let Some(id) = id_arg(ctx.out, args.get(j), 0, true) else { return };
            last_id = id;
        } else {
            let text = [b"ERR Unrecognized XCLAIM option '" as &[u8], cstr(opt), b"'"].concat();
            error_bytes(ctx.out, &text);
            return;
        }
        j += 1;
    }
    let delivery_time =
        if delivery_time == -1 || delivery_time < 0 || delivery_time > now { now as u64 } else { delivery_time as u64 };
    let mut props: Option<Vec<Vec<Vec<u8>>>> = super::propagating(ctx.server).then(Vec::new);
    let Ok(Some(s)) = stream_with_group(ctx.db, ctx.out, key, group, false) else { return };
    let mut dirty = 0u64;
    // LASTID moved the group: propagated as XGROUP SETID unless an XCLAIM (which carries LASTID) follows.
    let mut propagate_last_id = false;
    if let Some(g) = s.groups.get_mut(group) {
        if last_id > g.last_id {
            g.last_id = last_id;
            dirty += 1;
            propagate_last_id = true;
        }
    }
    let mut claimed: Vec<StreamId> = Vec::new();
    let mut created = false;
    let mut have_consumer = false;
    for id in ids {
        let exists = s.get(id).is_some();
        let Some(g) = s.groups.get_mut(group) else { break };
        if !exists {
            if let Some(p) = g.pel.get(&id) {
                if let Some(props) = props.as_mut() {
                    props.push(super::xclaim_line(key, group, p, id, g.last_id));
                    propagate_last_id = false;
                }
                g.ack(id);
                dirty += 1;
            }
            continue;
        }
        let fresh = force && !g.pel.contains_key(&id);
        let Some(p) = g.pel.get(&id) else {
            if !fresh {
                continue;
            }
            // FORCE: a new pending entry, delivered once, owned by nobody yet.
            claim_one(g, cname, now as u64, &mut have_consumer, &mut created);
            let group_last = g.last_id;
            let p = g.assign(id, cname);
            p.delivery_count = 1;
            finish_claim(p, delivery_time, retrycount, justid);
            if let Some(props) = props.as_mut() {
                props.push(super::xclaim_line(key, group, p, id, group_last));
                propagate_last_id = false;
            }
            claimed.push(id);
            dirty += 1;
            continue;
        };
        if min_idle != 0 && now.saturating_sub(p.delivery_time as i64) < min_idle {
            continue;
        }
        claim_one(g, cname, now as u64, &mut have_consumer, &mut created);
        let group_last = g.last_id;
        let p = g.assign(id, cname);
        finish_claim(p, delivery_time, retrycount, justid);
        if let Some(props) = props.as_mut() {
            props.push(super::xclaim_line(key, group, p, id, group_last));
            propagate_last_id = false;
        }
        claimed.push(id);
        dirty += 1;
    }
    if propagate_last_id {
        if let (Some(props), Some(g)) = (props.as_mut(), s.groups.get(group)) {
            props.push(super::setid_line(key, group, g.last_id, g.entries_read));
        }
    }
    ctx.out.array(claimed.len());
    for id in &claimed {
        if justid {
            bulk_id(ctx.out, *id);
        } else if let Some(e) = s.get(*id) {
            reply_entry(ctx.out, e);
        }
    }
    ctx.dirty += dirty;
    if created {
        ctx.dirty += 1;
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    if let Some(lines) = props {
        super::also_propagate_all(ctx, &lines);
        ctx.propagate_nothing();
    }
}

/// Makes sure the claiming consumer exists (created on the first claim) and refreshes its seen time.
fn claim_one(g: &mut ConsumerGroup, cname: &[u8], now: u64, have: &mut bool, created: &mut bool) {
    if !*have {
        *have = true;
        if g.create_consumer(cname, now) {
            *created = true;
        }
        if let Some(c) = g.consumers.get_mut(cname) {
            c.seen_time = now;
        }
    }
}

fn finish_claim(p: &mut crate::types::stream::Pending, delivery_time: u64, retrycount: i64, justid: bool) {
    p.delivery_time = delivery_time;
    if retrycount >= 0 {
        p.delivery_count = retrycount as u64;
    } else if !justid {
        p.delivery_count = p.delivery_count.saturating_add(1);
    }
}

pub fn xautoclaim(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (key, group, cname) = (args.get(1), args.get(2), args.get(3));
    let Some(min_idle) = int_or(ctx.out, args.get(4), "ERR Invalid min-idle-time argument for XAUTOCLAIM") else {
        return;
    };
    let min_idle = min_idle.max(0);
    let Some((mut start, start_ex)) = interval_arg(ctx.out, args.get(5), 0) else { return };
    if start_ex {
        let Some(s) = start.incr() else {
            ctx.out.error("ERR invalid start ID for the interval");
            return;
        };
        start = s;
    }
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if keyword(args.get(j), "COUNT") && more > 0 {
            let max = i64::MAX / 16;
            match crate::num::parse_i64(args.get(j + 1)) {
                Some(n) if (1..=max).contains(&n) => count = n,
                _ => {
                    ctx.out.error("ERR COUNT must be > 0");
                    return;
                }
            }
            j += 1;
        } else if keyword(args.get(j), "JUSTID") {
            justid = true;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        j += 1;
    }
    let now = ctx.now_ms();
    let mut props: Option<Vec<Vec<Vec<u8>>>> = super::propagating(ctx.server).then(Vec::new);
    let s = match stream_with_group(ctx.db, ctx.out, key, group, true) {
        Err(()) => return,
        Ok(None) => {
            nogroup_error(ctx.out, &[b"NOGROUP No such key '", key, b"' or consumer group '", group, b"'"]);
            return;
        }
        Ok(Some(s)) => s,
    };
    // Redis allocates COUNT ids up front and gives up when that allocation fails; Shoal allocates as it goes,
    // and refuses the counts no allocator could serve (1 TiB and more).
    if count as u128 * 16 >= 1 << 40 {
        ctx.out.error("ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
        return;
    }
    let mut attempts = count.saturating_mul(10);
    let mut claimed: Vec<StreamId> = Vec::new();
    let mut deleted: Vec<StreamId> = Vec::new();
    let mut created = false;
    let mut have_consumer = false;
    let mut cursor = start;
    let mut next = StreamId::MIN;
    let mut dirty = 0u64;
    loop {
        let candidate =
            s.groups.get(group).and_then(|g| g.pel.range(cursor..).next().map(|(id, p)| (*id, p.delivery_time)));
        if attempts == 0 || count == 0 {
            next = candidate.map_or(StreamId::MIN, |(id, _)| id);
            break;
        }
        attempts -= 1;
        let Some((id, delivered)) = candidate else { break };
        cursor = match id.incr() {
            Some(c) => c,
            None => StreamId::MAX,
        };
        let exists = s.get(id).is_some();
        let Some(g) = s.groups.get_mut(group) else { break };
        if !exists {
            if let (Some(props), Some(p)) = (props.as_mut(), g.pel.get(&id)) {
                props.push(super::xclaim_line(key, group, p, id, g.last_id));
            }
            g.ack(id);
            deleted.push(id);
            count -= 1;
            dirty += 1;
        } else if min_idle == 0 || (now as i64).saturating_sub(delivered as i64) >= min_idle {
            claim_one(g, cname, now, &mut have_consumer, &mut created);
            let group_last = g.last_id;
            let p = g.assign(id, cname);
            p.delivery_time = now;
            if !justid {
                p.delivery_count = p.delivery_count.saturating_add(1);
            }
            if let Some(props) = props.as_mut() {
                props.push(super::xclaim_line(key, group, p, id, group_last));
            }
            claimed.push(id);
            count -= 1;
            dirty += 1;
        }
        if id == StreamId::MAX {
            break;
        }
    }
    let out = &mut *ctx.out;
    out.array(3);
    bulk_id(out, next);
    out.array(claimed.len());
    for id in &claimed {
        if justid {
            bulk_id(out, *id);
        } else if let Some(e) = s.get(*id) {
            reply_entry(out, e);
        }
    }
    out.array(deleted.len());
    for id in &deleted {
        bulk_id(out, *id);
    }
    ctx.dirty += dirty;
    if created {
        ctx.dirty += 1;
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    if let Some(lines) = props {
        super::also_propagate_all(ctx, &lines);
        ctx.propagate_nothing();
    }
}
