//! Stream commands (XADD, XRANGE, XREAD, consumer groups, XINFO ...).
//!
//! What this module decides, and why:
//! - **Redis's order of checks.** Clients see the first error only, so each handler checks in Redis 7.0.15's
//!   order: most parse every option before looking the key up (XADD, XTRIM, XRANGE, XPENDING, XAUTOCLAIM,
//!   XSETID), while XDEL, XACK, XCLAIM and XINFO look the key (and group) up first. Error texts are Redis's,
//!   including client bytes in NOGROUP messages (cut at a NUL byte, as `%s` prints them).
//! - **Ids** are parsed with Redis's own leniency ([`crate::types::stream::parse_id`]: `strtoull` fallback,
//!   C-string cut at NUL, 127-byte limit).
//! - **Empty streams stay.** Unlike the other collections, a stream emptied by XDEL/XTRIM is kept (with its
//!   groups and last id), as Redis does.
//! - **Blocking** (XREAD/XREADGROUP BLOCK) goes through `crate::blocking`; `$` is resolved to the stream's
//!   last id when blocking and the rewritten command line is retried, so entries added meanwhile are seen.
//!   Known difference: a client blocked on several streams that all receive entries in one transaction is
//!   served from the first of them in argument order; Redis serves it from the first one written.
//! - **Clock-dependent ids and times** (`*` ids, delivery times, idle times, seen times) use the command's
//!   clock (`ctx.now_ms()`), so every command of a transaction sees one time.
//!
//! Submodules: [`read`] (XREAD, XREADGROUP), [`groups`] (XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM),
//! [`info`] (XINFO).

mod groups;
mod info;
mod read;

pub use groups::{
    xack, xautoclaim, xclaim, xgroup_create, xgroup_createconsumer, xgroup_delconsumer, xgroup_destroy, xgroup_help,
    xgroup_setid, xpending,
};
pub use info::{xinfo_consumers, xinfo_groups, xinfo_help, xinfo_stream};
pub use read::{xread, xreadgroup};

use super::args::c_str as cstr;
use super::string::keyword;
use super::{args, errors, Ctx};
use crate::keyspace::{DbView, Value};
use crate::notify::class;
use crate::propagate::Propagate;
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;
use crate::types::stream::{parse_id, EntryRef, NodeLimits, Stream, StreamId, Trim, TrimStrategy};

pub(crate) const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// The result of looking a key up as a stream.
pub(crate) enum Lookup<'a> {
    Missing,
    WrongType,
    Found(&'a mut Stream),
}

/// Looks `key` up (a read lookup counts hits/misses).
pub(crate) fn lookup<'a>(db: &'a mut DbView<'_>, key: &[u8], read: bool) -> Lookup<'a> {
    let v = if read { db.get_read(key) } else { db.get_mut(key) };
    match v {
        None => Lookup::Missing,
        Some(Value::Stream(s)) => Lookup::Found(s),
        Some(_) => Lookup::WrongType,
    }
}

