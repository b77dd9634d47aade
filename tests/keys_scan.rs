//! SCAN's guarantee through a real socket: every key present for the whole iteration is returned at least
//! once, even while other keys are added (tables grow and rehash) and deleted (tables shrink) between calls.

mod support;

use std::collections::HashSet;

use shoal::protocol::value::RespValue;
use support::{pipeline, Server};

fn cmd(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

#[test]
fn scan_returns_every_stable_key_while_keys_are_added_and_deleted() {
    const STABLE: usize = 5000;
    for cluster in [false, true] {
        let server = if cluster { Server::shoal_single_node_cluster(&[]) } else { Server::shoal(&[]) };
        let mut c = server.conn();
        let stable: Vec<_> = (0..STABLE).map(|i| cmd(&["SET", &format!("stable:{i}"), "v"])).collect();
        let doomed: Vec<_> = (0..STABLE).map(|i| cmd(&["SET", &format!("doomed:{i}"), "v"])).collect();
        pipeline(&mut c, &stable);
        pipeline(&mut c, &doomed);

        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let mut cursor = b"0".to_vec();
        let (mut added, mut deleted) = (0usize, 0usize);
        let mut calls = 0;
        loop {
            calls += 1;
            assert!(calls < 100_000, "SCAN did not terminate");
            let raw = c.call_bytes(&[b"SCAN", &cursor, b"COUNT", b"20"]);
            let Some((RespValue::Array(reply), _)) = RespValue::parse(&raw) else { panic!("bad SCAN reply {raw:?}") };
            let [RespValue::Bulk(next), RespValue::Array(keys)] = reply.as_slice() else {
                panic!("bad SCAN reply {raw:?}")
            };
            for k in keys {
                if let RespValue::Bulk(k) = k {
                    seen.insert(k.clone());
                }
            }
            // Between calls: grow the keyspace (forces rehashing) and delete other keys (forces shrinking).
            if added < 20_000 {
                let grow: Vec<_> = (added..added + 40).map(|i| cmd(&["SET", &format!("new:{i}"), "v"])).collect();
                pipeline(&mut c, &grow);
                added += 40;
            }
            if deleted < STABLE {
                let shrink: Vec<_> = (deleted..deleted + 30).map(|i| cmd(&["DEL", &format!("doomed:{i}")])).collect();
                pipeline(&mut c, &shrink);
                deleted += 30;
            }
            if next.as_slice() == b"0" {
                break;
            }
            cursor = next.clone();
        }
        assert!(calls > 100, "the scan must be interleaved with writes (took {calls} calls)");
        let missing: Vec<usize> = (0..STABLE).filter(|i| !seen.contains(format!("stable:{i}").as_bytes())).collect();
        assert!(missing.is_empty(), "{} stable keys never returned, e.g. stable:{}", missing.len(), missing[0]);
    }
}
