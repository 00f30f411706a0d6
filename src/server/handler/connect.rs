//! CONNECT and DISCONNECT: check the keep alive and will topic against the limits, authenticate
//! and admit a client, attach its session, say goodbye.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::BytesMut;

use super::{Close, ConnState, Pending};
use crate::auth::login::FAILED_LOGIN_DELAY;
use crate::protocol::{Connack, ConnackProperties, Connect, Disconnect, Packet, ReasonCode, Version};
use crate::server::admin;
use crate::server::broker::aliases::OutAliases;
use crate::server::broker::clock;
use crate::server::broker::ConnLink;
use crate::server::context::ListenerContext;
use crate::server::metrics::{add, ConnStats};
use crate::server::peer::Peer;
use crate::server::rate::PublishBudget;

/// A CONNECT the broker turns down, with the CONNACK that says why.
#[derive(Debug)]
pub struct Refusal {
    /// Version to encode the CONNACK in.
    pub version: Version,
    /// Client identifier, as sent.
    pub client_id: Arc<str>,
    /// The refusing CONNACK.
    pub connack: Connack,
    /// What to log.
    pub detail: String,
    /// The client's Maximum Packet Size, which the CONNACK must fit [MQTT-3.1.2-24].
    pub max_packet_size: usize,
}

/// The largest packet `connect`'s client accepts.
fn client_max_packet_size(connect: &Connect) -> usize {
    connect.maximum_packet_size.map_or(usize::MAX, |m| m as usize)
}

fn refuse(connect: &Connect, code: ReasonCode, detail: &str) -> Box<Refusal> {
    Box::new(Refusal {
        version: connect.version,
        client_id: connect.client_id.clone(),
        connack: Connack {
            session_present: false,
            reason: code,
            properties: ConnackProperties {
                reason_string: connect.request_problem_info.then(|| detail.into()),
                ..Default::default()
            },
        },
        detail: detail.to_string(),
        max_packet_size: client_max_packet_size(connect),
    })
}

/// A connection limit that turned a connection away when it was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtLimit {
    /// `limits.max_connections`, over all listeners.
    MaxConnections,
    /// The listener's own `max_connections`.
    ListenerMaxConnections,
    /// `limits.max_connections_per_second`.
    ConnectionRate,
}

impl AtLimit {
    /// What was exceeded, for log lines and reason strings.
    pub fn describe(self) -> &'static str {
        match self {
            AtLimit::MaxConnections => "limits.max_connections reached",
            AtLimit::ListenerMaxConnections => "the listener's max_connections reached",
            AtLimit::ConnectionRate => "limits.max_connections_per_second exceeded",
        }
    }
}

/// The CONNACK for a client turned away at accept, so that it learns why instead of seeing
/// the connection drop: v5 quota exceeded (0x97) for a connection limit, connection rate
/// exceeded (0x9F) for the rate (v5 section 3.2.2.2); 3.1.1 has no such codes and gets 0x03,
/// server unavailable, for both (the encoder's mapping).
pub fn refuse_at_limit(connect: &Connect, limit: AtLimit) -> Box<Refusal> {
    let code = match limit {
        AtLimit::MaxConnections | AtLimit::ListenerMaxConnections => ReasonCode::QUOTA_EXCEEDED,
        AtLimit::ConnectionRate => ReasonCode::CONNECTION_RATE_EXCEEDED,
    };
    refuse(connect, code, limit.describe())
}

