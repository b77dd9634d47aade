//! Request routing in cluster mode: given a command's keys and the published routing table, serve it here or
//! answer CROSSSLOT, CLUSTERDOWN, ASK, TRYAGAIN or MOVED — in exactly the order Redis checks them
//! (`getNodeByQuery`), because clients react differently to each and tests compare the texts.
//!
//! Pure: the table is a snapshot (`Arc`, published by the bus driver whenever ownership changes), and key
//! existence (needed only for slots being migrated or imported) is asked through a callback.

use std::collections::HashMap;

use super::node::NodeId;
use crate::slot::SLOT_COUNT;

/// Where a node serves clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub id: NodeId,
    pub ip: String,
    pub port: u16,
}

/// The slot map as command handlers see it: one immutable snapshot per command, never a lock on the
/// cluster state.
#[derive(Clone, Debug)]
pub struct RoutingTable {
    pub myself: NodeId,
    /// Our primary when we are a replica.
    pub my_primary: Option<NodeId>,
    /// Index into `nodes` of every slot's owner (`NO_OWNER` when unassigned).
    pub owners: Box<[u16]>,
    pub nodes: Vec<Endpoint>,
    /// Slots we are migrating away: slot -> index of the target in `nodes`.
    pub migrating: HashMap<u16, u16>,
    /// Slots we are importing: slot -> index of the source in `nodes`.
    pub importing: HashMap<u16, u16>,
    pub health_ok: bool,
    pub allow_reads_when_down: bool,
    /// `cluster-allow-pubsubshard-when-down` (Redis's default: yes): shard Pub/Sub keeps working while the
    /// cluster is down.
    pub allow_pubsubshard_when_down: bool,
}

pub const NO_OWNER: u16 = u16::MAX;

impl RoutingTable {
    /// An empty table (no slot served): every keyed command answers CLUSTERDOWN.
    pub fn empty(myself: NodeId) -> RoutingTable {
        RoutingTable {
            myself,
            my_primary: None,
            owners: vec![NO_OWNER; SLOT_COUNT].into_boxed_slice(),
            nodes: Vec::new(),
            migrating: HashMap::new(),
            importing: HashMap::new(),
            health_ok: false,
            allow_reads_when_down: false,
            allow_pubsubshard_when_down: true,
        }
    }

    pub fn owner(&self, slot: u16) -> Option<&Endpoint> {
        let idx = *self.owners.get(slot as usize)?;
        self.nodes.get(idx as usize)
    }
}

/// What the command's connection state adds to the decision.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestFlags {
    /// The command (or a queued command of EXEC) writes.
    pub is_write: bool,
    /// One-shot ASKING from the client, or a command flagged `asking` (RESTORE-ASKING).
    pub asking: bool,
    /// READONLY connection (replica reads).
    pub readonly: bool,
    /// MIGRATE runs locally whenever its slot is open.
    pub is_migrate: bool,
    /// A shard Pub/Sub command (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH), whose "keys" are shard channels. As in
    /// Redis 7.0's `getNodeByQuery` (`pubsubshard_included`), it is served by every node of the owning shard
    /// (replicas too, without READONLY), never looks keys up during a migration (the source serves the channel
    /// until the slot moves), and follows `cluster-allow-pubsubshard-when-down` rather than the read rules
    /// while the cluster is down.
    pub pubsub_shard: bool,
}

/// The routing decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Local,
    Redirect(String),
}

fn endpoint(e: &Endpoint) -> String {
    format!("{}:{}", e.ip, e.port)
}

