//! The broker-wide memory budget (`limits.max_memory`): bytes of queued messages and
//! connection buffers, and the publishers waiting for some of it to be given back.
//!
//! Every session queue and every connection reserves what it holds and releases it when it
//! lets go. Nothing is refused here: the callers decide what to do at the budget (shed QoS 0,
//! hold publishers back, drop for stalled or offline subscribers), and a publisher held back
//! for memory registers here to be woken once usage is under the budget again.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::session::Session;

/// Bytes in use against `limits.max_memory`.
#[derive(Debug)]
pub struct MemoryBudget {
    used: AtomicUsize,
    max: usize,
    /// Set while someone waits, so that releasing memory costs one load when nobody does.
    waiting: AtomicBool,
    waiters: Mutex<Vec<Arc<Session>>>,
}

impl MemoryBudget {
    /// A budget of `max` bytes, none used.
    pub fn new(max: usize) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget {
            used: AtomicUsize::new(0),
            max,
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
        self.max
    }

    /// Bytes in use now.
    pub fn used(&self) -> usize {
        // SeqCst here and in `release`/`wait`: a waiter that registers while memory is being
        // released either sees the release or is seen by it (no lost wake-up).
        self.used.load(Ordering::SeqCst)
    }

    /// Whether taking `extra` more bytes would go over the budget.
    pub fn over(&self, extra: usize) -> bool {
        self.used().saturating_add(extra) > self.max
    }

    /// Whether usage is above `numerator / denominator` of the budget.
    pub fn above_fraction(&self, numerator: usize, denominator: usize) -> bool {
        self.used() > self.max / denominator * numerator
    }

    /// Counts `n` more bytes as held.
    pub fn reserve(&self, n: usize) {
        self.used.fetch_add(n, Ordering::Relaxed);
    }

    /// Gives `n` bytes back; wakes the waiting publishers once usage is under the budget.
    pub fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let before = self.used.fetch_sub(n, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) && before.saturating_sub(n) <= self.max {
            self.wake_all();
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
