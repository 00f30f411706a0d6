//! The innocent clients around an attack, through rumqttc: a bystander pair that must keep
//! talking during and after it, and a victim whose persistent session (with queued QoS 1
//! messages) must lose nothing, across the attack and a broker restart.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::harness::{Broker, WAIT};

/// What a client's event loop task hands over.
enum Seen {
    Publish(rumqttc::Publish),
    Connected {
        session_present: bool,
    },
    SubAck,
    /// The connection is gone (the event loop stopped instead of reconnecting).
    Lost(String),
}

/// Runs a v3 rumqttc event loop until the connection fails, forwarding what matters.
fn spawn_v3(
    options: rumqttc::MqttOptions,
) -> (
    rumqttc::AsyncClient,
    mpsc::UnboundedReceiver<Seen>,
    JoinHandle<()>,
) {
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1000);
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let seen = match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => Seen::Publish(p),
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(c))) => Seen::Connected {
                    session_present: c.session_present,
                },
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => Seen::SubAck,
                Ok(_) => continue,
                Err(e) => {
                    // rumqttc would reconnect on the next poll; a lost connection is a finding.
                    let _ = tx.send(Seen::Lost(e.to_string()));
                    return;
                }
            };
            if tx.send(seen).is_err() {
                return;
            }
        }
    });
    (client, rx, task)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>, what: &str) -> Seen {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(Seen::Lost(e))) => panic!("{what}: the connection was lost: {e}"),
        Ok(Some(seen)) => seen,
        Ok(None) => panic!("{what}: the client task ended"),
        Err(_) => panic!("{what}: nothing within {WAIT:?}"),
    }
}

/// A 3.1.1 subscriber on `bystander/#` and a v5 publisher, both connected before the attack.
/// [`Bystanders::check`] publishes one QoS 1 message and waits for the subscriber to get it.
pub struct Bystanders {
    sub_rx: mpsc::UnboundedReceiver<Seen>,
    _sub: rumqttc::AsyncClient,
    publisher: rumqttc::v5::AsyncClient,
    pub_lost: mpsc::UnboundedReceiver<String>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Bystanders {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Bystanders {
    pub async fn connect(broker: &Broker) -> Bystanders {
        let mut options = rumqttc::MqttOptions::new("bystander-sub", "127.0.0.1", broker.port);
        options.set_keep_alive(Duration::from_secs(30));
        let (sub, mut sub_rx, sub_task) = spawn_v3(options);
        assert!(matches!(
            next(&mut sub_rx, "bystander CONNACK").await,
            Seen::Connected { .. }
        ));
        sub.subscribe("bystander/#", rumqttc::QoS::AtLeastOnce)
            .await
            .expect("queue SUBSCRIBE");
        loop {
            if let Seen::SubAck = next(&mut sub_rx, "bystander SUBACK").await {
                break;
            }
        }

        let mut options = rumqttc::v5::MqttOptions::new("bystander-pub", "127.0.0.1", broker.port);
        options.set_keep_alive(Duration::from_secs(30));
        let (publisher, mut eventloop) = rumqttc::v5::AsyncClient::new(options, 1000);
        let (lost_tx, pub_lost) = mpsc::unbounded_channel();
        let pub_task = tokio::spawn(async move {
            loop {
                if let Err(e) = eventloop.poll().await {
                    let _ = lost_tx.send(e.to_string());
                    return;
                }
            }
        });
        Bystanders {
            sub_rx,
            _sub: sub,
            publisher,
            pub_lost,
            tasks: vec![sub_task, pub_task],
        }
    }

    /// One message from the publisher reaches the subscriber.
    pub async fn check(&mut self, tag: &str) {
        let topic = format!("bystander/{tag}");
        self.publisher
            .publish(
                topic.clone(),
                rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                false,
                tag.to_string(),
            )
            .await
            .expect("queue PUBLISH");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(e) = self.pub_lost.try_recv() {
                panic!("bystander publisher lost its connection ({tag}): {e}");
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.sub_rx.recv()).await {
                Ok(Some(Seen::Publish(p))) if p.topic == topic => {
                    assert_eq!(&p.payload[..], tag.as_bytes());
                    return;
                }
                Ok(Some(Seen::Lost(e))) => panic!("bystander subscriber lost its connection ({tag}): {e}"),
                Ok(Some(_)) => {}
                Ok(None) => panic!("bystander subscriber task ended ({tag})"),
                Err(_) => panic!("bystander subscriber did not receive {topic} within {WAIT:?}"),
            }
        }
    }

    /// Waits for a message on `topic` (under `bystander/`), e.g. a will.
    pub async fn expect_message(&mut self, topic: &str) -> Vec<u8> {
        loop {
            match next(&mut self.sub_rx, &format!("waiting for {topic}")).await {
                Seen::Publish(p) if p.topic == topic => return p.payload.to_vec(),
                _ => {}
            }
        }
    }
}

/// How many QoS 1 messages the victim has queued before the attack.
pub const VICTIM_QUEUED: usize = 20;

/// A persistent 3.1.1 session (`victim`, clean session 0) subscribed to `victim/#`, offline,
/// with [`VICTIM_QUEUED`] acknowledged (hence stored) QoS 1 messages waiting for it.
pub struct Victim {
    expected: BTreeSet<String>,
}

impl Victim {
    fn options(broker: &Broker) -> rumqttc::MqttOptions {
        let mut options = rumqttc::MqttOptions::new("victim", "127.0.0.1", broker.port);
        options.set_clean_session(false);
        options.set_keep_alive(Duration::from_secs(30));
        // Unacknowledged deliveries stay with the session: they must come back after a restart.
        options.set_manual_acks(true);
        options
    }

