//! Test harness: an in-process broker with a password file and an ACL file on 127.0.0.1:0,
//! rumqttc clients for both protocol versions (refusals included), raw CONNECTs for exact
//! return codes, and the built binary as a child process for SIGHUP and Mosquitto's tools.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use robustmq::config::Settings;
use robustmq::server::metrics::Metrics;
use robustmq::server::ServerError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::broker_process;
use super::in_process;
pub use super::in_process::TestBroker;
pub use super::rumqttc::{v3, v5};
use super::wait::wait_until;
use super::wire::{Connect, Level};

/// How long a test waits for something that should happen (a refused login takes 1 s).
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a test waits to be sure something does not happen.
pub const QUIET: Duration = Duration::from_millis(500);

/// Where the committed fixtures are.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/security/fixtures")
        .join(name)
}

/// A `user:hash` line with a cheap argon2id hash (64 KiB, one pass), so that tests built
/// without optimizations do not spend seconds per login; the broker verifies it with the
/// costs it records, exactly as it does the default ones.
pub fn user_line(user: &str, password: &str) -> String {
    let hash = robustmq::auth::password::hash_password_with(password.as_bytes(), 64, 1).expect("hash");
    format!("{user}:{hash}\n")
}

/// What the broker under test is given.
#[derive(Debug, Default, Clone)]
pub struct Setup {
    /// Password file contents.
    pub passwd: Option<String>,
    /// ACL file contents.
    pub acl: Option<String>,
    /// The listener's `allow_anonymous` (`None`: the default, true on loopback).
    pub allow_anonymous: Option<bool>,
    /// `$SYS` interval.
    pub sys_interval: Option<Duration>,
    /// Serve Prometheus metrics on 127.0.0.1:0.
    pub metrics: bool,
}

impl Setup {
    pub fn passwd(mut self, text: impl Into<String>) -> Setup {
        self.passwd = Some(text.into());
        self
    }

    pub fn acl(mut self, text: impl Into<String>) -> Setup {
        self.acl = Some(text.into());
        self
    }

    pub fn anonymous(mut self, allow: bool) -> Setup {
        self.allow_anonymous = Some(allow);
        self
    }
}

/// Where the broker under test keeps the files of its [`Setup`], and its counters.
impl TestBroker {
    pub fn acl_path(&self) -> PathBuf {
        self.path("acl")
    }

    pub fn passwd_path(&self) -> PathBuf {
        self.path("passwd")
    }

    /// A broker-wide counter, by reading the metrics directly.
    pub fn metric(&self, pick: impl Fn(&Metrics) -> &AtomicU64) -> u64 {
        robustmq::server::metrics::get(pick(self.metrics()))
    }
}

/// Starts a broker on 127.0.0.1:0 with the files of `setup`.
pub async fn start(setup: Setup) -> TestBroker {
    in_process::start_in(|dir, settings| setup.apply(dir, settings)).await
}

/// Starts a broker and expects it to refuse the configuration; returns the error.
pub async fn start_error(setup: Setup) -> ServerError {
    in_process::start_error_in(|dir, settings| setup.apply(dir, settings)).await
}

impl Setup {
    /// Writes the files into `dir` and points `settings` at them.
    fn apply(&self, dir: &Path, settings: &mut Settings) {
        if let Some(interval) = self.sys_interval {
            settings.server.sys_interval = interval;
        }
        if self.metrics {
            settings.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
        }
        settings.listeners[0].allow_anonymous = self.allow_anonymous;
        if let Some(text) = &self.passwd {
            let path = dir.join("passwd");
            std::fs::write(&path, text).unwrap();
            settings.auth.password_file = Some(path);
        }
        if let Some(text) = &self.acl {
            let path = dir.join("acl");
            std::fs::write(&path, text).unwrap();
            settings.auth.acl_file = Some(path);
        }
    }
}

/// Builds a CONNECT at `level` (4 = 3.1.1, 5) with optional user name and password, clean
/// start, keep alive 60.
pub fn connect_packet(level: u8, client_id: &str, user: Option<&str>, password: Option<&[u8]>) -> Vec<u8> {
    Connect {
        username: user.map(|u| u.as_bytes().to_vec()),
        password: password.map(<[u8]>::to_vec),
        ..Connect::new(Level::from_byte(level), client_id.as_bytes())
    }
    .bytes()
}

