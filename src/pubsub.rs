//! The Pub/Sub registry: who is subscribed to which channel, pattern and shard channel, and the queue of
//! messages waiting for each subscribed connection.
//!
//! It sits low (below `server`, `commands` and `cluster`) because three parties feed it: PUBLISH/SPUBLISH
//! run by any connection, the cluster bus delivering a PUBLISH from another node, and the subscribing
//! connections themselves. Decisions:
//! - **A subscriber is a byte queue plus a wake-up.** A publisher encodes the message once (RESP2 and RESP3
//!   differ only in the first byte, `*` or `>`), appends it to each receiver's queue and wakes it; the
//!   connection writes the queue out when its task runs. No lock is held while a socket is written.
//! - **Slow subscribers are dropped, not buffered without bound** (`client-output-buffer-limit pubsub`): the
//!   pending bytes (queued plus being written) are checked against the hard limit, and against the soft limit
//!   sustained longer than its seconds, at every push. A subscriber over the limit is marked dropped and woken;
//!   its connection closes, as Redis closes such a client asynchronously.
//! - **Counts are Redis's**: PUBLISH returns the receivers on this node (channel subscribers plus one per
//!   matching pattern subscription); SUBSCRIBE/PSUBSCRIBE replies count channels + patterns, SSUBSCRIBE counts
//!   shard channels.
//! - **The cluster bus reaches the registry through [`set_cluster_target`]**: the cluster state machine knows
//!   no server state, so a server in cluster mode registers its registry once, and
//!   [`deliver_from_cluster`] hands the bus's PUBLISH to it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

/// What one connection is subscribed to (patterns keep their subscription order, as Redis's list does).
#[derive(Default, Debug)]
struct Subscriptions {
    channels: HashSet<Vec<u8>>,
    patterns: Vec<Vec<u8>>,
    shard: HashSet<Vec<u8>>,
}

#[derive(Default, Debug)]
struct Queue {
    data: Vec<u8>,
    /// Bytes taken by the connection and not yet written (still count against the limit).
    in_flight: usize,
    /// Since when the soft limit has been exceeded (Unix ms, 0: it is not).
    soft_since_ms: u64,
}

/// One subscribed connection, as publishers see it.
#[derive(Debug)]
pub struct Subscriber {
    pub id: u64,
    resp3: AtomicBool,
    queue: Mutex<Queue>,
    wake: Notify,
    dropped: AtomicBool,
    subs: Mutex<Subscriptions>,
}

impl Subscriber {
    pub fn new(id: u64, resp3: bool) -> Arc<Subscriber> {
        Arc::new(Subscriber {
            id,
            resp3: AtomicBool::new(resp3),
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            dropped: AtomicBool::new(false),
            subs: Mutex::new(Subscriptions::default()),
        })
    }

    /// Messages are encoded as RESP3 pushes when set (the connection's protocol).
    pub fn set_resp3(&self, on: bool) {
        self.resp3.store(on, Ordering::Relaxed);
    }

    /// True once the subscriber went past its output limit: its connection must close.
    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Resolves when messages were queued or the subscriber was dropped (may be stale: re-check).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Moves the queued messages to the end of `out` (for a connection writing them with its replies).
    pub fn drain_into(&self, out: &mut Vec<u8>) {
        let mut q = self.queue.lock();
        if !q.data.is_empty() {
            out.extend_from_slice(&q.data);
            q.data.clear();
            q.soft_since_ms = 0;
        }
    }

    /// Takes the queued messages for writing; they count as pending until [`written`](Self::written).
    pub fn take(&self) -> Vec<u8> {
        let mut q = self.queue.lock();
        let data = std::mem::take(&mut q.data);
        q.in_flight = data.len();
        data
    }

    /// The bytes taken by [`take`](Self::take) have left.
    pub fn written(&self) {
        let mut q = self.queue.lock();
        q.in_flight = 0;
        if q.data.is_empty() {
            q.soft_since_ms = 0;
        }
    }

    /// Bytes waiting to be written (CLIENT LIST `omem`-like figure).
    pub fn pending(&self) -> usize {
        let q = self.queue.lock();
        q.data.len() + q.in_flight
    }

    /// Subscription counts: channels, patterns, shard channels.
    pub fn counts(&self) -> (usize, usize, usize) {
        let s = self.subs.lock();
        (s.channels.len(), s.patterns.len(), s.shard.len())
    }

    /// The names of one kind of subscription (for UNSUBSCRIBE without arguments).
    pub fn names(&self, kind: Kind) -> Vec<Vec<u8>> {
        let s = self.subs.lock();
        match kind {
            Kind::Channel => s.channels.iter().cloned().collect(),
            Kind::Pattern => s.patterns.clone(),
            Kind::Shard => s.shard.iter().cloned().collect(),
        }
    }

