//! Runs the built `robustmq` binary on a chosen data directory, and stops it gently or with SIGKILL.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::broker_process;

/// A running broker process.
pub struct Broker {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: PathBuf,
}

/// Port 0: the broker binds a port no other process can take between the choice and the bind.
const ANY_PORT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

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
    /// Starts the broker on `dir` at a port of its own and waits until it accepts connections.
    /// A restart on the same directory gets another port: ask the new `Broker` for it.
    pub fn start(dir: &Path) -> Broker {
        Self::start_at(dir, ANY_PORT, &[])
    }

    /// Starts the broker on `dir` at `addr` (port 0 for any) with extra arguments.
    pub fn start_at(dir: &Path, addr: SocketAddr, extra: &[&str]) -> Broker {
        // A file per start, so that `log` shows what this process alone logged.
        static STARTS: AtomicUsize = AtomicUsize::new(0);
        let log = dir.with_extension(format!("log-{}", STARTS.fetch_add(1, Ordering::Relaxed)));
        let (child, bound) = broker_process::start(
            &mut serve_command(dir, addr, extra),
            &log,
            Duration::from_secs(20),
        )
        .unwrap_or_else(|e| panic!("the broker did not start: {e}"));
        Broker {
            child: Some(child),
            addr: bound.addr(0, "mqtt"),
            log,
        }
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
    let out = serve_command(dir, ANY_PORT, extra)
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
