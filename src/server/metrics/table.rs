//! The one table of broker figures: each row names a figure once (its Prometheus family, its
//! `$SYS` topic, its `broker/stats` field) and says how to read it, so `$SYS`, the Prometheus
//! endpoint and the admin API publish the same figures under names set in one place.
//!
//! What a row cannot say stays with its surface: the version (a text: `$SYS/broker/version`
//! once, the `robustmq_build_info` label, the `version` field), the `load/*` averages (`$SYS`
//! keeps their state between ticks; they name their counter by Prometheus family here), the
//! bridges (one set of figures per configured bridge), the store's data file size (read from
//! the file, only when it can be) and the commit latency histogram.

use std::time::Duration;

use super::{get, get_by_qos, Metrics};
use crate::store::StoreStats;

/// Everything the rows read, gathered once per publication (a `$SYS` tick, a scrape, a
/// `broker/stats` request) so that the figures of one publication agree with each other.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The counters.
    pub metrics: &'a Metrics,
    /// Time since the broker started.
    pub uptime: Duration,
    /// Sessions, online and offline.
    pub sessions: u64,
    /// Subscriptions over all sessions.
    pub subscriptions: u64,
    /// Retained messages.
    pub retained: u64,
    /// Messages queued or in flight over all sessions.
    pub queued_messages: u64,
    /// Bytes held against `limits.max_memory`.
    pub memory_used: u64,
    /// `limits.max_memory` in bytes.
    pub memory_max: u64,
    /// The store's counters; `None` when the broker has no store.
    pub store: Option<StoreStats>,
}

impl Sources<'_> {
    /// The store's counters, zero without a store.
    fn store_stats(&self) -> StoreStats {
        self.store.unwrap_or_default()
    }
}

/// How a row's figure is read, which also says how each surface writes it
/// ([`super::output`]).
#[derive(Debug, Clone, Copy)]
pub enum Read {
    /// A whole number, written as is.
    Count(fn(&Sources) -> u64),
    /// One count per QoS (0, 1, 2): a `qos` label in Prometheus; their sum in `$SYS` and in
    /// the `broker/stats` field, with the three in `<field>_by_qos` beside it.
    ByQos(fn(&Sources) -> [u64; 3]),
    /// A duration: fractional seconds in Prometheus, `"N seconds"` in `$SYS` (Mosquitto's
    /// uptime text), whole seconds in `broker/stats`.
    Seconds(fn(&Sources) -> Duration),
    /// Microseconds: fractional seconds in Prometheus, the whole number elsewhere.
    Micros(fn(&Sources) -> u64),
}

/// A Prometheus metric type the table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (until a restart); its name ends in `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
}

impl Kind {
    /// The word of the `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// A Prometheus family: its name, type and HELP text.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// Metric name, `robustmq_...`.
    pub name: &'static str,
    /// Counter or gauge.
    pub kind: Kind,
    /// The HELP line's text.
    pub help: &'static str,
}

/// Where a row appears under `$SYS/broker/`.
#[derive(Debug, Clone, Copy)]
pub enum Sys {
    /// Every tick.
    Topic(&'static str),
    /// Every tick of a broker with a store (Mosquitto has no store to report).
    WithStore(&'static str),
}

impl Sys {
    /// The topic under `$SYS/broker/`.
    pub fn topic(self) -> &'static str {
        match self {
            Sys::Topic(t) | Sys::WithStore(t) => t,
        }
    }
}

/// One figure and its names.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Its Prometheus family, if it has one.
    pub prometheus: Option<Family>,
    /// Its `$SYS` topic, if it has one.
    pub sys: Option<Sys>,
    /// Its `broker/stats` field, if it has one; `a.b` is field `b` of object `a`.
    pub stats: Option<&'static str>,
    /// How to read it.
    pub read: Read,
}

/// A row read by `read`, named nowhere yet.
const fn row(read: Read) -> Metric {
    Metric {
        prometheus: None,
        sys: None,
        stats: None,
        read,
    }
}

impl Metric {
    const fn family(self, name: &'static str, kind: Kind, help: &'static str) -> Metric {
        Metric {
            prometheus: Some(Family { name, kind, help }),
            ..self
        }
    }

    const fn counter(self, name: &'static str, help: &'static str) -> Metric {
        self.family(name, Kind::Counter, help)
    }

    const fn gauge(self, name: &'static str, help: &'static str) -> Metric {
        self.family(name, Kind::Gauge, help)
    }

    const fn sys(self, topic: &'static str) -> Metric {
        Metric {
            sys: Some(Sys::Topic(topic)),
            ..self
        }
    }

