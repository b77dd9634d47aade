//! The append-only file, in Redis 7.0's multi-part layout: `<dir>/<appenddirname>/` holds a manifest, one
//! base file (an RDB image written by `crate::rdb`, or AOF commands with `aof-use-rdb-preamble no`, see
//! [`base_aof`]) and incremental files of RESP commands ([`manifest`]).
//!
//! # Appending
//! Write commands reach [`feed`] from the dispatcher through [`crate::propagate`], while their shard locks
//! are held, so the order of commands on the same keys in the file is their execution order. `feed` only
//! encodes into an in-memory buffer (one short mutex). Before a connection writes replies to its socket it
//! calls [`before_reply`]: whoever comes first writes everybody's pending bytes with one `write(2)` (a group
//! write, as Redis's `beforeSleep`), so a reply never leaves before the write it acknowledges is in the
//! kernel — `kill -9` of the server loses no acknowledged write, under every `appendfsync` policy.
//!
//! # fsync
//! fsync never runs on the tokio workers: a dedicated thread (`shoal-aof`) does it. With `appendfsync
//! always` the connection waits (asynchronously, on a watch channel) until the thread has fsync'd past the
//! bytes its replies acknowledge; concurrent connections share one fsync (group commit). With `everysec`
//! the thread fsyncs once a second, with `no` never (the kernel decides).
//!
//! # Files and rewrites
//! [`rewrite`]: BGREWRITEAOF forks with every shard locked (as BGSAVE does, see `crate::rdb::snapshot`),
//! opening the next incremental file at the same instant, so the child's snapshot plus the new incremental
//! file are exactly the dataset. When the child is done the parent renames its file to the next base,
//! writes the manifest atomically and deletes the files it replaced. [`load`]: start-up.
//!
//! # Configuration
//! `appendonly` and `appendfsync` are followed by [`apply_config`] (after CONFIG SET, and by the cron);
//! turning the AOF on at runtime appends to a temporary incremental file while the first base is written,
//! and both enter the manifest together (Redis's `AOF_WAIT_REWRITE`).
//!
//! The state ([`Aof`]) is a field of `ServerState`, shared (`Arc`) with the fsync thread.

pub mod base_aof;
pub mod load;
pub mod manifest;
pub mod rewrite;

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::state::ServerState;

pub const FSYNC_ALWAYS: u8 = 0;
pub const FSYNC_EVERYSEC: u8 = 1;
pub const FSYNC_NO: u8 = 2;

/// Commands encoded but not yet written.
struct Pending {
    data: Vec<u8>,
    /// The database the file's last SELECT chose (`None`: emit one before the next command).
    selected_db: Option<usize>,
}

/// The incremental file being appended to.
struct Incr {
    file: Option<Arc<File>>,
    /// Total size of the AOF (base and incremental files) when `file` was opened, and `written` then.
    size_at_open: u64,
    written_at_open: u64,
    /// Bytes whose write failed, retried first.
    retry: Vec<u8>,
    /// Bytes in `file` known to be complete commands.
    file_len: u64,
    spare: Vec<u8>,
}

/// What INFO and the rewrite machinery need.
pub(crate) struct Status {
    pub manifest: manifest::Manifest,
    pub dir: PathBuf,
    pub appendfilename: String,
    pub rewrite_scheduled: bool,
    pub child: Option<rewrite::Child>,
    pub last_rewrite_time_sec: i64,
    pub last_bgrewrite_ok: bool,
    pub rewrites: u64,
    pub consecutive_failures: u64,
    /// `aof_base_size`: the AOF's size after the last rewrite or load (auto-rewrite grows from it).
    pub base_size: u64,
    /// `CONFIG SET appendonly yes` is waiting for its first base (Redis's AOF_WAIT_REWRITE).
    pub wait_rewrite: bool,
    pub delayed_fsync: u64,
    /// When turning the AOF on last failed.
    pub enable_failed_at: Option<Instant>,
}

