//! Byte-level conformance: packets built from the specification text, each breaking one
//! normative statement, and what the broker must answer (v5 reason codes, 3.1.1 plain close).

use std::future::Future;
use std::net::SocketAddr;

use super::common::{start, start_with, v3, TestBroker};
use super::wire::*;

/// A 3.1.1 client connected before a bad one, pinged after it: the broker still serves others.
async fn bystander(broker: &TestBroker) -> Raw {
    Raw::connected(broker.addr, &Connect::v311("bystander")).await.0
}

/// Runs each case on its own (a failed one does not hide the next), checks after each that
/// `other` is still served, and fails with the names of those that failed.
async fn each_case<F: Future<Output = ()> + Send + 'static>(
    other: &mut Raw,
    cases: impl IntoIterator<Item = (String, F)>,
) {
    let mut failed = Vec::new();
    for (name, case) in cases {
        if tokio::spawn(case).await.is_err() {
            failed.push(name);
        }
        other.ping().await;
    }
    assert!(failed.is_empty(), "failed: {failed:?}");
}

/// Sends a CONNECT that breaks the rules and asserts what comes back: with `v5_code`, a CONNACK
/// with that reason code and then the close; without, the close and nothing before it (3.1.1
/// [MQTT-3.1.4-1]: close without CONNACK).
async fn refused(addr: SocketAddr, name: &str, connect: &Connect, v5_code: Option<u8>) {
    let mut raw = Raw::connect(addr).await;
    raw.send(&connect.bytes()).await;
    let seen = raw.expect_close().await;
    match v5_code {
        Some(code) => {
            let connack = seen
                .first()
                .and_then(|p| Connack::parse(p, true))
                .unwrap_or_else(|| panic!("{name}: no CONNACK before the close: {seen:02x?}"));
            // One of the Connect Reason Codes [MQTT-3.2.2-8], its reserved flag bits 0
            // [MQTT-3.2.2-1], and no DISCONNECT before or after it [MQTT-3.14.0-1].
            assert_eq!(connack.code, code, "{name}: {connack:02x?}");
            assert_eq!(
                connack.flags, 0,
                "{name}: a refusal has no session [MQTT-3.2.2-6]"
            );
            assert_eq!(seen.len(), 1, "{name}: more than the CONNACK: {seen:02x?}");
        }
        None => assert!(seen.is_empty(), "{name}: the broker answered {seen:02x?}"),
    }
}

fn with_username(mut c: Connect, name: &[u8]) -> Connect {
    c.username = Some(name.to_vec());
    c
}

fn with_will(mut c: Connect, will: Will) -> Connect {
    c.will = Some(will);
    c
}

/// CONNECTs whose strings or flags break the rules, in each version, with the v5 answer.
fn bad_connects(level: Level) -> Vec<(&'static str, Connect)> {
    let base = |id: &str| Connect::new(level, id.as_bytes());
    let mut cases = vec![
        // [MQTT-1.5.4-2] / 3.1.1 [MQTT-1.5.3-2] no U+0000 in a string, the client identifier included
        ("U+0000 in the client identifier", Connect::new(level, b"to\0\0p")),
        // [MQTT-1.5.4-2] / [MQTT-1.5.3-2]: the user name is a UTF-8 string, v5 [MQTT-3.1.3-12],
        // 3.1.1 [MQTT-3.1.3-11]
        (
            "U+0000 in the user name",
            with_username(base("nul-user"), b"a\0b"),
        ),
        // v5 [MQTT-3.1.2-16] / 3.1.1 [MQTT-3.1.2-18] user name flag 0: no user name in the payload
        ("user name without its flag", {
            let mut c = with_username(base("name-no-flag"), b"someone");
            c.username_flag = Some(false);
            c
        }),
        // v5 [MQTT-3.1.2-18] / 3.1.1 [MQTT-3.1.2-20] password flag 0: no password in the payload
        ("password without its flag", {
            let mut c = with_username(base("pw-no-flag"), b"someone");
            c.password = Some(b"secret".to_vec());
            c.password_flag = Some(false);
            c
        }),
        // [MQTT-3.1.4-1] the CONNECT matches the format of section 3.1: nothing after its fields
        ("bytes after the last field", {
            let mut c = base("trailing");
            c.trailing = vec![0, 1, b'x'];
            c
        }),
        // [MQTT-4.7.3-1] topic names are at least one character long, the will topic included
        (
            "empty will topic",
            with_will(base("empty-will"), Will::new(b"", b"bye")),
        ),
    ];
    if level.v5() {
        // [MQTT-1.5.4-2] every string: a user property in CONNECT (both strings of the pair
        // [MQTT-1.5.7-1]), a will's content type
        cases.push(("U+0000 in a user property", {
            let mut c = base("nul-prop");
            c.props = Props::new().user(b"k\0", b"v");
            c
        }));
        cases.push(("U+0000 in the will content type", {
            let mut will = Will::new(b"will/t", b"bye");
            will.props = Props::new().string(prop::CONTENT_TYPE, b"text\0");
            with_will(base("nul-will-ct"), will)
        }));
    } else {
        // 3.1.1 [MQTT-3.1.2-22] user name flag 0: password flag 0
        cases.push(("password without a user name", {
            let mut c = base("pw-no-user");
            c.password = Some(b"secret".to_vec());
            c
        }));
    }
    cases
}

