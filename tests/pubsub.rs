//! Pub/Sub with several real clients: delivery to channel and pattern subscribers, RESP3 pushes, the RESP2
//! subscribed mode, CLIENT LIST counts, a subscriber that never reads being dropped at the pubsub output
//! limit, and PUBLISH across a three-node Shoal cluster. Where the behaviour is Redis's, the same scenario
//! runs against redis-server too.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{redis_cli, Conn, Server};

fn msg(kind: &str, parts: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n${}\r\n{kind}\r\n", parts.len() + 1, kind.len()).into_bytes();
    for p in parts {
        out.extend_from_slice(format!("${}\r\n{p}\r\n", p.len()).as_bytes());
    }
    out
}

/// A subscription confirmation: `*3 $9 subscribe $4 news :1`.
fn confirm(kind: &str, channel: &str, count: usize) -> Vec<u8> {
    format!("*3\r\n${}\r\n{kind}\r\n${}\r\n{channel}\r\n:{count}\r\n", kind.len(), channel.len()).into_bytes()
}

fn publish_reaches_subscribers(server: &Server) {
    let mut sub = server.conn();
    let mut psub = server.conn();
    let mut publisher = server.conn();
    assert_eq!(sub.call(&["SUBSCRIBE", "news"]), confirm("subscribe", "news", 1));
    assert_eq!(psub.call(&["PSUBSCRIBE", "n*"]), confirm("psubscribe", "n*", 1));
    assert_eq!(publisher.call(&["PUBLISH", "news", "hello"]), b":2\r\n");
    assert_eq!(sub.read_reply(), msg("message", &["news", "hello"]));
    assert_eq!(psub.read_reply(), msg("pmessage", &["n*", "news", "hello"]));
    assert_eq!(publisher.call(&["PUBLISH", "nothing-here", "x"]), b":1\r\n");
    assert_eq!(psub.read_reply(), msg("pmessage", &["n*", "nothing-here", "x"]));
    assert_eq!(publisher.call(&["PUBLISH", "other", "x"]), b":0\r\n");
    assert_eq!(publisher.call(&["PUBSUB", "NUMSUB", "news"]), b"*2\r\n$4\r\nnews\r\n:1\r\n");
    assert_eq!(publisher.call(&["PUBSUB", "NUMPAT"]), b":1\r\n");
    // A subscriber that goes away is no longer counted.
    drop(sub);
    let deadline = Instant::now() + Duration::from_secs(10);
    while publisher.call(&["PUBSUB", "NUMSUB", "news"]) != b"*2\r\n$4\r\nnews\r\n:0\r\n" {
        assert!(Instant::now() < deadline, "a closed subscriber stayed subscribed");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(publisher.call(&["PUBLISH", "news", "again"]), b":1\r\n");
    assert_eq!(psub.read_reply(), msg("pmessage", &["n*", "news", "again"]));
}

#[test]
fn publish_reaches_channel_and_pattern_subscribers() {
    publish_reaches_subscribers(&Server::shoal(&[]));
    publish_reaches_subscribers(&Server::redis(&[]));
}

fn resp3_subscriber(server: &Server) {
    let mut sub = server.conn();
    let mut publisher = server.conn();
    sub.call(&["HELLO", "3"]);
    assert_eq!(sub.call(&["SUBSCRIBE", "news"]), b">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    assert_eq!(sub.call(&["SSUBSCRIBE", "shard"]), b">3\r\n$10\r\nssubscribe\r\n$5\r\nshard\r\n:1\r\n");
    // Normal commands still run while subscribed.
    assert_eq!(sub.call(&["SET", "k", "v"]), b"+OK\r\n");
    assert_eq!(sub.call(&["GET", "k"]), b"$1\r\nv\r\n");
    assert_eq!(sub.call(&["PING"]), b"+PONG\r\n");
    assert_eq!(publisher.call(&["PUBLISH", "news", "hi"]), b":1\r\n");
    assert_eq!(sub.read_reply(), b">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
    assert_eq!(publisher.call(&["SPUBLISH", "shard", "yo"]), b":1\r\n");
    assert_eq!(sub.read_reply(), b">3\r\n$8\r\nsmessage\r\n$5\r\nshard\r\n$2\r\nyo\r\n");
    // A message to itself comes before the PUBLISH reply.
    sub.send_raw(&Conn::encode(&[b"PUBLISH", b"news", b"self"]));
    assert_eq!(sub.read_reply(), b">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$4\r\nself\r\n");
    assert_eq!(sub.read_reply(), b":1\r\n");
    assert_eq!(sub.call(&["UNSUBSCRIBE"]), b">3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n");
    assert_eq!(sub.call(&["SUNSUBSCRIBE"]), b">3\r\n$12\r\nsunsubscribe\r\n$5\r\nshard\r\n:0\r\n");
    assert_eq!(sub.call(&["UNSUBSCRIBE"]), b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
}

#[test]
fn resp3_subscribers_get_pushes_and_keep_running_commands() {
    resp3_subscriber(&Server::shoal(&[]));
    resp3_subscriber(&Server::redis(&[]));
}

fn resp2_subscribed_mode(server: &Server) {
    let mut sub = server.conn();
    let mut other = server.conn();
    sub.call(&["SUBSCRIBE", "a"]);
    sub.call(&["PSUBSCRIBE", "b*"]);
    sub.call(&["SSUBSCRIBE", "c"]);
    assert_eq!(
        sub.text(&["GET", "x"]),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in \
         this context\r\n"
    );
    assert_eq!(sub.call(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(sub.call(&["PING", "x"]), b"*2\r\n$4\r\npong\r\n$1\r\nx\r\n");
    let list = other.text(&["CLIENT", "LIST"]);
    let line = list.lines().find(|l| l.contains(" sub=1 ")).unwrap_or_else(|| panic!("no subscriber in {list}"));
    assert!(line.contains(" flags=P ") && line.contains(" psub=1 ") && line.contains(" ssub=1 "), "{line}");
    assert_eq!(sub.call(&["RESET"]), b"+RESET\r\n");
    assert_eq!(sub.call(&["GET", "x"]), b"$-1\r\n");
    assert_eq!(other.call(&["PUBSUB", "NUMPAT"]), b":0\r\n");
    assert_eq!(sub.call(&["SUBSCRIBE", "a"]), confirm("subscribe", "a", 1));
    assert_eq!(sub.call(&["QUIT"]), b"+OK\r\n");
}

#[test]
fn resp2_subscribed_mode_allows_only_pubsub_commands() {
    resp2_subscribed_mode(&Server::shoal(&[]));
    resp2_subscribed_mode(&Server::redis(&[]));
}

/// A subscriber that never reads: its pending output passes the pubsub hard limit and it is disconnected,
/// while the publisher carries on.
fn slow_subscriber(server: &Server) {
    let mut publisher = server.conn();
    assert_eq!(publisher.call(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 0 0"]), b"+OK\r\n");
    let mut sub = server.conn();
    assert_eq!(sub.call(&["SUBSCRIBE", "flood"]), confirm("subscribe", "flood", 1));
    let payload = "x".repeat(16 * 1024);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut sent = 0;
    // Kernel socket buffers take some megabytes before the server sees any back-pressure.
    loop {
        let reply = publisher.call(&["PUBLISH", "flood", &payload]);
        if reply == b":0\r\n" {
            break;
        }
        assert_eq!(reply, b":1\r\n");
        sent += 1;
        assert!(sent < 20_000 && Instant::now() < deadline, "the slow subscriber was never disconnected");
    }
    assert_eq!(publisher.call(&["PING"]), b"+PONG\r\n");
    assert_eq!(publisher.call(&["PUBSUB", "NUMSUB", "flood"]), b"*2\r\n$5\r\nflood\r\n:0\r\n");
    // The subscriber's connection ends (after whatever was already on its way).
    let _ = sub.stream.set_read_timeout(Some(Duration::from_secs(20)));
    let got = sub.read_to_close();
    assert!(got.len() < sent * payload.len(), "every message arrived: the subscriber was not cut off");
}

#[test]
fn a_subscriber_that_never_reads_is_disconnected_at_the_pubsub_limit() {
    slow_subscriber(&Server::shoal(&[]));
    slow_subscriber(&Server::redis(&[]));
}

const CLUSTER_ARGS: &[&str] =
    &["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"];

fn create(nodes: &[&Server], replicas: usize) -> String {
    let mut args: Vec<String> = vec!["--cluster".into(), "create".into()];
    args.extend(nodes.iter().map(|n| n.addr()));
    args.extend(["--cluster-replicas".to_string(), replicas.to_string(), "--cluster-yes".to_string()]);
    let out = Command::new("redis-cli").args(&args).output().expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn wait_check_clean(node: &Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = redis_cli(&["--cluster", "check", &node.addr()]);
        if out.contains("All nodes agree about slots configuration")
            && out.contains("All 16384 slots covered")
            && !out.contains("[ERR]")
            && !out.contains("[WARNING]")
        {
            return;
        }
        assert!(Instant::now() < deadline, "cluster check never became clean:\n{out}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_cluster_ok(nodes: &[Server]) {
    wait_check_clean(&nodes[0]);
    for n in nodes {
        let mut c = n.conn();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !c.text(&["CLUSTER", "INFO"]).contains("cluster_state:ok") {
            assert!(Instant::now() < deadline, "node {} never reached cluster_state:ok", n.port);
            std::thread::sleep(Duration::from_millis(50));
        }
        // Messages travel on the bus links: every node must have one to every other node.
        loop {
            let view = c.text(&["CLUSTER", "NODES"]);
            // The eighth field of a CLUSTER NODES line is the link state.
            let linked = view.lines().filter(|l| l.split_whitespace().nth(7) == Some("connected")).count();
            if linked == nodes.len() {
                break;
            }
            assert!(Instant::now() < deadline, "node {} is not linked to every node:\n{view}", n.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The index of the node that serves `channel` (the others answer MOVED).
fn owner_of(nodes: &[Server], key: &str) -> usize {
    for (i, n) in nodes.iter().enumerate() {
        let reply = n.conn().text(&["SPUBLISH", key, "probe"]);
        if !reply.starts_with("-MOVED") {
            return i;
        }
    }
    panic!("no node serves {key}");
}

#[test]
fn publish_crosses_a_three_node_cluster() {
    let nodes: Vec<Server> = (0..3).map(|_| Server::shoal(CLUSTER_ARGS)).collect();
    let refs: Vec<&Server> = nodes.iter().collect();
    let out = create(&refs, 0);
    assert!(out.contains("[OK] All 16384 slots covered"), "{out}");
    wait_cluster_ok(&nodes);

    let mut sub = nodes[1].conn();
    let mut psub = nodes[2].conn();
    assert_eq!(sub.call(&["SUBSCRIBE", "news"]), confirm("subscribe", "news", 1));
    assert_eq!(psub.call(&["PSUBSCRIBE", "ne*"]), confirm("psubscribe", "ne*", 1));
    let mut publisher = nodes[0].conn();
    // Receivers on this node only, as Redis counts them.
    assert_eq!(publisher.call(&["PUBLISH", "news", "across"]), b":0\r\n");
    assert_eq!(sub.read_reply(), msg("message", &["news", "across"]));
    assert_eq!(psub.read_reply(), msg("pmessage", &["ne*", "news", "across"]));

    // Shard channels go by the channel's slot, like keys, and stay on their shard.
    let owner = owner_of(&nodes, "shardchan");
    let other = (owner + 1) % 3;
    let moved = nodes[other].conn().text(&["SSUBSCRIBE", "shardchan"]);
    assert!(moved.starts_with("-MOVED "), "{moved}");
    let crossslot = nodes[owner].conn().text(&["SSUBSCRIBE", "shardchan", "{x}other", "{y}third"]);
    assert!(crossslot.starts_with("-CROSSSLOT") || crossslot.starts_with("-MOVED"), "{crossslot}");
    let mut ssub = nodes[owner].conn();
    assert_eq!(ssub.call(&["SSUBSCRIBE", "shardchan"]), confirm("ssubscribe", "shardchan", 1));
    assert_eq!(nodes[owner].conn().call(&["SPUBLISH", "shardchan", "local"]), b":1\r\n");
    assert_eq!(ssub.read_reply(), msg("smessage", &["shardchan", "local"]));
    let moved = nodes[other].conn().text(&["SPUBLISH", "shardchan", "x"]);
    assert!(moved.starts_with("-MOVED "), "{moved}");
}

/// A one-node cluster of `server`'s kind that owns every slot and is ready.
fn single_node_cluster(redis: bool) -> Server {
    let conf = format!("nodes-pubsub-{}.conf", support::free_port());
    let args = ["--cluster-enabled", "yes", "--cluster-config-file", conf.as_str()];
    let server = if redis { Server::redis(&args) } else { Server::shoal(&args) };
    let mut c = server.conn();
    assert_eq!(c.call(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]), b"+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c.text(&["CLUSTER", "INFO"]).contains("cluster_state:ok") {
        assert!(Instant::now() < deadline, "single-node cluster did not reach state ok");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// Sends a whole script at once and returns every reply up to the final `ECHO done`.
fn run_script(server: &Server, script: &[&[&str]]) -> Vec<Vec<u8>> {
    let mut c = server.conn();
    let mut bytes = Vec::new();
    for cmd in script.iter().chain([&["ECHO", "done"][..]].iter()) {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        bytes.extend_from_slice(&Conn::encode(&args));
    }
    c.send_raw(&bytes);
    let mut replies = Vec::new();
    loop {
        let reply = c.read_reply();
        let done = reply == b"$4\r\ndone\r\n";
        replies.push(reply);
        if done {
            return replies;
        }
        assert!(replies.len() < 1000, "no end of script");
    }
}

#[test]
fn shard_channel_replies_match_redis_in_cluster_mode() {
    let script: &[&[&str]] = &[
        &["SSUBSCRIBE", "a", "b"],
        &["SSUBSCRIBE", "{a}x", "{a}y"],
        &["PING"],
        &["SPUBLISH", "{a}x", "hi"],
        &["SUNSUBSCRIBE", "{a}x", "{a}y", "{a}z"],
        &["SUNSUBSCRIBE", "a", "b"],
        &["SUNSUBSCRIBE"],
        &["SPUBLISH", "{a}x", "hi"],
        &["PUBSUB", "SHARDNUMSUB", "{a}x", "b"],
        &["SUBSCRIBE", "{a}x"],
        &["PUBLISH", "{a}x", "to-myself"],
        &["UNSUBSCRIBE"],
        &["HELLO", "3"],
        &["SSUBSCRIBE", "{a}x"],
        &["SPUBLISH", "{a}x", "to-myself"],
        &["PUBSUB", "SHARDCHANNELS"],
        &["SUNSUBSCRIBE"],
    ];
    let redis = run_script(&single_node_cluster(true), script);
    let shoal = run_script(&single_node_cluster(false), script);
    assert_eq!(redis.len(), shoal.len(), "{redis:?}\n{shoal:?}");
    for (r, s) in redis.iter().zip(&shoal) {
        // HELLO names the server and the connection id.
        if r.starts_with(b"%") {
            continue;
        }
        assert_eq!(String::from_utf8_lossy(r), String::from_utf8_lossy(s));
    }
}

#[test]
fn spublish_reaches_the_replicas_of_the_shard() {
    let nodes: Vec<Server> = (0..6).map(|_| Server::shoal(CLUSTER_ARGS)).collect();
    let refs: Vec<&Server> = nodes.iter().collect();
    let out = create(&refs, 1);
    assert!(out.contains("[OK] All 16384 slots covered"), "{out}");
    wait_cluster_ok(&nodes);
    let owner = owner_of(&nodes, "shardchan");
    let owner_id = nodes[owner].conn().text(&["CLUSTER", "MYID"]);
    let owner_id = owner_id.lines().nth(1).unwrap_or_default().to_string();
    // Its replica: the node whose CLUSTER NODES line for itself names the owner as its primary.
    let deadline = Instant::now() + Duration::from_secs(30);
    let replica = loop {
        let found = nodes.iter().position(|n| {
            n.conn().text(&["CLUSTER", "NODES"]).lines().any(|l| l.contains("myself,slave") && l.contains(&owner_id))
        });
        if let Some(i) = found {
            break i;
        }
        assert!(Instant::now() < deadline, "no replica of {owner_id}");
        std::thread::sleep(Duration::from_millis(100));
    };
    // The owner forwards to the replicas it knows: wait until it sees this one as its replica.
    let replica_id = nodes[replica].conn().text(&["CLUSTER", "MYID"]);
    let replica_id = replica_id.lines().nth(1).unwrap_or_default().to_string();
    let mut owner_conn = nodes[owner].conn();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !owner_conn
        .text(&["CLUSTER", "NODES"])
        .lines()
        .any(|l| l.starts_with(&replica_id) && l.contains("slave") && l.contains(&owner_id) && l.contains("connected"))
    {
        assert!(Instant::now() < deadline, "the owner never saw its replica");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut ssub = nodes[replica].conn();
    assert_eq!(ssub.call(&["READONLY"]), b"+OK\r\n");
    assert_eq!(ssub.call(&["SSUBSCRIBE", "shardchan"]), confirm("ssubscribe", "shardchan", 1));
    // Local receivers only in the count; the replica gets it through the bus.
    assert_eq!(nodes[owner].conn().call(&["SPUBLISH", "shardchan", "to-replicas"]), b":0\r\n");
    assert_eq!(ssub.read_reply(), msg("smessage", &["shardchan", "to-replicas"]));
}

/// INFO stats counts distinct channels, patterns and shard channels with subscribers, as Redis.
#[test]
fn info_counts_subscriptions() {
    for server in [Server::shoal(&[]), Server::redis(&[])] {
        let mut a = server.conn();
        let mut b = server.conn();
        a.call(&["SUBSCRIBE", "x", "y"]);
        a.read_reply();
        b.call(&["SUBSCRIBE", "x"]);
        b.call(&["PSUBSCRIBE", "p*"]);
        b.call(&["SSUBSCRIBE", "s"]);
        let mut c = server.conn();
        let info = String::from_utf8_lossy(&c.call(&["INFO", "stats"])).into_owned();
        for expected in ["pubsub_channels:2\r\n", "pubsub_patterns:1\r\n", "pubsubshard_channels:1\r\n"] {
            assert!(info.contains(expected), "{expected} missing from {info}");
        }
    }
}

/// With the cluster down (a slot unassigned), shard channels follow `cluster-allow-pubsubshard-when-down`,
/// plain reads `cluster-allow-reads-when-down`, as in Redis 7.0.
#[test]
fn shard_channels_when_the_cluster_is_down_follow_the_config() {
    let script: &[&[&str]] = &[
        &["CLUSTER", "DELSLOTS", "0"],
        &["SPUBLISH", "{a}x", "up-by-default"],
        &["GET", "{a}x"],
        &["CONFIG", "SET", "cluster-allow-pubsubshard-when-down", "no"],
        &["SPUBLISH", "{a}x", "refused"],
        &["CONFIG", "SET", "cluster-allow-reads-when-down", "yes"],
        &["GET", "{a}x"],
        &["CONFIG", "GET", "cluster-allow-pubsubshard-when-down"],
    ];
    let run = |redis: bool| {
        let server = single_node_cluster(redis);
        let mut c = server.conn();
        c.call(&["CLUSTER", "DELSLOTS", "0"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !c.text(&["CLUSTER", "INFO"]).contains("cluster_state:fail") {
            assert!(Instant::now() < deadline, "cluster did not go down");
            std::thread::sleep(Duration::from_millis(50));
        }
        run_script(&server, &script[1..])
    };
    let (redis, shoal) = (run(true), run(false));
    assert_eq!(
        redis.iter().map(|r| String::from_utf8_lossy(r).into_owned()).collect::<Vec<_>>(),
        shoal.iter().map(|r| String::from_utf8_lossy(r).into_owned()).collect::<Vec<_>>()
    );
}
