//! A SUBSCRIBE for a filter the session already has replaces that subscription, in 3.1.1 and
//! 5.0: the retained messages are sent again, and the messages published meanwhile keep
//! flowing, none lost and none doubled.

use super::common::start;
use super::versions::both_versions;
use super::wire::*;

/// Messages published while the subscription is replaced again and again.
const MESSAGES: usize = 2000;

async fn replacement_keeps_the_flow(level: Level) {
    let broker = start().await;
    let (mut p, _) = Raw::connected(broker.addr, &Connect::new(level, b"streamer")).await;
    let mut retained = Publish::new(level, "flow/retained", b"retained").qos(1, 1);
    retained.retain = true;
    p.send(&retained.bytes()).await;
    p.expect(kind::PUBACK).await;

    let (mut s, _) = Raw::connected(broker.addr, &Connect::new(level, b"replacer")).await;
    s.send(&subscribe(level, 1, &[("flow/#", 0)])).await;
    s.expect(kind::SUBACK).await;
    assert_eq!(s.publish(level).await.payload, b"retained");

    // The stream, in writes of 100 messages, and its end.
    let stream = tokio::spawn(async move {
        for chunk in 0..MESSAGES / 100 {
            let mut bytes = Vec::new();
            for i in chunk * 100..(chunk + 1) * 100 {
                bytes.extend(Publish::new(level, "flow/live", i.to_string().as_bytes()).bytes());
            }
            p.send(&bytes).await;
            tokio::task::yield_now().await;
        }
        p.send(&Publish::new(level, "flow/live", b"end").bytes()).await;
        p.ping().await;
    });

    // Replace the subscription each time the last replacement was acknowledged, until the end.
    let mut live = Vec::new();
    let (mut subacks, mut retained_copies) = (0, 0);
    s.send(&subscribe(level, 2, &[("flow/#", 0)])).await;
    loop {
        let packet = s.packet().await.expect("the stream");
        if packet[0] == kind::SUBACK {
            subacks += 1;
            s.send(&subscribe(level, 2, &[("flow/#", 0)])).await;
            continue;
        }
        let p = Incoming::parse(&packet, level.v5()).expect("a PUBLISH");
        if p.retain {
            assert_eq!(p.payload, b"retained");
            retained_copies += 1;
        } else if p.payload == b"end" {
            break;
        } else {
            live.push(String::from_utf8(p.payload).unwrap().parse::<usize>().unwrap());
        }
    }
    stream.await.unwrap();
    // The SUBSCRIBE sent last may still be in flight: its SUBACK and retained copy follow.
    for packet in s.before_pong().await {
        if packet[0] == kind::SUBACK {
            subacks += 1;
        } else {
            let p = Incoming::parse(&packet, level.v5()).expect("a PUBLISH");
            assert!(p.retain, "nothing after the end but the retained copy: {p:?}");
            retained_copies += 1;
        }
    }
    assert!(subacks > 1, "the subscription was replaced during the stream");
    // 3.1.1 [MQTT-3.8.4-3], v5 [MQTT-3.8.4-4] (Retain Handling 0): the retained message is sent
    // again on every replacement, and the flow is not interrupted: every message once, in order.
    assert_eq!(retained_copies, subacks, "one retained copy per replacement");
    assert_eq!(live, (0..MESSAGES).collect::<Vec<_>>());
}

both_versions! {
    #[tokio::test]
    async fn replacing_a_subscription_resends_retained_and_loses_nothing_v311,
        replacing_a_subscription_resends_retained_and_loses_nothing_v5(level = Level::V311, Level::V5) {
        replacement_keeps_the_flow(level).await;
    }
}
