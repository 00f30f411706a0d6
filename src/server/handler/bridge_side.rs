//! The handler side of a bridge's link to its remote: the connection is a client there, so
//! it takes CONNACK, SUBACK and PINGRESP, sends PINGREQ, and names incoming messages locally.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::time::Instant;

use super::{Close, ConnState};
use crate::protocol::{Ack, Packet, QoS, ReasonCode};
use crate::server::broker::bridge_rules::Rules;
use crate::server::context::ListenerContext;
use crate::server::handler;

/// Client ids of the bridges' own sessions start with this; clients cannot take them.
pub const CLIENT_ID_PREFIX: &str = "$bridge/";

/// Whether `client_id` is a bridge's own session.
pub fn is_bridge_client(client_id: &str) -> bool {
    client_id.starts_with(CLIENT_ID_PREFIX)
}

/// What the state of a connection holds when it is a bridge's link to its remote.
#[derive(Debug)]
pub struct Side {
    /// The bridge's name, for logs.
    pub name: Arc<str>,
    /// Its topic rules, to name incoming messages locally.
    pub rules: Arc<Rules>,
    /// PINGREQ this often (half the keep alive); `None` when keep alive is off.
    pub ping_every: Option<Duration>,
    last_ping: Instant,
}

impl Side {
    /// The side of a link that just connected.
    pub fn new(name: Arc<str>, rules: Arc<Rules>, keepalive: Duration) -> Side {
        Side {
            name,
            rules,
            ping_every: (!keepalive.is_zero()).then(|| keepalive / 2),
            last_ping: Instant::now(),
        }
    }

    /// Queues a PINGREQ when one is due: the remote closes a client that is silent for its
    /// keep alive, and its PINGRESP tells this side that the remote is still there.
    pub fn ping_if_due(&mut self, out: &mut BytesMut) {
        let Some(every) = self.ping_every else { return };
        let now = Instant::now();
        if now.duration_since(self.last_ping) >= every {
            self.last_ping = now;
            out.extend_from_slice(&[0xC0, 0x00]);
        }
    }
}

/// Handles a packet the remote sent on a bridge's link.
pub fn from_remote(ctx: &ListenerContext, conn: &mut ConnState, packet: Packet) -> Result<(), Close> {
    let Some(side) = conn.bridge.as_deref() else {
        return handler::handle(ctx, conn, packet);
    };
    match packet {
        Packet::Publish(mut p) => {
            match side.rules.to_local(&p.topic) {
                Some(local) => {
                    p.topic = Arc::from(local);
                    handler::publish::handle_publish(ctx, conn, p)
                }
                None => {
                    // Not ours (a subscription the remote session kept from an older
                    // configuration): acknowledged so that the remote forgets it, and dropped.
                    tracing::debug!(bridge = %side.name, topic = &*p.topic, "message from the remote matches no \"in\" rule; dropped");
                    match p.qos {
                        QoS::AtMostOnce => {}
                        QoS::AtLeastOnce => conn.respond(Packet::Puback(Ack::success(p.packet_id))),
                        QoS::ExactlyOnce => {
                            // Its PUBREL then completes like any other's, with PUBCOMP 0x00.
                            ctx.broker.qos2_dropped(&conn.session, p.packet_id);
                            conn.respond(Packet::Pubrec(Ack::success(p.packet_id)));
                        }
                    }
                    Ok(())
                }
            }
        }
        Packet::Puback(a) => handler::ack::handle_puback(ctx, conn, a),
        Packet::Pubrec(a) => handler::ack::handle_pubrec(ctx, conn, a),
        Packet::Pubrel(a) => handler::ack::handle_pubrel(ctx, conn, a),
        Packet::Pubcomp(a) => handler::ack::handle_pubcomp(ctx, conn, a),
        Packet::Pingresp => Ok(()),
        Packet::Suback(s) => {
            let refused = s.reasons.iter().filter(|r| r.is_error()).count();
            if refused > 0 {
                tracing::warn!(
                    bridge = %side.name,
                    refused,
                    reason = s
                        .reasons
                        .iter()
                        .copied()
                        .find(|r| r.is_error())
                        .unwrap_or(ReasonCode::UNSPECIFIED_ERROR)
                        .description(),
                    "the remote refused some of the bridge's \"in\" subscriptions"
                );
            }
            Ok(())
        }
        Packet::Unsuback(_) => Ok(()),
        Packet::Disconnect(d) => Err(Close::Error {
            reason: ReasonCode::SUCCESS,
            detail: format!(
                "the remote disconnected: {}{}",
                d.reason.description(),
                d.reason_string.map(|s| format!(" ({s})")).unwrap_or_default()
            ),
        }),
        other => Err(Close::Error {
            reason: ReasonCode::PROTOCOL_ERROR,
            detail: format!("{} is not sent by servers", other.name()),
        }),
    }
}
