//! Snapshots: SAVE, BGSAVE, the `save` schedule, loading at start-up, saving at shutdown, and the figures
//! INFO persistence reports.
//!
//! # How BGSAVE avoids blocking clients: fork with every shard held
//! The keyspace is 16 shards behind mutexes. BGSAVE locks all of them (waiting only for the commands in
//! flight, microseconds each), calls `fork()`, and the parent unlocks at once: the pause clients see is the
//! fork itself (copying page tables, a few milliseconds for millions of keys, as Redis pays). The child owns
//! a copy-on-write image of a consistent keyspace — every shard was locked at the same instant, so
//! multi-key commands and transactions are never torn — and writes it at its own pace while the parent's
//! threads keep serving. We chose this over per-shard incremental copying because a copy either holds a
//! shard for the whole copy (latency spikes on that shard) or gives up cross-shard consistency, and it
//! doubles memory up front, where copy-on-write only duplicates the pages written during the save.
//!
//! Rules for the child, which inherits only the forking thread: it touches no lock another thread could
//! have held at fork time (no logging, no config store, no watch registry: everything it needs is read
//! before forking; the view it inherits already "holds" every shard), iterates with read-only keyspace
//! calls, writes with plain syscalls (`File` is a bare fd), reports failure through a pipe and leaves with
//! `_exit`, so no destructor or atexit handler of the parent runs. Allocation goes through mimalloc, whose
//! per-thread heap the forking thread owns. The child lowers its priority (nice 10) and moves to
//! `bgsave_cpulist` when set: on a server pinned to one core it then takes the CPU mostly while the
//! parent idles, which keeps the clients' tail latency close to its level without a save.
//!
//! # Files
//! A save writes `temp-<pid>.rdb` in `dir`, fsyncs it, renames it over `dbfilename` and fsyncs the
//! directory, so a crash mid-save never damages the previous snapshot.

use std::io::Read;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use super::file::{self, AccessHint, KeyRecord, WriteOptions};
use super::types;
use crate::config::MaxmemoryPolicy;
use crate::keyspace::DbView;
use crate::state::{unix_time_ms, ServerState};

/// True while a BGSAVE child of this process runs. Redis stops updating access clocks then ("copy on write
/// madness": every touched entry would copy its page); lookups can read this one flag to do the same.
static CHILD_ACTIVE: AtomicBool = AtomicBool::new(false);

/// Whether a BGSAVE child is running (one relaxed load; for the hot lookup path).
#[inline]
pub fn child_active() -> bool {
    CHILD_ACTIVE.load(Ordering::Relaxed)
}

/// True while writes must be refused with [`MISCONF`]: `stop-writes-on-bgsave-error yes`, save points
/// configured, and the last background save failed (Redis's `writeCommandsDeniedByDiskError`). Kept by the
/// cron, so the dispatcher's check is one load.
static WRITES_REFUSED: AtomicBool = AtomicBool::new(false);

