//! Test plumbing: the broker under test on a free port, child processes with deadlines and
//! captured output, and the check that the external tools are installed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use super::broker_process::{self, free_port};

/// How long a test waits for one thing that should happen (a line, an exit, a connection).
pub const WAIT: Duration = Duration::from_secs(10);
/// Upper bound for any child process that should finish on its own (a whole paho script).
pub const PROCESS_LIMIT: Duration = Duration::from_secs(60);

/// What to tell the user when a tool is missing.
pub const SETUP_HINT: &str =
    "run `.ci/setup-test-deps.sh` (as root) to install the interop test dependencies";

/// Starts `cmd` only to see whether it exists and succeeds.
fn probe(what: &str, cmd: &mut Command, must_succeed: bool) -> Result<(), String> {
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() || !must_succeed => Ok(()),
        Ok(s) => Err(format!("{what} is not usable ({s}): {SETUP_HINT}")),
        Err(e) => Err(format!("{what} is missing ({e}): {SETUP_HINT}")),
    }
}

/// Fails the test unless `mosquitto_pub`, `mosquitto_sub` and `stdbuf` are installed.
pub fn require_mosquitto_clients() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECK.get_or_init(|| {
        probe(
            "mosquitto_pub",
            Command::new("mosquitto_pub").arg("--help"),
            false,
        )?;
        probe(
            "mosquitto_sub",
            Command::new("mosquitto_sub").arg("--help"),
            false,
        )?;
        probe("stdbuf", Command::new("stdbuf").arg("--version"), true)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Fails the test unless `python3` can import paho-mqtt 2.x.
pub fn require_paho() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECK.get_or_init(|| {
        probe(
            "python3 with paho-mqtt 2.x (`python3 -c 'import paho.mqtt'`)",
            Command::new("python3").args([
                "-c",
                "import sys, paho.mqtt; sys.exit(0 if paho.mqtt.__version__.startswith('2.') else 1)",
            ]),
            true,
        )
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Which broker the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    /// The binary built from this crate.
    Robustmq,
    /// Mosquitto, as a spec-compliant reference (`INTEROP_REFERENCE_BROKER=mosquitto`).
    Mosquitto,
}

impl BrokerKind {
    fn from_env() -> BrokerKind {
        match std::env::var("INTEROP_REFERENCE_BROKER").as_deref() {
            Ok("mosquitto") => BrokerKind::Mosquitto,
            Ok("") | Ok("robustmq") | Err(_) => BrokerKind::Robustmq,
            Ok(other) => panic!("INTEROP_REFERENCE_BROKER={other}: expected `mosquitto`"),
        }
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(cannot read {}: {e})", path.display()))
}

/// Sends a signal (by name, e.g. `TERM`) with the shell's `kill` builtin.
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("sh")
        .args(["-c", "kill -s \"$0\" \"$1\"", signal, &pid.to_string()])
        .status()
        .expect("run sh -c kill");
    assert!(status.success(), "kill -s {signal} {pid} failed: {status}");
}

/// Polls `child` until it exits or `timeout` passes.
fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The broker under test, running as a child process. Dropping it kills it; if the test is
/// failing, the broker's log is printed so the failure can be diagnosed.
pub struct Broker {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
    kind: BrokerKind,
    _dir: Option<tempfile::TempDir>,
}

impl Broker {
    /// Starts the broker on a free port and waits until it accepts connections.
    pub fn start() -> Broker {
        Broker::start_kind(BrokerKind::from_env(), "")
    }

    /// Starts Mosquitto, whatever broker the tests run against (a bridge's remote).
    pub fn start_mosquitto() -> Broker {
        Broker::start_kind(BrokerKind::Mosquitto, "")
    }

    /// Starts Mosquitto with `extra` lines added to its configuration (a bridge of its own).
    pub fn start_mosquitto_with(extra: &str) -> Broker {
        Broker::start_kind(BrokerKind::Mosquitto, extra)
    }

    fn start_kind(kind: BrokerKind, extra: &str) -> Broker {
        let dir = tempfile::Builder::new()
            .prefix("robustmq-interop-")
            .tempdir()
            .expect("temp dir");
        if kind == BrokerKind::Robustmq {
            return Broker::start_robustmq(dir, "");
        }
        // Mosquitto binds the port it is given: another process may take it first, then
        // another port is tried.
        let mut failures = Vec::new();
        for attempt in 1..=5 {
            let port = free_port();
            let log = dir.path().join(format!("broker-{attempt}.log"));
            let mut child = spawn_mosquitto(port, dir.path(), &log, extra);
            match wait_ready(&mut child, port) {
                Ok(()) => {
                    return Broker {
                        child: Some(child),
                        port,
                        log,
                        kind,
                        _dir: Some(dir),
                    }
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    failures.push(format!(
                        "attempt {attempt} on port {port}: {why}\n{}",
                        read_log(&log)
                    ));
                }
            }
        }
        panic!("the {kind:?} broker did not start:\n{}", failures.join("\n"));
    }

    /// Starts robustmq with `config` (TOML) added to a listener on port 0.
    pub fn start_robustmq_with(config: &str) -> Broker {
        let dir = tempfile::Builder::new()
            .prefix("robustmq-interop-")
            .tempdir()
            .expect("temp dir");
        let mut broker = Broker::start_robustmq_in(dir.path(), 0, config);
        broker._dir = Some(dir);
        broker
    }

    /// `robustmq serve` on port 0, so no other process can take its port first; `config` is
    /// more of its configuration file.
    fn start_robustmq(dir: tempfile::TempDir, config: &str) -> Broker {
        let mut broker = Broker::start_robustmq_in(dir.path(), 0, config);
        broker._dir = Some(dir);
        broker
    }

    /// robustmq with its data and log in `dir`, which outlives it (a restart finds its store
    /// there), listening on `port` (0: any free one).
    pub fn start_robustmq_in(dir: &Path, port: u16, config: &str) -> Broker {
        // One log per start: a restarted broker's log follows its predecessor's.
        let starts = std::fs::read_dir(dir).map_or(0, |d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("broker-"))
                .count()
        });
        let log = dir.join(format!("broker-{starts}.log"));
        let file = dir.join("robustmq.toml");
        let data = dir.join("data");
        std::fs::write(
            &file,
            format!(
                "[server]\ndata_dir = {:?}\nsys_interval = \"1s\"\n\n[[listeners]]\nbind = \"127.0.0.1:{port}\"\n\n{config}",
                data.display().to_string()
            ),
        )
        .expect("write robustmq.toml");
        let mut serve = Command::new(env!("CARGO_BIN_EXE_robustmq"));
        serve
            .arg("serve")
            .arg("--config")
            .arg(&file)
            .arg("--log-level")
            .arg("debug");
        let (child, bound) = broker_process::start(&mut serve, &log, WAIT)
            .unwrap_or_else(|e| panic!("the Robustmq broker did not start: {e}"));
        Broker {
            child: Some(child),
            port: bound.port(0, "mqtt"),
            log,
            kind: BrokerKind::Robustmq,
            _dir: None,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything the broker has logged so far.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("the broker is still running")
    }

    /// Sends a signal (`TERM`, `INT`, ...) to the broker.
    pub fn signal(&mut self, signal: &str) {
        let pid = self.child().id();
        send_signal(pid, signal);
    }

    /// Waits for the broker to exit; fails the test if it does not within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let status = wait_child(self.child(), timeout);
        match status {
            Some(status) => {
                self.child = None;
                status
            }
            None => panic!("the broker did not exit within {timeout:?}"),
        }
    }

    /// Stops the broker with SIGTERM and checks it exits with code 0 and logged no panic.
    pub fn stop(mut self) {
        self.signal("TERM");
        let status = self.wait_exit(WAIT);
        assert_eq!(
            status.code(),
            Some(0),
            "the broker should exit with code 0 after SIGTERM, got {status}"
        );
        let log = self.log();
        assert!(
            !log.contains("panicked"),
            "the broker logged a panic (see the log below)"
        );
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() {
            eprintln!(
                "---- {:?} broker log ({}) ----\n{}---- end of broker log ----",
                self.kind,
                self.log.display(),
                read_log(&self.log)
            );
        }
    }
}

fn spawn_mosquitto(port: u16, dir: &Path, log: &Path, extra: &str) -> Child {
    let stderr = std::fs::File::create(log).expect("create the broker log file");
    let conf = dir.join(format!("mosquitto-{port}.conf"));
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nlog_type all\n{extra}"),
    )
    .expect("write mosquitto.conf");
    Command::new("mosquitto")
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the Mosquitto broker: {e}"))
}

fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("the broker exited: {status}"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("port {port} not accepting connections after {WAIT:?}"));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A child process whose stdout arrives line by line and whose whole output is kept for
/// failure messages. Dropping it kills the process.
pub struct Proc {
    name: String,
    child: Child,
    lines: Receiver<String>,
    output: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr captured; `stdin`, when given, is written and closed.
    pub fn spawn(name: impl Into<String>, cmd: &mut Command, stdin: Option<String>) -> Proc {
        let name = name.into();
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}; {SETUP_HINT}"));
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            thread::spawn(move || {
                let _ = pipe.write_all(input.as_bytes());
            });
        }
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let stdout: ChildStdout = child.stdout.take().expect("stdout pipe");
        let out = output.clone();
        let stdout_reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                out.lock().unwrap().push_str(&format!("{line}\n"));
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr pipe");
        let out = output.clone();
        let stderr_reader = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            let text = String::from_utf8_lossy(&buf);
            let mut out = out.lock().unwrap();
            for line in text.lines() {
                out.push_str(&format!("[stderr] {line}\n"));
            }
        });
        Proc {
            name,
            child,
            lines,
            output,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The output so far: stdout lines, then stderr lines prefixed with `[stderr]` (stderr is
    /// complete only once the process has exited).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// The next stdout line; `None` once stdout is closed. Fails the test after `timeout`.
    pub fn next_line(&mut self, timeout: Duration, waiting_for: &str) -> Option<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!(
                "{}: no output within {timeout:?} while waiting for {waiting_for}; output so far:\n{}",
                self.name,
                self.output()
            ),
        }
    }

    /// Like [`Proc::next_line`], but returns `Err(())` on timeout instead of failing.
    pub fn try_next_line(&mut self, timeout: Duration) -> Result<Option<String>, ()> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(Some(line)),
            Err(RecvTimeoutError::Disconnected) => Ok(None),
            Err(RecvTimeoutError::Timeout) => Err(()),
        }
    }

    /// Waits for the process to exit (killing it and failing the test after `timeout`), then
    /// for its output to be fully read.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let Some(status) = wait_child(&mut self.child, timeout) else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.join_readers();
            panic!(
                "{} did not finish within {timeout:?}; killed it. Output:\n{}",
                self.name,
                self.output()
            );
        };
        self.join_readers();
        status
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.join_readers();
    }

    /// Waits (boundedly: a grandchild may hold a pipe open) until the output is fully read.
    fn join_readers(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.readers.iter().any(|r| !r.is_finished()) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        for reader in self.readers.drain(..) {
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
