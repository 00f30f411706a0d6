//! The QoS 1 and QoS 2 handshakes as the session sees them: what an acknowledgement from the
//! client completes, which packet ids of the client's QoS 2 messages are still unreleased, and
//! the records that follow.

use std::iter;
use std::sync::Arc;

use super::gate::Gate;
use super::outbound::{OutPhase, PubrecOutcome};
use super::records;
use super::{Broker, Changes, Delivery, Session, SessionState};
use crate::protocol::{QoS, ReasonCode};

/// The acknowledgements a client sends for the broker's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckKind {
    /// Completes QoS 1.
    Puback,
    /// First answer to QoS 2.
    Pubrec,
    /// Completes QoS 2.
    Pubcomp,
}

impl AckKind {
    /// The packet's name.
    pub fn name(self) -> &'static str {
        match self {
            AckKind::Puback => "PUBACK",
            AckKind::Pubrec => "PUBREC",
            AckKind::Pubcomp => "PUBCOMP",
        }
    }
}

/// An acknowledgement of the wrong kind for the message in flight under its packet id: a
/// protocol error, v5 [MQTT-4.13.1-1], 3.1.1 [MQTT-4.8.0-1].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongAck {
    /// What the client sent.
    pub got: AckKind,
    /// What the message in flight waits for.
    pub owed: AckKind,
    /// That message's QoS.
    pub qos: QoS,
}

/// What to answer a PUBREC with.
#[derive(Debug)]
pub enum PubrecReply {
    /// PUBREL, once `gate` (the "released" record's commit) opens [MQTT-4.3.3-4].
    Pubrel(Option<Arc<Gate>>),
    /// PUBREL 0x92: no such message in flight.
    NotFound,
    /// Nothing: the client refused the message, which is dropped.
    Nothing,
}

/// A PUBREL's outcome.
#[derive(Debug)]
pub struct Released {
    /// Whether the packet id was one awaiting PUBREL (else PUBCOMP says 0x92).
    pub known: bool,
    /// PUBCOMP waits for this: the packet id's release is committed.
    pub gate: Option<Arc<Gate>>,
}

/// What receiving a QoS 2 PUBLISH did to the session.
#[derive(Debug)]
pub enum Qos2Received {
    /// A new packet id: route the message; `changes` remember the id across a restart and
    /// must be committed with it (or before it is acknowledged).
    New(Changes),
    /// A retransmission of a message already routed: acknowledged, not delivered again
    /// [MQTT-4.3.3-10].
    Duplicate,
    /// More unreleased QoS 2 messages than the broker's receive maximum [MQTT-3.3.4-9].
    TooMany,
}

impl SessionState {
    /// An acknowledgement of kind `got` for `packet_id`, checked against the message in flight
    /// under it. One for an id with nothing in flight passes: it may answer a message from
    /// before a reconnect.
    fn check_ack(&self, packet_id: u16, got: AckKind) -> Result<(), WrongAck> {
        let Some(o) = self.outgoing.get(&packet_id).filter(|o| o.sent) else {
            return Ok(());
        };
        let owed = match (o.delivery.qos, o.phase) {
            (QoS::ExactlyOnce, OutPhase::Published) => AckKind::Pubrec,
            (QoS::ExactlyOnce, OutPhase::Released) => AckKind::Pubcomp,
            _ => AckKind::Puback,
        };
        // A PUBREC repeated after the PUBREL is answered with PUBREL again.
        if got == owed || (got, owed) == (AckKind::Pubrec, AckKind::Pubcomp) {
            return Ok(());
        }
        Err(WrongAck {
            got,
            owed,
            qos: o.delivery.qos,
        })
    }
}

impl Broker {
    /// PUBACK for a QoS 1 message the broker sent; true if it completed one (whose record
    /// goes).
    pub fn puback(&self, session: &Arc<Session>, packet_id: u16) -> Result<bool, WrongAck> {
        let done = {
            let mut state = session.lock();
            state.check_ack(packet_id, AckKind::Puback)?;
            state.on_puback(packet_id)
        };
        Ok(done.map(|d| self.forget_delivery(session, &d)).is_some())
    }

