//! A cluster node as this node knows it: identity, address, role, epochs, liveness timers and failure reports.
//!
//! Flag bits are Redis's (`CLUSTER_NODE_*`), the same values the bus carries, so a node's flags go on the
//! wire unchanged. Names and texts follow the spec's vocabulary (primary/replica in code; Redis's
//! `master`/`slave` words where its output formats use them).

use std::fmt;

/// Node flag bits: Redis's `CLUSTER_NODE_*`, defined once with the wire format that carries them.
pub use super::wire::flags;

/// A 40-character lower-case hex node id (or shard id). Ordered byte by byte, as Redis's `memcmp` orders
/// names (configEpoch collisions are settled by that order).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(pub [u8; 40]);

impl NodeId {
    /// The first 8 bytes as one big-endian number: ordering by it is ordering by those bytes.
    fn prefix(&self) -> u64 {
        let mut p = [0u8; 8];
        p.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(p)
    }
}

impl Ord for NodeId {
    /// Lexicographic; random ids almost always differ in their first 8 bytes, so the node table's lookups
    /// settle with one integer comparison instead of a `memcmp` call.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.prefix().cmp(&other.prefix()).then_with(|| self.0[8..].cmp(&other.0[8..]))
    }
}

impl PartialOrd for NodeId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl NodeId {
    /// A fresh random id (node ids are random 160-bit values printed in hex).
    pub fn random(rng: &mut fastrand::Rng) -> NodeId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = [0u8; 40];
        for b in id.iter_mut() {
            *b = HEX[rng.usize(..16)];
        }
        NodeId(id)
    }

    /// Parses 40 hex characters (Redis accepts only these in nodes.conf and commands).
    pub fn parse(s: &[u8]) -> Option<NodeId> {
        if s.len() != 40 || !s.iter().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut id = [0u8; 40];
        id.copy_from_slice(s);
        Some(NodeId(id))
    }

    /// The id as the bus carries it.
    pub fn to_wire(self) -> super::wire::NodeName {
        super::wire::NodeName(self.0)
    }

    /// A node name from the bus, if it is a valid id (40 hex characters).
    pub fn from_wire(name: &super::wire::NodeName) -> Option<NodeId> {
        NodeId::parse(name.as_bytes())
    }

    pub fn as_str(&self) -> &str {
        // Always ASCII hex (constructed by `random` or validated by `parse`).
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str()[..8])
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure report: `reporter` (a voting primary) said this node is PFAIL/FAIL at `time_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailReport {
    pub reporter: NodeId,
    pub time_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: NodeId,
    pub shard_id: Option<NodeId>,
    pub flags: u16,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub pport: u16,
    pub hostname: String,
    /// The primary of a replica.
    pub primary: Option<NodeId>,
    pub config_epoch: u64,
    /// When we sent a PING still unanswered (0 = none outstanding).
    pub ping_sent_ms: u64,
    pub pong_received_ms: u64,
    pub data_received_ms: u64,
    pub fail_time_ms: u64,
    pub voted_time_ms: u64,
    pub repl_offset: u64,
    /// When the node entered handshake or was created (for the handshake timeout).
    pub created_ms: u64,
    /// Whether our outbound link to it is up (CLUSTER NODES `connected` / `disconnected`).
    pub link_connected: bool,
    /// The driver's id of our outbound link to it, once connected.
    pub outbound_link: Option<u64>,
    /// A connection attempt is in progress (no second Connect effect meanwhile).
    pub connecting: bool,
    pub fail_reports: Vec<FailReport>,
}

impl Node {
    pub fn new(id: NodeId, flags: u16, now_ms: u64) -> Node {
        Node {
            id,
            shard_id: None,
            flags,
            ip: String::new(),
            port: 0,
            cport: 0,
            pport: 0,
            hostname: String::new(),
            primary: None,
            config_epoch: 0,
            ping_sent_ms: 0,
            pong_received_ms: 0,
            data_received_ms: 0,
            fail_time_ms: 0,
            voted_time_ms: 0,
            repl_offset: 0,
            created_ms: now_ms,
            link_connected: false,
            outbound_link: None,
            connecting: false,
            fail_reports: Vec::new(),
        }
    }

    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    pub fn is_primary(&self) -> bool {
        self.has(flags::MASTER)
    }

    pub fn is_replica(&self) -> bool {
        self.has(flags::SLAVE)
    }

    pub fn is_myself(&self) -> bool {
        self.has(flags::MYSELF)
    }

    pub fn is_failing(&self) -> bool {
        self.has(flags::FAIL) || self.has(flags::PFAIL)
    }

    /// The comma-separated flag list of CLUSTER NODES (`myself,master`, `slave,fail?`, `noflags`).
    pub fn flag_names(&self) -> String {
        const NAMES: &[(u16, &str)] = &[
            (flags::MYSELF, "myself"),
            (flags::MASTER, "master"),
            (flags::SLAVE, "slave"),
            (flags::PFAIL, "fail?"),
            (flags::FAIL, "fail"),
            (flags::HANDSHAKE, "handshake"),
            (flags::NOADDR, "noaddr"),
            (flags::NOFAILOVER, "nofailover"),
        ];
        let names: Vec<&str> = NAMES.iter().filter(|(bit, _)| self.flags & bit != 0).map(|(_, n)| *n).collect();
        if names.is_empty() {
            "noflags".to_string()
        } else {
            names.join(",")
        }
    }

    /// `ip:port@cport[,hostname]` as CLUSTER NODES and nodes.conf print it.
    pub fn address(&self) -> String {
        let mut s = format!("{}:{}@{}", self.ip, self.port, self.cport);
        if !self.hostname.is_empty() {
            s.push(',');
            s.push_str(&self.hostname);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_order_byte_by_byte() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut ids: Vec<NodeId> = (0..200).map(|_| NodeId::random(&mut rng)).collect();
        // Ids sharing their first 8 (or all but the last) bytes.
        let mut twin = ids[0];
        twin.0[39] = if twin.0[39] == b'0' { b'1' } else { b'0' };
        ids.push(twin);
        let mut cousin = ids[1];
        cousin.0[8] = if cousin.0[8] == b'f' { b'e' } else { b'f' };
        ids.push(cousin);
        for a in &ids {
            for b in &ids {
                assert_eq!(a.cmp(b), a.0.cmp(&b.0), "{a} vs {b}");
            }
        }
    }
}
