//! Settings read on hot paths, mirrored into atomics: keyspace-notification classes (checked by every write)
//! and the collections' compact-encoding limits (checked by every insert). Reading the config snapshot there
//! would take a lock per command; these loads are plain relaxed reads. `sync` runs when the config version
//! changes (CONFIG SET), from [`crate::stats::follow_config`].

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use crate::config::{EncodingLimits, Settings};

#[derive(Default)]
pub struct Tunables {
    notify_flags: AtomicU32,
    list_max_listpack_size: AtomicI64,
    list_compress_depth: AtomicU64,
    hash_max_listpack_entries: AtomicU64,
    hash_max_listpack_value: AtomicU64,
    set_max_intset_entries: AtomicU64,
    zset_max_listpack_entries: AtomicU64,
    zset_max_listpack_value: AtomicU64,
    stream_node_max_entries: AtomicU64,
    stream_node_max_bytes: AtomicU64,
    hll_sparse_max_bytes: AtomicU64,
}

impl Tunables {
    pub fn new(settings: &Settings) -> Tunables {
        let t = Tunables::default();
        t.sync(settings);
        t
    }

    /// Copies the hot settings out of a new config snapshot.
    pub fn sync(&self, s: &Settings) {
        let r = Ordering::Relaxed;
        self.notify_flags.store(s.notify_keyspace_events, r);
        let l = &s.encoding_limits;
        self.list_max_listpack_size.store(l.list_max_listpack_size, r);
        self.list_compress_depth.store(l.list_compress_depth, r);
        self.hash_max_listpack_entries.store(l.hash_max_listpack_entries, r);
        self.hash_max_listpack_value.store(l.hash_max_listpack_value, r);
        self.set_max_intset_entries.store(l.set_max_intset_entries, r);
        self.zset_max_listpack_entries.store(l.zset_max_listpack_entries, r);
        self.zset_max_listpack_value.store(l.zset_max_listpack_value, r);
        self.stream_node_max_entries.store(l.stream_node_max_entries, r);
        self.stream_node_max_bytes.store(l.stream_node_max_bytes, r);
        self.hll_sparse_max_bytes.store(l.hll_sparse_max_bytes, r);
    }

    /// `notify-keyspace-events` class bits.
    #[inline]
    pub fn notify_flags(&self) -> u32 {
        self.notify_flags.load(Ordering::Relaxed)
    }

    /// The current compact-encoding limits.
    pub fn encoding_limits(&self) -> EncodingLimits {
        let r = Ordering::Relaxed;
        EncodingLimits {
            list_max_listpack_size: self.list_max_listpack_size.load(r),
            list_compress_depth: self.list_compress_depth.load(r),
            hash_max_listpack_entries: self.hash_max_listpack_entries.load(r),
            hash_max_listpack_value: self.hash_max_listpack_value.load(r),
            set_max_intset_entries: self.set_max_intset_entries.load(r),
            zset_max_listpack_entries: self.zset_max_listpack_entries.load(r),
            zset_max_listpack_value: self.zset_max_listpack_value.load(r),
            stream_node_max_entries: self.stream_node_max_entries.load(r),
            stream_node_max_bytes: self.stream_node_max_bytes.load(r),
            hll_sparse_max_bytes: self.hll_sparse_max_bytes.load(r),
        }
    }
}
