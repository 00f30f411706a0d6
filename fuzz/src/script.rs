//! What one fuzzed client does on its connection: a list of writes (and pauses to read what the
//! broker answered), built from the fuzzer's bytes either verbatim or through `arbitrary`.
//!
//! The first input byte picks the mode. Below 0x80 the rest of the input is written as it is,
//! so committed seeds can be plain packet streams. From 0x80 up the rest drives an
//! [`Unstructured`] that builds a sequence of well-formed-ish packets with the project's own
//! encoder: CONNECT first most of the time, then PUBLISH, SUBSCRIBE, acks, ... in any order,
//! mixed with raw garbage, packets with a byte changed and packets split over two writes.
//! Topics and client identifiers come mostly from small pools, so packets meet each other
//! (a PUBLISH matches a SUBSCRIBE, an ack finds its packet id) and the broker's state stays
//! bounded over millions of runs.

use std::sync::Arc;

use arbitrary::{Result, Unstructured};
use bytes::{BufMut, Bytes, BytesMut};
use robustmq::protocol::{
    self, Ack, Auth, Connect, Disconnect, MessageProperties, Packet, PropertyFields, Publish, QoS,
    ReasonCode, RetainHandling, Subscribe, SubscriptionOptions, Unsubscribe, Version, Will,
};

/// One action of the fuzzed client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write these bytes.
    Send(Vec<u8>),
    /// Read whatever the broker sent during a few milliseconds, so it can flush its answers
    /// (and a packet split around a pause arrives in two reads).
    Pause,
}

/// How the client leaves once its steps are done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Shut down the write half and read until the broker closes (or a deadline passes).
    HalfClose,
    /// Close the socket at once, with whatever the broker sent still unread.
    Drop,
}

/// The whole client side of one fuzzed connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub steps: Vec<Step>,
    pub end: End,
}

/// Most steps one structured input makes, so each run stays short.
const MAX_STEPS: usize = 48;
/// Most pauses in one script: each costs milliseconds of wall time, and the fuzzer would
/// otherwise favour long runs of them (their timing makes coverage vary).
const MAX_PAUSES: usize = 4;

/// Client identifiers the structured mode uses; the empty one asks for an assigned identifier
/// (v5) or is refused with a persistent session (3.1.1).
const CLIENT_IDS: &[&str] = &["", "c0", "c1", "c2", "c3"];

/// Topics and filters: valid, invalid, shared, `$SYS`, the admin API.
const TOPICS: &[&str] = &[
    "a",
    "a/b",
    "a/b/c",
    "a/+",
    "+/b",
    "+",
    "#",
    "a/#",
    "a/+/c",
    "/",
    "//",
    "a//b",
    "",
    "a#",
    "a/#/b",
    "+a",
    "a\u{0}b",
    "é/ü",
    "$SYS/#",
    "$SYS/broker/uptime",
    "$share/g/a/#",
    "$share/g/#",
    "$share/g/a/b",
    "$share//a",
    "$share/g",
    "$share/g+/a",
    "$CONTROL/robustmq/v1/clients/list",
    "$CONTROL/robustmq/v1/sessions/list",
    "$CONTROL/robustmq/v1/topics/top",
    "$CONTROL/robustmq/v1/broker/stats",
    "$CONTROL/robustmq/v1/store/stats",
    "$CONTROL/robustmq/v1/clients/disconnect",
    "$CONTROL/robustmq/v1/nope",
    "$CONTROL/robustmq/v1/#",
];

/// Payloads worth having: admin API requests, JSON edge cases.
const PAYLOADS: &[&[u8]] = &[
    b"",
    b"x",
    b"{}",
    b"{\"client_id\":\"c1\"}",
    b"{\"client_id\":\"c0\",\"reason\":152}",
    b"{\"limit\":1000000000}",
    b"{\"limit\":-1,\"sort\":\"bytes\"}",
    b"[1,2,3]",
    b"{\"a\":",
    b"\xff\xfe",
];

