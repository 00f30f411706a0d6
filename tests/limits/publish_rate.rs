//! `max_publish_rate` and `max_publish_bytes_rate`: a client over its rate has the excess
//! dropped and counted (`limits/publish_rate_exceeded`). A v5 client hears it for QoS 1 and 2:
//! PUBACK/PUBREC 0x97, quota exceeded (0x96 is a DISCONNECT reason only; PUBACK and PUBREC
//! must use one of their own codes [MQTT-3.4.2-1], [MQTT-3.5.2-1]). QoS 0 messages and 3.1.1
//! clients get no word: 3.1.1 gets its usual acknowledgement [MQTT-3.3.5-2].
//!
//! With `publish_rate_action = "disconnect"` the first message over the rate ends the
//! connection instead: v5 DISCONNECT 0x96, message rate too high; 3.1.1 a bare close.
//!
//! The budget starts full and holds one second's worth, so the first message always passes;
//! the tests send bursts far over the rate, so that some are refused however slowly they run.

use super::common::*;

/// A v5 client subscribed at QoS 0 to `filter`.
async fn subscriber(broker: &TestBroker, id: &str, filter: &str) -> Raw {
    let mut raw = connected(broker, 5, id).await;
    raw.send(&subscribe(5, 1, &[(filter, 0)])).await;
    raw.next_of(9).await;
    raw
}

/// Sends `count` messages at QoS 1 or 2 without waiting, then reads their PUBACKs/PUBRECs.
async fn burst(raw: &mut Raw, level: u8, qos: u8, topic: &str, count: u16, payload: &[u8]) -> Vec<Ack> {
    for id in 1..=count {
        raw.send(&publish(level, topic, qos, id, &[], payload)).await;
    }
    let kind = if qos == 1 { 4 } else { 5 };
    let mut acks = Vec::new();
    for id in 1..=count {
        let ack = Ack::parse(&raw.next_of(kind).await);
        assert_eq!(ack.packet_id, id, "acknowledgements in order [MQTT-4.6.0-2]");
        acks.push(ack);
    }
    acks
}

/// The v5 acknowledgements: how many were refused with 0x97, after checking the first passed
/// and every other is either a success or 0x97 with a reason string naming the limit.
fn refused_v5(acks: &[Ack], limit: &str) -> u64 {
    assert_eq!(
        acks[0].reason, 0,
        "the first message fits the full budget: {acks:?}"
    );
    let mut refused = 0;
    for ack in acks {
        match ack.reason {
            0 => {}
            0x97 => {
                refused += 1;
                let why = ack.reason_string.as_deref().unwrap_or_default();
                assert!(why.contains(limit), "reason string {why:?}");
            }
            other => panic!("unexpected reason {other:#04x}: {acks:?}"),
        }
    }
    assert!(
        refused > 0,
        "a burst far over the rate, nothing refused: {acks:?}"
    );
    refused
}

#[tokio::test]
async fn v5_qos1_over_max_publish_rate_gets_quota_exceeded() {
    let broker = start_with(|s| s.limits.max_publish_rate = 1).await;
    let mut sub = subscriber(&broker, "rate-sub", "rate/#").await;
    let mut publisher = connected(&broker, 5, "rate-pub").await;
    let acks = burst(&mut publisher, 5, 1, "rate/q1", 20, b"m").await;
    let refused = refused_v5(&acks, "max_publish_rate");
    assert_eq!(broker.limits().publish_rate_exceeded, refused);
    // What was refused is not delivered.
    assert_eq!(publishes_until_quiet(&mut sub).await.len() as u64, 20 - refused);
    broker.stop().await;
}

#[tokio::test]
async fn v5_qos2_over_max_publish_rate_gets_quota_exceeded() {
    let broker = start_with(|s| s.limits.max_publish_rate = 1).await;
    let mut sub = subscriber(&broker, "rate2-sub", "rate/#").await;
    let mut publisher = connected(&broker, 5, "rate2-pub").await;
    let recs = burst(&mut publisher, 5, 2, "rate/q2", 20, b"m").await;
    let refused = refused_v5(&recs, "max_publish_rate");
    // The accepted ones complete as usual; a PUBREC of 0x80 or more ends the exchange
    // [MQTT-4.3.3-4], so only those get a PUBREL.
    for rec in recs.iter().filter(|r| r.reason == 0) {
        publisher.send(&ack(0x62, rec.packet_id)).await;
        let comp = Ack::parse(&publisher.next_of(7).await);
        assert_eq!((comp.packet_id, comp.reason), (rec.packet_id, 0));
    }
    assert_eq!(broker.limits().publish_rate_exceeded, refused);
    assert_eq!(publishes_until_quiet(&mut sub).await.len() as u64, 20 - refused);
    broker.stop().await;
}

