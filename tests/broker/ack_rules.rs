//! What the broker's v5 acknowledgements and other packets carry, at the byte level: optional
//! properties left out to fit the client's Maximum Packet Size or when the client asked for no
//! problem information, the reason codes of PUBREL and PUBCOMP, a Property Length even when
//! there are no properties, nothing about enhanced authentication or response information the
//! client did not ask for, no Session Expiry on a server's DISCONNECT; and packets whose fixed
//! header breaks the encoding rules.

use std::net::SocketAddr;

use super::common::start_with;
use super::wire::*;

/// A broker that refuses topic filters longer than 16 bytes, so that a SUBACK carries a
/// failure with a reason string.
async fn broker() -> super::common::TestBroker {
    start_with(|s| s.limits.max_topic_length = 16).await
}

const LONG_FILTER: &str = "a/filter/longer/than/sixteen/bytes";

/// The reason code and properties of a PUBACK, PUBREC, PUBREL or PUBCOMP (3.4.2): both may be
/// left out, meaning 0 and none.
fn ack_parts(packet: &[u8]) -> (u8, Vec<(u8, Vec<u8>)>) {
    let (_, body) = split(packet).expect("a whole packet");
    match body.len() {
        2 => (0, Vec::new()),
        3 => (body[2], Vec::new()),
        _ => (body[2], parse_props(&body[3..]).expect("properties")),
    }
}

/// The properties and reason codes of a SUBACK or UNSUBACK (3.9.2, 3.11.2).
fn suback_parts(packet: &[u8]) -> (Vec<(u8, Vec<u8>)>, Vec<u8>) {
    let (_, body) = split(packet).expect("a whole packet");
    let props = parse_props(&body[2..]).expect("properties");
    let mut len = 0;
    let mut used = 0;
    for (i, b) in body[2..].iter().enumerate() {
        len |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            used = i + 1;
            break;
        }
    }
    (props, body[2 + used + len..].to_vec())
}

fn has(props: &[(u8, Vec<u8>)], id: u8) -> bool {
    props.iter().any(|(i, _)| *i == id)
}

/// A v5 client with these CONNECT properties.
async fn client(addr: SocketAddr, id: &str, props: Props) -> Raw {
    let mut c = Connect::v5(id);
    c.props = props;
    Raw::connected(addr, &c).await.0
}

/// The broker's answers to packets that draw a failure with a reason string (a SUBACK for a
/// filter over the limit, a PUBREC refusing a PUBLISH to $SYS) and to acknowledgements of
/// packet identifiers it does not know (PUBREL and PUBCOMP 0x92), and an UNSUBACK.
struct Answers {
    suback: Vec<u8>,
    unsuback: Vec<u8>,
    pubrec: Vec<u8>,
    pubrel: Vec<u8>,
    pubcomp: Vec<u8>,
}

async fn answers(raw: &mut Raw) -> Answers {
    raw.send(&subscribe(Level::V5, 1, &[(LONG_FILTER, 0)])).await;
    let suback = raw.expect(kind::SUBACK).await;
    raw.send(&unsubscribe(Level::V5, 2, &["never/subscribed"])).await;
    let unsuback = raw.expect(kind::UNSUBACK).await;
    raw.send(&Publish::new(Level::V5, "$SYS/mine", b"x").qos(2, 3).bytes())
        .await;
    let pubrec = raw.expect(kind::PUBREC).await;
    raw.send(&ack(kind::PUBREC, 4)).await;
    let pubrel = raw.expect(kind::PUBREL).await;
    raw.send(&ack(kind::PUBREL, 5)).await;
    let pubcomp = raw.expect(kind::PUBCOMP).await;
    Answers {
        suback,
        unsuback,
        pubrec,
        pubrel,
        pubcomp,
    }
}

