//! Observability on a real server: SLOWLOG entries (argv truncation, redaction, client name), the latency
//! monitor, INFO commandstats/latencystats following the load, CONFIG RESETSTAT, and CONFIG REWRITE keeping a
//! config file's comments and order. Deterministic replies are in tests/differential/introspection.txt.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shoal::protocol::value::RespValue;
use support::{free_port, shoal_binary, Conn, Server};

fn bulk(v: &RespValue) -> Vec<u8> {
    match v {
        RespValue::Bulk(b) | RespValue::Simple(b) | RespValue::Verbatim(b) => b.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

fn int(v: &RespValue) -> i64 {
    match v {
        RespValue::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn items(v: &RespValue) -> &[RespValue] {
    match v {
        RespValue::Array(a) => a,
        other => panic!("not an array: {other:?}"),
    }
}

/// One `INFO <section>` field, parsed.
fn info_field(c: &mut Conn, section: &str, field: &str) -> Option<String> {
    let text = String::from_utf8(bulk(&c.value(&["INFO", section]))).unwrap();
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
}

/// `key=value` pairs of an INFO line such as `calls=3,usec=10,...`.
fn pairs(line: &str) -> Vec<(String, String)> {
    line.split(',').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn pair(line: &str, key: &str) -> String {
    pairs(line).into_iter().find(|(k, _)| k == key).map(|(_, v)| v).unwrap_or_default()
}

#[test]
fn slowlog_records_truncated_and_redacted_arguments() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    assert_eq!(c.call(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]), b"+OK\r\n");
    assert_eq!(c.call(&["SLOWLOG", "RESET"]), b"+OK\r\n");
    assert_eq!(c.call(&["CLIENT", "SETNAME", "probe"]), b"+OK\r\n");

    let long = "x".repeat(200);
    c.call(&["SET", "k", &long]);
    let many: Vec<String> = std::iter::once("MSET".to_string()).chain((0..40).map(|i| format!("a{i}"))).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    c.call(&many);
    c.call(&["AUTH", "secret"]);
    c.call(&["CONFIG", "SET", "requirepass", "", "maxmemory", "0"]);

    let log = c.value(&["SLOWLOG", "GET", "-1"]);
    let entries = items(&log);
    // Newest first: CONFIG SET, AUTH, MSET, SET, CLIENT SETNAME, SLOWLOG RESET.
    assert_eq!(entries.len(), 6, "{log:?}");
    let argv = |i: usize| -> Vec<String> {
        items(&items(&entries[i])[3]).iter().map(|a| String::from_utf8(bulk(a)).unwrap()).collect()
    };
    assert_eq!(argv(0), ["CONFIG", "SET", "requirepass", "(redacted)", "maxmemory", "0"]);
    assert_eq!(argv(1), ["AUTH", "(redacted)"]);
    let mset = argv(2);
    assert_eq!(mset.len(), 32);
    assert_eq!(mset[30], "a29");
    assert_eq!(mset[31], "... (10 more arguments)");
    assert_eq!(argv(3)[2], format!("{}... (72 more bytes)", "x".repeat(128)));
    assert_eq!(argv(4), ["CLIENT", "SETNAME", "probe"]);

    let ids: Vec<i64> = entries.iter().map(|e| int(&items(e)[0])).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1] + 1), "ids {ids:?}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    for e in entries {
        let e = items(e);
        assert_eq!(e.len(), 6);
        assert!((int(&e[1]) - now).abs() < 600, "timestamp {:?}", e[1]);
        assert!(int(&e[2]) >= 0);
        assert!(String::from_utf8(bulk(&e[4])).unwrap().starts_with("127.0.0.1:"));
    }
    assert_eq!(bulk(&items(&entries[0])[5]), b"probe");
    assert_eq!(bulk(&items(&entries[5])[5]), b"");

    // GET with a count, LEN, max-len shrinking, disabling.
    assert_eq!(items(&c.value(&["SLOWLOG", "GET", "2"])).len(), 2);
    assert_eq!(c.call(&["CONFIG", "SET", "slowlog-max-len", "3"]), b"+OK\r\n");
    assert_eq!(c.call(&["SLOWLOG", "LEN"]), b":3\r\n");
    assert_eq!(c.call(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]), b"+OK\r\n");
    assert_eq!(c.call(&["SLOWLOG", "RESET"]), b"+OK\r\n");
    c.call(&["PING"]);
    assert_eq!(c.call(&["SLOWLOG", "LEN"]), b":0\r\n");
    // A high threshold keeps fast commands out.
    assert_eq!(c.call(&["CONFIG", "SET", "slowlog-log-slower-than", "10000000"]), b"+OK\r\n");
    c.call(&["PING"]);
    assert_eq!(c.call(&["SLOWLOG", "LEN"]), b":0\r\n");
}

