//! Table rows of clients that do not read: a QoS 1 flood from a client that never reads its
//! PUBACKs is back-pressured (the broker stops reading it instead of buffering PUBACKs without
//! bound), and a subscriber to `#` that never reads has a bounded queue whose overflow is
//! dropped and counted while publishers and other subscribers carry on.

use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::{Packet as V5Packet, PubAckReason};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use tokio::sync::mpsc;

use super::harness::{assert_no_growth, Limits, WAIT};
use super::scene::{report_samples, Scene};
use super::wire::{self, Raw, Read};

/// A client socket with a tiny receive buffer, so what the broker sends it piles up on the
/// broker's side quickly once it stops reading.
pub async fn tight_socket(addr: std::net::SocketAddr) -> Raw {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.set_send_buffer_size(16 * 1024).expect("SO_SNDBUF");
    let stream = tokio::time::timeout(WAIT, socket.connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let _ = stream.set_nodelay(true);
    Raw { stream }
}

/// Most PUBLISH bytes the flooder may get into the broker while ignoring its PUBACKs: socket
/// buffers plus the broker's bounded write buffer worth of PUBACKs come to a few MiB; a
/// broker that kept reading would pass this.
const FLOOD_BOUND: u64 = 64 * 1024 * 1024;

/// How long a write must stall to count as "the broker stopped reading".
const STALL: Duration = Duration::from_secs(2);

/// Floods tiny QoS 1 PUBLISHes without reading; returns the bytes written before the broker
/// stopped reading (two consecutive stalled writes).
async fn flood_until_blocked(raw: &mut Raw) -> u64 {
    let mut written = 0u64;
    let mut pid: u16 = 0;
    let mut stalls = 0;
    loop {
        let batch: Vec<u8> = (0..1000)
            .flat_map(|_| {
                pid = pid % u16::MAX + 1;
                wire::publish(4, b"flood/x", pid, b"f")
            })
            .collect();
        match tokio::time::timeout(STALL, raw.stream.write_all(&batch)).await {
            Ok(Ok(())) => {
                written += batch.len() as u64;
                stalls = 0;
            }
            Ok(Err(e)) => panic!("the broker dropped the flooder instead of back-pressuring it: {e}"),
            Err(_) => {
                stalls += 1;
                if stalls == 2 {
                    return written;
                }
            }
        }
        assert!(
            written < FLOOD_BOUND,
            "the broker kept reading ({written} bytes of PUBLISH) from a client that reads none of its PUBACKs"
        );
    }
}

/// Receive Maximum (v5 section 4.9) aside, a client that never reads must not make the broker buffer
/// without bound: past a bounded write buffer it stops reading that client (TCP back-pressure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos1_flood_without_reading_pubacks_is_back_pressured() {
    let mut scene = Scene::start("QoS 1 flood", Limits::default()).await;
    let addr = scene.broker.addr();
    let mut samples = Vec::new();
    for rep in 0..3 {
        let mut raw = tight_socket(addr).await;
        raw.send(&wire::connect(4, b"flooder")).await;
        assert!(
            matches!(raw.read(WAIT).await, Read::Packet(p) if p == [0x20, 0x02, 0x00, 0x00]),
            "flooder CONNACK"
        );
        let written = flood_until_blocked(&mut raw).await;
        eprintln!(
            "[QoS 1 flood] repetition {}: the broker stopped reading after {} KiB of PUBLISH",
            rep + 1,
            written / 1024
        );
        // While the flooder is stuck, everyone else is served and memory is bounded.
        scene.bystanders.check(&format!("flood-during-{rep}")).await;
        samples.push(scene.assert_rss_bounded(&format!("during the flood (repetition {})", rep + 1)));
        drop(raw);
        // The flooder's connection ends once it is gone (its unread PUBACKs are discarded).
        scene
            .broker
            .wait_metric("robustmq_connections", "only the two bystanders", |n| n == 2)
            .await;
    }
    report_samples("QoS 1 flood", &samples);
    assert_no_growth("QoS 1 flood", &samples, 16 * 1024 * 1024);
    scene.finish().await;
}

/// Messages per burst: below `max_queued_messages` (1000), so the reading consumer never
/// drops, while the subscriber that never reads fills its queue after one or two bursts.
const BURST: usize = 500;
const BURSTS: usize = 6;
const PAYLOAD: usize = 4096;
const MAX_QUEUED: usize = 1000;

