//! Fuzz target `connection`: a live broker's connection state machine fed arbitrary packet
//! sequences over TCP must never panic, hang or stop serving other clients.
//!
//! One in-process broker per fuzz process (started on first use, on 127.0.0.1:0 with a temp
//! data dir). For each input: open a connection, play the input's [`Script`], read until the
//! broker closes or a short deadline passes, then check that
//! - the connection's task has ended (the broker counts no connected client once ours are
//!   gone: a task that outlives its socket is a leak);
//! - no connection task panicked (`connection_panics` is 0);
//! - a fresh client still gets a CONNACK.

#![no_main]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use robustmq::config::{Durability, ListenerSettings, Settings};
use robustmq::server::{self, RunningServer};
use robustmq_fuzz::script::{End, Script, Step};

/// The broker every input of this process talks to.
struct Harness {
    addr: SocketAddr,
    server: RunningServer,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// How long the client reads after half-closing, waiting for the broker to close too.
const CLOSE_DEADLINE: Duration = Duration::from_secs(2);
/// How long a pause step reads what the broker sends.
const PAUSE: Duration = Duration::from_millis(2);
/// How long a connection task may take to end once its client has gone; more is a hang.
const TASK_END_DEADLINE: Duration = Duration::from_secs(10);

static HARNESS: OnceLock<Harness> = OnceLock::new();

fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let dir = tempfile::Builder::new()
            .prefix("robustmq-fuzz-")
            .tempdir()
            .expect("temp dir");
        let mut settings = Settings::default();
        settings.server.data_dir = dir.path().to_path_buf();
        settings.listeners = vec![ListenerSettings {
            bind: Some("127.0.0.1:0".parse().unwrap()),
            ..Default::default()
        }];
        // Small limits, so the fuzzer reaches them: oversize packets, full queues, full store.
        settings.limits.max_packet_size = 64 * 1024;
        settings.limits.max_queued_messages = 1000;
        settings.limits.max_queued_bytes = 1024 * 1024;
        settings.limits.max_inflight = 4;
        settings.limits.topic_alias_maximum = 4;
        settings.limits.connect_timeout = Duration::from_secs(2);
        settings.store.max_store_bytes = 8 * 1024 * 1024;
        // No fsync per acknowledgement: thousands of persistent sessions a minute would
        // otherwise measure the disk, not the connection code.
        settings.store.durability = Durability::Periodic;
        settings.store.commit_interval = Duration::from_secs(1);
        settings.validate().expect("fuzzing settings are valid");
        let server = runtime.block_on(server::start(&settings)).expect("broker starts");
        Harness {
            addr: server.local_addr(),
            server,
            _runtime: runtime,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let script = Script::from_input(data);
    play(h.addr, &script);
    wait_for_tasks(h);
    check_fresh_client(h.addr);
    assert_no_panics(h);
});

/// Plays the script on a new connection.
fn play(addr: SocketAddr, script: &Script) {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        panic!("the broker no longer accepts connections");
    };
    let _ = stream.set_nodelay(true);
    let mut sink = [0u8; 16 * 1024];
    for step in &script.steps {
        match step {
            Step::Send(bytes) => {
                // The broker may have closed already (that is often the right answer).
                if stream.write_all(bytes).is_err() {
                    return;
                }
            }
            Step::Pause => {
                let _ = stream.set_read_timeout(Some(PAUSE));
                if let Ok(0) = stream.read(&mut sink) {
                    return;
                }
            }
        }
    }
    if script.end == End::Drop {
        return;
    }
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + CLOSE_DEADLINE;
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    while Instant::now() < deadline {
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

/// Waits until no client is connected: every connection task of this input has ended.
fn wait_for_tasks(h: &Harness) {
    let metrics = &h.server.broker().metrics;
    let deadline = Instant::now() + TASK_END_DEADLINE;
    loop {
        if metrics.connection_panics.load(Ordering::Relaxed) > 0 {
            return;
        }
        if metrics.clients_connected.load(Ordering::Relaxed) == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "a connection task is still running {TASK_END_DEADLINE:?} after its client went away"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A fresh MQTT 3.1.1 client connects, gets CONNACK 0 and leaves.
fn check_fresh_client(addr: SocketAddr) {
    const CONNECT: &[u8] = &[
        0x10, 0x16, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x0A, b'f', b'u', b'z',
        b'z', b'-', b'c', b'h', b'e', b'c', b'k',
    ];
    let mut stream = TcpStream::connect(addr).expect("a fresh client can connect");
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream.write_all(CONNECT).expect("send CONNECT");
    let mut connack = [0u8; 4];
    stream
        .read_exact(&mut connack)
        .expect("the broker answers a fresh client's CONNECT");
    assert_eq!(connack, [0x20, 0x02, 0x00, 0x00], "CONNACK accepted");
    let _ = stream.write_all(&[0xE0, 0x00]);
    // Wait for the broker's close, so this connection is gone before the next input.
    let mut rest = [0u8; 64];
    let _ = stream.read(&mut rest);
}

fn assert_no_panics(h: &Harness) {
    let panics = h
        .server
        .broker()
        .metrics
        .connection_panics
        .load(Ordering::Relaxed);
    assert_eq!(
        panics, 0,
        "a connection task panicked (see the broker's log line above)"
    );
}
