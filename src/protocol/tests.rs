//! Codec cases that ruled out mqttbytes, kept as regression tests of this protocol layer, plus
//! round trips of what the broker encodes.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::*;

fn frame_of(bytes: &[u8]) -> Frame {
    next_frame(bytes, usize::MAX).expect("frames").expect("complete")
}

#[test]
fn disconnect_e0_01_00_is_one_whole_packet() {
    let bytes = [0xE0, 0x01, 0x00];
    let frame = frame_of(&bytes);
    assert_eq!(frame.len, 3);
    match decode(Version::V5, &bytes[..frame.len]).unwrap() {
        Packet::Disconnect(d) => assert_eq!(d.reason, ReasonCode::SUCCESS),
        other => panic!("{other:?}"),
    }
}

#[test]
fn plus_in_publish_topic_is_refused() {
    // [MQTT-3.3.2-2] the topic name of a PUBLISH contains no wildcard characters
    let bytes = [0x30, 0x05, 0x00, 0x03, b'a', b'/', b'+'];
    let err = decode(Version::V3_1_1, &bytes).unwrap_err();
    assert!(matches!(err, DecodeError::TopicName(_)), "{err:?}");
    assert_eq!(err.reason_code(), ReasonCode::TOPIC_NAME_INVALID);
}

#[test]
fn hash_in_publish_topic_is_refused_in_v5() {
    let bytes = [0x30, 0x06, 0x00, 0x03, b'a', b'/', b'#', 0x00];
    assert!(matches!(
        decode(Version::V5, &bytes),
        Err(DecodeError::TopicName(_))
    ));
}

#[test]
fn subscribe_with_wrong_header_flags_is_malformed() {
    // [MQTT-3.8.1-1] bits 3..0 of SUBSCRIBE's fixed header are 0010
    let bytes = [0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00];
    let err = decode(Version::V3_1_1, &bytes).unwrap_err();
    assert_eq!(err.reason_code(), ReasonCode::MALFORMED_PACKET, "{err:?}");
    let good = [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00];
    assert!(matches!(decode(Version::V3_1_1, &good), Ok(Packet::Subscribe(_))));
}

