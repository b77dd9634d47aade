//! The append-only file (issue 5, item 4) with real processes: files Shoal writes pass `redis-check-aof`
//! and load in redis-server 7.0.15 with the same data; files redis-server writes load in Shoal; restarts,
//! rewrites, `CONFIG SET appendonly yes`, torn tails (`aof-load-truncated`), corrupt files, and `kill -9`
//! under load with `appendfsync always` (every acknowledged write survives). Every wait has a deadline;
//! nothing asserts speed.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Conn, Server};

fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.manifest")).unwrap_or_default()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill9(server: &mut Server) {
    let _ = server.child.kill();
    let _ = server.child.wait();
}

fn check_aof(dir: &Path) -> String {
    let out = Command::new("redis-check-aof")
        .arg(aof_dir(dir).join("appendonly.aof.manifest"))
        .output()
        .expect("redis-check-aof is installed (redis-tools)");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Writes strings with every deterministic rewrite (relative TTLs, INCRBYFLOAT, GETEX, GETDEL, expiry in
/// the past), several databases and a transaction. Returns what every key must hold afterwards:
/// `(db, key, value, pexpiretime)`.
fn write_strings(c: &mut Conn) -> Vec<(u32, String, Option<String>, i64)> {
    for cmd in [
        vec!["SET", "plain", "v1"],
        vec!["SET", "ex", "v2", "EX", "1000"],
        vec!["SET", "px", "v3", "PX", "2000000"],
        vec!["SET", "exat", "v4", "EXAT", "9999999999"],
        vec!["SETEX", "setex", "1000", "v5"],
        vec!["PSETEX", "psetex", "1000000", "v6"],
        vec!["SET", "expire", "v7"],
        vec!["EXPIRE", "expire", "1000"],
        vec!["SET", "getex", "v8"],
        vec!["GETEX", "getex", "PX", "3000000"],
        vec!["SET", "persist", "v9", "EX", "100"],
        vec!["GETEX", "persist", "PERSIST"],
        vec!["SET", "float", "1.5"],
        vec!["INCRBYFLOAT", "float", "0.1"],
        vec!["SET", "gone", "x"],
        vec!["EXPIRE", "gone", "-1"],
        vec!["SET", "gone2", "x"],
        vec!["GETDEL", "gone2"],
        vec!["INCR", "counter"],
        vec!["INCRBY", "counter", "41"],
        vec!["APPEND", "plain", "+more"],
        vec!["SETRANGE", "range", "3", "abc"],
        vec!["MSET", "m1", "a", "m2", "b"],
        vec!["SELECT", "3"],
        vec!["SET", "in3", "three"],
        vec!["SELECT", "0"],
    ] {
        let r = c.call(&cmd);
        assert!(!r.starts_with(b"-"), "{cmd:?}: {}", String::from_utf8_lossy(&r));
    }
    c.send_raw(b"MULTI\r\nSET tx1 1\r\nSELECT 5\r\nSET tx5 5\r\nSELECT 0\r\nEXEC\r\n");
    for _ in 0..6 {
        c.read_reply();
    }
    let mut expected = Vec::new();
    for (db, key) in [
        (0, "plain"),
        (0, "ex"),
        (0, "px"),
        (0, "exat"),
        (0, "setex"),
        (0, "psetex"),
        (0, "expire"),
        (0, "getex"),
        (0, "persist"),
        (0, "float"),
        (0, "gone"),
        (0, "gone2"),
        (0, "counter"),
        (0, "range"),
        (0, "m1"),
        (0, "m2"),
        (0, "tx1"),
        (3, "in3"),
        (5, "tx5"),
    ] {
        let (value, at) = read_key(c, db, key);
        expected.push((db, key.to_string(), value, at));
    }
    expected
}

fn read_key(c: &mut Conn, db: u32, key: &str) -> (Option<String>, i64) {
    c.call(&["SELECT", &db.to_string()]);
    let v = c.call(&["GET", key]);
    let value = if v.starts_with(b"$-1") {
        None
    } else {
        let s = String::from_utf8_lossy(&v).into_owned();
        Some(s.split("\r\n").nth(1).unwrap_or_default().to_string())
    };
    let t = c.text(&["PEXPIRETIME", key]);
    c.call(&["SELECT", "0"]);
    let at = t.trim_start_matches(':').trim().parse::<i64>().unwrap_or(i64::MIN);
    (value, at)
}

fn assert_same(c: &mut Conn, expected: &[(u32, String, Option<String>, i64)], who: &str) {
    for (db, key, value, at) in expected {
        assert_eq!(&read_key(c, *db, key), &(value.clone(), *at), "{who}: db {db} key {key}");
    }
}

#[test]
fn shoal_aof_passes_redis_check_aof_and_loads_in_redis() {
    let mut shoal = Server::shoal(&["--appendonly", "yes"]);
    let dir = shoal.dir.clone();
    let mut c = shoal.conn();
    let expected_before = write_strings(&mut c);
    // A rewrite in the middle: the base becomes an RDB image, later writes go to the next incr file.
    assert_eq!(c.text(&["BGREWRITEAOF"]), "+Background append only file rewriting started\r\n");
    wait_until("the rewrite", || manifest(&dir).contains("seq 2 type b"));
    assert_eq!(c.text(&["SET", "after-rewrite", "yes", "PX", "5000000"]), "+OK\r\n");
    let (v, at) = read_key(&mut c, 0, "after-rewrite");
    let mut expected = expected_before;
    expected.push((0, "after-rewrite".into(), v, at));
    drop(c);
    kill9(&mut shoal);
    let report = check_aof(&dir);
    assert!(report.contains("All AOF files and manifest are valid"), "{report}");
    let dir_s = dir.to_string_lossy().into_owned();
    let redis = Server::redis(&["--dir", &dir_s, "--appendonly", "yes"]);
    let mut rc = redis.conn();
    assert_same(&mut rc, &expected, "redis-server loading Shoal's AOF");
    // And back: Shoal loads the files again (redis-server appended nothing).
    drop(rc);
    drop(redis);
    let again = Server::shoal(&["--dir", &dir_s, "--appendonly", "yes"]);
    assert_same(&mut again.conn(), &expected, "Shoal reloading its AOF");
}

#[test]
fn redis_aof_loads_in_shoal() {
    let mut redis = Server::redis(&["--appendonly", "yes"]);
    let dir = redis.dir.clone();
    let mut c = redis.conn();
    let mut expected = write_strings(&mut c);
    assert_eq!(c.text(&["BGREWRITEAOF"]), "+Background append only file rewriting started\r\n");
    wait_until("redis's rewrite", || manifest(&dir).contains("seq 2 type b"));
    c.call(&["SET", "tail", "t", "EX", "5000"]);
    let (v, at) = read_key(&mut c, 0, "tail");
    expected.push((0, "tail".into(), v, at));
    drop(c);
    kill9(&mut redis);
    let dir_s = dir.to_string_lossy().into_owned();
    let shoal = Server::shoal(&["--dir", &dir_s, "--appendonly", "yes"]);
    assert_same(&mut shoal.conn(), &expected, "Shoal loading redis-server's AOF");
}

#[test]
fn restart_round_trips_with_rewrite_and_runtime_enable() {
    let mut s = Server::shoal(&[]);
    let dir = s.dir.clone();
    let mut c = s.conn();
    c.call(&["SET", "before-enable", "1"]);
    assert_eq!(c.text(&["CONFIG", "SET", "appendonly", "yes"]), "+OK\r\n");
    wait_until("the first base", || manifest(&dir).contains("type b"));
    c.call(&["SET", "after-enable", "2"]);
    c.call(&["SET", "t", "x", "EX", "3000"]);
    let (_, at) = read_key(&mut c, 0, "t");
    drop(c);
    kill9(&mut s);
    let dir_s = dir.to_string_lossy().into_owned();
    let mut s2 = Server::shoal(&["--dir", &dir_s, "--appendonly", "yes"]);
    let mut c = s2.conn();
    assert_eq!(c.text(&["GET", "before-enable"]), "$1\r\n1\r\n");
    assert_eq!(c.text(&["GET", "after-enable"]), "$1\r\n2\r\n");
    assert_eq!(read_key(&mut c, 0, "t"), (Some("x".into()), at));
    for i in 0..200 {
        c.call(&["RPUSH", "ignored-if-unimplemented", "x"]);
        c.call(&["SET", &format!("k{i}"), &i.to_string()]);
    }
    assert_eq!(c.text(&["BGREWRITEAOF"]), "+Background append only file rewriting started\r\n");
    wait_until("the rewrite", || manifest(&dir).contains("seq 3 type b") || manifest(&dir).contains("seq 2 type b"));
    c.call(&["DEL", "k7"]);
    drop(c);
    wait_until("history files removed", || stray_files(&dir).is_empty());
    s2.restart();
    let mut c = s2.conn();
    assert_eq!(c.text(&["GET", "k199"]), "$3\r\n199\r\n");
    assert_eq!(c.text(&["EXISTS", "k7"]), ":0\r\n");
    assert_eq!(c.text(&["GET", "before-enable"]), "$1\r\n1\r\n");
    // Only the files the manifest names are left.
    assert_eq!(stray_files(&dir), Vec::<String>::new(), "manifest:\n{}", manifest(&dir));
}

/// Files in the AOF directory that the manifest does not name.
fn stray_files(dir: &Path) -> Vec<String> {
    let m = manifest(dir);
    let names: Vec<String> = std::fs::read_dir(aof_dir(dir))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.into_iter().filter(|n| !n.ends_with(".manifest") && !m.contains(n.as_str())).collect()
}

/// Starts shoal-server expecting it to exit (refusing to start); returns its output.
fn expect_refusal(dir: &Path, extra: &[&str]) -> String {
    let port = support::free_port().to_string();
    let dir_s = dir.to_string_lossy().into_owned();
    let mut args = vec!["--port", &port, "--bind", "127.0.0.1", "--save", "", "--dir", &dir_s, "--appendonly", "yes"];
    args.extend_from_slice(extra);
    let mut child = Command::new(support::shoal_binary())
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start shoal-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(!status.success(), "the server should refuse to start");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not refuse to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn last_incr(dir: &Path) -> PathBuf {
    let m = manifest(dir);
    let name = m.lines().rfind(|l| l.ends_with("type i")).and_then(|l| l.split(' ').nth(1)).unwrap_or_default();
    aof_dir(dir).join(name)
}

#[test]
fn torn_tail_is_truncated_or_refused() {
    let mut s = Server::shoal(&["--appendonly", "yes"]);
    let dir = s.dir.clone();
    let mut c = s.conn();
    c.call(&["SET", "a", "1"]);
    c.call(&["SET", "b", "2"]);
    drop(c);
    kill9(&mut s);
    // A torn last command: half of `SET c 3`.
    let incr = last_incr(&dir);
    let good_len = std::fs::metadata(&incr).map(|m| m.len()).unwrap_or(0);
    let mut bytes = std::fs::read(&incr).unwrap_or_default();
    bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r");
    std::fs::write(&incr, &bytes).expect("write");

    let out = expect_refusal(&dir, &["--aof-load-truncated", "no"]);
    assert!(out.contains("Unexpected end of file reading the append only file"), "{out}");

    let dir_s = dir.to_string_lossy().into_owned();
    let s2 = Server::shoal(&["--dir", &dir_s, "--appendonly", "yes", "--aof-load-truncated", "yes"]);
    let mut c = s2.conn();
    assert_eq!(c.text(&["GET", "b"]), "$1\r\n2\r\n");
    assert_eq!(c.text(&["EXISTS", "c"]), ":0\r\n");
    // The file was cut at the last complete command, then appended to.
    c.call(&["SET", "d", "4"]);
    drop(c);
    drop(s2);
    let report = check_aof(&dir);
    assert!(report.contains("All AOF files and manifest are valid"), "{report}");
    assert!(std::fs::metadata(&incr).map(|m| m.len()).unwrap_or(0) > good_len);

    // An unfinished MULTI at the end is reverted too.
    let mut bytes = std::fs::read(&incr).unwrap_or_default();
    bytes.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\ne\r\n$1\r\n5\r\n");
    std::fs::write(&incr, &bytes).expect("write");
    let s3 = Server::shoal(&["--dir", &dir_s, "--appendonly", "yes"]);
    let mut c = s3.conn();
    assert_eq!(c.text(&["EXISTS", "e"]), ":0\r\n");
    assert_eq!(c.text(&["GET", "d"]), "$1\r\n4\r\n");
    drop(c);
    drop(s3);
    drop(s);
}

#[test]
fn corrupt_aof_refuses_to_start() {
    let mut s = Server::shoal(&["--appendonly", "yes"]);
    let dir = s.dir.clone();
    s.conn().call(&["SET", "a", "1"]);
    kill9(&mut s);
    let incr = last_incr(&dir);
    let mut bytes = std::fs::read(&incr).unwrap_or_default();
    bytes.extend_from_slice(b"garbage\r\n*1\r\n$4\r\nPING\r\n");
    std::fs::write(&incr, &bytes).expect("write");
    let out = expect_refusal(&dir, &[]);
    assert!(out.contains("Bad file format reading the append only file"), "{out}");
    std::fs::write(aof_dir(&dir).join("appendonly.aof.manifest"), "file x seq\n").expect("write");
    let out = expect_refusal(&dir, &[]);
    assert!(out.contains("Invalid AOF manifest file format"), "{out}");
}

/// `appendfsync always`: clients write as fast as they can; the server is killed with SIGKILL in the middle;
/// after the restart every write that was acknowledged is there.
#[test]
fn kill_9_under_load_keeps_every_acknowledged_write() {
    const CLIENTS: usize = 4;
    const MAX_WRITES: u64 = 3000;
    let mut s = Server::shoal(&["--appendonly", "yes", "--appendfsync", "always"]);
    let port = s.port;
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..CLIENTS).map(|_| AtomicU64::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..CLIENTS {
        let acked = acked.clone();
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            use std::io::{Read, Write};
            let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
            for j in 1..=MAX_WRITES {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let key = format!("c{t}:{j}");
                if stream.write_all(&Conn::encode(&[b"SET", key.as_bytes(), j.to_string().as_bytes()])).is_err() {
                    return;
                }
                // `+OK\r\n`, or the connection ends (the server was killed): then this client stops.
                let mut reply = [0u8; 5];
                match stream.read_exact(&mut reply) {
                    Ok(()) if &reply == b"+OK\r\n" => acked[t].store(j, Ordering::SeqCst),
                    _ => return,
                }
            }
        }));
    }
    // Kill once a good part of the load is acknowledged (or all of it is).
    wait_until("acknowledged writes", || {
        acked.iter().map(|a| a.load(Ordering::SeqCst)).sum::<u64>() >= (CLIENTS as u64 * MAX_WRITES) / 3
    });
    kill9(&mut s);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let counts: Vec<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    let dir_s = s.dir.to_string_lossy().into_owned();
    let s2 = Server::shoal(&["--dir", &dir_s, "--appendonly", "yes"]);
    let mut c = s2.conn();
    for (t, &n) in counts.iter().enumerate() {
        for j in 1..=n {
            let key = format!("c{t}:{j}");
            assert_eq!(c.text(&["GET", &key]), format!("${}\r\n{j}\r\n", j.to_string().len()), "lost {key}");
        }
    }
    drop(c);
    drop(s2);
    drop(s);
}

