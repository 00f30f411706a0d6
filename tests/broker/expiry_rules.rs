//! v5 Message Expiry against a QoS 2 handshake already under way: neither side of the broker
//! drops a message or its acknowledgements because it expired mid-handshake.

use std::time::Duration;

use super::common::start;
use super::wire::*;

const V5: Level = Level::V5;

/// Longer than the one-second Message Expiry Interval below. No event tells that a message
/// expired, so the time has to pass.
const PAST_EXPIRY: Duration = Duration::from_millis(2100);

// v5 [MQTT-4.3.3-7]: once the broker sent a QoS 2 PUBLISH it no longer applies message expiry:
// sent again on the resumed session after the interval passed. [MQTT-4.3.3-13]: as receiver, it
// completes the handshake of a QoS 2 message that expired meanwhile.
#[tokio::test]
async fn qos2_handshakes_outlive_message_expiry_v5() {
    let broker = start().await;
    let mut connect = Connect::v5("expiring-sub");
    connect.clean_start = false;
    connect.props = Props::new().u32(prop::SESSION_EXPIRY_INTERVAL, 600);
    let (mut s, _) = Raw::connected(broker.addr, &connect).await;
    s.send(&subscribe(V5, 1, &[("expiring/t", 2)])).await;
    s.expect(kind::SUBACK).await;

    let (mut p, _) = Raw::connected(broker.addr, &Connect::v5("expiring-pub")).await;
    let mut publish = Publish::new(V5, "expiring/t", b"short lived").qos(2, 4);
    publish.props = Props::new().u32(prop::MESSAGE_EXPIRY_INTERVAL, 1);
    p.send(&publish.bytes()).await;
    p.expect(kind::PUBREC).await;
    let sent = s.publish(V5).await;
    assert_eq!(sent.qos, 2);
    drop(s);

    tokio::time::sleep(PAST_EXPIRY).await;

    // The publisher's PUBREL, after the expiry: PUBCOMP 0x00.
    p.send(&ack(kind::PUBREL, 4)).await;
    let pubcomp = p.expect(kind::PUBCOMP).await;
    assert!(pubcomp.len() == 4 || pubcomp[4] == 0, "{pubcomp:02x?}");
    // The subscriber's copy is still owed to it.
    let (mut s, connack) = Raw::connected(broker.addr, &connect).await;
    assert_eq!(connack.flags, 1);
    let again = s.publish(V5).await;
    assert_eq!(
        (again.dup, again.packet_id, &again.payload[..]),
        (true, sent.packet_id, &b"short lived"[..])
    );
    s.send(&ack(kind::PUBREC, again.packet_id)).await;
    s.expect(kind::PUBREL).await;
    s.send(&ack(kind::PUBCOMP, again.packet_id)).await;
    s.ping().await;
}
