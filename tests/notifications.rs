//! Keyspace notifications (`notify-keyspace-events`) against redis-server: the same commands run on both
//! servers while a pattern subscriber records every `__keyspace@*` / `__keyevent@*` message; the two
//! recordings must be identical, in order. A marker PUBLISH ends each recording.

mod support;

use shoal::protocol::value::RespValue;
use support::{Conn, Server};

/// Runs `commands` on `server` and returns the notification messages they caused (channel, message).
fn record(server: &Server, flags: &str, commands: &[&[&str]]) -> Vec<(String, String)> {
    let mut admin = server.conn();
    assert_eq!(admin.call(&["CONFIG", "SET", "notify-keyspace-events", flags]), b"+OK\r\n");
    let mut sub = server.conn();
    sub.call(&["PSUBSCRIBE", "__key*", "end-of-script"]);
    sub.read_reply();
    let mut c = server.conn();
    for cmd in commands {
        if cmd[0] == "@sleep" {
            std::thread::sleep(std::time::Duration::from_millis(cmd[1].parse().unwrap_or(0)));
            continue;
        }
        c.call(cmd);
    }
    c.call(&["PUBLISH", "end-of-script", "x"]);
    let mut seen = Vec::new();
    loop {
        let Some((RespValue::Array(parts), _)) = RespValue::parse(&sub.read_reply()) else { panic!("bad message") };
        let text = |i: usize| String::from_utf8_lossy(parts[i].as_bytes().unwrap_or_default()).into_owned();
        if text(2) == "end-of-script" {
            break;
        }
        seen.push((text(2), text(3)));
    }
    admin.call(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    seen
}

fn same_on_both(flags: &str, commands: &[&[&str]]) {
    let redis = record(&Server::redis(&[]), flags, commands);
    let shoal = record(&Server::shoal(&[]), flags, commands);
    assert!(!redis.is_empty(), "the script caused no notification on redis");
    assert_eq!(shoal, redis);
}

#[test]
fn string_and_generic_events_match_redis() {
    same_on_both(
        "KEA",
        &[
            &["SET", "s", "1"],
            &["SET", "s", "2", "EX", "100"],
            &["INCR", "s"],
            &["INCRBYFLOAT", "s", "1.5"],
            &["APPEND", "s", "x"],
            &["SETRANGE", "s", "0", "y"],
            &["GETSET", "s", "z"],
            &["MSET", "a", "1", "b", "2"],
            &["SETBIT", "bits", "3", "1"],
            &["BITOP", "OR", "dest", "bits", "a"],
            &["BITOP", "AND", "dest", "missing1", "missing2"],
            &["EXPIRE", "a", "100"],
            &["PERSIST", "a"],
            &["PEXPIRE", "a", "-1"],
            &["RENAME", "b", "c"],
            &["COPY", "c", "d"],
            &["GETEX", "d", "EX", "10"],
            &["GETEX", "d", "PERSIST"],
            &["GETDEL", "d"],
            &["DEL", "c", "nothing", "s"],
            &["SET", "t", "1", "PX", "20"],
            &["@sleep", "50"],
            &["GET", "t"],
        ],
    );
}

#[test]
fn classes_filter_events() {
    // Only generic events, only on the keyevent channels.
    same_on_both("Eg", &[&["SET", "k", "v"], &["EXPIRE", "k", "100"], &["DEL", "k"]]);
    // Only string events, only on the keyspace channels.
    same_on_both("K$", &[&["SET", "k", "v"], &["EXPIRE", "k", "100"], &["DEL", "k"], &["INCR", "n"]]);
}

#[test]
fn new_key_and_miss_events_match_redis() {
    same_on_both(
        "KEAnm",
        &[
            &["SET", "k", "v"],
            &["SET", "k", "w"],
            &["GET", "missing"],
            &["INCR", "counter"],
            &["RENAME", "k", "k2"],
            &["COPY", "k2", "k3"],
            &["MSET", "a", "1", "k3", "2"],
        ],
    );
}

#[test]
fn nothing_is_published_when_off() {
    let server = Server::shoal(&[]);
    let mut sub = server.conn();
    sub.call(&["PSUBSCRIBE", "*"]);
    let mut c: Conn = server.conn();
    c.call(&["SET", "k", "v"]);
    c.call(&["DEL", "k"]);
    c.call(&["PUBLISH", "marker", "x"]);
    let first = sub.read_reply();
    assert!(String::from_utf8_lossy(&first).contains("marker"), "unexpected message {first:?}");
}
