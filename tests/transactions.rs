//! MULTI/EXEC/WATCH with several real clients against the real binary: WATCH invalidated by other clients and
//! by expiry (compared with redis-server), atomicity of EXEC across shards, keyspace-wide commands inside a
//! transaction (no deadlock), CLIENT LIST's view of a client in MULTI, and EXEC routing in a one-node cluster.
//! Waits poll with deadlines; nothing asserts speed.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shoal::protocol::value::RespValue;
use support::{Conn, Server};

const DEADLINE: Duration = Duration::from_secs(20);

/// A scenario with two clients `a` and `b`; returns every reply, for comparison with redis-server.
fn two_clients(server: &Server, steps: &[(u8, &[&str])]) -> Vec<String> {
    let mut a = server.conn();
    let mut b = server.conn();
    let mut replies = Vec::new();
    for (who, cmd) in steps {
        let reply = if *who == b'a' { a.call(cmd) } else { b.call(cmd) };
        replies.push(format!("{}: {:?} -> {}", *who as char, cmd, String::from_utf8_lossy(&reply)));
    }
    replies
}

fn same_as_redis(steps: &[(u8, &[&str])]) {
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    assert_eq!(two_clients(&shoal, steps), two_clients(&redis, steps));
}

#[test]
fn watch_is_invalidated_by_other_clients_like_redis() {
    same_as_redis(&[
        (b'a', &["SET", "k", "1"]),
        (b'a', &["WATCH", "k"]),
        (b'b', &["SET", "k", "2"]),
        (b'a', &["MULTI"]),
        (b'a', &["SET", "k", "3"]),
        (b'a', &["EXEC"]),
        (b'a', &["GET", "k"]),
        // Another client's write that changes nothing does not count.
        (b'a', &["WATCH", "k"]),
        (b'b', &["SETNX", "k", "9"]),
        (b'b', &["GET", "k"]),
        (b'a', &["MULTI"]),
        (b'a', &["INCR", "k"]),
        (b'a', &["EXEC"]),
        // A key of another db with the same name is another key.
        (b'a', &["WATCH", "k"]),
        (b'b', &["SELECT", "5"]),
        (b'b', &["SET", "k", "x"]),
        (b'a', &["MULTI"]),
        (b'a', &["GET", "k"]),
        (b'a', &["EXEC"]),
        // Two watchers of one key both fail; a watcher of another key does not.
        (b'a', &["WATCH", "k"]),
        (b'b', &["SELECT", "0"]),
        (b'b', &["WATCH", "k", "other"]),
        (b'b', &["MULTI"]),
        (b'b', &["SET", "k", "from-b"]),
        (b'b', &["EXEC"]),
        (b'a', &["MULTI"]),
        (b'a', &["GET", "k"]),
        (b'a', &["EXEC"]),
        // FLUSHALL by another client.
        (b'a', &["WATCH", "k"]),
        (b'b', &["FLUSHALL"]),
        (b'a', &["MULTI"]),
        (b'a', &["PING"]),
        (b'a', &["EXEC"]),
        // The other client is in MULTI: its queued SET changes nothing until its EXEC.
        (b'a', &["SET", "q", "1"]),
        (b'a', &["WATCH", "q"]),
        (b'b', &["MULTI"]),
        (b'b', &["SET", "q", "2"]),
        (b'a', &["MULTI"]),
        (b'a', &["GET", "q"]),
        (b'a', &["EXEC"]),
        (b'b', &["EXEC"]),
    ]);
}