    /// Queues one message encoded for RESP2 (a RESP3 subscriber gets it with `>` for its first byte). False
    /// when the subscriber is (now) over its output limit and was dropped.
    fn push(&self, encoded: &[u8], limits: Limits, now_ms: u64) -> bool {
        if self.is_dropped() {
            return false;
        }
        let mut q = self.queue.lock();
        let pending = (q.data.len() + q.in_flight + encoded.len()) as u64;
        let over = if limits.hard > 0 && pending > limits.hard {
            true
        } else if limits.soft > 0 && pending > limits.soft {
            if q.soft_since_ms == 0 {
                q.soft_since_ms = now_ms.max(1);
                false
            } else {
                now_ms.saturating_sub(q.soft_since_ms) > limits.soft_secs * 1000
            }
        } else {
            q.soft_since_ms = 0;
            false
        };
        if over {
            q.data = Vec::new();
            drop(q);
            self.dropped.store(true, Ordering::Relaxed);
            self.wake.notify_one();
            tracing::warn!("Client id={} scheduled to be closed ASAP for overcoming of output buffer limits.", self.id);
            return false;
        }
        if self.resp3.load(Ordering::Relaxed) {
            q.data.push(b'>');
            q.data.extend_from_slice(&encoded[1..]);
        } else {
            q.data.extend_from_slice(encoded);
        }
        drop(q);
        self.wake.notify_one();
        true
    }
}

/// `client-output-buffer-limit pubsub`: hard bytes, soft bytes, soft seconds (0 disables a limit).
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

type Members = HashMap<Vec<u8>, Vec<Arc<Subscriber>>>;

/// The node's subscriptions.
#[derive(Default)]
pub struct PubSub {
    channels: RwLock<Members>,
    patterns: RwLock<Members>,
    shard: RwLock<Members>,
    limits: Mutex<Limits>,
    /// The configuration version the limits were read at (u64::MAX: never).
    limits_version: AtomicU64,
}

impl PubSub {
    pub fn new() -> PubSub {
        PubSub {
            limits: Mutex::new(Limits { hard: 32 << 20, soft: 8 << 20, soft_secs: 60 }),
            limits_version: AtomicU64::new(u64::MAX),
            ..Default::default()
        }
    }

    /// True when the limits were last set for another configuration version (one atomic load).
    pub fn limits_stale(&self, config_version: u64) -> bool {
        self.limits_version.load(Ordering::Relaxed) != config_version
    }

    pub fn set_limits(&self, limits: Limits, config_version: u64) {
        *self.limits.lock() = limits;
        self.limits_version.store(config_version, Ordering::Relaxed);
    }

    fn table(&self, kind: Kind) -> &RwLock<Members> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// Subscribes `sub` to `name`; false if it already was.
    pub fn subscribe(&self, sub: &Arc<Subscriber>, kind: Kind, name: &[u8]) -> bool {
        {
            let mut s = sub.subs.lock();
            let added = match kind {
                Kind::Channel => s.channels.insert(name.to_vec()),
                Kind::Shard => s.shard.insert(name.to_vec()),
                Kind::Pattern if s.patterns.iter().any(|p| p == name) => false,
                Kind::Pattern => {
                    s.patterns.push(name.to_vec());
                    true
                }
            };
            if !added {
                return false;
            }
        }
        self.table(kind).write().entry(name.to_vec()).or_default().push(sub.clone());
        true
    }

    /// Unsubscribes `sub` from `name`; false if it was not subscribed.
    pub fn unsubscribe(&self, sub: &Subscriber, kind: Kind, name: &[u8]) -> bool {
        {
            let mut s = sub.subs.lock();
            let removed = match kind {
                Kind::Channel => s.channels.remove(name),
                Kind::Shard => s.shard.remove(name),
                Kind::Pattern => {
                    let before = s.patterns.len();
                    s.patterns.retain(|p| p != name);
                    s.patterns.len() != before
                }
            };
            if !removed {
                return false;
            }
        }
        let mut table = self.table(kind).write();
        if let Some(list) = table.get_mut(name) {
            list.retain(|s| s.id != sub.id);
            if list.is_empty() {
                table.remove(name);
            }
        }
        true
    }