/// The v5 CONNACK reason code for each case of [`bad_connects`].
fn v5_code(name: &str) -> u8 {
    match name {
        // The identifier is the one thing wrong: 0x85 says so [MQTT-3.1.3-8].
        "U+0000 in the client identifier" => 0x85,
        // A will topic the server does not accept.
        "empty will topic" => 0x90,
        // Everything else breaks the packet format: Malformed Packet (v5 1.5.4, 3.1.4).
        _ => 0x81,
    }
}

#[tokio::test]
async fn bad_connect_fields_are_refused_with_a_reason_v5() {
    let broker = start().await;
    let mut other = bystander(&broker).await;
    let addr = broker.addr;
    let cases = bad_connects(Level::V5).into_iter().map(|(name, connect)| {
        (name.to_string(), async move {
            refused(addr, name, &connect, Some(v5_code(name))).await
        })
    });
    each_case(&mut other, cases).await;
}

#[tokio::test]
async fn bad_connect_fields_close_without_connack_v311() {
    let broker = start().await;
    let mut other = bystander(&broker).await;
    let addr = broker.addr;
    let cases = bad_connects(Level::V311).into_iter().map(|(name, connect)| {
        (name.to_string(), async move {
            refused(addr, name, &connect, None).await
        })
    });
    each_case(&mut other, cases).await;
}

#[tokio::test]
async fn bad_connect_fields_close_without_connack_v31() {
    let broker = start().await;
    let mut other = bystander(&broker).await;
    let addr = broker.addr;
    let cases = bad_connects(Level::V31).into_iter().map(|(name, connect)| {
        (name.to_string(), async move {
            refused(addr, name, &connect, None).await
        })
    });
    each_case(&mut other, cases).await;
}

// v5 3.1.2.9: unlike 3.1.1, a v5 CONNECT may carry a password without a user name; it is
// acknowledged with CONNACK 0x00 [MQTT-3.1.4-5].
#[tokio::test]
async fn password_without_user_name_is_accepted_v5() {
    let broker = start().await;
    let mut c = Connect::v5("pw-only");
    c.password = Some(b"token".to_vec());
    Raw::connected(broker.addr, &c).await;
}

/// A packet after CONNACK that breaks a rule: the v5 DISCONNECT reason, or a plain close (3.1.1).
struct After {
    name: &'static str,
    bytes: Vec<u8>,
    v5_reason: u8,
}

