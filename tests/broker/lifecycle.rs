//! A session across its connections, byte by byte: a takeover of a session that was to end
//! with its connection, a takeover while messages flow, DISCONNECT raced by a reconnect, and a
//! delayed will on a takeover.

use std::time::Duration;

use super::common::{parse_publish, start, start_with, TestBroker};
use super::versions::both_versions;
use super::wire::*;

/// How many DISCONNECT-then-reconnect rounds one test runs.
const ROUNDS: usize = 10;

fn level_byte(level: Level) -> u8 {
    if level.v5() {
        5
    } else {
        4
    }
}

/// A CONNECT at `level`; `expiry` is the v5 Session Expiry Interval (left out when 0).
fn connect(level: Level, client_id: &str, clean_start: bool, expiry: u32) -> Connect {
    let mut c = Connect::new(level, client_id.as_bytes());
    c.clean_start = clean_start;
    if level.v5() && expiry > 0 {
        c.props = Props::new().u32(prop::SESSION_EXPIRY_INTERVAL, expiry);
    }
    c
}

/// A will on `topic`, with a v5 Will Delay Interval when `delay` is given.
fn will(level: Level, topic: &str, delay: Option<u32>) -> Will {
    let mut w = Will::new(topic.as_bytes(), b"will");
    if let (true, Some(delay)) = (level.v5(), delay) {
        w.props = Props::new().u32(prop::WILL_DELAY_INTERVAL, delay);
    }
    w
}

/// Subscribes `raw` to `filter` at QoS 0 and waits for the SUBACK.
async fn subscribed(raw: &mut Raw, level: Level, filter: &str) {
    raw.send(&subscribe(level, 1, &[(filter, 0)])).await;
    raw.expect(kind::SUBACK).await;
}

/// A 3.1.1 client that watches `topic`.
async fn watcher(broker: &TestBroker, name: &str, topic: &str) -> Raw {
    let (mut raw, _) = Raw::connected(broker.addr, &Connect::v311(name)).await;
    subscribed(&mut raw, Level::V311, topic).await;
    raw
}

/// Publishes a marker on `topic` from the watcher itself and asserts that the marker is the
/// next thing it receives: no will came before it.
async fn nothing_before_marker(watcher: &mut Raw, topic: &str, why: &str) {
    watcher
        .send(&Publish::new(Level::V311, topic, b"marker").bytes())
        .await;
    let p = parse_publish(4, &watcher.expect(kind::PUBLISH).await);
    assert_eq!(p.payload, b"marker", "{why}: {p:?}");
}

