//! Broker-wide figures under their `$SYS` names, whichever way they arrive (`$SYS` messages or
//! robustmq's `broker/stats`), and per-second rates computed from the counters among them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::admin::{BrokerStats, StoreStats};

/// The `$SYS/broker/` prefix.
pub const SYS_PREFIX: &str = "$SYS/broker/";

/// Figure names (suffixes of `$SYS/broker/`), as Mosquitto publishes them.
pub mod name {
    /// Broker name and version, e.g. `mosquitto version 2.0.11`.
    pub const VERSION: &str = "version";
    /// `N seconds`.
    pub const UPTIME: &str = "uptime";
    /// Clients connected now.
    pub const CLIENTS_CONNECTED: &str = "clients/connected";
    /// Sessions, online and offline.
    pub const CLIENTS_TOTAL: &str = "clients/total";
    /// Most clients connected at once.
    pub const CLIENTS_MAXIMUM: &str = "clients/maximum";
    /// Offline sessions.
    pub const CLIENTS_DISCONNECTED: &str = "clients/disconnected";
    /// PUBLISH packets received.
    pub const PUBLISH_RECEIVED: &str = "publish/messages/received";
    /// PUBLISH packets sent.
    pub const PUBLISH_SENT: &str = "publish/messages/sent";
    /// Messages dropped.
    pub const PUBLISH_DROPPED: &str = "publish/messages/dropped";
    /// MQTT packets received (Mosquitto's `messages/received`).
    pub const MESSAGES_RECEIVED: &str = "messages/received";
    /// MQTT packets sent.
    pub const MESSAGES_SENT: &str = "messages/sent";
    /// Bytes read from clients.
    pub const BYTES_RECEIVED: &str = "bytes/received";
    /// Bytes written to clients.
    pub const BYTES_SENT: &str = "bytes/sent";
    /// Subscriptions.
    pub const SUBSCRIPTIONS: &str = "subscriptions/count";
    /// Retained messages.
    pub const RETAINED: &str = "retained messages/count";
    /// Retained plus queued messages.
    pub const STORED: &str = "store/messages/count";
    /// Store commits (robustmq).
    pub const STORE_COMMITS: &str = "store/commits";
    /// Store fsyncs (robustmq).
    pub const STORE_FSYNCS: &str = "store/fsyncs";
    /// Bytes of queued messages in the store (robustmq).
    pub const STORE_BYTES: &str = "store/bytes";
    /// Submissions the store did not commit: refused on a full disk, or failed (robustmq).
    pub const STORE_ERRORS: &str = "store/errors";
    /// 1 while the broker's disk is full and new messages are refused (robustmq).
    pub const STORE_FULL: &str = "store/full";
}

/// A counter's rate is only recomputed over at least this long, so two samples that arrive
/// close together (a `$SYS` burst and a `broker/stats` reply) do not make a jumpy rate.
const MIN_SPAN: Duration = Duration::from_millis(700);

/// One figure: its latest value and, for counters, the rate of change.
#[derive(Debug, Clone, Default)]
pub struct Figure {
    /// The latest text, as published.
    pub text: String,
    /// The text as a number, if it is one (`"12 seconds"` counts as 12).
    pub value: Option<u64>,
    /// Start of the current rate span: value and when it was seen.
    base: Option<(u64, Instant)>,
    /// Last sample, for the staleness check.
    last: Option<Instant>,
    /// The span of the last rate computed.
    span: Duration,
    rate: Option<f64>,
}

impl Figure {
    /// Records a value seen at `at`. `live` is false for a retained message a subscription
    /// delivered, which may be minutes old: such a value is shown but never used for a rate.
    pub fn observe(&mut self, text: &str, at: Instant, live: bool) {
        self.text = text.trim().to_string();
        self.value = leading_number(&self.text);
        let Some(value) = self.value else {
            self.base = None;
            self.rate = None;
            return;
        };
        if !live {
            self.base = None;
            self.rate = None;
            return;
        }
        self.last = Some(at);
        match self.base {
            Some((start, _)) if value < start => {
                // The broker restarted: a new series begins.
                self.base = Some((value, at));
                self.rate = None;
            }
            Some((start, since)) => {
                let span = at.saturating_duration_since(since);
                if span >= MIN_SPAN {
                    self.rate = Some((value - start) as f64 / span.as_secs_f64());
                    self.span = span;
                    self.base = Some((value, at));
                }
            }
            None => self.base = Some((value, at)),
        }
    }

