//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK, ...): who waits for which key, and who is woken.
//!
//! How a command blocks: its handler finds nothing to serve and, when blocking is allowed
//! ([`crate::commands::Ctx::may_block`]), calls [`crate::commands::Ctx::block`] with a [`BlockRequest`] instead
//! of replying. The connection (src/server/connection.rs) then registers the client here, parks on its
//! [`Waiter`] (no polling: a blocked client costs a queue entry and a sleeping task), and on every wake runs the
//! command again, as if the client had just sent it. The retry either replies (served, or an error such as
//! `-MOVED` after the slot moved) or asks to block again, keeping its place in the queues and its deadline.
//!
//! Who is woken, and why that keeps Redis's first-come first-served order:
//! - After any write that changed something (`dirty > 0`), the dispatcher signals each of the command's keys
//!   that exists afterwards ([`BlockingRegistry::signal`]): the *first* waiter of that key is woken. A key that
//!   does not exist cannot serve anyone, so e.g. the LPOP that empties a list wakes nobody.
//! - A woken waiter that retried (served or not) passes the turn on to the next waiter of each of its keys that
//!   still exists ([`BlockingRegistry::pass_on`]). So one LPUSH of three elements serves the three oldest
//!   BLPOP clients in order, and an XADD reaches every XREAD waiter in turn.
//! - Wakes never get lost: a waiter's [`tokio::sync::Notify`] keeps one permit when it is woken mid-retry, so
//!   the re-blocked retry runs once more.
//! - Routing changes (a slot moved away) wake everybody ([`BlockingRegistry::wake_all`]): their retries answer
//!   `-MOVED` as Redis does for clients blocked on keys of a slot it lost.
//! - Redis serves blocked clients before the client whose write readied their keys gets its reply or runs its
//!   next command (`handleClientsBlockedOnKeys` runs right after the command). So that `RPUSH l x` followed by
//!   `EXISTS l` (pipelined or not) sees what Redis shows, the writer waits until the wakes in flight have been
//!   retried ([`BlockingRegistry::settle`]), bounded by [`SETTLE_LIMIT`] so a slow waiter cannot stall it.
//!
//! The registry lock is held only to edit queues and pick whom to notify; no command runs under it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::protocol::reply::Reply;

/// What a blocking command asks for when it cannot be served now.
#[derive(Debug)]
pub struct BlockRequest {
    /// The keys whose change may serve it.
    pub keys: Vec<Vec<u8>>,
    /// Absolute deadline in Unix ms; 0 waits forever.
    pub deadline_ms: u64,
    /// The reply on timeout (and on `CLIENT UNBLOCK ... TIMEOUT`).
    pub timeout_reply: TimeoutReply,
    /// The command line to run on retries, when it differs from the original (XREAD's `$` resolved to the
    /// last id at the time of blocking). None: the original arguments.
    pub retry_args: Option<Vec<Vec<u8>>>,
}

/// The reply a blocking command gives when it cannot wait: on timeout (every blocking command of Redis 7.0
/// answers a null array then, BLMOVE included), or inside MULTI/EXEC (where BLMOVE and BRPOPLPUSH answer a
/// null bulk instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutReply {
    /// `*-1` in RESP2.
    NullArray,
    /// `$-1` in RESP2.
    NullBulk,
}

impl TimeoutReply {
    /// Writes the timeout reply (both forms are `_` in RESP3).
    pub fn write(self, out: &mut Reply) {
        match self {
            TimeoutReply::NullArray => out.null_array(),
            TimeoutReply::NullBulk => out.null(),
        }
    }
}

/// The error a blocked client gets from `CLIENT UNBLOCK id ERROR`.
pub const UNBLOCKED_ERROR: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// Parses a blocking command's timeout argument the way Redis's `getTimeoutFromObjectOrReply` does, returning
/// the absolute deadline in ms (0: wait forever) or writing Redis's error. `in_seconds`: BLPOP-style float
/// seconds; otherwise XREAD-style integer milliseconds.
pub fn parse_timeout(out: &mut Reply, arg: &[u8], in_seconds: bool, now_ms: u64) -> Option<u64> {
    let millis: i64 = if in_seconds {
        let Some(secs) = crate::num::parse_f64(arg).filter(|v| !v.is_nan()) else {
            out.error("ERR timeout is not a float or out of range");
            return None;
        };
        let ms = secs * 1000.0;
        // Truncation toward zero, as Redis's `(long long)` cast of the long double; a value the cast cannot
        // represent (infinities, 1e17 seconds) comes out as LLONG_MIN on x86-64, which Redis then calls negative.
        if ms.is_finite() && ms > i64::MIN as f64 && ms < i64::MAX as f64 {
            ms as i64
        } else {
            i64::MIN
        }
    } else {
        let Some(ms) = crate::num::parse_i64(arg) else {
            out.error("ERR timeout is not an integer or out of range");
            return None;
        };
        ms
    };
    if millis < 0 {
        out.error("ERR timeout is negative");
        return None;
    }
    if millis == 0 {
        return Some(0);
    }
    // Redis 7.0.15 has no upper bound (a deadline past the year 292 million waits forever): saturate.
    Some(now_ms.saturating_add(millis as u64))
}

