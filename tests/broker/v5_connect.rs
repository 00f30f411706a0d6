//! Connecting: the v5 CONNACK properties, client identifiers, protocol levels, session takeover,
//! enhanced authentication and a second CONNECT.

use super::common::*;

use rumqttc::v5::mqttbytes::v5::ConnAckProperties;

/// Connects a rumqttc v5 client and returns the CONNACK's properties.
async fn connack_properties(broker: &TestBroker, id: &str) -> (v5::Client, ConnAckProperties) {
    let (client, connack) = v5::connect_with(v5::options(broker, id)).await;
    let props = connack.properties.expect("a v5 CONNACK carries properties");
    (client, props)
}

// §3.2.2.3.3 Receive Maximum: the server tells the client how many QoS 1/2 PUBLISH packets it
// will process concurrently; it is `limits.max_inflight`.
#[tokio::test]
async fn connack_receive_maximum_is_max_inflight() {
    let broker = start().await;
    let (_c, props) = connack_properties(&broker, "rm-default").await;
    assert_eq!(props.receive_max, Some(100), "default limits.max_inflight");

    let broker = start_with(|s| s.limits.max_inflight = 7).await;
    let (_c, props) = connack_properties(&broker, "rm-seven").await;
    assert_eq!(props.receive_max, Some(7));
}

// §3.2.2.3.5 Retain Available: absent or 1 means retained messages are supported; the broker
// must then keep its word.
#[tokio::test]
async fn connack_retain_available() {
    let broker = start().await;
    let (mut publisher, props) = connack_properties(&broker, "ra-pub").await;
    assert_eq!(props.retain_available.unwrap_or(1), 1, "{props:?}");

    publisher
        .publish_acked("ra/t", v5::QoS::AtLeastOnce, true, b"kept")
        .await;
    let mut sub = v5::connect(&broker, "ra-sub").await;
    sub.subscribe("ra/t", v5::QoS::AtLeastOnce).await;
    let p = sub.publish().await;
    assert_eq!(&p.payload[..], b"kept");
    assert!(p.retain);
}

// §3.2.2.3.6 Maximum Packet Size: the largest packet the server accepts, `limits.max_packet_size`.
#[tokio::test]
async fn connack_maximum_packet_size_is_limit() {
    let broker = start().await;
    let (_c, props) = connack_properties(&broker, "mps-default").await;
    assert_eq!(props.max_packet_size, Some(1024 * 1024), "default 1 MiB");

    let broker = start_with(|s| s.limits.max_packet_size = 2048).await;
    let (_c, props) = connack_properties(&broker, "mps-2k").await;
    assert_eq!(props.max_packet_size, Some(2048));
}

// §3.2.2.3.8 Topic Alias Maximum: the highest alias the client may use [MQTT-3.2.2-17].
#[tokio::test]
async fn connack_topic_alias_maximum_is_limit() {
    let broker = start_with(|s| s.limits.topic_alias_maximum = 10).await;
    let (_c, props) = connack_properties(&broker, "tam").await;
    assert_eq!(props.topic_alias_max, Some(10));
}

// §3.2.2.3.11-13 Wildcard Subscription / Subscription Identifiers / Shared Subscription
// Available: absent or 1 means supported, and then such subscriptions are granted.
#[tokio::test]
async fn connack_wildcard_subscription_id_and_shared_subscription_available() {
    let broker = start().await;
    let (mut c, props) = connack_properties(&broker, "avail").await;
    assert_eq!(props.wildcard_subscription_available.unwrap_or(1), 1, "{props:?}");
    assert_eq!(
        props.subscription_identifiers_available.unwrap_or(1),
        1,
        "{props:?}"
    );
    assert_eq!(props.shared_subscription_available.unwrap_or(1), 1, "{props:?}");

    c.client
        .subscribe_with_properties(
            "avail/+/x",
            v5::QoS::AtLeastOnce,
            v5::SubscribeProperties {
                id: Some(3),
                user_properties: Vec::new(),
            },
        )
        .await
        .unwrap();
    let codes = c
        .next(|p| match p {
            v5::Packet::SubAck(s) => Some(s.return_codes),
            _ => None,
        })
        .await;
    assert_eq!(
        codes,
        vec![v5::SubscribeReasonCode::Success(v5::QoS::AtLeastOnce)]
    );
    let codes = c.subscribe("$share/g/avail/#", v5::QoS::AtLeastOnce).await;
    assert_eq!(
        codes,
        vec![v5::SubscribeReasonCode::Success(v5::QoS::AtLeastOnce)]
    );
}

// [MQTT-3.2.2-16] a zero-length client identifier gets an Assigned Client Identifier in CONNACK,
// one not used by any other session.
// [MQTT-3.1.3-6] a unique identifier is assigned; [MQTT-3.1.3-7] and returned.
#[tokio::test]
async fn empty_client_id_gets_assigned_client_identifier() {
    let broker = start().await;
    let (_a, a) = connack_properties(&broker, "").await;
    let (_b, b) = connack_properties(&broker, "").await;
    let a = a.assigned_client_identifier.expect("assigned client id");
    let b = b.assigned_client_identifier.expect("assigned client id");
    assert!(!a.is_empty());
    assert!(!b.is_empty());
    assert_ne!(a, b, "two sessions got the same identifier");
}

