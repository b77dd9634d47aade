//! String commands: GET/SET and their variants, counters, ranges, and LCS.
//!
//! What this module decides, and why:
//! - **Error order.** Every handler checks its arguments and the key in the order Redis 7.0.15 does, because
//!   clients see the first error only: e.g. SET validates the expire time before the `GET` option's type
//!   check, GETEX looks the key up (nil for a missing key) before validating the expire time, and SETRANGE
//!   rejects a negative offset before looking at the key.
//! - **Option keywords are C strings.** Redis compares options with `strcasecmp` on a NUL-terminated buffer,
//!   so an argument such as `"nx\x00junk"` means `NX`; [`keyword`] reproduces that.
//! - **Encodings.** Values are stored with the encoding Redis would report in OBJECT ENCODING: SET/MSET/GETSET
//!   pick int/embstr/raw ([`Value::string`]), counters store `int`, INCRBYFLOAT stores a string (never `int`),
//!   and APPEND/SETRANGE on an existing key grow a `raw` buffer in place.
//! - **TTL.** SET (without KEEPTTL) and GETSET drop the TTL; INCR*, APPEND and SETRANGE keep it, as Redis's
//!   `dbOverwrite` / in-place edits do.
//! - **Size limit.** Growth is checked against `proto-max-bulk-len` with overflow-safe arithmetic before any
//!   allocation, and allocations that could still fail use `try_reserve`, so no input can abort the server.

use super::{args, errors, Ctx};
use crate::keyspace::{DbView, SmallBytes, Value};
use crate::notify::class as notify;
use crate::num::{self, LongDoubleError};
use crate::propagate::Propagate;
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;

/// Case-insensitive keyword match with C-string semantics (Redis's `strcasecmp(arg->ptr, kw)`).
pub(crate) fn keyword(arg: &[u8], kw: &str) -> bool {
    args::c_str(arg).eq_ignore_ascii_case(kw.as_bytes())
}

/// The configured `proto-max-bulk-len`: the longest string a command may create.
pub(crate) fn max_bulk_len(ctx: &Ctx<'_, '_>) -> u64 {
    ctx.server.config.snapshot().proto_max_bulk_len
}

/// Replies with the string at `key` (nil if absent), or WRONGTYPE. Redis's `getGenericCommand`: false on error.
fn get_generic(db: &mut DbView<'_>, out: &mut Reply, key: &[u8]) -> bool {
    let Some(v) = db.get_read(key) else {
        out.null();
        return true;
    };
    let mut digits = itoa::Buffer::new();
    match v.as_bytes(&mut digits) {
        Some(bytes) => {
            out.bulk(bytes);
            true
        }
        None => {
            out.error(errors::WRONGTYPE);
            false
        }
    }
}

// Flags of SET / GETEX options (Redis's OBJ_* flags).
const NX: u16 = 1;
const XX: u16 = 1 << 1;
const EX: u16 = 1 << 2;
const PX: u16 = 1 << 3;
const KEEPTTL: u16 = 1 << 4;
const GET: u16 = 1 << 5;
const EXAT: u16 = 1 << 6;
const PXAT: u16 = 1 << 7;
const PERSIST: u16 = 1 << 8;

