//! `bench conn`: open many connections at a set rate, measure how long each took, then hold
//! them idle (keep-alive only) so the broker's memory per connection can be read. With a
//! [`Bystander`], a pair of established clients is timed while the connections open.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep, Instant};

use super::bystander::Bystander;
use super::header::Clock;
use super::launch::{close, Launcher};
use super::progress::{Plan, Progress, ProgressSettings};
use super::report::{round3, Report};
use super::run::kinds;
use super::stats::{rss_kib, CpuMark, Percentiles};
use super::{stop_on_ctrl_c, BenchError, ConnectError, ConnectProblem, Phase, Shared, Target};
use crate::client::Client;

/// Everything a `bench conn` run needs.
#[derive(Debug, Clone)]
pub struct ConnSettings {
    /// The broker and the CONNECT.
    pub target: Target,
    /// Connections to open.
    pub clients: usize,
    /// How long to hold them once every attempt has finished.
    pub hold: Duration,
    /// Live output.
    pub progress: ProgressSettings,
    /// The broker's process, when it runs on this machine: its CPU and memory are reported.
    pub broker_pid: Option<u32>,
    /// Messages per second of a bystander pair while the connections open; 0 = no bystander.
    pub bystander_rate: f64,
}

/// Opens, holds and closes the connections; fails only if none could be opened.
pub async fn run(settings: &ConnSettings) -> Result<Report, BenchError> {
    let shared = Arc::new(Shared::new(settings.clients, Clock::Process));
    stop_on_ctrl_c(shared.clone());
    let bystander = if settings.bystander_rate > 0.0 {
        Some(Bystander::start(&settings.target, settings.bystander_rate).await?)
    } else {
        None
    };
    let broker_rss_kib_before = settings.broker_pid.and_then(rss_kib);
    let cpu_start = CpuMark::now(settings.broker_pid);
    let begun = Instant::now();
    let plan = Plan {
        duration: Some(settings.hold),
        ..Plan::default()
    };
    let progress = Progress::start(settings.progress, shared.clone(), plan);
    let launcher = Launcher::new(&settings.target);
    let (ready, mut outcomes) = tokio::sync::mpsc::channel::<bool>(1024);
    let mut tasks = Vec::with_capacity(settings.clients);
    for i in 0..settings.clients {
        let options = settings.target.client('c', i);
        let (shared, launcher, ready) = (shared.clone(), launcher.clone(), ready.clone());
        tasks.push(tokio::spawn(async move {
            launcher.pace(i).await;
            if shared.stop.is_set() {
                return;
            }
            let client = launcher.connect(&options, &shared).await;
            let _ = ready.send(client.is_ok()).await;
            drop(ready);
            if let Ok(client) = client {
                hold(client, &shared).await;
            }
        }));
    }
    drop(ready);
    // Every attempt ends (connected or failed) or Ctrl-C.
    let mut attempts = 0;
    while attempts < settings.clients {
        tokio::select! {
            r = outcomes.recv() => match r {
                Some(_) => attempts += 1,
                None => break,
            },
            () = shared.stop.wait() => break,
        }
    }
    let connecting = begun.elapsed();
    let mut bystanding = Report::default();
    if let Some(bystander) = bystander {
        bystander.finish(&mut bystanding).await;
    }
    let connected = shared.connected();
    if connected == 0 {
        shared.stop.set();
        progress.finish().await;
        if shared.first_connect_error.get().is_none() {
            return Err(BenchError::Interrupted);
        }
        return Err(shared.connect_error(ConnectError {
            error: String::new(),
            problem: ConnectProblem::Other,
        }));
    }
    let held_from = Instant::now();
    let _ = shared.started.set(held_from);
    shared.set_phase(Phase::Holding);
    progress.note(&format!(
        "holding {connected} connections for {:?} ({} failed)",
        settings.hold,
        shared.failures()
    ));
    tokio::select! {
        () = sleep(settings.hold) => {}
        () = shared.stop.wait() => {}
    }
    let held = held_from.elapsed();
    let broker_rss_kib = settings.broker_pid.and_then(rss_kib);
    shared.set_phase(Phase::Closing);
    shared.stop.set();
    for task in tasks {
        let _ = task.await;
    }
    progress.finish().await;
    let elapsed = begun.elapsed();
    let (bench_cpu, broker_cpu) = cpu_start.cores_since(&CpuMark::now(settings.broker_pid));
    let o = &settings.target.options;
    Ok(Report {
        command: "conn",
        broker: o.address(),
        protocol: o.version.to_string(),
        threads: tokio::runtime::Handle::current().metrics().num_workers(),
        elapsed_s: round3(elapsed.as_secs_f64()),
        active_s: round3(held.as_secs_f64()),
        clients: settings.clients,
        connected,
        connect_failures: shared.failures(),
        connect_rate: round3(connected as f64 / connecting.as_secs_f64().max(1e-6)),
        connect_latency_us: Percentiles::of(&shared.connect_latency.merged()),
        dropped: shared.dropped.load(Ordering::Relaxed) + bystanding.dropped,
        errors: shared.errors.count() + bystanding.errors,
        error_kinds: {
            let mut all = kinds(&shared.errors);
            all.append(&mut bystanding.error_kinds);
            all
        },
        bench_cpu,
        broker_cpu,
        broker_rss_kib_before,
        broker_rss_kib,
        broker_bytes_per_connection: match (broker_rss_kib_before, broker_rss_kib) {
            (Some(before), Some(held)) => Some(held.saturating_sub(before) * 1024 / connected),
            _ => None,
        },
        ..bystanding
    })
}

/// Keeps one connection alive until the run stops, then disconnects.
async fn hold(mut client: Client, shared: &Shared) {
    loop {
        tokio::select! {
            () = shared.stop.wait() => break,
            r = client.poll() => if let Err(e) = r {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                shared.errors.record(e.to_string());
                return;
            },
        }
    }
    close(client).await;
}
