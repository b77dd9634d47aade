//! The cluster bus codec: Redis 7's `clusterMsg` packets, byte for byte.
//!
//! This module decides only what bytes mean: [`decode`] turns one complete packet into a [`Message`] (or a
//! [`WireError`] saying why Redis would drop it), [`encode`] turns a `Message` back into bytes, and
//! [`frame_len`] cuts packets out of a byte stream. It knows nothing of cluster state; the bus driver and the
//! state machine give the fields their meaning.
//!
//! # Format (Redis `cluster.h`; see shared/reference/redis-cluster-spec-notes.md §1.4–1.5)
//! A 2256-byte header (`"RCmb"`, totlen, version 1, ports, type, counts, epochs, repl offset, sender name,
//! 2048-byte slot bitmap, primary name, announced IP, flags, state, mflags), then a body that depends on the
//! type. Integers are big-endian. PING/PONG/MEET carry `count` 104-byte gossip entries and, when `mflags[0]`
//! has `EXT_DATA`, `extensions` ping extensions (see [`PingExt`]).
//!
//! # Validation (Redis's `clusterReadHandler` + `clusterIsValidPacket`)
//! Signature `"RCmb"`, totlen ≥ 2256 (and, for us, ≤ a cap so a peer cannot make us buffer without bound),
//! version 1, and the exact totlen each known type implies. Unknown message types are accepted with any
//! length ≥ 2256 and kept whole ([`Body::Unknown`]), as Redis does (it ignores them). Stricter than Redis 7.0,
//! on purpose: an extension header must fit in the packet, an extension is at least its 8-byte header long,
//! and lengths are added without 16/32-bit wrap-around (7.0 truncates an extension length to 16 bits, and
//! its `totlen - explen` check can wrap). HOSTNAME/HUMAN_NODENAME must hold a NUL terminator.
//!
//! # What Redis 7.0.15 actually sends (from tests/fixtures/redis-7.0.15/bus/, captured from real nodes)
//! * Extensions only when it has something to say: the HOSTNAME extension when `cluster-announce-hostname`
//!   is set, and then `mflags[0]` has `EXT_DATA` and `extensions` = 1. Otherwise `EXT_DATA` is clear and
//!   `extensions` = 0. (7.2+ sets `EXT_DATA` on every packet and always sends SHARDID.)
//! * It never sets the `EXTENSIONS_SUPPORTED` node flag (1024); 7.0 sends the hostname extension to every
//!   peer regardless.
//! * All other header padding (`notused1`, the gossip entries' `notused1`, an extension's `unused`) is zero,
//!   so the codec does not keep those bytes: decoding drops them and encoding writes zeros.
//!
//! # Round trips
//! `encode(&decode(b)?) == b` for every packet Redis sends (pinned by the golden tests). Counts and lengths
//! (`totlen`, `count`, `extensions`) are not stored in [`Header`]: they follow from the body and are computed
//! by `encode`, which also sets `EXT_DATA` when there are extensions. A PING-type packet without `EXT_DATA`
//! whose `extensions` field is non-zero is accepted (Redis ignores that field then) and re-encodes with 0.

mod ext;
mod fields;

pub use ext::{ext_type, PingExt, EXT_HEADER_LEN};
pub use fields::{flags, mflags, NetIp, NodeName, SlotBitmap, WireState, IP_LEN, NAME_LEN, SLOTS, SLOT_BITMAP_LEN};

use std::fmt;

/// `"RCmb"`, the first four bytes of every packet.
pub const SIGNATURE: [u8; 4] = *b"RCmb";
/// `CLUSTER_PROTO_VER`: the only version Redis 7 accepts.
pub const PROTO_VER: u16 = 1;
/// Header size (`sizeof(clusterMsg) - sizeof(union clusterMsgData)`), also the smallest valid totlen.
pub const HEADER_LEN: usize = 2256;
/// Size of one gossip entry (`clusterMsgDataGossip`).
pub const GOSSIP_LEN: usize = 104;
/// Bytes [`frame_len`] needs to see before it can tell a packet's length.
pub const FRAME_PREFIX_LEN: usize = 8;
/// The default cap on totlen for [`frame_len`]: far above any PING (gossip about 1000 nodes is about
/// 100 KiB), low enough that a peer cannot make us buffer gigabytes. Redis itself has no cap, and a PUBLISH
/// carries a whole client message (up to `proto-max-bulk-len`), so a driver that allows larger messages
/// should pass its own cap to [`frame_len_limited`].
pub const DEFAULT_MAX_PACKET_LEN: usize = 16 << 20;

