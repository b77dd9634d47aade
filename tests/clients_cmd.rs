//! CLIENT ..., MONITOR, CLIENT PAUSE/REPLY, maxclients and timeout, with several real connections (raw RESP
//! and redis-cli) against the real binary. Waits poll with deadlines; nothing asserts speed.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shoal::protocol::value::RespValue;
use support::{redis_cli, Conn, Server};

const DEADLINE: Duration = Duration::from_secs(20);

/// The text of a bulk or verbatim reply.
fn text_of(raw: &[u8]) -> String {
    match RespValue::parse(raw).map(|(v, _)| v) {
        Some(RespValue::Bulk(b)) => String::from_utf8_lossy(&b).into_owned(),
        Some(RespValue::Verbatim(b)) => String::from_utf8_lossy(b.get(4..).unwrap_or_default()).into_owned(),
        other => panic!("not a bulk reply: {other:?} ({:?})", String::from_utf8_lossy(raw)),
    }
}

/// CLIENT LIST / CLIENT INFO lines as ordered `(field, value)` lists.
fn parse_clients(text: &str) -> Vec<Vec<(String, String)>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            line.split(' ')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (k.to_string(), v.to_string())
                })
                .collect()
        })
        .collect()
}

fn fields(line: &[(String, String)]) -> HashMap<String, String> {
    line.iter().cloned().collect()
}

fn own_info(c: &mut Conn) -> HashMap<String, String> {
    let text = text_of(&c.call(&["CLIENT", "INFO"]));
    fields(&parse_clients(&text)[0])
}

fn list(c: &mut Conn) -> Vec<HashMap<String, String>> {
    parse_clients(&text_of(&c.call(&["CLIENT", "LIST"]))).iter().map(|l| fields(l)).collect()
}

fn int(raw: &[u8]) -> i64 {
    match RespValue::parse(raw).map(|(v, _)| v) {
        Some(RespValue::Int(n)) => n,
        other => panic!("not an integer reply: {other:?}"),
    }
}

/// Polls `check` until it is true, or panics with `what` at the deadline.
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

fn info_field(c: &mut Conn, section: &str, field: &str) -> String {
    let text = text_of(&c.call(&["INFO", section]));
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}: {text}"))
}

/// Asserts the server closed `c` (reads to end-of-file; the read timeout is the deadline).
fn assert_closed(c: &mut Conn) {
    c.stream.set_read_timeout(Some(DEADLINE)).expect("set timeout");
    let _ = c.read_to_close();
}

fn id_of(c: &mut Conn) -> String {
    int(&c.call(&["CLIENT", "ID"])).to_string()
}

/// Waits until the server reports exactly `n` connected clients (closed connections leave asynchronously).
fn wait_connected(c: &mut Conn, n: usize) {
    wait_for(&format!("{n} connected clients"), || info_field(c, "clients", "connected_clients") == n.to_string());
}

#[test]
fn kill_by_id_addr_laddr_type_user_and_old_form() {
    let server = Server::shoal(&[]);
    let mut killer = server.conn();

    // ID: closes that connection only, even while it is idle in a read.
    let mut a = server.conn();
    let mut b = server.conn();
    let a_id = id_of(&mut a);
    assert_eq!(killer.call(&["CLIENT", "KILL", "ID", &a_id]), b":1\r\n");
    assert_closed(&mut a);
    assert_eq!(b.call(&["PING"]), b"+PONG\r\n");
    assert_eq!(killer.call(&["CLIENT", "KILL", "ID", &a_id]), b":0\r\n");

    // ADDR
    let b_addr = own_info(&mut b)["addr"].clone();
    let mut c = server.conn();
    assert_eq!(killer.call(&["CLIENT", "KILL", "ADDR", &b_addr]), b":1\r\n");
    assert_closed(&mut b);
    assert_eq!(c.call(&["PING"]), b"+PONG\r\n");

    // Old form: +OK, and "No such client" once it is gone.
    let c_addr = own_info(&mut c)["addr"].clone();
    assert_eq!(killer.call(&["CLIENT", "KILL", &c_addr]), b"+OK\r\n");
    assert_closed(&mut c);
    wait_for("the killed client to leave CLIENT LIST", || list(&mut killer).len() == 1);
    assert_eq!(killer.call(&["CLIENT", "KILL", &c_addr]), b"-ERR No such client\r\n");

    // LADDR / TYPE / USER kill every other client and skip the caller by default.
    let laddr = own_info(&mut killer)["laddr"].clone();
    for filter in [["LADDR", laddr.as_str()], ["TYPE", "normal"], ["USER", "default"]] {
        let mut x = server.conn();
        let mut y = server.conn();
        assert_eq!(x.call(&["PING"]), b"+PONG\r\n");
        assert_eq!(y.call(&["PING"]), b"+PONG\r\n");
        let reply = killer.call(&["CLIENT", "KILL", filter[0], filter[1]]);
        assert_eq!(reply, b":2\r\n", "filter {filter:?}");
        assert_closed(&mut x);
        assert_closed(&mut y);
        assert_eq!(killer.call(&["PING"]), b"+PONG\r\n");
    }
    // Filters combine with AND.
    let mut z = server.conn();
    let z_id = id_of(&mut z);
    assert_eq!(killer.call(&["CLIENT", "KILL", "ID", &z_id, "TYPE", "pubsub"]), b":0\r\n");
    assert_eq!(killer.call(&["CLIENT", "KILL", "ID", &z_id, "TYPE", "normal", "LADDR", &laddr]), b":1\r\n");
    assert_closed(&mut z);
}