/// Runs commands that take a while until the latency monitor records a `command` event (DEBUG SLEEP when it
/// exists; otherwise KEYS over a growing keyspace), with a deadline.
fn provoke_latency(c: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut keys = 0usize;
    loop {
        let reply = c.call(&["DEBUG", "SLEEP", "0.01"]);
        if reply != b"+OK\r\n" {
            // Grow the keyspace by 20000 keys, then scan it with KEYS (a non-fast command).
            let words: Vec<String> = std::iter::once("MSET".to_string())
                .chain((keys..keys + 20_000).flat_map(|i| [format!("key:{i}"), "v".into()]))
                .collect();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            assert_eq!(c.call(&words), b"+OK\r\n");
            keys += 20_000;
            c.call(&["KEYS", "*"]);
        }
        let latest = c.value(&["LATENCY", "LATEST"]);
        if items(&latest).iter().any(|e| bulk(&items(e)[0]) == b"command") {
            return;
        }
        assert!(Instant::now() < deadline, "no latency event recorded ({keys} keys)");
    }
}

#[test]
fn latency_monitor_records_slow_commands() {
    let server = Server::shoal(&["--enable-debug-command", "yes"]);
    let mut c = server.conn();
    assert_eq!(c.call(&["CONFIG", "SET", "latency-monitor-threshold", "1"]), b"+OK\r\n");
    provoke_latency(&mut c);

    let latest = c.value(&["LATENCY", "LATEST"]);
    let event = items(&latest).iter().find(|e| bulk(&items(e)[0]) == b"command").unwrap();
    let e = items(event);
    assert!(int(&e[2]) >= 1 && int(&e[3]) >= int(&e[2]), "{e:?}");

    let history = c.value(&["LATENCY", "HISTORY", "command"]);
    assert!(!items(&history).is_empty());
    for s in items(&history) {
        assert!(int(&items(s)[1]) >= 1);
    }
    let graph = String::from_utf8(bulk(&c.value(&["LATENCY", "GRAPH", "command"]))).unwrap();
    assert!(graph.starts_with("command - high "), "{graph}");
    let doctor = String::from_utf8(bulk(&c.value(&["LATENCY", "DOCTOR"]))).unwrap();
    assert!(doctor.contains("1. command: "), "{doctor}");

    assert_eq!(c.call(&["LATENCY", "RESET", "COMMAND"]), b":1\r\n");
    assert!(!items(&c.value(&["LATENCY", "LATEST"])).iter().any(|e| bulk(&items(e)[0]) == b"command"));
    // Threshold 0 switches the monitor off.
    assert_eq!(c.call(&["CONFIG", "SET", "latency-monitor-threshold", "0"]), b"+OK\r\n");
    c.call(&["LATENCY", "RESET"]);
    c.call(&["KEYS", "*"]);
    assert_eq!(c.call(&["LATENCY", "LATEST"]), b"*0\r\n");
}

