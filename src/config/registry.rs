//! The directive registry: one table of every directive redis-server 7.0.15 accepts.
//!
//! Each row gives the name (and the alias Redis registers next to it), the value type with its bounds or
//! allowed words, the default (written as a config-file value and parsed at start-up, so defaults print
//! exactly like user values), whether CONFIG SET may change it, a few Redis flags, and the **kind**:
//!
//! - [`Kind::Implemented`]: Shoal acts on the value (or, for `include`, the deprecated names and a bare
//!   `sentinel`, behaves exactly as Redis does).
//! - [`Kind::Accepted`]: a genuine Redis 7.0 directive Shoal does not act on yet. It is parsed and
//!   validated with Redis's rules, stored and shown by CONFIG GET, so existing redis.conf files and
//!   clients keep working; the binary logs one start-up warning listing those the user set.
//!
//! Turning a directive on in Shoal is a one-word change of its `kind`. Names outside this table are
//! errors, as in Redis. The table covers the complete `CONFIG GET *` of 7.0.15 (checked by the
//! `config_file` integration test against a captured reply), the hidden ones CONFIG GET answers only by
//! exact name, and the file-only directives (`include`, `rename-command`, `user`, `loadmodule`,
//! `sentinel`, and the three names 7.0 still tolerates and ignores).

use super::value::{Num, NumFormat, StrCheck, Type};

/// Whether Shoal acts on a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Implemented,
    Accepted,
}

/// Whether CONFIG SET may change a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Mutable,
    /// "can't set immutable config".
    Immutable,
    /// "can't set protected config" unless `enable-protected-configs` allows the client.
    Protected,
}

/// Redis flag: the value is redacted from logs/slowlog/MONITOR (`requirepass`, ...).
pub const SENSITIVE: u8 = 1;
/// Redis flag: CONFIG GET answers only an exact name, never a pattern.
pub const HIDDEN: u8 = 2;
/// Redis flag: CONFIG SET refuses it while the dataset is loading.
pub const DENY_LOADING: u8 = 4;

/// One directive.
#[derive(Debug, Clone, Copy)]
pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub ty: Type,
    /// The default, written as it would be in a config file (words separated by spaces for multi-argument
    /// directives). `dir` defaults to the working directory at start-up instead.
    pub default: &'static str,
    pub access: Access,
    pub flags: u8,
    pub kind: Kind,
}

impl Directive {
    pub fn is_sensitive(&self) -> bool {
        self.flags & SENSITIVE != 0
    }
    pub fn is_hidden(&self) -> bool {
        self.flags & HIDDEN != 0
    }
    pub fn denied_while_loading(&self) -> bool {
        self.flags & DENY_LOADING != 0
    }
    /// The names this directive answers to: the canonical one, then the alias.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.alias)
    }
    const fn flag(mut self, flag: u8) -> Self {
        self.flags |= flag;
        self
    }
    const fn alias(mut self, alias: &'static str) -> Self {
        self.alias = Some(alias);
        self
    }
}

use Access::{Immutable as I, Mutable as M, Protected as P};
use Kind::{Accepted as A, Implemented as Y};

const fn d(name: &'static str, ty: Type, default: &'static str, access: Access, kind: Kind) -> Directive {
    Directive { name, alias: None, ty, default, access, flags: 0, kind }
}

const INT_MIN: i64 = i32::MIN as i64;
const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
/// `ULLONG_MAX` as the `long long` bit pattern Redis stores.
const ULLONG_MAX: i64 = -1;

