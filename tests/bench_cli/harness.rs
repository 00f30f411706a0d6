//! Test plumbing: a broker child process on a free port (killed on drop), and `robustmq bench`
//! runs with a deadline and captured output.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::broker_process;
pub use super::broker_process::free_port;

/// Upper bound for one bench run.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);

/// The robustmq binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_robustmq")
}

/// A broker running as a child process; dropping it kills it.
pub struct Broker {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Broker {
    /// `robustmq serve` on port 0, so no other process can take its port first, with a
    /// temporary data directory.
    pub fn robustmq() -> Broker {
        Broker::robustmq_with("")
    }

    /// `robustmq serve` as [`Broker::robustmq`], with `toml` as its configuration file.
    pub fn robustmq_with(toml: &str) -> Broker {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("robustmq.toml");
        std::fs::write(&config, toml).expect("write robustmq.toml");
        let mut serve = Command::new(binary());
        serve
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--log-level")
            .arg("info");
        let (child, bound) = broker_process::start(
            &mut serve,
            &dir.path().join("broker.log"),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("the broker did not start: {e}"));
        Broker {
            child,
            port: bound.port(0, "mqtt"),
            _dir: dir,
        }
    }

    /// Mosquitto on a free port, or `None` when it is not installed.
    pub fn mosquitto() -> Option<Broker> {
        Broker::mosquitto_with("")
    }

    /// Mosquitto with `extra` lines in its configuration.
    pub fn mosquitto_with(extra: &str) -> Option<Broker> {
        let installed = Command::new("mosquitto")
            .arg("-h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        installed.then(|| {
            Broker::start(|port, dir| {
                let conf = dir.join("mosquitto.conf");
                std::fs::write(
                    &conf,
                    format!("listener {port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 100\n{extra}\n"),
                )
                .expect("write mosquitto.conf");
                let mut cmd = Command::new("mosquitto");
                cmd.arg("-c").arg(conf);
                cmd
            })
        })
    }

    /// Mosquitto binds the port it is given: another process may take it first, then another
    /// port is tried.
    fn start(command: impl Fn(u16, &Path) -> Command) -> Broker {
        let dir = tempfile::tempdir().expect("temp dir");
        for _ in 0..5 {
            let port = free_port();
            let mut child = command(port, dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the broker");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                // Someone else may have taken the port between free_port and the bind: then our
                // broker exits (address in use) while the connection reached the other one.
                if TcpStream::connect(("127.0.0.1", port)).is_ok() && {
                    thread::sleep(Duration::from_millis(100));
                    child.try_wait().ok().flatten().is_none()
                } {
                    return Broker {
                        child,
                        port,
                        _dir: dir,
                    };
                }
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the broker did not start");
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished bench run printed.
#[derive(Debug)]
pub struct Run {
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// The exit code (panics on death by signal).
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {self:?}"))
    }

    /// Stdout as the JSON object of `--json`.
    pub fn json(&self) -> Value {
        assert_eq!(self.code(), 0, "the bench failed: {self:#?}");
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {self:#?}"))
    }
}

fn reader(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

fn wait(mut child: Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the bench did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.arg("bench")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_LOG");
    cmd
}

/// Runs `robustmq bench ARGS` to the end.
pub fn bench(args: &[&str]) -> Run {
    let mut child = command(args).spawn().expect("start robustmq bench");
    let out = reader(child.stdout.take().expect("stdout"));
    let err = reader(child.stderr.take().expect("stderr"));
    let status = wait(child, RUN_LIMIT);
    Run {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// A bench run in the background (a `bench sub` that another run publishes to).
pub struct Background {
    child: Child,
    stdout: thread::JoinHandle<String>,
    stderr: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Background {
    /// Starts `robustmq bench ARGS`.
    pub fn start(args: &[&str]) -> Background {
        let mut child = command(args).spawn().expect("start robustmq bench");
        let stdout = reader(child.stdout.take().expect("stdout"));
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().expect("stderr");
        thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Background {
            child,
            stdout,
            stderr: rx,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `text`.
    pub fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no line with {text:?} on stderr; got {:#?}", self.seen);
    }

    /// Waits for the end.
    pub fn finish(self) -> Run {
        let status = wait(self.child, RUN_LIMIT);
        let mut stderr = self.seen.join("\n");
        for line in self.stderr.iter() {
            stderr.push('\n');
            stderr.push_str(&line);
        }
        Run {
            status,
            stdout: self.stdout.join().expect("stdout reader"),
            stderr,
        }
    }
}

/// `v[key]` as a number.
pub fn num(v: &Value, key: &str) -> u64 {
    let mut at = v;
    for part in key.split('.') {
        at = &at[part];
    }
    at.as_u64()
        .unwrap_or_else(|| panic!("{key} is not a count in {v:#}"))
}
