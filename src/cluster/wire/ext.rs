//! Ping extensions: the variable-length records after the gossip section of PING/PONG/MEET.
//!
//! Each one is `length u32 | type u16 | unused u16 | payload`, where `length` counts the 8-byte header and
//! is a multiple of 8 (payloads are zero-padded). Redis 7.0 knows only HOSTNAME; 7.2 adds HUMAN_NODENAME,
//! FORGOTTEN_NODE and SHARDID; later servers add more. Types this codec does not know are kept as
//! [`PingExt::Unknown`] (Redis logs and skips them), never an error.

use super::fields::{NodeName, NAME_LEN};
use super::WireError;

/// Size of an extension's own header (`clusterMsgPingExt` without payload).
pub const EXT_HEADER_LEN: usize = 8;

/// Extension type codes (`clusterMsgPingtypes`).
pub mod ext_type {
    pub const HOSTNAME: u16 = 0;
    pub const HUMAN_NODENAME: u16 = 1;
    pub const FORGOTTEN_NODE: u16 = 2;
    pub const SHARDID: u16 = 3;
}

/// One ping extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingExt {
    /// `cluster-announce-hostname` (without its NUL terminator; must not contain NUL).
    Hostname(Vec<u8>),
    /// `cluster-announce-human-nodename` (7.2+; without NUL; must not contain NUL).
    HumanNodename(Vec<u8>),
    /// A node the sender has forgotten (`CLUSTER FORGET`), and for how many more seconds to keep it out (7.2+).
    ForgottenNode { name: NodeName, ttl_secs: u64 },
    /// The sender's shard id (7.2+).
    ShardId(NodeName),
    /// Any other type: the payload after the 8-byte header, padding included.
    Unknown { ext_type: u16, payload: Vec<u8> },
}

impl PingExt {
    pub fn ext_type(&self) -> u16 {
        match self {
            PingExt::Hostname(_) => ext_type::HOSTNAME,
            PingExt::HumanNodename(_) => ext_type::HUMAN_NODENAME,
            PingExt::ForgottenNode { .. } => ext_type::FORGOTTEN_NODE,
            PingExt::ShardId(_) => ext_type::SHARDID,
            PingExt::Unknown { ext_type, .. } => *ext_type,
        }
    }

    /// The payload length before padding.
    fn payload_len(&self) -> usize {
        match self {
            // The string plus its NUL terminator.
            PingExt::Hostname(s) | PingExt::HumanNodename(s) => s.len() + 1,
            PingExt::ForgottenNode { .. } => NAME_LEN + 8,
            PingExt::ShardId(_) => NAME_LEN,
            PingExt::Unknown { payload, .. } => payload.len(),
        }
    }

    /// The whole record's length on the wire: header + payload padded to a multiple of 8.
    pub fn encoded_len(&self) -> usize {
        EXT_HEADER_LEN + self.payload_len().div_ceil(8) * 8
    }

    /// Appends the record to `out`. The caller has checked that `encoded_len` fits in a u32.
    pub(super) fn encode_into(&self, out: &mut Vec<u8>) {
        let len = self.encoded_len();
        let start = out.len();
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.extend_from_slice(&self.ext_type().to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        match self {
            PingExt::Hostname(s) | PingExt::HumanNodename(s) => out.extend_from_slice(s),
            PingExt::ForgottenNode { name, ttl_secs } => {
                out.extend_from_slice(&name.0);
                out.extend_from_slice(&ttl_secs.to_be_bytes());
            }
            PingExt::ShardId(id) => out.extend_from_slice(&id.0),
            PingExt::Unknown { payload, .. } => out.extend_from_slice(payload),
        }
        // NUL terminator (for the strings) and padding.
        out.resize(start + len, 0);
    }

    /// Decodes one record's payload (the bytes after its 8-byte header, padding included).
    pub(super) fn decode(ext_type: u16, payload: &[u8], index: usize) -> Result<PingExt, WireError> {
        let bad = |reason: &'static str| WireError::BadExtension { index, ext_type, reason };
        Ok(match ext_type {
            ext_type::HOSTNAME | ext_type::HUMAN_NODENAME => {
                let end = payload.iter().position(|&b| b == 0).ok_or(bad("string is not NUL-terminated"))?;
                let s = payload[..end].to_vec();
                if ext_type == ext_type::HOSTNAME {
                    PingExt::Hostname(s)
                } else {
                    PingExt::HumanNodename(s)
                }
            }
            ext_type::FORGOTTEN_NODE => {
                let name = payload.get(..NAME_LEN).and_then(NodeName::from_bytes);
                let ttl = payload.get(NAME_LEN..NAME_LEN + 8).and_then(|b| <[u8; 8]>::try_from(b).ok());
                match (name, ttl) {
                    (Some(name), Some(ttl)) => PingExt::ForgottenNode { name, ttl_secs: u64::from_be_bytes(ttl) },
                    _ => return Err(bad("forgotten-node payload is shorter than 48 bytes")),
                }
            }
            ext_type::SHARDID => {
                let id = payload.get(..NAME_LEN).and_then(NodeName::from_bytes);
                PingExt::ShardId(id.ok_or(bad("shard-id payload is shorter than 40 bytes"))?)
            }
            other => PingExt::Unknown { ext_type: other, payload: payload.to_vec() },
        })
    }
}
