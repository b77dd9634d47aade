//! Command propagation: what a write command hands to the append-only file (and, later, to replicas).
//!
//! # What is propagated
//! After a command ran, the dispatcher ([`crate::commands::dispatch::call`]) calls [`enter`] before the
//! handler and [`exit`] after it. A command that changed something (`ctx.dirty > 0`; EXEC excepted, its
//! commands propagate themselves) is propagated **as executed** (its arguments, in the client's spelling),
//! unless its handler said otherwise through the [`Propagate`] trait on [`Ctx`]:
//!
//! - `ctx.propagate_instead(&[..])`: propagate this command line instead of the one executed. Calling it
//!   several times propagates several commands, in order. Used where the command is not deterministic
//!   (Redis's `rewriteClientCommandVector`): `SET k v EX 10` -> `SET k v PXAT <abs ms>`, `SETEX`/`PSETEX` ->
//!   `SET .. PXAT`, `EXPIRE`/`PEXPIRE`/`EXPIREAT` -> `PEXPIREAT`, an expire in the past -> `DEL`,
//!   `GETEX EX..` -> `PEXPIREAT`, `GETEX PERSIST` -> `PERSIST`, `GETDEL` -> `DEL`, `INCRBYFLOAT` ->
//!   `SET k v KEEPTTL`.
//! - `ctx.propagate_nothing()`: the command changed something but nothing must be propagated.
//! - `ctx.also_propagate(&[..])`: one more command, propagated *before* the command itself (Redis's
//!   `alsoPropagate`, e.g. the `DEL` of a key found expired).
//!
//! The data types use it for Redis 7.0's forms: SPOP -> `SREM` batches / `DEL`, served blocking pops ->
//! their non-blocking form, `HINCRBYFLOAT` -> `HSET`, `XADD *` -> explicit id, approximate trims -> exact,
//! `XREADGROUP`/`XCLAIM`/`XAUTOCLAIM` -> `XCLAIM .. JUSTID FORCE` + `XGROUP SETID`, `RESTORE` -> `ABSTTL`.
//! `tests/aof.rs` compares the resulting files with redis-server's byte for byte.
//! [`active`] says whether anybody consumes propagation, so a handler can skip building rewritten lines.
//!
//! # Keys deleted without a command
//! Redis propagates `DEL` for keys removed by expiry or eviction. Hooks for the keyspace: [`note_deleted`]
//! (lazy expiry inside a command: the `DEL` goes before the command) and [`propagate_standalone`] (active
//! expiry, eviction). The AOF stays correct without them (a replay reaches the same absolute expiry times),
//! but an evicted key would come back on reload.
//!
//! # Transactions and nesting
//! Calls nest (EXEC runs its queue through `call`): everything an inner call propagates is collected until
//! the outermost call ends, and more than one command is wrapped in `MULTI`/`EXEC`, as Redis 7.0 does (a
//! transaction with a single write propagates that write alone). Each command carries the database it ran
//! in; the AOF writes `SELECT` when the database changes.
//!
//! # Why thread-local
//! A handler and the dispatcher hook run synchronously on one thread (no await in between), so the pending
//! overrides live in a thread-local frame stack instead of a field of `Ctx` or `ClientState`: the hot path
//! pays one thread-local access and nothing is added to the client's size.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::commands::spec::CommandSpec;
use crate::commands::Ctx;
use crate::protocol::decode::Args;
use crate::state::ServerState;

/// One propagated command: its database and its RESP encoding.
pub type Op = (usize, Vec<u8>);

#[derive(Default)]
struct Frame {
    /// `Some`: replace the command by these (possibly none).
    instead: Option<Vec<Vec<u8>>>,
    /// Extra commands, propagated before the command (`Some(db)`: in that database, else the command's).
    also: Vec<(Option<usize>, Vec<u8>)>,
}

#[derive(Default)]
struct Tls {
    frames: Vec<Frame>,
    /// Collected by nested calls, flushed by the outermost one.
    batch: Vec<Op>,
}

thread_local! {
    static TLS: RefCell<Tls> = RefCell::new(Tls::default());
}

