//! Versioned binary records: how each stored value is laid out in a redb table value.
//!
//! Every record starts with a version byte so a later robustmq can change a layout and still read
//! the old one, and an older robustmq refuses a layout it does not know instead of misreading it.
//! After the version byte, fields follow in declaration order:
//! integers are fixed-width little endian, lengths and counts are LEB128 varints, `bool` is one
//! byte (0 or 1), `Option` is a tag byte (0 none, 1 some) followed by the value, strings are UTF-8
//! bytes preceded by their length. A record must be consumed exactly: trailing bytes are an error.
//!
//! Versions per record type: messages 1; sessions 3 (1 and 2, of schema 1, held the
//! subscriptions and, from 2, the owner); subscriptions 1; deliveries 2 (1, of schema 1, held the
//! whole message); retained entries 2 (schema 1 stored the message record itself); incoming QoS 2
//! ids 1. The schema 1 layouts are only read, to migrate a file.
//!
//! Decoding never panics and never allocates more than the record's own length, whatever the
//! bytes say, because a record comes from disk and may be damaged.

use super::types::{
    DeliveryState, StoredDelivery, StoredMessage, StoredOwner, StoredProperties, StoredSession,
    StoredSubscription, StoredWill,
};

/// The layout version of messages, subscriptions and incoming QoS 2 ids.
pub(crate) const RECORD_VERSION: u8 = 1;
/// Schema 1 session records without the owner.
const LEGACY_SESSION_VERSION: u8 = 1;
/// Schema 1 session records with the owner at the end.
const LEGACY_SESSION_OWNER_VERSION: u8 = 2;
/// Session records of schema 3: scalars, will and owner; subscriptions are rows of their own.
pub(crate) const SESSION_RECORD_VERSION: u8 = 3;
/// Delivery records of schema 3, which refer to their message by id.
pub(crate) const DELIVERY_RECORD_VERSION: u8 = 2;
/// Retained records of schema 3: the id of the message.
pub(crate) const RETAINED_RECORD_VERSION: u8 = 2;

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The value has no bytes at all, so not even a version.
    #[error("empty record")]
    Empty,
    /// The version byte is one this build does not read here.
    #[error("unknown record version {found} (this build reads version {expected} here)")]
    UnknownVersion {
        /// The version byte of the record.
        found: u8,
        /// The (newest) version expected.
        expected: u8,
    },
    /// The record ends in the middle of a field.
    #[error("record truncated while reading {0}")]
    Truncated(&'static str),
    /// A field holds a value that cannot be right.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// Bytes remain after the last field.
    #[error("{0} unexpected bytes after the record")]
    Trailing(usize),
}

/// Encodes a message record.
pub(crate) fn encode_message(message: &StoredMessage) -> Vec<u8> {
    let mut w = Writer::new(RECORD_VERSION);
    w.message(message);
    w.buf
}

/// Decodes a message record (also a schema 1 retained record, which is one).
pub(crate) fn decode_message(bytes: &[u8]) -> Result<StoredMessage, RecordError> {
    decode(bytes, RECORD_VERSION, |r| r.message())
}

/// Encodes a session record: everything but its subscriptions.
pub(crate) fn encode_session(session: &StoredSession) -> Vec<u8> {
    let mut w = Writer::new(SESSION_RECORD_VERSION);
    w.str(&session.client_id);
    w.u32(session.expiry_interval);
    w.option(session.offline_since_ms.as_ref(), |w, v| w.u64(*v));
    w.option(session.will.as_ref(), |w, will| {
        w.message(&will.message);
        w.u32(will.delay_interval);
    });
    w.owner(&session.owner);
    w.buf
}

// Tags of `StoredOwner`; part of the format, never renumber.
const OWNER_UNKNOWN: u8 = 0;
const OWNER_ANONYMOUS: u8 = 1;
const OWNER_USER: u8 = 2;

/// Decodes a session record; its `subscriptions` come back empty (they are rows of their own).
pub(crate) fn decode_session(bytes: &[u8]) -> Result<StoredSession, RecordError> {
    decode(bytes, SESSION_RECORD_VERSION, |r| {
        let client_id = r.string("client id")?;
        let expiry_interval = r.u32("session expiry")?;
        let offline_since_ms = r.option("offline since", |r| r.u64("offline since"))?;
        let will = r.will()?;
        let owner = r.owner()?;
        Ok(StoredSession {
            client_id,
            expiry_interval,
            offline_since_ms,
            subscriptions: Vec::new(),
            will,
            owner,
        })
    })
}