/// The error write commands get while [`writes_refused`].
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist \
                           to disk. Commands that may modify the data set are disabled, because this instance is \
                           configured to report errors during writes if RDB snapshotting fails \
                           (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the \
                           RDB error.";

/// Whether write commands must be refused with [`MISCONF`] (for the dispatcher).
#[inline]
pub fn writes_refused() -> bool {
    WRITES_REFUSED.load(Ordering::Relaxed)
}

/// Redis's `CONFIG_BGSAVE_RETRY_DELAY`: after a failed background save, the schedule waits this long.
const BGSAVE_RETRY_DELAY_MS: u64 = 5_000;

struct Child {
    pid: libc::pid_t,
    started: Instant,
    /// `dirty` when the child was forked: what a successful save covers.
    dirty_at_start: u64,
    /// Read end of the pipe the child reports through (its key count, or its error message).
    err_fd: libc::c_int,
}

struct Inner {
    lastsave_secs: u64,
    last_bgsave_ok: bool,
    last_bgsave_try_ms: u64,
    last_bgsave_time_sec: i64,
    child: Option<Child>,
    bgsave_scheduled: bool,
    rdb_saves: u64,
    last_load_keys_loaded: u64,
    last_load_keys_expired: u64,
    /// INFO stats `latest_fork_usec` and `total_forks` (BGSAVE forks).
    latest_fork_usec: u64,
    total_forks: u64,
}

/// The persistence state of one server.
pub struct Persistence {
    inner: Mutex<Inner>,
}

/// The persistence state of `state` (a field of the server state).
#[inline]
pub fn of(state: &ServerState) -> &Persistence {
    &state.persistence
}

impl Persistence {
    /// A server's persistence state before anything was loaded or saved (`started_unix_ms`: LASTSAVE until
    /// the first save, as Redis reports its start time).
    pub fn new(started_unix_ms: u64) -> Persistence {
        Persistence {
            inner: Mutex::new(Inner {
                lastsave_secs: started_unix_ms / 1000,
                last_bgsave_ok: true,
                last_bgsave_try_ms: 0,
                last_bgsave_time_sec: -1,
                child: None,
                bgsave_scheduled: false,
                rdb_saves: 0,
                last_load_keys_loaded: 0,
                last_load_keys_expired: 0,
                latest_fork_usec: 0,
                total_forks: 0,
            }),
        }
    }
}

impl Persistence {
    pub fn lastsave_secs(&self) -> u64 {
        self.inner.lock().lastsave_secs
    }

    pub fn bgsave_in_progress(&self) -> bool {
        self.inner.lock().child.is_some()
    }

    /// Whether a BGSAVE child is still running, collecting it first if it has just finished.
    pub fn bgsave_running(&self, state: &ServerState) -> bool {
        let mut inner = self.inner.lock();
        reap(state, &mut inner, false);
        inner.child.is_some()
    }

    /// Asks the cron to start a BGSAVE as soon as none is running (BGSAVE SCHEDULE, BGSAVE inside MULTI).
    pub fn schedule_bgsave(&self) {
        self.inner.lock().bgsave_scheduled = true;
    }
}

/// The snapshot file's path.
pub fn rdb_path(state: &ServerState) -> PathBuf {
    let s = state.config.snapshot();
    s.dir.join(&s.dbfilename)
}

fn config_yes(state: &ServerState, name: &str) -> bool {
    state.config.get(&[name.as_bytes()]).first().is_none_or(|(_, v)| v == "yes")
}

/// Everything a save needs from the configuration, read before any fork.
pub fn write_options(state: &ServerState) -> WriteOptions {
    let policy = state.config.snapshot().maxmemory_policy;
    let hint = match policy {
        MaxmemoryPolicy::AllkeysLru | MaxmemoryPolicy::VolatileLru => AccessHint::LruIdle,
        MaxmemoryPolicy::AllkeysLfu | MaxmemoryPolicy::VolatileLfu => AccessHint::LfuFreq,
        _ => AccessHint::None,
    };
    WriteOptions {
        compression: config_yes(state, "rdbcompression"),
        checksum: config_yes(state, "rdbchecksum"),
        ctime_secs: unix_time_ms() / 1000,
        used_mem: crate::alloc::allocated_bytes() as u64,
        hint,
        limits: state.tunables.encoding_limits(),
        aof_base: false,
        key_save_delay_us: state
            .config
            .get(&[b"rdb-key-save-delay"])
            .first()
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0),
    }
}

/// Redis's `debugDelay`: the per-key pause of `rdb-key-save-delay`.
fn key_save_delay(us: i64) {
    let us = if us < 0 { u64::from(fastrand::i64(..).rem_euclid(us.saturating_neg()) == 0) } else { us as u64 };
    if us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(us));
    }
}

