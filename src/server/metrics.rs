//! Broker-wide counters, updated with relaxed atomics on the hot path and read by `$SYS`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters every part of the broker adds to.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Clients connected right now.
    pub clients_connected: AtomicU64,
    /// Highest number of clients connected at once.
    pub clients_maximum: AtomicU64,
    /// CONNECTs accepted since start.
    pub connections_total: AtomicU64,
    /// PUBLISH packets received from clients.
    pub publish_received: AtomicU64,
    /// PUBLISH packets sent to clients.
    pub publish_sent: AtomicU64,
    /// All MQTT packets received.
    pub messages_received: AtomicU64,
    /// All MQTT packets sent.
    pub messages_sent: AtomicU64,
    /// Bytes read from clients.
    pub bytes_received: AtomicU64,
    /// Bytes written to clients.
    pub bytes_sent: AtomicU64,
    /// Messages dropped: session queue full, too large for the client, or expired.
    pub publish_dropped: AtomicU64,
    /// Bytes of queued messages held in the store for persistent sessions (a gauge).
    pub store_bytes: AtomicU64,
    /// Connection tasks that panicked: always a bug, never expected from any input.
    pub connection_panics: AtomicU64,
}

/// Adds `n` to a counter.
#[inline]
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Reads a counter.
#[inline]
pub fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Metrics {
    /// Records a new connection and keeps the maximum up to date.
    pub fn client_connected(&self) {
        let now = self.clients_connected.fetch_add(1, Ordering::Relaxed) + 1;
        self.clients_maximum.fetch_max(now, Ordering::Relaxed);
        add(&self.connections_total, 1);
    }

    /// Records a connection that ended.
    pub fn client_disconnected(&self) {
        self.clients_connected.fetch_sub(1, Ordering::Relaxed);
    }
}