/// Message type codes (`CLUSTERMSG_TYPE_*`).
pub mod msg_type {
    pub const PING: u16 = 0;
    pub const PONG: u16 = 1;
    pub const MEET: u16 = 2;
    pub const FAIL: u16 = 3;
    pub const PUBLISH: u16 = 4;
    pub const FAILOVER_AUTH_REQUEST: u16 = 5;
    pub const FAILOVER_AUTH_ACK: u16 = 6;
    pub const UPDATE: u16 = 7;
    pub const MFSTART: u16 = 8;
    pub const MODULE: u16 = 9;
    pub const PUBLISHSHARD: u16 = 10;
    /// `CLUSTERMSG_TYPE_COUNT`: codes from here on are unknown to Redis 7.
    pub const COUNT: u16 = 11;

    /// Redis's name for a type (as in `clusterGetMessageTypeString`), for logs.
    pub fn name(code: u16) -> &'static str {
        match code {
            PING => "ping",
            PONG => "pong",
            MEET => "meet",
            FAIL => "fail",
            PUBLISH => "publish",
            PUBLISHSHARD => "publishshard",
            FAILOVER_AUTH_REQUEST => "auth-req",
            FAILOVER_AUTH_ACK => "auth-ack",
            UPDATE => "update",
            MFSTART => "mfstart",
            MODULE => "module",
            _ => "unknown",
        }
    }
}

// Offsets inside the header (see the module doc).
const OFF_EXTENSIONS: usize = 2214;
const OFF_MFLAGS: usize = 2253;
const NOTUSED1_LEN: usize = 30;
/// FAIL: header + nodename.
const FAIL_LEN: usize = HEADER_LEN + NAME_LEN;
/// UPDATE: header + configEpoch + nodename + slots (= sizeof(clusterMsg), 4352).
const UPDATE_LEN: usize = HEADER_LEN + 8 + NAME_LEN + SLOT_BITMAP_LEN;
/// PUBLISH/PUBLISHSHARD: header + channel_len + message_len, then the bytes.
const PUBLISH_FIXED_LEN: usize = HEADER_LEN + 8;
/// MODULE: header + module_id + len + type, then the bytes.
const MODULE_FIXED_LEN: usize = HEADER_LEN + 13;

/// The header fields a sender chooses. `sig`, `ver` (always 1), `totlen`, `type`, `count` and `extensions`
/// follow from the [`Body`]; the 30 `notused1` bytes are always zero.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// The sender's client port (the TLS port when `tls-cluster` is on).
    pub port: u16,
    pub current_epoch: u64,
    /// The sender's config epoch, or its primary's when it is a replica.
    pub config_epoch: u64,
    /// Replication offset (a primary's master_repl_offset, a replica's processed offset).
    pub offset: u64,
    pub sender: NodeName,
    /// The sender's slots, or its primary's when it is a replica.
    pub myslots: SlotBitmap,
    /// The sender's primary (`slaveof`), `None` on the wire as 40 zero bytes.
    pub replicaof: Option<NodeName>,
    /// `cluster-announce-ip`, or empty (then the receiver uses the connection's peer address).
    pub myip: NetIp,
    /// The secondary client port (plain TCP when `port` is TLS, and vice versa), 0 if none.
    pub pport: u16,
    /// The sender's bus port.
    pub cport: u16,
    /// [`flags`] bits.
    pub flags: u16,
    pub state: WireState,
    /// [`mflags`] bits in `[0]`; `[1]` and `[2]` are unused by Redis 7 but kept.
    pub mflags: [u8; 3],
}

