//! Keep alive: silent clients are dropped, PINGREQ/PINGRESP keeps them, the connect timeout,
//! and the v5 Server Keep Alive.

use std::time::Duration;

use super::common::*;

const PINGREQ: [u8; 2] = [0xC0, 0x00];
const PINGRESP: [u8; 2] = [0xD0, 0x00];

/// A raw client with keep alive 1 s that sends nothing after CONNACK; returns what the broker
/// sent before closing. [`Raw::expect_close`] fails if it is still open after [`WAIT`].
async fn silent_client_closed(level: u8) -> Vec<Vec<u8>> {
    let broker = start().await;
    let mut raw = Raw::connect(&broker).await;
    raw.send(&connect_packet(level, &format!("ka-silent{level}"), 1))
        .await;
    let connack = raw.packet().await.expect("CONNACK");
    assert_eq!(&connack[..2], &[0x20, if level == 5 { connack[1] } else { 2 }]);
    assert_eq!(connack[3], 0, "accepted: {connack:?}");
    raw.expect_close().await
}

// 3.1.1 [MQTT-3.1.2-24]: nothing received for 1.5 x keep alive → the server disconnects.
#[tokio::test]
async fn keepalive_expired_closes_connection_v311() {
    let seen = silent_client_closed(4).await;
    assert!(seen.is_empty(), "3.1.1 gets no packet before the close: {seen:?}");
}

// v5 [MQTT-3.1.2-22]; a DISCONNECT before the close, if any, says 0x8D (Keep Alive timeout).
// No Server Keep Alive was sent, so the client's own value is the one used [MQTT-3.2.2-22].
#[tokio::test]
async fn keepalive_expired_closes_connection_v5() {
    let seen = silent_client_closed(5).await;
    for p in &seen {
        assert_eq!(p[0], 0xE0, "only a DISCONNECT may precede the close: {seen:?}");
        assert_eq!(p.get(2), Some(&0x8D), "Keep Alive timeout: {p:?}");
    }
}

// [MQTT-3.1.2-23] (3.1.1): PINGREQ counts as a control packet, so a client that pings every
// 0.5 s with keep alive 1 s stays connected (here for 3 s, twice the 1.5 s limit).
#[tokio::test]
async fn pingreq_keeps_connection_alive() {
    let broker = start().await;
    let mut raw = Raw::connect(&broker).await;
    raw.send(&connect_packet(4, "ka-pinger", 1)).await;
    assert_eq!(raw.packet().await.expect("CONNACK")[0], 0x20);
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        raw.send(&PINGREQ).await;
        assert_eq!(
            raw.packet().await.as_deref(),
            Some(&PINGRESP[..]),
            "closed though it kept pinging"
        );
    }
}

// [MQTT-3.12.4-1]: the server answers PINGREQ with PINGRESP (D0 00).
#[tokio::test]
async fn pingreq_gets_pingresp_v311() {
    let broker = start().await;
    let mut raw = raw_connected(&broker, 4, "ka-ping").await;
    raw.send(&PINGREQ).await;
    assert_eq!(raw.packet().await.as_deref(), Some(&PINGRESP[..]));
}

#[tokio::test]
async fn pingreq_gets_pingresp_v5() {
    let broker = start().await;
    let mut raw = raw_connected(&broker, 5, "ka5-ping").await;
    raw.send(&PINGREQ).await;
    assert_eq!(raw.packet().await.as_deref(), Some(&PINGRESP[..]));
}

// MQTT §3.1.4: a connection that sends no CONNECT within a reasonable time is closed
// (`limits.connect_timeout`).
#[tokio::test]
async fn connect_timeout_drops_silent_connection() {
    let broker = start_with(|s| s.limits.connect_timeout = Duration::from_secs(1)).await;
    let mut raw = Raw::connect(&broker).await;
    let seen = raw.expect_close().await;
    assert!(seen.is_empty(), "no packet before CONNECT: {seen:?}");
}

// v5 §3.2.2.3.14 / [MQTT-3.2.2-21]: the server may impose its own keep alive with Server Keep
// Alive; with `limits.max_keepalive = 10` a client asking for 60 is told 10.
#[tokio::test]
async fn v5_server_keep_alive_caps_requested_keep_alive() {
    let broker = start_with(|s| s.limits.max_keepalive = 10).await;
    let mut o = v5::options(&broker, "ka5-cap");
    o.set_keep_alive(Duration::from_secs(60));
    let (_c, connack) = v5::connect_with(o).await;
    let properties = connack.properties.expect("CONNACK properties");
    assert_eq!(properties.server_keep_alive, Some(10));

    // A keep alive within the limit is granted as asked.
    let mut o = v5::options(&broker, "ka5-within");
    o.set_keep_alive(Duration::from_secs(5));
    let (_c, connack) = v5::connect_with(o).await;
    let granted = connack.properties.and_then(|p| p.server_keep_alive);
    assert!(matches!(granted, None | Some(5)), "granted {granted:?}");
}
