//! The cluster state machine at 100 and 1000 nodes: one node's cron `tick`, and its handling of one PING that
//! carries a full gossip section (`max(3, N/10)` entries, as `clusterSendPing` sizes it).
//!
//! The measured node's view is built the way a real node builds it: for every peer, a MEET handshake (`meet`,
//! `link_up`) completed by a synthetic PONG carrying that peer's header (half the nodes are primaries with a
//! share of the slots and distinct config epochs, half are their replicas). Links stay up; during the tick
//! benchmark every PING the node sends is answered with the peer's PONG (outside the timed section), so each
//! timed tick sees the steady state of a healthy cluster.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use shoal::cluster::node::{flags, NodeId};
use shoal::cluster::state::{ClusterState, Effect, Options};
use shoal::cluster::wire::{self, Body, GossipEntry, Header, Message, NetIp, PingBody, SlotBitmap, WireState};

const IP: &str = "127.0.0.1";
const START_MS: u64 = 1_700_000_000_000;

struct Peer {
    id: NodeId,
    header: Header,
    port: u16,
    cport: u16,
    flags: u16,
}

/// One node that knows `n - 1` peers, with everything it needs to keep answering it.
struct Fixture {
    state: ClusterState,
    peers: Vec<Peer>,
    /// Our outbound link to each peer (link id -> peer index).
    link_peer: BTreeMap<u64, usize>,
    /// An inbound link from peer 1, where PINGs arrive.
    inbound: u64,
    now: u64,
}

fn port_of(i: usize) -> (u16, u16) {
    let port = 10_000 + i as u16;
    (port, port + 10_000)
}

impl Fixture {
    fn new(n: usize) -> Fixture {
        let mut rng = fastrand::Rng::with_seed(n as u64);
        let primaries = n / 2;
        let range_of = |k: usize| {
            let first = (k * 16384 / primaries) as u16;
            let last = ((k + 1) * 16384 / primaries - 1) as u16;
            first..=last
        };
        let (port, cport) = port_of(0);
        let mut state = ClusterState::new(1, IP, port, cport, START_MS, Options::default());
        state.add_slots(&range_of(0).collect::<Vec<u16>>()).expect("slots");
        state.set_config_epoch(1).expect("epoch");

        // Peers 1..primaries are primaries (config epoch k + 1); the rest replicate them in turn.
        let ids: Vec<NodeId> = (0..n).map(|i| if i == 0 { state.myself } else { NodeId::random(&mut rng) }).collect();
        let mut peers = Vec::with_capacity(n - 1);
        for i in 1..n {
            let (port, cport) = port_of(i);
            let primary = if i < primaries { None } else { Some(ids[i % primaries]) };
            let k = primary.map_or(i, |_| i % primaries);
            let mut myslots = SlotBitmap::new();
            let range = range_of(k);
            myslots.set_range(*range.start(), *range.end());
            let flags = if primary.is_some() { flags::SLAVE } else { flags::MASTER };
            let header = Header {
                port,
                current_epoch: primaries as u64,
                config_epoch: k as u64 + 1,
                sender: ids[i].to_wire(),
                myslots,
                replicaof: primary.map(NodeId::to_wire),
                cport,
                flags,
                state: WireState::Ok,
                ..Header::default()
            };
            peers.push(Peer { id: ids[i], header, port, cport, flags });
        }

        let mut fixture = Fixture { state, peers, link_peer: BTreeMap::new(), inbound: 0, now: START_MS };
        // Primaries first, so replicas name primaries the node already knows.
        for p in 0..fixture.peers.len() {
            fixture.handshake(p);
        }
        fixture.inbound = 1_000_000;
        fixture.state.inbound_link(fixture.inbound, IP, IP);
        fixture.settle();
        assert_eq!(fixture.state.nodes.len(), n, "every peer known");
        assert!(fixture.state.nodes.values().all(|p| !p.has(flags::HANDSHAKE)));
        assert_eq!(fixture.state.slots_assigned(), 16384);
        fixture
    }