/// Parses SET's (`for_set`) or GETEX's options, with Redis's conflict rules: a conflicting or unknown option,
/// or an expire option without a value, is a syntax error. Repeating the same option is allowed (last wins).
fn parse_options<'a>(out: &mut Reply, args: &Args<'a>, for_set: bool) -> Option<(u16, Option<&'a [u8]>)> {
    let mut flags = 0u16;
    let mut expire = None;
    let mut j = if for_set { 3 } else { 2 };
    while j < args.len() {
        let opt = args.get(j);
        let has_next = j + 1 < args.len();
        let mut expire_flag = 0;
        if for_set && keyword(opt, "nx") && flags & XX == 0 {
            flags |= NX;
        } else if for_set && keyword(opt, "xx") && flags & NX == 0 {
            flags |= XX;
        } else if for_set && keyword(opt, "get") {
            flags |= GET;
        } else if for_set && keyword(opt, "keepttl") && flags & (PERSIST | EX | EXAT | PX | PXAT) == 0 {
            flags |= KEEPTTL;
        } else if !for_set && keyword(opt, "persist") && flags & (EX | EXAT | PX | PXAT | KEEPTTL) == 0 {
            flags |= PERSIST;
        } else if keyword(opt, "ex") && flags & (KEEPTTL | PERSIST | EXAT | PX | PXAT) == 0 && has_next {
            expire_flag = EX;
        } else if keyword(opt, "px") && flags & (KEEPTTL | PERSIST | EX | EXAT | PXAT) == 0 && has_next {
            expire_flag = PX;
        } else if keyword(opt, "exat") && flags & (KEEPTTL | PERSIST | EX | PX | PXAT) == 0 && has_next {
            expire_flag = EXAT;
        } else if keyword(opt, "pxat") && flags & (KEEPTTL | PERSIST | EX | EXAT | PX) == 0 && has_next {
            expire_flag = PXAT;
        } else {
            out.error(errors::SYNTAX);
            return None;
        }
        if expire_flag != 0 {
            flags |= expire_flag;
            expire = Some(args.get(j + 1));
            j += 1;
        }
        j += 1;
    }
    Some((flags, expire))
}

/// Turns an expire argument into an absolute unix-ms deadline (Redis's `getExpireMillisecondsOrReply`):
/// seconds for EX/EXAT, relative for EX/PX. Zero, negative or overflowing times are `invalid expire time`.
fn expire_deadline(out: &mut Reply, arg: &[u8], flags: u16, name: &str, now_ms: u64) -> Option<u64> {
    let n = args::int(out, arg)?;
    let seconds = flags & (EX | EXAT) != 0;
    let invalid = |out: &mut Reply| out.error(&errors::invalid_expire(name));
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        invalid(out);
        return None;
    }
    let mut ms = if seconds { n * 1000 } else { n };
    if flags & (EX | PX) != 0 {
        match i64::try_from(now_ms).ok().and_then(|now| ms.checked_add(now)) {
            Some(at) => ms = at,
            None => {
                invalid(out);
                return None;
            }
        }
    }
    u64::try_from(ms).ok()
}

/// Redis's `setGenericCommand`. `counted` selects SETNX's `:1` / `:0` replies instead of `+OK` / nil.
fn set_generic(ctx: &mut Ctx<'_, '_>, flags: u16, key: &[u8], val: &[u8], expire: Option<&[u8]>, counted: bool) {
    let now = ctx.now_ms();
    let deadline = match expire {
        Some(arg) => match expire_deadline(ctx.out, arg, flags, ctx.spec.name, now) {
            Some(at) => Some(at),
            None => return,
        },
        None => None,
    };
    if flags & GET != 0 && !get_generic(ctx.db, ctx.out, key) {
        return;
    }
    let found = ctx.db.exists(key);
    if (flags & NX != 0 && found) || (flags & XX != 0 && !found) {
        if flags & GET == 0 {
            if counted {
                ctx.out.int(0);
            } else {
                ctx.out.null();
            }
        }
        return;
    }
    ctx.db.set(key, Value::string(val), flags & KEEPTTL != 0);
    ctx.dirty += 1;
    ctx.notify(notify::STRING, "set", key);
    if let Some(at) = deadline {
        ctx.db.set_expire(key, at);
        ctx.notify(notify::GENERIC, "expire", key);
        // Propagated as `SET key value PXAT <ms>`, other options dropped (Redis 7.0's setGenericCommand).
        let at = itoa::Buffer::new().format(at).to_owned();
        ctx.propagate_instead(&[b"SET", key, val, b"PXAT", at.as_bytes()]);
    }
    if flags & GET == 0 {
        if counted {
            ctx.out.int(1);
        } else {
            ctx.out.ok();
        }
    }
}

