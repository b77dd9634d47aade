//! Generic keyspace commands: DEL UNLINK EXISTS TOUCH TYPE, the EXPIRE / TTL families, PERSIST, RENAME(NX),
//! COPY, MOVE, KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL and OBJECT ENCODING / HELP.
//!
//! What this module decides, and why:
//! - **Redis 7.0.15's order of checks.** Each handler validates its arguments in the order Redis does (e.g.
//!   EXPIRE reads its NX/XX/GT/LT options before the number, COPY parses every option before the cluster and
//!   same-key checks), so a command with several faults answers the same error as Redis.
//! - **Hit/miss accounting follows Redis's lookups.** Commands that Redis runs through `lookupKeyRead`
//!   (EXISTS, TOUCH, TYPE, TTL and friends, OBJECT, COPY's source) use [`DbView::get_read`]; commands that use
//!   `lookupKeyWrite` (DEL, EXPIRE, RENAME, MOVE, PERSIST...) use the uncounted lookups.
//! - **Expiry arithmetic is Redis's.** Deadlines are computed in `i64` with the same overflow checks (so the
//!   same inputs give `invalid expire time`), and a deadline at or before now deletes the key and answers 1,
//!   as `checkAlreadyExpired` does. TTL/EXPIRETIME round seconds as `(ms + 500) / 1000`, in `i128` so an
//!   `i64::MAX` deadline cannot overflow.
//! - **MOVE and COPY across databases** switch the view's database and always switch back before returning;
//!   the dispatcher locked the key's shards, which hold every database of those keys.
//! - **Moved and renamed keys keep their entry** (value, TTL, access clock) through `remove` + `put_entry`;
//!   COPY clones the value (encoding included) and copies the TTL.
//! - **SCAN's cursor is read like C's `strtoul`** (optional sign, negative wraps, the empty string is 0, text
//!   after a NUL byte is ignored), because Redis accepts exactly those cursors and rejects the rest.
//! - **Error texts built from client bytes** (`Unsupported option ...`) are emitted byte for byte, cut at the
//!   first NUL as Redis's C strings are, with CR/LF turned into spaces.
//! - **Database range in cluster mode** uses the configured `databases` (Redis keeps `dbnum` there), so that
//!   `COPY ... DB 5` answers the cluster error and `DB 16` the range error, as in Redis.

use super::{args, errors, Ctx};
use crate::keyspace::ScanFilter;
use crate::notify::class as notify;
use crate::propagate::Propagate;
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;

const SAME_OBJECT: &str = "ERR source and destination objects are the same";
const INT_RANGE: &str = "ERR value is out of range, value must between -2147483648 and 2147483647";
const INVALID_CURSOR: &str = "ERR invalid cursor";
const MOVE_IN_CLUSTER: &str = "ERR MOVE is not allowed in cluster mode";
const COPY_IN_CLUSTER: &str = "ERR Copying to another database is not allowed in cluster mode";

/// Upper bound on SCAN's COUNT handed to the keyspace, so that its work budget (`count * 10`) cannot overflow.
/// Any COUNT this large already means "the whole database in one call".
const MAX_SCAN_COUNT: usize = 1 << 48;

/// `OBJECT HELP`, exactly as Redis 7.0.15 prints it.
const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

