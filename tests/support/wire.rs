//! MQTT packets built byte by byte from the specification text, for 3.1, 3.1.1 and 5.0, with any
//! flag or field settable wrong, and a raw client that reads exactly what comes back.
//!
//! Nothing here uses the broker's own codec: a test built on it checks the broker against the
//! specification, not against itself. Section numbers below are those of MQTT 5.0 (the 3.1.1
//! layouts are the same without properties).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a read waits for the broker to answer or close.
pub const WAIT: Duration = Duration::from_secs(5);

/// Protocol name and level of CONNECT (3.1.2.1, 3.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// MQTT 3.1: "MQIsdp", level 3.
    V31,
    /// MQTT 3.1.1: "MQTT", level 4.
    V311,
    /// MQTT 5.0: "MQTT", level 5.
    V5,
}

impl Level {
    /// The level of a Protocol Level byte (3.1.2.2): 3, 4 or 5.
    pub fn from_byte(level: u8) -> Level {
        match level {
            3 => Level::V31,
            4 => Level::V311,
            5 => Level::V5,
            other => panic!("no MQTT protocol level {other}"),
        }
    }

    /// Whether packets carry properties (5.0 only).
    pub fn v5(self) -> bool {
        self == Level::V5
    }
}

/// Fixed header packet types (2.1.2), shifted into the high nibble.
pub mod kind {
    pub const CONNECT: u8 = 0x10;
    pub const CONNACK: u8 = 0x20;
    pub const PUBLISH: u8 = 0x30;
    pub const PUBACK: u8 = 0x40;
    pub const PUBREC: u8 = 0x50;
    /// PUBREL's reserved flags are 0010 (2.1.3).
    pub const PUBREL: u8 = 0x62;
    pub const PUBCOMP: u8 = 0x70;
    /// SUBSCRIBE's reserved flags are 0010 (2.1.3).
    pub const SUBSCRIBE: u8 = 0x82;
    pub const SUBACK: u8 = 0x90;
    /// UNSUBSCRIBE's reserved flags are 0010 (2.1.3).
    pub const UNSUBSCRIBE: u8 = 0xA2;
    pub const UNSUBACK: u8 = 0xB0;
    pub const PINGREQ: u8 = 0xC0;
    pub const PINGRESP: u8 = 0xD0;
    pub const DISCONNECT: u8 = 0xE0;
    pub const AUTH: u8 = 0xF0;
}

/// A Variable Byte Integer (1.5.5).
pub fn var_int(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if value == 0 {
            return out;
        }
    }
}

/// A UTF-8 Encoded String or Binary Data field (1.5.4, 1.5.6): two length bytes, then the bytes
/// as given, valid UTF-8 or not.
pub fn string(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// A whole packet: `header` (type and flags, 2.1.1), the Remaining Length, then `body`.
pub fn packet(header: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![header];
    out.extend(var_int(body.len()));
    out.extend_from_slice(body);
    out
}

/// Property identifiers (2.2.2.2).
pub mod prop {
    pub const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
    pub const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
    pub const CONTENT_TYPE: u8 = 0x03;
    pub const RESPONSE_TOPIC: u8 = 0x08;
    pub const CORRELATION_DATA: u8 = 0x09;
    pub const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
    pub const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
    pub const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
    pub const SERVER_KEEP_ALIVE: u8 = 0x13;
    pub const AUTHENTICATION_METHOD: u8 = 0x15;
    pub const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
    pub const WILL_DELAY_INTERVAL: u8 = 0x18;
    pub const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
    pub const RESPONSE_INFORMATION: u8 = 0x1A;
    pub const REASON_STRING: u8 = 0x1F;
    pub const RECEIVE_MAXIMUM: u8 = 0x21;
    pub const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
    pub const TOPIC_ALIAS: u8 = 0x23;
    pub const MAXIMUM_QOS: u8 = 0x24;
    pub const RETAIN_AVAILABLE: u8 = 0x25;
    pub const USER_PROPERTY: u8 = 0x26;
    pub const MAXIMUM_PACKET_SIZE: u8 = 0x27;
    pub const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
    pub const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
    pub const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;
}

/// A v5 property list (2.2.2), in the order given; duplicates are kept, so a test can send them.
#[derive(Debug, Clone, Default)]
pub struct Props(Vec<u8>);

impl Props {
    pub fn new() -> Props {
        Props::default()
    }

    pub fn byte(mut self, id: u8, value: u8) -> Props {
        self.0.extend([id, value]);
        self
    }

    pub fn u16(mut self, id: u8, value: u16) -> Props {
        self.0.push(id);
        self.0.extend(value.to_be_bytes());
        self
    }

    pub fn u32(mut self, id: u8, value: u32) -> Props {
        self.0.push(id);
        self.0.extend(value.to_be_bytes());
        self
    }

    pub fn var_int(mut self, id: u8, value: usize) -> Props {
        self.0.push(id);
        self.0.extend(var_int(value));
        self
    }

    /// A string or binary property, bytes as given.
    pub fn string(mut self, id: u8, value: &[u8]) -> Props {
        self.0.push(id);
        self.0.extend(string(value));
        self
    }

    /// A User Property (3.1.2.11.8): a name and a value string.
    pub fn user(mut self, name: &[u8], value: &[u8]) -> Props {
        self.0.push(prop::USER_PROPERTY);
        self.0.extend(string(name));
        self.0.extend(string(value));
        self
    }

    /// The Property Length followed by the properties.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = var_int(self.0.len());
        out.extend_from_slice(&self.0);
        out
    }
}

