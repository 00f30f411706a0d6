//! The seed inputs committed under `seeds/<target>/`: valid packets of every kind and version,
//! built with the project's encoder so they stay valid as the model evolves.
//!
//! `cargo run --example write_seeds` (from `fuzz/`) rewrites them.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use robustmq::protocol::{
    self, Ack, Auth, Connack, ConnackProperties, Connect, Disconnect, MessageProperties, Packet,
    PropertyFields, Publish, QoS, ReasonCode, RetainHandling, Suback, Subscribe, SubscriptionOptions,
    Unsuback, Unsubscribe, Version, Will,
};

/// One seed file: its name and its bytes.
pub type Seed = (String, Vec<u8>);

fn encode(version: Version, packet: &Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    protocol::encode(version, packet, &mut out).expect("seed packets are valid");
    out.to_vec()
}

fn connect(version: Version, client_id: &str, clean_start: bool, will: bool) -> Packet {
    let v5 = version.is_v5();
    Packet::Connect(Box::new(Connect {
        version,
        clean_start,
        keep_alive: 60,
        client_id: Arc::from(client_id),
        username: None,
        password: None,
        will: will.then(|| Will {
            topic: Arc::from("w/gone"),
            payload: Bytes::from_static(b"bye"),
            qos: QoS::AtLeastOnce,
            retain: false,
            delay_interval: 0,
            properties: MessageProperties::default(),
        }),
        session_expiry: if v5 && !clean_start { 30 } else { 0 },
        receive_maximum: if v5 { 10 } else { u16::MAX },
        maximum_packet_size: v5.then_some(4096),
        topic_alias_maximum: if v5 { 2 } else { 0 },
        request_response_info: v5,
        request_problem_info: true,
        user_properties: if v5 {
            vec![(Arc::from("k"), Arc::from("v"))]
        } else {
            Vec::new()
        },
        auth_method: None,
        auth_data: None,
        bridge: false,
    }))
}

fn publish(version: Version, topic: &str, qos: QoS, packet_id: u16, payload: &'static [u8]) -> Packet {
    let v5 = version.is_v5();
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: Arc::from(topic),
        packet_id,
        payload: Bytes::from_static(payload),
        properties: if v5 {
            MessageProperties::from(PropertyFields {
                payload_format_utf8: Some(true),
                message_expiry: Some(60),
                content_type: Some(Arc::from("text/plain")),
                response_topic: Some(Arc::from("reply/t")),
                correlation_data: Some(Bytes::from_static(b"id")),
                user_properties: vec![(Arc::from("k"), Arc::from("v"))],
            })
        } else {
            MessageProperties::default()
        },
        topic_alias: v5.then_some(1),
        subscription_ids: Vec::new(),
    })
}

fn subscribe(version: Version, packet_id: u16, filters: &[&str]) -> Packet {
    let v5 = version.is_v5();
    Packet::Subscribe(Subscribe {
        packet_id,
        subscription_id: v5.then_some(5),
        filters: filters
            .iter()
            .map(|f| {
                (
                    Arc::from(*f),
                    SubscriptionOptions {
                        qos: QoS::ExactlyOnce,
                        no_local: false,
                        retain_as_published: v5,
                        retain_handling: if v5 {
                            RetainHandling::SendIfNew
                        } else {
                            RetainHandling::SendAlways
                        },
                    },
                )
            })
            .collect(),
    })
}

/// A whole client session as one byte stream: what the broker sees from a well-behaved client.
fn session(version: Version, client_id: &str, clean_start: bool) -> Vec<u8> {
    let v5 = version.is_v5();
    let packets = [
        connect(version, client_id, clean_start, true),
        subscribe(version, 1, &["a/#", "$share/g/b/+"]),
        publish(version, "a/b", QoS::AtMostOnce, 0, b"zero"),
        publish(version, "a/b", QoS::AtLeastOnce, 2, b"one"),
        publish(version, "a/c", QoS::ExactlyOnce, 3, b"two"),
        Packet::Pubrel(Ack::success(3)),
        Packet::Puback(Ack::success(1)),
        Packet::Pingreq,
        Packet::Unsubscribe(Unsubscribe {
            packet_id: 4,
            filters: vec![Arc::from("a/#")],
        }),
        Packet::Disconnect(Disconnect {
            reason: ReasonCode::SUCCESS,
            session_expiry: v5.then_some(0),
            reason_string: None,
        }),
    ];
    packets.iter().flat_map(|p| encode(version, p)).collect()
}

