//! Publishing: the retained store, routing through the trie to each matching session once.
//! With an ACL, each receiver's read access to the concrete topic is checked at routing time,
//! and a will's write access when it falls due.

use std::sync::Arc;

use smallvec::SmallVec;

use super::gate::Gate;
use super::records;
use super::{read, write, Broker, Changes, Delivery, Enqueued, Message, Session};
use crate::protocol::QoS;
use crate::server::metrics::add;
use crate::store::Op;

/// Retained `$SYS` figures are republished every interval; storing them would only wear the disk.
fn is_volatile_topic(topic: &str) -> bool {
    topic.starts_with("$SYS/")
}

/// The authorization layer's say on routing, installed once with
/// [`Broker::set_access_check`] when an ACL is configured. Called with the trie's read lock
/// held, so it must not call back into the broker.
pub trait AccessCheck: Send + Sync + std::fmt::Debug {
    /// Whether `session`'s client may receive a message published on `topic`.
    fn may_receive(&self, session: &Session, topic: &str) -> bool;
    /// Whether `session`'s will may be published on `topic` now.
    fn may_publish_will(&self, session: &Session, topic: &str) -> bool;
}

/// A session a message is routed to: its QoS, RETAIN flag and subscription identifier.
type Target<'a> = (&'a Arc<Session>, QoS, bool, Option<u32>);

/// What a publish did.
#[derive(Debug)]
pub struct Published {
    /// Sessions that took the message.
    pub delivered: usize,
    /// Matching sessions that could not take it (queue full while offline or stalled).
    pub dropped: usize,
    /// Sessions that took it past their bound or the memory budget: the publisher must not
    /// send more, nor be acknowledged for this message, until they have room (flow control).
    pub paced: Vec<Arc<Session>>,
    /// Set when the publisher's acknowledgement must wait for a commit.
    pub gate: Option<Arc<Gate>>,
}

impl Broker {
    /// Installs the ACL check for deliveries and wills; false if one was installed already.
    pub fn set_access_check(&self, check: Arc<dyn AccessCheck>) -> bool {
        self.access.set(check).is_ok()
    }

    /// Whether `session`'s will may go out on `topic` now; logs the refusal.
    pub(super) fn will_allowed(&self, session: &Session, topic: &str) -> bool {
        let allowed = self
            .access
            .get()
            .is_none_or(|a| a.may_publish_will(session, topic));
        if !allowed {
            tracing::info!(client_id = %session.client_id, topic, "will not published: the ACL does not allow its topic");
        }
        allowed
    }