#[test]
fn kill_self_with_skipme_no_and_old_form() {
    let server = Server::shoal(&[]);
    let mut a = server.conn();
    let a_id = id_of(&mut a);
    assert_eq!(a.call(&["CLIENT", "KILL", "ID", &a_id]), b":0\r\n");
    assert_eq!(a.call(&["CLIENT", "KILL", "ID", &a_id, "SKIPME", "no"]), b":1\r\n");
    assert_closed(&mut a);

    let mut b = server.conn();
    let b_addr = own_info(&mut b)["addr"].clone();
    assert_eq!(b.call(&["CLIENT", "KILL", &b_addr]), b"+OK\r\n");
    assert_closed(&mut b);
}

#[test]
fn kill_by_maxage() {
    let server = Server::shoal(&[]);
    let mut killer = server.conn();
    let mut old = server.conn();
    let old_id = id_of(&mut old);
    assert_eq!(killer.call(&["CLIENT", "KILL", "MAXAGE", "100000"]), b":0\r\n");
    assert_eq!(killer.call(&["CLIENT", "KILL", "MAXAGE", "x"]), b"-ERR value is not an integer or out of range\r\n");
    wait_for("a client one second old", || {
        list(&mut killer).iter().any(|c| c["id"] == old_id && c["age"].parse::<u64>().unwrap_or(0) >= 1)
    });
    assert!(int(&killer.call(&["CLIENT", "KILL", "MAXAGE", "1", "ID", &old_id])) == 1);
    assert_closed(&mut old);
}