/// Decodes a schema 1 session record (layout 1, or 2 with the owner), subscriptions included.
pub(crate) fn decode_legacy_session(bytes: &[u8]) -> Result<StoredSession, RecordError> {
    let version = bytes.first().copied();
    let versions = [LEGACY_SESSION_VERSION, LEGACY_SESSION_OWNER_VERSION];
    decode_versions(bytes, &versions, |r| {
        let client_id = r.string("client id")?;
        let expiry_interval = r.u32("session expiry")?;
        let offline_since_ms = r.option("offline since", |r| r.u64("offline since"))?;
        let count = r.len("subscription count")?;
        let mut subscriptions = Vec::new();
        for _ in 0..count {
            let filter = r.string("topic filter")?;
            subscriptions.push(r.subscription(filter)?);
        }
        let will = r.will()?;
        let owner = if version == Some(LEGACY_SESSION_OWNER_VERSION) {
            r.owner()?
        } else {
            StoredOwner::Unknown
        };
        Ok(StoredSession {
            client_id,
            expiry_interval,
            offline_since_ms,
            subscriptions,
            will,
            owner,
        })
    })
}

/// Encodes a subscription record: its options (the filter is in the key).
pub(crate) fn encode_subscription(sub: &StoredSubscription) -> Vec<u8> {
    let mut w = Writer::new(RECORD_VERSION);
    w.subscription_options(sub);
    w.buf
}

/// Decodes a subscription record stored under `filter`.
pub(crate) fn decode_subscription(filter: &str, bytes: &[u8]) -> Result<StoredSubscription, RecordError> {
    decode(bytes, RECORD_VERSION, |r| r.subscription(filter.to_string()))
}

// Tags of `DeliveryState`; part of the format, never renumber.
const STATE_QUEUED: u8 = 0;
const STATE_SENT: u8 = 1;
const STATE_RELEASED: u8 = 2;

/// A delivery as its record holds it: the message is referred to by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeliveryRecord {
    /// Key of the message in the messages table.
    pub(crate) message_id: u64,
    /// QoS of this delivery.
    pub(crate) qos: u8,
    /// Retain flag to send.
    pub(crate) retain: bool,
    /// Identifiers of the subscriptions that matched.
    pub(crate) subscription_ids: Vec<u32>,
    /// QoS flow state.
    pub(crate) state: DeliveryState,
}

impl DeliveryRecord {
    /// The delivery with its message filled in.
    pub(crate) fn with_message(self, message: StoredMessage) -> StoredDelivery {
        StoredDelivery {
            message,
            qos: self.qos,
            retain: self.retain,
            subscription_ids: self.subscription_ids,
            state: self.state,
        }
    }
}

/// Encodes a delivery record of `delivery`, whose message is stored under `message_id`.
pub(crate) fn encode_delivery(message_id: u64, delivery: &StoredDelivery) -> Vec<u8> {
    let mut w = Writer::new(DELIVERY_RECORD_VERSION);
    w.u64(message_id);
    w.delivery_fields(
        delivery.qos,
        delivery.retain,
        &delivery.subscription_ids,
        delivery.state,
    );
    w.buf
}

/// Encodes a delivery record read back, with another flow state.
pub(crate) fn encode_delivery_record(record: &DeliveryRecord) -> Vec<u8> {
    let mut w = Writer::new(DELIVERY_RECORD_VERSION);
    w.u64(record.message_id);
    w.delivery_fields(record.qos, record.retain, &record.subscription_ids, record.state);
    w.buf
}

/// Decodes a delivery record.
pub(crate) fn decode_delivery(bytes: &[u8]) -> Result<DeliveryRecord, RecordError> {
    decode(bytes, DELIVERY_RECORD_VERSION, |r| {
        let message_id = r.u64("message id")?;
        let (qos, retain, subscription_ids, state) = r.delivery_fields()?;
        Ok(DeliveryRecord {
            message_id,
            qos,
            retain,
            subscription_ids,
            state,
        })
    })
}

/// Decodes a schema 1 delivery record, which holds its whole message.
pub(crate) fn decode_legacy_delivery(bytes: &[u8]) -> Result<StoredDelivery, RecordError> {
    decode(bytes, RECORD_VERSION, |r| {
        let message = r.message()?;
        let (qos, retain, subscription_ids, state) = r.delivery_fields()?;
        Ok(StoredDelivery {
            message,
            qos,
            retain,
            subscription_ids,
            state,
        })
    })
}

/// Encodes a retained record: the id of the message.
pub(crate) fn encode_retained(message_id: u64) -> Vec<u8> {
    let mut w = Writer::new(RETAINED_RECORD_VERSION);
    w.u64(message_id);
    w.buf
}

/// Decodes a retained record into its message id.
pub(crate) fn decode_retained(bytes: &[u8]) -> Result<u64, RecordError> {
    decode(bytes, RETAINED_RECORD_VERSION, |r| r.u64("message id"))
}