/// Writes an error whose text may hold client bytes (group and key names) verbatim.
pub(crate) fn error_bytes(out: &mut Reply, text: &[u8]) {
    out.errors_written += 1;
    let code = text.split(|&b| b == b' ').next().unwrap_or(b"ERR");
    out.last_error_code = Some(String::from_utf8_lossy(code).into_owned());
    out.buf.push(b'-');
    out.buf.extend(text.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.buf.extend_from_slice(b"\r\n");
}

/// `-NOGROUP No such key '<key>' or consumer group '<group>' in <cmd> command`-style errors.
pub(crate) fn nogroup_error(out: &mut Reply, parts: &[&[u8]]) {
    // Redis formats names with `%s`: a name is cut at its first NUL byte.
    let text: Vec<u8> = parts.iter().flat_map(|p| cstr(p).iter().copied()).collect();
    error_bytes(out, &text);
}

/// The node limits currently configured.
pub(crate) fn node_limits(ctx: &Ctx<'_, '_>) -> NodeLimits {
    let l = ctx.server.tunables.encoding_limits();
    NodeLimits { max_bytes: l.stream_node_max_bytes, max_entries: l.stream_node_max_entries }
}

pub(crate) fn bulk_id(out: &mut Reply, id: StreamId) {
    let mut buf = Vec::with_capacity(41);
    id.write_to(&mut buf);
    out.bulk(&buf);
}

/// One entry as `[id, [f1, v1, ...]]`.
pub(crate) fn reply_entry(out: &mut Reply, e: EntryRef<'_>) {
    out.array(2);
    bulk_id(out, e.id);
    out.array(e.len());
    for f in e.fields() {
        out.bulk(f);
    }
}

/// Parses an id argument, writing Redis's error on failure.
pub(crate) fn id_arg(out: &mut Reply, arg: &[u8], missing_seq: u64, strict: bool) -> Option<StreamId> {
    match parse_id(arg, missing_seq, strict, false) {
        Some(p) => Some(p.id),
        None => {
            out.error(INVALID_ID);
            None
        }
    }
}

/// Whether anything consumes propagated commands (AOF): rewriting command lines costs nothing otherwise.
pub(crate) fn propagating(server: &crate::state::ServerState) -> bool {
    crate::aof::wants_feed(server)
}

/// Hands command lines built by a handler to propagation, before the command itself.
pub(crate) fn also_propagate_all(ctx: &mut Ctx<'_, '_>, lines: &[Vec<Vec<u8>>]) {
    for line in lines {
        let refs: Vec<&[u8]> = line.iter().map(Vec::as_slice).collect();
        ctx.also_propagate(&refs);
    }
}

/// Redis's `streamPropagateXCLAIM`: an idempotent XCLAIM that recreates a pending entry as it is now.
pub(crate) fn xclaim_line(
    key: &[u8],
    group: &[u8],
    p: &crate::types::stream::Pending,
    id: StreamId,
    group_last_id: StreamId,
) -> Vec<Vec<u8>> {
    let mut n = itoa::Buffer::new();
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group.to_vec(),
        p.consumer.clone(),
        b"0".to_vec(),
        id.to_bytes(),
        b"TIME".to_vec(),
        n.format(p.delivery_time).as_bytes().to_vec(),
        b"RETRYCOUNT".to_vec(),
        n.format(p.delivery_count).as_bytes().to_vec(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        group_last_id.to_bytes(),
    ]
}

/// Redis's `streamPropagateGroupID`: `XGROUP SETID key group <last id> ENTRIESREAD <n>`.
pub(crate) fn setid_line(key: &[u8], group: &[u8], last_id: StreamId, entries_read: i64) -> Vec<Vec<u8>> {
    let mut n = itoa::Buffer::new();
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        group.to_vec(),
        last_id.to_bytes(),
        b"ENTRIESREAD".to_vec(),
        n.format(entries_read).as_bytes().to_vec(),
    ]
}

/// `XGROUP CREATECONSUMER key group consumer`, for consumers created as a side effect.
pub(crate) fn createconsumer_line(key: &[u8], group: &[u8], consumer: &[u8]) -> Vec<Vec<u8>> {
    vec![b"XGROUP".to_vec(), b"CREATECONSUMER".to_vec(), key.to_vec(), group.to_vec(), consumer.to_vec()]
}

/// The value an approximate trim is propagated with, as Redis rewrites it (`~` becomes `=`): the length the
/// stream now has (MAXLEN), or the first id still stored, deleted or not, i.e. the first node's key (MINID).
fn exact_trim_value(s: &Stream, t: Trim) -> Vec<u8> {
    match t.strategy {
        TrimStrategy::MaxLen(_) => itoa::Buffer::new().format(s.len()).as_bytes().to_vec(),
        TrimStrategy::MinId(_) => s.first_node_key().unwrap_or(StreamId::MAX).to_bytes(),
    }
}

/// Rewrites an XADD/XTRIM command line for propagation: an approximate trim becomes the exact one it did
/// (`~` -> `=`, the value -> [`exact_trim_value`]) and, for XADD, `id` replaces the id argument.
fn rewritten_line(args: &Args<'_>, opts: &AddTrim, s: &Stream, id: Option<StreamId>) -> Vec<Vec<u8>> {
    let mut line = args.to_vec();
    if let Some(t) = opts.trim.filter(|t| t.approx) {
        if let Some(tilde) = line.get_mut(opts.trim_arg.wrapping_sub(1)) {
            *tilde = b"=".to_vec();
        }
        if let Some(value) = line.get_mut(opts.trim_arg) {
            *value = exact_trim_value(s, t);
        }
    }
    if let Some(id) = id {
        if let Some(arg) = line.get_mut(opts.next) {
            *arg = id.to_bytes();
        }
    }
    line
}