#[test]
fn expiry_of_a_watched_key_aborts_exec_like_redis() {
    for server in [Server::redis(&[]), Server::shoal(&[])] {
        let mut c = server.conn();
        // Expired while watched, never looked up: EXEC sees it expired (or active expiry deleted it).
        assert_eq!(c.call(&["SET", "e", "v", "PX", "50"]), b"+OK\r\n");
        assert_eq!(c.call(&["WATCH", "e"]), b"+OK\r\n");
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
        assert_eq!(c.call(&["PING"]), b"+QUEUED\r\n");
        assert_eq!(c.call(&["EXEC"]), b"*-1\r\n", "port {}", server.port);
        // Expired and deleted by a lookup from another client.
        let mut other = server.conn();
        assert_eq!(c.call(&["SET", "e", "v", "PX", "50"]), b"+OK\r\n");
        assert_eq!(c.call(&["WATCH", "e"]), b"+OK\r\n");
        let deadline = Instant::now() + DEADLINE;
        while other.call(&["EXISTS", "e"]) != b":0\r\n" {
            assert!(Instant::now() < deadline, "key never expired");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
        assert_eq!(c.call(&["PING"]), b"+QUEUED\r\n");
        assert_eq!(c.call(&["EXEC"]), b"*-1\r\n", "port {}", server.port);
    }
}

#[test]
fn keys_already_expired_at_watch_follow_redis() {
    let steps: &[(u8, &[&str])] = &[
        (b'a', &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
        (b'a', &["SET", "x", "foo", "PX", "1"]),
        (b'a', &["DEBUG", "SLEEP", "0.01"]),
        (b'a', &["WATCH", "x"]),
        // A lookup deletes the expired key: no logical change.
        (b'b', &["GET", "x"]),
        (b'a', &["MULTI"]),
        (b'a', &["PING"]),
        (b'a', &["EXEC"]),
        (b'a', &["SET", "x", "foo", "PX", "1"]),
        (b'a', &["DEBUG", "SLEEP", "0.01"]),
        (b'a', &["WATCH", "x"]),
        // Writing it is a change.
        (b'b', &["SET", "x", "bar"]),
        (b'a', &["MULTI"]),
        (b'a', &["PING"]),
        (b'a', &["EXEC"]),
        (b'a', &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]),
    ];
    let redis = Server::redis(&["--enable-debug-command", "yes"]);
    let shoal = Server::shoal(&["--enable-debug-command", "yes"]);
    assert_eq!(two_clients(&shoal, steps), two_clients(&redis, steps));
}

/// Keys that land on `count` different shards (distinct hash slots modulo 16).
fn keys_on_distinct_shards(count: usize) -> Vec<String> {
    let mut keys = Vec::new();
    let mut shards = std::collections::HashSet::new();
    let mut i = 0;
    while keys.len() < count {
        let key = format!("atom:{i}");
        if shards.insert(shoal::slot::key_hash_slot(key.as_bytes()) % 16) {
            keys.push(key);
        }
        i += 1;
    }
    keys
}

#[test]
fn exec_is_atomic_for_concurrent_readers() {
    let server = Server::shoal(&[]);
    let keys = keys_on_distinct_shards(8);
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let keys = keys.clone();
            let done = Arc::clone(&done);
            let port = server.port;
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let mut checked = 0u64;
                while !done.load(Ordering::Relaxed) {
                    // One reader uses MGET, the other a transaction of GETs.
                    let values: Vec<Option<Vec<u8>>> = if r == 0 {
                        let mut args = vec!["MGET"];
                        args.extend(keys.iter().map(String::as_str));
                        match c.value(&args) {
                            RespValue::Array(items) => items.into_iter().map(bulk).collect(),
                            other => panic!("MGET: {other:?}"),
                        }
                    } else {
                        assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
                        for k in &keys {
                            assert_eq!(c.call(&["GET", k]), b"+QUEUED\r\n");
                        }
                        match c.value(&["EXEC"]) {
                            RespValue::Array(items) => items.into_iter().map(bulk).collect(),
                            other => panic!("EXEC: {other:?}"),
                        }
                    };
                    assert!(values.windows(2).all(|w| w[0] == w[1]), "half-applied transaction seen: {values:?}");
                    checked += 1;
                }
                checked
            })
        })
        .collect();
    let mut w = server.conn();
    for round in 0..300 {
        let value = round.to_string();
        assert_eq!(w.call(&["MULTI"]), b"+OK\r\n");
        for k in &keys {
            assert_eq!(w.call(&["SET", k, &value]), b"+QUEUED\r\n");
        }
        let reply = w.call(&["EXEC"]);
        assert_eq!(reply, format!("*{}\r\n{}", keys.len(), "+OK\r\n".repeat(keys.len())).into_bytes());
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader panicked") > 0);
    }
}

fn text(v: &RespValue) -> String {
    match v {
        RespValue::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a bulk reply: {other:?}"),
    }
}

fn bulk(v: RespValue) -> Option<Vec<u8>> {
    match v {
        RespValue::Bulk(b) => Some(b.to_vec()),
        _ => None,
    }
}

#[test]
fn keyspace_wide_commands_inside_exec_do_not_deadlock() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    let mut other = server.conn();
    for k in ["a", "b", "c"] {
        assert_eq!(c.call(&["SET", k, "1", "EX", "100"]), b"+OK\r\n");
    }
    let queued: &[&[&str]] = &[
        &["SET", "d", "1"],
        &["INFO"],
        &["INFO", "keyspace"],
        &["INFO", "stats"],
        &["INFO", "memory"],
        &["DBSIZE"],
        &["KEYS", "*"],
        &["SCAN", "0"],
        &["RANDOMKEY"],
        &["MEMORY", "STATS"],
        &["CONFIG", "RESETSTAT"],
        &["CLIENT", "LIST"],
        &["FLUSHDB"],
        &["DBSIZE"],
    ];
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    for cmd in queued {
        assert_eq!(c.call(cmd), b"+QUEUED\r\n", "{cmd:?}");
    }
    // The connection's read timeout turns a deadlock into a failure.
    let RespValue::Array(items) = c.value(&["EXEC"]) else { panic!("EXEC did not answer an array") };
    assert_eq!(items.len(), queued.len());
    let info = text(&items[2]);
    assert!(info.contains("db0:keys=4,expires=3"), "{info}");
    assert!(matches!(items[5], RespValue::Int(4)), "{:?}", items[5]);
    assert!(matches!(items[13], RespValue::Int(0)), "{:?}", items[13]);
    // Every shard was released.
    assert_eq!(other.call(&["SET", "after", "1"]), b"+OK\r\n");
    assert_eq!(other.call(&["DBSIZE"]), b":1\r\n");
}

