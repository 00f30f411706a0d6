//! Draining a session to its connection: packet ids, the in-flight window, QoS 2 packet ids
//! committed before their PUBLISH goes out, resends after a reconnect, and what the client's
//! acknowledgements complete. Only the connection that holds the session drains it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use super::aliases::OutAliases;
use super::bridge_rules::Rules;
use super::gate::{Gate, GateState};
use super::message::Delivery;
use super::records;
use super::{Session, SessionState};
use crate::protocol::{self, Ack, Packet, PublishRef, QoS, ReasonCode, Version};
use crate::server::metrics::{add, Metrics};
use crate::store::{DeliveryState, Op, Store, StoredOwner};

/// Where an outgoing QoS 1/2 message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutPhase {
    /// PUBLISH sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Published,
    /// PUBREL sent; waiting for PUBCOMP.
    Released,
}

/// An outgoing message the client has not acknowledged yet.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// What was sent.
    pub delivery: Delivery,
    /// Protocol phase.
    pub phase: OutPhase,
    /// Send order, so a resend keeps the original order [MQTT-4.6.0-1].
    pub seq: u64,
    /// False while a QoS 2 PUBLISH waits for its packet id to be committed before it goes out.
    pub sent: bool,
}

/// Whether `delivery` waits for its packet id to be committed before its PUBLISH goes out: a
/// QoS 2 delivery of a durable session, when there is a store (see [`SessionState::fill`]).
fn held_for_commit(delivery: &Delivery, store: Option<&Store>) -> bool {
    delivery.qos == QoS::ExactlyOnce && delivery.seq.is_some() && store.is_some()
}

/// What one fill wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filled {
    /// PUBLISH packets written.
    pub sent: usize,
    /// Whether nothing is left waiting for this connection.
    pub drained: bool,
}

impl Session {
    /// Moves queued deliveries into `out` for the connection that attached at `generation`
    /// (see [`SessionState::fill`]). A connection the session has been taken from since gets
    /// nothing: what it moved into the in-flight list would be written to a socket that is
    /// closing, and wait there for acknowledgements its client sends to the new connection
    /// under other packet ids.
    pub fn fill(
        self: &Arc<Self>,
        generation: u64,
        out: &mut BytesMut,
        max_bytes: usize,
        metrics: &Metrics,
        store: Option<&Store>,
    ) -> Filled {
        let mut state = self.lock();
        if state.generation != generation {
            return Filled {
                sent: 0,
                drained: true,
            };
        }
        let sent = state.fill(self, out, max_bytes, metrics, store);
        Filled {
            sent,
            drained: state.queued() == 0,
        }
    }

    /// Re-sends what is in flight to the connection that attached at `generation`, and only to
    /// it (see [`SessionState::resend_inflight`]).
    pub fn resend_inflight(&self, generation: u64, version: Version, out: &mut BytesMut) {
        let mut state = self.lock();
        if state.generation == generation {
            state.resend_inflight(version, out);
        }
    }

    /// Sets the session expiry interval (v5 DISCONNECT may change it); the record follows when
    /// the connection detaches.
    pub fn set_expiry_interval(&self, secs: u32) {
        self.lock().expiry_interval = secs;
    }

    /// Whether a subscription to `filter` fits within `max` subscriptions: there is room for one
    /// more, or it replaces one already held [MQTT-3.8.4-3].
    pub fn has_room_for(&self, filter: &str, max: usize) -> bool {
        let state = self.lock();
        state.subscriptions.len() < max || state.subscriptions.contains_key(filter)
    }

    /// The filters subscribed to.
    pub fn subscription_filters(&self) -> Vec<Arc<str>> {
        self.lock().subscriptions.keys().cloned().collect()
    }

    /// Has what goes out to the attached connection renamed by a bridge's `rules`.
    pub fn rename_with(&self, rules: Arc<Rules>) {
        if let Some(link) = self.lock().conn.as_mut() {
            link.rename = Some(rules);
        }
    }

    /// A packet identifier not in use by a message in flight.
    pub fn allocate_packet_id(&self) -> u16 {
        self.lock().allocate_packet_id()
    }

    /// The user the session belongs to, as stored.
    pub fn owner(&self) -> StoredOwner {
        self.lock().owner.clone()
    }
}

