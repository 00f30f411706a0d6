//! Broker-wide counters, updated with relaxed atomics on the hot path and read by `$SYS`,
//! the admin API and the Prometheus endpoint; the limits' refusal counters; per-connection
//! figures; the commit latency histogram. [`table`] names each figure for those readers,
//! [`output`] writes it for each.

pub mod output;
pub mod table;
pub mod topics;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::kick::Kick;
use super::peer::Peer;
use super::rate::PublishBudget;

/// Counters every part of the broker adds to.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Clients connected right now.
    pub clients_connected: AtomicU64,
    /// Highest number of clients connected at once.
    pub clients_maximum: AtomicU64,
    /// CONNECTs accepted since start.
    pub connections_total: AtomicU64,
    /// PUBLISH packets received from clients, by QoS (index 0, 1, 2). One counter per packet,
    /// as before the split, so the per-QoS figures cost nothing extra.
    pub publish_received: [AtomicU64; 3],
    /// PUBLISH packets sent to clients, by QoS (index 0, 1, 2).
    pub publish_sent: [AtomicU64; 3],
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
    /// CONNECTs refused by authentication: bad user name or password, or anonymous where it
    /// is not allowed.
    pub auth_failures: AtomicU64,
    /// PUBLISH packets, wills at CONNECT and admin requests the ACL refused.
    pub publish_denied: AtomicU64,
    /// Subscriptions the ACL refused.
    pub subscribe_denied: AtomicU64,
    /// TLS handshakes that failed or did not finish in time (bad or missing client
    /// certificate, wrong protocol version, plain MQTT sent to a TLS port).
    pub tls_handshake_failures: AtomicU64,
    /// What the `[limits]` refused or changed.
    pub limits: LimitMetrics,
    /// Time from submitting a change to the store until it was committed (fsync included),
    /// observed for every submission made through `Broker::commit`. Shared with the store's
    /// commit callbacks, which run on the writer thread.
    pub store_commit: Arc<LatencyHistogram>,
}

/// One counter per `[limits]` refusal, each incremented where the limit is enforced.
#[derive(Debug, Default)]
pub struct LimitMetrics {
    /// Connections refused at accept because `max_connections` (global or the listener's) was
    /// reached.
    pub connections_refused: AtomicU64,
    /// Connections refused at accept because `max_connections_per_second` was exceeded.
    pub connection_rate_refused: AtomicU64,
    /// PUBLISH packets dropped because the client exceeded `max_publish_rate` or
    /// `max_publish_bytes_rate`.
    pub publish_rate_exceeded: AtomicU64,
    /// PUBLISH packets, wills and subscriptions refused for `max_topic_length` or
    /// `max_topic_levels`.
    pub topic_refused: AtomicU64,
    /// Subscriptions refused because the session holds `max_subscriptions_per_client`.
    pub subscriptions_refused: AtomicU64,
    /// 3.1.1 CONNECTs refused for a keep alive outside `min_keepalive ..= max_keepalive`.
    pub keepalive_refused: AtomicU64,
    /// v5 clients told a Server Keep Alive because theirs was outside the bounds.
    pub keepalive_adjusted: AtomicU64,
    /// Connections closed because the client sent more unacknowledged QoS 2 messages than
    /// `max_inflight` (the receive maximum announced to it).
    pub inflight_exceeded: AtomicU64,
    /// Connections closed because a packet was larger than `max_packet_size`.
    pub packet_too_large: AtomicU64,
    /// Connections closed because no CONNECT came within `connect_timeout`.
    pub connect_timeouts: AtomicU64,
    /// Times a publisher was held back (not read, its acknowledgement held) because a
    /// subscriber's queue or the memory budget was full (flow control).
    pub publishers_paced: AtomicU64,
    /// QoS 0 messages dropped, oldest first, because a queue or the memory budget was full.
    pub qos0_shed: AtomicU64,
    /// Times a connected subscriber counted as stalled (`stalled_after` without progress).
    pub subscribers_stalled: AtomicU64,
    /// QoS 1/2 messages dropped for a stalled subscriber whose queue was full.
    pub stalled_dropped: AtomicU64,
    /// QoS 1/2 messages dropped for an offline session whose queue was full.
    pub offline_dropped: AtomicU64,
}