// v5 [MQTT-3.9.2-1]/[MQTT-3.9.2-2] SUBACK, [MQTT-3.11.2-1]/[MQTT-3.11.2-2] UNSUBACK,
// [MQTT-3.5.2-2]/[MQTT-3.5.2-3] PUBREC, [MQTT-3.6.2-2]/[MQTT-3.6.2-3] PUBREL and
// [MQTT-3.7.2-2]/[MQTT-3.7.2-3] PUBCOMP: the Reason String and User Properties are left out
// when they would take the packet past the client's Maximum Packet Size; the packet still goes.
// [MQTT-3.6.2-1], [MQTT-3.7.2-1]: PUBREL and PUBCOMP use their own reason codes (0x92 here).
#[tokio::test]
async fn acks_leave_out_reason_strings_to_fit_the_client_maximum_v5() {
    let broker = broker().await;
    // Room to spare: the failures say why.
    let mut roomy = client(broker.addr, "roomy", Props::new()).await;
    let wide = answers(&mut roomy).await;
    assert!(
        has(&suback_parts(&wide.suback).0, prop::REASON_STRING),
        "{:02x?}",
        wide.suback
    );
    assert!(
        has(&ack_parts(&wide.pubrec).1, prop::REASON_STRING),
        "{:02x?}",
        wide.pubrec
    );

    // Six bytes: a SUBACK or UNSUBACK for one filter, an ack with its reason code, and no room
    // for any property.
    let max = 6;
    let mut small = client(
        broker.addr,
        "small",
        Props::new().u32(prop::MAXIMUM_PACKET_SIZE, max),
    )
    .await;
    let tight = answers(&mut small).await;
    for p in [
        &tight.suback,
        &tight.unsuback,
        &tight.pubrec,
        &tight.pubrel,
        &tight.pubcomp,
    ] {
        assert!(p.len() <= max as usize, "{p:02x?} exceeds {max} bytes");
    }
    let (props, reasons) = suback_parts(&tight.suback);
    assert_eq!((props, reasons), (Vec::new(), vec![0x8F]));
    let (props, reasons) = suback_parts(&tight.unsuback);
    assert_eq!((props, reasons), (Vec::new(), vec![0x11]));
    assert_eq!(ack_parts(&tight.pubrec), (0x87, Vec::new()));
    assert_eq!(ack_parts(&tight.pubrel), (0x92, Vec::new()));
    assert_eq!(ack_parts(&tight.pubcomp), (0x92, Vec::new()));
    small.ping().await;
}

// v5 [MQTT-3.1.2-29]: Request Problem Information 0: no Reason String or User Properties on
// anything but PUBLISH, CONNACK and DISCONNECT, whatever room there is.
#[tokio::test]
async fn no_problem_information_on_acks_when_the_client_asks_for_none_v5() {
    let broker = broker().await;
    let mut raw = client(
        broker.addr,
        "no-problems",
        Props::new().byte(prop::REQUEST_PROBLEM_INFORMATION, 0),
    )
    .await;
    let a = answers(&mut raw).await;
    assert_eq!(suback_parts(&a.suback), (Vec::new(), vec![0x8F]));
    assert_eq!(suback_parts(&a.unsuback), (Vec::new(), vec![0x11]));
    for p in [&a.pubrec, &a.pubrel, &a.pubcomp] {
        assert_eq!(ack_parts(p).1, Vec::new(), "{p:02x?}");
    }
    raw.send(&Publish::new(Level::V5, "$SYS/mine", b"x").qos(1, 9).bytes())
        .await;
    assert_eq!(ack_parts(&raw.expect(kind::PUBACK).await), (0x87, Vec::new()));
}

