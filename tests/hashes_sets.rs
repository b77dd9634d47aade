//! Model-based property tests for hashes and sets: random command sequences run through the real dispatcher
//! (`shoal::commands::dispatch::execute` on an in-memory client) and are checked after every step against a
//! `BTreeMap` / `BTreeSet` model, including the encodings OBJECT ENCODING reports (small limits are configured
//! so conversions happen often), random-pick semantics and full HSCAN / SSCAN iterations. Keys are also
//! expired through PEXPIREAT in the past (deterministic, no clock waits). A last test replays a command
//! sequence on shoal-server and redis-server with `notify-keyspace-events KEA` and compares the events.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use shoal::commands::{dispatch, ClientState};
use shoal::protocol::decode::OwnedArgs;
use shoal::protocol::reply::{Protocol, Reply};
use shoal::protocol::value::RespValue;
use shoal::state::ServerState;

const MAX_ENTRIES: usize = 6;
const MAX_VALUE: usize = 8;
const MAX_INTSET: usize = 5;

struct Harness {
    state: Arc<ServerState>,
    client: ClientState,
}

impl Harness {
    fn new() -> Harness {
        let conf = format!(
            "hash-max-listpack-entries {MAX_ENTRIES}\nhash-max-listpack-value {MAX_VALUE}\n\
             set-max-intset-entries {MAX_INTSET}\n"
        );
        let config = shoal::config::Config::from_text(conf.as_bytes()).expect("configuration");
        let store = shoal::config::ConfigStore::new(config);
        Harness { state: ServerState::new(Arc::new(store)), client: ClientState::new(1, false) }
    }

    fn run(&mut self, args: &[&[u8]]) -> RespValue {
        let mut out = Reply::new(Protocol::Resp2);
        let owned = OwnedArgs::from_slices(args);
        dispatch::execute(&self.state, &mut self.client, &mut out, owned.args());
        RespValue::parse(&out.buf).expect("one complete reply").0
    }

    fn cmd(&mut self, parts: &[&str]) -> RespValue {
        let args: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
        self.run(&args)
    }
}

