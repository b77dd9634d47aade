//! HyperLogLog sketches in Redis's own byte representation, operated on in place.
//!
//! What this module decides, and why:
//! - **Storage is the Redis string.** A HyperLogLog is an ordinary string value whose bytes are exactly what
//!   redis-server 7.0.15 stores, so GET, DUMP/RESTORE, RDB files and replication move sketches between Shoal and
//!   Redis unchanged. There is therefore no struct here: every function works on the string's bytes (`&[u8]`, or
//!   `&mut Vec<u8>` when the length may change), and RDB needs nothing beyond the string itself.
//! - **Layout.** A 16-byte header — `HYLL`, one encoding byte (1 sparse, 0 dense), three unused bytes, and the
//!   cached cardinality as 8 little-endian bytes whose most significant bit marks the cache stale — followed by
//!   the registers. Dense: 16384 registers of 6 bits packed little-endian-first (register `i` starts at bit
//!   `6 i`, low bits in the low byte), 12288 bytes. Sparse: run-length opcodes, `00xxxxxx` ZERO (1..64 zero
//!   registers), `01xxxxxx yyyyyyyy` XZERO (1..16384 zero registers), `1vvvvvxx` VAL (1..4 registers holding
//!   1..32).
//! - **Edits follow Redis's algorithm step by step** (find the opcode covering the register, rewrite it as up
//!   to three opcodes, merge equal neighbouring VAL runs within five opcodes, promote to dense when the string
//!   would grow beyond `hll-sparse-max-bytes` or a value exceeds 32), because the goal is byte-identical
//!   strings after the same commands, not merely equivalent sketches.
//! - **Hash and estimator.** MurmurHash64A with seed `0xadc83b19`; the low 14 bits pick the register, the
//!   position of the lowest set bit in the rest (bit 50 forced on) is the count. Cardinality uses Ertl's
//!   improved estimator (σ/τ series over the register histogram) with the same floating-point order of
//!   operations as Redis, so PFCOUNT answers the same integers.
//! - **Corrupt strings never panic.** Any string that passes [`is_valid`] (a header check only, as Redis's)
//!   may still carry arbitrary opcodes: reads past the end yield zero, runs are summed in 64 bits, and an
//!   inconsistent register coverage is reported as [`Corrupt`] exactly where Redis reports `INVALIDOBJ`
//!   (checked against redis-server with hand-made strings: e.g. PFADD only looks at the opcodes up to the
//!   register it changes, so it accepts some strings PFCOUNT rejects).

/// Length of the header.
pub const HEADER_LEN: usize = 16;
/// Number of registers (2^14).
pub const REGISTERS: usize = 1 << P;
/// Length of a dense sketch, header included.
pub const DENSE_LEN: usize = HEADER_LEN + (REGISTERS * BITS).div_ceil(8);

/// Encoding byte values.
pub const ENC_DENSE: u8 = 0;
pub const ENC_SPARSE: u8 = 1;

const P: usize = 14;
const Q: u32 = 64 - P as u32;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
const SEED: u32 = 0xadc8_3b19;

const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;

/// The sketch's registers do not add up to a valid HyperLogLog (Redis's `INVALIDOBJ`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt;

/// Registers as one byte each (what merges produce; Redis's internal "raw" encoding).
pub type Registers = [u8; REGISTERS];

/// Whether `bytes` passes Redis's header check (`isHLLObjectOrReply`): magic, a known encoding, and the exact
/// length for a dense sketch. The opcodes of a sparse sketch are not checked here.
pub fn is_valid(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN
        && &bytes[..4] == b"HYLL"
        && bytes[4] <= ENC_SPARSE
        && (bytes[4] != ENC_DENSE || bytes.len() == DENSE_LEN)
}

/// Whether a valid sketch is dense.
pub fn is_dense(bytes: &[u8]) -> bool {
    bytes.get(4) == Some(&ENC_DENSE)
}

/// An empty sparse sketch: the header (cache valid, cardinality 0) and XZERO opcodes covering every register.
pub fn new_sparse() -> Vec<u8> {
    let mut s = Vec::with_capacity(HEADER_LEN + 2 * REGISTERS.div_ceil(XZERO_MAX_LEN));
    s.extend_from_slice(b"HYLL");
    s.push(ENC_SPARSE);
    s.resize(HEADER_LEN, 0);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(XZERO_MAX_LEN);
        s.extend_from_slice(&xzero(run));
        left -= run;
    }
    s
}

