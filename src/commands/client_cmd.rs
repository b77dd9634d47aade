//! CLIENT subcommands and MONITOR, with Redis 7.0.15's replies and errors (plus Redis 7.2's CLIENT SETINFO,
//! CLIENT NO-TOUCH and the `lib-name=`/`lib-ver=` fields of CLIENT LIST).
//!
//! Handlers change only their own `ClientState`; other connections are reached through the client registry
//! (`crate::clients`): their published figures for LIST, their handles for KILL and UNBLOCK. The caller's own
//! line is rendered from its live state, so it shows the running command as Redis does. What happens at
//! the socket (streaming MONITOR lines, holding commands during a pause, dropping replies for CLIENT REPLY)
//! is the connection loop's part (`server::connection`).

use super::args::is;
use super::client::reply;
use super::{errors, Ctx};
use crate::clients::{render_line, ClientHandle, ClientType, PauseMode, UnblockReason};
use crate::config::Value;
use crate::protocol::decode::Args;
use crate::state::{unix_time_ms, ServerState};

/// Redis 7.0.15's CLIENT HELP, between the header and the HELP entry that `addReplyHelp` adds.
const HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
];

/// Text of a user-supplied argument inside an error message (Redis prints it with `%s`).
fn shown(arg: &[u8]) -> String {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    String::from_utf8_lossy(&arg[..end]).into_owned()
}

/// Redis's `addReplySubcommandSyntaxError`.
fn subcommand_syntax_error(ctx: &mut Ctx<'_, '_>, args: &Args<'_>) {
    let sub = &args.get(1)[..args.get(1).len().min(128)];
    ctx.out.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        shown(sub),
        shown(args.get(0)).to_uppercase()
    ));
}

/// Parses ON/OFF, or answers the syntax error.
fn on_off(ctx: &mut Ctx<'_, '_>, arg: &[u8]) -> Option<bool> {
    if is(arg, "on") {
        Some(true)
    } else if is(arg, "off") {
        Some(false)
    } else {
        ctx.out.error(errors::SYNTAX);
        None
    }
}

fn resp_version(ctx: &Ctx<'_, '_>) -> u8 {
    if ctx.out.is_resp3() {
        3
    } else {
        2
    }
}

/// The caller's own CLIENT LIST line, from its live state: the running command, its arguments held, the
/// reply buffer as it is now.
fn own_line(ctx: &Ctx<'_, '_>, args: &Args<'_>, out: &mut Vec<u8>) {
    let argv_mem = args.iter().map(<[u8]>::len).sum();
    let mut info = ctx.client.info(ctx.spec.name, argv_mem, resp_version(ctx));
    info.rbs = info.rbs.max(ctx.out.buf.capacity());
    info.rbp = info.rbp.max(ctx.out.buf.len());
    if let Some(handle) = &ctx.client.handle {
        let (pending, lines) = handle.monitor_pending();
        info.oll += lines;
        info.omem += pending;
        info.tot_mem += pending;
    }
    if ctx.server.keyspace.watches.is_dirty(ctx.client.id) {
        info.flags |= crate::clients::flag::DIRTY_CAS;
    }
    render_line(out, &ctx.client.identity(), &info, unix_time_ms());
}

/// Another client's line, from what it published (plus `d`, which other clients' writes set).
fn other_line(server: &ServerState, handle: &ClientHandle, out: &mut Vec<u8>) {
    let mut info = handle.info();
    if server.keyspace.watches.is_dirty(handle.who.id) {
        info.flags |= crate::clients::flag::DIRTY_CAS;
    }
    render_line(out, &handle.who, &info, unix_time_ms());
}

pub fn client_id(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.int(ctx.client.id as i64);
}

pub fn client_info(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut text = Vec::with_capacity(320);
    own_line(ctx, &args, &mut text);
    text.push(b'\n');
    ctx.out.verbatim(&text);
}

pub fn client_list(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let argc = args.len();
    let mut text = Vec::new();
    let registry = &ctx.server.clients;
    if argc > 3 && is(args.get(2), "id") {
        let mut ids = Vec::with_capacity(argc - 3);
        for arg in args.iter().skip(3) {
            match crate::num::parse_i64(arg) {
                Some(id) => ids.push(id),
                None => {
                    ctx.out.error("ERR Invalid client ID");
                    return;
                }
            }
        }
        for id in ids {
            if id == ctx.client.id as i64 {
                own_line(ctx, &args, &mut text);
                text.push(b'\n');
            } else if let Some(handle) = u64::try_from(id).ok().and_then(|id| registry.get(id)) {
                other_line(ctx.server, &handle, &mut text);
                text.push(b'\n');
            }
        }
        ctx.out.verbatim(&text);
        return;
    }
    let wanted = if argc == 2 {
        None
    } else if argc == 4 && is(args.get(2), "type") {
        match ClientType::parse(args.get(3)) {
            Some(t) => Some(t),
            None => {
                ctx.out.error(&format!("ERR Unknown client type '{}'", shown(args.get(3))));
                return;
            }
        }
    } else {
        ctx.out.error(errors::SYNTAX);
        return;
    };
    let mut listed_self = false;
    for handle in registry.all() {
        if handle.who.id == ctx.client.id {
            listed_self = true;
            if wanted.is_none_or(|t| t == ClientType::of(ctx.client.flags())) {
                own_line(ctx, &args, &mut text);
                text.push(b'\n');
            }
        } else if wanted.is_none_or(|t| t == ClientType::of(handle.info().flags)) {
            other_line(ctx.server, &handle, &mut text);
            text.push(b'\n');
        }
    }
    // An in-memory client (no connection) still lists itself.
    if !listed_self && ctx.client.handle.is_none() && wanted.is_none_or(|t| t == ClientType::of(ctx.client.flags())) {
        own_line(ctx, &args, &mut text);
        text.push(b'\n');
    }
    ctx.out.verbatim(&text);
}

