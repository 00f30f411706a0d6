//! The broker binary with a generated configuration, certificates from `robustmq certs init`,
//! and the external clients the tests drive.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub use super::broker_process::free_port;
use super::broker_process::{self, Bound};
pub use super::wait::wait_until_blocking;

/// How long a test waits for the broker or a client to do what it should: a TLS handshake or
/// a SIGHUP reload takes a while on a loaded two-core runner.
pub const WAIT: Duration = Duration::from_secs(20);

pub const BIN: &str = env!("CARGO_BIN_EXE_robustmq");

/// Certificates from `robustmq certs init` in a temporary directory (removed when dropped);
/// derefs to the directory.
pub struct Certs(tempfile::TempDir);

impl std::ops::Deref for Certs {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

/// `robustmq certs init` with `extra` flags, in a new temporary directory.
pub fn new_certs(extra: &[&str]) -> Certs {
    let dir = tempfile::tempdir().unwrap();
    certs_in(dir.path(), extra);
    Certs(dir)
}

/// Runs `robustmq certs init DIR` (with extra flags) and returns DIR.
pub fn certs_in(dir: &Path, extra: &[&str]) -> PathBuf {
    let out = Command::new(BIN)
        .args(["certs", "init"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "certs init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.to_path_buf()
}

/// The broker under test; killed (and its log printed if the test failed) when dropped.
pub struct Broker {
    child: Child,
    bound: Bound,
    // Holds the configuration, data and log until the broker is gone.
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl Broker {
    /// Starts `robustmq serve -c` with `listeners` (TOML `[[listeners]]` tables, bound to port
    /// 0) and `extra` configuration, and waits until it serves them all.
    pub fn start(listeners: &str, extra: &str) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("robustmq.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\ndata_dir = \"{}\"\nsys_interval = \"1s\"\n\n{listeners}\n{extra}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let log = dir.path().join("broker.log");
        let mut serve = Command::new(BIN);
        serve.args(["serve", "--log-level", "info", "-c"]).arg(&config);
        let (child, bound) = broker_process::start(&mut serve, &log, Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("{e}"));
        Broker {
            child,
            bound,
            _dir: dir,
            log,
        }
    }

    /// The port of the `index`th `[[listeners]]` table, which is of `protocol`.
    pub fn port(&self, index: usize, protocol: &str) -> u16 {
        self.bound.port(index, protocol)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The configuration file it runs on, to change before a SIGHUP.
    pub fn config(&self) -> PathBuf {
        self._dir.path().join("robustmq.toml")
    }

    /// Sends SIGHUP and waits until the log has `marker` one more time than before.
    pub fn sighup_and_wait(&self, marker: &str) {
        let before = self.log().matches(marker).count();
        let status = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        wait_until_blocking(&format!("{marker:?} in the log"), WAIT, || {
            self.log().matches(marker).count() > before
        });
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- broker log ---\n{}", self.log());
        }
    }
}

/// Runs a command with a timeout, returning its output.
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} did not finish in {timeout:?}; stdout: {} stderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A background `mosquitto_sub` that prints `topic payload` lines; `lines` reads what it has
/// printed so far. Killed when dropped.
pub struct Subscriber {
    child: Child,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Subscriber {
    /// `mosquitto_sub -v` with `args` (connection, TLS and topic flags).
    pub fn start(args: &[&str]) -> Subscriber {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let err = dir.path().join("err");
        let child = Command::new("mosquitto_sub")
            .args(["-v", "-q", "1"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("mosquitto_sub (the setup script installs mosquitto-clients)");
        Subscriber {
            child,
            out,
            _dir: dir,
        }
    }

    pub fn lines(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Waits until the output has `line`.
    pub fn wait_for(&self, line: &str) {
        wait_until_blocking(&format!("{line:?} from mosquitto_sub"), WAIT, || {
            self.lines().contains(line)
        });
    }

    /// Whether the process is still running (still connected).
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mosquitto_pub` with `args`; returns the output.
pub fn mosquitto_pub(args: &[&str]) -> Output {
    run(
        Command::new("mosquitto_pub").args(["-q", "1"]).args(args),
        Duration::from_secs(20),
    )
}

/// Publishes until `subscriber` shows the message: a subscription made by a background process
/// is in place once a message published after it arrives.
pub fn publish_until_received(subscriber: &Subscriber, pub_args: &[&str], topic: &str, payload: &str) {
    let line = format!("{topic} {payload}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut args = pub_args.to_vec();
        args.extend(["-t", topic, "-m", payload]);
        let out = mosquitto_pub(&args);
        assert!(
            out.status.success(),
            "mosquitto_pub {args:?} failed: {}",
            text(&out.stderr)
        );
        let wait_until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < wait_until {
            if subscriber.lines().contains(&line) {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        assert!(
            Instant::now() < deadline,
            "{line:?} never arrived; got:\n{}",
            subscriber.lines()
        );
    }
}

/// The `[[listeners]]` table of a TLS listener using certificates in `dir`.
pub fn tls_listener(protocol: &str, dir: &Path, extra: &str) -> String {
    format!(
        "[[listeners]]\nbind = \"127.0.0.1:0\"\nprotocol = \"{protocol}\"\ncert = \"{}\"\nkey = \"{}\"\n{extra}\n",
        dir.join("server.crt").display(),
        dir.join("server.key").display()
    )
}

/// The `[[listeners]]` table of a plain MQTT listener.
pub fn plain_listener() -> String {
    "[[listeners]]\nbind = \"127.0.0.1:0\"\n".to_string()
}

/// Raw TCP: sends `bytes` and reads what comes back until the server closes (or 10 s).
pub fn exchange(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(bytes).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Runs a Python script from tests/listeners/py with arguments; asserts it succeeds.
pub fn python(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/listeners/py")
        .join(script);
    let out = run(
        Command::new("python3").arg(&path).args(args),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}
