//! HyperLogLog: property tests against a real redis-server 7.0.15 and against exact sets.
//!
//! - random PFADD / PFCOUNT / PFMERGE / GET sequences (with changing `hll-sparse-max-bytes`) must give
//!   byte-identical replies on both servers, sketches included;
//! - random bytes after a valid header (corrupt sketches) never crash Shoal and answer as Redis does;
//! - estimates stay within HyperLogLog's error bounds of the exact distinct count, for single keys, unions
//!   (PFCOUNT over several keys) and PFMERGE;
//! - keyspace notifications of the three commands match Redis's.

mod support;

use std::cell::RefCell;
use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::{Conn, Server};

/// A redis-server and a shoal-server fed the same commands.
struct Pair {
    _redis: Server,
    _shoal: Server,
    r: Conn,
    s: Conn,
}

impl Pair {
    fn new() -> Pair {
        let redis = Server::redis(&[]);
        let shoal = Server::shoal(&[]);
        let (r, s) = (redis.conn(), shoal.conn());
        Pair { _redis: redis, _shoal: shoal, r, s }
    }

    /// Runs `args` on both servers; returns (redis, shoal) replies.
    fn run(&mut self, args: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        (self.r.call_bytes(args), self.s.call_bytes(args))
    }

    /// Runs `args` on both servers and asserts identical replies.
    fn same(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let (r, s) = self.run(args);
        assert_eq!(
            String::from_utf8_lossy(&s),
            String::from_utf8_lossy(&r),
            "reply differs from redis for {:?}",
            args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>()
        );
        r
    }
}

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn element(rng: &mut Rng, space: u64) -> Vec<u8> {
    let mut e = rng.below(space).to_string().into_bytes();
    let pad = rng.below(12) as usize;
    e.extend(std::iter::repeat_n(b'.', pad));
    e
}

#[test]
fn random_sequences_match_redis_byte_for_byte() {
    let mut p = Pair::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let keys: [&[u8]; 4] = [b"k0", b"k1", b"k2", b"k3"];
    for _ in 0..1500 {
        let key = keys[rng.below(4) as usize];
        match rng.below(20) {
            0..=8 => {
                let space = [8u64, 300, 1_000_000][rng.below(3) as usize];
                let max = if rng.below(8) == 0 { 400 } else { 12 };
                let n = rng.below(max);
                let elems: Vec<Vec<u8>> = (0..n).map(|_| element(&mut rng, space)).collect();
                let mut args: Vec<&[u8]> = vec![b"PFADD", key];
                args.extend(elems.iter().map(Vec::as_slice));
                p.same(&args);
            }
            9..=11 => {
                p.same(&[b"PFCOUNT", key]);
            }
            12 => {
                let other = keys[rng.below(4) as usize];
                p.same(&[b"PFCOUNT", key, other, b"missing"]);
            }
            13..=14 => {
                let a = keys[rng.below(4) as usize];
                let b = keys[rng.below(4) as usize];
                p.same(&[b"PFMERGE", key, a, b]);
            }
            15..=17 => {
                p.same(&[b"GET", key]);
            }
            18 => {
                let limit = ["0", "30", "200", "1000", "3000"][rng.below(5) as usize];
                p.same(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", limit.as_bytes()]);
            }
            _ => {
                if rng.below(4) == 0 {
                    p.same(&[b"DEL", key]);
                }
            }
        }
    }
    for key in keys {
        p.same(&[b"GET", key]);
    }
}

/// Whether a sparse sketch ends with an XZERO opcode cut after its first byte: Redis then reads (and later
/// writes) the byte past the string's end, which a Rust string cannot mirror, so only crash-freedom is
/// checked for those.
fn ends_with_cut_xzero(bytes: &[u8]) -> bool {
    let mut p = 16;
    while p < bytes.len() {
        let b = bytes[p];
        if b & 0xc0 == 0x40 {
            if p + 1 == bytes.len() {
                return true;
            }
            p += 2;
        } else {
            p += 1;
        }
    }
    false
}

/// Sparse opcodes that cover the registers exactly, then (unless `mutation` is 0) damaged a little: a byte
/// changed, a byte appended, or the last byte cut.
fn plausible_sparse(seed: u64, mutation: u8) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let mut body = Vec::new();
    let mut left = 16384u64;
    while left > 0 {
        match rng.below(4) {
            0 => {
                let len = rng.below(left.min(4)) + 1;
                body.push(0x80 | ((rng.below(32) as u8) << 2) | (len - 1) as u8);
                left -= len;
            }
            1 => {
                let len = rng.below(left.min(64)) + 1;
                body.push((len - 1) as u8);
                left -= len;
            }
            _ => {
                let len = rng.below(left.min(2000)) + 1;
                body.push(0x40 | ((len - 1) >> 8) as u8);
                body.push(((len - 1) & 0xff) as u8);
                left -= len;
            }
        }
    }
    let at = rng.below(body.len() as u64) as usize;
    match mutation {
        1 => body[at] = rng.next() as u8,
        2 => body.push(rng.next() as u8),
        3 => {
            body.pop();
        }
        _ => {}
    }
    body
}