// [MQTT-3.1.3-8] (3.1.1) a zero-byte client id with CleanSession 0 gets CONNACK return code 0x02
// (identifier rejected) and the connection is closed.
// A rejected client id [MQTT-3.1.3-9]: Session Present 0 [MQTT-3.2.2-4], then the close
// [MQTT-3.2.2-5].
#[tokio::test]
async fn v311_empty_client_id_without_clean_session_is_refused() {
    let broker = start().await;
    let mut raw = Raw::connect(&broker).await;
    raw.send(&connect_packet_with(4, "", 60, 0x00, &[], None)).await;
    let seen = raw.expect_close().await;
    assert_eq!(seen, vec![vec![0x20, 0x02, 0x00, 0x02]]);
}

// [MQTT-3.1.2-2] an unsupported protocol level is answered with CONNACK return code 0x01
// (unacceptable protocol version, 3.1.1 format) and the connection is closed.
// 3.1.1 [MQTT-3.2.2-4]: Session Present 0 in the refusal.
#[tokio::test]
async fn unsupported_protocol_level_gets_return_code_1_then_close() {
    let broker = start().await;
    for level in [2u8, 6] {
        let mut raw = Raw::connect(&broker).await;
        raw.send(&connect_packet(level, &format!("level{level}"), 60))
            .await;
        let seen = raw.expect_close().await;
        assert_eq!(seen, vec![vec![0x20, 0x02, 0x00, 0x01]], "level {level}");
    }
}

// MQTT 3.1: protocol name "MQIsdp", level 3, is still spoken.
#[tokio::test]
async fn mqtt_3_1_mqisdp_connects() {
    let broker = start().await;
    let mut body = vec![0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3, 0x02, 0, 60];
    body.extend_from_slice(&13u16.to_be_bytes());
    body.extend_from_slice(b"mqisdp-client");
    let mut raw = Raw::connect(&broker).await;
    raw.send(&frame(0x10, &body)).await;
    assert_eq!(raw.packet().await, Some(vec![0x20, 0x02, 0x00, 0x00]));

    // The 3.1 packets after CONNECT are those of 3.1.1: subscribe, publish, receive.
    let suback = raw.subscribe(4, 1, "mqisdp/t", 0).await;
    assert_eq!(suback, vec![0x90, 0x03, 0x00, 0x01, 0x00]);
    raw.send(&publish_packet(4, "mqisdp/t", 0, 0, b"old", false, false))
        .await;
    let p = parse_publish(4, &raw.next_of(3).await);
    assert_eq!(p.topic, "mqisdp/t");
    assert_eq!(p.payload, b"old");
}

// [MQTT-3.1.4-3] a second connection with the same client id takes the session over: the old
// v5 connection gets DISCONNECT 0x8E (session taken over) and is closed.
#[tokio::test]
async fn session_takeover_sends_disconnect_0x8e_to_old_client() {
    let broker = start().await;
    let mut old = raw_connected_v5(&broker, "takeover", &[]).await;
    let _new = v5::connect(&broker, "takeover").await;
    assert_eq!(old.disconnect_reason().await, 0x8E);
}

// [MQTT-4.12.0-1] an unsupported Authentication Method gets CONNACK 0x8C (bad authentication
// method) and the connection is closed [MQTT-3.2.2-7].
// [MQTT-4.13.2-1] a reason code of 0x80 or more ends the connection.
#[tokio::test]
async fn enhanced_auth_method_is_refused_with_0x8c() {
    let broker = start().await;
    let mut raw = Raw::connect(&broker).await;
    let props = prop::string(prop::AUTH_METHOD, b"SCRAM-SHA-1");
    raw.send(&connect_packet_with(5, "enhanced-auth", 60, 0x02, &props, None))
        .await;
    let seen = raw.expect_close().await;
    assert_eq!(seen.len(), 1, "only a CONNACK before close: {seen:?}");
    let connack = &seen[0];
    assert_eq!(connack[0], 0x20, "{connack:?}");
    assert_eq!(connack[2], 0x00, "session present must be 0 [MQTT-3.2.2-6]");
    assert_eq!(connack[3], 0x8C, "reason code: {connack:?}");
}

// [MQTT-3.1.0-2] a second CONNECT on a connection is a protocol error: DISCONNECT 0x82, close.
// No second CONNACK [MQTT-3.2.0-2].
#[tokio::test]
async fn second_connect_is_a_protocol_error() {
    let broker = start().await;
    let mut raw = raw_connected_v5(&broker, "twice", &[]).await;
    raw.send(&connect_packet(5, "twice", 60)).await;
    assert_eq!(raw.disconnect_reason().await, 0x82);
}

// [MQTT-3.1.0-2] a second CONNECT is a protocol error whatever it holds: one the first-packet
// rules would refuse with a CONNACK-only reason (0x84 unsupported version, 0x85 client
// identifier not valid) still gets DISCONNECT 0x82, a reason a DISCONNECT may carry (§3.14.2.1).
#[tokio::test]
async fn a_second_connect_that_would_be_refused_is_still_a_protocol_error() {
    let broker = start().await;
    let mut unsupported = connect_packet(5, "twice", 60);
    assert_eq!(&unsupported[2..9], b"\0\x04MQTT\x05", "the level byte is at 8");
    unsupported[8] = 7;
    for second in [unsupported, connect_packet(5, "a\0b", 60)] {
        let mut raw = raw_connected_v5(&broker, "twice", &[]).await;
        raw.send(&second).await;
        assert_eq!(raw.disconnect_reason().await, 0x82, "{second:02x?}");
    }
}
