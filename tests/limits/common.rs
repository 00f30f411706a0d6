//! Test harness: an in-process broker with chosen `[limits]` on 127.0.0.1:0, a raw-bytes client
//! for exact reason codes in both protocol versions, and the limit counters.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use robustmq::server::metrics::LimitStats;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::wire::{self, Connect, Level, Props, Will};

pub use super::in_process::{start_with, TestBroker};
pub use super::wait::wait_until;

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a test waits to be sure something does not happen.
pub const QUIET: Duration = Duration::from_millis(500);

/// The limit counters, on the broker under test.
impl TestBroker {
    /// The limit counters now.
    pub fn limits(&self) -> LimitStats {
        self.metrics().limits.snapshot()
    }
}

// ---- raw client ---------------------------------------------------------------------------

/// A client that speaks raw bytes, so every reason code is seen exactly as sent.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            stream: TcpStream::connect(addr).await.expect("tcp connect"),
        }
    }

    /// Writes `bytes`; a broker that already closed the socket is not an error here (the next
    /// read says so).
    pub async fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    /// Reads one whole packet (fixed header included); `None` when the broker closed the
    /// connection (or reset it).
    pub async fn packet(&mut self) -> Option<Vec<u8>> {
        tokio::time::timeout(WAIT, wire::read_packet(&mut self.stream))
            .await
            .expect("broker neither answered nor closed")
    }

    /// The next packet of type `kind` (the high nibble), skipping others; panics if the broker
    /// closes first.
    pub async fn next_of(&mut self, kind: u8) -> Vec<u8> {
        loop {
            match self.packet().await {
                Some(p) if p[0] >> 4 == kind => return p,
                Some(_) => {}
                None => panic!("connection closed while waiting for packet type {kind}"),
            }
        }
    }

    /// Whether a packet arrives within [`QUIET`] (`Some(None)`: the broker closed).
    pub async fn packet_within_quiet(&mut self) -> Option<Option<Vec<u8>>> {
        tokio::time::timeout(QUIET, self.packet()).await.ok()
    }

    /// Waits until the broker closes the connection; returns what it sent before.
    pub async fn expect_close(&mut self) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        while let Some(p) = self.packet().await {
            seen.push(p);
            assert!(seen.len() < 1000, "broker keeps talking instead of closing");
        }
        seen
    }

    /// PINGREQ and wait for PINGRESP: the broker handles a client's packets in order, so
    /// everything sent before has been handled by then.
    pub async fn sync(&mut self) {
        self.send(&[0xC0, 0x00]).await;
        self.next_of(13).await;
    }
}

/// Connects at protocol `level` (4 = 3.1.1, 5 = MQTT 5) with keep alive 60 and checks that
/// the CONNACK accepts.
pub async fn connected(broker: &TestBroker, level: u8, client_id: &str) -> Raw {
    connected_at(broker.addr, level, client_id).await
}

/// [`connected`] on a given address.
pub async fn connected_at(addr: SocketAddr, level: u8, client_id: &str) -> Raw {
    let mut raw = Raw::connect(addr).await;
    raw.send(&connect_packet(level, client_id, 60, None)).await;
    let connack = raw.packet().await.expect("CONNACK, not a closed connection");
    let connack = Connack::parse(level, &connack);
    assert_eq!(connack.code, 0, "connection refused: {connack:?}");
    raw
}

/// Sends CONNECT on a new connection: `Some(connack)` if the broker answered, `None` if it
/// closed the connection without a word.
pub async fn try_connect(addr: SocketAddr, connect: &[u8]) -> Option<Vec<u8>> {
    let mut raw = Raw::connect(addr).await;
    raw.send(connect).await;
    raw.packet().await
}

// ---- packets --------------------------------------------------------------------------------

/// A CONNECT with clean start; `will` is (topic, payload).
pub fn connect_packet(level: u8, client_id: &str, keep_alive: u16, will: Option<(&str, &[u8])>) -> Vec<u8> {
    Connect {
        keep_alive,
        will: will.map(|(topic, payload)| Will::new(topic.as_bytes(), payload)),
        ..Connect::new(Level::from_byte(level), client_id.as_bytes())
    }
    .bytes()
}