/// Decides where a command with these keys (each with its slot) runs. `exists` answers whether a key is
/// stored here; it is only called for slots being migrated or imported.
pub fn route(
    table: &RoutingTable,
    keys: &[(&[u8], u16)],
    flags: RequestFlags,
    exists: &mut dyn FnMut(&[u8]) -> bool,
) -> Route {
    let pubsub_shard = flags.pubsub_shard;
    let Some(&(first_key, slot)) = keys.first() else { return Route::Local };
    let Some(owner) = table.owner(slot) else {
        return Route::Redirect("CLUSTERDOWN Hash slot not served".into());
    };
    let mine = owner.id == table.myself;
    let migrating = mine && table.migrating.contains_key(&slot);
    let importing = !migrating && table.importing.contains_key(&slot);
    let (mut missing, mut existing, mut multiple_keys) = (0usize, 0usize, false);
    for (i, &(key, key_slot)) in keys.iter().enumerate() {
        if i > 0 && key != first_key {
            if key_slot != slot {
                return Route::Redirect("CROSSSLOT Keys in request don't hash to the same slot".into());
            }
            multiple_keys = true;
        }
        if pubsub_shard {
            continue;
        }
        if (migrating || importing) && !exists(key) {
            missing += 1;
        } else {
            existing += 1;
        }
    }
    if !table.health_ok {
        if pubsub_shard {
            if !table.allow_pubsubshard_when_down {
                return Route::Redirect("CLUSTERDOWN The cluster is down".into());
            }
        } else if !table.allow_reads_when_down {
            return Route::Redirect("CLUSTERDOWN The cluster is down".into());
        }
        if flags.is_write {
            return Route::Redirect("CLUSTERDOWN The cluster is down and only accepts read commands".into());
        }
    }
    if (migrating || importing) && flags.is_migrate {
        return Route::Local;
    }
    if migrating && missing > 0 {
        if existing > 0 {
            return Route::Redirect("TRYAGAIN Multiple keys request during rehashing of slot".into());
        }
        let target = table.migrating.get(&slot).and_then(|&i| table.nodes.get(i as usize));
        if let Some(target) = target {
            return Route::Redirect(format!("ASK {slot} {}", endpoint(target)));
        }
    }
    if importing && flags.asking {
        if multiple_keys && missing > 0 {
            return Route::Redirect("TRYAGAIN Multiple keys request during rehashing of slot".into());
        }
        return Route::Local;
    }
    if (flags.readonly || pubsub_shard) && !flags.is_write && table.my_primary == Some(owner.id) {
        return Route::Local;
    }
    if mine {
        Route::Local
    } else {
        Route::Redirect(format!("MOVED {slot} {}", endpoint(owner)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    /// Three primaries a (us), b, c splitting the slots; all healthy.
    fn table() -> RoutingTable {
        let mut t = RoutingTable::empty(id(b'a'));
        t.nodes = vec![
            Endpoint { id: id(b'a'), ip: "127.0.0.1".into(), port: 7000 },
            Endpoint { id: id(b'b'), ip: "127.0.0.1".into(), port: 7001 },
            Endpoint { id: id(b'c'), ip: "127.0.0.1".into(), port: 7002 },
        ];
        for s in 0..SLOT_COUNT {
            t.owners[s] = (s * 3 / SLOT_COUNT) as u16;
        }
        t.health_ok = true;
        t
    }

    fn keys<'a>(names: &[&'a str]) -> Vec<(&'a [u8], u16)> {
        names.iter().map(|k| (k.as_bytes(), crate::slot::key_hash_slot(k.as_bytes()))).collect()
    }

    fn go(t: &RoutingTable, names: &[&str], flags: RequestFlags) -> Route {
        route(t, &keys(names), flags, &mut |k| k.windows(4).any(|w| w == b"here"))
    }

    #[test]
    fn keyless_local_own_slot_local_other_slot_moved() {
        let t = table();
        assert_eq!(go(&t, &[], RequestFlags::default()), Route::Local);
        // key_hash_slot("a") = 15495 -> node c; "{user1000}" 3443 -> a.
        assert_eq!(go(&t, &["{user1000}.x"], RequestFlags::default()), Route::Local);
        assert_eq!(go(&t, &["a"], RequestFlags::default()), Route::Redirect("MOVED 15495 127.0.0.1:7002".into()));
    }

    #[test]
    fn crossslot_unbound_and_down_in_redis_order() {
        let mut t = table();
        assert_eq!(
            go(&t, &["{user1000}.x", "a"], RequestFlags::default()),
            Route::Redirect("CROSSSLOT Keys in request don't hash to the same slot".into())
        );
        t.owners[3443] = NO_OWNER;
        assert_eq!(
            go(&t, &["{user1000}.x", "a"], RequestFlags::default()),
            Route::Redirect("CLUSTERDOWN Hash slot not served".into())
        );
        let mut t = table();
        t.health_ok = false;
        assert_eq!(go(&t, &["a"], RequestFlags::default()), Route::Redirect("CLUSTERDOWN The cluster is down".into()));
        t.allow_reads_when_down = true;
        assert_eq!(go(&t, &["a"], RequestFlags::default()), Route::Redirect("MOVED 15495 127.0.0.1:7002".into()));
        let write = RequestFlags { is_write: true, ..Default::default() };
        assert_eq!(
            go(&t, &["a"], write),
            Route::Redirect("CLUSTERDOWN The cluster is down and only accepts read commands".into())
        );
    }

    #[test]
    fn migrating_slot_ask_tryagain_or_local() {
        let mut t = table();
        let slot = crate::slot::key_hash_slot(b"{t}here1");
        t.owners[slot as usize] = 0;
        t.migrating.insert(slot, 1);
        let f = RequestFlags::default();
        assert_eq!(go(&t, &["{t}here1", "{t}here2"], f), Route::Local);
        assert_eq!(go(&t, &["{t}gone1"], f), Route::Redirect(format!("ASK {slot} 127.0.0.1:7001")));
        assert_eq!(
            go(&t, &["{t}here1", "{t}gone1"], f),
            Route::Redirect("TRYAGAIN Multiple keys request during rehashing of slot".into())
        );
        let migrate = RequestFlags { is_migrate: true, ..Default::default() };
        assert_eq!(go(&t, &["{t}gone1"], migrate), Route::Local);
    }

    #[test]
    fn importing_slot_needs_asking() {
        let mut t = table();
        let slot = crate::slot::key_hash_slot(b"{t}here1");
        t.owners[slot as usize] = 1;
        t.importing.insert(slot, 1);
        assert_eq!(
            go(&t, &["{t}gone"], RequestFlags::default()),
            Route::Redirect(format!("MOVED {slot} 127.0.0.1:7001"))
        );
        let asking = RequestFlags { asking: true, ..Default::default() };
        assert_eq!(go(&t, &["{t}gone"], asking), Route::Local);
        assert_eq!(
            go(&t, &["{t}gone", "{t}here1"], asking),
            Route::Redirect("TRYAGAIN Multiple keys request during rehashing of slot".into())
        );
    }

    #[test]
    fn readonly_replica_serves_its_primarys_reads() {
        let mut t = table();
        t.my_primary = Some(id(b'c'));
        let ro = RequestFlags { readonly: true, ..Default::default() };
        assert_eq!(go(&t, &["a"], ro), Route::Local);
        let ro_write = RequestFlags { readonly: true, is_write: true, ..Default::default() };
        assert_eq!(go(&t, &["a"], ro_write), Route::Redirect("MOVED 15495 127.0.0.1:7002".into()));
        assert_eq!(go(&t, &["{user1000}"], ro), Route::Local);
    }

    #[test]
    fn shard_pubsub_is_served_by_the_owning_shards_replicas() {
        let mut t = table();
        t.my_primary = Some(id(b'c'));
        let shard = RequestFlags { pubsub_shard: true, ..Default::default() };
        let go = |t: &RoutingTable, names: &[&str]| go(t, names, shard);
        // Channel "a" hashes to slot 15495, served by our primary c: served here, no READONLY needed.
        assert_eq!(go(&t, &["a"]), Route::Local);
        // Another shard's channel: MOVED, as for keys.
        assert_eq!(go(&t, &["c"]), Route::Redirect("MOVED 7365 127.0.0.1:7001".into()));
        // Down: served unless cluster-allow-pubsubshard-when-down is off.
        t.health_ok = false;
        assert_eq!(go(&t, &["a"]), Route::Local);
        t.allow_pubsubshard_when_down = false;
        assert_eq!(go(&t, &["a"]), Route::Redirect("CLUSTERDOWN The cluster is down".into()));
        // A migrating slot: the source keeps serving the channel (channels are not keys to look up).
        let mut t = table();
        let slot = crate::slot::key_hash_slot(b"{t}gone");
        t.owners[slot as usize] = 0;
        t.migrating.insert(slot, 1);
        assert_eq!(go(&t, &["{t}gone"]), Route::Local);
    }
}
