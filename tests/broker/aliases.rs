//! Topic aliases from the broker to a v5 client (v5 §3.3.2.3.4): a client that announces a
//! Topic Alias Maximum gets repeated topics as an alias, never one above its maximum
//! ([MQTT-3.1.2-26], [MQTT-3.3.2-11]); a client that announces none gets none ([MQTT-3.1.2-27]);
//! a new connection starts afresh.

use super::common::start;
use super::wire::*;

/// Topic name and Topic Alias property of a v5 QoS 0 PUBLISH.
fn topic_and_alias(packet: &[u8]) -> (String, Option<u16>) {
    let (header, body) = split(packet).expect("a whole packet");
    assert_eq!(
        header & 0xF0,
        kind::PUBLISH,
        "PUBLISH expected, got {packet:02x?}"
    );
    let len = u16::from_be_bytes([body[0], body[1]]) as usize;
    let topic = String::from_utf8(body[2..2 + len].to_vec()).expect("UTF-8 topic");
    let props = parse_props(&body[2 + len..]).expect("properties");
    let alias = props
        .iter()
        .find(|(id, _)| *id == 0x23)
        .map(|(_, v)| u16::from_be_bytes([v[0], v[1]]));
    (topic, alias)
}

/// A v5 subscriber to `sensors/#` whose CONNECT says `alias_max` (absent when `None`).
async fn subscriber(addr: std::net::SocketAddr, client_id: &str, alias_max: Option<u16>) -> Raw {
    let mut connect = Connect::v5(client_id);
    if let Some(max) = alias_max {
        connect.props = Props::new().u16(0x22, max);
    }
    let (mut raw, connack) = Raw::connected(addr, &connect).await;
    assert_eq!(connack.code, 0);
    raw.send(&subscribe(Level::V5, 1, &[("sensors/#", 0)])).await;
    raw.expect(kind::SUBACK).await;
    raw
}

/// Publishes `topics` in order and returns (topic, alias) of each as `raw` receives it.
async fn round(addr: std::net::SocketAddr, raw: &mut Raw, topics: &[&str]) -> Vec<(String, Option<u16>)> {
    let (mut publisher, _) = Raw::connected(addr, &Connect::v5("alias-publisher")).await;
    for topic in topics {
        publisher
            .send(&Publish::new(Level::V5, topic, b"21.5").bytes())
            .await;
    }
    let mut got = Vec::new();
    for _ in topics {
        got.push(topic_and_alias(&raw.expect(kind::PUBLISH).await));
    }
    got
}

fn full(topic: &str, alias: Option<u16>) -> (String, Option<u16>) {
    (topic.to_string(), alias)
}

#[tokio::test]
async fn repeated_topics_go_as_aliases_never_above_the_clients_maximum_mqtt_3_3_2_11() {
    let broker = start().await;
    let mut raw = subscriber(broker.addr, "alias-2", Some(2)).await;
    let got = round(
        broker.addr,
        &mut raw,
        &[
            "sensors/kitchen",
            "sensors/kitchen",
            "sensors/hall",
            "sensors/attic",
            "sensors/hall",
        ],
    )
    .await;
    assert_eq!(
        got,
        [
            full("sensors/kitchen", Some(1)),
            full("", Some(1)),
            full("sensors/hall", Some(2)),
            // Both aliases given: the third topic goes in full, without one.
            full("sensors/attic", None),
            full("", Some(2)),
        ]
    );

    // A new connection to the same client id knows no alias: the topic goes in full again.
    drop(raw);
    let mut again = subscriber(broker.addr, "alias-2", Some(2)).await;
    let got = round(broker.addr, &mut again, &["sensors/kitchen"]).await;
    assert_eq!(got, [full("sensors/kitchen", Some(1))]);
}

#[tokio::test]
async fn a_client_without_a_topic_alias_maximum_gets_no_alias_mqtt_3_1_2_27() {
    let broker = start().await;
    let mut raw = subscriber(broker.addr, "alias-none", None).await;
    let got = round(broker.addr, &mut raw, &["sensors/kitchen", "sensors/kitchen"]).await;
    assert_eq!(
        got,
        [full("sensors/kitchen", None), full("sensors/kitchen", None)]
    );
}
