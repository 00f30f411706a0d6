//! Versioned binary records: how each stored value is laid out in a redb table value.
//!
//! Every record starts with a version byte so a later robustmq can change a layout and still read
//! the old one, and an older robustmq refuses a layout it does not know instead of misreading it.
//! After the version byte, fields follow in declaration order:
//! integers are fixed-width little endian, lengths and counts are LEB128 varints, `bool` is one
//! byte (0 or 1), `Option` is a tag byte (0 none, 1 some) followed by the value, strings are UTF-8
//! bytes preceded by their length. A record must be consumed exactly: trailing bytes are an error.
//!
//! Decoding never panics and never allocates more than the record's own length, whatever the
//! bytes say, because a record comes from disk and may be damaged.

use super::types::{
    DeliveryState, StoredDelivery, StoredMessage, StoredOwner, StoredProperties, StoredSession,
    StoredSubscription, StoredWill,
};

/// The layout version written by this build, for every record type but sessions.
pub(crate) const RECORD_VERSION: u8 = 1;
/// The layout version of session records: 2 adds the owner at the end; 1 is still read.
pub(crate) const SESSION_RECORD_VERSION: u8 = 2;

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordError {
    /// The value has no bytes at all, so not even a version.
    #[error("empty record")]
    Empty,
    /// The version byte is one this build does not know.
    #[error("unknown record version {0} (this build reads version {RECORD_VERSION})")]
    UnknownVersion(u8),
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

/// Encodes a message record (retained messages).
pub(crate) fn encode_message(message: &StoredMessage) -> Vec<u8> {
    let mut w = Writer::new();
    w.message(message);
    w.buf
}

/// Decodes a message record.
pub(crate) fn decode_message(bytes: &[u8]) -> Result<StoredMessage, RecordError> {
    decode(bytes, |r| r.message())
}

/// Encodes a session record.
pub(crate) fn encode_session(session: &StoredSession) -> Vec<u8> {
    let mut w = Writer {
        buf: vec![SESSION_RECORD_VERSION],
    };
    w.str(&session.client_id);
    w.u32(session.expiry_interval);
    w.option(session.offline_since_ms.as_ref(), |w, v| w.u64(*v));
    w.len(session.subscriptions.len());
    for sub in &session.subscriptions {
        w.str(&sub.filter);
        w.u8(sub.qos);
        w.bool(sub.no_local);
        w.bool(sub.retain_as_published);
        w.u8(sub.retain_handling);
        w.option(sub.id.as_ref(), |w, v| w.u32(*v));
    }
    w.option(session.will.as_ref(), |w, will| {
        w.message(&will.message);
        w.u32(will.delay_interval);
    });
    match &session.owner {
        StoredOwner::Unknown => w.u8(OWNER_UNKNOWN),
        StoredOwner::Anonymous => w.u8(OWNER_ANONYMOUS),
        StoredOwner::User(name) => {
            w.u8(OWNER_USER);
            w.str(name);
        }
    }
    w.buf
}

// Tags of `StoredOwner`; part of the format, never renumber.
const OWNER_UNKNOWN: u8 = 0;
const OWNER_ANONYMOUS: u8 = 1;
const OWNER_USER: u8 = 2;

/// Decodes a session record.
pub(crate) fn decode_session(bytes: &[u8]) -> Result<StoredSession, RecordError> {
    let version = bytes.first().copied();
    decode_versions(bytes, &[RECORD_VERSION, SESSION_RECORD_VERSION], |r| {
        let client_id = r.string("client id")?;
        let expiry_interval = r.u32("session expiry")?;
        let offline_since_ms = r.option("offline since", |r| r.u64("offline since"))?;
        let count = r.len("subscription count")?;
        let mut subscriptions = Vec::new();
        for _ in 0..count {
            let filter = r.string("topic filter")?;
            let qos = r.qos()?;
            let no_local = r.bool("no local")?;
            let retain_as_published = r.bool("retain as published")?;
            let retain_handling = r.u8("retain handling")?;
            if retain_handling > 2 {
                return Err(RecordError::Invalid("retain handling"));
            }
            let id = r.option("subscription id", |r| r.u32("subscription id"))?;
            subscriptions.push(StoredSubscription {
                filter,
                qos,
                no_local,
                retain_as_published,
                retain_handling,
                id,
            });
        }
        let will = r.option("will", |r| {
            let message = r.message()?;
            let delay_interval = r.u32("will delay")?;
            Ok(StoredWill {
                message,
                delay_interval,
            })
        })?;
        let owner = if version == Some(SESSION_RECORD_VERSION) {
            match r.u8("owner")? {
                OWNER_UNKNOWN => StoredOwner::Unknown,
                OWNER_ANONYMOUS => StoredOwner::Anonymous,
                OWNER_USER => StoredOwner::User(r.string("owner user name")?),
                _ => return Err(RecordError::Invalid("owner")),
            }
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

// Tags of `DeliveryState`; part of the format, never renumber.
const STATE_QUEUED: u8 = 0;
const STATE_SENT: u8 = 1;
const STATE_RELEASED: u8 = 2;

/// Encodes a delivery record.
pub(crate) fn encode_delivery(delivery: &StoredDelivery) -> Vec<u8> {
    let mut w = Writer::new();
    w.message(&delivery.message);
    w.u8(delivery.qos);
    w.bool(delivery.retain);
    w.len(delivery.subscription_ids.len());
    for id in &delivery.subscription_ids {
        w.u32(*id);
    }
    match delivery.state {
        DeliveryState::Queued => w.u8(STATE_QUEUED),
        DeliveryState::Sent { packet_id } => {
            w.u8(STATE_SENT);
            w.u16(packet_id);
        }
        DeliveryState::Released { packet_id } => {
            w.u8(STATE_RELEASED);
            w.u16(packet_id);
        }
    }
    w.buf
}

/// Decodes a delivery record.
pub(crate) fn decode_delivery(bytes: &[u8]) -> Result<StoredDelivery, RecordError> {
    decode(bytes, |r| {
        let message = r.message()?;
        let qos = r.qos()?;
        let retain = r.bool("retain")?;
        let count = r.len("subscription id count")?;
        let mut subscription_ids = Vec::new();
        for _ in 0..count {
            subscription_ids.push(r.u32("subscription id")?);
        }
        let state = match r.u8("delivery state")? {
            STATE_QUEUED => DeliveryState::Queued,
            STATE_SENT => DeliveryState::Sent {
                packet_id: r.u16("packet id")?,
            },
            STATE_RELEASED => DeliveryState::Released {
                packet_id: r.u16("packet id")?,
            },
            _ => return Err(RecordError::Invalid("delivery state")),
        };
        Ok(StoredDelivery {
            message,
            qos,
            retain,
            subscription_ids,
            state,
        })
    })
}

/// Encodes the record of an incoming QoS 2 packet id. The key says everything today; the record
/// is there so a later version can add fields (say, an arrival time) without a new table.
pub(crate) fn encode_incoming_qos2() -> Vec<u8> {
    Writer::new().buf
}

/// Decodes the record of an incoming QoS 2 packet id.
pub(crate) fn decode_incoming_qos2(bytes: &[u8]) -> Result<(), RecordError> {
    decode(bytes, |_| Ok(()))
}

/// Checks the version byte, runs `body` on the rest and insists it consumed everything.
fn decode<T>(
    bytes: &[u8],
    body: impl FnOnce(&mut Reader<'_>) -> Result<T, RecordError>,
) -> Result<T, RecordError> {
    decode_versions(bytes, &[RECORD_VERSION], body)
}

/// [`decode`] for a record type whose layout has more than one version.
fn decode_versions<T>(
    bytes: &[u8],
    versions: &[u8],
    body: impl FnOnce(&mut Reader<'_>) -> Result<T, RecordError>,
) -> Result<T, RecordError> {
    let (&version, rest) = bytes.split_first().ok_or(RecordError::Empty)?;
    if !versions.contains(&version) {
        return Err(RecordError::UnknownVersion(version));
    }
    let mut reader = Reader { rest };
    let value = body(&mut reader)?;
    if !reader.rest.is_empty() {
        return Err(RecordError::Trailing(reader.rest.len()));
    }
    Ok(value)
}

/// Appends fields to a record that already holds its version byte.
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn new() -> Self {
        Self {
            buf: vec![RECORD_VERSION],
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
mod tests {
    use super::*;

    fn full_message() -> StoredMessage {
        StoredMessage {
            topic: "a/b/ü".into(),
            payload: (0..=255).collect(),
            qos: 2,
            retain: true,
            expires_at_ms: Some(1_700_000_000_123),
            publisher: Some("pub-1".into()),
            properties: StoredProperties {
                payload_format_utf8: Some(false),
                content_type: Some("application/json".into()),
                response_topic: Some("reply/here".into()),
                correlation_data: Some(vec![0, 1, 2]),
                user_properties: vec![("k".into(), "v".into()), ("k".into(), "v2".into())],
            },
        }
    }

    fn bare_message() -> StoredMessage {
        StoredMessage {
            topic: String::new(),
            payload: Vec::new(),
            qos: 0,
            retain: false,
            expires_at_ms: None,
            publisher: None,
            properties: StoredProperties::default(),
        }
    }

    fn session() -> StoredSession {
        StoredSession {
            client_id: "client".into(),
            expiry_interval: u32::MAX,
            offline_since_ms: Some(42),
            subscriptions: vec![StoredSubscription {
                filter: "$share/g/a/+".into(),
                qos: 1,
                no_local: true,
                retain_as_published: true,
                retain_handling: 2,
                id: Some(268_435_455),
            }],
            will: Some(StoredWill {
                message: full_message(),
                delay_interval: 30,
            }),
            owner: StoredOwner::User("alice".into()),
        }
    }

    #[test]
    fn messages_round_trip() {
        for m in [full_message(), bare_message()] {
            assert_eq!(decode_message(&encode_message(&m)), Ok(m));
        }
    }

    #[test]
    fn sessions_round_trip() {
        let full = session();
        let bare = StoredSession {
            offline_since_ms: None,
            subscriptions: Vec::new(),
            will: None,
            owner: StoredOwner::Unknown,
            ..full.clone()
        };
        let anonymous = StoredSession {
            owner: StoredOwner::Anonymous,
            ..bare.clone()
        };
        for s in [full, bare, anonymous] {
            assert_eq!(decode_session(&encode_session(&s)), Ok(s));
        }
    }

    #[test]
    fn version_1_sessions_are_read_with_an_unknown_owner() {
        // A version 1 record is a version 2 record without the owner field.
        let v2 = encode_session(&StoredSession {
            owner: StoredOwner::Unknown,
            ..session()
        });
        assert_eq!(v2[0], SESSION_RECORD_VERSION);
        let mut v1 = v2[..v2.len() - 1].to_vec();
        v1[0] = RECORD_VERSION;
        assert_eq!(
            decode_session(&v1),
            Ok(StoredSession {
                owner: StoredOwner::Unknown,
                ..session()
            })
        );
        let mut bad_owner = v2.clone();
        *bad_owner.last_mut().unwrap() = 9;
        assert_eq!(decode_session(&bad_owner), Err(RecordError::Invalid("owner")));
    }

    #[test]
    fn deliveries_round_trip() {
        for state in [
            DeliveryState::Queued,
            DeliveryState::Sent { packet_id: 1 },
            DeliveryState::Released { packet_id: 65535 },
        ] {
            let d = StoredDelivery {
                message: full_message(),
                qos: 1,
                retain: false,
                subscription_ids: vec![1, 7, u32::MAX],
                state,
            };
            assert_eq!(decode_delivery(&encode_delivery(&d)), Ok(d));
        }
    }

    #[test]
    fn incoming_qos2_round_trips() {
        assert_eq!(decode_incoming_qos2(&encode_incoming_qos2()), Ok(()));
    }

    #[test]
    fn unknown_version_is_refused() {
        let mut bytes = encode_session(&session());
        bytes[0] = 3;
        assert_eq!(decode_session(&bytes), Err(RecordError::UnknownVersion(3)));
        assert_eq!(decode_message(&[]), Err(RecordError::Empty));
    }

    #[test]
    fn every_truncation_and_trailing_byte_is_refused() {
        let bytes = encode_session(&session());
        for len in 0..bytes.len() {
            assert!(decode_session(&bytes[..len]).is_err(), "prefix of {len} bytes");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode_session(&longer), Err(RecordError::Trailing(1)));
    }

    #[test]
    fn damaged_bytes_never_panic_or_over_allocate() {
        let bytes = encode_delivery(&StoredDelivery {
            message: full_message(),
            qos: 2,
            retain: true,
            subscription_ids: vec![3],
            state: DeliveryState::Sent { packet_id: 9 },
        });
        // Flip every bit once: each decode must return, Ok or Err, without panicking.
        for i in 1..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] ^= 1 << bit;
                let _ = decode_delivery(&damaged);
            }
        }
        // A huge declared length is refused rather than allocated.
        let huge = [
            RECORD_VERSION,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0x7f,
        ];
        assert_eq!(decode_message(&huge), Err(RecordError::Invalid("topic")));
    }
}
