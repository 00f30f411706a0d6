//! The QoS 1 and QoS 2 handshakes at the byte level, in 3.1.1 and 5.0: packet identifiers free
//! again once a handshake ends, DUP set only on a retransmission, what a QoS 2 sender re-sends
//! after a reconnect, failed acknowledgements that still end a delivery, and UNSUBSCRIBE while
//! deliveries are in flight.

use std::net::SocketAddr;

use super::common::start;
use super::versions::both_versions;
use super::wire::*;

/// A CONNECT whose session outlives the connection: CleanSession 0 (v5: Clean Start 0 and a
/// Session Expiry Interval).
fn persistent(level: Level, id: &str) -> Connect {
    let mut c = Connect::new(level, id.as_bytes());
    c.clean_start = false;
    if level.v5() {
        c.props = Props::new().u32(prop::SESSION_EXPIRY_INTERVAL, 600);
    }
    c
}

async fn subscribed(addr: SocketAddr, connect: &Connect, filters: &[(&str, u8)]) -> Raw {
    let (mut raw, _) = Raw::connected(addr, connect).await;
    raw.send(&subscribe(connect.level, 1, filters)).await;
    raw.expect(kind::SUBACK).await;
    raw
}

/// Payloads `raw` receives until (and without) `last`.
async fn payloads_until(raw: &mut Raw, level: Level, last: &[u8]) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    loop {
        let p = raw.publish(level).await.payload;
        if p == last {
            return got;
        }
        got.push(p);
    }
}

async fn identifiers_free_again(level: Level) {
    let broker = start().await;
    let mut watcher = subscribed(broker.addr, &Connect::new(level, b"watcher"), &[("ids/#", 0)]).await;
    let (mut p, _) = Raw::connected(broker.addr, &Connect::new(level, b"publisher")).await;
    let qos1 = |payload: &[u8], dup: bool| {
        let mut publish = Publish::new(level, "ids/1", payload).qos(1, 7);
        publish.dup = dup;
        publish.bytes()
    };
    // 3.1.1 [MQTT-4.3.2-2], v5 [MQTT-4.3.2-5]: after the PUBACK, the same identifier is a new
    // message, DUP or not.
    for (payload, dup) in [(&b"one"[..], false), (b"two", false), (b"three", true)] {
        p.send(&qos1(payload, dup)).await;
        assert_eq!(p.expect(kind::PUBACK).await[2..4], 7u16.to_be_bytes());
    }
    // 3.1.1 [MQTT-4.3.3-2], v5 [MQTT-4.3.3-12]: after the PUBCOMP, the same identifier is a new
    // message.
    for payload in [&b"four"[..], b"five"] {
        p.send(&Publish::new(level, "ids/2", payload).qos(2, 9).bytes())
            .await;
        p.expect(kind::PUBREC).await;
        p.send(&ack(kind::PUBREL, 9)).await;
        p.expect(kind::PUBCOMP).await;
    }
    if level.v5() {
        // v5 [MQTT-4.3.3-9]: after a PUBREC of 0x80 or more (0x87: $SYS is the broker's), the
        // same identifier is a new message.
        p.send(&Publish::new(level, "$SYS/mine", b"refused").qos(2, 11).bytes())
            .await;
        let (_, body) = split(&p.expect(kind::PUBREC).await)
            .map(|(h, b)| (h, b.to_vec()))
            .unwrap();
        assert_eq!(body[2], 0x87);
        p.send(&Publish::new(level, "ids/3", b"six").qos(2, 11).bytes())
            .await;
        let (_, body) = split(&p.expect(kind::PUBREC).await)
            .map(|(h, b)| (h, b.to_vec()))
            .unwrap();
        assert!(
            body.len() == 2 || body[2] < 0x80,
            "a new message, accepted: {body:02x?}"
        );
        p.send(&ack(kind::PUBREL, 11)).await;
        p.expect(kind::PUBCOMP).await;
    }
    p.send(&Publish::new(level, "ids/end", b"end").bytes()).await;
    let mut want: Vec<&[u8]> = vec![b"one", b"two", b"three", b"four", b"five"];
    if level.v5() {
        want.push(b"six");
    }
    assert_eq!(payloads_until(&mut watcher, level, b"end").await, want);
}

