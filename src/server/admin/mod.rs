//! The admin API: JSON requests and replies over MQTT on `$CONTROL/robustmq/v1/<command>`,
//! answered inside the broker.
//!
//! A client publishes a request (a JSON object, or an empty payload) to
//! `$CONTROL/robustmq/v1/<command>`. The broker never routes it to subscribers: the publish
//! handler hands it to [`handle_request`], which runs the command and publishes the reply as an
//! ordinary message:
//!
//! - to the request's Response Topic (MQTT 5), with its Correlation Data echoed;
//! - otherwise (MQTT 3.1.1, or a v5 request without a Response Topic) to
//!   `$CONTROL/robustmq/v1/<command>/response`.
//!
//! Like any MQTT request/response, the client subscribes to its response topic before it sends
//! the request. Every subscriber of a shared `.../response` topic sees every reply on it, so
//! 3.1.1 clients that run requests at the same time should tell replies apart by content.
//!
//! Replies are JSON objects; a failed request gets `{"error": "..."}`. Commands (see
//! [`commands`] for every field): `clients/list`, `clients/get`, `clients/disconnect`,
//! `sessions/list`, `sessions/delete`, `subscriptions/list`, `retained/list`,
//! `retained/delete`, `topics/top`, `store/stats`, `broker/stats`, `bridges/list`.
//!
//! Who may use it ([`authorized`]): without an ACL file, clients connected from a loopback
//! address; with one, exactly the clients the ACL lets write the request topic, from anywhere.
//! Others get `{"error":"not authorized"}` (when they may read the reply topic) and, from
//! MQTT 5 at QoS ≥ 1, PUBACK/PUBREC 0x87.
//! Publishing to a `.../response` topic is refused (0x87, no reply), and so is a CONNECT whose
//! will is on an admin topic, so nobody can fake a reply.
//!
//! A reply that would not fit the requester's Maximum Packet Size is replaced by an error that
//! says to ask for fewer rows (`limit`). Commands run on the requester's connection task and
//! hold each session's lock only while copying its figures; nothing here touches the publish
//! path of other clients.

pub mod commands;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use super::broker::{Broker, Message};
use super::metrics::add;
use super::metrics::topics::TopicRates;
use super::peer::Peer;
use crate::protocol::{topic, MessageProperties, PropertyFields, Publish, ReasonCode};

/// Every admin topic starts with this.
pub const PREFIX: &str = "$CONTROL/robustmq/v1/";
/// Appended to a request topic to make the default response topic.
pub const RESPONSE_SUFFIX: &str = "/response";

/// What the admin API shares across connections.
#[derive(Debug, Default)]
pub struct Admin {
    /// Per-topic message rates.
    pub topics: Arc<TopicRates>,
    /// The store's data file, for its size; `None` without a store.
    pub data_file: Option<PathBuf>,
    /// `store.max_store_bytes` from the configuration.
    pub max_store_bytes: u64,
    /// `store.durability` from the configuration (`immediate` or `periodic`).
    pub durability: String,
}

/// Whether a PUBLISH to `topic` is an admin request (or an attempt to write a reply).
#[inline]
pub fn is_admin_topic(topic: &str) -> bool {
    topic.starts_with(PREFIX)
}

/// Whether a client may send an admin request (`acl_allows`: whether the ACL grants it `write`
/// on the request topic, asked only when there is an ACL file):
///
/// - without an ACL file (whether or not a password file is configured): only clients
///   connected from a loopback address, as the password file says who may connect, not what
///   they may do;
/// - with an ACL file: exactly the clients whose ACL grants `write` on the request topic
///   (e.g. `topic readwrite $CONTROL/robustmq/v1/#` in their `user` section), from any
///   address; a loopback address grants nothing by itself then, so the ACL file is the one
///   place that says who administers the broker. Reading the reply needs `read` on the
///   response topic, like any delivery.
pub fn permission(has_acl: bool, acl_allows: impl FnOnce() -> bool, peer: &Peer) -> Permission {
    match (has_acl, peer.is_local()) {
        (true, _) if acl_allows() => Permission::Granted,
        (true, _) => Permission::DeniedByAcl,
        (false, true) => Permission::Granted,
        (false, false) => Permission::NotLoopback,
    }
}

/// Whether a client may make an admin request, as [`permission`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// The client may make admin requests.
    Granted,
    /// The ACL file does not grant `write` on the request topic.
    DeniedByAcl,
    /// No ACL file, and the client is not on a loopback address.
    NotLoopback,
}

/// Who sent an admin request: all the commands need of the connection it came on, so that
/// admin depends on the broker alone and not on the handler that calls it.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    /// The requesting client's identifier.
    pub client_id: &'a str,
    /// Where it connects from.
    pub peer: &'a Peer,
    /// Whether it may make admin requests.
    pub permission: Permission,
    /// The largest packet the requester takes: a larger reply is replaced by an error.
    pub max_packet_size: usize,
}