pub fn get(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    get_generic(ctx.db, ctx.out, args.get(1));
}

pub fn set(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some((flags, expire)) = parse_options(ctx.out, &args, true) else { return };
    set_generic(ctx, flags, args.get(1), args.get(2), expire, false);
}

pub fn setnx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    set_generic(ctx, NX, args.get(1), args.get(2), None, true);
}

pub fn setex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    set_generic(ctx, EX, args.get(1), args.get(3), Some(args.get(2)), false);
}

pub fn psetex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    set_generic(ctx, PX, args.get(1), args.get(3), Some(args.get(2)), false);
}

pub fn getex(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some((flags, expire)) = parse_options(ctx.out, &args, false) else { return };
    let key = args.get(1);
    let now = ctx.now_ms();
    let name = ctx.spec.name;
    let Some(v) = ctx.db.get_read(key) else {
        ctx.out.null();
        return;
    };
    let mut digits = itoa::Buffer::new();
    let Some(bytes) = v.as_bytes(&mut digits) else {
        ctx.out.error(errors::WRONGTYPE);
        return;
    };
    let deadline = match expire {
        Some(arg) => match expire_deadline(ctx.out, arg, flags, name, now) {
            Some(at) => Some(at),
            None => return,
        },
        None => None,
    };
    ctx.out.bulk(bytes);
    match deadline {
        // An absolute deadline already reached deletes the key (Redis's checkAlreadyExpired).
        Some(at) if flags & (EXAT | PXAT) != 0 && at <= now => {
            ctx.db.remove(key);
            ctx.dirty += 1;
            ctx.notify(notify::GENERIC, "del", key);
            ctx.propagate_instead(&[b"DEL", key]);
        }
        Some(at) => {
            ctx.db.set_expire(key, at);
            ctx.dirty += 1;
            ctx.notify(notify::GENERIC, "expire", key);
            let at = itoa::Buffer::new().format(at).to_owned();
            ctx.propagate_instead(&[b"PEXPIREAT", key, at.as_bytes()]);
        }
        None if flags & PERSIST != 0 && ctx.db.expire_of(key).is_some_and(|at| at != 0) => {
            ctx.db.set_expire(key, 0);
            ctx.dirty += 1;
            ctx.notify(notify::GENERIC, "persist", key);
            ctx.propagate_instead(&[b"PERSIST", key]);
        }
        None => {}
    }
}

pub fn getdel(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    if get_generic(ctx.db, ctx.out, key) && ctx.db.remove(key).is_some() {
        ctx.dirty += 1;
        ctx.notify(notify::GENERIC, "del", key);
        ctx.propagate_instead(&[b"DEL", key]);
    }
}

pub fn getset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    if !get_generic(ctx.db, ctx.out, key) {
        return;
    }
    ctx.db.set(key, Value::string(args.get(2)), false);
    ctx.dirty += 1;
    ctx.notify(notify::STRING, "set", key);
}

pub fn mget(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    ctx.out.array(args.len() - 1);
    let mut digits = itoa::Buffer::new();
    for key in args.iter().skip(1) {
        // Missing keys and non-strings are both nil: MGET never fails on a type.
        match ctx.db.get_read(key).and_then(|v| v.as_bytes(&mut digits)) {
            Some(bytes) => ctx.out.bulk(bytes),
            None => ctx.out.null(),
        }
    }
}

fn mset_generic(ctx: &mut Ctx<'_, '_>, args: &Args<'_>, nx: bool) {
    if args.len().is_multiple_of(2) {
        ctx.wrong_arity();
        return;
    }
    if nx && (1..args.len()).step_by(2).any(|j| ctx.db.exists(args.get(j))) {
        ctx.out.int(0);
        return;
    }
    for j in (1..args.len()).step_by(2) {
        ctx.db.set(args.get(j), Value::string(args.get(j + 1)), false);
        ctx.notify(notify::STRING, "set", args.get(j));
    }
    ctx.dirty += (args.len() as u64 - 1) / 2;
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
}