/// Admits a client: authenticates it (see [`crate::auth::login`] for the rules), checks the
/// CONNECT and its will against the ACL, attaches the session (taking it over if needed) and
/// queues the CONNACK as the first packet of the returned state.
///
/// A failed login is logged at warn (address, client id, user name; never the password) and
/// answered only after [`FAILED_LOGIN_DELAY`]: this connection's task sleeps, nothing else
/// waits. A persistent session created by another user is not resumed but replaced, so no
/// user inherits another's subscriptions and queued messages.
pub async fn accept(
    ctx: &ListenerContext,
    mut connect: Connect,
    peer: Peer,
    identity: Option<Arc<str>>,
) -> Result<ConnState, Box<Refusal>> {
    let limits = &ctx.limits;
    let v5 = connect.version.is_v5();
    if connect.auth_method.is_some() {
        return Err(refuse(
            &connect,
            ReasonCode::BAD_AUTH_METHOD,
            "enhanced authentication is not supported",
        ));
    }
    // The limits come before the login: refusing costs nothing, a password check does.
    let keep_alive = granted_keep_alive(ctx, &connect)?;
    if let Some(will) = &connect.will {
        if let Some(why) = limits.topic_refusal(&will.topic, &will.topic) {
            add(&ctx.broker.metrics.limits.topic_refused, 1);
            // v5 has a CONNACK code for a will topic the server does not accept; 3.1.1 gets
            // "not authorized", as for a will topic the ACL refuses.
            let code = if v5 {
                ReasonCode::TOPIC_NAME_INVALID
            } else {
                ReasonCode::NOT_AUTHORIZED
            };
            return Err(refuse(&connect, code, why));
        }
    }
    // v5 [MQTT-3.1.4-2]: authentication and authorization checks, a failure closes the
    // connection after a CONNACK of 0x86 or 0x87 [MQTT-3.2.2-7]; 3.1.1 return codes 4 and 5.
    let verified = identity.is_some();
    if let Some(name) = identity {
        // The verified client certificate is the credential (Mosquitto's
        // use_identity_as_username): its Common Name replaces the user name and password sent.
        connect.username = Some(name);
        connect.password = None;
    }
    let username = connect.username.as_deref();
    let login = if verified {
        Ok(())
    } else {
        ctx.auth
            .login(username, connect.password.as_ref(), ctx.allow_anonymous)
            .await
    };
    if let Err(refused) = login {
        add(&ctx.broker.metrics.auth_failures, 1);
        tracing::warn!(
            %peer,
            client_id = %connect.client_id,
            username = username.unwrap_or(""),
            "login failed: {}",
            refused.detail
        );
        tokio::time::sleep(FAILED_LOGIN_DELAY).await;
        return Err(refuse(&connect, refused.reason, refused.detail));
    }
    if connect
        .will
        .as_ref()
        .is_some_and(|w| admin::is_admin_topic(&w.topic))
    {
        // A will there could pose as an admin reply.
        return Err(refuse(
            &connect,
            ReasonCode::NOT_AUTHORIZED,
            "a will cannot be published on the admin topics",
        ));
    }
    let mut assigned = None;
    let client_id = if connect.client_id.is_empty() {
        // [MQTT-3.1.3-8] 3.1.1 only allows an empty id with a clean session; v5 gets one assigned
        if !v5 && (!connect.clean_start || connect.version == Version::V3_1) {
            return Err(refuse(
                &connect,
                ReasonCode::CLIENT_ID_NOT_VALID,
                "empty client identifier without clean session",
            ));
        }
        let id = ctx.broker.assign_client_id();
        assigned = Some(id.clone());
        id
    } else {
        connect.client_id.clone()
    };
    if super::bridge_side::is_bridge_client(&client_id) && !ctx.bridges {
        // The bridges' own sessions: a client taking one over would take their queues.
        return Err(refuse(
            &connect,
            ReasonCode::CLIENT_ID_NOT_VALID,
            "client identifiers starting with $bridge/ are reserved for the broker's bridges",
        ));
    }
    if let Some(will) = &connect.will {
        if !ctx.auth.may_write_as(username, &client_id, &will.topic) {
            add(&ctx.broker.metrics.publish_denied, 1);
            return Err(refuse(
                &connect,
                ReasonCode::NOT_AUTHORIZED,
                "the ACL does not allow publishing on the will topic",
            ));
        }
    }
    // [MQTT-3.1.4-3] a connection holding the session goes first, having handled what it
    // had already received; only then is it known what is left of the session.
    ctx.broker.take_over(&client_id).await;
    let mut clean_start = connect.clean_start;
    if !clean_start && ctx.auth.owned_by_another(&client_id, username) {
        tracing::info!(client_id = %client_id, %peer, "the session belongs to another user; starting a new one");
        clean_start = true;
    }
    let expiry = if v5 {
        connect.session_expiry
    } else if connect.clean_start {
        0
    } else {
        u32::MAX
    };
    let server_keep_alive = (keep_alive != connect.keep_alive).then_some(keep_alive);
    let max_packet_size = client_max_packet_size(&connect);
    let connection_id = ctx.broker.next_connection_id();
    let budget = PublishBudget::new(limits.max_publish_rate, limits.max_publish_bytes_rate);
    let stats = ConnStats::new(
        peer,
        clock::now_ms(),
        keep_alive,
        connect.clean_start,
        budget,
        ctx.broker.clock_ms(),
    );
    let attached = ctx.broker.attach(
        &client_id,
        clean_start,
        expiry,
        connect.will.as_ref(),
        ConnLink {
            id: connection_id,
            version: connect.version,
            // The client's Receive Maximum (3.1.1 has none) bounds what is sent to it
            // unacknowledged, and so does max_inflight, as Mosquitto's max_inflight_messages
            // does: a session's window is never more than the broker allows.
            receive_maximum: connect.receive_maximum.min(limits.receive_maximum),
            max_packet_size,
            stats: stats.clone(),
            username: connect.username.clone(),
            aliases: OutAliases::new(connect.topic_alias_maximum),
            rename: None,
        },
    );
    ctx.auth
        .register(&client_id, attached.session.clone(), connect.username.clone());
    ctx.broker.metrics.client_connected();
    tracing::info!(
        client_id = %client_id,
        %peer,
        version = %connect.version,
        clean_start = connect.clean_start,
        keep_alive = connect.keep_alive,
        session_present = attached.session_present,
        "client connected"
    );
    let properties = if v5 {
        ConnackProperties {
            receive_maximum: Some(limits.receive_maximum),
            retain_available: Some(true),
            maximum_packet_size: Some(limits.max_packet_size.min(u32::MAX as usize) as u32),
            assigned_client_id: assigned,
            topic_alias_maximum: Some(limits.topic_alias_maximum),
            wildcard_subscription_available: Some(true),
            subscription_ids_available: Some(true),
            shared_subscription_available: Some(true),
            server_keep_alive,
            // A base for response topics, given to clients that ask for one (v5 4.10)
            response_information: connect
                .request_response_info
                .then(|| Arc::from(format!("response/{client_id}"))),
            ..Default::default()
        }
    } else {
        ConnackProperties::default()
    };
    let mut conn = ConnState {
        version: connect.version,
        client_id,
        session: attached.session,
        session_present: attached.session_present,
        generation: attached.generation,
        connection_id,
        will: connect.will.map(Box::new),
        connect_session_expiry: connect.session_expiry,
        problem_info: connect.request_problem_info,
        max_packet_size,
        topic_aliases: None,
        out: BytesMut::new(),
        pending: VecDeque::new(),
        connack_gate: Some(attached.gate.clone()),
        packets_sent: 0,
        stats,
        topics: Default::default(),
        paced_on: Vec::new(),
        input_held: false,
        peer_is_bridge: connect.bridge,
        bridge: None,
    };
    // CONNACK goes out once the session record is committed (durability contract).
    conn.pending.push_back(Pending {
        gate: Some(attached.gate),
        packets: vec![Packet::Connack(Connack {
            session_present: attached.session_present,
            reason: ReasonCode::SUCCESS,
            properties,
        })],
        deliveries: Vec::new(),
        after_room: false,
    });
    Ok(conn)
}

