//! Malformed and hostile input: the offending connection is closed with the right v5 reason code
//! (a plain close for 3.1.1), and other clients carry on untouched.

use super::common::*;

/// One bad packet sent after a successful CONNECT, and the v5 reason the broker must answer.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    v5_reason: u8,
}

fn publish_with_topic(topic: &[u8], v5: bool) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(topic);
    if v5 {
        body.push(0);
    }
    body.extend_from_slice(b"x");
    frame(0x30, &body)
}

fn cases(v5: bool) -> Vec<Case> {
    let props = |p: &[u8]| if v5 { p.to_vec() } else { Vec::new() };
    vec![
        Case {
            // [MQTT-1.5.5-1] a variable byte integer has at most four bytes
            name: "bad remaining length",
            bytes: vec![0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            v5_reason: 0x81,
        },
        Case {
            // [MQTT-3.8.1-1] SUBSCRIBE's reserved flags are 0010
            name: "reserved SUBSCRIBE flags",
            bytes: frame(
                0x80,
                &[&[0x00, 0x01][..], &props(&[0]), &[0x00, 0x01, b'a', 0x00]].concat(),
            ),
            v5_reason: 0x81,
        },
        Case {
            // [MQTT-1.5.4-1] (3.1.1 [MQTT-1.5.3-1]) strings are well-formed UTF-8, the topic
            // name one [MQTT-3.3.2-1]
            name: "invalid UTF-8 in topic",
            bytes: publish_with_topic(&[b'a', 0xC3, 0x28], v5),
            v5_reason: 0x81,
        },
        Case {
            // [MQTT-1.5.4-2] (3.1.1 [MQTT-1.5.3-2]) a string with U+0000 makes a malformed
            // packet (and [MQTT-4.7.3-2] topic names contain none)
            name: "U+0000 in topic",
            bytes: publish_with_topic(b"a\0b", v5),
            v5_reason: 0x81,
        },
        Case {
            // [MQTT-3.3.2-2]; wildcards are for filters only, v5 [MQTT-4.7.0-1], 3.1.1
            // [MQTT-4.7.1-1]
            name: "wildcard in PUBLISH topic",
            bytes: publish_with_topic(b"a/#", v5),
            v5_reason: 0x90,
        },
        Case {
            // [MQTT-3.3.1-4] QoS 3 is malformed
            name: "QoS 3",
            bytes: frame(
                0x36,
                &[&[0x00, 0x01, b'a', 0x00, 0x01][..], &props(&[0])].concat(),
            ),
            v5_reason: 0x81,
        },
        Case {
            // [MQTT-2.2.1-3] (3.1.1 [MQTT-2.3.1-1]) packet identifiers are non-zero
            name: "packet id 0",
            bytes: frame(
                0x32,
                &[&[0x00, 0x01, b'a', 0x00, 0x00][..], &props(&[0])].concat(),
            ),
            v5_reason: 0x81,
        },
        Case {
            // [MQTT-3.1.0-2] a second CONNECT is a protocol error
            name: "second CONNECT",
            bytes: connect_packet(if v5 { 5 } else { 4 }, "again", 60),
            v5_reason: 0x82,
        },
    ]
}

/// A bystander subscribed before the attack still receives publishes after it.
async fn bystander_still_served(broker: &TestBroker, sub: &mut v3::Client, tag: &str) {
    let publisher = v3::connect(broker, &format!("pub-{tag}")).await;
    publisher
        .client
        .publish("bystander/t", v3::QoS::AtLeastOnce, false, tag.to_string())
        .await
        .unwrap();
    let p = sub.publish().await;
    assert_eq!(&p.payload[..], tag.as_bytes());
}

#[tokio::test]
async fn malformed_packets_close_only_that_connection_v311() {
    let broker = start().await;
    let mut sub = v3::connect(&broker, "bystander-3").await;
    sub.subscribe("bystander/#", v3::QoS::AtLeastOnce).await;
    for (i, case) in cases(false).into_iter().enumerate() {
        let mut raw = raw_connected(&broker, 4, &format!("bad3-{i}")).await;
        raw.send(&case.bytes).await;
        let seen = raw.expect_close().await;
        // 3.1.1 has no DISCONNECT from the server: the connection is just closed
        assert!(
            seen.is_empty(),
            "{}: broker sent {seen:?} instead of closing",
            case.name
        );
        bystander_still_served(&broker, &mut sub, &format!("after-{i}")).await;
    }
}

// [MQTT-4.13.1-1] each is closed after a DISCONNECT with one of its Reason Codes [MQTT-3.14.2-1].
#[tokio::test]
async fn malformed_packets_get_the_v5_reason_code() {
    let broker = start().await;
    let mut sub = v3::connect(&broker, "bystander-5").await;
    sub.subscribe("bystander/#", v3::QoS::AtLeastOnce).await;
    for (i, case) in cases(true).into_iter().enumerate() {
        let mut raw = raw_connected(&broker, 5, &format!("bad5-{i}")).await;
        raw.send(&case.bytes).await;
        let seen = raw.expect_close().await;
        let last = seen
            .last()
            .unwrap_or_else(|| panic!("{}: closed without DISCONNECT", case.name));
        assert_eq!(last[0], 0xE0, "{}: expected DISCONNECT, got {last:?}", case.name);
        assert_eq!(last[2], case.v5_reason, "{}: wrong reason in {last:?}", case.name);
        bystander_still_served(&broker, &mut sub, &format!("after5-{i}")).await;
    }
}

#[tokio::test]
async fn duplicate_v5_property_is_a_protocol_error() {
    let broker = start().await;
    let mut raw = raw_connected(&broker, 5, "dup-prop").await;
    // PUBLISH with the payload format indicator twice
    raw.send(&frame(
        0x30,
        &[0x00, 0x01, b'a', 0x04, 0x01, 0x00, 0x01, 0x00, b'x'],
    ))
    .await;
    let seen = raw.expect_close().await;
    assert_eq!(seen.last().map(|p| (p[0], p[2])), Some((0xE0, 0x82)), "{seen:?}");
}

#[tokio::test]
async fn packet_before_connect_closes_without_connack() {
    // [MQTT-3.1.0-1] the first packet is CONNECT
    let broker = start().await;
    let mut raw = Raw::connect(&broker).await;
    raw.send(&publish_with_topic(b"a", false)).await;
    assert!(raw.expect_close().await.is_empty());
}

#[tokio::test]
async fn oversize_packet_is_refused_from_its_header_v5() {
    let broker = start_with(|s| s.limits.max_packet_size = 1024).await;
    let mut sub = v3::connect(&broker, "bystander-big").await;
    sub.subscribe("bystander/#", v3::QoS::AtLeastOnce).await;
    let mut raw = raw_connected(&broker, 5, "big").await;
    // Only the header announcing 4000 bytes is sent: the refusal must not wait for the body.
    raw.send(&[0x30, 0xA0, 0x1F]).await;
    let seen = raw.expect_close().await;
    assert_eq!(seen.last().map(|p| (p[0], p[2])), Some((0xE0, 0x95)), "{seen:?}");
    bystander_still_served(&broker, &mut sub, "after-big").await;
}

#[tokio::test]
async fn oversize_packet_closes_a_v311_connection() {
    let broker = start_with(|s| s.limits.max_packet_size = 1024).await;
    let mut raw = raw_connected(&broker, 4, "big3").await;
    raw.send(&[0x30, 0xA0, 0x1F]).await;
    assert!(raw.expect_close().await.is_empty());
}

#[tokio::test]
async fn random_bytes_never_take_the_broker_down() {
    let broker = start().await;
    let mut sub = v3::connect(&broker, "bystander-fuzz").await;
    sub.subscribe("bystander/#", v3::QoS::AtLeastOnce).await;
    // A small deterministic generator: the same garbage every run.
    let mut seed: u64 = 0x2545F4914F6CDD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..200 {
        let level = if i % 2 == 0 { 4 } else { 5 };
        let mut raw = raw_connected(&broker, level, &format!("fuzz-{i}")).await;
        let len = (next() % 64) as usize + 1;
        let mut garbage: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Mostly valid packet types with random bodies, to get past the first check.
        garbage[0] = (garbage[0] & 0x0F) | (((next() % 14) as u8 + 2) << 4);
        raw.send(&garbage).await;
        // Either the broker answers/waits or closes; it must not die. Drop the socket.
        drop(raw);
    }
    bystander_still_served(&broker, &mut sub, "after-fuzz").await;
    let panics = &broker.server().broker().metrics.connection_panics;
    assert_eq!(
        panics.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "a connection task panicked"
    );
}
