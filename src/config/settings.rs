//! The typed snapshot of the directives Shoal implements, read on hot paths.
//!
//! It is a plain struct built from a [`Config`] after loading and after every successful CONFIG SET,
//! shared as an `Arc` so readers never parse strings or take the configuration lock. Directives that
//! become `Implemented` later add a field here.

use std::path::PathBuf;

use super::registry::LOGLEVEL;
use super::value::Value;
use super::Config;

/// `loglevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

impl LogLevel {
    fn from_enum(v: u32) -> LogLevel {
        match v {
            0 => LogLevel::Debug,
            1 => LogLevel::Verbose,
            3 => LogLevel::Warning,
            _ => LogLevel::Notice,
        }
    }

    /// The Redis name (`notice`, ...).
    pub fn name(self) -> &'static str {
        let idx = self as u32;
        LOGLEVEL.iter().find(|(_, v)| *v == idx).map_or("notice", |(n, _)| n)
    }
}

/// `maxmemory-policy` (the registry's enum values are Redis's, see `MAXMEMORY_POLICY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxmemoryPolicy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

impl MaxmemoryPolicy {
    fn from_enum(v: u32) -> MaxmemoryPolicy {
        match v {
            0 => MaxmemoryPolicy::VolatileLru,
            1 => MaxmemoryPolicy::VolatileLfu,
            2 => MaxmemoryPolicy::VolatileRandom,
            3 => MaxmemoryPolicy::VolatileTtl,
            4 => MaxmemoryPolicy::AllkeysLru,
            5 => MaxmemoryPolicy::AllkeysLfu,
            6 => MaxmemoryPolicy::AllkeysRandom,
            _ => MaxmemoryPolicy::NoEviction,
        }
    }

    /// The configuration word (`allkeys-lru`, ...).
    pub fn name(self) -> &'static str {
        match self {
            MaxmemoryPolicy::VolatileLru => "volatile-lru",
            MaxmemoryPolicy::VolatileLfu => "volatile-lfu",
            MaxmemoryPolicy::VolatileRandom => "volatile-random",
            MaxmemoryPolicy::VolatileTtl => "volatile-ttl",
            MaxmemoryPolicy::AllkeysLru => "allkeys-lru",
            MaxmemoryPolicy::AllkeysLfu => "allkeys-lfu",
            MaxmemoryPolicy::AllkeysRandom => "allkeys-random",
            MaxmemoryPolicy::NoEviction => "noeviction",
        }
    }

    /// Redis's `MAXMEMORY_FLAG_LFU`: access clocks hold LFU counters.
    pub fn is_lfu(self) -> bool {
        matches!(self, MaxmemoryPolicy::VolatileLfu | MaxmemoryPolicy::AllkeysLfu)
    }

    /// Redis's `MAXMEMORY_FLAG_LRU`.
    pub fn is_lru(self) -> bool {
        matches!(self, MaxmemoryPolicy::VolatileLru | MaxmemoryPolicy::AllkeysLru)
    }

    /// Only keys with a TTL are candidates.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            MaxmemoryPolicy::VolatileLru
                | MaxmemoryPolicy::VolatileLfu
                | MaxmemoryPolicy::VolatileRandom
                | MaxmemoryPolicy::VolatileTtl
        )
    }
}