both_versions! {
    #[tokio::test]
    async fn packet_identifiers_are_new_again_after_the_handshake_v311,
        packet_identifiers_are_new_again_after_the_handshake_v5(level = Level::V311, Level::V5) {
        identifiers_free_again(level).await;
    }
}

async fn outgoing_dup(level: Level) {
    let broker = start().await;
    let connect = persistent(level, "dup-sub");
    let subscriber = subscribed(broker.addr, &connect, &[("dup/t", 1)]).await;
    let (mut p, _) = Raw::connected(broker.addr, &Connect::new(level, b"dup-pub")).await;
    let mut publish = Publish::new(level, "dup/t", b"m").qos(1, 3);
    publish.dup = true;
    p.send(&publish.bytes()).await;
    p.expect(kind::PUBACK).await;
    let mut subscriber = subscriber;
    // 3.1.1 and v5 [MQTT-3.3.1-3]: the incoming DUP is not passed on; the first sending is not a
    // retransmission.
    let first = subscriber.publish(level).await;
    assert!(!first.dup, "{first:?}");
    drop(subscriber);
    // Unacknowledged: it is sent again on the resumed session, now as a retransmission.
    let (mut again, connack) = Raw::connected(broker.addr, &connect).await;
    assert_eq!(connack.flags, 1);
    let second = again.publish(level).await;
    assert!(second.dup, "{second:?}");
    assert_eq!(second.packet_id, first.packet_id);
    again.send(&ack(kind::PUBACK, second.packet_id)).await;
    again.ping().await;
}

both_versions! {
    #[tokio::test]
    async fn outgoing_dup_marks_only_retransmissions_v311,
        outgoing_dup_marks_only_retransmissions_v5(level = Level::V311, Level::V5) {
        outgoing_dup(level).await;
    }
}

/// Publishes `payload` to `topic` at `qos` from a client of its own.
pub async fn publish_from_elsewhere(addr: SocketAddr, level: Level, topic: &str, qos: u8, payload: &[u8]) {
    let (mut p, _) = Raw::connected(addr, &Connect::new(level, b"elsewhere")).await;
    p.send(&Publish::new(level, topic, payload).qos(qos, 1).bytes())
        .await;
    match qos {
        1 => {
            p.expect(kind::PUBACK).await;
        }
        2 => {
            p.expect(kind::PUBREC).await;
            p.send(&ack(kind::PUBREL, 1)).await;
            p.expect(kind::PUBCOMP).await;
        }
        _ => p.ping().await,
    }
}

// v5 [MQTT-4.3.3-3]: the QoS 2 PUBLISH stays unacknowledged until PUBREC (sent again on the
// resumed session); [MQTT-4.3.3-5]: the PUBREL until PUBCOMP (sent again, too);
// [MQTT-4.3.3-6]: once PUBREL went, the PUBLISH is never sent again.
#[tokio::test]
async fn qos2_sender_resends_what_is_unacknowledged_and_nothing_else_v5() {
    let broker = start().await;
    let level = Level::V5;
    let connect = persistent(level, "q2-sub");
    let mut s = subscribed(broker.addr, &connect, &[("q2/t", 2)]).await;
    publish_from_elsewhere(broker.addr, level, "q2/t", 2, b"exactly once").await;
    let first = s.publish(level).await;
    assert_eq!((first.qos, first.dup), (2, false));
    drop(s);

    let (mut s, _) = Raw::connected(broker.addr, &connect).await;
    let again = s.publish(level).await;
    assert_eq!(
        (again.qos, again.dup, again.packet_id),
        (2, true, first.packet_id)
    );
    s.send(&ack(kind::PUBREC, first.packet_id)).await;
    assert_eq!(s.expect(kind::PUBREL).await[2..4], first.packet_id.to_be_bytes());
    drop(s);

    let (mut s, _) = Raw::connected(broker.addr, &connect).await;
    let seen = s.before_pong().await;
    assert_eq!(seen.len(), 1, "only the PUBREL again: {seen:02x?}");
    assert_eq!(seen[0][0], kind::PUBREL);
    assert_eq!(seen[0][2..4], first.packet_id.to_be_bytes());
    s.send(&ack(kind::PUBCOMP, first.packet_id)).await;
    drop(s);

    let (mut s, _) = Raw::connected(broker.addr, &connect).await;
    assert_eq!(
        s.before_pong().await,
        Vec::<Vec<u8>>::new(),
        "the delivery is complete"
    );
}

