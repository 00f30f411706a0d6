//! `max_topic_length` and `max_topic_levels` on PUBLISH topic names, will topics and
//! subscription filters (`limits/topic_refused`).
//!
//! A topic over them is valid MQTT that this server does not accept, which MQTT 5 has codes
//! for: PUBACK/PUBREC and CONNACK 0x90 topic name invalid, SUBACK 0x8F topic filter invalid.
//! 3.1.1 clients get their usual PUBACK for a refused PUBLISH [MQTT-3.3.5-2] (the message is
//! dropped), SUBACK 0x80 failure [MQTT-3.9.3-2] and CONNACK 5, not authorized, for a will.

use robustmq::server::broker::Broker;

use super::common::*;

/// 33 bytes: one more than the limit.
const LONG: &str = "long/aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// 32 bytes: exactly the limit.
const LONGEST: &str = "long/aaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// 5 levels: one more than the limit.
const DEEP: &str = "a/b/c/d/e";
/// 4 levels: exactly the limit.
const DEEPEST: &str = "a/b/c/d";

async fn limited() -> TestBroker {
    start_with(|s| {
        s.limits.max_topic_length = 32;
        s.limits.max_topic_levels = 4;
    })
    .await
}

/// A client of `level` subscribed at QoS 0 to `#`.
async fn everything(broker: &TestBroker, level: u8, id: &str) -> Raw {
    let mut raw = connected(broker, level, id).await;
    raw.send(&subscribe(level, 1, &[("#", 0)])).await;
    raw.next_of(9).await;
    raw
}

fn subscriptions(broker: &Broker) -> usize {
    broker.census().subscriptions
}

#[tokio::test]
async fn v5_publish_over_the_topic_limits_gets_topic_name_invalid() {
    assert_eq!((LONG.len(), LONGEST.len()), (33, 32));
    let broker = limited().await;
    let mut sub = everything(&broker, 5, "topic-sub").await;
    let mut publisher = connected(&broker, 5, "topic-pub").await;
    let cases = [
        (LONG, 1, 0x90, "max_topic_length"),
        (DEEP, 2, 0x90, "max_topic_levels"),
        (LONGEST, 1, 0x00, ""),
        (DEEPEST, 2, 0x00, ""),
    ];
    for (id, (topic, qos, expected, limit)) in (1..).zip(cases) {
        publisher.send(&publish(5, topic, qos, id, &[], b"m")).await;
        let ack = Ack::parse(&publisher.next_of(if qos == 1 { 4 } else { 5 }).await);
        assert_eq!(ack.reason, expected, "{topic}");
        if expected != 0 {
            let why = ack.reason_string.unwrap_or_default();
            assert!(why.contains(limit), "{topic}: reason string {why:?}");
        }
    }
    // At QoS 0 there is nothing to refuse: dropped.
    publisher.send(&publish(5, LONG, 0, 0, &[], b"m")).await;
    publisher.sync().await;
    assert_eq!(broker.limits().topic_refused, 3);
    assert_eq!(publishes_until_quiet(&mut sub).await, [LONGEST, DEEPEST]);
    broker.stop().await;
}

#[tokio::test]
async fn v311_publish_over_the_topic_limits_is_acknowledged_and_dropped() {
    let broker = limited().await;
    let mut sub = everything(&broker, 4, "topic3-sub").await;
    let mut publisher = connected(&broker, 4, "topic3-pub").await;
    for (id, topic) in (1..).zip([LONG, DEEP, LONGEST]) {
        publisher.send(&publish(4, topic, 1, id, &[], b"m")).await;
        let ack = Ack::parse(&publisher.next_of(4).await);
        assert_eq!((ack.packet_id, ack.reason), (id, 0), "{topic}");
    }
    publisher.send(&publish(4, DEEP, 0, 0, &[], b"m")).await;
    publisher.sync().await;
    assert_eq!(broker.limits().topic_refused, 3);
    assert_eq!(publishes_until_quiet(&mut sub).await, [LONGEST]);
    broker.stop().await;
}

#[tokio::test]
async fn subscription_filters_over_the_topic_limits_are_refused() {
    let broker = limited().await;
    // Levels of a shared subscription count without its `$share/group/` prefix; its length
    // is the whole filter's.
    let filters = [
        ("x/+", 0),
        (LONG, 0),
        ("a/b/c/d/#", 0),
        ("$share/g/a/b/+/d", 0),
        ("$share/group/long/aaaaaaaaaaaaaaa", 0),
    ];
    let expected = [
        (5, vec![0x00, 0x8F, 0x8F, 0x00, 0x8F]),
        (4, vec![0x00, 0x80, 0x80, 0x00, 0x80]),
    ];
    let mut clients = Vec::new();
    for (level, codes) in expected {
        let mut raw = connected(&broker, level, &format!("filters-{level}")).await;
        raw.send(&subscribe(level, 7, &filters)).await;
        let (got, why) = suback_codes(level, &raw.next_of(9).await);
        assert_eq!(got, codes, "level {level}");
        if level == 5 {
            assert!(why.unwrap_or_default().contains("max_topic"));
        }
        clients.push(raw);
    }
    assert_eq!(broker.limits().topic_refused, 6);
    assert_eq!(
        subscriptions(broker.server().broker()),
        4,
        "x/+ and the shared filter, per client"
    );
    broker.stop().await;
}

#[tokio::test]
async fn a_will_topic_over_the_limits_refuses_the_connection() {
    let broker = limited().await;
    // v5: CONNACK 0x90, whose description is "the Will Topic Name is not malformed, but is not
    // accepted by this Server"; 3.1.1: return code 5. Either way the connection closes
    // [MQTT-3.2.2-5], [MQTT-3.2.2-7].
    for (level, topic, code) in [(5, LONG, 0x90), (5, DEEP, 0x90), (4, LONG, 5), (4, DEEP, 5)] {
        let mut raw = Raw::connect(broker.addr).await;
        raw.send(&connect_packet(level, "willing", 60, Some((topic, b"gone"))))
            .await;
        let seen = raw.expect_close().await;
        assert_eq!(seen.len(), 1, "only a CONNACK: {seen:02x?}");
        assert_eq!(Connack::parse(level, &seen[0]).code, code, "{level} {topic}");
    }
    assert_eq!(broker.limits().topic_refused, 4);
    // A will within the limits is fine.
    let mut raw = Raw::connect(broker.addr).await;
    raw.send(&connect_packet(5, "willing", 60, Some((DEEPEST, b"gone"))))
        .await;
    assert_eq!(Connack::parse(5, &raw.packet().await.expect("CONNACK")).code, 0);
    broker.stop().await;
}

// A topic refused for its length is not recorded for its topic alias: an alias-only PUBLISH
// with that alias then uses an alias that was never set, a protocol error (MQTT 5 §3.3.2.3.4).
#[tokio::test]
async fn a_refused_topic_does_not_set_its_topic_alias() {
    let broker = limited().await;
    let mut publisher = connected(&broker, 5, "alias-pub").await;
    publisher
        .send(&publish(5, LONG, 1, 1, &topic_alias(1), b"m"))
        .await;
    assert_eq!(Ack::parse(&publisher.next_of(4).await).reason, 0x90);
    publisher.send(&publish(5, "", 1, 2, &topic_alias(1), b"m")).await;
    assert_eq!(disconnect_reason(&mut publisher).await, 0x82);
    broker.stop().await;
}
