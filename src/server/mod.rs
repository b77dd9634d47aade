//! The running server: listeners, connections, the cron thread, signals and shutdown.
//!
//! Connections are tasks on a multi-threaded tokio runtime with one worker per core the process may run on
//! (`available_parallelism` honours `taskset`), so a server pinned to one core runs one worker, like Redis.
//! The cron (active expiry, incremental rehash) runs on its own thread and takes each shard lock only for a
//! short sampling round, so it never stalls the clients the way a long cron pass on the event loop would.

mod blocked;
pub mod connection;
pub mod log;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpSocket};

use crate::config::ConfigStore;
use crate::state::{unix_time_ms, ServerState, ShutdownMode};

/// Why the server could not start or stopped with an error.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Addresses to listen on for a redis.conf `bind` list. `*` is every IPv4 address, `::*` every IPv6 one, and
/// a leading `-` marks an address whose failure to bind is not fatal (Redis 7's default is `* -::*`).
fn bind_targets(bind: &[String], port: u16) -> Vec<(SocketAddr, bool)> {
    let mut targets = Vec::new();
    for entry in bind {
        let (optional, addr) = match entry.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, entry.as_str()),
        };
        let ip = match addr {
            "*" => "0.0.0.0",
            "::*" => "::",
            other => other,
        };
        match format!("{ip}:{port}").parse::<SocketAddr>().or_else(|_| format!("[{ip}]:{port}").parse()) {
            Ok(sa) => targets.push((sa, optional)),
            Err(_) => targets.push((SocketAddr::from(([255, 255, 255, 255], port)), optional)),
        }
    }
    targets
}

fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    if addr.is_ipv6() {
        // Like Redis: the IPv6 socket serves IPv6 only, so `* ::*` can bind both.
        set_ipv6_only(&socket)?;
    }
    socket.bind(addr)?;
    socket.listen(backlog)
}

fn set_ipv6_only(socket: &TcpSocket) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: setsockopt on a valid fd with a properly sized int option.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn banner(state: &ServerState, show_logo: bool) {
    let s = state.config.snapshot();
    let pid = std::process::id();
    let mode = if s.cluster_enabled { "cluster" } else { "standalone" };
    if show_logo {
        let art = format!(
            "\n      ><(((º>   Shoal {} (Redis {} compatible) 64 bit\n      \
             ><(((º>   Running in {mode} mode\n      \
             ><(((º>   Port: {}\n      \
             ><(((º>   PID: {pid}\n",
            env!("CARGO_PKG_VERSION"),
            crate::commands::connection::REDIS_VERSION,
            s.port
        );
        println!("{art}");
    }
    tracing::info!(
        "Shoal version={} (Redis {} compatible), bits=64, pid={pid}, just started",
        env!("CARGO_PKG_VERSION"),
        crate::commands::connection::REDIS_VERSION
    );
    tracing::info!("Running mode={mode}, port={}.", s.port);
}

fn write_pidfile(path: &str) {
    if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
        tracing::warn!("Failed to write PID file {path}: {e}");
    }
}

