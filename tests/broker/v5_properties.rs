//! v5 PUBLISH properties: forwarded unchanged, message expiry, topic aliases from the client,
//! and request/response.

use std::time::Duration;

use bytes::Bytes;
use robustmq::server::metrics::get;

use super::common::*;

/// A subscriber on `filter` at QoS 1 and a publisher, both v5.
async fn pair(broker: &TestBroker, name: &str, filter: &str) -> (v5::Client, v5::Client) {
    let mut sub = v5::connect(broker, &format!("{name}-sub")).await;
    sub.subscribe(filter, v5::QoS::AtLeastOnce).await;
    let publisher = v5::connect(broker, &format!("{name}-pub")).await;
    (sub, publisher)
}

/// Publishes at QoS 1 with `properties` and waits for the PUBACK.
async fn publish_with(
    client: &mut v5::Client,
    topic: &str,
    retain: bool,
    payload: &'static [u8],
    properties: v5::PublishProperties,
) {
    client
        .client
        .publish_with_properties(topic, v5::QoS::AtLeastOnce, retain, payload, properties)
        .await
        .unwrap();
    client
        .next(|p| matches!(p, v5::Packet::PubAck(_)).then_some(()))
        .await;
}

/// The properties of a received PUBLISH (a v5 PUBLISH always has a property block).
fn props(p: &v5::Publish) -> v5::PublishProperties {
    p.properties.clone().unwrap_or_default()
}

/// Options for a persistent session (clean start, session expiry 60 s).
fn persistent(broker: &TestBroker, id: &str, clean_start: bool) -> v5::MqttOptions {
    let mut o = v5::options(broker, id);
    o.set_clean_start(clean_start);
    o.set_session_expiry_interval(Some(60));
    o
}

fn connected(broker: &TestBroker) -> u64 {
    get(&broker.server().broker().metrics.clients_connected)
}

/// Disconnects `client` normally and waits until the broker counts `left` connected clients.
async fn go_offline(broker: &TestBroker, client: v5::Client, left: u64) {
    client.client.disconnect().await.unwrap();
    wait_until("the subscriber is offline", WAIT, || connected(broker) == left).await;
    drop(client);
}

// [MQTT-3.3.2-17] user properties are forwarded unaltered; [MQTT-3.3.2-18] in their order,
// repeated names included.
#[tokio::test]
async fn user_properties_forwarded_unchanged_in_order() {
    let broker = start().await;
    let (mut sub, mut publisher) = pair(&broker, "up", "up/t").await;
    let user_properties = vec![
        ("b".to_string(), "2".to_string()),
        ("a".to_string(), "1".to_string()),
        ("b".to_string(), "3".to_string()),
    ];
    let properties = v5::PublishProperties {
        user_properties: user_properties.clone(),
        ..Default::default()
    };
    publish_with(&mut publisher, "up/t", false, b"x", properties).await;
    let p = sub.publish().await;
    assert_eq!(props(&p).user_properties, user_properties);
}

