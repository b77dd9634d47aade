//! Real clusters of real processes: six shoal-server nodes built by `redis-cli --cluster create`, checked by
//! `redis-cli --cluster check`, used by redis-cli -c, redis-benchmark --cluster and the `redis` crate's cluster
//! client; a restarted node rejoins from nodes.conf; and a mixed cluster of three redis-server 7.0 nodes and
//! three Shoal nodes converges.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{redis_cli, Server};

const CLUSTER_ARGS: &[&str] =
    &["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"];

fn create(nodes: &[&Server]) -> String {
    let mut args: Vec<String> = vec!["--cluster".into(), "create".into()];
    args.extend(nodes.iter().map(|n| n.addr()));
    args.extend(["--cluster-replicas", "1", "--cluster-yes"].map(String::from));
    let out = Command::new("redis-cli").args(&args).output().expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Waits until `redis-cli --cluster check` through `node` reports agreement and full coverage.
fn wait_check_clean(node: &Server) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = redis_cli(&["--cluster", "check", &node.addr()]);
        if out.contains("All nodes agree about slots configuration")
            && out.contains("All 16384 slots covered")
            && !out.contains("[ERR]")
            && !out.contains("[WARNING]")
        {
            return out;
        }
        assert!(Instant::now() < deadline, "cluster check never became clean:\n{out}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `redis-cli --cluster reshard` of `count` (empty) slots from `from` to `to`, then a clean check.
fn reshard(entry: &Server, from: &Server, to: &Server, count: usize) {
    let from_id = String::from_utf8_lossy(&from.conn().call(&["CLUSTER", "MYID"])[5..45]).into_owned();
    let to_id = String::from_utf8_lossy(&to.conn().call(&["CLUSTER", "MYID"])[5..45]).into_owned();
    let out = Command::new("redis-cli")
        .args(["--cluster", "reshard", &entry.addr(), "--cluster-from", &from_id, "--cluster-to", &to_id])
        .args(["--cluster-slots", &count.to_string(), "--cluster-yes"])
        .output()
        .expect("redis-cli");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    wait_check_clean(entry);
}

/// Waits until `node` sees `replicas` nodes flagged slave (roles spread by heartbeats, about a second).
fn wait_replicas(node: &Server, replicas: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut c = node.conn();
    loop {
        let nodes = c.text(&["CLUSTER", "NODES"]);
        if nodes.lines().filter(|l| l.contains(" slave ") || l.contains(",slave ")).count() == replicas {
            return;
        }
        assert!(Instant::now() < deadline, "node {} never saw {replicas} replicas:\n{nodes}", node.port);
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_known_nodes(node: &Server, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut c = node.conn();
    loop {
        let nodes = c.text(&["CLUSTER", "NODES"]);
        let lines = nodes.lines().filter(|l| l.contains('@')).count();
        if lines == n && !nodes.contains("handshake") && !nodes.contains("fail") {
            return;
        }
        assert!(Instant::now() < deadline, "node {} never saw {n} healthy nodes:\n{nodes}", node.port);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Six Shoal nodes made into 3 primaries + 3 replicas by `redis-cli --cluster create`, converged.
fn six_node_shoal_cluster() -> Vec<Server> {
    let nodes: Vec<Server> = (0..6).map(|_| Server::shoal(CLUSTER_ARGS)).collect();
    let refs: Vec<&Server> = nodes.iter().collect();
    let out = create(&refs);
    assert!(out.contains("[OK] All 16384 slots covered"), "{out}");
    for n in &nodes {
        wait_known_nodes(n, 6);
    }
    wait_check_clean(&nodes[0]);
    nodes
}

#[test]
fn six_shoal_nodes_form_a_cluster_with_redis_cli() {
    let mut nodes: Vec<Server> = (0..6).map(|_| Server::shoal(CLUSTER_ARGS)).collect();
    let refs: Vec<&Server> = nodes.iter().collect();
    let out = create(&refs);
    assert!(out.contains("[OK] All 16384 slots covered"), "{out}");
    for n in &nodes {
        wait_known_nodes(n, 6);
    }
    let check = wait_check_clean(&nodes[3]);
    assert!(check.contains("3 masters"), "{check}");
    // Moving (empty) slots with redis-cli's SETSLOT sequence: every node adopts the new owner.
    reshard(&nodes[0], &nodes[0], &nodes[1], 100);

    // Writes through any node land on the owner; reads follow MOVED with -c.
    let first = nodes[0].port.to_string();
    for i in 0..50 {
        assert_eq!(redis_cli(&["-c", "-p", &first, "SET", &format!("key:{i}"), &format!("v{i}")]).trim(), "OK");
    }
    let last = nodes[5].port.to_string();
    for i in 0..50 {
        // Node 5 is a replica: -c follows its MOVED to the owner.
        assert_eq!(redis_cli(&["-c", "-p", &last, "GET", &format!("key:{i}")]).trim(), format!("v{i}"));
    }
    let mut c = nodes[0].conn();
    let moved = c.text(&["GET", "key:3"]);
    assert!(moved.starts_with("-MOVED ") || moved.starts_with("$2"), "{moved}");

    // redis-benchmark in cluster mode runs clean.
    let bench = Command::new("redis-benchmark")
        .args(["--cluster", "-p", &first, "-t", "set,get", "-n", "2000", "-q"])
        .output()
        .expect("redis-benchmark");
    assert!(bench.status.success(), "{}", String::from_utf8_lossy(&bench.stderr));

    // A node killed with SIGKILL and restarted rejoins with the same id and slots (nodes.conf).
    let id_before = nodes[1].conn().text(&["CLUSTER", "MYID"]);
    nodes[1].restart();
    assert_eq!(nodes[1].conn().text(&["CLUSTER", "MYID"]), id_before);
    wait_known_nodes(&nodes[1], 6);
    wait_check_clean(&nodes[1]);
}

#[tokio::test(flavor = "current_thread")]
async fn redis_crate_cluster_client_routes_by_slot() {
    let nodes = six_node_shoal_cluster();
    let urls: Vec<String> = nodes.iter().map(|n| format!("redis://{}/", n.addr())).collect();
    let client = redis::cluster::ClusterClient::new(urls).expect("cluster client");
    let mut con = client.get_async_connection().await.expect("connect");
    for i in 0..200 {
        let _: () = redis::cmd("SET").arg(format!("k{i}")).arg(i).query_async(&mut con).await.expect("set");
    }
    for i in 0..200 {
        let v: i64 = redis::cmd("GET").arg(format!("k{i}")).query_async(&mut con).await.expect("get");
        assert_eq!(v, i);
    }
}

#[test]
fn mixed_cluster_of_redis_and_shoal_nodes_converges() {
    let redis: Vec<Server> = (0..3).map(|_| Server::redis(CLUSTER_ARGS)).collect();
    let shoal: Vec<Server> = (0..3).map(|_| Server::shoal(CLUSTER_ARGS)).collect();
    // Interleave so that each kind gets primaries and replicas.
    let order: Vec<&Server> = vec![&redis[0], &shoal[0], &redis[1], &shoal[1], &redis[2], &shoal[2]];
    let out = create(&order);
    assert!(out.contains("[OK] All 16384 slots covered"), "{out}");
    for n in order.iter() {
        wait_known_nodes(n, 6);
    }
    // Clean check from either kind.
    wait_check_clean(&redis[0]);
    wait_check_clean(&shoal[0]);
    // Slots move both ways between the two kinds (empty slots: redis-cli's SETSLOT sequence, no MIGRATE).
    reshard(&shoal[1], &redis[0], &shoal[0], 50);
    reshard(&redis[1], &shoal[0], &redis[1], 25);
    // Both kinds list the same nodes, epochs and slots.
    let view = |s: &Server| {
        let mut lines: Vec<String> = s
            .conn()
            .text(&["CLUSTER", "NODES"])
            .lines()
            .filter(|l| l.contains('@'))
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                // id, addr, role (without myself), primary, config epoch, slots
                let role = f[2].replace("myself,", "");
                format!("{} {} {} {} {} {}", f[0], f[1], role, f[3], f[6], f[8..].join(" "))
            })
            .collect();
        lines.sort();
        lines
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while view(&redis[0]) != view(&shoal[0]) {
        assert!(Instant::now() < deadline, "views differ:\n{:?}\n{:?}", view(&redis[0]), view(&shoal[0]));
        std::thread::sleep(Duration::from_millis(200));
    }
    // Keys written through any node are readable through any other.
    for (i, writer) in order.iter().enumerate() {
        let key = format!("mixed:{i}");
        assert_eq!(redis_cli(&["-c", "-p", &writer.port.to_string(), "SET", &key, "x"]).trim(), "OK");
        for reader in &order {
            assert_eq!(redis_cli(&["-c", "-p", &reader.port.to_string(), "GET", &key]).trim(), "x");
        }
    }
}

#[test]
fn redis_py_cluster_client_works() {
    let nodes = six_node_shoal_cluster();
    wait_replicas(&nodes[2], 3);
    let script = format!(
        "import redis\n\
         rc = redis.RedisCluster(host='127.0.0.1', port={}, decode_responses=True)\n\
         for i in range(200):\n    rc.set(f'py:{{i}}', i)\n\
         assert all(rc.get(f'py:{{i}}') == str(i) for i in range(200))\n\
         assert rc.mget_nonatomic([f'py:{{i}}' for i in range(10)]) == [str(i) for i in range(10)]\n\
         assert len(rc.get_nodes()) == 6\n\
         print('ok')\n",
        nodes[2].port
    );
    let out = Command::new("python3").args(["-c", &script]).output().expect("python3");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("ok"), "redis-py RedisCluster failed:\n{text}");
}

/// A shard channel name hashing to `slot`.
fn channel_in_slot(slot: u16) -> String {
    (0u32..).map(|i| format!("ch{i}")).find(|c| shoal::slot::key_hash_slot(c.as_bytes()) == slot).unwrap_or_default()
}

/// Sharded Pub/Sub across a shard, as Redis 7.0 serves it: a replica of the owning shard takes SSUBSCRIBE and
/// SPUBLISH without -MOVED (messages cross the shard over the bus), and when the slot moves to another shard,
/// the old shard's subscribers of its channels are told with `sunsubscribe` (and a client blocked on a key
/// of that slot gets -MOVED).
#[test]
fn shard_channels_are_served_by_the_shard_and_dropped_with_their_slot() {
    let nodes = six_node_shoal_cluster();
    wait_replicas(&nodes[0], 3);
    let text = nodes[0].conn().text(&["CLUSTER", "NODES"]);
    let lines: Vec<Vec<&str>> = text.lines().filter(|l| l.contains('@')).map(|l| l.split(' ').collect()).collect();
    let port_of = |f: &[&str]| f[1].split('@').next().and_then(|a| a.rsplit(':').next()).and_then(|p| p.parse().ok());
    let node_at = |port: u16| nodes.iter().find(|n| n.port == port).expect("a node of the cluster");
    let owner_line = lines.iter().find(|f| f.len() > 8 && f[8].starts_with("0-")).expect("the owner of slot 0");
    let owner_id = owner_line[0];
    let owner = node_at(port_of(owner_line).expect("owner port"));
    let replica_line = lines.iter().find(|f| f[3] == owner_id).expect("a replica of the owner of slot 0");
    let replica = node_at(port_of(replica_line).expect("replica port"));
    let target_line = lines.iter().find(|f| f.len() > 8 && f[0] != owner_id && f[2].contains("master")).expect("b");
    let (target_id, target) = (target_line[0], node_at(port_of(target_line).expect("target port")));

    let ch = channel_in_slot(0);
    let subscribed = format!("*3\r\n$10\r\nssubscribe\r\n${}\r\n{ch}\r\n:1\r\n", ch.len());
    let message = |m: &str| format!("*3\r\n$8\r\nsmessage\r\n${}\r\n{ch}\r\n${}\r\n{m}\r\n", ch.len(), m.len());
    let mut at_replica = replica.conn();
    assert_eq!(String::from_utf8_lossy(&at_replica.call(&["SSUBSCRIBE", &ch])), subscribed, "served by the replica");
    let mut at_owner = owner.conn();
    assert_eq!(String::from_utf8_lossy(&at_owner.call(&["SSUBSCRIBE", &ch])), subscribed);

    // SPUBLISH on the primary reaches the replica's subscriber over the bus; SPUBLISH on the replica is served
    // there (counting its local subscriber) and reaches the primary's.
    assert_eq!(owner.conn().text(&["SPUBLISH", &ch, "from-primary"]), ":1\r\n");
    assert_eq!(String::from_utf8_lossy(&at_replica.read_reply()), message("from-primary"));
    assert_eq!(String::from_utf8_lossy(&at_owner.read_reply()), message("from-primary"));
    assert_eq!(replica.conn().text(&["SPUBLISH", &ch, "from-replica"]), ":1\r\n");
    assert_eq!(String::from_utf8_lossy(&at_owner.read_reply()), message("from-replica"));
    assert_eq!(String::from_utf8_lossy(&at_replica.read_reply()), message("from-replica"));
    // Another shard answers MOVED.
    let moved = target.conn().text(&["SPUBLISH", &ch, "x"]);
    assert!(moved.starts_with("-MOVED 0 "), "{moved}");

    // A client blocked on a key of slot 0 at the owner, to be redirected when the slot moves.
    let mut blocked = owner.conn();
    blocked.send_raw(&support::Conn::encode(&[b"BLPOP", ch.as_bytes(), b"0"]));
    let mut probe = owner.conn();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !probe.text(&["INFO", "clients"]).contains("blocked_clients:1") {
        assert!(Instant::now() < deadline, "BLPOP never blocked");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Slot 0 moves to the target (redis-cli's SETSLOT sequence): both nodes of the old shard unsubscribe.
    let owner_id = owner_id.to_string();
    assert_eq!(target.conn().text(&["CLUSTER", "SETSLOT", "0", "IMPORTING", &owner_id]), "+OK\r\n");
    assert_eq!(owner.conn().text(&["CLUSTER", "SETSLOT", "0", "MIGRATING", target_id]), "+OK\r\n");
    assert_eq!(target.conn().text(&["CLUSTER", "SETSLOT", "0", "NODE", target_id]), "+OK\r\n");
    assert_eq!(owner.conn().text(&["CLUSTER", "SETSLOT", "0", "NODE", target_id]), "+OK\r\n");
    let gone = format!("*3\r\n$12\r\nsunsubscribe\r\n${}\r\n{ch}\r\n:0\r\n", ch.len());
    assert_eq!(String::from_utf8_lossy(&at_owner.read_reply()), gone);
    assert_eq!(String::from_utf8_lossy(&at_replica.read_reply()), gone);
    // The blocked client's key is no longer served here: it gets -MOVED to the new owner.
    assert_eq!(String::from_utf8_lossy(&blocked.read_reply()), format!("-MOVED 0 {}\r\n", target.addr()));
    wait_check_clean(&nodes[0]);
}
