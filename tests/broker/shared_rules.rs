//! v5 shared subscriptions at the byte level: which `$share/` filters are valid, the QoS each
//! member was granted, and what happens to a message in flight to a member that disconnects,
//! ends its session or refuses it.

use std::net::SocketAddr;

use super::common::start;
use super::wire::*;

const V5: Level = Level::V5;

fn persistent(id: &str) -> Connect {
    let mut c = Connect::v5(id);
    c.clean_start = false;
    c.props = Props::new().u32(prop::SESSION_EXPIRY_INTERVAL, 600);
    c
}

async fn member(addr: SocketAddr, connect: &Connect, filter: &str, qos: u8) -> Raw {
    let (mut raw, _) = Raw::connected(addr, connect).await;
    raw.send(&subscribe(V5, 1, &[(filter, qos)])).await;
    let suback = raw.expect(kind::SUBACK).await;
    assert_eq!(suback.last(), Some(&qos), "granted {qos}: {suback:02x?}");
    raw
}

/// Publishes `payload` to `topic` at `qos` from its own client, the handshake completed.
async fn publish(addr: SocketAddr, topic: &str, qos: u8, payload: &[u8]) {
    super::delivery_rules::publish_from_elsewhere(addr, Level::V5, topic, qos, payload).await;
}

// v5 [MQTT-4.8.2-1]: a shared filter starts with $share/ and a ShareName of at least one
// character; [MQTT-4.8.2-2]: the ShareName has no '/', '+' or '#' and is followed by '/' and a
// Topic Filter. Any other is never a subscription: refused with SUBACK 0x8F, or, when the
// codec finds the filter itself broken, with DISCONNECT 0x8F.
#[tokio::test]
async fn shared_filters_need_a_share_name_and_a_filter_v5() {
    let broker = start().await;
    for bad in [
        "$share//a",
        "$share/g",
        "$share/g/",
        "$share/+/a",
        "$share/#/a",
        "$share/g+/a",
    ] {
        let (mut raw, _) = Raw::connected(broker.addr, &Connect::v5("filters")).await;
        raw.send(&subscribe(V5, 4, &[(bad, 1)])).await;
        let answer = raw.packet().await.expect("an answer");
        match split(&answer).expect("a whole packet") {
            (kind::SUBACK, body) => assert_eq!(body.last(), Some(&0x8F), "{bad}: {answer:02x?}"),
            (kind::DISCONNECT, body) => assert_eq!(body.first(), Some(&0x8F), "{bad}: {answer:02x?}"),
            _ => panic!("{bad}: {answer:02x?}"),
        }
    }
    for good in ["$share/g/a", "$share/g/+/#", "$share/g-1.x/a/b"] {
        member(broker.addr, &Connect::v5("filters"), good, 1).await;
    }
}

// v5 [MQTT-4.8.2-3]: each member gets the message at the QoS it was granted at most: QoS 2
// messages reach the QoS 0 member at QoS 0 and the QoS 2 member at QoS 2.
#[tokio::test]
async fn each_member_gets_its_own_granted_qos_v5() {
    let broker = start().await;
    let mut low = member(broker.addr, &Connect::v5("low"), "$share/q/qos/t", 0).await;
    let mut high = member(broker.addr, &Connect::v5("high"), "$share/q/qos/t", 2).await;
    for i in 0..6u8 {
        publish(broker.addr, "qos/t", 2, &[i]).await;
    }
    let low: Vec<u8> = publishes(&mut low).await.iter().map(|p| p.qos).collect();
    let high: Vec<u8> = publishes(&mut high).await.iter().map(|p| p.qos).collect();
    assert_eq!(
        low.len() + high.len(),
        6,
        "each message to one member: {low:?} {high:?}"
    );
    assert!(
        !low.is_empty() && !high.is_empty(),
        "both members take turns: {low:?} {high:?}"
    );
    assert!(low.iter().all(|q| *q == 0), "{low:?}");
    assert!(high.iter().all(|q| *q == 2), "{high:?}");
}

/// The PUBLISHes in what `raw` got before its PINGRESP.
async fn publishes(raw: &mut Raw) -> Vec<Incoming> {
    raw.before_pong()
        .await
        .iter()
        .map(|p| Incoming::parse(p, true).expect("a PUBLISH"))
        .collect()
}

// v5 [MQTT-4.8.2-4]: a QoS 1 message in flight to a member that disconnects is completed with
// that member when it reconnects, not given to another; [MQTT-4.8.2-5]: if that member's
// session ends instead, no other member gets it either.
#[tokio::test]
async fn a_message_in_flight_stays_with_its_member_v5() {
    let broker = start().await;
    for (id, resume) in [("resumer", true), ("quitter", false)] {
        let connect = persistent(id);
        let filter = format!("$share/{id}/flight/{id}");
        let topic = &filter[filter.len() - 7 - id.len()..];
        let first = member(broker.addr, &connect, &filter, 1).await;
        publish(broker.addr, topic, 1, b"in flight").await;
        let mut first = first;
        let sent = first.publish(V5).await;
        drop(first);
        let mut other = member(broker.addr, &Connect::v5(&format!("{id}-other")), &filter, 1).await;
        if resume {
            let (mut again, _) = Raw::connected(broker.addr, &connect).await;
            let resent = again.publish(V5).await;
            assert_eq!((resent.dup, resent.packet_id), (true, sent.packet_id));
            again.send(&ack(kind::PUBACK, resent.packet_id)).await;
            again.ping().await;
        } else {
            // Clean Start 1: the session that held the message ends.
            let (mut again, connack) = Raw::connected(broker.addr, &Connect::v5(id)).await;
            assert_eq!(connack.flags, 0);
            assert!(publishes(&mut again).await.is_empty());
        }
        assert!(
            publishes(&mut other).await.is_empty(),
            "{id}: another member got it"
        );
    }
}

// v5 [MQTT-4.8.2-6]: a PUBACK or PUBREC with a reason of 0x80 or more from a member ends the
// message there: it is not sent to another member, nor again to that one.
#[tokio::test]
async fn a_refused_message_is_not_given_to_another_member_v5() {
    let broker = start().await;
    for qos in [1u8, 2] {
        let filter = format!("$share/refuse/refuse/{qos}");
        let topic = &filter["$share/refuse/".len()..];
        let connect = Connect::v5(&format!("refuser-{qos}"));
        let mut first = member(broker.addr, &connect, &filter, qos).await;
        publish(broker.addr, topic, qos, b"refused").await;
        let got = first.publish(V5).await;
        let mut other = member(broker.addr, &Connect::v5(&format!("other-{qos}")), &filter, qos).await;
        let header = if qos == 1 { kind::PUBACK } else { kind::PUBREC };
        first
            .send(&ack_v5(header, got.packet_id, 0x80, &Props::new()))
            .await;
        assert!(publishes(&mut first).await.is_empty(), "QoS {qos}: sent again");
        assert!(
            publishes(&mut other).await.is_empty(),
            "QoS {qos}: another member got it"
        );
    }
}
