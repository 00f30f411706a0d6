//! The mosquitto_pub/sub flags scripts use: -U, --quiet, -I, -A, -M, --nodelay, --unix,
//! --capath, --tls-version, --tls-use-os-certs, --random-filter.

use std::net::TcpListener;
use std::process::Command as StdCommand;

use assert_cmd::Command;

use super::harness::{client, robustmq, Broker, Kind, Running};

/// What `cmd` says on stderr, once it has exited with `code`.
fn stderr_with(mut cmd: Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().stderr.clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn unsubscribe_after_subscribing() {
    let broker = Broker::start(Kind::Robustmq);
    let mut sub = broker.spawn_sub(&["-t", "u/a", "-t", "u/b", "-U", "u/a", "-C", "1", "-v"]);
    sub.wait_for("received UNSUBACK");
    broker.publish(&["-t", "u/a", "-m", "gone"]).assert().success();
    broker.publish(&["-t", "u/b", "-m", "kept"]).assert().success();
    let done = sub.finish();
    assert_eq!((done.code, done.stdout.as_str()), (Some(0), "u/b kept\n"));
}

#[test]
fn unsubscribe_alone_from_a_kept_session() {
    let broker = Broker::start(Kind::Robustmq);
    let session = ["-c", "-i", "unsub-me", "-q", "1", "-E"];
    broker
        .subscribe(&[&session[..], &["-t", "k/a", "-t", "k/b"]].concat())
        .assert()
        .success();
    // -U without -t, with -E: exits once the broker has answered the UNSUBSCRIBE.
    broker
        .subscribe(&[&session[..], &["-U", "k/a"]].concat())
        .assert()
        .success();
    broker
        .publish(&["-t", "k/a", "-m", "dropped", "-q", "1"])
        .assert()
        .success();
    broker
        .publish(&["-t", "k/b", "-m", "queued", "-q", "1"])
        .assert()
        .success();
    let out = broker
        .subscribe(&["-c", "-i", "unsub-me", "-q", "1", "-t", "k/b", "-C", "1", "-v"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(out).unwrap(), "k/b queued\n");
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn quiet_prints_no_runtime_errors_but_still_usage_errors() {
    let port = closed_port();
    client("sub", port, &["-t", "q", "--quiet"])
        .assert()
        .code(3)
        .stderr("");
    client("pub", port, &["-t", "q", "-m", "x", "--quiet"])
        .assert()
        .code(3)
        .stderr("");
    let mut wrong = robustmq();
    wrong.args(["sub", "--quiet", "-t", "a/#/b"]);
    assert!(stderr_with(wrong, 2).contains("invalid topic filter"));
}

#[test]
fn id_prefix_is_followed_by_the_process_id() {
    let broker = Broker::start(Kind::Robustmq);
    let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_robustmq"));
    cmd.args(["sub", "-d", "-p", &broker.port().to_string(), "-h", "127.0.0.1"])
        .args(["-t", "x", "-E", "-I", "pre-"]);
    let mut sub = Running::spawn_reading_debug(cmd);
    sub.wait_for(&format!("sending CONNECT (v5.0, c1, k60, id 'pre-{}')", sub.id()));
    assert_eq!(sub.finish().code, Some(0));
    let mut session = robustmq();
    session.args(["sub", "-t", "x", "-I", "p", "-c"]);
    assert!(stderr_with(session, 2).contains("needs a client id (-i ID)"));
}

#[test]
fn bind_address_is_the_connection_source() {
    let broker = Broker::start(Kind::Robustmq);
    broker
        .publish(&["-t", "b", "-m", "x", "-A", "127.0.0.2", "--nodelay"])
        .assert()
        .success();
    let log = std::fs::read_to_string(broker.dir().join("broker.log")).unwrap();
    assert!(log.contains("peer=127.0.0.2:"), "{log}");
}

#[test]
fn max_inflight_one_waits_for_each_acknowledgement() {
    let broker = Broker::start(Kind::Robustmq);
    let out = broker
        .publish(&["-t", "m", "-m", "x", "-q", "1", "--repeat", "4", "-M", "1", "-d"])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let packets: Vec<&str> = std::str::from_utf8(&out)
        .unwrap()
        .lines()
        .filter_map(|l| {
            ["sending PUBLISH", "received PUBACK"]
                .into_iter()
                .find(|p| l.contains(p))
        })
        .collect();
    assert_eq!(packets, ["sending PUBLISH", "received PUBACK"].repeat(4));
}

#[test]
fn unix_socket() {
    let sockets = tempfile::tempdir().unwrap();
    let path = sockets.path().join("mqtt.sock");
    let extra = format!(
        "[[listeners]]\nprotocol = \"unix\"\npath = \"{}\"\n",
        path.display()
    );
    let broker = Broker::start_with(Kind::Robustmq, &extra);
    let path = path.to_str().unwrap();
    let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_robustmq"));
    cmd.args(["sub", "-d", "--unix", path, "-t", "u", "-C", "1"]);
    let sub = Running::spawn_with(cmd);
    robustmq()
        .args(["pub", "--unix", path, "-t", "u", "-m", "over a socket file"])
        .assert()
        .success();
    let done = sub.finish();
    assert_eq!(
        (done.code, done.stdout.as_str()),
        (Some(0), "over a socket file\n")
    );
    robustmq()
        .args(["pub", "--unix", path, "-p", "1", "-t", "u", "-m", "x"])
        .assert()
        .code(2);
    drop(broker);
}

#[test]
fn capath_tls_version_and_os_certs() {
    let certs = tempfile::tempdir().unwrap();
    robustmq()
        .args(["certs", "init"])
        .arg(certs.path())
        .assert()
        .success();
    let (broker, tls_port) = Broker::start_tls(certs.path());
    // A directory with the CA and files that are not certificates.
    let capath = tempfile::tempdir().unwrap();
    std::fs::copy(certs.path().join("ca.crt"), capath.path().join("ca.pem")).unwrap();
    std::fs::write(capath.path().join("README"), "not a certificate").unwrap();
    let capath = capath.path().to_str().unwrap();
    let port = tls_port.to_string();
    let tls_pub = |extra: &[&str]| {
        let mut cmd = robustmq();
        cmd.args(["pub", "-h", "localhost", "-p", &port, "-t", "t", "-m", "x"])
            .args(extra);
        cmd
    };
    tls_pub(&["--capath", capath]).assert().success();
    for version in ["tlsv1.2", "tlsv1.3"] {
        tls_pub(&["--capath", capath, "--tls-version", version])
            .assert()
            .success();
    }
    assert!(
        stderr_with(tls_pub(&["--capath", capath, "--tls-version", "tlsv1.1"]), 2)
            .contains("tlsv1.1 is not supported")
    );
    // The system's CAs do not know this one: alone they fail, with --capath they add to it.
    tls_pub(&["--tls-use-os-certs"]).assert().code(3);
    tls_pub(&["--capath", capath, "--tls-use-os-certs"])
        .assert()
        .success();
    drop(broker);
}

#[test]
fn random_filter_counts_what_it_leaves_out() {
    let broker = Broker::start(Kind::Robustmq);
    let sub = broker.spawn_sub(&["-t", "r", "-C", "3", "--random-filter", "0.1"]);
    for m in ["1", "2", "3"] {
        broker.publish(&["-t", "r", "-m", m]).assert().success();
    }
    let done = sub.finish();
    assert_eq!(done.code, Some(0), "{}", done.errors);
    assert!(done.stdout.lines().count() <= 3);
    robustmq()
        .args(["sub", "-t", "r", "--random-filter", "0"])
        .assert()
        .code(2);
}
