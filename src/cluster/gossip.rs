//! The gossip half of the cluster state machine (Redis's `clusterProcessPacket` and `clusterCron`): links,
//! MEET handshakes, PING/PONG heartbeats with gossip sections, address and role learning, slot ownership by
//! config epoch with UPDATE messages to stale nodes, config-epoch collision resolution, PFAIL marking and
//! failure reports, FAIL messages and cluster-wide PUBLISH. Still pure: packets and ticks in, effects out.
//! Promotion of PFAIL to FAIL and replica elections come with the failover work.

use super::node::{flags, FailReport, Node, NodeId};
use super::state::{ClusterState, Effect, Health};
use super::wire::{self, mflags, Body, GossipEntry, Header, Message, NetIp, PingBody, PingExt, SlotBitmap, WireState};

/// What the state knows about a link the driver holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkMeta {
    /// The node an outbound link was opened to (inbound links learn it from packets but keep `None`).
    pub node: Option<NodeId>,
    pub inbound: bool,
    /// Our address on this connection (how we learn our own IP from a MEET).
    pub local_ip: String,
    /// The peer's address (used when the sender does not announce one).
    pub peer_ip: String,
}

/// Per-type message counters (CLUSTER INFO `cluster_stats_messages_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageStats {
    pub sent: [u64; 11],
    pub received: [u64; 11],
}

pub const STAT_NAMES: [&str; 11] =
    ["ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update", "mfstart", "module", "publishshard"];

fn stat_index(t: u16) -> Option<usize> {
    usize::from(t).checked_sub(0).filter(|&i| i < 11)
}

fn secs(ms: u64) -> u32 {
    u32::try_from(ms / 1000).unwrap_or(u32::MAX)
}

impl ClusterState {
    /// Adds a node in handshake (random id until its first PONG) and asks the driver to connect.
    pub fn start_handshake(&mut self, ip: &str, port: u16, cport: u16, meet: bool, now_ms: u64) {
        let busy =
            self.nodes.values().any(|n| n.has(flags::HANDSHAKE) && n.ip == ip && n.port == port && n.cport == cport);
        if busy {
            return;
        }
        let id = NodeId::random(self.rng());
        let mut node = Node::new(id, flags::HANDSHAKE | if meet { flags::MEET } else { 0 }, now_ms);
        node.ip = ip.to_string();
        node.port = port;
        node.cport = cport;
        self.nodes.insert(id, node);
        self.request_connect(id);
    }

    fn request_connect(&mut self, id: NodeId) {
        let Some(node) = self.nodes.get_mut(&id) else { return };
        if node.is_myself() || node.outbound_link.is_some() || node.connecting || node.has(flags::NOADDR) {
            return;
        }
        node.connecting = true;
        let (ip, cport) = (node.ip.clone(), node.cport);
        self.push(Effect::Connect { node: id, ip, cport });
    }

    /// The driver connected the outbound link to `node`: greet it with MEET (for a handshake we were asked
    /// to start) or PING.
    pub fn link_up(&mut self, link: u64, node: NodeId, local_ip: &str, peer_ip: &str) {
        let now = self.now();
        let Some(n) = self.nodes.get_mut(&node) else {
            self.push(Effect::Disconnect { link });
            return;
        };
        n.connecting = false;
        n.outbound_link = Some(link);
        n.link_connected = true;
        let meet = n.has(flags::MEET);
        n.flags &= !flags::MEET;
        if n.ping_sent_ms == 0 {
            n.ping_sent_ms = now;
        }
        self.links.insert(
            link,
            LinkMeta { node: Some(node), inbound: false, local_ip: local_ip.into(), peer_ip: peer_ip.into() },
        );
        let kind = if meet { wire::msg_type::MEET } else { wire::msg_type::PING };
        self.send_ping(link, kind, Some(node));
    }

