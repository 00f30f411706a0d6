//! Quality of service: QoS 0/1/2 delivery, QoS downgrade, exactly-once, the QoS 2 handshake on the
//! wire, outgoing packet ids and overlapping subscriptions.

use std::collections::HashSet;

use super::common::*;
use super::versions::both_versions;

// ---- QoS 0/1/2 delivery -----------------------------------------------------------------------

/// Publishes at `qos` to a subscriber at `qos` and checks the message and the publisher's acks.
async fn v311_delivery_at(qos: v3::QoS, tag: &str) {
    let broker = start().await;
    let mut sub = v3::connect(&broker, &format!("qos-{tag}-sub")).await;
    sub.subscribe("qos/deliver", qos).await;
    let mut publisher = v3::connect(&broker, &format!("qos-{tag}-pub")).await;
    publisher
        .client
        .publish("qos/deliver", qos, false, tag.as_bytes().to_vec())
        .await
        .unwrap();
    let p = sub.publish().await;
    assert_eq!(p.topic, "qos/deliver");
    assert_eq!(&p.payload[..], tag.as_bytes());
    assert_eq!(p.qos, qos);
    assert!(!p.dup);
    match qos {
        v3::QoS::AtMostOnce => assert_eq!(p.pkid, 0),
        v3::QoS::AtLeastOnce => {
            assert_ne!(p.pkid, 0);
            publisher
                .next(|p| matches!(p, v3::Packet::PubAck(_)).then_some(()))
                .await;
        }
        v3::QoS::ExactlyOnce => {
            assert_ne!(p.pkid, 0);
            publisher
                .next(|p| matches!(p, v3::Packet::PubRec(_)).then_some(()))
                .await;
            publisher
                .next(|p| matches!(p, v3::Packet::PubComp(_)).then_some(()))
                .await;
        }
    }
    sub.no_publish().await;
}

async fn v5_delivery_at(qos: v5::QoS, tag: &str) {
    let broker = start().await;
    let mut sub = v5::connect(&broker, &format!("qos5-{tag}-sub")).await;
    sub.subscribe("qos/deliver", qos).await;
    let mut publisher = v5::connect(&broker, &format!("qos5-{tag}-pub")).await;
    publisher
        .client
        .publish("qos/deliver", qos, false, tag.as_bytes().to_vec())
        .await
        .unwrap();
    let p = sub.publish().await;
    assert_eq!(&p.topic[..], b"qos/deliver");
    assert_eq!(&p.payload[..], tag.as_bytes());
    assert_eq!(p.qos, qos);
    assert!(!p.dup);
    match qos {
        v5::QoS::AtMostOnce => assert_eq!(p.pkid, 0),
        v5::QoS::AtLeastOnce => {
            assert_ne!(p.pkid, 0);
            publisher
                .next(|p| matches!(p, v5::Packet::PubAck(_)).then_some(()))
                .await;
        }
        v5::QoS::ExactlyOnce => {
            assert_ne!(p.pkid, 0);
            publisher
                .next(|p| matches!(p, v5::Packet::PubRec(_)).then_some(()))
                .await;
            publisher
                .next(|p| matches!(p, v5::Packet::PubComp(_)).then_some(()))
                .await;
        }
    }
    sub.no_publish().await;
}

// [MQTT-4.3.1-1] QoS 0: delivered at most once, no packet id, no acknowledgement.
// 3.1.1: DUP 0 [MQTT-3.3.1-2] and no packet id [MQTT-2.3.1-5].
#[tokio::test]
async fn qos0_delivery_v311() {
    v311_delivery_at(v3::QoS::AtMostOnce, "q0").await;
}

// [MQTT-4.3.2-1] QoS 1: PUBLISH with a packet id, acknowledged by PUBACK.
// The publisher gets its PUBACK [MQTT-4.3.2-2], as the QoS asks [MQTT-3.3.4-1].
#[tokio::test]
async fn qos1_delivery_v311() {
    v311_delivery_at(v3::QoS::AtLeastOnce, "q1").await;
}

