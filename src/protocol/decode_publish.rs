//! PUBLISH decoding of our own, in both directions: a PUBLISH from a server may carry several
//! Subscription Identifiers (v5 3.3.2.3.8, one per matching subscription), which mqtt-proto
//! cannot hold, and its payload is a slice of the packet's bytes rather than a copy.
//!
//! The errors are those mqtt-proto gave, so that the broker answers a bad PUBLISH as before.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use super::decode::{DecodeError, Sender};
use super::packet::{MessageProperties, Publish, QoS, Version};

/// v5 PUBLISH property identifiers (2.2.2.2).
const PAYLOAD_FORMAT: u8 = 0x01;
const MESSAGE_EXPIRY: u8 = 0x02;
const CONTENT_TYPE: u8 = 0x03;
const RESPONSE_TOPIC: u8 = 0x08;
const CORRELATION_DATA: u8 = 0x09;
const SUBSCRIPTION_ID: u8 = 0x0B;
const TOPIC_ALIAS: u8 = 0x23;
const USER_PROPERTY: u8 = 0x26;

/// Decodes the PUBLISH in `frame` (fixed header included, its body from `body_start`), sent by
/// `sender`. `payload` turns the payload's range in `frame` into its bytes: a slice of a shared
/// buffer, or a copy.
pub(super) fn decode_publish(
    version: Version,
    sender: Sender,
    frame: &[u8],
    body_start: usize,
    payload: impl FnOnce(Range<usize>) -> Bytes,
) -> Result<Publish, DecodeError> {
    let header = frame[0];
    let qos = QoS::from_u8((header >> 1) & 0x03)
        .ok_or_else(|| DecodeError::Malformed("PUBLISH with QoS 3".into()))?;
    let mut r = Reader {
        bytes: frame,
        pos: body_start,
    };
    let topic = r.string()?;
    let packet_id = if qos == QoS::AtMostOnce {
        0
    } else {
        match r.u16()? {
            0 => return Err(DecodeError::Malformed("packet identifier 0".into())),
            id => id,
        }
    };
    let mut publish = Publish {
        dup: header & 0x08 != 0,
        qos,
        retain: header & 0x01 != 0,
        topic: Arc::from(""),
        packet_id,
        payload: Bytes::new(),
        properties: MessageProperties::default(),
        topic_alias: None,
        subscription_ids: Vec::new(),
    };
    if version.is_v5() {
        properties(&mut r, sender, &mut publish)?;
    }
    let body = r.pos..frame.len();
    if publish.properties.payload_format_utf8 == Some(true)
        && std::str::from_utf8(&frame[body.clone()]).is_err()
    {
        // [MQTT-3.3.2-4] a payload said to be UTF-8 is
        return Err(DecodeError::PayloadFormat);
    }
    // Checked last, as mqtt-proto did, so that a packet with several faults gets the same answer.
    check_topic_name(topic)?;
    if topic.is_empty() && !version.is_v5() {
        // [MQTT-4.7.3-1] topic names are at least one character long
        return Err(DecodeError::TopicName("empty topic name".into()));
    }
    publish.topic = Arc::from(topic);
    publish.payload = if body.is_empty() {
        Bytes::new()
    } else {
        payload(body)
    };
    Ok(publish)
}

/// [MQTT-3.3.2-2] no wildcard in a topic name; [MQTT-1.5.4-2] no U+0000 in any string.
fn check_topic_name(topic: &str) -> Result<(), DecodeError> {
    // One vectorised pass for the common case: these three are ASCII, never part of a
    // multi-byte character.
    if memchr::memchr3(0, b'+', b'#', topic.as_bytes()).is_none() {
        return Ok(());
    }
    if topic.contains('\0') {
        return Err(DecodeError::Malformed(format!("U+0000 in topic {topic:?}")));
    }
    if topic.contains(['+', '#']) {
        return Err(DecodeError::TopicName(topic.to_string()));
    }
    Ok(())
}

fn no_nul(what: &str, s: &str) -> Result<(), DecodeError> {
    if s.contains('\0') {
        return Err(DecodeError::Malformed(format!("U+0000 in the {what}")));
    }
    Ok(())
}

fn duplicated(id: u8) -> DecodeError {
    DecodeError::Protocol(format!("duplicated property {id:#04x}"))
}