pub fn mset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    mset_generic(ctx, &args, false);
}

pub fn msetnx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    mset_generic(ctx, &args, true);
}

/// Redis's `incrDecrCommand`: the TTL is kept and the result is stored `int`-encoded.
fn incr_decr(ctx: &mut Ctx<'_, '_>, key: &[u8], incr: i64) {
    let current = match ctx.db.get_mut(key) {
        None => None,
        Some(Value::Int(n)) => Some(*n),
        Some(v) => {
            let mut digits = itoa::Buffer::new();
            let Some(bytes) = v.as_bytes(&mut digits) else {
                ctx.out.error(errors::WRONGTYPE);
                return;
            };
            match num::parse_i64(bytes) {
                Some(n) => Some(n),
                None => {
                    ctx.out.error(errors::NOT_INTEGER);
                    return;
                }
            }
        }
    };
    let Some(value) = current.unwrap_or(0).checked_add(incr) else {
        ctx.out.error(errors::OVERFLOW);
        return;
    };
    match ctx.db.get_mut(key) {
        Some(v) => *v = Value::Int(value),
        None => {
            ctx.db.insert_new(key, Value::Int(value));
        }
    }
    ctx.dirty += 1;
    ctx.notify(notify::STRING, "incrby", key);
    ctx.out.int(value);
}

pub fn incr(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    incr_decr(ctx, args.get(1), 1);
}

pub fn decr(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    incr_decr(ctx, args.get(1), -1);
}

pub fn incrby(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(incr) = args::int(ctx.out, args.get(2)) else { return };
    incr_decr(ctx, args.get(1), incr);
}

pub fn decrby(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(decr) = args::int(ctx.out, args.get(2)) else { return };
    // Negating i64::MIN is impossible; Redis refuses it before looking at the key.
    if decr == i64::MIN {
        ctx.out.error("ERR decrement would overflow");
        return;
    }
    incr_decr(ctx, args.get(1), -decr);
}

pub fn incrbyfloat(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    let mut digits = itoa::Buffer::new();
    let add = num::long_double_add;
    let sum = match ctx.db.get_mut(key) {
        None => add(b"0", args.get(2)),
        Some(v) => match v.as_bytes(&mut digits) {
            Some(current) => add(current, args.get(2)),
            None => {
                ctx.out.error(errors::WRONGTYPE);
                return;
            }
        },
    };
    let text = match sum {
        Ok(text) => text,
        Err(LongDoubleError::NotAFloat) => {
            ctx.out.error(errors::NOT_FLOAT);
            return;
        }
        Err(LongDoubleError::NanOrInfinity) => {
            ctx.out.error("ERR increment would produce NaN or Infinity");
            return;
        }
    };
    // Redis stores the printed result as a plain string (embstr/raw), never `int`, and keeps the TTL.
    let value = Value::Str(SmallBytes::new(&text));
    match ctx.db.get_mut(key) {
        Some(v) => *v = value,
        None => {
            ctx.db.insert_new(key, value);
        }
    }
    ctx.dirty += 1;
    ctx.notify(notify::STRING, "incrbyfloat", key);
    // Propagated as the result, so a replay cannot round differently.
    ctx.propagate_instead(&[b"SET", key, &text, b"KEEPTTL"]);
    ctx.out.bulk(&text);
}

/// `offset + len` if it fits `proto-max-bulk-len` (Redis's `checkStringLength`), else replies the error.
fn checked_total(out: &mut Reply, offset: u64, len: usize, max: u64) -> Option<usize> {
    let total = offset.checked_add(len as u64).filter(|&t| t <= max).and_then(|t| usize::try_from(t).ok());
    if total.is_none() {
        out.error(errors::STRING_TOO_LONG);
    }
    total
}

/// Grows `buf` with zeros to `len` bytes without aborting on allocation failure.
pub(crate) fn grow_zeroed(out: &mut Reply, buf: &mut Vec<u8>, len: usize) -> bool {
    if len > buf.len() {
        if buf.try_reserve_exact(len - buf.len()).is_err() {
            out.error("ERR Out of memory growing the string");
            return false;
        }
        buf.resize(len, 0);
    }
    true
}

