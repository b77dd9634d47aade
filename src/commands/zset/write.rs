//! ZADD / ZINCRBY (Redis's `zaddGenericCommand` + `zsetAdd`), ZREM and ZREMRANGEBYRANK/SCORE/LEX.

use super::{delete_emptied, kw, limits, lookup_write, Ctx};
use crate::commands::{args, errors};
use crate::keyspace::Value;
use crate::notify::class;
use crate::protocol::decode::Args;
use crate::types::zset::{LexRange, Limits, ScoreRange, ZSet};

const NAN_ERR: &str = "ERR resulting score is not a number (NaN)";

#[derive(Clone, Copy, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    incr: bool,
}

enum AddOutcome {
    Added(f64),
    Updated(f64),
    /// Processed without a change (same score).
    Same(f64),
    /// Skipped by NX/XX/GT/LT.
    Nop,
    Nan,
    /// The large encoding's capacity limit.
    Full,
}

/// Redis's `zsetAdd`.
fn zset_add(z: &mut ZSet, mut score: f64, member: &[u8], f: AddFlags, limits: &Limits) -> AddOutcome {
    if score.is_nan() {
        return AddOutcome::Nan;
    }
    match z.score(member) {
        Some(cur) => {
            if f.nx {
                return AddOutcome::Nop;
            }
            if f.incr {
                score += cur;
                if score.is_nan() {
                    return AddOutcome::Nan;
                }
            }
            if (f.lt && score >= cur) || (f.gt && score <= cur) {
                return AddOutcome::Nop;
            }
            if score != cur {
                z.set_score(member, score);
                AddOutcome::Updated(score)
            } else {
                AddOutcome::Same(score)
            }
        }
        None if !f.xx => {
            if z.insert(member, score, limits) {
                AddOutcome::Added(score)
            } else {
                AddOutcome::Full
            }
        }
        None => AddOutcome::Nop,
    }
}

pub fn zadd(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zadd_generic(ctx, args, false);
}

pub fn zincrby(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zadd_generic(ctx, args, true);
}

fn zadd_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, incr_cmd: bool) {
    let key = args.get(1);
    let mut f = AddFlags { incr: incr_cmd, ..AddFlags::default() };
    let mut ch = false;
    let mut idx = 2;
    while idx < args.len() {
        let o = args.get(idx);
        if kw(o, "nx") {
            f.nx = true;
        } else if kw(o, "xx") {
            f.xx = true;
        } else if kw(o, "ch") {
            ch = true;
        } else if kw(o, "incr") {
            f.incr = true;
        } else if kw(o, "gt") {
            f.gt = true;
        } else if kw(o, "lt") {
            f.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = args.len() - idx;
    if !elements.is_multiple_of(2) || elements == 0 {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    if f.nx && f.xx {
        ctx.out.error("ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        ctx.out.error("ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if f.incr && elements > 2 {
        ctx.out.error("ERR INCR option supports a single increment-element pair");
        return;
    }
    let mut scores = Vec::with_capacity(elements / 2);
    for j in (idx..args.len()).step_by(2) {
        let Some(s) = args::float(ctx.out, args.get(j)) else { return };
        scores.push(s);
    }
    let limits = limits(ctx);
    let mut created = None;
    let z: &mut ZSet = match lookup_write(ctx.db, ctx.out, key) {
        Err(()) => return,
        Ok(Some(z)) => z,
        Ok(None) => {
            if f.xx {
                if f.incr {
                    ctx.out.null();
                } else {
                    ctx.out.int(0);
                }
                return;
            }
            created.insert(ZSet::for_first_member(args.get(idx + 1).len(), &limits))
        }
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0.0;
    let mut error = None;
    for (n, &score) in scores.iter().enumerate() {
        let member = args.get(idx + 1 + 2 * n);
        match zset_add(z, score, member, f, &limits) {
            AddOutcome::Added(s) => {
                added += 1;
                processed += 1;
                last = s;
            }
            AddOutcome::Updated(s) => {
                updated += 1;
                processed += 1;
                last = s;
            }
            AddOutcome::Same(s) => {
                processed += 1;
                last = s;
            }
            AddOutcome::Nop => {}
            AddOutcome::Nan => {
                error = Some(NAN_ERR);
                break;
            }
            AddOutcome::Full => {
                error = Some("ERR sorted set is too large");
                break;
            }
        }
    }
    if let Some(z) = created {
        if !z.is_empty() {
            ctx.db.insert_new(key, Value::ZSet(Box::new(z)));
        }
    }
    match error {
        Some(e) => ctx.out.error(e),
        None if f.incr => {
            if processed > 0 {
                ctx.out.double(last);
            } else {
                ctx.out.null();
            }
        }
        None => ctx.out.int(if ch { added + updated } else { added }),
    }
    if added + updated > 0 {
        ctx.dirty += (added + updated) as u64;
        ctx.notify(class::ZSET, if f.incr { "zincr" } else { "zadd" }, key);
    }
}

pub fn zrem(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    let z = match lookup_write(ctx.db, ctx.out, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.int(0);
            return;
        }
        Ok(Some(z)) => z,
    };
    let mut deleted = 0i64;
    let mut emptied = false;
    for m in args.iter().skip(2) {
        if z.remove(m).is_some() {
            deleted += 1;
            if z.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if deleted > 0 {
        ctx.notify(class::ZSET, "zrem", key);
        if emptied {
            delete_emptied(ctx, key);
        }
        ctx.dirty += deleted as u64;
    }
    ctx.out.int(deleted);
}

#[derive(Clone, Copy)]
enum RemKind {
    Rank,
    Score,
    Lex,
}

pub fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zremrange(ctx, args, RemKind::Rank);
}

pub fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zremrange(ctx, args, RemKind::Score);
}

pub fn zremrangebylex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zremrange(ctx, args, RemKind::Lex);
}

fn zremrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>, kind: RemKind) {
    let key = args.get(1);
    let (lo, hi) = (args.get(2), args.get(3));
    let mut ranks = (0i64, 0i64);
    let mut score = None;
    let mut lex = None;
    let event = match kind {
        RemKind::Rank => {
            let Some(a) = args::int(ctx.out, lo) else { return };
            let Some(b) = args::int(ctx.out, hi) else { return };
            ranks = (a, b);
            "zremrangebyrank"
        }
        RemKind::Score => {
            let Some(r) = ScoreRange::parse(lo, hi) else {
                ctx.out.error("ERR min or max is not a float");
                return;
            };
            score = Some(r);
            "zremrangebyscore"
        }
        RemKind::Lex => {
            let Some(r) = LexRange::parse(lo, hi) else {
                ctx.out.error("ERR min or max not valid string range item");
                return;
            };
            lex = Some(r);
            "zremrangebylex"
        }
    };
    let z = match lookup_write(ctx.db, ctx.out, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.int(0);
            return;
        }
        Ok(Some(z)) => z,
    };
    let (start, end) = match kind {
        RemKind::Rank => match super::range::clamp_ranks(ranks.0, ranks.1, z.len()) {
            Some((s, e)) => (s, e + 1),
            None => (0, 0),
        },
        RemKind::Score => score.map_or((0, 0), |r| z.score_span(&r)),
        RemKind::Lex => lex.map_or((0, 0), |r| z.lex_span(&r, false)),
    };
    let deleted = z.remove_ranks(start, end);
    let emptied = z.is_empty();
    if deleted > 0 {
        ctx.notify(class::ZSET, event, key);
        if emptied {
            delete_emptied(ctx, key);
        }
    }
    ctx.dirty += deleted as u64;
    ctx.out.int(deleted as i64);
}
