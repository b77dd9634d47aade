//! List commands: pushes, pops, ranges, edits, moves, and (in [`blocking`]) the blocking pops and moves.
//!
//! What this module decides, and why:
//! - **Error order** follows Redis 7.0.15 per command, since clients see only the first error: LRANGE, LTRIM
//!   and LREM parse their integers before looking at the key; LINDEX and LSET look at the key first (a missing
//!   key answers nil / `no such key` whatever the index); LINSERT and LMOVE check their keywords first; LPOS
//!   parses every option before the lookup; LPOP's count is checked before the key.
//! - **Events** are Redis's: `lpush`/`rpush`, `lpop`/`rpop` (also for LMPOP and the blocking pops), `linsert`,
//!   `lset`, `lrem`, `ltrim` (even when nothing was trimmed), and LMOVE/RPOPLPUSH announce the push on the
//!   destination before the pop on the source. A list emptied by a command is deleted with a `del` event.
//! - **Dirty counts** as Redis's `server.dirty`: one per element pushed or popped, one per LSET/LINSERT/LMOVE.
//!   An LTRIM that trims nothing still invalidates WATCH (Redis signals the key regardless).
//! - **Propagation** (AOF, replicas) follows Redis's rewrites: LMPOP/BLMPOP as `LPOP|RPOP key n`, BLPOP/BRPOP
//!   as `LPOP|RPOP key`, BLMOVE as LMOVE, BRPOPLPUSH as RPOPLPUSH; the others as executed.
//! - **Keyword arguments** (`LEFT`, `BEFORE`, `RANK`...) compare as C strings, as Redis's `strcasecmp` does.

pub mod blocking;

pub use blocking::{blmove, blmpop, blpop, brpop, brpoplpush};

use super::string::keyword;
use super::{errors, Ctx};
use crate::keyspace::{DbView, Value};
use crate::notify::class;
use crate::propagate::Propagate;
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;
use crate::types::list::{End, List};

/// `ERR value is out of range, must be positive` (LPOP/RPOP count).
const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";

/// The list at `key` for writing: `Ok(None)` if missing; `Err` after replying WRONGTYPE.
pub(super) fn write_list<'a>(db: &'a mut DbView<'_>, out: &mut Reply, key: &[u8]) -> Result<Option<&'a mut List>, ()> {
    match db.get_mut(key) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => {
            out.error(errors::WRONGTYPE);
            Err(())
        }
    }
}

/// The list at `key` for reading (counts a keyspace hit or miss).
fn read_list<'a>(db: &'a mut DbView<'_>, out: &mut Reply, key: &[u8]) -> Result<Option<&'a mut List>, ()> {
    match db.get_read(key) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => {
            out.error(errors::WRONGTYPE);
            Err(())
        }
    }
}

/// A new empty list with the configured node size.
pub(super) fn new_list(ctx: &Ctx<'_, '_>) -> List {
    List::new(ctx.server.tunables.encoding_limits().list_max_listpack_size)
}

/// `LEFT` / `RIGHT` (Redis's `getListPositionFromObjectOrReply`).
pub(super) fn parse_end(out: &mut Reply, arg: &[u8]) -> Option<End> {
    if keyword(arg, "left") {
        Some(End::Head)
    } else if keyword(arg, "right") {
        Some(End::Tail)
    } else {
        out.error(errors::SYNTAX);
        None
    }
}

/// A long in `[min, i64::MAX]`, or `msg` for anything else (Redis's `getRangeLongFromObjectOrReply` with a
/// message, which also replaces the not-an-integer error).
pub(super) fn parse_at_least(out: &mut Reply, arg: &[u8], min: i64, msg: &str) -> Option<i64> {
    match crate::num::parse_i64(arg) {
        Some(v) if v >= min => Some(v),
        _ => {
            out.error(msg);
            None
        }
    }
}

fn parse_long(out: &mut Reply, arg: &[u8]) -> Option<i64> {
    super::args::int(out, arg)
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// After elements were popped from `key` (Redis's `listElementsRemoved`): the pop event, the deletion of an
/// emptied list with its `del` event, and the dirty count.
pub(super) fn elements_removed(ctx: &mut Ctx<'_, '_>, key: &[u8], end: End, count: usize, emptied: bool) {
    ctx.notify(class::LIST, pop_event(end), key);
    if emptied {
        ctx.db.remove(key);
        ctx.notify(class::GENERIC, "del", key);
    }
    ctx.dirty += count as u64;
}

/// Writes `count` elements popped from `end` of `list` as an array (head first for LEFT, tail first for
/// RIGHT) and removes them. Returns whether the list is now empty.
pub(super) fn pop_range_reply(out: &mut Reply, list: &mut List, end: End, count: usize) -> bool {
    let n = count.min(list.len());
    out.array(n);
    match end {
        End::Head => list.iter().take(n).for_each(|v| out.bulk(v)),
        End::Tail => list.iter_rev().take(n).for_each(|v| out.bulk(v)),
    }
    list.remove_end(end, n);
    list.is_empty()
}

/// The non-blocking pop a served pop propagates as (Redis's `rewriteClientCommandVector`).
pub(super) fn pop_command(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    }
}

