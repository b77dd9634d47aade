//! Keyspace behaviour through the real server: active expiry reclaims keys nobody reads, and multi-key
//! commands are atomic against concurrent clients (SCAN's guarantee: tests/keys_scan.rs).

mod support;

use std::time::{Duration, Instant};

use shoal::protocol::value::RespValue;
use support::{pipeline, Conn, Server};

#[test]
fn active_expiry_reclaims_unread_keys_in_both_modes() {
    for cluster in [false, true] {
        let server = if cluster { Server::shoal_single_node_cluster(&[]) } else { Server::shoal(&[]) };
        let mut c = server.conn();
        let commands: Vec<Vec<Vec<u8>>> = (0..100_000)
            .map(|i| {
                vec![b"SET".to_vec(), format!("v:{i}").into_bytes(), b"x".to_vec(), b"PX".to_vec(), b"200".to_vec()]
            })
            .collect();
        for chunk in commands.chunks(10_000) {
            pipeline(&mut c, chunk);
        }
        c.call(&["SET", "persistent", "1"]);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if c.call(&["DBSIZE"]) == b":1\r\n" {
                break;
            }
            assert!(Instant::now() < deadline, "keys were not reclaimed by active expiry");
            std::thread::sleep(Duration::from_millis(50));
        }
        let info = c.text(&["INFO", "stats"]);
        assert!(info.contains("expired_keys:100000"), "{info}");
    }
}

#[test]
fn mset_is_atomic_against_concurrent_readers() {
    let server = Server::shoal(&[]);
    let port = server.port;
    let writer = std::thread::spawn(move || {
        let mut c = Conn::connect(port);
        for i in 0..2000 {
            let v = i.to_string();
            // Keys spread over many shards: the whole MSET must appear at once.
            c.call(&["MSET", "a", &v, "b{x}", &v, "c{y}", &v, "d{z}", &v]);
        }
    });
    let mut r = server.conn();
    for _ in 0..2000 {
        if let RespValue::Array(vals) = r.value(&["MGET", "a", "b{x}", "c{y}", "d{z}"]) {
            let first = &vals[0];
            assert!(vals.iter().all(|v| v == first), "torn MSET observed: {vals:?}");
        }
    }
    writer.join().expect("writer");
}