/// One gossip entry (`clusterMsgDataGossip`, 104 bytes): what the sender knows about some other node.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GossipEntry {
    pub nodename: NodeName,
    /// When the sender last pinged the node (unix seconds, 0 = no ping outstanding).
    pub ping_sent_secs: u32,
    /// When the sender last got a PONG from it (unix seconds).
    pub pong_received_secs: u32,
    pub ip: NetIp,
    pub port: u16,
    pub cport: u16,
    /// [`flags`] bits.
    pub flags: u16,
    pub pport: u16,
}

/// The body shared by PING, PONG and MEET.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PingBody {
    pub gossip: Vec<GossipEntry>,
    pub extensions: Vec<PingExt>,
}

/// A message body, one variant per type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Ping(PingBody),
    Pong(PingBody),
    Meet(PingBody),
    /// The named node is failing: receivers mark it FAIL.
    Fail {
        nodename: NodeName,
    },
    Publish {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    PublishShard {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    /// A replica asks for a vote (epochs, slots and FORCEACK are in the header).
    FailoverAuthRequest,
    FailoverAuthAck,
    /// `nodename` serves `slots` at `config_epoch`: the receiver's view of them is stale.
    Update {
        config_epoch: u64,
        nodename: NodeName,
        slots: SlotBitmap,
    },
    /// A replica asks its primary to pause for a manual failover.
    MfStart,
    Module {
        module_id: u64,
        module_type: u8,
        payload: Vec<u8>,
    },
    /// A type Redis 7 does not know (code ≥ 11): everything after the header, kept as is (the header's
    /// `count` and `extensions` fields are not kept; they encode as 0). Encoding an `Unknown` with a known
    /// code gives bytes that decode as that known type (or fail to).
    Unknown {
        msg_type: u16,
        payload: Vec<u8>,
    },
}

impl Body {
    /// The type code written in the header.
    pub fn msg_type(&self) -> u16 {
        match self {
            Body::Ping(_) => msg_type::PING,
            Body::Pong(_) => msg_type::PONG,
            Body::Meet(_) => msg_type::MEET,
            Body::Fail { .. } => msg_type::FAIL,
            Body::Publish { .. } => msg_type::PUBLISH,
            Body::PublishShard { .. } => msg_type::PUBLISHSHARD,
            Body::FailoverAuthRequest => msg_type::FAILOVER_AUTH_REQUEST,
            Body::FailoverAuthAck => msg_type::FAILOVER_AUTH_ACK,
            Body::Update { .. } => msg_type::UPDATE,
            Body::MfStart => msg_type::MFSTART,
            Body::Module { .. } => msg_type::MODULE,
            Body::Unknown { msg_type, .. } => *msg_type,
        }
    }

    /// The gossip/extension body of a PING, PONG or MEET.
    pub fn ping_body(&self) -> Option<&PingBody> {
        match self {
            Body::Ping(b) | Body::Pong(b) | Body::Meet(b) => Some(b),
            _ => None,
        }
    }
}

/// One bus packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub body: Body,
}

impl Message {
    pub fn msg_type(&self) -> u16 {
        self.body.msg_type()
    }

    /// The packet's length on the wire (its totlen), computed without encoding.
    pub fn encoded_len(&self) -> u64 {
        let body = match &self.body {
            Body::Ping(b) | Body::Pong(b) | Body::Meet(b) => {
                b.gossip.len() as u64 * GOSSIP_LEN as u64
                    + b.extensions.iter().map(|e| e.encoded_len() as u64).sum::<u64>()
            }
            Body::Fail { .. } => NAME_LEN as u64,
            Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
                8 + channel.len() as u64 + message.len() as u64
            }
            Body::FailoverAuthRequest | Body::FailoverAuthAck | Body::MfStart => 0,
            Body::Update { .. } => (UPDATE_LEN - HEADER_LEN) as u64,
            Body::Module { payload, .. } => 13 + payload.len() as u64,
            Body::Unknown { payload, .. } => payload.len() as u64,
        };
        HEADER_LEN as u64 + body
    }
}

