//! The client registry: one handle per live connection, shared by CLIENT LIST/KILL/UNBLOCK, INFO clients,
//! MONITOR and CLIENT PAUSE.
//!
//! Decisions and why:
//! - **Connections publish, others read.** A connection owns its `ClientState` and never shares it; after each
//!   batch of commands it copies the few figures CLIENT LIST prints into its handle (one uncontended lock per
//!   batch, names cloned only when they change). Reading another client's live state would mean locking it
//!   while it runs, and two clients listing each other would deadlock. A listing is therefore at most one
//!   batch stale for other clients; the caller's own line is rendered from its live state.
//! - **Killing is `shutdown(2)`.** CLIENT KILL shuts the target's socket down while holding the registry lock;
//!   a connection leaves the registry before its socket is closed, so the descriptor can never have been reused
//!   by then. The target, idle in a read, wakes with end-of-file: the normal read path pays nothing for this.
//!   Targets parked elsewhere (a pause, a monitor wait, a future blocking command) also get a `Notify`.
//! - **Monitors are queues with a cap.** A fed line is appended to each monitor's byte queue and the monitor's
//!   connection writes it out. The cap is the `normal` class of `client-output-buffer-limit` (monitors are
//!   normal clients for that, as in Redis), and when that class is unlimited (Redis's default) a fixed
//!   [`MONITOR_FALLBACK_LIMIT_BYTES`], so a monitor that does not read cannot grow the server without bound.
//! - **The hot path checks two relaxed atomics**: "is any monitor attached" and "is a pause active".
//! - **Blocking commands get a per-client signal.** A blocking command marks its client with
//!   [`ClientHandle::set_blocked`], parks on [`ClientHandle::woken`] (which also wakes on CLIENT KILL), and on
//!   waking reads [`ClientHandle::take_unblock`]: `Some` means CLIENT UNBLOCK asked it to answer now, as a
//!   timeout or with `-UNBLOCKED client unblocked via CLIENT UNBLOCK`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::{watch, Notify};

use crate::protocol::decode::Args;

mod monitor;
#[cfg(test)]
mod tests;

pub use monitor::monitor_line;

/// Pending MONITOR output above which the monitor is disconnected when `client-output-buffer-limit normal`
/// sets no limit at all.
pub const MONITOR_FALLBACK_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// CLIENT LIST flag bits (the letters Redis prints, in Redis's order).
pub mod flag {
    /// `O`: a MONITOR client.
    pub const MONITOR: u16 = 1 << 0;
    /// `P`: subscribed to at least one channel or pattern.
    pub const PUBSUB: u16 = 1 << 1;
    /// `x`: inside MULTI.
    pub const MULTI: u16 = 1 << 2;
    /// `b`: blocked (a blocking command, or postponed by CLIENT PAUSE).
    pub const BLOCKED: u16 = 1 << 3;
    /// `c`: close once the pending replies are written.
    pub const CLOSE_AFTER_REPLY: u16 = 1 << 4;
    /// `d`: a WATCHed key was modified (EXEC will fail). Not published: read from the WATCH registry when
    /// the line is rendered, since other clients' writes set it.
    pub const DIRTY_CAS: u16 = 1 << 5;
    /// `r`: cluster READONLY.
    pub const READONLY: u16 = 1 << 6;
    /// `e`: CLIENT NO-EVICT on.
    pub const NO_EVICT: u16 = 1 << 7;
    /// `T`: CLIENT NO-TOUCH on (Redis 7.2).
    pub const NO_TOUCH: u16 = 1 << 8;

    pub(super) const LETTERS: [(u16, u8); 9] = [
        (MONITOR, b'O'),
        (PUBSUB, b'P'),
        (MULTI, b'x'),
        (BLOCKED, b'b'),
        (DIRTY_CAS, b'd'),
        (CLOSE_AFTER_REPLY, b'c'),
        (READONLY, b'r'),
        (NO_EVICT, b'e'),
        (NO_TOUCH, b'T'),
    ];
}

