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
    /// `(seconds, changes)` snapshot points; empty disables RDB snapshots.
    pub save: Vec<(u64, u64)>,
    pub appendonly: bool,
    /// Already clamped to 1..=500.
    pub hz: u32,
    pub tcp_backlog: u32,
    pub tcp_keepalive: u32,
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
            cluster_node_timeout_ms: unsigned("cluster-node-timeout"),
            cluster_port: u16::try_from(c.num_of("cluster-port")).unwrap_or(0),
            save,
            appendonly: c.bool_of("appendonly"),
            hz: u32::try_from(c.num_of("hz")).unwrap_or(10),
            tcp_backlog: u32::try_from(c.num_of("tcp-backlog")).unwrap_or(511),
            tcp_keepalive: u32::try_from(c.num_of("tcp-keepalive")).unwrap_or(300),
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
