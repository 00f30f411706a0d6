//! SUBSCRIBE and UNSUBSCRIBE: change the session's subscriptions (as far as the topic and
//! subscription limits and the ACL allow), send retained messages (those the client may read).

use super::{Close, ConnState};
use crate::protocol::{topic, Packet, ReasonCode, Suback, Subscribe, Unsuback, Unsubscribe};
use crate::server::broker::{Changes, Delivery, Subscription};
use crate::server::context::ListenerContext;
use crate::server::metrics::add;

/// Handles SUBSCRIBE: one reason code per filter, then the matching retained messages.
///
/// A refused filter changes nothing, and the others in the same packet are handled as usual.
/// v5 hears why: 0x8F topic filter invalid for a filter over `max_topic_length` or
/// `max_topic_levels`, 0x87 not authorized when the ACL refuses it, 0x97 quota exceeded when
/// the session already holds `max_subscriptions_per_client` (replacing one of them is always
/// allowed); 3.1.1 gets 0x80, failure, for each.
pub fn handle_subscribe(ctx: &ListenerContext, conn: &mut ConnState, s: Subscribe) -> Result<(), Close> {
    let broker = &ctx.broker;
    let mut reasons = Vec::with_capacity(s.filters.len());
    let mut retained = Vec::new();
    let mut problem = None;
    let mut changes = Changes::default();
    for (filter, options) in &s.filters {
        let mut options = *options;
        if conn.peer_is_bridge && !conn.version.is_v5() {
            // Another broker's 3.1.1 bridge cannot ask for these itself; without them a "both"
            // bridge would get its own messages back. (No local is not for shared
            // subscriptions [MQTT-3.8.3-4].)
            options.no_local = !filter.starts_with("$share/");
            options.retain_as_published = true;
        }
        let options = &options;
        let Some(parsed) = topic::parse_filter(filter) else {
            problem = Some(format!("invalid shared subscription filter {filter:?}"));
            reasons.push(ReasonCode::TOPIC_FILTER_INVALID);
            continue;
        };
        if parsed.share_group.is_some() && options.no_local {
            // [MQTT-3.8.3-4] no local on a shared subscription is a protocol error
            return Err(Close::Error {
                reason: ReasonCode::PROTOCOL_ERROR,
                detail: format!("no local on shared subscription {filter}"),
            });
        }
        if let Some(why) = ctx.limits.topic_refusal(filter, parsed.filter) {
            add(&broker.metrics.limits.topic_refused, 1);
            tracing::debug!(client_id = %conn.client_id, length = filter.len(), "subscription refused: {why}");
            problem = Some(why.to_string());
            reasons.push(ReasonCode::TOPIC_FILTER_INVALID);
            continue;
        }
        if !ctx.may_subscribe(&conn.session, parsed.filter) {
            add(&broker.metrics.subscribe_denied, 1);
            tracing::debug!(client_id = %conn.client_id, filter = &**filter, "subscription refused by the ACL");
            problem = Some(format!("not authorized to subscribe to {filter}"));
            reasons.push(ReasonCode::NOT_AUTHORIZED);
            continue;
        }
        if !has_room(ctx, conn, filter) {
            add(&broker.metrics.limits.subscriptions_refused, 1);
            tracing::debug!(
                client_id = %conn.client_id,
                filter = &**filter,
                "subscription refused: max_subscriptions_per_client reached"
            );
            problem = Some(format!(
                "the session already holds {} subscriptions (limits.max_subscriptions_per_client)",
                ctx.limits.max_subscriptions
            ));
            reasons.push(ReasonCode::QUOTA_EXCEEDED);
            continue;
        }
        let subscription = Subscription {
            options: *options,
            id: s.subscription_id,
        };
        let existed = broker.subscribe(&conn.session, filter, subscription, &mut changes);
        for message in broker.retained_for(filter, options, existed) {
            // Read access is checked on each message, as for live deliveries.
            if !ctx.may_read(&conn.session, &message.topic) {
                continue;
            }
            let qos = message.qos.min(options.qos);
            // [MQTT-3.3.1-9] retained messages sent for a new subscription carry RETAIN
            retained.push(Delivery::new(
                message,
                qos,
                true,
                s.subscription_id.into_iter().collect(),
            ));
        }
        // [MQTT-3.9.3-] granted QoS is the requested QoS: every QoS is supported
        reasons.push(ReasonCode::granted(options.qos));
    }
    let suback = Packet::Suback(Suback {
        packet_id: s.packet_id,
        reasons,
        reason_string: problem.and_then(|p| conn.reason_string(&p)),
    });
    // SUBACK promises the subscription is stored; retained messages follow it.
    let gate = broker.commit_changes(changes, Some(&conn.session));
    conn.respond_after(gate, vec![suback], retained);
    Ok(())
}

/// Whether the session may subscribe to `filter`: it has room for one more subscription, or
/// already holds this one (a new SUBSCRIBE replaces it [MQTT-3.8.4-3]).
fn has_room(ctx: &ListenerContext, conn: &ConnState, filter: &str) -> bool {
    conn.session.has_room_for(filter, ctx.limits.max_subscriptions)
}

/// Handles UNSUBSCRIBE.
pub fn handle_unsubscribe(ctx: &ListenerContext, conn: &mut ConnState, u: Unsubscribe) -> Result<(), Close> {
    let mut changes = Changes::default();
    let reasons = u
        .filters
        .iter()
        .map(|filter| {
            if ctx.broker.unsubscribe(&conn.session, filter, &mut changes) {
                ReasonCode::SUCCESS
            } else {
                ReasonCode::NO_SUBSCRIPTION_EXISTED
            }
        })
        .collect();
    let unsuback = Packet::Unsuback(Unsuback {
        packet_id: u.packet_id,
        reasons,
    });
    let gate = ctx.broker.commit_changes(changes, Some(&conn.session));
    conn.respond_after(gate, vec![unsuback], Vec::new());
    Ok(())
}
