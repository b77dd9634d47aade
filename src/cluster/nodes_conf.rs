//! `nodes.conf`: the cluster configuration file, in Redis 7.0's exact format — one CLUSTER NODES line per
//! known node plus `vars currentEpoch <n> lastVoteEpoch <m>` — so a Redis user can read it, and a node
//! restarted from it rejoins with its id, epochs and slots.
//!
//! Parsing is pure (text in, [`NodesConf`] or an error naming the line out); [`save`] writes a temporary
//! file, fsyncs it, renames it over the old one and fsyncs the directory, so a crash never leaves a torn file;
//! [`lock`] takes the advisory lock Redis takes, so two servers never share one file.

use std::io::Write;
use std::path::Path;

use super::node::{flags, Node, NodeId};
use crate::protocol::split_args::split_args;

/// A slot left open by a migration, shown on our own line as `[slot->-id]` or `[slot-<-id]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenSlot {
    Migrating { slot: u16, to: NodeId },
    Importing { slot: u16, from: NodeId },
}

/// Everything nodes.conf holds.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NodesConf {
    /// Every node, ours included (the one flagged MYSELF).
    pub nodes: Vec<Node>,
    /// Slot ranges (inclusive) and their owners.
    pub slots: Vec<(u16, u16, NodeId)>,
    pub open_slots: Vec<OpenSlot>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
}

impl NodesConf {
    pub fn myself(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| n.is_myself())
    }
}

fn parse_flags(text: &str) -> Option<u16> {
    let mut bits = 0;
    for word in text.split(',') {
        bits |= match word {
            "myself" => flags::MYSELF,
            "master" => flags::MASTER,
            "slave" => flags::SLAVE,
            "fail?" => flags::PFAIL,
            "fail" => flags::FAIL,
            "handshake" => flags::HANDSHAKE,
            "noaddr" => flags::NOADDR,
            "nofailover" => flags::NOFAILOVER,
            "noflags" => 0,
            _ => return None,
        };
    }
    Some(bits)
}

/// `ip:port@cport[,hostname[,aux...]]`; before Redis 4 there was no `@cport` (then cport = port + 10000).
fn parse_address(text: &str) -> Option<(String, u16, u16, String)> {
    let (addr, hostname) = match text.split_once(',') {
        Some((a, rest)) => (a, rest.split(',').next().unwrap_or("").to_string()),
        None => (text, String::new()),
    };
    let (hostport, cport) = match addr.split_once('@') {
        Some((hp, c)) => (hp, Some(c.parse::<u16>().ok()?)),
        None => (addr, None),
    };
    let colon = hostport.rfind(':')?;
    let ip = hostport[..colon].to_string();
    let port: u16 = hostport[colon + 1..].parse().ok()?;
    let cport = cport.unwrap_or_else(|| port.wrapping_add(10000));
    Some((ip, port, cport, hostname))
}

fn parse_slot(text: &str) -> Option<u16> {
    text.parse::<u16>().ok().filter(|&s| (s as usize) < crate::slot::SLOT_COUNT)
}

