//! CRC-64/Jones as Redis computes it (`crc64.c`): polynomial 0xad93d23594c935a9, reflected input and output,
//! initial value 0, no final xor. Check value: crc64 of "123456789" is 0xe9c6d914c4b8d9ca.
//!
//! RDB files end with this checksum of everything before it, and DUMP payloads end with the checksum of the
//! value and version bytes. Slice-by-8 tables (built once) keep a multi-gigabyte file near memory speed.

use std::sync::OnceLock;

/// The polynomial with its bits reversed (the reflected form the table-driven update uses).
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

fn tables() -> &'static [[u64; 256]; 8] {
    static TABLES: OnceLock<Box<[[u64; 256]; 8]>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new([[0u64; 256]; 8]);
        for i in 0..256 {
            let mut crc = i as u64;
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            }
            t[0][i] = crc;
        }
        for i in 0..256 {
            let mut crc = t[0][i];
            for k in 1..8 {
                crc = t[0][(crc & 0xff) as usize] ^ (crc >> 8);
                t[k][i] = crc;
            }
        }
        t
    })
}

/// Continues a checksum over `data` (start with 0).
pub fn update(mut crc: u64, data: &[u8]) -> u64 {
    let t = tables();
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let word = crc ^ u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        crc = t[7][(word & 0xff) as usize]
            ^ t[6][((word >> 8) & 0xff) as usize]
            ^ t[5][((word >> 16) & 0xff) as usize]
            ^ t[4][((word >> 24) & 0xff) as usize]
            ^ t[3][((word >> 32) & 0xff) as usize]
            ^ t[2][((word >> 40) & 0xff) as usize]
            ^ t[1][((word >> 48) & 0xff) as usize]
            ^ t[0][(word >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// The checksum of `data`.
pub fn crc64(data: &[u8]) -> u64 {
    update(0, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_matches_redis() {
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(b""), 0);
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let (a, b) = data.split_at(split);
            assert_eq!(update(update(0, a), b), crc64(&data));
        }
    }
}