/// A CONNECT that resumes (or creates) a persistent session: clean session 0, and for v5 a
/// Session Expiry Interval of 300 s.
pub fn persistent_connect(level: u8, client_id: &str) -> Vec<u8> {
    let level = Level::from_byte(level);
    let mut connect = Connect::new(level, client_id.as_bytes());
    connect.clean_start = false;
    if level.v5() {
        connect.props = Props::new().u32(wire::prop::SESSION_EXPIRY_INTERVAL, 300);
    }
    connect.bytes()
}

/// A PUBLISH; `packet_id` is left out for QoS 0, `properties` only for level 5.
pub fn publish(
    level: u8,
    topic: &str,
    qos: u8,
    packet_id: u16,
    properties: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut body = wire::string(topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&packet_id.to_be_bytes());
    }
    if level == 5 {
        body.extend(wire::var_int(properties.len()));
        body.extend_from_slice(properties);
    }
    body.extend_from_slice(payload);
    wire::packet(wire::kind::PUBLISH | (qos << 1), &body)
}

/// A v5 Topic Alias property.
pub fn topic_alias(alias: u16) -> Vec<u8> {
    let mut out = vec![0x23];
    out.extend_from_slice(&alias.to_be_bytes());
    out
}

/// A SUBSCRIBE of `(filter, options byte)` pairs.
pub fn subscribe(level: u8, packet_id: u16, filters: &[(&str, u8)]) -> Vec<u8> {
    wire::subscribe(Level::from_byte(level), packet_id, filters)
}

/// An UNSUBSCRIBE.
pub fn unsubscribe(level: u8, packet_id: u16, filters: &[&str]) -> Vec<u8> {
    wire::unsubscribe(Level::from_byte(level), packet_id, filters)
}

/// An acknowledgement (PUBACK 0x40, PUBREC 0x50, PUBREL 0x62, PUBCOMP 0x70) without reason.
pub fn ack(header: u8, packet_id: u16) -> Vec<u8> {
    wire::ack(header, packet_id)
}

/// The Variable Byte Integer at `pos`, which is moved past it.
fn read_varint(bytes: &[u8], pos: &mut usize) -> usize {
    let (value, used) = wire::read_var_int(&bytes[*pos..]).expect("a variable byte integer");
    *pos += used;
    value
}

/// The properties of a v5 packet from `pos` on: Server Keep Alive and Reason String, the
/// others skipped by their encoding.
#[derive(Debug, Default, Clone)]
pub struct Properties {
    pub server_keep_alive: Option<u16>,
    pub reason_string: Option<String>,
}

fn read_properties(bytes: &[u8], pos: &mut usize) -> Properties {
    let end = read_varint(bytes, pos) + *pos;
    let mut props = Properties::default();
    let string = |bytes: &[u8], pos: &mut usize| {
        let len = u16::from_be_bytes([bytes[*pos], bytes[*pos + 1]]) as usize;
        let s = String::from_utf8_lossy(&bytes[*pos + 2..*pos + 2 + len]).into_owned();
        *pos += 2 + len;
        s
    };
    while *pos < end {
        let id = bytes[*pos];
        *pos += 1;
        match id {
            0x13 => {
                props.server_keep_alive = Some(u16::from_be_bytes([bytes[*pos], bytes[*pos + 1]]));
                *pos += 2;
            }
            0x1F => props.reason_string = Some(string(bytes, pos)),
            0x21 | 0x22 => *pos += 2,
            0x24 | 0x25 | 0x28 | 0x29 | 0x2A => *pos += 1,
            0x11 | 0x27 => *pos += 4,
            0x12 | 0x15 | 0x16 | 0x1A | 0x1C => {
                string(bytes, pos);
            }
            0x26 => {
                string(bytes, pos);
                string(bytes, pos);
            }
            other => panic!("unexpected property {other:#04x} in {bytes:02x?}"),
        }
    }
    props
}

