//! Cluster-mode routing at dispatch: extracts the command's keys with the table's key specs, and asks the
//! pure decision in `cluster::route` whether this node serves them — otherwise the client gets MOVED, ASK,
//! CROSSSLOT, TRYAGAIN or CLUSTERDOWN exactly as from Redis. Standalone mode never gets here. EXEC is routed
//! by the keys of all its queued commands through the same two functions ([`keys_of`], [`route_keys`]).

use super::spec::CommandSpec;
use super::ClientState;
use crate::cluster::route::{route, RequestFlags, Route};
use crate::protocol::decode::Args;
use crate::protocol::reply::Reply;
use crate::slot::key_hash_slot;
use crate::state::{unix_time_ms, ServerState};

/// True when the command runs here; otherwise the redirect or error has been written to `out`.
pub fn serve_here(
    server: &ServerState,
    client: &ClientState,
    spec: &CommandSpec,
    args: &Args<'_>,
    out: &mut Reply,
) -> bool {
    if server.cluster.is_none() || (spec.key_specs.is_empty() && !spec.movable_keys()) {
        return true;
    }
    let mut keys = Vec::new();
    keys_of(spec, args, &mut keys);
    let mut flags = command_flags(spec);
    flags.asking |= client.asking;
    flags.readonly = client.readonly;
    route_keys(server, &keys, flags, out)
}

/// Appends the command's keys with their hash slots.
pub fn keys_of<'a>(spec: &CommandSpec, args: &Args<'a>, keys: &mut Vec<(&'a [u8], u16)>) {
    spec.for_each_key_index(args, |i, _| {
        let key = args.get(i);
        keys.push((key, key_hash_slot(key)));
    });
}

/// The routing flags a command carries by itself (the connection's ASKING and READONLY are added by callers).
pub fn command_flags(spec: &CommandSpec) -> RequestFlags {
    RequestFlags {
        is_write: spec.has_flag("write"),
        asking: spec.has_flag("asking"),
        readonly: false,
        is_migrate: spec.name == "migrate",
        // Shard channels are served by every node of their shard (Redis 7.0's `pubsubshard_included`).
        pubsub_shard: matches!(spec.name, "ssubscribe" | "sunsubscribe" | "spublish"),
    }
}

/// Decides where `keys` are served; true when here, otherwise the redirect or error is written to `out`.
pub fn route_keys(server: &ServerState, keys: &[(&[u8], u16)], flags: RequestFlags, out: &mut Reply) -> bool {
    let Some(cluster) = &server.cluster else { return true };
    if keys.is_empty() {
        return true;
    }
    let table = cluster.routing();
    let now = unix_time_ms();
    let mut exists = |key: &[u8]| server.keyspace.lock_keys([key], 0, now).exists(key);
    match route(&table, keys, flags, &mut exists) {
        Route::Local => true,
        Route::Redirect(reply) => {
            out.error(&reply);
            false
        }
    }
}
