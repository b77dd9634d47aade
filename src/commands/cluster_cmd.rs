//! CLUSTER subcommands that read or change this node's view of the cluster, and READONLY / READWRITE /
//! ASKING. Outputs are byte-compatible with Redis 7.0 (tests/fixtures/redis-7.0.15/cluster/). The subcommands
//! that need the bus (MEET, REPLICATE, SETSLOT, RESET, FAILOVER) are not in the command table until the bus
//! driver exists: until then they answer "unknown subcommand" rather than pretend.

use std::sync::Arc;

use super::args::int;
use super::Ctx;
use crate::cluster::handle::ClusterHandle;
use crate::cluster::node::{flags, Node, NodeId};
use crate::cluster::nodes_conf;
use crate::cluster::state::{ClusterState, Health};
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;
use crate::slot::{key_hash_slot, SLOT_COUNT};

const DISABLED: &str = "ERR This instance has cluster support disabled";

/// The cluster handle, or Redis's error when cluster mode is off.
fn cluster<'a>(ctx: &mut Ctx<'a, '_>) -> Option<&'a Arc<ClusterHandle>> {
    let handle = ctx.server.cluster.as_ref();
    if handle.is_none() {
        ctx.out.error(DISABLED);
    }
    handle
}

/// Redis's `getSlotOrReply`.
fn slot_arg(out: &mut Reply, arg: &[u8]) -> Option<u16> {
    match crate::num::parse_i64(arg) {
        Some(s) if (0..SLOT_COUNT as i64).contains(&s) => Some(s as u16),
        _ => {
            out.error("ERR Invalid or out of range slot");
            None
        }
    }
}

fn node_arg<'a>(out: &mut Reply, state: &'a ClusterState, arg: &[u8]) -> Option<&'a Node> {
    let node = NodeId::parse(arg).and_then(|id| state.nodes.get(&id));
    if node.is_none() {
        out.error(&format!("ERR Unknown node {}", String::from_utf8_lossy(arg)));
    }
    node
}

pub fn cluster_info(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    let text = c.read(|s| {
        let assigned = s.slots_assigned();
        let (mut pfail, mut fail) = (0, 0);
        for (owner, count) in s.slot_counts() {
            if let Some(node) = s.nodes.get(owner) {
                if node.has(flags::FAIL) {
                    fail += count;
                } else if node.has(flags::PFAIL) {
                    pfail += count;
                }
            }
        }
        let me = s.me();
        let my_epoch = match me.primary.and_then(|p| s.nodes.get(&p)) {
            Some(primary) => primary.config_epoch,
            None => me.config_epoch,
        };
        format!(
            "cluster_state:{}\r\ncluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{}\r\ncluster_slots_pfail:{pfail}\r\n\
             cluster_slots_fail:{fail}\r\ncluster_known_nodes:{}\r\ncluster_size:{}\r\ncluster_current_epoch:{}\r\n\
             cluster_my_epoch:{my_epoch}\r\n{}total_cluster_links_buffer_limit_exceeded:0\r\n",
            if s.health == Health::Ok { "ok" } else { "fail" },
            assigned - pfail - fail,
            s.nodes.len(),
            s.voting_primaries().max(1),
            s.current_epoch,
            message_stats(&s.stats),
        )
    });
    ctx.out.verbatim(text.as_bytes());
}

/// `cluster_stats_messages_<type>_sent/received` for the types seen, then the totals, as Redis prints them.
fn message_stats(stats: &crate::cluster::gossip::MessageStats) -> String {
    use crate::cluster::gossip::STAT_NAMES;
    let mut out = String::new();
    for (i, name) in STAT_NAMES.iter().enumerate() {
        if stats.sent[i] > 0 {
            out.push_str(&format!("cluster_stats_messages_{name}_sent:{}\r\n", stats.sent[i]));
        }
    }
    out.push_str(&format!("cluster_stats_messages_sent:{}\r\n", stats.sent.iter().sum::<u64>()));
    for (i, name) in STAT_NAMES.iter().enumerate() {
        if stats.received[i] > 0 {
            out.push_str(&format!("cluster_stats_messages_{name}_received:{}\r\n", stats.received[i]));
        }
    }
    out.push_str(&format!("cluster_stats_messages_received:{}\r\n", stats.received.iter().sum::<u64>()));
    out
}