/// The will of a CONNECT (3.1.3.2 to 3.1.3.4).
#[derive(Debug, Clone)]
pub struct Will {
    pub props: Props,
    pub topic: Vec<u8>,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
}

impl Will {
    pub fn new(topic: &[u8], payload: &[u8]) -> Will {
        Will {
            props: Props::new(),
            topic: topic.to_vec(),
            payload: payload.to_vec(),
            qos: 0,
            retain: false,
        }
    }
}

/// CONNECT (3.1). The Connect Flags follow the fields present unless a `*_flag` field says
/// otherwise, so a flag can be set without its field and a field sent without its flag.
#[derive(Debug, Clone)]
pub struct Connect {
    /// The first byte; 0x10 unless a test wants reserved header flags set.
    pub header: u8,
    pub level: Level,
    /// Protocol name and level bytes override, for unknown protocols.
    pub protocol: Option<(Vec<u8>, u8)>,
    pub clean_start: bool,
    pub keep_alive: u16,
    /// v5 CONNECT properties.
    pub props: Props,
    pub client_id: Vec<u8>,
    pub will: Option<Will>,
    pub username: Option<Vec<u8>>,
    pub password: Option<Vec<u8>>,
    /// Forces the User Name Flag (bit 7).
    pub username_flag: Option<bool>,
    /// Forces the Password Flag (bit 6).
    pub password_flag: Option<bool>,
    /// Forces the Will Flag (bit 2).
    pub will_flag: Option<bool>,
    /// The reserved flag (bit 0), which must be 0 [MQTT-3.1.2-3].
    pub reserved_flag: bool,
    /// Bytes after the last field the flags announce.
    pub trailing: Vec<u8>,
}

impl Connect {
    /// A clean-start CONNECT with keep alive 60 s and nothing optional.
    pub fn new(level: Level, client_id: &[u8]) -> Connect {
        Connect {
            header: kind::CONNECT,
            level,
            protocol: None,
            clean_start: true,
            keep_alive: 60,
            props: Props::new(),
            client_id: client_id.to_vec(),
            will: None,
            username: None,
            password: None,
            username_flag: None,
            password_flag: None,
            will_flag: None,
            reserved_flag: false,
            trailing: Vec::new(),
        }
    }

    pub fn v311(client_id: &str) -> Connect {
        Connect::new(Level::V311, client_id.as_bytes())
    }

    pub fn v5(client_id: &str) -> Connect {
        Connect::new(Level::V5, client_id.as_bytes())
    }

    pub fn v31(client_id: &str) -> Connect {
        Connect::new(Level::V31, client_id.as_bytes())
    }

    /// The Connect Flags byte (3.1.2.3).
    pub fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.username_flag.unwrap_or(self.username.is_some()) {
            flags |= 0x80;
        }
        if self.password_flag.unwrap_or(self.password.is_some()) {
            flags |= 0x40;
        }
        if let Some(will) = &self.will {
            flags |= (will.qos & 3) << 3;
            if will.retain {
                flags |= 0x20;
            }
        }
        if self.will_flag.unwrap_or(self.will.is_some()) {
            flags |= 0x04;
        }
        if self.clean_start {
            flags |= 0x02;
        }
        if self.reserved_flag {
            flags |= 0x01;
        }
        flags
    }

    pub fn bytes(&self) -> Vec<u8> {
        let (name, level): (&[u8], u8) = match (&self.protocol, self.level) {
            (Some((name, level)), _) => (name, *level),
            (None, Level::V31) => (b"MQIsdp", 3),
            (None, Level::V311) => (b"MQTT", 4),
            (None, Level::V5) => (b"MQTT", 5),
        };
        let v5 = self.level.v5();
        let mut body = string(name);
        body.push(level);
        body.push(self.flags());
        body.extend(self.keep_alive.to_be_bytes());
        if v5 {
            body.extend(self.props.encode());
        }
        body.extend(string(&self.client_id));
        if let Some(will) = &self.will {
            if v5 {
                body.extend(will.props.encode());
            }
            body.extend(string(&will.topic));
            body.extend(string(&will.payload));
        }
        if let Some(username) = &self.username {
            body.extend(string(username));
        }
        if let Some(password) = &self.password {
            body.extend(string(password));
        }
        body.extend_from_slice(&self.trailing);
        packet(self.header, &body)
    }
}

