//! Fixed-size fields of the bus format: node names, NUL-padded IP strings, the 16384-bit slot bitmap, the
//! sender's state byte, and the flag bit values.
//!
//! These keep the bytes exactly as they travel (a name is 40 raw bytes, an IP field 46), so that a decoded
//! packet encodes back to the same bytes; accessors give the meaningful view.

use std::fmt;

/// Node flag bits (`CLUSTER_NODE_*` in Redis's cluster.h), carried in the header's and each gossip entry's
/// `flags` field.
pub mod flags {
    pub const MASTER: u16 = 1;
    pub const SLAVE: u16 = 2;
    pub const PFAIL: u16 = 4;
    pub const FAIL: u16 = 8;
    pub const MYSELF: u16 = 16;
    pub const HANDSHAKE: u16 = 32;
    pub const NOADDR: u16 = 64;
    pub const MEET: u16 = 128;
    pub const MIGRATE_TO: u16 = 256;
    pub const NOFAILOVER: u16 = 512;
    /// Defined by Redis 7.0.15 but never sent by it (7.2+ sets it); see the module doc of `wire`.
    pub const EXTENSIONS_SUPPORTED: u16 = 1024;
}

/// Bits of `mflags[0]` (`CLUSTERMSG_FLAG0_*`).
pub mod mflags {
    /// The sending primary is paused for a manual failover.
    pub const PAUSED: u8 = 1;
    /// FAILOVER_AUTH_REQUEST: vote even though the primary is not failing (manual failover).
    pub const FORCEACK: u8 = 2;
    /// PING/PONG/MEET: the `extensions` count is meaningful and extensions follow the gossip section.
    pub const EXT_DATA: u8 = 4;
}

/// Length of a node name (a 40-character hex id) on the wire.
pub const NAME_LEN: usize = 40;
/// Length of an IP field (`NET_IP_STR_LEN`) on the wire.
pub const IP_LEN: usize = 46;
/// Number of hash slots, and bytes in the slot bitmap.
pub const SLOTS: usize = 16384;
pub const SLOT_BITMAP_LEN: usize = SLOTS / 8;

/// A node name as carried on the bus: 40 bytes, normally lower-case hex. Kept raw (the codec does not judge
/// names; the state machine does).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeName(pub [u8; NAME_LEN]);

impl NodeName {
    /// The all-zero name Redis uses for "no node" (`CLUSTER_NODE_NULL_NAME`).
    pub const NULL: NodeName = NodeName([0; NAME_LEN]);

    /// `Some` when `s` is exactly 40 bytes.
    pub fn from_bytes(s: &[u8]) -> Option<NodeName> {
        <[u8; NAME_LEN]>::try_from(s).ok().map(NodeName)
    }

    pub fn as_bytes(&self) -> &[u8; NAME_LEN] {
        &self.0
    }

    pub fn is_null(&self) -> bool {
        self.0 == [0; NAME_LEN]
    }

    /// Whether this is a well-formed node id: 40 hex digits.
    pub fn is_hex(&self) -> bool {
        self.0.iter().all(u8::is_ascii_hexdigit)
    }
}

impl Default for NodeName {
    fn default() -> Self {
        NodeName::NULL
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Debug for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeName({:?})", String::from_utf8_lossy(&self.0))
    }
}

/// A 46-byte IP field, NUL-terminated and NUL-padded. The raw bytes are kept, including anything after the
/// first NUL (Redis copies its node's whole `ip` buffer into gossip entries, and that buffer may hold a
/// shorter address over a longer old one), so decoding and encoding are exact.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetIp(pub [u8; IP_LEN]);

impl NetIp {
    /// An all-zero field ("no address": the receiver uses the socket's peer address).
    pub const EMPTY: NetIp = NetIp([0; IP_LEN]);

