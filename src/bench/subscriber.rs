//! One subscriber: connect, subscribe, then count and time every message until told to stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::header::{Clock, Header};
use super::launch::{close, Launcher};
use super::stats::LatencyBatch;
use super::tracker::{Seen, Streams};
use super::{BenchError, Shared};
use crate::client::{reason_text, Client, ClientError, ConnectOptions, Event};
use crate::protocol::{Publish, QoS, SubscriptionOptions};

/// Messages a subscriber handles before it lets other tasks run.
const FAIR_SHARE: u64 = 128;

/// One subscriber's part of a run.
#[derive(Debug)]
pub struct SubscriberJob {
    /// Index among all clients (picks counter shards).
    pub task: usize,
    /// Its CONNECT.
    pub options: ConnectOptions,
    /// What it subscribes to.
    pub filter: Arc<str>,
    /// Subscription QoS.
    pub qos: QoS,
    /// Stop after this many messages.
    pub count: Option<u64>,
}

/// What a subscriber received.
#[derive(Debug, Default)]
pub struct Received {
    /// Per publisher: unique, duplicated, reordered.
    pub streams: Streams,
    /// Messages received.
    pub received: u64,
    /// Payload bytes received.
    pub bytes: u64,
    /// Messages without a bench header, or from a run whose clock cannot be compared.
    pub unrecognized: u64,
    /// When the first and the last message arrived.
    pub first: Option<Instant>,
    /// When the last message arrived.
    pub last: Option<Instant>,
}

/// Runs one subscriber; reports on `ready` once subscribed (or why not).
pub async fn run(
    job: SubscriberJob,
    shared: Arc<Shared>,
    launcher: Arc<Launcher>,
    ready: mpsc::Sender<Result<(), BenchError>>,
) -> Received {
    let mut client = match launcher.connect(&job.options, &shared).await {
        Ok(client) => client,
        Err(e) => {
            let error = shared.connect_error((&e).into());
            let _ = ready.send(Err(error)).await;
            return Received::default();
        }
    };
    if let Err(error) = subscribe(&mut client, &job).await {
        shared.errors.record(error.to_string());
        let _ = ready.send(Err(error)).await;
        close(client).await;
        return Received::default();
    }
    let _ = ready.send(Ok(())).await;
    drop(ready);
    let mut receiver = Receiver {
        shared: &shared,
        task: job.task,
        got: Received::default(),
        latencies: LatencyBatch::new(job.task),
    };
    let limit = job.count.unwrap_or(u64::MAX);
    let mut error = None;
    while receiver.got.received < limit {
        if receiver.got.received % FAIR_SHARE == FAIR_SHARE - 1 {
            // Messages already read come out of `poll` without waiting, so the stop flag is
            // checked here, and the other clients (and the progress display) get their turn.
            if shared.stop.is_set() {
                break;
            }
            tokio::task::yield_now().await;
        }
        // `poll` first: while it is ready, the stop future is never polled (which would
        // register it with the `Notify`, a lock per message).
        tokio::select! {
            biased;
            r = client.poll() => match r {
                Ok(Event::Message(message)) => receiver.record(&message),
                Ok(_) => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            },
            () = shared.stop.wait() => break,
        }
    }
    receiver.latencies.flush(&shared.latency);
    match error {
        None => close(client).await,
        Some(e) => {
            shared.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            shared.errors.record(e.to_string());
        }
    }
    receiver.got
}

/// Runs one stalled subscriber: connects, subscribes, reports on `ready`, then never reads its
/// socket again until the run stops, and goes without a DISCONNECT, as a hung client would.
/// What the broker sends it piles up in the socket buffers and then in the broker.
pub async fn stall(
    job: SubscriberJob,
    shared: Arc<Shared>,
    launcher: Arc<Launcher>,
    ready: mpsc::Sender<Result<(), BenchError>>,
) {
    let mut client = match launcher.connect(&job.options, &shared).await {
        Ok(client) => client,
        Err(e) => {
            let error = shared.connect_error((&e).into());
            let _ = ready.send(Err(error)).await;
            return;
        }
    };
    if let Err(error) = subscribe(&mut client, &job).await {
        shared.errors.record(error.to_string());
        let _ = ready.send(Err(error)).await;
        return;
    }
    let _ = ready.send(Ok(())).await;
    drop(ready);
    shared.stop.wait().await;
    drop(client);
}

/// Subscribes and waits for the SUBACK (as long as a connection may take).
async fn subscribe(client: &mut Client, job: &SubscriberJob) -> Result<(), BenchError> {
    let failed = |error: String| BenchError::Subscribe {
        filter: job.filter.to_string(),
        error,
    };
    let options = SubscriptionOptions {
        qos: job.qos,
        ..SubscriptionOptions::default()
    };
    client
        .subscribe(vec![(job.filter.clone(), options)])
        .map_err(|e| failed(e.to_string()))?;
    let wait = job.options.connect_timeout.max(Duration::from_secs(1));
    let answer = tokio::time::timeout(wait, async {
        loop {
            if let Event::Subscribed(suback) = client.poll().await? {
                return Ok::<_, ClientError>(suback);
            }
        }
    })
    .await;
    let suback = match answer {
        Ok(Ok(suback)) => suback,
        Ok(Err(e)) => return Err(failed(e.to_string())),
        Err(_) => return Err(failed(format!("no SUBACK within {wait:?}"))),
    };
    match suback.reasons.first() {
        Some(&code) if !code.is_error() => Ok(()),
        Some(&code) => Err(failed(format!(
            "the broker refused it: {}",
            reason_text(code, suback.reason_string.as_deref())
        ))),
        None => Err(failed("the SUBACK has no reason code".into())),
    }
}

struct Receiver<'a> {
    shared: &'a Shared,
    task: usize,
    got: Received,
    latencies: LatencyBatch,
}

impl Receiver<'_> {
    fn record(&mut self, message: &Publish) {
        let now = Instant::now();
        let now_process = now
            .into_std()
            .saturating_duration_since(super::header::process_epoch())
            .as_nanos() as u64;
        self.got.first.get_or_insert(now);
        self.got.last = Some(now);
        self.got.received += 1;
        self.got.bytes += message.payload.len() as u64;
        self.shared.received.add(self.task, 1);
        let Some(header) = Header::decode(&message.payload) else {
            self.got.unrecognized += 1;
            return;
        };
        let seen = self
            .got
            .streams
            .entry(header.stream())
            .or_default()
            .record(header.seq);
        match seen {
            Seen::OutOfRange => self.got.unrecognized += 1,
            Seen::Duplicate => {}
            Seen::InOrder | Seen::Reordered => {
                // A process clock is only comparable inside the process that read it.
                if header.clock == Clock::Wall || header.run == self.shared.run {
                    let now_ns = match header.clock {
                        Clock::Process => now_process,
                        Clock::Wall => Clock::Wall.now_ns(),
                    };
                    if now_ns >= header.sent_ns {
                        self.latencies
                            .push_ns(now_ns - header.sent_ns, &self.shared.latency);
                    }
                }
            }
        }
    }
}
