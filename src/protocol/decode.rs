//! Decoding: one framed packet's bytes → the version-neutral model, through mqtt-proto except
//! for PUBLISH (see `decode_publish`).

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use mqtt_proto::{v3, v5, PollHeader, QoS as CodecQoS};
use thiserror::Error;

use super::decode_publish::decode_publish;
use super::frame::{next_frame, SHARE_FRAMES_FROM};
use super::packet::*;
use super::var_int;
use super::ReasonCode;

/// Why a packet could not be decoded; each maps onto the v5 DISCONNECT reason code to send.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The bytes do not form a valid packet.
    #[error("malformed packet: {0}")]
    Malformed(String),
    /// The packet is well formed but breaks a protocol rule.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A PUBLISH topic name is not valid [MQTT-3.3.2-2].
    #[error("invalid topic name: {0}")]
    TopicName(String),
    /// A topic filter is not valid [MQTT-4.7.1].
    #[error("invalid topic filter: {0}")]
    TopicFilter(String),
    /// A payload flagged as UTF-8 is not [MQTT-3.3.2-4].
    #[error("payload format indicator says UTF-8 but the payload is not")]
    PayloadFormat,
    /// CONNECT asked for a protocol level this broker does not speak.
    #[error("unsupported protocol level {0}")]
    UnsupportedVersion(u8),
    /// The first bytes are not an MQTT CONNECT at all.
    #[error("not an MQTT connection: {0}")]
    NotMqtt(String),
    /// CONNECT's client identifier cannot be one (a CONNACK-only reason).
    #[error("client identifier not valid: {0}")]
    ClientId(String),
}

impl DecodeError {
    /// The v5 reason code that answers this error.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            DecodeError::Malformed(_) | DecodeError::NotMqtt(_) => ReasonCode::MALFORMED_PACKET,
            DecodeError::Protocol(_) => ReasonCode::PROTOCOL_ERROR,
            DecodeError::TopicName(_) => ReasonCode::TOPIC_NAME_INVALID,
            DecodeError::TopicFilter(_) => ReasonCode::TOPIC_FILTER_INVALID,
            DecodeError::PayloadFormat => ReasonCode::PAYLOAD_FORMAT_INVALID,
            DecodeError::UnsupportedVersion(_) => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            DecodeError::ClientId(_) => ReasonCode::CLIENT_ID_NOT_VALID,
        }
    }
}

fn from_common(err: mqtt_proto::Error) -> DecodeError {
    use mqtt_proto::Error as E;
    match err {
        // [MQTT-1.5.4-2] U+0000 in any string makes the packet malformed, topic or not.
        E::InvalidTopicName(t) | E::InvalidTopicFilter(t) if t.contains('\0') => {
            DecodeError::Malformed(format!("U+0000 in topic {t:?}"))
        }
        E::InvalidTopicName(t) => DecodeError::TopicName(t.to_string()),
        E::InvalidTopicFilter(t) => DecodeError::TopicFilter(t.to_string()),
        E::InvalidProtocol(name, level) if &*name == "MQTT" || &*name == "MQIsdp" => {
            DecodeError::UnsupportedVersion(level)
        }
        E::InvalidProtocol(name, level) => {
            DecodeError::NotMqtt(format!("protocol name {name:?} level {level}"))
        }
        E::ZeroPid => DecodeError::Malformed("packet identifier 0".into()),
        E::IoError(_) => DecodeError::Malformed("packet shorter than its fields".into()),
        other => DecodeError::Malformed(other.to_string()),
    }
}

fn from_v5(err: v5::ErrorV5) -> DecodeError {
    match err {
        v5::ErrorV5::Common(e) => from_common(e),
        v5::ErrorV5::InvalidPayloadFormat => DecodeError::PayloadFormat,
        v5::ErrorV5::InvalidResponseTopic => DecodeError::Protocol("invalid response topic".into()),
        v5::ErrorV5::DuplicatedProperty(id) => DecodeError::Protocol(format!("duplicated property {id:?}")),
        other => DecodeError::Malformed(other.to_string()),
    }
}

