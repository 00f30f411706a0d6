//! The values the store keeps and the operations that change them, as the broker sees them.
//!
//! These are plain data: how they are laid out on disk lives in `record.rs`, so the broker never
//! depends on the file format and the file format can change without touching the broker.

use std::time::Duration;

/// Properties carried with a message (MQTT 5). All empty for MQTT 3.1.1 messages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredProperties {
    /// Payload format indicator: `Some(true)` when the publisher declared the payload UTF-8.
    pub payload_format_utf8: Option<bool>,
    /// Content type, as the publisher sent it.
    pub content_type: Option<String>,
    /// Response topic for request/response.
    pub response_topic: Option<String>,
    /// Correlation data for request/response.
    pub correlation_data: Option<Vec<u8>>,
    /// User properties in the order they were sent (duplicates are allowed by MQTT 5).
    pub user_properties: Vec<(String, String)>,
}

/// A message as stored: a retained message, a will, or a copy queued for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Topic name the message was published to.
    pub topic: String,
    /// Application payload.
    pub payload: Vec<u8>,
    /// QoS the publisher used.
    pub qos: u8,
    /// Retain flag as published.
    pub retain: bool,
    /// Absolute expiry (unix milliseconds), so the remaining lifetime survives a restart.
    pub expires_at_ms: Option<u64>,
    /// Client id of the publisher, kept for no-local after a restart.
    pub publisher: Option<String>,
    /// MQTT 5 properties forwarded with the message.
    pub properties: StoredProperties,
}

/// One subscription of a persistent session, with all its MQTT 5 options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubscription {
    /// Topic filter, including any `$share/group/` prefix.
    pub filter: String,
    /// Maximum QoS granted.
    pub qos: u8,
    /// MQTT 5 no-local option.
    pub no_local: bool,
    /// MQTT 5 retain-as-published option.
    pub retain_as_published: bool,
    /// MQTT 5 retain handling (0, 1 or 2).
    pub retain_handling: u8,
    /// MQTT 5 subscription identifier.
    pub id: Option<u32>,
}

/// The will of a session, with its delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWill {
    /// The message published when the will fires.
    pub message: StoredMessage,
    /// Will delay interval in seconds (MQTT 5; 0 for MQTT 3.1.1).
    pub delay_interval: u32,
}

/// A persistent session: everything needed to resume it except its queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// Client identifier; the key of the session.
    pub client_id: String,
    /// Session expiry interval in seconds; `u32::MAX` means the session never expires.
    pub expiry_interval: u32,
    /// When the client disconnected (unix milliseconds); `None` while it is connected.
    pub offline_since_ms: Option<u64>,
    /// Subscriptions, one per filter; they load in filter order.
    pub subscriptions: Vec<StoredSubscription>,
    /// The will, if the session has one that has not fired yet.
    pub will: Option<StoredWill>,
    /// Who the session belongs to, so that ACL checks made while its client is away (after a
    /// restart) know the user.
    pub owner: StoredOwner,
}

/// The user a session belongs to: the user name its client authenticated with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StoredOwner {
    /// Not recorded (a record written before owners were kept).
    #[default]
    Unknown,
    /// A client without a user name.
    Anonymous,
    /// A client with this user name.
    User(String),
}

/// Where an outgoing message stands in the QoS flow towards its subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not sent yet.
    Queued,
    /// PUBLISH sent with this packet id; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Sent {
        /// Packet id the PUBLISH used.
        packet_id: u16,
    },
    /// QoS 2: PUBREL sent with this packet id; waiting for PUBCOMP.
    Released {
        /// Packet id of the PUBREL.
        packet_id: u16,
    },
}

/// A message queued for, or in flight to, one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDelivery {
    /// The message as published.
    pub message: StoredMessage,
    /// QoS of this delivery (the minimum of published and granted QoS).
    pub qos: u8,
    /// Retain flag to send (retain-as-published, or a retained message sent on subscribe).
    pub retain: bool,
    /// Identifiers of the subscriptions that matched.
    pub subscription_ids: Vec<u32>,
    /// QoS flow state.
    pub state: DeliveryState,
}