/// A snapshot of [`LimitMetrics`], for code that reads the counters (`$SYS`, Prometheus and
/// `broker/stats` read them through [`table`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitStats {
    /// See [`LimitMetrics::connections_refused`].
    pub connections_refused: u64,
    /// See [`LimitMetrics::connection_rate_refused`].
    pub connection_rate_refused: u64,
    /// See [`LimitMetrics::publish_rate_exceeded`].
    pub publish_rate_exceeded: u64,
    /// See [`LimitMetrics::topic_refused`].
    pub topic_refused: u64,
    /// See [`LimitMetrics::subscriptions_refused`].
    pub subscriptions_refused: u64,
    /// See [`LimitMetrics::keepalive_refused`].
    pub keepalive_refused: u64,
    /// See [`LimitMetrics::keepalive_adjusted`].
    pub keepalive_adjusted: u64,
    /// See [`LimitMetrics::inflight_exceeded`].
    pub inflight_exceeded: u64,
    /// See [`LimitMetrics::packet_too_large`].
    pub packet_too_large: u64,
    /// See [`LimitMetrics::connect_timeouts`].
    pub connect_timeouts: u64,
    /// See [`LimitMetrics::publishers_paced`].
    pub publishers_paced: u64,
    /// See [`LimitMetrics::qos0_shed`].
    pub qos0_shed: u64,
    /// See [`LimitMetrics::subscribers_stalled`].
    pub subscribers_stalled: u64,
    /// See [`LimitMetrics::stalled_dropped`].
    pub stalled_dropped: u64,
    /// See [`LimitMetrics::offline_dropped`].
    pub offline_dropped: u64,
}

impl LimitMetrics {
    /// The counters now.
    pub fn snapshot(&self) -> LimitStats {
        LimitStats {
            connections_refused: get(&self.connections_refused),
            connection_rate_refused: get(&self.connection_rate_refused),
            publish_rate_exceeded: get(&self.publish_rate_exceeded),
            topic_refused: get(&self.topic_refused),
            subscriptions_refused: get(&self.subscriptions_refused),
            keepalive_refused: get(&self.keepalive_refused),
            keepalive_adjusted: get(&self.keepalive_adjusted),
            inflight_exceeded: get(&self.inflight_exceeded),
            packet_too_large: get(&self.packet_too_large),
            connect_timeouts: get(&self.connect_timeouts),
            publishers_paced: get(&self.publishers_paced),
            qos0_shed: get(&self.qos0_shed),
            subscribers_stalled: get(&self.subscribers_stalled),
            stalled_dropped: get(&self.stalled_dropped),
            offline_dropped: get(&self.offline_dropped),
        }
    }
}

