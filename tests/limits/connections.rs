//! `max_connections` (over all listeners, and per listener) and `max_connections_per_second`:
//! a connection over them has its CONNECT read and answered with a CONNACK that names the
//! limit, in the client's protocol version, and is then closed; it is counted in
//! `limits/connections_refused` or `limits/connection_rate_refused`.

use std::net::SocketAddr;
use std::time::Duration;

use robustmq::config::ListenerSettings;
use robustmq::server::listener::MAX_REFUSING;
use robustmq::server::metrics::get;

use super::common::*;

/// v5 §3.2.2.2 Connect Reason Code 0x97, Quota exceeded: "An implementation or administrative
/// imposed limit has been exceeded."
const QUOTA_EXCEEDED: u8 = 0x97;
/// v5 §3.2.2.2 Connect Reason Code 0x9F, Connection rate exceeded: "The connection rate limit
/// has been exceeded."
const CONNECTION_RATE_EXCEEDED: u8 = 0x9F;
/// 3.1.1 §3.2.2.3 Connect Return code 0x03, "Connection Refused, Server unavailable: The
/// Network Connection has been made but the MQTT service is unavailable". 3.1.1 has no code
/// for a connection limit or rate, and this is the one that fits.
const SERVER_UNAVAILABLE: u8 = 0x03;

/// The whole CONNACK refusing a [`quiet_connect`]: 3.1.1 `20 02 00 03` (remaining length 2,
/// flags 0, return code); v5 `20 03 00 code 00` (remaining length 3, flags 0, reason code,
/// no properties). Session present is 0 in a refusal (v5 [MQTT-3.2.2-6], 3.1.1
/// [MQTT-3.2.2-4]).
fn refusing_connack(level: u8, v5_code: u8) -> Vec<u8> {
    if level == 5 {
        vec![0x20, 0x03, 0x00, v5_code, 0x00]
    } else {
        vec![0x20, 0x02, 0x00, SERVER_UNAVAILABLE]
    }
}

/// A CONNECT with clean start and keep alive 60; at level 5 with Request Problem Information
/// 0 (property 0x17, v5 §3.1.2.11.7), so that a refusing CONNACK carries no Reason String and
/// its bytes do not depend on the wording.
fn quiet_connect(level: u8, client_id: &str) -> Vec<u8> {
    if level != 5 {
        return connect_packet(level, client_id, 60, None);
    }
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 60, 2, 0x17, 0];
    body.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    body.extend_from_slice(client_id.as_bytes());
    assert!(body.len() < 128, "one byte of remaining length");
    let mut packet = vec![0x10, body.len() as u8];
    packet.extend_from_slice(&body);
    packet
}

/// Sends `connect` on a new connection and returns everything the broker sent until it closed
/// the connection.
async fn answer_until_close(addr: SocketAddr, connect: &[u8]) -> Vec<Vec<u8>> {
    let mut raw = Raw::connect(addr).await;
    raw.send(connect).await;
    raw.expect_close().await
}

