//! Loading the AOF at start-up: the base file (an RDB image, or AOF commands that may start with an RDB
//! preamble), then every incremental file in manifest order, replaying commands on an in-memory client
//! through the dispatcher's resolve + [`crate::commands::dispatch::call`], as Redis's loading client: no
//! authentication, cluster redirection, OOM or pub/sub-mode checks, and a MULTI block runs at its EXEC.
//!
//! Errors follow Redis 7.0: a torn last command of the *last* file is cut off (the file is truncated at the
//! last complete command, or before an unfinished MULTI) when `aof-load-truncated yes`, and stops the
//! start otherwise; bad syntax, an unknown command or a torn command in an earlier file always stops it.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::manifest::{self, Manifest};
use super::of;
use crate::commands::spec::Lock;
use crate::commands::{dispatch, ClientState};
use crate::protocol::decode::Args;
use crate::protocol::reply::{Protocol, Reply};
use crate::state::{unix_time_ms, ServerState};

/// The id of the in-memory client that replays the AOF (Redis's `CLIENT_ID_AOF`): handlers may accept
/// what only propagation produces (e.g. XADD's exact trim with LIMIT) when `ctx.client.id` is this.
pub const LOADING_CLIENT_ID: u64 = u64::MAX;

/// Why a command could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The file ends inside a command.
    Truncated,
    Bad,
}

/// One command read from a file: its argument spans and the offset after it.
pub type Command = (Vec<(usize, usize)>, usize);

/// Reads the command starting at `pos`: `Ok(None)` at the end of the data, else its argument spans and the
/// offset after it. Annotation lines (`#...\r\n`) are skipped.
pub fn next_command(buf: &[u8], mut pos: usize) -> Result<Option<Command>, ParseError> {
    loop {
        match buf.get(pos) {
            None => return Ok(None),
            Some(b'#') => {
                let end = find_crlf(buf, pos).ok_or(ParseError::Truncated)?;
                pos = end + 2;
            }
            Some(b'*') => break,
            Some(_) => return Err(ParseError::Bad),
        }
    }
    let (argc, mut p) = read_number(buf, pos + 1)?;
    if argc < 1 {
        return Err(ParseError::Bad);
    }
    let mut spans = Vec::with_capacity((argc as usize).min(buf.len().saturating_sub(p) / 4 + 1));
    for _ in 0..argc {
        match buf.get(p) {
            None => return Err(ParseError::Truncated),
            Some(b'$') => {}
            Some(_) => return Err(ParseError::Bad),
        }
        let (len, q) = read_number(buf, p + 1)?;
        let len = usize::try_from(len).map_err(|_| ParseError::Bad)?;
        let end = q.checked_add(len).ok_or(ParseError::Bad)?;
        if end + 2 > buf.len() {
            return Err(ParseError::Truncated);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(ParseError::Bad);
        }
        spans.push((q, end));
        p = end + 2;
    }
    Ok(Some((spans, p)))
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?.windows(2).position(|w| w == b"\r\n").map(|i| from + i)
}

/// A decimal number ending in CRLF at `pos`; returns it and the offset after the CRLF.
fn read_number(buf: &[u8], pos: usize) -> Result<(i64, usize), ParseError> {
    let mut n: i64 = 0;
    let mut p = pos;
    let mut digits = 0;
    loop {
        match buf.get(p) {
            None => return Err(ParseError::Truncated),
            Some(b'\r') => break,
            Some(c @ b'0'..=b'9') => {
                n = n.checked_mul(10).and_then(|n| n.checked_add(i64::from(c - b'0'))).ok_or(ParseError::Bad)?;
                digits += 1;
                if digits > 18 {
                    return Err(ParseError::Bad);
                }
            }
            Some(_) => return Err(ParseError::Bad),
        }
        p += 1;
    }
    match buf.get(p + 1) {
        None => Err(ParseError::Truncated),
        Some(b'\n') if digits > 0 => Ok((n, p + 2)),
        Some(_) => Err(ParseError::Bad),
    }
}