/// The cached cardinality, if the header marks it valid.
pub fn cached_card(bytes: &[u8]) -> Option<u64> {
    let card: [u8; 8] = bytes.get(8..HEADER_LEN)?.try_into().ok()?;
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card))
}

/// Writes `card` into the header's cache (a value with the top bit set reads back as stale, as in Redis).
pub fn store_card(bytes: &mut [u8], card: u64) {
    if let Some(slot) = bytes.get_mut(8..HEADER_LEN) {
        slot.copy_from_slice(&card.to_le_bytes());
    }
}

/// Marks the cached cardinality stale.
pub fn invalidate_cache(bytes: &mut [u8]) {
    if let Some(b) = bytes.get_mut(HEADER_LEN - 1) {
        *b |= 0x80;
    }
}

/// MurmurHash64A (Austin Appleby), little-endian reads, as Redis uses it.
pub fn murmur64a(data: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // Redis passes the length as a C int; only lengths below 2^31 reach here in practice.
    let mut h = u64::from(seed) ^ (data.len() as i32 as i64 as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let mut k = u64::from_le_bytes(word);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element selects and the count it offers (1..=51).
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Adds `element` (PFADD's per-element step): Ok(true) if a register grew.
pub fn add(bytes: &mut Vec<u8>, element: &[u8], sparse_max: u64) -> Result<bool, Corrupt> {
    let (index, count) = pattern(element);
    set(bytes, index, count, sparse_max)
}

/// Raises register `index` to `count` if it is lower: Ok(true) if it changed. A sparse sketch may be promoted
/// to dense on the way. The cache is invalidated by sparse edits only (dense edits leave that to the caller,
/// as Redis does).
pub fn set(bytes: &mut Vec<u8>, index: usize, count: u8, sparse_max: u64) -> Result<bool, Corrupt> {
    if count == 0 || index >= REGISTERS {
        return Ok(false);
    }
    match bytes.get(4) {
        Some(&ENC_DENSE) => Ok(dense_set(dense_regs(bytes), index, count)),
        Some(&ENC_SPARSE) => sparse_set(bytes, index, count, sparse_max),
        _ => Err(Corrupt),
    }
}

fn dense_regs(bytes: &mut [u8]) -> &mut [u8] {
    bytes.get_mut(HEADER_LEN..).unwrap_or_default()
}

/// Register `i` of a dense register area (missing bytes read as zero).
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let b0 = u16::from(regs.get(byte).copied().unwrap_or(0));
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> shift) | (b1 << (8 - shift))) & u16::from(REGISTER_MAX)) as u8
}

fn dense_put(regs: &mut [u8], i: usize, val: u8) {
    let bit = i * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let (m, v) = (u16::from(REGISTER_MAX), u16::from(val & REGISTER_MAX));
    if let Some(b) = regs.get_mut(byte) {
        *b = ((u16::from(*b) & !(m << shift)) | (v << shift)) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = ((u16::from(*b) & !(m >> (8 - shift))) | (v >> (8 - shift))) as u8;
    }
}

/// Raises a dense register: true if it changed.
fn dense_set(regs: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(regs, index) {
        dense_put(regs, index, count);
        true
    } else {
        false
    }
}

/// One decoded sparse opcode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Zero(usize),
    XZero(usize),
    /// (value, run length)
    Val(u8, usize),
}

impl Op {
    /// Decodes the opcode at `p` (the caller checked `p < bytes.len()`); a missing second XZERO byte reads 0.
    fn at(bytes: &[u8], p: usize) -> Op {
        let b = bytes.get(p).copied().unwrap_or(0);
        if b & 0x80 != 0 {
            Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1)
        } else if b & 0x40 != 0 {
            let lo = bytes.get(p + 1).copied().unwrap_or(0);
            Op::XZero(((usize::from(b & 0x3f) << 8) | usize::from(lo)) + 1)
        } else {
            Op::Zero(usize::from(b & 0x3f) + 1)
        }
    }

    fn size(self) -> usize {
        if matches!(self, Op::XZero(_)) {
            2
        } else {
            1
        }
    }

    fn run(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }
}

fn xzero(len: usize) -> [u8; 2] {
    let l = len - 1;
    [((l >> 8) as u8 & 0x3f) | 0x40, (l & 0xff) as u8]
}

fn val(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}

/// Appends ZERO or XZERO opcodes for a run of `len` (1..=16384) zero registers.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        seq.extend_from_slice(&xzero(len));
    } else {
        seq.push((len - 1) as u8);
    }
}