/// Encodes the record of an incoming QoS 2 packet id. The key says everything today; the record
/// is there so a later version can add fields (say, an arrival time) without a new table.
pub(crate) fn encode_incoming_qos2() -> Vec<u8> {
    Writer::new(RECORD_VERSION).buf
}

/// Decodes the record of an incoming QoS 2 packet id.
pub(crate) fn decode_incoming_qos2(bytes: &[u8]) -> Result<(), RecordError> {
    decode(bytes, RECORD_VERSION, |_| Ok(()))
}

/// Checks the version byte, runs `body` on the rest and insists it consumed everything.
fn decode<T>(
    bytes: &[u8],
    version: u8,
    body: impl FnOnce(&mut Reader<'_>) -> Result<T, RecordError>,
) -> Result<T, RecordError> {
    decode_versions(bytes, &[version], body)
}

/// [`decode`] for a record type whose layout has more than one version (the last is the newest).
fn decode_versions<T>(
    bytes: &[u8],
    versions: &[u8],
    body: impl FnOnce(&mut Reader<'_>) -> Result<T, RecordError>,
) -> Result<T, RecordError> {
    let (&version, rest) = bytes.split_first().ok_or(RecordError::Empty)?;
    if !versions.contains(&version) {
        return Err(RecordError::UnknownVersion {
            found: version,
            expected: versions.last().copied().unwrap_or(RECORD_VERSION),
        });
    }
    let mut reader = Reader { rest };
    let value = body(&mut reader)?;
    if !reader.rest.is_empty() {
        return Err(RecordError::Trailing(reader.rest.len()));
    }
    Ok(value)
}

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn new(version: u8) -> Self {
        Self { buf: vec![version] }
    }

    fn owner(&mut self, owner: &StoredOwner) {
        match owner {
            StoredOwner::Unknown => self.u8(OWNER_UNKNOWN),
            StoredOwner::Anonymous => self.u8(OWNER_ANONYMOUS),
            StoredOwner::User(name) => {
                self.u8(OWNER_USER);
                self.str(name);
            }
        }
    }

    fn subscription_options(&mut self, sub: &StoredSubscription) {
        self.u8(sub.qos);
        self.bool(sub.no_local);
        self.bool(sub.retain_as_published);
        self.u8(sub.retain_handling);
        self.option(sub.id.as_ref(), |w, v| w.u32(*v));
    }

    fn delivery_fields(&mut self, qos: u8, retain: bool, subscription_ids: &[u32], state: DeliveryState) {
        self.u8(qos);
        self.bool(retain);
        self.len(subscription_ids.len());
        for id in subscription_ids {
            self.u32(*id);
        }
        match state {
            DeliveryState::Queued => self.u8(STATE_QUEUED),
            DeliveryState::Sent { packet_id } => {
                self.u8(STATE_SENT);
                self.u16(packet_id);
            }
            DeliveryState::Released { packet_id } => {
                self.u8(STATE_RELEASED);
                self.u16(packet_id);
            }
        }
    }

    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// LEB128, so lengths cost one byte in the common case and have no upper limit.
    fn len(&mut self, len: usize) {
        // usize always fits in u64 on the platforms Rust supports.
        let mut v = len as u64;
        loop {
            let low = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(low);
                return;
            }
            self.buf.push(low | 0x80);
        }
    }

    fn bytes(&mut self, v: &[u8]) {
        self.len(v.len());
        self.buf.extend_from_slice(v);
    }

    fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    fn option<T>(&mut self, v: Option<&T>, write: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                write(self, v);
            }
        }
    }

    fn message(&mut self, m: &StoredMessage) {
        self.str(&m.topic);
        self.bytes(&m.payload);
        self.u8(m.qos);
        self.bool(m.retain);
        self.option(m.expires_at_ms.as_ref(), |w, v| w.u64(*v));
        self.option(m.publisher.as_ref(), |w, v| w.str(v));
        let p = &m.properties;
        self.option(p.payload_format_utf8.as_ref(), |w, v| w.bool(*v));
        self.option(p.content_type.as_ref(), |w, v| w.str(v));
        self.option(p.response_topic.as_ref(), |w, v| w.str(v));
        self.option(p.correlation_data.as_ref(), |w, v| w.bytes(v));
        self.len(p.user_properties.len());
        for (key, value) in &p.user_properties {
            self.str(key);
            self.str(value);
        }
    }
}

