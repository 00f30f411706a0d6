//! One client's session: subscriptions, the outbound queue and inflight window, QoS 2 state.
//!
//! The session outlives its connections. Publishers push deliveries into its queue; the
//! connection currently attached drains the queue into its write buffer.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::BytesMut;
use tokio::sync::{oneshot, Notify};

use super::message::Delivery;
use crate::protocol::{self, Ack, Packet, Publish, QoS, SubscriptionOptions, Version};
use crate::server::metrics::{add, ConnStats, Metrics};
use crate::server::persist::{self, Gate, GateState};
use crate::store::{DeliveryState, Op, Store, StoredOwner, StoredWill};

/// A subscription as the session remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    /// Options from SUBSCRIBE.
    pub options: SubscriptionOptions,
    /// v5 subscription identifier.
    pub id: Option<u32>,
}

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

/// Queue bounds.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Most deliveries waiting in one session's queue.
    pub max_messages: usize,
    /// Most bytes waiting in one session's queue.
    pub max_bytes: usize,
    /// Most bytes of durable deliveries in the store, all sessions together.
    pub max_store_bytes: u64,
}

/// The connection a session is attached to.
#[derive(Debug)]
pub struct ConnLink {
    /// Broker-wide connection number.
    pub id: u64,
    /// Tells the connection to close with this v5 reason code.
    pub kick: Option<oneshot::Sender<u8>>,
    /// Protocol version of the connection.
    pub version: Version,
    /// The client's receive maximum: QoS 1/2 messages in flight at most.
    pub receive_maximum: u16,
    /// The client's maximum packet size.
    pub max_packet_size: usize,
    /// The connection's figures (address, counters), for the admin API.
    pub stats: Arc<ConnStats>,
    /// The user name the client authenticated with (`None`: anonymous).
    pub username: Option<Arc<str>>,
}

/// Mutable session state, behind the session's mutex.
#[derive(Debug)]
pub struct SessionState {
    /// The attached connection, `None` while offline.
    pub conn: Option<ConnLink>,
    /// Bumped at each attach, so timers armed for an older connection can tell.
    pub generation: u64,
    /// Subscriptions by full filter (including any `$share/group/` prefix).
    pub subscriptions: HashMap<Arc<str>, Subscription>,
    /// Deliveries not yet sent.
    pub queue: VecDeque<Delivery>,
    /// Bytes held by `queue`.
    pub queued_bytes: usize,
    /// Sent and unacknowledged QoS 1/2 messages by packet identifier.
    pub outgoing: HashMap<u16, Outgoing>,
    next_packet_id: u16,
    next_seq: u64,
    /// Incoming QoS 2 packet identifiers awaiting PUBREL.
    pub incoming_qos2: HashSet<u16>,
    /// Session expiry interval in seconds; `u32::MAX` never expires.
    pub expiry_interval: u32,
    /// Messages this session could not take.
    pub dropped: u64,
    drop_logged: bool,
    limits: QueueLimits,
    /// Next key for a durable delivery record.
    pub next_store_seq: u64,
    /// Whether the store holds a record of this session.
    pub stored: bool,
    /// The will as kept in the session record (while connected, or while a delayed will waits).
    pub stored_will: Option<StoredWill>,
    /// When the session went offline (Unix ms), for its stored record.
    pub offline_since_ms: Option<u64>,
    /// The user its client authenticated as, kept in the stored record so that ACL checks
    /// after a restart, before the client is back, know whose session it is.
    pub owner: StoredOwner,
    /// Outgoing entries not yet sent (waiting on a gate).
    unsent: usize,
}

/// A client's session, shared between the broker's tables and the attached connection.
#[derive(Debug)]
pub struct Session {
    /// Client identifier.
    pub client_id: Arc<str>,
    state: Mutex<SessionState>,
    /// Woken when the queue gains something to send.
    pub notify: Notify,
}

/// Outcome of offering a delivery to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Queued for sending.
    Queued,
    /// Not taken: the session's queue is full.
    Dropped,
    /// Not taken: QoS 0 is not kept for an offline session.
    Skipped,
}

