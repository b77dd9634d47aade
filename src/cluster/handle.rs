//! `ClusterHandle`: the driver side of the cluster state machine inside the server. It owns the state behind a
//! mutex (taken by CLUSTER commands and, later, the bus), runs the effects the state queues — nodes.conf
//! writes first, then everything else — and publishes the routing table that command dispatch reads
//! without locking the state.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::{Mutex, RwLock};

use super::node::NodeId;
use super::nodes_conf;
use super::route::{Endpoint, RoutingTable, NO_OWNER};
use super::state::{ClusterState, Effect, Health, Options};
use crate::slot::SLOT_COUNT;

pub struct ClusterHandle {
    state: Mutex<ClusterState>,
    /// The bus links (the driver's half).
    pub links: super::bus::Links,
    /// Ourselves, for spawning link tasks from inside `with_state`.
    me: OnceLock<Weak<ClusterHandle>>,
    routing: RwLock<Arc<RoutingTable>>,
    config_path: PathBuf,
    /// Holds the advisory lock on nodes.conf for the life of the server.
    _lock: Option<std::fs::File>,
    allow_reads_when_down: std::sync::atomic::AtomicBool,
    allow_pubsubshard_when_down: std::sync::atomic::AtomicBool,
    /// Called (outside the state lock) whenever a published routing table moves a slot to another owner (or the
    /// cluster goes down): the server wakes its blocked clients there, so those whose keys moved get -MOVED
    /// (set once at start-up).
    on_ownership_change: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

/// What a start-up with `cluster-enabled yes` needs from the configuration.
pub struct ClusterSettings {
    pub config_path: PathBuf,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub node_timeout_ms: u64,
    pub require_full_coverage: bool,
    pub allow_reads_when_down: bool,
    pub allow_pubsubshard_when_down: bool,
    pub announce_ip: String,
    pub announce_hostname: String,
}

impl ClusterHandle {
    /// Loads nodes.conf (or creates a fresh identity and writes it), taking the file lock. Errors are the
    /// messages the server logs before refusing to start.
    pub fn open(settings: ClusterSettings, now_ms: u64) -> Result<Arc<ClusterHandle>, String> {
        let lock = nodes_conf::lock(&settings.config_path).map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(&settings.config_path)
            .map_err(|e| format!("Can't read the cluster config file {}: {e}", settings.config_path.display()))?;
        let options = Options {
            node_timeout_ms: settings.node_timeout_ms,
            require_full_coverage: settings.require_full_coverage,
            announce_ip: settings.announce_ip.clone(),
            announce_hostname: settings.announce_hostname.clone(),
            ..Options::default()
        };
        let seed = fastrand::u64(..);
        let state = match nodes_conf::parse(&text)? {
            Some(conf) => {
                let mut s = ClusterState::from_conf(conf, seed, options, now_ms)?;
                // Our own address may have changed since the file was written (a new port on restart).
                let id = s.myself;
                if let Some(me) = s.nodes.get_mut(&id) {
                    me.port = settings.port;
                    me.cport = settings.cport;
                    if me.ip.is_empty() || !settings.ip.is_empty() {
                        me.ip = settings.ip.clone();
                    }
                    me.hostname = settings.announce_hostname.clone();
                }
                tracing::info!("Node configuration loaded, I'm {}", s.myself);
                s
            }
            None => {
                let mut s = ClusterState::new(seed, &settings.ip, settings.port, settings.cport, now_ms, options);
                let id = s.myself;
                if let Some(me) = s.nodes.get_mut(&id) {
                    me.hostname = settings.announce_hostname.clone();
                }
                tracing::info!("No cluster configuration found, I'm {}", s.myself);
                s
            }
        };
        let handle = ClusterHandle {
            routing: RwLock::new(Arc::new(build_routing(
                &state,
                WhenDown { reads: settings.allow_reads_when_down, pubsubshard: settings.allow_pubsubshard_when_down },
            ))),
            state: Mutex::new(state),
            links: super::bus::Links::default(),
            me: OnceLock::new(),
            config_path: settings.config_path,
            _lock: Some(lock),
            allow_reads_when_down: std::sync::atomic::AtomicBool::new(settings.allow_reads_when_down),
            allow_pubsubshard_when_down: std::sync::atomic::AtomicBool::new(settings.allow_pubsubshard_when_down),
            on_ownership_change: OnceLock::new(),
        };
        handle.save_now().map_err(|e| format!("Can't write the cluster config file: {e}"))?;
        let handle = Arc::new(handle);
        let _ = handle.me.set(Arc::downgrade(&handle));
        Ok(handle)
    }

    /// Registers what to do when slot ownership changes (the server wakes its blocked clients); only the first
    /// registration counts.
    pub fn on_slot_ownership_change(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_ownership_change.set(Box::new(f));
    }

