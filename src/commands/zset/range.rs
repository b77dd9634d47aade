//! ZRANGE and its older forms (ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX) and ZRANGESTORE, one
//! generic routine as Redis's `zrangeGenericCommand`: options, conflict errors, then the range, then the key.
//! Ranges become rank intervals in O(log n) (`score_span` / `lex_span`), and LIMIT's offset is applied by rank
//! arithmetic rather than by walking.

use super::{kw, limits, lookup_read, reply_entries_len, reply_entry, Ctx};
use crate::commands::{args, errors};
use crate::keyspace::Value;
use crate::notify::class;
use crate::protocol::decode::Args;
use crate::types::zset::{LexRange, ScoreRange, ZSet};

/// Redis's rank sanitising: negative ranks count from the end; None when the range is empty. Returns the
/// inclusive (start, end) clamped to the set.
pub(super) fn clamp_ranks(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    let end = end.min(llen - 1);
    Some((start as usize, end as usize))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Auto,
    Fwd,
    Rev,
}

pub fn zrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zrange_generic(ctx, args, 1, false, Kind::Auto, Dir::Auto);
}

pub fn zrangestore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zrange_generic(ctx, args, 2, true, Kind::Auto, Dir::Auto);
}

pub fn zrevrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zrange_generic(ctx, args, 1, false, Kind::Rank, Dir::Rev);
}

pub fn zrangebyscore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zrange_generic(ctx, args, 1, false, Kind::Score, Dir::Fwd);
}

pub fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zrange_generic(ctx, args, 1, false, Kind::Score, Dir::Rev);
}

pub fn zrangebylex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zrange_generic(ctx, args, 1, false, Kind::Lex, Dir::Fwd);
}

pub fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    zrange_generic(ctx, args, 1, false, Kind::Lex, Dir::Rev);
}

/// The selected entries: ranks `start..end` ascending, or descending ranks when `rev`.
struct Selection {
    start: usize,
    end: usize,
    rev: bool,
}

/// Applies LIMIT to an ascending span `s..e` (Redis: a negative offset selects nothing, a negative limit
/// means no limit).
fn limited(s: usize, e: usize, n: usize, offset: i64, limit: i64, rev: bool) -> Selection {
    let empty = Selection { start: 0, end: 0, rev };
    if offset < 0 || limit == 0 {
        return empty;
    }
    let span = e.saturating_sub(s);
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    if offset >= span {
        return empty;
    }
    let avail = span - offset;
    let take = if limit < 0 { avail } else { avail.min(usize::try_from(limit).unwrap_or(usize::MAX)) };
    if rev {
        // Descending ranks: the span's top is descending rank n - e.
        let top = n - e + offset;
        Selection { start: top, end: top + take, rev }
    } else {
        Selection { start: s + offset, end: s + offset + take, rev }
    }
}

