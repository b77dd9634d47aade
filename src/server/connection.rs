//! One client connection: read, decode every complete command, run it, write all replies in one go.
//!
//! Replies to a pipelined batch are written with a single `write` call, which is where most of the speed of
//! pipelining comes from. A protocol error answers `-ERR Protocol error: ...` after the replies already due
//! and closes this connection only. No lock is held across an await: commands run synchronously between reads.
//!
//! Around that core, the client-management features stay off the hot path:
//! - the connection registers a handle (`crate::clients`) and publishes its CLIENT LIST figures once per
//!   batch; it deregisters before its socket closes, which is what makes CLIENT KILL's `shutdown(2)` safe;
//! - CLIENT PAUSE costs one relaxed load per command while no pause is active. A command the pause holds
//!   stays in the query buffer, and the connection stops reading until the pause ends: the held command and
//!   everything after it run later in their order, and nothing is lost;
//! - CLIENT REPLY OFF/SKIP drops the bytes a command wrote, checked with one branch per command;
//! - a MONITOR client waits on its socket and on its monitor queue at once, a Pub/Sub subscriber on its socket
//!   and on its message queue (`crate::pubsub`); other clients never do. A subscriber dropped for its output
//!   limit ends its connection, even in the middle of a write.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::clients::{flag, ClientHandle, PauseMode};
use crate::commands::client::reply;
use crate::commands::spec::CommandSpec;
use crate::commands::{client_cmd, dispatch, ClientState};
use crate::protocol::decode::{Args, Decoded, Limits, RequestDecoder};
use crate::protocol::reply::{Protocol, Reply};
use crate::state::{unix_time_ms, ServerState, ServerStats};

use super::blocked;

/// Initial read buffer; it grows for large requests and shrinks back after them.
const READ_CHUNK: usize = 16 * 1024;
/// Output buffers larger than this are released after being written, so an idle client holds little memory.
const KEEP_OUTPUT_CAPACITY: usize = 64 * 1024;

pub async fn serve(mut stream: TcpStream, state: Arc<ServerState>, id: u64) {
    use std::os::fd::AsRawFd;
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let local = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let _ = stream.set_nodelay(true);
    let settings = state.config.snapshot();
    let now_ms = unix_time_ms();
    let mut client = ClientState::new(id, settings.requirepass.is_some());
    client.addr = peer;
    client.laddr = local;
    client.fd = stream.as_raw_fd();
    client.created_ms = now_ms;
    client.io.last_interaction_ms = now_ms;
    let handle = state.clients.register(client.identity());
    client.handle = Some(handle.clone());
    // Dropped before `stream` (a parameter, dropped after every local): the connection leaves the registry
    // before its descriptor is closed.
    let _registered = Registered(&state, &handle);
    if let Err(e) = run(&mut stream, &state, &mut client, &handle).await {
        tracing::debug!("Client id={} addr={} closed: {e}", client.id, client.addr);
    }
    if let Some(sub) = client.subscriber.take() {
        state.pubsub.remove_all(&sub);
    }
}

/// Removes a connection from the client registry when it ends, however it ends.
struct Registered<'a>(&'a ServerState, &'a ClientHandle);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.0.clients.deregister(self.1);
    }
}

pub(super) fn resp_of(out: &Reply) -> u8 {
    if out.proto == Protocol::Resp3 {
        3
    } else {
        2
    }
}

