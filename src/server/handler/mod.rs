//! Packet handlers, one module per packet family, working on a connection's state.

pub mod ack;
pub mod bridge_side;
pub mod connect;
pub mod publish;
pub mod subscribe;
pub mod unstored;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use super::broker::{Broker, Delivery, Gate, GateState, Session};
use super::context::ListenerContext;
use super::metrics::topics::TopicTally;
use super::metrics::ConnStats;
use crate::protocol::{self, Packet, ReasonCode, Version, Will};

/// Why a connection ends.
#[derive(Debug)]
pub enum Close {
    /// The client sent DISCONNECT; v5 reason 0x04 asks for the will to be published.
    Normal {
        /// Publish the will anyway.
        with_will: bool,
    },
    /// The client broke the protocol; a v5 client is told `reason`.
    Error {
        /// v5 reason code.
        reason: ReasonCode,
        /// What was wrong, for the log.
        detail: String,
    },
    /// Another connection took the session over, or the broker ended it.
    Kicked(ReasonCode),
    /// Nothing received within 1.5 × keep alive [MQTT-3.1.2-22].
    KeepAliveTimeout,
    /// The broker is shutting down.
    Shutdown,
    /// The client closed the socket without DISCONNECT.
    PeerClosed,
    /// A socket error.
    Io(String),
}

impl fmt::Display for Close {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Close::Normal { with_will: false } => f.write_str("disconnect"),
            Close::Normal { with_will: true } => f.write_str("disconnect with will"),
            Close::Error { reason, detail } => write!(f, "{}: {detail}", reason.description()),
            Close::Kicked(code) => f.write_str(code.description()),
            Close::KeepAliveTimeout => f.write_str("keep alive timeout"),
            Close::Shutdown => f.write_str("server shutting down"),
            Close::PeerClosed => f.write_str("connection closed by client"),
            Close::Io(e) => write!(f, "socket error: {e}"),
        }
    }
}

/// The state of one connected client.
#[derive(Debug)]
pub struct ConnState {
    /// Protocol version from CONNECT.
    pub version: Version,
    /// Client identifier (assigned if the client sent none).
    pub client_id: Arc<str>,
    /// The session this connection serves.
    pub session: Arc<Session>,
    /// Whether the session existed before this connection.
    pub session_present: bool,
    /// Session generation at attach: what this connection drains the session with, so that
    /// once another connection has taken the session over, this one gets nothing more from it.
    pub generation: u64,
    /// Broker-wide connection number.
    pub connection_id: u64,
    /// The will, until it is published or cancelled.
    pub will: Option<Box<Will>>,
    /// Session expiry interval requested at CONNECT (v5), to check DISCONNECT's update.
    pub connect_session_expiry: u32,
    /// Whether the v5 client accepts reason strings on acks [MQTT-3.1.2-29].
    pub problem_info: bool,
    /// The largest packet the client accepts (v5 Maximum Packet Size; unlimited otherwise).
    pub max_packet_size: usize,
    /// Topic aliases the client has set (boxed once it sets one: most never do).
    pub topic_aliases: Option<Box<HashMap<u16, Arc<str>>>>,
    /// Bytes waiting to be written.
    pub out: BytesMut,
    /// Responses held until the store commits what they acknowledge, in arrival order.
    pub pending: VecDeque<Pending>,
    /// CONNACK waits for this gate (the session record's commit); gone once it opened.
    pub connack_gate: Option<Arc<Gate>>,
    /// Packets written by [`ConnState::send`] not yet added to the broker's counters.
    pub packets_sent: u64,
    /// This connection's figures, also reachable from the session for the admin API.
    pub stats: Arc<ConnStats>,
    /// Topics published to since the last read batch, for `topics/top`.
    pub topics: TopicTally,
    /// Sessions that took this client's last message past their bound: until they have room,
    /// nothing more is read from the client and its acknowledgement waits (flow control).
    pub paced_on: Vec<Arc<Session>>,
    /// Whether packets already read wait in the read buffer because the client was held back.
    pub input_held: bool,
    /// The client is another broker's bridge (it said so in CONNECT, see
    /// [`crate::protocol::Connect::bridge`]): what it publishes is not sent back to it, and
    /// retained flags reach it as published, as v5 "no local" and "retain as published" do.
    pub peer_is_bridge: bool,
    /// Set when this is a bridge's link to its remote broker: the peer is a server.
    pub bridge: Option<Box<bridge_side::Side>>,
}

/// Responses that go out once a gate opens.
#[derive(Debug)]
pub struct Pending {
    /// `None` when nothing is committed for these, but earlier responses still wait.
    pub gate: Option<Arc<Gate>>,
    /// Packets to send.
    pub packets: Vec<Packet>,
    /// Deliveries to queue after the packets (retained messages after SUBACK).
    pub deliveries: Vec<Delivery>,
    /// Held until the sessions of [`ConnState::paced_on`] have room again.
    pub after_room: bool,
}

impl ConnState {
    /// A reason string for an ack, when the client wants them.
    pub fn reason_string(&self, text: &str) -> Option<Arc<str>> {
        (self.version.is_v5() && self.problem_info).then(|| Arc::from(text))
    }

