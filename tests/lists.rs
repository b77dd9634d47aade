//! Lists against the real binary: a model-based property test (random command sequences checked reply by
//! reply against a `VecDeque` model, with default and tiny node sizes, including keys expired by PEXPIREAT in
//! the past and TTLs that list writes keep), keyspace notifications compared
//! with redis-server, and blocking scenarios with several real clients compared with redis-server (FIFO
//! order, timeouts, BLMOVE/BLMPOP wakes, CLIENT UNBLOCK, MULTI, wrong types). Every wait has a deadline;
//! nothing asserts speed.

mod support;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::{Conn, Server};

const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------------------
// Model-based property test.

const KEYS: [&str; 2] = ["la", "lb"];

fn values() -> Vec<Vec<u8>> {
    vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), Vec::new(), vec![b'L'; 300], b"\x00\r\n".to_vec()]
}

#[derive(Clone, Debug)]
enum Op {
    Push {
        left: bool,
        only_existing: bool,
        key: usize,
        vals: Vec<usize>,
    },
    Pop {
        left: bool,
        key: usize,
        count: Option<i64>,
    },
    Index {
        key: usize,
        index: i64,
    },
    Set {
        key: usize,
        index: i64,
        val: usize,
    },
    Insert {
        key: usize,
        after: bool,
        pivot: usize,
        val: usize,
    },
    Rem {
        key: usize,
        count: i64,
        val: usize,
    },
    Trim {
        key: usize,
        start: i64,
        end: i64,
    },
    Range {
        key: usize,
        start: i64,
        end: i64,
    },
    Pos {
        key: usize,
        val: usize,
        rank: i64,
        count: Option<i64>,
        maxlen: i64,
    },
    Move {
        from: usize,
        to: usize,
        from_left: bool,
        to_left: bool,
    },
    Mpop {
        left: bool,
        count: i64,
    },
    /// PEXPIREAT in the past (the key is gone at once) or far in the future (a TTL that writes keep).
    Expire {
        key: usize,
        past: bool,
    },
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    let val = 0..values().len();
    prop_oneof![
        4 => (any::<bool>(), prop::bool::weighted(0.2), key.clone(), prop::collection::vec(val.clone(), 1..12))
            .prop_map(|(left, only_existing, key, vals)| Op::Push { left, only_existing, key, vals }),
        2 => (any::<bool>(), key.clone(), prop::option::of(0i64..5))
            .prop_map(|(left, key, count)| Op::Pop { left, key, count }),
        1 => (key.clone(), -8i64..8).prop_map(|(key, index)| Op::Index { key, index }),
        1 => (key.clone(), -8i64..8, val.clone()).prop_map(|(key, index, val)| Op::Set { key, index, val }),
        1 => (key.clone(), any::<bool>(), val.clone(), val.clone())
            .prop_map(|(key, after, pivot, val)| Op::Insert { key, after, pivot, val }),
        1 => (key.clone(), -3i64..4, val.clone()).prop_map(|(key, count, val)| Op::Rem { key, count, val }),
        1 => (key.clone(), -10i64..10, -10i64..10).prop_map(|(key, start, end)| Op::Trim { key, start, end }),
        2 => (key.clone(), -10i64..10, -10i64..10).prop_map(|(key, start, end)| Op::Range { key, start, end }),
        1 => (key.clone(), val, prop_oneof![-3i64..0, 1i64..4], prop::option::of(0i64..4), 0i64..6)
            .prop_map(|(key, val, rank, count, maxlen)| Op::Pos { key, val, rank, count, maxlen }),
        1 => (key.clone(), key.clone(), any::<bool>(), any::<bool>())
            .prop_map(|(from, to, from_left, to_left)| Op::Move { from, to, from_left, to_left }),
        1 => (any::<bool>(), 1i64..4).prop_map(|(left, count)| Op::Mpop { left, count }),
        1 => (key, prop::bool::weighted(0.3)).prop_map(|(key, past)| Op::Expire { key, past }),
    ]
}

fn bulk(v: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", v.len()).into_bytes();
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
    out
}