// 3.1.1 cannot be told: the refused messages are acknowledged like the others and dropped.
#[tokio::test]
async fn v311_over_max_publish_rate_is_acknowledged_and_dropped() {
    let broker = start_with(|s| s.limits.max_publish_rate = 1).await;
    let mut sub = subscriber(&broker, "rate3-sub", "rate/#").await;
    let mut publisher = connected(&broker, 4, "rate3-pub").await;
    let acks = burst(&mut publisher, 4, 1, "rate/v3", 20, b"m").await;
    assert!(acks.iter().all(|a| a.reason == 0), "plain PUBACKs: {acks:?}");
    let delivered = publishes_until_quiet(&mut sub).await.len() as u64;
    assert!((1..20).contains(&delivered), "{delivered} of 20 delivered");
    assert_eq!(broker.limits().publish_rate_exceeded, 20 - delivered);
    broker.stop().await;
}

// QoS 0 has no acknowledgement to refuse: the excess is dropped silently, in both versions.
#[tokio::test]
async fn qos0_over_max_publish_rate_is_dropped() {
    let broker = start_with(|s| s.limits.max_publish_rate = 1).await;
    let mut sub = subscriber(&broker, "rate0-sub", "rate/#").await;
    let mut dropped = 0;
    for level in [4, 5] {
        let mut publisher = connected(&broker, level, &format!("rate0-pub-{level}")).await;
        for _ in 0..20 {
            publisher.send(&publish(level, "rate/q0", 0, 0, &[], b"m")).await;
        }
        publisher.sync().await;
        let delivered = publishes_until_quiet(&mut sub).await.len() as u64;
        assert!((1..20).contains(&delivered), "{delivered} of 20 delivered");
        dropped += 20 - delivered;
        // The publisher is still connected and served.
        publisher.sync().await;
    }
    assert_eq!(broker.limits().publish_rate_exceeded, dropped);
    broker.stop().await;
}

#[tokio::test]
async fn max_publish_bytes_rate_counts_payload_bytes() {
    let broker = start_with(|s| s.limits.max_publish_bytes_rate = 1000).await;
    let _sub = subscriber(&broker, "bytes-sub", "bytes/#").await;

    // 600 bytes per message at 1000 bytes per second: the first fits, the ones right after
    // do not; the message count alone is not limited.
    let mut publisher = connected(&broker, 5, "bytes-pub").await;
    let acks = burst(&mut publisher, 5, 1, "bytes/a", 10, &[b'x'; 600]).await;
    let refused = refused_v5(&acks, "max_publish_bytes_rate");

    // A message larger than the whole budget still gets through when the budget is full
    // (a new connection starts full), and is charged in full: what follows is refused.
    let mut big = connected(&broker, 5, "bytes-big").await;
    let mut acks = burst(&mut big, 5, 1, "bytes/big", 1, &[b'x'; 5000]).await;
    acks.extend(burst(&mut big, 5, 1, "bytes/big", 1, b"small").await);
    assert_eq!(acks[0].reason, 0, "{acks:?}");
    assert_eq!(
        acks[1].reason, 0x97,
        "5000 bytes at 1000/s leave no budget for seconds: {acks:?}"
    );
    assert_eq!(broker.limits().publish_rate_exceeded, refused + 1);
    broker.stop().await;
}

// The default is no publish rate limit at all.
#[tokio::test]
async fn by_default_publishing_is_not_rate_limited() {
    let broker = start_with(|_| {}).await;
    let _sub = subscriber(&broker, "free-sub", "free/#").await;
    let mut publisher = connected(&broker, 5, "free-pub").await;
    // Bursts of 100, the receive maximum the broker announces [MQTT-3.3.4-7].
    for _ in 0..20 {
        let acks = burst(&mut publisher, 5, 1, "free/t", 100, &[b'x'; 1000]).await;
        assert!(acks.iter().all(|a| a.reason == 0), "{acks:?}");
    }
    assert_eq!(broker.limits().publish_rate_exceeded, 0);
    broker.stop().await;
}

// ---- publish_rate_action = "disconnect" ------------------------------------------------------

fn disconnect_on_excess(s: &mut robustmq::config::Settings) {
    s.limits.max_publish_rate = 1;
    s.limits.publish_rate_action = robustmq::config::PublishRateAction::Disconnect;
}

