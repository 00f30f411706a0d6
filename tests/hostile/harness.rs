//! The broker under attack: the built `robustmq` binary as a child process (so its memory can be
//! read from /proc), with a config file, restarts on the same data dir, its resident set size
//! and its Prometheus counters.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use super::broker_process;

/// How long a test waits for something that should happen. Generous: the machine is shared.
pub const WAIT: Duration = Duration::from_secs(15);

/// Bound on what one attack may add to the broker's resident memory.
pub const RSS_BOUND: u64 = 64 * 1024 * 1024;

/// `[limits]` of the broker under attack; each scenario may change some.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_packet_size: &'static str,
    pub connect_timeout: &'static str,
    pub max_queued_messages: usize,
    pub max_queued_bytes: &'static str,
    pub max_connections: usize,
    pub stalled_after: &'static str,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_packet_size: "64KiB",
            connect_timeout: "2s",
            max_queued_messages: 1000,
            max_queued_bytes: "1MiB",
            max_connections: 64,
            stalled_after: "30s",
        }
    }
}

/// The `max_packet_size` of [`Limits::default`] in bytes.
pub const MAX_PACKET_SIZE: usize = 64 * 1024;

/// A `robustmq serve` child process. Dropping it kills it; when the test is failing, its log
/// is printed.
pub struct Broker {
    child: Option<Child>,
    pub port: u16,
    /// The `mqtts`, `ws` and `wss` listeners, when started with [`Broker::start_secure`].
    pub secure: Option<SecurePorts>,
    metrics_port: u16,
    limits: Limits,
    dir: tempfile::TempDir,
    starts: usize,
}

/// Ports of the TLS and WebSocket listeners next to the plain one. The `mqtts` listener asks
/// for a client certificate signed by the CA in [`Broker::certs`] (mutual TLS); `wss` does not.
#[derive(Debug, Clone, Copy)]
pub struct SecurePorts {
    pub mqtts: u16,
    pub ws: u16,
    pub wss: u16,
}

impl Broker {
    /// Starts the broker with `limits` on free ports, in a new data dir.
    pub fn start(limits: Limits) -> Broker {
        Broker::start_with(limits, false)
    }

    /// Like [`Broker::start`], with `mqtts`, `ws` and `wss` listeners too; certificates from
    /// `robustmq certs init` in [`Broker::certs`].
    pub fn start_secure(limits: Limits) -> Broker {
        Broker::start_with(limits, true)
    }

    fn start_with(limits: Limits, secure: bool) -> Broker {
        let dir = tempfile::Builder::new()
            .prefix("robustmq-hostile-")
            .tempdir()
            .expect("temp dir");
        let mut broker = Broker {
            child: None,
            port: 0,
            secure: None,
            metrics_port: 0,
            limits,
            dir,
            starts: 0,
        };
        if secure {
            certs_init(&broker.certs());
            broker.secure = Some(SecurePorts {
                mqtts: 0,
                ws: 0,
                wss: 0,
            });
        }
        broker.spawn();
        broker
    }

