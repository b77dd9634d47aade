//! Real clients against the real binary: redis-cli (including --pipe), redis-benchmark, and the `redis` crate
//! over RESP2 and RESP3.

mod support;

use std::process::Command;

use redis::AsyncCommands;
use support::{redis_cli, Server};

#[test]
fn redis_cli_round_trips() {
    let server = Server::shoal(&[]);
    let port = server.port.to_string();
    assert_eq!(redis_cli(&["-p", &port, "SET", "greeting", "hello world"]).trim(), "OK");
    assert_eq!(redis_cli(&["-p", &port, "GET", "greeting"]).trim(), "hello world");
    assert_eq!(redis_cli(&["-p", &port, "INCRBYFLOAT", "f", "1.1"]).trim(), "1.1");
    assert_eq!(redis_cli(&["-p", &port, "-3", "HELLO", "3"]).lines().next().unwrap_or(""), "server redis");
    assert_eq!(redis_cli(&["-p", &port, "DBSIZE"]).trim(), "2");
    assert!(redis_cli(&["-p", &port, "NOSUCH"]).starts_with("ERR unknown command 'NOSUCH'"));
}

#[test]
fn redis_cli_pipe_mass_insert() {
    let server = Server::shoal(&[]);
    let mut input = Vec::new();
    for i in 0..20_000 {
        input.extend_from_slice(&support::Conn::encode(&[b"SET", format!("key:{i}").as_bytes(), b"value"]));
    }
    let mut child = Command::new("redis-cli")
        .args(["-p", &server.port.to_string(), "--pipe"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("redis-cli");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&input).expect("write");
    }
    let out = child.wait_with_output().expect("done");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors: 0, replies: 20000"), "{text}");
    assert_eq!(server.conn().text(&["DBSIZE"]), ":20000\r\n");
}

#[test]
fn redis_benchmark_runs_clean() {
    let server = Server::shoal(&[]);
    let out = Command::new("redis-benchmark")
        .args(["-p", &server.port.to_string(), "-t", "set,get,incr,mset,ping", "-n", "5000", "-q", "-P", "4"])
        .output()
        .expect("redis-benchmark");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    for test in ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"] {
        assert!(text.contains(&format!("{test}: ")), "missing {test} in {text}");
    }
    assert!(!text.to_lowercase().contains("error"), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn redis_crate_resp2_and_resp3() {
    let server = Server::shoal(&[]);
    for url in
        [format!("redis://127.0.0.1:{}/", server.port), format!("redis://127.0.0.1:{}/?protocol=resp3", server.port)]
    {
        let client = redis::Client::open(url.as_str()).expect("url");
        let mut con = client.get_multiplexed_async_connection().await.expect("connect");
        let _: () = con.set("k", "v").await.expect("set");
        let v: String = con.get("k").await.expect("get");
        assert_eq!(v, "v");
        let n: i64 = con.incr("counter", 5).await.expect("incr");
        assert!(n == 5 || n == 10);
        let _: () = con.mset(&[("a", "1"), ("b", "2")]).await.expect("mset");
        let got: Vec<Option<String>> = con.mget(&["a", "b", "missing"]).await.expect("mget");
        assert_eq!(got, vec![Some("1".into()), Some("2".into()), None]);
        let ttl: i64 = {
            let _: () = con.expire("k", 100).await.expect("expire");
            con.ttl("k").await.expect("ttl")
        };
        assert!((99..=100).contains(&ttl));
        let err = redis::cmd("GET").arg("a").arg("b").query_async::<()>(&mut con).await.expect_err("arity error");
        assert!(err.to_string().contains("wrong number of arguments for 'get' command"), "{err}");
    }
}
