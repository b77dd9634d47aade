//! Hash commands: HSET HSETNX HGET HMSET HMGET HDEL HEXISTS HLEN HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT
//! HSTRLEN HRANDFIELD HSCAN. The structure lives in `crate::types::hash`.
//!
//! What this module decides, and why:
//! - **Redis 7.0.15's order of checks.** HSET/HMSET check the argument parity before the key's type; HINCRBY
//!   and HINCRBYFLOAT validate the increment first; HRANDFIELD parses COUNT and WITHVALUES before looking at
//!   the key; HSCAN validates the cursor, then the key, and only then its options (a missing key answers the
//!   empty scan whatever the options), as `hscanCommand` / `scanGenericCommand` do.
//! - **Write commands that create the key** (HSET, HSETNX, HINCRBY, HINCRBYFLOAT) create it only once no
//!   error can follow, so no empty hash is ever left behind.
//! - **Random picks** (HRANDFIELD) follow Redis's cases: a negative count repeats picks, a positive count gives
//!   distinct fields (the whole hash when count >= size, in the hash's order; for a listpack in listpack order
//!   as `lpRandomPairsUnique`). A repeated-pick reply is bounded by [`MAX_RANDOM_REPLY`] elements (Redis would
//!   try to build it; we answer an error instead of exhausting memory).
//! - **Propagation:** HINCRBYFLOAT propagates `HSET key field <result>`, as Redis 7.0 does.
//! - The SCAN option parser and the random-index helpers here are shared with the set commands.

use super::string::keyword;
use super::{args, errors, Ctx};
use crate::glob::glob_match;
use crate::keyspace::{DbView, Value};
use crate::notify::class as notify;
use crate::num::{self, LongDoubleError};
use crate::propagate::Propagate;
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;
use crate::types::hash::{Hash, Limits};

/// Largest reply a repeated random pick (negative count) may build.
pub(crate) const MAX_RANDOM_REPLY: u64 = 1 << 26;
pub(crate) const RANDOM_REPLY_TOO_LARGE: &str = "ERR count is too large for a reply";
const INVALID_CURSOR: &str = "ERR invalid cursor";
const MAX_SCAN_COUNT: usize = 1 << 40;

/// What a typed lookup found.
pub(crate) enum Found<'a, T> {
    Missing,
    Yes(&'a mut T),
    WrongType,
}

fn lookup<'a>(db: &'a mut DbView<'_>, key: &[u8], read: bool) -> Found<'a, Hash> {
    let v = if read { db.get_read(key) } else { db.get_mut(key) };
    match v {
        None => Found::Missing,
        Some(Value::Hash(h)) => Found::Yes(h),
        Some(_) => Found::WrongType,
    }
}

/// The hash at `key` for reading; writes `missing` (a reply writer) or WRONGTYPE and returns None otherwise.
fn read_or_reply<'a>(
    db: &'a mut DbView<'_>,
    out: &mut Reply,
    key: &[u8],
    missing: impl FnOnce(&mut Reply),
) -> Option<&'a mut Hash> {
    match lookup(db, key, true) {
        Found::Yes(h) => Some(h),
        Found::Missing => {
            missing(out);
            None
        }
        Found::WrongType => {
            out.error(errors::WRONGTYPE);
            None
        }
    }
}

/// The hash at `key` for writing, created empty if missing (the caller stores at least one field), or None
/// after replying WRONGTYPE.
fn write_or_create<'a>(db: &'a mut DbView<'_>, out: &mut Reply, key: &[u8]) -> Option<&'a mut Hash> {
    match lookup(db, key, false) {
        Found::WrongType => {
            out.error(errors::WRONGTYPE);
            return None;
        }
        Found::Yes(_) => {}
        Found::Missing => {
            db.insert_new(key, Value::Hash(Box::default()));
        }
    }
    match db.get_mut(key) {
        Some(Value::Hash(h)) => Some(h),
        _ => None,
    }
}

fn limits(ctx: &Ctx<'_, '_>) -> Limits {
    Limits::from_config(&ctx.server.tunables.encoding_limits())
}

