//! One connection to a broker: connect, queue packets, and a cancel-safe [`Client::poll`] that
//! writes, reads, acknowledges and keeps the connection alive.
//!
//! Nothing here spawns a task or uses a channel. `publish`, `subscribe` and `unsubscribe` only
//! encode into the write buffer (so a caller can pipeline as many publishes as the window
//! allows, and they leave in as few writes as the socket takes); `poll` and `flush` move bytes.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{sleep_until, timeout, Instant};

use super::error::ClientError;
use super::inflight::{Awaiting, IdSet, Inflight};
use super::options::{ConnectOptions, Direction, PacketObserver};
use super::socket::{open_stream, Stream};
use super::tls;
use crate::protocol::frame::MAX_REMAINING_LENGTH;
use crate::protocol::{
    decode_front, encode, encode_publish, next_frame, publish_len, reason, Ack, Connack, Disconnect, Packet,
    Publish, QoS, Sender, Suback, Subscribe, SubscriptionOptions, Unsuback, Unsubscribe, Version,
};

/// The largest whole packet MQTT can express.
const MAX_PACKET: usize = 1 + 4 + MAX_REMAINING_LENGTH;
/// How much the read buffer grows by when it runs low.
const READ_CHUNK: usize = 64 * 1024;
/// How long `disconnect` waits for the broker to close its side.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// What the broker said about one of our QoS 1/2 publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    /// Packet identifier of the publish.
    pub packet_id: u16,
    /// v5 reason code of the PUBACK, the failing PUBREC or the PUBCOMP (0 in 3.1.1).
    pub reason: u8,
    /// v5 reason string.
    pub reason_string: Option<Arc<str>>,
}