fn int(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

fn array<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let items: Vec<&[u8]> = items.into_iter().collect();
    let mut out = format!("*{}\r\n", items.len()).into_bytes();
    for i in items {
        out.extend_from_slice(&bulk(i));
    }
    out
}

fn side(left: bool) -> &'static str {
    if left {
        "LEFT"
    } else {
        "RIGHT"
    }
}

/// Redis's LRANGE/LTRIM normalisation: (first, count) or None.
fn norm_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    Some((s as usize, (e - s + 1) as usize))
}

fn norm_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { len as i64 + index } else { index };
    (i >= 0 && i < len as i64).then_some(i as usize)
}

type Model = HashMap<usize, VecDeque<Vec<u8>>>;

/// Applies `op` to the model (`ttl`: the keys with a TTL); returns the command line and the reply Redis gives.
fn apply(model: &mut Model, ttl: &mut std::collections::HashSet<usize>, op: &Op) -> (Vec<Vec<u8>>, Vec<u8>) {
    let vals = values();
    let s = |x: &str| x.as_bytes().to_vec();
    let n = |x: i64| x.to_string().into_bytes();
    let (cmd, reply) = match op {
        Op::Push { left, only_existing, key, vals: vs } => {
            let name = match (left, only_existing) {
                (true, false) => "LPUSH",
                (false, false) => "RPUSH",
                (true, true) => "LPUSHX",
                (false, true) => "RPUSHX",
            };
            let mut cmd = vec![s(name), s(KEYS[*key])];
            cmd.extend(vs.iter().map(|&v| vals[v].clone()));
            let reply = if *only_existing && !model.contains_key(key) {
                int(0)
            } else {
                let l = model.entry(*key).or_default();
                for &v in vs {
                    if *left {
                        l.push_front(vals[v].clone());
                    } else {
                        l.push_back(vals[v].clone());
                    }
                }
                int(l.len() as i64)
            };
            (cmd, reply)
        }
        Op::Pop { left, key, count } => {
            let mut cmd = vec![s(if *left { "LPOP" } else { "RPOP" }), s(KEYS[*key])];
            if let Some(c) = count {
                cmd.push(n(*c));
            }
            let reply = match (model.get_mut(key), count) {
                (None, None) => b"$-1\r\n".to_vec(),
                (None, Some(_)) => b"*-1\r\n".to_vec(),
                (Some(_), Some(0)) => b"*0\r\n".to_vec(),
                (Some(l), c) => {
                    let take = c.map_or(1, |c| (c as usize).min(l.len()));
                    let popped: Vec<Vec<u8>> =
                        (0..take).filter_map(|_| if *left { l.pop_front() } else { l.pop_back() }).collect();
                    if c.is_some() {
                        array(popped.iter().map(Vec::as_slice))
                    } else {
                        bulk(&popped[0])
                    }
                }
            };
            (cmd, reply)
        }
        Op::Index { key, index } => {
            let cmd = vec![s("LINDEX"), s(KEYS[*key]), n(*index)];
            let reply = model
                .get(key)
                .and_then(|l| norm_index(*index, l.len()).map(|i| bulk(&l[i])))
                .unwrap_or_else(|| b"$-1\r\n".to_vec());
            (cmd, reply)
        }
        Op::Set { key, index, val } => {
            let cmd = vec![s("LSET"), s(KEYS[*key]), n(*index), vals[*val].clone()];
            let reply = match model.get_mut(key) {
                None => b"-ERR no such key\r\n".to_vec(),
                Some(l) => match norm_index(*index, l.len()) {
                    Some(i) => {
                        l[i] = vals[*val].clone();
                        b"+OK\r\n".to_vec()
                    }
                    None => b"-ERR index out of range\r\n".to_vec(),
                },
            };
            (cmd, reply)
        }
        Op::Insert { key, after, pivot, val } => {
            let cmd = vec![
                s("LINSERT"),
                s(KEYS[*key]),
                s(if *after { "AFTER" } else { "BEFORE" }),
                vals[*pivot].clone(),
                vals[*val].clone(),
            ];
            let reply = match model.get_mut(key) {
                None => int(0),
                Some(l) => match l.iter().position(|e| *e == vals[*pivot]) {
                    None => int(-1),
                    Some(p) => {
                        l.insert(if *after { p + 1 } else { p }, vals[*val].clone());
                        int(l.len() as i64)
                    }
                },
            };
            (cmd, reply)
        }
        Op::Rem { key, count, val } => {
            let cmd = vec![s("LREM"), s(KEYS[*key]), n(*count), vals[*val].clone()];
            let mut removed = 0i64;
            if let Some(l) = model.get_mut(key) {
                let limit = if *count == 0 { i64::MAX } else { count.abs() };
                let mut idx: Vec<usize> = (0..l.len()).filter(|&i| l[i] == vals[*val]).collect();
                if *count < 0 {
                    idx.reverse();
                }
                idx.truncate(limit as usize);
                idx.sort_unstable();
                for i in idx.into_iter().rev() {
                    l.remove(i);
                    removed += 1;
                }
            }
            (cmd, int(removed))
        }
        Op::Trim { key, start, end } => {
            let cmd = vec![s("LTRIM"), s(KEYS[*key]), n(*start), n(*end)];
            if let Some(l) = model.get_mut(key) {
                match norm_range(*start, *end, l.len()) {
                    None => l.clear(),
                    Some((from, cnt)) => {
                        l.drain(from + cnt..);
                        l.drain(..from);
                    }
                }
            }
            (cmd, b"+OK\r\n".to_vec())
        }
        Op::Range { key, start, end } => {
            let cmd = vec![s("LRANGE"), s(KEYS[*key]), n(*start), n(*end)];
            let reply = match model.get(key).and_then(|l| norm_range(*start, *end, l.len()).map(|r| (l, r))) {
                None => b"*0\r\n".to_vec(),
                Some((l, (from, cnt))) => array(l.iter().skip(from).take(cnt).map(Vec::as_slice)),
            };
            (cmd, reply)
        }
        Op::Pos { key, val, rank, count, maxlen } => {
            let mut cmd = vec![s("LPOS"), s(KEYS[*key]), vals[*val].clone(), s("RANK"), n(*rank)];
            if let Some(c) = count {
                cmd.extend([s("COUNT"), n(*c)]);
            }
            cmd.extend([s("MAXLEN"), n(*maxlen)]);
            let reply = match model.get(key) {
                None if count.is_some() => b"*0\r\n".to_vec(),
                None => b"$-1\r\n".to_vec(),
                Some(l) => {
                    let len = l.len();
                    let order: Vec<usize> = if *rank < 0 { (0..len).rev().collect() } else { (0..len).collect() };
                    let scan = if *maxlen == 0 { len } else { (*maxlen as usize).min(len) };
                    let hits: Vec<usize> = order.into_iter().take(scan).filter(|&i| l[i] == vals[*val]).collect();
                    let skip = (rank.unsigned_abs() - 1) as usize;
                    match count {
                        None => hits.get(skip).map_or_else(|| b"$-1\r\n".to_vec(), |&i| int(i as i64)),
                        Some(c) => {
                            let take = if *c == 0 { usize::MAX } else { *c as usize };
                            let got: Vec<usize> = hits.into_iter().skip(skip).take(take).collect();
                            let mut out = format!("*{}\r\n", got.len()).into_bytes();
                            for i in got {
                                out.extend_from_slice(&int(i as i64));
                            }
                            out
                        }
                    }
                }
            };
            (cmd, reply)
        }
        Op::Move { from, to, from_left, to_left } => {
            let cmd = vec![s("LMOVE"), s(KEYS[*from]), s(KEYS[*to]), s(side(*from_left)), s(side(*to_left))];
            let popped = model.get_mut(from).and_then(|l| if *from_left { l.pop_front() } else { l.pop_back() });
            let reply = match popped {
                None => b"$-1\r\n".to_vec(),
                Some(v) => {
                    let d = model.entry(*to).or_default();
                    if *to_left {
                        d.push_front(v.clone());
                    } else {
                        d.push_back(v.clone());
                    }
                    bulk(&v)
                }
            };
            (cmd, reply)
        }
        Op::Mpop { left, count } => {
            let cmd = vec![s("LMPOP"), s("2"), s(KEYS[0]), s(KEYS[1]), s(side(*left)), s("COUNT"), n(*count)];
            let mut reply = b"*-1\r\n".to_vec();
            for (k, name) in KEYS.iter().enumerate() {
                if let Some(l) = model.get_mut(&k).filter(|l| !l.is_empty()) {
                    let take = (*count as usize).min(l.len());
                    let popped: Vec<Vec<u8>> =
                        (0..take).filter_map(|_| if *left { l.pop_front() } else { l.pop_back() }).collect();
                    reply = b"*2\r\n".to_vec();
                    reply.extend_from_slice(&bulk(name.as_bytes()));
                    reply.extend_from_slice(&array(popped.iter().map(Vec::as_slice)));
                    break;
                }
            }
            (cmd, reply)
        }
        Op::Expire { key, past } => {
            let at = if *past { "1" } else { "4102444800000" };
            let cmd = vec![s("PEXPIREAT"), s(KEYS[*key]), s(at)];
            let exists = model.contains_key(key);
            if exists {
                if *past {
                    model.remove(key);
                } else {
                    ttl.insert(*key);
                }
            }
            (cmd, int(i64::from(exists)))
        }
    };
    model.retain(|_, l| !l.is_empty());
    ttl.retain(|k| model.contains_key(k));
    (cmd, reply)
}

