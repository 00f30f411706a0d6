//! `max_inflight` is the Receive Maximum announced to v5 clients, which they must not exceed
//! [MQTT-3.3.4-7]: a client with more QoS 2 messages awaiting PUBREL than that is disconnected
//! with 0x93, receive maximum exceeded (MQTT 5 §3.2.2.3.3), and counted
//! (`limits/inflight_exceeded`). It also bounds the QoS 1/2 messages the broker has sent a
//! client and not yet seen acknowledged, in both versions.

use super::common::*;

#[tokio::test]
async fn more_unacknowledged_qos2_than_max_inflight_disconnects() {
    let broker = start_with(|s| s.limits.max_inflight = 2).await;
    let mut publisher = connected(&broker, 5, "inflight-pub").await;
    for id in 1..=2 {
        publisher.send(&publish(5, "inflight/t", 2, id, &[], b"m")).await;
        assert_eq!(Ack::parse(&publisher.next_of(5).await).reason, 0x10);
    }
    assert_eq!(broker.limits().inflight_exceeded, 0);
    // A third before any PUBREL.
    publisher.send(&publish(5, "inflight/t", 2, 3, &[], b"m")).await;
    assert_eq!(disconnect_reason(&mut publisher).await, 0x93);
    assert_eq!(broker.limits().inflight_exceeded, 1);
    broker.stop().await;
}

/// Sends `count` QoS 1 messages from a v5 publisher (waiting for each PUBACK).
async fn publish_qos1(broker: &TestBroker, topic: &str, count: u16) {
    let mut publisher = connected(broker, 5, "window-pub").await;
    for id in 1..=count {
        publisher.send(&publish(5, topic, 1, id, &[], b"m")).await;
        publisher.next_of(4).await;
    }
}

/// The QoS 1 PUBLISH packets `raw` receives until it has been quiet for a while: (packet id,
/// packet).
async fn received_qos1(raw: &mut Raw) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(Some(p)) = raw.packet_within_quiet().await {
        if p[0] >> 4 == 3 {
            let (topic, _) = parse_publish(4, &p);
            let at = 2 + 2 + topic.len();
            out.push((u16::from_be_bytes([p[at], p[at + 1]]), p));
        }
    }
    out
}

/// `max_inflight` also bounds what the broker sends a client unacknowledged, whatever Receive
/// Maximum it announced; a 3.1.1 client announces none. The rest waits in the session's queue
/// and goes out as acknowledgements come in [MQTT-4.9.0-1 .. 3 for v5].
#[tokio::test]
async fn max_inflight_bounds_unacknowledged_messages_to_a_client_in_both_versions() {
    let broker = start_with(|s| s.limits.max_inflight = 5).await;
    for level in [4u8, 5] {
        let topic = format!("window/{level}");
        let mut sub = connected(&broker, level, &format!("window-sub-{level}")).await;
        sub.send(&subscribe(level, 1, &[(&topic, 1)])).await;
        sub.next_of(9).await;
        publish_qos1(&broker, &topic, 12).await;
        let first = received_qos1(&mut sub).await;
        assert_eq!(
            first.len(),
            5,
            "level {level}: 5 in flight at most, the other 7 wait"
        );
        // Each PUBACK lets one more out.
        for (i, (id, _)) in first.iter().take(3).enumerate() {
            sub.send(&ack(0x40, *id)).await;
            let more = received_qos1(&mut sub).await;
            assert_eq!(more.len(), 1, "level {level}: after PUBACK {}", i + 1);
        }
    }
    broker.stop().await;
}