impl Acked {
    /// True unless the broker refused the message (reason code 0x80 or above).
    pub fn is_success(&self) -> bool {
        self.reason < reason::UNSPECIFIED_ERROR
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

/// A connected MQTT client.
pub struct Client {
    stream: Stream,
    /// `host:port`, for messages.
    address: String,
    version: Version,
    /// Ours, or the one the broker assigned.
    client_id: Arc<str>,
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

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.address)
            .field("version", &self.version)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects, sends CONNECT and waits for a successful CONNACK, each step within
    /// `opts.connect_timeout`. A refusal is [`ClientError::Refused`].
    pub async fn connect(opts: &ConnectOptions) -> Result<(Client, Connack), ClientError> {
        let address = opts.address();
        let stream = match timeout(opts.connect_timeout, open_stream(opts, &address)).await {
            Ok(stream) => stream?,
            Err(_) => {
                return Err(ClientError::Connect {
                    address,
                    detail: "timed out".into(),
                })
            }
        };
        let stream = match (stream, &opts.tls) {
            (Stream::Tcp(stream), Some(config)) => {
                let name = tls::server_name(&opts.host).map_err(|detail| ClientError::Tls {
                    address: address.clone(),
                    detail,
                })?;
                let connector = tokio_rustls::TlsConnector::from(config.clone());
                match timeout(opts.connect_timeout, connector.connect(name, stream)).await {
                    Ok(Ok(tls)) => {
                        let (rd, wr) = tokio::io::split(tls);
                        Stream::Tls(rd, wr)
                    }
                    Ok(Err(e)) => {
                        return Err(ClientError::Tls {
                            address,
                            detail: tls::describe_failure(&e, &opts.host),
                        })
                    }
                    Err(_) => {
                        return Err(ClientError::Timeout {
                            what: "the TLS handshake",
                            address,
                            after: opts.connect_timeout,
                        })
                    }
                }
            }
            (stream, _) => stream,
        };
        let mut client = Client {
            stream,
            address,
            version: opts.version,
            client_id: opts.client_id.clone(),
            read: BytesMut::with_capacity(READ_CHUNK),
            write: BytesMut::with_capacity(READ_CHUNK),
            inflight: Inflight::new(opts.inflight),
            awaiting_pubrel: IdSet::default(),
            keep_alive: None,
            last_write: Instant::now(),
            ping_sent: None,
            max_incoming: opts.maximum_packet_size.map_or(MAX_PACKET, |m| m as usize),
            max_outgoing: MAX_PACKET,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            observer: opts.observer.clone(),
        };
        client.send(&opts.connect_packet())?;
        let connack = match timeout(opts.connect_timeout, client.read_connack()).await {
            Ok(connack) => connack?,
            Err(_) => {
                return Err(ClientError::Timeout {
                    what: "CONNACK",
                    address: client.address,
                    after: opts.connect_timeout,
                })
            }
        };
        if connack.reason >= reason::UNSPECIFIED_ERROR || (!opts.version.is_v5() && connack.reason != 0) {
            return Err(ClientError::Refused {
                reason: connack.reason,
                reason_string: connack.properties.reason_string.clone(),
            });
        }
        let p = &connack.properties;
        if let Some(id) = &p.assigned_client_id {
            client.client_id = id.clone();
        }
        if let Some(max) = p.receive_maximum {
            client.inflight.limit_window(max);
        }
        if let Some(max) = p.maximum_packet_size {
            client.max_outgoing = max as usize;
        }
        client.maximum_qos = p.maximum_qos.unwrap_or(QoS::ExactlyOnce);
        client.retain_available = p.retain_available.unwrap_or(true);
        let keep_alive = p.server_keep_alive.unwrap_or(opts.keep_alive);
        client.keep_alive = (keep_alive > 0).then(|| Duration::from_secs(keep_alive.into()));
        Ok((client, connack))
    }

    async fn read_connack(&mut self) -> Result<Connack, ClientError> {
        loop {
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
            if let Some(frame) = next_frame(&self.read, self.max_incoming)? {
                // A 3.1.1-only broker answers a v5 CONNECT with a 3.1.1 CONNACK, return code 1.
                let old_refusal = self.version.is_v5() && frame.len == 4 && self.read[..2] == [0x20, 2];
                let packet = decode_front(self.version, Sender::Server, &mut self.read, frame.len);
                let packet = match packet {
                    Err(_) if old_refusal => {
                        return Err(ClientError::Refused {
                            reason: reason::UNSUPPORTED_PROTOCOL_VERSION,
                            reason_string: None,
                        })
                    }
                    packet => packet?,
                };
                self.observe(Direction::Received, &packet);
                return match packet {
                    // The protocol layer already maps a 3.1.1 return code to its v5 reason.
                    Packet::Connack(c) => Ok(c),
                    Packet::Disconnect(d) => Err(ClientError::Disconnected {
                        reason: d.reason,
                        reason_string: d.reason_string,
                    }),
                    other => Err(ClientError::Protocol(format!(
                        "expected CONNACK, got {}",
                        other.name()
                    ))),
                };
            }
            self.fill().await?;
        }
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

    /// Queues a PUBLISH. At QoS 1/2 it takes a packet identifier (written into
    /// `message.packet_id`, so one `Publish` can be reused without allocating) and a place in
    /// the window: check [`Client::can_publish`] first. Returns the packet identifier (0 at QoS 0).
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

    /// Queues a SUBSCRIBE; its answer comes from [`Client::poll`] as [`Event::Subscribed`].
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

    /// Writes, reads and answers the broker until there is an [`Event`].
    ///
    /// Cancel-safe: dropping the future (in a `select!`) loses nothing; call it again.
    pub async fn poll(&mut self) -> Result<Event, ClientError> {
        loop {
            if let Some(event) = self.next_buffered()? {
                return Ok(event);
            }
            self.fill().await?;
        }
    }

    /// Writes everything queued (reading meanwhile, so a broker that is writing to us is never
    /// stuck). Cancel-safe.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        while !self.write.is_empty() {
            self.fill().await?;
        }
        Ok(())
    }

    /// Sends DISCONNECT, flushes, and waits briefly for the broker to close its side, so that
    /// nothing queued is lost to a reset.
    pub async fn disconnect(mut self, disconnect: Disconnect) -> Result<(), ClientError> {
        self.send(&Packet::Disconnect(disconnect))?;
        self.flush().await?;
        let read = &mut self.read;
        let _ = timeout(CLOSE_WAIT, async {
            match &mut self.stream {
                Stream::Tcp(stream) => {
                    let (mut rd, mut wr) = stream.split();
                    drain_after_shutdown(&mut rd, &mut wr, read).await
                }
                #[cfg(unix)]
                Stream::Unix(stream) => {
                    let (mut rd, mut wr) = stream.split();
                    drain_after_shutdown(&mut rd, &mut wr, read).await
                }
                Stream::Tls(rd, wr) => drain_after_shutdown(rd, wr, read).await,
            }
        })
        .await;
        Ok(())
    }