/// Redis's `listPopRangeAndReplyWithKey`: `[key, [elements...]]`, then the usual bookkeeping. LMPOP and
/// BLMPOP propagate as `LPOP|RPOP key n`.
pub(super) fn pop_range_with_key(ctx: &mut Ctx<'_, '_>, key: &[u8], end: End, count: usize) {
    let Ok(Some(list)) = write_list(ctx.db, ctx.out, key) else { return };
    let n = count.min(list.len());
    ctx.out.array(2);
    ctx.out.bulk(key);
    let emptied = pop_range_reply(ctx.out, list, end, n);
    let mut digits = itoa::Buffer::new();
    ctx.propagate_instead(&[pop_command(end), key, digits.format(n).as_bytes()]);
    elements_removed(ctx, key, end, n, emptied);
}

fn push_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, end: End, only_existing: bool) {
    let key = args.get(1);
    let pushed = args.len() - 2;
    let len = match write_list(ctx.db, ctx.out, key) {
        Err(()) => return,
        Ok(Some(list)) => {
            for v in args.iter().skip(2) {
                list.push(end, v);
            }
            list.len()
        }
        Ok(None) => {
            if only_existing {
                ctx.out.int(0);
                return;
            }
            let mut list = new_list(ctx);
            for v in args.iter().skip(2) {
                list.push(end, v);
            }
            let len = list.len();
            ctx.db.insert_new(key, Value::List(Box::new(list)));
            len
        }
    };
    ctx.dirty += pushed as u64;
    ctx.out.int(len as i64);
    ctx.notify(class::LIST, push_event(end), key);
}

pub fn lpush(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    push_generic(ctx, args, End::Head, false);
}

pub fn rpush(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    push_generic(ctx, args, End::Tail, false);
}

pub fn lpushx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    push_generic(ctx, args, End::Head, true);
}

pub fn rpushx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    push_generic(ctx, args, End::Tail, true);
}

fn pop_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, end: End) {
    if args.len() > 3 {
        ctx.wrong_arity();
        return;
    }
    let count = if args.len() == 3 {
        let Some(c) = parse_at_least(ctx.out, args.get(2), 0, MUST_BE_POSITIVE) else { return };
        Some(c)
    } else {
        None
    };
    let key = args.get(1);
    let list = match write_list(ctx.db, ctx.out, key) {
        Err(()) => return,
        Ok(None) => {
            if count.is_some() {
                ctx.out.null_array();
            } else {
                ctx.out.null();
            }
            return;
        }
        Ok(Some(list)) => list,
    };
    let (n, emptied) = match count {
        Some(0) => {
            ctx.out.array(0);
            return;
        }
        None => {
            let Some(v) = list.peek(end) else {
                ctx.out.null();
                return;
            };
            ctx.out.bulk(v);
            list.remove_end(end, 1);
            (1, list.is_empty())
        }
        Some(c) => {
            let n = usize::try_from(c).unwrap_or(usize::MAX).min(list.len());
            (n, pop_range_reply(ctx.out, list, end, n))
        }
    };
    elements_removed(ctx, key, end, n, emptied);
}

pub fn lpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    pop_generic(ctx, args, End::Head);
}

pub fn rpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    pop_generic(ctx, args, End::Tail);
}

pub fn llen(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    match read_list(ctx.db, ctx.out, args.get(1)) {
        Err(()) => {}
        Ok(None) => ctx.out.int(0),
        Ok(Some(list)) => ctx.out.int(list.len() as i64),
    }
}

/// Redis's range normalisation (LRANGE, LTRIM): the first position and the number of elements, or None for
/// an empty range.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = i64::try_from(len).unwrap_or(i64::MAX);
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((usize::try_from(start).ok()?, usize::try_from(end - start + 1).ok()?))
}

pub fn lrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(start) = parse_long(ctx.out, args.get(2)) else { return };
    let Some(end) = parse_long(ctx.out, args.get(3)) else { return };
    let list = match read_list(ctx.db, ctx.out, args.get(1)) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.array(0);
            return;
        }
        Ok(Some(list)) => list,
    };
    match clamp_range(start, end, list.len()) {
        None => ctx.out.array(0),
        Some((from, n)) => {
            ctx.out.array(n);
            for v in list.iter_from(from).take(n) {
                ctx.out.bulk(v);
            }
        }
    }
}

