//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO.
//!
//! What this module decides, and why:
//! - **Bit order.** Bit 0 is the most significant bit of byte 0, as in Redis, so bitmaps written by one
//!   server read the same on the other.
//! - **Offsets.** A bit offset must be a non-negative integer whose byte (`offset >> 3`) is below
//!   `proto-max-bulk-len`; otherwise `bit offset is not an integer or out of range` (Redis uses that text, not
//!   the string-size error, for SETBIT/BITFIELD growth). BITFIELD's `#N` means `N * width`, multiplied with
//!   two's-complement wrap-around exactly as Redis's C code does.
//! - **Lookup before parsing.** BITCOUNT and BITPOS look the key up before parsing their range, so a missing
//!   key answers 0 (or BITPOS's -1/0) even when the range arguments are invalid — Redis 7.0.15 behaviour.
//! - **Growth.** Writes grow the string with zeros up to the highest byte touched and store it `raw`; the
//!   TTL is kept. Reads treat bytes beyond the end as zeros.
//! - **BITFIELD overflow.** WRAP/SAT/FAIL arithmetic follows Redis's `check{Signed,Unsigned}BitfieldOverflow`,
//!   including its treatment of out-of-range SET values (e.g. `SET u8 0 -1` saturates to 255).

use super::string::{grow_zeroed, keyword, max_bulk_len};
use super::{args, errors, Ctx};
use crate::keyspace::{DbView, Value};
use crate::notify::class as notify;
use crate::num;
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_BIT: &str = "ERR bit is not an integer or out of range";

/// Parses a bit offset (Redis's `getBitOffsetFromArgument`); `width > 0` enables BITFIELD's `#N` form.
fn bit_offset(out: &mut Reply, arg: &[u8], width: u32, max_bulk: u64) -> Option<u64> {
    let hash = width > 0 && arg.len() > 1 && arg[0] == b'#';
    let parsed = num::parse_i64(if hash { &arg[1..] } else { arg });
    let offset = parsed.map(|n| if hash { n.wrapping_mul(i64::from(width)) } else { n });
    match offset.and_then(|n| u64::try_from(n).ok()) {
        Some(n) if (n >> 3) < max_bulk => Some(n),
        _ => {
            out.error(BAD_OFFSET);
            None
        }
    }
}

/// The string at `key` as a growable buffer of at least `max_bit / 8 + 1` bytes, created if absent (Redis's
/// `lookupStringForBitCommand`). The flag tells whether the key was created or grown.
fn string_for_write<'v>(
    db: &'v mut DbView<'_>,
    out: &mut Reply,
    key: &[u8],
    max_bit: u64,
) -> Option<(&'v mut Vec<u8>, bool)> {
    let Ok(need) = usize::try_from((max_bit >> 3) + 1) else {
        out.error(BAD_OFFSET);
        return None;
    };
    if db.exists(key) {
        let v = db.get_mut(key)?;
        if !v.is_string() {
            out.error(errors::WRONGTYPE);
            return None;
        }
        let buf = v.make_raw()?;
        let before = buf.len();
        if !grow_zeroed(out, buf, need) {
            return None;
        }
        let grown = buf.len() != before;
        Some((buf, grown))
    } else {
        let mut buf = Vec::new();
        if !grow_zeroed(out, &mut buf, need) {
            return None;
        }
        let entry = db.insert_new(key, Value::Raw(buf));
        Some((entry.value.make_raw()?, true))
    }
}

pub fn setbit(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let max = max_bulk_len(ctx);
    let Some(offset) = bit_offset(ctx.out, args.get(2), 0, max) else { return };
    let on = match num::parse_i64(args.get(3)) {
        Some(n @ (0 | 1)) => n == 1,
        _ => {
            ctx.out.error(BAD_BIT);
            return;
        }
    };
    let Some((buf, grown)) = string_for_write(ctx.db, ctx.out, args.get(1), offset) else { return };
    let byte = (offset >> 3) as usize;
    let mask = 1u8 << (7 - (offset & 7));
    let Some(slot) = buf.get_mut(byte) else { return };
    let was = *slot & mask != 0;
    if grown || was != on {
        if on {
            *slot |= mask;
        } else {
            *slot &= !mask;
        }
        ctx.dirty += 1;
    }
    ctx.notify(notify::STRING, "setbit", args.get(1));
    ctx.out.int(i64::from(was));
}