// [MQTT-4.3.3-1] QoS 2: PUBLISH, PUBREC, PUBREL, PUBCOMP.
// [MQTT-3.3.4-1] the publisher gets PUBREC, then PUBCOMP.
#[tokio::test]
async fn qos2_delivery_v311() {
    v311_delivery_at(v3::QoS::ExactlyOnce, "q2").await;
}

// v5 [MQTT-4.3.1-1]: DUP 0 [MQTT-3.3.1-2] and no packet id [MQTT-2.2.1-2].
#[tokio::test]
async fn qos0_delivery_v5() {
    v5_delivery_at(v5::QoS::AtMostOnce, "q0").await;
}

// v5 [MQTT-4.3.2-2]: QoS 1 and DUP 0; the publisher gets PUBACK [MQTT-4.3.2-4], as the QoS asks
// [MQTT-3.3.4-1].
#[tokio::test]
async fn qos1_delivery_v5() {
    v5_delivery_at(v5::QoS::AtLeastOnce, "q1").await;
}

// v5 [MQTT-3.3.4-1]: the publisher gets PUBREC, then PUBCOMP.
#[tokio::test]
async fn qos2_delivery_v5() {
    v5_delivery_at(v5::QoS::ExactlyOnce, "q2").await;
}

// ---- delivered QoS = min(published, granted) ---------------------------------------------------

// [MQTT-3.8.4-6] (3.1.1) / [MQTT-3.8.4-8] (v5): the QoS of a delivered message is the minimum of
// the published QoS and the granted subscription QoS.
#[tokio::test]
async fn delivered_qos_is_min_of_published_and_subscribed_v311() {
    use v3::QoS::*;
    let broker = start().await;
    let levels = [AtMostOnce, AtLeastOnce, ExactlyOnce];
    let mut subs = Vec::new();
    for (i, q) in levels.iter().enumerate() {
        let mut s = v3::connect(&broker, &format!("minq-sub{i}")).await;
        s.subscribe("minq/t", *q).await;
        subs.push(s);
    }
    let mut publisher = v3::connect(&broker, "minq-pub").await;
    for (i, published) in levels.iter().enumerate() {
        publisher
            .publish_acked("minq/t", *published, false, &[i as u8])
            .await;
        for (j, sub) in subs.iter_mut().enumerate() {
            let p = sub.publish().await;
            assert_eq!(&p.payload[..], &[i as u8]);
            let expected = levels[i.min(j)];
            assert_eq!(
                p.qos, expected,
                "published {published:?} to subscription {:?}",
                levels[j]
            );
        }
    }
}

#[tokio::test]
async fn delivered_qos_is_min_of_published_and_subscribed_v5() {
    use v5::QoS::*;
    let broker = start().await;
    let levels = [AtMostOnce, AtLeastOnce, ExactlyOnce];
    let mut subs = Vec::new();
    for (i, q) in levels.iter().enumerate() {
        let mut s = v5::connect(&broker, &format!("minq5-sub{i}")).await;
        s.subscribe("minq/t", *q).await;
        subs.push(s);
    }
    let mut publisher = v5::connect(&broker, "minq5-pub").await;
    for (i, published) in levels.iter().enumerate() {
        publisher
            .publish_acked("minq/t", *published, false, &[i as u8])
            .await;
        for (j, sub) in subs.iter_mut().enumerate() {
            let p = sub.publish().await;
            assert_eq!(&p.payload[..], &[i as u8]);
            let expected = levels[i.min(j)];
            assert_eq!(
                p.qos, expected,
                "published {published:?} to subscription {:?}",
                levels[j]
            );
        }
    }
}

// ---- exactly once: a retransmitted QoS 2 PUBLISH is delivered once -----------------------------