fn qos(q: CodecQoS) -> QoS {
    match q {
        CodecQoS::Level0 => QoS::AtMostOnce,
        CodecQoS::Level1 => QoS::AtLeastOnce,
        CodecQoS::Level2 => QoS::ExactlyOnce,
    }
}

fn user_props(props: Vec<v5::UserProperty>) -> Vec<UserProperty> {
    props.into_iter().map(|p| (p.name, p.value)).collect()
}

/// The protocol version a CONNECT packet asks for, from its protocol name and level; `None` when
/// `frame` is not a CONNECT of a known version. Lets a refusal be answered in the client's version.
pub fn connect_version(frame: &[u8], body_start: usize) -> Option<Version> {
    if frame.first() != Some(&0x10) {
        return None;
    }
    protocol_version(frame.get(body_start..)?).ok()
}

fn protocol_version(body: &[u8]) -> Result<Version, DecodeError> {
    let short = || DecodeError::Malformed("CONNECT too short".into());
    let name_len =
        u16::from_be_bytes([*body.first().ok_or_else(short)?, *body.get(1).ok_or_else(short)?]) as usize;
    let name = body.get(2..2 + name_len).ok_or_else(short)?;
    let level = *body.get(2 + name_len).ok_or_else(short)?;
    // Mosquitto's bridges mark themselves with the level's top bit (3.1 and 3.1.1 only).
    let level = match (name, level) {
        (b"MQTT", 0x84) | (b"MQIsdp", 0x83) => level & 0x7F,
        _ => level,
    };
    match (name, level) {
        (b"MQTT", 4) => Ok(Version::V3_1_1),
        (b"MQTT", 5) => Ok(Version::V5),
        (b"MQIsdp", 3) => Ok(Version::V3_1),
        (b"MQTT", _) | (b"MQIsdp", _) => Err(DecodeError::UnsupportedVersion(level)),
        _ => Err(DecodeError::NotMqtt(format!(
            "protocol name {:?}",
            String::from_utf8_lossy(name)
        ))),
    }
}

/// Reads the protocol name and level at the start of a CONNECT body, and checks the flag rules
/// mqtt-proto leaves open, so the right refusal can be chosen before decoding the rest.
fn check_connect_start(body: &[u8]) -> Result<Version, DecodeError> {
    let version = protocol_version(body)?;
    let name_len = u16::from_be_bytes([body[0], body[1]]) as usize;
    let flags = *body
        .get(3 + name_len)
        .ok_or_else(|| DecodeError::Malformed("CONNECT too short".into()))?;
    // [MQTT-3.1.2-3] the reserved flag is zero; [MQTT-3.1.2-11]/[MQTT-3.1.2-13]/[MQTT-3.1.2-15]
    // without the will flag, will QoS and will retain are zero.
    if flags & 0x01 != 0 {
        return Err(DecodeError::Malformed("reserved CONNECT flag set".into()));
    }
    if flags & 0x04 == 0 && flags & 0x38 != 0 {
        return Err(DecodeError::Malformed(
            "will QoS or retain set without a will".into(),
        ));
    }
    // 3.1.1 [MQTT-3.1.2-22]: no password without a user name (MQTT 5 lifted the rule).
    if !version.is_v5() && flags & 0xC0 == 0x40 {
        return Err(DecodeError::Malformed(
            "password flag set without the user name flag".into(),
        ));
    }
    Ok(version)
}

