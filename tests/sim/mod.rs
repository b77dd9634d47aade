//! A simulated network around the pure cluster state machine (`shoal::cluster::state::ClusterState`).
//!
//! What it decides: how the effects a node queues turn into the inputs other nodes see, the way the real bus
//! driver (`src/cluster/bus.rs` + `handle.rs`) maps them onto sockets — a `Connect` becomes an inbound link on the
//! target and then `link_up` on the connecting node, a `Send` becomes bytes (through the real codec) that reach
//! the other end of that link, a `Disconnect` closes both ends — but on a virtual clock and with faults chosen
//! by a seeded PRNG: delays, drops, duplicates, reordering and partitions. Nothing here reads a clock, a socket
//! or an unseeded random source, and every collection is ordered, so one seed replays one run exactly.
//!
//! Time advances in [`STEP_MS`] steps; every node ticks once per [`TICK_MS`] at its own seeded phase, and may
//! run with a constant clock skew. Each link end keeps a receive buffer framed with `wire::frame_len_limited`
//! as the driver does, so garbage on a link is handled exactly like garbage on a socket: a bad frame closes
//! the link, a well-framed but undecodable packet is dropped.
//!
//! After every step the invariants of [`check::Monitor`] run (epochs never decrease, nobody lists itself
//! twice, ...), and every packet is checked against the persist-before-send rule; a violation panics with the
//! seed and the virtual time so the run can be replayed.

#![allow(dead_code)]

pub mod check;

use std::collections::{BTreeMap, BTreeSet};

use shoal::cluster::node::{flags, NodeId};
use shoal::cluster::state::{ClusterState, Effect, Options};
use shoal::cluster::wire;

/// Virtual time at which every run starts (a realistic unix time in ms, so gossip's u32 seconds are exercised).
pub const START_MS: u64 = 1_700_000_000_000;
/// One simulation step.
pub const STEP_MS: u64 = 10;
/// The cluster cron period (`tick` on every node once per this many virtual ms).
pub const TICK_MS: u64 = 100;
/// Node `i` serves clients on `BASE_PORT + i` and the bus on that plus `CPORT_OFFSET`.
pub const BASE_PORT: u16 = 7000;
pub const CPORT_OFFSET: u16 = 10_000;
pub const IP: &str = "127.0.0.1";
/// More events than this due in one step means something loops without time passing.
const MAX_EVENTS_PER_STEP: usize = 200_000;

/// Network faults, applied to every packet independently.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Per-mille of packets dropped.
    pub drop_per_mille: u32,
    /// Per-mille of packets delivered twice.
    pub dup_per_mille: u32,
    /// Each packet (and each connect / close notification) takes a uniform 0..=max_delay_ms.
    pub max_delay_ms: u64,
    /// Let packets on one link overtake each other (otherwise a link delivers in order, like TCP).
    pub reorder: bool,
}

impl Faults {
    /// In-order delivery with small delays: a healthy LAN.
    pub fn calm() -> Faults {
        Faults { drop_per_mille: 0, dup_per_mille: 0, max_delay_ms: 5, reorder: false }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub nodes: usize,
    pub seed: u64,
    pub options: Options,
    pub faults: Faults,
    /// Each node's clock runs ahead of virtual time by a constant 0..=max_clock_skew_ms.
    pub max_clock_skew_ms: u64,
}

impl Config {
    pub fn new(nodes: usize, seed: u64) -> Config {
        Config {
            nodes,
            seed,
            options: Options { node_timeout_ms: 2000, ..Options::default() },
            faults: Faults::calm(),
            max_clock_skew_ms: 0,
        }
    }
}

/// Counters over a run (also part of the determinism fingerprint).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub malformed: u64,
    pub framing_errors: u64,
    pub connects: u64,
    pub connect_failures: u64,
    pub closes: u64,
    pub saves: u64,
    /// Packets delivered, by message type.
    pub delivered_by_type: BTreeMap<u16, u64>,
}

pub struct SimNode {
    pub state: ClusterState,
    /// Offset inside the 100 ms tick period at which this node ticks.
    pub phase_ms: u64,
    /// Constant amount this node's clock is ahead of virtual time.
    pub skew_ms: u64,
    /// `(current_epoch, own config_epoch)` as of the last `SaveConfig { fsync: true }`.
    persisted: (u64, u64),
}