/// Redis's `hllSparseSet`.
fn sparse_set(bytes: &mut Vec<u8>, index: usize, count: u8, sparse_max: u64) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(bytes, index, count);
    }
    // Step 1: the opcode covering `index`.
    let end = bytes.len();
    let (mut p, mut first, mut prev) = (HEADER_LEN, 0usize, None);
    let mut op = None;
    while p < end {
        let o = Op::at(bytes, p);
        op = Some(o);
        if index < first + o.run() {
            break;
        }
        prev = Some(p);
        p += o.size();
        first += o.run();
    }
    let Some(op) = op else { return Err(Corrupt) };
    if p >= end {
        return Err(Corrupt);
    }
    let runlen = op.run();
    // Step 2: edits that keep the length.
    match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1) => {
            bytes[p] = val(count, 1);
            merge_neighbours(bytes, prev.unwrap_or(HEADER_LEN));
            return Ok(true);
        }
        _ => {}
    }
    // Step 3: split the run into up to three opcodes.
    let last = first + runlen - 1;
    let mut seq = Vec::with_capacity(5);
    match op {
        Op::Val(cur, _) => {
            if index != first {
                seq.push(val(cur, index - first));
            }
            seq.push(val(count, 1));
            if index != last {
                seq.push(val(cur, last - index));
            }
        }
        Op::Zero(_) | Op::XZero(_) => {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
    }
    let old_len = op.size();
    if seq.len() > old_len && (end + seq.len() - old_len) as u64 > sparse_max {
        return promote(bytes, index, count);
    }
    let new_len = end + seq.len() - old_len;
    bytes.splice(p..(p + old_len).min(end), seq);
    bytes.truncate(new_len);
    merge_neighbours(bytes, prev.unwrap_or(HEADER_LEN));
    Ok(true)
}

/// Step 4 of `hllSparseSet`: from `p`, over at most five opcodes, fuse adjacent VAL opcodes holding the same
/// value when the joined run still fits one opcode; then mark the cache stale.
fn merge_neighbours(bytes: &mut Vec<u8>, mut p: usize) {
    let mut scan = 5;
    while p < bytes.len() && scan > 0 {
        scan -= 1;
        match Op::at(bytes, p) {
            Op::XZero(_) => p += 2,
            Op::Zero(_) => p += 1,
            Op::Val(v1, l1) => {
                if p + 1 < bytes.len() {
                    if let Op::Val(v2, l2) = Op::at(bytes, p + 1) {
                        if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                            bytes[p + 1] = val(v1, l1 + l2);
                            bytes.remove(p);
                            continue;
                        }
                    }
                }
                p += 1;
            }
        }
    }
    invalidate_cache(bytes);
}

/// Converts to dense, then sets the register (which always grows: promotion happens only for a change).
fn promote(bytes: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(bytes)?;
    dense_set(dense_regs(bytes), index, count);
    Ok(true)
}

/// Walks the sparse opcodes of `bytes`, calling `f(first_register, value, run)` for each VAL run. A VAL run
/// reaching past the last register fails at once (so does one after full coverage), as Redis's merge and
/// promotion do; zero runs are only summed. Returns whether the runs covered exactly all registers.
fn walk_sparse(bytes: &[u8], mut f: impl FnMut(usize, u8, usize)) -> bool {
    let (mut p, mut idx) = (HEADER_LEN, 0usize);
    while p < bytes.len() {
        let op = Op::at(bytes, p);
        if let Op::Val(v, run) = op {
            if idx + run > REGISTERS {
                return false;
            }
            f(idx, v, run);
        }
        idx = idx.saturating_add(op.run());
        p += op.size();
    }
    idx == REGISTERS
}

/// Converts a sparse sketch to dense (header kept, encoding byte set); a dense one is left alone.
pub fn to_dense(bytes: &mut Vec<u8>) -> Result<(), Corrupt> {
    if is_dense(bytes) {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_LEN];
    let header = bytes.get(..HEADER_LEN).ok_or(Corrupt)?;
    dense[..HEADER_LEN].copy_from_slice(header);
    dense[4] = ENC_DENSE;
    let regs = &mut dense[HEADER_LEN..];
    let complete = walk_sparse(bytes, |first, v, run| {
        for i in first..first + run {
            dense_put(regs, i, v);
        }
    });
    if !complete {
        return Err(Corrupt);
    }
    *bytes = dense;
    Ok(())
}

