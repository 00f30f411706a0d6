//! A full disk: the broker on a small tmpfs, filled until it refuses messages, then given room.
//!
//! What must hold: a publish that cannot be stored is refused alone (MQTT 5: PUBACK 0x97 with
//! a reason string) and its connection stays (3.1.1, which cannot refuse, is closed with no
//! PUBACK and sends the message again later); reconnects and acknowledgements still commit (the reserve); the gauge, the error counter and one log line
//! say so; once space is freed the broker takes messages again without a restart; every
//! acknowledged message is delivered, also across a `kill -9` and a restart on the full disk.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Child;

use super::small_disk::SmallDisk;
use super::wire::{self, kind, Connect, Level, Publish, Raw};

/// Payload size: big enough that a few hundred fill the disk, small enough to be quick.
const PAYLOAD: usize = 32 * 1024;
/// Publishes tried before giving up on the disk ever filling.
const MOST: u32 = 2000;
/// What the broker logs when it finds the disk full.
const FULL_LINE: &str = "the disk holding the store is full";

/// The broker's configuration: data on the small disk, a 1 MiB reserve, metrics on.
fn config(disk: &SmallDisk, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("robustmq.toml");
    let text = format!(
        "[server]\ndata_dir = {:?}\n\n[[listeners]]\nbind = \"127.0.0.1:0\"\n\n\
         [store]\nreserve = \"1MiB\"\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
        disk.inside("data").display().to_string()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// One sample of the Prometheus endpoint, by exact name.
fn metric(port: u16, name: &str) -> f64 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in the metrics:\n{text}"))
}

/// Waits until metric `name` reads `value`: the last changes to it follow the last packet a
/// client sees.
async fn await_metric(port: u16, name: &str, value: f64) {
    let deadline = std::time::Instant::now() + wire::WAIT;
    loop {
        let now = metric(port, name);
        if now == value {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} is {now}, not {value}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn payload(n: u32) -> Vec<u8> {
    let mut p = format!("m{n:06}:").into_bytes();
    p.resize(PAYLOAD, b'.');
    p
}

fn number(payload: &[u8]) -> u32 {
    std::str::from_utf8(&payload[1..7]).unwrap().parse().unwrap()
}

/// Reason code of a PUBACK/PUBREC (0 when left out) and its reason string, if any.
fn ack_reason(packet: &[u8]) -> (u8, Option<String>) {
    let (_, body) = wire::split(packet).expect("a whole packet");
    let Some(&code) = body.get(2) else {
        return (0, None);
    };
    let why = body.get(3..).and_then(wire::parse_props).and_then(|props| {
        props
            .into_iter()
            .find(|(id, _)| *id == 0x1F)
            .map(|(_, v)| String::from_utf8_lossy(&v).into_owned())
    });
    (code, why)
}

/// An MQTT 5 publisher.
async fn publisher(addr: SocketAddr, id: &str) -> Raw {
    Raw::connected(addr, &Connect::v5(id)).await.0
}

/// Publishes message `n` at QoS 1 and returns the PUBACK's reason code and string.
async fn publish(raw: &mut Raw, n: u32) -> (u8, Option<String>) {
    let packet_id = (n % 60_000 + 1) as u16;
    let publish = Publish::new(Level::V5, "fill/data", &payload(n)).qos(1, packet_id);
    raw.send(&publish.bytes()).await;
    let ack = raw.expect(kind::PUBACK).await;
    let (_, body) = wire::split(&ack).expect("a whole PUBACK");
    assert_eq!(
        &body[..2],
        &packet_id.to_be_bytes(),
        "the PUBACK of another message"
    );
    ack_reason(&ack)
}

/// Publishes `payload` retained at QoS 1 on `keep/r`; returns the PUBACK's reason code.
async fn retain(raw: &mut Raw, payload: &[u8]) -> u8 {
    let mut publish = Publish::new(Level::V5, "keep/r", payload).qos(1, 60_001);
    publish.retain = true;
    raw.send(&publish.bytes()).await;
    ack_reason(&raw.expect(kind::PUBACK).await).0
}

/// The payload of the message retained on `keep/r`, as a new MQTT 5 subscriber gets it.
async fn retained(addr: SocketAddr) -> Vec<u8> {
    let (mut raw, _) = Raw::connected(addr, &Connect::v5("reader")).await;
    raw.send(&wire::subscribe(Level::V5, 1, &[("keep/r", 0)])).await;
    raw.expect(kind::SUBACK).await;
    let packet = raw.packet().await.expect("no retained message");
    assert_eq!(
        packet[0] & 0xF1,
        kind::PUBLISH | 1,
        "not a retained PUBLISH: {packet:02x?}"
    );
    let (_, body) = wire::split(&packet).unwrap();
    let topic_len = u16::from_be_bytes([body[0], body[1]]) as usize;
    let props = &body[2 + topic_len..];
    // QoS 0: the properties follow the topic; their length is a one-byte Variable Byte
    // Integer for the few a retained message carries.
    props[1 + props[0] as usize..].to_vec()
}

/// The packet id of the QoS 2 publishes, apart from those of QoS 1.
const QOS2_ID: u16 = 60_002;

/// Publishes message `n` at QoS 2 and returns the PUBREC's reason code.
async fn exactly_once(raw: &mut Raw, n: u32) -> u8 {
    let publish = Publish::new(Level::V5, "fill/data", &payload(n)).qos(2, QOS2_ID);
    raw.send(&publish.bytes()).await;
    ack_reason(&raw.expect(kind::PUBREC).await).0
}

/// Publishes until the broker refuses; returns the numbers it acknowledged and the refusal.
async fn publish_until_refused(raw: &mut Raw, from: u32) -> (Vec<u32>, u32, Option<String>) {
    let mut acked = Vec::new();
    for n in from..from + MOST {
        match publish(raw, n).await {
            (0, _) => acked.push(n),
            (code, why) => {
                assert_eq!(
                    code, 0x97,
                    "refused with {code:#04x} ({why:?}), not quota exceeded"
                );
                return (acked, n, why);
            }
        }
    }
    panic!("{MOST} messages of {PAYLOAD} bytes did not fill the disk");
}

/// The persistent 3.1.1 subscriber that the messages queue for.
fn keeper() -> Connect {
    let mut connect = Connect::v311("keeper");
    connect.clean_start = false;
    connect
}

/// Connects the keeper, receives (and acknowledges) messages until it has every one of
/// `expected`, and disconnects. Returns what it received.
async fn drain(addr: SocketAddr, expected: &BTreeSet<u32>) -> BTreeSet<u32> {
    let (mut raw, connack) = Raw::connected(addr, &keeper()).await;
    assert_eq!(connack.flags & 1, 1, "the keeper's session was lost");
    let mut seen = BTreeSet::new();
    while !expected.is_subset(&seen) {
        let packet = raw.packet().await.unwrap_or_else(|| {
            panic!(
                "the broker closed the keeper's connection; missing {:?}",
                expected.difference(&seen).collect::<Vec<_>>()
            )
        });
        assert_eq!(packet[0] & 0xF0, kind::PUBLISH, "{:02x?}", &packet[..4]);
        let (_, body) = wire::split(&packet).unwrap();
        let topic_len = u16::from_be_bytes([body[0], body[1]]) as usize;
        let packet_id = u16::from_be_bytes([body[2 + topic_len], body[3 + topic_len]]);
        seen.insert(number(&body[4 + topic_len..]));
        raw.send(&wire::ack(kind::PUBACK, packet_id)).await;
    }
    // The PINGRESP comes after the acknowledgements were handled.
    raw.ping().await;
    raw.send(&wire::disconnect(None)).await;
    seen
}

/// The keeper subscribes to `fill/#` at QoS 1 and goes offline.
async fn subscribe_keeper(addr: SocketAddr) {
    let (mut raw, _) = Raw::connected(addr, &keeper()).await;
    raw.send(&wire::subscribe(Level::V311, 1, &[("fill/#", 1)])).await;
    raw.expect(kind::SUBACK).await;
    raw.send(&wire::disconnect(None)).await;
}

struct Running {
    child: Child,
    addr: SocketAddr,
    metrics: u16,
}

fn serve(disk: &SmallDisk, config: &Path, log: &Path) -> Running {
    let (child, bound) = disk.serve(config, log);
    Running {
        child,
        addr: bound.addr(0, "mqtt"),
        metrics: bound.metrics_port(),
    }
}

fn full_lines(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(FULL_LINE))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_each_message_it_cannot_store_and_recovers_without_a_restart() {
    let disk = SmallDisk::mount("24m");
    let dir = tempfile::tempdir().unwrap();
    let config = config(&disk, dir.path());
    let log = dir.path().join("broker.log");
    let mut broker = serve(&disk, &config, &log);
    assert!(disk.outside("data/robustmq.reserve").exists(), "no reserve file");
    subscribe_keeper(broker.addr).await;
    let mut v5 = publisher(broker.addr, "pub5").await;
    assert!(
        retain(&mut v5, b"old").await < 0x80,
        "the retained message was refused"
    );

    // Leave the broker 3 MiB, then publish until it cannot store more.
    let filler = disk.fill("filler");
    disk.shrink("filler", filler.saturating_sub(3 << 20));
    let (mut acked, refused, why) = publish_until_refused(&mut v5, 0).await;
    assert!(!acked.is_empty(), "the first message was refused already");
    eprintln!("{} messages of {PAYLOAD} bytes fitted in 3 MiB", acked.len());
    let why = why.expect("a reason string with the refusal");
    assert!(why.contains("disk is full"), "{why}");
    // Refused alone: the connection is open, and the next message is refused the same way.
    v5.ping().await;
    assert_eq!(publish(&mut v5, refused + 1).await.0, 0x97);
    // A retained message is refused before it replaces the one kept.
    assert_eq!(retain(&mut v5, b"new").await, 0x97);
    // QoS 2: PUBREC 0x97, and the packet id is free again (not taken for a duplicate later).
    assert_eq!(exactly_once(&mut v5, 900_001).await, 0x97);

    // 3.1.1 cannot refuse: a transient error closes the connection it came in on, with no
    // PUBACK [MQTT-4.8.0-2]; the client sends the message again when it reconnects.
    let mut v3_connect = Connect::v311("pub3");
    v3_connect.clean_start = false;
    let v3_publish = Publish::new(Level::V311, "fill/data", &payload(900_000)).qos(1, 7);
    let (mut v3, _) = Raw::connected(broker.addr, &v3_connect).await;
    v3.send(&v3_publish.bytes()).await;
    v3.send(&wire::pingreq()).await;
    let seen = v3.expect_close().await;
    assert!(
        seen.iter().all(|p| p[0] != kind::PUBACK),
        "a PUBACK for a message not stored: {seen:02x?}"
    );
    // Other clients are untouched [MQTT-4.8.0-2]: the MQTT 5 publisher is still connected.
    v5.ping().await;

    assert_eq!(metric(broker.metrics, "robustmq_store_full"), 1.0);
    assert!(metric(broker.metrics, "robustmq_store_errors_total") >= 3.0);
    assert!(
        !disk.outside("data/robustmq.reserve").exists(),
        "the reserve was not released"
    );

    // Reconnecting and acknowledging need writes: they still commit on the full disk.
    let expected: BTreeSet<u32> = acked.iter().copied().collect();
    let mut delivered = drain(broker.addr, &expected).await;

    // Room again: the same connection is served again, no restart.
    disk.remove("filler");
    let (code, why) = publish(&mut v5, refused + 2).await;
    assert_eq!(code, 0, "still refused after space was freed: {why:?}");
    let mut later = vec![refused + 2];
    for n in refused + 3..refused + 10 {
        assert_eq!(publish(&mut v5, n).await.0, 0);
        later.push(n);
    }
    assert_eq!(exactly_once(&mut v5, 900_002).await, 0);
    v5.send(&wire::ack(kind::PUBREL, QOS2_ID)).await;
    v5.expect(kind::PUBCOMP).await;
    later.push(900_002);
    // The 3.1.1 publisher's message, sent again with its session [MQTT-4.4.0-1], is taken now.
    let (mut v3, connack) = Raw::connected(broker.addr, &v3_connect).await;
    assert_eq!(connack.flags & 1, 1, "the 3.1.1 publisher's session was lost");
    let mut again = v3_publish;
    again.dup = true;
    v3.send(&again.bytes()).await;
    v3.expect(kind::PUBACK).await;
    later.push(900_000);
    assert_eq!(metric(broker.metrics, "robustmq_store_full"), 0.0);
    assert!(
        disk.outside("data/robustmq.reserve").exists(),
        "the reserve was not made again"
    );
    assert_eq!(full_lines(&log), 1, "the full disk is logged once");

    let expected: BTreeSet<u32> = later.iter().copied().collect();
    delivered.extend(drain(broker.addr, &expected).await);
    acked.extend(later);
    assert!(acked.iter().all(|n| delivered.contains(n)));
    assert_eq!(retained(broker.addr).await, b"old");
    // What was refused is not counted as stored any more (the queue bounds use this).
    await_metric(broker.metrics, "robustmq_store_bytes", 0.0).await;
    let refused_set: BTreeSet<u32> = [refused, refused + 1, 900_001].into();
    assert!(
        delivered.is_disjoint(&refused_set),
        "a refused message was delivered: {:?}",
        delivered.intersection(&refused_set).collect::<Vec<_>>()
    );
    let _ = broker.child.kill();
    let _ = broker.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restarted_on_a_full_disk_lets_the_queue_drain() {
    let disk = SmallDisk::mount("24m");
    let dir = tempfile::tempdir().unwrap();
    let config = config(&disk, dir.path());
    let log = dir.path().join("broker.log");
    let mut broker = serve(&disk, &config, &log);
    subscribe_keeper(broker.addr).await;
    let filler = disk.fill("filler");
    disk.shrink("filler", filler.saturating_sub(3 << 20));
    let mut v5 = publisher(broker.addr, "pub5").await;
    let (acked, refused, _) = publish_until_refused(&mut v5, 0).await;

    // kill -9 on the full disk, and a restart on it: the reserve cannot be made again.
    broker.child.kill().unwrap();
    broker.child.wait().unwrap();
    let restart_log = dir.path().join("restart.log");
    let mut broker = serve(&disk, &config, &restart_log);
    assert_eq!(metric(broker.metrics, "robustmq_store_full"), 1.0);
    assert_eq!(full_lines(&restart_log), 1);

    // The subscriber whose queue filled the disk can connect and take everything.
    let expected: BTreeSet<u32> = acked.iter().copied().collect();
    let delivered = drain(broker.addr, &expected).await;
    assert!(!delivered.contains(&refused));

    disk.remove("filler");
    let mut v5 = publisher(broker.addr, "pub5").await;
    assert_eq!(publish(&mut v5, refused + 1).await.0, 0);
    assert_eq!(metric(broker.metrics, "robustmq_store_full"), 0.0);
    let _ = broker.child.kill();
    let _ = broker.child.wait();
}
