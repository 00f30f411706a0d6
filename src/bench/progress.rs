//! Live output while a bench runs: an indicatif bar on a terminal, plain periodic lines
//! (`t=5.0s sent=... recv=...`) otherwise.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::report::{count, ms};
use super::stats::Percentiles;
use super::{Phase, Shared, Signal};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A live bar (the stream is a terminal).
    Bar,
    /// A line every interval.
    Lines,
    /// Nothing.
    Off,
}

/// Where and how often progress is shown.
#[derive(Debug, Clone, Copy)]
pub struct ProgressSettings {
    /// Bar, lines or nothing.
    pub style: Style,
    /// Time between plain lines.
    pub interval: Duration,
    /// Write to stderr instead of stdout (stdout carries `--json`).
    pub stderr: bool,
}

/// What the run is expected to do, for the bar's length and for which figures matter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plan {
    /// Publishers in the run.
    pub publishers: usize,
    /// Subscribers in the run.
    pub subscribers: usize,
    /// How long publishing (or holding) lasts.
    pub duration: Option<Duration>,
    /// Messages all publishers will send, when a count is set.
    pub messages: Option<u64>,
}

/// The running progress display.
#[derive(Debug)]
pub struct Progress {
    settings: ProgressSettings,
    bar: Option<ProgressBar>,
    done: Arc<Signal>,
    task: Option<JoinHandle<()>>,
}

/// Resolution of the bar.
const STEPS: u64 = 1000;

