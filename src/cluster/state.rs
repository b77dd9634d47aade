//! The cluster's configuration as this node sees it — nodes, slot owners, epochs, open slots — and the rules
//! that change it. Pure: it never touches a socket, a clock or a file. Time comes in as `now_ms`, randomness
//! from a seeded generator, and everything that must happen outside (save nodes.conf, send a packet, log a
//! state change) is queued as an [`Effect`] for the driver, in the order it must happen (persist before send).
//! That is what lets the simulated-network tests run hundreds of seeded scenarios in seconds.

use std::collections::BTreeMap;

use super::node::{flags, Node, NodeId};
use super::nodes_conf::{self, NodesConf, OpenSlot};
use super::wire::SlotBitmap;
use crate::slot::SLOT_COUNT;

/// Something the driver must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Write nodes.conf now (`fsync`: before any packet queued after this effect leaves).
    SaveConfig { fsync: bool },
    /// Log `Cluster state changed: ok|fail`.
    StateChanged { ok: bool },
    /// Open the bus link to a node we just learned about (MEET or gossip).
    Connect { node: NodeId, ip: String, cport: u16 },
    /// The slot map changed: publish a new routing table.
    RoutingChanged,
    /// Send a packet on a link (a reply goes back on the link its request came from).
    Send { link: u64, msg: Box<super::wire::Message> },
    /// Close a link (the peer changed id, or stopped answering: it will be reconnected).
    Disconnect { link: u64 },
    /// A cluster-wide PUBLISH (or shard PUBLISH) arrived: deliver to local subscribers.
    Deliver { channel: Vec<u8>, message: Vec<u8>, shard: bool },
}

/// The actions of CLUSTER SETSLOT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetSlot {
    Migrating(NodeId),
    Importing(NodeId),
    Stable,
    Node(NodeId),
}

/// Cluster-wide health as `CLUSTER INFO cluster_state` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    Fail,
}

/// Knobs the rules depend on (from the config).
#[derive(Clone, Debug)]
pub struct Options {
    pub node_timeout_ms: u64,
    pub require_full_coverage: bool,
    /// `cluster-announce-ip`: sent in every header; empty lets peers use the connection's address.
    pub announce_ip: String,
    /// `cluster-announce-hostname`: sent as the hostname ping extension (as 7.0 does, only when set).
    pub announce_hostname: String,
    /// How long a forgotten node stays banned (`cluster-blacklist-ttl`, 60 s in Redis).
    pub blacklist_ttl_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            node_timeout_ms: 15_000,
            require_full_coverage: true,
            announce_ip: String::new(),
            announce_hostname: String::new(),
            blacklist_ttl_ms: 60_000,
        }
    }
}

pub struct ClusterState {
    pub myself: NodeId,
    pub nodes: BTreeMap<NodeId, Node>,
    /// Owner of every slot.
    slots: Box<[Option<NodeId>]>,
    /// Every owner's slots as a bitmap and a count, kept in step with `slots` by `assign` (so that the
    /// per-packet work — headers, health, slot claims — never walks all 16384 slots).
    owned: BTreeMap<NodeId, OwnedSlots>,
    /// Slots with no owner.
    unassigned: usize,
    pub open_slots: Vec<OpenSlot>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
    pub health: Health,
    pub options: Options,
    /// Nodes forgotten with CLUSTER FORGET, and until when they stay banned (ms).
    pub blacklist: BTreeMap<NodeId, u64>,
    effects: Vec<Effect>,
    rng: fastrand::Rng,
    /// The clock as last given by the driver (`set_time`).
    now_ms: u64,
    /// Open links: which node each one talks to (for outbound links) and its direction.
    pub(super) links: BTreeMap<u64, super::gossip::LinkMeta>,
    /// Messages sent and received per type, for CLUSTER INFO.
    pub stats: super::gossip::MessageStats,
    /// Cron ticks so far (the once-a-second work runs every 10th).
    pub(super) ticks: u64,
    /// When this process started acting as a node: a primary stays in FAIL for its first
    /// `WRITABLE_DELAY_MS` (Redis's CLUSTER_WRITABLE_DELAY), so it hears from the cluster before serving writes.
    started_ms: u64,
}

/// The slots one node owns.
#[derive(Clone, Debug)]
struct OwnedSlots {
    count: usize,
    bitmap: SlotBitmap,
}

