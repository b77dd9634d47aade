//! Sorted sets through real sockets: a model-based test (seeded random operation sequences checked against a
//! BTreeMap model, in both encodings), ZRANK/ZREVRANK WITHSCORE (Redis 7.2's form, which the 7.0 reference
//! cannot answer), keyspace notifications, blocking pops with two clients, and ZSCAN over a large set.

mod support;

use std::collections::{BTreeMap, HashSet};

use shoal::num::format_f64_g17;
use shoal::protocol::value::RespValue;
use support::{Conn, Server};

fn val(raw: &[u8]) -> RespValue {
    RespValue::parse(raw).map(|(v, _)| v).expect("valid reply")
}

/// A flat reply of bulks/ints/doubles as strings (nested arrays flattened).
fn flat(v: &RespValue) -> Vec<String> {
    match v {
        RespValue::Array(items) | RespValue::Set(items) => items.iter().flat_map(flat).collect(),
        RespValue::Bulk(b) | RespValue::Double(b) | RespValue::Simple(b) => {
            vec![String::from_utf8_lossy(b).into_owned()]
        }
        RespValue::Int(n) => vec![n.to_string()],
        RespValue::Null => vec!["(nil)".into()],
        RespValue::Error(e) => vec![format!("ERR:{}", String::from_utf8_lossy(e))],
        other => vec![format!("{other:?}")],
    }
}

fn call(c: &mut Conn, args: &[String]) -> Vec<String> {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    flat(&val(&c.call_bytes(&a)))
}

/// The model of one sorted set: member -> score.
#[derive(Default, Clone)]
struct Model(BTreeMap<String, f64>);

