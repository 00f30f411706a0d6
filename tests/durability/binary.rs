//! Runs the built `robustmq` binary on a chosen data directory, and stops it gently or with SIGKILL.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running broker process.
pub struct Broker {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The command line for `robustmq serve` on `dir` and `addr`.
pub fn serve_command(dir: &Path, addr: SocketAddr, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_robustmq"));
    cmd.arg("serve")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(dir)
        .args(extra);
    cmd.stdin(Stdio::null());
    cmd
}

impl Broker {
    /// Starts the broker on `dir` at a free port and waits until it accepts connections.
    pub fn start(dir: &Path) -> Broker {
        Self::start_at(dir, SocketAddr::from(([127, 0, 0, 1], free_port())), &[])
    }

    /// Starts the broker on `dir` at `addr` with extra arguments.
    pub fn start_at(dir: &Path, addr: SocketAddr, extra: &[&str]) -> Broker {
        let log = dir.with_extension(format!("log-{}", addr.port()));
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let child = serve_command(dir, addr, extra)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("spawn robustmq");
        let mut broker = Broker {
            child: Some(child),
            addr,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = broker.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("broker exited with {status} before listening:\n{}", broker.log());
            }
            assert!(
                Instant::now() < deadline,
                "broker did not start listening:\n{}",
                broker.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        broker
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Process id, to signal the broker from another thread.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).expect("running")
    }

    /// What the broker logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no chance to flush or close anything.
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY-free way to send SIGTERM: the kill command.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("broker did not stop on SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() {
                eprintln!("--- broker log ---\n{}", self.log());
            }
        }
    }
}

/// Runs `robustmq serve` expecting it to fail; returns exit code and stderr.
pub fn serve_expecting_failure(dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let out = serve_command(dir, addr, extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
        .wait_with_output()
        .expect("wait");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