pub fn cluster_myid(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    ctx.out.bulk(c.myself().as_str().as_bytes());
}

pub fn cluster_myshardid(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    let shard = c.read(|s| s.shard_id_of(&s.myself));
    ctx.out.bulk(shard.as_str().as_bytes());
}

pub fn cluster_nodes(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    let text = c.read(ClusterState::nodes_text);
    ctx.out.verbatim(text.as_bytes());
}

/// A node as CLUSTER SLOTS lists it: `[ip, port, id, {}]`.
fn write_slots_node(out: &mut Reply, n: &Node) {
    out.array(4);
    out.bulk(n.ip.as_bytes());
    out.int(i64::from(n.port));
    out.bulk(n.id.as_str().as_bytes());
    out.map(0);
}

pub fn cluster_slots(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    c.read(|s| {
        let mut ranges: Vec<(u16, u16, NodeId)> = Vec::new();
        for slot in 0..SLOT_COUNT as u16 {
            let Some(owner) = s.slot_owner(slot) else { continue };
            match ranges.last_mut() {
                Some((_, end, o)) if *o == owner && *end + 1 == slot => *end = slot,
                _ => ranges.push((slot, slot, owner)),
            }
        }
        ctx.out.array(ranges.len());
        for (start, end, owner) in ranges {
            let replicas: Vec<&Node> =
                s.nodes.values().filter(|n| n.primary == Some(owner) && !n.has(flags::FAIL)).collect();
            ctx.out.array(3 + replicas.len());
            ctx.out.int(i64::from(start));
            ctx.out.int(i64::from(end));
            match s.nodes.get(&owner) {
                Some(n) => write_slots_node(ctx.out, n),
                None => ctx.out.null(),
            }
            for r in replicas {
                write_slots_node(ctx.out, r);
            }
        }
    });
}

fn write_shard_node(out: &mut Reply, n: &Node) {
    let hostname = !n.hostname.is_empty();
    out.map(if hostname { 8 } else { 7 });
    out.bulk(b"id");
    out.bulk(n.id.as_str().as_bytes());
    out.bulk(b"port");
    out.int(i64::from(n.port));
    out.bulk(b"ip");
    out.bulk(n.ip.as_bytes());
    out.bulk(b"endpoint");
    out.bulk(n.ip.as_bytes());
    if hostname {
        out.bulk(b"hostname");
        out.bulk(n.hostname.as_bytes());
    }
    out.bulk(b"role");
    out.bulk(if n.is_replica() { b"replica".as_slice() } else { b"master".as_slice() });
    out.bulk(b"replication-offset");
    out.int(n.repl_offset as i64);
    out.bulk(b"health");
    out.bulk(if n.has(flags::FAIL) {
        b"fail".as_slice()
    } else if n.is_replica() && n.repl_offset == 0 && !n.is_myself() {
        b"loading".as_slice()
    } else {
        b"online".as_slice()
    });
}

pub fn cluster_shards(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    c.read(|s| {
        let primaries: Vec<&Node> = s.nodes.values().filter(|n| !n.is_replica()).collect();
        ctx.out.array(primaries.len());
        for p in primaries {
            let ranges = s.slot_ranges_of(&p.id);
            let members: Vec<&Node> =
                std::iter::once(p).chain(s.nodes.values().filter(|n| n.primary == Some(p.id))).collect();
            ctx.out.map(2);
            ctx.out.bulk(b"slots");
            ctx.out.array(ranges.len() * 2);
            for (a, b) in ranges {
                ctx.out.int(i64::from(a));
                ctx.out.int(i64::from(b));
            }
            ctx.out.bulk(b"nodes");
            ctx.out.array(members.len());
            for n in members {
                write_shard_node(ctx.out, n);
            }
        }
    });
}

