//! The slow log (SLOWLOG): the latest commands that ran for at least `slowlog-log-slower-than` microseconds.
//!
//! What this module decides, and why:
//! - Entries look exactly like Redis 7.0's: id, unix time, duration in µs, the arguments (at most 32, the
//!   last one replaced by `... (N more arguments)`; each at most 128 bytes followed by `... (N more bytes)`),
//!   the client's address and name. Tools parse these, so the truncation texts are Redis's.
//! - Secrets never enter the log. Redis's handlers overwrite their sensitive arguments with `(redacted)`
//!   before the log sees them (AUTH, HELLO ... AUTH, CONFIG SET of a sensitive directive, MIGRATE ... AUTH);
//!   Shoal's handlers cannot rewrite their arguments, so [`redacted_args`] applies the same rules here,
//!   stopping where Redis's argument parsing stops (an invalid HELLO version redacts nothing).
//! - The log is a mutex-protected deque touched only by calls that passed the threshold (the dispatcher's
//!   check is one atomic compare), so normal traffic never takes this lock.

use std::collections::VecDeque;

use parking_lot::Mutex;

use crate::protocol::decode::Args;

/// Redis's `SLOWLOG_ENTRY_MAX_ARGC`.
pub const MAX_ARGC: usize = 32;
/// Redis's `SLOWLOG_ENTRY_MAX_STRING`.
pub const MAX_ARG_BYTES: usize = 128;

const REDACTED: &[u8] = b"(redacted)";

/// One logged command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: u64,
    pub unix_time_secs: u64,
    pub duration_usec: u64,
    pub argv: Vec<Vec<u8>>,
    /// `ip:port` of the client.
    pub peer: String,
    /// The client's name (empty when unnamed).
    pub name: Vec<u8>,
}

#[derive(Default, Debug)]
struct Inner {
    /// Newest first.
    entries: VecDeque<Entry>,
    next_id: u64,
}

#[derive(Default, Debug)]
pub struct SlowLog {
    inner: Mutex<Inner>,
}

impl SlowLog {
    /// Adds an entry (newest first) and trims the log to `max_len`.
    pub fn push(&self, argv: Vec<Vec<u8>>, duration_usec: u64, peer: &str, name: &[u8], max_len: u64) {
        let mut inner = self.inner.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.push_front(Entry {
            id,
            unix_time_secs: crate::state::unix_time_ms() / 1000,
            duration_usec,
            argv,
            peer: peer.to_string(),
            name: name.to_vec(),
        });
        truncate(&mut inner.entries, max_len);
    }

    /// Drops the oldest entries beyond `max_len` (a lowered `slowlog-max-len`).
    pub fn trim(&self, max_len: u64) {
        truncate(&mut self.inner.lock().entries, max_len);
    }

    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SLOWLOG RESET: removes every entry; ids keep growing.
    pub fn reset(&self) {
        self.inner.lock().entries.clear();
    }

    /// The `count` newest entries, newest first.
    pub fn latest(&self, count: usize) -> Vec<Entry> {
        self.inner.lock().entries.iter().take(count).cloned().collect()
    }
}

fn truncate(entries: &mut VecDeque<Entry>, max_len: u64) {
    let max = usize::try_from(max_len).unwrap_or(usize::MAX);
    if entries.len() > max {
        entries.truncate(max);
    }
}

/// The arguments as the slow log stores them: redacted, at most [`MAX_ARGC`] of them, each at most
/// [`MAX_ARG_BYTES`] bytes.
pub fn entry_argv(command: &str, args: &Args<'_>) -> Vec<Vec<u8>> {
    let redacted = redacted_args(command, args);
    let argc = args.len();
    let kept = argc.min(MAX_ARGC);
    let mut out = Vec::with_capacity(kept);
    for j in 0..kept {
        if kept != argc && j == kept - 1 {
            out.push(format!("... ({} more arguments)", argc - kept + 1).into_bytes());
            continue;
        }
        let arg = if redacted.contains(&j) { REDACTED } else { args.get(j) };
        if arg.len() > MAX_ARG_BYTES {
            let mut s = arg[..MAX_ARG_BYTES].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", arg.len() - MAX_ARG_BYTES).as_bytes());
            out.push(s);
        } else {
            out.push(arg.to_vec());
        }
    }
    out
}

