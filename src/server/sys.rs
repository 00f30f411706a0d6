//! The `$SYS` tree: broker figures published as retained messages every `sys_interval`,
//! under Mosquitto's topic names so existing tools read them.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

use super::broker::{Broker, Message};
use super::metrics::{get, Metrics};
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

const LOADS: [&str; 7] = [
    "messages/received",
    "messages/sent",
    "publish/received",
    "publish/sent",
    "bytes/received",
    "bytes/sent",
    "connections",
];

fn load_counters(m: &Metrics) -> [u64; 7] {
    [
        get(&m.messages_received),
        get(&m.messages_sent),
        m.publish_received_total(),
        m.publish_sent_total(),
        get(&m.bytes_received),
        get(&m.bytes_sent),
        get(&m.connections_total),
    ]
}

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
        let m = &broker.metrics;
        let census = broker.census();
        let connected = get(&m.clients_connected);
        let figures: [(&str, u64); 20] = [
            ("uptime", broker.started.elapsed().as_secs()),
            ("clients/connected", connected),
            ("clients/active", connected),
            (
                "clients/disconnected",
                (census.sessions as u64).saturating_sub(connected),
            ),
            ("clients/total", census.sessions as u64),
            ("clients/maximum", get(&m.clients_maximum)),
            ("messages/received", get(&m.messages_received)),
            ("messages/sent", get(&m.messages_sent)),
            ("publish/messages/received", m.publish_received_total()),
            ("publish/messages/sent", m.publish_sent_total()),
            ("publish/messages/dropped", get(&m.publish_dropped)),
            ("bytes/received", get(&m.bytes_received)),
            ("bytes/sent", get(&m.bytes_sent)),
            ("subscriptions/count", census.subscriptions as u64),
            // robustmq's own: refused logins and what the ACL refused.
            ("clients/auth_failures", get(&m.auth_failures)),
            ("clients/tls_handshake_failures", get(&m.tls_handshake_failures)),
            ("publish/messages/denied", get(&m.publish_denied)),
            ("subscriptions/denied", get(&m.subscribe_denied)),
            // robustmq's own: where the broker stands against limits.max_memory.
            ("memory/used", broker.memory.used() as u64),
            ("memory/max", broker.memory.max() as u64),
        ];
        for (topic, value) in figures {
            let text = if topic == "uptime" {
                format!("{value} seconds")
            } else {
                value.to_string()
            };
            publish(&broker, topic, text);
        }
        // robustmq's own: what each of the [limits] refused (or, for keep alive, changed).
        for figure in m.limits.snapshot().figures() {
            publish(
                &broker,
                &format!("limits/{}", figure.name),
                figure.value.to_string(),
            );
        }
        publish(&broker, "retained messages/count", census.retained.to_string());
        if let Some(store) = broker.store() {
            // robustmq's own figures (Mosquitto has no store to report): commits and fsyncs
            // since start show group commit at work, the gauge what persistent sessions hold.
            let stats = store.stats();
            publish(&broker, "store/commits", stats.commits.to_string());
            publish(&broker, "store/fsyncs", stats.fsyncs.to_string());
            // What a full disk refused, and whether it is full now (1) or not (0).
            publish(&broker, "store/errors", stats.errors.to_string());
            publish(&broker, "store/full", u8::from(stats.full).to_string());
            publish(
                &broker,
                "store/last_commit_us",
                stats.last_commit_micros.to_string(),
            );
            publish(&broker, "store/bytes", get(&m.store_bytes).to_string());
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
        // Mosquitto counts retained messages and messages queued for durable clients here.
        let stored = census.queued_messages + census.retained;
        publish(&broker, "store/messages/count", stored.to_string());
        for ((load, name), counter) in loads.iter_mut().zip(LOADS).zip(load_counters(m)) {
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
}