impl SessionState {
    /// A packet identifier not in use by a message in flight.
    pub(super) fn allocate_packet_id(&mut self) -> u16 {
        loop {
            let id = self.next_packet_id;
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            if !self.outgoing.contains_key(&id) {
                return id;
            }
        }
    }

    fn publish_parts(delivery: &Delivery, packet_id: u16, dup: bool, now: Instant) -> PublishRef<'_> {
        let msg = &delivery.message;
        PublishRef {
            dup,
            qos: delivery.qos,
            retain: delivery.retain,
            topic: &msg.topic,
            packet_id,
            payload: &msg.payload,
            properties: &msg.properties,
            message_expiry: msg.remaining_expiry(now),
            topic_alias: None,
            subscription_ids: &delivery.subscription_ids,
        }
    }

    /// The Maximum Packet Size of the attached client (unlimited while offline).
    fn max_packet_size(&self) -> usize {
        self.conn.as_ref().map_or(usize::MAX, |c| c.max_packet_size)
    }

    /// Writes the QoS 2 PUBLISH packets whose packet id has been committed, in order.
    /// Returns false while one of them is still waiting.
    fn send_unsent(
        &mut self,
        client_id: &str,
        version: Version,
        out: &mut BytesMut,
        now: Instant,
        store_ops: &mut Vec<Op>,
        metrics: &Metrics,
    ) -> bool {
        if self.unsent == 0 {
            return true;
        }
        let max_packet_size = self.max_packet_size();
        let mut waiting: Vec<(u64, u16)> = self
            .outgoing
            .iter()
            .filter(|(_, o)| !o.sent)
            .map(|(id, o)| (o.seq, *id))
            .collect();
        waiting.sort_unstable();
        for (_, id) in waiting {
            let Some(o) = self.outgoing.get_mut(&id) else {
                continue;
            };
            match o.delivery.gate_state() {
                GateState::Pending => return false,
                GateState::Failed => {
                    // The packet id never reached the disk: forget this attempt, keep the record.
                    let o = self.outgoing.remove(&id).map(|o| o.delivery);
                    self.unsent -= 1;
                    if let Some(mut d) = o {
                        d.gate = None;
                        self.queue.push_front(d);
                    }
                    return false;
                }
                GateState::Open => {
                    let parts = Self::publish_parts(&o.delivery, id, false, now);
                    let rename = self.conn.as_ref().and_then(|c| c.rename.clone());
                    let aliases = self.conn.as_mut().and_then(|c| c.aliases.as_deref_mut());
                    let written = encode_aliased(
                        version,
                        parts,
                        &o.delivery.message.topic,
                        aliases,
                        rename.as_deref(),
                        max_packet_size,
                        out,
                    );
                    o.sent = true;
                    self.unsent -= 1;
                    if written.is_err() {
                        self.dropped += 1;
                        add(&metrics.publish_dropped, 1);
                        if let Some(o) = self.outgoing.remove(&id) {
                            records::drop_record(&o.delivery, client_id, store_ops, metrics);
                        }
                    }
                }
            }
        }
        true
    }

    /// Moves queued deliveries into `out` while the client's receive maximum and `max_bytes`
    /// allow. QoS 2 deliveries of a durable session first have their packet id committed
    /// ([MQTT-4.3.3-1]: a restarted broker must resend with the same id), so they are held back
    /// behind a gate that `session` is notified about, and what comes after them waits too.
    ///
    /// Returns how many PUBLISH packets were written.
    pub(super) fn fill(
        &mut self,
        session: &Arc<Session>,
        out: &mut BytesMut,
        max_bytes: usize,
        metrics: &Metrics,
        store: Option<&Store>,
    ) -> usize {
        let Some(conn) = &self.conn else { return 0 };
        let (version, receive_maximum, max_packet_size) =
            (conn.version, conn.receive_maximum as usize, conn.max_packet_size);
        if let Some(spill) = self.spill.as_deref_mut() {
            let lost = std::mem::take(&mut spill.lost);
            metrics.store_bytes.fetch_sub(lost as u64, Ordering::Relaxed);
        }
        if let Some(store) = store {
            self.page_in(session, store);
        }
        let now = Instant::now();
        let mut store_ops = Vec::new();
        let mut pid_ops = Vec::new();
        let mut deferred = Vec::new();
        let mut sent = 0;
        let mut sent_by_qos = [0u64; 3];
        let mut moved = 0usize;
        // One allocation for what is about to be written, rather than a buffer doubling (and
        // copying) its way up packet by packet.
        let want = self.queue.bytes().min(max_bytes.saturating_sub(out.len()));
        if out.capacity() - out.len() < want {
            out.reserve(want);
        }
        let ready = self.send_unsent(&session.client_id, version, out, now, &mut store_ops, metrics);
        while ready && out.len() < max_bytes {
            let Some(front) = self.queue.front() else {
                break;
            };
            match front.gate_state() {
                GateState::Pending => break,
                GateState::Failed => {
                    // Its state never reached the disk, and the publisher was not acknowledged.
                    if let Some(unstored) = self.queue.pop_front().filter(|d| d.seq.is_some()) {
                        let size = unstored.message.size() as u64;
                        metrics.store_bytes.fetch_sub(size, Ordering::Relaxed);
                    }
                    continue;
                }
                GateState::Open => {}
            }
            if front.qos != QoS::AtMostOnce && self.outgoing.len() >= receive_maximum {
                break;
            }
            if !deferred.is_empty() && !held_for_commit(front, store) {
                // Written now, it would overtake the QoS 2 delivery held before it: a topic's
                // messages go out in the order they came [MQTT-4.6.0-6]. It goes once that
                // one's packet id is committed.
                break;
            }
            let Some(mut delivery) = self.queue.pop_front() else {
                break;
            };
            delivery.gate = None;
            moved += 1;
            if delivery.message.is_expired(now) {
                add(&metrics.publish_dropped, 1);
                records::drop_record(&delivery, &session.client_id, &mut store_ops, metrics);
                continue;
            }
            // [MQTT-3.1.2-24] a packet larger than the client's maximum is dropped, never sent
            let packet_id = match delivery.qos {
                QoS::AtMostOnce => 0,
                _ => self.allocate_packet_id(),
            };
            let parts = Self::publish_parts(&delivery, packet_id, false, now);
            let hold = held_for_commit(&delivery, store);
            let fits = if hold {
                protocol::publish_parts_len(version, &parts).is_ok_and(|len| len <= max_packet_size)
            } else {
                let rename = self.conn.as_ref().and_then(|c| c.rename.clone());
                let aliases = self.conn.as_mut().and_then(|c| c.aliases.as_deref_mut());
                encode_aliased(
                    version,
                    parts,
                    &delivery.message.topic,
                    aliases,
                    rename.as_deref(),
                    max_packet_size,
                    out,
                )
                .is_ok()
            };
            if !fits {
                self.dropped += 1;
                add(&metrics.publish_dropped, 1);
                records::drop_record(&delivery, &session.client_id, &mut store_ops, metrics);
                continue;
            }
            if delivery.qos == QoS::AtMostOnce {
                sent += 1;
                sent_by_qos[0] += 1;
                continue;
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            if hold {
                if let Some(store_seq) = delivery.seq {
                    let state = DeliveryState::Sent { packet_id };
                    pid_ops.push(records::set_delivery_state(&session.client_id, store_seq, state));
                }
                deferred.push(packet_id);
                self.unsent += 1;
            } else {
                sent += 1;
                sent_by_qos[delivery.qos as usize] += 1;
            }
            self.outgoing.insert(
                packet_id,
                Outgoing {
                    delivery,
                    phase: OutPhase::Published,
                    seq,
                    sent: !hold,
                },
            );
        }
        if moved > 0 {
            self.last_progress = now;
            self.stalled = false;
        }
        if !self.waiters.is_empty() && !self.is_full(0) {
            self.wake_waiters();
        }
        if let Some(store) = store {
            if !pid_ops.is_empty() {
                let gate = Gate::new();
                for id in deferred {
                    if let Some(o) = self.outgoing.get_mut(&id) {
                        o.delivery.gate = Some(gate.clone());
                    }
                }
                let session = session.clone();
                store.submit(
                    pid_ops,
                    Some(Box::new(move |ok| {
                        gate.settle(ok);
                        session.notify.notify_one();
                    })),
                );
            }
            if !store_ops.is_empty() {
                store.submit(store_ops, None);
            }
        }
        for (counter, n) in metrics.publish_sent.iter().zip(sent_by_qos) {
            if n > 0 {
                add(counter, n);
            }
        }
        add(&metrics.messages_sent, sent as u64);
        sent
    }

    /// Re-sends every unacknowledged message in its original order, PUBLISH with DUP set or
    /// PUBREL [MQTT-4.4.0-1]; used when a persistent session reconnects.
    pub(super) fn resend_inflight(&mut self, version: Version, out: &mut BytesMut) {
        let now = Instant::now();
        let mut pending: Vec<(&u16, &Outgoing)> = self.outgoing.iter().collect();
        pending.sort_by_key(|(_, o)| o.seq);
        let max_packet_size = self.max_packet_size();
        let rename = self.conn.as_ref().and_then(|c| c.rename.as_deref());
        for (id, o) in pending.into_iter().filter(|(_, o)| o.sent) {
            let written = match o.phase {
                OutPhase::Published => {
                    let parts = Self::publish_parts(&o.delivery, *id, true, now);
                    let topic = &o.delivery.message.topic;
                    encode_aliased(version, parts, topic, None, rename, max_packet_size, out).map(|_| ())
                }
                OutPhase::Released => protocol::encode(version, &Packet::Pubrel(Ack::success(*id)), out),
            };
            if let Err(e) = written {
                tracing::warn!(client_packet_id = id, "cannot re-send inflight message: {e}");
            }
        }
    }

    /// Handles PUBACK: the delivery it completes, if it matched a QoS 1 message in flight.
    pub(super) fn on_puback(&mut self, packet_id: u16) -> Option<Delivery> {
        match self.outgoing.get(&packet_id) {
            Some(o) if o.delivery.qos == QoS::AtLeastOnce && o.sent => {
                self.outgoing.remove(&packet_id).map(|o| o.delivery)
            }
            _ => None,
        }
    }

    /// Handles PUBREC for a QoS 2 message the broker sent; `None` when no such message is in flight.
    pub(super) fn on_pubrec(&mut self, packet_id: u16, reason: ReasonCode) -> Option<PubrecOutcome> {
        let o = self.outgoing.get_mut(&packet_id)?;
        if o.delivery.qos != QoS::ExactlyOnce || !o.sent {
            return None;
        }
        if reason.is_error() {
            return self
                .outgoing
                .remove(&packet_id)
                .map(|o| PubrecOutcome::Refused(o.delivery));
        }
        if o.phase == OutPhase::Released {
            return Some(PubrecOutcome::Repeated);
        }
        o.phase = OutPhase::Released;
        Some(PubrecOutcome::Release(o.delivery.clone()))
    }

    /// Handles PUBCOMP: the delivery it completes, if any.
    pub(super) fn on_pubcomp(&mut self, packet_id: u16) -> Option<Delivery> {
        match self.outgoing.get(&packet_id) {
            Some(o) if o.phase == OutPhase::Released => self.outgoing.remove(&packet_id).map(|o| o.delivery),
            _ => None,
        }
    }
}

