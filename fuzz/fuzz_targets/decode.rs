//! Fuzz target `decode`: arbitrary bytes through framing (with a size limit) and decoding for
//! MQTT 3.1, 3.1.1 and 5.0 never panic, and whatever decodes re-encodes to the same packet.
//!
//! The input is a byte stream as a connection would read it: it is cut into frames with
//! `next_frame`, and every frame is decoded as each protocol version and as a first packet
//! (`decode_connect`, which alone accepts a bridge's CONNECT). Checked on the way:
//! - framing agrees with itself: a size limit only turns a frame into `TooLarge`, every strict
//!   prefix of a whole frame asks for more bytes;
//! - decode → encode → decode gives the same model (after the normalisations 3.1.1 forces);
//! - as a packet from a server (a PUBLISH may carry Subscription Identifiers), with the payload
//!   shared rather than copied: it decodes as from a client unless it carries one, and a PUBLISH
//!   re-encodes to the same packet;
//! - a PUBLISH forwarded to a subscriber of the other version loses only what that version
//!   cannot carry;
//! - the topic functions agree with MQTT's matching rules on the names and filters seen.

#![no_main]

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use robustmq::protocol::{
    self, topic, Connect, DecodeError, Frame, FrameError, Packet, Publish, ReasonCode, Sender, Version,
};

const VERSIONS: [Version; 3] = [Version::V3_1, Version::V3_1_1, Version::V5];

/// Topic names and filters collected over one input, for the matching checks (bounded so a
/// large input does not turn quadratic).
#[derive(Default)]
struct Topics {
    names: Vec<String>,
    filters: Vec<String>,
}

const MAX_TOPICS: usize = 16;

fuzz_target!(|data: &[u8]| {
    // A limit that varies with the input, so both sides of the size check are exercised.
    let limit = 2 + 4 * data.last().copied().unwrap_or(0) as usize;
    let mut topics = Topics::default();
    let mut rest = data;
    while !rest.is_empty() {
        let unlimited = protocol::next_frame(rest, usize::MAX);
        check_limit(rest, &unlimited, limit);
        let frame = match unlimited {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                assert_eq!(
                    e,
                    FrameError::BadRemainingLength,
                    "only the header can be malformed"
                );
                break;
            }
        };
        let bytes = &rest[..frame.len];
        check_prefixes(bytes);
        for version in VERSIONS {
            match protocol::decode(version, bytes) {
                Ok(packet) => {
                    round_trip(version, &packet);
                    collect_topics(&packet, &mut topics);
                }
                Err(e) => check_error(&e),
            }
            from_server(version, bytes);
        }
        match protocol::decode_connect(bytes, frame.body_start) {
            Ok(connect) => {
                // The first-packet path checks more than `decode`, never less; it alone knows
                // the bridge marker, so a bridge's CONNECT is compared as the plain one.
                let expected = Packet::Connect(Box::new(Connect {
                    bridge: false,
                    ..connect.clone()
                }));
                let version = connect.version;
                let plain = plain_level(bytes, frame.body_start, connect.bridge);
                assert_eq!(protocol::decode(version, &plain).as_ref(), Ok(&expected));
                round_trip(version, &Packet::Connect(Box::new(connect)));
            }
            Err(e) => check_error(&e),
        }
        rest = &rest[frame.len..];
    }
    check_matching(&topics);
});

/// The frame as a server's packet: the same as a client's but for Subscription Identifiers, and a
/// PUBLISH with them encodes back to the same packet.
fn from_server(version: Version, bytes: &[u8]) {
    let shared = protocol::decode_shared(version, Sender::Server, Bytes::copy_from_slice(bytes));
    match (&shared, protocol::decode(version, bytes)) {
        (Ok(Packet::Publish(p)), _) if !p.subscription_ids.is_empty() => {
            let mut out = BytesMut::new();
            protocol::encode_publish(version, p, &mut out).expect("a decoded PUBLISH encodes");
            let again = protocol::decode_shared(version, Sender::Server, out.freeze());
            assert_eq!(
                again.as_ref(),
                shared.as_ref(),
                "{version} round trip from a server"
            );
        }
        (Ok(packet), Ok(from_client)) => assert_eq!(packet, &from_client, "{version}"),
        (Err(e), _) => check_error(e),
        (Ok(packet), Err(e)) => panic!("{version}: decodes from a server only: {packet:?} ({e})"),
    }
}