async fn run(
    stream: &mut TcpStream,
    state: &ServerState,
    client: &mut ClientState,
    handle: &ClientHandle,
) -> std::io::Result<()> {
    let mut rbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut start = 0usize;
    let mut decoder = RequestDecoder::new();
    let mut out = Reply::new(Protocol::Resp2);
    let mut out_peak = 0usize;
    let mut config_version = u64::MAX;
    let mut limits = Limits { max_bulk_len: 512 * 1024 * 1024 };
    let mut query_limit = 1024 * 1024 * 1024u64;
    let mut idle_timeout_secs = 0u64;
    publish(client, &rbuf, &out, out_peak);
    loop {
        if state.config.version() != config_version {
            config_version = state.config.version();
            let s = state.config.snapshot();
            limits = Limits { max_bulk_len: s.proto_max_bulk_len };
            query_limit = s.client_query_buffer_limit;
            idle_timeout_secs = s.timeout_secs;
            if client.monitor {
                let (hard, soft, secs) = client_cmd::normal_output_limits(state);
                handle.set_monitor_limits(hard, soft, secs);
            }
        }
        let wanted = decoder.bytes_wanted().clamp(READ_CHUNK / 4, 64 * 1024 * 1024);
        if rbuf.capacity() - rbuf.len() < wanted {
            rbuf.reserve(wanted);
        }
        let read = if client.monitor {
            match Box::pin(read_or_monitor_output(stream, &mut rbuf, handle)).await? {
                Some(n) => n,
                None => {
                    if handle.is_killed() {
                        return Ok(());
                    }
                    Box::pin(write_monitor_output(stream, state, client, handle)).await?;
                    continue;
                }
            }
        } else if let Some(sub) = client.subscriber.clone().filter(|_| client.sub + client.psub + client.ssub > 0) {
            // A subscriber waits on its socket and on its message queue at once.
            match Box::pin(read_or_messages(stream, &mut rbuf, &sub)).await? {
                Some(n) => n,
                None => {
                    if sub.is_dropped() || handle.is_killed() {
                        return Ok(());
                    }
                    Box::pin(write_messages(stream, state, &sub)).await?;
                    continue;
                }
            }
        } else if idle_timeout_secs > 0 && client.sub + client.psub + client.ssub == 0 {
            // Redis's `timeout`: pub/sub, MONITOR and blocked clients are exempt.
            match tokio::time::timeout(Duration::from_secs(idle_timeout_secs), read_some(stream, &mut rbuf)).await {
                Ok(r) => r?,
                Err(_) => {
                    tracing::debug!("Closing idle client id={}", client.id);
                    return Ok(());
                }
            }
        } else {
            read_some(stream, &mut rbuf).await?
        };
        if read == 0 || handle.is_killed() {
            return Ok(());
        }
        ServerStats::add(&state.stats.net_input_bytes, read as u64);
        let now_ms = state.clients.coarse_now_ms();
        client.io.last_interaction_ms = now_ms;
        handle.touch(now_ms);
        client.io.qbuf = rbuf.len();
        client.io.qbuf_free = rbuf.capacity() - rbuf.len();
        // Ordinary commands run in `run_batch`; it stops at a command that needs the slow path.
        while let Some(next) = run_batch(state, client, &mut out, &mut decoder, &rbuf, &mut start, &limits) {
            let consumed = match next {
                Next::Slow(consumed) => consumed,
                Next::Blocked(consumed) => {
                    // The command ran and asked to block: park until it replies.
                    let args = decoder.args(&rbuf[start..]);
                    if let Some(request) = client.block.take() {
                        flush(stream, state, &mut out, &mut out_peak).await?;
                        let parked = blocked::serve_blocked(stream, state, client, handle, &mut out, args, request);
                        if let blocked::Unblocked::Gone = Box::pin(parked).await {
                            return Ok(());
                        }
                    }
                    start += consumed;
                    settle_woken(state, client).await;
                    continue;
                }
                Next::Settle => {
                    settle_woken(state, client).await;
                    continue;
                }
            };
            let args = decoder.args(&rbuf[start..]);
            let held_qbuf = rbuf.len() - start - consumed;
            // Boxed: the rare path's state machine stays out of this loop's.
            let before = before_command(stream, state, client, handle, &mut out, &mut out_peak, args, held_qbuf);
            let run_it = match Box::pin(before).await? {
                Before::Run => true,
                Before::Rejected => false,
                Before::Killed => return Ok(()),
            };
            if run_it {
                let mark = out.buf.len();
                dispatch::execute(state, client, &mut out, args);
                if let Some(request) = client.block.take() {
                    flush(stream, state, &mut out, &mut out_peak).await?;
                    let parked = blocked::serve_blocked(stream, state, client, handle, &mut out, args, request);
                    if let blocked::Unblocked::Gone = Box::pin(parked).await {
                        return Ok(());
                    }
                }
                after_command(client, handle, &mut out, mark, &args);
                settle_woken(state, client).await;
            } else if client.monitor {
                take_monitor_output(client, handle, &mut out);
            }
            start += consumed;
            if client.close_after_reply {
                break;
            }
        }
        if start == rbuf.len() {
            rbuf.clear();
            start = 0;
            if rbuf.capacity() > 4 * READ_CHUNK {
                rbuf = Vec::with_capacity(READ_CHUNK);
            }
        } else if start > 0 {
            rbuf.drain(..start);
            start = 0;
        }
        if rbuf.len() as u64 > query_limit {
            tracing::warn!(
                "Closing client that reached max query buffer length: id={} addr={}",
                client.id,
                client.addr
            );
            return Ok(());
        }
        if let Some(sub) = &client.subscriber {
            // Messages queued while the batch ran go out after its replies, in the protocol it left (HELLO).
            sub.drain_into(&mut out.buf);
            sub.set_resp3(out.is_resp3());
        }
        // What other clients see of this one, published before its replies leave: whoever reads them can
        // already see their effects in CLIENT LIST.
        out_peak = out_peak.max(out.buf.len());
        publish(client, &rbuf, &out, out_peak);
        // `flush`, written out here: this is the path every request takes.
        if !out.buf.is_empty() {
            // The AOF: no reply acknowledges a write before it is written (and fsync'd with appendfsync always).
            crate::aof::before_reply(state).await;
            stream.write_all(&out.buf).await?;
            ServerStats::add(&state.stats.net_output_bytes, out.buf.len() as u64);
            out.buf.clear();
            if out.buf.capacity() > KEEP_OUTPUT_CAPACITY {
                out.buf = Vec::with_capacity(READ_CHUNK);
                out_peak = 0;
            }
        }
        if client.close_after_reply {
            let _ = stream.shutdown().await;
            return Ok(());
        }
    }
}