/// What a PUBREC does to an outgoing QoS 2 message.
#[derive(Debug)]
pub(super) enum PubrecOutcome {
    /// Move on to PUBREL; the delivery is returned so its record can say "released".
    Release(Delivery),
    /// PUBREC again for a message already released: answer PUBREL again.
    Repeated,
    /// The client refused the message (v5 reason ≥ 0x80): it is dropped.
    Refused(Delivery),
}

/// Encodes a PUBLISH, its topic replaced by an alias where the client takes them; an alias
/// given for a packet that could not be written is taken back.
///
/// A bridge's link has its topics renamed by its rules instead (it takes no aliases).
fn encode_aliased(
    version: Version,
    mut parts: PublishRef<'_>,
    topic: &Arc<str>,
    aliases: Option<&mut OutAliases>,
    rename: Option<&Rules>,
    max_size: usize,
    out: &mut BytesMut,
) -> Result<usize, protocol::EncodeError> {
    if let Some(rules) = rename {
        // Queued under a rule the configuration no longer has: it is not sent under its local
        // name, it is dropped (and counted) like a message that does not fit.
        let renamed = rules
            .to_remote(topic)
            .ok_or_else(|| protocol::EncodeError::InvalidTopic(topic.to_string()))?;
        let parts = PublishRef {
            topic: &renamed,
            ..parts
        };
        return protocol::encode_publish_parts(version, &parts, max_size, out);
    }
    let Some(aliases) = aliases else {
        return protocol::encode_publish_parts(version, &parts, max_size, out);
    };
    let topic_out = aliases.topic_out(topic);
    if !topic_out.name {
        parts.topic = "";
    }
    parts.topic_alias = topic_out.alias;
    let written = protocol::encode_publish_parts(version, &parts, max_size, out);
    if written.is_err() {
        aliases.forget(topic, topic_out);
    }
    written
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::{Bytes, BytesMut};

    use crate::protocol::{MessageProperties, QoS, SubscriptionOptions, Version};
    use crate::server::broker::gate::GateState;
    use crate::server::broker::message::Delivery;
    use crate::server::broker::session::Enqueued;
    use crate::server::broker::test_support::{broker, broker_with, link};
    use crate::server::broker::{Attached, Broker, Changes, Message, Subscription};
    use crate::store::{Store, StoreDurability};

    fn message(topic: &str) -> Message {
        Message {
            topic: topic.into(),
            payload: Bytes::from_static(b"m"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: MessageProperties::default(),
            expires_at: None,
            publisher: None,
        }
    }

    // [MQTT-3.1.4-3] once a new connection has taken the session over, the old one, still
    // running until it notices, must not move the session's messages into the in-flight list:
    // they would go out on the old socket and wait there for acknowledgements that never come.
    #[test]
    fn a_taken_over_connection_drains_nothing_into_flight() {
        let broker = broker();
        let id: Arc<str> = "c".into();
        let old = broker.attach(&id, false, 60, None, link(1));
        let subscription = Subscription {
            options: SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                ..Default::default()
            },
            id: None,
        };
        broker.subscribe(&old.session, &"t".into(), subscription, &mut Changes::default());
        let new = broker.attach(&id, false, 60, None, link(2));
        assert!(new.session_present);
        assert!(Arc::ptr_eq(&old.session, &new.session), "the session was resumed");
        for _ in 0..3 {
            broker.publish(message("t"), Changes::default(), None);
        }
        let mut stale_out = BytesMut::new();
        let stale = old
            .session
            .fill(old.generation, &mut stale_out, 1 << 16, &broker.metrics, None);
        assert_eq!(stale.sent, 0, "the old connection wrote nothing");
        assert!(stale_out.is_empty());
        assert_eq!(new.session.lock().inflight(), 0, "nothing stranded in flight");
        assert_eq!(
            new.session.lock().queued(),
            3,
            "everything waits for the new connection"
        );

        let mut out = BytesMut::new();
        let filled = new
            .session
            .fill(new.generation, &mut out, 1 << 16, &broker.metrics, None);
        assert_eq!(filled.sent, 3);
        assert!(filled.drained);
        assert_eq!(new.session.lock().inflight(), 3);

        // A resend [MQTT-4.4.0-1] is the new connection's to make, too.
        old.session
            .resend_inflight(old.generation, Version::V5, &mut stale_out);
        assert!(stale_out.is_empty());
        let before = out.len();
        new.session.resend_inflight(new.generation, Version::V5, &mut out);
        assert!(out.len() > before);
    }

    // [MQTT-4.3.2-2]/[MQTT-3.1.2-5] a message the publisher was acknowledged for is delivered
    // to the persistent session it was queued for. Queued for an offline session, it is kept
    // in the store only, and its record is committed after it was counted there: a read of
    // the store between the two found nothing, and the session took the message for lost.
    #[test]
    fn a_delivery_kept_in_the_store_is_read_back_only_once_its_record_is_committed() {
        let (_dir, broker, first) = durable_subscriber(QoS::AtLeastOnce);
        let store = broker.store().expect("a durable broker");
        let id = first.session.client_id.clone();
        broker.detach(&first.session, 1, None);
        // One message queued and committed while the client is offline...
        broker.publish(message("t"), Changes::default(), None);
        store.flush();

        // ... and one queued as `publish` does, with its commit not submitted yet.
        let mut ops = Vec::new();
        let mut gate = None;
        let delivery = Delivery::new(Arc::new(message("t")), QoS::AtLeastOnce, false, Vec::new());
        let queued = first
            .session
            .enqueue(delivery, &broker.metrics, Some(&mut ops), &mut gate);
        assert_eq!(queued, Enqueued::Queued);
        assert_eq!(first.session.lock().spilled().0, 2, "kept in the store only");

        // The client is back and its connection drains the session before the commit: what
        // was committed before goes out, the other is neither read nor forgotten.
        let back = broker.attach(&id, false, 60, None, link(2));
        assert!(back.session_present);
        let mut out = BytesMut::new();
        let fill = |out: &mut BytesMut| {
            let filled = back
                .session
                .fill(back.generation, out, 1 << 16, &broker.metrics, Some(store));
            reads_done(store);
            filled.sent
        };
        assert_eq!(fill(&mut out), 0, "the first fill starts a read");
        assert_eq!(fill(&mut out), 1, "the committed message goes out");
        assert_eq!(fill(&mut out), 0, "nothing to send before the commit");
        assert_eq!(back.session.lock().spilled().0, 1, "still counted: not lost");

        let gate = gate.expect("the delivery waits for its commit");
        let settled = gate.clone();
        store.submit(ops, Some(Box::new(move |ok| settled.settle(ok))));
        store.flush();
        assert_eq!(gate.state(), GateState::Open);
        // Woken by the commit: the first fill reads the store, the next sends what it found.
        assert_eq!(fill(&mut out), 0);
        assert_eq!(fill(&mut out), 1, "the acknowledged message is delivered");
        assert_eq!(back.session.lock().spilled().0, 0);
    }

    // [MQTT-4.6.0-6] a topic's messages reach a subscriber in the order they were published.
    // A QoS 2 delivery to a durable session waits for its packet id to be committed; the QoS 1
    // delivery queued after it went out at once and overtook it.
    #[test]
    fn nothing_overtakes_a_qos2_delivery_waiting_for_its_packet_id() {
        let (_dir, broker, sub) = durable_subscriber(QoS::ExactlyOnce);
        let store = broker.store().expect("a durable broker");
        for (qos, payload) in [(QoS::ExactlyOnce, "first"), (QoS::AtLeastOnce, "second")] {
            let mut m = message("t");
            m.qos = qos;
            m.payload = Bytes::from_static(payload.as_bytes());
            broker.publish(m, Changes::default(), None);
        }
        store.flush();

        let mut out = BytesMut::new();
        let first = sub
            .session
            .fill(sub.generation, &mut out, 1 << 16, &broker.metrics, Some(store));
        assert_eq!(first.sent, 0, "the QoS 1 message waits behind the held QoS 2 one");
        assert!(out.is_empty());
        store.flush();
        sub.session
            .fill(sub.generation, &mut out, 1 << 16, &broker.metrics, Some(store));
        assert_eq!(publishes(&out), [(2, b"first".to_vec()), (1, b"second".to_vec())]);
    }

    /// A broker with a store in a temporary directory (kept while the first value lives), and
    /// the persistent session "c" attached as connection 1, subscribed to "t" at `qos`.
    fn durable_subscriber(qos: QoS) -> (tempfile::TempDir, Arc<Broker>, Attached) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, _) = Store::open(dir.path(), StoreDurability::Immediate).expect("open the store");
        let broker = broker_with(Some(store));
        let attached = broker.attach(&"c".into(), false, 60, None, link(1));
        let subscription = Subscription {
            options: SubscriptionOptions {
                qos,
                ..Default::default()
            },
            id: None,
        };
        let mut changes = Changes::default();
        broker.subscribe(&attached.session, &"t".into(), subscription, &mut changes);
        broker.commit_changes(changes, None);
        (dir, broker, attached)
    }

    /// The QoS and payload of each PUBLISH in `bytes` (v5, as the spec lays it out: fixed
    /// header, topic, packet id, properties, payload), read without the crate's codec.
    fn publishes(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut found = Vec::new();
        while let Some((&first, rest)) = bytes.split_first() {
            assert_eq!(first >> 4, 3, "a PUBLISH");
            let (mut len, mut shift, mut at) = (0usize, 0, 0);
            loop {
                let b = rest[at];
                len |= usize::from(b & 0x7f) << shift;
                at += 1;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            let body = &rest[at..at + len];
            let qos = (first >> 1) & 3;
            let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
            let mut i = 2 + topic_len + if qos > 0 { 2 } else { 0 };
            let properties_len = usize::from(body[i]);
            assert!(properties_len < 0x80, "one-byte property length");
            i += 1 + properties_len;
            found.push((qos, body[i..].to_vec()));
            bytes = &rest[at + len..];
        }
        found
    }

    /// Returns once every read submitted before has answered: the writer answers a batch's
    /// reads after its flushes, so the second flush's batch comes after the first's reads.
    fn reads_done(store: &Store) {
        store.flush();
        store.flush();
    }
}
