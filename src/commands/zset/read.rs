//! Read-only sorted-set commands: ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZCOUNT ZLEXCOUNT ZRANDMEMBER ZSCAN.

use super::{kw, lookup_read, reply_entries_len, reply_entry, Ctx};
use crate::commands::{args, errors};
use crate::protocol::decode::Args;
use crate::types::zset::{LexRange, ScoreRange, ZSet};

/// Most entries a negative-count ZRANDMEMBER may ask for: Redis would try to build any reply, however large;
/// beyond this we answer `value is out of range` instead of exhausting memory.
const MAX_RANDOM_REPEATS: u64 = 1 << 24;

pub fn zcard(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    match lookup_read(ctx.db, ctx.out, args.get(1)) {
        Err(()) => {}
        Ok(None) => ctx.out.int(0),
        Ok(Some(z)) => {
            let n = z.len() as i64;
            ctx.out.int(n);
        }
    }
}

pub fn zscore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    match lookup_read(ctx.db, ctx.out, args.get(1)) {
        Err(()) => {}
        Ok(None) => ctx.out.null(),
        Ok(Some(z)) => match z.score(args.get(2)) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        },
    }
}

pub fn zmscore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let z = match lookup_read(ctx.db, ctx.out, args.get(1)) {
        Err(()) => return,
        Ok(z) => z,
    };
    ctx.out.array(args.len() - 2);
    for m in args.iter().skip(2) {
        match z.as_ref().and_then(|z| z.score(m)) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
}

pub fn zrank(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    rank_generic(ctx, args, false);
}

pub fn zrevrank(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    rank_generic(ctx, args, true);
}

/// ZRANK / ZREVRANK key member [WITHSCORE] (Redis 7.2's form).
fn rank_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, rev: bool) {
    if args.len() > 4 {
        ctx.wrong_arity();
        return;
    }
    let withscore = if args.len() == 4 {
        if !kw(args.get(3), "withscore") {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        true
    } else {
        false
    };
    let nil = |out: &mut crate::protocol::reply::Reply| {
        if withscore {
            out.null_array();
        } else {
            out.null();
        }
    };
    let z = match lookup_read(ctx.db, ctx.out, args.get(1)) {
        Err(()) => return,
        Ok(None) => return nil(ctx.out),
        Ok(Some(z)) => z,
    };
    match z.rank(args.get(2), rev) {
        Some((r, s)) => {
            if withscore {
                ctx.out.array(2);
            }
            ctx.out.int(r as i64);
            if withscore {
                ctx.out.double(s);
            }
        }
        None => nil(ctx.out),
    }
}

pub fn zcount(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(r) = ScoreRange::parse(args.get(2), args.get(3)) else {
        ctx.out.error("ERR min or max is not a float");
        return;
    };
    match lookup_read(ctx.db, ctx.out, args.get(1)) {
        Err(()) => {}
        Ok(None) => ctx.out.int(0),
        Ok(Some(z)) => {
            let (s, e) = z.score_span(&r);
            ctx.out.int((e - s) as i64);
        }
    }
}

pub fn zlexcount(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(r) = LexRange::parse(args.get(2), args.get(3)) else {
        ctx.out.error("ERR min or max not valid string range item");
        return;
    };
    match lookup_read(ctx.db, ctx.out, args.get(1)) {
        Err(()) => {}
        Ok(None) => ctx.out.int(0),
        Ok(Some(z)) => {
            let (s, e) = z.lex_span(&r, false);
            ctx.out.int((e - s) as i64);
        }
    }
}

/// ZRANDMEMBER key [count [WITHSCORES]] (Redis's `zrandmemberCommand` and its four cases).
pub fn zrandmember(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if args.len() < 3 {
        match lookup_read(ctx.db, ctx.out, args.get(1)) {
            Err(()) => {}
            Ok(None) => ctx.out.null(),
            Ok(Some(z)) => {
                let r = fastrand::usize(..z.len().max(1));
                match z.get(r) {
                    Some((m, _)) => ctx.out.bulk(m),
                    None => ctx.out.null(),
                }
            }
        }
        return;
    }
    let Some(l) = crate::num::parse_i64(args.get(2)) else {
        ctx.out.error(errors::NOT_INTEGER);
        return;
    };
    if l == i64::MIN {
        ctx.out.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
        return;
    }
    if args.len() > 4 || (args.len() == 4 && !kw(args.get(3), "withscores")) {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let withscores = args.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        ctx.out.error("ERR value is out of range");
        return;
    }
    let z = match lookup_read(ctx.db, ctx.out, args.get(1)) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.array(0);
            return;
        }
        Ok(Some(z)) => z,
    };
    random_with_count(ctx.out, z, l, withscores);
}

