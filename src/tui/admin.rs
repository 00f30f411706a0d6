//! robustmq's admin API as `top` speaks it: the requests it sends and the JSON replies it reads.
//!
//! The replies are the types of [`crate::admin_api`], shared with the broker, so `top` never
//! links the server's code. Every field has a default, so a newer or older broker that adds or
//! drops a field is still understood.

use serde_json::Value;

pub use crate::admin_api::{
    BridgeList, BridgeRow, BrokerStats, ClientDetail, ClientList, ClientRow, Disconnected, Latency,
    RetainedDeleted, RetainedList, RetainedRow, SessionDeleted, SessionList, SessionRow, StoreStats,
    SubscriberRow, SubscriptionInfo, SubscriptionList, TopicList, TopicRow, WillInfo,
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
