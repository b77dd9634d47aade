//! The command table against Redis 7.0.15: every COMMAND INFO entry the live server gives must equal the entry
//! captured from redis-server (tests/fixtures/redis-7.0.15/command-info.resp2, by scripts/capture-redis-fixtures),
//! except that a container lists only the subcommands Shoal implements. The Redis 7.2 additions Shoal implements
//! (CLIENT SETINFO, CLIENT NO-TOUCH, CLUSTER MYSHARDID, ZRANK/ZREVRANK) are compared with tests/fixtures/redis-7.2-additions/.

mod support;

use std::collections::HashMap;

use shoal::protocol::value::RespValue;
use support::Server;

/// Every captured entry by name, subcommands included. The 7.2 additions come first so that an entry 7.2 changed
/// (ZRANK/ZREVRANK gained WITHSCORE) is compared with its 7.2 form.
fn fixture() -> HashMap<Vec<u8>, RespValue> {
    let mut by_name = HashMap::new();
    for file in ["redis-7.2-additions/command-info.resp2", "redis-7.0.15/command-info.resp2"] {
        let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
        let raw = std::fs::read(&path).expect("fixture present");
        let Some((RespValue::Array(entries), _)) = RespValue::parse(&raw) else { panic!("{file} is not an array") };
        let mut stack = entries;
        while let Some(e) = stack.pop() {
            if let RespValue::Array(fields) = &e {
                if let Some(name) = fields.first().and_then(RespValue::as_bytes) {
                    by_name.entry(name.to_vec()).or_insert_with(|| e.clone());
                }
                if let Some(RespValue::Array(subs)) = fields.get(9) {
                    stack.extend(subs.iter().cloned());
                }
            }
        }
    }
    by_name
}

/// The captured entry with its subcommand list replaced by the captured entries of the subcommands in `keep`.
fn restrict_subcommands(entry: &RespValue, keep: &[Vec<u8>], all: &HashMap<Vec<u8>, RespValue>) -> RespValue {
    let RespValue::Array(fields) = entry else { return entry.clone() };
    let mut fields = fields.clone();
    if fields.len() > 9 {
        fields[9] = RespValue::Array(keep.iter().filter_map(|k| all.get(k).cloned()).collect());
    }
    RespValue::Array(fields)
}

fn subcommand_names(entry: &RespValue) -> Vec<Vec<u8>> {
    match entry {
        RespValue::Array(fields) => match fields.get(9) {
            Some(RespValue::Array(subs)) => subs
                .iter()
                .filter_map(|s| match s {
                    RespValue::Array(f) => f.first().and_then(RespValue::as_bytes).map(<[u8]>::to_vec),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

#[test]
fn every_command_info_matches_redis_7_0_15() {
    let redis = fixture();
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    let RespValue::Array(names) = c.value(&["COMMAND", "LIST"]) else { panic!("COMMAND LIST is an array") };
    let RespValue::Int(count) = c.value(&["COMMAND", "COUNT"]) else { panic!("COMMAND COUNT is an integer") };
    assert_eq!(count as usize, names.len());
    assert!(names.len() >= 60, "the table lists the implemented commands");
    for name in &names {
        let name = String::from_utf8_lossy(name.as_bytes().expect("bulk name")).into_owned();
        let RespValue::Array(mut entries) = c.value(&["COMMAND", "INFO", &name]) else { panic!("array") };
        let ours = entries.remove(0);
        let theirs = redis.get(name.as_bytes()).unwrap_or_else(|| panic!("{name} is not a Redis 7.0.15 command"));
        let ours_subs = subcommand_names(&ours);
        for sub in &ours_subs {
            assert!(redis.contains_key(sub), "{} is not a Redis command", String::from_utf8_lossy(sub));
        }
        let expected = restrict_subcommands(theirs, &ours_subs, &redis);
        assert_eq!(ours, expected, "COMMAND INFO {name} differs from redis-server 7.0.15");
        // Every listed command dispatches to a handler: it never answers "unknown command".
        if matches!(name.as_str(), "shutdown" | "quit" | "monitor" | "multi") {
            continue;
        }
        let reply = c.text(&[&name]);
        assert!(!reply.starts_with("-ERR unknown command"), "{name} is listed but unknown: {reply}");
    }
}

#[test]
fn unknown_commands_are_rejected_like_redis() {
    let server = Server::shoal(&[]);
    let mut c = server.conn();
    assert_eq!(c.text(&["NOSUCH", "a", "b"]), "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n");
    assert_eq!(c.text(&["CONFIG", "NOSUCH"]), "-ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.\r\n");
    assert_eq!(c.text(&["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
    assert_eq!(c.text(&["CONFIG", "GET"]), "-ERR wrong number of arguments for 'config|get' command\r\n");
}