/// CLIENT KILL's filters (all must match).
#[derive(Default)]
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    kind: Option<ClientType>,
    id: Option<u64>,
    /// Redis 7.4's MAXAGE: only clients connected at least this many seconds (0: no filter).
    max_age: i64,
    skip_me: bool,
}

/// Parses the new-style filters, or answers Redis's error for the first bad one.
fn parse_kill_filters<'a>(ctx: &mut Ctx<'_, '_>, args: &Args<'a>) -> Option<KillFilter<'a>> {
    let mut f = KillFilter { skip_me: true, ..Default::default() };
    let mut i = 2;
    while i < args.len() {
        let more = args.len() > i + 1;
        let (opt, value) = (args.get(i), if more { args.get(i + 1) } else { &[][..] });
        if is(opt, "id") && more {
            match crate::num::parse_i64(value).filter(|&n| n >= 1) {
                Some(n) => f.id = Some(n as u64),
                None => {
                    ctx.out.error("ERR client-id should be greater than 0");
                    return None;
                }
            }
        } else if is(opt, "type") && more {
            match ClientType::parse(value) {
                Some(t) => f.kind = Some(t),
                None => {
                    ctx.out.error(&format!("ERR Unknown client type '{}'", shown(value)));
                    return None;
                }
            }
        } else if is(opt, "addr") && more {
            f.addr = Some(value);
        } else if is(opt, "laddr") && more {
            f.laddr = Some(value);
        } else if is(opt, "user") && more {
            // The only user is `default`, and every connection is authenticated as it (or about to be).
            if value != b"default" {
                ctx.out.error(&format!("ERR No such user '{}'", shown(value)));
                return None;
            }
        } else if is(opt, "skipme") && more {
            if is(value, "yes") {
                f.skip_me = true;
            } else if is(value, "no") {
                f.skip_me = false;
            } else {
                ctx.out.error(errors::SYNTAX);
                return None;
            }
        } else if is(opt, "maxage") && more {
            match crate::num::parse_i64(value) {
                Some(n) => f.max_age = n,
                None => {
                    ctx.out.error(errors::NOT_INTEGER);
                    return None;
                }
            }
        } else {
            ctx.out.error(errors::SYNTAX);
            return None;
        }
        i += 2;
    }
    Some(f)
}

pub fn client_kill(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let old_form = args.len() == 3;
    let filter = if old_form {
        // CLIENT KILL <addr>: the old form can kill the caller too.
        KillFilter { addr: Some(args.get(2)), skip_me: false, ..Default::default() }
    } else {
        match parse_kill_filters(ctx, &args) {
            Some(f) => f,
            None => return,
        }
    };
    let now_secs = (unix_time_ms() / 1000) as i64;
    let matches = |id: u64, addr: &str, laddr: &str, flags: u16, created_ms: u64| {
        filter.addr.is_none_or(|a| a == addr.as_bytes())
            && filter.laddr.is_none_or(|a| a == laddr.as_bytes())
            && filter.kind.is_none_or(|t| t == ClientType::of(flags))
            && filter.id.is_none_or(|want| want == id)
            && (filter.max_age == 0 || now_secs - (created_ms / 1000) as i64 >= filter.max_age)
    };
    let registry = &ctx.server.clients;
    let mut killed = 0i64;
    let mut close_self = false;
    let me = ctx.client.id;
    for handle in registry.all() {
        let who = &handle.who;
        if who.id == me {
            let c = &*ctx.client;
            if !filter.skip_me && matches(c.id, &c.addr, &c.laddr, c.flags(), c.created_ms) {
                close_self = true;
                killed += 1;
            }
        } else if matches(who.id, &who.addr, &who.laddr, handle.info().flags, who.created_ms) && registry.kill(&handle)
        {
            killed += 1;
        }
    }
    if old_form {
        if killed == 0 {
            ctx.out.error("ERR No such client");
        } else {
            ctx.out.ok();
        }
    } else {
        ctx.out.int(killed);
    }
    if close_self {
        ctx.client.close_after_reply = true;
    }
}