/// Connects until the broker admits the client (a slot may take a moment to be given back
/// after a client leaves); meanwhile a refusal must be the one for a full broker.
async fn connect_when_admitted(addr: SocketAddr, level: u8, client_id: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let connack = try_connect(addr, &quiet_connect(level, client_id))
            .await
            .expect("a CONNACK, admitting or refusing");
        if Connack::parse(level, &connack).code == 0 {
            return;
        }
        assert_eq!(connack, refusing_connack(level, QUOTA_EXCEEDED));
        assert!(
            tokio::time::Instant::now() < deadline,
            "{client_id} still refused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn max_connections_answers_the_one_too_many_with_a_connack() {
    let broker = start_with(|s| s.limits.max_connections = 2).await;
    let first = connected(&broker, 4, "first").await;
    let _second = connected(&broker, 5, "second").await;
    // v5 0x97 quota exceeded, 3.1.1 0x03 server unavailable, and then the close: the server
    // closes the connection after a refusing CONNACK (v5 [MQTT-3.2.2-7], 3.1.1 [MQTT-3.2.2-5]).
    for level in [4, 5] {
        assert_eq!(
            answer_until_close(broker.addr, &quiet_connect(level, "third")).await,
            vec![refusing_connack(level, QUOTA_EXCEEDED)],
            "level {level}"
        );
    }
    // A v5 client that wants problem information (the default) is told which limit.
    let seen = answer_until_close(broker.addr, &connect_packet(5, "fourth", 60, None)).await;
    assert_eq!(seen.len(), 1, "{seen:02x?}");
    let connack = Connack::parse(5, &seen[0]);
    assert_eq!(connack.code, QUOTA_EXCEEDED);
    let why = connack.properties.reason_string.unwrap_or_default();
    assert!(why.contains("limits.max_connections"), "{why}");

    assert_eq!(broker.limits().connections_refused, 3);
    assert_eq!(broker.limits().connection_rate_refused, 0);
    assert_eq!(get(&broker.metrics().clients_connected), 2);

    // A client that leaves gives its slot back.
    drop(first);
    connect_when_admitted(broker.addr, 4, "third").await;
    broker.stop().await;
}

#[tokio::test]
async fn a_listener_max_connections_bounds_that_listener_only() {
    let broker = start_with(|s| {
        let listener = |max_connections| ListenerSettings {
            bind: Some("127.0.0.1:0".parse().unwrap()),
            max_connections,
            ..Default::default()
        };
        s.listeners = vec![listener(Some(1)), listener(None)];
    })
    .await;
    let (bounded, unbounded) = (broker.server().local_addrs()[0], broker.server().local_addrs()[1]);
    let _only = connected_at(bounded, 4, "only").await;
    // The listener's own bound is a connection limit like the global one: the same codes.
    for level in [4, 5] {
        assert_eq!(
            answer_until_close(bounded, &quiet_connect(level, "second")).await,
            vec![refusing_connack(level, QUOTA_EXCEEDED)],
            "level {level}: a second client on the listener with max_connections = 1"
        );
    }
    let seen = answer_until_close(bounded, &connect_packet(5, "third", 60, None)).await;
    let why = Connack::parse(5, &seen[0])
        .properties
        .reason_string
        .unwrap_or_default();
    assert!(why.contains("listener's max_connections"), "{why}");
    assert_eq!(broker.limits().connections_refused, 3);

    // The other listener has no bound of its own; only the global one (10000) applies.
    let mut others = Vec::new();
    for i in 0..5 {
        others.push(connected_at(unbounded, 4, &format!("other-{i}")).await);
    }
    assert_eq!(broker.limits().connections_refused, 3);
    assert_eq!(get(&broker.metrics().clients_connected), 6);
    broker.stop().await;
}

#[tokio::test]
async fn max_connections_per_second_answers_connections_past_the_burst() {
    // One per second with a burst of one: the first connection takes the budget, and the next
    // ones, opened right after, find none (unless a whole second passes between two of them,
    // which only lets that one in).
    let broker = start_with(|s| s.limits.max_connections_per_second = 1).await;
    let _first = connected(&broker, 4, "first").await;
    let mut refused = [0u64; 2];
    for i in 0..200 {
        if refused.iter().all(|&n| n > 0) {
            break;
        }
        let level = if i % 2 == 0 { 4 } else { 5 };
        let mut raw = Raw::connect(broker.addr).await;
        raw.send(&quiet_connect(level, &format!("c{i}"))).await;
        let connack = raw.packet().await.expect("a CONNACK, admitting or refusing");
        if Connack::parse(level, &connack).code == 0 {
            continue;
        }
        // v5 0x9F connection rate exceeded, 3.1.1 0x03 server unavailable; then the close.
        assert_eq!(
            connack,
            refusing_connack(level, CONNECTION_RATE_EXCEEDED),
            "level {level}"
        );
        assert_eq!(
            raw.expect_close().await,
            Vec::<Vec<u8>>::new(),
            "closed after the CONNACK"
        );
        refused[usize::from(level == 5)] += 1;
    }
    assert!(
        refused.iter().all(|&n| n > 0),
        "refusals (3.1.1, v5): {refused:?}"
    );
    assert_eq!(
        broker.limits().connection_rate_refused,
        refused.iter().sum::<u64>()
    );
    assert_eq!(broker.limits().connections_refused, 0);

    let seen = answer_until_close(broker.addr, &connect_packet(5, "told", 60, None)).await;
    let connack = Connack::parse(5, &seen[0]);
    if connack.code != 0 {
        let why = connack.properties.reason_string.unwrap_or_default();
        assert!(why.contains("max_connections_per_second"), "{why}");
    }
    broker.stop().await;
}

#[tokio::test]
async fn refusals_waiting_for_their_connect_are_bounded() {
    // Connections over the limit that send nothing wait for their CONNECT (up to the connect
    // timeout) to be told why; past MAX_REFUSING of them at once, one more is closed at once,
    // without a CONNACK, and counted all the same.
    let broker = start_with(|s| {
        s.limits.max_connections = 1;
        s.limits.connect_timeout = Duration::from_secs(60);
    })
    .await;
    let _only = connected(&broker, 4, "only").await;
    let mut silent = Vec::new();
    for _ in 0..MAX_REFUSING {
        silent.push(Raw::connect(broker.addr).await);
    }
    wait_until("every silent connection is refused", WAIT, || {
        broker.limits().connections_refused == MAX_REFUSING as u64
    })
    .await;
    for level in [4, 5] {
        assert_eq!(
            answer_until_close(broker.addr, &quiet_connect(level, "more")).await,
            Vec::<Vec<u8>>::new(),
            "level {level}: closed without a word"
        );
    }
    assert_eq!(broker.limits().connections_refused, MAX_REFUSING as u64 + 2);

    // One of them sends its CONNECT: it is answered, and its place is free again.
    let mut told = silent.pop().expect("a silent connection");
    told.send(&quiet_connect(5, "late")).await;
    assert_eq!(
        told.expect_close().await,
        vec![refusing_connack(5, QUOTA_EXCEEDED)]
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen = answer_until_close(broker.addr, &quiet_connect(4, "again")).await;
        if seen == vec![refusing_connack(4, QUOTA_EXCEEDED)] {
            break;
        }
        // The place is given back when the refused connection's task ends, a moment after
        // the close the client sees.
        assert_eq!(seen, Vec::<Vec<u8>>::new());
        assert!(
            tokio::time::Instant::now() < deadline,
            "no place to refuse with a CONNACK"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    broker.stop().await;
}

#[tokio::test]
async fn the_default_limits_admit_a_reconnect_storm() {
    // After a broker restart every client reconnects at once; with the defaults a fleet of 500
    // gets straight back in. (storm.rs does the same with 10,000 against the binary.)
    let broker = start_with(|_| {}).await;
    let addr = broker.addr;
    let clients: Vec<_> = (0..500)
        .map(|i| {
            tokio::spawn(async move {
                let level = if i % 2 == 0 { 4 } else { 5 };
                connected_at(addr, level, &format!("storm-{i}")).await
            })
        })
        .collect();
    let mut connected = Vec::new();
    for client in clients {
        connected.push(client.await.expect("client task"));
    }
    assert_eq!(broker.limits().connection_rate_refused, 0);
    assert_eq!(broker.limits().connections_refused, 0);
    assert_eq!(get(&broker.metrics().clients_connected), 500);
    broker.stop().await;
}