/// Decodes the first packet of a connection, which must be CONNECT [MQTT-3.1.0-1].
pub fn decode_connect(frame: &[u8], body_start: usize) -> Result<Connect, DecodeError> {
    if frame[0] != 0x10 {
        if frame[0] >> 4 == 1 {
            return Err(DecodeError::Malformed("reserved CONNECT header flags set".into()));
        }
        return Err(DecodeError::Protocol("first packet is not CONNECT".into()));
    }
    let version = check_connect_start(&frame[body_start..])?;
    let body = &frame[body_start..];
    let level_at = body_start + 2 + u16::from_be_bytes([body[0], body[1]]) as usize;
    if frame[level_at] & 0x80 != 0 {
        // A bridge's CONNECT (checked by `check_connect_start`): decoded as the plain version.
        let mut plain = frame.to_vec();
        plain[level_at] &= 0x7F;
        return match decode(version, &plain)? {
            Packet::Connect(c) => Ok(Connect { bridge: true, ..*c }),
            _ => Err(DecodeError::Protocol("first packet is not CONNECT".into())),
        };
    }
    match decode(version, frame)? {
        Packet::Connect(c) => Ok(*c),
        _ => Err(DecodeError::Protocol("first packet is not CONNECT".into())),
    }
}

/// Which side of a connection sent a packet: a few rules differ (only a server may put
/// Subscription Identifiers in a PUBLISH).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The packet came from a client: the broker's view.
    Client,
    /// The packet came from a server: the client's view.
    Server,
}

/// Decodes one whole packet (fixed header included) that a client sent on a connection of
/// `version`. A PUBLISH payload is copied out of `frame`; [`decode_shared`] slices it instead.
///
/// A packet ends where its fields end: bytes left over after them make it malformed (v5 and
/// 3.1.1 [MQTT-3.1.4-1] for CONNECT, sections 3.4 to 3.14 for the others, whose layouts leave
/// no room for more). mqtt-proto reads what the fields need and ignores the rest.
pub fn decode(version: Version, frame: &[u8]) -> Result<Packet, DecodeError> {
    decode_with(version, Sender::Client, frame, |range| {
        Bytes::copy_from_slice(&frame[range])
    })
}

/// Decodes one whole packet that `sender` sent, as [`decode`] does; a PUBLISH payload is a slice
/// of `frame`, which it keeps alive.
pub fn decode_shared(version: Version, sender: Sender, frame: Bytes) -> Result<Packet, DecodeError> {
    decode_with(version, sender, &frame, |range| frame.slice(range))
}

/// Decodes the whole packet of `len` bytes at the front of `buf`, which `sender` sent, and takes
/// it off the buffer.
///
/// A large packet is split off without a copy: its payload keeps that part of the read buffer
/// alive as long as the message lives. A small one is decoded where it lies and only its payload
/// is copied out, one allocation: a message that stays (queued for a slow subscriber, retained)
/// must not hold a read buffer many times its size, and copying the whole frame first would cost
/// a second allocation (and a third when its payload is sliced).
pub fn decode_front(
    version: Version,
    sender: Sender,
    buf: &mut bytes::BytesMut,
    len: usize,
) -> Result<Packet, DecodeError> {
    if len >= SHARE_FRAMES_FROM {
        return decode_shared(version, sender, buf.split_to(len).freeze());
    }
    let frame = &buf[..len];
    let packet = decode_with(version, sender, frame, |range| {
        Bytes::copy_from_slice(&frame[range])
    });
    bytes::Buf::advance(buf, len);
    packet
}

fn decode_with(
    version: Version,
    sender: Sender,
    frame: &[u8],
    payload: impl FnOnce(Range<usize>) -> Bytes,
) -> Result<Packet, DecodeError> {
    let incomplete = || DecodeError::Malformed("remaining length shorter than the packet's fields".into());
    let found = next_frame(frame, usize::MAX)
        .map_err(|e| DecodeError::Malformed(e.to_string()))?
        .ok_or_else(incomplete)?;
    let packet = if found.header >> 4 == 3 {
        let publish = decode_publish(version, sender, &frame[..found.len], found.body_start, payload)?;
        Packet::Publish(publish)
    } else {
        decode_other(version, frame, found.body_start, found.len)?
    };
    check_packet(&packet)?;
    Ok(packet)
}

