//! PUBLISH from a client: resolve the topic alias, check the topic and rate limits and the ACL's
//! write access, route it (or hand an admin request to the admin API), acknowledge it.

use super::{unstored, Close, ConnState};
use crate::config::PublishRateAction;
use crate::protocol::{Ack, Packet, Publish, QoS, ReasonCode};
use crate::server::admin;
use crate::server::broker::{Changes, Message, Qos2Received};
use crate::server::context::ListenerContext;
use crate::server::metrics::{add, add_own};

/// Handles a client's PUBLISH.
///
/// A message the broker does not accept is not routed, and a v5 client publishing at QoS 1 or
/// 2 hears why in its PUBACK/PUBREC: 0x90 topic name invalid for a topic over
/// `max_topic_length` or `max_topic_levels`, 0x97 quota exceeded for a client over
/// `max_publish_rate` or `max_publish_bytes_rate`, 0x87 not authorized for a topic the ACL
/// does not let it write. 0x96 (message rate too high) would say it better but is a
/// DISCONNECT reason only; PUBACK must use one of its own [MQTT-3.4.2-1], among which 0x97 is
/// the one for "an implementation or administrative imposed limit". With
/// `publish_rate_action = "disconnect"` a client over its rate is disconnected instead, v5
/// with DISCONNECT 0x96. 3.1.1, which has no way to say so, gets its normal
/// acknowledgement, as the spec allows for a refused PUBLISH [MQTT-3.3.5-2]; QoS 0 messages
/// are dropped silently. Every refusal is counted. A message the store cannot keep while the
/// disk is full is refused with 0x97 too; 3.1.1, which cannot refuse, has its connection closed
/// with the message unacknowledged (see `unstored`): a retained one here, before it replaces
/// the retained message in memory; one for persistent sessions once its commit fails.
pub fn handle_publish(ctx: &ListenerContext, conn: &mut ConnState, mut p: Publish) -> Result<(), Close> {
    add(&ctx.broker.metrics.publish_received[p.qos as usize], 1);
    add_own(&conn.stats.messages_in, 1);
    // Checked before a topic alias is recorded, so that the alias table never holds a topic
    // over the limits (an alias-only PUBLISH reuses a topic that was checked when set).
    let topic_refused = if p.topic.is_empty() {
        None
    } else {
        ctx.limits.topic_refusal(&p.topic, &p.topic)
    };
    if topic_refused.is_none() {
        resolve_topic_alias(ctx, conn, &mut p)?;
    }
    let packet_id = p.packet_id;
    let qos = p.qos;
    let mut changes = Changes::default();
    if qos == QoS::ExactlyOnce {
        let receive_maximum = ctx.limits.receive_maximum as usize;
        match ctx
            .broker
            .qos2_received(&conn.session, packet_id, receive_maximum)
        {
            Qos2Received::New(remembered) => changes = remembered,
            Qos2Received::Duplicate => {
                // A retransmission of a message already routed: acknowledge, do not deliver
                // again [MQTT-4.3.3-10].
                conn.respond(Packet::Pubrec(Ack::success(packet_id)));
                return Ok(());
            }
            Qos2Received::TooMany => {
                // [MQTT-3.3.4-9] more unacknowledged QoS 2 publishes than our receive maximum
                add(&ctx.broker.metrics.limits.inflight_exceeded, 1);
                return Err(Close::Error {
                    reason: ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
                    detail: format!(
                        "more than {} QoS 2 messages awaiting PUBREL",
                        ctx.limits.receive_maximum
                    ),
                });
            }
        }
    }
    let mut why = None;
    let mut gate = None;
    let mut disk_full = false;
    // Whether the QoS 2 packet id's record went to the store with the message.
    let mut recorded = false;
    let code = if let Some(problem) = topic_refused {
        add(&ctx.broker.metrics.limits.topic_refused, 1);
        tracing::debug!(client_id = %conn.client_id, length = p.topic.len(), "publish refused: {problem}");
        why = Some(problem);
        ReasonCode::TOPIC_NAME_INVALID
    } else if conn
        .stats
        .publish_budget
        .as_ref()
        .is_some_and(|budget| !budget.admit(p.payload.len()))
    {
        add(&ctx.broker.metrics.limits.publish_rate_exceeded, 1);
        if ctx.limits.publish_rate_action == PublishRateAction::Disconnect {
            // Not received: the same QoS 2 message sent again after a reconnect is a new one.
            if qos == QoS::ExactlyOnce {
                ctx.broker.qos2_refused(&conn.session, packet_id, false);
            }
            return Err(Close::Error {
                reason: ReasonCode::MESSAGE_RATE_TOO_HIGH,
                detail: "publishing faster than limits.max_publish_rate / max_publish_bytes_rate allow"
                    .into(),
            });
        }
        if conn
            .stats
            .publish_budget
            .as_ref()
            .is_some_and(|budget| budget.first_refusal())
        {
            tracing::info!(
                client_id = %conn.client_id,
                peer = %conn.stats.peer,
                "client publishes faster than limits.max_publish_rate / max_publish_bytes_rate allow; dropping what is over"
            );
        }
        why = Some("message rate too high (limits.max_publish_rate or max_publish_bytes_rate)");
        ReasonCode::QUOTA_EXCEEDED
    } else if p.topic.starts_with("$SYS") {
        // The $SYS tree belongs to the broker.
        why = Some("the $SYS topic tree is reserved for the broker");
        ReasonCode::NOT_AUTHORIZED
    } else if admin::is_admin_topic(&p.topic) {
        // A request to the broker itself: answered, never routed to subscribers.
        let requester = admin::Requester {
            client_id: &conn.client_id,
            peer: &conn.stats.peer,
            permission: admin::permission(
                ctx.auth.has_acl(),
                || ctx.may_publish(&conn.session, &p.topic),
                &conn.stats.peer,
            ),
            max_packet_size: conn.max_packet_size,
        };
        let handled = admin::handle_request(&ctx.broker, &ctx.admin, &requester, &p);
        why = handled.why;
        if !handled.reason.is_error() && !changes.is_empty() {
            recorded = true;
            gate = ctx.broker.commit_changes(changes, Some(&conn.session));
        }
        handled.reason
    } else if !ctx.may_publish(&conn.session, &p.topic) {
        add(&ctx.broker.metrics.publish_denied, 1);
        tracing::debug!(client_id = %conn.client_id, topic = &*p.topic, "publish refused by the ACL");
        why = Some("not authorized to publish on this topic");
        ReasonCode::NOT_AUTHORIZED
    } else if p.retain && ctx.broker.store_full() {
        // A retained message is always stored: refused before it replaces the one in memory,
        // which the store would still hold after a restart.
        if let Some(store) = ctx.broker.store() {
            store.count_refusal();
        }
        disk_full = true;
        why = Some(unstored::WHY);
        ReasonCode::QUOTA_EXCEEDED
    } else {
        conn.topics.record(&ctx.admin.topics, &p.topic, p.payload.len());
        let message = Message::from_publish(p, Some(conn.client_id.clone()));
        recorded = !changes.is_empty();
        let published = ctx.broker.publish(message, changes, Some(&conn.session));
        gate = published.gate;
        conn.paced_on.extend(published.paced);
        if published.delivered == 0 && published.dropped > 0 {
            // Subscribers exist but none could take it: their queues are full.
            why = Some("every matching subscriber's queue is full");
            ReasonCode::QUOTA_EXCEEDED
        } else if published.delivered == 0 {
            ReasonCode::NO_MATCHING_SUBSCRIBERS
        } else {
            ReasonCode::SUCCESS
        }
    };
    let ack = Ack {
        packet_id,
        reason: code,
        reason_string: why.and_then(|w| conn.reason_string(w)),
    };
    if disk_full && !conn.version.is_v5() {
        // 3.1.1 cannot refuse: the connection closes, nothing acknowledged [MQTT-4.8.0-2].
        ctx.broker.qos2_refused(&conn.session, packet_id, false);
        return Err(unstored::transient_error());
    }
    // The acknowledgement waits for the commit of everything it promises (durability contract).
    match qos {
        QoS::AtMostOnce => {}
        QoS::AtLeastOnce => conn.respond_when_room(gate, vec![Packet::Puback(ack)]),
        QoS::ExactlyOnce => {
            if code.is_error() {
                // Committed after the message's own commit, so its gate covers both.
                if let Some(forgotten) = ctx.broker.qos2_refused(&conn.session, packet_id, recorded) {
                    gate = Some(forgotten);
                }
            }
            conn.respond_when_room(gate, vec![Packet::Pubrec(ack)]);
        }
    }
    Ok(())
}