    const fn sys_with_store(self, topic: &'static str) -> Metric {
        Metric {
            sys: Some(Sys::WithStore(topic)),
            ..self
        }
    }

    const fn stats(self, field: &'static str) -> Metric {
        Metric {
            stats: Some(field),
            ..self
        }
    }
}

/// A `[limits]` counter: `robustmq_limit_<name>_total`, `limits/<name>`, `limits.<name>`.
macro_rules! limit {
    ($name:ident, $help:literal) => {
        row(Read::Count(|s| get(&s.metrics.limits.$name)))
            .counter(concat!("robustmq_limit_", stringify!($name), "_total"), $help)
            .sys(concat!("limits/", stringify!($name)))
            .stats(concat!("limits.", stringify!($name)))
    };
}

/// Every figure, in `$SYS` publishing order (Prometheus and `broker/stats` follow it too).
pub static METRICS: &[Metric] = &[
    row(Read::Seconds(|s| s.uptime))
        .gauge("robustmq_uptime_seconds", "Seconds since the broker started.")
        .sys("uptime")
        .stats("uptime_seconds"),
    row(Read::Count(|s| get(&s.metrics.clients_connected)))
        .gauge("robustmq_connections", "Clients connected now.")
        .sys("clients/connected")
        .stats("clients_connected"),
    // Mosquitto's active clients are the connected ones.
    row(Read::Count(|s| get(&s.metrics.clients_connected))).sys("clients/active"),
    // Sessions whose client is offline.
    row(Read::Count(|s| {
        s.sessions.saturating_sub(get(&s.metrics.clients_connected))
    }))
    .sys("clients/disconnected")
    .stats("clients_disconnected"),
    row(Read::Count(|s| s.sessions))
        .gauge("robustmq_sessions", "Sessions, online and offline.")
        .sys("clients/total")
        .stats("clients_total"),
    row(Read::Count(|s| get(&s.metrics.clients_maximum)))
        .gauge(
            "robustmq_connections_maximum",
            "Most clients connected at once since start.",
        )
        .sys("clients/maximum")
        .stats("clients_maximum"),
    row(Read::Count(|s| get(&s.metrics.connections_total)))
        .counter(
            "robustmq_connections_total",
            "Client connections accepted (CONNACK success) since start.",
        )
        .stats("connections_total"),
    row(Read::Count(|s| get(&s.metrics.messages_received)))
        .counter(
            "robustmq_packets_received_total",
            "MQTT packets of every type received.",
        )
        .sys("messages/received")
        .stats("messages_received"),
    row(Read::Count(|s| get(&s.metrics.messages_sent)))
        .counter("robustmq_packets_sent_total", "MQTT packets of every type sent.")
        .sys("messages/sent")
        .stats("messages_sent"),
    row(Read::ByQos(|s| get_by_qos(&s.metrics.publish_received)))
        .counter(
            "robustmq_messages_received_total",
            "PUBLISH packets received from clients, by QoS.",
        )
        .sys("publish/messages/received")
        .stats("publish_received"),
    row(Read::ByQos(|s| get_by_qos(&s.metrics.publish_sent)))
        .counter(
            "robustmq_messages_sent_total",
            "PUBLISH packets sent to clients, by QoS (resends not counted).",
        )
        .sys("publish/messages/sent")
        .stats("publish_sent"),
    row(Read::Count(|s| get(&s.metrics.publish_dropped)))
        .counter(
            "robustmq_publish_dropped_total",
            "Messages dropped: a session's queue or the store was full, the message was too large for the client, or it expired.",
        )
        .sys("publish/messages/dropped")
        .stats("publish_dropped"),
    row(Read::Count(|s| get(&s.metrics.bytes_received)))
        .counter("robustmq_bytes_received_total", "Bytes read from clients.")
        .sys("bytes/received")
        .stats("bytes_received"),
    row(Read::Count(|s| get(&s.metrics.bytes_sent)))
        .counter("robustmq_bytes_sent_total", "Bytes written to clients.")
        .sys("bytes/sent")
        .stats("bytes_sent"),
    row(Read::Count(|s| s.subscriptions))
        .gauge("robustmq_subscriptions", "Subscriptions over all sessions.")
        .sys("subscriptions/count")
        .stats("subscriptions"),
    // robustmq's own: refused logins and what the ACL refused.
    row(Read::Count(|s| get(&s.metrics.auth_failures)))
        .counter(
            "robustmq_auth_failures_total",
            "CONNECTs refused by authentication (bad user name or password, or anonymous where it is not allowed).",
        )
        .sys("clients/auth_failures"),
    row(Read::Count(|s| get(&s.metrics.tls_handshake_failures)))
        .counter(
            "robustmq_tls_handshake_failures_total",
            "TLS handshakes that failed or did not finish within the connect timeout.",
        )
        .sys("clients/tls_handshake_failures"),
    row(Read::Count(|s| get(&s.metrics.publish_denied)))
        .counter(
            "robustmq_publish_denied_total",
            "PUBLISH packets, wills and admin requests refused by the ACL.",
        )
        .sys("publish/messages/denied"),
    row(Read::Count(|s| get(&s.metrics.subscribe_denied)))
        .counter("robustmq_subscribe_denied_total", "Subscriptions refused by the ACL.")
        .sys("subscriptions/denied"),
    // robustmq's own: where the broker stands against limits.max_memory.
    row(Read::Count(|s| s.memory_used))
        .gauge(
            "robustmq_memory_used_bytes",
            "Bytes of queued messages and connection buffers held against limits.max_memory.",
        )
        .sys("memory/used")
        .stats("memory_used"),
    row(Read::Count(|s| s.memory_max))
        .gauge("robustmq_memory_max_bytes", "limits.max_memory in bytes.")
        .sys("memory/max")
        .stats("max_memory"),
    // robustmq's own: what each of the [limits] refused (or, for keep alive, changed).
    limit!(
        connections_refused,
        "Connections refused at accept because max_connections (global or the listener's) was reached."
    ),
    limit!(
        connection_rate_refused,
        "Connections refused at accept because max_connections_per_second was exceeded."
    ),
    limit!(
        publish_rate_exceeded,
        "PUBLISH packets dropped because the client exceeded max_publish_rate or max_publish_bytes_rate."
    ),
    limit!(
        topic_refused,
        "PUBLISH packets, wills and subscriptions refused for max_topic_length or max_topic_levels."
    ),
    limit!(
        subscriptions_refused,
        "Subscriptions refused because the session already holds max_subscriptions_per_client."
    ),
    limit!(
        keepalive_refused,
        "MQTT 3.1.1 connections refused for a keep alive outside min_keepalive..max_keepalive."
    ),
    limit!(
        keepalive_adjusted,
        "MQTT 5 clients told a Server Keep Alive because theirs was outside min_keepalive..max_keepalive."
    ),
    limit!(
        inflight_exceeded,
        "Connections closed because the client sent more unacknowledged QoS 2 messages than max_inflight."
    ),
    limit!(
        packet_too_large,
        "Connections closed because a packet was larger than max_packet_size."
    ),
    limit!(
        connect_timeouts,
        "Connections closed because no CONNECT arrived within connect_timeout."
    ),
    limit!(
        publishers_paced,
        "Times a publisher was held back because a subscriber's queue or max_memory was full."
    ),
    limit!(
        qos0_shed,
        "QoS 0 messages dropped, oldest first, because a queue or max_memory was full."
    ),
    limit!(
        subscribers_stalled,
        "Times a connected subscriber made no progress within stalled_after."
    ),
    limit!(
        stalled_dropped,
        "QoS 1/2 messages dropped for a stalled subscriber whose queue was full."
    ),
    limit!(
        offline_dropped,
        "QoS 1/2 messages dropped for an offline session whose queue was full."
    ),
    row(Read::Count(|s| s.retained))
        .gauge("robustmq_retained_messages", "Retained messages.")
        .sys("retained messages/count")
        .stats("retained_messages"),
    row(Read::Count(|s| s.queued_messages))
        .gauge(
            "robustmq_queued_messages",
            "Messages queued or in flight over all sessions.",
        )
        .stats("queued_messages"),
    // robustmq's own figures (Mosquitto has no store to report): commits and fsyncs since start
    // show group commit at work, the gauge what persistent sessions hold.
    row(Read::Count(|s| s.store_stats().commits))
        .counter(
            "robustmq_store_commits_total",
            "Store write transactions committed (a group commit counts once).",
        )
        .sys_with_store("store/commits"),
    row(Read::Count(|s| s.store_stats().fsyncs))
        .counter("robustmq_store_fsyncs_total", "Store commits that were fsynced.")
        .sys_with_store("store/fsyncs"),
    row(Read::Count(|s| s.store_stats().ops))
        .counter("robustmq_store_ops_total", "Changes applied by store commits."),
    // What a full disk refused, and whether it is full now (1) or not (0).
    row(Read::Count(|s| s.store_stats().errors))
        .counter(
            "robustmq_store_errors_total",
            "Submissions the store did not commit: refused while the disk was full, or whose commit failed.",
        )
        .sys_with_store("store/errors"),
    row(Read::Count(|s| u64::from(s.store_stats().full)))
        .gauge(
            "robustmq_store_full",
            "1 while the store's disk is full: new messages that must be stored are refused until space is freed.",
        )
        .sys_with_store("store/full"),
    row(Read::Micros(|s| s.store_stats().last_commit_micros))
        .gauge(
            "robustmq_store_last_commit_seconds",
            "Duration of the store's last commit, fsync included.",
        )
        .sys_with_store("store/last_commit_us"),
    row(Read::Count(|s| get(&s.metrics.store_bytes)))
        .gauge(
            "robustmq_store_bytes",
            "Bytes of queued messages held in the store for persistent sessions.",
        )
        .sys_with_store("store/bytes")
        .stats("store_bytes"),
    // Mosquitto counts retained messages and messages queued for durable clients here.
    row(Read::Count(|s| s.queued_messages.saturating_add(s.retained)))
        .sys("store/messages/count")
        .stats("stored_messages"),
    row(Read::Count(|s| get(&s.metrics.connection_panics)))
        .counter(
            "robustmq_connection_panics_total",
            "Connection tasks that panicked (a bug if ever non-zero).",
        )
        .stats("connection_panics"),
];