/// Why bytes are not a valid packet (or a message cannot be encoded). The bus driver logs it and drops the
/// packet (for framing errors: the link).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The stream does not start with `"RCmb"` (the bytes seen, at most 4).
    BadSignature(Vec<u8>),
    /// Fewer bytes than the smallest packet or than the field being read.
    Truncated { need: usize, have: usize },
    /// `decode` was given a buffer whose length differs from the packet's totlen.
    LengthMismatch { totlen: u32, buffer: usize },
    /// totlen below the 2256-byte header.
    TotlenTooSmall { totlen: u32 },
    /// totlen above the configured cap.
    TotlenTooLarge { totlen: u32, max: usize },
    /// A protocol version other than 1.
    BadVersion(u16),
    /// totlen is not what the type's fields imply (`expected` is computed without overflow).
    BadLength { msg_type: u16, totlen: u32, expected: u64 },
    /// A ping extension is malformed.
    BadExtension { index: usize, ext_type: u16, reason: &'static str },
    /// Encoding: a count or length does not fit its wire field.
    TooLarge { what: &'static str, len: u64 },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::BadSignature(seen) => {
                write!(f, "bad cluster bus signature \"{}\" (expected \"RCmb\")", seen.escape_ascii())
            }
            WireError::Truncated { need, have } => write!(f, "truncated packet: need {need} bytes, have {have}"),
            WireError::LengthMismatch { totlen, buffer } => {
                write!(f, "packet totlen {totlen} does not match the {buffer} bytes given")
            }
            WireError::TotlenTooSmall { totlen } => {
                write!(f, "packet totlen {totlen} is below the {HEADER_LEN}-byte header")
            }
            WireError::TotlenTooLarge { totlen, max } => write!(f, "packet totlen {totlen} exceeds the limit {max}"),
            WireError::BadVersion(v) => write!(f, "unsupported cluster bus protocol version {v} (expected 1)"),
            WireError::BadLength { msg_type: t, totlen, expected } => {
                write!(f, "invalid {} packet of length {totlen} but expected length {expected}", msg_type::name(*t))
            }
            WireError::BadExtension { index, ext_type, reason } => {
                write!(f, "invalid ping extension #{index} (type {ext_type}): {reason}")
            }
            WireError::TooLarge { what, len } => write!(f, "cannot encode: {what} ({len}) does not fit its field"),
        }
    }
}

impl std::error::Error for WireError {}

/// The length of the packet at the start of `buf` (a stream of packets), using [`DEFAULT_MAX_PACKET_LEN`].
/// See [`frame_len_limited`].
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, WireError> {
    frame_len_limited(buf, DEFAULT_MAX_PACKET_LEN)
}

/// The length of the packet at the start of `buf`: `Ok(None)` until 8 bytes are there, then `Ok(Some(totlen))`
/// (the packet is complete once `buf.len() >= totlen`). An error means the stream is not a cluster bus
/// stream (bad signature, totlen below the header size or above `max_len`): close the link, as Redis does.
pub fn frame_len_limited(buf: &[u8], max_len: usize) -> Result<Option<usize>, WireError> {
    let sig_seen = &buf[..buf.len().min(4)];
    if sig_seen != &SIGNATURE[..sig_seen.len()] {
        return Err(WireError::BadSignature(sig_seen.to_vec()));
    }
    let Some(len_bytes) = buf.get(4..8) else { return Ok(None) };
    let totlen = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    let len = totlen as usize;
    if len < HEADER_LEN {
        return Err(WireError::TotlenTooSmall { totlen });
    }
    if len > max_len {
        return Err(WireError::TotlenTooLarge { totlen, max: max_len });
    }
    Ok(Some(len))
}

/// A bounds-checked big-endian reader: every read either yields its bytes or a `Truncated` error.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], pos: usize) -> Self {
        Reader { buf, pos }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or(WireError::Truncated { need: self.pos.saturating_add(n), have: self.buf.len() })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn name(&mut self) -> Result<NodeName, WireError> {
        Ok(NodeName(self.array()?))
    }

    fn ip(&mut self) -> Result<NetIp, WireError> {
        Ok(NetIp(self.array()?))
    }

    fn slots(&mut self) -> Result<SlotBitmap, WireError> {
        let bytes = self.take(SLOT_BITMAP_LEN)?;
        let mut map = SlotBitmap::new();
        map.0.copy_from_slice(bytes);
        Ok(map)
    }
}