/// Writes every database of `view` (which holds every shard) as an RDB file to `w`. Returns the sink and
/// the number of keys written. Uses only read-only keyspace calls (safe in a forked child).
pub fn write_snapshot<W: std::io::Write>(
    view: &mut DbView<'_>,
    databases: usize,
    opts: &WriteOptions,
    w: W,
) -> Result<(W, u64), file::WriteError> {
    let original_db = view.db_index();
    let now_ms = view.now_ms();
    let policy = view.access_policy();
    let mut out = file::Writer::new(w, opts)?;
    let mut total = 0u64;
    let mut result = Ok(());
    'dbs: for db in 0..databases {
        view.select(db);
        let mut keys: Vec<Vec<u8>> = Vec::new();
        view.keys_matching(b"*", |k| keys.push(k.to_vec()));
        if keys.is_empty() {
            continue;
        }
        let volatile = view.overheads().iter().find(|o| o.db == db).map_or(0, |o| o.volatile);
        out.select_db(db, keys.len(), volatile.min(keys.len()));
        for key in &keys {
            let r = view.peek_raw(key, |e| match e {
                Some(e) => {
                    let hint = match opts.hint {
                        AccessHint::None => None,
                        AccessHint::LruIdle => {
                            Some((AccessHint::LruIdle, crate::keyspace::lru_idle_ms(e.access_clock, now_ms) / 1000))
                        }
                        AccessHint::LfuFreq => Some((
                            AccessHint::LfuFreq,
                            u64::from(crate::keyspace::lfu_decayed_counter(e.access_clock, now_ms, policy.decay_time)),
                        )),
                    };
                    if opts.key_save_delay_us != 0 {
                        key_save_delay(opts.key_save_delay_us);
                    }
                    out.key(key, &e.value, e.expire_at_ms, hint).map(|()| 1)
                }
                None => Ok(0),
            });
            match r {
                Ok(n) => total += n,
                Err(e) => {
                    result = Err(e);
                    break 'dbs;
                }
            }
        }
    }
    view.select(original_db);
    result?;
    Ok((out.finish()?, total))
}

fn fsync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes the snapshot to `temp-<pid>.rdb` next to `path`, fsyncs and renames it. Returns the key count.
pub fn save_to_path(view: &mut DbView<'_>, databases: usize, opts: &WriteOptions, path: &Path) -> Result<u64, String> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    // SAFETY: getpid has no preconditions.
    let tmp = dir.join(format!("temp-{}.rdb", unsafe { libc::getpid() }));
    let result = (|| {
        let f = std::fs::File::create(&tmp).map_err(|e| {
            format!(
                "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
                tmp.display(),
                dir.display()
            )
        })?;
        let (f, keys) =
            write_snapshot(view, databases, opts, f).map_err(|e| format!("Write error saving DB on disk: {e}"))?;
        f.sync_all().map_err(|e| format!("Write error saving DB on disk: {e}"))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| {
            format!(
                "Error moving temp DB file {} on the final destination {} (in server root dir {}): {e}",
                tmp.display(),
                path.display(),
                dir.display()
            )
        })?;
        fsync_dir(&dir);
        Ok(keys)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Runs `f` with a view holding every shard: `current` itself when it does (inside EXEC), else a fresh
/// lock of all shards (key-less commands hold none, so this cannot deadlock).
pub fn with_all_shards<R>(state: &ServerState, current: &mut DbView<'_>, f: impl FnOnce(&mut DbView<'_>) -> R) -> R {
    if current.holds_all_shards() {
        let db = current.db_index();
        let r = f(current);
        current.select(db);
        r
    } else {
        let mut view = state.keyspace.lock_all(0, unix_time_ms());
        f(&mut view)
    }
}

/// SAVE (and DEBUG RELOAD's, SHUTDOWN's): a synchronous save through `view`, with Redis's log lines and
/// bookkeeping (`dirty` reset, LASTSAVE). Like Redis's `rdbSave` it does not look at a running BGSAVE
/// (SAVE itself refuses then; both write their own temp file).
pub fn save_sync(state: &ServerState, view: &mut DbView<'_>) -> Result<(), String> {
    let p = of(state);
    let opts = write_options(state);
    let path = rdb_path(state);
    let started = Instant::now();
    let dirty = state.stats.dirty.load(Ordering::Relaxed);
    let result = save_to_path(view, state.keyspace.databases(), &opts, &path);
    let mut inner = p.inner.lock();
    inner.rdb_saves += 1;
    match result {
        Ok(keys) => {
            tracing::info!("DB saved on disk ({keys} keys, {:.3} seconds)", started.elapsed().as_secs_f64());
            let _ =
                state.stats.dirty.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| Some(d.saturating_sub(dirty)));
            inner.lastsave_secs = unix_time_ms() / 1000;
            inner.last_bgsave_ok = true;
            WRITES_REFUSED.store(false, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => {
            tracing::warn!("{e}");
            Err(e)
        }
    }
}

/// Starts a background save (BGSAVE, the schedule). `view` must hold every shard; it is released by the
/// caller right after this returns, the child keeping its copy.
pub fn start_bgsave(state: &ServerState, view: &mut DbView<'_>) -> Result<libc::pid_t, String> {
    let p = of(state);
    let mut inner = p.inner.lock();
    reap(state, &mut inner, false);
    if inner.child.is_some() {
        return Err("Background save already in progress".into());
    }
    let opts = write_options(state);
    let path = rdb_path(state);
    let databases = state.keyspace.databases();
    let dirty = state.stats.dirty.load(Ordering::Relaxed);
    let cpus = state.config.get(&[b"bgsave_cpulist"]).first().map(|(_, v)| parse_cpulist(v)).unwrap_or_default();
    inner.last_bgsave_try_ms = unix_time_ms();
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe writes two fds into the array we pass.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        let e = std::io::Error::last_os_error();
        inner.last_bgsave_ok = false;
        return Err(format!("Can't save in background: pipe: {e}"));
    }
    // The parent never blocks on the read end: another fork (an AOF rewrite on another thread) may briefly
    // hold a copy of the write end.
    // SAFETY: fcntl on the fd we just created.
    unsafe { libc::fcntl(fds[0], libc::F_SETFL, libc::O_NONBLOCK) };
    let fork_started = Instant::now();
    // SAFETY: the child only runs `save_to_path` (no lock another thread may hold, see the module doc) and
    // leaves with `_exit`; the parent continues normally.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: closing our copy of the pipe's read end; the write end is ours.
        unsafe { libc::close(fds[0]) };
        child_scheduling(&cpus);
        let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            save_to_path(view, databases, &opts, &path)
        })) {
            Ok(Ok(keys)) => {
                let msg = itoa::Buffer::new().format(keys).to_string();
                // SAFETY: writing our own buffer to our own fd.
                unsafe { libc::write(fds[1], msg.as_ptr().cast(), msg.len()) };
                0
            }
            Ok(Err(msg)) => {
                // SAFETY: writing our own buffer to our own fd.
                unsafe { libc::write(fds[1], msg.as_ptr().cast(), msg.len()) };
                1
            }
            Err(_) => 2,
        };
        // SAFETY: leaving the child without running the parent's destructors or atexit handlers.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: closing the parent's copy of the write end.
    unsafe { libc::close(fds[1]) };
    if pid < 0 {
        let e = std::io::Error::last_os_error();
        // SAFETY: the read end is ours.
        unsafe { libc::close(fds[0]) };
        inner.last_bgsave_ok = false;
        tracing::warn!("Can't save in background: fork: {e}");
        return Err(format!("Can't save in background: fork: {e}"));
    }
    inner.latest_fork_usec = fork_started.elapsed().as_micros() as u64;
    inner.total_forks += 1;
    inner.rdb_saves += 1;
    inner.bgsave_scheduled = false;
    inner.child = Some(Child { pid, started: Instant::now(), dirty_at_start: dirty, err_fd: fds[0] });
    CHILD_ACTIVE.store(true, Ordering::Relaxed);
    tracing::info!("Background saving started by pid {pid}");
    Ok(pid)
}