/// A CONNECT's bytes with the bridge marker (top bit of the protocol level, 3.1 and 3.1.1 only)
/// cleared, checking that it is set exactly when `decode_connect` saw a bridge.
fn plain_level(bytes: &[u8], body_start: usize, bridge: bool) -> Cow<'_, [u8]> {
    let name_len = u16::from_be_bytes([bytes[body_start], bytes[body_start + 1]]) as usize;
    let level_at = body_start + 2 + name_len;
    let level = bytes[level_at];
    assert_eq!(level & 0x80 != 0, bridge, "level {level:#x}");
    if !bridge {
        return Cow::Borrowed(bytes);
    }
    assert!(matches!(level, 0x83 | 0x84), "level {level:#x}");
    let mut plain = bytes.to_vec();
    plain[level_at] &= 0x7F;
    Cow::Owned(plain)
}

/// `next_frame` with a limit differs from the unlimited call only by refusing what is larger.
fn check_limit(buf: &[u8], unlimited: &Result<Option<Frame>, FrameError>, limit: usize) {
    let limited = protocol::next_frame(buf, limit);
    match unlimited {
        Ok(Some(frame)) => {
            assert!(frame.len <= buf.len() && frame.len >= 2, "{frame:?}");
            assert!((2..=5).contains(&frame.body_start), "{frame:?}");
            assert_eq!(frame.header, buf[0]);
            if frame.len > limit {
                assert_eq!(
                    limited,
                    Err(FrameError::TooLarge {
                        size: frame.len,
                        max: limit
                    })
                );
            } else {
                assert_eq!(limited, Ok(Some(*frame)));
            }
        }
        // The header is incomplete, or the body is: a limit may refuse the announced size early.
        Ok(None) => assert!(
            matches!(limited, Ok(None) | Err(FrameError::TooLarge { .. })),
            "{limited:?}"
        ),
        Err(FrameError::BadRemainingLength) => assert_eq!(limited, Err(FrameError::BadRemainingLength)),
        Err(e @ FrameError::TooLarge { .. }) => panic!("no packet exceeds usize::MAX: {e}"),
    }
}

/// Every strict prefix of a whole packet asks for more bytes: a packet split over reads is never
/// refused or mis-framed.
fn check_prefixes(bytes: &[u8]) {
    for cut in [1, 2, 3, bytes.len() / 2, bytes.len() - 1] {
        if cut < bytes.len() {
            assert_eq!(
                protocol::next_frame(&bytes[..cut], usize::MAX),
                Ok(None),
                "prefix {cut}"
            );
        }
    }
}

/// Every decode error maps onto a v5 reason code that signals an error.
fn check_error(e: &DecodeError) {
    let code = e.reason_code();
    assert!(code.is_error(), "{e}: reason {code:#x}");
    // Errors become log lines and v5 reason strings: formatting them must not panic either.
    let _ = e.to_string();
}

/// The model after a trip through the 3.1.1 wire format, which cannot say everything v5 can.
fn normalise(version: Version, packet: &Packet) -> Packet {
    let mut packet = packet.clone();
    if !version.is_v5() {
        if let Packet::Connack(c) = &mut packet {
            // [MQTT-3.2.2-4] a refusing 3.1.1 CONNACK never says a session is present, nor
            // does any 3.1 one; the return code keeps only the nearest reason.
            let code = c.reason.connack_return_code_v3();
            c.reason = ReasonCode::from_connack_return_code_v3(code);
            c.session_present &= code == 0 && version != Version::V3_1;
        }
    }
    packet
}

