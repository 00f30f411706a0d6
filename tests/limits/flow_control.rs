//! Flow control: a subscriber that cannot keep up holds its publishers back instead of making
//! the broker acknowledge messages it then drops. Seen from outside with raw sockets: the
//! publisher's PUBACKs stop while the subscriber does not read, nothing acknowledged is lost,
//! and everything arrives in order once it reads again. A subscriber that stalls
//! (`stalled_after`) stops holding anyone back and loses only what does not fit its queue,
//! counted; QoS 0 is shed oldest first and never holds a publisher back; `max_memory` bounds
//! the whole broker the same way.

use std::net::SocketAddr;
use std::time::Duration;

use robustmq::config::MemoryLimit;
use robustmq::server::metrics::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, watch};

use super::common::*;
use super::versions::both_versions;

/// Messages each test publishes.
const N: u32 = 400;
/// Payload of the `max_memory` tests' messages, and their budget: 64 messages' worth.
const BIG: usize = 16 * 1024;
const BUDGET: u64 = 1024 * 1024;

/// A broker with a `max_memory` of [`BUDGET`], room for [`BIG`] messages, and `stalled_after`.
async fn start_with_budget(stalled_after: Duration) -> TestBroker {
    start_with(|s| {
        s.limits.max_packet_size = 64 * 1024;
        s.limits.max_memory = MemoryLimit::Bytes(BUDGET);
        s.limits.max_inflight = 10;
        s.limits.stalled_after = stalled_after;
    })
    .await
}

/// A subscriber that keeps up on `prefix/#` and a publisher of `N` [`BIG`] messages to it:
/// every one is acknowledged and arrives, in order.
async fn everything_reaches_a_subscriber_that_keeps_up(broker: &TestBroker, level: u8, prefix: &str) {
    let mut reader = connected(broker, level, &format!("{prefix}-reader")).await;
    subscribe_to(&mut reader, level, &format!("{prefix}/#"), 1).await;
    let reading = tokio::spawn(async move { receive(&mut reader, level, N as usize).await });
    let topic = format!("{prefix}/a");
    let mut publisher =
        Publisher::start(broker.addr, level, &format!("{prefix}-writer"), &topic, 1, BIG).await;
    publisher.all_acked().await;
    let seqs = tokio::time::timeout(WAIT, reading)
        .await
        .expect("the subscriber that keeps up got everything")
        .expect("reader task");
    assert_eq!(
        seqs,
        (1..=N).collect::<Vec<_>>(),
        "{prefix}: every message, in order"
    );
}

