//! `max_packet_size` and `connect_timeout`: the connection is closed, with the right reason,
//! and counted (`limits/packet_too_large`, `limits/connect_timeouts`).

use std::time::Duration;

use super::common::*;

#[tokio::test]
async fn a_packet_over_max_packet_size_closes_the_connection_and_is_counted() {
    let broker = start_with(|s| s.limits.max_packet_size = 1024).await;
    assert_eq!(broker.limits().packet_too_large, 0);
    let mut v5 = connected(&broker, 5, "big-v5").await;
    v5.send(&publish(5, "t", 0, 0, &[], &[b'x'; 2000])).await;
    // [MQTT-3.2.2-15]: the server's maximum packet size was announced; beyond it, 0x95.
    assert_eq!(disconnect_reason(&mut v5).await, 0x95);
    let mut v311 = connected(&broker, 4, "big-v311").await;
    v311.send(&publish(4, "t", 0, 0, &[], &[b'x'; 2000])).await;
    v311.expect_close().await;
    // A CONNECT that is itself too large.
    let mut raw = Raw::connect(broker.addr).await;
    raw.send(&connect_packet(4, &"c".repeat(1500), 60, None)).await;
    raw.expect_close().await;
    assert_eq!(broker.limits().packet_too_large, 3);
}

#[tokio::test]
async fn a_connection_without_connect_in_time_is_closed_and_counted() {
    let broker = start_with(|s| s.limits.connect_timeout = Duration::from_millis(300)).await;
    let mut silent = Raw::connect(broker.addr).await;
    // Half a CONNECT, then nothing.
    silent.send(&[0x10, 0x0c, 0, 4]).await;
    assert!(silent.expect_close().await.is_empty(), "closed without a CONNACK");
    assert_eq!(broker.limits().connect_timeouts, 1);
    // A client that connects in time is not affected.
    let _ok = connected(&broker, 5, "prompt").await;
    assert_eq!(broker.limits().connect_timeouts, 1);
}
