//! Store and queue limits: a full store drops (and counts) instead of growing, v5 publishers
//! hear "quota exceeded", and the store gauge goes back to zero once messages are delivered.

use std::sync::atomic::Ordering;

use super::common::*;

fn store_bytes(broker: &TestBroker) -> u64 {
    broker
        .server()
        .broker()
        .metrics
        .store_bytes
        .load(Ordering::Relaxed)
}

#[tokio::test]
async fn max_store_bytes_bounds_what_persistent_sessions_keep() {
    // Each 100-byte message takes about 170 bytes of the budget (topic, payload, overhead).
    let broker = start_with(|s| s.store.max_store_bytes = 2_000).await;
    let mut options = v3::options(&broker, "store-full-sub");
    options.set_clean_session(false);
    let (mut sub, _) = v3::connect_with(options.clone()).await;
    sub.subscribe("full/#", v3::QoS::AtLeastOnce).await;
    sub.client.disconnect().await.unwrap();
    sub.closed().await;

    let mut publisher = v5::connect(&broker, "store-full-pub").await;
    let mut reasons = Vec::new();
    for i in 0..30 {
        publisher
            .client
            .publish(format!("full/{i}"), v5::QoS::AtLeastOnce, false, vec![b'x'; 100])
            .await
            .unwrap();
        let reason = publisher
            .next(|p| match p {
                v5::Packet::PubAck(a) => Some(a.reason),
                _ => None,
            })
            .await;
        reasons.push(reason);
    }
    use rumqttc::v5::mqttbytes::v5::PubAckReason;
    let kept = reasons.iter().filter(|r| **r == PubAckReason::Success).count();
    assert!(kept > 0 && kept < 30, "some messages fit, not all: {reasons:?}");
    assert!(
        reasons[kept..].iter().all(|r| *r == PubAckReason::QuotaExceeded),
        "once full, v5 publishers get 0x97 quota exceeded: {reasons:?}"
    );
    assert!(store_bytes(&broker) <= 2_000);
    assert!(
        broker
            .server()
            .broker()
            .metrics
            .publish_dropped
            .load(Ordering::Relaxed)
            >= (30 - kept) as u64
    );

    // Delivering the kept messages frees the store again.
    let (mut sub, connack) = v3::connect_with(options).await;
    assert!(connack.session_present);
    let got = sub.publishes_until_quiet().await;
    assert_eq!(got.len(), kept);
    assert_eq!(
        store_bytes(&broker),
        0,
        "acknowledged deliveries leave the store gauge"
    );
}

#[tokio::test]
async fn ending_a_persistent_session_releases_its_store_bytes() {
    let broker = start().await;
    let mut options = v3::options(&broker, "release-sub");
    options.set_clean_session(false);
    let (mut sub, _) = v3::connect_with(options).await;
    sub.subscribe("rel/#", v3::QoS::AtLeastOnce).await;
    sub.client.disconnect().await.unwrap();
    sub.closed().await;
    let mut publisher = v3::connect(&broker, "release-pub").await;
    for i in 0..5 {
        publisher
            .publish_acked("rel/t", v3::QoS::AtLeastOnce, false, format!("m{i}").as_bytes())
            .await;
    }
    assert!(store_bytes(&broker) > 0);
    // A clean-session connect with the same id discards the stored session [MQTT-3.1.2-6].
    let (_clean, connack) = v3::connect_with(v3::options(&broker, "release-sub")).await;
    assert!(!connack.session_present);
    assert_eq!(store_bytes(&broker), 0);
}
