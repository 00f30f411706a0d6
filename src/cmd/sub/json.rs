//! `sub --json`: one JSON object per message, in robustmq's own schema (`-F %j` is
//! mosquitto_sub's).
//!
//! `{"topic":"a/b","payload":"hi","qos":1,"retain":false,"properties":{...}}`: `payload` when
//! the payload is UTF-8, else `payload_base64`; `properties` only when the message has MQTT 5
//! properties, with user properties as `[{"key":..,"value":..}]` (order and duplicates kept;
//! jq's `from_entries` turns them into an object).

use base64::Engine;
use serde::Serialize;

use super::pretty;
use crate::protocol::Publish;

#[derive(Serialize)]
struct UserProperty<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Serialize, Default)]
struct Properties<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_format_indicator: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_expiry_interval: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_topic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_data: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_data_base64: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    user_properties: Vec<UserProperty<'a>>,
    #[serde(skip_serializing_if = "<[u32]>::is_empty")]
    subscription_identifiers: &'a [u32],
}

impl Properties<'_> {
    fn is_empty(&self) -> bool {
        self.payload_format_indicator.is_none()
            && self.message_expiry_interval.is_none()
            && self.content_type.is_none()
            && self.response_topic.is_none()
            && self.correlation_data.is_none()
            && self.correlation_data_base64.is_none()
            && self.user_properties.is_empty()
            && self.subscription_identifiers.is_empty()
    }
}

#[derive(Serialize)]
struct Message<'a> {
    topic: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_base64: Option<String>,
    qos: u8,
    retain: bool,
    #[serde(skip_serializing_if = "Properties::is_empty")]
    properties: Properties<'a>,
}

/// Text if it is UTF-8, else base64 in the second slot.
fn text_or_base64(bytes: &[u8]) -> (Option<&str>, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Some(s), None),
        Err(_) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    }
}

/// Appends `msg` as one JSON object (no line end), indented with `pretty`.
pub fn write_json(out: &mut Vec<u8>, msg: &Publish, pretty: bool) {
    let p = &msg.properties;
    let (payload, payload_base64) = text_or_base64(&msg.payload);
    let (correlation_data, correlation_data_base64) = match &p.correlation_data {
        Some(c) => text_or_base64(c),
        None => (None, None),
    };
    let message = Message {
        topic: &msg.topic,
        payload,
        payload_base64,
        qos: msg.qos as u8,
        retain: msg.retain,
        properties: Properties {
            payload_format_indicator: p.payload_format_utf8.map(u8::from),
            message_expiry_interval: p.message_expiry,
            content_type: p.content_type.as_deref(),
            response_topic: p.response_topic.as_deref(),
            correlation_data,
            correlation_data_base64,
            user_properties: p
                .user_properties
                .iter()
                .map(|(key, value)| UserProperty { key, value })
                .collect(),
            subscription_identifiers: &msg.subscription_ids,
        },
    };
    pretty::write(out, &message, pretty);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::protocol::{MessageProperties, PropertyFields, QoS};

    fn publish(payload: &'static [u8], properties: MessageProperties) -> Publish {
        Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: true,
            topic: Arc::from("a/\"b\""),
            packet_id: 3,
            payload: Bytes::from_static(payload),
            properties,
            topic_alias: None,
            subscription_ids: Vec::new(),
        }
    }

    fn json(msg: &Publish) -> String {
        let mut out = Vec::new();
        write_json(&mut out, msg, false);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn utf8_payload_without_properties() {
        assert_eq!(
            json(&publish(b"h\xc3\xa9\n", MessageProperties::default())),
            r#"{"topic":"a/\"b\"","payload":"hé\n","qos":1,"retain":true}"#
        );
    }

    #[test]
    fn binary_payload_and_properties() {
        let props = MessageProperties::from(PropertyFields {
            payload_format_utf8: Some(false),
            message_expiry: Some(30),
            content_type: Some(Arc::from("application/octet-stream")),
            response_topic: Some(Arc::from("re")),
            correlation_data: Some(Bytes::from_static(&[0xff, 0])),
            user_properties: vec![(Arc::from("k"), Arc::from("1")), (Arc::from("k"), Arc::from("2"))],
        });
        assert_eq!(
            json(&publish(&[0, 0xff], props)),
            concat!(
                r#"{"topic":"a/\"b\"","payload_base64":"AP8=","qos":1,"retain":true,"properties":{"#,
                r#""payload_format_indicator":0,"message_expiry_interval":30,"#,
                r#""content_type":"application/octet-stream","response_topic":"re","#,
                r#""correlation_data_base64":"/wA=","user_properties":[{"key":"k","value":"1"},"#,
                r#"{"key":"k","value":"2"}]}}"#
            )
        );
    }
}
