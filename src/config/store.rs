//! CONFIG GET / CONFIG SET semantics, and the shared [`ConfigStore`].
//!
//! CONFIG GET (Redis 7.0.15):
//! - each argument without `*`, `?` or `[` is an exact, case-insensitive name (including hidden ones) and
//!   is echoed back as typed (`CONFIG GET PORT` answers `PORT`);
//! - patterns match canonical names and aliases case-insensitively, skipping hidden directives;
//! - a name appears once even if several arguments match it (compared case-insensitively).
//!
//! CONFIG SET (Redis 7.0.15):
//! - all names are looked up first; the first problem wins: unknown name, immutable, protected (unless
//!   `enable-protected-configs` allows this client), denied while loading, or the same name twice (an
//!   alias and its canonical name count as different names, as in 7.0);
//! - then values are parsed in order; the first invalid one fails the whole command with Redis's message
//!   naming the directive as registered (lower case, alias if the alias was used);
//! - everything is applied atomically: either every value changes or none does. An optional `apply`
//!   callback (rebinding a port, ...) runs before the commit and can veto it.
//!
//! [`ConfigStore`] wraps a [`Config`] for the server: a mutex for the rare CONFIG commands, an
//! `Arc<Settings>` behind a read-write lock for hot paths (a cheap `Arc` clone per read), and a version
//! counter bumped by every successful CONFIG SET so components can notice changes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::registry::{self, Access, DIRECTIVES};
use super::settings::Settings;
use super::value::{self, Origin, Value};
use super::Config;
use crate::glob::{glob_match, has_glob_chars};

/// Context of a CONFIG SET call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// The client connects from the local host (for `enable-protected-configs local`).
    pub client_is_local: bool,
    /// The server is loading its dataset (directives flagged deny-loading answer `-LOADING`).
    pub loading: bool,
}

