//! The attacker's side: MQTT packets built byte by byte (valid or deliberately not), and a raw
//! TCP client that sends them and reports exactly what the broker answered before closing.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::harness::WAIT;

// The encoders are the spec-written ones every directory shares; this file adds the
// attacker's shapes of packet on top of them.
#[path = "../support/wire.rs"]
mod spec;

/// Wraps a body in a fixed header with a correct remaining length.
pub use spec::packet as frame;
/// A length-prefixed string or binary field, bytes as given (valid UTF-8 or not).
pub use spec::string;

/// CONNECT for protocol `level` (4: 3.1.1, 5: 5.0), clean session, keep alive 60 s.
pub fn connect(level: u8, client_id: &[u8]) -> Vec<u8> {
    connect_with(level, 0x02, client_id, &[])
}

/// CONNECT with explicit connect `flags` and `payload_tail` appended after the client id
/// (will properties, topic and payload when the will flag is set).
pub fn connect_with(level: u8, flags: u8, client_id: &[u8], payload_tail: &[u8]) -> Vec<u8> {
    connect_full(level, flags, 60, client_id, payload_tail)
}

/// CONNECT, clean session, with a chosen keep alive in seconds.
pub fn connect_keep_alive(level: u8, client_id: &[u8], keep_alive: u16) -> Vec<u8> {
    connect_full(level, 0x02, keep_alive, client_id, &[])
}

fn connect_full(level: u8, flags: u8, keep_alive: u16, client_id: &[u8], payload_tail: &[u8]) -> Vec<u8> {
    let mut body = string(b"MQTT");
    body.extend_from_slice(&[level, flags]);
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if level == 5 {
        body.push(0); // no properties
    }
    body.extend_from_slice(&string(client_id));
    body.extend_from_slice(payload_tail);
    frame(0x10, &body)
}

/// CONNECT with a QoS 0 will on `topic`: published when the connection ends without DISCONNECT.
pub fn connect_with_will(level: u8, client_id: &[u8], topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut tail = Vec::new();
    if level == 5 {
        tail.push(0); // no will properties
    }
    tail.extend_from_slice(&string(topic.as_bytes()));
    tail.extend_from_slice(&string(payload));
    connect_with(level, 0x06, client_id, &tail)
}

/// PUBLISH with a raw topic; `packet_id` 0 means QoS 0, otherwise QoS 1.
pub fn publish(level: u8, topic: &[u8], packet_id: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = string(topic);
    if packet_id != 0 {
        body.extend_from_slice(&packet_id.to_be_bytes());
    }
    if level == 5 {
        body.push(0);
    }
    body.extend_from_slice(payload);
    frame(if packet_id == 0 { 0x30 } else { 0x32 }, &body)
}

/// SUBSCRIBE (correct header flags 0010) for raw filters, all at QoS `qos`.
pub fn subscribe(level: u8, packet_id: u16, filters: &[&[u8]], qos: u8) -> Vec<u8> {
    subscribe_with_header(0x82, level, packet_id, filters, qos)
}

/// SUBSCRIBE with a chosen first byte, to set reserved flag bits.
pub fn subscribe_with_header(header: u8, level: u8, packet_id: u16, filters: &[&[u8]], qos: u8) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if level == 5 {
        body.push(0);
    }
    for f in filters {
        body.extend_from_slice(&string(f));
        body.push(qos);
    }
    frame(header, &body)
}

/// What the broker did with a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// One whole packet, fixed header included.
    Packet(Vec<u8>),
    /// The broker closed (EOF or reset).
    Closed,
    /// Nothing within the time given.
    Quiet,
}

/// A client that speaks raw bytes: over TCP, or over TLS and WebSocket (transport.rs).
pub struct Raw<S = TcpStream> {
    pub stream: S,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("TCP connect in time")
            .expect("TCP connect");
        let _ = stream.set_nodelay(true);
        Raw { stream }
    }

    /// Connects and completes CONNECT/CONNACK (success) at protocol `level`.
    pub async fn connected(addr: SocketAddr, level: u8, client_id: &str) -> Raw {
        Raw::connected_with(addr, &connect(level, client_id.as_bytes())).await
    }

    /// Connects with the given CONNECT and expects a successful CONNACK.
    pub async fn connected_with(addr: SocketAddr, connect: &[u8]) -> Raw {
        let mut raw = Raw::connect(addr).await;
        raw.handshake(connect).await;
        raw
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Raw<S> {
    /// Sends CONNECT and expects a successful CONNACK.
    pub async fn handshake(&mut self, connect: &[u8]) {
        self.send(connect).await;
        match self.read(WAIT).await {
            // CONNACK: 20 len flags code, in both versions.
            Read::Packet(p) if p[0] == 0x20 && p.len() >= 4 => {
                assert_eq!(p[3], 0, "CONNACK refused: {p:02x?}")
            }
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Writes everything; a broker that already closed is not an error here (the read that
    /// follows tells what happened).
    pub async fn send(&mut self, bytes: &[u8]) -> bool {
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        matches!(tokio::time::timeout(WAIT, write).await, Ok(Ok(())))
    }

    /// Reads one packet, or notices the close, within `limit`.
    pub async fn read(&mut self, limit: Duration) -> Read {
        match tokio::time::timeout(limit, spec::read_packet(&mut self.stream)).await {
            Ok(Some(packet)) => Read::Packet(packet),
            Ok(None) => Read::Closed,
            Err(_) => Read::Quiet,
        }
    }

    /// Reads until the broker closes and returns the packets it sent first; fails the test if
    /// the connection stays open for [`WAIT`].
    pub async fn expect_close(&mut self, what: &str) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        loop {
            match self.read(WAIT).await {
                Read::Packet(p) => seen.push(p),
                Read::Closed => return seen,
                Read::Quiet => panic!("{what}: the broker left the connection open (after {seen:02x?})"),
            }
            assert!(
                seen.len() < 1000,
                "{what}: the broker keeps sending instead of closing"
            );
        }
    }
}
