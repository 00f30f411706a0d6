//! The real `robustmq top` in a tmux pane, against a live robustmq with clients publishing
//! (and against Mosquitto), read back with `tmux capture-pane`.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rumqttc::{Client, MqttOptions, QoS};

use super::broker_process::{self, free_port};
use super::wait::wait_until_blocking;

const BIN: &str = env!("CARGO_BIN_EXE_robustmq");

fn wait_for_port(port: u16) {
    wait_until_blocking(
        &format!("something listens on port {port}"),
        Duration::from_secs(20),
        || TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `robustmq serve` on `port` of 127.0.0.1 (0 for one the kernel picks, which no other process
/// can take first) with its data in `dir`; returns it and the port it listens on.
fn robustmq(port: u16, dir: &Path) -> (Proc, u16) {
    let mut serve = Command::new(BIN);
    serve
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        // Beside the log: only an empty directory starts a new store.
        .arg(dir.join("data"));
    let (child, bound) = broker_process::start(&mut serve, &dir.join("broker.log"), Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("robustmq serve did not start: {e}"));
    (Proc(child), bound.port(0, "mqtt"))
}

/// A tmux server of our own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// A detached session running an interactive shell in a `width`x`height` pane.
    fn start(width: u16, height: u16) -> Tmux {
        let socket = format!("robustmq-top-test-{}-{}", std::process::id(), free_port());
        let tmux = Tmux { socket };
        let status = tmux
            .cmd()
            .args([
                "new-session",
                "-d",
                "-s",
                "top",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .args([
                "env",
                "TERM=xterm-256color",
                "PS1=$ ",
                "bash",
                "--norc",
                "--noprofile",
            ])
            .status()
            .expect("run tmux (the setup script installs it)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn send(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "top"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn type_line(&self, line: &str) {
        self.send(&["-l", line]);
        self.send(&["Enter"]);
    }

    fn capture(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "top"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn resize(&self, width: u16, height: u16) {
        let status = self
            .cmd()
            .args([
                "resize-window",
                "-t",
                "top",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .status()
            .unwrap();
        assert!(status.success(), "tmux resize-window failed");
    }

    fn display(&self, format: &str) -> String {
        let out = self
            .cmd()
            .args(["display-message", "-p", "-t", "top", format])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until the pane satisfies `ok`, returning the screen.
    fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.capture();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the pane shows:\n{screen}"
            );
            thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

/// Publishers on their own threads (rumqttc, an independent client), until dropped.
struct Publishers {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Publishers {
    fn start(port: u16, n: usize) -> Publishers {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|i| {
                let stop = stop.clone();
                thread::spawn(move || {
                    let mut options = MqttOptions::new(format!("e2e-pub-{i}"), "127.0.0.1", port);
                    options.set_keep_alive(Duration::from_secs(30));
                    let (client, mut connection) = Client::new(options, 100);
                    // Stops at the first error: after our DISCONNECT, or if the broker goes.
                    let pump = thread::spawn(move || for _ in connection.iter().take_while(Result::is_ok) {});
                    while !stop.load(Ordering::Relaxed) {
                        let _ = client.try_publish(
                            format!("e2e/topic/{i}"),
                            QoS::AtMostOnce,
                            false,
                            vec![b'x'; 64],
                        );
                        thread::sleep(Duration::from_millis(10));
                    }
                    let _ = client.disconnect();
                    drop(client);
                    let _ = pump.join();
                })
            })
            .collect();
        Publishers { stop, threads }
    }
}

impl Drop for Publishers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The number after `label` on the screen, e.g. `Clients 4` → "4".
fn figure_after<'a>(screen: &'a str, label: &str) -> Option<&'a str> {
    let start = screen.find(label)? + label.len();
    screen[start..].split_whitespace().next()
}

/// Top exited through `q` and gave the terminal back: the shell prints its exit code, the
/// alternate screen is off, the cursor is shown and the line discipline is cooked again.
fn assert_quit_restores_the_terminal(tmux: &Tmux) {
    tmux.send(&["q"]);
    tmux.wait_for("top to exit with 0", Duration::from_secs(10), |s| {
        s.contains("top-exited=0")
    });
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "the cursor is still hidden");
    // The marker is computed by the shell so that the echoed command line does not match it.
    tmux.type_line(
        "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo | tr '\\n' ' '; echo stty-$((6*7))",
    );
    let screen = tmux.wait_for("stty's answer", Duration::from_secs(10), |s| {
        s.contains("stty-42")
    });
    assert!(
        screen.contains("icanon echo stty-42"),
        "raw mode was left on:\n{screen}"
    );
}

#[test]
fn top_shows_live_clients_and_rates_reconnects_and_quits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, port) = robustmq(0, dir.path());
    let publishers = Publishers::start(port, 3);
    let tmux = Tmux::start(80, 24);
    tmux.type_line(&format!("{BIN} top -p {port} --interval 0.5; echo top-exited=$?"));
    // Three publishers and top itself.
    let screen = tmux.wait_for("4 clients and a message rate", Duration::from_secs(30), |s| {
        figure_after(s, "Clients ") == Some("4")
            && figure_after(s, "Msgs in ").is_some_and(|r| r != "–" && r != "0/s" && r.ends_with("/s"))
    });
    assert!(screen.contains("● connected"), "{screen}");
    assert!(screen.contains("robustmq version"), "{screen}");
    tmux.send(&["2"]);
    let narrow = tmux.wait_for(
        "the publishers in the Clients view",
        Duration::from_secs(15),
        |s| s.contains("e2e-pub-0") && s.contains("e2e-pub-1") && s.contains("e2e-pub-2"),
    );
    assert!(
        !narrow.contains("Address"),
        "80 columns have no room for addresses:\n{narrow}"
    );
    // A bigger terminal is used at once: the address column appears.
    tmux.resize(160, 48);
    tmux.wait_for(
        "the Address column after a resize",
        Duration::from_secs(10),
        |s| s.contains("Address") && s.contains("127.0.0.1:"),
    );
    tmux.send(&["3"]);
    tmux.wait_for("the topics in the Topics view", Duration::from_secs(15), |s| {
        s.contains("e2e/topic/0") && s.contains("e2e/topic/2")
    });
    // The broker goes away: top says so, keeps running, and comes back with it.
    drop(publishers);
    drop(broker);
    tmux.wait_for("top to notice the broker is gone", Duration::from_secs(30), |s| {
        s.contains("✕ disconnected") || s.contains("reconnecting")
    });
    // Back on the same port, where top looks for it. The port is free between the two
    // brokers: should another process take it meanwhile, this start fails and says so.
    let _broker = robustmq(port, dir.path());
    tmux.wait_for("top to reconnect", Duration::from_secs(30), |s| {
        s.contains("● connected")
    });
    assert_quit_restores_the_terminal(&tmux);
}

#[test]
fn top_works_against_mosquitto_from_sys_alone() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nsys_interval 1\npersistence false\n"),
    )
    .unwrap();
    let mosquitto = ["/usr/sbin/mosquitto", "mosquitto"]
        .into_iter()
        .find(|p| Command::new(p).arg("-h").output().is_ok())
        .expect("mosquitto is installed (the setup script installs it)");
    let child = Command::new(mosquitto)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mosquitto");
    let _mosquitto = Proc(child);
    wait_for_port(port);
    let _publishers = Publishers::start(port, 2);
    let tmux = Tmux::start(100, 30);
    tmux.type_line(&format!("{BIN} top -p {port} -V 311; echo top-exited=$?"));
    let screen = tmux.wait_for("Mosquitto's $SYS figures", Duration::from_secs(30), |s| {
        s.contains("mosquitto version")
            && figure_after(s, "Clients ") == Some("3")
            && figure_after(s, "Msgs in ").is_some_and(|r| r != "–" && r != "0/s")
    });
    assert!(screen.contains("● connected"), "{screen}");
    tmux.send(&["2"]);
    tmux.wait_for(
        "the explanation in the Clients view",
        Duration::from_secs(10),
        |s| s.contains("not available from this broker"),
    );
    // The views added with the detail ones say the same, and Enter asks for nothing.
    tmux.send(&["Enter"]);
    tmux.wait_for("why there is no detail", Duration::from_secs(10), |s| {
        s.contains("cannot show a client's detail: that needs robustmq's admin API")
    });
    for (view, title) in [("7", "Subscriptions"), ("8", "Retained")] {
        tmux.send(&[view]);
        tmux.wait_for(
            &format!("the explanation in the {title} view"),
            Duration::from_secs(10),
            |s| s.contains(&format!("┌ {title} ")) && s.contains("not available from this broker"),
        );
    }
    assert_quit_restores_the_terminal(&tmux);
}

#[test]
fn top_without_a_terminal_says_so() {
    let out = Command::new(BIN)
        .args(["top", "-p", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("robustmq top: needs a terminal"), "{stderr}");
}

/// A 3.1.1 client of its own thread with `options`; its events come back on the channel.
fn client_with(
    options: MqttOptions,
) -> (
    Client,
    std::sync::mpsc::Receiver<rumqttc::Event>,
    thread::JoinHandle<()>,
) {
    let (client, mut connection) = Client::new(options, 100);
    let (tx, rx) = std::sync::mpsc::channel();
    let pump = thread::spawn(move || {
        // Stops at the first error (after our DISCONNECT) or once the test stops listening.
        for event in connection.iter() {
            let Ok(event) = event else { return };
            if tx.send(event).is_err() {
                return;
            }
        }
    });
    (client, rx, pump)
}

/// The next PUBLISH a [`client_with`] client receives, within `timeout`.
fn next_publish(events: &std::sync::mpsc::Receiver<rumqttc::Event>, timeout: Duration) -> rumqttc::Publish {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => return p,
            Ok(_) => {}
            Err(e) => panic!("no PUBLISH: {e}"),
        }
    }
}

#[test]
fn top_opens_a_client_detail_and_deletes_a_retained_message_after_a_yes() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = robustmq(0, dir.path());
    let mut options = MqttOptions::new("drill-client", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_credentials("drill-user", "pw");
    options.set_last_will(rumqttc::LastWill::new(
        "drill/will",
        "bye",
        QoS::AtLeastOnce,
        true,
    ));
    let (client, events, pump) = client_with(options);
    client.subscribe("drill/cmd/#", QoS::AtLeastOnce).unwrap();
    client
        .publish("drill/status", QoS::AtLeastOnce, true, "all good")
        .unwrap();
    client.subscribe("drill/status", QoS::AtLeastOnce).unwrap();
    let retained = next_publish(&events, Duration::from_secs(10));
    assert_eq!(&retained.payload[..], b"all good");

    let tmux = Tmux::start(120, 36);
    tmux.type_line(&format!("{BIN} top -p {port} --interval 0.5; echo top-exited=$?"));
    tmux.wait_for("top to connect", Duration::from_secs(30), |s| {
        s.contains("● connected") && s.contains("robustmq version")
    });
    tmux.send(&["2"]);
    tmux.wait_for("drill-client in the list", Duration::from_secs(15), |s| {
        s.contains("drill-client") && s.contains("drill-user")
    });
    tmux.send(&["/"]);
    tmux.send(&["-l", "drill-c"]);
    tmux.send(&["Enter"]);
    tmux.wait_for(
        "the list filtered to drill-client",
        Duration::from_secs(10),
        |s| s.contains("Clients 1 of 2"),
    );
    tmux.send(&["Enter"]);
    let detail = tmux.wait_for("the client's detail", Duration::from_secs(15), |s| {
        s.contains("User drill-user") && s.contains("drill/cmd/#")
    });
    for needle in [
        "Client drill-client",
        "Protocol 3.1.1",
        "Keep alive 30s",
        "Will drill/will · QoS 1 · retained",
        "Subscriptions 2",
        "drill/status",
    ] {
        assert!(detail.contains(needle), "{needle} missing:\n{detail}");
    }
    tmux.send(&["Escape"]);
    tmux.wait_for("the list again", Duration::from_secs(10), |s| {
        s.contains("Clients 1 of 2")
    });

    tmux.send(&["8"]);
    tmux.wait_for("the retained messages", Duration::from_secs(15), |s| {
        s.contains("Retained ") && s.contains("$SYS/")
    });
    tmux.send(&["/"]);
    tmux.send(&["-l", "drill/status"]);
    tmux.send(&["Enter"]);
    let shown = tmux.wait_for("drill/status with its preview", Duration::from_secs(10), |s| {
        s.contains("drill/status · QoS 1 · 8 bytes") && s.contains("all good")
    });
    assert!(shown.contains("Retained 1 of"), "{shown}");
    tmux.send(&["d"]);
    tmux.wait_for("the question", Duration::from_secs(10), |s| {
        s.contains("delete the retained message of drill/status? y/n")
    });
    tmux.send(&["y"]);
    tmux.wait_for("the deletion to be confirmed", Duration::from_secs(15), |s| {
        s.contains("the retained message of drill/status was deleted")
    });
    tmux.wait_for("a refresh without it", Duration::from_secs(15), |s| {
        s.contains("no retained message matches \"drill/status\"")
    });

    // A new subscription gets no retained message: the first message is the one sent after it.
    client.unsubscribe("drill/status").unwrap();
    client.subscribe("drill/status", QoS::AtLeastOnce).unwrap();
    client
        .publish("drill/status", QoS::AtLeastOnce, false, "after")
        .unwrap();
    let first = next_publish(&events, Duration::from_secs(10));
    assert_eq!(&first.payload[..], b"after", "the retained message is gone");
    assert_quit_restores_the_terminal(&tmux);
    let _ = client.disconnect();
    drop(events);
    let _ = pump.join();
}
