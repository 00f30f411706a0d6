//! Wrappers around `mosquitto_pub` and `mosquitto_sub` for the tests in `mosquitto.rs`.
//!
//! `mosquitto_sub` runs under `stdbuf -oL` with `-d`: its debug lines tell exactly when the
//! SUBACK arrived (so nothing is published before the subscription exists, without sleeping) and
//! with which QoS and RETAIN flag each PUBLISH was delivered.

use std::collections::VecDeque;
use std::process::Command;
use std::time::{Duration, Instant};

use super::harness::{require_mosquitto_clients, Broker, Proc, WAIT};

/// The protocol version a test runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V311,
    V5,
}

impl Version {
    /// The `-V` argument of the mosquitto clients.
    fn arg(self) -> &'static str {
        match self {
            Version::V311 => "mqttv311",
            Version::V5 => "mqttv5",
        }
    }
}

/// One message as `mosquitto_sub -v` printed it, with the flags from its debug line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// `topic payload`.
    pub line: String,
    pub qos: u8,
    pub retain: bool,
}

/// A PUBLISH whose `-v` line has not been printed yet (QoS 2 messages are printed on PUBREL,
/// so several may be outstanding).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Incoming {
    topic: String,
    bytes: usize,
    qos: u8,
    retain: bool,
}

impl Incoming {
    /// Whether `line` (`topic payload`) is this message's `-v` line.
    fn printed_as(&self, line: &str) -> bool {
        line.strip_prefix(self.topic.as_str())
            .and_then(|rest| rest.strip_prefix(' '))
            .is_some_and(|payload| payload.len() == self.bytes)
    }
}

/// Parses `Client ID received PUBLISH (d0, q1, r0, m1, 'topic', ... (N bytes))`.
fn parse_publish_debug(line: &str) -> Option<Incoming> {
    let (_, rest) = line.split_once(" received PUBLISH (")?;
    let mut fields = rest.splitn(5, ", ");
    let _dup = fields.next()?;
    let qos = fields.next()?.strip_prefix('q')?.parse().ok()?;
    let retain = fields.next()?.strip_prefix('r')? == "1";
    let _mid = fields.next()?;
    let (topic, size) = fields.next()?.rsplit_once("', ... (")?;
    Some(Incoming {
        topic: topic.strip_prefix('\'')?.to_string(),
        bytes: size.strip_suffix(" bytes))")?.parse().ok()?,
        qos,
        retain,
    })
}

/// Parses `Subscribed (mid: 1): 1, 0` into the granted QoS / reason codes.
fn parse_suback_debug(line: &str) -> Option<Vec<u8>> {
    let rest = line.strip_prefix("Subscribed (mid: ")?;
    let (_, codes) = rest.split_once("): ")?;
    codes.split(", ").map(|c| c.trim().parse().ok()).collect()
}

/// A running `mosquitto_sub -d -v`.
pub struct Sub {
    proc: Proc,
    /// Every message received so far.
    messages: Vec<Msg>,
    /// How many of `messages` [`Sub::poll_message`] has handed out.
    taken: usize,
    /// PUBLISH packets received whose `-v` line has not been read yet.
    pending: VecDeque<Incoming>,
    /// SUBACKs seen and not yet returned by [`Sub::wait_subscribed`].
    subacks: Vec<Vec<u8>>,
}

impl Sub {
    /// Starts `mosquitto_sub` on `topics` with extra options (`-q`, `-C`, `-W`, `-c`, ...).
    pub fn spawn(broker: &Broker, v: Version, name: &str, topics: &[&str], opts: &[&str]) -> Sub {
        require_mosquitto_clients();
        let mut cmd = Command::new("stdbuf");
        cmd.args(["-oL", "mosquitto_sub", "-d", "-v", "-h", "127.0.0.1"])
            .args(["-p", &broker.port().to_string(), "-V", v.arg()]);
        for t in topics {
            cmd.args(["-t", t]);
        }
        cmd.args(opts);
        Sub {
            proc: Proc::spawn(format!("mosquitto_sub [{name}, {}]", v.arg()), &mut cmd, None),
            messages: Vec::new(),
            taken: 0,
            pending: VecDeque::new(),
            subacks: Vec::new(),
        }
    }