fn bad_after_connect(level: Level) -> Vec<After> {
    let v5 = level.v5();
    // v5 acks may carry a reason code and properties; the bytes after those are extra.
    let ack_with_tail = |header: u8| {
        if v5 {
            packet(header, &[0, 7, 0, 0, 0xAA])
        } else {
            packet(header, &[0, 7, 0xAA])
        }
    };
    let mut cases = vec![
        After {
            // [MQTT-3.12] PINGREQ has no variable header or payload: a body makes it malformed
            name: "PINGREQ with a body",
            bytes: packet(kind::PINGREQ, &[0]),
            v5_reason: 0x81,
        },
        After {
            // [MQTT-3.4] PUBACK ends after its fields
            name: "PUBACK with bytes after its fields",
            bytes: ack_with_tail(kind::PUBACK),
            v5_reason: 0x81,
        },
        After {
            name: "PUBREC with bytes after its fields",
            bytes: ack_with_tail(kind::PUBREC),
            v5_reason: 0x81,
        },
        After {
            name: "PUBREL with bytes after its fields",
            bytes: ack_with_tail(kind::PUBREL),
            v5_reason: 0x81,
        },
        After {
            name: "PUBCOMP with bytes after its fields",
            bytes: ack_with_tail(kind::PUBCOMP),
            v5_reason: 0x81,
        },
        After {
            // [MQTT-3.3.1-2] the DUP flag is 0 for all QoS 0 messages
            name: "QoS 0 PUBLISH with DUP set",
            bytes: {
                let mut p = Publish::new(level, "dup/zero", b"x");
                p.dup = true;
                p.bytes()
            },
            v5_reason: 0x81,
        },
    ];
    if v5 {
        // [MQTT-1.5.4-2] no U+0000 in any string the server receives: user properties
        // [MQTT-1.5.7-1], the content type [MQTT-3.3.2-19], a reason string
        let mut p = Publish::new(level, "nul/prop", b"x");
        p.props = Props::new().user(b"name", b"va\0lue");
        cases.push(After {
            name: "U+0000 in a PUBLISH user property",
            bytes: p.bytes(),
            v5_reason: 0x81,
        });
        let mut p = Publish::new(level, "nul/ct", b"x");
        p.props = Props::new().string(prop::CONTENT_TYPE, b"\0");
        cases.push(After {
            name: "U+0000 in a PUBLISH content type",
            bytes: p.bytes(),
            v5_reason: 0x81,
        });
        cases.push(After {
            name: "U+0000 in a PUBACK reason string",
            bytes: ack_v5(
                kind::PUBACK,
                9,
                0,
                &Props::new().string(prop::REASON_STRING, b"o\0k"),
            ),
            v5_reason: 0x81,
        });
        cases.push(After {
            name: "U+0000 in a SUBSCRIBE user property",
            bytes: packet(
                kind::SUBSCRIBE,
                &[
                    &[0, 3][..],
                    &Props::new().user(b"\0", b"v").encode(),
                    &string(b"a/b"),
                    &[1],
                ]
                .concat(),
            ),
            v5_reason: 0x81,
        });
    }
    cases
}

async fn check_after_connect(level: Level) {
    let broker = start().await;
    let mut other = bystander(&broker).await;
    let addr = broker.addr;
    let cases = bad_after_connect(level).into_iter().enumerate().map(|(i, case)| {
        let run = async move {
            let id = format!("after-{i}");
            let (mut raw, _) = Raw::connected(addr, &Connect::new(level, id.as_bytes())).await;
            raw.send(&case.bytes).await;
            let seen = raw.expect_close().await;
            if level.v5() {
                // [MQTT-4.13.1-1] close, after a DISCONNECT with the reason, one of the
                // DISCONNECT Reason Codes [MQTT-3.14.2-1], and nothing after it
                // [MQTT-3.14.4-1]/[MQTT-3.14.4-2]
                let reason = seen.last().and_then(|p| disconnect_reason(p));
                assert_eq!(reason, Some(case.v5_reason), "{}: {seen:02x?}", case.name);
                assert_eq!(seen.len(), 1, "{}: {seen:02x?}", case.name);
            } else {
                // 3.1.1 [MQTT-4.8.0-1] a protocol violation closes the connection
                assert!(seen.is_empty(), "{}: the broker answered {seen:02x?}", case.name);
            }
        };
        (case.name.to_string(), run)
    });
    each_case(&mut other, cases).await;
}

#[tokio::test]
async fn bad_packets_after_connect_get_a_reason_v5() {
    check_after_connect(Level::V5).await;
}

#[tokio::test]
async fn bad_packets_after_connect_close_v311() {
    check_after_connect(Level::V311).await;
}

/// Subscribes `raw` to `topic` at `qos`, has another client publish there at `qos`, and returns
/// the packet identifier of the delivery `raw` receives.
async fn delivery(broker: &TestBroker, raw: &mut Raw, level: Level, topic: &str, qos: u8) -> u16 {
    raw.send(&subscribe(level, 1, &[(topic, qos)])).await;
    raw.expect(kind::SUBACK).await;
    let publisher = v3::connect(broker, &format!("pub-{topic}")).await;
    let q = if qos == 1 {
        v3::QoS::AtLeastOnce
    } else {
        v3::QoS::ExactlyOnce
    };
    publisher.client.publish(topic, q, false, "m").await.unwrap();
    let p = raw.expect(kind::PUBLISH | (qos << 1)).await;
    let (_, body) = split(&p).unwrap();
    let topic_len = u16::from_be_bytes([body[0], body[1]]) as usize;
    u16::from_be_bytes([body[2 + topic_len], body[3 + topic_len]])
}