/// Sends a raw CONNECT and returns the CONNACK's return/reason code (its fourth byte), after
/// checking the broker then closes the connection when it refused.
pub async fn raw_connack(addr: SocketAddr, connect: &[u8]) -> u8 {
    let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
    stream.write_all(connect).await.expect("write");
    let mut head = [0u8; 4];
    tokio::time::timeout(WAIT, stream.read_exact(&mut head))
        .await
        .expect("CONNACK in time")
        .expect("CONNACK");
    assert_eq!(head[0], 0x20, "CONNACK expected: {head:?}");
    let code = head[3];
    if code != 0 {
        // [MQTT-3.2.2-5] (3.1.1) / [MQTT-3.2.2-7] (5): a refusing CONNACK is followed by the close.
        let mut rest = Vec::new();
        tokio::time::timeout(WAIT, stream.read_to_end(&mut rest))
            .await
            .expect("the broker closes the connection")
            .expect("read to the end");
        // [MQTT-3.2.2-4] (3.1.1) a refusal never says a session is present.
        assert_eq!(head[2], 0, "session present in a refusal: {head:?}");
    }
    code
}

/// The Prometheus endpoint's `/metrics` body.
pub async fn scrape(broker: &TestBroker) -> String {
    let addr = broker.server().metrics_addr().expect("metrics are served");
    let mut stream = TcpStream::connect(addr).await.expect("connect to /metrics");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("response in time")
        .expect("response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

// ---------------------------------------------------------------------------------------------
// The built binary, for SIGHUP and Mosquitto's command-line tools.
// ---------------------------------------------------------------------------------------------

/// Fails the test unless Mosquitto's tools are installed.
pub fn require_mosquitto_tools() {
    for tool in ["mosquitto_pub", "mosquitto_sub", "mosquitto_passwd"] {
        let found = Command::new("sh")
            .args(["-c", "command -v \"$0\"", tool])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "{tool} is missing: run `.ci/setup-test-deps.sh` (as root) to install the test dependencies"
        );
    }
}

/// `robustmq serve --config FILE` as a child process; killed when dropped (its log is
/// printed if the test is failing).
pub struct BinaryBroker {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    log: PathBuf,
}

impl BinaryBroker {
    /// Starts the binary with `passwd` and `acl` as its files and `allow_anonymous`, on a
    /// loopback port of its own (port 0, read back from its log, so no other process can take
    /// it first).
    pub fn start(passwd: &str, acl: &str, allow_anonymous: bool) -> BinaryBroker {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("passwd"), passwd).unwrap();
        std::fs::write(dir.path().join("acl"), acl).unwrap();
        std::fs::write(
            dir.path().join("robustmq.toml"),
            format!(
                "[server]\ndata_dir = \"data\"\n\n[[listeners]]\nbind = \"127.0.0.1:0\"\nallow_anonymous = {allow_anonymous}\n\n[auth]\npassword_file = \"passwd\"\nacl_file = \"acl\"\n"
            ),
        )
        .unwrap();
        let mut broker = BinaryBroker {
            child: None,
            port: 0,
            log: dir.path().join("broker.log"),
            dir,
        };
        broker.spawn();
        broker
    }

    /// Starts the process on the configuration and data in `dir`, and takes the port it got.
    fn spawn(&mut self) {
        let mut serve = Command::new(env!("CARGO_BIN_EXE_robustmq"));
        serve.arg("serve").arg("--config").arg(self.path("robustmq.toml"));
        let (child, bound) = broker_process::start(&mut serve, &self.log, WAIT)
            .unwrap_or_else(|e| panic!("robustmq did not start: {e}"));
        self.child = Some(child);
        self.port = bound.port(0, "mqtt");
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Kills the broker with SIGKILL (no shutdown, nothing flushed beyond what was committed)
    /// and starts it again on the same configuration and data directory, on another port:
    /// read [`BinaryBroker::port`] again.
    pub fn kill9_and_restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.spawn();
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGHUP with `kill -HUP` and waits until the log has one more line containing
    /// `marker` than before.
    pub async fn sighup_and_wait(&self, marker: &str) {
        let before = self.log().matches(marker).count();
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -HUP {pid}: {status}");
        wait_until(&format!("the log shows {marker:?} again"), WAIT, || {
            self.log().matches(marker).count() > before
        })
        .await;
    }
}

impl Drop for BinaryBroker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- robustmq log ----\n{}---- end of log ----", self.log());
        }
    }
}

/// Runs a command to completion (killed after [`WAIT`]) and returns its exit code, stdout
/// and stderr.
pub fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let deadline = Instant::now() + WAIT;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