/// What never changes for a connection.
#[derive(Debug, Clone, Default)]
pub struct ClientIdentity {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created_ms: u64,
    /// Memory a client takes besides its buffers and names (its state), for `tot-mem=`.
    pub fixed_mem: usize,
}

/// Everything CLIENT LIST prints about a client that changes over its life.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    pub flags: u16,
    pub db: usize,
    pub sub: usize,
    pub psub: usize,
    pub ssub: usize,
    /// Commands queued in MULTI (None: not in MULTI, printed as -1).
    pub multi: Option<usize>,
    pub qbuf: usize,
    pub qbuf_free: usize,
    pub argv_mem: usize,
    pub multi_mem: usize,
    /// Reply buffer size and its recent peak use.
    pub rbs: usize,
    pub rbp: usize,
    /// Output pending in the reply buffer, in queued chunks, and the memory of those chunks.
    pub obl: usize,
    pub oll: usize,
    pub omem: usize,
    pub tot_mem: usize,
    /// Last command (`container|sub`); empty before the first.
    pub cmd: &'static str,
    pub resp: u8,
    pub last_interaction_ms: u64,
}

impl ClientInfo {
    /// `tot-mem=`: the client's fixed size plus its buffers, held arguments, names and queued output.
    pub fn memory(&self, fixed_mem: usize) -> usize {
        let named = |v: &Option<Vec<u8>>| v.as_ref().map_or(0, Vec::len);
        fixed_mem
            + self.qbuf
            + self.qbuf_free
            + self.rbs
            + self.argv_mem
            + self.omem
            + named(&self.name)
            + named(&self.lib_name)
            + named(&self.lib_ver)
    }
}

/// Client classes of CLIENT LIST TYPE / CLIENT KILL TYPE (Redis's `getClientTypeByName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Normal,
    Replica,
    Pubsub,
    Master,
}

impl ClientType {
    pub fn parse(name: &[u8]) -> Option<ClientType> {
        let is = |w: &str| name.eq_ignore_ascii_case(w.as_bytes());
        if is("normal") {
            Some(ClientType::Normal)
        } else if is("slave") || is("replica") {
            Some(ClientType::Replica)
        } else if is("pubsub") {
            Some(ClientType::Pubsub)
        } else if is("master") {
            Some(ClientType::Master)
        } else {
            None
        }
    }

    /// A client's class from its flags (MONITOR clients are normal, as in Redis).
    pub fn of(flags: u16) -> ClientType {
        if flags & flag::PUBSUB != 0 {
            ClientType::Pubsub
        } else {
            ClientType::Normal
        }
    }
}

/// Appends one CLIENT LIST line (without the trailing newline) in Redis 7.2's field order.
pub fn render_line(out: &mut Vec<u8>, who: &ClientIdentity, info: &ClientInfo, now_ms: u64) {
    use std::io::Write;
    let secs = |ms: u64| ms / 1000;
    let mut flags = Vec::with_capacity(8);
    for (bit, letter) in flag::LETTERS {
        if info.flags & bit != 0 {
            flags.push(letter);
        }
    }
    if flags.is_empty() {
        flags.push(b'N');
    }
    let events = if info.obl > 0 || info.omem > 0 { "rw" } else { "r" };
    let _ = write!(out, "id={} addr={} laddr={} fd={} name=", who.id, who.addr, who.laddr, who.fd);
    push_c_string(out, info.name.as_deref());
    let _ = write!(
        out,
        " age={} idle={} flags=",
        secs(now_ms).saturating_sub(secs(who.created_ms)),
        secs(now_ms).saturating_sub(secs(info.last_interaction_ms))
    );
    out.extend_from_slice(&flags);
    let _ = write!(
        out,
        " db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} \
         obl={} oll={} omem={} tot-mem={} events={events} cmd={} user=default redir=-1 resp={} lib-name=",
        info.db,
        info.sub,
        info.psub,
        info.ssub,
        info.multi.map_or(-1, |n| n as i64),
        info.qbuf,
        info.qbuf_free,
        info.argv_mem,
        info.multi_mem,
        info.rbs,
        info.rbp,
        info.obl,
        info.oll,
        info.omem,
        info.tot_mem,
        if info.cmd.is_empty() { "NULL" } else { info.cmd },
        info.resp,
    );
    push_c_string(out, info.lib_name.as_deref());
    out.extend_from_slice(b" lib-ver=");
    push_c_string(out, info.lib_ver.as_deref());
}