/// PUBLISH (3.3). `packet_id` is written for QoS 1 and 2 only, whatever it holds.
#[derive(Debug, Clone)]
pub struct Publish {
    pub level: Level,
    pub dup: bool,
    pub qos: u8,
    pub retain: bool,
    pub topic: Vec<u8>,
    pub packet_id: u16,
    pub props: Props,
    pub payload: Vec<u8>,
}

impl Publish {
    /// A QoS 0 PUBLISH.
    pub fn new(level: Level, topic: &str, payload: &[u8]) -> Publish {
        Publish {
            level,
            dup: false,
            qos: 0,
            retain: false,
            topic: topic.as_bytes().to_vec(),
            packet_id: 1,
            props: Props::new(),
            payload: payload.to_vec(),
        }
    }

    /// The same PUBLISH at `qos` with packet identifier `packet_id`.
    pub fn qos(mut self, qos: u8, packet_id: u16) -> Publish {
        self.qos = qos;
        self.packet_id = packet_id;
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut header = kind::PUBLISH | ((self.qos & 3) << 1);
        if self.dup {
            header |= 0x08;
        }
        if self.retain {
            header |= 0x01;
        }
        let mut body = string(&self.topic);
        if self.qos > 0 {
            body.extend(self.packet_id.to_be_bytes());
        }
        if self.level.v5() {
            body.extend(self.props.encode());
        }
        body.extend_from_slice(&self.payload);
        packet(header, &body)
    }
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP (3.4 to 3.7) in its shortest form: packet identifier only,
/// which both versions accept (v5 3.4.2.1: reason 0 and no properties may be left out).
pub fn ack(header: u8, packet_id: u16) -> Vec<u8> {
    packet(header, &packet_id.to_be_bytes())
}

/// A v5 acknowledgement with a reason code and properties.
pub fn ack_v5(header: u8, packet_id: u16, reason: u8, props: &Props) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    body.push(reason);
    body.extend(props.encode());
    packet(header, &body)
}

/// SUBSCRIBE (3.8): each filter with its options byte (QoS in bits 0-1; v5 options above).
pub fn subscribe(level: Level, packet_id: u16, filters: &[(&str, u8)]) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if level.v5() {
        body.extend(Props::new().encode());
    }
    for (filter, options) in filters {
        body.extend(string(filter.as_bytes()));
        body.push(*options);
    }
    packet(kind::SUBSCRIBE, &body)
}

/// UNSUBSCRIBE (3.10).
pub fn unsubscribe(level: Level, packet_id: u16, filters: &[&str]) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if level.v5() {
        body.extend(Props::new().encode());
    }
    for filter in filters {
        body.extend(string(filter.as_bytes()));
    }
    packet(kind::UNSUBSCRIBE, &body)
}

/// PINGREQ (3.12).
pub fn pingreq() -> Vec<u8> {
    vec![kind::PINGREQ, 0]
}

/// DISCONNECT (3.14): a bare one, or (v5) with a reason code.
pub fn disconnect(reason: Option<u8>) -> Vec<u8> {
    match reason {
        None => vec![kind::DISCONNECT, 0],
        Some(r) => vec![kind::DISCONNECT, 1, r],
    }
}

/// A CONNACK as read (3.2): flags, reason code and the raw property bytes (v5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connack {
    /// The Connect Acknowledge Flags byte, Session Present in bit 0.
    pub flags: u8,
    /// The reason code (v5) or return code (3.1.1).
    pub code: u8,
    /// Every property as (identifier, value bytes), in order.
    pub props: Vec<(u8, Vec<u8>)>,
    /// Its size on the wire, fixed header included.
    pub len: usize,
}