pub fn client_unblock(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if args.len() > 4 {
        subcommand_syntax_error(ctx, &args);
        return;
    }
    let mut reason = UnblockReason::Timeout;
    if args.len() == 4 {
        if is(args.get(3), "timeout") {
            reason = UnblockReason::Timeout;
        } else if is(args.get(3), "error") {
            reason = UnblockReason::Error;
        } else {
            ctx.out.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    let Some(id) = super::args::int(ctx.out, args.get(2)) else { return };
    let released = u64::try_from(id).is_ok_and(|id| ctx.server.clients.unblock(id, reason));
    ctx.out.int(i64::from(released));
}

pub fn client_reply(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mode = args.get(2);
    if is(mode, "on") {
        ctx.client.reply &= !(reply::OFF | reply::SKIP);
        ctx.out.ok();
    } else if is(mode, "off") {
        ctx.client.reply |= reply::OFF;
    } else if is(mode, "skip") {
        if ctx.client.reply & reply::OFF == 0 {
            ctx.client.reply |= reply::SKIP_NEXT;
        }
    } else {
        ctx.out.error(errors::SYNTAX);
    }
}

pub fn client_no_evict(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if let Some(on) = on_off(ctx, args.get(2)) {
        ctx.client.no_evict = on;
        ctx.out.ok();
    }
}

pub fn client_no_touch(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if let Some(on) = on_off(ctx, args.get(2)) {
        ctx.client.no_touch = on;
        ctx.out.ok();
    }
}

pub fn client_pause(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if args.len() > 4 {
        subcommand_syntax_error(ctx, &args);
        return;
    }
    let mut mode = PauseMode::All;
    if args.len() == 4 {
        if is(args.get(3), "write") {
            mode = PauseMode::Write;
        } else if is(args.get(3), "all") {
            mode = PauseMode::All;
        } else {
            ctx.out.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    let Some(timeout_ms) = crate::num::parse_i64(args.get(2)) else {
        ctx.out.error("ERR timeout is not an integer or out of range");
        return;
    };
    if timeout_ms < 0 {
        ctx.out.error("ERR timeout is negative");
        return;
    }
    // As Redis: a zero timeout ends at time 0 (already over), and a huge one wraps into the past.
    let end_ms = if timeout_ms > 0 { (unix_time_ms() as i64).wrapping_add(timeout_ms) } else { 0 };
    ctx.server.clients.pause(end_ms, mode);
    ctx.out.ok();
}

pub fn client_unpause(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.server.clients.unpause();
    ctx.out.ok();
}

pub fn client_getname(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    match &ctx.client.name {
        Some(name) => ctx.out.bulk(name),
        None => ctx.out.null(),
    }
}

pub fn client_setname(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let name = args.get(2);
    if !super::connection::valid_client_name(name) {
        ctx.out.error("ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    ctx.client.name = if name.is_empty() { None } else { Some(name.to_vec()) };
    ctx.out.ok();
}

/// CLIENT SETINFO LIB-NAME|LIB-VER <value> (Redis 7.2).
pub fn client_setinfo(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (attr, value) = (args.get(2), args.get(3));
    let lib_name = if is(attr, "lib-name") {
        true
    } else if is(attr, "lib-ver") {
        false
    } else {
        ctx.out.error(&format!("ERR Unrecognized option '{}'", shown(attr)));
        return;
    };
    // Redis checks the value as a C string: up to its first NUL.
    let checked = &value[..value.iter().position(|&b| b == 0).unwrap_or(value.len())];
    if !checked.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
        ctx.out.error(&format!("ERR {} cannot contain spaces, newlines or special characters.", shown(attr)));
        return;
    }
    let stored = if value.is_empty() { None } else { Some(value.to_vec()) };
    if lib_name {
        ctx.client.lib_name = stored;
    } else {
        ctx.client.lib_ver = stored;
    }
    ctx.out.ok();
}

pub fn client_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.array(HELP.len() + 3);
    ctx.out.simple("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    for line in HELP {
        ctx.out.simple(line);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Prints this help.");
}

/// `client-output-buffer-limit` for the normal class (which MONITOR clients belong to): hard bytes, soft
/// bytes, soft seconds.
pub fn normal_output_limits(server: &ServerState) -> (u64, u64, u64) {
    server.config.read(|c| match c.value("client-output-buffer-limit") {
        Some(Value::ClientOutputBufferLimit(limits)) => {
            (limits[0].hard_bytes, limits[0].soft_bytes, u64::try_from(limits[0].soft_seconds).unwrap_or(0))
        }
        _ => (0, 0, 0),
    })
}

pub fn monitor(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    // A client already monitoring gets no reply at all, as in Redis.
    if ctx.client.monitor {
        return;
    }
    ctx.client.monitor = true;
    if let Some(handle) = ctx.client.handle.clone() {
        let (hard, soft, secs) = normal_output_limits(ctx.server);
        handle.set_monitor_limits(hard, soft, secs);
        ctx.server.clients.add_monitor(handle);
    }
    ctx.out.ok();
}
