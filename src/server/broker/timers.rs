//! Every offline session's will delay and expiry in one index of deadlines, driven by one task.
//!
//! A task per timer would pile up as clients come and go (a sleeping task is never told that
//! its client came back) and would hold its session, queue and all, until it woke. Here each
//! session has at most one entry of each kind, an entry goes the moment its client is back or
//! its session ends, and the index never holds more than two entries per session.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use foldhash::HashMap;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use super::lifecycle::{self, Action, Event, Phase};
use super::{Broker, Session};
use crate::protocol::Will;

/// The kinds of deadline a session has, one entry of each at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The will's delay [MQTT-3.1.3-9].
    Will = 0,
    /// The session's expiry interval [MQTT-3.1.2-23].
    Expiry = 1,
}

type Key = (Instant, u64);

/// Deadlines ordered by time, each belonging to an owner and one of its slots; arming a slot
/// again replaces what it held.
#[derive(Debug)]
pub struct Deadlines<V> {
    due: BTreeMap<Key, (usize, Slot, V)>,
    owners: HashMap<usize, [Option<Key>; 2]>,
    next_seq: u64,
}

impl<V> Default for Deadlines<V> {
    fn default() -> Self {
        Deadlines {
            due: BTreeMap::new(),
            owners: HashMap::default(),
            next_seq: 0,
        }
    }
}

impl<V> Deadlines<V> {
    /// Sets `owner`'s `slot` to fire `value` at `at`; returns what the slot held before.
    pub fn arm(&mut self, owner: usize, slot: Slot, at: Instant, value: V) -> Option<V> {
        let key = (at, self.next_seq);
        self.next_seq += 1;
        self.due.insert(key, (owner, slot, value));
        let old = self.owners.entry(owner).or_default()[slot as usize].replace(key)?;
        self.due.remove(&old).map(|(_, _, v)| v)
    }

    /// Takes every entry of `owner` out, in deadline order.
    pub fn cancel(&mut self, owner: usize) -> Vec<(Slot, V)> {
        let Some(keys) = self.owners.remove(&owner) else {
            return Vec::new();
        };
        let mut keys: Vec<Key> = keys.into_iter().flatten().collect();
        keys.sort_unstable();
        keys.into_iter()
            .filter_map(|k| self.due.remove(&k))
            .map(|(_, slot, v)| (slot, v))
            .collect()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.due.keys().next().map(|(at, _)| *at)
    }

    /// Takes out the entries due by `now`, earliest first (armed first on a tie).
    pub fn take_due(&mut self, now: Instant) -> Vec<(usize, Slot, V)> {
        let mut out = Vec::new();
        while let Some(entry) = self.due.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (owner, slot, value) = entry.remove();
            if let Some(keys) = self.owners.get_mut(&owner) {
                keys[slot as usize] = None;
                if keys.iter().all(Option::is_none) {
                    self.owners.remove(&owner);
                }
            }
            out.push((owner, slot, value));
        }
        out
    }

    /// Entries armed.
    pub fn len(&self) -> usize {
        self.due.len()
    }

    /// Whether none is armed.
    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }
}

/// What a session's deadline does when it comes.
#[derive(Debug)]
pub struct Armed {
    /// The session, kept alive only while it has a deadline.
    pub session: Arc<Session>,
    /// The session's generation when armed: a newer connection makes the entry stale.
    pub generation: u64,
    /// The will to publish ([`Slot::Will`] only).
    pub will: Option<Box<Will>>,
}

/// The broker's timers: [`Deadlines`] behind a short lock (taken after any other lock, and
/// never holding one of its own while it calls out), and the wake-up of their task.
#[derive(Debug, Default)]
pub struct Timers {
    index: Mutex<Deadlines<Armed>>,
    wake: Notify,
}

fn owner(session: &Session) -> usize {
    session as *const Session as usize
}

impl Timers {
    fn index(&self) -> MutexGuard<'_, Deadlines<Armed>> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Arms `session`'s `slot` to fire in `after`.
    pub fn arm(
        &self,
        session: &Arc<Session>,
        generation: u64,
        slot: Slot,
        after: Duration,
        will: Option<Will>,
    ) {
        let armed = Armed {
            session: session.clone(),
            generation,
            will: will.map(Box::new),
        };
        let at = Instant::now() + after;
        let replaced = self.index().arm(owner(session), slot, at, armed);
        // Dropped outside the lock: it may hold the last reference to a session.
        drop(replaced);
        self.wake.notify_one();
    }

