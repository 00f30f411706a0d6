//! Encoding: the version-neutral model → bytes for one connection's protocol version, in both
//! directions (the broker and the client toolkit share it).
//!
//! PUBLISH and the four acks are written here directly: they are the hot path, and v5 PUBLISH must
//! carry several subscription identifiers, which mqtt-proto's model cannot hold. The rarer packets
//! go through mqtt-proto.

use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use mqtt_proto::{v3, v5, Pid, QoS as CodecQoS};
use thiserror::Error;

use super::frame::{put_var_int, var_int_len, MAX_REMAINING_LENGTH};
use super::packet::*;
use super::ReasonCode;

/// Why a packet could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A string or binary field is longer than the 65,535 bytes MQTT can express.
    #[error("{0} is longer than 65535 bytes")]
    FieldTooLong(&'static str),
    /// The packet is larger than MQTT's maximum remaining length.
    #[error("packet larger than the MQTT maximum")]
    PacketTooLarge,
    /// A packet identifier of 0 where one is required.
    #[error("packet identifier 0")]
    ZeroPacketId,
    /// A topic name or filter that MQTT does not allow.
    #[error("invalid topic {0:?}")]
    InvalidTopic(String),
    /// mqtt-proto refused the packet.
    #[error("codec: {0}")]
    Codec(String),
    /// The packet does not fit in the receiver's Maximum Packet Size, even without what is
    /// optional in it.
    #[error("{size} bytes exceed the receiver's maximum packet size of {max}")]
    ExceedsPeerMaximum {
        /// Bytes the packet takes.
        size: usize,
        /// The receiver's maximum.
        max: usize,
    },
}

fn str_len(s: &str, what: &'static str) -> Result<usize, EncodeError> {
    if s.len() > u16::MAX as usize {
        return Err(EncodeError::FieldTooLong(what));
    }
    Ok(2 + s.len())
}

fn put_str(out: &mut BytesMut, s: &[u8]) {
    out.put_u16(s.len() as u16);
    out.put_slice(s);
}

/// A PUBLISH to encode, borrowing its parts: the broker writes each delivery straight from the
/// shared message, without building a [`Publish`] (and touching its reference counts) per
/// subscriber.
#[derive(Debug, Clone, Copy)]
pub struct PublishRef<'a> {
    /// DUP flag.
    pub dup: bool,
    /// Quality of service.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name; empty when `topic_alias` stands in for it.
    pub topic: &'a str,
    /// Packet identifier, 0 for QoS 0.
    pub packet_id: u16,
    /// Application payload.
    pub payload: &'a [u8],
    /// End-to-end properties (v5); their `message_expiry` is not used.
    pub properties: &'a MessageProperties,
    /// Message expiry interval to send, in seconds.
    pub message_expiry: Option<u32>,
    /// v5 topic alias.
    pub topic_alias: Option<u16>,
    /// v5 subscription identifiers.
    pub subscription_ids: &'a [u32],
}

impl Publish {
    /// This packet as parts to encode.
    pub fn parts(&self) -> PublishRef<'_> {
        PublishRef {
            dup: self.dup,
            qos: self.qos,
            retain: self.retain,
            topic: &self.topic,
            packet_id: self.packet_id,
            payload: &self.payload,
            properties: &self.properties,
            message_expiry: self.properties.message_expiry,
            topic_alias: self.topic_alias,
            subscription_ids: &self.subscription_ids,
        }
    }
}

/// Length of the v5 property block (without its own length prefix) of an outgoing PUBLISH.
fn publish_properties_len(p: &PublishRef) -> Result<usize, EncodeError> {
    let props = p.properties;
    let mut len = 0;
    if props.payload_format_utf8.is_some() {
        len += 2;
    }
    if p.message_expiry.is_some() {
        len += 5;
    }
    if let Some(ct) = &props.content_type {
        len += 1 + str_len(ct, "content type")?;
    }
    if let Some(rt) = &props.response_topic {
        len += 1 + str_len(rt, "response topic")?;
    }
    if let Some(cd) = &props.correlation_data {
        if cd.len() > u16::MAX as usize {
            return Err(EncodeError::FieldTooLong("correlation data"));
        }
        len += 3 + cd.len();
    }
    for id in p.subscription_ids {
        len += 1 + var_int_len(*id as usize);
    }
    if p.topic_alias.is_some() {
        len += 3;
    }
    for (k, v) in &props.user_properties {
        len += 1 + str_len(k, "user property name")? + str_len(v, "user property value")?;
    }
    Ok(len)
}

