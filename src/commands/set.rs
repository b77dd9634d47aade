//! Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER SINTERCARD
//! SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN. The structure lives in `crate::types::set`.
//!
//! What this module decides, and why:
//! - **Results are built as Redis builds them.** SUNION / SDIFF and every *STORE destination start as an
//!   empty intset and convert on the way (Redis's `createIntsetObject` + `setTypeAdd`), so OBJECT ENCODING of
//!   a stored result and the order of a reply (ascending while it is an intset) match Redis. SINTER replies in
//!   the order of its smallest input, as Redis iterates it.
//! - **Several sources at once.** The keyspace hands out one `&mut` at a time, so multi-key commands move each
//!   distinct source set out of its entry (an O(1) swap with an empty set), compute, and put them back before
//!   any destination is written: no copies, and a destination that is also a source is read before it is
//!   replaced. Nothing between the take and the restore can fail halfway.
//! - **Random picks** follow Redis's cases (see `commands::hash`): SRANDMEMBER with a negative count repeats,
//!   a positive count gives distinct members; SPOP with a count pops distinct members and deletes the key when
//!   the count covers the whole set (`spop` then `del` notifications, as Redis 7.0).
//! - **Propagation** (AOF, replicas): SPOP is not deterministic, so it propagates what it did, as Redis 7.0:
//!   `SREM key member` for one pop, `SREM` batches of up to 1024 members for a count, `DEL key` when the
//!   count took the whole set. The other commands propagate as executed.
//! - **SMOVE** notifies `srem` on the source (`del` if emptied) and `sadd` on the destination, as Redis 7.0
//!   does (there is no `smove` event).

use super::hash::{
    distinct_indices, empty_scan, random_count, scan_opts, Found, MAX_RANDOM_REPLY, RANDOM_REPLY_TOO_LARGE,
};
use super::string::keyword;
use super::{errors, Ctx};
use crate::keyspace::{DbView, Value};
use crate::notify::class as notify;
use crate::num;
use crate::propagate::Propagate;
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;
use crate::types::set::{Member, Set};

/// SPOP with a count propagates its pops as SREM commands of at most this many members (Redis's batch).
const SPOP_PROPAGATE_BATCH: usize = 1024;

fn lookup<'a>(db: &'a mut DbView<'_>, key: &[u8], read: bool) -> Found<'a, Set> {
    let v = if read { db.get_read(key) } else { db.get_mut(key) };
    match v {
        None => Found::Missing,
        Some(Value::Set(s)) => Found::Yes(s),
        Some(_) => Found::WrongType,
    }
}

fn read_or_reply<'a>(
    db: &'a mut DbView<'_>,
    out: &mut Reply,
    key: &[u8],
    missing: impl FnOnce(&mut Reply),
) -> Option<&'a mut Set> {
    match lookup(db, key, true) {
        Found::Yes(s) => Some(s),
        Found::Missing => {
            missing(out);
            None
        }
        Found::WrongType => {
            out.error(errors::WRONGTYPE);
            None
        }
    }
}

fn max_intset(ctx: &Ctx<'_, '_>) -> u64 {
    ctx.server.tunables.encoding_limits().set_max_intset_entries
}

fn bulk_member(out: &mut Reply, m: Member<'_>) {
    match m {
        Member::Int(n) => out.bulk_i64(n),
        Member::Bytes(b) => out.bulk(b),
    }
}

pub fn sadd(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    let max = max_intset(ctx);
    match lookup(ctx.db, key, false) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Yes(_) => {}
        Found::Missing => {
            ctx.db.insert_new(key, Value::Set(Box::new(Set::new_for(args.get(2)))));
        }
    }
    let Found::Yes(set) = lookup(ctx.db, key, false) else { return ctx.out.error(errors::WRONGTYPE) };
    let mut added = 0;
    for m in args.iter().skip(2) {
        if set.add(m, max) {
            added += 1;
        }
    }
    if added > 0 {
        ctx.notify(notify::SET, "sadd", key);
    }
    ctx.dirty += added as u64;
    ctx.out.int(added);
}

