//! AOF rewrites: BGREWRITEAOF, the automatic rewrite (`auto-aof-rewrite-percentage/min-size`), the first
//! base of `CONFIG SET appendonly yes`, and the synchronous base written at start-up.
//!
//! A rewrite locks every shard, opens the next incremental file (so every later write goes there), forks,
//! and unlocks: the clients' pause is the fork. The child writes an RDB image of its copy-on-write keyspace
//! to `temp-rewriteaof-bg-<pid>.aof` with the same rules as the BGSAVE child (see `crate::rdb::snapshot`:
//! no locks, no logging, `_exit`), fsyncs it and reports its key count through a pipe. The parent's cron
//! renames it to the next base, replaces the manifest atomically (temp + fsync + rename) and deletes the
//! files that became history. A crash at any point leaves a manifest that names complete files only.

use std::io::Read;
use std::os::fd::FromRawFd;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::manifest::{self, FileInfo, Kind, Manifest};
use super::of;
use crate::keyspace::DbView;
use crate::state::{unix_time_ms, ServerState};

pub struct Child {
    pid: libc::pid_t,
    pub started: Instant,
    err_fd: libc::c_int,
    /// Incremental files with a lower sequence number become history when this rewrite succeeds.
    first_kept_incr_seq: u64,
    /// The base is an RDB image (`aof-use-rdb-preamble yes`), else AOF commands.
    rdb: bool,
}

fn temp_base_name(pid: libc::pid_t) -> String {
    format!("temp-rewriteaof-bg-{pid}.aof")
}

/// Creates a new, empty incremental file (a stale file of that name, left by a crash before the manifest
/// named it, is replaced) opened for appending.
pub(crate) fn create_incr(path: &Path) -> std::io::Result<std::fs::File> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::OpenOptions::new().create(true).append(true).open(path)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The total size of the files a manifest names.
pub(crate) fn manifest_size(dir: &Path, m: &Manifest) -> u64 {
    m.base.iter().chain(&m.incrs).map(|f| file_size(&dir.join(&f.name))).sum()
}

/// Writes the keyspace held by `view` as a base file at `path` (temp + fsync + rename): an RDB image, or
/// AOF commands when `rdb` is false. Returns the key count. Safe in a forked child (read-only keyspace
/// calls, plain syscalls).
fn write_base(
    view: &mut DbView<'_>,
    databases: usize,
    opts: &crate::rdb::file::WriteOptions,
    rdb: bool,
    path: &Path,
) -> Result<u64, String> {
    if rdb {
        crate::rdb::snapshot::save_to_path(view, databases, opts, path)
    } else {
        super::base_aof::write(view, databases, &opts.limits, path)
    }
}

/// At start-up with no AOF: writes base 1 from the (loaded) keyspace and opens incremental file 1, as Redis
/// 7.0 does ("Creating AOF base file ... on server start").
pub fn create_at_startup(state: &ServerState) -> Result<(), String> {
    let settings = state.config.snapshot();
    let dir = super::aof_dir(&settings);
    let name = settings.aof.appendfilename.clone();
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("Can't open or create append-only dir {}: {e}", dir.display()))?;
    let rdb = settings.aof.aof_use_rdb_preamble;
    let base = manifest::base_name(&name, 1, rdb);
    let opts = crate::rdb::snapshot::write_options(state);
    let mut view = state.keyspace.lock_all(0, unix_time_ms());
    let started = Instant::now();
    let keys = write_base(&mut view, state.keyspace.databases(), &opts, rdb, &dir.join(&base))?;
    tracing::info!("Creating AOF base file {base} on server start");
    let incr = manifest::incr_name(&name, 1);
    let file = create_incr(&dir.join(&incr)).map_err(|e| format!("Can't open the append-only file {incr}: {e}"))?;
    tracing::info!("Creating AOF incr file {incr} on server start");
    let m = Manifest {
        base: Some(FileInfo { name: base.clone(), seq: 1, kind: Kind::Base }),
        history: Vec::new(),
        incrs: vec![FileInfo { name: incr, seq: 1, kind: Kind::Incr }],
        base_seq: 1,
        incr_seq: 1,
    };
    m.persist(&dir, &name).map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
    tracing::info!("AOF base written: {keys} keys, {:.3} seconds", started.elapsed().as_secs_f64());
    let size = file_size(&dir.join(&base));
    {
        let mut st = of(state).status.lock();
        st.manifest = m;
        st.dir = dir;
        st.appendfilename = name;
        st.base_size = size;
    }
    drop(view);
    super::start_appending(state, file, size);
    Ok(())
}

