//! `-F %j` and `-F %J`: a message as the JSON object mosquitto_sub 2.x prints, field for field,
//! so that scripts reading `.tst` or `.payloadlen` work unchanged.
//!
//! Keys, in mosquitto's order: `tst` (receive time, `2024-05-06T21:48:00.123456Z+0000`: mosquitto
//! prints local time in that shape, we print UTC), `topic`, `qos`, `retain` (0 or 1),
//! `payloadlen`, `mid` (QoS 1 and 2 only), `properties` (MQTT 5 messages that have any, with
//! mosquitto's names: `payload-format-indicator`, `message-expiry-interval`, `content-type`,
//! `response-topic`, `correlation-data`, one `subscription-identifier` key per identifier,
//! `topic-alias`, and `user-properties` as an object whose keys may repeat), then `payload`.
//!
//! The payload is `null` when empty. With `%j` it is a string when it is UTF-8 and otherwise an
//! array of byte values, as mosquitto 2.1 prints binary payloads (2.0 cut them at the first
//! zero byte). With `%J` it is the payload parsed as JSON; a payload that is not JSON prints
//! nothing for the field, as mosquitto does, and the caller says so on stderr.

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use super::pretty;
use crate::protocol::Publish;

/// A `%J` payload that does not parse as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotJson;

/// Bytes: a JSON string when they are UTF-8, else an array of byte values.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for b in self.0 {
                    seq.serialize_element(b)?;
                }
                seq.end()
            }
        }
    }
}

/// User properties as one object, keys repeated as they came (as mosquitto's cJSON does).
struct UserProperties<'a>(&'a Publish);

impl Serialize for UserProperties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let list = &self.0.properties.user_properties;
        let mut map = s.serialize_map(Some(list.len()))?;
        for (key, value) in list.iter() {
            map.serialize_entry(&**key, &**value)?;
        }
        map.end()
    }
}

/// The MQTT 5 properties, in the order robustmq (and mosquitto) put them on the wire.
struct Properties<'a>(&'a Publish);

impl Properties<'_> {
    fn is_empty(&self) -> bool {
        let (msg, p) = (self.0, &self.0.properties);
        p.payload_format_utf8.is_none()
            && p.message_expiry.is_none()
            && p.content_type.is_none()
            && p.response_topic.is_none()
            && p.correlation_data.is_none()
            && p.user_properties.is_empty()
            && msg.subscription_ids.is_empty()
            && msg.topic_alias.is_none()
    }
}

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (msg, p) = (self.0, &self.0.properties);
        let mut map = s.serialize_map(None)?;
        if let Some(utf8) = p.payload_format_utf8 {
            map.serialize_entry("payload-format-indicator", &u8::from(utf8))?;
        }
        if let Some(expiry) = p.message_expiry {
            map.serialize_entry("message-expiry-interval", &expiry)?;
        }
        if let Some(content_type) = &p.content_type {
            map.serialize_entry("content-type", &**content_type)?;
        }
        if let Some(topic) = &p.response_topic {
            map.serialize_entry("response-topic", &**topic)?;
        }
        if let Some(data) = &p.correlation_data {
            map.serialize_entry("correlation-data", &Bytes(data))?;
        }
        for id in &msg.subscription_ids {
            map.serialize_entry("subscription-identifier", id)?;
        }
        if let Some(alias) = msg.topic_alias {
            map.serialize_entry("topic-alias", &alias)?;
        }
        if !p.user_properties.is_empty() {
            map.serialize_entry("user-properties", &UserProperties(msg))?;
        }
        map.end()
    }
}

enum Payload<'a> {
    Empty,
    Escaped(Bytes<'a>),
    Parsed(serde_json::Value),
}

struct Message<'a> {
    msg: &'a Publish,
    tst: &'a str,
    payload: Payload<'a>,
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let msg = self.msg;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("tst", self.tst)?;
        map.serialize_entry("topic", &*msg.topic)?;
        map.serialize_entry("qos", &(msg.qos as u8))?;
        map.serialize_entry("retain", &u8::from(msg.retain))?;
        map.serialize_entry("payloadlen", &msg.payload.len())?;
        if msg.packet_id != 0 {
            map.serialize_entry("mid", &msg.packet_id)?;
        }
        let properties = Properties(msg);
        if !properties.is_empty() {
            map.serialize_entry("properties", &properties)?;
        }
        match &self.payload {
            Payload::Empty => map.serialize_entry("payload", &())?,
            Payload::Escaped(bytes) => map.serialize_entry("payload", bytes)?,
            Payload::Parsed(value) => map.serialize_entry("payload", value)?,
        }
        map.end()
    }
}