pub fn srem(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    let set = match lookup(ctx.db, key, false) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => return ctx.out.int(0),
        Found::Yes(s) => s,
    };
    let mut deleted = 0;
    for m in args.iter().skip(2) {
        if set.remove(m) {
            deleted += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    let emptied = set.is_empty();
    if emptied {
        ctx.db.remove(key);
    }
    if deleted > 0 {
        ctx.notify(notify::SET, "srem", key);
        if emptied {
            ctx.notify(notify::GENERIC, "del", key);
        }
        ctx.dirty += deleted as u64;
    }
    ctx.out.int(deleted);
}

pub fn smembers(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(set) = read_or_reply(ctx.db, ctx.out, args.get(1), |o| o.set(0)) else { return };
    ctx.out.set(set.len());
    for m in set.iter() {
        bulk_member(ctx.out, m);
    }
}

pub fn sismember(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(set) = read_or_reply(ctx.db, ctx.out, args.get(1), |o| o.int(0)) else { return };
    let found = set.contains(args.get(2));
    ctx.out.int(i64::from(found));
}

pub fn smismember(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let set = match lookup(ctx.db, args.get(1), true) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => None,
        Found::Yes(s) => Some(s),
    };
    ctx.out.array(args.len() - 2);
    for m in args.iter().skip(2) {
        let found = set.as_ref().is_some_and(|s| s.contains(m));
        ctx.out.int(i64::from(found));
    }
}

pub fn scard(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(set) = read_or_reply(ctx.db, ctx.out, args.get(1), |o| o.int(0)) else { return };
    let n = set.len();
    ctx.out.int(n as i64);
}

// ---------------------------------------------------------------------------------------------------------
// SPOP SRANDMEMBER
// ---------------------------------------------------------------------------------------------------------

pub fn spop(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    if args.len() == 3 {
        return spop_count(ctx, key, args.get(2));
    }
    if args.len() > 3 {
        return ctx.out.error(errors::SYNTAX);
    }
    let set = match lookup(ctx.db, key, false) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => return ctx.out.null(),
        Found::Yes(s) => s,
    };
    let Some(member) = set.remove_at(fastrand::usize(..set.len().max(1))) else { return ctx.out.null() };
    let emptied = set.is_empty();
    ctx.notify(notify::SET, "spop", key);
    ctx.out.bulk(&member);
    // Not deterministic: replicas and the AOF get the member that was popped.
    ctx.propagate_instead(&[b"SREM", key, &member]);
    if emptied {
        ctx.db.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    ctx.dirty += 1;
}

fn spop_count(ctx: &mut Ctx<'_, '_>, key: &[u8], arg: &[u8]) {
    let max = max_intset(ctx);
    let Some(count) = num::parse_i64(arg).filter(|&n| n >= 0) else {
        return ctx.out.error("ERR value is out of range, must be positive");
    };
    let set = match lookup(ctx.db, key, false) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => return ctx.out.set(0),
        Found::Yes(s) => s,
    };
    if count == 0 {
        return ctx.out.set(0);
    }
    let size = set.len();
    if count as u64 >= size as u64 {
        // Redis replies through SUNION's result set, which starts as an intset (ascending when all members
        // are integers and few enough, whatever the source's encoding).
        let mut all = Set::new_intset();
        for m in set.iter() {
            all.add_member(m, max);
        }
        reply_set(ctx.out, &all);
        ctx.db.remove(key);
        ctx.notify(notify::SET, "spop", key);
        ctx.notify(notify::GENERIC, "del", key);
        ctx.propagate_instead(&[b"DEL", key]);
        // Redis adds the requested count; the popped size keeps the counter from overflowing on huge counts.
        ctx.dirty += size as u64;
        return;
    }
    let picks = distinct_indices(size, count as usize);
    let members: Vec<Vec<u8>> = picks.iter().filter_map(|&i| set.at(i).map(|m| m.to_vec())).collect();
    for m in &members {
        set.remove(m);
    }
    ctx.notify(notify::SET, "spop", key);
    ctx.out.set(members.len());
    for m in &members {
        ctx.out.bulk(m);
    }
    for batch in members.chunks(SPOP_PROPAGATE_BATCH) {
        let mut line: Vec<&[u8]> = Vec::with_capacity(batch.len() + 2);
        line.push(b"SREM");
        line.push(key);
        line.extend(batch.iter().map(Vec::as_slice));
        ctx.propagate_instead(&line);
    }
    ctx.dirty += count as u64;
}