/// Raises `max[i]` to every register of the sketch (Redis's `hllMerge`).
pub fn merge_into(max: &mut Registers, bytes: &[u8]) -> Result<(), Corrupt> {
    if is_dense(bytes) {
        let regs = bytes.get(HEADER_LEN..).unwrap_or_default();
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(regs, i));
        }
        return Ok(());
    }
    let complete = walk_sparse(bytes, |first, v, run| {
        for m in &mut max[first..first + run] {
            *m = (*m).max(v);
        }
    });
    if complete {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Register histogram: how many registers hold each value.
type Histogram = [u64; 64];

fn dense_histogram(regs: &[u8]) -> Histogram {
    let mut h = [0u64; 64];
    // Four 6-bit registers per three bytes.
    for c in regs.chunks(3).take(REGISTERS / 4) {
        let b = |i: usize| c.get(i).copied().unwrap_or(0);
        let (b0, b1, b2) = (b(0), b(1), b(2));
        h[usize::from(b0 & 63)] += 1;
        h[usize::from((b0 >> 6) | ((b1 & 15) << 2))] += 1;
        h[usize::from((b1 >> 4) | ((b2 & 3) << 4))] += 1;
        h[usize::from(b2 >> 2)] += 1;
    }
    h
}

/// The estimated cardinality of a valid sketch (Redis's `hllCount`); Err for sparse opcodes that do not
/// cover exactly the registers.
pub fn count(bytes: &[u8]) -> Result<u64, Corrupt> {
    if is_dense(bytes) {
        return Ok(estimate(&dense_histogram(bytes.get(HEADER_LEN..).unwrap_or_default())));
    }
    let mut h = [0u64; 64];
    let (mut p, mut idx) = (HEADER_LEN, 0u64);
    while p < bytes.len() {
        let op = Op::at(bytes, p);
        let run = op.run() as u64;
        idx += run;
        match op {
            Op::Val(v, _) => h[usize::from(v)] += run,
            _ => h[0] += run,
        }
        p += op.size();
    }
    if idx != REGISTERS as u64 {
        return Err(Corrupt);
    }
    Ok(estimate(&h))
}

/// The estimated cardinality of merged registers (PFCOUNT over several keys).
pub fn count_registers(regs: &Registers) -> u64 {
    let mut h = [0u64; 64];
    for &r in regs.iter() {
        h[usize::from(r & 63)] += 1;
    }
    estimate(&h)
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0f64, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0f64, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if before == z {
            return z / 3.0;
        }
    }
}