    /// Publishes a message: updates the retained store and delivers it to every matching
    /// session once, at the highest QoS of its matching subscriptions, with all their
    /// identifiers. With an ACL, only to sessions whose client may read the topic.
    ///
    /// What must survive a crash (the retained message, deliveries queued for durable
    /// sessions, and `changes`) is committed in one go; the deliveries and the returned gate
    /// open when it is. `publisher` is woken then, to send its acknowledgement.
    pub fn publish(&self, message: Message, changes: Changes, publisher: Option<&Arc<Session>>) -> Published {
        let message = Arc::new(message);
        let durable = self.store.is_some();
        let mut ops = changes.0;
        if message.retain {
            write(&self.retained).apply(&message);
            if durable && !is_volatile_topic(&message.topic) {
                ops.push(records::retained(&message));
            }
        }
        // Deliveries wait for the commit only when there is something to commit: the retained
        // message or `changes` (a QoS 2 publisher's state: delivered before it is stored, a
        // crash would have the message sent again, twice), or, from the first delivery whose
        // record is added, what the queue of a persistent session stores (`enqueue` creates
        // the gate then). A QoS 1 delivery to a session that stores nothing need not wait: if
        // the broker crashed before the commit, the publisher, unacknowledged, sends it again.
        let mut gate = (durable && (message.qos == QoS::ExactlyOnce || message.retain || !ops.is_empty()))
            .then(Gate::new);
        // Most messages go to a few sessions: this list stays on the stack.
        let mut notify: SmallVec<[Arc<Session>; 4]> = SmallVec::new();
        let mut delivered = 0;
        let mut dropped = 0;
        let mut paced = Vec::new();
        // Queues that drop their oldest deliveries and must read which those are.
        let mut find_oldest: SmallVec<[Arc<Session>; 1]> = SmallVec::new();
        let access = self.access.get();
        {
            let trie = read(&self.trie);
            let mut targets: SmallVec<[Target; 4]> = SmallVec::new();
            let mut offer =
                |session: &Arc<Session>, qos: QoS, retain: bool, ids: Vec<u32>, ops: &mut Vec<Op>| {
                    let mut delivery = Delivery::new(message.clone(), qos, retain, ids);
                    delivery.gate = gate.clone();
                    let outcome = session.enqueue(delivery, &self.metrics, durable.then_some(ops), &mut gate);
                    match outcome {
                        // A client is never held back by its own queue: what drains it is
                        // the client's acknowledgements, which wait, unread, behind its
                        // publishes. Its delivery is queued past the bound like the others.
                        Enqueued::Paced if !publisher.is_some_and(|p| Arc::ptr_eq(p, session)) => {
                            add(&self.metrics.limits.publishers_paced, 1);
                            paced.push(session.clone());
                        }
                        Enqueued::QueuedFindOldest => find_oldest.push(session.clone()),
                        _ => {}
                    }
                    match outcome {
                        Enqueued::Queued | Enqueued::Paced | Enqueued::QueuedFindOldest => {
                            delivered += 1;
                            if gate.is_some() {
                                notify.push(session.clone());
                            }
                        }
                        Enqueued::Dropped => dropped += 1,
                        Enqueued::Skipped => {}
                    }
                };
            trie.for_each_match(&message.topic, |m| {
                let sub = m.subscriber.subscription;
                let session = &m.subscriber.session;
                if access.is_some_and(|a| !a.may_receive(session, &message.topic)) {
                    return;
                }
                // [MQTT-3.8.3-3] no local: not back to the publisher
                if sub.options.no_local && message.publisher.as_deref() == Some(&*session.client_id) {
                    return;
                }
                let qos = message.qos.min(sub.options.qos);
                // [MQTT-3.3.1-12]/[MQTT-3.3.1-13] RETAIN is kept only with retain-as-published
                let retain = sub.options.retain_as_published && message.retain;
                if m.shared {
                    offer(session, qos, retain, sub.id.into_iter().collect(), &mut ops);
                } else {
                    targets.push((session, qos, retain, sub.id));
                }
            });
            if targets.len() > 1 {
                targets.sort_by_key(|t| Arc::as_ptr(t.0));
            }
            let mut i = 0;
            while i < targets.len() {
                let (session, mut qos, mut retain, id) = targets[i];
                let mut ids: Vec<u32> = id.into_iter().collect();
                let mut j = i + 1;
                // Overlapping subscriptions: one copy, the highest QoS, every identifier [MQTT-3.3.4-2], [MQTT-3.3.4-3]
                while j < targets.len() && Arc::ptr_eq(targets[j].0, session) {
                    qos = qos.max(targets[j].1);
                    retain |= targets[j].2;
                    ids.extend(targets[j].3);
                    j += 1;
                }
                offer(session, qos, retain, ids, &mut ops);
                i = j;
            }
        }
        let waits = gate.is_some() && !ops.is_empty();
        if gate.is_some() {
            // Its acknowledgement waits for the commit too.
            notify.extend(publisher.cloned());
        }
        self.commit_refusable(ops, gate.clone(), notify);
        if let Some(store) = &self.store {
            for session in find_oldest {
                session.find_oldest(store);
            }
        }
        Published {
            delivered,
            dropped,
            paced,
            gate: gate.filter(|_| waits),
        }
    }
}