/// A client socket with a tiny receive buffer, so that what the broker sends it stays on the
/// broker's side as soon as it stops reading.
async fn tight_client(addr: SocketAddr, level: u8, client_id: &str) -> Raw {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = tokio::time::timeout(WAIT, socket.connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let mut raw = Raw { stream };
    raw.send(&connect_packet(level, client_id, 0, None)).await;
    let connack = raw.packet().await.expect("CONNACK");
    assert_eq!(Connack::parse(level, &connack).code, 0);
    raw
}

/// Subscribes `raw` to `filter` at QoS `qos` and waits for the SUBACK.
async fn subscribe_to(raw: &mut Raw, level: u8, filter: &str, qos: u8) {
    raw.send(&subscribe(level, 1, &[(filter, qos)])).await;
    let suback = raw.next_of(9).await;
    assert_eq!(suback_codes(level, &suback).0, vec![qos]);
}

/// A payload that carries its sequence number, padded to `size` bytes.
fn numbered(seq: u32, size: usize) -> Vec<u8> {
    let mut payload = seq.to_be_bytes().to_vec();
    payload.resize(size.max(4), b'.');
    payload
}

fn sequence_of(payload: &[u8]) -> u32 {
    u32::from_be_bytes(payload[..4].try_into().expect("a numbered payload"))
}

/// The packet id of a QoS 1/2 PUBLISH.
fn publish_packet_id(packet: &[u8]) -> u16 {
    let topic_len = publish_topic(packet).len();
    let mut pos = 1;
    while packet[pos] & 0x80 != 0 {
        pos += 1;
    }
    pos += 1 + 2 + topic_len;
    u16::from_be_bytes([packet[pos], packet[pos + 1]])
}

/// A publisher whose PUBLISH packets are written by one task while another counts the PUBACKs
/// that come back, so that a broker that stops reading it cannot stall the test itself.
struct Publisher {
    acks: watch::Receiver<u32>,
    reasons: watch::Receiver<Vec<u8>>,
}

impl Publisher {
    /// Connects and starts writing `N` messages of `size` bytes at `qos` to `topic`.
    async fn start(
        addr: SocketAddr,
        level: u8,
        client_id: &str,
        topic: &str,
        qos: u8,
        size: usize,
    ) -> Publisher {
        let raw = connected_at(addr, level, client_id).await;
        let (read, mut write) = raw.stream.into_split();
        let topic = topic.to_string();
        tokio::spawn(async move {
            for seq in 1..=N {
                let packet = publish(level, &topic, qos, seq as u16, &[], &numbered(seq, size));
                if write.write_all(&packet).await.is_err() {
                    return;
                }
            }
            // Kept open until the test ends: the reader still expects acknowledgements.
            std::future::pending::<()>().await;
        });
        let (acks_tx, acks) = watch::channel(0);
        let (reasons_tx, reasons) = watch::channel(Vec::new());
        tokio::spawn(count_acks(read, acks_tx, reasons_tx));
        Publisher { acks, reasons }
    }

    /// PUBACKs received so far.
    fn acked(&self) -> u32 {
        *self.acks.borrow()
    }

    /// Waits until the PUBACKs stop coming (none for two quiet periods); returns how many came.
    async fn acks_settle(&mut self) -> u32 {
        loop {
            let before = self.acked();
            tokio::time::sleep(QUIET * 2).await;
            if self.acked() == before {
                return before;
            }
        }
    }

    /// Waits until all `N` messages are acknowledged.
    async fn all_acked(&mut self) {
        let mut acks = self.acks.clone();
        tokio::time::timeout(WAIT, acks.wait_for(|&n| n == N))
            .await
            .unwrap_or_else(|_| panic!("only {} of {N} PUBACKs arrived", self.acked()))
            .expect("ack counter alive");
    }
}

async fn count_acks(mut read: OwnedReadHalf, acks: watch::Sender<u32>, reasons: watch::Sender<Vec<u8>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = read.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some((len, header)) = whole_packet(&buf) {
            if header >> 4 == 4 {
                let ack = Ack::parse(&buf[..len]);
                acks.send_modify(|n| *n += 1);
                reasons.send_modify(|r| r.push(ack.reason));
            }
            buf.drain(..len);
        }
    }
}

/// The length and first byte of the whole packet at the start of `buf`, if it is all there.
fn whole_packet(buf: &[u8]) -> Option<(usize, u8)> {
    let mut len = 0usize;
    let mut shift = 0;
    let mut pos = 1;
    loop {
        let b = *buf.get(pos)?;
        len |= ((b & 0x7f) as usize) << shift;
        shift += 7;
        pos += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    (buf.len() >= pos + len).then_some((pos + len, buf[0]))
}

/// Reads `count` PUBLISH packets, acknowledging QoS 1 ones; returns their sequence numbers.
async fn receive(raw: &mut Raw, level: u8, count: usize) -> Vec<u32> {
    let mut seen = Vec::with_capacity(count);
    while seen.len() < count {
        let packet = raw.next_of(3).await;
        if (packet[0] >> 1) & 3 == 1 {
            raw.send(&ack(0x40, publish_packet_id(&packet))).await;
        }
        seen.push(sequence_of(&parse_publish(level, &packet).1));
    }
    seen
}

fn assert_in_order(what: &str, seqs: &[u32]) {
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "{what}: messages out of order [MQTT-4.6.0-6]: {seqs:?}"
    );
}