#[test]
fn info_commandstats_and_latencystats_follow_the_load() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    assert_eq!(c.call(&["CONFIG", "RESETSTAT"]), b"+OK\r\n");
    for i in 0..25 {
        c.call(&["SET", &format!("k{i}"), "v"]);
    }
    for i in 0..10 {
        c.call(&["GET", &format!("k{i}")]);
    }
    c.call(&["GET"]);
    c.call(&["INCR", "k0"]);
    c.call(&["CONFIG", "GET", "maxmemory"]);

    let set = info_field(&mut c, "commandstats", "cmdstat_set").expect("cmdstat_set");
    assert_eq!(pair(&set, "calls"), "25");
    assert_eq!(pair(&set, "failed_calls"), "0");
    let usec: u64 = pair(&set, "usec").parse().unwrap();
    let per_call: f64 = pair(&set, "usec_per_call").parse().unwrap();
    assert!((per_call - usec as f64 / 25.0).abs() < 0.01);
    let incr = info_field(&mut c, "commandstats", "cmdstat_incr").expect("cmdstat_incr");
    assert_eq!(pair(&incr, "calls"), "1");
    assert_eq!(pair(&incr, "failed_calls"), "1");
    assert!(info_field(&mut c, "commandstats", "cmdstat_config|get").is_some());
    assert_eq!(info_field(&mut c, "errorstats", "errorstat_ERR").as_deref(), Some("count=2"));

    let lat = info_field(&mut c, "latencystats", "latency_percentiles_usec_get").expect("latencystats get");
    let names: Vec<String> = pairs(&lat).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["p50", "p99", "p99.9"]);
    assert_eq!(c.call(&["CONFIG", "SET", "latency-tracking-info-percentiles", "50 100"]), b"+OK\r\n");
    let lat = info_field(&mut c, "latencystats", "latency_percentiles_usec_get").unwrap();
    assert_eq!(pairs(&lat).into_iter().map(|(k, _)| k).collect::<Vec<_>>(), ["p50", "p100"]);

    // LATENCY HISTOGRAM: cumulative counts end at the number of calls.
    let h = c.value(&["LATENCY", "HISTOGRAM", "get"]);
    let h = items(&h);
    assert_eq!(bulk(&h[0]), b"get");
    let body = items(&h[1]);
    assert_eq!(bulk(&body[0]), b"calls");
    assert_eq!(int(&body[1]), 10);
    let buckets = items(&body[3]);
    assert_eq!(int(buckets.last().unwrap()), 10);

    // The load shows in total_commands_processed and keyspace figures.
    let processed: u64 = info_field(&mut c, "stats", "total_commands_processed").unwrap().parse().unwrap();
    assert!(processed >= 38, "{processed}");
    let hits: u64 = info_field(&mut c, "stats", "keyspace_hits").unwrap().parse().unwrap();
    assert!(hits >= 10);
    assert_eq!(info_field(&mut c, "keyspace", "db0").as_deref(), Some("keys=25,expires=0,avg_ttl=0"));
    c.call(&["EXPIRE", "k1", "1000"]);
    let db0 = info_field(&mut c, "keyspace", "db0").unwrap();
    let avg_ttl: u64 = pair(&db0, "avg_ttl").parse().unwrap();
    assert!(avg_ttl > 900_000 && avg_ttl <= 1_000_000, "{db0}");

    // Turning latency tracking off empties the section; RESETSTAT clears stats but not the slow log.
    assert_eq!(c.call(&["CONFIG", "SET", "latency-tracking", "no"]), b"+OK\r\n");
    let text = String::from_utf8(bulk(&c.value(&["INFO", "latencystats"]))).unwrap();
    assert_eq!(text, "# Latencystats\r\n");
    c.call(&["CONFIG", "SET", "latency-tracking", "yes"]);
    c.call(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    c.call(&["PING"]);
    assert_eq!(c.call(&["CONFIG", "RESETSTAT"]), b"+OK\r\n");
    assert!(info_field(&mut c, "commandstats", "cmdstat_set").is_none());
    assert!(info_field(&mut c, "latencystats", "latency_percentiles_usec_set").is_none());
    assert_eq!(c.call(&["LATENCY", "HISTOGRAM", "set"]), b"*0\r\n");
    assert!(info_field(&mut c, "errorstats", "errorstat_ERR").is_none());
    assert_ne!(c.call(&["SLOWLOG", "LEN"]), b":0\r\n");
}

#[test]
fn instantaneous_ops_per_sec_moves_with_the_load() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        support::pipeline(&mut c, &vec![vec![b"PING".to_vec()]; 2000]);
        let ops: u64 = info_field(&mut c, "stats", "instantaneous_ops_per_sec").unwrap().parse().unwrap();
        let kbps: f64 = info_field(&mut c, "stats", "instantaneous_input_kbps").unwrap().parse().unwrap();
        if ops > 0 && kbps > 0.0 {
            break;
        }
        assert!(Instant::now() < deadline, "instantaneous rates stayed at 0");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn info_selects_sections_like_redis() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    let headers = |c: &mut Conn, args: &[&str]| -> Vec<String> {
        let text = String::from_utf8(bulk(&c.value(args))).unwrap();
        text.lines().filter(|l| l.starts_with("# ")).map(|l| l[2..].to_string()).collect()
    };
    let default = [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Modules",
        "Errorstats",
        "Cluster",
        "Keyspace",
    ];
    assert_eq!(headers(&mut c, &["INFO"]), default);
    assert_eq!(headers(&mut c, &["INFO", "default"]), default);
    let all = [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Modules",
        "Commandstats",
        "Errorstats",
        "Latencystats",
        "Cluster",
        "Keyspace",
    ];
    assert_eq!(headers(&mut c, &["INFO", "all"]), all);
    assert_eq!(headers(&mut c, &["INFO", "everything"]), all);
    assert_eq!(headers(&mut c, &["INFO", "KEYSPACE", "server", "cpu"]), ["Server", "CPU", "Keyspace"]);
    assert_eq!(headers(&mut c, &["INFO", "default", "commandstats"]).len(), default.len() + 1);
    let server_info = String::from_utf8(bulk(&c.value(&["INFO", "server"]))).unwrap();
    for field in
        ["redis_version:7.0.15", "shoal_version:", "process_id:", "run_id:", "tcp_port:", "lru_clock:", "executable:"]
    {
        assert!(server_info.contains(field), "{field} missing");
    }
}