    /// Handles whole packets already read until one makes an event.
    fn next_buffered(&mut self) -> Result<Option<Event>, ClientError> {
        while let Some(frame) = next_frame(&self.read, self.max_incoming)? {
            let packet = decode_front(self.version, Sender::Server, &mut self.read, frame.len);
            let packet = packet?;
            self.observe(Direction::Received, &packet);
            if let Some(event) = self.handle(packet)? {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// One round of I/O: a read, a write or a keep-alive step, whichever comes first.
    async fn fill(&mut self) -> Result<(), ClientError> {
        if self.read.capacity() - self.read.len() < READ_CHUNK / 16 {
            self.read.reserve(READ_CHUNK);
        }
        let deadline = self.keepalive_deadline();
        let writing = !self.write.is_empty();
        let (read, write) = (&mut self.read, &mut self.write);
        let outcome = match &mut self.stream {
            Stream::Tcp(stream) => {
                let (mut rd, mut wr) = stream.split();
                io_round(&mut rd, &mut wr, read, write, writing, deadline).await
            }
            #[cfg(unix)]
            Stream::Unix(stream) => {
                let (mut rd, mut wr) = stream.split();
                io_round(&mut rd, &mut wr, read, write, writing, deadline).await
            }
            Stream::Tls(rd, wr) => io_round(rd, wr, read, write, writing, deadline).await,
        };
        match outcome {
            Round::Read(Ok(0)) => Err(self.closed()),
            Round::Read(Ok(_)) => Ok(()),
            Round::Wrote(Ok(_)) => {
                self.last_write = Instant::now();
                Ok(())
            }
            Round::Read(Err(e)) | Round::Wrote(Err(e)) => Err(self.lost(e)),
            Round::Deadline => self.keepalive_due(),
        }
    }

    fn keepalive_deadline(&self) -> Option<Instant> {
        let keep_alive = self.keep_alive?;
        Some(self.ping_sent.unwrap_or(self.last_write) + keep_alive)
    }

    fn keepalive_due(&mut self) -> Result<(), ClientError> {
        if let (Some(_), Some(after)) = (self.ping_sent, self.keep_alive) {
            return Err(ClientError::Timeout {
                what: "PINGRESP",
                address: self.address.clone(),
                after,
            });
        }
        self.send(&Packet::Pingreq)?;
        self.ping_sent = Some(Instant::now());
        Ok(())
    }

    /// The error for a connection the broker closed: its DISCONNECT if one is still buffered.
    fn closed(&mut self) -> ClientError {
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

    fn lost(&mut self, e: std::io::Error) -> ClientError {
        if tls::is_tls_error(&e) {
            // With TLS 1.3 a refused client certificate shows up on the first read.
            return ClientError::Tls {
                address: self.address.clone(),
                detail: tls::describe_failure(&e, &self.address),
            };
        }
        match ClientError::io(e) {
            ClientError::Closed => self.closed(),
            other => other,
        }
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
                    ack.reason = reason::PACKET_ID_NOT_FOUND;
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
                Awaiting::Pubrec if a.reason >= reason::UNSPECIFIED_ERROR => {
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
                        ack.reason = reason::PACKET_ID_NOT_FOUND;
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

/// What one round of I/O did.
enum Round {
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
    Deadline,
}

/// A read, a write (if there is something to write) or the keep-alive deadline, whichever
/// comes first. Cancel-safe: `read_buf` and `write_buf` lose nothing when dropped.
async fn io_round<R, W>(
    rd: &mut R,
    wr: &mut W,
    read: &mut BytesMut,
    write: &mut BytesMut,
    writing: bool,
    deadline: Option<Instant>,
) -> Round
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    tokio::select! {
        r = rd.read_buf(read) => Round::Read(r),
        w = wr.write_buf(write), if writing => Round::Wrote(w),
        () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => Round::Deadline,
    }
}

/// Closes our side and reads until the broker closes its own, so nothing queued is lost to a reset.
async fn drain_after_shutdown<R, W>(rd: &mut R, wr: &mut W, read: &mut BytesMut)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let _ = wr.shutdown().await;
    loop {
        read.clear();
        match rd.read_buf(read).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
