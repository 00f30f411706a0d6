//! The admin API's requests and replies as plain serde types, with no I/O: the broker
//! serializes them and `top` reads them, so both sides agree by construction.
//!
//! Replies read with `#[serde(default)]`, so that `top` still understands a broker one version
//! older or newer that lacks or adds a field; requests deny unknown fields, so that a typo in a
//! request is an error rather than a silent default. Like `protocol`, it imports nothing of
//! the crate: `tui` uses it without reaching into `server`.

use serde::{Deserialize, Serialize};

/// Reply of `clients/list`: the connected clients.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientList {
    /// Clients connected in all (the page may hold fewer).
    pub total: usize,
    /// Index of the first row in the whole list.
    pub offset: usize,
    /// Rows in this page, sorted by client id.
    pub clients: Vec<ClientRow>,
}

/// One connected client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientRow {
    /// Client identifier.
    pub client_id: String,
    /// The user name it authenticated with; `None`: anonymous.
    pub user_name: Option<String>,
    /// Peer address, `ip:port`.
    pub address: String,
    /// `"3.1"`, `"3.1.1"` or `"5.0"`.
    pub protocol_version: String,
    /// Protocol level byte: 3, 4 or 5.
    pub protocol_level: u8,
    /// When the connection was accepted, Unix milliseconds.
    pub connected_since_ms: u64,
    /// Keep alive in force, seconds; 0 = none.
    pub keep_alive: u16,
    /// Clean start / clean session flag of CONNECT.
    pub clean_start: bool,
    /// Session expiry interval, seconds (`4294967295`: never).
    pub session_expiry_interval: u32,
    /// Subscriptions of the session.
    pub subscriptions: usize,
    /// QoS 1/2 messages sent and not yet acknowledged.
    pub inflight: usize,
    /// Messages waiting to be sent.
    pub queued: usize,
    /// Bytes of the waiting messages (approximate).
    pub queued_bytes: usize,
    /// PUBLISH packets received from the client on this connection.
    pub messages_in: u64,
    /// PUBLISH packets sent to the client on this connection.
    pub messages_out: u64,
    /// Bytes read from the client on this connection.
    pub bytes_in: u64,
    /// Bytes written to the client on this connection.
    pub bytes_out: u64,
    /// Messages the session could not take (queue full, too large, expired), over its life.
    pub dropped: u64,
}

/// Reply of `sessions/list`: persistent sessions whose client is offline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionList {
    /// Offline sessions in all.
    pub total: usize,
    /// Index of the first row in the whole list.
    pub offset: usize,
    /// Rows in this page, sorted by client id.
    pub sessions: Vec<SessionRow>,
}

/// One offline session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionRow {
    /// Client identifier.
    pub client_id: String,
    /// Messages waiting for the client.
    pub queued: usize,
    /// QoS 1/2 messages sent before it went offline, to be resent.
    pub inflight: usize,
    /// Subscriptions kept.
    pub subscriptions: usize,
    /// When the client went offline, Unix milliseconds.
    pub offline_since_ms: Option<u64>,
    /// Session expiry interval, seconds.
    pub expiry_interval: u32,
    /// When the session ends unless the client returns, Unix milliseconds; `None`: never.
    pub expires_at_ms: Option<u64>,
    /// Messages the session could not take, over its life.
    pub dropped: u64,
}

/// Reply of `topics/top`: the busiest topics by messages received from clients.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicList {
    /// Seconds the figures cover (less than asked for in the broker's first seconds).
    pub window_seconds: f64,
    /// Distinct topics published to in the window.
    pub distinct_topics: usize,
    /// Messages on topics past the tracking limit (16,384 distinct topics per second).
    pub untracked_messages: u64,
    /// 1: every message was counted. N > 1: under load, one message in N was (at random, per
    /// connection) and the figures are estimates.
    pub sampling: u64,
    /// Busiest first.
    pub topics: Vec<TopicRow>,
}