fn check_sequence(c: &mut Conn, ops: &[Op]) -> Result<(), TestCaseError> {
    prop_assert_eq!(c.call(&["FLUSHALL"]), b"+OK\r\n".to_vec());
    let mut model = Model::new();
    let mut ttl = std::collections::HashSet::new();
    for op in ops {
        let (cmd, want) = apply(&mut model, &mut ttl, op);
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        let got = c.call_bytes(&args);
        prop_assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "after {:?}",
            String::from_utf8_lossy(&cmd.join(&b' '))
        );
        for (k, name) in KEYS.iter().enumerate() {
            let len = model.get(&k).map_or(0, VecDeque::len) as i64;
            prop_assert_eq!(c.call(&["LLEN", name]), int(len));
            prop_assert_eq!(c.call(&["EXISTS", name]), int(i64::from(len > 0)));
            // The TTL survives every list write and goes with the key.
            let pttl = String::from_utf8_lossy(&c.call(&["PTTL", name])).into_owned();
            let want = match (len > 0, ttl.contains(&k)) {
                (false, _) => ":-2",
                (true, false) => ":-1",
                (true, true) => ":positive",
            };
            let got = if pttl.starts_with(":-") { pttl.trim_end() } else { ":positive" };
            prop_assert_eq!(got, want, "PTTL {}", name);
        }
    }
    // The whole content, both ways.
    for (k, name) in KEYS.iter().enumerate() {
        let want = model.get(&k).cloned().unwrap_or_default();
        prop_assert_eq!(c.call(&["LRANGE", name, "0", "-1"]), array(want.iter().map(Vec::as_slice)));
    }
    Ok(())
}