impl Script {
    /// Builds the script for one fuzz input.
    pub fn from_input(data: &[u8]) -> Script {
        match data.split_first() {
            None => Script {
                steps: Vec::new(),
                end: End::HalfClose,
            },
            Some((&mode, rest)) if mode < 0x80 => Script {
                steps: vec![Step::Send(rest.to_vec())],
                end: if mode & 1 == 0 { End::HalfClose } else { End::Drop },
            },
            Some((_, rest)) => {
                let mut u = Unstructured::new(rest);
                let mut gen = Gen::default();
                let mut steps = Vec::new();
                // Running out of bytes just ends the script early.
                let _ = gen.steps(&mut u, &mut steps);
                let end = if u.ratio(1, 8).unwrap_or(false) {
                    End::Drop
                } else {
                    End::HalfClose
                };
                Script { steps, end }
            }
        }
    }

    /// Everything the client writes, in order.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for step in &self.steps {
            if let Step::Send(b) = step {
                out.extend_from_slice(b);
            }
        }
        out
    }
}

/// Generator state: the version the connection speaks once its CONNECT is out.
#[derive(Default)]
struct Gen {
    version: Option<Version>,
}

impl Gen {
    fn steps(&mut self, u: &mut Unstructured<'_>, steps: &mut Vec<Step>) -> Result<()> {
        // [MQTT-3.1.0-1] the first packet is CONNECT: mostly honour it, sometimes not.
        if u.ratio(15, 16)? {
            let connect = self.connect(u)?;
            self.version = Some(connect.version);
            self.push(u, steps, &Packet::Connect(Box::new(connect)))?;
        }
        while steps.len() < MAX_STEPS && !u.is_empty() {
            match u.int_in_range(0..=19)? {
                0..=4 => {
                    let p = self.publish(u)?;
                    self.push(u, steps, &Packet::Publish(p))?;
                }
                5..=6 => self.subscribe(u, steps)?,
                7 => {
                    let p = Packet::Unsubscribe(Unsubscribe {
                        packet_id: u.int_in_range(1..=8)?,
                        filters: (0..u.int_in_range(1..=3)?)
                            .map(|_| topic(u))
                            .collect::<Result<_>>()?,
                    });
                    self.push(u, steps, &p)?;
                }
                8..=11 => {
                    let ack = self.ack(u)?;
                    let p = match u.int_in_range(0..=3)? {
                        0 => Packet::Puback(ack),
                        1 => Packet::Pubrec(ack),
                        2 => Packet::Pubrel(ack),
                        _ => Packet::Pubcomp(ack),
                    };
                    self.push(u, steps, &p)?;
                }
                12 => self.push(u, steps, &Packet::Pingreq)?,
                13 => {
                    let d = Packet::Disconnect(Disconnect {
                        reason: ReasonCode::new(*u.choose(&[0x00, 0x04, 0x80, 0x81, 0x8E])?),
                        session_expiry: if u.ratio(1, 4)? {
                            Some(u.int_in_range(0..=10)?)
                        } else {
                            None
                        },
                        reason_string: None,
                    });
                    self.push(u, steps, &d)?;
                }
                14 => {
                    let len = u.int_in_range(0..=8)?;
                    let a = Packet::Auth(Auth {
                        reason: ReasonCode::new(*u.choose(&[0x00, 0x18, 0x19])?),
                        method: u.ratio(1, 2)?.then(|| Arc::from("SCRAM-SHA-1")),
                        data: Some(Bytes::copy_from_slice(u.bytes(len)?)),
                    });
                    self.push(u, steps, &a)?;
                }
                15 => {
                    let c = self.connect(u)?;
                    self.push(u, steps, &Packet::Connect(Box::new(c)))?;
                }
                16 => {
                    let len = u.int_in_range(0..=64)?;
                    steps.push(Step::Send(u.bytes(len)?.to_vec()));
                }
                17 => pause(steps),
                // A header announcing more than the broker accepts, or a five-byte length.
                18 => {
                    let header = *u.choose(&[0x30, 0x32, 0x82, 0x10, 0xE0])?;
                    let lengths: &[&[u8]] = &[
                        &[0xFF, 0xFF, 0xFF, 0x7F],
                        &[0x80, 0x80, 0x04],
                        &[0xFF, 0xFF, 0xFF, 0xFF, 0x01],
                        &[0x80, 0x80, 0x80, 0x80, 0x00],
                    ];
                    let mut b = vec![header];
                    b.extend_from_slice(u.choose(lengths)?);
                    steps.push(Step::Send(b));
                }
                _ => {
                    // A large PUBLISH, under or over the limit of the fuzzing broker.
                    let mut p = self.publish(u)?;
                    p.payload = Bytes::from(vec![b'p'; *u.choose(&[16 * 1024, 63 * 1024, 70 * 1024])?]);
                    self.push(u, steps, &Packet::Publish(p))?;
                }
            }
        }
        Ok(())
    }