/// `CONFIG SET appendonly yes` at runtime: appends to a temp incremental file from now on and forks the
/// first base; both enter the manifest when the base is complete.
pub fn start_appendonly(state: &ServerState) -> Result<(), String> {
    let settings = state.config.snapshot();
    let dir = super::aof_dir(&settings);
    let name = settings.aof.appendfilename.clone();
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("Can't open or create append-only dir {}: {e}", dir.display()))?;
    let aof = of(state);
    if aof.status.lock().child.is_some() {
        kill_child(state);
    }
    let mut view = state.keyspace.lock_all(0, unix_time_ms());
    let temp = manifest::temp_incr_name(&name);
    let _ = std::fs::remove_file(dir.join(&temp));
    let file = create_incr(&dir.join(&temp)).map_err(|e| format!("Can't open the append-only file {temp}: {e}"))?;
    {
        let mut st = aof.status.lock();
        // An existing manifest (AOF turned off and on again) keeps its sequence numbers.
        if let Ok(text) = std::fs::read(dir.join(manifest::manifest_name(&name))) {
            if let Ok(m) = Manifest::parse(&text) {
                st.manifest = m;
            }
        }
        st.dir = dir;
        st.appendfilename = name;
        st.wait_rewrite = true;
    }
    super::start_appending(state, file, 0);
    fork_rewrite(state, &mut view, u64::MAX).inspect_err(|_| {
        aof.status.lock().wait_rewrite = false;
        aof.on.store(false, Ordering::Release);
    })?;
    tracing::info!("AOF was enabled, background append only file rewriting started");
    Ok(())
}

/// BGREWRITEAOF's reply (`Ok`: status text; `Err`: error text).
pub fn bgrewriteaof_command(
    state: &ServerState,
    current: &mut DbView<'_>,
    in_multi: bool,
) -> Result<&'static str, String> {
    let aof = of(state);
    if aof.status.lock().child.is_some() {
        return Err("ERR Background append only file rewriting already in progress".into());
    }
    if in_multi || current.holds_all_shards() || crate::rdb::snapshot::of(state).bgsave_in_progress() {
        aof.status.lock().rewrite_scheduled = true;
        return Ok("Background append only file rewriting scheduled");
    }
    match start_rewrite(state) {
        Ok(()) => Ok("Background append only file rewriting started"),
        Err(e) => {
            tracing::warn!("{e}");
            Err("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."
                .into())
        }
    }
}

/// Locks every shard, opens the next incremental file (when appending) and forks the rewrite child.
fn start_rewrite(state: &ServerState) -> Result<(), String> {
    let settings = state.config.snapshot();
    let dir = super::aof_dir(&settings);
    let name = settings.aof.appendfilename.clone();
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("Can't open or create append-only dir {}: {e}", dir.display()))?;
    let aof = of(state);
    let mut view = state.keyspace.lock_all(0, unix_time_ms());
    let mut first_kept = u64::MAX;
    {
        let mut st = aof.status.lock();
        if st.dir.as_os_str().is_empty() {
            st.dir = dir.clone();
            st.appendfilename = name.clone();
        }
    }
    if aof.is_on() && !aof.status.lock().wait_rewrite {
        let mut st = aof.status.lock();
        let seq = st.manifest.incr_seq + 1;
        let incr = manifest::incr_name(&st.appendfilename, seq);
        let file =
            create_incr(&st.dir.join(&incr)).map_err(|e| format!("Can't open the append-only file {incr}: {e}"))?;
        let mut m = st.manifest.clone();
        m.incrs.push(FileInfo { name: incr.clone(), seq, kind: Kind::Incr });
        m.incr_seq = seq;
        m.persist(&st.dir, &st.appendfilename).map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
        tracing::info!("Creating AOF incr file {incr} on background rewrite");
        let size = manifest_size(&st.dir, &m);
        st.manifest = m;
        drop(st);
        aof.switch_incr(Some(file), size);
        first_kept = seq;
    }
    fork_rewrite(state, &mut view, first_kept)
}

