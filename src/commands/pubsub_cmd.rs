//! Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB's subcommands.
//!
//! The registry (`crate::pubsub`) holds the subscriptions and each subscriber's message queue; these
//! handlers give a connection its subscriber on its first subscription, keep the client's counts (CLIENT LIST
//! `sub=`/`psub=`/`ssub=`, the RESP2 subscribed mode) and write Redis's replies: one `subscribe`-style message
//! per channel with the running count — channels plus patterns for SUBSCRIBE/PSUBSCRIBE, shard channels for
//! SSUBSCRIBE — as pushes in RESP3.
//!
//! PUBLISH returns the receivers on this node only, as Redis does in a cluster too; in cluster mode it is
//! also broadcast on the bus, and the other nodes deliver it to their subscribers. SPUBLISH is routed by the
//! channel's slot like a key (its key spec) and delivered on this node only.

use std::sync::Arc;

use super::Ctx;
use crate::protocol::decode::Args;
use crate::pubsub::{Kind, Limits, Subscriber};

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// The commands a RESP2 client may run while subscribed (Redis's list).
pub fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// The error for any other command in RESP2 subscribed mode.
pub fn subscribed_mode_error(name: &str) -> String {
    format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    )
}

/// Reads `client-output-buffer-limit pubsub` into the registry when the configuration changed.
fn follow_limits(ctx: &Ctx<'_, '_>) {
    let version = ctx.server.config.version();
    let pubsub = &ctx.server.pubsub;
    if pubsub.limits_stale(version) {
        let l = ctx.server.config.snapshot().pubsub_output_limit;
        let limits =
            Limits { hard: l.hard_bytes, soft: l.soft_bytes, soft_secs: u64::try_from(l.soft_seconds).unwrap_or(0) };
        pubsub.set_limits(limits, version);
    }
}

/// The connection's subscriber, created on its first subscription.
fn subscriber(ctx: &mut Ctx<'_, '_>) -> Arc<Subscriber> {
    let resp3 = ctx.out.is_resp3();
    let sub = ctx.client.subscriber.get_or_insert_with(|| Subscriber::new(ctx.client.id, resp3)).clone();
    sub.set_resp3(resp3);
    sub
}

fn refresh_counts(ctx: &mut Ctx<'_, '_>, sub: &Subscriber) {
    let (c, p, s) = sub.counts();
    ctx.client.sub = c;
    ctx.client.psub = p;
    ctx.client.ssub = s;
}

/// One `subscribe`-style reply message: a push in RESP3, an array in RESP2. `channel` None is the nil of an
/// UNSUBSCRIBE with nothing to unsubscribe from.
fn confirm(ctx: &mut Ctx<'_, '_>, what: &str, channel: Option<&[u8]>, count: usize) {
    if ctx.out.is_resp3() {
        ctx.out.push(3);
    } else {
        ctx.out.array(3);
    }
    ctx.out.bulk(what.as_bytes());
    match channel {
        Some(c) => ctx.out.bulk(c),
        None => ctx.out.null(),
    }
    ctx.out.int(count as i64);
}

fn running_count(ctx: &Ctx<'_, '_>, kind: Kind) -> usize {
    match kind {
        Kind::Shard => ctx.client.ssub,
        _ => ctx.client.sub + ctx.client.psub,
    }
}

fn do_subscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>, kind: Kind, what: &str) {
    follow_limits(ctx);
    let sub = subscriber(ctx);
    for i in 1..args.len() {
        ctx.server.pubsub.subscribe(&sub, kind, args.get(i));
        refresh_counts(ctx, &sub);
        let count = running_count(ctx, kind);
        confirm(ctx, what, Some(args.get(i)), count);
    }
}

fn do_unsubscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>, kind: Kind, what: &str) {
    let Some(sub) = ctx.client.subscriber.clone() else {
        if args.len() == 1 {
            let count = running_count(ctx, kind);
            confirm(ctx, what, None, count);
        } else {
            for i in 1..args.len() {
                confirm(ctx, what, Some(args.get(i)), 0);
            }
        }
        return;
    };
    if args.len() == 1 {
        let names = sub.names(kind);
        if names.is_empty() {
            let count = running_count(ctx, kind);
            confirm(ctx, what, None, count);
        }
        for name in names {
            ctx.server.pubsub.unsubscribe(&sub, kind, &name);
            refresh_counts(ctx, &sub);
            let count = running_count(ctx, kind);
            confirm(ctx, what, Some(&name), count);
        }
    } else {
        for i in 1..args.len() {
            ctx.server.pubsub.unsubscribe(&sub, kind, args.get(i));
            refresh_counts(ctx, &sub);
            let count = running_count(ctx, kind);
            confirm(ctx, what, Some(args.get(i)), count);
        }
    }
}

