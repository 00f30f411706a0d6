//! `robustmq bench`: a load generator for any MQTT broker, and the figures it reports.
//!
//! Every client is one connection driven by one tokio task ([`crate::client::Client`], no task
//! or channel in between), spread over the runtime's worker threads. Publishers pipeline up to
//! their window and stamp each payload with a [`header::Header`] (publisher, sequence number,
//! send time); subscribers read it back to count lost, duplicated and reordered messages
//! ([`tracker`]) and to record end-to-end latency in HdrHistograms ([`stats`]).
//!
//! [`conn::run`] opens and holds connections; [`run::run`] drives `bench pub`, `bench sub` and
//! the `bench pubsub` scenarios ([`scenario`]); both return a [`report::Report`] that prints as
//! a table or as JSON, and that [`compare`] sets against an earlier run.

mod bystander;
pub mod compare;
pub mod conn;
pub mod header;
mod launch;
pub mod progress;
mod publisher;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stats;
mod subscriber;
pub mod tracker;
pub mod verdict;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::client::{ClientError, ConnectOptions};
use crate::protocol::QoS;
use header::Clock;
use progress::ProgressSettings;
use scenario::Scenario;
use stats::{Counter, Errors, Latencies};

/// How every client of a run reaches the broker.
#[derive(Debug, Clone)]
pub struct Target {
    /// The CONNECT of every client; the client identifier is set per client.
    pub options: ConnectOptions,
    /// Client identifiers are `{id_prefix}-{role}{index}` (role `p` publisher, `s` subscriber,
    /// `x` stalled subscriber, `c` idle connection).
    pub id_prefix: String,
    /// New connections per second; 0 = as fast as `connect_concurrency` allows.
    pub connect_rate: f64,
    /// Connection attempts in progress at once (TCP handshake to CONNACK).
    pub connect_concurrency: usize,
}

impl Target {
    /// The options of client `index` in `role`.
    pub fn client(&self, role: char, index: usize) -> ConnectOptions {
        let mut options = self.options.clone();
        options.client_id = format!("{}-{role}{index}", self.id_prefix).into();
        options
    }
}

/// What publishers send and for how long.
#[derive(Debug, Clone)]
pub struct Load {
    /// QoS of publishes and subscriptions.
    pub qos: QoS,
    /// Payload bytes per message, header included (at least [`header::HEADER_LEN`]).
    pub payload_size: usize,
    /// Messages per second per publisher; 0 = as fast as flow control allows.
    pub rate: f64,
    /// QoS 1/2 publishes a publisher may have unacknowledged (lowered to the broker's receive
    /// maximum).
    pub inflight: u16,
    /// Publish for this long.
    pub duration: Option<Duration>,
    /// Publish this many messages per publisher (`bench sub`: receive this many per subscriber).
    pub count: Option<u64>,
    /// After publishing: how long to wait at most for acknowledgements and deliveries.
    pub drain: Duration,
}

/// What a `bench pub`/`sub`/`pubsub` run does.
#[derive(Debug, Clone)]
pub enum Work {
    /// Publishers only, publisher i on the topic template with `%i` replaced by i.
    Publish {
        /// Topic template.
        topic: String,
    },
    /// Subscribers only, subscriber i on the filter template with `%i` replaced by i.
    Subscribe {
        /// Filter template.
        filter: String,
    },
    /// Publishers and subscribers in one of the built-in shapes, under a topic prefix.
    Scenario {
        /// The shape.
        scenario: Scenario,
        /// Topic prefix.
        prefix: String,
    },
}

/// Everything a `bench pub`/`sub`/`pubsub` run needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The broker and the clients' CONNECT.
    pub target: Target,
    /// What publishers send.
    pub load: Load,
    /// What the run does.
    pub work: Work,
    /// Number of publishers (0 for `bench sub`).
    pub publishers: usize,
    /// Number of subscribers (0 for `bench pub`).
    pub subscribers: usize,
    /// Subscribers on the publishers' topics that never read their socket (`bench pubsub`).
    pub stalled: usize,
    /// Live output.
    pub progress: ProgressSettings,
    /// The broker's process, when it runs on this machine: its CPU and memory are reported.
    pub broker_pid: Option<u32>,
}

/// Why a bench could not run. Each is one line a person can act on.
#[derive(Debug, Error)]
pub enum BenchError {
    /// Some clients could not connect (the first error says why).
    #[error("{error} ({failed} of {tried} connection attempts failed)")]
    Connect {
        /// The first connection error.
        error: String,
        /// What kind of problem it was.
        problem: ConnectProblem,
        /// How many failed.
        failed: u64,
        /// How many were tried.
        tried: u64,
    },
    /// A subscription was refused or never answered.
    #[error("subscribing to {filter} failed: {error}")]
    Subscribe {
        /// The filter.
        filter: String,
        /// Why.
        error: String,
    },
    /// Ctrl-C before every client was connected.
    #[error("interrupted while connecting")]
    Interrupted,
}

/// What kind of problem kept a client from connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectProblem {
    /// No TCP connection: the host does not resolve, refused, unreachable.
    Unreachable,
    /// The broker answered CONNECT with a refusal.
    Refused,
    /// No CONNACK in time.
    Timeout,
    /// Anything else (the connection broke during the handshake).
    Other,
}

impl ConnectProblem {
    /// The kind of `e`.
    pub fn of(e: &ClientError) -> ConnectProblem {
        match e {
            ClientError::Resolve { .. } | ClientError::Connect { .. } => ConnectProblem::Unreachable,
            ClientError::Refused { .. } => ConnectProblem::Refused,
            ClientError::Timeout { .. } => ConnectProblem::Timeout,
            _ => ConnectProblem::Other,
        }
    }
}