    fn version(&self) -> Version {
        self.version.unwrap_or(Version::V3_1_1)
    }

    /// Encodes `packet` and appends it: whole, with a byte changed, cut short, or split over a
    /// pause. Packets the encoder refuses (invalid topics) are written by hand instead.
    fn push(&self, u: &mut Unstructured<'_>, steps: &mut Vec<Step>, packet: &Packet) -> Result<()> {
        let version = match packet {
            Packet::Connect(c) => c.version,
            _ => self.version(),
        };
        let mut out = BytesMut::new();
        if protocol::encode(version, packet, &mut out).is_err() {
            out.clear();
            hand_encode(version, packet, &mut out);
        }
        let mut bytes = out.to_vec();
        if bytes.is_empty() {
            return Ok(());
        }
        match u.int_in_range(0..=15)? {
            0 => {
                let at = u.choose_index(bytes.len())?;
                bytes[at] = u.arbitrary()?;
            }
            1 => {
                let at = u.choose_index(bytes.len())?;
                bytes.truncate(at);
            }
            2 if bytes.len() > 1 => {
                let at = u.int_in_range(1..=bytes.len() - 1)?;
                let tail = bytes.split_off(at);
                steps.push(Step::Send(bytes));
                pause(steps);
                steps.push(Step::Send(tail));
                return Ok(());
            }
            // Reserved fixed-header flag bits [MQTT-2.2.2-2].
            3 => bytes[0] ^= 1 << u.int_in_range(0..=3)?,
            _ => {}
        }
        steps.push(Step::Send(bytes));
        Ok(())
    }

    fn connect(&self, u: &mut Unstructured<'_>) -> Result<Connect> {
        let version = *u.choose(&[
            Version::V3_1,
            Version::V3_1_1,
            Version::V3_1_1,
            Version::V5,
            Version::V5,
        ])?;
        let v5 = version.is_v5();
        let will = if u.ratio(1, 4)? {
            let topic = topic(u)?;
            Some(Will {
                topic,
                payload: payload(u)?,
                qos: qos(u)?,
                retain: u.arbitrary()?,
                delay_interval: if v5 { u.int_in_range(0..=2)? } else { 0 },
                properties: if v5 {
                    properties(u)?
                } else {
                    MessageProperties::default()
                },
            })
        } else {
            None
        };
        let client_id = client_id(u)?;
        // Session expiry stays short for assigned identifiers (each one is a new session), so
        // sessions do not pile up over millions of runs; the named ones may keep theirs.
        let expiries: &[u32] = if client_id.is_empty() {
            &[0, 0, 1, 5]
        } else {
            &[0, 0, 1, 5, u32::MAX]
        };
        Ok(Connect {
            version,
            clean_start: u.ratio(2, 3)?,
            // Short keep alives let the broker's keep-alive path run too.
            keep_alive: *u.choose(&[0, 1, 60, 65535])?,
            client_id,
            username: u.ratio(1, 4)?.then(|| Arc::from("user")),
            password: u.ratio(1, 4)?.then(|| Bytes::from_static(b"secret")),
            will,
            session_expiry: if v5 { *u.choose(expiries)? } else { 0 },
            receive_maximum: if v5 {
                *u.choose(&[1, 2, 10, u16::MAX])?
            } else {
                u16::MAX
            },
            maximum_packet_size: if v5 && u.ratio(1, 4)? {
                Some(u.int_in_range(1..=300)?)
            } else {
                None
            },
            topic_alias_maximum: if v5 { u.int_in_range(0..=3)? } else { 0 },
            request_response_info: v5 && u.arbitrary()?,
            request_problem_info: !v5 || u.ratio(3, 4)?,
            user_properties: if v5 && u.ratio(1, 8)? {
                vec![(Arc::from("k"), Arc::from("v"))]
            } else {
                Vec::new()
            },
            auth_method: (v5 && u.ratio(1, 16)?).then(|| Arc::from("SCRAM-SHA-1")),
            auth_data: None,
            // Mosquitto's bridge marker (top bit of the level) exists for 3.1 and 3.1.1 only; a
            // bridge gets its own messages not sent back and retain flags as published.
            bridge: !v5 && u.ratio(1, 8)?,
        })
    }

