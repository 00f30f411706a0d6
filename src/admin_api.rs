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
}
