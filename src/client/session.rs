//! The client's side of the protocol with no I/O: bytes in, events and bytes out.
//!
//! A [`Session`] owns everything a connection knows apart from its socket: the version and client
//! identifier, packet identifiers and the publish window, the encoded bytes waiting to be written,
//! the bytes read and not yet decoded, keep-alive bookkeeping and the QoS 2 receive state. Time
//! comes in as an argument, so the whole protocol can be driven (and tested) with bytes alone;
//! [`super::connection`] only moves bytes between a `Session` and a socket.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};

use super::error::ClientError;
use super::inflight::{Awaiting, IdSet, Inflight};
use super::options::{ConnectOptions, Direction, PacketObserver};
use crate::protocol::frame::MAX_REMAINING_LENGTH;
use crate::protocol::{
    decode_front, encode, encode_publish, next_frame, publish_len, Ack, Connack, Disconnect, Packet, Publish,
    QoS, ReasonCode, Sender, Suback, Subscribe, SubscriptionOptions, Unsuback, Unsubscribe, Version,
};

/// The largest whole packet MQTT can express.
const MAX_PACKET: usize = 1 + 4 + MAX_REMAINING_LENGTH;
/// How much the read buffer grows by when it runs low.
const READ_CHUNK: usize = 64 * 1024;

/// What the broker said about one of our QoS 1/2 publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    /// Packet identifier of the publish.
    pub packet_id: u16,
    /// v5 reason code of the PUBACK, the failing PUBREC or the PUBCOMP (success in 3.1.1).
    pub reason: ReasonCode,
    /// v5 reason string.
    pub reason_string: Option<Arc<str>>,
}

impl Acked {
    /// True unless the broker refused the message (reason code 0x80 or above).
    pub fn is_success(&self) -> bool {
        !self.reason.is_error()
    }
}

/// Something the caller should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An application message (already acknowledged towards the broker as its QoS requires;
    /// a QoS 2 message is delivered once, when its PUBLISH arrives).
    Message(Publish),
    /// A QoS 1/2 publish of ours is complete.
    Acked(Acked),
    /// A SUBSCRIBE was answered.
    Subscribed(Suback),
    /// An UNSUBSCRIBE was answered.
    Unsubscribed(Unsuback),
}

/// The protocol state of one connection to a broker.
pub struct Session {
    /// `host:port`, for messages.
    address: String,
    version: Version,
    /// Ours, or the one the broker assigned.
    client_id: Arc<str>,
    /// Keep alive asked for in CONNECT, in seconds; the broker's server keep alive replaces it.
    requested_keep_alive: u16,
    read: BytesMut,
    write: BytesMut,
    inflight: Inflight,
    /// Incoming QoS 2 messages delivered and waiting for PUBREL (to drop re-deliveries).
    awaiting_pubrel: IdSet,
    /// `None` until CONNACK, or when keep alive is off.
    keep_alive: Option<Duration>,
    last_write: Instant,
    ping_sent: Option<Instant>,
    /// Largest packet we read.
    max_incoming: usize,
    /// Largest packet the broker accepts.
    max_outgoing: usize,
    maximum_qos: QoS,
    retain_available: bool,
    observer: Option<PacketObserver>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("address", &self.address)
            .field("version", &self.version)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session that has queued the CONNECT `opts` describes; `now` counts as its last write.
    pub fn new(opts: &ConnectOptions, now: Instant) -> Result<Session, ClientError> {
        let mut session = Session {
            address: opts.address(),
            version: opts.version,
            client_id: opts.client_id.clone(),
            requested_keep_alive: opts.keep_alive,
            read: BytesMut::with_capacity(READ_CHUNK),
            write: BytesMut::with_capacity(READ_CHUNK),
            inflight: Inflight::new(opts.inflight),
            awaiting_pubrel: IdSet::default(),
            keep_alive: None,
            last_write: now,
            ping_sent: None,
            max_incoming: opts.maximum_packet_size.map_or(MAX_PACKET, |m| m as usize),
            max_outgoing: MAX_PACKET,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            observer: opts.observer.clone(),
        };
        session.send(&opts.connect_packet())?;
        Ok(session)
    }

    /// The client identifier: ours, or the one the broker assigned.
    pub fn client_id(&self) -> &Arc<str> {
        &self.client_id
    }

    /// The protocol version of the connection.
    pub fn version(&self) -> Version {
        self.version
    }