/// Forks the child writing the next base through `view` (which holds every shard).
fn fork_rewrite(state: &ServerState, view: &mut DbView<'_>, first_kept_incr_seq: u64) -> Result<(), String> {
    let aof = of(state);
    let dir = aof.status.lock().dir.clone();
    let opts = crate::rdb::snapshot::write_options(state);
    let rdb = state.config.snapshot().aof.aof_use_rdb_preamble;
    let databases = state.keyspace.databases();
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe writes two fds into the array we pass.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(format!("Can't rewrite append only file in background: pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: the child runs only `write_base` (read-only keyspace calls, no locks other threads may hold,
    // no logging) and leaves with `_exit`, as the BGSAVE child does.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: closing our copy of the read end.
        unsafe { libc::close(fds[0]) };
        close_inherited_fds(fds[1]);
        // SAFETY: getpid/setpriority have no preconditions.
        let me = unsafe { libc::getpid() };
        unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
        let path = dir.join(temp_base_name(me));
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write_base(view, databases, &opts, rdb, &path)));
        let (code, msg) = match result {
            Ok(Ok(keys)) => (0, format!("{keys}")),
            Ok(Err(e)) => (1, e),
            Err(_) => (2, "panic".to_string()),
        };
        // SAFETY: writing our own buffer to our own fd, then leaving without the parent's destructors.
        unsafe {
            libc::write(fds[1], msg.as_ptr().cast(), msg.len());
            libc::_exit(code);
        }
    }
    // SAFETY: closing the parent's copy of the write end.
    unsafe { libc::close(fds[1]) };
    if pid < 0 {
        let e = std::io::Error::last_os_error();
        // SAFETY: the read end is ours.
        unsafe { libc::close(fds[0]) };
        return Err(format!("Can't rewrite append only file in background: fork: {e}"));
    }
    let mut st = aof.status.lock();
    st.rewrite_scheduled = false;
    st.child = Some(Child { pid, started: Instant::now(), err_fd: fds[0], first_kept_incr_seq, rdb });
    tracing::info!("Background append only file rewriting started by pid {pid}");
    Ok(())
}

/// In a forked child: closes every inherited descriptor above stderr except `keep` (Redis's
/// `closeChildUnusedResourceAfterFork`). Above all the listening sockets: a child that outlives a killed
/// parent would otherwise hold the port, and a restarted server could not listen on it.
pub fn close_inherited_fds(keep: libc::c_int) {
    // SAFETY: close_range on descriptor ranges of our own process; no memory is passed.
    let ok = unsafe {
        let below = keep <= 3 || libc::syscall(libc::SYS_close_range, 3u32, (keep - 1) as u32, 0u32) == 0;
        let above = libc::syscall(libc::SYS_close_range, (keep + 1) as u32, u32::MAX, 0u32) == 0;
        below && above
    };
    if !ok {
        // Kernels before 5.9: close what /proc lists.
        let fds: Vec<libc::c_int> = std::fs::read_dir("/proc/self/fd")
            .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
            .unwrap_or_default();
        for fd in fds.into_iter().filter(|&fd| fd > 2 && fd != keep) {
            // SAFETY: closing a descriptor of our own process.
            unsafe { libc::close(fd) };
        }
    }
}

/// Kills a running rewrite child and removes its temp file.
pub fn kill_child(state: &ServerState) {
    let aof = of(state);
    let mut st = aof.status.lock();
    if let Some(child) = st.child.take() {
        tracing::info!("Killing running AOF rewrite child: {}", child.pid);
        // SAFETY: signalling and reaping our own child; closing our pipe end.
        unsafe {
            libc::kill(child.pid, libc::SIGUSR1);
            let mut status = 0;
            libc::waitpid(child.pid, &mut status, 0);
            libc::close(child.err_fd);
        }
        let _ = std::fs::remove_file(st.dir.join(temp_base_name(child.pid)));
        let _ = std::fs::remove_file(st.dir.join(format!("temp-{}.rdb", child.pid)));
        let _ = std::fs::remove_file(st.dir.join(format!("temp-rewriteaof-{}.aof", child.pid)));
    }
}

/// Collects a finished rewrite child (from the cron; `block` waits for it) and installs its base.
pub fn reap(state: &ServerState, block: bool) {
    let aof = of(state);
    let mut st = aof.status.lock();
    let Some(child) = &st.child else { return };
    let mut status: libc::c_int = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let r = unsafe { libc::waitpid(child.pid, &mut status, if block { 0 } else { libc::WNOHANG }) };
    if r == 0 {
        return;
    }
    let Some(child) = st.child.take() else { return };
    // SAFETY: the read end is ours; File takes ownership and closes it.
    let mut pipe = unsafe { std::fs::File::from_raw_fd(child.err_fd) };
    let mut msg = String::new();
    let _ = pipe.read_to_string(&mut msg);
    st.last_rewrite_time_sec = child.started.elapsed().as_secs() as i64;
    let temp = st.dir.join(temp_base_name(child.pid));
    let ok = r > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !ok {
        let _ = std::fs::remove_file(&temp);
        // The RDB writer's own temp name, if the child died while writing it.
        let _ = std::fs::remove_file(st.dir.join(format!("temp-{}.rdb", child.pid)));
        st.last_bgrewrite_ok = false;
        st.consecutive_failures += 1;
        if r > 0 && libc::WIFSIGNALED(status) {
            tracing::warn!("Background AOF rewrite terminated by signal {}", libc::WTERMSIG(status));
        } else {
            tracing::warn!("Background AOF rewrite terminated with error{}", if msg.is_empty() { "" } else { ": " });
            if !msg.is_empty() {
                tracing::warn!("{msg}");
            }
        }
        return;
    }
    tracing::info!("Background AOF rewrite terminated with success");
    match install_base(state, &mut st, &temp, child.first_kept_incr_seq, child.rdb) {
        Ok(()) => {
            st.rewrites += 1;
            st.consecutive_failures = 0;
            st.last_bgrewrite_ok = true;
            tracing::info!("Background AOF rewrite finished successfully");
            tracing::info!("AOF rewrite: {} keys, {:.3} seconds", msg.trim(), child.started.elapsed().as_secs_f64());
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            st.last_bgrewrite_ok = false;
            st.consecutive_failures += 1;
            tracing::warn!("{e}");
        }
    }
}

