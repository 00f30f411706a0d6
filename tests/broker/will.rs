//! Last will: published on an abnormal disconnect, not after DISCONNECT, the will retain flag,
//! v5 DISCONNECT with will (0x04) and the v5 will delay interval.

use std::time::Duration;

use super::common::*;

fn v3_with_will(broker: &TestBroker, id: &str, topic: &str, retain: bool) -> v3::MqttOptions {
    let mut o = v3::options(broker, id);
    o.set_last_will(v3::LastWill::new(
        topic,
        format!("{id} died"),
        v3::QoS::AtLeastOnce,
        retain,
    ));
    o
}

fn v5_with_will(
    broker: &TestBroker,
    id: &str,
    topic: &str,
    delay: Option<u32>,
    session_expiry: Option<u32>,
) -> v5::MqttOptions {
    let mut o = v5::options(broker, id);
    let properties = delay.map(|d| v5::LastWillProperties {
        delay_interval: Some(d),
        payload_format_indicator: None,
        message_expiry_interval: None,
        content_type: None,
        response_topic: None,
        correlation_data: None,
        user_properties: Vec::new(),
    });
    o.set_last_will(v5::LastWill::new(
        topic,
        format!("{id} died"),
        v5::QoS::AtLeastOnce,
        false,
        properties,
    ));
    o.set_session_expiry_interval(session_expiry);
    o
}

// [MQTT-3.1.2-8]: the will is published when the network connection closes without DISCONNECT.
#[tokio::test]
async fn will_published_on_socket_drop_v311() {
    let broker = start().await;
    let mut sub = v3::connect(&broker, "will-drop-sub").await;
    sub.subscribe("will/drop", v3::QoS::AtLeastOnce).await;
    let (dying, _) = v3::connect_with(v3_with_will(&broker, "will-drop", "will/drop", false)).await;
    drop(dying); // aborts the event loop: the socket closes without DISCONNECT
    let p = sub.publish().await;
    assert_eq!(p.topic, "will/drop");
    assert_eq!(&p.payload[..], b"will-drop died");
    assert_eq!(p.qos, v3::QoS::AtLeastOnce);
}

// v5 [MQTT-3.1.2-7]/[MQTT-3.1.2-8]: the will stored at CONNECT is published when the socket drops.
#[tokio::test]
async fn will_published_on_socket_drop_v5() {
    let broker = start().await;
    let mut sub = v5::connect(&broker, "will5-drop-sub").await;
    sub.subscribe("will/drop", v5::QoS::AtLeastOnce).await;
    let (dying, _) = v5::connect_with(v5_with_will(&broker, "will5-drop", "will/drop", None, None)).await;
    drop(dying);
    let p = sub.publish().await;
    assert_eq!(&p.topic[..], b"will/drop");
    assert_eq!(&p.payload[..], b"will5-drop died");
}

// [MQTT-3.1.2-8] with a raw socket: dropping a connection mid-session publishes the will.
#[tokio::test]
async fn will_published_when_raw_socket_dropped() {
    let broker = start().await;
    let mut sub = v3::connect(&broker, "will-raw-sub").await;
    sub.subscribe("will/raw", v3::QoS::AtLeastOnce).await;
    // Clean session, will flag, will QoS 0.
    let connect = connect_packet_with(
        4,
        "will-raw",
        60,
        0x02 | 0x04,
        &[],
        Some((&[], "will/raw", b"raw gone")),
    );
    let (raw, connack) = raw_connect_with(&broker, &connect).await;
    assert_eq!(connack[3], 0, "accepted: {connack:?}");
    drop(raw);
    let p = sub.publish().await;
    assert_eq!(p.topic, "will/raw");
    assert_eq!(&p.payload[..], b"raw gone");
}

// [MQTT-3.1.2-10]: DISCONNECT removes the will, so it is not published.
#[tokio::test]
async fn will_not_published_after_disconnect_v311() {
    let broker = start().await;
    let mut sub = v3::connect(&broker, "will-clean-sub").await;
    sub.subscribe("will/clean", v3::QoS::AtLeastOnce).await;
    let (mut leaving, _) = v3::connect_with(v3_with_will(&broker, "will-clean", "will/clean", false)).await;
    leaving.client.disconnect().await.unwrap();
    leaving.closed().await;
    sub.no_publish().await;
}