    /// Forgets `session`'s deadlines (its client is back, or it ended); returns the will that
    /// was waiting for its delay, if it was armed by the connection of `generation`, the
    /// session's latest. A will armed for an older connection is dropped: that connection's
    /// close was handled after a newer one had attached (the new one's CONNECT came while the
    /// old one was detaching), and a reconnect within the delay cancels a will [MQTT-3.1.3-9].
    pub fn cancel(&self, session: &Session, generation: u64) -> Option<Will> {
        let cancelled = self.index().cancel(owner(session));
        cancelled
            .into_iter()
            .filter(|(_, armed)| armed.generation == generation)
            .find_map(|(_, armed)| armed.will.map(|w| *w))
    }

    /// Deadlines armed, over all sessions.
    pub fn len(&self) -> usize {
        self.index().len()
    }

    /// Whether no deadline is armed.
    pub fn is_empty(&self) -> bool {
        self.index().is_empty()
    }
}

impl Broker {
    /// Carries out a deadline that came, unless the session moved on since it was armed.
    fn deadline_passed(&self, slot: Slot, armed: Armed) {
        let Armed {
            session,
            generation,
            will,
        } = armed;
        {
            let state = session.lock();
            if state.generation != generation || state.conn.is_some() {
                return;
            }
        }
        match slot {
            Slot::Will => {
                let phase = Phase::Offline {
                    will_pending: will.is_some(),
                };
                let (_, actions) = lifecycle::step(phase, Event::WillDue);
                if let (true, Some(will)) = (actions.contains(&Action::PublishWill), will) {
                    self.will_due(&session, *will);
                }
            }
            // The step of an expiry (a will still waiting goes out, then the session ends) is
            // what ending a session does.
            Slot::Expiry => {
                self.end_session(&session, generation);
            }
        }
    }
}

/// Fires deadlines as they come until shutdown.
pub async fn run(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let woken = broker.timers.wake.notified();
        tokio::pin!(woken);
        // Registered before the look at the index, so that an entry armed after it wakes us.
        woken.as_mut().enable();
        let next = broker.timers.index().next();
        // Without a deadline, an hour's sleep that an arming cuts short.
        let at = next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = &mut woken => {}
            _ = shutdown.changed() => return,
        }
        let due = broker.timers.index().take_due(Instant::now());
        for (_, slot, armed) in due {
            broker.deadline_passed(slot, armed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, secs: u64) -> Instant {
        base + Duration::from_secs(secs)
    }

    #[test]
    fn entries_come_due_in_deadline_order_ties_in_arming_order() {
        let base = Instant::now();
        let mut d = Deadlines::default();
        d.arm(1, Slot::Expiry, at(base, 10), "a-expiry");
        d.arm(1, Slot::Will, at(base, 10), "a-will");
        d.arm(2, Slot::Will, at(base, 5), "b-will");
        assert_eq!(d.next(), Some(at(base, 5)));
        assert!(d.take_due(at(base, 4)).is_empty());
        let due: Vec<_> = d.take_due(at(base, 10)).into_iter().map(|e| e.2).collect();
        assert_eq!(due, vec!["b-will", "a-expiry", "a-will"]);
        assert!(d.is_empty());
        assert!(d.owners.is_empty(), "owners with nothing armed are forgotten");
    }

    #[test]
    fn arming_a_slot_again_replaces_it() {
        let base = Instant::now();
        let mut d = Deadlines::default();
        assert_eq!(d.arm(1, Slot::Expiry, at(base, 10), 1), None);
        assert_eq!(d.arm(1, Slot::Expiry, at(base, 20), 2), Some(1));
        assert_eq!(d.len(), 1, "bounded: one entry per slot");
        assert_eq!(d.take_due(at(base, 15)), vec![]);
        assert_eq!(d.take_due(at(base, 20)), vec![(1, Slot::Expiry, 2)]);
    }

    #[test]
    fn cancel_takes_out_every_entry_of_the_owner_only() {
        let base = Instant::now();
        let mut d = Deadlines::default();
        d.arm(1, Slot::Expiry, at(base, 60), "a-expiry");
        d.arm(1, Slot::Will, at(base, 30), "a-will");
        d.arm(2, Slot::Expiry, at(base, 60), "b-expiry");
        assert_eq!(
            d.cancel(1),
            vec![(Slot::Will, "a-will"), (Slot::Expiry, "a-expiry")]
        );
        assert_eq!(d.cancel(1), vec![]);
        assert_eq!(d.len(), 1);
        assert_eq!(d.take_due(at(base, 60)), vec![(2, Slot::Expiry, "b-expiry")]);
    }

    #[test]
    fn an_entry_that_fired_is_not_cancelled_again() {
        let base = Instant::now();
        let mut d = Deadlines::default();
        d.arm(1, Slot::Will, at(base, 1), "will");
        d.arm(1, Slot::Expiry, at(base, 2), "expiry");
        assert_eq!(d.take_due(at(base, 1)), vec![(1, Slot::Will, "will")]);
        assert_eq!(d.cancel(1), vec![(Slot::Expiry, "expiry")]);
        assert!(d.is_empty());
    }
}

