//! A QoS 2 message refused after it was routed (no subscriber's queue could take it) leaves no
//! packet-id record in the store. Otherwise, after a restart, the next message under the same
//! packet id would be taken for a retransmission of one already received, acknowledged and
//! dropped ([MQTT-4.3.3-10] is about messages that were received, which this one was not).

use std::net::SocketAddr;

use super::binary::Broker;
use super::wire::{self, kind, Connect, Incoming, Level, Props, Publish, Raw};

/// The PUBREC's reason code (0 when left out).
fn reason(pubrec: &[u8]) -> u8 {
    let (_, body) = wire::split(pubrec).expect("a whole packet");
    body.get(2).copied().unwrap_or(0)
}

/// The subscriber: a persistent 3.1.1 session on `full/#` at QoS 1.
fn subscriber() -> Connect {
    let mut connect = Connect::v311("q2-sub");
    connect.clean_start = false;
    connect
}

/// The publisher: an MQTT 5 session that outlives its connection and a restart.
fn publisher() -> Connect {
    let mut connect = Connect::v5("q2-pub");
    connect.clean_start = false;
    connect.props = Props::new().u32(wire::prop::SESSION_EXPIRY_INTERVAL, 3600);
    connect
}

/// Publishes 100-byte QoS 1 messages until the store limit refuses one (PUBACK 0x97); returns
/// how many were kept.
async fn fill(raw: &mut Raw) -> usize {
    for n in 1..=100u16 {
        let publish = Publish::new(Level::V5, "full/a", &[b'x'; 100]).qos(1, n);
        raw.send(&publish.bytes()).await;
        let puback = raw.expect(kind::PUBACK).await;
        if reason(&puback) == 0x97 {
            return usize::from(n - 1);
        }
    }
    panic!("100 messages never filled a 2,000-byte store limit");
}

/// Takes the subscriber's queue, acknowledging each message, up to and with the first one
/// `last` says is the last; returns their payloads.
async fn drain(port: u16, last: impl Fn(&[Vec<u8>]) -> bool) -> Vec<Vec<u8>> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let (mut raw, connack) = Raw::connected(addr, &subscriber()).await;
    assert_eq!(connack.flags & 1, 1, "the subscriber's session was lost");
    let mut got = Vec::new();
    while !last(&got) {
        let packet = raw
            .packet()
            .await
            .expect("the broker closed the subscriber's connection");
        let publish = Incoming::parse(&packet, false).expect("a PUBLISH");
        raw.send(&wire::ack(kind::PUBACK, publish.packet_id)).await;
        got.push(publish.payload);
    }
    raw.send(&wire::disconnect(None)).await;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos2_id_refused_after_routing_is_a_new_message_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("robustmq.toml");
    std::fs::write(&config, "[store]\nmax_store_bytes = 2000\n").unwrap();
    let config = config.display().to_string();
    let args = ["--config", config.as_str()];
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();

    let broker = Broker::start_at(&data, any, &args);
    let addr = SocketAddr::from(([127, 0, 0, 1], broker.port()));
    let (mut sub, _) = Raw::connected(addr, &subscriber()).await;
    sub.send(&wire::subscribe(Level::V311, 1, &[("full/#", 1)])).await;
    sub.expect(kind::SUBACK).await;
    sub.send(&wire::disconnect(None)).await;

    let (mut publisher_conn, _) = Raw::connected(addr, &publisher()).await;
    let kept = fill(&mut publisher_conn).await;
    assert!(kept > 0, "the first message was refused already");
    // Routed, and refused: the subscriber's queue is at the store limit (the same size as the
    // one refused last, so that it does not fit either).
    let mut payload = b"refused".to_vec();
    payload.resize(100, b'.');
    let refused = Publish::new(Level::V5, "full/b", &payload).qos(2, 7);
    publisher_conn.send(&refused.bytes()).await;
    assert_eq!(reason(&publisher_conn.expect(kind::PUBREC).await), 0x97);
    publisher_conn.send(&wire::disconnect(None)).await;
    assert!(broker.stop().success());

    let broker = Broker::start_at(&data, any, &args);
    let addr = SocketAddr::from(([127, 0, 0, 1], broker.port()));
    // Room again: the subscriber takes what was kept.
    let got = drain(broker.port(), |got| got.len() == kept).await;
    assert!(got.iter().all(|p| p == &[b'x'; 100]), "only what was kept");
    let (mut publisher_conn, connack) = Raw::connected(addr, &publisher()).await;
    assert_eq!(connack.flags & 1, 1, "the publisher's session was lost");
    // The same packet id, a new message: delivered, not taken for a retransmission.
    let again = Publish::new(Level::V5, "full/b", b"again").qos(2, 7);
    publisher_conn.send(&again.bytes()).await;
    assert_eq!(reason(&publisher_conn.expect(kind::PUBREC).await), 0);
    publisher_conn.send(&wire::ack(kind::PUBREL, 7)).await;
    publisher_conn.expect(kind::PUBCOMP).await;
    let got = drain(broker.port(), |got| got.last().is_some_and(|p| p == b"again")).await;
    assert_eq!(got, [b"again".to_vec()], "the message after the restart");
    assert!(broker.stop().success());
}