pub fn getbit(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let max = max_bulk_len(ctx);
    let Some(offset) = bit_offset(ctx.out, args.get(2), 0, max) else { return };
    let Some(v) = ctx.db.get_read(args.get(1)) else {
        ctx.out.int(0);
        return;
    };
    let mut digits = itoa::Buffer::new();
    let Some(bytes) = v.as_bytes(&mut digits) else {
        ctx.out.error(errors::WRONGTYPE);
        return;
    };
    let bit =
        usize::try_from(offset >> 3).ok().and_then(|b| bytes.get(b)).map_or(0, |&b| (b >> (7 - (offset & 7))) & 1);
    ctx.out.int(i64::from(bit));
}

/// BITCOUNT/BITPOS range normalisation: negative indexes count from the end, then both are clamped into the
/// string; `bits` selects BIT units (else BYTE). Returns the inclusive bit range, or None when it is empty.
fn bit_range(start: i64, end: i64, len: usize, bits: bool) -> Option<(usize, usize)> {
    let total = if bits { len as i64 * 8 } else { len as i64 };
    let start = if start < 0 { start + total } else { start }.max(0);
    let end = if end < 0 { end + total } else { end }.max(0).min(total - 1);
    if start > end {
        return None;
    }
    // Here 0 <= start <= end < total, so the products below cannot overflow.
    let (start, end) = (start as usize, end as usize);
    Some(if bits { (start, end) } else { (start * 8, end * 8 + 7) })
}

fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        n += u64::from(u64::from_ne_bytes(word).count_ones());
    }
    n + chunks.remainder().iter().map(|b| u64::from(b.count_ones())).sum::<u64>()
}