/// Seeds of the `decode` target: single packets of every type, both directions, each version,
/// and one stream of several packets.
pub fn decode_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for version in [Version::V3_1, Version::V3_1_1, Version::V5] {
        let tag = match version {
            Version::V3_1 => "v31",
            Version::V3_1_1 => "v311",
            Version::V5 => "v5",
        };
        let v5 = version.is_v5();
        let mut add =
            |name: &str, packet: Packet| seeds.push((format!("{tag}-{name}"), encode(version, &packet)));
        add("connect", connect(version, "seed", true, false));
        add("connect-will-persistent", connect(version, "seed", false, true));
        if version == Version::V3_1 {
            continue;
        }
        add(
            "connack",
            Packet::Connack(Connack {
                session_present: true,
                reason: ReasonCode::SUCCESS,
                properties: if v5 {
                    ConnackProperties {
                        receive_maximum: Some(10),
                        maximum_packet_size: Some(1024),
                        assigned_client_id: Some(Arc::from("auto")),
                        topic_alias_maximum: Some(3),
                        server_keep_alive: Some(30),
                        ..Default::default()
                    }
                } else {
                    ConnackProperties::default()
                },
            }),
        );
        add(
            "publish-qos0",
            publish(version, "a/b", QoS::AtMostOnce, 0, b"hello"),
        );
        add(
            "publish-qos1",
            publish(version, "a/b", QoS::AtLeastOnce, 1, b"hello"),
        );
        add(
            "publish-qos2",
            publish(version, "a/b", QoS::ExactlyOnce, 2, b"hello"),
        );
        add("puback", Packet::Puback(Ack::success(1)));
        add("pubrec", Packet::Pubrec(Ack::success(2)));
        add("pubrel", Packet::Pubrel(Ack::success(2)));
        add(
            "pubcomp",
            Packet::Pubcomp(Ack {
                packet_id: 2,
                reason: if v5 {
                    ReasonCode::PACKET_ID_NOT_FOUND
                } else {
                    ReasonCode::SUCCESS
                },
                reason_string: v5.then(|| Arc::from("not found")),
            }),
        );
        add("subscribe", subscribe(version, 3, &["a/+", "#", "$share/g/x"]));
        add(
            "suback",
            Packet::Suback(Suback {
                packet_id: 3,
                reasons: vec![
                    ReasonCode::SUCCESS,
                    ReasonCode::GRANTED_QOS_1,
                    ReasonCode::GRANTED_QOS_2,
                    ReasonCode::UNSPECIFIED_ERROR,
                ],
                reason_string: None,
            }),
        );
        add(
            "unsubscribe",
            Packet::Unsubscribe(Unsubscribe {
                packet_id: 4,
                filters: vec![Arc::from("a/+")],
            }),
        );
        add(
            "unsuback",
            Packet::Unsuback(Unsuback {
                packet_id: 4,
                reasons: if v5 {
                    vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED]
                } else {
                    Vec::new()
                },
            }),
        );
        add("pingreq", Packet::Pingreq);
        add("pingresp", Packet::Pingresp);
        add(
            "disconnect",
            Packet::Disconnect(Disconnect {
                reason: if v5 {
                    ReasonCode::DISCONNECT_WITH_WILL
                } else {
                    ReasonCode::SUCCESS
                },
                session_expiry: v5.then_some(10),
                reason_string: v5.then(|| Arc::from("bye")),
            }),
        );
        if v5 {
            add(
                "auth",
                Packet::Auth(Auth {
                    // Continue authentication, a code the broker itself never sends.
                    reason: ReasonCode::new(0x18),
                    method: Some(Arc::from("SCRAM-SHA-1")),
                    data: Some(Bytes::from_static(b"\x01\x02")),
                }),
            );
        }
    }
    seeds.push(("v311-stream".into(), session(Version::V3_1_1, "seed", true)));
    seeds.push(("v5-stream".into(), session(Version::V5, "seed", true)));
    // A finding, kept as written: a 3.1.1 CONNECT with a password but no user name, read as
    // a later packet (not the first), decoded there while the first-packet path refused it.
    seeds.push((
        "finding-v311-connect-password-without-user-name".into(),
        PASSWORD_WITHOUT_USER_NAME.to_vec(),
    ));
    seeds
}

/// The `decode` input that found the CONNECT rules differing between the two decoding paths.
const PASSWORD_WITHOUT_USER_NAME: &[u8] = &[
    16, 29, 0, 4, 77, 81, 84, 84, 4, 78, 0, 60, 0, 4, 115, 101, 101, 100, 0, 6, 119, 47, 103, 111, 110, 101,
    0, 3, 23, 138, 118, 16, 29, 0, 4, 77, 81, 84, 84, 4, 78, 0, 60, 0, 4, 115, 101, 101, 100, 0, 6, 119, 47,
    103, 111, 110, 101, 0, 1, 0, 0, 0, 0, 0, 0, 2, 3, 23, 138, 118, 101,
];

/// Seeds of the `connection` target: whole sessions in raw mode (first byte 0x00: written as
/// they are, then half-close), and a few starting points for the structured mode.
pub fn connection_seeds() -> Vec<Seed> {
    let raw = |bytes: Vec<u8>| [vec![0x00], bytes].concat();
    vec![
        (
            "raw-v311-session".into(),
            raw(session(Version::V3_1_1, "c0", true)),
        ),
        (
            "raw-v311-persistent".into(),
            raw(session(Version::V3_1_1, "c1", false)),
        ),
        ("raw-v31-session".into(), raw(session(Version::V3_1, "c2", true))),
        ("raw-v5-session".into(), raw(session(Version::V5, "c3", true))),
        ("raw-v5-persistent".into(), raw(session(Version::V5, "c0", false))),
        (
            "raw-v5-admin".into(),
            raw([
                encode(Version::V5, &connect(Version::V5, "c1", true, false)),
                encode(
                    Version::V5,
                    &subscribe(Version::V5, 1, &["$CONTROL/robustmq/v1/clients/list/response"]),
                ),
                encode(
                    Version::V5,
                    &Packet::Publish(Publish {
                        dup: false,
                        qos: QoS::AtLeastOnce,
                        retain: false,
                        topic: Arc::from("$CONTROL/robustmq/v1/clients/list"),
                        packet_id: 1,
                        payload: Bytes::from_static(b"{}"),
                        properties: MessageProperties::from(PropertyFields {
                            response_topic: Some(Arc::from("$CONTROL/robustmq/v1/clients/list/response")),
                            ..Default::default()
                        }),
                        topic_alias: None,
                        subscription_ids: Vec::new(),
                    }),
                ),
            ]
            .concat()),
        ),
        (
            "structured-a".into(),
            b"\x80\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f".to_vec(),
        ),
        (
            "structured-b".into(),
            [vec![0x80], (0..=255u8).rev().collect()].concat(),
        ),
    ]
}