/// Replaces an alias-only topic with the topic the alias stands for, or records a new alias
/// [MQTT-3.3.2-7] .. [MQTT-3.3.2-12].
fn resolve_topic_alias(ctx: &ListenerContext, conn: &mut ConnState, p: &mut Publish) -> Result<(), Close> {
    let Some(alias) = p.topic_alias.take() else {
        if p.topic.is_empty() {
            return Err(Close::Error {
                reason: ReasonCode::PROTOCOL_ERROR,
                detail: "PUBLISH with an empty topic and no topic alias".into(),
            });
        }
        return Ok(());
    };
    if alias == 0 || alias > ctx.limits.topic_alias_maximum {
        return Err(Close::Error {
            reason: ReasonCode::TOPIC_ALIAS_INVALID,
            detail: format!(
                "topic alias {alias} is outside 1..={}",
                ctx.limits.topic_alias_maximum
            ),
        });
    }
    if p.topic.is_empty() {
        match conn
            .topic_aliases
            .as_ref()
            .and_then(|aliases| aliases.get(&alias))
        {
            Some(topic) => p.topic = topic.clone(),
            None => {
                return Err(Close::Error {
                    reason: ReasonCode::PROTOCOL_ERROR,
                    detail: format!("topic alias {alias} was never set"),
                })
            }
        }
    } else {
        conn.topic_aliases
            .get_or_insert_with(Default::default)
            .insert(alias, p.topic.clone());
    }
    Ok(())
}