/// The length of the RDB image at the start of `buf` (an AOF with an RDB preamble): the first `0xFF` (EOF
/// opcode) followed by the CRC-64 of everything before it, where the AOF part or the file's end follows.
pub fn rdb_preamble_len(buf: &[u8]) -> Option<usize> {
    let mut crc = 0u64;
    let mut done = 0usize;
    let mut i = 9;
    while i < buf.len() {
        if buf[i] == 0xFF && i + 9 <= buf.len() {
            crc = crate::rdb::crc64::update(crc, &buf[done..=i]);
            done = i + 1;
            let stored = u64::from_le_bytes(buf[i + 1..i + 9].try_into().ok()?);
            let next_ok = matches!(buf.get(i + 9), None | Some(b'*') | Some(b'#'));
            if next_ok && (stored == crc || stored == 0) {
                return Some(i + 9);
            }
        }
        i += 1;
    }
    None
}

/// What loading one file found.
struct FileLoad {
    /// Offset after the last command that can be kept (`None`: the whole file is fine).
    truncate_at: Option<usize>,
}

/// Replays the AOF commands of `buf` (a whole file, `from` past any RDB preamble).
fn replay(state: &ServerState, name: &str, buf: &[u8], from: usize) -> Result<FileLoad, String> {
    let mut client = ClientState::new(LOADING_CLIENT_ID, false);
    let mut out = Reply::new(Protocol::Resp2);
    let mut pos = from;
    let mut multi_start: Option<usize> = None;
    let mut queued: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut commands = 0u64;
    let mut last_progress = Instant::now();
    loop {
        let (spans, end) = match next_command(buf, pos) {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(ParseError::Truncated) => return Ok(FileLoad { truncate_at: Some(multi_start.unwrap_or(pos)) }),
            Err(ParseError::Bad) => {
                return Err(format!(
                    "Bad file format reading the append only file {name}: make a backup of your AOF file, then use \
                     ./redis-check-aof --fix <filename.manifest>"
                ))
            }
        };
        let args = Args::from_parts(buf, &spans);
        if dispatch::lookup(args.get(0)).is_none() {
            return Err(format!(
                "Unknown command '{}' reading the append only file {name}",
                String::from_utf8_lossy(&args.get(0)[..args.get(0).len().min(128)])
            ));
        }
        // A transaction runs when its EXEC is read, so an unfinished one at the end is never applied.
        if args.get(0).eq_ignore_ascii_case(b"multi") {
            multi_start = Some(pos);
        } else if args.get(0).eq_ignore_ascii_case(b"exec") {
            multi_start = None;
            for spans in queued.drain(..) {
                run_one(state, &mut client, &mut out, Args::from_parts(buf, &spans));
            }
        } else if multi_start.is_some() {
            queued.push(spans.clone());
        } else {
            run_one(state, &mut client, &mut out, args);
        }
        out.buf.clear();
        commands += 1;
        if commands.is_multiple_of(4096) && last_progress.elapsed().as_secs() >= 2 {
            last_progress = Instant::now();
            tracing::info!("Loading AOF {name}: {commands} commands, {pos} of {} bytes", buf.len());
        }
        pos = end;
    }
    if let Some(at) = multi_start {
        tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
        return Ok(FileLoad { truncate_at: Some(at) });
    }
    Ok(FileLoad { truncate_at: None })
}

/// Runs one replayed command the way Redis's loading client does: straight to the command (no
/// authentication, cluster redirection, OOM refusal or pub/sub-mode checks, which would drop data), under
/// the locks its table entry asks for.
fn run_one(state: &ServerState, client: &mut ClientState, out: &mut Reply, args: Args<'_>) {
    let Some(spec) = dispatch::resolve(&args, out) else { return };
    let now_ms = unix_time_ms();
    let mut view = match spec.lock {
        Lock::None => state.keyspace.lock_mask(0, client.db, now_ms),
        Lock::Keys => state.keyspace.lock_mask(dispatch::shard_mask(spec, &args), client.db, now_ms),
        Lock::All => state.keyspace.lock_all(client.db, now_ms),
    };
    dispatch::call(state, client, out, &mut view, spec, args);
}