impl Session {
    /// A new, empty, offline session.
    pub fn new(client_id: Arc<str>, expiry_interval: u32, limits: QueueLimits) -> Session {
        Session {
            client_id,
            state: Mutex::new(SessionState {
                conn: None,
                generation: 0,
                subscriptions: HashMap::new(),
                queue: VecDeque::new(),
                queued_bytes: 0,
                outgoing: HashMap::new(),
                next_packet_id: 1,
                next_seq: 0,
                incoming_qos2: HashSet::new(),
                expiry_interval,
                dropped: 0,
                drop_logged: false,
                limits,
                next_store_seq: 1,
                stored: false,
                stored_will: None,
                offline_since_ms: None,
                owner: StoredOwner::Unknown,
                unsent: 0,
            }),
            notify: Notify::new(),
        }
    }

    /// Locks the state. A poisoned lock means a bug already panicked; the state is still usable.
    pub fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offers a delivery; wakes the attached connection if it was queued. For a session whose
    /// queue is durable, a QoS 1/2 delivery gets a store key and its record is added to `ops`.
    pub fn enqueue(&self, mut delivery: Delivery, metrics: &Metrics, ops: Option<&mut Vec<Op>>) -> Enqueued {
        let mut st = self.lock();
        if st.conn.is_none() && delivery.qos == QoS::AtMostOnce {
            // QoS 0 is not kept for offline sessions [MQTT-3.1.2-5 leaves it optional]
            return Enqueued::Skipped;
        }
        let size = delivery.message.size();
        if st.queue.len() >= st.limits.max_messages || st.queued_bytes + size > st.limits.max_bytes {
            st.dropped += 1;
            add(&metrics.publish_dropped, 1);
            if !st.drop_logged {
                st.drop_logged = true;
                tracing::warn!(
                    client_id = %self.client_id,
                    queued = st.queue.len(),
                    queued_bytes = st.queued_bytes,
                    "session queue full; dropping messages for this client (logged once per session)"
                );
            }
            return Enqueued::Dropped;
        }
        if let Some(ops) = ops {
            if st.is_durable() && delivery.qos != QoS::AtMostOnce {
                let stored = metrics.store_bytes.fetch_add(size as u64, Ordering::Relaxed);
                if stored + size as u64 > st.limits.max_store_bytes {
                    metrics.store_bytes.fetch_sub(size as u64, Ordering::Relaxed);
                    st.dropped += 1;
                    add(&metrics.publish_dropped, 1);
                    if !st.drop_logged {
                        st.drop_logged = true;
                        tracing::warn!(
                            client_id = %self.client_id,
                            max_store_bytes = st.limits.max_store_bytes,
                            "store full; dropping messages for persistent sessions (logged once per session)"
                        );
                    }
                    return Enqueued::Dropped;
                }
                let seq = st.next_store_seq;
                st.next_store_seq += 1;
                delivery.seq = Some(seq);
                ops.push(Op::PutDelivery {
                    client_id: self.client_id.to_string(),
                    seq,
                    delivery: persist::delivery_record(&delivery, DeliveryState::Queued),
                });
            }
        }
        st.queued_bytes += size;
        st.queue.push_back(delivery);
        let online = st.conn.is_some();
        drop(st);
        if online {
            self.notify.notify_one();
        }
        Enqueued::Queued
    }
}

impl SessionState {
    fn allocate_packet_id(&mut self) -> u16 {
        loop {
            let id = self.next_packet_id;
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            if !self.outgoing.contains_key(&id) {
                return id;
            }
        }
    }

    fn to_publish(delivery: &Delivery, packet_id: u16, dup: bool, now: Instant) -> Publish {
        let msg = &delivery.message;
        let mut properties = msg.properties.clone();
        properties.message_expiry = msg.remaining_expiry(now);
        Publish {
            dup,
            qos: delivery.qos,
            retain: delivery.retain,
            topic: msg.topic.clone(),
            packet_id,
            payload: msg.payload.clone(),
            properties,
            topic_alias: None,
            subscription_ids: delivery.subscription_ids.clone(),
        }
    }

