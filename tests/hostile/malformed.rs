//! Table rows of single hostile packets: bad remaining length, reserved flag bits, invalid UTF-8
//! and U+0000, oversize packets; and truncated packets followed by a close.
//!
//! Each row runs on its own connection, as the first packet or right after a successful
//! CONNECT, for MQTT 3.1.1 and 5.0, and is repeated to see that memory does not creep. What
//! the broker must do:
//! - 3.1.1: close the connection without sending anything [MQTT-4.8.0-1]; an invalid CONNECT
//!   is closed without CONNACK [MQTT-3.1.4-1].
//! - 5.0 after CONNECT: DISCONNECT with the reason code the spec gives, then close
//!   [MQTT-4.13.1-1]. Before CONNACK, the server may answer with a CONNACK carrying the reason
//!   code, or just close (v5 section 4.13.1).

use super::harness::{assert_no_growth, Limits, MAX_PACKET_SIZE, WAIT};
use super::scene::{report_samples, Scene};
use super::transport::{Conn, Io, Transport};
use super::wire::{self, Raw};

/// Malformed Packet.
const MALFORMED: u8 = 0x81;
/// Protocol Error.
const PROTOCOL_ERROR: u8 = 0x82;
/// Topic Name invalid.
const TOPIC_NAME_INVALID: u8 = 0x90;
/// Packet too large.
const PACKET_TOO_LARGE: u8 = 0x95;

/// Where the hostile bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    /// Instead of a valid CONNECT.
    AsConnect,
    /// After CONNECT/CONNACK succeeded.
    AfterConnect,
}

struct Row {
    name: &'static str,
    when: When,
    bytes: Vec<u8>,
    /// The v5 reason codes that are right for this input (DISCONNECT after CONNECT, or an
    /// optional CONNACK before it).
    v5: &'static [u8],
}

fn row(name: &'static str, when: When, bytes: Vec<u8>, v5: &'static [u8]) -> Row {
    Row {
        name,
        when,
        bytes,
        v5,
    }
}