/// Parses nodes.conf. `Ok(None)` for an empty file (a fresh node); an error names the line and the reason.
pub fn parse(text: &str) -> Result<Option<NodesConf>, String> {
    let mut conf = NodesConf::default();
    let mut any = false;
    for (lineno, line) in text.lines().enumerate() {
        let err =
            |why: &str| format!("Unrecoverable error: corrupted cluster config file at line {}: {why}", lineno + 1);
        if line.trim().is_empty() {
            continue;
        }
        any = true;
        let Some(argv) = split_args(line.as_bytes()) else { return Err(err("unbalanced quotes")) };
        let argv: Vec<String> = argv.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect();
        if argv.first().map(String::as_str) == Some("vars") {
            let mut i = 1;
            while i + 1 < argv.len() {
                let value: u64 = argv[i + 1].parse().map_err(|_| err("epoch is not a number"))?;
                match argv[i].as_str() {
                    "currentEpoch" => conf.current_epoch = value,
                    "lastVoteEpoch" => conf.last_vote_epoch = value,
                    other => tracing::warn!("Skipping unknown cluster config variable '{other}'"),
                }
                i += 2;
            }
            continue;
        }
        if argv.len() < 8 {
            return Err(err("a node line needs at least 8 fields"));
        }
        let id = NodeId::parse(argv[0].as_bytes()).ok_or_else(|| err("bad node id"))?;
        let (ip, port, cport, hostname) = parse_address(&argv[1]).ok_or_else(|| err("bad address"))?;
        let node_flags = parse_flags(&argv[2]).ok_or_else(|| err("unknown node flag"))?;
        let primary = match argv[3].as_str() {
            "-" => None,
            other => Some(NodeId::parse(other.as_bytes()).ok_or_else(|| err("bad primary id"))?),
        };
        let ping_sent_ms: u64 = argv[4].parse().map_err(|_| err("bad ping time"))?;
        let pong_received_ms: u64 = argv[5].parse().map_err(|_| err("bad pong time"))?;
        let config_epoch: u64 = argv[6].parse().map_err(|_| err("bad config epoch"))?;
        let link_connected = match argv[7].as_str() {
            "connected" => true,
            "disconnected" => false,
            _ => return Err(err("link state must be connected or disconnected")),
        };
        if conf.nodes.iter().any(|n| n.id == id) {
            return Err(err("duplicate node id"));
        }
        let mut node = Node::new(id, node_flags, 0);
        node.ip = ip;
        node.port = port;
        node.cport = cport;
        node.hostname = hostname;
        node.primary = primary;
        node.ping_sent_ms = ping_sent_ms;
        node.pong_received_ms = pong_received_ms;
        node.config_epoch = config_epoch;
        node.link_connected = link_connected;
        for token in &argv[8..] {
            if let Some(inner) = token.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                if !node.is_myself() {
                    return Err(err("open slot on a node other than myself"));
                }
                if let Some((slot, to)) = inner.split_once("->-") {
                    let slot = parse_slot(slot).ok_or_else(|| err("bad slot"))?;
                    let to = NodeId::parse(to.as_bytes()).ok_or_else(|| err("bad node id in open slot"))?;
                    conf.open_slots.push(OpenSlot::Migrating { slot, to });
                } else if let Some((slot, from)) = inner.split_once("-<-") {
                    let slot = parse_slot(slot).ok_or_else(|| err("bad slot"))?;
                    let from = NodeId::parse(from.as_bytes()).ok_or_else(|| err("bad node id in open slot"))?;
                    conf.open_slots.push(OpenSlot::Importing { slot, from });
                } else {
                    return Err(err("bad open slot"));
                }
                continue;
            }
            let (start, end) = match token.split_once('-') {
                Some((a, b)) => (parse_slot(a), parse_slot(b)),
                None => (parse_slot(token), parse_slot(token)),
            };
            match (start, end) {
                (Some(a), Some(b)) if a <= b => conf.slots.push((a, b, id)),
                _ => return Err(err("bad slot range")),
            }
        }
        conf.nodes.push(node);
    }
    if !any {
        return Ok(None);
    }
    match conf.nodes.iter().filter(|n| n.is_myself()).count() {
        1 => Ok(Some(conf)),
        0 => Err("Unrecoverable error: corrupted cluster config file: no node flagged myself".to_string()),
        _ => Err("Unrecoverable error: corrupted cluster config file: several nodes flagged myself".to_string()),
    }
}

/// Collapses sorted slots into inclusive ranges.
pub fn ranges(slots: impl IntoIterator<Item = u16>) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for s in slots {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == s => *end = s,
            _ => out.push((s, s)),
        }
    }
    out
}

/// One CLUSTER NODES / nodes.conf line (without the newline). `epoch` is the config epoch shown: the node's
/// own for a primary, its primary's for a replica (as Redis prints it). `slot_ranges` are the node's own
/// ranges (for a replica Redis prints none); `open` are printed only on our own line.
pub fn node_line(node: &Node, epoch: u64, slot_ranges: &[(u16, u16)], open: &[OpenSlot]) -> String {
    let mut line = format!(
        "{} {} {} {} {} {} {} {}",
        node.id,
        node.address(),
        node.flag_names(),
        node.primary.map_or_else(|| "-".to_string(), |p| p.to_string()),
        node.ping_sent_ms,
        node.pong_received_ms,
        epoch,
        if node.link_connected || node.is_myself() { "connected" } else { "disconnected" }
    );
    for &(a, b) in slot_ranges {
        if a == b {
            line.push_str(&format!(" {a}"));
        } else {
            line.push_str(&format!(" {a}-{b}"));
        }
    }
    if node.is_myself() {
        for o in open {
            match o {
                OpenSlot::Migrating { slot, to } => line.push_str(&format!(" [{slot}->-{to}]")),
                OpenSlot::Importing { slot, from } => line.push_str(&format!(" [{slot}-<-{from}]")),
            }
        }
    }
    line
}

