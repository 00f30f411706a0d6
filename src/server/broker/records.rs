//! The mapping between the broker's state (messages, deliveries, subscriptions, wills) and
//! the store's records: the one place that knows both shapes.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::clock::{instant_to_ms, ms_to_instant};
use super::{Delivery, Message, SessionState, Subscription};
use crate::protocol::{MessageProperties, PropertyFields, QoS, RetainHandling, SubscriptionOptions, Will};
use crate::server::metrics::Metrics;
use crate::store::{
    DeliveryState, Op, StoredDelivery, StoredMessage, StoredProperties, StoredSession, StoredSubscription,
    StoredWill,
};

fn arc(s: &Option<Arc<str>>) -> Option<String> {
    s.as_deref().map(str::to_string)
}

fn qos(q: u8) -> QoS {
    QoS::from_u8(q).unwrap_or(QoS::AtLeastOnce)
}

/// A message as a store record.
pub fn message_record(m: &Message) -> StoredMessage {
    let p = &m.properties;
    StoredMessage {
        topic: m.topic.to_string(),
        payload: m.payload.to_vec(),
        qos: m.qos as u8,
        retain: m.retain,
        expires_at_ms: m.expires_at.map(instant_to_ms),
        publisher: arc(&m.publisher),
        properties: StoredProperties {
            payload_format_utf8: p.payload_format_utf8,
            content_type: arc(&p.content_type),
            response_topic: arc(&p.response_topic),
            correlation_data: p.correlation_data.as_ref().map(|b| b.to_vec()),
            user_properties: p
                .user_properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
    }
}

/// A stored delivery back as one, at store position `seq`, with the state it was stored in.
pub fn delivery_from_record(seq: u64, d: StoredDelivery) -> (Delivery, DeliveryState) {
    let qos = QoS::from_u8(d.qos).unwrap_or(QoS::AtLeastOnce);
    let message = Arc::new(message_from_record(d.message));
    let mut delivery = Delivery::new(message, qos, d.retain, d.subscription_ids);
    delivery.seq = Some(seq);
    (delivery, d.state)
}

/// A store record back as a message.
pub fn message_from_record(r: StoredMessage) -> Message {
    let p = r.properties;
    Message {
        topic: r.topic.into(),
        payload: Bytes::from(r.payload),
        qos: qos(r.qos),
        retain: r.retain,
        properties: MessageProperties::from(PropertyFields {
            payload_format_utf8: p.payload_format_utf8,
            message_expiry: None,
            content_type: p.content_type.map(Into::into),
            response_topic: p.response_topic.map(Into::into),
            correlation_data: p.correlation_data.map(Bytes::from),
            user_properties: p
                .user_properties
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }),
        expires_at: r.expires_at_ms.map(ms_to_instant),
        publisher: r.publisher.map(Into::into),
    }
}

/// A queued delivery as a store record.
pub fn delivery_record(d: &Delivery, state: DeliveryState) -> StoredDelivery {
    StoredDelivery {
        message: message_record(&d.message),
        qos: d.qos as u8,
        retain: d.retain,
        subscription_ids: d.subscription_ids.clone(),
        state,
    }
}

/// A subscription as a store record.
pub fn subscription_record(filter: &str, s: &Subscription) -> StoredSubscription {
    StoredSubscription {
        filter: filter.to_string(),
        qos: s.options.qos as u8,
        no_local: s.options.no_local,
        retain_as_published: s.options.retain_as_published,
        retain_handling: match s.options.retain_handling {
            RetainHandling::SendAlways => 0,
            RetainHandling::SendIfNew => 1,
            RetainHandling::Never => 2,
        },
        id: s.id,
    }
}

/// A stored subscription back as filter and subscription.
pub fn subscription_from_record(r: StoredSubscription) -> (Arc<str>, Subscription) {
    let options = SubscriptionOptions {
        qos: qos(r.qos.min(2)),
        no_local: r.no_local,
        retain_as_published: r.retain_as_published,
        retain_handling: match r.retain_handling {
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::Never,
            _ => RetainHandling::SendAlways,
        },
    };
    (r.filter.into(), Subscription { options, id: r.id })
}

/// A will as a store record.
pub fn will_record(w: &Will, publisher: &Arc<str>) -> StoredWill {
    let message = Message::from_will(w.clone(), Some(publisher.clone()));
    StoredWill {
        message: message_record(&message),
        delay_interval: w.delay_interval,
    }
}

/// A stored will back as a will.
pub fn will_from_record(r: StoredWill) -> Will {
    let m = message_from_record(r.message);
    let mut properties = m.properties;
    properties.message_expiry = m
        .expires_at
        .map(|at| at.saturating_duration_since(Instant::now()).as_secs() as u32);
    Will {
        topic: m.topic,
        payload: m.payload,
        qos: m.qos,
        retain: m.retain,
        delay_interval: r.delay_interval,
        properties,
    }
}

/// Puts a delivery's record, in the state it has reached.
pub fn put_delivery(client_id: &str, seq: u64, d: &Delivery, state: DeliveryState) -> Op {
    Op::PutDelivery {
        client_id: client_id.to_string(),
        seq,
        delivery: delivery_record(d, state),
    }
}

/// Adds the deletion of a delivery's store record, if it has one, and takes its bytes off the
/// store gauge.
pub fn drop_record(delivery: &Delivery, client_id: &str, ops: &mut Vec<Op>, metrics: &Metrics) {
    if let Some(seq) = delivery.seq {
        metrics
            .store_bytes
            .fetch_sub(delivery.message.size() as u64, Ordering::Relaxed);
        ops.push(delete_delivery(client_id, seq));
    }
}

/// Records that the delivery at `seq` moved on in its QoS flow (sent, released).
pub fn set_delivery_state(client_id: &str, seq: u64, state: DeliveryState) -> Op {
    Op::SetDeliveryState {
        client_id: client_id.to_string(),
        seq,
        state,
    }
}

/// Deletes the delivery record at `seq`.
pub fn delete_delivery(client_id: &str, seq: u64) -> Op {
    Op::DeleteDelivery {
        client_id: client_id.to_string(),
        seq,
    }
}

/// Remembers a QoS 2 packet id received from the client and not yet released.
pub fn put_incoming_qos2(client_id: &str, packet_id: u16) -> Op {
    Op::PutIncomingQos2 {
        client_id: client_id.to_string(),
        packet_id,
    }
}

/// Forgets a QoS 2 packet id the client has released.
pub fn delete_incoming_qos2(client_id: &str, packet_id: u16) -> Op {
    Op::DeleteIncomingQos2 {
        client_id: client_id.to_string(),
        packet_id,
    }
}

/// Deletes a session's record, and with it everything kept under its client id.
pub fn delete_session(client_id: &str) -> Op {
    Op::DeleteSession {
        client_id: client_id.to_string(),
    }
}

/// The retained message of a topic: put, or deleted by an empty payload.
pub fn retained(message: &Message) -> Op {
    if message.payload.is_empty() {
        delete_retained(&message.topic)
    } else {
        Op::PutRetained(message_record(message))
    }
}

/// Deletes the retained message of `topic`.
pub fn delete_retained(topic: &str) -> Op {
    Op::DeleteRetained {
        topic: topic.to_string(),
    }
}

/// The session's record as the store keeps it.
pub fn put_session(client_id: &str, state: &SessionState) -> Op {
    Op::PutSession(StoredSession {
        client_id: client_id.to_string(),
        expiry_interval: state.expiry_interval,
        offline_since_ms: if state.conn.is_some() {
            None
        } else {
            state.offline_since_ms
        },
        subscriptions: state
            .subscriptions
            .iter()
            .map(|(f, s)| subscription_record(f, s))
            .collect(),
        will: state.stored_will.as_deref().cloned(),
        owner: state.owner.clone(),
    })
}
