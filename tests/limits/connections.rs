//! `max_connections` (over all listeners, and per listener) and `max_connections_per_second`:
//! a connection over them is closed as soon as it is accepted, before its CONNECT is read, and
//! counted in `limits/connections_refused` or `limits/connection_rate_refused`.

use std::time::Duration;

use robustmq::config::ListenerSettings;
use robustmq::server::metrics::get;

use crate::common::*;

/// Connects until the broker answers with a CONNACK (a slot may take a moment to be given
/// back after a client leaves); returns the CONNACK's code.
async fn connect_when_admitted(broker: &TestBroker, level: u8, client_id: &str) -> u8 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let connect = connect_packet(level, client_id, 60, None);
        if let Some(connack) = try_connect(broker.addr, &connect).await {
            return Connack::parse(level, &connack).code;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{client_id} still refused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn max_connections_closes_the_connection_one_too_many() {
    let broker = start_with(|s| s.limits.max_connections = 2).await;
    let first = connected(&broker, 4, "first").await;
    let _second = connected(&broker, 5, "second").await;
    // No CONNACK at all: there is no room to even read the CONNECT, in either version.
    for level in [4, 5] {
        let connect = connect_packet(level, "third", 60, None);
        assert_eq!(try_connect(broker.addr, &connect).await, None, "level {level}");
    }
    assert_eq!(broker.limits().connections_refused, 2);
    assert_eq!(broker.limits().connection_rate_refused, 0);
    assert_eq!(get(&broker.metrics().clients_connected), 2);

    // A client that leaves gives its slot back.
    drop(first);
    assert_eq!(connect_when_admitted(&broker, 4, "third").await, 0);
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
    assert_eq!(
        try_connect(bounded, &connect_packet(5, "second", 60, None)).await,
        None,
        "a second client on the listener with max_connections = 1"
    );
    assert_eq!(broker.limits().connections_refused, 1);

    // The other listener has no bound of its own; only the global one (10000) applies.
    let mut others = Vec::new();
    for i in 0..5 {
        others.push(connected_at(unbounded, 4, &format!("other-{i}")).await);
    }
    assert_eq!(broker.limits().connections_refused, 1);
    assert_eq!(get(&broker.metrics().clients_connected), 6);
    broker.stop().await;
}

#[tokio::test]
async fn max_connections_per_second_closes_connections_past_the_burst() {
    // One per second with a burst of one: the first connection takes the budget, and the next
    // ones, opened right after, find none (unless a whole second passes between two of them,
    // which only lets that one in).
    let broker = start_with(|s| s.limits.max_connections_per_second = 1).await;
    let _first = connected(&broker, 4, "first").await;
    let mut refused = 0;
    for i in 0..20 {
        let level = if i % 2 == 0 { 4 } else { 5 };
        match try_connect(broker.addr, &connect_packet(level, &format!("c{i}"), 60, None)).await {
            None => refused += 1,
            Some(connack) => assert_eq!(Connack::parse(level, &connack).code, 0),
        }
    }
    assert!(refused > 0, "20 connections at once, none refused");
    assert_eq!(broker.limits().connection_rate_refused, refused);
    assert_eq!(broker.limits().connections_refused, 0);
    broker.stop().await;
}

#[tokio::test]
async fn the_default_rate_admits_a_reconnect_storm() {
    // After a broker restart every client reconnects at once; with the defaults a fleet of 500
    // gets straight back in.
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
