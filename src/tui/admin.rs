//! robustmq's admin API as `top` speaks it: the requests it sends and the JSON replies it reads.
//!
//! Most replies are the types of [`crate::admin_api`], shared with the broker; those of
//! `broker/stats`, `store/stats` and `bridges/list`, whose broker-side types hold the server's
//! own (limit counters, bridge figures), are mirrored here field by field. Either way `top`
//! never links the server's code. Every field has a default, so a newer or older broker that
//! adds or drops a field is still understood.

use serde::Deserialize;
use serde_json::Value;

pub use crate::admin_api::{
    ClientDetail, ClientList, ClientRow, Disconnected, RetainedDeleted, RetainedList, RetainedRow,
    SessionDeleted, SessionList, SessionRow, SubscriberRow, SubscriptionInfo, SubscriptionList, TopicList,
    TopicRow, WillInfo,
};

/// Every admin topic starts with this.
pub const PREFIX: &str = "$CONTROL/robustmq/v1/";
/// The broker's default reply topic is the request topic with this appended.
pub const RESPONSE_SUFFIX: &str = "/response";

/// A request `top` sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `broker/stats`: the `$SYS` figures, fresh.
    BrokerStats,
    /// `clients/list`.
    Clients,
    /// `sessions/list`.
    Sessions,
    /// `topics/top` with this many rows.
    Topics(usize),
    /// `store/stats`.
    Store,
    /// `clients/disconnect` for this client id.
    Disconnect(String),
    /// `clients/get` for this client id.
    ClientGet(String),
    /// `subscriptions/list`.
    Subscriptions,
    /// `retained/list`.
    Retained,
    /// `retained/delete` for this topic.
    DeleteRetained(String),
    /// `sessions/delete` for this client id.
    DeleteSession(String),
    /// `bridges/list`.
    Bridges,
}

impl Request {
    /// The command part of the topic, e.g. `clients/list`.
    pub fn command(&self) -> &'static str {
        match self {
            Request::BrokerStats => "broker/stats",
            Request::Clients => "clients/list",
            Request::Sessions => "sessions/list",
            Request::Topics(_) => "topics/top",
            Request::Store => "store/stats",
            Request::Disconnect(_) => "clients/disconnect",
            Request::ClientGet(_) => "clients/get",
            Request::Subscriptions => "subscriptions/list",
            Request::Retained => "retained/list",
            Request::DeleteRetained(_) => "retained/delete",
            Request::DeleteSession(_) => "sessions/delete",
            Request::Bridges => "bridges/list",
        }
    }

    /// The topic to publish the request to.
    pub fn topic(&self) -> String {
        format!("{PREFIX}{}", self.command())
    }

    /// The request body.
    pub fn payload(&self) -> Vec<u8> {
        let body = match self {
            Request::Topics(limit) => serde_json::json!({ "limit": limit }),
            Request::Disconnect(id) | Request::ClientGet(id) | Request::DeleteSession(id) => {
                serde_json::json!({ "client_id": id })
            }
            Request::DeleteRetained(topic) => serde_json::json!({ "topic": topic }),
            _ => serde_json::json!({}),
        };
        body.to_string().into_bytes()
    }
}

/// The command a default reply topic (`$CONTROL/robustmq/v1/<command>/response`) answers.
pub fn command_of_reply_topic(topic: &str) -> Option<&str> {
    topic.strip_prefix(PREFIX)?.strip_suffix(RESPONSE_SUFFIX)
}

/// A parsed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `broker/stats`.
    Broker(BrokerStats),
    /// `clients/list`.
    Clients(ClientList),
    /// `sessions/list`.
    Sessions(SessionList),
    /// `topics/top`.
    Topics(TopicList),
    /// `store/stats`.
    Store(StoreStats),
    /// `clients/disconnect`.
    Disconnected(Disconnected),
    /// `clients/get`.
    ClientDetail(ClientDetail),
    /// `subscriptions/list`.
    Subscriptions(SubscriptionList),
    /// `retained/list`.
    Retained(RetainedList),
    /// `retained/delete`.
    RetainedDeleted(RetainedDeleted),
    /// `sessions/delete`.
    SessionDeleted(SessionDeleted),
    /// `bridges/list`.
    Bridges(BridgeList),
    /// `{"error": ...}` or a reply that could not be read.
    Error {
        /// The command that failed.
        command: String,
        /// What the broker (or the parser) said.
        message: String,
    },
}