/// One TCP connection: `out_node` connected to `in_node`. Side 0 is the outbound end, side 1 the inbound end.
struct Conn {
    nodes: [usize; 2],
    links: [u64; 2],
    open: bool,
    /// Delivery time of the last packet queued towards each side (for in-order delivery).
    last_at: [u64; 2],
    /// Bytes received by each side, not yet framed.
    rx: [Vec<u8>; 2],
}

enum Event {
    /// A connection attempt finished (`target` = the node listening on the address, if any).
    ConnectDone { from: usize, node: NodeId, target: Option<usize> },
    /// Bytes arrive at `side` of connection `conn`.
    Deliver { conn: u64, side: usize, bytes: Vec<u8> },
    /// The peer closed the link: this end notices.
    Closed { conn: u64, side: usize },
}

pub struct Sim {
    pub cfg: Config,
    pub nodes: Vec<SimNode>,
    now: u64,
    rng: fastrand::Rng,
    events: BTreeMap<(u64, u64), Event>,
    next_seq: u64,
    next_link: u64,
    conns: BTreeMap<u64, Conn>,
    /// Link id -> connection id (both ends of a connection map to it).
    link_conn: BTreeMap<u64, u64>,
    /// Pairs `(a, b)` with `a < b` that cannot talk.
    cuts: BTreeSet<(usize, usize)>,
    pub stats: NetStats,
    monitor: check::Monitor,
    /// Check persist-before-send and the codec round trip of every packet.
    pub strict: bool,
    /// Run the step invariants of [`check::Monitor`] (off once a test feeds nodes forged packets).
    pub check_invariants: bool,
    /// Print a line per event to stderr (`SHOAL_SIM_TRACE=1`), for replaying a failing seed by eye.
    trace: bool,
    fingerprint: u64,
}

