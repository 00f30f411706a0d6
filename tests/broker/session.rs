//! Sessions: persistent and clean sessions, offline queueing, redelivery with DUP, session
//! takeover, v5 session expiry and clean start, and the bound on queued messages.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::common::*;
use super::versions::both_versions;

fn v3_persistent(broker: &TestBroker, id: &str) -> v3::MqttOptions {
    let mut o = v3::options(broker, id);
    o.set_clean_session(false);
    o
}

fn v5_persistent(broker: &TestBroker, id: &str, expiry: u32, clean_start: bool) -> v5::MqttOptions {
    let mut o = v5::options(broker, id);
    o.set_clean_start(clean_start);
    o.set_session_expiry_interval(Some(expiry));
    o
}

/// Disconnects cleanly (DISCONNECT) and waits for the connection to end.
async fn v3_disconnect(mut c: v3::Client) {
    c.client.disconnect().await.unwrap();
    c.closed().await;
}

async fn v5_disconnect(mut c: v5::Client) {
    c.client.disconnect().await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::timeout_at(deadline, c.incoming.recv())
        .await
        .expect("connection still open after DISCONNECT")
        .is_some()
    {}
}

// [MQTT-3.1.2-4]/[MQTT-3.2.2-2]: with CleanSession=0 the session (its subscriptions) survives a
// reconnect, and CONNACK says Session Present = 1.
// Session Present 0 while there was none [MQTT-3.2.2-3]; the client identifier names the session
// [MQTT-3.1.3-2].
#[tokio::test]
async fn clean_session_false_keeps_subscriptions_v311() {
    let broker = start().await;
    let (mut c, connack) = v3::connect_with(v3_persistent(&broker, "sess-keep")).await;
    assert!(!connack.session_present, "no session existed yet");
    c.subscribe("sess/keep", v3::QoS::AtLeastOnce).await;
    v3_disconnect(c).await;

    let (mut c, connack) = v3::connect_with(v3_persistent(&broker, "sess-keep")).await;
    assert!(connack.session_present, "[MQTT-3.2.2-2] session present");
    let mut publisher = v3::connect(&broker, "sess-keep-pub").await;
    publisher
        .publish_acked("sess/keep", v3::QoS::AtLeastOnce, false, b"still here")
        .await;
    let p = c.publish().await;
    assert_eq!(&p.payload[..], b"still here");
}

// [MQTT-3.1.2-5]: QoS 1 messages matching the subscriptions of a disconnected CleanSession=0
// client are stored and delivered when it reconnects.
// [MQTT-4.5.0-1] the message joins the session of the subscriber, kept while it is away
// [MQTT-4.1.0-1].
#[tokio::test]
async fn offline_qos1_messages_delivered_on_reconnect_v311() {
    let broker = start().await;
    let (mut c, _) = v3::connect_with(v3_persistent(&broker, "sess-offline")).await;
    c.subscribe("sess/offline", v3::QoS::AtLeastOnce).await;
    v3_disconnect(c).await;

    let mut publisher = v3::connect(&broker, "sess-offline-pub").await;
    for i in 0..3u8 {
        publisher
            .publish_acked("sess/offline", v3::QoS::AtLeastOnce, false, &[i])
            .await;
    }
    let (mut c, connack) = v3::connect_with(v3_persistent(&broker, "sess-offline")).await;
    assert!(connack.session_present);
    let got = c.publishes_until_quiet().await;
    let payloads: Vec<u8> = got.iter().map(|p| p.payload[0]).collect();
    assert_eq!(payloads, vec![0, 1, 2], "queued messages in order");
    assert!(got.iter().all(|p| p.qos == v3::QoS::AtLeastOnce));
}

// v5 [MQTT-3.1.2-5]: the session named by the client id [MQTT-3.1.3-2] is resumed; the message
// joined it [MQTT-4.5.0-1].
#[tokio::test]
async fn offline_qos1_messages_delivered_on_reconnect_v5() {
    let broker = start().await;
    let (mut c, _) = v5::connect_with(v5_persistent(&broker, "sess5-offline", 60, true)).await;
    c.subscribe("sess/offline", v5::QoS::AtLeastOnce).await;
    v5_disconnect(c).await;

    let mut publisher = v5::connect(&broker, "sess5-offline-pub").await;
    for i in 0..3u8 {
        publisher
            .publish_acked("sess/offline", v5::QoS::AtLeastOnce, false, &[i])
            .await;
    }
    let (mut c, connack) = v5::connect_with(v5_persistent(&broker, "sess5-offline", 60, false)).await;
    assert!(connack.session_present);
    let got = c.publishes_until_quiet().await;
    let payloads: Vec<u8> = got.iter().map(|p| p.payload[0]).collect();
    assert_eq!(payloads, vec![0, 1, 2], "queued messages in order");
}