pub fn lindex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let list = match read_list(ctx.db, ctx.out, args.get(1)) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.null();
            return;
        }
        Ok(Some(list)) => list,
    };
    let Some(index) = parse_long(ctx.out, args.get(2)) else { return };
    match list.resolve_index(index).and_then(|i| list.get(i)) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
}

pub fn lset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    let list = match write_list(ctx.db, ctx.out, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.error(errors::NO_SUCH_KEY);
            return;
        }
        Ok(Some(list)) => list,
    };
    let Some(index) = parse_long(ctx.out, args.get(2)) else { return };
    let replaced = list.resolve_index(index).is_some_and(|i| list.set(i, args.get(3)));
    if !replaced {
        ctx.out.error("ERR index out of range");
        return;
    }
    ctx.out.ok();
    ctx.notify(class::LIST, "lset", key);
    ctx.dirty += 1;
}

pub fn linsert(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let after = if keyword(args.get(2), "after") {
        true
    } else if keyword(args.get(2), "before") {
        false
    } else {
        ctx.out.error(errors::SYNTAX);
        return;
    };
    let key = args.get(1);
    let list = match write_list(ctx.db, ctx.out, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.int(0);
            return;
        }
        Ok(Some(list)) => list,
    };
    if !list.insert_at_pivot(args.get(3), args.get(4), after) {
        ctx.out.int(-1);
        return;
    }
    ctx.out.int(list.len() as i64);
    ctx.notify(class::LIST, "linsert", key);
    ctx.dirty += 1;
}

pub fn ltrim(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(start) = parse_long(ctx.out, args.get(2)) else { return };
    let Some(end) = parse_long(ctx.out, args.get(3)) else { return };
    let key = args.get(1);
    let list = match write_list(ctx.db, ctx.out, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.ok();
            return;
        }
        Ok(Some(list)) => list,
    };
    let len = list.len();
    let (ltrim, rtrim) = match clamp_range(start, end, len) {
        None => (len, 0),
        Some((from, n)) => (from, len - from - n),
    };
    list.remove_end(End::Head, ltrim);
    list.remove_end(End::Tail, rtrim);
    let emptied = list.is_empty();
    ctx.notify(class::LIST, "ltrim", key);
    if emptied {
        ctx.db.remove(key);
        ctx.notify(class::GENERIC, "del", key);
    }
    if ltrim + rtrim == 0 {
        // Nothing changed, yet Redis signals the key as modified: a WATCH on it still fails EXEC.
        ctx.server.keyspace.watches.touch(ctx.db.db_index(), key, || true);
    }
    ctx.dirty += (ltrim + rtrim) as u64;
    ctx.out.ok();
}

pub fn lrem(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(count) = parse_long(ctx.out, args.get(2)) else { return };
    let key = args.get(1);
    let list = match write_list(ctx.db, ctx.out, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.int(0);
            return;
        }
        Ok(Some(list)) => list,
    };
    let from = if count < 0 { End::Tail } else { End::Head };
    let removed = list.remove_matching(args.get(3), count.unsigned_abs(), from);
    let emptied = list.is_empty();
    if removed > 0 {
        ctx.notify(class::LIST, "lrem", key);
    }
    if emptied {
        ctx.db.remove(key);
        ctx.notify(class::GENERIC, "del", key);
    }
    ctx.dirty += removed as u64;
    ctx.out.int(removed as i64);
}

pub fn lpos(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut rank: i64 = 1;
    // -1: COUNT not given.
    let mut count: i64 = -1;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        let more = j + 1 < args.len();
        if keyword(opt, "rank") && more {
            j += 1;
            let Some(r) = parse_long(ctx.out, args.get(j)) else { return };
            if r == 0 {
                ctx.out.error(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                     or use negative to start from the end of the list",
                );
                return;
            }
            rank = r;
        } else if keyword(opt, "count") && more {
            j += 1;
            let Some(c) = parse_at_least(ctx.out, args.get(j), 0, "ERR COUNT can't be negative") else { return };
            count = c;
        } else if keyword(opt, "maxlen") && more {
            j += 1;
            let Some(m) = parse_at_least(ctx.out, args.get(j), 0, "ERR MAXLEN can't be negative") else { return };
            maxlen = m;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        j += 1;
    }
    // A negative rank searches from the tail. Redis negates with C's wrap-around, so i64::MIN stays negative
    // (and then every match satisfies `matches >= rank`): mirrored with wrapping arithmetic.
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let list = match read_list(ctx.db, ctx.out, args.get(1)) {
        Err(()) => return,
        Ok(None) => {
            if count != -1 {
                ctx.out.array(0);
            } else {
                ctx.out.null();
            }
            return;
        }
        Ok(Some(list)) => list,
    };
    let ele = args.get(2);
    let llen = list.len();
    let scan_limit = if maxlen == 0 { usize::MAX } else { usize::try_from(maxlen).unwrap_or(usize::MAX) };
    let mut found: Vec<i64> = Vec::new();
    let mut matches: i64 = 0;
    let mut single = None;
    let mut check = |index: usize, v: &[u8]| -> bool {
        if v != ele {
            return true;
        }
        matches += 1;
        let at = i64::try_from(if from_tail { llen - index - 1 } else { index }).unwrap_or(i64::MAX);
        if matches >= rank {
            if count == -1 {
                single = Some(at);
                return false;
            }
            found.push(at);
            if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count {
                return false;
            }
        }
        true
    };
    if from_tail {
        for (index, v) in list.iter_rev().take(scan_limit).enumerate() {
            if !check(index, v) {
                break;
            }
        }
    } else {
        for (index, v) in list.iter().take(scan_limit).enumerate() {
            if !check(index, v) {
                break;
            }
        }
    }
    if count != -1 {
        ctx.out.array(found.len());
        for at in found {
            ctx.out.int(at);
        }
    } else {
        match single {
            Some(at) => ctx.out.int(at),
            None => ctx.out.null(),
        }
    }
}