/// splitmix64: derives independent seeds from one.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Sim {
    pub fn new(cfg: Config) -> Sim {
        let mut rng = fastrand::Rng::with_seed(mix(cfg.seed));
        let mut nodes = Vec::with_capacity(cfg.nodes);
        for i in 0..cfg.nodes {
            let port = BASE_PORT + i as u16;
            let skew_ms = if cfg.max_clock_skew_ms > 0 { rng.u64(..=cfg.max_clock_skew_ms) } else { 0 };
            let phase_ms = rng.u64(..TICK_MS / STEP_MS) * STEP_MS;
            let seed = mix(cfg.seed ^ mix(i as u64 + 1));
            let mut state =
                ClusterState::new(seed, IP, port, port + CPORT_OFFSET, START_MS + skew_ms, cfg.options.clone());
            let _ = state.take_effects();
            nodes.push(SimNode { state, phase_ms, skew_ms, persisted: (0, 0) });
        }
        let trace = std::env::var_os("SHOAL_SIM_TRACE").is_some();
        let monitor = check::Monitor::new(nodes.len());
        Sim {
            cfg,
            nodes,
            now: START_MS,
            rng,
            events: BTreeMap::new(),
            next_seq: 0,
            next_link: 0,
            conns: BTreeMap::new(),
            link_conn: BTreeMap::new(),
            cuts: BTreeSet::new(),
            stats: NetStats::default(),
            monitor,
            strict: true,
            check_invariants: true,
            trace,
            fingerprint: 0xcbf2_9ce4_8422_2325,
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Observation

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Virtual time elapsed since the start, in ms.
    pub fn elapsed_ms(&self) -> u64 {
        self.now - START_MS
    }

    pub fn state(&self, i: usize) -> &ClusterState {
        &self.nodes[i].state
    }

    pub fn id(&self, i: usize) -> NodeId {
        self.nodes[i].state.myself
    }

    pub fn index_of(&self, id: &NodeId) -> Option<usize> {
        self.nodes.iter().position(|n| n.state.myself == *id)
    }

    /// `i` knows `j` by its real id (handshake finished).
    pub fn knows(&self, i: usize, j: usize) -> bool {
        self.state(i).nodes.get(&self.id(j)).is_some_and(|n| !n.has(flags::HANDSHAKE))
    }

    /// The flags `i` sees on `j` (None: `i` does not know `j`).
    pub fn flags_seen(&self, i: usize, j: usize) -> Option<u16> {
        self.state(i).nodes.get(&self.id(j)).map(|n| n.flags)
    }

    pub fn seed(&self) -> u64 {
        self.cfg.seed
    }

    /// Every node's CLUSTER NODES text, in node order.
    pub fn all_nodes_text(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.state.nodes_text()).collect()
    }

    /// A hash of everything that happened (events, packet bytes, effects), for replay checks.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    fn note(&mut self, what: std::fmt::Arguments<'_>) {
        if self.trace {
            eprintln!("{:>7} seed {} {}", self.now - START_MS, self.cfg.seed, what);
        }
    }

    fn hash(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.fingerprint = (self.fingerprint ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Panics with what a replay needs.
    #[track_caller]
    pub fn fail(&self, msg: &str) -> ! {
        panic!("cluster sim seed {} at t={} ms: {msg}", self.cfg.seed, self.elapsed_ms())
    }

    // ---------------------------------------------------------------------------------------------------------
    // Administration (what CLUSTER commands do), effects applied like the driver does

    /// The clock node `i` reads.
    pub fn local_now(&self, i: usize) -> u64 {
        self.now + self.nodes[i].skew_ms
    }

    /// Runs `f` on node `i` at its current time, then the effects it queued.
    pub fn with_node<R>(&mut self, i: usize, f: impl FnOnce(&mut ClusterState, u64) -> R) -> R {
        let now = self.local_now(i);
        self.nodes[i].state.set_time(now);
        let r = f(&mut self.nodes[i].state, now);
        self.drain(i);
        r
    }

    /// CLUSTER MEET from `a` to `b`'s address.
    pub fn meet(&mut self, a: usize, b: usize) {
        let port = BASE_PORT + b as u16;
        self.note(format_args!("admin: node {a} MEET node {b}"));
        let r = self.with_node(a, |s, now| s.meet(IP, port, port + CPORT_OFFSET, now));
        if let Err(e) = r {
            self.fail(&format!("MEET failed: {e}"));
        }
    }

    pub fn add_slots(&mut self, i: usize, slots: std::ops::RangeInclusive<u16>) {
        let slots: Vec<u16> = slots.collect();
        self.note(format_args!("admin: node {i} ADDSLOTS {}..={}", slots[0], slots[slots.len() - 1]));
        if let Err(e) = self.with_node(i, |s, _| s.add_slots(&slots)) {
            self.fail(&format!("ADDSLOTS on node {i}: {e}"));
        }
    }

    pub fn set_config_epoch(&mut self, i: usize, epoch: i64) {
        self.note(format_args!("admin: node {i} SET-CONFIG-EPOCH {epoch}"));
        if let Err(e) = self.with_node(i, |s, _| s.set_config_epoch(epoch)) {
            self.fail(&format!("SET-CONFIG-EPOCH on node {i}: {e}"));
        }
    }

    pub fn replicate(&mut self, i: usize, primary: usize) -> Result<(), String> {
        let id = self.id(primary);
        self.note(format_args!("admin: node {i} REPLICATE node {primary}"));
        self.with_node(i, |s, _| s.replicate(&id, false))
    }

    pub fn forget(&mut self, i: usize, j: usize) -> Result<(), String> {
        let id = self.id(j);
        let ttl = self.cfg.options.blacklist_ttl_ms;
        self.note(format_args!("admin: node {i} FORGET node {j}"));
        self.with_node(i, |s, now| s.forget(&id, now, ttl))
    }

    // ---------------------------------------------------------------------------------------------------------
    // Partitions

    fn pair(a: usize, b: usize) -> (usize, usize) {
        (a.min(b), a.max(b))
    }

    pub fn cut(&mut self, a: usize, b: usize) {
        if a != b {
            self.note(format_args!("net: cut {a} <-> {b}"));
            self.cuts.insert(Self::pair(a, b));
        }
    }

    pub fn is_cut(&self, a: usize, b: usize) -> bool {
        a != b && self.cuts.contains(&Self::pair(a, b))
    }

    /// Cuts every pair with one node in `group` and the other outside it.
    pub fn partition(&mut self, group: &[usize]) {
        for &a in group {
            for b in 0..self.len() {
                if !group.contains(&b) {
                    self.cut(a, b);
                }
            }
        }
    }

    /// Cuts node `a` off from everyone.
    pub fn isolate(&mut self, a: usize) {
        self.partition(&[a]);
    }

    pub fn heal(&mut self, a: usize, b: usize) {
        self.note(format_args!("net: heal {a} <-> {b}"));
        self.cuts.remove(&Self::pair(a, b));
    }

    pub fn heal_all(&mut self) {
        self.note(format_args!("net: heal all"));
        self.cuts.clear();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Running

    /// Advances virtual time by one step: ticks the nodes whose phase comes up, delivers what is due, then runs
    /// the invariant checks.
    pub fn step(&mut self) {
        self.now += STEP_MS;
        let offset = (self.now - START_MS) % TICK_MS;
        for i in 0..self.len() {
            if self.nodes[i].phase_ms == offset {
                let now = self.local_now(i);
                self.nodes[i].state.tick(now);
                self.drain(i);
            }
        }
        let mut handled = 0;
        while let Some(entry) = self.events.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let event = entry.remove();
            self.process(event);
            handled += 1;
            if handled > MAX_EVENTS_PER_STEP {
                self.fail("more than MAX_EVENTS_PER_STEP events without time passing (livelock?)");
            }
        }
        if !self.check_invariants {
            return;
        }
        if let Err(e) = self.monitor.after_step(&self.nodes) {
            self.fail(&e);
        }
    }

    pub fn run_for(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.step();
        }
    }

    /// Steps until `done` holds (checked every tick period) or `limit_ms` of virtual time passed.
    pub fn run_until(&mut self, limit_ms: u64, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let end = self.now + limit_ms;
        loop {
            if (self.now - START_MS).is_multiple_of(TICK_MS) && done(self) {
                return true;
            }
            if self.now >= end {
                return done(self);
            }
            self.step();
        }
    }

    /// Like [`Sim::run_until`] with a check that explains itself; panics with the last explanation (and the
    /// seed) if it never passes within `limit_ms`.
    #[track_caller]
    pub fn await_ok(&mut self, limit_ms: u64, what: &str, mut check: impl FnMut(&Sim) -> Result<(), String>) {
        if !self.run_until(limit_ms, |s| check(s).is_ok()) {
            let why = check(self).unwrap_err();
            self.fail(&format!("{what}: not reached within {limit_ms} ms: {why}"));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Effects -> network, as the driver maps them

    fn delay(&mut self) -> u64 {
        match self.cfg.faults.max_delay_ms {
            0 => 0,
            max => self.rng.u64(..=max),
        }
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.next_seq += 1;
        self.events.insert((at, self.next_seq), event);
    }

    /// Runs the effects node `i` queued, in order (effects of effects too).
    fn drain(&mut self, i: usize) {
        for _ in 0..10_000 {
            let effects = self.nodes[i].state.take_effects();
            if effects.is_empty() {
                return;
            }
            for effect in effects {
                self.apply(i, effect);
            }
        }
        self.fail(&format!("node {i} keeps queueing effects"));
    }

    fn apply(&mut self, i: usize, effect: Effect) {
        match effect {
            Effect::SaveConfig { fsync } => {
                self.stats.saves += 1;
                if fsync {
                    let s = &self.nodes[i].state;
                    self.nodes[i].persisted = (s.current_epoch, s.me().config_epoch);
                }
            }
            Effect::StateChanged { ok } => {
                self.note(format_args!("node {i}: cluster state {}", if ok { "ok" } else { "fail" }));
                self.hash(&[0xfe, ok as u8, i as u8]);
            }
            Effect::RoutingChanged | Effect::Deliver { .. } => {}
            Effect::Connect { node, ip, cport } => {
                let target = self.listening_at(&ip, cport);
                self.note(format_args!("node {i}: connect to {node:?} at {ip}:{cport} (node {target:?})"));
                let at = self.now + self.delay();
                self.schedule(at, Event::ConnectDone { from: i, node, target });
            }
            Effect::Send { link, msg } => self.send(i, link, &msg),
            Effect::Disconnect { link } => {
                self.note(format_args!("node {i}: disconnect link {link}"));
                self.close(i, link);
            }
        }
    }

    /// The node whose bus listens at `ip:cport` (an empty ip is the local host, as the driver treats it).
    fn listening_at(&self, ip: &str, cport: u16) -> Option<usize> {
        if !(ip.is_empty() || ip == IP) {
            return None;
        }
        let i = usize::from(cport.checked_sub(BASE_PORT + CPORT_OFFSET)?);
        (i < self.len()).then_some(i)
    }

    fn send(&mut self, i: usize, link: u64, msg: &wire::Message) {
        if self.strict {
            let (cur, cfg) = self.nodes[i].persisted;
            let h = &msg.header;
            if h.current_epoch > cur || (h.replicaof.is_none() && h.config_epoch > cfg) {
                self.fail(&format!(
                    "node {i} sends a {} with currentEpoch {} / configEpoch {} before persisting them (fsync'd: {cur} / {cfg})",
                    wire::msg_type::name(msg.msg_type()),
                    h.current_epoch,
                    h.config_epoch
                ));
            }
        }
        let bytes = match wire::try_encode(msg) {
            Ok(b) => b,
            Err(e) => self.fail(&format!("node {i} queued an unencodable packet: {e}")),
        };
        if self.strict {
            match wire::decode(&bytes) {
                Ok(back) if back == *msg => {}
                Ok(back) => self.fail(&format!("codec round trip changed a packet: {msg:?} -> {back:?}")),
                Err(e) => self.fail(&format!("codec cannot decode its own packet: {e}")),
            }
        }
        self.stats.sent += 1;
        self.hash(&bytes);
        let Some((conn_id, side)) = self.end_of(i, link) else {
            // The driver: sending on a link it no longer holds reports the link down.
            self.nodes[i].state.link_down(link);
            return;
        };
        let peer_side = 1 - side;
        let peer = self.conns[&conn_id].nodes[peer_side];
        self.note(format_args!(
            "node {i} -> node {peer}: {} ({} bytes, link {link})",
            wire::msg_type::name(msg.msg_type()),
            bytes.len()
        ));
        if self.is_cut(i, peer) || self.roll(self.cfg.faults.drop_per_mille) {
            self.note(format_args!("  (lost)"));
            self.stats.dropped += 1;
            return;
        }
        let copies = if self.roll(self.cfg.faults.dup_per_mille) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut at = self.now + self.delay();
            if !self.cfg.faults.reorder {
                let conn = self.conns.get_mut(&conn_id).expect("connection exists");
                at = at.max(conn.last_at[peer_side]);
                conn.last_at[peer_side] = at;
            }
            self.schedule(at, Event::Deliver { conn: conn_id, side: peer_side, bytes: bytes.clone() });
        }
    }

    fn roll(&mut self, per_mille: u32) -> bool {
        per_mille > 0 && self.rng.u32(..1000) < per_mille
    }

    /// The open connection and side that link `link` of node `i` is, if any.
    fn end_of(&self, i: usize, link: u64) -> Option<(u64, usize)> {
        let conn_id = *self.link_conn.get(&link)?;
        let conn = self.conns.get(&conn_id)?;
        let side = conn.links.iter().position(|&l| l == link)?;
        if conn.nodes[side] != i {
            self.fail(&format!("node {i} used link {link}, which belongs to node {}", conn.nodes[side]));
        }
        conn.open.then_some((conn_id, side))
    }

    /// Node `i` closes its link: its state hears link_down now, the peer when the close reaches it.
    fn close(&mut self, i: usize, link: u64) {
        if let Some((conn_id, side)) = self.end_of(i, link) {
            let conn = self.conns.get_mut(&conn_id).expect("connection exists");
            conn.open = false;
            conn.rx = [Vec::new(), Vec::new()];
            self.stats.closes += 1;
            let at = self.now + self.delay();
            self.schedule(at, Event::Closed { conn: conn_id, side: 1 - side });
        }
        self.nodes[i].state.link_down(link);
    }

    fn process(&mut self, event: Event) {
        match event {
            Event::ConnectDone { from, node, target } => {
                let ok = target.is_some_and(|t| !self.is_cut(from, t));
                self.hash(&[0xc0, ok as u8, from as u8]);
                match target.filter(|_| ok) {
                    Some(t) => {
                        self.stats.connects += 1;
                        let (out_link, in_link) = (self.next_link + 1, self.next_link + 2);
                        self.next_link += 2;
                        let conn = Conn {
                            nodes: [from, t],
                            links: [out_link, in_link],
                            open: true,
                            last_at: [0, 0],
                            rx: [Vec::new(), Vec::new()],
                        };
                        self.conns.insert(out_link, conn);
                        self.link_conn.insert(out_link, out_link);
                        self.link_conn.insert(in_link, out_link);
                        self.note(format_args!("node {from} -> node {t}: connected (links {out_link}/{in_link})"));
                        self.with_node(t, |s, _| s.inbound_link(in_link, IP, IP));
                        self.with_node(from, |s, _| s.link_up(out_link, node, IP, IP));
                    }
                    None => {
                        self.stats.connect_failures += 1;
                        self.note(format_args!("node {from}: connect to {node:?} failed"));
                        self.with_node(from, |s, _| s.connect_failed(node));
                    }
                }
            }
            Event::Deliver { conn, side, bytes } => self.deliver(conn, side, bytes),
            Event::Closed { conn, side } => {
                let (node, link) = {
                    let c = &self.conns[&conn];
                    (c.nodes[side], c.links[side])
                };
                self.note(format_args!("node {node}: link {link} closed by the peer"));
                self.with_node(node, |s, _| s.link_down(link));
            }
        }
    }

    fn deliver(&mut self, conn_id: u64, side: usize, bytes: Vec<u8>) {
        let (node, peer, link) = {
            let Some(c) = self.conns.get_mut(&conn_id) else { return };
            if !c.open {
                self.stats.dropped += 1;
                return;
            }
            (c.nodes[side], c.nodes[1 - side], c.links[side])
        };
        if self.is_cut(node, peer) {
            self.stats.dropped += 1;
            return;
        }
        self.conns.get_mut(&conn_id).expect("connection exists").rx[side].extend_from_slice(&bytes);
        loop {
            // Cut the next packet out of the stream, as the driver's reader does.
            let packet = {
                let c = self.conns.get_mut(&conn_id).expect("connection exists");
                if !c.open {
                    return;
                }
                match wire::frame_len_limited(&c.rx[side], wire::DEFAULT_MAX_PACKET_LEN) {
                    Ok(Some(len)) if c.rx[side].len() >= len => c.rx[side].drain(..len).collect::<Vec<u8>>(),
                    Ok(_) => return,
                    Err(e) => {
                        self.stats.framing_errors += 1;
                        self.note(format_args!("node {node}: closing link {link}: {e}"));
                        self.close(node, link);
                        return;
                    }
                }
            };
            match wire::decode(&packet) {
                Ok(msg) => {
                    self.stats.delivered += 1;
                    *self.stats.delivered_by_type.entry(msg.msg_type()).or_default() += 1;
                    self.hash(&[0xd0, node as u8, (link & 0xff) as u8]);
                    self.with_node(node, |s, _| s.handle_packet(link, msg));
                }
                Err(e) => {
                    self.stats.malformed += 1;
                    self.note(format_args!("node {node}: dropping a malformed packet on link {link}: {e}"));
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Fault injection below the codec

    /// Puts raw bytes on the wire of an open connection from `from` to `to` (as if `from` had written them),
    /// delivered at the next step. Returns false when there is no such open connection.
    pub fn inject_raw(&mut self, from: usize, to: usize, bytes: Vec<u8>) -> bool {
        let found =
            self.conns.iter().find(|(_, c)| c.open && c.nodes[0] == from && c.nodes[1] == to).map(|(id, _)| *id);
        let found = found.map(|id| (id, 1)).or_else(|| {
            let id =
                self.conns.iter().find(|(_, c)| c.open && c.nodes[1] == from && c.nodes[0] == to).map(|(id, _)| *id);
            id.map(|id| (id, 0))
        });
        let Some((conn, side)) = found else { return false };
        let at = self.now;
        self.schedule(at, Event::Deliver { conn, side, bytes });
        true
    }

    /// The link ids `(at from, at to)` of an open connection between the two nodes, if any.
    pub fn open_link(&self, from: usize, to: usize) -> Option<(u64, u64)> {
        self.conns.values().find(|c| c.open && c.nodes == [from, to]).map(|c| (c.links[0], c.links[1]))
    }

    /// Hands a decoded message straight to node `i` on its link `link` (bypassing the wire).
    pub fn handle_on(&mut self, i: usize, link: u64, msg: wire::Message) {
        self.with_node(i, |s, _| s.handle_packet(link, msg));
    }
}