pub struct Aof {
    /// Commands are appended (appendonly on and the files open).
    on: AtomicBool,
    policy: AtomicU8,
    pending: Mutex<Pending>,
    incr: Mutex<Incr>,
    appended: AtomicU64,
    written: AtomicU64,
    synced: AtomicU64,
    write_ok: AtomicBool,
    synced_tx: tokio::sync::watch::Sender<u64>,
    wake: (Mutex<bool>, Condvar),
    writer_started: AtomicBool,
    stop: AtomicBool,
    pub(crate) status: Mutex<Status>,
}

/// The AOF state of `state` (a field of the server state).
#[inline]
pub fn of(state: &ServerState) -> &Aof {
    &state.aof
}

impl Default for Aof {
    fn default() -> Self {
        Aof::new()
    }
}

impl Aof {
    pub fn new() -> Aof {
        Aof {
            on: AtomicBool::new(false),
            policy: AtomicU8::new(FSYNC_EVERYSEC),
            pending: Mutex::new(Pending { data: Vec::new(), selected_db: None }),
            incr: Mutex::new(Incr {
                file: None,
                size_at_open: 0,
                written_at_open: 0,
                retry: Vec::new(),
                file_len: 0,
                spare: Vec::new(),
            }),
            appended: AtomicU64::new(0),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            write_ok: AtomicBool::new(true),
            synced_tx: tokio::sync::watch::channel(0).0,
            wake: (Mutex::new(false), Condvar::new()),
            writer_started: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            status: Mutex::new(Status {
                manifest: manifest::Manifest::default(),
                dir: PathBuf::new(),
                appendfilename: String::new(),
                rewrite_scheduled: false,
                child: None,
                last_rewrite_time_sec: -1,
                last_bgrewrite_ok: true,
                rewrites: 0,
                consecutive_failures: 0,
                base_size: 0,
                wait_rewrite: false,
                delayed_fsync: 0,
                enable_failed_at: None,
            }),
        }
    }

    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Bytes in the current incremental file plus the other files (INFO `aof_current_size`).
    pub fn current_size(&self) -> u64 {
        let incr = self.incr.lock();
        incr.size_at_open + self.written.load(Ordering::Relaxed).saturating_sub(incr.written_at_open)
    }

    /// Writes every pending byte to the incremental file (the group write). Returns false on a write error.
    fn flush_written(&self) -> bool {
        if self.appended.load(Ordering::Acquire) == self.written.load(Ordering::Acquire) {
            return true;
        }
        let mut incr = self.incr.lock();
        let upto = {
            let mut p = self.pending.lock();
            let spare = std::mem::take(&mut incr.spare);
            let data = std::mem::replace(&mut p.data, spare);
            incr.spare = data;
            self.appended.load(Ordering::Acquire)
        };
        let Incr { file, retry, spare, file_len, .. } = &mut *incr;
        let Some(file) = file.clone() else {
            spare.clear();
            return true;
        };
        let mut f: &File = &file;
        // One write of everything due (earlier failed bytes first). A failed write may have written a part:
        // the file is cut back to its last good length, so a retry never duplicates a command.
        let result = if retry.is_empty() {
            f.write_all(spare)
        } else {
            retry.extend_from_slice(spare);
            spare.clear();
            std::mem::swap(retry, spare);
            f.write_all(spare)
        };
        match result {
            Ok(()) => {
                *file_len += spare.len() as u64;
                spare.clear();
                self.written.store(upto, Ordering::Release);
                if !self.write_ok.swap(true, Ordering::Relaxed) {
                    tracing::info!("AOF write error looks solved, Redis can write again.");
                }
                true
            }
            Err(e) => {
                if self.policy.load(Ordering::Relaxed) == FSYNC_ALWAYS {
                    // As Redis: acknowledged writes could not be made durable; stopping is the only safe answer.
                    tracing::warn!(
                        "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting... ({e})"
                    );
                    std::process::exit(1);
                }
                let _ = file.set_len(*file_len);
                retry.append(spare);
                if self.write_ok.swap(false, Ordering::Relaxed) {
                    tracing::warn!("Error writing to the AOF file: {e}");
                }
                false
            }
        }
    }

    fn wake_writer(&self) {
        let (lock, cv) = &self.wake;
        *lock.lock() = true;
        cv.notify_one();
    }