/// Refreshes the buffer figures and publishes this client's CLIENT LIST line to its registry handle.
#[allow(clippy::ptr_arg)] // the query buffer's capacity is one of the figures
#[inline]
fn publish(client: &mut ClientState, rbuf: &Vec<u8>, out: &Reply, out_peak: usize) {
    client.io.qbuf = rbuf.len();
    client.io.qbuf_free = rbuf.capacity() - rbuf.len();
    client.io.rbs = out.buf.capacity();
    client.io.rbp = out_peak;
    client.io.obl = 0;
    let now_ms = client.io.last_interaction_ms;
    client.publish(resp_of(out), now_ms);
}

/// Writes the replies due, then releases an oversized output buffer.
async fn flush(stream: &mut TcpStream, state: &ServerState, out: &mut Reply, peak: &mut usize) -> std::io::Result<()> {
    if out.buf.is_empty() {
        return Ok(());
    }
    *peak = (*peak).max(out.buf.len());
    crate::aof::before_reply(state).await;
    stream.write_all(&out.buf).await?;
    ServerStats::add(&state.stats.net_output_bytes, out.buf.len() as u64);
    out.buf.clear();
    if out.buf.capacity() > KEEP_OUTPUT_CAPACITY {
        out.buf = Vec::with_capacity(READ_CHUNK);
        *peak = 0;
    }
    Ok(())
}