    fn publish(&self, u: &mut Unstructured<'_>) -> Result<Publish> {
        let v5 = self.version().is_v5();
        let qos = qos(u)?;
        let mut topic = topic(u)?;
        let topic_alias = if v5 && u.ratio(1, 4)? {
            if u.arbitrary()? {
                // An alias standing in for the topic, known or not.
                topic = Arc::from("");
            }
            Some(u.int_in_range(0..=4)?)
        } else {
            None
        };
        Ok(Publish {
            dup: u.ratio(1, 8)?,
            qos,
            retain: u.ratio(1, 4)?,
            topic,
            packet_id: if qos == QoS::AtMostOnce {
                0
            } else {
                u.int_in_range(1..=8)?
            },
            payload: payload(u)?,
            properties: if v5 {
                properties(u)?
            } else {
                MessageProperties::default()
            },
            topic_alias,
            subscription_ids: if v5 && u.ratio(1, 16)? {
                vec![1]
            } else {
                Vec::new()
            },
        })
    }

    fn subscribe(&self, u: &mut Unstructured<'_>, steps: &mut Vec<Step>) -> Result<()> {
        let v5 = self.version().is_v5();
        let mut filters = Vec::new();
        for _ in 0..u.int_in_range(1..=4)? {
            filters.push((
                topic(u)?,
                SubscriptionOptions {
                    qos: qos(u)?,
                    no_local: v5 && u.ratio(1, 4)?,
                    retain_as_published: v5 && u.arbitrary()?,
                    retain_handling: if v5 {
                        *u.choose(&[
                            RetainHandling::SendAlways,
                            RetainHandling::SendIfNew,
                            RetainHandling::Never,
                        ])?
                    } else {
                        RetainHandling::SendAlways
                    },
                },
            ));
        }
        let s = Subscribe {
            packet_id: u.int_in_range(1..=8)?,
            subscription_id: if v5 && u.ratio(1, 4)? {
                Some(u.int_in_range(0..=3)?)
            } else {
                None
            },
            filters,
        };
        self.push(u, steps, &Packet::Subscribe(s))
    }

    fn ack(&self, u: &mut Unstructured<'_>) -> Result<Ack> {
        Ok(Ack {
            packet_id: u.int_in_range(1..=8)?,
            reason: if self.version().is_v5() {
                ReasonCode::new(*u.choose(&[0x00, 0x10, 0x80, 0x92])?)
            } else {
                ReasonCode::SUCCESS
            },
            reason_string: None,
        })
    }
}

/// Adds a pause, unless the previous step is one or the script has enough of them.
fn pause(steps: &mut Vec<Step>) {
    let pauses = steps.iter().filter(|s| **s == Step::Pause).count();
    if steps.last() != Some(&Step::Pause) && pauses < MAX_PAUSES {
        steps.push(Step::Pause);
    }
}

fn qos(u: &mut Unstructured<'_>) -> Result<QoS> {
    Ok(*u.choose(&[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])?)
}

fn client_id(u: &mut Unstructured<'_>) -> Result<Arc<str>> {
    if u.ratio(1, 32)? {
        let s: &str = u.arbitrary()?;
        return Ok(Arc::from(s.chars().take(23).collect::<String>()));
    }
    Ok(Arc::from(*u.choose(CLIENT_IDS)?))
}

fn topic(u: &mut Unstructured<'_>) -> Result<Arc<str>> {
    if u.ratio(1, 16)? {
        let s: &str = u.arbitrary()?;
        return Ok(Arc::from(s.chars().take(64).collect::<String>()));
    }
    Ok(Arc::from(*u.choose(TOPICS)?))
}

fn payload(u: &mut Unstructured<'_>) -> Result<Bytes> {
    if u.arbitrary()? {
        return Ok(Bytes::from_static(u.choose(PAYLOADS)?));
    }
    let len = u.int_in_range(0..=256)?;
    Ok(Bytes::copy_from_slice(u.bytes(len)?))
}