    /// Runs `f` on the state, then its effects: config saves (before anything else), routing publication,
    /// state-change log lines. When the new routing table moves slots, blocked clients are woken and the shard
    /// channels of slots this node's shard lost are unsubscribed — after the state lock is released.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut ClusterState) -> R) -> R {
        let mut state = self.state.lock();
        state.set_time(crate::state::unix_time_ms());
        let result = f(&mut state);
        let effects = state.take_effects();
        let mut publish = false;
        // One nodes.conf write per batch: every SaveConfig of a batch would write the same text (the state does
        // not change in between), and the first one already comes before any packet queued after it.
        let mut saved = false;
        for effect in effects {
            match effect {
                Effect::SaveConfig { .. } if saved => {}
                Effect::SaveConfig { .. } => {
                    saved = true;
                    let text = nodes_conf::render(&state.to_conf());
                    if let Err(e) = nodes_conf::save(&self.config_path, &text) {
                        tracing::warn!("Could not save the cluster config file {}: {e}", self.config_path.display());
                    }
                }
                Effect::StateChanged { ok } => {
                    tracing::info!("Cluster state changed: {}", if ok { "ok" } else { "fail" });
                    publish = true;
                }
                Effect::RoutingChanged => publish = true,
                Effect::Connect { node, ip, cport } => {
                    match self.me.get().and_then(Weak::upgrade) {
                        Some(me) if tokio::runtime::Handle::try_current().is_ok() => {
                            super::bus::connect(&me, node, ip, cport)
                        }
                        // No runtime (unit tests): the attempt is reported as failed, the cron retries.
                        _ => state.connect_failed(node),
                    }
                }
                Effect::Send { link, msg } => match super::wire::try_encode(&msg) {
                    Ok(bytes) => {
                        if !self.links.send(link, bytes) {
                            state.link_down(link);
                        }
                    }
                    Err(e) => tracing::warn!("Not sending an unencodable cluster packet: {e}"),
                },
                Effect::Disconnect { link } => {
                    self.links.close(link);
                    state.link_down(link);
                }
                Effect::Deliver { channel, message, shard } => {
                    crate::pubsub::deliver_from_cluster(&channel, &message, shard);
                }
            }
        }
        let (mut moved, mut went_down) = (None, false);
        if publish {
            let when_down = WhenDown {
                reads: self.allow_reads_when_down.load(std::sync::atomic::Ordering::Relaxed),
                pubsubshard: self.allow_pubsubshard_when_down.load(std::sync::atomic::Ordering::Relaxed),
            };
            let new = Arc::new(build_routing(&state, when_down));
            let old = std::mem::replace(&mut *self.routing.write(), new.clone());
            moved = ownership_change(&old, &new);
            went_down = old.health_ok && !new.health_ok;
        }
        drop(state);
        if let Some(change) = &moved {
            if !change.lost_by_my_shard.is_empty() {
                crate::pubsub::cluster_slots_lost(&change.lost_by_my_shard);
            }
        }
        // Blocked clients re-check their keys: moved ones get -MOVED, and -CLUSTERDOWN once the cluster is down.
        if moved.is_some() || went_down {
            if let Some(hook) = self.on_ownership_change.get() {
                hook();
            }
        }
        result
    }

    /// Follows CONFIG SET of the cluster knobs (called by the cron; cheap when nothing changed).
    pub fn apply_settings(&self, s: &crate::config::Settings) {
        use std::sync::atomic::Ordering;
        let reads_changed = (self.allow_reads_when_down.swap(s.cluster_allow_reads_when_down, Ordering::Relaxed)
            != s.cluster_allow_reads_when_down)
            | (self.allow_pubsubshard_when_down.swap(s.cluster_allow_pubsubshard_when_down, Ordering::Relaxed)
                != s.cluster_allow_pubsubshard_when_down);
        let timeout = s.cluster_node_timeout_ms.max(1);
        let (coverage, ip, host) =
            (s.cluster_require_full_coverage, &s.cluster_announce_ip, &s.cluster_announce_hostname);
        let changed = self.read(|st| {
            st.options.node_timeout_ms != timeout
                || st.options.require_full_coverage != coverage
                || st.options.announce_ip != *ip
                || st.options.announce_hostname != *host
        });
        if changed || reads_changed {
            self.with_state(|st| {
                st.options.node_timeout_ms = timeout;
                st.options.require_full_coverage = coverage;
                st.options.announce_ip = ip.clone();
                st.options.announce_hostname = host.clone();
                st.update_health();
                // Republish the routing table (read-when-down may have changed).
                st.touch_routing();
            });
        }
    }

    /// The 100 ms cluster cron.
    pub fn tick(&self) {
        self.with_state(|s| s.tick(crate::state::unix_time_ms()));
    }

    /// Read-only access to the state (CLUSTER NODES, INFO...).
    pub fn read<R>(&self, f: impl FnOnce(&ClusterState) -> R) -> R {
        f(&self.state.lock())
    }

    /// The current routing table: one Arc clone per command.
    pub fn routing(&self) -> Arc<RoutingTable> {
        self.routing.read().clone()
    }

