//! Every failure a person can act on: one line on stderr and the exit code `--help` documents.

use std::io::Write;
use std::net::TcpListener;

use super::harness::{
    client, drain, read_packet, robustmq, send_connack, stdout_of, Broker, FakeBroker, Kind,
};

/// A port nobody listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn connection_refused() {
    let port = closed_port();
    for cmd in ["pub", "sub"] {
        let args: &[&str] = if cmd == "pub" {
            &["-t", "t", "-m", "x"]
        } else {
            &["-t", "t"]
        };
        client(cmd, port, args)
            .assert()
            .code(3)
            .stdout("")
            .stderr(format!(
                "robustmq {cmd}: cannot connect to 127.0.0.1:{port}: connection refused\n"
            ));
    }
}

#[test]
fn broker_refuses_the_connection_robustmq() {
    let broker = Broker::start_with(Kind::Robustmq, "allow_anonymous = false");
    broker.publish(&["-t", "t", "-m", "x"]).assert().code(4).stderr(
        "robustmq pub: the broker refused the connection: not authorized (0x87): anonymous clients are \
         not allowed on this listener\n",
    );
    broker
        .subscribe(&["-t", "t", "-V", "311"])
        .assert()
        .code(4)
        .stderr("robustmq sub: the broker refused the connection: not authorized (0x87)\n");
}

#[test]
fn broker_refuses_the_connection_mosquitto() {
    let broker = Broker::start_with(Kind::Mosquitto, "allow_anonymous false");
    for version in ["5", "311"] {
        broker
            .publish(&["-t", "t", "-m", "x", "-V", version])
            .assert()
            .code(4)
            .stderr("robustmq pub: the broker refused the connection: not authorized (0x87)\n");
    }
}

#[test]
fn broker_refuses_a_message_mosquitto_acl() {
    let dir = tempfile::tempdir().unwrap();
    let acl = dir.path().join("acl");
    std::fs::write(&acl, "topic readwrite open/#\n").unwrap();
    let broker = Broker::start_with(Kind::Mosquitto, &format!("acl_file {}", acl.display()));
    for qos in ["1", "2"] {
        broker
            .publish(&["-t", "secret/x", "-m", "x", "-q", qos])
            .assert()
            .code(5)
            .stderr("robustmq pub: the broker refused the message to \"secret/x\": not authorized (0x87)\n");
    }
    broker
        .publish(&["-t", "open/x", "-m", "x", "-q", "1"])
        .assert()
        .success();
}

#[test]
fn broker_refuses_a_subscription() {
    for (level, expected) in [
        (
            "5",
            "the broker refused the subscription to \"ok\": not authorized (0x87)",
        ),
        (
            "311",
            "the broker refused the subscription to \"ok\" (MQTT 3.1.1 gives no reason)",
        ),
    ] {
        let fake = FakeBroker::start(|stream, level| {
            send_connack(stream, level);
            let Some((0x82, subscribe)) = read_packet(stream) else {
                return;
            };
            let suback: &[u8] = if level == 5 {
                &[0x90, 4, subscribe[0], subscribe[1], 0, 0x87]
            } else {
                &[0x90, 3, subscribe[0], subscribe[1], 0x80]
            };
            stream.write_all(suback).unwrap();
            drain(stream);
        });
        client("sub", fake.port(), &["-t", "ok", "-V", level])
            .assert()
            .code(5)
            .stderr(format!("robustmq sub: {expected}\n"));
    }
}

#[test]
fn silent_broker_times_out() {
    let fake = FakeBroker::start(|stream, _| drain(stream));
    client(
        "pub",
        fake.port(),
        &["-t", "t", "-m", "x", "--connect-timeout", "0.3"],
    )
    .assert()
    .code(6)
    .stderr(format!(
        "robustmq pub: timed out after 0.3 s waiting for CONNACK from 127.0.0.1:{}\n",
        fake.port()
    ));
    // CONNACK, then nothing: the keep alive finds out (and without --no-reconnect, sub would
    // try again).
    let fake = FakeBroker::start(|stream, level| {
        send_connack(stream, level);
        drain(stream);
    });
    client("sub", fake.port(), &["-t", "t", "-k", "1", "--no-reconnect"])
        .assert()
        .code(6)
        .stderr(format!(
            "robustmq sub: timed out after 1 s waiting for PINGRESP from 127.0.0.1:{}\n",
            fake.port()
        ));
}

/// A second client with the same id takes the session over; the first is told why, when the
/// broker says why.
fn session_taken_over(kind: Kind, extra: &[&str], message: &str) {
    let broker = Broker::start(kind);
    let first = broker.spawn_sub(&[&["-i", "twin", "-t", "t"], extra].concat());
    broker
        .subscribe(&["-i", "twin", "-t", "t", "-E"])
        .assert()
        .success();
    let done = first.finish();
    assert_eq!((done.code, done.errors.as_str()), (Some(1), message));
}

#[test]
fn session_taken_over_robustmq() {
    // A session taken over is not worth reconnecting: the two clients would take turns.
    session_taken_over(
        Kind::Robustmq,
        &[],
        "robustmq sub: the broker closed the connection: session taken over (0x8e)\n",
    );
}

#[test]
fn session_taken_over_mosquitto() {
    // Mosquitto 2.0 closes the old connection without a DISCONNECT: to the client that is
    // a lost connection like any other, so it would reconnect.
    session_taken_over(
        Kind::Mosquitto,
        &["--no-reconnect"],
        "robustmq sub: the broker closed the connection\n",
    );
}