/// One topic's traffic in the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicRow {
    /// Topic name.
    pub topic: String,
    /// PUBLISH packets received on it.
    pub messages: u64,
    /// Payload bytes received on it.
    pub bytes: u64,
    /// `messages` per second of the window.
    pub messages_per_second: f64,
    /// `bytes` per second of the window.
    pub bytes_per_second: f64,
}

/// Reply of `clients/disconnect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Disconnected {
    /// The client id asked for.
    pub client_id: String,
    /// Whether a client with that id was connected (and is now told to go, with v5 reason
    /// 0x98 administrative action). Its session, if persistent, stays.
    pub existed: bool,
}

/// Request of `clients/get`, `sessions/delete`: one client id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientIdRequest {
    /// The client identifier.
    pub client_id: String,
}

/// Reply of `clients/get`: one connected client in detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientDetail {
    /// Client identifier.
    pub client_id: String,
    /// The user name it authenticated with; `None`: anonymous.
    pub user_name: Option<String>,
    /// Peer address, `ip:port`.
    pub address: String,
    /// `"3.1"`, `"3.1.1"` or `"5.0"`.
    pub protocol_version: String,
    /// When the connection was accepted, Unix milliseconds.
    pub connected_since_ms: u64,
    /// Keep alive in force, seconds; 0 = none.
    pub keep_alive: u16,
    /// Clean start / clean session flag of CONNECT.
    pub clean_start: bool,
    /// Session expiry interval, seconds (`4294967295`: never).
    pub session_expiry_interval: u32,
    /// The will, if the client left one (its payload is not shown).
    pub will: Option<WillInfo>,
    /// Subscriptions of the session, sorted by filter (at most [`MAX_DETAIL_SUBSCRIPTIONS`]).
    pub subscriptions: Vec<SubscriptionInfo>,
    /// Subscriptions of the session in all.
    pub subscriptions_total: usize,
    /// QoS 1/2 messages sent and not yet acknowledged.
    pub inflight: usize,
    /// Messages waiting to be sent.
    pub queued: usize,
    /// Bytes of the waiting messages (approximate).
    pub queued_bytes: usize,
    /// PUBLISH packets received from the client on this connection.
    pub messages_in: u64,
    /// PUBLISH packets sent to the client on this connection.
    pub messages_out: u64,
    /// Bytes read from the client on this connection.
    pub bytes_in: u64,
    /// Bytes written to the client on this connection.
    pub bytes_out: u64,
    /// Messages the session could not take (queue full, too large, expired), over its life.
    pub dropped: u64,
}

/// Most subscriptions a `clients/get` reply lists (the rest are counted).
pub const MAX_DETAIL_SUBSCRIPTIONS: usize = 1_000;

/// A client's will, without its payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WillInfo {
    /// Topic the will goes to.
    pub topic: String,
    /// Its QoS, 0 to 2.
    pub qos: u8,
    /// Whether it is published retained.
    pub retain: bool,
    /// v5 will delay interval, seconds.
    pub delay_interval: u32,
    /// Payload size in bytes.
    pub payload_bytes: usize,
}

/// One subscription with its options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscriptionInfo {
    /// The topic filter (with any `$share/group/` prefix).
    pub filter: String,
    /// Maximum QoS granted.
    pub qos: u8,
    /// v5 no local.
    pub no_local: bool,
    /// v5 retain as published.
    pub retain_as_published: bool,
    /// v5 retain handling: 0 send at subscribe, 1 only if new, 2 never.
    pub retain_handling: u8,
    /// v5 subscription identifier.
    pub subscription_id: Option<u32>,
}

/// Request of `retained/delete`: one topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicRequest {
    /// The topic name.
    pub topic: String,
}

/// Reply of `subscriptions/list`: every subscription, one row per filter and client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscriptionList {
    /// Subscriptions in all.
    pub total: usize,
    /// Index of the first row in the whole list.
    pub offset: usize,
    /// Rows in this page, sorted by filter, then client id.
    pub subscriptions: Vec<SubscriberRow>,
}

