//! Table rows for the `mqtts` listener, which requires a client certificate signed by the
//! broker's CA (mutual TLS): a certificate from another CA, no certificate, a client that
//! does not trust the broker, plain MQTT and garbage records instead of TLS, a record header
//! announcing more than TLS allows, and handshakes that stall or finish without a CONNECT.
//!
//! Every attempt must end without MQTT (no CONNACK) and count once in
//! `robustmq_tls_handshake_failures_total` (except the one whose handshake succeeded), while a
//! client with the right certificate still connects, the bystanders keep talking, memory does
//! not grow over repetitions and the victim's stored messages survive (scene.rs).

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::harness::{assert_no_growth, certs_init, Limits};
use super::scene::{report_samples, Scene};
use super::transport::{self, Transport};
use super::wire::{self, Raw};

/// What one hostile TLS client does.
#[derive(Debug, Clone, Copy)]
enum Attempt {
    /// [RFC 8446 4.4.2.4] a certificate the server cannot verify: signed by another CA.
    ForeignCertificate,
    /// `require_certificate = true` and none offered.
    NoCertificate,
    /// The client does not trust the broker's certificate and aborts the handshake.
    DistrustsServer,
    /// An MQTT CONNECT sent in the clear to the TLS port.
    PlainMqtt,
    /// A handshake record with random bytes inside.
    GarbageRecord,
    /// A record header announcing 65,535 bytes, over TLS's 2^14 + 2048 [RFC 8446 5.2], and
    /// no body.
    OversizeRecord,
    /// Half a ClientHello, then silence: closed at `connect_timeout`.
    StalledHandshake,
    /// A good handshake, then no CONNECT: closed at `connect_timeout` too. Not a TLS failure.
    NoConnect,
}

const ATTEMPTS: [Attempt; 8] = [
    Attempt::ForeignCertificate,
    Attempt::NoCertificate,
    Attempt::DistrustsServer,
    Attempt::PlainMqtt,
    Attempt::GarbageRecord,
    Attempt::OversizeRecord,
    Attempt::StalledHandshake,
    Attempt::NoConnect,
];

/// Runs one attempt; panics if the broker let it reach MQTT or left it open.
async fn attempt(scene: &Scene, kind: Attempt, foreign: &std::path::Path, n: usize) {
    let broker = &scene.broker;
    let addr = Transport::Mqtts.addr(broker);
    let certs = broker.certs();
    let what = format!("{kind:?} #{n}");
    let connect = wire::connect(5, format!("tls-hostile-{n}").as_bytes());
    match kind {
        Attempt::ForeignCertificate | Attempt::NoCertificate => {
            let client = match kind {
                Attempt::ForeignCertificate => Some(foreign),
                _ => None,
            };
            let config = transport::tls_config(&certs, client);
            // In TLS 1.3 the client's side of the handshake is over before the server has
            // checked the client's certificate: the refusal arrives as an alert on the
            // first read.
            if let Ok(stream) = transport::tls(transport::tcp(addr).await, config).await {
                let mut raw = Raw { stream };
                raw.send(&connect).await;
                let seen = raw.expect_close(&what).await;
                assert!(seen.is_empty(), "{what}: got MQTT packets {seen:02x?}");
            }
        }
        Attempt::DistrustsServer => {
            let config = transport::tls_config(foreign, Some(&certs));
            let result = transport::tls(transport::tcp(addr).await, config).await;
            let err = result.err().unwrap_or_else(|| {
                panic!("{what}: a client trusting another CA accepted the broker's certificate")
            });
            assert!(
                err.to_string().contains("certificate"),
                "{what}: expected a certificate error, got {err}"
            );
        }
        Attempt::PlainMqtt | Attempt::GarbageRecord | Attempt::OversizeRecord => {
            let bytes = match kind {
                Attempt::PlainMqtt => connect.clone(),
                Attempt::GarbageRecord => {
                    let mut record = vec![0x16, 0x03, 0x01, 0x00, 0x20];
                    record.extend((0..32u8).map(|i| i.wrapping_mul(97) ^ 0x5a));
                    record
                }
                _ => vec![0x16, 0x03, 0x03, 0xFF, 0xFF],
            };
            let mut tcp = transport::tcp(addr).await;
            tcp.write_all(&bytes).await.expect("send");
            let reply = transport::bytes_until_close(&mut tcp, &what).await;
            // Nothing but, at most, a TLS alert record (content type 21).
            assert!(
                reply.is_empty() || reply[0] == 0x15,
                "{what}: expected a TLS alert or nothing, got {reply:02x?}"
            );
        }
        Attempt::StalledHandshake => {
            let hello = transport::client_hello(transport::tls_config(&certs, Some(&certs)));
            let mut tcp = transport::tcp(addr).await;
            tcp.write_all(&hello[..hello.len() / 2])
                .await
                .expect("send half a ClientHello");
            let reply = transport::bytes_until_close(&mut tcp, &what).await;
            assert!(reply.is_empty(), "{what}: answered {reply:02x?}");
        }
        Attempt::NoConnect => {
            let config = transport::tls_config(&certs, Some(&certs));
            let stream = transport::tls(transport::tcp(addr).await, config)
                .await
                .expect("a good handshake");
            let mut raw = Raw { stream };
            let seen = raw.expect_close(&what).await;
            assert!(seen.is_empty(), "{what}: got {seen:02x?} without CONNECT");
        }
    }
}

/// Each attempt five times per round, concurrently, over four rounds; after each round a
/// client with the right certificate publishes and the bystanders are checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_handshakes_with_bad_certificates_or_garbage_are_refused() {
    let mut scene = Scene::start_secure("mqtts", Limits::default()).await;
    let foreign = tempfile::tempdir().expect("temp dir");
    certs_init(foreign.path());
    let failures_before = scene.broker.metric("robustmq_tls_handshake_failures_total");
    let mut failures = 0;
    let mut samples = Vec::new();
    for round in 0..4 {
        let scene_ref = &scene;
        let foreign = foreign.path();
        let mut tries = Vec::new();
        for (i, kind) in ATTEMPTS.iter().enumerate() {
            for k in 0..5 {
                tries.push(attempt(scene_ref, *kind, foreign, round * 100 + i * 10 + k));
                if !matches!(kind, Attempt::NoConnect) {
                    failures += 1;
                }
            }
        }
        futures_util::future::join_all(tries).await;

        // The right certificate still gets in, and its messages go through.
        let mut good = Transport::Mqtts
            .connected(&scene.broker, 5, &format!("tls-good-{round}"))
            .await;
        let topic = format!("bystander/tls-{round}");
        good.send(&wire::publish(5, topic.as_bytes(), 0, b"over TLS"))
            .await;
        assert_eq!(
            scene.bystanders.expect_message(&topic).await,
            b"over TLS",
            "a message over TLS after round {round}"
        );
        scene.bystanders.check(&format!("tls-{round}")).await;
        samples.push(scene.assert_rss_bounded(&format!("after round {}", round + 1)));
    }
    report_samples("mqtts", &samples);
    assert_no_growth("mqtts", &samples, 8 * 1024 * 1024);
    let expected = failures_before + failures;
    scene
        .broker
        .wait_metric(
            "robustmq_tls_handshake_failures_total",
            &format!("at least {expected}"),
            |v| v >= expected,
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let counted = scene.broker.metric("robustmq_tls_handshake_failures_total");
    assert_eq!(
        counted, expected,
        "each refused handshake counts once, and only those"
    );
    scene.finish().await;
}
