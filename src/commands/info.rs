//! INFO: the server's state in Redis's section and field names, with figures that track what they name.

use std::fmt::Write;

use super::connection::REDIS_VERSION;
use super::Ctx;
use crate::protocol::decode::Args;
use crate::state::ServerState;

const DEFAULT_SECTIONS: &[&str] =
    &["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "cluster", "keyspace"];
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

fn human_bytes(n: usize) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{n}B")
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", n / (1024.0 * 1024.0 * 1024.0))
    }
}

fn cpu_times() -> (f64, f64) {
    // SAFETY: getrusage writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

/// Renders the requested sections (lower-case names; empty = default).
pub fn render(server: &ServerState, wanted: &[String]) -> String {
    let sections: Vec<&str> = if wanted.is_empty() || wanted.iter().any(|w| w == "default") {
        DEFAULT_SECTIONS.to_vec()
    } else if wanted.iter().any(|w| w == "all" || w == "everything") {
        ALL_SECTIONS.to_vec()
    } else {
        ALL_SECTIONS.iter().copied().filter(|s| wanted.iter().any(|w| w == s)).collect()
    };
    let settings = server.config.snapshot();
    let stats = &server.stats;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    let mut s = String::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            s.push_str("\r\n");
        }
        match *section {
            "server" => {
                let uptime = server.uptime_secs();
                let _ = write!(
                    s,
                    "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n\
                     redis_build_id:0\r\nredis_mode:{}\r\nshoal_version:{}\r\nos:{} {}\r\narch_bits:64\r\n\
                     multiplexing_api:epoll\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\n\
                     tcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\n\
                     configured_hz:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
                    if settings.cluster_enabled { "cluster" } else { "standalone" },
                    env!("CARGO_PKG_VERSION"),
                    std::env::consts::OS,
                    std::env::consts::ARCH,
                    std::process::id(),
                    server.run_id,
                    server.tcp_port.load(std::sync::atomic::Ordering::Relaxed),
                    crate::state::unix_time_us(),
                    uptime,
                    uptime / 86400,
                    settings.hz,
                    settings.hz,
                    server.executable,
                    server.config_file,
                );
            }
            "clients" => {
                let _ = write!(
                    s,
                    "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nblocked_clients:0\r\n",
                    stats.connected_clients.load(std::sync::atomic::Ordering::Relaxed),
                    settings.maxclients
                );
            }
            "memory" => {
                let used = crate::alloc::allocated_bytes();
                let rss = crate::alloc::rss_bytes();
                let _ = write!(
                    s,
                    "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\n\
                     used_memory_rss_human:{}\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n\
                     mem_fragmentation_ratio:{:.2}\r\nmem_allocator:mimalloc\r\n",
                    human_bytes(used),
                    human_bytes(rss),
                    if used > 0 { rss as f64 / used as f64 } else { 0.0 }
                );
            }
            "persistence" => {
                let _ = write!(
                    s,
                    "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:{}\r\n\
                     rdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\n\
                     aof_enabled:0\r\naof_rewrite_in_progress:0\r\n",
                    load(&stats.dirty),
                    server.started_unix_ms / 1000
                );
            }
            "stats" => {
                let ks = server.keyspace.stats();
                let _ = write!(
                    s,
                    "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
                     total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\n\
                     expired_keys:{}\r\nevicted_keys:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n\
                     total_error_replies:{}\r\n",
                    load(&stats.total_connections_received),
                    load(&stats.total_commands_processed),
                    load(&stats.net_input_bytes),
                    load(&stats.net_output_bytes),
                    load(&stats.rejected_connections),
                    ks.expired_keys,
                    ks.keyspace_hits,
                    ks.keyspace_misses,
                    load(&stats.total_error_replies),
                );
            }
            "replication" => {
                let _ = write!(
                    s,
                    "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_replid:{}\r\nmaster_repl_offset:0\r\n",
                    server.run_id
                );
            }
            "cpu" => {
                let (sys, user) = cpu_times();
                let _ = write!(s, "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\n");
            }
            "modules" => s.push_str("# Modules\r\n"),
            "errorstats" => {
                s.push_str("# Errorstats\r\n");
                for (code, count) in server.error_codes.lock().iter() {
                    let _ = write!(s, "errorstat_{code}:count={count}\r\n");
                }
            }
            "cluster" => {
                let _ = write!(s, "# Cluster\r\ncluster_enabled:{}\r\n", u8::from(settings.cluster_enabled));
            }
            "keyspace" => {
                s.push_str("# Keyspace\r\n");
                for db in 0..server.keyspace.databases() {
                    let (keys, expires) = server.keyspace.db_counts(db);
                    if keys > 0 {
                        let _ = write!(s, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                    }
                }
            }
            _ => {}
        }
    }
    s
}

pub fn info(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let wanted: Vec<String> = args.iter().skip(1).map(|a| String::from_utf8_lossy(a).to_lowercase()).collect();
    let text = render(ctx.server, &wanted);
    ctx.out.verbatim(text.as_bytes());
}