    pub async fn prepare(broker: &Broker) -> Victim {
        let (client, mut rx, task) = spawn_v3(Victim::options(broker));
        assert!(matches!(
            next(&mut rx, "victim CONNACK").await,
            Seen::Connected { .. }
        ));
        client
            .subscribe("victim/#", rumqttc::QoS::AtLeastOnce)
            .await
            .expect("queue SUBSCRIBE");
        loop {
            if let Seen::SubAck = next(&mut rx, "victim SUBACK").await {
                break;
            }
        }
        client.disconnect().await.expect("queue DISCONNECT");
        let _ = tokio::time::timeout(WAIT, task).await;

        // Each PUBACK means stored (durability = immediate): wait for all of them.
        let mut options = rumqttc::MqttOptions::new("victim-feeder", "127.0.0.1", broker.port);
        options.set_keep_alive(Duration::from_secs(30));
        let (feeder, mut eventloop) = rumqttc::AsyncClient::new(options, 100);
        let mut expected = BTreeSet::new();
        for i in 0..VICTIM_QUEUED {
            let payload = format!("queued-{i}");
            feeder
                .publish(
                    format!("victim/{i}"),
                    rumqttc::QoS::AtLeastOnce,
                    false,
                    payload.clone(),
                )
                .await
                .expect("queue PUBLISH");
            expected.insert(payload);
        }
        let mut acked = 0;
        tokio::time::timeout(WAIT, async {
            while acked < VICTIM_QUEUED {
                if let rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)) =
                    eventloop.poll().await.expect("victim feeder connection")
                {
                    acked += 1;
                }
            }
        })
        .await
        .expect("every queued message acknowledged");
        feeder.disconnect().await.expect("queue DISCONNECT");
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while eventloop.poll().await.is_ok() {}
        })
        .await;
        Victim { expected }
    }

    /// Reconnects the session, receives every queued message (`session present`, each
    /// payload once at least) and leaves without acknowledging them when `ack` is false.
    pub async fn receive_all(&self, broker: &Broker, ack: bool, when: &str) {
        let (client, mut rx, task) = spawn_v3(Victim::options(broker));
        match next(&mut rx, "victim CONNACK").await {
            Seen::Connected { session_present } => {
                assert!(session_present, "{when}: the victim's session is gone")
            }
            _ => panic!("{when}: expected CONNACK first"),
        }
        let mut missing = self.expected.clone();
        while !missing.is_empty() {
            match tokio::time::timeout(WAIT, rx.recv()).await {
                Ok(Some(Seen::Publish(p))) => {
                    missing.remove(&String::from_utf8_lossy(&p.payload).into_owned());
                    if ack {
                        client.ack(&p).await.expect("queue PUBACK");
                    }
                }
                Ok(Some(Seen::Lost(e))) => panic!("{when}: victim connection lost: {e}"),
                Ok(Some(_)) => {}
                _ => panic!(
                    "{when}: {} of {VICTIM_QUEUED} queued messages never arrived: {missing:?}",
                    missing.len()
                ),
            }
        }
        client.disconnect().await.expect("queue DISCONNECT");
        let _ = tokio::time::timeout(WAIT, task).await;
    }
}