// v5 [MQTT-4.4.0-2]: a PUBACK or PUBREC with a reason of 0x80 or more acknowledges the
// PUBLISH: it is not sent again, not even on the resumed session, and a refused QoS 2 message
// gets no PUBREL.
#[tokio::test]
async fn failed_acknowledgements_end_the_delivery_v5() {
    let broker = start().await;
    let level = Level::V5;
    let connect = persistent(level, "refuser");
    let mut s = subscribed(broker.addr, &connect, &[("refused/+", 2)]).await;
    publish_from_elsewhere(broker.addr, level, "refused/1", 1, b"q1").await;
    publish_from_elsewhere(broker.addr, level, "refused/2", 2, b"q2").await;
    for _ in 0..2 {
        let p = s.publish(level).await;
        let header = if p.qos == 1 { kind::PUBACK } else { kind::PUBREC };
        s.send(&ack_v5(header, p.packet_id, 0x80, &Props::new())).await;
    }
    assert_eq!(s.before_pong().await, Vec::<Vec<u8>>::new(), "no PUBREL");
    drop(s);
    let (mut s, connack) = Raw::connected(broker.addr, &connect).await;
    assert_eq!(connack.flags, 1);
    assert_eq!(s.before_pong().await, Vec::<Vec<u8>>::new(), "nothing sent again");
}

async fn unsubscribe_in_flight(level: Level) {
    let broker = start().await;
    let mut s = subscribed(
        broker.addr,
        &Connect::new(level, b"leaving"),
        &[("un/1", 1), ("un/2", 2)],
    )
    .await;
    publish_from_elsewhere(broker.addr, level, "un/1", 1, b"q1").await;
    publish_from_elsewhere(broker.addr, level, "un/2", 2, b"q2").await;
    let mut in_flight = [s.publish(level).await, s.publish(level).await];
    in_flight.sort_by_key(|p| p.qos);
    let [q1, q2] = in_flight;
    s.send(&unsubscribe(level, 5, &["un/1", "un/2"])).await;
    s.expect(kind::UNSUBACK).await;
    // 3.1.1 [MQTT-3.10.4-2], v5 [MQTT-3.10.4-2]: nothing new is added for those filters.
    publish_from_elsewhere(broker.addr, level, "un/1", 1, b"after").await;
    publish_from_elsewhere(broker.addr, level, "un/2", 2, b"after").await;
    // 3.1.1 [MQTT-3.10.4-3], v5 [MQTT-3.10.4-3]: the deliveries already started complete.
    s.send(&ack(kind::PUBACK, q1.packet_id)).await;
    s.send(&ack(kind::PUBREC, q2.packet_id)).await;
    assert_eq!(s.expect(kind::PUBREL).await[2..4], q2.packet_id.to_be_bytes());
    s.send(&ack(kind::PUBCOMP, q2.packet_id)).await;
    assert_eq!(
        s.before_pong().await,
        Vec::<Vec<u8>>::new(),
        "nothing after the UNSUBACK"
    );
}

both_versions! {
    #[tokio::test]
    async fn unsubscribe_stops_new_messages_and_completes_those_in_flight_v311,
        unsubscribe_stops_new_messages_and_completes_those_in_flight_v5(level = Level::V311, Level::V5) {
        unsubscribe_in_flight(level).await;
    }
}
