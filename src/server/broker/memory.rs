//! The broker-wide memory budget (`limits.max_memory`): bytes of queued messages and
//! connection buffers, and the publishers waiting for some of it to be given back.
//!
//! Every session queue and every connection reserves what it holds and releases it when it
//! lets go. Nothing is refused here: the callers decide what to do at the budget (shed QoS 0,
//! hold publishers back, drop for stalled or offline subscribers), and a publisher held back
//! for memory registers here to be woken once usage is under the budget again.
//!
//! What offline sessions hold is counted apart: it does not drain until their clients come
//! back, so it may take at most half of the budget, and publishers held back for memory wait
//! only for what can drain. Memory that offline sessions hold can then never hold every
//! publisher back.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::session::Session;

/// Bytes in use against `limits.max_memory`.
#[derive(Debug)]
pub struct MemoryBudget {
    used: AtomicUsize,
    /// The part of `used` held by the queues of offline sessions.
    offline: AtomicUsize,
    /// Changed by SIGHUP ([`MemoryBudget::set_max`]).
    max: AtomicUsize,
    /// Set while someone waits, so that releasing memory costs one load when nobody does.
    waiting: AtomicBool,
    waiters: Mutex<Vec<Arc<Session>>>,
}

impl MemoryBudget {
    /// A budget of `max` bytes, none used.
    pub fn new(max: usize) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget {
            used: AtomicUsize::new(0),
            offline: AtomicUsize::new(0),
            max: AtomicUsize::new(max),
            waiting: AtomicBool::new(false),
            waiters: Mutex::new(Vec::new()),
        })
    }

    /// A budget nothing reaches, for brokers built without a configuration (tests, tools).
    pub fn unlimited() -> Arc<MemoryBudget> {
        MemoryBudget::new(usize::MAX)
    }

    /// The configured bound.
    pub fn max(&self) -> usize {
        self.max.load(Ordering::Relaxed)
    }

    /// A new bound; publishers held back go on if usage is under it.
    pub fn set_max(&self, max: usize) {
        self.max.store(max, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) && !self.over(0) {
            self.wake_all();
        }
    }

    /// Bytes in use now.
    pub fn used(&self) -> usize {
        // SeqCst here and in `release`/`wait`: a waiter that registers while memory is being
        // released either sees the release or is seen by it (no lost wake-up).
        self.used.load(Ordering::SeqCst)
    }

    /// Bytes held by offline sessions' queues now.
    pub fn offline(&self) -> usize {
        self.offline.load(Ordering::SeqCst)
    }

    /// Whether taking `extra` more bytes for a connected session would go over the budget:
    /// offline sessions count for at most half of it.
    pub fn over(&self, extra: usize) -> bool {
        let offline = self.offline();
        let counted = self.used().saturating_sub(offline) + offline.min(self.max() / 2);
        counted.saturating_add(extra) > self.max()
    }

    /// Whether an offline session may not take `extra` more bytes: offline sessions together
    /// hold at most half of the budget, and no more than the budget has left.
    pub fn offline_full(&self, extra: usize) -> bool {
        self.offline().saturating_add(extra) > self.max() / 2
            || self.used().saturating_add(extra) > self.max()
    }

    /// Counts `n` more bytes as held (by an offline session's queue when `offline`).
    pub fn reserve(&self, n: usize, offline: bool) {
        self.used.fetch_add(n, Ordering::SeqCst);
        if offline {
            self.offline.fetch_add(n, Ordering::SeqCst);
        }
    }

    /// Gives `n` bytes back (held by an offline session's queue when `offline`); wakes the
    /// waiting publishers once usage is under the budget.
    pub fn release(&self, n: usize, offline: bool) {
        if n == 0 {
            return;
        }
        if offline {
            self.offline.fetch_sub(n, Ordering::SeqCst);
        }
        self.used.fetch_sub(n, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) && !self.over(0) {
            self.wake_all();
        }
    }

    /// Moves `n` bytes of a session's queue between offline and connected as its client
    /// leaves or comes back.
    pub fn set_offline(&self, n: usize, offline: bool) {
        if offline {
            self.offline.fetch_add(n, Ordering::SeqCst);
        } else {
            self.offline.fetch_sub(n, Ordering::SeqCst);
            if self.waiting.load(Ordering::SeqCst) && !self.over(0) {
                self.wake_all();
            }
        }
    }

    /// Registers `publisher` to be woken when usage is back under the budget; false (and
    /// nothing registered) when it already is.
    pub fn wait(&self, publisher: &Arc<Session>) -> bool {
        let mut waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        // Checked under the lock that `wake_all` takes, so a release in between is not missed.
        self.waiting.store(true, Ordering::SeqCst);
        if !self.over(0) {
            if waiters.is_empty() {
                self.waiting.store(false, Ordering::Relaxed);
            }
            return false;
        }
        if !waiters.iter().any(|w| Arc::ptr_eq(w, publisher)) {
            waiters.push(publisher.clone());
        }
        true
    }

    fn wake_all(&self) {
        let waiters = {
            let mut waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
            self.waiting.store(false, Ordering::Relaxed);
            std::mem::take(&mut *waiters)
        };
        for publisher in waiters {
            publisher.notify.notify_one();
        }
    }
}