impl Model {
    /// Entries in (score, member) order.
    fn sorted(&self) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self.0.iter().map(|(m, s)| (m.clone(), *s)).collect();
        v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

fn clamp(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let n = len as i64;
    let s = if start < 0 { (n + start).max(0) } else { start };
    let e = if end < 0 { n + end } else { end };
    if s > e || s >= n {
        return None;
    }
    Some((s as usize, e.min(n - 1) as usize))
}

fn fmt(s: f64) -> String {
    format_f64_g17(s)
}

fn with_scores(entries: &[(String, f64)]) -> Vec<String> {
    entries.iter().flat_map(|(m, s)| [m.clone(), fmt(*s)]).collect()
}

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn run_model(c: &mut Conn, seed: u64, steps: usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let keys = ["za", "zb"];
    let mut models: BTreeMap<&str, Model> = BTreeMap::new();
    let score_of = |rng: &mut fastrand::Rng| -> f64 {
        match rng.u8(..10) {
            0 => 0.5 * f64::from(rng.i32(-6..6)),
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            _ => f64::from(rng.i32(-5..5)),
        }
    };
    let bound = |rng: &mut fastrand::Rng| -> (String, f64, bool) {
        let s = f64::from(rng.i32(-6..6));
        let ex = rng.bool();
        (format!("{}{}", if ex { "(" } else { "" }, fmt(s)), s, ex)
    };
    for step in 0..steps {
        let key = keys[rng.usize(..keys.len())];
        let m = models.entry(key).or_default();
        let member = format!("m{}", rng.u8(..30));
        let ctx = format!("seed {seed} step {step}");
        match rng.u8(..13) {
            0 | 1 => {
                let (nx, xx, gt, lt, ch) =
                    (rng.u8(..5) == 0, rng.u8(..5) == 0, rng.u8(..5) == 0, rng.u8(..5) == 0, rng.bool());
                if (nx && (xx || gt || lt)) || (gt && lt) {
                    continue;
                }
                let n = rng.usize(1..4);
                let mut a = args(&["ZADD", key]);
                for (f, on) in [("NX", nx), ("XX", xx), ("GT", gt), ("LT", lt), ("CH", ch)] {
                    if on {
                        a.push(f.into());
                    }
                }
                let mut added = 0;
                let mut changed = 0;
                let mut seen = HashSet::new();
                for _ in 0..n {
                    let mem = format!("m{}", rng.u8(..30));
                    let s = score_of(&mut rng);
                    a.push(fmt(s));
                    a.push(mem.clone());
                    seen.insert(mem.clone());
                    match m.0.get(&mem).copied() {
                        Some(cur) => {
                            if nx || (gt && s <= cur) || (lt && s >= cur) {
                                continue;
                            }
                            if s != cur {
                                changed += 1;
                                m.0.insert(mem, s);
                            }
                        }
                        None if !xx => {
                            added += 1;
                            m.0.insert(mem, s);
                        }
                        None => {}
                    }
                }
                let got = call(c, &a);
                let want = if ch { added + changed } else { added };
                // A member repeated within one ZADD counts per occurrence in Redis too.
                if seen.len() == n {
                    assert_eq!(got, vec![want.to_string()], "{ctx}: {a:?}");
                }
            }
            2 => {
                let inc = f64::from(rng.i32(-3..4));
                let got = call(c, &args(&["ZINCRBY", key, &fmt(inc), &member]));
                let cur = m.0.get(&member).copied().unwrap_or(0.0);
                let new = cur + inc;
                if new.is_nan() {
                    assert!(got[0].starts_with("ERR:"), "{ctx}");
                } else {
                    m.0.insert(member.clone(), new);
                    assert_eq!(got, vec![fmt(new)], "{ctx}");
                }
            }
            3 => {
                let got = call(c, &args(&["ZREM", key, &member, "m99"]));
                let n = i64::from(m.0.remove(&member).is_some());
                assert_eq!(got, vec![n.to_string()], "{ctx}");
            }
            4 => {
                let rev = rng.bool();
                let got = call(c, &args(&[if rev { "ZREVRANK" } else { "ZRANK" }, key, &member]));
                let sorted = m.sorted();
                let want = match sorted.iter().position(|e| e.0 == member) {
                    Some(r) => (if rev { sorted.len() - 1 - r } else { r }).to_string(),
                    None => "(nil)".into(),
                };
                assert_eq!(got, vec![want], "{ctx}");
            }
            5 => {
                let (a, b) = (rng.i64(-12..12), rng.i64(-12..12));
                let rev = rng.bool();
                let mut cmd = args(&["ZRANGE", key, &a.to_string(), &b.to_string()]);
                if rev {
                    cmd.push("REV".into());
                }
                cmd.push("WITHSCORES".into());
                let got = call(c, &cmd);
                let mut sorted = m.sorted();
                if rev {
                    sorted.reverse();
                }
                let want = clamp(a, b, sorted.len()).map_or(vec![], |(s, e)| with_scores(&sorted[s..=e]));
                assert_eq!(got, want, "{ctx}: {cmd:?}");
            }
            6 => {
                let (lo, lov, loex) = bound(&mut rng);
                let (hi, hiv, hiex) = bound(&mut rng);
                let rev = rng.bool();
                let limit = rng.bool().then(|| (rng.i64(-1..4), rng.i64(-1..4)));
                let mut cmd = if rev {
                    args(&["ZREVRANGEBYSCORE", key, &hi, &lo, "WITHSCORES"])
                } else {
                    args(&["ZRANGEBYSCORE", key, &lo, &hi, "WITHSCORES"])
                };
                if let Some((o, l)) = limit {
                    cmd.extend(args(&["LIMIT", &o.to_string(), &l.to_string()]));
                }
                let got = call(c, &cmd);
                let mut inside: Vec<(String, f64)> = m
                    .sorted()
                    .into_iter()
                    .filter(|(_, s)| {
                        (if loex { *s > lov } else { *s >= lov }) && (if hiex { *s < hiv } else { *s <= hiv })
                    })
                    .collect();
                if rev {
                    inside.reverse();
                }
                if let Some((o, l)) = limit {
                    inside = if o < 0 {
                        vec![]
                    } else {
                        let rest: Vec<_> = inside.into_iter().skip(o as usize).collect();
                        if l < 0 {
                            rest
                        } else {
                            rest.into_iter().take(l as usize).collect()
                        }
                    };
                }
                assert_eq!(got, with_scores(&inside), "{ctx}: {cmd:?}");
                let count = call(c, &args(&["ZCOUNT", key, &lo, &hi]));
                let n =
                    m.0.values()
                        .filter(|s| {
                            (if loex { **s > lov } else { **s >= lov }) && (if hiex { **s < hiv } else { **s <= hiv })
                        })
                        .count();
                assert_eq!(count, vec![n.to_string()], "{ctx}: zcount {lo} {hi}");
            }
            7 => {
                let (a, b) = (rng.i64(-6..6), rng.i64(-6..6));
                let got = call(c, &args(&["ZREMRANGEBYRANK", key, &a.to_string(), &b.to_string()]));
                let sorted = m.sorted();
                let gone = clamp(a, b, sorted.len()).map_or(vec![], |(s, e)| sorted[s..=e].to_vec());
                for (mem, _) in &gone {
                    m.0.remove(mem);
                }
                assert_eq!(got, vec![gone.len().to_string()], "{ctx}");
            }
            8 => {
                let (lo, lov, loex) = bound(&mut rng);
                let (hi, hiv, hiex) = bound(&mut rng);
                let got = call(c, &args(&["ZREMRANGEBYSCORE", key, &lo, &hi]));
                let before = m.0.len();
                m.0.retain(|_, s| {
                    !((if loex { *s > lov } else { *s >= lov }) && (if hiex { *s < hiv } else { *s <= hiv }))
                });
                assert_eq!(got, vec![(before - m.0.len()).to_string()], "{ctx}");
            }
            9 => {
                let max = rng.bool();
                let n = rng.usize(1..4);
                let got = call(c, &args(&[if max { "ZPOPMAX" } else { "ZPOPMIN" }, key, &n.to_string()]));
                let mut sorted = m.sorted();
                if max {
                    sorted.reverse();
                }
                sorted.truncate(n);
                for (mem, _) in &sorted {
                    m.0.remove(mem);
                }
                assert_eq!(got, with_scores(&sorted), "{ctx}");
            }
            10 => {
                let got = call(c, &args(&["ZSCORE", key, &member]));
                let want = m.0.get(&member).map_or("(nil)".to_string(), |s| fmt(*s));
                assert_eq!(got, vec![want], "{ctx}");
                let card = call(c, &args(&["ZCARD", key]));
                assert_eq!(card, vec![m.0.len().to_string()], "{ctx}");
            }
            11 => {
                // Lex ranges on a set whose scores are all 0.
                let lk = "lex";
                let lm = models.entry(lk).or_default();
                lm.0.insert(member.clone(), 0.0);
                call(c, &args(&["ZADD", lk, "0", &member]));
                let pick = |rng: &mut fastrand::Rng| -> String {
                    match rng.u8(..6) {
                        0 => "-".into(),
                        1 => "+".into(),
                        2 => format!("(m{}", rng.u8(..30)),
                        _ => format!("[m{}", rng.u8(..30)),
                    }
                };
                let (lo, hi) = (pick(&mut rng), pick(&mut rng));
                let ok_lo = |s: &str| match lo.as_bytes()[0] {
                    b'-' => true,
                    b'+' => false,
                    b'(' => s > &lo[1..],
                    _ => s >= &lo[1..],
                };
                let ok_hi = |s: &str| match hi.as_bytes()[0] {
                    b'-' => false,
                    b'+' => true,
                    b'(' => s < &hi[1..],
                    _ => s <= &hi[1..],
                };
                let want: Vec<String> = lm.0.keys().filter(|s| ok_lo(s) && ok_hi(s)).cloned().collect();
                let got = call(c, &args(&["ZRANGEBYLEX", lk, &lo, &hi]));
                assert_eq!(got, want, "{ctx}: lex {lo} {hi}");
                let cnt = call(c, &args(&["ZLEXCOUNT", lk, &lo, &hi]));
                assert_eq!(cnt, vec![want.len().to_string()], "{ctx}");
            }
            _ => {
                let got = call(c, &args(&["ZRANGE", key, "0", "-1", "WITHSCORES"]));
                assert_eq!(got, with_scores(&m.sorted()), "{ctx}");
                let exists = call(c, &args(&["EXISTS", key]));
                assert_eq!(exists, vec![i64::from(!m.0.is_empty()).to_string()], "{ctx}: emptied sets are deleted");
            }
        }
    }
}

#[test]
fn random_operations_match_a_btreemap_model_in_both_encodings() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    for (seed, entries) in [(1u64, "128"), (2, "4"), (3, "0"), (4, "16")] {
        c.call(&["FLUSHALL"]);
        c.call(&["CONFIG", "SET", "zset-max-listpack-entries", entries]);
        run_model(&mut c, seed, 3000);
    }
}