    /// `Some` when `ip` has at most 45 bytes and no NUL (room for the terminator, as Redis requires).
    pub fn new(ip: &[u8]) -> Option<NetIp> {
        if ip.len() >= IP_LEN || ip.contains(&0) {
            return None;
        }
        let mut raw = [0; IP_LEN];
        raw[..ip.len()].copy_from_slice(ip);
        Some(NetIp(raw))
    }

    /// The address: the bytes before the first NUL.
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(IP_LEN);
        &self.0[..end]
    }

    /// The address as text (lossy for non-UTF-8 bytes).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }

    pub fn is_empty(&self) -> bool {
        self.0[0] == 0
    }
}

impl Default for NetIp {
    fn default() -> Self {
        NetIp::EMPTY
    }
}

impl fmt::Debug for NetIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetIp({:?})", self.to_string_lossy())
    }
}

/// The 16384-slot ownership bitmap: slot `j` is bit `j % 8` (least significant first) of byte `j / 8`.
/// Boxed, so that messages stay small to move around.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SlotBitmap(pub Box<[u8; SLOT_BITMAP_LEN]>);

impl SlotBitmap {
    /// No slots.
    pub fn new() -> SlotBitmap {
        SlotBitmap(Box::new([0; SLOT_BITMAP_LEN]))
    }

    pub fn from_bytes(bytes: [u8; SLOT_BITMAP_LEN]) -> SlotBitmap {
        SlotBitmap(Box::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; SLOT_BITMAP_LEN] {
        &self.0
    }

    /// Whether `slot` is set; slots past 16383 never are.
    pub fn get(&self, slot: u16) -> bool {
        let slot = usize::from(slot);
        slot < SLOTS && self.0[slot / 8] & (1 << (slot % 8)) != 0
    }

    /// Sets (`on`) or clears `slot`; slots past 16383 are ignored and `false` is returned for them.
    pub fn set(&mut self, slot: u16, on: bool) -> bool {
        let slot = usize::from(slot);
        if slot >= SLOTS {
            return false;
        }
        if on {
            self.0[slot / 8] |= 1 << (slot % 8);
        } else {
            self.0[slot / 8] &= !(1 << (slot % 8));
        }
        true
    }

    /// Sets every slot in `first..=last` (clamped to the valid range).
    pub fn set_range(&mut self, first: u16, last: u16) {
        for slot in first..=last.min(SLOTS as u16 - 1) {
            self.set(slot, true);
        }
    }

    /// The set slots, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, &b)| b != 0)
            .flat_map(|(i, &b)| (0..8u16).filter(move |bit| b & (1 << bit) != 0).map(move |bit| i as u16 * 8 + bit))
    }

    /// The set slots as inclusive ranges, ascending.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        for slot in self.iter() {
            match out.last_mut() {
                Some((_, last)) if *last + 1 == slot => *last = slot,
                _ => out.push((slot, slot)),
            }
        }
        out
    }

    pub fn count(&self) -> usize {
        self.0.iter().map(|b| b.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }
}

impl Default for SlotBitmap {
    fn default() -> Self {
        SlotBitmap::new()
    }
}

impl FromIterator<u16> for SlotBitmap {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        let mut map = SlotBitmap::new();
        for slot in iter {
            map.set(slot, true);
        }
        map
    }
}

impl fmt::Debug for SlotBitmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlotBitmap[")?;
        for (i, (first, last)) in self.ranges().into_iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if first == last {
                write!(f, "{first}")?;
            } else {
                write!(f, "{first}-{last}")?;
            }
        }
        f.write_str("]")
    }
}

/// The sender's view of the cluster state (`state` byte): 0 ok, 1 fail. Other values are kept as they are
/// (Redis does not read this byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum WireState {
    #[default]
    Ok,
    Fail,
    Other(u8),
}

impl WireState {
    pub fn from_byte(b: u8) -> WireState {
        match b {
            0 => WireState::Ok,
            1 => WireState::Fail,
            other => WireState::Other(other),
        }
    }

    pub fn to_byte(self) -> u8 {
        match self {
            WireState::Ok => 0,
            WireState::Fail => 1,
            WireState::Other(b) => b,
        }
    }
}