/// The row of Prometheus family `name`.
pub fn by_prometheus_name(name: &str) -> Option<&'static Metric> {
    METRICS
        .iter()
        .find(|m| m.prometheus.is_some_and(|f| f.name == name))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Prometheus's metric name syntax, and robustmq's prefix.
    fn is_prometheus_name(name: &str) -> bool {
        let mut chars = name.chars();
        name.starts_with("robustmq_")
            && chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    /// A topic one can publish to: levels not empty, no wildcard, no `$SYS` prefix of its own.
    fn is_sys_topic(topic: &str) -> bool {
        !topic.is_empty()
            && !topic.starts_with('$')
            && !topic.contains(['+', '#', '\0'])
            && topic.split('/').all(|level| !level.is_empty())
    }

    fn is_field(field: &str) -> bool {
        !field.is_empty()
            && field
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }

    #[test]
    fn every_row_is_named_somewhere_and_names_are_well_formed() {
        for m in METRICS {
            assert!(
                m.prometheus.is_some() || m.sys.is_some() || m.stats.is_some(),
                "a row published nowhere: {m:?}"
            );
            if let Some(f) = m.prometheus {
                assert!(is_prometheus_name(f.name), "{}", f.name);
                assert!(!f.help.is_empty() && !f.help.contains('\n'), "{} help", f.name);
                assert_eq!(
                    f.kind == Kind::Counter,
                    f.name.ends_with("_total"),
                    "{}: counters, and only they, end in _total",
                    f.name
                );
                match m.read {
                    Read::ByQos(_) => assert_eq!(f.kind, Kind::Counter, "{}", f.name),
                    Read::Seconds(_) | Read::Micros(_) => {
                        assert_eq!(f.kind, Kind::Gauge, "{}", f.name);
                        assert!(f.name.ends_with("_seconds"), "{} is in seconds", f.name);
                    }
                    Read::Count(_) => {}
                }
            }
            if let Some(sys) = m.sys {
                assert!(is_sys_topic(sys.topic()), "{:?}", sys.topic());
            }
            if let Some(field) = m.stats {
                let mut parts = field.split('.');
                assert!(parts.all(is_field), "{field}");
                assert!(field.split('.').count() <= 2, "{field} nests once at most");
            }
        }
    }

    #[test]
    fn names_are_unique_on_each_surface() {
        let mut prometheus = HashSet::new();
        let mut sys = HashSet::new();
        let mut fields = HashSet::new();
        for m in METRICS {
            if let Some(f) = m.prometheus {
                assert!(prometheus.insert(f.name), "{} twice", f.name);
            }
            if let Some(s) = m.sys {
                assert!(sys.insert(s.topic()), "{} twice", s.topic());
            }
            if let Some(field) = m.stats {
                assert!(fields.insert(field.to_string()), "{field} twice");
                if matches!(m.read, Read::ByQos(_)) {
                    assert!(fields.insert(format!("{field}_by_qos")), "{field}_by_qos twice");
                }
            }
        }
        assert!(!fields.contains("version"), "version is the reply's own field");
        // A nested object's name is no field of its own.
        for field in &fields {
            if let Some((object, _)) = field.split_once('.') {
                assert!(
                    !fields.contains(object),
                    "{object} is both a figure and an object"
                );
            }
        }
    }
}