    /// Per-second rate at `now`. Brokers such as Mosquitto publish a counter only when it
    /// changed, so a counter silent for well over its usual interval has not moved: rate 0.
    pub fn rate(&self, now: Instant) -> Option<f64> {
        let rate = self.rate?;
        let quiet = now.saturating_duration_since(self.last?);
        if quiet > self.span * 2 + Duration::from_secs(1) {
            Some(0.0)
        } else {
            Some(rate)
        }
    }
}

/// The number a figure's text starts with.
fn leading_number(text: &str) -> Option<u64> {
    let digits: &str = text.split(|c: char| !c.is_ascii_digit()).next()?;
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// All figures seen, by `$SYS` name.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    figures: HashMap<String, Figure>,
}

impl Figures {
    /// Records a `$SYS/broker/...` message; other topics are ignored. Returns whether it was one.
    pub fn observe_sys(&mut self, topic: &str, payload: &[u8], at: Instant, live: bool) -> bool {
        let Some(name) = topic.strip_prefix(SYS_PREFIX) else {
            return false;
        };
        let text = String::from_utf8_lossy(payload);
        self.observe(name, &text, at, live);
        true
    }

    /// Records one figure.
    pub fn observe(&mut self, name: &str, text: &str, at: Instant, live: bool) {
        self.figures
            .entry(name.to_string())
            .or_default()
            .observe(text, at, live);
    }

    /// Records a `broker/stats` reply under the `$SYS` names.
    pub fn observe_broker_stats(&mut self, s: &BrokerStats, at: Instant) {
        let numbers = [
            (name::UPTIME, s.uptime_seconds),
            (name::CLIENTS_CONNECTED, s.clients_connected),
            (name::CLIENTS_TOTAL, s.clients_total),
            (name::CLIENTS_MAXIMUM, s.clients_maximum),
            (name::CLIENTS_DISCONNECTED, s.clients_disconnected),
            (name::PUBLISH_RECEIVED, s.publish_received),
            (name::PUBLISH_SENT, s.publish_sent),
            (name::PUBLISH_DROPPED, s.publish_dropped),
            (name::MESSAGES_RECEIVED, s.messages_received),
            (name::MESSAGES_SENT, s.messages_sent),
            (name::BYTES_RECEIVED, s.bytes_received),
            (name::BYTES_SENT, s.bytes_sent),
            (name::SUBSCRIPTIONS, s.subscriptions),
            (name::RETAINED, s.retained_messages),
            (name::STORED, s.stored_messages),
            (name::STORE_BYTES, s.store_bytes),
        ];
        for (name, value) in numbers {
            self.observe(name, &value.to_string(), at, true);
        }
        if !s.version.is_empty() {
            self.observe(
                name::VERSION,
                &format!("robustmq version {}", s.version),
                at,
                true,
            );
        }
    }

    /// Records the counters of a `store/stats` reply.
    pub fn observe_store_stats(&mut self, s: &StoreStats, at: Instant) {
        self.observe(name::STORE_COMMITS, &s.commits.to_string(), at, true);
        self.observe(name::STORE_FSYNCS, &s.fsyncs.to_string(), at, true);
        self.observe(name::STORE_BYTES, &s.store_bytes.to_string(), at, true);
        self.observe(name::STORE_ERRORS, &s.errors.to_string(), at, true);
        self.observe(name::STORE_FULL, &u8::from(s.full).to_string(), at, true);
    }

    /// A figure by name.
    pub fn get(&self, name: &str) -> Option<&Figure> {
        self.figures.get(name)
    }

    /// A figure's number.
    pub fn value(&self, name: &str) -> Option<u64> {
        self.get(name)?.value
    }

