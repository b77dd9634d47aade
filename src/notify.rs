//! Keyspace notifications (`notify-keyspace-events`): after a command changes a key, it announces the event on
//! `__keyspace@<db>__:<key>` (message: the event name) and `__keyevent@<db>__:<event>` (message: the key), as
//! Redis's `notifyKeyspaceEvent`. Delivery goes through the local Pub/Sub registry only: in cluster mode Redis
//! does not broadcast notifications over the bus either. With notifications off (the default) the cost is one
//! relaxed load.

pub use crate::config::notify as class;

use crate::state::ServerState;

/// Announces `event` on `key` in database `db` for the event class `class` (one of [`class`]'s bits).
#[inline]
pub fn keyspace_event(server: &ServerState, class: u32, event: &str, key: &[u8], db: usize) {
    let flags = server.tunables.notify_flags();
    if flags & class == 0 {
        return;
    }
    // Keys the command's lookups found expired were deleted first: their events come first, as in Redis.
    deliver_pending(server);
    publish(server, flags, event, key, db);
}

/// Publishes the expired / evicted events the keyspace queued (see `crate::keyspace::events`).
#[inline]
pub fn deliver_pending(server: &ServerState) {
    if server.keyspace.events.has_pending() {
        deliver_queued(server);
    }
}

#[cold]
fn deliver_queued(server: &ServerState) {
    let flags = server.tunables.notify_flags();
    for e in server.keyspace.events.take() {
        if flags & e.class != 0 {
            publish(server, flags, e.event, &e.key, e.db);
        }
    }
}

/// The classes the keyspace itself must queue for `flags` (nothing unless keyspace or keyevent is on):
/// expiry, eviction, new keys (`n`) and read misses (`m`).
pub fn keyspace_classes(flags: u32) -> u32 {
    if flags & (class::KEYSPACE | class::KEYEVENT) == 0 {
        return 0;
    }
    flags & (class::EXPIRED | class::EVICTED | class::NEW | class::KEY_MISS)
}

#[cold]
fn publish(server: &ServerState, flags: u32, event: &str, key: &[u8], db: usize) {
    let mut digits = itoa::Buffer::new();
    let db = digits.format(db);
    if flags & class::KEYSPACE != 0 {
        let mut channel = Vec::with_capacity(16 + key.len());
        channel.extend_from_slice(b"__keyspace@");
        channel.extend_from_slice(db.as_bytes());
        channel.extend_from_slice(b"__:");
        channel.extend_from_slice(key);
        server.pubsub.publish(&channel, event.as_bytes());
    }
    if flags & class::KEYEVENT != 0 {
        let mut channel = Vec::with_capacity(16 + event.len());
        channel.extend_from_slice(b"__keyevent@");
        channel.extend_from_slice(db.as_bytes());
        channel.extend_from_slice(b"__:");
        channel.extend_from_slice(event.as_bytes());
        server.pubsub.publish(&channel, key);
    }
}