    /// Replaces the incremental file: what is pending goes to the old one, which is fsync'd; the next
    /// command starts with a SELECT. `size_at_open`: the AOF's total size with the new file empty.
    ///
    /// With `appendfsync always` the old file is fsync'd here (its acknowledged writes must be durable before
    /// anything later is); otherwise a short-lived thread fsyncs and closes it, so a rewrite holding every
    /// shard does not wait for the disk.
    fn switch_incr(&self, file: Option<File>, size_at_open: u64) {
        let _ = self.flush_written();
        let mut incr = self.incr.lock();
        let w = self.written.load(Ordering::Relaxed);
        if let Some(old) = incr.file.take() {
            if self.policy.load(Ordering::Relaxed) == FSYNC_ALWAYS {
                let _ = old.sync_data();
            } else {
                let _ = std::thread::Builder::new().name("shoal-aof-close".into()).spawn(move || {
                    let _ = old.sync_data();
                });
            }
        }
        self.pending.lock().selected_db = None;
        incr.file_len = file.as_ref().and_then(|f| f.metadata().ok()).map_or(0, |m| m.len());
        incr.file = file.map(Arc::new);
        incr.size_at_open = size_at_open;
        incr.written_at_open = w;
        self.synced.fetch_max(w, Ordering::AcqRel);
        self.synced_tx.send_replace(self.synced.load(Ordering::Acquire));
    }
}

/// Whether propagation should encode anything for the AOF (one relaxed load in the common case).
#[inline]
pub fn wants_feed(server: &ServerState) -> bool {
    of(server).on.load(Ordering::Relaxed)
}

/// Writes a SELECT into the buffer when the file's current database is not `db`.
fn select(p: &mut Pending, db: usize) {
    if p.selected_db != Some(db) {
        let n = itoa::Buffer::new().format(db).to_owned();
        crate::propagate::encode_into(&mut p.data, [b"SELECT".as_slice(), n.as_bytes()].iter());
        p.selected_db = Some(db);
    }
}

/// Appends one command as executed (the common case: no intermediate encoding).
pub fn feed_args(server: &ServerState, db: usize, args: &crate::protocol::decode::Args<'_>) {
    let aof = of(server);
    let mut p = aof.pending.lock();
    if !aof.on.load(Ordering::Relaxed) {
        return;
    }
    let before = p.data.len();
    select(&mut p, db);
    crate::propagate::encode_into(&mut p.data, args.iter());
    let added = (p.data.len() - before) as u64;
    aof.appended.fetch_add(added, Ordering::AcqRel);
}

/// Appends one unit (a command, or a transaction's writes) to the AOF buffer; `wrap` puts it in MULTI/EXEC.
pub fn feed(server: &ServerState, ops: &[crate::propagate::Op], wrap: bool) {
    let aof = of(server);
    let mut p = aof.pending.lock();
    if !aof.on.load(Ordering::Relaxed) {
        return;
    }
    let before = p.data.len();
    if wrap {
        if let Some((db, _)) = ops.first() {
            select(&mut p, *db);
        }
        p.data.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n");
    }
    for (db, op) in ops {
        select(&mut p, *db);
        p.data.extend_from_slice(op);
    }
    if wrap {
        p.data.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
    }
    let added = (p.data.len() - before) as u64;
    aof.appended.fetch_add(added, Ordering::AcqRel);
}

/// Called by a connection before it writes replies to its socket: writes the pending AOF bytes and, with
/// `appendfsync always`, waits until the fsync thread has made them durable. Free when the AOF is off.
pub async fn before_reply(server: &ServerState) {
    let aof = of(server);
    if !aof.on.load(Ordering::Relaxed) {
        return;
    }
    let target = aof.appended.load(Ordering::Acquire);
    if target != aof.written.load(Ordering::Acquire) {
        aof.flush_written();
    }
    if aof.policy.load(Ordering::Relaxed) != FSYNC_ALWAYS || aof.synced.load(Ordering::Acquire) >= target {
        return;
    }
    let mut rx = aof.synced_tx.subscribe();
    aof.wake_writer();
    // The fsync thread publishes every offset it reaches; bounded by the process (it exits on fsync errors).
    let _ = rx.wait_for(|&v| v >= target || !aof.on.load(Ordering::Relaxed)).await;
}

