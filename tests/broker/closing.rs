//! Closing a connection the broker ends: the client reads the last packet it was sent (a v5
//! DISCONNECT with its reason code, a refusing CONNACK) and then the end of the stream, not a
//! reset, even when neither side had read everything the other sent.

use std::net::SocketAddr;

use tokio::io::AsyncReadExt;
use tokio::net::TcpSocket;

use super::common::start_with;
use super::wire::*;

/// A raw client whose receive buffer is small, so that what the broker sends while it does not
/// read stays queued on the broker's side.
async fn small_window_client(addr: SocketAddr) -> Raw {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    Raw {
        stream: socket.connect(addr).await.expect("tcp connect"),
    }
}

/// Reads until the broker closes; returns the packets read, or fails if the connection is reset
/// (saying which packets came before the reset).
async fn read_until_end(raw: &mut Raw) -> Vec<Vec<u8>> {
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(WAIT, raw.stream.read_to_end(&mut bytes))
        .await
        .expect("the broker neither closed the connection nor reset it");
    let mut packets = Vec::new();
    let mut rest = &bytes[..];
    while let Some(len) = whole_packet(rest) {
        packets.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    let last = packets.last().map(|p| p[0]);
    if let Err(e) = read {
        panic!(
            "{e} after {} packets (the last of type {last:02x?}) and {} more bytes",
            packets.len(),
            rest.len()
        );
    }
    assert!(rest.is_empty(), "{} bytes of a packet before the end", rest.len());
    packets
}

/// The length of the whole packet at the start of `bytes`, if it is all there.
fn whole_packet(bytes: &[u8]) -> Option<usize> {
    let (_, body) = split(bytes)?;
    // The body ends the packet: its offset in `bytes` plus its length.
    Some(body.as_ptr() as usize - bytes.as_ptr() as usize + body.len())
}

// [MQTT-3.3.4-9] a client over the broker's Receive Maximum gets DISCONNECT 0x93, and
// [MQTT-3.14.4-2] the broker then closes the connection: in an orderly way, so the client reads
// the DISCONNECT and then the end of the stream although it had not read what the broker sent
// before it, and had sent more than the broker read.
#[tokio::test]
async fn disconnect_for_receive_maximum_is_read_before_the_close() {
    let broker = start_with(|s| s.limits.max_inflight = 2).await;
    let mut raw = small_window_client(broker.addr).await;
    raw.send(&Connect::v5("close-rm").bytes()).await;
    raw.expect(kind::CONNACK).await;
    raw.send(&subscribe(Level::V5, 1, &[("close/echo", 0)])).await;
    raw.expect(kind::SUBACK).await;

    // Echoed back to this client, which reads none of it: far more than its receive buffer.
    let mut burst = Vec::new();
    for _ in 0..160 {
        burst.extend(Publish::new(Level::V5, "close/echo", &[b'e'; 1024]).bytes());
    }
    // One QoS 2 message more than the Receive Maximum of 2, none of them released.
    for id in 1..=3 {
        burst.extend(Publish::new(Level::V5, "close/flood", b"q").qos(2, id).bytes());
    }
    // And more after that, which the broker never handles.
    for _ in 0..16 * 1024 {
        burst.extend(pingreq());
    }
    raw.send(&burst).await;

    let packets = read_until_end(&mut raw).await;
    let last = packets.last().expect("packets before the close");
    assert_eq!(
        disconnect_reason(last),
        Some(0x93),
        "the last packet is not DISCONNECT 0x93: {:02x?}",
        &last[..last.len().min(8)]
    );
    let echoed = packets.iter().filter(|p| p[0] >> 4 == 3).count();
    assert!(
        echoed > 0,
        "the echoed messages were queued before the DISCONNECT"
    );
}

// [MQTT-3.1.0-2] a 3.1.1 client that sends a second CONNECT is disconnected, and the broker
// closes the connection in an orderly way there too: the client reads what was sent before and
// then the end of the stream, although neither side had read everything the other sent.
#[tokio::test]
async fn v311_close_for_a_protocol_violation_is_not_a_reset() {
    let broker = start_with(|_| {}).await;
    let mut raw = small_window_client(broker.addr).await;
    raw.send(&Connect::v311("close-v311").bytes()).await;
    raw.expect(kind::CONNACK).await;
    raw.send(&subscribe(Level::V311, 1, &[("close/echo", 0)])).await;
    raw.expect(kind::SUBACK).await;

    let mut burst = Vec::new();
    for _ in 0..160 {
        burst.extend(Publish::new(Level::V311, "close/echo", &[b'e'; 1024]).bytes());
    }
    burst.extend(Connect::v311("close-v311").bytes());
    for _ in 0..16 * 1024 {
        burst.extend(pingreq());
    }
    raw.send(&burst).await;

    let packets = read_until_end(&mut raw).await;
    assert!(
        packets.iter().all(|p| p[0] == kind::PUBLISH),
        "only the echoed messages, no answer to the second CONNECT"
    );
}
