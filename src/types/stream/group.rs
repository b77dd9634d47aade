//! Consumer groups: the group's last delivered id and read counter, its pending entries list (PEL), and its
//! consumers with their own PELs.
//!
//! The group PEL maps an id to its delivery record (owner, time, count); each consumer keeps the set of ids it
//! owns, so per-consumer XPENDING and XINFO are ordered walks. Both maps are ordered as Redis's rax trees.

use std::collections::{BTreeMap, BTreeSet};

use super::id::StreamId;

/// Redis's `SCG_INVALID_ENTRIES_READ`: the group's read counter is unknown.
pub const ENTRIES_READ_INVALID: i64 = -1;

/// A delivered, not yet acknowledged entry (Redis's `streamNACK`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
    /// The consumer that owns it.
    pub consumer: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consumer {
    /// Unix ms of the consumer's last interaction (Redis 7.0's `seen_time`).
    pub seen_time: u64,
    pub pel: BTreeSet<StreamId>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerGroup {
    pub last_id: StreamId,
    /// Logical number of entries read, or [`ENTRIES_READ_INVALID`].
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Pending>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl ConsumerGroup {
    pub fn new(last_id: StreamId, entries_read: i64) -> Self {
        ConsumerGroup { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    /// Creates `name` if missing; true if it was created.
    pub fn create_consumer(&mut self, name: &[u8], now_ms: u64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(name.to_vec(), Consumer { seen_time: now_ms, pel: BTreeSet::new() });
        true
    }

    /// Deletes a consumer and its pending entries; returns how many were pending (None: no such consumer).
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Acknowledges `id`; true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(p) = self.pel.remove(&id) else { return false };
        if let Some(c) = self.consumers.get_mut(&p.consumer) {
            c.pel.remove(&id);
        }
        true
    }

    /// Records a delivery of `id` to `consumer` (which must exist): a new pending entry with count 1, or an
    /// existing one moved to `consumer` with its time reset and its count bumped when `bump` is set.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now_ms: u64) {
        match self.pel.get_mut(&id) {
            Some(p) => {
                if p.consumer != consumer {
                    if let Some(old) = self.consumers.get_mut(&p.consumer) {
                        old.pel.remove(&id);
                    }
                    p.consumer = consumer.to_vec();
                }
                p.delivery_time = now_ms;
                p.delivery_count = p.delivery_count.saturating_add(1);
            }
            None => {
                self.pel.insert(id, Pending { delivery_time: now_ms, delivery_count: 1, consumer: consumer.to_vec() });
            }
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Moves pending `id` to `consumer` (XCLAIM), keeping its delivery record; creates the entry if absent.
    pub fn assign(&mut self, id: StreamId, consumer: &[u8]) -> &mut Pending {
        let prev = self.pel.get(&id).map(|p| p.consumer.clone());
        if let Some(prev) = prev {
            if prev != consumer {
                if let Some(old) = self.consumers.get_mut(&prev) {
                    old.pel.remove(&id);
                }
            }
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
        let p = self.pel.entry(id).or_insert_with(|| Pending {
            delivery_time: 0,
            delivery_count: 0,
            consumer: consumer.to_vec(),
        });
        p.consumer = consumer.to_vec();
        p
    }

    pub fn heap_size(&self) -> usize {
        let mut n = self.pel.len() * 64;
        for (name, c) in &self.consumers {
            n += name.len() + 64 + c.pel.len() * 32;
        }
        n
    }
}
