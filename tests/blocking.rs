//! Blocking commands with several real clients, the same scenarios against redis-server and Shoal: first-come
//! first-served wake-ups, timeouts, CLIENT UNBLOCK, a client that disconnects while blocked, commands
//! pipelined behind a blocked one, blocking inside MULTI, a wake-up from a transaction, and what CLIENT LIST
//! and INFO show about blocked clients. Every wait has a deadline; nothing asserts on time.

mod support;

use std::time::{Duration, Instant};

use support::{Conn, Server};

/// Waits until `cond` holds on a fresh connection's view of the server.
fn wait_for(server: &Server, what: &str, mut cond: impl FnMut(&mut Conn) -> bool) {
    let mut c = server.conn();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond(&mut c) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn blocked_clients(c: &mut Conn) -> usize {
    let info = c.text(&["INFO", "clients"]);
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(usize::MAX)
}

fn wait_blocked(server: &Server, n: usize) {
    wait_for(server, &format!("{n} blocked clients"), |c| blocked_clients(c) == n);
}

fn bulk_array(items: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len()).into_bytes();
    for i in items {
        out.extend_from_slice(format!("${}\r\n{i}\r\n", i.len()).as_bytes());
    }
    out
}

fn first_come_first_served(server: &Server) {
    let mut waiters: Vec<Conn> = (0..3).map(|_| server.conn()).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        w.send_raw(&Conn::encode(&[b"BLPOP", b"queue", b"0"]));
        wait_blocked(server, i + 1);
    }
    let mut producer = server.conn();
    assert_eq!(producer.call(&["RPUSH", "queue", "a", "b", "c"]), b":3\r\n");
    for (w, item) in waiters.iter_mut().zip(["a", "b", "c"]) {
        assert_eq!(w.read_reply(), bulk_array(&["queue", item]));
    }
    wait_blocked(server, 0);
    assert_eq!(producer.call(&["EXISTS", "queue"]), b":0\r\n");
}

#[test]
fn blocked_clients_are_served_in_arrival_order() {
    first_come_first_served(&Server::shoal(&[]));
    first_come_first_served(&Server::redis(&[]));
}

