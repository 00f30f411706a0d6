//! The limit counters where operators read them: retained under `$SYS/broker/limits/`, as
//! `robustmq_limit_<name>_total` on the Prometheus endpoint, and under `limits` in the admin
//! API's `broker/stats` reply.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::common::*;

/// Every counter's name.
const NAMES: [&str; 15] = [
    "connections_refused",
    "connection_rate_refused",
    "publish_rate_exceeded",
    "topic_refused",
    "subscriptions_refused",
    "keepalive_refused",
    "keepalive_adjusted",
    "inflight_exceeded",
    "packet_too_large",
    "connect_timeouts",
    "publishers_paced",
    "qos0_shed",
    "subscribers_stalled",
    "stalled_dropped",
    "offline_dropped",
];

#[tokio::test]
async fn limit_counters_are_published_everywhere() {
    let broker = start_with(|s| {
        s.server.sys_interval = Duration::from_millis(200);
        s.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
        s.limits.min_keepalive = 10;
    })
    .await;
    // One refusal to look for: a 3.1.1 client without keep alive.
    let mut raw = Raw::connect(broker.addr).await;
    raw.send(&connect_packet(4, "no-keep-alive", 0, None)).await;
    let seen = raw.expect_close().await;
    assert_eq!(Connack::parse(4, &seen[0]).code, 2);
    assert_eq!(broker.limits().keepalive_refused, 1);

    // $SYS, the next time it is published.
    let mut watcher = connected(&broker, 5, "sys-watcher").await;
    watcher
        .send(&subscribe(5, 1, &[("$SYS/broker/limits/#", 0)]))
        .await;
    watcher.next_of(9).await;
    let mut tree = HashMap::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while tree.len() < NAMES.len() || tree.get("keepalive_refused") != Some(&"1".to_string()) {
        assert!(tokio::time::Instant::now() < deadline, "$SYS seen: {tree:?}");
        let (topic, payload) = parse_publish(5, &watcher.next_of(3).await);
        let name = topic
            .strip_prefix("$SYS/broker/limits/")
            .unwrap_or_else(|| panic!("{topic} outside the subscription"));
        assert!(NAMES.contains(&name), "unknown counter {topic}");
        tree.insert(name.to_string(), String::from_utf8(payload).unwrap());
    }
    for name in NAMES.iter().filter(|n| **n != "keepalive_refused") {
        assert_eq!(tree[*name], "0", "{name}");
    }

    // Prometheus.
    let metrics_addr = broker.server().metrics_addr().expect("metrics endpoint");
    let mut http = TcpStream::connect(metrics_addr).await.unwrap();
    http.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    tokio::time::timeout(WAIT, http.read_to_string(&mut body))
        .await
        .expect("metrics in time")
        .unwrap();
    for name in NAMES {
        let metric = format!("robustmq_limit_{name}_total");
        assert!(body.contains(&format!("# HELP {metric} ")), "{metric} HELP");
        assert!(
            body.contains(&format!("# TYPE {metric} counter\n")),
            "{metric} TYPE"
        );
        let value = if name == "keepalive_refused" { 1 } else { 0 };
        assert!(
            body.contains(&format!("\n{metric} {value}\n")),
            "{metric} {value}"
        );
    }

    // The admin API's broker/stats (3.1.1: the reply comes on the .../response topic).
    let mut admin = connected(&broker, 4, "admin").await;
    admin
        .send(&subscribe(
            4,
            1,
            &[("$CONTROL/robustmq/v1/broker/stats/response", 0)],
        ))
        .await;
    admin.next_of(9).await;
    admin
        .send(&publish(4, "$CONTROL/robustmq/v1/broker/stats", 0, 0, &[], b"{}"))
        .await;
    let (_, reply) = parse_publish(4, &admin.next_of(3).await);
    let reply: serde_json::Value = serde_json::from_slice(&reply).expect("JSON reply");
    for name in NAMES {
        let value = if name == "keepalive_refused" { 1 } else { 0 };
        assert_eq!(reply["limits"][name], value, "{name} in {reply}");
    }
    broker.stop().await;
}