/// Typed values of the implemented directives.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub port: u16,
    /// Addresses to listen on, in order (empty: do not listen on TCP). A leading `-` marks an optional
    /// address, as in Redis (`-::*`).
    pub bind: Vec<String>,
    pub protected_mode: bool,
    /// `None` when empty (no password).
    pub requirepass: Option<Vec<u8>>,
    pub databases: usize,
    /// The absolute working directory (the binary `chdir`s here at start-up).
    pub dir: PathBuf,
    pub dbfilename: String,
    /// Empty: log to stdout.
    pub logfile: String,
    pub loglevel: LogLevel,
    /// Always false: `daemonize yes` is refused at load.
    pub daemonize: bool,
    /// `None` when empty.
    pub pidfile: Option<String>,
    pub always_show_logo: bool,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    /// Idle client timeout; 0 = never.
    pub timeout_secs: u64,
    pub maxclients: u64,
    pub cluster_enabled: bool,
    pub cluster_config_file: String,
    pub cluster_node_timeout_ms: u64,
    /// As configured: 0 means `port + 10000` (see [`Settings::cluster_bus_port`]).
    pub cluster_port: u16,
    pub cluster_require_full_coverage: bool,
    pub cluster_allow_reads_when_down: bool,
    pub cluster_allow_pubsubshard_when_down: bool,
    /// `cluster-announce-*`: what this node tells peers about itself (empty / 0 = not set).
    pub cluster_announce_ip: String,
    pub cluster_announce_hostname: String,
    pub cluster_announce_port: u16,
    pub cluster_announce_bus_port: u16,
    /// `(seconds, changes)` snapshot points; empty disables RDB snapshots.
    pub save: Vec<(u64, u64)>,
    pub appendonly: bool,
    /// The other append-only-file directives (`crate::aof`).
    pub aof: AofSettings,
    /// Already clamped to 1..=500.
    pub hz: u32,
    pub tcp_backlog: u32,
    pub tcp_keepalive: u32,
    /// `maxmemory` in bytes; 0 = no limit.
    pub maxmemory: u64,
    pub maxmemory_policy: MaxmemoryPolicy,
    pub maxmemory_samples: u32,
    /// 0..=100 (100: evict without a time limit).
    pub maxmemory_eviction_tenacity: u32,
    pub lfu_log_factor: u32,
    /// Minutes; 0 = counters never decay.
    pub lfu_decay_time: u32,
    /// `disable-thp`: no transparent huge pages for the process (mimalloc would otherwise ask for them).
    pub disable_thp: bool,
    /// `slowlog-log-slower-than` in µs; negative disables the slow log, 0 logs every command.
    pub slowlog_log_slower_than_usec: i64,
    pub slowlog_max_len: u64,
    /// `latency-monitor-threshold` in ms; 0 disables the latency monitor.
    pub latency_monitor_threshold_ms: u64,
    /// `latency-tracking`: per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM).
    pub latency_tracking: bool,
    /// `latency-tracking-info-percentiles`.
    pub latency_tracking_info_percentiles: Vec<f64>,
    /// `client-output-buffer-limit pubsub`: past it a subscriber is disconnected.
    pub pubsub_output_limit: crate::config::value::ObufLimit,
    /// `notify-keyspace-events` as class bits (`crate::config::special::notify`); 0 = off.
    pub notify_keyspace_events: u32,
    /// Compact-encoding thresholds of the collection types (Redis's listpack / intset limits).
    pub encoding_limits: EncodingLimits,
}

/// `appendfsync`: when the append-only file is fsync'd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendFsync {
    Always,
    EverySec,
    No,
}

/// The append-only-file directives besides `appendonly` (`crate::aof`).
#[derive(Clone, Debug, PartialEq)]
pub struct AofSettings {
    pub appendfsync: AppendFsync,
    pub appenddirname: String,
    pub appendfilename: String,
    /// 0 disables the automatic rewrite.
    pub auto_aof_rewrite_percentage: u64,
    pub auto_aof_rewrite_min_size: u64,
    pub aof_load_truncated: bool,
    pub aof_use_rdb_preamble: bool,
}

impl AofSettings {
    /// `appendfsync` as Redis spells it.
    pub fn appendfsync_name(&self) -> &'static str {
        match self.appendfsync {
            AppendFsync::Always => "always",
            AppendFsync::EverySec => "everysec",
            AppendFsync::No => "no",
        }
    }
}

/// When a collection leaves its compact encoding, as Redis's `*-max-listpack-*` / `set-max-intset-entries`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EncodingLimits {
    /// `list-max-listpack-size`: positive = entries per node, negative = -1..-5 for 4..64 KiB per node.
    pub list_max_listpack_size: i64,
    pub list_compress_depth: u64,
    pub hash_max_listpack_entries: u64,
    pub hash_max_listpack_value: u64,
    pub set_max_intset_entries: u64,
    pub zset_max_listpack_entries: u64,
    pub zset_max_listpack_value: u64,
    pub stream_node_max_entries: u64,
    pub stream_node_max_bytes: u64,
    pub hll_sparse_max_bytes: u64,
}

impl Default for EncodingLimits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        EncodingLimits {
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            stream_node_max_entries: 100,
            stream_node_max_bytes: 4096,
            hll_sparse_max_bytes: 3000,
        }
    }
}

impl Settings {
    /// The cluster bus port: `cluster-port`, or `port + 10000` when that is 0. `None` when the derived port
    /// does not fit (Redis refuses to start a cluster node then).
    pub fn cluster_bus_port(&self) -> Option<u16> {
        if self.cluster_port != 0 {
            Some(self.cluster_port)
        } else {
            self.port.checked_add(10000)
        }
    }

