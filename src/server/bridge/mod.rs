//! Bridges: links to upstream brokers, local messages forwarded out and remote ones taken in.
//!
//! A bridge is a client of its remote broker and, on this side, a persistent session of its
//! own (client id `$bridge/<name>`, never expiring) subscribed to the "out" filters. Messages
//! for the remote are queued in that session like any persistent session's, in the store, and
//! leave it only when the remote acknowledges them, so outages of the remote and crashes here
//! lose nothing acknowledged. While the link is up, it is served by the same connection loop
//! as a client's, with the roles of the two peers swapped where they differ: the bridge sends
//! CONNECT, SUBSCRIBE and PINGREQ and takes their answers (see [`from_remote`]); PUBLISH and
//! the acknowledgements are the same in both directions. What the remote sends for the "in"
//! filters is published here with the bridge as the publisher, and the bridge's own
//! subscriptions are "no local": nothing that came in through a bridge goes back out through it.

pub mod link;
pub mod status;
pub mod topics;

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::time::Instant;

use crate::protocol::{reason, Ack, Packet, QoS};
use crate::server::context::ListenerContext;
use crate::server::handler::{self, Close, ConnState};
use topics::Rules;

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
            let refused = s
                .reasons
                .iter()
                .filter(|&&r| r >= reason::UNSPECIFIED_ERROR)
                .count();
            if refused > 0 {
                tracing::warn!(
                    bridge = %side.name,
                    refused,
                    reason = reason::describe(s.reasons.iter().copied().find(|&r| r >= 0x80).unwrap_or(0x80)),
                    "the remote refused some of the bridge's \"in\" subscriptions"
                );
            }
            Ok(())
        }
        Packet::Unsuback(_) => Ok(()),
        Packet::Disconnect(d) => Err(Close::Error {
            reason: reason::SUCCESS,
            detail: format!(
                "the remote disconnected: {}{}",
                reason::describe(d.reason),
                d.reason_string.map(|s| format!(" ({s})")).unwrap_or_default()
            ),
        }),
        other => Err(Close::Error {
            reason: reason::PROTOCOL_ERROR,
            detail: format!("{} is not sent by servers", other.name()),
        }),
    }
}
