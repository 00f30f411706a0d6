//! Glue between the broker's in-memory state and the store: record conversions, and the gates
//! that hold an acknowledgement or a delivery back until its state has been committed.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::broker::{Delivery, Message, Subscription};
use crate::protocol::{MessageProperties, PropertyFields, QoS, RetainHandling, SubscriptionOptions, Will};
use crate::store::{
    DeliveryState, StoredDelivery, StoredMessage, StoredProperties, StoredSubscription, StoredWill,
};

const PENDING: u8 = 0;
const OPEN: u8 = 1;
const FAILED: u8 = 2;

/// Opens once the store has committed what something depends on.
#[derive(Debug)]
pub struct Gate(AtomicU8);

/// Where a gate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateState {
    /// The commit has not happened yet.
    Pending,
    /// Committed: what waited may go.
    Open,
    /// The commit failed: what waited must not be acknowledged.
    Failed,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate(AtomicU8::new(PENDING)))
    }

    /// A gate that is already open, for state that needs no commit.
    pub fn opened() -> Arc<Gate> {
        Arc::new(Gate(AtomicU8::new(OPEN)))
    }

    /// Marks the commit done (`true`) or failed.
    pub fn settle(&self, committed: bool) {
        self.0
            .store(if committed { OPEN } else { FAILED }, Ordering::Release);
    }

    /// Current state.
    pub fn state(&self) -> GateState {
        match self.0.load(Ordering::Acquire) {
            PENDING => GateState::Pending,
            OPEN => GateState::Open,
            _ => GateState::Failed,
        }
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One reading of both clocks, taken once, that every conversion between them goes through.
///
/// Reading both clocks at each conversion made the same `Instant` come out a millisecond apart
/// from one call to the next, so a message recorded for several sessions (or recorded again
/// when its delivery changes state) differed in its expiry and the store, which keeps equal
/// messages once, kept copies.
fn clock_anchor() -> (Instant, u64) {
    static ANCHOR: OnceLock<(Instant, u64)> = OnceLock::new();
    *ANCHOR.get_or_init(|| (Instant::now(), now_ms()))
}

/// An `Instant` as Unix milliseconds; the same `Instant` always gives the same milliseconds.
pub fn instant_to_ms(at: Instant) -> u64 {
    let (anchor, base) = clock_anchor();
    if at >= anchor {
        base + (at - anchor).as_millis() as u64
    } else {
        base.saturating_sub((anchor - at).as_millis() as u64)
    }
}

/// Unix milliseconds as an `Instant` (times before the anchor come out as it or earlier).
pub fn ms_to_instant(ms: u64) -> Instant {
    let (anchor, base) = clock_anchor();
    if ms >= base {
        anchor + Duration::from_millis(ms - base)
    } else {
        anchor
            .checked_sub(Duration::from_millis(base - ms))
            .unwrap_or(anchor)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_always_converts_to_the_same_milliseconds() {
        let at = Instant::now() + Duration::from_secs(3600);
        let first = instant_to_ms(at);
        let started = Instant::now();
        // Long enough for the sub-millisecond phase of both clocks to move on many times.
        while started.elapsed() < Duration::from_millis(30) {
            assert_eq!(instant_to_ms(at), first);
        }
        let expected = now_ms() + 3_600_000;
        assert!(first.abs_diff(expected) < 1_000, "{first} vs {expected}");
        assert_eq!(instant_to_ms(ms_to_instant(first)), first);
    }
}