/// CPUs of a `bgsave_cpulist` value (`0-3,8`, Redis's format); empty when unset or malformed.
fn parse_cpulist(v: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        match (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
            (Ok(a), Ok(b)) if a <= b && b < 1024 => out.extend(a..=b),
            _ => return Vec::new(),
        }
    }
    out
}

/// In the child: yield the CPU to the serving parent (nice 10: about a tenth of a shared core while the
/// parent is busy, all of it while the parent idles), and run on `bgsave_cpulist` when configured, so the
/// save competes as little as possible with client latency.
fn child_scheduling(cpus: &[usize]) {
    // SAFETY: plain syscalls on the calling process with valid arguments.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
        if !cpus.is_empty() {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &c in cpus {
                libc::CPU_SET(c, &mut set);
            }
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
}

/// Locks every shard and starts a background save (from the cron or a key-less command).
fn bgsave_now(state: &ServerState) -> Result<libc::pid_t, String> {
    let mut view = state.keyspace.lock_all(0, unix_time_ms());
    start_bgsave(state, &mut view)
}

/// Public entry for BGSAVE: forks through `current` if it holds every shard, else locks them all.
pub fn bgsave(state: &ServerState, current: &mut DbView<'_>) -> Result<libc::pid_t, String> {
    if current.holds_all_shards() {
        start_bgsave(state, current)
    } else {
        bgsave_now(state)
    }
}

/// Collects a finished child, if any: success moves LASTSAVE and subtracts the saved changes from `dirty`.
fn reap(state: &ServerState, inner: &mut Inner, block: bool) {
    let Some(child) = &inner.child else { return };
    let mut status: libc::c_int = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let r = unsafe { libc::waitpid(child.pid, &mut status, if block { 0 } else { libc::WNOHANG }) };
    if r == 0 {
        return;
    }
    let Some(child) = inner.child.take() else { return };
    CHILD_ACTIVE.store(false, Ordering::Relaxed);
    // SAFETY: the read end is ours; File takes ownership and closes it.
    let mut pipe = unsafe { std::fs::File::from_raw_fd(child.err_fd) };
    let mut buf = [0u8; 4096];
    let n = pipe.read(&mut buf).unwrap_or(0);
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    inner.last_bgsave_time_sec = child.started.elapsed().as_secs() as i64;
    if r < 0 {
        inner.last_bgsave_ok = false;
        tracing::warn!("Background saving error: waitpid: {}", std::io::Error::last_os_error());
        return;
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        tracing::info!(
            "Background saving terminated with success ({} keys, {:.3} seconds)",
            msg.trim(),
            child.started.elapsed().as_secs_f64()
        );
        let _ = state
            .stats
            .dirty
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| Some(d.saturating_sub(child.dirty_at_start)));
        inner.lastsave_secs = unix_time_ms() / 1000;
        inner.last_bgsave_ok = true;
        WRITES_REFUSED.store(false, Ordering::Relaxed);
        return;
    }
    WRITES_REFUSED.store(
        config_yes(state, "stop-writes-on-bgsave-error") && !state.config.snapshot().save.is_empty(),
        Ordering::Relaxed,
    );
    if libc::WIFSIGNALED(status) {
        tracing::warn!("Background saving terminated by signal {}", libc::WTERMSIG(status));
        let dir = rdb_path(state).parent().map(Path::to_path_buf).unwrap_or_default();
        let _ = std::fs::remove_file(dir.join(format!("temp-{}.rdb", child.pid)));
        inner.last_bgsave_ok = false;
    } else {
        tracing::warn!("Background saving error{}{}", if msg.is_empty() { "" } else { ": " }, msg);
        inner.last_bgsave_ok = false;
    }
}