/// RESET and the end of a connection: drop every subscription (no replies).
pub fn unsubscribe_everything(ctx: &mut Ctx<'_, '_>) {
    if let Some(sub) = ctx.client.subscriber.clone() {
        ctx.server.pubsub.remove_all(&sub);
        refresh_counts(ctx, &sub);
    }
}

pub fn subscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    do_subscribe(ctx, args, Kind::Channel, "subscribe");
}

pub fn psubscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    do_subscribe(ctx, args, Kind::Pattern, "psubscribe");
}

pub fn ssubscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    do_subscribe(ctx, args, Kind::Shard, "ssubscribe");
}

pub fn unsubscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    do_unsubscribe(ctx, args, Kind::Channel, "unsubscribe");
}

pub fn punsubscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    do_unsubscribe(ctx, args, Kind::Pattern, "punsubscribe");
}

pub fn sunsubscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    do_unsubscribe(ctx, args, Kind::Shard, "sunsubscribe");
}

/// Messages this client sent to itself come before the reply, as in Redis (it writes them first).
fn own_messages_first(ctx: &mut Ctx<'_, '_>) {
    if let Some(sub) = &ctx.client.subscriber {
        sub.drain_into(&mut ctx.out.buf);
    }
}

pub fn publish(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    follow_limits(ctx);
    let (channel, message) = (args.get(1), args.get(2));
    let receivers = ctx.server.pubsub.publish(channel, message);
    if let Some(cluster) = &ctx.server.cluster {
        cluster.with_state(|s| s.broadcast_publish(channel, message));
    }
    own_messages_first(ctx);
    ctx.out.int(receivers as i64);
}

pub fn spublish(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    follow_limits(ctx);
    let receivers = ctx.server.pubsub.publish_shard(args.get(1), args.get(2));
    if let Some(cluster) = &ctx.server.cluster {
        forward_to_my_shard(cluster, args.get(1), args.get(2));
    }
    own_messages_first(ctx);
    ctx.out.int(receivers as i64);
}

/// SPUBLISH in a cluster: a PUBLISHSHARD packet to the other nodes of this node's shard (its primary and
/// replicas), which deliver it to their shard subscribers, as Redis does.
fn forward_to_my_shard(cluster: &crate::cluster::handle::ClusterHandle, channel: &[u8], message: &[u8]) {
    use crate::cluster::wire::{try_encode, Body, Message};
    let packets: Vec<(u64, Vec<u8>)> = cluster.read(|s| {
        let primary = s.me().primary.unwrap_or(s.myself);
        let links: Vec<u64> = s
            .nodes
            .values()
            .filter(|n| !n.is_myself() && (n.id == primary || n.primary == Some(primary)))
            .filter_map(|n| n.outbound_link)
            .collect();
        if links.is_empty() {
            return Vec::new();
        }
        let body = Body::PublishShard { channel: channel.to_vec(), message: message.to_vec() };
        match try_encode(&Message { header: s.header(), body }) {
            Ok(bytes) => links.into_iter().map(|l| (l, bytes.clone())).collect(),
            Err(_) => Vec::new(),
        }
    });
    for (link, bytes) in packets {
        cluster.links.send(link, bytes);
    }
}

fn bad_subcommand(ctx: &mut Ctx<'_, '_>, args: &Args<'_>) {
    ctx.out.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(args.get(1))
    ));
}

fn channels_of(ctx: &mut Ctx<'_, '_>, args: Args<'_>, kind: Kind) {
    if args.len() > 3 {
        return bad_subcommand(ctx, &args);
    }
    let pattern = (args.len() == 3).then(|| args.get(2));
    let names = ctx.server.pubsub.active(kind, pattern);
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n);
    }
}

fn numsub_of(ctx: &mut Ctx<'_, '_>, args: Args<'_>, kind: Kind) {
    let n = args.len() - 2;
    // A flat array in RESP3 too (Redis 7.0).
    ctx.out.array(n * 2);
    for i in 2..args.len() {
        ctx.out.bulk(args.get(i));
        let count = ctx.server.pubsub.numsub(kind, args.get(i));
        ctx.out.int(count as i64);
    }
}

pub fn pubsub_channels(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    channels_of(ctx, args, Kind::Channel);
}

pub fn pubsub_shardchannels(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    channels_of(ctx, args, Kind::Shard);
}

pub fn pubsub_numsub(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    numsub_of(ctx, args, Kind::Channel);
}

pub fn pubsub_shardnumsub(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    numsub_of(ctx, args, Kind::Shard);
}

pub fn pubsub_numpat(ctx: &mut Ctx<'_, '_>, args: Args<'_>) {
    if args.len() != 2 {
        return bad_subcommand(ctx, &args);
    }
    let n = ctx.server.pubsub.numpat();
    ctx.out.int(n as i64);
}

pub fn pubsub_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.array(HELP.len());
    for line in HELP {
        ctx.out.simple(line);
    }
}