/// Starts shoal-server with `config` as its config file (first argument) and extra arguments.
struct ConfigServer {
    port: u16,
    child: std::process::Child,
}

impl Drop for ConfigServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_with_config(config: &std::path::Path, dir: &std::path::Path) -> ConfigServer {
    let port = free_port();
    let port_s = port.to_string();
    let child = Command::new(shoal_binary())
        .arg(config)
        .args(["--port", &port_s, "--bind", "127.0.0.1", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start shoal-server");
    // Owned by the guard from here on, so a failed start still kills and reaps the process.
    let server = ConfigServer { port, child };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut c) = Conn::try_connect(port) {
            if c.call(&["PING"]) == b"+PONG\r\n" {
                return server;
            }
        }
        assert!(Instant::now() < deadline, "server with config file did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn config_rewrite_keeps_comments_and_order() {
    let dir = std::env::temp_dir().join(format!("shoal-rewrite-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shoal.conf");
    let original = "# Shoal test config\n\
                    # memory\n\
                    maxmemory 100mb\n\
                    \n\
                    save \"\"\n\
                    appendonly no\n\
                    # duplicated on purpose\n\
                    timeout 10\n\
                    timeout 20\n\
                    slave-read-only yes\n";
    std::fs::write(&path, original).unwrap();
    let server = start_with_config(&path, &dir);
    let mut c = Conn::connect(server.port);
    assert_eq!(c.call(&["CONFIG", "SET", "maxmemory", "200mb"]), b"+OK\r\n");
    assert_eq!(c.call(&["CONFIG", "SET", "slowlog-max-len", "64"]), b"+OK\r\n");
    assert_eq!(c.call(&["CONFIG", "REWRITE"]), b"+OK\r\n");

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        &lines[..10],
        [
            "# Shoal test config",
            "# memory",
            "maxmemory 200mb",
            "",
            "save \"\"",
            "appendonly no",
            "# duplicated on purpose",
            "timeout 20",
            "",
            "replica-read-only yes",
        ],
        "{text}"
    );
    let generated = lines.iter().position(|l| *l == "# Generated by CONFIG REWRITE").expect("signature");
    let appended = &lines[generated + 1..];
    for expected in ["slowlog-max-len 64", "bind 127.0.0.1"] {
        assert!(appended.contains(&expected), "{expected} missing in\n{text}");
    }
    assert!(appended.iter().any(|l| l.starts_with("port ")));
    assert!(appended.iter().any(|l| l.starts_with("dir \"")));
    assert!(!text.contains("timeout 10"));

    // A second rewrite with no change keeps the file stable (after Redis's one trailing blank line).
    assert_eq!(c.call(&["CONFIG", "REWRITE"]), b"+OK\r\n");
    let second = std::fs::read_to_string(&path).unwrap();
    assert_eq!(c.call(&["CONFIG", "REWRITE"]), b"+OK\r\n");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), second);
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("shoal.conf."))
        .collect();
    assert!(leftovers.is_empty());

    // The rewritten file starts the server again with the same settings.
    drop(c);
    drop(server);
    let again = start_with_config(&path, &dir);
    let mut c = Conn::connect(again.port);
    assert_eq!(c.call(&["CONFIG", "GET", "maxmemory"]), b"*2\r\n$9\r\nmaxmemory\r\n$9\r\n209715200\r\n");
    assert_eq!(c.call(&["CONFIG", "GET", "slowlog-max-len"]), b"*2\r\n$15\r\nslowlog-max-len\r\n$2\r\n64\r\n");
    drop(c);
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_rewrite_needs_a_config_file() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    assert_eq!(c.call(&["CONFIG", "REWRITE"]), b"-ERR The server is running without a config file\r\n");
}