/// Whether an AOF rewrite child is running (Redis's `hasActiveChildProcess` for the other child type).
/// Never called with this module's lock held: the AOF module asks us while holding its own.
pub fn aof_child_active(state: &ServerState) -> bool {
    crate::aof::of(state).status.lock().child.is_some()
}

/// Called by the server cron every tick: collects a finished BGSAVE, runs a scheduled one, and applies the
/// `save <seconds> <changes>` points (none of that while an AOF rewrite child runs, as Redis).
pub fn cron(state: &ServerState, now_ms: u64) {
    let p = of(state);
    let aof_busy = aof_child_active(state);
    let stop_writes = config_yes(state, "stop-writes-on-bgsave-error");
    let has_save_points = !state.config.snapshot().save.is_empty();
    let start = {
        let mut inner = p.inner.lock();
        reap(state, &mut inner, false);
        WRITES_REFUSED.store(stop_writes && has_save_points && !inner.last_bgsave_ok, Ordering::Relaxed);
        if inner.child.is_some() || aof_busy {
            None
        } else if inner.bgsave_scheduled {
            Some(String::new())
        } else {
            let dirty = state.stats.dirty.load(Ordering::Relaxed);
            let now_secs = now_ms / 1000;
            let retry_ok =
                inner.last_bgsave_ok || now_ms.saturating_sub(inner.last_bgsave_try_ms) > BGSAVE_RETRY_DELAY_MS;
            state.config.snapshot().save.iter().find_map(|&(secs, changes)| {
                (dirty >= changes && now_secs.saturating_sub(inner.lastsave_secs) > secs && retry_ok)
                    .then(|| format!("{changes} changes in {secs} seconds. Saving..."))
            })
        }
    };
    if let Some(line) = start {
        if !line.is_empty() {
            tracing::info!("{line}");
        }
        let _ = bgsave_now(state);
    }
}

