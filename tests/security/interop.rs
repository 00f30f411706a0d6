//! Mosquitto's own clients, `mosquitto_pub` and `mosquitto_sub` with `-u`/`-P`, against the
//! built binary with a password file and an ACL.
//!
//! Refusals are checked with `-V 311`: the 2.0 clients abort after printing a refused v5
//! CONNACK, whichever broker sent it.

use std::process::Command;

use super::common::*;

const ACL: &str = "user alice\ntopic readwrite chat/#\nuser root\ntopic read #\n";

fn broker() -> BinaryBroker {
    require_mosquitto_tools();
    let passwd = format!("{}{}", user_line("alice", "a-pass"), user_line("root", "r-pass"));
    BinaryBroker::start(&passwd, ACL, false)
}

fn mosquitto(
    tool: &str,
    broker: &BinaryBroker,
    version: &str,
    args: &[&str],
) -> (Option<i32>, String, String) {
    run(Command::new(tool)
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-V", version])
        .args(args))
}

#[test]
fn authenticated_clients_publish_and_subscribe() {
    let broker = broker();
    for version in ["311", "5"] {
        let topic = format!("chat/v{version}");
        // Retained, so the subscriber started afterwards gets it without a race.
        let (code, _, err) = mosquitto(
            "mosquitto_pub",
            &broker,
            version,
            &[
                "-u", "alice", "-P", "a-pass", "-t", &topic, "-m", "hello", "-q", "1", "-r",
            ],
        );
        assert_eq!(code, Some(0), "mosquitto_pub -V {version}: {err}");
        let (code, out, err) = mosquitto(
            "mosquitto_sub",
            &broker,
            version,
            &[
                "-u", "root", "-P", "r-pass", "-t", &topic, "-C", "1", "-W", "5", "-v",
            ],
        );
        assert_eq!(code, Some(0), "mosquitto_sub -V {version}: {out}{err}");
        assert_eq!(out.trim(), format!("{topic} hello"));
    }
}

#[test]
fn wrong_password_and_anonymous_are_refused_with_their_codes() {
    let broker = broker();
    // mosquitto_pub exits with the CONNACK return code: 4 bad user name or password,
    // 5 not authorized (MQTT 3.1.1 Table 3.1).
    let (code, _, err) = mosquitto(
        "mosquitto_pub",
        &broker,
        "311",
        &["-u", "alice", "-P", "wrong", "-t", "chat/x", "-m", "hi"],
    );
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("bad user name or password"), "{err}");
    let (code, _, err) = mosquitto("mosquitto_pub", &broker, "311", &["-t", "chat/x", "-m", "hi"]);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("not authorised"), "{err}");
    assert!(broker.log().contains("login failed"), "failed logins are logged");
    assert!(!broker.log().contains("wrong"), "the password is never logged");
}

#[test]
fn the_acl_refuses_publish_and_subscribe() {
    let broker = broker();
    // MQTT 5: PUBACK 0x87, which mosquitto_pub reports.
    let (_, _, err) = mosquitto(
        "mosquitto_pub",
        &broker,
        "5",
        &[
            "-u", "alice", "-P", "a-pass", "-t", "news/x", "-m", "x", "-q", "1", "-r",
        ],
    );
    assert!(err.contains("Not authorized"), "{err}");
    // Nothing was stored: root, who may read everything, finds no retained message there.
    let (code, out, _) = mosquitto(
        "mosquitto_sub",
        &broker,
        "311",
        &["-u", "root", "-P", "r-pass", "-t", "news/#", "-C", "1", "-W", "1"],
    );
    assert_eq!(code, Some(27), "mosquitto_sub should time out, got: {out}");
    // MQTT 5 SUBACK 0x87 for every filter: mosquitto_sub gives up.
    let (_, _, err) = mosquitto(
        "mosquitto_sub",
        &broker,
        "5",
        &["-u", "alice", "-P", "a-pass", "-t", "news/#", "-W", "5"],
    );
    assert!(err.contains("denied"), "{err}");
}