    /// Builds the snapshot from a configuration.
    pub fn from_config(c: &Config) -> Settings {
        let lossy = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
        let non_empty = |b: Vec<u8>| if b.is_empty() { None } else { Some(b) };
        let unsigned = |name: &str| u64::try_from(c.num_of(name)).unwrap_or(0);
        let bind = match c.row("bind") {
            Some(Value::Bind(addrs)) => addrs.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect(),
            _ => Vec::new(),
        };
        let save = match c.row("save") {
            Some(Value::Save(pairs)) => {
                pairs.iter().map(|(s, n)| (u64::try_from(*s).unwrap_or(0), u64::try_from(*n).unwrap_or(0))).collect()
            }
            _ => Vec::new(),
        };
        Settings {
            port: u16::try_from(c.num_of("port")).unwrap_or(0),
            bind,
            protected_mode: c.bool_of("protected-mode"),
            requirepass: non_empty(c.bytes_of("requirepass")),
            databases: usize::try_from(c.num_of("databases")).unwrap_or(1),
            dir: c.dir(),
            dbfilename: lossy(c.bytes_of("dbfilename")),
            logfile: lossy(c.bytes_of("logfile")),
            loglevel: LogLevel::from_enum(c.enum_of("loglevel")),
            daemonize: c.bool_of("daemonize"),
            pidfile: non_empty(c.bytes_of("pidfile")).map(lossy),
            always_show_logo: c.bool_of("always-show-logo"),
            proto_max_bulk_len: unsigned("proto-max-bulk-len"),
            client_query_buffer_limit: unsigned("client-query-buffer-limit"),
            timeout_secs: unsigned("timeout"),
            maxclients: unsigned("maxclients"),
            cluster_enabled: c.bool_of("cluster-enabled"),
            cluster_config_file: lossy(c.bytes_of("cluster-config-file")),
            cluster_require_full_coverage: c.bool_of("cluster-require-full-coverage"),
            cluster_allow_reads_when_down: c.bool_of("cluster-allow-reads-when-down"),
            cluster_allow_pubsubshard_when_down: c.bool_of("cluster-allow-pubsubshard-when-down"),
            cluster_announce_ip: lossy(c.bytes_of("cluster-announce-ip")),
            cluster_announce_hostname: lossy(c.bytes_of("cluster-announce-hostname")),
            cluster_announce_port: u16::try_from(c.num_of("cluster-announce-port")).unwrap_or(0),
            cluster_announce_bus_port: u16::try_from(c.num_of("cluster-announce-bus-port")).unwrap_or(0),
            cluster_node_timeout_ms: unsigned("cluster-node-timeout"),
            cluster_port: u16::try_from(c.num_of("cluster-port")).unwrap_or(0),
            save,
            appendonly: c.bool_of("appendonly"),
            aof: AofSettings {
                appendfsync: match c.enum_of("appendfsync") {
                    1 => AppendFsync::Always,
                    0 => AppendFsync::No,
                    _ => AppendFsync::EverySec,
                },
                appenddirname: lossy(c.bytes_of("appenddirname")),
                appendfilename: lossy(c.bytes_of("appendfilename")),
                auto_aof_rewrite_percentage: unsigned("auto-aof-rewrite-percentage"),
                auto_aof_rewrite_min_size: unsigned("auto-aof-rewrite-min-size"),
                aof_load_truncated: c.bool_of("aof-load-truncated"),
                aof_use_rdb_preamble: c.bool_of("aof-use-rdb-preamble"),
            },
            hz: u32::try_from(c.num_of("hz")).unwrap_or(10),
            tcp_backlog: u32::try_from(c.num_of("tcp-backlog")).unwrap_or(511),
            tcp_keepalive: u32::try_from(c.num_of("tcp-keepalive")).unwrap_or(300),
            maxmemory: unsigned("maxmemory"),
            maxmemory_policy: MaxmemoryPolicy::from_enum(c.enum_of("maxmemory-policy")),
            maxmemory_samples: u32::try_from(c.num_of("maxmemory-samples")).unwrap_or(5),
            maxmemory_eviction_tenacity: u32::try_from(c.num_of("maxmemory-eviction-tenacity")).unwrap_or(10),
            lfu_log_factor: u32::try_from(c.num_of("lfu-log-factor")).unwrap_or(10),
            lfu_decay_time: u32::try_from(c.num_of("lfu-decay-time")).unwrap_or(1),
            disable_thp: c.bool_of("disable-thp"),
            slowlog_log_slower_than_usec: c.num_of("slowlog-log-slower-than"),
            slowlog_max_len: unsigned("slowlog-max-len"),
            latency_monitor_threshold_ms: unsigned("latency-monitor-threshold"),
            latency_tracking: c.bool_of("latency-tracking"),
            latency_tracking_info_percentiles: match c.row("latency-tracking-info-percentiles") {
                Some(Value::LatencyPercentiles(p)) => p.clone(),
                _ => Vec::new(),
            },
            pubsub_output_limit: match c.row("client-output-buffer-limit") {
                Some(Value::ClientOutputBufferLimit(l)) => l[2],
                _ => Default::default(),
            },
            notify_keyspace_events: match c.row("notify-keyspace-events") {
                Some(Value::NotifyKeyspaceEvents(flags)) => *flags,
                _ => 0,
            },
            encoding_limits: EncodingLimits {
                list_max_listpack_size: c.num_of("list-max-listpack-size"),
                list_compress_depth: unsigned("list-compress-depth"),
                hash_max_listpack_entries: unsigned("hash-max-listpack-entries"),
                hash_max_listpack_value: unsigned("hash-max-listpack-value"),
                set_max_intset_entries: unsigned("set-max-intset-entries"),
                zset_max_listpack_entries: unsigned("zset-max-listpack-entries"),
                zset_max_listpack_value: unsigned("zset-max-listpack-value"),
                stream_node_max_entries: unsigned("stream-node-max-entries"),
                stream_node_max_bytes: unsigned("stream-node-max-bytes"),
                hll_sparse_max_bytes: unsigned("hll-sparse-max-bytes"),
            },
        }
    }
}

