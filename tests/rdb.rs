//! RDB persistence: golden files written by redis-server 7.0.15 and Valkey 8.1 (tests/fixtures/rdb, made by
//! scripts/make-rdb-fixtures), DUMP/RESTORE byte equality with Redis, files Shoal writes checked by
//! redis-check-rdb and loaded by redis-server, snapshots (SAVE, BGSAVE, the schedule, SHUTDOWN, DEBUG
//! RELOAD), refusal to start on a corrupt file, and property tests of the codec (round trips; random
//! corruption always rejected, never a panic).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shoal::protocol::value::RespValue;
use shoal::rdb::file::{self, AccessHint, WriteOptions};
use shoal::rdb::types::Decoded;
use support::{Conn, Server};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rdb")
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex")).collect()
}

/// One line of a `.replies` file.
struct Check {
    db: usize,
    key_type: String,
    kind: String,
    command: Vec<Vec<u8>>,
    reply: Vec<u8>,
}

fn checks(name: &str) -> Vec<Check> {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.replies"))).expect("replies file");
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Check {
                db: f[0].parse().expect("db"),
                key_type: f[1].to_string(),
                kind: f[2].to_string(),
                command: f[3].split(' ').map(unhex).collect(),
                reply: unhex(f[4]),
            }
        })
        .collect()
}

/// One line of a `.dumps` file: (db, type, encoding, key, payload).
type Dump = (usize, String, String, Vec<u8>, Vec<u8>);

fn dumps(name: &str) -> Vec<Dump> {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.dumps"))).expect("dumps file");
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].parse().expect("db"), f[1].to_string(), f[2].to_string(), unhex(f[3]), unhex(f[4]))
        })
        .collect()
}