pub fn cluster_links(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    let links: Vec<_> = c.links.info().into_iter().filter(|l| l.node.is_some() || l.inbound).collect();
    ctx.out.array(links.len());
    for l in links {
        ctx.out.map(6);
        ctx.out.bulk(b"direction");
        ctx.out.bulk(if l.inbound { b"from".as_slice() } else { b"to".as_slice() });
        ctx.out.bulk(b"node");
        ctx.out.bulk(l.node.map(|n| n.to_string()).unwrap_or_default().as_bytes());
        ctx.out.bulk(b"create-time");
        ctx.out.int(l.created_ms as i64);
        ctx.out.bulk(b"events");
        ctx.out.bulk(if l.queued_packets > 0 { b"rw".as_slice() } else { b"r".as_slice() });
        ctx.out.bulk(b"send-buffer-allocated");
        ctx.out.int(0);
        ctx.out.bulk(b"send-buffer-used");
        ctx.out.int(l.queued_packets as i64);
    }
}

/// CLUSTER MEET ip port [cport]: start a handshake; the bus does the rest.
pub fn cluster_meet(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    if args.len() > 5 {
        ctx.wrong_arity();
        return;
    }
    let port = crate::num::parse_i64(args.get(3));
    let cport = if args.len() == 5 { crate::num::parse_i64(args.get(4)) } else { port.map(|p| p + 10000) };
    let (Some(port), Some(cport)) = (port, cport) else {
        ctx.out.error(&format!("ERR Invalid base port specified: {}", String::from_utf8_lossy(args.get(3))));
        return;
    };
    let (Ok(port), Ok(cport)) = (u16::try_from(port), u16::try_from(cport)) else {
        ctx.out.error(&format!("ERR Invalid base port specified: {}", String::from_utf8_lossy(args.get(3))));
        return;
    };
    let ip = String::from_utf8_lossy(args.get(2)).into_owned();
    if ip.parse::<std::net::IpAddr>().is_err() {
        ctx.out.error(&format!("ERR Invalid node address specified: {ip}:{port}"));
        return;
    }
    let now = ctx.now_ms();
    match c.with_state(|s| s.meet(&ip, port, cport, now)) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(&e),
    }
}

pub fn cluster_keyslot(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if cluster(ctx).is_none() {
        return;
    }
    ctx.out.int(i64::from(key_hash_slot(args.get(2))));
}

pub fn cluster_countkeysinslot(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if cluster(ctx).is_none() {
        return;
    }
    let Some(slot) = int(ctx.out, args.get(2)) else { return };
    if !(0..SLOT_COUNT as i64).contains(&slot) {
        ctx.out.error("ERR Invalid slot");
        return;
    }
    let n = ctx.db.count_in_slot(slot as u16);
    ctx.out.int(n as i64);
}

pub fn cluster_getkeysinslot(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if cluster(ctx).is_none() {
        return;
    }
    let Some(slot) = int(ctx.out, args.get(2)) else { return };
    let Some(count) = int(ctx.out, args.get(3)) else { return };
    if !(0..SLOT_COUNT as i64).contains(&slot) || count < 0 {
        ctx.out.error("ERR Invalid slot or number of keys");
        return;
    }
    let keys = ctx.db.keys_in_slot(slot as u16, usize::try_from(count).unwrap_or(usize::MAX));
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(&k);
    }
}

/// Slots of ADDSLOTS/DELSLOTS (single slots) or their RANGE forms (pairs).
fn slot_list(ctx: &mut Ctx<'_, '_>, args: &Args<'_>, ranges: bool) -> Option<Vec<u16>> {
    let mut slots = Vec::new();
    if ranges {
        if args.len() % 2 == 1 {
            ctx.wrong_arity();
            return None;
        }
        let mut i = 2;
        while i + 1 < args.len() {
            let a = slot_arg(ctx.out, args.get(i))?;
            let b = slot_arg(ctx.out, args.get(i + 1))?;
            if a > b {
                ctx.out.error(&format!("ERR start slot number {a} is greater than end slot number {b}"));
                return None;
            }
            slots.extend(a..=b);
            i += 2;
        }
    } else {
        for arg in args.iter().skip(2) {
            slots.push(slot_arg(ctx.out, arg)?);
        }
    }
    Some(slots)
}

fn change_slots(ctx: &mut Ctx<'_, '_>, args: Args<'_>, ranges: bool, add: bool) {
    let Some(c) = cluster(ctx) else { return };
    let Some(slots) = slot_list(ctx, &args, ranges) else { return };
    let result = c.with_state(|s| if add { s.add_slots(&slots) } else { s.del_slots(&slots) });
    match result {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(&e),
    }
}