/// Decodes one complete packet: `buf` must be exactly `totlen` bytes (cut by [`frame_len`]). Never panics.
pub fn decode(buf: &[u8]) -> Result<Message, WireError> {
    if buf.len() < FRAME_PREFIX_LEN {
        // Report a wrong signature before a short buffer, as frame_len would.
        frame_len_limited(buf, usize::MAX)?;
        return Err(WireError::Truncated { need: HEADER_LEN, have: buf.len() });
    }
    let totlen = frame_len_limited(buf, usize::MAX)?.unwrap_or(0);
    let totlen32 = totlen as u32;
    if totlen != buf.len() {
        return Err(WireError::LengthMismatch { totlen: totlen32, buffer: buf.len() });
    }

    let mut r = Reader::new(buf, 8);
    let ver = r.u16()?;
    if ver != PROTO_VER {
        return Err(WireError::BadVersion(ver));
    }
    let port = r.u16()?;
    let ty = r.u16()?;
    let count = r.u16()?;
    let current_epoch = r.u64()?;
    let config_epoch = r.u64()?;
    let offset = r.u64()?;
    let sender = r.name()?;
    let myslots = r.slots()?;
    let replicaof = Some(r.name()?).filter(|n| !n.is_null());
    let myip = r.ip()?;
    let extension_count = r.u16()?;
    r.take(NOTUSED1_LEN)?;
    let pport = r.u16()?;
    let cport = r.u16()?;
    let flag_bits = r.u16()?;
    let state = WireState::from_byte(r.u8()?);
    let mflag_bytes = r.array::<3>()?;
    debug_assert_eq!(r.pos, HEADER_LEN);
    let header = Header {
        port,
        current_epoch,
        config_epoch,
        offset,
        sender,
        myslots,
        replicaof,
        myip,
        pport,
        cport,
        flags: flag_bits,
        state,
        mflags: mflag_bytes,
    };

    let bad_len = |expected: u64| WireError::BadLength { msg_type: ty, totlen: totlen32, expected };
    let exact = |expected: usize| if totlen == expected { Ok(()) } else { Err(bad_len(expected as u64)) };
    let body = match ty {
        msg_type::PING | msg_type::PONG | msg_type::MEET => {
            let ext_data = mflag_bytes[0] & mflags::EXT_DATA != 0;
            let ping = decode_ping_body(&mut r, count, ext_data.then_some(extension_count), bad_len)?;
            match ty {
                msg_type::PING => Body::Ping(ping),
                msg_type::PONG => Body::Pong(ping),
                _ => Body::Meet(ping),
            }
        }
        msg_type::FAIL => {
            exact(FAIL_LEN)?;
            Body::Fail { nodename: r.name()? }
        }
        msg_type::PUBLISH | msg_type::PUBLISHSHARD => {
            if totlen < PUBLISH_FIXED_LEN {
                return Err(bad_len(PUBLISH_FIXED_LEN as u64));
            }
            let channel_len = r.u32()?;
            let message_len = r.u32()?;
            let expected = PUBLISH_FIXED_LEN as u64 + u64::from(channel_len) + u64::from(message_len);
            if totlen as u64 != expected {
                return Err(bad_len(expected));
            }
            let channel = r.take(channel_len as usize)?.to_vec();
            let message = r.take(message_len as usize)?.to_vec();
            if ty == msg_type::PUBLISH {
                Body::Publish { channel, message }
            } else {
                Body::PublishShard { channel, message }
            }
        }
        msg_type::FAILOVER_AUTH_REQUEST | msg_type::FAILOVER_AUTH_ACK | msg_type::MFSTART => {
            exact(HEADER_LEN)?;
            match ty {
                msg_type::FAILOVER_AUTH_REQUEST => Body::FailoverAuthRequest,
                msg_type::FAILOVER_AUTH_ACK => Body::FailoverAuthAck,
                _ => Body::MfStart,
            }
        }
        msg_type::UPDATE => {
            exact(UPDATE_LEN)?;
            Body::Update { config_epoch: r.u64()?, nodename: r.name()?, slots: r.slots()? }
        }
        msg_type::MODULE => {
            if totlen < MODULE_FIXED_LEN {
                return Err(bad_len(MODULE_FIXED_LEN as u64));
            }
            let module_id = r.u64()?;
            let len = r.u32()?;
            let module_type = r.u8()?;
            let expected = MODULE_FIXED_LEN as u64 + u64::from(len);
            if totlen as u64 != expected {
                return Err(bad_len(expected));
            }
            Body::Module { module_id, module_type, payload: r.take(len as usize)?.to_vec() }
        }
        other => Body::Unknown { msg_type: other, payload: buf[HEADER_LEN..].to_vec() },
    };
    Ok(Message { header, body })
}