/// FLUSHALL's persistence side (Redis's `flushAllDataAndResetRDB`), for the FLUSHALL handler to call
/// after emptying the databases through `view` (which holds every shard): a running BGSAVE is killed (its
/// image is stale), and with save points configured the now empty dataset is saved at once, so a crash
/// cannot bring the flushed keys back. `dirty` is left as it was (the caller still counts the FLUSHALL).
pub fn after_flushall(state: &ServerState, view: &mut DbView<'_>) {
    let p = of(state);
    {
        let mut inner = p.inner.lock();
        if let Some(child) = &inner.child {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.pid, libc::SIGKILL) };
            reap(state, &mut inner, true);
            // Killed on purpose: not a failed save (Redis ignores its own SIGUSR1 kill the same way).
            inner.last_bgsave_ok = true;
            WRITES_REFUSED.store(false, Ordering::Relaxed);
        }
    }
    if state.config.snapshot().save.is_empty() {
        return;
    }
    let dirty = state.stats.dirty.load(Ordering::Relaxed);
    let _ = save_sync(state, view);
    state.stats.dirty.store(dirty, Ordering::Relaxed);
}

/// At shutdown: stops a running child (removing its temp file) and, when asked, saves synchronously.
pub fn shutdown(state: &ServerState, save: bool) -> Result<(), String> {
    let p = of(state);
    {
        let mut inner = p.inner.lock();
        if let Some(child) = &inner.child {
            tracing::warn!("There is a child saving an .rdb. Killing it!");
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.pid, libc::SIGKILL) };
            reap(state, &mut inner, true);
        }
    }
    if !save {
        return Ok(());
    }
    tracing::info!("Saving the final RDB snapshot before exiting.");
    let mut view = state.keyspace.lock_all(0, unix_time_ms());
    save_sync(state, &mut view).inspect_err(|_| tracing::warn!("Error trying to save the DB, can't exit."))
}

// ---------------------------------------------------------------------------------------------------------
// Loading

/// What a load did.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoadStats {
    pub keys_loaded: u64,
    pub keys_expired: u64,
}

/// Loads an RDB image into `view` (which holds every shard and whose databases the caller emptied or wants
/// merged). Expired keys are skipped, as a primary does. Any error (corruption, a duplicate key, a database
/// out of range, a type this build cannot hold) aborts with `Error at offset N: reason`.
pub fn load_bytes(
    state: &ServerState,
    view: &mut DbView<'_>,
    bytes: &[u8],
    merge: bool,
) -> Result<(file::FileReport, LoadStats), String> {
    let databases = state.keyspace.databases();
    let now_ms = unix_time_ms();
    let policy = view.access_policy();
    let limits = state.tunables.encoding_limits();
    let original_db = view.db_index();
    let mut stats = LoadStats::default();
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let total_bytes = bytes.len().max(1);
    let mut seen = 0u64;
    let result = file::read_with(bytes, log_aux, |rec: KeyRecord| {
        seen += 1;
        if seen.is_multiple_of(1024) && last_progress.elapsed().as_secs() >= 2 {
            last_progress = Instant::now();
            tracing::info!(
                "Loading RDB: {} keys loaded so far ({:.1} seconds, file {} bytes)",
                stats.keys_loaded,
                started.elapsed().as_secs_f64(),
                total_bytes
            );
        }
        if rec.db >= databases {
            return Err(format!(
                "the file uses DB {} but this server is configured with {databases} database(s)",
                rec.db
            ));
        }
        if rec.expire_ms.is_some_and(|at| at < now_ms) {
            stats.keys_expired += 1;
            return Ok(());
        }
        view.select(rec.db);
        if view.exists(&rec.key) && !merge {
            return Err(format!("RDB has duplicated key '{}' in DB {}", String::from_utf8_lossy(&rec.key), rec.db));
        }
        let key = rec.key;
        let value = types::into_value(rec.value, &limits)
            .map_err(|e| format!("key '{}': {e}", String::from_utf8_lossy(&key)))?;
        if merge {
            view.remove(&key);
        }
        let entry = view.insert_new(&key, value);
        if policy.lfu {
            if let Some(f) = rec.lfu_freq {
                entry.access_clock = (crate::keyspace::lfu_minutes(now_ms) << 8) | u32::from(f);
            }
        } else if let Some(idle) = rec.lru_idle_secs {
            entry.access_clock = lru_clock_for_idle(now_ms, idle);
        }
        if let Some(at) = rec.expire_ms {
            view.set_expire(&key, at);
        }
        stats.keys_loaded += 1;
        Ok(())
    });
    view.select(original_db);
    let report = result.map_err(|e| e.to_string())?;
    Ok((report, stats))
}