    /// The directory with `ca.crt`, `server.{crt,key}` and `client.{crt,key}`.
    pub fn certs(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("broker-{}.log", self.starts))
    }

    /// Starts the process on ports of its own (port 0 everywhere, read back from its log, so
    /// no other process can take them first) and waits until it serves them all.
    fn spawn(&mut self) {
        self.starts += 1;
        let config = self.dir.path().join("robustmq.toml");
        let listeners = if self.secure.is_some() {
            self.listener_tables()
        } else {
            String::new()
        };
        let l = &self.limits;
        std::fs::write(
            &config,
            format!(
                "{listeners}[limits]\nmax_packet_size = \"{}\"\nconnect_timeout = \"{}\"\nmax_queued_messages = {}\n\
                 max_queued_bytes = \"{}\"\nmax_connections = {}\nstalled_after = \"{}\"\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
                l.max_packet_size,
                l.connect_timeout,
                l.max_queued_messages,
                l.max_queued_bytes,
                l.max_connections,
                l.stalled_after
            ),
        )
        .expect("write the config file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_robustmq"));
        command.arg("serve").arg("--config").arg(&config);
        if self.secure.is_none() {
            // --listen replaces the config file's listeners.
            command.arg("--listen").arg("127.0.0.1:0");
        }
        command
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--log-level")
            .arg("info")
            // One malloc arena: resident memory then follows what the broker keeps, not
            // which worker thread happened to serve the attack (each thread that
            // allocates gets an arena of its own, which keeps its peak).
            .env("MALLOC_ARENA_MAX", "1");
        let (child, bound) = broker_process::start(&mut command, &self.log_path(), WAIT)
            .unwrap_or_else(|e| panic!("the broker did not start: {e}"));
        self.child = Some(child);
        self.port = bound.port(0, "mqtt");
        self.metrics_port = bound.metrics_port();
        if self.secure.is_some() {
            self.secure = Some(SecurePorts {
                mqtts: bound.port(1, "mqtts"),
                ws: bound.port(2, "ws"),
                wss: bound.port(3, "wss"),
            });
        }
    }

    /// `[[listeners]]` tables: plain MQTT, then the secure ones, in the order [`Broker::spawn`]
    /// reads their ports back.
    fn listener_tables(&self) -> String {
        let certs = self.certs();
        let cert = certs.join("server.crt");
        let key = certs.join("server.key");
        let ca = certs.join("ca.crt");
        format!(
            "[[listeners]]\nbind = \"127.0.0.1:0\"\n\n\
             [[listeners]]\nbind = \"127.0.0.1:0\"\nprotocol = \"mqtts\"\ncert = {cert:?}\nkey = {key:?}\n\
             client_ca = {ca:?}\nrequire_certificate = true\n\n\
             [[listeners]]\nbind = \"127.0.0.1:0\"\nprotocol = \"ws\"\n\n\
             [[listeners]]\nbind = \"127.0.0.1:0\"\nprotocol = \"wss\"\ncert = {cert:?}\nkey = {key:?}\n\n"
        )
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("the broker is running")
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Everything logged since the last start.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Resident set size in bytes (VmRSS of /proc/PID/status).
    pub fn rss(&self) -> u64 {
        let pid = self.child.as_ref().expect("the broker is running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status");
        kib * 1024
    }

    /// One counter or gauge from the Prometheus endpoint (a sample without labels).
    pub fn metric(&self, name: &str) -> u64 {
        let text = self.scrape();
        text.lines()
            .find_map(|l| {
                let (n, v) = l.split_once(' ')?;
                (n == name).then(|| v.trim().parse::<f64>().ok()).flatten()
            })
            .unwrap_or_else(|| panic!("metric {name} not found in:\n{text}")) as u64
    }

    fn scrape(&self) -> String {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.metrics_port));
        let mut s = TcpStream::connect_timeout(&addr, WAIT).expect("connect to the metrics endpoint");
        s.set_read_timeout(Some(WAIT)).expect("read timeout");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .expect("send the metrics request");
        let mut response = String::new();
        s.read_to_string(&mut response)
            .expect("read the metrics response");
        response
    }

    /// Polls `metric` until `pred` holds, failing the test after [`WAIT`].
    pub async fn wait_metric(&self, name: &str, what: &str, pred: impl Fn(u64) -> bool) -> u64 {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.metric(name);
            if pred(v) {
                return v;
            }
            assert!(Instant::now() < deadline, "{name} = {v}: expected {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, wait for a clean exit (code 0, no panic logged), start again on the same data.
    pub fn restart(&mut self) {
        self.stop_clean();
        self.spawn();
    }

    /// SIGTERM and check that the broker exits with 0 and logged no panic.
    pub fn stop_clean(&mut self) {
        let pid = self.child().id();
        let status = Command::new("kill")
            .args(["-s", "TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s TERM {pid}");
        let status = self.wait_exit();
        self.child = None;
        assert_eq!(
            status.code(),
            Some(0),
            "exit status after SIGTERM: {status}\n{}",
            self.log()
        );
        assert!(
            !self.log().contains("panicked"),
            "the broker logged a panic:\n{}",
            self.log()
        );
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child().try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the broker did not exit within {WAIT:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() {
            eprintln!("---- broker log ----\n{}---- end of broker log ----", self.log());
        }
    }
}

/// `robustmq certs init DIR`: a CA, a server certificate for 127.0.0.1 and a client
/// certificate. Also used for the attacker's own CA, which the broker does not trust.
pub fn certs_init(dir: &std::path::Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_robustmq"))
        .args(["certs", "init"])
        .arg(dir)
        .output()
        .expect("run robustmq certs init");
    assert!(
        out.status.success(),
        "certs init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts that memory does not keep growing over repetitions of the same attack. The first
/// half of the repetitions is warm-up (allocator arenas of other worker threads, caches);
/// after it, the resident size stays within `slack` of where it was. A leak adds about the
/// same amount at every repetition, so it shows up in the second half.
pub fn assert_no_growth(what: &str, samples: &[u64], slack: u64) {
    if samples.len() < 2 {
        return;
    }
    let base_index = (samples.len() - 1) / 2;
    let base = samples[base_index];
    for (i, s) in samples.iter().enumerate().skip(base_index + 1) {
        assert!(
            *s <= base + slack,
            "{what}: RSS keeps growing over repetitions ({} MiB after repetition {}, {} MiB after {}): {:?} MiB",
            base / (1024 * 1024),
            base_index + 1,
            s / (1024 * 1024),
            i + 1,
            mib(samples)
        );
    }
}

/// Byte counts as MiB, for messages.
pub fn mib(samples: &[u64]) -> Vec<u64> {
    samples.iter().map(|s| s / (1024 * 1024)).collect()
}