/// Renames the child's file to the next base and switches the manifest; deletes what became history.
fn install_base(
    state: &ServerState,
    st: &mut super::Status,
    temp: &Path,
    first_kept: u64,
    rdb: bool,
) -> Result<(), String> {
    let aof = of(state);
    let dir = st.dir.clone();
    let name = st.appendfilename.clone();
    let mut m = st.manifest.clone();
    let seq = m.base_seq + 1;
    let base = manifest::base_name(&name, seq, rdb);
    std::fs::rename(temp, dir.join(&base)).map_err(|e| {
        format!("Error trying to rename the temporary AOF base file {} into {base}: {e}", temp.display())
    })?;
    tracing::info!(
        "Successfully renamed the temporary AOF base file {} into {base}",
        temp.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    );
    if let Some(old) = m.base.take() {
        m.history.push(FileInfo { kind: Kind::History, ..old });
    }
    m.base = Some(FileInfo { name: base.clone(), seq, kind: Kind::Base });
    m.base_seq = seq;
    if st.wait_rewrite {
        // The first base of a runtime enable: the temp incremental file becomes the next incr file.
        let iseq = m.incr_seq + 1;
        let incr = manifest::incr_name(&name, iseq);
        std::fs::rename(dir.join(manifest::temp_incr_name(&name)), dir.join(&incr))
            .map_err(|e| format!("Error trying to rename the temporary AOF incr file into {incr}: {e}"))?;
        for old in m.incrs.drain(..) {
            m.history.push(FileInfo { kind: Kind::History, ..old });
        }
        m.incrs.push(FileInfo { name: incr, seq: iseq, kind: Kind::Incr });
        m.incr_seq = iseq;
        st.wait_rewrite = false;
    } else {
        let (kept, old): (Vec<_>, Vec<_>) = m.incrs.drain(..).partition(|f| f.seq >= first_kept);
        m.incrs = kept;
        m.history.extend(old.into_iter().map(|f| FileInfo { kind: Kind::History, ..f }));
    }
    let history = std::mem::take(&mut m.history);
    m.persist(&dir, &name).map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
    for h in &history {
        tracing::info!("Removing the history file {} in the background", h.name);
        let _ = std::fs::remove_file(dir.join(&h.name));
    }
    let base_size = file_size(&dir.join(&base));
    st.manifest = m;
    // Sizes: the base and the incremental files now named by the manifest.
    let total = manifest_size(&dir, &st.manifest);
    {
        let mut incr = aof.incr.lock();
        let in_current = aof.written.load(Ordering::Relaxed).saturating_sub(incr.written_at_open);
        incr.size_at_open = total.saturating_sub(in_current);
    }
    st.base_size = total.max(base_size);
    Ok(())
}

/// Starts a scheduled rewrite, or an automatic one when the AOF grew by `auto-aof-rewrite-percentage` over
/// its size after the last rewrite and is at least `auto-aof-rewrite-min-size`.
pub fn maybe_start(state: &ServerState, settings: &crate::config::Settings) {
    let aof = of(state);
    let (scheduled, busy, base) = {
        let st = aof.status.lock();
        (st.rewrite_scheduled, st.child.is_some(), st.base_size)
    };
    if busy || crate::rdb::snapshot::of(state).bgsave_in_progress() {
        return;
    }
    let start = if scheduled {
        true
    } else if aof.is_on() && settings.aof.auto_aof_rewrite_percentage > 0 {
        let size = aof.current_size();
        let base = base.max(1);
        let growth = size.saturating_sub(base).saturating_mul(100) / base;
        if size >= settings.aof.auto_aof_rewrite_min_size && growth >= settings.aof.auto_aof_rewrite_percentage {
            tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
            true
        } else {
            false
        }
    } else {
        false
    };
    if start {
        if let Err(e) = start_rewrite(state) {
            aof.status.lock().rewrite_scheduled = false;
            tracing::warn!("{e}");
        }
    }
}
