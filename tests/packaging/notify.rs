//! `Type=notify` readiness: the real binary, started as systemd would with `$NOTIFY_SOCKET`,
//! sends READY=1 once its listener accepts clients and STOPPING=1 on SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::robustmq;

/// Generous: the broker starts in milliseconds, but CI machines are slow and busy.
const WAIT: Duration = Duration::from_secs(30);

/// The broker on 127.0.0.1:0 with its log lines; killed if the test fails before it exits.
struct Broker {
    child: Child,
    log: mpsc::Receiver<String>,
}

impl Broker {
    fn start(data_dir: &Path, notify_socket: &Path) -> Broker {
        let mut child = robustmq()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-level",
                "info",
                "--data-dir",
            ])
            .arg(data_dir)
            .env("NOTIFY_SOCKET", notify_socket)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Broker { child, log }
    }

    /// Waits for a log line containing `text`.
    fn log_line(&self, text: &str) -> String {
        loop {
            match self.log.recv_timeout(WAIT) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!("the broker logged no line with {text:?}"),
            }
        }
    }

    /// The port of the listener, from the log.
    fn port(&self) -> u16 {
        let line = self.log_line("listener=");
        line.split_once("listener=")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|addr| addr.rsplit_once(':'))
            .and_then(|(_, port)| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"))
    }

    fn terminate(&mut self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait(&mut self) -> ExitStatus {
        self.child.wait().unwrap()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Receives one datagram, as text.
fn receive(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = socket
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no notification from the broker within {WAIT:?}: {e}"));
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

fn has_line(message: &str, line: &str) -> bool {
    message.lines().any(|l| l == line)
}

#[test]
fn the_broker_notifies_systemd_when_ready_and_when_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let mut broker = Broker::start(&dir.path().join("data"), &socket_path);

    let ready = receive(&socket);
    assert!(has_line(&ready, "READY=1"), "expected READY=1, got {ready:?}");
    // Ready means serving: the listener accepts a connection now.
    TcpStream::connect(("127.0.0.1", broker.port())).expect("READY=1 came before the listener accepted");

    broker.terminate();
    let stopping = receive(&socket);
    assert!(
        has_line(&stopping, "STOPPING=1"),
        "expected STOPPING=1, got {stopping:?}"
    );
    assert_eq!(
        broker.wait().code(),
        Some(0),
        "the broker should exit 0 after SIGTERM"
    );
}

#[test]
fn an_unreachable_notify_socket_is_logged_and_the_broker_serves_anyway() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(&dir.path().join("data"), &dir.path().join("nobody-listens"));
    TcpStream::connect(("127.0.0.1", broker.port())).expect("the broker does not serve");
    broker.log_line("cannot notify systemd");
    broker.terminate();
    assert_eq!(broker.wait().code(), Some(0));
}
