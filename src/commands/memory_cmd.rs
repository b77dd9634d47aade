//! MEMORY DOCTOR / MALLOC-STATS / PURGE / STATS / USAGE / HELP, with Redis 7.0.15's argument handling, field
//! names and texts, and Shoal's real figures (see `crate::memory`).
//!
//! What this module decides, and why:
//! - **MEMORY USAGE** looks the key up raw, as Redis's `dictFind` does (no expiry, no hit/miss, no touch),
//!   and estimates what the key really costs in Shoal: entry box, bucket pointer, key and value heap blocks
//!   at mimalloc's block sizes (so the figure moves with the value's size the way RSS does). `SAMPLES` is
//!   validated as Redis does; strings have no nested elements to sample.
//! - **MEMORY STATS** prints Redis's fields in Redis's order. Figures Shoal has are real (allocator total,
//!   peak, start-up, client buffers, per-database table overheads, mimalloc's committed and resident bytes,
//!   RSS); those about features Shoal lacks (replication backlog, AOF buffer, Lua, functions) are 0.
//! - **MEMORY MALLOC-STATS** prints mimalloc's own report; **MEMORY PURGE** asks mimalloc to return free
//!   pages to the OS (`mi_collect`).

use super::{args, errors, Ctx};
use crate::memory::{self, Overview};
use crate::protocol::decode::Args;

const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

fn overview(ctx: &mut Ctx<'_, '_>) -> Overview {
    let dbs = ctx.db.overheads();
    Overview::gather(ctx.server, dbs)
}

pub fn memory_doctor(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let o = overview(ctx);
    ctx.out.verbatim(memory::doctor_report(&o).as_bytes());
}

pub fn memory_purge(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    memory::purge();
    ctx.out.ok();
}

pub fn memory_malloc_stats(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let report = memory::malloc_stats();
    if report.is_empty() {
        ctx.out.bulk(b"Stats not supported for the current allocator");
    } else {
        ctx.out.verbatim(report.as_bytes());
    }
}

pub fn memory_stats(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let o = overview(ctx);
    let out = &mut *ctx.out;
    out.map(27 + o.dbs.len());
    let mut int = |name: &str, v: usize| {
        out.bulk(name.as_bytes());
        out.int(i64::try_from(v).unwrap_or(i64::MAX));
    };
    int("peak.allocated", o.peak);
    int("total.allocated", o.used);
    int("startup.allocated", o.startup);
    int("replication.backlog", 0);
    int("clients.slaves", 0);
    int("clients.normal", o.clients_normal);
    for name in ["cluster.links", "aof.buffer", "lua.caches"] {
        int(name, 0);
    }
    int("functions.caches", 0);
    for db in &o.dbs {
        out.bulk(format!("db.{}", db.db).as_bytes());
        out.map(3);
        out.bulk(b"overhead.hashtable.main");
        out.int(memory::main_table_overhead(db) as i64);
        out.bulk(b"overhead.hashtable.expires");
        out.int(memory::expires_overhead(db) as i64);
        out.bulk(b"overhead.hashtable.slot-to-keys");
        out.int(0);
    }
    let mut int = |name: &str, v: i64| {
        out.bulk(name.as_bytes());
        out.int(v);
    };
    int("overhead.total", o.overhead_total as i64);
    int("keys.count", o.keys as i64);
    int("keys.bytes-per-key", o.bytes_per_key() as i64);
    int("dataset.bytes", o.dataset as i64);
    let pairs: [(&str, f32); 2] = [("dataset.percentage", o.dataset_perc()), ("peak.percentage", o.peak_perc())];
    for (name, v) in pairs {
        out.bulk(name.as_bytes());
        out.double(f64::from(v));
    }
    for (name, v) in [
        ("allocator.allocated", o.used),
        ("allocator.active", o.allocator_active),
        ("allocator.resident", o.allocator_resident),
    ] {
        out.bulk(name.as_bytes());
        out.int(v as i64);
    }
    for (name, (ratio, bytes)) in [
        ("allocator-fragmentation", o.allocator_frag()),
        ("allocator-rss", o.allocator_rss()),
        ("rss-overhead", o.rss_overhead()),
    ] {
        out.bulk(format!("{name}.ratio").as_bytes());
        out.double(f64::from(ratio));
        out.bulk(format!("{name}.bytes").as_bytes());
        out.int(bytes);
    }
    let (frag, frag_bytes) = o.fragmentation();
    out.bulk(b"fragmentation");
    out.double(f64::from(frag));
    out.bulk(b"fragmentation.bytes");
    out.int(frag_bytes);
}

pub fn memory_usage(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut j = 3;
    while j < args.len() {
        if args::is(args.get(j), "samples") && j + 1 < args.len() {
            let Some(samples) = args::int(ctx.out, args.get(j + 1)) else { return };
            if samples < 0 {
                ctx.out.error(errors::SYNTAX);
                return;
            }
            j += 2;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    }
    match ctx.db.peek_raw(args.get(2), |e| e.map(memory::entry_usage)) {
        Some(bytes) => ctx.out.int(bytes as i64),
        None => ctx.out.null(),
    }
}

pub fn memory_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.array(MEMORY_HELP.len());
    for line in MEMORY_HELP {
        ctx.out.simple(line);
    }
}
