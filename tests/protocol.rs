//! Protocol edge cases over raw sockets, compared byte for byte with a real redis-server: malformed frames,
//! limits, inline commands, pipelining and partial frames. A protocol error closes only the offending
//! connection; other clients carry on.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use support::Server;

/// Sends `input` and collects everything the server answers until it closes or stays quiet for `quiet`.
fn exchange(port: u16, input: &[u8], quiet: Duration) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(quiet)).expect("timeout");
    s.write_all(input).expect("write");
    let mut out = Vec::new();
    let mut chunk = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(_) => return (out, false),
        }
        if Instant::now() > deadline {
            return (out, false);
        }
    }
}

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        ("inline ping", b"PING\r\n".to_vec()),
        ("inline with quotes", b"ECHO \"a b\\x41\"\r\nECHO 'c d'\n".to_vec()),
        ("inline unbalanced quotes", b"ECHO \"abc\r\nPING\r\n".to_vec()),
        ("empty inline lines", b"\r\n\n   \r\nPING\r\n".to_vec()),
        ("pipelined mix", b"*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n".to_vec()),
        ("zero and negative multibulk", b"*0\r\n*-1\r\nPING\r\n".to_vec()),
        ("bad multibulk length", b"*abc\r\n".to_vec()),
        ("multibulk with plus", b"*+1\r\n$4\r\nPING\r\n".to_vec()),
        ("multibulk over int max", b"*2147483648\r\n".to_vec()),
        ("expected dollar", b"*1\r\nX\r\n".to_vec()),
        ("bad bulk length", b"*1\r\n$-1\r\n".to_vec()),
        ("bulk over proto-max-bulk-len", b"*1\r\n$536870913\r\n".to_vec()),
        ("bulk with leading zero", b"*1\r\n$04\r\nPING\r\n".to_vec()),
        ("unchecked bytes after payload", b"*1\r\n$4\r\nPINGxx".to_vec()),
        ("reply before the error", b"PING\r\n*1\r\n$x\r\n".to_vec()),
        ("binary-safe echo", b"*2\r\n$4\r\nECHO\r\n$3\r\n\x00\r\n\r\n".to_vec()),
        ("incomplete frame waits", b"*2\r\n$4\r\nECHO\r\n$10\r\nabc".to_vec()),
    ];
    v.push(("too big inline request", vec![b'a'; 70 * 1024]));
    let mut big_count = b"*".to_vec();
    big_count.extend(std::iter::repeat_n(b'1', 70 * 1024));
    v.push(("too big mbulk count string", big_count));
    let mut big_bulk = b"*1\r\n$".to_vec();
    big_bulk.extend(std::iter::repeat_n(b'1', 70 * 1024));
    v.push(("too big bulk count string", big_bulk));
    v
}

#[test]
fn malformed_and_edge_case_input_matches_redis() {
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    let mut failures = Vec::new();
    for (name, input) in cases() {
        let expected = exchange(redis.port, &input, Duration::from_millis(300));
        let got = exchange(shoal.port, &input, Duration::from_millis(300));
        if expected != got {
            failures.push(format!(
                "{name}:\n  redis: {:?} closed={}\n  shoal: {:?} closed={}",
                String::from_utf8_lossy(&expected.0),
                expected.1,
                String::from_utf8_lossy(&got.0),
                got.1
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unauthenticated_limits_match_redis() {
    let redis = Server::redis(&["--requirepass", "secret"]);
    let shoal = Server::shoal(&["--requirepass", "secret"]);
    for input in [&b"*11\r\n"[..], b"*1\r\n$16385\r\n", b"GET a\r\n", b"AUTH wrong\r\n", b"AUTH secret\r\nPING\r\n"] {
        let expected = exchange(redis.port, input, Duration::from_millis(300));
        let got = exchange(shoal.port, input, Duration::from_millis(300));
        assert_eq!(
            String::from_utf8_lossy(&expected.0),
            String::from_utf8_lossy(&got.0),
            "input {:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(expected.1, got.1, "close behaviour for {:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn a_bad_client_does_not_disturb_others() {
    let shoal = Server::shoal(&[]);
    let mut good = shoal.conn();
    // One client sends junk, one stops mid-frame and half-closes, one sends a huge declared bulk.
    let (junk, closed) = exchange(shoal.port, b"*1\r\n$x\r\n", Duration::from_millis(300));
    assert!(closed && junk.starts_with(b"-ERR Protocol error"));
    let mut half = TcpStream::connect(("127.0.0.1", shoal.port)).expect("connect");
    half.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk").expect("write");
    half.shutdown(Shutdown::Write).expect("half close");
    let mut huge = TcpStream::connect(("127.0.0.1", shoal.port)).expect("connect");
    huge.write_all(b"*2\r\n$4\r\nECHO\r\n$536870912\r\nabc").expect("write");
    for _ in 0..100 {
        assert_eq!(good.call(&["PING"]), b"+PONG\r\n");
    }
    assert_eq!(good.call(&["ECHO", "still here"]), b"$10\r\nstill here\r\n");
    // Random binary junk on many connections never takes the server down.
    for seed in 0..50u64 {
        let junk: Vec<u8> = (0..512).map(|i| ((seed * 7919 + i * 31) % 251) as u8).collect();
        let _ = exchange(shoal.port, &junk, Duration::from_millis(20));
    }
    assert_eq!(good.call(&["PING"]), b"+PONG\r\n");
}

#[test]
fn large_pipelines_and_partial_writes_are_answered_in_order() {
    let shoal = Server::shoal(&[]);
    let mut c = shoal.conn();
    let mut batch = Vec::new();
    for i in 0..10_000 {
        batch.extend_from_slice(&support::Conn::encode(&[b"ECHO", format!("m{i}").as_bytes()]));
    }
    // Send in odd-sized pieces so frames are split everywhere.
    for piece in batch.chunks(777) {
        c.send_raw(piece);
    }
    for i in 0..10_000 {
        let expected = format!("m{i}");
        assert_eq!(c.read_reply(), format!("${}\r\n{expected}\r\n", expected.len()).into_bytes());
    }
}