pub fn append(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (key, tail) = (args.get(1), args.get(2));
    let max = max_bulk_len(ctx);
    let total = match ctx.db.get_mut(key) {
        None => {
            ctx.db.insert_new(key, Value::string(tail));
            tail.len()
        }
        Some(v) => {
            let Some(len) = v.string_len() else {
                ctx.out.error(errors::WRONGTYPE);
                return;
            };
            if checked_total(ctx.out, len as u64, tail.len(), max).is_none() {
                return;
            }
            let Some(buf) = v.make_raw() else { return };
            if buf.try_reserve(tail.len()).is_err() {
                ctx.out.error("ERR Out of memory growing the string");
                return;
            }
            buf.extend_from_slice(tail);
            buf.len()
        }
    };
    ctx.dirty += 1;
    ctx.notify(notify::STRING, "append", args.get(1));
    ctx.out.int(total as i64);
}

pub fn strlen(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    match ctx.db.get_read(args.get(1)) {
        None => ctx.out.int(0),
        Some(v) => match v.string_len() {
            Some(len) => ctx.out.int(len as i64),
            None => ctx.out.error(errors::WRONGTYPE),
        },
    }
}

pub fn setrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (key, value) = (args.get(1), args.get(3));
    let Some(offset) = args::int(ctx.out, args.get(2)) else { return };
    let Ok(offset) = u64::try_from(offset) else {
        ctx.out.error("ERR offset is out of range");
        return;
    };
    let max = max_bulk_len(ctx);
    let len = match ctx.db.get_mut(key) {
        None => {
            if value.is_empty() {
                ctx.out.int(0);
                return;
            }
            let Some(total) = checked_total(ctx.out, offset, value.len(), max) else { return };
            let mut buf = Vec::new();
            if !grow_zeroed(ctx.out, &mut buf, total) {
                return;
            }
            buf[total - value.len()..].copy_from_slice(value);
            ctx.db.insert_new(key, Value::Raw(buf));
            total
        }
        Some(v) => {
            let Some(len) = v.string_len() else {
                ctx.out.error(errors::WRONGTYPE);
                return;
            };
            if value.is_empty() {
                ctx.out.int(len as i64);
                return;
            }
            let Some(total) = checked_total(ctx.out, offset, value.len(), max) else { return };
            let Some(buf) = v.make_raw() else { return };
            if !grow_zeroed(ctx.out, buf, total) {
                return;
            }
            buf[total - value.len()..total].copy_from_slice(value);
            buf.len()
        }
    };
    ctx.dirty += 1;
    ctx.notify(notify::STRING, "setrange", args.get(1));
    ctx.out.int(len as i64);
}

pub fn getrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(start) = args::int(ctx.out, args.get(2)) else { return };
    let Some(end) = args::int(ctx.out, args.get(3)) else { return };
    let Some(v) = ctx.db.get_read(args.get(1)) else {
        ctx.out.bulk(b"");
        return;
    };
    let mut digits = itoa::Buffer::new();
    let Some(bytes) = v.as_bytes(&mut digits) else {
        ctx.out.error(errors::WRONGTYPE);
        return;
    };
    match clamp_range(start, end, bytes.len()) {
        Some((s, e)) => ctx.out.bulk(&bytes[s..=e]),
        None => ctx.out.bulk(b""),
    }
}

/// GETRANGE's index rules: negative indexes count from the end, both are clamped into the string, and an
/// empty result is None. Both negative with start > end is empty before clamping (so `-1 -3` is empty).
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let start = if start < 0 { start + len } else { start }.max(0);
    let mut end = if end < 0 { end + len } else { end }.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

pub fn substr(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    getrange(ctx, args);
}