    /// An outbound connection attempt failed; the cron retries it.
    pub fn connect_failed(&mut self, node: NodeId) {
        if let Some(n) = self.nodes.get_mut(&node) {
            n.connecting = false;
        }
    }

    /// A peer connected to our bus port.
    pub fn inbound_link(&mut self, link: u64, peer_ip: &str, local_ip: &str) {
        self.links
            .insert(link, LinkMeta { node: None, inbound: true, local_ip: local_ip.into(), peer_ip: peer_ip.into() });
    }

    /// A link closed (either side).
    pub fn link_down(&mut self, link: u64) {
        if let Some(meta) = self.links.remove(&link) {
            if let Some(n) = meta.node.and_then(|id| self.nodes.get_mut(&id)) {
                if n.outbound_link == Some(link) {
                    n.outbound_link = None;
                    n.link_connected = false;
                }
            }
        }
    }

    /// The slots our header claims: ours, or our primary's for a replica (a copy of the kept bitmap).
    fn my_slots_bitmap(&self) -> SlotBitmap {
        let owner = self.me().primary.unwrap_or(self.myself);
        self.slot_bitmap_of(&owner).cloned().unwrap_or_default()
    }

    /// The header every packet we send carries (Redis's `clusterBuildMessageHdr`).
    pub fn header(&self) -> Header {
        let me = self.me();
        let primary = me.primary.and_then(|p| self.nodes.get(&p));
        Header {
            port: me.port,
            current_epoch: self.current_epoch,
            config_epoch: primary.map_or(me.config_epoch, |p| p.config_epoch),
            offset: 0,
            sender: me.id.to_wire(),
            myslots: self.my_slots_bitmap(),
            replicaof: me.primary.map(NodeId::to_wire),
            myip: NetIp::new(self.options.announce_ip.as_bytes()).unwrap_or(NetIp::EMPTY),
            pport: 0,
            cport: me.cport,
            flags: me.flags,
            state: if self.health == Health::Ok { WireState::Ok } else { WireState::Fail },
            mflags: [0; 3],
        }
    }

    fn gossip_entry(n: &Node) -> GossipEntry {
        GossipEntry {
            nodename: n.id.to_wire(),
            ping_sent_secs: secs(n.ping_sent_ms),
            pong_received_secs: secs(n.pong_received_ms),
            ip: NetIp::new(n.ip.as_bytes()).unwrap_or(NetIp::EMPTY),
            port: n.port,
            cport: n.cport,
            flags: n.flags,
            pport: n.pport,
        }
    }

