//! One client's session: subscriptions, the outbound queue and inflight window, QoS 2 state.
//!
//! The session outlives its connections. Publishers push deliveries into its queue; the
//! connection currently attached drains the queue into its write buffer.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::BytesMut;
use tokio::sync::{oneshot, Notify};

use super::message::Delivery;
use crate::protocol::{self, Ack, Packet, Publish, QoS, SubscriptionOptions, Version};
use crate::server::metrics::{add, Metrics};

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
}

/// Per-session queue bounds.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Most deliveries waiting in the queue.
    pub max_messages: usize,
    /// Most bytes waiting in the queue.
    pub max_bytes: usize,
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
    /// Not taken: the queue is full, or QoS 0 for an offline session.
    Dropped,
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
            }),
            notify: Notify::new(),
        }
    }

    /// Locks the state. A poisoned lock means a bug already panicked; the state is still usable.
    pub fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offers a delivery; wakes the attached connection if it was queued.
    pub fn enqueue(&self, delivery: Delivery, metrics: &Metrics) -> Enqueued {
        let mut st = self.lock();
        if st.conn.is_none() && delivery.qos == QoS::AtMostOnce {
            // QoS 0 is not kept for offline sessions [MQTT-3.1.2-5 leaves it optional]
            return Enqueued::Dropped;
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

    /// Moves queued deliveries into `out` while the client's receive maximum and `max_bytes` allow.
    ///
    /// Returns how many PUBLISH packets were written.
    pub fn fill(&mut self, out: &mut BytesMut, max_bytes: usize, metrics: &Metrics) -> usize {
        let Some(conn) = &self.conn else { return 0 };
        let (version, receive_maximum, max_packet_size) =
            (conn.version, conn.receive_maximum as usize, conn.max_packet_size);
        let now = Instant::now();
        let mut sent = 0;
        while out.len() < max_bytes {
            let Some(front) = self.queue.front() else {
                break;
            };
            if front.qos != QoS::AtMostOnce && self.outgoing.len() >= receive_maximum {
                break;
            }
            let Some(delivery) = self.queue.pop_front() else {
                break;
            };
            self.queued_bytes = self.queued_bytes.saturating_sub(delivery.message.size());
            if delivery.message.is_expired(now) {
                add(&metrics.publish_dropped, 1);
                continue;
            }
            let mut publish = Self::to_publish(&delivery, 0, false, now);
            // [MQTT-3.1.2-24] never send a packet larger than the client's maximum
            match protocol::publish_len(version, &publish) {
                Ok(len) if len <= max_packet_size => {}
                _ => {
                    self.dropped += 1;
                    add(&metrics.publish_dropped, 1);
                    continue;
                }
            }
            if delivery.qos != QoS::AtMostOnce {
                publish.packet_id = self.allocate_packet_id();
            }
            if protocol::encode_publish(version, &publish, out).is_err() {
                add(&metrics.publish_dropped, 1);
                continue;
            }
            if delivery.qos != QoS::AtMostOnce {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.outgoing.insert(
                    publish.packet_id,
                    Outgoing {
                        delivery,
                        phase: OutPhase::Published,
                        seq,
                    },
                );
            }
            sent += 1;
        }
        add(&metrics.publish_sent, sent as u64);
        add(&metrics.messages_sent, sent as u64);
        sent
    }

    /// Re-sends every unacknowledged message in its original order, PUBLISH with DUP set or
    /// PUBREL [MQTT-4.4.0-1]; used when a persistent session reconnects.
    pub fn resend_inflight(&mut self, version: Version, out: &mut BytesMut) {
        let now = Instant::now();
        let mut pending: Vec<(&u16, &Outgoing)> = self.outgoing.iter().collect();
        pending.sort_by_key(|(_, o)| o.seq);
        for (id, o) in pending {
            let packet = match o.phase {
                OutPhase::Published => Packet::Publish(Self::to_publish(&o.delivery, *id, true, now)),
                OutPhase::Released => Packet::Pubrel(Ack::success(*id)),
            };
            if let Err(e) = protocol::encode(version, &packet, out) {
                tracing::warn!(client_packet_id = id, "cannot re-send inflight message: {e}");
            }
        }
    }

    /// Handles PUBACK: true if it matched a QoS 1 message in flight.
    pub fn on_puback(&mut self, packet_id: u16) -> bool {
        match self.outgoing.get(&packet_id) {
            Some(o) if o.delivery.qos == QoS::AtLeastOnce => {
                self.outgoing.remove(&packet_id);
                true
            }
            _ => false,
        }
    }

    /// Handles PUBREC: `Some(true)` when a PUBREL must follow, `Some(false)` when the client
    /// refused the message (v5 reason ≥ 0x80) and it is dropped, `None` when unknown.
    pub fn on_pubrec(&mut self, packet_id: u16, reason: u8) -> Option<bool> {
        let o = self.outgoing.get_mut(&packet_id)?;
        if o.delivery.qos != QoS::ExactlyOnce {
            return None;
        }
        if reason >= 0x80 {
            self.outgoing.remove(&packet_id);
            return Some(false);
        }
        o.phase = OutPhase::Released;
        Some(true)
    }

    /// Handles PUBCOMP: true if it completed a QoS 2 message.
    pub fn on_pubcomp(&mut self, packet_id: u16) -> bool {
        match self.outgoing.get(&packet_id) {
            Some(o) if o.phase == OutPhase::Released => {
                self.outgoing.remove(&packet_id);
                true
            }
            _ => false,
        }
    }

    /// Number of deliveries waiting or in flight.
    pub fn pending(&self) -> usize {
        self.queue.len() + self.outgoing.len()
    }
}