/// The outcome of an admin PUBLISH, for its acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handled {
    /// Reason code for PUBACK/PUBREC.
    pub reason: ReasonCode,
    /// Reason string, when the code is an error.
    pub why: Option<&'static str>,
}

/// Handles a PUBLISH on an admin topic: runs the command and publishes the reply. Never
/// routes the request itself to subscribers.
pub fn handle_request(broker: &Broker, admin: &Admin, requester: &Requester, p: &Publish) -> Handled {
    let command = p.topic.strip_prefix(PREFIX).unwrap_or_default();
    if command.ends_with(RESPONSE_SUFFIX) || command == &RESPONSE_SUFFIX[1..] {
        return Handled {
            reason: ReasonCode::NOT_AUTHORIZED,
            why: Some("admin response topics are written by the broker only"),
        };
    }
    let reply_to = reply_topic(p);
    let why = match requester.permission {
        Permission::Granted => None,
        Permission::DeniedByAcl => {
            add(&broker.metrics.publish_denied, 1);
            Some("the ACL does not allow this admin request")
        }
        Permission::NotLoopback => Some("the admin API is only available from loopback addresses"),
    };
    if let Some(why) = why {
        tracing::debug!(client_id = %requester.client_id, peer = %requester.peer, command, "admin request refused: {why}");
        publish_reply(broker, requester, p, reply_to, &error("not authorized"));
        return Handled {
            reason: ReasonCode::NOT_AUTHORIZED,
            why: Some(why),
        };
    }
    let body = match parse_request(&p.payload) {
        Ok(params) => match commands::run(broker, admin, requester, command, params) {
            Ok(reply) => reply,
            Err(e) => error(&e.to_string()),
        },
        Err(e) => error(&e.to_string()),
    };
    tracing::debug!(client_id = %requester.client_id, command, "admin request");
    publish_reply(broker, requester, p, reply_to, &body);
    Handled {
        reason: ReasonCode::SUCCESS,
        why: None,
    }
}

/// `{"error": message}`.
pub fn error(message: &str) -> Value {
    serde_json::json!({ "error": message })
}

/// Why a request's payload holds no parameters; its Display is the reply's error text.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    /// JSON, but not an object.
    #[error("malformed request: the payload must be a JSON object")]
    NotAnObject,
    /// Not JSON.
    #[error("malformed request: {0}")]
    Json(serde_json::Error),
}

/// The request's parameters: an empty payload is `{}`; anything else must be a JSON object.
fn parse_request(payload: &[u8]) -> Result<Value, RequestError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(payload) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(RequestError::NotAnObject),
        Err(e) => Err(RequestError::Json(e)),
    }
}

/// Where the reply goes: a usable v5 Response Topic, else `<request topic>/response`.
fn reply_topic(p: &Publish) -> Arc<str> {
    match &p.properties.response_topic {
        Some(t) if !t.is_empty() && !topic::has_wildcard(t) && !t.contains('\0') => t.clone(),
        _ => Arc::from(format!("{}{RESPONSE_SUFFIX}", p.topic)),
    }
}

/// Room for a reply's fixed header, topic length, packet id and properties besides the topic
/// and the correlation data.
const REPLY_OVERHEAD: usize = 64;

fn publish_reply(broker: &Broker, requester: &Requester, request: &Publish, topic: Arc<str>, body: &Value) {
    // Serializing a Value cannot fail (its map keys are strings).
    let mut payload = serde_json::to_vec(body).unwrap_or_default();
    // A reply larger than the requester takes would be dropped on the way out; say so instead.
    let max = requester.max_packet_size;
    let correlation = request
        .properties
        .correlation_data
        .as_ref()
        .map_or(0, |c| c.len());
    let room = max.saturating_sub(REPLY_OVERHEAD + topic.len() + correlation);
    if payload.len() > room {
        let message = format!(
            "the reply ({} bytes) is larger than your maximum packet size allows; ask for fewer rows with \"limit\"",
            payload.len()
        );
        payload = serde_json::to_vec(&error(&message)).unwrap_or_default();
    }
    let message = Message {
        topic,
        payload: Bytes::from(payload),
        qos: request.qos,
        retain: false,
        properties: MessageProperties::from(PropertyFields {
            payload_format_utf8: Some(true),
            content_type: Some(Arc::from("application/json")),
            correlation_data: request.properties.correlation_data.clone(),
            ..Default::default()
        }),
        expires_at: None,
        publisher: None,
    };
    broker.publish(message, Default::default(), None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_objects_or_empty() {
        assert_eq!(parse_request(b"").unwrap(), serde_json::json!({}));
        assert_eq!(parse_request(b" \n").unwrap(), serde_json::json!({}));
        assert_eq!(parse_request(br#"{"a":1}"#).unwrap(), serde_json::json!({"a":1}));
        for bad in [&b"{"[..], b"[1]", b"\"x\"", b"null", b"\xff\xfe", b"{\"a\":1}x"] {
            let e = parse_request(bad).unwrap_err().to_string();
            assert!(e.starts_with("malformed request"), "{e}");
        }
    }
}
