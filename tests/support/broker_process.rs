//! Starts `robustmq serve` as a child process and reads where it listens from its own log.
//!
//! Harnesses bind every listener and the metrics endpoint to port 0, so the broker holds the
//! port the kernel gives it from the start. Picking a free port in the test and handing it to
//! the broker instead leaves a window in which any other process on the machine can take it,
//! and the broker then fails with "Address already in use".
//!
//! The broker logs one INFO line per listener, in configuration order, once it is bound; then
//! the metrics endpoint; then "robustmq started" once everything is served:
//!
//! ```text
//! ... INFO robustmq::server: listening for MQTT listener=127.0.0.1:42089 protocol=mqtt allow_anonymous=true
//! ... INFO robustmq::server: listening for MQTT listener=/tmp/x/robustmq.sock protocol=unix allow_anonymous=true
//! ... INFO robustmq::server: serving Prometheus metrics at /metrics listen=127.0.0.1:41973
//! ... INFO robustmq::cmd::serve: robustmq started version="0.1.0" data_dir=/tmp/x/data
//! ```
//!
//! So the broker must log at `info` or finer: `RUST_LOG` would override `--log-level`, and
//! [`start`] removes it (and colours, which would split the fields).

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A port that was free a moment ago (bind 127.0.0.1:0, read the port, let it go): for
/// Mosquitto, which cannot bind port 0 and say which port it got, or for a port nothing listens
/// on. Not for robustmq, which binds port 0 itself (see the module doc).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// One listener the broker logged, in configuration order.
#[derive(Debug, Clone)]
pub struct Listener {
    /// `mqtt`, `mqtts`, `ws`, `wss` or `unix`.
    pub protocol: String,
    /// The bound address, or the socket path of a `unix` listener.
    pub at: String,
}

/// Where a started broker listens.
#[derive(Debug, Clone)]
pub struct Bound {
    /// In the order of the configuration's `[[listeners]]` (or `--listen` flags).
    pub listeners: Vec<Listener>,
    /// The Prometheus endpoint, when `[metrics] listen` is set.
    pub metrics: Option<SocketAddr>,
}

impl Bound {
    /// The address of listener `index` (configuration order), which must be a TCP one of
    /// `protocol`: a mismatch means the configuration and the test disagree on the roles.
    pub fn addr(&self, index: usize, protocol: &str) -> SocketAddr {
        let listener = self
            .listeners
            .get(index)
            .unwrap_or_else(|| panic!("no listener {index} in {:?}", self.listeners));
        assert_eq!(
            listener.protocol, protocol,
            "listener {index} is not {protocol}: {:?}",
            self.listeners
        );
        listener
            .at
            .parse()
            .unwrap_or_else(|e| panic!("listener {index} at {:?} is not an address: {e}", listener.at))
    }

    /// The port of listener `index`; see [`Bound::addr`].
    pub fn port(&self, index: usize, protocol: &str) -> u16 {
        self.addr(index, protocol).port()
    }

    /// The port of the metrics endpoint.
    pub fn metrics_port(&self) -> u16 {
        self.metrics
            .expect("the broker logged no metrics endpoint ([metrics] listen is not set)")
            .port()
    }
}

/// Spawns `serve` (a `robustmq serve` command whose listeners bind port 0) with its stderr
/// appended to `log`, and waits up to `timeout` until it has started. On failure the process
/// is killed and the error says why, with what it logged.
pub fn start(serve: &mut Command, log: &Path, timeout: Duration) -> Result<(Child, Bound), String> {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open the broker log {}: {e}", log.display()))?;
    // Only what this start logs counts: a restart may append to the log of an earlier one.
    let from = stderr.metadata().map(|m| m.len()).unwrap_or(0) as usize;
    // Only what the test hands the broker counts, never a configuration installed in /etc;
    // a test of the system configuration sets its own.
    if !serve.get_envs().any(|(key, _)| key == "ROBUSTMQ_SYSTEM_CONFIG") {
        serve.env("ROBUSTMQ_SYSTEM_CONFIG", "");
    }
    let mut child = serve
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {serve:?}: {e}"))?;
    let logged = || {
        let bytes = std::fs::read(log).unwrap_or_default();
        String::from_utf8_lossy(bytes.get(from..).unwrap_or_default()).into_owned()
    };
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(bound) = parse(&logged()) {
            return Ok((child, bound));
        }
        let failure = match child.try_wait() {
            Ok(Some(status)) => Some(format!("the broker exited ({status}) before it started")),
            Err(e) => Some(format!("cannot wait for the broker: {e}")),
            Ok(None) if Instant::now() >= deadline => Some(format!(
                "the broker did not log \"robustmq started\" within {timeout:?} \
                 (its listeners are read from INFO lines: is the log level info or finer?)"
            )),
            Ok(None) => None,
        };
        if let Some(failure) = failure {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{failure}; its log:\n{}", logged()));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The listeners in `log`, once it has the line that says the broker started.
fn parse(log: &str) -> Option<Bound> {
    let mut listeners = Vec::new();
    let mut metrics = None;
    let mut started = false;
    for line in log.lines() {
        if let Some((_, fields)) = line.split_once(": listening for MQTT listener=") {
            // A socket path may hold spaces; the protocol field follows it.
            let (at, rest) = fields.rsplit_once(" protocol=")?;
            let protocol = rest.split_whitespace().next()?;
            listeners.push(Listener {
                protocol: protocol.to_string(),
                at: at.to_string(),
            });
        } else if let Some((_, fields)) = line.split_once(": serving Prometheus metrics at /metrics listen=")
        {
            metrics = Some(fields.split_whitespace().next()?.parse().ok()?);
        } else if line.contains(": robustmq started") {
            started = true;
        }
    }
    started.then_some(Bound { listeners, metrics })
}
