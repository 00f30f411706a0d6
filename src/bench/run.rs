//! `bench pub`, `bench sub` and `bench pubsub`: connect everyone, start the publishers together,
//! wait for the deliveries, and turn what every client saw into a [`Report`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

use super::header::Clock;
use super::launch::Launcher;
use super::progress::{Plan, Progress};
use super::publisher::{self, Published, PublisherJob};
use super::report::{round3, ErrorKind, Report};
use super::scenario::{expand, Delivery, Topology};
use super::stats::{rss_kib, CpuMark, Errors, Percentiles};
use super::subscriber::{self, Received, SubscriberJob};
use super::tracker::{Stream, Streams};
use super::{stop_on_ctrl_c, BenchError, ConnectError, Phase, Settings, Shared, Work};

/// With deliveries outstanding after publishing, give up once none has arrived for this long.
const IDLE: Duration = Duration::from_secs(2);
/// How long connected clients get to disconnect when a run is abandoned.
const ABANDON: Duration = Duration::from_secs(3);
/// After one client failed to connect, how long to wait for the others' outcome.
const SETTLE: Duration = Duration::from_secs(2);

/// Runs `settings` to the end (or to Ctrl-C) and reports.
pub async fn run(settings: &Settings) -> Result<Report, BenchError> {
    let (clock, topology) = match &settings.work {
        Work::Publish { topic } => (
            Clock::Wall,
            Topology {
                topics: (0..settings.publishers).map(|i| expand(topic, i)).collect(),
                filters: Vec::new(),
                delivery: Delivery::Unknown,
            },
        ),
        Work::Subscribe { filter } => (
            Clock::Wall,
            Topology {
                topics: Vec::new(),
                filters: (0..settings.subscribers).map(|i| expand(filter, i)).collect(),
                delivery: Delivery::Unknown,
            },
        ),
        Work::Scenario { scenario, prefix } => (
            Clock::Process,
            scenario.topology(prefix, settings.publishers, settings.subscribers),
        ),
    };
    let (publishers, subscribers) = (topology.topics.len(), topology.filters.len());
    let stalled = if publishers > 0 { settings.stalled } else { 0 };
    let shared = Arc::new(Shared::new(publishers + subscribers + stalled, clock));
    stop_on_ctrl_c(shared.clone());
    let broker_rss_kib_before = settings.broker_pid.and_then(rss_kib);
    let begun = Instant::now();
    let load = Arc::new(settings.load.clone());
    let plan = Plan {
        publishers,
        subscribers,
        duration: load.duration,
        messages: load.count.map(|n| n * publishers as u64),
    };
    let progress = Progress::start(settings.progress, shared.clone(), plan);
    let launcher = Launcher::new(&settings.target);

    // Subscribers first, so that they see every message.
    let (ready, mut subscribed) = mpsc::channel(subscribers.max(1));
    let mut sub_tasks = Vec::with_capacity(subscribers);
    for (i, filter) in topology.filters.iter().enumerate() {
        let job = SubscriberJob {
            task: i,
            options: settings.target.client('s', i),
            filter: filter.clone(),
            qos: load.qos,
            count: if publishers == 0 { load.count } else { None },
        };
        let (shared, launcher, ready) = (shared.clone(), launcher.clone(), ready.clone());
        sub_tasks.push(tokio::spawn(async move {
            launcher.pace(i).await;
            subscriber::run(job, shared, launcher, ready).await
        }));
    }
    drop(ready);
    let mut pub_tasks = Vec::with_capacity(publishers);
    let waited = wait_ready(&mut subscribed, subscribers, &shared).await;
    if let Err(e) = waited {
        abandon(&shared, sub_tasks, pub_tasks, progress).await;
        return Err(e);
    }
    if publishers == 0 && subscribers > 0 {
        progress.note(&format!(
            "{subscribers} subscribers subscribed to {}",
            topology.filters[0]
        ));
    }
    let (ready, mut stalling) = mpsc::channel(stalled.max(1));
    let mut stalled_tasks = Vec::with_capacity(stalled);
    for j in 0..stalled {
        let task = subscribers + j;
        let job = SubscriberJob {
            task,
            options: settings.target.client('x', j),
            // In turn over the publishers' topics, so that each publisher meets some.
            filter: topology.topics[j % publishers].clone(),
            qos: load.qos,
            count: None,
        };
        let (shared, launcher, ready) = (shared.clone(), launcher.clone(), ready.clone());
        stalled_tasks.push(tokio::spawn(async move {
            launcher.pace(task).await;
            subscriber::stall(job, shared, launcher, ready).await;
        }));
    }
    drop(ready);
    let waited = wait_ready(&mut stalling, stalled, &shared).await;
    if let Err(e) = waited {
        abandon(&shared, sub_tasks, pub_tasks, progress).await;
        return Err(e);
    }
    shared.expect_publishers(publishers);
    let (ready, mut connected) = mpsc::channel(publishers.max(1));
    for (i, topic) in topology.topics.iter().enumerate() {
        let task = subscribers + stalled + i;
        let job = PublisherJob {
            index: i,
            task,
            options: {
                let mut options = settings.target.client('p', i);
                options.inflight = load.inflight;
                options
            },
            topic: topic.clone(),
            load: load.clone(),
            phase: i as f64 / publishers as f64,
        };
        let (shared, launcher, ready) = (shared.clone(), launcher.clone(), ready.clone());
        pub_tasks.push(tokio::spawn(async move {
            launcher.pace(task).await;
            publisher::run(job, shared, launcher, ready).await
        }));
    }
    drop(ready);
    let waited = wait_ready(&mut connected, publishers, &shared).await;
    if let Err(e) = waited {
        abandon(&shared, sub_tasks, pub_tasks, progress).await;
        return Err(e);
    }
    let connecting = begun.elapsed();

    let started = shared.start();
    let cpu_start = CpuMark::now(settings.broker_pid);
    if publishers > 0 {
        shared.published.wait().await;
    } else {
        wait_for_subscribers(&shared, &sub_tasks, load.duration).await;
    }
    let cpu_end = CpuMark::now(settings.broker_pid);
    let broker_rss = settings.broker_pid.and_then(rss_kib);
    let active = started.elapsed();
    let mut published = Vec::with_capacity(publishers);
    for task in pub_tasks {
        published.push(task.await.unwrap_or_default());
    }
    let sent: Vec<u64> = published.iter().map(|p| p.sent).collect();
    let known = publishers > 0 && topology.delivery != Delivery::Unknown;
    if known {
        // Unacknowledged messages may still arrive; refused ones will not.
        let arriving: Vec<u64> = published
            .iter()
            .map(|p| p.sent - p.refused.len() as u64)
            .collect();
        shared.set_phase(Phase::Draining);
        // The publishers' wait for acknowledgements counts towards the drain time.
        let until = started + active + load.drain;
        drain(&shared, topology.expected(&arriving), until).await;
    }
    // Publishers waited for their acknowledgements since they stopped publishing.
    let drained = started.elapsed().saturating_sub(active);
    shared.set_phase(Phase::Closing);
    shared.stop.set();
    let mut received = Vec::with_capacity(subscribers);
    for task in sub_tasks {
        received.push(task.await.unwrap_or_default());
    }
    for task in stalled_tasks {
        let _ = task.await;
    }
    progress.finish().await;

    let elapsed = begun.elapsed();
    let (bench_cpu, broker_cpu) = cpu_start.cores_since(&cpu_end);
    let mut report = Report {
        command: match settings.work {
            Work::Publish { .. } => "pub",
            Work::Subscribe { .. } => "sub",
            Work::Scenario { .. } => "pubsub",
        },
        scenario: match settings.work {
            Work::Scenario { scenario, .. } => Some(scenario.name()),
            _ => None,
        },
        broker: settings.target.options.address(),
        protocol: settings.target.options.version.to_string(),
        qos: Some(load.qos as u8),
        payload_size: (publishers > 0).then_some(load.payload_size),
        publishers,
        subscribers,
        stalled_subscribers: stalled,
        rate_per_publisher: Some(load.rate),
        offered_rate: (publishers > 0 && load.rate > 0.0).then(|| round3(load.rate * publishers as f64)),
        inflight: Some(load.inflight),
        clock: Some(clock.name()),
        threads: tokio::runtime::Handle::current().metrics().num_workers(),
        elapsed_s: round3(elapsed.as_secs_f64()),
        active_s: round3(if publishers > 0 { active.as_secs_f64() } else { 0.0 }),
        clients: shared.clients,
        connected: shared.connected(),
        connect_failures: shared.failures(),
        connect_rate: round3(shared.connected() as f64 / connecting.as_secs_f64().max(1e-6)),
        connect_latency_us: Percentiles::of(&shared.connect_latency.merged()),
        dropped: shared.dropped.load(std::sync::atomic::Ordering::Relaxed),
        sent: sent.iter().sum(),
        acked: published.iter().map(|p| p.acked).sum(),
        accepted: published.iter().map(Published::accepted).sum(),
        refused: published.iter().map(|p| p.refused.len() as u64).sum(),
        refused_reasons: kinds(&shared.refusals),
        unacknowledged: published.iter().map(|p| p.unacknowledged.len() as u64).sum(),
        expected: known.then(|| {
            let accepted: Vec<u64> = published.iter().map(Published::accepted).collect();
            topology.expected(&accepted)
        }),
        drain_s: round3(drained.as_secs_f64()),
        latency_us: Percentiles::of(&shared.latency.merged()),
        ack_latency_us: Percentiles::of(&shared.ack_latency.merged()),
        bench_cpu,
        broker_cpu,
        broker_rss_kib_before,
        broker_rss_kib: broker_rss,
        ..Report::default()
    };
    tally(&mut report, &topology, &published, &received, shared.run);
    let size = load.payload_size as f64;
    let active_s = active.as_secs_f64();
    if active_s > 0.0 {
        report.send_rate = round3(report.sent as f64 / active_s);
        report.accept_rate = round3(report.accepted as f64 / active_s);
        report.send_mb_s = round3(report.sent as f64 * size / active_s / 1e6);
    }
    let last = received.iter().filter_map(|r| r.last).max();
    let from = if publishers > 0 {
        Some(started)
    } else {
        received.iter().filter_map(|r| r.first).min()
    };
    if let (Some(from), Some(last)) = (from, last) {
        let span = last.saturating_duration_since(from).as_secs_f64();
        if span > 0.0 {
            report.recv_rate = round3(report.received as f64 / span);
            let bytes: u64 = received.iter().map(|r| r.bytes).sum();
            report.recv_mb_s = round3(bytes as f64 / span / 1e6);
        }
        if publishers == 0 {
            report.active_s = round3(span);
        }
    }
    report.errors = shared.errors.count();
    report.error_kinds = kinds(&shared.errors);
    Ok(report)
}

