//! ZPOPMIN / ZPOPMAX / ZMPOP and the blocking BZPOPMIN / BZPOPMAX / BZMPOP (Redis's `genericZpopCommand`,
//! `blockingGenericZpopCommand`, `zmpopGenericCommand`). A blocking command that finds nothing blocks through
//! [`Ctx::block`] and is re-run when a key changes; on such a retry a key of the wrong type is skipped (the
//! client stays blocked, as in Redis 7.0) instead of answering WRONGTYPE.

use super::{delete_emptied, kw, Ctx};
use crate::blocking::{parse_timeout, BlockRequest, TimeoutReply};
use crate::commands::errors;
use crate::keyspace::Value;
use crate::notify::class;
use crate::protocol::decode::Args;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Where {
    Min,
    Max,
}

/// How the reply is shaped.
#[derive(Clone, Copy)]
struct Shape {
    /// Name the key first (BZPOP*, ZMPOP, BZMPOP).
    emit_key: bool,
    /// [member, score] pairs (RESP3 with a count, ZMPOP/BZMPOP always).
    nested: bool,
    /// Null array rather than an empty array when nothing can be popped (ZMPOP).
    nil_when_empty: bool,
}

/// Pops from the first existing key of `keys`. `count` -1 means a single plain pop.
fn generic_pop(ctx: &mut Ctx<'_, '_>, keys: &[&[u8]], wh: Where, count: i64, shape: Shape) {
    let mut key = None;
    for &k in keys {
        match ctx.db.get_mut(k) {
            None => continue,
            Some(Value::ZSet(_)) => {
                key = Some(k);
                break;
            }
            Some(_) => {
                ctx.out.error(errors::WRONGTYPE);
                return;
            }
        }
    }
    let Some(key) = key else {
        if shape.nil_when_empty {
            ctx.out.null_array();
        } else {
            ctx.out.array(0);
        }
        return;
    };
    if count == 0 {
        ctx.out.array(0);
        return;
    }
    let count = if count == -1 { 1 } else { count };
    let Some(Value::ZSet(z)) = ctx.db.get_mut(key) else { return };
    let len = z.len();
    let n = usize::try_from(count).unwrap_or(usize::MAX).min(len);
    let out = &mut *ctx.out;
    match (shape.emit_key, shape.nested) {
        (false, false) => out.array(n * 2),
        (false, true) => out.array(n),
        (true, false) => {
            out.array(n * 2 + 1);
            out.bulk(key);
        }
        (true, true) => {
            out.array(2);
            out.bulk(key);
            out.array(n);
        }
    }
    z.for_range(0, n, wh == Where::Max, |m, s| {
        if shape.nested {
            out.array(2);
        }
        out.bulk(m);
        out.double(s);
    });
    match wh {
        Where::Min => z.remove_ranks(0, n),
        Where::Max => z.remove_ranks(len - n, len),
    };
    let emptied = z.is_empty();
    ctx.notify(class::ZSET, if wh == Where::Min { "zpopmin" } else { "zpopmax" }, key);
    ctx.dirty += n as u64;
    if emptied {
        delete_emptied(ctx, key);
    }
}

