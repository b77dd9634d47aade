//! Cluster-mode routing at dispatch: extracts the command's keys with the table's key specs, and asks the
//! pure decision in `cluster::route` whether this node serves them — otherwise the client gets MOVED, ASK,
//! CROSSSLOT, TRYAGAIN or CLUSTERDOWN exactly as from Redis. Standalone mode never gets here.

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
    let Some(cluster) = &server.cluster else { return true };
    if spec.key_specs.is_empty() && !spec.movable_keys() {
        return true;
    }
    let mut keys: Vec<(&[u8], u16)> = Vec::new();
    spec.for_each_key_index(args, |i, _| {
        let key = args.get(i);
        keys.push((key, key_hash_slot(key)));
    });
    if keys.is_empty() {
        return true;
    }
    let table = cluster.routing();
    let flags = RequestFlags {
        is_write: spec.has_flag("write"),
        asking: client.asking || spec.has_flag("asking"),
        readonly: client.readonly,
        is_migrate: spec.name == "migrate",
    };
    let now = unix_time_ms();
    let mut exists = |key: &[u8]| server.keyspace.lock_keys([key], 0, now).exists(key);
    match route(&table, &keys, flags, &mut exists) {
        Route::Local => true,
        Route::Redirect(reply) => {
            out.error(&reply);
            false
        }
    }
}
