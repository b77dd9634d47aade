//! Keyspace events the keyspace itself causes — keys deleted by expiry (lazy or active) and by eviction, new
//! keys, read misses — held
//! until the server publishes them as keyspace notifications (`crate::notify`). The keyspace knows nothing of
//! Pub/Sub, and it removes these keys while holding shard locks, so it only queues them here; the dispatcher
//! and the cron deliver the queue. With those notification classes off (the default), recording is one
//! relaxed load.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use parking_lot::Mutex;

/// One queued event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    /// Notification class bit (`crate::config::notify::EXPIRED`, `EVICTED`, `NEW` or `KEY_MISS`).
    pub class: u32,
    /// `expired`, `evicted`, `new` or `keymiss`.
    pub event: &'static str,
    pub db: usize,
    pub key: Vec<u8>,
}

#[derive(Default)]
pub struct KeyEvents {
    /// The classes somebody listens to (set from `notify-keyspace-events`).
    wanted: AtomicU32,
    pending: AtomicBool,
    queue: Mutex<Vec<KeyEvent>>,
}

impl KeyEvents {
    /// Records only the classes in `classes` from now on.
    pub fn set_wanted(&self, classes: u32) {
        self.wanted.store(classes, Ordering::Relaxed);
    }

    #[inline]
    pub fn record(&self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        if self.wanted.load(Ordering::Relaxed) & class != 0 {
            self.queue.lock().push(KeyEvent { class, event, db, key: key.to_vec() });
            self.pending.store(true, Ordering::Release);
        }
    }

    #[inline]
    pub fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes the queued events, oldest first.
    pub fn take(&self) -> Vec<KeyEvent> {
        let mut queue = self.queue.lock();
        self.pending.store(false, Ordering::Release);
        std::mem::take(&mut *queue)
    }
}
