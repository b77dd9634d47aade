//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, and the dispatcher's hooks for them — in Redis 7.0's
//! order of checks, with its texts.
//!
//! # Queueing
//! Inside MULTI the dispatcher checks each command as Redis's `processCommand` does (existence, arity, auth,
//! `no_multi`, cluster routing, OOM) in [`intercept`], which then, instead of running it, copies
//! it into the client's queue and answers `+QUEUED`. A refused command flags the transaction (Redis's
//! `CLIENT_DIRTY_EXEC`), so EXEC answers EXECABORT; refusing EXEC itself answers
//! `EXECABORT Transaction discarded because of: <error>` and discards.
//!
//! # Atomicity
//! EXEC is declared `all` in `implemented.txt`: the dispatcher locks every shard once and EXEC runs each queued
//! command through [`dispatch::call`] on that one view, so no other client runs in between (SELECT inside the
//! transaction moves the view). Commands that read keyspace-wide figures without a view of their own (INFO's
//! `db_counts`/`stats`) would lock the shards again; [`crate::keyspace::Keyspace::hold_all`] tells the keyspace
//! that this thread already holds them, so they read instead of deadlocking.
//!
//! # WATCH
//! Watches live in the keyspace's registry (`keyspace::watch`). The dispatcher reports the keys of every write
//! command that changed something ([`touch_written`]); expiry, eviction, flushes and SWAPDB report
//! themselves. The client keeps a guard that unregisters its watches when dropped (UNWATCH, EXEC, DISCARD,
//! RESET, disconnection).
//!
//! # Cluster mode
//! EXEC is routed by the keys of all its queued commands (Redis's `getNodeByQuery` walks `mstate` for EXEC):
//! keys of different slots answer CROSSSLOT and discard the transaction, another owner MOVED.

use std::sync::Arc;

use super::spec::CommandSpec;
use super::{dispatch, ClientState, Ctx};
use crate::cluster::route::RequestFlags;
use crate::keyspace::watch::WatchRegistry;
use crate::keyspace::DbView;
use crate::protocol::decode::{Args, OwnedArgs};
use crate::protocol::reply::Reply;
use crate::state::ServerState;

const EXECABORT_PREVIOUS: &str = "EXECABORT Transaction discarded because of previous errors.";

/// A client's transaction state: the queue since MULTI, whether it was flagged, and its watches.
#[derive(Debug, Default)]
pub struct TxState {
    queue: Vec<Queued>,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    aborted: bool,
    /// Redis's `argv_len_sums`: argument bytes plus a pointer per argument (CLIENT LIST `multi-mem`).
    pub multi_mem: usize,
    watch: Option<WatchGuard>,
}

impl TxState {
    /// The client watches keys (or its watches were invalidated and EXEC has not run yet).
    #[inline(always)]
    pub fn watching(&self) -> bool {
        self.watch.is_some()
    }

    /// Whether any queued command writes (CLIENT PAUSE WRITE then holds EXEC, as Redis does).
    pub fn queues_writes(&self) -> bool {
        self.queue.iter().any(|q| q.spec.has_flag("write") || q.spec.has_flag("may_replicate"))
    }
}

struct Queued {
    spec: &'static CommandSpec,
    args: OwnedArgs,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.spec.name, self.args)
    }
}

/// Unregisters the client's watches when dropped.
struct WatchGuard {
    registry: Arc<WatchRegistry>,
    client: u64,
}

impl WatchGuard {
    fn dirty(&self) -> bool {
        self.registry.is_dirty(self.client)
    }
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.registry.unwatch_all(self.client);
    }
}

impl std::fmt::Debug for WatchGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WatchGuard({})", self.client)
    }
}

fn is_exec(spec: &CommandSpec) -> bool {
    spec.name == "exec"
}

/// Redis's `flagTransaction`: inside MULTI, a refused command makes EXEC fail.
fn flag(client: &mut ClientState) {
    if client.multi.is_some() {
        client.tx.aborted = true;
    }
}