impl Config {
    /// The typed snapshot of the implemented directives.
    pub fn settings(&self) -> Settings {
        Settings::from_config(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let s = Config::default().settings();
        assert_eq!(s.port, 6379);
        assert_eq!(s.bind, vec!["*".to_string(), "-::*".to_string()]);
        assert!(s.protected_mode);
        assert_eq!(s.requirepass, None);
        assert_eq!(s.databases, 16);
        assert!(s.dir.is_absolute());
        assert_eq!(s.dbfilename, "dump.rdb");
        assert_eq!(s.logfile, "");
        assert_eq!(s.loglevel, LogLevel::Notice);
        assert_eq!(s.loglevel.name(), "notice");
        assert!(!s.daemonize);
        assert_eq!(s.pidfile, None);
        assert!(!s.always_show_logo);
        assert_eq!(s.proto_max_bulk_len, 512 * 1024 * 1024);
        assert_eq!(s.client_query_buffer_limit, 1024 * 1024 * 1024);
        assert_eq!(s.timeout_secs, 0);
        assert_eq!(s.maxclients, 10000);
        assert!(!s.cluster_enabled);
        assert_eq!(s.cluster_config_file, "nodes.conf");
        assert_eq!(s.cluster_node_timeout_ms, 15000);
        assert_eq!(s.cluster_port, 0);
        assert_eq!(s.cluster_bus_port(), Some(16379));
        assert_eq!(s.save, vec![(3600, 1), (300, 100), (60, 10000)]);
        assert!(!s.appendonly);
        assert_eq!(s.hz, 10);
        assert_eq!(s.tcp_backlog, 511);
        assert_eq!(s.tcp_keepalive, 300);
        assert_eq!(s.maxmemory, 0);
        assert_eq!(s.maxmemory_policy, MaxmemoryPolicy::NoEviction);
        assert_eq!((s.maxmemory_samples, s.maxmemory_eviction_tenacity), (5, 10));
        assert_eq!((s.lfu_log_factor, s.lfu_decay_time), (10, 1));
        assert!(s.disable_thp);
        assert_eq!(s.slowlog_log_slower_than_usec, 10000);
        assert_eq!(s.slowlog_max_len, 128);
        assert_eq!(s.latency_monitor_threshold_ms, 0);
        assert!(s.latency_tracking);
        assert_eq!(s.latency_tracking_info_percentiles, vec![50.0, 99.0, 99.9]);
    }

    #[test]
    fn bus_port_overflow() {
        let mut s = Config::default().settings();
        s.port = 60000;
        assert_eq!(s.cluster_bus_port(), None);
        s.cluster_port = 7000;
        assert_eq!(s.cluster_bus_port(), Some(7000));
    }
}
