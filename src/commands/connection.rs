//! Connection commands: PING ECHO QUIT HELLO AUTH SELECT SWAPDB RESET TIME.

use super::args::is;
use super::{errors, Ctx};
use crate::protocol::decode::Args;
use crate::protocol::reply::Protocol;

/// The Redis version whose behaviour Shoal implements (HELLO, INFO `redis_version`).
pub const REDIS_VERSION: &str = "7.0.15";

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

pub fn ping(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if ctx.client.sub + ctx.client.psub + ctx.client.ssub != 0 && !ctx.out.is_resp3() && args.len() <= 2 {
        // RESP2 subscribed mode: a `pong` message, with the argument or an empty string.
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(if args.len() == 2 { args.get(1) } else { b"" });
        return;
    }
    match args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(args.get(1)),
        _ => ctx.wrong_arity(),
    }
}

pub fn echo(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    ctx.out.bulk(args.get(1));
}

pub fn quit(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}

pub fn time(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let us = crate::state::unix_time_us();
    ctx.out.array(2);
    ctx.out.bulk_i64((us / 1_000_000) as i64);
    ctx.out.bulk_i64((us % 1_000_000) as i64);
}

/// Checks a username/password pair against `requirepass` (the only user Shoal has is `default`).
/// Returns the error to send, if any.
fn check_password(ctx: &Ctx<'_, '_>, user: Option<&[u8]>, pass: &[u8]) -> Result<(), &'static str> {
    let settings = ctx.server.config.snapshot();
    let user_ok = user.is_none_or(|u| u == b"default");
    match &settings.requirepass {
        Some(required) if user_ok && required.as_slice() == pass => Ok(()),
        Some(_) => Err(WRONGPASS),
        None if user.is_none() => Err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"),
        // Without requirepass the default user has `nopass`: any password works for it.
        None if user_ok => Ok(()),
        None => Err(WRONGPASS),
    }
}

pub fn auth(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let result = match args.len() {
        2 => check_password(ctx, None, args.get(1)),
        3 => check_password(ctx, Some(args.get(1)), args.get(2)),
        _ => {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    };
    match result {
        Ok(()) => {
            ctx.client.authenticated = true;
            ctx.out.ok();
        }
        Err(e) => ctx.out.error(e),
    }
}

/// Client names may not contain spaces, newlines or special characters (Redis's `validateClientName`).
pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

pub fn hello(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut proto = ctx.out.proto;
    let mut i = 1;
    if args.len() >= 2 {
        let Some(ver) = crate::num::parse_i64(args.get(1)) else {
            ctx.out.error("ERR Protocol version is not an integer or out of range");
            return;
        };
        proto = match ver {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => {
                ctx.out.error("NOPROTO unsupported protocol version");
                return;
            }
        };
        i = 2;
    }
    let mut auth: Option<(&[u8], &[u8])> = None;
    let mut name: Option<&[u8]> = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if is(args.get(i), "AUTH") && more >= 2 {
            auth = Some((args.get(i + 1), args.get(i + 2)));
            i += 3;
        } else if is(args.get(i), "SETNAME") && more >= 1 {
            name = Some(args.get(i + 1));
            i += 2;
        } else {
            ctx.out.error(&format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(args.get(i))));
            return;
        }
    }
    if let Some((user, pass)) = auth {
        if let Err(e) = check_password(ctx, Some(user), pass) {
            ctx.out.error(e);
            return;
        }
        ctx.client.authenticated = true;
    }
    if !ctx.client.authenticated {
        ctx.out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if let Some(n) = name {
        if !valid_client_name(n) {
            ctx.out.error("ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        ctx.client.name = if n.is_empty() { None } else { Some(n.to_vec()) };
    }
    ctx.out.proto = proto;
    let cluster = ctx.server.keyspace.cluster_mode();
    ctx.out.map(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.int(if proto == Protocol::Resp3 { 3 } else { 2 });
    ctx.out.bulk(b"id");
    ctx.out.int(ctx.client.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(if cluster { b"cluster" } else { b"standalone" });
    ctx.out.bulk(b"role");
    ctx.out.bulk(b"master");
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
}

/// Parses a database index for SELECT/SWAPDB/MOVE/COPY: Some(index) if valid, or writes `err_not_int` /
/// the out-of-range error.
pub fn db_index(ctx: &mut Ctx<'_, '_>, arg: &[u8], err_not_int: &str) -> Option<usize> {
    let Some(n) = crate::num::parse_i64(arg) else {
        ctx.out.error(err_not_int);
        return None;
    };
    match usize::try_from(n) {
        Ok(n) if n < ctx.server.keyspace.databases() => Some(n),
        _ => {
            ctx.out.error(errors::DB_INDEX_OUT_OF_RANGE);
            None
        }
    }
}

pub fn select(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if ctx.server.keyspace.cluster_mode() {
        match crate::num::parse_i64(args.get(1)) {
            None => ctx.out.error(errors::NOT_INTEGER),
            Some(0) => ctx.out.ok(),
            Some(_) => ctx.out.error(errors::SELECT_NOT_ALLOWED_IN_CLUSTER),
        }
        return;
    }
    if let Some(db) = db_index(ctx, args.get(1), errors::NOT_INTEGER) {
        ctx.client.db = db;
        ctx.db.select(db);
        ctx.out.ok();
    }
}

pub fn swapdb(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if ctx.server.keyspace.cluster_mode() {
        ctx.out.error("ERR SWAPDB is not allowed in cluster mode");
        return;
    }
    let Some(a) = db_index(ctx, args.get(1), "ERR invalid first DB index") else { return };
    let Some(b) = db_index(ctx, args.get(2), "ERR invalid second DB index") else { return };
    if a != b {
        ctx.db.swap_dbs(a, b);
        ctx.dirty += 1;
        // Clients blocked in either database may now find their keys (Redis's scanDatabaseForReadyKeys).
        ctx.server.blocking.wake_all();
    }
    ctx.out.ok();
}

pub fn reset(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let auth_required = ctx.server.config.snapshot().requirepass.is_some();
    ctx.client.db = 0;
    ctx.db.select(0);
    ctx.client.name = None;
    ctx.client.authenticated = !auth_required;
    super::pubsub_cmd::unsubscribe_everything(ctx);
    ctx.out.proto = Protocol::Resp2;
    ctx.out.simple("RESET");
}