/// Indexes of the arguments Redis 7.0.15 replaces with `(redacted)` for this command line. `command` is the
/// table name (`auth`, `config|set`, ...).
pub fn redacted_args(command: &str, args: &Args<'_>) -> Vec<usize> {
    let argc = args.len();
    let is = |i: usize, word: &str| args.get(i).eq_ignore_ascii_case(word.as_bytes());
    match command {
        // AUTH redacts everything, but only in its valid (2- or 3-argument) forms.
        "auth" if argc <= 3 => (1..argc).collect(),
        "hello" => {
            if argc >= 2 {
                match crate::num::parse_i64(args.get(1)) {
                    Some(2 | 3) => {}
                    _ => return Vec::new(),
                }
            }
            let mut out = Vec::new();
            let mut j = 2;
            while j < argc {
                let more = argc - 1 - j;
                if is(j, "AUTH") && more >= 2 {
                    out.extend([j + 1, j + 2]);
                    j += 3;
                } else if is(j, "SETNAME") && more >= 1 {
                    j += 2;
                } else {
                    break;
                }
            }
            out
        }
        "config|set" if argc >= 4 && argc.is_multiple_of(2) => (2..argc)
            .step_by(2)
            .filter(|&i| {
                crate::config::registry::find(&String::from_utf8_lossy(args.get(i))).is_some_and(|d| d.is_sensitive())
            })
            .map(|i| i + 1)
            .collect(),
        "migrate" => {
            let mut out = Vec::new();
            let mut j = 6;
            while j < argc {
                let more = argc - 1 - j;
                if is(j, "AUTH") {
                    if more == 0 {
                        break;
                    }
                    out.push(j + 1);
                    j += 2;
                } else if is(j, "AUTH2") {
                    if more < 2 {
                        break;
                    }
                    out.extend([j + 1, j + 2]);
                    j += 3;
                } else if is(j, "KEYS") {
                    break;
                } else {
                    j += 1;
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::decode::OwnedArgs;

    fn argv(command: &str, words: &[&str]) -> Vec<String> {
        let slices: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        let owned = OwnedArgs::from_slices(&slices);
        entry_argv(command, &owned.args()).into_iter().map(|a| String::from_utf8(a).unwrap()).collect()
    }

    #[test]
    fn truncates_like_redis() {
        let long = "x".repeat(200);
        let got = argv("set", &["set", "k", &long]);
        assert_eq!(got[2], format!("{}... (72 more bytes)", "x".repeat(128)));
        let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let got = argv("mset", &refs);
        assert_eq!(got.len(), 32);
        assert_eq!(got[30], "30");
        assert_eq!(got[31], "... (9 more arguments)");
    }

    #[test]
    fn redacts_like_redis() {
        assert_eq!(argv("auth", &["auth", "pw"]), ["auth", "(redacted)"]);
        assert_eq!(argv("auth", &["auth", "a", "b", "c"]), ["auth", "a", "b", "c"]);
        assert_eq!(
            argv("hello", &["hello", "2", "setname", "x", "auth", "u", "p"]),
            ["hello", "2", "setname", "x", "auth", "(redacted)", "(redacted)"]
        );
        assert_eq!(argv("hello", &["hello", "x", "auth", "u", "p"]), ["hello", "x", "auth", "u", "p"]);
        assert_eq!(argv("hello", &["hello", "2", "auth", "u"]), ["hello", "2", "auth", "u"]);
        assert_eq!(
            argv("config|set", &["config", "set", "masterauth", "y", "maxmemory", "0"]),
            ["config", "set", "masterauth", "(redacted)", "maxmemory", "0"]
        );
        assert_eq!(
            argv("config|set", &["config", "set", "requirepass", "x", "masterauth"]),
            ["config", "set", "requirepass", "x", "masterauth"]
        );
    }

    #[test]
    fn keeps_newest_first_and_trims() {
        let log = SlowLog::default();
        for i in 0..5u64 {
            log.push(vec![i.to_string().into_bytes()], i, "1.2.3.4:5", b"", 3);
        }
        let got: Vec<u64> = log.latest(10).iter().map(|e| e.id).collect();
        assert_eq!(got, [4, 3, 2]);
        log.trim(1);
        assert_eq!(log.len(), 1);
        log.reset();
        assert!(log.is_empty());
        log.push(Vec::new(), 0, "", b"", 10);
        assert_eq!(log.latest(1)[0].id, 5);
    }
}
