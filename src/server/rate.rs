//! Rate limits as token buckets: new connections over all listeners, and each client's publishes.
//!
//! Each bucket is kept as one number, its "theoretical arrival time" (the generic cell rate
//! algorithm): the moment the bucket would be full again. Taking `n` units pushes it `n / rate`
//! seconds further; a request fits while that moment stays at most one second ahead of now. So
//! a bucket holds one second's worth of its rate, refills continuously, and checking it costs
//! a clock read and a little arithmetic: no lock, no allocation, no timer task.
//!
//! A request larger than the whole bucket (a message of more bytes than one second's worth)
//! fits when the bucket is full and is then charged in full, so it is delayed rather than
//! refused for ever.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// How far ahead of now a bucket's arrival time may be: the burst is one second's worth.
const BURST_NANOS: u64 = 1_000_000_000;
const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// The arrival time after taking `units` at `now`, or `None` when they do not fit.
#[inline]
fn take(arrival: u64, now: u64, units: u64, per_second: u64) -> Option<u64> {
    let cost = units.saturating_mul(NANOS_PER_SECOND) / per_second;
    let ahead = arrival.saturating_sub(now);
    if ahead.saturating_add(cost.min(BURST_NANOS)) > BURST_NANOS {
        return None;
    }
    Some(arrival.max(now).saturating_add(cost))
}

/// New connections per second over all listeners, shared by their accept loops.
#[derive(Debug)]
pub struct ConnectionRate {
    /// Changed by SIGHUP.
    per_second: AtomicU64,
    origin: Instant,
    /// Nanoseconds after `origin`.
    arrival: AtomicU64,
}

impl ConnectionRate {
    /// A bucket for `per_second` new connections (0: unlimited), full to start with.
    pub fn new(per_second: u32) -> ConnectionRate {
        ConnectionRate {
            per_second: AtomicU64::new(per_second.into()),
            origin: Instant::now(),
            arrival: AtomicU64::new(0),
        }
    }

    /// Takes one connection's worth; false when the rate is exhausted.
    pub fn try_acquire(&self) -> bool {
        let per_second = self.per_second.load(Ordering::Relaxed);
        per_second == 0 || self.try_acquire_at(nanos_since(self.origin), per_second)
    }

    /// Sets a new rate (0: unlimited) for the connections accepted from now on.
    pub fn set(&self, per_second: u32) {
        self.per_second.store(per_second.into(), Ordering::Relaxed);
    }

    fn try_acquire_at(&self, now: u64, per_second: u64) -> bool {
        let mut arrival = self.arrival.load(Ordering::Relaxed);
        loop {
            let Some(next) = take(arrival, now, 1, per_second) else {
                return false;
            };
            // Several listeners may accept at the same moment.
            match self
                .arrival
                .compare_exchange_weak(arrival, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(current) => arrival = current,
            }
        }
    }
}

/// One client's publish budget in messages and payload bytes per second.
///
/// Only the connection's own task calls [`PublishBudget::admit`]; the arrival times are
/// atomics only so that the budget can live in the connection's shared figures, and are
/// updated with plain loads and stores.
#[derive(Debug)]
pub struct PublishBudget {
    messages_per_second: u64,
    bytes_per_second: u64,
    origin: Instant,
    messages: AtomicU64,
    bytes: AtomicU64,
    /// Whether a refusal has been logged for this connection yet.
    refused: AtomicBool,
}

impl PublishBudget {
    /// A full budget; a rate of 0 is unlimited.
    pub fn new(messages_per_second: u32, bytes_per_second: u64) -> PublishBudget {
        PublishBudget {
            messages_per_second: messages_per_second.into(),
            bytes_per_second,
            origin: Instant::now(),
            messages: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            refused: AtomicBool::new(false),
        }
    }

    /// Whether either rate is limited; the publish path skips [`PublishBudget::admit`]
    /// (and its clock read) otherwise.
    #[inline]
    pub fn is_limited(&self) -> bool {
        self.messages_per_second > 0 || self.bytes_per_second > 0
    }

