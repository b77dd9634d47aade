//! Persistence commands: SAVE, BGSAVE, LASTSAVE, DUMP, RESTORE. The format and the snapshot machinery are
//! in [`crate::rdb`]; these handlers only parse arguments and answer with Redis 7.0's exact texts.

use super::{args, errors, Ctx};
use crate::keyspace::Value;
use crate::propagate::Propagate;
use crate::protocol::decode::Args;
use crate::rdb::{self, snapshot, PayloadError};

pub fn save(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    if snapshot::of(ctx.server).bgsave_running(ctx.server) {
        ctx.out.error("ERR Background save already in progress");
        return;
    }
    let server = ctx.server;
    match snapshot::with_all_shards(server, ctx.db, |view| snapshot::save_sync(server, view)) {
        Ok(()) => ctx.out.ok(),
        Err(_) => ctx.out.error("ERR"),
    }
}

pub fn bgsave(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut schedule = false;
    if args.len() > 1 {
        if args.len() == 2 && args::is(args.get(1), "schedule") {
            schedule = true;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    }
    let p = snapshot::of(ctx.server);
    if p.bgsave_running(ctx.server) {
        ctx.out.error("ERR Background save already in progress");
        return;
    }
    // Inside EXEC Redis never forks, and while an AOF rewrite child runs it forks only with SCHEDULE: the
    // save is then left to the cron.
    let in_exec = ctx.client.multi.is_some() || ctx.db.holds_all_shards();
    if in_exec || snapshot::aof_child_active(ctx.server) {
        if schedule || in_exec {
            p.schedule_bgsave();
            ctx.out.simple("Background saving scheduled");
        } else {
            ctx.out.error(
                "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order \
                 to schedule a BGSAVE whenever possible.",
            );
        }
        return;
    }
    match snapshot::bgsave(ctx.server, ctx.db) {
        Ok(_) => ctx.out.simple("Background saving started"),
        Err(_) => ctx.out.error("ERR"),
    }
}

pub fn lastsave(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let secs = snapshot::of(ctx.server).lastsave_secs();
    ctx.out.int(secs as i64);
}

fn rdbcompression(ctx: &Ctx<'_, '_>) -> bool {
    ctx.server.config.get(&[b"rdbcompression"]).first().is_none_or(|(_, v)| v == "yes")
}

pub fn dump(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let compression = rdbcompression(ctx);
    let limits = ctx.server.tunables.encoding_limits();
    let payload = match ctx.db.get_read(args.get(1)) {
        None => {
            ctx.out.null();
            return;
        }
        Some(v) => rdb::dump_payload(v, compression, &limits),
    };
    match payload {
        Ok(p) => ctx.out.bulk(&p),
        Err(e) => ctx.out.error(&format!("ERR {e}")),
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency], checked in
/// Redis's order: options, existing key, TTL, payload version and checksum, payload contents.
pub fn restore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < args.len() {
        let a = args.get(j);
        let more = args.len() - j - 1;
        if args::is(a, "replace") {
            replace = true;
        } else if args::is(a, "absttl") {
            absttl = true;
        } else if args::is(a, "idletime") && more >= 1 && freq.is_none() {
            let Some(v) = args::int(ctx.out, args.get(j + 1)) else { return };
            if v < 0 {
                ctx.out.error("ERR Invalid IDLETIME value, must be >= 0");
                return;
            }
            idle = Some(v);
            j += 1;
        } else if args::is(a, "freq") && more >= 1 && idle.is_none() {
            let Some(v) = args::int(ctx.out, args.get(j + 1)) else { return };
            if !(0..=255).contains(&v) {
                ctx.out.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            freq = Some(v);
            j += 1;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        j += 1;
    }
    let key = args.get(1);
    if !replace && ctx.db.exists(key) {
        ctx.out.error("BUSYKEY Target key name already exists.");
        return;
    }
    let Some(ttl) = args::int(ctx.out, args.get(2)) else { return };
    if ttl < 0 {
        ctx.out.error("ERR Invalid TTL value, must be >= 0");
        return;
    }
    let value = match rdb::parse_payload(args.get(3)) {
        Ok(d) => d,
        Err(PayloadError::VersionOrChecksum) => {
            ctx.out.error("ERR DUMP payload version or checksum are wrong");
            return;
        }
        Err(PayloadError::BadData(_)) => {
            ctx.out.error("ERR Bad data format");
            return;
        }
    };
    let value: Value = match rdb::types::into_value(value, &ctx.server.tunables.encoding_limits()) {
        Ok(v) => v,
        Err(e) => {
            ctx.out.error(&format!("ERR {e}"));
            return;
        }
    };
    let now = ctx.now_ms() as i64;
    let deleted = replace && ctx.db.remove(key).is_some();
    let at = if ttl != 0 && !absttl { ttl.wrapping_add(now) } else { ttl };
    if ttl != 0 && at <= now {
        // Already expired: the key is only deleted (as Redis, which then propagates a DEL).
        if deleted {
            ctx.notify(crate::notify::class::GENERIC, "del", key);
            ctx.dirty += 1;
            ctx.propagate_instead(&[b"DEL", key]);
        }
        ctx.out.ok();
        return;
    }
    let policy = ctx.db.access_policy();
    let entry = ctx.db.insert_new(key, value);
    if policy.lfu {
        if let Some(f) = freq {
            entry.access_clock = (crate::keyspace::lfu_minutes(now as u64) << 8) | f as u32;
        }
    } else if let Some(i) = idle {
        entry.access_clock = snapshot::lru_clock_for_idle(now as u64, i as u64);
    }
    if at != 0 {
        ctx.db.set_expire(key, at as u64);
        if !absttl {
            // Propagated with the absolute deadline, as Redis rewrites the command (TTL argument, ABSTTL).
            let at_text = itoa::Buffer::new().format(at).to_string();
            let mut argv: Vec<&[u8]> = (0..args.len()).map(|i| args.get(i)).collect();
            argv[2] = at_text.as_bytes();
            argv.push(b"ABSTTL");
            ctx.propagate_instead(&argv);
        }
    }
    ctx.notify(crate::notify::class::GENERIC, "restore", key);
    ctx.dirty += 1;
    ctx.out.ok();
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty every database, load the file back (Redis's
/// `debugCommand` "reload" branch, with its error texts).
pub fn debug_reload(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for j in 2..args.len() {
        let opt = args.get(j);
        if args::is(opt, "merge") {
            merge = true;
        } else if args::is(opt, "noflush") {
            flush = false;
        } else if args::is(opt, "nosave") {
            save = false;
        } else {
            ctx.out.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
            return;
        }
    }
    let server = ctx.server;
    let result = snapshot::with_all_shards(server, ctx.db, |view| {
        if save && snapshot::save_sync(server, view).is_err() {
            return Err("ERR");
        }
        if flush {
            for db in 0..server.keyspace.databases() {
                view.flush_db(db);
            }
        }
        match snapshot::load_path(server, view, &snapshot::rdb_path(server), merge) {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!("{e}");
                Err("ERR Error trying to load the RDB dump, check server logs.")
            }
        }
    });
    match result {
        Ok(()) => {
            tracing::warn!("DB reloaded by DEBUG RELOAD");
            ctx.out.ok();
        }
        Err(e) => ctx.out.error(e),
    }
}