#[cfg(test)]
mod broker_tests {
    use std::sync::Arc;

    use std::time::Duration;

    use super::Slot;
    use crate::protocol::{MessageProperties, QoS, SubscriptionOptions, Will};
    use crate::server::broker::test_support::{broker, link};
    use crate::server::broker::{Changes, Subscription};

    fn will() -> Will {
        Will {
            topic: "gone".into(),
            payload: "bye".into(),
            qos: QoS::AtMostOnce,
            retain: false,
            delay_interval: 30,
            properties: MessageProperties::default(),
        }
    }

    #[test]
    fn a_client_coming_and_going_holds_one_will_and_one_expiry_entry() {
        let broker = broker();
        let id: Arc<str> = "c".into();
        for n in 1..=100 {
            let attached = broker.attach(&id, false, 60, Some(&will()), link(n));
            assert_eq!(attached.session_present, n > 1);
            assert!(broker.timers.is_empty(), "the client is back: no deadline left");
            broker.detach(&attached.session, n, Some(will()));
            assert_eq!(
                broker.timers.len(),
                2,
                "a will delay and an expiry, after {n} visits"
            );
        }
    }

    #[test]
    fn a_discarded_session_is_freed_at_once() {
        let broker = broker();
        let id: Arc<str> = "c".into();
        let attached = broker.attach(&id, false, 3600, Some(&will()), link(1));
        broker.detach(&attached.session, 1, Some(will()));
        let old = Arc::downgrade(&attached.session);
        drop(attached);
        assert!(old.upgrade().is_some(), "kept offline for its client");
        let fresh = broker.attach(&id, true, 0, None, link(2));
        assert!(!fresh.session_present);
        assert!(old.upgrade().is_none(), "its deadlines no longer hold it");
        assert!(broker.timers.is_empty());
    }

    /// The old connection's close arms its delayed will only after a new connection resumed
    /// the session (the new CONNECT came while the old one was detaching): the new connection
    /// ending the session must not publish it [MQTT-3.1.3-9].
    #[test]
    fn a_will_armed_for_a_connection_already_replaced_is_not_published_when_the_session_ends() {
        let broker = broker();
        let watcher = broker.attach(&"w".into(), true, 0, None, link(1));
        broker.subscribe(
            &watcher.session,
            &"gone".into(),
            Subscription {
                options: SubscriptionOptions::default(),
                id: None,
            },
            &mut Changes::default(),
        );
        let id: Arc<str> = "c".into();
        let old = broker.attach(&id, false, 60, Some(&will()), link(2));
        let old_generation = old.generation;
        // The new connection attaches between the old one's detach and its arming the will.
        old.session.lock().conn = None;
        let new = broker.attach(&id, false, 60, None, link(3));
        assert!(new.session_present);
        broker.timers.arm(
            &old.session,
            old_generation,
            Slot::Will,
            Duration::from_secs(30),
            Some(will()),
        );
        // The new connection leaves, ending the session.
        new.session.set_expiry_interval(0);
        broker.detach(&new.session, 3, None);
        assert!(broker.session("c").is_none(), "the session ended");
        assert_eq!(
            watcher.session.lock().queued(),
            0,
            "the will of the replaced connection was published"
        );
    }

    #[test]
    fn a_session_without_expiry_ends_with_its_connection() {
        let broker = broker();
        let id: Arc<str> = "c".into();
        let attached = broker.attach(&id, true, 0, None, link(1));
        broker.detach(&attached.session, 1, None);
        assert!(broker.session("c").is_none());
        assert!(broker.timers.is_empty());
    }
}