    /// Charges one message of `payload_len` bytes if it fits both budgets; a message that
    /// does not is not charged either, so a client sending too fast still gets its rate
    /// through.
    pub fn admit(&self, payload_len: usize) -> bool {
        !self.is_limited() || self.admit_at(nanos_since(self.origin), payload_len)
    }

    /// True the first time it is called: one log line per connection, not one per message.
    pub fn first_refusal(&self) -> bool {
        !self.refused.swap(true, Ordering::Relaxed)
    }

    fn admit_at(&self, now: u64, payload_len: usize) -> bool {
        let messages = match self.messages_per_second {
            0 => None,
            rate => match take(self.messages.load(Ordering::Relaxed), now, 1, rate) {
                Some(next) => Some(next),
                None => return false,
            },
        };
        let bytes = match self.bytes_per_second {
            0 => None,
            rate => match take(self.bytes.load(Ordering::Relaxed), now, payload_len as u64, rate) {
                Some(next) => Some(next),
                None => return false,
            },
        };
        if let Some(next) = messages {
            self.messages.store(next, Ordering::Relaxed);
        }
        if let Some(next) = bytes {
            self.bytes.store(next, Ordering::Relaxed);
        }
        true
    }
}

fn nanos_since(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_lets_one_seconds_worth_through() {
        let mut arrival = 0;
        let mut admitted = 0;
        while let Some(next) = take(arrival, 0, 1, 100) {
            arrival = next;
            admitted += 1;
            assert!(admitted <= 100, "more than the burst");
        }
        assert_eq!(admitted, 100);
        // 10 ms later (one unit's worth at 100/s) one more fits, and only one.
        let now = 10_000_000;
        let next = take(arrival, now, 1, 100).expect("refilled");
        assert!(take(next, now, 1, 100).is_none());
    }

    #[test]
    fn a_request_larger_than_the_bucket_waits_for_a_full_bucket() {
        // 10 KiB/s and a 64 KiB message: fits a full bucket, then nothing for 5.4 s.
        let rate = 10 * 1024;
        let arrival = take(0, 0, 64 * 1024, rate).expect("admitted");
        assert_eq!(arrival, 6_400_000_000);
        assert!(take(arrival, 5_000_000_000, 1, rate).is_none());
        assert!(take(arrival, 5_500_000_000, 1, rate).is_some());
        assert!(
            take(arrival, 5_500_000_000, 64 * 1024, rate).is_none(),
            "only once the bucket is full again"
        );
        assert!(take(arrival, 6_400_000_000, 64 * 1024, rate).is_some());
    }

    #[test]
    fn zero_is_unlimited() {
        let rate = ConnectionRate::new(0);
        assert!((0..10_000).all(|_| rate.try_acquire()));
        let budget = PublishBudget::new(0, 0);
        assert!(!budget.is_limited());
        assert!((0..10_000).all(|_| budget.admit(1 << 20)));
    }

    #[test]
    fn connection_rate_refuses_past_the_burst() {
        let rate = ConnectionRate::new(3);
        let admitted = (0..10).filter(|_| rate.try_acquire_at(0, 3)).count();
        assert_eq!(admitted, 3);
        assert!(
            rate.try_acquire_at(BURST_NANOS / 3, 3),
            "a third of a second refills one"
        );
        assert!(!rate.try_acquire_at(BURST_NANOS / 3, 3));
    }

    #[test]
    fn publish_budget_checks_messages_and_bytes() {
        let budget = PublishBudget::new(2, 0);
        assert!(budget.admit_at(0, 10) && budget.admit_at(0, 10));
        assert!(!budget.admit_at(0, 10), "third message within the second");
        assert!(budget.admit_at(BURST_NANOS / 2, 10));

        let budget = PublishBudget::new(0, 100);
        assert!(budget.admit_at(0, 60));
        assert!(!budget.admit_at(0, 60), "40 bytes of budget left");
        assert!(budget.admit_at(0, 40));

        // A refusal by one budget charges neither.
        let budget = PublishBudget::new(1, 100);
        assert!(budget.admit_at(0, 50));
        assert!(!budget.admit_at(0, 10));
        assert_eq!(budget.bytes.load(Ordering::Relaxed), BURST_NANOS / 2);
    }
}