/// Loads one file (base or incremental) into the keyspace.
fn load_file(state: &ServerState, dir: &Path, name: &str, last: bool, truncated_ok: bool) -> Result<(), String> {
    let path = dir.join(name);
    let buf = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("The AOF file {name} doesn't exist"));
        }
        Err(e) => return Err(format!("Fatal error: can't open the append log file {name} for reading: {e}")),
    };
    let mut from = 0;
    if buf.starts_with(b"REDIS") {
        let end = if name.ends_with(".rdb") { buf.len() } else { rdb_preamble_len(&buf).unwrap_or(buf.len()) };
        tracing::info!("Reading RDB base file on AOF loading...");
        let mut view = state.keyspace.lock_all(0, unix_time_ms());
        let (_, stats) = crate::rdb::snapshot::load_bytes(state, &mut view, &buf[..end], false)
            .map_err(|e| format!("Error reading the RDB base file {name}, AOF loading aborted: {e}"))?;
        tracing::info!("Done loading RDB, keys loaded: {}, keys expired: {}.", stats.keys_loaded, stats.keys_expired);
        from = end;
    }
    let r = replay(state, name, &buf, from)?;
    if let Some(at) = r.truncate_at {
        if !last {
            return Err(format!(
                "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF \
                 file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the \
                 'aof-load-truncated' configuration option to yes and restart the server."
            ));
        }
        if !truncated_ok {
            return Err(format!(
                "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF \
                 file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the \
                 'aof-load-truncated' configuration option to yes and restart the server."
            ));
        }
        if at < buf.len() && r.truncate_at.is_some() {
            tracing::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
            tracing::warn!("!!! Truncating the AOF {name} at offset {at} !!!");
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(at as u64).map(|_| f))
                .and_then(|f| f.sync_all());
            if let Err(e) = f {
                return Err(format!("Error truncating the AOF file {name}: {e}"));
            }
            tracing::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
        }
    }
    Ok(())
}

fn total_keys(state: &ServerState) -> usize {
    (0..state.keyspace.databases()).map(|db| state.keyspace.db_counts(db).0).sum()
}

/// At start-up with `appendonly yes`, before listening: loads the AOF named by the manifest (or creates
/// base 1 and incr 1 when there is none) and starts appending. An error means the server must not start.
pub fn load_at_startup(state: &Arc<ServerState>) -> Result<(), String> {
    super::spawn_writer(state);
    let settings = state.config.snapshot();
    let dir = super::aof_dir(&settings);
    let name = settings.aof.appendfilename.clone();
    remove_temp_files(&dir);
    let manifest_path = dir.join(manifest::manifest_name(&name));
    let text = match std::fs::read(&manifest_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // An AOF of Redis before 7.0 (one file in `dir`) is loaded, then replaced by a multi-part AOF.
            let old = settings.dir.join(&name);
            if old.is_file() {
                let started = Instant::now();
                load_file(state, &settings.dir, &name, true, settings.aof.aof_load_truncated)?;
                tracing::info!(
                    "DB loaded from append only file: {:.3} seconds ({} keys)",
                    started.elapsed().as_secs_f64(),
                    total_keys(state)
                );
            }
            return super::rewrite::create_at_startup(state);
        }
        Err(e) => return Err(format!("Fatal error: can't open the AOF manifest {}: {e}", manifest_path.display())),
    };
    let m = Manifest::parse(&text).map_err(|e| format!("{e} (manifest {})", manifest_path.display()))?;
    let started = Instant::now();
    let files: Vec<_> = m.base.iter().chain(&m.incrs).cloned().collect();
    for (i, f) in files.iter().enumerate() {
        let t = Instant::now();
        load_file(state, &dir, &f.name, i + 1 == files.len(), settings.aof.aof_load_truncated)?;
        let kind = if f.kind == manifest::Kind::Base { "base" } else { "incr" };
        tracing::info!("DB loaded from {kind} file {}: {:.3} seconds", f.name, t.elapsed().as_secs_f64());
    }
    tracing::info!(
        "DB loaded from append only file: {:.3} seconds ({} keys)",
        started.elapsed().as_secs_f64(),
        total_keys(state)
    );
    // Append to the last incremental file, or start one.
    let mut m = m;
    let open_err = |n: &str, e: std::io::Error| format!("Can't open the append-only file {n}: {e}");
    let (incr, size_at_open, file) = match m.incrs.last() {
        Some(last) => {
            tracing::info!("Opening AOF incr file {} on server start", last.name);
            let total = super::rewrite::manifest_size(&dir, &m);
            let file = std::fs::OpenOptions::new()
                .append(true)
                .open(dir.join(&last.name))
                .map_err(|e| open_err(&last.name, e))?;
            (last.name.clone(), total.saturating_sub(file_len(&dir.join(&last.name))), file)
        }
        None => {
            let seq = m.incr_seq + 1;
            let n = manifest::incr_name(&name, seq);
            // The file exists (empty) before the manifest names it.
            let file = super::rewrite::create_incr(&dir.join(&n)).map_err(|e| open_err(&n, e))?;
            m.incrs.push(manifest::FileInfo { name: n.clone(), seq, kind: manifest::Kind::Incr });
            m.incr_seq = seq;
            m.persist(&dir, &name).map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
            tracing::info!("Creating AOF incr file {n} on server start");
            (n, super::rewrite::manifest_size(&dir, &m), file)
        }
    };
    let existing = file_len(&dir.join(&incr));
    {
        let mut st = of(state).status.lock();
        st.base_size = size_at_open + existing;
        st.manifest = m;
        st.dir = dir;
        st.appendfilename = name;
    }
    super::start_appending(state, file, size_at_open + existing);
    Ok(())
}

