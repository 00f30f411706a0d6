//! `robustmq bench conn|pub|sub|pubsub`: check the flags, run the load on its own runtime, print
//! the table or the JSON (and the comparison with a baseline), and pick the exit code.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;

use crate::bench::compare::compare;
use crate::bench::conn::ConnSettings;
use crate::bench::header::HEADER_LEN;
use crate::bench::progress::{ProgressSettings, Style};
use crate::bench::report::{percent, Report};
use crate::bench::verdict::{judge, Failure};
use crate::bench::{self, BenchError, ConnectProblem, Load, Settings, Target, Work};
use crate::cli::{BenchArgs, BenchCommand, BenchConnArgs, BenchLoadArgs, BenchOutputArgs};
use crate::client::topic::{check_topic_filter, check_topic_name};
use crate::client::ConnectOptions;
use crate::exit::Exit;
use crate::protocol::QoS;

/// Publishing time when neither -d nor -n is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// The largest payload a bench message may have (what MQTT allows, less room for the rest).
const MAX_PAYLOAD: usize = 256 * 1024 * 1024 - 1024;

/// What to run, once the flags are checked.
enum Job {
    Conn(ConnSettings),
    Load(Settings),
}

/// Runs a `robustmq bench` subcommand.
pub fn run(args: BenchArgs) -> ExitCode {
    let (job, output) = match prepare(args.command) {
        Ok(prepared) => prepared,
        Err(e) => return fail(Exit::Usage, &format!("{e:#}")),
    };
    let baseline = match &output.compare {
        Some(path) => match read_baseline(path) {
            Ok(v) => Some((v, path.display().to_string())),
            Err(e) => return fail(Exit::Usage, &format!("{e:#}")),
        },
        None => None,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = output.threads {
        builder.worker_threads(usize::from(threads));
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(Exit::Failed, &format!("cannot start the runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match &job {
            Job::Conn(settings) => bench::conn::run(settings).await,
            Job::Load(settings) => bench::run::run(settings).await,
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(report) => finish(report, &output, baseline),
        Err(e) => fail(error_code(&e), &e.to_string()),
    }
}

fn fail(exit: Exit, message: &str) -> ExitCode {
    eprintln!("robustmq bench: {message}");
    ExitCode::from(exit)
}

fn error_code(e: &BenchError) -> Exit {
    match e {
        BenchError::Connect { problem, .. } => problem_code(*problem),
        BenchError::Subscribe { .. } => Exit::Rejected,
        BenchError::Interrupted => Exit::Failed,
    }
}

fn problem_code(problem: ConnectProblem) -> Exit {
    match problem {
        ConnectProblem::Unreachable => Exit::Unreachable,
        ConnectProblem::Refused => Exit::Refused,
        ConnectProblem::Timeout => Exit::Timeout,
        ConnectProblem::Other => Exit::Failed,
    }
}

fn read_baseline(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the baseline {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "the baseline {} is not the JSON of `robustmq bench --json`",
            path.display()
        )
    })?;
    anyhow::ensure!(
        value.get("command").is_some_and(|c| c.is_string()),
        "the baseline {} is not the JSON of `robustmq bench --json` (no \"command\")",
        path.display()
    );
    Ok(value)
}

/// Prints the verdict and the results (and the comparison); the exit code follows the verdict.
fn finish(
    mut report: Report,
    output: &BenchOutputArgs,
    baseline: Option<(serde_json::Value, String)>,
) -> ExitCode {
    let comparison =
        baseline.map(|(baseline, name)| compare(&baseline, &report.to_json(), &name, output.threshold));
    let regressions = comparison.as_ref().map_or(&[][..], |c| &c.regressions[..]);
    let verdict = judge(&report, regressions, output.threshold);
    report.passed = verdict.passed();
    report.verdict = verdict.line.clone();
    let text = if output.json {
        format!("{}\n", report.to_json())
    } else {
        report.table()
    };
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
        return ExitCode::from(Exit::Failed);
    }
    if let Some(comparison) = &comparison {
        if output.json {
            eprint!("{}", comparison.text);
        } else {
            let _ = writeln!(out);
            let _ = out.write_all(comparison.text.as_bytes());
        }
    }
    drop(out);
    // One line on stderr for what decides the exit code, as for every other failure.
    match verdict.failures.first() {
        None => ExitCode::SUCCESS,
        Some(Failure::Connect) => {
            let first = report.error_kinds.first().map_or("", |k| k.error.as_str());
            eprintln!(
                "robustmq bench: {} of {} clients could not connect: {first}",
                report.connect_failures, report.clients
            );
            ExitCode::from(Exit::Unreachable)
        }
        Some(Failure::Errors) => {
            let first = report.error_kinds.first().map_or("", |k| k.error.as_str());
            eprintln!(
                "robustmq bench: {} errors during the run, the most frequent: {first}",
                report.errors
            );
            ExitCode::from(Exit::Failed)
        }
        Some(Failure::Lost) => {
            // The broker's promise broken: acknowledged, then never delivered.
            eprintln!(
                "robustmq bench: {} messages the broker acknowledged never arrived (QoS {})",
                report.lost,
                report.qos.unwrap_or(0)
            );
            ExitCode::from(Exit::Failed)
        }
        Some(Failure::Regressed) => {
            let worse: Vec<String> = regressions
                .iter()
                .map(|r| format!("{} {:+.1}%", r.figure, r.change))
                .collect();
            eprintln!(
                "robustmq bench: worse than the baseline beyond ±{}%: {}",
                percent(output.threshold),
                worse.join(", ")
            );
            ExitCode::from(Exit::Regressed)
        }
    }
}

