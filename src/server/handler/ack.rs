//! PUBACK, PUBREC, PUBREL and PUBCOMP: the QoS 1 and QoS 2 handshakes in both directions.

use super::{Close, ConnState};
use crate::protocol::{reason, Ack, Packet, QoS};
use crate::server::broker::session::{drop_record, OutPhase, PubrecOutcome};
use crate::server::broker::SessionState;
use crate::server::context::ListenerContext;
use crate::server::persist::{self, Gate};
use crate::store::{DeliveryState, Op};

/// The acknowledgements a client can send for the broker's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AckKind {
    Puback,
    Pubrec,
    Pubcomp,
}

impl AckKind {
    fn name(self) -> &'static str {
        match self {
            AckKind::Puback => "PUBACK",
            AckKind::Pubrec => "PUBREC",
            AckKind::Pubcomp => "PUBCOMP",
        }
    }
}

/// An acknowledgement of the wrong kind for the message in flight under its packet identifier
/// (PUBREC for QoS 1, PUBACK for QoS 2, PUBCOMP before PUBREL) is a protocol error: v5
/// [MQTT-4.13.1-1], 3.1.1 [MQTT-4.8.0-1]. One for an identifier with nothing in flight is let
/// through: it may answer a message from before a reconnect.
fn check_kind(session: &SessionState, packet_id: u16, got: AckKind) -> Result<(), Close> {
    let Some(o) = session.outgoing.get(&packet_id).filter(|o| o.sent) else {
        return Ok(());
    };
    let owed = match (o.delivery.qos, o.phase) {
        (QoS::ExactlyOnce, OutPhase::Published) => AckKind::Pubrec,
        (QoS::ExactlyOnce, OutPhase::Released) => AckKind::Pubcomp,
        _ => AckKind::Puback,
    };
    // A PUBREC repeated after the PUBREL is answered with PUBREL again (handle_pubrec).
    if got == owed || (got, owed) == (AckKind::Pubrec, AckKind::Pubcomp) {
        return Ok(());
    }
    Err(Close::Error {
        reason: reason::PROTOCOL_ERROR,
        detail: format!(
            "{} for packet identifier {packet_id}, whose QoS {} message waits for {}",
            got.name(),
            o.delivery.qos as u8,
            owed.name()
        ),
    })
}

/// PUBACK for a QoS 1 message the broker sent: its record can go.
pub fn handle_puback(ctx: &ListenerContext, st: &mut ConnState, ack: Ack) -> Result<(), Close> {
    let done = {
        let mut session = st.session.lock();
        check_kind(&session, ack.packet_id, AckKind::Puback)?;
        session.on_puback(ack.packet_id)
    };
    match done {
        Some(delivery) => {
            let mut ops = Vec::new();
            drop_record(&delivery, &st.client_id, &mut ops, &ctx.broker.metrics);
            ctx.broker.commit(ops, None, Vec::new());
        }
        None => {
            tracing::debug!(client_id = %st.client_id, packet_id = ack.packet_id, "PUBACK for no message in flight")
        }
    }
    Ok(())
}

/// PUBREC for a QoS 2 message the broker sent: answer with PUBREL [MQTT-4.3.3-4], once the
/// "released" phase is committed, so a restart never sends that PUBLISH again.
pub fn handle_pubrec(ctx: &ListenerContext, st: &mut ConnState, ack: Ack) -> Result<(), Close> {
    let outcome = {
        let mut session = st.session.lock();
        check_kind(&session, ack.packet_id, AckKind::Pubrec)?;
        session.on_pubrec(ack.packet_id, ack.reason)
    };
    let pubrel = Packet::Pubrel(Ack::success(ack.packet_id));
    match outcome {
        Some(PubrecOutcome::Release(delivery)) => {
            let ops: Vec<Op> = delivery
                .seq
                .map(|seq| Op::PutDelivery {
                    client_id: st.client_id.to_string(),
                    seq,
                    delivery: persist::delivery_record(
                        &delivery,
                        DeliveryState::Released {
                            packet_id: ack.packet_id,
                        },
                    ),
                })
                .into_iter()
                .collect();
            let gate = (!ops.is_empty()).then(Gate::new);
            ctx.broker.commit(ops, gate.clone(), vec![st.session.clone()]);
            st.respond_after(gate, vec![pubrel], Vec::new());
        }
        Some(PubrecOutcome::Repeated) => st.respond(pubrel),
        Some(PubrecOutcome::Refused(delivery)) => {
            let mut ops = Vec::new();
            drop_record(&delivery, &st.client_id, &mut ops, &ctx.broker.metrics);
            ctx.broker.commit(ops, None, Vec::new());
        }
        None => st.respond(Packet::Pubrel(Ack {
            packet_id: ack.packet_id,
            reason: reason::PACKET_ID_NOT_FOUND,
            reason_string: None,
        })),
    }
    Ok(())
}

/// PUBREL for a QoS 2 message the client sent: release the packet id and answer PUBCOMP once
/// that is committed (otherwise a restarted broker would take the id's next use for a resend).
pub fn handle_pubrel(ctx: &ListenerContext, st: &mut ConnState, ack: Ack) -> Result<(), Close> {
    let (known, durable) = {
        let mut session = st.session.lock();
        (session.incoming_qos2.remove(&ack.packet_id), session.is_durable())
    };
    let reason = if known {
        reason::SUCCESS
    } else {
        reason::PACKET_ID_NOT_FOUND
    };
    let pubcomp = Packet::Pubcomp(Ack {
        packet_id: ack.packet_id,
        reason,
        reason_string: None,
    });
    if known && durable {
        let op = Op::DeleteIncomingQos2 {
            client_id: st.client_id.to_string(),
            packet_id: ack.packet_id,
        };
        let gate = Gate::new();
        ctx.broker
            .commit(vec![op], Some(gate.clone()), vec![st.session.clone()]);
        st.respond_after(Some(gate), vec![pubcomp], Vec::new());
    } else {
        st.respond(pubcomp);
    }
    Ok(())
}

/// PUBCOMP for a QoS 2 message the broker sent: its record can go.
pub fn handle_pubcomp(ctx: &ListenerContext, st: &mut ConnState, ack: Ack) -> Result<(), Close> {
    let done = {
        let mut session = st.session.lock();
        check_kind(&session, ack.packet_id, AckKind::Pubcomp)?;
        session.on_pubcomp(ack.packet_id)
    };
    match done {
        Some(delivery) => {
            let mut ops = Vec::new();
            drop_record(&delivery, &st.client_id, &mut ops, &ctx.broker.metrics);
            ctx.broker.commit(ops, None, Vec::new());
        }
        None => {
            tracing::debug!(client_id = %st.client_id, packet_id = ack.packet_id, "PUBCOMP for no message in flight")
        }
    }
    Ok(())
}