fn run_model(extra: &[&str], cases: u32) {
    let server = Server::shoal(extra);
    let c = std::cell::RefCell::new(server.conn());
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = prop::collection::vec(op_strategy(), 1..120);
    if let Err(e) = runner.run(&strategy, |ops| check_sequence(&mut c.borrow_mut(), &ops)) {
        panic!("{e}");
    }
}

#[test]
fn random_sequences_match_a_deque_model() {
    run_model(&[], 64);
}

#[test]
fn random_sequences_match_a_deque_model_with_tiny_nodes() {
    // Nodes of at most 3 entries: every command crosses node boundaries, splits and merges.
    run_model(&["--list-max-listpack-size", "3"], 64);
}

/// The same random sequences on redis-server and shoal-server: replies must be byte-identical (this also
/// checks the model's own reading of Redis's semantics).
#[test]
fn random_sequences_match_redis() {
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    let conns = std::cell::RefCell::new((redis.conn(), shoal.conn()));
    let mut runner = TestRunner::new(Config { cases: 32, failure_persistence: None, ..Config::default() });
    let strategy = prop::collection::vec(op_strategy(), 1..120);
    let result = runner.run(&strategy, |ops| {
        let (r, s) = &mut *conns.borrow_mut();
        r.call(&["FLUSHALL"]);
        s.call(&["FLUSHALL"]);
        let mut model = Model::new();
        let mut ttl = std::collections::HashSet::new();
        for op in &ops {
            let (cmd, _) = apply(&mut model, &mut ttl, op);
            let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
            let want = r.call_bytes(&args);
            let got = s.call_bytes(&args);
            prop_assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "after {:?}",
                String::from_utf8_lossy(&cmd.join(&b' '))
            );
        }
        for name in KEYS {
            prop_assert_eq!(s.call(&["LRANGE", name, "0", "-1"]), r.call(&["LRANGE", name, "0", "-1"]));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Keyspace notifications, compared with redis-server.

/// Runs `script` with a subscriber to every keyevent; returns the (event, key) pairs seen.
fn events_of(server: &Server, script: &[&[&str]]) -> Vec<(String, String)> {
    let mut ctl = server.conn();
    assert_eq!(ctl.call(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]), b"+OK\r\n");
    let mut sub = server.conn();
    sub.call(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    sub.call(&["SUBSCRIBE", "done"]);
    for cmd in script {
        ctl.call(cmd);
    }
    ctl.call(&["PUBLISH", "done", "x"]);
    let mut events = Vec::new();
    loop {
        let raw = sub.read_reply();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let parts: Vec<&str> = text.split("\r\n").collect();
        // pmessage: *4 $8 pmessage $pat pat $chan chan $key key
        if parts.get(2) == Some(&"message") {
            break;
        }
        let channel = parts.get(6).copied().unwrap_or_default();
        let key = parts.get(8).copied().unwrap_or_default();
        events.push((channel.trim_start_matches("__keyevent@0__:").to_string(), key.to_string()));
    }
    events
}

#[test]
fn keyspace_events_match_redis() {
    let script: &[&[&str]] = &[
        &["RPUSH", "l", "a", "b", "c", "d"],
        &["LPUSH", "l", "z"],
        &["LPUSHX", "nosuch", "a"],
        &["RPUSHX", "l", "e"],
        &["LPOP", "l"],
        &["RPOP", "l", "2"],
        &["LPOP", "l", "0"],
        &["LSET", "l", "0", "A"],
        &["LINSERT", "l", "BEFORE", "A", "B"],
        &["LINSERT", "l", "BEFORE", "nosuch", "B"],
        &["LREM", "l", "0", "nosuch"],
        &["LREM", "l", "1", "B"],
        &["LTRIM", "l", "0", "-1"],
        &["LTRIM", "l", "1", "1"],
        &["LMOVE", "l", "m", "LEFT", "RIGHT"],
        &["RPUSH", "l", "x", "y"],
        &["RPOPLPUSH", "l", "l"],
        &["LMOVE", "l", "m", "RIGHT", "LEFT"],
        &["LMOVE", "l", "m", "RIGHT", "LEFT"],
        &["LMPOP", "2", "l", "m", "LEFT", "COUNT", "1"],
        &["BLPOP", "m", "0"],
        &["RPUSH", "m", "1", "2", "3"],
        &["BRPOP", "m", "0"],
        &["BLMOVE", "m", "n", "LEFT", "LEFT", "0"],
        &["BRPOPLPUSH", "m", "n", "0"],
        &["BLMPOP", "0", "1", "n", "RIGHT", "COUNT", "5"],
        &["RPUSH", "t", "a", "b"],
        &["LTRIM", "t", "5", "10"],
        &["RPUSH", "t", "a", "a"],
        &["LREM", "t", "0", "a"],
        &["RPUSH", "t", "a"],
        &["RPOP", "t", "10"],
    ];
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    let want = events_of(&redis, script);
    assert!(want.len() > 20, "too few events from redis: {want:?}");
    assert_eq!(events_of(&shoal, script), want);
}

// ---------------------------------------------------------------------------------------------------------
// Blocking scenarios with several clients, compared with redis-server.

/// Waits until the server reports `n` blocked clients.
fn wait_blocked(ctl: &mut Conn, n: usize) {
    let start = Instant::now();
    let want = format!("blocked_clients:{n}\r\n");
    while !ctl.text(&["INFO", "clients"]).contains(&want) {
        assert!(start.elapsed() < DEADLINE, "never saw {want:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn send(c: &mut Conn, args: &[&str]) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    c.send_raw(&Conn::encode(&args));
}

fn text(raw: Vec<u8>) -> String {
    String::from_utf8_lossy(&raw).into_owned()
}

/// All blocking scenarios on one server; every reply in order.
fn blocking_scenarios(server: &Server) -> Vec<String> {
    let mut log = Vec::new();
    let mut ctl = server.conn();
    let mut c: Vec<Conn> = (0..3).map(|_| server.conn()).collect();

    // FIFO: three clients blocked on one key are served in arrival order.
    for (i, cl) in c.iter_mut().enumerate() {
        send(cl, &["BLPOP", "q", "0"]);
        wait_blocked(&mut ctl, i + 1);
    }
    log.push(text(ctl.call(&["RPUSH", "q", "a", "b", "c"])));
    for cl in c.iter_mut() {
        log.push(text(cl.read_reply()));
    }
    log.push(text(ctl.call(&["EXISTS", "q"])));

    // One element, two waiters: the first is served, the second keeps waiting for the next push.
    send(&mut c[0], &["BRPOP", "q1", "q", "0"]);
    wait_blocked(&mut ctl, 1);
    send(&mut c[1], &["BLPOP", "q", "0"]);
    wait_blocked(&mut ctl, 2);
    log.push(text(ctl.call(&["LPUSH", "q", "x"])));
    log.push(text(c[0].read_reply()));
    wait_blocked(&mut ctl, 1);
    log.push(text(ctl.call(&["RPUSH", "q", "y", "z"])));
    log.push(text(c[1].read_reply()));
    log.push(text(ctl.call(&["LRANGE", "q", "0", "-1"])));

    // Timeouts: null array, null bulk for the moves; RESP3 null.
    for cmd in [
        &["BLPOP", "t", "0.05"][..],
        &["BRPOP", "t", "t2", "0.05"],
        &["BLMPOP", "0.05", "1", "t", "LEFT"],
        &["BLMOVE", "t", "d", "LEFT", "LEFT", "0.05"],
        &["BRPOPLPUSH", "t", "d", "0.05"],
    ] {
        log.push(text(c[0].call(cmd)));
    }
    c[2].call(&["HELLO", "3"]);
    log.push(text(c[2].call(&["BLPOP", "t", "0.05"])));
    log.push(text(c[2].call(&["BLMOVE", "t", "d", "LEFT", "LEFT", "0.05"])));
    c[2].call(&["HELLO", "2"]);

    // BLMOVE and BRPOPLPUSH are woken, and move the element.
    send(&mut c[0], &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut ctl, 1);
    log.push(text(ctl.call(&["RPUSH", "src", "m1", "m2"])));
    log.push(text(c[0].read_reply()));
    send(&mut c[0], &["BRPOPLPUSH", "src2", "dst", "0"]);
    wait_blocked(&mut ctl, 1);
    log.push(text(ctl.call(&["RPUSH", "src2", "n1", "n2"])));
    log.push(text(c[0].read_reply()));
    log.push(text(ctl.call(&["LRANGE", "src", "0", "-1"])));
    log.push(text(ctl.call(&["LRANGE", "dst", "0", "-1"])));
    // A rotation onto the same key.
    send(&mut c[0], &["BLMOVE", "rot", "rot", "RIGHT", "LEFT", "0"]);
    wait_blocked(&mut ctl, 1);
    log.push(text(ctl.call(&["RPUSH", "rot", "r1"])));
    log.push(text(c[0].read_reply()));
    log.push(text(ctl.call(&["LRANGE", "rot", "0", "-1"])));

    // BLMPOP with COUNT on the second of its keys.
    send(&mut c[0], &["BLMPOP", "0", "2", "m1", "m2", "RIGHT", "COUNT", "3"]);
    wait_blocked(&mut ctl, 1);
    log.push(text(ctl.call(&["RPUSH", "m2", "a", "b", "c", "d"])));
    log.push(text(c[0].read_reply()));
    log.push(text(ctl.call(&["LRANGE", "m2", "0", "-1"])));

    // A push inside MULTI/EXEC wakes the client after EXEC, with the state EXEC left.
    send(&mut c[0], &["BLPOP", "tx", "0"]);
    wait_blocked(&mut ctl, 1);
    log.push(text(ctl.call(&["MULTI"])));
    log.push(text(ctl.call(&["LPUSH", "tx", "a"])));
    log.push(text(ctl.call(&["LPUSH", "tx", "b"])));
    log.push(text(ctl.call(&["EXEC"])));
    log.push(text(c[0].read_reply()));
    log.push(text(ctl.call(&["LRANGE", "tx", "0", "-1"])));
    // A transaction that pushes and pops again serves nobody.
    send(&mut c[0], &["BLPOP", "tx2", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.call(&["MULTI"]);
    ctl.call(&["RPUSH", "tx2", "a"]);
    ctl.call(&["RPOP", "tx2"]);
    log.push(text(ctl.call(&["EXEC"])));
    wait_blocked(&mut ctl, 1);
    log.push(text(ctl.call(&["RPUSH", "tx2", "late"])));
    log.push(text(c[0].read_reply()));

    // MULTI with a blocking pop does not block.
    log.push(text(c[0].call(&["MULTI"])));
    log.push(text(c[0].call(&["BLPOP", "nothing", "0"])));
    log.push(text(c[0].call(&["BLMOVE", "nothing", "d", "LEFT", "LEFT", "0"])));
    log.push(text(c[0].call(&["EXEC"])));

    // A key that turns into another type keeps the client blocked.
    send(&mut c[0], &["BLPOP", "w", "0"]);
    wait_blocked(&mut ctl, 1);
    log.push(text(ctl.call(&["SET", "w", "str"])));
    log.push(text(ctl.call(&["DEL", "w"])));
    log.push(text(ctl.call(&["RPUSH", "w", "v"])));
    log.push(text(c[0].read_reply()));

    // CLIENT UNBLOCK: TIMEOUT answers the timeout reply, ERROR the UNBLOCKED error.
    let id = text(c[0].call(&["CLIENT", "ID"]));
    let id = id.trim_start_matches(':').trim_end();
    send(&mut c[0], &["BLPOP", "u", "0"]);
    wait_blocked(&mut ctl, 1);
    log.push(text(ctl.call(&["CLIENT", "UNBLOCK", id])));
    log.push(text(c[0].read_reply()));
    send(&mut c[0], &["BLMOVE", "u", "d", "LEFT", "LEFT", "0"]);
    wait_blocked(&mut ctl, 1);
    log.push(text(ctl.call(&["CLIENT", "UNBLOCK", id, "TIMEOUT"])));
    log.push(text(c[0].read_reply()));
    send(&mut c[0], &["BLMPOP", "0", "1", "u", "LEFT"]);
    wait_blocked(&mut ctl, 1);
    log.push(text(ctl.call(&["CLIENT", "UNBLOCK", id, "ERROR"])));
    log.push(text(c[0].read_reply()));
    log.push(text(ctl.call(&["CLIENT", "UNBLOCK", id])));
    wait_blocked(&mut ctl, 0);
    // The client is usable afterwards.
    log.push(text(c[0].call(&["PING"])));
    log
}

#[test]
fn blocking_scenarios_match_redis() {
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    let want = blocking_scenarios(&redis);
    let got = blocking_scenarios(&shoal);
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(g, w, "reply #{i} differs");
    }
    assert_eq!(got.len(), want.len());
}

#[test]
fn blocking_move_to_a_wrong_type_destination_matches_redis() {
    fn scenario(server: &Server) -> Vec<String> {
        let mut ctl = server.conn();
        let mut c = server.conn();
        let mut log = Vec::new();
        send(&mut c, &["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]);
        wait_blocked(&mut ctl, 1);
        log.push(text(ctl.call(&["SET", "dst", "x"])));
        log.push(text(ctl.call(&["RPUSH", "src", "a"])));
        log.push(text(c.read_reply()));
        log.push(text(ctl.call(&["LRANGE", "src", "0", "-1"])));
        log.push(text(ctl.call(&["GET", "dst"])));
        log
    }
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    assert_eq!(scenario(&shoal), scenario(&redis));
}

#[test]
fn watch_sees_list_writes_like_redis() {
    fn scenario(server: &Server) -> Vec<String> {
        let mut a = server.conn();
        let mut b = server.conn();
        let mut log = Vec::new();
        a.call(&["RPUSH", "w", "x", "y"]);
        // (command run by the other client, whether it invalidates the WATCH)
        for cmd in [
            &["LTRIM", "w", "0", "-1"][..],
            &["LREM", "w", "0", "nothing"],
            &["LINSERT", "w", "BEFORE", "nothing", "z"],
            &["LPOP", "w", "0"],
            &["LPUSHX", "w2", "z"],
            &["LSET", "w", "0", "x"],
            &["LMOVE", "w", "w", "LEFT", "RIGHT"],
        ] {
            log.push(text(a.call(&["WATCH", "w", "w2"])));
            log.push(text(b.call(cmd)));
            log.push(text(a.call(&["MULTI"])));
            log.push(text(a.call(&["LLEN", "w"])));
            log.push(text(a.call(&["EXEC"])));
        }
        log
    }
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    assert_eq!(scenario(&shoal), scenario(&redis));
}

#[test]
fn keyspace_events_of_served_blocked_clients_match_redis() {
    fn scenario(server: &Server) -> Vec<(String, String)> {
        let mut ctl = server.conn();
        assert_eq!(ctl.call(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]), b"+OK\r\n");
        let mut sub = server.conn();
        sub.call(&["PSUBSCRIBE", "__keyevent@0__:*"]);
        sub.call(&["SUBSCRIBE", "done"]);
        let mut c = server.conn();
        for (block, push) in [
            (&["BLPOP", "b1", "0"][..], &["RPUSH", "b1", "x"][..]),
            (&["BRPOP", "b1", "0"], &["RPUSH", "b1", "x", "y"]),
            (&["BLMOVE", "b2", "b3", "LEFT", "RIGHT", "0"], &["RPUSH", "b2", "x"]),
            (&["BRPOPLPUSH", "b2", "b3", "0"], &["LPUSH", "b2", "x", "y"]),
            (&["BLMPOP", "0", "2", "b4", "b5", "LEFT", "COUNT", "2"], &["RPUSH", "b5", "x", "y"]),
        ] {
            send(&mut c, block);
            wait_blocked(&mut ctl, 1);
            ctl.call(push);
            c.read_reply();
        }
        ctl.call(&["PUBLISH", "done", "x"]);
        let mut events = Vec::new();
        loop {
            let text = text(sub.read_reply());
            let parts: Vec<&str> = text.split("\r\n").collect();
            if parts.get(2) == Some(&"message") {
                break;
            }
            let channel = parts.get(6).copied().unwrap_or_default();
            events.push((channel.to_string(), parts.get(8).copied().unwrap_or_default().to_string()));
        }
        events
    }
    let redis = Server::redis(&[]);
    let shoal = Server::shoal(&[]);
    let want = scenario(&redis);
    assert!(want.len() > 10, "{want:?}");
    assert_eq!(scenario(&shoal), want);
}