    /// Reads one stdout line and files it; `false` once stdout is closed.
    fn read_line(&mut self, deadline: Instant, waiting_for: &str) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(line) = self.proc.next_line(left, waiting_for) else {
            return false;
        };
        self.file(line);
        true
    }

    /// Files one stdout line: a PUBLISH or SUBACK debug line, other debug output (all of it
    /// starts with `Client `; our topics never do), or the `-v` line of a message.
    fn file(&mut self, line: String) {
        if let Some(incoming) = parse_publish_debug(&line) {
            self.pending.push_back(incoming);
        } else if let Some(codes) = parse_suback_debug(&line) {
            self.subacks.push(codes);
        } else if line.starts_with("Client ") {
            // Other debug output (CONNACK, PUBACK, PINGREQ, ...).
        } else if let Some(i) = self.pending.iter().position(|p| p.printed_as(&line)) {
            let Incoming { qos, retain, .. } = self.pending.remove(i).expect("found");
            self.messages.push(Msg { line, qos, retain });
        } else {
            panic!(
                "{}: cannot match the line {line:?} to a received PUBLISH ({:?}):\n{}",
                self.proc.name(),
                self.pending,
                self.output()
            );
        }
    }

    /// Waits for the SUBACK and returns its granted QoS / reason codes, one per topic.
    pub fn wait_subscribed(&mut self) -> Vec<u8> {
        let deadline = Instant::now() + WAIT;
        while self.subacks.is_empty() {
            if !self.read_line(deadline, "the SUBACK") {
                panic!(
                    "{} exited before its SUBACK:\n{}",
                    self.proc.name(),
                    self.output()
                );
            }
        }
        self.subacks.remove(0)
    }

    /// The next message if one arrives within `timeout`.
    pub fn poll_message(&mut self, timeout: Duration) -> Option<Msg> {
        let deadline = Instant::now() + timeout;
        while self.messages.len() == self.taken {
            match self
                .proc
                .try_next_line(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(Some(line)) => self.file(line),
                Ok(None) | Err(()) => return None,
            }
        }
        self.taken += 1;
        Some(self.messages[self.taken - 1].clone())
    }

    /// Waits for `mosquitto_sub` to exit on its own (`-C`, `-E`), checks it succeeded and
    /// returns every message it received.
    pub fn finish(mut self) -> Vec<Msg> {
        let status = self.proc.wait(WAIT + Duration::from_secs(5));
        let deadline = Instant::now() + WAIT;
        while self.read_line(deadline, "the end of the output") {}
        assert!(
            status.success(),
            "{} failed ({status}); messages so far: {:?}\n{}",
            self.proc.name(),
            self.lines(),
            self.output()
        );
        self.messages
    }

    /// Kills `mosquitto_sub` with SIGKILL: no DISCONNECT is sent.
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    pub fn output(&self) -> String {
        self.proc.output()
    }

    fn lines(&self) -> Vec<String> {
        self.messages.iter().map(|m| m.line.clone()).collect()
    }
}

/// Runs `mosquitto_pub` with `args` (after the connection options) and checks it succeeded.
pub fn publish(broker: &Broker, v: Version, args: &[&str]) {
    publish_input(broker, v, args, None);
}

pub fn publish_input(broker: &Broker, v: Version, args: &[&str], stdin: Option<String>) {
    require_mosquitto_clients();
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args(["-h", "127.0.0.1", "-p", &broker.port().to_string()])
        .args(["-V", v.arg()])
        .args(args);
    let mut p = Proc::spawn(format!("mosquitto_pub {args:?}"), &mut cmd, stdin);
    let status = p.wait(WAIT);
    assert!(
        status.success(),
        "mosquitto_pub {args:?} ({}) failed: {status}\n{}",
        v.arg(),
        p.output()
    );
}

pub fn lines(messages: &[Msg]) -> Vec<String> {
    messages.iter().map(|m| m.line.clone()).collect()
}

#[test]
fn debug_line_parsing() {
    let i = parse_publish_debug("Client (null) received PUBLISH (d0, q1, r1, m1, 'a/b', ... (2 bytes))")
        .expect("parses");
    assert_eq!((i.topic.as_str(), i.bytes, i.qos, i.retain), ("a/b", 2, 1, true));
    assert!(i.printed_as("a/b hi"));
    assert!(!i.printed_as("a/b hello"));
    assert!(!i.printed_as("a/bc h"));
    assert_eq!(
        parse_publish_debug("Client id received PUBLISH (d0, q2, r0, m7, 'a, b', ... (0 bytes))"),
        Some(Incoming {
            topic: "a, b".into(),
            bytes: 0,
            qos: 2,
            retain: false
        })
    );
    assert_eq!(parse_publish_debug("a/b hello"), None);
    assert_eq!(parse_suback_debug("Subscribed (mid: 1): 1, 0"), Some(vec![1, 0]));
    assert_eq!(parse_suback_debug("Subscribed (mid: 12): 128"), Some(vec![128]));
    assert_eq!(parse_suback_debug("a/b Subscribed"), None);
}