/// Temporary files of a run that died (a rewrite's base, the incremental file of a runtime enable, a
/// manifest being replaced): never named by the manifest, so never needed.
fn remove_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.filter_map(|e| e.ok()) {
        if e.file_name().to_string_lossy().starts_with("temp-") {
            tracing::info!(
                "Removing the temporary AOF file {} left by a previous run",
                e.file_name().to_string_lossy()
            );
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Encoded commands read back the same; any cut of the file reads the whole commands before it and
        /// then says Truncated (or ends cleanly on a boundary); junk never panics.
        #[test]
        fn parser_round_trips_and_detects_every_cut(
            cmds in proptest::collection::vec(proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..5), 1..8),
            cut in any::<prop::sample::Index>(),
            junk in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut buf = Vec::new();
            let mut ends = Vec::new();
            for c in &cmds {
                crate::propagate::encode_into(&mut buf, c.iter());
                ends.push(buf.len());
            }
            let mut pos = 0;
            for c in &cmds {
                let (spans, end) = next_command(&buf, pos).unwrap().unwrap();
                let got: Vec<&[u8]> = spans.iter().map(|&(a, b)| &buf[a..b]).collect();
                let want: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
                prop_assert_eq!(got, want);
                pos = end;
            }
            prop_assert_eq!(next_command(&buf, pos), Ok(None));
            let cut = cut.index(buf.len() + 1);
            let part = &buf[..cut];
            let mut pos = 0;
            loop {
                match next_command(part, pos) {
                    Ok(Some((_, end))) => pos = end,
                    Ok(None) => { prop_assert!(pos == cut && (cut == 0 || ends.contains(&cut))); break; }
                    Err(e) => { prop_assert_eq!(e, ParseError::Truncated); prop_assert!(!ends.contains(&cut)); break; }
                }
            }
            let _ = next_command(&junk, 0);
            let _ = rdb_preamble_len(&junk);
        }
    }

    #[test]
    fn parses_commands_and_detects_truncation() {
        let buf = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n";
        let (spans, end) = next_command(buf, 0).unwrap().unwrap();
        assert_eq!(spans.len(), 2);
        let (spans, end2) = next_command(buf, end).unwrap().unwrap();
        assert_eq!(spans.len(), 3);
        assert_eq!(end2, buf.len());
        assert_eq!(next_command(buf, end2), Ok(None));
        for cut in end + 1..buf.len() {
            assert_eq!(next_command(&buf[..cut], end), Err(ParseError::Truncated), "cut {cut}");
        }
        assert_eq!(next_command(b"*1\r\n$3\r\nabcX\n", 0), Err(ParseError::Bad));
        assert_eq!(next_command(b"hello", 0), Err(ParseError::Bad));
        assert_eq!(next_command(b"*99999999999999999999\r\n", 0), Err(ParseError::Bad));
    }
}