/// Adds `n` to a counter.
#[inline]
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Adds `n` to a counter that only one task writes (a [`ConnStats`] figure): a plain load and
/// store, cheaper than the locked add of [`add`]; readers still see a whole value.
#[inline]
pub fn add_own(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Reads a counter.
#[inline]
pub fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Reads a per-QoS counter triple.
pub fn get_by_qos(counters: &[AtomicU64; 3]) -> [u64; 3] {
    [get(&counters[0]), get(&counters[1]), get(&counters[2])]
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

/// Figures of one connection, shared between its task (the only writer, through [`add_own`])
/// and the admin API through the session's `ConnLink`. Each connection has its own, so
/// updating them contends with nothing.
#[derive(Debug)]
pub struct ConnStats {
    /// Where the client connects from.
    pub peer: Peer,
    /// When CONNECT was accepted, Unix milliseconds.
    pub connected_at_ms: u64,
    /// Keep alive in force, seconds (after the server's cap); 0 means none.
    pub keep_alive: u16,
    /// Clean start (v5) / clean session (3.1.1) flag of CONNECT.
    pub clean_start: bool,
    /// PUBLISH packets received from this client.
    pub messages_in: AtomicU64,
    /// PUBLISH packets sent to this client.
    pub messages_out: AtomicU64,
    /// Bytes read from this client (CONNECT excluded).
    pub bytes_in: AtomicU64,
    /// Bytes written to this client.
    pub bytes_out: AtomicU64,
    /// The client's publish rate budget (`max_publish_rate`, `max_publish_bytes_rate`), when
    /// either is set (boxed: most brokers set neither, and most connections are idle). It
    /// lives with the figures because, like them, only the connection's task writes it and
    /// it needs no lock.
    pub publish_budget: Option<Box<PublishBudget>>,
    /// How the broker tells the connection's task to close.
    pub kick: Kick,
    /// When a control packet last came in, on the broker's clock (`Broker::clock_ms`);
    /// [`KEEP_ALIVE_SUSPENDED`] while the connection leaves its input unread.
    last_heard_ms: AtomicU64,
}

/// `last_heard_ms` of a connection whose keep alive does not run.
const KEEP_ALIVE_SUSPENDED: u64 = u64::MAX;

impl ConnStats {
    /// Figures for a connection accepted now.
    pub fn new(
        peer: Peer,
        connected_at_ms: u64,
        keep_alive: u16,
        clean_start: bool,
        publish_budget: PublishBudget,
        now_ms: u64,
    ) -> Arc<ConnStats> {
        Arc::new(ConnStats {
            peer,
            connected_at_ms,
            keep_alive,
            clean_start,
            messages_in: AtomicU64::new(0),
            messages_out: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            publish_budget: publish_budget.is_limited().then(|| Box::new(publish_budget)),
            kick: Kick::default(),
            last_heard_ms: AtomicU64::new(now_ms),
        })
    }

    /// A control packet came in at `now_ms` (this also resumes a suspended keep alive).
    pub fn heard(&self, now_ms: u64) {
        self.last_heard_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Stops the keep alive clock while the broker is not reading the client's packets.
    pub fn suspend_keep_alive(&self) {
        self.last_heard_ms.store(KEEP_ALIVE_SUSPENDED, Ordering::Relaxed);
    }

    /// Whether nothing came in for one and a half times the keep alive by `now_ms`
    /// [MQTT-3.1.2-24] (never with keep alive 0 or while suspended).
    pub fn keep_alive_expired(&self, now_ms: u64) -> bool {
        let last = self.last_heard_ms.load(Ordering::Relaxed);
        self.keep_alive > 0
            && last != KEEP_ALIVE_SUSPENDED
            && now_ms.saturating_sub(last) > u64::from(self.keep_alive) * 1500
    }
}

/// Upper bounds of the latency histogram's buckets, in microseconds (the last bucket, +Inf,
/// is implied): 100 µs to 2.5 s, covering a page-cache commit up to a struggling disk.
pub const LATENCY_BUCKETS_MICROS: [u64; 14] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000,
];

/// A fixed-bucket latency histogram of relaxed atomics, in the shape Prometheus expects.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// Observations per bucket (not cumulative); the last one is +Inf.
    counts: [AtomicU64; LATENCY_BUCKETS_MICROS.len() + 1],
    /// Sum of all observations, microseconds.
    sum_micros: AtomicU64,
}

/// A snapshot of a [`LatencyHistogram`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// `(upper bound in µs, cumulative count)` per bucket, +Inf excluded.
    pub buckets: Vec<(u64, u64)>,
    /// Observations in total (the +Inf bucket's cumulative count).
    pub count: u64,
    /// Sum of the observations, microseconds.
    pub sum_micros: u64,
}

impl LatencyHistogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let micros = elapsed.as_micros().min(u64::MAX as u128) as u64;
        let index = LATENCY_BUCKETS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(LATENCY_BUCKETS_MICROS.len());
        add(&self.counts[index], 1);
        add(&self.sum_micros, micros);
    }

    /// Cumulative bucket counts, total and sum. Read without a lock, so a concurrent
    /// observation may show in a bucket and not yet in the sum; counts stay monotonic.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(LATENCY_BUCKETS_MICROS.len());
        for (bound, count) in LATENCY_BUCKETS_MICROS.iter().zip(&self.counts) {
            cumulative += get(count);
            buckets.push((*bound, cumulative));
        }
        cumulative += get(&self.counts[LATENCY_BUCKETS_MICROS.len()]);
        HistogramSnapshot {
            buckets,
            count: cumulative,
            sum_micros: get(&self.sum_micros),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = LatencyHistogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_micros(101));
        h.observe(Duration::from_secs(10));
        let s = h.snapshot();
        assert_eq!(s.buckets[0], (100, 2));
        assert_eq!(s.buckets[1], (250, 3));
        assert_eq!(s.buckets.last(), Some(&(2_500_000, 3)));
        assert_eq!(s.count, 4);
        assert_eq!(s.sum_micros, 50 + 100 + 101 + 10_000_000);
    }
}