/// A raw publisher sends a QoS 2 PUBLISH, retransmits it with DUP before PUBREL, then completes
/// the handshake; the subscriber sees the message once.
async fn qos2_retransmit_delivered_once(level: u8) {
    let broker = start().await;
    let tag = format!("eo{level}");
    let mut sub = v3::connect(&broker, &format!("{tag}-sub")).await;
    sub.subscribe("eo/t", v3::QoS::ExactlyOnce).await;
    let mut raw = raw_connected(&broker, level, &format!("{tag}-pub")).await;

    raw.send(&publish_packet(level, "eo/t", 2, 7, b"once", false, false))
        .await;
    let pubrec = raw.packet().await.expect("PUBREC");
    assert_eq!(pubrec[0], 0x50, "PUBREC expected: {pubrec:?}");
    assert_eq!(&pubrec[2..4], &[0, 7]);

    // [MQTT-4.3.3-2] (3.1.1): until PUBREL, a PUBLISH with the same id is acknowledged with
    // PUBREC again and MUST NOT cause a duplicate delivery.
    raw.send(&publish_packet(level, "eo/t", 2, 7, b"once", true, false))
        .await;
    let pubrec = raw.packet().await.expect("second PUBREC");
    assert_eq!(pubrec[0], 0x50, "PUBREC expected: {pubrec:?}");
    assert_eq!(&pubrec[2..4], &[0, 7]);

    raw.send(&ack_packet(0x62, 7)).await;
    let pubcomp = raw.packet().await.expect("PUBCOMP");
    assert_eq!(pubcomp[0], 0x70, "PUBCOMP expected: {pubcomp:?}");
    assert_eq!(&pubcomp[2..4], &[0, 7]);

    let p = sub.publish().await;
    assert_eq!(&p.payload[..], b"once");
    sub.no_publish().await;
}

// [MQTT-4.3.3-2] (3.1.1) exactly once: no duplicate after a DUP retransmission before PUBREL.
// PUBREC and PUBCOMP carry the PUBLISH's packet id [MQTT-2.3.1-6].
// MQTT 5 §4.3.3: the same exactly-once receiver rules.
// [MQTT-4.3.3-8] PUBREC, [MQTT-4.3.3-10] PUBREC again and one delivery, [MQTT-4.3.3-11] PUBCOMP,
// each with the PUBLISH's packet id [MQTT-2.2.1-5].
both_versions! {
    #[tokio::test]
    async fn qos2_retransmitted_publish_delivered_once_v311,
        qos2_retransmitted_publish_delivered_once_v5(level = 4, 5) {
        qos2_retransmit_delivered_once(level).await;
    }
}

// ---- the outgoing QoS 2 handshake on the wire ---------------------------------------------------

/// The broker sends a QoS 2 PUBLISH to a raw subscriber; after PUBREC it must send PUBREL (header
/// 0x62) with the same packet id, and after PUBCOMP the message is done (no resend).
async fn qos2_outgoing_handshake(level: u8) {
    let broker = start().await;
    let tag = format!("hs{level}");
    let mut raw = raw_connected(&broker, level, &format!("{tag}-sub")).await;
    let suback = raw.subscribe(level, 1, "hs/t", 2).await;
    assert_eq!(*suback.last().unwrap(), 2, "granted QoS 2: {suback:?}");
    let mut publisher = v3::connect(&broker, &format!("{tag}-pub")).await;
    publisher
        .publish_acked("hs/t", v3::QoS::ExactlyOnce, false, b"two")
        .await;

    let packet = raw.packet().await.expect("PUBLISH");
    let p = parse_publish(level, &packet);
    assert_eq!(p.qos, 2);
    assert!(!p.dup);
    assert_eq!(p.payload, b"two");
    assert_ne!(p.packet_id, 0);

    raw.send(&ack_packet(0x50, p.packet_id)).await;
    let pubrel = raw.packet().await.expect("PUBREL");
    // [MQTT-3.6.1-1] PUBREL fixed header flags are 0010.
    assert_eq!(pubrel[0], 0x62, "PUBREL expected: {pubrel:?}");
    assert_eq!(&pubrel[2..4], &p.packet_id.to_be_bytes());

    raw.send(&ack_packet(0x70, p.packet_id)).await;
    // Completed: nothing more for this message.
    assert_eq!(raw.packet_within(QUIET).await, None);
}

// [MQTT-4.3.3-1] the sender sends PUBREL with the same packet id after PUBREC.
// 3.1.1: the PUBREL has the PUBLISH's packet id [MQTT-2.3.1-6] and its reserved flags 0010 [MQTT-2.2.2-1].
// v5 [MQTT-4.3.3-2] QoS 2 and DUP 0, [MQTT-4.3.3-4] PUBREL after PUBREC, its reserved flags 0010
// [MQTT-2.1.3-1].
both_versions! {
    #[tokio::test]
    async fn qos2_pubrec_pubrel_pubcomp_on_the_wire_v311,
        qos2_pubrec_pubrel_pubcomp_on_the_wire_v5(level = 4, 5) {
        qos2_outgoing_handshake(level).await;
    }
}