fn zrange_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, first: usize, store: bool, kind: Kind, dir: Dir) {
    let (mut kind, mut dir) = (kind, dir);
    let key = args.get(first);
    let (mut minidx, mut maxidx) = (first + 1, first + 2);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = first + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = args.get(j);
        if !store && kw(a, "withscores") {
            withscores = true;
        } else if kw(a, "limit") && left >= 2 {
            let Some(o) = args::int(ctx.out, args.get(j + 1)) else { return };
            let Some(l) = args::int(ctx.out, args.get(j + 2)) else { return };
            offset = o;
            limit = l;
            j += 2;
        } else if dir == Dir::Auto && kw(a, "rev") {
            dir = Dir::Rev;
        } else if kind == Kind::Auto && kw(a, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && kw(a, "byscore") {
            kind = Kind::Score;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        j += 1;
    }
    if dir == Dir::Auto {
        dir = Dir::Fwd;
    }
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    if limit != -1 && kind == Kind::Rank {
        ctx.out.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if withscores && kind == Kind::Lex {
        ctx.out.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    let rev = dir == Dir::Rev;
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let (lo, hi) = (args.get(minidx), args.get(maxidx));
    let mut ranks = (0i64, 0i64);
    let mut score = None;
    let mut lex = None;
    match kind {
        Kind::Score => match ScoreRange::parse(lo, hi) {
            Some(r) => score = Some(r),
            None => {
                ctx.out.error("ERR min or max is not a float");
                return;
            }
        },
        Kind::Lex => match LexRange::parse(lo, hi) {
            Some(r) => lex = Some(r),
            None => {
                ctx.out.error("ERR min or max not valid string range item");
                return;
            }
        },
        _ => {
            let Some(a) = args::int(ctx.out, lo) else { return };
            let Some(b) = args::int(ctx.out, hi) else { return };
            ranks = (a, b);
        }
    }
    let z: &ZSet = match lookup_read(ctx.db, ctx.out, key) {
        Err(()) => return,
        Ok(None) => {
            if store {
                finish_store(ctx, args.get(1), Vec::new());
            } else {
                ctx.out.array(0);
            }
            return;
        }
        Ok(Some(z)) => z,
    };
    let n = z.len();
    let sel = match kind {
        Kind::Score => {
            let (s, e) = score.map_or((0, 0), |r| z.score_span(&r));
            limited(s, e, n, offset, limit, rev)
        }
        Kind::Lex => {
            let (s, e) = lex.map_or((0, 0), |r| z.lex_span(&r, rev));
            limited(s, e, n, offset, limit, rev)
        }
        _ => match clamp_ranks(ranks.0, ranks.1, n) {
            Some((s, e)) => Selection { start: s, end: e + 1, rev },
            None => Selection { start: 0, end: 0, rev },
        },
    };
    if store {
        let mut got: Vec<(Vec<u8>, f64)> = Vec::with_capacity(sel.end.saturating_sub(sel.start));
        z.for_range(sel.start, sel.end, sel.rev, |m, s| got.push((m.to_vec(), s)));
        if sel.rev {
            got.reverse();
        }
        finish_store(ctx, args.get(1), got);
        return;
    }
    let count = sel.end.min(n).saturating_sub(sel.start);
    reply_entries_len(ctx.out, count, withscores);
    let out = &mut *ctx.out;
    z.for_range(sel.start, sel.end, sel.rev, |m, s| reply_entry(out, m, s, withscores));
}

/// Stores `entries` (ascending, distinct) at `dst` as ZRANGESTORE does: the destination is replaced (TTL
/// dropped), or deleted when the result is empty.
fn finish_store(ctx: &mut Ctx<'_, '_>, dst: &[u8], entries: Vec<(Vec<u8>, f64)>) {
    let count = entries.len();
    if count > 0 {
        let z = ZSet::from_sorted_unique(entries, &limits(ctx));
        ctx.db.set(dst, Value::ZSet(Box::new(z)), false);
        ctx.out.int(count as i64);
        ctx.notify(class::ZSET, "zrangestore", dst);
        ctx.dirty += 1;
    } else {
        ctx.out.int(0);
        if ctx.db.remove(dst).is_some() {
            ctx.notify(class::GENERIC, "del", dst);
            ctx.dirty += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_clamp_like_redis() {
        assert_eq!(clamp_ranks(0, -1, 3), Some((0, 2)));
        assert_eq!(clamp_ranks(-100, 100, 3), Some((0, 2)));
        assert_eq!(clamp_ranks(2, 1, 3), None);
        assert_eq!(clamp_ranks(3, 5, 3), None);
        assert_eq!(clamp_ranks(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(clamp_ranks(0, -4, 3), None);
    }

    #[test]
    fn limit_selects_from_either_end() {
        let s = limited(2, 8, 10, 1, 3, false);
        assert_eq!((s.start, s.end), (3, 6));
        // Descending: the span 2..8 is descending ranks 2..8 of 10; skip 1 from the top (rank 7).
        let s = limited(2, 8, 10, 1, 3, true);
        assert_eq!((s.start, s.end), (3, 6));
        let s = limited(2, 8, 10, 5, -1, true);
        assert_eq!((s.start, s.end), (7, 8));
        assert_eq!(limited(2, 8, 10, -1, 3, false).end, 0);
        assert_eq!(limited(2, 8, 10, 6, 3, false).end, 0);
    }
}