/// Reads the reply to `command`.
pub fn parse_reply(command: &str, payload: &[u8]) -> Reply {
    let value: Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(e) => {
            return Reply::Error {
                command: command.to_string(),
                message: format!("unreadable reply: {e}"),
            }
        }
    };
    if let Some(message) = value.get("error").and_then(Value::as_str) {
        return Reply::Error {
            command: command.to_string(),
            message: message.to_string(),
        };
    }
    let parsed = match command {
        "broker/stats" => serde_json::from_value(value).map(Reply::Broker),
        "clients/list" => serde_json::from_value(value).map(Reply::Clients),
        "sessions/list" => serde_json::from_value(value).map(Reply::Sessions),
        "topics/top" => serde_json::from_value(value).map(Reply::Topics),
        "store/stats" => serde_json::from_value(value).map(Reply::Store),
        "clients/disconnect" => serde_json::from_value(value).map(Reply::Disconnected),
        "clients/get" => serde_json::from_value(value).map(Reply::ClientDetail),
        "subscriptions/list" => serde_json::from_value(value).map(Reply::Subscriptions),
        "retained/list" => serde_json::from_value(value).map(Reply::Retained),
        "retained/delete" => serde_json::from_value(value).map(Reply::RetainedDeleted),
        "sessions/delete" => serde_json::from_value(value).map(Reply::SessionDeleted),
        "bridges/list" => serde_json::from_value(value).map(Reply::Bridges),
        other => {
            return Reply::Error {
                command: other.to_string(),
                message: "a reply to a command top never sends".into(),
            }
        }
    };
    parsed.unwrap_or_else(|e| Reply::Error {
        command: command.to_string(),
        message: format!("unreadable reply: {e}"),
    })
}

/// `bridges/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BridgeList {
    /// Every bridge, in configuration order.
    pub bridges: Vec<BridgeRow>,
}

/// One bridge of `bridges/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BridgeRow {
    /// Its name.
    pub name: String,
    /// Its remote.
    pub remote: String,
    /// `connected` or `connecting`.
    pub state: String,
    /// Why the last attempt to connect failed.
    pub error: Option<String>,
    /// Messages waiting for the remote.
    pub queued: u64,
    /// PUBLISH packets written to the remote.
    pub sent: u64,
    /// PUBLISH packets the remote sent.
    pub received: u64,
    /// Messages for the remote dropped for want of room.
    pub dropped: u64,
}

/// `broker/stats`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
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

/// `store/stats`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StoreStats {
    /// Whether the broker has a store.
    pub durable: bool,
    /// `immediate` or `periodic`.
    pub durability: String,
    /// Data file path.
    pub file: Option<String>,
    /// Data file size.
    pub file_bytes: Option<u64>,
    /// Commits since start.
    pub commits: u64,
    /// Fsyncs since start.
    pub fsyncs: u64,
    /// Changes applied.
    pub ops: u64,
    /// Last commit's duration, microseconds.
    pub last_commit_us: u64,
    /// Submissions not committed (refused while the disk was full, or failed).
    pub errors: u64,
    /// Whether the broker's disk is full now.
    pub full: bool,
    /// Bytes of queued messages held.
    pub store_bytes: u64,
    /// Bound of `store_bytes`.
    pub max_store_bytes: u64,
    /// Messages queued or in flight.
    pub queued_messages: u64,
    /// Submit-to-commit latency.
    pub commit_latency: Latency,
}

/// A cumulative latency histogram.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Latency {
    /// Observations.
    pub count: u64,
    /// Sum, seconds.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse_and_errors_are_kept() {
        let reply = parse_reply(
            "clients/list",
            br#"{"total":1,"offset":0,"clients":[{"client_id":"a","address":"127.0.0.1:5","messages_in":3,"extra":1}]}"#,
        );
        let Reply::Clients(list) = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(list.total, 1);
        assert_eq!(list.clients[0].client_id, "a");
        assert_eq!(list.clients[0].messages_in, 3);
        assert_eq!(
            parse_reply("store/stats", br#"{"error":"not authorized"}"#),
            Reply::Error {
                command: "store/stats".into(),
                message: "not authorized".into()
            }
        );
        assert!(matches!(parse_reply("broker/stats", b"{"), Reply::Error { .. }));
        assert!(matches!(
            parse_reply("clients/list", br#"{"clients":5}"#),
            Reply::Error { .. }
        ));
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

    #[test]
    fn requests_name_their_topics() {
        assert_eq!(Request::Clients.topic(), "$CONTROL/robustmq/v1/clients/list");
        assert_eq!(
            command_of_reply_topic("$CONTROL/robustmq/v1/clients/list/response"),
            Some("clients/list")
        );
        assert_eq!(command_of_reply_topic("$CONTROL/robustmq/v1/clients/list"), None);
        let body: Value = serde_json::from_slice(&Request::Disconnect("x".into()).payload()).unwrap();
        assert_eq!(body, serde_json::json!({"client_id": "x"}));
    }
}