/// The most bytes the kernel may hold in one socket's send buffer (`tcp_wmem` maximum).
fn kernel_send_buffer_max() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 * 1024 * 1024)
}
/// A subscriber to `#` that never reads while others publish: it holds the publisher back
/// until it counts as stalled (`stalled_after`, 1 s here), then its queue is bounded by
/// `max_queued_messages`/`max_queued_bytes`, the overflow is dropped and counted
/// (`robustmq_publish_dropped_total`), publishers get every PUBACK with reason Success
/// (someone did take each message), and a reading subscriber gets every message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_that_never_reads_has_a_bounded_queue() {
    let limits = Limits {
        max_queued_messages: MAX_QUEUED,
        // The message count is the bound that matters here.
        max_queued_bytes: "16MiB",
        stalled_after: "1s",
        ..Limits::default()
    };
    let mut scene = Scene::start("slow # subscriber", limits).await;
    let addr = scene.broker.addr();

    let mut slow = tight_socket(addr).await;
    slow.send(&wire::connect(4, b"never-reads")).await;
    assert!(matches!(slow.read(WAIT).await, Read::Packet(p) if p[0] == 0x20));
    slow.send(&wire::subscribe(4, 1, &[b"#"], 1)).await;
    assert!(matches!(slow.read(WAIT).await, Read::Packet(p) if p == [0x90, 0x03, 0x00, 0x01, 0x01]));
    // From here on, `slow` is never read again.

    // A consumer that reads, on the same topics.
    let mut options = rumqttc::MqttOptions::new("load-consumer", "127.0.0.1", scene.broker.port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(64 * 1024, 64 * 1024);
    let (consumer, mut consumer_loop) = rumqttc::AsyncClient::new(options, 100);
    let (got_tx, mut got) = mpsc::unbounded_channel();
    let consumer_task = tokio::spawn(async move {
        loop {
            match consumer_loop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    if got_tx.send(p.topic != "load/probe").is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    consumer
        .subscribe("load/#", rumqttc::QoS::AtLeastOnce)
        .await
        .expect("queue SUBSCRIBE");
    // The subscription is in place once a probe message comes back.

    let mut options = rumqttc::v5::MqttOptions::new("load-publisher", "127.0.0.1", scene.broker.port);
    options.set_keep_alive(Duration::from_secs(30));
    let (publisher, mut publisher_loop) = rumqttc::v5::AsyncClient::new(options, 1000);
    let (ack_tx, mut acks) = mpsc::unbounded_channel();
    let publisher_task = tokio::spawn(async move {
        loop {
            match publisher_loop.poll().await {
                Ok(rumqttc::v5::Event::Incoming(V5Packet::PubAck(a))) => {
                    if ack_tx.send(Ok(a.reason)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = ack_tx.send(Err(e.to_string()));
                    return;
                }
            }
        }
    });
    let probe_deadline = tokio::time::Instant::now() + WAIT;
    loop {
        publisher
            .publish(
                "load/probe",
                rumqttc::v5::mqttbytes::QoS::AtMostOnce,
                false,
                "probe",
            )
            .await
            .expect("queue probe");
        if tokio::time::timeout(Duration::from_millis(200), got.recv())
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < probe_deadline,
            "the consumer's subscription never took"
        );
    }

    let dropped_before = scene.broker.metric("robustmq_publish_dropped_total");
    let mut samples = Vec::new();
    for burst in 0..BURSTS {
        for i in 0..BURST {
            publisher
                .publish(
                    format!("load/{}", i % 10),
                    rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                    false,
                    vec![b'l'; PAYLOAD],
                )
                .await
                .expect("queue PUBLISH");
        }
        for _ in 0..BURST {
            match tokio::time::timeout(WAIT, acks.recv()).await {
                Ok(Some(Ok(reason))) => assert_eq!(
                    reason,
                    PubAckReason::Success,
                    "a publisher is refused because one subscriber does not read"
                ),
                Ok(Some(Err(e))) => panic!("the publisher lost its connection: {e}"),
                other => panic!("burst {burst}: a PUBACK never came ({other:?})"),
            }
        }
        let mut received = 0;
        while received < BURST {
            // Late probes may still arrive; only the burst's messages count.
            let load = tokio::time::timeout(WAIT, got.recv())
                .await
                .unwrap_or_else(|_| panic!("burst {burst}: the reading consumer got {received} of {BURST}"))
                .expect("consumer task");
            received += usize::from(load);
        }
        scene.bystanders.check(&format!("slow-sub-{burst}")).await;
        samples.push(scene.assert_rss_bounded(&format!("after burst {}", burst + 1)));
    }
    let published = BURST * BURSTS;
    let dropped = (scene.broker.metric("robustmq_publish_dropped_total") - dropped_before) as usize;
    // What the never-reading subscriber can hold without dropping: its queue, plus what went
    // out as unacknowledged PUBLISH into the broker's write buffer (256 KiB) and the kernel's
    // socket buffers (its send buffer, our 4 KiB receive buffer doubled by the kernel).
    let message = PAYLOAD + 16;
    let in_flight = (kernel_send_buffer_max() + 256 * 1024 + 8 * 1024).div_ceil(message);
    let must_drop = published.saturating_sub(MAX_QUEUED + in_flight);
    eprintln!(
        "[slow # subscriber] {published} messages published, {dropped} dropped for the subscriber that never reads \
         (at least {must_drop} expected: queue {MAX_QUEUED}, in flight at most {in_flight})"
    );
    assert!(
        dropped > 0,
        "the never-reading subscriber's overflow is dropped and counted"
    );
    assert!(
        dropped >= must_drop,
        "the never-reading subscriber kept {} messages, more than its queue ({MAX_QUEUED}) and the socket buffers ({in_flight})",
        published - dropped
    );
    report_samples("slow # subscriber", &samples);
    assert_no_growth("slow # subscriber", &samples, 8 * 1024 * 1024);

    drop(slow);
    publisher_task.abort();
    consumer_task.abort();
    scene.finish().await;
}