/// Each kind of error (or refusal) with its count, most frequent first.
pub(super) fn kinds(errors: &Errors) -> Vec<ErrorKind> {
    errors
        .kinds()
        .into_iter()
        .map(|(error, count)| ErrorKind { error, count })
        .collect()
}

/// Waits for `n` clients to report ready. After the first failure it lets the other attempts
/// settle (briefly) so that the error says how many failed; Ctrl-C ends the wait too.
async fn wait_ready(
    ready: &mut mpsc::Receiver<Result<(), BenchError>>,
    n: usize,
    shared: &Shared,
) -> Result<(), BenchError> {
    let mut failure = None;
    for _ in 0..n {
        let next = match failure {
            None => tokio::select! {
                r = ready.recv() => r,
                () = shared.stop.wait() => return Err(BenchError::Interrupted),
            },
            Some(_) => match tokio::time::timeout(SETTLE, ready.recv()).await {
                Ok(r) => r,
                Err(_) => break,
            },
        };
        match next {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                failure.get_or_insert(e);
            }
            None => break,
        }
    }
    match failure {
        None => Ok(()),
        Some(BenchError::Connect { error, problem, .. }) => {
            Err(shared.connect_error(ConnectError { error, problem }))
        }
        Some(e) => Err(e),
    }
}

