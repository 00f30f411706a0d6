//! What every connection of a listener shares: the broker, the limits, authentication and the
//! ACL, the shutdown signal.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use super::admin::Admin;
use super::broker::{Broker, Session};
use crate::auth::acl::Access;
use crate::auth::identity::owner_key;
use crate::auth::Auth;
use crate::config::PublishRateAction;

/// Per-connection limits taken from the configuration.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Largest packet accepted from a client, fixed header included.
    pub max_packet_size: usize,
    /// Receive maximum announced to v5 clients: QoS 1/2 publishes they may have unacknowledged.
    pub receive_maximum: u16,
    /// Keep alive floor: v5 clients asking for less (or for none) are told this as server
    /// keep alive, 3.1.1 clients are refused. 0 means no floor.
    pub min_keepalive: u16,
    /// Keep alive ceiling, announced as server keep alive to v5 clients that ask for more;
    /// 3.1.1 clients asking for more are refused.
    pub max_keepalive: u16,
    /// How long a new connection may take to send CONNECT.
    pub connect_timeout: Duration,
    /// Highest topic alias a client may use.
    pub topic_alias_maximum: u16,
    /// Longest topic name or filter, in bytes.
    pub max_topic_length: usize,
    /// Most levels in a topic name or filter (without a `$share/group/` prefix).
    pub max_topic_levels: usize,
    /// Subscriptions one session may hold.
    pub max_subscriptions: usize,
    /// PUBLISH packets per second per client; 0 is unlimited.
    pub max_publish_rate: u32,
    /// Payload bytes per second per client; 0 is unlimited.
    pub max_publish_bytes_rate: u64,
    /// Whether a client over its publish rate loses the excess or its connection.
    pub publish_rate_action: PublishRateAction,
}

impl ConnectionLimits {
    /// Which topic limit `topic` exceeds, as a reason string, or `None` when it fits.
    /// `levels_of` is the part whose levels count: the topic itself, or a shared
    /// subscription's filter without its `$share/group/` prefix.
    pub fn topic_refusal(&self, topic: &str, levels_of: &str) -> Option<&'static str> {
        if topic.len() > self.max_topic_length {
            return Some("topic longer than the server allows (limits.max_topic_length)");
        }
        // A topic of n bytes has at most n + 1 levels: short topics, the usual case, skip the scan.
        if levels_of.len() >= self.max_topic_levels
            && levels_of.bytes().filter(|&b| b == b'/').count() >= self.max_topic_levels
        {
            return Some("topic with more levels than the server allows (limits.max_topic_levels)");
        }
        None
    }
}

/// Shared by every connection accepted on one listener.
#[derive(Debug, Clone)]
pub struct ListenerContext {
    /// Broker state.
    pub broker: Arc<Broker>,
    /// Limits.
    pub limits: ConnectionLimits,
    /// Whether clients without a username may connect.
    pub allow_anonymous: bool,
    /// Flips to true when the server shuts down (the listeners stop accepting; connections
    /// are told through their session, see [`super::broker::Broker::disconnect_all`]).
    pub shutdown: watch::Receiver<bool>,
    /// The admin API's shared state (topic rates, store file).
    pub admin: Arc<Admin>,
    /// Password file and ACL, shared by every listener and reloaded on SIGHUP.
    pub auth: Arc<Auth>,
    /// The bridges' own context: the only one whose clients may use the `$bridge/` client ids.
    pub bridges: bool,
}

impl ListenerContext {
    /// Whether the client of `session` may publish to `topic` (always, without an ACL).
    pub fn may_publish(&self, session: &Session, topic: &str) -> bool {
        self.auth
            .may(&session.client_id, owner_key(session), topic, Access::Write)
    }

    /// Whether the client of `session` may receive messages on `topic`.
    pub fn may_read(&self, session: &Session, topic: &str) -> bool {
        self.auth
            .may(&session.client_id, owner_key(session), topic, Access::Read)
    }

    /// Whether the client of `session` may subscribe to `filter` (without `$share/group/`).
    pub fn may_subscribe(&self, session: &Session, filter: &str) -> bool {
        self.auth
            .may_subscribe(&session.client_id, owner_key(session), filter)
    }
}

/// A listener's context, swapped when SIGHUP changes the limits or `allow_anonymous`. The
/// accept loop reads it once per connection, and the connection keeps that one: limits
/// announced at CONNECT (receive maximum, packet size, topic aliases, keep alive) must not
/// change under a client, and reading a lock per packet would slow every publish.
#[derive(Debug)]
pub struct SharedContext(RwLock<Arc<ListenerContext>>);

impl SharedContext {
    /// A cell holding `ctx`.
    pub fn new(ctx: ListenerContext) -> SharedContext {
        SharedContext(RwLock::new(Arc::new(ctx)))
    }

    /// The context in force.
    pub fn get(&self) -> Arc<ListenerContext> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Puts `ctx` in force for the connections accepted from now on.
    pub fn set(&self, ctx: ListenerContext) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(ctx);
    }
}