/// A subscriber that stops reading holds a QoS 1 publisher back: its PUBACKs stop once the
/// subscriber's inflight window and queue are full (plus the one message that found them
/// full), nothing is dropped, and once the subscriber reads again every message arrives, in
/// order, and every PUBACK goes out. [MQTT-4.6.0-6] order; [MQTT-3.3.4-1] the PUBACK is the
/// broker's promise to deliver.
async fn slow_subscriber_holds_the_publisher_back(level: u8) {
    const INFLIGHT: u16 = 10;
    const QUEUE: usize = 20;
    let broker = start_with(|s| {
        s.limits.max_inflight = INFLIGHT;
        s.limits.max_queued_messages = QUEUE;
        s.limits.stalled_after = Duration::from_secs(3600);
    })
    .await;
    let mut sub = tight_client(broker.addr, level, "slow-reader").await;
    subscribe_to(&mut sub, level, "flow/#", 1).await;
    // From here the subscriber reads nothing until the publisher's acknowledgements stop.
    let mut publisher = Publisher::start(broker.addr, level, "fast-writer", "flow/a", 1, 200).await;
    let held_at = publisher.acks_settle().await;
    let bound = u32::from(INFLIGHT) + QUEUE as u32 + 1;
    assert!(
        held_at <= bound,
        "level {level}: {held_at} of {N} messages acknowledged while the subscriber read nothing; flow control allows at most {bound}"
    );
    let limits = broker.limits();
    assert!(limits.publishers_paced >= 1, "level {level}: the hold is counted");
    assert_eq!(
        get(&broker.metrics().publish_dropped),
        0,
        "level {level}: nothing dropped"
    );

    let seqs = receive(&mut sub, level, N as usize).await;
    assert_eq!(
        seqs,
        (1..=N).collect::<Vec<_>>(),
        "level {level}: every message, in order"
    );
    publisher.all_acked().await;
    assert!(
        publisher.reasons.borrow().iter().all(|&r| r == 0),
        "level {level}: every PUBACK says success"
    );
    assert_eq!(get(&broker.metrics().publish_dropped), 0);
    assert_eq!(broker.limits().subscribers_stalled, 0);
    broker.stop().await;
}

// 3.1.1 [MQTT-4.6.0-5]/[MQTT-4.6.0-6]: the topic is ordered, so the messages arrive in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_subscriber_holds_a_v311_publisher_back_and_loses_nothing() {
    slow_subscriber_holds_the_publisher_back(4).await;
}

// v5 [MQTT-4.6.0-5]/[MQTT-4.6.0-6]: the topic is ordered, so the messages arrive in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_subscriber_holds_a_v5_publisher_back_and_loses_nothing() {
    slow_subscriber_holds_the_publisher_back(5).await;
}

/// A client subscribed to what it publishes is never held back by its own queue: what drains
/// that queue is the client's acknowledgements of what it receives, which would wait, unread,
/// behind its publishes until `stalled_after` (here an hour), and then its messages would be
/// dropped. With a queue of 20, 400 messages go through: every PUBACK comes, every message
/// arrives in order [MQTT-4.6.0-6], nothing is dropped.
async fn a_client_is_not_held_back_by_its_own_queue(level: u8) {
    let broker = start_with(|s| {
        s.limits.max_inflight = 10;
        s.limits.max_queued_messages = 20;
        s.limits.stalled_after = Duration::from_secs(3600);
    })
    .await;
    let mut raw = connected_at(broker.addr, level, "echo").await;
    subscribe_to(&mut raw, level, "echo/#", 1).await;
    let (mut read, mut write) = raw.stream.into_split();
    // One writer for its publishes and its acknowledgements, in the order they are handed over.
    let (out, mut to_write) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(async move {
        while let Some(packet) = to_write.recv().await {
            if write.write_all(&packet).await.is_err() {
                return;
            }
        }
    });
    for seq in 1..=N {
        let packet = publish(level, "echo/a", 1, seq as u16, &[], &numbered(seq, 200));
        out.send(packet).expect("writer alive");
    }
    let (mut acked, mut seqs) = (0u32, Vec::new());
    let (mut buf, mut chunk) = (Vec::new(), [0u8; 4096]);
    let done = tokio::time::timeout(WAIT, async {
        while acked < N || seqs.len() < N as usize {
            let n = read.read(&mut chunk).await.expect("read");
            assert!(n > 0, "level {level}: the broker closed the connection");
            buf.extend_from_slice(&chunk[..n]);
            while let Some((len, header)) = whole_packet(&buf) {
                let packet: Vec<u8> = buf.drain(..len).collect();
                match header >> 4 {
                    4 => acked += 1,
                    3 => {
                        out.send(ack(0x40, publish_packet_id(&packet)))
                            .expect("writer alive");
                        seqs.push(sequence_of(&parse_publish(level, &packet).1));
                    }
                    _ => {}
                }
            }
        }
    })
    .await;
    assert!(
        done.is_ok(),
        "level {level}: {acked} of {N} PUBACKs and {} of {N} messages: held back by its own queue",
        seqs.len()
    );
    assert_eq!(
        seqs,
        (1..=N).collect::<Vec<_>>(),
        "level {level}: every message, in order"
    );
    assert_eq!(
        get(&broker.metrics().publish_dropped),
        0,
        "level {level}: nothing dropped"
    );
    assert_eq!(
        broker.limits().publishers_paced,
        0,
        "level {level}: nobody held back"
    );
    broker.stop().await;
}

