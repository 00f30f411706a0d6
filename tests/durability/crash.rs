//! The crash test: a publisher sends QoS 1 and QoS 2 messages to an offline persistent session
//! while the broker is SIGKILLed at random moments and restarted, round after round. Every
//! message that got its PUBACK/PUBREC must then be delivered (QoS 1 at least once, QoS 2 exactly
//! once), and nothing that was never published may appear.

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumqttc::QoS;

use super::binary::Broker;
use super::mqtt::{connect, counts};

const ROUNDS: usize = 6;

/// A small deterministic generator; the seed is printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn acknowledged_messages_survive_kill_9_at_random_moments() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    eprintln!("crash test seed: {seed} (replay with CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();

    let broker = Broker::start(dir.path());
    let mut sub = connect(broker.port(), "crash-sub", false);
    sub.subscribe("crash/#", QoS::ExactlyOnce);
    sub.disconnect();
    let mut broker = Some(broker);

    let mut published = HashSet::new();
    let mut acked_qos1 = Vec::new();
    let mut acked_qos2 = Vec::new();
    for round in 0..ROUNDS {
        let running = broker.take().unwrap_or_else(|| Broker::start(dir.path()));
        let pid = running.pid();
        let delay = Duration::from_millis(50 + rng.next() % 400);
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        });
        let mut publisher = connect(running.port(), &format!("crash-pub-{round}"), true);
        let started = Instant::now();
        for i in 0.. {
            let qos = if rng.next().is_multiple_of(2) {
                QoS::AtLeastOnce
            } else {
                QoS::ExactlyOnce
            };
            let payload = format!("r{round}-m{i}-q{}", qos as u8);
            published.insert(payload.clone());
            if !publisher.try_publish("crash/t", qos, &payload) {
                break;
            }
            match qos {
                QoS::ExactlyOnce => acked_qos2.push(payload),
                _ => acked_qos1.push(payload),
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the broker was never killed"
            );
        }
        killer.join().unwrap();
        running.kill9();
    }

    let broker = Broker::start(dir.path());
    let mut sub = connect(broker.port(), "crash-sub", false);
    assert!(sub.session_present, "the persistent session survived every crash");
    let received = counts(sub.drain(Duration::from_secs(2)).into_iter().map(|(_, p, _)| p));
    eprintln!(
        "acked: {} QoS 1 + {} QoS 2; received {} distinct",
        acked_qos1.len(),
        acked_qos2.len(),
        received.len()
    );
    assert!(
        !acked_qos1.is_empty() && !acked_qos2.is_empty(),
        "the test published nothing"
    );
    for p in &acked_qos1 {
        assert!(
            received.get(p).is_some_and(|n| *n >= 1),
            "acknowledged QoS 1 message {p} was lost"
        );
    }
    for p in &acked_qos2 {
        assert_eq!(
            received.get(p),
            Some(&1),
            "acknowledged QoS 2 message {p} not delivered exactly once"
        );
    }
    for (p, n) in &received {
        assert!(published.contains(p), "{p} was never published");
        if p.ends_with("-q2") {
            assert_eq!(*n, 1, "QoS 2 message {p} delivered {n} times");
        }
    }
}