// v5 [MQTT-3.1.2-10]/[MQTT-3.14.4-3]: DISCONNECT 0x00 discards the will.
#[tokio::test]
async fn will_not_published_after_disconnect_v5() {
    let broker = start().await;
    let mut sub = v5::connect(&broker, "will5-clean-sub").await;
    sub.subscribe("will/clean", v5::QoS::AtLeastOnce).await;
    let (mut leaving, _) =
        v5::connect_with(v5_with_will(&broker, "will5-clean", "will/clean", None, None)).await;
    leaving.client.disconnect().await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::timeout_at(deadline, leaving.incoming.recv())
        .await
        .expect("connection still open after DISCONNECT")
        .is_some()
    {}
    sub.no_publish().await;
}

// 3.1.1 [MQTT-3.1.2-17] (v5 [MQTT-3.1.2-15]): a will with Will Retain=1 is published retained.
#[tokio::test]
async fn will_retain_flag_honoured() {
    let broker = start().await;
    let mut live = v3::connect(&broker, "will-ret-live").await;
    live.subscribe("will/ret", v3::QoS::AtLeastOnce).await;
    let (dying, _) = v3::connect_with(v3_with_will(&broker, "will-ret", "will/ret", true)).await;
    drop(dying);
    let p = live.publish().await;
    assert_eq!(&p.payload[..], b"will-ret died");

    let mut later = v3::connect(&broker, "will-ret-later").await;
    later.subscribe("will/ret", v3::QoS::AtLeastOnce).await;
    let p = later.publish().await;
    assert_eq!(&p.payload[..], b"will-ret died");
    assert!(p.retain, "the will was not retained");
}

// v5 §3.14.2.1: DISCONNECT with reason 0x04 (Disconnect with Will Message) publishes the will.
#[tokio::test]
async fn v5_disconnect_with_will_message_publishes_will() {
    let broker = start().await;
    let mut sub = v5::connect(&broker, "will5-04-sub").await;
    sub.subscribe("will/04", v5::QoS::AtLeastOnce).await;
    let connect = connect_packet_with(
        5,
        "will5-04",
        60,
        0x02 | 0x04,
        &[],
        Some((&[], "will/04", b"asked for it")),
    );
    let (mut raw, connack) = raw_connect_with(&broker, &connect).await;
    assert_eq!(connack[3], 0, "accepted: {connack:?}");
    raw.send(&[0xE0, 0x01, 0x04]).await;
    let p = sub.publish().await;
    assert_eq!(&p.topic[..], b"will/04");
    assert_eq!(&p.payload[..], b"asked for it");
    // The broker closes the connection after the DISCONNECT.
    raw.expect_close().await;
}

// v5 [MQTT-3.1.3-9]: if the session is resumed before the Will Delay Interval passes, the will is
// not sent.
#[tokio::test]
async fn v5_will_delay_not_sent_if_client_reconnects_within_delay() {
    let broker = start().await;
    let mut sub = v5::connect(&broker, "will5-delay-back-sub").await;
    sub.subscribe("will/delay", v5::QoS::AtLeastOnce).await;
    let (dying, _) = v5::connect_with(v5_with_will(
        &broker,
        "will5-delay-back",
        "will/delay",
        Some(1),
        Some(60),
    ))
    .await;
    drop(dying);
    let mut again = v5::options(&broker, "will5-delay-back");
    again.set_clean_start(false);
    again.set_session_expiry_interval(Some(60));
    let (_back, connack) = v5::connect_with(again).await;
    assert!(connack.session_present, "session resumed");
    // Past the 1 s delay (plus QUIET in no_publish): still no will.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sub.no_publish().await;
}

// v5 [MQTT-3.1.2-8]: with a Will Delay Interval the will is published once the delay has
// elapsed (the session, expiry 60 s, outlives the delay).
#[tokio::test]
async fn v5_will_delay_sent_after_delay() {
    let broker = start().await;
    let mut sub = v5::connect(&broker, "will5-delay-sub").await;
    sub.subscribe("will/delay", v5::QoS::AtLeastOnce).await;
    let (dying, _) = v5::connect_with(v5_with_will(
        &broker,
        "will5-delay",
        "will/delay",
        Some(2),
        Some(60),
    ))
    .await;
    drop(dying);
    // Not at once: the delay is 2 s.
    sub.no_publish().await;
    let p = sub.publish().await;
    assert_eq!(&p.payload[..], b"will5-delay died");
}
