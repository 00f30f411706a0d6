//! Table row: 10,000 subscriptions in one client. `[limits]` has no per-client subscription
//! limit, so all of them are granted; the broker keeps routing, and memory stays bounded and
//! is given back when the clean session ends.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::harness::{assert_no_growth, Limits, WAIT};
use super::scene::{report_samples, Scene};
use super::wire::{self, Raw, Read};

const SUBSCRIPTIONS: usize = 10_000;
const PER_PACKET: usize = 100;

/// Subscribes `many/{i}/+/x` for i in 0..10,000 (100 SUBSCRIBE packets of 100 filters),
/// reading the SUBACKs while writing so neither side's buffers fill up.
async fn subscribe_many(raw: Raw) -> Raw {
    let (mut reader, mut writer) = raw.stream.into_split();
    let write = tokio::spawn(async move {
        for packet in 0..SUBSCRIPTIONS / PER_PACKET {
            let filters: Vec<Vec<u8>> = (0..PER_PACKET)
                .map(|i| format!("many/{}/+/x", packet * PER_PACKET + i).into_bytes())
                .collect();
            let refs: Vec<&[u8]> = filters.iter().map(|f| &f[..]).collect();
            writer
                .write_all(&wire::subscribe(4, packet as u16 + 1, &refs, 1))
                .await
                .expect("send SUBSCRIBE");
        }
        writer
    });
    let read = async {
        let mut granted = 0;
        let mut acks = 0;
        while acks < SUBSCRIPTIONS / PER_PACKET {
            // SUBACK of 100 codes: 90 66, packet id, one return code per filter.
            let mut header = [0u8; 2];
            reader.read_exact(&mut header).await.expect("SUBACK header");
            assert_eq!(header[0], 0x90, "expected SUBACK, got {header:02x?}");
            assert_eq!(
                header[1] & 0x80,
                0,
                "a SUBACK of {PER_PACKET} codes has a one-byte length"
            );
            let len = header[1] as usize;
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).await.expect("SUBACK body");
            granted += body[2..].iter().filter(|c| **c == 0x01).count();
            acks += 1;
        }
        granted
    };
    let granted = tokio::time::timeout(WAIT * 2, read)
        .await
        .expect("every SUBACK within the time limit");
    let writer = write.await.expect("writer task");
    assert_eq!(
        granted, SUBSCRIPTIONS,
        "no subscription limit is configured: every filter is granted QoS 1"
    );
    Raw {
        stream: reader.reunite(writer).expect("same stream"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_subscriptions_in_one_client() {
    let mut scene = Scene::start("10k subscriptions", Limits::default()).await;
    let addr = scene.broker.addr();
    let mut samples = Vec::new();
    for rep in 0..4 {
        let raw = Raw::connected(addr, 4, "many-subs").await;
        let mut raw = subscribe_many(raw).await;
        scene
            .broker
            .wait_metric("robustmq_subscriptions", "10,000 more", |n| {
                n >= SUBSCRIPTIONS as u64
            })
            .await;
        // Routing still works, for the bystanders and through one of the 10,000 filters.
        scene.bystanders.check(&format!("subs-{rep}")).await;
        let mut publisher = Raw::connected(addr, 4, "many-pub").await;
        publisher
            .send(&wire::publish(4, b"many/7777/any/x", 0, b"routed"))
            .await;
        match raw.read(WAIT).await {
            Read::Packet(p) => {
                assert_eq!(p[0] & 0xF0, 0x30, "a PUBLISH, got {p:02x?}");
                assert!(p.ends_with(b"routed"), "{p:02x?}");
            }
            other => panic!("the subscriber of 10,000 filters got no message: {other:?}"),
        }
        samples
            .push(scene.assert_rss_bounded(&format!("with 10,000 subscriptions (repetition {})", rep + 1)));
        // A clean session ends with its connection: its subscriptions go with it.
        raw.send(&[0xE0, 0x00]).await;
        raw.expect_close("DISCONNECT").await;
        publisher.send(&[0xE0, 0x00]).await;
        scene
            .broker
            .wait_metric("robustmq_subscriptions", "the 10,000 removed", |n| n < 100)
            .await;
    }
    report_samples("10k subscriptions", &samples);
    assert_no_growth("10k subscriptions", &samples, 8 * 1024 * 1024);
    scene.finish().await;
}