    /// Removes every subscription of a connection that is going away.
    pub fn remove_all(&self, sub: &Subscriber) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in sub.names(kind) {
                self.unsubscribe(sub, kind, &name);
            }
        }
    }

    /// PUBLISH on this node: channel subscribers, then pattern subscribers. Returns the receivers.
    pub fn publish(&self, channel: &[u8], message: &[u8]) -> usize {
        let limits = *self.limits.lock();
        let now_ms = now_ms();
        let mut receivers = 0;
        {
            let table = self.channels.read();
            if let Some(list) = table.get(channel) {
                let encoded = encode(&[b"message", channel, message]);
                for sub in list {
                    sub.push(&encoded, limits, now_ms);
                    receivers += 1;
                }
            }
        }
        let table = self.patterns.read();
        for (pattern, list) in table.iter() {
            if !crate::glob::glob_match(pattern, channel, false) {
                continue;
            }
            let encoded = encode(&[b"pmessage", pattern, channel, message]);
            for sub in list {
                sub.push(&encoded, limits, now_ms);
                receivers += 1;
            }
        }
        receivers
    }

    /// SPUBLISH on this node: shard channel subscribers only.
    pub fn publish_shard(&self, channel: &[u8], message: &[u8]) -> usize {
        let limits = *self.limits.lock();
        let now_ms = now_ms();
        let table = self.shard.read();
        let Some(list) = table.get(channel) else { return 0 };
        let encoded = encode(&[b"smessage", channel, message]);
        for sub in list {
            sub.push(&encoded, limits, now_ms);
        }
        list.len()
    }

    /// The cluster took slots away from this node's shard: every shard channel hashing to one of them loses its
    /// subscribers, each told with a `sunsubscribe` message carrying its remaining shard-channel count (Redis
    /// 7.0's `removeChannelsInSlot`, run as the slots are deleted). Returns the subscriptions removed.
    pub fn unsubscribe_shard_slots(&self, lost: &dyn Fn(u16) -> bool) -> usize {
        let doomed: Vec<(Vec<u8>, Vec<Arc<Subscriber>>)> = {
            let table = self.shard.read();
            table
                .iter()
                .filter(|(channel, _)| lost(crate::slot::key_hash_slot(channel)))
                .map(|(channel, subs)| (channel.clone(), subs.clone()))
                .collect()
        };
        if doomed.is_empty() {
            return 0;
        }
        let limits = *self.limits.lock();
        let now_ms = now_ms();
        let mut removed = 0;
        for (channel, subs) in doomed {
            for sub in subs {
                if self.unsubscribe(&sub, Kind::Shard, &channel) {
                    removed += 1;
                    let remaining = sub.counts().2;
                    sub.push(&encode_unsubscribed(b"sunsubscribe", &channel, remaining), limits, now_ms);
                }
            }
        }
        removed
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB for one channel.
    pub fn numsub(&self, kind: Kind, channel: &[u8]) -> usize {
        self.table(kind).read().get(channel).map_or(0, Vec::len)
    }

    /// Distinct channels, patterns and shard channels with subscribers (INFO `pubsub_channels`,
    /// `pubsub_patterns`, `pubsubshard_channels`).
    pub fn totals(&self) -> (usize, usize, usize) {
        (self.channels.read().len(), self.patterns.read().len(), self.shard.read().len())
    }

    /// PUBSUB NUMPAT: distinct patterns subscribed to.
    pub fn numpat(&self) -> usize {
        self.patterns.read().len()
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS: active channels matching `pattern` (all without one).
    pub fn active(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let table = self.table(kind).read();
        table.keys().filter(|c| pattern.is_none_or(|p| crate::glob::glob_match(p, c, false))).cloned().collect()
    }
}

/// Unix time in ms (this module stays below `state`).
fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A message as a RESP2 array of bulk strings (the RESP3 push differs only in the first byte).
fn encode(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + parts.iter().map(|p| p.len() + 16).sum::<usize>());
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(parts.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for p in parts {
        out.push(b'$');
        out.extend_from_slice(itoa::Buffer::new().format(p.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `[kind, channel, remaining]`: an unsubscribe confirmation pushed without a command (RESP2 array; the RESP3
/// push differs only in the first byte).
fn encode_unsubscribed(kind: &[u8], channel: &[u8], remaining: usize) -> Vec<u8> {
    let mut out = encode(&[kind, channel]);
    out[1] = b'3';
    out.push(b':');
    out.extend_from_slice(itoa::Buffer::new().format(remaining).as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

static CLUSTER_TARGET: RwLock<Option<Weak<PubSub>>> = RwLock::new(None);

/// Makes `registry` the one cluster bus deliveries go to (a server in cluster mode, at start).
pub fn set_cluster_target(registry: &Arc<PubSub>) {
    *CLUSTER_TARGET.write() = Some(Arc::downgrade(registry));
}

/// The cluster moved `slots` (sorted) away from this node's shard: unsubscribes their shard channels.
pub fn cluster_slots_lost(slots: &[u16]) {
    let target = CLUSTER_TARGET.read().as_ref().and_then(Weak::upgrade);
    if let Some(registry) = target {
        let removed = registry.unsubscribe_shard_slots(&|slot| slots.binary_search(&slot).is_ok());
        if removed > 0 {
            tracing::debug!("Unsubscribed {removed} shard channel subscription(s) of slots this node lost");
        }
    }
}

/// A PUBLISH (or PUBLISHSHARD) received on the cluster bus: delivered to this node's subscribers.
pub fn deliver_from_cluster(channel: &[u8], message: &[u8], shard: bool) {
    let target = CLUSTER_TARGET.read().as_ref().and_then(Weak::upgrade);
    if let Some(registry) = target {
        if shard {
            registry.publish_shard(channel, message);
        } else {
            registry.publish(channel, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losing_a_slot_unsubscribes_its_shard_channels() {
        let ps = PubSub::new();
        let a = Subscriber::new(1, false);
        let b = Subscriber::new(2, true);
        // "a" hashes to slot 15495, "b" to 3300.
        assert!(ps.subscribe(&a, Kind::Shard, b"a"));
        assert!(ps.subscribe(&a, Kind::Shard, b"b"));
        assert!(ps.subscribe(&b, Kind::Shard, b"a"));
        assert!(ps.subscribe(&b, Kind::Channel, b"a"));
        assert_eq!(ps.unsubscribe_shard_slots(&|slot| slot == 15495), 2);
        let mut out = Vec::new();
        a.drain_into(&mut out);
        assert_eq!(out, b"*3\r\n$12\r\nsunsubscribe\r\n$1\r\na\r\n:1\r\n");
        out.clear();
        b.drain_into(&mut out);
        assert_eq!(out, b">3\r\n$12\r\nsunsubscribe\r\n$1\r\na\r\n:0\r\n");
        assert_eq!(ps.numsub(Kind::Shard, b"a"), 0);
        assert_eq!(ps.numsub(Kind::Shard, b"b"), 1);
        assert_eq!(ps.numsub(Kind::Channel, b"a"), 1, "plain channels are not shard channels");
        assert_eq!(a.counts(), (0, 0, 1));
        assert_eq!(ps.unsubscribe_shard_slots(&|slot| slot == 15495), 0);
    }

    #[test]
    fn publish_counts_channels_and_patterns() {
        let ps = PubSub::new();
        let a = Subscriber::new(1, false);
        let b = Subscriber::new(2, true);
        assert!(ps.subscribe(&a, Kind::Channel, b"news"));
        assert!(!ps.subscribe(&a, Kind::Channel, b"news"));
        assert!(ps.subscribe(&b, Kind::Pattern, b"n*"));
        assert_eq!(ps.publish(b"news", b"hi"), 2);
        let mut out = Vec::new();
        a.drain_into(&mut out);
        assert_eq!(out, b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
        out.clear();
        b.drain_into(&mut out);
        assert_eq!(out, b">4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
        assert_eq!(ps.numsub(Kind::Channel, b"news"), 1);
        assert_eq!(ps.numpat(), 1);
        ps.remove_all(&a);
        ps.remove_all(&b);
        assert_eq!(ps.publish(b"news", b"hi"), 0);
        assert!(ps.active(Kind::Channel, None).is_empty());
    }

    #[test]
    fn hard_limit_drops_the_subscriber() {
        let ps = PubSub::new();
        ps.set_limits(Limits { hard: 100, soft: 0, soft_secs: 0 }, 1);
        let a = Subscriber::new(1, false);
        ps.subscribe(&a, Kind::Shard, b"s");
        assert_eq!(ps.publish_shard(b"s", &[b'x'; 40]), 1);
        assert!(!a.is_dropped());
        ps.publish_shard(b"s", &[b'x'; 40]);
        assert!(a.is_dropped());
    }

    #[test]
    fn soft_limit_drops_only_when_sustained() {
        let limits = Limits { hard: 0, soft: 100, soft_secs: 2 };
        let a = Subscriber::new(1, false);
        assert!(a.push(&[b'*'; 150], limits, 10_000));
        assert!(a.push(&[b'*'; 10], limits, 11_000));
        let mut out = Vec::new();
        a.drain_into(&mut out);
        // Back under the limit: the clock starts again.
        assert!(a.push(&[b'*'; 150], limits, 13_000));
        assert!(a.push(&[b'*'; 10], limits, 15_000));
        assert!(!a.push(&[b'*'; 10], limits, 15_001));
        assert!(a.is_dropped());
    }
}