/// Remaining length of a PUBLISH and, for v5, the length of its property block.
fn publish_remaining_len(version: Version, p: &PublishRef) -> Result<(usize, usize), EncodeError> {
    let mut len = str_len(p.topic, "topic name")? + p.payload.len();
    if p.qos != QoS::AtMostOnce {
        len += 2;
    }
    let mut props = 0;
    if version.is_v5() {
        props = publish_properties_len(p)?;
        len += var_int_len(props) + props;
    }
    if len > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge);
    }
    Ok((len, props))
}

/// Total encoded size of a PUBLISH, to check a client's maximum packet size before sending.
pub fn publish_len(version: Version, p: &Publish) -> Result<usize, EncodeError> {
    publish_parts_len(version, &p.parts())
}

/// Total encoded size of a PUBLISH given by its parts.
pub fn publish_parts_len(version: Version, p: &PublishRef) -> Result<usize, EncodeError> {
    let (remaining, _) = publish_remaining_len(version, p)?;
    Ok(1 + var_int_len(remaining) + remaining)
}

/// Appends a PUBLISH.
pub fn encode_publish(version: Version, p: &Publish, out: &mut BytesMut) -> Result<(), EncodeError> {
    encode_publish_parts(version, &p.parts(), usize::MAX, out).map(|_| ())
}

/// Appends a PUBLISH if it is at most `max_size` bytes long ([MQTT-3.1.2-24]: never more than
/// the receiver's Maximum Packet Size); returns its size.
pub fn encode_publish_parts(
    version: Version,
    p: &PublishRef,
    max_size: usize,
    out: &mut BytesMut,
) -> Result<usize, EncodeError> {
    let (remaining, props_len) = publish_remaining_len(version, p)?;
    if p.qos != QoS::AtMostOnce && p.packet_id == 0 {
        return Err(EncodeError::ZeroPacketId);
    }
    let size = 1 + var_int_len(remaining) + remaining;
    if size > max_size {
        return Err(EncodeError::ExceedsPeerMaximum { size, max: max_size });
    }
    out.reserve(size);
    let mut header = 0x30 | ((p.qos as u8) << 1);
    if p.dup {
        header |= 0x08;
    }
    if p.retain {
        header |= 0x01;
    }
    out.put_u8(header);
    put_var_int(out, remaining);
    put_str(out, p.topic.as_bytes());
    if p.qos != QoS::AtMostOnce {
        out.put_u16(p.packet_id);
    }
    if version.is_v5() {
        let props = p.properties;
        put_var_int(out, props_len);
        if let Some(utf8) = props.payload_format_utf8 {
            out.put_u8(0x01);
            out.put_u8(utf8 as u8);
        }
        if let Some(expiry) = p.message_expiry {
            out.put_u8(0x02);
            out.put_u32(expiry);
        }
        if let Some(ct) = &props.content_type {
            out.put_u8(0x03);
            put_str(out, ct.as_bytes());
        }
        if let Some(rt) = &props.response_topic {
            out.put_u8(0x08);
            put_str(out, rt.as_bytes());
        }
        if let Some(cd) = &props.correlation_data {
            out.put_u8(0x09);
            put_str(out, cd);
        }
        for id in p.subscription_ids {
            out.put_u8(0x0B);
            put_var_int(out, *id as usize);
        }
        if let Some(alias) = p.topic_alias {
            out.put_u8(0x23);
            out.put_u16(alias);
        }
        for (k, v) in &props.user_properties {
            out.put_u8(0x26);
            put_str(out, k.as_bytes());
            put_str(out, v.as_bytes());
        }
    }
    out.put_slice(p.payload);
    Ok(size)
}