fn hset_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, hmset: bool) {
    if args.len() % 2 == 1 {
        ctx.wrong_arity();
        return;
    }
    let key = args.get(1);
    let limits = limits(ctx);
    let Some(h) = write_or_create(ctx.db, ctx.out, key) else { return };
    let mut created = 0;
    for i in (2..args.len()).step_by(2) {
        if h.set(args.get(i), args.get(i + 1), limits) {
            created += 1;
        }
    }
    ctx.notify(notify::HASH, "hset", key);
    ctx.dirty += ((args.len() - 2) / 2) as u64;
    if hmset {
        ctx.out.ok();
    } else {
        ctx.out.int(created);
    }
}

pub fn hset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    hset_generic(ctx, args, false);
}

pub fn hmset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    hset_generic(ctx, args, true);
}

pub fn hsetnx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (key, field, value) = (args.get(1), args.get(2), args.get(3));
    let limits = limits(ctx);
    match lookup(ctx.db, key, false) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Yes(h) if h.contains(field) => return ctx.out.int(0),
        _ => {}
    }
    let Some(h) = write_or_create(ctx.db, ctx.out, key) else { return };
    h.set(field, value, limits);
    ctx.notify(notify::HASH, "hset", key);
    ctx.dirty += 1;
    ctx.out.int(1);
}

pub fn hget(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(h) = read_or_reply(ctx.db, ctx.out, args.get(1), Reply::null) else { return };
    match h.get(args.get(2)) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
}

pub fn hmget(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let h = match lookup(ctx.db, args.get(1), true) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Yes(h) => Some(h),
        Found::Missing => None,
    };
    ctx.out.array(args.len() - 2);
    for field in args.iter().skip(2) {
        match h.as_ref().and_then(|h| h.get(field)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
}

pub fn hdel(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    let h = match lookup(ctx.db, key, false) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => return ctx.out.int(0),
        Found::Yes(h) => h,
    };
    let mut deleted = 0;
    for field in args.iter().skip(2) {
        if h.remove(field) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let emptied = h.is_empty();
    if emptied {
        ctx.db.remove(key);
    }
    if deleted > 0 {
        ctx.notify(notify::HASH, "hdel", key);
        if emptied {
            ctx.notify(notify::GENERIC, "del", key);
        }
        ctx.dirty += deleted as u64;
    }
    ctx.out.int(deleted);
}

pub fn hexists(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(h) = read_or_reply(ctx.db, ctx.out, args.get(1), |o| o.int(0)) else { return };
    let found = h.contains(args.get(2));
    ctx.out.int(i64::from(found));
}

pub fn hlen(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(h) = read_or_reply(ctx.db, ctx.out, args.get(1), |o| o.int(0)) else { return };
    let n = h.len();
    ctx.out.int(n as i64);
}

pub fn hstrlen(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(h) = read_or_reply(ctx.db, ctx.out, args.get(1), |o| o.int(0)) else { return };
    let n = h.get(args.get(2)).map_or(0, <[u8]>::len);
    ctx.out.int(n as i64);
}

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Keys,
    Values,
    Both,
}

fn getall_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, part: Part) {
    let empty = |o: &mut Reply| if part == Part::Both { o.map(0) } else { o.array(0) };
    let Some(h) = read_or_reply(ctx.db, ctx.out, args.get(1), empty) else { return };
    match part {
        Part::Both => ctx.out.map(h.len()),
        _ => ctx.out.array(h.len()),
    }
    for (f, v) in h.iter() {
        if part != Part::Values {
            ctx.out.bulk(f);
        }
        if part != Part::Keys {
            ctx.out.bulk(v);
        }
    }
}

pub fn hkeys(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    getall_generic(ctx, args, Part::Keys);
}

pub fn hvals(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    getall_generic(ctx, args, Part::Values);
}

pub fn hgetall(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    getall_generic(ctx, args, Part::Both);
}

pub fn hincrby(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (key, field) = (args.get(1), args.get(2));
    let Some(incr) = args::int(ctx.out, args.get(3)) else { return };
    let limits = limits(ctx);
    let current = match lookup(ctx.db, key, false) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => 0,
        Found::Yes(h) => match h.get(field) {
            None => 0,
            Some(v) => match num::parse_i64(v) {
                Some(n) => n,
                None => return ctx.out.error("ERR hash value is not an integer"),
            },
        },
    };
    let Some(new) = current.checked_add(incr) else {
        return ctx.out.error(errors::OVERFLOW);
    };
    let Some(h) = write_or_create(ctx.db, ctx.out, key) else { return };
    h.set(field, itoa::Buffer::new().format(new).as_bytes(), limits);
    ctx.notify(notify::HASH, "hincrby", key);
    ctx.dirty += 1;
    ctx.out.int(new);
}