    /// Sends `packets` once `gate` opens, and never before responses queued earlier
    /// ([MQTT-4.6.0-2]: acknowledgements keep the order of what they acknowledge).
    pub fn respond_after(
        &mut self,
        gate: Option<Arc<Gate>>,
        packets: Vec<Packet>,
        deliveries: Vec<Delivery>,
    ) {
        let ready = gate.as_ref().is_none_or(|g| g.state() == GateState::Open);
        if ready && self.pending.is_empty() && deliveries.is_empty() {
            for packet in &packets {
                self.send(packet);
            }
            return;
        }
        self.pending.push_back(Pending {
            gate,
            packets,
            deliveries,
            after_room: false,
        });
    }

    /// Like [`ConnState::respond_after`], and also not before the sessions that took the
    /// message past their bound have room again: an acknowledgement promises that the message
    /// is queued within bounds for every subscriber.
    pub fn respond_when_room(&mut self, gate: Option<Arc<Gate>>, packets: Vec<Packet>) {
        if self.paced_on.is_empty() {
            return self.respond_after(gate, packets, Vec::new());
        }
        self.pending.push_back(Pending {
            gate,
            packets,
            deliveries: Vec::new(),
            after_room: true,
        });
    }

    /// Drops the sessions that no longer hold this client back (they have room, went offline
    /// or stalled) and registers with the others to be woken; returns the earliest moment one
    /// of them could count as stalled, when they must be looked at again.
    pub fn refresh_paced(&mut self, metrics: &super::metrics::Metrics) -> Option<Instant> {
        let now = Instant::now();
        let publisher = self.session.clone();
        let mut deadline: Option<Instant> = None;
        self.paced_on
            .retain(|session| match session.holds_back(&publisher, metrics, now) {
                Some(at) => {
                    deadline = Some(deadline.map_or(at, |d| d.min(at)));
                    true
                }
                None => false,
            });
        deadline
    }

    /// Sends a packet in order with any held responses.
    pub fn respond(&mut self, packet: Packet) {
        self.respond_after(None, vec![packet], Vec::new());
    }

    /// Writes the held responses whose gates have opened; an error when a commit failed.
    pub fn release_pending(&mut self, broker: &Broker) -> Result<(), Close> {
        while let Some(front) = self.pending.front() {
            if front.after_room && !self.paced_on.is_empty() {
                return Ok(());
            }
            match front.gate.as_ref().map_or(GateState::Open, |g| g.state()) {
                GateState::Pending => return Ok(()),
                GateState::Failed => {
                    let Some(pending) = self.pending.pop_front() else {
                        break;
                    };
                    if unstored::refuse(broker, self, &pending) == unstored::Refusal::Refused {
                        continue;
                    }
                    return Err(unstored::transient_error());
                }
                GateState::Open => {}
            }
            let Some(pending) = self.pending.pop_front() else {
                break;
            };
            for packet in &pending.packets {
                self.send(packet);
            }
            for delivery in pending.deliveries {
                self.session.enqueue_unstored(delivery, &broker.metrics);
            }
        }
        Ok(())
    }

    /// Appends a packet to the write buffer.
    pub fn send(&mut self, packet: &Packet) {
        self.packets_sent += 1;
        if let Err(e) = protocol::encode_within(self.version, packet, self.max_packet_size, &mut self.out) {
            tracing::warn!(client_id = %self.client_id, "cannot encode {}: {e}", packet.name());
        }
    }
}

/// Handles one packet from a connected client.
pub fn handle(ctx: &ListenerContext, conn: &mut ConnState, packet: Packet) -> Result<(), Close> {
    if conn.bridge.is_some() {
        return bridge_side::from_remote(ctx, conn, packet);
    }
    match packet {
        Packet::Publish(p) => publish::handle_publish(ctx, conn, p),
        Packet::Puback(a) => ack::handle_puback(ctx, conn, a),
        Packet::Pubrec(a) => ack::handle_pubrec(ctx, conn, a),
        Packet::Pubrel(a) => ack::handle_pubrel(ctx, conn, a),
        Packet::Pubcomp(a) => ack::handle_pubcomp(ctx, conn, a),
        Packet::Subscribe(s) => subscribe::handle_subscribe(ctx, conn, s),
        Packet::Unsubscribe(u) => subscribe::handle_unsubscribe(ctx, conn, u),
        Packet::Pingreq => {
            conn.respond(Packet::Pingresp);
            Ok(())
        }
        Packet::Disconnect(d) => connect::handle_disconnect(conn, d),
        Packet::Connect(_) => Err(Close::Error {
            reason: ReasonCode::PROTOCOL_ERROR,
            detail: "second CONNECT [MQTT-3.1.0-2]".into(),
        }),
        Packet::Auth(_) => Err(Close::Error {
            reason: ReasonCode::PROTOCOL_ERROR,
            detail: "AUTH without an authentication method in CONNECT".into(),
        }),
        other => Err(Close::Error {
            reason: ReasonCode::PROTOCOL_ERROR,
            detail: format!("{} is not sent by clients", other.name()),
        }),
    }
}