    /// CLUSTER SAVECONFIG and start-up: write nodes.conf now.
    pub fn save_now(&self) -> std::io::Result<()> {
        let text = nodes_conf::render(&self.state.lock().to_conf());
        nodes_conf::save(&self.config_path, &text)
    }

    pub fn myself(&self) -> NodeId {
        self.state.lock().myself
    }
}

/// What a new routing table changed about slot ownership.
struct OwnershipChange {
    /// Slots that belonged to this node's shard (us, or our primary) and now belong to another node or none.
    lost_by_my_shard: Vec<u16>,
}

/// Compares two routing tables: `None` when every slot keeps its owner.
fn ownership_change(old: &RoutingTable, new: &RoutingTable) -> Option<OwnershipChange> {
    let my_shard = |id: NodeId| id == old.myself || Some(id) == old.my_primary;
    let mut any = false;
    let mut lost_by_my_shard = Vec::new();
    for slot in 0..SLOT_COUNT as u16 {
        let before = old.owner(slot).map(|e| e.id);
        let after = new.owner(slot).map(|e| e.id);
        if before != after {
            any = true;
            if before.is_some_and(my_shard) {
                lost_by_my_shard.push(slot);
            }
        }
    }
    any.then_some(OwnershipChange { lost_by_my_shard })
}

/// What the node still serves while the cluster is down (`cluster-allow-reads-when-down`,
/// `cluster-allow-pubsubshard-when-down`).
#[derive(Clone, Copy, Debug)]
pub struct WhenDown {
    pub reads: bool,
    pub pubsubshard: bool,
}

/// The routing snapshot for the current state.
pub fn build_routing(state: &ClusterState, when_down: WhenDown) -> RoutingTable {
    let mut table = RoutingTable::empty(state.myself);
    table.my_primary = state.me().primary;
    table.health_ok = state.health == Health::Ok;
    table.allow_reads_when_down = when_down.reads;
    table.allow_pubsubshard_when_down = when_down.pubsubshard;
    let mut index: std::collections::HashMap<NodeId, u16> = std::collections::HashMap::new();
    let mut endpoint_index = |table: &mut RoutingTable, id: NodeId| -> Option<u16> {
        if let Some(&i) = index.get(&id) {
            return Some(i);
        }
        let node = state.nodes.get(&id)?;
        let i = table.nodes.len() as u16;
        table.nodes.push(Endpoint { id, ip: node.ip.clone(), port: node.port });
        index.insert(id, i);
        Some(i)
    };
    for slot in 0..SLOT_COUNT as u16 {
        if let Some(owner) = state.slot_owner(slot) {
            table.owners[slot as usize] = endpoint_index(&mut table, owner).unwrap_or(NO_OWNER);
        }
    }
    for open in &state.open_slots {
        match *open {
            nodes_conf::OpenSlot::Migrating { slot, to } => {
                if let Some(i) = endpoint_index(&mut table, to) {
                    table.migrating.insert(slot, i);
                }
            }
            nodes_conf::OpenSlot::Importing { slot, from } => {
                if let Some(i) = endpoint_index(&mut table, from) {
                    table.importing.insert(slot, i);
                }
            }
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::route::Endpoint;

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    /// We are `a` (a replica of `b` when `replica`); `owners[k]` owns slots 1000k..1000k+999, the rest `c`.
    fn table(owners: &[u8], replica: bool) -> RoutingTable {
        let mut t = RoutingTable::empty(id(b'a'));
        t.my_primary = replica.then(|| id(b'b'));
        t.nodes = [b'a', b'b', b'c']
            .iter()
            .map(|&c| Endpoint { id: id(c), ip: "127.0.0.1".into(), port: 7000 + u16::from(c - b'a') })
            .collect();
        for s in 0..SLOT_COUNT {
            let owner = owners.get(s / 1000).copied().unwrap_or(b'c');
            t.owners[s] = u16::from(owner - b'a');
        }
        t
    }

    #[test]
    fn ownership_changes_and_the_slots_my_shard_lost() {
        let old = table(b"ab", false);
        assert!(ownership_change(&old, &table(b"ab", false)).is_none(), "same owners: nothing to do");
        let change = ownership_change(&old, &table(b"cb", false)).expect("slots 0-999 moved");
        assert_eq!(change.lost_by_my_shard, (0..1000).collect::<Vec<u16>>());
        let change = ownership_change(&old, &table(b"ac", false)).expect("slots 1000-1999 moved");
        assert!(change.lost_by_my_shard.is_empty(), "another shard's slots");
        // A replica loses its primary's slots with it.
        let change = ownership_change(&table(b"ab", true), &table(b"ac", true)).expect("moved");
        assert_eq!(change.lost_by_my_shard, (1000..2000).collect::<Vec<u16>>());
        // Unassigned counts as lost.
        let mut unassigned = table(b"ab", false);
        unassigned.owners[5] = NO_OWNER;
        assert_eq!(ownership_change(&old, &unassigned).map(|c| c.lost_by_my_shard), Some(vec![5]));
    }
}