#[test]
fn pause_write_holds_writes_but_not_reads_and_keeps_order() {
    let server = Server::shoal(&[]);
    let mut admin = server.conn();
    let mut writer = server.conn();
    let mut reader = server.conn();
    let writer_id = id_of(&mut writer);
    assert_eq!(admin.call(&["CLIENT", "PAUSE", "100000", "WRITE"]), b"+OK\r\n");
    // The writer pipelines a write and a read of what it wrote: both wait, in order.
    let mut batch = Conn::encode(&[b"SET", b"k", b"v1"]);
    batch.extend(Conn::encode(&[b"GET", b"k"]));
    batch.extend(Conn::encode(&[b"INCR", b"n"]));
    writer.send_raw(&batch);
    wait_for("the SET to be held", || {
        list(&mut reader).iter().any(|c| c["id"] == writer_id && c["flags"] == "b" && c["cmd"] == "set")
    });
    assert_eq!(info_field(&mut reader, "clients", "blocked_clients"), "1");
    // Reads and PING go on; the held SET has not happened.
    assert_eq!(reader.call(&["GET", "k"]), b"$-1\r\n");
    assert_eq!(reader.call(&["PING"]), b"+PONG\r\n");
    assert_eq!(reader.call(&["EXISTS", "k", "n"]), b":0\r\n");
    assert_eq!(admin.call(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    assert_eq!(writer.read_reply(), b"+OK\r\n");
    assert_eq!(writer.read_reply(), b"$2\r\nv1\r\n");
    assert_eq!(writer.read_reply(), b":1\r\n");
    assert_eq!(reader.call(&["GET", "k"]), b"$2\r\nv1\r\n");
    assert_eq!(info_field(&mut reader, "clients", "blocked_clients"), "0");
}

/// CLIENT PAUSE WRITE holds EXEC of a transaction that queued a write (not one of reads only), as Redis; and
/// another client's CLIENT LIST line shows its transaction (`multi=`, `multi-mem=`) and a broken WATCH (`d`).
fn pause_write_and_transaction_flags(server: &Server) {
    let mut admin = server.conn();
    let mut tx = server.conn();
    let tx_id = id_of(&mut tx);
    tx.call(&["WATCH", "w"]);
    tx.call(&["MULTI"]);
    tx.call(&["SET", "k", "v"]);
    admin.call(&["SET", "w", "changed"]);
    let line = list(&mut admin).into_iter().find(|c| c["id"] == tx_id).expect("the transaction client is listed");
    assert_eq!((line["flags"].as_str(), line["multi"].as_str(), line["multi-mem"].as_str()), ("xd", "1", "29"));
    assert_eq!(tx.call(&["DISCARD"]), b"+OK\r\n");
    assert_eq!(admin.call(&["CLIENT", "PAUSE", "100000", "WRITE"]), b"+OK\r\n");
    tx.call(&["MULTI"]);
    tx.call(&["GET", "k"]);
    assert_eq!(tx.call(&["EXEC"]), b"*1\r\n$-1\r\n", "a read-only EXEC runs during PAUSE WRITE");
    assert_eq!(admin.call(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    // A write queued before the pause: EXEC waits for the pause to end (a write sent during the pause would
    // itself be held while queueing, as in Redis).
    tx.call(&["MULTI"]);
    tx.call(&["SET", "k", "v"]);
    assert_eq!(admin.call(&["CLIENT", "PAUSE", "100000", "WRITE"]), b"+OK\r\n");
    tx.send_raw(&Conn::encode(&[b"EXEC"]));
    wait_for("EXEC to be held", || list(&mut admin).iter().any(|c| c["id"] == tx_id && c["flags"].contains('b')));
    assert_eq!(admin.call(&["EXISTS", "k"]), b":0\r\n");
    assert_eq!(admin.call(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    assert_eq!(tx.read_reply(), b"*1\r\n+OK\r\n");
}

#[test]
fn pause_write_holds_exec_with_writes_and_lists_transaction_flags() {
    pause_write_and_transaction_flags(&Server::shoal(&[]));
    pause_write_and_transaction_flags(&Server::redis(&[]));
}

/// A command refused for its arity counts in its `rejected_calls`, as in Redis.
#[test]
fn arity_errors_count_as_rejected_calls() {
    for server in [Server::shoal(&[]), Server::redis(&[])] {
        let mut c = server.conn();
        c.call(&["CONFIG", "RESETSTAT"]);
        c.call(&["GET"]);
        c.call(&["CONFIG", "GET"]);
        let stats = text_of(&c.call(&["INFO", "commandstats"]));
        assert!(
            stats.contains("cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"),
            "{stats}"
        );
        assert!(stats.contains("cmdstat_config|get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1"), "{stats}");
    }
}

#[test]
fn pause_all_holds_every_client_but_monitors_until_unpause_or_timeout() {
    let server = Server::shoal(&[]);
    let mut monitor = server.conn();
    assert_eq!(monitor.call(&["MONITOR"]), b"+OK\r\n");
    let mut admin = server.conn();
    let mut other = server.conn();
    assert_eq!(admin.call(&["CLIENT", "PAUSE", "100000", "ALL"]), b"+OK\r\n");
    other.send_raw(&Conn::encode(&[b"PING"]));
    // MONITOR clients are never paused: use one to watch and to lift the pause.
    let read_non_monitor_reply = |m: &mut Conn| loop {
        let r = m.read_reply();
        if !(r.starts_with(b"+") && r.len() > 12 && r[1].is_ascii_digit()) {
            return r;
        }
    };
    wait_for("PING to be held", || {
        monitor.send_raw(&Conn::encode(&[b"INFO", b"clients"]));
        let info = text_of(&read_non_monitor_reply(&mut monitor));
        info.contains("blocked_clients:1\r\n")
    });
    monitor.send_raw(&Conn::encode(&[b"CLIENT", b"UNPAUSE"]));
    assert_eq!(read_non_monitor_reply(&mut monitor), b"+OK\r\n");
    assert_eq!(other.read_reply(), b"+PONG\r\n");

    // A pause also ends by itself.
    assert_eq!(admin.call(&["CLIENT", "PAUSE", "200", "ALL"]), b"+OK\r\n");
    assert_eq!(other.call(&["SET", "a", "1"]), b"+OK\r\n");
    assert_eq!(admin.call(&["GET", "a"]), b"$1\r\n1\r\n");
}

#[test]
fn killing_a_paused_client_closes_it() {
    let server = Server::shoal(&[]);
    let mut admin = server.conn();
    let mut held = server.conn();
    let held_id = id_of(&mut held);
    assert_eq!(admin.call(&["CLIENT", "PAUSE", "100000", "WRITE"]), b"+OK\r\n");
    held.send_raw(&Conn::encode(&[b"SET", b"k", b"v"]));
    wait_for("the SET to be held", || list(&mut admin).iter().any(|c| c["id"] == held_id && c["flags"] == "b"));
    assert_eq!(admin.call(&["CLIENT", "KILL", "ID", &held_id]), b":1\r\n");
    assert_closed(&mut held);
    assert_eq!(admin.call(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    assert_eq!(admin.call(&["EXISTS", "k"]), b":0\r\n");
    assert_eq!(admin.call(&["CLIENT", "UNBLOCK", &held_id]), b":0\r\n");
}

/// The same CLIENT REPLY sequence against Redis and Shoal gives the same bytes.
#[test]
fn client_reply_off_and_skip_match_redis() {
    let run = |server: &Server| {
        let mut c = server.conn();
        let mut got = Vec::new();
        let mut batch = Vec::new();
        for cmd in [
            &["CLIENT", "REPLY", "SKIP"][..],
            &["SET", "a", "1"],
            &["PING", "after-skip"],
            &["CLIENT", "REPLY", "OFF"],
            &["SET", "b", "2"],
            &["NOSUCHCOMMAND"],
            &["CLIENT", "REPLY", "SKIP"],
            &["GET", "b"],
            &["CLIENT", "REPLY", "ON"],
            &["GET", "b"],
            &["CLIENT", "REPLY", "SKIP"],
            &["CLIENT", "REPLY", "SKIP"],
            &["PING", "skipped"],
            &["PING", "shown"],
            &["CLIENT", "REPLY", "OFF"],
            &["RESET"],
            &["PING", "after-reset"],
        ] {
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            batch.extend(Conn::encode(&args));
        }
        c.send_raw(&batch);
        for _ in 0..6 {
            got.push(String::from_utf8_lossy(&c.read_reply()).into_owned());
        }
        assert_eq!(c.call(&["EXISTS", "a", "b"]), b":2\r\n");
        got
    };
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    let expected = run(&redis);
    assert_eq!(
        expected,
        ["$10\r\nafter-skip\r\n", "+OK\r\n", "$1\r\n2\r\n", "$5\r\nshown\r\n", "+RESET\r\n", "$11\r\nafter-reset\r\n"]
    );
    assert_eq!(run(&shoal), expected);
}

#[test]
fn setname_list_and_info_fields() {
    let server = Server::shoal(&[]);
    let mut a = server.conn();
    let mut b = server.conn();
    assert_eq!(a.call(&["CLIENT", "SETNAME", "alpha"]), b"+OK\r\n");
    assert_eq!(a.call(&["SELECT", "3"]), b"+OK\r\n");
    assert_eq!(a.call(&["CLIENT", "NO-EVICT", "on"]), b"+OK\r\n");
    assert_eq!(a.call(&["CLIENT", "SETINFO", "LIB-NAME", "shoal-test"]), b"+OK\r\n");
    assert_eq!(a.call(&["CLIENT", "SETINFO", "lib-ver", "1.2.3"]), b"+OK\r\n");
    assert_eq!(a.call(&["SET", "k", "v"]), b"+OK\r\n");

    // Field names and order: Redis 7.0's, then 7.2's lib-name and lib-ver.
    let info_text = text_of(&a.call(&["CLIENT", "INFO"]));
    assert!(info_text.ends_with('\n') && info_text.lines().count() == 1, "{info_text:?}");
    let line = &parse_clients(&info_text)[0];
    let names: Vec<&str> = line.iter().map(|(k, _)| k.as_str()).collect();
    let redis_fields = "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem multi-mem \
                        rbs rbp obl oll omem tot-mem events cmd user redir resp lib-name lib-ver";
    assert_eq!(names, redis_fields.split_whitespace().collect::<Vec<_>>());
    let me = fields(line);
    assert_eq!(me["name"], "alpha");
    assert_eq!(me["db"], "3");
    assert_eq!(me["flags"], "e");
    assert_eq!(me["cmd"], "client|info");
    assert_eq!(me["qbuf"], "26", "the CLIENT INFO command itself is in the query buffer");
    assert_eq!(me["argv-mem"], "10");
    assert_eq!(me["multi"], "-1");
    assert_eq!(me["user"], "default");
    assert_eq!(me["resp"], "2");
    assert_eq!(me["lib-name"], "shoal-test");
    assert_eq!(me["lib-ver"], "1.2.3");
    assert_eq!(me["laddr"], format!("127.0.0.1:{}", server.port));
    assert!(me["fd"].parse::<i32>().unwrap_or(-1) > 0);
    assert!(me["tot-mem"].parse::<u64>().unwrap_or(0) > 0);

    // As another client sees it: last command run, name, db; its own line shows client|list.
    wait_for("only a and b to be connected", || list(&mut b).len() == 2);
    let all = list(&mut b);
    let a_seen = all.iter().find(|c| c["name"] == "alpha").expect("a is listed");
    assert_eq!(a_seen["cmd"], "client|info");
    assert_eq!(a_seen["db"], "3");
    assert_eq!(a_seen["id"], me["id"]);
    assert_eq!(a_seen["addr"], me["addr"]);
    let b_seen = all.iter().find(|c| c["name"].is_empty()).expect("b is listed");
    assert_eq!(b_seen["cmd"], "client|list");
    assert_eq!(b_seen["flags"], "N");
    assert!(all[0]["id"].parse::<u64>().unwrap_or(0) < all[1]["id"].parse::<u64>().unwrap_or(0));

    // NO-TOUCH shows as T (Redis 7.2), after e.
    assert_eq!(a.call(&["CLIENT", "NO-TOUCH", "ON"]), b"+OK\r\n");
    assert_eq!(own_info(&mut a)["flags"], "eT");
    assert_eq!(a.call(&["CLIENT", "NO-TOUCH", "maybe"]), b"-ERR syntax error\r\n");
    assert_eq!(a.call(&["CLIENT", "NO-TOUCH", "off"]), b"+OK\r\n");
    assert_eq!(a.call(&["CLIENT", "NO-EVICT", "off"]), b"+OK\r\n");
    assert_eq!(own_info(&mut a)["flags"], "N");

    // LIST ID and TYPE.
    let a_id = me["id"].clone();
    let by_id = parse_clients(&text_of(&b.call(&["CLIENT", "LIST", "ID", &a_id, "999999", &a_id])));
    assert_eq!(by_id.len(), 2);
    assert_eq!(fields(&by_id[0])["name"], "alpha");
    assert_eq!(parse_clients(&text_of(&b.call(&["CLIENT", "LIST", "TYPE", "normal"]))).len(), 2);
    assert_eq!(b.call(&["CLIENT", "LIST", "TYPE", "pubsub"]), b"$0\r\n\r\n");

    // RESP3: verbatim text.
    b.call(&["HELLO", "3"]);
    let raw = b.call(&["CLIENT", "INFO"]);
    assert!(raw.starts_with(b"=") && raw.windows(4).any(|w| w == b"txt:"), "{:?}", String::from_utf8_lossy(&raw));
    assert!(String::from_utf8_lossy(&raw).contains(" resp=3 "));

    // RESET drops the name, keeps the id.
    assert_eq!(a.call(&["RESET"]), b"+RESET\r\n");
    assert_eq!(a.call(&["CLIENT", "GETNAME"]), b"$-1\r\n");
    wait_for("the unnamed client in b's list", || {
        list_resp3(&mut b).iter().any(|c| c["id"] == a_id && c["name"].is_empty())
    });
}

fn list_resp3(c: &mut Conn) -> Vec<HashMap<String, String>> {
    parse_clients(&text_of(&c.call(&["CLIENT", "LIST"]))).iter().map(|l| fields(l)).collect()
}

#[test]
fn setinfo_validation_follows_redis_7_2() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    assert_eq!(
        c.call(&["CLIENT", "SETINFO", "lib-name", "a b"]),
        b"-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        c.call(&["CLIENT", "SETINFO", "LIB-VER", "1\n2"]),
        b"-ERR LIB-VER cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(c.call(&["CLIENT", "SETINFO", "foo", "x"]), b"-ERR Unrecognized option 'foo'\r\n");
    assert_eq!(
        c.call(&["CLIENT", "SETINFO", "lib-name"]),
        b"-ERR wrong number of arguments for 'client|setinfo' command\r\n"
    );
    assert_eq!(c.call(&["CLIENT", "SETINFO", "lib-name", "x"]), b"+OK\r\n");
    assert_eq!(own_info(&mut c)["lib-name"], "x");
    assert_eq!(c.call(&["CLIENT", "SETINFO", "lib-name", ""]), b"+OK\r\n");
    assert_eq!(own_info(&mut c)["lib-name"], "");
}

#[test]
fn monitor_streams_other_clients_commands() {
    let server = Server::shoal(&[]);
    let mut monitor = server.conn();
    assert_eq!(monitor.call(&["MONITOR"]), b"+OK\r\n");
    let mut c = server.conn();
    let c_addr = own_info(&mut c)["addr"].clone();
    assert_eq!(c.call(&["SET", "k", "a \"q\"\n\x01"]), b"+OK\r\n");
    c.call(&["AUTH", "secret"]);
    c.call(&["CONFIG", "GET", "maxmemory"]);
    c.call(&["CLIENT", "LIST"]);
    c.call(&["NOSUCHCOMMAND"]);
    c.call(&["GET"]);
    assert_eq!(c.call(&["SELECT", "2"]), b"+OK\r\n");
    c.call(&["HELLO", "2", "AUTH", "default", "pw"]);
    assert_eq!(c.call(&["CLIENT", "SETNAME", "x"]), b"+OK\r\n");
    assert_eq!(c.call(&["ping"]), b"+PONG\r\n");
    let expect = [
        format!("[0 {c_addr}] \"CLIENT\" \"INFO\""),
        format!("[0 {c_addr}] \"SET\" \"k\" \"a \\\"q\\\"\\n\\x01\""),
        format!("[0 {c_addr}] \"AUTH\" \"(redacted)\""),
        format!("[2 {c_addr}] \"SELECT\" \"2\""),
        format!("[2 {c_addr}] \"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\""),
        format!("[2 {c_addr}] \"CLIENT\" \"SETNAME\" \"x\""),
        format!("[2 {c_addr}] \"ping\""),
    ];
    for want in expect {
        let line = String::from_utf8_lossy(&monitor.read_reply()).into_owned();
        let (stamp, rest) = line.split_once(' ').unwrap_or(("", ""));
        let (secs, usecs) = stamp.trim_start_matches('+').split_once('.').unwrap_or(("", ""));
        assert!(line.starts_with('+') && secs.len() >= 10 && usecs.len() == 6, "{line:?}");
        assert_eq!(rest, format!("{want}\r\n"));
    }
    // A monitor may not touch the keyspace, sees its own commands, and is flagged O.
    assert_eq!(monitor.call(&["GET", "k"]), b"-ERR Replica can't interact with the keyspace\r\n");
    assert_eq!(monitor.call(&["PING"]), b"+PONG\r\n");
    let own = String::from_utf8_lossy(&monitor.read_reply()).into_owned();
    assert!(own.ends_with("\"PING\"\r\n"), "{own:?}");
    let seen = list(&mut c);
    assert!(seen.iter().any(|x| x["flags"] == "O"), "{seen:?}");
}

#[test]
fn monitor_over_resp3_gets_simple_strings_and_reset_stops_it() {
    let server = Server::shoal(&[]);
    let mut monitor = server.conn();
    monitor.call(&["HELLO", "3"]);
    assert_eq!(monitor.call(&["MONITOR"]), b"+OK\r\n");
    let mut c = server.conn();
    c.call(&["SET", "a", "b"]);
    let line = monitor.read_reply();
    assert!(
        line.starts_with(b"+") && line.ends_with(b"\"SET\" \"a\" \"b\"\r\n"),
        "{:?}",
        String::from_utf8_lossy(&line)
    );
    // Like Redis, RESET ends MONITOR before it runs: the monitor does not see its own RESET.
    assert_eq!(monitor.call(&["RESET"]), b"+RESET\r\n");
    assert_eq!(monitor.call(&["GET", "a"]), b"$1\r\nb\r\n");
    c.call(&["SET", "a", "c"]);
    assert_eq!(monitor.call(&["GET", "a"]), b"$1\r\nc\r\n");
}

#[test]
fn slow_monitor_is_disconnected_at_the_output_limit() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    assert_eq!(c.call(&["CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"]), b"+OK\r\n");
    let mut monitor = server.conn();
    let monitor_id = id_of(&mut monitor);
    assert_eq!(monitor.call(&["MONITOR"]), b"+OK\r\n");
    // The monitor never reads; every SET queues ~100 KB of MONITOR output.
    let value = vec![b'x'; 100 * 1024];
    let mut sent = 0;
    wait_for("the monitor to be disconnected", || {
        for _ in 0..20 {
            assert_eq!(c.call_bytes(&[b"SET", b"big", &value]), b"+OK\r\n");
            sent += 1;
        }
        assert!(sent < 20_000, "the monitor was never disconnected");
        !list(&mut c).iter().any(|x| x["id"] == monitor_id)
    });
    monitor.stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let mut drained = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(&mut monitor.stream, &mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    assert!(drained > 0);
}

#[test]
fn maxclients_refuses_and_counts() {
    let server = Server::shoal(&["--maxclients", "2"]);
    let mut a = server.conn();
    wait_connected(&mut a, 1);
    let mut b = server.conn();
    assert_eq!(b.call(&["PING"]), b"+PONG\r\n");
    let before = info_field(&mut a, "stats", "total_connections_received");
    let mut refused = Conn::connect(server.port);
    assert_eq!(refused.read_to_close(), b"-ERR max number of clients reached\r\n");
    assert_eq!(info_field(&mut a, "stats", "rejected_connections"), "1");
    assert_eq!(info_field(&mut a, "stats", "total_connections_received"), before);
    assert_eq!(info_field(&mut a, "clients", "maxclients"), "2");
    drop(b);
    wait_connected(&mut a, 1);
    let mut again = server.conn();
    assert_eq!(again.call(&["PING"]), b"+PONG\r\n");
}

#[test]
fn idle_timeout_closes_idle_clients_but_not_monitors() {
    let server = Server::shoal(&[]);
    let mut admin = server.conn();
    let mut monitor = server.conn();
    assert_eq!(monitor.call(&["MONITOR"]), b"+OK\r\n");
    assert_eq!(admin.call(&["CONFIG", "SET", "timeout", "1"]), b"+OK\r\n");
    let mut idle = server.conn();
    assert_eq!(idle.call(&["PING"]), b"+PONG\r\n");
    let _ = monitor.read_reply(); // idle's PING
    assert_closed(&mut idle);
    assert_closed(&mut admin);
    // The monitor idled as long as the others and still answers.
    assert_eq!(monitor.call(&["PING"]), b"+PONG\r\n");
}

#[test]
fn info_clients_has_redis_fields() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    let text = text_of(&c.call(&["INFO", "clients"]));
    let keys: Vec<&str> = text.lines().skip(1).filter_map(|l| l.split(':').next()).filter(|k| !k.is_empty()).collect();
    assert_eq!(
        keys,
        [
            "connected_clients",
            "cluster_connections",
            "maxclients",
            "client_recent_max_input_buffer",
            "client_recent_max_output_buffer",
            "blocked_clients",
            "tracking_clients",
            "clients_in_timeout_table"
        ]
    );
    assert!(info_field(&mut c, "clients", "client_recent_max_input_buffer").parse::<u64>().unwrap_or(0) > 0);
}

#[test]
fn redis_cli_client_commands_and_monitor() {
    let server = Server::shoal(&[]);
    let port = server.port.to_string();
    assert_eq!(redis_cli(&["-p", &port, "CLIENT", "SETNAME", "cli"]).trim(), "OK");
    let listed = redis_cli(&["-p", &port, "CLIENT", "LIST"]);
    assert!(listed.contains(" cmd=client|list ") && listed.contains(" lib-name= lib-ver="), "{listed}");
    assert_eq!(redis_cli(&["-p", &port, "CLIENT", "KILL", "ID", "999999"]).trim(), "0");

    let mut child = Command::new("redis-cli")
        .args(["-p", &port, "MONITOR"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-cli is installed");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("OK"));
    let mut c = server.conn();
    let deadline = Instant::now() + DEADLINE;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    assert_eq!(c.call(&["SET", "cli-key", "cli value"]), b"+OK\r\n");
    let mut found = false;
    while Instant::now() < deadline && !found {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            found = line.ends_with("\"SET\" \"cli-key\" \"cli value\"");
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "redis-cli MONITOR did not show the SET");
}
