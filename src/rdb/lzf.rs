//! LZF, the compression format of RDB strings (`RDB_ENC_LZF`), written from the format's description.
//!
//! A stream is a sequence of runs: a control byte below 32 is followed by `ctrl + 1` literal bytes; otherwise
//! its top 3 bits are a match length (7 = read one more byte and add it), its low 5 bits and the next byte a
//! back-reference offset, and `length + 2` bytes are copied from `offset + 1` bytes back.
//!
//! The compressor follows the same search as the liblzf 3.6 that Redis builds (`HLOG` 16, `VERY_FAST`,
//! matches of at most 264 bytes within 8 KiB, a literal run of at most 32 bytes, no match at offset 0), so
//! that a value compresses to the very bytes Redis writes: `DUMP` payloads are then byte-identical. One
//! difference is deliberate: Redis leaves its hash table uninitialised between calls (stale slots from a
//! previous string may point into the new one and, rarely, yield a different but valid match); here stale
//! slots are ignored, so the output depends on the input alone.

/// Hash table size (2^16 slots, as Redis's `HLOG 16`).
const HSIZE: usize = 1 << 16;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// A reusable compressor: its 64 Ki-slot table is allocated once. Slots hold `base + position`; every call
/// moves `base` past the previous input, so slots left by earlier calls read as empty without clearing.
pub struct Compressor {
    table: Vec<u64>,
    base: u64,
}

impl Default for Compressor {
    fn default() -> Self {
        Compressor { table: vec![0; HSIZE], base: 1 }
    }
}

