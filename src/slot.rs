//! Hash slots: `key_hash_slot` maps a key to one of the 16384 slots of Redis Cluster (CRC16-XMODEM of the key,
//! or of its `{hash tag}` when the braces hold at least one byte, masked with 0x3FFF).

/// Number of hash slots in a Redis Cluster.
pub const SLOT_COUNT: usize = 16384;

/// CRC16-XMODEM (poly 0x1021, init 0), the checksum Redis Cluster hashes keys with.
pub fn crc16_xmodem(data: &[u8]) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(data)
}

/// The slot of `key`: only the part inside the first `{...}` is hashed when that part is non-empty.
pub fn key_hash_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16_xmodem(hashed) & 0x3FFF
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values checked against real redis-server 7.0.15 `CLUSTER KEYSLOT`.
    #[test]
    fn matches_redis_cluster_keyslot() {
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
        assert_eq!(key_hash_slot(b"foo"), 12182);
        assert_eq!(key_hash_slot(b"{user1000}.following"), 3443);
        assert_eq!(key_hash_slot(b"{user1000}.followers"), 3443);
        assert_eq!(key_hash_slot(b"foo{}{bar}"), 8363);
        assert_eq!(key_hash_slot(b"foo{{bar}}zap"), 4015);
        assert_eq!(key_hash_slot(b"foo{bar}{zap}"), key_hash_slot(b"bar"));
        assert_eq!(key_hash_slot(b""), 0);
    }
}