/// XADD/XTRIM options.
struct AddTrim {
    trim: Option<Trim>,
    /// Index of the trimming value (MAXLEN's count, MINID's id), for rewriting it in propagation.
    trim_arg: usize,
    /// Index of the id argument (XADD) or past the options (XTRIM).
    next: usize,
    nomkstream: bool,
    id: Option<crate::types::stream::ParsedId>,
}

/// Redis's `streamParseAddOrTrimArgsOrReply`.
fn parse_add_trim(ctx: &mut Ctx<'_, '_>, args: &Args<'_>, xadd: bool) -> Option<AddTrim> {
    let mut strategy: Option<TrimStrategy> = None;
    let mut approx = false;
    let mut limit: Option<i64> = None;
    let mut nomkstream = false;
    let mut id = None;
    let mut trim_arg = 0;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = args.get(i);
        if xadd && cstr(opt) == b"*" {
            break;
        } else if (keyword(opt, "maxlen") || keyword(opt, "minid")) && more > 0 {
            let is_maxlen = keyword(opt, "maxlen");
            if strategy.is_some() {
                ctx.out.error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return None;
            }
            approx = false;
            let next = cstr(args.get(i + 1));
            if more >= 2 && next == b"~" {
                approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let value = args.get(i + 1);
            trim_arg = i + 1;
            if is_maxlen {
                let n = args::int(ctx.out, value)?;
                if n < 0 {
                    ctx.out.error("ERR The MAXLEN argument must be >= 0.");
                    return None;
                }
                strategy = Some(TrimStrategy::MaxLen(n as u64));
            } else {
                strategy = Some(TrimStrategy::MinId(id_arg(ctx.out, value, 0, true)?));
            }
            i += 1;
        } else if keyword(opt, "limit") && more > 0 {
            let n = args::int(ctx.out, args.get(i + 1))?;
            if n < 0 {
                ctx.out.error("ERR The LIMIT argument must be >= 0.");
                return None;
            }
            limit = Some(n);
            i += 1;
        } else if xadd && keyword(opt, "nomkstream") {
            nomkstream = true;
        } else if xadd {
            match parse_id(opt, 0, true, true) {
                Some(p) => id = Some(p),
                None => {
                    ctx.out.error(INVALID_ID);
                    return None;
                }
            }
            break;
        } else {
            ctx.out.error(errors::SYNTAX);
            return None;
        }
        i += 1;
    }
    if limit.is_some_and(|l| l != 0) && strategy.is_none() {
        ctx.out.error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return None;
    }
    if !xadd && strategy.is_none() {
        ctx.out.error("ERR syntax error, XTRIM must be called with a trimming strategy");
        return None;
    }
    // The AOF loading client (Redis's CLIENT_ID_AOF) replays what was propagated, which may pair LIMIT with
    // an exact trim: like Redis, it is obeyed without any work limit.
    if ctx.client.id == u64::MAX {
        let trim = strategy.map(|strategy| Trim { strategy, approx, limit: 0 });
        return Some(AddTrim { trim, trim_arg, next: i, nomkstream, id });
    }
    let limit = match limit {
        Some(_) if !approx => {
            ctx.out.error("ERR syntax error, LIMIT cannot be used without the special ~ option");
            return None;
        }
        Some(l) => l as u64,
        None if approx => {
            // At most 100 nodes' worth, capped both ways (Redis's default LIMIT for `~`).
            match ctx.server.tunables.encoding_limits().stream_node_max_entries.saturating_mul(100) {
                0 => 10_000,
                l => l.min(1_000_000),
            }
        }
        None => 0,
    };
    let trim = strategy.map(|strategy| Trim { strategy, approx, limit });
    Some(AddTrim { trim, trim_arg, next: i, nomkstream, id })
}

