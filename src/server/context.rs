//! What every connection of a listener shares: the broker, the limits, the shutdown signal.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::admin::Admin;
use super::broker::Broker;

/// Per-connection limits taken from the configuration.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Largest packet accepted from a client, fixed header included.
    pub max_packet_size: usize,
    /// Receive maximum announced to v5 clients: QoS 1/2 publishes they may have unacknowledged.
    pub receive_maximum: u16,
    /// Keep alive ceiling, announced as server keep alive to v5 clients that ask for more.
    pub max_keepalive: u16,
    /// How long a new connection may take to send CONNECT.
    pub connect_timeout: Duration,
    /// Highest topic alias a client may use.
    pub topic_alias_maximum: u16,
}

/// Shared by every connection accepted on one listener.
#[derive(Debug, Clone)]
pub struct ListenerContext {
    /// Broker state.
    pub broker: Arc<Broker>,
    /// Limits.
    pub limits: ConnectionLimits,
    /// Whether clients without a user name may connect.
    pub allow_anonymous: bool,
    /// Flips to true when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// The admin API's shared state (topic rates, store file).
    pub admin: Arc<Admin>,
}