// v5 [MQTT-2.2.2-1]: a packet with no properties still has its Property Length, 0. SUBACK,
// UNSUBACK and PUBLISH, whose layouts have no shorter form.
#[tokio::test]
async fn packets_without_properties_carry_a_zero_property_length_v5() {
    let broker = broker().await;
    let mut raw = client(broker.addr, "zero-props", Props::new()).await;
    raw.send(&subscribe(Level::V5, 1, &[("zero/t", 1)])).await;
    assert_eq!(raw.expect(kind::SUBACK).await, [kind::SUBACK, 4, 0, 1, 0, 1]);
    raw.send(&Publish::new(Level::V5, "zero/t", b"p").qos(1, 2).bytes())
        .await;
    let mut seen = [raw.packet().await.unwrap(), raw.packet().await.unwrap()];
    seen.sort();
    let [publish, puback] = seen;
    assert_eq!(puback, [kind::PUBACK, 2, 0, 2]);
    let (_, body) = split(&publish).unwrap();
    // topic, packet identifier, Property Length 0, payload
    assert_eq!(&body[..8], b"\0\x06zero/t");
    assert_eq!(&body[10..], [0, b'p']);
    raw.send(&ack(kind::PUBACK, u16::from_be_bytes([body[8], body[9]])))
        .await;
    raw.send(&unsubscribe(Level::V5, 3, &["zero/t"])).await;
    assert_eq!(raw.expect(kind::UNSUBACK).await, [kind::UNSUBACK, 4, 0, 3, 0, 0]);
}

// v5 [MQTT-4.12.0-6]: without an Authentication Method in CONNECT, no AUTH and no
// Authentication Method come from the server; [MQTT-3.1.2-28]: without Request Response
// Information 1, no Response Information.
#[tokio::test]
async fn nothing_the_client_did_not_ask_for_in_connack_v5() {
    let broker = broker().await;
    for (id, props) in [
        ("plain", Props::new()),
        (
            "asked-none",
            Props::new().byte(prop::REQUEST_RESPONSE_INFORMATION, 0),
        ),
    ] {
        let mut c = Connect::v5(id);
        c.props = props;
        let (mut raw, connack) = Raw::connected(broker.addr, &c).await;
        assert_eq!(connack.prop(prop::AUTHENTICATION_METHOD), None, "{connack:02x?}");
        assert_eq!(connack.prop(0x16), None, "authentication data: {connack:02x?}");
        assert_eq!(connack.prop(prop::RESPONSE_INFORMATION), None, "{connack:02x?}");
        raw.send(&subscribe(Level::V5, 1, &[("x/y", 0)])).await;
        raw.expect(kind::SUBACK).await;
        assert_eq!(raw.before_pong().await, Vec::<Vec<u8>>::new(), "no AUTH");
    }
}

/// The properties of a v5 DISCONNECT (3.14.2).
fn disconnect_props(packet: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let (header, body) = split(packet).expect("a whole packet");
    assert_eq!(header, kind::DISCONNECT, "{packet:02x?}");
    if body.len() < 2 {
        return Vec::new();
    }
    parse_props(&body[1..]).expect("properties")
}

// v5 [MQTT-3.14.2-2]: a DISCONNECT from the server never has a Session Expiry Interval, also
// for a client that set one: not on a protocol error, not on a takeover.
#[tokio::test]
async fn server_disconnect_has_no_session_expiry_v5() {
    let broker = broker().await;
    let with_expiry = || Props::new().u32(prop::SESSION_EXPIRY_INTERVAL, 300);
    let mut raw = client(broker.addr, "expiring", with_expiry()).await;
    // A second CONNECT is a protocol error.
    raw.send(&Connect::v5("expiring").bytes()).await;
    let seen = raw.expect_close().await;
    assert_eq!(seen.len(), 1, "{seen:02x?}");
    assert_eq!(disconnect_reason(&seen[0]), Some(0x82));
    assert!(
        !has(&disconnect_props(&seen[0]), prop::SESSION_EXPIRY_INTERVAL),
        "{seen:02x?}"
    );

    let mut old = client(broker.addr, "taken", with_expiry()).await;
    let _new = client(broker.addr, "taken", with_expiry()).await;
    let seen = old.expect_close().await;
    assert_eq!(seen.len(), 1, "{seen:02x?}");
    assert_eq!(disconnect_reason(&seen[0]), Some(0x8E));
    assert!(
        !has(&disconnect_props(&seen[0]), prop::SESSION_EXPIRY_INTERVAL),
        "{seen:02x?}"
    );
}

