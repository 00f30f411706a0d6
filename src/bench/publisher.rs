//! One publisher: connect, wait for the start, publish at its rate (or as fast as its window
//! allows), then wait for the last acknowledgements.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use super::header::{Header, PayloadWriter};
use super::launch::{close, Launcher};
use super::stats::LatencyBatch;
use super::{BenchError, Load, Shared};
use crate::client::{reason_text, Client, ClientError, ConnectOptions, Event};
use crate::protocol::{MessageProperties, Publish, QoS};

/// Bytes a publisher queues before it lets the socket catch up.
const MAX_BUFFERED: usize = 256 * 1024;
/// Publishes between checks of the clock and the stop flag when nothing limits a burst.
const BURST: u64 = 1024;
/// Rounds of the publishing loop before a publisher lets other tasks run.
const FAIR_SHARE: u32 = 128;

/// One publisher's part of a run.
#[derive(Debug)]
pub struct PublisherJob {
    /// Index among the publishers (its id in headers).
    pub index: usize,
    /// Index among all clients (picks counter shards).
    pub task: usize,
    /// Its CONNECT.
    pub options: ConnectOptions,
    /// Where it publishes.
    pub topic: Arc<str>,
    /// What it publishes.
    pub load: Arc<Load>,
    /// Where its messages start within a rate interval, 0..1 (spreads publishers evenly).
    pub phase: f64,
}

/// What a publisher did, and what the broker made of it.
#[derive(Debug, Default, Clone)]
pub struct Published {
    /// Messages queued (header sequence numbers 0..sent).
    pub sent: u64,
    /// QoS 1/2 messages the broker accepted (acknowledged with a success reason code).
    pub acked: u64,
    /// Sequence numbers of the QoS 1/2 messages the broker refused (reason code 0x80 or above).
    pub refused: Vec<u64>,
    /// Sequence numbers of the QoS 1/2 messages never acknowledged either way (the drain time
    /// ran out, or the connection was lost).
    pub unacknowledged: Vec<u64>,
}

impl Published {
    /// Messages the broker took on: every one at QoS 0 (there is no answer), the accepted ones
    /// at QoS 1/2. Only these can be lost.
    pub fn accepted(&self) -> u64 {
        self.sent - self.refused.len() as u64 - self.unacknowledged.len() as u64
    }

    /// The sequence numbers that were not accepted, in order.
    pub fn not_accepted(&self) -> Vec<u64> {
        let mut seqs: Vec<u64> = self.refused.iter().chain(&self.unacknowledged).copied().collect();
        seqs.sort_unstable();
        seqs
    }
}

/// Runs one publisher; reports on `ready` once connected (or why not).
pub async fn run(
    job: PublisherJob,
    shared: Arc<Shared>,
    launcher: Arc<Launcher>,
    ready: mpsc::Sender<Result<(), BenchError>>,
) -> Published {
    let done = Done(&shared);
    let mut client = match launcher.connect(&job.options, &shared).await {
        Ok(client) => client,
        Err(e) => {
            let error = shared.connect_error((&e).into());
            let _ = ready.send(Err(error)).await;
            return Published::default();
        }
    };
    let _ = ready.send(Ok(())).await;
    drop(ready);
    // Keep the connection alive while the others connect.
    loop {
        tokio::select! {
            () = shared.go.wait() => break,
            () = shared.stop.wait() => {
                close(client).await;
                return Published::default();
            }
            r = client.poll() => if let Err(e) = r {
                lost(&shared, &e);
                return Published::default();
            }
        }
    }
    let mut publisher = Publisher::new(&job, &shared);
    let result = publisher.publish(&mut client).await;
    drop(done);
    let result = match result {
        Ok(()) => publisher.drain(&mut client).await,
        Err(e) => Err(e),
    };
    publisher.acks.flush(&shared.ack_latency);
    match result {
        Ok(()) => close(client).await,
        Err(e) => lost(&shared, &e),
    }
    let mut unacknowledged: Vec<u64> = publisher.pending.values().map(|&(seq, _)| seq).collect();
    unacknowledged.sort_unstable();
    Published {
        sent: publisher.seq,
        acked: publisher.acked,
        refused: publisher.refused,
        unacknowledged,
    }
}

/// Tells the run that this publisher has finished publishing, whichever way it ends.
struct Done<'a>(&'a Shared);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.publisher_done();
    }
}

fn lost(shared: &Shared, e: &ClientError) {
    shared.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    shared.errors.record(e.to_string());
}

struct Publisher<'a> {
    shared: &'a Shared,
    load: &'a Load,
    task: usize,
    header: Header,
    message: Publish,
    writer: PayloadWriter,
    seq: u64,
    acked: u64,
    refused: Vec<u64>,
    /// Sequence number and send time of each unacknowledged packet identifier.
    pending: HashMap<u16, (u64, u64)>,
    acks: LatencyBatch,
    start: Instant,
    deadline: Option<Instant>,
    limit: u64,
}

