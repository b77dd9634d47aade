//! DEBUG: the subcommands test suites and operators use — SLEEP, OBJECT, SET-ACTIVE-EXPIRE, HELP — with
//! Redis 7.0.15's replies; every other subcommand answers Redis's "unknown subcommand" error.
//!
//! What this module decides, and why:
//! - **`enable-debug-command`** (default `no`, as Redis 7): `yes` allows every client, `local` only clients
//!   connected from 127.0.0.1 or ::1 (Redis's `islocalClient`); otherwise Redis's refusal text. Redis checks
//!   this in `processCommand` (a rejected call); here the handler checks it (a failed call in INFO
//!   commandstats), the reply is the same.
//! - **DEBUG SLEEP** parses its argument with C's `strtod` (so `abc` sleeps 0 s and `0x10` 16 s, as in
//!   Redis) and blocks the connection's thread, not the whole server.
//! - **DEBUG OBJECT** looks the key up raw (an expired key not yet deleted is still shown) and prints
//!   Redis's line. `serializedlength` is the RDB size of the string: integer encodings and length prefixes
//!   are exact; strings over 20 bytes that LZF would compress are reported uncompressed.

use super::Ctx;
use crate::keyspace::{lru_idle_ms, Entry, Value};
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;

const DEBUG_HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
    "HELP",
    "    Prints this help.",
];

const NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
                           you can run it from a local connection, otherwise you need to set this option in the \
                           configuration file, and then restart the server.";

/// Redis's `OBJ_SHARED_REFCOUNT`: the reference count of shared objects.
pub const SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// Whether a client connects from the local host, as Redis's `islocalClient` decides.
pub fn is_local_client(addr: &str) -> bool {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(a) => a.ip() == std::net::Ipv4Addr::LOCALHOST || a.ip() == std::net::Ipv6Addr::LOCALHOST,
        Err(_) => addr.starts_with('/') || addr.is_empty(),
    }
}

pub fn debug(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let local = is_local_client(&ctx.client.addr);
    if !ctx.server.config.read(|c| c.allows("enable-debug-command", local)) {
        ctx.out.error(NOT_ALLOWED);
        return;
    }
    let sub = args.get(1);
    let is = |name: &str| sub.eq_ignore_ascii_case(name.as_bytes());
    match args.len() {
        2 if is("help") => {
            ctx.out.array(DEBUG_HELP.len());
            for line in DEBUG_HELP {
                ctx.out.simple(line);
            }
        }
        3 if is("sleep") => {
            sleep(args.get(2));
            ctx.out.ok();
        }
        3 if is("object") => object(ctx, args.get(2)),
        _ if is("reload") => super::persistence::debug_reload(ctx, args),
        3 if is("set-active-expire") => {
            ctx.server.keyspace.set_active_expire(c_atoi(args.get(2)) != 0);
            ctx.out.ok();
        }
        _ => syntax_error(ctx.out, args.get(0), sub),
    }
}

/// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try DEBUG HELP.` with the client's
/// bytes (as a C string: cut at NUL, at most 128 bytes), as Redis's `addReplySubcommandSyntaxError`.
fn syntax_error(out: &mut Reply, command: &[u8], sub: &[u8]) {
    let sub = &c_str(sub)[..c_str(sub).len().min(128)];
    let command = String::from_utf8_lossy(c_str(command)).to_uppercase();
    let prefix = "ERR unknown subcommand or wrong number of arguments for '";
    let suffix = format!("'. Try {command} HELP.");
    if let Ok(text) = std::str::from_utf8(sub) {
        out.error(&format!("{prefix}{text}{suffix}"));
        return;
    }
    // Counted through `Reply::error`, then rewritten with the exact bytes.
    let start = out.len();
    out.error(prefix);
    out.truncate(start);
    let mut raw = Vec::with_capacity(prefix.len() + sub.len() + suffix.len() + 3);
    raw.push(b'-');
    raw.extend_from_slice(prefix.as_bytes());
    raw.extend(sub.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    raw.extend_from_slice(suffix.as_bytes());
    raw.extend_from_slice(b"\r\n");
    out.raw(&raw);
}

/// The bytes a C function would see: up to the first NUL.
fn c_str(bytes: &[u8]) -> &[u8] {
    bytes.iter().position(|&b| b == 0).map_or(bytes, |n| &bytes[..n])
}

/// C's `atoi`: leading blanks, an optional sign, digits; anything else stops the number (0 if none).
fn c_atoi(bytes: &[u8]) -> i64 {
    let s = c_str(bytes);
    let mut i = s.iter().take_while(|b| b.is_ascii_whitespace() || **b == 0x0b).count();
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut n: i64 = 0;
    for &b in s[i..].iter().take_while(|b| b.is_ascii_digit()) {
        n = n.wrapping_mul(10).wrapping_add(i64::from(b - b'0'));
    }
    if negative {
        n.wrapping_neg()
    } else {
        n
    }
}

/// C's `strtod` over the argument's longest numeric prefix (0 when there is none).
fn c_strtod(bytes: &[u8]) -> f64 {
    let mut buf = c_str(bytes).to_vec();
    buf.push(0);
    // SAFETY: `buf` is NUL-terminated and outlives the call; a null end pointer is allowed.
    unsafe { libc::strtod(buf.as_ptr().cast(), std::ptr::null_mut()) }
}

/// DEBUG SLEEP: seconds (decimals allowed) converted to microseconds as Redis does; a negative or NaN
/// duration returns at once (`nanosleep` refuses it in Redis).
fn sleep(arg: &[u8]) {
    let seconds = c_strtod(arg);
    if seconds.is_nan() || seconds <= 0.0 {
        return;
    }
    let usec = (seconds * 1_000_000.0) as i64;
    if usec > 0 {
        std::thread::sleep(std::time::Duration::from_micros(usec as u64));
    }
}

/// Whether Redis would store small integers as shared objects now: unless maxmemory is set with an LRU or
/// LFU policy (those need a clock per key, so Redis's `tryObjectEncoding` stops sharing).
pub fn integers_shared(ctx: &Ctx<'_, '_>) -> bool {
    let m = &ctx.server.memory;
    let policy = m.policy();
    m.maxmemory() == 0 || !(policy.is_lru() || policy.is_lfu())
}

/// One of Redis's shared integer objects (0..9999, `OBJ_SHARED_INTEGERS`).
pub fn is_small_int(value: &Value) -> bool {
    matches!(value, Value::Int(n) if (0..10_000).contains(n))
}

/// Length of `n` as Redis's `rdbSaveLen` writes it.
fn rdb_len_size(n: usize) -> usize {
    if n < 1 << 6 {
        1
    } else if n < 1 << 14 {
        2
    } else if n <= u32::MAX as usize {
        5
    } else {
        9
    }
}

/// Bytes of an integer in RDB's compact encodings, or None when it needs the string form.
fn rdb_int_size(n: i64) -> Option<usize> {
    if (-(1 << 7)..(1 << 7)).contains(&n) {
        Some(2)
    } else if (-(1 << 15)..(1 << 15)).contains(&n) {
        Some(3)
    } else if (-(1i64 << 31)..(1i64 << 31)).contains(&n) {
        Some(5)
    } else {
        None
    }
}

/// RDB size of a string value (Redis's `rdbSavedObjectLen` for strings, without LZF compression).
fn serialized_length(value: &Value) -> usize {
    let mut digits = itoa::Buffer::new();
    match value {
        Value::Int(n) => rdb_int_size(*n).unwrap_or_else(|| {
            let len = digits.format(*n).len();
            rdb_len_size(len) + len
        }),
        other => match other.as_bytes(&mut digits) {
            Some(bytes) => {
                if bytes.len() <= 11 {
                    if let Some(size) = crate::num::parse_i64(bytes)
                        .filter(|n| itoa::Buffer::new().format(*n).as_bytes() == bytes)
                        .and_then(rdb_int_size)
                    {
                        return size;
                    }
                }
                rdb_len_size(bytes.len()) + bytes.len()
            }
            None => other.heap_size(),
        },
    }
}

fn object(ctx: &mut Ctx<'_, '_>, key: &[u8]) {
    let now_ms = ctx.now_ms();
    let sharing = integers_shared(ctx);
    let line = ctx.db.peek_raw(key, |e: Option<&Entry>| {
        let e = e?;
        let refcount = if sharing && is_small_int(&e.value) { SHARED_REFCOUNT } else { 1 };
        Some(format!(
            "Value at:{:p} refcount:{refcount} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
            &e.value as *const Value,
            e.value.encoding(),
            serialized_length(&e.value),
            e.access_clock,
            lru_idle_ms(e.access_clock, now_ms) / 1000
        ))
    });
    match line {
        Some(line) => ctx.out.simple(&line),
        None => ctx.out.error("ERR no such key"),
    }
}