/// Appends PUBACK/PUBREC/PUBREL/PUBCOMP; `header` is the fixed header byte.
fn encode_ack(version: Version, header: u8, ack: &Ack, out: &mut BytesMut) -> Result<(), EncodeError> {
    if ack.packet_id == 0 {
        return Err(EncodeError::ZeroPacketId);
    }
    out.put_u8(header);
    let reason_string = ack.reason_string.as_deref().filter(|_| version.is_v5());
    if !version.is_v5() || (ack.reason == ReasonCode::SUCCESS && reason_string.is_none()) {
        // [MQTT-3.4.2.1] reason 0 with no properties may be omitted
        out.put_u8(2);
        out.put_u16(ack.packet_id);
        return Ok(());
    }
    match reason_string {
        None => {
            out.put_u8(3);
            out.put_u16(ack.packet_id);
            out.put_u8(ack.reason.get());
        }
        Some(rs) => {
            let props = 1 + str_len(rs, "reason string")?;
            let remaining = 3 + var_int_len(props) + props;
            put_var_int(out, remaining);
            out.put_u16(ack.packet_id);
            out.put_u8(ack.reason.get());
            put_var_int(out, props);
            out.put_u8(0x1F);
            put_str(out, rs.as_bytes());
        }
    }
    Ok(())
}

fn codec_qos(q: QoS) -> CodecQoS {
    match q {
        QoS::AtMostOnce => CodecQoS::Level0,
        QoS::AtLeastOnce => CodecQoS::Level1,
        QoS::ExactlyOnce => CodecQoS::Level2,
    }
}

fn pid(id: u16) -> Result<Pid, EncodeError> {
    Pid::try_from(id).map_err(|_| EncodeError::ZeroPacketId)
}

fn check_str(s: &Option<Arc<str>>, what: &'static str) -> Result<(), EncodeError> {
    if let Some(s) = s {
        str_len(s, what)?;
    }
    Ok(())
}

fn put_codec(
    bytes: Result<mqtt_proto::VarBytes, mqtt_proto::Error>,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let bytes = bytes.map_err(|e| EncodeError::Codec(e.to_string()))?;
    out.put_slice(bytes.as_ref());
    Ok(())
}

