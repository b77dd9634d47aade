//! XINFO STREAM [FULL [COUNT n]], GROUPS, CONSUMERS and HELP, field by field as Redis 7.0.15.

use super::{bulk_id, error_bytes, lookup, nogroup_error, reply_entry, Lookup};
use crate::commands::args::c_str as cstr;
use crate::commands::string::keyword;
use crate::commands::{args, errors, Ctx};
use crate::keyspace::DbView;
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;
use crate::types::stream::{ConsumerGroup, Stream, StreamId, ENTRIES_READ_INVALID};

fn subcommand_syntax(out: &mut Reply, sub: &[u8]) {
    let sub = cstr(sub);
    let sub = &sub[..sub.len().min(128)];
    let text =
        [b"ERR unknown subcommand or wrong number of arguments for '" as &[u8], sub, b"'. Try XINFO HELP."].concat();
    error_bytes(out, &text);
}

/// The stream at `args[2]`, or an error reply (`no such key`, WRONGTYPE).
fn stream_or_reply<'a>(db: &'a mut DbView<'_>, out: &mut Reply, key: &[u8]) -> Option<&'a mut Stream> {
    match lookup(db, key, true) {
        Lookup::Missing => {
            out.error(errors::NO_SUCH_KEY);
            None
        }
        Lookup::WrongType => {
            out.error(errors::WRONGTYPE);
            None
        }
        Lookup::Found(s) => Some(s),
    }
}

fn field(out: &mut Reply, name: &str) {
    out.bulk(name.as_bytes());
}

fn entries_read(out: &mut Reply, g: &ConsumerGroup) {
    if g.entries_read != ENTRIES_READ_INVALID {
        out.int(g.entries_read);
    } else {
        out.null();
    }
}

fn lag(out: &mut Reply, s: &Stream, g: &ConsumerGroup) {
    match s.group_lag(g) {
        Some(l) => out.int(l),
        None => out.null(),
    }
}

pub fn xinfo_stream(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let key = args.get(2);
    if stream_or_reply(ctx.db, ctx.out, key).is_none() {
        return;
    }
    let optc = args.len() - 3;
    let mut full = false;
    let mut count: i64 = 10;
    if optc > 0 {
        if (optc != 1 && optc != 3) || !keyword(args.get(3), "full") {
            subcommand_syntax(ctx.out, args.get(1));
            return;
        }
        full = true;
        if optc == 3 {
            if !keyword(args.get(4), "count") {
                subcommand_syntax(ctx.out, args.get(1));
                return;
            }
            let Some(n) = args::int(ctx.out, args.get(5)) else { return };
            count = if n < 0 { 10 } else { n };
        }
    }
    let Lookup::Found(s) = lookup(ctx.db, key, false) else { return };
    let out = &mut *ctx.out;
    out.map(if full { 9 } else { 10 });
    field(out, "length");
    out.int(s.len() as i64);
    field(out, "radix-tree-keys");
    out.int(s.node_count() as i64);
    field(out, "radix-tree-nodes");
    out.int(s.rax_node_count() as i64);
    field(out, "last-generated-id");
    bulk_id(out, s.last_id);
    field(out, "max-deleted-entry-id");
    bulk_id(out, s.max_deleted_entry_id);
    field(out, "entries-added");
    out.int(s.entries_added as i64);
    field(out, "recorded-first-entry-id");
    bulk_id(out, s.first_id);
    if !full {
        field(out, "groups");
        out.int(s.groups.len() as i64);
        field(out, "first-entry");
        match s.first_entry() {
            Some(e) => reply_entry(out, e),
            None => out.null(),
        }
        field(out, "last-entry");
        match s.last_entry() {
            Some(e) => reply_entry(out, e),
            None => out.null(),
        }
        return;
    }
    let limit = if count == 0 { usize::MAX } else { count as usize };
    field(out, "entries");
    super::reply_range(out, s, StreamId::MIN, StreamId::MAX, count as u64, false);
    field(out, "groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        field(out, "name");
        out.bulk(name);
        field(out, "last-delivered-id");
        bulk_id(out, g.last_id);
        field(out, "entries-read");
        entries_read(out, g);
        field(out, "lag");
        lag(out, s, g);
        field(out, "pel-count");
        out.int(g.pel.len() as i64);
        field(out, "pending");
        let shown = g.pel.len().min(limit);
        out.array(shown);
        for (id, p) in g.pel.iter().take(shown) {
            out.array(4);
            bulk_id(out, *id);
            out.bulk(&p.consumer);
            out.int(p.delivery_time as i64);
            out.int(p.delivery_count as i64);
        }
        field(out, "consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            field(out, "name");
            out.bulk(cname);
            field(out, "seen-time");
            out.int(c.seen_time as i64);
            field(out, "pel-count");
            out.int(c.pel.len() as i64);
            field(out, "pending");
            let shown = c.pel.len().min(limit);
            out.array(shown);
            for id in c.pel.iter().take(shown) {
                let (time, n) = g.pel.get(id).map_or((0, 0), |p| (p.delivery_time, p.delivery_count));
                out.array(3);
                bulk_id(out, *id);
                out.int(time as i64);
                out.int(n as i64);
            }
        }
    }
}

pub fn xinfo_groups(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let Some(s) = stream_or_reply(ctx.db, ctx.out, args.get(2)) else { return };
    let s: &Stream = s;
    let out = &mut *ctx.out;
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(6);
        field(out, "name");
        out.bulk(name);
        field(out, "consumers");
        out.int(g.consumers.len() as i64);
        field(out, "pending");
        out.int(g.pel.len() as i64);
        field(out, "last-delivered-id");
        bulk_id(out, g.last_id);
        field(out, "entries-read");
        entries_read(out, g);
        field(out, "lag");
        lag(out, s, g);
    }
}

pub fn xinfo_consumers(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    let (key, group) = (args.get(2), args.get(3));
    let now = ctx.now_ms();
    let Some(s) = stream_or_reply(ctx.db, ctx.out, key) else { return };
    let Some(g) = s.groups.get(group) else {
        nogroup_error(ctx.out, &[b"NOGROUP No such consumer group '", group, b"' for key name '", key, b"'"]);
        return;
    };
    let out = &mut *ctx.out;
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map(3);
        field(out, "name");
        out.bulk(name);
        field(out, "pending");
        out.int(c.pel.len() as i64);
        field(out, "idle");
        out.int((now as i64).saturating_sub(c.seen_time as i64).max(0));
    }
}

pub fn xinfo_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let lines = [
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.simple(l);
    }
}