// [MQTT-3.1.2-6]/[MQTT-3.2.2-1]: CleanSession=1 discards the previous session: Session Present 0,
// no queued messages, no old subscriptions.
#[tokio::test]
async fn clean_session_true_discards_session_v311() {
    let broker = start().await;
    let (mut c, _) = v3::connect_with(v3_persistent(&broker, "sess-discard")).await;
    c.subscribe("sess/discard", v3::QoS::AtLeastOnce).await;
    v3_disconnect(c).await;
    let mut publisher = v3::connect(&broker, "sess-discard-pub").await;
    publisher
        .publish_acked("sess/discard", v3::QoS::AtLeastOnce, false, b"queued")
        .await;

    let (mut c, connack) = v3::connect_with(v3::options(&broker, "sess-discard")).await;
    assert!(
        !connack.session_present,
        "[MQTT-3.2.2-1] clean session has no session present"
    );
    c.no_publish().await;
    publisher
        .publish_acked("sess/discard", v3::QoS::AtLeastOnce, false, b"after")
        .await;
    c.no_publish().await;
}

/// Raw: receive a QoS 1 PUBLISH, do not acknowledge, drop the socket, reconnect the session and
/// expect the same PUBLISH again with DUP=1.
async fn unacked_resent_with_dup(level: u8) {
    let broker = start().await;
    let id = format!("sess-dup{level}");
    // Clean start 0; in v5 a session expiry of 60 s (property 0x11) keeps the session.
    let properties: &[u8] = if level == 5 { &[0x11, 0, 0, 0, 60] } else { &[] };
    let connect = connect_packet_with(level, &id, 60, 0x00, properties, None);
    let (mut raw, connack) = raw_connect_with(&broker, &connect).await;
    assert_eq!(connack[3], 0, "accepted: {connack:?}");
    raw.subscribe(level, 1, "sess/dup", 1).await;

    let mut publisher = v3::connect(&broker, &format!("{id}-pub")).await;
    publisher
        .publish_acked("sess/dup", v3::QoS::AtLeastOnce, false, b"ack me")
        .await;
    let first = parse_publish(level, &raw.packet().await.expect("PUBLISH"));
    assert_eq!(first.qos, 1);
    assert!(!first.dup, "first delivery has DUP=0");
    assert_eq!(first.payload, b"ack me");
    drop(raw); // no PUBACK

    let (mut raw, connack) = raw_connect_with(&broker, &connect).await;
    assert_eq!(connack[3], 0, "accepted: {connack:?}");
    assert_eq!(connack[2] & 1, 1, "session present");
    let again = parse_publish(level, &raw.packet().await.expect("resent PUBLISH"));
    assert!(again.dup, "[MQTT-3.3.1-1] redelivery has DUP=1: {again:?}");
    assert_eq!(again.packet_id, first.packet_id, "original packet id");
    assert_eq!(again.payload, b"ack me");
    assert_eq!(again.topic, "sess/dup");
    assert_eq!(again.qos, 1);
}

// [MQTT-4.4.0-1]: on reconnect with CleanSession=0 the server resends unacknowledged PUBLISH
// packets with their original packet ids, DUP=1 [MQTT-3.3.1-1].
// The PUBLISH stays unacknowledged until PUBACK [MQTT-4.3.2-1] and keeps its packet id
// [MQTT-2.3.1-4].
// v5 [MQTT-4.4.0-1]: the same with Clean Start 0 and a session expiry.
// Unacknowledged until PUBACK [MQTT-4.3.2-3].
both_versions! {
    #[tokio::test]
    async fn unacked_qos1_resent_with_dup_on_reconnect_v311,
        unacked_qos1_resent_with_dup_on_reconnect_v5(level = 4, 5) {
        unacked_resent_with_dup(level).await;
    }
}

// 3.1.1 [MQTT-3.1.4-2]: a second CONNECT with the same client id disconnects the first client.
#[tokio::test]
async fn session_takeover_disconnects_first_v311() {
    let broker = start().await;
    let mut first = v3::connect(&broker, "sess-takeover").await;
    let mut second = v3::connect(&broker, "sess-takeover").await;
    first.closed().await;
    // The new connection works.
    second.subscribe("sess/takeover", v3::QoS::AtLeastOnce).await;
    let mut publisher = v3::connect(&broker, "sess-takeover-pub").await;
    publisher
        .publish_acked("sess/takeover", v3::QoS::AtLeastOnce, false, b"second")
        .await;
    assert_eq!(&second.publish().await.payload[..], b"second");
}