#[inline]
fn idx(h: u32) -> usize {
    ((h >> 8).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

impl Compressor {
    /// Compresses `input` into `out`; returns the compressed length, or 0 when it does not fit in `out` (the
    /// caller then stores the bytes verbatim, as Redis does).
    pub fn compress(&mut self, input: &[u8], out: &mut [u8]) -> usize {
        let in_len = input.len();
        let out_len = out.len();
        if in_len == 0 || out_len == 0 || in_len > u32::MAX as usize {
            return 0;
        }
        let base = self.base;
        self.base += in_len as u64 + 1;
        let frst = |p: usize| (u32::from(input[p]) << 8) | u32::from(input[p + 1]);
        let mut ip = 0usize;
        let mut op = 1usize; // byte 0 will hold the first run's control byte
        let mut lit = 0usize;
        let mut hval = if in_len >= 2 { frst(0) } else { 0 };
        while ip + 2 < in_len {
            hval = (hval << 8) | u32::from(input[ip + 2]);
            let slot = idx(hval);
            let stored = self.table[slot];
            self.table[slot] = base + ip as u64;
            let reference = if stored > base { Some((stored - base) as usize) } else { None };
            let found = reference.filter(|&r| {
                r < ip
                    && ip - r - 1 < MAX_OFF
                    && input[r + 2] == input[ip + 2]
                    && input[r] == input[ip]
                    && input[r + 1] == input[ip + 1]
            });
            if let Some(r) = found {
                let off = ip - r - 1;
                let mut len = 2usize;
                let maxlen = (in_len - ip - len).min(MAX_REF);
                if op + 4 >= out_len && op - usize::from(lit == 0) + 4 >= out_len {
                    return 0;
                }
                out[op - lit - 1] = (lit as u8).wrapping_sub(1);
                op -= usize::from(lit == 0);
                // liblzf compares 16 bytes unconditionally first when more than 16 may match.
                let mut done = false;
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if input[r + len] != input[ip + len] {
                            done = true;
                            break;
                        }
                    }
                }
                if !done {
                    loop {
                        len += 1;
                        if !(len < maxlen && input[r + len] == input[ip + len]) {
                            break;
                        }
                    }
                }
                len -= 2;
                ip += 1;
                if len < 7 {
                    out[op] = ((off >> 8) + (len << 5)) as u8;
                    op += 1;
                } else {
                    out[op] = ((off >> 8) + (7 << 5)) as u8;
                    out[op + 1] = (len - 7) as u8;
                    op += 2;
                }
                out[op] = off as u8;
                op += 2; // the offset byte, then room for the next run's control byte
                lit = 0;
                ip += len + 1;
                if ip + 2 >= in_len {
                    break;
                }
                ip -= 2;
                hval = frst(ip);
                for _ in 0..2 {
                    hval = (hval << 8) | u32::from(input[ip + 2]);
                    self.table[idx(hval)] = base + ip as u64;
                    ip += 1;
                }
            } else {
                if op >= out_len {
                    return 0;
                }
                lit += 1;
                out[op] = input[ip];
                op += 1;
                ip += 1;
                if lit == MAX_LIT {
                    out[op - lit - 1] = (lit - 1) as u8;
                    lit = 0;
                    op += 1;
                }
            }
        }
        if op + 3 > out_len {
            return 0;
        }
        while ip < in_len {
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
        out[op - lit - 1] = (lit as u8).wrapping_sub(1);
        op - usize::from(lit == 0)
    }
}

/// Decompresses `input`, which must expand to exactly `expected_len` bytes.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, &'static str> {
    // The output is bounded by what the input can encode (at most 264 bytes per 2-byte back-reference), so a
    // forged length cannot make us reserve more than the input justifies.
    let bound = input.len().saturating_mul(133).saturating_add(32);
    if expected_len > bound {
        return Err("LZF length larger than the compressed data can hold");
    }
    let mut out: Vec<u8> = Vec::with_capacity(expected_len);
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let len = ctrl + 1;
            let lits = input.get(ip..ip + len).ok_or("LZF literal run past the end of the data")?;
            if out.len() + len > expected_len {
                return Err("LZF data expands past the announced length");
            }
            out.extend_from_slice(lits);
            ip += len;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or("LZF back-reference cut short")?);
                ip += 1;
            }
            let low = usize::from(*input.get(ip).ok_or("LZF back-reference cut short")?);
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            if back > out.len() {
                return Err("LZF back-reference before the start of the data");
            }
            let len = len + 2;
            if out.len() + len > expected_len {
                return Err("LZF data expands past the announced length");
            }
            let start = out.len() - back;
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    if out.len() != expected_len {
        return Err("LZF data shorter than the announced length");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(data: &[u8]) {
        let mut c = Compressor::default();
        let mut out = vec![0u8; data.len() + 64];
        let n = c.compress(data, &mut out);
        assert!(n > 0, "incompressible with a generous buffer");
        assert_eq!(decompress(&out[..n], data.len()).unwrap(), data);
    }

    #[test]
    fn round_trips() {
        roundtrip(b"a");
        roundtrip(b"ab");
        roundtrip(b"abc");
        roundtrip(&[b'a'; 1000]);
        roundtrip(b"hello hello hello hello hello world world world");
        let mut seed = 7u32;
        let noise: Vec<u8> = (0..5000)
            .map(|_| {
                seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
                (seed >> 16) as u8 % 4
            })
            .collect();
        roundtrip(&noise);
    }

    #[test]
    fn repeated_bytes_match_liblzf_output() {
        // 30 x 'a' as redis-server 7.0.15 stores it (from its DUMP): two literals (no match at offset 0),
        // a 26-byte back-reference at distance 1, two literals.
        let mut c = Compressor::default();
        let mut out = vec![0u8; 26];
        let n = c.compress(&[b'a'; 30], &mut out);
        assert_eq!(&out[..n], &[0x01, b'a', b'a', 0xe0, 0x11, 0x00, 0x01, b'a', b'a']);
        let n = c.compress(b"hello hello hello hello hello world world world", &mut [0u8; 43]);
        assert_eq!(n, 23);
    }

    #[test]
    fn small_output_buffer_gives_up() {
        let mut c = Compressor::default();
        let mut out = vec![0u8; 4];
        assert_eq!(c.compress(b"abcdefghijklmnopqrstuvwxyz", &mut out), 0);
    }

    #[test]
    fn corrupt_input_is_an_error() {
        assert!(decompress(&[0x20, 0x05], 10).is_err());
        assert!(decompress(&[0x05, b'a'], 6).is_err());
        assert!(decompress(&[0x00, b'a'], 1_000_000).is_err());
    }
}