fn prepare(command: BenchCommand) -> anyhow::Result<(Job, BenchOutputArgs)> {
    Ok(match command {
        BenchCommand::Conn(a) => {
            let mut target = target(&a.conn)?;
            target.connect_rate = a.rate;
            let settings = ConnSettings {
                target,
                clients: a.clients as usize,
                hold: a.duration,
                progress: progress(&a.output),
                broker_pid: a.output.broker_pid,
                bystander_rate: a.bystander_rate,
            };
            (Job::Conn(settings), a.output)
        }
        BenchCommand::Pub(a) => {
            check_topic_name(&a.topic.replace("%i", "0"))
                .map_err(|why| anyhow::anyhow!("invalid topic {}: {why}", a.topic))?;
            let settings = Settings {
                target: load_target(&a.conn, &a.load)?,
                load: load(&a.load)?,
                work: Work::Publish { topic: a.topic },
                publishers: a.clients as usize,
                subscribers: 0,
                stalled: 0,
                progress: progress(&a.output),
                broker_pid: a.output.broker_pid,
            };
            (Job::Load(settings), a.output)
        }
        BenchCommand::Sub(a) => {
            check_topic_filter(&a.topic.replace("%i", "0"))
                .map_err(|why| anyhow::anyhow!("invalid topic filter {}: {why}", a.topic))?;
            let mut target = target(&a.conn)?;
            target.connect_rate = a.connect_rate;
            let settings = Settings {
                target,
                load: Load {
                    qos: qos(a.qos),
                    payload_size: HEADER_LEN,
                    rate: 0.0,
                    inflight: 1,
                    duration: a.duration,
                    count: a.count,
                    drain: Duration::ZERO,
                },
                work: Work::Subscribe { filter: a.topic },
                publishers: 0,
                subscribers: a.clients as usize,
                stalled: 0,
                progress: progress(&a.output),
                broker_pid: a.output.broker_pid,
            };
            (Job::Load(settings), a.output)
        }
        BenchCommand::Pubsub(a) => {
            let (mut publishers, mut subscribers) = a.scenario.default_counts(a.clients as usize);
            publishers = a.publishers.map_or(publishers, |n| n as usize);
            subscribers = a.subscribers.map_or(subscribers, |n| n as usize);
            if a.scenario == bench::scenario::Scenario::P2p && publishers != subscribers {
                anyhow::bail!("p2p pairs publishers with subscribers: --publishers ({publishers}) and --subscribers ({subscribers}) must be equal");
            }
            check_topic_name(&format!("{}/x", a.topic))
                .map_err(|why| anyhow::anyhow!("invalid topic prefix {}: {why}", a.topic))?;
            let settings = Settings {
                target: load_target(&a.conn, &a.load)?,
                load: load(&a.load)?,
                work: Work::Scenario {
                    scenario: a.scenario,
                    prefix: a.topic,
                },
                publishers,
                subscribers,
                stalled: a.stalled_subscribers as usize,
                progress: progress(&a.output),
                broker_pid: a.output.broker_pid,
            };
            (Job::Load(settings), a.output)
        }
    })
}

fn qos(q: u8) -> QoS {
    QoS::from_u8(q).unwrap_or(QoS::AtMostOnce)
}

fn target(a: &BenchConnArgs) -> anyhow::Result<Target> {
    let mut options = ConnectOptions::new(
        a.host.clone(),
        a.port.unwrap_or_else(|| a.tls.default_port()),
        a.protocol_version,
    );
    options.keep_alive = a.login.keepalive;
    if let Some(expiry) = a.session_expiry {
        options.clean_start = false;
        options.session_expiry = expiry;
    }
    options.username = a.login.username.as_deref().map(Arc::from);
    options.password = a.login.password.clone().map(Bytes::from);
    options.connect_timeout = a.connect_timeout.max(Duration::from_millis(1));
    options.tls = crate::cmd::common::tls_config(&a.tls, false).map_err(|f| anyhow::anyhow!(f.message))?;
    let id_prefix = a
        .id_prefix
        .clone()
        .unwrap_or_else(|| format!("rmqb-{}", std::process::id()));
    anyhow::ensure!(
        !id_prefix.is_empty() && id_prefix.len() <= 1024,
        "the client id prefix must be 1 to 1024 bytes"
    );
    Ok(Target {
        options,
        id_prefix,
        connect_rate: 0.0,
        connect_concurrency: a.connect_concurrency as usize,
    })
}

fn load_target(a: &BenchConnArgs, load: &BenchLoadArgs) -> anyhow::Result<Target> {
    let mut target = target(a)?;
    target.connect_rate = load.connect_rate;
    Ok(target)
}

fn load(a: &BenchLoadArgs) -> anyhow::Result<Load> {
    anyhow::ensure!(
        (HEADER_LEN..=MAX_PAYLOAD).contains(&a.size),
        "-s/--size must be {HEADER_LEN} bytes (the bench header) to 256 MiB, not {}",
        a.size
    );
    Ok(Load {
        qos: qos(a.qos),
        payload_size: a.size,
        rate: a.rate,
        inflight: a.inflight,
        duration: a.duration.or(if a.count.is_some() {
            None
        } else {
            Some(DEFAULT_DURATION)
        }),
        count: a.count,
        drain: a.drain,
    })
}

/// Progress on stdout, or stderr when stdout carries the JSON: a bar on a terminal, lines
/// otherwise.
fn progress(a: &BenchOutputArgs) -> ProgressSettings {
    let terminal = if a.json {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    ProgressSettings {
        style: match (a.quiet, terminal) {
            (true, _) => Style::Off,
            (false, true) => Style::Bar,
            (false, false) => Style::Lines,
        },
        interval: a.interval,
        stderr: a.json,
    }
}