#[test]
fn zrank_withscore_is_redis_7_2s_form() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    c.call(&["ZADD", "z", "1.5", "a", "2", "b"]);
    assert_eq!(c.text(&["ZRANK", "z", "b", "WITHSCORE"]), "*2\r\n:1\r\n$1\r\n2\r\n");
    assert_eq!(c.text(&["ZREVRANK", "z", "b", "withscore"]), "*2\r\n:0\r\n$1\r\n2\r\n");
    assert_eq!(c.text(&["ZRANK", "z", "a", "WITHSCORE"]), "*2\r\n:0\r\n$3\r\n1.5\r\n");
    assert_eq!(c.text(&["ZRANK", "z", "nosuch", "WITHSCORE"]), "*-1\r\n");
    assert_eq!(c.text(&["ZRANK", "nokey", "a", "WITHSCORE"]), "*-1\r\n");
    assert_eq!(c.text(&["ZRANK", "nokey", "a"]), "$-1\r\n");
    assert_eq!(c.text(&["ZRANK", "z", "a", "WITHSCORES"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.text(&["ZRANK", "z", "a", "WITHSCORE", "x"]),
        "-ERR wrong number of arguments for 'zrank' command\r\n"
    );
    c.call(&["HELLO", "3"]);
    assert_eq!(c.text(&["ZRANK", "z", "a", "WITHSCORE"]), "*2\r\n:0\r\n,1.5\r\n");
    assert_eq!(c.text(&["ZRANK", "z", "nosuch", "WITHSCORE"]), "_\r\n");
}

#[test]
fn keyspace_events_name_each_change() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    let mut sub = server.conn();
    c.call(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    sub.call(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    let script: &[&[&str]] = &[
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        &["ZADD", "z", "1", "a"],
        &["ZINCRBY", "z", "1", "a"],
        &["ZREM", "z", "a"],
        &["ZREMRANGEBYSCORE", "z", "2", "2"],
        &["ZADD", "z", "3", "x", "3", "y"],
        &["ZREMRANGEBYLEX", "z", "[x", "[x"],
        &["ZREMRANGEBYRANK", "z", "0", "0"],
        &["ZPOPMAX", "z"],
        &["ZADD", "z", "1", "a", "2", "b"],
        &["ZPOPMIN", "z", "5"],
        &["ZADD", "s", "1", "a"],
        &["ZUNIONSTORE", "d", "1", "s"],
        &["ZINTERSTORE", "d", "1", "s"],
        &["ZDIFFSTORE", "d", "1", "s"],
        &["ZRANGESTORE", "d", "s", "0", "-1"],
        &["ZRANGESTORE", "d", "nokey", "0", "-1"],
    ];
    for cmd in script {
        c.call(cmd);
    }
    c.call(&["PUBLISH", "__keyevent@0__:end", "z"]);
    let mut events = Vec::new();
    loop {
        let msg = flat(&val(&sub.read_reply()));
        let event = msg[2].trim_start_matches("__keyevent@0__:").to_string();
        if event == "end" {
            break;
        }
        events.push(format!("{event} {}", msg[3]));
    }
    assert_eq!(
        events,
        [
            "zadd z",
            "zincr z",
            "zrem z",
            "zremrangebyscore z",
            "zadd z",
            "zremrangebylex z",
            "zremrangebyrank z",
            "zpopmax z",
            "del z",
            "zadd z",
            "zpopmin z",
            "del z",
            "zadd s",
            "zunionstore d",
            "zinterstore d",
            "zdiffstore d",
            "zrangestore d",
            "del d",
        ]
    );
}

#[test]
fn blocking_pops_wait_for_data_and_time_out() {
    let server = Server::shoal(&[]);
    let mut waiter = server.conn();
    let mut writer = server.conn();
    waiter.send_raw(&Conn::encode(&[b"BZPOPMIN", b"k1", b"k2", b"10"]));
    // Wait (bounded) until the server reports the client as blocked, then serve it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let info = writer.text(&["INFO", "clients"]);
        if info.contains("blocked_clients:1") || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    writer.call(&["ZADD", "k2", "5", "m", "6", "n"]);
    assert_eq!(String::from_utf8_lossy(&waiter.read_reply()), "*3\r\n$2\r\nk2\r\n$1\r\nm\r\n$1\r\n5\r\n");
    assert_eq!(writer.text(&["ZCARD", "k2"]), ":1\r\n");
    waiter.send_raw(&Conn::encode(&[b"BZMPOP", b"10", b"1", b"k3", b"MAX", b"COUNT", b"2"]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let info = writer.text(&["INFO", "clients"]);
        if info.contains("blocked_clients:1") || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    writer.call(&["ZADD", "k3", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_reply()),
        "*2\r\n$2\r\nk3\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(waiter.text(&["BZPOPMAX", "nokey", "0.05"]), "*-1\r\n");
}

#[test]
fn large_sets_rank_and_scan_everything() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    let n = 5000;
    let mut cmd = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..n {
        cmd.push(((i * 7919) % n).to_string());
        cmd.push(format!("m{i}"));
    }
    call(&mut c, &cmd);
    assert_eq!(c.text(&["OBJECT", "ENCODING", "big"]), "$8\r\nskiplist\r\n");
    for i in [0, 1, 2500, 4999] {
        let score = (i * 7919) % n;
        assert_eq!(c.text(&["ZRANK", "big", &format!("m{i}")]), format!(":{score}\r\n"));
    }
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let reply = val(&c.call(&["ZSCAN", "big", &cursor, "COUNT", "100"]));
        let RespValue::Array(parts) = reply else { panic!("scan reply") };
        cursor = flat(&parts[0])[0].clone();
        let items = flat(&parts[1]);
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone());
        }
        calls += 1;
        assert!(calls < 10_000, "scan terminates");
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), n);
    assert_eq!(c.text(&["ZCOUNT", "big", "(100", "200"]), ":100\r\n");
    assert_eq!(c.text(&["ZREMRANGEBYRANK", "big", "0", "4899"]), ":4900\r\n");
    let lowest = format!("m{}", (0..n).find(|i| (i * 7919) % n == 4900).unwrap_or(0));
    assert_eq!(
        c.text(&["ZRANGE", "big", "0", "0", "WITHSCORES"]),
        format!("*2\r\n${}\r\n{lowest}\r\n$4\r\n4900\r\n", lowest.len())
    );
}