/// Redis's `lmoveGenericCommand` (LMOVE, RPOPLPUSH, and BLMOVE / BRPOPLPUSH when the source has elements).
pub(super) fn lmove_generic(ctx: &mut Ctx<'_, '_>, src: &[u8], dst: &[u8], from: End, to: End) {
    match write_list(ctx.db, ctx.out, src) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.null();
            return;
        }
        Ok(Some(list)) if list.is_empty() => {
            ctx.out.null();
            return;
        }
        Ok(Some(_)) => {}
    }
    if src != dst && write_list(ctx.db, ctx.out, dst).is_err() {
        return;
    }
    let Ok(Some(list)) = write_list(ctx.db, ctx.out, src) else { return };
    let Some(value) = list.pop(from) else { return };
    let mut emptied = false;
    if src == dst {
        list.push(to, &value);
    } else {
        emptied = list.is_empty();
        if emptied {
            ctx.db.remove(src);
        }
        match write_list(ctx.db, ctx.out, dst) {
            Ok(Some(d)) => d.push(to, &value),
            _ => {
                let mut d = new_list(ctx);
                d.push(to, &value);
                ctx.db.insert_new(dst, Value::List(Box::new(d)));
            }
        }
    }
    ctx.out.bulk(&value);
    ctx.notify(class::LIST, push_event(to), dst);
    ctx.notify(class::LIST, pop_event(from), src);
    if emptied {
        ctx.notify(class::GENERIC, "del", src);
    }
    ctx.dirty += 1;
}

pub fn lmove(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(from) = parse_end(ctx.out, args.get(3)) else { return };
    let Some(to) = parse_end(ctx.out, args.get(4)) else { return };
    lmove_generic(ctx, args.get(1), args.get(2), from, to);
}

pub fn rpoplpush(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    lmove_generic(ctx, args.get(1), args.get(2), End::Tail, End::Head);
}

/// LMPOP / BLMPOP arguments: the key range, the end, and the count.
pub(super) struct MpopArgs {
    pub first_key: usize,
    pub numkeys: usize,
    pub end: End,
    pub count: usize,
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` starting at `numkeys_idx` (Redis's `lmpopGenericCommand`).
pub(super) fn parse_mpop(out: &mut Reply, args: &Args<'_>, numkeys_idx: usize) -> Option<MpopArgs> {
    let numkeys = parse_at_least(out, args.get(numkeys_idx), 1, "ERR numkeys should be greater than 0")?;
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    let where_idx = numkeys_idx.checked_add(numkeys).and_then(|i| i.checked_add(1)).filter(|&i| i < args.len());
    let Some(where_idx) = where_idx else {
        out.error(errors::SYNTAX);
        return None;
    };
    let end = parse_end(out, args.get(where_idx))?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && keyword(args.get(j), "count") && j + 1 < args.len() {
            j += 1;
            let c = parse_at_least(out, args.get(j), 1, "ERR count should be greater than 0")?;
            count = Some(usize::try_from(c).unwrap_or(usize::MAX));
        } else {
            out.error(errors::SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(MpopArgs { first_key: numkeys_idx + 1, numkeys, end, count: count.unwrap_or(1) })
}

pub fn lmpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(m) = parse_mpop(ctx.out, &args, 1) else { return };
    for i in m.first_key..m.first_key + m.numkeys {
        let key = args.get(i);
        match write_list(ctx.db, ctx.out, key) {
            Err(()) => return,
            Ok(Some(list)) if !list.is_empty() => {
                pop_range_with_key(ctx, key, m.end, m.count);
                return;
            }
            Ok(_) => {}
        }
    }
    ctx.out.null_array();
}