#[test]
fn corrupt_sketches_never_crash_and_match_redis() {
    let pair = RefCell::new(Pair::new());
    let mut runner = TestRunner::new(Config { cases: 300, failure_persistence: None, ..Config::default() });
    // Sparse opcodes biased towards plausible runs, or a dense body of the right length.
    let sparse = proptest::collection::vec(
        prop_oneof![any::<u8>(), 0x40u8..0x80, Just(0x7fu8), Just(0xffu8), 0x80u8..=0xff,],
        0..40,
    )
    .prop_map(|ops| (true, ops));
    let dense = proptest::collection::vec(any::<u8>(), 12288).prop_map(|regs| (false, regs));
    let plausible = (any::<u64>(), 0u8..5).prop_map(|(seed, mutation)| (true, plausible_sparse(seed, mutation)));
    let strategy = (prop_oneof![2 => sparse, 1 => dense, 4 => plausible], any::<bool>(), 0u8..4);
    runner
        .run(&strategy, |((is_sparse, body), stale, script)| {
            let mut p = pair.borrow_mut();
            let mut value = b"HYLL".to_vec();
            value.push(u8::from(is_sparse));
            value.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 0, 0, 0, if stale { 0x80 } else { 0 }]);
            value.extend_from_slice(&body);
            let exact = !ends_with_cut_xzero(&value);
            let limit: &[u8] = [&b"3000"[..], b"0", b"25", b"3000"][usize::from(script)];
            p.same(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", limit]);
            p.same(&[b"FLUSHALL"]);
            p.same(&[b"SET", b"c", &value]);
            let steps: Vec<Vec<&[u8]>> = vec![
                vec![b"PFCOUNT", b"c"],
                vec![b"PFCOUNT", b"c", b"nosuch"],
                vec![b"PFMERGE", b"d", b"c"],
                vec![b"GET", b"d"],
                vec![b"PFADD", b"c", b"a", b"b", b"c", b"d", b"e", b"f", b"g"],
                vec![b"GET", b"c"],
                vec![b"PFCOUNT", b"c"],
                vec![b"PFMERGE", b"c", b"d"],
                vec![b"GET", b"c"],
                vec![b"PFCOUNT", b"c", b"d"],
            ];
            for args in &steps {
                if exact {
                    p.same(args);
                } else {
                    p.s.call_bytes(args);
                }
            }
            prop_assert_eq!(p.s.call(&["PING"]), b"+PONG\r\n".to_vec());
            Ok(())
        })
        .unwrap();
    let mut p = pair.borrow_mut();
    p.same(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"3000"]);
}

#[test]
fn saturated_dense_registers_match_redis() {
    // All registers at 63: the estimator divides by zero; Redis answers 2^63 reinterpreted as signed.
    let mut p = Pair::new();
    let mut value = b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
    value.extend(std::iter::repeat_n(0xffu8, 12288));
    p.same(&[b"SET", b"sat", &value]);
    for _ in 0..2 {
        p.same(&[b"PFCOUNT", b"sat"]);
        p.same(&[b"GET", b"sat"]);
    }
    p.same(&[b"PFCOUNT", b"sat", b"sat"]);
    p.same(&[b"PFMERGE", b"m", b"sat"]);
    p.same(&[b"PFCOUNT", b"m"]);
    // Registers of 51 only: the tau term alone.
    let mut value = b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
    for _ in 0..REGISTER_TRIPLES {
        // four 6-bit registers of 51 (0b110011) packed into three bytes
        value.extend_from_slice(&[0xf3, 0x3c, 0xcf]);
    }
    p.same(&[b"SET", b"r51", &value]);
    p.same(&[b"PFCOUNT", b"r51"]);
    p.same(&[b"GET", b"r51"]);
}