// v5 [MQTT-3.1.4-3]: the existing connection is sent DISCONNECT 0x8E (Session taken over), then
// closed. (A raw client: rumqttc reports a server DISCONNECT as an error, not as a packet.)
#[tokio::test]
async fn session_takeover_disconnects_first_v5() {
    let broker = start().await;
    let mut first = raw_connected(&broker, 5, "sess5-takeover").await;
    let mut second = v5::connect(&broker, "sess5-takeover").await;
    let seen = first.expect_close().await;
    let disconnect = seen.last().expect("DISCONNECT before close");
    assert_eq!(disconnect[0], 0xE0, "DISCONNECT expected: {seen:?}");
    assert_eq!(
        disconnect.get(2),
        Some(&0x8E),
        "reason Session taken over: {disconnect:?}"
    );
    second.subscribe("sess/takeover", v5::QoS::AtLeastOnce).await;
    let mut publisher = v5::connect(&broker, "sess5-takeover-pub").await;
    publisher
        .publish_acked("sess/takeover", v5::QoS::AtLeastOnce, false, b"second")
        .await;
    assert_eq!(&second.publish().await.payload[..], b"second");
}

// v5 [MQTT-3.1.2-23]: the session is kept after the connection closes for Session Expiry Interval
// seconds, and not longer.
// Session Present says whether the session is there [MQTT-3.2.2-3]; once the interval has passed
// it is gone [MQTT-4.1.0-2].
#[tokio::test]
async fn v5_session_expiry_interval() {
    let broker = start().await;
    let (mut short, _) = v5::connect_with(v5_persistent(&broker, "sess5-exp-short", 1, true)).await;
    short.subscribe("sess/exp", v5::QoS::AtLeastOnce).await;
    let (mut long, _) = v5::connect_with(v5_persistent(&broker, "sess5-exp-long", 60, true)).await;
    long.subscribe("sess/exp", v5::QoS::AtLeastOnce).await;
    v5_disconnect(short).await;
    v5_disconnect(long).await;

    tokio::time::sleep(Duration::from_secs(2)).await;

    let (_short, connack) = v5::connect_with(v5_persistent(&broker, "sess5-exp-short", 1, false)).await;
    assert!(!connack.session_present, "1 s session still present after 2 s");
    let (_long, connack) = v5::connect_with(v5_persistent(&broker, "sess5-exp-long", 60, false)).await;
    assert!(connack.session_present, "60 s session gone after 2 s");
}

// v5 [MQTT-3.1.2-4]: Clean Start 1 discards the existing session.
// [MQTT-3.1.4-4] the server performs the Clean Start processing.
#[tokio::test]
async fn v5_clean_start_discards_session() {
    let broker = start().await;
    let (mut c, _) = v5::connect_with(v5_persistent(&broker, "sess5-clean", 60, true)).await;
    c.subscribe("sess/clean", v5::QoS::AtLeastOnce).await;
    v5_disconnect(c).await;
    let mut publisher = v5::connect(&broker, "sess5-clean-pub").await;
    publisher
        .publish_acked("sess/clean", v5::QoS::AtLeastOnce, false, b"queued")
        .await;

    let (mut c, connack) = v5::connect_with(v5_persistent(&broker, "sess5-clean", 60, true)).await;
    assert!(!connack.session_present, "clean start: no session present");
    c.no_publish().await;
    publisher
        .publish_acked("sess/clean", v5::QoS::AtLeastOnce, false, b"after")
        .await;
    c.no_publish().await;
}

// Issue 2: persistent sessions queue offline messages up to `limits.max_queued_messages`, and
// count what was dropped.
#[tokio::test]
async fn offline_queue_bounded_by_max_queued_messages() {
    let broker = start_with(|s| s.limits.max_queued_messages = 5).await;
    let (mut c, _) = v3::connect_with(v3_persistent(&broker, "sess-bound")).await;
    c.subscribe("sess/bound", v3::QoS::AtLeastOnce).await;
    v3_disconnect(c).await;

    let dropped = &broker.server().broker().metrics.publish_dropped;
    let dropped_before = dropped.load(Ordering::Relaxed);
    let mut publisher = v3::connect(&broker, "sess-bound-pub").await;
    for i in 0..20u8 {
        publisher
            .publish_acked("sess/bound", v3::QoS::AtLeastOnce, false, &[i])
            .await;
    }
    let (mut c, connack) = v3::connect_with(v3_persistent(&broker, "sess-bound")).await;
    assert!(connack.session_present);
    let got = c.publishes_until_quiet().await;
    let payloads: Vec<u8> = got.iter().map(|p| p.payload[0]).collect();
    assert_eq!(
        payloads,
        vec![0, 1, 2, 3, 4],
        "the first 5 kept, newer ones dropped"
    );
    let dropped_now = dropped.load(Ordering::Relaxed);
    assert!(
        dropped_now >= dropped_before + 15,
        "dropped counter went from {dropped_before} to {dropped_now}"
    );
}
