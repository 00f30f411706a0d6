//! Acknowledgements whose commit failed: a publish the store could not keep is refused alone.
//!
//! When the disk is full the store refuses new messages (see `store::Store::submit_refusable`).
//! The publisher then hears that this one message was not taken, and keeps its connection and
//! its other messages in flight: MQTT 5 gets PUBACK/PUBREC 0x97 (quota exceeded, the code for
//! "an implementation or administrative imposed limit") with a reason string. 3.1.1 has no
//! way to refuse: a transient error closes the connection the packet came in on
//! [MQTT-4.8.0-2], after everything committed before it was acknowledged; the client sends the
//! message again when it reconnects with its session [MQTT-4.4.0-1].

use super::{Close, ConnState, Pending};
use crate::protocol::{Packet, QoS, ReasonCode};
use crate::server::broker::Broker;

/// What a refused publisher reads in the reason string.
pub const WHY: &str = "the broker's disk is full: the message was not stored; try again later";

/// What became of a commit that failed.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Each publish was refused alone (MQTT 5); the connection goes on.
    Refused,
    /// The connection must close: 3.1.1 cannot refuse a publish [MQTT-4.8.0-2], or the commit
    /// held more than publishes.
    Close,
}

/// Answers the publishes of `pending`, whose commit failed, with refusals where the protocol
/// has them.
pub fn refuse(broker: &Broker, conn: &mut ConnState, pending: &Pending) -> Refusal {
    if !pending
        .packets
        .iter()
        .all(|p| matches!(p, Packet::Puback(_) | Packet::Pubrec(_)))
    {
        return Refusal::Close;
    }
    for packet in &pending.packets {
        let (qos, ack) = match packet {
            Packet::Puback(ack) => (QoS::AtLeastOnce, ack),
            Packet::Pubrec(ack) => (QoS::ExactlyOnce, ack),
            _ => continue,
        };
        if qos == QoS::ExactlyOnce {
            // Not received: the same packet id sent again is a new message, not a duplicate.
            // The commit that held its record failed: nothing of it is stored.
            broker.qos2_refused(&conn.session, ack.packet_id, false);
        }
        if conn.version.is_v5() {
            let mut refusal = ack.clone();
            refusal.reason = ReasonCode::QUOTA_EXCEEDED;
            refusal.reason_string = conn.reason_string(WHY);
            let packet = match qos {
                QoS::ExactlyOnce => Packet::Pubrec(refusal),
                _ => Packet::Puback(refusal),
            };
            conn.send(&packet);
        }
    }
    if !conn.version.is_v5() {
        return Refusal::Close;
    }
    tracing::debug!(client_id = %conn.client_id, "publish refused: the store's disk is full");
    Refusal::Refused
}

/// How a connection ends on a transient error: the store could not take what it sent
/// [MQTT-4.8.0-2]. MQTT 5 clients read the reason; nothing of the packet was acknowledged.
pub fn transient_error() -> Close {
    Close::Error {
        reason: ReasonCode::UNSPECIFIED_ERROR,
        detail: "the store could not commit (is the disk full?); nothing was acknowledged".into(),
    }
}