/// Every packet but PUBLISH, through mqtt-proto.
fn decode_other(
    version: Version,
    frame: &[u8],
    body_start: usize,
    len: usize,
) -> Result<Packet, DecodeError> {
    let body = &frame[body_start..len];
    if frame[0] >> 4 == 1 {
        // A CONNECT as a later packet is refused by the connection anyway, but it is held to
        // the first packet's flag rules too, so that no path decodes what the other refuses.
        check_connect_start(body)?;
    }
    let (remaining, total) = (body.len() as u32, len as u32);
    if version.is_v5() {
        let header = v5::Header::new_with(frame[0], remaining, total).map_err(from_v5)?;
        let packet = decode_exact(header, body, from_v5)?;
        var_int::check_minimal(frame[0], body)?;
        check_strings_v5(&packet)?;
        from_v5_packet(packet)
    } else {
        let header = v3::Header::new_with(frame[0], remaining, total).map_err(from_common)?;
        let packet = decode_exact(header, body, from_common)?;
        check_strings_v3(&packet)?;
        from_v3_packet(version, packet)
    }
}

/// Decodes a body that must hold exactly the packet's fields.
fn decode_exact<H: PollHeader>(
    header: H,
    body: &[u8],
    map: fn(H::Error) -> DecodeError,
) -> Result<H::Packet, DecodeError> {
    let mut used = 0;
    let packet = match header.build_empty_packet() {
        Some(packet) => packet,
        None => header.decode_buffer(body, &mut used).map_err(map)?,
    };
    if used != body.len() {
        return Err(DecodeError::Malformed(format!(
            "{} bytes after the packet's fields",
            body.len() - used
        )));
    }
    Ok(packet)
}

/// [MQTT-1.5.4-2] (3.1.1 [MQTT-1.5.3-2]): no string holds U+0000. mqtt-proto checks topic
/// names and filters; these are the other strings.
fn no_nul(what: &str, s: &str) -> Result<(), DecodeError> {
    if s.contains('\0') {
        return Err(DecodeError::Malformed(format!("U+0000 in the {what}")));
    }
    Ok(())
}

fn no_nul_client_id(id: &str) -> Result<(), DecodeError> {
    if id.contains('\0') {
        return Err(DecodeError::ClientId(format!("U+0000 in {id:?}")));
    }
    Ok(())
}

fn no_nul_opt(what: &str, s: &Option<Arc<str>>) -> Result<(), DecodeError> {
    s.as_deref().map_or(Ok(()), |s| no_nul(what, s))
}

fn no_nul_user(props: &[v5::UserProperty]) -> Result<(), DecodeError> {
    props.iter().try_for_each(|p| {
        no_nul("user property name", &p.name)?;
        no_nul("user property value", &p.value)
    })
}

fn check_strings_v3(packet: &v3::Packet) -> Result<(), DecodeError> {
    if let v3::Packet::Connect(c) = packet {
        no_nul_client_id(&c.client_id)?;
        no_nul_opt("user name", &c.username)?;
    }
    Ok(())
}

fn check_strings_v5(packet: &v5::Packet) -> Result<(), DecodeError> {
    use v5::Packet as P;
    match packet {
        P::Connect(c) => {
            no_nul_client_id(&c.client_id)?;
            no_nul_opt("user name", &c.username)?;
            no_nul_opt("authentication method", &c.properties.auth_method)?;
            no_nul_user(&c.properties.user_properties)?;
            if let Some(w) = &c.last_will {
                no_nul_opt("will content type", &w.properties.content_type)?;
                no_nul_user(&w.properties.user_properties)?;
            }
            Ok(())
        }
        // Decoded by decode_publish, never here.
        P::Publish(_) => Ok(()),
        P::Puback(a) => ack_strings(&a.properties.reason_string, &a.properties.user_properties),
        P::Pubrec(a) => ack_strings(&a.properties.reason_string, &a.properties.user_properties),
        P::Pubrel(a) => ack_strings(&a.properties.reason_string, &a.properties.user_properties),
        P::Pubcomp(a) => ack_strings(&a.properties.reason_string, &a.properties.user_properties),
        P::Subscribe(s) => no_nul_user(&s.properties.user_properties),
        P::Unsubscribe(u) => no_nul_user(&u.properties.user_properties),
        P::Disconnect(d) => {
            no_nul_opt("server reference", &d.properties.server_reference)?;
            ack_strings(&d.properties.reason_string, &d.properties.user_properties)
        }
        P::Auth(a) => {
            no_nul_opt("authentication method", &a.properties.auth_method)?;
            ack_strings(&a.properties.reason_string, &a.properties.user_properties)
        }
        P::Connack(c) => {
            no_nul_opt("assigned client identifier", &c.properties.assigned_client_id)?;
            ack_strings(&c.properties.reason_string, &c.properties.user_properties)
        }
        P::Suback(s) => ack_strings(&s.properties.reason_string, &s.properties.user_properties),
        P::Unsuback(u) => ack_strings(&u.properties.reason_string, &u.properties.user_properties),
        P::Pingreq | P::Pingresp => Ok(()),
    }
}