/// What to do with a command before running it, when a pause is active or the client is a MONITOR.
enum Gate {
    Run,
    /// A MONITOR client (a replica, to Redis) may not touch the keyspace.
    Reject(&'static CommandSpec),
    /// Held by CLIENT PAUSE.
    Wait(&'static CommandSpec),
}

/// Redis's order: commands that fail lookup, arity or authentication are answered at once (by the
/// dispatcher); then a replica's keyspace commands are refused; then the pause holds what it covers.
/// Replicas, and so MONITOR clients, are never paused.
fn gate(state: &ServerState, client: &ClientState, args: &Args<'_>) -> Gate {
    let Some(spec) = resolve_quietly(args) else { return Gate::Run };
    if !client.authenticated && !spec.has_flag("no_auth") {
        return Gate::Run;
    }
    let writes = is_write(client, spec);
    if client.monitor {
        return if writes || spec.has_flag("readonly") { Gate::Reject(spec) } else { Gate::Run };
    }
    match state.clients.pause_at(unix_time_ms()).0 {
        PauseMode::Off => Gate::Run,
        PauseMode::All => Gate::Wait(spec),
        PauseMode::Write if writes => Gate::Wait(spec),
        PauseMode::Write => Gate::Run,
    }
}

/// Whether CLIENT PAUSE WRITE holds this command: writes, and EXEC of a transaction that queued writes.
fn is_write(client: &ClientState, spec: &CommandSpec) -> bool {
    let writes = |spec: &CommandSpec| spec.has_flag("write") || spec.has_flag("may_replicate");
    writes(spec) || (spec.name == "exec" && client.multi.is_some() && client.tx.queues_writes())
}

/// The table entry the dispatcher would run, without writing any error.
fn resolve_quietly(args: &Args<'_>) -> Option<&'static CommandSpec> {
    if args.is_empty() {
        return None;
    }
    let mut spec = dispatch::lookup(args.get(0))?;
    if !spec.subcommands.is_empty() && args.len() >= 2 {
        spec = dispatch::lookup_subcommand(spec, args.get(1))?;
    }
    (spec.arity_ok(args.len()) && spec.handler.is_some()).then_some(spec)
}

fn reject_replica_command(state: &ServerState, out: &mut Reply, spec: &CommandSpec) {
    out.error("ERR Replica can't interact with the keyspace");
    ServerStats::add(&state.stats.total_error_replies, 1);
    *state.error_codes.lock().entry("ERR".to_string()).or_default() += 1;
    state.command_stats.record_rejected(spec.id);
}

fn is_reset(args: &Args<'_>) -> bool {
    args.len() == 1 && args.get(0).eq_ignore_ascii_case(b"reset")
}

/// CLIENT REPLY after a command: drop what it wrote if replies are off or skipped, and move SKIP along
/// (the command after CLIENT REPLY SKIP is the one skipped). RESET turns OFF and a pending SKIP off.
fn apply_reply_mode(client: &mut ClientState, out: &mut Reply, mark: usize, args: &Args<'_>) {
    if is_reset(args) {
        client.reply &= !(reply::OFF | reply::SKIP_NEXT);
    }
    if client.reply & (reply::OFF | reply::SKIP) != 0 {
        out.truncate(mark);
    }
    let skip = if client.reply & reply::SKIP_NEXT != 0 { reply::SKIP } else { 0 };
    client.reply = (client.reply & reply::OFF) | skip;
}

/// When the last command woke blocked clients, waits (boundedly) until they have been served, so this client's
/// reply and next command come after, as in Redis (see [`crate::blocking`]).
async fn settle_woken(state: &ServerState, client: &mut ClientState) {
    if client.woke_blocked {
        client.woke_blocked = false;
        Box::pin(state.blocking.settle()).await;
    }
}

/// Why [`run_batch`] stopped before the end of the input.
enum Next {
    /// This command (of `usize` bytes) needs the slow path; it has not run.
    Slow(usize),
    /// This command ran and asked to block ([`crate::blocking`]); its bytes are still unconsumed.
    Blocked(usize),
    /// The last command (consumed) woke blocked clients: they are served before this client goes on.
    Settle,
}

/// Decodes and runs the commands in `rbuf[*start..]` while they need nothing special (no pause in force, not
/// a MONITOR client, replies on): one test per command. Returns why it stopped early, or None when the buffer
/// is used up or the client must close.
fn run_batch(
    state: &ServerState,
    client: &mut ClientState,
    out: &mut Reply,
    decoder: &mut RequestDecoder,
    rbuf: &[u8],
    start: &mut usize,
    limits: &Limits,
) -> Option<Next> {
    loop {
        let pending = &rbuf[*start..];
        if pending.is_empty() {
            return None;
        }
        match decoder.decode(pending, limits, !client.authenticated) {
            Ok(Decoded::Command { consumed }) => {
                if client.monitor | (client.reply != 0) || state.clients.pause_active() {
                    return Some(Next::Slow(consumed));
                }
                let args = decoder.args(pending);
                dispatch::execute(state, client, out, args);
                if client.block.is_some() {
                    return Some(Next::Blocked(consumed));
                }
                if client.reply != 0 {
                    // CLIENT REPLY OFF or SKIP just ran (and wrote nothing): move SKIP along.
                    let end = out.buf.len();
                    apply_reply_mode(client, out, end, &args);
                }
                *start += consumed;
                if client.close_after_reply {
                    return None;
                }
                if client.woke_blocked {
                    return Some(Next::Settle);
                }
            }
            Ok(Decoded::Nothing { consumed }) => *start += consumed,
            Ok(Decoded::Incomplete) => return None,
            Err(e) => {
                out.error(&format!("ERR Protocol error: {}", e.0));
                tracing::debug!("Protocol error ({}) from client id={} addr={}", e.0, client.id, client.addr);
                client.close_after_reply = true;
                return None;
            }
        }
    }
}

/// What [`before_command`] decided.
enum Before {
    Run,
    /// Answered with an error instead of running.
    Rejected,
    /// Killed while a pause held the command.
    Killed,
}

/// Before a command, for a client that needs more than "run it" (a pause in force, a MONITOR client, CLIENT
/// REPLY OFF/SKIP): hold it while a pause covers it, refuse a monitor's keyspace commands, end MONITOR on
/// RESET. `held_qbuf`: the query bytes after this command.
#[allow(clippy::too_many_arguments)]
async fn before_command(
    stream: &mut TcpStream,
    state: &ServerState,
    client: &mut ClientState,
    handle: &ClientHandle,
    out: &mut Reply,
    out_peak: &mut usize,
    args: Args<'_>,
    held_qbuf: usize,
) -> std::io::Result<Before> {
    if client.monitor || state.clients.pause_active() {
        loop {
            match gate(state, client, &args) {
                Gate::Run => break,
                Gate::Reject(spec) => {
                    let mark = out.buf.len();
                    reject_replica_command(state, out, spec);
                    if client.reply != 0 {
                        apply_reply_mode(client, out, mark, &args);
                    }
                    return Ok(Before::Rejected);
                }
                Gate::Wait(spec) => {
                    flush(stream, state, out, out_peak).await?;
                    client.io.qbuf = held_qbuf;
                    let held = (spec.name, args.iter().map(<[u8]>::len).sum());
                    client.publish_held(resp_of(out), flag::BLOCKED, held);
                    let _counted = state.clients.postponed();
                    let writes = is_write(client, spec);
                    wait_while_paused(state, handle, writes).await;
                    if handle.is_killed() {
                        return Ok(Before::Killed);
                    }
                }
            }
        }
    }
    if client.monitor && is_reset(&args) {
        // RESET ends MONITOR before it runs (Redis does not show a monitor its own RESET); the lines
        // queued so far come first.
        take_monitor_output(client, handle, out);
        client.monitor = false;
        state.clients.remove_monitor(client.id);
    }
    Ok(Before::Run)
}

/// After a command taken by the slow path: CLIENT REPLY (drop its reply from `mark` on) and a monitor's
/// queued lines.
fn after_command(client: &mut ClientState, handle: &ClientHandle, out: &mut Reply, mark: usize, args: &Args<'_>) {
    if client.reply != 0 {
        apply_reply_mode(client, out, mark, args);
    }
    if client.monitor {
        // A monitor's own commands show right after their replies, as in Redis.
        take_monitor_output(client, handle, out);
    }
}

/// Hands a PAUSE-held command back once the pause no longer covers it, or the client is killed.
async fn wait_while_paused(state: &ServerState, handle: &ClientHandle, writes: bool) {
    let mut changes = state.clients.watch_pause();
    loop {
        let now = unix_time_ms();
        let (mode, end_ms) = state.clients.pause_at(now);
        let held = match mode {
            PauseMode::Off => false,
            PauseMode::All => true,
            PauseMode::Write => writes,
        };
        if !held || handle.is_killed() {
            return;
        }
        let left_ms = u64::try_from(end_ms.saturating_sub(now as i64)).unwrap_or(0) + 1;
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    tokio::time::sleep(Duration::from_millis(left_ms)).await;
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(left_ms)) => {}
            _ = handle.woken() => {}
        }
    }
}

/// A MONITOR client's wait: input from its socket (`Some(bytes read)`), or monitor output to write (`None`).
async fn read_or_monitor_output(
    stream: &TcpStream,
    rbuf: &mut Vec<u8>,
    handle: &ClientHandle,
) -> std::io::Result<Option<usize>> {
    tokio::select! {
        biased;
        _ = handle.woken() => Ok(None),
        read = read_some(stream, rbuf) => read.map(Some),
    }
}

/// A subscriber's wait: input from its socket (`Some(bytes read)`), or messages to write (`None`).
async fn read_or_messages(
    stream: &TcpStream,
    rbuf: &mut Vec<u8>,
    sub: &crate::pubsub::Subscriber,
) -> std::io::Result<Option<usize>> {
    tokio::select! {
        biased;
        _ = sub.woken() => Ok(None),
        read = read_some(stream, rbuf) => read.map(Some),
    }
}

/// Writes the messages queued for a subscriber. A subscriber dropped for its output limit while the write
/// waits (it does not read) ends the write: the connection then closes.
async fn write_messages(
    stream: &mut TcpStream,
    state: &ServerState,
    sub: &crate::pubsub::Subscriber,
) -> std::io::Result<()> {
    loop {
        let data = sub.take();
        if data.is_empty() {
            sub.written();
            return Ok(());
        }
        // Waiting here takes the queue's wake-ups: the loop looks at the queue again after each write.
        let dropped = async {
            while !sub.is_dropped() {
                sub.woken().await;
            }
        };
        tokio::select! {
            written = stream.write_all(&data) => written?,
            _ = dropped => return Err(std::io::Error::other("pubsub output buffer limit")),
        }
        ServerStats::add(&state.stats.net_output_bytes, data.len() as u64);
        sub.written();
    }
}

/// Moves the MONITOR lines queued for this client into its reply buffer (dropped while CLIENT REPLY is OFF).
fn take_monitor_output(client: &ClientState, handle: &ClientHandle, out: &mut Reply) {
    let lines = handle.take_monitor_output();
    if !lines.is_empty() && client.reply & reply::OFF == 0 {
        out.raw(&lines);
    }
}

/// Writes the MONITOR lines queued for this client (dropped while CLIENT REPLY is OFF, as in Redis).
async fn write_monitor_output(
    stream: &mut TcpStream,
    state: &ServerState,
    client: &ClientState,
    handle: &ClientHandle,
) -> std::io::Result<()> {
    let lines = handle.take_monitor_output();
    if lines.is_empty() || client.reply & reply::OFF != 0 {
        return Ok(());
    }
    stream.write_all(&lines).await?;
    ServerStats::add(&state.stats.net_output_bytes, lines.len() as u64);
    Ok(())
}

/// Reads what the socket has into the spare capacity of `buf`.
///
/// A read that did not fill the buffer drained the socket, so we tell tokio the socket is no longer readable
/// instead of letting the next call discover it with one more `read` that fails with EAGAIN. That saves a
/// system call per request on unpipelined traffic (redis-benchmark -P 1). It is race-free: tokio only clears
/// the readiness it observed before our read, and data arriving after it raises a new edge-triggered event.
///
/// Cancel-safe: bytes are only taken from the socket inside the synchronous `try_io` call.
async fn read_some(stream: &TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    loop {
        stream.readable().await?;
        let mut got = None;
        let result = stream.try_io(tokio::io::Interest::READABLE, || {
            let spare = buf.spare_capacity_mut();
            // SAFETY: reading into the vector's spare capacity, at most its length; set_len covers only the
            // bytes the kernel wrote.
            let n = unsafe { libc::read(stream.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
            if n < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let n = n as usize;
            let filled = n == spare.len();
            unsafe { buf.set_len(buf.len() + n) };
            got = Some(n);
            if n > 0 && !filled {
                Err(std::io::ErrorKind::WouldBlock.into())
            } else {
                Ok(n)
            }
        });
        match (result, got) {
            (Ok(n), _) => return Ok(n),
            (Err(e), Some(n)) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(n),
            (Err(e), _) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            (Err(e), _) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            (Err(e), _) => return Err(e),
        }
    }
}

/// Counts a connection in INFO while it lives.
pub struct ConnectedGuard<'a>(pub &'a ServerState);

impl Drop for ConnectedGuard<'_> {
    fn drop(&mut self) {
        self.0.stats.connected_clients.fetch_sub(1, Ordering::Relaxed);
    }
}