/// Publishers only ran until the deadline; `bench sub` runs until its duration, every
/// subscriber has its count, or Ctrl-C.
async fn wait_for_subscribers(shared: &Shared, tasks: &[JoinHandle<Received>], duration: Option<Duration>) {
    let until = duration.map(|d| Instant::now() + d);
    loop {
        if shared.stop.is_set()
            || until.is_some_and(|u| Instant::now() >= u)
            || tasks.iter().all(|t| t.is_finished())
        {
            return;
        }
        tokio::select! {
            () = shared.stop.wait() => return,
            () = sleep(Duration::from_millis(20)) => {}
        }
    }
}

/// Waits until `expected` deliveries arrived, `until` passed, nothing arrived for [`IDLE`], or
/// Ctrl-C.
pub(super) async fn drain(shared: &Shared, expected: u64, until: Instant) {
    let mut last = (shared.received.get(), Instant::now());
    loop {
        let received = shared.received.get();
        let now = Instant::now();
        if received >= expected || now >= until || shared.stop.is_set() {
            return;
        }
        if received != last.0 {
            last = (received, now);
        } else if now.duration_since(last.1) >= IDLE {
            return;
        }
        tokio::select! {
            () = shared.stop.wait() => return,
            () = sleep(Duration::from_millis(5)) => {}
        }
    }
}