/// Redis prints these attributes with `%s`: a NUL ends them.
fn push_c_string(out: &mut Vec<u8>, value: Option<&[u8]>) {
    if let Some(v) = value {
        let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
        out.extend_from_slice(&v[..end]);
    }
}

/// Why CLIENT UNBLOCK released a blocked client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnblockReason {
    /// Answer as if the command's timeout had expired.
    Timeout,
    /// Answer `-UNBLOCKED client unblocked via CLIENT UNBLOCK`.
    Error,
}

/// A MONITOR client's pending lines and its output limits.
#[derive(Debug, Default)]
struct MonitorQueue {
    data: Vec<u8>,
    lines: usize,
    hard_bytes: u64,
    soft_bytes: u64,
    soft_seconds: u64,
    /// When the soft limit was first seen exceeded (0: not exceeded).
    soft_since_ms: u64,
}

/// The part of a blocking command's state other clients can see and act on.
#[derive(Debug, Default)]
struct BlockState {
    /// Blocked by a command that CLIENT UNBLOCK may release.
    blocked: bool,
    /// The block has a timeout (INFO `clients_in_timeout_table`).
    with_timeout: bool,
    unblock: Option<UnblockReason>,
}

/// The figures a connection stores after every batch: plain numbers, so they are relaxed atomic stores
/// (no lock, no comparison) on the hot path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    pub db: usize,
    pub flags: u16,
    pub resp: u8,
    pub sub: usize,
    pub psub: usize,
    pub ssub: usize,
    pub multi: Option<usize>,
    /// Bytes of the commands queued in MULTI (CLIENT LIST `multi-mem`).
    pub multi_mem: usize,
    pub qbuf: usize,
    pub qbuf_free: usize,
    pub argv_mem: usize,
    pub rbs: usize,
    pub rbp: usize,
}

#[derive(Debug, Default)]
struct LiveFigures {
    db: AtomicUsize,
    flags: AtomicU32,
    resp: AtomicU32,
    sub: AtomicUsize,
    psub: AtomicUsize,
    ssub: AtomicUsize,
    /// -1 outside MULTI.
    multi: AtomicI64,
    multi_mem: AtomicUsize,
    qbuf: AtomicUsize,
    qbuf_free: AtomicUsize,
    argv_mem: AtomicUsize,
    rbs: AtomicUsize,
    rbp: AtomicUsize,
    last_interaction_ms: AtomicU64,
}

/// What changes rarely: published under a lock, and only when it changed.
#[derive(Debug, Default)]
struct Names {
    name: Option<Vec<u8>>,
    lib_name: Option<Vec<u8>>,
    lib_ver: Option<Vec<u8>>,
    cmd: &'static str,
}

/// One live connection as other clients see it.
#[derive(Debug)]
pub struct ClientHandle {
    pub who: ClientIdentity,
    live: LiveFigures,
    names: Mutex<Names>,
    killed: AtomicBool,
    /// Wakes the connection when it waits somewhere other than a socket read: killed, unblocked, monitor
    /// output queued, pause released.
    wake: Notify,
    monitor: Mutex<MonitorQueue>,
    block: Mutex<BlockState>,
}