    /// PUBREC for a QoS 2 message the broker sent. The "released" phase is committed before
    /// PUBREL goes out, so that a restart never sends that PUBLISH again.
    pub fn pubrec(
        &self,
        session: &Arc<Session>,
        packet_id: u16,
        reason: ReasonCode,
    ) -> Result<PubrecReply, WrongAck> {
        let outcome = {
            let mut state = session.lock();
            state.check_ack(packet_id, AckKind::Pubrec)?;
            state.on_pubrec(packet_id, reason)
        };
        Ok(match outcome {
            Some(PubrecOutcome::Release(delivery)) => {
                let state = crate::store::DeliveryState::Released { packet_id };
                let ops: Vec<_> = delivery
                    .seq
                    .map(|seq| records::set_delivery_state(&session.client_id, seq, state))
                    .into_iter()
                    .collect();
                let gate = (!ops.is_empty()).then(Gate::new);
                self.commit(ops, gate.clone(), iter::once(session.clone()));
                PubrecReply::Pubrel(gate)
            }
            Some(PubrecOutcome::Repeated) => PubrecReply::Pubrel(None),
            Some(PubrecOutcome::Refused(delivery)) => {
                self.forget_delivery(session, &delivery);
                PubrecReply::Nothing
            }
            None => PubrecReply::NotFound,
        })
    }

    /// PUBCOMP for a QoS 2 message the broker sent; true if it completed one.
    pub fn pubcomp(&self, session: &Arc<Session>, packet_id: u16) -> Result<bool, WrongAck> {
        let done = {
            let mut state = session.lock();
            state.check_ack(packet_id, AckKind::Pubcomp)?;
            state.on_pubcomp(packet_id)
        };
        Ok(done.map(|d| self.forget_delivery(session, &d)).is_some())
    }

    /// PUBREL for a QoS 2 message the client sent: its packet id is released, and PUBCOMP
    /// waits for that to be committed (otherwise a restarted broker would take the id's next
    /// use for a retransmission).
    pub fn pubrel(&self, session: &Arc<Session>, packet_id: u16) -> Released {
        let (known, durable) = {
            let mut state = session.lock();
            (state.incoming_qos2.remove(&packet_id), state.is_durable())
        };
        if !(known && durable) {
            return Released { known, gate: None };
        }
        let op = records::delete_incoming_qos2(&session.client_id, packet_id);
        let gate = Gate::new();
        self.commit(vec![op], Some(gate.clone()), iter::once(session.clone()));
        Released {
            known,
            gate: Some(gate),
        }
    }

    /// A QoS 2 PUBLISH from the client under `packet_id`, with at most `receive_maximum`
    /// unreleased at a time.
    pub fn qos2_received(&self, session: &Session, packet_id: u16, receive_maximum: usize) -> Qos2Received {
        let mut state = session.lock();
        if !state.incoming_qos2.insert(packet_id) {
            return Qos2Received::Duplicate;
        }
        if state.incoming_qos2.len() > receive_maximum {
            return Qos2Received::TooMany;
        }
        let mut changes = Changes::default();
        if state.is_durable() {
            // Remembered across a restart, so a retransmission then is not delivered twice.
            changes
                .0
                .push(records::put_incoming_qos2(&session.client_id, packet_id));
        }
        Qos2Received::New(changes)
    }

    /// A QoS 2 PUBLISH acknowledged and dropped without being routed: its packet id awaits
    /// PUBREL like any other's, and, as nothing was delivered, nothing about it is stored.
    pub fn qos2_dropped(&self, session: &Session, packet_id: u16) {
        session.lock().incoming_qos2.insert(packet_id);
    }

    /// Takes back a QoS 2 packet id whose PUBLISH was refused: the same id sent again is a new
    /// message, not a retransmission. `recorded`: the id went to the store with the message
    /// (refused after routing, when no subscriber could take it); its record is deleted too,
    /// or a restart would take the id's next use for a retransmission and drop that message.
    /// The refusal then waits for the returned gate.
    pub fn qos2_refused(&self, session: &Arc<Session>, packet_id: u16, recorded: bool) -> Option<Arc<Gate>> {
        let durable = {
            let mut state = session.lock();
            state.incoming_qos2.remove(&packet_id);
            state.is_durable()
        };
        if !(recorded && durable) {
            return None;
        }
        let gate = Gate::new();
        let op = records::delete_incoming_qos2(&session.client_id, packet_id);
        self.commit(vec![op], Some(gate.clone()), iter::once(session.clone()));
        Some(gate)
    }

    /// Deletes the record of a delivery that is done with.
    fn forget_delivery(&self, session: &Session, delivery: &Delivery) {
        let mut ops = Vec::new();
        records::drop_record(delivery, &session.client_id, &mut ops, &self.metrics);
        self.commit(ops, None, iter::empty());
    }
}
