//! One-line packet summaries for `-d/--debug`, in the shape mosquitto's clients print.

use std::fmt::Write;

use crate::protocol::{Packet, ReasonCode, RetainHandling};

/// Summarises a packet: `PUBLISH (d0, q1, r0, m1, 'a/b', ... (5 bytes))`.
pub fn summary(packet: &Packet) -> String {
    let mut s = String::from(packet.name());
    match packet {
        Packet::Connect(c) => {
            let _ = write!(
                s,
                " (v{}, c{}, k{}, id '{}'{}{})",
                c.version,
                u8::from(c.clean_start),
                c.keep_alive,
                c.client_id,
                if c.username.is_some() { ", user" } else { "" },
                if c.will.is_some() { ", will" } else { "" },
            );
        }
        Packet::Connack(c) => {
            let _ = write!(
                s,
                " ({}, session present {})",
                c.reason.get(),
                u8::from(c.session_present)
            );
        }
        Packet::Publish(p) => {
            let _ = write!(
                s,
                " (d{}, q{}, r{}, m{}, '{}', ... ({} bytes))",
                u8::from(p.dup),
                p.qos as u8,
                u8::from(p.retain),
                p.packet_id,
                p.topic,
                p.payload.len()
            );
        }
        Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => {
            let _ = write!(s, " (Mid: {}, RC:{})", a.packet_id, a.reason.get());
        }
        Packet::Subscribe(sub) => {
            let _ = write!(s, " (Mid: {}", sub.packet_id);
            for (filter, o) in &sub.filters {
                let rh = match o.retain_handling {
                    RetainHandling::SendAlways => 0,
                    RetainHandling::SendIfNew => 1,
                    RetainHandling::Never => 2,
                };
                let _ = write!(
                    s,
                    ", Topic: {filter}, QoS: {}, NL: {}, RAP: {}, RH: {rh}",
                    o.qos as u8,
                    u8::from(o.no_local),
                    u8::from(o.retain_as_published),
                );
            }
            s.push(')');
        }
        Packet::Suback(a) => {
            let _ = write!(s, " (Mid: {}, RC: {:?})", a.packet_id, codes(&a.reasons));
        }
        Packet::Unsubscribe(u) => {
            let _ = write!(s, " (Mid: {}, Topics: {:?})", u.packet_id, u.filters);
        }
        Packet::Unsuback(u) => {
            let _ = write!(s, " (Mid: {}, RC: {:?})", u.packet_id, codes(&u.reasons));
        }
        Packet::Disconnect(d) => {
            let _ = write!(s, " ({})", d.reason.get());
        }
        Packet::Auth(a) => {
            let _ = write!(s, " ({})", a.reason.get());
        }
        Packet::Pingreq | Packet::Pingresp => {}
    }
    s
}

/// SUBACK/UNSUBACK codes as mosquitto lists them: the bare numbers.
fn codes(reasons: &[ReasonCode]) -> Vec<u8> {
    reasons.iter().map(|r| r.get()).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::protocol::{Ack, MessageProperties, Publish, QoS, Suback};

    #[test]
    fn publish_and_ack_look_like_mosquitto() {
        let p = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: true,
            topic: Arc::from("a/b"),
            packet_id: 7,
            payload: Bytes::from_static(b"hello"),
            properties: MessageProperties::default(),
            topic_alias: None,
            subscription_ids: Vec::new(),
        });
        assert_eq!(summary(&p), "PUBLISH (d0, q1, r1, m7, 'a/b', ... (5 bytes))");
        assert_eq!(summary(&Packet::Puback(Ack::success(7))), "PUBACK (Mid: 7, RC:0)");
        let suback = Suback {
            packet_id: 3,
            reasons: vec![ReasonCode::GRANTED_QOS_1, ReasonCode::NOT_AUTHORIZED],
            reason_string: None,
        };
        assert_eq!(summary(&Packet::Suback(suback)), "SUBACK (Mid: 3, RC: [1, 135])");
        assert_eq!(summary(&Packet::Pingreq), "PINGREQ");
    }
}
