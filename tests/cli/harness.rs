//! Test plumbing: a broker (robustmq or Mosquitto) per test on a free port, the `robustmq`
//! binary under assert_cmd, a running `robustmq sub` that says when it is subscribed, and a
//! scripted fake broker for the failures a real broker will not produce on demand.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdin, Command as StdCommand, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command;

use super::broker_process::{self, free_port};

/// How long a test waits for one thing that should happen.
pub const WAIT: Duration = Duration::from_secs(10);

/// What to tell the user when Mosquitto is missing.
const SETUP_HINT: &str = "run `.ci/setup-test-deps.sh` (as root) to install the test dependencies";

/// Which broker a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `robustmq serve`, the binary built from this crate.
    Robustmq,
    /// Debian's `mosquitto`, as an independent reference.
    Mosquitto,
}

/// Fails the test (never skips it) unless Mosquitto's broker and clients are installed.
pub fn require_mosquitto() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let check = CHECK.get_or_init(|| {
        for (tool, arg) in [
            ("mosquitto", "-h"),
            ("mosquitto_pub", "--help"),
            ("mosquitto_sub", "--help"),
        ] {
            let found = StdCommand::new(tool)
                .arg(arg)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if let Err(e) = found {
                return Err(format!("{tool} is missing ({e}): {SETUP_HINT}"));
            }
        }
        Ok(())
    });
    if let Err(e) = check {
        panic!("{e}");
    }
}

/// A broker on a free loopback port, killed on drop (its log is printed if the test failed).
pub struct Broker {
    child: Child,
    port: u16,
    kind: Kind,
    dir: tempfile::TempDir,
    /// The extra configuration it was started with, for a restart.
    extra: String,
}

impl Broker {
    /// Starts a broker with default settings (anonymous clients allowed).
    pub fn start(kind: Kind) -> Broker {
        Broker::start_with(kind, "")
    }

    /// Starts a broker with extra configuration: TOML under the `[[listeners]]` table for
    /// robustmq, lines of mosquitto.conf for Mosquitto.
    pub fn start_with(kind: Kind, extra: &str) -> Broker {
        if kind == Kind::Mosquitto {
            require_mosquitto();
        }
        let dir = tempfile::Builder::new()
            .prefix("robustmq-cli-")
            .tempdir()
            .expect("temp dir");
        if kind == Kind::Robustmq {
            return Broker::start_robustmq(dir, extra);
        }
        // Mosquitto binds the port it is given: another process may take it first, then
        // another port is tried.
        let mut failures = Vec::new();
        for attempt in 1..=5 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("broker.log")).expect("broker log");
            let conf = dir.path().join("mosquitto.conf");
            let text = format!("listener {port} 127.0.0.1\nallow_anonymous true\n{extra}\n");
            std::fs::write(&conf, text).expect("write mosquitto.conf");
            let mut child = StdCommand::new("mosquitto")
                .arg("-c")
                .arg(conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start Mosquitto: {e}; {SETUP_HINT}"));
            match wait_ready(&mut child, port) {
                Ok(()) => {
                    return Broker {
                        child,
                        port,
                        kind,
                        dir,
                        extra: extra.to_string(),
                    }
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    failures.push(format!(
                        "attempt {attempt} on port {port}: {why}\n{}",
                        log_of(dir.path())
                    ));
                }
            }
        }
        panic!("{kind:?} did not start:\n{}", failures.join("\n"));
    }

    /// `robustmq serve` with its listener on port 0, so no other process can take its port
    /// first.
    fn start_robustmq(dir: tempfile::TempDir, extra: &str) -> Broker {
        let (child, port) = spawn_robustmq(dir.path(), 0, extra);
        Broker {
            child,
            port,
            kind: Kind::Robustmq,
            dir,
            extra: extra.to_string(),
        }
    }

    /// `robustmq serve` with a plain listener and an `mqtts` one using the certificates of
    /// `robustmq certs init` in `certs`; returns the broker and the TLS port.
    pub fn start_tls(certs: &Path) -> (Broker, u16) {
        let dir = tempfile::Builder::new()
            .prefix("robustmq-cli-")
            .tempdir()
            .expect("temp dir");
        let extra = format!(
            "[[listeners]]\nbind = \"127.0.0.1:0\"\nprotocol = \"mqtts\"\ncert = \"{}\"\nkey = \"{}\"\n",
            certs.join("server.crt").display(),
            certs.join("server.key").display()
        );
        let (child, bound) = spawn_robustmq_bound(dir.path(), 0, &extra);
        let tls_port = bound.port(1, "mqtts");
        let broker = Broker {
            child,
            port: bound.port(0, "mqtt"),
            kind: Kind::Robustmq,
            dir,
            extra,
        };
        (broker, tls_port)
    }

    /// Stops the broker as a service manager would (SIGTERM) and waits until it has exited.
    pub fn stop(&mut self) {
        let status = StdCommand::new("kill")
            .args(["-s", "TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s TERM failed: {status}");
        let deadline = Instant::now() + WAIT;
        while self.child.try_wait().expect("try_wait").is_none() {
            assert!(
                Instant::now() < deadline,
                "the broker did not stop within {WAIT:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the broker and starts it again on the same port, with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.child = match self.kind {
            Kind::Robustmq => spawn_robustmq(self.dir.path(), self.port, &self.extra).0,
            Kind::Mosquitto => {
                let log = std::fs::OpenOptions::new()
                    .append(true)
                    .open(self.dir.path().join("broker.log"))
                    .expect("broker log");
                let mut child = StdCommand::new("mosquitto")
                    .arg("-c")
                    .arg(self.dir.path().join("mosquitto.conf"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .expect("restart Mosquitto");
                wait_ready(&mut child, self.port).expect("Mosquitto restarted");
                child
            }
        };
    }

    /// The broker's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A directory that lives as long as the broker.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `robustmq pub -h 127.0.0.1 -p PORT ARGS...`.
    pub fn publish(&self, args: &[&str]) -> Command {
        client("pub", self.port, args)
    }

    /// `robustmq sub -h 127.0.0.1 -p PORT ARGS...`, run to completion.
    pub fn subscribe(&self, args: &[&str]) -> Command {
        client("sub", self.port, args)
    }

    /// `robustmq sub -d ...` in the background, returned once its SUBACK has arrived.
    pub fn spawn_sub(&self, args: &[&str]) -> Running {
        Running::spawn_sub(self.port, args)
    }
}

/// `robustmq serve` with its data and log in `dir`, listening on `port` (0: any free port);
/// returns the process and the port it listens on.
fn spawn_robustmq(dir: &Path, port: u16, extra: &str) -> (Child, u16) {
    let (child, bound) = spawn_robustmq_bound(dir, port, extra);
    (child, bound.port(0, "mqtt"))
}

/// [`spawn_robustmq`], returning where every listener is.
fn spawn_robustmq_bound(dir: &Path, port: u16, extra: &str) -> (Child, broker_process::Bound) {
    let conf = dir.join("robustmq.toml");
    let toml = format!("[[listeners]]\nbind = \"127.0.0.1:{port}\"\n{extra}\n");
    std::fs::write(&conf, toml).expect("write robustmq.toml");
    let mut serve = StdCommand::new(env!("CARGO_BIN_EXE_robustmq"));
    serve
        .arg("serve")
        .arg("--config")
        .arg(&conf)
        .arg("--data-dir")
        .arg(dir.join("data"));
    broker_process::start(&mut serve, &dir.join("broker.log"), WAIT)
        .unwrap_or_else(|e| panic!("Robustmq did not start: {e}"))
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("broker.log")).unwrap_or_default()
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "---- {:?} log ----\n{}---- end ----",
                self.kind,
                log_of(self.dir.path())
            );
        }
    }
}

fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("exited: {status}"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("port {port} not accepting connections after {WAIT:?}"));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// The `robustmq` binary with a deadline, so a hang fails the test instead of stalling it.
pub fn robustmq() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_robustmq"));
    cmd.env_remove("RUST_LOG").timeout(Duration::from_secs(20));
    cmd
}

/// `robustmq SUBCOMMAND -h 127.0.0.1 -p PORT ARGS...`.
/// What `cmd` prints on stdout, once it has succeeded.
pub fn stdout_of(mut cmd: Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).expect("UTF-8 on stdout")
}

pub fn client(subcommand: &str, port: u16, args: &[&str]) -> Command {
    let mut cmd = robustmq();
    cmd.args([subcommand, "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args);
    cmd
}

/// How a background process ended.
#[derive(Debug)]
pub struct Finished {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// All of stdout.
    pub stdout: String,
    /// Stderr lines that are not `-d` packet traces.
    pub errors: String,
}

/// A background process (`robustmq sub -d`, `mosquitto_sub -d`) whose debug output says when
/// it is subscribed. Killed on drop.
pub struct Running {
    child: Child,
    /// Debug lines (stderr for robustmq, stdout for mosquitto_sub) as they arrive.
    lines: Receiver<String>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
    /// The process's stdin, when it was started to read lines from the test.
    stdin: Option<ChildStdin>,
}

impl Running {
    fn spawn(cmd: StdCommand, debug_on_stdout: bool) -> Running {
        Running::spawn_reading(cmd, debug_on_stdout, false)
    }

    /// Starts `cmd`; with `feed`, its stdin is a pipe the test writes lines into.
    fn spawn_reading(mut cmd: StdCommand, debug_on_stdout: bool, feed: bool) -> Running {
        let mut child = cmd
            .stdin(if feed { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}; {SETUP_HINT}"));
        let (tx, lines) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut out_pipe = child.stdout.take().expect("stdout");
        let err_pipe = child.stderr.take().expect("stderr");
        let (out, tx_out) = (stdout.clone(), tx.clone());
        let out_reader = thread::spawn(move || {
            if debug_on_stdout {
                for line in BufReader::new(out_pipe).split(b'\n') {
                    let Ok(line) = line else { break };
                    let _ = tx_out.send(String::from_utf8_lossy(&line).into_owned());
                    out.lock().unwrap().extend_from_slice(&line);
                    out.lock().unwrap().push(b'\n');
                }
            } else {
                let mut buf = Vec::new();
                let _ = out_pipe.read_to_end(&mut buf);
                out.lock().unwrap().extend_from_slice(&buf);
            }
        });
        let err = stderr.clone();
        let err_reader = thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines() {
                let Ok(line) = line else { break };
                err.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        Running {
            stdin: child.stdin.take(),
            child,
            lines,
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
        }
    }

    /// `robustmq pub -d -l` on `port`, reading the lines [`Running::send_line`] writes, once
    /// connected.
    pub fn spawn_pub_lines(port: u16, args: &[&str]) -> Running {
        let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_robustmq"));
        cmd.args(["pub", "-d", "-l", "-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args);
        let mut running = Running::spawn_reading(cmd, false, true);
        running.wait_for("received CONNACK");
        running
    }

    /// Writes one line to the process's stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("started with spawn_pub_lines");
        writeln!(stdin, "{line}").expect("write to stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Closes the process's stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// `robustmq sub -d` on `port`, once subscribed.
    fn spawn_sub(port: u16, args: &[&str]) -> Running {
        let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_robustmq"));
        cmd.args(["sub", "-d", "-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args);
        Running::spawn_with(cmd)
    }

    /// A `robustmq sub -d ...` command line of the caller's, once subscribed.
    pub fn spawn_with(cmd: StdCommand) -> Running {
        let mut running = Running::spawn(cmd, false);
        running.wait_for("received SUBACK");
        running
    }

    /// A `robustmq ... -d` command line of the caller's, started (not waited for).
    pub fn spawn_reading_debug(cmd: StdCommand) -> Running {
        Running::spawn(cmd, false)
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// `mosquitto_sub -d` (line-buffered) on `port`, once subscribed.
    pub fn spawn_mosquitto_sub(port: u16, args: &[&str]) -> Running {
        require_mosquitto();
        let mut cmd = StdCommand::new("stdbuf");
        cmd.args([
            "-oL",
            "mosquitto_sub",
            "-d",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .args(args);
        let mut running = Running::spawn(cmd, true);
        running.wait_for("received SUBACK");
        running
    }

    /// Sends a signal (`INT`, `KILL`, ...) with the shell's `kill`.
    pub fn signal(&self, signal: &str) {
        let status = StdCommand::new("sh")
            .args([
                "-c",
                "kill -s \"$0\" \"$1\"",
                signal,
                &self.child.id().to_string(),
            ])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} failed: {status}");
    }

    /// Waits for a debug line containing `needle`.
    pub fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => {}
                Err(_) => panic!(
                    "no {needle:?} within {WAIT:?}; stdout:\n{}\nstderr:\n{}",
                    String::from_utf8_lossy(&self.stdout.lock().unwrap()),
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// Waits for the process to exit on its own (failing the test after [`WAIT`]).
    pub fn finish(mut self) -> Finished {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "still running after {WAIT:?}; stdout:\n{}\nstderr:\n{}",
                    String::from_utf8_lossy(&self.stdout.lock().unwrap()),
                    self.stderr.lock().unwrap()
                );
            }
            thread::sleep(Duration::from_millis(10));
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let stdout = String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned();
        let errors = self
            .stderr
            .lock()
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("Client "))
            .map(|l| format!("{l}\n"))
            .collect();
        Finished {
            code: status.code(),
            stdout,
            errors,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one MQTT packet: (fixed header byte, body).
pub fn read_packet(stream: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut header = [0u8; 1];
    stream.read_exact(&mut header).ok()?;
    let (mut len, mut shift) = (0usize, 0);
    loop {
        let mut b = [0u8; 1];
        stream.read_exact(&mut b).ok()?;
        len |= usize::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let mut body = vec![0; len];
    stream.read_exact(&mut body).ok()?;
    Some((header[0], body))
}

/// A fake broker for one connection, following `script`; it reads CONNECT first and passes
/// the protocol level (4 or 5) to the script.
pub struct FakeBroker {
    port: u16,
    _thread: thread::JoinHandle<()>,
}

impl FakeBroker {
    /// Starts listening; the script runs for the first connection.
    pub fn start(script: impl FnOnce(&mut TcpStream, u8) + Send + 'static) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let thread = thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let Some((0x10, connect)) = read_packet(&mut stream) else {
                return;
            };
            let level = connect[6];
            script(&mut stream, level);
        });
        FakeBroker {
            port,
            _thread: thread,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Sends a successful CONNACK for protocol `level`.
pub fn send_connack(stream: &mut TcpStream, level: u8) {
    let connack: &[u8] = if level == 5 {
        &[0x20, 3, 0, 0, 0]
    } else {
        &[0x20, 2, 0, 0]
    };
    stream.write_all(connack).expect("write CONNACK");
}

/// Reads (and ignores) everything until the client closes the connection.
pub fn drain(stream: &mut TcpStream) {
    while read_packet(stream).is_some() {}
}
