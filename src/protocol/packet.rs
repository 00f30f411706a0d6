//! The version-neutral packet model the broker works on; MQTT 3.1, 3.1.1 and 5.0 all map onto it.

use std::sync::Arc;

use bytes::Bytes;

use super::ReasonCode;

/// The protocol level a connection speaks, fixed by its CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// MQTT 3.1 (protocol name "MQIsdp", level 3).
    V3_1,
    /// MQTT 3.1.1 (level 4).
    V3_1_1,
    /// MQTT 5.0 (level 5).
    V5,
}

impl Version {
    /// True for MQTT 5.0, the only version with properties and reason codes on every ack.
    pub fn is_v5(self) -> bool {
        self == Version::V5
    }

    /// The protocol level byte of CONNECT.
    pub fn level(self) -> u8 {
        match self {
            Version::V3_1 => 3,
            Version::V3_1_1 => 4,
            Version::V5 => 5,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Version::V3_1 => "3.1",
            Version::V3_1_1 => "3.1.1",
            Version::V5 => "5.0",
        })
    }
}

/// Quality of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum QoS {
    /// At most once.
    #[default]
    AtMostOnce = 0,
    /// At least once.
    AtLeastOnce = 1,
    /// Exactly once.
    ExactlyOnce = 2,
}

impl QoS {
    /// Parses the two QoS bits; 3 is not a QoS.
    pub fn from_u8(value: u8) -> Option<QoS> {
        match value {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

/// A v5 user property (name, value); order and duplicates are kept as the spec asks.
pub type UserProperty = (Arc<str>, Arc<str>);

/// Properties an application message carries end to end (PUBLISH and will), read and written
/// through `Deref` as [`PropertyFields`].
///
/// Most messages carry none, and a message moves by value several times between the socket and
/// the queues: the fields live behind one pointer, null while they are all empty, so that they
/// cost 8 bytes of every PUBLISH instead of about a hundred. The first write through
/// `DerefMut` allocates them.
#[derive(Clone, Default)]
pub struct MessageProperties(Option<Box<PropertyFields>>);

/// The fields of [`MessageProperties`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertyFields {
    /// Payload format indicator: `Some(true)` means UTF-8.
    pub payload_format_utf8: Option<bool>,
    /// Message expiry interval in seconds, as received.
    pub message_expiry: Option<u32>,
    /// Content type.
    pub content_type: Option<Arc<str>>,
    /// Response topic.
    pub response_topic: Option<Arc<str>>,
    /// Correlation data.
    pub correlation_data: Option<Bytes>,
    /// User properties.
    pub user_properties: Vec<UserProperty>,
}

/// What an empty [`MessageProperties`] reads as.
static NO_PROPERTIES: PropertyFields = PropertyFields {
    payload_format_utf8: None,
    message_expiry: None,
    content_type: None,
    response_topic: None,
    correlation_data: None,
    user_properties: Vec::new(),
};

impl From<PropertyFields> for MessageProperties {
    fn from(fields: PropertyFields) -> MessageProperties {
        MessageProperties((fields != NO_PROPERTIES).then(|| Box::new(fields)))
    }
}

impl std::ops::Deref for MessageProperties {
    type Target = PropertyFields;

    fn deref(&self) -> &PropertyFields {
        self.0.as_deref().unwrap_or(&NO_PROPERTIES)
    }
}

impl std::ops::DerefMut for MessageProperties {
    fn deref_mut(&mut self) -> &mut PropertyFields {
        self.0.get_or_insert_with(Default::default)
    }
}

impl PartialEq for MessageProperties {
    fn eq(&self, other: &MessageProperties) -> bool {
        **self == **other
    }
}

impl Eq for MessageProperties {}

impl std::fmt::Debug for MessageProperties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// PUBLISH in either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// DUP flag: a re-delivery of an earlier attempt.
    pub dup: bool,
    /// Quality of service.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name; empty only when a v5 topic alias stands in for it.
    pub topic: Arc<str>,
    /// Packet identifier, 0 for QoS 0.
    pub packet_id: u16,
    /// Application payload, shared without copying between subscribers.
    pub payload: Bytes,
    /// End-to-end properties.
    pub properties: MessageProperties,
    /// v5 topic alias.
    pub topic_alias: Option<u16>,
    /// v5 subscription identifiers (server to client only).
    pub subscription_ids: Vec<u32>,
}

/// The will message of a CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    /// Topic the will is published to.
    pub topic: Arc<str>,
    /// Will payload.
    pub payload: Bytes,
    /// Will QoS.
    pub qos: QoS,
    /// Will retain flag.
    pub retain: bool,
    /// v5 will delay interval in seconds.
    pub delay_interval: u32,
    /// End-to-end properties.
    pub properties: MessageProperties,
}

/// CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Protocol level.
    pub version: Version,
    /// Clean session (3.1.1) / clean start (5.0).
    pub clean_start: bool,
    /// Keep alive in seconds, 0 = off.
    pub keep_alive: u16,
    /// Client identifier; may be empty.
    pub client_id: Arc<str>,
    /// User name.
    pub username: Option<Arc<str>>,
    /// Password.
    pub password: Option<Bytes>,
    /// Will message.
    pub will: Option<Will>,
    /// v5 session expiry interval in seconds (absent = 0).
    pub session_expiry: u32,
    /// v5 receive maximum of the client (absent = 65535).
    pub receive_maximum: u16,
    /// v5 maximum packet size the client accepts.
    pub maximum_packet_size: Option<u32>,
    /// v5 topic alias maximum the client accepts (absent = 0).
    pub topic_alias_maximum: u16,
    /// v5 request response information.
    pub request_response_info: bool,
    /// v5 request problem information (absent = true).
    pub request_problem_info: bool,
    /// v5 user properties.
    pub user_properties: Vec<UserProperty>,
    /// v5 authentication method.
    pub auth_method: Option<Arc<str>>,
    /// v5 authentication data.
    pub auth_data: Option<Bytes>,
    /// The client is a bridge from another broker: MQTT 3.1 and 3.1.1 bridges say so with the
    /// top bit of the protocol level (0x83, 0x84), Mosquitto's convention, and get their own
    /// messages not sent back to them and retained flags as published.
    pub bridge: bool,
}

/// v5 CONNACK properties the server announces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnackProperties {
    /// Session expiry the server uses, when it differs from what the client asked.
    pub session_expiry: Option<u32>,
    /// How many QoS 1/2 publishes the server accepts unacknowledged.
    pub receive_maximum: Option<u16>,
    /// Highest QoS the server supports, when below 2.
    pub maximum_qos: Option<QoS>,
    /// Whether retained messages are available.
    pub retain_available: Option<bool>,
    /// Largest packet the server accepts.
    pub maximum_packet_size: Option<u32>,
    /// Client identifier the server assigned to an empty one.
    pub assigned_client_id: Option<Arc<str>>,
    /// Highest topic alias the server accepts.
    pub topic_alias_maximum: Option<u16>,
    /// Human-readable reason.
    pub reason_string: Option<Arc<str>>,
    /// Whether wildcard subscriptions are available.
    pub wildcard_subscription_available: Option<bool>,
    /// Whether subscription identifiers are available.
    pub subscription_ids_available: Option<bool>,
    /// Whether shared subscriptions are available.
    pub shared_subscription_available: Option<bool>,
    /// Keep alive the client must use instead of its own.
    pub server_keep_alive: Option<u16>,
    /// Response information (basis for response topics).
    pub response_information: Option<Arc<str>>,
}

/// CONNACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connack {
    /// Whether the server had a session for this client.
    pub session_present: bool,
    /// v5 reason code; mapped onto a 3.1.1 return code at the edge.
    pub reason: ReasonCode,
    /// v5 properties.
    pub properties: ConnackProperties,
}

/// PUBACK, PUBREC, PUBREL and PUBCOMP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// Packet identifier being acknowledged.
    pub packet_id: u16,
    /// v5 reason code.
    pub reason: ReasonCode,
    /// v5 reason string.
    pub reason_string: Option<Arc<str>>,
}