const BOOL: Type = Type::Bool { reject_yes: None };
const fn int(min: i64, max: i64) -> Type {
    Type::Num(Num { min, max, unsigned: false, format: NumFormat::Integer })
}
/// `unsigned int` / `size_t` storage: bounds compare as unsigned.
const fn uint(min: i64, max: i64) -> Type {
    Type::Num(Num { min, max, unsigned: true, format: NumFormat::Integer })
}
const fn mem(min: i64, max: i64) -> Type {
    Type::Num(Num { min, max, unsigned: false, format: NumFormat::Memory })
}
const fn umem(min: i64, max: i64) -> Type {
    Type::Num(Num { min, max, unsigned: true, format: NumFormat::Memory })
}
const fn en(names: &'static [(&'static str, u32)]) -> Type {
    Type::Enum { names, flags: false }
}
const STR: Type = Type::Str { check: None };
const fn str_checked(check: StrCheck) -> Type {
    Type::Str { check: Some(check) }
}

/// `loglevel` words; the values are [`super::LogLevel`] discriminants.
pub const LOGLEVEL: &[(&str, u32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
const SUPERVISED: &[(&str, u32)] = &[("upstart", 3), ("systemd", 2), ("auto", 1), ("no", 0)];
const SYSLOG_FACILITY: &[(&str, u32)] = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
const REPL_DISKLESS_LOAD: &[(&str, u32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
const MAXMEMORY_POLICY: &[(&str, u32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
const APPENDFSYNC: &[(&str, u32)] = &[("everysec", 2), ("always", 1), ("no", 0)];
const OOM_SCORE_ADJ: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB_DEFAULT: &[(&str, u32)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE_DUMP_PAYLOAD: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
/// `enable-protected-configs` / `enable-debug-command` / `enable-module-command` words.
pub const PROTECTED_ACTION: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("local", 2)];
const ENDPOINT_TYPE: &[(&str, u32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const TLS_AUTH_CLIENTS: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("optional", 2)];
const PROPAGATION_ERROR: &[(&str, u32)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];
const SHUTDOWN_FLAGS: Type =
    Type::Enum { names: &[("default", 0), ("save", 1), ("nosave", 2), ("now", 4), ("force", 8)], flags: true };

const NO_DEFRAG: &str = "Active defragmentation cannot be enabled: it requires a Redis server compiled with a \
                         modified Jemalloc like the one shipped by default with the Redis source distribution";
const NO_DAEMONIZE: &str = "daemonize yes is not supported by Shoal: run it in the foreground under a supervisor \
                            (systemd, docker, ...) instead";

fn is_base_name(v: &[u8]) -> bool {
    !v.contains(&b'/') && !v.contains(&b'\\')
}

fn check_dbfilename(v: &[u8]) -> Result<(), String> {
    if is_base_name(v) {
        Ok(())
    } else {
        Err("dbfilename can't be a path, just a filename".to_string())
    }
}

fn check_appendfilename(v: &[u8]) -> Result<(), String> {
    if v.is_empty() {
        Err("appendfilename can't be empty".to_string())
    } else if !is_base_name(v) {
        Err("appendfilename can't be a path, just a filename".to_string())
    } else {
        Ok(())
    }
}

fn check_appenddirname(v: &[u8]) -> Result<(), String> {
    if v.is_empty() {
        Err("appenddirname can't be empty".to_string())
    } else if !is_base_name(v) {
        Err("appenddirname can't be a path, just a dirname".to_string())
    } else {
        Ok(())
    }
}

fn check_hostname(v: &[u8]) -> Result<(), String> {
    if v.len() >= 256 {
        return Err("Hostnames must be less than 256 characters".to_string());
    }
    if v.iter().any(|&c| !(c.is_ascii_alphanumeric() || c == b'-' || c == b'.')) {
        return Err("Hostnames may only contain alphanumeric characters, hyphens or dots".to_string());
    }
    Ok(())
}

/// Redis's `validateProcTitleTemplate`: every `{variable}` must be known, braces balanced, and the
/// expansion (with an empty title) must not be blank. Variables that always expand to something
/// (`listen-addr`, `port`, `tls-port`) stand in as "x".
fn check_proc_title(v: &[u8]) -> Result<(), String> {
    let invalid = || "template format is invalid or contains unknown variables".to_string();
    let mut out: Vec<u8> = Vec::new();
    let mut p = 0;
    while p < v.len() {
        let Some(open) = v[p..].iter().position(|&b| b == b'{').map(|i| i + p) else {
            out.extend_from_slice(&v[p..]);
            break;
        };
        out.extend_from_slice(&v[p..open]);
        let name_start = open + 1;
        match v.get(name_start) {
            None => return Err(invalid()),
            Some(b'{') => {
                out.push(b'{');
                p = name_start + 1;
                continue;
            }
            Some(_) => {}
        }
        let close = v[name_start..].iter().position(|&b| b == b'}').map(|i| i + name_start).ok_or_else(invalid)?;
        match &v[name_start..close] {
            b"title" | b"server-mode" | b"config-file" | b"unixsocket" => {}
            b"listen-addr" | b"port" | b"tls-port" => out.push(b'x'),
            _ => return Err(invalid()),
        }
        p = close + 1;
    }
    if out.iter().all(|&b| b == b' ') {
        return Err(invalid());
    }
    Ok(())
}

/// Every directive redis-server 7.0.15 knows, in Redis's own table order.
pub static DIRECTIVES: &[Directive] = &[
    // Booleans.
    d("rdbchecksum", BOOL, "yes", I, A),
    d("daemonize", Type::Bool { reject_yes: Some(NO_DAEMONIZE) }, "no", I, Y),
    d("io-threads-do-reads", BOOL, "no", I, A),
    d("always-show-logo", BOOL, "no", I, Y),
    d("protected-mode", BOOL, "yes", M, Y),
    d("rdbcompression", BOOL, "yes", M, A),
    d("rdb-del-sync-files", BOOL, "no", M, A),
    d("activerehashing", BOOL, "yes", M, A),
    d("stop-writes-on-bgsave-error", BOOL, "yes", M, A),
    d("set-proc-title", BOOL, "yes", I, A),
    d("dynamic-hz", BOOL, "yes", M, A),
    d("lazyfree-lazy-eviction", BOOL, "no", M, A),
    d("lazyfree-lazy-expire", BOOL, "no", M, A),
    d("lazyfree-lazy-server-del", BOOL, "no", M, A),
    d("lazyfree-lazy-user-del", BOOL, "no", M, A),
    d("lazyfree-lazy-user-flush", BOOL, "no", M, A),
    d("repl-disable-tcp-nodelay", BOOL, "no", M, A),
    d("repl-diskless-sync", BOOL, "yes", M, A),
    d("aof-rewrite-incremental-fsync", BOOL, "yes", M, A),
    d("no-appendfsync-on-rewrite", BOOL, "no", M, A),
    d("cluster-require-full-coverage", BOOL, "yes", M, Y),
    d("rdb-save-incremental-fsync", BOOL, "yes", M, A),
    d("aof-load-truncated", BOOL, "yes", M, Y),
    d("aof-use-rdb-preamble", BOOL, "yes", M, Y),
    d("aof-timestamp-enabled", BOOL, "no", M, A),
    d("cluster-replica-no-failover", BOOL, "no", M, A).alias("cluster-slave-no-failover"),
    d("replica-lazy-flush", BOOL, "no", M, A).alias("slave-lazy-flush"),
    d("replica-serve-stale-data", BOOL, "yes", M, A).alias("slave-serve-stale-data"),
    d("replica-read-only", BOOL, "yes", M, A).alias("slave-read-only"),
    d("replica-ignore-maxmemory", BOOL, "yes", M, A).alias("slave-ignore-maxmemory"),
    d("jemalloc-bg-thread", BOOL, "yes", M, A),
    d("activedefrag", Type::Bool { reject_yes: Some(NO_DEFRAG) }, "no", M, A),
    d("syslog-enabled", BOOL, "no", I, A),
    d("cluster-enabled", BOOL, "no", I, Y),
    d("appendonly", BOOL, "no", M, Y).flag(DENY_LOADING),
    d("cluster-allow-reads-when-down", BOOL, "no", M, Y),
    d("cluster-allow-pubsubshard-when-down", BOOL, "yes", M, Y),
    d("crash-log-enabled", BOOL, "yes", M, A),
    d("crash-memcheck-enabled", BOOL, "yes", M, A),
    d("use-exit-on-panic", BOOL, "no", M, A).flag(HIDDEN),
    d("disable-thp", BOOL, "yes", I, Y),
    d("cluster-allow-replica-migration", BOOL, "yes", M, A),
    d("replica-announced", BOOL, "yes", M, A),
    d("latency-tracking", BOOL, "yes", M, Y),
    d("aof-disable-auto-gc", BOOL, "no", M, A),
    d("replica-ignore-disk-write-errors", BOOL, "no", M, A),
    // Strings.
    d("aclfile", STR, "", I, A),
    d("unixsocket", STR, "", I, A),
    d("pidfile", STR, "", I, Y),
    d("replica-announce-ip", STR, "", M, A).alias("slave-announce-ip"),
    d("masteruser", STR, "", M, A).flag(SENSITIVE),
    d("cluster-announce-ip", STR, "", M, Y),
    d("cluster-config-file", STR, "nodes.conf", I, Y),
    d("cluster-announce-hostname", str_checked(check_hostname), "", M, Y),
    d("syslog-ident", STR, "redis", I, A),
    d("dbfilename", str_checked(check_dbfilename), "dump.rdb", P, Y),
    d("appendfilename", str_checked(check_appendfilename), "appendonly.aof", I, Y),
    d("appenddirname", str_checked(check_appenddirname), "appendonlydir", I, Y),
    d("server_cpulist", STR, "", I, A),
    d("bio_cpulist", STR, "", I, A),
    d("aof_rewrite_cpulist", STR, "", I, A),
    d("bgsave_cpulist", STR, "", I, A),
    d("ignore-warnings", STR, "", M, A),
    d("proc-title-template", str_checked(check_proc_title), "{title} {listen-addr} {server-mode}", M, A),
    d("bind-source-addr", STR, "", M, A),
    d("logfile", STR, "", I, Y),
    d("masterauth", STR, "", M, A).flag(SENSITIVE),
    d("requirepass", STR, "", M, Y).flag(SENSITIVE),
    // Enums.
    d("supervised", en(SUPERVISED), "no", I, A),
    d("syslog-facility", en(SYSLOG_FACILITY), "local0", I, A),
    d("repl-diskless-load", en(REPL_DISKLESS_LOAD), "disabled", M, A).flag(DENY_LOADING),
    d("loglevel", en(LOGLEVEL), "notice", M, Y),
    d("maxmemory-policy", en(MAXMEMORY_POLICY), "noeviction", M, Y),
    d("appendfsync", en(APPENDFSYNC), "everysec", M, Y),
    d("oom-score-adj", en(OOM_SCORE_ADJ), "no", M, A),
    d("acl-pubsub-default", en(ACL_PUBSUB_DEFAULT), "resetchannels", M, A),
    d("sanitize-dump-payload", en(SANITIZE_DUMP_PAYLOAD), "no", M, A),
    d("enable-protected-configs", en(PROTECTED_ACTION), "no", I, A),
    d("enable-debug-command", en(PROTECTED_ACTION), "no", I, Y),
    d("enable-module-command", en(PROTECTED_ACTION), "no", I, A),
    d("cluster-preferred-endpoint-type", en(ENDPOINT_TYPE), "ip", M, A),
    d("propagation-error-behavior", en(PROPAGATION_ERROR), "ignore", M, A),
    d("shutdown-on-sigint", SHUTDOWN_FLAGS, "default", M, A),
    d("shutdown-on-sigterm", SHUTDOWN_FLAGS, "default", M, A),
    // Integers (C int).
    d("databases", int(1, INT_MAX), "16", I, Y),
    d("port", int(0, 65535), "6379", M, Y),
    d("io-threads", int(1, 128), "1", I, A),
    d("auto-aof-rewrite-percentage", int(0, INT_MAX), "100", M, Y),
    d("cluster-replica-validity-factor", int(0, INT_MAX), "10", M, A).alias("cluster-slave-validity-factor"),
    d("list-max-listpack-size", int(INT_MIN, INT_MAX), "-2", M, Y).alias("list-max-ziplist-size"),
    d("tcp-keepalive", int(0, INT_MAX), "300", M, Y),
    d("cluster-migration-barrier", int(0, INT_MAX), "1", M, A),
    d("active-defrag-cycle-min", int(1, 99), "1", M, A),
    d("active-defrag-cycle-max", int(1, 99), "25", M, A),
    d("active-defrag-threshold-lower", int(0, 1000), "10", M, A),
    d("active-defrag-threshold-upper", int(0, 1000), "100", M, A),
    d("lfu-log-factor", int(0, INT_MAX), "10", M, Y),
    d("lfu-decay-time", int(0, INT_MAX), "1", M, Y),
    d("replica-priority", int(0, INT_MAX), "100", M, A).alias("slave-priority"),
    d("repl-diskless-sync-delay", int(0, INT_MAX), "5", M, A),
    d("maxmemory-samples", int(1, INT_MAX), "5", M, Y),
    d("maxmemory-eviction-tenacity", int(0, 100), "10", M, Y),
    d("timeout", int(0, INT_MAX), "0", M, Y),
    d("replica-announce-port", int(0, 65535), "0", M, A).alias("slave-announce-port"),
    d("tcp-backlog", int(0, INT_MAX), "511", I, Y),
    d("cluster-port", int(0, 65535), "0", I, Y),
    d("cluster-announce-bus-port", int(0, 65535), "0", M, Y),
    d("cluster-announce-port", int(0, 65535), "0", M, Y),
    d("cluster-announce-tls-port", int(0, 65535), "0", M, A),
    d("repl-timeout", int(1, INT_MAX), "60", M, A),
    d("repl-ping-replica-period", int(1, INT_MAX), "10", M, A).alias("repl-ping-slave-period"),
    d("list-compress-depth", int(0, INT_MAX), "0", M, Y),
    d("rdb-key-save-delay", int(INT_MIN, INT_MAX), "0", M, A).flag(HIDDEN),
    d("key-load-delay", int(INT_MIN, INT_MAX), "0", M, A).flag(HIDDEN),
    d("active-expire-effort", int(1, 10), "1", M, A),
    d("hz", int(0, INT_MAX), "10", M, Y),
    d("min-replicas-to-write", int(0, INT_MAX), "0", M, A).alias("min-slaves-to-write"),
    d("min-replicas-max-lag", int(0, INT_MAX), "10", M, A).alias("min-slaves-max-lag"),
    d("watchdog-period", int(0, INT_MAX), "0", M, A).flag(HIDDEN),
    d("shutdown-timeout", int(0, INT_MAX), "10", M, A),
    d("repl-diskless-sync-max-replicas", int(0, INT_MAX), "0", M, A),
    // Unsigned int.
    d("maxclients", uint(1, UINT_MAX), "10000", M, Y),
    d("unixsocketperm", Type::Num(Num { min: 0, max: 0o777, unsigned: true, format: NumFormat::Octal }), "0", I, A),
    d("socket-mark-id", uint(0, UINT_MAX), "0", I, A),
    // Unsigned long (bounds checked as signed by Redis).
    d("active-defrag-max-scan-fields", int(1, LONG_MAX), "1000", M, A),
    d("slowlog-max-len", int(0, LONG_MAX), "128", M, Y),
    d("acllog-max-len", int(0, LONG_MAX), "128", M, A),
    // Long long.
    d("busy-reply-threshold", int(0, LONG_MAX), "5000", M, A).alias("lua-time-limit"),
    d("cluster-node-timeout", int(0, LONG_MAX), "15000", M, Y),
    d("slowlog-log-slower-than", int(-1, LONG_MAX), "10000", M, Y),
    d("latency-monitor-threshold", int(0, LONG_MAX), "0", M, Y),
    d("proto-max-bulk-len", mem(1024 * 1024, LONG_MAX), "536870912", M, Y),
    d("stream-node-max-entries", int(0, LONG_MAX), "100", M, Y),
    d("repl-backlog-size", mem(1, LONG_MAX), "1048576", M, A),
    // Unsigned long long.
    d("maxmemory", umem(0, ULLONG_MAX), "0", M, Y),
    d("cluster-link-sendbuf-limit", umem(0, ULLONG_MAX), "0", M, A),
    // size_t.
    d("hash-max-listpack-entries", uint(0, LONG_MAX), "512", M, Y).alias("hash-max-ziplist-entries"),
    d("set-max-intset-entries", uint(0, LONG_MAX), "512", M, Y),
    d("zset-max-listpack-entries", uint(0, LONG_MAX), "128", M, Y).alias("zset-max-ziplist-entries"),
    d("active-defrag-ignore-bytes", umem(1, LONG_MAX), "104857600", M, A),
    d("hash-max-listpack-value", umem(0, LONG_MAX), "64", M, Y).alias("hash-max-ziplist-value"),
    d("stream-node-max-bytes", umem(0, LONG_MAX), "4096", M, Y),
    d("zset-max-listpack-value", umem(0, LONG_MAX), "64", M, Y).alias("zset-max-ziplist-value"),
    d("hll-sparse-max-bytes", umem(0, LONG_MAX), "3000", M, Y),
    d("tracking-table-max-keys", uint(0, LONG_MAX), "1000000", M, A),
    d("client-query-buffer-limit", umem(1024 * 1024, LONG_MAX), "1073741824", M, Y),
    d(
        "maxmemory-clients",
        Type::Num(Num { min: -100, max: LONG_MAX, unsigned: false, format: NumFormat::MemoryOrPercent }),
        "0",
        M,
        A,
    ),
    // time_t / off_t.
    d("repl-backlog-ttl", int(0, LONG_MAX), "3600", M, A),
    d("auto-aof-rewrite-min-size", mem(0, LONG_MAX), "67108864", M, Y),
    d("loading-process-events-interval-bytes", int(1024, INT_MAX), "2097152", M, A).flag(HIDDEN),
    // TLS (this build of Redis has them; Shoal has no TLS yet).
    d("tls-port", int(0, 65535), "0", M, A),
    d("tls-session-cache-size", int(0, INT_MAX), "20480", M, A),
    d("tls-session-cache-timeout", int(0, INT_MAX), "300", M, A),
    d("tls-cluster", BOOL, "no", M, A),
    d("tls-replication", BOOL, "no", M, A),
    d("tls-auth-clients", en(TLS_AUTH_CLIENTS), "yes", M, A),
    d("tls-prefer-server-ciphers", BOOL, "no", M, A),
    d("tls-session-caching", BOOL, "yes", M, A),
    d("tls-cert-file", STR, "", M, A),
    d("tls-key-file", STR, "", M, A),
    d("tls-key-file-pass", STR, "", M, A),
    d("tls-client-cert-file", STR, "", M, A),
    d("tls-client-key-file", STR, "", M, A),
    d("tls-client-key-file-pass", STR, "", M, A),
    d("tls-dh-params-file", STR, "", M, A),
    d("tls-ca-cert-file", STR, "", M, A),
    d("tls-ca-cert-dir", STR, "", M, A),
    d("tls-protocols", STR, "", M, A),
    d("tls-ciphers", STR, "", M, A),
    d("tls-ciphersuites", STR, "", M, A),
    // Special multi-value directives.
    d("dir", Type::Dir, "", P, Y).flag(DENY_LOADING),
    d("save", Type::Save, "3600 1 300 100 60 10000", M, Y),
    d(
        "client-output-buffer-limit",
        Type::ClientOutputBufferLimit,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        M,
        Y,
    ),
    d("oom-score-adj-values", Type::OomScoreAdjValues, "0 200 800", M, A),
    d("notify-keyspace-events", Type::NotifyKeyspaceEvents, "", M, Y),
    d("bind", Type::Bind, "* -::*", M, Y),
    d("replicaof", Type::ReplicaOf, "no one", I, A).alias("slaveof"),
    d("latency-tracking-info-percentiles", Type::LatencyPercentiles, "50 99 99.9", M, Y),
    // File-only directives (not settings: CONFIG GET/SET do not know them).
    d("include", Type::Include, "", I, Y),
    d("rename-command", Type::RenameCommand, "", I, A),
    d("user", Type::User, "", I, A),
    d("loadmodule", Type::LoadModule, "", I, A),
    d("sentinel", Type::Sentinel, "", I, Y),
    d("list-max-ziplist-entries", Type::Deprecated, "", I, Y),
    d("list-max-ziplist-value", Type::Deprecated, "", I, Y),
    d("lua-replicate-commands", Type::Deprecated, "", I, Y),
];

/// Finds a directive by name or alias, case-insensitively. Returns its table index and whether `name`
/// was the alias.
pub fn lookup(name: &[u8]) -> Option<(usize, bool)> {
    DIRECTIVES.iter().enumerate().find_map(|(i, d)| {
        if d.name.as_bytes().eq_ignore_ascii_case(name) {
            Some((i, false))
        } else if d.alias.is_some_and(|a| a.as_bytes().eq_ignore_ascii_case(name)) {
            Some((i, true))
        } else {
            None
        }
    })
}

/// Finds a directive by name or alias, case-insensitively.
pub fn find(name: &str) -> Option<&'static Directive> {
    lookup(name.as_bytes()).map(|(i, _)| &DIRECTIVES[i])
}

/// Table index of a canonical name (for the typed accessors).
pub(crate) fn index_of(name: &str) -> Option<usize> {
    DIRECTIVES.iter().position(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lowercase() {
        let mut seen = std::collections::HashSet::new();
        for d in DIRECTIVES {
            for n in d.names() {
                assert_eq!(n, n.to_ascii_lowercase());
                assert!(seen.insert(n), "duplicate directive name {n}");
            }
        }
    }

    #[test]
    fn lookup_is_case_insensitive_and_knows_aliases() {
        assert_eq!(find("PORT").map(|d| d.name), Some("port"));
        assert_eq!(find("slave-serve-stale-data").map(|d| d.name), Some("replica-serve-stale-data"));
        assert_eq!(find("hash-max-ziplist-entries").map(|d| d.name), Some("hash-max-listpack-entries"));
        assert_eq!(find("SlaveOf").map(|d| d.name), Some("replicaof"));
        assert!(lookup(b"slaveof").is_some_and(|(_, alias)| alias));
        assert!(find("no-such-thing").is_none());
    }

    #[test]
    fn proc_title_templates() {
        assert!(check_proc_title(b"{title} {listen-addr} {server-mode}").is_ok());
        assert!(check_proc_title(b"{title}").is_err());
        assert!(check_proc_title(b" ").is_err());
        assert!(check_proc_title(b"{title} {foo}").is_err());
        assert!(check_proc_title(b"{title").is_err());
        assert!(check_proc_title(b"redis {{x}").is_ok());
        assert!(check_proc_title(b"{").is_err());
    }

    #[test]
    fn hostnames() {
        assert!(check_hostname(b"node-1.example.com").is_ok());
        assert!(check_hostname(b"").is_ok());
        assert!(check_hostname(b"a_b").is_err());
        assert_eq!(check_hostname(&[b'a'; 300]).unwrap_err(), "Hostnames must be less than 256 characters");
    }
}