fn bulk_list(v: RespValue) -> Vec<String> {
    match v {
        RespValue::Array(items) | RespValue::Set(items) => items
            .into_iter()
            .map(|i| match i {
                RespValue::Bulk(b) => String::from_utf8(b).expect("utf8"),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

fn int(v: RespValue) -> i64 {
    match v {
        RespValue::Int(n) => n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn bulk(v: RespValue) -> Option<String> {
    match v {
        RespValue::Bulk(b) => Some(String::from_utf8(b).expect("utf8")),
        RespValue::Null => None,
        other => panic!("not a bulk: {other:?}"),
    }
}

/// A full SCAN-family iteration: every cursor until 0.
fn full_scan(h: &mut Harness, cmd: &str, key: &str) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    for _ in 0..10_000 {
        let RespValue::Array(mut parts) = h.cmd(&[cmd, key, &cursor, "COUNT", "3"]) else { panic!("scan reply") };
        let items = bulk_list(parts.pop().expect("items"));
        all.extend(items);
        cursor = bulk(parts.pop().expect("cursor")).expect("cursor");
        if cursor == "0" {
            return all;
        }
    }
    panic!("scan did not finish");
}

// ---------------------------------------------------------------------------------------------------------
// Hashes
// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum HOp {
    Set(u8, Vec<(u8, u8)>),
    SetNx(u8, u8, u8),
    Del(u8, Vec<u8>),
    IncrBy(u8, u8, i8),
    Get(u8, u8),
    RandField(u8, i8),
    Scan(u8),
    Expire(u8),
}

const FIELDS: [&str; 10] = ["a", "b", "c", "d", "e", "f", "g", "h", "long-field-name", "1"];
const VALUES: [&str; 6] = ["", "1", "-5", "x", "a-long-value-here", "12"];

fn hop() -> impl Strategy<Value = HOp> {
    let pair = (0u8..10, 0u8..6);
    prop_oneof![
        4 => (0u8..3, proptest::collection::vec(pair, 1..4)).prop_map(|(k, p)| HOp::Set(k, p)),
        1 => (0u8..3, 0u8..10, 0u8..6).prop_map(|(k, f, v)| HOp::SetNx(k, f, v)),
        2 => (0u8..3, proptest::collection::vec(0u8..10, 1..3)).prop_map(|(k, f)| HOp::Del(k, f)),
        1 => (0u8..3, 0u8..10, any::<i8>()).prop_map(|(k, f, n)| HOp::IncrBy(k, f, n)),
        1 => (0u8..3, 0u8..10).prop_map(|(k, f)| HOp::Get(k, f)),
        1 => (0u8..3, -12i8..12).prop_map(|(k, n)| HOp::RandField(k, n)),
        1 => (0u8..3).prop_map(HOp::Scan),
        1 => (0u8..3).prop_map(HOp::Expire),
    ]
}

#[derive(Default)]
struct HModel {
    map: BTreeMap<String, String>,
    table: bool,
}

impl HModel {
    fn set(&mut self, f: &str, v: &str) -> bool {
        if f.len() > MAX_VALUE || v.len() > MAX_VALUE {
            self.table = true;
        }
        let new = self.map.insert(f.to_string(), v.to_string()).is_none();
        if self.map.len() > MAX_ENTRIES {
            self.table = true;
        }
        new
    }
}

fn check_hash(h: &mut Harness, key: &str, model: &BTreeMap<String, HModel>) -> Result<(), TestCaseError> {
    let Some(m) = model.get(key) else {
        prop_assert_eq!(int(h.cmd(&["EXISTS", key])), 0);
        return Ok(());
    };
    prop_assert_eq!(int(h.cmd(&["HLEN", key])), m.map.len() as i64);
    let flat = bulk_list(h.cmd(&["HGETALL", key]));
    let pairs: Vec<(String, String)> = flat.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
    let got: BTreeMap<String, String> = pairs.iter().cloned().collect();
    prop_assert_eq!(&got, &m.map);
    prop_assert_eq!(pairs.len(), m.map.len());
    let enc = bulk(h.cmd(&["OBJECT", "ENCODING", key]));
    prop_assert_eq!(enc.as_deref(), Some(if m.table { "hashtable" } else { "listpack" }));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn hashes_match_model(ops in proptest::collection::vec(hop(), 1..120)) {
        let mut h = Harness::new();
        let mut model: BTreeMap<String, HModel> = BTreeMap::new();
        for op in ops {
            let key;
            match op {
                HOp::Set(k, pairs) => {
                    key = format!("h{k}");
                    let mut args = vec!["HSET".to_string(), key.clone()];
                    let m = model.entry(key.clone()).or_default();
                    let mut created = 0;
                    for (f, v) in pairs {
                        let (f, v) = (FIELDS[f as usize], VALUES[v as usize]);
                        args.push(f.into());
                        args.push(v.into());
                        if m.set(f, v) { created += 1; }
                    }
                    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                    prop_assert_eq!(int(h.cmd(&refs)), created);
                }
                HOp::SetNx(k, f, v) => {
                    key = format!("h{k}");
                    let (f, v) = (FIELDS[f as usize], VALUES[v as usize]);
                    let m = model.entry(key.clone()).or_default();
                    let expect = if m.map.contains_key(f) { 0 } else { m.set(f, v); 1 };
                    prop_assert_eq!(int(h.cmd(&["HSETNX", &key, f, v])), expect);
                }
                HOp::Del(k, fields) => {
                    key = format!("h{k}");
                    let mut args = vec!["HDEL", key.as_str()];
                    let mut deleted = 0;
                    for f in &fields {
                        let f = FIELDS[*f as usize];
                        args.push(f);
                        if let Some(m) = model.get_mut(&key) {
                            if m.map.remove(f).is_some() { deleted += 1; }
                        }
                    }
                    if model.get(&key).is_some_and(|m| m.map.is_empty()) { model.remove(&key); }
                    prop_assert_eq!(int(h.cmd(&args)), deleted);
                }
                HOp::IncrBy(k, f, n) => {
                    key = format!("h{k}");
                    let f = FIELDS[f as usize];
                    let current = model.get(&key).and_then(|m| m.map.get(f)).cloned();
                    let reply = h.cmd(&["HINCRBY", &key, f, &n.to_string()]);
                    let parsed = match &current {
                        None => Some(0i64),
                        Some(v) => shoal::num::parse_i64(v.as_bytes()),
                    };
                    match parsed {
                        Some(cur) => {
                            let new = cur + i64::from(n);
                            prop_assert_eq!(int(reply), new);
                            model.entry(key.clone()).or_default().set(f, &new.to_string());
                        }
                        None => prop_assert_eq!(reply, RespValue::Error(b"ERR hash value is not an integer".to_vec())),
                    }
                }
                HOp::Get(k, f) => {
                    key = format!("h{k}");
                    let f = FIELDS[f as usize];
                    let expect = model.get(&key).and_then(|m| m.map.get(f)).cloned();
                    prop_assert_eq!(bulk(h.cmd(&["HGET", &key, f])), expect.clone());
                    prop_assert_eq!(int(h.cmd(&["HEXISTS", &key, f])), i64::from(expect.is_some()));
                    prop_assert_eq!(int(h.cmd(&["HSTRLEN", &key, f])), expect.map_or(0, |v| v.len() as i64));
                }
                HOp::RandField(k, n) => {
                    key = format!("h{k}");
                    let got = bulk_list(h.cmd(&["HRANDFIELD", &key, &n.to_string(), "WITHVALUES"]));
                    let size = model.get(&key).map_or(0, |m| m.map.len());
                    let want = if size == 0 || n == 0 { 0 } else if n > 0 { (n as usize).min(size) } else { n.unsigned_abs() as usize };
                    prop_assert_eq!(got.len(), want * 2);
                    let mut seen = BTreeSet::new();
                    for c in got.chunks(2) {
                        let m = &model[&key];
                        prop_assert_eq!(m.map.get(&c[0]), Some(&c[1]));
                        let fresh = seen.insert(c[0].clone());
                        if n > 0 { prop_assert!(fresh, "duplicate field for a positive count"); }
                    }
                }
                HOp::Scan(k) => {
                    key = format!("h{k}");
                    let items = full_scan(&mut h, "HSCAN", &key);
                    let fields: BTreeSet<String> = items.chunks(2).map(|c| c[0].clone()).collect();
                    let expect: BTreeSet<String> = model.get(&key).map(|m| m.map.keys().cloned().collect()).unwrap_or_default();
                    prop_assert_eq!(fields, expect);
                }
                HOp::Expire(k) => {
                    key = format!("h{k}");
                    let existed = model.remove(&key).is_some();
                    prop_assert_eq!(int(h.cmd(&["PEXPIREAT", &key, "1"])), i64::from(existed));
                }
            }
            check_hash(&mut h, &key, &model)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Sets
// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum SOp {
    Add(u8, Vec<u8>),
    Rem(u8, Vec<u8>),
    Pop(u8, u8),
    RandMember(u8, i8),
    Move(u8, u8, u8),
    Store(u8, u8, u8, u8),
    InterCard(u8, u8, u8),
    Scan(u8),
    Expire(u8),
}

const MEMBERS: [&str; 14] = ["0", "1", "2", "3", "4", "5", "6", "-7", "100000", "a", "b", "007", "+1", "x y"];

fn sop() -> impl Strategy<Value = SOp> {
    let members = proptest::collection::vec(0u8..14, 1..5);
    prop_oneof![
        4 => (0u8..4, members.clone()).prop_map(|(k, m)| SOp::Add(k, m)),
        2 => (0u8..4, members).prop_map(|(k, m)| SOp::Rem(k, m)),
        1 => (0u8..4, 0u8..5).prop_map(|(k, n)| SOp::Pop(k, n)),
        1 => (0u8..4, -10i8..10).prop_map(|(k, n)| SOp::RandMember(k, n)),
        1 => (0u8..4, 0u8..4, 0u8..14).prop_map(|(a, b, m)| SOp::Move(a, b, m)),
        1 => (0u8..3, 0u8..4, 0u8..4, 0u8..4).prop_map(|(o, d, a, b)| SOp::Store(o, d, a, b)),
        1 => (0u8..4, 0u8..4, 0u8..4).prop_map(|(a, b, l)| SOp::InterCard(a, b, l)),
        1 => (0u8..4).prop_map(SOp::Scan),
        1 => (0u8..4).prop_map(SOp::Expire),
    ]
}

#[derive(Default, Clone)]
struct SModel {
    set: BTreeSet<String>,
    table: bool,
}

fn is_int(m: &str) -> bool {
    shoal::num::parse_i64(m.as_bytes()).is_some()
}

impl SModel {
    /// A set as Redis builds a new one from `first` (SADD / SMOVE on a missing key).
    fn new_for(first: &str) -> SModel {
        SModel { set: BTreeSet::new(), table: !is_int(first) }
    }

    /// A *STORE result: starts as an intset and converts while being filled.
    fn built(set: BTreeSet<String>) -> SModel {
        let table = set.len() > MAX_INTSET || set.iter().any(|m| !is_int(m));
        SModel { set, table }
    }

    fn add(&mut self, m: &str) -> bool {
        if !is_int(m) {
            self.table = true;
        }
        let new = self.set.insert(m.to_string());
        if self.set.len() > MAX_INTSET {
            self.table = true;
        }
        new
    }
}

fn check_set(h: &mut Harness, key: &str, model: &BTreeMap<String, SModel>) -> Result<(), TestCaseError> {
    let Some(m) = model.get(key) else {
        prop_assert_eq!(int(h.cmd(&["EXISTS", key])), 0);
        return Ok(());
    };
    prop_assert_eq!(int(h.cmd(&["SCARD", key])), m.set.len() as i64);
    let members = bulk_list(h.cmd(&["SMEMBERS", key]));
    let enc = bulk(h.cmd(&["OBJECT", "ENCODING", key]));
    prop_assert_eq!(enc.as_deref(), Some(if m.table { "hashtable" } else { "intset" }));
    if !m.table {
        let mut sorted: Vec<i64> = m.set.iter().map(|s| s.parse().expect("int")).collect();
        sorted.sort();
        let expect: Vec<String> = sorted.iter().map(i64::to_string).collect();
        prop_assert_eq!(&members, &expect, "intset members ascending");
    }
    let got: BTreeSet<String> = members.into_iter().collect();
    prop_assert_eq!(&got, &m.set);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn sets_match_model(ops in proptest::collection::vec(sop(), 1..120)) {
        let mut h = Harness::new();
        let mut model: BTreeMap<String, SModel> = BTreeMap::new();
        let name = |k: u8| format!("s{k}");
        for op in ops {
            let mut touched = Vec::new();
            match op {
                SOp::Add(k, ms) => {
                    let key = name(k);
                    let mut args = vec!["SADD", key.as_str()];
                    let m = model.entry(key.clone()).or_insert_with(|| SModel::new_for(MEMBERS[ms[0] as usize]));
                    let mut added = 0;
                    for i in &ms {
                        args.push(MEMBERS[*i as usize]);
                        if m.add(MEMBERS[*i as usize]) { added += 1; }
                    }
                    prop_assert_eq!(int(h.cmd(&args)), added);
                    touched.push(key);
                }
                SOp::Rem(k, ms) => {
                    let key = name(k);
                    let mut args = vec!["SREM", key.as_str()];
                    let mut removed = 0;
                    for i in &ms {
                        args.push(MEMBERS[*i as usize]);
                        if let Some(m) = model.get_mut(&key) {
                            if m.set.remove(MEMBERS[*i as usize]) { removed += 1; }
                        }
                    }
                    if model.get(&key).is_some_and(|m| m.set.is_empty()) { model.remove(&key); }
                    prop_assert_eq!(int(h.cmd(&args)), removed);
                    touched.push(key);
                }
                SOp::Pop(k, n) => {
                    let key = name(k);
                    let popped = bulk_list(h.cmd(&["SPOP", &key, &n.to_string()]));
                    let size = model.get(&key).map_or(0, |m| m.set.len());
                    prop_assert_eq!(popped.len(), (n as usize).min(size));
                    let distinct: BTreeSet<&String> = popped.iter().collect();
                    prop_assert_eq!(distinct.len(), popped.len());
                    if let Some(m) = model.get_mut(&key) {
                        for p in &popped { prop_assert!(m.set.remove(p), "popped a non-member"); }
                        if m.set.is_empty() { model.remove(&key); }
                    }
                    touched.push(key);
                }
                SOp::RandMember(k, n) => {
                    let key = name(k);
                    let got = bulk_list(h.cmd(&["SRANDMEMBER", &key, &n.to_string()]));
                    let size = model.get(&key).map_or(0, |m| m.set.len());
                    let want = if size == 0 || n == 0 { 0 } else if n > 0 { (n as usize).min(size) } else { n.unsigned_abs() as usize };
                    prop_assert_eq!(got.len(), want);
                    let distinct: BTreeSet<&String> = got.iter().collect();
                    if n > 0 { prop_assert_eq!(distinct.len(), got.len()); }
                    for g in &got { prop_assert!(model[&key].set.contains(g)); }
                    touched.push(key);
                }
                SOp::Move(a, b, i) => {
                    let (src, dst, mem) = (name(a), name(b), MEMBERS[i as usize]);
                    let in_src = model.get(&src).is_some_and(|m| m.set.contains(mem));
                    prop_assert_eq!(int(h.cmd(&["SMOVE", &src, &dst, mem])), i64::from(in_src));
                    if in_src && src != dst {
                        let s = model.get_mut(&src).expect("src");
                        s.set.remove(mem);
                        if s.set.is_empty() { model.remove(&src); }
                        model.entry(dst.clone()).or_insert_with(|| SModel::new_for(mem)).add(mem);
                    }
                    touched.push(src);
                    touched.push(dst);
                }
                SOp::Store(op, d, a, b) => {
                    let (dst, ka, kb) = (name(d), name(a), name(b));
                    let sa = model.get(&ka).map(|m| m.set.clone()).unwrap_or_default();
                    let sb = model.get(&kb).map(|m| m.set.clone()).unwrap_or_default();
                    let (cmd, result): (&str, BTreeSet<String>) = match op {
                        0 => ("SINTERSTORE", sa.intersection(&sb).cloned().collect()),
                        1 => ("SUNIONSTORE", sa.union(&sb).cloned().collect()),
                        _ => ("SDIFFSTORE", sa.difference(&sb).cloned().collect()),
                    };
                    prop_assert_eq!(int(h.cmd(&[cmd, &dst, &ka, &kb])), result.len() as i64);
                    if result.is_empty() { model.remove(&dst); } else { model.insert(dst.clone(), SModel::built(result.clone())); }
                    let read = match op { 0 => "SINTER", 1 => "SUNION", _ => "SDIFF" };
                    // The non-store form on the (possibly rewritten) sources answers the same members as a
                    // fresh computation on the model.
                    let sa = model.get(&ka).map(|m| m.set.clone()).unwrap_or_default();
                    let sb = model.get(&kb).map(|m| m.set.clone()).unwrap_or_default();
                    let again: BTreeSet<String> = match op {
                        0 => sa.intersection(&sb).cloned().collect(),
                        1 => sa.union(&sb).cloned().collect(),
                        _ => sa.difference(&sb).cloned().collect(),
                    };
                    let got: BTreeSet<String> = bulk_list(h.cmd(&[read, &ka, &kb])).into_iter().collect();
                    prop_assert_eq!(got, again);
                    touched.push(dst);
                }
                SOp::InterCard(a, b, limit) => {
                    let (ka, kb) = (name(a), name(b));
                    let sa = model.get(&ka).map(|m| m.set.clone()).unwrap_or_default();
                    let sb = model.get(&kb).map(|m| m.set.clone()).unwrap_or_default();
                    let n = sa.intersection(&sb).count();
                    let expect = if limit == 0 { n } else { n.min(limit as usize) };
                    prop_assert_eq!(int(h.cmd(&["SINTERCARD", "2", &ka, &kb, "LIMIT", &limit.to_string()])), expect as i64);
                    let flags: Vec<i64> = match h.cmd(&["SMISMEMBER", &ka, "1", "a", "007"]) {
                        RespValue::Array(v) => v.into_iter().map(int).collect(),
                        other => panic!("{other:?}"),
                    };
                    let expect: Vec<i64> = ["1", "a", "007"].iter().map(|m| i64::from(sa.contains(*m))).collect();
                    prop_assert_eq!(flags, expect);
                }
                SOp::Scan(k) => {
                    let key = name(k);
                    let items: BTreeSet<String> = full_scan(&mut h, "SSCAN", &key).into_iter().collect();
                    let expect = model.get(&key).map(|m| m.set.clone()).unwrap_or_default();
                    prop_assert_eq!(items, expect);
                }
                SOp::Expire(k) => {
                    let key = name(k);
                    let existed = model.remove(&key).is_some();
                    prop_assert_eq!(int(h.cmd(&["PEXPIREAT", &key, "1"])), i64::from(existed));
                    touched.push(key);
                }
            }
            for key in touched {
                check_set(&mut h, &key, &model)?;
            }
        }
    }
}

/// Large collections: growth through many bucket resizes, SCAN while the hashtable grows, and shrink.
#[test]
fn large_sets_and_hashes_scan_through_growth() {
    let mut h = Harness::new();
    for i in 0..3000 {
        let m = format!("m{i}");
        assert_eq!(int(h.cmd(&["SADD", "big", &m])), 1);
        assert_eq!(int(h.cmd(&["HSET", "bigh", &m, &i.to_string()])), 1);
    }
    // Scan while adding: every member present for the whole scan is returned.
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut extra = 3000;
    loop {
        let RespValue::Array(mut parts) = h.cmd(&["SSCAN", "big", &cursor, "COUNT", "20"]) else { panic!() };
        seen.extend(bulk_list(parts.pop().unwrap()));
        cursor = bulk(parts.pop().unwrap()).unwrap();
        if extra < 9000 {
            for _ in 0..50 {
                h.cmd(&["SADD", "big", &format!("m{extra}")]);
                extra += 1;
            }
        }
        if cursor == "0" {
            break;
        }
    }
    for i in 0..3000 {
        assert!(seen.contains(&format!("m{i}")), "m{i} missed");
    }
    for i in 0..extra {
        h.cmd(&["SREM", "big", &format!("m{i}")]);
    }
    assert_eq!(int(h.cmd(&["EXISTS", "big"])), 0);
    let fields: BTreeSet<String> = full_scan(&mut h, "HSCAN", "bigh").chunks(2).map(|c| c[0].clone()).collect();
    assert_eq!(fields.len(), 3000);
    let picks = bulk_list(h.cmd(&["HRANDFIELD", "bigh", "2999"]));
    assert_eq!(picks.iter().collect::<BTreeSet<_>>().len(), 2999);
    let picks = bulk_list(h.cmd(&["SRANDMEMBER", "nokey", "5"]));
    assert!(picks.is_empty());
}

/// Keyspace events of the hash and set commands, in order, compared with redis-server's.
#[test]
fn keyspace_events_match_redis() {
    let script: &[&[&str]] = &[
        &["HSET", "h", "a", "1", "b", "2"],
        &["HSET", "h", "a", "1"],
        &["HSETNX", "h", "a", "x"],
        &["HSETNX", "h", "c", "3"],
        &["HINCRBY", "h", "a", "5"],
        &["HINCRBYFLOAT", "h", "f", "1.5"],
        &["HINCRBY", "h", "f", "1"],
        &["HDEL", "h", "a", "nosuch"],
        &["HDEL", "h", "nosuch"],
        &["HDEL", "h", "b", "c", "f"],
        &["HMSET", "h2", "x", "1"],
        &["SADD", "s", "1", "2", "3"],
        &["SADD", "s", "1"],
        &["SREM", "s", "9"],
        &["SREM", "s", "1"],
        &["SPOP", "s"],
        &["SPOP", "s", "0"],
        &["SADD", "s", "5", "6"],
        &["SPOP", "s", "1"],
        &["SPOP", "s", "10"],
        &["SADD", "a", "1", "2", "7"],
        &["SADD", "b", "2", "3"],
        &["SINTERSTORE", "d", "a", "b"],
        &["SUNIONSTORE", "d", "a", "b"],
        &["SDIFFSTORE", "d", "a", "b"],
        &["SINTERSTORE", "d", "a", "nosuch"],
        &["SDIFFSTORE", "d", "nosuch"],
        &["SMOVE", "a", "b", "1"],
        &["SMOVE", "a", "b", "2"],
        &["SMOVE", "a", "c", "7"],
        &["SMOVE", "b", "b", "2"],
        &["SREM", "b", "1", "2", "3"],
    ];
    let events = |server: &support::Server| -> Vec<String> {
        let mut sub = server.conn();
        sub.call(&["PSUBSCRIBE", "__keyevent@0__:*"]);
        sub.call(&["SUBSCRIBE", "marker"]);
        let mut c = server.conn();
        for cmd in script {
            c.call(cmd);
        }
        c.call(&["PUBLISH", "marker", "end"]);
        let mut out = Vec::new();
        loop {
            let raw = sub.read_reply();
            let Some((RespValue::Array(parts), _)) = RespValue::parse(&raw) else { panic!("push") };
            let text: Vec<String> = parts
                .into_iter()
                .map(|p| match p {
                    RespValue::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => format!("{other:?}"),
                })
                .collect();
            if text.first().map(String::as_str) == Some("message") {
                return out;
            }
            out.push(text[2..].join(" "));
        }
    };
    let redis = support::Server::redis(&["--notify-keyspace-events", "KEA"]);
    let shoal = support::Server::shoal(&["--notify-keyspace-events", "KEA"]);
    let expected = events(&redis);
    assert!(expected.len() > 20, "{expected:?}");
    assert_eq!(events(&shoal), expected);
}

/// Random picks are fair: every member of a small set / hash is picked about equally often, for both the
/// compact and the hashtable encodings (bounds far outside any plausible deviation, so the test never flakes).
#[test]
fn random_picks_are_uniform() {
    let mut h = Harness::new();
    let members: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let words: Vec<String> = (0..10).map(|i| format!("w{i}")).collect();
    for m in &members {
        h.cmd(&["SADD", "ints", m]);
        h.cmd(&["HSET", "small", m, "v"]);
    }
    for w in &words {
        h.cmd(&["SADD", "words", w]);
    }
    for (key, cmd, expect) in
        [("ints", "SRANDMEMBER", &members), ("words", "SRANDMEMBER", &words), ("small", "HRANDFIELD", &members)]
    {
        let picks = bulk_list(h.cmd(&[cmd, key, "-20000"]));
        assert_eq!(picks.len(), 20000);
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for p in picks {
            *counts.entry(p).or_default() += 1;
        }
        assert_eq!(counts.keys().collect::<BTreeSet<_>>(), expect.iter().collect::<BTreeSet<_>>());
        for (m, n) in counts {
            assert!((1400..2600).contains(&n), "{cmd} {key}: {m} picked {n} times of 20000");
        }
    }
    // Distinct picks (positive count) over many draws also cover every member.
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        seen.extend(bulk_list(h.cmd(&["SRANDMEMBER", "words", "3"])));
    }
    assert_eq!(seen.len(), 10);
}