/// The veto of an `apply` callback: the directive to blame and Redis's message.
pub type ApplyError = (&'static str, String);

/// Names of the directives whose value changed (canonical names, table order).
pub type Changed = Vec<&'static str>;

fn set_failed(name: &str, message: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {message}")
}

impl Config {
    /// CONFIG GET: `(name, value)` pairs for the given names/patterns, values as raw bytes.
    pub fn get_raw(&self, patterns: &[&[u8]]) -> Vec<(String, Vec<u8>)> {
        let mut seen: Vec<Vec<u8>> = Vec::new();
        let mut out = Vec::new();
        for pattern in patterns {
            if !has_glob_chars(pattern) {
                let lower = pattern.to_ascii_lowercase();
                if seen.contains(&lower) {
                    continue;
                }
                if let Some((i, _)) = registry::lookup(pattern).filter(|(i, _)| DIRECTIVES[*i].ty.is_setting()) {
                    let d = &DIRECTIVES[i];
                    out.push((String::from_utf8_lossy(pattern).into_owned(), value::format(&d.ty, &self.values[i])));
                    seen.push(lower);
                }
                continue;
            }
            for (i, d) in DIRECTIVES.iter().enumerate() {
                if !d.ty.is_setting() || d.is_hidden() {
                    continue;
                }
                for name in d.names() {
                    if seen.iter().any(|s| s == name.as_bytes()) || !glob_match(pattern, name.as_bytes(), true) {
                        continue;
                    }
                    out.push((name.to_string(), value::format(&d.ty, &self.values[i])));
                    seen.push(name.as_bytes().to_vec());
                }
            }
        }
        out
    }

    /// CONFIG GET with values converted to text (lossily, for non-UTF-8 values such as binary passwords;
    /// the server should reply with [`Config::get_raw`]).
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        self.get_raw(patterns).into_iter().map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned())).collect()
    }

    /// CONFIG SET of several `(name, value)` pairs, all or nothing. Returns the directives whose value
    /// changed, or Redis's error reply text (without the leading `-`).
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])], options: SetOptions) -> Result<Changed, String> {
        self.set_with(pairs, options, |_, _, _| Ok(()))
    }

    /// [`Config::set`] with an `apply` callback, called with the old and new snapshots and the changed
    /// names after validation and before the commit; its error cancels the whole command.
    pub fn set_with(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        options: SetOptions,
        apply: impl FnOnce(&Settings, &Settings, &[&'static str]) -> Result<(), ApplyError>,
    ) -> Result<Changed, String> {
        // 1. Look every name up; the first problem wins.
        let mut targets: Vec<(usize, bool)> = Vec::with_capacity(pairs.len());
        for (name, _) in pairs {
            let shown = String::from_utf8_lossy(name);
            let found = registry::lookup(name).filter(|(i, _)| DIRECTIVES[*i].ty.is_setting());
            let Some((i, alias)) = found else {
                return Err(format!("ERR Unknown option or number of arguments for CONFIG SET - '{shown}'"));
            };
            let d = &DIRECTIVES[i];
            match d.access {
                Access::Immutable => return Err(set_failed(&shown, "can't set immutable config")),
                Access::Protected if !self.protected_allowed(options.client_is_local) => {
                    return Err(set_failed(&shown, "can't set protected config"))
                }
                _ => {}
            }
            if options.loading && d.denied_while_loading() {
                return Err("LOADING Redis is loading the dataset in memory".to_string());
            }
            if targets.contains(&(i, alias)) {
                return Err(set_failed(&shown, "duplicate parameter"));
            }
            targets.push((i, alias));
        }
        // 2. Parse every value into a working copy.
        let mut values = self.values.clone();
        let base_dir = self.dir();
        for ((i, alias), (_, raw)) in targets.iter().zip(pairs) {
            let d = &DIRECTIVES[*i];
            let registered = if *alias { d.alias.unwrap_or(d.name) } else { d.name };
            let words: Vec<&[u8]> = if d.ty.multi_arg() { value::split_set_value(raw) } else { vec![raw] };
            let new = value::parse(&d.ty, &words, Origin::Set, &values[*i], &base_dir)
                .map_err(|e| set_failed(registered, &e))?;
            values[*i] = new;
        }
        // Redis's apply step for a changed repl-backlog-size enforces its 16kb minimum.
        if let Some(i) = registry::index_of("repl-backlog-size") {
            if targets.iter().any(|(t, _)| *t == i) && values[i] != self.values[i] {
                if let Value::Num(v) = &mut values[i] {
                    *v = (*v).max(16 * 1024);
                }
            }
        }
        let mut next = self.clone();
        next.values = values;
        next.clamp_hz();

        // 3. Let the server apply it, then commit.
        let changed: Changed = DIRECTIVES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.values[*i] != next.values[*i])
            .map(|(_, d)| d.name)
            .collect();
        let (old, new) = (self.settings(), next.settings());
        apply(&old, &new, &changed).map_err(|(name, message)| set_failed(name, &message))?;
        self.values = next.values;
        for (i, _) in targets {
            self.user_set[i] = true;
        }
        Ok(changed)
    }

    /// `enable-protected-configs`: no (never), yes (always), local (local clients only).
    fn protected_allowed(&self, client_is_local: bool) -> bool {
        match self.enum_of("enable-protected-configs") {
            1 => true,
            2 => client_is_local,
            _ => false,
        }
    }

    /// The value of `enable-debug-command` / `enable-module-command` for a client: whether the command
    /// is allowed (Redis's `allowProtectedAction`).
    pub fn allows(&self, directive: &str, client_is_local: bool) -> bool {
        match self.value(directive) {
            Some(Value::Enum(1)) => true,
            Some(Value::Enum(2)) => client_is_local,
            _ => false,
        }
    }
}

/// The configuration shared by the whole server.
#[derive(Debug)]
pub struct ConfigStore {
    config: Mutex<Config>,
    snapshot: RwLock<Arc<Settings>>,
    version: AtomicU64,
}

impl ConfigStore {
    pub fn new(config: Config) -> Self {
        let snapshot = Arc::new(config.settings());
        ConfigStore { config: Mutex::new(config), snapshot: RwLock::new(snapshot), version: AtomicU64::new(0) }
    }