/// Appends one packet encoded for `version`. A server never sends a 3.1.1 DISCONNECT; a client
/// does, so the caller decides whether to send one.
pub fn encode(version: Version, packet: &Packet, out: &mut BytesMut) -> Result<(), EncodeError> {
    match packet {
        Packet::Publish(p) => encode_publish(version, p, out),
        Packet::Puback(a) => encode_ack(version, 0x40, a, out),
        Packet::Pubrec(a) => encode_ack(version, 0x50, a, out),
        Packet::Pubrel(a) => encode_ack(version, 0x62, a, out),
        Packet::Pubcomp(a) => encode_ack(version, 0x70, a, out),
        Packet::Pingresp => {
            out.put_slice(&[0xD0, 0]);
            Ok(())
        }
        Packet::Connack(c) if version.is_v5() => {
            let p = &c.properties;
            check_str(&p.reason_string, "reason string")?;
            check_str(&p.assigned_client_id, "assigned client identifier")?;
            check_str(&p.response_information, "response information")?;
            let reason_code = v5::ConnectReasonCode::from_u8(c.reason.get())
                .ok_or_else(|| EncodeError::Codec(format!("CONNACK reason {:#x}", c.reason)))?;
            let mut connack = v5::Connack::new(c.session_present, reason_code);
            connack.properties = v5::ConnackProperties {
                session_expiry_interval: p.session_expiry,
                receive_max: p.receive_maximum,
                max_qos: p.maximum_qos.map(codec_qos),
                retain_available: p.retain_available,
                max_packet_size: p.maximum_packet_size,
                assigned_client_id: p.assigned_client_id.clone(),
                topic_alias_max: p.topic_alias_maximum,
                reason_string: p.reason_string.clone(),
                wildcard_subscription_available: p.wildcard_subscription_available,
                subscription_id_available: p.subscription_ids_available,
                shared_subscription_available: p.shared_subscription_available,
                server_keep_alive: p.server_keep_alive,
                response_info: p.response_information.clone(),
                ..Default::default()
            };
            put_codec(v5::Packet::Connack(connack).encode(), out)
        }
        Packet::Connack(c) => {
            // [MQTT-3.2.2-4] a refusal never says a session is present, and MQTT 3.1 has no
            // Session Present: its first CONNACK byte is reserved.
            let code = c.reason.connack_return_code_v3();
            let flags = u8::from(c.session_present && code == 0 && version != Version::V3_1);
            out.put_slice(&[0x20, 2, flags, code]);
            Ok(())
        }
        Packet::Suback(s) if version.is_v5() => {
            check_str(&s.reason_string, "reason string")?;
            let topics = s
                .reasons
                .iter()
                .map(|r| {
                    v5::SubscribeReasonCode::from_u8(r.get())
                        .ok_or_else(|| EncodeError::Codec(format!("SUBACK reason {r:#x}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut suback = v5::Suback::new(pid(s.packet_id)?, topics);
            suback.properties.reason_string = s.reason_string.clone();
            put_codec(v5::Packet::Suback(suback).encode(), out)
        }
        Packet::Suback(s) => {
            // Written here rather than by the codec: mqtt-proto 0.4 puts a v3 Failure on the
            // wire as 0x03 instead of 0x80 (3.1.1 section 3.9.3).
            pid(s.packet_id)?;
            let remaining = 2 + s.reasons.len();
            out.reserve(5 + remaining);
            out.put_u8(0x90);
            put_var_int(out, remaining);
            out.put_u16(s.packet_id);
            for r in &s.reasons {
                out.put_u8(r.suback_return_code_v3());
            }
            Ok(())
        }
        Packet::Unsuback(u) if version.is_v5() => {
            let topics = u
                .reasons
                .iter()
                .map(|r| {
                    v5::UnsubscribeReasonCode::from_u8(r.get())
                        .ok_or_else(|| EncodeError::Codec(format!("UNSUBACK reason {r:#x}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            put_codec(
                v5::Packet::Unsuback(v5::Unsuback::new(pid(u.packet_id)?, topics)).encode(),
                out,
            )
        }
        Packet::Unsuback(u) => put_codec(v3::Packet::Unsuback(pid(u.packet_id)?).encode(), out),
        Packet::Disconnect(d) if version.is_v5() => {
            check_str(&d.reason_string, "reason string")?;
            let reason_code = v5::DisconnectReasonCode::from_u8(d.reason.get())
                .ok_or_else(|| EncodeError::Codec(format!("DISCONNECT reason {:#x}", d.reason)))?;
            let mut disconnect = v5::Disconnect::new(reason_code);
            disconnect.properties.reason_string = d.reason_string.clone();
            disconnect.properties.session_expiry_interval = d.session_expiry;
            put_codec(v5::Packet::Disconnect(disconnect).encode(), out)
        }
        // In 3.1.1 only clients send DISCONNECT, and it has no body.
        Packet::Disconnect(_) => {
            out.put_slice(&[0xE0, 0]);
            Ok(())
        }
        Packet::Auth(a) if version.is_v5() => {
            check_str(&a.method, "authentication method")?;
            let reason_code = v5::AuthReasonCode::from_u8(a.reason.get())
                .ok_or_else(|| EncodeError::Codec(format!("AUTH reason {:#x}", a.reason)))?;
            let mut auth = v5::Auth::new(reason_code);
            auth.properties.auth_method = a.method.clone();
            auth.properties.auth_data = a.data.clone();
            put_codec(v5::Packet::Auth(auth).encode(), out)
        }
        Packet::Connect(c) => encode_connect(c, out),
        Packet::Subscribe(sub) => encode_subscribe(version, sub, out),
        Packet::Unsubscribe(u) => encode_unsubscribe(version, u, out),
        Packet::Pingreq => {
            out.put_slice(&[0xC0, 0]);
            Ok(())
        }
        Packet::Auth(_) => Ok(()),
    }
}

/// Appends `packet` within `max_size` bytes, the receiver's Maximum Packet Size: no packet
/// goes out larger [MQTT-3.1.2-24]. What is optional is left out until it fits, in this order:
/// the reason string (never sent beyond the maximum: [MQTT-3.2.2-19], [MQTT-3.4.2-2] and the
/// same rule for every ack and DISCONNECT); then, in a CONNACK, the response information the
/// client asked for, the properties whose absence means the same as their value, the topic
/// alias maximum (absent: the client uses none), and last those the client would otherwise
/// assume differently. A PUBLISH has nothing to leave out; it, or a packet too large even bare,
/// is not written and the error says so (the caller drops it, [MQTT-3.1.2-25]).
pub fn encode_within(
    version: Version,
    packet: &Packet,
    max_size: usize,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let start = out.len();
    encode(version, packet, out)?;
    if out.len() - start <= max_size {
        return Ok(());
    }
    let mut size = out.len() - start;
    out.truncate(start);
    let mut trimmed = packet.clone();
    while leave_out_one(&mut trimmed) {
        encode(version, &trimmed, out)?;
        size = out.len() - start;
        if size <= max_size {
            return Ok(());
        }
        out.truncate(start);
    }
    Err(EncodeError::ExceedsPeerMaximum { size, max: max_size })
}

/// Removes the next optional part of `packet` in the order [`encode_within`] gives; false
/// when nothing optional is left.
fn leave_out_one(packet: &mut Packet) -> bool {
    fn take<T>(field: &mut Option<T>) -> bool {
        field.take().is_some()
    }
    fn take_if_true(field: &mut Option<bool>) -> bool {
        field.take_if(|v| *v).is_some()
    }
    match packet {
        Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => {
            take(&mut a.reason_string)
        }
        Packet::Suback(s) => take(&mut s.reason_string),
        Packet::Disconnect(d) => take(&mut d.reason_string),
        Packet::Connack(c) => {
            let p = &mut c.properties;
            take(&mut p.reason_string)
                || take(&mut p.response_information)
                // Absent means available (v5 3.2.2.3.5, 3.2.2.3.11 to 3.2.2.3.13).
                || take_if_true(&mut p.retain_available)
                || take_if_true(&mut p.wildcard_subscription_available)
                || take_if_true(&mut p.subscription_ids_available)
                || take_if_true(&mut p.shared_subscription_available)
                || p.maximum_qos.take_if(|q| *q == QoS::ExactlyOnce).is_some()
                || take(&mut p.topic_alias_maximum)
                || take(&mut p.receive_maximum)
                || take(&mut p.maximum_packet_size)
                || take(&mut p.session_expiry)
                || take(&mut p.server_keep_alive)
                || take(&mut p.assigned_client_id)
        }
        _ => false,
    }
}

fn topic_name(t: &Arc<str>) -> Result<mqtt_proto::TopicName, EncodeError> {
    mqtt_proto::TopicName::try_from(t.clone()).map_err(|_| EncodeError::InvalidTopic(t.to_string()))
}

fn topic_filter(t: &Arc<str>) -> Result<mqtt_proto::TopicFilter, EncodeError> {
    mqtt_proto::TopicFilter::try_from(t.clone()).map_err(|_| EncodeError::InvalidTopic(t.to_string()))
}

fn user_properties(props: &[UserProperty]) -> Result<Vec<v5::UserProperty>, EncodeError> {
    props
        .iter()
        .map(|(name, value)| {
            str_len(name, "user property name")?;
            str_len(value, "user property value")?;
            Ok(v5::UserProperty {
                name: name.clone(),
                value: value.clone(),
            })
        })
        .collect()
}

/// CONNECT, from a client.
fn encode_connect(c: &Connect, out: &mut BytesMut) -> Result<(), EncodeError> {
    check_str(&Some(c.client_id.clone()), "client identifier")?;
    check_str(&c.username, "user name")?;
    if c.password.as_ref().is_some_and(|p| p.len() > u16::MAX as usize) {
        return Err(EncodeError::FieldTooLong("password"));
    }
    if c.version.is_v5() {
        let mut connect = v5::Connect::new(c.client_id.clone(), c.keep_alive);
        connect.clean_start = c.clean_start;
        connect.username = c.username.clone();
        connect.password = c.password.clone();
        connect.properties = v5::ConnectProperties {
            session_expiry_interval: (c.session_expiry > 0).then_some(c.session_expiry),
            receive_max: (c.receive_maximum != u16::MAX).then_some(c.receive_maximum),
            max_packet_size: c.maximum_packet_size,
            topic_alias_max: (c.topic_alias_maximum > 0).then_some(c.topic_alias_maximum),
            request_response_info: c.request_response_info.then_some(true),
            request_problem_info: (!c.request_problem_info).then_some(false),
            user_properties: user_properties(&c.user_properties)?,
            auth_method: c.auth_method.clone(),
            auth_data: c.auth_data.clone(),
        };
        if let Some(w) = &c.will {
            let mut will = v5::LastWill::new(codec_qos(w.qos), topic_name(&w.topic)?, w.payload.clone());
            will.retain = w.retain;
            let p = &w.properties;
            will.properties = v5::WillProperties {
                delay_interval: (w.delay_interval > 0).then_some(w.delay_interval),
                payload_is_utf8: p.payload_format_utf8,
                message_expiry_interval: p.message_expiry,
                content_type: p.content_type.clone(),
                response_topic: p.response_topic.as_ref().map(topic_name).transpose()?,
                correlation_data: p.correlation_data.clone(),
                user_properties: user_properties(&p.user_properties)?,
            };
            connect.last_will = Some(will);
        }
        return put_codec(v5::Packet::Connect(connect).encode(), out);
    }
    let mut connect = v3::Connect::new(c.client_id.clone(), c.keep_alive);
    connect.protocol = if c.version == Version::V3_1 {
        mqtt_proto::Protocol::V310
    } else {
        mqtt_proto::Protocol::V311
    };
    connect.clean_session = c.clean_start;
    connect.username = c.username.clone();
    connect.password = c.password.clone();
    if let Some(w) = &c.will {
        let mut will = v3::LastWill::new(codec_qos(w.qos), topic_name(&w.topic)?, w.payload.clone());
        will.retain = w.retain;
        connect.last_will = Some(will);
    }
    let start = out.len();
    put_codec(v3::Packet::Connect(connect).encode(), out)?;
    if c.bridge {
        // The level follows the fixed header (1 byte, then 1 to 4 of remaining length) and the
        // protocol name; a bridge sets its top bit.
        let length_bytes = out[start + 1..].iter().take_while(|b| **b & 0x80 != 0).count() + 1;
        let name_at = start + 1 + length_bytes;
        let name_len = u16::from_be_bytes([out[name_at], out[name_at + 1]]) as usize;
        out[name_at + 2 + name_len] |= 0x80;
    }
    Ok(())
}

/// SUBSCRIBE, from a client.
fn encode_subscribe(version: Version, s: &Subscribe, out: &mut BytesMut) -> Result<(), EncodeError> {
    if version.is_v5() {
        let topics = s
            .filters
            .iter()
            .map(|(f, o)| {
                let mut options = v5::SubscriptionOptions::new(codec_qos(o.qos));
                options.no_local = o.no_local;
                options.retain_as_published = o.retain_as_published;
                options.retain_handling = match o.retain_handling {
                    RetainHandling::SendAlways => v5::RetainHandling::SendAtSubscribe,
                    RetainHandling::SendIfNew => v5::RetainHandling::SendAtSubscribeIfNotExist,
                    RetainHandling::Never => v5::RetainHandling::DoNotSend,
                };
                Ok((topic_filter(f)?, options))
            })
            .collect::<Result<Vec<_>, EncodeError>>()?;
        let mut subscribe = v5::Subscribe::new(pid(s.packet_id)?, topics);
        subscribe.properties.subscription_id = s
            .subscription_id
            .map(|id| v5::VarByteInt::try_from(id).map_err(|e| EncodeError::Codec(e.to_string())))
            .transpose()?;
        return put_codec(v5::Packet::Subscribe(subscribe).encode(), out);
    }
    let topics = s
        .filters
        .iter()
        .map(|(f, o)| Ok((topic_filter(f)?, codec_qos(o.qos))))
        .collect::<Result<Vec<_>, EncodeError>>()?;
    put_codec(
        v3::Packet::Subscribe(v3::Subscribe::new(pid(s.packet_id)?, topics)).encode(),
        out,
    )
}

/// UNSUBSCRIBE, from a client.
fn encode_unsubscribe(version: Version, u: &Unsubscribe, out: &mut BytesMut) -> Result<(), EncodeError> {
    let topics = u
        .filters
        .iter()
        .map(topic_filter)
        .collect::<Result<Vec<_>, _>>()?;
    if version.is_v5() {
        return put_codec(
            v5::Packet::Unsubscribe(v5::Unsubscribe::new(pid(u.packet_id)?, topics)).encode(),
            out,
        );
    }
    put_codec(
        v3::Packet::Unsubscribe(v3::Unsubscribe::new(pid(u.packet_id)?, topics)).encode(),
        out,
    )
}