#[test]
fn auth_packet_decodes_in_v5() {
    // AUTH with reason 0x19 (re-authenticate) and an authentication method property
    let bytes = [0xF0, 0x08, 0x19, 0x06, 0x15, 0x00, 0x03, b'f', b'o', b'o'];
    match decode(Version::V5, &bytes).unwrap() {
        Packet::Auth(a) => {
            assert_eq!(a.reason, ReasonCode::new(0x19));
            assert_eq!(a.method.as_deref(), Some("foo"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn mqtt_3_1_connect_decodes() {
    let mut body = vec![0x00, 0x06];
    body.extend_from_slice(b"MQIsdp");
    body.extend_from_slice(&[0x03, 0x02, 0x00, 0x3C, 0x00, 0x02, b'c', b'1']);
    let mut bytes = vec![0x10, body.len() as u8];
    bytes.extend_from_slice(&body);
    let connect = decode_connect(&bytes, 2).unwrap();
    assert_eq!(connect.version, Version::V3_1);
    assert_eq!(&*connect.client_id, "c1");
    assert!(connect.clean_start);
    assert_eq!(connect.keep_alive, 60);
}

#[test]
fn unknown_protocol_level_is_reported_as_such() {
    let bytes = [
        0x10, 0x0C, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x06, 0x02, 0x00, 0x3C, 0x00, 0x00,
    ];
    assert_eq!(decode_connect(&bytes, 2), Err(DecodeError::UnsupportedVersion(6)));
}

#[test]
fn will_retain_without_will_flag_is_malformed() {
    // [MQTT-3.1.2-15] will retain is 0 when the will flag is 0 (3.1.1; part of 3.1.1
    // [MQTT-3.1.2-11], whose v5 counterpart is [MQTT-3.1.2-13])
    let bytes = [
        0x10, 0x0C, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x22, 0x00, 0x3C, 0x00, 0x00,
    ];
    assert!(matches!(
        decode_connect(&bytes, 2),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn string_over_65535_bytes_is_refused_on_encode_not_wrapped() {
    let publish = Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: Arc::from("t".repeat(70_000)),
        packet_id: 0,
        payload: Bytes::new(),
        properties: MessageProperties::default(),
        topic_alias: None,
        subscription_ids: Vec::new(),
    };
    let mut out = BytesMut::new();
    assert_eq!(
        encode_publish(Version::V3_1_1, &publish, &mut out),
        Err(EncodeError::FieldTooLong("topic name"))
    );
    assert!(out.is_empty());
}

#[test]
fn qos_3_publish_is_malformed() {
    let bytes = [0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01];
    assert_eq!(
        decode(Version::V3_1_1, &bytes).unwrap_err().reason_code(),
        ReasonCode::MALFORMED_PACKET
    );
}

#[test]
fn packet_id_zero_is_malformed() {
    let bytes = [0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x00];
    assert_eq!(
        decode(Version::V3_1_1, &bytes).unwrap_err().reason_code(),
        ReasonCode::MALFORMED_PACKET
    );
}

#[test]
fn duplicate_v5_property_is_a_protocol_error() {
    // two payload format indicators
    let bytes = [0x30, 0x08, 0x00, 0x01, b'a', 0x04, 0x01, 0x00, 0x01, 0x00];
    assert_eq!(
        decode(Version::V5, &bytes).unwrap_err().reason_code(),
        ReasonCode::PROTOCOL_ERROR
    );
}

fn sample_publish(version: Version) -> Publish {
    Publish {
        dup: true,
        qos: QoS::ExactlyOnce,
        retain: true,
        topic: Arc::from("a/b"),
        packet_id: 7,
        payload: Bytes::from_static(b"payload"),
        properties: if version.is_v5() {
            MessageProperties::from(PropertyFields {
                payload_format_utf8: Some(true),
                message_expiry: Some(30),
                content_type: Some(Arc::from("text/plain")),
                response_topic: Some(Arc::from("reply/here")),
                correlation_data: Some(Bytes::from_static(b"\x01\x02")),
                user_properties: vec![(Arc::from("k"), Arc::from("v")), (Arc::from("k"), Arc::from("w"))],
            })
        } else {
            MessageProperties::default()
        },
        topic_alias: None,
        subscription_ids: Vec::new(),
    }
}

#[test]
fn publish_round_trips_through_the_codec_in_every_version() {
    for version in [Version::V3_1_1, Version::V5] {
        let publish = sample_publish(version);
        let mut out = BytesMut::new();
        encode_publish(version, &publish, &mut out).unwrap();
        assert_eq!(out.len(), publish_len(version, &publish).unwrap());
        assert_eq!(frame_of(&out).len, out.len());
        match decode(version, &out).unwrap() {
            Packet::Publish(p) => assert_eq!(p, publish, "{version}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn v5_publish_carries_every_subscription_identifier() {
    let mut publish = sample_publish(Version::V5);
    publish.subscription_ids = vec![1, 200_000];
    let mut out = BytesMut::new();
    encode_publish(Version::V5, &publish, &mut out).unwrap();
    // property 0x0B appears twice: 0x0B 0x01 and 0x0B + 3-byte varint of 200000
    let ids: Vec<usize> = out
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == &[0x0B, 0x01])
        .map(|(i, _)| i)
        .collect();
    assert_eq!(ids.len(), 1);
    assert!(out.windows(4).any(|w| w == [0x0B, 0xC0, 0x9A, 0x0C]));
}

#[test]
fn v5_acks_with_reason_and_string_encode_and_decode() {
    let ack = Ack {
        packet_id: 9,
        reason: ReasonCode::NO_MATCHING_SUBSCRIBERS,
        reason_string: Some(Arc::from("nobody listens")),
    };
    let mut out = BytesMut::new();
    encode(Version::V5, &Packet::Puback(ack.clone()), &mut out).unwrap();
    assert_eq!(decode(Version::V5, &out).unwrap(), Packet::Puback(ack));
    let mut short = BytesMut::new();
    encode(Version::V5, &Packet::Pubrec(Ack::success(3)), &mut short).unwrap();
    assert_eq!(&short[..], &[0x50, 0x02, 0x00, 0x03]);
}

#[test]
fn v311_connack_maps_v5_reasons_to_return_codes() {
    let mut out = BytesMut::new();
    let connack = Connack {
        session_present: true,
        reason: ReasonCode::NOT_AUTHORIZED,
        properties: ConnackProperties::default(),
    };
    encode(Version::V3_1_1, &Packet::Connack(connack), &mut out).unwrap();
    // [MQTT-3.2.2-4] a refusal never says a session is present
    assert_eq!(&out[..], &[0x20, 0x02, 0x00, 0x05]);
}

#[test]
fn client_packets_round_trip_in_both_versions() {
    for version in [Version::V3_1_1, Version::V5] {
        let v5 = version.is_v5();
        let connect = Connect {
            version,
            clean_start: false,
            keep_alive: 30,
            client_id: Arc::from("c-1"),
            username: Some(Arc::from("user")),
            password: Some(Bytes::from_static(b"secret")),
            will: Some(Will {
                topic: Arc::from("w/t"),
                payload: Bytes::from_static(b"gone"),
                qos: QoS::AtLeastOnce,
                retain: true,
                delay_interval: if v5 { 5 } else { 0 },
                properties: MessageProperties::default(),
            }),
            session_expiry: if v5 { 60 } else { 0 },
            receive_maximum: if v5 { 10 } else { u16::MAX },
            maximum_packet_size: v5.then_some(4096),
            topic_alias_maximum: if v5 { 3 } else { 0 },
            request_response_info: v5,
            request_problem_info: true,
            user_properties: Vec::new(),
            auth_method: None,
            auth_data: None,
            bridge: false,
        };
        let mut out = BytesMut::new();
        encode(version, &Packet::Connect(Box::new(connect.clone())), &mut out).unwrap();
        let frame = frame_of(&out);
        assert_eq!(
            decode_connect(&out, frame.body_start).unwrap(),
            connect,
            "{version}"
        );

        let subscribe = Subscribe {
            packet_id: 3,
            subscription_id: v5.then_some(7),
            filters: vec![(
                Arc::from("a/+"),
                SubscriptionOptions {
                    qos: QoS::ExactlyOnce,
                    no_local: v5,
                    retain_as_published: v5,
                    retain_handling: if v5 {
                        RetainHandling::SendIfNew
                    } else {
                        RetainHandling::SendAlways
                    },
                },
            )],
        };
        for packet in [
            Packet::Subscribe(subscribe),
            Packet::Unsubscribe(Unsubscribe {
                packet_id: 4,
                filters: vec![Arc::from("a/+")],
            }),
            Packet::Pingreq,
            Packet::Disconnect(Disconnect::default()),
        ] {
            let mut out = BytesMut::new();
            encode(version, &packet, &mut out).unwrap();
            assert_eq!(decode(version, &out).unwrap(), packet, "{version}");
        }
    }
}

#[test]
fn v5_connack_properties_decode_for_clients() {
    let connack = Connack {
        session_present: true,
        reason: ReasonCode::SUCCESS,
        properties: ConnackProperties {
            receive_maximum: Some(10),
            assigned_client_id: Some(Arc::from("auto-1")),
            topic_alias_maximum: Some(5),
            server_keep_alive: Some(20),
            ..Default::default()
        },
    };
    let mut out = BytesMut::new();
    encode(Version::V5, &Packet::Connack(connack.clone()), &mut out).unwrap();
    assert_eq!(decode(Version::V5, &out).unwrap(), Packet::Connack(connack));
}

/// A fixed-seed xorshift generator: the same inputs on every run.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_frames_never_panic_the_decoder() {
    // Nothing from the network may panic the broker: every packet type, random bodies, every
    // version. Frames come from `next_frame`, as the connection builds them.
    let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15);
    let mut decoded = 0;
    for i in 0..200_000 {
        let len = (rng.next() % 48) as usize;
        let mut bytes = vec![((rng.next() % 16) as u8) << 4 | (rng.next() % 16) as u8];
        bytes.push(len as u8);
        bytes.extend((0..len).map(|_| rng.next() as u8));
        let frame = next_frame(&bytes, usize::MAX)
            .expect("one-byte length")
            .expect("complete");
        let version = [Version::V3_1, Version::V3_1_1, Version::V5][i % 3];
        if decode(version, &bytes[..frame.len]).is_ok() {
            decoded += 1;
        }
        let _ = decode_connect(&bytes[..frame.len], frame.body_start);
    }
    // Some random frames are valid packets (bodiless PINGREQ, short acks...): the decoder was
    // exercised. Few: a random body rarely ends exactly where the packet's fields do.
    assert!(decoded > 100, "only {decoded} decoded");
}

#[test]
fn mutated_valid_packets_never_panic_the_decoder() {
    let mut rng = Xorshift(42);
    let mut seeds = Vec::new();
    for version in [Version::V3_1_1, Version::V5] {
        let mut out = BytesMut::new();
        encode_publish(version, &sample_publish(version), &mut out).unwrap();
        seeds.push((version, out.to_vec()));
    }
    let mut connect = connect_packet_bytes();
    seeds.push((Version::V5, std::mem::take(&mut connect)));
    for _ in 0..100_000 {
        let (version, seed) = &seeds[(rng.next() % seeds.len() as u64) as usize];
        let mut bytes = seed.clone();
        for _ in 0..1 + rng.next() % 4 {
            let at = (rng.next() % bytes.len() as u64) as usize;
            bytes[at] = rng.next() as u8;
        }
        if let Ok(Some(frame)) = next_frame(&bytes, usize::MAX) {
            let _ = decode(*version, &bytes[..frame.len]);
            let _ = decode_connect(&bytes[..frame.len], frame.body_start);
        }
    }
}

fn connect_packet_bytes() -> Vec<u8> {
    let connect = Connect {
        version: Version::V5,
        clean_start: true,
        keep_alive: 10,
        client_id: Arc::from("fuzz"),
        username: Some(Arc::from("u")),
        password: Some(Bytes::from_static(b"p")),
        will: Some(Will {
            topic: Arc::from("w"),
            payload: Bytes::from_static(b"x"),
            qos: QoS::AtLeastOnce,
            retain: false,
            delay_interval: 3,
            properties: MessageProperties::from(PropertyFields {
                user_properties: vec![(Arc::from("a"), Arc::from("b"))],
                ..Default::default()
            }),
        }),
        session_expiry: 30,
        receive_maximum: 5,
        maximum_packet_size: Some(1000),
        topic_alias_maximum: 2,
        request_response_info: true,
        request_problem_info: false,
        user_properties: vec![(Arc::from("k"), Arc::from("v"))],
        auth_method: None,
        auth_data: None,
        bridge: false,
    };
    let mut out = BytesMut::new();
    encode(Version::V5, &Packet::Connect(Box::new(connect)), &mut out).unwrap();
    out.to_vec()
}

#[test]
fn reserved_fixed_header_flags_are_malformed_in_every_version() {
    // [MQTT-2.2.2-2] (3.1.1) and v5 section 2.1.3: a flag marked reserved must have its listed
    // value, otherwise the packet is malformed; packet type 0 is reserved too.
    for version in [Version::V3_1, Version::V3_1_1, Version::V5] {
        let props: &[u8] = if version.is_v5() { &[0] } else { &[] };
        let unsubscribe = [
            &[0xA0, 0x05 + props.len() as u8, 0x00, 0x01][..],
            props,
            &[0x00, 0x01, b'a'],
        ]
        .concat();
        let cases: [(&str, Vec<u8>); 5] = [
            ("PUBREL 0000", vec![0x60, 0x02, 0x00, 0x01]),
            ("UNSUBSCRIBE 0000", unsubscribe),
            ("PINGREQ 0001", vec![0xC1, 0x00]),
            ("DISCONNECT 0010", vec![0xE2, 0x00]),
            ("packet type 0", vec![0x00, 0x00]),
        ];
        for (name, bytes) in cases {
            let frame = frame_of(&bytes);
            assert_eq!(frame.len, bytes.len(), "{name}");
            let err = decode(version, &bytes).expect_err(name);
            assert_eq!(
                err.reason_code(),
                ReasonCode::MALFORMED_PACKET,
                "{name} ({version}): {err}"
            );
        }
    }
}

#[test]
fn utf16_surrogate_in_topic_is_malformed() {
    // [MQTT-1.5.4-1] no encodings of U+D800..U+DFFF (ED A0 80 is U+D800)
    let bytes = [0x30, 0x08, 0x00, 0x05, b'a', b'/', 0xED, 0xA0, 0x80, 0x00];
    for version in [Version::V3_1_1, Version::V5] {
        assert_eq!(
            decode(version, &bytes).unwrap_err().reason_code(),
            ReasonCode::MALFORMED_PACKET,
            "{version}"
        );
    }
}

#[test]
fn a_packet_split_anywhere_waits_for_the_rest() {
    // What the `decode` fuzz target checks on every frame: a strict prefix of a whole packet is
    // never refused nor mis-framed, whatever the limit, as long as the packet fits in it.
    let mut packets = vec![connect_packet_bytes()];
    for version in [Version::V3_1_1, Version::V5] {
        let mut out = BytesMut::new();
        let mut publish = sample_publish(version);
        publish.payload = Bytes::from(vec![b'p'; 20_000]);
        encode_publish(version, &publish, &mut out).unwrap();
        packets.push(out.to_vec());
    }
    for bytes in packets {
        for cut in 0..bytes.len() {
            assert_eq!(next_frame(&bytes[..cut], bytes.len()), Ok(None), "cut at {cut}");
        }
        assert_eq!(frame_of(&bytes).len, bytes.len());
        assert!(matches!(
            next_frame(&bytes, bytes.len() - 1),
            Err(FrameError::TooLarge { .. })
        ));
    }
}

#[test]
fn bytes_after_a_packets_fields_are_malformed() {
    // Each layout ends with its last field; mqtt-proto alone would ignore the rest.
    let cases: [(Version, &str, Vec<u8>); 5] = [
        (Version::V3_1_1, "PUBACK", vec![0x40, 0x03, 0x00, 0x01, 0x00]),
        (Version::V3_1_1, "PINGREQ", vec![0xC0, 0x01, 0x00]),
        (Version::V3_1_1, "DISCONNECT", vec![0xE0, 0x01, 0x00]),
        (
            Version::V5,
            "PUBREL",
            vec![0x62, 0x05, 0x00, 0x01, 0x00, 0x00, 0xAA],
        ),
        (Version::V5, "PINGREQ", vec![0xC0, 0x01, 0x00]),
    ];
    for (version, name, bytes) in cases {
        let err = decode(version, &bytes).expect_err(name);
        assert_eq!(
            err.reason_code(),
            ReasonCode::MALFORMED_PACKET,
            "{name} ({version}): {err}"
        );
    }
    // The same packets without the extra byte are fine.
    assert!(decode(Version::V3_1_1, &[0x40, 0x02, 0x00, 0x01]).is_ok());
    assert!(decode(Version::V5, &[0x62, 0x04, 0x00, 0x01, 0x00, 0x00]).is_ok());
}

#[test]
fn qos0_publish_with_dup_is_malformed() {
    // [MQTT-3.3.1-2]
    let bytes = [0x38, 0x04, 0x00, 0x01, b'a', b'x'];
    assert!(decode(Version::V3_1_1, &bytes).is_err());
    assert!(decode(Version::V3_1_1, &[0x30, 0x04, 0x00, 0x01, b'a', b'x']).is_ok());
}

/// A 3.1.1 or 5.0 CONNECT with the given flags and payload after the client identifier.
fn connect_with(level: u8, flags: u8, client_id: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut body = vec![0x00, 0x04, b'M', b'Q', b'T', b'T', level, flags, 0x00, 0x3C];
    if level == 5 {
        body.push(0);
    }
    body.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    body.extend_from_slice(client_id);
    body.extend_from_slice(tail);
    let mut out = vec![0x10, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn connect_fields_must_match_the_flags() {
    let password = [0x00, 0x02, b'p', b'w'];
    // 3.1.1 [MQTT-3.1.2-22] a password needs a user name; MQTT 5 dropped the rule
    let bytes = connect_with(4, 0x42, b"c", &password);
    assert!(matches!(
        decode_connect(&bytes, 2),
        Err(DecodeError::Malformed(_))
    ));
    // As a later packet too, in every version it could be read as: no path decodes what the
    // first-packet path refuses.
    for version in [Version::V3_1, Version::V3_1_1] {
        assert!(
            matches!(decode(version, &bytes), Err(DecodeError::Malformed(_))),
            "{version}"
        );
    }
    let bytes = connect_with(5, 0x42, b"c", &password);
    assert_eq!(
        decode_connect(&bytes, 2).unwrap().password.as_deref(),
        Some(&b"pw"[..])
    );
    // [MQTT-3.1.2-16]/[MQTT-3.1.2-18] a field without its flag is left over: malformed (3.1.1
    // numbers them [MQTT-3.1.2-18]/[MQTT-3.1.2-20])
    for level in [4, 5] {
        let bytes = connect_with(level, 0x02, b"c", &password);
        assert!(matches!(
            decode_connect(&bytes, 2),
            Err(DecodeError::Malformed(_))
        ));
    }
}

#[test]
fn u0000_in_connect_strings_is_refused() {
    // [MQTT-1.5.4-2]: the client identifier gets its own CONNACK reason
    for level in [4, 5] {
        let err = decode_connect(&connect_with(level, 0x02, b"a\0", &[]), 2).unwrap_err();
        assert_eq!(err.reason_code(), ReasonCode::CLIENT_ID_NOT_VALID, "{err}");
        let bytes = connect_with(level, 0x82, b"a", &[0x00, 0x02, b'u', 0x00]);
        let err = decode_connect(&bytes, 2).unwrap_err();
        assert_eq!(err.reason_code(), ReasonCode::MALFORMED_PACKET, "{err}");
    }
}

#[test]
fn encode_within_leaves_out_optional_parts_to_fit() {
    let connack = Packet::Connack(Connack {
        session_present: false,
        reason: ReasonCode::SUCCESS,
        properties: ConnackProperties {
            receive_maximum: Some(10),
            retain_available: Some(true),
            maximum_packet_size: Some(1000),
            topic_alias_maximum: Some(10),
            reason_string: Some(Arc::from("a reason that takes room")),
            wildcard_subscription_available: Some(true),
            ..Default::default()
        },
    });
    let mut full = BytesMut::new();
    encode(Version::V5, &connack, &mut full).unwrap();
    for max in [full.len(), 20, 13, 5] {
        let mut out = BytesMut::from(&b"kept"[..]);
        encode_within(Version::V5, &connack, max, &mut out).unwrap();
        assert!(out.len() - 4 <= max, "{max}: {out:?}");
        assert_eq!(&out[..4], b"kept");
        let Packet::Connack(c) = decode(Version::V5, &out[4..]).unwrap() else {
            panic!("not a CONNACK");
        };
        // What goes first: the reason string, then what absence says as well.
        assert_eq!(c.properties.reason_string.is_some(), max == full.len(), "{max}");
        assert_eq!(c.properties.receive_maximum.is_some(), max >= 13, "{max}");
    }
    let mut out = BytesMut::new();
    assert!(matches!(
        encode_within(Version::V5, &connack, 4, &mut out),
        Err(EncodeError::ExceedsPeerMaximum { .. })
    ));
    assert!(out.is_empty());
}

#[test]
fn a_large_publish_shares_the_read_buffer_and_a_small_one_copies_only_its_payload() {
    let mut large = sample_publish(Version::V3_1_1);
    large.payload = Bytes::from(vec![1u8; frame::SHARE_FRAMES_FROM]);
    let small = sample_publish(Version::V3_1_1);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    encode_publish(Version::V3_1_1, &large, &mut buf).unwrap();
    let large_len = buf.len();
    encode_publish(Version::V3_1_1, &small, &mut buf).unwrap();
    let start = buf.as_ptr();

    let Packet::Publish(got) = decode_front(Version::V3_1_1, Sender::Client, &mut buf, large_len).unwrap()
    else {
        panic!("not a PUBLISH")
    };
    assert_eq!(got, large);
    let payload_at = large_len - large.payload.len();
    assert_eq!(got.payload.as_ptr(), start.wrapping_add(payload_at), "no copy");

    let small_len = buf.len();
    let Packet::Publish(got) = decode_front(Version::V3_1_1, Sender::Client, &mut buf, small_len).unwrap()
    else {
        panic!("not a PUBLISH")
    };
    assert_eq!(got, small);
    let in_buffer = start as usize..start as usize + large_len + small_len;
    assert!(!in_buffer.contains(&(got.payload.as_ptr() as usize)), "a copy");
    assert!(buf.is_empty());
}

#[test]
fn a_bridge_connect_has_the_top_bit_of_its_level_set_and_decodes_as_the_plain_version() {
    let connect = Connect {
        version: Version::V3_1_1,
        clean_start: true,
        keep_alive: 60,
        client_id: Arc::from("edge"),
        username: None,
        password: None,
        will: None,
        session_expiry: 0,
        receive_maximum: u16::MAX,
        maximum_packet_size: None,
        topic_alias_maximum: 0,
        request_response_info: false,
        request_problem_info: true,
        user_properties: Vec::new(),
        auth_method: None,
        auth_data: None,
        bridge: true,
    };
    let mut out = BytesMut::new();
    encode(
        Version::V3_1_1,
        &Packet::Connect(Box::new(connect.clone())),
        &mut out,
    )
    .unwrap();
    assert_eq!(&out[2..9], b"\x00\x04MQTT\x84");
    let decoded = decode_connect(&out, 2).unwrap();
    assert_eq!(decoded, connect);
    // Only 3.1 (0x83) and 3.1.1 (0x84) have the convention.
    out[8] = 0x85;
    assert_eq!(
        decode_connect(&out, 2),
        Err(DecodeError::UnsupportedVersion(0x85))
    );
}