/// Reads the v5 property block into `publish`.
fn properties(r: &mut Reader<'_>, sender: Sender, publish: &mut Publish) -> Result<(), DecodeError> {
    let len = r.var_int()? as usize;
    let end = r
        .pos
        .checked_add(len)
        .filter(|&end| end <= r.bytes.len())
        .ok_or_else(|| DecodeError::Malformed("property length beyond the packet".into()))?;
    let props = &mut publish.properties;
    while r.pos < end {
        let id = r.u8()?;
        match id {
            PAYLOAD_FORMAT => {
                if props.payload_format_utf8.is_some() {
                    return Err(duplicated(id));
                }
                props.payload_format_utf8 = Some(match r.u8()? {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(DecodeError::Malformed(format!(
                            "payload format indicator {other}"
                        )))
                    }
                });
            }
            MESSAGE_EXPIRY => {
                if props.message_expiry.is_some() {
                    return Err(duplicated(id));
                }
                props.message_expiry = Some(r.u32()?);
            }
            CONTENT_TYPE => {
                if props.content_type.is_some() {
                    return Err(duplicated(id));
                }
                let s = r.string()?;
                no_nul("content type", s)?;
                props.content_type = Some(Arc::from(s));
            }
            RESPONSE_TOPIC => {
                if props.response_topic.is_some() {
                    return Err(duplicated(id));
                }
                let s = r.string()?;
                if s.contains(['+', '#', '\0']) {
                    return Err(DecodeError::Protocol("invalid response topic".into()));
                }
                props.response_topic = Some(Arc::from(s));
            }
            CORRELATION_DATA => {
                if props.correlation_data.is_some() {
                    return Err(duplicated(id));
                }
                let data = r.binary()?;
                props.correlation_data = Some(Bytes::copy_from_slice(data));
            }
            SUBSCRIPTION_ID => {
                let value = r.var_int()?;
                match sender {
                    // [MQTT-3.3.4-6] a PUBLISH from a client carries no subscription identifier
                    Sender::Client => {
                        return Err(DecodeError::Protocol(
                            "subscription identifier in a client PUBLISH".into(),
                        ))
                    }
                    // v5 3.3.2.3.8: 1 to 268,435,455; one for each matching subscription
                    Sender::Server if value == 0 => {
                        return Err(DecodeError::Protocol("subscription identifier 0".into()))
                    }
                    Sender::Server => publish.subscription_ids.push(value),
                }
            }
            TOPIC_ALIAS => {
                if publish.topic_alias.is_some() {
                    return Err(duplicated(id));
                }
                match r.u16()? {
                    // [MQTT-3.3.2-8] topic alias 0 is not permitted
                    0 => return Err(DecodeError::Protocol("topic alias 0".into())),
                    alias => publish.topic_alias = Some(alias),
                }
            }
            USER_PROPERTY => {
                let (name, value) = (r.string()?, r.string()?);
                no_nul("user property name", name)?;
                no_nul("user property value", value)?;
                props.user_properties.push((Arc::from(name), Arc::from(value)));
            }
            other => {
                return Err(DecodeError::Malformed(format!(
                    "property {other:#04x} in a PUBLISH"
                )))
            }
        }
    }
    if r.pos != end {
        return Err(DecodeError::Malformed(
            "properties longer than their property length".into(),
        ));
    }
    Ok(())
}

