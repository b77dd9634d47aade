//! State shared by every connection and command: configuration, keyspace, counters and the shutdown signal.
//! It sits below `commands` and `server` so that both can use it without importing each other.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::config::ConfigStore;
use crate::keyspace::Keyspace;

/// How SHUTDOWN (or a signal) asked the server to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Save if save points are configured (SIGTERM, plain SHUTDOWN).
    Default,
    Save,
    NoSave,
}

/// Server-wide counters reported by INFO stats; relaxed atomics, since they are statistics.
#[derive(Default, Debug)]
pub struct ServerStats {
    pub total_connections_received: AtomicU64,
    pub total_commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub connected_clients: AtomicUsize,
    /// Changes since the last save (INFO `rdb_changes_since_last_save`).
    pub dirty: AtomicU64,
    pub total_error_replies: AtomicU64,
}

impl ServerStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// CONFIG RESETSTAT: zero the counters that Redis resets (not the connected-clients gauge).
    pub fn reset(&self) {
        for c in [
            &self.total_connections_received,
            &self.total_commands_processed,
            &self.rejected_connections,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.total_error_replies,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

pub struct ServerState {
    pub config: Arc<ConfigStore>,
    pub keyspace: Keyspace,
    pub stats: ServerStats,
    pub started_at: Instant,
    pub started_unix_ms: u64,
    /// 40 hex characters, new at each start (INFO `run_id`).
    pub run_id: String,
    /// The port actually listened on (INFO `tcp_port`).
    pub tcp_port: AtomicUsize,
    pub next_client_id: AtomicU64,
    shutdown_tx: tokio::sync::watch::Sender<Option<ShutdownMode>>,
    /// Absolute path of the executable and of the config file, for INFO.
    pub executable: String,
    pub config_file: String,
    /// Last error code counts for INFO errorstats (code -> count).
    pub error_codes: Mutex<std::collections::BTreeMap<String, u64>>,
    /// Calls, time, failures and rejections per command (INFO commandstats).
    pub command_stats: crate::stats::CommandStats,
    /// maxmemory enforcement (eviction pool, followed configuration) and memory figures.
    pub memory: crate::memory::MemoryState,
    /// SLOWLOG entries, LATENCY events, and INFO's instantaneous rates (observability, issue 3).
    pub slowlog: crate::slowlog::SlowLog,
    pub latency: crate::latency::LatencyMonitor,
    pub rates: crate::stats::Rates,
    /// Live connections, MONITOR clients and the CLIENT PAUSE state.
    pub clients: crate::clients::ClientRegistry,
    /// Cluster mode only: the node's cluster state and published routing table.
    pub cluster: Option<Arc<crate::cluster::handle::ClusterHandle>>,
    /// Pub/Sub subscriptions and subscribers' message queues.
    pub pubsub: Arc<crate::pubsub::PubSub>,
    /// Notification classes and encoding limits, mirrored for hot paths.
    pub tunables: crate::tunables::Tunables,
    /// Clients parked in blocking commands, by the keys they wait for.
    pub blocking: crate::blocking::BlockingRegistry,
    /// RDB snapshots: last save, the BGSAVE child, load figures (`crate::rdb::snapshot`).
    pub persistence: crate::rdb::snapshot::Persistence,
    /// The append-only file (`crate::aof`); shared with its fsync thread.
    pub aof: Arc<crate::aof::Aof>,
}

impl ServerState {
    pub fn new(config: Arc<ConfigStore>) -> Arc<ServerState> {
        let settings = config.snapshot();
        let keyspace = Keyspace::new(settings.databases, settings.cluster_enabled);
        let (shutdown_tx, _) = tokio::sync::watch::channel(None);
        let pubsub = Arc::new(crate::pubsub::PubSub::new());
        if settings.cluster_enabled {
            // The cluster bus delivers other nodes' PUBLISH here.
            crate::pubsub::set_cluster_target(&pubsub);
        }
        let started_unix_ms = unix_time_ms();
        keyspace.events.set_wanted(crate::notify::keyspace_classes(settings.notify_keyspace_events));
        Arc::new(ServerState {
            config,
            keyspace,
            stats: ServerStats::default(),
            started_at: Instant::now(),
            started_unix_ms,
            run_id: random_hex(40),
            tcp_port: AtomicUsize::new(usize::from(settings.port)),
            next_client_id: AtomicU64::new(1),
            shutdown_tx,
            executable: std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
            config_file: String::new(),
            error_codes: Mutex::new(Default::default()),
            command_stats: crate::stats::CommandStats::new(crate::commands::table::COMMAND_IDS),
            memory: crate::memory::MemoryState::new(&settings),
            slowlog: Default::default(),
            latency: Default::default(),
            rates: Default::default(),
            clients: crate::clients::ClientRegistry::new(),
            cluster: None,
            pubsub,
            tunables: crate::tunables::Tunables::new(&settings),
            blocking: Default::default(),
            persistence: crate::rdb::snapshot::Persistence::new(started_unix_ms),
            aof: Arc::new(crate::aof::Aof::new()),
        })
    }

    /// Asks the server to stop; the accept loop and every connection observe it.
    pub fn request_shutdown(&self, mode: ShutdownMode) {
        self.shutdown_tx.send_replace(Some(mode));
    }

    pub fn shutdown_requested(&self) -> Option<ShutdownMode> {
        *self.shutdown_tx.borrow()
    }

    pub fn subscribe_shutdown(&self) -> tokio::sync::watch::Receiver<Option<ShutdownMode>> {
        self.shutdown_tx.subscribe()
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started_at.elapsed().as_secs()
    }
}

pub fn unix_time_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn unix_time_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Random lower-case hex, for run ids and node ids.
pub fn random_hex(len: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..len).map(|_| HEX[fastrand::usize(..16)] as char).collect()
}
