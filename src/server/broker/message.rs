//! Application messages as the broker holds them: shared, immutable, with an absolute expiry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::gate::{Gate, GateState};
use crate::protocol::{MessageProperties, Publish, QoS};

/// Memory a queued delivery takes besides its message's topic and payload.
const DELIVERY_OVERHEAD: usize = 320;

/// One published application message, shared by every subscriber it goes to.
#[derive(Debug, Clone)]
pub struct Message {
    /// Topic name.
    pub topic: Arc<str>,
    /// Payload, never copied per subscriber.
    pub payload: Bytes,
    /// QoS it was published with.
    pub qos: QoS,
    /// RETAIN flag as published.
    pub retain: bool,
    /// End-to-end properties; `message_expiry` is recomputed from `expires_at` on the way out.
    pub properties: MessageProperties,
    /// When the message expires (v5 message expiry interval).
    pub expires_at: Option<Instant>,
    /// Client id of the publisher, for no-local subscriptions; `None` for the broker's own.
    pub publisher: Option<Arc<str>>,
}

impl Message {
    /// Builds a message from a client's PUBLISH (topic already resolved from any alias).
    pub fn from_publish(publish: Publish, publisher: Option<Arc<str>>) -> Message {
        let expires_at = publish
            .properties
            .message_expiry
            .map(|secs| Instant::now() + Duration::from_secs(secs as u64));
        Message {
            topic: publish.topic,
            payload: publish.payload,
            qos: publish.qos,
            retain: publish.retain,
            properties: publish.properties,
            expires_at,
            publisher,
        }
    }

    /// True when the message's expiry interval has passed.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Seconds of expiry interval left, rounded up so a live message never says 0.
    pub fn remaining_expiry(&self, now: Instant) -> Option<u32> {
        self.expires_at.map(|at| {
            let left = at.saturating_duration_since(now);
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            secs.max(1).min(u32::MAX as u64) as u32
        })
    }

    /// Approximate bytes this message holds, for per-session queue limits.
    pub fn size(&self) -> usize {
        self.topic.len() + self.payload.len() + 64
    }

    /// What one queued delivery of this message costs in memory, for `max_memory`: besides
    /// topic and payload, the shared message record, its delivery in the queue and the
    /// allocator's overhead on each (about 320 bytes by the sizes of those structures, where
    /// [`Message::size`] counts 64).
    pub fn memory_size(&self) -> usize {
        self.topic.len() + self.payload.len() + DELIVERY_OVERHEAD
    }
}

/// One message on its way to one session: the QoS and flags it is delivered with.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The shared message.
    pub message: Arc<Message>,
    /// Delivered QoS: the lower of the published QoS and the subscription's.
    pub qos: QoS,
    /// RETAIN flag as sent to this subscriber.
    pub retain: bool,
    /// Identifiers of every subscription of this session that matched.
    pub subscription_ids: Vec<u32>,
    /// Key of the delivery's store record, for sessions whose queue is durable.
    pub seq: Option<u64>,
    /// Held back until the store has committed what this delivery depends on.
    pub gate: Option<Arc<Gate>>,
    /// Place in the session's send order, given when it is queued.
    pub order: u64,
}

impl Delivery {
    /// A delivery of `message` with nothing stored yet.
    pub fn new(message: Arc<Message>, qos: QoS, retain: bool, subscription_ids: Vec<u32>) -> Delivery {
        Delivery {
            message,
            qos,
            retain,
            subscription_ids,
            seq: None,
            gate: None,
            order: 0,
        }
    }

    /// Where the gate, if any, stands.
    pub fn gate_state(&self) -> GateState {
        self.gate.as_ref().map_or(GateState::Open, |g| g.state())
    }
}

impl Message {
    /// Builds the message a will turns into.
    pub fn from_will(will: crate::protocol::Will, publisher: Option<Arc<str>>) -> Message {
        let expires_at = will
            .properties
            .message_expiry
            .map(|secs| Instant::now() + Duration::from_secs(secs as u64));
        Message {
            topic: will.topic,
            payload: will.payload,
            qos: will.qos,
            retain: will.retain,
            properties: will.properties,
            expires_at,
            publisher,
        }
    }
}
