//! Connection storms: 10,000 clients connecting at once all get in with the default limits
//! (the built binary, as a child process, so that its sockets and the clients' do not share
//! one process's file limit), and a listener paces accepting by the connections that have not
//! sent CONNECT yet instead of refusing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use robustmq::server::listener::MAX_PENDING;
use robustmq::server::metrics::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::broker_process;
use super::common::*;

/// Clients in the storm: as many as the default `max_connections` admits.
const STORM: usize = 10_000;
/// How long one storm client may take to get its CONNACK. Generous: a connection the kernel's
/// backlog had no room for is retried by TCP after 1 s, 3 s, 7 s, ..., and the debug build of
/// a broker sharing a small machine with the clients is slow.
const STORM_CLIENT_WAIT: Duration = Duration::from_secs(180);

/// The broker binary with only `--listen` and `--data-dir` given: every limit at its default.
struct ChildBroker {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl ChildBroker {
    fn start(dir: &Path) -> ChildBroker {
        let log = dir.join("broker.log");
        let mut serve = Command::new(env!("CARGO_BIN_EXE_robustmq"));
        serve
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.join("data"));
        // The port it was given is read from its log rather than probed, since a probe would
        // be one more connection against max_connections; the log is a file, not a pipe:
        // 10,000 "client connected" lines would fill a pipe nobody reads.
        let (child, bound) = broker_process::start(&mut serve, &log, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"));
        ChildBroker {
            child,
            addr: bound.addr(0, "mqtt"),
            log,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ChildBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Raises this process's soft limit on open files to `want`, within the hard limit (the
/// broker started after inherits it); returns the soft limit now in force.
#[cfg(unix)]
#[allow(unsafe_code)] // getrlimit/setrlimit have no safe wrapper in std.
fn raise_open_files(want: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or write the struct they are given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        let target = (want as libc::rlim_t).min(limit.rlim_max);
        if limit.rlim_cur < target {
            limit.rlim_cur = target;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return 0;
            }
        }
    }
    // rlim_t is u64 on the platforms this runs on, but not on every Unix.
    #[allow(clippy::unnecessary_cast)]
    let now = limit.rlim_cur as u64;
    now
}

#[cfg(not(unix))]
fn raise_open_files(_want: u64) -> u64 {
    u64::MAX
}

/// One storm client: connect, send a 3.1.1 CONNECT, read the 4-byte CONNACK; the stream is
/// kept so that every client is connected at the same time.
async fn storm_client(addr: SocketAddr, i: usize) -> Result<(TcpStream, [u8; 4]), String> {
    let attempt = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream
            .write_all(&connect_packet(4, &format!("storm-{i}"), 60, None))
            .await
            .map_err(|e| format!("send CONNECT: {e}"))?;
        let mut connack = [0u8; 4];
        stream
            .read_exact(&mut connack)
            .await
            .map_err(|e| format!("read CONNACK: {e} (closed without one)"))?;
        Ok((stream, connack))
    };
    tokio::time::timeout(STORM_CLIENT_WAIT, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no CONNACK in {STORM_CLIENT_WAIT:?}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_clients_at_once_all_get_in_with_the_defaults() {
    // The clients' sockets, the few of the other tests running alongside, and the broker's
    // (which inherits the limit) each need their own descriptors.
    let open_files = raise_open_files(STORM as u64 + 4096);
    assert!(
        open_files >= STORM as u64 + 1024,
        "the soft limit on open files is {open_files}; this test needs {} (ulimit -n)",
        STORM + 1024
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = ChildBroker::start(dir.path());
    let addr = broker.addr;

    // Every connect is started before any CONNACK is awaited: the storm arrives at once.
    let clients: Vec<_> = (0..STORM).map(|i| tokio::spawn(storm_client(addr, i))).collect();
    let mut held = Vec::with_capacity(STORM);
    let mut failures = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        match client.await.expect("client task") {
            // 3.1.1 §3.2.2: CONNACK, remaining length 2, session present 0 (clean session),
            // return code 0x00 "Connection Accepted".
            Ok((stream, [0x20, 0x02, 0x00, 0x00])) => held.push(stream),
            Ok((_, connack)) => failures.push(format!("client {i}: CONNACK {connack:02x?}")),
            Err(e) => failures.push(format!("client {i}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {STORM} clients not admitted, e.g. {:?}\n--- broker log (tail) ---\n{}",
        failures.len(),
        &failures[..failures.len().min(10)],
        tail(&broker.log_text(), 30)
    );
    assert_eq!(held.len(), STORM);
    assert!(
        !broker.log_text().contains("refusing new connections"),
        "the broker refused some connections"
    );
    drop(held);
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[tokio::test]
async fn a_listener_waits_while_max_pending_connections_have_not_sent_connect() {
    // MAX_PENDING connections that send nothing fill the listener's slots for connections
    // before CONNECT; the next one waits in the listen backlog, neither refused nor
    // answered, until one of them has sent its CONNECT.
    let broker = start_with(|s| s.limits.connect_timeout = Duration::from_secs(60)).await;
    let mut silent = Vec::new();
    for _ in 0..MAX_PENDING {
        silent.push(Raw::connect(broker.addr).await);
    }
    let mut waiting = Raw::connect(broker.addr).await;
    waiting.send(&connect_packet(5, "waiting", 60, None)).await;
    assert!(
        waiting.packet_within_quiet().await.is_none(),
        "answered while {MAX_PENDING} connections had not sent CONNECT"
    );

    let mut first = silent.remove(0);
    first.send(&connect_packet(4, "first", 60, None)).await;
    assert_eq!(Connack::parse(4, &first.next_of(2).await).code, 0);
    // Its slot is the waiting one's now.
    assert_eq!(Connack::parse(5, &waiting.next_of(2).await).code, 0);
    assert_eq!(get(&broker.metrics().clients_connected), 2);
    assert_eq!(broker.limits().connections_refused, 0);
    assert_eq!(broker.limits().connection_rate_refused, 0);
    drop(silent);
    broker.stop().await;
}