/// An acknowledgement of the wrong type for a delivery in flight: a protocol error, never
/// answered as if it were the right one. v5 [MQTT-4.13.1-1] DISCONNECT 0x82; 3.1.1 [MQTT-4.8.0-1].
async fn wrong_ack(level: Level, qos: u8, ack_header: u8, name: &str) {
    let broker = start().await;
    let mut other = bystander(&broker).await;
    let id = format!("wrong-ack-{name}");
    let (mut raw, _) = Raw::connected(broker.addr, &Connect::new(level, id.as_bytes())).await;
    let packet_id = delivery(&broker, &mut raw, level, &format!("wrong/{name}"), qos).await;
    raw.send(&ack(ack_header, packet_id)).await;
    let seen = raw.expect_close().await;
    if level.v5() {
        assert_eq!(seen.len(), 1, "{name}: {seen:02x?}");
        assert_eq!(disconnect_reason(&seen[0]), Some(0x82), "{name}: {seen:02x?}");
    } else {
        assert!(seen.is_empty(), "{name}: the broker answered {seen:02x?}");
    }
    other.ping().await;
}

#[tokio::test]
async fn pubrec_for_a_qos1_delivery_is_a_protocol_error() {
    wrong_ack(Level::V311, 1, kind::PUBREC, "pubrec-q1-v311").await;
    wrong_ack(Level::V5, 1, kind::PUBREC, "pubrec-q1-v5").await;
}

#[tokio::test]
async fn puback_for_a_qos2_delivery_is_a_protocol_error() {
    wrong_ack(Level::V311, 2, kind::PUBACK, "puback-q2-v311").await;
    wrong_ack(Level::V5, 2, kind::PUBACK, "puback-q2-v5").await;
}

#[tokio::test]
async fn pubcomp_before_pubrel_is_a_protocol_error() {
    wrong_ack(Level::V311, 1, kind::PUBCOMP, "pubcomp-q1-v311").await;
    wrong_ack(Level::V5, 2, kind::PUBCOMP, "pubcomp-q2-v5").await;
}

// The right acknowledgements still complete both handshakes (the checks above are not too eager).
// v5 [MQTT-4.3.3-4]: PUBREL follows PUBREC, with the Packet Identifier of the PUBLISH [MQTT-2.2.1-5].
#[tokio::test]
async fn right_acks_complete_qos1_and_qos2() {
    let broker = start().await;
    for level in [Level::V311, Level::V5] {
        let id = format!("right-{level:?}");
        let (mut raw, _) = Raw::connected(broker.addr, &Connect::new(level, id.as_bytes())).await;
        let pid = delivery(&broker, &mut raw, level, &format!("right1/{level:?}"), 1).await;
        raw.send(&ack(kind::PUBACK, pid)).await;
        let pid = delivery(&broker, &mut raw, level, &format!("right2/{level:?}"), 2).await;
        raw.send(&ack(kind::PUBREC, pid)).await;
        let pubrel = raw.expect(kind::PUBREL).await;
        assert_eq!(&pubrel[2..4], &pid.to_be_bytes());
        raw.send(&ack(kind::PUBCOMP, pid)).await;
        raw.ping().await;
    }
}

// [MQTT-3.1.2-24] the server sends no packet larger than the client's Maximum Packet Size;
// the CONNACK leaves out what is optional to fit ([MQTT-3.2.2-19]/[MQTT-3.2.2-20] name the
// reason string and user properties).
#[tokio::test]
async fn connack_fits_the_client_maximum_packet_size() {
    let broker = start().await;
    for max in [20u32, 12, 8] {
        let mut c = Connect::v5(&format!("small-{max}"));
        c.props = Props::new().u32(prop::MAXIMUM_PACKET_SIZE, max);
        let (mut raw, connack) = Raw::connected(broker.addr, &c).await;
        assert!(
            connack.len <= max as usize,
            "a {}-byte CONNACK for a {max}-byte maximum: {connack:02x?}",
            connack.len
        );
        raw.ping().await;
    }
    // An empty client identifier: the assigned one is kept when it fits.
    let mut c = Connect::v5("");
    c.props = Props::new().u32(prop::MAXIMUM_PACKET_SIZE, 64);
    let (_raw, connack) = Raw::connected(broker.addr, &c).await;
    assert!(connack.len <= 64, "{connack:02x?}");
    assert!(
        connack.prop(prop::ASSIGNED_CLIENT_IDENTIFIER).is_some(),
        "{connack:02x?}"
    );
}

