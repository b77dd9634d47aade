//! ZUNION / ZINTER / ZDIFF, their STORE forms and ZINTERCARD (Redis's `zunionInterDiffGenericCommand`).
//!
//! Inputs may be sorted sets or plain sets (members of a set count with score 1). Redis looks every input up
//! (WRONGTYPE first) before parsing WEIGHTS / AGGREGATE / WITHSCORES / LIMIT, and orders inputs by size for
//! union and intersection (stably here), which fixes the order scores are aggregated in.
//!
//! Only one input is borrowed at a time: intersection and difference copy the first (smallest, for
//! intersection) input's entries as candidates and then probe each other input in turn, which aggregates in
//! exactly Redis's order (input by input) at Redis's cost (one probe per candidate and input).

use std::collections::HashMap;

use super::{kw, limits, reply_entries_len, reply_entry, Ctx};
use crate::commands::{args, errors};
use crate::keyspace::Value;
use crate::notify::class;
use crate::protocol::decode::Args;
use crate::types::zset::ZSet;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, v: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += v;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v;
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v;
            }
        }
    }
}

/// One input: its key, weight and cardinality at lookup time (0 when missing).
struct Source<'a> {
    key: &'a [u8],
    weight: f64,
    len: usize,
}

/// Runs `f` on the input's members and scores (sets score 1), in the input's order.
fn for_each_entry(ctx: &mut Ctx<'_, '_>, key: &[u8], mut f: impl FnMut(&[u8], f64)) {
    match ctx.db.get_mut(key) {
        Some(Value::ZSet(z)) => z.for_each(f),
        Some(Value::Set(s)) => {
            for m in s.iter() {
                m.with_bytes(|b| f(b, 1.0));
            }
        }
        _ => {}
    }
}

/// Probes the input for each of `members`: `f(index, Some(score))` when present.
fn probe(ctx: &mut Ctx<'_, '_>, key: &[u8], members: &[Vec<u8>], mut f: impl FnMut(usize, Option<f64>)) {
    match ctx.db.get_mut(key) {
        Some(Value::ZSet(z)) => {
            for (i, m) in members.iter().enumerate() {
                f(i, z.score(m));
            }
        }
        Some(Value::Set(s)) => {
            for (i, m) in members.iter().enumerate() {
                f(i, s.contains(m).then_some(1.0));
            }
        }
        _ => {
            for i in 0..members.len() {
                f(i, None);
            }
        }
    }
}

pub fn zunion(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    generic(ctx, args, None, 1, Op::Union, false);
}

pub fn zinter(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    generic(ctx, args, None, 1, Op::Inter, false);
}

pub fn zdiff(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    generic(ctx, args, None, 1, Op::Diff, false);
}

pub fn zunionstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    generic(ctx, args, Some(args.get(1)), 2, Op::Union, false);
}

pub fn zinterstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    generic(ctx, args, Some(args.get(1)), 2, Op::Inter, false);
}

pub fn zdiffstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    generic(ctx, args, Some(args.get(1)), 2, Op::Diff, false);
}

pub fn zintercard(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    generic(ctx, args, None, 1, Op::Inter, true);
}