/// One change to the store. A submission's ops are applied in order, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Stores a retained message under its topic, replacing any previous one.
    PutRetained(StoredMessage),
    /// Removes the retained message of a topic (no-op if there is none).
    DeleteRetained {
        /// Topic whose retained message goes.
        topic: String,
    },
    /// Stores a session under its client id, replacing any previous one. Queues are untouched.
    PutSession(StoredSession),
    /// Removes a session together with its deliveries and incoming QoS 2 packet ids.
    DeleteSession {
        /// Client id of the session.
        client_id: String,
    },
    /// Inserts or replaces one delivery of a session.
    PutDelivery {
        /// Client id of the session the delivery belongs to.
        client_id: String,
        /// Position in the session's queue; deliveries load in ascending `seq`.
        seq: u64,
        /// The delivery.
        delivery: StoredDelivery,
    },
    /// Changes the flow state of a delivery already stored (no-op if absent). Its message is
    /// neither encoded nor compared again, so a PUBLISH sent or a PUBREC received costs the few
    /// bytes of the delivery row.
    SetDeliveryState {
        /// Client id of the session.
        client_id: String,
        /// Position of the delivery.
        seq: u64,
        /// Its new state.
        state: DeliveryState,
    },
    /// Removes one delivery (no-op if absent).
    DeleteDelivery {
        /// Client id of the session.
        client_id: String,
        /// Position of the delivery.
        seq: u64,
    },
    /// Records an incoming QoS 2 packet id awaiting PUBREL, so a resent PUBLISH is not delivered twice.
    PutIncomingQos2 {
        /// Client id of the publishing session.
        client_id: String,
        /// Packet id of the PUBLISH.
        packet_id: u16,
    },
    /// Forgets an incoming QoS 2 packet id once PUBREL arrived (no-op if absent).
    DeleteIncomingQos2 {
        /// Client id of the publishing session.
        client_id: String,
        /// Packet id of the PUBLISH.
        packet_id: u16,
    },
}

/// A session as loaded at start, with its queue and QoS 2 state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedSession {
    /// The session record.
    pub session: StoredSession,
    /// Its deliveries in ascending `seq`.
    pub deliveries: Vec<(u64, StoredDelivery)>,
    /// Incoming QoS 2 packet ids awaiting PUBREL, ascending.
    pub incoming_qos2: Vec<u16>,
}

/// Everything the store held when it was opened. Nothing is filtered out (expiry is the broker's call).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Sessions in client id order.
    pub sessions: Vec<LoadedSession>,
    /// Retained messages in topic order.
    pub retained: Vec<StoredMessage>,
    /// Time spent checking the file and loading it.
    pub load_time: Duration,
}

/// When a commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreDurability {
    /// Every commit is fsynced before its callbacks run: acknowledged means stored.
    Immediate,
    /// Commits are not fsynced; an fsync runs every interval (when anything was written), so a
    /// crash can lose up to one interval of acknowledged writes.
    Periodic(Duration),
}

/// Counters of the writer thread, for `$SYS` and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Submissions that were not committed: refused while the disk was full, or whose
    /// commit failed.
    pub errors: u64,
    /// Whether the disk is full right now: new messages are refused until it has room.
    pub full: bool,
    /// Write transactions committed (a group commit counts once).
    pub commits: u64,
    /// Commits that were fsynced (`Durability::Immediate`).
    pub fsyncs: u64,
    /// Ops applied in committed transactions.
    pub ops: u64,
    /// Bytes of the keys and values put into tables by committed transactions: what the ops
    /// asked redb to write, before its page and index overhead.
    pub bytes_put: u64,
    /// Duration of the last commit, including its fsync, in microseconds.
    pub last_commit_micros: u64,
}