/// One client's subscription to one filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscriberRow {
    /// The topic filter (with any `$share/group/` prefix).
    pub filter: String,
    /// The subscribing client.
    pub client_id: String,
    /// Whether that client is connected (else its session waits offline).
    pub connected: bool,
    /// Maximum QoS granted.
    pub qos: u8,
    /// v5 subscription identifier.
    pub subscription_id: Option<u32>,
}

/// Reply of `retained/list`: the retained messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetainedList {
    /// Retained messages in all.
    pub total: usize,
    /// Index of the first row in the whole list.
    pub offset: usize,
    /// Rows in this page, sorted by topic.
    pub messages: Vec<RetainedRow>,
}

/// Bytes of a retained payload a `retained/list` row shows.
pub const PREVIEW_BYTES: usize = 64;

/// One retained message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetainedRow {
    /// Its topic.
    pub topic: String,
    /// QoS it was published with.
    pub qos: u8,
    /// Payload size in bytes.
    pub payload_bytes: usize,
    /// The first [`PREVIEW_BYTES`] of the payload: as text if they are UTF-8, else in hex.
    pub preview: String,
    /// Whether `preview` is hex.
    pub preview_hex: bool,
}

/// Reply of `retained/delete`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetainedDeleted {
    /// The topic asked for.
    pub topic: String,
    /// Whether it had a retained message (now gone).
    pub existed: bool,
}

/// Reply of `sessions/delete`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionDeleted {
    /// The client id asked for.
    pub client_id: String,
    /// Whether it had an offline session (now gone).
    pub existed: bool,
}

/// Reply of `bridges/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BridgeList {
    /// Every bridge, in configuration order.
    pub bridges: Vec<BridgeRow>,
}

/// One bridge of `bridges/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BridgeRow {
    /// The bridge's name.
    pub name: String,
    /// Its remote.
    pub remote: String,
    /// `connected` or `connecting`.
    pub state: String,
    /// Why the last connection attempt failed, while connecting.
    pub error: Option<String>,
    /// Messages waiting to go to the remote (in memory and in the store).
    pub queued: u64,
    /// PUBLISH packets written to the remote, since the broker started.
    pub sent: u64,
    /// PUBLISH packets the remote sent, since the broker started.
    pub received: u64,
    /// Messages for the remote that were dropped (its queue was full), over the session's life.
    pub dropped: u64,
}

/// Reply of `store/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreStats {
    /// Whether the broker has a store at all.
    pub durable: bool,
    /// `immediate` or `periodic`.
    pub durability: String,
    /// Path of the data file.
    pub file: Option<String>,
    /// Size of the data file in bytes (`null` if it cannot be read).
    pub file_bytes: Option<u64>,
    /// Write transactions committed since start (a group commit counts once).
    pub commits: u64,
    /// Commits that were fsynced.
    pub fsyncs: u64,
    /// Changes applied in those commits.
    pub ops: u64,
    /// Duration of the last commit, fsync included, microseconds.
    pub last_commit_us: u64,
    /// Submissions not committed: refused while the disk was full, or failed.
    pub errors: u64,
    /// Whether the disk is full now: new messages that must be stored are refused.
    pub full: bool,
    /// Bytes of queued messages the store holds for persistent sessions.
    pub store_bytes: u64,
    /// The configured bound of `store_bytes`.
    pub max_store_bytes: u64,
    /// Messages queued or in flight, all sessions.
    pub queued_messages: u64,
    /// Submit-to-commit latency of the broker's changes (see `robustmq_store_commit_seconds`).
    pub commit_latency: Latency,
}

/// A cumulative latency histogram.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Latency {
    /// Observations.
    pub count: u64,
    /// Sum of the observations, seconds.
    pub sum_seconds: f64,
    /// `[upper bound in seconds, observations ≤ bound]`, ascending.
    pub buckets: Vec<(f64, u64)>,
}