/// Reads a key's content in an order-independent form (`None` for an unimplemented type on this server).
fn content(c: &mut Conn, key: &str) -> String {
    let t = c.text(&["TYPE", key]);
    let mut lines: Vec<String> = match t.trim() {
        "+list" => vec![c.text(&["LRANGE", key, "0", "-1"])],
        "+set" => c.text(&["SMEMBERS", key]).split("\r\n").map(str::to_string).collect(),
        "+hash" => c.text(&["HGETALL", key]).split("\r\n").map(str::to_string).collect(),
        "+zset" => vec![c.text(&["ZRANGE", key, "0", "-1", "WITHSCORES"])],
        "+string" => vec![c.text(&["GET", key])],
        other => vec![other.to_string()],
    };
    lines.sort();
    format!("{t}{}|ttl={}", lines.join(","), c.text(&["PEXPIRETIME", key]))
}

/// `aof-use-rdb-preamble no`: the base is AOF commands (`.base.aof`) that redis-check-aof accepts and
/// redis-server loads, for every type this build implements.
#[test]
fn aof_base_without_rdb_preamble_loads_in_redis() {
    let mut s = Server::shoal(&["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
    let dir = s.dir.clone();
    let mut c = s.conn();
    let mut keys = vec!["s", "n", "ttl"];
    c.call(&["SET", "s", "hello"]);
    c.call(&["SET", "n", "12345"]);
    c.call(&["SET", "ttl", "x", "EX", "5000"]);
    let big: Vec<String> = (0..100).map(|i| format!("e{i}")).collect();
    let mut try_type = |c: &mut Conn, key: &'static str, cmd: &str, items: &[&str]| {
        let mut line = vec![cmd, key];
        line.extend_from_slice(items);
        if !c.call(&line).starts_with(b"-") {
            keys.push(key);
        }
    };
    let big_refs: Vec<&str> = big.iter().map(String::as_str).collect();
    try_type(&mut c, "list", "RPUSH", &big_refs);
    try_type(&mut c, "set", "SADD", &big_refs);
    try_type(&mut c, "intset", "SADD", &["1", "2", "3"]);
    try_type(&mut c, "hash", "HSET", &["f1", "v1", "f2", "v2"]);
    try_type(&mut c, "zset", "ZADD", &["1.5", "a", "-2", "b", "inf", "c"]);
    assert_eq!(c.text(&["BGREWRITEAOF"]), "+Background append only file rewriting started\r\n");
    wait_until("the rewrite", || manifest(&dir).contains("appendonly.aof.2.base.aof seq 2 type b"));
    c.call(&["SET", "after", "1"]);
    keys.push("after");
    let expected: Vec<String> = keys.iter().map(|k| content(&mut c, k)).collect();
    drop(c);
    kill9(&mut s);
    let base = std::fs::read(aof_dir(&dir).join("appendonly.aof.2.base.aof")).unwrap_or_default();
    assert!(base.starts_with(b"*2\r\n$6\r\nSELECT\r\n"), "{}", String::from_utf8_lossy(&base));
    let report = check_aof(&dir);
    assert!(report.contains("All AOF files and manifest are valid"), "{report}");
    let dir_s = dir.to_string_lossy().into_owned();
    let redis = Server::redis(&["--dir", &dir_s, "--appendonly", "yes"]);
    let mut rc = redis.conn();
    let got: Vec<String> = keys.iter().map(|k| content(&mut rc, k)).collect();
    assert_eq!(got, expected, "redis-server loading Shoal's AOF-form base");
    drop(rc);
    drop(redis);
    let again = Server::shoal(&["--dir", &dir_s, "--appendonly", "yes"]);
    let mut c = again.conn();
    let got: Vec<String> = keys.iter().map(|k| content(&mut c, k)).collect();
    assert_eq!(got, expected, "Shoal reloading its AOF-form base");
}

/// `auto-aof-rewrite-percentage/min-size`: once the AOF has grown enough, the cron rewrites it by itself.
#[test]
fn automatic_rewrite_on_growth() {
    let s = Server::shoal(&[
        "--appendonly",
        "yes",
        "--auto-aof-rewrite-min-size",
        "4096",
        "--auto-aof-rewrite-percentage",
        "100",
    ]);
    let dir = s.dir.clone();
    let mut c = s.conn();
    let value = "x".repeat(100);
    for i in 0..100 {
        c.call(&["SET", &format!("k{}", i % 10), &value]);
    }
    wait_until("an automatic rewrite", || manifest(&dir).contains("seq 2 type b"));
    let dir_s = dir.to_string_lossy().into_owned();
    drop(c);
    let mut s = s;
    kill9(&mut s);
    let again = Server::shoal(&["--dir", &dir_s, "--appendonly", "yes"]);
    assert_eq!(again.conn().text(&["GET", "k9"]), format!("$100\r\n{value}\r\n"));
    drop(again);
    drop(s);
}

/// The incremental file holds the same commands as redis-server 7.0.15's for the same requests (absolute
/// times masked): the deterministic rewrites, SELECT placement, and MULTI/EXEC only around transactions
/// with more than one write.
#[test]
fn propagated_commands_match_redis() {
    let script: &[&[&str]] = &[
        &["set", "a", "1"],
        &["SET", "b", "2", "ex", "100"],
        &["set", "c", "3", "px", "100000"],
        &["set", "d", "4", "exat", "9999999999"],
        &["set", "pp", "1", "pxat", "99999999999999", "nx"],
        &["set", "e", "5", "keepttl"],
        &["set", "b2", "2", "ex", "100", "get"],
        &["setex", "f", "100", "x"],
        &["psetex", "g", "100000", "x"],
        &["expire", "a", "100"],
        &["pexpire", "a", "100000"],
        &["expireat", "a", "9999999999"],
        &["expire", "a", "100", "gt"],
        &["pexpireat", "a", "99999999999"],
        &["getex", "c", "ex", "50"],
        &["getex", "c", "persist"],
        &["getex", "c"],
        &["set", "n", "1.5"],
        &["incrbyfloat", "n", "2.5"],
        &["incr", "i"],
        &["select", "3"],
        &["set", "x", "y"],
        &["select", "0"],
        &["expire", "nokey", "10"],
        &["set", "a2", "1"],
        &["expire", "a2", "-1"],
        &["getdel", "i"],
        &["getdel", "i"],
        &["del", "zz"],
        &["setnx", "a2", "1"],
        &["setrange", "s", "0", "abc"],
        &["mset", "k1", "1", "k2", "2"],
        &["getex", "k1", "pxat", "1"],
        &["multi"],
        &["set", "m1", "1"],
        &["select", "5"],
        &["set", "m2", "2"],
        &["select", "0"],
        &["exec"],
        &["multi"],
        &["set", "m3", "3"],
        &["get", "m3"],
        &["exec"],
        &["multi"],
        &["get", "m3"],
        &["exec"],
        &["flushall"],
    ];
    assert_same_propagation(script);
}

/// The data types' deterministic rewrites (served blocking pops, SPOP, HINCRBYFLOAT, SINTERSTORE, ...),
/// compared with redis-server's file the same way.
#[test]
fn propagated_collection_commands_match_redis() {
    let script: &[&[&str]] = &[
        &["rpush", "l", "a", "b", "c"],
        &["blpop", "l", "0"],
        &["brpop", "l", "1"],
        &["lpush", "l2", "x"],
        &["blmove", "l2", "l3", "left", "right", "0"],
        &["brpoplpush", "l3", "l4", "0"],
        &["blmpop", "0", "1", "l4", "left", "count", "5"],
        &["sadd", "s1", "only"],
        &["spop", "s1"],
        &["sadd", "s2", "a"],
        &["spop", "s2", "5"],
        &["hset", "h", "f", "1.5"],
        &["hincrbyfloat", "h", "f", "1"],
        &["hincrby", "h", "g", "2"],
        &["zadd", "z2", "1", "a"],
        &["zincrby", "z2", "1.5", "a"],
        &["xgroup", "create", "x", "g", "$", "mkstream"],
        &["xgroup", "createconsumer", "x", "g", "c"],
        &["xsetid", "x", "5-0"],
        &["pfadd", "hll", "a", "b", "c"],
        &["pfadd", "hll", "a"],
        &["pfcount", "hll"],
        &["setbit", "b", "7", "1"],
        &["bitfield", "bf", "set", "u8", "0", "255"],
        &["rpush", "l4", "x"],
        &["copy", "l4", "l5"],
        &["rename", "l5", "l6"],
        &["expire", "l6", "100"],
        &["persist", "l6"],
        &["sort", "l6", "store", "l7"],
        &["unlink", "l6"],
        &["linsert", "l7", "before", "x", "y"],
        &["lset", "l7", "0", "q"],
        &["sadd", "s3", "a"],
        &["smove", "s3", "s4", "a"],
        &["sinterstore", "s5", "s4", "s4"],
    ];
    assert_same_propagation(script);
}

/// Runs `script` on a redis-server and a Shoal with `appendonly yes` and compares their incremental files.
fn assert_same_propagation(script: &[&[&str]]) {
    let run = |s: &Server| {
        let mut c = s.conn();
        for cmd in script {
            c.call(cmd);
        }
        c.call(&["PING"]);
        let m = manifest(&s.dir);
        let name = m.lines().find(|l| l.ends_with("type i")).and_then(|l| l.split(' ').nth(1)).unwrap_or_default();
        let bytes = std::fs::read(aof_dir(&s.dir).join(name)).unwrap_or_default();
        // Absolute times of the run (13 digits starting with 1) differ between the two servers.
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut masked = String::new();
        for part in text.split("\r\n") {
            let is_now = part.len() == 13 && part.starts_with('1') && part.bytes().all(|b| b.is_ascii_digit());
            masked.push_str(if is_now { "<now>" } else { part });
            masked.push('\n');
        }
        masked
    };
    let redis = Server::redis(&["--appendonly", "yes"]);
    let shoal = Server::shoal(&["--appendonly", "yes"]);
    // The file is written before the reply: by the PING's reply everything is in it.
    assert_eq!(run(&shoal), run(&redis));
}

/// A single-file AOF of Redis before 7.0 with an RDB preamble (`dir/appendonly.aof`, no manifest) loads,
/// and Shoal continues with a multi-part AOF.
#[test]
fn single_file_aof_with_rdb_preamble_loads() {
    let mut redis = Server::redis(&[]);
    let mut c = redis.conn();
    c.call(&["SET", "pre", "1"]);
    c.call(&["SET", "ttl", "t", "EX", "5000"]);
    assert_eq!(c.text(&["SAVE"]), "+OK\r\n");
    let ttl = read_key(&mut c, 0, "ttl");
    drop(c);
    kill9(&mut redis);
    let mut aof = std::fs::read(redis.dir.join("dump.rdb")).expect("dump.rdb");
    aof.extend_from_slice(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$4\r\npost\r\n$1\r\n2\r\n");
    let dir = redis.dir.join("single");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("appendonly.aof"), &aof).expect("write");
    let dir_s = dir.to_string_lossy().into_owned();
    let mut s = Server::shoal(&["--dir", &dir_s, "--appendonly", "yes"]);
    let mut c = s.conn();
    assert_eq!(c.text(&["MGET", "pre", "post"]), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(read_key(&mut c, 0, "ttl"), ttl);
    c.call(&["SET", "after", "3"]);
    drop(c);
    s.restart();
    assert_eq!(s.conn().text(&["MGET", "pre", "post", "after"]), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    assert!(manifest(&dir).contains("type b"));
}

/// Cluster mode: the AOF replays every command, whatever the cluster state at start-up (no redirection
/// while loading, as Redis).
#[test]
fn cluster_node_reloads_its_aof() {
    let mut s = Server::shoal_single_node_cluster(&["--appendonly", "yes"]);
    let mut c = s.conn();
    for i in 0..50 {
        assert_eq!(c.text(&["SET", &format!("{{t}}k{i}"), &i.to_string()]), "+OK\r\n");
    }
    drop(c);
    s.restart();
    let mut c = s.conn();
    wait_until("cluster state ok", || c.text(&["CLUSTER", "INFO"]).contains("cluster_state:ok"));
    assert_eq!(c.text(&["GET", "{t}k49"]), "$2\r\n49\r\n");
    assert_eq!(c.text(&["DBSIZE"]), ":50\r\n");
}

/// `shoal::aof::info_fields` gives redis-server 7.0.15's aof_* lines (and the two module_fork_* lines
/// between them) in its order, with appendonly on.
#[test]
fn info_fields_match_redis_names_and_order() {
    let redis = Server::redis(&["--appendonly", "yes"]);
    let info = redis.conn().text(&["INFO", "persistence"]);
    let names = |text: &str| -> Vec<String> {
        let mut on = false;
        let mut out = Vec::new();
        for line in text.split("\r\n") {
            let name = line.split(':').next().unwrap_or_default();
            on |= name == "aof_enabled";
            if on && !name.is_empty() && !name.starts_with('#') {
                out.push(name.to_string());
            }
            if name == "aof_delayed_fsync" {
                break;
            }
        }
        out
    };
    let dir = std::env::temp_dir().join(format!("shoal-aof-info-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let conf = format!("dir {}\nappendonly yes\n", dir.display());
    let config = shoal::config::Config::from_text(conf.as_bytes()).expect("configuration");
    let state = shoal::state::ServerState::new(Arc::new(shoal::config::ConfigStore::new(config)));
    shoal::aof::load::load_at_startup(&state).expect("AOF created");
    let ours = shoal::aof::info_fields(&state);
    assert_eq!(names(&ours), names(&info), "{ours}");
    assert!(ours.contains("aof_enabled:1\r\n") && ours.contains("aof_last_bgrewrite_status:ok\r\n"));
    shoal::aof::shutdown(&state);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every string key with its value and absolute expiry, for whole-dataset comparisons.
fn dump_strings(c: &mut Conn) -> Vec<(String, String, String)> {
    let keys = c.value(&["KEYS", "*"]);
    let mut names: Vec<String> = match keys {
        shoal::protocol::value::RespValue::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                shoal::protocol::value::RespValue::Bulk(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                _ => None,
            })
            .collect(),
        other => panic!("KEYS: {other:?}"),
    };
    names.sort();
    names.into_iter().map(|k| (k.clone(), c.text(&["GET", &k]), c.text(&["PEXPIRETIME", &k]))).collect()
}

/// Writers on several connections while rewrites run (each forks with every shard held and switches the
/// incremental file at that instant): after `kill -9` and a restart, the dataset is exactly the one the
/// server had. Seeded, bounded.
#[test]
fn concurrent_writes_during_rewrites_survive_restart() {
    const CLIENTS: u64 = 4;
    const OPS: usize = 10000;
    let mut s = Server::shoal(&["--appendonly", "yes"]);
    let dir = s.dir.clone();
    let port = s.port;
    let writers: Vec<_> = (0..CLIENTS)
        .map(|t| {
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(0x5eed + t);
                let mut c = Conn::connect(port);
                for i in 0..OPS {
                    let key = format!("k{}", rng.usize(..40));
                    let n = i.to_string();
                    let cmd: Vec<&str> = match rng.u8(..7) {
                        0 => vec!["SET", &key, &n],
                        1 => vec!["INCR", &key],
                        2 => vec!["APPEND", &key, "x"],
                        3 => vec!["DEL", &key],
                        4 => vec!["EXPIRE", &key, "5000"],
                        5 => vec!["SET", &key, &n, "PX", "9000000"],
                        _ => vec!["INCRBYFLOAT", &key, "0.5"],
                    };
                    c.call(&cmd);
                }
            })
        })
        .collect();
    let mut c = s.conn();
    // Rewrite after rewrite while the writers run (each waits for its new base in the manifest).
    let mut seq = 1;
    while seq < 3 || writers.iter().any(|w| !w.is_finished()) {
        seq += 1;
        assert_eq!(c.text(&["BGREWRITEAOF"]), "+Background append only file rewriting started\r\n");
        wait_until("a rewrite", || manifest(&dir).contains(&format!("seq {seq} type b")));
    }
    for w in writers {
        w.join().expect("writer");
    }
    let before = dump_strings(&mut c);
    eprintln!("{} rewrites during the writes, {} keys", seq - 1, before.len());
    assert!(!before.is_empty());
    drop(c);
    s.restart();
    let after = dump_strings(&mut s.conn());
    assert_eq!(after, before);
}

/// `CONFIG SET appendonly no`, writes while it is off, then `yes` again: the new base holds everything and
/// the files of the first period are gone.
#[test]
fn appendonly_off_and_on_again() {
    let mut s = Server::shoal(&["--appendonly", "yes"]);
    let dir = s.dir.clone();
    let mut c = s.conn();
    c.call(&["SET", "first", "1"]);
    assert_eq!(c.text(&["CONFIG", "SET", "appendonly", "no"]), "+OK\r\n");
    c.call(&["SET", "while-off", "2"]);
    assert_eq!(c.text(&["CONFIG", "SET", "appendonly", "yes"]), "+OK\r\n");
    wait_until("the new base", || manifest(&dir).contains("seq 2 type b"));
    c.call(&["SET", "after", "3"]);
    drop(c);
    let m = manifest(&dir);
    assert!(!m.contains(".1."), "{m}");
    // History files are deleted right after the manifest stops naming them.
    wait_until("the old files removed", || !aof_dir(&dir).join("appendonly.aof.1.incr.aof").exists());
    let dir_s = dir.to_string_lossy().into_owned();
    kill9(&mut s);
    let again = Server::shoal(&["--dir", &dir_s, "--appendonly", "yes"]);
    assert_eq!(again.conn().text(&["MGET", "first", "while-off", "after"]), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    drop(again);
    drop(s);
}

/// `kill -9` while a rewrite child is writing the next base: the manifest still names the old base and
/// every incremental file since, so the restart loads everything.
#[test]
fn kill_9_during_rewrite_loses_nothing() {
    let mut s = Server::shoal(&["--appendonly", "yes"]);
    let mut c = s.conn();
    let batch: Vec<Vec<Vec<u8>>> = (0..50_000)
        .map(|i| vec![b"SET".to_vec(), format!("key:{i}").into_bytes(), format!("value-{i}").into_bytes()])
        .collect();
    for chunk in batch.chunks(5000) {
        support::pipeline(&mut c, chunk);
    }
    assert_eq!(c.text(&["BGREWRITEAOF"]), "+Background append only file rewriting started\r\n");
    assert_eq!(c.text(&["SET", "during", "rewrite"]), "+OK\r\n");
    drop(c);
    s.restart();
    let mut c = s.conn();
    assert_eq!(c.text(&["DBSIZE"]), ":50001\r\n");
    assert_eq!(c.text(&["GET", "key:49999"]), "$11\r\nvalue-49999\r\n");
    assert_eq!(c.text(&["GET", "during"]), "$7\r\nrewrite\r\n");
}

/// Every policy writes before it replies, so `kill -9` (not a power loss) loses nothing under `everysec` and
/// `no` either.
#[test]
fn every_fsync_policy_survives_kill_9() {
    for policy in ["everysec", "no", "always"] {
        let mut s = Server::shoal(&["--appendonly", "yes", "--appendfsync", policy]);
        let mut c = s.conn();
        let batch: Vec<Vec<Vec<u8>>> =
            (0..2000).map(|i| vec![b"INCR".to_vec(), format!("n{}", i % 7).into_bytes()]).collect();
        support::pipeline(&mut c, &batch);
        assert_eq!(
            c.text(&["CONFIG", "GET", "appendfsync"]),
            format!("*2\r\n$11\r\nappendfsync\r\n${}\r\n{policy}\r\n", policy.len())
        );
        drop(c);
        s.restart();
        let mut c = s.conn();
        assert_eq!(c.text(&["GET", "n0"]), "$3\r\n286\r\n", "appendfsync {policy}");
        assert_eq!(c.text(&["GET", "n6"]), "$3\r\n285\r\n", "appendfsync {policy}");
    }
}
