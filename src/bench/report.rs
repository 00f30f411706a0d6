//! The figures of a finished run: one [`Report`] that prints as a table for people and as one
//! JSON object with stable keys for machines.

use std::fmt::Write;

use serde::Serialize;

use super::stats::Percentiles;

/// One kind of error and how often it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorKind {
    /// The error, worded for a person.
    pub error: String,
    /// How many times.
    pub count: u64,
}

/// Everything a run measured. Every key is always present in the JSON (null or 0 when it does
/// not apply), so scripts can rely on them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// False when the run failed: clients could not connect, hit errors, messages the broker
    /// acknowledged never arrived, or (`--compare`) a figure regressed beyond the threshold.
    /// The exit code says the same.
    pub passed: bool,
    /// The one line that heads the table: `PASS: ...` with the headline figures, or `FAIL: ...`
    /// with every reason.
    pub verdict: String,
    /// `conn`, `pub`, `sub` or `pubsub`.
    pub command: &'static str,
    /// The `pubsub` scenario.
    pub scenario: Option<&'static str>,
    /// `host:port` of the broker.
    pub broker: String,
    /// MQTT version: `5.0` or `3.1.1`.
    pub protocol: String,
    /// QoS of publishes and subscriptions.
    pub qos: Option<u8>,
    /// Payload bytes per message.
    pub payload_size: Option<usize>,
    /// Publishers.
    pub publishers: usize,
    /// Subscribers.
    pub subscribers: usize,
    /// Subscribers that subscribed to the publishers' topics and then never read (`pubsub
    /// --stalled-subscribers`); not counted in `subscribers`, nothing is expected of them.
    pub stalled_subscribers: usize,
    /// Messages per second per publisher, 0 = unlimited.
    pub rate_per_publisher: Option<f64>,
    /// Messages per second all publishers together offer; null when unlimited (each publisher
    /// as fast as flow control allows: an overload test) or without publishers.
    pub offered_rate: Option<f64>,
    /// Publish window.
    pub inflight: Option<u16>,
    /// Clock of the send times latency is measured against: `process` or `wall`.
    pub clock: Option<&'static str>,
    /// Worker threads of the bench.
    pub threads: usize,
    /// Seconds from the first connection attempt to the end.
    pub elapsed_s: f64,
    /// Seconds of publishing (`conn`: of holding).
    pub active_s: f64,
    /// Clients the run tried to connect.
    pub clients: usize,
    /// Clients that connected.
    pub connected: u64,
    /// Clients that could not connect.
    pub connect_failures: u64,
    /// Connections per second while connecting.
    pub connect_rate: f64,
    /// TCP connect to CONNACK.
    pub connect_latency_us: Percentiles,
    /// Connections lost after they were up.
    pub dropped: u64,
    /// Messages published.
    pub sent: u64,
    /// QoS 1/2 publishes the broker accepted (PUBACK/PUBCOMP with a success reason code).
    pub acked: u64,
    /// Messages the broker took on: `acked` at QoS 1/2; at QoS 0, where there is no answer,
    /// every message sent.
    pub accepted: u64,
    /// QoS 1/2 publishes the broker refused (reason code 0x80 or above, which only MQTT 5 can
    /// say). Not lost, and not errors of the bench: the broker's answer.
    pub refused: u64,
    /// Refusals by reason, most frequent first.
    pub refused_reasons: Vec<ErrorKind>,
    /// QoS 1/2 publishes neither accepted nor refused by the end of the drain time (or when
    /// their connection was lost). At QoS 1/2, sent = acked + refused + unacknowledged.
    pub unacknowledged: u64,
    /// Deliveries of the accepted messages (QoS 0: of every message sent) the subscribers
    /// should have seen (null when unknown, as in `bench sub`).
    pub expected: Option<u64>,
    /// Messages received.
    pub received: u64,
    /// Deliveries of messages the broker acknowledged (QoS 1/2) still not received when the
    /// drain ended: a broken promise. Always 0 at QoS 0 and in `sub`, which cannot know what
    /// was acknowledged (see `not_received`).
    pub lost: u64,
    /// Expected deliveries that never arrived without having been promised: at QoS 0, messages
    /// sent and never received; in `sub`, gaps in the sequence numbers. Earlier versions counted
    /// these in `lost`: `lost + not_received` is that figure.
    pub not_received: u64,
    /// Messages received more than once.
    pub duplicates: u64,
    /// Messages that arrived after a later one of the same publisher.
    pub reordered: u64,
    /// Messages without a bench header (or out of range).
    pub unrecognized: u64,
    /// Messages published per second.
    pub send_rate: f64,
    /// Messages the broker accepted (`accepted`) per second of publishing.
    pub accept_rate: f64,
    /// Payload megabytes (10^6) published per second.
    pub send_mb_s: f64,
    /// Messages received per second (first to last message).
    pub recv_rate: f64,
    /// Payload megabytes received per second.
    pub recv_mb_s: f64,
    /// End-to-end latency.
    pub latency_us: Percentiles,
    /// Publish to PUBACK/PUBCOMP.
    pub ack_latency_us: Percentiles,
    /// Seconds spent after publishing waiting for the last acknowledgements and deliveries: the
    /// drain time at most, and the publishers' disconnect (a broker that does not read them may
    /// make that take up to 3 s more); it ends early once everything arrived or nothing did for
    /// 2 s.
    pub drain_s: f64,
    /// Errors in all.
    pub errors: u64,
    /// Errors by kind, most frequent first.
    pub error_kinds: Vec<ErrorKind>,
    /// CPU the bench used while publishing (`conn`: over the whole run), in cores (1.0 = one
    /// core busy all the time); null off Linux.
    pub bench_cpu: Option<f64>,
    /// CPU the broker used over the same time, with `--broker-pid`.
    pub broker_cpu: Option<f64>,
    /// The broker's resident memory (VmRSS, KiB) before the first connection, with `--broker-pid`.
    pub broker_rss_kib_before: Option<u64>,
    /// The broker's resident memory at the end of publishing (`conn`: while holding).
    pub broker_rss_kib: Option<u64>,
    /// `conn`: the growth of the broker's memory per connection held, in bytes.
    pub broker_bytes_per_connection: Option<u64>,
}