impl Connack {
    /// Parses a whole CONNACK packet; `None` if it is not one.
    pub fn parse(bytes: &[u8], v5: bool) -> Option<Connack> {
        let (header, body) = split(bytes)?;
        if header != kind::CONNACK || body.len() < 2 {
            return None;
        }
        let props = if v5 {
            parse_props(body.get(2..)?)?
        } else {
            Vec::new()
        };
        Some(Connack {
            flags: body[0],
            code: body[1],
            props,
            len: bytes.len(),
        })
    }

    /// The value bytes of property `id`, if present.
    pub fn prop(&self, id: u8) -> Option<&[u8]> {
        self.props.iter().find(|(i, _)| *i == id).map(|(_, v)| &v[..])
    }
}

/// The reason code of a v5 DISCONNECT packet (0 when left out, 3.14.2.1); `None` for another packet.
pub fn disconnect_reason(bytes: &[u8]) -> Option<u8> {
    let (header, body) = split(bytes)?;
    (header == kind::DISCONNECT).then(|| body.first().copied().unwrap_or(0))
}

/// The first byte and the body of a whole packet.
pub fn split(bytes: &[u8]) -> Option<(u8, &[u8])> {
    let header = *bytes.first()?;
    let mut len = 0usize;
    let mut pos = 1;
    loop {
        let b = *bytes.get(pos)?;
        len |= ((b & 0x7f) as usize) << (7 * (pos - 1));
        pos += 1;
        if b & 0x80 == 0 {
            break;
        }
        if pos > 4 {
            return None;
        }
    }
    let body = bytes.get(pos..pos + len)?;
    Some((header, body))
}

/// Splits a v5 property list (length prefix included) into (identifier, value bytes); the value
/// sizes come from the table in 2.2.2.2.
pub fn parse_props(bytes: &[u8]) -> Option<Vec<(u8, Vec<u8>)>> {
    let (len, mut pos) = read_var_int(bytes)?;
    let end = pos + len;
    let mut out = Vec::new();
    while pos < end {
        let id = *bytes.get(pos)?;
        pos += 1;
        let size = match id {
            0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => 1,
            0x13 | 0x21 | 0x22 | 0x23 => 2,
            0x02 | 0x11 | 0x18 | 0x27 => 4,
            0x0B => read_var_int(bytes.get(pos..)?)?.1,
            0x03 | 0x08 | 0x09 | 0x12 | 0x15 | 0x16 | 0x1A | 0x1C | 0x1F => {
                2 + u16::from_be_bytes([*bytes.get(pos)?, *bytes.get(pos + 1)?]) as usize
            }
            0x26 => {
                let name = 2 + u16::from_be_bytes([*bytes.get(pos)?, *bytes.get(pos + 1)?]) as usize;
                let v = pos + name;
                name + 2 + u16::from_be_bytes([*bytes.get(v)?, *bytes.get(v + 1)?]) as usize
            }
            _ => return None,
        };
        out.push((id, bytes.get(pos..pos + size)?.to_vec()));
        pos += size;
    }
    (pos == end).then_some(out)
}

/// A Variable Byte Integer at the start of `bytes`: its value and how many bytes it took.
pub fn read_var_int(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, b) in bytes.iter().take(4).enumerate() {
        value |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Reads one whole packet, fixed header included, however long it takes; `None` when the
/// stream ends or fails first, or the Remaining Length runs past its four bytes (1.5.5).
pub async fn read_packet(stream: &mut (impl AsyncRead + Unpin)) -> Option<Vec<u8>> {
    let mut out = vec![stream.read_u8().await.ok()?];
    loop {
        let b = stream.read_u8().await.ok()?;
        out.push(b);
        if b & 0x80 == 0 || out.len() == 5 {
            break;
        }
    }
    let len = read_var_int(&out[1..])?.0;
    let start = out.len();
    out.resize(start + len, 0);
    stream.read_exact(&mut out[start..]).await.ok()?;
    Some(out)
}

/// A client that speaks raw bytes over TCP.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            stream: TcpStream::connect(addr).await.expect("tcp connect"),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads one whole packet, fixed header included; `None` when the broker closed the
    /// connection (a reset counts as closed). Panics if it does neither within [`WAIT`].
    pub async fn packet(&mut self) -> Option<Vec<u8>> {
        tokio::time::timeout(WAIT, read_packet(&mut self.stream))
            .await
            .expect("the broker neither answered nor closed the connection")
    }

    /// Reads packets until the broker closes the connection; returns them.
    pub async fn expect_close(&mut self) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        while let Some(p) = self.packet().await {
            seen.push(p);
            assert!(seen.len() < 100, "the broker keeps sending instead of closing");
        }
        seen
    }

    /// Reads the next packet and asserts its first byte is `header`.
    pub async fn expect(&mut self, header: u8) -> Vec<u8> {
        let p = self
            .packet()
            .await
            .unwrap_or_else(|| panic!("the broker closed the connection instead of sending {header:#04x}"));
        assert_eq!(p[0], header, "expected {header:#04x}, got {p:02x?}");
        p
    }

    /// Sends `connect`, reads the CONNACK and asserts it accepts the connection.
    pub async fn connected(addr: SocketAddr, connect: &Connect) -> (Raw, Connack) {
        let mut raw = Raw::connect(addr).await;
        raw.send(&connect.bytes()).await;
        let bytes = raw.expect(kind::CONNACK).await;
        let connack = Connack::parse(&bytes, connect.level.v5())
            .unwrap_or_else(|| panic!("unreadable CONNACK {bytes:02x?}"));
        assert_eq!(connack.code, 0, "connection refused: {connack:?}");
        (raw, connack)
    }

    /// Pings and waits for the answer: everything sent before has been handled, and the
    /// connection is still open.
    pub async fn ping(&mut self) {
        self.send(&pingreq()).await;
        loop {
            let p = self
                .packet()
                .await
                .expect("the connection closed while waiting for PINGRESP");
            if p[0] == kind::PINGRESP {
                return;
            }
        }
    }
}

