//! INFO: the server's state in Redis's section and field names, with figures that track what they name.
//!
//! Every section and field of redis-server 7.0.15's `INFO everything` is printed, in Redis's order, so
//! monitoring tools find what they look for. Figures Shoal measures are real (commands, network, keyspace,
//! per-command calls/time/latency percentiles, errors, CPU, instantaneous rates); features Shoal does not
//! have yet print the value Redis prints when they are idle (`rdb_bgsave_in_progress:0`, `sync_full:0`,
//! `aof_last_bgrewrite_status:ok`, ...), never an invented figure. Section selection follows Redis's
//! `genInfoSectionDict`: names are case-insensitive, `default`, `all` and `everything` combine with explicit
//! names, and an unknown name alone gives an empty reply.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::connection::REDIS_VERSION;
use super::spec::CommandSpec;
use super::{table, Ctx};
use crate::config::Settings;
use crate::keyspace::{DbView, ScanFilter};
use crate::protocol::decode::Args;
use crate::state::ServerState;

/// Redis's default sections (`module_list` prints as `# Modules`).
const DEFAULT_SECTIONS: &[&str] = &[
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
/// Every section, in the order Redis prints them.
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// The sections `INFO <words>` prints, in Redis's order (`wanted` is lower-case).
fn selected_sections(wanted: &[String]) -> Vec<&'static str> {
    if wanted.is_empty() {
        return DEFAULT_SECTIONS.to_vec();
    }
    let all = wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.iter().any(|w| w == "default");
    ALL_SECTIONS
        .iter()
        .copied()
        .filter(|s| {
            all || (default && DEFAULT_SECTIONS.contains(s))
                || wanted.iter().any(|w| w == s || (*s == "modules" && w == "module_list"))
        })
        .collect()
}

/// `(system, user)` CPU seconds of `who` (RUSAGE_SELF, RUSAGE_CHILDREN or RUSAGE_THREAD).
fn cpu_times(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage writes into the struct we pass; on failure it stays zeroed.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

/// Renders the requested sections (lower-case names; empty = default). `view` is the caller's keyspace view
/// when it already holds every shard (inside a transaction), so sampling does not lock them again.
pub fn render(server: &ServerState, wanted: &[String], mut view: Option<&mut DbView<'_>>) -> String {
    let sections = selected_sections(wanted);
    let settings = server.config.snapshot();
    let stats = &server.stats;
    let mut s = String::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            s.push_str("\r\n");
        }
        match *section {
            "server" => server_section(&mut s, server, &settings),
            "clients" => {
                let c = server.clients.summary();
                let _ = write!(
                    s,
                    "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\n\
                     client_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\n\
                     blocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:{}\r\n",
                    stats.connected_clients.load(std::sync::atomic::Ordering::Relaxed),
                    settings.maxclients,
                    c.max_input_buffer,
                    c.max_output_buffer,
                    c.blocked,
                    c.in_timeout_table,
                );
            }
            "memory" => s.push_str(&crate::memory::info_section(server, view.as_deref_mut())),
            "persistence" => persistence_section(&mut s, server),
            "stats" => stats_section(&mut s, server),
            "replication" => replication_section(&mut s, server),
            "cpu" => cpu_section(&mut s),
            "modules" => s.push_str("# Modules\r\n"),
            "commandstats" => commandstats_section(&mut s, server),
            "errorstats" => {
                s.push_str("# Errorstats\r\n");
                for (code, count) in server.error_codes.lock().iter() {
                    let _ = write!(s, "errorstat_{code}:count={count}\r\n");
                }
            }
            "latencystats" => latencystats_section(&mut s, server, &settings),
            "cluster" => {
                let _ = write!(s, "# Cluster\r\ncluster_enabled:{}\r\n", u8::from(settings.cluster_enabled));
            }
            "keyspace" => keyspace_section(&mut s, server, view.as_deref_mut()),
            _ => {}
        }
    }
    s
}

pub fn info(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let wanted: Vec<String> = args.iter().skip(1).map(|a| String::from_utf8_lossy(a).to_lowercase()).collect();
    let view = if ctx.db.holds_all_shards() { Some(&mut *ctx.db) } else { None };
    let text = render(ctx.server, &wanted, view);
    ctx.out.verbatim(text.as_bytes());
}

// ---------------------------------------------------------------------------------------------------------
// Sections (all but clients and memory)