    /// A figure's text.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(|f| f.text.as_str())
    }

    /// A counter's per-second rate.
    pub fn rate(&self, name: &str, now: Instant) -> Option<f64> {
        self.get(name)?.rate(now)
    }

    /// PUBLISH messages in per second, falling back to all packets for brokers that do not
    /// publish `publish/messages/received`.
    pub fn messages_in_rate(&self, now: Instant) -> Option<f64> {
        self.rate(name::PUBLISH_RECEIVED, now)
            .or_else(|| self.rate(name::MESSAGES_RECEIVED, now))
    }

    /// PUBLISH messages out per second (see [`Figures::messages_in_rate`]).
    pub fn messages_out_rate(&self, now: Instant) -> Option<f64> {
        self.rate(name::PUBLISH_SENT, now)
            .or_else(|| self.rate(name::MESSAGES_SENT, now))
    }

    /// How many figures are known.
    pub fn len(&self) -> usize {
        self.figures.len()
    }

    /// Whether no figure is known yet.
    pub fn is_empty(&self) -> bool {
        self.figures.is_empty()
    }

    /// Forgets the rate bases, keeping the values: after a reconnect the next samples start
    /// new spans instead of spanning the outage.
    pub fn restart_rates(&mut self) {
        for figure in self.figures.values_mut() {
            figure.base = None;
            figure.rate = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_the_change_over_the_span() {
        let t0 = Instant::now();
        let mut f = Figures::default();
        f.observe_sys("$SYS/broker/bytes/received", b"1000", t0, true);
        assert_eq!(f.rate(name::BYTES_RECEIVED, t0), None, "one sample has no rate");
        f.observe_sys(
            "$SYS/broker/bytes/received",
            b"3000",
            t0 + Duration::from_secs(2),
            true,
        );
        assert_eq!(
            f.rate(name::BYTES_RECEIVED, t0 + Duration::from_secs(2)),
            Some(1000.0)
        );
        // A sample too soon after the last keeps the rate (and the span's start).
        f.observe_sys(
            "$SYS/broker/bytes/received",
            b"9000",
            t0 + Duration::from_millis(2100),
            true,
        );
        assert_eq!(
            f.rate(name::BYTES_RECEIVED, t0 + Duration::from_secs(2)),
            Some(1000.0)
        );
        f.observe_sys(
            "$SYS/broker/bytes/received",
            b"9000",
            t0 + Duration::from_secs(4),
            true,
        );
        assert_eq!(
            f.rate(name::BYTES_RECEIVED, t0 + Duration::from_secs(4)),
            Some(3000.0)
        );
    }

    #[test]
    fn retained_values_show_but_start_no_rate() {
        let t0 = Instant::now();
        let mut f = Figures::default();
        f.observe_sys("$SYS/broker/messages/sent", b"500", t0, false);
        assert_eq!(f.value(name::MESSAGES_SENT), Some(500));
        f.observe_sys(
            "$SYS/broker/messages/sent",
            b"600",
            t0 + Duration::from_secs(1),
            true,
        );
        assert_eq!(f.rate(name::MESSAGES_SENT, t0 + Duration::from_secs(1)), None);
        f.observe_sys(
            "$SYS/broker/messages/sent",
            b"700",
            t0 + Duration::from_secs(2),
            true,
        );
        assert_eq!(
            f.rate(name::MESSAGES_SENT, t0 + Duration::from_secs(2)),
            Some(100.0)
        );
    }

    #[test]
    fn a_counter_that_goes_back_restarts_and_a_silent_one_reads_zero() {
        let t0 = Instant::now();
        let mut f = Figures::default();
        f.observe(name::PUBLISH_SENT, "100", t0, true);
        f.observe(name::PUBLISH_SENT, "200", t0 + Duration::from_secs(10), true);
        assert_eq!(
            f.rate(name::PUBLISH_SENT, t0 + Duration::from_secs(10)),
            Some(10.0)
        );
        assert_eq!(
            f.rate(name::PUBLISH_SENT, t0 + Duration::from_secs(40)),
            Some(0.0),
            "silent for three intervals"
        );
        f.observe(name::PUBLISH_SENT, "5", t0 + Duration::from_secs(20), true);
        assert_eq!(f.rate(name::PUBLISH_SENT, t0 + Duration::from_secs(20)), None);
    }

    #[test]
    fn numbers_are_read_from_mosquitto_texts() {
        let t0 = Instant::now();
        let mut f = Figures::default();
        f.observe_sys("$SYS/broker/uptime", b"1234 seconds", t0, true);
        f.observe_sys("$SYS/broker/version", b"mosquitto version 2.0.11", t0, true);
        f.observe_sys("$SYS/broker/load/bytes/received/1min", b"12.50", t0, true);
        assert!(!f.observe_sys("other/topic", b"1", t0, true));
        assert_eq!(f.value(name::UPTIME), Some(1234));
        assert_eq!(f.value(name::VERSION), None);
        assert_eq!(f.text(name::VERSION), Some("mosquitto version 2.0.11"));
        assert_eq!(f.value("load/bytes/received/1min"), Some(12));
        assert_eq!(f.len(), 3);
    }

    #[test]
    fn publish_rates_fall_back_to_packet_rates() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let mut f = Figures::default();
        f.observe(name::MESSAGES_RECEIVED, "0", t0, true);
        f.observe(name::MESSAGES_RECEIVED, "50", t1, true);
        assert_eq!(f.messages_in_rate(t1), Some(50.0));
        f.observe(name::PUBLISH_RECEIVED, "0", t0, true);
        f.observe(name::PUBLISH_RECEIVED, "20", t1, true);
        assert_eq!(f.messages_in_rate(t1), Some(20.0));
    }
}