/// A connection error with its kind.
#[derive(Debug, Clone)]
pub struct ConnectError {
    /// Worded for a person.
    pub error: String,
    /// Its kind.
    pub problem: ConnectProblem,
}

impl From<&ClientError> for ConnectError {
    fn from(e: &ClientError) -> ConnectError {
        ConnectError {
            error: e.to_string(),
            problem: ConnectProblem::of(e),
        }
    }
}

/// A flag tasks can wait for.
#[derive(Debug, Default)]
pub struct Signal {
    set: AtomicBool,
    notify: Notify,
}

impl Signal {
    /// Raises the flag and wakes every waiter.
    pub fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// True once raised.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Returns once the flag is raised.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// What the run is doing, for progress output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Phase {
    /// Opening connections and subscribing.
    Connecting = 0,
    /// Publishing.
    Running = 1,
    /// Waiting for acknowledgements and deliveries.
    Draining = 2,
    /// Holding idle connections (`bench conn`).
    Holding = 3,
    /// Disconnecting.
    Closing = 4,
}

/// State every client task of a run shares.
#[derive(Debug)]
pub struct Shared {
    /// Random id of this run, in every header it sends.
    pub run: u32,
    /// Clock of send times.
    pub clock: Clock,
    /// Clients planned.
    pub clients: usize,
    /// Messages queued by publishers.
    pub sent: Counter,
    /// QoS 1/2 publishes the broker accepted.
    pub acked: Counter,
    /// Messages received by subscribers.
    pub received: Counter,
    /// Clients connected.
    pub connected: AtomicU64,
    /// Clients that could not connect.
    pub connect_failures: AtomicU64,
    /// Connections lost after they were up.
    pub dropped: AtomicU64,
    /// End-to-end latency.
    pub latency: Latencies,
    /// Publish to acknowledgement latency.
    pub ack_latency: Latencies,
    /// TCP connect to CONNACK latency.
    pub connect_latency: Latencies,
    /// Errors by kind.
    pub errors: Errors,
    /// Publishes the broker refused, by reason.
    pub refusals: Errors,
    /// The first connection error.
    pub first_connect_error: OnceLock<ConnectError>,
    /// Publishers start.
    pub go: Signal,
    /// When `go` was raised.
    pub started: OnceLock<Instant>,
    /// Everyone stops (end of the run, or Ctrl-C).
    pub stop: Signal,
    /// Publishers that have not finished publishing yet.
    publishing: AtomicUsize,
    /// Every publisher has finished publishing.
    pub published: Signal,
    phase: AtomicU8,
}

impl Shared {
    /// Fresh state for a run of `clients` clients stamping send times on `clock`.
    pub fn new(clients: usize, clock: Clock) -> Shared {
        Shared {
            run: RandomState::new().hash_one(std::process::id()) as u32,
            clock,
            clients,
            sent: Counter::default(),
            acked: Counter::default(),
            received: Counter::default(),
            connected: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            latency: Latencies::default(),
            ack_latency: Latencies::default(),
            connect_latency: Latencies::default(),
            errors: Errors::default(),
            refusals: Errors::default(),
            first_connect_error: OnceLock::new(),
            go: Signal::default(),
            started: OnceLock::new(),
            stop: Signal::default(),
            publishing: AtomicUsize::new(0),
            published: Signal::default(),
            phase: AtomicU8::new(Phase::Connecting as u8),
        }
    }

    /// What the run is doing.
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Connecting,
            1 => Phase::Running,
            2 => Phase::Draining,
            3 => Phase::Holding,
            _ => Phase::Closing,
        }
    }

    /// State for more clients of the same run, with counters and signals of their own (so they
    /// can be stopped apart): the same run id and clock, so that their messages are recognized
    /// and timed as this run's.
    pub fn sibling(&self, clients: usize) -> Shared {
        let mut shared = Shared::new(clients, self.clock);
        shared.run = self.run;
        shared
    }

    /// Moves the run on to `phase`.
    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    /// Starts the publishers now.
    pub fn start(&self) -> Instant {
        let now = *self.started.get_or_init(Instant::now);
        self.set_phase(Phase::Running);
        self.go.set();
        now
    }

    /// Sets how many publishers will report that they finished publishing.
    pub fn expect_publishers(&self, n: usize) {
        self.publishing.store(n, Ordering::SeqCst);
        if n == 0 {
            self.published.set();
        }
    }

    /// One publisher finished publishing (or never started).
    pub fn publisher_done(&self) {
        if self.publishing.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.published.set();
        }
    }

    /// Clients connected so far.
    pub fn connected(&self) -> u64 {
        self.connected.load(Ordering::Relaxed)
    }

    /// The error for a run that cannot go on because clients could not connect.
    pub fn connect_error(&self, fallback: ConnectError) -> BenchError {
        let first = self.first_connect_error.get().cloned().unwrap_or(fallback);
        BenchError::Connect {
            error: first.error,
            problem: first.problem,
            failed: self.failures(),
            tried: self.failures() + self.connected(),
        }
    }

    /// Clients that failed to connect so far.
    pub fn failures(&self) -> u64 {
        self.connect_failures.load(Ordering::Relaxed)
    }
}

/// Sets `stop` on the first Ctrl-C, exits at once (130) on the second.
pub fn stop_on_ctrl_c(shared: std::sync::Arc<Shared>) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            shared.stop.set();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(crate::exit::Exit::Interrupted.code().into());
            }
        }
    });
}