/// `uname -s -r -m`, as Redis prints `os`.
fn os_name() -> String {
    // SAFETY: uname fills the struct we pass; its fields are NUL-terminated C strings.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!("{} {} {}", field(&u.sysname), field(&u.release), field(&u.machine))
}

fn server_section(s: &mut String, server: &ServerState, settings: &Settings) {
    let uptime = server.uptime_secs();
    let now_ms = crate::state::unix_time_ms();
    let _ = write!(
        s,
        "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n\
         redis_build_id:0\r\nredis_mode:{}\r\nshoal_version:{}\r\nos:{}\r\narch_bits:{}\r\n\
         monotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\n\
         gcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\n\
         server_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\n\
         lru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
        if settings.cluster_enabled { "cluster" } else { "standalone" },
        env!("CARGO_PKG_VERSION"),
        os_name(),
        usize::BITS,
        std::process::id(),
        server.run_id,
        server.tcp_port.load(Ordering::Relaxed),
        crate::state::unix_time_us(),
        uptime / 86400,
        settings.hz,
        settings.hz,
        // Redis's LRU clock: seconds, 24 bits.
        (now_ms / 1000) & ((1 << 24) - 1),
        server.executable,
        server.config_file,
    );
}

fn persistence_section(s: &mut String, server: &ServerState) {
    s.push_str(
        "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n\
         current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\n\
         current_save_keys_total:0\r\n",
    );
    s.push_str(&crate::rdb::snapshot::info_rdb_fields(server));
    s.push_str(&crate::aof::info_fields(server));
}

fn stats_section(s: &mut String, server: &ServerState) {
    let st = &server.stats;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let ks = server.keyspace.stats();
    let rates = server.rates.snapshot();
    let pubsub = server.pubsub.totals();
    let forks = crate::rdb::snapshot::fork_stats(server);
    let _ = write!(
        s,
        "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\n\
         total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\n\
         total_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\n\
         instantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\n\
         sync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\n\
         expired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:{}\r\n\
         evicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\n\
         keyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\n\
         pubsubshard_channels:{}\r\nlatest_fork_usec:{}\r\ntotal_forks:{}\r\nmigrate_cached_sockets:0\r\n\
         slave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\n\
         active_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\n\
         current_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\n\
         tracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\n\
         dump_payload_sanitizations:0\r\ntotal_reads_processed:0\r\ntotal_writes_processed:0\r\n\
         io_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\n\
         reply_buffer_expands:0\r\n",
        load(&st.total_connections_received),
        load(&st.total_commands_processed),
        rates.ops_per_sec,
        load(&st.net_input_bytes),
        load(&st.net_output_bytes),
        rates.input_kbps,
        rates.output_kbps,
        load(&st.rejected_connections),
        ks.expired_keys,
        server.rates.expire_cycle_usec.load(Ordering::Relaxed) / 1000,
        ks.evicted_keys,
        ks.keyspace_hits,
        ks.keyspace_misses,
        pubsub.0,
        pubsub.1,
        pubsub.2,
        forks.0,
        forks.1,
        load(&st.total_error_replies),
    );
}

fn replication_section(s: &mut String, server: &ServerState) {
    let backlog = server.config.get(&[b"repl-backlog-size"]).into_iter().next().map(|(_, v)| v).unwrap_or_default();
    let _ = write!(
        s,
        "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n\
         master_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\n\
         second_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:{backlog}\r\n\
         repl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
        server.run_id
    );
}

fn cpu_section(s: &mut String) {
    let (sys, user) = cpu_times(libc::RUSAGE_SELF);
    let (csys, cuser) = cpu_times(libc::RUSAGE_CHILDREN);
    // Redis's "main thread" is its event loop; Shoal's closest equivalent is the worker serving this INFO.
    let (tsys, tuser) = cpu_times(libc::RUSAGE_THREAD);
    let _ = write!(
        s,
        "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:{csys:.6}\r\n\
         used_cpu_user_children:{cuser:.6}\r\nused_cpu_sys_main_thread:{tsys:.6}\r\n\
         used_cpu_user_main_thread:{tuser:.6}\r\n"
    );
}

/// Every command and subcommand in table order (containers before their subcommands).
fn all_commands() -> impl Iterator<Item = &'static CommandSpec> {
    table::COMMANDS.iter().flat_map(|c| std::iter::once(c).chain(c.subcommands.iter()))
}

/// Redis's `getSafeInfoString`: characters that would break the INFO format become `_`.
fn safe_name(name: &str) -> String {
    name.replace([':', '\r', '\n'], "_")
}

