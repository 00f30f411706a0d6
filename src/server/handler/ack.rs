//! PUBACK, PUBREC, PUBREL and PUBCOMP: the QoS 1 and QoS 2 handshakes in both directions.

use super::{Close, ConnState};
use crate::protocol::{Ack, Packet, ReasonCode};
use crate::server::broker::{PubrecReply, WrongAck};
use crate::server::context::ListenerContext;

/// An acknowledgement of the wrong kind for the message in flight under its packet identifier
/// (PUBREC for QoS 1, PUBACK for QoS 2, PUBCOMP before PUBREL) is a protocol error: v5
/// [MQTT-4.13.1-1], 3.1.1 [MQTT-4.8.0-1].
fn wrong_kind(packet_id: u16, wrong: WrongAck) -> Close {
    Close::Error {
        reason: ReasonCode::PROTOCOL_ERROR,
        detail: format!(
            "{} for packet identifier {packet_id}, whose QoS {} message waits for {}",
            wrong.got.name(),
            wrong.qos as u8,
            wrong.owed.name()
        ),
    }
}

/// PUBACK for a QoS 1 message the broker sent.
pub fn handle_puback(ctx: &ListenerContext, conn: &mut ConnState, ack: Ack) -> Result<(), Close> {
    let id = ack.packet_id;
    let done = ctx
        .broker
        .puback(&conn.session, id)
        .map_err(|w| wrong_kind(id, w))?;
    if !done {
        tracing::debug!(client_id = %conn.client_id, packet_id = id, "PUBACK for no message in flight");
    }
    Ok(())
}

/// PUBREC for a QoS 2 message the broker sent: answer with PUBREL [MQTT-4.3.3-4], once the
/// "released" phase is committed, so a restart never sends that PUBLISH again.
pub fn handle_pubrec(ctx: &ListenerContext, conn: &mut ConnState, ack: Ack) -> Result<(), Close> {
    let id = ack.packet_id;
    let reply = ctx
        .broker
        .pubrec(&conn.session, id, ack.reason)
        .map_err(|w| wrong_kind(id, w))?;
    match reply {
        PubrecReply::Pubrel(gate) => {
            conn.respond_after(gate, vec![Packet::Pubrel(Ack::success(id))], Vec::new())
        }
        PubrecReply::Nothing => {}
        PubrecReply::NotFound => conn.respond(Packet::Pubrel(Ack {
            packet_id: id,
            reason: ReasonCode::PACKET_ID_NOT_FOUND,
            reason_string: None,
        })),
    }
    Ok(())
}

/// PUBREL for a QoS 2 message the client sent: release the packet id and answer PUBCOMP once
/// that is committed.
pub fn handle_pubrel(ctx: &ListenerContext, conn: &mut ConnState, ack: Ack) -> Result<(), Close> {
    let released = ctx.broker.pubrel(&conn.session, ack.packet_id);
    let pubcomp = Packet::Pubcomp(Ack {
        packet_id: ack.packet_id,
        reason: if released.known {
            ReasonCode::SUCCESS
        } else {
            ReasonCode::PACKET_ID_NOT_FOUND
        },
        reason_string: None,
    });
    conn.respond_after(released.gate, vec![pubcomp], Vec::new());
    Ok(())
}

/// PUBCOMP for a QoS 2 message the broker sent.
pub fn handle_pubcomp(ctx: &ListenerContext, conn: &mut ConnState, ack: Ack) -> Result<(), Close> {
    let id = ack.packet_id;
    let done = ctx
        .broker
        .pubcomp(&conn.session, id)
        .map_err(|w| wrong_kind(id, w))?;
    if !done {
        tracing::debug!(client_id = %conn.client_id, packet_id = id, "PUBCOMP for no message in flight");
    }
    Ok(())
}
