//! Table rows for the `ws` and `wss` listeners: what is not an upgrade (plain MQTT, an upgrade
//! cut short), frames RFC 6455 forbids (text, unmasked, reserved opcode, RSV bits, oversize or
//! fragmented control frames, a continuation with nothing to continue), frames and fragmented
//! messages over the size limit, a frame header announcing 2^62 bytes, and a Ping flood from a
//! client that never reads the Pongs.
//!
//! A row runs right after the upgrade (the broker must close without a word of MQTT) and after
//! a v5 CONNECT with a will (the broker may say DISCONNECT, must close, and the will is
//! published because the connection did not end normally [MQTT-3.1.2-8]); over `ws` and over
//! `wss`, three times, watching memory, bystanders and the victim's stored messages.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::backpressure::tight_socket;
use super::harness::{assert_no_growth, Broker, Limits, MAX_PACKET_SIZE, WAIT};
use super::scene::{report_samples, Scene};
use super::transport::{self, ws_frame, ws_frame_header, Io, Transport, WsClient};
use super::wire::{self, Raw, Read};

/// One hostile frame sequence.
struct Row {
    name: &'static str,
    bytes: Vec<u8>,
}

fn rows() -> Vec<Row> {
    let connect = wire::connect(5, b"inside-a-frame");
    let over = vec![b'x'; 2 * MAX_PACKET_SIZE];
    let row = |name, bytes| Row { name, bytes };
    vec![
        // [MQTT-6.0.0-1] MQTT control packets travel in binary frames.
        row("text frame", ws_frame(0x81, b"CONNECT, please", true)),
        // [RFC 6455 5.1] a server closes on an unmasked client frame.
        row("unmasked binary frame", ws_frame(0x82, &connect, false)),
        // [RFC 6455 5.2] opcodes 0x3-0x7 and 0xB-0xF are reserved.
        row("reserved data opcode 0x3", ws_frame(0x83, b"x", true)),
        row("reserved control opcode 0xB", ws_frame(0x8B, b"x", true)),
        // [RFC 6455 5.2] RSV bits without a negotiated extension.
        row("RSV1 set", ws_frame(0xC2, &connect, true)),
        // [RFC 6455 5.5] control frames carry at most 125 bytes and are never fragmented.
        row("Ping with 126 bytes", ws_frame(0x89, &[7; 126], true)),
        row("fragmented Ping", ws_frame(0x09, b"x", true)),
        // [RFC 6455 5.4] a continuation frame with no message to continue.
        row("continuation without a start", ws_frame(0x80, &connect, true)),
        // The broker reads no more than max_packet_size (plus framing) into one message.
        row("frame over the size limit", ws_frame(0x82, &over, true)),
        row(
            "frame header announcing 2^62 bytes",
            ws_frame_header(0x82, 1 << 62, true),
        ),
        row("message fragmented past the size limit", {
            let chunk = vec![b'y'; 1024];
            let mut bytes = ws_frame(0x02, &chunk, true);
            for _ in 0..2 * MAX_PACKET_SIZE / chunk.len() {
                bytes.extend(ws_frame(0x00, &chunk, true));
            }
            bytes.extend(ws_frame(0x80, &chunk, true));
            bytes
        }),
        // A valid frame with a malformed packet inside: the MQTT layer's answer (v5 DISCONNECT
        // 0x81 after CONNECT), as on a plain socket.
        row(
            "binary frame with a malformed packet",
            ws_frame(0x82, &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], true),
        ),
    ]
}

/// TCP, and TLS for `wss`, before any HTTP.
async fn open_stream(broker: &Broker, transport: Transport) -> Box<dyn Io> {
    let tcp = transport::tcp(transport.addr(broker)).await;
    match transport {
        Transport::Wss => {
            let config = transport::tls_config(&broker.certs(), None);
            Box::new(transport::tls(tcp, config).await.expect("TLS handshake"))
        }
        _ => Box::new(tcp),
    }
}

/// What is not a WebSocket upgrade: closed without `101 Switching Protocols`.
async fn not_an_upgrade(broker: &Broker, transport: Transport, tag: &str) {
    let name = transport.name();
    let mut stream = open_stream(broker, transport).await;
    stream
        .write_all(&wire::connect(4, b"no-http"))
        .await
        .expect("send");
    let reply = transport::bytes_until_close(&mut stream, &format!("{name} {tag}: plain MQTT")).await;
    assert!(
        !String::from_utf8_lossy(&reply).contains(" 101 "),
        "{name}: plain MQTT got an upgrade: {reply:02x?}"
    );

    // Half an upgrade request, then silence: closed at connect_timeout.
    let mut stream = open_stream(broker, transport).await;
    let request = transport::upgrade_request();
    stream
        .write_all(&request[..request.len() / 2])
        .await
        .expect("send");
    let reply = transport::bytes_until_close(&mut stream, &format!("{name} {tag}: upgrade cut short")).await;
    assert!(reply.is_empty(), "{name}: answered half a request: {reply:02x?}");
}

