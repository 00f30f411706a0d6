//! The `$SYS` tree: broker figures published as retained messages every `sys_interval`,
//! under Mosquitto's topic names so existing tools read them.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

use super::broker::{Broker, Message};
use super::figures;
use super::metrics::table::{by_prometheus_name, Sys, METRICS};
use crate::protocol::{MessageProperties, QoS};

/// Exponentially weighted per-minute rates, like Mosquitto's `load/*` figures.
#[derive(Debug, Default, Clone, Copy)]
struct Load {
    last: u64,
    one: f64,
    five: f64,
    fifteen: f64,
}

impl Load {
    /// Folds the counter's change over `interval` into the three averages (per minute).
    fn update(&mut self, counter: u64, interval: Duration) {
        let secs = interval.as_secs_f64().max(0.001);
        let per_minute = (counter.saturating_sub(self.last)) as f64 * 60.0 / secs;
        self.last = counter;
        for (avg, window) in [
            (&mut self.one, 60.0),
            (&mut self.five, 300.0),
            (&mut self.fifteen, 900.0),
        ] {
            let factor = (-secs / window).exp();
            *avg = per_minute + factor * (*avg - per_minute);
        }
    }
}

/// The `load/<name>/*` averages, each of the table's counter named by its Prometheus family.
const LOADS: [(&str, &str); 7] = [
    ("messages/received", "robustmq_packets_received_total"),
    ("messages/sent", "robustmq_packets_sent_total"),
    ("publish/received", "robustmq_messages_received_total"),
    ("publish/sent", "robustmq_messages_sent_total"),
    ("bytes/received", "robustmq_bytes_received_total"),
    ("bytes/sent", "robustmq_bytes_sent_total"),
    ("connections", "robustmq_connections_total"),
];

fn publish(broker: &Broker, topic: &str, value: String) {
    broker.publish(
        Message {
            topic: Arc::from(format!("$SYS/broker/{topic}")),
            payload: Bytes::from(value),
            qos: QoS::AtMostOnce,
            retain: true,
            properties: MessageProperties::default(),
            expires_at: None,
            publisher: None,
        },
        Default::default(),
        None,
    );
}

/// Publishes the `$SYS` tree now and then every `interval` until shutdown.
pub async fn run(broker: Arc<Broker>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    publish(
        &broker,
        "version",
        format!("robustmq version {}", env!("CARGO_PKG_VERSION")),
    );
    let mut loads = [Load::default(); 7];
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        broker.prune_retained();
        let now = figures::read(&broker);
        for metric in METRICS {
            let topic = match metric.sys {
                Some(Sys::Topic(topic)) => topic,
                Some(Sys::WithStore(topic)) if now.store.is_some() => topic,
                _ => continue,
            };
            publish(&broker, topic, metric.sys_text(&now));
        }
        // robustmq's own: each bridge's link and what it carried.
        for b in broker.bridges.figures() {
            let at = |what: &str| format!("bridges/{}/{what}", b.name);
            publish(&broker, &at("state"), b.state.to_string());
            publish(&broker, &at("queued"), b.queued.to_string());
            publish(&broker, &at("sent"), b.sent.to_string());
            publish(&broker, &at("received"), b.received.to_string());
            publish(&broker, &at("dropped"), b.dropped.to_string());
        }
        for (load, (name, family)) in loads.iter_mut().zip(LOADS) {
            let counter = by_prometheus_name(family).map_or(0, |m| m.total(&now));
            load.update(counter, interval);
            publish(&broker, &format!("load/{name}/1min"), format!("{:.2}", load.one));
            publish(&broker, &format!("load/{name}/5min"), format!("{:.2}", load.five));
            publish(
                &broker,
                &format!("load/{name}/15min"),
                format!("{:.2}", load.fifteen),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::metrics::table::Kind;

    #[test]
    fn load_converges_to_the_steady_rate() {
        let mut load = Load::default();
        let mut counter = 0;
        for _ in 0..1000 {
            counter += 100; // 100 per 10 s = 600 per minute
            load.update(counter, Duration::from_secs(10));
        }
        assert!((load.one - 600.0).abs() < 1.0, "{}", load.one);
        assert!((load.fifteen - 600.0).abs() < 50.0, "{}", load.fifteen);
    }

    #[test]
    fn every_load_averages_a_counter_of_the_table() {
        for (name, family) in LOADS {
            let metric = by_prometheus_name(family).unwrap_or_else(|| panic!("{name}: {family}"));
            let kind = metric.prometheus.map(|f| f.kind);
            assert_eq!(kind, Some(Kind::Counter), "{name}: {family}");
        }
    }
}