/// A CONNACK: the return code (3.1.1) or reason code (5), and the v5 properties.
#[derive(Debug, Clone)]
pub struct Connack {
    pub code: u8,
    pub session_present: bool,
    pub properties: Properties,
}

impl Connack {
    pub fn parse(level: u8, packet: &[u8]) -> Connack {
        assert_eq!(packet[0], 0x20, "CONNACK expected, got {packet:02x?}");
        let mut pos = 1;
        read_varint(packet, &mut pos);
        let session_present = packet[pos] & 1 == 1;
        let code = packet[pos + 1];
        pos += 2;
        let properties = if level == 5 && pos < packet.len() {
            read_properties(packet, &mut pos)
        } else {
            Properties::default()
        };
        Connack {
            code,
            session_present,
            properties,
        }
    }
}

/// A PUBACK or PUBREC: packet id, reason code (0 when left out, always for 3.1.1) and the
/// reason string.
#[derive(Debug, Clone)]
pub struct Ack {
    pub packet_id: u16,
    pub reason: u8,
    pub reason_string: Option<String>,
}

impl Ack {
    pub fn parse(packet: &[u8]) -> Ack {
        let mut pos = 1;
        let len = read_varint(packet, &mut pos);
        let packet_id = u16::from_be_bytes([packet[pos], packet[pos + 1]]);
        let reason = if len > 2 { packet[pos + 2] } else { 0 };
        let mut reason_string = None;
        if len > 3 {
            pos += 3;
            reason_string = read_properties(packet, &mut pos).reason_string;
        }
        Ack {
            packet_id,
            reason,
            reason_string,
        }
    }
}

/// The return codes (3.1.1) or reason codes (5) of a SUBACK, and its v5 reason string.
pub fn suback_codes(level: u8, packet: &[u8]) -> (Vec<u8>, Option<String>) {
    assert_eq!(packet[0], 0x90, "SUBACK expected, got {packet:02x?}");
    let mut pos = 1;
    read_varint(packet, &mut pos);
    pos += 2;
    let reason_string = if level == 5 {
        read_properties(packet, &mut pos).reason_string
    } else {
        None
    };
    (packet[pos..].to_vec(), reason_string)
}

/// The topic of a PUBLISH packet.
pub fn publish_topic(packet: &[u8]) -> String {
    assert_eq!(packet[0] >> 4, 3, "PUBLISH expected, got {packet:02x?}");
    let mut pos = 1;
    read_varint(packet, &mut pos);
    let len = u16::from_be_bytes([packet[pos], packet[pos + 1]]) as usize;
    String::from_utf8(packet[pos + 2..pos + 2 + len].to_vec()).expect("UTF-8 topic")
}

/// The topic and payload of a PUBLISH packet of protocol `level`.
pub fn parse_publish(level: u8, packet: &[u8]) -> (String, Vec<u8>) {
    let topic = publish_topic(packet);
    let mut pos = 1;
    read_varint(packet, &mut pos);
    pos += 2 + topic.len();
    if (packet[0] >> 1) & 3 > 0 {
        pos += 2;
    }
    if level == 5 {
        let len = read_varint(packet, &mut pos);
        pos += len;
    }
    (topic, packet[pos..].to_vec())
}

/// The reason code of the v5 DISCONNECT the broker sent last before closing.
pub async fn disconnect_reason(raw: &mut Raw) -> u8 {
    let seen = raw.expect_close().await;
    let last = seen.last().expect("a DISCONNECT before the close");
    assert_eq!(last[0], 0xE0, "DISCONNECT expected last, got {seen:02x?}");
    if last[1] == 0 {
        0
    } else {
        last[2]
    }
}

/// Counts the PUBLISH packets `raw` receives until none has come for [`QUIET`].
pub async fn publishes_until_quiet(raw: &mut Raw) -> Vec<String> {
    let mut topics = Vec::new();
    while let Some(Some(p)) = raw.packet_within_quiet().await {
        if p[0] >> 4 == 3 {
            topics.push(publish_topic(&p));
        }
    }
    topics
}