/// The whole file: every node but those still in handshake, then the `vars` line.
pub fn render(conf: &NodesConf) -> String {
    let mut out = String::new();
    for node in conf.nodes.iter().filter(|n| !n.has(flags::HANDSHAKE)) {
        let owned = conf.slots.iter().filter(|(_, _, owner)| *owner == node.id).map(|&(a, b, _)| (a, b));
        let mut owned: Vec<(u16, u16)> = owned.collect();
        owned.sort_unstable();
        let primary = node.primary.and_then(|p| conf.nodes.iter().find(|n| n.id == p));
        let epoch = primary.map_or(node.config_epoch, |p| p.config_epoch);
        out.push_str(&node_line(node, epoch, &owned, &conf.open_slots));
        out.push('\n');
    }
    out.push_str(&format!("vars currentEpoch {} lastVoteEpoch {}\n", conf.current_epoch, conf.last_vote_epoch));
    out
}

/// Writes `text` to `path` atomically: temporary file, fsync, rename, fsync of the directory.
pub fn save(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "nodes.conf".into());
    let tmp = dir.join(format!("{name}.tmp-{}-{stamp}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Takes Redis's exclusive advisory lock on the config file; keep the returned file open for the whole life
/// of the process. Fails if another server holds it.
pub fn lock(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
    // SAFETY: flock on a file descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(std::io::Error::other(format!(
            "Sorry, the cluster configuration file {} is already used by a different Redis Cluster node. Please make \
             sure that different nodes use different cluster configuration files.",
            path.display()
        )));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REDIS_FILE: &str = include_str!("../../tests/fixtures/redis-7.0.15/cluster/nodes.conf");

    #[test]
    fn parses_and_renders_a_redis_7_file() {
        let conf = parse(REDIS_FILE).unwrap().unwrap();
        assert_eq!(conf.nodes.len(), 4);
        assert_eq!(conf.current_epoch, 3);
        assert_eq!(conf.last_vote_epoch, 0);
        let me = conf.myself().unwrap();
        assert_eq!(me.port, 17301);
        assert_eq!(me.cport, 27301);
        assert!(conf.slots.contains(&(0, 5460, me.id)));
        let replica = conf.nodes.iter().find(|n| n.is_replica()).unwrap();
        assert_eq!(replica.primary, Some(me.id));
        // Our rendering of Redis's file is Redis's file, line for line (order aside).
        let rendered = render(&conf);
        let mut ours: Vec<&str> = rendered.lines().collect();
        let mut theirs: Vec<&str> = REDIS_FILE.lines().collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn empty_file_is_a_fresh_node_and_junk_is_refused() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("\n\n").unwrap(), None);
        for bad in [
            "garbage",
            "zzzz 127.0.0.1:1@2 myself,master - 0 0 0 connected",
            "60f2c38f9e6da91fc849aa78a9fc18122a23332c 127.0.0.1:x@2 myself,master - 0 0 0 connected",
            "60f2c38f9e6da91fc849aa78a9fc18122a23332c 127.0.0.1:1@2 myself,boss - 0 0 0 connected",
            "60f2c38f9e6da91fc849aa78a9fc18122a23332c 127.0.0.1:1@2 myself,master - 0 0 0 connected 99999",
            "60f2c38f9e6da91fc849aa78a9fc18122a23332c 127.0.0.1:1@2 myself,master - 0 0 0 connected 5-1",
            "60f2c38f9e6da91fc849aa78a9fc18122a23332c 127.0.0.1:1@2 master - 0 0 0 connected",
            "vars currentEpoch x",
        ] {
            assert!(parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn open_slots_round_trip() {
        let text = "60f2c38f9e6da91fc849aa78a9fc18122a23332c 127.0.0.1:7000@17000 myself,master - 0 0 5 connected \
                    0-10 12 [11->-96d928486a21d038ea58ccc830ed46254611ffea] \
                    [13-<-96d928486a21d038ea58ccc830ed46254611ffea]\n\
                    96d928486a21d038ea58ccc830ed46254611ffea 127.0.0.1:7001@17001,host1 master - 0 0 6 disconnected\n\
                    vars currentEpoch 6 lastVoteEpoch 2\n";
        let conf = parse(text).unwrap().unwrap();
        assert_eq!(conf.open_slots.len(), 2);
        assert_eq!(conf.nodes[1].hostname, "host1");
        assert_eq!(render(&conf), text);
    }

    #[test]
    fn ranges_collapse() {
        assert_eq!(ranges([0, 1, 2, 5, 7, 8]), vec![(0, 2), (5, 5), (7, 8)]);
        assert!(ranges([]).is_empty());
    }

    #[test]
    fn save_is_atomic_and_lock_is_exclusive() {
        let dir = std::env::temp_dir().join(format!("shoal-nodesconf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nodes.conf");
        let _held = lock(&path).unwrap();
        assert!(lock(&path).is_err(), "a second lock on the same file must fail");
        save(&path, REDIS_FILE).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), REDIS_FILE);
        let leftovers = std::fs::read_dir(&dir).unwrap().filter(|e| e.as_ref().unwrap().file_name() != "nodes.conf");
        assert_eq!(leftovers.count(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
