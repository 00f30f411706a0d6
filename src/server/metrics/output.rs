//! How each surface writes a row of the metrics table: the `$SYS` payload, the Prometheus
//! samples, the `broker/stats` fields.

use serde_json::{Map, Value};

use super::table::{Kind, Metric, Read, Sources, METRICS};

/// Label sets of the three samples of a [`Read::ByQos`] family.
const QOS_LABELS: [&str; 3] = ["qos=\"0\"", "qos=\"1\"", "qos=\"2\""];

/// A Prometheus sample value: counters print as whole numbers, gauges as floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// A whole number.
    Int(u64),
    /// A float.
    Float(f64),
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Int(n) => write!(f, "{n}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

impl Metric {
    /// The figure as one whole number: a per-QoS figure's sum, a duration's whole seconds.
    pub fn total(&self, s: &Sources) -> u64 {
        match self.read {
            Read::Count(read) | Read::Micros(read) => read(s),
            // Wrapping, as the counters themselves do.
            Read::ByQos(read) => read(s).iter().fold(0, |sum, n| sum.wrapping_add(*n)),
            Read::Seconds(read) => read(s).as_secs(),
        }
    }

    /// The payload of its `$SYS` topic.
    pub fn sys_text(&self, s: &Sources) -> String {
        match self.read {
            Read::Seconds(read) => format!("{} seconds", read(s).as_secs()),
            _ => self.total(s).to_string(),
        }
    }

    /// Its Prometheus samples: `(labels, value)`, labels being the text inside the braces or
    /// empty. `kind` is the family's type.
    pub fn samples(&self, kind: Kind, s: &Sources) -> Vec<(&'static str, Number)> {
        let number = |n: u64| match kind {
            Kind::Counter => Number::Int(n),
            Kind::Gauge => Number::Float(n as f64),
        };
        match self.read {
            Read::Count(read) => vec![("", number(read(s)))],
            Read::ByQos(read) => QOS_LABELS.into_iter().zip(read(s).map(number)).collect(),
            Read::Seconds(read) => vec![("", Number::Float(read(s).as_secs_f64()))],
            Read::Micros(read) => vec![("", Number::Float(read(s) as f64 / 1e6))],
        }
    }

    /// Adds its `broker/stats` fields, if it has any, to `out`.
    fn add_stats(&self, s: &Sources, out: &mut Map<String, Value>) {
        let Some(field) = self.stats else {
            return;
        };
        let (out, name) = match field.split_once('.') {
            Some((object, name)) => {
                let entry = out.entry(object).or_insert_with(|| Value::Object(Map::new()));
                // A field of the same name that is not an object cannot be (a unit test
                // checks the table); the figure is left out rather than replace it.
                let Some(object) = entry.as_object_mut() else {
                    return;
                };
                (object, name)
            }
            None => (out, field),
        };
        out.insert(name.to_string(), Value::from(self.total(s)));
        if let Read::ByQos(read) = self.read {
            out.insert(format!("{name}_by_qos"), Value::from(read(s).to_vec()));
        }
    }
}

/// The `broker/stats` reply: the version, then every row's fields.
pub fn stats(s: &Sources) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("version".into(), Value::from(env!("CARGO_PKG_VERSION")));
    for metric in METRICS {
        metric.add_stats(s, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::table::by_prometheus_name;
    use super::super::{add, Metrics};
    use super::*;
    use crate::store::StoreStats;

    #[test]
    fn each_surface_writes_a_figure_its_own_way() {
        let metrics = Metrics::default();
        add(&metrics.publish_received[0], 2);
        add(&metrics.publish_received[2], 3);
        add(&metrics.limits.qos0_shed, 4);
        let s = Sources {
            metrics: &metrics,
            uptime: Duration::from_millis(61_500),
            sessions: 0,
            subscriptions: 0,
            retained: 1,
            queued_messages: 2,
            memory_used: 0,
            memory_max: 0,
            store: Some(StoreStats {
                last_commit_micros: 1_500,
                ..StoreStats::default()
            }),
        };
        let row = |name| by_prometheus_name(name).unwrap_or_else(|| panic!("{name}"));

        let uptime = row("robustmq_uptime_seconds");
        assert_eq!(uptime.sys_text(&s), "61 seconds");
        assert_eq!(uptime.samples(Kind::Gauge, &s), [("", Number::Float(61.5))]);

        let received = row("robustmq_messages_received_total");
        assert_eq!(received.sys_text(&s), "5");
        assert_eq!(
            received.samples(Kind::Counter, &s),
            [
                ("qos=\"0\"", Number::Int(2)),
                ("qos=\"1\"", Number::Int(0)),
                ("qos=\"2\"", Number::Int(3))
            ]
        );

        let commit = row("robustmq_store_last_commit_seconds");
        assert_eq!(commit.sys_text(&s), "1500");
        assert_eq!(commit.samples(Kind::Gauge, &s), [("", Number::Float(0.0015))]);

        let json = stats(&s);
        assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(json["uptime_seconds"], 61);
        assert_eq!(json["publish_received"], 5);
        assert_eq!(json["publish_received_by_qos"], serde_json::json!([2, 0, 3]));
        assert_eq!(json["stored_messages"], 3);
        assert_eq!(json["limits"]["qos0_shed"], 4);
        assert_eq!(json["limits"].as_object().map(|l| l.len()), Some(15));
    }
}