    /// MEET peer `p`: connect, then its PONG completes the handshake.
    fn handshake(&mut self, p: usize) {
        let (port, cport) = (self.peers[p].port, self.peers[p].cport);
        self.state.meet(IP, port, cport, self.now).expect("meet");
        let node = self
            .state
            .take_effects()
            .into_iter()
            .find_map(|e| match e {
                Effect::Connect { node, .. } => Some(node),
                _ => None,
            })
            .expect("a MEET connects");
        let link = p as u64 + 1;
        self.state.link_up(link, node, IP, IP);
        self.link_peer.insert(link, p);
        self.answer(link, p);
    }

    /// Peer `p`'s PONG on our link `link`, with a little gossip about peers we already know (gossip about an
    /// unknown one would add it to the view).
    fn answer(&mut self, link: u64, p: usize) {
        let known = self.link_peer.len().saturating_sub(1);
        let gossip = (1..=3.min(known)).map(|k| self.entry((p + self.peers.len() - k) % self.peers.len())).collect();
        let pong = Message {
            header: self.peers[p].header.clone(),
            body: Body::Pong(PingBody { gossip, extensions: Vec::new() }),
        };
        self.state.handle_packet(link, pong);
        let _ = self.state.take_effects();
    }

    fn entry(&self, p: usize) -> GossipEntry {
        let peer = &self.peers[p];
        GossipEntry {
            nodename: peer.id.to_wire(),
            ping_sent_secs: 0,
            pong_received_secs: (self.now / 1000) as u32,
            ip: NetIp::new(IP.as_bytes()).expect("ip"),
            port: peer.port,
            cport: peer.cport,
            flags: peer.flags,
            pport: 0,
        }
    }

    /// Ticks through one second, answering every PING, so the view is a healthy cluster's.
    fn settle(&mut self) {
        for _ in 0..10 {
            self.now += 100;
            self.state.tick(self.now);
            self.answer_pings();
        }
    }

    /// Answers the PINGs the node queued (and drops everything else it queued).
    fn answer_pings(&mut self) {
        let effects = self.state.take_effects();
        for e in effects {
            if let Effect::Send { link, msg } = e {
                if msg.msg_type() == wire::msg_type::PING {
                    if let Some(&p) = self.link_peer.get(&link) {
                        self.answer(link, p);
                    }
                }
            }
        }
    }

    /// A PING from primary peer 1 on the inbound link, with `max(3, n/10)` gossip entries.
    fn ping_with_full_gossip(&self) -> Message {
        let wanted = (self.peers.len() / 10).max(3);
        let gossip = (0..wanted).map(|k| self.entry(2 + k % (self.peers.len() - 2))).collect();
        Message { header: self.peers[0].header.clone(), body: Body::Ping(PingBody { gossip, extensions: Vec::new() }) }
    }
}

fn bench(c: &mut Criterion) {
    for n in [100, 1000] {
        let setup = Instant::now();
        let mut fx = Fixture::new(n);
        eprintln!("cluster_tick: {n}-node view built in {:?}", setup.elapsed());

        c.bench_function(&format!("cluster/{n} nodes/tick"), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    fx.now += 100;
                    let start = Instant::now();
                    fx.state.tick(black_box(fx.now));
                    timed += start.elapsed();
                    fx.answer_pings();
                }
                timed
            })
        });

        let ping = fx.ping_with_full_gossip();
        let entries = ping.body.ping_body().map_or(0, |b| b.gossip.len());
        let bytes = wire::encode(&ping);
        let inbound = fx.inbound;
        c.bench_function(&format!("cluster/{n} nodes/handle PING with {entries} gossip entries"), |b| {
            b.iter_batched(
                || ping.clone(),
                |msg| {
                    fx.state.handle_packet(inbound, msg);
                    fx.state.take_effects()
                },
                BatchSize::SmallInput,
            )
        });
        c.bench_function(&format!("cluster/{n} nodes/decode + handle PING ({} bytes)", bytes.len()), |b| {
            b.iter(|| {
                let msg = wire::decode(black_box(&bytes)).expect("decodes");
                fx.state.handle_packet(inbound, msg);
                fx.state.take_effects()
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
