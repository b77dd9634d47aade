//! maxmemory and the memory commands through a real socket: which keys each eviction policy keeps, the OOM
//! refusal, LFU counters and idle times, DEBUG, MEMORY USAGE, and `used_memory` against the process's RSS.
//! Replies whose text is fixed are compared with a real redis-server.

mod support;

use std::time::{Duration, Instant};

use shoal::protocol::value::RespValue;
use support::{Conn, Server};

/// Sends all commands at once, then reads one reply per command; returns the replies.
fn pipeline(c: &mut Conn, cmds: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    let mut bytes = Vec::new();
    for cmd in cmds {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        bytes.extend_from_slice(&Conn::encode(&args));
    }
    c.send_raw(&bytes);
    cmds.iter().map(|_| c.read_reply()).collect()
}

fn cmd(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// SETs `key`s with values of `size` bytes (plus `extra` arguments such as `EX 100`), in batches of 1000.
/// Returns how many were refused with -OOM.
fn fill(c: &mut Conn, keys: impl IntoIterator<Item = String>, size: usize, extra: &[&str]) -> usize {
    let value = "x".repeat(size);
    let keys: Vec<String> = keys.into_iter().collect();
    let mut refused = 0;
    for chunk in keys.chunks(1000) {
        let cmds: Vec<_> = chunk
            .iter()
            .map(|k| {
                let mut parts = vec!["SET", k.as_str(), value.as_str()];
                parts.extend_from_slice(extra);
                cmd(&parts)
            })
            .collect();
        for reply in pipeline(c, &cmds) {
            if reply.starts_with(b"-OOM") {
                refused += 1;
            } else {
                assert_eq!(reply, b"+OK\r\n", "unexpected reply {:?}", String::from_utf8_lossy(&reply));
            }
        }
    }
    refused
}

/// How many of `keys` still exist.
fn surviving(c: &mut Conn, keys: &[String]) -> usize {
    let mut n = 0;
    for chunk in keys.chunks(1000) {
        let cmds: Vec<_> = chunk.iter().map(|k| cmd(&["EXISTS", k])).collect();
        n += pipeline(c, &cmds).iter().filter(|r| r.as_slice() == b":1\r\n").count();
    }
    n
}

fn info_field(c: &mut Conn, section: &str, field: &str) -> String {
    let text = match c.value(&["INFO", section]) {
        RespValue::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO reply {other:?}"),
    };
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .to_string()
}

fn info_u64(c: &mut Conn, section: &str, field: &str) -> u64 {
    info_field(c, section, field).parse().unwrap_or_else(|_| panic!("{field} is not a number"))
}

fn int(c: &mut Conn, args: &[&str]) -> i64 {
    match c.value(args) {
        RespValue::Int(n) => n,
        other => panic!("{args:?} answered {other:?}"),
    }
}

fn ok(c: &mut Conn, args: &[&str]) {
    assert_eq!(c.text(args), "+OK\r\n", "{args:?}");
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}:{i}")).collect()
}