impl<'a> Publisher<'a> {
    fn new(job: &'a PublisherJob, shared: &'a Shared) -> Publisher<'a> {
        let load = &*job.load;
        let started = *shared.started.get().expect("go is raised after started is set");
        let offset = if load.rate > 0.0 {
            Duration::from_secs_f64(job.phase / load.rate)
        } else {
            Duration::ZERO
        };
        Publisher {
            shared,
            load,
            task: job.task,
            header: Header {
                clock: shared.clock,
                run: shared.run,
                publisher: job.index as u32,
                seq: 0,
                sent_ns: 0,
            },
            message: Publish {
                dup: false,
                qos: load.qos,
                retain: false,
                topic: job.topic.clone(),
                packet_id: 0,
                payload: Bytes::new(),
                properties: MessageProperties::default(),
                topic_alias: None,
                subscription_ids: Vec::new(),
            },
            writer: PayloadWriter::default(),
            seq: 0,
            acked: 0,
            refused: Vec::new(),
            pending: HashMap::with_capacity(usize::from(load.inflight)),
            acks: LatencyBatch::new(job.task),
            start: started + offset,
            deadline: load.duration.map(|d| started + d),
            limit: load.count.unwrap_or(u64::MAX),
        }
    }

    /// Messages due by `now` under the rate (all of them without one).
    fn due(&self, now: Instant) -> u64 {
        if self.load.rate <= 0.0 {
            return self.limit;
        }
        let elapsed = now.saturating_duration_since(self.start).as_secs_f64();
        ((elapsed * self.load.rate) as u64 + 1).min(self.limit)
    }

    /// When the next message is due under the rate.
    fn next_due(&self) -> Option<Instant> {
        (self.load.rate > 0.0 && self.seq < self.limit)
            .then(|| self.start + Duration::from_secs_f64(self.seq as f64 / self.load.rate))
    }

    /// Queues as many messages as are due and fit; returns how many.
    fn fill(&mut self, client: &mut Client, now: Instant) -> Result<u64, ClientError> {
        let due = self.due(now).min(self.seq + BURST);
        let qos0 = self.load.qos == QoS::AtMostOnce;
        let first = self.seq;
        while self.seq < due && (qos0 || client.can_publish()) && client.buffered() < MAX_BUFFERED {
            self.header.seq = self.seq;
            self.header.sent_ns = self.shared.clock.now_ns();
            // Drop the previous payload first, so the writer can reuse its memory.
            self.message.payload = Bytes::new();
            self.message.payload = self.writer.payload(&self.header, self.load.payload_size);
            let id = client.publish(&mut self.message)?;
            if !qos0 {
                self.pending.insert(id, (self.seq, self.header.sent_ns));
            }
            self.seq += 1;
        }
        let n = self.seq - first;
        if n > 0 {
            self.shared.sent.add(self.task, n);
        }
        Ok(n)
    }

    fn on_event(&mut self, event: Event) {
        if let Event::Acked(ack) = event {
            let pending = self.pending.remove(&ack.packet_id);
            if let Some((_, sent)) = pending {
                let now = self.shared.clock.now_ns();
                self.acks
                    .push_ns(now.saturating_sub(sent), &self.shared.ack_latency);
            }
            if ack.is_success() {
                self.acked += 1;
                self.shared.acked.add(self.task, 1);
            } else {
                // Refused is the broker's answer, not a lost message: it is counted apart, so
                // that lost stays "accepted and never delivered".
                if let Some((seq, _)) = pending {
                    self.refused.push(seq);
                }
                let why = reason_text(ack.reason, ack.reason_string.as_deref());
                self.shared.refusals.record(why);
            }
        }
    }

    /// Publishes until the deadline, the count or the stop flag.
    async fn publish(&mut self, client: &mut Client) -> Result<(), ClientError> {
        let qos0 = self.load.qos == QoS::AtMostOnce;
        let mut rounds = 0u32;
        loop {
            rounds = rounds.wrapping_add(1);
            if rounds.is_multiple_of(FAIR_SHARE) {
                // Acknowledgements already read come out of `poll` without waiting: let the
                // other clients run now and then.
                tokio::task::yield_now().await;
            }
            let now = Instant::now();
            if self.shared.stop.is_set() || self.seq >= self.limit || self.deadline.is_some_and(|d| now >= d)
            {
                return Ok(());
            }
            self.fill(client, now)?;
            let room = (qos0 || client.can_publish()) && client.buffered() < MAX_BUFFERED;
            if room && self.seq < self.due(Instant::now()) {
                // Stopped by the burst limit: let other tasks run before the next burst.
                tokio::task::yield_now().await;
                continue;
            }
            let wake = match (room.then(|| self.next_due()).flatten(), self.deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let far = Instant::now() + Duration::from_secs(3600);
            // The client first: while it is ready, the stop future is never polled (which
            // would register it with the `Notify`, a lock per round); the loop checks the flag.
            if qos0 && client.buffered() > 0 {
                tokio::select! {
                    biased;
                    r = client.flush() => r?,
                    () = sleep_until(self.deadline.unwrap_or(far)) => {}
                    () = self.shared.stop.wait() => {}
                }
            } else {
                tokio::select! {
                    biased;
                    r = client.poll() => self.on_event(r?),
                    () = sleep_until(wake.unwrap_or(far)) => {}
                    () = self.shared.stop.wait() => {}
                }
            }
        }
    }

    /// Waits (up to the drain time) until everything queued is written and acknowledged.
    async fn drain(&mut self, client: &mut Client) -> Result<(), ClientError> {
        let until = Instant::now() + self.load.drain;
        let done = tokio::time::timeout_at(until, async {
            client.flush().await?;
            while client.unacknowledged() > 0 {
                let event = client.poll().await?;
                self.on_event(event);
            }
            Ok::<(), ClientError>(())
        })
        .await;
        match done {
            Ok(r) => r,
            Err(_) => {
                let missing = client.unacknowledged();
                if missing > 0 {
                    self.shared.errors.record(format!(
                        "publishes still unacknowledged {:?} after publishing ended",
                        self.load.drain
                    ));
                }
                Ok(())
            }
        }
    }
}