/// Redis's CLUSTER_WRITABLE_DELAY.
pub const WRITABLE_DELAY_MS: u64 = 2000;

/// Redis's reply texts for CLUSTER subcommand errors.
pub mod errors {
    pub const INVALID_SLOT: &str = "ERR Invalid or out of range slot";
    pub const UNKNOWN_NODE: &str = "ERR Unknown node";
}

impl ClusterState {
    /// A fresh node: a random id and shard id, no slots, epochs 0.
    pub fn new(seed: u64, ip: &str, port: u16, cport: u16, now_ms: u64, options: Options) -> ClusterState {
        let mut rng = fastrand::Rng::with_seed(seed);
        let id = NodeId::random(&mut rng);
        let mut me = Node::new(id, flags::MYSELF | flags::MASTER | flags::EXTENSIONS_SUPPORTED, now_ms);
        me.ip = ip.to_string();
        me.port = port;
        me.cport = cport;
        me.shard_id = Some(NodeId::random(&mut rng));
        let conf = NodesConf { nodes: vec![me], ..NodesConf::default() };
        match ClusterState::from_conf(conf, rng.u64(..), options, now_ms) {
            Ok(state) => state,
            Err(e) => unreachable!("a configuration with only myself is always valid: {e}"),
        }
    }

    /// Rebuilds the state from nodes.conf (a restarted node keeps its id, epochs and slots).
    pub fn from_conf(conf: NodesConf, seed: u64, options: Options, now_ms: u64) -> Result<ClusterState, String> {
        let me = conf.myself().ok_or("nodes.conf has no node flagged myself")?.id;
        let slots = vec![None; SLOT_COUNT].into_boxed_slice();
        let mut nodes = BTreeMap::new();
        for mut n in conf.nodes {
            // Links are down until the driver reconnects; a stale PFAIL would only confuse.
            n.link_connected = n.is_myself();
            n.flags &= !flags::PFAIL;
            if n.is_myself() {
                n.flags |= flags::EXTENSIONS_SUPPORTED;
            }
            nodes.insert(n.id, n);
        }
        let mut state = ClusterState {
            myself: me,
            nodes,
            slots,
            owned: BTreeMap::new(),
            unassigned: SLOT_COUNT,
            open_slots: conf.open_slots,
            current_epoch: conf.current_epoch,
            last_vote_epoch: conf.last_vote_epoch,
            health: Health::Fail,
            options,
            blacklist: BTreeMap::new(),
            effects: Vec::new(),
            rng: fastrand::Rng::with_seed(seed),
            now_ms,
            started_ms: now_ms,
            links: BTreeMap::new(),
            stats: Default::default(),
            ticks: 0,
        };
        for &(a, b, owner) in &conf.slots {
            for s in a..=b.min(SLOT_COUNT as u16 - 1) {
                state.assign(s, Some(owner));
            }
        }
        state.update_health();
        state.effects.clear();
        Ok(state)
    }

    /// Advances the state's clock (the driver calls this before every input).
    pub fn set_time(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    /// The periodic step (every 100 ms): re-evaluates health, which may flip once the writable delay passed.
    pub fn tick(&mut self, now_ms: u64) {
        self.set_time(now_ms);
        self.cron();
        self.update_health();
    }

    /// Asks the driver to republish the routing table.
    pub fn touch_routing(&mut self) {
        self.effects.push(Effect::RoutingChanged);
    }

    pub(super) fn now(&self) -> u64 {
        self.now_ms
    }

    pub(super) fn push(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    pub(super) fn rng(&mut self) -> &mut fastrand::Rng {
        &mut self.rng
    }

    /// Assigns a slot (gossip-driven ownership changes go through here).
    pub(super) fn set_slot_owner(&mut self, slot: u16, owner: Option<NodeId>) {
        self.assign(slot, owner);
    }

    /// The effects queued since the last call, in order.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    pub fn me(&self) -> &Node {
        // `myself` is inserted at construction and never removed.
        &self.nodes[&self.myself]
    }

    pub(super) fn me_mut(&mut self) -> &mut Node {
        let id = self.myself;
        self.nodes.entry(id).or_insert_with(|| Node::new(id, flags::MYSELF | flags::MASTER, 0))
    }

    pub fn slot_owner(&self, slot: u16) -> Option<NodeId> {
        self.slots.get(slot as usize).copied().flatten()
    }

    /// The slots owned by `node`, as inclusive ranges.
    pub fn slot_ranges_of(&self, node: &NodeId) -> Vec<(u16, u16)> {
        self.owned.get(node).map_or_else(Vec::new, |o| o.bitmap.ranges())
    }

    /// How many slots `node` owns (O(log nodes)).
    pub fn slot_count_of(&self, node: &NodeId) -> usize {
        self.owned.get(node).map_or(0, |o| o.count)
    }

    /// The slots `node` owns, as the bus carries them (`None`: it owns none).
    pub fn slot_bitmap_of(&self, node: &NodeId) -> Option<&SlotBitmap> {
        self.owned.get(node).map(|o| &o.bitmap)
    }

    pub fn slots_assigned(&self) -> usize {
        SLOT_COUNT - self.unassigned
    }

    /// Primaries owning at least one slot: the voters, and `cluster_size`.
    pub fn voting_primaries(&self) -> usize {
        self.owned.len()
    }

    /// Every node owning slots, with how many.
    pub fn slot_counts(&self) -> impl Iterator<Item = (&NodeId, usize)> + '_ {
        self.owned.iter().map(|(id, o)| (id, o.count))
    }

