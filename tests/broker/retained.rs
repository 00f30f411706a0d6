//! Retained messages: delivery on subscribe, replacement, clearing, the RETAIN flag on live
//! messages, wildcard delivery and shared subscriptions.

use std::collections::BTreeSet;

use super::common::*;

// 3.1.1 [MQTT-3.3.1-5]/[MQTT-3.3.1-6]/[MQTT-3.3.1-8]: a retained message is stored and sent to a
// new subscriber with RETAIN=1.
#[tokio::test]
async fn retained_delivered_on_subscribe_with_retain_flag_v311() {
    let broker = start().await;
    let mut publisher = v3::connect(&broker, "ret-on-sub-pub").await;
    publisher
        .publish_acked("ret/a", v3::QoS::AtLeastOnce, true, b"r1")
        .await;
    let mut sub = v3::connect(&broker, "ret-on-sub-sub").await;
    sub.subscribe("ret/a", v3::QoS::AtLeastOnce).await;
    let p = sub.publish().await;
    assert_eq!(p.topic, "ret/a");
    assert_eq!(&p.payload[..], b"r1");
    assert!(p.retain, "retained message must carry RETAIN=1");
    assert_eq!(p.qos, v3::QoS::AtLeastOnce);
    sub.no_publish().await;
}

// v5 [MQTT-3.3.1-9]: Retain Handling 0 sends the retained messages on subscribe, RETAIN=1.
#[tokio::test]
async fn retained_delivered_on_subscribe_with_retain_flag_v5() {
    let broker = start().await;
    let mut publisher = v5::connect(&broker, "ret5-on-sub-pub").await;
    publisher
        .publish_acked("ret/a", v5::QoS::AtLeastOnce, true, b"r1")
        .await;
    let mut sub = v5::connect(&broker, "ret5-on-sub-sub").await;
    sub.subscribe("ret/a", v5::QoS::AtLeastOnce).await;
    let p = sub.publish().await;
    assert_eq!(&p.topic[..], b"ret/a");
    assert_eq!(&p.payload[..], b"r1");
    assert!(p.retain, "retained message must carry RETAIN=1");
    sub.no_publish().await;
}

// [MQTT-3.3.1-5]: a new retained message replaces the one stored for the topic.
#[tokio::test]
async fn retained_replaced_by_newer_v311() {
    let broker = start().await;
    let mut publisher = v3::connect(&broker, "ret-replace-pub").await;
    publisher
        .publish_acked("ret/r", v3::QoS::AtLeastOnce, true, b"old")
        .await;
    publisher
        .publish_acked("ret/r", v3::QoS::AtLeastOnce, true, b"new")
        .await;
    let mut sub = v3::connect(&broker, "ret-replace-sub").await;
    sub.subscribe("ret/r", v3::QoS::AtLeastOnce).await;
    let got = sub.publishes_until_quiet().await;
    let payloads: Vec<_> = got.iter().map(|p| p.payload.to_vec()).collect();
    assert_eq!(payloads, vec![b"new".to_vec()]);
}

#[tokio::test]
async fn retained_replaced_by_newer_v5() {
    let broker = start().await;
    let mut publisher = v5::connect(&broker, "ret5-replace-pub").await;
    publisher
        .publish_acked("ret/r", v5::QoS::AtLeastOnce, true, b"old")
        .await;
    publisher
        .publish_acked("ret/r", v5::QoS::AtLeastOnce, true, b"new")
        .await;
    let mut sub = v5::connect(&broker, "ret5-replace-sub").await;
    sub.subscribe("ret/r", v5::QoS::AtLeastOnce).await;
    let got = sub.publishes_until_quiet().await;
    let payloads: Vec<_> = got.iter().map(|p| p.payload.to_vec()).collect();
    assert_eq!(payloads, vec![b"new".to_vec()]);
}

// 3.1.1 [MQTT-3.3.1-10]/[MQTT-3.3.1-11] (v5 [MQTT-3.3.1-6]/[MQTT-3.3.1-7]): an empty retained
// payload is forwarded as normal, removes the stored message, and is not stored itself.
#[tokio::test]
async fn retained_cleared_by_empty_payload_v311() {
    let broker = start().await;
    let mut publisher = v3::connect(&broker, "ret-clear-pub").await;
    publisher
        .publish_acked("ret/c", v3::QoS::AtLeastOnce, true, b"gone soon")
        .await;
    let mut live = v3::connect(&broker, "ret-clear-live").await;
    live.subscribe("ret/c", v3::QoS::AtLeastOnce).await;
    assert_eq!(&live.publish().await.payload[..], b"gone soon");
    publisher
        .publish_acked("ret/c", v3::QoS::AtLeastOnce, true, b"")
        .await;
    // Processed as normal for existing subscribers.
    let p = live.publish().await;
    assert!(p.payload.is_empty());

    let mut late = v3::connect(&broker, "ret-clear-late").await;
    late.subscribe("ret/c", v3::QoS::AtLeastOnce).await;
    late.no_publish().await;
}