fn timeouts_and_unblock(server: &Server) {
    let mut c = server.conn();
    // A short timeout answers a null array (RESP2) and leaves nothing behind.
    assert_eq!(c.call(&["BLPOP", "nothing", "0.05"]), b"*-1\r\n");
    assert_eq!(c.call(&["BLMOVE", "nothing", "dst", "LEFT", "RIGHT", "0.05"]), b"*-1\r\n");
    // Inside MULTI, BLMOVE answers a null bulk instead.
    c.call(&["MULTI"]);
    c.call(&["BLMOVE", "nothing", "dst", "LEFT", "RIGHT", "0"]);
    assert_eq!(c.call(&["EXEC"]), b"*1\r\n$-1\r\n");
    c.call(&["HELLO", "3"]);
    assert_eq!(c.call(&["BLPOP", "nothing", "0.05"]), b"_\r\n");
    c.call(&["HELLO", "2"]);
    // CLIENT UNBLOCK: TIMEOUT answers like a timeout, ERROR with -UNBLOCKED.
    let id = String::from_utf8_lossy(&c.call(&["CLIENT", "ID"]))[1..].trim().to_string();
    let mut admin = server.conn();
    for (how, expected) in
        [("TIMEOUT", &b"*-1\r\n"[..]), ("ERROR", &b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"[..])]
    {
        c.send_raw(&Conn::encode(&[b"BLPOP", b"nothing", b"0"]));
        wait_blocked(server, 1);
        let list = admin.text(&["CLIENT", "LIST", "ID", &id]);
        assert!(list.contains("flags=b") && list.contains("cmd=blpop"), "CLIENT LIST of a blocked client: {list}");
        assert_eq!(admin.call(&["CLIENT", "UNBLOCK", &id, how]), b":1\r\n");
        assert_eq!(c.read_reply(), expected);
        wait_blocked(server, 0);
    }
    assert_eq!(admin.call(&["CLIENT", "UNBLOCK", &id]), b":0\r\n", "not blocked any more");
    // Errors of the timeout argument.
    assert_eq!(c.call(&["BLPOP", "k", "-1"]), b"-ERR timeout is negative\r\n");
    assert_eq!(c.call(&["BLPOP", "k", "abc"]), b"-ERR timeout is not a float or out of range\r\n");
}

#[test]
fn timeouts_and_client_unblock_answer_like_redis() {
    timeouts_and_unblock(&Server::shoal(&[]));
    timeouts_and_unblock(&Server::redis(&[]));
}

fn pipelined_and_disconnected(server: &Server) {
    // Commands pipelined behind a blocked one wait for it, then run in order.
    let mut c = server.conn();
    c.send_raw(&[Conn::encode(&[b"BLPOP", b"later", b"0"]), Conn::encode(&[b"PING"])].concat());
    wait_blocked(server, 1);
    let mut producer = server.conn();
    producer.call(&["LPUSH", "later", "x"]);
    assert_eq!(c.read_reply(), bulk_array(&["later", "x"]));
    assert_eq!(c.read_reply(), b"+PONG\r\n");
    // A blocked client that goes away leaves the queue: the next push is kept for the next reader.
    let mut gone = server.conn();
    gone.send_raw(&Conn::encode(&[b"BLPOP", b"later", b"0"]));
    wait_blocked(server, 1);
    drop(gone);
    wait_blocked(server, 0);
    producer.call(&["LPUSH", "later", "kept"]);
    assert_eq!(producer.call(&["LRANGE", "later", "0", "-1"]), bulk_array(&["kept"]));
}

#[test]
fn pipelined_commands_wait_and_disconnects_leave_the_queue() {
    pipelined_and_disconnected(&Server::shoal(&[]));
    pipelined_and_disconnected(&Server::redis(&[]));
}

fn transactions(server: &Server) {
    let mut c = server.conn();
    // Inside MULTI a blocking command does not block: it answers as if timed out.
    c.call(&["MULTI"]);
    c.call(&["BLPOP", "empty", "0"]);
    assert_eq!(c.call(&["EXEC"]), b"*1\r\n*-1\r\n");
    // A push inside a transaction wakes the blocked client after EXEC.
    let mut waiter = server.conn();
    waiter.send_raw(&Conn::encode(&[b"BRPOP", b"tx", b"0"]));
    wait_blocked(server, 1);
    c.call(&["MULTI"]);
    c.call(&["RPUSH", "tx", "1", "2"]);
    c.call(&["LLEN", "tx"]);
    assert_eq!(c.call(&["EXEC"]), b"*2\r\n:2\r\n:2\r\n");
    assert_eq!(waiter.read_reply(), bulk_array(&["tx", "2"]));
    wait_for(server, "the pop", |c| c.call(&["LLEN", "tx"]) == b":1\r\n");
    // BLMOVE: served from one list into another, which wakes the reader of the second.
    let mut second = server.conn();
    second.send_raw(&Conn::encode(&[b"BLPOP", b"stage2", b"0"]));
    wait_blocked(server, 1);
    let mut mover = server.conn();
    mover.send_raw(&Conn::encode(&[b"BLMOVE", b"stage1", b"stage2", b"LEFT", b"RIGHT", b"0"]));
    wait_blocked(server, 2);
    c.call(&["RPUSH", "stage1", "job"]);
    assert_eq!(mover.read_reply(), b"$3\r\njob\r\n");
    assert_eq!(second.read_reply(), bulk_array(&["stage2", "job"]));
}

#[test]
fn transactions_never_block_and_wake_blocked_clients() {
    transactions(&Server::shoal(&[]));
    transactions(&Server::redis(&[]));
}

fn other_keys_and_databases(server: &Server) {
    let mut waiter = server.conn();
    waiter.call(&["SELECT", "1"]);
    waiter.send_raw(&Conn::encode(&[b"BLPOP", b"a", b"b", b"0"]));
    wait_blocked(server, 1);
    let mut c = server.conn();
    // The same key in another database, and another key, do not serve it.
    c.call(&["RPUSH", "a", "db0"]);
    c.call(&["SELECT", "1"]);
    c.call(&["RPUSH", "c", "other"]);
    // A wrong-typed key of the right name keeps it waiting.
    c.call(&["SET", "a", "string"]);
    c.call(&["DEL", "a"]);
    c.call(&["RPUSH", "b", "served"]);
    assert_eq!(waiter.read_reply(), bulk_array(&["b", "served"]));
}

#[test]
fn only_the_awaited_keys_of_the_same_database_serve() {
    other_keys_and_databases(&Server::shoal(&[]));
    other_keys_and_databases(&Server::redis(&[]));
}

fn swapdb_serves(server: &Server) {
    let mut waiter = server.conn();
    waiter.send_raw(&Conn::encode(&[b"BLPOP", b"swapped", b"0"]));
    wait_blocked(server, 1);
    let mut c = server.conn();
    c.call(&["SELECT", "1"]);
    c.call(&["RPUSH", "swapped", "from-db1"]);
    assert_eq!(c.call(&["SWAPDB", "0", "1"]), b"+OK\r\n");
    assert_eq!(waiter.read_reply(), bulk_array(&["swapped", "from-db1"]));
}

#[test]
fn swapdb_serves_clients_blocked_on_the_swapped_in_keys() {
    swapdb_serves(&Server::shoal(&[]));
    swapdb_serves(&Server::redis(&[]));
}

/// Redis serves blocked clients right after the command that readied their keys, before the writer's next
/// command: a pipelined `RPUSH` + `EXISTS` sees the list already taken, and so does a separate round trip.
fn served_before_the_writer_goes_on(server: &Server) {
    let mut producer = server.conn();
    for round in 0..20 {
        let mut waiters: Vec<Conn> = (0..2).map(|_| server.conn()).collect();
        waiters[0].send_raw(&Conn::encode(&[b"BLPOP", b"hand-off", b"0"]));
        wait_blocked(server, 1);
        waiters[1].send_raw(&Conn::encode(&[b"BLMOVE", b"hand-off", b"second", b"LEFT", b"LEFT", b"0"]));
        wait_blocked(server, 2);
        if round % 2 == 0 {
            let batch = [
                Conn::encode(&[b"RPUSH", b"hand-off", b"a", b"b"]),
                Conn::encode(&[b"EXISTS", b"hand-off"]),
                Conn::encode(&[b"LRANGE", b"second", b"0", b"-1"]),
            ]
            .concat();
            producer.send_raw(&batch);
            assert_eq!(producer.read_reply(), b":2\r\n");
            assert_eq!(producer.read_reply(), b":0\r\n", "round {round}: the pushed list was still there");
            assert_eq!(producer.read_reply(), bulk_array(&["b"]));
        } else {
            assert_eq!(producer.call(&["RPUSH", "hand-off", "a", "b"]), b":2\r\n");
            assert_eq!(producer.call(&["EXISTS", "hand-off"]), b":0\r\n", "round {round}");
            assert_eq!(producer.call(&["LRANGE", "second", "0", "-1"]), bulk_array(&["b"]));
        }
        assert_eq!(waiters[0].read_reply(), bulk_array(&["hand-off", "a"]));
        assert_eq!(waiters[1].read_reply(), b"$1\r\nb\r\n");
        producer.call(&["DEL", "second"]);
    }
}

#[test]
fn blocked_clients_are_served_before_the_writer_goes_on() {
    served_before_the_writer_goes_on(&Server::shoal(&[]));
    served_before_the_writer_goes_on(&Server::redis(&[]));
}