/// The LRU clock of a key idle for `idle_secs` (Redis's `objectSetLRUOrLFU`: a clock that would lie before
/// zero wraps the way Redis's 24-bit clock does).
pub fn lru_clock_for_idle(now_ms: u64, idle_secs: u64) -> u32 {
    let now = i64::from(crate::keyspace::lru_clock(now_ms));
    let idle = i64::try_from(idle_secs).unwrap_or(i64::MAX);
    let mut abs = now.saturating_sub(idle);
    if abs < 0 {
        abs = (now + i64::from(crate::keyspace::LRU_CLOCK_MAX) / 2) % i64::from(crate::keyspace::LRU_CLOCK_MAX);
    }
    abs as u32
}

/// Redis's load-time log lines for the aux fields it reports, as they are read.
fn log_aux(k: &[u8], v: &[u8]) {
    let v = String::from_utf8_lossy(v);
    match k {
        b"redis-ver" | b"valkey-ver" => tracing::info!("Loading RDB produced by version {v}"),
        b"ctime" => {
            if let Ok(ctime) = v.parse::<u64>() {
                tracing::info!("RDB age {} seconds", (unix_time_ms() / 1000).saturating_sub(ctime));
            }
        }
        b"used-mem" => {
            if let Ok(mem) = v.parse::<u64>() {
                tracing::info!("RDB memory usage when created {:.2} Mb", mem as f64 / (1024.0 * 1024.0));
            }
        }
        _ => {}
    }
}

fn log_report(report: &file::FileReport) {
    for s in &report.skipped {
        tracing::warn!("RDB load: skipped {s}");
    }
}

/// Loads the file at `path` into `view`; records the figures INFO shows. A missing file is not an error.
pub fn load_path(
    state: &ServerState,
    view: &mut DbView<'_>,
    path: &Path,
    merge: bool,
) -> Result<Option<LoadStats>, String> {
    let started = Instant::now();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    let (report, stats) = load_bytes(state, view, &bytes, merge)?;
    log_report(&report);
    tracing::info!("Done loading RDB, keys loaded: {}, keys expired: {}.", stats.keys_loaded, stats.keys_expired);
    tracing::info!("DB loaded from disk: {:.3} seconds", started.elapsed().as_secs_f64());
    let mut inner = of(state).inner.lock();
    inner.last_load_keys_loaded = stats.keys_loaded;
    inner.last_load_keys_expired = stats.keys_expired;
    Ok(Some(stats))
}

/// At start-up, before listening: loads `dir/dbfilename` if it exists. An error means the server must not
/// start (it is logged here with its offset and reason).
pub fn load_at_startup(state: &ServerState) -> Result<(), String> {
    let path = rdb_path(state);
    let mut view = state.keyspace.lock_all(0, unix_time_ms());
    match load_path(state, &mut view, &path, false) {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!("Error loading {}: {e}", path.display());
            tracing::warn!("Fatal error loading the DB, check server logs. Exiting.");
            Err(format!("Fatal error loading the DB {}: {e}", path.display()))
        }
    }
}

/// `(latest_fork_usec, total_forks)` of BGSAVE forks, for INFO stats.
pub fn fork_stats(state: &ServerState) -> (u64, u64) {
    let inner = of(state).inner.lock();
    (inner.latest_fork_usec, inner.total_forks)
}

/// The rdb_* lines of INFO persistence, in Redis's order, from `rdb_changes_since_last_save` to
/// `rdb_last_load_keys_loaded`.
pub fn info_rdb_fields(state: &ServerState) -> String {
    let p = of(state);
    let mut inner = p.inner.lock();
    reap(state, &mut inner, false);
    let current = inner.child.as_ref().map_or(-1, |c| c.started.elapsed().as_secs() as i64);
    format!(
        "rdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\n\
         rdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\n\
         rdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\n",
        state.stats.dirty.load(Ordering::Relaxed),
        u8::from(inner.child.is_some()),
        inner.lastsave_secs,
        if inner.last_bgsave_ok { "ok" } else { "err" },
        inner.last_bgsave_time_sec,
        current,
        inner.rdb_saves,
        inner.last_load_keys_expired,
        inner.last_load_keys_loaded,
    )
}
