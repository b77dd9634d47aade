//! The dispatcher: name lookup, arity, authentication, locking, and the call — in Redis's order, so errors
//! come out exactly where Redis would give them.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::spec::{CommandSpec, Lock};
use super::{errors, table, ClientState, Ctx};
use crate::keyspace::{DbView, Keyspace};
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;
use crate::slot::key_hash_slot;
use crate::state::{unix_time_ms, ServerState};

type Index = HashMap<&'static [u8], &'static CommandSpec, foldhash::fast::RandomState>;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| table::COMMANDS.iter().map(|c| (c.name.as_bytes(), c)).collect())
}

/// Longest command name we look up; anything longer is unknown.
const MAX_NAME: usize = 32;

/// Finds a top-level command by name, case-insensitively, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    if name.len() > MAX_NAME {
        return None;
    }
    let mut lower = [0u8; MAX_NAME];
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    index().get(&lower[..name.len()]).copied()
}

/// Finds `container|sub`.
pub fn lookup_subcommand(container: &'static CommandSpec, sub: &[u8]) -> Option<&'static CommandSpec> {
    let prefix = container.name.len() + 1;
    container.subcommands.iter().find(|s| s.name.as_bytes()[prefix..].eq_ignore_ascii_case(sub))
}

/// Resolves the table entry for a whole command line (following into a subcommand), or writes the error
/// Redis gives for an unknown command, unknown subcommand or wrong arity.
pub fn resolve(args: &Args<'_>, out: &mut Reply) -> Option<&'static CommandSpec> {
    resolve_or_reject(args, out).ok()
}

/// Like [`resolve`], but on a wrong arity also says which command was refused (Redis counts it in that
/// command's `rejected_calls`).
fn resolve_or_reject(args: &Args<'_>, out: &mut Reply) -> Result<&'static CommandSpec, Option<&'static CommandSpec>> {
    let Some(mut spec) = lookup(args.get(0)) else {
        out.error(&unknown_command_error(args));
        return Err(None);
    };
    if !spec.subcommands.is_empty() && args.len() >= 2 {
        match lookup_subcommand(spec, args.get(1)) {
            Some(sub) => spec = sub,
            None => {
                out.error(&format!(
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    truncated(args.get(1), 128),
                    String::from_utf8_lossy(args.get(0)).to_uppercase()
                ));
                return Err(None);
            }
        }
    }
    if !spec.arity_ok(args.len()) || (spec.handler.is_none() && spec.subcommands.is_empty()) {
        out.error(&errors::wrong_arity(spec.name));
        return Err(Some(spec));
    }
    if spec.handler.is_none() {
        // A container called without a subcommand it allows (arity passed): Redis answers the arity error.
        out.error(&errors::wrong_arity(spec.name));
        return Err(Some(spec));
    }
    Ok(spec)
}

fn truncated(arg: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&arg[..arg.len().min(max)]).into_owned()
}

/// `ERR unknown command 'x', with args beginning with: 'a' 'b' ` (Redis quotes up to ~128 bytes of args).
pub fn unknown_command_error(args: &Args<'_>) -> String {
    let mut shown = String::new();
    for i in 1..args.len() {
        if shown.len() >= 128 {
            break;
        }
        let room = 128 - shown.len();
        shown.push('\'');
        shown.push_str(&truncated(args.get(i), room));
        shown.push_str("' ");
    }
    format!("ERR unknown command '{}', with args beginning with: {}", truncated(args.get(0), 128), shown)
}

/// The bitmask of shards holding the command's keys.
pub fn shard_mask(spec: &CommandSpec, args: &Args<'_>) -> u32 {
    let mut mask = 0u32;
    spec.for_each_key_index(args, |i, _| {
        mask |= 1 << Keyspace::shard_of_slot(key_hash_slot(args.get(i)));
    });
    mask
}

/// Counts error replies for INFO (`total_error_replies`, `errorstat_<CODE>`).
pub(super) fn record_error(server: &ServerState, out: &Reply, count: u64) {
    crate::state::ServerStats::add(&server.stats.total_error_replies, count);
    if let Some(code) = &out.last_error_code {
        *server.error_codes.lock().entry(code.clone()).or_default() += count;
    }
}

/// Runs one command line for `client`, writing the reply into `out`.
pub fn execute(server: &ServerState, client: &mut ClientState, out: &mut Reply, args: Args<'_>) {
    if args.is_empty() {
        return;
    }
    let errors_before = out.errors_written;
    let spec = match resolve_or_reject(&args, out) {
        Ok(spec) => spec,
        Err(refused) => {
            if let Some(spec) = refused {
                server.command_stats.record_rejected(spec.id);
            }
            super::transaction::rejected(client, out, &args);
            record_error(server, out, out.errors_written - errors_before);
            return;
        }
    };
    if !client.authenticated && !spec.has_flag("no_auth") {
        super::transaction::reject(client, out, spec, errors::NOAUTH);
        record_error(server, out, 1);
        server.command_stats.record_rejected(spec.id);
        return;
    }
    // Inside MULTI: checks in Redis's order, then queueing (RESET also leaves MULTI and drops the watches).
    if (client.multi.is_some() || client.tx.watching())
        && super::transaction::intercept(server, client, out, spec, &args)
    {
        return;
    }
    if server.cluster.is_some() && !super::routing::serve_here(server, client, spec, &args, out) {
        record_error(server, out, 1);
        server.command_stats.record_rejected(spec.id);
        client.asking = false;
        return;
    }
    // maxmemory: evict before locking (eviction locks one shard at a time); refuse denyoom commands on failure.
    if crate::memory::reject_for_oom(server, spec) {
        out.error(crate::memory::OOM_ERROR);
        record_error(server, out, 1);
        server.command_stats.record_rejected(spec.id);
        return;
    }
    // A failed background save with `stop-writes-on-bgsave-error`: writes (and PING, as Redis) are refused.
    if crate::rdb::snapshot::writes_refused() && (spec.has_flag("write") || spec.name == "ping") {
        out.error(crate::rdb::snapshot::MISCONF);
        record_error(server, out, 1);
        server.command_stats.record_rejected(spec.id);
        return;
    }
    // RESP2 subscribed mode: only the Pub/Sub commands, PING, QUIT and RESET.
    if client.sub + client.psub + client.ssub != 0
        && !out.is_resp3()
        && !super::pubsub_cmd::allowed_while_subscribed(spec.name)
    {
        out.error(&super::pubsub_cmd::subscribed_mode_error(spec.name));
        record_error(server, out, 1);
        server.command_stats.record_rejected(spec.id);
        return;
    }
    let now_ms = unix_time_ms();
    let keyspace = &server.keyspace;
    let mut view = match spec.lock {
        Lock::None => keyspace.lock_mask(0, client.db, now_ms),
        Lock::Keys => keyspace.lock_mask(shard_mask(spec, &args), client.db, now_ms),
        Lock::All => keyspace.lock_all(client.db, now_ms),
    };
    call(server, client, out, &mut view, spec, args);
}

/// Calls a resolved command on an already locked view (EXEC runs its queue through this under one lock).
pub fn call(
    server: &ServerState,
    client: &mut ClientState,
    out: &mut Reply,
    view: &mut DbView<'_>,
    spec: &'static CommandSpec,
    args: Args<'_>,
) {
    let Some(handler) = spec.handler else { return };
    let errors_before = out.errors_written;
    let started = std::time::Instant::now();
    view.set_no_touch(crate::memory::skips_touch(spec, client));
    let mut ctx = Ctx { db: view, out, client, server, spec, dirty: 0 };
    let db_at_start = ctx.db.db_index();
    crate::propagate::enter();
    handler(&mut ctx, args);
    let dirty = ctx.dirty;
    // AOF (and later replicas): the command as executed, or what its handler asked for (`crate::propagate`),
    // while its shard locks are still held, so the file orders writes as they happened.
    crate::propagate::exit(server, db_at_start, spec, &args, dirty);
    // Keys this command found expired (and evictions before it) are announced even if it wrote nothing.
    crate::notify::deliver_pending(server);
    let usec = started.elapsed().as_micros() as u64;
    crate::stats::follow_config(server);
    server.command_stats.record_call(spec.id, usec, out.errors_written != errors_before);
    // Slow log and latency monitor: one threshold compare unless the call was slow enough to matter.
    if server.command_stats.thresholds.wants(usec) {
        super::introspection::observe_slow_call(server, client, spec, &args, usec);
    }
    client.last_command = spec.name;
    // ASKING is one-shot: it covers only the command that follows it (inside MULTI: until EXEC, as Redis).
    if spec.name != "asking" && client.multi.is_none() {
        client.asking = false;
    }
    let stats = &server.stats;
    crate::state::ServerStats::add(&stats.total_commands_processed, 1);
    if dirty > 0 {
        crate::state::ServerStats::add(&stats.dirty, dirty);
        // WATCH: the keys of a write command that changed something count as modified.
        if server.keyspace.watches.active() {
            super::transaction::touch_written(server, view, spec, &args);
        }
        // Blocked clients: a changed key that exists may serve the first client waiting for it.
        if server.blocking.is_active() && signal_ready_keys(server, view, spec, &args) {
            // The connection lets them be served before this client goes on (see crate::blocking).
            client.woke_blocked = true;
        }
    }
    if out.errors_written != errors_before {
        record_error(server, out, out.errors_written - errors_before);
    }
    // MONITOR: every executed command except admin ones, after it ran (so the db is the one it left selected).
    if server.clients.has_monitors() && !spec.has_flag("admin") && !spec.has_flag("skip_monitor") {
        server.clients.feed_monitors(client.db, &client.addr, &args);
    }
}

/// Wakes the first client blocked on each key of a write that changed something, for the keys that exist
/// afterwards (a deleted or emptied key cannot serve anyone). See `crate::blocking`.
/// True if somebody was woken.
#[cold]
fn signal_ready_keys(server: &ServerState, view: &DbView<'_>, spec: &CommandSpec, args: &Args<'_>) -> bool {
    let db = view.db_index();
    let mut woke = false;
    spec.for_each_key_index(args, |i, _| {
        let key = args.get(i);
        if view.probe(db, key) == Some(false) {
            woke |= server.blocking.signal(db, key);
        }
    });
    woke
}