both_versions! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_is_not_held_back_by_its_own_queue_v311,
        a_client_is_not_held_back_by_its_own_queue_v5(level = 4, 5) {
        a_client_is_not_held_back_by_its_own_queue(level).await;
    }
}

/// A subscriber that makes no progress for `stalled_after` stops holding the publisher back:
/// the publisher goes on (every message acknowledged), a subscriber that keeps up gets every
/// message in order, and the stalled one gets what its inflight window and queue held and
/// nothing after, each message it missed counted in `limits/stalled_dropped`.
async fn stalled_subscriber_stops_holding_publishers_back(level: u8, persistent: bool) {
    let broker = start_with(|s| {
        s.limits.max_inflight = 10;
        s.limits.max_queued_messages = 20;
        s.limits.stalled_after = Duration::from_millis(500);
    })
    .await;
    let mut stuck = if persistent {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let mut raw = Raw {
            stream: socket.connect(broker.addr).await.expect("connect"),
        };
        raw.send(&persistent_connect(level, "stuck")).await;
        assert_eq!(
            Connack::parse(level, &raw.packet().await.expect("CONNACK")).code,
            0
        );
        raw
    } else {
        tight_client(broker.addr, level, "stuck").await
    };
    subscribe_to(&mut stuck, level, "flow/#", 1).await;
    let mut reader = connected(&broker, level, "keeps-up").await;
    subscribe_to(&mut reader, level, "flow/#", 1).await;
    let reading = tokio::spawn(async move { receive(&mut reader, level, N as usize).await });

    let mut publisher = Publisher::start(broker.addr, level, "writer", "flow/b", 1, 200).await;
    publisher.all_acked().await;
    let seqs = tokio::time::timeout(WAIT, reading)
        .await
        .expect("the reading subscriber got everything")
        .expect("reader task");
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>(), "the subscriber that keeps up");

    let limits = broker.limits();
    assert_eq!(limits.subscribers_stalled, 1, "one stall, counted once");
    assert!(limits.publishers_paced >= 1, "held back until the stall was seen");
    let dropped = limits.stalled_dropped;
    assert!(
        dropped > 0 && dropped < u64::from(N),
        "{dropped} dropped for the stalled one"
    );
    assert_eq!(get(&broker.metrics().publish_dropped), dropped);
    // What the stalled subscriber still gets: its window and queue, in order, then nothing.
    let kept = N as usize - dropped as usize;
    let got = receive(&mut stuck, level, kept).await;
    assert_in_order("the stalled subscriber", &got);
    assert_eq!(got[0], 1);
    assert!(
        stuck.packet_within_quiet().await.is_none(),
        "nothing beyond what was kept for the stalled subscriber"
    );
    broker.stop().await;
}