/// v5: the first message over the rate ends the connection with DISCONNECT 0x96, message rate
/// too high (v5 section 3.14.2.1); what was accepted before is acknowledged and delivered,
/// the will is published because the connection did not end normally [MQTT-3.1.2-8].
#[tokio::test]
async fn v5_over_the_rate_with_disconnect_action_gets_disconnect_0x96() {
    let broker = start_with(disconnect_on_excess).await;
    let mut sub = subscriber(&broker, "kick-sub", "rate/#").await;
    let mut publisher = Raw::connect(broker.addr).await;
    publisher
        .send(&connect_packet(5, "kick-pub", 60, Some(("rate/will", b"gone"))))
        .await;
    publisher.next_of(2).await;
    for id in 1..=20 {
        publisher.send(&publish(5, "rate/k", 1, id, &[], b"m")).await;
    }
    let seen = publisher.expect_close().await;
    let (last, acks) = seen.split_last().expect("DISCONNECT before the close");
    assert_eq!(
        (last[0], last.get(2).copied()),
        (0xE0, Some(0x96)),
        "DISCONNECT 0x96 last: {seen:02x?}"
    );
    assert!(
        !acks.is_empty() && acks.iter().all(|a| a[0] == 0x40 && Ack::parse(a).reason == 0),
        "the messages within the rate are acknowledged as usual: {seen:02x?}"
    );
    let topics = publishes_until_quiet(&mut sub).await;
    let delivered = topics.iter().filter(|t| *t == "rate/k").count();
    assert_eq!(delivered, acks.len(), "{topics:?}");
    assert!(topics.iter().any(|t| t == "rate/will"), "the will: {topics:?}");
    assert_eq!(broker.limits().publish_rate_exceeded, 1);
    broker.stop().await;
}

/// 3.1.1 has no DISCONNECT from the server: the connection is closed, the will published.
#[tokio::test]
async fn v311_over_the_rate_with_disconnect_action_is_closed() {
    let broker = start_with(disconnect_on_excess).await;
    let mut sub = subscriber(&broker, "kick3-sub", "rate/#").await;
    let mut publisher = Raw::connect(broker.addr).await;
    publisher
        .send(&connect_packet(4, "kick3-pub", 60, Some(("rate/will3", b"gone"))))
        .await;
    publisher.next_of(2).await;
    for _ in 0..20 {
        publisher.send(&publish(4, "rate/k3", 0, 0, &[], b"m")).await;
    }
    let seen = publisher.expect_close().await;
    assert!(seen.is_empty(), "3.1.1 is closed without a word: {seen:02x?}");
    let topics = publishes_until_quiet(&mut sub).await;
    assert!(topics.iter().any(|t| t == "rate/will3"), "the will: {topics:?}");
    assert_eq!(broker.limits().publish_rate_exceeded, 1);
    broker.stop().await;
}

/// A QoS 2 message that ended the connection was not received, so sent again on the resumed
/// session it is accepted and delivered, not taken for a duplicate of one already routed
/// (which [MQTT-4.3.3-10] would acknowledge without delivering).
#[tokio::test]
async fn qos2_message_over_the_rate_is_delivered_when_sent_again_after_reconnect() {
    let broker = start_with(disconnect_on_excess).await;
    let mut sub = subscriber(&broker, "kick2-sub", "rate/#").await;
    let mut publisher = Raw::connect(broker.addr).await;
    publisher.send(&persistent_connect(5, "kick2-pub")).await;
    publisher.next_of(2).await;
    publisher.send(&publish(5, "rate/q2", 2, 1, &[], b"first")).await;
    let rec = Ack::parse(&publisher.next_of(5).await);
    assert_eq!((rec.packet_id, rec.reason), (1, 0));
    publisher.send(&ack(0x62, 1)).await;
    publisher.next_of(7).await;
    // Over the rate: disconnected.
    publisher.send(&publish(5, "rate/q2", 2, 2, &[], b"second")).await;
    assert_eq!(disconnect_reason(&mut publisher).await, 0x96);

    let mut again = Raw::connect(broker.addr).await;
    again.send(&persistent_connect(5, "kick2-pub")).await;
    again.next_of(2).await;
    // DUP set: the same packet sent again.
    let mut dup = publish(5, "rate/q2", 2, 2, &[], b"second");
    dup[0] |= 0x08;
    again.send(&dup).await;
    let rec = Ack::parse(&again.next_of(5).await);
    assert_eq!((rec.packet_id, rec.reason), (2, 0), "accepted as new");
    again.send(&ack(0x62, 2)).await;
    again.next_of(7).await;
    let topics = publishes_until_quiet(&mut sub).await;
    assert_eq!(topics, ["rate/q2", "rate/q2"], "both messages delivered once");
    broker.stop().await;
}