fn zpop_min_max(ctx: &mut Ctx<'_, '_>, args: Args<'_>, wh: Where) {
    if args.len() > 3 {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let mut count = -1;
    if args.len() == 3 {
        match crate::num::parse_i64(args.get(2)) {
            Some(c) if c >= 0 => count = c,
            _ => {
                ctx.out.error("ERR value is out of range, must be positive");
                return;
            }
        }
    }
    let nested = ctx.out.is_resp3() && count != -1;
    let shape = Shape { emit_key: false, nested, nil_when_empty: false };
    generic_pop(ctx, &[args.get(1)], wh, count, shape);
}

pub fn zpopmin(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zpop_min_max(ctx, args, Where::Min);
}

pub fn zpopmax(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zpop_min_max(ctx, args, Where::Max);
}

/// Redis's `blockingGenericZpopCommand`.
fn blocking_pop(ctx: &mut Ctx<'_, '_>, keys: &[&[u8]], wh: Where, timeout: &[u8], count: i64, shape: Shape) {
    let Some(deadline_ms) = parse_timeout(ctx.out, timeout, true, ctx.now_ms()) else { return };
    let retry = ctx.client.block_retry;
    for &key in keys {
        match ctx.db.get_mut(key) {
            Some(Value::ZSet(z)) if !z.is_empty() => {
                generic_pop(ctx, &[key], wh, count, shape);
                return;
            }
            None | Some(Value::ZSet(_)) => {}
            Some(_) if retry => {}
            Some(_) => {
                ctx.out.error(errors::WRONGTYPE);
                return;
            }
        }
    }
    if !ctx.may_block() {
        TimeoutReply::NullArray.write(ctx.out);
        return;
    }
    ctx.block(BlockRequest {
        keys: keys.iter().map(|k| k.to_vec()).collect(),
        deadline_ms,
        timeout_reply: TimeoutReply::NullArray,
        retry_args: None,
    });
}

fn bzpop_min_max(ctx: &mut Ctx<'_, '_>, args: Args<'_>, wh: Where) {
    let n = args.len();
    let keys: Vec<&[u8]> = (1..n - 1).map(|i| args.get(i)).collect();
    let shape = Shape { emit_key: true, nested: false, nil_when_empty: true };
    blocking_pop(ctx, &keys, wh, args.get(n - 1), -1, shape);
}

pub fn bzpopmin(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    bzpop_min_max(ctx, args, Where::Min);
}

pub fn bzpopmax(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    bzpop_min_max(ctx, args, Where::Max);
}

/// Parses a positive count-like argument with Redis's `getRangeLongFromObjectOrReply(1, LONG_MAX, msg)`.
fn positive(ctx: &mut Ctx<'_, '_>, arg: &[u8], msg: &str) -> Option<i64> {
    match crate::num::parse_i64(arg) {
        Some(v) if v >= 1 => Some(v),
        _ => {
            ctx.out.error(msg);
            None
        }
    }
}

/// ZMPOP numkeys key... MIN|MAX [COUNT n] / BZMPOP timeout numkeys key... MIN|MAX [COUNT n].
fn zmpop_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, numkeys_idx: usize, block: bool) {
    let Some(numkeys) = positive(ctx, args.get(numkeys_idx), "ERR numkeys should be greater than 0") else {
        return;
    };
    let where_idx = usize::try_from(numkeys).ok().and_then(|n| n.checked_add(numkeys_idx + 1));
    let Some(where_idx) = where_idx.filter(|&w| w < args.len()) else {
        ctx.out.error(errors::SYNTAX);
        return;
    };
    let wh = if kw(args.get(where_idx), "min") {
        Where::Min
    } else if kw(args.get(where_idx), "max") {
        Where::Max
    } else {
        ctx.out.error(errors::SYNTAX);
        return;
    };
    let mut count = -1;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if count == -1 && kw(args.get(j), "count") && more > 0 {
            j += 1;
            let Some(c) = positive(ctx, args.get(j), "ERR count should be greater than 0") else { return };
            count = c;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        j += 1;
    }
    if count == -1 {
        count = 1;
    }
    let keys: Vec<&[u8]> = (numkeys_idx + 1..where_idx).map(|i| args.get(i)).collect();
    let shape = Shape { emit_key: true, nested: true, nil_when_empty: true };
    if block {
        blocking_pop(ctx, &keys, wh, args.get(1), count, shape);
    } else {
        generic_pop(ctx, &keys, wh, count, shape);
    }
}

pub fn zmpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zmpop_generic(ctx, args, 1, false);
}

pub fn bzmpop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zmpop_generic(ctx, args, 2, true);
}