// [MQTT-3.3.2-20] the Content Type is sent unaltered to every subscriber.
#[tokio::test]
async fn content_type_forwarded_unchanged() {
    let broker = start().await;
    let (mut sub, mut publisher) = pair(&broker, "ct", "ct/t").await;
    let properties = v5::PublishProperties {
        content_type: Some("application/json; charset=utf-8".into()),
        ..Default::default()
    };
    publish_with(&mut publisher, "ct/t", false, b"{}", properties).await;
    let p = sub.publish().await;
    assert_eq!(
        props(&p).content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
}

// [MQTT-3.3.2-4] the Payload Format Indicator is sent unaltered to every subscriber.
#[tokio::test]
async fn payload_format_indicator_forwarded_unchanged() {
    let broker = start().await;
    let (mut sub, mut publisher) = pair(&broker, "pfi", "pfi/t").await;
    let utf8 = v5::PublishProperties {
        payload_format_indicator: Some(1),
        ..Default::default()
    };
    publish_with(&mut publisher, "pfi/t", false, "héllo".as_bytes(), utf8).await;
    let p = sub.publish().await;
    assert_eq!(props(&p).payload_format_indicator, Some(1));

    let bytes = v5::PublishProperties {
        payload_format_indicator: Some(0),
        ..Default::default()
    };
    publish_with(&mut publisher, "pfi/t", false, b"\xff\x00", bytes).await;
    let p = sub.publish().await;
    assert_eq!(&p.payload[..], b"\xff\x00");
    // 0 and absent both mean "unspecified bytes"; what matters is that it is not turned into 1.
    assert_ne!(props(&p).payload_format_indicator, Some(1));
}

// [MQTT-3.3.2-15] the Response Topic is sent unaltered to every subscriber.
#[tokio::test]
async fn response_topic_forwarded_unchanged() {
    let broker = start().await;
    let (mut sub, mut publisher) = pair(&broker, "rt", "rt/t").await;
    let properties = v5::PublishProperties {
        response_topic: Some("rt/replies/for me".into()),
        ..Default::default()
    };
    publish_with(&mut publisher, "rt/t", false, b"q", properties).await;
    let p = sub.publish().await;
    assert_eq!(props(&p).response_topic.as_deref(), Some("rt/replies/for me"));
}

// [MQTT-3.3.2-16] the Correlation Data (binary) is sent unaltered to every subscriber.
#[tokio::test]
async fn correlation_data_forwarded_unchanged() {
    let broker = start().await;
    let (mut sub, mut publisher) = pair(&broker, "cd", "cd/t").await;
    let data = Bytes::from_static(&[0x00, 0xff, 0x10, 0x80, 0x00]);
    let properties = v5::PublishProperties {
        correlation_data: Some(data.clone()),
        ..Default::default()
    };
    publish_with(&mut publisher, "cd/t", false, b"q", properties).await;
    let p = sub.publish().await;
    assert_eq!(props(&p).correlation_data, Some(data));
}

// [MQTT-3.3.2-5] a retained message whose expiry interval has passed is not sent to a
// subscriber that arrives afterwards.
#[tokio::test]
async fn expired_retained_message_is_not_sent_to_new_subscriber() {
    let broker = start().await;
    let mut publisher = v5::connect(&broker, "exr-pub").await;
    let properties = v5::PublishProperties {
        message_expiry_interval: Some(1),
        ..Default::default()
    };
    publish_with(&mut publisher, "exr/t", true, b"short-lived", properties).await;

    // Before it expires, a new subscriber gets it.
    let mut early = v5::connect(&broker, "exr-early").await;
    early.subscribe("exr/t", v5::QoS::AtLeastOnce).await;
    assert_eq!(&early.publish().await.payload[..], b"short-lived");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut late = v5::connect(&broker, "exr-late").await;
    late.subscribe("exr/t", v5::QoS::AtLeastOnce).await;
    late.no_publish().await;
}

// [MQTT-3.3.2-5] a message queued for an offline persistent session is deleted, not delivered,
// once its expiry interval has passed; one without expiry is still delivered.
#[tokio::test]
async fn expired_message_queued_for_offline_session_is_not_delivered() {
    let broker = start().await;
    let (mut sub, _) = v5::connect_with(persistent(&broker, "exq-sub", true)).await;
    sub.subscribe("exq/t", v5::QoS::AtLeastOnce).await;
    let mut publisher = v5::connect(&broker, "exq-pub").await;
    go_offline(&broker, sub, 1).await;

    let expiring = v5::PublishProperties {
        message_expiry_interval: Some(1),
        ..Default::default()
    };
    publish_with(&mut publisher, "exq/t", false, b"expires", expiring).await;
    publish_with(
        &mut publisher,
        "exq/t",
        false,
        b"stays",
        v5::PublishProperties::default(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (mut sub, connack) = v5::connect_with(persistent(&broker, "exq-sub", false)).await;
    assert!(connack.session_present, "the session was kept");
    let got: Vec<Bytes> = sub
        .publishes_until_quiet()
        .await
        .into_iter()
        .map(|p| p.payload)
        .collect();
    assert_eq!(got, vec![Bytes::from_static(b"stays")]);
}

// [MQTT-3.3.2-6] the forwarded Message Expiry Interval is the received value minus the time the
// message waited in the server.
#[tokio::test]
async fn forwarded_message_expiry_is_the_remaining_time() {
    let broker = start().await;
    let (mut sub, _) = v5::connect_with(persistent(&broker, "exl-sub", true)).await;
    sub.subscribe("exl/t", v5::QoS::AtLeastOnce).await;
    let mut publisher = v5::connect(&broker, "exl-pub").await;
    let ten = || v5::PublishProperties {
        message_expiry_interval: Some(10),
        ..Default::default()
    };

    // Delivered at once: the interval is there, and no more than was sent.
    publish_with(&mut publisher, "exl/t", false, b"live", ten()).await;
    let p = sub.publish().await;
    let live = props(&p).message_expiry_interval.expect("expiry forwarded");
    assert!((9..=10).contains(&live), "live expiry {live}");

    // Waiting 1.5 s in the offline queue takes at least a second off.
    go_offline(&broker, sub, 1).await;
    publish_with(&mut publisher, "exl/t", false, b"waited", ten()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (mut sub, _) = v5::connect_with(persistent(&broker, "exl-sub", false)).await;
    let p = sub.publish().await;
    assert_eq!(&p.payload[..], b"waited");
    let waited = props(&p).message_expiry_interval.expect("expiry forwarded");
    assert!((1..=9).contains(&waited), "expiry after waiting 1.5 s: {waited}");
}

// [MQTT-3.3.2-12] the server accepts every topic alias from 1 to its Topic Alias Maximum: a
// PUBLISH with topic and alias sets it, a PUBLISH with the alias and an empty topic uses it.
// The subscriber reads the wire (rumqttc would resolve a forwarded alias itself): it gets the
// full topic both times and no alias, since it announced no Topic Alias Maximum (§3.1.2.11.5).
// No Topic Alias goes to a client that announced no maximum [MQTT-3.1.2-27], so none is 0
// [MQTT-3.3.2-8].
#[tokio::test]
async fn topic_alias_from_client_is_resolved() {
    let broker = start().await;
    let mut sub = raw_connected_v5(&broker, "ta-sub", &[]).await;
    sub.send(&subscribe_v5(1, None, &[("ta/#", 1)])).await;
    sub.next_of(9).await;
    let mut publisher = v5::connect(&broker, "ta-pub").await;
    let alias = || v5::PublishProperties {
        topic_alias: Some(1),
        ..Default::default()
    };
    publish_with(&mut publisher, "ta/full/topic", false, b"first", alias()).await;
    publish_with(&mut publisher, "", false, b"second", alias()).await;
    for payload in [&b"first"[..], b"second"] {
        let p = sub.next_publish_v5().await;
        assert_eq!(p.topic, "ta/full/topic");
        assert_eq!(p.payload, payload);
        assert_eq!(p.topic_alias, None, "alias sent to a client that accepts none");
        sub.send(&ack_packet(0x40, p.packet_id)).await;
    }
}

// [MQTT-3.3.2-9] / §3.3.2.3.4: a topic alias above the server's Topic Alias Maximum is answered
// with DISCONNECT 0x94 (topic alias invalid).
#[tokio::test]
async fn topic_alias_above_maximum_gets_disconnect_0x94() {
    let broker = start_with(|s| s.limits.topic_alias_maximum = 5).await;
    let mut raw = raw_connected_v5(&broker, "ta-max", &[]).await;
    let alias = prop::u16(prop::TOPIC_ALIAS, 6);
    raw.send(&publish_v5("ta/x", 1, 1, &alias, b"x")).await;
    assert_eq!(raw.disconnect_reason().await, 0x94);
}

// §3.3.2.3.4: an empty topic with an alias the client never set is a protocol error,
// DISCONNECT 0x82.
#[tokio::test]
async fn unknown_topic_alias_with_empty_topic_gets_disconnect_0x82() {
    let broker = start().await;
    let mut raw = raw_connected_v5(&broker, "ta-unknown", &[]).await;
    let alias = prop::u16(prop::TOPIC_ALIAS, 3);
    raw.send(&publish_v5("", 1, 1, &alias, b"x")).await;
    assert_eq!(raw.disconnect_reason().await, 0x82);
}

// §4.10 request/response: the responder gets the Response Topic and Correlation Data of the
// request and answers on that topic; the requester gets its correlation data back.
#[tokio::test]
async fn request_response_round_trip() {
    let broker = start().await;
    let mut requester = v5::connect(&broker, "rr-requester").await;
    requester
        .subscribe("rr/replies/rr-requester", v5::QoS::AtLeastOnce)
        .await;
    let mut responder = v5::connect(&broker, "rr-responder").await;
    responder.subscribe("rr/service", v5::QoS::AtLeastOnce).await;

    let request = v5::PublishProperties {
        response_topic: Some("rr/replies/rr-requester".into()),
        correlation_data: Some(Bytes::from_static(b"request-42")),
        ..Default::default()
    };
    publish_with(&mut requester, "rr/service", false, b"ping?", request).await;

    let req = responder.publish().await;
    let req_props = props(&req);
    let reply_to = req_props.response_topic.expect("response topic");
    let response = v5::PublishProperties {
        correlation_data: req_props.correlation_data,
        ..Default::default()
    };
    publish_with(&mut responder, &reply_to, false, b"pong", response).await;

    let reply = requester.publish().await;
    assert_eq!(&reply.topic[..], b"rr/replies/rr-requester");
    assert_eq!(&reply.payload[..], b"pong");
    assert_eq!(
        props(&reply).correlation_data,
        Some(Bytes::from_static(b"request-42"))
    );
}
