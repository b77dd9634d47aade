//! Sorted-set commands (ZADD ... BZMPOP), answering exactly as Redis 7.0.15 does (plus 7.2's ZRANK/ZREVRANK
//! WITHSCORE).
//!
//! What this module decides, and why:
//! - **Error order follows Redis per command.** Options and numbers are validated before the key lookup
//!   (ZADD, ZRANGE, ZREMRANGEBY*, ZPOP count), except where Redis looks the keys up first: ZUNION/ZINTER/ZDIFF
//!   report WRONGTYPE before a bad WEIGHTS or AGGREGATE, and ZSCAN answers an empty scan on a missing key
//!   before looking at its options.
//! - **Scores print with `%.17g`** (`out.double`: a bulk string in RESP2, a `,` double in RESP3), and ZSCAN
//!   prints them as bulk strings in both protocols, as Redis 7.0 does.
//! - **RESP3 shapes:** WITHSCORES replies become arrays of [member, score] pairs, ZPOPMIN/ZPOPMAX with a count
//!   too; ZRANDMEMBER WITHSCORES likewise.
//! - **Encodings:** a new set starts compact unless its first member is already too long (Redis 7.0's ZADD
//!   rule); store commands build their result and pick the compact form when it fits.
//! - **Writes** count `dirty` per changed element, notify the `zset` class event Redis names, and delete a set
//!   that becomes empty (with a `del` event).
//! - **Bounded work:** counts from clients never size an allocation beyond what the set really holds, and
//!   ZRANDMEMBER with a huge negative count is refused rather than building a reply of unbounded size.

mod pop;
mod range;
mod read;
mod setops;
mod write;

pub use pop::{bzmpop, bzpopmax, bzpopmin, zmpop, zpopmax, zpopmin};
pub use range::{zrange, zrangebylex, zrangebyscore, zrangestore, zrevrange, zrevrangebylex, zrevrangebyscore};
pub use read::{zcard, zcount, zlexcount, zmscore, zrandmember, zrank, zrevrank, zscan, zscore};
pub use setops::{zdiff, zdiffstore, zinter, zintercard, zinterstore, zunion, zunionstore};
pub use write::{zadd, zincrby, zrem, zremrangebylex, zremrangebyrank, zremrangebyscore};

use super::{errors, Ctx};
use crate::keyspace::{DbView, Value};
use crate::protocol::reply::Reply;
use crate::types::zset::{Limits, ZSet};

/// The current compact-encoding limits.
fn limits(ctx: &Ctx<'_, '_>) -> Limits {
    Limits::from_config(&ctx.server.tunables.encoding_limits())
}

/// Looks `key` up for reading (hit/miss counted). Ok(None): missing; Err(()): WRONGTYPE was written.
fn lookup_read<'a>(db: &'a mut DbView<'_>, out: &mut Reply, key: &[u8]) -> Result<Option<&'a mut ZSet>, ()> {
    match db.get_read(key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => {
            out.error(errors::WRONGTYPE);
            Err(())
        }
    }
}

/// Looks `key` up for writing. Ok(None): missing; Err(()): WRONGTYPE was written.
fn lookup_write<'a>(db: &'a mut DbView<'_>, out: &mut Reply, key: &[u8]) -> Result<Option<&'a mut ZSet>, ()> {
    match db.get_mut(key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => {
            out.error(errors::WRONGTYPE);
            Err(())
        }
    }
}

/// Header of a reply of `n` entries, with scores or not (flat in RESP2, pairs in RESP3).
fn reply_entries_len(out: &mut Reply, n: usize, withscores: bool) {
    if withscores && !out.is_resp3() {
        out.array(n.saturating_mul(2));
    } else {
        out.array(n);
    }
}

/// One entry of such a reply.
fn reply_entry(out: &mut Reply, member: &[u8], score: f64, withscores: bool) {
    if withscores && out.is_resp3() {
        out.array(2);
    }
    out.bulk(member);
    if withscores {
        out.double(score);
    }
}

/// Deletes `key` after its set became empty, with Redis's `del` event.
fn delete_emptied(ctx: &mut Ctx<'_, '_>, key: &[u8]) {
    ctx.db.remove(key);
    ctx.notify(crate::notify::class::GENERIC, "del", key);
}

/// Keyword match with C-string semantics (Redis's `strcasecmp`).
fn kw(arg: &[u8], word: &str) -> bool {
    super::string::keyword(arg, word)
}