/// Reads fields from the bytes after the version byte. Each read names the field it wanted so
/// an error says where the record went wrong.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], RecordError> {
        if self.rest.len() < n {
            return Err(RecordError::Truncated(field));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], RecordError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, RecordError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn bool(&mut self, field: &'static str) -> Result<bool, RecordError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(RecordError::Invalid(field)),
        }
    }

    fn qos(&mut self) -> Result<u8, RecordError> {
        match self.u8("qos")? {
            qos @ 0..=2 => Ok(qos),
            _ => Err(RecordError::Invalid("qos")),
        }
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, RecordError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, RecordError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, RecordError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// A LEB128 length or count. It can never exceed the bytes left: every element takes at
    /// least one byte, so a larger value is damage, and refusing it bounds every allocation.
    fn len(&mut self, field: &'static str) -> Result<usize, RecordError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.u8(field)?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(value)
                    .ok()
                    .filter(|len| *len <= self.rest.len())
                    .ok_or(RecordError::Invalid(field));
            }
        }
        Err(RecordError::Invalid(field))
    }

    fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, RecordError> {
        let len = self.len(field)?;
        Ok(self.take(len, field)?.to_vec())
    }

    fn string(&mut self, field: &'static str) -> Result<String, RecordError> {
        String::from_utf8(self.bytes(field)?).map_err(|_| RecordError::Invalid(field))
    }

    fn option<T>(
        &mut self,
        field: &'static str,
        read: impl FnOnce(&mut Self) -> Result<T, RecordError>,
    ) -> Result<Option<T>, RecordError> {
        match self.u8(field)? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err(RecordError::Invalid(field)),
        }
    }

    fn will(&mut self) -> Result<Option<StoredWill>, RecordError> {
        self.option("will", |r| {
            let message = r.message()?;
            let delay_interval = r.u32("will delay")?;
            Ok(StoredWill {
                message,
                delay_interval,
            })
        })
    }

    fn owner(&mut self) -> Result<StoredOwner, RecordError> {
        match self.u8("owner")? {
            OWNER_UNKNOWN => Ok(StoredOwner::Unknown),
            OWNER_ANONYMOUS => Ok(StoredOwner::Anonymous),
            OWNER_USER => Ok(StoredOwner::User(self.string("owner user name")?)),
            _ => Err(RecordError::Invalid("owner")),
        }
    }

    fn subscription(&mut self, filter: String) -> Result<StoredSubscription, RecordError> {
        let qos = self.qos()?;
        let no_local = self.bool("no local")?;
        let retain_as_published = self.bool("retain as published")?;
        let retain_handling = self.u8("retain handling")?;
        if retain_handling > 2 {
            return Err(RecordError::Invalid("retain handling"));
        }
        let id = self.option("subscription id", |r| r.u32("subscription id"))?;
        Ok(StoredSubscription {
            filter,
            qos,
            no_local,
            retain_as_published,
            retain_handling,
            id,
        })
    }

    #[allow(clippy::type_complexity)]
    fn delivery_fields(&mut self) -> Result<(u8, bool, Vec<u32>, DeliveryState), RecordError> {
        let qos = self.qos()?;
        let retain = self.bool("retain")?;
        let count = self.len("subscription id count")?;
        let mut subscription_ids = Vec::new();
        for _ in 0..count {
            subscription_ids.push(self.u32("subscription id")?);
        }
        let state = match self.u8("delivery state")? {
            STATE_QUEUED => DeliveryState::Queued,
            STATE_SENT => DeliveryState::Sent {
                packet_id: self.u16("packet id")?,
            },
            STATE_RELEASED => DeliveryState::Released {
                packet_id: self.u16("packet id")?,
            },
            _ => return Err(RecordError::Invalid("delivery state")),
        };
        Ok((qos, retain, subscription_ids, state))
    }

    fn message(&mut self) -> Result<StoredMessage, RecordError> {
        let topic = self.string("topic")?;
        let payload = self.bytes("payload")?;
        let qos = self.qos()?;
        let retain = self.bool("retain")?;
        let expires_at_ms = self.option("message expiry", |r| r.u64("message expiry"))?;
        let publisher = self.option("publisher", |r| r.string("publisher"))?;
        let payload_format_utf8 = self.option("payload format", |r| r.bool("payload format"))?;
        let content_type = self.option("content type", |r| r.string("content type"))?;
        let response_topic = self.option("response topic", |r| r.string("response topic"))?;
        let correlation_data = self.option("correlation data", |r| r.bytes("correlation data"))?;
        let count = self.len("user property count")?;
        let mut user_properties = Vec::new();
        for _ in 0..count {
            let key = self.string("user property name")?;
            let value = self.string("user property value")?;
            user_properties.push((key, value));
        }
        Ok(StoredMessage {
            topic,
            payload,
            qos,
            retain,
            expires_at_ms,
            publisher,
            properties: StoredProperties {
                payload_format_utf8,
                content_type,
                response_topic,
                correlation_data,
                user_properties,
            },
        })
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