    /// The current typed settings (an `Arc` clone; never blocks on CONFIG SET parsing).
    pub fn snapshot(&self) -> Arc<Settings> {
        self.snapshot.read().clone()
    }

    /// Bumped by every successful CONFIG SET.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// CONFIG GET with raw values (see [`Config::get_raw`]).
    pub fn get_raw(&self, patterns: &[&[u8]]) -> Vec<(String, Vec<u8>)> {
        self.config.lock().get_raw(patterns)
    }

    /// CONFIG GET with text values (see [`Config::get`]).
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        self.config.lock().get(patterns)
    }

    /// CONFIG SET from a remote client outside loading (see [`Config::set`]).
    pub fn set(&self, pairs: &[(&[u8], &[u8])]) -> Result<Changed, String> {
        self.set_with(pairs, SetOptions::default(), |_, _, _| Ok(()))
    }

    /// CONFIG SET with context and an `apply` callback (see [`Config::set_with`]). The callback runs with
    /// the configuration locked, so concurrent CONFIG SETs apply in order.
    pub fn set_with(
        &self,
        pairs: &[(&[u8], &[u8])],
        options: SetOptions,
        apply: impl FnOnce(&Settings, &Settings, &[&'static str]) -> Result<(), ApplyError>,
    ) -> Result<Changed, String> {
        let mut config = self.config.lock();
        let changed = config.set_with(pairs, options, apply)?;
        *self.snapshot.write() = Arc::new(config.settings());
        self.version.fetch_add(1, Ordering::AcqRel);
        Ok(changed)
    }

    /// See [`Config::accepted_but_unused`].
    pub fn accepted_but_unused(&self) -> Vec<&'static str> {
        self.config.lock().accepted_but_unused()
    }

    /// Read access to the whole configuration (CONFIG REWRITE, INFO, ...).
    pub fn read<R>(&self, f: impl FnOnce(&Config) -> R) -> R {
        f(&self.config.lock())
    }

    /// Directive names matching a glob pattern (case-insensitive), canonical names and aliases, excluding
    /// hidden and file-only directives.
    pub fn names_matching(pattern: &[u8]) -> Vec<&'static str> {
        DIRECTIVES
            .iter()
            .filter(|d| d.ty.is_setting() && !d.is_hidden())
            .flat_map(|d| d.names())
            .filter(|n| glob_match(pattern, n.as_bytes(), true))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(c: &Config, pats: &[&str]) -> Vec<(String, String)> {
        let pats: Vec<&[u8]> = pats.iter().map(|p| p.as_bytes()).collect();
        c.get(&pats)
    }

    fn set(c: &mut Config, pairs: &[(&str, &str)]) -> Result<Changed, String> {
        let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(a, b)| (a.as_bytes(), b.as_bytes())).collect();
        c.set(&pairs, SetOptions::default())
    }

    fn pair(n: &str, v: &str) -> (String, String) {
        (n.to_string(), v.to_string())
    }

    #[test]
    fn get_exact_patterns_and_dedup() {
        let c = Config::default();
        assert_eq!(get(&c, &["PORT"]), vec![pair("PORT", "6379")]);
        assert_eq!(get(&c, &["port", "PORT", "Port"]), vec![pair("port", "6379")]);
        assert_eq!(get(&c, &["PO*", "port"]), vec![pair("port", "6379")]);
        assert_eq!(get(&c, &["PORT", "p?rt"]), vec![pair("PORT", "6379")]);
        assert_eq!(get(&c, &["slaveof", "replicaof"]), vec![pair("slaveof", ""), pair("replicaof", "")]);
        assert!(get(&c, &["nosuch"]).is_empty());
        assert!(get(&c, &["include"]).is_empty());
        assert!(get(&c, &["list-max-ziplist-entries"]).is_empty());
        let mut names: Vec<String> = get(&c, &["*-max-ziplist-*"]).into_iter().map(|(n, _)| n).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "hash-max-ziplist-entries",
                "hash-max-ziplist-value",
                "list-max-ziplist-size",
                "zset-max-ziplist-entries",
                "zset-max-ziplist-value"
            ]
        );
    }

    #[test]
    fn hidden_only_by_exact_name() {
        let c = Config::default();
        assert_eq!(get(&c, &["key-load-delay"]), vec![pair("key-load-delay", "0")]);
        assert!(get(&c, &["key-load*"]).is_empty());
        assert!(get(&c, &["*"]).iter().all(|(n, _)| n != "watchdog-period"));
    }

    #[test]
    fn set_errors_match_redis() {
        let mut c = Config::default();
        assert_eq!(
            set(&mut c, &[("foo", "1")]).unwrap_err(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        assert_eq!(
            set(&mut c, &[("maxmemory", "abc")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
        );
        assert_eq!(
            set(&mut c, &[("maxmemory", "1"), ("maxmemory", "2")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"
        );
        assert_eq!(
            set(&mut c, &[("daemonize", "yes")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
        );
        assert_eq!(
            set(&mut c, &[("dir", "/tmp")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
        );
        assert_eq!(
            set(&mut c, &[("SLAVE-read-only", "maybe")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'slave-read-only') - argument must be 'yes' or 'no'"
        );
        assert_eq!(
            set(&mut c, &[("loglevel", "foo")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the \
             following: debug, verbose, notice, warning"
        );
        // Name checks happen before value checks; the first name problem wins.
        assert!(set(&mut c, &[("maxmemory", "abc"), ("foo", "1")]).unwrap_err().contains("Unknown option"));
        assert!(set(&mut c, &[("daemonize", "yes"), ("foo", "1")]).unwrap_err().contains("immutable"));
        assert!(set(&mut c, &[("maxmemory", "1"), ("maxmemory", "2"), ("daemonize", "yes")])
            .unwrap_err()
            .contains("duplicate"));
        // An alias and its canonical name are different parameters in 7.0.
        assert!(set(&mut c, &[("slave-read-only", "yes"), ("replica-read-only", "no")]).is_ok());
        assert_eq!(c.get_one("replica-read-only").unwrap(), b"no");
        let loading = SetOptions { loading: true, ..SetOptions::default() };
        assert_eq!(
            c.set(&[(b"appendonly", b"yes")], loading).unwrap_err(),
            "LOADING Redis is loading the dataset in memory"
        );
    }

    #[test]
    fn set_is_atomic() {
        let mut c = Config::default();
        let err = set(&mut c, &[("maxmemory", "10mb"), ("timeout", "x")]).unwrap_err();
        assert!(err.contains("'timeout'"));
        assert_eq!(get(&c, &["maxmemory"]), vec![pair("maxmemory", "0")]);
        assert_eq!(set(&mut c, &[("maxmemory", "10mb"), ("timeout", "5")]).unwrap(), vec!["timeout", "maxmemory"]);
        assert_eq!(get(&c, &["maxmemory", "timeout"]), vec![pair("maxmemory", "10485760"), pair("timeout", "5")]);
        // Setting the same value again reports no change.
        assert!(set(&mut c, &[("timeout", "5")]).unwrap().is_empty());
    }

    #[test]
    fn apply_can_veto() {
        let mut c = Config::default();
        let err = c
            .set_with(&[(b"port", b"7000")], SetOptions::default(), |old, new, changed| {
                assert_eq!(old.port, 6379);
                assert_eq!(new.port, 7000);
                assert_eq!(changed, ["port"]);
                Err(("port", "Unable to listen on this port. Check server logs.".to_string()))
            })
            .unwrap_err();
        assert_eq!(
            err,
            "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check \
             server logs."
        );
        assert_eq!(c.settings().port, 6379);
    }

    #[test]
    fn special_values() {
        let mut c = Config::default();
        set(&mut c, &[("save", "100 1 200 2")]).unwrap();
        assert_eq!(c.get_one("save").unwrap(), b"100 1 200 2");
        set(&mut c, &[("save", "")]).unwrap();
        assert_eq!(c.get_one("save").unwrap(), b"");
        assert!(c.settings().save.is_empty());
        set(&mut c, &[("hz", "1000")]).unwrap();
        assert_eq!(c.get_one("hz").unwrap(), b"500");
        set(&mut c, &[("hz", "0")]).unwrap();
        assert_eq!(c.get_one("hz").unwrap(), b"1");
        set(&mut c, &[("client-output-buffer-limit", "normal 1 2 3 pubsub 1mb 2kb 5")]).unwrap();
        assert_eq!(
            c.get_one("client-output-buffer-limit").unwrap(),
            b"normal 1 2 3 slave 268435456 67108864 60 pubsub 1048576 2048 5"
        );
        set(&mut c, &[("bind", "127.0.0.1 ::1")]).unwrap();
        assert_eq!(c.settings().bind, vec!["127.0.0.1", "::1"]);
        set(&mut c, &[("notify-keyspace-events", "KEA")]).unwrap();
        assert_eq!(c.get_one("notify-keyspace-events").unwrap(), b"AKE");
        set(&mut c, &[("oom-score-adj", "relative")]).unwrap();
        assert_eq!(c.get_one("oom-score-adj").unwrap(), b"yes");
        set(&mut c, &[("repl-backlog-size", "1k")]).unwrap();
        assert_eq!(c.get_one("repl-backlog-size").unwrap(), b"16384");
        set(&mut c, &[("maxmemory-clients", "5%")]).unwrap();
        assert_eq!(c.get_one("maxmemory-clients").unwrap(), b"5%");
        set(&mut c, &[("requirepass", "s3cret")]).unwrap();
        assert_eq!(c.settings().requirepass.as_deref(), Some(&b"s3cret"[..]));
        assert!(set(&mut c, &[("activedefrag", "yes")]).unwrap_err().contains("Active defragmentation"));
    }

    #[test]
    fn protected_configs() {
        let mut c = Config::from_text(b"enable-protected-configs local\n").unwrap();
        let local = SetOptions { client_is_local: true, ..SetOptions::default() };
        assert!(c.set(&[(b"dbfilename", b"x.rdb")], SetOptions::default()).unwrap_err().contains("protected"));
        assert!(c.set(&[(b"dbfilename", b"x.rdb")], local).is_ok());
        assert_eq!(
            c.set(&[(b"dbfilename", b"a/b")], local).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just \
             a filename"
        );
        let tmp = std::env::temp_dir();
        use std::os::unix::ffi::OsStrExt;
        assert!(c.set(&[(b"dir", tmp.as_os_str().as_bytes())], local).is_ok());
        assert_eq!(c.settings().dir, std::fs::canonicalize(&tmp).unwrap());
        assert_eq!(
            c.set(&[(b"dir", b"/nonexistent-shoal")], local).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"
        );
        assert!(!c.allows("enable-debug-command", true));
    }

    #[test]
    fn store_snapshot_and_version() {
        let store = Arc::new(ConfigStore::new(Config::default()));
        assert_eq!(store.version(), 0);
        let before = store.snapshot();
        assert_eq!(store.set(&[(b"timeout", b"30")]).unwrap(), vec!["timeout"]);
        assert_eq!(store.version(), 1);
        assert_eq!(before.timeout_secs, 0);
        assert_eq!(store.snapshot().timeout_secs, 30);
        assert!(store.set(&[(b"timeout", b"x")]).is_err());
        assert_eq!(store.version(), 1);
        assert_eq!(store.accepted_but_unused(), Vec::<&str>::new());
        store.set(&[(b"lazyfree-lazy-eviction", b"yes")]).unwrap();
        assert_eq!(store.accepted_but_unused(), vec!["lazyfree-lazy-eviction"]);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let s = Arc::clone(&store);
                std::thread::spawn(move || (0..1000).map(|_| s.snapshot().port as u64).sum::<u64>())
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 6379 * 1000);
        }
        assert!(ConfigStore::names_matching(b"slave-*").contains(&"slave-read-only"));
    }

    fn _assert_send_sync() {
        fn is<T: Send + Sync>() {}
        is::<ConfigStore>();
    }
}