fn properties(u: &mut Unstructured<'_>) -> Result<MessageProperties> {
    if u.ratio(1, 2)? {
        return Ok(MessageProperties::default());
    }
    Ok(MessageProperties::from(PropertyFields {
        payload_format_utf8: if u.ratio(1, 4)? {
            Some(u.arbitrary()?)
        } else {
            None
        },
        message_expiry: if u.ratio(1, 4)? {
            Some(u.int_in_range(0..=2)?)
        } else {
            None
        },
        content_type: u.ratio(1, 4)?.then(|| Arc::from("text/plain")),
        response_topic: if u.ratio(1, 4)? { Some(topic(u)?) } else { None },
        correlation_data: u.ratio(1, 4)?.then(|| Bytes::from_static(b"\x00\x01")),
        user_properties: if u.ratio(1, 4)? {
            vec![(Arc::from("k"), Arc::from("v"))]
        } else {
            Vec::new()
        },
    }))
}

/// Writes the packets the encoder refuses because a topic or filter is invalid: exactly what a
/// hostile client would send. Anything else comes out empty.
fn hand_encode(version: Version, packet: &Packet, out: &mut BytesMut) {
    let v5 = version.is_v5();
    let mut body = BytesMut::new();
    let header = match packet {
        Packet::Subscribe(s) => {
            body.put_u16(s.packet_id);
            if v5 {
                body.put_u8(0);
            }
            for (f, o) in &s.filters {
                put_str(&mut body, f.as_bytes());
                body.put_u8(o.qos as u8 | (u8::from(o.no_local) << 2));
            }
            0x82
        }
        Packet::Unsubscribe(un) => {
            body.put_u16(un.packet_id);
            if v5 {
                body.put_u8(0);
            }
            for f in &un.filters {
                put_str(&mut body, f.as_bytes());
            }
            0xA2
        }
        Packet::Connect(c) => {
            // An invalid will topic.
            let (name, level): (&[u8], u8) = match c.version {
                Version::V3_1 => (b"MQIsdp", 3),
                Version::V3_1_1 => (b"MQTT", 4),
                Version::V5 => (b"MQTT", 5),
            };
            put_str(&mut body, name);
            body.put_u8(level);
            let will = c.will.as_ref();
            let flags = (u8::from(will.is_some()) << 2) | (u8::from(c.clean_start) << 1);
            body.put_u8(flags | will.map_or(0, |w| (w.qos as u8) << 3));
            body.put_u16(c.keep_alive);
            if c.version.is_v5() {
                body.put_u8(0);
            }
            put_str(&mut body, c.client_id.as_bytes());
            if let Some(w) = will {
                if c.version.is_v5() {
                    body.put_u8(0);
                }
                put_str(&mut body, w.topic.as_bytes());
                put_str(&mut body, &w.payload);
            }
            0x10
        }
        _ => return,
    };
    out.put_u8(header);
    let mut len = body.len();
    loop {
        let mut byte = (len & 0x7f) as u8;
        len >>= 7;
        if len > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(&body);
}

fn put_str(out: &mut BytesMut, s: &[u8]) {
    out.put_u16(s.len().min(u16::MAX as usize) as u16);
    out.put_slice(&s[..s.len().min(u16::MAX as usize)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_mode_writes_the_input_verbatim() {
        let s = Script::from_input(&[0x00, 0x10, 0x00]);
        assert_eq!(s.steps, vec![Step::Send(vec![0x10, 0x00])]);
        assert_eq!(s.end, End::HalfClose);
        assert_eq!(Script::from_input(&[0x01]).end, End::Drop);
    }

    #[test]
    fn pauses_are_few_and_never_back_to_back() {
        for seed in 0u8..=255 {
            let data: Vec<u8> = std::iter::once(0x80)
                .chain((0..400).map(|i: u32| (i as u8) ^ seed))
                .collect();
            let steps = Script::from_input(&data).steps;
            assert!(steps.iter().filter(|s| **s == Step::Pause).count() <= MAX_PAUSES);
            assert!(!steps
                .windows(2)
                .any(|w| w[0] == Step::Pause && w[1] == Step::Pause));
        }
    }

    #[test]
    fn structured_mode_starts_with_a_connect_most_of_the_time() {
        let mut connects = 0;
        for seed in 0u32..200 {
            let mut data = vec![0x80];
            data.extend(
                (0..200u32).map(|i| (seed.wrapping_mul(2_654_435_761).wrapping_add(i * 7919) >> 3) as u8),
            );
            let bytes = Script::from_input(&data).bytes();
            if bytes.first().is_some_and(|b| b >> 4 == 1) {
                connects += 1;
            }
        }
        assert!(connects > 120, "{connects} of 200 start with CONNECT");
    }
}