/// Encodes a command line as a RESP array of bulk strings (the AOF's and the replication stream's form).
pub fn encode_into(out: &mut Vec<u8>, args: impl ExactSizeIterator<Item = impl AsRef<[u8]>>) {
    let mut n = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(n.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(n.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    encode_into(&mut v, args.iter());
    v
}

/// What handlers call to change what their command propagates (see the module doc).
pub trait Propagate {
    fn propagate_instead(&mut self, args: &[&[u8]]);
    fn propagate_nothing(&mut self);
    fn also_propagate(&mut self, args: &[&[u8]]);
}

impl Propagate for Ctx<'_, '_> {
    fn propagate_instead(&mut self, args: &[&[u8]]) {
        with_frame(|f| f.instead.get_or_insert_with(Vec::new).push(encode(args)));
    }

    fn propagate_nothing(&mut self) {
        with_frame(|f| f.instead = Some(Vec::new()));
    }

    fn also_propagate(&mut self, args: &[&[u8]]) {
        with_frame(|f| f.also.push((None, encode(args))));
    }
}

fn with_frame(f: impl FnOnce(&mut Frame)) {
    TLS.with(|t| {
        if let Some(frame) = t.borrow_mut().frames.last_mut() {
            f(frame);
        }
    });
}

/// Called by the dispatcher before a handler runs.
#[inline]
pub fn enter() {
    TLS.with(|t| t.borrow_mut().frames.push(Frame::default()));
}

/// Called by the dispatcher after a handler ran in database `db` (the one selected when it started) with
/// `dirty` changes: decides what the command propagates and, at the outermost call, hands it on.
#[inline]
pub fn exit(server: &ServerState, db: usize, spec: &CommandSpec, args: &Args<'_>, dirty: u64) {
    enum Out {
        Nothing,
        /// The common case: one command as executed, encoded straight into the AOF buffer.
        Direct,
        Batch(Vec<Op>),
    }
    let wanted = crate::aof::wants_feed(server);
    let outermost = TLS.with(|t| {
        let mut t = t.borrow_mut();
        let frame = t.frames.pop().unwrap_or_default();
        if !wanted {
            // Nobody consumes propagation: drop what the frame collected, encode nothing.
            if t.frames.is_empty() {
                t.batch.clear();
            }
            return Out::Nothing;
        }
        // Redis's rule (`call()`): any command that changed something, except EXEC (its commands propagate
        // themselves) — e.g. PFCOUNT, which is not a write command, propagates when it updated its cache.
        let writes = dirty > 0 && spec.name != "exec";
        if writes && frame.instead.is_none() && frame.also.is_empty() && t.frames.is_empty() && t.batch.is_empty() {
            return Out::Direct;
        }
        if writes || !frame.also.is_empty() {
            let Tls { batch, .. } = &mut *t;
            for (op_db, op) in frame.also {
                batch.push((op_db.unwrap_or(db), op));
            }
            if writes {
                match frame.instead {
                    Some(ops) => batch.extend(ops.into_iter().map(|op| (db, op))),
                    None => {
                        let mut v = Vec::with_capacity(args.iter().map(|a| a.len() + 16).sum::<usize>() + 16);
                        encode_into(&mut v, args.iter());
                        batch.push((db, v));
                    }
                }
            }
        }
        if t.frames.is_empty() && !t.batch.is_empty() {
            Out::Batch(std::mem::take(&mut t.batch))
        } else {
            Out::Nothing
        }
    });
    match outermost {
        Out::Nothing => {}
        Out::Direct => crate::aof::feed_args(server, db, args),
        Out::Batch(ops) => emit(server, ops),
    }
    // CONFIG SET appendonly/appendfsync takes effect before its reply, as in Redis (an off-on pair within
    // one cron tick would otherwise go unnoticed). Not inside EXEC, which holds every shard the first
    // rewrite needs: the cron applies it there.
    if spec.name == "config|set" && TLS.with(|t| t.borrow().frames.is_empty()) {
        crate::aof::apply_config(server);
    }
}

/// Whether anything consumes propagated commands (an AOF is being written).
#[inline]
pub fn active(server: &ServerState) -> bool {
    crate::aof::wants_feed(server)
}

/// Hands a finished unit (one command, or a transaction's writes) to its consumers, wrapped in MULTI/EXEC
/// when it holds more than one command.
fn emit(server: &ServerState, ops: Vec<Op>) {
    if !crate::aof::wants_feed(server) {
        return;
    }
    crate::aof::feed(server, &ops, ops.len() > 1);
}

/// Set while something consumes propagation (an AOF is on in this process): lets [`note_deleted`] cost one
/// relaxed load otherwise.
static ANY_CONSUMER: AtomicBool = AtomicBool::new(false);

pub fn set_any_consumer(on: bool) {
    ANY_CONSUMER.store(on, Ordering::Relaxed);
}

/// For the keyspace: `key` of database `db` was deleted because it expired (lazy expiry) during the running
/// command. Propagates `DEL key` before the command, as Redis 7.0 does. Outside a command it does nothing:
/// active expiry and eviction call [`propagate_standalone`] instead (they have the server at hand).
///
/// Not needed for the AOF's correctness (a replay reaches the same absolute expiry times and expires the
/// same keys), but it keeps the file equal to Redis's and replicas will need it.
#[inline]
pub fn note_deleted(db: usize, key: &[u8]) {
    if ANY_CONSUMER.load(Ordering::Relaxed) {
        with_frame(|f| f.also.push((Some(db), encode(&[b"DEL", key]))));
    }
}

/// Propagates commands that no client ran (e.g. the `DEL` of a key deleted by active expiry or eviction):
/// each is its own unit.
pub fn propagate_standalone(server: &ServerState, db: usize, args: &[&[u8]]) {
    if crate::aof::wants_feed(server) {
        crate::aof::feed(server, &[(db, encode(args))], false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_resp_arrays() {
        assert_eq!(encode(&[b"SET", b"k", b""]), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n".to_vec());
    }
}