both_versions! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stalled_clean_subscriber_stops_holding_publishers_back_v311,
        stalled_clean_subscriber_stops_holding_publishers_back_v5(level = 4, 5) {
        stalled_subscriber_stops_holding_publishers_back(level, false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_persistent_subscriber_stops_holding_publishers_back() {
    stalled_subscriber_stops_holding_publishers_back(5, true).await;
}

/// QoS 0 never holds a publisher back: once a subscriber's queue is full the oldest queued
/// QoS 0 message makes room for the newest, so the subscriber gets the latest messages, in
/// order, and each one it did not get is counted in `limits/qos0_shed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos0_to_a_slow_subscriber_is_shed_oldest_first() {
    const SIZE: usize = 8 * 1024;
    let broker = start_with(|s| {
        s.limits.max_queued_messages = 50;
        s.limits.stalled_after = Duration::from_secs(3600);
    })
    .await;
    let level = 4;
    let mut sub = tight_client(broker.addr, level, "slow-qos0").await;
    subscribe_to(&mut sub, level, "flow/#", 0).await;
    // Each QoS 0 message is far larger than what socket buffers and the write buffer hold
    // together, divided by N: most must be shed.
    let mut publisher = connected(&broker, level, "qos0-writer").await;
    for seq in 1..=N * 4 {
        publisher
            .send(&publish(level, "flow/c", 0, 0, &[], &numbered(seq, SIZE)))
            .await;
    }
    publisher.sync().await;
    let limits = broker.limits();
    assert_eq!(limits.publishers_paced, 0, "QoS 0 never holds a publisher back");
    let shed = limits.qos0_shed;
    assert!(shed > 0, "the queue bound was reached, so something was shed");
    let expected = (N * 4) as usize - shed as usize;
    let mut got = Vec::new();
    while got.len() < expected {
        let packet = sub.next_of(3).await;
        got.push(sequence_of(&parse_publish(level, &packet).1));
    }
    assert_in_order("QoS 0 after shedding", &got);
    assert_eq!(
        *got.last().expect("messages"),
        N * 4,
        "the newest message is kept"
    );
    assert!(
        sub.packet_within_quiet().await.is_none(),
        "nothing more than counted"
    );
    assert_eq!(get(&broker.metrics().publish_dropped), shed);
    broker.stop().await;
}

/// `max_memory` bounds the whole broker: a QoS 1 publisher to a subscriber that does not read
/// is held back once the queued messages reach the budget, though the subscriber's own queue
/// bound is far away; memory in use stays within the budget plus two messages; when the
/// subscriber reads, everything arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_memory_holds_publishers_back_at_the_budget() {
    let broker = start_with_budget(Duration::from_secs(3600)).await;
    let level = 5;
    let mut sub = tight_client(broker.addr, level, "memory-reader").await;
    subscribe_to(&mut sub, level, "flow/#", 1).await;
    let mut publisher = Publisher::start(broker.addr, level, "memory-writer", "flow/d", 1, BIG).await;
    let held_at = publisher.acks_settle().await;
    assert!(
        held_at < N,
        "held back at the memory budget ({held_at} of {N} acknowledged)"
    );
    let memory = &broker.server().broker().memory;
    assert!(
        memory.used() as u64 <= BUDGET + 2 * BIG as u64,
        "{} bytes in use for a budget of {BUDGET}",
        memory.used()
    );
    assert!(broker.limits().publishers_paced >= 1);
    let seqs = receive(&mut sub, level, N as usize).await;
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>());
    publisher.all_acked().await;
    assert_eq!(get(&broker.metrics().publish_dropped), 0);
    broker.stop().await;
}

/// Memory held by a subscriber that stalled cannot hold everyone back for good: at
/// `max_memory`, a publisher to a subscriber that keeps up is held back only until the
/// stalled clean subscriber's queue is given up (counted in `limits/stalled_dropped`); then
/// every message reaches the subscriber that keeps up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_gives_its_memory_back_at_max_memory() {
    let broker = start_with_budget(Duration::from_millis(500)).await;
    let level = 5;
    // Fills the budget, then stalls: it never reads.
    let mut stuck = tight_client(broker.addr, level, "memory-hog").await;
    subscribe_to(&mut stuck, level, "hog/#", 1).await;
    let mut hog_writer = Publisher::start(broker.addr, level, "hog-writer", "hog/a", 1, BIG).await;
    hog_writer.acks_settle().await;
    everything_reaches_a_subscriber_that_keeps_up(&broker, level, "fresh").await;
    let limits = broker.limits();
    assert!(limits.subscribers_stalled >= 1);
    assert!(
        limits.stalled_dropped > 0,
        "the stalled subscriber's queue was given up"
    );
    drop(stuck);
    broker.stop().await;
}