/// Sets maxmemory `headroom` bytes above what the server uses now.
fn limit_to_current_plus(c: &mut Conn, headroom: u64) -> u64 {
    let limit = info_u64(c, "memory", "used_memory") + headroom;
    ok(c, &["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    limit
}

/// A one-node cluster owning every slot, ready to serve.
fn cluster_server() -> Server {
    let server = Server::shoal(&["--cluster-enabled", "yes", "--cluster-config-file", "nodes-memory.conf"]);
    let mut c = server.conn();
    ok(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.text(&["SET", "probe", "1"]) != "+OK\r\n" {
        assert!(Instant::now() < deadline, "the cluster did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    c.call(&["DEL", "probe"]);
    server
}

// ---------------------------------------------------------------------------------------------------------
// noeviction and the OOM refusal
// ---------------------------------------------------------------------------------------------------------

#[test]
fn noeviction_refuses_denyoom_commands_but_serves_reads_and_del() {
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    for server in [&redis, &shoal] {
        let mut c = server.conn();
        ok(&mut c, &["SET", "keep", "1"]);
        ok(&mut c, &["SET", "other", "2"]);
        ok(&mut c, &["CONFIG", "SET", "maxmemory", "1"]);
        let oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
        assert_eq!(c.text(&["SET", "x", "y"]), oom);
        assert_eq!(c.text(&["INCR", "keep"]), oom);
        assert_eq!(c.text(&["GET", "keep"]), "$1\r\n1\r\n");
        assert_eq!(c.text(&["DEL", "keep"]), ":1\r\n");
        assert_eq!(c.text(&["DBSIZE"]), ":1\r\n", "noeviction never evicts");
        let stats = match c.value(&["INFO", "commandstats"]) {
            RespValue::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("{other:?}"),
        };
        let set = stats.lines().find(|l| l.starts_with("cmdstat_set:")).unwrap_or_default().to_string();
        assert!(set.contains("rejected_calls=1"), "a refused SET is a rejected call: {set}");
        assert_eq!(info_u64(&mut c, "stats", "evicted_keys"), 0);
        ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
        ok(&mut c, &["SET", "x", "y"]);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Which keys each policy keeps
// ---------------------------------------------------------------------------------------------------------

/// allkeys-lru: keys read after the others went idle survive while idle keys go.
fn lru_keeps_touched_keys(server: &Server) {
    let mut c = server.conn();
    ok(&mut c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    let cold = names("cold", 3000);
    let hot = names("hot", 300);
    fill(&mut c, cold.iter().cloned(), 1000, &[]);
    fill(&mut c, hot.iter().cloned(), 1000, &[]);
    // The LRU clock counts seconds: let every key go idle for two of them, then read the hot ones.
    std::thread::sleep(Duration::from_millis(2200));
    for chunk in hot.chunks(100) {
        let cmds: Vec<_> = chunk.iter().map(|k| cmd(&["GET", k])).collect();
        pipeline(&mut c, &cmds);
    }
    let limit = limit_to_current_plus(&mut c, 0);
    let refused = fill(&mut c, names("new", 1500), 1000, &[]);
    assert_eq!(refused, 0, "allkeys-lru always finds a key to evict");
    let evicted = info_u64(&mut c, "stats", "evicted_keys");
    assert!(evicted >= 1000, "about 1500 keys had to go, {evicted} were evicted");
    let used = info_u64(&mut c, "memory", "used_memory");
    assert!(used <= limit + 64 * 1024, "used_memory {used} stays at the limit {limit}");
    let hot_left = surviving(&mut c, &hot);
    let cold_left = surviving(&mut c, &cold);
    assert!(hot_left >= 285, "recently read keys survive: {hot_left} of 300");
    assert!(cold_left < 2500, "idle keys are evicted first: {cold_left} of 3000 left");
    // Lift the limit so that nothing more is evicted between the two counts.
    ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    let dbsize = int(&mut c, &["DBSIZE"]);
    match c.value(&["MEMORY", "STATS"]) {
        RespValue::Array(items) => {
            let at = items.iter().position(|v| v == &RespValue::Bulk(b"keys.count".to_vec()));
            assert_eq!(at.and_then(|i| items.get(i + 1)), Some(&RespValue::Int(dbsize)));
        }
        other => panic!("MEMORY STATS {other:?}"),
    }
}

#[test]
fn allkeys_lru_keeps_recently_read_keys() {
    lru_keeps_touched_keys(&Server::shoal(&[]));
}

#[test]
fn allkeys_lru_evicts_across_slot_tables_in_cluster_mode() {
    lru_keeps_touched_keys(&cluster_server());
}

#[test]
fn allkeys_lfu_keeps_frequently_read_keys() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    ok(&mut c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    // Log factor 0: every hit counts, so hot keys reach 5 + 20 at once.
    ok(&mut c, &["CONFIG", "SET", "lfu-log-factor", "0"]);
    let cold = names("cold", 3000);
    let hot = names("hot", 300);
    fill(&mut c, cold.iter().cloned(), 1000, &[]);
    fill(&mut c, hot.iter().cloned(), 1000, &[]);
    for _ in 0..20 {
        let cmds: Vec<_> = hot.iter().map(|k| cmd(&["GET", k])).collect();
        pipeline(&mut c, &cmds);
    }
    assert!(int(&mut c, &["OBJECT", "FREQ", "hot:7"]) >= 20);
    assert!(int(&mut c, &["OBJECT", "FREQ", "cold:7"]) <= 5);
    limit_to_current_plus(&mut c, 0);
    assert_eq!(fill(&mut c, names("new", 1500), 1000, &[]), 0);
    assert!(info_u64(&mut c, "stats", "evicted_keys") >= 1000);
    let hot_left = surviving(&mut c, &hot);
    assert!(hot_left >= 295, "frequently read keys survive: {hot_left} of 300");
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first_and_never_persistent_keys() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    ok(&mut c, &["CONFIG", "SET", "maxmemory-policy", "volatile-ttl"]);
    let soon = names("soon", 3000);
    let late = names("late", 300);
    let persistent = names("persistent", 1000);
    fill(&mut c, soon.iter().cloned(), 1000, &["EX", "1000"]);
    fill(&mut c, late.iter().cloned(), 1000, &["EX", "100000"]);
    fill(&mut c, persistent.iter().cloned(), 1000, &[]);
    limit_to_current_plus(&mut c, 0);
    assert_eq!(fill(&mut c, names("new", 1500), 1000, &[]), 0, "keys with a TTL remain to evict");
    assert!(info_u64(&mut c, "stats", "evicted_keys") >= 1000);
    assert_eq!(surviving(&mut c, &persistent), 1000, "keys without a TTL are never evicted");
    let late_left = surviving(&mut c, &late);
    assert!(late_left >= 295, "the farthest expiries survive: {late_left} of 300");
    assert!(surviving(&mut c, &soon) < 2000);
}

#[test]
fn volatile_policies_evict_only_keys_with_a_ttl_then_refuse_writes() {
    for policy in ["volatile-lru", "volatile-lfu", "volatile-random"] {
        let server = Server::shoal(&[]);
        let mut c = server.conn();
        ok(&mut c, &["CONFIG", "SET", "maxmemory-policy", policy]);
        let persistent = names("persistent", 1000);
        let volatile = names("volatile", 500);
        fill(&mut c, persistent.iter().cloned(), 1000, &[]);
        fill(&mut c, volatile.iter().cloned(), 1000, &["EX", "1000"]);
        limit_to_current_plus(&mut c, 0);
        // Far more new (persistent) data than the volatile keys can make room for.
        let refused = fill(&mut c, names("new", 2000), 1000, &[]);
        assert!(refused > 0, "{policy}: once no key with a TTL is left, writes are refused");
        assert_eq!(surviving(&mut c, &persistent), 1000, "{policy}: keys without a TTL are never evicted");
        assert_eq!(surviving(&mut c, &volatile), 0, "{policy}: every key with a TTL went first");
        assert_eq!(info_u64(&mut c, "stats", "evicted_keys"), 500);
        assert_eq!(c.text(&["SET", "one", "more"]), "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        assert_eq!(c.text(&["GET", "persistent:1"]).len(), 1000 + 9, "{policy}: reads still work");
    }
}

#[test]
fn allkeys_random_honours_the_limit() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    ok(&mut c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]);
    fill(&mut c, names("old", 2000), 1000, &["EX", "1000"]);
    let limit = limit_to_current_plus(&mut c, 0);
    assert_eq!(fill(&mut c, names("new", 2000), 1000, &[]), 0);
    assert!(info_u64(&mut c, "stats", "evicted_keys") >= 1500);
    assert!(info_u64(&mut c, "memory", "used_memory") <= limit + 64 * 1024);
    assert_eq!(info_field(&mut c, "memory", "maxmemory_policy"), "allkeys-random");
    assert_eq!(info_u64(&mut c, "memory", "maxmemory"), limit);
}

// ---------------------------------------------------------------------------------------------------------
// OBJECT FREQ / IDLETIME / REFCOUNT
// ---------------------------------------------------------------------------------------------------------

#[test]
fn lfu_counters_grow_with_access() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    ok(&mut c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    ok(&mut c, &["CONFIG", "SET", "lfu-log-factor", "0"]);
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(int(&mut c, &["OBJECT", "FREQ", "k"]), 5, "new keys start at LFU_INIT_VAL");
    for _ in 0..100 {
        c.call(&["GET", "k"]);
    }
    // OBJECT, TYPE, EXISTS and TTL do not count as accesses.
    for args in [&["TYPE", "k"][..], &["EXISTS", "k"], &["TTL", "k"], &["OBJECT", "ENCODING", "k"]] {
        c.call(args);
    }
    assert_eq!(int(&mut c, &["OBJECT", "FREQ", "k"]), 105);
    // CLIENT NO-TOUCH: reads leave the counter alone, except TOUCH itself.
    ok(&mut c, &["CLIENT", "NO-TOUCH", "ON"]);
    c.call(&["GET", "k"]);
    assert_eq!(int(&mut c, &["OBJECT", "FREQ", "k"]), 105);
    assert_eq!(int(&mut c, &["TOUCH", "k"]), 1);
    assert_eq!(int(&mut c, &["OBJECT", "FREQ", "k"]), 106);
    ok(&mut c, &["CLIENT", "NO-TOUCH", "OFF"]);
    for _ in 0..500 {
        c.call(&["GET", "k"]);
    }
    assert_eq!(int(&mut c, &["OBJECT", "FREQ", "k"]), 255, "the counter saturates");
    // With the default log factor, hits count less and less.
    ok(&mut c, &["CONFIG", "SET", "lfu-log-factor", "10"]);
    ok(&mut c, &["SET", "j", "v"]);
    for _ in 0..200 {
        c.call(&["GET", "j"]);
    }
    let freq = int(&mut c, &["OBJECT", "FREQ", "j"]);
    assert!((6..60).contains(&freq), "logarithmic growth: {freq} after 200 hits");
}

#[test]
fn idle_time_grows_and_only_real_accesses_reset_it() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    ok(&mut c, &["SET", "k", "v"]);
    std::thread::sleep(Duration::from_millis(2200));
    let idle = int(&mut c, &["OBJECT", "IDLETIME", "k"]);
    assert!(idle >= 2, "idle for two seconds: {idle}");
    for args in [&["TYPE", "k"][..], &["EXISTS", "k"], &["TTL", "k"], &["PTTL", "k"], &["OBJECT", "FREQ", "k"]] {
        c.call(args);
    }
    assert!(int(&mut c, &["OBJECT", "IDLETIME", "k"]) >= idle, "OBJECT / TYPE / EXISTS / TTL do not touch");
    c.call(&["GET", "k"]);
    assert!(int(&mut c, &["OBJECT", "IDLETIME", "k"]) < idle, "GET touches");
    assert_eq!(int(&mut c, &["OBJECT", "REFCOUNT", "k"]), 1);
    ok(&mut c, &["SET", "n", "42"]);
    assert_eq!(int(&mut c, &["OBJECT", "REFCOUNT", "n"]), 2147483647, "shared integer");
}

// ---------------------------------------------------------------------------------------------------------
// DEBUG
// ---------------------------------------------------------------------------------------------------------

#[test]
fn debug_is_refused_unless_enabled_as_in_redis() {
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    let mut expected = None;
    for server in [&redis, &shoal] {
        let mut c = server.conn();
        let replies: Vec<Vec<u8>> = [&["DEBUG", "SLEEP", "0"][..], &["DEBUG", "HELP"], &["debug", "object", "x"]]
            .iter()
            .map(|args| c.call(args))
            .collect();
        assert!(replies[0].starts_with(b"-ERR DEBUG command not allowed."));
        match &expected {
            None => expected = Some(replies),
            Some(e) => assert_eq!(&replies, e, "same refusal as redis-server"),
        }
    }
    for server in
        [Server::redis(&["--enable-debug-command", "local"]), Server::shoal(&["--enable-debug-command", "local"])]
    {
        let mut c = server.conn();
        assert_eq!(c.text(&["DEBUG", "SLEEP", "0"]), "+OK\r\n", "allowed from 127.0.0.1 with `local`");
    }
}

#[test]
fn debug_sleep_object_and_active_expiry() {
    let server = Server::shoal(&["--enable-debug-command", "yes"]);
    let mut c = server.conn();
    let started = Instant::now();
    ok(&mut c, &["DEBUG", "SLEEP", "0.2"]);
    assert!(started.elapsed() >= Duration::from_millis(150), "DEBUG SLEEP 0.2 blocks");

    ok(&mut c, &["SET", "s", "hello"]);
    let line = c.text(&["DEBUG", "OBJECT", "s"]);
    let fields: Vec<&str> = line.trim_start_matches('+').trim_end().split(' ').collect();
    assert_eq!(fields[0], "Value");
    assert!(fields[1].starts_with("at:0x"), "{line}");
    assert_eq!(&fields[2..5], ["refcount:1", "encoding:embstr", "serializedlength:6"]);
    assert!(fields[5].strip_prefix("lru:").is_some_and(|n| n.parse::<u32>().is_ok()), "{line}");
    assert_eq!(fields[6], "lru_seconds_idle:0");
    ok(&mut c, &["SET", "n", "-20000"]);
    assert!(c.text(&["DEBUG", "OBJECT", "n"]).contains(" refcount:1 encoding:int serializedlength:3 "));
    assert_eq!(c.text(&["DEBUG", "OBJECT", "nosuch"]), "-ERR no such key\r\n");

    // Without active expiry, an expired key stays until something looks it up.
    ok(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    ok(&mut c, &["SET", "gone", "v", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(int(&mut c, &["DBSIZE"]), 3);
    assert!(c.text(&["DEBUG", "OBJECT", "gone"]).starts_with("+Value at:"), "DEBUG OBJECT sees it raw");
    ok(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while int(&mut c, &["DBSIZE"]) != 2 {
        assert!(Instant::now() < deadline, "active expiry resumed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------------------
// MEMORY USAGE and used_memory
// ---------------------------------------------------------------------------------------------------------

#[test]
fn memory_usage_grows_with_value_size() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    let mut last = 0;
    for size in [1usize, 30, 100, 1000, 10_000, 100_000] {
        let key = format!("k{size}");
        ok(&mut c, &["SET", &key, &"v".repeat(size)]);
        let usage = int(&mut c, &["MEMORY", "USAGE", &key]);
        assert!(usage > last, "{size} bytes: {usage} after {last}");
        assert!(usage as usize >= size, "at least the value: {usage} for {size}");
        assert!((usage as usize) < size + size / 4 + 200, "close to the value: {usage} for {size}");
        last = usage;
    }
    assert_eq!(c.text(&["MEMORY", "USAGE", "nosuch"]), "$-1\r\n");
    // A TTL costs a slot in the volatile list.
    let before = int(&mut c, &["MEMORY", "USAGE", "k100"]);
    assert_eq!(int(&mut c, &["EXPIRE", "k100", "100"]), 1);
    assert!(int(&mut c, &["MEMORY", "USAGE", "k100"]) > before);
}

fn vm_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[test]
fn used_memory_tracks_the_process_rss() {
    // Value sizes across many size classes (50..350 bytes), 300,000 keys: about 100 MB of data.
    let server = Server::shoal(&[]);
    let pid = server.child.id();
    let mut c = server.conn();
    let rss_before = vm_rss(pid);
    let used_before = info_u64(&mut c, "memory", "used_memory");
    for batch in 0..300 {
        let cmds: Vec<_> = (0..1000)
            .map(|i| {
                let n = batch * 1000 + i;
                let value = "v".repeat(50 + (n * 37) % 300);
                cmd(&["SET", &format!("key:{n}"), &value])
            })
            .collect();
        pipeline(&mut c, &cmds);
    }
    ok(&mut c, &["MEMORY", "PURGE"]);
    let rss = vm_rss(pid) - rss_before;
    let used = info_u64(&mut c, "memory", "used_memory") - used_before;
    let ratio = used as f64 / rss as f64;
    assert!((0.9..=1.1).contains(&ratio), "used_memory grew by {used}, RSS by {rss}: ratio {ratio:.3}");
    let rss_reported = info_u64(&mut c, "memory", "used_memory_rss");
    assert!(rss_reported > rss, "INFO used_memory_rss is the process RSS");
}
