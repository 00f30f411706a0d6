//! What RETAIN does to the retained store, at the byte level, in 3.1.1 and 5.0: a retained
//! message replaces the one before it whatever its QoS, a message without RETAIN neither
//! stores nor removes; and a CONNECT with another protocol name is not served.

use super::common::start;
use super::versions::both_versions;
use super::wire::*;

/// Payload of the retained message a new subscriber to `topic` gets, if any: it subscribes,
/// pings, and takes what came before the PINGRESP.
async fn retained_for(
    addr: std::net::SocketAddr,
    level: Level,
    client_id: &str,
    topic: &str,
) -> Option<Vec<u8>> {
    let (mut raw, _) = Raw::connected(addr, &Connect::new(level, client_id.as_bytes())).await;
    raw.send(&subscribe(level, 1, &[(topic, 0)])).await;
    raw.expect(kind::SUBACK).await;
    raw.send(&pingreq()).await;
    let mut got = None;
    loop {
        let packet = raw.packet().await.expect("PINGRESP");
        if packet[0] == kind::PINGRESP {
            return got;
        }
        let (header, body) = split(&packet).expect("a whole packet");
        assert_eq!(
            header & 0xF1,
            kind::PUBLISH | 1,
            "a retained PUBLISH, got {packet:02x?}"
        );
        let len = u16::from_be_bytes([body[0], body[1]]) as usize;
        let mut rest = &body[2 + len..];
        if level.v5() {
            rest = &rest[1 + rest[0] as usize..];
        }
        assert!(got.is_none(), "one retained message per topic");
        got = Some(rest.to_vec());
    }
}

async fn retain_flag_rules(level: Level) {
    let broker = start().await;
    let (mut publisher, _) = Raw::connected(broker.addr, &Connect::new(level, b"retainer")).await;
    let retained = |payload: &[u8], qos: u8| {
        let mut p = Publish::new(level, "rooms/hall", payload).qos(qos, 1);
        p.retain = true;
        p.bytes()
    };
    publisher.send(&retained(b"first", 1)).await;
    publisher.expect(kind::PUBACK).await;
    // 3.1.1 [MQTT-3.3.1-7]: a retained QoS 0 message replaces the one retained before it
    publisher.send(&retained(b"second", 0)).await;
    // 3.1.1 [MQTT-3.3.1-12], v5 [MQTT-3.3.1-8]: RETAIN 0 neither stores nor removes
    publisher
        .send(&Publish::new(level, "rooms/hall", b"live").bytes())
        .await;
    publisher
        .send(&Publish::new(level, "rooms/attic", b"live").bytes())
        .await;
    publisher.ping().await;
    assert_eq!(
        retained_for(broker.addr, level, "late-hall", "rooms/hall")
            .await
            .as_deref(),
        Some(&b"second"[..])
    );
    assert_eq!(
        retained_for(broker.addr, level, "late-attic", "rooms/attic").await,
        None
    );
}

both_versions! {
    #[tokio::test]
    async fn retained_messages_replace_and_plain_ones_leave_them_v311,
        retained_messages_replace_and_plain_ones_leave_them_v5(level = Level::V311, Level::V5) {
        retain_flag_rules(level).await;
    }
}

async fn wrong_protocol_name(level: Level) {
    let broker = start().await;
    let mut connect = Connect::new(level, b"not-mqtt");
    connect.protocol = Some((b"MQTX".to_vec(), if level.v5() { 5 } else { 4 }));
    let mut raw = Raw::connect(broker.addr).await;
    raw.send(&connect.bytes()).await;
    let seen = raw.expect_close().await;
    match seen.as_slice() {
        [] => {}
        // v5 [MQTT-3.1.2-1]: a CONNACK, if any, says 0x84 unsupported protocol version
        [connack] if level.v5() => {
            let connack = Connack::parse(connack, true).expect("a CONNACK");
            assert_eq!(connack.code, 0x84);
        }
        other => panic!("a wrong protocol name was served: {other:02x?}"),
    }
}

// 3.1.1 [MQTT-3.1.2-1]: the connection is closed, the CONNECT not served
// v5 [MQTT-3.1.2-1]
both_versions! {
    #[tokio::test]
    async fn a_wrong_protocol_name_is_not_served_v311,
        a_wrong_protocol_name_is_not_served_v5(level = Level::V311, Level::V5) {
        wrong_protocol_name(level).await;
    }
}
