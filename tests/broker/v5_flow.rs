//! v5 flow control and size limits: Receive Maximum both ways, Maximum Packet Size both ways,
//! and the PUBACK reason for a message nobody subscribes to.

use robustmq::server::metrics::get;
use rumqttc::v5::mqttbytes::v5::PubAckReason;

use super::common::*;

// [MQTT-3.3.4-9] the server sends no more than the client's Receive Maximum QoS 1/2 PUBLISH
// packets unacknowledged; the rest follow as PUBACKs come in.
// [MQTT-4.9.0-1] the send quota starts at the Receive Maximum; [MQTT-4.9.0-2] at zero nothing goes
// at QoS > 0; [MQTT-4.9.0-3] a PINGREQ is still answered.
#[tokio::test]
async fn server_respects_client_receive_maximum() {
    let broker = start().await;
    let mut sub = raw_connected_v5(&broker, "rm-sub", &prop::u16(prop::RECEIVE_MAXIMUM, 2)).await;
    sub.send(&subscribe_v5(1, None, &[("rm/t", 1)])).await;
    sub.next_of(9).await;

    let mut publisher = v5::connect(&broker, "rm-pub").await;
    for i in 0..5u8 {
        publisher
            .publish_acked("rm/t", v5::QoS::AtLeastOnce, false, &[b'0' + i])
            .await;
    }

    let mut received = Vec::new();
    for batch in [2, 2, 1] {
        let mut ids = Vec::new();
        for _ in 0..batch {
            let p = sub.next_publish_v5().await;
            assert_eq!(p.qos, 1);
            received.push(p.payload[0]);
            ids.push(p.packet_id);
        }
        // The window is full (or the queue empty): nothing more until PUBACKs.
        assert_eq!(
            sub.packet_within(QUIET).await,
            None,
            "more than Receive Maximum (2) unacknowledged PUBLISH packets"
        );
        // [MQTT-3.3.4-10] other packets are not held back by the full window.
        sub.send(&[0xC0, 0x00]).await;
        assert_eq!(sub.packet().await, Some(vec![0xD0, 0x00]), "PINGRESP");
        for id in ids {
            sub.send(&ack_packet(0x40, id)).await;
        }
    }
    assert_eq!(received, b"01234");
}

// [MQTT-3.3.4-7] a client that sends more QoS 2 PUBLISH packets than the server's Receive
// Maximum (`limits.max_inflight`) without completing them gets DISCONNECT 0x93.
// [MQTT-4.13.2-1] the connection ends with the DISCONNECT.
#[tokio::test]
async fn client_exceeding_receive_maximum_gets_disconnect_0x93() {
    let broker = start_with(|s| s.limits.max_inflight = 2).await;
    let mut raw = raw_connected_v5(&broker, "rm-flood", &[]).await;
    for id in 1..=3u16 {
        raw.send(&publish_v5("rm/flood", 2, id, &[], b"x")).await;
    }
    assert_eq!(raw.disconnect_reason().await, 0x93);
}

// [MQTT-3.1.2-24] the server sends no packet larger than the client's Maximum Packet Size;
// [MQTT-3.1.2-25] it discards such a message and carries on with the next one.
#[tokio::test]
async fn client_maximum_packet_size_is_respected() {
    let broker = start().await;
    let mut options = v5::options(&broker, "mps-sub");
    options.set_max_packet_size(Some(100));
    let (mut sub, _) = v5::connect_with(options).await;
    sub.subscribe("mps/t", v5::QoS::AtLeastOnce).await;
    let mut publisher = v5::connect(&broker, "mps-pub").await;
    let dropped = || get(&broker.server().broker().metrics.publish_dropped);
    let dropped_before = dropped();

    publisher
        .publish_acked("mps/t", v5::QoS::AtLeastOnce, false, &[b'L'; 500])
        .await;
    publisher
        .publish_acked("mps/t", v5::QoS::AtLeastOnce, false, &[b's'; 20])
        .await;

    // rumqttc closes the connection on a packet above 100 bytes, so this also checks that
    // none was sent.
    let p = sub.publish().await;
    assert_eq!(&p.payload[..], &[b's'; 20]);
    sub.no_publish().await;
    assert_eq!(dropped(), dropped_before + 1, "publish_dropped counts it");
}

// [MQTT-3.2.2-15] / §4.13: a packet above the server's Maximum Packet Size
// (`limits.max_packet_size`) gets DISCONNECT 0x95; other clients carry on.
#[tokio::test]
async fn packet_above_max_packet_size_gets_disconnect_0x95() {
    let broker = start_with(|s| s.limits.max_packet_size = 1024).await;
    let mut sub = v5::connect(&broker, "big-sub").await;
    sub.subscribe("big/#", v5::QoS::AtLeastOnce).await;
    let mut publisher = v5::connect(&broker, "big-pub").await;

    let mut raw = raw_connected_v5(&broker, "big-raw", &[]).await;
    raw.send(&publish_v5("big/t", 1, 1, &[], &[0u8; 2000])).await;
    assert_eq!(raw.disconnect_reason().await, 0x95);

    publisher
        .publish_acked("big/t", v5::QoS::AtLeastOnce, false, b"still here")
        .await;
    let p = sub.publish().await;
    assert_eq!(&p.payload[..], b"still here");
    sub.no_publish().await;
}

// §3.4.2.1: PUBACK reason 0x10 (no matching subscribers) when nobody subscribes to the topic,
// 0x00 when somebody does.
// [MQTT-3.4.2-1] both are PUBACK Reason Codes.
#[tokio::test]
async fn puback_reason_0x10_when_no_subscribers() {
    let broker = start().await;
    let mut publisher = v5::connect(&broker, "nms-pub").await;
    let puback = |p| match p {
        v5::Packet::PubAck(a) => Some(a.reason),
        _ => None,
    };
    publisher
        .client
        .publish("nms/nobody", v5::QoS::AtLeastOnce, false, "x")
        .await
        .unwrap();
    assert_eq!(publisher.next(puback).await, PubAckReason::NoMatchingSubscribers);

    let mut sub = v5::connect(&broker, "nms-sub").await;
    sub.subscribe("nms/somebody", v5::QoS::AtLeastOnce).await;
    publisher
        .client
        .publish("nms/somebody", v5::QoS::AtLeastOnce, false, "x")
        .await
        .unwrap();
    assert_eq!(publisher.next(puback).await, PubAckReason::Success);
}