/// Redis's `discardTransaction`: leaves MULTI and forgets the watches.
fn discard_tx(client: &mut ClientState) {
    client.tx.queue = Vec::new();
    client.tx.aborted = false;
    client.tx.multi_mem = 0;
    client.tx.watch = None;
    client.multi = None;
}

/// Writes Redis's `rejectCommand` reply for `spec`: EXEC answers EXECABORT (and discards), any other command
/// `error`, and flags the transaction.
pub fn reject(client: &mut ClientState, out: &mut Reply, spec: &CommandSpec, error: &str) {
    if is_exec(spec) {
        exec_abort(client, out, error);
    } else {
        flag(client);
        out.error(error);
    }
}

fn exec_abort(client: &mut ClientState, out: &mut Reply, error: &str) {
    discard_tx(client);
    out.error(&format!("EXECABORT Transaction discarded because of: {error}"));
}

/// The command line failed lookup or arity (the dispatcher wrote the error last): flags the transaction; an
/// EXEC with the wrong arity answers EXECABORT instead.
#[cold]
pub fn rejected(client: &mut ClientState, out: &mut Reply, args: &Args<'_>) {
    if !args.get(0).eq_ignore_ascii_case(b"exec") {
        flag(client);
        return;
    }
    const ARITY: &str = "wrong number of arguments for 'exec' command";
    // The dispatcher's reply was `-ERR <ARITY>\r\n`.
    let written = "-ERR ".len() + ARITY.len() + 2;
    out.truncate(out.len().saturating_sub(written));
    out.errors_written = out.errors_written.saturating_sub(1);
    exec_abort(client, out, ARITY);
}