impl ClientHandle {
    fn new(who: ClientIdentity) -> ClientHandle {
        let live = LiveFigures::default();
        live.last_interaction_ms.store(who.created_ms, Ordering::Relaxed);
        live.multi.store(-1, Ordering::Relaxed);
        live.resp.store(2, Ordering::Relaxed);
        ClientHandle {
            who,
            live,
            names: Mutex::new(Names::default()),
            killed: AtomicBool::new(false),
            wake: Notify::new(),
            monitor: Mutex::new(MonitorQueue::default()),
            block: Mutex::new(BlockState::default()),
        }
    }

    /// Stores the per-batch figures.
    #[inline]
    pub fn publish_figures(&self, f: &Figures) {
        let l = &self.live;
        let r = Ordering::Relaxed;
        l.db.store(f.db, r);
        l.flags.store(u32::from(f.flags), r);
        l.resp.store(u32::from(f.resp), r);
        l.sub.store(f.sub, r);
        l.psub.store(f.psub, r);
        l.ssub.store(f.ssub, r);
        l.multi.store(f.multi.map_or(-1, |n| n as i64), r);
        l.multi_mem.store(f.multi_mem, r);
        l.qbuf.store(f.qbuf, r);
        l.qbuf_free.store(f.qbuf_free, r);
        l.argv_mem.store(f.argv_mem, r);
        l.rbs.store(f.rbs, r);
        l.rbp.store(f.rbp, r);
    }

    /// Replaces the last command and the names (name, lib-name, lib-ver), cloning only those that changed.
    pub fn publish_names(&self, cmd: &'static str, names: [&Option<Vec<u8>>; 3]) {
        let mut n = self.names.lock();
        n.cmd = cmd;
        let [name, lib_name, lib_ver] = names;
        if n.name != *name {
            n.name.clone_from(name);
        }
        if n.lib_name != *lib_name {
            n.lib_name.clone_from(lib_name);
        }
        if n.lib_ver != *lib_ver {
            n.lib_ver.clone_from(lib_ver);
        }
    }

    /// Records input from the client (CLIENT LIST `idle=`); one relaxed store per read.
    #[inline]
    pub fn touch(&self, now_ms: u64) {
        self.live.last_interaction_ms.store(now_ms, Ordering::Relaxed);
    }

