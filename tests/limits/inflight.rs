//! `max_inflight` is the Receive Maximum announced to v5 clients, which they must not exceed
//! [MQTT-3.3.4-7]: a client with more QoS 2 messages awaiting PUBREL than that is disconnected
//! with 0x93, receive maximum exceeded (MQTT 5 §3.2.2.3.3), and counted
//! (`limits/inflight_exceeded`).

use crate::common::*;

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
