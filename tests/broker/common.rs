//! Test harness: an in-process broker on an ephemeral port, rumqttc clients for both protocol
//! versions, and a raw-bytes client for malformed input.

#![allow(dead_code)]

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::wire::{self, kind, Level};

pub use super::in_process::{start, start_with, TestBroker};
pub use super::rumqttc::{v3, v5};
pub use super::wait::wait_until;

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long a test waits to be sure something does not happen.
pub const QUIET: Duration = Duration::from_millis(500);

/// A client that speaks raw bytes, for malformed input and exact wire checks.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    pub async fn connect(broker: &TestBroker) -> Raw {
        Raw {
            stream: TcpStream::connect(broker.addr).await.expect("tcp connect"),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads one whole packet (fixed header included); `None` when the broker closed.
    pub async fn packet(&mut self) -> Option<Vec<u8>> {
        tokio::time::timeout(WAIT, wire::read_packet(&mut self.stream))
            .await
            .expect("broker neither answered nor closed")
    }

    /// Asserts the broker closes the connection (after any packets it sends first, returned).
    pub async fn expect_close(&mut self) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        while let Some(p) = self.packet().await {
            seen.push(p);
            assert!(seen.len() < 100, "broker keeps talking instead of closing");
        }
        seen
    }
}

/// Builds a CONNECT: `level` 4 or 5, clean start, with `keep_alive`. Any level byte is written
/// as given, so a test can send one the broker does not speak.
pub fn connect_packet(level: u8, client_id: &str, keep_alive: u16) -> Vec<u8> {
    connect_packet_with(level, client_id, keep_alive, 0x02, &[], None)
}

/// Wraps a body in a fixed header with a correct remaining length.
pub use super::wire::packet as frame;

/// Connects a raw client at `level` and checks the CONNACK accepts it.
pub async fn raw_connected(broker: &TestBroker, level: u8, client_id: &str) -> Raw {
    let mut raw = Raw::connect(broker).await;
    raw.send(&connect_packet(level, client_id, 60)).await;
    let connack = raw.packet().await.expect("CONNACK");
    assert_eq!(connack[0], 0x20, "CONNACK expected, got {connack:?}");
    // The return code (3.1.1) or reason code (5) is the fourth byte either way.
    assert_eq!(connack[3], 0, "connection refused: {connack:?}");
    raw
}

/// A CONNECT with every field chosen by the caller. `flags` is the connect-flags byte (0x02 clean
/// start, 0x04 will, 0x08/0x10 will QoS, 0x20 will retain); `properties` is the raw v5 property
/// block without its length; `will` is (v5 will properties, topic, payload).
pub fn connect_packet_with(
    level: u8,
    client_id: &str,
    keep_alive: u16,
    flags: u8,
    properties: &[u8],
    will: Option<(&[u8], &str, &[u8])>,
) -> Vec<u8> {
    // The flags byte is the caller's, not derived from the fields as wire::Connect does.
    let mut body = wire::string(b"MQTT");
    body.extend([level, flags]);
    body.extend(keep_alive.to_be_bytes());
    if level == 5 {
        body.extend(wire::var_int(properties.len()));
        body.extend_from_slice(properties);
    }
    body.extend(wire::string(client_id.as_bytes()));
    if let Some((will_properties, topic, payload)) = will {
        if level == 5 {
            body.extend(wire::var_int(will_properties.len()));
            body.extend_from_slice(will_properties);
        }
        body.extend(wire::string(topic.as_bytes()));
        body.extend(wire::string(payload));
    }
    frame(kind::CONNECT, &body)
}

/// A SUBSCRIBE for one filter with the given options byte (QoS in the low bits).
pub fn subscribe_packet(level: u8, packet_id: u16, filter: &str, options: u8) -> Vec<u8> {
    wire::subscribe(Level::from_byte(level), packet_id, &[(filter, options)])
}

/// A PUBLISH; `packet_id` is ignored for QoS 0.
pub fn publish_packet(
    level: u8,
    topic: &str,
    qos: u8,
    packet_id: u16,
    payload: &[u8],
    dup: bool,
    retain: bool,
) -> Vec<u8> {
    wire::Publish {
        dup,
        retain,
        ..wire::Publish::new(Level::from_byte(level), topic, payload).qos(qos, packet_id)
    }
    .bytes()
}

/// A PUBLISH as read off the wire by a [`Raw`] client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPublish {
    pub dup: bool,
    pub qos: u8,
    pub retain: bool,
    pub topic: String,
    pub packet_id: u16,
    pub payload: Vec<u8>,
}