impl Latency {
    /// Mean, seconds.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_seconds / self.count as f64)
    }

    /// The upper bound of the bucket that holds quantile `q` (0..=1): "at most this long".
    /// `None` without observations or when the quantile lies past the last bucket.
    pub fn quantile_bound(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * self.count as f64).ceil().max(1.0) as u64;
        self.buckets
            .iter()
            .find(|(_, cumulative)| *cumulative >= rank)
            .map(|(bound, _)| *bound)
    }
}

/// The fields of `broker/stats` that `top` reads.
///
/// The broker writes that reply from its metrics table (one field per figure, `limits.*` in an
/// object of their own), so it is a JSON object rather than this type; the broker's tests check
/// that every field named here is one it writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BrokerStats {
    /// Broker version.
    pub version: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Clients connected now.
    pub clients_connected: u64,
    /// Offline sessions.
    pub clients_disconnected: u64,
    /// Sessions, online and offline.
    pub clients_total: u64,
    /// Most clients connected at once.
    pub clients_maximum: u64,
    /// Connections accepted since start.
    pub connections_total: u64,
    /// MQTT packets received.
    pub messages_received: u64,
    /// MQTT packets sent.
    pub messages_sent: u64,
    /// PUBLISH packets received.
    pub publish_received: u64,
    /// PUBLISH packets sent.
    pub publish_sent: u64,
    /// Messages dropped.
    pub publish_dropped: u64,
    /// Bytes read from clients.
    pub bytes_received: u64,
    /// Bytes written to clients.
    pub bytes_sent: u64,
    /// Subscriptions.
    pub subscriptions: u64,
    /// Retained messages.
    pub retained_messages: u64,
    /// Messages queued or in flight.
    pub queued_messages: u64,
    /// Retained plus queued.
    pub stored_messages: u64,
    /// Bytes of queued messages in the store.
    pub store_bytes: u64,
}

/// The preview of a payload: its first [`PREVIEW_BYTES`] as text when they are UTF-8 (a
/// character cut at the end does not count against it), else in hex; and whether it is hex.
pub fn preview(payload: &[u8]) -> (String, bool) {
    let head = &payload[..payload.len().min(PREVIEW_BYTES)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => Some(text),
        // Cut inside a character by the limit: the whole characters before it.
        Err(e) if e.error_len().is_none() && head.len() < payload.len() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()
        }
        Err(_) => None,
    };
    match text {
        Some(text)
            if !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) =>
        {
            (text.to_string(), false)
        }
        _ => (head.iter().map(|b| format!("{b:02x}")).collect(), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_text_when_they_can_be_and_hex_otherwise() {
        assert_eq!(preview(b"21.5"), ("21.5".into(), false));
        assert_eq!(preview(&[0, 1, 0xff]), ("0001ff".into(), true));
        let long = "é".repeat(40);
        let (text, hex) = preview(long.as_bytes());
        assert!(!hex);
        assert_eq!(text, "é".repeat(32), "whole characters within the limit");
        let cut = format!("a{}", "é".repeat(40));
        assert_eq!(preview(cut.as_bytes()), (format!("a{}", "é".repeat(31)), false));
        assert_eq!(preview(&[b'a'; 100]).0.len(), PREVIEW_BYTES);
        assert_eq!(preview(&[b'a', 0xff]), ("61ff".into(), true));
    }

    #[test]
    fn quantiles_come_from_cumulative_buckets() {
        let latency = Latency {
            count: 100,
            sum_seconds: 0.5,
            buckets: vec![(0.001, 50), (0.01, 99), (0.1, 100)],
        };
        assert_eq!(latency.quantile_bound(0.5), Some(0.001));
        assert_eq!(latency.quantile_bound(0.99), Some(0.01));
        assert_eq!(latency.quantile_bound(1.0), Some(0.1));
        assert_eq!(latency.mean(), Some(0.005));
        assert_eq!(Latency::default().quantile_bound(0.5), None);
    }
}