    pub(super) fn save(&mut self, fsync: bool) {
        self.effects.push(Effect::SaveConfig { fsync });
    }

    /// Recomputes `health` (Redis's `clusterUpdateState`, without the minority-partition rules that come with
    /// failure detection) and queues a StateChanged effect when it flips.
    pub fn update_health(&mut self) {
        // Every slot has an owner, and no owner is unknown or FAIL: O(owners), from the incremental counts.
        let ok = !self.options.require_full_coverage
            || (self.unassigned == 0
                && self.owned.keys().all(|id| self.nodes.get(id).is_some_and(|n| !n.has(flags::FAIL))));
        let new = if ok { Health::Ok } else { Health::Fail };
        let writable_delay = self.me().is_primary()
            && self.health == Health::Fail
            && self.now_ms.saturating_sub(self.started_ms) < WRITABLE_DELAY_MS;
        if new == Health::Ok && writable_delay {
            return;
        }
        if new != self.health {
            self.health = new;
            self.effects.push(Effect::StateChanged { ok });
        }
    }

    /// The one place slot ownership changes: keeps `owned` and `unassigned` in step.
    fn assign(&mut self, slot: u16, owner: Option<NodeId>) {
        let Some(cell) = self.slots.get_mut(slot as usize) else { return };
        let old = std::mem::replace(cell, owner);
        if old == owner {
            return;
        }
        match old {
            Some(prev) => {
                if let Some(o) = self.owned.get_mut(&prev) {
                    o.bitmap.set(slot, false);
                    o.count = o.count.saturating_sub(1);
                    if o.count == 0 {
                        self.owned.remove(&prev);
                    }
                }
            }
            None => self.unassigned = self.unassigned.saturating_sub(1),
        }
        match owner {
            Some(new) => {
                let o = self.owned.entry(new).or_insert_with(|| OwnedSlots { count: 0, bitmap: SlotBitmap::new() });
                o.bitmap.set(slot, true);
                o.count += 1;
            }
            None => self.unassigned += 1,
        }
    }