    /// What CLIENT LIST prints for this client, from the published figures and the live MONITOR queue.
    pub fn info(&self) -> ClientInfo {
        let (name, lib_name, lib_ver, cmd) = {
            let n = self.names.lock();
            (n.name.clone(), n.lib_name.clone(), n.lib_ver.clone(), n.cmd)
        };
        let l = &self.live;
        let r = Ordering::Relaxed;
        let (pending, lines) = self.monitor_pending();
        let mut info = ClientInfo {
            name,
            lib_name,
            lib_ver,
            flags: l.flags.load(r) as u16,
            db: l.db.load(r),
            sub: l.sub.load(r),
            psub: l.psub.load(r),
            ssub: l.ssub.load(r),
            multi: usize::try_from(l.multi.load(r)).ok(),
            qbuf: l.qbuf.load(r),
            qbuf_free: l.qbuf_free.load(r),
            argv_mem: l.argv_mem.load(r),
            multi_mem: l.multi_mem.load(r),
            rbs: l.rbs.load(r),
            rbp: l.rbp.load(r),
            obl: 0,
            oll: lines,
            omem: pending,
            tot_mem: 0,
            cmd,
            resp: l.resp.load(r) as u8,
            last_interaction_ms: l.last_interaction_ms.load(r),
        };
        info.tot_mem = info.memory(self.who.fixed_mem);
        info
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    /// Resolves when something may need the connection's attention (see the `wake` field); callers re-check
    /// their conditions, since a wake-up can be stale.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Bytes and lines of MONITOR output waiting to be written.
    pub fn monitor_pending(&self) -> (usize, usize) {
        let q = self.monitor.lock();
        (q.data.len(), q.lines)
    }

    /// Takes the queued MONITOR output for writing.
    pub fn take_monitor_output(&self) -> Vec<u8> {
        let mut q = self.monitor.lock();
        q.lines = 0;
        std::mem::take(&mut q.data)
    }

    /// Sets the MONITOR output limits (`client-output-buffer-limit normal`); all zero means the fallback cap.
    pub fn set_monitor_limits(&self, hard_bytes: u64, soft_bytes: u64, soft_seconds: u64) {
        let mut q = self.monitor.lock();
        if hard_bytes == 0 && soft_bytes == 0 {
            q.hard_bytes = MONITOR_FALLBACK_LIMIT_BYTES;
            q.soft_bytes = 0;
        } else {
            q.hard_bytes = hard_bytes;
            q.soft_bytes = soft_bytes;
        }
        q.soft_seconds = soft_seconds;
    }

    /// Queues one MONITOR line; false when the output limit is exceeded (the caller then kills the client).
    fn push_monitor_line(&self, line: &[u8], now_ms: u64) -> bool {
        if self.is_killed() {
            return true;
        }
        let mut q = self.monitor.lock();
        let len = (q.data.len() + line.len()) as u64;
        if q.hard_bytes > 0 && len > q.hard_bytes {
            return false;
        }
        if q.soft_bytes > 0 && len > q.soft_bytes {
            if q.soft_since_ms == 0 {
                q.soft_since_ms = now_ms.max(1);
            } else if now_ms.saturating_sub(q.soft_since_ms) > q.soft_seconds * 1000 {
                return false;
            }
        } else {
            q.soft_since_ms = 0;
        }
        q.data.extend_from_slice(line);
        q.lines += 1;
        drop(q);
        self.wake.notify_one();
        true
    }

    /// For blocking commands: marks this client blocked (CLIENT UNBLOCK may release it) or no longer blocked.
    pub fn set_blocked(&self, registry: &ClientRegistry, blocked: bool, with_timeout: bool) {
        let mut b = self.block.lock();
        if b.blocked != blocked {
            if blocked {
                registry.blocked.fetch_add(1, Ordering::Relaxed);
            } else {
                registry.blocked.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let timed = blocked && with_timeout;
        if b.with_timeout != timed {
            if timed {
                registry.in_timeout_table.fetch_add(1, Ordering::Relaxed);
            } else {
                registry.in_timeout_table.fetch_sub(1, Ordering::Relaxed);
            }
        }
        b.blocked = blocked;
        b.with_timeout = timed;
        b.unblock = None;
    }

    /// For blocking commands: the CLIENT UNBLOCK request received while blocked, if any (taken once).
    pub fn take_unblock(&self) -> Option<UnblockReason> {
        self.block.lock().unblock.take()
    }
}

/// How CLIENT PAUSE restricts clients (ordered from least to most restrictive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PauseMode {
    Off,
    /// Only commands that write or may replicate wait.
    Write,
    /// Every command waits.
    All,
}

#[derive(Debug)]
struct Pause {
    /// Fast check: true while a pause may be in force (it may have expired; `mode_at` settles that).
    active: AtomicBool,
    /// Mode and end (Unix ms, signed: Redis lets a huge timeout wrap to the past, which ends it at once).
    state: Mutex<(PauseMode, i64)>,
    /// Bumped whenever the pause is lifted or changed, so waiting clients re-check.
    changed: watch::Sender<u64>,
}

/// Figures for INFO clients.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientsSummary {
    pub max_input_buffer: usize,
    pub max_output_buffer: usize,
    pub blocked: usize,
    pub in_timeout_table: usize,
}

/// Every live connection, the MONITOR list and the CLIENT PAUSE state.
#[derive(Debug)]
pub struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    monitors: RwLock<Vec<Arc<ClientHandle>>>,
    monitor_count: AtomicUsize,
    pause: Pause,
    /// Clients blocked by a command or postponed by a pause (INFO `blocked_clients`).
    blocked: AtomicUsize,
    in_timeout_table: AtomicUsize,
    /// A clock the cron refreshes every tick, read per batch instead of asking the system (Redis's cached
    /// `server.unixtime` plays the same part); 0 until the first tick.
    clock_ms: AtomicU64,
}

