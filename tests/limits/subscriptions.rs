//! `max_subscriptions_per_client`: a subscription past it is refused, v5 with SUBACK 0x97 quota
//! exceeded, 3.1.1 with 0x80, its only failure code [MQTT-3.9.3-2]
//! (`limits/subscriptions_refused`); one that replaces a subscription the session holds does not
//! count twice.

use super::common::*;

#[tokio::test]
async fn subscriptions_past_the_limit_are_refused() {
    let broker = start_with(|s| s.limits.max_subscriptions_per_client = 3).await;
    let mut publisher = connected(&broker, 5, "subs-pub").await;
    for level in [5, 4] {
        let refused = if level == 5 { 0x97 } else { 0x80 };
        let mut raw = connected(&broker, level, &format!("subs-{level}")).await;
        // Four in one SUBSCRIBE: the fourth finds the session full; the others are granted. They
        // are handled as four, one SUBACK with a code per filter in their order (3.1.1
        // [MQTT-3.8.4-4]/[MQTT-3.8.4-5]/[MQTT-3.9.3-1], v5 [MQTT-3.8.4-5]/[MQTT-3.8.4-6]).
        raw.send(&subscribe(level, 1, &[("a", 0), ("b", 1), ("c", 0), ("d", 0)]))
            .await;
        let (codes, why) = suback_codes(level, &raw.next_of(9).await);
        assert_eq!(codes, [0, 1, 0, refused], "level {level}");
        if level == 5 {
            assert!(why.unwrap_or_default().contains("max_subscriptions_per_client"));
        }
        // A subscription to a filter the session holds replaces it [MQTT-3.8.4-3]: allowed,
        // while a new one still is not.
        raw.send(&subscribe(level, 2, &[("b", 0), ("e", 0)])).await;
        assert_eq!(suback_codes(level, &raw.next_of(9).await).0, [0, refused]);
        // What was refused was not subscribed.
        publisher.send(&publish(5, "e", 0, 0, &[], b"m")).await;
        publisher.sync().await;
        assert_eq!(publishes_until_quiet(&mut raw).await, Vec::<String>::new());
        // Unsubscribing makes room: the subscription is deleted [MQTT-3.10.4-1], and UNSUBACK
        // answers (3.1.1 [MQTT-3.10.4-4]).
        raw.send(&unsubscribe(level, 3, &["a"])).await;
        raw.next_of(11).await;
        raw.send(&subscribe(level, 4, &[("e", 0)])).await;
        assert_eq!(suback_codes(level, &raw.next_of(9).await).0, [0]);
    }
    assert_eq!(broker.limits().subscriptions_refused, 4);
    broker.stop().await;
}

// The subscriptions a persistent session kept while its client was away count when it comes
// back [MQTT-3.1.2-4].
#[tokio::test]
async fn a_resumed_session_counts_the_subscriptions_it_kept() {
    let broker = start_with(|s| s.limits.max_subscriptions_per_client = 2).await;
    for level in [4, 5] {
        let id = format!("keeper-{level}");
        let mut raw = Raw::connect(broker.addr).await;
        raw.send(&persistent_connect(level, &id)).await;
        assert_eq!(Connack::parse(level, &raw.next_of(2).await).code, 0);
        raw.send(&subscribe(level, 1, &[("kept/1", 1), ("kept/2", 1)]))
            .await;
        assert_eq!(suback_codes(level, &raw.next_of(9).await).0, [1, 1]);
        raw.send(&[0xE0, 0x00]).await;
        raw.expect_close().await;

        let mut raw = Raw::connect(broker.addr).await;
        raw.send(&persistent_connect(level, &id)).await;
        let connack = raw.next_of(2).await;
        assert_eq!(connack[2] & 1, 1, "session present");
        raw.send(&subscribe(level, 2, &[("kept/3", 1), ("kept/1", 0)]))
            .await;
        let refused = if level == 5 { 0x97 } else { 0x80 };
        assert_eq!(suback_codes(level, &raw.next_of(9).await).0, [refused, 0]);
    }
    assert_eq!(broker.limits().subscriptions_refused, 2);
    broker.stop().await;
}