/// Writes the error `prefix` followed by client-supplied bytes (cut at NUL, CR/LF made spaces), byte for byte
/// even when they are not UTF-8.
fn error_with_bytes(out: &mut Reply, prefix: &str, tail: &[u8]) {
    let tail = args::c_str(tail);
    if let Ok(text) = std::str::from_utf8(tail) {
        out.error(&format!("{prefix}{text}"));
        return;
    }
    // Count the error through `Reply::error` (statistics), then replace its text with the exact bytes.
    let start = out.len();
    out.error(prefix);
    out.truncate(start);
    let mut raw = Vec::with_capacity(prefix.len() + tail.len() + 3);
    raw.push(b'-');
    raw.extend_from_slice(prefix.as_bytes());
    raw.extend(tail.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    raw.extend_from_slice(b"\r\n");
    out.raw(&raw);
}

/// Redis's `getIntFromObjectOrReply`: an i64, then a check that it fits a C `int`.
fn int32_arg(out: &mut Reply, arg: &[u8]) -> Option<i64> {
    let v = args::int(out, arg)?;
    if i32::try_from(v).is_err() {
        out.error(INT_RANGE);
        return None;
    }
    Some(v)
}

/// Number of databases Redis would accept in `SELECT`-like checks (`server.dbnum`). In cluster mode Shoal
/// allocates only db 0, but Redis still range-checks against the configured count.
fn db_count(ctx: &Ctx<'_, '_>) -> usize {
    let keyspace = &ctx.server.keyspace;
    if keyspace.cluster_mode() {
        ctx.server.config.snapshot().databases
    } else {
        keyspace.databases()
    }
}

/// A database index argument already parsed by [`int32_arg`], checked against the database count.
fn db_in_range(ctx: &Ctx<'_, '_>, id: i64) -> Option<usize> {
    usize::try_from(id).ok().filter(|&db| db < db_count(ctx))
}

/// Bulk strings collected before their count is known (KEYS, SCAN), written as one array.
#[derive(Default)]
struct KeyList {
    body: Vec<u8>,
    n: usize,
}

impl KeyList {
    fn push(&mut self, key: &[u8]) {
        self.body.push(b'$');
        self.body.extend_from_slice(itoa::Buffer::new().format(key.len()).as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self.body.extend_from_slice(key);
        self.body.extend_from_slice(b"\r\n");
        self.n += 1;
    }

    fn write(self, out: &mut Reply) {
        out.array(self.n);
        out.raw(&self.body);
    }
}

// ---------------------------------------------------------------------------------------------------------
// DEL UNLINK EXISTS TOUCH TYPE
// ---------------------------------------------------------------------------------------------------------

fn delete_keys(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut deleted = 0u64;
    for key in args.iter().skip(1) {
        if ctx.db.remove(key).is_some() {
            deleted += 1;
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    ctx.dirty += deleted;
    ctx.out.int(deleted as i64);
}

pub fn del(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    delete_keys(ctx, args);
}

/// UNLINK frees values in the background in Redis; here freeing is cheap enough to do inline, and the reply is
/// the same.
pub fn unlink(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    delete_keys(ctx, args);
}

/// Counts the live keys among the arguments, duplicates included (EXISTS, TOUCH).
fn count_live(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut n = 0i64;
    for key in args.iter().skip(1) {
        if ctx.db.get_read(key).is_some() {
            n += 1;
        }
    }
    ctx.out.int(n);
}

pub fn exists(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    count_live(ctx, args);
}

pub fn touch(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    count_live(ctx, args);
}

pub fn r#type(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let name = ctx.db.get_read(args.get(1)).map_or("none", |v| v.type_name());
    ctx.out.simple(name);
}

// ---------------------------------------------------------------------------------------------------------
// EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST
// ---------------------------------------------------------------------------------------------------------

#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Redis's `parseExtendedExpireArgumentsOrReply`: options from argument 3 on, then the compatibility checks.
fn parse_expire_flags(out: &mut Reply, args: &Args<'_>) -> Option<ExpireFlags> {
    let mut f = ExpireFlags::default();
    for opt in args.iter().skip(3) {
        if args::is(opt, "nx") {
            f.nx = true;
        } else if args::is(opt, "xx") {
            f.xx = true;
        } else if args::is(opt, "gt") {
            f.gt = true;
        } else if args::is(opt, "lt") {
            f.lt = true;
        } else {
            error_with_bytes(out, "ERR Unsupported option ", opt);
            return None;
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        out.error("ERR NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if f.gt && f.lt {
        out.error("ERR GT and LT options at the same time are not compatible");
        return None;
    }
    Some(f)
}

/// Redis's `expireGenericCommand`. `seconds`: the argument is in seconds; `relative`: it counts from now.
fn expire_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, seconds: bool, relative: bool) {
    let Some(flags) = parse_expire_flags(ctx.out, &args) else { return };
    let Some(mut when) = args::int(ctx.out, args.get(2)) else { return };
    let now = i64::try_from(ctx.now_ms()).unwrap_or(i64::MAX);
    if seconds {
        // Redis rejects a number of seconds whose milliseconds would overflow an i64.
        let Some(ms) = when.checked_mul(1000) else {
            ctx.out.error(&errors::invalid_expire(ctx.spec.name));
            return;
        };
        when = ms;
    }
    let base = if relative { now } else { 0 };
    let Some(when) = when.checked_add(base) else {
        ctx.out.error(&errors::invalid_expire(ctx.spec.name));
        return;
    };

    let key = args.get(1);
    let Some(current) = ctx.db.expire_of(key) else {
        ctx.out.int(0);
        return;
    };
    // Redis's getExpire: -1 when the key has no TTL.
    let current = if current == 0 { -1 } else { i64::try_from(current).unwrap_or(i64::MAX) };
    let refused = (flags.nx && current != -1)
        || (flags.xx && current == -1)
        || (flags.gt && (current == -1 || when <= current))
        || (flags.lt && current != -1 && when >= current);
    if refused {
        ctx.out.int(0);
        return;
    }

    if when <= now {
        ctx.db.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
        ctx.propagate_instead(&[b"DEL", key]);
    } else {
        // `when > now >= 0` here, so the conversion cannot fail.
        ctx.db.set_expire(key, u64::try_from(when).unwrap_or(u64::MAX));
        ctx.notify(notify::GENERIC, "expire", key);
        // Propagated as an absolute PEXPIREAT, options kept (Redis's expireGenericCommand).
        if seconds || relative {
            let at = itoa::Buffer::new().format(when).to_owned();
            let mut line: Vec<&[u8]> = vec![b"PEXPIREAT", key, at.as_bytes()];
            line.extend((3..args.len()).map(|i| args.get(i)));
            ctx.propagate_instead(&line);
        }
    }
    ctx.dirty += 1;
    ctx.out.int(1);
}

pub fn expire(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    expire_generic(ctx, args, true, true);
}

pub fn pexpire(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    expire_generic(ctx, args, false, true);
}

pub fn expireat(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    expire_generic(ctx, args, true, false);
}

pub fn pexpireat(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    expire_generic(ctx, args, false, false);
}

pub fn persist(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    match ctx.db.expire_of(key) {
        Some(at) if at != 0 => {
            ctx.db.set_expire(key, 0);
            ctx.dirty += 1;
            ctx.notify(notify::GENERIC, "persist", key);
            ctx.out.int(1);
        }
        _ => ctx.out.int(0),
    }
}

// ---------------------------------------------------------------------------------------------------------
// TTL PTTL EXPIRETIME PEXPIRETIME
// ---------------------------------------------------------------------------------------------------------

/// Redis's `ttlGenericCommand`: -2 absent, -1 no TTL, else the remaining time (or the deadline if `absolute`).
fn ttl_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, millis: bool, absolute: bool) {
    let key = args.get(1);
    if ctx.db.get_read(key).is_none() {
        ctx.out.int(-2);
        return;
    }
    let at = ctx.db.expire_of(key).unwrap_or(0);
    if at == 0 {
        ctx.out.int(-1);
        return;
    }
    let at = i128::from(at);
    let ms = if absolute { at } else { (at - i128::from(ctx.now_ms())).max(0) };
    let v = if millis { ms } else { (ms + 500) / 1000 };
    ctx.out.int(i64::try_from(v).unwrap_or(i64::MAX));
}

pub fn ttl(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    ttl_generic(ctx, args, false, false);
}

pub fn pttl(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    ttl_generic(ctx, args, true, false);
}

pub fn expiretime(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    ttl_generic(ctx, args, false, true);
}

pub fn pexpiretime(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    ttl_generic(ctx, args, true, true);
}

// ---------------------------------------------------------------------------------------------------------
// RENAME RENAMENX COPY MOVE
// ---------------------------------------------------------------------------------------------------------

/// Redis's `renameGenericCommand`: the entry (value and TTL) moves to the new name, replacing it unless `nx`.
fn rename_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, nx: bool) {
    let (src, dst) = (args.get(1), args.get(2));
    if !ctx.db.exists(src) {
        ctx.out.error(errors::NO_SUCH_KEY);
        return;
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return;
    }
    if nx && ctx.db.exists(dst) {
        ctx.out.int(0);
        return;
    }
    let Some(entry) = ctx.db.remove(src) else {
        ctx.out.error(errors::NO_SUCH_KEY);
        return;
    };
    ctx.db.put_entry(entry, dst);
    ctx.dirty += 1;
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
}

pub fn rename(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    rename_generic(ctx, args, false);
}

pub fn renamenx(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    rename_generic(ctx, args, true);
}

/// COPY source destination [DB destination-db] [REPLACE]
pub fn copy(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let src_db = ctx.db.db_index();
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        let opt = args.get(i);
        if args::is(opt, "replace") {
            replace = true;
        } else if args::is(opt, "db") && i + 1 < args.len() {
            let Some(id) = int32_arg(ctx.out, args.get(i + 1)) else { return };
            let Some(db) = db_in_range(ctx, id) else {
                ctx.out.error(errors::DB_INDEX_OUT_OF_RANGE);
                return;
            };
            dst_db = db;
            i += 1;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        i += 1;
    }
    if ctx.server.keyspace.cluster_mode() && (src_db != 0 || dst_db != 0) {
        ctx.out.error(COPY_IN_CLUSTER);
        return;
    }
    let (key, newkey) = (args.get(1), args.get(2));
    if src_db == dst_db && key == newkey {
        ctx.out.error(SAME_OBJECT);
        return;
    }
    // Guards the `select` below: only databases the keyspace holds are ever selected.
    if dst_db >= ctx.server.keyspace.databases() {
        ctx.out.error(errors::DB_INDEX_OUT_OF_RANGE);
        return;
    }
    if ctx.db.get_read(key).is_none() {
        ctx.out.int(0);
        return;
    }
    let expire_at = ctx.db.expire_of(key).unwrap_or(0);
    ctx.db.select(dst_db);
    let blocked = !replace && ctx.db.exists(newkey);
    ctx.db.select(src_db);
    let value = if blocked { None } else { ctx.db.get_mut(key).map(|v| v.clone()) };
    let copied = value.is_some();
    if let Some(value) = value {
        ctx.db.select(dst_db);
        ctx.db.remove(newkey);
        ctx.db.insert_new(newkey, value);
        if expire_at != 0 {
            ctx.db.set_expire(newkey, expire_at);
        }
        ctx.notify(notify::GENERIC, "copy_to", newkey);
        ctx.db.select(src_db);
    }

    if copied {
        ctx.dirty += 1;
    }
    ctx.out.int(i64::from(copied));
}

/// MOVE key db
pub fn r#move(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if ctx.server.keyspace.cluster_mode() {
        ctx.out.error(MOVE_IN_CLUSTER);
        return;
    }
    let Some(id) = int32_arg(ctx.out, args.get(2)) else { return };
    let Some(dst_db) = db_in_range(ctx, id).filter(|&db| db < ctx.server.keyspace.databases()) else {
        ctx.out.error(errors::DB_INDEX_OUT_OF_RANGE);
        return;
    };
    let src_db = ctx.db.db_index();
    if src_db == dst_db {
        ctx.out.error(SAME_OBJECT);
        return;
    }
    let key = args.get(1);
    if !ctx.db.exists(key) {
        ctx.out.int(0);
        return;
    }
    ctx.db.select(dst_db);
    let taken = ctx.db.exists(key);
    ctx.db.select(src_db);
    if taken {
        ctx.out.int(0);
        return;
    }
    let Some(entry) = ctx.db.remove(key) else {
        ctx.out.int(0);
        return;
    };
    ctx.notify(notify::GENERIC, "move_from", key);
    ctx.db.select(dst_db);
    ctx.db.put_entry(entry, key);
    ctx.notify(notify::GENERIC, "move_to", key);
    ctx.db.select(src_db);
    ctx.dirty += 1;
    ctx.out.int(1);
}

