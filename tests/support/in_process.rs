//! The broker started inside the test process (`robustmq::server::start`) on 127.0.0.1:0,
//! with its data and any files it is given in a temporary directory of its own.

// Each test directory includes this file as a module of its own, and few use every function.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use robustmq::config::{ListenerSettings, Settings};
use robustmq::server::metrics::Metrics;
use robustmq::server::{self, RunningServer, ServerError};

/// A broker running inside the test process; its directory is removed when it is dropped.
pub struct TestBroker {
    pub addr: SocketAddr,
    server: Option<RunningServer>,
    pub dir: tempfile::TempDir,
}

impl TestBroker {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("running")
    }

    pub fn metrics(&self) -> &Metrics {
        &self.server().broker().metrics
    }

    /// A file in the broker's directory, such as one written by [`start_in`]'s `setup`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown(Duration::from_secs(2)).await;
        }
    }
}

/// Starts a broker with the default settings.
pub async fn start() -> TestBroker {
    start_with(|_| {}).await
}

/// Starts a broker after `tweak` adjusts the settings.
pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> TestBroker {
    start_in(|_, settings| tweak(settings)).await
}

/// Starts a broker after `setup` adjusts the settings, given the broker's directory to write
/// the files they name (a password file, an ACL) into.
pub async fn start_in(setup: impl FnOnce(&Path, &mut Settings)) -> TestBroker {
    let (dir, settings) = settings(setup);
    let server = server::start(&settings).await.expect("broker starts");
    TestBroker {
        addr: server.local_addr(),
        server: Some(server),
        dir,
    }
}

/// Starts a broker as [`start_in`] does and expects it to refuse its configuration.
pub async fn start_error_in(setup: impl FnOnce(&Path, &mut Settings)) -> ServerError {
    let (_dir, settings) = settings(setup);
    match server::start(&settings).await {
        Ok(_) => panic!("the broker started with {settings:?}"),
        Err(e) => e,
    }
}

/// Defaults with the data directory in a new temporary directory and one listener on
/// 127.0.0.1:0, then `setup`'s changes; checked as `robustmq serve` checks a file, so that a
/// test cannot run a broker no configuration could describe.
fn settings(setup: impl FnOnce(&Path, &mut Settings)) -> (tempfile::TempDir, Settings) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::default();
    settings.server.data_dir = dir.path().join("data");
    settings.listeners = vec![ListenerSettings {
        bind: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    }];
    setup(dir.path(), &mut settings);
    settings.validate().expect("valid test settings");
    (dir, settings)
}