pub fn bitcount(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(v) = ctx.db.get_read(args.get(1)) else {
        ctx.out.int(0);
        return;
    };
    let mut digits = itoa::Buffer::new();
    let Some(bytes) = v.as_bytes(&mut digits) else {
        ctx.out.error(errors::WRONGTYPE);
        return;
    };
    let range = match args.len() {
        2 => bit_range(0, -1, bytes.len(), false),
        4 | 5 => {
            let Some(start) = args::int(ctx.out, args.get(2)) else { return };
            let Some(end) = args::int(ctx.out, args.get(3)) else { return };
            // Redis answers this empty range before it looks at the BIT/BYTE keyword.
            if start < 0 && end < 0 && start > end {
                ctx.out.int(0);
                return;
            }
            let bits = match args.len() {
                5 if keyword(args.get(4), "bit") => true,
                5 if keyword(args.get(4), "byte") => false,
                5 => {
                    ctx.out.error(errors::SYNTAX);
                    return;
                }
                _ => false,
            };
            bit_range(start, end, bytes.len(), bits)
        }
        _ => {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    };
    let Some((first, last)) = range else {
        ctx.out.int(0);
        return;
    };
    let (fb, lb) = (first / 8, last / 8);
    let mut count = popcount(&bytes[fb..=lb]);
    count -= u64::from((bytes[fb] & !(0xffu8 >> (first % 8))).count_ones());
    count -= u64::from((bytes[lb] & mask_after(last)).count_ones());
    ctx.out.int(count as i64);
}

/// Bits of a byte that come after bit `bit % 8` (those a range ending at `bit` excludes).
fn mask_after(bit: usize) -> u8 {
    ((1u16 << (7 - bit % 8)) - 1) as u8
}

/// First bit equal to `want` in the inclusive bit range [first, last] of `bytes` (which must cover it).
fn find_bit(bytes: &[u8], first: usize, last: usize, want: bool) -> Option<usize> {
    let skip = if want { 0x00 } else { 0xff };
    let mut pos = first;
    while pos <= last {
        let byte = pos / 8;
        let b = bytes[byte];
        if pos.is_multiple_of(8) && b == skip && pos + 7 <= last {
            // Whole uninteresting bytes: skip them quickly.
            let run = bytes[byte..=last / 8].iter().take_while(|&&x| x == skip).count();
            let next = (byte + run) * 8;
            if next > last {
                return None;
            }
            pos = next;
            continue;
        }
        if ((b >> (7 - pos % 8)) & 1 == 1) == want {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

pub fn bitpos(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(bit) = args::int(ctx.out, args.get(2)) else { return };
    if bit != 0 && bit != 1 {
        ctx.out.error("ERR The bit argument must be 1 or 0.");
        return;
    }
    let want = bit == 1;
    // A missing key is an endless run of zeros.
    let Some(v) = ctx.db.get_read(args.get(1)) else {
        ctx.out.int(if want { -1 } else { 0 });
        return;
    };
    let mut digits = itoa::Buffer::new();
    let Some(bytes) = v.as_bytes(&mut digits) else {
        ctx.out.error(errors::WRONGTYPE);
        return;
    };
    let mut end_given = false;
    let range = match args.len() {
        3 => bit_range(0, -1, bytes.len(), false),
        4..=6 => {
            let Some(start) = args::int(ctx.out, args.get(3)) else { return };
            let bits = match args.len() {
                6 if keyword(args.get(5), "bit") => true,
                6 if keyword(args.get(5), "byte") => false,
                6 => {
                    ctx.out.error(errors::SYNTAX);
                    return;
                }
                _ => false,
            };
            let end = if args.len() >= 5 {
                let Some(end) = args::int(ctx.out, args.get(4)) else { return };
                end_given = true;
                end
            } else {
                -1
            };
            bit_range(start, end, bytes.len(), bits)
        }
        _ => {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    };
    let Some((first, last)) = range else {
        ctx.out.int(-1);
        return;
    };
    let pos = match find_bit(bytes, first, last, want) {
        Some(p) => p as i64,
        // No clear bit: without an explicit end the string counts as padded with zeros on the right.
        None if !want && !end_given => ((last / 8 + 1) * 8) as i64,
        None => -1,
    };
    ctx.out.int(pos);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

pub fn bitop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let name = args.get(1);
    let op = if keyword(name, "and") {
        BitOp::And
    } else if keyword(name, "or") {
        BitOp::Or
    } else if keyword(name, "xor") {
        BitOp::Xor
    } else if keyword(name, "not") {
        BitOp::Not
    } else {
        ctx.out.error(errors::SYNTAX);
        return;
    };
    if op == BitOp::Not && args.len() != 4 {
        ctx.out.error("ERR BITOP NOT must be called with a single source key.");
        return;
    }
    // Fold the sources one by one; missing keys and missing tail bytes count as zeros.
    let mut result: Vec<u8> = Vec::new();
    let mut digits = itoa::Buffer::new();
    for (n, key) in args.iter().skip(3).enumerate() {
        let src: &[u8] = match ctx.db.get_read(key) {
            None => &[],
            Some(v) => match v.as_bytes(&mut digits) {
                Some(b) => b,
                None => {
                    ctx.out.error(errors::WRONGTYPE);
                    return;
                }
            },
        };
        if n == 0 {
            result = match op {
                BitOp::Not => src.iter().map(|b| !b).collect(),
                _ => src.to_vec(),
            };
            continue;
        }
        let common = result.len().min(src.len());
        match op {
            BitOp::And => {
                result[..common].iter_mut().zip(src).for_each(|(r, s)| *r &= s);
                result[common..].fill(0);
                result.resize(result.len().max(src.len()), 0);
            }
            BitOp::Or | BitOp::Xor => {
                let f: fn(&mut u8, &u8) = if op == BitOp::Or { |r, s| *r |= s } else { |r, s| *r ^= s };
                result[..common].iter_mut().zip(src).for_each(|(r, s)| f(r, s));
                result.extend_from_slice(&src[common..]);
            }
            BitOp::Not => {}
        }
    }
    let dest = args.get(2);
    let len = result.len();
    if len > 0 {
        ctx.db.set(dest, Value::Raw(result), false);
        ctx.dirty += 1;
        ctx.notify(notify::STRING, "set", dest);
    } else if ctx.db.remove(dest).is_some() {
        ctx.dirty += 1;
        ctx.notify(notify::GENERIC, "del", dest);
    }
    ctx.out.int(len as i64);
}

pub fn bitfield(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    bitfield_generic(ctx, &args, false);
}

pub fn bitfield_ro(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    bitfield_generic(ctx, &args, true);
}

fn bitfield_generic(ctx: &mut Ctx<'_, '_>, args: &Args<'_>, read_only: bool) {
    use field::{Kind, Op, Overflow};
    let max = max_bulk_len(ctx);
    let mut ops: Vec<Op> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest_write: Option<u64> = None;
    let mut j = 2;
    while j < args.len() {
        let remaining = args.len() - j - 1;
        let sub = args.get(j);
        let kind = if keyword(sub, "get") && remaining >= 2 {
            Kind::Get
        } else if keyword(sub, "set") && remaining >= 3 {
            Kind::Set
        } else if keyword(sub, "incrby") && remaining >= 3 {
            Kind::IncrBy
        } else if keyword(sub, "overflow") && remaining >= 1 {
            let ty = args.get(j + 1);
            overflow = if keyword(ty, "wrap") {
                Overflow::Wrap
            } else if keyword(ty, "sat") {
                Overflow::Sat
            } else if keyword(ty, "fail") {
                Overflow::Fail
            } else {
                ctx.out.error("ERR Invalid OVERFLOW type specified");
                return;
            };
            j += 2;
            continue;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        };
        let Some((signed, bits)) = field::parse_type(args.get(j + 1)) else {
            ctx.out.error(
                "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
            );
            return;
        };
        let Some(offset) = bit_offset(ctx.out, args.get(j + 2), bits, max) else { return };
        let mut value = 0;
        if kind != Kind::Get {
            let Some(n) = args::int(ctx.out, args.get(j + 3)) else { return };
            value = n;
            let top = offset + u64::from(bits) - 1;
            highest_write = Some(highest_write.map_or(top, |h| h.max(top)));
        }
        ops.push(Op { kind, offset, value, overflow, bits, signed });
        j += if kind == Kind::Get { 3 } else { 4 };
    }

    let Some(highest) = highest_write else {
        // Only GETs: a read, which neither creates the key nor needs it to exist.
        let mut digits = itoa::Buffer::new();
        let src: &[u8] = match ctx.db.get_read(args.get(1)) {
            None => &[],
            Some(v) => match v.as_bytes(&mut digits) {
                Some(b) => b,
                None => {
                    ctx.out.error(errors::WRONGTYPE);
                    return;
                }
            },
        };
        ctx.out.array(ops.len());
        for op in &ops {
            ctx.out.int(field::get(src, op.offset, op.bits, op.signed));
        }
        return;
    };
    if read_only {
        ctx.out.error("ERR BITFIELD_RO only supports the GET subcommand");
        return;
    }
    let Some((buf, grown)) = string_for_write(ctx.db, ctx.out, args.get(1), highest) else { return };
    ctx.out.array(ops.len());
    let mut changes = 0u64;
    for op in &ops {
        if op.kind == Kind::Get {
            ctx.out.int(field::get(buf, op.offset, op.bits, op.signed));
            continue;
        }
        let old = field::get_raw(buf, op.offset, op.bits);
        match field::apply(op, old) {
            Some((reply, new)) => {
                ctx.out.int(reply);
                field::set_raw(buf, op.offset, op.bits, new);
                if grown || old != new {
                    changes += 1;
                }
            }
            None => ctx.out.null(),
        }
    }
    ctx.dirty += changes;
    if changes > 0 {
        ctx.notify(notify::STRING, "setbit", args.get(1));
    }
}

/// BITFIELD's integer fields: reading and writing `bits`-wide big-endian bit strings at any bit offset, and
/// the overflow arithmetic. Pure functions, unit-tested below.
mod field {
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Kind {
        Get,
        Set,
        IncrBy,
    }

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Overflow {
        Wrap,
        Sat,
        Fail,
    }

    #[derive(Debug)]
    pub struct Op {
        pub kind: Kind,
        pub offset: u64,
        pub value: i64,
        pub overflow: Overflow,
        pub bits: u32,
        pub signed: bool,
    }

    /// `i1`..`i64` or `u1`..`u63`, lower-case prefix, read as a C string (Redis's
    /// `getBitfieldTypeFromArgument`).
    pub fn parse_type(arg: &[u8]) -> Option<(bool, u32)> {
        let arg = super::super::args::c_str(arg);
        let signed = match arg.first()? {
            b'i' => true,
            b'u' => false,
            _ => return None,
        };
        let bits = crate::num::parse_i64(&arg[1..])?;
        let limit = if signed { 64 } else { 63 };
        if (1..=limit).contains(&bits) {
            Some((signed, bits as u32))
        } else {
            None
        }
    }

    pub fn mask(bits: u32) -> u64 {
        if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        }
    }

    /// The raw `bits` at `offset`; bits past the end of `buf` read as zero.
    pub fn get_raw(buf: &[u8], offset: u64, bits: u32) -> u64 {
        let mut v = 0u64;
        for pos in offset..offset + u64::from(bits) {
            let bit =
                usize::try_from(pos >> 3).ok().and_then(|i| buf.get(i)).map_or(0, |&b| (b >> (7 - (pos & 7))) & 1);
            v = (v << 1) | u64::from(bit);
        }
        v
    }

    /// The field's value as the reply shows it: sign-extended for `i` types.
    pub fn get(buf: &[u8], offset: u64, bits: u32, signed: bool) -> i64 {
        let raw = get_raw(buf, offset, bits);
        if signed {
            sign_extend(raw, bits)
        } else {
            raw as i64
        }
    }

    fn sign_extend(raw: u64, bits: u32) -> i64 {
        if bits < 64 && raw & (1u64 << (bits - 1)) != 0 {
            (raw | (u64::MAX << bits)) as i64
        } else {
            raw as i64
        }
    }

    /// Writes the low `bits` of `value` at `offset` (the caller grew `buf` to cover them).
    pub fn set_raw(buf: &mut [u8], offset: u64, bits: u32, value: u64) {
        for j in 0..u64::from(bits) {
            let pos = offset + j;
            let on = value & (1u64 << (u64::from(bits) - 1 - j)) != 0;
            let Some(byte) = usize::try_from(pos >> 3).ok().and_then(|i| buf.get_mut(i)) else { return };
            let m = 1u8 << (7 - (pos & 7));
            if on {
                *byte |= m;
            } else {
                *byte &= !m;
            }
        }
    }

    /// Redis's `checkSignedBitfieldOverflow`: Some(value to store) on overflow (meaningless under FAIL).
    pub fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
        let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
        let min = -max - 1;
        let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
        let min_incr = min.wrapping_sub(value);
        let wrap = || {
            let c = (value as u64).wrapping_add(incr as u64);
            sign_extend(c & mask(bits), bits)
        };
        if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
            Some(if ow == Overflow::Sat { max } else { wrap() })
        } else if value < min || (bits != 64 && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr) {
            Some(if ow == Overflow::Sat { min } else { wrap() })
        } else {
            None
        }
    }

    /// Redis's `checkUnsignedBitfieldOverflow` (bits <= 63).
    pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
        let max = mask(bits);
        let max_incr = max.wrapping_sub(value) as i64;
        let min_incr = value.wrapping_neg() as i64;
        let wrap = || value.wrapping_add(incr as u64) & max;
        if value > max || (incr > 0 && incr > max_incr) {
            Some(if ow == Overflow::Sat { max } else { wrap() })
        } else if incr < 0 && incr < min_incr {
            Some(if ow == Overflow::Sat { 0 } else { wrap() })
        } else {
            None
        }
    }

    /// Runs SET or INCRBY against the field's current raw bits: Some((reply, raw bits to store)), or None when
    /// the operation overflowed under FAIL (reply nil, write nothing).
    pub fn apply(op: &Op, old_raw: u64) -> Option<(i64, u64)> {
        if op.signed {
            let old = sign_extend(old_raw, op.bits);
            let (candidate, incr, reply_old) = match op.kind {
                Kind::IncrBy => (old, op.value, false),
                _ => (op.value, 0, true),
            };
            let (new, overflowed) = match signed_overflow(candidate, incr, op.bits, op.overflow) {
                Some(limit) => (limit, true),
                None => (candidate.wrapping_add(incr), false),
            };
            if overflowed && op.overflow == Overflow::Fail {
                return None;
            }
            Some((if reply_old { old } else { new }, new as u64 & mask(op.bits)))
        } else {
            let old = old_raw;
            let (candidate, incr, reply_old) = match op.kind {
                Kind::IncrBy => (old, op.value, false),
                _ => (op.value as u64, 0, true),
            };
            let (new, overflowed) = match unsigned_overflow(candidate, incr, op.bits, op.overflow) {
                Some(limit) => (limit, true),
                None => (candidate.wrapping_add(incr as u64), false),
            };
            if overflowed && op.overflow == Overflow::Fail {
                return None;
            }
            Some((if reply_old { old as i64 } else { new as i64 }, new & mask(op.bits)))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn op(kind: Kind, signed: bool, bits: u32, value: i64, overflow: Overflow) -> Op {
            Op { kind, offset: 0, value, overflow, bits, signed }
        }

        #[test]
        fn types() {
            assert_eq!(parse_type(b"i64"), Some((true, 64)));
            assert_eq!(parse_type(b"u63"), Some((false, 63)));
            assert_eq!(parse_type(b"i8\0x"), Some((true, 8)));
            for bad in [&b"u64"[..], b"i65", b"u0", b"I8", b"i", b"", b"i08", b"i-1"] {
                assert_eq!(parse_type(bad), None);
            }
        }

        #[test]
        fn read_write_roundtrip() {
            let mut buf = vec![0u8; 2];
            set_raw(&mut buf, 3, 5, 0b11001);
            assert_eq!(get(&buf, 3, 5, true), -7);
            assert_eq!(get(&buf, 3, 5, false), 25);
            assert_eq!(buf, [0b0001_1001, 0]);
            assert_eq!(get(&buf, 12, 16, false), 0);
        }

        #[test]
        fn overflow_like_redis() {
            use Overflow::*;
            assert_eq!(apply(&op(Kind::IncrBy, false, 8, 10, Wrap), 255), Some((9, 9)));
            assert_eq!(apply(&op(Kind::IncrBy, false, 8, 10, Sat), 250), Some((255, 255)));
            assert_eq!(apply(&op(Kind::IncrBy, false, 8, 10, Fail), 250), None);
            assert_eq!(apply(&op(Kind::Set, false, 8, -1, Sat), 0), Some((0, 255)));
            assert_eq!(apply(&op(Kind::Set, true, 8, 200, Sat), 255), Some((-1, 127)));
            assert_eq!(apply(&op(Kind::Set, true, 8, -200, Sat), 0), Some((0, 128)));
            assert_eq!(apply(&op(Kind::Set, true, 8, 200, Wrap), 0), Some((0, 200)));
            assert_eq!(
                apply(&op(Kind::IncrBy, true, 64, i64::MIN, Wrap), (-2i64) as u64),
                Some((i64::MAX - 1, (i64::MAX - 1) as u64))
            );
            assert_eq!(apply(&op(Kind::IncrBy, true, 64, i64::MAX, Wrap), i64::MAX as u64), Some((-2, (-2i64) as u64)));
            assert_eq!(apply(&op(Kind::IncrBy, true, 64, i64::MAX, Sat), 1), Some((i64::MAX, i64::MAX as u64)));
            assert_eq!(
                apply(&op(Kind::IncrBy, false, 63, i64::MIN, Wrap), (1u64 << 63) - 2),
                Some((i64::MAX - 1, (1u64 << 63) - 2))
            );
            assert_eq!(apply(&op(Kind::Set, false, 63, i64::MIN, Wrap), 5), Some((5, 0)));
        }
    }
}