/// Waits until the broker's end has received every byte sent on `raw` (the kernel has
/// acknowledged them; Linux's count of unacknowledged bytes, TIOCOUTQ), whether or not the
/// broker has read them: what was sent before is then "already received" for sure.
#[allow(unsafe_code)] // TIOCOUTQ has no safe wrapper.
async fn received(raw: &Raw) {
    #[cfg(target_os = "linux")]
    loop {
        use std::os::fd::AsRawFd;
        let mut unacknowledged: libc::c_int = 0;
        // SAFETY: TIOCOUTQ writes one int through the pointer, which outlives the call.
        let rc = unsafe { libc::ioctl(raw.stream.as_raw_fd(), libc::TIOCOUTQ, &mut unacknowledged) };
        assert_eq!(rc, 0, "TIOCOUTQ: {}", std::io::Error::last_os_error());
        if unacknowledged == 0 {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// A DISCONNECT with reason 0x00; in v5 it also sets the Session Expiry Interval to 0.
fn disconnect_ending_session(level: Level) -> Vec<u8> {
    if level.v5() {
        let mut body = vec![0x00];
        body.extend(Props::new().u32(prop::SESSION_EXPIRY_INTERVAL, 0).encode());
        packet(kind::DISCONNECT, &body)
    } else {
        disconnect(None)
    }
}

// [MQTT-3.1.2-6] / v5 3.1.2.11.2: a session whose connection has CleanSession 1 (v5: Session
// Expiry 0) ends with that connection, so a CleanSession 0 connection taking it over gets
// Session Present 0 and none of its subscriptions.
async fn takeover_of_clean_session_starts_fresh(level: Level) {
    let broker = start().await;
    let v = level_byte(level);
    let id = format!("lc-clean-{v}");
    let topic = format!("lc/clean/{v}");
    let (mut first, _) = Raw::connected(broker.addr, &connect(level, &id, true, 0)).await;
    subscribed(&mut first, level, &topic).await;

    let mut second = Raw::connect(broker.addr).await;
    second.send(&connect(level, &id, false, 60).bytes()).await;
    let connack = Connack::parse(&second.expect(kind::CONNACK).await, level.v5()).expect("CONNACK");
    assert_eq!(connack.code, 0, "{connack:?}");
    assert_eq!(
        connack.flags & 1,
        0,
        "[MQTT-3.1.2-6] the clean session ended with its connection: no Session Present"
    );
    first.expect_close().await;

    // The old subscription is gone: a message on it does not come before one on a new one.
    let after = format!("{topic}/after");
    subscribed(&mut second, level, &after).await;
    let (mut publisher, _) = Raw::connected(broker.addr, &Connect::v311(&format!("{id}-pub"))).await;
    publisher
        .send(&Publish::new(Level::V311, &topic, b"old").bytes())
        .await;
    publisher
        .send(&Publish::new(Level::V311, &after, b"new").bytes())
        .await;
    let p = parse_publish(v, &second.expect(kind::PUBLISH).await);
    assert_eq!(p.topic, after, "the ended session's subscription was kept: {p:?}");
}

both_versions! {
    #[tokio::test]
    async fn takeover_of_clean_session_starts_fresh_mqtt_3_1_2_6_v311,
        takeover_of_clean_session_starts_fresh_mqtt_3_1_2_6_v5(level = Level::V311, Level::V5) {
        takeover_of_clean_session_starts_fresh(level).await;
    }
}

// [MQTT-3.1.4-3], [MQTT-4.4.0-1]: a persistent session taken over while messages flow goes
// whole to the new connection. Every message, whether it was in flight to the old connection,
// queued, or published after the takeover, arrives there; once they are acknowledged nothing
// is left in flight, so the next connection of the session gets no resend.
async fn takeover_leaves_nothing_stranded_in_flight(level: Level) {
    const N: usize = 20;
    let broker = start().await;
    let v = level_byte(level);
    let id = format!("lc-strand-{v}");
    let topic = format!("lc/strand/{v}");
    let (mut old, _) = Raw::connected(broker.addr, &connect(level, &id, false, 300)).await;
    old.send(&subscribe(level, 1, &[(&topic, 1)])).await;
    old.expect(kind::SUBACK).await;
    let (mut publisher, _) = Raw::connected(broker.addr, &Connect::v311(&format!("{id}-pub"))).await;
    let mut packet_id = 0u16;
    let mut publish = |n: usize| {
        packet_id += 1;
        Publish::new(Level::V311, &topic, format!("m{n}").as_bytes())
            .qos(1, packet_id)
            .bytes()
    };
    // The old connection reads nothing from here on.
    for n in 0..N {
        publisher.send(&publish(n)).await;
    }
    let (mut new, connack) = Raw::connected(broker.addr, &connect(level, &id, false, 300)).await;
    assert_eq!(
        connack.flags & 1,
        1,
        "[MQTT-3.2.2-2] the session was resumed: {connack:?}"
    );
    for n in N..2 * N {
        publisher.send(&publish(n)).await;
    }
    for _ in 0..2 * N {
        publisher.expect(kind::PUBACK).await;
    }
    old.expect_close().await;

    let mut got = std::collections::BTreeSet::new();
    while got.len() < 2 * N {
        let bytes = new.packet().await.expect("the new connection closed");
        assert_eq!(bytes[0] >> 4, 3, "PUBLISH expected, got {bytes:02x?}");
        let p = parse_publish(v, &bytes);
        assert_eq!(p.qos, 1, "{p:?}");
        new.send(&ack(kind::PUBACK, p.packet_id)).await;
        got.insert(p.payload);
    }
    new.send(&disconnect(None)).await;
    new.expect_close().await;

    // Nothing in flight is left to resend: the first PUBLISH after reconnecting is a new one.
    let (mut again, connack) = Raw::connected(broker.addr, &connect(level, &id, false, 300)).await;
    assert_eq!(connack.flags & 1, 1, "{connack:?}");
    publisher
        .send(&Publish::new(Level::V311, &topic, b"marker").bytes())
        .await;
    let p = parse_publish(v, &again.expect(kind::PUBLISH).await);
    assert_eq!(p.payload, b"marker", "a message was left in flight: {p:?}");
}

both_versions! {
    #[tokio::test]
    async fn takeover_leaves_nothing_stranded_in_flight_mqtt_3_1_4_3_v311,
        takeover_leaves_nothing_stranded_in_flight_mqtt_3_1_4_3_v5(level = Level::V311, Level::V5) {
        takeover_leaves_nothing_stranded_in_flight(level).await;
    }
}

// [MQTT-3.14.4-3]: DISCONNECT 0x00 discards the will, and (v5) a DISCONNECT setting Session
// Expiry 0 ends the session, even when a new connection for the client id comes right after
// it on another socket: the old connection's DISCONNECT, already received, is handled before
// the takeover.
//
// To make the race the same every time, the old connection has not read its DISCONNECT yet
// when the new CONNECT comes: just before it, the client published to a subscriber whose
// session is full (one message in flight, never acknowledged, and one queued), so flow
// control leaves the rest of its input unread. And the new CONNECT is sent only once the
// broker's end has received the DISCONNECT.
async fn disconnect_then_reconnect(level: Level) {
    let broker = start_with(|s| {
        s.limits.max_inflight = 1;
        s.limits.max_queued_messages = 1;
        s.limits.stalled_after = Duration::from_secs(600);
    })
    .await;
    let v = level_byte(level);
    let topic = format!("lc/disc/{v}");
    let mut watching = watcher(&broker, &format!("lc-disc-watch-{v}"), &topic).await;

    let full = format!("lc/full/{v}");
    let (mut slow, _) = Raw::connected(broker.addr, &Connect::v311(&format!("lc-slow-{v}"))).await;
    slow.send(&subscribe(Level::V311, 1, &[(&full, 1)])).await;
    slow.expect(kind::SUBACK).await;
    let (mut filler, _) = Raw::connected(broker.addr, &Connect::v311(&format!("lc-fill-{v}"))).await;
    filler
        .send(&Publish::new(Level::V311, &full, b"in flight").qos(1, 1).bytes())
        .await;
    filler.expect(kind::PUBACK).await;
    // In flight, never acknowledged.
    slow.expect(kind::PUBLISH | 0x02).await;
    filler
        .send(&Publish::new(Level::V311, &full, b"queued").qos(1, 2).bytes())
        .await;
    filler.expect(kind::PUBACK).await;

    for round in 0..ROUNDS {
        let id = format!("lc-disc-{v}-{round}");
        let mut first_connect = connect(level, &id, true, 60);
        first_connect.will = Some(will(level, &topic, None));
        let (mut first, _) = Raw::connected(broker.addr, &first_connect).await;
        let mut second = Raw::connect(broker.addr).await;

        let mut held = Publish::new(level, &full, b"held").qos(1, 1).bytes();
        held.extend(disconnect_ending_session(level));
        first.send(&held).await;
        received(&first).await;
        second.send(&connect(level, &id, false, 60).bytes()).await;

        let connack = Connack::parse(&second.expect(kind::CONNACK).await, level.v5()).expect("CONNACK");
        assert_eq!(connack.code, 0, "round {round}: {connack:?}");
        assert_eq!(
            connack.flags & 1,
            0,
            "round {round}: the session the DISCONNECT ended was resumed"
        );
        first.expect_close().await;
    }
    nothing_before_marker(
        &mut watching,
        &topic,
        "[MQTT-3.14.4-3] a will was published after DISCONNECT 0x00",
    )
    .await;
}

both_versions! {
    #[tokio::test]
    async fn disconnect_then_reconnect_publishes_no_will_mqtt_3_14_4_3_v311,
        disconnect_then_reconnect_publishes_no_will_mqtt_3_14_4_3_v5(level = Level::V311, Level::V5) {
        disconnect_then_reconnect(level).await;
    }
}

/// A v5 client with Session Expiry 60 and a will delayed by 30 s, taken over by a new
/// connection with `clean_start`; returns the watcher of the will topic, after the old
/// connection was closed with DISCONNECT 0x8E, and the new connection's Session Present.
async fn delayed_will_taken_over(broker: &TestBroker, name: &str, clean_start: bool) -> (Raw, bool) {
    let topic = format!("lc/delay/{name}");
    let watching = watcher(broker, &format!("{name}-watch"), &topic).await;
    let mut first_connect = connect(Level::V5, name, false, 60);
    first_connect.will = Some(will(Level::V5, &topic, Some(30)));
    let (mut first, _) = Raw::connected(broker.addr, &first_connect).await;
    let (_second, connack) = Raw::connected(broker.addr, &connect(Level::V5, name, clean_start, 60)).await;
    let seen = first.expect_close().await;
    assert_eq!(
        seen.last().and_then(|p| disconnect_reason(p)),
        Some(0x8E),
        "Session taken over: {seen:02x?}"
    );
    (watching, connack.flags & 1 == 1)
}

// [MQTT-3.1.3-9]: a will with a Will Delay Interval is not published when a new connection
// resumes the session before the delay has passed, a takeover included.
#[tokio::test]
async fn takeover_resuming_session_cancels_delayed_will_mqtt_3_1_3_9() {
    let broker = start().await;
    let (mut watching, present) = delayed_will_taken_over(&broker, "lc-delay-resume", false).await;
    assert!(present, "the session was resumed");
    nothing_before_marker(
        &mut watching,
        "lc/delay/lc-delay-resume",
        "[MQTT-3.1.3-9] the delayed will went out on a takeover that resumed the session",
    )
    .await;
}

// v5 3.1.3.2.2: the will waits for its delay or the end of the session, whichever comes
// first; a takeover with Clean Start 1 ends the session [MQTT-3.1.2-4], so the will goes now.
#[tokio::test]
async fn takeover_with_clean_start_publishes_delayed_will_now() {
    let broker = start().await;
    let (mut watching, present) = delayed_will_taken_over(&broker, "lc-delay-clean", true).await;
    assert!(!present, "a clean start has no session present");
    let p = parse_publish(4, &watching.expect(kind::PUBLISH).await);
    assert_eq!(p.payload, b"will", "{p:?}");
}
