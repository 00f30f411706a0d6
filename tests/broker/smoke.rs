//! The harness itself works: both protocol versions connect, publish and receive.

use super::common::*;

// 3.1.1 [MQTT-7.1.1-1] over TCP, an ordered lossless stream; the session lasts while its
// connection does [MQTT-4.1.0-2].
#[tokio::test]
async fn v311_publish_reaches_subscriber() {
    let broker = start().await;
    let mut sub = v3::connect(&broker, "smoke-sub").await;
    sub.subscribe("smoke/#", v3::QoS::AtLeastOnce).await;
    let publisher = v3::connect(&broker, "smoke-pub").await;
    publisher
        .client
        .publish("smoke/a", v3::QoS::AtLeastOnce, false, "hi")
        .await
        .unwrap();
    let p = sub.publish().await;
    assert_eq!(p.topic, "smoke/a");
    assert_eq!(&p.payload[..], b"hi");
}

// v5 [MQTT-4.2.0-1] over TCP; the session state is kept while the connection is open
// [MQTT-4.1.0-1].
#[tokio::test]
async fn v5_publish_reaches_subscriber() {
    let broker = start().await;
    let mut sub = v5::connect(&broker, "smoke5-sub").await;
    sub.subscribe("smoke/#", v5::QoS::ExactlyOnce).await;
    let publisher = v5::connect(&broker, "smoke5-pub").await;
    publisher
        .client
        .publish("smoke/b", v5::QoS::ExactlyOnce, false, "hey")
        .await
        .unwrap();
    let p = sub.publish().await;
    assert_eq!(&p.topic[..], b"smoke/b");
    assert_eq!(p.qos, v5::QoS::ExactlyOnce);
}