pub fn lcs(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut digits = itoa::Buffer::new();
    // Both keys are looked up before any check; Option<Option<..>>: absent / not a string / bytes.
    let a = ctx.db.get_read(args.get(1)).map(|v| v.as_bytes(&mut digits).map(<[u8]>::to_vec));
    let b = ctx.db.get_read(args.get(2)).map(|v| v.as_bytes(&mut digits).map(<[u8]>::to_vec));
    let (Some(a), Some(b)) = (a.unwrap_or(Some(Vec::new())), b.unwrap_or(Some(Vec::new()))) else {
        ctx.out.error("ERR The specified keys must contain string values");
        return;
    };
    let (mut want_idx, mut want_len, mut with_match_len) = (false, false, false);
    let mut min_match_len: u64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        if keyword(opt, "idx") {
            want_idx = true;
        } else if keyword(opt, "len") {
            want_len = true;
        } else if keyword(opt, "withmatchlen") {
            with_match_len = true;
        } else if keyword(opt, "minmatchlen") && j + 1 < args.len() {
            let Some(n) = args::int(ctx.out, args.get(j + 1)) else { return };
            min_match_len = u64::try_from(n).unwrap_or(0);
            j += 1;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        j += 1;
    }
    if want_idx && want_len {
        ctx.out.error("ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        ctx.out.error("ERR String too long for LCS");
        return;
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells.saturating_mul(4) > max_bulk_len(ctx) {
        ctx.out.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    if want_len && !want_idx {
        ctx.out.int(i64::from(lcs::length(&a, &b)));
        return;
    }
    let Some(table) = lcs::Table::build(&a, &b) else {
        ctx.out.error("ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    };
    let (common, ranges) = table.walk(&a, &b, min_match_len);
    if !want_idx {
        ctx.out.bulk(&common);
        return;
    }
    ctx.out.map(2);
    ctx.out.bulk(b"matches");
    ctx.out.array(ranges.len());
    for r in &ranges {
        ctx.out.array(2 + usize::from(with_match_len));
        ctx.out.array(2);
        ctx.out.int(i64::from(r.a_start));
        ctx.out.int(i64::from(r.a_end));
        ctx.out.array(2);
        ctx.out.int(i64::from(r.b_start));
        ctx.out.int(i64::from(r.b_end));
        if with_match_len {
            ctx.out.int(i64::from(r.a_end - r.a_start + 1));
        }
    }
    ctx.out.bulk(b"len");
    ctx.out.int(i64::from(table.total()));
}

/// The longest-common-subsequence table and Redis's walk back through it, which decides the exact LCS string
/// and the order and shape of the IDX ranges (from the end of the strings towards their start).
mod lcs {
    /// One contiguous matching range, inclusive on both strings.
    #[derive(Debug, PartialEq, Eq)]
    pub struct Range {
        pub a_start: u32,
        pub a_end: u32,
        pub b_start: u32,
        pub b_end: u32,
    }

    /// LCS length only, in O(len(b)) memory (LEN needs no walk back).
    pub fn length(a: &[u8], b: &[u8]) -> u32 {
        let mut prev = vec![0u32; b.len() + 1];
        let mut cur = vec![0u32; b.len() + 1];
        for &ca in a {
            for (j, &cb) in b.iter().enumerate() {
                cur[j + 1] = if ca == cb { prev[j] + 1 } else { prev[j + 1].max(cur[j]) };
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        prev[b.len()]
    }

    /// `cell(i, j)` = LCS length of `a[..i]` and `b[..j]`.
    pub struct Table {
        cells: Vec<u32>,
        width: usize,
        a_len: usize,
        b_len: usize,
    }

    impl Table {
        /// None if the table cannot be allocated.
        pub fn build(a: &[u8], b: &[u8]) -> Option<Table> {
            let width = b.len() + 1;
            let n = (a.len() + 1).checked_mul(width)?;
            let mut cells = Vec::new();
            cells.try_reserve_exact(n).ok()?;
            cells.resize(n, 0u32);
            for i in 1..=a.len() {
                for j in 1..=b.len() {
                    cells[i * width + j] = if a[i - 1] == b[j - 1] {
                        cells[(i - 1) * width + j - 1] + 1
                    } else {
                        cells[(i - 1) * width + j].max(cells[i * width + j - 1])
                    };
                }
            }
            Some(Table { cells, width, a_len: a.len(), b_len: b.len() })
        }

        fn cell(&self, i: usize, j: usize) -> u32 {
            self.cells[i * self.width + j]
        }

        pub fn total(&self) -> u32 {
            self.cell(self.a_len, self.b_len)
        }

        /// The LCS itself and the matching ranges of at least `min_len` bytes, as Redis emits them.
        pub fn walk(&self, a: &[u8], b: &[u8], min_len: u64) -> (Vec<u8>, Vec<Range>) {
            let mut rev = Vec::with_capacity(self.total() as usize);
            let mut ranges = Vec::new();
            let (mut i, mut j) = (self.a_len, self.b_len);
            // `current` is the range being extended backwards: (a_start, a_end, b_start, b_end).
            let mut current: Option<(usize, usize, usize, usize)> = None;
            while i > 0 && j > 0 {
                let mut emit = false;
                if a[i - 1] == b[j - 1] {
                    rev.push(a[i - 1]);
                    match current.as_mut() {
                        None => current = Some((i - 1, i - 1, j - 1, j - 1)),
                        Some(r) if r.0 == i && r.2 == j => {
                            r.0 -= 1;
                            r.2 -= 1;
                        }
                        Some(_) => emit = true,
                    }
                    if current.is_some_and(|r| r.0 == 0 || r.2 == 0) {
                        emit = true;
                    }
                    i -= 1;
                    j -= 1;
                } else {
                    if self.cell(i - 1, j) > self.cell(i, j - 1) {
                        i -= 1;
                    } else {
                        j -= 1;
                    }
                    emit = current.is_some();
                }
                if emit {
                    if let Some((a_start, a_end, b_start, b_end)) = current.take() {
                        let len = (a_end - a_start + 1) as u64;
                        if min_len == 0 || len >= min_len {
                            ranges.push(Range {
                                a_start: a_start as u32,
                                a_end: a_end as u32,
                                b_start: b_start as u32,
                                b_end: b_end as u32,
                            });
                        }
                    }
                }
            }
            rev.reverse();
            (rev, ranges)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn redis_doc_example() {
            let (a, b) = (b"ohmytext", b"mynewtext");
            let t = Table::build(a, b).unwrap();
            assert_eq!(t.total(), 6);
            assert_eq!(length(a, b), 6);
            let (s, ranges) = t.walk(a, b, 0);
            assert_eq!(s, b"mytext");
            assert_eq!(
                ranges,
                vec![
                    Range { a_start: 4, a_end: 7, b_start: 5, b_end: 8 },
                    Range { a_start: 2, a_end: 3, b_start: 0, b_end: 1 }
                ]
            );
            assert_eq!(t.walk(a, b, 4).1.len(), 1);
        }

        #[test]
        fn empty_inputs() {
            let t = Table::build(b"", b"abc").unwrap();
            assert_eq!(t.total(), 0);
            assert_eq!(t.walk(b"", b"abc", 0), (Vec::new(), Vec::new()));
            assert_eq!(length(b"abc", b""), 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_string_keywords() {
        assert!(keyword(b"NX", "nx"));
        assert!(keyword(b"nx\0junk", "nx"));
        assert!(!keyword(b"nxx", "nx"));
    }

    #[test]
    fn getrange_clamping() {
        assert_eq!(clamp_range(0, -1, 8), Some((0, 7)));
        assert_eq!(clamp_range(-1, -3, 8), None);
        assert_eq!(clamp_range(-100, -50, 8), Some((0, 0)));
        assert_eq!(clamp_range(5, 2, 8), None);
        assert_eq!(clamp_range(0, -1, 0), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 8), Some((0, 7)));
        assert_eq!(clamp_range(i64::MAX, i64::MIN, 8), None);
    }
}