/// Parses a whole PUBLISH packet (as returned by [`Raw::packet`]); panics on anything else.
pub fn parse_publish(level: u8, packet: &[u8]) -> RawPublish {
    assert_eq!(packet[0] >> 4, 3, "PUBLISH expected, got {packet:?}");
    let p =
        wire::Incoming::parse(packet, level == 5).unwrap_or_else(|| panic!("unreadable PUBLISH {packet:?}"));
    RawPublish {
        dup: p.dup,
        qos: p.qos,
        retain: p.retain,
        topic: String::from_utf8(p.topic).expect("UTF-8 topic"),
        packet_id: p.packet_id,
        payload: p.payload,
    }
}

/// An acknowledgement packet (PUBACK 0x40, PUBREC 0x50, PUBREL 0x62, PUBCOMP 0x70) for `id`.
pub fn ack_packet(header: u8, packet_id: u16) -> Vec<u8> {
    wire::ack(header, packet_id)
}

/// Connects a raw client with `connect` and returns it with the CONNACK bytes (unchecked).
pub async fn raw_connect_with(broker: &TestBroker, connect: &[u8]) -> (Raw, Vec<u8>) {
    let mut raw = Raw::connect(broker).await;
    raw.send(connect).await;
    let connack = raw.packet().await.expect("CONNACK");
    assert_eq!(connack[0], 0x20, "CONNACK expected, got {connack:?}");
    (raw, connack)
}

impl Raw {
    /// The next packet if one arrives within `wait`: `Some(None)` when the broker closed,
    /// `None` when nothing happened.
    pub async fn packet_within(&mut self, wait: Duration) -> Option<Option<Vec<u8>>> {
        tokio::time::timeout(wait, wire::read_packet(&mut self.stream))
            .await
            .ok()
    }

    /// Subscribes to one filter and returns the SUBACK bytes.
    pub async fn subscribe(&mut self, level: u8, packet_id: u16, filter: &str, qos: u8) -> Vec<u8> {
        self.send(&subscribe_packet(level, packet_id, filter, qos)).await;
        let suback = self.packet().await.expect("SUBACK");
        assert_eq!(suback[0], 0x90, "SUBACK expected, got {suback:?}");
        suback
    }
}

// ---------------------------------------------------------------------------------------------
// MQTT 5 on raw bytes, for the v5_* tests: what rumqttc refuses to send (a topic alias above the
// maximum, a second CONNECT), what it hides (repeated subscription identifiers, aliases it
// resolves itself), and the exact packets before the broker closes a connection.
// ---------------------------------------------------------------------------------------------

/// v5 property identifiers and encoders.
pub mod prop {
    pub const PAYLOAD_FORMAT: u8 = 0x01;
    pub const MESSAGE_EXPIRY: u8 = 0x02;
    pub const CONTENT_TYPE: u8 = 0x03;
    pub const RESPONSE_TOPIC: u8 = 0x08;
    pub const CORRELATION_DATA: u8 = 0x09;
    pub const SUBSCRIPTION_ID: u8 = 0x0B;
    pub const AUTH_METHOD: u8 = 0x15;
    pub const RECEIVE_MAXIMUM: u8 = 0x21;
    pub const TOPIC_ALIAS: u8 = 0x23;
    pub const USER_PROPERTY: u8 = 0x26;
    pub const MAXIMUM_PACKET_SIZE: u8 = 0x27;

    /// A two-byte integer property.
    pub fn u16(id: u8, value: u16) -> Vec<u8> {
        let mut out = vec![id];
        out.extend_from_slice(&value.to_be_bytes());
        out
    }

    /// A four-byte integer property.
    pub fn u32(id: u8, value: u32) -> Vec<u8> {
        let mut out = vec![id];
        out.extend_from_slice(&value.to_be_bytes());
        out
    }

    /// A UTF-8 string or binary data property.
    pub fn string(id: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![id];
        out.extend(super::wire::string(value));
        out
    }

    /// A variable byte integer property.
    pub fn var(id: u8, value: u32) -> Vec<u8> {
        let mut out = vec![id];
        out.extend(super::wire::var_int(value as usize));
        out
    }
}

/// A raw v5 client connected (clean start, keep alive 60) with the CONNECT `properties`;
/// panics unless the CONNACK says success.
pub async fn raw_connected_v5(broker: &TestBroker, client_id: &str, properties: &[u8]) -> Raw {
    let connect = connect_packet_with(5, client_id, 60, 0x02, properties, None);
    let (raw, connack) = raw_connect_with(broker, &connect).await;
    assert_eq!(connack[3], 0, "connection refused: {connack:?}");
    raw
}