#[test]
fn invalid_topics_are_refused_before_connecting() {
    // The port is closed: reaching it would be exit code 3, not 2.
    let port = closed_port();
    for (cmd, args, message) in [
        (
            "pub",
            &["-t", "a/#", "-m", "x"][..],
            "invalid topic \"a/#\": a topic name cannot contain the wildcards '+' or '#'",
        ),
        (
            "pub",
            &["-t", "", "-m", "x"][..],
            "invalid topic \"\": it is empty",
        ),
        (
            "pub",
            &["-m", "x"][..],
            "no topic: give one with -t TOPIC (or in the -L URL)",
        ),
        (
            "sub",
            &["-t", "a/#/b"][..],
            "invalid topic filter \"a/#/b\": '#' must be the whole last level of a filter",
        ),
        (
            "sub",
            &["-t", "a/b+"][..],
            "invalid topic filter \"a/b+\": '+' must be a whole level of a filter",
        ),
        (
            "sub",
            &["-t", "ok", "-T", "x#"][..],
            "invalid topic filter \"x#\": '#' must be the whole last level of a filter",
        ),
        (
            "sub",
            &[][..],
            "no topic: give at least one -t FILTER (or a topic in the -L URL), or -U FILTER",
        ),
        (
            "pub",
            &["-t", "t", "-m", "x", "--will-topic", "w/+"][..],
            "invalid will topic \"w/+\": a topic name cannot contain the wildcards '+' or '#'",
        ),
    ] {
        client(cmd, port, args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(format!("robustmq {cmd}: {message}\n"));
    }
}

#[test]
fn unusable_tls_files_and_websocket_urls_are_usage_errors() {
    for (args, message) in [
        (
            &["--cafile", "/nonexistent/ca.crt"][..],
            "/nonexistent/ca.crt: cannot read: No such file or directory (os error 2)",
        ),
        (
            &["-L", "ws://h/t"][..],
            "-L: ws:// (MQTT over WebSockets) is not supported by the client commands; use mqtt:// or mqtts://",
        ),
    ] {
        robustmq()
            .arg("sub")
            .args(args)
            .args(["-t", "t"])
            .assert()
            .code(2)
            .stderr(format!("robustmq sub: {message}\n"));
    }
    // A client certificate without its key (or the other way round) is refused by the parser.
    robustmq()
        .args(["pub", "-t", "t", "-n", "--cert", "c.crt"])
        .assert()
        .code(2);
}

#[test]
fn flag_combinations_that_cannot_work() {
    let port = closed_port();
    for (cmd, args, message) in [
        (
            "sub",
            &["-t", "t", "-V", "311", "--no-local"][..],
            "--no-local needs MQTT 5 (-V 5)",
        ),
        (
            "pub",
            &["-t", "t", "-n", "-V", "311", "-D", "publish", "content-type", "x"][..],
            "-D/--property needs MQTT 5 (-V 5)",
        ),
        (
            "pub",
            &["-t", "t", "-n", "-x", "60"][..],
            "a session that outlives the connection (-c or -x) needs a client id (-i ID) to be found again",
        ),
        (
            "sub",
            &["-t", "t", "-c"][..],
            "a session that outlives the connection (-c or -x) needs a client id (-i ID) to be found again",
        ),
        ("sub", &["-t", "t", "-F", "%z"][..], "-F: unknown field %z"),
        (
            "pub",
            &["-t", "t", "-n", "-D", "publish", "bogus", "1"][..],
            "-D publish bogus: unknown or unsupported property",
        ),
        (
            "pub",
            &["-t", "t", "-l", "--repeat", "2"][..],
            "--repeat works with -m, -f, -s or -n, not with -l",
        ),
        (
            "pub",
            &["-t", "t", "-n", "-V", "311", "-P", "secret"][..],
            "a password (-P) needs a user name (-u) with MQTT 3.1.1",
        ),
    ] {
        client(cmd, port, args)
            .assert()
            .code(2)
            .stderr(format!("robustmq {cmd}: {message}\n"));
    }
    // clap's own checks also exit 2
    client("pub", port, &["-t", "t"]).assert().code(2);
    client("pub", port, &["-t", "t", "-m", "x", "-q", "3"])
        .assert()
        .code(2);
}

#[test]
fn unreadable_file() {
    client("pub", closed_port(), &["-t", "t", "-f", "/nonexistent/file"])
        .assert()
        .code(1)
        .stderr("robustmq pub: cannot read /nonexistent/file: no such file or directory\n");
}

#[test]
fn help_lists_the_exit_codes() {
    let help = |cmd: &str| {
        let mut help = robustmq();
        help.args([cmd, "--help"]);
        stdout_of(help)
    };
    let pub_help = help("pub");
    let sub_help = help("sub");
    for code in ["0", "1", "2", "3", "4", "5", "6"] {
        assert!(
            pub_help.contains(&format!("\n  {code}  ")),
            "pub --help lacks exit code {code}"
        );
        assert!(
            sub_help.contains(&format!("\n  {code}   ")),
            "sub --help lacks exit code {code}"
        );
    }
    assert!(sub_help.contains("\n  27  -W expired"));
    // -h is the host, as with mosquitto's clients
    assert!(pub_help.contains("-h, --host <HOST>"));
}