/// decode → encode → decode is the identity on the model, for the packet's own version.
fn round_trip(version: Version, packet: &Packet) {
    let mut out = BytesMut::new();
    if let Err(e) = protocol::encode(version, packet, &mut out) {
        panic!(
            "{} decoded as {version} does not encode again: {e}\n{packet:?}",
            packet.name()
        );
    }
    let frame = protocol::next_frame(&out, usize::MAX)
        .expect("the encoder writes a valid header")
        .expect("the encoder writes whole packets");
    assert_eq!(frame.len, out.len(), "one packet, nothing after it");
    let again = match packet {
        Packet::Connect(_) => {
            protocol::decode_connect(&out, frame.body_start).map(|c| Packet::Connect(Box::new(c)))
        }
        _ => protocol::decode(version, &out),
    };
    let again =
        again.unwrap_or_else(|e| panic!("re-encoded {} does not decode as {version}: {e}", packet.name()));
    assert_eq!(again, normalise(version, packet), "{version} round trip");
    if let Packet::Publish(p) = packet {
        assert_eq!(protocol::publish_len(version, p), Ok(out.len()));
        forward(version, p);
    }
}

/// A PUBLISH received in one version and sent to a subscriber of another: the broker resolves
/// topic aliases first, so only PUBLISHes with a topic name are forwarded.
fn forward(from: Version, p: &Publish) {
    if p.topic.is_empty() {
        return;
    }
    let to = if from.is_v5() {
        Version::V3_1_1
    } else {
        Version::V5
    };
    let mut sent = p.clone();
    sent.topic_alias = None;
    let mut out = BytesMut::new();
    protocol::encode_publish(to, &sent, &mut out).expect("a decoded PUBLISH encodes in every version");
    let Ok(Packet::Publish(received)) = protocol::decode(to, &out) else {
        panic!(
            "PUBLISH forwarded from {from} to {to} does not decode: {:?}",
            protocol::decode(to, &out)
        );
    };
    let mut expected = sent;
    if !to.is_v5() {
        expected.properties = Default::default();
    }
    assert_eq!(received, expected, "PUBLISH forwarded from {from} to {to}");
}

fn collect_topics(packet: &Packet, topics: &mut Topics) {
    match packet {
        Packet::Publish(p) if !p.topic.is_empty() && topics.names.len() < MAX_TOPICS => {
            topics.names.push(p.topic.to_string());
        }
        Packet::Subscribe(s) => {
            for (f, _) in &s.filters {
                if topics.filters.len() < MAX_TOPICS {
                    topics.filters.push(f.to_string());
                }
            }
        }
        Packet::Unsubscribe(u) => {
            for f in &u.filters {
                if topics.filters.len() < MAX_TOPICS {
                    topics.filters.push(f.to_string());
                }
            }
        }
        _ => {}
    }
}

/// The matching rules of [MQTT-4.7] on the names and filters that decoded.
fn check_matching(topics: &Topics) {
    for name in &topics.names {
        // [MQTT-3.3.2-2] a decoded topic name has no wildcard, so it is a filter matching itself.
        assert!(!topic::has_wildcard(name), "{name:?}");
        assert!(topic::matches(name, name), "{name:?} does not match itself");
        // [MQTT-4.7.2-1] `#` matches everything except `$` topics.
        assert_eq!(topic::matches("#", name), !name.starts_with('$'), "{name:?}");
    }
    for filter in &topics.filters {
        let Some(parsed) = topic::parse_filter(filter) else {
            continue;
        };
        if let Some(group) = parsed.share_group {
            // [MQTT-4.8.2-1] a share name is at least one character long, [MQTT-4.8.2-2] without `/`,
            // `+` or `#`.
            assert!(!group.is_empty() && !topic::has_wildcard(group) && !group.contains('/'));
        }
        for name in &topics.names {
            let matched = topic::matches(parsed.filter, name);
            if !topic::has_wildcard(parsed.filter) {
                assert_eq!(matched, parsed.filter == name, "{:?} vs {name:?}", parsed.filter);
            }
        }
    }
}