/// A v5 PUBLISH with properties (`packet_id` is left out for QoS 0).
pub fn publish_v5(topic: &str, qos: u8, packet_id: u16, properties: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut body = wire::string(topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&packet_id.to_be_bytes());
    }
    body.extend(wire::var_int(properties.len()));
    body.extend_from_slice(properties);
    body.extend_from_slice(payload);
    frame(kind::PUBLISH | (qos << 1), &body)
}

/// A v5 SUBSCRIBE of `(filter, subscription options byte)` pairs, with an optional
/// subscription identifier.
pub fn subscribe_v5(packet_id: u16, subscription_id: Option<u32>, filters: &[(&str, u8)]) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    let properties = subscription_id.map_or_else(Vec::new, |id| prop::var(prop::SUBSCRIPTION_ID, id));
    body.extend(wire::var_int(properties.len()));
    body.extend_from_slice(&properties);
    for (filter, options) in filters {
        body.extend(wire::string(filter.as_bytes()));
        body.push(*options);
    }
    frame(kind::SUBSCRIBE, &body)
}

/// A v5 PUBLISH as read off the wire, with the properties the tests look at.
#[derive(Debug, Clone, Default)]
pub struct RawPublish5 {
    pub qos: u8,
    pub retain: bool,
    pub topic: String,
    pub packet_id: u16,
    pub message_expiry: Option<u32>,
    pub topic_alias: Option<u16>,
    /// Every Subscription Identifier property, in order.
    pub subscription_ids: Vec<u32>,
    pub payload: Vec<u8>,
}

/// Parses a whole v5 PUBLISH packet (fixed header included); panics on anything else.
pub fn parse_publish_v5(packet: &[u8]) -> RawPublish5 {
    assert_eq!(packet[0] >> 4, 3, "PUBLISH expected, got {packet:?}");
    let (remaining, used) = wire::read_var_int(&packet[1..]).expect("remaining length");
    assert_eq!(packet.len(), 1 + used + remaining, "remaining length");
    let incoming =
        wire::Incoming::parse(packet, true).unwrap_or_else(|| panic!("unreadable PUBLISH {packet:?}"));
    let mut p = RawPublish5 {
        qos: incoming.qos,
        retain: incoming.retain,
        topic: String::from_utf8(incoming.topic).expect("UTF-8 topic"),
        packet_id: incoming.packet_id,
        payload: incoming.payload,
        ..Default::default()
    };
    for (id, value) in incoming.props {
        match id {
            prop::MESSAGE_EXPIRY => {
                p.message_expiry = Some(u32::from_be_bytes(value[..].try_into().unwrap()))
            }
            prop::SUBSCRIPTION_ID => p
                .subscription_ids
                .push(wire::read_var_int(&value).expect("subscription identifier").0 as u32),
            prop::TOPIC_ALIAS => p.topic_alias = Some(u16::from_be_bytes(value[..].try_into().unwrap())),
            prop::PAYLOAD_FORMAT
            | prop::CONTENT_TYPE
            | prop::RESPONSE_TOPIC
            | prop::CORRELATION_DATA
            | prop::USER_PROPERTY => {}
            other => panic!("property {other:#04x} does not belong in PUBLISH: {packet:?}"),
        }
    }
    p
}

impl Raw {
    /// The next packet of type `kind` (high nibble: 3 PUBLISH, 4 PUBACK, 5 PUBREC, 9 SUBACK,
    /// 11 UNSUBACK), skipping others; panics if the broker closes first.
    pub async fn next_of(&mut self, kind: u8) -> Vec<u8> {
        loop {
            match self.packet().await {
                Some(p) if p[0] >> 4 == kind => return p,
                Some(_) => {}
                None => panic!("connection closed while waiting for packet type {kind}"),
            }
        }
    }

    /// The next PUBLISH, parsed as v5.
    pub async fn next_publish_v5(&mut self) -> RawPublish5 {
        parse_publish_v5(&self.next_of(3).await)
    }

    /// Waits for the broker to close the connection and returns the reason code of the v5
    /// DISCONNECT it sent last; panics if it sent none.
    pub async fn disconnect_reason(&mut self) -> u8 {
        let seen = self.expect_close().await;
        let last = seen
            .last()
            .unwrap_or_else(|| panic!("connection closed without DISCONNECT"));
        assert_eq!(
            last[0], 0xE0,
            "last packet before close is not DISCONNECT: {seen:?}"
        );
        // A remaining length of 0 means 0x00, normal disconnection.
        if last[1] == 0 {
            0
        } else {
            last[2]
        }
    }
}