/// How long a writer waits at most for the clients it woke to be served (see [`BlockingRegistry::settle`]).
pub const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_millis(50);

/// One blocked client's place in the queues.
pub struct Waiter {
    pub client_id: u64,
    db: usize,
    keys: Vec<Vec<u8>>,
    notify: tokio::sync::Notify,
    /// Woken and not yet retried: counted once in [`BlockingRegistry`]'s `in_flight`.
    signalled: std::sync::atomic::AtomicBool,
}

impl Waiter {
    /// Resolves when this waiter has been signalled (at once if a signal arrived since the last wait).
    pub async fn notified(&self) {
        self.notify.notified().await
    }

    pub fn keys(&self) -> &[Vec<u8>] {
        &self.keys
    }

    pub fn db(&self) -> usize {
        self.db
    }

    /// Wakes this waiter, counting the wake as in flight unless one already is.
    fn wake(&self, in_flight: &AtomicUsize) {
        if !self.signalled.swap(true, Ordering::AcqRel) {
            in_flight.fetch_add(1, Ordering::AcqRel);
        }
        self.notify.notify_one();
    }
}

type Queues = HashMap<(usize, Vec<u8>), VecDeque<Arc<Waiter>>>;

/// The clients blocked on keys, in arrival order per key.
#[derive(Default)]
pub struct BlockingRegistry {
    /// Number of registered waiters: the dispatcher's one-load check that nobody is blocked.
    waiters: AtomicUsize,
    queues: Mutex<Queues>,
    /// Every registered waiter, for [`BlockingRegistry::wake_all`].
    all: Mutex<Vec<Arc<Waiter>>>,
    /// Waiters woken and not yet done with their retry.
    in_flight: AtomicUsize,
    /// Signalled when `in_flight` drops.
    settled: tokio::sync::Notify,
}