pub fn srandmember(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(1);
    if args.len() > 3 {
        return ctx.out.error(errors::SYNTAX);
    }
    if args.len() == 3 {
        let Some(count) = random_count(ctx.out, args.get(2)) else { return };
        return srandmember_count(ctx, key, count);
    }
    let Some(set) = read_or_reply(ctx.db, ctx.out, key, Reply::null) else { return };
    match set.at(fastrand::usize(..set.len().max(1))) {
        Some(m) => bulk_member(ctx.out, m),
        None => ctx.out.null(),
    }
}

fn srandmember_count(ctx: &mut Ctx<'_, '_>, key: &[u8], count: i64) {
    let Some(set) = read_or_reply(ctx.db, ctx.out, key, |o| o.array(0)) else { return };
    let size = set.len();
    let want = count.unsigned_abs();
    if want == 0 || size == 0 {
        return ctx.out.array(0);
    }
    if count < 0 || want == 1 {
        if want > MAX_RANDOM_REPLY {
            return ctx.out.error(RANDOM_REPLY_TOO_LARGE);
        }
        ctx.out.array(want as usize);
        for _ in 0..want {
            if let Some(m) = set.at(fastrand::usize(..size)) {
                bulk_member(ctx.out, m);
            }
        }
        return;
    }
    if want >= size as u64 {
        ctx.out.array(size);
        for m in set.iter() {
            bulk_member(ctx.out, m);
        }
        return;
    }
    let picks = distinct_indices(size, want as usize);
    ctx.out.array(picks.len());
    for i in picks {
        if let Some(m) = set.at(i) {
            bulk_member(ctx.out, m);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// SMOVE
// ---------------------------------------------------------------------------------------------------------

pub fn smove(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (src, dst, member) = (args.get(1), args.get(2), args.get(3));
    let max = max_intset(ctx);
    let src_found = match lookup(ctx.db, src, false) {
        Found::Missing => return ctx.out.int(0),
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Yes(_) => true,
    };
    let dst_exists = match lookup(ctx.db, dst, false) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => false,
        Found::Yes(_) => true,
    };
    debug_assert!(src_found);
    if src == dst {
        let Found::Yes(set) = lookup(ctx.db, src, false) else { return ctx.out.int(0) };
        let found = set.contains(member);
        return ctx.out.int(i64::from(found));
    }
    let Found::Yes(set) = lookup(ctx.db, src, false) else { return ctx.out.int(0) };
    if !set.remove(member) {
        return ctx.out.int(0);
    }
    let emptied = set.is_empty();
    ctx.notify(notify::SET, "srem", src);
    if emptied {
        ctx.db.remove(src);
        ctx.notify(notify::GENERIC, "del", src);
    }
    if !dst_exists {
        ctx.db.insert_new(dst, Value::Set(Box::new(Set::new_for(member))));
    }
    ctx.dirty += 1;
    if let Found::Yes(d) = lookup(ctx.db, dst, false) {
        if d.add(member, max) {
            ctx.dirty += 1;
            ctx.notify(notify::SET, "sadd", dst);
        }
    }
    ctx.out.int(1);
}

// ---------------------------------------------------------------------------------------------------------
// SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE
// ---------------------------------------------------------------------------------------------------------

/// The source sets of a multi-key command, moved out of their entries (see the module doc).
struct Sources<'k> {
    /// Distinct keys that exist, with the set taken from each.
    taken: Vec<(&'k [u8], Set)>,
    /// For each key argument: its index in `taken`, or None for a missing key.
    slots: Vec<Option<usize>>,
}

impl<'k> Sources<'k> {
    /// Takes the sets at `keys` (read lookups, or write lookups for the *STORE forms, as Redis: no keyspace
    /// hit/miss counting); on a wrong type, puts back what it took and replies WRONGTYPE.
    fn take(
        db: &mut DbView<'_>,
        out: &mut Reply,
        keys: impl Iterator<Item = &'k [u8]>,
        read: bool,
    ) -> Option<Sources<'k>> {
        let mut src = Sources { taken: Vec::new(), slots: Vec::new() };
        for key in keys {
            if let Some(i) = src.taken.iter().position(|(k, _)| *k == key) {
                src.slots.push(Some(i));
                continue;
            }
            match lookup(db, key, read) {
                Found::Missing => src.slots.push(None),
                Found::Yes(s) => {
                    src.taken.push((key, std::mem::take(s)));
                    src.slots.push(Some(src.taken.len() - 1));
                }
                Found::WrongType => {
                    src.restore(db);
                    out.error(errors::WRONGTYPE);
                    return None;
                }
            }
        }
        Some(src)
    }

    fn restore(self, db: &mut DbView<'_>) {
        for (key, set) in self.taken {
            if let Some(Value::Set(s)) = db.get_mut(key) {
                **s = set;
            }
        }
    }

    fn get(&self, arg: usize) -> Option<&Set> {
        self.slots.get(arg).copied().flatten().map(|i| &self.taken[i].1)
    }
}

/// Where a set operation's result goes.
enum Dest<'a> {
    Reply,
    Store(&'a [u8]),
}

/// Stores `result` at `dst` (replacing any value and its TTL), or deletes `dst` when the result is empty,
/// with Redis's notifications; replies the cardinality.
fn store_result(ctx: &mut Ctx<'_, '_>, dst: &[u8], result: Set, event: &str) {
    let n = result.len();
    if n > 0 {
        ctx.db.set(dst, Value::Set(Box::new(result)), false);
        ctx.out.int(n as i64);
        ctx.notify(notify::SET, event, dst);
        ctx.dirty += 1;
    } else {
        ctx.out.int(0);
        if ctx.db.remove(dst).is_some() {
            ctx.dirty += 1;
            ctx.notify(notify::GENERIC, "del", dst);
        }
    }
}

fn reply_set(out: &mut Reply, set: &Set) {
    out.set(set.len());
    for m in set.iter() {
        bulk_member(out, m);
    }
}

/// SINTER / SINTERSTORE / SINTERCARD (`card` = Some(limit), 0 meaning no limit).
fn sinter_generic<'k>(ctx: &mut Ctx<'_, '_>, keys: impl Iterator<Item = &'k [u8]>, dest: Dest<'_>, card: Option<u64>) {
    let max = max_intset(ctx);
    let read = matches!(dest, Dest::Reply);
    let Some(src) = Sources::take(ctx.db, ctx.out, keys, read) else { return };
    if src.slots.iter().any(Option::is_none) {
        src.restore(ctx.db);
        match (dest, card) {
            (Dest::Store(dst), _) => store_result(ctx, dst, Set::new_intset(), "sinterstore"),
            (_, Some(_)) => ctx.out.int(0),
            _ => ctx.out.set(0),
        }
        return;
    }
    let mut order: Vec<usize> = src.slots.iter().flatten().copied().collect();
    order.sort_by_key(|&i| src.taken[i].1.len());
    order.dedup();
    let (first, rest) = match order.split_first() {
        Some((f, r)) => (&src.taken[*f].1, r),
        None => {
            src.restore(ctx.db);
            return ctx.out.set(0);
        }
    };
    let in_all = |m: Member<'_>| rest.iter().all(|&j| src.taken[j].1.contains_member(m));
    if let Some(limit) = card {
        let mut n = 0u64;
        for m in first.iter() {
            if in_all(m) {
                n += 1;
                if limit > 0 && n >= limit {
                    break;
                }
            }
        }
        src.restore(ctx.db);
        return ctx.out.int(n as i64);
    }
    match dest {
        Dest::Reply => {
            let found: Vec<Member<'_>> = first.iter().filter(|&m| in_all(m)).collect();
            ctx.out.set(found.len());
            for m in found {
                bulk_member(ctx.out, m);
            }
            src.restore(ctx.db);
        }
        Dest::Store(dst) => {
            let mut result = Set::new_intset();
            for m in first.iter().filter(|&m| in_all(m)) {
                result.add_member(m, max);
            }
            src.restore(ctx.db);
            store_result(ctx, dst, result, "sinterstore");
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Diff,
}

fn sunion_diff_generic<'k>(ctx: &mut Ctx<'_, '_>, keys: impl Iterator<Item = &'k [u8]>, dest: Dest<'_>, op: Op) {
    let max = max_intset(ctx);
    let read = matches!(dest, Dest::Reply);
    let Some(src) = Sources::take(ctx.db, ctx.out, keys, read) else { return };
    let mut result = Set::new_intset();
    match op {
        Op::Union => {
            for i in src.slots.iter().flatten() {
                for m in src.taken[*i].1.iter() {
                    result.add_member(m, max);
                }
            }
        }
        Op::Diff => {
            let first_slot = src.slots.first().copied().flatten();
            let same = first_slot.is_some() && src.slots.iter().skip(1).any(|s| *s == first_slot);
            if let (Some(first), false) = (src.get(0), same) {
                let others: Vec<&Set> = (1..src.slots.len()).filter_map(|a| src.get(a)).collect();
                for m in first.iter() {
                    if !others.iter().any(|o| o.contains_member(m)) {
                        result.add_member(m, max);
                    }
                }
            }
        }
    }
    src.restore(ctx.db);
    match dest {
        Dest::Reply => reply_set(ctx.out, &result),
        Dest::Store(dst) => {
            let event = if op == Op::Union { "sunionstore" } else { "sdiffstore" };
            store_result(ctx, dst, result, event);
        }
    }
}

pub fn sinter(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    sinter_generic(ctx, args.iter().skip(1), Dest::Reply, None);
}

pub fn sinterstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    sinter_generic(ctx, args.iter().skip(2), Dest::Store(args.get(1)), None);
}