fn generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, dst: Option<&[u8]>, numkeys_idx: usize, op: Op, card: bool) {
    let Some(setnum) = args::int(ctx.out, args.get(numkeys_idx)) else { return };
    if setnum < 1 {
        let name = ctx.spec.name.to_ascii_lowercase();
        ctx.out.error(&format!("ERR at least 1 input key is needed for '{name}' command"));
        return;
    }
    let avail = args.len() - (numkeys_idx + 1);
    if setnum as u64 > avail as u64 {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let setnum = setnum as usize;
    let mut src: Vec<Source<'_>> = Vec::with_capacity(setnum);
    for i in 0..setnum {
        let key = args.get(numkeys_idx + 1 + i);
        let len = match ctx.db.get_read(key) {
            None => 0,
            Some(Value::ZSet(z)) => z.len(),
            Some(Value::Set(s)) => s.len(),
            Some(_) => {
                ctx.out.error(errors::WRONGTYPE);
                return;
            }
        };
        src.push(Source { key, weight: 1.0, len });
    }
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = numkeys_idx + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = args.get(j);
        if op != Op::Diff && !card && remaining > setnum && kw(a, "weights") {
            j += 1;
            for s in src.iter_mut() {
                match crate::num::parse_f64(args.get(j)) {
                    Some(w) => s.weight = w,
                    None => {
                        ctx.out.error("ERR weight value is not a float");
                        return;
                    }
                }
                j += 1;
            }
        } else if op != Op::Diff && !card && remaining >= 2 && kw(a, "aggregate") {
            let v = args.get(j + 1);
            how = if kw(v, "sum") {
                Aggregate::Sum
            } else if kw(v, "min") {
                Aggregate::Min
            } else if kw(v, "max") {
                Aggregate::Max
            } else {
                ctx.out.error(errors::SYNTAX);
                return;
            };
            j += 2;
        } else if dst.is_none() && !card && kw(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card && remaining >= 2 && kw(a, "limit") {
            match crate::num::parse_i64(args.get(j + 1)) {
                Some(l) if l >= 0 => limit = usize::try_from(l).unwrap_or(usize::MAX),
                _ => {
                    ctx.out.error("ERR LIMIT can't be negative");
                    return;
                }
            }
            j += 2;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    }
    if op != Op::Diff {
        src.sort_by_key(|s| s.len);
    }
    let result: Vec<(Vec<u8>, f64)> = match op {
        Op::Inter => {
            if src[0].len == 0 {
                Vec::new()
            } else {
                let w0 = src[0].weight;
                let mut cand: Vec<(Vec<u8>, f64)> = Vec::with_capacity(src[0].len);
                for_each_entry(ctx, src[0].key, |m, s| {
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    cand.push((m.to_vec(), score));
                });
                for s in &src[1..] {
                    if cand.is_empty() {
                        break;
                    }
                    let members: Vec<Vec<u8>> = cand.iter().map(|c| c.0.clone()).collect();
                    let mut keep = vec![false; cand.len()];
                    let w = s.weight;
                    probe(ctx, s.key, &members, |i, found| {
                        if let Some(v) = found {
                            aggregate(&mut cand[i].1, v * w, how);
                            keep[i] = true;
                        }
                    });
                    let mut it = keep.iter();
                    cand.retain(|_| it.next().copied().unwrap_or(false));
                }
                if card {
                    let n = if limit > 0 { cand.len().min(limit) } else { cand.len() };
                    ctx.out.int(n as i64);
                    return;
                }
                cand
            }
        }
        Op::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
            for s in &src {
                if s.len == 0 {
                    continue;
                }
                let w = s.weight;
                for_each_entry(ctx, s.key, |m, v| {
                    let mut score = w * v;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, score, how),
                        None => {
                            acc.insert(m.to_vec(), score);
                        }
                    }
                });
            }
            acc.into_iter().collect()
        }
        Op::Diff => {
            let mut cand: Vec<(Vec<u8>, f64)> = Vec::with_capacity(src[0].len);
            if src[0].len > 0 {
                for_each_entry(ctx, src[0].key, |m, s| cand.push((m.to_vec(), s)));
                for s in &src[1..] {
                    if cand.is_empty() {
                        break;
                    }
                    if s.len == 0 {
                        continue;
                    }
                    let members: Vec<Vec<u8>> = cand.iter().map(|c| c.0.clone()).collect();
                    let mut keep = vec![true; cand.len()];
                    probe(ctx, s.key, &members, |i, found| keep[i] = found.is_none());
                    let mut it = keep.iter();
                    cand.retain(|_| it.next().copied().unwrap_or(false));
                }
            }
            cand
        }
    };
    if card {
        ctx.out.int(0);
        return;
    }
    let mut result = result;
    result.sort_by(|a, b| crate::types::zset::packed::cmp_entry(a.1, &a.0, b.1, &b.0));
    match dst {
        Some(dst) => store(ctx, dst, result, op),
        None => {
            reply_entries_len(ctx.out, result.len(), withscores);
            for (m, s) in &result {
                reply_entry(ctx.out, m, *s, withscores);
            }
        }
    }
}

fn store(ctx: &mut Ctx<'_, '_>, dst: &[u8], result: Vec<(Vec<u8>, f64)>, op: Op) {
    let n = result.len();
    if n > 0 {
        let z = ZSet::from_sorted_unique(result, &limits(ctx));
        ctx.db.set(dst, Value::ZSet(Box::new(z)), false);
        ctx.out.int(n as i64);
        let event = match op {
            Op::Union => "zunionstore",
            Op::Inter => "zinterstore",
            Op::Diff => "zdiffstore",
        };
        ctx.notify(class::ZSET, event, dst);
        ctx.dirty += 1;
    } else {
        ctx.out.int(0);
        if ctx.db.remove(dst).is_some() {
            ctx.notify(class::GENERIC, "del", dst);
            ctx.dirty += 1;
        }
    }
}