/// Sends `bad` on a new v5 connection and returns the reason of the DISCONNECT that closes it.
async fn disconnect_for(addr: SocketAddr, id: &str, bad: &[u8]) -> Option<u8> {
    let mut raw = client(addr, id, Props::new()).await;
    raw.send(bad).await;
    let seen = raw.expect_close().await;
    assert_eq!(seen.len(), 1, "{id}: {seen:02x?}");
    disconnect_reason(&seen[0])
}

// v5 [MQTT-3.15.1-1]: AUTH's fixed header flags are 0; anything else is malformed. A well-formed
// AUTH without an Authentication Method in CONNECT is a protocol error instead (v5 4.12).
#[tokio::test]
async fn auth_with_flags_set_is_malformed_v5() {
    let broker = broker().await;
    for flags in [0x01, 0x02, 0x08] {
        let bad = packet(kind::AUTH | flags, &[0x18, 0]);
        assert_eq!(
            disconnect_for(broker.addr, "auth-flags", &bad).await,
            Some(0x81),
            "{flags:#x}"
        );
    }
    let auth = packet(kind::AUTH, &[0x18, 0]);
    assert_eq!(disconnect_for(broker.addr, "auth", &auth).await, Some(0x82));
}

// v5 [MQTT-1.5.5-1]: a Variable Byte Integer uses the fewest bytes; a longer encoding is
// malformed: here the Remaining Length of a PINGREQ and of a SUBSCRIBE, the Property Length of
// a PUBLISH, a SUBSCRIBE, a CONNECT and a PUBACK, and a Subscription Identifier.
#[tokio::test]
async fn a_variable_byte_integer_longer_than_needed_is_malformed_v5() {
    let broker = broker().await;
    let pingreq = [kind::PINGREQ, 0x80, 0x00];
    assert_eq!(
        disconnect_for(broker.addr, "vbi-ping", &pingreq).await,
        Some(0x81)
    );
    let fine = subscribe(Level::V5, 1, &[("v/b", 0)]);
    let (_, body) = split(&fine).unwrap();
    let mut padded = vec![kind::SUBSCRIBE, 0x80 | body.len() as u8, 0x00];
    padded.extend_from_slice(body);
    assert_eq!(disconnect_for(broker.addr, "vbi-sub", &padded).await, Some(0x81));
    let mut body = string(b"v/b");
    body.extend([0x80, 0x00]);
    body.extend(b"payload");
    let publish = packet(kind::PUBLISH, &body);
    assert_eq!(
        disconnect_for(broker.addr, "vbi-props", &publish).await,
        Some(0x81)
    );
    // A SUBSCRIBE's Property Length, and a Subscription Identifier of 1 in two bytes.
    for props in [
        &[0x80, 0x00][..],
        &[0x03, prop::SUBSCRIPTION_IDENTIFIER, 0x81, 0x00],
    ] {
        let mut body = 1u16.to_be_bytes().to_vec();
        body.extend_from_slice(props);
        body.extend(string(b"v/b"));
        body.push(0);
        let bad = packet(kind::SUBSCRIBE, &body);
        assert_eq!(
            disconnect_for(broker.addr, "vbi-sub-props", &bad).await,
            Some(0x81),
            "{props:02x?}"
        );
    }
    // An acknowledgement's Property Length.
    let puback = packet(kind::PUBACK, &[0, 1, 0, 0x80, 0x00]);
    assert_eq!(disconnect_for(broker.addr, "vbi-ack", &puback).await, Some(0x81));
    // CONNECT's Property Length: the CONNACK says malformed.
    let mut body = string(b"MQTT");
    body.extend([5, 0x02, 0, 60, 0x80, 0x00]);
    body.extend(string(b"vbi-connect"));
    let mut raw = Raw::connect(broker.addr).await;
    raw.send(&packet(kind::CONNECT, &body)).await;
    let seen = raw.expect_close().await;
    let codes: Vec<Option<u8>> = seen
        .iter()
        .map(|p| Connack::parse(p, true).map(|c| c.code))
        .collect();
    assert_eq!(codes, [Some(0x81)], "{seen:02x?}");
}