pub fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (key, field, incr) = (args.get(1), args.get(2), args.get(3));
    match num::long_double_add(b"0", incr) {
        Ok(_) => {}
        Err(LongDoubleError::NotAFloat) => return ctx.out.error(errors::NOT_FLOAT),
        Err(LongDoubleError::NanOrInfinity) => return ctx.out.error("ERR value is NaN or Infinity"),
    }
    let limits = limits(ctx);
    let sum = match lookup(ctx.db, key, false) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => num::long_double_add(b"0", incr),
        Found::Yes(h) => num::long_double_add(h.get(field).unwrap_or(b"0"), incr),
    };
    let text = match sum {
        Ok(text) => text,
        Err(LongDoubleError::NotAFloat) => return ctx.out.error("ERR hash value is not a float"),
        Err(LongDoubleError::NanOrInfinity) => {
            return ctx.out.error("ERR increment would produce NaN or Infinity");
        }
    };
    let Some(h) = write_or_create(ctx.db, ctx.out, key) else { return };
    h.set(field, &text, limits);
    ctx.notify(notify::HASH, "hincrbyfloat", key);
    ctx.dirty += 1;
    ctx.out.bulk(&text);
    // Float formatting may differ between hosts: replicas and the AOF get the result (Redis: HSET).
    ctx.propagate_instead(&[b"HSET", key, field, &text]);
}

// ---------------------------------------------------------------------------------------------------------
// HRANDFIELD
// ---------------------------------------------------------------------------------------------------------

/// `count` distinct indices below `n` (`count < n`), uniformly: a partial shuffle when many are wanted (Redis's
/// CASE 3), rejection sampling when few (CASE 4). Memory is bounded by `n`, the collection's real size.
pub(crate) fn distinct_indices(n: usize, count: usize) -> Vec<usize> {
    if count.saturating_mul(3) > n {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..count {
            let j = fastrand::usize(i..n);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let i = fastrand::usize(..n);
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    }
}

/// Redis's `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)` error text.
pub(crate) const COUNT_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

/// A random-count argument in `-LONG_MAX..=LONG_MAX`, or None after replying the error.
pub(crate) fn random_count(out: &mut Reply, arg: &[u8]) -> Option<i64> {
    match num::parse_i64(arg) {
        None => {
            out.error(errors::NOT_INTEGER);
            None
        }
        Some(i64::MIN) => {
            out.error(COUNT_RANGE);
            None
        }
        Some(n) => Some(n),
    }
}

pub fn hrandfield(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    if args.len() >= 3 {
        let Some(count) = random_count(ctx.out, args.get(2)) else { return };
        let withvalues = args.len() == 4 && keyword(args.get(3), "withvalues");
        if args.len() > 4 || (args.len() == 4 && !withvalues) {
            return ctx.out.error(errors::SYNTAX);
        }
        if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
            return ctx.out.error("ERR value is out of range");
        }
        return hrandfield_count(ctx, key, count, withvalues);
    }
    let Some(h) = read_or_reply(ctx.db, ctx.out, key, Reply::null) else { return };
    let ix = h.indexer();
    match ix.get(fastrand::usize(..h.len().max(1))) {
        Some((f, _)) => ctx.out.bulk(f),
        None => ctx.out.null(),
    }
}