pub fn cluster_addslots(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    change_slots(ctx, args, false, true);
}

pub fn cluster_addslotsrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    change_slots(ctx, args, true, true);
}

pub fn cluster_delslots(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    change_slots(ctx, args, false, false);
}

pub fn cluster_delslotsrange(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    change_slots(ctx, args, true, false);
}

pub fn cluster_flushslots(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    if !ctx.db.is_empty() {
        ctx.out.error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
        return;
    }
    c.with_state(ClusterState::flush_slots);
    ctx.out.ok();
}

pub fn cluster_set_config_epoch(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    let Some(epoch) = int(ctx.out, args.get(2)) else { return };
    match c.with_state(|s| s.set_config_epoch(epoch)) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(&e),
    }
}

pub fn cluster_bumpepoch(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    let (bumped, epoch) = c.with_state(ClusterState::bump_epoch);
    ctx.out.simple(&format!("{} {epoch}", if bumped { "BUMPED" } else { "STILL" }));
}

pub fn cluster_saveconfig(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    match c.save_now() {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(&format!("ERR error saving the cluster node config: {e}")),
    }
}

pub fn cluster_forget(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    let now = ctx.now_ms();
    let arg = args.get(2);
    let result = match NodeId::parse(arg) {
        Some(id) => c.with_state(|s| s.forget(&id, now, 60_000)),
        None => Err(format!("ERR Unknown node {}", String::from_utf8_lossy(arg))),
    };
    match result {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(&e),
    }
}

pub fn cluster_count_failure_reports(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    let timeout = c.read(|s| s.options.node_timeout_ms);
    let now = ctx.now_ms();
    c.read(|s| {
        if let Some(node) = node_arg(ctx.out, s, args.get(2)) {
            let valid = node.fail_reports.iter().filter(|r| now.saturating_sub(r.time_ms) <= timeout * 2).count();
            ctx.out.int(valid as i64);
        }
    });
}

pub fn cluster_replicas(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    c.read(|s| {
        let Some(node) = node_arg(ctx.out, s, args.get(2)) else { return };
        if node.is_replica() {
            ctx.out.error("ERR The specified node is not a master");
            return;
        }
        let replicas: Vec<&Node> = s.nodes.values().filter(|n| n.primary == Some(node.id)).collect();
        ctx.out.array(replicas.len());
        for r in replicas {
            ctx.out.bulk(nodes_conf::node_line(r, s.shown_epoch(r), &[], &[]).as_bytes());
        }
    });
}

pub fn cluster_slaves(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    cluster_replicas(ctx, args);
}

pub fn cluster_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    const LINES: &[&str] = &[
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ADDSLOTS <slot> [<slot> ...]",
        "    Assign slots to current node.",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Assign slots which are between <start-slot> and <end-slot> to current node.",
        "BUMPEPOCH",
        "    Advance the cluster config epoch.",
        "COUNT-FAILURE-REPORTS <node-id>",
        "    Return number of failure reports for <node-id>.",
        "COUNTKEYSINSLOT <slot>",
        "    Return the number of keys in <slot>.",
        "DELSLOTS <slot> [<slot> ...]",
        "    Delete slots information from current node.",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
        "FAILOVER [FORCE|TAKEOVER]",
        "    Promote current replica node to being a master.",
        "FORGET <node-id>",
        "    Remove a node from the cluster.",
        "GETKEYSINSLOT <slot> <count>",
        "    Return key names stored by current node in a slot.",
        "FLUSHSLOTS",
        "    Delete current node own slots information.",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "MEET <ip> <port> [<bus-port>]",
        "    Connect nodes into a working cluster.",
        "MYID",
        "    Return the node id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICATE <node-id>",
        "    Configure current node as replica to <node-id>.",
        "RESET [HARD|SOFT]",
        "    Reset current node (default: soft).",
        "SET-CONFIG-EPOCH <epoch>",
        "    Set config epoch of current node.",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "    Set slot state.",
        "REPLICAS <node-id>",
        "    Return <node-id> replicas.",
        "SAVECONFIG",
        "    Force saving cluster configuration on disk.",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS",
        "    Return information about slot range mappings and the nodes associated with them.",
        "LINKS",
        "    Return information about all network links between this node and its peers.",
        "    Output format is an array where each array element is a map containing attributes of a link",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(LINES.len());
    LINES.iter().for_each(|l| ctx.out.simple(l));
}

