//! PUBLISH from a client: resolve the topic alias, check it (and the ACL's write access), route
//! it (or hand an admin request to the admin API), acknowledge it.

use super::{Close, ConnState};
use crate::protocol::{reason, Ack, Packet, Publish, QoS};
use crate::server::admin;
use crate::server::broker::Message;
use crate::server::context::ListenerContext;
use crate::server::metrics::{add, add_own};
use crate::server::persist::Gate;
use crate::store::Op;

/// Handles a client's PUBLISH.
///
/// A topic the ACL does not let the client write is not routed: v5 gets PUBACK/PUBREC 0x87;
/// 3.1.1, which has no way to say so, gets its normal acknowledgement [MQTT-3.3.5-2].
pub fn handle_publish(ctx: &ListenerContext, st: &mut ConnState, mut p: Publish) -> Result<(), Close> {
    add(&ctx.broker.metrics.publish_received[p.qos as usize], 1);
    add_own(&st.stats.messages_in, 1);
    resolve_topic_alias(ctx, st, &mut p)?;
    let packet_id = p.packet_id;
    let qos = p.qos;
    let mut extra_ops = Vec::new();
    if qos == QoS::ExactlyOnce {
        let mut session = st.session.lock();
        if !session.incoming_qos2.insert(packet_id) {
            // A retransmission of a message already routed: acknowledge, do not deliver again
            // [MQTT-4.3.3-10].
            drop(session);
            st.respond(Packet::Pubrec(Ack::success(packet_id)));
            return Ok(());
        }
        if session.incoming_qos2.len() > ctx.limits.receive_maximum as usize {
            // [MQTT-3.3.4-9] more unacknowledged QoS 2 publishes than our receive maximum
            return Err(Close::Error {
                reason: reason::RECEIVE_MAXIMUM_EXCEEDED,
                detail: format!(
                    "more than {} QoS 2 messages awaiting PUBREL",
                    ctx.limits.receive_maximum
                ),
            });
        }
        if session.is_durable() {
            // Remembered across a restart, so a retransmission then is not delivered twice.
            extra_ops.push(Op::PutIncomingQos2 {
                client_id: st.client_id.to_string(),
                packet_id,
            });
        }
    }
    let mut why = None;
    let mut gate = None;
    let code = if p.topic.starts_with("$SYS") {
        // The $SYS tree belongs to the broker.
        why = Some("the $SYS topic tree is reserved for the broker");
        reason::NOT_AUTHORIZED
    } else if admin::is_admin_topic(&p.topic) {
        // A request to the broker itself: answered, never routed to subscribers.
        let handled = admin::handle_request(ctx, st, &p);
        why = handled.why;
        if handled.reason < 0x80 && !extra_ops.is_empty() {
            let g = Gate::new();
            ctx.broker
                .commit(extra_ops, Some(g.clone()), vec![st.session.clone()]);
            gate = Some(g);
        }
        handled.reason
    } else if !ctx.may_publish(&st.session, &p.topic) {
        add(&ctx.broker.metrics.publish_denied, 1);
        tracing::debug!(client_id = %st.client_id, topic = &*p.topic, "publish refused by the ACL");
        why = Some("not authorized to publish on this topic");
        reason::NOT_AUTHORIZED
    } else {
        st.topics.record(&ctx.admin.topics, &p.topic, p.payload.len());
        let message = Message::from_publish(p, Some(st.client_id.clone()));
        let published = ctx.broker.publish(message, extra_ops, Some(&st.session));
        gate = published.gate;
        if published.delivered == 0 && published.dropped > 0 {
            // Subscribers exist but none could take it: their queues are full.
            why = Some("every matching subscriber's queue is full");
            reason::QUOTA_EXCEEDED
        } else if published.delivered == 0 {
            reason::NO_MATCHING_SUBSCRIBERS
        } else {
            reason::SUCCESS
        }
    };
    let ack = Ack {
        packet_id,
        reason: code,
        reason_string: why.and_then(|w| st.reason_string(w)),
    };
    // The acknowledgement waits for the commit of everything it promises (durability contract).
    match qos {
        QoS::AtMostOnce => {}
        QoS::AtLeastOnce => st.respond_after(gate, vec![Packet::Puback(ack)], Vec::new()),
        QoS::ExactlyOnce => {
            if code >= 0x80 {
                st.session.lock().incoming_qos2.remove(&packet_id);
            }
            st.respond_after(gate, vec![Packet::Pubrec(ack)], Vec::new());
        }
    }
    Ok(())
}

/// Replaces an alias-only topic with the topic the alias stands for, or records a new alias
/// [MQTT-3.3.2-7] .. [MQTT-3.3.2-12].
fn resolve_topic_alias(ctx: &ListenerContext, st: &mut ConnState, p: &mut Publish) -> Result<(), Close> {
    let Some(alias) = p.topic_alias.take() else {
        if p.topic.is_empty() {
            return Err(Close::Error {
                reason: reason::PROTOCOL_ERROR,
                detail: "PUBLISH with an empty topic and no topic alias".into(),
            });
        }
        return Ok(());
    };
    if alias == 0 || alias > ctx.limits.topic_alias_maximum {
        return Err(Close::Error {
            reason: reason::TOPIC_ALIAS_INVALID,
            detail: format!(
                "topic alias {alias} is outside 1..={}",
                ctx.limits.topic_alias_maximum
            ),
        });
    }
    if p.topic.is_empty() {
        match st.topic_aliases.get(&alias) {
            Some(topic) => p.topic = topic.clone(),
            None => {
                return Err(Close::Error {
                    reason: reason::PROTOCOL_ERROR,
                    detail: format!("topic alias {alias} was never set"),
                })
            }
        }
    } else {
        st.topic_aliases.insert(alias, p.topic.clone());
    }
    Ok(())
}
