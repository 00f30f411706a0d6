//! SUBSCRIBE and UNSUBSCRIBE at the byte level: what a malformed one closes, and what the
//! acknowledgements carry (their Packet Identifier, one UNSUBACK for several filters, reason
//! codes in filter order), in 3.1.1 and 5.0.

use super::common::start;
use super::versions::both_versions;
use super::wire::*;

/// A SUBSCRIBE whose payload is exactly `payload` (the filters and their option bytes).
fn raw_subscribe(level: Level, packet_id: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if level.v5() {
        body.push(0);
    }
    body.extend_from_slice(payload);
    packet(kind::SUBSCRIBE, &body)
}

/// An UNSUBSCRIBE whose payload is exactly `payload`.
fn raw_unsubscribe(level: Level, packet_id: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if level.v5() {
        body.push(0);
    }
    body.extend_from_slice(payload);
    packet(kind::UNSUBSCRIBE, &body)
}

fn connect(level: Level, client_id: &str) -> Connect {
    Connect::new(level, client_id.as_bytes())
}

/// Sends `bad` and asserts the broker closes the connection, after a DISCONNECT 0x81
/// (malformed) or 0x82 (protocol error) for v5 and without any answer for 3.1.1.
async fn closes(broker: &super::common::TestBroker, level: Level, name: &str, bad: &[u8]) {
    let (mut raw, _) = Raw::connected(broker.addr, &connect(level, name)).await;
    raw.send(bad).await;
    let seen = raw.expect_close().await;
    if level.v5() {
        let reasons: Vec<Option<u8>> = seen.iter().map(|p| disconnect_reason(p)).collect();
        assert!(
            matches!(reasons.as_slice(), [Some(0x81 | 0x82)]),
            "{name}: expected one DISCONNECT 0x81/0x82 before the close, got {seen:02x?}"
        );
    } else {
        assert!(seen.is_empty(), "{name}: expected a plain close, got {seen:02x?}");
    }
}

async fn malformed_subscriptions_close(level: Level) {
    let broker = start().await;
    // 3.1.1 [MQTT-3.8.3-3], v5 [MQTT-3.8.3-2]: at least one filter
    closes(&broker, level, "empty-subscribe", &raw_subscribe(level, 1, &[])).await;
    // 3.1.1 [MQTT-3.10.3-2], v5 [MQTT-3.10.3-2]: at least one filter
    closes(
        &broker,
        level,
        "empty-unsubscribe",
        &raw_unsubscribe(level, 1, &[]),
    )
    .await;
    let mut qos3 = string(b"a/b");
    qos3.push(3);
    // 3.1.1 [MQTT-3.8.3-4]: QoS 3 is malformed
    closes(&broker, level, "qos3", &raw_subscribe(level, 1, &qos3)).await;
    let mut reserved = string(b"a/b");
    reserved.push(0xC1);
    // 3.1.1 [MQTT-3.8.3-4], v5 [MQTT-3.8.3-5]: reserved bits of the options byte are malformed
    closes(
        &broker,
        level,
        "reserved-bits",
        &raw_subscribe(level, 1, &reserved),
    )
    .await;
}

both_versions! {
    #[tokio::test]
    async fn malformed_subscribe_and_unsubscribe_close_the_connection_v311,
        malformed_subscribe_and_unsubscribe_close_the_connection_v5(level = Level::V311, Level::V5) {
        malformed_subscriptions_close(level).await;
    }
}

/// Packet Identifier and, for v5, the reason codes of an UNSUBACK.
fn unsuback(level: Level, packet: &[u8]) -> (u16, Vec<u8>) {
    let (header, body) = split(packet).expect("a whole packet");
    assert_eq!(header, kind::UNSUBACK, "UNSUBACK expected, got {packet:02x?}");
    let packet_id = u16::from_be_bytes([body[0], body[1]]);
    if !level.v5() {
        assert_eq!(body.len(), 2, "a 3.1.1 UNSUBACK is its Packet Identifier alone");
        return (packet_id, Vec::new());
    }
    let props = body[2] as usize;
    (packet_id, body[3 + props..].to_vec())
}

async fn acknowledgements_carry_the_packet_identifier(level: Level) {
    let broker = start().await;
    let (mut raw, _) = Raw::connected(broker.addr, &connect(level, "acks")).await;
    raw.send(&subscribe(level, 0x1234, &[("a/1", 1), ("a/3", 0)]))
        .await;
    let suback = raw.expect(kind::SUBACK).await;
    // 3.1.1 and v5 [MQTT-3.8.4-2] (v5 [MQTT-2.2.1-6]): the SUBACK has the SUBSCRIBE's Packet
    // Identifier
    assert_eq!(u16::from_be_bytes([suback[2], suback[3]]), 0x1234);

    // 3.1.1 [MQTT-3.10.4-5]: an UNSUBACK even when nothing was deleted, with the UNSUBSCRIBE's
    // Packet Identifier (3.1.1 [MQTT-3.10.4-4], v5 [MQTT-3.10.4-5])
    raw.send(&unsubscribe(level, 0x0BCD, &["never/subscribed"])).await;
    let (packet_id, reasons) = unsuback(level, &raw.expect(kind::UNSUBACK).await);
    assert_eq!(packet_id, 0x0BCD);
    if level.v5() {
        assert_eq!(reasons, [0x11], "no subscription existed");
    }

    // [MQTT-3.10.4-6]: several filters are handled as several UNSUBSCRIBEs, answered by one
    // UNSUBACK; v5 [MQTT-3.11.3-1]: its reason codes in the order of the filters
    raw.send(&unsubscribe(level, 7, &["a/1", "a/2", "a/3"])).await;
    let (packet_id, reasons) = unsuback(level, &raw.expect(kind::UNSUBACK).await);
    assert_eq!(packet_id, 7);
    if level.v5() {
        assert_eq!(reasons, [0x00, 0x11, 0x00]);
    }
    // Both subscriptions went: a message on either reaches no one, and the next packet the
    // client gets is the answer to its ping.
    let (mut publisher, _) = Raw::connected(broker.addr, &connect(level, "acks-publisher")).await;
    for topic in ["a/1", "a/3"] {
        publisher.send(&Publish::new(level, topic, b"x").bytes()).await;
    }
    publisher.ping().await;
    raw.send(&pingreq()).await;
    raw.expect(kind::PINGRESP).await;
}

both_versions! {
    #[tokio::test]
    async fn acknowledgements_carry_the_packet_identifier_and_answer_every_filter_v311,
        acknowledgements_carry_the_packet_identifier_and_answer_every_filter_v5(level = Level::V311, Level::V5) {
        acknowledgements_carry_the_packet_identifier(level).await;
    }
}