// ---------------------------------------------------------------------------------------------------------
// KEYS SCAN RANDOMKEY DBSIZE
// ---------------------------------------------------------------------------------------------------------

pub fn keys(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut list = KeyList::default();
    ctx.db.keys_matching(args.get(1), |k| list.push(k));
    list.write(ctx.out);
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
pub fn scan(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(cursor) = args::scan_cursor(args.get(1)) else {
        ctx.out.error(INVALID_CURSOR);
        return;
    };
    let mut count: i64 = 10;
    let mut pattern = None;
    let mut type_name = None;
    let mut i = 2;
    while i < args.len() {
        let opt = args.get(i);
        let has_value = i + 1 < args.len();
        if args::is(opt, "count") && has_value {
            let Some(n) = args::int(ctx.out, args.get(i + 1)) else { return };
            if n < 1 {
                ctx.out.error(errors::SYNTAX);
                return;
            }
            count = n;
        } else if args::is(opt, "match") && has_value {
            let p = args.get(i + 1);
            pattern = if p == b"*" { None } else { Some(p) };
        } else if args::is(opt, "type") && has_value {
            type_name = Some(args::c_str(args.get(i + 1)));
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        i += 2;
    }
    let count = usize::try_from(count).unwrap_or(MAX_SCAN_COUNT).min(MAX_SCAN_COUNT);
    let filter = ScanFilter { pattern, type_name };
    let mut list = KeyList::default();
    // Redis's dictScan answers 0 at once on an empty dict, whatever the cursor and COUNT.
    let next = if ctx.db.is_empty() { 0 } else { ctx.db.scan(cursor, count, &filter, |k| list.push(k)) };
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    list.write(ctx.out);
}

pub fn randomkey(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    match ctx.db.random_key() {
        Some(key) => ctx.out.bulk(&key),
        None => ctx.out.null(),
    }
}

pub fn dbsize(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let n = ctx.db.len();
    ctx.out.int(i64::try_from(n).unwrap_or(i64::MAX));
}

// ---------------------------------------------------------------------------------------------------------
// FLUSHDB FLUSHALL
// ---------------------------------------------------------------------------------------------------------

/// Redis's `getFlushCommandFlags`: nothing, or exactly one of SYNC / ASYNC. Both free inline here.
fn flush_args_ok(out: &mut Reply, args: &Args<'_>) -> bool {
    let ok = match args.len() {
        1 => true,
        2 => args::is(args.get(1), "sync") || args::is(args.get(1), "async"),
        _ => false,
    };
    if !ok {
        out.error(errors::SYNTAX);
    }
    ok
}

pub fn flushdb(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if !flush_args_ok(ctx.out, &args) {
        return;
    }
    let db = ctx.db.db_index();
    let removed = ctx.db.flush_db(db);
    ctx.dirty += removed as u64;
    ctx.out.ok();
}

/// FLUSHALL counts the removed keys plus one, as Redis's `flushAllDataAndResetRDB` does, so that the command
/// is always seen as a change even on an empty server.
pub fn flushall(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if !flush_args_ok(ctx.out, &args) {
        return;
    }
    let mut removed = 0u64;
    for db in 0..ctx.server.keyspace.databases() {
        removed += ctx.db.flush_db(db) as u64;
    }
    ctx.dirty += removed + 1;
    // As Redis: a running snapshot is killed, and with save points the empty dataset is saved at once.
    crate::rdb::snapshot::after_flushall(ctx.server, ctx.db);
    ctx.out.ok();
}

// ---------------------------------------------------------------------------------------------------------
// OBJECT
// ---------------------------------------------------------------------------------------------------------

pub fn object_encoding(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    match ctx.db.get_read(args.get(2)).map(|v| v.encoding()) {
        Some(encoding) => ctx.out.bulk(encoding.as_bytes()),
        None => ctx.out.null(),
    }
}

pub fn object_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.array(OBJECT_HELP.len());
    for line in OBJECT_HELP {
        ctx.out.simple(line);
    }
}

/// OBJECT FREQ / IDLETIME / REFCOUNT look keys up as Redis's `objectCommandLookup` does: lazy expiry and
/// hit/miss counting, but the access clock is left alone.
pub fn object_freq(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (now_ms, policy) = (ctx.now_ms(), ctx.db.access_policy());
    let Some(clock) = ctx.db.entry_read_untouched(args.get(2)).map(|e| e.access_clock) else {
        ctx.out.null();
        return;
    };
    if !policy.lfu {
        ctx.out.error(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when \
             switching between policies at runtime LRU and LFU data will take some time to adjust.",
        );
        return;
    }
    ctx.out.int(i64::from(crate::keyspace::lfu_decayed_counter(clock, now_ms, policy.decay_time)));
}

pub fn object_idletime(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (now_ms, policy) = (ctx.now_ms(), ctx.db.access_policy());
    let Some(clock) = ctx.db.entry_read_untouched(args.get(2)).map(|e| e.access_clock) else {
        ctx.out.null();
        return;
    };
    if policy.lfu {
        ctx.out.error(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching \
             between policies at runtime LRU and LFU data will take some time to adjust.",
        );
        return;
    }
    ctx.out.int((crate::keyspace::lru_idle_ms(clock, now_ms) / 1000) as i64);
}

pub fn object_refcount(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let shared = super::debug::integers_shared(ctx);
    match ctx.db.entry_read_untouched(args.get(2)) {
        Some(e) if shared && super::debug::is_small_int(&e.value) => ctx.out.int(super::debug::SHARED_REFCOUNT),
        Some(_) => ctx.out.int(1),
        None => ctx.out.null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parsing_follows_strtoul() {
        assert_eq!(args::scan_cursor(b""), Some(0));
        assert_eq!(args::scan_cursor(b"0"), Some(0));
        assert_eq!(args::scan_cursor(b"+7"), Some(7));
        assert_eq!(args::scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(args::scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(args::scan_cursor(b"-18446744073709551615"), Some(1));
        assert_eq!(args::scan_cursor(b"5\0abc"), Some(5));
        assert_eq!(args::scan_cursor(b"\0"), Some(0));
        for bad in [&b"18446744073709551616"[..], b"-18446744073709551616", b" 0", b"0 ", b"\t1", b"-", b"+", b"0x1"] {
            assert_eq!(args::scan_cursor(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn option_errors_keep_client_bytes() {
        let mut out = Reply::default();
        error_with_bytes(&mut out, "ERR Unsupported option ", b"f\xffo\r\no\0tail");
        assert_eq!(out.buf, b"-ERR Unsupported option f\xffo  o\r\n");
        assert_eq!(out.errors_written, 1);
        let mut out = Reply::default();
        error_with_bytes(&mut out, "ERR Unsupported option ", b"foo");
        assert_eq!(out.buf, b"-ERR Unsupported option foo\r\n");
    }
}