// [MQTT-3.2.2-19] a refusal's reason string is left out when it would not fit; the refusal is
// the 0x8C of an unsupported Authentication Method [MQTT-4.12.0-1].
#[tokio::test]
async fn refusing_connack_fits_the_client_maximum_packet_size() {
    let broker = start().await;
    let mut c = Connect::v5("small-refused");
    c.props = Props::new()
        .u32(prop::MAXIMUM_PACKET_SIZE, 16)
        .string(prop::AUTHENTICATION_METHOD, b"SCRAM-SHA-1");
    let mut raw = Raw::connect(broker.addr).await;
    raw.send(&c.bytes()).await;
    let seen = raw.expect_close().await;
    assert_eq!(seen.len(), 1, "{seen:02x?}");
    assert!(seen[0].len() <= 16, "{:02x?}", seen[0]);
    let connack = Connack::parse(&seen[0], true).unwrap();
    assert_eq!(connack.code, 0x8C, "bad authentication method: {connack:02x?}");
}

// MQTT 3.1 has no Session Present: the first CONNACK byte is reserved, and stays 0 even when a
// persistent session is resumed.
#[tokio::test]
async fn mqtt31_connack_never_sets_session_present() {
    let broker = start().await;
    let mut c = Connect::v31("kept-31");
    c.clean_start = false;
    let (mut raw, _) = Raw::connected(broker.addr, &c).await;
    raw.send(&disconnect(None)).await;
    raw.expect_close().await;
    let (_raw, connack) = Raw::connected(broker.addr, &c).await;
    assert_eq!(connack.flags, 0, "{connack:02x?}");
    // The same resumption in 3.1.1 does say so: the session is really there.
    let mut c = Connect::v311("kept-311");
    c.clean_start = false;
    let (mut raw, _) = Raw::connected(broker.addr, &c).await;
    raw.send(&disconnect(None)).await;
    raw.expect_close().await;
    let (_raw, connack) = Raw::connected(broker.addr, &c).await;
    assert_eq!(connack.flags, 1, "{connack:02x?}");
}

// [MQTT-3.1.0-1] the first packet is CONNECT: anything else is refused from its first byte,
// before its body is read (the body here never comes).
#[tokio::test]
async fn packet_before_connect_is_refused_from_its_first_byte() {
    let broker = start_with(|s| s.limits.connect_timeout = std::time::Duration::from_secs(60)).await;
    let mut other = bystander(&broker).await;
    for first in [
        vec![kind::PUBLISH, 0xFF, 0xFF, 0x03],
        vec![kind::SUBSCRIBE, 0x80, 0x01],
        vec![kind::PINGREQ],
    ] {
        let mut raw = Raw::connect(broker.addr).await;
        raw.send(&first).await;
        let seen = raw.expect_close().await;
        assert!(seen.is_empty(), "{first:02x?}: the broker answered {seen:02x?}");
        other.ping().await;
    }
}

// [MQTT-3.1.2-24] acks and DISCONNECT fit too: their reason string is left out first
// ([MQTT-3.4.2-2] for PUBACK, [MQTT-3.14.2-3] for DISCONNECT), and so would user properties
// ([MQTT-3.4.2-3], [MQTT-3.14.2-4]).
#[tokio::test]
async fn acks_and_disconnect_fit_the_client_maximum_packet_size() {
    let broker = start().await;
    let mut c = Connect::v5("small-acks");
    c.props = Props::new().u32(prop::MAXIMUM_PACKET_SIZE, 5);
    let (mut raw, _) = Raw::connected(broker.addr, &c).await;
    // Refused with 0x87 and, room permitting, a reason string: $SYS belongs to the broker.
    raw.send(&Publish::new(Level::V5, "$SYS/mine", b"x").qos(1, 3).bytes())
        .await;
    let puback = raw.expect(kind::PUBACK).await;
    assert!(puback.len() <= 5, "{puback:02x?}");
    assert_eq!(&puback[2..], &[0, 3, 0x87], "{puback:02x?}");
    // A malformed packet: DISCONNECT 0x81 without its reason string.
    raw.send(&packet(kind::PINGREQ, &[0])).await;
    let seen = raw.expect_close().await;
    assert_eq!(seen, vec![vec![kind::DISCONNECT, 1, 0x81]]);
}
