//! Independent judges: `mosquitto_sub` receives what `robustmq pub` sends, and `robustmq sub`
//! prints what `mosquitto_pub` sends, on both brokers and in both protocol versions.

use std::process::Command;

use super::harness::{require_mosquitto, Broker, Kind, Running};

/// `mosquitto_sub -F` sees the payload, QoS, retain flag and v5 properties `robustmq pub` sent.
fn mosquitto_sub_hears_robustmq_pub(kind: Kind) {
    let broker = Broker::start(kind);
    let v5 = Running::spawn_mosquitto_sub(
        broker.port(),
        &[
            "-V",
            "mqttv5",
            "-q",
            "2",
            "-t",
            "peer/#",
            "-C",
            "2",
            "-F",
            "@@%t %q %p|%C|%P|%R|%D",
        ],
    );
    let v311 = Running::spawn_mosquitto_sub(
        broker.port(),
        &[
            "-V",
            "mqttv311",
            "-q",
            "1",
            "-t",
            "peer/#",
            "-C",
            "2",
            "-F",
            "@@%t %q %p",
        ],
    );
    broker
        .publish(&[
            "-t",
            "peer/a",
            "-m",
            "first",
            "-q",
            "2",
            "-D",
            "publish",
            "content-type",
            "text/plain",
            "-D",
            "publish",
            "user-property",
            "k",
            "v",
            "-D",
            "publish",
            "response-topic",
            "back",
            "-D",
            "publish",
            "correlation-data",
            "c1",
        ])
        .assert()
        .success();
    broker
        .publish(&["-t", "peer/b", "-m", "second", "-q", "1", "-V", "311"])
        .assert()
        .success();
    // mosquitto_sub prints a QoS 2 message on PUBREL, so it may come after a later QoS 1 one.
    let lines = |r: Running| {
        let done = r.finish();
        assert_eq!(done.code, Some(0), "{}", done.errors);
        let mut lines: Vec<_> = done
            .stdout
            .lines()
            .filter(|l| l.starts_with('@'))
            .map(String::from)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        lines(v5),
        ["@peer/a 2 first|text/plain|k:v|back|c1", "@peer/b 1 second||||"]
    );
    assert_eq!(lines(v311), ["@peer/a 1 first", "@peer/b 1 second"]);
}

#[test]
fn mosquitto_sub_hears_robustmq_pub_on_robustmq() {
    mosquitto_sub_hears_robustmq_pub(Kind::Robustmq);
}

#[test]
fn mosquitto_sub_hears_robustmq_pub_on_mosquitto() {
    mosquitto_sub_hears_robustmq_pub(Kind::Mosquitto);
}

/// `robustmq sub --json` prints exactly what `mosquitto_pub` sent.
fn robustmq_sub_hears_mosquitto_pub(kind: Kind) {
    require_mosquitto();
    let broker = Broker::start(kind);
    let port = broker.port().to_string();
    let v5 = broker.spawn_sub(&["-t", "from/#", "-q", "2", "-C", "2", "--json"]);
    let v311 = broker.spawn_sub(&[
        "-V",
        "311",
        "-t",
        "from/#",
        "-q",
        "2",
        "-C",
        "2",
        "-F",
        "%t %q %r %p",
    ]);
    let mosquitto_pub = |args: &[&str]| {
        let status = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(args)
            .status()
            .expect("run mosquitto_pub");
        assert!(status.success(), "mosquitto_pub {args:?}: {status}");
    };
    mosquitto_pub(&[
        "-V",
        "mqttv5",
        "-t",
        "from/m",
        "-m",
        "hi there",
        "-q",
        "2",
        "-D",
        "publish",
        "user-property",
        "who",
        "mosquitto",
        "-D",
        "publish",
        "content-type",
        "text/plain",
    ]);
    mosquitto_pub(&["-V", "mqttv311", "-t", "from/n", "-m", "plain", "-q", "1"]);
    let done = v5.finish();
    assert_eq!(done.code, Some(0), "{}", done.errors);
    assert_eq!(
        done.stdout,
        concat!(
            r#"{"topic":"from/m","payload":"hi there","qos":2,"retain":false,"properties":{"#,
            r#""content_type":"text/plain","user_properties":[{"key":"who","value":"mosquitto"}]}}"#,
            "\n",
            r#"{"topic":"from/n","payload":"plain","qos":1,"retain":false}"#,
            "\n"
        )
    );
    let done = v311.finish();
    assert_eq!(
        (done.code, done.stdout.as_str()),
        (Some(0), "from/m 2 0 hi there\nfrom/n 1 0 plain\n")
    );
}

#[test]
fn robustmq_sub_hears_mosquitto_pub_on_robustmq() {
    robustmq_sub_hears_mosquitto_pub(Kind::Robustmq);
}

#[test]
fn robustmq_sub_hears_mosquitto_pub_on_mosquitto() {
    robustmq_sub_hears_mosquitto_pub(Kind::Mosquitto);
}
