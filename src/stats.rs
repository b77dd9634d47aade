//! Per-command statistics (INFO commandstats / latencystats) and instantaneous rates (INFO stats).
//!
//! SKELETON: the issue-3 work fills in latency histograms and the ops/sec sampler.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one command (or subcommand), indexed by `CommandSpec::id`.
#[derive(Default, Debug)]
pub struct CommandCounters {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected_calls: AtomicU64,
    pub failed_calls: AtomicU64,
}

pub struct CommandStats {
    pub by_id: Box<[CommandCounters]>,
}

impl CommandStats {
    pub fn new(ids: usize) -> CommandStats {
        CommandStats { by_id: (0..ids).map(|_| CommandCounters::default()).collect() }
    }

    /// A command ran for `usec` microseconds; `failed` if it replied with an error.
    pub fn record_call(&self, id: usize, usec: u64, failed: bool) {
        if let Some(c) = self.by_id.get(id) {
            c.calls.fetch_add(1, Ordering::Relaxed);
            c.usec.fetch_add(usec, Ordering::Relaxed);
            if failed {
                c.failed_calls.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A command was refused before running (arity, NOAUTH, OOM, ...).
    pub fn record_rejected(&self, id: usize) {
        if let Some(c) = self.by_id.get(id) {
            c.rejected_calls.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn reset(&self) {
        for c in self.by_id.iter() {
            c.calls.store(0, Ordering::Relaxed);
            c.usec.store(0, Ordering::Relaxed);
            c.rejected_calls.store(0, Ordering::Relaxed);
            c.failed_calls.store(0, Ordering::Relaxed);
        }
    }
}
