//! PUBACK, PUBREC, PUBREL and PUBCOMP: the QoS 1 and QoS 2 handshakes in both directions.

use super::{Close, ConnState};
use crate::protocol::{reason, Ack, Packet};

/// PUBACK for a QoS 1 message the broker sent.
pub fn handle_puback(st: &mut ConnState, ack: Ack) -> Result<(), Close> {
    if !st.session.lock().on_puback(ack.packet_id) {
        tracing::debug!(client_id = %st.client_id, packet_id = ack.packet_id, "PUBACK for no message in flight");
    }
    Ok(())
}

/// PUBREC for a QoS 2 message the broker sent: answer with PUBREL [MQTT-4.3.3-4].
pub fn handle_pubrec(st: &mut ConnState, ack: Ack) -> Result<(), Close> {
    let outcome = st.session.lock().on_pubrec(ack.packet_id, ack.reason);
    match outcome {
        Some(true) => st.send(&Packet::Pubrel(Ack::success(ack.packet_id))),
        Some(false) => {}
        None => st.send(&Packet::Pubrel(Ack {
            packet_id: ack.packet_id,
            reason: reason::PACKET_ID_NOT_FOUND,
            reason_string: None,
        })),
    }
    Ok(())
}

/// PUBREL for a QoS 2 message the client sent: release the packet id and answer PUBCOMP.
pub fn handle_pubrel(st: &mut ConnState, ack: Ack) -> Result<(), Close> {
    let known = st.session.lock().incoming_qos2.remove(&ack.packet_id);
    let reason = if known {
        reason::SUCCESS
    } else {
        reason::PACKET_ID_NOT_FOUND
    };
    st.send(&Packet::Pubcomp(Ack {
        packet_id: ack.packet_id,
        reason,
        reason_string: None,
    }));
    Ok(())
}

/// PUBCOMP for a QoS 2 message the broker sent.
pub fn handle_pubcomp(st: &mut ConnState, ack: Ack) -> Result<(), Close> {
    if !st.session.lock().on_pubcomp(ack.packet_id) {
        tracing::debug!(client_id = %st.client_id, packet_id = ack.packet_id, "PUBCOMP for no message in flight");
    }
    Ok(())
}