/// Starts the fsync thread (once per server; idle while the AOF is off; the server starts it at start-up so
/// that `CONFIG SET appendonly yes` needs nothing more): it fsyncs on request with `always`, once a second
/// with `everysec`, and writes what no connection wrote (commands run by the cron) at least once a second.
pub fn spawn_writer(state: &Arc<ServerState>) {
    let aof = of(state);
    if aof.writer_started.swap(true, Ordering::AcqRel) {
        return;
    }
    let weak = Arc::downgrade(state);
    let shared = state.aof.clone();
    let spawned = std::thread::Builder::new().name("shoal-aof".into()).spawn(move || {
        let aof = &*shared;
        let mut last_fsync = Instant::now();
        loop {
            let Some(state) = weak.upgrade() else { return };
            if aof.stop.load(Ordering::Acquire) {
                return;
            }
            let policy = policy_of(&state.config.snapshot());
            aof.policy.store(policy, Ordering::Relaxed);
            drop(state);
            {
                let (lock, cv) = &aof.wake;
                let mut woken = lock.lock();
                if !*woken {
                    let wait = match policy {
                        FSYNC_ALWAYS => 100,
                        FSYNC_EVERYSEC => 1000u64.saturating_sub(last_fsync.elapsed().as_millis() as u64).max(10),
                        _ => 1000,
                    };
                    cv.wait_for(&mut woken, Duration::from_millis(wait));
                }
                *woken = false;
            }
            if !aof.on.load(Ordering::Relaxed) {
                continue;
            }
            aof.flush_written();
            let due = policy == FSYNC_ALWAYS || (policy == FSYNC_EVERYSEC && last_fsync.elapsed().as_millis() >= 1000);
            if !due {
                if policy == FSYNC_NO {
                    let w = aof.written.load(Ordering::Acquire);
                    aof.synced.store(w, Ordering::Release);
                }
                continue;
            }
            let (file, upto) = {
                let incr = aof.incr.lock();
                (incr.file.clone(), aof.written.load(Ordering::Acquire))
            };
            if upto <= aof.synced.load(Ordering::Acquire) {
                last_fsync = Instant::now();
                continue;
            }
            if let Some(file) = file {
                if let Err(e) = file.sync_data() {
                    if policy == FSYNC_ALWAYS {
                        tracing::warn!(
                            "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}. Exiting..."
                        );
                        std::process::exit(1);
                    }
                    tracing::warn!("Error syncing the AOF file: {e}");
                }
            }
            last_fsync = Instant::now();
            aof.synced.fetch_max(upto, Ordering::AcqRel);
            aof.synced_tx.send_replace(aof.synced.load(Ordering::Acquire));
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the AOF fsync thread: {e}");
        aof.writer_started.store(false, Ordering::Release);
    }
}

/// Called by the server cron: follows `CONFIG SET appendonly`, collects a finished rewrite, starts a
/// scheduled or automatic one.
pub fn cron(state: &ServerState, now_ms: u64) {
    let _ = now_ms;
    apply_config(state);
    rewrite::reap(state, false);
    rewrite::maybe_start(state, &state.config.snapshot());
}

/// Follows `appendonly` and `appendfsync` (the cron calls it; CONFIG SET may call it to act before its
/// reply, as Redis does): turning the AOF on starts the first rewrite, turning it off closes the file.
pub fn apply_config(state: &ServerState) {
    let aof = of(state);
    let settings = state.config.snapshot();
    aof.policy.store(policy_of(&settings), Ordering::Relaxed);
    let wanted = settings.appendonly;
    let waiting = aof.status.lock().wait_rewrite;
    if wanted && !aof.is_on() && !waiting {
        // After a failure (no room, no permission) retry every few seconds, not on every tick.
        let recent = aof.status.lock().enable_failed_at.is_some_and(|t| t.elapsed() < Duration::from_secs(5));
        if recent {
            return;
        }
        if let Err(e) = rewrite::start_appendonly(state) {
            tracing::warn!("{e}");
            aof.status.lock().enable_failed_at = Some(Instant::now());
        }
    } else if !wanted && (aof.is_on() || waiting) {
        stop_appendonly(state);
    }
}

/// `CONFIG SET appendonly no`: writes and fsyncs what is pending, closes the file, kills a rewrite.
pub fn stop_appendonly(state: &ServerState) {
    let aof = of(state);
    rewrite::kill_child(state);
    aof.on.store(false, Ordering::Release);
    aof.status.lock().wait_rewrite = false;
    aof.switch_incr(None, 0);
    tracing::info!("Background append only file rewriting stopped: appendonly turned off");
}

/// At shutdown: waits for the first base of a runtime enable, kills any other rewrite child, writes and fsyncs
/// what is pending.
pub fn shutdown(state: &ServerState) {
    let aof = of(state);
    // The first base of a runtime enable is the only copy of the data written since: wait for it rather
    // than lose it (Redis refuses to exit then, "Writing initial AOF, can't exit.").
    let initial = {
        let st = aof.status.lock();
        st.wait_rewrite && st.child.is_some()
    };
    if initial {
        tracing::warn!("Writing initial AOF, waiting for it before exiting.");
        aof.flush_written();
        rewrite::reap(state, true);
    }
    rewrite::kill_child(state);
    if aof.is_on() {
        tracing::info!("Calling fsync() on the AOF file.");
        aof.flush_written();
        if let Some(f) = aof.incr.lock().file.clone() {
            let _ = f.sync_data();
        }
    }
    aof.stop.store(true, Ordering::Release);
    aof.wake_writer();
}

/// Starts appending to `file` (already in the manifest, or the temp incr of a runtime enable).
pub(crate) fn start_appending(state: &ServerState, file: File, size_at_open: u64) {
    let aof = of(state);
    aof.policy.store(policy_of(&state.config.snapshot()), Ordering::Relaxed);
    aof.switch_incr(Some(file), size_at_open);
    aof.on.store(true, Ordering::Release);
    crate::propagate::set_any_consumer(true);
}

/// Redis 7.0.15's INFO persistence lines from `aof_enabled` to `aof_delayed_fsync` (including the two
/// `module_fork_*` lines Redis prints between them); the `aof_current_size` block only when appendonly is on.
pub fn info_fields(state: &ServerState) -> String {
    let aof = of(state);
    let enabled = state.config.snapshot().appendonly;
    let current_size = aof.current_size();
    let st = aof.status.lock();
    let current_rewrite = st.child.as_ref().map_or(-1, |c| c.started.elapsed().as_secs() as i64);
    let mut s = format!(
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\n\
         aof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\n\
         aof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\n\
         aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        u8::from(enabled || aof.is_on()),
        u8::from(st.child.is_some()),
        u8::from(st.rewrite_scheduled),
        st.last_rewrite_time_sec,
        current_rewrite,
        if st.last_bgrewrite_ok { "ok" } else { "err" },
        st.rewrites,
        st.consecutive_failures,
        if aof.write_ok.load(Ordering::Relaxed) { "ok" } else { "err" },
    );
    if enabled {
        let buffer = aof.appended.load(Ordering::Relaxed).saturating_sub(aof.written.load(Ordering::Relaxed));
        s.push_str(&format!(
            "aof_current_size:{current_size}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\n\
             aof_buffer_length:{buffer}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:{}\r\n",
            st.base_size,
            u8::from(st.rewrite_scheduled),
            st.delayed_fsync,
        ));
    }
    s
}

fn policy_of(settings: &crate::config::Settings) -> u8 {
    match settings.aof.appendfsync_name() {
        "always" => FSYNC_ALWAYS,
        "no" => FSYNC_NO,
        _ => FSYNC_EVERYSEC,
    }
}

/// The AOF directory of the configuration (`<dir>/<appenddirname>`).
pub fn aof_dir(settings: &crate::config::Settings) -> PathBuf {
    settings.dir.join(&settings.aof.appenddirname)
}