const REGISTER_TRIPLES: usize = 16384 / 4;

/// Adds `elems` to `key` in pipelined batches.
fn add_all(c: &mut Conn, key: &str, elems: &[String]) {
    let cmds: Vec<Vec<Vec<u8>>> = elems
        .chunks(500)
        .map(|chunk| {
            let mut cmd = vec![b"PFADD".to_vec(), key.as_bytes().to_vec()];
            cmd.extend(chunk.iter().map(|e| e.as_bytes().to_vec()));
            cmd
        })
        .collect();
    support::pipeline(c, &cmds);
}

fn int_reply(raw: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(raw);
    text.trim_start_matches(':').trim_end().parse().unwrap_or_else(|_| panic!("not an integer: {text}"))
}

/// Within HyperLogLog's error: the standard error is 1.04/sqrt(16384) = 0.81%; allow five of them, plus a
/// small absolute slack for tiny sets.
fn close(estimate: i64, exact: usize) -> bool {
    let exact = exact as f64;
    (estimate as f64 - exact).abs() <= 2.0 + exact * 0.0405
}

#[test]
fn estimates_stay_within_error_bounds() {
    let shoal = Server::shoal(&[]);
    let c = RefCell::new(shoal.conn());
    let mut runner = TestRunner::new(Config { cases: 24, failure_persistence: None, ..Config::default() });
    let strategy = (0usize..30_000, 0usize..30_000, any::<u64>(), 1u64..1_000_000);
    runner
        .run(&strategy, |(na, nb, seed, space)| {
            let mut c = c.borrow_mut();
            c.call(&["DEL", "a", "b", "u"]);
            let mut rng = Rng(seed | 1);
            let gen = |rng: &mut Rng, n: usize| -> Vec<String> {
                (0..n).map(|_| format!("x{}", rng.below(space.max(n as u64 * 2)))).collect()
            };
            let a = gen(&mut rng, na);
            let b = gen(&mut rng, nb);
            add_all(&mut c, "a", &a);
            add_all(&mut c, "b", &b);
            let set_a: BTreeSet<&String> = a.iter().collect();
            let set_b: BTreeSet<&String> = b.iter().collect();
            let union = set_a.union(&set_b).count();
            let ca = int_reply(&c.call(&["PFCOUNT", "a"]));
            let cb = int_reply(&c.call(&["PFCOUNT", "b"]));
            let cu = int_reply(&c.call(&["PFCOUNT", "a", "b"]));
            prop_assert!(close(ca, set_a.len()), "a: {} vs {}", ca, set_a.len());
            prop_assert!(close(cb, set_b.len()), "b: {} vs {}", cb, set_b.len());
            prop_assert!(close(cu, union), "union: {} vs {}", cu, union);
            prop_assert_eq!(c.call(&["PFMERGE", "u", "a", "b"]), b"+OK\r\n".to_vec());
            prop_assert_eq!(int_reply(&c.call(&["PFCOUNT", "u"])), cu);
            // Cached: the same answer again.
            prop_assert_eq!(int_reply(&c.call(&["PFCOUNT", "a"])), ca);
            Ok(())
        })
        .unwrap();
}

/// Collects the keyevent notifications a subscriber receives until the `done` marker.
fn events(c: &mut Conn) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let raw = String::from_utf8_lossy(&c.read_reply()).into_owned();
        if raw.contains("__keyevent@0__:set") {
            return out;
        }
        out.push(raw);
    }
}

#[test]
fn notifications_match_redis() {
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    let mut seen = Vec::new();
    for server in [&redis, &shoal] {
        let mut c = server.conn();
        c.call(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        let mut sub = server.conn();
        sub.call(&["PSUBSCRIBE", "__key*__:*"]);
        for cmd in [
            &["PFADD", "h", "a"][..],
            &["PFADD", "h", "a"],
            &["PFADD", "h"],
            &["PFCOUNT", "h"],
            &["PFCOUNT", "h"],
            &["PFCOUNT", "h", "nosuch"],
            &["PFMERGE", "d", "h"],
            &["PFMERGE", "d"],
            &["PFADD", "fresh"],
            &["SET", "marker", "x"],
        ] {
            c.call(cmd);
        }
        seen.push(events(&mut sub));
    }
    assert_eq!(seen[1], seen[0]);
    assert!(seen[0].iter().any(|e| e.contains("pfadd")));
}