/// Whether a command counts as `denyoom` inside MULTI: Redis refuses to grow the queue when out of memory
/// (every command but EXEC, DISCARD, QUIT and RESET), and EXEC counts as its queued commands.
fn oom_spec_in_multi(client: &ClientState, spec: &'static CommandSpec) -> &'static CommandSpec {
    if is_exec(spec) {
        return client.tx.queue.iter().map(|q| q.spec).find(|s| s.has_flag("denyoom")).unwrap_or(spec);
    }
    if !matches!(spec.name, "discard" | "quit" | "reset") {
        return dispatch::lookup(b"set").unwrap_or(spec);
    }
    spec
}

/// Commands that run at once inside MULTI instead of being queued.
fn queues(spec: &CommandSpec) -> bool {
    !matches!(spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// The dispatcher's hook for a client in MULTI or watching keys, right after authentication. Runs Redis's
/// remaining checks for a command inside MULTI (`no_multi`, cluster routing with EXEC routed by its queue, OOM)
/// and queues it. True when the command was answered (refused or `+QUEUED`); false lets the dispatcher run it
/// (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET — RESET first leaves MULTI and drops the watches).
#[cold]
pub fn intercept(
    server: &ServerState,
    client: &mut ClientState,
    out: &mut Reply,
    spec: &'static CommandSpec,
    args: &Args<'_>,
) -> bool {
    if spec.name == "reset" {
        discard_tx(client);
        return false;
    }
    if client.multi.is_none() || matches!(spec.name, "discard" | "quit") {
        return false;
    }
    let refuse = |client: &mut ClientState, out: &mut Reply, error: Option<&str>| {
        if let Some(error) = error {
            reject(client, out, spec, error);
        }
        dispatch::record_error(server, out, 1);
        server.command_stats.record_rejected(spec.id);
    };
    if spec.has_flag("no_multi") {
        refuse(client, out, Some("ERR Command not allowed inside a transaction"));
        return true;
    }
    if server.cluster.is_some() {
        let here = if is_exec(spec) {
            route_exec(server, client, out)
        } else {
            super::routing::serve_here(server, client, spec, args, out)
        };
        if !here {
            if is_exec(spec) {
                discard_tx(client);
            } else {
                flag(client);
            }
            refuse(client, out, None);
            if client.multi.is_none() {
                client.asking = false;
            }
            return true;
        }
    }
    if crate::memory::reject_for_oom(server, oom_spec_in_multi(client, spec)) {
        refuse(client, out, Some(crate::memory::OOM_ERROR));
        return true;
    }
    if !queues(spec) {
        return false;
    }
    let dirty_cas = client.tx.watch.as_ref().is_some_and(WatchGuard::dirty);
    // Redis stops queueing once the transaction is bound to fail (pipelined clients that did not look).
    if !client.tx.aborted && !dirty_cas {
        let owned = OwnedArgs::from(*args);
        client.tx.multi_mem += owned.data.len() + std::mem::size_of::<usize>() * owned.len();
        client.tx.queue.push(Queued { spec, args: owned });
        client.multi = Some(client.tx.queue.len());
    }
    client.last_command = spec.name;
    out.simple("QUEUED");
    true
}

fn route_exec(server: &ServerState, client: &ClientState, out: &mut Reply) -> bool {
    if server.cluster.is_none() {
        return true;
    }
    let mut keys: Vec<(&[u8], u16)> = Vec::new();
    let mut flags = RequestFlags { asking: client.asking, readonly: client.readonly, ..Default::default() };
    for q in &client.tx.queue {
        super::routing::keys_of(q.spec, &q.args.args(), &mut keys);
        let own = super::routing::command_flags(q.spec);
        flags.is_write |= own.is_write;
        flags.asking |= own.asking;
        flags.pubsub_shard |= own.pubsub_shard;
    }
    super::routing::route_keys(server, &keys, flags, out)
}

/// After a write command changed something (`dirty > 0`): its keys count as modified for WATCH (Redis's
/// `signalModifiedKey`), except DEL/UNLINK's, whose deletions were reported one by one. MOVE also changes
/// its key in the target db; COPY changes only its destination, in the db its `DB` option names.
pub fn touch_written(server: &ServerState, view: &DbView<'_>, spec: &CommandSpec, args: &Args<'_>) {
    if !spec.has_flag("write") {
        return;
    }
    let watches = &server.keyspace.watches;
    let db = view.db_index();
    let touch = |db: usize, key: &[u8]| watches.touch(db, key, || view.probe(db, key).is_some());
    match spec.name {
        // Their deletions were reported key by key (`DbView::remove`): a missing key is no change.
        "del" | "unlink" => {}
        // Consumer-group bookkeeping is not a change of the stream for WATCH in Redis 7.0 (no
        // signalModifiedKey), except XGROUP CREATE ... MKSTREAM creating the key.
        "xreadgroup"
        | "xack"
        | "xclaim"
        | "xautoclaim"
        | "xgroup|setid"
        | "xgroup|destroy"
        | "xgroup|createconsumer"
        | "xgroup|delconsumer" => {}
        "xgroup|create" => {
            if (5..args.len()).any(|i| args.get(i).eq_ignore_ascii_case(b"mkstream")) {
                touch(db, args.get(2));
            }
        }
        "move" if args.len() > 2 => {
            touch(db, args.get(1));
            if let Some(target) = db_arg(server, args.get(2)) {
                touch(target, args.get(1));
            }
        }
        "copy" if args.len() > 2 => {
            let mut target = db;
            let mut i = 3;
            while i + 1 < args.len() {
                if args.get(i).eq_ignore_ascii_case(b"db") {
                    target = db_arg(server, args.get(i + 1)).unwrap_or(db);
                    i += 1;
                }
                i += 1;
            }
            touch(target, args.get(2));
        }
        // The written keys: a read-only source (SINTERSTORE's, ZUNIONSTORE's...) is not modified.
        _ => {
            spec.for_each_key_index(args, |i, ks| {
                if !ks.flags.contains(&"RO") {
                    touch(db, args.get(i))
                }
            });
        }
    }
}

fn db_arg(server: &ServerState, arg: &[u8]) -> Option<usize> {
    let n = usize::try_from(crate::num::parse_i64(arg)?).ok()?;
    (n < server.keyspace.databases()).then_some(n)
}

pub fn multi(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    if ctx.client.multi.is_some() {
        ctx.out.error("ERR MULTI calls can not be nested");
        return;
    }
    ctx.client.multi = Some(0);
    ctx.out.ok();
}

pub fn discard(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    if ctx.client.multi.is_none() {
        ctx.out.error("ERR DISCARD without MULTI");
        return;
    }
    discard_tx(ctx.client);
    ctx.out.ok();
}

pub fn exec(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    if ctx.client.multi.is_none() {
        ctx.out.error("ERR EXEC without MULTI");
        return;
    }
    if ctx.client.tx.aborted {
        discard_tx(ctx.client);
        ctx.out.error(EXECABORT_PREVIOUS);
        return;
    }
    if watch_failed(ctx) {
        discard_tx(ctx.client);
        ctx.out.null_array();
        return;
    }
    // Unwatch at once, as Redis does: the queued commands' own writes must not matter.
    ctx.client.tx.watch = None;
    let queue = std::mem::take(&mut ctx.client.tx.queue);
    ctx.out.array(queue.len());
    let errors_before = ctx.out.errors_written;
    {
        let _held = ctx.server.keyspace.hold_all(ctx.db);
        for q in &queue {
            let mark = ctx.out.len();
            if q.spec.name == "monitor" {
                // A client inside EXEC expects one reply per command (Redis's CLIENT_DENY_BLOCKING).
                ctx.out.error("ERR MONITOR isn't allowed for DENY BLOCKING client");
                ctx.server.command_stats.record_call(q.spec.id, 0, true);
                dispatch::record_error(ctx.server, ctx.out, 1);
                continue;
            }
            dispatch::call(ctx.server, ctx.client, ctx.out, ctx.db, q.spec, q.args.args());
            // CLIENT REPLY OFF inside the transaction silences the replies after it (not EXEC's header).
            if ctx.client.reply & super::client::reply::OFF != 0 {
                ctx.out.truncate(mark);
            }
        }
    }
    // Each queued command counted its own errors; EXEC itself did not fail.
    ctx.out.errors_written = errors_before;
    discard_tx(ctx.client);
}

/// Redis's EXEC-time watch check: a watched key was touched, or a key alive at WATCH has expired since.
fn watch_failed(ctx: &mut Ctx<'_, '_>) -> bool {
    let Some(guard) = &ctx.client.tx.watch else { return false };
    if guard.dirty() {
        return true;
    }
    let keys = guard.registry.watched_keys(guard.client);
    keys.iter().any(|k| !k.expired_at_watch && ctx.db.probe(k.db, &k.key) == Some(true))
}

pub fn watch(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if ctx.client.multi.is_some() {
        ctx.out.error("ERR WATCH inside MULTI is not allowed");
        return;
    }
    let registry = &ctx.server.keyspace.watches;
    let id = ctx.client.id;
    // No point in watching more once the next EXEC is bound to fail.
    if ctx.client.tx.watch.as_ref().is_some_and(WatchGuard::dirty) {
        ctx.out.ok();
        return;
    }
    let db = ctx.db.db_index();
    for i in 1..args.len() {
        let key = args.get(i);
        let expired = ctx.db.probe(db, key) == Some(true);
        registry.watch(id, db, key, expired);
    }
    if ctx.client.tx.watch.is_none() {
        ctx.client.tx.watch = Some(WatchGuard { registry: Arc::clone(registry), client: id });
    }
    ctx.out.ok();
}

pub fn unwatch(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.client.tx.watch = None;
    ctx.out.ok();
}
