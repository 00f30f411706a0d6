//! Table rows of connections that never finish their CONNECT: slowloris (one byte a second,
//! or nothing at all) is dropped at `connect_timeout`; a thousand connections dropped
//! mid-CONNECT leave nothing behind (no client, no connection slot, no memory).

use std::time::Duration;

use tokio::net::TcpSocket;

use super::harness::{assert_no_growth, Limits, WAIT};
use super::scene::{report_samples, Scene};
use super::wire::{self, Raw, Read};

/// Trickles `connect` one byte per second; returns how many bytes went out before the broker
/// closed, or panics if it never did or answered.
async fn trickle(addr: std::net::SocketAddr, connect: Vec<u8>) -> usize {
    let mut raw = Raw::connect(addr).await;
    for (sent, byte) in connect.iter().enumerate() {
        if !raw.send(&[*byte]).await {
            return sent;
        }
        match raw.read(Duration::from_secs(1)).await {
            Read::Quiet => {}
            Read::Closed => return sent + 1,
            Read::Packet(p) => panic!("slowloris got an answer: {p:02x?}"),
        }
    }
    panic!(
        "the broker waited for a CONNECT trickled over {} s, far past connect_timeout",
        connect.len()
    );
}

/// Slowloris: 20 connections trickling a CONNECT one byte per second and 10 sending nothing,
/// against `connect_timeout = "2s"`. Each is closed before its CONNECT is complete (the whole
/// CONNECT would take 30 s or more), without CONNACK; bystanders are served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connect_is_closed_at_connect_timeout() {
    let mut scene = Scene::start("slowloris", Limits::default()).await;
    let addr = scene.broker.addr();
    let connect = wire::connect(4, b"slowloris-client-with-a-long-identifier");
    assert!(connect.len() > 30);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        tasks.push(tokio::spawn(trickle(addr, connect.clone())));
    }
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(tokio::spawn(async move {
            let mut raw = Raw::connect(addr).await;
            raw.expect_close("a connection that sends nothing").await
        }));
    }
    // During the attack.
    tokio::time::sleep(Duration::from_millis(500)).await;
    scene.bystanders.check("slowloris-during").await;
    for t in tasks {
        let sent = t.await.expect("slowloris task");
        assert!(
            sent < connect.len(),
            "closed after {sent} of {} bytes",
            connect.len()
        );
    }
    for t in silent {
        let seen = t.await.expect("silent task");
        assert!(seen.is_empty(), "no CONNACK without CONNECT: {seen:02x?}");
    }
    scene.finish().await;
}

/// One connection that sends part of a CONNECT and goes away: half of them with a reset.
async fn drop_mid_connect(addr: std::net::SocketAddr, connect: &[u8], cut: usize, reset: bool) {
    let socket = TcpSocket::new_v4().expect("socket");
    let Ok(Ok(stream)) = tokio::time::timeout(WAIT, socket.connect(addr)).await else {
        return;
    };
    if reset {
        // SO_LINGER 0: close with RST instead of FIN.
        let _ = stream.set_zero_linger();
    }
    let mut raw = Raw { stream };
    // The broker may refuse it (max_connections) or close it already: not this test's concern.
    let _ = tokio::time::timeout(Duration::from_secs(2), raw.send(&connect[..cut])).await;
}

/// 1,000 connections opened and dropped mid-CONNECT, 25 at a time, against a broker with
/// `max_connections = 32`. Afterwards 28 clients connect at once: had any of the dropped
/// connections kept its slot, some of them would be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_dropped_mid_connect() {
    let limits = Limits {
        max_connections: 32,
        ..Limits::default()
    };
    let mut scene = Scene::start("1000 dropped mid-CONNECT", limits).await;
    let addr = scene.broker.addr();
    let mut samples = Vec::new();
    for round in 0..5 {
        for wave in 0..8 {
            let mut tasks = Vec::new();
            for i in 0..25 {
                let level = if i % 2 == 0 { 4 } else { 5 };
                let connect =
                    wire::connect_with_will(level, format!("mid-{i}").as_bytes(), "bystander/mid", b"x");
                let cut = 1 + (i * 7 + wave) % (connect.len() - 1);
                tasks.push(tokio::spawn(async move {
                    drop_mid_connect(addr, &connect, cut, i % 3 == 0).await
                }));
            }
            for t in tasks {
                t.await.expect("connection task");
            }
        }
        scene.bystanders.check(&format!("mid-connect-{round}")).await;
        samples.push(scene.assert_rss_bounded(&format!("after {} connections", (round + 1) * 200)));
    }
    report_samples("1000 dropped mid-CONNECT", &samples);
    assert_no_growth("1000 dropped mid-CONNECT", &samples, 8 * 1024 * 1024);

    // Every slot is free again: 28 more clients fit next to the 2 bystanders (and 2 spare).
    let mut clients = Vec::new();
    for i in 0..28 {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let mut raw = Raw::connect(addr).await;
            raw.send(&wire::connect(4, format!("after-{i}").as_bytes())).await;
            match raw.read(WAIT).await {
                Read::Packet(p) if p[..] == [0x20, 0x02, 0x00, 0x00] => {
                    clients.push(raw);
                    break;
                }
                other => assert!(
                    tokio::time::Instant::now() < deadline,
                    "client {i} of 28 still refused after {WAIT:?} ({other:?}): connection slots leaked"
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(
        scene.broker.metric("robustmq_connections"),
        30,
        "the bystanders and the 28 new clients, no one else"
    );
    drop(clients);
    scene.finish().await;
}

/// Slowloris after CONNECT: a packet trickled one byte per second never completes. Keep alive
/// is about control packets: "If the Keep Alive value is non-zero and the Server does not
/// receive an MQTT Control Packet from the Client within one and a half times the Keep Alive
/// time period, it MUST close the Network Connection" ([MQTT-3.1.2-22] in 5.0,
/// [MQTT-3.1.2-24] in 3.1.1). With keep alive 2 s, the broker must close within about 3 s;
/// the whole PUBLISH would take 40 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_packet_does_not_satisfy_keep_alive() {
    let broker = super::harness::Broker::start(Limits::default());
    let mut raw = Raw::connected_with(broker.addr(), &wire::connect_keep_alive(4, b"trickle", 2)).await;
    let publish = wire::publish(4, b"trickle/t", 0, &[b'x'; 28]);
    for (sent, byte) in publish.iter().enumerate() {
        if !raw.send(&[*byte]).await {
            return;
        }
        match raw.read(Duration::from_secs(1)).await {
            Read::Quiet => {}
            Read::Closed => return,
            Read::Packet(p) => panic!("unexpected answer after {sent} bytes: {p:02x?}"),
        }
    }
    panic!(
        "a PUBLISH trickled over {} s kept a connection with keep alive 2 s open",
        publish.len()
    );
}