pub fn xadd(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(opts) = parse_add_trim(ctx, &args, true) else { return };
    let field_pos = opts.next + 1;
    let nfields = args.len().saturating_sub(field_pos);
    if nfields < 2 || nfields % 2 == 1 {
        ctx.wrong_arity();
        return;
    }
    if let Some(p) = opts.id {
        if p.seq_given && p.id.is_zero() {
            ctx.out.error("ERR The ID specified in XADD must be greater than 0-0");
            return;
        }
    }
    let key = args.get(1);
    let now = ctx.now_ms();
    let limits = node_limits(ctx);
    let created = match lookup(ctx.db, key, false) {
        Lookup::WrongType => {
            ctx.out.error(errors::WRONGTYPE);
            return;
        }
        Lookup::Missing if opts.nomkstream => {
            ctx.out.null();
            return;
        }
        Lookup::Missing => {
            ctx.db.insert_new(key, Value::Stream(Box::default()));
            true
        }
        Lookup::Found(_) => false,
    };
    let Lookup::Found(s) = lookup(ctx.db, key, false) else { return };
    if s.last_id == StreamId::MAX {
        ctx.out.error("ERR The stream has exhausted the last possible ID, unable to add more items");
        return;
    }
    if let Some(p) = opts.id.filter(|p| !p.seq_given) {
        if p.id.ms == s.last_id.ms && s.last_id.seq == u64::MAX {
            // Redis fails this case without setting errno, so it reports the size error.
            ctx.out.error("ERR Elements are too large to be stored");
            return;
        }
    }
    let id = match opts.id {
        Some(p) => s.explicit_id(p),
        None => s.next_auto_id(now),
    };
    let Some(id) = id else {
        ctx.out.error("ERR The ID specified in XADD is equal or smaller than the target stream top item");
        if created {
            // Unreachable in practice (a new stream accepts any id above 0-0), but never leave it behind.
            ctx.db.remove(key);
        }
        return;
    };
    let fields: Vec<&[u8]> = (field_pos..args.len()).map(|j| args.get(j)).collect();
    if fields.iter().map(|f| f.len() as u64).sum::<u64>() > crate::types::stream::layout::LP_MAX_SIZE {
        // As Redis: the (possibly just created) key stays.
        ctx.out.error("ERR Elements are too large to be stored");
        return;
    }
    s.append(id, &fields, limits);
    let trimmed = opts.trim.map_or(0, |t| s.trim(t));
    // Propagated with the id it got (unless fully given) and, for `~`, the exact trim it did, as Redis does.
    let id_generated = opts.id.is_none_or(|p| !p.seq_given);
    let approx = opts.trim.is_some_and(|t| t.approx);
    let line = (propagating(ctx.server) && (id_generated || approx))
        .then(|| rewritten_line(&args, &opts, s, id_generated.then_some(id)));
    bulk_id(ctx.out, id);
    if let Some(line) = line {
        let refs: Vec<&[u8]> = line.iter().map(Vec::as_slice).collect();
        ctx.propagate_instead(&refs);
    }
    ctx.dirty += 1;
    ctx.notify(class::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(class::STREAM, "xtrim", key);
    }
}

pub fn xtrim(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    let Some(opts) = parse_add_trim(ctx, &args, false) else { return };
    let s = match lookup(ctx.db, key, false) {
        Lookup::Missing => {
            ctx.out.int(0);
            return;
        }
        Lookup::WrongType => {
            ctx.out.error(errors::WRONGTYPE);
            return;
        }
        Lookup::Found(s) => s,
    };
    let removed = opts.trim.map_or(0, |t| s.trim(t));
    if opts.trim.is_some_and(|t| t.approx) && removed > 0 && propagating(ctx.server) {
        let line = rewritten_line(&args, &opts, s, None);
        let refs: Vec<&[u8]> = line.iter().map(Vec::as_slice).collect();
        ctx.propagate_instead(&refs);
    }
    if removed > 0 {
        ctx.dirty += removed;
        ctx.notify(class::STREAM, "xtrim", key);
    }
    ctx.out.int(removed as i64);
}

pub fn xlen(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    match lookup(ctx.db, args.get(1), true) {
        Lookup::Missing => ctx.out.int(0),
        Lookup::WrongType => ctx.out.error(errors::WRONGTYPE),
        Lookup::Found(s) => ctx.out.int(s.len() as i64),
    }
}

/// Parses an XRANGE bound: `-`, `+`, `<ms>[-<seq>]`, or `(`-prefixed for an exclusive bound.
fn interval_arg(out: &mut Reply, arg: &[u8], missing_seq: u64) -> Option<(StreamId, bool)> {
    if arg.len() > 1 && arg[0] == b'(' {
        return Some((id_arg(out, &arg[1..], missing_seq, true)?, true));
    }
    Some((id_arg(out, arg, missing_seq, false)?, false))
}