/// Runs `row` on a fresh WebSocket connection, after the upgrade or after CONNECT.
async fn attack(scene: &mut Scene, transport: Transport, row: &Row, after_connect: bool, tag: &str) {
    let what = format!(
        "{} over {} ({})",
        row.name,
        transport.name(),
        if after_connect {
            "after CONNECT"
        } else {
            "after the upgrade"
        }
    );
    let stream = open_stream(&scene.broker, transport).await;
    let mut raw = Raw {
        stream: WsClient::upgrade(stream).await,
    };
    let will_topic = format!("bystander/ws-will-{tag}");
    if after_connect {
        let id = format!("ws-hostile-{tag}");
        raw.handshake(&wire::connect_with_will(
            5,
            id.as_bytes(),
            &will_topic,
            row.name.as_bytes(),
        ))
        .await;
    }
    // The broker may close before everything is written: not this row's concern.
    let _ = tokio::time::timeout(WAIT, raw.stream.send_raw(&row.bytes)).await;
    let seen = raw.expect_close(&what).await;
    if after_connect {
        // At most a DISCONNECT, then the close.
        assert!(
            seen.iter().all(|p| p[0] == 0xE0),
            "{what}: expected at most DISCONNECT, got {seen:02x?}"
        );
        assert_eq!(
            scene.bystanders.expect_message(&will_topic).await,
            row.name.as_bytes(),
            "{what}: the will of a connection closed for a protocol error"
        );
    } else {
        assert!(seen.is_empty(), "{what}: got MQTT {seen:02x?} without CONNECT");
    }
}

const REPETITIONS: usize = 3;

async fn table(transport: Transport, name: &'static str) {
    let mut scene = Scene::start_secure(name, Limits::default()).await;
    let rows = rows();
    let mut samples = Vec::new();
    for rep in 0..REPETITIONS {
        not_an_upgrade(&scene.broker, transport, &format!("r{rep}")).await;
        for (i, row) in rows.iter().enumerate() {
            for after_connect in [false, true] {
                let tag = format!("{}-{rep}-{i}-{after_connect}", transport.name());
                attack(&mut scene, transport, row, after_connect, &tag).await;
            }
            scene
                .bystanders
                .check(&format!("{}-r{rep}-{i}", transport.name()))
                .await;
        }
        // A well-behaved WebSocket client is still served.
        let mut good = transport
            .connected(&scene.broker, 5, &format!("ws-good-{rep}"))
            .await;
        let topic = format!("bystander/{}-good-{rep}", transport.name());
        good.send(&wire::publish(5, topic.as_bytes(), 0, b"framed")).await;
        assert_eq!(scene.bystanders.expect_message(&topic).await, b"framed");
        samples.push(scene.assert_rss_bounded(&format!("after repetition {}", rep + 1)));
    }
    report_samples(name, &samples);
    assert_no_growth(name, &samples, 8 * 1024 * 1024);
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_garbage_closes_only_that_connection() {
    table(Transport::Ws, "ws").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_over_tls_garbage_closes_only_that_connection() {
    table(Transport::Wss, "wss").await;
}

/// Ping bytes each flooder sends, unless the broker stops reading or closes first: twice the
/// memory bound, so a broker that queued a Pong for each Ping would exceed it.
const FLOOD_BYTES: u64 = 128 * 1024 * 1024;

/// How long a write must stall to count as "the broker stopped reading".
const STALL: Duration = Duration::from_secs(2);

/// [RFC 6455 5.5.2] every Ping is answered with a Pong. A client that sends Pings without end
/// and reads nothing must not make the broker queue Pongs without end: the broker may keep
/// reading (and drop Pongs), stop reading or close, but its memory stays bounded while the
/// flooder is still connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_flood_without_reading_pongs_is_bounded() {
    let mut scene = Scene::start_secure("ws ping flood", Limits::default()).await;
    let addr = Transport::Ws.addr(&scene.broker);
    let mut samples = Vec::new();
    for round in 0..3 {
        let tight = tight_socket(addr).await;
        let mut client = Raw {
            stream: WsClient::upgrade(tight.stream).await,
        };
        // Connected, so that connect_timeout does not end the flood.
        client
            .handshake(&wire::connect(4, format!("ping-flooder-{round}").as_bytes()))
            .await;
        let ws = &mut client.stream;
        let ping = ws_frame(0x89, &[b'p'; 125], true);
        let batch: Vec<u8> = ping.iter().copied().cycle().take(ping.len() * 500).collect();
        let mut written = 0u64;
        let mut stalls = 0;
        loop {
            match tokio::time::timeout(STALL, ws.send_raw(&batch)).await {
                Ok(Ok(())) => {
                    written += batch.len() as u64;
                    stalls = 0;
                }
                // Closed by the broker: bounded too.
                Ok(Err(_)) => break,
                Err(_) => {
                    stalls += 1;
                    if stalls == 2 {
                        break;
                    }
                }
            }
            if written >= FLOOD_BYTES {
                break;
            }
        }
        eprintln!("[ws ping flood] round {round}: {written} bytes of Ping written");
        // While the flooder is still connected: whatever the broker holds for it is counted.
        scene.bystanders.check(&format!("ping-flood-{round}")).await;
        samples.push(scene.assert_rss_bounded(&format!("flooder {round} still connected")));
        drop(client);
    }
    report_samples("ws ping flood", &samples);
    assert_no_growth("ws ping flood", &samples, 8 * 1024 * 1024);
    // A fresh WebSocket client is served as before.
    let mut good = Transport::Ws
        .connected(&scene.broker, 4, "after-ping-flood")
        .await;
    good.send(&[0xC0, 0x00]).await;
    assert!(
        matches!(good.read(WAIT).await, Read::Packet(p) if p == [0xD0, 0x00]),
        "PINGRESP after the flood"
    );
    scene.finish().await;
}
