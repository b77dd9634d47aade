//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE (the sketch format itself lives in `crate::types::hll`).
//!
//! What this module decides, and why:
//! - **Sketches are strings.** A HyperLogLog is a string value holding Redis's exact bytes; a key created here
//!   is stored `raw`, and PFADD, single-key PFCOUNT and PFMERGE's destination turn an `embstr` copy into
//!   `raw` before touching it, as Redis's `dbUnshareStringValue` does (OBJECT ENCODING shows it). An
//!   `int`-encoded string is never a valid sketch.
//! - **Errors.** A non-string answers the usual WRONGTYPE; a string failing the header check answers
//!   `WRONGTYPE Key is not a valid HyperLogLog string value.`; opcodes that do not cover the registers
//!   answer `INVALIDOBJ Corrupted HLL object detected`. Keys are checked in argument order, missing keys
//!   count as empty sketches.
//! - **PFCOUNT writes.** On one key it returns the cached cardinality, or computes it and stores it in the
//!   header, which counts as a change (dirty, WATCH) but sends no notification — Redis 7.0.15 behaviour.
//!   On several keys it merges into a temporary and changes nothing.
//! - **Notifications.** PFADD and PFMERGE both announce `pfadd` in the string class (Redis treats a merge as
//!   a mass add). A PFADD that fails half-way on a corrupt sketch keeps the registers it already changed but
//!   counts and announces nothing, exactly as Redis does.
//! - **PFMERGE** keeps the destination sparse unless one of the inputs is dense, then raises its registers one
//!   by one in index order (so a sparse destination may promote midway, byte-identically with Redis), and
//!   keeps the destination's TTL.

use super::{errors, Ctx};
use crate::keyspace::Value;
use crate::notify::class;
use crate::protocol::decode::Args;
use crate::types::hll::{self, Registers, REGISTERS};

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

/// The sketch bytes of a value, or the error Redis's `isHLLObjectOrReply` answers.
fn sketch(v: &Value) -> Result<&[u8], &'static str> {
    let bytes = match v {
        Value::Str(s) => s.as_slice(),
        Value::Raw(r) => r.as_slice(),
        Value::Int(_) => return Err(NOT_HLL),
        _ => return Err(errors::WRONGTYPE),
    };
    if hll::is_valid(bytes) {
        Ok(bytes)
    } else {
        Err(NOT_HLL)
    }
}

fn empty_registers() -> Box<Registers> {
    Box::new([0u8; REGISTERS])
}

pub fn pfadd(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    let limit = ctx.server.tunables.encoding_limits().hll_sparse_max_bytes;
    let mut updated = 0u64;
    let buf = if ctx.db.exists(key) {
        let Some(v) = ctx.db.get_mut(key) else { return };
        if let Err(e) = sketch(v) {
            ctx.out.error(e);
            return;
        }
        v.make_raw()
    } else {
        updated = 1;
        ctx.db.insert_new(key, Value::Raw(hll::new_sparse())).value.make_raw()
    };
    let Some(buf) = buf else { return };
    for element in args.iter().skip(2) {
        match hll::add(buf, element, limit) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(hll::Corrupt) => {
                ctx.out.error(CORRUPT);
                return;
            }
        }
    }
    if updated > 0 {
        hll::invalidate_cache(buf);
        ctx.notify(class::STRING, "pfadd", key);
        ctx.dirty += updated;
    }
    ctx.out.int(i64::from(updated > 0));
}

pub fn pfcount(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if args.len() > 2 {
        let mut max = empty_registers();
        for key in args.iter().skip(1) {
            let Some(v) = ctx.db.get_read(key) else { continue };
            let merged = sketch(v).and_then(|bytes| hll::merge_into(&mut max, bytes).map_err(|_| CORRUPT));
            if let Err(e) = merged {
                ctx.out.error(e);
                return;
            }
        }
        ctx.out.int(hll::count_registers(&max) as i64);
        return;
    }
    let Some(v) = ctx.db.get_read(args.get(1)) else {
        ctx.out.int(0);
        return;
    };
    if let Err(e) = sketch(v) {
        ctx.out.error(e);
        return;
    }
    let Some(buf) = v.make_raw() else { return };
    let card = match hll::cached_card(buf) {
        Some(card) => card,
        None => match hll::count(buf) {
            Ok(card) => {
                hll::store_card(buf, card);
                ctx.dirty += 1;
                // PFCOUNT is flagged read-only, so the dispatcher does not report its keys to WATCH; Redis's
                // signalModifiedKey does, hence the explicit touch.
                let db = ctx.db.db_index();
                ctx.server.keyspace.watches.touch(db, args.get(1), || true);
                card
            }
            Err(hll::Corrupt) => {
                ctx.out.error(CORRUPT);
                return;
            }
        },
    };
    // Redis replies with the unsigned value reinterpreted as a signed 64-bit integer.
    ctx.out.int(card as i64);
}

pub fn pfmerge(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let mut max = empty_registers();
    let mut use_dense = false;
    for key in args.iter().skip(1) {
        let Some(v) = ctx.db.get_read(key) else { continue };
        let merged = sketch(v).and_then(|bytes| {
            use_dense |= hll::is_dense(bytes);
            hll::merge_into(&mut max, bytes).map_err(|_| CORRUPT)
        });
        if let Err(e) = merged {
            ctx.out.error(e);
            return;
        }
    }
    let dest = args.get(1);
    let limit = ctx.server.tunables.encoding_limits().hll_sparse_max_bytes;
    let buf = if ctx.db.exists(dest) {
        ctx.db.get_mut(dest).and_then(Value::make_raw)
    } else {
        ctx.db.insert_new(dest, Value::Raw(hll::new_sparse())).value.make_raw()
    };
    let Some(buf) = buf else { return };
    if use_dense && hll::to_dense(buf).is_err() {
        ctx.out.error(CORRUPT);
        return;
    }
    for (index, &m) in max.iter().enumerate() {
        if m != 0 {
            // Redis ignores a failure here: the destination was validated as the first input.
            let _ = hll::set(buf, index, m, limit);
        }
    }
    hll::invalidate_cache(buf);
    ctx.notify(class::STRING, "pfadd", dest);
    ctx.dirty += 1;
    ctx.out.ok();
}