fn hrandfield_count(ctx: &mut Ctx<'_, '_>, key: &[u8], count: i64, withvalues: bool) {
    let Some(h) = read_or_reply(ctx.db, ctx.out, key, |o| o.array(0)) else { return };
    let size = h.len();
    let uniq = count >= 0;
    let want = count.unsigned_abs();
    if want == 0 || size == 0 {
        return ctx.out.array(0);
    }
    let resp3 = ctx.out.is_resp3();
    let out = &mut *ctx.out;
    let header = |out: &mut Reply, n: usize| {
        if withvalues && !resp3 {
            out.array(n * 2);
        } else {
            out.array(n);
        }
    };
    let emit = |out: &mut Reply, (f, v): (&[u8], &[u8])| {
        if withvalues && resp3 {
            out.array(2);
        }
        out.bulk(f);
        if withvalues {
            out.bulk(v);
        }
    };
    let ix = h.indexer();
    if !uniq || want == 1 {
        if want > MAX_RANDOM_REPLY {
            return out.error(RANDOM_REPLY_TOO_LARGE);
        }
        header(out, want as usize);
        for _ in 0..want {
            if let Some(pair) = ix.get(fastrand::usize(..size)) {
                emit(out, pair);
            }
        }
        return;
    }
    if want >= size as u64 {
        header(out, size);
        for pair in h.iter() {
            emit(out, pair);
        }
        return;
    }
    let mut picks = distinct_indices(size, want as usize);
    if ix.ordered() {
        picks.sort_unstable();
    }
    header(out, picks.len());
    for i in picks {
        if let Some(pair) = ix.get(i) {
            emit(out, pair);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// HSCAN (and the option parsing SSCAN shares)
// ---------------------------------------------------------------------------------------------------------

/// Parsed HSCAN / SSCAN options.
pub(crate) struct ScanOpts<'a> {
    pub count: usize,
    pub pattern: Option<&'a [u8]>,
}

impl ScanOpts<'_> {
    pub fn matches(&self, item: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, item, false))
    }
}

/// Parses `[MATCH pattern] [COUNT count]` from `args[3..]`, or replies the error.
pub(crate) fn scan_opts<'a>(out: &mut Reply, args: &Args<'a>) -> Option<ScanOpts<'a>> {
    let mut opts = ScanOpts { count: 10, pattern: None };
    let mut i = 3;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if keyword(args.get(i), "count") && has_value {
            let n = args::int(out, args.get(i + 1))?;
            if n < 1 {
                out.error(errors::SYNTAX);
                return None;
            }
            opts.count = usize::try_from(n).unwrap_or(MAX_SCAN_COUNT).min(MAX_SCAN_COUNT);
        } else if keyword(args.get(i), "match") && has_value {
            let p = args.get(i + 1);
            opts.pattern = if p == b"*" { None } else { Some(p) };
        } else {
            out.error(errors::SYNTAX);
            return None;
        }
        i += 2;
    }
    Some(opts)
}

/// The reply of a scan over a missing key.
pub(crate) fn empty_scan(out: &mut Reply) {
    out.array(2);
    out.bulk(b"0");
    out.array(0);
}

pub fn hscan(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(cursor) = super::args::scan_cursor(args.get(2)) else {
        return ctx.out.error(INVALID_CURSOR);
    };
    let Some(h) = read_or_reply(ctx.db, ctx.out, args.get(1), empty_scan) else { return };
    let Some(opts) = scan_opts(ctx.out, &args) else { return };
    let mut items: Vec<(&[u8], &[u8])> = Vec::new();
    let next = h.scan(cursor, opts.count, |f, v| {
        if opts.matches(f) {
            items.push((f, v));
        }
    });
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(items.len() * 2);
    for (f, v) in items {
        ctx.out.bulk(f);
        ctx.out.bulk(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_indices_are_distinct_and_in_range() {
        for (n, count) in [(10, 9), (10, 1), (1000, 5), (1000, 400), (3, 2)] {
            let picks = distinct_indices(n, count);
            assert_eq!(picks.len(), count);
            let set: std::collections::BTreeSet<usize> = picks.iter().copied().collect();
            assert_eq!(set.len(), count);
            assert!(picks.iter().all(|&i| i < n));
        }
    }

    #[test]
    fn scan_cursors_parse_like_strtoul() {
        assert_eq!(super::args::scan_cursor(b""), Some(0));
        assert_eq!(super::args::scan_cursor(b"+7"), Some(7));
        assert_eq!(super::args::scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(super::args::scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(super::args::scan_cursor(b"18446744073709551616"), None);
        assert_eq!(super::args::scan_cursor(b" 1"), None);
        assert_eq!(super::args::scan_cursor(b"1x"), None);
        assert_eq!(super::args::scan_cursor(b"-"), None);
    }
}