fn ack_strings(reason_string: &Option<Arc<str>>, user: &[v5::UserProperty]) -> Result<(), DecodeError> {
    no_nul_opt("reason string", reason_string)?;
    no_nul_user(user)
}

/// Rules on the decoded packet that both versions share and mqtt-proto leaves open.
fn check_packet(packet: &Packet) -> Result<(), DecodeError> {
    match packet {
        // [MQTT-3.3.1-2] the DUP flag is 0 for all QoS 0 messages
        Packet::Publish(p) if p.dup && p.qos == QoS::AtMostOnce => {
            Err(DecodeError::Malformed("DUP flag set on a QoS 0 PUBLISH".into()))
        }
        // [MQTT-4.7.3-1] topic names are at least one character long; a will has no alias
        Packet::Connect(c) if c.will.as_ref().is_some_and(|w| w.topic.is_empty()) => {
            Err(DecodeError::TopicName("empty will topic".into()))
        }
        _ => Ok(()),
    }
}

fn from_v3_packet(version: Version, packet: v3::Packet) -> Result<Packet, DecodeError> {
    Ok(match packet {
        v3::Packet::Connect(c) => Packet::Connect(Box::new(Connect {
            version,
            clean_start: c.clean_session,
            keep_alive: c.keep_alive,
            client_id: c.client_id,
            username: c.username,
            password: c.password,
            will: c.last_will.map(|w| Will {
                topic: Arc::from(&*w.topic_name),
                payload: w.message,
                qos: qos(w.qos),
                retain: w.retain,
                delay_interval: 0,
                properties: MessageProperties::default(),
            }),
            session_expiry: 0,
            receive_maximum: u16::MAX,
            maximum_packet_size: None,
            topic_alias_maximum: 0,
            request_response_info: false,
            request_problem_info: true,
            user_properties: Vec::new(),
            auth_method: None,
            auth_data: None,
            bridge: false,
        })),
        v3::Packet::Publish(_) => return Err(not_here()),
        v3::Packet::Puback(pid) => Packet::Puback(Ack::success(pid.value())),
        v3::Packet::Pubrec(pid) => Packet::Pubrec(Ack::success(pid.value())),
        v3::Packet::Pubrel(pid) => Packet::Pubrel(Ack::success(pid.value())),
        v3::Packet::Pubcomp(pid) => Packet::Pubcomp(Ack::success(pid.value())),
        v3::Packet::Subscribe(s) => Packet::Subscribe(Subscribe {
            packet_id: s.pid.value(),
            subscription_id: None,
            filters: s
                .topics
                .into_iter()
                .map(|(f, q)| {
                    (
                        Arc::from(&*f),
                        SubscriptionOptions {
                            qos: qos(q),
                            ..Default::default()
                        },
                    )
                })
                .collect(),
        }),
        v3::Packet::Unsubscribe(u) => Packet::Unsubscribe(Unsubscribe {
            packet_id: u.pid.value(),
            filters: u.topics.into_iter().map(|f| Arc::from(&*f)).collect(),
        }),
        v3::Packet::Pingreq => Packet::Pingreq,
        v3::Packet::Pingresp => Packet::Pingresp,
        v3::Packet::Disconnect => Packet::Disconnect(Disconnect::default()),
        v3::Packet::Connack(c) => Packet::Connack(Connack {
            session_present: c.session_present,
            reason: ReasonCode::from_connack_return_code_v3(c.code as u8),
            properties: ConnackProperties::default(),
        }),
        v3::Packet::Suback(s) => Packet::Suback(Suback {
            packet_id: s.pid.value(),
            reasons: s
                .topics
                .into_iter()
                .map(|c| match c {
                    v3::SubscribeReturnCode::MaxLevel0 => ReasonCode::SUCCESS,
                    v3::SubscribeReturnCode::MaxLevel1 => ReasonCode::GRANTED_QOS_1,
                    v3::SubscribeReturnCode::MaxLevel2 => ReasonCode::GRANTED_QOS_2,
                    v3::SubscribeReturnCode::Failure => ReasonCode::UNSPECIFIED_ERROR,
                })
                .collect(),
            reason_string: None,
        }),
        v3::Packet::Unsuback(pid) => Packet::Unsuback(Unsuback {
            packet_id: pid.value(),
            reasons: Vec::new(),
        }),
    })
}