    /// `host:port` of the broker.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// True when a QoS 1/2 publish fits in the window now.
    pub fn can_publish(&self) -> bool {
        self.inflight.has_room()
    }

    /// The window: our `inflight` option, lowered to the broker's receive maximum.
    pub fn window(&self) -> usize {
        self.inflight.window()
    }

    /// QoS 1/2 publishes sent and not yet complete.
    pub fn unacknowledged(&self) -> usize {
        self.inflight.publishes()
    }

    /// Packets of ours still waiting for an answer (publishes, subscribes, unsubscribes).
    pub fn outstanding(&self) -> usize {
        self.inflight.in_use()
    }

    /// Bytes queued and not yet written.
    pub fn buffered(&self) -> usize {
        self.write.len()
    }

    /// The encoded bytes waiting to be written, oldest first.
    pub fn to_send(&self) -> &[u8] {
        &self.write
    }

    /// The first `n` bytes of [`Session::to_send`] were written at `now`.
    pub fn sent(&mut self, n: usize, now: Instant) {
        self.write.advance(n.min(self.write.len()));
        self.last_write = now;
    }

    /// Bytes read from the broker.
    pub fn received(&mut self, bytes: &[u8]) {
        self.read.extend_from_slice(bytes);
    }

    /// The buffer that bytes read from the broker go to, with room for a read: lets a socket
    /// read straight into it instead of copying through [`Session::received`].
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        if self.read.capacity() - self.read.len() < READ_CHUNK / 16 {
            self.read.reserve(READ_CHUNK);
        }
        &mut self.read
    }

    /// [`Session::read_buffer`] and [`Session::to_send`] at once, for a socket that reads and
    /// writes concurrently.
    pub fn buffers(&mut self) -> (&mut BytesMut, &[u8]) {
        self.read_buffer();
        (&mut self.read, &self.write)
    }

    fn observe(&self, direction: Direction, packet: &Packet) {
        if let Some(observer) = &self.observer {
            observer(&self.client_id, direction, packet);
        }
    }

    /// Queues any packet (the specific methods below do the bookkeeping; prefer them).
    fn send(&mut self, packet: &Packet) -> Result<(), ClientError> {
        encode(self.version, packet, &mut self.write)?;
        self.observe(Direction::Sent, packet);
        Ok(())
    }

    /// The CONNACK, once its bytes are here: `Ok(None)` until then. Takes on what it says
    /// (assigned client identifier, limits, keep alive); a refusal is [`ClientError::Refused`].
    pub fn connack(&mut self) -> Result<Option<Connack>, ClientError> {
        // A TLS record (alert 0x15 or handshake 0x16, version 3.x): a TLS port answering a
        // plain CONNECT, which would otherwise read as a malformed packet.
        if self.read.len() >= 2 && matches!(self.read[0], 0x15 | 0x16) && self.read[1] == 0x03 {
            return Err(ClientError::Tls {
                address: self.address.clone(),
                detail: "this looks like a TLS port (it answered with a TLS record): use --cafile, \
                         or an mqtts:// URL"
                    .into(),
            });
        }
        let Some(frame) = next_frame(&self.read, self.max_incoming)? else {
            return Ok(None);
        };
        // A 3.1.1-only broker answers a v5 CONNECT with a 3.1.1 CONNACK, return code 1.
        let old_refusal = self.version.is_v5() && frame.len == 4 && self.read[..2] == [0x20, 2];
        let packet = match decode_front(self.version, Sender::Server, &mut self.read, frame.len) {
            Err(_) if old_refusal => {
                return Err(ClientError::Refused {
                    reason: ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
                    reason_string: None,
                })
            }
            packet => packet?,
        };
        self.observe(Direction::Received, &packet);
        let connack = match packet {
            // The protocol layer already maps a 3.1.1 return code to its v5 reason.
            Packet::Connack(c) => c,
            Packet::Disconnect(d) => {
                return Err(ClientError::Disconnected {
                    reason: d.reason,
                    reason_string: d.reason_string,
                })
            }
            other => {
                return Err(ClientError::Protocol(format!(
                    "expected CONNACK, got {}",
                    other.name()
                )))
            }
        };
        if connack.reason.is_error() || (!self.version.is_v5() && connack.reason != ReasonCode::SUCCESS) {
            return Err(ClientError::Refused {
                reason: connack.reason,
                reason_string: connack.properties.reason_string.clone(),
            });
        }
        let p = &connack.properties;
        if let Some(id) = &p.assigned_client_id {
            self.client_id = id.clone();
        }
        if let Some(max) = p.receive_maximum {
            self.inflight.limit_window(max);
        }
        if let Some(max) = p.maximum_packet_size {
            self.max_outgoing = max as usize;
        }
        self.maximum_qos = p.maximum_qos.unwrap_or(QoS::ExactlyOnce);
        self.retain_available = p.retain_available.unwrap_or(true);
        let keep_alive = p.server_keep_alive.unwrap_or(self.requested_keep_alive);
        self.keep_alive = (keep_alive > 0).then(|| Duration::from_secs(keep_alive.into()));
        Ok(Some(connack))
    }

    /// Queues a PUBLISH. At QoS 1/2 it takes a packet identifier (written into
    /// `message.packet_id`, so one `Publish` can be reused without allocating) and a place in
    /// the window: check [`Session::can_publish`] first. Returns the packet identifier (0 at QoS 0).
    pub fn publish(&mut self, message: &mut Publish) -> Result<u16, ClientError> {
        if message.qos > self.maximum_qos {
            return Err(ClientError::QosNotSupported {
                requested: message.qos,
                max: self.maximum_qos,
            });
        }
        if message.retain && !self.retain_available {
            return Err(ClientError::RetainNotSupported);
        }
        let size = publish_len(self.version, message)?;
        if size > self.max_outgoing {
            return Err(ClientError::PacketTooLarge {
                size,
                max: self.max_outgoing,
            });
        }
        message.packet_id = match message.qos {
            QoS::AtMostOnce => 0,
            QoS::AtLeastOnce => self
                .inflight
                .acquire(Awaiting::Puback)
                .ok_or(ClientError::WindowFull)?,
            QoS::ExactlyOnce => self
                .inflight
                .acquire(Awaiting::Pubrec)
                .ok_or(ClientError::WindowFull)?,
        };
        if let Err(e) = encode_publish(self.version, message, &mut self.write) {
            self.inflight.release(message.packet_id);
            return Err(e.into());
        }
        if self.observer.is_some() {
            self.observe(Direction::Sent, &Packet::Publish(message.clone()));
        }
        Ok(message.packet_id)
    }

    /// Queues a SUBSCRIBE; its answer comes as [`Event::Subscribed`].
    pub fn subscribe(&mut self, filters: Vec<(Arc<str>, SubscriptionOptions)>) -> Result<u16, ClientError> {
        let packet_id = self
            .inflight
            .acquire(Awaiting::Suback)
            .ok_or(ClientError::WindowFull)?;
        self.send(&Packet::Subscribe(Subscribe {
            packet_id,
            subscription_id: None,
            filters,
        }))?;
        Ok(packet_id)
    }

    /// Queues an UNSUBSCRIBE; its answer comes as [`Event::Unsubscribed`].
    pub fn unsubscribe(&mut self, filters: Vec<Arc<str>>) -> Result<u16, ClientError> {
        let packet_id = self
            .inflight
            .acquire(Awaiting::Unsuback)
            .ok_or(ClientError::WindowFull)?;
        self.send(&Packet::Unsubscribe(Unsubscribe { packet_id, filters }))?;
        Ok(packet_id)
    }

    /// Queues a DISCONNECT.
    pub fn disconnect(&mut self, disconnect: Disconnect) -> Result<(), ClientError> {
        self.send(&Packet::Disconnect(disconnect))
    }

    /// Handles whole packets already received (queuing their answers) until one makes an
    /// event; `Ok(None)` when more bytes are needed.
    pub fn next_event(&mut self) -> Result<Option<Event>, ClientError> {
        while let Some(frame) = next_frame(&self.read, self.max_incoming)? {
            let packet = decode_front(self.version, Sender::Server, &mut self.read, frame.len)?;
            self.observe(Direction::Received, &packet);
            if let Some(event) = self.handle(packet)? {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// When keep alive next needs [`Session::keepalive_due`]: a PINGREQ is due a keep-alive
    /// interval after our last write, and its PINGRESP a keep-alive interval after that.
    /// `None` before CONNACK or with keep alive off.
    pub fn keepalive_deadline(&self) -> Option<Instant> {
        let keep_alive = self.keep_alive?;
        Some(self.ping_sent.unwrap_or(self.last_write) + keep_alive)
    }

    /// The keep-alive deadline passed at `now`: queues a PINGREQ, or, when one is already
    /// unanswered, fails with a timeout.
    pub fn keepalive_due(&mut self, now: Instant) -> Result<(), ClientError> {
        if let (Some(_), Some(after)) = (self.ping_sent, self.keep_alive) {
            return Err(ClientError::Timeout {
                what: "PINGRESP",
                address: self.address.clone(),
                after,
            });
        }
        self.send(&Packet::Pingreq)?;
        self.ping_sent = Some(now);
        Ok(())
    }

    /// The error for a connection the broker closed: its DISCONNECT if one is still buffered.
    pub fn closed(&mut self) -> ClientError {
        while let Ok(Some(frame)) = next_frame(&self.read, self.max_incoming) {
            let packet = decode_front(self.version, Sender::Server, &mut self.read, frame.len);
            if let Ok(Packet::Disconnect(d)) = packet {
                self.observe(Direction::Received, &Packet::Disconnect(d.clone()));
                return ClientError::Disconnected {
                    reason: d.reason,
                    reason_string: d.reason_string,
                };
            }
        }
        ClientError::Closed
    }

    /// Protocol bookkeeping for one incoming packet.
    fn handle(&mut self, packet: Packet) -> Result<Option<Event>, ClientError> {
        let v5 = self.version.is_v5();
        Ok(match packet {
            Packet::Publish(p) => match p.qos {
                QoS::AtMostOnce => Some(Event::Message(p)),
                QoS::AtLeastOnce => {
                    self.send(&Packet::Puback(Ack::success(p.packet_id)))?;
                    Some(Event::Message(p))
                }
                QoS::ExactlyOnce => {
                    self.send(&Packet::Pubrec(Ack::success(p.packet_id)))?;
                    self.awaiting_pubrel
                        .insert(p.packet_id)
                        .then_some(Event::Message(p))
                }
            },
            Packet::Pubrel(a) => {
                let known = self.awaiting_pubrel.remove(a.packet_id);
                let mut ack = Ack::success(a.packet_id);
                if v5 && !known {
                    ack.reason = ReasonCode::PACKET_ID_NOT_FOUND;
                }
                self.send(&Packet::Pubcomp(ack))?;
                None
            }
            Packet::Puback(a) => match self.inflight.get(a.packet_id) {
                Awaiting::Puback => {
                    self.inflight.release(a.packet_id);
                    Some(Event::Acked(acked(a)))
                }
                _ => None,
            },
            Packet::Pubrec(a) => match self.inflight.get(a.packet_id) {
                Awaiting::Pubrec if a.reason.is_error() => {
                    self.inflight.release(a.packet_id);
                    Some(Event::Acked(acked(a)))
                }
                Awaiting::Pubrec | Awaiting::Pubcomp => {
                    self.inflight.advance(a.packet_id, Awaiting::Pubcomp);
                    self.send(&Packet::Pubrel(Ack::success(a.packet_id)))?;
                    None
                }
                _ => {
                    let mut ack = Ack::success(a.packet_id);
                    if v5 {
                        ack.reason = ReasonCode::PACKET_ID_NOT_FOUND;
                    }
                    self.send(&Packet::Pubrel(ack))?;
                    None
                }
            },
            Packet::Pubcomp(a) => match self.inflight.get(a.packet_id) {
                Awaiting::Pubcomp => {
                    self.inflight.release(a.packet_id);
                    Some(Event::Acked(acked(a)))
                }
                _ => None,
            },
            Packet::Suback(s) => match self.inflight.get(s.packet_id) {
                Awaiting::Suback => {
                    self.inflight.release(s.packet_id);
                    Some(Event::Subscribed(s))
                }
                _ => None,
            },
            Packet::Unsuback(u) => match self.inflight.get(u.packet_id) {
                Awaiting::Unsuback => {
                    self.inflight.release(u.packet_id);
                    Some(Event::Unsubscribed(u))
                }
                _ => None,
            },
            Packet::Pingresp => {
                self.ping_sent = None;
                None
            }
            Packet::Disconnect(d) => {
                return Err(ClientError::Disconnected {
                    reason: d.reason,
                    reason_string: d.reason_string,
                })
            }
            other => {
                return Err(ClientError::Protocol(format!(
                    "a broker does not send {}",
                    other.name()
                )))
            }
        })
    }
}

fn acked(a: Ack) -> Acked {
    Acked {
        packet_id: a.packet_id,
        reason: a.reason,
        reason_string: a.reason_string,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bytes::Bytes;

    use super::*;
    use crate::protocol::{ConnackProperties, MessageProperties};

    fn options(version: Version) -> ConnectOptions {
        let mut opts = ConnectOptions::new("localhost", 1883, version);
        opts.client_id = Arc::from("c1");
        opts.keep_alive = 10;
        opts
    }

    fn connack(reason: ReasonCode, properties: ConnackProperties) -> Packet {
        Packet::Connack(Connack {
            session_present: false,
            reason,
            properties,
        })
    }

    /// What a broker would put on the wire for `packet`.
    fn from_broker(version: Version, packet: &Packet) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(version, packet, &mut out).unwrap();
        out.to_vec()
    }

    /// Takes everything the session has to send (written at `now`) and decodes it as a broker would.
    fn drain(session: &mut Session, now: Instant) -> Vec<Packet> {
        let mut bytes = BytesMut::from(session.to_send());
        session.sent(bytes.len(), now);
        let mut packets = Vec::new();
        while let Some(frame) = next_frame(&bytes, MAX_PACKET).unwrap() {
            packets.push(decode_front(session.version(), Sender::Client, &mut bytes, frame.len).unwrap());
        }
        assert!(bytes.is_empty(), "a partial packet was queued");
        packets
    }

    /// A session past a plain successful CONNACK, with nothing left to send.
    fn connected(version: Version, now: Instant) -> Session {
        let mut session = Session::new(&options(version), now).unwrap();
        assert!(matches!(
            drain(&mut session, now).as_slice(),
            [Packet::Connect(_)]
        ));
        session.received(&from_broker(
            version,
            &connack(ReasonCode::SUCCESS, ConnackProperties::default()),
        ));
        assert!(session.connack().unwrap().is_some());
        session
    }

    fn message(qos: QoS, packet_id: u16) -> Publish {
        Publish {
            dup: false,
            qos,
            retain: false,
            topic: Arc::from("a/b"),
            packet_id,
            payload: Bytes::from_static(b"hello"),
            properties: MessageProperties::default(),
            topic_alias: None,
            subscription_ids: Vec::new(),
        }
    }

    #[test]
    fn new_queues_the_connect_of_the_options() {
        let now = Instant::now();
        let mut session = Session::new(&options(Version::V5), now).unwrap();
        match drain(&mut session, now).as_slice() {
            [Packet::Connect(c)] => {
                assert_eq!(&*c.client_id, "c1");
                assert_eq!(c.keep_alive, 10);
            }
            other => panic!("expected one CONNECT, got {other:?}"),
        }
        assert_eq!(session.buffered(), 0);
    }

    #[test]
    fn connack_waits_for_its_last_byte_then_applies_its_properties() {
        let now = Instant::now();
        let mut session = Session::new(&options(Version::V5), now).unwrap();
        drain(&mut session, now);
        let bytes = from_broker(
            Version::V5,
            &connack(
                ReasonCode::SUCCESS,
                ConnackProperties {
                    receive_maximum: Some(3),
                    assigned_client_id: Some(Arc::from("given")),
                    server_keep_alive: Some(5),
                    maximum_qos: Some(QoS::AtLeastOnce),
                    ..ConnackProperties::default()
                },
            ),
        );
        let (head, tail) = bytes.split_at(bytes.len() - 1);
        session.received(head);
        assert!(session.connack().unwrap().is_none());
        session.received(tail);
        assert_eq!(
            session.connack().unwrap().map(|c| c.reason),
            Some(ReasonCode::SUCCESS)
        );
        assert_eq!(&**session.client_id(), "given");
        assert_eq!(session.window(), 3);
        assert_eq!(session.keepalive_deadline(), Some(now + Duration::from_secs(5)));
        let err = session.publish(&mut message(QoS::ExactlyOnce, 0)).unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::QosNotSupported {
                    max: QoS::AtLeastOnce,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_refusing_connack_is_refused_with_its_reason() {
        let now = Instant::now();
        let mut session = Session::new(&options(Version::V5), now).unwrap();
        let properties = ConnackProperties {
            reason_string: Some(Arc::from("go away")),
            ..ConnackProperties::default()
        };
        session.received(&from_broker(
            Version::V5,
            &connack(ReasonCode::NOT_AUTHORIZED, properties),
        ));
        match session.connack() {
            Err(ClientError::Refused {
                reason,
                reason_string,
            }) => {
                assert_eq!(reason, ReasonCode::NOT_AUTHORIZED);
                assert_eq!(reason_string.as_deref(), Some("go away"));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_3_1_1_return_code_is_refused_as_its_v5_reason() {
        let mut session = Session::new(&options(Version::V3_1_1), Instant::now()).unwrap();
        // CONNACK, return code 5: not authorized.
        session.received(&[0x20, 2, 0, 5]);
        assert!(matches!(
            session.connack(),
            Err(ClientError::Refused {
                reason: ReasonCode::NOT_AUTHORIZED,
                ..
            })
        ));
    }

    #[test]
    fn a_3_1_1_connack_to_a_v5_connect_is_an_unsupported_version() {
        let mut session = Session::new(&options(Version::V5), Instant::now()).unwrap();
        session.received(&[0x20, 2, 0, 1]);
        assert!(matches!(
            session.connack(),
            Err(ClientError::Refused {
                reason: ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
                ..
            })
        ));
    }

    #[test]
    fn a_tls_record_instead_of_a_connack_says_tls() {
        let mut session = Session::new(&options(Version::V5), Instant::now()).unwrap();
        session.received(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
        assert!(matches!(session.connack(), Err(ClientError::Tls { .. })));
    }

    #[test]
    fn qos_1_publish_queues_its_bytes_and_completes_on_puback() {
        let now = Instant::now();
        let mut session = connected(Version::V5, now);
        let mut publish = message(QoS::AtLeastOnce, 0);
        let id = session.publish(&mut publish).unwrap();
        assert_ne!(id, 0);
        assert_eq!(publish.packet_id, id);
        assert_eq!(session.unacknowledged(), 1);
        assert_eq!(drain(&mut session, now), vec![Packet::Publish(publish)]);

        // An acknowledgement for an identifier not in use changes nothing.
        session.received(&from_broker(Version::V5, &Packet::Puback(Ack::success(id + 1))));
        assert_eq!(session.next_event().unwrap(), None);
        assert_eq!(session.unacknowledged(), 1);

        session.received(&from_broker(Version::V5, &Packet::Puback(Ack::success(id))));
        match session.next_event().unwrap() {
            Some(Event::Acked(a)) => {
                assert_eq!(a.packet_id, id);
                assert!(a.is_success());
            }
            other => panic!("expected Acked, got {other:?}"),
        }
        assert_eq!(session.unacknowledged(), 0);
        assert!(drain(&mut session, now).is_empty());
    }

    #[test]
    fn qos_2_publish_answers_pubrec_with_pubrel_and_completes_on_pubcomp() {
        let now = Instant::now();
        let mut session = connected(Version::V5, now);
        let id = session.publish(&mut message(QoS::ExactlyOnce, 0)).unwrap();
        drain(&mut session, now);
        session.received(&from_broker(Version::V5, &Packet::Pubrec(Ack::success(id))));
        assert_eq!(session.next_event().unwrap(), None);
        assert_eq!(drain(&mut session, now), vec![Packet::Pubrel(Ack::success(id))]);
        session.received(&from_broker(Version::V5, &Packet::Pubcomp(Ack::success(id))));
        assert!(matches!(session.next_event().unwrap(), Some(Event::Acked(a)) if a.packet_id == id));
        assert_eq!(session.outstanding(), 0);
    }

    #[test]
    fn the_window_refuses_a_publish_beyond_it() {
        let now = Instant::now();
        let mut opts = options(Version::V5);
        opts.inflight = 1;
        let mut session = Session::new(&opts, now).unwrap();
        session.received(&from_broker(
            Version::V5,
            &connack(ReasonCode::SUCCESS, ConnackProperties::default()),
        ));
        session.connack().unwrap();
        session.publish(&mut message(QoS::AtLeastOnce, 0)).unwrap();
        assert!(!session.can_publish());
        let err = session.publish(&mut message(QoS::AtLeastOnce, 0)).unwrap_err();
        assert!(matches!(err, ClientError::WindowFull), "{err:?}");
        // QoS 0 takes no place in the window.
        assert_eq!(session.publish(&mut message(QoS::AtMostOnce, 0)).unwrap(), 0);
    }

    #[test]
    fn incoming_qos_2_is_delivered_once_with_pubrec_then_pubcomp_after_pubrel() {
        let now = Instant::now();
        let mut session = connected(Version::V5, now);
        let incoming = message(QoS::ExactlyOnce, 7);
        session.received(&from_broker(Version::V5, &Packet::Publish(incoming.clone())));
        assert_eq!(
            session.next_event().unwrap(),
            Some(Event::Message(incoming.clone()))
        );
        assert_eq!(drain(&mut session, now), vec![Packet::Pubrec(Ack::success(7))]);

        // A re-delivery before PUBREL is acknowledged again but not delivered again.
        let mut again = incoming;
        again.dup = true;
        session.received(&from_broker(Version::V5, &Packet::Publish(again)));
        assert_eq!(session.next_event().unwrap(), None);
        assert_eq!(drain(&mut session, now), vec![Packet::Pubrec(Ack::success(7))]);

        session.received(&from_broker(Version::V5, &Packet::Pubrel(Ack::success(7))));
        assert_eq!(session.next_event().unwrap(), None);
        assert_eq!(drain(&mut session, now), vec![Packet::Pubcomp(Ack::success(7))]);

        // A PUBREL for a message we do not hold: v5 says so in the PUBCOMP.
        session.received(&from_broker(Version::V5, &Packet::Pubrel(Ack::success(7))));
        assert_eq!(session.next_event().unwrap(), None);
        let mut not_found = Ack::success(7);
        not_found.reason = ReasonCode::PACKET_ID_NOT_FOUND;
        assert_eq!(drain(&mut session, now), vec![Packet::Pubcomp(not_found)]);
    }

    #[test]
    fn incoming_qos_1_is_delivered_and_acknowledged() {
        let now = Instant::now();
        let mut session = connected(Version::V3_1_1, now);
        let incoming = message(QoS::AtLeastOnce, 3);
        session.received(&from_broker(Version::V3_1_1, &Packet::Publish(incoming.clone())));
        assert_eq!(session.next_event().unwrap(), Some(Event::Message(incoming)));
        assert_eq!(drain(&mut session, now), vec![Packet::Puback(Ack::success(3))]);
    }

    #[test]
    fn subscribe_completes_on_its_suback() {
        let now = Instant::now();
        let mut session = connected(Version::V5, now);
        let id = session
            .subscribe(vec![(Arc::from("a/#"), SubscriptionOptions::default())])
            .unwrap();
        assert!(matches!(drain(&mut session, now).as_slice(), [Packet::Subscribe(s)] if s.packet_id == id));
        let suback = Suback {
            packet_id: id,
            reasons: vec![ReasonCode::GRANTED_QOS_1],
            reason_string: None,
        };
        session.received(&from_broker(Version::V5, &Packet::Suback(suback.clone())));
        assert_eq!(session.next_event().unwrap(), Some(Event::Subscribed(suback)));
        assert_eq!(session.outstanding(), 0);
    }

    #[test]
    fn keep_alive_sends_pingreq_when_due_and_times_out_without_pingresp() {
        let start = Instant::now();
        let mut session = connected(Version::V5, start);
        let keep_alive = Duration::from_secs(10);
        assert_eq!(session.keepalive_deadline(), Some(start + keep_alive));

        // A write pushes the deadline back.
        let later = start + Duration::from_secs(4);
        session.publish(&mut message(QoS::AtMostOnce, 0)).unwrap();
        drain(&mut session, later);
        let due = later + keep_alive;
        assert_eq!(session.keepalive_deadline(), Some(due));

        session.keepalive_due(due).unwrap();
        assert_eq!(drain(&mut session, due), vec![Packet::Pingreq]);
        // Now the PINGRESP is awaited, however much is written meanwhile.
        assert_eq!(session.keepalive_deadline(), Some(due + keep_alive));

        // Answered: the next PINGREQ is a keep-alive after the last write.
        session.received(&from_broker(Version::V5, &Packet::Pingresp));
        assert_eq!(session.next_event().unwrap(), None);
        assert_eq!(session.keepalive_deadline(), Some(due + keep_alive));
        let again = due + keep_alive;
        session.keepalive_due(again).unwrap();
        assert_eq!(drain(&mut session, again), vec![Packet::Pingreq]);

        // Not answered: the next deadline is a timeout.
        match session.keepalive_due(again + keep_alive) {
            Err(ClientError::Timeout { what, after, .. }) => {
                assert_eq!(what, "PINGRESP");
                assert_eq!(after, keep_alive);
            }
            other => panic!("expected a PINGRESP timeout, got {other:?}"),
        }
    }

    #[test]
    fn keep_alive_zero_sets_no_deadline() {
        let now = Instant::now();
        let mut opts = options(Version::V5);
        opts.keep_alive = 0;
        let mut session = Session::new(&opts, now).unwrap();
        assert_eq!(session.keepalive_deadline(), None);
        session.received(&from_broker(
            Version::V5,
            &connack(ReasonCode::SUCCESS, ConnackProperties::default()),
        ));
        session.connack().unwrap();
        assert_eq!(session.keepalive_deadline(), None);
    }

    #[test]
    fn bytes_split_anywhere_decode_to_the_same_events() {
        let now = Instant::now();
        let incoming = [
            Packet::Publish(message(QoS::AtMostOnce, 0)),
            Packet::Publish(message(QoS::AtLeastOnce, 1)),
            Packet::Pingresp,
            Packet::Publish(message(QoS::ExactlyOnce, 2)),
            Packet::Pubrel(Ack::success(2)),
            Packet::Publish(message(QoS::AtMostOnce, 0)),
        ];
        let stream: Vec<u8> = incoming
            .iter()
            .flat_map(|p| from_broker(Version::V5, p))
            .collect();
        let run = |chunk: usize| {
            let mut session = connected(Version::V5, now);
            let mut events = Vec::new();
            for piece in stream.chunks(chunk) {
                session.received(piece);
                while let Some(event) = session.next_event().unwrap() {
                    events.push(event);
                }
            }
            (events, drain(&mut session, now))
        };
        let whole = run(stream.len());
        assert_eq!(whole.0.len(), 4);
        assert_eq!(
            whole.1,
            vec![
                Packet::Puback(Ack::success(1)),
                Packet::Pubrec(Ack::success(2)),
                Packet::Pubcomp(Ack::success(2)),
            ]
        );
        for chunk in 1..stream.len() {
            assert_eq!(run(chunk), whole, "chunks of {chunk} bytes");
        }
    }

    #[test]
    fn a_disconnect_from_the_broker_is_an_error_with_its_reason() {
        let now = Instant::now();
        let mut session = connected(Version::V5, now);
        let disconnect = Disconnect {
            reason: ReasonCode::SESSION_TAKEN_OVER,
            ..Disconnect::default()
        };
        session.received(&from_broker(Version::V5, &Packet::Disconnect(disconnect.clone())));
        assert!(matches!(
            session.next_event(),
            Err(ClientError::Disconnected {
                reason: ReasonCode::SESSION_TAKEN_OVER,
                ..
            })
        ));

        // The same DISCONNECT still buffered when the socket closes explains the close.
        let mut session = connected(Version::V5, now);
        session.received(&from_broker(Version::V5, &Packet::Disconnect(disconnect)));
        assert!(matches!(
            session.closed(),
            ClientError::Disconnected {
                reason: ReasonCode::SESSION_TAKEN_OVER,
                ..
            }
        ));
        assert!(matches!(
            connected(Version::V5, now).closed(),
            ClientError::Closed
        ));
    }

    #[test]
    fn garbage_from_the_broker_is_an_error_not_a_panic() {
        let now = Instant::now();
        let mut session = connected(Version::V5, now);
        // A CONNECT is never sent by a broker; a reserved packet type is malformed.
        session.received(&[0xF0, 0x00]);
        assert!(session.next_event().is_err());
        let mut session = connected(Version::V5, now);
        session.received(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        assert!(session.next_event().is_err());
    }

    #[test]
    fn sent_drops_only_what_was_written() {
        let now = Instant::now();
        let mut session = connected(Version::V5, now);
        session.publish(&mut message(QoS::AtMostOnce, 0)).unwrap();
        let all = session.to_send().to_vec();
        session.sent(3, now);
        assert_eq!(session.to_send(), &all[3..]);
        assert_eq!(session.buffered(), all.len() - 3);
    }

    #[test]
    fn the_observer_sees_packets_both_ways() {
        let now = Instant::now();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut opts = options(Version::V5);
        let log = seen.clone();
        opts.observer = Some(Arc::new(move |_: &str, direction: Direction, packet: &Packet| {
            log.lock().unwrap().push((direction, packet.name()));
        }));
        let mut session = Session::new(&opts, now).unwrap();
        session.received(&from_broker(
            Version::V5,
            &connack(ReasonCode::SUCCESS, ConnackProperties::default()),
        ));
        session.connack().unwrap();
        session.publish(&mut message(QoS::AtMostOnce, 0)).unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![
                (Direction::Sent, "CONNECT"),
                (Direction::Received, "CONNACK"),
                (Direction::Sent, "PUBLISH"),
            ]
        );
    }
}