#[test]
fn client_list_shows_a_client_in_multi() {
    let server = Server::shoal(&[]);
    let mut a = server.conn();
    let mut b = server.conn();
    assert_eq!(a.call(&["CLIENT", "SETNAME", "tx"]), b"+OK\r\n");
    assert_eq!(a.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(a.call(&["SET", "a", "1"]), b"+QUEUED\r\n");
    assert_eq!(a.call(&["SET", "b", "2"]), b"+QUEUED\r\n");
    let line = |b: &mut Conn| {
        let list = String::from_utf8_lossy(&b.call(&["CLIENT", "LIST"])).into_owned();
        list.lines().find(|l| l.contains("name=tx ")).map(str::to_string).expect("client listed")
    };
    let l = line(&mut b);
    assert!(l.contains(" flags=x ") && l.contains(" multi=2 "), "{l}");
    // Inside EXEC the client still shows its transaction, with multi-mem as Redis counts it.
    let info = a.call(&["MULTI"]);
    assert_eq!(info, b"-ERR MULTI calls can not be nested\r\n");
    assert_eq!(a.call(&["CLIENT", "INFO"]), b"+QUEUED\r\n");
    let RespValue::Array(items) = a.value(&["EXEC"]) else { panic!("EXEC") };
    let own = text(&items[2]);
    assert!(own.contains(" flags=x ") && own.contains(" multi=3 ") && own.contains(" multi-mem=84 "), "{own}");
    let l = line(&mut b);
    assert!(l.contains(" flags=N ") && l.contains(" multi=-1 "), "{l}");
}

#[test]
fn exec_in_a_single_node_cluster_is_routed_by_its_queued_keys() {
    let server = Server::shoal_single_node_cluster(&[]);
    let mut c = server.conn();
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "{t}a", "1"]), b"+QUEUED\r\n");
    assert_eq!(c.call(&["SET", "{t}b", "2"]), b"+QUEUED\r\n");
    assert_eq!(c.call(&["GET", "{t}a"]), b"+QUEUED\r\n");
    assert_eq!(c.call(&["EXEC"]), b"*3\r\n+OK\r\n+OK\r\n$1\r\n1\r\n");
    // Each queued command is in one slot, but not the transaction.
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "a", "1"]), b"+QUEUED\r\n");
    assert_eq!(c.call(&["SET", "b", "2"]), b"+QUEUED\r\n");
    assert_eq!(c.call(&["EXEC"]), b"-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    assert_eq!(c.call(&["EXEC"]), b"-ERR EXEC without MULTI\r\n", "the transaction was discarded");
    assert_eq!(c.call(&["EXISTS", "a"]), b":0\r\n");
    // A queued command that is itself cross-slot flags the transaction.
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(c.call(&["MSET", "a", "1", "b", "2"]), b"-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    assert_eq!(c.call(&["SET", "a", "1"]), b"+QUEUED\r\n");
    assert_eq!(c.call(&["EXEC"]), b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    // Keyless transactions and WATCH.
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(c.call(&["PING"]), b"+QUEUED\r\n");
    assert_eq!(c.call(&["EXEC"]), b"*1\r\n+PONG\r\n");
    assert_eq!(c.call(&["WATCH", "a", "b"]), b"-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    assert_eq!(c.call(&["WATCH", "{t}a"]), b"+OK\r\n");
    let mut other = server.conn();
    assert_eq!(other.call(&["SET", "{t}a", "changed"]), b"+OK\r\n");
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(c.call(&["GET", "{t}a"]), b"+QUEUED\r\n");
    assert_eq!(c.call(&["EXEC"]), b"*-1\r\n");
}

#[test]
fn watches_of_a_closed_connection_are_forgotten() {
    let server = Server::shoal(&[]);
    for round in 0..50 {
        let mut c = server.conn();
        assert_eq!(c.call(&["WATCH", "k", &format!("k{round}")]), b"+OK\r\n");
    }
    // Closed watchers leave nothing behind that could fail another client's EXEC.
    let mut c = server.conn();
    assert_eq!(c.call(&["WATCH", "k"]), b"+OK\r\n");
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "k", "1"]), b"+QUEUED\r\n");
    assert_eq!(c.call(&["EXEC"]), b"*1\r\n+OK\r\n");
}

#[test]
fn eviction_of_a_watched_key_aborts_exec_like_redis() {
    same_as_redis(&[
        (b'a', &["SET", "big", "some value"]),
        (b'a', &["SET", "other", "1"]),
        (b'a', &["WATCH", "big"]),
        (b'b', &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]),
        (b'b', &["CONFIG", "SET", "maxmemory", "1"]),
        (b'b', &["GET", "nothing"]),
        (b'b', &["CONFIG", "SET", "maxmemory", "0"]),
        (b'b', &["DBSIZE"]),
        (b'a', &["MULTI"]),
        (b'a', &["PING"]),
        (b'a', &["EXEC"]),
    ]);
}