impl Default for ClientRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientRegistry {
    pub fn new() -> ClientRegistry {
        ClientRegistry {
            clients: Mutex::new(BTreeMap::new()),
            monitors: RwLock::new(Vec::new()),
            monitor_count: AtomicUsize::new(0),
            pause: Pause {
                active: AtomicBool::new(false),
                state: Mutex::new((PauseMode::Off, 0)),
                changed: watch::channel(0).0,
            },
            blocked: AtomicUsize::new(0),
            in_timeout_table: AtomicUsize::new(0),
            clock_ms: AtomicU64::new(0),
        }
    }

    /// The cron's clock (Unix ms, at most one cron period old), or the system clock before the first tick.
    #[inline]
    pub fn coarse_now_ms(&self) -> u64 {
        match self.clock_ms.load(Ordering::Relaxed) {
            0 => crate::state::unix_time_ms(),
            ms => ms,
        }
    }

    /// Called by the cron on every tick.
    pub fn tick_clock(&self, now_ms: u64) {
        self.clock_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Adds a connection; it must call [`deregister`](Self::deregister) before closing its socket.
    pub fn register(&self, who: ClientIdentity) -> Arc<ClientHandle> {
        let handle = Arc::new(ClientHandle::new(who));
        self.clients.lock().insert(handle.who.id, handle.clone());
        handle
    }

    /// Removes a connection (and its MONITOR and block registrations).
    pub fn deregister(&self, handle: &ClientHandle) {
        self.remove_monitor(handle.who.id);
        handle.set_blocked(self, false, false);
        self.clients.lock().remove(&handle.who.id);
    }

    /// A live (not killed) connection by id.
    pub fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.clients.lock().get(&id).filter(|h| !h.is_killed()).cloned()
    }

    /// Every live connection, in id (= connection) order. Killed ones are left out: Redis frees a killed
    /// client at once, while ours may take a moment to notice.
    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.clients.lock().values().filter(|h| !h.is_killed()).cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes a connection now: shuts its socket down (its read sees end-of-file) and wakes it wherever it
    /// waits. False if it was already gone or already killed.
    pub fn kill(&self, handle: &ClientHandle) -> bool {
        let clients = self.clients.lock();
        if !clients.contains_key(&handle.who.id) || handle.killed.swap(true, Ordering::Relaxed) {
            return false;
        }
        if handle.who.fd >= 0 {
            // SAFETY: the connection is still registered, so it has not closed its socket yet (it deregisters
            // first, under this same lock): the descriptor is still its socket. shutdown() on it only changes
            // the socket's state; the owner still closes it.
            unsafe { libc::shutdown(handle.who.fd, libc::SHUT_RDWR) };
        }
        drop(clients);
        handle.wake.notify_one();
        true
    }

    /// CLIENT UNBLOCK: releases a client blocked by a command. False if there is no such blocked client.
    pub fn unblock(&self, id: u64, reason: UnblockReason) -> bool {
        let Some(handle) = self.get(id) else { return false };
        let mut b = handle.block.lock();
        if !b.blocked || b.unblock.is_some() {
            return false;
        }
        b.unblock = Some(reason);
        drop(b);
        handle.wake.notify_one();
        true
    }