/// PUBLISH reaching mqtt-proto's model: `decode_publish` reads every one, so this cannot happen.
fn not_here() -> DecodeError {
    DecodeError::Malformed("PUBLISH decoded by the wrong decoder".into())
}

fn ack_v5(pid: mqtt_proto::Pid, reason: u8, reason_string: Option<Arc<str>>) -> Ack {
    Ack {
        packet_id: pid.value(),
        reason: ReasonCode::new(reason),
        reason_string,
    }
}

fn from_v5_packet(packet: v5::Packet) -> Result<Packet, DecodeError> {
    Ok(match packet {
        v5::Packet::Connect(c) => {
            let props = c.properties;
            if props.receive_max == Some(0) {
                // [MQTT-3.1.2-] a receive maximum of 0 is a protocol error
                return Err(DecodeError::Protocol("receive maximum 0".into()));
            }
            if props.max_packet_size == Some(0) {
                return Err(DecodeError::Protocol("maximum packet size 0".into()));
            }
            if props.auth_data.is_some() && props.auth_method.is_none() {
                return Err(DecodeError::Protocol(
                    "authentication data without a method".into(),
                ));
            }
            Packet::Connect(Box::new(Connect {
                version: Version::V5,
                clean_start: c.clean_start,
                keep_alive: c.keep_alive,
                client_id: c.client_id,
                username: c.username,
                password: c.password,
                will: c.last_will.map(|w| Will {
                    topic: Arc::from(&*w.topic_name),
                    payload: w.payload,
                    qos: qos(w.qos),
                    retain: w.retain,
                    delay_interval: w.properties.delay_interval.unwrap_or(0),
                    properties: MessageProperties::from(PropertyFields {
                        payload_format_utf8: w.properties.payload_is_utf8,
                        message_expiry: w.properties.message_expiry_interval,
                        content_type: w.properties.content_type,
                        response_topic: w.properties.response_topic.map(|t| Arc::from(&*t)),
                        correlation_data: w.properties.correlation_data,
                        user_properties: user_props(w.properties.user_properties),
                    }),
                }),
                session_expiry: props.session_expiry_interval.unwrap_or(0),
                receive_maximum: props.receive_max.unwrap_or(u16::MAX),
                maximum_packet_size: props.max_packet_size,
                topic_alias_maximum: props.topic_alias_max.unwrap_or(0),
                request_response_info: props.request_response_info.unwrap_or(false),
                request_problem_info: props.request_problem_info.unwrap_or(true),
                user_properties: user_props(props.user_properties),
                auth_method: props.auth_method,
                auth_data: props.auth_data,
                bridge: false,
            }))
        }
        v5::Packet::Publish(_) => return Err(not_here()),
        v5::Packet::Puback(a) => {
            Packet::Puback(ack_v5(a.pid, a.reason_code as u8, a.properties.reason_string))
        }
        v5::Packet::Pubrec(a) => {
            Packet::Pubrec(ack_v5(a.pid, a.reason_code as u8, a.properties.reason_string))
        }
        v5::Packet::Pubrel(a) => {
            Packet::Pubrel(ack_v5(a.pid, a.reason_code as u8, a.properties.reason_string))
        }
        v5::Packet::Pubcomp(a) => {
            Packet::Pubcomp(ack_v5(a.pid, a.reason_code as u8, a.properties.reason_string))
        }
        v5::Packet::Subscribe(s) => {
            let subscription_id = s.properties.subscription_id.map(|v| v.value());
            if subscription_id == Some(0) {
                // [MQTT-3.8.2-] a subscription identifier of 0 is a protocol error
                return Err(DecodeError::Protocol("subscription identifier 0".into()));
            }
            Packet::Subscribe(Subscribe {
                packet_id: s.pid.value(),
                subscription_id,
                filters: s
                    .topics
                    .into_iter()
                    .map(|(f, o)| {
                        (
                            Arc::from(&*f),
                            SubscriptionOptions {
                                qos: qos(o.max_qos),
                                no_local: o.no_local,
                                retain_as_published: o.retain_as_published,
                                retain_handling: match o.retain_handling {
                                    v5::RetainHandling::SendAtSubscribe => RetainHandling::SendAlways,
                                    v5::RetainHandling::SendAtSubscribeIfNotExist => {
                                        RetainHandling::SendIfNew
                                    }
                                    v5::RetainHandling::DoNotSend => RetainHandling::Never,
                                },
                            },
                        )
                    })
                    .collect(),
            })
        }
        v5::Packet::Unsubscribe(u) => Packet::Unsubscribe(Unsubscribe {
            packet_id: u.pid.value(),
            filters: u.topics.into_iter().map(|f| Arc::from(&*f)).collect(),
        }),
        v5::Packet::Pingreq => Packet::Pingreq,
        v5::Packet::Pingresp => Packet::Pingresp,
        v5::Packet::Disconnect(d) => Packet::Disconnect(Disconnect {
            reason: ReasonCode::new(d.reason_code as u8),
            session_expiry: d.properties.session_expiry_interval,
            reason_string: d.properties.reason_string,
        }),
        v5::Packet::Auth(a) => Packet::Auth(Auth {
            reason: ReasonCode::new(a.reason_code as u8),
            method: a.properties.auth_method,
            data: a.properties.auth_data,
        }),
        v5::Packet::Connack(c) => {
            let p = c.properties;
            Packet::Connack(Connack {
                session_present: c.session_present,
                reason: ReasonCode::new(c.reason_code as u8),
                properties: ConnackProperties {
                    session_expiry: p.session_expiry_interval,
                    receive_maximum: p.receive_max,
                    maximum_qos: p.max_qos.map(qos),
                    retain_available: p.retain_available,
                    maximum_packet_size: p.max_packet_size,
                    assigned_client_id: p.assigned_client_id,
                    topic_alias_maximum: p.topic_alias_max,
                    reason_string: p.reason_string,
                    wildcard_subscription_available: p.wildcard_subscription_available,
                    subscription_ids_available: p.subscription_id_available,
                    shared_subscription_available: p.shared_subscription_available,
                    server_keep_alive: p.server_keep_alive,
                    response_information: p.response_info,
                },
            })
        }
        v5::Packet::Suback(s) => Packet::Suback(Suback {
            packet_id: s.pid.value(),
            reasons: s.topics.into_iter().map(|c| ReasonCode::new(c as u8)).collect(),
            reason_string: s.properties.reason_string,
        }),
        v5::Packet::Unsuback(u) => Packet::Unsuback(Unsuback {
            packet_id: u.pid.value(),
            reasons: u.topics.into_iter().map(|c| ReasonCode::new(c as u8)).collect(),
        }),
    })
}