fn read_golden(name: &str) -> (file::FileReport, Vec<file::KeyRecord>) {
    let bytes = std::fs::read(fixtures().join(format!("{name}.rdb"))).expect("golden file");
    let mut keys = Vec::new();
    let report = file::read(&bytes, |k| {
        keys.push(k);
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    (report, keys)
}

const GOLDEN: &[&str] = &[
    "redis-7.0-strings",
    "redis-7.0-collections",
    "redis-7.0-functions",
    "redis-7.0-nochecksum-nocompression",
    "valkey-8.1-strings",
    "valkey-8.1-collections",
];

fn resp(bytes: &[u8]) -> RespValue {
    RespValue::parse(bytes).map(|(v, _)| v).expect("valid RESP")
}

fn bulks(v: &RespValue) -> Vec<Vec<u8>> {
    match v {
        RespValue::Array(items) => items
            .iter()
            .map(|i| match i {
                RespValue::Bulk(b) => b.clone(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

/// Redis's reply text for a score (`%.17g`, inf/-inf).
fn score_text(s: f64) -> Vec<u8> {
    shoal::num::format_f64_g17(s).into_bytes()
}

/// Every key of every golden file decodes into the contents the writing server reported for it.
#[test]
fn golden_files_decode_to_what_the_server_reported() {
    for name in GOLDEN {
        let (report, keys) = read_golden(name);
        assert!(report.version == 10 || report.version == 11, "{name}");
        let by_key: std::collections::HashMap<(usize, Vec<u8>), &file::KeyRecord> =
            keys.iter().map(|k| ((k.db, k.key.clone()), k)).collect();
        let mut compared = 0;
        for c in checks(name) {
            if c.command.len() < 2 || c.kind == "timing" {
                continue;
            }
            let verb = String::from_utf8_lossy(&c.command[0]).to_uppercase();
            let key = c.command.get(1).cloned().unwrap_or_default();
            let key = if verb == "OBJECT" || verb == "XINFO" { c.command[2].clone() } else { key };
            let Some(rec) = by_key.get(&(c.db, key.clone())) else {
                assert_eq!(c.reply, b":0\r\n", "{name}: key {:?} missing", String::from_utf8_lossy(&key));
                continue;
            };
            if c.key_type != "none" {
                assert_eq!(c.key_type, rec.value.type_name(), "{name}: type of {key:?}");
            }
            let reply = resp(&c.reply);
            match (verb.as_str(), &rec.value) {
                ("GET", Decoded::String(s)) => assert_eq!(reply, RespValue::Bulk(s.clone())),
                ("LRANGE", Decoded::List(items)) => assert_eq!(&bulks(&reply), items),
                ("SMEMBERS", Decoded::Set(items)) => {
                    let (mut a, mut b) = (bulks(&reply), items.clone());
                    a.sort();
                    b.sort();
                    assert_eq!(a, b, "{name} {key:?}");
                }
                ("HGETALL", Decoded::Hash(pairs)) => {
                    let flat = bulks(&reply);
                    let mut a: Vec<(Vec<u8>, Vec<u8>)> = flat.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
                    let mut b = pairs.clone();
                    a.sort();
                    b.sort();
                    assert_eq!(a, b, "{name} {key:?}");
                }
                ("ZRANGE", Decoded::ZSet(pairs)) => {
                    let mut sorted = pairs.clone();
                    sorted.sort_by(|x, y| x.1.total_cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
                    let flat: Vec<Vec<u8>> = sorted.iter().flat_map(|(m, s)| [m.clone(), score_text(*s)]).collect();
                    if name.starts_with("valkey") {
                        // Valkey prints scores in their shortest form, Redis 7.0 with %.17g: compare numbers.
                        let num = |v: &[u8]| shoal::num::parse_f64(v).map(f64::to_bits);
                        let got: Vec<_> = bulks(&reply)
                            .iter()
                            .map(|b| num(b).map_or(b.clone(), |n| n.to_le_bytes().to_vec()))
                            .collect();
                        let want: Vec<_> =
                            flat.iter().map(|b| num(b).map_or(b.clone(), |n| n.to_le_bytes().to_vec())).collect();
                        assert_eq!(got, want, "{name} {key:?}");
                    } else {
                        assert_eq!(bulks(&reply), flat, "{name} {key:?}");
                    }
                }
                ("XRANGE", Decoded::Stream(s)) => {
                    let RespValue::Array(entries) = &reply else { panic!("XRANGE reply") };
                    assert_eq!(entries.len(), s.entries.len());
                    for (e, d) in entries.iter().zip(&s.entries) {
                        let RespValue::Array(parts) = e else { panic!("entry") };
                        assert_eq!(parts[0], RespValue::Bulk(format!("{}-{}", d.id.ms, d.id.seq).into_bytes()));
                        let flat: Vec<Vec<u8>> = d.fields.iter().flat_map(|(f, v)| [f.clone(), v.clone()]).collect();
                        assert_eq!(bulks(&parts[1]), flat);
                    }
                }
                ("XLEN", Decoded::Stream(s)) => assert_eq!(reply, RespValue::Int(s.length as i64)),
                ("XINFO", Decoded::Stream(s)) => {
                    let RespValue::Array(groups) = &reply else { panic!("XINFO GROUPS reply") };
                    assert_eq!(groups.len(), s.groups.len());
                    for (g, d) in groups.iter().zip(&s.groups) {
                        let RespValue::Array(kv) = g else { panic!("group") };
                        let field = |n: &str| {
                            kv.chunks(2).find(|c| c[0] == RespValue::Bulk(n.as_bytes().to_vec())).map(|c| c[1].clone())
                        };
                        assert_eq!(field("name"), Some(RespValue::Bulk(d.name.clone())));
                        assert_eq!(field("consumers"), Some(RespValue::Int(d.consumers.len() as i64)));
                        assert_eq!(field("pending"), Some(RespValue::Int(d.pending.len() as i64)));
                        let last = format!("{}-{}", d.last_id.ms, d.last_id.seq).into_bytes();
                        assert_eq!(field("last-delivered-id"), Some(RespValue::Bulk(last)));
                    }
                }
                ("PEXPIRETIME", _) => {
                    let expect = rec.expire_ms.map_or(-1, |ms| ms as i64);
                    assert_eq!(reply, RespValue::Int(expect), "{name} {key:?}");
                }
                ("TYPE", d) => assert_eq!(reply, RespValue::Simple(d.type_name().as_bytes().to_vec())),
                _ => continue,
            }
            compared += 1;
        }
        let min = if name.contains("functions") { 3 } else { 10 };
        assert!(compared >= min, "{name}: only {compared} checks compared");
    }
}

#[test]
fn golden_files_report_their_skipped_sections() {
    let (report, keys) = read_golden("redis-7.0-functions");
    assert!(report.skipped.iter().any(|s| s.contains("function library")), "{:?}", report.skipped);
    assert_eq!(keys.len(), 1);
    let (report, _) = read_golden("redis-7.0-nochecksum-nocompression");
    assert!(!report.checksum_verified);
    let (report, keys) = read_golden("redis-7.0-strings");
    assert!(report.checksum_verified);
    assert!(keys.iter().any(|k| k.key == b"e:expired"), "Redis saves keys that expired unnoticed");
}

/// A temporary directory holding `files`, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("shoal-rdb-{tag}-{}-{}", std::process::id(), fastrand::u32(..)));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Shoal started on a copy of golden file `name` as its dbfilename.
fn shoal_on(name: &str, dir: &TempDir, extra: &[&str]) -> Server {
    std::fs::copy(fixtures().join(format!("{name}.rdb")), dir.path().join("dump.rdb")).expect("copy golden");
    let d = dir.path().to_string_lossy().into_owned();
    let mut args = vec!["--dir", d.as_str(), "--enable-debug-command", "yes"];
    args.extend_from_slice(extra);
    Server::shoal(&args)
}

fn call_in_db(c: &mut Conn, db: usize, cmd: &[Vec<u8>]) -> Vec<u8> {
    assert_eq!(c.call(&["SELECT", &db.to_string()]), b"+OK\r\n");
    let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
    c.call_bytes(&args)
}

/// Whether two raw replies agree under a check's comparison kind (sets and hash pairs are unordered).
fn same_reply(kind: &str, a: &[u8], b: &[u8]) -> bool {
    match kind {
        "unordered" | "pairs" => {
            let (RespValue::Array(x), RespValue::Array(y)) = (resp(a), resp(b)) else { return a == b };
            let step = if kind == "pairs" { 2 } else { 1 };
            let group = |v: Vec<RespValue>| {
                let mut g: Vec<String> = v.chunks(step).map(|c| format!("{c:?}")).collect();
                g.sort();
                g
            };
            group(x) == group(y)
        }
        _ => a == b,
    }
}

/// Whether a check applies to a Valkey file: Valkey 8 picks other encodings (embstr up to 44 bytes is raw
/// there, small string sets are listpacks), prints scores in shortest form and adds XINFO fields.
fn valkey_comparable(check: &Check) -> bool {
    let verb = String::from_utf8_lossy(&check.command[0]).to_uppercase();
    !matches!(verb.as_str(), "OBJECT" | "ZRANGE" | "XINFO")
}

/// Shoal loads each golden file and answers exactly as the server that wrote it, for every key of every
/// type (contents, TYPE, OBJECT ENCODING, PEXPIRETIME; streams' groups and consumers).
#[test]
fn shoal_loads_golden_files_and_replies_like_the_writer() {
    for name in GOLDEN {
        let dir = TempDir::new("golden");
        let server = shoal_on(name, &dir, &[]);
        let mut c = server.conn();
        let mut n = 0;
        for check in checks(name) {
            if check.kind == "timing" || (name.starts_with("valkey") && !valkey_comparable(&check)) {
                continue;
            }
            let got = call_in_db(&mut c, check.db, &check.command);
            assert!(
                same_reply(&check.kind, &got, &check.reply),
                "{name}: {:?}\n shoal: {}\n redis: {}",
                check.command.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>(),
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&check.reply)
            );
            n += 1;
        }
        assert!(n > 0);
        let info = c.text(&["INFO", "persistence"]);
        assert!(info.contains("rdb_last_load_keys_expired:"), "{info}");
    }
}

/// Starts shoal-server on `dir` and waits (with a deadline) until it exits or logs readiness; returns
/// (ready, log).
fn run_to_exit_or_ready(dir: &Path) -> (bool, String) {
    let port = support::free_port();
    let log_path = dir.join("server.log");
    let mut child = Command::new(support::shoal_binary())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--dir"])
        .arg(dir)
        .args(["--logfile"])
        .arg(&log_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn shoal-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("Ready to accept connections") {
            let _ = child.kill();
            let _ = child.wait();
            return (true, log);
        }
        if let Ok(Some(_)) = child.try_wait() {
            return (false, std::fs::read_to_string(&log_path).unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "server neither started nor exited: {log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn corrupt_or_truncated_files_stop_the_start_with_offset_and_reason() {
    let good = std::fs::read(fixtures().join("redis-7.0-strings.rdb")).expect("golden");
    let mut flipped = good.clone();
    flipped[5000] ^= 0x40;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() / 2].to_vec()),
        ("flipped", flipped),
        ("not an rdb", b"hello world, not a snapshot".to_vec()),
    ];
    for (what, bytes) in cases {
        let dir = TempDir::new("corrupt");
        std::fs::write(dir.path().join("dump.rdb"), &bytes).expect("write");
        let (ready, log) = run_to_exit_or_ready(dir.path());
        assert!(!ready, "{what}: started on a corrupt file");
        assert!(log.contains("Error at offset"), "{what}: {log}");
    }
}

/// Whether a key's DUMP payload is fully determined by its contents and insertion order, so Shoal's must
/// equal Redis's byte for byte. Not so for hash tables and skiplists (written in table order) and for a
/// stream that had entries deleted (`x:plain`: Redis's listpacks keep deleted entries flagged); those are
/// checked by restoring Shoal's payload into redis-server instead.
fn deterministic(ty: &str, enc: &str, key: &[u8]) -> bool {
    matches!(enc, "int" | "embstr" | "raw" | "listpack" | "intset" | "quicklist")
        || (ty == "stream" && key != b"x:plain")
}

/// DUMP of every key of the golden files equals redis-server 7.0.15's payload byte for byte where the
/// encoding is deterministic, every Redis payload restores in Shoal to the same value, and every Shoal
/// payload restores in redis-server to the same value.
#[test]
fn dump_matches_redis_and_payloads_restore_both_ways() {
    let redis = Server::redis(&[]);
    let mut r = redis.conn();
    for name in ["redis-7.0-strings", "redis-7.0-nochecksum-nocompression", "redis-7.0-collections"] {
        let dir = TempDir::new("dump");
        let compression = if name.contains("nocompression") { "no" } else { "yes" };
        let server = shoal_on(name, &dir, &["--rdbcompression", compression]);
        let mut c = server.conn();
        assert_eq!(r.call(&["CONFIG", "SET", "rdbcompression", compression]), b"+OK\r\n");
        let all = checks(name);
        for (db, ty, enc, key, payload) in dumps(name) {
            let got = call_in_db(&mut c, db, &[b"DUMP".to_vec(), key.clone()]);
            let RespValue::Bulk(mine) = resp(&got) else { panic!("DUMP {key:?}: {got:?}") };
            if deterministic(&ty, &enc, &key) {
                let diff = mine.iter().zip(&payload).position(|(a, b)| a != b).unwrap_or(mine.len().min(payload.len()));
                assert!(
                    mine == payload,
                    "{name}: DUMP {:?} ({ty}, {enc}): {} vs {} bytes, first difference at {diff}",
                    String::from_utf8_lossy(&key),
                    mine.len(),
                    payload.len()
                );
            }
            // Redis's payload restores in Shoal, Shoal's in Redis; both then answer like the original key.
            let r1 = c.call_bytes(&[b"RESTORE", b"restored", b"0", &payload, b"REPLACE"]);
            assert_eq!(r1, b"+OK\r\n", "{name}: RESTORE {:?}", String::from_utf8_lossy(&key));
            assert_eq!(r.call(&["SELECT", &db.to_string()]), b"+OK\r\n");
            let r2 = r.call_bytes(&[b"RESTORE", b"from-shoal", b"0", &mine, b"REPLACE"]);
            assert_eq!(r2, b"+OK\r\n", "{name}: redis RESTORE of {:?}", String::from_utf8_lossy(&key));
            for check in all.iter().filter(|ch| ch.db == db && ch.command.get(1) == Some(&key) && ch.kind != "timing") {
                let verb = String::from_utf8_lossy(&check.command[0]).to_uppercase();
                if verb == "PEXPIRETIME" || verb == "XINFO" || verb == "OBJECT" {
                    continue;
                }
                let mut cmd = check.command.clone();
                cmd[1] = b"restored".to_vec();
                let got = call_in_db(&mut c, db, &cmd);
                assert!(same_reply(&check.kind, &got, &check.reply), "{name}: {verb} after RESTORE in Shoal");
                cmd[1] = b"from-shoal".to_vec();
                let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
                let got = r.call_bytes(&args);
                assert!(same_reply(&check.kind, &got, &check.reply), "{name}: {verb} after RESTORE in Redis");
            }
        }
    }
}

#[test]
fn restore_errors_and_options_match_redis() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    c.call(&["SET", "src", "hello"]);
    let payload = match c.value(&["DUMP", "src"]) {
        RespValue::Bulk(b) => b,
        other => panic!("{other:?}"),
    };
    let p = payload.as_slice();
    assert_eq!(c.call_bytes(&[b"RESTORE", b"src", b"0", p]), b"-BUSYKEY Target key name already exists.\r\n");
    assert_eq!(c.call_bytes(&[b"RESTORE", b"n", b"-1", p]), b"-ERR Invalid TTL value, must be >= 0\r\n");
    assert_eq!(c.call_bytes(&[b"RESTORE", b"n", b"x", p]), b"-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.call_bytes(&[b"RESTORE", b"n", b"0", p, b"foo"]), b"-ERR syntax error\r\n");
    assert_eq!(
        c.call_bytes(&[b"RESTORE", b"n", b"0", p, b"IDLETIME", b"-1"]),
        b"-ERR Invalid IDLETIME value, must be >= 0\r\n"
    );
    assert_eq!(
        c.call_bytes(&[b"RESTORE", b"n", b"0", p, b"FREQ", b"256"]),
        b"-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"
    );
    assert_eq!(c.call_bytes(&[b"RESTORE", b"n", b"0", p, b"IDLETIME", b"1", b"FREQ", b"2"]), b"-ERR syntax error\r\n");
    let mut bad = payload.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(c.call_bytes(&[b"RESTORE", b"n", b"0", &bad]), b"-ERR DUMP payload version or checksum are wrong\r\n");
    let mut newer = payload.clone();
    let v = newer.len() - 10;
    newer[v] = 11;
    assert_eq!(c.call_bytes(&[b"RESTORE", b"n", b"0", &newer]), b"-ERR DUMP payload version or checksum are wrong\r\n");
    assert_eq!(
        c.call_bytes(&[b"RESTORE", b"n", b"0", b"short"]),
        b"-ERR DUMP payload version or checksum are wrong\r\n"
    );
    // A valid checksum over a value that does not parse.
    let mut junk = vec![0x00, 0x05, b'a', 0x0a, 0x00];
    let crc = shoal::rdb::crc64::crc64(&junk);
    junk.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(c.call_bytes(&[b"RESTORE", b"n", b"0", &junk]), b"-ERR Bad data format\r\n");
    // TTLs: relative, absolute, already expired (nothing created), REPLACE, IDLETIME.
    assert_eq!(c.call_bytes(&[b"RESTORE", b"t", b"100000", p]), b"+OK\r\n");
    assert!(matches!(c.value(&["PTTL", "t"]), RespValue::Int(n) if n > 90_000 && n <= 100_000));
    assert_eq!(c.call_bytes(&[b"RESTORE", b"a", b"4102444800000", p, b"ABSTTL"]), b"+OK\r\n");
    assert_eq!(c.call(&["PEXPIRETIME", "a"]), b":4102444800000\r\n");
    assert_eq!(c.call_bytes(&[b"RESTORE", b"gone", b"1", p, b"ABSTTL"]), b"+OK\r\n");
    assert_eq!(c.call(&["EXISTS", "gone"]), b":0\r\n");
    assert_eq!(c.call_bytes(&[b"RESTORE", b"src", b"1", p, b"ABSTTL", b"REPLACE"]), b"+OK\r\n");
    assert_eq!(c.call(&["EXISTS", "src"]), b":0\r\n", "REPLACE with an expired TTL deletes the key");
    assert_eq!(c.call_bytes(&[b"RESTORE", b"idle", b"0", p, b"IDLETIME", b"1000"]), b"+OK\r\n");
    assert!(matches!(c.value(&["OBJECT", "IDLETIME", "idle"]), RespValue::Int(n) if (1000..1010).contains(&n)));
    assert_eq!(c.call(&["GET", "idle"]), b"$5\r\nhello\r\n");
    assert_eq!(c.call(&["DUMP", "nokey"]), b"$-1\r\n");
}

/// Payloads Shoal makes restore in redis-server 7.0.15 to the same value.
#[test]
fn shoal_payloads_restore_in_redis() {
    let shoal = Server::shoal(&[]);
    let redis = Server::redis(&[]);
    let (mut s, mut r) = (shoal.conn(), redis.conn());
    let values: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"12".to_vec(),
        b"-2147483648".to_vec(),
        b"9223372036854775807".to_vec(),
        b"007".to_vec(),
        vec![b'q'; 5000],
        (0..3000u32).map(|i| (i * 7919 % 256) as u8).collect(),
    ];
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{i}");
        s.call_bytes(&[b"SET", key.as_bytes(), v]);
        r.call_bytes(&[b"SET", key.as_bytes(), v]);
        let dump = s.call(&["DUMP", &key]);
        assert_eq!(dump, r.call(&["DUMP", &key]), "DUMP of {key}");
        let RespValue::Bulk(payload) = resp(&dump) else { panic!("bulk") };
        assert_eq!(r.call_bytes(&[b"RESTORE", b"from-shoal", b"0", &payload, b"REPLACE"]), b"+OK\r\n");
        assert_eq!(r.call(&["GET", "from-shoal"]), r.call(&["GET", &key]));
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Shoal's files (SAVE and BGSAVE, every type) pass redis-check-rdb and load in redis-server, which then
/// answers like the server that wrote the golden file.
#[test]
fn shoal_files_pass_redis_check_rdb_and_load_in_redis() {
    for name in ["redis-7.0-strings", "redis-7.0-collections"] {
        let dir = TempDir::new("write");
        let server = shoal_on(name, &dir, &[]);
        let mut c = server.conn();
        c.call(&["SET", "added-by-shoal", "x"]);
        assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
        let file = dir.path().join("dump.rdb");
        let out = Command::new("redis-check-rdb").arg(&file).output().expect("redis-check-rdb is installed");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("RDB looks OK"), "{text}");
        // BGSAVE produces the same kind of file.
        assert_eq!(c.call(&["BGSAVE"]), b"+Background saving started\r\n");
        wait_until("bgsave", || c.text(&["INFO", "persistence"]).contains("rdb_bgsave_in_progress:0"));
        assert!(c.text(&["INFO", "persistence"]).contains("rdb_last_bgsave_status:ok"));
        let out = Command::new("redis-check-rdb").arg(&file).output().expect("redis-check-rdb");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        let rdir = TempDir::new("redis-load");
        std::fs::copy(&file, rdir.path().join("dump.rdb")).expect("copy");
        let d = rdir.path().to_string_lossy().into_owned();
        let redis = Server::redis(&["--dir", &d]);
        let mut r = redis.conn();
        for check in checks(name) {
            if check.kind == "timing" {
                continue;
            }
            let got = call_in_db(&mut r, check.db, &check.command);
            assert!(
                same_reply(&check.kind, &got, &check.reply),
                "{name}: {:?}\n redis on shoal's file: {}\n golden: {}",
                check.command.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>(),
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&check.reply)
            );
        }
        assert_eq!(call_in_db(&mut r, 0, &[b"GET".to_vec(), b"added-by-shoal".to_vec()]), b"$1\r\nx\r\n");
    }
}

/// A save that cannot write its temporary file answers `-ERR` and leaves the previous snapshot alone.
#[test]
fn failed_save_reports_an_error_and_keeps_the_old_file() {
    let dir = TempDir::new("fail");
    let d = dir.path().to_string_lossy().into_owned();
    let server = Server::shoal(&["--dir", &d]);
    let mut c = server.conn();
    c.call(&["SET", "k", "v1"]);
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    let before = std::fs::read(dir.path().join("dump.rdb")).expect("saved");
    // A directory where the temp file should go makes the save fail.
    std::fs::create_dir(dir.path().join(format!("temp-{}.rdb", server.child.id()))).expect("mkdir");
    c.call(&["SET", "k", "v2"]);
    assert_eq!(c.call(&["SAVE"]), b"-ERR\r\n");
    assert_eq!(std::fs::read(dir.path().join("dump.rdb")).expect("still there"), before);
    assert!(c.text(&["INFO", "persistence"]).contains("rdb_changes_since_last_save:1"));
    // With the final name taken by a directory, BGSAVE's child fails and SHUTDOWN SAVE refuses to exit.
    std::fs::remove_file(dir.path().join("dump.rdb")).expect("rm");
    std::fs::create_dir(dir.path().join("dump.rdb")).expect("mkdir");
    std::fs::remove_dir(dir.path().join(format!("temp-{}.rdb", server.child.id()))).expect("rmdir");
    assert_eq!(c.call(&["BGSAVE"]), b"+Background saving started\r\n");
    wait_until("failed bgsave", || c.text(&["INFO", "persistence"]).contains("rdb_bgsave_in_progress:0"));
    assert!(c.text(&["INFO", "persistence"]).contains("rdb_last_bgsave_status:err"));
    assert_eq!(c.call(&["SHUTDOWN", "SAVE"]), b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    assert_eq!(c.call(&["PING"]), b"+PONG\r\n");
}

#[test]
fn snapshot_commands_schedule_shutdown_and_reload() {
    let dir = TempDir::new("snap");
    let d = dir.path().to_string_lossy().into_owned();
    let mut server = Server::shoal(&["--dir", &d, "--save", "1 1", "--enable-debug-command", "yes"]);
    let mut c = server.conn();
    assert_eq!(c.call(&["BGSAVE", "x"]), b"-ERR syntax error\r\n");
    assert_eq!(c.call(&["BGSAVE", "x", "y"]), b"-ERR syntax error\r\n");
    assert!(matches!(c.value(&["LASTSAVE"]), RespValue::Int(_)));
    c.call(&["SET", "a", "1"]);
    c.call(&["SELECT", "2"]);
    c.call(&["SET", "b", "2", "PX", "1000000"]);
    // The `save 1 1` point fires within a couple of seconds.
    wait_until("scheduled save", || c.text(&["INFO", "persistence"]).contains("rdb_changes_since_last_save:0"));
    assert!(dir.path().join("dump.rdb").exists());
    // MULTI/EXEC schedules instead of forking.
    c.call(&["MULTI"]);
    c.call(&["BGSAVE"]);
    assert_eq!(c.call(&["EXEC"]), b"*1\r\n+Background saving scheduled\r\n");
    wait_until("scheduled bgsave", || c.text(&["INFO", "persistence"]).contains("rdb_bgsave_in_progress:0"));
    // DEBUG RELOAD keeps everything, TTL included.
    c.call(&["SET", "c", "3"]);
    assert_eq!(c.call(&["DEBUG", "RELOAD"]), b"+OK\r\n");
    assert_eq!(c.call(&["GET", "b"]), b"$1\r\n2\r\n");
    assert!(matches!(c.value(&["PTTL", "b"]), RespValue::Int(n) if n > 0));
    assert_eq!(
        c.call(&["DEBUG", "RELOAD", "BOGUS"]),
        b"-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n"
    );
    // SHUTDOWN SAVE writes the final snapshot; a restart (same dir) loads it.
    c.call(&["SET", "d", "4"]);
    c.send_raw(&Conn::encode(&[b"SHUTDOWN", b"SAVE"]));
    let _ = c.read_to_close();
    let _ = server.child.wait();
    server.restart();
    let mut c = server.conn();
    c.call(&["SELECT", "2"]);
    assert_eq!(c.call(&["MGET", "a", "b", "c", "d"]), b"*4\r\n$-1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    assert!(c.text(&["INFO", "persistence"]).contains("rdb_last_load_keys_loaded:4"));
}

/// The pids of `pid`'s children (every thread's, since any worker may have forked).
fn children_of(pid: u32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            let text = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            out.extend(text.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    out
}

/// Crash tests: a save kept running (`rdb-key-save-delay`) refuses a second one; `kill -9` of its child
/// marks the save failed and leaves the previous snapshot; `kill -9` of the server and child mid-save
/// leaves the previous snapshot loadable.
#[test]
fn kill_9_during_a_save_keeps_the_previous_snapshot() {
    let dir = TempDir::new("crash");
    let d = dir.path().to_string_lossy().into_owned();
    let mut server = Server::shoal(&["--dir", &d]);
    let mut c = server.conn();
    c.call(&["SET", "k", "v1"]);
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    let snapshot = std::fs::read(dir.path().join("dump.rdb")).expect("saved");
    for i in 0..50 {
        c.call(&["SET", &format!("more:{i}"), "x"]);
    }
    c.call(&["SET", "k", "v2"]);
    assert_eq!(c.call(&["CONFIG", "SET", "rdb-key-save-delay", "200000"]), b"+OK\r\n");
    for round in 0..2 {
        assert_eq!(c.call(&["BGSAVE"]), b"+Background saving started\r\n");
        assert_eq!(c.call(&["BGSAVE"]), b"-ERR Background save already in progress\r\n");
        assert_eq!(c.call(&["BGSAVE", "SCHEDULE"]), b"-ERR Background save already in progress\r\n");
        assert_eq!(c.call(&["SAVE"]), b"-ERR Background save already in progress\r\n");
        let info = c.text(&["INFO", "persistence"]);
        assert!(info.contains("rdb_bgsave_in_progress:1") && info.contains("rdb_current_bgsave_time_sec:0"), "{info}");
        let children = children_of(server.child.id());
        assert_eq!(children.len(), 1, "one BGSAVE child");
        if round == 0 {
            // The child dies: the save failed, the old file stays, the temp file is removed.
            // SAFETY: kill(2) on our server's child.
            unsafe { libc::kill(children[0], libc::SIGKILL) };
            wait_until("reaped child", || c.text(&["INFO", "persistence"]).contains("rdb_bgsave_in_progress:0"));
            assert!(c.text(&["INFO", "persistence"]).contains("rdb_last_bgsave_status:err"));
            assert!(!dir.path().join(format!("temp-{}.rdb", children[0])).exists());
            assert_eq!(std::fs::read(dir.path().join("dump.rdb")).expect("kept"), snapshot);
        } else {
            // The whole server dies mid-save (child included): the previous snapshot is what comes back.
            // SAFETY: kill(2) on our server's child.
            unsafe { libc::kill(children[0], libc::SIGKILL) };
            server.restart();
            let mut c = server.conn();
            assert_eq!(c.call(&["GET", "k"]), b"$2\r\nv1\r\n");
            assert_eq!(c.call(&["DBSIZE"]), b":1\r\n");
        }
    }
}

#[path = "rdb/in_process.rs"]
mod in_process;
#[path = "rdb/old_formats.rs"]
mod old_formats;
#[path = "rdb/props.rs"]
mod props;