fn rows(level: u8) -> Vec<Row> {
    use When::*;
    let v5 = level == 5;
    let props = |p: &[u8]| if v5 { p.to_vec() } else { Vec::new() };
    let big = vec![b'x'; MAX_PACKET_SIZE + 1024];
    vec![
        // ---- bad remaining length: a variable byte integer has at most four bytes (v5 1.5.5,
        // 3.1.1 2.2.3): the fifth continuation byte makes the packet malformed.
        row(
            "remaining length with 5 bytes (PUBLISH)",
            AfterConnect,
            vec![0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            &[MALFORMED],
        ),
        row(
            "remaining length with 5 bytes (CONNECT)",
            AsConnect,
            vec![0x10, 0x80, 0x80, 0x80, 0x80, 0x01],
            &[MALFORMED],
        ),
        // ---- reserved flag bits
        // [MQTT-3.8.1-1] SUBSCRIBE's fixed header flags are 0010
        row(
            "SUBSCRIBE flags 0000",
            AfterConnect,
            wire::subscribe_with_header(0x80, level, 1, &[b"a"], 0),
            &[MALFORMED],
        ),
        // [MQTT-3.10.1-1] UNSUBSCRIBE's are 0010
        row(
            "UNSUBSCRIBE flags 0000",
            AfterConnect,
            wire::frame(
                0xA0,
                &[&[0x00, 0x01][..], &props(&[0]), &wire::string(b"a")].concat(),
            ),
            &[MALFORMED],
        ),
        // [MQTT-3.6.1-1] PUBREL's are 0010
        row(
            "PUBREL flags 0000",
            AfterConnect,
            vec![0x60, 0x02, 0x00, 0x01],
            &[MALFORMED],
        ),
        // [MQTT-2.2.2-2] (3.1.1), v5 [MQTT-2.1.3-1]: invalid flags are a malformed packet
        row("PINGREQ flags 0001", AfterConnect, vec![0xC1, 0x00], &[MALFORMED]),
        // [MQTT-3.14.1-1] DISCONNECT's reserved bits are 0
        row(
            "DISCONNECT flags 0010",
            AfterConnect,
            vec![0xE2, 0x00],
            &[MALFORMED],
        ),
        // [MQTT-3.3.1-4] a PUBLISH never has both QoS bits set
        row(
            "PUBLISH QoS 3",
            AfterConnect,
            wire::frame(
                0x36,
                &[&wire::string(b"a")[..], &[0x00, 0x01], &props(&[0])].concat(),
            ),
            &[MALFORMED],
        ),
        // Packet type 0 is reserved (forbidden) in both versions.
        row(
            "packet type 0",
            AfterConnect,
            vec![0x00, 0x00],
            &[MALFORMED, PROTOCOL_ERROR],
        ),
        // [MQTT-3.1.2-3] the reserved CONNECT flag is 0
        row(
            "CONNECT reserved flag",
            AsConnect,
            wire::connect_with(level, 0x03, b"reserved", &[]),
            &[MALFORMED],
        ),
        // [MQTT-2.2.2-2] CONNECT's fixed header flags are 0000
        row(
            "CONNECT header flags 0010",
            AsConnect,
            {
                let mut c = wire::connect(level, b"flags");
                c[0] = 0x12;
                c
            },
            &[MALFORMED],
        ),
        // ---- invalid UTF-8 and U+0000
        // [MQTT-1.5.4-1] (3.1.1 [MQTT-1.5.3-1]) strings are well-formed UTF-8, the topic name
        // [MQTT-3.3.2-1] among them
        row(
            "PUBLISH topic with invalid UTF-8",
            AfterConnect,
            wire::publish(level, b"a/\xC3\x28", 0, b"x"),
            &[MALFORMED],
        ),
        // [MQTT-1.5.4-1] no encodings of U+D800..U+DFFF
        row(
            "PUBLISH topic with a UTF-16 surrogate",
            AfterConnect,
            wire::publish(level, b"a/\xED\xA0\x80", 0, b"x"),
            &[MALFORMED],
        ),
        // [MQTT-1.5.4-2] U+0000 in a string is a malformed packet, [MQTT-4.7.3-2] topic names
        // exclude it.
        row(
            "PUBLISH topic with U+0000",
            AfterConnect,
            wire::publish(level, b"a\0b", 0, b"x"),
            &[MALFORMED],
        ),
        // [MQTT-3.8.3-1] topic filters are UTF-8 strings
        row(
            "SUBSCRIBE filter with invalid UTF-8",
            AfterConnect,
            wire::subscribe(level, 1, &[b"a/\xFF/#"], 1),
            &[MALFORMED],
        ),
        row(
            "SUBSCRIBE filter with U+0000",
            AfterConnect,
            wire::subscribe(level, 1, &[b"a\0/#"], 1),
            &[MALFORMED],
        ),
        // [MQTT-3.1.3-4] the client identifier is a UTF-8 string
        row(
            "CONNECT client id with invalid UTF-8",
            AsConnect,
            wire::connect(level, b"c\xC3\x28"),
            &[MALFORMED],
        ),
        // the will topic is a UTF-8 string: 3.1.1 [MQTT-3.1.3-10], v5 [MQTT-3.1.3-11]
        row(
            "CONNECT will topic with U+0000",
            AsConnect,
            wire::connect_with_will(level, b"nul-will", "bystander/a\0b", b"x"),
            &[MALFORMED, TOPIC_NAME_INVALID],
        ),
        // ---- oversize: larger than max_packet_size (announced in CONNACK to v5 clients,
        // v5 3.2.2.3.6): DISCONNECT 0x95, decided from the fixed header alone.
        row(
            "PUBLISH over max_packet_size, body sent",
            AfterConnect,
            wire::publish(level, b"big", 0, &big),
            &[PACKET_TOO_LARGE],
        ),
        row(
            "PUBLISH announcing 256 MiB, body not sent",
            AfterConnect,
            vec![0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x01, b'a'],
            &[PACKET_TOO_LARGE],
        ),
        row(
            "SUBSCRIBE over max_packet_size",
            AfterConnect,
            wire::subscribe(level, 1, &vec![&b"many/filters/in/one/packet"[..]; 3000], 0),
            &[PACKET_TOO_LARGE],
        ),
        row(
            "CONNECT over max_packet_size",
            AsConnect,
            wire::connect_with_will(level, b"big-will", "bystander/big", &big),
            &[PACKET_TOO_LARGE],
        ),
    ]
}

/// Runs one row on a fresh connection (plain TCP, or `transport`) and checks the broker's
/// answer.
async fn attack(scene: &Scene, transport: Option<Transport>, level: u8, row: &Row, index: usize) {
    let what = format!(
        "{} (level {level}, {})",
        row.name,
        transport.map_or("mqtt", Transport::name)
    );
    let mut raw: Conn = match transport {
        Some(t) => t.open(&scene.broker).await,
        None => {
            let plain: Box<dyn Io> = Box::new(Raw::connect(scene.broker.addr()).await.stream);
            Raw { stream: plain }
        }
    };
    if row.when == When::AfterConnect {
        raw.handshake(&wire::connect(
            level,
            format!("hostile-{level}-{index}").as_bytes(),
        ))
        .await;
    }
    raw.send(&row.bytes).await;
    let seen = raw.expect_close(&what).await;
    match (level, row.when) {
        (4, _) => assert!(
            seen.is_empty(),
            "{what}: 3.1.1 closes without a word, got {seen:02x?}"
        ),
        (_, When::AfterConnect) => {
            let last = seen
                .last()
                .unwrap_or_else(|| panic!("{what}: closed without DISCONNECT"));
            assert_eq!(last[0], 0xE0, "{what}: expected DISCONNECT, got {last:02x?}");
            assert!(
                last.len() >= 3 && row.v5.contains(&last[2]),
                "{what}: DISCONNECT reason {:#04x}, expected one of {:02x?}",
                last.get(2).copied().unwrap_or(0),
                row.v5
            );
        }
        (_, When::AsConnect) => match seen.as_slice() {
            [] => {}
            [connack] if connack[0] == 0x20 => assert!(
                row.v5.contains(&connack[3]),
                "{what}: CONNACK reason {:#04x}, expected one of {:02x?}",
                connack[3],
                row.v5
            ),
            other => panic!("{what}: expected a close, maybe after a refusing CONNACK; got {other:02x?}"),
        },
    }
}

const REPETITIONS: usize = 3;

async fn table(level: u8, name: &'static str) {
    let mut scene = Scene::start(name, Limits::default()).await;
    let rows = rows(level);
    let mut samples = Vec::new();
    for rep in 0..REPETITIONS {
        for (i, row) in rows.iter().enumerate() {
            attack(&scene, None, level, row, i).await;
            // Other clients keep working between hostile connections.
            scene.bystanders.check(&format!("l{level}-r{rep}-{i}")).await;
        }
        samples.push(scene.assert_rss_bounded(&format!("after repetition {}", rep + 1)));
    }
    report_samples(name, &samples);
    assert_no_growth(name, &samples, 8 * 1024 * 1024);
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_v311() {
    table(4, "malformed 3.1.1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_v5() {
    table(5, "malformed 5.0").await;
}

/// The same rows once over `mqtts`, `ws` and `wss`, both protocol versions: the answer does
/// not depend on the transport. Over WebSocket an oversize packet usually arrives as one
/// oversize message, which the WebSocket layer refuses before MQTT sees its header; it is
/// still a packet too large (v5 DISCONNECT 0x95).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_over_tls_and_websocket() {
    let name = "malformed over mqtts/ws/wss";
    let mut scene = Scene::start_secure(name, Limits::default()).await;
    let mut samples = Vec::new();
    for transport in [Transport::Mqtts, Transport::Ws, Transport::Wss] {
        for level in [4u8, 5] {
            for (i, row) in rows(level).iter().enumerate() {
                attack(&scene, Some(transport), level, row, i).await;
            }
            let tag = format!("{}-{level}", transport.name());
            scene.bystanders.check(&tag).await;
        }
        samples.push(scene.assert_rss_bounded(&format!("after {}", transport.name())));
    }
    report_samples(name, &samples);
    scene.finish().await;
}

/// Truncated packets, then the client closes: nothing to answer, but the connection is gone
/// without a DISCONNECT, so its will is published [MQTT-3.1.2-8], and nothing else changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_packets_then_close() {
    let mut scene = Scene::start("truncated", Limits::default()).await;
    let addr = scene.broker.addr();
    let mut samples = Vec::new();
    for rep in 0..REPETITIONS {
        for level in [4u8, 5] {
            let truncations: Vec<(&str, Vec<u8>)> = vec![
                (
                    "PUBLISH body cut short",
                    wire::publish(level, b"t/x", 1, &[7u8; 100])[..20].to_vec(),
                ),
                ("remaining length cut short", vec![0x30, 0xFF, 0xFF]),
                ("fixed header only", vec![0x82]),
                (
                    "SUBSCRIBE cut in a filter",
                    wire::subscribe(level, 2, &[b"a/b/c/d"], 1)[..8].to_vec(),
                ),
            ];
            for (i, (name, bytes)) in truncations.iter().enumerate() {
                let topic = format!("bystander/will-{rep}-{level}-{i}");
                let id = format!("trunc-{level}-{i}");
                let mut raw = Raw::connected_with(
                    addr,
                    &wire::connect_with_will(level, id.as_bytes(), &topic, name.as_bytes()),
                )
                .await;
                raw.send(bytes).await;
                drop(raw);
                let will = scene.bystanders.expect_message(&topic).await;
                assert_eq!(
                    will,
                    name.as_bytes(),
                    "the will of a connection closed mid-packet"
                );
            }
            // A CONNECT cut short, then closed: no CONNACK, nothing left behind.
            let connect = wire::connect_with_will(level, b"cut-connect", "bystander/never", b"x");
            for cut in [1, 2, connect.len() / 2, connect.len() - 1] {
                let mut raw = Raw::connect(addr).await;
                raw.send(&connect[..cut]).await;
                drop(raw);
            }
            scene.bystanders.check(&format!("trunc-{rep}-{level}")).await;
        }
        samples.push(scene.assert_rss_bounded(&format!("after repetition {}", rep + 1)));
    }
    report_samples("truncated", &samples);
    assert_no_growth("truncated", &samples, 8 * 1024 * 1024);
    // The cut CONNECTs never became clients, and every truncated connection has ended.
    scene
        .broker
        .wait_metric("robustmq_connections", "only the two bystanders", |n| n == 2)
        .await;
    scene.finish().await;
}

/// [MQTT-1.5.4-2] "If a receiver (Server or Client) receives an MQTT Control Packet containing
/// U+0000 it is a Malformed Packet": the reason code is 0x81 (mqtt-proto reports it as an
/// invalid topic name; `protocol::decode` turns that into a malformed packet).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_in_topic_is_a_malformed_packet_v5() {
    let broker = super::harness::Broker::start(Limits::default());
    let mut raw = Raw::connected(broker.addr(), 5, "nul").await;
    raw.send(&wire::publish(5, b"a\0b", 0, b"x")).await;
    let seen = raw.expect_close("U+0000 in a topic").await;
    assert_eq!(
        seen.last().map(|p| (p[0], p[2])),
        Some((0xE0, MALFORMED)),
        "{seen:02x?} (waited up to {WAIT:?})"
    );
}