    /// Whether this session's queue and state are kept in the store.
    pub fn is_durable(&self) -> bool {
        self.stored && self.expiry_interval > 0
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
                    let publish = Self::to_publish(&o.delivery, id, false, now);
                    o.sent = true;
                    self.unsent -= 1;
                    if protocol::encode_publish(version, &publish, out).is_err() {
                        if let Some(o) = self.outgoing.remove(&id) {
                            drop_record(&o.delivery, client_id, store_ops, metrics);
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
    /// behind a gate that `session` is notified about.
    ///
    /// Returns how many PUBLISH packets were written.
    pub fn fill(
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
        let now = Instant::now();
        let mut store_ops = Vec::new();
        let mut pid_ops = Vec::new();
        let mut deferred = Vec::new();
        let mut sent = 0;
        let mut sent_by_qos = [0u64; 3];
        let ready = self.send_unsent(&session.client_id, version, out, now, &mut store_ops, metrics);
        while ready && out.len() < max_bytes {
            let Some(front) = self.queue.front() else {
                break;
            };
            match front.gate_state() {
                GateState::Pending => break,
                GateState::Failed => {
                    // Its state never reached the disk, and the publisher was not acknowledged.
                    if let Some(d) = self.queue.pop_front() {
                        self.queued_bytes = self.queued_bytes.saturating_sub(d.message.size());
                    }
                    continue;
                }
                GateState::Open => {}
            }
            if front.qos != QoS::AtMostOnce && self.outgoing.len() >= receive_maximum {
                break;
            }
            let Some(mut delivery) = self.queue.pop_front() else {
                break;
            };
            delivery.gate = None;
            self.queued_bytes = self.queued_bytes.saturating_sub(delivery.message.size());
            if delivery.message.is_expired(now) {
                add(&metrics.publish_dropped, 1);
                drop_record(&delivery, &session.client_id, &mut store_ops, metrics);
                continue;
            }
            let mut publish = Self::to_publish(&delivery, 0, false, now);
            // [MQTT-3.1.2-24] never send a packet larger than the client's maximum
            match protocol::publish_len(version, &publish) {
                Ok(len) if len <= max_packet_size => {}
                _ => {
                    self.dropped += 1;
                    add(&metrics.publish_dropped, 1);
                    drop_record(&delivery, &session.client_id, &mut store_ops, metrics);
                    continue;
                }
            }
            if delivery.qos == QoS::AtMostOnce {
                if protocol::encode_publish(version, &publish, out).is_ok() {
                    sent += 1;
                    sent_by_qos[0] += 1;
                }
                continue;
            }
            publish.packet_id = self.allocate_packet_id();
            let seq = self.next_seq;
            self.next_seq += 1;
            let hold = delivery.qos == QoS::ExactlyOnce && delivery.seq.is_some() && store.is_some();
            if hold {
                if let Some(store_seq) = delivery.seq {
                    pid_ops.push(Op::PutDelivery {
                        client_id: session.client_id.to_string(),
                        seq: store_seq,
                        delivery: persist::delivery_record(
                            &delivery,
                            DeliveryState::Sent {
                                packet_id: publish.packet_id,
                            },
                        ),
                    });
                }
                deferred.push(publish.packet_id);
                self.unsent += 1;
            } else if protocol::encode_publish(version, &publish, out).is_err() {
                add(&metrics.publish_dropped, 1);
                drop_record(&delivery, &session.client_id, &mut store_ops, metrics);
                continue;
            } else {
                sent += 1;
                sent_by_qos[delivery.qos as usize] += 1;
            }
            self.outgoing.insert(
                publish.packet_id,
                Outgoing {
                    delivery,
                    phase: OutPhase::Published,
                    seq,
                    sent: !hold,
                },
            );
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
    pub fn resend_inflight(&mut self, version: Version, out: &mut BytesMut) {
        let now = Instant::now();
        let mut pending: Vec<(&u16, &Outgoing)> = self.outgoing.iter().collect();
        pending.sort_by_key(|(_, o)| o.seq);
        for (id, o) in pending.into_iter().filter(|(_, o)| o.sent) {
            let packet = match o.phase {
                OutPhase::Published => Packet::Publish(Self::to_publish(&o.delivery, *id, true, now)),
                OutPhase::Released => Packet::Pubrel(Ack::success(*id)),
            };
            if let Err(e) = protocol::encode(version, &packet, out) {
                tracing::warn!(client_packet_id = id, "cannot re-send inflight message: {e}");
            }
        }
    }

    /// Handles PUBACK: the delivery it completes, if it matched a QoS 1 message in flight.
    pub fn on_puback(&mut self, packet_id: u16) -> Option<Delivery> {
        match self.outgoing.get(&packet_id) {
            Some(o) if o.delivery.qos == QoS::AtLeastOnce && o.sent => {
                self.outgoing.remove(&packet_id).map(|o| o.delivery)
            }
            _ => None,
        }
    }

    /// Handles PUBREC for a QoS 2 message the broker sent; `None` when no such message is in flight.
    pub fn on_pubrec(&mut self, packet_id: u16, reason: u8) -> Option<PubrecOutcome> {
        let o = self.outgoing.get_mut(&packet_id)?;
        if o.delivery.qos != QoS::ExactlyOnce || !o.sent {
            return None;
        }
        if reason >= 0x80 {
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
    pub fn on_pubcomp(&mut self, packet_id: u16) -> Option<Delivery> {
        match self.outgoing.get(&packet_id) {
            Some(o) if o.phase == OutPhase::Released => self.outgoing.remove(&packet_id).map(|o| o.delivery),
            _ => None,
        }
    }

    /// Puts back a delivery loaded from the store, queued or in flight as it was.
    pub fn restore_delivery(&mut self, delivery: Delivery, state: DeliveryState) {
        if let Some(seq) = delivery.seq {
            self.next_store_seq = self.next_store_seq.max(seq + 1);
        }
        let (packet_id, phase) = match state {
            DeliveryState::Queued => {
                self.queued_bytes += delivery.message.size();
                self.queue.push_back(delivery);
                return;
            }
            DeliveryState::Sent { packet_id } => (packet_id, OutPhase::Published),
            DeliveryState::Released { packet_id } => (packet_id, OutPhase::Released),
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.outgoing.insert(
            packet_id,
            Outgoing {
                delivery,
                phase,
                seq,
                sent: true,
            },
        );
    }

    /// Turns every durable delivery back into an in-memory one (its records are being deleted
    /// with the session's), and returns the bytes they held in the store.
    pub fn forget_durable(&mut self) -> u64 {
        let mut bytes = 0;
        let deliveries = self
            .queue
            .iter_mut()
            .chain(self.outgoing.values_mut().map(|o| &mut o.delivery));
        for d in deliveries {
            if d.seq.take().is_some() {
                bytes += d.message.size() as u64;
            }
        }
        bytes
    }

    /// Number of deliveries waiting or in flight.
    pub fn pending(&self) -> usize {
        self.queue.len() + self.outgoing.len()
    }
}

/// What a PUBREC does to an outgoing QoS 2 message.
#[derive(Debug)]
pub enum PubrecOutcome {
    /// Move on to PUBREL; the delivery is returned so its record can say "released".
    Release(Delivery),
    /// PUBREC again for a message already released: answer PUBREL again.
    Repeated,
    /// The client refused the message (v5 reason ≥ 0x80): it is dropped.
    Refused(Delivery),
}

/// Adds the deletion of a delivery's store record, if it has one, and takes its bytes off the
/// store gauge.
pub fn drop_record(delivery: &Delivery, client_id: &str, ops: &mut Vec<Op>, metrics: &Metrics) {
    if let Some(seq) = delivery.seq {
        metrics
            .store_bytes
            .fetch_sub(delivery.message.size() as u64, Ordering::Relaxed);
        ops.push(Op::DeleteDelivery {
            client_id: client_id.to_string(),
            seq,
        });
    }
}