/// A cursor over a packet's bytes; running past the end is a malformed packet.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let bytes = self
            .pos
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or_else(|| DecodeError::Malformed("packet shorter than its fields".into()))?;
        self.pos += n;
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Binary Data (1.5.6): a two-byte length and that many bytes.
    fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u16()? as usize;
        self.take(len)
    }

    /// A UTF-8 Encoded String (1.5.4).
    fn string(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.binary()?)
            .map_err(|_| DecodeError::Malformed("string is not valid UTF-8".into()))
    }

    /// A Variable Byte Integer (1.5.5), at most four bytes and no more than its value needs
    /// [MQTT-1.5.5-1].
    fn var_int(&mut self) -> Result<u32, DecodeError> {
        let mut value = 0u32;
        for i in 0..4 {
            let b = self.u8()?;
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(DecodeError::Malformed(
                        "variable byte integer longer than its value needs".into(),
                    ));
                }
                return Ok(value);
            }
        }
        Err(DecodeError::Malformed(
            "variable byte integer longer than 4 bytes".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::super::{decode, decode_shared, encode_publish, Packet, PropertyFields, ReasonCode};
    use super::*;

    /// A v5 PUBLISH QoS 1, packet id 5, topic "a/b", with `props` and payload "hi".
    fn v5_publish(props: &[u8]) -> Bytes {
        let mut body = vec![0, 3, b'a', b'/', b'b', 0, 5, props.len() as u8];
        body.extend_from_slice(props);
        body.extend_from_slice(b"hi");
        let mut out = vec![0x32, body.len() as u8];
        out.extend(body);
        Bytes::from(out)
    }

    fn from_server(frame: Bytes) -> Result<Publish, DecodeError> {
        match decode_shared(Version::V5, Sender::Server, frame)? {
            Packet::Publish(p) => Ok(p),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_server_publish_keeps_every_subscription_identifier_in_order() {
        // 0x0B 7 and 0x0B 200,000 (three bytes): v5 3.3.2.3.8 allows one per matching subscription
        let p = from_server(v5_publish(&[0x0B, 0x07, 0x0B, 0xC0, 0x9A, 0x0C])).unwrap();
        assert_eq!(p.subscription_ids, vec![7, 200_000]);
        assert_eq!((p.qos, p.packet_id, &*p.topic), (QoS::AtLeastOnce, 5, "a/b"));
        assert_eq!(&p.payload[..], b"hi");
    }

    #[test]
    fn a_client_publish_with_a_subscription_identifier_is_a_protocol_error() {
        // [MQTT-3.3.4-6]
        let frame = v5_publish(&[0x0B, 0x07]);
        let err = decode_shared(Version::V5, Sender::Client, frame.clone()).unwrap_err();
        assert_eq!(err.reason_code(), ReasonCode::PROTOCOL_ERROR, "{err}");
        assert_eq!(decode(Version::V5, &frame).unwrap_err(), err);
    }

    #[test]
    fn subscription_identifier_0_is_a_protocol_error() {
        let err = from_server(v5_publish(&[0x0B, 0x00])).unwrap_err();
        assert_eq!(err.reason_code(), ReasonCode::PROTOCOL_ERROR, "{err}");
    }

    #[test]
    fn the_payload_is_a_slice_of_the_frame() {
        let frame = v5_publish(&[]);
        let p = from_server(frame.clone()).unwrap();
        assert_eq!(p.payload.as_ptr(), frame[frame.len() - 2..].as_ptr());
    }

    #[test]
    fn what_the_encoder_writes_decodes_to_the_same_publish_with_its_identifiers() {
        let publish = Publish {
            dup: true,
            qos: QoS::ExactlyOnce,
            retain: true,
            topic: Arc::from("s/t"),
            packet_id: 9,
            payload: Bytes::from_static(b"payload"),
            properties: MessageProperties::from(PropertyFields {
                payload_format_utf8: Some(true),
                message_expiry: Some(60),
                content_type: Some(Arc::from("text/plain")),
                response_topic: Some(Arc::from("r/t")),
                correlation_data: Some(Bytes::from_static(b"\x00\x01")),
                user_properties: vec![(Arc::from("k"), Arc::from("v")), (Arc::from("k"), Arc::from("v"))],
            }),
            topic_alias: Some(3),
            subscription_ids: vec![1, 268_435_455, 1],
        };
        let mut out = BytesMut::new();
        encode_publish(Version::V5, &publish, &mut out).unwrap();
        assert_eq!(from_server(out.freeze()).unwrap(), publish);
    }

    #[test]
    fn faults_are_answered_as_before() {
        let cases: [(&[u8], ReasonCode); 7] = [
            // duplicated message expiry
            (&[0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 1], ReasonCode::PROTOCOL_ERROR),
            // [MQTT-3.3.2-8] topic alias 0
            (&[0x23, 0, 0], ReasonCode::PROTOCOL_ERROR),
            // a property PUBLISH does not have (session expiry)
            (&[0x11, 0, 0, 0, 1], ReasonCode::MALFORMED_PACKET),
            // a subscription identifier of five bytes
            (
                &[0x0B, 0x80, 0x80, 0x80, 0x80, 0x01],
                ReasonCode::MALFORMED_PACKET,
            ),
            // payload format indicator 2
            (&[0x01, 0x02], ReasonCode::MALFORMED_PACKET),
            // a wildcard in the response topic
            (&[0x08, 0, 1, b'#'], ReasonCode::PROTOCOL_ERROR),
            // U+0000 in a user property
            (&[0x26, 0, 1, 0, 0, 1, b'v'], ReasonCode::MALFORMED_PACKET),
        ];
        for (props, code) in cases {
            let err = from_server(v5_publish(props)).unwrap_err();
            assert_eq!(err.reason_code(), code, "{props:02x?}: {err}");
        }
        // [MQTT-3.3.2-4] a payload said to be UTF-8 that is not
        let mut frame = v5_publish(&[0x01, 0x01]).to_vec();
        let last = frame.len() - 1;
        frame[last] = 0xFF;
        let err = from_server(Bytes::from(frame)).unwrap_err();
        assert_eq!(err.reason_code(), ReasonCode::PAYLOAD_FORMAT_INVALID);
    }

    #[test]
    fn every_truncation_is_malformed_and_never_panics() {
        let frame = v5_publish(&[0x0B, 0x07, 0x26, 0, 1, b'k', 0, 1, b'v']);
        // The remaining length is cut along with the bytes, so that each is a whole frame.
        for cut in 3..frame.len() - 2 {
            let mut short = frame[..cut].to_vec();
            short[1] = (cut - 2) as u8;
            for sender in [Sender::Client, Sender::Server] {
                for version in [Version::V3_1_1, Version::V5] {
                    let _ = decode_shared(version, sender, Bytes::from(short.clone()));
                }
            }
        }
        let mut short = frame[..9].to_vec();
        short[1] = 7;
        let err = from_server(Bytes::from(short)).unwrap_err();
        assert_eq!(err.reason_code(), ReasonCode::MALFORMED_PACKET, "{err}");
    }

    #[test]
    fn an_empty_topic_needs_v5() {
        let frame = Bytes::from_static(&[0x30, 0x03, 0, 0, b'x']);
        let err = decode_shared(Version::V3_1_1, Sender::Server, frame).unwrap_err();
        assert_eq!(err.reason_code(), ReasonCode::TOPIC_NAME_INVALID);
        // v5: the topic comes from a topic alias
        let v5 = Bytes::from_static(&[0x30, 0x07, 0, 0, 0x03, 0x23, 0, 1, b'x']);
        let p = from_server(v5).unwrap();
        assert_eq!((&*p.topic, p.topic_alias), ("", Some(1)));
    }
}