// ---- outgoing packet ids ------------------------------------------------------------------------

/// A raw subscriber that never acknowledges gets several QoS 1 messages in flight at once.
async fn outgoing_packet_ids_distinct(level: u8) {
    let broker = start().await;
    let tag = format!("pid{level}");
    let mut raw = raw_connected(&broker, level, &format!("{tag}-sub")).await;
    raw.subscribe(level, 1, "pid/t", 1).await;
    let mut publisher = v3::connect(&broker, &format!("{tag}-pub")).await;
    const N: u8 = 10;
    for i in 0..N {
        publisher
            .publish_acked("pid/t", v3::QoS::AtLeastOnce, false, &[i])
            .await;
    }
    let mut ids = HashSet::new();
    let mut payloads = Vec::new();
    for _ in 0..N {
        let p = parse_publish(level, &raw.packet().await.expect("PUBLISH"));
        assert_eq!(p.qos, 1);
        assert_ne!(p.packet_id, 0, "packet id 0 on a QoS 1 PUBLISH");
        assert!(
            ids.insert(p.packet_id),
            "packet id {} reused while in flight",
            p.packet_id
        );
        payloads.push(p.payload[0]);
    }
    assert_eq!(payloads, (0..N).collect::<Vec<_>>(), "in order");
}

// [MQTT-2.3.1-1] QoS > 0 PUBLISH carries a non-zero packet id; a new one uses a currently unused
// id, [MQTT-2.3.1-4] for the server (v5: [MQTT-2.2.1-4]).
// v5 [MQTT-2.2.1-4], [MQTT-4.3.2-1], [MQTT-4.3.3-1].
both_versions! {
    #[tokio::test]
    async fn outgoing_packet_ids_nonzero_and_distinct_v311,
        outgoing_packet_ids_nonzero_and_distinct_v5(level = 4, 5) {
        outgoing_packet_ids_distinct(level).await;
    }
}

// ---- overlapping subscriptions ------------------------------------------------------------------

// [MQTT-3.3.5-1] (3.1.1) / [MQTT-3.3.4-2] (v5): overlapping subscriptions are delivered respecting
// the maximum QoS of all matching subscriptions; this broker sends one copy (issue 2).
#[tokio::test]
async fn overlapping_subscriptions_deliver_one_copy_at_highest_qos_v311() {
    let broker = start().await;
    let mut sub = v3::connect(&broker, "ovl-sub").await;
    sub.subscribe("a/#", v3::QoS::AtMostOnce).await;
    sub.subscribe("a/+", v3::QoS::ExactlyOnce).await;
    let mut publisher = v3::connect(&broker, "ovl-pub").await;
    publisher
        .publish_acked("a/b", v3::QoS::ExactlyOnce, false, b"ovl")
        .await;
    let got = sub.publishes_until_quiet().await;
    assert_eq!(got.len(), 1, "one copy expected, got {got:?}");
    assert_eq!(got[0].qos, v3::QoS::ExactlyOnce);
    assert_eq!(&got[0].payload[..], b"ovl");
}

#[tokio::test]
async fn overlapping_subscriptions_deliver_one_copy_at_highest_qos_v5() {
    let broker = start().await;
    let mut sub = v5::connect(&broker, "ovl5-sub").await;
    sub.subscribe("a/#", v5::QoS::AtMostOnce).await;
    sub.subscribe("a/+", v5::QoS::ExactlyOnce).await;
    let mut publisher = v5::connect(&broker, "ovl5-pub").await;
    publisher
        .publish_acked("a/b", v5::QoS::ExactlyOnce, false, b"ovl")
        .await;
    let got = sub.publishes_until_quiet().await;
    assert_eq!(got.len(), 1, "one copy expected, got {got:?}");
    assert_eq!(got[0].qos, v5::QoS::ExactlyOnce);
    assert_eq!(&got[0].payload[..], b"ovl");
}
