//! `serve --listen 0.0.0.0:PORT`: without a password file, such a broker lets anonymous
//! clients in only with `--allow-anonymous`, and its start-up line says so either way.

use std::process::{Child, Command};

use super::broker_process;
use super::common::*;

/// `robustmq serve --listen 0.0.0.0:0` (plus `extra`) as a child process, killed when dropped.
struct Exposed {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Exposed {
    fn start(extra: &[&str]) -> Exposed {
        require_mosquitto_tools();
        let dir = tempfile::tempdir().expect("tempdir");
        // A file of its own, so that no configuration of the machine running the tests counts.
        let config = dir.path().join("robustmq.toml");
        std::fs::write(&config, "[server]\ndata_dir = \"data\"\n").unwrap();
        let mut serve = Command::new(env!("CARGO_BIN_EXE_robustmq"));
        serve
            .args(["serve", "--listen", "0.0.0.0:0", "--config"])
            .arg(&config)
            .args(extra);
        let (child, bound) = broker_process::start(&mut serve, &dir.path().join("broker.log"), WAIT)
            .unwrap_or_else(|e| panic!("robustmq did not start: {e}"));
        let port = bound.port(0, "mqtt");
        Exposed { child, port, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default()
    }

    /// The start-up lines about anonymous clients.
    fn anonymous_lines(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("anonymous clients accepted on"))
            .map(str::to_string)
            .collect()
    }

    fn mosquitto(&self, tool: &str, args: &[&str]) -> (Option<i32>, String, String) {
        run(Command::new(tool)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-V", "311"])
            .args(args))
    }
}

impl Drop for Exposed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- robustmq log ----\n{}---- end of log ----", self.log());
        }
    }
}

#[test]
fn allow_anonymous_opens_a_listener_on_every_address_to_clients_without_credentials() {
    let broker = Exposed::start(&["--allow-anonymous"]);
    let (code, _, err) = broker.mosquitto(
        "mosquitto_pub",
        &["-t", "open/door", "-m", "hello", "-q", "1", "-r"],
    );
    assert_eq!(code, Some(0), "mosquitto_pub without credentials: {err}");
    let (code, out, err) = broker.mosquitto("mosquitto_sub", &["-t", "open/door", "-C", "1", "-W", "5"]);
    assert_eq!(code, Some(0), "mosquitto_sub without credentials: {out}{err}");
    assert_eq!(out.trim(), "hello");
    let lines = broker.anonymous_lines();
    assert_eq!(
        lines.len(),
        1,
        "one start-up line about anonymous clients: {lines:?}"
    );
    assert!(
        lines[0].contains(&format!(
            "anonymous clients accepted on 0.0.0.0:{} (mqtt)",
            broker.port
        )),
        "{}",
        lines[0]
    );
    assert!(!lines[0].contains("refused"), "{}", lines[0]);
}

#[test]
fn without_allow_anonymous_clients_are_refused_and_start_up_says_how_to_allow_them() {
    let broker = Exposed::start(&[]);
    // 5: not authorized (MQTT 3.1.1 Table 3.1), which mosquitto_pub exits with.
    let (code, _, err) = broker.mosquitto("mosquitto_pub", &["-t", "open/door", "-m", "hello"]);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("not authorised"), "{err}");
    let (code, out, err) = broker.mosquitto("mosquitto_sub", &["-t", "open/door", "-C", "1", "-W", "5"]);
    assert_eq!(code, Some(5), "{out}{err}");
    let lines = broker.anonymous_lines();
    assert_eq!(
        lines.len(),
        1,
        "one start-up line about anonymous clients: {lines:?}"
    );
    let line = &lines[0];
    assert!(
        line.contains("WARN"),
        "a broker no anonymous client can use is a warning: {line}"
    );
    assert!(
        line.contains(&format!(
            "accepted on no listener; refused on 0.0.0.0:{} (mqtt)",
            broker.port
        )),
        "{line}"
    );
    assert!(line.contains("--allow-anonymous"), "{line}");
    assert!(line.contains("allow_anonymous = true"), "{line}");
}