pub fn sintercard(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let numkeys = match num::parse_i64(args.get(1)) {
        Some(n) if n >= 1 => n as u64,
        _ => return ctx.out.error("ERR numkeys should be greater than 0"),
    };
    if numkeys > (args.len() - 2) as u64 {
        return ctx.out.error("ERR Number of keys can't be greater than number of args");
    }
    let numkeys = numkeys as usize;
    let mut limit = 0u64;
    let mut j = 2 + numkeys;
    while j < args.len() {
        if keyword(args.get(j), "limit") && j + 1 < args.len() {
            j += 1;
            match num::parse_i64(args.get(j)) {
                Some(n) if n >= 0 => limit = n as u64,
                _ => return ctx.out.error("ERR LIMIT can't be negative"),
            }
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        j += 1;
    }
    sinter_generic(ctx, args.iter().skip(2).take(numkeys), Dest::Reply, Some(limit));
}

pub fn sunion(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    sunion_diff_generic(ctx, args.iter().skip(1), Dest::Reply, Op::Union);
}

pub fn sunionstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    sunion_diff_generic(ctx, args.iter().skip(2), Dest::Store(args.get(1)), Op::Union);
}

pub fn sdiff(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    sunion_diff_generic(ctx, args.iter().skip(1), Dest::Reply, Op::Diff);
}

pub fn sdiffstore(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    sunion_diff_generic(ctx, args.iter().skip(2), Dest::Store(args.get(1)), Op::Diff);
}

// ---------------------------------------------------------------------------------------------------------
// SSCAN
// ---------------------------------------------------------------------------------------------------------

pub fn sscan(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(cursor) = super::args::scan_cursor(args.get(2)) else {
        return ctx.out.error("ERR invalid cursor");
    };
    let Some(set) = read_or_reply(ctx.db, ctx.out, args.get(1), empty_scan) else { return };
    let Some(opts) = scan_opts(ctx.out, &args) else { return };
    let mut items: Vec<Member<'_>> = Vec::new();
    let next = set.scan(cursor, opts.count, |m| {
        if opts.pattern.is_none() || m.with_bytes(|b| opts.matches(b)) {
            items.push(m);
        }
    });
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(items.len());
    for m in items {
        bulk_member(ctx.out, m);
    }
}