impl BlockingRegistry {
    /// True when at least one client is blocked on a key.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.waiters.load(Ordering::Relaxed) != 0
    }

    /// Number of distinct keys with blocked clients (INFO `blocked_keys`-style figures, DEBUG).
    pub fn blocked_keys(&self) -> usize {
        self.queues.lock().len()
    }

    /// Queues a client at the back of each key's line.
    pub fn register(&self, client_id: u64, db: usize, keys: &[Vec<u8>]) -> Arc<Waiter> {
        let mut unique: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
        for k in keys {
            if !unique.contains(k) {
                unique.push(k.clone());
            }
        }
        let waiter = Arc::new(Waiter {
            client_id,
            db,
            keys: unique,
            notify: tokio::sync::Notify::new(),
            signalled: Default::default(),
        });
        {
            let mut queues = self.queues.lock();
            for k in &waiter.keys {
                queues.entry((db, k.clone())).or_default().push_back(waiter.clone());
            }
        }
        self.all.lock().push(waiter.clone());
        self.waiters.fetch_add(1, Ordering::Relaxed);
        waiter
    }

    /// Takes a client out of every line it stood in (releasing a wake it did not take).
    pub fn unregister(&self, waiter: &Arc<Waiter>) {
        let pending = self.take_wake(waiter);
        self.retried(pending);
        {
            let mut queues = self.queues.lock();
            for k in &waiter.keys {
                let slot = (waiter.db, k.clone());
                if let Some(q) = queues.get_mut(&slot) {
                    q.retain(|w| !Arc::ptr_eq(w, waiter));
                    if q.is_empty() {
                        queues.remove(&slot);
                    }
                }
            }
        }
        let mut all = self.all.lock();
        if let Some(i) = all.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            all.swap_remove(i);
            self.waiters.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// A key may have become able to serve its waiters: wakes the first one. True if somebody was woken.
    pub fn signal(&self, db: usize, key: &[u8]) -> bool {
        let queues = self.queues.lock();
        match queues.get(&(db, key.to_vec())).and_then(|q| q.front()) {
            Some(first) => {
                first.wake(&self.in_flight);
                true
            }
            None => false,
        }
    }

    /// Called by a woken waiter when it takes the wake (before retrying); hand the result to
    /// [`BlockingRegistry::retried`] once the retry and its pass-on are done.
    pub fn take_wake(&self, waiter: &Waiter) -> bool {
        waiter.signalled.swap(false, Ordering::AcqRel)
    }

    /// The retry of a wake taken with [`BlockingRegistry::take_wake`] is over.
    pub fn retried(&self, counted: bool) {
        if counted {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.settled.notify_waiters();
        }
    }

    /// Waits until no woken client is still to be served, or [`SETTLE_LIMIT`] passed.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + SETTLE_LIMIT;
        loop {
            let changed = self.settled.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.in_flight.load(Ordering::Acquire) == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return;
            }
        }
    }

    /// After `waiter` retried: wakes the next waiter behind it on each of its keys that `exists` says is
    /// still there (nobody else can be served by a missing key).
    pub fn pass_on(&self, waiter: &Arc<Waiter>, exists: impl Fn(usize, &[u8]) -> bool) {
        let live: Vec<&Vec<u8>> = waiter.keys.iter().filter(|k| exists(waiter.db, k)).collect();
        if live.is_empty() {
            return;
        }
        let queues = self.queues.lock();
        for k in live {
            let Some(q) = queues.get(&(waiter.db, k.clone())) else { continue };
            let next = match q.iter().position(|w| Arc::ptr_eq(w, waiter)) {
                Some(i) => q.get(i + 1),
                // Already unregistered (served): the head of the line is next.
                None => q.front(),
            };
            if let Some(next) = next {
                next.wake(&self.in_flight);
            }
        }
    }

    /// Wakes every blocked client (the routing table changed: their keys may have moved to another node).
    pub fn wake_all(&self) {
        for w in self.all.lock().iter() {
            w.wake(&self.in_flight);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<Vec<u8>> {
        names.iter().map(|n| n.as_bytes().to_vec()).collect()
    }

    #[test]
    fn timeouts_parse_like_redis() {
        let mut out = Reply::new(crate::protocol::reply::Protocol::Resp2);
        assert_eq!(parse_timeout(&mut out, b"0", true, 1000), Some(0));
        assert_eq!(parse_timeout(&mut out, b"1.5", true, 1000), Some(2500));
        assert_eq!(parse_timeout(&mut out, b"0.0001", true, 1000), Some(0));
        assert_eq!(parse_timeout(&mut out, b"10", false, 1000), Some(1010));
        assert!(out.buf.is_empty());
        assert_eq!(parse_timeout(&mut out, b"-1", true, 1000), None);
        assert_eq!(parse_timeout(&mut out, b"abc", true, 1000), None);
        assert_eq!(parse_timeout(&mut out, b"1.5", false, 1000), None);
        assert_eq!(parse_timeout(&mut out, b"inf", true, 1000), None);
        assert_eq!(parse_timeout(&mut out, b"1e17", true, 1000), None);
        assert_eq!(parse_timeout(&mut out, b"9223372036854775807", false, 1000), Some(9223372036854776807));
        assert_eq!(
            String::from_utf8_lossy(&out.buf),
            "-ERR timeout is negative\r\n-ERR timeout is not a float or out of range\r\n\
             -ERR timeout is not an integer or out of range\r\n-ERR timeout is negative\r\n\
             -ERR timeout is negative\r\n"
        );
    }

    #[tokio::test]
    async fn signal_wakes_the_first_waiter_and_pass_on_the_next() {
        let reg = BlockingRegistry::default();
        let a = reg.register(1, 0, &keys(&["k"]));
        let b = reg.register(2, 0, &keys(&["k", "other"]));
        assert!(reg.is_active());
        assert!(reg.signal(0, b"k"));
        // `a` holds a permit; `b` does not.
        tokio::time::timeout(std::time::Duration::from_secs(1), a.notified()).await.expect("a woken");
        assert!(tokio::time::timeout(std::time::Duration::from_millis(20), b.notified()).await.is_err());
        reg.unregister(&a);
        reg.pass_on(&a, |_, _| true);
        tokio::time::timeout(std::time::Duration::from_secs(1), b.notified()).await.expect("b woken");
        // A missing key passes nothing on.
        reg.pass_on(&b, |_, _| false);
        reg.unregister(&b);
        assert!(!reg.is_active());
        assert_eq!(reg.blocked_keys(), 0);
    }

    #[tokio::test]
    async fn other_databases_and_keys_are_not_woken() {
        let reg = BlockingRegistry::default();
        let a = reg.register(1, 1, &keys(&["k"]));
        reg.signal(0, b"k");
        reg.signal(1, b"j");
        assert!(tokio::time::timeout(std::time::Duration::from_millis(20), a.notified()).await.is_err());
        reg.wake_all();
        tokio::time::timeout(std::time::Duration::from_secs(1), a.notified()).await.expect("woken by wake_all");
        reg.unregister(&a);
    }
}