/// The cron thread: active expiry within Redis's budget (25% of each 1/hz period) until shutdown.
fn spawn_cron(state: Arc<ServerState>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("shoal-cron".into())
        .spawn(move || {
            let mut cron_loops: u64 = 0;
            while state.shutdown_requested().is_none() {
                let hz = u64::from(state.config.snapshot().hz.clamp(1, 500));
                let period = Duration::from_millis(1000 / hz);
                let started = Instant::now();
                let now_ms = unix_time_ms();
                state.clients.tick_clock(now_ms);
                // As Redis: no active expiry while clients are paused (CLIENT PAUSE), so a pause freezes the
                // dataset a failover is copying.
                if state.clients.pause_at(now_ms).0 == crate::clients::PauseMode::Off {
                    state.keyspace.active_expire_cycle(now_ms, started + period / 4);
                    crate::notify::deliver_pending(&state);
                    // INFO expire_cycle_cpu_milliseconds and the `expire-cycle` latency event.
                    crate::stats::record_expire_cycle(&state, started.elapsed().as_micros() as u64);
                }
                // Instantaneous ops/sec and kbps, sampled every 100 ms (Redis's `run_with_period(100)`).
                let period_ms = 1000 / hz;
                if period_ms >= 100 || cron_loops.is_multiple_of(100 / period_ms) {
                    crate::stats::sample_rates(&state, now_ms);
                }
                // BGSAVE completion and the `save` schedule.
                crate::rdb::snapshot::cron(&state, now_ms);
                // AOF: CONFIG SET appendonly, finished and automatic rewrites.
                crate::aof::cron(&state, now_ms);
                cron_loops = cron_loops.wrapping_add(1);
                if let Some(rest) = period.checked_sub(started.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
        })
        .unwrap_or_else(|e| panic!("cannot start the cron thread: {e}"))
}

/// Drives the cluster state's periodic step every 100 ms (Redis's clusterCron period).
async fn cluster_cron(state: Arc<ServerState>) {
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    while state.shutdown_requested().is_none() {
        interval.tick().await;
        if let Some(cluster) = &state.cluster {
            cluster.apply_settings(&state.config.snapshot());
            cluster.tick();
        }
    }
}

/// Loads or creates the node's cluster identity (nodes.conf in `dir`), as Redis does before listening.
fn open_cluster(settings: &crate::config::Settings) -> Result<Arc<crate::cluster::handle::ClusterHandle>, StartError> {
    let cport = settings
        .cluster_bus_port()
        .ok_or_else(|| StartError("The cluster bus port (port + 10000) does not fit in 16 bits".into()))?;
    let path = std::path::Path::new(&settings.cluster_config_file);
    let path = if path.is_absolute() { path.to_path_buf() } else { settings.dir.join(path) };
    crate::cluster::handle::ClusterHandle::open(
        crate::cluster::handle::ClusterSettings {
            config_path: path,
            ip: settings.cluster_announce_ip.clone(),
            port: if settings.cluster_announce_port != 0 { settings.cluster_announce_port } else { settings.port },
            cport: if settings.cluster_announce_bus_port != 0 { settings.cluster_announce_bus_port } else { cport },
            node_timeout_ms: settings.cluster_node_timeout_ms,
            require_full_coverage: settings.cluster_require_full_coverage,
            allow_reads_when_down: settings.cluster_allow_reads_when_down,
            allow_pubsubshard_when_down: settings.cluster_allow_pubsubshard_when_down,
            announce_ip: settings.cluster_announce_ip.clone(),
            announce_hostname: settings.cluster_announce_hostname.clone(),
        },
        crate::state::unix_time_ms(),
    )
    .map_err(|e| {
        tracing::warn!("{e}");
        StartError(e)
    })
}

/// Runs the server until SHUTDOWN or a signal. Returns an error for a start-up failure (port busy...).
pub fn run(config: Arc<ConfigStore>, config_file: Option<String>) -> Result<(), StartError> {
    let settings = config.snapshot();
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("shoal-io")
        .enable_all()
        .build()
        .map_err(|e| StartError(format!("cannot start the runtime: {e}")))?;
    let mut state_inner = ServerState::new(config);
    if let Some(state) = Arc::get_mut(&mut state_inner) {
        state.config_file = config_file.unwrap_or_default();
        if settings.cluster_enabled {
            state.cluster = Some(open_cluster(&settings)?);
        }
    }
    let state = state_inner;
    if let Some(c) = &state.cluster {
        let w = Arc::downgrade(&state);
        c.on_slot_ownership_change(move || {
            if let Some(s) = w.upgrade() {
                s.blocking.wake_all()
            }
        });
    }
    banner(&state, settings.always_show_logo);
    let unused = state.config.accepted_but_unused();
    if !unused.is_empty() {
        tracing::warn!("accepted, no effect yet: {}", unused.join(", "));
    }
    // The snapshot is loaded before listening; a corrupt file stops the start (logged with its offset).
    // With appendonly yes the append-only file is the dataset (Redis loads only it); it starts appending here.
    if settings.appendonly {
        crate::aof::load::load_at_startup(&state).map_err(|e| {
            tracing::warn!("{e}");
            StartError(e)
        })?;
    } else {
        crate::rdb::snapshot::load_at_startup(&state).map_err(StartError)?;
        // Idle until `CONFIG SET appendonly yes`.
        crate::aof::spawn_writer(&state);
    }
    runtime.block_on(async {
        let signals = Signals::install();
        let mut listeners = Vec::new();
        if settings.port != 0 {
            for (addr, optional) in bind_targets(&settings.bind, settings.port) {
                match listen(addr, settings.tcp_backlog.max(1)) {
                    Ok(l) => listeners.push(l),
                    Err(e) if optional && e.kind() != std::io::ErrorKind::AddrInUse => {
                        tracing::debug!("Skipping optional bind {addr}: {e}");
                    }
                    Err(e) => {
                        tracing::warn!("Warning: Could not create server TCP listening socket {addr}: bind: {e}");
                        tracing::warn!("Failed listening on port {} (tcp), aborting.", settings.port);
                        return Err(StartError(format!("Failed listening on port {} (tcp), aborting.", settings.port)));
                    }
                }
            }
            if listeners.is_empty() {
                tracing::warn!("Failed listening on port {} (tcp), aborting.", settings.port);
                return Err(StartError(format!("Failed listening on port {} (tcp), aborting.", settings.port)));
            }
        }
        if let Some(pidfile) = &settings.pidfile {
            write_pidfile(pidfile);
        }
        let cron = spawn_cron(state.clone());
        if state.cluster.is_some() {
            tokio::spawn(cluster_cron(state.clone()));
        }
        if let (Some(cluster), Some(cport)) = (&state.cluster, settings.cluster_bus_port()) {
            // The bus listens on the client listeners' addresses, on the bus port.
            let mut bus = Vec::new();
            for addr in listeners.iter().filter_map(|l| l.local_addr().ok()) {
                match listen(SocketAddr::new(addr.ip(), cport), settings.tcp_backlog.max(1)) {
                    Ok(l) => bus.push(l),
                    Err(e) => {
                        tracing::warn!("Failed listening on port {cport} (cluster bus), aborting: {e}");
                        return Err(StartError(format!("Failed listening on port {cport} (cluster bus): {e}")));
                    }
                }
            }
            crate::cluster::bus::serve(cluster, bus);
        }
        for listener in listeners {
            tokio::spawn(accept_loop(listener, state.clone()));
        }
        tracing::info!("Ready to accept connections");
        let mode = wait_for_shutdown(&state, signals).await;
        tracing::info!("User requested shutdown...");
        // The cron stops first, so no scheduled BGSAVE starts while the final snapshot is written.
        let _ = cron.join();
        let save =
            mode == ShutdownMode::Save || (mode == ShutdownMode::Default && !state.config.snapshot().save.is_empty());
        crate::aof::shutdown(&state);
        let _ = crate::rdb::snapshot::shutdown(&state, save);
        if let Some(pidfile) = &state.config.snapshot().pidfile {
            tracing::info!("Removing the pid file.");
            let _ = std::fs::remove_file(pidfile);
        }
        tracing::info!("Redis is now ready to exit, bye bye...");
        Ok(())
    })?;
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}

/// SIGTERM and SIGINT streams, installed before the listeners open so that a supervisor's SIGTERM right after
/// "Ready to accept connections" is a graceful shutdown, never the default (killing) action.
struct Signals {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals { term: signal(SignalKind::terminate()).ok(), int: signal(SignalKind::interrupt()).ok() }
    }
}

async fn wait_for_shutdown(state: &ServerState, signals: Signals) -> ShutdownMode {
    let Signals { mut term, mut int } = signals;
    let mut requested = state.subscribe_shutdown();
    loop {
        tokio::select! {
            _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                tracing::info!("Received SIGTERM scheduling shutdown...");
                state.request_shutdown(ShutdownMode::Default);
                return ShutdownMode::Default;
            }
            _ = async { match int.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                tracing::info!("Received SIGINT scheduling shutdown...");
                state.request_shutdown(ShutdownMode::Default);
                return ShutdownMode::Default;
            }
            changed = requested.changed() => {
                if changed.is_err() {
                    return ShutdownMode::Default;
                }
                if let Some(mode) = *requested.borrow() {
                    return mode;
                }
            }
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<ServerState>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let stats = &state.stats;
        let maxclients = state.config.snapshot().maxclients;
        // As Redis: a refused connection counts in rejected_connections only, not in total_connections_received.
        if stats.connected_clients.load(Ordering::Relaxed) as u64 >= maxclients {
            stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut stream = stream;
                let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
            });
            continue;
        }
        stats.total_connections_received.fetch_add(1, Ordering::Relaxed);
        stats.connected_clients.fetch_add(1, Ordering::Relaxed);
        let id = state.next_client_id.fetch_add(1, Ordering::Relaxed);
        let state = state.clone();
        tokio::spawn(async move {
            let _guard = connection::ConnectedGuard(&state);
            connection::serve(stream, state.clone(), id).await;
        });
    }
}