    /// Sends PING, PONG or MEET with a gossip section: max(3, N/10) random healthy nodes plus every node we
    /// believe PFAIL (so failure reports spread), as `clusterSendPing` chooses them.
    pub(super) fn send_ping(&mut self, link: u64, kind: u16, receiver: Option<NodeId>) {
        let me = self.myself;
        let candidates: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| {
                n.id != me
                    && Some(n.id) != receiver
                    && !n.has(flags::HANDSHAKE | flags::NOADDR)
                    && !n.has(flags::PFAIL)
                    && (n.link_connected || self.slot_count_of(&n.id) > 0 || n.is_replica())
            })
            .map(|n| n.id)
            .collect();
        let wanted = (self.nodes.len().saturating_sub(2) / 10).max(3).min(candidates.len());
        // A random `wanted` of them: the first steps of a Fisher-Yates shuffle (O(wanted), not O(nodes)).
        let mut chosen = candidates;
        for i in 0..wanted {
            let j = self.rng().usize(i..chosen.len());
            chosen.swap(i, j);
        }
        chosen.truncate(wanted);
        // As `clusterSendPing`: every PFAIL node too, except handshakes and nodes without an address.
        let pfail: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| n.has(flags::PFAIL) && !n.has(flags::HANDSHAKE | flags::NOADDR) && n.id != me)
            .map(|n| n.id)
            .collect();
        chosen.extend(pfail);
        let gossip = chosen.iter().filter_map(|id| self.nodes.get(id)).map(Self::gossip_entry).collect();
        let mut extensions = Vec::new();
        let mut header = self.header();
        if !self.options.announce_hostname.is_empty() {
            // As Redis 7.0: the hostname goes to every peer.
            extensions.push(PingExt::Hostname(self.options.announce_hostname.as_bytes().to_vec()));
        }
        // The 7.2 extensions only to peers that announce support (a 7.0 node would log every unknown one).
        let supports = receiver.and_then(|r| self.nodes.get(&r)).is_some_and(|n| n.has(flags::EXTENSIONS_SUPPORTED));
        if supports {
            extensions.push(PingExt::ShardId(self.shard_id_of(&me).to_wire()));
            let now = self.now();
            for (id, until) in &self.blacklist {
                extensions
                    .push(PingExt::ForgottenNode { name: id.to_wire(), ttl_secs: until.saturating_sub(now) / 1000 });
            }
        }
        if !extensions.is_empty() {
            header.mflags[0] |= mflags::EXT_DATA;
        }
        let body = PingBody { gossip, extensions };
        let body = match kind {
            wire::msg_type::PONG => Body::Pong(body),
            wire::msg_type::MEET => Body::Meet(body),
            _ => Body::Ping(body),
        };
        self.send(link, Message { header, body });
    }

    fn send(&mut self, link: u64, msg: Message) {
        if let Some(i) = stat_index(msg.msg_type()) {
            self.stats.sent[i] += 1;
        }
        self.push(Effect::Send { link, msg: Box::new(msg) });
    }

    /// Handles one packet that arrived on `link`.
    pub fn handle_packet(&mut self, link: u64, msg: Message) {
        let now = self.now();
        if let Some(i) = stat_index(msg.msg_type()) {
            self.stats.received[i] += 1;
        }
        let Some(meta) = self.links.get(&link).cloned() else { return };
        let hdr = &msg.header;
        let sender_id = NodeId::from_wire(&hdr.sender);
        let sender = sender_id.filter(|id| self.nodes.get(id).is_some_and(|n| !n.has(flags::HANDSHAKE)));
        if let Some(id) = sender {
            self.absorb_header_epochs(id, hdr);
        }
        let kind = msg.msg_type();
        match &msg.body {
            Body::Ping(body) | Body::Meet(body) | Body::Pong(body) => {
                self.handle_ping_family(link, &meta, kind, &msg.header, sender, body)
            }
            Body::Fail { nodename } => {
                if sender.is_some() {
                    if let Some(id) = NodeId::from_wire(nodename) {
                        if let Some(n) = self.nodes.get_mut(&id).filter(|n| !n.is_myself() && !n.has(flags::FAIL)) {
                            n.flags = (n.flags | flags::FAIL) & !flags::PFAIL;
                            n.fail_time_ms = now;
                            tracing::info!("FAIL message received about {id}");
                            self.update_health();
                            self.save(true);
                        }
                    }
                }
            }
            Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
                if sender.is_some() {
                    let shard = kind == wire::msg_type::PUBLISHSHARD;
                    self.push(Effect::Deliver { channel: channel.clone(), message: message.clone(), shard });
                }
            }
            Body::Update { config_epoch, nodename, slots } => {
                let Some(id) = NodeId::from_wire(nodename) else { return };
                if sender.is_none() {
                    return;
                }
                let stale = self.nodes.get(&id).is_some_and(|n| n.config_epoch < *config_epoch);
                if stale {
                    if let Some(n) = self.nodes.get_mut(&id) {
                        n.config_epoch = *config_epoch;
                    }
                    self.update_slots_from(id, *config_epoch, slots);
                }
            }
            // Elections and manual failover arrive with the failover work; the messages are decoded and counted.
            Body::FailoverAuthRequest | Body::FailoverAuthAck | Body::MfStart => {}
            Body::Module { .. } | Body::Unknown { .. } => {}
        }
    }

    /// A known sender's header: merge its currentEpoch into ours, take a newer configEpoch of a primary, and
    /// note that it is alive (the top of Redis's `clusterProcessPacket`).
    fn absorb_header_epochs(&mut self, id: NodeId, hdr: &Header) {
        let now = self.now();
        if hdr.current_epoch > self.current_epoch {
            self.current_epoch = hdr.current_epoch;
            self.save(true);
        }
        if let Some(n) = self.nodes.get_mut(&id) {
            n.data_received_ms = now;
            if hdr.config_epoch > n.config_epoch && hdr.replicaof.is_none() {
                n.config_epoch = hdr.config_epoch;
                self.save(true);
            }
        }
    }

    fn handle_ping_family(
        &mut self,
        link: u64,
        meta: &LinkMeta,
        kind: u16,
        hdr: &Header,
        sender: Option<NodeId>,
        body: &PingBody,
    ) {
        let now = self.now();
        let sender_id = NodeId::from_wire(&hdr.sender);
        let announced_ip = hdr.myip.to_string_lossy();
        let peer_ip = if announced_ip.is_empty() { meta.peer_ip.clone() } else { announced_ip };

        // Learn our own address from the first MEET (or PING while we still have none).
        if meta.inbound
            && (kind == wire::msg_type::MEET || self.me().ip.is_empty())
            && self.options.announce_ip.is_empty()
        {
            let local = meta.local_ip.clone();
            if !local.is_empty() && self.me().ip != local {
                self.me_mut().ip = local;
                self.save(false);
            }
        }
        // A MEET from a node we do not know: add it (handshake), as only an administrator's MEET may.
        if kind == wire::msg_type::MEET && sender.is_none() && meta.inbound {
            if let Some(id) = sender_id {
                if !self.blacklist.contains_key(&id) {
                    self.start_handshake(&peer_ip, hdr.port, hdr.cport, false, now);
                }
            }
        }
        if (kind == wire::msg_type::PING || kind == wire::msg_type::MEET) && meta.inbound {
            self.send_ping(link, wire::msg_type::PONG, sender);
        }
        // Replies on our outbound link: finish a handshake, or check the peer kept its id.
        if !meta.inbound
            && (kind == wire::msg_type::PONG || kind == wire::msg_type::PING || kind == wire::msg_type::MEET)
        {
            if let Some(link_node) = meta.node {
                let in_handshake = self.nodes.get(&link_node).is_some_and(|n| n.has(flags::HANDSHAKE));
                if in_handshake {
                    match sender_id {
                        Some(real) if self.nodes.contains_key(&real) => {
                            // We already know this node under its real id: the handshake entry was a duplicate.
                            self.remove_node(&link_node);
                            self.push(Effect::Disconnect { link });
                            return;
                        }
                        Some(real) => self.rename_handshake(link_node, real, link, hdr),
                        None => return,
                    }
                } else if sender_id != Some(link_node) {
                    tracing::debug!("PONG contains mismatching sender ID; dropping the link");
                    if let Some(n) = self.nodes.get_mut(&link_node) {
                        n.flags |= flags::NOADDR;
                        n.ip.clear();
                        (n.port, n.pport, n.cport) = (0, 0, 0);
                    }
                    self.save(false);
                    self.push(Effect::Disconnect { link });
                    return;
                }
            }
        }
        let Some(sender_id) = sender_id else { return };
        let known = self.nodes.get(&sender_id).is_some_and(|n| !n.has(flags::HANDSHAKE));
        if !known {
            return;
        }
        // PONG on our link: the node is alive.
        if kind == wire::msg_type::PONG && !meta.inbound {
            let slotless = self.slot_count_of(&sender_id) == 0;
            if let Some(n) = self.nodes.get_mut(&sender_id) {
                n.pong_received_ms = now;
                n.ping_sent_ms = 0;
                if n.has(flags::PFAIL) {
                    n.flags &= !flags::PFAIL;
                } else if n.has(flags::FAIL) && (n.is_replica() || slotless) {
                    n.flags &= !flags::FAIL;
                    tracing::info!("Clear FAIL state for node {sender_id}: it is reachable again.");
                }
                if n.ip != peer_ip || n.port != hdr.port || n.cport != hdr.cport {
                    n.ip = peer_ip.clone();
                    n.port = hdr.port;
                    n.cport = hdr.cport;
                    self.save(false);
                }
            }
        }
        self.update_role(sender_id, hdr);
        self.apply_extensions(sender_id, hdr, &body.extensions);
        if hdr.replicaof.is_none() {
            self.check_slot_claims(sender_id, hdr, link);
        }
        self.process_gossip(sender_id, &body.gossip);
        self.update_health();
    }

    /// Ping extensions: hostname, shard id, and nodes the sender forgot (we forget them too, for the TTL).
    fn apply_extensions(&mut self, sender: NodeId, hdr: &Header, extensions: &[PingExt]) {
        let now = self.now();
        let mut forget = Vec::new();
        if let Some(n) = self.nodes.get_mut(&sender) {
            n.flags = (n.flags & !flags::EXTENSIONS_SUPPORTED) | (hdr.flags & flags::EXTENSIONS_SUPPORTED);
            for ext in extensions {
                match ext {
                    PingExt::Hostname(h) => {
                        let h = String::from_utf8_lossy(h).into_owned();
                        if n.hostname != h {
                            n.hostname = h;
                        }
                    }
                    PingExt::ShardId(id) => n.shard_id = NodeId::from_wire(id),
                    PingExt::ForgottenNode { name, ttl_secs } => {
                        if let Some(id) = NodeId::from_wire(name) {
                            forget.push((id, *ttl_secs));
                        }
                    }
                    PingExt::HumanNodename(_) | PingExt::Unknown { .. } => {}
                }
            }
        }
        for (id, ttl_secs) in forget {
            if id != self.myself && id != sender && self.nodes.contains_key(&id) && self.me().primary != Some(id) {
                tracing::info!("Node {id} was forgotten by {sender}: forgetting it for {ttl_secs} s");
                self.remove_node(&id);
                self.blacklist.insert(id, now.saturating_add(ttl_secs.saturating_mul(1000)));
                self.save(false);
            }
        }
    }

    fn rename_handshake(&mut self, old: NodeId, real: NodeId, link: u64, hdr: &Header) {
        let Some(mut node) = self.nodes.remove(&old) else { return };
        node.id = real;
        node.flags &= !(flags::HANDSHAKE | flags::MEET);
        node.flags |= hdr.flags & (flags::MASTER | flags::SLAVE);
        self.nodes.insert(real, node);
        if let Some(meta) = self.links.get_mut(&link) {
            meta.node = Some(real);
        }
        tracing::info!("Handshake with node {real} completed.");
        self.save(false);
        // From here on the node is known: its header's epochs count as any known node's do (before its slot
        // claims are applied, so they are recorded at the config epoch they were claimed with).
        self.absorb_header_epochs(real, hdr);
    }

    /// Primary/replica role and primary pointer as the sender's header claims them.
    fn update_role(&mut self, id: NodeId, hdr: &Header) {
        let primary = hdr.replicaof.as_ref().and_then(NodeId::from_wire);
        let Some(n) = self.nodes.get_mut(&id) else { return };
        let changed = match primary {
            None => {
                let was = n.is_replica();
                n.flags = (n.flags & !flags::SLAVE) | flags::MASTER;
                n.primary = None;
                was
            }
            Some(p) => {
                let was = n.primary != Some(p) || !n.is_replica();
                n.flags = (n.flags & !flags::MASTER) | flags::SLAVE;
                n.primary = Some(p);
                was
            }
        };
        n.flags = (n.flags & !flags::NOFAILOVER) | (hdr.flags & flags::NOFAILOVER);
        if changed {
            if primary.is_some() {
                // A node that became a replica owns no slots any more.
                self.unassign_all(&id);
                self.push(Effect::RoutingChanged);
            }
            self.save(false);
        }
    }

    /// A primary's header claims slots: apply them by config epoch, answer a stale claim with UPDATE, and
    /// resolve equal config epochs.
    fn check_slot_claims(&mut self, sender: NodeId, hdr: &Header, link: u64) {
        // As Redis (`dirty_slots`): a claim identical to what we already map to the sender changes nothing
        // and contradicts no one — one 2 KB comparison instead of a walk over the claimed slots.
        let unchanged = match self.slot_bitmap_of(&sender) {
            Some(mine) => *mine == hdr.myslots,
            None => hdr.myslots.is_empty(),
        };
        if !unchanged {
            self.update_slots_from(sender, hdr.config_epoch, &hdr.myslots);
            // Does it claim a slot that a node with a greater config epoch owns? Tell it (UPDATE).
            let mut stale_owner: Option<NodeId> = None;
            for s in hdr.myslots.iter() {
                if let Some(owner) = self.slot_owner(s) {
                    if owner != sender {
                        let owner_epoch = self.nodes.get(&owner).map_or(0, |n| n.config_epoch);
                        if owner_epoch > hdr.config_epoch {
                            stale_owner = Some(owner);
                            break;
                        }
                    }
                }
            }
            if let Some(owner) = stale_owner {
                if let Some(n) = self.nodes.get(&owner) {
                    let slots = self.slot_bitmap_of(&owner).cloned().unwrap_or_default();
                    let body = Body::Update { config_epoch: n.config_epoch, nodename: owner.to_wire(), slots };
                    let msg = Message { header: self.header(), body };
                    self.send(link, msg);
                }
            }
        }
        // Equal config epochs between two primaries: the smaller id takes a new epoch (eventually unique).
        let me = self.me();
        if me.is_primary() && hdr.config_epoch == me.config_epoch && sender < self.myself {
            // The sender has the smaller id: it is the one that bumps. Nothing to do here.
        } else if me.is_primary() && hdr.config_epoch == me.config_epoch && self.myself < sender {
            // Never wraps: at u64::MAX (a forged header) the collision stays unresolved rather than going back.
            let Some(epoch) = self.next_epoch() else { return };
            self.me_mut().config_epoch = epoch;
            self.save(true);
            tracing::info!("WARNING: configEpoch collision with node {sender}. configEpoch set to {epoch}");
        }
    }

    /// Redis's `clusterUpdateSlotsConfigWith`: take every claimed slot that is unowned or owned with a smaller
    /// config epoch (never a slot we are importing).
    pub(super) fn update_slots_from(&mut self, sender: NodeId, config_epoch: u64, slots: &SlotBitmap) {
        if sender == self.myself {
            return;
        }
        let mut changed = false;
        for s in slots.iter() {
            if self
                .open_slots
                .iter()
                .any(|o| matches!(o, super::nodes_conf::OpenSlot::Importing { slot, .. } if *slot == s))
            {
                continue;
            }
            match self.slot_owner(s) {
                Some(owner) if owner == sender => {}
                Some(owner) => {
                    let owner_epoch = self.nodes.get(&owner).map_or(0, |n| n.config_epoch);
                    if owner_epoch < config_epoch {
                        self.set_slot_owner(s, Some(sender));
                        changed = true;
                    }
                }
                None => {
                    self.set_slot_owner(s, Some(sender));
                    changed = true;
                }
            }
        }
        if changed {
            self.push(Effect::RoutingChanged);
            self.save(true);
        }
    }

    /// Gossip entries (Redis 7.0's `clusterProcessGossipSection`): carry failure reports from voting primaries,
    /// take fresher pong times, follow a failing node's new address, and learn new nodes — only through a known
    /// sender, and under their gossiped id (never by a handshake with the gossiped address: that address may
    /// belong to another cluster's node by now; if it answers with another id it is marked NOADDR).
    fn process_gossip(&mut self, sender: NodeId, gossip: &[GossipEntry]) {
        let now = self.now();
        let sender_votes = self.nodes.get(&sender).is_some_and(|n| n.is_primary()) && self.slot_count_of(&sender) > 0;
        for g in gossip {
            let Some(id) = NodeId::from_wire(&g.nodename) else { continue };
            if id == self.myself {
                continue;
            }
            if let Some(n) = self.nodes.get_mut(&id) {
                if sender_votes {
                    if g.flags & (flags::PFAIL | flags::FAIL) != 0 {
                        match n.fail_reports.iter_mut().find(|r| r.reporter == sender) {
                            Some(r) => r.time_ms = now,
                            None => n.fail_reports.push(FailReport { reporter: sender, time_ms: now }),
                        }
                    } else {
                        n.fail_reports.retain(|r| r.reporter != sender);
                    }
                }
                let pong_ms = u64::from(g.pong_received_secs) * 1000;
                if g.flags & (flags::PFAIL | flags::FAIL) == 0
                    && n.ping_sent_ms == 0
                    && n.fail_reports.is_empty()
                    && pong_ms > n.pong_received_ms
                    && pong_ms <= now + 500
                {
                    n.pong_received_ms = pong_ms;
                }
                // We cannot reach it, but the sender can, at another address: use that one.
                let ip = g.ip.to_string_lossy();
                let gossip_ok = g.flags & (flags::NOADDR | flags::PFAIL | flags::FAIL) == 0 && !ip.is_empty();
                if n.is_failing()
                    && !n.has(flags::HANDSHAKE)
                    && gossip_ok
                    && (n.ip != ip || n.port != g.port || n.cport != g.cport)
                {
                    let link = n.outbound_link.take();
                    n.link_connected = false;
                    n.ip = ip;
                    n.port = g.port;
                    n.pport = g.pport;
                    n.cport = g.cport;
                    n.flags &= !flags::NOADDR;
                    tracing::info!("Address of node {id} updated from gossip");
                    if let Some(link) = link {
                        self.push(Effect::Disconnect { link });
                        self.link_down(link);
                    }
                    self.save(false);
                }
                continue;
            }
            let ip = g.ip.to_string_lossy();
            if g.flags & flags::NOADDR != 0 || ip.is_empty() || self.blacklist.contains_key(&id) {
                continue;
            }
            // The role comes from the gossip; failure flags and our-side flags (myself, handshake, meet) never
            // do: the node gets its own PING, and its header tells the rest.
            let role = g.flags & (flags::MASTER | flags::SLAVE | flags::NOFAILOVER);
            let mut node = Node::new(id, role, now);
            node.ip = ip;
            node.port = g.port;
            node.pport = g.pport;
            node.cport = g.cport;
            tracing::debug!("Node {id} learned from {sender}'s gossip");
            self.nodes.insert(id, node);
            self.request_connect(id);
            self.save(false);
        }
    }

    /// The 100 ms cron: handshake timeouts, reconnects, heartbeats, PFAIL, link health, expiries.
    pub(super) fn cron(&mut self) {
        let now = self.now();
        self.ticks += 1;
        let timeout = self.options.node_timeout_ms;
        let handshake_timeout = timeout.max(1000);
        self.blacklist.retain(|_, until| *until > now);
        let expired: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| n.has(flags::HANDSHAKE) && now.saturating_sub(n.created_ms) > handshake_timeout)
            .map(|n| n.id)
            .collect();
        for id in expired {
            tracing::debug!("Handshake with node {id} timed out");
            if let Some(link) = self.nodes.get(&id).and_then(|n| n.outbound_link) {
                self.push(Effect::Disconnect { link });
                self.links.remove(&link);
            }
            self.nodes.remove(&id);
        }
        // One pass over the table (no lookup per node): reconnect what has no link, expire old failure reports.
        let mut connects = Vec::new();
        for n in self.nodes.values_mut() {
            if n.is_myself() {
                continue;
            }
            n.fail_reports.retain(|r| now.saturating_sub(r.time_ms) <= timeout.saturating_mul(2));
            if n.outbound_link.is_none() && !n.connecting && !n.has(flags::NOADDR) {
                n.connecting = true;
                connects.push(Effect::Connect { node: n.id, ip: n.ip.clone(), cport: n.cport });
            }
        }
        for effect in connects {
            self.push(effect);
        }
        // Once a second: ping the node among five random ones whose PONG is the oldest.
        if self.ticks.is_multiple_of(10) {
            let me = self.myself;
            let ids: Vec<NodeId> = self.nodes.keys().copied().filter(|id| *id != me).collect();
            let mut best: Option<(u64, NodeId)> = None;
            for _ in 0..5 {
                if ids.is_empty() {
                    break;
                }
                let id = ids[self.rng().usize(..ids.len())];
                let Some(n) = self.nodes.get(&id) else { continue };
                if n.outbound_link.is_none() || n.ping_sent_ms != 0 || n.has(flags::HANDSHAKE) {
                    continue;
                }
                if best.is_none_or(|(pong, _)| n.pong_received_ms < pong) {
                    best = Some((n.pong_received_ms, id));
                }
            }
            if let Some((_, id)) = best {
                self.ping_node(id);
            }
        }
        // Link health, heartbeats and PFAIL, again in one pass; what it decides is done after.
        let (mut stuck, mut to_ping, mut changed) = (Vec::new(), Vec::new(), false);
        for n in self.nodes.values_mut() {
            if n.is_myself() || n.has(flags::HANDSHAKE) {
                continue;
            }
            let (ping_sent, pong, data) = (n.ping_sent_ms, n.pong_received_ms, n.data_received_ms);
            let waited = now.saturating_sub(ping_sent);
            match n.outbound_link {
                // No answer for half the timeout and nothing else heard: the link may be stuck; reconnect.
                Some(link) if ping_sent != 0 && waited > timeout / 2 && now.saturating_sub(data) > timeout / 2 => {
                    stuck.push(link)
                }
                // Keep every node pinged at least every node_timeout/2.
                Some(_) if ping_sent == 0 && now.saturating_sub(pong) > timeout / 2 => to_ping.push(n.id),
                _ => {}
            }
            if ping_sent != 0 && waited > timeout && !n.has(flags::PFAIL | flags::FAIL) {
                n.flags |= flags::PFAIL;
                tracing::info!("*** NODE {} possibly failing", n.id);
                changed = true;
            }
        }
        for link in stuck {
            self.push(Effect::Disconnect { link });
            self.link_down(link);
        }
        for id in to_ping {
            self.ping_node(id);
        }
        if changed {
            self.update_health();
        }
    }

    fn ping_node(&mut self, id: NodeId) {
        let now = self.now();
        let Some(n) = self.nodes.get_mut(&id) else { return };
        let Some(link) = n.outbound_link else { return };
        if n.ping_sent_ms == 0 {
            n.ping_sent_ms = now;
        }
        self.send_ping(link, wire::msg_type::PING, Some(id));
    }

    /// A cluster-wide PUBLISH from a local client: sent to every connected node.
    pub fn broadcast_publish(&mut self, channel: &[u8], message: &[u8]) {
        let links: Vec<u64> = self.nodes.values().filter(|n| !n.is_myself()).filter_map(|n| n.outbound_link).collect();
        for link in links {
            let body = Body::Publish { channel: channel.to_vec(), message: message.to_vec() };
            let msg = Message { header: self.header(), body };
            self.send(link, msg);
        }
    }
}