/// Stops every client of a run that cannot go on, giving them a moment to disconnect.
async fn abandon(
    shared: &Shared,
    subs: Vec<JoinHandle<Received>>,
    pubs: Vec<JoinHandle<Published>>,
    progress: Progress,
) {
    shared.set_phase(Phase::Closing);
    shared.stop.set();
    let all = async {
        for t in subs {
            let _ = t.await;
        }
        for t in pubs {
            let _ = t.await;
        }
    };
    let _ = tokio::time::timeout(ABANDON, all).await;
    progress.finish().await;
}

/// Fills in received, lost, not received, duplicates, reordered and unrecognized from what
/// each subscriber saw of each publisher (`report.qos` set). Only messages the broker accepted
/// are expected (at QoS 0: every one sent): a refused or never acknowledged message that did
/// not arrive is not missing, and one that did arrive does not make up for an accepted one that
/// did not. What is missing is lost at QoS 1/2, where the broker acknowledged it; at QoS 0, and
/// for gaps `bench sub` sees (it cannot know what was acknowledged), it is only not received.
pub(super) fn tally(
    report: &mut Report,
    topology: &Topology,
    published: &[Published],
    received: &[Received],
    run: u32,
) {
    let key = |publisher: usize| (u64::from(run) << 32) | publisher as u64;
    let ours = |k: u64| (k >> 32) as u32 == run && ((k & 0xffff_ffff) as usize) < published.len();
    let not_accepted: Vec<Vec<u64>> = published.iter().map(Published::not_accepted).collect();
    let mut missed = 0;
    for r in received {
        report.received += r.received;
        report.unrecognized += r.unrecognized;
        for (k, s) in &r.streams {
            report.duplicates += s.duplicates;
            report.reordered += s.reordered;
            if topology.delivery == Delivery::Unknown {
                report.not_received += s.gaps();
            } else if !ours(*k) {
                report.unrecognized += s.unique + s.duplicates;
            }
        }
    }
    let missing = |streams: &Streams, p: usize| {
        let got = streams.get(&key(p)).map_or(0, |s| {
            let unwanted = not_accepted[p].iter().filter(|&&seq| s.contains(seq)).count();
            s.unique - unwanted as u64
        });
        published[p].accepted().saturating_sub(got)
    };
    match topology.delivery {
        Delivery::Unknown => {}
        Delivery::Every => {
            for r in received {
                missed += (0..published.len()).map(|p| missing(&r.streams, p)).sum::<u64>();
            }
        }
        Delivery::Pairs => {
            for (i, r) in received.iter().enumerate().take(published.len()) {
                missed += missing(&r.streams, i);
                // A pair's subscriber should hear only its own publisher.
                for (k, s) in &r.streams {
                    if ours(*k) && *k != key(i) {
                        report.unrecognized += s.unique + s.duplicates;
                    }
                }
            }
        }
        Delivery::Shared => {
            let mut group = Streams::default();
            for r in received {
                for (k, s) in &r.streams {
                    group.entry(*k).or_insert_with(Stream::default).merge(s);
                }
            }
            // Cross-member duplicates are counted by the merge, on top of each member's own.
            let own: u64 = received
                .iter()
                .flat_map(|r| r.streams.iter())
                .filter(|(k, _)| ours(**k))
                .map(|(_, s)| s.duplicates)
                .sum();
            let merged: u64 = group
                .iter()
                .filter(|(k, _)| ours(**k))
                .map(|(_, s)| s.duplicates)
                .sum();
            report.duplicates += merged.saturating_sub(own);
            missed += (0..published.len()).map(|p| missing(&group, p)).sum::<u64>();
        }
    }
    if report.qos.unwrap_or(0) > 0 {
        report.lost += missed;
    } else {
        report.not_received += missed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::scenario::Scenario;

    const RUN: u32 = 7;

    fn got(publisher: usize, seqs: impl IntoIterator<Item = u64>) -> Received {
        let mut r = Received::default();
        let stream = r
            .streams
            .entry((u64::from(RUN) << 32) | publisher as u64)
            .or_default();
        for seq in seqs {
            stream.record(seq);
            r.received += 1;
        }
        r
    }

    fn tallied(scenario: Scenario, published: &[Published], received: &[Received]) -> Report {
        let topology = scenario.topology("t", published.len(), received.len());
        // What the broker answered says the QoS: nothing at all is QoS 0.
        let answered = published.iter().any(|p| p.acked > 0 || !p.refused.is_empty());
        let mut report = Report {
            qos: Some(u8::from(answered)),
            ..Report::default()
        };
        tally(&mut report, &topology, published, received, RUN);
        report
    }

    #[test]
    fn lost_counts_only_accepted_messages() {
        // 10 sent: 3 and 4 refused, 9 never acknowledged, so 7 accepted.
        let p = Published {
            sent: 10,
            acked: 7,
            refused: vec![3, 4],
            unacknowledged: vec![9],
        };
        assert_eq!(p.accepted(), 7);
        assert_eq!(p.not_accepted(), vec![3, 4, 9]);
        // 7 (accepted) never arrived; the unacknowledged 9 did, and does not make up for it.
        let r = tallied(
            Scenario::P2p,
            std::slice::from_ref(&p),
            &[got(0, [0, 1, 2, 5, 6, 8, 9])],
        );
        assert_eq!((r.received, r.lost, r.not_received, r.duplicates), (7, 1, 0, 0));
        // Refused messages that were delivered anyway are not counted as accepted ones either.
        let r = tallied(
            Scenario::P2p,
            std::slice::from_ref(&p),
            &[got(0, [0, 1, 2, 3, 4])],
        );
        assert_eq!(r.lost, 4);
        // Nothing refused or unacknowledged arrived, every accepted one did: nothing lost.
        let r = tallied(Scenario::P2p, &[p], &[got(0, [0, 1, 2, 5, 6, 7, 8])]);
        assert_eq!(r.lost, 0);
    }

    #[test]
    fn at_qos0_every_message_sent_is_expected() {
        let p = Published {
            sent: 5,
            ..Published::default()
        };
        let r = tallied(Scenario::P2p, &[p], &[got(0, [0, 2, 2, 4])]);
        // Nothing was acknowledged, so nothing is lost: 1 and 3 were only not received.
        assert_eq!((r.received, r.lost, r.not_received, r.duplicates), (4, 0, 2, 1));
    }

    #[test]
    fn every_subscriber_of_a_fanin_counts() {
        let published = [
            Published {
                sent: 4,
                acked: 3,
                refused: vec![1],
                ..Published::default()
            },
            Published {
                sent: 2,
                acked: 2,
                ..Published::default()
            },
        ];
        let mut a = got(0, [0, 2, 3]);
        a.streams.extend(got(1, [0, 1]).streams);
        let b = got(0, [0]);
        let r = tallied(Scenario::Fanin, &published, &[a, b]);
        // b missed 2 and 3 of publisher 0 and both of publisher 1; a missed none.
        assert_eq!(r.lost, 4);
    }
}
