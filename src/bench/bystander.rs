//! A publisher/subscriber pair, connected beforehand, that keeps exchanging messages at a
//! modest rate while `bench conn` opens its connections: how a broker busy accepting serves
//! the clients it already has.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::header::Clock;
use super::launch::Launcher;
use super::publisher::{self, Published, PublisherJob};
use super::report::{round3, ErrorKind, Report};
use super::run::{drain, kinds, tally};
use super::scenario::{Scenario, Topology};
use super::stats::Percentiles;
use super::subscriber::{self, Received, SubscriberJob};
use super::{BenchError, Load, Shared, Target};
use crate::protocol::QoS;

/// Payload bytes of the bystander's messages.
pub const PAYLOAD: usize = 64;
/// QoS 1/2 publishes the bystander may have unacknowledged.
const INFLIGHT: u16 = 100;
/// After it stops publishing, how long the pair waits at most for the last acknowledgements
/// and deliveries.
const DRAIN: Duration = Duration::from_secs(5);

/// The pair, publishing.
pub struct Bystander {
    /// The publisher's state; stopping it stops the publishing only.
    publishing: Arc<Shared>,
    /// The subscriber's state (the same run), stopped once the last messages arrived.
    receiving: Arc<Shared>,
    publisher: JoinHandle<Published>,
    subscriber: JoinHandle<Received>,
    topology: Topology,
    rate: f64,
}

impl Bystander {
    /// Connects the pair (subscriber first) and starts publishing `rate` QoS 1 messages per
    /// second.
    pub async fn start(target: &Target, rate: f64) -> Result<Bystander, BenchError> {
        let topology = Scenario::P2p.topology("robustmq-bench/bystander", 1, 1);
        let receiving = Arc::new(Shared::new(1, Clock::Process));
        let publishing = Arc::new(receiving.sibling(1));
        let mut target = target.clone();
        // Its two connections must not wait behind the storm's pace.
        target.connect_rate = 0.0;
        let launcher = Launcher::new(&target);

        let (ready, mut answer) = mpsc::channel(1);
        let job = SubscriberJob {
            task: 0,
            options: target.client('s', 0),
            filter: topology.filters[0].clone(),
            qos: QoS::AtLeastOnce,
            count: None,
        };
        let subscriber = tokio::spawn(subscriber::run(job, receiving.clone(), launcher.clone(), ready));
        let subscribed = answer.recv().await.unwrap_or(Err(BenchError::Interrupted));
        if let Err(e) = subscribed {
            receiving.stop.set();
            let _ = subscriber.await;
            return Err(e);
        }

        publishing.expect_publishers(1);
        let (ready, mut answer) = mpsc::channel(1);
        let job = PublisherJob {
            index: 0,
            task: 1,
            options: {
                let mut options = target.client('p', 0);
                options.inflight = INFLIGHT;
                options
            },
            topic: topology.topics[0].clone(),
            load: Arc::new(Load {
                qos: QoS::AtLeastOnce,
                payload_size: PAYLOAD,
                rate,
                inflight: INFLIGHT,
                duration: None,
                count: None,
                drain: DRAIN,
            }),
            phase: 0.0,
        };
        let publisher = tokio::spawn(publisher::run(job, publishing.clone(), launcher, ready));
        let connected = answer.recv().await.unwrap_or(Err(BenchError::Interrupted));
        if let Err(e) = connected {
            publishing.stop.set();
            receiving.stop.set();
            let _ = publisher.await;
            let _ = subscriber.await;
            return Err(e);
        }
        publishing.start();
        Ok(Bystander {
            publishing,
            receiving,
            publisher,
            subscriber,
            topology,
            rate,
        })
    }

    /// Stops publishing, waits for the last messages, disconnects the pair and puts its
    /// figures in `report`: the messages, their end-to-end and acknowledgement latency, and
    /// its errors (named as the bystander's).
    pub async fn finish(self, report: &mut Report) {
        let window = self
            .publishing
            .started
            .get()
            .map_or(Duration::ZERO, |t| t.elapsed())
            .as_secs_f64();
        self.publishing.stop.set();
        let published = self.publisher.await.unwrap_or_default();
        let arriving = published.sent - published.refused.len() as u64;
        drain(&self.receiving, arriving, Instant::now() + DRAIN).await;
        self.receiving.stop.set();
        let received = self.subscriber.await.unwrap_or_default();

        report.publishers = 1;
        report.subscribers = 1;
        report.qos = Some(QoS::AtLeastOnce as u8);
        report.payload_size = Some(PAYLOAD);
        report.rate_per_publisher = Some(self.rate);
        report.offered_rate = Some(self.rate);
        report.inflight = Some(INFLIGHT);
        report.clock = Some(Clock::Process.name());
        report.sent = published.sent;
        report.acked = published.acked;
        report.accepted = published.accepted();
        report.refused = published.refused.len() as u64;
        report.refused_reasons = kinds(&self.publishing.refusals);
        report.unacknowledged = published.unacknowledged.len() as u64;
        report.expected = Some(published.accepted());
        report.latency_us = Percentiles::of(&self.receiving.latency.merged());
        report.ack_latency_us = Percentiles::of(&self.publishing.ack_latency.merged());
        tally(
            report,
            &self.topology,
            std::slice::from_ref(&published),
            std::slice::from_ref(&received),
            self.receiving.run,
        );
        if window > 0.0 {
            // Over the time it published: the rate it kept up, with the storm going on.
            let mb = PAYLOAD as f64 / 1e6;
            report.send_rate = round3(report.sent as f64 / window);
            report.send_mb_s = round3(report.sent as f64 * mb / window);
            report.accept_rate = round3(report.accepted as f64 / window);
            report.recv_rate = round3(report.received as f64 / window);
            report.recv_mb_s = round3(report.received as f64 * mb / window);
        }
        for shared in [&self.receiving, &self.publishing] {
            report.errors += shared.errors.count();
            report.dropped += shared.dropped.load(std::sync::atomic::Ordering::Relaxed);
            report
                .error_kinds
                .extend(kinds(&shared.errors).into_iter().map(|k| ErrorKind {
                    error: format!("bystander: {}", k.error),
                    count: k.count,
                }));
        }
    }
}