fn range_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, rev: bool) {
    let (start_arg, end_arg) = if rev { (args.get(3), args.get(2)) } else { (args.get(2), args.get(3)) };
    let Some((mut start, start_ex)) = interval_arg(ctx.out, start_arg, 0) else { return };
    if start_ex {
        match start.incr() {
            Some(s) => start = s,
            None => {
                ctx.out.error("ERR invalid start ID for the interval");
                return;
            }
        }
    }
    let Some((mut end, end_ex)) = interval_arg(ctx.out, end_arg, u64::MAX) else { return };
    if end_ex {
        match end.decr() {
            Some(e) => end = e,
            None => {
                ctx.out.error("ERR invalid end ID for the interval");
                return;
            }
        }
    }
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if keyword(args.get(j), "count") && j + 1 < args.len() {
            let Some(n) = args::int(ctx.out, args.get(j + 1)) else { return };
            count = n.max(0);
            j += 2;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    }
    let s = match lookup(ctx.db, args.get(1), true) {
        Lookup::Missing => {
            ctx.out.array(0);
            return;
        }
        Lookup::WrongType => {
            ctx.out.error(errors::WRONGTYPE);
            return;
        }
        Lookup::Found(s) => s,
    };
    if count == 0 {
        ctx.out.null_array();
        return;
    }
    reply_range(ctx.out, s, start, end, if count < 0 { 0 } else { count as u64 }, rev);
}

/// Replies with the entries in `[start, end]` (at most `count`, 0 = all) as an array.
pub(crate) fn reply_range(out: &mut Reply, s: &Stream, start: StreamId, end: StreamId, count: u64, rev: bool) {
    let mut picked: Vec<EntryRef<'_>> = Vec::new();
    s.range(start, end, rev, |e| {
        picked.push(e);
        count == 0 || (picked.len() as u64) < count
    });
    out.array(picked.len());
    for e in picked {
        reply_entry(out, e);
    }
}

pub fn xrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    range_generic(ctx, args, false);
}

pub fn xrevrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    range_generic(ctx, args, true);
}

pub fn xdel(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    match lookup(ctx.db, key, false) {
        Lookup::Missing => {
            ctx.out.int(0);
            return;
        }
        Lookup::WrongType => {
            ctx.out.error(errors::WRONGTYPE);
            return;
        }
        Lookup::Found(_) => {}
    }
    let mut ids = Vec::with_capacity(args.len() - 2);
    for j in 2..args.len() {
        let Some(id) = id_arg(ctx.out, args.get(j), 0, true) else { return };
        ids.push(id);
    }
    let Lookup::Found(s) = lookup(ctx.db, key, false) else { return };
    let deleted = s.delete(&ids);
    if deleted > 0 {
        ctx.dirty += deleted;
        ctx.notify(class::STREAM, "xdel", key);
    }
    ctx.out.int(deleted as i64);
}

pub fn xsetid(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    let Some(id) = id_arg(ctx.out, args.get(2), 0, true) else { return };
    let mut entries_added: Option<i64> = None;
    let mut max_xdel: Option<StreamId> = None;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = args.get(i);
        if keyword(opt, "ENTRIESADDED") && more > 0 {
            let Some(n) = args::int(ctx.out, args.get(i + 1)) else { return };
            if n < 0 {
                ctx.out.error("ERR entries_added must be positive");
                return;
            }
            entries_added = Some(n);
            i += 2;
        } else if keyword(opt, "MAXDELETEDID") && more > 0 {
            let Some(m) = id_arg(ctx.out, args.get(i + 1), 0, true) else { return };
            if id < m {
                ctx.out.error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                return;
            }
            max_xdel = Some(m);
            i += 2;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    }
    let s = match lookup(ctx.db, key, false) {
        Lookup::Missing => {
            ctx.out.error(errors::NO_SUCH_KEY);
            return;
        }
        Lookup::WrongType => {
            ctx.out.error(errors::WRONGTYPE);
            return;
        }
        Lookup::Found(s) => s,
    };
    if !s.is_empty() {
        let max_id = s.last_entry_id().unwrap_or(s.last_id);
        if id < max_id {
            ctx.out.error("ERR The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
        if entries_added.is_some_and(|n| (s.len() as i64) > n) {
            ctx.out.error("ERR The entries_added specified in XSETID is smaller than the target stream length");
            return;
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n as u64;
    }
    if let Some(m) = max_xdel.filter(|m| !m.is_zero()) {
        s.max_deleted_entry_id = m;
    }
    ctx.dirty += 1;
    ctx.notify(class::STREAM, "xsetid", key);
    ctx.out.ok();
}
