//! Differential tests: every script under tests/differential/ runs against a real redis-server 7.0.15 and
//! against shoal-server, and the raw replies must match (format: tests/differential/README.md).

mod support;

use shoal::protocol::split_args::split_args;
use shoal::protocol::value::RespValue;
use support::Server;

/// A canonical form for `~` lines: every array and set, at any depth, sorted (SCAN's `[cursor, [keys]]`).
fn canonical(v: &RespValue) -> String {
    match v {
        RespValue::Array(items) | RespValue::Set(items) => {
            let mut parts: Vec<String> = items.iter().map(canonical).collect();
            parts.sort();
            format!("[{}]", parts.join(","))
        }
        other => format!("{other:?}"),
    }
}

fn sorted_collection(raw: &[u8]) -> Option<String> {
    RespValue::parse(raw).map(|(v, _)| canonical(&v))
}

fn int_of(raw: &[u8]) -> Option<i64> {
    match RespValue::parse(raw)?.0 {
        RespValue::Int(n) => Some(n),
        _ => None,
    }
}

fn run_script(name: &str, script: &str) -> Vec<String> {
    // A first line `#! --flag value ...` starts both servers with those extra arguments.
    let extra: Vec<&str> = script
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("#!"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    let redis = Server::redis(&extra);
    let shoal = Server::shoal(&extra);
    let mut r = redis.conn();
    let mut s = shoal.conn();
    let mut failures = Vec::new();
    for (lineno, line) in script.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let where_ = format!("{name}:{}: {line}", lineno + 1);
        if let Some(proto) = line.strip_prefix("@resp") {
            for c in [&mut r, &mut s] {
                c.call(&["HELLO", proto.trim()]);
            }
            continue;
        }
        if let Some(ms) = line.strip_prefix("@sleep") {
            std::thread::sleep(std::time::Duration::from_millis(ms.trim().parse().unwrap_or(0)));
            continue;
        }
        let (mode, command) = match line.as_bytes() {
            [m @ (b'~' | b'?' | b'%'), b' ', ..] => (*m, &line[2..]),
            _ => (b'=', line),
        };
        let Some(args) = split_args(command.as_bytes()) else {
            failures.push(format!("{where_}: unparsable line"));
            continue;
        };
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let expected = r.call_bytes(&args);
        let got = s.call_bytes(&args);
        let same = match mode {
            b'~' => sorted_collection(&expected) == sorted_collection(&got),
            b'?' => expected.first() == got.first(),
            b'%' => match (int_of(&expected), int_of(&got)) {
                (Some(a), Some(b)) => (a - b).abs() <= 1,
                _ => expected == got,
            },
            _ => expected == got,
        };
        if !same {
            failures.push(format!(
                "{where_}\n    redis: {:?}\n    shoal: {:?}",
                String::from_utf8_lossy(&expected),
                String::from_utf8_lossy(&got)
            ));
        }
    }
    failures
}

#[test]
fn scripts_match_redis() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/differential exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    entries.sort();
    // DIFF_ONLY=keys,strings runs a subset while developing.
    if let Ok(only) = std::env::var("DIFF_ONLY") {
        let wanted: Vec<&str> = only.split(',').collect();
        entries.retain(|p| p.file_stem().is_some_and(|s| wanted.contains(&s.to_string_lossy().as_ref())));
    }
    assert!(!entries.is_empty(), "no differential scripts found");
    let mut failures = Vec::new();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let script = std::fs::read_to_string(&path).expect("readable script");
        failures.extend(run_script(&name, &script));
    }
    assert!(failures.is_empty(), "{} differences from redis-server:\n{}", failures.len(), failures.join("\n"));
}