/// Rounds to 3 decimals (keeps the JSON readable).
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A count with thousands separators: 1,234,567.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A percentage as people write it: 5, 2.5.
pub fn percent(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Microseconds as milliseconds with 3 decimals.
pub fn ms(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

impl Report {
    /// The header line on the load publishers offer, when they publish: unlimited is an
    /// overload test, whose figures mean something else than a paced run's.
    fn offered_load(&self) -> Option<String> {
        if self.publishers == 0 || matches!(self.command, "sub" | "conn") {
            return None;
        }
        Some(match self.offered_rate {
            None => "offered load: unlimited (each publisher as fast as flow control allows); \
                     use --rate for a bounded run"
                .to_string(),
            Some(total) => format!(
                "offered load: {} msg/s ({} per publisher)",
                count(total.round() as u64),
                self.rate_per_publisher
                    .map_or(0.0, |r| (r * 1000.0).round() / 1000.0)
            ),
        })
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a report always serializes")
    }

    /// The summary table.
    pub fn table(&self) -> String {
        let mut t = String::new();
        if !self.verdict.is_empty() {
            let _ = writeln!(t, "{}", self.verdict);
        }
        let mut what = format!("bench {}", self.command);
        if let Some(s) = self.scenario {
            let _ = write!(what, " {s}");
        }
        let _ = write!(t, "{what} against {} (MQTT {}", self.broker, self.protocol);
        if let Some(qos) = self.qos {
            let _ = write!(t, ", QoS {qos}");
        }
        if let Some(size) = self.payload_size {
            let _ = write!(t, ", {size} B payload");
        }
        if self.command != "conn" {
            let _ = write!(t, ", {} pub, {} sub", self.publishers, self.subscribers);
        } else if self.publishers > 0 {
            let rate = self.rate_per_publisher.unwrap_or(0.0);
            let _ = write!(t, ", a bystander pair at {rate} msg/s while connecting");
        }
        if self.stalled_subscribers > 0 {
            let _ = write!(t, ", {} stalled sub", self.stalled_subscribers);
        }
        let _ = writeln!(t, ")");
        if let Some(load) = self.offered_load() {
            let _ = writeln!(t, "{load}");
        }
        let _ = writeln!(
            t,
            "connections  {} of {} connected, {} failed, {} dropped ({}/s)",
            count(self.connected),
            count(self.clients as u64),
            count(self.connect_failures),
            count(self.dropped),
            count(self.connect_rate as u64)
        );
        if self.command != "conn" || self.publishers > 0 {
            let _ = writeln!(t);
            let _ = writeln!(
                t,
                "{:<12} {:>14} {:>12} {:>9}",
                "messages", "count", "msg/s", "MB/s"
            );
            if self.publishers > 0 {
                let _ = writeln!(
                    t,
                    "{:<12} {:>14} {:>12} {:>9.2}",
                    "sent",
                    count(self.sent),
                    count(self.send_rate as u64),
                    self.send_mb_s
                );
                if self.qos.unwrap_or(0) > 0 {
                    let _ = writeln!(
                        t,
                        "{:<12} {:>14} {:>12}",
                        "accepted",
                        count(self.accepted),
                        count(self.accept_rate as u64)
                    );
                    for (name, n) in [("refused", self.refused), ("unacked", self.unacknowledged)] {
                        if n > 0 {
                            let _ = writeln!(t, "{:<12} {:>14}", name, count(n));
                        }
                    }
                }
            }
            if self.subscribers > 0 {
                let _ = writeln!(
                    t,
                    "{:<12} {:>14} {:>12} {:>9.2}",
                    "received",
                    count(self.received),
                    count(self.recv_rate as u64),
                    self.recv_mb_s
                );
                if let Some(expected) = self.expected {
                    let _ = writeln!(t, "{:<12} {:>14}", "expected", count(expected));
                }
                // Lost is a broken promise, which needs an acknowledgement: at QoS 0 and in
                // `bench sub` what is missing is only not received.
                let missing = if self.qos.unwrap_or(0) > 0 && self.command != "sub" {
                    ("lost", self.lost)
                } else {
                    ("not received", self.not_received)
                };
                for (name, n) in [
                    missing,
                    ("duplicates", self.duplicates),
                    ("reordered", self.reordered),
                ] {
                    let _ = writeln!(t, "{:<12} {:>14}", name, count(n));
                }
                if self.unrecognized > 0 {
                    let _ = writeln!(t, "{:<12} {:>14}", "unrecognized", count(self.unrecognized));
                }
            }
        }
        let _ = writeln!(t);
        let _ = writeln!(
            t,
            "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "latency ms", "p50", "p90", "p99", "p99.9", "max", "count"
        );
        let mut rows = vec![("connect", &self.connect_latency_us)];
        if self.subscribers > 0 {
            rows.push(("end to end", &self.latency_us));
        }
        if self.publishers > 0 && self.qos.unwrap_or(0) > 0 {
            rows.push(("publish ack", &self.ack_latency_us));
        }
        for (name, p) in rows {
            let _ = writeln!(
                t,
                "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                name,
                ms(p.p50),
                ms(p.p90),
                ms(p.p99),
                ms(p.p999),
                ms(p.max),
                count(p.count)
            );
        }
        let _ = writeln!(t);
        let _ = write!(t, "errors       {}", count(self.errors));
        let _ = writeln!(t);
        for kind in self.error_kinds.iter().take(5) {
            let _ = writeln!(t, "  {:>8} × {}", count(kind.count), kind.error);
        }
        if self.refused > 0 {
            let _ = writeln!(t, "refused      {}", count(self.refused));
            for kind in self.refused_reasons.iter().take(5) {
                let _ = writeln!(t, "  {:>8} × {}", count(kind.count), kind.error);
            }
        }
        let _ = write!(
            t,
            "time         {:.1} s ({:.1} s {}",
            self.elapsed_s,
            self.active_s,
            if self.command == "conn" {
                "holding"
            } else {
                "active"
            }
        );
        if self.drain_s > 0.0 {
            let _ = write!(t, ", {:.1} s draining", self.drain_s);
        }
        t.push(')');
        if let Some(cpu) = self.bench_cpu {
            let _ = write!(t, ", bench CPU {:.2} cores on {} threads", cpu, self.threads);
        }
        let _ = writeln!(t);
        if let (Some(before), Some(after)) = (self.broker_rss_kib_before, self.broker_rss_kib) {
            let _ = write!(t, "broker       RSS {} → {} KiB", count(before), count(after));
            if let Some(per) = self.broker_bytes_per_connection {
                let _ = write!(t, " ({} bytes per connection)", count(per));
            }
            if let Some(cpu) = self.broker_cpu {
                let _ = write!(t, ", CPU {cpu:.2} cores");
            }
            let _ = writeln!(t);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(ms(1234), "1.234");
        assert_eq!(ms(7), "0.007");
        assert_eq!(percent(5.0), "5");
        assert_eq!(percent(2.5), "2.5");
        assert_eq!(percent(0.25), "0.25");
    }

    #[test]
    fn json_has_every_key() {
        let r = Report {
            command: "pubsub",
            ..Report::default()
        };
        let v = r.to_json();
        for key in [
            "passed",
            "verdict",
            "command",
            "scenario",
            "offered_rate",
            "sent",
            "acked",
            "accepted",
            "accept_rate",
            "not_received",
            "refused",
            "refused_reasons",
            "unacknowledged",
            "received",
            "lost",
            "drain_s",
            "duplicates",
            "reordered",
            "send_rate",
            "recv_mb_s",
            "latency_us",
            "errors",
            "connect_failures",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["latency_us"]["p999"], 0);
        assert!(r.table().contains("bench pubsub"));
    }

    #[test]
    fn what_is_missing_is_lost_only_when_it_was_acknowledged() {
        let row = |r: &Report, name: &str| r.table().lines().any(|l| l.starts_with(name));
        let mut r = Report {
            command: "pubsub",
            qos: Some(0),
            publishers: 1,
            subscribers: 1,
            verdict: "PASS: it went well".into(),
            ..Report::default()
        };
        assert!(
            r.table().starts_with("PASS: it went well\nbench pubsub"),
            "{}",
            r.table()
        );
        assert!(row(&r, "not received") && !row(&r, "lost"), "{}", r.table());
        assert!(!row(&r, "accepted"), "{}", r.table());
        r.qos = Some(1);
        assert!(row(&r, "lost") && !row(&r, "not received"), "{}", r.table());
        assert!(row(&r, "accepted"), "{}", r.table());
        r.command = "sub";
        r.publishers = 0;
        assert!(row(&r, "not received") && !row(&r, "lost"), "{}", r.table());
        assert!(!r.table().contains("offered load"), "{}", r.table());
    }
}