/// Appends `msg` as mosquitto's `%j` (`parse` false) or `%J` (`parse` true) object, received
/// at `tst`. For `%J` with a payload that is not JSON, appends nothing.
pub fn write(out: &mut Vec<u8>, msg: &Publish, tst: &str, parse: bool, pretty: bool) -> Result<(), NotJson> {
    let payload = match (&msg.payload[..], parse) {
        ([], _) => Payload::Empty,
        (bytes, false) => Payload::Escaped(Bytes(bytes)),
        (bytes, true) => Payload::Parsed(serde_json::from_slice(bytes).map_err(|_| NotJson)?),
    };
    pretty::write(out, &Message { msg, tst, payload }, pretty);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::protocol::{MessageProperties, PropertyFields, QoS};

    const TST: &str = "2024-05-06T21:48:00.123456Z+0000";

    fn publish(qos: QoS, payload: &'static [u8], properties: MessageProperties) -> Publish {
        Publish {
            dup: false,
            qos,
            retain: true,
            topic: Arc::from("a/\"b\""),
            packet_id: if qos == QoS::AtMostOnce { 0 } else { 7 },
            payload: bytes::Bytes::from_static(payload),
            properties,
            topic_alias: None,
            subscription_ids: Vec::new(),
        }
    }

    fn json(msg: &Publish, parse: bool) -> Result<String, NotJson> {
        let mut out = Vec::new();
        write(&mut out, msg, TST, parse, false)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn plain_message() {
        let msg = publish(QoS::AtMostOnce, b"hi \"x\"\t", MessageProperties::default());
        assert_eq!(
            json(&msg, false).unwrap(),
            concat!(
                r#"{"tst":"2024-05-06T21:48:00.123456Z+0000","topic":"a/\"b\"","qos":0,"retain":1,"#,
                r#""payloadlen":7,"payload":"hi \"x\"\t"}"#
            )
        );
    }

    #[test]
    fn properties_mid_and_binary_payload() {
        let props = MessageProperties::from(PropertyFields {
            payload_format_utf8: Some(false),
            message_expiry: Some(30),
            content_type: Some(Arc::from("c/t")),
            response_topic: Some(Arc::from("re")),
            correlation_data: Some(bytes::Bytes::from_static(b"id")),
            user_properties: vec![(Arc::from("k"), Arc::from("1")), (Arc::from("k"), Arc::from("2"))],
        });
        let mut msg = publish(QoS::AtLeastOnce, &[0, 0xff], props);
        msg.subscription_ids = vec![3, 4];
        assert_eq!(
            json(&msg, false).unwrap(),
            concat!(
                r#"{"tst":"2024-05-06T21:48:00.123456Z+0000","topic":"a/\"b\"","qos":1,"retain":1,"#,
                r#""payloadlen":2,"mid":7,"properties":{"payload-format-indicator":0,"#,
                r#""message-expiry-interval":30,"content-type":"c/t","response-topic":"re","#,
                r#""correlation-data":"id","subscription-identifier":3,"subscription-identifier":4,"#,
                r#""user-properties":{"k":"1","k":"2"}},"payload":[0,255]}"#
            )
        );
    }

    #[test]
    fn parsed_payloads() {
        let msg = publish(QoS::AtMostOnce, br#"{"t": 21.5}"#, MessageProperties::default());
        assert!(json(&msg, true)
            .unwrap()
            .ends_with(r#""payloadlen":11,"payload":{"t":21.5}}"#));
        let empty = publish(QoS::AtMostOnce, b"", MessageProperties::default());
        assert!(json(&empty, true).unwrap().ends_with(r#""payload":null}"#));
        assert!(json(&empty, false).unwrap().ends_with(r#""payload":null}"#));
        let text = publish(QoS::AtMostOnce, b"not json", MessageProperties::default());
        assert_eq!(json(&text, true), Err(NotJson));
    }
}