    /// Counts a client parked by CLIENT PAUSE (INFO `blocked_clients`) until the guard drops.
    pub fn postponed(&self) -> PostponedGuard<'_> {
        self.blocked.fetch_add(1, Ordering::Relaxed);
        PostponedGuard(self)
    }

    pub fn summary(&self) -> ClientsSummary {
        let mut s = ClientsSummary {
            blocked: self.blocked.load(Ordering::Relaxed),
            in_timeout_table: self.in_timeout_table.load(Ordering::Relaxed),
            ..Default::default()
        };
        for handle in self.all() {
            let info = handle.info();
            s.max_input_buffer = s.max_input_buffer.max(info.qbuf + info.qbuf_free);
            s.max_output_buffer = s.max_output_buffer.max(info.omem);
        }
        s
    }

    // ---- MONITOR ----

    /// True when at least one MONITOR client is attached (the dispatcher's per-command check).
    #[inline]
    pub fn has_monitors(&self) -> bool {
        self.monitor_count.load(Ordering::Relaxed) > 0
    }

    pub fn add_monitor(&self, handle: Arc<ClientHandle>) {
        let mut monitors = self.monitors.write();
        if monitors.iter().all(|m| m.who.id != handle.who.id) {
            monitors.push(handle);
            self.monitor_count.store(monitors.len(), Ordering::Relaxed);
        }
    }

    pub fn remove_monitor(&self, id: u64) {
        if !self.has_monitors() {
            return;
        }
        let mut monitors = self.monitors.write();
        monitors.retain(|m| m.who.id != id);
        self.monitor_count.store(monitors.len(), Ordering::Relaxed);
    }

    /// Streams one executed command to every monitor, formatted as Redis's `replicationFeedMonitors`:
    /// `+<sec>.<usec> [<db> <addr>] "arg" "arg"...`, with passwords redacted as the commands themselves do.
    /// Out of line and cold: it runs only while a monitor is attached, and stays out of the dispatcher's code.
    #[cold]
    #[inline(never)]
    pub fn feed_monitors(&self, db: usize, addr: &str, args: &Args<'_>) {
        let us = crate::state::unix_time_us();
        let line = monitor_line(us, db, addr, args.iter());
        let now_ms = us / 1000;
        let mut over_limit = Vec::new();
        for m in self.monitors.read().iter() {
            if !m.push_monitor_line(&line, now_ms) {
                over_limit.push(m.clone());
            }
        }
        for m in over_limit {
            tracing::warn!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                m.who.id,
                m.who.addr
            );
            self.remove_monitor(m.who.id);
            self.kill(&m);
        }
    }

    // ---- CLIENT PAUSE ----

    /// Pauses clients until `end_ms` (or extends the pause; the stricter mode and the later end win).
    pub fn pause(&self, end_ms: i64, mode: PauseMode) {
        let mut state = self.pause.state.lock();
        if state.0 == PauseMode::Off {
            *state = (mode, end_ms);
        } else {
            state.0 = state.0.max(mode);
            state.1 = state.1.max(end_ms);
        }
        self.pause.active.store(state.0 != PauseMode::Off, Ordering::Release);
        drop(state);
        self.pause.changed.send_modify(|g| *g += 1);
    }

    pub fn unpause(&self) {
        let mut state = self.pause.state.lock();
        *state = (PauseMode::Off, 0);
        self.pause.active.store(false, Ordering::Release);
        drop(state);
        self.pause.changed.send_modify(|g| *g += 1);
    }

    /// Fast check for the connection loop: false means no pause is in force.
    #[inline]
    pub fn pause_active(&self) -> bool {
        self.pause.active.load(Ordering::Acquire)
    }

    /// The pause in force at `now_ms` and its end; lifts an expired pause (as Redis does lazily).
    pub fn pause_at(&self, now_ms: u64) -> (PauseMode, i64) {
        if !self.pause_active() {
            return (PauseMode::Off, 0);
        }
        let mut state = self.pause.state.lock();
        if state.0 != PauseMode::Off && state.1 < now_ms as i64 {
            *state = (PauseMode::Off, 0);
            self.pause.active.store(false, Ordering::Release);
            drop(state);
            self.pause.changed.send_modify(|g| *g += 1);
            return (PauseMode::Off, 0);
        }
        *state
    }

    /// A receiver that sees every later pause change.
    pub fn watch_pause(&self) -> watch::Receiver<u64> {
        self.pause.changed.subscribe()
    }
}

/// See [`ClientRegistry::postponed`].
pub struct PostponedGuard<'a>(&'a ClientRegistry);

impl Drop for PostponedGuard<'_> {
    fn drop(&mut self) {
        self.0.blocked.fetch_sub(1, Ordering::Relaxed);
    }
}