pub fn readonly(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    if cluster(ctx).is_none() {
        return;
    }
    ctx.client.readonly = true;
    ctx.out.ok();
}

pub fn readwrite(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    if cluster(ctx).is_none() {
        return;
    }
    ctx.client.readonly = false;
    ctx.out.ok();
}

pub fn asking(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    if cluster(ctx).is_none() {
        return;
    }
    ctx.client.asking = true;
    ctx.out.ok();
}

pub fn cluster_replicate(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    let arg = args.get(2);
    let Some(id) = NodeId::parse(arg) else {
        ctx.out.error(&format!("ERR Unknown node {}", String::from_utf8_lossy(arg)));
        return;
    };
    let has_keys = ctx.server.keyspace.db_counts(0).0 > 0;
    match c.with_state(|s| s.replicate(&id, has_keys)) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(&e),
    }
}

pub fn cluster_setslot(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    use crate::cluster::state::SetSlot;
    let Some(c) = cluster(ctx) else { return };
    if c.read(|s| s.me().is_replica()) {
        ctx.out.error("ERR Please use SETSLOT only with masters.");
        return;
    }
    let Some(slot) = slot_arg(ctx.out, args.get(2)) else { return };
    let action = args.get(3);
    let node = |i: usize| NodeId::parse(args.get(i)).unwrap_or(NodeId([b'?'; 40]));
    let unknown = |ctx: &mut Ctx<'_, '_>, what: &str, i: usize| {
        ctx.out.error(&format!("ERR {what} {}", String::from_utf8_lossy(args.get(i))));
    };
    let parsed = match (args.len(), action.to_ascii_uppercase().as_slice()) {
        (5, b"MIGRATING") => SetSlot::Migrating(node(4)),
        (5, b"IMPORTING") => SetSlot::Importing(node(4)),
        (4, b"STABLE") => SetSlot::Stable,
        (5, b"NODE") => SetSlot::Node(node(4)),
        _ => {
            ctx.out.error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
            return;
        }
    };
    // Redis checks ownership before it looks the node up, and reports unknown ids with the client's bytes.
    let (me, owner) = c.read(|s| (s.myself, s.slot_owner(slot)));
    match parsed {
        SetSlot::Migrating(_) if owner != Some(me) => {
            return ctx.out.error(&format!("ERR I'm not the owner of hash slot {slot}"));
        }
        SetSlot::Importing(_) if owner == Some(me) => {
            return ctx.out.error(&format!("ERR I'm already the owner of hash slot {slot}"));
        }
        _ => {}
    }
    let known = |id: NodeId| c.read(|s| s.nodes.contains_key(&id));
    match parsed {
        SetSlot::Migrating(id) | SetSlot::Importing(id) if !known(id) => {
            return unknown(ctx, "I don't know about node", 4);
        }
        SetSlot::Node(id) if !known(id) => return unknown(ctx, "Unknown node", 4),
        _ => {}
    }
    let keys = ctx.db.count_in_slot(slot);
    match c.with_state(|s| s.set_slot(slot, parsed, keys)) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(&e),
    }
}

pub fn cluster_reset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(c) = cluster(ctx) else { return };
    let hard = match args.len() {
        2 => false,
        3 if args.get(2).eq_ignore_ascii_case(b"hard") => true,
        3 if args.get(2).eq_ignore_ascii_case(b"soft") => false,
        3 => {
            ctx.out.error("ERR syntax error");
            return;
        }
        _ => {
            ctx.out.error(&format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLUSTER HELP.",
                String::from_utf8_lossy(args.get(1))
            ));
            return;
        }
    };
    if c.read(|s| s.me().is_primary()) && !ctx.db.is_empty() {
        ctx.out.error("ERR CLUSTER RESET can't be called with master nodes containing keys");
        return;
    }
    // A replica's data goes with its role.
    let db = ctx.db.db_index();
    ctx.db.flush_db(db);
    c.with_state(|s| s.reset(hard));
    ctx.out.ok();
}