impl Progress {
    /// Starts showing the progress of `shared`.
    pub fn start(settings: ProgressSettings, shared: Arc<Shared>, plan: Plan) -> Progress {
        let done = Arc::new(Signal::default());
        let bar = (settings.style == Style::Bar).then(|| {
            let target = if settings.stderr {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::stdout()
            };
            let bar = ProgressBar::with_draw_target(Some(STEPS), target);
            let style =
                ProgressStyle::with_template("{spinner:.green} {elapsed:>3} [{bar:16.cyan/blue}] {wide_msg}")
                    .expect("valid template")
                    .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let interval = match settings.style {
            Style::Bar => Duration::from_millis(250),
            _ => settings.interval.max(Duration::from_millis(50)),
        };
        let task = (settings.style != Style::Off).then(|| {
            let (bar, done) = (bar.clone(), done.clone());
            tokio::spawn(async move { ticker(shared, plan, interval, settings.stderr, bar, done).await })
        });
        Progress {
            settings,
            bar,
            done,
            task,
        }
    }

    /// Prints one line now (above the bar, if there is one).
    pub fn note(&self, line: &str) {
        match (&self.bar, self.settings.style) {
            (Some(bar), _) => bar.println(line),
            (None, Style::Off) => {}
            (None, _) => emit(self.settings.stderr, line),
        }
    }

    /// Stops the display and clears the bar.
    pub async fn finish(mut self) {
        self.done.set();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn emit(stderr: bool, line: &str) {
    if stderr {
        let _ = writeln!(std::io::stderr(), "{line}");
    } else {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// The figures shown at one tick.
struct Snapshot {
    phase: Phase,
    sent: u64,
    received: u64,
    send_rate: f64,
    recv_rate: f64,
    p99_us: Option<u64>,
    connected: u64,
    failed: u64,
    dropped: u64,
    errors: u64,
}

impl Snapshot {
    /// `t=...` lines: every figure, `key=value`, for logs and scripts.
    fn line(&self, plan: &Plan, clients: usize) -> String {
        let mut fields = Vec::new();
        match self.phase {
            Phase::Connecting => fields.push(format!(
                "connecting={}/{clients} failed={}",
                self.connected, self.failed
            )),
            Phase::Holding => fields.push(format!(
                "holding={} dropped={}",
                self.connected.saturating_sub(self.dropped),
                self.dropped
            )),
            Phase::Closing => fields.push("closing".into()),
            Phase::Running | Phase::Draining => {
                if plan.publishers > 0 {
                    fields.push(format!(
                        "sent={} rate={}/s",
                        count(self.sent),
                        count(self.send_rate as u64)
                    ));
                }
                if plan.subscribers > 0 {
                    fields.push(format!(
                        "recv={} rate={}/s",
                        count(self.received),
                        count(self.recv_rate as u64)
                    ));
                    if let Some(p99) = self.p99_us {
                        fields.push(format!("p99={}ms", ms(p99)));
                    }
                }
                if self.phase == Phase::Draining {
                    fields.push("draining".into());
                }
            }
        }
        fields.push(format!("errors={}", self.errors));
        fields.join(" ")
    }

    /// The bar's message: short enough for an 80-column terminal.
    fn short(&self, plan: &Plan, clients: usize) -> String {
        let mut parts = Vec::new();
        match self.phase {
            Phase::Connecting => parts.push(format!("connecting {}/{clients}", self.connected)),
            Phase::Holding => parts.push(format!("holding {}", self.connected.saturating_sub(self.dropped))),
            Phase::Closing => parts.push("closing".into()),
            Phase::Running | Phase::Draining => {
                if plan.publishers > 0 {
                    parts.push(format!("sent {} {}/s", si(self.sent as f64), si(self.send_rate)));
                }
                if plan.subscribers > 0 {
                    parts.push(format!(
                        "recv {} {}/s",
                        si(self.received as f64),
                        si(self.recv_rate)
                    ));
                    if let Some(p99) = self.p99_us {
                        parts.push(format!("p99 {:.1}ms", p99 as f64 / 1000.0));
                    }
                }
                if self.phase == Phase::Draining {
                    parts.push("draining".into());
                }
            }
        }
        let problems = self.errors + self.failed;
        if problems > 0 {
            parts.push(format!("errors {problems}"));
        }
        parts.join(" | ")
    }
}

/// 1234567 as `1.23M`.
fn si(x: f64) -> String {
    match x {
        x if x < 1e3 => format!("{x:.0}"),
        x if x < 1e6 => format!("{:.1}k", x / 1e3),
        x if x < 1e9 => format!("{:.2}M", x / 1e6),
        x => format!("{:.2}G", x / 1e9),
    }
}

async fn ticker(
    shared: Arc<Shared>,
    plan: Plan,
    interval: Duration,
    stderr: bool,
    bar: Option<ProgressBar>,
    done: Arc<Signal>,
) {
    let begun = Instant::now();
    // Rates over the last second or so (several ticks of the bar), not just the last tick.
    let window = (Duration::from_secs(1).as_millis() / interval.as_millis().max(1)).max(1) as usize;
    let mut history = std::collections::VecDeque::from([(Instant::now(), 0u64, 0u64)]);
    let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = done.wait() => return,
            _ = ticks.tick() => {}
        }
        let now = Instant::now();
        let (sent, received) = (shared.sent.get(), shared.received.get());
        let (then, sent_then, received_then) = history[0];
        let seconds = now.duration_since(then).as_secs_f64().max(1e-6);
        history.push_back((now, sent, received));
        if history.len() > window {
            history.pop_front();
        }
        let phase = shared.phase();
        let p99 = Percentiles::of(&shared.latency.merged()).p99;
        let snapshot = Snapshot {
            phase,
            sent,
            received,
            send_rate: (sent - sent_then) as f64 / seconds,
            recv_rate: (received - received_then) as f64 / seconds,
            p99_us: (p99 > 0).then_some(p99),
            connected: shared.connected(),
            failed: shared.failures(),
            dropped: shared.dropped.load(std::sync::atomic::Ordering::Relaxed),
            errors: shared.errors.count(),
        };
        match &bar {
            Some(bar) => {
                bar.set_position(position(&shared, &plan, phase, sent));
                bar.set_message(snapshot.short(&plan, shared.clients));
            }
            None => emit(
                stderr,
                &format!(
                    "t={:.1}s {}",
                    begun.elapsed().as_secs_f64(),
                    snapshot.line(&plan, shared.clients)
                ),
            ),
        }
    }
}

/// Where the bar stands, 0..STEPS.
fn position(shared: &Shared, plan: &Plan, phase: Phase, sent: u64) -> u64 {
    let fraction = match phase {
        Phase::Connecting => shared.connected() as f64 / shared.clients.max(1) as f64,
        Phase::Draining | Phase::Closing => 1.0,
        Phase::Running | Phase::Holding => match (plan.messages, plan.duration, shared.started.get()) {
            (Some(total), _, _) if total > 0 => sent as f64 / total as f64,
            (_, Some(d), Some(started)) => started.elapsed().as_secs_f64() / d.as_secs_f64().max(1e-3),
            _ => 0.0,
        },
    };
    (fraction.clamp(0.0, 1.0) * STEPS as f64) as u64
}