/// The keep alive the connection gets: the client's, or the nearest of `min_keepalive` and
/// `max_keepalive` when it is outside them (a keep alive of 0, none, is below any floor).
///
/// A v5 client is told the new value as Server Keep Alive, which it must use instead
/// [MQTT-3.2.2-21]. A 3.1.1 client cannot be told, and would be disconnected for a silence it
/// thinks allowed (or ping more often than the server wants), so it is refused with return
/// code 2, identifier rejected, as Mosquitto does for its `max_keepalive`.
fn granted_keep_alive(ctx: &ListenerContext, connect: &Connect) -> Result<u16, Box<Refusal>> {
    let limits = &ctx.limits;
    let asked = connect.keep_alive;
    // Not `clamp`, which panics if settings built in code put the floor above the ceiling.
    let granted = asked.max(limits.min_keepalive).min(limits.max_keepalive);
    if granted == asked {
        return Ok(asked);
    }
    let counters = &ctx.broker.metrics.limits;
    if connect.version.is_v5() {
        add(&counters.keepalive_adjusted, 1);
        return Ok(granted);
    }
    add(&counters.keepalive_refused, 1);
    let detail = format!(
        "keep alive of {asked} s is outside the server's bounds ({} to {} s, limits.min_keepalive and limits.max_keepalive)",
        limits.min_keepalive, limits.max_keepalive
    );
    Err(refuse(connect, ReasonCode::CLIENT_ID_NOT_VALID, &detail))
}

/// DISCONNECT from the client.
pub fn handle_disconnect(conn: &mut ConnState, d: Disconnect) -> Result<(), Close> {
    if let Some(expiry) = d.session_expiry {
        // [MQTT-3.14.2-2] a session that was to end at disconnect cannot be extended here
        if conn.connect_session_expiry == 0 && expiry != 0 {
            return Err(Close::Error {
                reason: ReasonCode::PROTOCOL_ERROR,
                detail: "DISCONNECT sets a session expiry after CONNECT set none".into(),
            });
        }
        conn.session.set_expiry_interval(expiry);
    }
    Err(Close::Normal {
        with_will: d.reason == ReasonCode::DISCONNECT_WITH_WILL,
    })
}