#[test]
fn zrandmember_counts_distinct_and_repeated_members() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    for (key, n) in [("small", 20usize), ("large", 1000)] {
        let mut cmd = vec!["ZADD".to_string(), key.to_string()];
        for i in 0..n {
            cmd.push(i.to_string());
            cmd.push(format!("m{i}"));
        }
        call(&mut c, &cmd);
        for count in [1usize, 3, n / 2, n - 1] {
            let got = call(&mut c, &args(&["ZRANDMEMBER", key, &count.to_string()]));
            assert_eq!(got.len(), count);
            assert_eq!(got.iter().collect::<HashSet<_>>().len(), count, "distinct members");
            assert!(got.iter().all(|m| m.starts_with('m')));
        }
        let got = call(&mut c, &args(&["ZRANDMEMBER", key, "-50", "WITHSCORES"]));
        assert_eq!(got.len(), 100);
        for pair in got.chunks(2) {
            assert_eq!(format!("m{}", pair[1]), pair[0], "score matches member");
        }
    }
    assert_eq!(c.text(&["ZRANDMEMBER", "small", "-100000000"]), "-ERR value is out of range\r\n");
}

#[test]
fn writes_invalidate_watch_and_blocking_pops_in_multi_answer_nil() {
    let server = Server::shoal(&[]);
    let mut a = server.conn();
    let mut b = server.conn();
    a.call(&["ZADD", "z", "1", "a"]);
    a.call(&["WATCH", "z"]);
    b.call(&["ZADD", "z", "1", "a"]);
    a.call(&["MULTI"]);
    a.call(&["ZCARD", "z"]);
    assert_eq!(a.text(&["EXEC"]), "*1\r\n:1\r\n", "an unchanged ZADD does not touch the key");
    a.call(&["WATCH", "z"]);
    b.call(&["ZINCRBY", "z", "1", "a"]);
    a.call(&["MULTI"]);
    a.call(&["ZCARD", "z"]);
    assert_eq!(a.text(&["EXEC"]), "*-1\r\n");
    a.call(&["MULTI"]);
    a.call(&["BZPOPMIN", "nokey", "0"]);
    a.call(&["BZMPOP", "0", "1", "nokey", "MIN"]);
    assert_eq!(a.text(&["EXEC"]), "*2\r\n*-1\r\n*-1\r\n");
}