/// A PUBLISH as read (3.3): its flags, fields, v5 properties and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub dup: bool,
    pub qos: u8,
    pub retain: bool,
    pub topic: Vec<u8>,
    /// 0 for QoS 0, which has none.
    pub packet_id: u16,
    /// Every property as (identifier, value bytes), in order (v5).
    pub props: Vec<(u8, Vec<u8>)>,
    pub payload: Vec<u8>,
}

impl Incoming {
    /// Parses a whole PUBLISH packet; `None` if it is not one or its fields do not fit.
    pub fn parse(bytes: &[u8], v5: bool) -> Option<Incoming> {
        let (header, body) = split(bytes)?;
        if header >> 4 != kind::PUBLISH >> 4 {
            return None;
        }
        let qos = (header >> 1) & 3;
        let topic_len = u16::from_be_bytes([*body.first()?, *body.get(1)?]) as usize;
        let topic = body.get(2..2 + topic_len)?.to_vec();
        let mut pos = 2 + topic_len;
        let mut packet_id = 0;
        if qos > 0 {
            packet_id = u16::from_be_bytes([*body.get(pos)?, *body.get(pos + 1)?]);
            pos += 2;
        }
        let mut props = Vec::new();
        if v5 {
            let rest = body.get(pos..)?;
            let (len, used) = read_var_int(rest)?;
            props = parse_props(rest)?;
            pos += used + len;
        }
        Some(Incoming {
            dup: header & 0x08 != 0,
            qos,
            retain: header & 0x01 != 0,
            topic,
            packet_id,
            props,
            payload: body.get(pos..)?.to_vec(),
        })
    }

    /// The value bytes of every property `id`, in order.
    pub fn all(&self, id: u8) -> Vec<&[u8]> {
        self.props
            .iter()
            .filter(|(i, _)| *i == id)
            .map(|(_, v)| &v[..])
            .collect()
    }
}

impl Raw {
    /// Reads the next packet, asserts it is a PUBLISH and parses it.
    pub async fn publish(&mut self, level: Level) -> Incoming {
        let p = self.expect_kind(kind::PUBLISH).await;
        Incoming::parse(&p, level.v5()).unwrap_or_else(|| panic!("unreadable PUBLISH {p:02x?}"))
    }

    /// Reads the next packet and asserts its type (the high nibble of `header`), whatever its
    /// flags.
    pub async fn expect_kind(&mut self, header: u8) -> Vec<u8> {
        let p = self
            .packet()
            .await
            .unwrap_or_else(|| panic!("the broker closed the connection instead of sending {header:#04x}"));
        assert_eq!(p[0] >> 4, header >> 4, "expected {header:#04x}, got {p:02x?}");
        p
    }

    /// Pings and returns every packet that came before the PINGRESP: what the broker had sent
    /// by the time it handled the ping.
    pub async fn before_pong(&mut self) -> Vec<Vec<u8>> {
        self.send(&pingreq()).await;
        let mut seen = Vec::new();
        loop {
            let p = self
                .packet()
                .await
                .expect("the connection closed while waiting for PINGRESP");
            if p[0] == kind::PINGRESP {
                return seen;
            }
            seen.push(p);
        }
    }
}