    /// Takes every slot `node` owns away from it (O(its slots)).
    pub(super) fn unassign_all(&mut self, node: &NodeId) {
        let Some(bitmap) = self.owned.get(node).map(|o| o.bitmap.clone()) else { return };
        for s in bitmap.iter() {
            self.assign(s, None);
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // CLUSTER commands that change the configuration. Errors are Redis's reply texts.

    /// CLUSTER ADDSLOTS / ADDSLOTSRANGE: all or nothing, as Redis checks every slot first.
    pub fn add_slots(&mut self, slots: &[u16]) -> Result<(), String> {
        let mut seen = vec![false; SLOT_COUNT];
        for &s in slots {
            if self.slot_owner(s).is_some() {
                return Err(format!("ERR Slot {s} is already busy"));
            }
            if std::mem::replace(&mut seen[s as usize], true) {
                return Err(format!("ERR Slot {s} specified multiple times"));
            }
        }
        let me = self.myself;
        for &s in slots {
            self.open_slots.retain(|o| !matches!(o, OpenSlot::Importing { slot, .. } if *slot == s));
            self.assign(s, Some(me));
        }
        self.after_slot_change();
        Ok(())
    }

    /// CLUSTER DELSLOTS / DELSLOTSRANGE.
    pub fn del_slots(&mut self, slots: &[u16]) -> Result<(), String> {
        let mut seen = vec![false; SLOT_COUNT];
        for &s in slots {
            if self.slot_owner(s).is_none() {
                return Err(format!("ERR Slot {s} is already unassigned"));
            }
            if std::mem::replace(&mut seen[s as usize], true) {
                return Err(format!("ERR Slot {s} specified multiple times"));
            }
        }
        for &s in slots {
            self.assign(s, None);
        }
        self.after_slot_change();
        Ok(())
    }

    /// CLUSTER FLUSHSLOTS (the caller checked that the database is empty).
    pub fn flush_slots(&mut self) {
        let me = self.myself;
        self.unassign_all(&me);
        self.after_slot_change();
    }

    fn after_slot_change(&mut self) {
        self.update_health();
        self.save(true);
        self.effects.push(Effect::RoutingChanged);
    }

    /// CLUSTER SET-CONFIG-EPOCH: only on a node that knows no other node and has configEpoch 0.
    pub fn set_config_epoch(&mut self, epoch: i64) -> Result<(), String> {
        if epoch < 0 {
            return Err(format!("ERR Invalid config epoch specified: {epoch}"));
        }
        if self.nodes.len() > 1 {
            return Err(
                "ERR The user can assign a config epoch only when the node does not know any other node.".to_string()
            );
        }
        if self.me().config_epoch != 0 {
            return Err("ERR Node config epoch is already non-zero".to_string());
        }
        let epoch = epoch as u64;
        self.me_mut().config_epoch = epoch;
        if self.current_epoch < epoch {
            self.current_epoch = epoch;
        }
        self.save(true);
        Ok(())
    }

    /// `currentEpoch + 1`, taken as the new current epoch; `None` (and nothing changes) once the current epoch
    /// is `u64::MAX` — only a forged header can get it there, and epochs must never wrap.
    pub(super) fn next_epoch(&mut self) -> Option<u64> {
        match self.current_epoch.checked_add(1) {
            Some(epoch) => {
                self.current_epoch = epoch;
                Some(epoch)
            }
            None => {
                tracing::warn!("currentEpoch is at its maximum: not taking a new epoch");
                None
            }
        }
    }

    /// The largest epoch this node knows of (its current epoch or any node's config epoch).
    fn max_epoch(&self) -> u64 {
        self.nodes.values().map(|n| n.config_epoch).max().unwrap_or(0).max(self.current_epoch)
    }

    /// Redis's `clusterBumpConfigEpochWithoutConsensus`: take a new config epoch unless ours is already the
    /// (non-zero) maximum. Returns whether it bumped, and our config epoch.
    pub fn bump_epoch(&mut self) -> (bool, u64) {
        let mine = self.me().config_epoch;
        if mine == 0 || mine != self.max_epoch() {
            let Some(epoch) = self.next_epoch() else { return (false, mine) };
            self.me_mut().config_epoch = epoch;
            tracing::info!("New configEpoch set to {epoch}");
            self.save(true);
            (true, epoch)
        } else {
            (false, mine)
        }
    }

    /// CLUSTER SETSLOT <slot> IMPORTING|MIGRATING <id> | STABLE | NODE <id>. `keys_in_slot` counts our keys in
    /// that slot (moving the keys themselves is MIGRATE's job).
    pub fn set_slot(&mut self, slot: u16, action: SetSlot, keys_in_slot: usize) -> Result<(), String> {
        if self.me().is_replica() {
            return Err("ERR Please use SETSLOT only with masters.".to_string());
        }
        let me = self.myself;
        let target = |s: &ClusterState, id: &NodeId, unknown: &str| -> Result<NodeId, String> {
            let n = s.nodes.get(id).ok_or_else(|| format!("ERR {unknown} {id}"))?;
            if n.is_replica() {
                return Err("ERR Target node is not a master".to_string());
            }
            Ok(n.id)
        };
        let not_slot = |o: &OpenSlot| !matches!(o, OpenSlot::Migrating { slot: s, .. } | OpenSlot::Importing { slot: s, .. } if *s == slot);
        match action {
            SetSlot::Migrating(id) => {
                if self.slot_owner(slot) != Some(me) {
                    return Err(format!("ERR I'm not the owner of hash slot {slot}"));
                }
                let to = target(self, &id, "I don't know about node")?;
                self.open_slots.retain(|o| !matches!(o, OpenSlot::Migrating { slot: s, .. } if *s == slot));
                self.open_slots.push(OpenSlot::Migrating { slot, to });
            }
            SetSlot::Importing(id) => {
                if self.slot_owner(slot) == Some(me) {
                    return Err(format!("ERR I'm already the owner of hash slot {slot}"));
                }
                let from = target(self, &id, "I don't know about node")?;
                self.open_slots.retain(|o| !matches!(o, OpenSlot::Importing { slot: s, .. } if *s == slot));
                self.open_slots.push(OpenSlot::Importing { slot, from });
            }
            SetSlot::Stable => self.open_slots.retain(not_slot),
            SetSlot::Node(id) => {
                let n = target(self, &id, "Unknown node")?;
                if self.slot_owner(slot) == Some(me) && n != me && keys_in_slot != 0 {
                    return Err(format!(
                        "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
                    ));
                }
                if keys_in_slot == 0 {
                    self.open_slots.retain(|o| !matches!(o, OpenSlot::Migrating { slot: s, .. } if *s == slot));
                }
                let importing =
                    self.open_slots.iter().any(|o| matches!(o, OpenSlot::Importing { slot: s, .. } if *s == slot));
                if n == me && importing {
                    // Finishing an import: claim the slot with a new config epoch so the cluster adopts it.
                    self.bump_epoch();
                    self.open_slots.retain(|o| !matches!(o, OpenSlot::Importing { slot: s, .. } if *s == slot));
                }
                self.assign(slot, Some(n));
                self.effects.push(Effect::RoutingChanged);
            }
        }
        self.update_health();
        self.save(true);
        self.effects.push(Effect::RoutingChanged);
        Ok(())
    }

    /// CLUSTER RESET SOFT|HARD: forget every other node and every slot; HARD also zeroes the epochs and takes
    /// a new node id. The caller checked that a primary holds no keys.
    pub fn reset(&mut self, hard: bool) {
        let me = self.myself;
        let others: Vec<NodeId> = self.nodes.keys().copied().filter(|id| *id != me).collect();
        for id in others {
            self.remove_node(&id);
        }
        for s in 0..SLOT_COUNT as u16 {
            self.assign(s, None);
        }
        self.open_slots.clear();
        self.blacklist.clear();
        let node = self.me_mut();
        node.flags = (node.flags & !flags::SLAVE) | flags::MASTER;
        node.primary = None;
        if hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            let mut node = self.nodes.remove(&me).unwrap_or_else(|| Node::new(me, flags::MYSELF | flags::MASTER, 0));
            node.config_epoch = 0;
            node.id = NodeId::random(&mut self.rng);
            node.shard_id = Some(NodeId::random(&mut self.rng));
            self.myself = node.id;
            tracing::info!("Node hard reset, now I'm {}", node.id);
            self.nodes.insert(node.id, node);
        }
        self.update_health();
        self.save(true);
        self.effects.push(Effect::RoutingChanged);
    }

    /// CLUSTER MEET: start a handshake with the node at `ip:port@cport` (it gets a random id until its first
    /// PONG tells us the real one).
    pub fn meet(&mut self, ip: &str, port: u16, cport: u16, now_ms: u64) -> Result<(), String> {
        let exists =
            self.nodes.values().any(|n| n.ip == ip && n.port == port && n.cport == cport && n.has(flags::HANDSHAKE));
        if exists {
            return Ok(());
        }
        self.start_handshake(ip, port, cport, true, now_ms);
        Ok(())
    }

    /// CLUSTER REPLICATE (topology part): become a replica of `primary`. `has_keys`: our database is not
    /// empty (a primary with keys or slots cannot turn into a replica). Data replication comes with the
    /// replication work.
    pub fn replicate(&mut self, primary: &NodeId, has_keys: bool) -> Result<(), String> {
        let Some(target) = self.nodes.get(primary) else {
            return Err(format!("ERR Unknown node {primary}"));
        };
        if *primary == self.myself {
            return Err("ERR Can't replicate myself".to_string());
        }
        if target.is_replica() {
            return Err("ERR I can only replicate a master, not a replica.".to_string());
        }
        let me = self.myself;
        if self.me().is_primary() && (has_keys || self.slot_count_of(&me) > 0) {
            return Err("ERR To set a master the node must be empty and without assigned slots.".to_string());
        }
        let node = self.me_mut();
        node.flags = (node.flags & !flags::MASTER) | flags::SLAVE;
        node.primary = Some(*primary);
        self.open_slots.clear();
        self.update_health();
        self.save(true);
        self.effects.push(Effect::RoutingChanged);
        Ok(())
    }

    /// CLUSTER FORGET: drop a node and ban it for `ttl_ms` so gossip does not bring it back.
    pub fn forget(&mut self, id: &NodeId, now_ms: u64, ttl_ms: u64) -> Result<(), String> {
        if *id == self.myself {
            return Err("ERR I tried hard but I can't forget myself...".to_string());
        }
        if !self.nodes.contains_key(id) {
            return Err(format!("ERR Unknown node {id}"));
        }
        if self.me().primary == Some(*id) {
            return Err("ERR Can't forget my master!".to_string());
        }
        self.remove_node(id);
        self.blacklist.insert(*id, now_ms + ttl_ms);
        self.update_health();
        self.save(true);
        Ok(())
    }

    pub(super) fn remove_node(&mut self, id: &NodeId) {
        self.nodes.remove(id);
        self.unassign_all(id);
        for n in self.nodes.values_mut() {
            n.fail_reports.retain(|r| r.reporter != *id);
        }
        self.effects.push(Effect::RoutingChanged);
    }

    /// The shard id of a node: its own, or its primary's for a replica (a fresh id for nodes not told yet).
    pub fn shard_id_of(&self, id: &NodeId) -> NodeId {
        let node = self.nodes.get(id);
        let primary = node.and_then(|n| n.primary).and_then(|p| self.nodes.get(&p));
        primary.or(node).and_then(|n| n.shard_id).unwrap_or(*id)
    }

    /// The config epoch CLUSTER NODES shows for a node: a replica shows its primary's.
    pub fn shown_epoch(&self, node: &Node) -> u64 {
        node.primary.and_then(|p| self.nodes.get(&p)).map_or(node.config_epoch, |p| p.config_epoch)
    }

    /// The CLUSTER NODES text (also the node lines of nodes.conf).
    pub fn nodes_text(&self) -> String {
        let mut out = String::new();
        let me = self.me();
        out.push_str(&nodes_conf::node_line(me, self.shown_epoch(me), &self.slot_ranges_of(&me.id), &self.open_slots));
        out.push('\n');
        for n in self.nodes.values().filter(|n| !n.is_myself()) {
            let ranges = if n.is_primary() { self.slot_ranges_of(&n.id) } else { Vec::new() };
            out.push_str(&nodes_conf::node_line(n, self.shown_epoch(n), &ranges, &[]));
            out.push('\n');
        }
        out
    }

    /// What nodes.conf must hold now.
    pub fn to_conf(&self) -> NodesConf {
        let mut slots = Vec::new();
        for n in self.nodes.values() {
            for (a, b) in self.slot_ranges_of(&n.id) {
                slots.push((a, b, n.id));
            }
        }
        let mut nodes: Vec<Node> = vec![self.me().clone()];
        nodes.extend(self.nodes.values().filter(|n| !n.is_myself()).cloned());
        NodesConf {
            nodes,
            slots,
            open_slots: self.open_slots.clone(),
            current_epoch: self.current_epoch,
            last_vote_epoch: self.last_vote_epoch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> ClusterState {
        ClusterState::new(7, "127.0.0.1", 7000, 17000, 1_000, Options::default())
    }

    #[test]
    fn a_fresh_node_is_a_slotless_primary_in_fail_state() {
        let s = fresh();
        assert_eq!(s.health, Health::Fail);
        assert_eq!(s.slots_assigned(), 0);
        assert!(s.me().is_primary() && s.me().is_myself());
        let text = s.nodes_text();
        assert!(text.starts_with(&format!("{} 127.0.0.1:7000@17000 myself,master - 0 0 0 connected\n", s.myself)));
    }

    #[test]
    fn add_and_delete_slots_follow_redis_rules() {
        let mut s = fresh();
        assert_eq!(s.add_slots(&[1, 1]), Err("ERR Slot 1 specified multiple times".into()));
        assert_eq!(s.slots_assigned(), 0, "all or nothing");
        let all: Vec<u16> = (0..SLOT_COUNT as u16).collect();
        s.add_slots(&all).unwrap();
        assert_eq!(s.health, Health::Fail, "a primary waits WRITABLE_DELAY_MS after start before serving");
        s.tick(1_000 + WRITABLE_DELAY_MS);
        assert_eq!(s.health, Health::Ok);
        assert!(s.take_effects().contains(&Effect::StateChanged { ok: true }));
        assert_eq!(s.add_slots(&[5]), Err("ERR Slot 5 is already busy".into()));
        s.del_slots(&[5]).unwrap();
        assert_eq!(s.health, Health::Fail);
        assert_eq!(s.del_slots(&[5]), Err("ERR Slot 5 is already unassigned".into()));
        assert_eq!(s.slot_ranges_of(&s.myself), vec![(0, 4), (6, 16383)]);
    }

    #[test]
    fn config_epoch_rules() {
        let mut s = fresh();
        s.set_config_epoch(3).unwrap();
        assert_eq!((s.me().config_epoch, s.current_epoch), (3, 3));
        assert!(s.set_config_epoch(4).is_err(), "only once");
        assert_eq!(s.bump_epoch(), (false, 3), "already the unique maximum");
        s.meet("127.0.0.1", 7001, 17001, 2_000).unwrap();
        assert!(s.set_config_epoch(5).is_err(), "not once another node is known");
    }

    #[test]
    fn epochs_never_wrap() {
        let mut s = fresh();
        s.meet("127.0.0.1", 7001, 17001, 2_000).unwrap();
        let other = *s.nodes.keys().find(|k| **k != s.myself).unwrap();
        s.nodes.get_mut(&other).unwrap().config_epoch = 7;
        s.current_epoch = u64::MAX;
        assert_eq!(s.bump_epoch(), (false, 0), "no epoch left to take");
        assert_eq!(s.current_epoch, u64::MAX);
    }

    #[test]
    fn slot_counts_follow_every_ownership_change() {
        let mut s = fresh();
        let me = s.myself;
        s.add_slots(&(0..100).collect::<Vec<u16>>()).unwrap();
        assert_eq!((s.slots_assigned(), s.slot_count_of(&me), s.voting_primaries()), (100, 100, 1));
        assert_eq!(s.slot_bitmap_of(&me).map(|b| b.count()), Some(100));
        s.del_slots(&[5, 6]).unwrap();
        assert_eq!((s.slots_assigned(), s.slot_count_of(&me)), (98, 98));
        assert_eq!(s.slot_ranges_of(&me), vec![(0, 4), (7, 99)]);
        s.flush_slots();
        assert_eq!((s.slots_assigned(), s.slot_count_of(&me), s.voting_primaries()), (0, 0, 0));
        assert!(s.slot_bitmap_of(&me).is_none());
        let all: Vec<u16> = (0..SLOT_COUNT as u16).collect();
        s.add_slots(&all).unwrap();
        s.tick(1_000 + WRITABLE_DELAY_MS);
        assert_eq!(s.health, Health::Ok);
        s.reset(false);
        assert_eq!((s.slots_assigned(), s.voting_primaries(), s.health), (0, 0, Health::Fail));
    }

    #[test]
    fn state_survives_a_nodes_conf_round_trip() {
        let mut s = fresh();
        s.add_slots(&(0..100).collect::<Vec<u16>>()).unwrap();
        s.set_config_epoch(2).unwrap();
        let text = nodes_conf::render(&s.to_conf());
        let back =
            ClusterState::from_conf(nodes_conf::parse(&text).unwrap().unwrap(), 1, Options::default(), 5).unwrap();
        assert_eq!(back.myself, s.myself);
        assert_eq!(back.me().config_epoch, 2);
        assert_eq!(back.current_epoch, 2);
        assert_eq!(back.slot_ranges_of(&back.myself), vec![(0, 99)]);
    }

    #[test]
    fn forget_rules() {
        let mut s = fresh();
        let me = s.myself;
        assert_eq!(s.forget(&me, 0, 60_000), Err("ERR I tried hard but I can't forget myself...".into()));
        s.meet("127.0.0.1", 7001, 17001, 0).unwrap();
        let other = *s.nodes.keys().find(|k| **k != me).unwrap();
        s.forget(&other, 0, 60_000).unwrap();
        assert!(s.blacklist.contains_key(&other));
        assert_eq!(s.nodes.len(), 1);
    }
}
