//! Unix socket listeners: mosquitto's clients over the socket, a stale socket file replaced,
//! a live one or a regular file left alone.

use std::process::Command;
use std::time::Duration;

use super::harness::*;

fn unix_listener(path: &std::path::Path) -> String {
    format!(
        "[[listeners]]\nprotocol = \"unix\"\npath = \"{}\"\n",
        path.display()
    )
}

#[test]
fn mosquitto_clients_work_over_a_unix_socket_and_anonymous_is_allowed_there() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("robustmq.sock");
    let broker = Broker::start(&format!("{}{}", unix_listener(&socket), plain_listener()), "");
    wait_until_blocking("the socket file", WAIT, || socket.exists());
    let path = socket.display().to_string();
    let sub = Subscriber::start(&["--unix", &path, "-t", "u/#"]);
    publish_until_received(&sub, &["--unix", &path], "u/1", "local");
    let line = format!("listener={path} protocol=unix allow_anonymous=true");
    assert!(broker.log().contains(&line), "{}", broker.log());
    // A Unix socket client has no address: the log says so rather than inventing one.
    let log = broker.log();
    let connected = log
        .lines()
        .find(|l| l.contains("client connected") && l.contains("version=3.1.1"))
        .unwrap_or_else(|| panic!("no client connected line:\n{log}"));
    assert!(connected.contains("peer=unix"), "{connected}");
    drop(broker);
}

#[test]
fn a_socket_in_use_or_a_regular_file_is_not_replaced_but_a_stale_one_is() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("robustmq.sock");
    let first = Broker::start(&format!("{}{}", unix_listener(&socket), plain_listener()), "");
    wait_until_blocking("the socket file", WAIT, || socket.exists());
    let config = dir.path().join("second.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = \"{}\"\n{}",
            dir.path().join("d2").display(),
            unix_listener(&socket)
        ),
    )
    .unwrap();
    let second = run(
        Command::new(BIN).args(["serve", "-c"]).arg(&config),
        Duration::from_secs(20),
    );
    let stderr = text(&second.stderr);
    assert_eq!(second.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("another process is listening"), "{stderr}");
    // A socket left behind by a killed broker is stale: the next broker takes the path over.
    drop(first);
    assert!(socket.exists(), "kill -9 leaves the socket file behind");
    let third = Broker::start(&format!("{}{}", unix_listener(&socket), plain_listener()), "");
    let path = socket.display().to_string();
    let sub = Subscriber::start(&["--unix", &path, "-t", "s/#"]);
    publish_until_received(&sub, &["--unix", &path], "s/1", "taken-over");
    drop(third);
    // A regular file is never deleted.
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    let config = dir.path().join("third.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = \"{}\"\n{}",
            dir.path().join("d3").display(),
            unix_listener(&file)
        ),
    )
    .unwrap();
    let out = run(
        Command::new(BIN).args(["serve", "-c"]).arg(&config),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not a socket"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}