#[tokio::test]
async fn retained_cleared_by_empty_payload_v5() {
    let broker = start().await;
    let mut publisher = v5::connect(&broker, "ret5-clear-pub").await;
    publisher
        .publish_acked("ret/c", v5::QoS::AtLeastOnce, true, b"gone soon")
        .await;
    publisher
        .publish_acked("ret/c", v5::QoS::AtLeastOnce, true, b"")
        .await;
    let mut late = v5::connect(&broker, "ret5-clear-late").await;
    late.subscribe("ret/c", v5::QoS::AtLeastOnce).await;
    late.no_publish().await;
}

// 3.1.1 [MQTT-3.3.1-9]: a message forwarded to an established subscription has RETAIN=0, however
// it was published.
#[tokio::test]
async fn live_forwarded_message_has_retain_0_v311() {
    let broker = start().await;
    let mut sub = v3::connect(&broker, "ret-live-sub").await;
    sub.subscribe("ret/live", v3::QoS::AtLeastOnce).await;
    let mut publisher = v3::connect(&broker, "ret-live-pub").await;
    publisher
        .publish_acked("ret/live", v3::QoS::AtLeastOnce, true, b"live")
        .await;
    let p = sub.publish().await;
    assert_eq!(&p.payload[..], b"live");
    assert!(!p.retain, "live message forwarded with RETAIN=1");
}

// v5 [MQTT-3.3.1-12]: with Retain As Published 0 (the default), RETAIN is 0 on forwarded messages.
#[tokio::test]
async fn live_forwarded_message_has_retain_0_v5() {
    let broker = start().await;
    let mut sub = v5::connect(&broker, "ret5-live-sub").await;
    sub.subscribe("ret/live", v5::QoS::AtLeastOnce).await;
    let mut publisher = v5::connect(&broker, "ret5-live-pub").await;
    publisher
        .publish_acked("ret/live", v5::QoS::AtLeastOnce, true, b"live")
        .await;
    let p = sub.publish().await;
    assert_eq!(&p.payload[..], b"live");
    assert!(!p.retain, "live message forwarded with RETAIN=1");
}

// [MQTT-3.3.1-6] (3.1.1): the retained message of EACH matching topic is sent on subscribe.
#[tokio::test]
async fn wildcard_subscribe_receives_all_matching_retained() {
    let broker = start().await;
    let mut publisher = v3::connect(&broker, "ret-wild-pub").await;
    for topic in ["w/a", "w/b", "w/c/d", "x/other", "wx/no"] {
        publisher
            .publish_acked(topic, v3::QoS::AtLeastOnce, true, topic.as_bytes())
            .await;
    }
    let mut sub = v3::connect(&broker, "ret-wild-sub").await;
    sub.subscribe("w/#", v3::QoS::AtLeastOnce).await;
    let got = sub.publishes_until_quiet().await;
    assert!(got.iter().all(|p| p.retain), "all with RETAIN=1: {got:?}");
    assert!(got.iter().all(|p| p.payload == p.topic.as_bytes()));
    let topics: Vec<_> = got.iter().map(|p| p.topic.clone()).collect();
    let unique: BTreeSet<_> = topics.iter().cloned().collect();
    assert_eq!(topics.len(), unique.len(), "duplicates: {topics:?}");
    assert_eq!(
        unique,
        ["w/a", "w/b", "w/c/d"].map(String::from).into_iter().collect()
    );
}

// MQTT 5 §4.8.2 / §3.3.1.3: retained messages are not sent when a shared subscription is made.
#[tokio::test]
async fn retained_not_sent_to_shared_subscription() {
    let broker = start().await;
    let mut publisher = v5::connect(&broker, "ret-shared-pub").await;
    publisher
        .publish_acked("sh/t", v5::QoS::AtLeastOnce, true, b"kept")
        .await;
    let mut shared = v5::connect(&broker, "ret-shared-member").await;
    shared.subscribe("$share/g/sh/t", v5::QoS::AtLeastOnce).await;
    shared.no_publish().await;
    // The message is retained: a plain subscription gets it.
    let mut plain = v5::connect(&broker, "ret-shared-plain").await;
    plain.subscribe("sh/t", v5::QoS::AtLeastOnce).await;
    let p = plain.publish().await;
    assert_eq!(&p.payload[..], b"kept");
    assert!(p.retain);
}