/// The gossip section and (when `extensions` is `Some`, i.e. EXT_DATA is set) the extensions, which must end
/// exactly at the end of the packet.
fn decode_ping_body(
    r: &mut Reader<'_>,
    count: u16,
    extensions: Option<u16>,
    bad_len: impl Fn(u64) -> WireError,
) -> Result<PingBody, WireError> {
    let totlen = r.buf.len() as u64;
    let mut expected = HEADER_LEN as u64 + u64::from(count) * GOSSIP_LEN as u64;
    if totlen < expected {
        return Err(bad_len(expected));
    }
    let mut gossip = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        gossip.push(GossipEntry {
            nodename: r.name()?,
            ping_sent_secs: r.u32()?,
            pong_received_secs: r.u32()?,
            ip: r.ip()?,
            port: r.u16()?,
            cport: r.u16()?,
            flags: r.u16()?,
            pport: r.u16()?,
        });
        r.take(2)?; // notused1
    }
    let mut exts = Vec::new();
    for index in 0..usize::from(extensions.unwrap_or(0)) {
        let ext_start = r.pos;
        let bad = |reason| WireError::BadExtension { index, ext_type: 0, reason };
        if totlen - (ext_start as u64) < EXT_HEADER_LEN as u64 {
            return Err(bad("extension header runs past the end of the packet"));
        }
        let len = r.u32()?;
        let ext_type = r.u16()?;
        r.take(2)?; // unused
        let bad = |reason| WireError::BadExtension { index, ext_type, reason };
        if len % 8 != 0 {
            return Err(bad("length is not a multiple of 8"));
        }
        if (len as usize) < EXT_HEADER_LEN {
            return Err(bad("length is shorter than the extension header"));
        }
        if u64::from(len) > totlen - ext_start as u64 {
            return Err(bad("extension runs past the end of the packet"));
        }
        let payload = r.take(len as usize - EXT_HEADER_LEN)?;
        exts.push(PingExt::decode(ext_type, payload, index)?);
        expected += u64::from(len);
    }
    if totlen != expected {
        return Err(bad_len(expected));
    }
    Ok(PingBody { gossip, extensions: exts })
}

/// Encodes `msg`. See [`try_encode`] for the limits.
///
/// # Panics
/// If a count or length does not fit its wire field (more than 65535 gossip entries or extensions, a body
/// over 4 GiB): the bus driver never builds such a message.
pub fn encode(msg: &Message) -> Vec<u8> {
    match try_encode(msg) {
        Ok(bytes) => bytes,
        Err(e) => panic!("cluster bus message cannot be encoded: {e}"),
    }
}