fn commandstats_section(s: &mut String, server: &ServerState) {
    s.push_str("# Commandstats\r\n");
    for spec in all_commands() {
        let Some(c) = server.command_stats.by_id.get(spec.id) else { continue };
        let calls = c.calls.load(Ordering::Relaxed);
        let failed = c.failed_calls.load(Ordering::Relaxed);
        let rejected = c.rejected_calls.load(Ordering::Relaxed);
        if calls == 0 && failed == 0 && rejected == 0 {
            continue;
        }
        let usec = c.usec.load(Ordering::Relaxed);
        // Redis divides in single precision.
        let per_call = if calls == 0 { 0.0 } else { f64::from(usec as f32 / calls as f32) };
        let _ = write!(
            s,
            "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},\
             failed_calls={failed}\r\n",
            safe_name(spec.name)
        );
    }
}

/// A percentile as Redis names it: `%f` with trailing zeros (and a bare point) removed.
fn percentile_name(p: f64) -> String {
    let text = format!("{p:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn latencystats_section(s: &mut String, server: &ServerState, settings: &Settings) {
    s.push_str("# Latencystats\r\n");
    if !settings.latency_tracking {
        return;
    }
    for spec in all_commands() {
        let Some(h) = server.command_stats.by_id.get(spec.id).and_then(|c| c.histogram.snapshot()) else { continue };
        let values: Vec<String> = settings
            .latency_tracking_info_percentiles
            .iter()
            .map(|&p| format!("p{}={:.3}", percentile_name(p), h.value_at_percentile(p) as f64 / 1000.0))
            .collect();
        let _ = write!(s, "latency_percentiles_usec_{}:{}\r\n", safe_name(spec.name), values.join(","));
    }
}

/// Keys sampled at most for the `avg_ttl` estimate, and keys with a TTL that make it good enough.
const TTL_SAMPLE_VISITS: usize = 1024;
const TTL_SAMPLE_WANTED: usize = 64;

/// Redis keeps a running estimate of the average TTL from its expiry sampling; Shoal samples when INFO asks:
/// a database of at most [`TTL_SAMPLE_VISITS`] keys is scanned whole (an exact average), a larger one from a
/// random SCAN position until the budget is spent. Keys found expired on the way are deleted, as any lookup
/// does. Returns milliseconds (0 when no key with a TTL was seen).
fn sample_avg_ttl(view: &mut DbView<'_>, keys: usize, now_ms: u64) -> u64 {
    let filter = ScanFilter { pattern: None, type_name: None };
    let whole = keys <= TTL_SAMPLE_VISITS;
    let mut cursor = if whole { 0 } else { fastrand::u64(..) };
    let (mut visited, mut sum, mut found) = (0usize, 0u128, 0u128);
    loop {
        let mut batch: Vec<Vec<u8>> = Vec::new();
        cursor = view.scan(cursor, 32, &filter, |k| batch.push(k.to_vec()));
        visited += batch.len().max(1);
        for key in batch {
            if let Some(at) = view.expire_of(&key).filter(|&at| at > now_ms) {
                sum += u128::from(at - now_ms);
                found += 1;
            }
        }
        let budget_spent = !whole && (visited >= TTL_SAMPLE_VISITS || found as usize >= TTL_SAMPLE_WANTED);
        if (cursor == 0 && whole) || budget_spent || visited >= 4 * TTL_SAMPLE_VISITS {
            break;
        }
    }
    sum.checked_div(found).map_or(0, |avg| avg as u64)
}

fn keyspace_section(s: &mut String, server: &ServerState, mut held: Option<&mut DbView<'_>>) {
    s.push_str("# Keyspace\r\n");
    let now_ms = crate::state::unix_time_ms();
    for db in 0..server.keyspace.databases() {
        let (keys, expires) = server.keyspace.db_counts(db);
        if keys == 0 {
            continue;
        }
        let avg_ttl = if expires == 0 {
            0
        } else if let Some(view) = held.as_deref_mut() {
            let selected = view.db_index();
            view.select(db);
            let ttl = sample_avg_ttl(view, keys, now_ms);
            view.select(selected);
            ttl
        } else {
            sample_avg_ttl(&mut server.keyspace.lock_all(db, now_ms), keys, now_ms)
        };
        let _ = write!(s, "db{db}:keys={keys},expires={expires},avg_ttl={avg_ttl}\r\n");
    }
}
