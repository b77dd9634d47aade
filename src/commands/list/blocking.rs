//! The blocking list commands: BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH.
//!
//! Each one first behaves like its non-blocking form when a key can serve it. Otherwise it blocks (see
//! [`crate::blocking`]): the connection re-runs the command whenever a key may have become ready. Decisions:
//! - Argument errors come in Redis's order: BLPOP/BRPOP and BRPOPLPUSH parse the timeout first; BLMOVE its
//!   two `LEFT|RIGHT` keywords, then the timeout; BLMPOP numkeys, the end and COUNT, then the timeout.
//! - Inside MULTI (or wherever blocking is not allowed) an unserved command answers at once: a null array, or
//!   a null bulk for BLMOVE / BRPOPLPUSH. A real timeout (or CLIENT UNBLOCK) answers a null array for every
//!   one of them, BLMOVE included, as Redis 7.0 does.
//! - On a retry, a key that now holds another type is passed over (the client stays blocked), as Redis 7.0
//!   serves blocked clients only from keys that are lists; on the first run it is a WRONGTYPE error.
//! - A retry scans the keys in argument order, while Redis serves from the key that was signalled: the two
//!   differ only when several of a client's keys become ready within one transaction.

use super::{elements_removed, lmove_generic, parse_end, parse_mpop, pop_command, pop_range_with_key, write_list};
use crate::blocking::{parse_timeout, BlockRequest, TimeoutReply};
use crate::commands::Ctx;
use crate::keyspace::Value;
use crate::propagate::Propagate;
use crate::protocol::decode::Args;
use crate::types::list::End;

/// Whether `key` holds a list that can serve a pop: Some(true) yes, Some(false) missing or (on a retry) of
/// another type, None after replying WRONGTYPE.
fn ready(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Option<bool> {
    match ctx.db.get_mut(key) {
        None => Some(false),
        Some(Value::List(l)) => Some(!l.is_empty()),
        Some(_) if ctx.client.block_retry => Some(false),
        Some(_) => {
            ctx.out.error(crate::commands::errors::WRONGTYPE);
            None
        }
    }
}

/// Blocks on `keys`, or answers as on timeout where blocking is not allowed (`unblocked_reply`).
///
/// A blocked list client that times out always gets a null array in Redis 7.0 (`replyToBlockedClientTimedOut`
/// treats every list command alike, BLMOVE included), while BLMOVE / BRPOPLPUSH refused blocking inside
/// MULTI answer a null bulk.
fn block_or_timeout<'a>(
    ctx: &mut Ctx<'_, '_>,
    keys: impl Iterator<Item = &'a [u8]>,
    deadline_ms: u64,
    unblocked_reply: TimeoutReply,
) {
    if !ctx.may_block() {
        unblocked_reply.write(ctx.out);
        return;
    }
    let keys = keys.map(<[u8]>::to_vec).collect();
    ctx.block(BlockRequest { keys, deadline_ms, timeout_reply: TimeoutReply::NullArray, retry_args: None });
}

fn bpop_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, end: End) {
    let last = args.len() - 1;
    let Some(deadline) = parse_timeout(ctx.out, args.get(last), true, ctx.now_ms()) else { return };
    for i in 1..last {
        let key = args.get(i);
        match ready(ctx, key) {
            None => return,
            Some(false) => continue,
            Some(true) => {}
        }
        let Ok(Some(list)) = write_list(ctx.db, ctx.out, key) else { return };
        let Some(v) = list.peek(end) else { return };
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.bulk(v);
        list.remove_end(end, 1);
        let emptied = list.is_empty();
        elements_removed(ctx, key, end, 1, emptied);
        ctx.propagate_instead(&[pop_command(end), key]);
        return;
    }
    block_or_timeout(ctx, (1..last).map(|i| args.get(i)), deadline, TimeoutReply::NullArray);
}

pub fn blpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    bpop_generic(ctx, args, End::Head);
}

pub fn brpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    bpop_generic(ctx, args, End::Tail);
}

pub fn blmpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(m) = parse_mpop(ctx.out, &args, 2) else { return };
    let Some(deadline) = parse_timeout(ctx.out, args.get(1), true, ctx.now_ms()) else { return };
    let keys = m.first_key..m.first_key + m.numkeys;
    for i in keys.clone() {
        let key = args.get(i);
        match ready(ctx, key) {
            None => return,
            Some(false) => continue,
            Some(true) => {
                pop_range_with_key(ctx, key, m.end, m.count);
                return;
            }
        }
    }
    block_or_timeout(ctx, keys.map(|i| args.get(i)), deadline, TimeoutReply::NullArray);
}

/// BLMOVE / BRPOPLPUSH; served, they propagate as `instead` (LMOVE / RPOPLPUSH with the same arguments).
fn bmove_generic(ctx: &mut Ctx<'_, '_>, args: &Args<'_>, from: End, to: End, deadline: u64, instead: &[&[u8]]) {
    let src = args.get(1);
    match ready(ctx, src) {
        None => {}
        Some(true) => {
            lmove_generic(ctx, src, args.get(2), from, to);
            ctx.propagate_instead(instead);
        }
        Some(false) => block_or_timeout(ctx, std::iter::once(src), deadline, TimeoutReply::NullBulk),
    }
}

pub fn blmove(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(from) = parse_end(ctx.out, args.get(3)) else { return };
    let Some(to) = parse_end(ctx.out, args.get(4)) else { return };
    let Some(deadline) = parse_timeout(ctx.out, args.get(5), true, ctx.now_ms()) else { return };
    bmove_generic(ctx, &args, from, to, deadline, &[b"LMOVE", args.get(1), args.get(2), args.get(3), args.get(4)]);
}

pub fn brpoplpush(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(deadline) = parse_timeout(ctx.out, args.get(3), true, ctx.now_ms()) else { return };
    bmove_generic(ctx, &args, End::Tail, End::Head, deadline, &[b"RPOPLPUSH", args.get(1), args.get(2)]);
}