/// Ertl's improved estimator over the register histogram, in Redis's order of operations, rounded as C's
/// `llroundl` then converted to `uint64_t` (an infinite estimate becomes 2^63, as on x86-64 Redis).
fn estimate(h: &Histogram) -> u64 {
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - h[q + 1] as f64) / m);
    for j in (1..=q).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    let e = (ALPHA_INF * m * m / z).round();
    if e.is_finite() && e.abs() < 9.223_372_036_854_775e18 {
        e as i64 as u64
    } else {
        1u64 << 63
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sparse_ops(bytes: &[u8]) -> Vec<Op> {
        let mut p = HEADER_LEN;
        let mut out = Vec::new();
        while p < bytes.len() {
            let o = Op::at(bytes, p);
            out.push(o);
            p += o.size();
        }
        out
    }

    #[test]
    fn empty_sketch_matches_redis() {
        let s = new_sparse();
        assert_eq!(s, b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff");
        assert!(is_valid(&s));
        assert_eq!(count(&s), Ok(0));
        assert_eq!(cached_card(&s), Some(0));
    }

    #[test]
    fn murmur_reference_values() {
        // Independent of Redis: the empty input hashes to the seed-derived constant below.
        assert_eq!(murmur64a(b"", 0), 0);
        let (i, c) = pattern(b"a");
        assert!(i < REGISTERS && (1..=51).contains(&c));
    }

    #[test]
    fn pfadd_a_b_c_is_byte_identical_to_redis() {
        // Captured from redis-server 7.0.15: PFADD h a b c; GET h.
        let expect: &[u8] = b"HYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\
            \x60\xf3\x80\x50\xb1\x84\x4b\xfb\x80\x42\x5a";
        let mut s = new_sparse();
        for e in [&b"a"[..], b"b", b"c"] {
            assert_eq!(add(&mut s, e, 3000), Ok(true));
        }
        let card = count(&s).unwrap();
        store_card(&mut s, card);
        assert_eq!(s, expect);
    }

    #[test]
    fn dense_registers_round_trip() {
        let mut regs = vec![0u8; DENSE_LEN - HEADER_LEN];
        for i in 0..REGISTERS {
            dense_put(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8);
        }
        let h = dense_histogram(&regs);
        assert!(h.iter().all(|&n| n == (REGISTERS / 64) as u64));
    }

    #[test]
    fn sparse_runs_always_cover_all_registers() {
        let mut s = new_sparse();
        for i in 0..2000u32 {
            add(&mut s, &i.to_le_bytes(), 3000).unwrap();
            if is_dense(&s) {
                break;
            }
            let total: usize = sparse_ops(&s).iter().map(|o| o.run()).sum();
            assert_eq!(total, REGISTERS);
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        to_dense(&mut dense).unwrap();
        assert_eq!(dense.len(), DENSE_LEN);
        for i in 0..500u32 {
            let e = format!("el{i}");
            assert_eq!(add(&mut sparse, e.as_bytes(), u64::MAX), add(&mut dense, e.as_bytes(), u64::MAX));
        }
        assert!(!is_dense(&sparse));
        assert_eq!(count(&sparse), count(&dense));
        let mut converted = sparse.clone();
        to_dense(&mut converted).unwrap();
        assert_eq!(converted[HEADER_LEN..], dense[HEADER_LEN..]);
        let mut a = [0u8; REGISTERS];
        let mut b = [0u8; REGISTERS];
        merge_into(&mut a, &sparse).unwrap();
        merge_into(&mut b, &dense).unwrap();
        assert_eq!(a[..], b[..]);
        assert_eq!(count_registers(&a), count(&dense).unwrap());
    }

    #[test]
    fn promotion_on_size_and_on_large_values() {
        let mut s = new_sparse();
        let mut i = 0u32;
        while !is_dense(&s) {
            add(&mut s, &i.to_be_bytes(), 3000).unwrap();
            assert!(s.len() <= 3000 || is_dense(&s));
            i += 1;
        }
        assert_eq!(s.len(), DENSE_LEN);
        let mut s = new_sparse();
        assert_eq!(set(&mut s, 7, 40, 3000), Ok(true));
        assert!(is_dense(&s));
        assert_eq!(dense_get(&s[HEADER_LEN..], 7), 40);
    }

    #[test]
    fn corrupt_sparse_is_reported() {
        let mut s = new_sparse();
        s.push(0x00); // one extra zero register
        assert_eq!(count(&s), Err(Corrupt));
        let mut m = [0u8; REGISTERS];
        assert_eq!(merge_into(&mut m, &s), Err(Corrupt));
        let mut short = s[..HEADER_LEN + 1].to_vec(); // XZERO missing its second byte
        assert_eq!(count(&short), Err(Corrupt));
        let _ = add(&mut short, b"x", 3000); // must not panic
    }

    #[test]
    fn val_runs_past_the_registers_are_corrupt() {
        // Full coverage followed by one VAL opcode: merges, promotion and counting all refuse it (Redis
        // 7.0.15 answers INVALIDOBJ for each), while PFADD-style edits before it still work.
        let mut s = new_sparse();
        s.push(val(3, 1));
        let mut m = [0u8; REGISTERS];
        assert_eq!(merge_into(&mut m, &s), Err(Corrupt));
        assert_eq!(count(&s), Err(Corrupt));
        assert_eq!(to_dense(&mut s.clone()), Err(Corrupt));
        assert_eq!(set(&mut s, 5, 2, 3000), Ok(true));
        assert_eq!(set(&mut s, 6, 2, 0), Err(Corrupt));
        assert_eq!(*s.last().unwrap(), val(3, 1));
    }

    #[test]
    fn estimates_are_close() {
        let mut s = new_sparse();
        for i in 0..100_000u32 {
            add(&mut s, &i.to_le_bytes(), 3000).unwrap();
        }
        let c = count(&s).unwrap() as f64;
        assert!((c - 100_000.0).abs() / 100_000.0 < 0.03, "{c}");
    }

    #[test]
    fn saturated_registers_give_redis_overflow_value() {
        let mut s = new_sparse();
        to_dense(&mut s).unwrap();
        for i in 0..REGISTERS {
            dense_put(&mut s[HEADER_LEN..], i, 63);
        }
        assert_eq!(count(&s), Ok(1 << 63));
    }
}