/// Connects `client_id` with a persistent session subscribed at QoS 1 to `client_id/#`, then
/// disconnects it and waits until it is offline.
async fn leave_persistent_subscriber(broker: &TestBroker, level: u8, client_id: &str) {
    let mut away = Raw::connect(broker.addr).await;
    away.send(&persistent_connect(level, client_id)).await;
    assert_eq!(
        Connack::parse(level, &away.packet().await.expect("CONNACK")).code,
        0
    );
    subscribe_to(&mut away, level, &format!("{client_id}/#"), 1).await;
    away.send(&[0xE0, 0x00]).await;
    drop(away);
    wait_until("the persistent session is offline", WAIT, || {
        get(&broker.metrics().clients_connected) == 0
    })
    .await;
}

/// Reconnects `client_id` to its persistent session, which must be there.
async fn resume(broker: &TestBroker, level: u8, client_id: &str) -> Raw {
    let mut back = Raw::connect(broker.addr).await;
    back.send(&persistent_connect(level, client_id)).await;
    let connack = Connack::parse(level, &back.packet().await.expect("CONNACK"));
    assert_eq!((connack.code, connack.session_present), (0, true));
    back
}

/// An offline persistent session's queue is kept in the store, not in memory: messages for it
/// take none of `max_memory` (where they were once dropped past half of it), none is dropped,
/// its publisher is never held back, and when the client is back every message arrives, in
/// order [MQTT-4.6.0-6]. [MQTT-3.1.2-4]/[MQTT-3.1.2-5] the session keeps its QoS 1 messages
/// while the client is away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_persistent_queue_is_kept_in_the_store_not_in_memory() {
    let broker = start_with_budget(Duration::from_secs(3600)).await;
    let level = 5;
    leave_persistent_subscriber(&broker, level, "away").await;

    // N × BIG is six times the whole budget.
    let mut to_offline = Publisher::start(broker.addr, level, "to-offline", "away/a", 1, BIG).await;
    to_offline.all_acked().await;
    let memory = &broker.server().broker().memory;
    assert_eq!(
        memory.offline(),
        0,
        "bytes held in memory for the offline session"
    );
    assert_eq!(
        broker.limits().offline_dropped,
        0,
        "dropped for the offline session"
    );
    assert_eq!(
        broker.limits().publishers_paced,
        0,
        "an offline session holds no one back"
    );
    everything_reaches_a_subscriber_that_keeps_up(&broker, level, "here").await;

    let mut back = resume(&broker, level, "away").await;
    let seqs = tokio::time::timeout(WAIT, receive(&mut back, level, N as usize))
        .await
        .expect("the queue kept in the store arrives");
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>(), "every message, in order");
    broker.stop().await;
}

/// A queue longer than the memory window of a persistent session is read back from the store
/// a page at a time while the client takes it: every message once, in order [MQTT-4.6.0-6].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_longer_than_the_memory_window_arrives_whole_and_in_order() {
    const COUNT: u32 = 2_600;
    let broker = start_with(|_| {}).await;
    let level = 4;
    leave_persistent_subscriber(&broker, level, "deep").await;
    let mut writer = connected(&broker, level, "deep-writer").await;
    for seq in 1..=COUNT {
        let packet_id = (seq % 60_000 + 1) as u16;
        writer
            .send(&publish(level, "deep/a", 1, packet_id, &[], &numbered(seq, 32)))
            .await;
        let puback = writer.next_of(4).await;
        assert_eq!(u16::from_be_bytes([puback[2], puback[3]]), packet_id);
    }
    assert_eq!(
        broker.server().broker().memory.offline(),
        0,
        "the queue is in the store only"
    );
    let mut back = resume(&broker, level, "deep").await;
    let seqs = tokio::time::timeout(WAIT, receive(&mut back, level, COUNT as usize))
        .await
        .expect("the whole queue arrives");
    assert_eq!(
        seqs,
        (1..=COUNT).collect::<Vec<_>>(),
        "every message once, in order"
    );
    broker.stop().await;
}