/// Encodes `msg`, computing totlen, the gossip count and the extension count (and setting `EXT_DATA` when
/// there are extensions). Fails only when a count or length does not fit its wire field.
pub fn try_encode(msg: &Message) -> Result<Vec<u8>, WireError> {
    let totlen = msg.encoded_len();
    let totlen32 = u32::try_from(totlen).map_err(|_| WireError::TooLarge { what: "packet length", len: totlen })?;
    let fits_u16 = |what, n: usize| u16::try_from(n).map_err(|_| WireError::TooLarge { what, len: n as u64 });
    let fits_u32 = |what, n: usize| u32::try_from(n).map_err(|_| WireError::TooLarge { what, len: n as u64 });
    let (count, ext_count) = match msg.body.ping_body() {
        Some(b) => (fits_u16("gossip entry count", b.gossip.len())?, fits_u16("extension count", b.extensions.len())?),
        None => (0, 0),
    };

    let h = &msg.header;
    let mut out = Vec::with_capacity(totlen as usize);
    out.extend_from_slice(&SIGNATURE);
    out.extend_from_slice(&totlen32.to_be_bytes());
    out.extend_from_slice(&PROTO_VER.to_be_bytes());
    out.extend_from_slice(&h.port.to_be_bytes());
    out.extend_from_slice(&msg.msg_type().to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&h.current_epoch.to_be_bytes());
    out.extend_from_slice(&h.config_epoch.to_be_bytes());
    out.extend_from_slice(&h.offset.to_be_bytes());
    out.extend_from_slice(&h.sender.0);
    out.extend_from_slice(h.myslots.as_bytes());
    out.extend_from_slice(&h.replicaof.unwrap_or(NodeName::NULL).0);
    out.extend_from_slice(&h.myip.0);
    debug_assert_eq!(out.len(), OFF_EXTENSIONS);
    out.extend_from_slice(&ext_count.to_be_bytes());
    out.extend_from_slice(&[0; NOTUSED1_LEN]);
    out.extend_from_slice(&h.pport.to_be_bytes());
    out.extend_from_slice(&h.cport.to_be_bytes());
    out.extend_from_slice(&h.flags.to_be_bytes());
    out.push(h.state.to_byte());
    debug_assert_eq!(out.len(), OFF_MFLAGS);
    let mut mflag_bytes = h.mflags;
    if ext_count > 0 {
        mflag_bytes[0] |= mflags::EXT_DATA;
    }
    out.extend_from_slice(&mflag_bytes);
    debug_assert_eq!(out.len(), HEADER_LEN);

    match &msg.body {
        Body::Ping(b) | Body::Pong(b) | Body::Meet(b) => {
            for g in &b.gossip {
                out.extend_from_slice(&g.nodename.0);
                out.extend_from_slice(&g.ping_sent_secs.to_be_bytes());
                out.extend_from_slice(&g.pong_received_secs.to_be_bytes());
                out.extend_from_slice(&g.ip.0);
                out.extend_from_slice(&g.port.to_be_bytes());
                out.extend_from_slice(&g.cport.to_be_bytes());
                out.extend_from_slice(&g.flags.to_be_bytes());
                out.extend_from_slice(&g.pport.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            for e in &b.extensions {
                // Each extension is shorter than the whole packet, whose length fits in a u32.
                e.encode_into(&mut out);
            }
        }
        Body::Fail { nodename } => out.extend_from_slice(&nodename.0),
        Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
            out.extend_from_slice(&fits_u32("channel length", channel.len())?.to_be_bytes());
            out.extend_from_slice(&fits_u32("message length", message.len())?.to_be_bytes());
            out.extend_from_slice(channel);
            out.extend_from_slice(message);
        }
        Body::FailoverAuthRequest | Body::FailoverAuthAck | Body::MfStart => {}
        Body::Update { config_epoch, nodename, slots } => {
            out.extend_from_slice(&config_epoch.to_be_bytes());
            out.extend_from_slice(&nodename.0);
            out.extend_from_slice(slots.as_bytes());
        }
        Body::Module { module_id, module_type, payload } => {
            out.extend_from_slice(&module_id.to_be_bytes());
            out.extend_from_slice(&fits_u32("module payload length", payload.len())?.to_be_bytes());
            out.push(*module_type);
            out.extend_from_slice(payload);
        }
        Body::Unknown { payload, .. } => out.extend_from_slice(payload),
    }
    debug_assert_eq!(out.len() as u64, totlen);
    Ok(out)
}