fn random_with_count(out: &mut crate::protocol::reply::Reply, z: &ZSet, l: i64, withscores: bool) {
    let size = z.len();
    if l == 0 || size == 0 {
        out.array(0);
        return;
    }
    let count = l.unsigned_abs();
    // Case 1: repeats allowed (negative count), or a single element.
    if l < 0 || count == 1 {
        if count > MAX_RANDOM_REPEATS {
            out.error("ERR value is out of range");
            return;
        }
        reply_entries_len(out, count as usize, withscores);
        for _ in 0..count {
            if let Some((m, s)) = z.get(fastrand::usize(..size)) {
                reply_entry(out, m, s, withscores);
            }
        }
        return;
    }
    // Case 2: at least the whole set: all of it, from the highest entry down (Redis walks the set with its
    // union iterator, which starts at the tail).
    if count >= size as u64 {
        reply_entries_len(out, size, withscores);
        z.for_range(0, size, true, |m, s| reply_entry(out, m, s, withscores));
        return;
    }
    // Cases 3 and 4: `count` distinct members in random order: distinct random ranks, drawn by rejection when
    // few are wanted, else by a partial Fisher-Yates shuffle of all ranks.
    let count = count as usize;
    let ranks: Vec<usize> = if count * 4 < size {
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut picked = Vec::with_capacity(count);
        while picked.len() < count {
            let r = fastrand::usize(..size);
            if seen.insert(r) {
                picked.push(r);
            }
        }
        picked
    } else {
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = fastrand::usize(i..size);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    };
    reply_entries_len(out, count, withscores);
    for r in ranks {
        if let Some((m, s)) = z.get(r) {
            reply_entry(out, m, s, withscores);
        }
    }
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
pub fn zscan(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(cursor) = super::super::args::scan_cursor(args.get(2)) else {
        ctx.out.error("ERR invalid cursor");
        return;
    };
    let z = match lookup_read(ctx.db, ctx.out, args.get(1)) {
        Err(()) => return,
        Ok(None) => {
            ctx.out.array(2);
            ctx.out.bulk(b"0");
            ctx.out.array(0);
            return;
        }
        Ok(Some(z)) => z,
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        let left = args.len() - i;
        if kw(args.get(i), "count") && left >= 2 {
            let Some(c) = args::int(ctx.out, args.get(i + 1)) else { return };
            if c < 1 {
                ctx.out.error(errors::SYNTAX);
                return;
            }
            count = c;
            i += 2;
        } else if kw(args.get(i), "match") && left >= 2 {
            let p = args.get(i + 1);
            pattern = if p == b"*" { None } else { Some(p) };
            i += 2;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    }
    let mut found: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut next = cursor;
    if z.scans_at_once() {
        next = z.scan_step(0, |m, s| found.push((m.to_vec(), s)));
    } else {
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        let mut budget = count.saturating_mul(10);
        loop {
            next = z.scan_step(next, |m, s| found.push((m.to_vec(), s)));
            if next == 0 || budget == 0 || found.len() >= count {
                break;
            }
            budget -= 1;
        }
    }
    if let Some(p) = pattern {
        found.retain(|(m, _)| crate::glob::glob_match(p, m, false));
    }
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(found.len() * 2);
    let mut text = Vec::with_capacity(32);
    for (m, s) in found {
        ctx.out.bulk(&m);
        text.clear();
        crate::num::push_f64_g17(&mut text, s);
        ctx.out.bulk(&text);
    }
}