impl Ack {
    /// A successful acknowledgement.
    pub fn success(packet_id: u16) -> Ack {
        Ack {
            packet_id,
            reason: ReasonCode::SUCCESS,
            reason_string: None,
        }
    }
}

/// v5 retain handling option of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// Send retained messages at the time of the subscribe.
    #[default]
    SendAlways,
    /// Send them only if the subscription did not exist.
    SendIfNew,
    /// Never send them.
    Never,
}

/// Per-filter options of SUBSCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// Maximum QoS granted.
    pub qos: QoS,
    /// v5 no local: do not deliver the client's own publications.
    pub no_local: bool,
    /// v5 retain as published: keep the RETAIN flag on forwarded messages.
    pub retain_as_published: bool,
    /// v5 retain handling.
    pub retain_handling: RetainHandling,
}

/// SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier.
    pub packet_id: u16,
    /// v5 subscription identifier.
    pub subscription_id: Option<u32>,
    /// Filters with their options.
    pub filters: Vec<(Arc<str>, SubscriptionOptions)>,
}

/// SUBACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suback {
    /// Packet identifier of the SUBSCRIBE.
    pub packet_id: u16,
    /// One v5 reason code per filter (granted QoS 0..2 or a failure ≥ 0x80).
    pub reasons: Vec<ReasonCode>,
    /// v5 reason string.
    pub reason_string: Option<Arc<str>>,
}

/// UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Packet identifier.
    pub packet_id: u16,
    /// Filters to remove.
    pub filters: Vec<Arc<str>>,
}

/// UNSUBACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsuback {
    /// Packet identifier of the UNSUBSCRIBE.
    pub packet_id: u16,
    /// One v5 reason code per filter.
    pub reasons: Vec<ReasonCode>,
}

/// DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// v5 reason code.
    pub reason: ReasonCode,
    /// v5 session expiry update from the client.
    pub session_expiry: Option<u32>,
    /// v5 reason string.
    pub reason_string: Option<Arc<str>>,
}

/// AUTH (v5 enhanced authentication).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// v5 reason code.
    pub reason: ReasonCode,
    /// Authentication method.
    pub method: Option<Arc<str>>,
    /// Authentication data.
    pub data: Option<Bytes>,
}

/// Every MQTT control packet, whatever the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT.
    Connect(Box<Connect>),
    /// CONNACK.
    Connack(Connack),
    /// PUBLISH.
    Publish(Publish),
    /// PUBACK.
    Puback(Ack),
    /// PUBREC.
    Pubrec(Ack),
    /// PUBREL.
    Pubrel(Ack),
    /// PUBCOMP.
    Pubcomp(Ack),
    /// SUBSCRIBE.
    Subscribe(Subscribe),
    /// SUBACK.
    Suback(Suback),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK.
    Unsuback(Unsuback),
    /// PINGREQ.
    Pingreq,
    /// PINGRESP.
    Pingresp,
    /// DISCONNECT.
    Disconnect(Disconnect),
    /// AUTH.
    Auth(Auth),
}

impl Packet {
    /// The packet's name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Packet::Connect(_) => "CONNECT",
            Packet::Connack(_) => "CONNACK",
            Packet::Publish(_) => "PUBLISH",
            Packet::Puback(_) => "PUBACK",
            Packet::Pubrec(_) => "PUBREC",
            Packet::Pubrel(_) => "PUBREL",
            Packet::Pubcomp(_) => "PUBCOMP",
            Packet::Subscribe(_) => "SUBSCRIBE",
            Packet::Suback(_) => "SUBACK",
            Packet::Unsubscribe(_) => "UNSUBSCRIBE",
            Packet::Unsuback(_) => "UNSUBACK",
            Packet::Pingreq => "PINGREQ",
            Packet::Pingresp => "PINGRESP",
            Packet::Disconnect(_) => "DISCONNECT",
            Packet::Auth(_) => "AUTH",
        }
    }
}
